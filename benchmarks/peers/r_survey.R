# R survey workloads for the flestimate benchmark (benchmarks/run.py starts one process per run).
#
# Usage: Rscript r_survey.R <workload> <data folder> <output.json> <seed>
#
# Each workload times its steps (load, design, estimate) and writes the estimates as JSON:
# {"status": "ok", "steps": {...}, "results": {key: {estimate, se, ci_lower, ci_upper, deff}}}.
# Keys are the same in every system (see benchmarks/README.md).
suppressPackageStartupMessages({
  library(survey)
  library(data.table)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
workload <- args[1]
folder <- args[2]
out_path <- args[3]
seed <- as.integer(args[4])

INDICATORS <- c(paste0("b_ur_i", 1:6), paste0("b_wd_i", 1:10), paste0("b_il_i", 1:4))
steps <- list()
results <- list()
tick <- function() as.numeric(proc.time()[["elapsed"]])
t0 <- tick()
mark <- function(name) {
  now <- tick()
  steps[[name]] <<- now - t0
  t0 <<- now
}
num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)[1]
put <- function(key, estimate, se = NA, lo = NA, hi = NA, deff = NA) {
  results[[key]] <<- list(estimate = num(estimate), se = num(se), ci_lower = num(lo),
                          ci_upper = num(hi), deff = num(deff))
}
read_data <- function(name) {
  df <- fread(file.path(folder, name), data.table = FALSE)
  mark("load")
  df
}
taylor_design <- function(df) {
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w_final, nest = TRUE, data = df)
  mark("design")
  des
}
national <- function(des, key = "fl") {
  # Taylor SE and deff from svymean; Korn-Graubard CI from svyciprop(method = "beta")
  m <- svymean(~fl, des, deff = TRUE)
  ci <- svyciprop(~fl, des, method = "beta")
  lim <- attr(ci, "ci")
  put(key, coef(m), SE(m), lim[1], lim[2], deff(m))
}
replicate_tables <- function(rdes) {
  m <- svymean(~fl, rdes)
  df_rep <- degf(rdes)
  lim <- confint(m, df = df_rep)
  put("fl", coef(m), SE(m), lim[1], lim[2])
  by <- svyby(~fl, ~sex + region, rdes, svymean)
  lim <- confint(by, df = df_rep)
  for (i in seq_len(nrow(by))) {
    put(sprintf("fl|%d|%d", by$sex[i], by$region[i]), coef(by)[i], SE(by)[i], lim[i, 1], lim[i, 2])
  }
}

if (workload == "w1_national") {
  df <- read_data("base.csv")
  des <- taylor_design(df)
  national(des)
  mark("estimate")
} else if (workload == "w2_domains") {
  df <- read_data("base.csv")
  des <- taylor_design(df)
  by <- ~sex + region + age_group
  # deff of every cell: one svyby over the 20 indicators
  means <- svyby(as.formula(paste("~", paste(INDICATORS, collapse = "+"))), by, des, svymean,
                 deff = TRUE, keep.var = TRUE)
  deffs <- deff(means)
  for (ind in INDICATORS) {
    # SE and Korn-Graubard CI of every cell: svyby(svyciprop, method = "beta"), one per indicator
    r <- svyby(as.formula(paste0("~", ind)), by, des, svyciprop, method = "beta",
               vartype = c("se", "ci"))
    est <- coef(r)
    se <- SE(r)
    lo <- r[["ci_l"]]
    hi <- r[["ci_u"]]
    keys <- sprintf("%s|%d|%d|%d", ind, r$sex, r$region, r$age_group)
    d <- deffs[rownames(r), paste0("DEff.", ind)]
    for (i in seq_along(keys)) put(keys[i], est[i], se[i], lo[i], hi[i], d[i])
  }
  mark("estimate")
} else if (workload == "w3_total") {
  df <- read_data("base.csv")
  des <- taylor_design(df)
  t <- svytotal(~fl, des, deff = TRUE)
  lim <- confint(t, df = degf(des))
  put("fl_total", coef(t), SE(t), lim[1], lim[2], deff(t))
  mark("estimate")
} else if (workload %in% c("w4_bootstrap", "w4_jackknife")) {
  df <- read_data("base.csv")
  des <- taylor_design(df)
  set.seed(seed)
  if (workload == "w4_bootstrap") {
    rdes <- as.svrepdesign(des, type = "bootstrap", replicates = 80)
  } else {
    rdes <- as.svrepdesign(des, type = "JKn")
  }
  replicate_tables(rdes)
  mark("estimate")
} else if (workload == "w5_repweights") {
  df <- read_data("repw.csv")
  reps <- paste0("rw", 1:80)
  rdes <- svrepdesign(data = df, weights = ~w_final, repweights = df[, reps],
                      type = "bootstrap", scale = 1 / 80, rscales = rep(1, 80),
                      combined.weights = TRUE, mse = FALSE)
  mark("design")
  replicate_tables(rdes)
  mark("estimate")
} else if (workload == "w6_rake") {
  df <- read_data("base.csv")
  margins <- read.csv(file.path(folder, "margins.csv"))
  des <- taylor_design(df)
  pop <- lapply(c("region", "sex", "age_group"), function(v) {
    m <- margins[margins$variable == v, c("category", "count")]
    names(m) <- c(v, "Freq")
    m
  })
  raked <- rake(des, list(~region, ~sex, ~age_group), pop,
                control = list(maxit = 100, epsilon = 1e-12, verbose = FALSE))
  national(raked)
  t <- svytotal(~fl, raked)
  lim <- confint(t, df = degf(raked))
  put("fl_total", coef(t), SE(t), lim[1], lim[2])
  mark("estimate")
} else if (workload == "w7_read_sav") {
  df <- haven::read_sav(file.path(folder, "sample.sav"))
  mark("load")
  put("n_rows", nrow(df))
  put("n_columns", ncol(df))
  put("sum_w_final", sum(df$w_final))
} else if (workload == "w8_districts") {
  df <- read_data("base.csv")
  df$district <- df$psu %/% 4  # DISTRICT_PSUS in runner_common.py
  des <- taylor_design(df)
  by <- ~district + sex
  means <- svyby(~fl, by, des, svymean, deff = TRUE, keep.var = TRUE)
  deffs <- deff(means)
  r <- svyby(~fl, by, des, svyciprop, method = "beta", vartype = c("se", "ci"))
  keys <- sprintf("fl|%d|%d", r$district, r$sex)
  d <- deffs[match(rownames(r), rownames(means))]  # deff() of one variable has no names
  for (i in seq_along(keys)) put(keys[i], coef(r)[i], SE(r)[i], r[["ci_l"]][i], r[["ci_u"]][i], d[i])
  mark("estimate")
} else if (workload == "w9_median") {
  df <- read_data("base.csv")
  des <- taylor_design(df)
  r <- svyby(~age, ~sex + region + age_group, des, svyquantile, quantiles = 0.5, ci = TRUE,
             vartype = c("se", "ci"))
  mark("estimate")
  m <- as.matrix(r[, -(1:3)])  # quantile, se, ci_l, ci_u
  keys <- sprintf("median_age|%d|%d|%d", r$sex, r$region, r$age_group)
  for (i in seq_along(keys)) put(keys[i], m[i, 1], m[i, 2], m[i, 3], m[i, 4])
} else if (workload == "w10_chisq") {
  df <- read_data("base.csv")
  df$sector[df$sector == 0] <- NA  # 0: not working, not a sector
  des <- taylor_design(df)
  r <- svychisq(~fl + sector, des)
  mark("estimate")
  put("chisq_F", r$statistic)
  put("chisq_ndf", r$parameter[1])
  put("chisq_ddf", r$parameter[2])
  put("chisq_p", r$p.value)
} else if (workload == "w_glm") {
  df <- read_data("base.csv")
  df$sector[df$sector == 0] <- NA  # not working: out of the fit (svyglm drops NA rows)
  des <- taylor_design(df)
  factors <- c("sex", "age_group", "region", "migrant", "sector")  # GLM_FACTORS
  f <- as.formula(paste("fl ~", paste0("factor(", factors, ")", collapse = " + ")))
  # IRLS stopped as flestimate's default (tol 1e-10; R's default epsilon is 1e-8)
  m <- svyglm(f, des, family = quasibinomial(), deff = TRUE,
              control = glm.control(epsilon = 1e-10))
  ci <- confint(m)  # t quantiles on the residual df, as summary.svyglm
  mark("estimate")
  cf <- coef(m); se <- SE(m); dd <- diag(attr(m, "deff"))
  for (i in seq_along(cf)) {
    nm <- names(cf)[i]
    key <- if (nm == "(Intercept)") "glm|(Intercept)" else
      sub("^factor\\((.*)\\)(.*)$", "glm|\\1|\\2", nm)
    put(key, cf[i], se[i], ci[i, 1], ci[i, 2], dd[i])
  }
} else {
  stop(paste("unknown workload", workload))
}

versions <- list(R = paste(R.version$major, R.version$minor, sep = "."),
                 survey = as.character(packageVersion("survey")),
                 data.table = as.character(packageVersion("data.table")))
write_json(list(status = "ok", steps = steps, results = results, versions = versions),
           out_path, auto_unbox = TRUE, digits = NA, na = "null")
