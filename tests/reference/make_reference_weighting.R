# Reference values for flestimate's weighting module (tests/weighting/).
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_weighting.R
# Writes tests/reference/weighting_apiclus1.json. Needs R survey (4.1.1 used) and jsonlite.
#
# Design: apiclus1 (R survey's one-stage cluster sample of California school districts),
# dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc), and its
# JK1 replicate version as.svrepdesign(dclus1). For every weighting case the file holds the
# final weights, (for JK1) the final replicate analysis weights, and svymean(~api00),
# svytotal(~enroll) and svytotal(~stype) with their SEs.
suppressMessages({
  library(survey)
  library(jsonlite)
})
data(api)

dat <- apiclus1
# A deterministic response indicator for the nonresponse adjustment case.
dat$responded <- as.integer(dat$snum %% 4 != 0)
dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = dat, fpc = ~fpc)
rclus1 <- as.svrepdesign(dclus1)  # JK1, 15 replicates

pop_stype <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop_schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
pop_cross <- as.data.frame(table(stype = apipop$stype, sch.wide = apipop$sch.wide))
pop_cal <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, api99 = 3914069)
pop_cal_stype <- c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018)

stats <- function(des) {
  m <- svymean(~api00, des)
  t1 <- svytotal(~enroll, des)
  t2 <- svytotal(~stype, des)
  list(
    mean_api00 = list(estimate = unname(coef(m)), se = unname(SE(m))),
    total_enroll = list(estimate = unname(coef(t1)), se = unname(SE(t1))),
    total_stype = list(levels = c("E", "H", "M"), estimate = unname(coef(t2)),
                       se = unname(SE(t2)))
  )
}

case <- function(des, call, note = NULL) {
  out <- list(call = call, weights = unname(as.vector(weights(des, "sampling"))))
  if (inherits(des, "svyrep.design")) {
    out$repweights <- unname(as.matrix(weights(des, "analysis")))
  }
  out <- c(out, stats(des))
  if (!is.null(note)) out$note <- note
  out
}

# trimWeights(strict = TRUE) rule applied to one weight vector (used for replicate columns,
# because trimWeights.svyrep.design in survey 4.1.1 does not update the replicate weights).
# Units with weight 0 (outside a JK1 replicate) are left at 0: trimWeights would lift them
# to `lower`, bringing a deleted PSU back into its replicate.
trim_strict <- function(w, lower, upper) {
  pos <- w > 0
  repeat {
    outside <- pos & (w < lower | w > upper)
    if (!any(outside)) return(w)
    wnew <- w
    wnew[pos] <- pmax(lower, pmin(w[pos], upper))
    trimmings <- w - wnew
    inside <- pos & !outside
    wnew[inside] <- wnew[inside] + sum(trimmings) / sum(inside)
    w <- wnew
  }
}

cases <- list()

# ---- Taylor (dclus1) ----
cases$ps_stype <- case(postStratify(dclus1, ~stype, pop_stype),
  "postStratify(dclus1, ~stype, pop_stype)")
cases$ps_cross <- case(postStratify(dclus1, ~stype + sch.wide, pop_cross),
  "postStratify(dclus1, ~stype + sch.wide, pop_cross)")
cases$rake_conv <- case(
  rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),
       control = list(maxit = 100, epsilon = 1e-10)),
  "rake(dclus1, list(~stype, ~sch.wide), ..., control = list(maxit = 100, epsilon = 1e-10))")
cases$rake_default <- case(
  suppressWarnings(rake(dclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide))),
  "rake(dclus1, list(~stype, ~sch.wide), ...) with R's default control (maxit 10, epsilon 1)")
cases$rake_one <- case(
  rake(dclus1, list(~stype), list(pop_stype), control = list(maxit = 100, epsilon = 1e-10)),
  "rake(dclus1, list(~stype), list(pop_stype), control = list(maxit = 100, epsilon = 1e-10))")
cases$cal_linear <- case(calibrate(dclus1, ~stype + api99, pop_cal),
  "calibrate(dclus1, ~stype + api99, pop_cal)")
cases$cal_linear_stype <- case(calibrate(dclus1, ~stype, pop_cal_stype),
  "calibrate(dclus1, ~stype, pop_cal_stype)")
cases$cal_raking <- case(calibrate(dclus1, ~stype + api99, pop_cal, calfun = "raking"),
  "calibrate(dclus1, ~stype + api99, pop_cal, calfun = 'raking')")
cases$cal_logit <- case(
  calibrate(dclus1, ~stype + api99, pop_cal, calfun = "logit", bounds = c(0.5, 1.7)),
  "calibrate(dclus1, ~stype + api99, pop_cal, calfun = 'logit', bounds = c(0.5, 1.7))")
cases$cal_linear_bounded <- case(
  calibrate(dclus1, ~stype + api99, pop_cal, calfun = "linear", bounds = c(0.6, 1.6)),
  "calibrate(dclus1, ~stype + api99, pop_cal, calfun = 'linear', bounds = c(0.6, 1.6))")
cal_rk <- calibrate(dclus1, ~stype + api99, pop_cal, calfun = "raking")
cases$trim <- case(trimWeights(cal_rk, lower = 22, upper = 50, strict = TRUE),
  "trimWeights(calibrate(dclus1, ~stype + api99, pop_cal, calfun = 'raking'), lower = 22, upper = 50, strict = TRUE)")
# A chain of two steps. svyrecvar residualises in the order the steps were added;
# flestimate applies the chain rule (last step first), so only the weights and the
# estimates of this case are compared with R; its SEs document R's order.
cases$chain_ps_cal <- case(
  calibrate(postStratify(dclus1, ~stype, pop_stype), ~sch.wide + api99,
            c(`(Intercept)` = 6194, sch.wideYes = 5122, api99 = 3914069)),
  "calibrate(postStratify(dclus1, ~stype, pop_stype), ~sch.wide + api99, c(6194, 5122, 3914069))")

# Nonresponse (weighting classes = sch.wide): w_adj = w * T_c / R_c for respondents, 0 otherwise,
# with T_c the weighted count of the sampled units of class c and R_c that of its respondents.
# Taylor reference: the delta method (svycontrast) on svytotal of the class-level totals of
# the full sample, i.e. an independent route to the linearised variance.
cls <- levels(factor(dat$sch.wide))
for (k in seq_along(cls)) {
  ind <- as.integer(dat$sch.wide == cls[k])
  dat[[paste0("T", k)]] <- ind
  dat[[paste0("R", k)]] <- ind * dat$responded
  dat[[paste0("A", k)]] <- ind * dat$responded * dat$api00
  dat[[paste0("N", k)]] <- ind * dat$responded * dat$enroll
  for (s in c("E", "H", "M")) {
    dat[[paste0("S", s, k)]] <- ind * dat$responded * (dat$stype == s)
  }
}
dfull <- svydesign(id = ~dnum, weights = ~pw, data = dat, fpc = ~fpc)
tot <- svytotal(~T1 + T2 + R1 + R2 + A1 + A2 + N1 + N2 + SE1 + SE2 + SH1 + SH2 + SM1 + SM2, dfull)
lin <- svycontrast(tot, list(
  mean_api00 = quote((T1 * A1 / R1 + T2 * A2 / R2) / (T1 + T2)),
  total_enroll = quote(T1 * N1 / R1 + T2 * N2 / R2),
  E = quote(T1 * SE1 / R1 + T2 * SE2 / R2),
  H = quote(T1 * SH1 / R1 + T2 * SH2 / R2),
  M = quote(T1 * SM1 / R1 + T2 * SM2 / R2)))
lin_se <- sqrt(diag(attr(lin, "var")))
wcls <- rowsum(dat$pw, dat$sch.wide)[, 1]
rcls <- rowsum(dat$pw * dat$responded, dat$sch.wide)[, 1]
w_nr <- dat$pw * dat$responded * (wcls / rcls)[as.character(dat$sch.wide)]
cases$nonresponse <- list(
  call = "weighting classes sch.wide, responded = snum %% 4 != 0; SEs by svycontrast (delta method)",
  weights = unname(w_nr),
  mean_api00 = list(estimate = unname(coef(lin)[1]), se = unname(lin_se[1])),
  total_enroll = list(estimate = unname(coef(lin)[2]), se = unname(lin_se[2])),
  total_stype = list(levels = c("E", "H", "M"), estimate = unname(coef(lin)[3:5]),
                     se = unname(lin_se[3:5])))

# ---- JK1 (as.svrepdesign(dclus1)) ----
jk <- list()
jk$ps_stype <- case(postStratify(rclus1, ~stype, pop_stype),
  "postStratify(rclus1, ~stype, pop_stype)")
jk$ps_cross <- case(postStratify(rclus1, ~stype + sch.wide, pop_cross),
  "postStratify(rclus1, ~stype + sch.wide, pop_cross)")
jk$rake_conv <- case(
  rake(rclus1, list(~stype, ~sch.wide), list(pop_stype, pop_schwide),
       control = list(maxit = 100, epsilon = 1e-10)),
  "rake(rclus1, list(~stype, ~sch.wide), ..., control = list(maxit = 100, epsilon = 1e-10))")
jk$cal_linear <- case(calibrate(rclus1, ~stype + api99, pop_cal),
  "calibrate(rclus1, ~stype + api99, pop_cal)")
jk$cal_linear_stype <- case(calibrate(rclus1, ~stype, pop_cal_stype),
  "calibrate(rclus1, ~stype, pop_cal_stype)")
jk$cal_raking <- case(calibrate(rclus1, ~stype + api99, pop_cal, calfun = "raking"),
  "calibrate(rclus1, ~stype + api99, pop_cal, calfun = 'raking')")
jk$cal_raking_stype <- case(
  calibrate(rclus1, ~stype, pop_cal_stype, calfun = "raking"),
  "calibrate(rclus1, ~stype, pop_cal_stype, calfun = 'raking')")
# (wider bounds than for dclus1: some JK1 replicates cannot meet c(0.6, 1.6))
jk$cal_logit <- case(
  calibrate(rclus1, ~stype + api99, pop_cal, calfun = "logit", bounds = c(0.45, 3)),
  "calibrate(rclus1, ~stype + api99, pop_cal, calfun = 'logit', bounds = c(0.45, 3))")
jk$cal_linear_bounded <- case(
  calibrate(rclus1, ~stype + api99, pop_cal, calfun = "linear", bounds = c(0.45, 3)),
  "calibrate(rclus1, ~stype + api99, pop_cal, calfun = 'linear', bounds = c(0.45, 3))")

repw <- weights(rclus1, "analysis")
make_rep <- function(w, rw) {
  svrepdesign(data = dat, repweights = rw, weights = w, type = "JK1",
              scale = rclus1$scale, rscales = rclus1$rscales, combined.weights = TRUE)
}
# nonresponse, each replicate re-adjusted within the classes
rw_nr <- repw
for (r in seq_len(ncol(repw))) {
  wc <- rowsum(repw[, r], dat$sch.wide)[, 1]
  rc <- rowsum(repw[, r] * dat$responded, dat$sch.wide)[, 1]
  rw_nr[, r] <- repw[, r] * dat$responded * (wc / rc)[as.character(dat$sch.wide)]
}
jk$nonresponse <- case(make_rep(w_nr, rw_nr),
  "nonresponse classes sch.wide, each JK1 replicate re-adjusted (loop in this script)")
# trimming of the raking-calibrated replicate design, trimWeights(strict = TRUE) rule per column
rk <- calibrate(rclus1, ~stype + api99, pop_cal, calfun = "raking")
rw_rk <- weights(rk, "analysis")
rw_tr <- apply(rw_rk, 2, trim_strict, lower = 22, upper = 50)
jk$trim <- case(make_rep(trim_strict(weights(rk, "sampling"), 22, 50), rw_tr),
  "trim_strict(lower = 22, upper = 50) of calibrate(rclus1, ..., calfun = 'raking'), every replicate column")

out <- list(
  meta = list(
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    script = "tests/reference/make_reference_weighting.R",
    design = "svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc); JK1 = as.svrepdesign(dclus1)",
    jk1_scale = rclus1$scale,
    jk1_rscales = rclus1$rscales
  ),
  data = list(
    snum = dat$snum, dnum = dat$dnum, pw = dat$pw, fpc = dat$fpc,
    stype = as.character(dat$stype), sch_wide = as.character(dat$sch.wide),
    api99 = dat$api99, api00 = dat$api00, enroll = dat$enroll, responded = dat$responded
  ),
  jk1_repweights = unname(repw),
  population = list(
    stype = list(E = 4421, H = 755, M = 1018),
    sch_wide = list(No = 1072, Yes = 5122),
    cross = list(stype = as.character(pop_cross$stype),
                 sch_wide = as.character(pop_cross$sch.wide), count = pop_cross$Freq),
    api99 = 3914069
  ),
  taylor = cases,
  jk1 = jk
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           "tests/reference/weighting_apiclus1.json")

# ---- the bundled sample survey (data/sample/fl_survey.csv, margins.csv) ----
# Stratified two-stage design with unequal weights: raking, calibration and
# post-stratification to the population margins region x sex x age_group.
fl <- read.csv("data/sample/fl_survey.csv")
fl$worked1 <- as.integer(fl$worked == 1)
mg <- read.csv("data/sample/margins.csv")
dfl <- svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = fl, nest = TRUE)
marg <- function(v) {
  t <- aggregate(mg$count, list(mg[[v]]), sum)
  names(t) <- c(v, "Freq")
  t
}
fl_stats <- function(des) {
  m <- svymean(~age, des)
  t1 <- svytotal(~worked1, des)
  list(
    mean_age = list(estimate = unname(coef(m)), se = unname(SE(m))),
    total_worked = list(estimate = unname(coef(t1)), se = unname(SE(t1)))
  )
}
fl_case <- function(des, call) {
  c(list(call = call, weights = unname(as.vector(weights(des)))), fl_stats(des))
}
flc <- list()
flc$rake3 <- fl_case(
  rake(dfl, list(~region, ~sex, ~age_group), list(marg("region"), marg("sex"), marg("age_group")),
       control = list(maxit = 100, epsilon = 1e-10)),
  "rake(dfl, list(~region, ~sex, ~age_group), margins, control = list(maxit = 100, epsilon = 1e-10))")
flc$rake_region <- fl_case(
  rake(dfl, list(~region), list(marg("region")), control = list(maxit = 100, epsilon = 1e-10)),
  "rake(dfl, list(~region), list(region margin), control = list(maxit = 100, epsilon = 1e-10))")
flc$ps_region <- fl_case(postStratify(dfl, ~region, marg("region")),
  "postStratify(dfl, ~region, region margin)")
pop_fl <- c(sum(mg$count),
            sapply(2:5, function(k) sum(mg$count[mg$region == k])),
            sum(mg$count[mg$sex == 2]),
            sapply(2:5, function(k) sum(mg$count[mg$age_group == k])))
fl$region_f <- factor(fl$region)
fl$sex_f <- factor(fl$sex)
fl$age_f <- factor(fl$age_group)
dfl2 <- svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = fl, nest = TRUE)
flc$cal_linear3 <- fl_case(calibrate(dfl2, ~region_f + sex_f + age_f, pop_fl),
  "calibrate(dfl, ~factor(region) + factor(sex) + factor(age_group), margin totals)")
flc$cal_raking3 <- fl_case(calibrate(dfl2, ~region_f + sex_f + age_f, pop_fl, calfun = "raking"),
  "calibrate(dfl, ~factor(region) + factor(sex) + factor(age_group), margin totals, calfun = 'raking')")
cross_pop <- mg
names(cross_pop)[names(cross_pop) == "count"] <- "Freq"
flc$ps_cross3 <- fl_case(postStratify(dfl, ~region + sex + age_group, cross_pop),
  "postStratify(dfl, ~region + sex + age_group, margins.csv)")
writeLines(toJSON(list(
  meta = list(r_version = R.version.string,
              survey_version = as.character(packageVersion("survey")),
              script = "tests/reference/make_reference_weighting.R",
              design = "svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = fl_survey.csv, nest = TRUE)"),
  sample = flc), digits = NA, auto_unbox = TRUE),
  "tests/reference/weighting_sample.json")
