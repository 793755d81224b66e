"""``flestimate run`` on the out-of-core engines (DuckDB, Dask): the orchestration.

The same chain as :func:`flestimate.run.pipeline.run_pipeline`, with the data in
Parquet files (:mod:`flestimate.run.engine` for the engine steps): classification file
by file into a staging folder, the derived columns file by file, then each estimate on
the in-memory design over the rows grouped by the columns it uses
(:meth:`flestimate.large.LargeDesign.grouped`), which the in-memory run's functions
(:func:`~flestimate.run.tables.headline`, :func:`~flestimate.run.tables.build_table`)
then read as they read the full design.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from flestimate.errors import ConfigError
from flestimate.indicators import classify, load_mapping, output_columns
from flestimate.io.hashing import sha256_bytes, sha256_file
from flestimate.large import FREQUENCY, weight_sums
from flestimate.report.disclosure import protect_headline
from flestimate.report.plots import forest_plot_png
from flestimate.report.result import PublishedTable, RunResult
from flestimate.report.tables import population_unit
from flestimate.run import engine as eng
from flestimate.run.config import check_columns
from flestimate.run.config_specs import Config, TableSpec
from flestimate.run.inputs import (
    CAT_PREFIX,
    POP_PREFIX,
    STOCK_SUFFIX,
    _stock_columns,
    refuse_identifying_tables,
)
from flestimate.run.methods import methods_text
from flestimate.run.progress import Progress
from flestimate.run.provenance import manifest, settings
from flestimate.run.summaries import design_lines, weight_summary, weighting_steps_text
from flestimate.run.tables import build_table, estimate, headline, table_statistics

__all__ = ["run_out_of_core"]


def run_out_of_core(config: Config, engine: str, *, progress: Progress,
                    work_dir: str | Path | None, run_warnings: list[dict[str, Any]],
                    diags: list[Any]) -> RunResult:
    """The run of ``config`` on ``engine`` ("duckdb" or "dask"); staged files go into a
    hidden folder inside ``work_dir`` (the output folder) and are removed at the end.
    The run's warnings and diagnostics are appended to ``run_warnings`` and ``diags``
    (the pipeline adds them to the result)."""
    eng.refuse_unsupported(config, engine)
    started = datetime.now(timezone.utc)
    with eng.staging_folder(work_dir) as stage, eng.dask_client(config, engine) as client:
        run = _Run(config, engine, client, stage, progress, run_warnings, diags)
        return run.execute(started)


class _Run:
    """One out-of-core run: its staged files, design and results."""

    def __init__(self, config: Config, engine: str, client: Any, stage: Path,
                 progress: Progress, run_warnings: list, diags: list) -> None:
        self.config, self.engine, self.client, self.stage = config, engine, client, stage
        self.progress, self.run_warnings, self.diags = progress, run_warnings, diags

    # ------------------------------------------------------------------ staging
    def stage_data(self, files: list[str], settings_: dict | None, name: str,
                   indicators: set[str]) -> tuple[Any, dict[str, str | None], float]:
        """Classify (with ``settings_``) and derive the run's columns into the staging
        folder ``name``; returns the design, the population columns and the count of
        ``fl_uncertain`` respondents."""
        config = self.config
        if self.mapping is not None:
            files = eng.classify_files(config.input_path, self.mapping, self.stage / f"{name}-classified",
                                       settings=settings_)
        pops = {n: f for n, f in config.populations.items() if f is not None}
        selected = dict.fromkeys(pops, 0)
        local: list[dict] = []

        def derive(frame: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
            new: dict[str, Any] = {}
            for pname, flt in pops.items():
                new[f"{POP_PREFIX}{pname}"] = flt.evaluate(frame).astype(np.int8)
            for t in config.tables:
                if "share" in t.statistics:
                    new.setdefault(f"{CAT_PREFIX}{t.by[0]}", frame[t.by[0]])
            if config.duration is not None:
                new.update(_stock_columns(frame, config.duration.variable,
                                          config.duration.period, indicators, local))
            counts = {p: int(new[f"{POP_PREFIX}{p}"].sum()) for p in pops}
            uncertain = (float(pd.to_numeric(frame["fl_uncertain"]).fillna(0).sum())
                         if "fl_uncertain" in frame else 0.0)
            return frame.assign(**new), (counts, uncertain)

        derived, extras = eng.derive_files(files, self.stage / f"{name}-derived", derive)
        for counts, _ in extras:
            for p, k in counts.items():
                selected[p] += k
        for p, k in selected.items():
            if k == 0:
                raise ConfigError(f"populations.{p}: the filter {pops[p].source!r} selects no "
                                  f"row; check the column values")
        if name == "main":
            self.run_warnings.extend(_merge_counts(local))
            self.files = derived
        pop_cols = {n: (None if f is None else f"{POP_PREFIX}{n}")
                    for n, f in config.populations.items()}
        design = eng.large_design(self.stage / f"{name}-derived", config, self.engine,
                                  self.client)
        return design, pop_cols, float(sum(u for _, u in extras))

    # ------------------------------------------------------------------ the run
    def execute(self, started: datetime) -> RunResult:
        config, progress = self.config, self.progress
        with progress.step(f"checking the Parquet files (engine {self.engine})"):
            files = eng.input_files(config.input_path)
            columns = eng.check_files(files)
            self.labels, self.var_labels = eng.input_labels(config.input_path, files)
            eng.check_input(config, self.engine, self.client)
        self.mapping = None
        class_settings = framework = None
        indicator_cols: list[str] = []
        if config.mapping is not None:
            with progress.step(f"classifying {len(files)} Parquet file(s), one at a time"):
                self.mapping = load_mapping(config.mapping)
                empty = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
                try:
                    _, report = classify(_typed_empty(files[0], empty), self.mapping,
                                         return_report=True)
                except Exception:  # an empty frame the rules cannot read: no settings
                    report = None
                if report is not None:
                    class_settings, framework = dict(report.settings), report.framework
                indicator_cols = output_columns(self.mapping)
                columns = [*columns, *(c for c in indicator_cols if c not in columns)]
        indicators = {t.indicator for t in config.tables} | {config.indicator}
        check_columns(config, columns, indicators=indicator_cols)

        with progress.step(f"population columns and the design ({self.engine})"):
            design, pop_cols, uncertain = self.stage_data(files, None, "main", indicators)
            self._refuse_identifying(design, pop_cols)

        with progress.step(f"headline estimates ({self.engine})"):
            head_pop = pop_cols[config.headline_population]
            head = headline(self._grouped(design, head_pop, self._measures(config.indicator)), config, head_pop, self.diags)

        sensitivity = None
        if config.mapping is not None and config.sensitivity:
            with progress.step(f"sensitivity: conservative and upper-bound policies "
                               f"({self.engine})"):
                sensitivity = self._sensitivity(design, files, indicators, head_pop, uncertain)
        head, sensitivity = protect_headline(head, sensitivity, config.reliability)

        tables = []
        for t in config.tables:
            with progress.step(f"table {t.name} ({self.engine})"):
                tables.append(self._table(design, t, pop_cols[t.population]))

        with progress.step(f"design and weighting summaries ({self.engine})"):
            d = config.design
            stats = weight_sums(self.files, weight=d.weight, strata=d.strata, psu=d.psu,
                                engine=self.engine, client=self.client)
            summary = design_lines(config, n=stats["n"], sum_w=stats["sum"],
                                   sum_w2=stats["sum_sq"], n_strata=stats["n_strata"],
                                   n_psus=stats["n_psus"], headline=head)
            summary["Engine"] = f"{self.engine} (out-of-core, {len(files)} Parquet file(s))"
            # after the steps: one more grouped sum (the groups' smallest, largest and
            # squared weights); without steps the input weights' row
            weights = weight_summary(design.weight_summary() if config.weighting
                                     else pd.DataFrame([eng.weight_row(stats)]))
        source = SimpleNamespace(source=SimpleNamespace(sha256=_files_sha256(files)))
        return RunResult(
            title=config.title, tables=tables, headline=head, sensitivity=sensitivity,
            design=summary, weighting=weighting_steps_text(config), weight_summary=weights,
            methods=methods_text(config, class_settings, framework), warnings=[],
            settings=settings(config),
            manifest=manifest(config, source, rows=stats["n"],  # type: ignore[arg-type]
                              started=started, classification=class_settings,
                              timings=progress.timings),
            sections=[],
        )

    def _grouped(self, design: Any, pop_col: str | None, cols: list[str]) -> Any:
        """The in-memory design over the rows grouped by ``pop_col`` and ``cols`` (and
        the design's and weighting steps' columns)."""
        return design.grouped([c for c in (pop_col, *cols) if c])

    def _measures(self, indicator: str) -> list[str]:
        """The columns an estimate of ``indicator`` reads: it and its stock column."""
        stock = [indicator + STOCK_SUFFIX] if self.config.duration is not None else []
        return [indicator, *stock]

    def _table(self, design: Any, t: TableSpec, pop_col: str | None) -> PublishedTable:
        config = self.config
        cols = [*self._measures(t.indicator), *t.by]
        if "share" in t.statistics:
            cols.append(f"{CAT_PREFIX}{t.by[0]}")
        tab = build_table(self._grouped(design, pop_col, cols), t, config, pop_col,
                          self.labels, self.diags)
        plot = None
        if config.outputs.plots and t.by and "prevalence" in t.statistics:
            plot = forest_plot_png(
                tab, list(t.by), statistic="prevalence", title=t.title,
                xlabel=f"prevalence {population_unit(t.population, config.scale)}")
        return PublishedTable(
            name=t.name, title=t.title, indicator=t.indicator, population=t.population,
            by=list(t.by), statistics=table_statistics(t, config), ci_method=t.ci_method,
            level=t.level, frame=tab, plot_png=plot, by_labels={b: str(self.var_labels.get(b, b)) for b in t.by})

    def _refuse_identifying(self, design: Any, pop_cols: dict[str, str | None]) -> None:
        for t in self.config.tables:  # a loop over the (few) tables
            if not t.by:
                continue
            pop_col = pop_cols[t.population]
            grouped = design.grouped([c for c in (pop_col, *t.by) if c]).data
            one = dataclasses.replace(self.config, tables=(t,))
            refuse_identifying_tables(grouped, one, pop_cols, counts=FREQUENCY)

    def _sensitivity(self, design: Any, files: list[str], indicators: set[str],
                     head_pop: str | None, uncertain: float) -> dict[str, Any]:
        config = self.config
        band = {}
        for policy in ("conservative", "upper_bound"):
            other, _, _ = self.stage_data(files, {"missing_policy": policy}, policy, indicators)
            band[policy] = headline(self._grouped(other, head_pop,
                                                  self._measures(config.indicator)),
                                    config, head_pop, [])
        g = self._grouped(design, None, ["fl_uncertain"])
        unc = estimate(g, "total", "fl_uncertain", [], None, config.ci_method, config.level,
                       1.0, [])
        share = estimate(g, "prevalence", "fl_uncertain", [], None, config.ci_method,
                         config.level, 1.0, [])
        return {**band, "changed_n": int(uncertain),
                "changed_weighted": float(unc["estimate"].iloc[0]),
                "changed_weighted_share": float(share["estimate"].iloc[0])}


def _typed_empty(file: str, fallback: pd.DataFrame) -> pd.DataFrame:
    """An empty frame with the columns and types of ``file`` (for the classifier's settings)."""
    try:
        return pq.read_schema(file).empty_table().to_pandas()
    except (OSError, ValueError):
        return fallback


_LEADING_COUNT = re.compile(r"^(\d+) ")


def _merge_counts(found: list[dict]) -> list[dict]:
    """Warnings found file by file, as one per kind: the leading counts of the same
    message added up."""
    merged: dict[tuple[str, str], int] = {}
    for w in found:
        m = _LEADING_COUNT.match(w["message"])
        rest = w["message"][m.end():] if m else w["message"]
        key = (w["code"], rest)
        merged[key] = merged.get(key, 0) + (int(m.group(1)) if m else 0)
    return [{"code": code, "severity": "warning", "message": f"{n} {rest}" if n else rest}
            for (code, rest), n in merged.items()]


def _files_sha256(files: list[str]) -> str:
    """One digest of the input: of each file's name and SHA-256, in order."""
    if len(files) == 1:
        return sha256_file(Path(files[0]))
    lines = "".join(f"{Path(f).name}:{sha256_file(Path(f))}\n" for f in files)
    return sha256_bytes(lines.encode())
