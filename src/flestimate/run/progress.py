"""Progress lines of ``flestimate run`` on stderr, for the steps that take a while."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Progress lines on stderr for steps that take more than a second.

    A step prints ``[k/N] name ...`` only once it has run for ``delay`` seconds,
    then ``done in X s`` when it ends; quick steps print nothing.
    """

    def __init__(self, total: int, *, quiet: bool = False, stream: TextIO | None = None,
                 delay: float = 1.0):
        self.total = total
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.delay = delay
        self.k = 0
        self.timings: dict[str, float] = {}

    def _bar(self) -> str:
        width = 20
        filled = int(round(width * (self.k - 1) / max(self.total, 1)))
        return "[" + "#" * filled + "-" * (width - filled) + f"] {self.k}/{self.total}"

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.k += 1
        shown = threading.Event()
        line = f"{self._bar()} {name} ..."

        def show() -> None:
            shown.set()
            print(line, file=self.stream, flush=True)

        timer = None
        if not self.quiet:
            timer = threading.Timer(self.delay, show)
            timer.daemon = True
            timer.start()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = dt
            if timer is not None:
                timer.cancel()
            if shown.is_set():
                print(f"{' ' * len(self._bar())} {name}: done in {dt:.1f} s", file=self.stream,
                      flush=True)
