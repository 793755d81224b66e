"""The config's choice of engine: ``input.engine``, ``input.scheduler``, ``input.memory_share``.

``memory`` (the default) reads the survey file into pandas. ``duckdb`` and ``dask``
run the out-of-core path of :mod:`flestimate.run.engine` over Parquet data (a file, a
folder or a glob); ``dask`` computes on the scheduler at ``input.scheduler``
(``tcp://host:8786``) or, without it, on Dask's default scheduler. ``auto`` takes
``duckdb`` for a Parquet input larger than ``memory_share`` of the machine's memory
(and for a folder or a glob), ``memory`` otherwise.
"""

from __future__ import annotations

import glob
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flestimate.errors import ConfigError, shown
from flestimate.run.config_values import _choice, _err, _file, _number, _str

__all__ = ["ENGINES", "INPUT_ENGINE_KEYS", "EngineSpec", "parse_engine", "parse_input_path"]

ENGINES = ("memory", "duckdb", "dask", "auto")
#: the keys of ``input:`` that choose the engine (beside ``path`` and ``options``)
INPUT_ENGINE_KEYS = ("engine", "scheduler", "memory_share")
_PARQUET = (".parquet", ".parq", ".pq")


@dataclass(frozen=True)
class EngineSpec:
    """How the survey data are read and summed (``input.engine`` and its options)."""

    engine: str = "memory"
    scheduler: str | None = None  # a Dask scheduler address, for engine dask
    memory_share: float = 0.25  # engine auto: out-of-core above this share of the memory


def parse_engine(inp: Mapping[str, Any]) -> EngineSpec:
    """The ``input.engine``, ``input.scheduler`` and ``input.memory_share`` keys."""
    engine = _choice(inp.get("engine", "memory"), "input.engine", ENGINES)
    scheduler = _str(inp.get("scheduler"), "input.scheduler", optional=True)
    if scheduler is not None:
        if engine != "dask":
            raise ConfigError(f"input.scheduler: found {shown(scheduler)} with input.engine "
                              f"{engine}; a scheduler address is for 'engine: dask' only")
        if "://" not in scheduler:
            raise _err("input.scheduler", scheduler,
                       "expected a Dask scheduler address such as 'tcp://10.0.0.5:8786'")
    share = inp.get("memory_share", 0.25)
    if "memory_share" in inp and engine != "auto":
        raise ConfigError(f"input.memory_share: found {shown(share)} with input.engine {engine}; "
                          f"the share of memory is for 'engine: auto' only")
    share = float(_number(share, "input.memory_share", lo=0, hi=1, lo_open=True))
    return EngineSpec(engine=engine, scheduler=scheduler, memory_share=share)


def parse_input_path(value: Any, base: Path, spec: EngineSpec) -> Path:
    """``input.path``: a file for the memory engine; for the others also a folder of
    Parquet files or a glob (``rounds/*.parquet``) that matches at least one."""
    other_file = (isinstance(value, str) and Path(base / value).is_file()
                  and not value.lower().endswith(_PARQUET))
    if spec.engine == "memory" or (spec.engine == "auto" and other_file):
        return _file(value, "input.path", base)  # auto: a .sav, .csv, ... stays in memory
    _str(value, "input.path")
    p = Path(value).expanduser()
    if not p.is_absolute():
        p = base / p
    text = str(p)
    if p.is_file() and p.suffix.lower() not in _PARQUET:
        raise _err("input.path", value, f"expected Parquet data with input.engine {spec.engine} "
                   f"(a .parquet file, a folder or a glob); convert the file with "
                   f"flestimate.io.write_parquet or use engine: memory")
    if p.is_file() or (p.is_dir() and any(p.rglob("*.parquet"))):
        return p
    if any(ch in text for ch in "*?[") and glob.glob(text, recursive=True):
        return p
    raise ConfigError(
        f"input.path: no Parquet data at {shown(value)} (looked in {shown(str(base), 200)}); "
        f"with input.engine {spec.engine} give a .parquet file, a folder holding some or a "
        f"glob such as 'rounds/*.parquet'"
    )
