"""MkDocs hook: render the reStructuredText roles of numpy-style docstrings.

The docstrings (rendered by mkdocstrings) use ``:math:`...``` for formulas and
``:func:``, ``:class:``, ``:meth:``, ``:mod:``, ``:attr:`` for cross-references.
Markdown turns the backquoted part into ``<code>``; this hook turns ``:math:`` into
MathJax inline math and drops the role names of the others, leaving the code.
"""

from __future__ import annotations

import re

_MATH = re.compile(r":math:<code>(.*?)</code>", re.S)
_XREF = re.compile(r":(?:func|class|meth|mod|attr|obj|data|exc):(<code>)")


def rst_roles_to_html(html: str) -> str:
    """Inline math as pymdownx.arithmatex writes it; cross-reference roles as plain code."""
    html = _MATH.sub(lambda m: f'<span class="arithmatex">\\({m.group(1)}\\)</span>', html)
    return _XREF.sub(r"\1", html)


def on_page_content(html, page, config, files):
    return rst_roles_to_html(html)
