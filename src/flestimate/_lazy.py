"""Attributes of a package imported on first use (PEP 562).

A package whose ``__init__`` names its public objects lazily stays cheap to import,
so that a light module inside it (a registry read by the configuration's
validation) can be imported without loading the numerical machinery beside it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(
    package: str, names: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package`` that import each
    of ``names`` (public name -> module that defines it) when it is first read.

    Use as ``__getattr__, __dir__ = lazy_attributes(__name__, {...})``; list the same
    imports under ``if TYPE_CHECKING:`` for type checkers and the documentation.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later reads skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
