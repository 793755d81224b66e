"""The report's own specifications: plain frozen dataclasses, no config in sight.

:class:`ReliabilityRules` says when an estimate is flagged or suppressed and
:class:`OutputOptions` which files a run writes. The report reads nothing else of a
run's configuration: :mod:`flestimate.run.config` parses the ``reliability:`` and
``outputs:`` sections of a config file into these objects, and a notebook user builds
them directly (``ReliabilityRules(min_n=50)``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OutputOptions", "ReliabilityRules"]


@dataclass(frozen=True)
class ReliabilityRules:
    """Reliability flags and the suppression rule.

    ``min_n``: an estimate on fewer than ``min_n`` respondents is suppressed.
    ``cv_flag``: a CV above it is flagged "use with caution". ``cv_suppress``:
    a CV above it is suppressed. ``min_df``: fewer design degrees of freedom
    are flagged. ``nchs``: apply the NCHS data presentation standard for
    proportions to prevalences. ``complementary``: in a table with a total,
    one suppressed cell triggers suppression of the next smallest cell.
    """

    min_n: int = 30
    cv_flag: float = 0.3
    cv_suppress: float = 0.5
    min_df: int = 8
    nchs: bool = False
    complementary: bool = True


@dataclass(frozen=True)
class OutputOptions:
    """Which files to write (the manifest is always written)."""

    csv: bool = True
    excel: bool = True
    json: bool = True
    html: bool = True
    plots: bool = True
