# Reference values for flestimate.nsum (tests/nsum/test_scale_up_reference.py).
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_nsum.R
# Writes tests/reference/nsum.json. Needs R survey and jsonlite (versions recorded in the JSON).
#
# Data: tests/reference/data/nsum_example_survey.csv and nsum_example_knownpop.csv, the
# example scale-up survey of the networkreporting R package (Feehan and Salganik; MIT licence,
# see data/README.md), 2,406 respondents in 5 regions and their clusters, with answers to
# "how many ... do you know?" for 22 populations of known size and 4 hidden populations.
#
# The scale-up estimate (Killworth et al. 1998; Feehan and Salganik 2016), N = 10 million:
#   d_i = N * sum_k y_ik / sum_k N_k          (known-population degree)
#   N_h = N * sum_i w_i y_ih / sum_i w_i d_i  = svyratio(~y_h, ~d) * N
# Known-population answers are top-coded at 30 (hidden ones are not, as in the package's
# vignette); a respondent with a missing answer to any known or hidden question is left out
# (a zero-weight row: subset() of the design, so its PSU still counts in the variance).
suppressMessages({
  library(survey)
  library(jsonlite)
})

s <- read.csv("tests/reference/data/nsum_example_survey.csv", stringsAsFactors = FALSE)
kp <- read.csv("tests/reference/data/nsum_example_knownpop.csv", stringsAsFactors = FALSE)
known <- kp$known.popn
sizes <- setNames(kp$size, known)
hidden <- c("clients", "sex.workers", "msm", "idu")
N <- 10e6
topcode <- 30

for (k in known) s[[k]] <- pmin(s[[k]], topcode)
s$ysum <- rowSums(s[, known])
s$d <- N * s$ysum / sum(sizes)
complete <- complete.cases(s[, c(known, hidden)])

# ---- unweighted (networkreporting's nsum.estimator, missing = "complete.obs")
sc <- s[complete, ]
unweighted <- lapply(hidden, function(h) {
  list(estimate = N * sum(sc[[h]]) / sum(sc$d), connections = sum(sc[[h]]), sum_d = sum(sc$d))
})
names(unweighted) <- hidden

# ---- weighted, Taylor: clusters within regions (cluster ids are unique across regions)
des <- svydesign(ids = ~cluster, strata = ~region, weights = ~indweight, data = s, nest = TRUE)
desc <- subset(des, complete)
ratio_row <- function(r, scale) {
  list(estimate = unname(coef(r)) * scale, se = unname(SE(r)) * scale)
}
taylor <- lapply(hidden, function(h) {
  r <- svyratio(as.formula(paste0("~`", h, "`")), ~d, desc)
  ratio_row(r, N)
})
names(taylor) <- hidden

# ---- by sex (domains of the same design)
by_sex <- svyby(~clients, ~sex, denominator = ~d, design = desc, FUN = svyratio)
by_sex_out <- list(
  sex = as.character(by_sex$sex),
  estimate = unname(by_sex[["clients/d"]]) * N,
  se = unname(by_sex[["se.clients/d"]]) * N
)

# ---- replicate designs: JKn (deterministic) on the same design
rep <- as.svrepdesign(des, type = "JKn")
repc <- subset(rep, complete)
jkn <- ratio_row(svyratio(~clients, ~d, repc), N)

# ---- internal validation: leave each known population out
loo <- lapply(known, function(k) {
  others <- setdiff(known, k)
  s$d_k <- N * rowSums(s[, others]) / sum(sizes[others])
  dk <- subset(svydesign(ids = ~cluster, strata = ~region, weights = ~indweight, data = s,
                         nest = TRUE), complete)
  r <- svyratio(as.formula(paste0("~`", k, "`")), ~d_k, dk)
  c(ratio_row(r, N), list(truth = unname(sizes[k]),
    unweighted = N * sum(sc[[k]]) / sum(N * rowSums(sc[, others]) / sum(sizes[others]))))
})
names(loo) <- known

out <- list(
  provenance = list(
    script = "tests/reference/make_reference_nsum.R",
    R = paste(R.version$major, R.version$minor, sep = "."),
    survey = as.character(packageVersion("survey")),
    jsonlite = as.character(packageVersion("jsonlite")),
    data = "networkreporting example.survey and example.knownpop.dat (MIT)",
    tolerance = "relative 1e-9"
  ),
  total_population = N,
  topcode = topcode,
  known = as.list(sizes),
  hidden = hidden,
  n_complete = sum(complete),
  unweighted = unweighted,
  taylor = taylor,
  by_sex = by_sex_out,
  jkn = jkn,
  leave_one_out = loo
)
write_json(out, "tests/reference/nsum.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
