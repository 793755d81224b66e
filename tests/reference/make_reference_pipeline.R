# Reference values for tests/run/test_pipeline_reference.py: the estimates that
# `flestimate run` publishes, computed independently by R survey on the bundled
# sample (data/sample/fl_survey.csv joined with the true status fl_true of
# data/sample/truth_respondents.csv, so no classifier is involved).
#
# Reference populations are domains of the full design (subset() of a survey
# design keeps every PSU and stratum), as in flestimate's pipeline.
#
# Run from the repository root:
#   Rscript tests/reference/make_reference_pipeline.R
# Output: tests/reference/reference_pipeline.json
suppressPackageStartupMessages({library(survey); library(jsonlite)})

svy <- read.csv("data/sample/fl_survey.csv")
truth <- read.csv("data/sample/truth_respondents.csv")
d <- merge(svy, truth[, c("pid", "fl_true")], by = "pid")
d <- d[order(d$pid), ]
share <- ifelse(is.na(d$dur_months), 1, pmin(pmax(d$dur_months, 0), 12) / 12)
d$fl_stock <- d$fl_true * share
d$adult <- as.integer(d$age >= 18)
d$worker <- as.integer(d$worked == 1)

des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w_final, data = d)

prev <- function(design) {
  # Korn-Graubard ("beta") interval, per 1,000
  p <- svyciprop(~fl_true, design, method = "beta", level = 0.95)
  ci <- attr(p, "ci")
  list(estimate = 1000 * as.numeric(coef(p)), se = 1000 * as.numeric(SE(p)),
       ci_lower = 1000 * as.numeric(ci[1]), ci_upper = 1000 * as.numeric(ci[2]),
       df = degf(design), n_unweighted = nrow(design))
}
tot <- function(design, var) {
  t <- svytotal(as.formula(paste0("~", var)), design)
  ci <- confint(t, df = degf(design), level = 0.95)
  list(estimate = as.numeric(coef(t)), se = as.numeric(SE(t)),
       ci_lower = as.numeric(ci[1]), ci_upper = as.numeric(ci[2]), df = degf(design),
       n_unweighted = nrow(design))
}
both <- function(design) {
  list(prevalence = prev(design), total = tot(design, "fl_true"),
       stock = tot(design, "fl_stock"))
}

out <- list(
  provenance = list(
    r_version = R.version.string,
    survey_version = as.character(packageVersion("survey")),
    script = "tests/reference/make_reference_pipeline.R",
    data = "data/sample/fl_survey.csv + truth_respondents.csv (fl_true)",
    design = "svydesign(ids=~psu, strata=~stratum, weights=~w_final)",
    lonely_psu = getOption("survey.lonely.psu")
  ),
  national = both(des),
  adults = both(subset(des, adult == 1)),
  workers = both(subset(des, worker == 1)),
  by_sex = list(),
  by_region_adults = list()
)
for (s in sort(unique(d$sex))) {
  out$by_sex[[as.character(s)]] <- both(subset(des, sex == s))
}
for (r in sort(unique(d$region))) {
  out$by_region_adults[[as.character(r)]] <- both(subset(des, adult == 1 & region == r))
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/reference_pipeline.json")
