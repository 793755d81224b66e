"""Multiple systems estimation: the number of victims known to no list.

Several agencies (police, NGOs, local authorities, ...) each keep a list of the victims
they meet. How the lists overlap tells how many victims no list recorded — the "dark
figure". :func:`fit` estimates it with Poisson log-linear models over all capture
patterns, chooses the list interactions (SparseMSE's stepwise rule, AIC or BIC) while
showing every model it considered, checks that the estimate exists
(Fienberg-Rinaldo), and gives profile-likelihood and parametric bootstrap intervals,
by stratum and summed.

>>> from flestimate import mse
>>> r = mse.fit(mse.uk_2013(), lists=["LA", "NG", "PF", "GO", "GP", "NCA"])
>>> round(r.total)
12214

The modules: :mod:`~flestimate.mse.tables` (data in, validation),
:mod:`~flestimate.mse.models` (design, batched IRLS, statsmodels route),
:mod:`~flestimate.mse.identify` (existence and identifiability),
:mod:`~flestimate.mse.select` (selection, averaging), :mod:`~flestimate.mse.intervals`
(profile, Wald), :mod:`~flestimate.mse.bootstrap` (percentile, BCa),
:mod:`~flestimate.mse.result` (:class:`MSEResult`), :mod:`~flestimate.mse.simulate`
(lists with known truth) and :mod:`~flestimate.mse.study` (the simulation study).
"""

from flestimate.mse.estimate import CI_METHODS, fit
from flestimate.mse.identify import Identifiability, check_model
from flestimate.mse.result import MSEResult
from flestimate.mse.select import SELECT_METHODS
from flestimate.mse.simulate import SimulatedLists, simulate_lists
from flestimate.mse.tables import CaptureTable, capture_tables, uk_2013

__all__ = [
    "CI_METHODS",
    "SELECT_METHODS",
    "CaptureTable",
    "Identifiability",
    "MSEResult",
    "SimulatedLists",
    "capture_tables",
    "simulate_lists",
    "check_model",
    "fit",
    "uk_2013",
]
