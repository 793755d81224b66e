"""RDS diagnostics: the estimate by wave (convergence), by seed (bottlenecks), homophily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from flestimate.rds.result import RDSResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["bottleneck_plot", "by_seed", "by_wave", "convergence_plot", "homophily"]


def by_wave(result: RDSResult) -> pd.DataFrame:
    """The estimate from the respondents of waves 0..w, for each wave w.

    Returns
    -------
    DataFrame
        ``wave``, ``n`` (respondents up to that wave), ``estimate`` (with the result's
        weights). It should settle well before the last wave; a drift to the end means
        the chains have not forgotten the seeds.
    """
    wave = result.tree.wave
    w = result.weights.to_numpy()
    W = int(wave.max()) + 1
    num = np.cumsum(np.bincount(wave, weights=w * result.y, minlength=W))
    den = np.cumsum(np.bincount(wave, weights=w, minlength=W))
    n = np.cumsum(np.bincount(wave, minlength=W))
    return pd.DataFrame({"wave": np.arange(W), "n": n, "estimate": num / den})


def by_seed(result: RDSResult) -> pd.DataFrame:
    """The estimate within each seed's chain.

    Returns
    -------
    DataFrame
        ``seed`` (the seed's row label), ``n``, ``estimate``. Chains that disagree
        strongly point at bottlenecks: subgroups that recruit mostly among themselves.
    """
    seeds = result.tree.seeds
    code = np.searchsorted(seeds, result.tree.seed)
    w = result.weights.to_numpy()
    S = len(seeds)
    num = np.bincount(code, weights=w * result.y, minlength=S)
    den = np.bincount(code, weights=w, minlength=S)
    return pd.DataFrame(
        {"seed": result.weights.index[seeds], "n": np.bincount(code, minlength=S),
         "estimate": num / den}
    )  # fmt: skip


def homophily(result: RDSResult) -> float:
    r"""Recruitment homophily of the outcome: observed within-group recruitments over
    those expected if recruiters chose at random among their contacts.

    Notes
    -----
    With the estimated shares :math:`p_g` and harmonic mean degrees :math:`\bar d_g`,
    a random recruitment reaches group g with probability
    :math:`p_g \bar d_g / \sum_h p_h \bar d_h`; the expected within-group count is
    :math:`\sum_g T_{g\cdot} p_g \bar d_g / \sum_h p_h \bar d_h` for :math:`T_{g\cdot}`
    recruitments made by group g. 1 is no homophily; above 1 recruits resemble their
    recruiters (RDS-I and RDS-II are then slower to forget the seeds).
    """
    g = result.y.astype(np.int64)
    parent = result.tree.parent
    has = parent >= 0
    T = np.bincount(2 * g[parent[has]] + g[has], minlength=4).reshape(2, 2).astype(float)
    p = np.array([1.0 - result.estimate, result.estimate])
    n_g = np.bincount(g, minlength=2).astype(float)
    inv = np.bincount(g, weights=1.0 / result.degree, minlength=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        dbar = np.where(inv > 0, n_g / inv, 0.0)
        reach = p * dbar / (p * dbar).sum()
        expected = (T.sum(axis=1) * reach).sum()
        return float(np.trace(T) / expected)


def _chart(result: RDSResult, ax: Any, title: str, xlabel: str, draw) -> Figure:
    """``draw(ax)`` on ``ax`` (by default a new ``matplotlib.pyplot`` figure: the caller's
    backend, so a notebook shows it), then the shared line, labels and legend."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 3.5))
    draw(ax)
    ax.axhline(result.estimate, linestyle="--", linewidth=1, label="all chains")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"estimate of {result.outcome}")
    ax.set_title(title)
    ax.legend(loc="best")
    ax.figure.tight_layout()
    return ax.figure


def convergence_plot(result: RDSResult, ax: Any = None) -> Figure:
    """The cumulative estimate by wave (:func:`by_wave`) with the final interval.

    ``ax``: the matplotlib axes to draw on (by default a new pyplot figure); returns the
    figure.
    """
    table = by_wave(result)

    def draw(ax) -> None:
        ax.plot(table["wave"], table["estimate"], marker="o")
        ax.axhspan(*result.ci, alpha=0.15, label=f"{result.level:.0%} interval")

    return _chart(result, ax, "Convergence: estimate by wave", "wave (respondents up to it)", draw)


def bottleneck_plot(result: RDSResult, ax: Any = None) -> Figure:
    """The estimate within each seed's chain (:func:`by_seed`), sized by chain length.

    ``ax`` as in :func:`convergence_plot`.
    """
    table = by_seed(result)
    x = np.arange(len(table))

    def draw(ax) -> None:
        ax.scatter(x, table["estimate"], s=20 + 200 * table["n"] / table["n"].max())
        ax.set_xticks(x, [str(s) for s in table["seed"]], rotation=90, fontsize=7)

    return _chart(result, ax, "Bottlenecks: estimate by seed", "seed", draw)
