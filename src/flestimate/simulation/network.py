"""A synthetic population network and respondent-driven recruitment on it.

- :func:`block_network`: an undirected stochastic-block network (two blocks: a hidden
  group and everyone else) as a scipy sparse adjacency matrix, drawn with numpy;
- :func:`rds_recruitment`: a respondent-driven sample on any network (a scipy sparse
  adjacency matrix or a networkx graph): seeds, then each respondent hands out coupons
  to contacts not yet in the sample, wave by wave.

Both are vectorised (a loop over row blocks or waves, never over people) and draw from
the generator given, so a seed reproduces them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from flestimate.errors import ValidationError

__all__ = ["as_adjacency", "block_network", "rds_recruitment"]

# rows of the dense random block drawn at a time (memory: 8 bytes x rows x population)
_CHUNK_ROWS = 512


def block_network(
    group: np.ndarray, ties: tuple[float, float, float], rng: np.random.Generator
) -> sparse.csr_array:
    """Symmetric 0/1 adjacency of a two-block stochastic-block network.

    Parameters
    ----------
    group : bool array (n,)
        Membership of the first block (the hidden group).
    ties : (within the group, group to others, among others)
        Probability of a tie between two people of each kind of pair.
    rng : Generator

    Notes
    -----
    Each pair i < j is tied independently with the probability of its pair of blocks
    (the networkx ``stochastic_block_model``; here drawn in blocks of rows with numpy,
    O(n^2) draws: fine up to a population of about 20,000).
    """
    g = np.asarray(group, dtype=bool)
    n = len(g)
    within, between, others = ties
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for lo in range(0, n, _CHUNK_ROWS):  # blocks of rows, not people
        hi = min(n, lo + _CHUNK_ROWS)
        gi = g[lo:hi, None]
        p = np.where(gi & g, within, np.where(gi | g, between, others))
        tie = rng.random((hi - lo, n)) < p
        tie &= np.arange(n)[None, :] > np.arange(lo, hi)[:, None]  # i < j only
        r, c = np.nonzero(tie)
        rows.append(r + lo)
        cols.append(c)
    i = np.concatenate(rows)
    j = np.concatenate(cols)
    data = np.ones(2 * len(i), dtype=np.int8)
    adj = sparse.coo_array((data, (np.concatenate([i, j]), np.concatenate([j, i]))), shape=(n, n))
    return adj.tocsr()


def as_adjacency(network: Any) -> sparse.csr_array:
    """A scipy sparse adjacency matrix (CSR) from a networkx graph or a sparse/dense matrix.

    A networkx graph's nodes are taken in ``graph.nodes`` order (relabel them 0..n-1 to
    line them up with a trait array).
    """
    if type(network).__module__.startswith("networkx"):
        import networkx as nx  # only when a networkx graph is given

        return sparse.csr_array(nx.to_scipy_sparse_array(network, format="csr", dtype=np.int8))
    adj = sparse.csr_array(network)
    if adj.shape[0] != adj.shape[1]:
        raise ValidationError(f"the network's adjacency matrix is {adj.shape}; it must be square.")
    return adj


def _contacts(adj: sparse.csr_array, people: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(person, contact) for every tie of ``people`` (the CSR rows, concatenated)."""
    start = adj.indptr[people]
    count = adj.indptr[people + 1] - start
    total = int(count.sum())
    offset = np.repeat(start - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    return np.repeat(people, count), adj.indices[offset + np.arange(total)]


def rds_recruitment(
    network: Any,
    trait: np.ndarray,
    *,
    size: int,
    seeds: int,
    coupons: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A respondent-driven sample of ``size`` people on a network.

    Parameters
    ----------
    network : networkx graph or scipy sparse matrix
        Undirected ties (the adjacency is read as given; make it symmetric).
    trait : array (n,)
        The 0/1 trait of each person (node order).
    size : int
        Respondents to recruit (fewer when the chains die out first).
    seeds : int
        Seeds, drawn at random among people with at least one tie.
    coupons : int
        Coupons per respondent: each respondent recruits up to this many of their
        contacts not yet in the sample, chosen at random; a contact chosen by two
        recruiters of the same wave joins through one of them. The last wave is cut at
        random to reach ``size``.
    rng : Generator

    Returns
    -------
    DataFrame
        ``id`` (node index), ``recruiter`` (node index, or "seed"), ``wave``,
        ``network_size`` (the true number of ties), ``fl`` (the trait), in order of
        recruitment: the data of :func:`flestimate.rds.estimate`.
    """
    adj = as_adjacency(network)
    n = adj.shape[0]
    y = np.asarray(trait)
    degree = np.diff(adj.indptr)
    if len(y) != n:
        raise ValidationError(f"trait has {len(y)} values for a network of {n} people.")
    eligible = np.flatnonzero(degree > 0)
    if not (0 < seeds <= min(size, len(eligible))):
        raise ValidationError(
            f"seeds={seeds!r} must be between 1 and the sample size ({size}) and no more than "
            f"the {len(eligible)} people with a tie."
        )
    in_sample = np.zeros(n, dtype=bool)
    current = rng.choice(eligible, seeds, replace=False)
    in_sample[current] = True
    ids, parents, waves = [current], [np.full(seeds, -1)], [np.zeros(seeds, dtype=np.int64)]
    total, wave = seeds, 0
    while total < size and len(current):  # a loop over waves
        wave += 1
        rec, contact = _contacts(adj, current)
        free = ~in_sample[contact]
        rec, contact = rec[free], contact[free]
        # each recruiter: up to `coupons` of its free contacts, in random order
        order = np.lexsort((rng.random(len(rec)), rec))
        rec, contact = rec[order], contact[order]
        first = np.r_[True, rec[1:] != rec[:-1]]
        rank = np.arange(len(rec)) - np.maximum.accumulate(np.where(first, np.arange(len(rec)), 0))
        rec, contact = rec[rank < coupons], contact[rank < coupons]
        # a contact chosen twice joins through one recruiter (random, by the shuffle)
        shuffle = rng.permutation(len(contact))
        _, once = np.unique(contact[shuffle], return_index=True)
        pick = shuffle[np.sort(once)]
        pick = pick[: size - total]
        rec, contact = rec[pick], contact[pick]
        in_sample[contact] = True
        ids.append(contact)
        parents.append(rec)
        waves.append(np.full(len(contact), wave))
        total += len(contact)
        current = contact
    idx = np.concatenate(ids)
    parent = np.concatenate(parents)
    return pd.DataFrame(
        {
            "id": idx,
            "recruiter": np.where(parent < 0, "seed", parent.astype(str)),
            "wave": np.concatenate(waves),
            "network_size": degree[idx],
            "fl": y[idx].astype(np.int64),
        }
    )
