"""A synthetic hidden population with known truth: scale-up answers, family reports, RDS.

:func:`hidden_population` draws a population of people in families and regions, a
hidden group (the people in forced labour) and a few groups of known size (teachers,
nurses, ...), a population network in which the hidden group is clustered (a
stochastic-block network: :func:`flestimate.simulation.network.block_network`), and
then three samples of it:

- ``survey``: a general-population survey, stratified by region, asking "how many
  teachers / nurses / ... / people in forced labour do you know?" (network scale-up,
  :func:`flestimate.nsum.scale_up`); a respondent knows the status of a contact in forced
  labour with probability ``visibility`` (transmission error);
- ``reports``: the same respondents reporting on themselves and the members of their
  family (proxy reports, :func:`flestimate.proxy.multiplicity_total`), each person
  carrying the multiplicity ``m`` = family size (everyone in the family could report
  them); a respondent knows a relative is in forced labour with probability
  ``family_visibility``;
- ``rds``: a respondent-driven sample on the network (:func:`flestimate.rds.estimate`).

All three estimate the same truth: the number (or share) of people in forced labour.
:meth:`HiddenPopulation.resample` draws new samples of the same population (a
design-based simulation); :meth:`HiddenPopulation.write` writes the files bundled
under ``data/hidden``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from flestimate.errors import ValidationError
from flestimate.simulation.network import block_network, rds_recruitment
from flestimate.simulation.parameters import check_float, check_int, make_rng

__all__ = ["KNOWN_GROUPS", "HiddenPopulation", "hidden_population"]

#: groups of known size (name -> share of the population), as in a scale-up survey
KNOWN_GROUPS: dict[str, float] = {
    "teacher": 0.03,
    "nurse": 0.01,
    "bus_driver": 0.005,
    "named_ana": 0.02,
}
#: each region's share of the population (the survey takes the same number in each)
REGION_SHARES = (0.4, 0.3, 0.2, 0.1)
#: the parameters of the samples (those :meth:`HiddenPopulation.resample` may change)
SAMPLE_PARAMETERS = ("survey_size", "visibility", "family_visibility", "rds_size",
                     "rds_seeds", "coupons")  # fmt: skip


@dataclass(frozen=True, eq=False)
class HiddenPopulation:
    """A synthetic population with a hidden group, its network and three samples of it.

    Attributes
    ----------
    people : DataFrame
        The whole population: ``id``, ``family``, ``family_size``, ``region``, ``fl``
        (0/1, in the hidden group), one 0/1 column per known group, ``degree``.
    adjacency : scipy.sparse.csr_array
        The network (symmetric 0/1; ``networkx.from_scipy_sparse_array`` makes a graph).
    known : dict
        Known group -> its size (for ``known=`` of :func:`flestimate.nsum.scale_up`).
    survey : DataFrame
        ``id``, ``region``, ``weight`` and, per known group and for ``fl_known``, the
        number of such people the respondent knows.
    reports : DataFrame
        ``respondent``, ``person``, ``self`` (1 for the respondent's own row), ``fl``
        (reported status) and ``multiplicity`` (the family's size).
    rds : DataFrame
        ``id``, ``recruiter`` ("seed" for a seed), ``wave``, ``network_size``, ``fl``.
    truth : dict
        ``population``, ``fl`` (hidden group size), ``prevalence``, ``known``,
        ``mean_degree`` (all, hidden, others) and ``rds_population`` (the size of the
        connected network the RDS sample is drawn from) with ``rds_prevalence``.
    parameters : dict
        The arguments of :func:`hidden_population` (the seed included).
    """

    people: pd.DataFrame
    adjacency: sparse.csr_array
    known: dict[str, int]
    survey: pd.DataFrame
    reports: pd.DataFrame
    rds: pd.DataFrame
    truth: dict[str, Any]
    parameters: dict[str, Any]

    def resample(
        self, rng: int | np.random.Generator | None = None, **changes: Any
    ) -> HiddenPopulation:
        """New samples (survey, reports, RDS) of the same population and network.

        ``changes`` may set any of ``survey_size``, ``visibility``,
        ``family_visibility``, ``rds_size``, ``rds_seeds`` and ``coupons``.
        """
        unknown = set(changes) - set(SAMPLE_PARAMETERS)
        if unknown:
            raise ValidationError(
                f"resample() cannot change {sorted(unknown)}; it draws new samples of the same "
                f"population (change one of {list(SAMPLE_PARAMETERS)}, or call hidden_population)."
            )
        params = {**self.parameters, **changes}
        gen, seed = make_rng(rng)
        samples = _samples(self.people, self.adjacency, self.known, gen, _sample_params(params))
        return replace(self, **samples, parameters={**params, "sample_seed": seed})

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``nsum_survey.csv``, ``known_populations.csv``, ``family_reports.csv``,
        ``rds_sample.csv`` and ``truth.json`` (with the parameters) to ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        known = pd.DataFrame({"population": list(self.known), "size": list(self.known.values())})
        files = {
            "nsum_survey.csv": self.survey,
            "known_populations.csv": known,
            "family_reports.csv": self.reports,
            "rds_sample.csv": self.rds,
        }
        paths = []
        for name, frame in files.items():
            frame.to_csv(out / name, index=False, lineterminator="\n")
            paths.append(out / name)
        doc = {**self.truth, "parameters": self.parameters}
        (out / "truth.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        return [*paths, out / "truth.json"]


def _sample_params(params: Mapping[str, Any]) -> dict[str, Any]:
    p = {k: params[k] for k in SAMPLE_PARAMETERS}
    n = params["population"]
    check_int("survey_size", p["survey_size"], len(REGION_SHARES), n // 2)
    check_float("visibility", p["visibility"], 0.0, 1.0, hi_open=False)
    check_float("family_visibility", p["family_visibility"], 0.0, 1.0, lo_open=False, hi_open=False)
    check_int("rds_size", p["rds_size"], 2, n // 2)
    check_int("rds_seeds", p["rds_seeds"], 1, p["rds_size"])
    check_int("coupons", p["coupons"], 1, 20)
    return p


def hidden_population(
    *,
    population: int = 4000,
    hidden_share: float = 0.05,
    ties: tuple[float, float, float] = (0.02, 0.004, 0.006),
    known: Mapping[str, float] | None = None,
    survey_size: int = 400,
    visibility: float = 1.0,
    family_visibility: float = 1.0,
    rds_size: int = 500,
    rds_seeds: int = 6,
    coupons: int = 2,
    rng: int | np.random.Generator | None = None,
) -> HiddenPopulation:
    """A synthetic hidden population with known truth and three samples of it.

    Parameters
    ----------
    population : int, default 4000
        People (the network's O(n^2) draw keeps it below 20,000).
    hidden_share : float, default 0.05
        Share in the hidden group (in forced labour).
    ties : (float, float, float), default (0.02, 0.004, 0.006)
        Probability of a tie within the hidden group, between it and the others, and
        among the others. The defaults cluster the hidden group: its members know fewer
        people outside it (a barrier effect for scale-up, homophily for RDS).
    known : mapping, optional
        Known group -> share of the population (default :data:`KNOWN_GROUPS`); members
        are drawn independently of the network and of the hidden group.
    survey_size : int, default 400
        Respondents of the scale-up survey, the same number in each of four regions
        of unequal size (so the weights differ by region).
    visibility, family_visibility : float, default 1
        Probability that a respondent knows a contact's / a relative's forced labour.
    rds_size, rds_seeds, coupons : int
        The respondent-driven sample: respondents, seeds and coupons per respondent.
    rng : int or Generator, optional
        The seed; the same seed gives the same population and samples.

    Returns
    -------
    HiddenPopulation
    """
    gen, seed = make_rng(rng)
    n = check_int("population", population, 200, 20_000)
    share = check_float("hidden_share", hidden_share, 0.0, 0.5)
    if len(ties) != 3:
        raise ValidationError(
            f"ties={ties!r} must be three probabilities (within, between, others)."
        )
    tie_p = tuple(check_float(f"ties[{i}]", t, 0.0, 1.0, hi_open=False) for i, t in enumerate(ties))
    groups = dict(KNOWN_GROUPS if known is None else known)
    for name, s in groups.items():
        check_float(f"known[{name!r}]", s, 0.0, 1.0)
    params = {"population": n, "hidden_share": share, "ties": list(tie_p), "known": groups,
              "survey_size": survey_size, "visibility": visibility,
              "family_visibility": family_visibility, "rds_size": rds_size,
              "rds_seeds": rds_seeds, "coupons": coupons, "seed": seed}  # fmt: skip
    sample_params = _sample_params(params)

    fl = gen.random(n) < share
    sizes = gen.integers(1, 7, size=n)  # families of 1..6, cut to the population
    family = np.repeat(np.arange(n), sizes)[:n][gen.permutation(n)]  # scattered over ids
    family = pd.factorize(family, sort=True)[0]
    n_families = int(family.max()) + 1
    # a family lives in one region
    region = (np.searchsorted(np.cumsum(REGION_SHARES), gen.random(n_families)) + 1)[family]
    people = pd.DataFrame({"id": np.arange(n), "family": family,
                           "family_size": np.bincount(family)[family], "region": region,
                           "fl": fl.astype(np.int64)})  # fmt: skip
    for name, s in groups.items():
        people[name] = (gen.random(n) < s).astype(np.int64)
    adj = block_network(fl, tie_p, gen)
    degree = np.diff(adj.indptr)
    people["degree"] = degree
    known_sizes = {name: int(people[name].sum()) for name in groups}
    truth = _truth(people, adj, known_sizes)
    samples = _samples(people, adj, known_sizes, gen, sample_params)
    return HiddenPopulation(people=people, adjacency=adj, known=known_sizes, **samples,
                            truth=truth, parameters=params)  # fmt: skip


def _truth(people: pd.DataFrame, adj: sparse.csr_array, known: dict[str, int]) -> dict[str, Any]:
    fl = people["fl"].to_numpy().astype(bool)
    degree = people["degree"].to_numpy()
    _, label = csgraph.connected_components(adj, directed=False)
    giant = label == np.bincount(label).argmax()
    return {
        "description": "synthetic hidden population (flestimate.simulation.hidden_population)",
        "population": len(people),
        "fl": int(fl.sum()),
        "prevalence": float(fl.mean()),
        "known": known,
        "mean_degree": {
            "all": float(degree.mean()),
            "hidden": float(degree[fl].mean()),
            "others": float(degree[~fl].mean()),
        },  # fmt: skip
        "rds_population": int(giant.sum()),
        "rds_prevalence": float(fl[giant].mean()),
    }


def _samples(
    people: pd.DataFrame, adj: sparse.csr_array, known: dict[str, int],
    gen: np.random.Generator, p: dict[str, Any],
) -> dict[str, pd.DataFrame]:  # fmt: skip
    n = len(people)
    region = people["region"].to_numpy()
    fl = people["fl"].to_numpy()
    # the survey: the same number of respondents in each region (weights N_r / n_r)
    labels, n_r = np.unique(region, return_counts=True)
    take = np.full(len(labels), p["survey_size"] // len(labels))
    take[: p["survey_size"] % len(labels)] += 1
    key = gen.random(n)
    rank = pd.Series(key).groupby(region).rank(method="first").to_numpy()
    chosen = np.flatnonzero(rank <= take[np.searchsorted(labels, region)])
    reach = adj[chosen]  # rows of the respondents
    survey = pd.DataFrame({"id": chosen, "region": region[chosen],
                           "weight": (n_r / take)[np.searchsorted(labels, region[chosen])]})  # fmt: skip
    for name in known:
        survey[name] = reach @ people[name].to_numpy()
    survey["fl_known"] = gen.binomial(reach @ fl, p["visibility"])
    # family reports: every member of each respondent's family, the respondent included
    fam = people["family"].to_numpy()
    members = np.argsort(fam, kind="stable")
    first = np.searchsorted(fam[members], fam[chosen])
    size = people["family_size"].to_numpy()[chosen]
    respondent = np.repeat(chosen, size)
    person = members[np.repeat(first, size) + _ranges(size)]
    own = person == respondent
    seen = own | (gen.random(len(person)) < p["family_visibility"])
    reports = pd.DataFrame({"respondent": respondent, "person": person,
                            "self": own.astype(np.int64), "fl": fl[person] * seen,
                            "multiplicity": size.repeat(size)})  # fmt: skip
    rds = rds_recruitment(adj, fl, size=p["rds_size"], seeds=p["rds_seeds"],
                          coupons=p["coupons"], rng=gen)  # fmt: skip
    return {"survey": survey, "reports": reports, "rds": rds}


def _ranges(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
