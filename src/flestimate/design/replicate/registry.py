"""The replicate methods: how replicate weights are made, declared once.

:data:`REPLICATE_METHODS` names each method of ``method=`` with one line for
messages and the documentation, whether it can build replicates from a
:class:`~flestimate.design.SurveyDesign` (``design.replicate(method)``, R's
``as.svrepdesign``) or only describes delivered weights (``ReplicateDesign(...,
method=)``, R's ``svrepdesign``), and whether it takes Fay's ``rho=``. The builders
(:mod:`~flestimate.design.replicate.schemes`), the delivered-weight defaults
(:mod:`~flestimate.design.replicate.delivered`) and the configuration's validation
read it. Importing this module loads nothing beyond :mod:`flestimate.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flestimate.errors import ValidationError, closest_name

__all__ = ["DESIGN_METHODS", "METHODS", "REPLICATE_METHODS", "ReplicateMethod", "check_method"]


@dataclass(frozen=True)
class ReplicateMethod:
    """One replicate method of ``method=``.

    Attributes
    ----------
    name : str
    description : str
        One line, for messages and the documentation.
    from_design : bool
        ``design.replicate(name)`` builds replicates of this kind from a design.
    uses_rho : bool
        The method takes Fay's coefficient ``rho=``.
    """

    name: str
    description: str
    from_design: bool = True
    uses_rho: bool = False


#: The replicate methods by name (R survey's ``type``s), in the documentation's order.
REPLICATE_METHODS: Mapping[str, ReplicateMethod] = MappingProxyType(
    {
        m.name: m
        for m in (
            ReplicateMethod("jk1", "delete-one-PSU jackknife of an unstratified design"),
            ReplicateMethod("jkn", "delete-one-PSU jackknife within strata"),
            ReplicateMethod("brr", "balanced repeated replication, two PSUs per stratum"),
            ReplicateMethod("fay", "BRR with Fay's coefficient rho=", uses_rho=True),
            ReplicateMethod("bootstrap", "Canty-Davison bootstrap of the PSUs"),
            ReplicateMethod("subbootstrap", "Rao-Wu bootstrap of n_h - 1 PSUs per stratum"),
            ReplicateMethod("sdr", "successive difference replication"),
            ReplicateMethod(
                "other",
                "the NSO's own weights, with the scale= and rscales= given",
                from_design=False,
            ),
        )
    }
)

#: Names of the methods that build replicates from a design (R's ``as.svrepdesign`` types).
DESIGN_METHODS: tuple[str, ...] = tuple(n for n, m in REPLICATE_METHODS.items() if m.from_design)
#: Names of every method, for delivered replicate weights (R's ``svrepdesign`` types).
METHODS: tuple[str, ...] = tuple(REPLICATE_METHODS)


def check_method(method: Any, rho: Any, *, from_design: bool) -> ReplicateMethod:
    """The method called ``method``, checked: a known name (one that builds replicates
    when ``from_design``), and ``rho`` given to a method that uses it only.

    Raises
    ------
    ValidationError
        Naming the method given, the closest known name and the methods to choose from.
    """
    entry = REPLICATE_METHODS.get(method) if isinstance(method, str) else None
    choices = [m for m in REPLICATE_METHODS.values() if m.from_design or not from_design]
    if entry is None or entry not in choices:
        if entry is not None:  # a method of delivered weights only
            found = (
                f"method={method!r} ({entry.description}) is for delivered replicate weights "
                "(ReplicateDesign(..., method=)), not for replicates built from a design."
            )
        else:
            close = closest_name(method, [m.name for m in choices])
            found = f"method={method!r} is not known." + (
                f" Did you mean {close!r}?" if close else ""
            )
        names = ", ".join(repr(m.name) for m in choices)
        raise ValidationError(f"{found} Use one of {names}.")
    if rho is not None and not entry.uses_rho:
        users = " or ".join(f"method={n!r}" for n, m in REPLICATE_METHODS.items() if m.uses_rho)
        raise ValidationError(
            f"rho= is used by {users} only; method={method!r} was given with rho={rho!r}. "
            f"Drop rho= or use {users}."
        )
    return entry
