"""A covariate formula from a config file (``small_areas.formula``): only formula terms.

The formula is evaluated by formulaic, which evaluates each term as Python: a config
file could otherwise run any code (``~ I(__import__('os').system(...))``) or hang the
run (``~ I(9 ** 9 ** 9)``). A config is never code, so the formula is checked here
against what covariate formulas need: column names, numbers, ``+ - * / : | **``, the
functions of :data:`FORMULA_FUNCTIONS` (``C(region)``, ``np.log1p(x)``, ``I(x ** 2)``)
and text only as the argument of ``Q`` or ``C``. Found by the fuzz of the run's sections
(issue 20).
"""

from __future__ import annotations

import ast

__all__ = ["FORMULA_FUNCTIONS", "check_formula"]

#: functions a config formula may call: formulaic's transforms and numpy's elementwise ones
FORMULA_FUNCTIONS = frozenset({"C", "I", "Q", "center", "scale", "standardize", "poly", "bs",
                               "log", "log1p", "log2", "log10", "exp", "sqrt", "abs"})
_NUMPY = ("np", "numpy")
_MAX_LENGTH = 2000
_MAX_CONSTANT = 1e12
_MAX_POWER = 10
_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Constant, ast.Call,
          ast.keyword, ast.List, ast.Tuple, ast.Attribute, ast.Add, ast.Sub, ast.Mult, ast.Div,
          ast.Pow, ast.BitOr, ast.USub, ast.UAdd)


def _function(node: ast.expr) -> str | None:
    """The name of a called function (``C``, ``np.log``), None if not allowed."""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id in _NUMPY:
        name = node.attr
    else:
        return None
    return name if name in FORMULA_FUNCTIONS else None


def check_formula(formula: str) -> None:
    """Refuse a formula that is more than formula terms.

    Raises
    ------
    ValueError
        Saying what is not allowed.
    SyntaxError
        If the right-hand side is not an expression.
    """
    if len(formula) > _MAX_LENGTH:
        raise ValueError(f"a formula of at most {_MAX_LENGTH} characters")
    for side in formula.split("~"):  # formulaic would evaluate a left-hand side too
        _check_side(ast.parse(side.replace(":", "+").strip() or "1", mode="eval"))


def _check_side(tree: ast.Expression) -> None:
    text_args: set[int] = set()
    calls: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise ValueError(f"only column names, numbers, + - * / : | ** and the functions "
                             f"{', '.join(sorted(FORMULA_FUNCTIONS))} (found "
                             f"{type(node).__name__.lower()})")
        if isinstance(node, ast.Call):
            name = _function(node.func)
            if name is None:
                raise ValueError(f"only the functions {', '.join(sorted(FORMULA_FUNCTIONS))} "
                                 f"(np.log1p, C, I, ...): found {ast.unparse(node.func)!r}")
            calls.add(id(node.func))
            calls.update(id(n) for n in ast.walk(node.func))
            if name in ("C", "Q"):
                text_args.update(id(a) for a in node.args)
                text_args.update(id(k.value) for k in node.keywords)
        elif isinstance(node, ast.Attribute) and id(node) not in calls:
            raise ValueError(f"no attributes ({ast.unparse(node)!r}) but np.<function>(...)")
        elif isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ValueError(f"no names beginning with '_' (found {node.id!r})")
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str) and id(node) not in text_args:
                raise ValueError(f"text ({value[:40]!r}) only as the argument of Q() or C()")
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and abs(value) > _MAX_CONSTANT:
                raise ValueError(f"numbers of at most {_MAX_CONSTANT:g} in size")
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError(f"only numbers and text (found {value!r})")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            power = node.right
            if not (isinstance(power, ast.Constant) and isinstance(power.value, (int, float))
                    and abs(power.value) <= _MAX_POWER) \
                    or any(isinstance(n, ast.Pow) for n in ast.walk(node.left)):
                raise ValueError(f"powers by a number of at most {_MAX_POWER} (x ** 2), not "
                                 f"nested ({ast.unparse(node)!r})")
