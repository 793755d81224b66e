"""Time flestimate.sae: a Fay-Herriot fit of 5,000 areas by REML with analytic MSEs, and the
arcsine model's bootstrap MSE with 200 replicates on 500 areas.

Run: ``python benchmarks/bench_sae.py [--areas 5000] [--boot-areas 500] [--replicates 200]
[--repeat 3] [--write-doc]``. Prints the best wall-clock time of ``--repeat`` runs of each
(targets of issue 21: under 1 s and under 10 s). ``--write-doc`` puts the output in the
``## bench_sae.py`` section of docs/performance.md (``run.py`` includes it in its report).
The areas are synthetic: 4 covariates and a region factor, prevalences near 5 per 1,000,
100 to 400 respondents per area, some areas without a case; GVF-smoothed variances
(``smooth="all"`` for the REML fit, the zero ones for the arcsine fit).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from flestimate import sae

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def make_areas(m: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.uniform(0, 1, (m, 4))
    region = rng.integers(1, 6, m)
    logit = -5.3 + x @ np.array([0.8, -0.4, 0.3, 0.0]) + 0.1 * region + rng.normal(0, 0.9, m)
    p_true = 1 / (1 + np.exp(-logit))
    n = rng.integers(100, 401, m)
    p = rng.binomial(n, p_true) / n
    se = np.sqrt(1.6 * p * (1 - p) / n)
    return pd.DataFrame({"area": np.arange(m), "direct": 1000 * p, "se": 1000 * se, "n": n,
                         "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "x4": x[:, 3],
                         "region": region})  # fmt: skip


FORMULA = "~ x1 + x2 + x3 + x4 + C(region)"


def best(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=5000)
    parser.add_argument("--boot-areas", type=int, default=500)
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(20261128)
    big, small = make_areas(args.areas, rng), make_areas(args.boot_areas, rng)
    warnings.simplefilter("ignore")  # the smoothed-variance warning of every run

    def fit_reml():
        return sae.fay_herriot(big, direct="direct", se="se", n="n", area="area",
                               formula=FORMULA, scale=1000, smooth="all")  # fmt: skip

    def fit_boot():
        return sae.fay_herriot(small, direct="direct", se="se", n="n", area="area",
                               formula=FORMULA, scale=1000, transform="arcsin",
                               n_bootstrap=args.replicates, rng=1)  # fmt: skip

    t1, r1 = best(fit_reml, args.repeat)
    t2, r2 = best(fit_boot, args.repeat)
    lines = [
        f"fay_herriot REML + Datta-Lahiri MSE, {args.areas:,} areas ({r1.iterations} "
        f"iterations, sigma2_u {r1.sigma2_u:.3g}): best {t1:.3f} s of {args.repeat}  (target < 1 s)  "
        + ("ok" if t1 < 1 else "MISSED"),
        f"fay_herriot arcsine + bootstrap MSE, {args.boot_areas:,} areas x {r2.n_bootstrap} "
        f"replicates: best {t2:.3f} s of {args.repeat}  (target < 10 s)  "
        + ("ok" if t2 < 10 else "MISSED"),
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_doc:
        cmd = "python benchmarks/bench_sae.py" + "".join(
            f" {a}" for a in (argv if argv is not None else sys.argv[1:]) if a != "--write-doc"
        )
        section = f"## bench_sae.py\n\nCommand: `{cmd}`\n\n```\n{text}\n```\n"
        doc = DOC.read_text()
        pattern = re.compile(r"## bench_sae\.py\n.*?(?=\n## |\Z)", re.S)
        doc = pattern.sub(section.rstrip("\n"), doc) if pattern.search(doc) else (
            doc.rstrip("\n") + "\n\n" + section)  # fmt: skip
        DOC.write_text(doc if doc.endswith("\n") else doc + "\n")
        print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
