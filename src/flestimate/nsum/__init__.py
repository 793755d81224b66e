"""Network scale-up (NSUM): the size of a hidden population from a general-population survey.

Respondents are asked "how many people do you know who ...?" about populations of known
size (to estimate their network sizes) and about the hidden population. The estimate is
a ratio of two weighted totals, with its variance from the design:

- :func:`scale_up`: the basic and generalised scale-up estimates, by domains
  (an :class:`~flestimate.estimation.table.EstimateTable`);
- :func:`known_degrees`: each respondent's network size (Killworth's known-population
  estimate);
- :func:`internal_validation`: each known population estimated from the others;
- :func:`sensitivity`: the estimate over a grid of the generalised estimator's
  adjustment factors.
"""

from __future__ import annotations

from flestimate.nsum.degree import known_degrees
from flestimate.nsum.scale_up import scale_up
from flestimate.nsum.sensitivity import sensitivity
from flestimate.nsum.validation import internal_validation

__all__ = ["internal_validation", "known_degrees", "scale_up", "sensitivity"]
