"""Exceptions, warnings and diagnostic records.

Every exception flestimate raises for bad input derives from :class:`FlestimateError`
and also from the built-in exception users already catch (``ValueError``,
``OSError``, ...). A message names what was checked, what was found (column,
count, first offending values or rows) and the fix.
"""

from __future__ import annotations

import difflib
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
    "ValidationError",
    "closest_name",
    "first_values",
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
    """Format the first ``limit`` items of ``values`` for an error message: ``"17, 402, 9001, ..."``."""
    out = []
    for i, v in enumerate(values):
        if i == limit:
            out.append("...")
            break
        out.append(repr(v) if isinstance(v, str) else str(v))
    return ", ".join(out)


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
