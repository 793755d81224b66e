"""The ILO forced-labour frameworks, shipped as versioned YAML data.

Each framework lives in ``frameworks/<id>.yaml`` inside this package and is loaded into
frozen dataclasses. The classifier never hard-codes an indicator: it reads the roles,
dimensions and strengths from these objects, so a corrected indicator table is a data
change, not a code change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from flestimate.errors import MappingError, shown
from flestimate.io.safe_yaml import parse_yaml

__all__ = ["Dimension", "Framework", "FrameworkCatalogue", "Indicator", "frameworks",
           "get_framework"]

#: Roles an indicator can have. ``involuntary``: an involuntariness indicator (2012) or an
#: involuntary-work element (ICLS). ``penalty``: a menace-of-penalty indicator (2012) or a
#: coercion element (ICLS).
ROLES = ("involuntary", "penalty")
STRENGTHS = ("strong", "medium")


@dataclass(frozen=True)
class Indicator:
    """One canonical indicator of a framework.

    Attributes
    ----------
    id : str
        Canonical id, e.g. ``"UR-I4"``, ``"P1"`` or ``"ICLS-C1"``.
    role : str
        ``"involuntary"`` or ``"penalty"``.
    dimension : str or None
        Dimension id (``"UR"``, ``"WD"``, ``"IL"``) of an ilo-2012 involuntariness
        indicator; ``None`` for penalties (shared by all dimensions) and for icls-2018.
    strength : str or None
        ``"strong"`` or ``"medium"`` (ilo-2012); ``None`` when the framework has no grading.
    label : str
        Short description.
    evidence : str
        Evidence tag of the ILO-STANDARDS note (``S``, ``S2``, ``R``, ``I``).
    """

    id: str
    role: str
    dimension: str | None
    strength: str | None
    label: str
    evidence: str


@dataclass(frozen=True)
class Dimension:
    """A dimension of the ilo-2012 framework (e.g. unfree recruitment)."""

    id: str
    name: str
    evidence: str

    @property
    def column(self) -> str:
        """Name of the 0/1 output column, e.g. ``"fl_ur"``."""
        return f"fl_{self.id.lower()}"


@dataclass(frozen=True)
class Framework:
    """A forced-labour framework: its dimensions and indicators, with a data version.

    Attributes
    ----------
    id : str
        ``"ilo-2012"`` or ``"icls-2018"``.
    version : str
        Version of the framework data shipped with flestimate (recorded in every audit trail).
    title, source, evidence : str
        Provenance of the indicator list.
    dimensions : tuple of Dimension
        Empty for icls-2018 (one implicit group: involuntary work and coercion).
    indicators : tuple of Indicator
    """

    id: str
    version: str
    title: str
    source: str
    evidence: str
    dimensions: tuple[Dimension, ...]
    indicators: tuple[Indicator, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        """Canonical indicator ids, in framework order."""
        return tuple(ind.id for ind in self.indicators)

    @property
    def graded(self) -> bool:
        """Whether indicators carry a strong/medium grading."""
        return any(ind.strength is not None for ind in self.indicators)

    def indicator(self, indicator_id: str) -> Indicator:
        """Return the indicator with this canonical id (``KeyError`` if unknown)."""
        for ind in self.indicators:
            if ind.id == indicator_id:
                return ind
        raise KeyError(indicator_id)


def _parse(data: dict[str, Any], name: str) -> Framework:
    dims = tuple(
        Dimension(id=str(d["id"]), name=str(d["name"]), evidence=str(d.get("evidence", "")))
        for d in data.get("dimensions") or ()
    )
    dim_ids = {d.id for d in dims}
    inds = []
    for raw in data["indicators"]:
        ind = Indicator(
            id=str(raw["id"]),
            role=str(raw["role"]),
            dimension=raw.get("dimension"),
            strength=raw.get("strength"),
            label=str(raw.get("label", "")),
            evidence=str(raw.get("evidence", "")),
        )
        # the shipped files are data: check them as strictly as user input
        if ind.role not in ROLES:
            raise MappingError(f"framework file {name}: indicator {ind.id}: bad role {ind.role!r}")
        if ind.strength is not None and ind.strength not in STRENGTHS:
            raise MappingError(
                f"framework file {name}: indicator {ind.id}: bad strength {ind.strength!r}"
            )
        if ind.role == "involuntary" and dims and ind.dimension not in dim_ids:
            raise MappingError(
                f"framework file {name}: indicator {ind.id}: unknown dimension {ind.dimension!r}"
            )
        inds.append(ind)
    return Framework(
        id=str(data["id"]),
        version=str(data["version"]),
        title=str(data.get("title", "")),
        source=str(data.get("source", "")),
        evidence=str(data.get("evidence", "")),
        dimensions=dims,
        indicators=tuple(inds),
    )


@lru_cache(maxsize=1)
def _load_all() -> MappingProxyType:
    out = {}
    folder = resources.files("flestimate.indicators").joinpath("frameworks")
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            fw = _parse(parse_yaml(text, name=f"framework file {entry.name}", error=MappingError),
                        entry.name)
            out[fw.id] = fw
    return MappingProxyType(out)


class FrameworkCatalogue(Mapping):
    """The frameworks by id (a read-only mapping) that shows itself as a table:
    framework, version, indicator id, role, dimension and wording, one row per
    indicator (:meth:`to_frame`; text at a terminal, HTML in a notebook)."""

    def __init__(self, frameworks: Mapping[str, Framework]):
        self._fws = frameworks

    def __getitem__(self, key: str) -> Framework:
        return self._fws[key]

    def __iter__(self):
        return iter(self._fws)

    def __len__(self) -> int:
        return len(self._fws)

    def to_frame(self):
        """One row per indicator: ``framework``, ``version``, ``indicator``, ``role``,
        ``dimension`` (its name), ``strength`` and ``wording``."""
        import pandas as pd

        rows = []
        for fw in self._fws.values():
            names = {d.id: d.name for d in fw.dimensions}
            rows += [{"framework": fw.id, "version": fw.version, "indicator": i.id,
                      "role": i.role, "dimension": names.get(i.dimension or "", i.dimension or ""),
                      "strength": i.strength or "", "wording": i.label}
                     for i in fw.indicators]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        import pandas as pd

        frame = self.to_frame()
        heads = [f"{fw.id} (version {fw.version}): {fw.title}" for fw in self._fws.values()]
        with pd.option_context("display.max_colwidth", 70, "display.width", 200):
            body = frame.drop(columns=["version"]).to_string(index=False)
        return "\n".join([*heads, body])

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(index=False)


def frameworks() -> FrameworkCatalogue:
    """The frameworks shipped with flestimate, by id.

    Returns
    -------
    FrameworkCatalogue
        Read-only mapping ``{"icls-2018": Framework(...), "ilo-2012": Framework(...)}``
        that displays as a table of the indicators (``to_frame()``).

    Examples
    --------
    >>> from flestimate import frameworks
    >>> sorted(frameworks())
    ['icls-2018', 'ilo-2012']
    >>> frameworks()["ilo-2012"].indicator("UR-I1").strength
    'strong'
    """
    return FrameworkCatalogue(_load_all())


def get_framework(framework_id: str, *, where: str = "framework") -> Framework:
    """Return the framework ``framework_id`` or raise a :class:`MappingError` listing valid ids."""
    fws = _load_all()
    if not isinstance(framework_id, str) or framework_id not in fws:
        raise MappingError(
            f"{where}: unknown framework {shown(framework_id)}; valid frameworks: "
            f"{', '.join(sorted(fws))}."
        )
    return fws[framework_id]
