"""Commands that need no survey data: ``flestimate plan`` and the example lookup."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from flestimate.cli import main
from flestimate.commands.plan import sample_size
from flestimate.commands.run import example_config
from flestimate.errors import ValidationError
from flestimate.run.config import load_config


def test_plan_anchor_a21(capsys):
    # ILO-STANDARDS 8.5 / anchor A21: p = 0.0035, E = 0.001, deff = 2 -> n ~ 26,796
    assert main(["plan", "--prevalence", "0.0035", "--margin", "0.001", "--deff", "2"]) == 0
    out = capsys.readouterr().out
    assert "n = deff · z² · p · (1 − p) / E²" in out
    assert "= 26,796.1" in out
    assert "26,797 respondents (rounded up)" in out
    r = sample_size(0.0035, 0.001, 2)
    assert int(r.n) == 26796
    z = norm.ppf(0.975)
    assert r.n == pytest.approx(2 * z * z * 0.0035 * 0.9965 / 0.001**2, rel=1e-12)
    assert r.n_required == math.ceil(r.n) == 26797


def test_plan_level_and_srs():
    r = sample_size(0.5, 0.05, 1, level=0.9)
    z = norm.ppf(0.95)
    assert r.n == pytest.approx(z * z * 0.25 / 0.0025, rel=1e-12)
    # halving the margin quadruples n; doubling deff doubles it
    assert sample_size(0.01, 0.001, 1).n == pytest.approx(4 * sample_size(0.01, 0.002, 1).n)
    assert sample_size(0.01, 0.001, 3).n == pytest.approx(3 * sample_size(0.01, 0.001, 1).n)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prevalence", "3.5", "--margin", "0.001"], "a rate of 3.5 per 1,000 is 0.0035"),
        (["--prevalence", "0.0035", "--margin", "0"], "--margin: found 0.0"),
        (["--prevalence", "0.0035", "--margin", "0.001", "--deff", "-1"], "--deff: found -1.0"),
        (["--prevalence", "0.0035", "--margin", "0.001", "--level", "95"], "--level: found 95.0"),
    ],
)
def test_plan_bad_input_exit_2(capsys, args, message):
    assert main(["plan", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    with pytest.raises(ValidationError):
        kw = {k.lstrip("-"): float(v) for k, v in zip(args[::2], args[1::2], strict=True)}
        sample_size(**kw)


def test_example_config_is_found_and_valid():
    path = example_config()
    cfg = load_config(path)
    assert cfg.input_path.name == "fl_survey.sav" and cfg.input_path.is_file()
    assert cfg.mapping is not None and cfg.mapping.is_file()
    assert (cfg.design.weight, cfg.design.strata, cfg.design.psu) == ("w_final", "stratum", "psu")
    by = {t.by for t in cfg.tables}
    assert {("sex",), ("age_group",), ("region",), ("migrant",), ("sector",)} <= by


def test_wheel_ships_everything_the_example_needs():
    """pyproject's force-include puts the example's files in flestimate/_example."""
    from pathlib import Path

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    root = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    include = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    shipped = {Path(dst).name for src, dst in include.items()
               if dst.startswith("flestimate/_example/") and (root / src).is_file()}
    cfg = load_config(root / "data" / "sample" / "example.yaml")
    needed = {"example.yaml", cfg.input_path.name, cfg.mapping.name}
    needed |= {s.totals.name for s in cfg.weighting if s.totals is not None}
    assert needed <= shipped
