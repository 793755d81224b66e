"""The key checks shared by the section parsers of a run config (:mod:`flestimate.run.config`
and its ``config_<section>.py`` neighbours): every error names the key path, the value
found and what is allowed; an unknown key or choice suggests the closest known one."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from flestimate.errors import ConfigError, shown

__all__ = ["NAME_RE", "boolean", "check_keys", "choice", "err", "mapping", "missing_column",
           "text"]

#: a name of the config (table, population, comparison): a letter, then letters, digits, _ or -
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")


def err(key: str, found: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{key}: found {shown(found)} ({type(found).__name__}); {allowed}")


def check_keys(section: Mapping, key: str, allowed: Iterable[str], required: Iterable[str] = ()):
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


def mapping(value: Any, key: str) -> Mapping:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise err(key, value, "expected a mapping of keys to values (indented 'key: value' lines)")
    return value


def text(value: Any, key: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise err(key, value, "expected a non-empty text value")
    return value


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise err(key, value, "expected true or false")
    return value


def choice(value: Any, key: str, choices: Iterable[str]) -> str:
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise err(key, value, f"{hint}allowed: {', '.join(choices)}")
    return value


def missing_column(key: str, col: str, columns: list[str], what: str) -> ConfigError:
    close = difflib.get_close_matches(col, columns, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(f"{key}: {what} {shown(col)} is not a column of the data; {hint}"
                       f"the data has {len(columns)} columns")
