"""A synthetic national forced-labour survey with known true values.

:func:`simulate` draws a whole synthetic population (persons aged 5 and over,
in households, in enumeration areas, in region x urban/rural strata), decides
who is in forced labour, draws a stratified two-stage sample from it, lets some
households refuse, and generates the answers of the responding persons to a
forced-labour module (the ILO 2012 indicators and the ICLS 2018 elements). The
answers are consistent with the latent status under the default
classification rule, so the classifier can be checked person by person, and
the population values ("truth") are known exactly, so every estimator and
confidence interval can be checked against them.

Everything is vectorised with numpy and drawn from one seeded
:class:`numpy.random.Generator`: the same seed gives identical frames.

The result is a :class:`SimulatedSurvey`; :meth:`SimulatedSurvey.write` writes
it as SPSS, Stata, CSV and Parquet files together with the population margins,
the true values and a codebook (``flestimate simulate`` on the command line).

The truth layout (``SimulatedSurvey.truth``, written as ``truth.json``)::

    {
      "description": str,
      "rule": {"framework": "ilo-2012", "strength_rule": "any",
               "penalty_scope": "any_dimension", "missing_policy": "conservative"},
      "reference_period_months": 12,
      "scale": 1000,
      "population_size": int,            # persons aged 5+
      "households": int, "psus": int,    # size of the frame
      "populations": {
        "all" | "adults" | "children": {
          "definition": str,             # "persons aged 5+", "18+", "5-17"
          "national": {"population": int, "fl": int, "prevalence_per_1000": float},
          "by": {
            "sex" | "age_group" | "region" | "migrant" | "urban": {
              "<code>": {"label": str, "population": int, "fl": int,
                         "prevalence_per_1000": float}, ...},
            "sector": {                  # among persons who worked
              "<letter>": {"label": str, "population": int (workers), "fl": int,
                           "prevalence_per_1000": float (per 1,000 workers)}, ...}
          },
          "forms": {"exploitation" | "sexual_exploitation" | "state_imposed":
                    {"fl": int, "prevalence_per_1000": float}},
          "stock": {"persons_on_any_given_day": float, "per_1000": float},
          "child_categories": {...}      # children only: "i", "ii", "iii", "iv" -> int
        }
      },
      "sample": {"respondents": int, "households_selected": int,
                 "households_responding": int, "psus_selected": int},
      "parameters": {...}                # the arguments of simulate(), seed included
    }

``prevalence_per_1000`` is always ``1000 * fl / population`` of the same entry
(``null`` when the population of the cell is 0, e.g. children aged 18-24). Sectors
with no worker are omitted.

Reproducibility: the same seed gives identical frames with the same numpy version
(numpy may change its distribution algorithms between versions). Memory: about
1.7 GB at peak for 1,000,000 respondents (a population of about 9.4 millio

The package, one job per module:

- :mod:`~flestimate.simulation.parameters`: names, codes and labels of the survey, the
  behavioural constants of the synthetic country, the checks of the arguments;
- :mod:`~flestimate.simulation.population`: the population and its latent status;
- :mod:`~flestimate.simulation.sample`: the two-stage sample and its weights;
- :mod:`~flestimate.simulation.answers`: the answers to the forced-labour module;
- :mod:`~flestimate.simulation.truth`: the true values;
- :mod:`~flestimate.simulation.files`: the files and the codebook;
- :mod:`~flestimate.simulation.survey`: :func:`simulate` and :class:`SimulatedSurvey`;
- :mod:`~flestimate.simulation.hidden`: a hidden population with known truth, its
  network and three samples of it (scale-up survey, family reports, RDS):
  :func:`hidden_population`; the network and the recruitment in
  :mod:`~flestimate.simulation.network`; the study of the estimators' bias and coverage
  on it in :mod:`~flestimate.simulation.hidden_study` (:func:`hidden_population_study`,
  :func:`summarise_study`; ``python -m flestimate.simulation.hidden_study``), loaded on
  first use like the coverage study;
- :mod:`~flestimate.simulation.coverage`: the coverage study of the confidence-interval
  methods (:func:`coverage_study`; ``python -m flestimate.simulation.coverage``). It
  estimates with :class:`flestimate.SurveyDesign`, so it is imported only when one of
  its names is asked for: ``import flestimate.simulation`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from flestimate.simulation.hidden import HiddenPopulation, hidden_population
from flestimate.simulation.network import rds_recruitment
from flestimate.simulation.parameters import (
    AGE_GROUP_LABELS,
    CHILD_CATEGORY_LABELS,
    DEFAULT_RULE,
    FORM_LABELS,
    FORM_NAMES,
    FORMATS,
    ICLS_C_ITEMS,
    ICLS_IW_ITEMS,
    INDICATOR_ITEMS,
    INVOLUNTARINESS_ITEMS,
    ITEM_LABELS,
    MIGRANT_LABELS,
    PENALTY_ITEMS,
    REGION_NAMES,
    SAMPLE_COLUMNS,
    SECTOR_LABELS,
    SECTORS,
    SEX_LABELS,
    STATUS_LABELS,
    URBAN_LABELS,
    YES_NO_LABELS,
    check_formats,
)
from flestimate.simulation.survey import SimulatedSurvey, simulate

# Names of the studies (they estimate), loaded on first use (see the package docstring).
_LAZY = {
    "coverage_study": "flestimate.simulation.coverage",
    "hidden_population_study": "flestimate.simulation.hidden_study",
    "summarise_study": "flestimate.simulation.hidden_study",
}

__all__ = [
    "AGE_GROUP_LABELS",
    "CHILD_CATEGORY_LABELS",
    "DEFAULT_RULE",
    "FORMATS",
    "FORM_LABELS",
    "FORM_NAMES",
    "HiddenPopulation",
    "ICLS_C_ITEMS",
    "ICLS_IW_ITEMS",
    "INDICATOR_ITEMS",
    "INVOLUNTARINESS_ITEMS",
    "ITEM_LABELS",
    "MIGRANT_LABELS",
    "PENALTY_ITEMS",
    "REGION_NAMES",
    "SAMPLE_COLUMNS",
    "SECTORS",
    "SECTOR_LABELS",
    "SEX_LABELS",
    "STATUS_LABELS",
    "SimulatedSurvey",
    "URBAN_LABELS",
    "YES_NO_LABELS",
    "check_formats",
    "coverage_study",
    "hidden_population",
    "hidden_population_study",
    "rds_recruitment",
    "simulate",
    "summarise_study",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'flestimate.simulation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
