"""The one YAML loader of flestimate: safe, bounded, strict about duplicate keys.

Every YAML file flestimate reads (the run config, questionnaire mappings, codebooks,
the ILO frameworks) goes through :func:`parse_yaml` or :func:`read_yaml_file`:

* ``yaml.SafeLoader`` underneath: no Python object is ever built from a tag;
* a document size budget (:data:`MAX_BYTES`, 1 MiB by default);
* a nesting budget (:data:`MAX_DEPTH` levels), checked while the document is
  composed, so ``[[[[...]]]]`` 2,000 levels deep is refused before Python's
  recursion limit is reached, and again after aliases are followed (an alias
  that contains itself is infinitely deep);
* an alias budget: aliases may add at most :data:`MAX_ALIAS_NODES` values to
  what is written in the file. A "billion laughs" document (nine aliases of nine
  aliases of ...) is refused at once instead of being walked for minutes;
* a key given twice in one mapping is refused (PyYAML silently keeps the last).

Each refusal is the caller's named error class (``ConfigError``, ``MappingError``,
``LoaderError``) with the file named and a message of bounded length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flestimate.errors import shown

__all__ = ["MAX_ALIAS_NODES", "MAX_BYTES", "MAX_DEPTH", "parse_yaml", "read_yaml_file"]

MAX_BYTES = 1 << 20
MAX_DEPTH = 50
MAX_ALIAS_NODES = 10_000


class _Refused(Exception):
    """Internal: a budget was exceeded (turned into the caller's error class)."""


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` with a nesting budget while composing and unique mapping keys."""

    def __init__(self, stream: str, max_depth: int):
        super().__init__(stream)
        self.depth = 0
        self.max_depth = max_depth

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise _Refused(f"nested more than {self.max_depth} levels deep at line "
                               f"{mark.line + 1}; flatten the structure")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused(f"a key at line {key_node.start_mark.line + 1} is a list or "
                                   f"a mapping ({shown(key)}); keys must be plain values") from None
                if key in seen:
                    raise _Refused(f"key {shown(key)} appears twice (lines {seen[key] + 1} and "
                                   f"{key_node.start_mark.line + 1}); give each key once")
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def _check_aliases(root: Any, max_depth: int, max_alias_nodes: int) -> None:
    """Refuse a node graph whose aliases nest too deep or add too many values.

    ``size`` of a node is the number of values once every alias is replaced by what
    it refers to; it is memoised per node, so the walk visits each node once (a
    bomb of nine levels of nine aliases is measured in 81 steps, not 9**9).
    """
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int) -> int:
        if depth > max_depth:
            raise _Refused(f"nested more than {max_depth} levels deep once aliases are "
                           f"followed (or an alias contains itself); flatten the structure")
        key = id(node)
        if key in sizes:
            return sizes[key]
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        sizes[key] = total
        return total

    expanded = size(root, 0)
    if expanded - len(sizes) > max_alias_nodes:
        raise _Refused(f"its aliases (*name) expand to {expanded:,} values, {expanded - len(sizes):,} "
                       f"more than written (at most {max_alias_nodes:,} are allowed); "
                       f"write the values out")


def parse_yaml(text: str, *, name: str, error: type[Exception],
               max_depth: int = MAX_DEPTH, max_alias_nodes: int = MAX_ALIAS_NODES) -> Any:
    """Parse one YAML document within the budgets of this module.

    Parameters
    ----------
    text : str
        The document.
    name : str
        The file (or other source) named in error messages.
    error : exception class
        Raised for invalid YAML or an exceeded budget (e.g. ``ConfigError``).
    max_depth, max_alias_nodes : int
        The nesting and alias budgets.

    Returns
    -------
    The parsed value (``None`` for an empty document).
    """
    loader = None
    try:
        loader = _BoundedLoader(text, max_depth)  # refuses a control character at once
        node = loader.get_single_node()
        if node is None:
            return None
        _check_aliases(node, max_depth, max_alias_nodes)
        return loader.construct_document(node)
    except _Refused as exc:
        raise error(f"{name}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = str(getattr(exc, "problem", None) or "invalid YAML")
        raise error(f"{name} is not valid YAML{where}: {problem[:200]}") from None
    except RecursionError:  # pragma: no cover - the depth budget is far below the limit
        raise error(f"{name}: nested too deeply; flatten the structure") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: str | Path, *, error: type[Exception], what: str = "file",
                   max_bytes: int = MAX_BYTES, **budgets: int) -> Any:
    """Read a UTF-8 YAML file within the budgets of this module.

    Parameters
    ----------
    path : path-like
        The file; it must exist (the caller says what to do when it does not).
    error : exception class
        Raised for a file that is too large, not UTF-8, not valid YAML or over a budget.
    what : str
        What the file is, for messages ("config file", "mapping file").
    max_bytes : int
        The size budget.
    **budgets
        ``max_depth`` and ``max_alias_nodes`` for :func:`parse_yaml`.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"{what} {shown(str(path))} cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise error(f"{what} {p.name!r} is larger than {max_bytes:,} bytes; a {what} "
                    f"this large is not a hand-written YAML file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {p.name!r} is not a UTF-8 text file ({exc.reason} at byte "
                    f"{exc.start}); save it as UTF-8") from None
    return parse_yaml(text, name=p.name, error=error, **budgets)
