"""The methods text of a run's report: what was computed, and how, in plain words."""

from __future__ import annotations

from flestimate.run.config_specs import Config

__all__ = ["methods_text"]


def methods_text(config: Config, class_settings: dict | None, framework: str | None) -> list[str]:
    """The paragraphs of the report's methods section: classification, design and
    variance, weighting, populations, intervals, stock, reliability, sensitivity."""
    d = config.design
    paras = []
    if framework:
        s = class_settings or {}
        paras.append(
            f"Persons were classified as in forced labour by the {framework} framework "
            f"(strength rule '{s.get('strength_rule', '?')}', penalty scope "
            f"'{s.get('penalty_scope', '?')}', missing-data policy "
            f"'{s.get('missing_policy', '?')}'): a person is in forced labour when work was "
            f"involuntary and imposed under the menace of a penalty."
        )
    parts = [f"weights '{d.weight}'"]
    if d.strata:
        parts.append(f"strata '{d.strata}'")
    if d.psu:
        parts.append(f"primary sampling units '{d.psu}'"
                     + (" (numbered within strata)" if d.nest else ""))
    if d.fpc:
        parts.append(f"finite population correction from '{d.fpc}'")
    if d.replicate is not None:
        paras.append(f"Variances were estimated with replicate weights "
                     f"({d.replicate.get('method', d.replicate.get('type', 'as given'))}).")
    else:
        paras.append(
            "Estimates are design-based, with " + ", ".join(parts) + ". Variances were estimated "
            "by Taylor linearisation with the with-replacement approximation at the first stage "
            f"(lonely PSU rule '{d.lonely_psu}')."
        )
    if config.weighting:
        paras.append("The weights were adjusted in this order: " + "; ".join(
            f"{s.step}" + (f" to the totals in {s.totals.name}" if s.totals else "")
            for s in config.weighting) + ". The variance accounts for the calibration.")
    pops = [f"{k} ({'everyone' if v is None else v.source})" for k, v in config.populations.items()]
    paras.append(
        f"Prevalence is expressed per {config.scale:,g} of a reference population: "
        + ", ".join(pops) + ". Each reference population is estimated as a domain of the full "
        "design (rows outside it are kept with zero contribution), so the prevalence is the ratio "
        "of the weighted number of persons in forced labour in the population to the weighted "
        "population size, and its variance is that of a ratio."
    )
    paras.append(
        f"Confidence intervals are {config.level * 100:g}% intervals by the {config.ci_method} "
        f"method. The interval of a number of persons is the same method's interval of its "
        f"share of the population (its estimate and standard error divided by the weighted "
        f"population size), times that size: when the population size is fixed by the "
        f"weighting it is exactly the population times the prevalence interval. A domain "
        f"with no case gets a one-sided interval whose effective size is its sample size "
        f"divided by the design effect pooled over the table's domains with cases."
    )
    if config.duration is not None:
        paras.append(
            f"The stock 'on any given day' is the weighted total of y·min(d, T)/T with d the "
            f"months in the situation ('{config.duration.variable}') and T = "
            f"{config.duration.period:g}; the flow is the number of persons in forced labour at "
            f"any time in the reference period (ILO-STANDARDS 2.8)."
        )
    r = config.reliability
    paras.append(
        f"Reliability: estimates based on fewer than {r.min_n} respondents or with a coefficient "
        f"of variation above {r.cv_suppress:g} are suppressed; a CV above {r.cv_flag:g} or fewer "
        f"than {r.min_df} design degrees of freedom is flagged 'caution'."
        + (" The NCHS data presentation standard for proportions is applied to prevalences."
           if r.nchs else "")
        + (" In a table with a total, when a single cell is suppressed the next smallest cell is "
           "suppressed too, so the first cannot be recovered by subtraction." if r.complementary
           else "")
    )
    if config.sensitivity and framework:
        paras.append(
            "Sensitivity: the classification was repeated counting 'don't know' and refused "
            "answers as no (conservative) and as yes (upper bound); the report gives both "
            "headline prevalences."
        )
    return paras
