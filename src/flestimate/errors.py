"""Exceptions, warnings and diagnostic records.

Every exception flestimate raises for bad input derives from :class:`FlestimateError`
and also from the built-in exception users already catch (``ValueError``,
``OSError``, ...). A message names what was checked, what was found (column,
count, first offending values or rows) and the fix.
"""

from __future__ import annotations

import datetime
import difflib
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CalibrationError",
    "CalibrationWarning",
    "ConfigError",
    "DesignError",
    "Diagnostic",
    "DomainWarning",
    "EstimationError",
    "FlestimateError",
    "FlestimateWarning",
    "LoaderError",
    "LonelyPSUWarning",
    "MappingError",
    "MSEWarning",
    "ReliabilityWarning",
    "ReportError",
    "ValidationError",
    "closest_name",
    "strata_have",
    "first_values",
    "shown",
    "not_in_data",
    "positive_number",
]


class FlestimateError(Exception):
    """Base class of every error flestimate raises on purpose."""


class ValidationError(FlestimateError, ValueError):
    """A parameter is outside its allowed values."""


class LoaderError(FlestimateError, OSError, ValueError):
    """A survey file cannot be read faithfully (missing, unknown format, corrupt, ...)."""


class DesignError(FlestimateError, ValueError):
    """The sampling design is inconsistent with the data (weights, strata, PSUs, fpc)."""


class EstimationError(FlestimateError, ValueError):
    """An estimate cannot be computed from the requested variables."""


class CalibrationError(FlestimateError, ValueError):
    """Weighting or calibration failed (unknown category, no convergence, bounds unmet)."""


class MappingError(FlestimateError, ValueError):
    """A questionnaire mapping for the forced-labour classifier is invalid."""


class ConfigError(FlestimateError, ValueError):
    """A pipeline configuration file is invalid."""


class ReportError(ConfigError):
    """Outputs cannot be written as asked: the output folder (missing, a file, holding
    files flestimate did not write) or a table's name as a file name.

    Raised by :mod:`flestimate.report`. It derives from :class:`ConfigError` because the
    folder and the table names are choices of the run (``--out``, ``tables[].name``), so
    a caller catching the config's errors also catches these.
    """


class FlestimateWarning(UserWarning):
    """Base class of flestimate's warnings; each is also stored on the result it concerns."""


class LonelyPSUWarning(FlestimateWarning):
    """A stratum has a single PSU and a lonely-PSU rule was applied."""


class DomainWarning(FlestimateWarning):
    """A domain is empty or too small for its variance to be estimated, or rows are outside
    every domain (a missing ``by`` value)."""


class CalibrationWarning(FlestimateWarning):
    """Calibration produced negative or extreme weights, or stopped early."""


class MSEWarning(FlestimateWarning):
    """A multiple systems estimate rests on an interaction estimated as -infinity,
    failed bootstrap fits or another caveat of the lists."""


class ModelWarning(FlestimateWarning):
    """A regression fit needs attention: collinear columns left out, separation,
    no convergence (also stored on the result as a diagnostic)."""


class ReliabilityWarning(FlestimateWarning):
    """An estimate fails a reliability rule (small n, high CV, few degrees of freedom)."""


@dataclass(frozen=True)
class Diagnostic:
    """A warning or note attached to a result, so a saved table still says what was wrong.

    Attributes
    ----------
    code : str
        Stable machine-readable code, e.g. ``"lonely_psu"`` or ``"empty_domain"``.
    message : str
        Human-readable sentence naming the column, what was found and the consequence.
    severity : str
        ``"info"``, ``"warning"`` or ``"error"``.
    context : dict
        Extra structured details (column names, counts, domain keys).
    """

    code: str
    message: str
    severity: str = "warning"
    context: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            **{k: v for k, v in self.context},
        }


def first_values(values: Iterable[Any] | Sequence[Any], limit: int = 5) -> str:
    """Format the first ``limit`` items of ``values`` for an error message: ``"17, 402, 9001, ..."``.

    Each item is shown by :func:`shown` (at most 60 characters), so a message stays short
    whatever the values hold.
    """
    out = []
    for i, v in enumerate(values):
        if i == limit:
            out.append("...")
            break
        plain = isinstance(v, (str, list, tuple, dict, set, frozenset, int))
        out.append(shown(v) if plain else str(v)[:60])
    return ", ".join(out)


def positive_number(name: str, value: Any) -> float:
    """``value`` as a finite float > 0, else a :class:`ValidationError` naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ValidationError(f"{name}={value!r} must be a positive number.")
    return v


def strata_have(count: int) -> str:
    """``"1 stratum has"`` or ``"3 strata have"``: the subject of a message about strata."""
    return "1 stratum has" if count == 1 else f"{count:,} strata have"


def shown(value: Any, limit: int = 60) -> str:
    """A ``repr``-like text of ``value`` for a message, at most ``limit`` characters.

    The text is built while walking ``value`` and the walk stops as soon as ``limit`` is
    reached, so a huge or deeply nested object (a YAML alias bomb, a 2 MB filter) costs
    no more than a short one; ``repr(value)[:limit]`` would build the whole text first.
    Self-containing lists and dicts are shown as ``[...]``/``{...}``.

    Examples
    --------
    >>> shown("age >= 18")
    "'age >= 18'"
    >>> shown(list(range(10**6)), limit=20)
    '[0, 1, 2, 3, 4, 5...'
    """
    parts: list[str] = []
    budget = [limit + 4]  # stop the walk a little past the limit; the cut is exact below

    def put(text: str) -> bool:
        parts.append(text[: budget[0]])
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(v: Any, active: frozenset[int]) -> bool:
        if isinstance(v, (list, tuple, set, frozenset, dict)):
            if id(v) in active:
                return put("[...]" if not isinstance(v, dict) else "{...}")
            inner = active | {id(v)}
            opening, closing = (("{", "}") if isinstance(v, (dict, set, frozenset))
                                else ("(", ")") if isinstance(v, tuple) else ("[", "]"))
            if not put(opening):
                return False
            for i, item in enumerate(v.items() if isinstance(v, dict) else v):
                if i and not put(", "):
                    return False
                if isinstance(v, dict):
                    if not (walk(item[0], inner) and put(": ") and walk(item[1], inner)):
                        return False
                elif not walk(item, inner):
                    return False
            return put(closing)
        if isinstance(v, str):
            text = repr(v[: budget[0] + 2])
            return put(text if len(v) <= budget[0] + 2 else text[:-1])
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 64:
            # str() of a huge int is slow (and refused above 4300 digits)
            return put(f"<an integer of about {int(v.bit_length() * 0.30103) + 1} digits>")
        if isinstance(v, (int, float, bool, datetime.date)) or v is None:
            return put(str(v) if isinstance(v, datetime.date) else repr(v))
        if isinstance(v, numbers.Number):  # numpy scalars: 2, not np.int64(2)
            return put(str(v))
        return put(repr(v))  # other scalars (pd.NA, Decimal, ...) have short reprs

    walk(value, frozenset())
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closest_name(value: Any, names: Iterable[str], cutoff: float = 0.5) -> str | None:
    """The name of ``names`` closest to ``value`` (for a "did you mean" hint), or None.

    Notes
    -----
    :func:`difflib.get_close_matches` on lower-cased names with ``cutoff`` (0.5 by
    default): a typo, another case or spelling of a name is found, an unrelated word
    is not.
    """
    by_lower = {str(n).lower(): n for n in names}
    close = difflib.get_close_matches(str(value).lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[close[0]] if close else None


def not_in_data(subject: str, names: Iterable[Any], columns: Iterable[Any],
                fix: str = "Check the spelling.") -> str:
    """The message for names not found among the data's columns, with the closest name.

    ``subject`` says what was looked up (``"weight column 'wt'"``); the message adds,
    as the command line does, ``did you mean 'w_final'?`` when a column is close to the
    first missing name, then the first columns and ``fix``:

    >>> not_in_data("weight column 'wfinal'", ["wfinal"], ["psu", "w_final"])
    "weight column 'wfinal' is not in the data; did you mean 'w_final'? (columns: 'psu', 'w_final'). Check the spelling."
    """
    cols = [str(c) for c in columns]
    first = next(iter(names), None)
    close = closest_name(first, cols) if first is not None else None
    hint = f"; did you mean {close!r}?" if close is not None else ""
    return f"{subject} is not in the data{hint} (columns: {first_values(cols, 10)}). {fix}"
