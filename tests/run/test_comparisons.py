"""The compare: and tests: sections of a run config (issue 17): the numbers equal the
direct library calls, the adjustment is R's p.adjust, a comparison involving a
suppressed cell publishes nothing, and the outputs carry them (CSV, Excel, JSON, HTML)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import flestimate
from flestimate.errors import ConfigError
from flestimate.estimation.contrasts import adjust_p
from flestimate.report.writers import write_outputs
from flestimate.run.comparisons import SUPPRESSED_COMPARISON
from flestimate.run.config import parse_config
from flestimate.run.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def config(**extra):
    raw = {
        "input": "fl_survey.sav",
        "mapping": "mapping.yaml",
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "populations": {"workers": "worked == 1"},
        "sensitivity": False,
        "tables": [
            {"name": "by_sex", "by": ["sex"]},
            {"name": "by_region", "by": ["region"], "statistics": ["prevalence", "total"]},
            {"name": "by_sector", "by": ["sector"], "population": "workers"},
        ],
        "compare": [
            {"table": "by_sex", "pairs": [["male", "female"]]},
            {"name": "regions", "table": "by_region", "all_pairs": True},
            {"name": "regions_total", "table": "by_region", "statistic": "total",
             "pairs": [[1, 2], ["North", "West"]], "adjust": "bonferroni"},
            {"table": "by_sector", "all_pairs": True},
        ],
        "tests": [{"row": "fl", "col": "sector", "population": "workers"},
                  {"row": "fl", "col": "sex", "statistic": "Chisq"}],
    }
    raw.update(extra)
    return parse_config(raw, base_dir=SAMPLE)


@pytest.fixture(scope="module")
def run():
    return run_pipeline(config())


@pytest.fixture(scope="module")
def design():
    data = flestimate.classify(flestimate.read_survey(SAMPLE / "fl_survey.sav"),
                               flestimate.load_mapping(SAMPLE / "mapping.yaml"))
    return flestimate.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")


def rows(run, name):
    c = run.comparisons
    return c[c["comparison"] == name].reset_index(drop=True)


def test_a_named_pair_equals_the_direct_difference(run, design):
    got = rows(run, "by_sex").iloc[0]
    direct = design.prevalence("fl", by="sex", scale=1000).difference("male", "female")
    exp = direct.to_frame().iloc[0]
    assert (got["domain_a"], got["domain_b"]) == ("male", "female")
    for col in ("estimate", "se", "ci_lower", "ci_upper", "p_value", "df"):
        assert got[col] == pytest.approx(exp[col], rel=1e-10), col
    assert got["p_adjusted"] == got["p_value"] and got["adjust"] == "none"
    assert "Taylor linearisation" in got["method"] and "614 degrees" in got["method"]
    # the difference is the difference of the published estimates
    pub = run.tables[0].frame
    prev = pub[(pub["statistic"] == "prevalence") & pub["sex"].notna()].set_index("sex_label")
    assert got["estimate"] == pytest.approx(prev.loc["male", "estimate"]
                                            - prev.loc["female", "estimate"], rel=1e-10)


def test_all_pairs_with_holm(run, design):
    got = rows(run, "regions")
    assert len(got) == 10 and (got["adjust"] == "holm").all()
    assert got[["domain_a", "domain_b"]].iloc[0].tolist() == ["North", "South"]
    direct = design.prevalence("fl", by="region", scale=1000).pairwise(adjust="holm").to_frame()
    np.testing.assert_allclose(got["estimate"], direct["estimate"], rtol=1e-10)
    np.testing.assert_allclose(got["p_adjusted"], direct["p_adjusted"], rtol=1e-10)


def test_pairs_by_code_on_the_total(run, design):
    got = rows(run, "regions_total")
    assert got[["domain_a", "domain_b"]].values.tolist() == [["North", "South"],
                                                             ["North", "West"]]
    tot = design.total("fl", by="region")
    exp = [tot.difference("North", "South"), tot.difference("North", "West")]
    np.testing.assert_allclose(got["estimate"], [e.to_frame()["estimate"].iloc[0] for e in exp],
                               rtol=1e-10)
    np.testing.assert_allclose(got["p_adjusted"], adjust_p(got["p_value"], "bonferroni"))
    assert (got["unit"] == "persons").all()


def test_a_comparison_with_a_suppressed_cell_publishes_nothing(run):
    got = rows(run, "by_sector")
    pub = run.tables[2].frame
    prev = pub[(pub["statistic"] == "prevalence") & pub["sector"].notna()]
    hidden = set(prev.loc[prev["suppressed"], "sector_label"])
    assert hidden  # the sample has suppressed sectors
    involved = got["domain_a"].isin(hidden) | got["domain_b"].isin(hidden)
    assert involved.any() and (~involved).any()
    assert (got["suppressed"] == involved).all()
    blank = ["estimate", "se", "ci_lower", "ci_upper", "p_value", "p_adjusted"]
    assert got.loc[involved, blank].isna().all().all()
    assert (got.loc[involved, "suppression_reason"] == SUPPRESSED_COMPARISON).all()
    assert got.loc[~involved, blank[:4]].notna().all().all()
    # p-values are missing only where two domains without any case are compared (SE 0)
    assert (got.loc[~involved & got["p_value"].isna(), "se"] == 0).all()
    # the others' adjustment does not depend on the hidden p-values: they count as 1
    p = np.where(involved, 1.0, got["p_value"])
    np.testing.assert_allclose(got.loc[~involved, "p_adjusted"],
                               adjust_p(p, "holm")[~involved.to_numpy()], rtol=1e-12)


def test_tests_equal_direct_chisq(run, design):
    t = run.tests.set_index("test")
    sec = t.loc["fl_by_sector"]
    frame = design.data.assign(sector_w=design.data["sector"].where(design.data["worked"] == 1))
    d2 = flestimate.SurveyDesign(frame, weight="w_final", strata="stratum", psu="psu")
    direct = d2.chisq("sector_w", "fl")  # the same cells, transposed
    assert sec["statistic"] == pytest.approx(direct.statistic, rel=1e-9)
    assert sec["p_value"] == pytest.approx(direct.p_value, rel=1e-9)
    assert sec["ndf"] == pytest.approx(direct.df[0], rel=1e-9)
    assert sec["population"] == "workers" and sec["n_unweighted"] == int(
        (frame["sector_w"].notna() & frame["fl"].notna()).sum())
    sex = t.loc["fl_by_sex"]
    direct = design.chisq("fl", "sex", statistic="Chisq")
    assert (sex["statistic_name"], sex["statistic"]) == ("X-squared",
                                                         pytest.approx(direct.statistic))
    assert np.isnan(sex["ddf"])


def test_a_test_on_few_respondents_is_suppressed():
    res = run_pipeline(config(compare=None, reliability={"min_n": 15_000}, tables=[
        {"name": "national"}]))
    t = res.tests.set_index("test")
    assert bool(t.loc["fl_by_sector", "suppressed"])  # 9,769 workers
    assert t.loc["fl_by_sector", ["statistic", "p_value"]].isna().all()
    assert not t.loc["fl_by_sex", "suppressed"]


def test_outputs_carry_comparisons_and_tests(run, tmp_path):
    out = write_outputs(run, tmp_path / "out")
    csv = pd.read_csv(out / "comparisons.csv")
    assert len(csv) == len(run.comparisons)
    assert csv.loc[csv["suppressed"], "estimate"].isna().all()
    assert len(pd.read_csv(out / "tests.csv")) == 2
    res = json.loads((out / "results.json").read_text())
    assert len(res["comparisons"]) == len(run.comparisons) and len(res["tests"]) == 2
    wb = openpyxl.load_workbook(out / "tables.xlsx")
    assert {"comparisons", "comparisons_data", "tests", "tests_data"} <= set(wb.sheetnames)
    ws = wb["comparisons"]
    assert ws["A1"].value == "Comparisons between domains"
    first = [c.value for c in ws[4]]
    assert first[:3] == ["by_sex", "male", "female"]
    assert first[3] == pytest.approx(round(run.comparisons["estimate"].iloc[0], 2))
    assert ws.cell(row=4, column=7).number_format == "#,##0.0000"
    sup = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[8] == "suppressed"]
    assert sup and all(r[3].startswith("[") and r[4] is None and r[6] is None for r in sup)
    html = (out / "report.html").read_text()
    assert 'id="comparisons"' in html and 'id="tests"' in html
    assert "Suppressed: involves a suppressed cell" in html


@pytest.mark.parametrize(("change", "message"), [
    ({"compare": [{"table": "by_sexx", "all_pairs": True}]}, "did you mean 'by_sex'"),
    ({"compare": [{"table": "by_sex"}]}, "either 'pairs'"),
    ({"compare": [{"table": "by_sex", "all_pairs": True, "pairs": [["male", "female"]]}]},
     "not both"),
    ({"compare": [{"table": "by_sex", "pairs": [["male"]]}]}, "expected two domains"),
    ({"compare": [{"table": "by_sex", "all_pairs": True, "adjust": "holms"}]},
     "did you mean 'holm'"),
    ({"compare": [{"table": "by_sex", "statistic": "share", "all_pairs": True}]},
     "allowed: prevalence, total"),
    ({"compare": [{"table": "by_sex", "all_pairs": True}, {"table": "by_sex", "all_pairs": True}]},
     "give each entry its own 'name'"),
    ({"tests": [{"row": "fl", "col": "fl"}]}, "other than the row"),
    ({"tests": [{"row": "fl", "col": "sex", "statistic": "G"}]}, "allowed: F, Chisq"),
    ({"tests": [{"row": "fl", "col": "sex", "population": "adults"}]}, "tests[0].population"),
])
def test_bad_entries_are_refused_before_any_data(change, message):
    with pytest.raises(ConfigError, match=None) as err:
        config(**change)
    assert message in str(err.value)


def test_an_unknown_domain_or_column_names_what_exists():
    with pytest.raises(ConfigError, match=r"'Mars' is not a domain of table 'by_region'; its "
                                          r"domains are \['North'"):
        run_pipeline(config(compare=[{"table": "by_region", "pairs": [["North", "Mars"]]}],
                            tests=None))
    with pytest.raises(ConfigError, match=r"tests\[0\]\.col: column 'sectr'.*did you mean "
                                          r"'sector'"):
        run_pipeline(config(compare=None, tests=[{"row": "fl", "col": "sectr"}]))
