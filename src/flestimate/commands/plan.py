"""``flestimate plan``: the sample size needed for a prevalence estimate of given precision."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from flestimate.errors import ValidationError

NAME = "plan"
HELP = "Sample size needed to estimate a prevalence with a given margin of error."

__all__ = ["MAX_DEFF", "MAX_SAMPLE", "SampleSize", "sample_size"]

#: largest design effect accepted (a plausible survey is far below)
MAX_DEFF = 1000.0
#: largest sample size reported: beyond, the inputs are a mistake
MAX_SAMPLE = 1e10


@dataclass(frozen=True)
class SampleSize:
    """Result of :func:`sample_size`: the exact value ``n`` and the whole number to draw."""

    n: float
    n_required: int
    z: float
    prevalence: float
    margin: float
    deff: float
    level: float


def sample_size(prevalence: float, margin: float, deff: float = 1.0, level: float = 0.95) -> SampleSize:
    """Respondents needed for a prevalence with absolute margin of error ``margin``.

    Parameters
    ----------
    prevalence : float
        Expected prevalence as a proportion in (0, 1), e.g. 0.0035 for 3.5 per 1,000.
    margin : float
        Half-width of the confidence interval, on the same scale (0.001 = 1 per 1,000).
    deff : float, default 1
        Design effect expected for the prevalence (clustering, weighting).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    SampleSize
        ``n`` (exact) and ``n_required = ceil(n)``.

    Notes
    -----
    ``n = deff * z**2 * p * (1 - p) / E**2`` with ``z`` the standard normal quantile
    ``1 - (1 - level)/2``. For p = 0.0035, E = 0.001, deff = 2, level 0.95 this gives
    n = 26,796.1 (ILO-STANDARDS anchor A21: about 26,796), i.e. 26,797 respondents.

    References
    ----------
    ILO (2012). Hard to see, harder to count: survey guidelines to estimate forced labour
    of adults and children. Geneva: International Labour Office.
    Cochran W.G. (1977). Sampling Techniques, 3rd ed., section 4.4. Wiley.
    """
    from scipy.stats import norm

    for name, value, lo, hi in (("--prevalence", prevalence, 0, 1), ("--margin", margin, 0, 1),
                                ("--level", level, 0, 1)):
        if not (isinstance(value, (int, float)) and lo < value < hi):
            extra = ""
            if name == "--prevalence" and isinstance(value, (int, float)) and value >= 1:
                extra = f" (a rate of {value:g} per 1,000 is {value / 1000:g})"
            raise ValidationError(
                f"{name}: found {value!r}; expected a proportion strictly between 0 and 1{extra}"
            )
    if not (isinstance(deff, (int, float)) and 0 < deff <= MAX_DEFF):
        raise ValidationError(f"--deff: found {deff!r}; expected a design effect > 0 and at most "
                              f"{MAX_DEFF:g} (1 for simple random sampling, 1.5 to 4 for a "
                              f"typical household survey)")
    z = float(norm.ppf(1 - (1 - level) / 2))
    n = deff * z * z * prevalence * (1 - prevalence) / margin / margin  # margin**2 may be 0.0
    if not (math.isfinite(n) and n <= MAX_SAMPLE):
        raise ValidationError(
            f"--margin: found {margin!r} (with --deff {deff!r}); the sample needed would be "
            f"{'more than ' + format(MAX_SAMPLE, ',.0f') if math.isfinite(n) else 'an infinite number of'} "
            f"respondents, more than the world's population. Give a margin of the order of the "
            f"prevalence (e.g. --margin {prevalence / 4:.2g} for --prevalence {prevalence:g})"
        )
    return SampleSize(n=n, n_required=math.ceil(n - 1e-9), z=z, prevalence=prevalence,
                      margin=margin, deff=deff, level=level)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--prevalence", type=float, required=True, metavar="P",
                        help="expected prevalence as a proportion, e.g. 0.0035 (3.5 per 1,000)")
    parser.add_argument("--margin", type=float, required=True, metavar="E",
                        help="margin of error (CI half-width) as a proportion, e.g. 0.001")
    parser.add_argument("--deff", type=float, default=1.0, metavar="D",
                        help="expected design effect (default 1)")
    parser.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")


def run(args: argparse.Namespace) -> int:
    r = sample_size(args.prevalence, args.margin, args.deff, args.level)
    p, e = r.prevalence, r.margin
    print("Sample size for a prevalence estimate")
    print(f"  prevalence        p    = {p:g} ({p * 1000:g} per 1,000)")
    print(f"  margin of error   E    = ±{e:g} (±{e * 1000:g} per 1,000)")
    print(f"  confidence level       = {r.level * 100:g}%  (z = {r.z:.6f})")
    print(f"  design effect     deff = {r.deff:g}")
    print("  n = deff · z² · p · (1 − p) / E²")
    print(f"    = {r.deff:g} × {r.z:.6f}² × {p:g} × {1 - p:g} / {e:g}²")
    print(f"    = {r.n:,.1f}")
    print(f"  -> {r.n_required:,} respondents (rounded up), before allowing for nonresponse")
    return 0
