"""The report's own specifications and error class: no config layer in the report."""

from __future__ import annotations

import dataclasses

import pytest

from flestimate.errors import ConfigError, FlestimateError, ReportError
from flestimate.report.folder import check_folder
from flestimate.report.specs import OutputOptions, ReliabilityRules
from flestimate.run.config import parse_config


def test_specs_are_plain_frozen_dataclasses_with_the_documented_defaults():
    rules = ReliabilityRules()
    assert dataclasses.astuple(rules) == (30, 0.3, 0.5, 8, False, True)
    assert dataclasses.astuple(OutputOptions()) == (True,) * 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.min_n = 5  # type: ignore[misc]


def test_the_config_parses_into_the_reports_specs(tmp_path):
    data = tmp_path / "s.csv"
    data.write_text("w\n1\n")
    cfg = parse_config({"input": str(data), "design": {"weight": "w"},
                        "reliability": {"min_n": 50}, "outputs": {"excel": False}})
    assert cfg.reliability == ReliabilityRules(min_n=50)
    assert cfg.outputs == OutputOptions(excel=False)


def test_output_folder_refusals_are_report_errors(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    with pytest.raises(ReportError, match="is a file") as caught:
        check_folder(target, ["national.csv"])
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, FlestimateError)
