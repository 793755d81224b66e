"""The recruitment tree of a respondent-driven sample: who recruited whom, waves, seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from flestimate.errors import EstimationError, first_values

__all__ = ["SEED_MARKERS", "RecruitmentTree", "build_tree"]

#: recruiter values that mark a seed (besides a missing value and the respondent's own id)
SEED_MARKERS: tuple[str, ...] = ("seed", "0", "-1", "")


@dataclass(frozen=True, eq=False)
class RecruitmentTree:
    """Recruitment tree (rows in the data's order).

    Attributes
    ----------
    parent : ndarray (n,) int64
        Row of each respondent's recruiter; -1 for a seed.
    wave : ndarray (n,) int64
        0 for a seed, 1 for its recruits, ...
    seed : ndarray (n,) int64
        Row of the seed at the root of each respondent's chain.
    order : ndarray (n,) int64
        Rows sorted by recruiter (children of a row are contiguous).
    start, count : ndarray (n,) int64
        Each row's children are ``order[start[i] : start[i] + count[i]]``.
    """

    parent: np.ndarray
    wave: np.ndarray
    seed: np.ndarray
    order: np.ndarray
    start: np.ndarray
    count: np.ndarray

    @property
    def n(self) -> int:
        return len(self.parent)

    @property
    def seeds(self) -> np.ndarray:
        """Rows of the seeds."""
        return np.flatnonzero(self.parent < 0)


def _as_text(values: pd.Series) -> np.ndarray:
    """Ids as text, with 12 and 12.0 the same id (a CSV column of floats)."""
    num = pd.to_numeric(values, errors="coerce")
    text = values.astype("string").fillna("").str.strip()
    whole = num.notna() & (num == np.floor(num))
    text = text.where(~whole, num.where(whole).astype("Int64").astype("string"))
    return text.to_numpy(dtype=object)


def build_tree(
    frame: pd.DataFrame, *, id: str, recruiter: str, seed_markers: Sequence[Any] = SEED_MARKERS
) -> RecruitmentTree:
    """The recruitment tree from an id and a recruiter-id column.

    A respondent is a seed when the recruiter is missing, one of ``seed_markers``
    ("seed", "0", "-1", blank) or the respondent's own id.
    """
    for c in (id, recruiter):
        if c not in frame.columns:
            raise EstimationError(f"column {c!r} is not in the data; name the id and recruiter columns.")
    ids = _as_text(frame[id])
    rec = _as_text(frame[recruiter])
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise EstimationError(
            f"column {id!r} has {int(dup.sum())} repeated ids ({first_values(np.unique(ids[dup]))}). "
            "Each respondent needs a unique id."
        )
    markers = {str(m) for m in seed_markers}
    is_seed = np.isin(rec, list(markers)) | (rec == ids)
    parent = pd.Index(ids).get_indexer(rec)
    unknown = ~is_seed & (parent < 0)
    if unknown.any():
        raise EstimationError(
            f"column {recruiter!r} has {int(unknown.sum())} recruiter ids that are not respondents "
            f"(rows {first_values(frame.index[unknown][:6])}: {first_values(np.unique(rec[unknown]))}). "
            "Mark seeds as 'seed' (or leave the recruiter blank) and check the ids."
        )
    parent = np.where(is_seed, -1, parent).astype(np.int64)
    n = len(parent)
    if not is_seed.any():
        raise EstimationError(f"no seed found in {recruiter!r}; mark the seeds' recruiter as 'seed'.")
    # waves, one generation at a time (a loop over waves, not rows)
    wave = np.full(n, -1, dtype=np.int64)
    root = np.full(n, -1, dtype=np.int64)
    wave[is_seed] = 0
    root[is_seed] = np.flatnonzero(is_seed)
    level = 0
    while True:
        todo = (wave < 0) & (parent >= 0)
        ready = todo & (wave[np.maximum(parent, 0)] == level)
        if not ready.any():
            break
        level += 1
        wave[ready] = level
        root[ready] = root[parent[ready]]
    orphan = wave < 0
    if orphan.any():
        raise EstimationError(
            f"{int(orphan.sum())} respondents are in a recruitment cycle that reaches no seed (rows "
            f"{first_values(frame.index[orphan][:6])}). Check the recruiter ids."
        )
    order = np.argsort(np.where(parent < 0, n, parent), kind="stable")
    count = np.bincount(parent[parent >= 0], minlength=n).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    return RecruitmentTree(parent, wave, root, order, start, count)
