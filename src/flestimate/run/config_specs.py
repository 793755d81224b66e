"""What a ``flestimate run`` config can say: its specifications and the API they call.

The validated config (:class:`Config`) is made of plain frozen dataclasses, one per
section. The ``reliability:`` and ``outputs:`` sections are parsed straight into the
report's own specifications (:class:`~flestimate.report.specs.ReliabilityRules`,
:class:`~flestimate.report.specs.OutputOptions`), so the report never reads a config.

The options the config accepts under a weighting step (:data:`WEIGHTING_STEP_TYPES`)
and under ``input.options`` (:data:`READ_SURVEY_OPTIONS`) are declared here, once,
for the validation (:mod:`flestimate.run.config`) and the calls
(:mod:`flestimate.run.weighting_steps`, :mod:`flestimate.run.inputs`); a test checks
them against the signatures of the functions called. The CI methods, lonely-PSU rules
and replicate methods are not listed here: the validation reads their registries.
Importing this module loads neither pandas nor the estimators.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flestimate.report.specs import OutputOptions, ReliabilityRules
from flestimate.run.config_engine import EngineSpec
from flestimate.run.expr import Filter

__all__ = [
    "READ_SURVEY_OPTIONS",
    "REPLICATE_KEYS",
    "STATISTICS",
    "WEIGHTING_STEP_TYPES",
    "NSUM_OPTIONS",
    "PROXY_STATISTICS",
    "SMALL_AREA_OPTIONS",
    "CompareSpec",
    "Config",
    "ModelSpec",
    "DesignSpec",
    "DurationSpec",
    "NsumSpec",
    "ProxySpec",
    "SmallAreaSpec",
    "TableSpec",
    "TestSpec",
    "WeightingStepSpec",
    "WeightingStepType",
]

STATISTICS = ("prevalence", "total", "share")
#: the keys of ``design.replicate``: the replicate weights and ReplicateDesign's options
REPLICATE_KEYS = ("weights", "method", "scale", "rscales", "mse", "df", "rho")
#: the keywords of :func:`flestimate.read_survey` a config may give under ``input.options``
READ_SURVEY_OPTIONS = ("columns", "format", "encoding", "row_limit", "codebook")


@dataclass(frozen=True)
class WeightingStepType:
    """One kind of weighting step: the function it calls and the options it accepts.

    Attributes
    ----------
    name : str
        The step's name in the config (``step: rake``).
    function : str
        The public function called (``flestimate.<function>``), named in messages.
    options : tuple of str
        The keys accepted under the step besides ``step``; ``totals`` (a CSV file of
        population counts) only where the step takes a totals table.
    required : tuple of str
        Keys that must be given.
    one_of : tuple of str
        At least one of these keys must be given (a rake's margins come from a totals
        file or are written in the config).
    """

    name: str
    function: str
    options: tuple[str, ...]
    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    @property
    def takes_totals(self) -> bool:
        return "totals" in self.options


#: The weighting steps of ``weighting:``, in the order a survey usually applies them.
WEIGHTING_STEP_TYPES: Mapping[str, WeightingStepType] = MappingProxyType(
    {
        t.name: t
        for t in (
            WeightingStepType("nonresponse", "adjust_nonresponse", ("responded", "cells"),
                              required=("responded", "cells")),
            WeightingStepType("poststratify", "poststratify", ("totals",), required=("totals",)),
            WeightingStepType("rake", "rake", ("totals", "margins", "max_iter", "tolerance"),
                              one_of=("totals", "margins")),
            WeightingStepType("calibrate", "calibrate",
                              ("totals", "variables", "method", "bounds", "max_iter"),
                              required=("totals",)),
            WeightingStepType("trim", "trim_weights", ("lower", "upper", "redistribute")),
        )
    }
)  # fmt: skip


@dataclass(frozen=True)
class DesignSpec:
    """The sampling design: columns and rules (or replicate weights)."""

    weight: str
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    lonely_psu: str = "fail"
    replicate: Mapping[str, Any] | None = None
    nest: bool = False  # PSU ids numbered within strata (R's svydesign(nest=))


@dataclass(frozen=True)
class WeightingStepSpec:
    """One weighting step of the config: its type, its totals file and other options."""

    step: str
    totals: Path | None
    options: Mapping[str, Any]
    key: str  # the key path, for error messages


@dataclass(frozen=True)
class DurationSpec:
    """Duration in the situation, for the stock ``on any given day``."""

    variable: str
    period: float


@dataclass(frozen=True)
class TableSpec:
    """One output table."""

    name: str
    title: str
    indicator: str
    population: str
    statistics: tuple[str, ...]
    by: tuple[str, ...]
    total: bool
    ci_method: str
    level: float
    key: str
    missing_domain: bool = False  # rows with a missing ``by`` value form a "Missing" domain


@dataclass(frozen=True)
class CompareSpec:
    """One ``compare:`` entry: differences between domains of a published table.

    ``pairs`` are the named pairs (each domain by its value label or code, several
    ``by`` columns joined by ``" / "``); ``all_pairs``: every pair of the table's
    domains. ``adjust``: the multiple-comparison adjustment of the p-values (R's
    ``p.adjust``) over the entry's comparisons.
    """

    name: str
    table: str
    statistic: str
    pairs: tuple[tuple[str, str], ...]
    all_pairs: bool
    adjust: str
    key: str


@dataclass(frozen=True)
class TestSpec:
    """One ``tests:`` entry: a design-based test of association in a two-way table
    (:meth:`flestimate.SurveyDesign.chisq`), within a reference population."""

    name: str
    row: str
    col: str
    statistic: str
    population: str
    key: str


@dataclass(frozen=True)
class ModelSpec:
    """One ``models:`` entry: a design-based GLM (:meth:`flestimate.SurveyDesign.glm`)
    fitted within a reference population (a domain of the full design).

    ``response`` is the outcome column of ``formula``, ``variables`` the columns of its
    right-hand side; ``exponentiate``: publish odds (rate) ratios.
    """

    name: str
    title: str
    formula: str
    response: str
    variables: tuple[str, ...]
    family: str
    link: str | None
    population: str
    exponentiate: bool
    key: str


@dataclass(frozen=True)
class Config:
    """A validated configuration. ``raw`` keeps the file's content for the manifest."""

    path: Path | None
    base_dir: Path
    title: str
    input_path: Path
    input_options: Mapping[str, Any]
    mapping: Path | None
    seed: int | None
    design: DesignSpec
    weighting: tuple[WeightingStepSpec, ...]
    populations: Mapping[str, Filter | None]
    indicator: str
    ci_method: str
    level: float
    scale: float
    na_rm: bool
    headline_population: str
    duration: DurationSpec | None
    sensitivity: bool
    tables: tuple[TableSpec, ...]
    reliability: ReliabilityRules
    outputs: OutputOptions
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)
    small_areas: SmallAreaSpec | None = None
    nsum: NsumSpec | None = None
    proxy: ProxySpec | None = None
    engine: EngineSpec = field(default_factory=EngineSpec)  # input.engine (run/config_engine.py)

    compare: tuple[CompareSpec, ...] = ()
    tests: tuple[TestSpec, ...] = ()
    models: tuple[ModelSpec, ...] = ()

# ---------------------------------------------------------------- small_areas:, nsum:, proxy:

#: the keywords of :func:`flestimate.sae.small_area` a ``small_areas:`` section may give
#: (``area_population`` is its ``population``: the area sizes, for benchmarking)
SMALL_AREA_OPTIONS = ("method", "transform", "benchmark", "back_transform", "mse", "smooth",
                      "n_bootstrap")
#: the keywords of :func:`flestimate.nsum.scale_up` an ``nsum:`` section may give
NSUM_OPTIONS = ("topcode", "missing_codes", "adjustment", "by")


@dataclass(frozen=True)
class SmallAreaSpec:
    """The ``small_areas:`` section: Fay-Herriot estimates by area beside the direct ones.

    ``covariates`` is a CSV file with one row per area (the ``area`` column and the
    covariates of ``formula``); ``lookup`` an optional CSV linking a survey column
    (``lookup_key``, e.g. the PSU) to the area, when the survey has no area column.
    ``options`` holds the keywords of :func:`flestimate.sae.small_area`
    (:data:`SMALL_AREA_OPTIONS`), ``area_population`` its ``population``.
    """

    name: str
    title: str
    indicator: str
    area: str
    covariates: Path
    formula: str
    options: Mapping[str, Any]
    lookup: Path | None = None
    lookup_key: str | None = None
    area_population: str | None = None
    key: str = "small_areas"


@dataclass(frozen=True)
class NsumSpec:
    """The ``nsum:`` section: network scale-up size of a hidden population.

    ``known`` maps each known-population column to its size (inline or from a CSV with
    columns ``population, size``); ``options`` holds the keywords of
    :func:`flestimate.nsum.scale_up` (:data:`NSUM_OPTIONS`); ``sensitivity`` the grid of
    adjustment factors of :func:`flestimate.nsum.sensitivity` (empty: no grid).
    """

    name: str
    title: str
    hidden: tuple[str, ...]
    known: Mapping[str, float]
    total_population: float
    options: Mapping[str, Any]
    sensitivity: Mapping[str, tuple[float, ...]]
    validation: bool = True
    key: str = "nsum"


#: the statistics of a ``proxy:`` section: :func:`flestimate.proxy.multiplicity_prevalence`
#: and :func:`flestimate.proxy.multiplicity_total`
PROXY_STATISTICS = ("prevalence", "total")


@dataclass(frozen=True)
class ProxySpec:
    """The ``proxy:`` section: prevalence and number from self and proxy (family) reports.

    ``reports`` is a CSV or Parquet file with one row per (respondent, reported person):
    the columns ``respondent`` (the respondent's id, matched to the survey's
    ``respondent_id`` column), ``outcome`` (0/1) and ``multiplicity`` (how many people
    could have reported the person). ``statistics`` gives one table each,
    ``<name>_<statistic>``; ``counting_rule`` says who could report a person (stated in
    the report beside the method).
    """

    name: str
    title: str
    reports: Path
    outcome: str
    respondent_id: str
    respondent: str = "respondent"
    multiplicity: str = "multiplicity"
    by: tuple[str, ...] = ()
    statistics: tuple[str, ...] = PROXY_STATISTICS
    scale: float = 1000.0
    counting_rule: str | None = None
    key: str = "proxy"

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(f"{self.name}_{s}" for s in self.statistics)
