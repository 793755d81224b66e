"""The ``nsum:`` section of a run: the size of a hidden population by network scale-up.

The calls are the ones a notebook user makes::

    table = flestimate.scale_up(design, "fl_known", known={...}, total_population=N,
                                     topcode=30, adjustment={"visibility": 0.8}, by=...)
    flestimate.internal_validation(design, known={...}, total_population=N)
    flestimate.sensitivity(basic_table, {"visibility": [0.6, 0.8, 1.0]})

Three tables come out: the scale-up estimate (size, SE, interval, by domain when asked),
the internal validation (each known population estimated from the others, against its
size) and the sensitivity of the estimate to the adjustment factors (when a grid is
given). The estimates are sizes of a population, not cells of respondents: the
reliability rules of the tables do not apply; the method paragraph states the
assumptions the estimate rests on.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from flestimate.errors import ConfigError, EstimationError, ValidationError
from flestimate.nsum import internal_validation, scale_up, sensitivity
from flestimate.report.result import ReportSection, SectionTable
from flestimate.run.config_specs import Config, NsumSpec

__all__ = ["nsum_section"]

_KEY = "nsum"
_ESTIMATE = {"estimate": "Estimated size", "se": "SE", "ci_lower": "CI lower",
             "ci_upper": "CI upper"}


def _calls(design: Any, spec: NsumSpec, level: float) -> tuple[Any, Any, Any]:
    opts = dict(spec.options)
    common = {"known": dict(spec.known), "total_population": spec.total_population,
              "topcode": opts["topcode"], "missing_codes": opts["missing_codes"], "level": level}
    try:
        table = scale_up(design, list(spec.hidden), adjustment=opts["adjustment"],
                              by=opts["by"], **common)
        basic = table if opts["adjustment"] == 1.0 else scale_up(
            design, list(spec.hidden), by=opts["by"], **common)
        validation = internal_validation(design, **common) if spec.validation else None
        grid = sensitivity(basic, dict(spec.sensitivity)) if spec.sensitivity else None
    except (EstimationError, ValidationError) as exc:
        raise ConfigError(f"{_KEY}: {exc}") from None
    return table, validation, grid


def _shown(frame: pd.DataFrame, first: list[str], extra: dict[str, str]) -> dict[str, str]:
    cols = {c: c for c in first if c in frame.columns}
    return {**cols, **{c: h for c, h in extra.items() if c in frame.columns}}


def nsum_section(design: Any, config: Config) -> ReportSection:
    """The scale-up section of the report: estimate, internal validation, sensitivity."""
    spec = config.nsum
    assert spec is not None
    table, validation, grid = _calls(design, spec, config.level)
    by = list(spec.options["by"] or [])
    est = table.to_frame()
    keep = [*by, "variable", "estimate", "se", "ci_lower", "ci_upper", "cv", "n_unweighted"]
    est = est[[c for c in keep if c in est.columns]].rename(columns={"variable": "hidden"})
    dec = {"estimate": 0, "se": 0, "ci_lower": 0, "ci_upper": 0, "cv": 3, "n_unweighted": 0,
           "size": 0, "relative_error": 3}
    tables = [SectionTable(
        name=spec.name, title=spec.title, frame=est.reset_index(drop=True),
        columns=_shown(est, [*by, "hidden"], {**_ESTIMATE, "cv": "CV",
                                              "n_unweighted": "Respondents"}),
        decimals=dec,
        notes=[f"Network scale-up estimate of the hidden population's size, N = "
               f"{spec.total_population:,g}; {config.level * 100:g}% intervals."])]
    if validation is not None:
        tables.append(SectionTable(
            name=f"{spec.name}_validation", title=f"{spec.title}: internal validation",
            frame=validation.reset_index(drop=True),
            columns=_shown(validation, ["population"], {"size": "Known size", **_ESTIMATE,
                                                        "relative_error": "Relative error",
                                                        "covered": "Interval holds the size"}),
            decimals=dec,
            notes=["Each known population estimated from the others (leave one out); large "
                   "or one-sided errors point at recall error or barrier effects."]))
    if grid is not None:
        factors = list(spec.sensitivity)
        tables.append(SectionTable(
            name=f"{spec.name}_sensitivity", title=f"{spec.title}: sensitivity",
            frame=grid.rename(columns={"variable": "hidden"}).reset_index(drop=True),
            columns=_shown(grid.rename(columns={"variable": "hidden"}),
                           [*by, "hidden", *factors], _ESTIMATE),
            decimals={**dec, **{f: 2 for f in factors}},
            notes=["The basic estimate divided by the product of the adjustment factors, "
                   "taken as known."]))
    adj = spec.options["adjustment"]
    method = [
        f"Network scale-up (Killworth et al. 1998; Feehan and Salganik 2016): the size of the "
        f"hidden population ({', '.join(spec.hidden)}) is sum(w y_H) / sum(w sum_k y_k) x "
        f"sum_k N_k / (product of the adjustment factors), with the known populations "
        f"{', '.join(spec.known)} (sum_k N_k = {sum(spec.known.values()):,g}) in a population "
        f"of N = {spec.total_population:,g}; variance of the "
        f"ratio from the design (Taylor linearisation or replicate weights).",
        "Adjustment factors (generalised scale-up): "
        + (", ".join(f"{k} {v:g}" for k, v in adj.items()) if isinstance(adj, dict) else "none")
        + ("; top-coded at " + str(spec.options["topcode"]) if spec.options["topcode"] else "")
        + ("; missing codes " + str(spec.options["missing_codes"])
           if spec.options["missing_codes"] else "") + ".",
        "The estimate assumes that respondents know the hidden status of the people they know "
        "(transmission error: a visibility factor), that their networks reach the hidden "
        "population as they reach the known ones (barrier effects: a degree ratio), and that "
        "they recall accurately (checked by the internal validation). The sensitivity table "
        "shows how the estimate moves over plausible factors.",
    ]
    return ReportSection(name=_KEY, title=spec.title, method=method, tables=tables,
                         details={"adjustment": adj, "known": dict(spec.known),
                                  "total_population": spec.total_population})
