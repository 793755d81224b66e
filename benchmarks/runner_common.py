"""What every Python workload process shares: step timing, result records, the JSON it writes.

Standard library only: the peers' runners import it from their own virtual environment.

A runner is started as ``python <runner>.py <workload> <data folder> <output.json> <seed>`` and
writes ``{"status", "steps", "results", "versions", "reason"}``. ``status`` is ``"ok"``,
``"pending"`` (the flestimate feature does not exist yet), ``"unsupported"`` (the system does not
offer the workload) or ``"error"``. ``results`` maps a key that is the same in every system to
``{"estimate", "se", "ci_lower", "ci_upper", "deff"}`` (missing values are null).
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ITEMS = (
    [f"ur_i{i}" for i in range(1, 7)]
    + [f"wd_i{i}" for i in range(1, 11)]
    + [f"il_i{i}" for i in range(1, 5)]
)
INDICATORS = [f"b_{item}" for item in ITEMS]
REPW = [f"rw{r}" for r in range(1, 81)]
N_REPLICATES = 80
DOMAINS_W2 = ["sex", "region", "age_group"]
DOMAINS_W4 = ["sex", "region"]
RAKE_MARGINS = ["region", "sex", "age_group"]
# w8: districts of about DISTRICT_PSUS PSUs each (district = psu // DISTRICT_PSUS), by sex:
# 54 domains at 10k, 528 at 100k, 5,286 at 1M
DISTRICT_PSUS = 4
DOMAINS_W8 = ["district", "sex"]
# w9: median of age by sex x region x age_group (Woodruff CI); w10: chi-square of fl by sector
MEDIAN_VARIABLE = "age"
CHISQ_COLUMNS = ("fl", "sector")

WORKLOADS = [
    "w1_national",
    "w2_domains",
    "w3_total",
    "w4_bootstrap",
    "w4_jackknife",
    "w5_repweights",
    "w6_rake",
    "w7_read_sav",
    "w8_districts",
    "w9_median",
    "w10_chisq",
    "w_glm",
]
# w_glm: logistic regression of fl on these categorical predictors (about 35 coefficients)
# among workers (sector 0, not working, is missing: those rows stay in the design but out of
# the fit); result keys "glm|(Intercept)" and "glm|<column>|<level>" in every system
GLM_FACTORS = ["sex", "age_group", "region", "migrant", "sector"]


def glm_key(column: str | None = None, level=None) -> str:
    return "glm|(Intercept)" if column is None else f"glm|{column}|{int(float(level))}"


class Unsupported(Exception):
    """The system does not offer what the workload asks for (reported, not an error)."""


class Run:
    """Timer and result collector of one workload process."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.results: dict[str, dict[str, float | None]] = {}
        self.versions: dict[str, str] = {}
        self._t0 = time.perf_counter()

    def mark(self, step: str) -> None:
        """Close the current step: the time since the previous mark is booked under ``step``."""
        now = time.perf_counter()
        self.steps[step] = self.steps.get(step, 0.0) + (now - self._t0)
        self._t0 = now

    def put(self, key: str, estimate, se=None, lo=None, hi=None, deff=None) -> None:
        self.results[key] = {
            "estimate": _num(estimate),
            "se": _num(se),
            "ci_lower": _num(lo),
            "ci_upper": _num(hi),
            "deff": _num(deff),
        }


def _num(x) -> float | None:
    if x is None:
        return None
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def domain_key(name: str, *levels) -> str:
    return "|".join([name, *(str(int(v)) for v in levels)])


def main(workloads: dict[str, Callable[[Run, Path, int], None]],
         pending: tuple[type[BaseException], ...] = ()) -> int:
    """Run the workload named on the command line and write its JSON; exit 0 unless it crashed.

    Exceptions in ``pending`` mark the workload "pending" (a flestimate feature not built yet).
    """
    workload, folder, out, seed = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    run = Run()
    status, reason = "ok", ""
    try:
        fn = workloads.get(workload)
        if fn is None:
            raise Unsupported(f"no {workload} workload in this system")
        fn(run, folder, seed)
    except Unsupported as exc:
        status, reason = "unsupported", str(exc)
    except pending as exc:
        status, reason = "pending", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # reported in the table, the harness goes on
        status, reason = "error", f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    payload = {
        "status": status,
        "reason": reason[:500],
        "steps": run.steps,
        "results": run.results if status == "ok" else {},
        "versions": run.versions,
    }
    out.write_text(json.dumps(payload))
    return 0
