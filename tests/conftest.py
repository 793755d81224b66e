"""Fixtures shared by the test folders."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# The suite gates every landing, so its property tests draw the same examples on every run
# (a failure is reproducible, never a coin toss). To explore new examples, run with
# HYPOTHESIS_PROFILE=explore.
settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))


@pytest.fixture(scope="session")
def dask_client():
    """A ``distributed.Client`` on a LocalCluster of 2 worker processes (one per session:
    the large-data tests and the run's Dask engine share it)."""
    import distributed  # a dev dependency: missing, the tests fail rather than skip
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()
