"""Fuzz-style robustness: damaged files either read or raise LoaderError, nothing else.

For every format, seeded truncations and random byte flips of a small survey file are read
in a separate interpreter (tests/io_fixtures/fuzz_reads.py). A crash of a C reader would
kill that interpreter: the test then fails with its exit status instead of taking the test
run down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "io_fixtures" / "fuzz_reads.py"
FORMATS = ("sav", "zsav", "por", "dta", "xpt", "csv", "tsv", "parquet", "xlsx", "sas7bdat")


def _limit_memory():  # pragma: no cover - runs in the child before exec
    # a damaged header must not make the reader take the machine's memory: with a cap, an
    # oversized allocation is a MemoryError (which read_survey reports as LoaderError)
    # instead of a visit from the kernel's out-of-memory killer
    import resource

    cap = 8 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


@pytest.fixture(scope="module")
def outcomes():
    env = {**os.environ, "PYTHONFAULTHANDLER": ""}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "24", "20261128"], capture_output=True, text=True,
        timeout=1200, env=env, preexec_fn=_limit_memory if os.name == "posix" else None,
    )
    assert run.returncode == 0, (
        f"the fuzz interpreter died (exit status {run.returncode}): a reader crashed.\n"
        f"{run.stderr[-3000:]}"
    )
    return json.loads(run.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_files_read_or_raise_loader_error(outcomes, fmt):
    results = outcomes[fmt]
    assert len(results) == 48
    other = [r for r in results if r[1] == "other"]
    assert not other, f"{fmt}: exceptions other than LoaderError: {other[:5]}"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_files_never_give_a_silently_shorter_frame(outcomes, fmt):
    cuts = [r for r in outcomes[fmt] if r[0].startswith("cut@")]
    assert any(r[1] == "loader_error" for r in cuts)
    for kind, outcome, detail in cuts:
        if outcome in ("ok", "loader_error", "ok_warned"):
            continue
        # a CSV/TSV cut exactly at a line end is a valid shorter file; a SAS transport file
        # cut at an 80-byte record boundary cannot be told from a shorter one either
        allowed = fmt in ("csv", "tsv", "xpt") and outcome == "ok_prefix"
        assert allowed, f"{fmt} {kind}: {outcome} ({detail})"
