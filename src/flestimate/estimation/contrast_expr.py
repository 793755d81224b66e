"""Nonlinear contrasts written as text: ``"api00 / api99"``, ``"log(`E` / `H`)"``.

The text is parsed with Python's :mod:`ast` and evaluated by a walker that knows
only numbers, names of the table's rows, the operators ``+ - * / **`` and the
functions of :data:`FUNCTIONS`; anything else is an :class:`EstimationError`. It is
never handed to ``eval``. A row whose label is not a Python name is written between
backticks (```E / api00```, as in R's ``svycontrast(quote(...))``).

The gradient for the delta method is taken by complex-step differentiation
(Squire and Trapp 1998): :math:`\\partial f/\\partial x_j = \\mathrm{Im}\\,f(x + i h
e_j)/h` with :math:`h = 10^{-30}`, exact to rounding for the analytic functions
allowed here (no subtractive cancellation, unlike finite differences).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping

import numpy as np

from flestimate.errors import EstimationError

__all__ = ["FUNCTIONS", "Expression", "parse_expression"]


def _expit(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(x):
    return np.log(x / (1.0 - x))


#: The functions a contrast expression may call.
FUNCTIONS: dict[str, Callable] = {
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "expit": _expit,
    "logit": _logit,
    "log10": np.log10,
    "asin": np.arcsin,
    "sin": np.sin,
    "cos": np.cos,
}

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_BACKTICK = re.compile(r"`([^`]*)`")


class Expression:
    """A parsed contrast expression: :meth:`names` it reads, and its value at given
    values of those names (real or complex)."""

    def __init__(self, source: str, tree: ast.expr, quoted: dict[str, str]) -> None:
        self.source = source
        self._tree = tree
        self._quoted = quoted  # placeholder identifier -> the quoted row label

    def names(self) -> list[str]:
        """The row names the expression reads, in order of first use."""
        out: list[str] = []
        for node in ast.walk(self._tree):
            if isinstance(node, ast.Name) and node.id not in FUNCTIONS:
                name = self._quoted.get(node.id, node.id)
                if name not in out:
                    out.append(name)
        return out

    def __call__(self, values: Mapping[str, complex]) -> complex:
        return self._eval(self._tree, values)

    def _eval(self, node: ast.AST, values: Mapping[str, complex]):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            return values[self._quoted.get(node.id, node.id)]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](
                self._eval(node.left, values), self._eval(node.right, values)
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self._eval(node.operand, values)
            return -v if isinstance(node.op, ast.USub) else v
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            return FUNCTIONS[node.func.id](self._eval(node.args[0], values))
        raise EstimationError(  # pragma: no cover - parse_expression checks the tree first
            f"contrast {self.source!r}: {ast.dump(node)[:40]} is not allowed."
        )


def parse_expression(source: str) -> Expression:
    """Parse a contrast expression, refusing anything but arithmetic on row names.

    Raises
    ------
    EstimationError
        The text does not parse, or uses a construct or function not allowed.
    """
    quoted: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        name = f"_q{len(quoted)}_"
        quoted[name] = match.group(1)
        return name

    text = _BACKTICK.sub(placeholder, source)
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise EstimationError(
            f"contrast {source!r} is not an arithmetic expression ({exc.msg}). Write e.g. "
            "'api00 / api99' or 'log(`E` / `H`)'; quote labels that are not names with backticks."
        ) from None
    allowed = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.Call, ast.Load,
               ast.USub, ast.UAdd, *_BINARY)  # fmt: skip
    for node in ast.walk(tree):
        if not isinstance(node, allowed) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))
        ):
            raise EstimationError(
                f"contrast {source!r} uses {type(node).__name__}, which is not allowed. "
                f"Use numbers, row names, + - * / ** and the functions {sorted(FUNCTIONS)}."
            )
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            raise EstimationError(
                f"contrast {source!r} calls a function that is not allowed. "
                f"Use one argument of {sorted(FUNCTIONS)}."
            )
    return Expression(source, tree, quoted)
