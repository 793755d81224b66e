# Reference values for flestimate's comparisons, tests, quantiles, svyvar and Rubin's rules
# (tests/estimation/test_analysis_reference.py).
# Run from tests/reference/:  Rscript make_reference_analysis.R   (writes analysis.json)
# The api data are those exported by make_reference_design.R to data/*.csv.
suppressPackageStartupMessages({
  library(survey)
  library(mitools)
  library(jsonlite)
})
data(api)

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1)
dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
designs <- list(strat = dstrat, clus1 = dclus1, clus2 = dclus2)
jk1 <- as.svrepdesign(dclus1, type = "JK1")

num <- function(x) as.numeric(unname(x))
out <- list(
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  mitools_version = as.character(packageVersion("mitools")),
  tolerance = 1e-8
)

# ---------------------------------------------------------------- contrasts
contrasts <- list()
for (dn in c("strat", "clus1")) {
  des <- designs[[dn]]
  b <- svyby(~api00 + api99, ~stype, des, svymean, covmat = TRUE)
  lin <- svycontrast(b, list(
    E_minus_H = c("E:api00" = 1, "H:api00" = -1),
    average = c("E:api00" = 1 / 3, "H:api00" = 1 / 3, "M:api00" = 1 / 3)
  ))
  nl <- svycontrast(b, quote(`E:api00` / `E:api99`))
  tot <- svytotal(~api00 + api99, des)
  rat <- svycontrast(tot, quote(api00 / api99))
  # all pairs of stype for api00, p-values on the design df, Holm and Bonferroni
  pairs <- list(c("E", "H"), c("E", "M"), c("H", "M"))
  pw <- svycontrast(b, lapply(pairs, function(p) {
    v <- c(1, -1); names(v) <- paste0(p, ":api00"); v
  }))
  tstat <- coef(pw) / SE(pw)
  praw <- 2 * pt(-abs(tstat), df = degf(des))
  contrasts[[dn]] <- list(
    vcov = num(vcov(b)), names = colnames(vcov(b)),
    linear = list(estimate = num(coef(lin)), se = num(SE(lin))),
    ratio_within_domain = list(estimate = num(coef(nl)), se = num(SE(nl))),
    ratio_totals = list(estimate = num(coef(rat)), se = num(SE(rat))),
    pairwise = list(estimate = num(coef(pw)), se = num(SE(pw)), p = num(praw),
                    p_holm = p.adjust(praw, "holm"), p_bonferroni = p.adjust(praw, "bonferroni")),
    degf = degf(des)
  )
}
out$contrasts <- contrasts

# ---------------------------------------------------------------- chi-square
chisq <- list()
tables <- list(
  list(design = "strat", row = "sch.wide", col = "stype"),
  list(design = "clus1", row = "sch.wide", col = "stype"),
  list(design = "clus1", row = "awards", col = "comp.imp"),
  list(design = "clus1_jk1", row = "sch.wide", col = "stype")
)
designs$clus1_jk1 <- jk1  # svychisq on a replicate design: replicate means of the cells
for (tb in tables) {
  f <- as.formula(paste0("~", tb$row, "+", tb$col))
  for (st in c("F", "Chisq", "Wald", "adjWald")) {
    r <- svychisq(f, designs[[tb$design]], statistic = st)
    chisq[[length(chisq) + 1]] <- c(tb, list(
      statistic = st, value = num(r$statistic), parameter = num(r$parameter),
      p_value = num(r$p.value)))
  }
}
out$chisq <- chisq
designs$clus1_jk1 <- NULL

# ---------------------------------------------------------------- t-tests
ttest <- list()
for (dn in c("strat", "clus1")) {
  r <- svyttest(api00 ~ sch.wide, designs[[dn]])
  ttest[[length(ttest) + 1]] <- list(design = dn, y = "api00", group = "sch.wide",
    statistic = num(r$statistic), df = num(r$parameter), estimate = num(r$estimate),
    p_value = num(r$p.value), conf_int = num(r$conf.int))
  r1 <- svyttest(I(api00 - api99) ~ 0, designs[[dn]])
  ttest[[length(ttest) + 1]] <- list(design = dn, y = "growth", group = NULL,
    statistic = num(r1$statistic), df = num(r1$parameter), estimate = num(r1$estimate),
    p_value = num(r1$p.value), conf_int = num(r1$conf.int))
}
out$ttest <- ttest

# ---------------------------------------------------------------- svyvar
svar <- list()
for (dn in names(designs)) {
  v <- svyvar(~api00, designs[[dn]])
  svar[[length(svar) + 1]] <- list(design = dn, by = NULL, estimate = num(coef(v)), se = num(SE(v)))
  vb <- svyby(~api00, ~stype, designs[[dn]], svyvar)
  svar[[length(svar) + 1]] <- list(design = dn, by = "stype", domains = as.character(vb$stype),
    estimate = num(coef(vb)), se = num(SE(vb)))
}
out$svyvar <- svar

# ---------------------------------------------------------------- quantiles
qs <- c(0.25, 0.5, 0.75)
quant <- list()
qcase <- function(dn, des, qrule, var = "api00") {
  f <- as.formula(paste0("~", var))
  r <- svyquantile(f, des, qs, qrule = qrule, ci = TRUE)[[1]]
  list(design = dn, variable = var, qrule = qrule, by = NULL, q = qs,
       quantile = num(r[, 1]), ci_lower = num(r[, 2]), ci_upper = num(r[, 3]), se = num(r[, 4]))
}
for (dn in names(designs)) {
  for (qr in c("math", "hf7")) {
    quant[[length(quant) + 1]] <- qcase(dn, designs[[dn]], qr)
    b <- svyby(~api00, ~stype, designs[[dn]], svyquantile, quantiles = qs, qrule = qr,
               ci = TRUE, vartype = c("se", "ci"))
    # columns: stype, 3 quantiles, 3 se, 3 ci_l, 3 ci_u
    m <- as.matrix(b[, -1])
    quant[[length(quant) + 1]] <- list(design = dn, variable = "api00", qrule = qr, by = "stype",
      domains = as.character(b$stype), q = qs,
      quantile = num(t(m[, 1:3])), se = num(t(m[, 4:6])),
      ci_lower = num(t(m[, 7:9])), ci_upper = num(t(m[, 10:12])))
  }
}
for (qr in c("school", "shahvaish", paste0("hf", 1:9))) {
  quant[[length(quant) + 1]] <- qcase("clus1", dclus1, qr, "enroll")
}
r <- svyquantile(~api00, jk1, qs, ci = TRUE)[[1]]
quant[[length(quant) + 1]] <- list(design = "clus1_jk1", variable = "api00", qrule = "math",
  by = NULL, q = qs, quantile = num(r[, 1]), ci_lower = num(r[, 2]), ci_upper = num(r[, 3]),
  se = num(r[, 4]))
out$quantile <- quant

# ---------------------------------------------------------------- MIcombine (mitools' example)
data(smi)
models <- with(smi, glm(drinkreg ~ wave * sex, family = binomial()))
betas <- MIextract(models, fun = coef)
vars <- MIextract(models, fun = vcov)
mi <- MIcombine(betas, vars)
mi20 <- MIcombine(betas, vars, df.complete = 20)
out$micombine <- list(
  names = names(betas[[1]]),
  estimates = lapply(betas, num), variances = lapply(vars, num),
  coefficients = num(coef(mi)), variance = num(vcov(mi)), df = num(mi$df),
  missinfo = num(mi$missinfo),
  df_complete_20 = list(df = num(mi20$df), missinfo = num(mi20$missinfo))
)

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE),
           "analysis.json")
