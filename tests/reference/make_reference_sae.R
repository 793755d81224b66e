# Reference values for flestimate.sae on the milk data (tests/sae/test_reference.py), from R.
# Run from tests/reference/:  Rscript make_reference_sae.R
# Writes sae_milk_r.json.
#
# R's sae package is not available here (not in Debian), so the Fay-Herriot fits are written
# out in base R, independently of flestimate's Python code: dense matrices, the variance of
# the area effects as the root of the REML / ML score or of the Fay-Herriot moment equation
# (uniroot), checked against a direct maximisation of the (restricted) log-likelihood
# (optimize); beta, EBLUP and the Prasad-Rao and Datta-Lahiri MSEs formula by formula
# (Rao & Molina 2015, section 6.2; the MSEs of sae::mseFH).
suppressPackageStartupMessages(library(jsonlite))

milk <- read.csv(file.path("data", "milk.csv"))
X <- model.matrix(~ as.factor(MajorArea), milk)
y <- milk$yi
D <- milk$SD^2
m <- length(y)
p <- ncol(X)

pieces <- function(A) {
  Vi <- diag(1 / (A + D))
  Q <- solve(t(X) %*% Vi %*% X)
  beta <- drop(Q %*% t(X) %*% Vi %*% y)
  P <- Vi - Vi %*% X %*% Q %*% t(X) %*% Vi
  list(Vi = Vi, Q = Q, beta = beta, P = P, r = drop(y - X %*% beta))
}
score <- function(A, method) {
  s <- pieces(A)
  Py <- drop(s$P %*% y)
  if (method == "REML") return(-0.5 * sum(diag(s$P)) + 0.5 * sum(Py^2))
  if (method == "ML") return(-0.5 * sum(diag(s$Vi)) + 0.5 * sum(Py^2))
  sum(s$r^2 / (A + D)) - (m - p)
}
loglik <- function(A) {
  s <- pieces(A)
  -0.5 * sum(log(2 * pi * (A + D)) + s$r^2 / (A + D))
}
restricted <- function(A) {
  s <- pieces(A)
  -0.5 * (sum(log(A + D)) + as.numeric(determinant(solve(s$Q))$modulus) + sum(y * (s$P %*% y)))
}

reference <- function(method) {
  A <- uniroot(score, c(1e-8, 1), method = method, tol = 1e-15)$root
  if (method != "FH") {
    f <- if (method == "REML") restricted else loglik
    opt <- optimize(f, c(1e-8, 1), maximum = TRUE, tol = 1e-12)$maximum
    stopifnot(abs(opt / A - 1) < 1e-5)
  }
  s <- pieces(A)
  gamma <- A / (A + D)
  eblup <- drop(X %*% s$beta) + gamma * s$r
  w <- 1 / (A + D)
  if (method == "FH") {
    varA <- 2 * m / sum(w)^2
    bias <- 2 * (m * sum(w^2) - sum(w)^2) / sum(w)^3
  } else {
    varA <- 2 / sum(w^2)
    bias <- if (method == "ML") -sum(diag(s$Q %*% t(X) %*% diag(w^2) %*% X)) / sum(w^2) else 0
  }
  g1 <- gamma * D
  g2 <- (1 - gamma)^2 * rowSums((X %*% s$Q) * X)
  g3 <- (1 - gamma)^2 * varA / (A + D)
  pr <- g1 + g2 + 2 * g3
  ll <- loglik(A)
  list(sigma2_u = A, beta = s$beta, beta_se = sqrt(diag(s$Q)), eblup = eblup,
       gamma = gamma, mse_prasad_rao = pr, mse_datta_lahiri = pr - bias * (1 - gamma)^2,
       bias_sigma2_u = bias, var_sigma2_u = varA, loglike = ll,
       aic = -2 * ll + 2 * (p + 1), bic = -2 * ll + (p + 1) * log(m))
}

out <- list(
  description = "flestimate.sae reference on the milk data from base R (uniroot on the scores)",
  script = "tests/reference/make_reference_sae.R",
  versions = list(R = R.version.string, jsonlite = as.character(packageVersion("jsonlite"))),
  terms = c("Intercept", "C(MajorArea)[T.2]", "C(MajorArea)[T.3]", "C(MajorArea)[T.4]"),
  fits = list(REML = reference("REML"), ML = reference("ML"), FH = reference("FH"))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "sae_milk_r.json")
cat("wrote sae_milk_r.json\n")
