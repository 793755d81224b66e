"""MkDocs hook: leave out of the navigation the pages that other work has not written yet.

``docs/performance.md`` is written with the benchmarks; until it exists the site
still builds strictly, and the page appears in the navigation as soon as it does.
Only the pages listed in ``OPTIONAL`` are treated so; any other missing page
remains an error of ``mkdocs build --strict``.
"""

from __future__ import annotations

import logging
from pathlib import Path

OPTIONAL = {"performance.md"}
log = logging.getLogger("mkdocs.hooks.optional_pages")


def _prune(items, docs_dir: Path):
    out = []
    for item in items:
        if isinstance(item, dict):
            ((title, value),) = item.items()
            if isinstance(value, list):
                out.append({title: _prune(value, docs_dir)})
                continue
            if value in OPTIONAL and not (docs_dir / value).exists():
                log.info("optional page %s not written yet: left out of the navigation", value)
                continue
        out.append(item)
    return out


def on_config(config):
    config["nav"] = _prune(config["nav"], Path(config["docs_dir"]))
    return config
