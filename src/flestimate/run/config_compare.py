"""The ``compare:`` and ``tests:`` sections of a run config: parsing and validation.

``compare:`` entries name a published table and either pairs of its domains or all
pairs::

    compare:
      - table: by_sex
        pairs: [[male, female]]          # value labels or codes
      - table: by_region
        all_pairs: true
        adjust: holm                     # holm (default for all_pairs), bonferroni, none

``tests:`` entries are two-way tables tested for association
(:meth:`flestimate.SurveyDesign.chisq`)::

    tests:
      - {row: fl, col: sector, statistic: F, population: workers}

Everything that can be checked without the data is checked here; the domains named
in ``pairs`` are checked against the estimates when the run makes them
(:mod:`flestimate.run.comparisons`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flestimate.errors import ConfigError
from flestimate.estimation.contrasts import ADJUSTMENTS
from flestimate.estimation.svytests import CHISQ_STATISTICS
from flestimate.run.config_specs import CompareSpec, Config, TableSpec, TestSpec
from flestimate.run.config_values import _NAME_RE as NAME_RE
from flestimate.run.config_values import _bool as boolean
from flestimate.run.config_values import _check_keys as check_keys
from flestimate.run.config_values import _choice as choice
from flestimate.run.config_values import _err as err
from flestimate.run.config_values import _mapping as mapping
from flestimate.run.config_values import _missing as missing_column
from flestimate.run.config_values import _str as text

__all__ = ["COMPARED_STATISTICS", "check_test_columns", "parse_compare", "parse_tests"]

#: the statistics of a table whose domains can be compared
COMPARED_STATISTICS = ("prevalence", "total")
_COMPARE_KEYS = ("name", "table", "statistic", "pairs", "all_pairs", "adjust")
_TEST_KEYS = ("name", "row", "col", "statistic", "population")


def _domain(value: Any, key: str) -> str:
    """A domain named in a pair: its label, or its code (a number written as a number)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise err(key, value, "expected a domain's value label or code, e.g. male or 1")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        raise err(key, value, "expected a domain's value label or code, e.g. male or 1")
    return text


def _pairs(raw: Any, key: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, list) or not raw:
        raise err(key, raw, "expected a list of pairs of domains, e.g. [[male, female]]")
    out = []
    for i, pair in enumerate(raw):
        if not isinstance(pair, list) or len(pair) != 2:
            raise err(f"{key}[{i}]", pair, "expected two domains, e.g. [male, female]")
        a, b = (_domain(v, f"{key}[{i}][{j}]") for j, v in enumerate(pair))
        if a == b:
            raise err(f"{key}[{i}]", pair, "expected two different domains")
        out.append((a, b))
    return tuple(out)


def _unique_name(name: Any, key: str, seen: set[str], what: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise err(key, name, f"a {what} name is a letter followed by letters, digits, '_' or "
                              "'-' (at most 41)")
    if name in seen:
        raise err(key, name, f"{what} names must be unique; give each entry its own 'name'")
    seen.add(name)
    return name


def parse_compare(raw: Any, tables: Iterable[TableSpec]) -> tuple[CompareSpec, ...]:
    """Validate the ``compare:`` section against the config's tables."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise err("compare", raw, "expected a list of comparisons, each with 'table' and "
                                   "'pairs' or 'all_pairs: true'")
    by_name = {t.name: t for t in tables}
    out: list[CompareSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"compare[{i}]"
        item = mapping(item, key)
        check_keys(item, key, _COMPARE_KEYS, required=("table",))
        tname = item["table"]
        if not isinstance(tname, str) or tname not in by_name:
            choice(tname, f"{key}.table", list(by_name))
        table = by_name[tname]
        if not table.by:
            raise err(f"{key}.table", tname, "expected a table with domains ('by' columns); "
                                              "this one has a single row")
        usable = [s for s in table.statistics if s in COMPARED_STATISTICS]
        if not usable:
            raise err(f"{key}.table", tname, f"expected a table with one of the statistics "
                                              f"{', '.join(COMPARED_STATISTICS)}")
        statistic = choice(item.get("statistic", usable[0]), f"{key}.statistic", usable)
        all_pairs = boolean(item.get("all_pairs", False), f"{key}.all_pairs")
        given = item.get("pairs") is not None
        if all_pairs == given:
            raise ConfigError(f"{key}: give either 'pairs' (e.g. [[male, female]]) or "
                              f"'all_pairs: true', not {'both' if given else 'neither'}")
        pairs = () if all_pairs else _pairs(item["pairs"], f"{key}.pairs")
        adjust = choice(item.get("adjust", "holm" if all_pairs else "none"), f"{key}.adjust",
                         ADJUSTMENTS)
        name = _unique_name(item.get("name", tname), f"{key}.name", seen, "comparison")
        out.append(CompareSpec(name=name, table=tname, statistic=statistic, pairs=pairs,
                               all_pairs=all_pairs, adjust=adjust, key=key))
    return tuple(out)


def parse_tests(raw: Any, populations: Iterable[str]) -> tuple[TestSpec, ...]:
    """Validate the ``tests:`` section."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise err("tests", raw, "expected a list of tests, each with 'row' and 'col'")
    pops = list(populations)
    out: list[TestSpec] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        key = f"tests[{i}]"
        item = mapping(item, key)
        check_keys(item, key, _TEST_KEYS, required=("row", "col"))
        row = text(item["row"], f"{key}.row")
        col = text(item["col"], f"{key}.col")
        if row == col:
            raise err(f"{key}.col", col, "expected a column other than the row variable")
        pop = item.get("population", "total")
        if not isinstance(pop, str) or pop not in pops:
            choice(pop, f"{key}.population", pops)
        out.append(TestSpec(
            name=_unique_name(item.get("name", f"{row}_by_{col}"), f"{key}.name", seen, "test"),
            row=row, col=col,  # type: ignore[arg-type]
            statistic=choice(item.get("statistic", "F"), f"{key}.statistic", CHISQ_STATISTICS),
            population=pop, key=key))  # fmt: skip
    return tuple(out)


def check_test_columns(config: Config, columns: list[str]) -> None:
    """The columns the ``tests:`` entries name exist in the data."""
    known = set(columns)
    for t in config.tests:
        for what in ("row", "col"):
            col = getattr(t, what)
            if col not in known:
                raise missing_column(f"{t.key}.{what}", col, columns, "column")
