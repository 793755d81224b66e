"""The lonely-PSU rules: what the variance does with a stratum holding a single sampled PSU.

Declared once, in :data:`LONELY_PSU_RULES`, and read by everything that names a
rule: :class:`~flestimate.design.SurveyDesign` (``lonely_psu=``), the variance
kernel and the replicate builders that apply it, and (without loading them) the
configuration's validation. The meanings are R survey's ``options(survey.lonely.psu=)``; the
formulas are in :mod:`flestimate.design.kernel`. Importing this module loads
nothing beyond :mod:`flestimate.errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from flestimate.errors import DesignError, closest_name

__all__ = ["LONELY_PSU_RULES", "check_lonely_psu", "lonely_psu_choices"]

#: The rules by name, each with one line for messages and the documentation.
LONELY_PSU_RULES: Mapping[str, str] = MappingProxyType(
    {
        "fail": "stop with a DesignError naming the strata; the default",
        "remove": "the stratum adds no variance",
        "certainty": "the stratum is taken as sampled with certainty: it adds no variance",
        "adjust": "the lone PSU's total is centred at the average PSU total of the design",
        "average": "the variance is multiplied by H / (H - lonely strata)",
    }
)


def lonely_psu_choices(*, applied_only: bool = False) -> str:
    """The rules' names for a message: ``"'fail', 'remove', ... or 'average'"``.

    ``applied_only`` leaves out ``"fail"`` (the rules that give a variance).
    """
    names = [repr(n) for n in LONELY_PSU_RULES if not (applied_only and n == "fail")]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def check_lonely_psu(rule: Any) -> str:
    """``rule`` if it is a name of :data:`LONELY_PSU_RULES`, else a DesignError listing
    the rules and suggesting the closest name."""
    if isinstance(rule, str) and rule in LONELY_PSU_RULES:
        return rule
    close = closest_name(rule, LONELY_PSU_RULES)
    hint = f" Did you mean {close!r}?" if close else ""
    raise DesignError(
        f"lonely_psu={rule!r} is not a known rule.{hint} Use one of {lonely_psu_choices()}."
    )
