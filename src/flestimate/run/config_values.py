"""The value checks of a run config, shared by the parsers of its sections.

Every check raises :class:`~flestimate.errors.ConfigError` naming the key path, the
value found and what is allowed (:mod:`flestimate.run.config`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flestimate.errors import ConfigError, shown

# ---------------------------------------------------------------- helpers


def _err(key: str, found: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}: found {shown(found)} ({type(found).__name__}); {allowed}")


def _check_finite(value: Any, key: str = "", depth: int = 0) -> None:
    """Refuse a number that is not finite (``.nan``, ``.inf``) or beyond the float range,
    anywhere in the config: a NaN threshold turns every comparison with it false (so
    ``cv_suppress: .nan`` suppressed nothing) and an infinite period made the stock 0."""
    if depth > 60:
        raise ConfigError(f"{key or 'config'}: nested more than 60 levels deep; flatten it")
    if isinstance(value, bool):
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise _err(key or "config", value, "expected a finite number (not .nan or .inf)")
    if isinstance(value, int) and abs(value) > 1e300:
        raise _err(key or "config", value, "expected a number of at most 1e300 in size")
    if isinstance(value, Mapping):
        for k, v in value.items():
            name = k if isinstance(k, str) else shown(k)
            _check_finite(v, f"{key}.{name[:60]}" if key else name[:60], depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_finite(v, f"{key}[{i}]", depth + 1)


def _check_keys(section: Mapping, key: str, allowed: Iterable[str], required: Iterable[str] = ()):
    allowed = list(allowed)
    for k in section:
        if k not in allowed:
            name = shown(k).strip("'") if isinstance(k, str) else shown(k)
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            where = f"{key}.{name}" if key else name
            raise ConfigError(
                f"{where}: unknown key; {hint}allowed keys{' in ' + key if key else ''}: "
                f"{', '.join(allowed)}"
            )
    for k in required:
        if k not in section or section[k] is None:
            where = f"{key}.{k}" if key else str(k)
            raise ConfigError(f"{where}: required key is missing")


def _check_options(section: Mapping, key: str, allowed: tuple[str, ...], function: str, *,
                   listing: str = "allowed") -> None:
    """The keys of ``section`` are options of the library function ``function``."""
    for k in section:
        if k not in allowed:
            name = shown(k).strip("'") if isinstance(k, str) else shown(k)
            close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.5)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{key}.{name}: unknown option of {function}; {hint}"
                              f"{listing}: {', '.join(allowed)}")


def _mapping(value: Any, key: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _err(key, value, "expected a mapping of keys to values (indented 'key: value' lines)")
    return value


def _str(value: Any, key: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _err(key, value, "expected a non-empty text value")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _err(key, value, "expected true or false")
    return value


def _number(value: Any, key: str, *, lo=None, hi=None, integer=False, lo_open=False, hi_open=False):
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool):
        ok = False
    what = "an integer" if integer else "a number"
    bounds = []
    if lo is not None:
        bounds.append(f"{'>' if lo_open else '>='} {lo}")
    if hi is not None:
        bounds.append(f"{'<' if hi_open else '<='} {hi}")
    allowed = f"expected {what}{' ' + ' and '.join(bounds) if bounds else ''}"
    if not ok:
        raise _err(key, value, allowed)
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise _err(key, value, allowed)
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise _err(key, value, allowed)
    return value


def _choice(value: Any, key: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise _err(key, value, f"{hint}allowed: {', '.join(choices)}")
    return value


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise _err(key, value, "expected a list of column names, e.g. [sex, region]")
    for i, v in enumerate(value):
        _str(v, f"{key}[{i}]")
    if len(set(value)) != len(value):
        raise _err(key, value, "expected each name at most once")
    return tuple(value)


def _file(value: Any, key: str, base: Path) -> Path:
    _str(value, key)
    try:
        p = Path(value).expanduser()
        if not p.is_absolute():
            p = base / p
        found = p.is_file()
    except (OSError, RuntimeError, ValueError):  # a name too long, a NUL byte, no home folder
        found = False
    if not found:
        raise ConfigError(
            f"{key}: file not found: {shown(value)} (looked in {shown(str(base), 200)}; "
            f"relative paths are resolved against the config file's folder)"
        )
    return p


#: names of tables and sections: a letter, then letters, digits, _ or -
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")


def _missing(key: str, col: str, columns: list[str], what: str) -> ConfigError:
    close = difflib.get_close_matches(col, columns, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"{key}: {what} {shown(col)} is not a column of the data; {hint}"
                       f"the data has {len(columns)} columns")

