"""Fuzz the command line with config and mapping YAML (issue 14, "done when").

Random structures, types, huge and non-finite numbers, deep nesting, aliases and odd
unicode are put into the bundled sample's config and mapping, and the real entry point
``flestimate.cli.main`` runs them in-process: the exit code is 0 or 2, never an escaped
exception, and stderr never shows a traceback. The sections ``small_areas:``, ``nsum:``,
``proxy:``, ``compare:`` and ``tests:`` are fuzzed too (issue 20): each is given, taken
away, mutated from a valid one or replaced by random contents.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from flestimate.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"

# a small but complete config: one national table and one by sex, no sensitivity run,
# CSV and JSON only (a valid random config then runs in well under a second)
BASE_CONFIG: dict[str, Any] = {
    "title": "Fuzz",
    "input": {"path": "fl_survey.parquet"},
    "mapping": "mapping.yaml",
    "seed": 1,
    "design": {"weight": "w_final", "strata": "stratum", "psu": "psu", "lonely_psu": "fail"},
    "weighting": [{"step": "poststratify", "totals": "margins.csv"}],
    "populations": {"adults": "age >= 18", "workers": "worked == 1"},
    "estimation": {"indicator": "fl", "ci_method": "korn-graubard", "level": 0.95, "scale": 1000},
    "duration": {"variable": "dur_months", "period": 12},
    "sensitivity": False,
    "tables": [{"name": "national"}, {"name": "by_sex", "by": ["sex"], "population": "adults"}],
    "reliability": {"min_n": 30, "cv_flag": 0.3, "cv_suppress": 0.5},
    "outputs": {"excel": False, "html": False, "plots": False},
}

ODD_TEXT = ["", " ", "all", "fl", "sex", "w_final", "age >= 18", "..", "../../etc/passwd", "/",
            "=1+1", "@SUM(A1)", "\x0b", "\x1b[31m", "\u202e", "\u00e9t\u00e9", "\U0001f600",
            "a" * 300, "nan", "1e309", "~", "null", "yes", "(" * 60 + "age" + ")" * 60]
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(ODD_TEXT),
)
values = st.recursive(
    leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.one_of(st.sampled_from(["name", "by", "step", "path", "x"]),
                                st.text(max_size=8)), children, max_size=4),
    max_leaves=12,
)

# raw YAML that a dict cannot express: aliases (bombs, recursion), deep nesting, bad text
raw_docs = st.one_of(
    st.integers(1, 8).map(lambda d: "l0: &l0 [a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, d + 1))),
    st.integers(1, 3000).map(lambda d: "title: " + "[" * d + "]" * d + "\n"),
    st.integers(1, 3000).map(lambda d: "title: " + "{a: " * d + "1" + "}" * d + "\n"),
    st.sampled_from(["a: &a [1, *a]\n", "title: *nowhere\n", "\tkey: 1\n", "key: [\n",
                     "!!python/object/apply:os.system ['echo hi']\n", "? [1, 2]\n: 3\n",
                     "title: a\ntitle: b\n", "--- 1\n--- 2\n", "\x00\n", "\ufeff", ""]),
)


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path of a nested dict/list (the places a value can be replaced)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _mutate(base: dict, data: st.DataObject) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(base))  # a deep copy
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = _paths(doc)
        if not paths:  # everything deleted
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "add"]), label="do")
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12), label="key")] = data.draw(values, label="v")
        else:
            parent[path[-1]] = data.draw(values, label="value")
    return doc


_counter = itertools.count()


def _run(folder: Path, *argv: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse (not reached with these arguments)
            code = int(exc.code or 0)
    return code, err.getvalue()


def _check(code: int, err: str) -> None:
    assert "Traceback" not in err, err[-3000:]
    assert code in (0, 2), (code, err[-3000:])
    assert len(err) < 20_000  # every message is bounded


def _config_run(folder: Path, text: str | bytes, mapping: str = "mapping.yaml") -> None:
    n = next(_counter)
    cfg = folder / f"fuzz{n}.yaml"
    if isinstance(text, bytes):
        cfg.write_bytes(text)
    else:
        cfg.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check(*_run(folder, "run", str(cfg), "--out", str(folder / f"out{n}"), "--quiet"))


# no shrinking: a failure is reported as generated, and the time stays bounded
FUZZ = settings(max_examples=30, deadline=None, derandomize=True,
                phases=(Phase.explicit, Phase.reuse, Phase.generate),
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(data=st.data())
def test_fuzz_config_structures(sample_folder, data):
    doc = _mutate(BASE_CONFIG, data)
    _config_run(sample_folder(), yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(raw=raw_docs, where=st.sampled_from(["alone", "appended", "as title"]))
def test_fuzz_config_raw_yaml(sample_folder, raw, where):
    base = yaml.safe_dump(BASE_CONFIG)
    if where == "appended":
        text = base.replace("title: Fuzz\n", "") + raw
    elif where == "as title":
        text = base.replace("title: Fuzz\n", "") + raw.replace("l0:", "title: x\nl0:", 1)
    else:
        text = raw
    _config_run(sample_folder(), text)


@FUZZ
@given(data=st.data())
def test_fuzz_mapping_structures(sample_folder, data):
    folder = sample_folder()
    mapping = yaml.safe_load((folder / "mapping.yaml").read_text(encoding="utf-8"))
    n = next(_counter)
    (folder / f"map{n}.yaml").write_text(yaml.safe_dump(_mutate(mapping, data),
                                                        allow_unicode=True), encoding="utf-8")
    cfg = dict(BASE_CONFIG, mapping=f"map{n}.yaml")
    _config_run(folder, yaml.safe_dump(cfg))


@FUZZ
@given(raw=raw_docs)
def test_fuzz_mapping_raw_yaml(sample_folder, raw):
    folder = sample_folder()
    n = next(_counter)
    (folder / f"map{n}.yaml").write_text(raw, encoding="utf-8")
    _check(*_run(folder, "check-mapping", str(folder / "fl_survey.parquet"),
                 str(folder / f"map{n}.yaml")))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_config_and_mapping_not_utf8(sample_folder, encoding):
    folder = sample_folder()
    text = yaml.safe_dump(dict(BASE_CONFIG, title="Travail forc\u00e9"), allow_unicode=True)
    _config_run(folder, text.encode(encoding))
    mapping = (folder / "mapping.yaml").read_text(encoding="utf-8") + "# \u00e9t\u00e9\n"
    (folder / "map_enc.yaml").write_bytes(mapping.encode(encoding))
    code, err = _run(folder, "check-mapping", str(folder / "fl_survey.parquet"),
                     str(folder / "map_enc.yaml"))
    _check(code, err)
    assert code == 2 and "not a UTF-8 text file" in err


# ---------------------------------------------------------------- the model and analysis sections

# valid sections for the sample: each runs (the proxy reports file is written by the
# fixture: reports on 300 respondents of the sample, ids in ``pid``)
SECTIONS: dict[str, Any] = {
    "small_areas": {"name": "by_district", "area": "district", "lookup": "district_of_psu.csv",
                    "covariates": "districts.csv",
                    "formula": "~ migrant_share + urban_share + C(region)"},
    "nsum": {"name": "scale_up", "hidden": "migrant", "known": {"urban": 90000, "worked": 80000},
             "total_population": 186186, "topcode": 30, "sensitivity": {"visibility": [0.5, 1]}},
    "proxy": {"name": "family", "reports": "reports.csv", "respondent_id": "pid",
              "outcome": "fl", "by": ["sex"], "counting_rule": "the household's members"},
    "compare": [{"table": "by_sex", "all_pairs": True},
                {"name": "sexes", "table": "by_sex", "pairs": [[1, 2]], "statistic": "prevalence"}],
    "tests": [{"row": "fl", "col": "sex", "population": "adults"}],
}
SECTION_KEYS = sorted({k for sec in SECTIONS.values()
                       for k in (sec[0] if isinstance(sec, list) else sec)}
                      | {"title", "method", "transform", "benchmark", "mse", "n_bootstrap",
                         "area_population", "missing_codes", "adjustment", "validation",
                         "respondent", "multiplicity", "statistics", "scale", "adjust",
                         "statistic"})
section_leaves = st.one_of(leaves, st.sampled_from([
    "reports.csv", "districts.csv", "margins.csv", "fl_survey.parquet", "pid", "sex", "fl",
    "region", "psu", "by_sex", "national", "adults", "bootstrap", "arcsin", "ratio", "holm",
    "prevalence", "total", "Chisq", 0, 1, 2, 10, 10**5, 0.5, -1, [1, 2], ["sex", "sex"]]))
section_values = st.recursive(
    section_leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.one_of(st.sampled_from(SECTION_KEYS), st.text(max_size=8)), children,
                      max_size=5),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def sections_folder(sample_folder) -> Path:
    """The sample with the files the sections name: districts, their PSUs, reports."""
    folder = sample_folder()
    for name in ("districts.csv", "district_of_psu.csv"):
        shutil.copy(SAMPLE / name, folder / name)
    pid = pd.read_parquet(folder / "fl_survey.parquet", columns=["pid"])["pid"].to_numpy()
    rng = np.random.default_rng(20)
    respondent = np.repeat(pid[:300], 2)
    pd.DataFrame({"respondent": respondent, "fl": rng.binomial(1, 0.05, respondent.size),
                  "multiplicity": rng.integers(1, 5, respondent.size)}).to_csv(
        folder / "reports.csv", index=False)
    return folder


def _with_sections(data: st.DataObject) -> dict:
    doc = yaml.safe_load(yaml.safe_dump(BASE_CONFIG))
    for key, valid in SECTIONS.items():
        how = data.draw(st.sampled_from(["absent", "absent", "valid", "mutated", "random"]),
                        label=key)
        if how == "valid":
            doc[key] = valid
        elif how == "mutated":
            doc[key] = _mutate({key: valid}, data).get(key)
        elif how == "random":
            doc[key] = data.draw(section_values, label=f"{key} contents")
    return doc


@FUZZ
@given(data=st.data())
def test_fuzz_model_and_analysis_sections(sections_folder, data):
    _config_run(sections_folder, yaml.safe_dump(_with_sections(data), allow_unicode=True))


def test_valid_sections_run(sections_folder):
    """The fuzz's starting point is valid: with every section, the run succeeds."""
    doc = {**BASE_CONFIG, **SECTIONS}
    code, err = _run(sections_folder, "run", _write(sections_folder, doc), "--out",
                     str(sections_folder / "out_valid"), "--quiet")
    assert code == 0, err[-3000:]
    payload = json.loads((sections_folder / "out_valid" / "results.json").read_text())
    assert [s["name"] for s in payload["sections"]] == ["small_areas", "nsum", "proxy"]
    assert len(payload["comparisons"]) == 2 and len(payload["tests"]) == 1


def _write(folder: Path, doc: dict) -> str:
    cfg = folder / f"fuzz{next(_counter)}.yaml"
    cfg.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return str(cfg)
