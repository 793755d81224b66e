# Reference for flestimate.read_survey on the bundled SPSS sample, from an independent
# reader: R's `foreign::read.spss` (its own SPSS parser, not ReadStat).
# Run from the repository root:  Rscript tests/reference/make_reference_io.R
# Writes tests/reference/io_sample_sav_foreign.json.
suppressWarnings(d <- foreign::read.spss(
  "data/sample/fl_survey.sav", use.value.labels = FALSE, to.data.frame = FALSE,
  use.missings = FALSE, reencode = "UTF-8"
))
trim <- function(x) sub("\\s+$", "", x)
cols <- list()
for (name in names(d)) {
  x <- d[[name]]
  if (is.numeric(x)) {
    tab <- table(x, useNA = "no")
    entry <- list(
      type = "numeric",
      n_na = sum(is.na(x)),
      sum = sum(x, na.rm = TRUE),
      sum_sq = sum(x^2, na.rm = TRUE),
      # value counts only for coded variables (few distinct values)
      counts = if (length(tab) <= 30 && all(x == round(x), na.rm = TRUE)) as.list(setNames(as.integer(tab), names(tab))) else NULL
    )
  } else {
    x <- trim(x)
    tab <- table(x[x != ""], useNA = "no")
    entry <- list(type = "string", n_empty = sum(x == ""),
                  counts = as.list(setNames(as.integer(tab), names(tab))))
  }
  vl <- attr(d, "label.table")[[name]]
  if (!is.null(vl)) {
    entry$value_labels <- as.list(setNames(names(vl), trim(unname(vl))))
  }
  m <- attr(d, "missings")[[name]]
  entry$missing_type <- m$type
  if (!is.null(m$value)) entry$missing_values <- m$value
  entry$label <- unname(attr(d, "variable.labels")[name])
  cols[[name]] <- entry
}
out <- list(
  source = "data/sample/fl_survey.sav",
  reader = "foreign::read.spss(use.value.labels = FALSE, use.missings = FALSE)",
  R_version = R.version.string,
  foreign_version = as.character(packageVersion("foreign")),
  rows = length(d[[1]]),
  columns = cols
)
writeLines(
  jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null"),
  "tests/reference/io_sample_sav_foreign.json"
)
