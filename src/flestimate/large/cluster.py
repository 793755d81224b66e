"""A client of a Dask cluster by its scheduler's address: :func:`connect`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from flestimate.large.engines import EngineError

__all__ = ["connect"]


@contextlib.contextmanager
def connect(address: str | None, *, timeout: float = 30) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``address`` (``tcp://host:8786``),
    closed at the end; None without an address (Dask's default scheduler).

    Raises
    ------
    EngineError
        No scheduler answers at ``address`` within ``timeout`` seconds.
    """
    if address is None:
        yield None
        return
    import distributed

    try:
        client = distributed.Client(address, set_as_default=False, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise EngineError(f"no Dask scheduler answers at {address!r} ({exc}); start it or "
                          f"correct the address") from None
    try:
        yield client
    finally:
        client.close()
