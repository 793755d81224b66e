"""Publication layer: tables, disclosure control, plots, CSV/Excel/JSON/HTML writers.

The report layer never sees microdata: it receives estimator results
(:class:`flestimate.EstimateTable` frames) and summaries, and writes them.
"""

from __future__ import annotations

from flestimate.report.disclosure import apply_disclosure_control, nchs_proportion_standard
from flestimate.report.result import PublishedTable, RunResult
from flestimate.report.specs import OutputOptions, ReliabilityRules
from flestimate.report.tables import assemble_table, tidy_rows
from flestimate.report.writers import write_outputs

__all__ = [
    "OutputOptions",
    "PublishedTable",
    "ReliabilityRules",
    "RunResult",
    "apply_disclosure_control",
    "assemble_table",
    "nchs_proportion_standard",
    "tidy_rows",
    "write_outputs",
]
