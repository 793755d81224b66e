"""A config's covariate formula is formula terms only, never code (found by the fuzz of
the run's sections, issue 20: formulaic evaluates each term as Python)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from flestimate.cli import main
from flestimate.run.config_formula import check_formula

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.mark.parametrize("formula", [
    "~ migrant_share + risky_sector_share + urban_share + C(region)",
    "~ a + C(region) + np.log1p(x) + a:b - 1",
    "~ I(x ** 2) + numpy.log(y) + center(z)",
    "~ C(region, levels=[1, 2, 3]) + Q('a b') + x * y",
    "~ 0 + x | g",
])
def test_formulas_are_accepted(formula):
    check_formula(formula)


@pytest.mark.parametrize(("formula", "why"), [
    ("~ I(__import__('os').getpid())", "only the functions"),
    ("I(__import__('os').getpid()) ~ x", "only the functions"),
    ("~ eval('1')", "only the functions"),
    ("~ np.linalg.inv(x)", "only the functions"),
    ("~ C(region).__class__", "no attributes"),
    ("~ x.y", "no attributes"),
    ("~ _x", "beginning with '_'"),
    ("~ {x}", "found set"),
    ("~ [x for x in y]", "found listcomp"),
    ("~ x if y else z", "found ifexp"),
    ("~ I('a' * 100)", "text"),
    ("~ I(9 ** 9 ** 9)", "powers"),
    ("~ I((x ** 2) ** 2)", "powers"),
    ("~ I(x ** y)", "powers"),
    ("~ I(1e300 * x)", "numbers of at most"),
    ("~ " + " + ".join(["x"] * 1000), "at most 2000 characters"),
])
def test_code_is_refused(formula, why):
    with pytest.raises(ValueError, match=why):
        check_formula(formula)


def test_run_refuses_code_in_the_formula_before_any_data(sample, tmp_path):
    """The config that wrote a file through small_areas.formula: exit 2, nothing run."""
    marker = tmp_path / "written"
    raw = yaml.safe_load(sample.read_text(encoding="utf-8"))
    for name in ("districts.csv", "district_of_psu.csv"):
        shutil.copy(SAMPLE / name, sample.parent / name)
    raw["small_areas"] = {"area": "district", "lookup": "district_of_psu.csv",
                          "covariates": "districts.csv",
                          "formula": f"~ migrant_share + I(open({str(marker)!r}, 'w').write('x'))"}
    sample.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["run", str(sample), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert not marker.exists()
