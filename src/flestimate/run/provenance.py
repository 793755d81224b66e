"""Provenance of a run: package versions, the settings used and the manifest.

The manifest ties the outputs to the exact inputs: the SHA-256 of the survey file
(taken from :attr:`SurveyData.source <flestimate.io.SourceInfo.sha256>`, computed when
the file was read), of the mapping and of the config, the packages' versions and the
timings. It holds no microdata.
"""

from __future__ import annotations

import dataclasses
import platform
from datetime import datetime
from importlib import metadata
from typing import Any

import flestimate
from flestimate.io import SurveyData
from flestimate.io.hashing import sha256_bytes, sha256_file
from flestimate.run.config_specs import Config

__all__ = ["manifest", "settings", "versions"]

_PACKAGES = ("flestimate", "numpy", "pandas", "scipy", "pyreadstat", "pyarrow", "pyyaml",
             "openpyxl", "jinja2", "matplotlib")


def versions() -> dict[str, str]:
    """Python's and the packages' versions (``"not installed"`` for a missing one)."""
    out = {"python": platform.python_version()}
    for pkg in _PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def settings(config: Config) -> dict[str, Any]:
    """The settings of the run, as written in results.json and the report."""
    d = config.design
    return {
        "title": config.title,
        "input": config.input_path.name,
        "mapping": config.mapping.name if config.mapping else None,
        "design": dataclasses.asdict(d),
        "weighting": [{"step": s.step, "totals": s.totals.name if s.totals else None,
                       **dict(s.options)} for s in config.weighting],
        "populations": {k: (None if v is None else v.source) for k, v in config.populations.items()},
        "indicator": config.indicator,
        "ci_method": config.ci_method,
        "level": config.level,
        "scale": config.scale,
        "na_rm": config.na_rm,
        "headline_population": config.headline_population,
        "duration": dataclasses.asdict(config.duration) if config.duration else None,
        "sensitivity": config.sensitivity,
        "reliability": dataclasses.asdict(config.reliability),
        "tables": [
            {k: v for k, v in dataclasses.asdict(t).items() if k != "key"} for t in config.tables
        ],
        "seed": config.seed,
    }


def manifest(config: Config, data: SurveyData, *, rows: int, started: datetime,
             classification: dict | None, timings: dict[str, float]) -> dict[str, Any]:
    """The run's manifest (``manifest.json`` adds the output files' digests)."""
    source = data.source
    input_sha = source.sha256 if source is not None else sha256_file(config.input_path)
    cfg_bytes = config.path.read_bytes() if config.path is not None else repr(config.raw).encode()
    return {
        "flestimate_version": flestimate.__version__,
        "created": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "input": {"path": config.input_path.name, "sha256": input_sha, "rows": rows},
        "mapping": ({"path": config.mapping.name, "sha256": sha256_file(config.mapping)}
                    if config.mapping else None),
        "config": dict(config.raw),
        "config_sha256": sha256_bytes(cfg_bytes),
        "seed": config.seed,
        "packages": versions(),
        "classification": classification,
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
    }
