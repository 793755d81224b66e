# Reference values for flestimate's replicate-weight designs (tests/design/replicate/test_reference*.py).
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_replicate.R
# Needs R survey (4.1.1 used) and jsonlite. Writes
#   tests/reference/replicate.json             the reference values (see `cases` below)
#   tests/reference/hadamard.json              R's hadamard(n) for n = 0..200
#   tests/reference/data/apiclus1.csv, apistrat.csv   (only if absent: shared with other tests)
#   tests/reference/data/scd.csv               R's scd data (two PSUs per stratum)
#   tests/reference/data/replicate_brr.csv     a synthetic design with 2 PSUs in each of 10 strata
#   tests/reference/data/replicate_lonely.csv  apistrat with a single PSU in stratum H
#   tests/reference/data/replicate_weights_*.csv   replicate weight columns made by R
#                                              (fed to flestimate.ReplicateDesign)
#
# Each case of replicate.json records the design (columns and lonely-PSU rule), how R made the
# replicates (as.svrepdesign or svrepdesign, with type, mse, rho), R's scale, rscales and degf,
# the analysis replicate weights (small designs only) and the statistics computed on the
# replicate design: svytotal, svymean (with deff), svyratio, svymean/svytotal of a factor,
# svyby domain means and proportions, svyciprop intervals (methods mean, beta, xlogit, asin)
# with R's default df = degf(design), and degf of the domain subsets.
suppressMessages({
  library(survey)
  library(jsonlite)
})
data(api)
data(scd)

out_dir <- "tests/reference"
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

write_full <- function(df, path) {
  # 17 significant digits, so that the CSV round-trips exactly
  df <- as.data.frame(df)
  for (nm in names(df)) {
    if (is.double(df[[nm]])) df[[nm]] <- sprintf("%.17g", df[[nm]])
    if (is.factor(df[[nm]])) df[[nm]] <- as.character(df[[nm]])
  }
  write.csv(df, path, row.names = FALSE, na = "")
}
if (!file.exists(file.path(data_dir, "apiclus1.csv"))) {
  write.csv(apiclus1, file.path(data_dir, "apiclus1.csv"), row.names = FALSE, na = "")
}
if (!file.exists(file.path(data_dir, "apistrat.csv"))) {
  write.csv(apistrat, file.path(data_dir, "apistrat.csv"), row.names = FALSE, na = "")
}
scd$w1 <- 1  # R's prob = ~1: a weight column of ones
write_full(scd, file.path(data_dir, "scd.csv"))

# a synthetic design with two PSUs in each of 10 strata (BRR uses Paley's order-12 matrix);
# stratum labels are zero-padded so that R's character order equals the numeric order
set.seed(20261128)
H <- 10
brr <- do.call(rbind, lapply(seq_len(H), function(h) {
  do.call(rbind, lapply(1:2, function(j) {
    m <- 3 + ((h + j) %% 4)
    data.frame(stratum = sprintf("s%02d", h), psu = sprintf("p%02d_%d", h, j),
               w = round(runif(m, 5, 40), 3), y = round(rnorm(m, 50 + h, 10), 2),
               x = round(runif(m, 20, 80), 2), z = rbinom(m, 1, 0.3 + 0.03 * h),
               dom = sample(c("a", "b"), m, replace = TRUE))
  }))
}))
write_full(brr, file.path(data_dir, "replicate_brr.csv"))

# apistrat with a single school (PSU) in stratum H: the lonely-PSU examples
lonely <- apistrat[apistrat$stype != "H" | seq_len(nrow(apistrat)) ==
                     which(apistrat$stype == "H")[1], ]
write_full(lonely[, c("snum", "stype", "pw", "fpc", "api00", "api99", "enroll",
                      "sch.wide", "comp.imp")], file.path(data_dir, "replicate_lonely.csv"))

un <- function(x) unname(as.vector(x))

# statistics computed on every api design ------------------------------------------------
api_stats <- function(des) {
  t1 <- svytotal(~enroll, des, deff = TRUE)
  m1 <- svymean(~api00, des, deff = TRUE)
  r1 <- svyratio(~api00, ~api99, des)
  p1 <- svymean(~stype, des)
  t2 <- svytotal(~stype, des)
  by1 <- svyby(~api00, ~comp.imp, des, svymean, deff = TRUE)
  by2 <- svyby(~I(as.numeric(sch.wide == "Yes")), ~comp.imp, des, svymean)
  cip <- lapply(c("mean", "beta", "xlogit", "asin"), function(m) {
    ci <- svyciprop(~I(sch.wide == "Yes"), des, method = m)
    list(method = m, estimate = un(coef(ci)), ci = un(attr(ci, "ci")))
  })
  cip90 <- svyciprop(~I(sch.wide == "Yes"), des, method = "beta", level = 0.9)
  by_ci <- svyby(~I(sch.wide == "Yes"), ~comp.imp, des, svyciprop, method = "beta",
                 vartype = "ci")
  sub_degf <- sapply(c("No", "Yes"), function(l) degf(subset(des, comp.imp == l)))
  list(
    total_enroll = list(estimate = un(coef(t1)), se = un(SE(t1)), deff = un(deff(t1))),
    mean_api00 = list(estimate = un(coef(m1)), se = un(SE(m1)), deff = un(deff(m1))),
    ratio_api00_api99 = list(estimate = un(coef(r1)), se = un(SE(r1))),
    prop_stype = list(levels = c("E", "H", "M"), estimate = un(coef(p1)), se = un(SE(p1))),
    total_stype = list(levels = c("E", "H", "M"), estimate = un(coef(t2)), se = un(SE(t2))),
    by_comp_imp_mean_api00 = list(levels = c("No", "Yes"), estimate = un(coef(by1)),
                                  se = un(SE(by1)), deff = un(deff(by1))),
    by_comp_imp_prop_schwide = list(levels = c("No", "Yes"), estimate = un(coef(by2)),
                                    se = un(SE(by2))),
    ciprop_schwide = cip,
    ciprop_schwide_beta_90 = list(estimate = un(coef(cip90)), ci = un(attr(cip90, "ci"))),
    by_comp_imp_ciprop_beta = list(levels = c("No", "Yes"), estimate = un(coef(by_ci)),
                                   ci_lower = un(by_ci[, 3]), ci_upper = un(by_ci[, 4]),
                                   degf = un(sub_degf)),
    degf = degf(des)
  )
}

rep_info <- function(des, with_weights = TRUE) {
  out <- list(type = des$type, scale = un(des$scale), rscales = un(des$rscales),
              mse = isTRUE(des$mse), degf = degf(des),
              n_replicates = ncol(weights(des, "analysis")))
  if (with_weights) out$repweights <- unname(as.matrix(weights(des, "analysis")))
  out
}

cases <- list()
add <- function(name, des, design, replicate, stats, with_weights = TRUE, extra = NULL) {
  cases[[name]] <<- c(list(design = design, replicate = replicate), rep_info(des, with_weights),
                      list(stats = stats), extra)
}

# 1. JK1 of the one-stage cluster sample apiclus1 ------------------------------------------
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
dclus1_nofpc <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1)
d_clus1 <- list(data = "apiclus1.csv", weight = "pw", psu = "dnum", fpc = "fpc")
d_clus1_nofpc <- list(data = "apiclus1.csv", weight = "pw", psu = "dnum")
taylor_total <- svytotal(~enroll, dclus1)
taylor_total_nofpc <- svytotal(~enroll, dclus1_nofpc)
for (mse in c(FALSE, TRUE)) {
  des <- as.svrepdesign(dclus1, type = "JK1", mse = mse)
  add(paste0("apiclus1_jk1", if (mse) "_mse" else ""), des, d_clus1,
      list(call = "as.svrepdesign", method = "jk1", mse = mse), api_stats(des),
      extra = list(taylor_total_enroll = list(estimate = un(coef(taylor_total)),
                                              se = un(SE(taylor_total)))))
}
des <- as.svrepdesign(dclus1_nofpc, type = "JK1")
add("apiclus1_nofpc_jk1", des, d_clus1_nofpc,
    list(call = "as.svrepdesign", method = "jk1", mse = FALSE), api_stats(des),
    extra = list(taylor_total_enroll = list(estimate = un(coef(taylor_total_nofpc)),
                                            se = un(SE(taylor_total_nofpc)))))

# 2. JKn of the stratified sample apistrat ----------------------------------------------
dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
dstrat_nofpc <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat)
d_strat <- list(data = "apistrat.csv", weight = "pw", strata = "stype", fpc = "fpc")
d_strat_nofpc <- list(data = "apistrat.csv", weight = "pw", strata = "stype")
for (mse in c(FALSE, TRUE)) {
  des <- as.svrepdesign(dstrat, type = "JKn", mse = mse)
  add(paste0("apistrat_jkn", if (mse) "_mse" else ""), des, d_strat,
      list(call = "as.svrepdesign", method = "jkn", mse = mse), api_stats(des),
      with_weights = FALSE, extra = list(repweights_file = "replicate_given_jkn.csv"))
}
des <- as.svrepdesign(dstrat_nofpc, type = "JKn")
add("apistrat_nofpc_jkn", des, d_strat_nofpc,
    list(call = "as.svrepdesign", method = "jkn", mse = FALSE), api_stats(des),
    with_weights = FALSE)

# 3. lonely PSU under JKn (options(survey.lonely.psu) at conversion, as R) ----------------
lonely_stats <- function(des) {
  t1 <- svytotal(~enroll, des)
  m1 <- svymean(~api00, des)
  r1 <- svyratio(~api00, ~api99, des)
  by1 <- svyby(~api00, ~comp.imp, des, svymean)
  list(total_enroll = list(estimate = un(coef(t1)), se = un(SE(t1))),
       mean_api00 = list(estimate = un(coef(m1)), se = un(SE(m1))),
       ratio_api00_api99 = list(estimate = un(coef(r1)), se = un(SE(r1))),
       by_comp_imp_mean_api00 = list(levels = c("No", "Yes"), estimate = un(coef(by1)),
                                     se = un(SE(by1))),
       degf = degf(des))
}
for (rule in c("remove", "certainty", "adjust", "average")) {
  for (with_fpc in c(FALSE, TRUE)) {
    options(survey.lonely.psu = rule)
    dl <- if (with_fpc) {
      svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely, fpc = ~fpc)
    } else {
      svydesign(id = ~1, strata = ~stype, weights = ~pw, data = lonely)
    }
    des <- as.svrepdesign(dl, type = "JKn")
    d <- list(data = "replicate_lonely.csv", weight = "pw", strata = "stype",
              lonely_psu = rule)
    if (with_fpc) d$fpc <- "fpc"
    add(paste0("lonely_jkn_", rule, if (with_fpc) "_fpc" else ""), des, d,
        list(call = "as.svrepdesign", method = "jkn", mse = FALSE), lonely_stats(des),
        with_weights = FALSE)
  }
}
options(survey.lonely.psu = "fail")

# 4. BRR, Fay and JKn on R's scd data (two PSUs per stratum) -------------------------------
scdnofpc <- svydesign(data = scd, prob = ~1, id = ~ambulance, strata = ~ESA, nest = TRUE)
d_scd <- list(data = "scd.csv", weight = "w1", strata = "ESA", psu = "ambulance",
              nest = TRUE)
scd_stats <- function(des) {
  m <- svymean(~alive, des)
  t <- svytotal(~alive, des)
  r <- svyratio(~alive, ~arrests, des)
  list(mean_alive = list(estimate = un(coef(m)), se = un(SE(m))),
       total_alive = list(estimate = un(coef(t)), se = un(SE(t))),
       ratio_alive_arrests = list(estimate = un(coef(r)), se = un(SE(r))),
       degf = degf(des))
}
for (mse in c(FALSE, TRUE)) {
  sfx <- if (mse) "_mse" else ""
  des <- as.svrepdesign(scdnofpc, type = "BRR", mse = mse)
  add(paste0("scd_brr", sfx), des, d_scd, list(call = "as.svrepdesign", method = "brr",
                                              mse = mse), scd_stats(des))
  des <- as.svrepdesign(scdnofpc, type = "Fay", fay.rho = 0.3, mse = mse)
  add(paste0("scd_fay", sfx), des, d_scd, list(call = "as.svrepdesign", method = "fay",
                                              rho = 0.3, mse = mse), scd_stats(des))
}
des <- as.svrepdesign(scdnofpc, type = "JKn")
add("scd_jkn", des, d_scd, list(call = "as.svrepdesign", method = "jkn", mse = FALSE),
    scd_stats(des))

# 5. BRR and Fay on the synthetic 10-stratum design ---------------------------------------
dbrr <- svydesign(id = ~psu, strata = ~stratum, weights = ~w, data = brr)
d_brr <- list(data = "replicate_brr.csv", weight = "w", strata = "stratum", psu = "psu")
brr_stats <- function(des) {
  t <- svytotal(~y, des)
  m <- svymean(~y, des)
  r <- svyratio(~y, ~x, des)
  p <- svymean(~z, des)
  by1 <- svyby(~y, ~dom, des, svymean)
  by2 <- svyby(~z, ~dom, des, svytotal)
  list(total_y = list(estimate = un(coef(t)), se = un(SE(t))),
       mean_y = list(estimate = un(coef(m)), se = un(SE(m))),
       ratio_y_x = list(estimate = un(coef(r)), se = un(SE(r))),
       mean_z = list(estimate = un(coef(p)), se = un(SE(p))),
       by_dom_mean_y = list(levels = c("a", "b"), estimate = un(coef(by1)), se = un(SE(by1))),
       by_dom_total_z = list(levels = c("a", "b"), estimate = un(coef(by2)), se = un(SE(by2))),
       degf = degf(des))
}
brr_des <- list(
  brr = as.svrepdesign(dbrr, type = "BRR"),
  fay = as.svrepdesign(dbrr, type = "Fay", fay.rho = 0.5),
  jkn = as.svrepdesign(dbrr, type = "JKn")
)
for (m in names(brr_des)) {
  rep <- list(call = "as.svrepdesign", method = m, mse = FALSE)
  if (m == "fay") rep$rho <- 0.5
  add(paste0("brr10_", m), brr_des[[m]], d_brr, rep, brr_stats(brr_des[[m]]))
}

# 6. bootstrap and subbootstrap (draws differ from numpy's: the weights are exported) -------
set.seed(6)
boot_des <- list(
  apiclus1_bootstrap = list(as.svrepdesign(dclus1, type = "bootstrap", replicates = 50),
                            d_clus1, "bootstrap"),
  apistrat_bootstrap = list(as.svrepdesign(dstrat, type = "bootstrap", replicates = 40),
                            d_strat, "bootstrap"),
  apistrat_nofpc_bootstrap = list(as.svrepdesign(dstrat_nofpc, type = "bootstrap",
                                                 replicates = 40), d_strat_nofpc, "bootstrap"),
  apistrat_subbootstrap = list(as.svrepdesign(dstrat_nofpc, type = "subbootstrap",
                                              replicates = 40), d_strat_nofpc, "subbootstrap")
)
for (nm in names(boot_des)) {
  b <- boot_des[[nm]]
  add(nm, b[[1]], b[[2]], list(call = "as.svrepdesign", method = b[[3]], mse = FALSE),
      api_stats(b[[1]]), with_weights = FALSE,
      extra = list(repweights_file = paste0("replicate_weights_", nm, ".csv")))
  rw <- as.data.frame(unname(as.matrix(weights(b[[1]], "analysis"))))
  names(rw) <- sprintf("rw%02d", seq_len(ncol(rw)))
  write_full(rw, file.path(data_dir, paste0("replicate_weights_", nm, ".csv")))
}

# 7. svrepdesign with replicate weight columns given in the data ---------------------------
# the columns are the analysis weights of the designs above; the data file is the design's
# data plus the columns rw01..rwR (written to replicate_weights_<case>.csv with the data)
given <- function(name, src, data, weight, type, ...) {
  rw <- as.data.frame(unname(as.matrix(weights(src, "analysis"))))
  names(rw) <- sprintf("rw%02d", seq_len(ncol(rw)))
  full <- cbind(data, rw)
  file <- paste0("replicate_given_", name, ".csv")
  if (!file %in% written) write_full(full, file.path(data_dir, file))
  written <<- c(written, file)
  args <- list(...)
  des <- do.call(svrepdesign, c(list(data = full, repweights = "rw[0-9]+",
                                     weights = as.formula(paste0("~", weight)), type = type,
                                     combined.weights = TRUE), args))
  list(des = des, file = file, args = args)
}
written <- character(0)
clus1_cols <- apiclus1[, c("dnum", "snum", "stype", "pw", "fpc", "api00", "api99", "enroll",
                           "sch.wide", "comp.imp")]
strat_cols <- apistrat[, c("snum", "stype", "pw", "fpc", "api00", "api99", "enroll",
                           "sch.wide", "comp.imp")]
jk1 <- as.svrepdesign(dclus1, type = "JK1")
jkn <- as.svrepdesign(dstrat, type = "JKn")
given_cases <- list(
  jk1_scale = list(given("jk1", jk1, clus1_cols, "pw", "JK1", scale = jk1$scale),
                   "jk1", api_stats, list(scale = jk1$scale)),
  jk1_default = list(suppressWarnings(given("jk1", jk1, clus1_cols, "pw", "JK1")),
                     "jk1", api_stats, list()),
  jkn_rscales = list(given("jkn", jkn, strat_cols, "pw", "JKn",
                           rscales = jkn$rscales), "jkn", api_stats,
                     list(rscales = un(jkn$rscales))),
  jkn_rscales_mse = list(given("jkn", jkn, strat_cols, "pw", "JKn",
                               rscales = jkn$rscales, mse = TRUE), "jkn", api_stats,
                         list(rscales = un(jkn$rscales), mse = TRUE)),
  brr = list(given("brr", brr_des$brr, brr, "w", "BRR"), "brr", brr_stats, list()),
  fay = list(given("fay", brr_des$fay, brr, "w", "Fay", rho = 0.5), "fay", brr_stats,
             list(rho = 0.5)),
  bootstrap = list(given("bootstrap", boot_des$apiclus1_bootstrap[[1]], clus1_cols, "pw",
                         "bootstrap"), "bootstrap", api_stats, list()),
  bootstrap_scale = list(given("bootstrap", boot_des$apiclus1_bootstrap[[1]],
                               clus1_cols, "pw", "bootstrap",
                               scale = boot_des$apiclus1_bootstrap[[1]]$scale),
                         "bootstrap", api_stats,
                         list(scale = boot_des$apiclus1_bootstrap[[1]]$scale)),
  sdr = list(given("jkn", jkn, strat_cols, "pw", "successive-difference"), "sdr", api_stats,
             list())
)
for (nm in names(given_cases)) {
  g <- given_cases[[nm]]
  des <- g[[1]]$des
  d <- list(data = g[[1]]$file, weight = if (nm %in% c("brr", "fay")) "w" else "pw",
            replicate_weights = "rw[0-9]+")
  add(paste0("given_", nm), des, d,
      c(list(call = "svrepdesign", method = g[[2]], mse = isTRUE(des$mse)), g[[4]]),
      g[[3]](des), with_weights = FALSE)
}

meta <- list(
  generated_by = "tests/reference/make_reference_replicate.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  tolerance = "relative 1e-9",
  notes = paste(
    "as.svrepdesign builds replicates from a svydesign; svrepdesign uses replicate weight",
    "columns (combined weights). JKn lonely-PSU rules follow options(survey.lonely.psu)",
    "at conversion. Bootstrap draws cannot be reproduced outside R: their replicate weights",
    "are exported to data/replicate_weights_<case>.csv."
  )
)
writeLines(toJSON(list(meta = meta, cases = cases), auto_unbox = TRUE, digits = NA,
                  null = "null", na = "null", pretty = FALSE),
           file.path(out_dir, "replicate.json"))

# Hadamard matrices: R's hadamard(n) for n = 0..200 ---------------------------------------
# each distinct matrix once, rows packed as hexadecimal (4 columns a digit, last padded)
ns <- asNamespace("survey")
stored <- get("hadamard.list", ns)[3:4]
pack <- function(h) apply(h, 1, function(r) {
  r <- c(r, rep(0, (4 - length(r) %% 4) %% 4))
  paste(sprintf("%x", colSums(matrix(r, 4) * c(8, 4, 2, 1))), collapse = "")
})
had <- list()
mats <- list()
for (n in 0:200) {
  h <- hadamard(n)
  from_stored <- any(vapply(stored, function(s) {
    k <- nrow(s)
    nrow(h) %% k == 0 && all(h[1:k, 1:k] == s)
  }, logical(1)))
  key <- paste(pack(h), collapse = ",")
  id <- match(key, vapply(mats, function(m) m$key, ""))
  if (is.na(id)) {
    mats[[length(mats) + 1]] <- list(key = key, order = nrow(h))
    id <- length(mats)
  }
  had[[length(had) + 1]] <- list(n = n, order = nrow(h), stored = from_stored, matrix = id - 1)
}
writeLines(toJSON(list(meta = meta[c("generated_by", "r_version", "survey_version")],
                       cases = had,
                       matrices = lapply(mats, function(m) list(order = m$order,
                                                               rows = strsplit(m$key, ",")[[1]]))),
                  auto_unbox = TRUE),
           file.path(out_dir, "hadamard.json"))
cat("wrote", file.path(out_dir, "replicate.json"), "and hadamard.json\n")
