"""SHA-256 of files and bytes: the one hashing helper of flestimate.

The reader records the survey file's digest on :attr:`SurveyData.source
<flestimate.io.SourceInfo.sha256>`; the manifests of ``flestimate run`` and ``flestimate
mse`` and the output folder's ownership check use the same functions.
"""

from __future__ import annotations

import hashlib
import os

__all__ = ["sha256_bytes", "sha256_file"]

_BLOCK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    buf = bytearray(_BLOCK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """SHA-256 (hex) of ``data``."""
    return hashlib.sha256(data).hexdigest()
