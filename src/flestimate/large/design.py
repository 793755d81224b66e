"""A design over data larger than memory: :class:`LargeDesign`.

Each estimate groups the rows by every column it uses (the design's, its variables',
its domains' and the weighting steps' cells) in the engine
(:mod:`flestimate.large.engines`), builds the in-memory design on the groups with
``frequency=`` (each group stands for its rows) and runs the same estimator there. The
weighting steps and replicates of the design are replayed on the groups: a step's
adjustment depends on a row only through its weighting cells, which are among the
grouped columns, so the groups get the adjustments their rows would get. All the code
after the grouped sum is the in-memory code, so the numbers agree with the in-memory
design up to the order of the additions (relative 1e-12 and better).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from flestimate.design import ReplicateDesign, SurveyDesign
from flestimate.errors import DesignError, DomainWarning
from flestimate.large.engines import (
    FREQUENCY,
    ROW,
    DaskSource,
    DuckDBSource,
    gram_names,
    source_for,
)
from flestimate.large.summary import grouped_weight_stats

__all__ = ["MAX_GRAM_SUMS", "LargeDesign"]

#: at most this many Gram sums (R(R+1)/2 per group of rows) per estimate for the
#: domains' degrees of freedom of delivered replicate weights; above, the design's rank
MAX_GRAM_SUMS = 5_000_000


def _names(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _margin_columns(kwargs: dict[str, Any]) -> list[str]:
    """The sample columns of population totals given as a dict or DataFrames."""
    out: list[str] = []
    for key in ("margins", "population", "totals"):
        spec = kwargs.get(key)
        if isinstance(spec, pd.DataFrame):
            out += [str(c) for c in spec.columns if c != "count"]
        elif isinstance(spec, dict):
            for name, value in spec.items():
                if isinstance(value, pd.DataFrame):
                    out += [str(c) for c in value.columns if c != "count"]
                else:
                    out += [c.strip() for c in str(name).replace(" x ", ":").split(":")]
        elif isinstance(spec, (list, tuple)):
            for value in spec:
                if isinstance(value, pd.DataFrame):
                    out += [str(c) for c in value.columns if c != "count"]
    return out


class LargeDesign:
    """A survey design whose data stay in Parquet files, a DuckDB relation or a Dask
    DataFrame (made by :meth:`SurveyDesign.from_parquet`,
    :meth:`ReplicateDesign.from_parquet` or :meth:`LargeDesign.over`).

    It offers the estimators of a design (``total``, ``mean``, ``ratio``,
    ``proportion``, ``prevalence``, with every option), ``replicate`` (replicates built
    from the design) and ``weighted`` (a weighting step: ``flestimate.rake``,
    ``poststratify``, ``calibrate``, ...). Each estimate makes one grouped sum in the
    engine; see the module notes.
    """

    __slots__ = ("_source", "_kind", "_spec", "_steps")

    def __init__(self, source: DuckDBSource | DaskSource, kind: str, spec: dict,
                 steps: tuple = ()) -> None:
        object.__setattr__(self, "_source", source)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_steps", steps)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"LargeDesign is frozen: cannot set {name!r}.")

    # ------------------------------------------------------------------ construction
    @classmethod
    def over(
        cls,
        data: Any,
        *,
        weight: str | None = None,
        strata: str | Sequence[str] | None = None,
        psu: str | Sequence[str] | None = None,
        fpc: str | Sequence[str] | None = None,
        nest: bool = False,
        lonely_psu: str = "fail",
        engine: str | None = None,
        client: Any = None,
    ) -> LargeDesign:
        """A Taylor design (the arguments of :class:`SurveyDesign`) over ``data``: a
        Parquet path (file, folder, glob), a DuckDB relation or a Dask DataFrame
        (``client``: the ``distributed.Client`` to compute on; a cluster gone away is
        then an :class:`~flestimate.large.EngineError`)."""
        if weight is None:
            raise DesignError(
                "weight= is required for a design over large data (the grouped rows carry "
                "weight sums). Pass the weight column."
            )
        source = source_for(data, engine, client)
        spec = {"weight": weight, "strata": _names(strata), "psu": _names(psu),
                "fpc": _names(fpc), "nest": bool(nest), "lonely_psu": lonely_psu}
        source.check([*spec["strata"], *spec["psu"], *spec["fpc"], weight], weight)
        return cls(source, "survey", spec)

    @classmethod
    def over_replicates(
        cls,
        data: Any,
        *,
        weight: str,
        replicate_weights: Sequence[str] | str,
        method: str,
        engine: str | None = None,
        client: Any = None,
        **options: Any,
    ) -> LargeDesign:
        """A design with delivered replicate weights (the arguments of
        :class:`ReplicateDesign`) over ``data``."""
        from flestimate.design.replicate.delivered import replicate_columns

        source = source_for(data, engine, client)
        cols = replicate_columns(pd.DataFrame(columns=source.columns), replicate_weights, weight)
        source.check([weight, *cols], weight)
        spec = {"weight": weight, "replicate_weights": [str(c) for c in cols], "method": method,
                "options": options}
        return cls(source, "replicate", spec)

    # ------------------------------------------------------------------ attributes
    @property
    def engine(self) -> str:
        """``"duckdb"`` or ``"dask"``."""
        return self._source.engine

    @property
    def steps(self) -> tuple:
        """Replicate and weighting steps replayed on every estimate (oldest first)."""
        return self._steps

    def __repr__(self) -> str:
        return (f"<LargeDesign ({self._kind}, engine {self.engine}): "
                f"{len(self._steps)} step(s)>")

    # ------------------------------------------------------------------ steps
    def replicate(self, method: str, **options: Any) -> LargeDesign:
        """Replicates built from the design (the arguments of ``SurveyDesign.replicate``)."""
        return self._with(("replicate", [], {"method": method, **options}))

    def weighted(self, step: Callable[..., Any], *, columns: Sequence[str] | None = None,
                 **kwargs: Any) -> LargeDesign:
        """The design after a weighting step, ``step(design, **kwargs)``, e.g.
        ``large.weighted(flestimate.rake, margins=...)``.

        ``columns``: the sample columns the step uses (default: read from the
        population totals given as ``margins=``, ``population=`` or ``totals=``).
        """
        cols = _names(columns) if columns is not None else _margin_columns(kwargs)
        if not cols:
            raise DesignError(
                f"the columns used by {getattr(step, '__name__', step)!r} could not be read "
                "from its arguments. Pass columns=[...] with the sample columns it uses."
            )
        self._source.check(cols, None)
        return self._with((step, cols, kwargs))

    def _with(self, step: tuple) -> LargeDesign:
        return LargeDesign(self._source, self._kind, self._spec, (*self._steps, step))

    # ------------------------------------------------------------------ the grouped design
    def grouped(self, columns: Sequence[str] = ()) -> SurveyDesign | ReplicateDesign:
        """The in-memory design over the rows grouped by the design's columns, the
        steps' columns and ``columns`` (the variables and domains of an estimate)."""
        *_, last = self._replayed(columns)  # the design after the last step
        return last

    def weight_summary(self) -> pd.DataFrame:
        """Kish's summary of the respondents' weights before and after each weighting
        step, as :func:`flestimate.weight_summary` of the in-memory design gives it.

        A step multiplies the weights of the respondents of one group (of the design's
        and the steps' columns) by one factor, so each group's smallest, largest and
        squared weights (one more grouped sum) give the summary after every step.
        """
        designs = list(self._replayed((), spread=True))
        frame, w0 = designs[0].data, designs[0].structure.weights
        rows = [{"step": "input", **grouped_weight_stats(frame, w0, np.ones(w0.size)),
                 "iterations": None, "converged": None}]
        for (step, _, _), design in zip(self._steps, designs[1:], strict=True):
            if step == "replicate":
                continue
            done = design.history[-1]
            rows.append({"step": done.step,
                         **grouped_weight_stats(frame, w0, design.structure.weights / w0),
                         "iterations": done.iterations, "converged": done.converged})
        return pd.DataFrame(rows)

    def _replayed(self, columns: Sequence[str], *, spread: bool = False) -> Iterator[Any]:
        """The in-memory design over the grouped rows, then after each step in turn."""
        spec = self._spec
        keys: list[str] = []
        if self._kind == "survey":
            keys += [*spec["strata"], *spec["psu"], *spec["fpc"]]
        for _, cols, _ in self._steps:
            keys += cols
        keys += list(columns)
        sums = list(spec.get("replicate_weights", []))
        keys = [k for k in dict.fromkeys(keys) if k != spec["weight"] and k not in sums]
        self._source.check(keys, None)
        # without clusters each row is a PSU: rows are grouped within themselves only
        row_key = self._kind == "survey" and not spec["psu"]
        frame = self._source.grouped(keys, spec["weight"], sums, row_key=row_key,
                                     spread=spread)
        if self._kind == "survey":
            design: Any = SurveyDesign(
                frame, weight=spec["weight"], strata=spec["strata"] or None,
                psu=[ROW] if row_key else spec["psu"], fpc=spec["fpc"] or None, nest=spec["nest"],
                lonely_psu=spec["lonely_psu"], frequency=FREQUENCY,
            )
        else:
            design = ReplicateDesign(
                frame, weight=spec["weight"], replicate_weights=sums, method=spec["method"],
                frequency=FREQUENCY, **spec["options"],
            )
            if spec["options"].get("df") is None:
                design = self._with_grams(design, frame, keys, sums)
        yield design
        for step, _, kwargs in self._steps:  # a loop over the (few) steps
            if step == "replicate":
                design = design.replicate(**kwargs)
            else:
                design = step(design, **kwargs)
            yield design

    def _with_grams(self, design: ReplicateDesign, frame: pd.DataFrame, keys: list[str],
                    sums: list[str]) -> ReplicateDesign:
        """``design`` with the Gram matrices of the replicate weights of each grouped
        row's respondents (one more grouped sum), so that each domain's degrees of
        freedom are the rank of its respondents' replicate weights minus one, as in
        memory; with more than :data:`MAX_GRAM_SUMS` sums, the design's rank (one Gram
        per cell of the weighting steps), with a :class:`DomainWarning`."""
        R = len(sums)
        pooled = R * (R + 1) // 2 * len(frame) > MAX_GRAM_SUMS
        if pooled:
            step_keys = [c for _, cols, _ in self._steps for c in cols]
            keys = [k for k in dict.fromkeys(step_keys) if k != self._spec["weight"]]
            warnings.warn(
                f"the degrees of freedom of every domain are the design's (rank of all the "
                f"replicate weights minus one): the domains' own ranks would take "
                f"{R * (R + 1) // 2 * len(frame):,} sums (more than {MAX_GRAM_SUMS:,}). "
                "Pass df= to the design to fix them, or estimate fewer domains at a time.",
                DomainWarning, stacklevel=4,
            )
        cells = self._source.grams(keys, sums)
        names = gram_names(R)
        # each grouped row's cell (NaN keys match NaN), in the grouped rows' order
        link = "__flestimate_link"
        left = frame[keys].assign(**{link: 0})
        merged = left.merge(cells.assign(**{link: 0}), on=[*keys, link], how="left",
                            sort=False, validate="many_to_one")
        values = merged[names].to_numpy(dtype=np.float64, na_value=0.0)
        if pooled:  # each cell's Gram once, on its first grouped row
            values[merged.duplicated(subset=[*keys, link]).to_numpy()] = 0.0
        G = np.zeros((len(frame), R, R))
        i, j = np.triu_indices(R)
        G[:, i, j] = values
        G[:, j, i] = values
        return design.with_row_grams(G, pooled=pooled)

    # ------------------------------------------------------------------ estimators
    def total(self, y: str | Sequence[str], **options: Any):
        """``SurveyDesign.total`` over the grouped rows."""
        return self.grouped([*_names(y), *_names(options.get("by"))]).total(y, **options)

    def mean(self, y: str | Sequence[str], **options: Any):
        """``SurveyDesign.mean`` over the grouped rows."""
        return self.grouped([*_names(y), *_names(options.get("by"))]).mean(y, **options)

    def proportion(self, y: str | Sequence[str], **options: Any):
        """``SurveyDesign.proportion`` over the grouped rows."""
        return self.grouped([*_names(y), *_names(options.get("by"))]).proportion(y, **options)

    def prevalence(self, y: str | Sequence[str], **options: Any):
        """``SurveyDesign.prevalence`` over the grouped rows."""
        return self.grouped([*_names(y), *_names(options.get("by"))]).prevalence(y, **options)

    def ratio(self, numerator: str | Sequence[str], denominator: str | Sequence[str],
              **options: Any):
        """``SurveyDesign.ratio`` over the grouped rows."""
        cols = [*_names(numerator), *_names(denominator), *_names(options.get("by"))]
        return self.grouped(cols).ratio(numerator, denominator, **options)
