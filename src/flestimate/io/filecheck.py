"""Header pre-check and SHA-256 of a survey file, in a child process.

One forked child per read does two things while this process reads the data:

1. for the statistical formats, it parses the file's header with the C reader
   (``metadataonly=True``) and reports ``ok`` with the declared rows and columns; ReadStat can crash on some corrupted
   headers (seeded byte flips of ``.sav`` and ``.zsav`` files showed it), and a crash there
   kills the child, not this interpreter: the read stops with a LoaderError before the
   file is parsed here;
2. it then computes the SHA-256 of the file with plain reads, on another core, so the
   provenance costs almost no wall time (a thread could not do that: the C reader holds
   the GIL, and a memory map of a file that is truncated meanwhile raises SIGBUS).

Where ``fork`` is not used (Windows, macOS) the header is checked by a fresh Python
process and the hash is computed by a thread reading the file in blocks.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
import warnings
import weakref
from pathlib import Path

from flestimate.errors import LoaderError
from flestimate.io.hashing import sha256_file

__all__ = ["FileCheck"]

PREFLIGHT_TIMEOUT = 120.0  # seconds for parsing a header; a hang means a corrupted file


def _use_fork() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def _reap(pid: int, fd: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
    try:
        os.close(fd)
    except OSError:
        pass


class FileCheck:
    """Pre-check of the header (``function``, a pyreadstat reader name) and SHA-256 of ``path``.

    Call :meth:`wait_header` before parsing the file in this process, :meth:`sha256` when
    the data are read, and :meth:`close` in any case (also done when the object is
    collected).
    """

    def __init__(self, path: Path, function: str | None, fmt: str) -> None:
        self.path = path
        self.function = function
        self.fmt = fmt
        self._header_done = function is None
        self.rows = -1  # declared in the header (-1: unknown), reported by the child
        self.columns = -1
        self._digest: str | None = None
        self._pid: int | None = None
        self._buf = b""
        if _use_fork():
            self._start_child()
        else:  # pragma: no cover - platforms without a safe fork
            self._thread_result: list = []
            self._thread = threading.Thread(target=self._hash_in_thread, daemon=True,
                                            name="flestimate-sha256")

    # ------------------------------------------------------------------ child process
    def _start_child(self) -> None:
        fn = None
        if self.function is not None:
            import pyreadstat

            fn = getattr(pyreadstat, self.function)
        r, w = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() with threads running; the child only runs the
            # C reader and hashlib on one file and leaves with os._exit
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child process
            try:
                os.close(r)
                try:
                    import faulthandler

                    faulthandler.disable()  # a crash here is expected and reported
                except Exception:
                    pass
                dims = b""
                if fn is not None:
                    try:
                        # the reader's warnings (e.g. a renamed duplicated column) are
                        # reported by the read in the parent, not twice
                        warnings.simplefilter("ignore")
                        if self.function == "read_sas7bcat":
                            fn(str(self.path))
                        else:
                            _, meta = fn(str(self.path), metadataonly=True)
                            rows = getattr(meta, "number_rows", None)
                            cols = getattr(meta, "number_columns", None)
                            dims = b" %d %d" % (
                                rows if isinstance(rows, int) else -1,
                                cols if isinstance(cols, int) else -1,
                            )
                    except Exception:
                        pass  # the reader reports its own errors in the parent
                os.write(w, b"ok" + dims + b"\n")
                os.write(w, sha256_file(self.path).encode("ascii") + b"\n")
            except BaseException:
                pass
            os._exit(0)
        os.close(w)
        self._pid = pid
        self._fd = r
        self._finalizer = weakref.finalize(self, _reap, pid, r)

    def _readline(self, deadline: float | None) -> bytes | None:
        while b"\n" not in self._buf:
            timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                raise TimeoutError
            chunk = os.read(self._fd, 4096)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line

    def _child_signal(self) -> int:
        assert self._pid is not None
        _, status = os.waitpid(self._pid, 0)
        self._finalizer.detach()
        try:
            os.close(self._fd)
        except OSError:
            pass
        self._pid = None
        return os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0

    # ------------------------------------------------------------------ fallback
    def _hash_in_thread(self) -> None:  # pragma: no cover - platforms without fork
        try:
            self._thread_result.append(sha256_file(self.path))
        except BaseException as exc:
            self._thread_result.append(exc)

    # ------------------------------------------------------------------ API
    def wait_header(self) -> None:
        """Return once the header parsed without crashing; LoaderError otherwise."""
        where = f"{self.fmt} file {str(self.path)!r}"
        if self._header_done:
            return
        self._header_done = True
        if self._pid is None:  # pragma: no cover - platforms without fork
            from flestimate.io.statistical import preflight_spawned

            preflight_spawned(self.path, self.fmt, self.function)
            self._thread.start()
            return
        try:
            line = self._readline(time.monotonic() + PREFLIGHT_TIMEOUT)
        except TimeoutError:
            self.close()
            raise LoaderError(
                f"{where}: the reader did not finish parsing the header within "
                f"{PREFLIGHT_TIMEOUT:.0f} s; the file is corrupted. Copy or export it again."
            ) from None
        if line is not None and line.startswith(b"ok "):
            parts = line.split()
            self.rows, self.columns = int(parts[1]), int(parts[2])
            line = b"ok"
        if line != b"ok":
            sig = self._child_signal()
            raise LoaderError(
                f"{where} is corrupted: its header crashed the ReadStat reader (signal "
                f"{sig}, caught in a child process). Copy or export the file again."
            )

    def sha256(self) -> str:
        """The file's SHA-256 (hex), waiting for the child to finish hashing."""
        if self._digest is not None:
            return self._digest
        if self._pid is None and hasattr(self, "_thread"):  # pragma: no cover
            if not self._thread.is_alive() and not self._thread_result:
                self._thread.start()
            self._thread.join()
            result = self._thread_result[0]
            if isinstance(result, BaseException):
                raise LoaderError(
                    f"{self.fmt} file {str(self.path)!r}: its SHA-256 could not be computed "
                    f"({type(result).__name__}: {result})."
                )
            self._digest = result
            return result
        self.wait_header()
        line = self._readline(None) if self._pid is not None else None
        if line is not None and line.split(b" ")[0] == b"ok":  # header report, unread
            line = self._readline(None)
        if self._pid is not None:
            self._child_signal()
        if line is None or len(line) != 64:
            raise LoaderError(
                f"{self.fmt} file {str(self.path)!r}: its SHA-256 could not be computed "
                "(the file could not be read to its end)."
            )
        self._digest = line.decode("ascii")
        return self._digest

    def close(self) -> None:
        """Stop the child (if it still runs) and release its pipe."""
        if self._pid is not None:
            self._finalizer()
            self._pid = None
