"""Classify respondents as in forced labour or not, by an ILO framework.

Everything is vectorised: each mapped item becomes one column of a boolean matrix, each
rule an ``any`` over a few columns, the child-parent linkage one ``get_indexer`` lookup.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import MappingError
from flestimate.indicators.checks import check_structure, code_masks, column_values, parent_index
from flestimate.indicators.mapping import QuestionnaireMapping, load_mapping, settings_of
from flestimate.io.frames import frame_and_labels

__all__ = ["ClassificationReport", "classify", "output_columns"]

FORMS = ("exploitation", "sexual_exploitation", "state_imposed")
AUDIT_KEY = "flestimate_classification"


@dataclass(frozen=True)
class ClassificationReport:
    """The audit trail of one classification.

    Attributes
    ----------
    framework, framework_version : str
        The framework and the version of its shipped data.
    mapping_source : str
        The mapping file (or ``"<dict>"``).
    settings : dict
        Every setting, defaults included.
    counts : dict
        Unweighted counts of rows by rule and path: ``n_rows``, ``n_eligible`` (worked,
        aged ``child_min_age`` or more), ``n_not_worked``, ``n_under_min_age``,
        ``n_age_missing``, ``fl`` (headline), ``fl_conservative``, ``fl_upper_bound``,
        ``n_uncertain``, ``n_excluded`` (missing status under ``exclude``), ``fl_adult``,
        ``fl_child``, ``dimension_UR``... (ilo-2012), ``involuntary_only`` and
        ``coercion_only`` (eligible adults with only one of the two conditions), ``child_i_ii``, ``child_iii``, ``child_iv``, ``form_...``.
    dont_know_refused : dict
        ``{mapping key: count}`` of don't know / refused answers per indicator item.
    undeclared_codes : dict
        ``{column: {code: count}}`` of undeclared codes treated as not asked
        (``unknown_codes: missing``).
    notes : tuple of str
        Rules that could not be evaluated (e.g. category iii without a parent column).
    """

    framework: str
    framework_version: str
    mapping_source: str
    settings: dict[str, Any]
    counts: dict[str, int]
    dont_know_refused: dict[str, int]
    undeclared_codes: dict[str, dict[Any, int]]
    notes: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python dict (JSON-serialisable) of the report."""
        return {
            "framework": self.framework,
            "framework_version": self.framework_version,
            "mapping_source": self.mapping_source,
            "settings": dict(self.settings),
            "counts": dict(self.counts),
            "dont_know_refused": dict(self.dont_know_refused),
            "undeclared_codes": {
                c: {str(k): v for k, v in d.items()} for c, d in self.undeclared_codes.items()
            },
            "notes": list(self.notes),
        }

    def __str__(self) -> str:
        s = self.settings
        lines = [
            f"classification: {self.framework} (data version {self.framework_version}), "
            f"mapping {self.mapping_source}",
            f"  settings: strength_rule={s['strength_rule']}, penalty_scope={s['penalty_scope']}, "
            f"missing_policy={s['missing_policy']}",
        ]
        lines += [f"  {k}: {v}" for k, v in self.counts.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def output_columns(mapping: Any) -> list[str]:
    """Names of the columns :func:`classify` adds, in order."""
    m = load_mapping(mapping)
    dims = [d.column for d in m.framework.dimensions]
    return [
        "fl",
        "fl_adult",
        "fl_child",
        "fl_child_category",
        "fl_form",
        *dims,
        "fl_involuntary",
        "fl_coercion",
        "fl_indicators",
        "fl_uncertain",
    ]


def _any(mat: np.ndarray, idx: list[int]) -> np.ndarray:
    if not idx:
        return np.zeros(mat.shape[0], dtype=bool)
    if len(idx) == 1:
        return mat[:, idx[0]].copy()
    return mat[:, idx].any(axis=1)


@dataclass
class _Groups:
    """Column indices of the item matrix used by each rule (built once per mapping)."""

    dims: list[str]
    inv: dict[str, list[int]]
    inv_strong: dict[str, list[int]]
    pen: dict[str, list[int]]
    pen_strong: dict[str, list[int]]
    all_inv: list[int]
    all_pen: list[int]


def _groups(m: QuestionnaireMapping) -> _Groups:
    items = m.items
    dims = [d.id for d in m.framework.dimensions] or ["ALL"]
    scope_any = m.settings.penalty_scope == "any_dimension"
    inv, inv_s, pen, pen_s = {}, {}, {}, {}
    for d in dims:
        inv[d] = [
            k
            for k, it in enumerate(items)
            if it.indicator.role == "involuntary" and (d == "ALL" or it.dimension == d)
        ]
        pen[d] = [
            k
            for k, it in enumerate(items)
            if it.indicator.role == "penalty" and (scope_any or it.dimension == d)
        ]
        inv_s[d] = [k for k in inv[d] if items[k].strength == "strong"]
        pen_s[d] = [k for k in pen[d] if items[k].strength == "strong"]
    return _Groups(
        dims=dims,
        inv=inv,
        inv_strong=inv_s,
        pen=pen,
        pen_strong=pen_s,
        all_inv=[k for k, it in enumerate(items) if it.indicator.role == "involuntary"],
        all_pen=[k for k, it in enumerate(items) if it.indicator.role == "penalty"],
    )


def _dimension_status(present: np.ndarray, g: _Groups, rule: str) -> dict[str, np.ndarray]:
    out = {}
    for d in g.dims:
        i_any, p_any = _any(present, g.inv[d]), _any(present, g.pen[d])
        if rule == "any":
            pos = i_any & p_any
        elif rule == "at_least_one_strong":
            pos = i_any & p_any & (_any(present, g.inv_strong[d]) | _any(present, g.pen_strong[d]))
        else:  # both_strong
            pos = _any(present, g.inv_strong[d]) & _any(present, g.pen_strong[d])
        out[d] = pos
    return out


def _joined_table(bits: np.ndarray, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a boolean matrix as ";"-joined names, and each row's code.

    Rows are packed into 63-bit words and factorised (hashing, no sort); the join runs once
    per distinct combination, never per row.
    """
    n, k = bits.shape
    codes = np.zeros(n, dtype=np.int64)
    words: list[np.ndarray] = []  # per combination code: the packed words
    for start in range(0, max(k, 1), 63):
        w = np.zeros(n, dtype=np.uint64)
        for j in range(start, min(start + 63, k)):
            w |= bits[:, j].astype(np.uint64) << np.uint64(j - start)
        wcode, wuniq = pd.factorize(w)
        if not words:
            codes, words = wcode.astype(np.int64), [np.asarray(wuniq)]
            continue
        combined, cuniq = pd.factorize(codes * len(wuniq) + wcode)
        prev = np.asarray(cuniq) // len(wuniq)
        words = [wd[prev] for wd in words] + [np.asarray(wuniq)[np.asarray(cuniq) % len(wuniq)]]
        codes = combined.astype(np.int64)
    table = np.empty(len(words[0]), dtype=object)
    for r in range(len(table)):
        fired = []
        for wi, wd in enumerate(words):
            value = int(wd[r])
            fired += [names[wi * 63 + j] for j in range(63) if (value >> j) & 1]
        table[r] = ";".join(fired)
    return table, codes


_DEFAULT_STR = pd.Series([""]).dtype


def _strings(table: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """``table[codes]`` as a string column, built in Arrow when pandas stores strings there."""
    if getattr(_DEFAULT_STR, "storage", None) == "pyarrow":
        import pyarrow as pa

        arr = pa.DictionaryArray.from_arrays(
            pa.array(codes.astype(np.int32)), pa.array(list(table), pa.large_string())
        ).dictionary_decode()
        return pd.Series(arr, dtype=_DEFAULT_STR, index=index)
    return pd.Series(table[codes], index=index, dtype=_DEFAULT_STR)


def classify(
    data: Any,
    mapping: Any,
    *,
    settings: dict[str, Any] | None = None,
    return_report: bool = False,
) -> Any:
    """Classify each respondent as in forced labour or not.

    Parameters
    ----------
    data : pandas.DataFrame or SurveyData
        One row per respondent. Never modified.
    mapping : str, os.PathLike, dict or QuestionnaireMapping
        The questionnaire mapping (see :func:`flestimate.load_mapping`).
    settings : dict, optional
        Settings overriding those of the mapping, e.g. ``{"missing_policy": "upper_bound"}``.
    return_report : bool, default False
        Also return the :class:`ClassificationReport` (the audit trail). The report is
        always stored, as a dict, in ``frame.attrs["flestimate_classification"]``.

    Returns
    -------
    DataFrame or SurveyData, or (result, ClassificationReport)
        A new object with the original columns untouched plus: ``fl`` (0/1; float with
        NaN only under ``missing_policy: exclude``), ``fl_adult``, ``fl_child``,
        ``fl_child_category`` (``"i_ii"``, ``"iii"``, ``"iv"``, ";"-joined; ``""`` when
        not a child in forced labour), ``fl_form`` (``"exploitation"``,
        ``"sexual_exploitation"``, ``"state_imposed"``; ``""`` when not in forced
        labour or missing), one 0/1 column per ilo-2012 dimension (``fl_ur``, ``fl_wd``, ``fl_il``),
        ``fl_involuntary`` and ``fl_coercion`` (any element present), ``fl_indicators``
        (the mapping keys of the items counted as present, ";"-joined) and
        ``fl_uncertain`` (1 when the status differs between the conservative and
        upper-bound policies).

    Raises
    ------
    MappingError
        Invalid mapping, missing column, undeclared codes, duplicate person ids, a parent
        id that does not exist, or a mapped column named like an output column.

    Notes
    -----
    Only respondents who worked in the reference period (``worked`` yes) and are aged
    ``child_min_age`` (5) or more are eligible; everyone else is 0 in every column.
    An item is *present* when its answer is yes; under ``upper_bound`` also when it is
    don't know or refused. System-missing and (with ``unknown_codes: missing``)
    undeclared answers are never present.

    ilo-2012: dimension ``D`` is positive when an involuntariness indicator of ``D`` and
    a penalty in scope (every penalty item under ``any_dimension``; the ``P*@D`` items
    under ``same_dimension``) are present and the strength rule holds (``any``: always;
    ``at_least_one_strong``: at least one of the present involuntariness and in-scope
    penalty items of ``D`` is strong; ``both_strong``: a strong involuntariness and a
    strong in-scope penalty item are present). An adult
    is in forced labour when any dimension is positive. icls-2018: an involuntary-work
    element and a coercion element are present.

    A child is in forced labour when (i, ii) any penalty/coercion item is present, (iii)
    ``employer`` is a ``values.parents`` value and the linked parent is an adult in
    forced labour, or (iv) ``worst_form`` is yes (or ``commercial_sex`` is yes when
    ``child_commercial_sex`` is true). Each policy is evaluated separately (the parent's
    status under the same policy), so ``fl_uncertain`` is exact; under ``exclude`` every
    0/1 column is NaN exactly where its conservative and upper-bound values differ.

    The form of forced labour is ``state_imposed`` when ``perpetrator`` is a
    ``values.state`` value, else ``sexual_exploitation`` when ``commercial_sex`` is yes,
    else ``exploitation``.

    References
    ----------
    20th ICLS, Guidelines concerning the measurement of forced labour (2018).
    ILO, Hard to see, harder to count: survey guidelines to estimate forced labour of
    adults and children, 2nd ed. (2012). See ``docs/classification.md`` for each rule's
    evidence tag.

    Examples
    --------
    >>> import pandas as pd
    >>> from flestimate import classify
    >>> df = pd.DataFrame({"age": [30, 30], "worked": [1, 1], "iw2": [1, 1], "c1": [1, 2]})
    >>> m = {"framework": "icls-2018", "columns": {"age": "age", "worked": "worked"},
    ...      "indicators": {"ICLS-IW2": "iw2", "ICLS-C1": "c1"}}
    >>> classify(df, m)["fl"].tolist()
    [1, 0]
    """
    m = load_mapping(mapping)
    if settings:
        m = m.with_settings(**settings)
    frame, labels = frame_and_labels(data, error=MappingError)
    cache: dict[str, Any] = {}
    problems, undeclared = check_structure(frame, m, cache)
    if problems:
        raise MappingError(" | ".join(problems))
    outs = output_columns(m)
    mapped = set(m.columns.values()) | {it.column for it in m.items}
    clash = sorted(mapped & set(outs))
    if clash:
        raise MappingError(
            f"{m.source}: mapped column(s) {', '.join(map(repr, clash))} have the name of an "
            "output column of classify; rename them in the data and the mapping."
        )
    st = m.settings
    cols = m.columns
    n = len(frame)
    codes = m.codes

    def masks_of(column: str) -> tuple[np.ndarray, np.ndarray]:
        if column not in cache["masks"]:
            cache["masks"][column] = code_masks(column_values(frame[column]), codes)[:2]
        return cache["masks"][column]

    def yes_of(key: str) -> np.ndarray:
        if key not in cols:
            return np.zeros(n, dtype=bool)
        return masks_of(cols[key])[0]

    # ---- eligibility
    age = frame[cols["age"]].to_numpy(dtype=np.float64, na_value=np.nan)
    worked = yes_of("worked")
    age_known = ~np.isnan(age)
    adult = age >= st.adult_age
    child = (age >= st.child_min_age) & (age < st.adult_age)
    eligible = worked & (adult | child)

    # ---- item matrices: yes, and don't know/refused
    K = len(m.items)
    yes = np.empty((n, K), dtype=bool, order="F")
    unc = np.empty((n, K), dtype=bool, order="F")
    for k, it in enumerate(m.items):
        y, u = masks_of(it.column)
        yes[:, k] = y & eligible
        unc[:, k] = u & eligible
    dk_counts = {it.key: int(c) for it, c in zip(m.items, unc.sum(axis=0).tolist(), strict=True)}
    upper = yes | unc
    g = _groups(m)
    notes: list[str] = []
    for d in g.dims:
        if g.inv[d] and not g.pen[d]:
            where = "" if d == "ALL" else f" in scope of dimension {d}"
            notes.append(
                f"no penalty/coercion item is mapped{where}: its involuntariness items can "
                "never make an adult positive"
            )

    # ---- context
    wf_yes = yes_of("worst_form")
    cse_yes = yes_of("commercial_sex")
    iv = wf_yes | (cse_yes if st.child_commercial_sex else False)
    if "parent" in cols and "iii" in st.child_categories:
        person = frame[cols["person"]]
        parent = frame[cols["parent"]]
        pidx = cache.get("parent_index")
        if pidx is None:  # unknown_parent: not_in_forced_labour skips the check
            pidx = parent_index(person, parent)
        emp = frame[cols["employer"]]
        with_parents = emp.isin(list(m.values["parents"])).to_numpy() & (pidx >= 0)
    else:
        pidx = None
        with_parents = np.zeros(n, dtype=bool)
        if "iii" in st.child_categories:
            notes.append("child category iii not evaluated: columns.parent is not mapped")
    if "perpetrator" in cols:
        state = frame[cols["perpetrator"]].isin(list(m.values["state"])).to_numpy()
    else:
        state = np.zeros(n, dtype=bool)

    def evaluate(present: np.ndarray) -> dict[str, Any]:
        dims = _dimension_status(present, g, st.strength_rule)
        any_dim = np.logical_or.reduce(list(dims.values()))
        fl_adult = adult & eligible & any_dim
        coercion = _any(present, g.all_pen)
        cats = {
            "i_ii": coercion,
            "iii": np.zeros(n, dtype=bool),
            "iv": iv & eligible,
        }
        if pidx is not None:
            has = with_parents
            cats["iii"][has] = fl_adult[pidx[has]]
        for c in list(cats):
            if c not in st.child_categories:
                cats[c] = np.zeros(n, dtype=bool)
            cats[c] = cats[c] & child & eligible
        fl_child = cats["i_ii"] | cats["iii"] | cats["iv"]
        return {
            "fl": fl_adult | fl_child,
            "fl_adult": fl_adult,
            "fl_child": fl_child,
            "dims": dims,
            "fl_involuntary": _any(present, g.all_inv),
            "fl_coercion": coercion,
            "cats": cats,
        }

    cons = evaluate(yes)
    upp = evaluate(upper)
    policy = st.missing_policy

    def headline(a_c: np.ndarray, a_u: np.ndarray) -> np.ndarray:
        if policy == "conservative":
            return a_c.astype(np.int64)
        if policy == "upper_bound":
            return a_u.astype(np.int64)
        out = a_c.astype(np.float64)
        out[a_c != a_u] = np.nan
        return out

    chosen = upp if policy == "upper_bound" else cons  # "exclude": definite answers only
    new: dict[str, Any] = {}
    fl = headline(cons["fl"], upp["fl"])
    new["fl"] = fl
    new["fl_adult"] = headline(cons["fl_adult"], upp["fl_adult"])
    new["fl_child"] = headline(cons["fl_child"], upp["fl_child"])
    is_fl = fl == 1
    child_fl = new["fl_child"] == 1
    cat_code = (
        chosen["cats"]["i_ii"].astype(np.int64)
        | (chosen["cats"]["iii"].astype(np.int64) << 1)
        | (chosen["cats"]["iv"].astype(np.int64) << 2)
    ) * child_fl
    cat_table = np.array(
        [
            ";".join(c for b, c in enumerate(("i_ii", "iii", "iv")) if (v >> b) & 1)
            for v in range(8)
        ],
        dtype=object,
    )
    new["fl_child_category"] = _strings(cat_table, cat_code, frame.index)
    form_code = np.where(state, 3, np.where(cse_yes, 2, 1)) * is_fl
    new["fl_form"] = _strings(np.array(["", *FORMS], dtype=object), form_code, frame.index)
    for d in m.framework.dimensions:
        new[d.column] = headline(cons["dims"][d.id], upp["dims"][d.id])
    new["fl_involuntary"] = headline(cons["fl_involuntary"], upp["fl_involuntary"])
    new["fl_coercion"] = headline(cons["fl_coercion"], upp["fl_coercion"])
    fired = upper if policy == "upper_bound" else yes
    table, inverse = _joined_table(fired, [it.key for it in m.items])
    new["fl_indicators"] = _strings(table, inverse, frame.index)
    uncertain = cons["fl"] != upp["fl"]
    new["fl_uncertain"] = uncertain.astype(np.int64)

    replaced = [c for c in outs if c in frame.columns]
    # a shallow copy (copy-on-write protects the caller's frame); adding the columns one
    # by one avoids stacking them into a new block
    out = frame.drop(columns=replaced) if replaced else frame.copy(deep=False)
    for c in outs:
        out[c] = new[c] if isinstance(new[c], pd.Series) else pd.Series(new[c], index=frame.index)
    if replaced:
        notes.append(f"replaced existing output column(s): {', '.join(replaced)}")

    counts: dict[str, int] = {
        "n_rows": n,
        "n_eligible": int(eligible.sum()),
        "n_not_worked": int((age_known & (age >= st.child_min_age) & ~worked).sum()),
        "n_under_min_age": int((age_known & (age < st.child_min_age)).sum()),
        "n_age_missing": int((~age_known).sum()),
        "fl": int(np.nansum(fl == 1)),
        "fl_conservative": int(cons["fl"].sum()),
        "fl_upper_bound": int(upp["fl"].sum()),
        "n_uncertain": int(uncertain.sum()),
        "n_excluded": int(np.isnan(fl).sum()) if policy == "exclude" else 0,
        "fl_adult": int((new["fl_adult"] == 1).sum()),
        "fl_child": int(child_fl.sum()),
    }
    for d in m.framework.dimensions:
        counts[f"dimension_{d.id}"] = int((new[d.column] == 1).sum())
    # adults stopped by the "both conditions" rule (children need no involuntariness)
    ad = adult & eligible
    counts["involuntary_only"] = int((ad & chosen["fl_involuntary"] & ~chosen["fl_coercion"]).sum())
    counts["coercion_only"] = int((ad & chosen["fl_coercion"] & ~chosen["fl_involuntary"]).sum())
    for c in ("i_ii", "iii", "iv"):
        counts[f"child_{c}"] = int((chosen["cats"][c] & child_fl).sum())
    for i, f in enumerate(FORMS, start=1):
        counts[f"form_{f}"] = int((form_code == i).sum())
    if counts["n_age_missing"]:
        notes.append(f"{counts['n_age_missing']} row(s) with missing age are classified 0")
    report = ClassificationReport(
        framework=m.framework.id,
        framework_version=m.framework.version,
        mapping_source=m.source,
        settings=settings_of(m),
        counts=counts,
        dont_know_refused=dk_counts,
        undeclared_codes=undeclared,
        notes=tuple(notes),
    )
    out.attrs = {**frame.attrs, AUDIT_KEY: report.as_dict()}

    result: Any = out
    if not isinstance(data, pd.DataFrame):
        result = _replace_survey(data, out, labels, m)
    return (result, report) if return_report else result


_VALUE_LABELS = {
    "fl": {0: "not in forced labour", 1: "in forced labour"},
    "fl_adult": {0: "no", 1: "adult in forced labour"},
    "fl_child": {0: "no", 1: "child in forced labour"},
    "fl_involuntary": {0: "no", 1: "involuntary work element present"},
    "fl_coercion": {0: "no", 1: "coercion element present"},
    "fl_uncertain": {0: "same status under conservative and upper bound", 1: "uncertain"},
}


def _replace_survey(data: Any, frame: pd.DataFrame, labels: dict, m: QuestionnaireMapping) -> Any:
    names = {f.name for f in dataclasses.fields(data)} if dataclasses.is_dataclass(data) else set()
    if "frame" not in names:
        raise MappingError(
            f"data: {type(data).__name__} is not a SurveyData dataclass; pass a DataFrame."
        )
    changes: dict[str, Any] = {"frame": frame}
    if "value_labels" in names:
        vl = dict(labels)
        vl.update({k: dict(v) for k, v in _VALUE_LABELS.items()})
        for d in m.framework.dimensions:
            vl[d.column] = {0: "no", 1: f"dimension positive: {d.name}"}
        changes["value_labels"] = vl
    if "variable_labels" in names:
        var = dict(data.variable_labels or {})
        var.update(
            {
                "fl": f"In forced labour ({m.framework.id}, {m.settings.missing_policy})",
                "fl_adult": "Adult in forced labour",
                "fl_child": "Child in forced labour",
                "fl_child_category": "Category of forced labour of children",
                "fl_form": "Form of forced labour",
                "fl_involuntary": "Any involuntary work element present",
                "fl_coercion": "Any coercion / penalty element present",
                "fl_indicators": "Indicators present",
                "fl_uncertain": "Status differs between conservative and upper bound",
            }
        )
        for d in m.framework.dimensions:
            var[d.column] = f"Dimension positive: {d.name}"
        changes["variable_labels"] = var
    return dataclasses.replace(data, **changes)
