"""Reliability flags and statistical disclosure control for published tables.

Every estimate gets a quality grade (``ok``, ``caution`` or ``suppressed``) and
the reasons. The primary rules are read from
:class:`flestimate.config.ReliabilitySpec`:

- unweighted n below ``min_n``: suppressed;
- coefficient of variation above ``cv_suppress``: suppressed; above ``cv_flag``:
  caution;
- design degrees of freedom below ``min_df``: caution;
- optionally the NCHS data presentation standard for proportions (prevalences and
  shares): suppressed when n < 30 or the effective sample size < 30, when the
  absolute CI width exceeds 0.30, or when the relative CI width exceeds 130% with
  an absolute width above 0.05; df < 8 is flagged for review.

Suppression is applied to a whole domain (every statistic of that cell), so a
count cannot be recovered from its prevalence. In a table with a total, a single
suppressed cell could be recovered by subtraction; the unsuppressed cell with the
smallest unweighted n is then suppressed too (complementary suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from flestimate.config import ReliabilitySpec

__all__ = ["QUALITY_COLUMNS", "apply_disclosure_control", "nchs_proportion_standard"]

QUALITY_COLUMNS = ("quality", "quality_notes", "suppressed", "suppression_reason")
_MASKED = ("estimate", "se", "ci_lower", "ci_upper", "cv", "deff", "deff_wr")


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


def _label(value, labels) -> str:
    from flestimate.report.tables import label_of

    return label_of(value, labels)


def _domain_key(frame: pd.DataFrame, by: list[str]) -> pd.Series:
    if not by:
        return pd.Series(["__total__"] * len(frame), index=frame.index)
    parts = frame[by].astype("string").fillna("__total__")
    return parts.agg("\x1f".join, axis=1)


def apply_disclosure_control(
    table: pd.DataFrame,
    by: list[str],
    rules: ReliabilitySpec,
    *,
    has_total: bool,
    value_labels: dict | None = None,
) -> pd.DataFrame:
    """Grade every estimate and suppress unreliable or disclosive cells.

    Parameters
    ----------
    table : pandas.DataFrame
        A tidy table: the ``by`` columns (missing on the total row), ``statistic``,
        ``scale``, ``estimate``, ``se``, ``ci_lower``, ``ci_upper``, ``df``, ``cv``,
        ``n_unweighted``, ``n_effective`` (and optionally ``is_total``).
    by : list of str
        The domain columns.
    rules : ReliabilitySpec
    has_total : bool
        Whether the table includes a total row, which enables recovery by subtraction
        and hence complementary suppression.
    value_labels : dict, optional
        ``{column: {code: label}}``, to name the protected cell in the reason.

    Returns
    -------
    pandas.DataFrame
        A copy with ``quality``, ``quality_notes``, ``suppressed`` and
        ``suppression_reason``; suppressed cells have their estimate, SE, CI, CV and
        design effects blanked (NaN). The input is not modified.
    """
    out = table.copy()
    n = out["n_unweighted"].to_numpy(dtype=float)
    cv = out["cv"].to_numpy(dtype=float)
    df = out["df"].to_numpy(dtype=float)
    m = len(out)
    suppress_reason: list[list[str]] = [[] for _ in range(m)]
    notes: list[list[str]] = [[] for _ in range(m)]
    caution = np.zeros(m, dtype=bool)

    small = n < rules.min_n
    cv_high = np.nan_to_num(cv, nan=0.0) > rules.cv_suppress
    cv_warn = (np.nan_to_num(cv, nan=0.0) > rules.cv_flag) & ~cv_high
    df_low = df < rules.min_df
    for i in np.flatnonzero(small):
        suppress_reason[i].append(f"unweighted n = {int(n[i])} < {rules.min_n}")
    for i in np.flatnonzero(cv_high):
        suppress_reason[i].append(f"CV = {cv[i]:.2f} > {rules.cv_suppress:g}")
    for i in np.flatnonzero(cv_warn):
        notes[i].append(f"CV = {cv[i]:.2f} > {rules.cv_flag:g}: use with caution")
        caution[i] = True
    for i in np.flatnonzero(df_low):
        notes[i].append(f"df = {df[i]:g} < {rules.min_df}")
        caution[i] = True

    if rules.nchs:
        prop = out["statistic"].isin(["prevalence", "share"]).to_numpy()
        idx = np.flatnonzero(prop)
        if idx.size:
            scale = out["scale"].to_numpy(dtype=float)[idx]
            sup, rev, why = nchs_proportion_standard(
                out["estimate"].to_numpy(dtype=float)[idx] / scale,
                out["ci_lower"].to_numpy(dtype=float)[idx] / scale,
                out["ci_upper"].to_numpy(dtype=float)[idx] / scale,
                n[idx],
                out["n_effective"].to_numpy(dtype=float)[idx],
                df[idx],
            )
            for j, i in enumerate(idx):
                for r in why[j]:
                    (notes if r.endswith("review") else suppress_reason)[i].append(r)
                caution[i] |= bool(rev[j])

    primary = np.array([bool(r) for r in suppress_reason])
    key = _domain_key(out, by)
    # a domain is suppressed as a whole: every statistic of the cell
    dom_primary = pd.Series(primary, index=out.index).groupby(key.to_numpy()).transform("any")
    dom_reason: dict[str, list[str]] = {}
    for k, reasons in zip(key, suppress_reason, strict=True):
        for r in reasons:
            dom_reason.setdefault(k, [])
            if r not in dom_reason[k]:
                dom_reason[k].append(r)
    suppressed = dom_primary.to_numpy(dtype=bool)
    reason = [
        "; ".join(dom_reason.get(k, [])) if s else "" for k, s in zip(key, suppressed, strict=True)
    ]

    if rules.complementary and has_total and by:
        is_total = key.to_numpy() == "\x1f".join(["__total__"] * len(by))
        cells = pd.DataFrame(
            {"key": key.to_numpy(), "n": n, "sup": suppressed, "total": is_total}
        )[~is_total]
        per_cell = cells.groupby("key", sort=False).agg(n=("n", "min"), sup=("sup", "any"))
        if int(per_cell["sup"].sum()) == 1 and len(per_cell) > 1:
            victim_key = per_cell[~per_cell["sup"]]["n"].idxmin()
            protected = per_cell[per_cell["sup"]].index[0]
            first = np.flatnonzero(key.to_numpy() == protected)[0]
            labels = value_labels or {}
            label = ", ".join(
                f"{b} {_label(out[b].iloc[first], labels.get(b))}" for b in by
            )
            hit = key.to_numpy() == victim_key
            suppressed = suppressed | hit
            for i in np.flatnonzero(hit):
                reason[i] = (
                    f"complementary suppression: protects the suppressed cell {label} "
                    f"from recovery by subtraction from the total"
                )

    quality = np.where(suppressed, "suppressed", np.where(caution, "caution", "ok"))
    out["quality"] = quality
    out["quality_notes"] = ["; ".join(x) for x in notes]
    out["suppressed"] = suppressed
    out["suppression_reason"] = reason
    for col in _MASKED:
        if col in out.columns:
            out[col] = out[col].astype(float).where(~suppressed, np.nan)
    return out
