"""Fixtures shared by the test folders."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def dask_client():
    """A ``distributed.Client`` on a LocalCluster of 2 worker processes (one per session:
    the large-data tests and the run's Dask engine share it)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
