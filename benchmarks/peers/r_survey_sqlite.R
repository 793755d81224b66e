# R survey's database-backed replicate design (SQLite through RSQLite) on the large-data
# survey of benchmarks/large_data.py, for the side-by-side of docs/performance.md.
# Usage: Rscript benchmarks/peers/r_survey_sqlite.R <file.sqlite>
suppressPackageStartupMessages({library(survey); library(RSQLite); library(DBI)})
args <- commandArgs(trailingOnly = TRUE)
t0 <- Sys.time()
des <- svrepdesign(data = "survey", dbtype = "SQLite", dbname = args[1],
                   weights = ~w_final, repweights = "rw[0-9]+", type = "bootstrap",
                   scale = 1 / 80, rscales = 1, combined.weights = TRUE)
t1 <- Sys.time()
nat <- svymean(~fl, des)
t2 <- Sys.time()
tab <- svyby(~fl, ~sex + region + age_group, des, svymean)
t3 <- Sys.time()
cat(sprintf("design %.2f s; national %.2f s; table %.2f s; mean %.12g se %.12g; cells %d\n",
            as.numeric(t1 - t0, units = "secs"), as.numeric(t2 - t1, units = "secs"),
            as.numeric(t3 - t2, units = "secs"), coef(nat)[1], SE(nat)[1], nrow(tab)))
cat(sprintf("R %s, survey %s, RSQLite %s\n", getRversion(), packageVersion("survey"),
            packageVersion("RSQLite")))
