"""The out-of-core engines of ``flestimate run``: DuckDB on this machine, Dask on a cluster.

With ``input.engine: duckdb`` or ``dask`` (or ``auto`` for a Parquet input larger than
``input.memory_share`` of the machine's memory) the survey never sits in memory:

1. the Parquet files are checked (every file has the columns of the first, with the
   same types; the file is named otherwise);
2. classification runs file by file (:func:`flestimate.large.classify_parquet`) into
   a staging folder (never beside the user's files; removed at the end of the run);
3. the run's derived columns (reference populations ``_pop_<name>``, stock columns,
   share categories) are computed file by file, as the in-memory run computes them
   (:func:`flestimate.run.inputs.add_columns`: the filters are row-wise), into the
   staging folder;
4. the design is a :class:`flestimate.large.LargeDesign` over the staged files, with
   the weighting steps replayed on each grouped sum, and every estimate of a table is
   made on the in-memory design over the rows grouped by the columns it uses
   (:meth:`LargeDesign.grouped`): the same code as the in-memory run, so the same
   numbers (up to the order of the additions).

What this path cannot do yet is refused before any data is read
(:func:`refuse_unsupported`), naming the key.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from flestimate.errors import ConfigError, FlestimateError, first_values
from flestimate.io.codebook import find_codebook, load_codebook, parquet_labels
from flestimate.large import LargeDesign, classify_parquet, connect
from flestimate.run.config_specs import Config, WeightingStepSpec
from flestimate.run.weighting_steps import apply_weighting, read_totals

try:  # the machine's memory on Windows (os.sysconf elsewhere)
    import psutil
except ImportError:  # pragma: no cover - psutil comes with the notebook tools
    psutil = None

__all__ = [
    "OUT_OF_CORE_STEPS",
    "STAGING_PREFIX",
    "check_input",
    "choose_engine",
    "dask_client",
    "input_files",
    "large_design",
    "parquet_bytes",
    "refuse_unsupported",
    "staging_folder",
    "step_columns",
    "total_memory",
    "weight_row",
]

#: the weighting steps the out-of-core run replays (tested equal to the in-memory run:
#: tests/large/test_large_weighting.py, tests/run/test_engine.py)
OUT_OF_CORE_STEPS = ("nonresponse", "poststratify", "rake", "calibrate")
#: the hidden folder of a run's staged Parquet files (inside the output folder)
STAGING_PREFIX = ".flestimate-engine-"
_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")


# ---------------------------------------------------------------- which engine


def total_memory() -> int:
    """The machine's physical memory in bytes: ``os.sysconf`` (Linux, macOS), else psutil."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf
            return int(psutil.virtual_memory().total) if psutil is not None else 0


def input_files(path: Path) -> list[str]:
    """The Parquet files of ``input.path`` (a file, a folder or a glob), sorted."""
    text = str(path)
    if path.is_dir():
        return sorted(str(f) for f in path.rglob("*.parquet"))
    if path.is_file():
        return [text]
    return sorted(glob.glob(text, recursive=True))


def parquet_bytes(files: list[str]) -> int:
    """The uncompressed size of the data of ``files`` (Parquet metadata only)."""
    total = 0
    for f in files:  # a loop over files (their footers), not rows
        meta = pq.ParquetFile(f).metadata
        total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return total


def choose_engine(config: Config) -> str:
    """``memory``, ``duckdb`` or ``dask`` for this run (``auto`` decided by the size)."""
    spec = config.engine
    if spec.engine != "auto":
        return spec.engine
    path = config.input_path
    if not path.is_file():  # a folder or a glob: the memory engine reads one file
        return "duckdb"
    if path.suffix.lower() not in _PARQUET_SUFFIXES:
        return "memory"
    size = parquet_bytes([str(path)])
    return "duckdb" if size > spec.memory_share * total_memory() else "memory"


def refuse_unsupported(config: Config, engine: str) -> None:
    """Refuse, naming the key, what the out-of-core path cannot do yet."""
    where = f"with input.engine {config.engine.engine} (the out-of-core path, here {engine})"
    if config.input_options:
        key = next(iter(config.input_options))
        raise ConfigError(f"input.options.{key}: not available {where}, which reads Parquet "
                          f"files as they are; remove input.options or use engine: memory")
    for key, spec in (("small_areas", config.small_areas), ("nsum", config.nsum),
                      ("proxy", config.proxy)):
        if spec is not None:
            raise ConfigError(f"{key}: the model-based section is not available {where} yet; "
                              f"remove it or use engine: memory")
    for key, given in (("compare", config.compare), ("tests", config.tests)):
        if given:
            raise ConfigError(f"{key}: comparisons and tests are not available {where} yet; "
                              f"remove the section or use engine: memory")
    if config.models:
        raise ConfigError(f"models: regression models are not available {where} yet; remove "
                          f"the section or use engine: memory")
    for t in config.tables:
        if t.missing_domain:
            raise ConfigError(f"{t.key}.missing_domain: not available {where} yet; remove it "
                              f"or use engine: memory")
    for step in config.weighting:
        if step.step == "trim":
            raise ConfigError(f"{step.key}.step: the trim step depends on each respondent's "
                              f"weight and is not available {where} yet; trim the weights "
                              f"before, or use engine: memory")
        if step.step not in OUT_OF_CORE_STEPS:  # a step type added later, not yet tested
            raise ConfigError(f"{step.key}.step: the {step.step} step is not available {where} "
                              f"yet (available: {', '.join(OUT_OF_CORE_STEPS)}); use "
                              f"engine: memory")
    if engine == "dask":
        for mod in ("dask.dataframe", "distributed"):
            _need(mod, "input.engine")
    else:
        _need("duckdb", "input.engine")


def _need(module: str, key: str) -> None:
    if importlib.util.find_spec(module.split(".")[0]) is None:
        raise ConfigError(f"{key}: the engine needs the package {module.split('.')[0]!r}; "
                          f"install it with pip install 'flestimate[large]'")


def dask_client(config: Config, engine: str) -> contextlib.AbstractContextManager[Any]:
    """A ``distributed.Client`` of ``input.scheduler`` (closed at the end), or None."""
    return connect(config.engine.scheduler if engine == "dask" else None)


# ---------------------------------------------------------------- staging


@contextlib.contextmanager
def staging_folder(work_dir: str | Path | None) -> Iterator[Path]:
    """A hidden staging folder inside ``work_dir`` (the output folder, created if needed
    and removed again if the run created it and fails), or a temporary folder. Removed
    at the end, whatever happens."""
    created: list[Path] = []
    if work_dir is None:
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
    else:
        out = Path(work_dir).expanduser().resolve()
        created = [p for p in (out, *out.parents) if not p.exists()]
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
    ok = False
    try:
        yield stage
        ok = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not ok:
            for p in created:  # innermost first; only the empty folders this run made
                try:
                    p.rmdir()
                except OSError:
                    break


def check_files(files: list[str]) -> list[str]:
    """Every Parquet file has the columns of the first, with the same types; returns
    the columns."""
    first = pq.read_schema(files[0])
    types = {name: str(first.field(name).type) for name in first.names}
    for f in files[1:]:  # a loop over files (their footers), not rows
        schema = pq.read_schema(f)
        names = set(schema.names)
        for name, kind in types.items():
            if name not in names:
                raise ConfigError(
                    f"input.path: column {name!r} is in {Path(files[0]).name!r} but not in the "
                    f"Parquet file {f!r} (its columns: {first_values(schema.names, 10)}); the "
                    f"files of one survey must hold the same columns")
            other = str(schema.field(name).type)
            if _family(other) != _family(kind):
                raise ConfigError(
                    f"input.path: column {name!r} has type {kind} in {Path(files[0]).name!r} but "
                    f"{other} in the Parquet file {f!r}; rewrite the odd file with the common type")
    return list(first.names)


def _family(kind: str) -> str:
    for prefix, fam in (("int", "int"), ("uint", "int"), ("float", "float"), ("double", "float"),
                        ("string", "text"), ("large_string", "text"), ("null", "null")):
        if kind.startswith(prefix):
            return fam
    return kind


def classify_files(source: Path, mapping: Any, out: Path,
                   settings: dict[str, Any] | None = None) -> list[str]:
    """:func:`flestimate.large.classify_parquet` of ``source`` (a file, folder or glob)
    into ``out``; an error names the file."""
    try:
        return [str(p) for p in classify_parquet(source, mapping, out, settings=settings)]
    except FlestimateError as exc:
        notes = " ".join(getattr(exc, "__notes__", ()))
        raise type(exc)(f"{exc} {notes}".strip()) from None


def derive_files(files: list[str], out: Path, derive: Any) -> tuple[list[str], list[Any]]:
    """``derive(frame) -> (frame, extra)`` on each file, written into ``out``; returns the
    files written and the extras (one per file)."""
    out.mkdir(parents=True, exist_ok=True)
    written, extras = [], []
    for i, f in enumerate(files):  # a loop over files; each is processed vectorised
        try:
            frame, extra = derive(pd.read_parquet(f))
        except FlestimateError as exc:
            raise type(exc)(f"{exc} (in the Parquet file {f!r})") from None
        target = out / f"part{i:05d}.parquet"
        frame.attrs = {}
        frame.to_parquet(target, index=False)
        written.append(str(target))
        extras.append(extra)
    return written, extras


def input_labels(path: Path, files: list[str]) -> tuple[dict, dict]:
    """The value and variable labels of the input, as :func:`flestimate.read_survey`
    finds them: the first file's ``flestimate.labels`` schema metadata, then a codebook
    beside a single input file (``NAME.codebook.yaml``), whose entries win."""
    labels = parquet_labels(pq.read_schema(files[0]).metadata, files[0])
    value, variable = dict(labels.value_labels), dict(labels.variable_labels)
    book = find_codebook(path) if path.is_file() else None
    if book is not None:
        numeric = [n for n, t in zip(pq.read_schema(files[0]).names,
                                     pq.read_schema(files[0]).types, strict=True)
                   if _family(str(t)) in ("int", "float")]
        extra = load_codebook(book, numeric_columns=numeric)
        value.update(extra.value_labels)
        variable.update(extra.variable_labels)
    return value, variable


# ---------------------------------------------------------------- the design


def step_columns(step: WeightingStepSpec) -> list[str]:
    """The sample columns a weighting step uses (its weighting cells or variables)."""
    opts = step.options
    if step.step == "nonresponse":
        cells = opts["cells"]
        return [opts["responded"], *([cells] if isinstance(cells, str) else cells)]
    if step.totals is not None:
        return [str(c) for c in read_totals(step).columns if c != "count"]
    spec = opts.get("margins") if step.step == "rake" else opts.get("variables")
    cols: list[str] = []
    for m in (spec or {}):
        cols += [c.strip() for c in re.split(r"[+:]| x ", str(m))]
    return cols


def check_input(config: Config, engine: str, client: Any) -> None:
    """The design's columns and weights on the input files themselves (before any
    staging), so that a bad weight is reported with the user's file and row."""
    large_design(config.input_path, config, engine, client, steps=False)


def large_design(folder: Path, config: Config, engine: str, client: Any, *,
                 steps: bool = True) -> Any:
    """The :class:`~flestimate.large.LargeDesign` of the config over ``folder``, with
    its weighting steps."""
    d = config.design
    if d.replicate is None:
        design = LargeDesign.over(str(folder), weight=d.weight, strata=d.strata, psu=d.psu,
                                  fpc=d.fpc, nest=d.nest, lonely_psu=d.lonely_psu,
                                  engine=engine, client=client)
    else:
        rep = dict(d.replicate)
        options = {k: rep[k] for k in ("scale", "rscales", "mse", "df", "rho") if k in rep}
        design = LargeDesign.over_replicates(str(folder), weight=d.weight,
                                             replicate_weights=rep["weights"],
                                             method=rep["method"], engine=engine, client=client,
                                             **options)
    for step in config.weighting if steps else ():  # a loop over the (few) steps
        design = design.weighted(_apply_step, columns=step_columns(step), spec=step)
    return design


def _apply_step(design: Any, *, spec: WeightingStepSpec) -> Any:
    """A config's weighting step on the grouped in-memory design."""
    return apply_weighting(design, spec)


def weight_row(stats: dict[str, Any]) -> dict[str, Any]:
    """Kish's summary of the input weights (the ``input`` row of ``weight_summary``)."""
    n, sw, sw2 = stats["n"], stats["sum"], stats["sum_sq"]
    deff = n * sw2 / (sw * sw)
    return {"step": "input", "n": n, "n_zero": stats["n_zero"], "sum": sw, "min": stats["min"],
            "max": stats["max"],
            "max_min_ratio": stats["max"] / stats["min"] if stats["min"] > 0 else np.nan,
            "cv": float(np.sqrt(max(deff - 1.0, 0.0))), "deff": deff,
            "n_effective": sw * sw / sw2}
