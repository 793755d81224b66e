# Reference values for flestimate's multiple systems estimation (tests/mse/test_reference.py).
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_mse.R
# Writes tests/reference/mse_uk.json. Needs base R (stats: glm, uniroot) and jsonlite
# (R 4.2.2 and jsonlite 1.8.4 used).
#
# Data: data/mse/uk_2013.csv, the UK 2013 capture patterns (25 observed patterns of six
# lists, 2,744 cases). The 63 observable patterns are built here with the unobserved ones
# as zero counts, row r being the pattern whose binary code is r (list k = bit k-1, lists in
# the order LA, NG, PF, GO, GP, NCA), as flestimate.mse.tables.pattern_matrix orders them.
# Each model is glm(count ~ main effects + interactions, family = poisson) with a tight
# convergence tolerance, so that both programs report the maximum likelihood estimate
# itself rather than two stopping points of IRLS. The dark figure is exp(intercept).
#
# Profile-likelihood intervals use only glm too: for a fixed intercept m, the model without
# an intercept and with offset m gives the profile deviance D(m); the 95% limits of the
# dark figure are exp(m) where D(m) - D(m_hat) = qchisq(0.95, 1), found by uniroot.
suppressMessages(library(jsonlite))

uk <- read.csv("data/mse/uk_2013.csv")
lists <- c("LA", "NG", "PF", "GO", "GP", "NCA")
K <- length(lists)
codes <- 1:(2^K - 1)
full <- as.data.frame(sapply(seq_len(K), function(k) (codes %/% 2^(k - 1)) %% 2))
names(full) <- lists
key <- function(d) as.vector(as.matrix(d[, lists]) %*% 2^(0:(K - 1)))
full$count <- 0
full$count[key(uk)] <- uk$count
stopifnot(sum(full$count) == 2744, sum(full$count > 0) == 25)

ctrl <- glm.control(epsilon = 1e-14, maxit = 100)

fit_one <- function(interactions, data = full) {
  rhs <- paste(c(lists, vapply(interactions, paste, "", collapse = ":")), collapse = " + ")
  f <- as.formula(paste("count ~", rhs))
  g <- glm(f, family = poisson, data = data, control = ctrl)
  list(formula = deparse(f, width.cutoff = 500L), model = g)
}

profile_dark <- function(interactions, g, level = 0.95, data = full) {
  rhs <- paste(c("-1", "offset(fixed)", lists, vapply(interactions, paste, "", collapse = ":")),
               collapse = " + ")
  f <- as.formula(paste("count ~", rhs))
  dev_at <- function(m) {
    d <- data
    d$fixed <- m
    glm(f, family = poisson, data = d, control = ctrl)$deviance
  }
  m_hat <- unname(coef(g)[1])
  se <- unname(sqrt(diag(vcov(g)))[1])
  crit <- qchisq(level, 1)
  target <- function(m) dev_at(m) - g$deviance - crit
  lo <- uniroot(target, c(m_hat - 10 * se, m_hat), tol = 1e-12)$root
  hi <- uniroot(target, c(m_hat, m_hat + 10 * se), tol = 1e-12)$root
  c(exp(lo), exp(hi))
}

record <- function(name, interactions, data = full, profile = TRUE) {
  fo <- fit_one(interactions, data)
  g <- fo$model
  cf <- coef(g)
  out <- list(
    name = name,
    interactions = lapply(interactions, function(p) p),
    formula = fo$formula,
    terms = names(cf),
    coefficients = unname(cf),
    se = unname(sqrt(diag(vcov(g)))),
    deviance = g$deviance,
    df_residual = g$df.residual,
    aic = g$aic,
    loglik = as.numeric(logLik(g)),
    dark = unname(exp(cf[1])),
    total = sum(data$count) + unname(exp(cf[1])),
    fitted = unname(fitted(g)),
    iterations = g$iter,
    converged = g$converged
  )
  if (profile) {
    pr <- profile_dark(interactions, g, data = data)
    out$profile_dark_95 <- pr
    out$profile_total_95 <- sum(data$count) + pr
  }
  out
}

two <- list(c("PF", "NCA"), c("LA", "NG"))
seven <- list(c("PF", "NCA"), c("LA", "NG"), c("NG", "GP"), c("LA", "PF"), c("PF", "GP"),
              c("GO", "GP"), c("NG", "GO"))
models <- list(
  record("main effects", list()),
  record("PF:NCA + LA:NG", two),
  record("seven interactions", seven)
)

# LA and GP share no case: the extended MLE drops the patterns with both lists and the
# LA:GP term (its estimate is -Inf), i.e. glm on the 47 other patterns.
no_lagp <- full[!(full$LA == 1 & full$GP == 1), ]
empty <- record("LA:GP (never overlapping)", list(), data = no_lagp, profile = FALSE)
empty$interactions <- list(c("LA", "GP"))
empty$cells_used <- nrow(no_lagp)

# The known error: fitting the 25 observed patterns only (unobserved ones dropped).
wrong <- glm(count ~ LA + NG + PF + GO + GP + NCA, family = poisson, data = uk, control = ctrl)

out <- list(
  meta = list(
    r_version = R.version.string,
    jsonlite_version = as.character(packageVersion("jsonlite")),
    script = "tests/reference/make_reference_mse.R",
    data = "data/mse/uk_2013.csv",
    glm = "glm(family = poisson, control = glm.control(epsilon = 1e-14, maxit = 100))",
    tolerance = "relative 1e-8 (coefficients, deviance, dark figure)",
    pattern_order = "row r is the pattern with binary code r, list k = bit k-1"
  ),
  lists = lists,
  observed = sum(full$count),
  models = models,
  empty_overlap = empty,
  observed_patterns_only = list(
    note = "the known error: the 38 unobserved patterns dropped instead of entered as 0",
    dark = unname(exp(coef(wrong)[1])),
    total = sum(uk$count) + unname(exp(coef(wrong)[1]))
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/mse_uk.json")
cat("wrote tests/reference/mse_uk.json\n")
