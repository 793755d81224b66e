"""Questionnaire mappings: which survey column answers which canonical indicator.

A mapping is written once per questionnaire, as YAML or as the same structure in a Python
dict (see ``docs/classification.md``)::

    framework: ilo-2012
    codes: {yes: [1], no: [2], dont_know: [8], refused: [9]}
    unknown_codes: error            # or "missing": undeclared codes count as not asked
    columns: {age: age, worked: worked, person: pid, parent: parent_pid,
              employer: employer_type, perpetrator: perp_type,
              commercial_sex: cse, worst_form: wfcl}
    values: {parents: [parents], third_party: [third_party], state: [state], private: [private]}
    indicators: {UR-I4: q21, WD-I1: q30, P1: q40}
    settings: {strength_rule: any, penalty_scope: any_dimension, missing_policy: conservative}

:func:`load_mapping` checks the structure (no data needed);
:func:`~flestimate.indicators.checks.validate_mapping` checks it against a data set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from flestimate.errors import MappingError, shown
from flestimate.indicators.framework import Framework, Indicator, get_framework
from flestimate.io.safe_yaml import read_yaml_file

__all__ = [
    "Codes",
    "MappedItem",
    "QuestionnaireMapping",
    "Settings",
    "load_mapping",
    "settings_of",
]

TOP_KEYS = ("framework", "codes", "unknown_codes", "columns", "values", "indicators", "settings")
COLUMN_KEYS = (
    "age",
    "worked",
    "person",
    "parent",
    "employer",
    "perpetrator",
    "commercial_sex",
    "worst_form",
)
REQUIRED_COLUMNS = ("age", "worked")
CODE_KEYS = ("yes", "no", "dont_know", "refused")
VALUE_KEYS = {
    "parents": "employer",
    "third_party": "employer",
    "state": "perpetrator",
    "private": "perpetrator",
}
DEFAULT_VALUES = {
    "parents": ("parents",),
    "third_party": ("third_party",),
    "state": ("state",),
    "private": ("private",),
}
CHILD_CATEGORIES = ("i_ii", "iii", "iv")

#: allowed values of each setting (``None``: validated separately)
CHOICES: dict[str, tuple[Any, ...] | None] = {
    "strength_rule": ("any", "at_least_one_strong", "both_strong"),
    "penalty_scope": ("any_dimension", "same_dimension"),
    "missing_policy": ("conservative", "upper_bound", "exclude"),
    "unknown_parent": ("error", "not_in_forced_labour"),
    "strength_overrides": None,
    "adult_age": None,
    "child_min_age": None,
    "child_categories": None,
    "child_commercial_sex": None,
}


@dataclass(frozen=True)
class Settings:
    """The classification settings; each is documented with its source in ``docs/classification.md``.

    Attributes
    ----------
    strength_rule : {"any", "at_least_one_strong", "both_strong"}
        ilo-2012 only: which strengths a positive dimension needs [R].
    penalty_scope : {"any_dimension", "same_dimension"}
        ilo-2012 only: whether a penalty counts for every dimension or only the ``P*@DIM``
        items asked about that dimension [R].
    missing_policy : {"conservative", "upper_bound", "exclude"}
        Treatment of don't know / refused indicator answers [I].
    strength_overrides : tuple of (id, strength)
        Corrections of the [R] strong/medium grading.
    adult_age : int
        Age from which a person is an adult (18) [R].
    child_min_age : int
        Youngest age classified (5); younger people are 0 [I].
    child_categories : tuple of str
        Which categories of forced labour of children count: ``"i_ii"``, ``"iii"``, ``"iv"`` [S2]/[R].
    child_commercial_sex : bool
        Whether a child's ``commercial_sex`` yes counts as category iv on its own [S]/[R].
    unknown_parent : {"error", "not_in_forced_labour"}
        What a parent id absent from the person column means [I].
    """

    strength_rule: str = "any"
    penalty_scope: str = "any_dimension"
    missing_policy: str = "conservative"
    strength_overrides: tuple[tuple[str, str], ...] = ()
    adult_age: int = 18
    child_min_age: int = 5
    child_categories: tuple[str, ...] = CHILD_CATEGORIES
    child_commercial_sex: bool = False
    unknown_parent: str = "error"

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["strength_overrides"] = dict(self.strength_overrides)
        out["child_categories"] = list(self.child_categories)
        return out


@dataclass(frozen=True)
class Codes:
    """Answer codes of the coded items (indicators, ``worked``, ``commercial_sex``, ``worst_form``)."""

    yes: tuple[Any, ...] = (1,)
    no: tuple[Any, ...] = (2,)
    dont_know: tuple[Any, ...] = ()
    refused: tuple[Any, ...] = ()

    def meaning(self, code: Any) -> str:
        for key in CODE_KEYS:
            if in_codes(code, getattr(self, key)):
                return key
        return "undeclared"


@dataclass(frozen=True)
class MappedItem:
    """One mapped indicator column.

    ``key`` is the mapping key (``"UR-I4"`` or ``"P1@UR"``); ``dimension`` is the dimension of
    an involuntariness indicator or the ``@DIM`` context of a per-dimension penalty item
    (``None`` for a penalty asked once); ``strength`` includes ``strength_overrides``.
    """

    key: str
    column: str
    indicator: Indicator
    dimension: str | None
    strength: str | None


@dataclass(frozen=True)
class QuestionnaireMapping:
    """A validated questionnaire mapping (see :func:`load_mapping`)."""

    framework: Framework
    codes: Codes
    unknown_codes: str
    columns: MappingProxyType
    values: MappingProxyType
    items: tuple[MappedItem, ...]
    settings: Settings
    source: str = "<dict>"
    raw: MappingProxyType = field(default_factory=lambda: MappingProxyType({}), repr=False)

    def with_settings(self, **settings: Any) -> QuestionnaireMapping:
        """Return a copy with some settings changed (validated like the file)."""
        raw = {k: v for k, v in self.raw.items()}
        merged = dict(raw.get("settings") or {})
        merged.update(settings)
        raw["settings"] = merged
        return _build(raw, self.source)

    @property
    def coded_columns(self) -> dict[str, str]:
        """``{location: column}`` of every column read with the answer ``codes``."""
        out = {f"indicators.{it.key}": it.column for it in self.items}
        for key in ("worked", "commercial_sex", "worst_form"):
            if key in self.columns:
                out[f"columns.{key}"] = self.columns[key]
        return out


# --------------------------------------------------------------------------- loading


def load_mapping(source: Any) -> QuestionnaireMapping:
    """Read and check a questionnaire mapping.

    Parameters
    ----------
    source : str, os.PathLike, dict or QuestionnaireMapping
        A YAML file, or the same structure as a dict.

    Returns
    -------
    QuestionnaireMapping

    Raises
    ------
    MappingError
        Unknown framework, key, indicator id (the message lists the valid ids), bad code
        lists, an indicator mapped twice, contradictory settings. The message names the
        file, the key and the value.

    Examples
    --------
    >>> from flestimate import load_mapping
    >>> m = load_mapping({"framework": "icls-2018", "columns": {"age": "age", "worked": "w"},
    ...                   "indicators": {"ICLS-IW1": "iw1", "ICLS-C1": "c1"}})
    >>> m.settings.missing_policy
    'conservative'
    """
    if isinstance(source, QuestionnaireMapping):
        return source
    if isinstance(source, dict):
        return _build(source, "<dict>")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise MappingError(
                f"mapping file {str(source)!r} does not exist; give the path of a YAML mapping."
            )
        raw = read_yaml_file(path, error=MappingError, what="mapping file")
        if not isinstance(raw, dict):
            raise MappingError(
                f"{source}: a mapping file must be a YAML mapping with key 'framework'."
            )
        return _build(raw, str(source))
    raise MappingError(
        f"mapping: expected a YAML file path or a dict, got {type(source).__name__}."
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def _plain_code(value: Any) -> bool:
    """A code or value a data column can hold: text, a finite float or a 64-bit integer."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return bool(np.isfinite(value))
    return isinstance(value, str)


def in_codes(code: Any, codes: tuple[Any, ...]) -> bool:
    for c in codes:
        try:
            if code == c or (isinstance(c, (int, float)) and float(code) == float(c)):
                return True
        except (TypeError, ValueError):
            continue
    return False


def _norm_key(key: Any) -> Any:
    # YAML 1.1 reads bare yes/no as booleans
    if key is True:
        return "yes"
    if key is False:
        return "no"
    return key


def _build(raw: dict[str, Any], src: str) -> QuestionnaireMapping:
    unknown = [k for k in raw if k not in TOP_KEYS]
    if unknown:
        raise MappingError(f"{src}: unknown key {shown(unknown[0])}; valid keys: {', '.join(TOP_KEYS)}.")
    if "framework" not in raw:
        raise MappingError(
            f"{src}: key 'framework' is missing; set it to 'ilo-2012' or 'icls-2018'."
        )
    fid = raw["framework"]
    fw = get_framework(fid if isinstance(fid, str) else shown(fid), where=f"{src}: framework")
    for section in ("codes", "settings", "columns", "values", "indicators"):
        if raw.get(section) is not None and not isinstance(raw[section], dict):
            raise MappingError(
                f"{src}: {section}: found {shown(raw[section])}; expected a mapping of keys to "
                f"values (indented 'key: value' lines)."
            )

    # codes
    codes_raw = {_norm_key(k): v for k, v in (raw.get("codes") or {"yes": [1], "no": [2]}).items()}
    bad = [k for k in codes_raw if k not in CODE_KEYS]
    if bad:
        raise MappingError(
            f"{src}: codes: unknown key {shown(bad[0])}; valid keys: {', '.join(CODE_KEYS)}."
        )
    codes = Codes(**{k: _as_tuple(codes_raw.get(k)) for k in CODE_KEYS})
    if not codes.yes:
        raise MappingError(f"{src}: codes.yes is empty; list the code(s) that mean yes, e.g. [1].")
    for k in CODE_KEYS:
        for v in getattr(codes, k):
            if not _plain_code(v):
                raise MappingError(
                    f"{src}: codes.{k}: {shown(v)} is not a code; give numbers or strings."
                )
    seen: dict[Any, str] = {}
    for k in CODE_KEYS:
        for v in getattr(codes, k):
            for prev, pk in seen.items():
                if in_codes(v, (prev,)):
                    raise MappingError(
                        f"{src}: codes: code {shown(v)} is declared both as {shown(pk)} and as {shown(k)}; "
                        "each code must have one meaning."
                    )
            seen[v] = k

    unknown_codes = raw.get("unknown_codes", "error")
    if unknown_codes not in ("error", "missing"):
        raise MappingError(
            f"{src}: unknown_codes: {shown(unknown_codes)} is not allowed; use 'error' or 'missing'."
        )

    # settings
    settings_raw = dict(raw.get("settings") or {})
    for k in settings_raw:
        if k not in CHOICES:
            raise MappingError(
                f"{src}: settings: unknown setting {shown(k)}; valid settings: {', '.join(CHOICES)}."
            )
    for k, allowed in CHOICES.items():
        if allowed is not None and k in settings_raw and settings_raw[k] not in allowed:
            raise MappingError(
                f"{src}: settings.{k}: {shown(settings_raw[k])} is not allowed; "
                f"use one of {', '.join(map(repr, allowed))}."
            )
    kw: dict[str, Any] = {k: v for k, v in settings_raw.items() if CHOICES[k] is not None}
    for k in ("adult_age", "child_min_age"):
        if k in settings_raw:
            v = settings_raw[k]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise MappingError(f"{src}: settings.{k}: {shown(v)} is not a non-negative integer age.")
            kw[k] = v
    if "child_commercial_sex" in settings_raw:
        v = settings_raw["child_commercial_sex"]
        if not isinstance(v, bool):
            raise MappingError(f"{src}: settings.child_commercial_sex: {shown(v)} is not true or false.")
        kw["child_commercial_sex"] = v
    if "child_categories" in settings_raw:
        cats = _as_tuple(settings_raw["child_categories"])
        badc = [c for c in cats if c not in CHILD_CATEGORIES]
        if badc:
            raise MappingError(
                f"{src}: settings.child_categories: {shown(badc[0])} is not a category; "
                f"valid: {', '.join(CHILD_CATEGORIES)}."
            )
        kw["child_categories"] = tuple(c for c in CHILD_CATEGORIES if c in cats)
    overrides = settings_raw.get("strength_overrides") or {}
    if not isinstance(overrides, dict):
        raise MappingError(
            f"{src}: settings.strength_overrides must map indicator ids to strong/medium."
        )
    for k, v in overrides.items():
        if k not in fw.ids:
            raise MappingError(
                f"{src}: settings.strength_overrides: {shown(k)} is not a {fw.id} indicator id; "
                f"valid ids: {', '.join(fw.ids)}."
            )
        if v not in ("strong", "medium"):
            raise MappingError(
                f"{src}: settings.strength_overrides.{k}: {shown(v)}; use 'strong' or 'medium'."
            )
    kw["strength_overrides"] = tuple(sorted(overrides.items()))
    settings = Settings(**kw)
    if settings.child_min_age >= settings.adult_age:
        raise MappingError(
            f"{src}: settings: child_min_age ({settings.child_min_age}) must be below "
            f"adult_age ({settings.adult_age}); these settings contradict each other."
        )
    if not fw.graded:
        if settings.strength_rule != "any":
            raise MappingError(
                f"{src}: settings.strength_rule: {shown(settings.strength_rule)} contradicts framework "
                f"{shown(fw.id)}, which does not grade its elements; use 'any'."
            )
        if overrides:
            raise MappingError(
                f"{src}: settings.strength_overrides: framework {shown(fw.id)} does not grade its "
                "elements; remove strength_overrides."
            )
    if not fw.dimensions and settings.penalty_scope != "any_dimension":
        raise MappingError(
            f"{src}: settings.penalty_scope: {shown(settings.penalty_scope)} contradicts framework "
            f"{shown(fw.id)}, which has no dimensions; use 'any_dimension'."
        )

    # columns
    columns_raw = dict(raw.get("columns") or {})
    for k, v in columns_raw.items():
        if k not in COLUMN_KEYS:
            raise MappingError(
                f"{src}: columns: unknown key {shown(k)}; valid keys: {', '.join(COLUMN_KEYS)}."
            )
        if not isinstance(v, str) or not v:
            raise MappingError(f"{src}: columns.{k}: {shown(v)} is not a column name.")
    for k in REQUIRED_COLUMNS:
        if k not in columns_raw:
            raise MappingError(
                f"{src}: columns.{k} is missing; the classification rule needs it "
                f"(map it to the column holding the respondent's {k})."
            )
    if "parent" in columns_raw and "iii" in settings.child_categories:
        for need in ("person", "employer"):
            if need not in columns_raw:
                raise MappingError(
                    f"{src}: columns.parent is mapped but columns.{need} is not; child category "
                    f"iii (parent linkage) needs both. Map columns.{need} or remove 'iii' from "
                    "settings.child_categories."
                )

    values_raw = dict(raw.get("values") or {})
    for k in values_raw:
        if k not in VALUE_KEYS:
            raise MappingError(
                f"{src}: values: unknown key {shown(k)}; valid keys: {', '.join(VALUE_KEYS)}."
            )
    values = {k: _as_tuple(values_raw.get(k, DEFAULT_VALUES[k])) for k in VALUE_KEYS}
    for k, vals in values.items():
        bad_values = [v for v in vals if not _plain_code(v)]
        if bad_values:
            raise MappingError(
                f"{src}: values.{k}: {shown(bad_values[0])} is not a value of a column; give "
                f"numbers or strings."
            )

    # indicators
    ind_raw = raw.get("indicators") or {}
    if not isinstance(ind_raw, dict) or not ind_raw:
        raise MappingError(
            f"{src}: indicators: map at least one canonical indicator id to a column."
        )
    dim_ids = tuple(d.id for d in fw.dimensions)
    override = dict(settings.strength_overrides)
    items = []
    for key, column in ind_raw.items():
        key = str(key)
        where = f"{src}: indicators.{key[:60]}"
        if not isinstance(column, str) or not column:
            raise MappingError(f"{where}: {shown(column)} is not a column name.")
        base, _, dim = key.partition("@")
        if base not in fw.ids:
            raise MappingError(
                f"{where}: {shown(base)} is not a {fw.id} indicator id; valid ids: {', '.join(fw.ids)}."
            )
        ind = fw.indicator(base)
        if dim:
            if ind.role != "penalty" or not dim_ids:
                raise MappingError(
                    f"{where}: only {fw.id} penalty items can carry a dimension suffix"
                    + (
                        f" (P1@UR, ...); {shown(base)} is an involuntariness indicator."
                        if dim_ids
                        else f"; {fw.id} has no dimensions."
                    )
                )
            if dim not in dim_ids:
                raise MappingError(
                    f"{where}: unknown dimension {shown(dim)}; valid dimensions: {', '.join(dim_ids)}."
                )
        elif ind.role == "penalty" and settings.penalty_scope == "same_dimension":
            raise MappingError(
                f"{where}: settings.penalty_scope 'same_dimension' contradicts a penalty item asked "
                f"once ({shown(key)} -> {shown(column)}); map it per dimension as {base}@UR, {base}@WD, "
                f"{base}@IL, or use penalty_scope 'any_dimension'."
            )
        items.append(
            MappedItem(
                key=key,
                column=column,
                indicator=ind,
                dimension=dim or ind.dimension,
                strength=override.get(base, ind.strength),
            )
        )
    by_column: dict[str, MappedItem] = {}
    for it in items:
        prev = by_column.get(it.column)
        if prev is not None and not (
            prev.indicator.id == it.indicator.id and prev.indicator.role == "penalty"
        ):
            raise MappingError(
                f"{src}: indicators: column {shown(it.column)} is mapped twice ({shown(prev.key)} and "
                f"{shown(it.key)}); each indicator needs its own question."
            )
        by_column.setdefault(it.column, it)
    for k, v in columns_raw.items():
        if v in by_column:
            raise MappingError(
                f"{src}: columns.{k}: {shown(v)} is also mapped as indicator {shown(by_column[v].key)}; "
                "a column has one role."
            )
    return QuestionnaireMapping(
        framework=fw,
        codes=codes,
        unknown_codes=unknown_codes,
        columns=MappingProxyType(columns_raw),
        values=MappingProxyType(values),
        items=tuple(items),
        settings=settings,
        source=src,
        raw=MappingProxyType(dict(raw)),
    )


def settings_of(mapping: QuestionnaireMapping) -> dict[str, Any]:
    """All settings of a mapping, defaults included (for the audit trail)."""
    return {
        "framework": mapping.framework.id,
        "framework_version": mapping.framework.version,
        "unknown_codes": mapping.unknown_codes,
        **mapping.settings.as_dict(),
    }
