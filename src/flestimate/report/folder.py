"""The output folder of a run: write only our own files, never lose the user's.

Rules (the user guide states them too):

* a run removes or replaces only files that it wrote itself: the files a
  previous run listed in its ``manifest.json``, when they are still plain files
  in the folder with the checksum that manifest gives and have the name of an
  output (``*.csv``, ``tables.xlsx``, ``results.json``, ``report.html``). The
  manifest is read as untrusted input: a name with a folder part, ``..``, an
  absolute path or a symbolic link is never followed;
* a folder that holds anything else is refused unless ``force=True``; even then
  those files are left alone, and a file of theirs that has the name of an
  output is never overwritten;
* files are written into a hidden staging folder inside the destination and
  moved into place one by one with :func:`os.replace` (atomic on one file
  system), ``manifest.json`` last; a failure or an interruption removes the
  staging folder and leaves the previous outputs as they were;
* a new folder is created with the default, umask-respecting mode; no folder's
  permissions are ever changed, and the folder itself is never renamed or
  removed (so a mount point works as an output folder).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from flestimate.errors import ReportError, first_values
from flestimate.io.hashing import sha256_file

__all__ = ["MANIFEST", "STAGING_PREFIX", "PreviousRun", "check_file_names", "check_folder",
           "previous_run", "write_into"]

MANIFEST = "manifest.json"
STAGING_PREFIX = ".flestimate-partial-"
_MAX_MANIFEST_BYTES = 16 << 20
_FIXED_OUTPUTS = frozenset({"tables.xlsx", "results.json", "report.html"})
# files an operating system drops into any folder a user opens; never ours, never in the way
_SYSTEM_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
     *(f"LPT{i}" for i in range(1, 10))}
)


def check_file_names(names: Iterable[str], *, what: str = "table") -> None:
    """Refuse table names that cannot be file names everywhere the outputs may be copied.

    Raises
    ------
    ReportError
        A name that is empty, holds a path separator, starts with a dot, is a
        Windows device name, or differs from another only in upper/lower case
        (the files would overwrite each other on Windows and macOS).
    """
    seen: dict[str, str] = {}
    for name in names:
        stem = str(name)
        if (not stem or stem.startswith(".") or any(c in stem for c in '/\\:\0')
                or stem.split(".")[0].upper() in _WINDOWS_RESERVED):
            raise ReportError(
                f"{what} name {stem!r} cannot be used as a file name (it starts with a dot, holds "
                f"a path separator or is a reserved device name); rename the {what}"
            )
        key = stem.casefold()
        if key in seen:
            raise ReportError(
                f"{what} names {seen[key]!r} and {stem!r} differ only in upper/lower case; their "
                f"files would overwrite each other on Windows and macOS, whose file systems "
                f"ignore case. Rename one of them"
            )
        seen[key] = stem


class PreviousRun:
    """What an existing folder holds: files of a previous run, and everything else.

    Attributes
    ----------
    ours : set of str
        Files a previous run wrote and that are unchanged since (``manifest.json`` included).
    others : list of str
        Every other entry (files, folders, links), sorted.
    changed : set of str
        Entries of ``others`` that the previous manifest lists but that are not the
        file it wrote (changed since, replaced by a folder or a link).
    """

    def __init__(self, ours: set[str], others: list[str], changed: set[str]):
        self.ours, self.others, self.changed = ours, others, changed


def _plain_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _listed_files(folder: Path) -> dict[str, str] | None:
    """The ``files`` of a flestimate manifest in ``folder`` (None if there is none)."""
    man = folder / MANIFEST
    if not _plain_file(man) or man.lstat().st_size > _MAX_MANIFEST_BYTES:
        return None
    try:
        data = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "flestimate_version" not in data:
        return None
    files = data.get("files", {})
    if not isinstance(files, dict):
        return None
    return {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def _output_name(name: str) -> bool:
    """A name a run can have written: one file directly in the folder, of an output's kind."""
    return (Path(name).name == name and not name.startswith(".")
            and not any(c in name for c in "/\\\0")
            and (name.endswith(".csv") or name in _FIXED_OUTPUTS))


def previous_run(folder: Path) -> PreviousRun:
    """Sort the entries of an existing ``folder`` into a previous run's files and the others."""
    entries = {p.name for p in folder.iterdir()}
    entries -= _SYSTEM_FILES
    entries = {e for e in entries if not e.startswith(STAGING_PREFIX)}
    listed = _listed_files(folder)
    ours: set[str] = set()
    changed: set[str] = set()
    if listed is not None:
        for name, digest in listed.items():
            if not _output_name(name) or name not in entries:
                continue
            path = folder / name
            if _plain_file(path) and sha256_file(path) == digest.lower():
                ours.add(name)
            else:
                changed.add(name)
        # a manifest is this folder's own when it lists nothing or at least one file it
        # wrote is still here; a kept copy of another run's manifest is not
        if MANIFEST in entries and (ours or not listed):
            ours.add(MANIFEST)
    return PreviousRun(ours, sorted(entries - ours), changed)


def _check_folder(prev: PreviousRun, planned: set[str], shown: str, force: bool) -> None:
    if not prev.others:
        return
    blocked = sorted(set(prev.others) & planned)
    if not force:
        changed = [n for n in prev.others if n in prev.changed]
        why = (f"; {first_values(changed)} changed since flestimate wrote them" if changed else "")
        raise ReportError(
            f"output folder {shown!r} is not a flestimate output folder: it holds "
            f"{len(prev.others)} file(s) or folder(s) that no previous run wrote "
            f"({first_values(prev.others)}){why}. flestimate never deletes or replaces files it did "
            f"not write: choose another --out (a new or empty folder), or pass --force to "
            f"write beside them (they are left alone)"
        )
    if blocked:
        raise ReportError(
            f"output folder {shown!r} holds {first_values(blocked)}, which this run would write but "
            f"which no previous run wrote (or which changed since); flestimate never replaces a "
            f"file it did not write, even with --force: move or rename them, or choose "
            f"another --out"
        )


def check_folder(out_dir: str | Path, planned: list[str], *, force: bool = False) -> None:
    """Fail now if writing ``planned`` into ``out_dir`` would be refused later.

    A command calls this before a long computation; :func:`write_into` checks again
    when it writes.
    """
    out = Path(out_dir).expanduser()
    try:
        _not_a_file(out, str(out_dir))
        if out.is_dir():
            _check_folder(previous_run(out), set(planned), str(out_dir), force)
    except OSError as exc:
        raise _folder_error(str(out_dir), "cannot be read", exc) from None


def _folder_error(shown: str, problem: str, exc: OSError) -> ReportError:
    where = f": {Path(str(exc.filename)).name}" if exc.filename else ""
    return ReportError(
        f"output folder {shown!r} {problem} ({exc.strerror or exc}{where}); check the "
        f"folder's free space and permissions, or choose another --out"
    )


def _not_a_file(out: Path, shown: str) -> None:
    if out.exists() and not out.is_dir():
        raise ReportError(f"output folder {shown!r} is a file; choose another --out")


def _make_folder(out: Path, shown: str) -> list[Path]:
    """Create ``out`` and missing parents (default mode); return the folders created."""
    missing: list[Path] = []
    try:
        _not_a_file(out, shown)
        missing = [p for p in (out, *out.parents) if not p.exists()]
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(missing)
        raise _folder_error(shown, "cannot be created", exc) from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # innermost first
        try:
            p.rmdir()
        except OSError:
            return


def write_into(out_dir: str | Path, planned: list[str],
               write: Callable[[Path], dict[str, str]], *, force: bool = False) -> Path:
    """Write a run's files into ``out_dir`` by the rules of this module.

    Parameters
    ----------
    out_dir : path-like
        The output folder (created if needed).
    planned : list of str
        The names of the files ``write`` will create (``manifest.json`` included).
    write : callable
        ``write(staging_folder) -> {name: sha256}`` writes every planned file into the
        staging folder, ``manifest.json`` last.
    force : bool
        Write into a folder that holds files no previous run wrote (they are left alone).

    Returns
    -------
    Path
        The output folder, resolved.
    """
    shown = str(out_dir)
    out = Path(out_dir).expanduser().resolve()
    created = _make_folder(out, shown)
    stage: Path | None = None
    try:
        prev = previous_run(out)
        _check_folder(prev, set(planned), shown, force)
        stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out))
        written = write(stage)
        for name in [n for n in written if n != MANIFEST] + [MANIFEST]:
            os.replace(stage / name, out / name)
        for name in sorted(prev.ours - set(written)):
            # a file of the previous run that this run does not write (a table dropped
            # from the config, an output switched off): it would be stale
            if _plain_file(out / name):
                (out / name).unlink()
        shutil.rmtree(stage, ignore_errors=True)
    except BaseException as exc:
        # any failure, including an interruption (Ctrl-C; SIGTERM in the command):
        # remove what this call created, nothing else
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        _remove_empty(created)
        if isinstance(exc, OSError):
            raise _folder_error(shown, "cannot be written", exc) from None
        raise
    return out
