# Reference values for flestimate's design-based regression (tests/estimation/test_regression_reference.py).
# Run from tests/reference/:  Rscript make_reference_regression.R
# Writes regression.json. Needs R survey (4.1.1 used) and jsonlite. Data: R survey's api data
# sets (data(api)), the same rows as data/api*.csv (written by make_reference_design.R).
#
# Every glm is fitted with glm.control(epsilon = 1e-12, maxit = 100) so that R's own IRLS
# error is far below the tolerance of the comparison (R's default epsilon is 1e-8).
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
data(api)

add01 <- function(d) {
  d$awards_yes <- as.numeric(d$awards == "Yes")
  d$both_yes <- as.numeric(d$both == "Yes")
  d
}
apistrat <- add01(apistrat); apiclus1 <- add01(apiclus1); apiclus2 <- add01(apiclus2)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
rclus1 <- as.svrepdesign(dclus1)  # JK1
pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
rake_ctl <- list(maxit = 100, epsilon = 1e-10)
draked <- rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide), control = rake_ctl)
rraked <- rake(rclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide), control = rake_ctl)

designs <- list(dstrat = dstrat, dclus1 = dclus1, dclus2 = dclus2, rclus1 = rclus1,
                draked = draked, rraked = rraked)
ctl <- glm.control(epsilon = 1e-12, maxit = 100)
families <- list(
  gaussian = gaussian(), quasibinomial = quasibinomial(), binomial = binomial(),
  quasipoisson = quasipoisson(), probit = quasibinomial(link = "probit"),
  cloglog = quasibinomial(link = "cloglog")
)

fit_case <- function(design, formula, family) {
  # the objects are put into the call, so that update() (regTermTest's LRT) can refit it
  rep <- inherits(designs[[design]], "svyrep.design")
  call <- if (rep) {
    bquote(svyglm(.(as.formula(formula)), design = .(designs[[design]]),
                  family = .(families[[family]]), control = .(ctl)))
  } else {
    bquote(svyglm(.(as.formula(formula)), design = .(designs[[design]]),
                  family = .(families[[family]]), control = .(ctl), deff = TRUE))
  }
  m <- suppressWarnings(eval(call))
  s <- summary(m)
  out <- list(
    design = design, formula = formula, family = family,
    terms = names(coef(m)),
    coef = unname(coef(m)), se = unname(SE(m)),
    vcov = unname(as.matrix(vcov(m))),
    statistic = unname(s$coefficients[, 3]), p_value = unname(s$coefficients[, 4]),
    df_resid = m$df.residual, degf = degf(designs[[design]]),
    naive_cov = unname(m$naive.cov),
    deviance = m$deviance,
    dispersion = unname(as.numeric(s$dispersion))
  )
  if (!is.null(attr(m, "deff"))) out$deff <- unname(diag(attr(m, "deff")))
  list(model = m, json = out)
}

cases <- list(
  logit_dstrat = c("dstrat", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  logit_dclus1 = c("dclus1", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  logit_dclus2 = c("dclus2", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  logit_rclus1 = c("rclus1", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  logit_draked = c("draked", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  logit_rraked = c("rraked", "awards_yes ~ ell + meals + stype", "quasibinomial"),
  binomial_dclus1 = c("dclus1", "awards_yes ~ ell + meals + stype", "binomial"),
  probit_dclus1 = c("dclus1", "awards_yes ~ ell + meals + stype", "probit"),
  cloglog_dstrat = c("dstrat", "both_yes ~ ell + mobility", "cloglog"),
  linear_dstrat = c("dstrat", "api00 ~ ell + meals + mobility + stype", "gaussian"),
  linear_dclus2 = c("dclus2", "api00 ~ ell + meals + mobility + stype", "gaussian"),
  linear_rclus1 = c("rclus1", "api00 ~ ell + meals + mobility + stype", "gaussian"),
  linear_draked = c("draked", "api00 ~ ell + meals + mobility + stype", "gaussian"),
  qpois_dclus1 = c("dclus1", "api.stu ~ stype + ell", "quasipoisson"),
  qpois_dstrat = c("dstrat", "api.stu ~ stype + ell", "quasipoisson"),
  qpois_rclus1 = c("rclus1", "api.stu ~ stype + ell", "quasipoisson"),
  intercept_dclus1 = c("dclus1", "api00 ~ 1", "gaussian")
)

models <- list()
out_models <- list()
for (nm in names(cases)) {
  cc <- cases[[nm]]
  f <- fit_case(cc[1], cc[2], cc[3])
  models[[nm]] <- f$model
  out_models[[nm]] <- f$json
}

# regTermTest: Wald F and the Rao-Scott working LRT (saddlepoint p-value)
tt <- function(model, terms, method) {
  r <- tryCatch(regTermTest(models[[model]], as.formula(terms), method = method),
                error = function(e) { message(model, " ", terms, " ", method, ": ", conditionMessage(e)); NULL })
  if (is.null(r)) return(NULL)
  out <- list(model = model, terms = terms, method = method, df = r$df, ddf = r$ddf,
              p = unname(as.numeric(r$p)))
  if (method == "Wald") out$statistic <- unname(as.numeric(r$Ftest))
  else { out$statistic <- unname(as.numeric(r$chisq)); out$lambda <- unname(r$lambda) }
  out
}
term_tests <- list(
  tt("logit_dclus1", "~stype", "Wald"), tt("logit_dclus1", "~stype", "LRT"),
  tt("logit_dstrat", "~stype", "Wald"), tt("logit_dstrat", "~stype", "LRT"),
  tt("logit_dstrat", "~ell+meals", "LRT"),
  tt("logit_dclus2", "~stype+ell", "LRT"),
  tt("linear_dstrat", "~stype", "Wald"), tt("linear_dstrat", "~stype", "LRT"),
  tt("qpois_dclus1", "~stype", "LRT"),
  tt("logit_rclus1", "~stype", "Wald"), tt("logit_rclus1", "~stype", "LRT"),
  tt("logit_draked", "~stype", "LRT")
)
term_tests <- Filter(Negate(is.null), term_tests)

# predict with SE (type response and link) on the first 5 rows of apiclus1
newdata <- apiclus1[c(1, 20, 40, 100, 150), ]
pr <- function(model, type) {
  p <- predict(models[[model]], newdata = newdata, type = type, se.fit = TRUE)
  list(model = model, type = type, rows = c(1, 20, 40, 100, 150),
       # sqrt of the "var" attribute: SE() of a replicate prediction (SE.svrepstat in
       # survey 4.1.1) takes diag() of the n x 1 variance and returns the first value only
       estimate = unname(as.numeric(coef(p))), se = unname(sqrt(as.numeric(attr(p, "var")))))
}
predictions <- list(pr("logit_dclus1", "response"), pr("logit_dclus1", "link"),
                    pr("logit_dstrat", "response"), pr("linear_dclus2", "response"),
                    pr("logit_rclus1", "response"))

# svypredmeans: predictive margins of a factor not in the model
pm <- function(design, formula, family, by) {
  m <- eval(bquote(svyglm(.(as.formula(formula)), design = .(designs[[design]]),
                          family = .(families[[family]]), control = .(ctl))))
  r <- svypredmeans(m, as.formula(paste("~", by)))
  list(design = design, formula = formula, family = family, by = by,
       levels = names(coef(r)), estimate = unname(coef(r)), se = unname(SE(r)))
}
margins <- list(
  pm("dclus1", "awards_yes ~ ell + meals", "quasibinomial", "stype"),
  pm("dstrat", "api00 ~ ell + mobility", "gaussian", "stype"),
  pm("dclus2", "awards_yes ~ ell + meals", "quasibinomial", "stype")
)

out <- list(
  generated_by = "tests/reference/make_reference_regression.R",
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  glm_control = "glm.control(epsilon = 1e-12, maxit = 100)",
  tolerance = "relative 1e-8 (coefficients, SEs, df, statistics); p-values of the LRT 1e-6",
  models = out_models, term_tests = term_tests, predictions = predictions, margins = margins
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), "regression.json")
