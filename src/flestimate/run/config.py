"""The configuration of ``flestimate run``: YAML schema and validation.

A config file is read by :func:`flestimate.io.safe_yaml.read_yaml_file` (a safe
loader: no code is ever evaluated; size, nesting and alias expansion are bounded) and
checked key by key; a number that is not finite (``.nan``, ``.inf``) is refused anywhere. Every error names the key path (``tables[2].by[0]``), the
value found and what is allowed; an unknown key suggests the closest known key.
Relative paths are resolved against the folder of the config file. Filters
(reference populations) are parsed by the safe language of :mod:`flestimate.run.expr`.

The result is a :class:`~flestimate.run.config_specs.Config` of plain specifications
(:mod:`flestimate.run.config_specs`). Choices are read from the registries that the
engine uses (CI methods, lonely-PSU rules, replicate methods) and from the options the
weighting steps and :func:`flestimate.read_survey` declare, so an unknown option is
refused here, before any data is read.

Checks that need the data (do the columns exist?) are done by
:func:`check_columns` once the survey file is read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flestimate.design.lonely_psu import LONELY_PSU_RULES
from flestimate.design.replicate.registry import REPLICATE_METHODS
from flestimate.errors import ConfigError, shown
from flestimate.estimation.cimethods import CI_METHODS
from flestimate.io.safe_yaml import read_yaml_file
from flestimate.report.specs import OutputOptions, ReliabilityRules
from flestimate.run.config_compare import check_test_columns, parse_compare, parse_tests
from flestimate.run.config_engine import INPUT_ENGINE_KEYS, parse_engine, parse_input_path
from flestimate.run.config_models import check_model_columns, parse_models
from flestimate.run.config_nsum import check_nsum_columns, parse_nsum
from flestimate.run.config_proxy import check_proxy_columns, parse_proxy
from flestimate.run.config_small_areas import check_small_area_columns, parse_small_areas
from flestimate.run.config_specs import (
    READ_SURVEY_OPTIONS,
    REPLICATE_KEYS,
    STATISTICS,
    WEIGHTING_STEP_TYPES,
    Config,
    DesignSpec,
    DurationSpec,
    TableSpec,
    WeightingStepSpec,
)
from flestimate.run.config_values import (
    _NAME_RE,
    _bool,
    _check_finite,
    _check_keys,
    _check_options,
    _choice,
    _err,
    _file,
    _mapping,
    _missing,
    _number,
    _str,
    _str_list,
)
from flestimate.run.expr import ExpressionError, Filter

__all__ = ["check_columns", "load_config", "parse_config"]



# ---------------------------------------------------------------- sections

_TOP_KEYS = (
    "title", "input", "mapping", "seed", "design", "weighting", "populations",
    "estimation", "headline", "duration", "sensitivity", "tables", "reliability", "outputs",
    "small_areas", "nsum", "proxy",
    "compare", "tests", "models",
)  # fmt: skip


def _parse_design(raw: Any) -> DesignSpec:
    sec = _mapping(raw, "design")
    if not sec:
        raise ConfigError("design: required section is missing (at least design.weight)")
    _check_keys(sec, "design", ("weight", "strata", "psu", "fpc", "nest", "lonely_psu",
                                "replicate"))
    rep = sec.get("replicate")
    if rep is not None:
        rep = dict(_mapping(rep, "design.replicate"))
        _check_keys(rep, "design.replicate", REPLICATE_KEYS, required=("weights", "method"))
        w = rep["weights"]
        if isinstance(w, list):
            _str_list(w, "design.replicate.weights")
        else:
            _str(w, "design.replicate.weights")
            if len(w) > 200:
                raise _err("design.replicate.weights", w, "expected a regular expression of at "
                           "most 200 characters (e.g. '^rw_[0-9]+$') or a list of columns")
            try:
                re.compile(w)
            except re.error as exc:
                raise _err("design.replicate.weights", w, f"expected a regular expression "
                           f"(e.g. '^rw_[0-9]+$'): {exc}") from None
        _choice(rep["method"], "design.replicate.method", REPLICATE_METHODS)
        for k in ("strata", "psu", "fpc", "nest"):
            if sec.get(k) is not None and sec.get(k) is not False:
                raise ConfigError(
                    f"design.{k}: found {shown(sec[k])} together with design.replicate; a replicate "
                    f"design carries its design in the replicate weights: remove design.{k}"
                )
    weight = _str(sec.get("weight"), "design.weight")
    return DesignSpec(
        weight=weight,  # type: ignore[arg-type]
        strata=_str(sec.get("strata"), "design.strata", optional=True),
        psu=_str(sec.get("psu"), "design.psu", optional=True),
        fpc=_str(sec.get("fpc"), "design.fpc", optional=True),
        lonely_psu=_choice(sec.get("lonely_psu", "fail"), "design.lonely_psu", LONELY_PSU_RULES),
        replicate=rep,
        nest=_bool(sec.get("nest", False), "design.nest"),
    )


def _parse_weighting(raw: Any, base: Path) -> tuple[WeightingStepSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _err("weighting", raw, "expected a list of steps, each with 'step: <name>'")
    steps = []
    for i, item in enumerate(raw):
        key = f"weighting[{i}]"
        item = _mapping(item, key)
        if "step" not in item:
            raise ConfigError(f"{key}.step: required key is missing; allowed: "
                              f"{', '.join(WEIGHTING_STEP_TYPES)}")
        name = _choice(item["step"], f"{key}.step", WEIGHTING_STEP_TYPES)
        _check_step_options(item, key, name)
        totals = None
        if item.get("totals") is not None:
            totals = _file(item["totals"], f"{key}.totals", base)
        opts = {k: v for k, v in item.items() if k not in ("step", "totals")}
        steps.append(WeightingStepSpec(step=name, totals=totals, options=opts, key=key))
    return tuple(steps)


def _check_step_options(item: Mapping, key: str, name: str) -> None:
    """The step's keys against the options its type declares (config_specs)."""
    kind = WEIGHTING_STEP_TYPES[name]
    fname = f"flestimate.{kind.function}"
    given = [k for k in item if k != "step" and item[k] is not None]
    if "totals" in given and not kind.takes_totals:
        raise ConfigError(f"{key}.totals: {fname} takes no totals table; its options are: "
                          f"{', '.join(kind.options)}")
    _check_options({k: v for k, v in item.items() if k != "step"}, key, kind.options, fname,
                   listing="its options are")
    required = [k for k in kind.required if k not in given]
    if kind.one_of and not set(kind.one_of) & set(given):
        required.append(" or ".join(kind.one_of))
    if required:
        raise ConfigError(f"{key}: the {name} step needs the option"
                          f"{'s' if len(required) > 1 else ''} {', '.join(required)} "
                          f"(see {fname}); add {required[0].split()[0]}: ... under the step")


def _parse_populations(raw: Any) -> dict[str, Filter | None]:
    sec = _mapping(raw, "populations")
    pops: dict[str, Filter | None] = {"total": None}
    for name, text in sec.items():
        key = f"populations.{name}"
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise _err(key, name, "a population name is a letter followed by letters, digits, '_' or '-'")
        if text is None or (isinstance(text, str) and text.strip().lower() in ("all", "")):
            pops[name] = None
            continue
        if not isinstance(text, str):
            raise _err(key, text, "expected a filter such as 'age >= 18' (or 'all')")
        try:
            pops[name] = Filter(text)
        except ExpressionError as exc:
            raise ConfigError(f"{key}: {exc}") from None
    return pops


def _parse_reliability(raw: Any) -> ReliabilityRules:
    sec = _mapping(raw, "reliability")
    allowed = ("min_n", "cv_flag", "cv_suppress", "min_df", "nchs", "complementary")
    _check_keys(sec, "reliability", allowed)
    d = ReliabilityRules()
    spec = ReliabilityRules(
        min_n=_number(sec.get("min_n", d.min_n), "reliability.min_n", lo=0, integer=True),
        cv_flag=_number(sec.get("cv_flag", d.cv_flag), "reliability.cv_flag", lo=0, lo_open=True),
        cv_suppress=_number(
            sec.get("cv_suppress", d.cv_suppress), "reliability.cv_suppress", lo=0, lo_open=True
        ),
        min_df=_number(sec.get("min_df", d.min_df), "reliability.min_df", lo=0, integer=True),
        nchs=_bool(sec.get("nchs", d.nchs), "reliability.nchs"),
        complementary=_bool(sec.get("complementary", d.complementary), "reliability.complementary"),
    )
    if spec.cv_suppress < spec.cv_flag:
        raise ConfigError(
            f"reliability.cv_suppress: found {spec.cv_suppress}, smaller than "
            f"reliability.cv_flag ({spec.cv_flag}); the suppression threshold must be >= the flag threshold"
        )
    return spec


def _parse_outputs(raw: Any) -> OutputOptions:
    sec = _mapping(raw, "outputs")
    allowed = ("csv", "excel", "json", "html", "plots")
    _check_keys(sec, "outputs", allowed)
    return OutputOptions(**{k: _bool(sec.get(k, True), f"outputs.{k}") for k in allowed})


def _parse_tables(raw: Any, *, indicator, populations, ci_method, level) -> tuple[TableSpec, ...]:
    if raw is None:
        raw = [{"name": "national"}]
    if not isinstance(raw, list) or not raw:
        raise _err("tables", raw, "expected a non-empty list of tables, each with a 'name'")
    allowed = ("name", "title", "indicator", "population", "statistics", "by", "total",
               "ci_method", "level", "missing_domain")  # fmt: skip
    tables = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"tables[{i}]"
        item = _mapping(item, key)
        _check_keys(item, key, allowed, required=("name",))
        name = item["name"]
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise _err(f"{key}.name", name,
                       "a table name is a letter followed by letters, digits, '_' or '-' (at most 41)")
        if name in seen:
            raise _err(f"{key}.name", name, "table names must be unique")
        seen.add(name)
        pop = item.get("population", "total")
        if not isinstance(pop, str) or pop not in populations:
            _choice(pop, f"{key}.population", list(populations))
        stats = item.get("statistics", ["prevalence", "total"])
        if isinstance(stats, str):
            stats = [stats]
        if not isinstance(stats, list) or not stats:
            raise _err(f"{key}.statistics", stats, f"expected a list from: {', '.join(STATISTICS)}")
        stats = tuple(_choice(s, f"{key}.statistics[{j}]", STATISTICS) for j, s in enumerate(stats))
        by = _str_list(item.get("by"), f"{key}.by")
        if "share" in stats and len(by) != 1:
            raise _err(f"{key}.by", list(by),
                       "the 'share' statistic needs exactly one 'by' column (the distribution of "
                       "persons in forced labour over its categories)")
        missing_domain = _bool(item.get("missing_domain", False), f"{key}.missing_domain")
        if missing_domain and "share" in stats:
            raise _err(f"{key}.missing_domain", True, "a 'share' table is the distribution over "
                       "the known categories; remove missing_domain or the share statistic")
        tables.append(
            TableSpec(
                name=name,
                title=_str(item.get("title", name.replace("_", " ").capitalize()), f"{key}.title"),  # type: ignore[arg-type]
                indicator=_str(item.get("indicator", indicator), f"{key}.indicator"),  # type: ignore[arg-type]
                population=pop,
                statistics=stats,
                by=by,
                total=_bool(item.get("total", True), f"{key}.total"),
                ci_method=_choice(item.get("ci_method", ci_method), f"{key}.ci_method", CI_METHODS),
                level=_number(item.get("level", level), f"{key}.level", lo=0, hi=1,
                              lo_open=True, hi_open=True),
                key=key,
                missing_domain=missing_domain,
            )
        )
    return tuple(tables)


def parse_config(raw: Any, *, base_dir: Path | str = ".", path: Path | None = None) -> Config:
    """Validate a configuration given as a mapping (the parsed YAML).

    Parameters
    ----------
    raw : mapping
        The configuration.
    base_dir : path-like
        Folder against which relative file paths are resolved.
    path : Path, optional
        The config file, for the record.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        On the first invalid key, with its path, the value found and what is allowed.
    """
    base = Path(base_dir)
    if not isinstance(raw, Mapping):
        raise _err("config", raw, "expected a YAML mapping with at least 'input', 'design' and 'tables'")
    _check_keys(raw, "", _TOP_KEYS, required=("input", "design"))
    _check_finite(raw)

    inp = raw["input"]
    if isinstance(inp, str):
        inp = {"path": inp}
    inp = _mapping(inp, "input")
    _check_keys(inp, "input", ("path", "options", *INPUT_ENGINE_KEYS), required=("path",))
    engine = parse_engine(inp)
    input_path = parse_input_path(inp["path"], base, engine)
    options = dict(_mapping(inp.get("options"), "input.options"))
    _check_options(options, "input.options", READ_SURVEY_OPTIONS, "flestimate.read_survey")

    mapping = None
    if raw.get("mapping") is not None:
        mapping = _file(raw["mapping"], "mapping", base)

    seed = raw.get("seed")
    if seed is not None:
        _number(seed, "seed", lo=0, integer=True)

    est = _mapping(raw.get("estimation"), "estimation")
    _check_keys(est, "estimation", ("indicator", "ci_method", "level", "scale", "na_rm"))
    na_rm = _bool(est.get("na_rm", False), "estimation.na_rm")
    indicator = _str(est.get("indicator", "fl"), "estimation.indicator")
    ci_method = _choice(est.get("ci_method", "korn-graubard"), "estimation.ci_method", CI_METHODS)
    level = _number(est.get("level", 0.95), "estimation.level", lo=0, hi=1, lo_open=True, hi_open=True)
    scale = _number(est.get("scale", 1000), "estimation.scale", lo=0, lo_open=True)

    populations = _parse_populations(raw.get("populations"))

    head = _mapping(raw.get("headline"), "headline")
    _check_keys(head, "headline", ("population",))
    headline_pop = head.get("population", "total")
    if not isinstance(headline_pop, str) or headline_pop not in populations:
        _choice(headline_pop, "headline.population", list(populations))

    duration = None
    if raw.get("duration") is not None:
        dsec = raw["duration"]
        if isinstance(dsec, str):
            dsec = {"variable": dsec}
        dsec = _mapping(dsec, "duration")
        _check_keys(dsec, "duration", ("variable", "period"), required=("variable",))
        duration = DurationSpec(
            variable=_str(dsec["variable"], "duration.variable"),  # type: ignore[arg-type]
            period=float(_number(dsec.get("period", 12), "duration.period", lo=0, lo_open=True)),
        )

    tables = _parse_tables(raw.get("tables"), indicator=indicator, populations=populations,
                           ci_method=ci_method, level=float(level))
    small_areas, nsum, proxy = _parse_model_sections(raw, base, indicator,  # type: ignore[arg-type]
                                                     float(scale), tables)
    return Config(
        path=path,
        base_dir=base,
        title=_str(raw.get("title", "Forced labour estimates"), "title"),  # type: ignore[arg-type]
        input_path=input_path,
        input_options=options,
        mapping=mapping,
        seed=seed,
        design=_parse_design(raw.get("design")),
        weighting=_parse_weighting(raw.get("weighting"), base),
        populations=populations,
        indicator=indicator,  # type: ignore[arg-type]
        ci_method=ci_method,
        level=float(level),
        scale=float(scale),
        na_rm=na_rm,
        headline_population=headline_pop,
        duration=duration,
        sensitivity=_bool(raw.get("sensitivity", True), "sensitivity"),
        tables=tables,
        reliability=_parse_reliability(raw.get("reliability")),
        outputs=_parse_outputs(raw.get("outputs")),
        raw=dict(raw),
        small_areas=small_areas,
        nsum=nsum,
        proxy=proxy,
        compare=parse_compare(raw.get("compare"), tables),
        tests=parse_tests(raw.get("tests"), populations),
        models=_parse_models(raw.get("models"), populations, tables, small_areas, nsum),
        engine=engine,
    )


def _parse_model_sections(raw: Mapping, base: Path, indicator: str, scale: float,
                          tables: tuple[TableSpec, ...]) -> tuple[Any, Any, Any]:
    """The ``small_areas:``, ``nsum:`` and ``proxy:`` sections (run/config_small_areas.py,
    run/config_nsum.py, run/config_proxy.py); their tables' names must differ from the
    other tables'."""
    small_areas = parse_small_areas(raw.get("small_areas"), base, indicator=indicator)
    nsum = parse_nsum(raw.get("nsum"), base)
    proxy = parse_proxy(raw.get("proxy"), base, scale=scale)
    seen = {t.name.lower() for t in tables}
    for key, spec, names in (
        ("small_areas", small_areas, lambda s: (s.name,)),
        ("nsum", nsum, lambda s: (s.name, s.name + "_validation", s.name + "_sensitivity")),
        ("proxy", proxy, lambda s: s.table_names),
    ):
        if spec is None:
            continue
        if not _NAME_RE.match(spec.name):
            raise _err(f"{key}.name", spec.name, "a table name is a letter followed by letters, "
                       "digits, '_' or '-' (at most 41)")
        for name in names(spec):
            if name.lower() in seen:
                raise _err(f"{key}.name", spec.name, "expected a name different from every "
                           "table's (it names the CSV file and the workbook sheets)")
            seen.add(name.lower())
    return small_areas, nsum, proxy


def _parse_models(raw: Any, populations: Mapping[str, Any], tables: tuple[TableSpec, ...],
                  small_areas: Any, nsum: Any) -> tuple[Any, ...]:
    """The ``models:`` section (run/config_models.py); a model's name names its CSV file
    and workbook sheets, so it differs from every table's."""
    models = parse_models(raw, populations)
    taken = {t.name.lower() for t in tables}
    for spec, extra in ((small_areas, ()), (nsum, ("_validation", "_sensitivity"))):
        if spec is not None:
            taken |= {(spec.name + e).lower() for e in ("", *extra)}
    for m in models:
        if m.name.lower() in taken:
            raise _err(f"{m.key}.name", m.name, "expected a name different from every "
                       "table's (it names the CSV file and the workbook sheets)")
    return models


def load_config(path: str | Path) -> Config:
    """Read and validate a YAML config file (a safe, bounded loader: no code is evaluated).

    Parameters
    ----------
    path : path-like
        The config file.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        If the file is missing, is not valid YAML, or a key is invalid.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"config file not found: {str(path)!r}; create one with 'flestimate init DATA'")
    raw = read_yaml_file(p, error=ConfigError, what="config file")
    if raw is None:
        raise ConfigError(f"{p.name}: the config file is empty; create one with 'flestimate init DATA'")
    return parse_config(raw, base_dir=p.resolve().parent, path=p.resolve())



def check_columns(config: Config, columns: Iterable[str], *, indicators: Iterable[str] = ()) -> None:
    """Check that every column the config names exists in the data.

    Parameters
    ----------
    config : Config
    columns : iterable of str
        The columns of the (classified) survey frame.
    indicators : iterable of str
        The indicator columns produced by the classifier (``fl``, ``fl_adult``, ...), to
        suggest from when a table names an unknown indicator.

    Raises
    ------
    ConfigError
        Naming the key, the missing column and the closest existing one.
    """
    cols = list(columns)
    known = set(cols)
    d = config.design
    for key in ("weight", "strata", "psu", "fpc"):
        col = getattr(d, key)
        if col is not None and col not in known:
            raise _missing(f"design.{key}", col, cols, "column")
    for name, flt in config.populations.items():
        if flt is not None:
            try:
                flt.check_columns(cols)
            except ExpressionError as exc:
                raise ConfigError(f"populations.{name}: {exc}") from None
    if config.duration is not None and config.duration.variable not in known:
        raise _missing("duration.variable", config.duration.variable, cols, "column")
    inds = list(indicators) or cols
    for t in config.tables:
        if t.indicator not in known:
            close = difflib.get_close_matches(t.indicator, inds, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(
                f"{t.key}.indicator: unknown indicator {shown(t.indicator)}; {hint}"
                f"the classifier produced: {', '.join(inds[:12])}"
            )
        for j, col in enumerate(t.by):
            if col not in known:
                raise _missing(f"{t.key}.by[{j}]", col, cols, "column")
    if config.small_areas is not None:
        check_small_area_columns(config.small_areas, cols)
    if config.nsum is not None:
        check_nsum_columns(config.nsum, cols)
    if config.proxy is not None:
        check_proxy_columns(config.proxy, cols)
    check_test_columns(config, cols)
    check_model_columns(config, cols)
