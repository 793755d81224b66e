"""The public function :func:`simulate` and its result, :class:`SimulatedSurvey`.

:func:`simulate` checks its arguments and runs the steps, each in its own module:
the population (:mod:`~flestimate.simulation.population`), the sample
(:mod:`~flestimate.simulation.sample`), the answers (:mod:`~flestimate.simulation.answers`)
and the true values (:mod:`~flestimate.simulation.truth`); :meth:`SimulatedSurvey.write`
writes the files (:mod:`~flestimate.simulation.files`). All draws come from one
generator in a fixed order, so the same seed gives identical frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.simulation.answers import draw_answers
from flestimate.simulation.files import codebook_text, survey_labels, write_files
from flestimate.simulation.parameters import (
    DEFAULT_RULE,
    FORMATS,
    INDICATOR_ITEMS,
    REGION_NAMES,
    SECTORS,
    check_float,
    check_int,
    make_rng,
)
from flestimate.simulation.population import age_group_codes, draw_population
from flestimate.simulation.sample import draw_sample, resample
from flestimate.simulation.truth import true_values

__all__ = ["SimulatedSurvey", "simulate"]


@dataclass(frozen=True, eq=False)
class SimulatedSurvey:
    """A synthetic forced-labour survey, its population margins and its true values.

    Attributes
    ----------
    sample : pandas.DataFrame
        One row per responding person aged 5+; the columns of ``docs/internals.md``
        section 1 in that order.
    margins : pandas.DataFrame
        Population counts of persons aged 5+ by ``region, sex, age_group``
        (column ``count``), for calibration.
    truth : dict
        The true population values (JSON-serialisable; layout in :mod:`flestimate.simulation`).
    respondent_truth : pandas.DataFrame
        ``pid``, ``fl_true`` (0/1, the status under the default rule),
        ``fl_form_true`` (0 none, 1 exploitation, 2 sexual exploitation, 3 state-imposed)
        and ``fl_child_category_true`` (0 none, 1..4 = ICLS categories i..iv).
    variable_labels : dict
        Column -> label.
    value_labels : dict
        Column -> {code: label} (numeric codes; ``sector`` has letter codes).
    missing_ranges : dict
        Column -> user-missing codes (``[8, 9]`` for every indicator item).
    parameters : dict
        The arguments of :func:`simulate`, with the seed that reproduces the draw.
    population : pandas.DataFrame or None
        The whole synthetic population (``keep_population=True`` only): ``pid, hhid,
        psu, stratum, region, urban, sex, age, age_group, migrant, worked, sector,
        employer_type (0 n/a, 1 parents, 2 third party), parent_pid (-1 none), fl, form,
        child_category, dur_months, hotspot, selected (0 no, 1 selected non-responding
        household, 2 respondent), w_base`` (NaN unless selected).
    """

    sample: pd.DataFrame
    margins: pd.DataFrame
    truth: dict[str, Any]
    respondent_truth: pd.DataFrame
    variable_labels: dict[str, str]
    value_labels: dict[str, dict[Any, str]]
    missing_ranges: dict[str, list[float]]
    parameters: dict[str, Any]
    population: pd.DataFrame | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        nat = self.truth["populations"]["all"]["national"]
        return (
            f"SimulatedSurvey(respondents={len(self.sample):,}, "
            f"population={self.truth['population_size']:,}, "
            f"fl={nat['fl']:,} ({nat['prevalence_per_1000']:.2f} per 1,000), "
            f"seed={self.parameters.get('seed')})"
        )

    def write(self, out_dir: str | Path, formats: str | Iterable[str] = FORMATS) -> list[Path]:
        """Write the survey and its companions to ``out_dir``.

        Files: ``fl_survey.<ext>`` for each format (``sav``: SPSS with variable and
        value labels and 8/9 declared user-missing on the indicator items; ``dta``:
        Stata 14+ (format 118) with variable and value labels, codes stored as integers;
        ``csv`` with its labels in ``fl_survey.codebook.yaml``; ``parquet`` with its labels
        in the schema metadata), ``margins.csv``,
        ``truth.json``, ``truth_respondents.csv`` and ``README.md`` (the codebook).
        Other files in ``out_dir`` are left alone.

        Returns
        -------
        list of pathlib.Path
            The files written.
        """
        return write_files(self, out_dir, formats)

    def codebook(self, formats: Iterable[str] = FORMATS, *, out_dir: str = "DIR") -> str:
        """The README (Markdown) describing the files, the design, every variable and the truth."""
        return codebook_text(self, tuple(formats), out_dir)

    def draw_samples(
        self, n_samples: int = 1, *, rng: int | np.random.Generator | None = None
    ) -> Iterator[pd.DataFrame]:
        """Draw further samples from the kept population with the survey's own design.

        Each sample repeats the design of :func:`simulate` on the same population:
        the same number of enumeration areas per stratum selected by systematic PPS,
        ``households_per_psu`` households by SRS in each, stratum-specific household
        nonresponse and the weighting-class adjustment. Only the latent status and the
        design variables are returned (no questionnaire answers), which is what a
        study of estimators and confidence intervals needs.

        Parameters
        ----------
        n_samples : int, default 1
            Number of samples to draw (1 to 10,000,000).
        rng : int, numpy.random.Generator or None
            Seed or generator of the draws (independent of the survey's own seed).

        Returns
        -------
        iterator of pandas.DataFrame
            One frame per sample, one row per person of a responding household:
            the columns of :attr:`population` (``pid`` .. ``hotspot``; ``fl`` is the
            true status under the default rule) without ``selected`` and ``w_base``,
            then this sample's ``w_base``, ``w_final`` and ``n_psu_stratum``.

        Raises
        ------
        ValidationError
            The survey was drawn without ``keep_population=True``, or ``n_samples``
            is not an integer in range.

        Notes
        -----
        The base weight of a person in household j of EA i of stratum h is
        :math:`w_{hij} = M_{hi} / (\\pi_{hi}\\, m)` with :math:`\\pi_{hi}` the PPS
        inclusion probability of the EA and :math:`M_{hi}` its number of households,
        so :math:`\\sum w` over the selected households is unbiased for the number
        of households; ``w_final`` multiplies it by the stratum's ratio of selected
        to responding base weights (SURVEY-METHODS E1 design, see :func:`simulate`).

        References
        ----------
        Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., sections 9A.5-9A.6.

        Examples
        --------
        >>> import flestimate as fl
        >>> s = fl.simulate(2_000, rng=1, keep_population=True)
        >>> samples = list(s.draw_samples(2, rng=5))
        >>> [int(x["psu"].nunique()) for x in samples] == [int(s.sample["psu"].nunique())] * 2
        True
        """
        if self.population is None:
            raise ValidationError(
                "draw_samples needs the population: this survey was drawn without it. Call "
                "simulate(..., keep_population=True)."
            )
        n_samples = check_int("n_samples", n_samples, 1, 10_000_000)
        gen, _ = make_rng(rng)
        return resample(self.population, int(self.parameters["households_per_psu"]), gen,
                         n_samples)  # fmt: skip


def simulate(
    respondents: int = 20_000,
    *,
    prevalence: float = 0.006,
    rng: int | np.random.Generator | None = None,
    n_regions: int = 5,
    households_per_psu: int = 10,
    psu_fraction: float = 0.4,
    hotspot_share: float = 0.04,
    hotspot_risk: float = 30.0,
    false_involuntary: float = 0.05,
    false_coercion: float = 0.03,
    item_nonresponse: float = 0.002,
    keep_population: bool = False,
) -> SimulatedSurvey:
    """Draw a synthetic population and a stratified two-stage forced-labour survey from it.

    Parameters
    ----------
    respondents : int, default 20_000
        Expected number of responding persons aged 5+ (2,000 to 5,000,000). The
        realised number varies by a few percent with household sizes and nonresponse.
    prevalence : float, default 0.006
        Expected share of adults (18+) in forced labour, in (0, 1); realistic values
        are 0.002 to 0.02. Only people who worked can be in forced labour, so values
        above the share of adults who worked (about 70 %) are capped there.
    rng : int, numpy.random.Generator or None
        Seed or generator. ``None`` draws fresh entropy and records it as the seed
        in ``parameters`` so the draw can be repeated.
    n_regions : int, default 5
        Number of regions (1 to 8); strata are region x urban/rural.
    households_per_psu : int, default 10
        Households selected by simple random sampling in each selected enumeration
        area (2 to 50).
    psu_fraction : float, default 0.4
        Share of each stratum's enumeration areas that are selected, in (0, 1]; it
        sets the size of the population (about ``1 / psu_fraction`` times the
        households of the selected EAs).
    hotspot_share : float, default 0.04
        Share of enumeration areas that are forced-labour hot spots, in [0, 1).
    hotspot_risk : float, default 30
        Relative risk of forced labour in a hot-spot EA (1 to 1,000).
    false_involuntary, false_coercion : float, default 0.05, 0.03
        Share of workers not in forced labour who report involuntariness without
        any penalty, and (adults only) a penalty without involuntariness, in [0, 0.5).
    item_nonresponse : float, default 0.002
        Share of "no" answers replaced by don't know (8) or refused (9), in [0, 0.5);
        2 % of workers are "hesitant" and answer 8/9 to 6 % of their items.
    keep_population : bool, default False
        Keep the whole population as ``SimulatedSurvey.population``.

    Returns
    -------
    SimulatedSurvey

    Raises
    ------
    ValidationError
        A parameter is of the wrong type or outside its range; the message names
        the parameter, the value and the allowed range.

    Notes
    -----
    *Population.* Strata are region x urban/rural; each stratum holds enumeration
    areas (EAs) of ``households_per_psu + 2 + LogNormal(log 18, 0.6)`` households.
    A household has a head, a spouse (72 %), other adults and children 5-17 (Poisson,
    more in rural areas); 92 % of children are linked to a parent (head or spouse) by
    ``parent_pid``. Work in the last 12 months depends on age, sex and area; sectors
    (ISIC Rev.4 sections) follow area-, sex- and age-specific mixes (agriculture
    dominant in rural areas, domestic work T, construction F, trade G, ...).

    *Forced labour.* An adult who worked is in forced labour with probability
    ``min(1, c * r_EA * r_sector * r_migrant)``: ``r_EA`` is log-normal with mean 1
    times ``hotspot_risk`` in hot-spot EAs, ``r_sector`` is high in A, B, C, F, T,
    ``r_migrant`` is 1, 1.5, 4 for non-, internal and international migrants; ``c``
    is solved so the expected adult prevalence equals ``prevalence``. A working child
    is in forced labour by ICLS category iv (unconditional worst forms, risk
    ``0.25 c r``), i/ii (third-party coercion, ``0.6 c r``; i when working for a third
    party, ii when working for the parents), or iii (working for a linked parent who
    is in forced labour). Forms: state-imposed 7 % of adults, sexual exploitation
    mostly among women in sectors I, R, S and children of category iv, else
    exploitation.

    *Sample.* In each stratum ``n_h`` EAs (proportional to the stratum's size, at
    least 2) are selected with probability proportional to the number of households
    (systematic PPS in random order; EAs with ``n_h x_i / X_h >= 1`` are certainty
    units, pi = 1), then ``households_per_psu`` households by SRS, then every person
    aged 5+. ``w_base = 1 / (pi_EA * m / M_EA)``. Households respond with a
    stratum-specific probability (urban about 84 %, rural about 93 %);
    ``w_final = w_base * (sum of w_base over selected households of the stratum) /
    (sum of w_base over responding households of the stratum)`` (weighting-class
    adjustment, class = stratum).

    *Answers.* Only people who worked are asked the module (others: system-missing).
    A person in forced labour answers yes to at least one involuntariness item and,
    for adults and children of categories i/ii, at least one penalty item (and the
    matching ICLS elements). Outside forced labour, ``false_involuntary`` of workers
    report involuntariness only and ``false_coercion`` of adult workers a penalty
    only, never both, so the default rule (ILO 2012, any strength, penalty in any
    dimension, don't know/refused counted as no) reproduces ``fl_true`` exactly,
    while "any indicator" rules and the upper-bound missing policy do not.

    References
    ----------
    ILO (2012). *Hard to see, harder to count: Survey guidelines to estimate forced
    labour of adults and children*. Geneva: ILO.
    ILO (2018). *Guidelines concerning the measurement of forced labour*, 20th ICLS.

    Examples
    --------
    >>> import flestimate
    >>> survey = flestimate.simulate(2_000, rng=1)
    >>> len(survey.sample), survey.sample.shape[1]
    (2075, 70)
    >>> national = survey.truth["populations"]["all"]["national"]
    >>> national["population"], national["fl"]
    (18086, 77)
    """
    respondents = check_int("respondents", respondents, 2_000, 5_000_000)
    prevalence = check_float("prevalence", prevalence, 0.0, 1.0)
    n_regions = check_int("n_regions", n_regions, 1, len(REGION_NAMES))
    households_per_psu = check_int("households_per_psu", households_per_psu, 2, 50)
    psu_fraction = check_float("psu_fraction", psu_fraction, 0.0, 1.0, hi_open=False)
    hotspot_share = check_float("hotspot_share", hotspot_share, 0.0, 1.0, lo_open=False)
    hotspot_risk = check_float("hotspot_risk", hotspot_risk, 1.0, 1000.0, lo_open=False,
                                hi_open=False)  # fmt: skip
    false_involuntary = check_float("false_involuntary", false_involuntary, 0.0, 0.5,
                                     lo_open=False)  # fmt: skip
    false_coercion = check_float("false_coercion", false_coercion, 0.0, 0.5, lo_open=False)
    item_nonresponse = check_float("item_nonresponse", item_nonresponse, 0.0, 0.5, lo_open=False)
    if not isinstance(keep_population, (bool, np.bool_)):
        raise ValidationError(
            f"parameter keep_population={keep_population!r} must be True or False."
        )
    gen, seed = make_rng(rng)
    parameters = {
        "respondents": respondents,
        "prevalence": prevalence,
        "seed": seed,
        "n_regions": n_regions,
        "households_per_psu": households_per_psu,
        "psu_fraction": psu_fraction,
        "hotspot_share": hotspot_share,
        "hotspot_risk": hotspot_risk,
        "false_involuntary": false_involuntary,
        "false_coercion": false_coercion,
        "item_nonresponse": item_nonresponse,
    }

    fr = draw_population(
        gen,
        respondents=respondents,
        n_regions=n_regions,
        households_per_psu=households_per_psu,
        psu_fraction=psu_fraction,
        prevalence=prevalence,
        hotspot_share=hotspot_share,
        hotspot_risk=hotspot_risk,
    )
    draw = draw_sample(gen, fr, households_per_psu)

    # ---- person-level design variables --------------------------------------------------
    person_ea = fr.hh_ea[fr.p_hh]
    p_stratum = fr.ea_stratum[person_ea]
    region = fr.stratum_region[p_stratum]
    urban = fr.stratum_urban[p_stratum]
    region_labels = {r: REGION_NAMES[r - 1] for r in range(1, n_regions + 1)}

    truth_pops = true_values(
        age=fr.age, sex=fr.sex, region=region, urban=urban, migrant=fr.migrant,
        worked=fr.worked, sector=np.where(fr.sector >= 0, fr.sector, 0), fl=fr.fl,
        form=fr.form, child_cat=fr.child_cat, dur=fr.dur, region_labels=region_labels,
    )  # fmt: skip

    resp = np.flatnonzero(draw.hh_status[fr.p_hh] == 2)
    ans = draw_answers(
        gen, fr, resp, false_involuntary=false_involuntary, false_coercion=false_coercion,
        item_nonresponse=item_nonresponse,
    )  # fmt: skip

    n_frame_psu = np.bincount(fr.ea_stratum, minlength=fr.stratum_region.size)
    r_hh = fr.p_hh[resp]
    r_ea = person_ea[resp]
    r_stratum = p_stratum[resp]
    sector_letters = np.array(("", *SECTORS), dtype=object)
    r_worked = fr.worked[resp]
    r_age = fr.age[resp].astype(np.int64)
    is_child = r_age < 18
    r_parent = fr.parent[resp]
    r_emp = fr.employer_parents[resp]
    sample = pd.DataFrame(
        {
            "pid": resp.astype(np.int64) + 1,
            "hhid": r_hh.astype(np.int64) + 1,
            "psu": r_ea.astype(np.int64) + 1,
            "stratum": r_stratum.astype(np.int64) + 1,
            "region": region[resp].astype(np.int64),
            "urban": urban[resp].astype(np.int64),
            "sex": fr.sex[resp].astype(np.int64),
            "age": r_age,
            "age_group": age_group_codes(fr.age[resp]).astype(np.int64),
            "migrant": fr.migrant[resp].astype(np.int64),
            "worked": np.where(r_worked, 1, 2).astype(np.int64),
            "sector": sector_letters[fr.sector[resp].astype(np.int64) + 1],
            "status_emp": np.where(r_worked, fr.status_emp[resp], np.nan),
            "w_base": draw.hh_w_base[r_hh],
            "w_final": draw.hh_w_final[r_hh],
            "n_psu_stratum": n_frame_psu[r_stratum].astype(np.int64),
            **{name: ans[name] for name in INDICATOR_ITEMS},
            "employer_type": np.array(["", "parents", "third_party"], dtype=object)[r_emp],
            "parent_pid": np.where(is_child & (r_parent >= 0), r_parent + 1, np.nan),
            "perp_type": ans["perp_type"],
            "cse": ans["cse"],
            "wfcl": np.where(
                is_child & r_worked, np.where(fr.child_cat[resp] == 4, 1.0, 2.0), np.nan
            ),
            "dur_months": ans["dur_months"],
        }
    )
    for col in ("sector", "employer_type", "perp_type"):
        sample[col] = sample[col].astype(str)
    respondent_truth = pd.DataFrame(
        {
            "pid": sample["pid"].to_numpy(),
            "fl_true": fr.fl[resp].astype(np.int64),
            "fl_form_true": fr.form[resp].astype(np.int64),
            "fl_child_category_true": fr.child_cat[resp].astype(np.int64),
        }
    )

    # ---- margins: persons 5+ by region x sex x age group --------------------------------
    ag = age_group_codes(fr.age)
    cell = ((region.astype(np.int64) - 1) * 2 + (fr.sex - 1)) * 5 + (ag - 1)
    counts = np.bincount(cell, minlength=n_regions * 10)
    margins = pd.DataFrame(
        {
            "region": np.repeat(np.arange(1, n_regions + 1), 10),
            "sex": np.tile(np.repeat([1, 2], 5), n_regions),
            "age_group": np.tile(np.arange(1, 6), 2 * n_regions),
            "count": counts.astype(np.int64),
        }
    )

    truth = {
        "description": (
            "True values of the synthetic population (persons aged 5+) under the default "
            "classification rule; prevalence_per_1000 = 1000 * fl / population."
        ),
        "rule": dict(DEFAULT_RULE),
        "reference_period_months": 12,
        "scale": 1000,
        "population_size": int(fr.age.size),
        "households": int(fr.hh_ea.size),
        "psus": int(fr.ea_stratum.size),
        "populations": truth_pops,
        "sample": {
            "respondents": int(resp.size),
            "households_selected": int((draw.hh_status > 0).sum()),
            "households_responding": int((draw.hh_status == 2).sum()),
            "psus_selected": int(draw.ea_selected.sum()),
            "certainty_psus": int((draw.ea_selected & (draw.ea_pi >= 1.0)).sum()),
        },
        "parameters": dict(parameters),
    }

    variable_labels, value_labels = survey_labels(region_labels)
    missing_ranges = {c: [8.0, 9.0] for c in INDICATOR_ITEMS}

    population = None
    if keep_population:
        sel = draw.hh_status[fr.p_hh]
        population = pd.DataFrame(
            {
                "pid": np.arange(1, fr.age.size + 1, dtype=np.int64),
                "hhid": fr.p_hh.astype(np.int32) + 1,
                "psu": person_ea.astype(np.int32) + 1,
                "stratum": (p_stratum + 1).astype(np.int8),
                "region": region,
                "urban": urban,
                "sex": fr.sex,
                "age": fr.age,
                "age_group": ag,
                "migrant": fr.migrant,
                "worked": np.where(fr.worked, 1, 2).astype(np.int8),
                "sector": pd.Categorical(
                    sector_letters[fr.sector.astype(np.int64) + 1], categories=("", *SECTORS)
                ),
                "employer_type": fr.employer_parents,
                "parent_pid": np.where(fr.parent >= 0, fr.parent + 1, -1).astype(np.int64),
                "fl": fr.fl.astype(np.int8),
                "form": fr.form,
                "child_category": fr.child_cat,
                "dur_months": fr.dur,
                "hotspot": fr.ea_hotspot[person_ea].astype(np.int8),
                "selected": sel,
                "w_base": draw.hh_w_base[fr.p_hh],
            }
        )

    return SimulatedSurvey(
        sample=sample,
        margins=margins,
        truth=truth,
        respondent_truth=respondent_truth,
        variable_labels=variable_labels,
        value_labels=value_labels,
        missing_ranges=missing_ranges,
        parameters=parameters,
        population=population,
    )
