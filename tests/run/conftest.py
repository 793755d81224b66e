"""Fixtures of the run-side tests: copies of the bundled sample to edit freely."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
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
