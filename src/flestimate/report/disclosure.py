"""Reliability flags and statistical disclosure control for published tables.

Every estimate gets a quality grade (``ok``, ``caution`` or ``suppressed``). The
rules are read from :class:`flestimate.report.specs.ReliabilityRules`:

- a domain of a single respondent: always suppressed, whatever ``min_n``;
- unweighted n below ``min_n``: suppressed;
- coefficient of variation above ``cv_suppress``: suppressed; above ``cv_flag``:
  caution;
- design degrees of freedom below ``min_df``: caution;
- no case in the domain (flag ``zero_cases``): caution, never ``ok``;
- optionally the NCHS data presentation standard for proportions (prevalences and
  shares): suppressed when n < 30 or the effective sample size < 30, when the
  absolute CI width exceeds 0.30, or when the relative CI width exceeds 130% with
  an absolute width above 0.05; df < 8 is flagged for review.

Suppression is applied to a whole domain (every statistic of that cell), so a
count cannot be recovered from its prevalence. A suppressed row publishes nothing
computed from the cell's values: its estimate, SE, CI, CV, design effect,
effective and weighted sizes, flags and notes are blank, and its reason is one
phrase of a fixed vocabulary chosen from public information only (the configured
rules and the published unweighted n), so that the reason does not say on which
side of a value-dependent threshold the cell lies (docs/methodology/disclosure.md).

Complementary suppression: where the cells of a line of the table add up to a
published total (the table's total row, the 100% of shares, or the one-way margins
of a cross-table), a line with a single suppressed cell would give that cell by
subtraction; the unsuppressed cell of the line with the smallest unweighted n is
then suppressed too, until no line holds exactly one suppressed cell.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from flestimate.report.specs import ReliabilityRules

__all__ = [
    "IDENTIFIER_MAX_MEDIAN",
    "IDENTIFIER_MIN_DOMAINS",
    "QUALITY_COLUMNS",
    "SUPPRESSED_BLANK",
    "apply_disclosure_control",
    "identifying_partition",
    "nchs_proportion_standard",
    "protect_headline",
    "suppression_reasons",
]

QUALITY_COLUMNS = ("quality", "quality_notes", "suppressed", "suppression_reason")
# computed from the cell's values: blank (NaN) on a suppressed row
SUPPRESSED_BLANK = ("estimate", "se", "ci_lower", "ci_upper", "cv", "deff", "deff_wr",
                    "n_effective", "n_weighted")
# text columns emptied on a suppressed row (flags such as zero_variance tell the value)
_EMPTIED = ("flags", "quality_notes")

# a partition of respondents is an identifier (household or person ids) when at least
# IDENTIFIER_MIN_DOMAINS domains have a median size of at most IDENTIFIER_MAX_MEDIAN
IDENTIFIER_MAX_MEDIAN = 5
IDENTIFIER_MIN_DOMAINS = 10

_NCHS_MIN_N = 30
_PROPORTIONS = ("prevalence", "share")


def nchs_proportion_standard(
    p: np.ndarray,
    ci_lower: np.ndarray,
    ci_upper: np.ndarray,
    n: np.ndarray,
    n_effective: np.ndarray,
    df: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    """Apply the NCHS data presentation standard for proportions.

    Parameters
    ----------
    p, ci_lower, ci_upper : array_like
        Proportions (0..1) and their Korn-Graubard interval.
    n, n_effective, df : array_like
        Unweighted sample size, effective sample size and design degrees of freedom.

    Returns
    -------
    suppress : ndarray of bool
    review : ndarray of bool
        df < 8: the statistician should review the estimate.
    reasons : list of list of str

    Notes
    -----
    Suppress if ``n < 30`` or ``n_eff < 30``; if the absolute CI width
    ``w = U - L > 0.30``; or if ``w > 0.05`` and the relative width
    ``w / p > 1.30``. Flag for review if ``df < 8``.

    References
    ----------
    Parker J.D., Talih M., Malec D.J., et al. (2017). National Center for Health
    Statistics Data Presentation Standards for Proportions. Vital Health Stat 2(175).
    """
    p = np.asarray(p, dtype=float)
    width = np.asarray(ci_upper, dtype=float) - np.asarray(ci_lower, dtype=float)
    n = np.asarray(n, dtype=float)
    neff = np.asarray(n_effective, dtype=float)
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(p > 0, width / p, np.inf)
    small = (n < 30) | (neff < 30)
    wide = width > 0.30
    relwide = (width > 0.05) & (rel > 1.30)
    suppress = small | wide | relwide
    review = df < 8
    reasons: list[list[str]] = []
    for s, w, r, v in zip(small, wide, relwide, review, strict=True):
        out = []
        if s:
            out.append("NCHS: n or effective n < 30")
        if w:
            out.append("NCHS: CI width > 0.30")
        if r:
            out.append("NCHS: relative CI width > 130%")
        if v:
            out.append("NCHS: df < 8, review")
        reasons.append(out)
    return suppress, review, reasons


def suppression_reasons(rules: ReliabilityRules, *, complementary: bool) -> dict[str, str]:
    """The fixed vocabulary of ``suppression_reason``.

    Parameters
    ----------
    rules : ReliabilityRules
    complementary : bool
        Whether complementary suppression can act in the table.

    Returns
    -------
    dict
        ``few`` (n below ``min_n``), ``single`` (a domain of one respondent, named
        only when ``min_n <= 1``), ``nchs_few`` (n below 30 under the NCHS standard)
        and ``precision``: every other suppressed cell, whether it failed a
        value-dependent rule (CV, NCHS widths or effective n) or protects another
        cell. These share one phrase: telling them apart would tell on which side
        of the CV threshold the cell's value lies.
    """
    parts = [f"coefficient of variation above {rules.cv_suppress:g}"]
    if rules.nchs:
        parts.append("NCHS data presentation standard for proportions")
    if complementary:
        parts.append("complementary suppression (protects another suppressed cell)")
    precision = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]
    return {
        "few": f"fewer than {rules.min_n} respondents",
        "single": "a domain of a single respondent",
        "nchs_few": f"fewer than {_NCHS_MIN_N} respondents (NCHS data presentation standard)",
        "precision": precision,
    }


def _domain_codes(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Integer code of each row's domain (the statistics of one domain share it)."""
    if not by or frame.empty:
        return np.zeros(len(frame), dtype=np.intp)
    return frame.groupby(by, dropna=False, sort=False).ngroup().to_numpy(dtype=np.intp)


def _any_by_domain(flag: np.ndarray, codes: np.ndarray, n_domains: int) -> np.ndarray:
    return np.bincount(codes, weights=flag.astype(float), minlength=n_domains) > 0


def _complements(cells: pd.DataFrame, n: np.ndarray, suppressed: np.ndarray) -> np.ndarray:
    """Cells to suppress so that no line of the table holds exactly one suppressed cell.

    A line is the set of cells that share every domain column but one (a one-way
    table has one line: all its cells, which add up to the total). In a line with
    one suppressed cell, the unsuppressed cell with the smallest n is added; this is
    repeated until every line has none or at least two.
    """
    by = list(cells.columns)
    lines = []
    for j in range(len(by)):
        rest = by[:j] + by[j + 1:]
        lines.append(cells.groupby(rest, dropna=False, sort=False).ngroup().to_numpy()
                     if rest else np.zeros(len(cells), dtype=np.intp))
    sup = suppressed.copy()
    by_size = np.lexsort((np.arange(len(n)), n))  # cells by n, then table order
    added = True
    while added:  # each pass adds at least one cell, so this ends
        added = False
        for line in lines:
            count = np.bincount(line, weights=sup.astype(float))
            size = np.bincount(line)
            exposed = (count == 1) & (size > 1)
            if not exposed.any():
                continue
            cand = by_size[~sup[by_size] & exposed[line[by_size]]]
            _, first = np.unique(line[cand], return_index=True)
            sup[cand[first]] = True
            added = True
    return sup & ~suppressed


def _join_notes(*parts: np.ndarray) -> np.ndarray:
    out = np.full(len(parts[0]), "", dtype=object)
    for p in parts:
        out = np.where((out != "") & (p != ""), out + "; " + p, out + p)
    return out


def _fmt_each(values: np.ndarray, spec: str) -> np.ndarray:
    return np.array([format(float(v), spec) for v in values], dtype=object)


def apply_disclosure_control(
    table: pd.DataFrame,
    by: list[str],
    rules: ReliabilityRules,
    *,
    has_total: bool,
) -> pd.DataFrame:
    """Grade every estimate and suppress unreliable or disclosive cells.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy table: the ``by`` columns (missing on the total row), ``statistic``,
        ``scale``, ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``cv``,
        ``n_unweighted``, ``n_effective`` (and optionally ``n_weighted``, ``deff``,
        ``flags``).
    by : list of str
        The domain columns.
    rules : ReliabilityRules
    has_total : bool
        Whether the table includes a total row, which enables recovery by subtraction
        and hence complementary suppression. Shares (which add up to 100%) and the
        lines of a cross-table (whose margins are tables of their own) are protected
        whether or not the table has a total.

    Returns
    -------
    pandas.DataFrame
        A copy with ``quality``, ``quality_notes``, ``suppressed`` and
        ``suppression_reason``. On a suppressed row every column in
        ``SUPPRESSED_BLANK`` is NaN, ``flags`` and ``quality_notes`` are empty and
        the reason is a phrase of :func:`suppression_reasons`. The input is not
        modified.

    Notes
    -----
    A domain of one respondent is always suppressed and always protected by a
    complementary cell (even with ``complementary: false`` or without a total row,
    since the total may be published in another table): its weighted size is the
    respondent's weight.
    """
    by = list(by)
    out = table.copy()
    m = len(out)
    n = out["n_unweighted"].to_numpy(dtype=float)
    cv = np.nan_to_num(out["cv"].to_numpy(dtype=float), nan=0.0)
    df = out["df"].to_numpy(dtype=float)
    stat = out["statistic"].to_numpy() if "statistic" in out.columns else np.full(m, "")
    prop = np.isin(stat, _PROPORTIONS)

    single = n == 1
    few = n < rules.min_n
    nchs_few = np.zeros(m, dtype=bool)
    imprecise = cv > rules.cv_suppress
    review = np.zeros(m, dtype=bool)
    if rules.nchs and prop.any():
        idx = np.flatnonzero(prop)
        scale = out["scale"].to_numpy(dtype=float)[idx]
        sup, rev, _ = nchs_proportion_standard(
            out["estimate"].to_numpy(dtype=float)[idx] / scale,
            out["ci_lower"].to_numpy(dtype=float)[idx] / scale,
            out["ci_upper"].to_numpy(dtype=float)[idx] / scale,
            n[idx],
            out["n_effective"].to_numpy(dtype=float)[idx],
            df[idx],
        )
        imprecise[idx] |= sup
        review[idx] = rev
        nchs_few[idx] = n[idx] < _NCHS_MIN_N

    codes = _domain_codes(out, by)
    n_dom = int(codes.max()) + 1 if m else 0
    d_few, d_single, d_nchs_few, d_imprecise = (
        _any_by_domain(f, codes, n_dom) for f in (few, single, nchs_few, imprecise))
    primary = d_few | d_single | d_nchs_few | d_imprecise

    # complementary suppression over the cells (the total row is not a cell)
    is_total = out[by].isna().all(axis=1).to_numpy() if by else np.ones(m, dtype=bool)
    d_total = _any_by_domain(is_total, codes, n_dom)
    lines_add_up = has_total or bool(np.isin(stat, ["share"]).any()) or len(by) > 1
    # a single respondent's weighted size is their weight: protected even when the total
    # is only published in another table
    forced = bool((d_single & ~d_total).any())
    protect = bool(by) and ((lines_add_up and rules.complementary) or forced)
    complement = np.zeros(n_dom, dtype=bool)
    if protect:
        cell_n = np.full(n_dom, np.inf)
        np.minimum.at(cell_n, codes, n)
        first_row = np.unique(codes, return_index=True)[1]
        cells = out[by].iloc[first_row].reset_index(drop=True)
        keep = ~d_total
        complement[keep] = _complements(cells[keep].reset_index(drop=True), cell_n[keep],
                                        primary[keep])

    words = suppression_reasons(rules, complementary=protect)
    d_suppressed = primary | complement
    d_reason = np.select([d_few, d_single, d_nchs_few],
                         [words["few"], words["single"], words["nchs_few"]],
                         default=words["precision"]).astype(object)
    d_reason[~d_suppressed] = ""
    suppressed = d_suppressed[codes]

    # caution notes, for the published rows only
    cv_warn = (cv > rules.cv_flag) & ~imprecise
    df_low = df < rules.min_df
    # no case in the domain: a 0 with an interval from the pooled design effect, never "ok"
    flags = out["flags"].astype(str).to_numpy() if "flags" in out.columns else np.full(m, "")
    zero = np.char.find(flags.astype(str), "zero_cases") >= 0
    notes = _join_notes(
        np.where(zero, "no case in the sample (interval from the pooled design effect)", ""),
        np.where(cv_warn, "CV = " + _fmt_each(cv, ".2f") + f" > {rules.cv_flag:g}: use with caution",
                 ""),
        np.where(df_low, "df = " + _fmt_each(df, "g") + f" < {rules.min_df}", ""),
        np.where(review, "NCHS: df < 8, review", ""),
    )
    caution = (cv_warn | df_low | review | zero) & ~suppressed

    out["quality"] = np.where(suppressed, "suppressed", np.where(caution, "caution", "ok"))
    out["quality_notes"] = np.where(suppressed, "", notes)
    out["suppressed"] = suppressed
    out["suppression_reason"] = d_reason[codes]
    for col in SUPPRESSED_BLANK:
        if col in out.columns:
            out[col] = out[col].astype(float).where(~suppressed, np.nan)
    if "flags" in out.columns:
        out["flags"] = out["flags"].where(~suppressed, "")
    return out


def protect_headline(
    headline: dict[str, Any], sensitivity: dict[str, Any] | None, rules: ReliabilityRules
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Apply the table rules to the national headline.

    Parameters
    ----------
    headline : dict
        ``prevalence``, ``persons`` and optionally ``stock``: dicts with ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper``, ``cv``, ``df``, ``n_unweighted`` (and
        ``n_effective`` for the NCHS rule); ``scale``.
    sensitivity : dict or None
        The conservative and upper-bound headlines, which bracket the headline.
    rules : ReliabilityRules

    Returns
    -------
    headline : dict
        A copy with ``suppressed`` and ``suppression_reason``; when suppressed, the
        values of ``SUPPRESSED_BLANK`` are None in every statistic.
    sensitivity : dict or None
        None when the headline is suppressed (the band would bracket its value).
    """
    stats = {"prevalence": "prevalence", "persons": "total", "stock": "stock"}
    present = [k for k in stats if headline.get(k)]
    cols = ("estimate", "se", "ci_lower", "ci_upper", "cv", "df", "n_unweighted", "n_effective")
    frame = pd.DataFrame(
        [{**{c: headline[k].get(c) for c in cols}, "statistic": stats[k],
          "scale": float(headline["scale"]) if k == "prevalence" else 1.0} for k in present],
        columns=[*cols, "statistic", "scale"],
    )
    frame[list(cols)] = frame[list(cols)].astype(float)
    graded = apply_disclosure_control(frame, [], rules, has_total=False)
    if not graded["suppressed"].any():
        return {**headline, "suppressed": False, "suppression_reason": ""}, sensitivity
    out = {**headline, "suppressed": True,
           "suppression_reason": str(graded["suppression_reason"].iloc[0])}
    for k in present:
        out[k] = {c: (None if c in SUPPRESSED_BLANK else v) for c, v in headline[k].items()}
    return out, None


def identifying_partition(sizes: np.ndarray) -> bool:
    """Whether domains of these sizes (respondents per domain) identify respondents.

    Parameters
    ----------
    sizes : array_like of int
        The number of respondents in each domain of a table (non-empty domains).

    Returns
    -------
    bool
        True when there are at least ``IDENTIFIER_MIN_DOMAINS`` domains and their
        median size is at most ``IDENTIFIER_MAX_MEDIAN``: a person or household
        identifier, not a grouping. Most cells of such a table are single persons or
        households.
    """
    sizes = np.asarray(sizes, dtype=float)
    return bool(sizes.size >= IDENTIFIER_MIN_DOMAINS
                and np.median(sizes) <= IDENTIFIER_MAX_MEDIAN)
