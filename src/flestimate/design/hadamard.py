"""Hadamard matrices for balanced repeated replication (BRR, Fay) and SDR.

Matrices are returned in 0/1 form (1 stands for +1, 0 for -1), with a first row
of ones, as R survey's ``hadamard()``; :func:`hadamard` picks the same order and
the same construction as R survey 4.1 (Sylvester doubling, Paley's quadratic
residue construction), so BRR replicate weights built from a design match R's.

The one exception: for the orders 28 and 36 (and their doublings), R uses two
matrices stored from N. J. A. Sloane's library; flestimate builds matrices of
the same orders with Paley's second construction instead. The replicate columns
then differ from R's, while BRR variances of totals (and of any linear
statistic) are identical, since both matrices have full orthogonal balance.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np

from flestimate.errors import ValidationError

__all__ = ["hadamard", "is_hadamard", "paley", "paley2", "sylvester"]

# orders of R survey's stored matrices; flestimate builds its own of these orders
_BASE_ORDERS = (4, 16, 28, 36)
# R survey's Paley construction uses primes p = 3 (mod 4) up to this bound
_MAX_PRIME = 7919


@lru_cache(maxsize=1)
def _primes_3_mod_4() -> np.ndarray:
    """Primes p <= 7919 with p = 3 (mod 4), ascending."""
    sieve = np.ones(_MAX_PRIME + 1, dtype=bool)
    sieve[:2] = False
    for i in range(2, int(_MAX_PRIME**0.5) + 1):
        if sieve[i]:
            sieve[i * i :: i] = False
    primes = np.flatnonzero(sieve)
    return primes[primes % 4 == 3]


def _double(h: np.ndarray) -> np.ndarray:
    """Sylvester doubling in 0/1 form: [[H, H], [H, 1 - H]]."""
    return np.block([[h, h], [h, 1 - h]])


def sylvester(order: int) -> np.ndarray:
    """Sylvester's Hadamard matrix of order ``order`` (a power of 2), 0/1 form.

    Notes
    -----
    :math:`H_1 = (1)`, :math:`H_{2m} = \\begin{pmatrix} H_m & H_m \\\\ H_m & -H_m
    \\end{pmatrix}` (in 0/1 form, :math:`-H` is :math:`1 - H`).

    References
    ----------
    Sylvester, J. J. (1867). Thoughts on inverse orthogonal matrices. Philosophical
    Magazine 34, 461-475.
    """
    if order < 1 or order & (order - 1):
        raise ValidationError(
            f"order={order} is not a power of 2. Sylvester matrices have order 1, 2, 4, 8, ..."
        )
    h = np.ones((1, 1), dtype=np.int8)
    while h.shape[0] < order:
        h = _double(h)
    return h


def _is_prime(p: int) -> bool:
    if p < 2:
        return False
    return all(p % d for d in range(2, int(p**0.5) + 1))


def _quadratic_character(p: int) -> np.ndarray:
    """Legendre symbol chi(a) for a = 0..p-1 (chi(0) = 0, 1 for residues, -1 otherwise)."""
    chi = -np.ones(p, dtype=np.int64)
    chi[(np.arange(1, p) ** 2) % p] = 1
    chi[0] = 0
    return chi


def paley(prime: int) -> np.ndarray:
    """Paley's first construction: a Hadamard matrix of order ``prime + 1``, 0/1 form.

    Parameters
    ----------
    prime : int
        A prime with ``prime % 4 == 3``.

    Notes
    -----
    Entry (i, j), i, j = 0..p-1, of the core is 1 when (i + j) mod p is 0 or a
    quadratic residue mod p and 0 otherwise; a first row and column of ones
    border it. This is the matrix of R survey's ``paley(prime=p)``.

    References
    ----------
    Paley, R. E. A. C. (1933). On orthogonal matrices. Journal of Mathematics and
    Physics 12, 311-320.
    """
    p = int(prime)
    if p % 4 != 3 or not _is_prime(p):
        raise ValidationError(
            f"prime={prime} is not a prime with prime % 4 == 3. Paley's first construction "
            "needs such a prime (3, 7, 11, 19, ...)."
        )
    residues = np.zeros(p, dtype=bool)
    residues[(np.arange(1, (p - 1) // 2 + 1) ** 2) % p] = True
    residues[0] = True
    idx = np.add.outer(np.arange(p), np.arange(p)) % p
    core = np.where(residues[idx], 0, 1).astype(np.int8)
    out = np.ones((p + 1, p + 1), dtype=np.int8)
    out[1:, 1:] = core
    return out


def paley2(q: int) -> np.ndarray:
    """Paley's second construction: a Hadamard matrix of order ``2 (q + 1)``, 0/1 form.

    Parameters
    ----------
    q : int
        A prime with ``q % 4 == 1``.

    Notes
    -----
    With the Jacobsthal matrix :math:`Q_{ij} = \\chi(j - i)` and the symmetric
    conference matrix :math:`C = \\begin{pmatrix} 0 & 1^T \\\\ 1 & Q \\end{pmatrix}`,
    :math:`H = C \\otimes \\begin{pmatrix} 1 & 1 \\\\ 1 & -1 \\end{pmatrix} + I \\otimes
    \\begin{pmatrix} 1 & -1 \\\\ -1 & -1 \\end{pmatrix}`; columns are then negated
    so that the first row is all ones.

    References
    ----------
    Paley, R. E. A. C. (1933). On orthogonal matrices. Journal of Mathematics and
    Physics 12, 311-320.
    """
    q = int(q)
    if q % 4 != 1 or not _is_prime(q):
        raise ValidationError(
            f"q={q} is not a prime with q % 4 == 1. Paley's second construction needs such a "
            "prime (5, 13, 17, ...)."
        )
    chi = _quadratic_character(q)
    jac = chi[(np.arange(q)[None, :] - np.arange(q)[:, None]) % q]
    conf = np.zeros((q + 1, q + 1), dtype=np.int64)
    conf[0, 1:] = 1
    conf[1:, 0] = 1
    conf[1:, 1:] = jac
    h = np.kron(conf, np.array([[1, 1], [1, -1]])) + np.kron(
        np.eye(q + 1, dtype=np.int64), np.array([[1, -1], [-1, -1]])
    )
    h = h * h[0][None, :]  # first row of ones
    return ((h + 1) // 2).astype(np.int8)


@cache
def _base(k: int) -> np.ndarray:
    order = _BASE_ORDERS[k]
    if order in (4, 16):
        return sylvester(order)
    return paley2(13 if order == 28 else 17)


def _paley_r(n: int, nmax: int) -> np.ndarray | None:
    """R survey's ``paley(n, nmax)`` search: a Paley matrix (possibly doubled) or None."""
    primes = _primes_3_mod_4()
    nceil = nn = n + 4 - (n % 4)
    if (n % 4) + 4 == (n % 8):
        while nn % 8 == 0:
            nn //= 2
        if nn - 1 in primes:
            m = paley(nn - 1)
            while nn < nceil:
                m = _double(m)
                nn *= 2
            return m
    if n > primes[-1]:
        return None
    p = int(primes[primes >= n][0])
    if p + 1 > nceil + 4 and nceil + 4 < nmax:
        return _paley_r(nceil + 3, 2 * (nceil + 3))
    if p > nmax:
        return None
    return paley(p)


def hadamard(n: int) -> np.ndarray:
    """A Hadamard matrix of order greater than ``n``, chosen as R survey's ``hadamard(n)``.

    Parameters
    ----------
    n : int
        Number of rows needed besides the first (for BRR: the number of strata).

    Returns
    -------
    ndarray (m, m) of int8 in 0/1 form (1 for +1), first row all ones, m > n.

    Notes
    -----
    With :math:`m_0 = n - (n \\bmod 4)`: if one of the base orders 4, 16, 28, 36
    lies in :math:`(m_0, m_0 + 4]` it is used. Otherwise each base order is
    doubled until it exceeds n; when the best doubled order exceeds n by more than
    4, Paley's construction (possibly doubled) is tried first, as R.

    References
    ----------
    Lumley, T. survey R package, ``hadamard`` and ``paley``.
    Wolter, K. M. (2007). Introduction to Variance Estimation, 2nd ed., Springer, ch. 3.
    """
    n = int(n)
    if n < 0:
        raise ValidationError(f"n={n} is negative. Give the number of rows needed (>= 0).")
    return _hadamard_cached(n).copy()


@lru_cache(maxsize=64)
def _hadamard_cached(n: int) -> np.ndarray:
    sizes = np.array(_BASE_ORDERS)
    m = n - (n % 4)
    pre = np.flatnonzero((m < sizes) & (m + 4 >= sizes))
    if pre.size:
        return _base(int(pre[0]))
    doubled = sizes * 2 ** np.maximum(0, np.ceil(np.log2((n + 1) / sizes))).astype(np.int64)
    best = int(np.argmin(doubled - n))
    h = None
    if doubled[best] - n > 4:
        h = _paley_r(n, int(doubled[best]))
    if h is None:
        h = _base(best)
        while h.shape[0] < doubled[best]:
            h = _double(h)
    return h


def is_hadamard(h: np.ndarray, *, full_orthogonal_balance: bool = True) -> bool:
    """Whether ``h`` (0/1 form) is a Hadamard matrix (optionally with balanced rows 2..m).

    Notes
    -----
    With :math:`S = 2H - 1`: :math:`S^T S = m I`; full orthogonal balance also asks
    that every row but the first sums to 0.
    """
    h = np.asarray(h)
    if h.ndim != 2 or h.shape[0] != h.shape[1] or not np.isin(h, (0, 1)).all():
        return False
    s = 2 * h.astype(np.int64) - 1
    m = s.shape[0]
    ok = np.array_equal(s.T @ s, m * np.eye(m, dtype=np.int64))
    if full_orthogonal_balance:
        ok = ok and int(s[1:].sum()) == 0
    return bool(ok)
