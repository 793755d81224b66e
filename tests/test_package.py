"""The package surface: version, errors and the command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flestimate
from flestimate import errors
from flestimate.cli import main


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert flestimate.__version__ in capsys.readouterr().out


def test_module_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "flestimate", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0
    assert out.stdout.strip() == f"flestimate {flestimate.__version__}"


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.ValidationError, ValueError),
        (errors.DesignError, ValueError),
        (errors.EstimationError, ValueError),
        (errors.CalibrationError, ValueError),
        (errors.MappingError, ValueError),
        (errors.ConfigError, ValueError),
        (errors.LoaderError, OSError),
        (errors.LoaderError, ValueError),
    ],
)
def test_errors_inherit_builtin_and_base(cls, builtin):
    assert issubclass(cls, errors.FlestimateError)
    assert issubclass(cls, builtin)


def test_unknown_public_name_is_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        flestimate.not_a_function  # noqa: B018


def test_first_values_truncates():
    assert errors.first_values([1, 2, 3], limit=2) == "1, 2, ..."
    assert errors.first_values(["a"]) == "'a'"


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: flestimate" in capsys.readouterr().out
