"""Classification of Parquet data file by file: :func:`classify_parquet`.

:func:`flestimate.classify` is row-wise except for the links between respondents of one
household (a child's parent), so a survey written as several Parquet files (each holding
whole households, as a file per region or round does) is classified one file at a time,
with memory bounded by the largest file, and written next to the input as new files that
:meth:`SurveyDesign.from_parquet` then reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from flestimate.indicators import classify
from flestimate.large.engines import _parquet_files

__all__ = ["classify_parquet"]


def classify_parquet(source: str | Path, mapping: Any, out: str | Path, *,
                     settings: dict[str, Any] | None = None) -> list[Path]:
    """Classify each Parquet file of ``source`` (a file, folder or glob) with ``mapping``
    and write it, with the classification columns added, into the folder ``out``.

    Each file must hold whole households (the parents of its children). Returns the
    files written, in the order of the input files. A file that fails stops the run
    with the error of :func:`flestimate.classify` naming the file; files already
    written are removed, so no partial output is left that looks complete.
    """
    files = _parquet_files(source)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for i, f in enumerate(files):  # a loop over files; each is classified vectorised
            frame = pd.read_parquet(f)
            try:
                result = classify(frame, mapping, settings=settings)
            except Exception as exc:
                exc.add_note(f"(while classifying the Parquet file {f!r})")
                raise
            target = folder / f"part{i:05d}.parquet"
            result.attrs = {}
            result.to_parquet(target, index=False)
            written.append(target)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return written
