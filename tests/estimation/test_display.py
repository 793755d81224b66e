"""EstimateTable at a terminal, in a notebook and as a forest plot (issue 15, point 5)."""

import matplotlib

matplotlib.use("Agg")  # a test machine has no display; a notebook keeps its own backend

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import flestimate as fl  # noqa: E402


@pytest.fixture(scope="module")
def table():
    data = fl.read_survey("data/sample/fl_survey.sav")
    design = fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
    return design.mean("age", by="region")


def test_repr_shows_rounded_numbers_with_labels(table):
    text = repr(table)
    assert not text.startswith("<EstimateTable")
    lines = text.splitlines()
    assert lines[1].split()[:4] == ["region", "variable", "estimate", "se"]
    north = next(line for line in lines if line.startswith("North"))
    r = table.to_frame().iloc[0]
    assert f"{r.estimate:.2f}" in north and f"{r.se:.2f}" in north and f"{r.cv:.3f}" in north
    assert f"{r.n_unweighted:,}" in north


def test_html_display_has_cv_and_labels(table):
    html = table._repr_html_()
    assert "<th>cv</th>" in html and "<td>North</td>" in html


def test_long_table_text_is_cut_in_the_middle():
    frame = pd.DataFrame({"y": range(200), "g": range(200), "w": 1.0})
    t = fl.SurveyDesign(frame, weight="w").mean("y", by="g")
    assert len(str(t).splitlines()) < 70 and "..." in str(t)


def test_plot_draws_one_interval_per_row(table):
    ax = table.plot()
    f = table.to_frame()
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        f"{r} / age" for r in f["region"]]
    segments = ax.collections[0].get_segments()
    assert len(segments) == len(f)
    lo = sorted(s[0][0] for s in segments)
    assert lo == pytest.approx(sorted(f["ci_lower"]))
