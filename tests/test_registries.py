"""One registry each for the CI methods, the lonely-PSU rules and the replicate methods.

Each is declared once and read by the engine, the argument checks and the coverage
study: a method registered here is accepted by an estimator and listed in the
messages and the study, and is gone once removed. The registries are importable
without loading the designs or the estimators (the configuration's validation reads
them before any estimate).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from flestimate import DesignError, EstimationError, ValidationError
from flestimate.design import SurveyDesign
from flestimate.design.lonely_psu import LONELY_PSU_RULES, check_lonely_psu
from flestimate.design.replicate import DESIGN_METHODS, METHODS, REPLICATE_METHODS, ReplicateDesign
from flestimate.design.replicate.registry import check_method
from flestimate.estimation import cimethods
from flestimate.estimation.cimethods import (
    CI_METHODS,
    CIMethod,
    compute_ci,
    get_ci_method,
    register_ci_method,
    remove_ci_method,
)
from flestimate.simulation import coverage

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(22)
    n = 400
    return pd.DataFrame(
        {
            "stratum": np.repeat([1, 2, 3, 4], n // 4),
            "psu": np.repeat(np.arange(40), n // 40),
            "w": rng.uniform(1.0, 3.0, n),
            "y": (rng.uniform(size=n) < 0.2).astype(int),
            "x": rng.normal(10.0, 2.0, n),
            "sex": rng.integers(1, 3, n),
        }
    )


@pytest.fixture(scope="module")
def design(frame):
    return SurveyDesign(frame, weight="w", strata="stratum", psu="psu")


# ----------------------------------------------------------------------------- CI methods


@pytest.fixture
def one_se():
    """A toy interval method, estimate +/- 1 SE, registered for one test and then removed."""
    seen = []

    def one_se_interval(estimate, se, df, *, level, n):
        seen.append(np.asarray(n).copy())
        return np.asarray(estimate) - se, np.asarray(estimate) + se

    method = register_ci_method(
        CIMethod("one-se", one_se_interval, "estimate +/- 1 SE (a test's toy)",
                 needs=("n",), aliases=("1se",))
    )  # fmt: skip
    yield method, seen
    if "one-se" in CI_METHODS:
        remove_ci_method("one-se")


def test_a_registered_method_is_accepted_by_the_estimators_and_listed(design, one_se):
    method, seen = one_se
    table = design.prevalence("y", by="sex", ci_method="one-se")
    out = table.to_frame()
    np.testing.assert_allclose(out["ci_lower"], out["estimate"] - out["se"], rtol=1e-12)
    np.testing.assert_allclose(out["ci_upper"], out["estimate"] + out["se"], rtol=1e-12)
    assert (out["ci_method"] == "one-se").all()
    # the input it declared is the domain's rows
    np.testing.assert_array_equal(seen[-1], out["n_unweighted"])
    # confint recomputes by the table's method
    again = table.confint(level=0.9).to_frame()
    np.testing.assert_allclose(again["ci_upper"], out["estimate"] + out["se"], rtol=1e-12)
    # an alias is accepted; the table records the method's name
    by_alias = design.proportion("y", ci_method="1se").to_frame()
    assert list(by_alias["ci_method"]) == ["one-se"]
    # listed: in the registry, in the study and in the message for a wrong name
    assert CI_METHODS["one-se"] is method
    assert "one-se" in coverage.METHODS
    lo, hi = coverage.intervals("one-se", np.array([0.1]), np.array([0.02]), np.array([9.0]),
                                np.array([50.0]), 0.95)  # fmt: skip
    np.testing.assert_allclose([lo[0], hi[0]], [0.08, 0.12])
    with pytest.raises(ValidationError, match="'one-se'"):
        design.prevalence("y", ci_method="nonsense")


def test_a_removed_method_is_refused(design, one_se):
    remove_ci_method("one-se")
    assert "one-se" not in CI_METHODS and "one-se" not in coverage.METHODS
    for name in ("one-se", "1se"):
        with pytest.raises(ValidationError, match=f"ci_method='{name}' is not known"):
            design.prevalence("y", ci_method=name)


def test_a_method_for_proportions_only_is_refused_for_other_estimates(one_se):
    assert get_ci_method("wald", proportion=False).name == "wald"
    for name in ("logit", "one-se"):
        with pytest.raises(ValidationError, match="is an interval for a proportion.*'wald'"):
            get_ci_method(name, proportion=False)


def test_registration_is_checked(one_se):
    def f(estimate, se, df, *, level):
        return estimate, estimate

    with pytest.raises(ValidationError, match="'wald' is already registered"):
        register_ci_method(CIMethod("wald", f, "again"))
    with pytest.raises(ValidationError, match="'1se' is already registered.*'one-se'"):
        register_ci_method(CIMethod("other-se", f, "again", aliases=("1se",)))
    with pytest.raises(ValidationError, match="needs 'weights'.*'n', 'dispersion'"):
        register_ci_method(CIMethod("toy", f, "toy", needs=("weights",)))
    with pytest.raises(ValidationError, match=r"aliases must be a tuple of names.*found '1se'"):
        register_ci_method(CIMethod("toy", f, "toy", aliases="1se"))
    with pytest.raises(ValidationError, match="callable"):
        register_ci_method(CIMethod("toy", "f", "toy"))
    with pytest.raises(ValidationError, match="takes a CIMethod"):
        register_ci_method("toy")
    assert "toy" not in CI_METHODS and "other-se" not in CI_METHODS


def test_unknown_method_lists_the_registry_and_suggests_the_closest(design):
    for given, close in (("korn-graubrd", "korn-graubard"), ("LOGIT", "logit"),
                         ("Wilson", "wilson")):  # fmt: skip
        with pytest.raises(ValidationError) as err:
            design.prevalence("y", ci_method=given)
        msg = str(err.value)
        assert f"ci_method={given!r} is not known. Did you mean {close!r}?" in msg
        assert all(repr(name) in msg for name in CI_METHODS)
    with pytest.raises(ValidationError, match=r"ci_method=\['logit'\] is not known"):
        design.prevalence("y", ci_method=["logit"])


P, SE, DF, N = (np.array([0.0, 0.01, 0.2, 0.6]), np.array([0.0, 0.004, 0.05, 0.1]),
                np.array([30.0, 12.0, np.inf, 5.0]), np.array([80.0, 500.0, 60.0, 20.0]))  # fmt: skip


@pytest.mark.parametrize(
    ("name", "direct"),
    [
        ("wald", lambda: cimethods.wald(P, SE, DF, 0.9)),
        ("logit", lambda: cimethods.logit_ci(P, SE, DF, 0.9)),
        ("asin", lambda: cimethods.asin_ci(P, SE, DF, 0.9)),
        ("wilson", lambda: cimethods.wilson(P, SE, DF, 0.9)),
        ("korn-graubard", lambda: cimethods.korn_graubard(P, SE, DF, N, 0.9)),
        ("korn-graubard-nchs", lambda: cimethods.korn_graubard(P, SE, DF, N, 0.9, nchs=True)),
        ("likelihood", lambda: cimethods.likelihood_ci(P, SE, DF, 0.9, N / (N - 1))),
    ],
)
def test_dispatch_calls_each_methods_formula(name, direct):
    got = compute_ci(name, P, SE, DF, N, 0.9, N / (N - 1))
    want = direct()
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_builtin_methods_in_their_documented_order():
    assert tuple(CI_METHODS) == (
        "wald", "logit", "asin", "wilson", "korn-graubard", "korn-graubard-nchs", "likelihood",
    )  # fmt: skip
    assert [m.name for m in CI_METHODS.values() if not m.proportions_only] == ["wald"]
    assert CI_METHODS["likelihood"].needs == ("dispersion",)
    with pytest.raises(EstimationError, match="likelihood interval needs the dispersion"):
        compute_ci("likelihood", P, SE, DF, N, 0.95)


def test_every_method_has_a_row_in_the_methodology_table():
    page = (ROOT / "docs" / "methodology" / "ci-methods.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z-]+)` \|", page, flags=re.M))
    assert rows == set(CI_METHODS)


# ----------------------------------------------------------------------------- lonely PSUs


def test_every_lonely_psu_rule_is_accepted_by_a_design(frame):
    lonely = frame[~frame["psu"].isin(range(1, 10))]  # stratum 1 keeps only PSU 0
    with pytest.raises(DesignError) as err:
        SurveyDesign(lonely, weight="w", strata="stratum", psu="psu")
    # the message offers the rules that give a variance, read from the registry
    assert "('remove', 'certainty', 'adjust' or 'average')" in str(err.value)
    for rule in LONELY_PSU_RULES:
        if rule == "fail":
            continue
        with pytest.warns(UserWarning, match=f"lonely_psu={rule!r}"):
            d = SurveyDesign(lonely, weight="w", strata="stratum", psu="psu", lonely_psu=rule)
        assert d.lonely_psu == rule
        assert np.isfinite(d.mean("x").to_frame()["se"]).all()


def test_unknown_lonely_psu_rule_suggests_the_closest(frame):
    with pytest.raises(DesignError, match=r"lonely_psu='remov' is not a known rule\. Did you "
                                          r"mean 'remove'\? Use one of 'fail', 'remove'"):  # fmt: skip
        SurveyDesign(frame, weight="w", lonely_psu="remov")
    with pytest.raises(DesignError, match=r"lonely_psu=\['fail'\] is not a known rule"):
        check_lonely_psu(["fail"])
    assert all(isinstance(v, str) and v for v in LONELY_PSU_RULES.values())


# ----------------------------------------------------------------------------- replicate methods


def test_replicate_method_names_come_from_the_registry():
    assert METHODS == tuple(REPLICATE_METHODS)
    assert DESIGN_METHODS == tuple(n for n, m in REPLICATE_METHODS.items() if m.from_design)
    assert "other" in METHODS and "other" not in DESIGN_METHODS
    assert [n for n, m in REPLICATE_METHODS.items() if m.uses_rho] == ["fay"]


def test_unknown_replicate_method_suggests_the_closest(design, frame):
    with pytest.raises(ValidationError, match=r"method='JK1' is not known\. Did you mean 'jk1'\?"):
        design.replicate("JK1")
    with pytest.raises(ValidationError, match="'other'.* is for delivered replicate weights"):
        design.replicate("other")
    rw = frame.assign(**{f"rw{r}": frame["w"] * (1 + (frame["psu"] % 5 == r)) for r in range(5)})
    with pytest.raises(ValidationError, match=r"method='bootstrp' is not known\. Did you mean "
                                              r"'bootstrap'\?.*'other'"):  # fmt: skip
        ReplicateDesign(rw, weight="w", replicate_weights="^rw", method="bootstrp")
    # "other" is a method of delivered weights
    assert ReplicateDesign(rw, weight="w", replicate_weights="^rw", method="other").method == (
        "other"
    )
    assert check_method("fay", 0.5, from_design=True) is REPLICATE_METHODS["fay"]


# ----------------------------------------------------------------------------- light imports


def test_registries_import_without_the_designs_or_the_estimators():
    code = (
        "import sys\n"
        "from flestimate.design.lonely_psu import LONELY_PSU_RULES\n"
        "from flestimate.design.replicate.registry import REPLICATE_METHODS\n"
        "from flestimate.estimation.cimethods import CI_METHODS\n"
        "heavy = ('pandas', 'scipy.special', 'flestimate.design.survey', "
        "'flestimate.design.structure', 'flestimate.design.replicate.design', "
        "'flestimate.estimation.estimators', 'flestimate.estimation.table')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_config_skeleton_offers_the_registries_choices():
    from flestimate.commands.init import skeleton

    text = skeleton("survey.csv", ["w_final", "stratum", "psu"])
    assert f"lonely_psu: fail       # {' | '.join(LONELY_PSU_RULES)}\n" in text
    assert f"ci_method: korn-graubard   # {' | '.join(CI_METHODS)}\n" in text
