"""Every ```python block of docs/ runs, and shows what it prints (issue 15, point 7).

A page's blocks run in order in one namespace, in a temporary working folder where
``data/sample``, ``data/mse`` and ``data/hidden`` are the bundled data. A page may name a setup, run
before its first block, with an HTML comment ``<!-- docs-test: setup=NAME -->``
(``SETUPS`` below); a page without one must be self-contained.

What a page shows is checked where it shows it: an expression statement followed by
comment lines (``# ...``) up to the next statement, as in::

    uk.head(3)
    #    LA  NG  PF  GO  GP  NCA  count
    # 0   1   0   0   0   0    0     54

must print (its ``repr``, or what ``print`` writes) exactly those lines, up to spaces.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
SETUP = re.compile(r"<!--\s*docs-test:\s*setup=([\w-]+)\s*-->")

SETUPS = {
    # the classified sample survey and its design, as built on the getting-started page
    "sample-design": """
import pandas as pd
import flestimate as fl

survey = fl.read_survey("data/sample/fl_survey.sav")
data = fl.classify(survey, fl.load_mapping("data/sample/mapping.yaml"))
margins = pd.read_csv("data/sample/margins.csv")
design = fl.SurveyDesign(data, weight="w_final", strata="stratum", psu="psu")
""",
    # the sample survey's respondents with their district, and the districts' covariates
    # (as notebook 04 builds them)
    "districts": """
import flestimate as fl
from flestimate import sae

survey = fl.read_survey("data/sample/fl_survey.sav")
data = fl.classify(survey, fl.load_mapping("data/sample/mapping.yaml")).frame
country = fl.simulate(20_000, rng=20181010, keep_population=True)
district_of_psu, districts = sae.study.district_areas(country.population)
data["district"] = data["psu"].map(district_of_psu)
""",
    # the bundled synthetic hidden population (data/hidden), as notebook 06 reads it
    "hidden": """
import json
import pandas as pd

truth = json.loads(open("data/hidden/truth.json").read())
N = truth["population"]
survey = pd.read_csv("data/hidden/nsum_survey.csv")
known_sizes = pd.read_csv("data/hidden/known_populations.csv")
reports = pd.read_csv("data/hidden/family_reports.csv")
sample = pd.read_csv("data/hidden/rds_sample.csv")
""",
}


def pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


def shown_outputs(source: str) -> dict[int, list[str]]:
    """``{line of an expression statement: the output lines shown under it}``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    body = tree.body
    out: dict[int, list[str]] = {}
    for i, node in enumerate(body):
        if not isinstance(node, ast.Expr):
            continue
        stop = body[i + 1].lineno - 1 if i + 1 < len(body) else len(lines)
        after = lines[node.end_lineno:stop]
        shown = [ln.strip()[2:] if ln.strip().startswith("# ") else ln.strip()[1:]
                 for ln in after if ln.strip()]
        if after and all(ln.strip().startswith("#") for ln in after if ln.strip()) and shown:
            out[node.lineno] = shown
    return out


def squeeze(lines: list[str]) -> list[str]:
    return [" ".join(ln.split()) for ln in lines if ln.strip()]


def run_page(text: str, name: str) -> None:
    ns: dict = {"__name__": "__docs__"}
    found = SETUP.search(text)
    if found:
        exec(compile(SETUPS[found.group(1)], f"setup {found.group(1)}", "exec"), ns)
    for k, block in enumerate(BLOCK.findall(text)):
        where = f"{name} block {k + 1}"
        expected = shown_outputs(block)
        tree = ast.parse(block)
        for node in tree.body:
            code = ast.Module(body=[node], type_ignores=[])
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                if isinstance(node, ast.Expr):
                    value = eval(compile(ast.Expression(node.value), where, "eval"), ns)
                    if value is not None and node.lineno in expected:
                        print(repr(value))
                else:
                    exec(compile(code, where, "exec"), ns)
            if node.lineno in expected:
                got = squeeze(buf.getvalue().splitlines())
                assert got == squeeze(expected[node.lineno]), (
                    f"{where}, line {node.lineno}: the page shows\n"
                    + "\n".join(expected[node.lineno]) + "\nbut the code prints\n"
                    + buf.getvalue())


@pytest.fixture
def restored_registries():
    """A page may register a CI method (the methodology page shows how): it must not
    leak into the tests that run after it."""
    from flestimate.estimation import cimethods

    before = dict(cimethods._REGISTRY)
    yield
    cimethods._REGISTRY.clear()
    cimethods._REGISTRY.update(before)


@pytest.fixture
def docs_cwd(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("sample", "mse", "hidden"):
        (tmp_path / "data" / name).symlink_to(ROOT / "data" / name, target_is_directory=True)
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs_and_shows_what_it_prints(page, docs_cwd, restored_registries):
    import matplotlib

    matplotlib.use("Agg")  # plots are drawn, not shown
    run_page(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))


def test_shown_output_is_checked():
    """The check can fail: a page that shows a wrong number."""
    good = "```python\nx = 2\nx + 1\n# 3\n```\n"
    run_page(good, "good")
    with pytest.raises(AssertionError, match="the page shows"):
        run_page(good.replace("# 3", "# 4"), "bad")
    with pytest.raises(NameError):
        run_page("```python\nmargins\n```\n", "undefined")
