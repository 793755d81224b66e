"""The config-driven run behind ``flestimate run``: the orchestration.

The pipeline is the same chain of public calls a notebook user makes::

    data = flestimate.read_survey(path)
    data = flestimate.classify(data, mapping)
    design = flestimate.SurveyDesign(frame, weight=..., strata=..., psu=...)
    design = flestimate.poststratify(design, ...)            # weighting steps, in order
    design.prevalence("fl", by=["_pop_adults", "sex"], ...)  # population as a domain
    design.total("fl", by=[...])

Each step is in a room of its own: the inputs and the design
(:mod:`~flestimate.run.inputs`, :mod:`~flestimate.run.weighting_steps`), the estimates
(:mod:`~flestimate.run.tables`), the summaries, the methods text and the provenance.
The report's rules are the config's ``reliability:`` section
(:class:`~flestimate.report.specs.ReliabilityRules`).

A reference population (adults, children, workers) is a 0/1 column used as a
*domain* (``by``) of the full design: rows outside it are never dropped, so the
variance accounts for the random size of the population in the sample. The
prevalence per 1,000 of population ``P`` is the domain ratio
``1000 * sum(w * y * P) / sum(w * P)``.

The stock "on any given day" (ILO-STANDARDS 2.8) is the total of
``y * min(d, T) / T`` where ``d`` is the time in the situation within a reference
window of length ``T``.
"""

from __future__ import annotations

import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from flestimate.errors import FlestimateWarning
from flestimate.indicators import classify, load_mapping, output_columns
from flestimate.io.frames import as_frame, value_labels_of
from flestimate.report.disclosure import protect_headline
from flestimate.report.plots import forest_plot_png
from flestimate.report.result import PublishedTable, RunResult
from flestimate.report.tables import population_unit
from flestimate.run.comparisons import add_test_columns, comparisons, tests
from flestimate.run.config import check_columns
from flestimate.run.config_specs import Config
from flestimate.run.engine import choose_engine
from flestimate.run.engine_run import run_out_of_core
from flestimate.run.inputs import (
    add_columns,
    read_input,
    refuse_identifying_tables,
    weighted_design,
)
from flestimate.run.methods import methods_text
from flestimate.run.model_sections import model_sections
from flestimate.run.models import add_model_columns
from flestimate.run.progress import Progress
from flestimate.run.provenance import manifest, settings
from flestimate.run.small_areas import add_area_column
from flestimate.run.summaries import design_summary, weight_summary, weighting_steps_text
from flestimate.run.tables import build_table, estimate, headline, table_statistics

__all__ = ["Progress", "count_steps", "run_pipeline"]


def count_steps(config: Config, *, writing: bool = True) -> int:
    """Number of progress steps of a run (for the progress bar)."""
    steps = 4 + len(config.tables) + int(writing) + int(bool(config.compare or config.tests))
    if config.mapping is not None:
        steps += 1 + int(config.sensitivity)
    return (steps + sum(spec is not None for spec in (config.small_areas, config.nsum,
                                                       config.proxy))
            + len(config.models))


def run_pipeline(config: Config, *, progress: Progress | None = None,
                 work_dir: str | Path | None = None) -> RunResult:
    """Run the estimation described by ``config`` and return the publishable results.

    Parameters
    ----------
    config : Config
        A validated configuration (:func:`flestimate.run.config.load_config`).
    progress : Progress, optional
        Progress display; silent if omitted.
    work_dir : path-like, optional
        The output folder: the out-of-core engines (``input.engine``) stage their files
        in a hidden folder inside it, removed at the end (default: a temporary folder).

    Returns
    -------
    RunResult
        Tables (after reliability grading and suppression), headline, sensitivity band,
        design and weighting summaries, methods text, warnings and the manifest. It
        holds no microdata.

    Raises
    ------
    FlestimateError
        A config or data problem (bad column, unreadable file, invalid design...).

    Notes
    -----
    Prevalence per ``scale`` of population ``P`` (a 0/1 domain column):
    ``R = scale * sum(w y P) / sum(w P)``, estimated as a domain ratio of the full
    design (Taylor-linearised or replicate variance). Number of persons:
    ``Y = sum(w y P)``. Stock on any given day: ``S = sum(w y P d / T)``, with ``d`` the
    duration; a ``d`` missing or outside ``[0, T]`` (a "don't know" code) counts as ``T``.

    References
    ----------
    ILO (2018). Guidelines concerning the measurement of forced labour, 20th ICLS.
    Lumley, T. (2010). Complex Surveys: A Guide to Analysis Using R, chapter 2 (domains).
    """
    progress = progress or Progress(count_steps(config, writing=False), quiet=True)
    run_warnings: list[dict[str, Any]] = []
    diags: list[Any] = []
    engine = choose_engine(config)
    if engine != "memory":  # DuckDB or Dask over Parquet files (run/engine_run.py)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FlestimateWarning)
            result = run_out_of_core(config, engine, progress=progress, work_dir=work_dir,
                                     run_warnings=run_warnings, diags=diags)
        result.warnings.extend(_warnings_of(caught, diags, run_warnings, result.tables))
        return result
    started = datetime.now(timezone.utc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FlestimateWarning)

        with progress.step("reading the survey file"):
            source = data = read_input(config)
        labels = value_labels_of(data)

        class_settings = None
        framework = None
        indicator_cols: list[str] = []
        policies: dict[str, Any] = {}
        if config.mapping is not None:
            with progress.step("classifying (forced-labour rules)"):
                mapping = load_mapping(config.mapping)
                data, report = classify(data, mapping, return_report=True)
                class_settings = dict(report.settings)
                framework = report.framework
                indicator_cols = output_columns(mapping)
                for note in report.notes:
                    run_warnings.append({"code": "classification", "severity": "warning",
                                         "message": note})
                if config.sensitivity:
                    unclassified = as_frame(data).drop(columns=indicator_cols)
                    policies = {policy: classify(unclassified, mapping,
                                                 settings={"missing_policy": policy})
                                for policy in ("conservative", "upper_bound")}
        labels = {**labels, **value_labels_of(data)}
        frame = as_frame(data)
        indicators = {t.indicator for t in config.tables} | {config.indicator}
        check_columns(config, frame.columns, indicators=indicator_cols)

        with progress.step("building the design and weights"):
            frame_x, pop_cols = add_columns(frame, config, indicators, run_warnings)
            frame_x = add_area_column(frame_x, config)
            frame_x = add_test_columns(frame_x, config, pop_cols)
            frame_x = add_model_columns(frame_x, config, pop_cols)
            refuse_identifying_tables(frame_x, config, pop_cols)
            design = weighted_design(frame_x, config)

        with progress.step("headline estimates"):
            head_pop = pop_cols[config.headline_population]
            head = headline(design, config, head_pop, diags)

        sensitivity = None
        if policies:
            with progress.step("sensitivity: conservative and upper-bound policies"):
                sensitivity = _sensitivity(design, frame, policies, config, indicators, head_pop)
        head, sensitivity = protect_headline(head, sensitivity, config.reliability)

        tables: list[PublishedTable] = []
        var_labels = dict(getattr(data, "variable_labels", None) or {})
        for t in config.tables:
            with progress.step(f"table {t.name}"):
                tab = build_table(design, t, config, pop_cols[t.population], labels, diags)
                plot = None
                if config.outputs.plots and t.by and "prevalence" in t.statistics:
                    plot = forest_plot_png(
                        tab, list(t.by), statistic="prevalence", title=t.title,
                        xlabel=f"prevalence {population_unit(t.population, config.scale)}")
                tables.append(PublishedTable(
                    name=t.name, title=t.title, indicator=t.indicator, population=t.population,
                    by=list(t.by), statistics=table_statistics(t, config),
                    ci_method=t.ci_method, level=t.level, frame=tab, plot_png=plot,
                    by_labels={b: str(var_labels.get(b, b)) for b in t.by}))

        sections = model_sections(design, config, labels, diags, progress, pop_cols)
        compared = tested = None
        if config.compare or config.tests:
            with progress.step("comparisons and tests"):
                compared = comparisons(design, config, pop_cols, tables)
                tested = tests(design, config, pop_cols)

        with progress.step("design and weighting summaries"):
            summary = design_summary(frame, config, design, head)
            weights = weight_summary(design)

    run_warnings += _warnings_of(caught, diags, run_warnings, tables)
    return RunResult(
        title=config.title, tables=tables, headline=head, sensitivity=sensitivity,
        design=summary, weighting=weighting_steps_text(config), weight_summary=weights,
        methods=methods_text(config, class_settings, framework), warnings=run_warnings,
        settings=settings(config),
        manifest=manifest(config, source, rows=int(len(frame)), started=started,
                          classification=class_settings, timings=progress.timings),
        sections=sections,
        comparisons=compared, tests=tested,
    )


def _sensitivity(design: Any, frame: pd.DataFrame, policies: dict[str, Any], config: Config,
                 indicators: set[str], head_pop: str | None) -> dict[str, Any]:
    """The headline under the conservative and upper-bound missing-data policies, and
    the persons whose status depends on the policy (``fl_uncertain``)."""
    band = {}
    for name, data in policies.items():
        fx, _ = add_columns(as_frame(data), config, indicators, [])
        band[name] = headline(weighted_design(fx, config), config, head_pop, [])
    unc = estimate(design, "total", "fl_uncertain", [], None, config.ci_method, config.level,
                   1.0, [])
    unc_share = estimate(design, "prevalence", "fl_uncertain", [], None, config.ci_method,
                         config.level, 1.0, [])
    return {
        **band,
        "changed_n": int(pd.to_numeric(frame["fl_uncertain"]).fillna(0).sum()),
        "changed_weighted": float(unc["estimate"].iloc[0]),
        "changed_weighted_share": float(unc_share["estimate"].iloc[0]),
    }


def _warnings_of(caught: list[warnings.WarningMessage], diags: list[Any],
                 earlier: list[dict[str, Any]], tables: list[PublishedTable]) -> list[dict]:
    """The run's warnings (each once), its diagnostics and the count of suppressed and
    'caution' estimates, after the ``earlier`` ones."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for w in caught:
        if issubclass(w.category, FlestimateWarning):
            key = (w.category.__name__, str(w.message))
            if key not in seen:
                seen.add(key)
                out.append({"code": w.category.__name__, "severity": "warning",
                            "message": str(w.message)})
    for dg in diags:
        key = (getattr(dg, "code", "diagnostic"), getattr(dg, "message", str(dg)))
        if key not in seen:
            seen.add(key)
            out.append({"code": key[0], "severity": getattr(dg, "severity", "warning"),
                        "message": key[1]})
    n_sup = sum(int(t.frame["suppressed"].sum()) for t in tables)
    n_caut = sum(int((t.frame["quality"] == "caution").sum()) for t in tables)
    if n_sup:
        out.append({"code": "suppressed", "severity": "info", "message": (
            f"{n_sup} estimates are suppressed by the reliability and disclosure rules; the "
            f"reason is given with each")})
    if n_caut:
        out.append({"code": "caution", "severity": "info", "message": (
            f"{n_caut} estimates are flagged 'caution' (high CV or few degrees of freedom)")})
    return out
