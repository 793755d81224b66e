# Reference values for the committed sample survey (tests/simulation/test_simulate.py).
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_simulate.R
# Writes tests/reference/simulate_sample.json. Needs R survey (4.1.1 used) and jsonlite.
#
# Design of data/sample (see its README.md): strata `stratum`, PSUs `psu` (with-replacement
# approximation, no fpc), weights `w_final`. Variable: the true forced-labour status `fl_true`
# of each respondent (data/sample/truth_respondents.csv). The file holds the design-based
# prevalence, its SE and its design effects (deff = TRUE, and deff = "replace" = without the
# (1 - n/N) factor), and the estimated population total with its SE.
suppressMessages({
  library(survey)
  library(jsonlite)
})

dat <- read.csv("data/sample/fl_survey.csv", na.strings = "")
truth <- read.csv("data/sample/truth_respondents.csv")
stopifnot(identical(dat$pid, truth$pid))
dat$fl_true <- truth$fl_true
dat$one <- 1

des <- svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = dat, nest = TRUE)
m <- svymean(~fl_true, des, deff = TRUE)
m_rep <- svymean(~fl_true, des, deff = "replace")
tot <- svytotal(~one, des)
base <- svydesign(id = ~psu, strata = ~stratum, weights = ~w_base, data = dat, nest = TRUE)
tot_base <- svytotal(~one, base)

out <- list(
  meta = list(
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    script = "tests/reference/make_reference_simulate.R",
    design = "svydesign(id = ~psu, strata = ~stratum, weights = ~w_final, data = fl_survey.csv, nest = TRUE)"
  ),
  n = nrow(dat),
  prevalence = unname(coef(m)[1]),
  se = unname(SE(m)[1]),
  deff = unname(deff(m)[1]),
  deff_replace = unname(deff(m_rep)[1]),
  total_w_final = unname(coef(tot)[1]),
  se_total_w_final = unname(SE(tot)[1]),
  total_w_base = unname(coef(tot_base)[1]),
  se_total_w_base = unname(SE(tot_base)[1])
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/simulate_sample.json")
