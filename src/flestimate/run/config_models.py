"""The ``models:`` section of a run config: parsing and validation.

A list of named design-based regression models (:meth:`flestimate.SurveyDesign.glm`),
each fitted within a reference population::

    models:
      - name: risk_factors
        title: Who is at risk of forced labour among workers
        formula: "fl ~ sex + age_group + C(region) + migrant + sector"
        family: quasibinomial          # default for a 0/1 indicator; gaussian, poisson...
        link: logit                    # default: the family's canonical link
        population: workers            # a reference population (default: total)
        exponentiate: true             # odds ratios (default true for a logit or log link)

Checked here, before any data is read: the keys, the formula's form, the family and
link, the population and the names. The columns of the formula are checked against the
data by :func:`check_model_columns`, with the closest column suggested.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flestimate.errors import ConfigError, ValidationError
from flestimate.estimation.regression.family import FAMILIES, get_family
from flestimate.run.config_compare import _unique_name as unique_name
from flestimate.run.config_formula import check_formula
from flestimate.run.config_small_areas import formula_variables
from flestimate.run.config_specs import Config, ModelSpec
from flestimate.run.config_values import _bool as boolean
from flestimate.run.config_values import _check_keys as check_keys
from flestimate.run.config_values import _choice as choice
from flestimate.run.config_values import _err as err
from flestimate.run.config_values import _mapping as mapping
from flestimate.run.config_values import _missing as missing_column
from flestimate.run.config_values import _str as text

__all__ = ["check_model_columns", "parse_models"]

_KEYS = ("name", "title", "formula", "family", "link", "population", "exponentiate")
#: links whose exponentiated coefficients are ratios (odds ratios, rate ratios)
_RATIO_LINKS = ("logit", "log")


def _formula(value: Any, key: str) -> tuple[str, str, tuple[str, ...]]:
    """The formula, its outcome column and the columns of its right-hand side."""
    formula = text(value, key)
    assert formula is not None
    how = "expected a formula 'outcome ~ term + term', e.g. 'fl ~ sex + C(region) + migrant'"
    if formula.count("~") != 1:
        raise err(key, formula, how)
    lhs, rhs = formula.split("~")
    response = lhs.strip().strip("`")
    if not response.isidentifier() or not rhs.strip():
        raise err(key, formula, how + " (one column as the outcome)")
    try:
        variables = formula_variables(formula)
    except (SyntaxError, ValueError):
        raise err(key, formula, how) from None
    try:
        check_formula(formula)
    except ValueError as exc:  # a config is never code: formulaic evaluates each term
        raise err(key, formula, f"expected a model formula of {exc}") from None
    return formula, response, tuple(variables)


def parse_models(raw: Any, populations: Iterable[str]) -> tuple[ModelSpec, ...]:
    """Validate the ``models:`` section (empty when absent)."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise err("models", raw, "expected a list of models, each with 'name' and 'formula'")
    pops = list(populations)
    out: list[ModelSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"models[{i}]"
        item = mapping(item, key)
        check_keys(item, key, _KEYS, required=("name", "formula"))
        name = unique_name(item["name"], f"{key}.name", seen, "model")
        formula, response, variables = _formula(item["formula"], f"{key}.formula")
        family = choice(item.get("family", "quasibinomial"), f"{key}.family", FAMILIES)
        link = text(item.get("link"), f"{key}.link", optional=True)
        try:
            fam = get_family(family, link)
        except ValidationError as exc:
            raise ConfigError(f"{key}.link: {exc}") from None
        pop = item.get("population", "total")
        if not isinstance(pop, str) or pop not in pops:
            choice(pop, f"{key}.population", pops)
        default_exp = fam.link.name in _RATIO_LINKS
        out.append(ModelSpec(
            name=name, title=text(item.get("title", f"Model: {formula}"), f"{key}.title"),  # type: ignore[arg-type]
            formula=formula, response=response, variables=variables, family=family,
            link=fam.link.name, population=pop,
            exponentiate=boolean(item.get("exponentiate", default_exp), f"{key}.exponentiate"),
            key=key))  # fmt: skip
    return tuple(out)


def check_model_columns(config: Config, columns: list[str]) -> None:
    """The columns each model's formula names exist in the data (the closest suggested)."""
    known = set(columns)
    for m in config.models:
        if m.response not in known:
            raise missing_column(f"{m.key}.formula", m.response, columns, "the outcome")
        for col in m.variables:
            if col not in known:
                raise missing_column(f"{m.key}.formula", col, columns, "the column")
