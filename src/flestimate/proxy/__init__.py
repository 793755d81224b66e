"""Proxy (family) reports: prevalence and counts with network multiplicity.

Respondents report on themselves and on members of their immediate family; a person can
be reported by several respondents, so each report is weighted by one over the number
of people who could have reported that person (Sirken 1970; the generalised weight
share method):

- :func:`multiplicity_prevalence`: prevalence per 1,000 (an EstimateTable);
- :func:`multiplicity_total`: the number of people with the outcome.
"""

from __future__ import annotations

from flestimate.proxy.multiplicity import multiplicity_prevalence, multiplicity_total

__all__ = ["multiplicity_prevalence", "multiplicity_total"]
