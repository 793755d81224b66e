"""The documentation site builds strictly, and the examples of public docstrings run.

``mkdocs build --strict`` fails on a broken link, a page missing from the navigation
configuration, an API reference entry that cannot be collected or a docstring that
cannot be parsed. The doctests run the ``Examples`` of every public name (the
weighting functions' examples run in tests/weighting/test_sample.py).
"""

from __future__ import annotations

import doctest
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import flestimate

ROOT = Path(__file__).resolve().parents[1]


def _load_hook(name="optional_pages"):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / "_hooks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    import mkdocs  # noqa: F401  (dev dependency: a missing one fails, never skips)
    import mkdocstrings  # noqa: F401
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def test_site_builds_strictly_with_every_section(site):
    for page in (
        "index.html",
        "getting-started/index.html",
        "user-guide/estimation/index.html",
        "methodology/ci-methods/index.html",
        "methodology/ci-coverage/index.html",
        "classification/index.html",
        "internals/index.html",
        "api/estimation/index.html",
        "changelog/index.html",
    ):
        assert (site / page).is_file(), page


def test_api_reference_renders_the_docstrings(site):
    html = (site / "api" / "estimation" / "index.html").read_text(encoding="utf-8")
    assert "EstimateTable" in html and "Korn" in html
    html = (site / "api" / "design" / "index.html").read_text(encoding="utf-8")
    assert "SurveyDesign" in html and "ReplicateDesign" in html
    html = (site / "api" / "simulate" / "index.html").read_text(encoding="utf-8")
    assert "SimulatedSurvey" in html and "coverage_study" in html and "plot_summary" in html


def test_coverage_page_has_the_table_and_the_command(site):
    html = (site / "methodology" / "ci-coverage" / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", html)  # code highlighting splits the command into spans
    assert "python -m flestimate.simulation.coverage --replications 1500" in text
    assert "korn-graubard-nchs" in text and "coverage" in text


def test_coverage_page_shows_the_committed_results():
    # the table on the page is the one the study wrote (rerun the command, paste the table)
    table = (ROOT / "docs" / "methodology" / "coverage" / "coverage-table.md").read_text()
    page = (ROOT / "docs" / "methodology" / "ci-coverage.md").read_text()
    assert table.strip() in page
    assert (ROOT / "docs" / "methodology" / "coverage" / "coverage.png").stat().st_size > 0


def test_optional_pages_are_left_out_only_while_missing(tmp_path):
    hook = _load_hook()
    nav = [{"Home": "index.md"}, {"Performance": "performance.md"},
           {"Guide": [{"A": "a.md"}, {"Performance": "performance.md"}]}]  # fmt: skip
    pruned = hook._prune(nav, tmp_path)
    assert pruned == [{"Home": "index.md"}, {"Guide": [{"A": "a.md"}]}]
    (tmp_path / "performance.md").write_text("# Performance\n")
    assert hook._prune(nav, tmp_path) == nav
    # a page that is not optional stays in the navigation (mkdocs then fails strictly)
    assert hook._prune([{"A": "a.md"}], tmp_path) == [{"A": "a.md"}]


def test_docstring_roles_are_rendered(site):
    hook = _load_hook("rst_roles")
    html = hook.rst_roles_to_html("see :func:<code>mean</code>; :math:<code>\\hat p \\pm t</code>")
    assert html == ('see <code>mean</code>; <span class="arithmatex">\\(\\hat p \\pm t\\)</span>')
    page = (site / "api" / "estimation" / "index.html").read_text(encoding="utf-8")
    assert ":math:" not in page and ":func:" not in page


# ----------------------------------------------------------------------------- doctests
WEIGHTING = {n for n, m in flestimate._PUBLIC.items() if m == "flestimate.weighting"}


def _with_examples() -> list[str]:
    """Public names whose docstrings hold examples (an import error fails collection)."""
    finder = doctest.DocTestFinder()
    names = sorted(set(flestimate._PUBLIC) - WEIGHTING)
    return [n for n in names if any(t.examples for t in finder.find(getattr(flestimate, n), n))]


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples_run(name):
    obj = getattr(flestimate, name)
    tests = [t for t in doctest.DocTestFinder().find(obj, name) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for t in tests:
        runner.run(t)
    assert runner.failures == 0, f"{runner.failures} failing examples in flestimate.{name}"
