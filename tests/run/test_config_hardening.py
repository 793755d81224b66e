"""Config and command-line hardening (issue 14, defects 7, 10 and 11)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate.cli import main
from flestimate.config import load_config, parse_config
from flestimate.errors import ConfigError
from flestimate.pipeline import run_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the bundled sample (config, mapping, survey, margins) in ``tmp_path``."""
    for name in ("example.yaml", "mapping.yaml", "fl_survey.sav", "fl_survey.csv", "margins.csv"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return tmp_path / "example.yaml"


def edit(cfg: Path, old: str, new: str) -> Path:
    text = cfg.read_text(encoding="utf-8")
    assert old in text, old
    cfg.write_text(text.replace(old, new, 1), encoding="utf-8")
    return cfg


# ------------------------------------------------------------------ defect 7: NaN and inf


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("cv_suppress: 0.5", "cv_suppress: .nan", r"reliability\.cv_suppress: found nan"),
        ("cv_flag: 0.3", "cv_flag: .NaN", r"reliability\.cv_flag: found nan"),
        ("period: 12", "period: .inf", r"duration\.period: found inf"),
        ("level: 0.95", "level: -.inf", r"estimation\.level: found -inf"),
        ("scale: 1000", "scale: 1.0e+400", r"estimation\.scale: found inf"),
        ("  - step: poststratify\n", "  - step: poststratify\n    bounds: [0.5, .nan]\n",
         r"weighting\[0\]\.bounds\[1\]: found nan"),
        ("period: 12", "period: " + "9" * 400, r"duration\.period: found <an integer of about"),
    ],
)
def test_non_finite_numbers_refused_with_key_path(sample, capsys, old, new, key):
    edit(sample, old, new)
    with pytest.raises(ConfigError, match=key):
        load_config(sample)
    assert main(["run", str(sample), "--out", str(sample.parent / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "finite" in err or "1e300" in err
    assert "Traceback" not in err


def test_finite_walk_on_a_dict_config(sample):
    with pytest.raises(ConfigError, match=r"input\.options\.x\[0\]\.y: found nan"):
        parse_config({"input": {"path": str(sample.parent / "fl_survey.sav"),
                                "options": {"x": [{"y": float("nan")}]}},
                      "design": {"weight": "w_final"}})


def _stock_run(cfg: Path, data: pd.DataFrame, name: str):
    data.to_csv(cfg.parent / name, index=False)
    text = re.sub(r"(?m)^  path: .*$", f"  path: {name}", cfg.read_text(encoding="utf-8"))
    cfg.write_text(text, encoding="utf-8")
    return run_pipeline(load_config(cfg))


def test_durations_outside_the_period_are_missing_with_a_count(sample):
    edit(sample, "sensitivity: true", "sensitivity: false")
    edit(sample, "tables:\n", "tables:\n  - name: only\nx_unused:\n")
    text = sample.read_text(encoding="utf-8")
    sample.write_text(text[: text.index("x_unused:")] + text[text.index("reliability:"):],
                      encoding="utf-8")
    data = pd.read_csv(sample.parent / "fl_survey.csv")
    known = data.index[data["dur_months"].notna()]
    coded = data.copy()
    coded.loc[known[:7], "dur_months"] = 99  # "don't know"
    coded.loc[known[7:10], "dur_months"] = -1
    as_missing = data.copy()
    as_missing.loc[known[:10], "dur_months"] = np.nan

    res = _stock_run(sample, coded, "coded.csv")
    ref = _stock_run(sample, as_missing, "missing.csv")
    found = [w for w in res.warnings if w.get("code") == "duration_out_of_range"]
    assert len(found) == 1
    assert found[0]["message"].startswith("10 values of 'dur_months' are outside [0, 12]")
    assert "-1, 99" in found[0]["message"] and "treated as missing" in found[0]["message"]
    # a 99 counts exactly as a missing duration (the full period), never clipped to 12
    # silently, and a -1 never becomes 0
    assert res.headline["stock"]["estimate"] == pytest.approx(ref.headline["stock"]["estimate"],
                                                              rel=1e-12)
    assert not [w for w in ref.warnings if w.get("code") == "duration_out_of_range"]
