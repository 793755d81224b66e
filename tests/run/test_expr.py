"""The safe filter-expression language (flestimate.run.expr)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flestimate.errors import ConfigError, FlestimateError
from flestimate.run.expr import ExpressionError, parse_filter


@pytest.fixture
def frame():
    return pd.DataFrame(
        {
            "age": [5, 17, 18, 40, np.nan, 70],
            "worked": [2, 1, 1, 2, 1, 1],
            "sector": ["", "A", "F", None, "A", "C"],
            "my col": [1, 0, 1, 0, 1, 0],
        }
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age >= 18", [0, 0, 1, 1, 0, 1]),
        ("age >= 5 and age <= 17", [1, 1, 0, 0, 0, 0]),
        ("worked == 1", [0, 1, 1, 0, 1, 1]),
        ("age >= 18 and worked == 1", [0, 0, 1, 0, 0, 1]),
        ("age < 18 or worked != 1", [1, 1, 0, 1, 0, 0]),
        ('sector in ("A", "F")', [0, 1, 1, 0, 1, 0]),
        ("sector not in ['A']", [1, 0, 1, 0, 0, 1]),
        ("worked in (1,)", [0, 1, 1, 0, 1, 1]),
        ("not age >= 18", [1, 1, 0, 0, 1, 0]),
        ("not (age >= 18 and worked == 1)", [1, 1, 0, 1, 1, 0]),
        ("age is missing", [0, 0, 0, 0, 1, 0]),
        ("age is not missing", [1, 1, 1, 1, 0, 1]),
        ("AGE >= 18 AND worked == 1".replace("AGE", "age"), [0, 0, 1, 0, 0, 1]),
        ("-1 < age", [1, 1, 1, 1, 0, 1]),
        ("age > 17.5", [0, 0, 1, 1, 0, 1]),
        ("`my col` == 1", [1, 0, 1, 0, 1, 0]),
        ("`my col`", [1, 0, 1, 0, 1, 0]),
        ("18 <= age", [0, 0, 1, 1, 0, 1]),
        ("age == worked", [0, 0, 0, 0, 0, 0]),
        ("sector == 'A' or sector == \"C\"", [0, 1, 0, 0, 1, 1]),
        ("(age >= 18) and (worked == 1) or sector == 'A'", [0, 1, 1, 0, 1, 1]),
    ],
)
def test_filters_select_the_right_rows(frame, text, expected):
    got = parse_filter(text).evaluate(frame)
    assert got.dtype == bool
    assert got.tolist() == [bool(v) for v in expected]


def test_and_binds_tighter_than_or(frame):
    a = parse_filter("worked == 2 or age >= 18 and sector == 'C'").evaluate(frame)
    b = parse_filter("worked == 2 or (age >= 18 and sector == 'C')").evaluate(frame)
    assert a.tolist() == b.tolist()


def test_columns_are_listed_and_frame_not_mutated(frame):
    before = frame.copy()
    f = parse_filter("age >= 18 and worked == 1 and age < 60")
    assert f.columns == ("age", "worked")
    f.evaluate(frame)
    pd.testing.assert_frame_equal(frame, before)


INJECTIONS = [
    ("__import__('os').system('echo hacked')", "'__'"),
    ("age.__class__", "attribute access"),
    ("age.real > 1", "attribute access"),
    ("open('x')", "function calls are not allowed"),
    ("len(sector) > 1", "function calls are not allowed"),
    ("lambda: 1", "lambda"),
    ("(lambda x: x)(age)", "lambda"),
    ("__builtins__", "'__'"),
    ("age >= 18; import os", "';'"),
    ("import os", "'import' is not allowed"),
    ("eval('1')", "'eval' is not allowed"),
    ("exec('1')", "'exec' is not allowed"),
    ("age[0] == 1", "subscripts are not allowed"),
    ("age + 1 > 2", "arithmetic"),
    ("age * 2 > 2", "arithmetic"),
    ("@x > 1", "'@'"),
    ("{'a': 1}", "braces"),
    ("age = 18", "'=='"),
    ("age >= 18 && worked == 1", "use 'and'"),
    ("age >= ", "at the end"),
    ("age >= 18 worked", "unexpected"),
    ("(age >= 18", "expected ')'"),
    ("1 == 1", "at least one column"),
    ("age in age", "expected a list"),
    ("age in (worked)", "only literals"),
    ("age not 3", "expected 'in'"),
    ("age is 3", "expected 'missing'"),
    ("", "empty"),
]


@pytest.mark.parametrize(("text", "why"), INJECTIONS)
def test_injection_and_syntax_errors_are_rejected_clearly(frame, text, why):
    with pytest.raises(ExpressionError) as exc:
        parse_filter(text).evaluate(frame)
    msg = str(exc.value)
    assert why in msg
    assert "\n" not in msg  # one line for the command line
    assert isinstance(exc.value, ConfigError) and isinstance(exc.value, FlestimateError)


def test_injection_never_runs_code(tmp_path, monkeypatch):
    marker = tmp_path / "hacked"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ExpressionError):
        parse_filter(f"__import__('os').system('touch {marker}')")
    with pytest.raises(ExpressionError):
        parse_filter(f"__import__(\"pathlib\").Path(\"{marker}\").touch()")
    assert not marker.exists()


def test_unknown_column_suggests_the_closest(frame):
    with pytest.raises(ExpressionError, match=r"unknown column 'agee'; did you mean 'age'"):
        parse_filter("agee >= 18").evaluate(frame)


def test_type_mismatch_is_an_error_not_an_empty_selection(frame):
    with pytest.raises(ExpressionError, match="quote text values"):
        parse_filter("age >= '18'").evaluate(frame)
    with pytest.raises(ExpressionError, match="holds text"):
        parse_filter("sector in (1, 2)").evaluate(frame)


def test_non_text_filter_is_rejected():
    with pytest.raises(ExpressionError, match="must be text"):
        parse_filter(18)  # type: ignore[arg-type]


def test_categorical_and_pandas_string_columns():
    df = pd.DataFrame(
        {
            "s": pd.Series(["a", "b", None], dtype="string"),
            "c": pd.Categorical(["x", "y", "x"]),
        }
    )
    assert parse_filter("s == 'a'").evaluate(df).tolist() == [True, False, False]
    assert parse_filter("c in ('x',)").evaluate(df).tolist() == [True, False, True]
    assert parse_filter("s is missing").evaluate(df).tolist() == [False, False, True]


@settings(max_examples=50, deadline=None)
@given(
    ages=st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=40),
    lo=st.integers(min_value=0, max_value=99),
    hi=st.integers(min_value=0, max_value=99),
)
def test_range_filter_matches_numpy(ages, lo, hi):
    df = pd.DataFrame({"age": ages})
    got = parse_filter(f"age >= {lo} and age <= {hi}").evaluate(df)
    arr = np.asarray(ages)
    np.testing.assert_array_equal(got, (arr >= lo) & (arr <= hi))
    # De Morgan: not (a and b) == (not a) or (not b) when nothing is missing
    neg = parse_filter(f"not (age >= {lo} and age <= {hi})").evaluate(df)
    alt = parse_filter(f"age < {lo} or age > {hi}").evaluate(df)
    np.testing.assert_array_equal(neg, alt)
