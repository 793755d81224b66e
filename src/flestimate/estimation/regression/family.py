"""GLM families and links, as R's ``stats::family`` objects (the functions IRLS needs).

A :class:`Family` holds the variance function, the deviance residuals, the starting
values and a :class:`Link` (link, inverse link and its derivative). The clamps of the
inverse links are R's (``binomial()$linkinv`` keeps fitted probabilities inside
``[eps, 1 - eps]``), so that fits agree with ``glm`` to rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# scipy.special, not scipy.stats (the same normal functions; scipy.stats costs a second of
# import time on the first fit, as in estimation/cimethods.py)
from scipy import special

from flestimate.errors import ValidationError, closest_name

__all__ = ["FAMILIES", "LINKS", "Family", "Link", "get_family"]

_EPS = np.finfo(float).eps
_THRESH = -np.log(_EPS)  # R's logit_linkinv threshold
_PROBIT_THRESH = -special.ndtri(_EPS)
_SQRT_2PI = np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class Link:
    """A link function ``eta = link(mu)`` with its inverse and ``d mu / d eta``."""

    name: str
    link: Callable[[np.ndarray], np.ndarray]
    linkinv: Callable[[np.ndarray], np.ndarray]
    mu_eta: Callable[[np.ndarray], np.ndarray]


def _logit_inv(eta: np.ndarray) -> np.ndarray:
    return special.expit(np.clip(eta, -_THRESH, _THRESH))


def _logit_mu_eta(eta: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(eta))
    return np.maximum(e / (1.0 + e) ** 2, _EPS)


def _cloglog_inv(eta: np.ndarray) -> np.ndarray:
    return np.clip(-np.expm1(-np.exp(np.minimum(eta, 700.0))), _EPS, 1.0 - _EPS)


def _cloglog_mu_eta(eta: np.ndarray) -> np.ndarray:
    e = np.minimum(eta, 700.0)
    return np.maximum(np.exp(e) * np.exp(-np.exp(e)), _EPS)


LINKS: dict[str, Link] = {
    "identity": Link("identity", lambda mu: mu, lambda eta: eta, np.ones_like),
    "log": Link(
        "log", np.log, lambda eta: np.maximum(np.exp(eta), _EPS),
        lambda eta: np.maximum(np.exp(eta), _EPS),
    ),
    "logit": Link("logit", special.logit, _logit_inv, _logit_mu_eta),
    "probit": Link(
        "probit", special.ndtri,
        lambda eta: special.ndtr(np.clip(eta, -_PROBIT_THRESH, _PROBIT_THRESH)),
        lambda eta: np.maximum(np.exp(-(eta**2) / 2.0) / _SQRT_2PI, _EPS),
    ),
    "cloglog": Link(
        "cloglog", lambda mu: np.log(-np.log1p(-mu)), _cloglog_inv, _cloglog_mu_eta
    ),
}  # fmt: skip


def _ylogy(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y > 0, y * np.log(y / mu), 0.0)


def _binomial_dev(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 2.0 * w * (_ylogy(y, mu) + _ylogy(1.0 - y, 1.0 - mu))


def _poisson_dev(y: np.ndarray, mu: np.ndarray, w: np.ndarray) -> np.ndarray:
    return 2.0 * w * (_ylogy(y, mu) - (y - mu))


@dataclass(frozen=True)
class Family:
    """A GLM family with its link (R's ``family`` object).

    Attributes
    ----------
    name : str
        ``"gaussian"``, ``"binomial"``, ``"quasibinomial"``, ``"poisson"`` or
        ``"quasipoisson"``.
    link : Link
    variance : callable
        :math:`V(\\mu)`.
    deviance_residuals : callable
        ``(y, mu, w) -> w * d(y, mu)``, summing to the deviance.
    start : callable
        ``(y, w) -> mu`` starting fitted values (R's ``initialize``).
    outcome : str
        ``"any"``, ``"proportion"`` (values in [0, 1]) or ``"count"`` (>= 0).
    fixed_dispersion : bool
        Binomial and Poisson: the dispersion is 1 (the design effect's denominator).
    """

    name: str
    link: Link
    variance: Callable[[np.ndarray], np.ndarray]
    deviance_residuals: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    start: Callable[[np.ndarray, np.ndarray], np.ndarray]
    outcome: str
    fixed_dispersion: bool


_SPECS = {
    # name: (variance, deviance residuals, start, outcome, default link, links, fixed)
    "gaussian": (
        np.ones_like, lambda y, mu, w: w * (y - mu) ** 2, lambda y, w: y, "any",
        "identity", ("identity", "log"), False,
    ),
    "binomial": (
        lambda mu: mu * (1.0 - mu), _binomial_dev, lambda y, w: (w * y + 0.5) / (w + 1.0),
        "proportion", "logit", ("logit", "probit", "cloglog", "log", "identity"), True,
    ),
    "poisson": (
        lambda mu: mu, _poisson_dev, lambda y, w: y + 0.1, "count", "log",
        ("log", "identity"), True,
    ),
}  # fmt: skip
FAMILIES = ("gaussian", "binomial", "quasibinomial", "poisson", "quasipoisson")


def get_family(family: str | Family, link: str | None = None) -> Family:
    """The :class:`Family` of a name and link (None: the canonical link)."""
    if isinstance(family, Family):
        return family
    name = str(family).lower()
    if name not in FAMILIES:
        hint = closest_name(name, FAMILIES)
        raise ValidationError(
            f"family={family!r} is not known"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f". Use one of {', '.join(FAMILIES)}."
        )
    base = name.removeprefix("quasi")
    variance, dev, start, outcome, default, links, fixed = _SPECS[base]
    link_name = default if link is None else str(link).lower()
    if link_name not in links:
        raise ValidationError(
            f"link={link!r} is not available for family {name!r}. Use one of {', '.join(links)}."
        )
    return Family(
        name=name, link=LINKS[link_name], variance=variance, deviance_residuals=dev,
        start=start, outcome=outcome, fixed_dispersion=fixed and not name.startswith("quasi"),
    )  # fmt: skip
