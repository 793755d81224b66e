"""Replicate-weight designs (moved into a package; split into modules next)."""

from flestimate.design.replicate.design import (  # noqa: F401
    _CHUNK_VALUES,
    DESIGN_METHODS,
    METHODS,
    ReplicateDesign,
    _dense_rank,
    _rank_gram,
    _rank_grams,
    _sparse_rank,
    replicate_design,
    replicate_variance,
    weights_rank,
)
