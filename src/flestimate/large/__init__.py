"""Estimation over data larger than memory (DuckDB) or spread over a cluster (Dask).

:class:`LargeDesign` is made by ``SurveyDesign.from_parquet``,
``ReplicateDesign.from_parquet`` or :meth:`LargeDesign.over` (a DuckDB relation or a
Dask DataFrame); see docs/user-guide/large-data.md.
"""

from flestimate.large.classify import classify_parquet
from flestimate.large.cluster import connect
from flestimate.large.design import LargeDesign
from flestimate.large.engines import FREQUENCY, EngineError
from flestimate.large.summary import weight_sums

__all__ = ["FREQUENCY", "EngineError", "LargeDesign", "classify_parquet", "connect",
           "weight_sums"]
