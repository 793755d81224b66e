"""The run room (issue 22): options declared once and checked against the API, the
registries read by the validation, ``design.nest``, the design summary asked of the
design, the manifest's digests and the weighting steps called with explicit keywords."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import flestimate
from flestimate.design.lonely_psu import LONELY_PSU_RULES
from flestimate.design.replicate.registry import REPLICATE_METHODS
from flestimate.errors import ConfigError
from flestimate.estimation.cimethods import (
    CI_METHODS,
    CIMethod,
    register_ci_method,
    remove_ci_method,
)
from flestimate.io.hashing import sha256_file
from flestimate.run.config import load_config, parse_config
from flestimate.run.config_specs import READ_SURVEY_OPTIONS, WEIGHTING_STEP_TYPES
from flestimate.run.inputs import build_design, weighted_design
from flestimate.run.pipeline import run_pipeline
from flestimate.run.summaries import design_summary

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "src" / "flestimate" / "run"


@pytest.fixture
def frame() -> pd.DataFrame:
    """Two strata whose PSUs are numbered 1, 2 within each stratum."""
    rng = np.random.default_rng(22)
    n = 80
    return pd.DataFrame({
        "stratum": np.repeat([1, 2], n // 2),
        "psu": np.tile(np.repeat([1, 2, 3, 4], n // 8), 2),
        "w": rng.uniform(1.0, 3.0, n),
        "y": (rng.uniform(size=n) < 0.3).astype(int),
        "sex": rng.integers(1, 3, n),
    })  # fmt: skip


@pytest.fixture
def data_file(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    return path


def config(data_file: Path, **design) -> dict:
    return {
        "input": str(data_file),
        "design": {"weight": "w", "strata": "stratum", "psu": "psu", **design},
        "estimation": {"indicator": "y"},
        "sensitivity": False,
        "tables": [{"name": "national"}, {"name": "by_sex", "by": ["sex"]}],
        "outputs": {"plots": False},
    }


# ----------------------------------------------------------------------------- declared options
@pytest.mark.parametrize("name", list(WEIGHTING_STEP_TYPES))
def test_each_step_type_declares_the_keywords_of_its_function(name):
    kind = WEIGHTING_STEP_TYPES[name]
    params = inspect.signature(getattr(flestimate, kind.function)).parameters
    keywords = {p for p in params if p != "design"}
    # the config's names are the function's, plus where the margins come from
    config_only = {"rake": {"totals"}, "calibrate": {"variables"}}.get(name, set())
    assert set(kind.options) - config_only == keywords
    required = {p for p, v in params.items() if p != "design" and v.default is v.empty}
    assert required <= set(kind.required) | set(kind.one_of)


def test_input_options_are_the_keywords_of_read_survey():
    params = inspect.signature(flestimate.read_survey).parameters
    keywords = {p for p, v in params.items() if v.kind == v.KEYWORD_ONLY}
    assert set(READ_SURVEY_OPTIONS) == keywords - {"chunksize"}  # a run reads the whole file


def test_no_signature_driven_dispatch_in_the_run_room():
    for path in sorted(RUN.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.names[0].name for n in ast.walk(tree) if isinstance(n, ast.Import)}
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "inspect" not in names | modules, path.name
        # and no `import flestimate` hidden inside a function to reach the API by name
        lazy = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
                for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not lazy, f"{path.name}: imports inside functions"


def test_unknown_and_missing_step_options_are_refused_when_the_config_is_read(data_file):
    cfg = config(data_file)
    cfg["weighting"] = [{"step": "rake", "max_iters": 10}]
    with pytest.raises(ConfigError, match=r"weighting\[0\]\.max_iters: unknown option of "
                                          r"flestimate\.rake; did you mean 'max_iter'\?"):
        parse_config(cfg)
    cfg["weighting"] = [{"step": "rake", "max_iter": 10}]
    with pytest.raises(ConfigError, match=r"the rake step needs the option totals or margins"):
        parse_config(cfg)
    cfg["weighting"] = [{"step": "trim", "totals": "survey.csv", "upper": 3}]
    with pytest.raises(ConfigError, match=r"flestimate\.trim_weights takes no totals table"):
        parse_config(cfg, base_dir=data_file.parent)
    cfg["input"] = {"path": str(data_file), "options": {"chunksize": 10}}
    cfg["weighting"] = []
    with pytest.raises(ConfigError, match=r"input\.options\.chunksize: unknown option of "
                                          r"flestimate\.read_survey"):
        parse_config(cfg)


def test_weighting_steps_give_the_numbers_of_the_direct_calls(data_file, frame):
    cfg = config(data_file, nest=True)
    cfg["weighting"] = [
        {"step": "rake", "margins": {"sex": {1: 500.0, 2: 520.0}}, "max_iter": 30},
        {"step": "trim", "upper": 2.5, "redistribute": False},
    ]
    got = weighted_design(frame, parse_config(cfg))
    want = flestimate.SurveyDesign(frame, weight="w", strata="stratum", psu="psu", nest=True)
    want = flestimate.rake(want, margins={"sex": {1: 500.0, 2: 520.0}}, max_iter=30)
    want = flestimate.trim_weights(want, upper=2.5, redistribute=False)
    np.testing.assert_array_equal(got.weights.to_numpy(), want.weights.to_numpy())
    assert [type(h).__name__ for h in got.history] == [type(h).__name__ for h in want.history]


# ----------------------------------------------------------------------------- registries
def test_the_config_reads_the_registries(data_file):
    cfg = config(data_file)
    for rule in LONELY_PSU_RULES:
        cfg["design"]["lonely_psu"] = rule
        assert parse_config(cfg).design.lonely_psu == rule
    cfg["design"]["lonely_psu"] = "fail"
    for method in CI_METHODS:
        cfg["estimation"]["ci_method"] = method
        assert parse_config(cfg).tables[0].ci_method == method
    register_ci_method(CIMethod("toy-interval", lambda e, s, d, *, level: (e - s, e + s),
                                "a test's toy"))
    try:
        cfg["estimation"]["ci_method"] = "toy-interval"
        assert parse_config(cfg).ci_method == "toy-interval"
    finally:
        remove_ci_method("toy-interval")
    with pytest.raises(ConfigError, match="estimation.ci_method"):
        parse_config(cfg)
    cfg["estimation"]["ci_method"] = "wilson"
    rep = {"weight": "w", "replicate": {"weights": "^rw_", "method": "jk1"}}
    for method in REPLICATE_METHODS:
        rep["replicate"]["method"] = method
        cfg["design"] = rep
        assert parse_config(cfg).design.replicate["method"] == method


# ----------------------------------------------------------------------------- nest
def test_design_nest_is_passed_to_the_design(data_file, frame):
    cfg = config(data_file)
    assert parse_config(cfg).design.nest is False  # R's default
    with pytest.raises(flestimate.DesignError, match="pass nest=True"):
        build_design(frame, parse_config(cfg))
    cfg["design"]["nest"] = True
    design = build_design(frame, parse_config(cfg))
    assert (design.structure.n_strata, design.structure.n_psus) == (2, 8)
    cfg["design"]["nest"] = "yes"
    with pytest.raises(ConfigError, match="design.nest: found 'yes'"):
        parse_config(cfg)
    cfg["design"] = {"weight": "w", "nest": True,
                     "replicate": {"weights": "^rw_", "method": "jk1"}}
    with pytest.raises(ConfigError, match="design.nest: found True together with "
                                          "design.replicate"):
        parse_config(cfg)


def test_design_summary_asks_the_design(data_file, frame):
    cfg = parse_config(config(data_file, nest=True))
    design = build_design(frame, cfg)
    summary = design_summary(frame, cfg, design, {"prevalence": {"df": 6.0}})
    assert summary["Strata"] == "2"
    assert summary["PSUs"] == "8"  # psu ids 1..4 in each stratum: 8 PSUs, not 4


def test_a_run_with_nest_and_its_manifest(tmp_path, data_file):
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config(data_file, nest=True)))
    result = run_pipeline(load_config(path))
    assert result.design["PSUs"] == "8"
    assert result.settings["design"]["nest"] is True
    assert "primary sampling units 'psu' (numbered within strata)" in " ".join(result.methods)
    # the input's digest is the one recorded when the file was read, the file's bytes
    assert result.manifest["input"]["sha256"] == flestimate.read_survey(data_file).source.sha256
    assert result.manifest["input"]["sha256"] == sha256_file(data_file)
    assert result.manifest["config_sha256"] == sha256_file(path)
