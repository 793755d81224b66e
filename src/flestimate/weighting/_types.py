"""The designs a weighting step takes and returns.

Defined once here so that the weighting functions' signatures follow the design
layer: when ``design/`` declares its interface, ``Design`` becomes that interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, TypeVar, Union

if TYPE_CHECKING:
    from flestimate.design.replicate import ReplicateDesign
    from flestimate.design.survey import SurveyDesign

__all__ = ["Design", "DesignT"]

# a design that the weighting steps re-weight (Taylor linearisation or replicates)
Design: TypeAlias = Union["SurveyDesign", "ReplicateDesign"]  # noqa: UP007 (names not imported at run time)
# a weighting step returns a design of the kind it was given
DesignT = TypeVar("DesignT", bound=Design)
