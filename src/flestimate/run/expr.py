"""A small, safe filter-expression language for configuration files.

A filter such as ``age >= 18 and worked == 1`` or ``sector in ("A", "F")`` selects
rows of a survey frame. Config text is *never* handed to Python's ``eval``,
``DataFrame.query`` or ``DataFrame.eval``: it is split into tokens by a tokenizer
that knows only the symbols below, parsed by a recursive-descent parser into a
tiny syntax tree, and evaluated column-wise with pandas/numpy (no loop over rows).

Grammar (keywords are case-insensitive)::

    expr        := or_expr
    or_expr     := and_expr ("or" and_expr)*
    and_expr    := not_expr ("and" not_expr)*
    not_expr    := "not" not_expr | predicate
    predicate   := "(" expr ")"
                 | operand [ compop operand
                           | ["not"] "in" list
                           | "is" ["not"] "missing" ]
    compop      := "==" | "!=" | "<" | "<=" | ">" | ">="
    list        := ("(" | "[") literal ("," literal)* [","] (")" | "]")
    operand     := NAME | `quoted name` | NUMBER | "-" NUMBER | STRING | "true" | "false"

A bare column name is true where the value is present and non-zero. A comparison
involving a missing value is false (``is missing`` tests for it explicitly), so
``not (age >= 18)`` keeps the rows of unknown age: write
``age < 18 or age is missing`` when that is meant.

Anything else (attribute access ``a.b``, calls ``f(x)``, subscripts, ``lambda``,
names starting with ``__``, arithmetic) is rejected with an
:class:`ExpressionError` naming the position and the construct.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from flestimate.errors import ConfigError, shown

__all__ = ["MAX_FILTER_CHARS", "MAX_FILTER_DEPTH", "ExpressionError", "Filter", "parse_filter"]

#: longest filter text accepted: a reference population is a few conditions, and a
#: 2.7 MB filter (200,000 terms) once took minutes and gigabytes and was copied into
#: every output
MAX_FILTER_CHARS = 10_000
#: deepest nesting of parentheses and 'not' (the parser is recursive)
MAX_FILTER_DEPTH = 50


class ExpressionError(ConfigError):
    """A filter expression does not parse, uses a forbidden construct or an unknown column."""


_KEYWORDS = {"and", "or", "not", "in", "is", "missing", "true", "false"}
_FORBIDDEN_WORDS = {
    "lambda": "lambda expressions are not allowed",
    "import": "'import' is not allowed",
    "def": "'def' is not allowed",
    "class": "'class' is not allowed",
    "exec": "'exec' is not allowed",
    "eval": "'eval' is not allowed",
}
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)
    """,
    re.VERBOSE,
)
_HINTS = {
    ".": "attribute access ('.') is not allowed",
    "=": "use '==' for equality",
    "&": "use 'and'",
    "|": "use 'or'",
    "!": "use 'not' or '!='",
    "~": "use 'not'",
    "+": "arithmetic is not allowed; compare columns with literals",
    "*": "arithmetic is not allowed; compare columns with literals",
    "/": "arithmetic is not allowed; compare columns with literals",
    "%": "arithmetic is not allowed; compare columns with literals",
    "{": "braces are not allowed",
    ":": "':' is not allowed (no lambdas, slices or dicts)",
    ";": "';' is not allowed",
    "@": "'@' (local variables) is not allowed",
}


@dataclass(frozen=True)
class _Tok:
    kind: str  # name, number, string, op, kw, end
    value: object
    pos: int
    text: str


def _fail(source: str, pos: int, why: str) -> ExpressionError:
    near = source[pos:pos + 12]
    where = f"at position {pos + 1} (near {near!r})" if near.strip() else "at the end"
    return ExpressionError(f"filter {shown(source, 80)}: {why} {where}")


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


def _tokenize(source: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    n = len(source)
    while pos < n:
        m = _TOKEN_RE.match(source, pos)
        if m is None:
            ch = source[pos]
            if ch == "=" and source[pos:pos + 2] != "==":
                raise _fail(source, pos, "single '=' is not a comparison; use '=='")
            hint = _HINTS.get(ch, "this character is not part of the filter language")
            raise _fail(source, pos, f"unexpected character {ch!r} ({hint})")
        kind = m.lastgroup
        text = m.group()
        if kind == "ws":
            pass
        elif kind == "number":
            value: object = float(text) if any(c in text for c in ".eE") else int(text)
            toks.append(_Tok("number", value, pos, text))
        elif kind == "string":
            toks.append(_Tok("string", _unescape(text[1:-1]), pos, text))
        elif kind == "quoted":
            toks.append(_Tok("name", text[1:-1], pos, text))
        elif kind == "name":
            low = text.lower()
            if text.startswith("__"):
                raise _fail(source, pos, f"names starting with '__' are not allowed ({shown(text)})")
            if low in _FORBIDDEN_WORDS:
                raise _fail(source, pos, _FORBIDDEN_WORDS[low])
            if low in _KEYWORDS:
                toks.append(_Tok("kw", low, pos, text))
            else:
                toks.append(_Tok("name", text, pos, text))
        else:
            toks.append(_Tok("op", text, pos, text))
        pos = m.end()
    toks.append(_Tok("end", None, n, ""))
    return toks


# ---------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class _Col:
    name: str


@dataclass(frozen=True)
class _Lit:
    value: object


@dataclass(frozen=True)
class _Cmp:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class _In:
    operand: object
    values: tuple
    negate: bool


@dataclass(frozen=True)
class _IsMissing:
    operand: object
    negate: bool


@dataclass(frozen=True)
class _Truthy:
    operand: _Col


@dataclass(frozen=True)
class _Not:
    arg: object


@dataclass(frozen=True)
class _BoolOp:
    op: str  # "and" | "or"
    args: tuple


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.toks = _tokenize(source)
        self.i = 0
        self.depth = 0

    def deeper(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise self.error(tok, f"parentheses and 'not' are nested more than "
                                  f"{MAX_FILTER_DEPTH} levels deep; simplify the filter")

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, tok: _Tok, why: str) -> ExpressionError:
        return _fail(self.source, tok.pos, why)

    def expect_op(self, value: str) -> _Tok:
        tok = self.next()
        if tok.kind != "op" or tok.value != value:
            raise self.error(tok, f"expected {value!r}, found {self._show(tok)}")
        return tok

    @staticmethod
    def _show(tok: _Tok) -> str:
        return "the end of the filter" if tok.kind == "end" else shown(tok.text)

    def parse(self):
        if self.peek().kind == "end":
            raise ExpressionError(f"filter {shown(self.source, 80)} is empty; write e.g. 'age >= 18'")
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, f"unexpected {self._show(tok)}; combine conditions with 'and'/'or'")
        return node

    def or_expr(self):
        args = [self.and_expr()]
        while self.peek().kind == "kw" and self.peek().value == "or":
            self.next()
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else _BoolOp("or", tuple(args))

    def and_expr(self):
        args = [self.not_expr()]
        while self.peek().kind == "kw" and self.peek().value == "and":
            self.next()
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else _BoolOp("and", tuple(args))

    def not_expr(self):
        tok = self.peek()
        if tok.kind == "kw" and tok.value == "not":
            self.next()
            self.deeper(tok)
            node = _Not(self.not_expr())
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self):
        tok = self.peek()
        if tok.kind == "op" and tok.value == "(":
            self.next()
            self.deeper(tok)
            node = self.or_expr()
            self.expect_op(")")
            self.depth -= 1
            return node
        left = self.operand()
        tok = self.peek()
        if tok.kind == "op" and tok.value in ("==", "!=", "<", "<=", ">", ">="):
            self.next()
            right = self.operand()
            if isinstance(left, _Lit) and isinstance(right, _Lit):
                raise self.error(tok, "a comparison needs at least one column name")
            return _Cmp(str(tok.value), left, right)
        if tok.kind == "kw" and tok.value in ("in", "not"):
            negate = False
            if tok.value == "not":
                self.next()
                if not (self.peek().kind == "kw" and self.peek().value == "in"):
                    raise self.error(self.peek(), "expected 'in' after 'not' (as in 'x not in (1, 2)')")
                negate = True
            self.next()
            if not isinstance(left, _Col):
                raise self.error(tok, "the left side of 'in' must be a column name")
            return _In(left, self.literal_list(), negate)
        if tok.kind == "kw" and tok.value == "is":
            self.next()
            negate = False
            if self.peek().kind == "kw" and self.peek().value == "not":
                self.next()
                negate = True
            end = self.next()
            if not (end.kind == "kw" and end.value == "missing"):
                raise self.error(end, "expected 'missing' (as in 'x is missing' or 'x is not missing')")
            if not isinstance(left, _Col):
                raise self.error(tok, "the left side of 'is missing' must be a column name")
            return _IsMissing(left, negate)
        if isinstance(left, _Col):
            return _Truthy(left)
        raise self.error(tok, f"expected a comparison after the literal, found {self._show(tok)}")

    def literal_list(self) -> tuple:
        open_tok = self.next()
        if open_tok.kind != "op" or open_tok.value not in ("(", "["):
            raise self.error(open_tok, "expected a list such as (1, 2, 3) after 'in'")
        close = ")" if open_tok.value == "(" else "]"
        values = []
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.value == close and values:
                self.next()
                break
            lit = self.operand()
            if not isinstance(lit, _Lit):
                raise self.error(tok, "a list after 'in' may contain only literals")
            values.append(lit.value)
            tok = self.next()
            if tok.kind == "op" and tok.value == close:
                break
            if not (tok.kind == "op" and tok.value == ","):
                raise self.error(tok, f"expected ',' or {close!r} in the list, found {self._show(tok)}")
        return tuple(values)

    def operand(self):
        tok = self.next()
        if tok.kind == "name":
            nxt = self.peek()
            if nxt.kind == "op" and nxt.value == "(":
                raise self.error(nxt, f"function calls are not allowed ({tok.text}(...))")
            if nxt.kind == "op" and nxt.value == "[":
                raise self.error(nxt, "subscripts are not allowed")
            return _Col(str(tok.value))
        if tok.kind in ("number", "string"):
            return _Lit(tok.value)
        if tok.kind == "op" and tok.value == "-":
            num = self.next()
            if num.kind != "number":
                raise self.error(num, "'-' may only precede a number (arithmetic is not allowed)")
            return _Lit(-num.value)  # type: ignore[operator]
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return _Lit(tok.value == "true")
        if tok.kind == "kw" and tok.value == "missing":
            raise self.error(tok, "use 'x is missing' to test for missing values")
        raise self.error(tok, f"expected a column name or a value, found {self._show(tok)}")


def _columns(node) -> list[str]:
    if isinstance(node, _Col):
        return [node.name]
    if isinstance(node, (_Lit,)):
        return []
    if isinstance(node, _Cmp):
        return _columns(node.left) + _columns(node.right)
    if isinstance(node, (_In, _IsMissing, _Truthy)):
        return _columns(node.operand)
    if isinstance(node, _Not):
        return _columns(node.arg)
    if isinstance(node, _BoolOp):
        return [c for a in node.args for c in _columns(a)]
    raise TypeError(node)  # pragma: no cover


# ---------------------------------------------------------------- evaluation

_CMP = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _is_textual(series: pd.Series) -> bool:
    return bool(
        pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype)
    )


class Filter:
    """A parsed filter expression; call :meth:`evaluate` on a DataFrame.

    Parameters
    ----------
    source : str
        The expression text, e.g. ``"age >= 5 and age <= 17"``.

    Attributes
    ----------
    source : str
    columns : tuple of str
        The column names the filter reads, in order of first appearance.
    """

    def __init__(self, source: str):
        if not isinstance(source, str):
            raise ExpressionError(
                f"a filter must be text such as 'age >= 18', found {type(source).__name__} {shown(source, 80)}"
            )
        if len(source) > MAX_FILTER_CHARS:
            raise ExpressionError(
                f"filter {shown(source, 80)} is {len(source):,} characters long; at most "
                f"{MAX_FILTER_CHARS:,} are allowed. Define the population by a column of the "
                f"data (e.g. an indicator computed beforehand) instead"
            )
        self.source = source
        self._tree = _Parser(source).parse()
        self.columns = tuple(dict.fromkeys(_columns(self._tree)))

    def __repr__(self) -> str:
        return f"Filter({shown(self.source, 80)})"

    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise :class:`ExpressionError` if the filter names a column not in ``columns``."""
        available = list(columns)
        known = set(available)
        for col in self.columns:
            if col not in known:
                close = difflib.get_close_matches(col, available, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ExpressionError(
                    f"filter {shown(self.source, 80)}: unknown column {shown(col)}{hint} "
                    f"(the data has {len(available)} columns)"
                )

    def evaluate(self, frame: pd.DataFrame) -> np.ndarray:
        """Evaluate the filter on ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
            The data; it is not modified.

        Returns
        -------
        numpy.ndarray of bool, shape (len(frame),)
            True for the rows the filter selects.
        """
        self.check_columns(frame.columns)
        out = self._bool(self._tree, frame)
        return np.asarray(out, dtype=bool)

    # each node evaluates to a numpy bool array (logical nodes) or a Series/scalar (operands)
    def _value(self, node, frame: pd.DataFrame):
        if isinstance(node, _Col):
            return frame[node.name]
        return node.value

    def _check_types(self, node: _Cmp, a, b) -> None:
        def kind(v):
            if isinstance(v, pd.Series):
                if isinstance(v.dtype, pd.CategoricalDtype):
                    return "text" if _is_textual(pd.Series(v.cat.categories)) else "number"
                if pd.api.types.is_bool_dtype(v.dtype) or pd.api.types.is_numeric_dtype(v.dtype):
                    return "number"
                if _is_textual(v):
                    return "text"
                return "other"
            if isinstance(v, str):
                return "text"
            return "number"

        ka, kb = kind(a), kind(b)
        if {ka, kb} == {"text", "number"}:
            col = node.left if isinstance(node.left, _Col) else node.right
            raise ExpressionError(
                f"filter {shown(self.source, 80)}: column {shown(col.name)} is compared with a value of "
                f"another type (text vs number); quote text values, leave numbers unquoted"
            )

    def _bool(self, node, frame: pd.DataFrame) -> np.ndarray:
        n = len(frame)
        if isinstance(node, _BoolOp):
            parts = [self._bool(a, frame) for a in node.args]
            func = np.logical_and if node.op == "and" else np.logical_or
            return func.reduce(parts) if len(parts) > 1 else parts[0]
        if isinstance(node, _Not):
            return ~self._bool(node.arg, frame)
        if isinstance(node, _IsMissing):
            miss = self._value(node.operand, frame).isna().to_numpy(dtype=bool)
            return ~miss if node.negate else miss
        if isinstance(node, _Truthy):
            s = self._value(node.operand, frame)
            if _is_textual(s):
                res = s.notna() & (s.astype("string") != "")
            else:
                res = s.notna() & (s != 0)
            return res.fillna(False).to_numpy(dtype=bool)
        if isinstance(node, _In):
            s = self._value(node.operand, frame)
            textual = _is_textual(s)
            for v in node.values:
                if isinstance(v, str) != textual and not isinstance(s.dtype, pd.CategoricalDtype):
                    raise ExpressionError(
                        f"filter {shown(self.source, 80)}: column {shown(node.operand.name)} holds "
                        f"{'text' if textual else 'numbers'} but the list has {shown(v)}"
                    )
            res = s.isin(list(node.values)).fillna(False).to_numpy(dtype=bool) & s.notna().to_numpy()
            return ~res & s.notna().to_numpy() if node.negate else res
        if isinstance(node, _Cmp):
            a = self._value(node.left, frame)
            b = self._value(node.right, frame)
            self._check_types(node, a, b)
            res = _CMP[node.op](a, b)
            if isinstance(res, pd.Series):
                valid = np.ones(n, dtype=bool)
                for v in (a, b):
                    if isinstance(v, pd.Series):
                        valid &= v.notna().to_numpy(dtype=bool)
                return res.fillna(False).to_numpy(dtype=bool) & valid
            return np.full(n, bool(res))
        raise TypeError(node)  # pragma: no cover


def parse_filter(source: str) -> Filter:
    """Parse a filter expression (see the module docstring for the grammar).

    Parameters
    ----------
    source : str
        E.g. ``"age >= 18 and worked == 1"``.

    Returns
    -------
    Filter

    Raises
    ------
    ExpressionError
        If the text does not parse or uses a forbidden construct; the message shows
        the position.
    """
    return Filter(source)
