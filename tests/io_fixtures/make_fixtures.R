# Writes tests/io_fixtures/survey.sas7bdat, the SAS fixture of tests/io/test_readers.py
# (pyreadstat cannot write sas7bdat). Run from the repository root:
#   Rscript tests/io_fixtures/make_fixtures.R
# Written with haven (R 4.2, haven 2.5.1). 12 rows; p1 row 11 is the SAS special missing .A.
library(haven)
d <- data.frame(
  sex = c(1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2),
  p1 = c(1, 2, 8, 9, NA, 2, 2, 1, 2, 2, tagged_na("A"), 2),
  sector = c("A", "", "C", "A", "B", "", "C", "C", "A", "B", "A", ""),
  w = c(1.5, 2.25, 3, 4.125, 5, 6.5, 7, 8.75, 9, 10.5, 11, 12.25),
  stringsAsFactors = FALSE
)
attr(d$sex, "label") <- "Sex"
attr(d$p1, "label") <- "P1: Threats or violence"
attr(d$sector, "label") <- "Economic activity"
attr(d$w, "label") <- "Final weight"
suppressWarnings(write_sas(d, "tests/io_fixtures/survey.sas7bdat"))
