"""The tree bootstrap of a respondent-driven sample (Baraff, McCormick and Raftery 2016)."""

from __future__ import annotations

import numpy as np

from flestimate.rds.tree import RecruitmentTree

__all__ = ["TreeResamples", "tree_bootstrap"]


class TreeResamples:
    """B tree-bootstrap samples, stacked: ``node[j]`` is a row of the data drawn in
    replicate ``rep[j]``, and ``parent[j]`` the position (in these arrays) of the draw
    that recruited it (-1 for a resampled seed)."""

    __slots__ = ("node", "parent", "rep", "n_replicates")

    def __init__(self, node: np.ndarray, parent: np.ndarray, rep: np.ndarray, n_replicates: int):
        self.node = node
        self.parent = parent
        self.rep = rep
        self.n_replicates = n_replicates


def tree_bootstrap(tree: RecruitmentTree, n_replicates: int, rng: np.random.Generator) -> TreeResamples:
    """Resample the seeds with replacement, then, wave by wave, each drawn respondent's
    recruits with replacement (as many as it had), for all replicates at once.

    The loop runs over waves; each wave is one vectorised draw for every replicate.
    """
    seeds = tree.seeds
    m = len(seeds)
    rep = np.repeat(np.arange(n_replicates), m)
    node = seeds[rng.integers(0, m, size=n_replicates * m)]
    nodes, parents, reps = [node], [np.full(node.size, -1)], [rep]
    frontier_pos = np.arange(node.size)
    offset = node.size
    while node.size:
        k = tree.count[node]
        has = k > 0
        node, rep, k, pos = node[has], rep[has], k[has], frontier_pos[has]
        if not node.size:
            break
        node_r = np.repeat(node, k)
        k_r = np.repeat(k, k)
        pick = tree.start[node_r] + (rng.random(node_r.size) * k_r).astype(np.int64)
        child = tree.order[pick]
        rep = np.repeat(rep, k)
        parents.append(np.repeat(pos, k))
        nodes.append(child)
        reps.append(rep)
        frontier_pos = offset + np.arange(child.size)
        offset += child.size
        node = child
    return TreeResamples(
        np.concatenate(nodes), np.concatenate(parents), np.concatenate(reps), n_replicates
    )
