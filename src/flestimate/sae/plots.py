"""Charts of a Fay-Herriot fit (matplotlib): direct against model estimates, the areas
ordered by estimate with their intervals, and normal Q-Q plots of the residuals.

Each function draws on the axes given (or new ones) and returns them; the caller's
matplotlib backend is left alone, so a notebook shows the figure inline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from flestimate.errors import ValidationError

if TYPE_CHECKING:
    from flestimate.sae.result import FayHerriotResult

__all__ = ["plot_areas", "plot_direct_vs_model", "plot_residuals"]


def _axes(ax: Any, size: tuple[float, float]) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


def _units(result: FayHerriotResult) -> str:
    return f" (per {result.scale:,.0f})" if result.scale != 1 else ""


def plot_direct_vs_model(result: FayHerriotResult, ax: Any = None) -> Any:
    """Direct estimates (x) against the model-based ones (y) for the sampled areas, with
    the line y = x; point size grows with the direct estimate's sampling variance.

    A good model scatters around the line without a tilt: large direct values are
    pulled down and small ones up (shrinkage) for the areas with imprecise direct
    estimates, not systematically for all.
    """
    f = result._frame[result._frame["in_sample"]]
    ax = _axes(ax, (5.5, 5.0))
    se = f["model_se"].to_numpy()
    size = 10.0 + 90.0 * (se / np.nanmax(se) if np.nanmax(se) > 0 else 0.0)
    ax.scatter(f["direct"], f["estimate"], s=size, alpha=0.6, edgecolor="none")
    lo = float(np.nanmin([f["direct"].min(), f["estimate"].min()]))
    hi = float(np.nanmax([f["direct"].max(), f["estimate"].max()]))
    ax.plot([lo, hi], [lo, hi], color="0.4", linewidth=1, linestyle="--", label="y = x")
    ax.set_xlabel("direct estimate" + _units(result))
    ax.set_ylabel("model-based estimate" + _units(result))
    ax.set_title("Direct and model-based estimates")
    ax.legend(loc="upper left", frameon=False)
    return ax


def plot_areas(result: FayHerriotResult, ax: Any = None, *, max_areas: int = 200) -> Any:
    """The areas ordered by model-based estimate, with their intervals, and the direct
    estimates beside them (hollow markers): a chart for any number of areas, no map
    needed. Areas without a sample are drawn in grey.

    Parameters
    ----------
    max_areas : int, default 200
        Largest number of areas drawn (one line each); above it, a ValidationError
        suggests filtering the result first.
    """
    f = result._frame
    if len(f) > max_areas:
        raise ValidationError(
            f"the result has {len(f):,} areas; plot_areas draws at most max_areas={max_areas}. "
            "Raise max_areas= or plot a subset (e.g. one region) of result.to_frame()."
        )
    f = f.sort_values("estimate", kind="stable")
    pos = np.arange(len(f))
    ax = _axes(ax, (6.5, max(3.0, 0.16 * len(f) + 1.0)))
    colour = np.where(f["in_sample"].to_numpy(), "C0", "0.6")
    ax.hlines(pos, f["ci_lower"], f["ci_upper"], colors=colour, linewidth=1.2)
    ax.scatter(f["estimate"], pos, c=colour, s=14, zorder=3, label="model-based")
    ax.scatter(f["direct"], pos, facecolors="none", edgecolors="C3", s=14, zorder=3,
               label="direct")  # fmt: skip
    ax.set_yticks(pos)
    ax.set_yticklabels([str(a) for a in f["area"]], fontsize=6 if len(f) > 40 else 8)
    ax.set_xlabel(f"estimate with {result.level:.0%} interval" + _units(result))
    ax.set_title("Areas ordered by model-based estimate")
    ax.legend(loc="lower right", frameon=False)
    ax.margins(y=0.01)
    return ax


def plot_residuals(result: FayHerriotResult, axes: Any = None) -> Any:
    """Normal Q-Q plots of the standardised residuals and random effects (two axes)."""
    from flestimate.sae.diagnostics import standardised_residuals

    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(9.0, 4.0))
    for ax, values, title in zip(axes, standardised_residuals(result),
                                 ("standardised residuals", "standardised random effects"),
                                 strict=True):  # fmt: skip
        v = np.sort(values[np.isfinite(values)])
        if v.size:
            q = stats.norm.ppf((np.arange(1, v.size + 1) - 0.5) / v.size)
            ax.scatter(q, v, s=12, alpha=0.7)
            lim = float(max(np.abs(q).max(), np.abs(v).max()))
            ax.plot([-lim, lim], [-lim, lim], color="0.4", linewidth=1, linestyle="--")
        ax.set_xlabel("normal quantile")
        ax.set_ylabel("observed")
        ax.set_title(title)
    return axes
