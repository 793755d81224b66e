"""Fixtures of the run-side tests: copies of the bundled sample to edit freely."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
HIDDEN = SAMPLE.parent / "hidden"
CONFIGS = Path(__file__).resolve().parent / "configs"
SAMPLE_FILES = ("example.yaml", "mapping.yaml", "fl_survey.sav", "fl_survey.csv",
                "fl_survey.parquet", "margins.csv")


def copy_sample_to(folder: Path) -> Path:
    """Copy the sample config, mapping, survey files and margins into ``folder``;
    return the copied ``example.yaml``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLE_FILES:
        shutil.copy(SAMPLE / name, folder / name)
    return folder / "example.yaml"


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A copy of the bundled sample in ``tmp_path`` (the config file's path)."""
    return copy_sample_to(tmp_path)


@pytest.fixture(scope="module")
def sample_folder(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], Path]:
    """One copy of the sample per test module (for hypothesis tests, which may not use
    function-scoped fixtures); returns the folder."""
    folder = tmp_path_factory.mktemp("sample")
    copy_sample_to(folder)
    return lambda: folder


@pytest.fixture(scope="module")
def hidden_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled hidden-population data (data/hidden) beside the configs of
    tests/run/configs: ``nsum_survey.csv`` with a 0/1 column ``knows_fl`` (knows someone
    in forced labour, the indicator of the ordinary tables), the known populations and
    the family reports as they are."""
    folder = tmp_path_factory.mktemp("hidden")
    survey = pd.read_csv(HIDDEN / "nsum_survey.csv")
    survey["knows_fl"] = (survey["fl_known"] > 0).astype(int)
    survey.to_csv(folder / "nsum_survey.csv", index=False)
    for name in ("known_populations.csv", "family_reports.csv"):
        shutil.copy(HIDDEN / name, folder / name)
    for config in CONFIGS.glob("*.yaml"):
        shutil.copy(config, folder / config.name)
    return folder
