"""Estimation over data larger than memory (DuckDB) or spread over a cluster (Dask).

:class:`LargeDesign` is made by ``SurveyDesign.from_parquet``,
``ReplicateDesign.from_parquet`` or :meth:`LargeDesign.over` (a DuckDB relation or a
Dask DataFrame); see docs/user-guide/large-data.md.
"""

from flestimate.large.classify import classify_parquet
from flestimate.large.design import LargeDesign
from flestimate.large.engines import EngineError

__all__ = ["EngineError", "LargeDesign", "classify_parquet"]
