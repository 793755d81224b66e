# Reference values for flestimate's design-based estimation engine (tests/estimation/test_reference.py).
# Run from tests/reference/:  Rscript make_reference_design.R
# Writes reference_design.json and exports the api data sets to data/*.csv.
suppressPackageStartupMessages({
  library(survey)
  library(jsonlite)
})
data(api)

for (nm in c("apisrs", "apistrat", "apiclus1", "apiclus2")) {
  write.csv(get(nm), file.path("data", paste0(nm, ".csv")), row.names = FALSE, na = "")
}

add01 <- function(d) {
  d$sch_yes <- as.numeric(d$sch.wide == "Yes")
  d$awards_yes <- as.numeric(d$awards == "Yes")
  d$ell0 <- as.numeric(d$ell == 0)
  d
}
apisrs <- add01(apisrs); apistrat <- add01(apistrat)
apiclus1 <- add01(apiclus1); apiclus2 <- add01(apiclus2)

# lonely-PSU examples: apiclus1 stratified by district, schools as PSUs; district 413 has one school
lonely <- apiclus1
lonely$fpc_l <- ave(rep(1, nrow(lonely)), lonely$dnum, FUN = sum) * 3
lonely$fpc_l[lonely$dnum == 413] <- 1   # certainty stratum in the fpc variant
lonely$fpc_l[lonely$dnum == 406] <- 2   # two-school stratum fully sampled

designs <- list(
  srs = function() svydesign(id = ~1, fpc = ~fpc, data = apisrs),
  strat = function() svydesign(id = ~1, strata = ~stype, weights = ~pw, fpc = ~fpc, data = apistrat),
  clus1 = function() svydesign(id = ~dnum, weights = ~pw, fpc = ~fpc, data = apiclus1),
  clus2 = function() svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2),
  clus2w = function() svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2),
  lonely = function() svydesign(id = ~1, strata = ~dnum, weights = ~pw, data = lonely),
  lonely_fpc = function() svydesign(id = ~1, strata = ~dnum, weights = ~pw, fpc = ~fpc_l, data = lonely)
)

out <- list(
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  cases = list()
)
add <- function(case) out$cases[[length(out$cases) + 1]] <<- case

num <- function(x) as.numeric(unname(x))

stat_case <- function(dname, lonely, stat, vars, m, md_wr, den = NULL, extra = list()) {
  c(list(design = dname, lonely_psu = lonely, statistic = stat, variables = vars,
         denominator = den,
         estimate = num(coef(m)), se = num(SE(m)),
         deff = num(deff(m)), deff_wr = num(deff(md_wr))), extra)
}

run_design <- function(dname, lonely) {
  options(survey.lonely.psu = lonely)
  des <- designs[[dname]]()
  add(list(design = dname, lonely_psu = lonely, statistic = "degf", value = degf(des)))
  # means and totals: one variable per call with na.rm=TRUE (apiclus2$enroll has NAs)
  pv <- function(FUN, vars, ...) {
    res <- lapply(vars, function(v) FUN(as.formula(paste0("~", v)), des, na.rm = TRUE, ...))
    res
  }
  for (s in c("mean", "total")) {
    FUN <- if (s == "mean") svymean else svytotal
    vars <- if (s == "mean") c("api00", "enroll") else c("enroll", "api.stu")
    a <- pv(FUN, vars, deff = TRUE); ar <- pv(FUN, vars, deff = "replace")
    case <- list(design = dname, lonely_psu = lonely, statistic = s, variables = vars,
                 estimate = sapply(a, function(m) num(coef(m))),
                 se = sapply(a, function(m) num(SE(m))),
                 deff = sapply(a, function(m) num(deff(m))),
                 deff_wr = sapply(ar, function(m) num(deff(m))),
                 ci_df_inf = as.vector(t(sapply(a, function(m) num(confint(m)))))[c(1, 3, 2, 4)],
                 ci_df_degf = as.vector(t(sapply(a, function(m) num(confint(m, df = degf(des))))))[c(1, 3, 2, 4)])
    joint <- FUN(as.formula(paste0("~", paste(vars, collapse = "+"))), des)
    case$vcov <- num(vcov(joint))  # NA when a variable has missing values
    add(case)
  }
  r <- svyratio(~api.stu, ~enroll, des, deff = TRUE, na.rm = TRUE)
  rr <- svyratio(~api.stu, ~enroll, des, deff = "replace", na.rm = TRUE)
  add(list(design = dname, lonely_psu = lonely, statistic = "ratio", variables = "api.stu",
           denominator = "enroll", estimate = num(coef(r)), se = num(SE(r)),
           deff = num(attr(r, "deff")), deff_wr = num(attr(rr, "deff"))))
  # proportions of a factor
  p <- svymean(~stype, des, deff = TRUE)
  pr <- svymean(~stype, des, deff = "replace")
  add(stat_case(dname, lonely, "proportion", "stype", p, pr,
                extra = list(categories = sub("^stype", "", names(coef(p))))))
  # domains
  for (s in c("mean", "total")) {
    FUN <- if (s == "mean") svymean else svytotal
    bs <- lapply(c("api00", "enroll"), function(v)
      svyby(as.formula(paste0("~", v)), ~stype, des, FUN, deff = TRUE, na.rm = TRUE))
    brs <- lapply(c("api00", "enroll"), function(v)
      svyby(as.formula(paste0("~", v)), ~stype, des, FUN, deff = "replace", na.rm = TRUE))
    b <- svyby(~api00 + enroll, ~stype, des, FUN, covmat = TRUE)
    add(list(design = dname, lonely_psu = lonely, statistic = s, by = "stype",
             variables = c("api00", "enroll"), domains = as.character(bs[[1]]$stype),
             estimate = num(t(sapply(bs, coef))),
             se = num(t(sapply(bs, function(x) num(SE(x))))),
             deff = num(t(sapply(bs, function(x) num(x[, ncol(x)])))),
             deff_wr = num(t(sapply(brs, function(x) num(x[, ncol(x)])))),
             vcov = num(vcov(b)),
             order = "domain-major (domain, variable)",
             degf = sapply(as.character(b$stype), function(v) degf(subset(des, stype == v)))))
  }
  b <- svyby(~api.stu, ~stype, des, svyratio, denominator = ~enroll, deff = TRUE, na.rm = TRUE)
  br <- svyby(~api.stu, ~stype, des, svyratio, denominator = ~enroll, deff = "replace",
              na.rm = TRUE)
  add(list(design = dname, lonely_psu = lonely, statistic = "ratio", by = "stype",
           variables = "api.stu", denominator = "enroll", domains = as.character(b$stype),
           estimate = num(coef(b)), se = num(as.matrix(SE(b))), deff = num(b$DEff),
           deff_wr = num(br$DEff)))
  # crossed domains
  b <- svyby(~api00, ~stype + both, des, svymean, deff = TRUE)
  add(list(design = dname, lonely_psu = lonely, statistic = "mean", by = c("stype", "both"),
           variables = "api00", domains = paste(b$stype, b$both, sep = "|"),
           estimate = num(coef(b)), se = num(as.matrix(SE(b))), deff = num(b$DEff.api00)))
  # proportions with intervals (svyciprop); by domain through svyby
  for (v in c("sch_yes", "awards_yes", "ell0")) {
    for (meth in c("mean", "logit", "xlogit", "asin", "beta", "likelihood")) {
      for (lev in c(0.95, 0.9)) {
        f <- as.formula(paste0("~", v))
        ci <- tryCatch(svyciprop(f, des, method = meth, level = lev), error = function(e) NULL)
        if (is.null(ci)) next
        add(list(design = dname, lonely_psu = lonely, statistic = "ciprop", variables = v,
                 method = meth, level = lev, estimate = num(coef(ci)),
                 se = num(sqrt(vcov(ci))), ci = num(confint(ci)), df = degf(des),
                 n = nrow(des)))
        b <- tryCatch(svyby(f, ~stype, des, svyciprop, method = meth, level = lev,
                            vartype = "ci"), error = function(e) NULL)
        if (!is.null(b)) {
          add(list(design = dname, lonely_psu = lonely, statistic = "ciprop", by = "stype",
                   variables = v, method = meth, level = lev, domains = as.character(b$stype),
                   estimate = num(coef(b)), ci_lower = num(b$ci_l), ci_upper = num(b$ci_u),
                   df = sapply(as.character(b$stype), function(s) degf(subset(des, stype == s))),
                   n = sapply(as.character(b$stype), function(s) nrow(subset(des, stype == s)))))
        }
      }
    }
    # Wilson (R >= 4.5 formula), computed here by hand from svymean and degf
    for (lev in c(0.95, 0.9)) {
      m <- svymean(as.formula(paste0("~", v)), des)
      p <- num(coef(m)); vv <- num(vcov(m)); d <- degf(des)
      ne <- p * (1 - p) / vv
      tq <- qt(1 - (1 - lev) / 2, d)
      lo <- (p + tq^2 / (2 * ne) - (tq / (2 * ne)) * sqrt(4 * ne * p * (1 - p) + tq^2)) / (1 + tq^2 / ne)
      hi <- (p + tq^2 / (2 * ne) + (tq / (2 * ne)) * sqrt(4 * ne * p * (1 - p) + tq^2)) / (1 + tq^2 / ne)
      add(list(design = dname, lonely_psu = lonely, statistic = "ciprop", variables = v,
               method = "wilson", level = lev, estimate = p, se = sqrt(vv), ci = c(lo, hi),
               df = d, n = nrow(des)))
    }
  }
  # proportion of the 0/1 variables with deff (domain)
  b <- svyby(~sch_yes + ell0, ~stype, des, svymean, deff = TRUE)
  br <- svyby(~sch_yes + ell0, ~stype, des, svymean, deff = "replace")
  add(list(design = dname, lonely_psu = lonely, statistic = "proportion", by = "stype",
           variables = c("sch_yes", "ell0"), domains = as.character(b$stype),
           estimate = num(t(matrix(coef(b), ncol = 2))), se = num(t(as.matrix(SE(b)))),
           deff = num(t(as.matrix(b[, c("DEff.sch_yes", "DEff.ell0")]))),
           deff_wr = num(t(as.matrix(br[, c("DEff.sch_yes", "DEff.ell0")])))))
}

for (dn in c("srs", "strat", "clus1", "clus2", "clus2w")) run_design(dn, "fail")

# likelihood intervals without R's approximations: svyciprop(method="likelihood") fits
# svyglm by IRLS (epsilon 1e-8) and interpolates a spline through a profile grid of step
# del = zmax/5 standard errors. Here: IRLS to 1e-14 and a grid step of 0.002 SE.
options(survey.lonely.psu = "fail")
lik_fine <- function(v, des, level) {
  m <- svyglm(as.formula(paste(v, "~1")), des, family = quasibinomial,
              control = glm.control(epsilon = 1e-14, maxit = 100))
  num(plogis(confint(m, 1, level = level, method = "likelihood", ddf = degf(des),
                     del = 0.002, maxsteps = 20000)))
}
for (dn in c("srs", "strat", "clus1", "clus2")) {
  des <- designs[[dn]]()
  for (v in c("sch_yes", "ell0")) {
    add(list(design = dn, lonely_psu = "fail", statistic = "likelihood_fine", variables = v,
             level = 0.95, ci = lik_fine(v, des, 0.95)))
  }
  for (s in c("E", "M")) {
    add(list(design = dn, lonely_psu = "fail", statistic = "likelihood_fine", variables = "sch_yes",
             by = "stype", domain = s, level = 0.9,
             ci = lik_fine("sch_yes", subset(des, stype == s), 0.9)))
  }
}
for (lp in c("remove", "certainty", "adjust", "average")) {
  run_design("lonely", lp)
  run_design("lonely_fpc", lp)
}
# "fail" must error on the lonely design
options(survey.lonely.psu = "fail")
err <- tryCatch({ svymean(~api00, designs$lonely()); "no error" },
                error = function(e) conditionMessage(e))
add(list(design = "lonely", lonely_psu = "fail", statistic = "error", message = err))

# the bundled sample survey: prevalence of the true forced-labour status by sex x region
sample_file <- file.path("..", "..", "data", "sample", "fl_survey.csv")
if (file.exists(sample_file)) {
  options(survey.lonely.psu = "fail")
  fl <- read.csv(sample_file)
  truth <- read.csv(file.path("..", "..", "data", "sample", "truth_respondents.csv"))
  fl <- merge(fl, truth[, c("pid", "fl_true")], by = "pid", sort = FALSE)
  fl <- fl[order(fl$pid), ]
  sdesigns <- list(
    sample = svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = fl),
    sample_fpc = svydesign(id = ~psu, strata = ~stratum, weights = ~w_final,
                           fpc = ~n_psu_stratum, data = fl)
  )
  for (dn in names(sdesigns)) {
    des <- sdesigns[[dn]]
    add(list(design = dn, lonely_psu = "fail", statistic = "degf", value = degf(des)))
    b <- svyby(~fl_true, ~sex + region, des, svymean, deff = TRUE)
    br <- svyby(~fl_true, ~sex + region, des, svymean, deff = "replace")
    keys <- paste(b$sex, b$region, sep = "|")
    dfs <- mapply(function(s, r) degf(subset(des, sex == s & region == r)), b$sex, b$region)
    ns <- mapply(function(s, r) nrow(subset(des, sex == s & region == r)), b$sex, b$region)
    case <- list(design = dn, lonely_psu = "fail", statistic = "sample_prevalence",
                 variables = "fl_true", by = c("sex", "region"), domains = keys,
                 estimate = num(coef(b)), se = num(SE(b)), deff = num(b$DEff.fl_true),
                 deff_wr = num(br$DEff.fl_true), df = num(dfs), n = num(ns))
    for (meth in c("beta", "xlogit")) {
      bc <- svyby(~fl_true, ~sex + region, des, svyciprop, method = meth, vartype = "ci")
      case[[paste0("ci_lower_", meth)]] <- num(bc$ci_l)
      case[[paste0("ci_upper_", meth)]] <- num(bc$ci_u)
    }
    m <- svyciprop(~fl_true, des, method = "beta")
    case$overall <- list(estimate = num(coef(m)), se = num(SE(m)), ci = num(confint(m)),
                         df = degf(des), n = nrow(des))
    add(case)
  }
}

# post-stratification of apiclus1 (calibration residualiser test)
options(survey.lonely.psu = "fail")
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
dps <- postStratify(dclus1, ~stype, pop.types)
m <- svymean(~api00, dps); t <- svytotal(~enroll, dps)
bm <- svyby(~api00, ~awards, dps, svymean)
add(list(design = "clus1_poststrat", lonely_psu = "fail", statistic = "poststrat",
         mean_api00 = num(coef(m)), se_mean_api00 = num(SE(m)),
         total_enroll = num(coef(t)), se_total_enroll = num(SE(t)),
         by_awards = as.character(bm$awards), by_mean_api00 = num(coef(bm)), by_se = num(SE(bm)),
         weights = num(weights(dps))))

write(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
      "reference_design.json")
cat("cases:", length(out$cases), "\n")
