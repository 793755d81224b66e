"""Check flestimate.rds against the RDS package's published fauxmadrona estimates (local only).

The data are LGPL-2.1 and are not shipped. To run the check:

1. get ``data/fauxmadrona.RData`` from the RDS package (CRAN, or its GitHub mirror
   ``cran/RDS``) and write it as CSV with R::

       load("fauxmadrona.RData"); write.csv(as.data.frame(fauxmadrona), "fauxmadrona.csv",
                                            row.names = FALSE)

2. run ``python tests/reference/check_rds_fauxmadrona.py fauxmadrona.csv`` from the
   repository root. It prints each estimate against the published one and exits with 1
   when one is outside its tolerance (tests/reference/rds_fauxmadrona.json).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from flestimate import rds


def main(path: str) -> int:
    ref = json.loads((Path(__file__).parent / "rds_fauxmadrona.json").read_text(encoding="utf-8"))
    data = pd.read_csv(path)
    failed = 0
    for method, published in ref["published"].items():
        got = rds.estimate(
            data, "disease", id="id", recruiter="recruiter.id", degree="degree", method=method,
            population_size=ref["population_size"], n_bootstrap=50, rng=1,
        ).estimate  # fmt: skip
        ok = abs(got - published) <= ref["tolerance"][method]
        failed += not ok
        print(f"{method}: {got:.5f} (published {published}, tolerance {ref['tolerance'][method]}) "
              f"{'ok' if ok else 'OUTSIDE'}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
