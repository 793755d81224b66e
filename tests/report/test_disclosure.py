"""Disclosure control: a suppressed cell publishes nothing from which its value follows.

Issue 14 (defect 4): suppressed rows published ``n_effective``, ``flags`` and a reason
carrying the CV, so ``p = 1 / (1 + CV^2 n_eff)`` recovered the suppressed prevalences,
``zero_variance`` told which suppressed cells were 0, and a table by an identifier
published each respondent's weight. These tests run the bundled example through every
writer and attack what a suppressed row still shows.
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from flestimate.cli import main
from flestimate.errors import ConfigError
from flestimate.report import apply_disclosure_control, assemble_table, tidy_rows, write_outputs
from flestimate.report.disclosure import (
    SUPPRESSED_BLANK,
    identifying_partition,
    protect_headline,
    suppression_reasons,
)
from flestimate.report.plots import forest_plot
from flestimate.report.specs import ReliabilityRules
from flestimate.run.config import load_config
from flestimate.run.pipeline import run_pipeline

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
EXAMPLE = SAMPLE / "example.yaml"
# what a suppressed row may not show: every column computed from the cell's values
VALUE_COLUMNS = [c for c in SUPPRESSED_BLANK if c != "deff_wr"] + ["flags", "quality_notes"]
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def vocabulary(rules: ReliabilityRules) -> set[str]:
    words = {**suppression_reasons(rules, complementary=True),
             "precision_alone": suppression_reasons(rules, complementary=False)["precision"]}
    return set(words.values())


def p_from_cv(cv: float, n_effective: float) -> float:
    """The attack of the issue: for a proportion, CV^2 = (1 - p) / (p n_eff)."""
    return 1.0 / (1.0 + cv * cv * n_effective)


def published_cv(row: dict) -> float:
    """A CV published on the row: its cv column or a number in its reason."""
    cv = row.get("cv")
    if cv is not None and np.isfinite(float(cv)):
        return float(cv)
    reason = str(row.get("suppression_reason") or "")
    nums = [float(x) for x in NUMBER.findall(reason)]
    # the configured thresholds are public and are not the cell's CV
    return next((x for x in nums if x not in (0.5, 30.0)), np.nan)


# ------------------------------------------------------------------ the bundled example


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    config = load_config(EXAMPLE)
    result = run_pipeline(config)
    out = write_outputs(result, tmp_path_factory.mktemp("disclosure") / "out")
    return config, result, out


def _suppressed_csv_rows(out: Path) -> list[tuple[str, pd.DataFrame]]:
    tables = []
    for path in sorted(out.glob("*.csv")):
        frame = pd.read_csv(path)
        tables.append((path.stem, frame[frame["suppressed"]]))
    return tables


def test_example_has_suppressed_cells_of_every_kind(example):
    _, result, _ = example
    sector = next(t for t in result.tables if t.name == "by_sector").frame
    sup = sector[sector["suppressed"]]
    # small cells (D, L are true zeros, U is 4 respondents) and CV-suppressed cells
    assert {"D", "L", "U"} <= set(sup["sector"]) and {"B", "K", "P"} <= set(sup["sector"])


def test_csv_suppressed_rows_publish_no_value(example):
    config, _, out = example
    words = vocabulary(config.reliability)
    seen = 0
    for name, rows in _suppressed_csv_rows(out):
        for col in VALUE_COLUMNS:
            assert rows[col].isna().all(), (name, col, rows[col].dropna().tolist())
        assert set(rows["suppression_reason"]) <= words, name
        assert (rows["quality"] == "suppressed").all()
        seen += len(rows)
    assert seen > 0


def test_excel_suppressed_rows_publish_no_value(example):
    config, result, out = example
    words = vocabulary(config.reliability)
    wb = load_workbook(out / "tables.xlsx", read_only=True)
    seen = 0
    for t in result.tables:
        rows = list(wb[f"{t.name}_data"].iter_rows(min_row=4, values_only=True))
        header, body = list(rows[0]), rows[1:]
        col = {name: i for i, name in enumerate(header)}
        for r in body:
            if not r[col["suppressed"]]:
                continue
            seen += 1
            for c in VALUE_COLUMNS:
                assert r[col[c]] in (None, ""), (t.name, c, r[col[c]])
            assert r[col["suppression_reason"]] in words
    assert seen > 0


def test_json_suppressed_rows_publish_no_value(example):
    config, _, out = example
    words = vocabulary(config.reliability)
    res = json.loads((out / "results.json").read_text())
    rows = [r for t in res["tables"] for r in t["rows"] if r["suppressed"]]
    assert rows
    for r in rows:
        for c in VALUE_COLUMNS:
            assert r[c] in (None, ""), (r["table"], c, r[c])
        assert r["suppression_reason"] in words


def test_html_suppressed_rows_publish_no_value(example):
    config, result, out = example
    words = vocabulary(config.reliability)
    text = (out / "report.html").read_text()
    rows = re.findall(r'<tr class="[^"]*suppressed[^"]*">(.*?)</tr>', text, flags=re.S)
    # one row per domain: every statistic of a suppressed domain is suppressed
    n_sup = sum(int(t.frame.loc[t.frame["suppressed"], "statistic"].value_counts().max())
                for t in result.tables if t.frame["suppressed"].any())
    assert len(rows) == n_sup > 0
    footnotes = dict(re.findall(r'<p class="footnote">(\[[a-z]+\]) Suppressed: (.*?)\.</p>', text))
    for row in rows:
        cells = [html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        # label | estimate, CI per statistic | n, quality, notes
        values = cells[1:-3]
        assert values and all(v in ("", *footnotes) for v in values), values
        assert {v for v in values if v} and all(footnotes[v] in words for v in values if v)
        assert cells[-2:] == ["suppressed", ""]


def test_cv_attack_recovers_no_suppressed_prevalence(example):
    """p = 1/(1 + CV^2 n_eff) is exact on a published row and has nothing to work on
    on a suppressed one, in any output."""
    _, result, out = example
    published = [t.frame[(t.frame["statistic"] == "prevalence") & ~t.frame["suppressed"]]
                 for t in result.tables]
    pub = pd.concat(published)
    pub = pub[pub["cv"].notna() & pub["n_effective"].notna()]
    got = [p_from_cv(c, n) for c, n in zip(pub["cv"], pub["n_effective"], strict=True)]
    # the attack works where its inputs are published (so this test could fail) ...
    np.testing.assert_allclose(got, pub["estimate"] / 1000, rtol=1e-6)
    # ... and suppressed rows give it nothing, in the CSVs and in results.json
    res = json.loads((out / "results.json").read_text())
    rows = [r for t in res["tables"] for r in t["rows"] if r["suppressed"]]
    for _, frame in _suppressed_csv_rows(out):
        rows += frame.to_dict(orient="records")
    assert rows
    for r in rows:
        n_eff = r.get("n_effective")
        n_eff = np.nan if n_eff is None else float(n_eff)
        assert np.isnan(p_from_cv(published_cv(r), n_eff)), r


def test_zero_and_nonzero_suppressed_cells_look_the_same(example):
    """D and L hold no case (zero variance), U and the CV cells do: their rows show the
    same columns, and the small ones the same reason whatever their value."""
    _, result, _ = example
    sector = next(t for t in result.tables if t.name == "by_sector").frame
    sup = sector[sector["suppressed"]]
    shown = sup.notna() & (sup.astype(str) != "")
    # every suppressed row shows exactly the same set of columns
    assert (shown == shown.iloc[0]).all().all()
    assert not shown.iloc[0][VALUE_COLUMNS].any()
    small = sup[sup["sector"].isin(["D", "L", "U"])]
    assert small["suppression_reason"].nunique() == 1


def test_headline_of_the_example_is_published(example):
    _, result, _ = example
    assert result.headline["suppressed"] is False
    assert result.headline["prevalence"]["estimate"] > 0


# ------------------------------------------------------------------ hand-made tables


def cells_frame(values, n, cv, *, by="region", flags=""):
    est = np.asarray(values, dtype=float)
    cv = np.asarray(cv, dtype=float)
    se = np.nan_to_num(est * cv)
    n = np.asarray(n, dtype=float)
    frame = pd.DataFrame({
        "estimate": est, "se": se, "ci_lower": est - 2 * se, "ci_upper": est + 2 * se,
        "level": 0.95, "ci_method": "korn-graubard", "df": 40.0, "deff": 1.5, "cv": cv,
        "n_unweighted": n, "n_weighted": n * 97.0, "n_effective": n / 1.5, "flags": flags,
    })
    if by is not None:
        frame.insert(0, by, list(range(1, len(est) + 1)))
    return frame


def one_way(values, n, cv, flags="", *, total=True, rules=None, stats=("total",),
            total_value=None):
    pieces = []
    total_value = sum(values) if total_value is None else total_value
    for stat in stats:
        pieces.append(tidy_rows(cells_frame(values, n, cv, flags=flags), by=["region"],
                                statistic=stat, scale=1000.0 if stat == "prevalence" else 1.0))
        if total:
            pieces.append(tidy_rows(cells_frame([total_value], [sum(n)], [0.05], by=None),
                                    by=["region"], statistic=stat))
    return assemble_table(pieces, name="t", indicator="fl", population="total", by=["region"],
                          rules=rules or ReliabilityRules(), has_total=total)


def test_complement_that_is_zero_looks_like_one_that_is_not():
    # East (n = 20) is suppressed; West (n = 300, the smallest other) protects it
    n = [500, 400, 20, 300]
    zero = one_way([3000, 1600, 100, 0], n, [0.1, 0.12, 0.2, np.nan],
                   flags=["", "", "", "zero_variance"])
    nonzero = one_way([3000, 1600, 100, 600], n, [0.1, 0.12, 0.2, 0.11])
    assert zero["suppressed"].tolist() == nonzero["suppressed"].tolist()
    assert zero.loc[zero["region"] == 4, "suppressed"].all()
    pd.testing.assert_frame_equal(zero[zero["suppressed"]], nonzero[nonzero["suppressed"]])


def test_reason_does_not_tell_a_small_zero_cell_from_a_small_positive_one():
    # both have n < min_n; the second also fails the CV rule: the reason is the same
    t = one_way([0, 5, 900, 800], [20, 25, 400, 300], [np.nan, 0.9, 0.1, 0.1],
                flags=["zero_variance", "", "", ""], rules=ReliabilityRules(complementary=False))
    small = t[t["region"].isin([1, 2])]
    assert small["suppressed"].all()
    assert small["suppression_reason"].tolist() == ["fewer than 30 respondents"] * 2
    assert (small["flags"] == "").all()


def test_single_respondent_domain_is_suppressed_even_with_min_n_zero():
    rules = ReliabilityRules(min_n=0, cv_suppress=100, cv_flag=100, complementary=False)
    t = one_way([1.0, 40.0, 35.0], [1, 400, 300], [np.nan, 0.1, 0.1],
                flags=["zero_variance", "", ""], rules=rules, stats=("prevalence", "total"))
    solo = t[t["region"] == 1]
    assert solo["suppressed"].all() and solo["n_weighted"].isna().all()
    assert (solo["suppression_reason"] == "a domain of a single respondent").all()
    # its weighted size cannot be had by subtraction from the total either: a second
    # cell is suppressed although complementary suppression is off
    cells = t[t["region"].notna() & (t["statistic"] == "total")]
    assert int(cells["suppressed"].sum()) == 2
    hidden = t.loc[t["region"].isna(), "n_weighted"].iloc[0] - cells["n_weighted"].sum()
    assert hidden != pytest.approx(97.0)
    # also without a total row: the total may be published in another table
    t = one_way([1.0, 40.0, 35.0], [1, 400, 300], [np.nan, 0.1, 0.1], rules=rules, total=False)
    assert t["suppressed"].tolist() == [True, False, True]


def test_nchs_reasons_name_the_public_rule_first():
    rules = ReliabilityRules(min_n=10, nchs=True, complementary=False)
    # n = 25: the NCHS n rule (public); n = 400 with a 0.4-wide interval: NCHS widths
    rows = tidy_rows(cells_frame([200.0, 500.0, 30.0], [25, 400, 900], [0.1, 0.4, 0.1]),
                     by=["region"], statistic="prevalence", scale=1000.0)
    t = apply_disclosure_control(rows, ["region"], rules, has_total=False)
    assert t["suppression_reason"].tolist() == [
        "fewer than 30 respondents (NCHS data presentation standard)",
        "coefficient of variation above 0.5 or NCHS data presentation standard for proportions",
        "",
    ]


def test_shares_add_up_to_100_so_a_lone_suppressed_share_gets_a_complement():
    t = one_way([60.0, 30.0, 10.0], [500, 400, 300], [0.1, 0.1, 0.9], total=False,
                stats=("share",))
    assert t["suppressed"].sum() == 2


def two_way(n, cv, rules=None, total=True):
    a, b = np.meshgrid(np.arange(1, n.shape[0] + 1), np.arange(1, n.shape[1] + 1),
                       indexing="ij")
    frame = cells_frame(np.full(n.size, 50.0), n.ravel(), cv.ravel(), by=None)
    frame.insert(0, "sex", b.ravel())
    frame.insert(0, "region", a.ravel())
    pieces = [tidy_rows(frame, by=["region", "sex"], statistic="total")]
    if total:
        pieces.append(tidy_rows(cells_frame([50.0 * n.size], [n.sum()], [0.05], by=None),
                                by=["region", "sex"], statistic="total"))
    return assemble_table(pieces, name="t", indicator="fl", population="total",
                          by=["region", "sex"], rules=rules or ReliabilityRules(),
                          has_total=total)


def lone_suppressed_lines(t: pd.DataFrame, by: list[str]) -> int:
    cells = t[t[by].notna().all(axis=1)]
    lone = 0
    for j in range(len(by)):
        rest = by[:j] + by[j + 1:]
        per_line = cells.groupby(rest)["suppressed"].agg(["sum", "size"])
        lone += int(((per_line["sum"] == 1) & (per_line["size"] > 1)).sum())
    return lone


def test_cross_table_protects_its_margins():
    """A region x sex table: the region and sex margins are tables of their own, so a
    suppressed cell alone in its row or column would be recovered from them."""
    n = np.array([[200, 20], [300, 250], [400, 350]])
    t = two_way(n, np.full(n.shape, 0.1))
    assert lone_suppressed_lines(t, ["region", "sex"]) == 0
    assert t["suppressed"].sum() == 4  # a 2 x 2 block
    assert t.loc[(t["region"] == 1) & (t["sex"] == 2), "suppression_reason"].iloc[0] == (
        "fewer than 30 respondents")


def test_headline_suppressed_publishes_no_value():
    rules = ReliabilityRules(min_n=30)
    stat = {"estimate": 4.0, "se": 3.0, "ci_lower": 0.5, "ci_upper": 12.0, "cv": 0.75,
            "deff": 1.3, "df": 12.0, "n_unweighted": 900.0, "n_weighted": 9000.0,
            "n_effective": 700.0}
    headline = {"scale": 1000.0, "prevalence": stat, "persons": {**stat, "estimate": 36.0},
                "stock": None}
    out, band = protect_headline(headline, {"conservative": {}, "upper_bound": {}}, rules)
    assert out["suppressed"] and band is None
    assert out["suppression_reason"] == "coefficient of variation above 0.5"
    for key in ("prevalence", "persons"):
        assert all(out[key][c] is None for c in SUPPRESSED_BLANK if c in out[key])
        assert out[key]["n_unweighted"] == 900.0
    kept, band = protect_headline(headline, {"x": 1}, ReliabilityRules(cv_suppress=1.0))
    assert kept["suppressed"] is False and band == {"x": 1}


def test_forest_plot_never_draws_a_suppressed_cell_or_total():
    t = one_way([3000, 1600, 100, 600], [500, 400, 20, 300], [0.1, 0.12, 0.2, 0.11],
                stats=("prevalence",))
    # a frame whose suppressed rows still hold their values (e.g. assembled by hand)
    raw = t.copy()
    raw.loc[raw["suppressed"], "estimate"] = 123.0
    raw["suppressed"] = raw["suppressed"] | raw["region"].isna()
    ax = forest_plot(raw, ["region"], statistic="prevalence").axes[0]
    (bars,) = ax.containers
    assert sorted(np.asarray(bars.lines[0].get_xdata(), dtype=float)) == [1600.0, 3000.0]
    assert not any(label.startswith("Total") for label in ax.get_legend_handles_labels()[1])


# ------------------------------------------------------------------ property


@settings(max_examples=60, deadline=None)
@given(
    n=st.lists(st.integers(min_value=0, max_value=200), min_size=2, max_size=8),
    cv=st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=8, max_size=8),
    new=st.lists(st.floats(min_value=0.0, max_value=1e4), min_size=8, max_size=8),
    zero=st.lists(st.booleans(), min_size=8, max_size=8),
    total=st.booleans(),
)
def test_published_table_does_not_depend_on_the_values_of_suppressed_cells(n, cv, new, zero,
                                                                          total):
    """Replace the values of the primary-suppressed cells by anything that keeps them
    suppressed (a true zero with zero variance included): nothing published changes."""
    k = len(n)
    rules = ReliabilityRules()
    values = [float(10 * (i + 1)) for i in range(k)]
    cvs = np.asarray(cv[:k])
    base = one_way(values, n, cvs, total=total, stats=("prevalence", "total"))
    small = np.asarray(n) < rules.min_n
    noisy = cvs > rules.cv_suppress
    v2, cv2 = np.asarray(values), cvs.copy()
    flags = np.array([""] * k, dtype=object)
    v2[small | noisy] = np.asarray(new[:k])[small | noisy]
    cv2[noisy] = cvs[noisy] + 0.5  # still above the threshold
    to_zero = small & np.asarray(zero[:k])
    v2[to_zero], cv2[to_zero], flags[to_zero] = 0.0, np.nan, "zero_variance"
    other = one_way(list(v2), n, cv2, flags=list(flags), total=total,
                    stats=("prevalence", "total"), total_value=sum(values))
    pd.testing.assert_frame_equal(base, other)
    sup = base[base["suppressed"]]
    assert sup[[c for c in SUPPRESSED_BLANK if c in sup]].isna().all().all()
    assert (sup["flags"] == "").all() and (sup["quality_notes"] == "").all()
    assert set(sup["suppression_reason"]) <= vocabulary(rules)


@settings(max_examples=40, deadline=None)
@given(
    n=st.lists(st.integers(min_value=1, max_value=120), min_size=6, max_size=12),
    cols=st.integers(min_value=2, max_value=3),
)
def test_no_line_of_a_cross_table_has_one_suppressed_cell(n, cols):
    rows = len(n) // cols
    grid = np.asarray(n[: rows * cols]).reshape(rows, cols)
    t = two_way(grid, np.full(grid.shape, 0.1))
    assert lone_suppressed_lines(t, ["region", "sex"]) == 0
    assert t.loc[t["region"].notna(), "suppressed"].to_numpy()[grid.ravel() < 30].all()


# ------------------------------------------------------------------ identifiers


def test_identifying_partition_rule():
    assert identifying_partition(np.ones(500))                       # person ids
    assert identifying_partition(np.r_[np.full(300, 4), np.full(200, 2)])  # households
    assert not identifying_partition(np.full(40, 200))               # districts
    assert not identifying_partition(np.full(5, 1))                  # a tiny table, few domains
    assert not identifying_partition(np.r_[np.full(11, 3), np.full(12, 6)])


def _config(tmp_path: Path, tables: list[dict], **extra) -> Path:
    cfg = {
        "title": "Disclosure test",
        "input": {"path": str(SAMPLE / "fl_survey.parquet")},
        "mapping": str(SAMPLE / "mapping.yaml"),
        "design": {"weight": "w_final", "strata": "stratum", "psu": "psu"},
        "populations": {"adults": "age >= 18"},
        "tables": tables,
        **extra,
    }
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_table_by_person_id_is_refused(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "national"}, {"name": "by_pid", "by": ["pid"]}],
                   reliability={"min_n": 0})
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "tables[1] 'by_pid'" in err and "'pid'" in err
    assert "19,846 values" in err and "median size 1" in err and "grouping column" in err
    assert not (tmp_path / "out").exists()


def test_table_by_household_within_a_population_is_refused(tmp_path):
    path = _config(tmp_path, [{"name": "hh", "by": ["sex", "hhid"], "population": "adults"}])
    with pytest.raises(ConfigError, match=r"tables\[0\] 'hh': by column 'hhid' identifies"):
        run_pipeline(load_config(path))


def test_domain_of_one_respondent_is_suppressed_and_its_weight_unpublished(tmp_path):
    frame = pd.read_parquet(SAMPLE / "fl_survey.parquet")
    solo = int(frame.index[frame["region"] == 3][0])
    frame["grp"] = frame["region"].astype(int)
    frame.loc[solo, "grp"] = 9
    weight = float(frame.loc[solo, "w_final"])
    frame.to_parquet(tmp_path / "survey.parquet")
    path = _config(tmp_path, [{"name": "by_grp", "by": ["grp"]}],
                   reliability={"min_n": 0, "cv_flag": 100, "cv_suppress": 100,
                                "complementary": False})
    cfg = yaml.safe_load(path.read_text())
    cfg["input"]["path"] = "survey.parquet"
    path.write_text(yaml.safe_dump(cfg))
    result = run_pipeline(load_config(path))
    out = write_outputs(result, tmp_path / "out")
    t = pd.read_csv(out / "by_grp.csv")
    row = t[t["grp"] == 9]
    assert row["suppressed"].all() and row["n_weighted"].isna().all()
    assert (row["suppression_reason"] == "a domain of a single respondent").all()
    # the weight is nowhere in the published numbers, not even by subtraction
    res = json.loads((out / "results.json").read_text())
    numbers = [v for t_ in res["tables"] for r in t_["rows"] for v in r.values()
               if isinstance(v, float)]
    assert not np.isclose(numbers, weight, rtol=1e-9, atol=0).any()
    prev = t[t["statistic"] == "prevalence"]
    cells = prev[prev["grp"].notna()]
    hidden = prev.loc[prev["grp"].isna(), "n_weighted"].iloc[0] - cells["n_weighted"].sum()
    assert int(cells["suppressed"].sum()) == 2 and hidden > 1.5 * weight


def test_suppressed_headline_in_every_output(tmp_path, capsys):
    path = _config(tmp_path, [{"name": "national"}], reliability={"min_n": 10**6},
                   sensitivity=True)
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    assert "headline suppressed: fewer than 1000000 respondents" in capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    h = res["headline"]
    assert h["suppressed"] and res["sensitivity"] is None
    for key in ("prevalence", "persons"):
        assert all(h[key][c] is None for c in VALUE_COLUMNS if c in h[key])
    assert "Design effect of the headline prevalence" not in res["design"]
    page = (out / "report.html").read_text()
    assert "The headline estimate is suppressed (fewer than 1000000 respondents)" in page
    assert 'id="sensitivity"' not in page
