"""The files of a simulated survey: the data in each format with their labels, the
margins, the true values and the README that documents them (the codebook).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.errors import ValidationError
from flestimate.io.codebook import write_codebook, write_parquet
from flestimate.simulation.parameters import (
    AGE_GROUP_LABELS,
    ICLS_C_ITEMS,
    ICLS_IW_ITEMS,
    INDICATOR_ITEMS,
    ITEM_LABELS,
    MIGRANT_LABELS,
    SAMPLE_COLUMNS,
    SECTOR_LABELS,
    SEX_LABELS,
    STATUS_LABELS,
    URBAN_LABELS,
    YES_NO_LABELS,
    check_formats,
)

if TYPE_CHECKING:
    from flestimate.simulation.survey import SimulatedSurvey

#: Text of each indicator item, the start of its variable label.
ITEM_TEXT = {
    "ur_i1": "Forced labour by birth or descent (slave or bonded status)",
    "ur_i2": "Coercive recruitment (abduction, confinement)",
    "ur_i3": "Sale of the worker",
    "ur_i4": "Deceptive recruitment (nature, conditions, wages, employer, place)",
    "ur_i5": "Deceptive recruitment through promises of marriage",
    "ur_i6": "Recruitment linked to debt (advance or loan)",
    "wd_i1": "Forced overtime beyond legal limits or agreement",
    "wd_i2": "Forced to work on call, day and night",
    "wd_i3": "Limited freedom of movement and communication",
    "wd_i4": "Degrading living conditions imposed by the employer",
    "wd_i5": "Forced engagement in illicit activities",
    "wd_i6": "Forced work for the employer's private home or family",
    "wd_i7": "Induced or inflated indebtedness",
    "wd_i8": "Multiple dependency on the employer",
    "wd_i9": "Induced addiction to illegal substances",
    "wd_i10": "Very low or no wages; tasks or employer different from agreed",
    "il_i1": "Cannot leave until training or other benefits are repaid",
    "il_i2": "No freedom to resign in line with legal requirements",
    "il_i3": "Forced to stay longer while waiting for wages due",
    "il_i4": "Forced to work an indeterminate period to repay a debt",
    "p1": "Threats or violence against worker or family",
    "p2": "Restrictions on movement, confinement",
    "p3": "Debt bondage or manipulation of debt",
    "p4": "Withholding of wages or other promised benefits",
    "p5": "Withholding of valuable documents (ID, permits)",
    "p6": "Threat of denunciation to authorities or deportation",
    "p7": "Threat of dismissal or exclusion from future employment",
    "p8": "Exclusion from community and social life",
    "p9": "Financial penalties (fines)",
    "p10": "Removal of rights or privileges (food, shelter, leave)",
    "p11": "Shaming: informing family or community",
    "p12": "Religious or supernatural retribution",
    "p13": "Isolation or constant surveillance",
    "iw1": "Unfree recruitment at birth or through a transaction",
    "iw2": "Job of a different nature from the one agreed",
    "iw3": "Abusive overtime or on-call work not agreed",
    "iw4": "Hazardous conditions not consented to",
    "iw5": "Very low or no wages",
    "iw6": "Degrading living conditions imposed by the employer",
    "iw7": "Work for employers other than the one agreed",
    "iw8": "Work for a longer period than agreed",
    "iw9": "No or limited freedom to terminate the contract",
    "c1": "Threats or violence against worker, family or associates",
    "c2": "Restrictions on movement",
    "c3": "Debt bondage or manipulation of debt",
    "c4": "Withholding of wages or other promised benefits",
    "c5": "Withholding of valuable documents",
    "c6": "Abuse of vulnerability (dismissal, deportation threats)",
}

def write_files(
    survey: SimulatedSurvey, out_dir: str | Path, formats: str | Iterable[str]
) -> list[Path]:
    """Write ``survey`` to ``out_dir`` (see :meth:`SimulatedSurvey.write`); the paths written."""
    fmts = check_formats(formats)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValidationError(
            f"parameter out_dir={str(out)!r} is a file; give a directory to write into."
        )
    out.mkdir(parents=True, exist_ok=True)
    df = survey.sample
    written: list[Path] = []
    numeric_labels = {
        c: {int(k): v for k, v in labels.items()}
        for c, labels in survey.value_labels.items()
        if c in df.columns and pd.api.types.is_numeric_dtype(df[c])
    }
    for fmt in fmts:
        path = out / f"fl_survey.{fmt}"
        if fmt == "sav":
            import pyreadstat

            pyreadstat.write_sav(
                df,
                str(path),
                column_labels=survey.variable_labels,
                variable_value_labels={**numeric_labels, "sector": survey.value_labels["sector"]},
                missing_ranges=survey.missing_ranges,
                row_compress=True,
            )
        elif fmt == "dta":
            # pandas' writer keeps integer codes with missing values as Stata byte/int
            # (pyreadstat writes them as double, which makes the file four times larger)
            _integer_coded(df).to_stata(
                path,
                write_index=False,
                version=118,
                variable_labels=survey.variable_labels,
                value_labels=numeric_labels,
            )
        elif fmt == "csv":
            # CSV carries no labels: they go to the codebook beside it, which
            # read_survey applies without being told
            _integer_coded(df).to_csv(path, index=False)
            written.append(
                write_codebook(
                    df,
                    out / "fl_survey.codebook.yaml",
                    variable_labels=survey.variable_labels,
                    value_labels=survey.value_labels,
                    missing_values=survey.missing_ranges,
                )
            )
        else:
            write_parquet(
                df,
                path,
                variable_labels=survey.variable_labels,
                value_labels=survey.value_labels,
                missing_values=survey.missing_ranges,
            )
        written.append(path)
    survey.margins.to_csv(out / "margins.csv", index=False)
    with open(out / "truth.json", "w", encoding="utf-8") as fh:
        json.dump(survey.truth, fh, indent=2)
        fh.write("\n")
    survey.respondent_truth.to_csv(out / "truth_respondents.csv", index=False)
    shown = Path(out_dir)
    shown_dir = shown.as_posix() if not shown.is_absolute() else "DIR"
    (out / "README.md").write_text(codebook_text(survey, fmts, shown_dir), encoding="utf-8")
    written += [out / n for n in ("margins.csv", "truth.json", "truth_respondents.csv")]
    written.append(out / "README.md")
    return written


def _integer_coded(df: pd.DataFrame) -> pd.DataFrame:
    """A copy in which float columns holding only whole numbers (and NaN) are nullable ints.

    Stata then stores them as byte/int/long with '.' for missing, and CSV writes ``2``
    rather than ``2.0``; the values are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        x = out[col]
        if not pd.api.types.is_float_dtype(x):
            continue
        v = x.to_numpy(dtype=float)
        ok = v[~np.isnan(v)]
        if ok.size and not np.array_equal(ok, np.round(ok)):
            continue
        hi = float(np.abs(ok).max()) if ok.size else 0.0
        dtype = "Int8" if hi <= 100 else "Int16" if hi <= 32_740 else "Int32"
        if hi > 2_147_483_620:
            continue
        out[col] = x.astype(dtype)
    return out


def survey_labels(
    region_labels: dict[int, str],
) -> tuple[dict[str, str], dict[str, dict[Any, str]]]:
    """Variable labels (in the order of the sample columns) and value labels of the survey."""
    stratum_labels = {
        (r - 1) * 2 + u: f"{name} - {URBAN_LABELS[u]}"
        for r, name in region_labels.items()
        for u in (1, 2)
    }
    var = {
        "pid": "Person id",
        "hhid": "Household id",
        "psu": "Enumeration area (primary sampling unit)",
        "stratum": "Sampling stratum (region x urban/rural)",
        "region": "Region",
        "urban": "Urban or rural area",
        "sex": "Sex",
        "age": "Age in completed years",
        "age_group": "Age group",
        "migrant": "Migrant status",
        "worked": "Worked in the last 12 months",
        "sector": "Economic activity (ISIC Rev.4 section)",
        "status_emp": "Status in employment",
        "w_base": "Base weight (inverse inclusion probability)",
        "w_final": "Final weight (base weight adjusted for household nonresponse)",
        "n_psu_stratum": "Number of enumeration areas in the stratum frame",
        "employer_type": "Child worked for: parents or third_party",
        "parent_pid": "Person id of the parent in the household (children)",
        "perp_type": "Who imposed the work: private or state",
        "cse": "Commercial sexual exploitation",
        "wfcl": "Child in an unconditional worst form of child labour",
        "dur_months": "Months in the situation in the last 12 months",
    }
    for item in INDICATOR_ITEMS:
        code = item.upper().replace("_", "-")
        if item in ICLS_IW_ITEMS or item in ICLS_C_ITEMS:
            code = "ICLS-" + code
        var[item] = f"{code}: {ITEM_TEXT[item]}"[:80]
    val: dict[str, dict[Any, str]] = {
        "stratum": stratum_labels,
        "region": dict(region_labels),
        "urban": dict(URBAN_LABELS),
        "sex": dict(SEX_LABELS),
        "age_group": dict(AGE_GROUP_LABELS),
        "migrant": dict(MIGRANT_LABELS),
        "worked": dict(YES_NO_LABELS),
        "status_emp": dict(STATUS_LABELS),
        "cse": dict(YES_NO_LABELS),
        "wfcl": dict(YES_NO_LABELS),
        "sector": dict(SECTOR_LABELS),
        **{item: dict(ITEM_LABELS) for item in INDICATOR_ITEMS},
    }
    return {c: var[c] for c in SAMPLE_COLUMNS}, val


def codebook_text(s: SimulatedSurvey, formats: tuple[str, ...], out_dir: str) -> str:
    """The README (Markdown) of the files written to ``out_dir`` in ``formats``."""
    p = s.parameters
    t = s.truth
    nat = t["populations"]
    seed = p.get("seed")
    cmd = (
        f"flestimate simulate --respondents {p['respondents']} --seed {seed} --out {out_dir} "
        f"--format {','.join(formats)}"
    )
    if p["prevalence"] != 0.006:
        cmd += f" --prevalence {p['prevalence']:g}"
    if p["n_regions"] != 5:
        cmd += f" --regions {p['n_regions']}"
    defaults = {
        "households_per_psu": 10, "psu_fraction": 0.4, "hotspot_share": 0.04,
        "hotspot_risk": 30.0, "false_involuntary": 0.05, "false_coercion": 0.03,
        "item_nonresponse": 0.002,
    }  # fmt: skip
    non_default = {k: p[k] for k, v in defaults.items() if p[k] != v}
    lines = [
        "# Synthetic forced-labour survey (flestimate sample data)",
        "",
        "A synthetic national household survey with a forced-labour module, drawn by",
        "`flestimate.simulate` from a synthetic population whose true values are known.",
        "No real person is described. Regenerate these files with:",
        "",
        "```bash",
        cmd if seed is not None else "(drawn from a numpy Generator: no seed recorded)",
        "```",
        "",
    ]
    if non_default:
        lines += [
            "with these non-default arguments of `flestimate.simulate`: "
            + ", ".join(f"`{k}={v!r}`" for k, v in non_default.items())
            + ".",
            "",
        ]
    files = [f"`fl_survey.{f}`" for f in formats]
    lines += [
        "## Files",
        "",
        "| file | content |",
        "|---|---|",
        f"| {', '.join(files)} | the survey, one row per responding person aged 5+ "
        f"({len(s.sample):,} rows) |",
        "| `fl_survey.codebook.yaml` | the labels and user-missing codes of the CSV file "
        "(read by `flestimate.read_survey` automatically; the Parquet file holds them in its "
        "schema metadata) |",
        "| `margins.csv` | population counts of persons aged 5+ by `region, sex, age_group` "
        "(column `count`), for calibration |",
        "| `truth.json` | the true population values (layout below) |",
        "| `truth_respondents.csv` | `pid, fl_true` (true status of each respondent under the "
        "default rule), `fl_form_true` (0 none, 1 exploitation, 2 sexual exploitation, "
        "3 state-imposed), `fl_child_category_true` (0 none, 1..4 = ICLS categories i..iv) |",
        "| `mapping*.yaml`, `example*.yaml` (when present) | the questionnaire mapping and "
        "pipeline examples for this survey; maintained with the classifier and the pipeline, "
        "not written by the simulator |",
        "| `districts.csv`, `district_of_psu.csv` (when present) | districts of the population "
        "for small-area estimation (the `small_areas:` section of a run): one row per "
        "district with `district` (region x 100 + block of 12 EAs), `region`, `population` "
        "(persons aged 5+) and the covariates `migrant_share`, `risky_sector_share`, "
        "`urban_share`, `register_per_1000` (rounded to 6 decimals; the true prevalence left "
        "out), and `psu, district` for every EA. Written by "
        "`sae.study.district_areas(fl.simulate(20_000, rng=20181010, keep_population=True)"
        ".population)`, as notebook 04 does; not written by the simulator |",
        "",
        "In the `.sav` file the codes 8 (don't know) and 9 (refused) of every indicator item "
        "are declared user-missing; the `.dta` file carries the same variable and value labels.",
        "",
        "## Design",
        "",
        f"- Population: {t['population_size']:,} persons aged 5+ in {t['households']:,} "
        f"households and {t['psus']:,} enumeration areas (EAs), {p['n_regions']} regions x "
        "urban/rural = "
        f"{2 * p['n_regions']} strata.",
        "- Stage 1: in each stratum, EAs selected with probability proportional to their number "
        "of households (systematic PPS in random order; EAs whose expected hits reach 1 are "
        f"taken with certainty). Selected: {t['sample']['psus_selected']:,} EAs, of which "
        f"{t['sample']['certainty_psus']:,} certainty EAs.",
        f"- Stage 2: {p['households_per_psu']} households by simple random sampling in each "
        f"selected EA ({t['sample']['households_selected']:,} households); every person aged "
        "5+ of a responding household is interviewed.",
        f"- Household nonresponse varies by stratum: {t['sample']['households_responding']:,} "
        "households responded.",
        "- `w_base` = 1 / (pi_EA * m / M_EA), with m households selected out of the M_EA of the "
        "EA. `w_final` = `w_base` x (sum of `w_base` over the selected households of the "
        "stratum) / (sum over its responding households): a weighting-class adjustment with "
        "the stratum as class, so the respondents' `w_final` reproduce the selected "
        "households' base-weight total in every stratum.",
        "- Design for analysis: strata `stratum`, PSUs `psu`, weights `w_final`, first-stage "
        "population count `n_psu_stratum` (the PSUs were selected with unequal probabilities, "
        "so the usual choice is the with-replacement approximation without fpc).",
        "",
        "## Variables",
        "",
        "| column | label | codes |",
        "|---|---|---|",
    ]
    for col in SAMPLE_COLUMNS:
        labels = s.value_labels.get(col)
        if col in INDICATOR_ITEMS:
            codes = "1 yes, 2 no, 8 don't know, 9 refused; empty if not asked (did not work)"
        elif col == "sector":
            codes = "letter A..U; empty when not working"
        elif labels:
            codes = ", ".join(f"{k} {v}" for k, v in labels.items())
            if col in ("status_emp", "cse", "wfcl"):
                codes += "; empty when not asked"
        elif col == "parent_pid":
            codes = "empty for adults and children without a parent in the household"
        elif col in ("employer_type", "perp_type"):
            codes = "empty when not asked"
        elif col == "dur_months":
            codes = "1..12; asked when any indicator item is yes"
        else:
            codes = ""
        lines.append(f"| `{col}` | {s.variable_labels[col]} | {codes} |")
    lines += [
        "",
        "`perp_type`, `cse` and `dur_months` are asked of people who answered yes to at least "
        "one indicator item; `employer_type` and `wfcl` of children (5-17) who worked. The "
        "indicator items are the ILO 2012 indicators (`ur_i*`, `wd_i*`, `il_i*` "
        "involuntariness by dimension, `p*` penalties asked once) and the ICLS 2018 elements "
        "(`iw*` involuntary work, `c*` coercion).",
        "",
        "## True values",
        "",
        "The default classification rule defines the truth: framework `ilo-2012`, "
        "`strength_rule: any`, `penalty_scope: any_dimension`, `missing_policy: conservative` "
        "(don't know and refused count as no); children by the ICLS 2018 categories i-iv "
        "(third-party coercion, or working for a parent in forced labour, or an unconditional "
        "worst form `wfcl = 1`).",
        "",
        "| population | persons | in forced labour | per 1,000 |",
        "|---|---|---|---|",
    ]
    for key in ("all", "adults", "children"):
        e = nat[key]
        lines.append(
            f"| {e['definition']} | {e['national']['population']:,} | {e['national']['fl']:,} | "
            f"{e['national']['prevalence_per_1000']:.3f} |"
        )
    lines += [
        "",
        "`truth.json` layout: `populations.<all|adults|children>` each with `national` "
        "(`population`, `fl`, `prevalence_per_1000`), `by.<sex|age_group|region|migrant|urban>`"
        ".<code> (same fields plus `label`), `by.sector.<letter>` (among persons who worked: "
        "`population` is the number of workers of the sector, prevalence per 1,000 workers), "
        "`forms.<exploitation|sexual_exploitation|state_imposed>` (`fl`, `prevalence_per_1000` "
        "of the whole population group), `stock` (`persons_on_any_given_day` = sum of "
        "`dur_months`/12 over people in forced labour, `per_1000`) and, for children, "
        "`child_categories` (`i`..`iv` counts). `prevalence_per_1000` is always "
        "1000 x `fl` / `population`. `sample` gives the sample counts and `parameters` the "
        "arguments of the draw.",
        "",
    ]
    return "\n".join(lines)
