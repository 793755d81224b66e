"""Design-based regression: generalised linear models with design-based standard
errors (R's ``svyglm``), term tests, predictions and predictive margins.

- :mod:`.family`: families and links;
- :mod:`.formula`: the model matrix of a formula (formulaic);
- :mod:`.irls`: the weighted IRLS fit;
- :mod:`.fit`: ``glm`` (``design.glm``) and its design-based covariance;
- :mod:`.result`: :class:`RegressionResult`;
- :mod:`.inference`: ``term_test`` (R's ``regTermTest``, Wald and working LRT);
- :mod:`.margins`: predictions, predictive margins and average marginal effects.
"""

from __future__ import annotations

from flestimate.estimation.regression.fit import glm
from flestimate.estimation.regression.margins import predictive_margins
from flestimate.estimation.regression.result import RegressionResult

__all__ = ["RegressionResult", "glm", "predictive_margins"]
