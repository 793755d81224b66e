"""Seeded truncations and byte flips of every format, read with read_survey.

Run by tests/io/test_fuzz.py in a separate interpreter (so that a crash of a C reader
shows as a failed test, not as a dead test run). Prints one JSON object:
``{fmt: [[kind, outcome, detail], ...]}`` with outcome ``ok``, ``ok_prefix``, ``ok_warned``,
``ok_changed``, ``loader_error`` or ``other`` (an exception that is not a LoaderError).
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flestimate import read_survey  # noqa: E402
from flestimate.errors import FlestimateWarning, LoaderError  # noqa: E402
from io_fixtures.survey_files import ALL_FORMATS, write  # noqa: E402


def classify(path: Path, original: pd.DataFrame) -> tuple[str, str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = read_survey(path, codebook=False)
        except LoaderError as exc:
            return "loader_error", str(exc)[:160]
        except Exception as exc:  # the failure this test exists to find
            return "other", f"{type(exc).__name__}: {str(exc)[:200]}"
    frame = data.frame
    if frame.shape == original.shape and frame.equals(original):
        return "ok", ""
    if any(issubclass(w.category, FlestimateWarning) for w in caught):
        return "ok_warned", str(caught[0].message)[:120]
    n = len(frame)
    if n < len(original) and frame.shape[1] == original.shape[1]:
        if frame.equals(original.iloc[:n]):
            return "ok_prefix", f"{n} of {len(original)} rows"
    return "ok_changed", f"{frame.shape}"


def main(n_cases: int, seed: int) -> dict:
    out: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for fmt in (*ALL_FORMATS, "sas7bdat"):
            clean = write(fmt, folder / "clean")
            original = read_survey(clean, codebook=False).frame
            data = clean.read_bytes()
            rng = np.random.default_rng([seed, len(fmt)])
            results = []
            for i in range(2 * n_cases):
                if i < n_cases:
                    cut = int(rng.integers(1, len(data)))
                    blob, kind = data[:cut], f"cut@{cut}"
                else:
                    b = bytearray(data)
                    where = rng.integers(0, len(b), size=int(rng.integers(1, 6)))
                    for pos in where:
                        b[int(pos)] = int(rng.integers(0, 256))
                    blob, kind = bytes(b), f"flip@{sorted(int(p) for p in where)}"
                path = folder / f"case.{fmt}"
                path.write_bytes(blob)
                outcome, detail = classify(path, original)
                results.append([kind, outcome, detail])
            out[fmt] = results
    return out


if __name__ == "__main__":
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(main(n, seed)))
