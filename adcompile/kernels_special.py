"""Elementwise kernels for special functions: what the forward sweep calls where Numba cannot
compile the user's function (``scipy.special.expit``, ``np.heaviside``), and the derivatives
that need more care than one NumPy expression (``digamma``, the derivative of ``np.sinc``).

Each kernel is a Numba ufunc (``numba.vectorize``, compiled per argument type on first use and
cached on disk): one definition serves floats and arrays of any rank with NumPy's broadcasting,
from Python and from compiled code.  The scalar algorithms are plain loops; none imports SciPy.
"""

from __future__ import annotations

import math

from numba import njit, vectorize

__all__ = ["digamma", "erf", "erfc", "expit", "gamma", "gammaln", "heaviside", "log_expit",
           "polygamma", "sinc_dx", "sinc_dx2", "xdivy", "xlog1py", "xlogy"]

#: The positive zero of digamma, where a Taylor series replaces the recurrence (whose terms
#: cancel there), and digamma's value at it (SciPy's constants).
DIGAMMA_ROOT = 1.4616321449683623
DIGAMMA_ROOT_VALUE = -9.2412655217294275e-17
#: (-1)^(n+1) zeta(n + 1, root) for n = 1, ...: the Taylor coefficients of digamma at its root.
DIGAMMA_ROOT_SERIES = (
    0.9676722454476214, -0.44276316898359214, 0.2584997609556512, -0.16394270544240658,
    0.10782405069126239, -0.07219956125645476, 0.048804288164143145, -0.033161126474847376,
    0.022597648232218125, -0.015424765904948968, 0.010538791616612182, -0.007204534386356875,
    0.004926781395729858, -0.0033698016554393317, 0.00230512632673493, -0.0015769367714301987,
    0.0010788252019162975, -0.000738070938996006, 0.0005049532658346026,
    -0.0003454680251063082,
)
#: Bernoulli numbers B_2, B_4, ..., B_20 (the asymptotic series of the polygamma functions).
BERNOULLI = (1.0 / 6.0, -1.0 / 30.0, 1.0 / 42.0, -1.0 / 30.0, 5.0 / 66.0, -691.0 / 2730.0,
             7.0 / 6.0, -3617.0 / 510.0, 43867.0 / 798.0, -174611.0 / 330.0)
#: Where the asymptotic series take over from the recurrence.
ASYMPTOTIC = 12.0


@njit(cache=True)
def _digamma(x):
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == 0.0:  # the sign of zero says from which side: -inf at +0, +inf at -0
        return -math.inf if math.copysign(1.0, x) > 0 else math.inf
    shift = 0.0
    if x < 0.0:
        if x == math.floor(x):
            return math.nan
        # reflection: psi(x) = psi(1 - x) - pi / tan(pi x), with pi x reduced to a period
        shift = -math.pi / math.tan(math.pi * (x - round(x)))
        x = 1.0 - x
    if abs(x - DIGAMMA_ROOT) < 0.2:
        z = x - DIGAMMA_ROOT
        total = 0.0
        for k in range(len(DIGAMMA_ROOT_SERIES) - 1, -1, -1):
            total = (total + DIGAMMA_ROOT_SERIES[k]) * z
        return shift + DIGAMMA_ROOT_VALUE + total
    while x < ASYMPTOTIC:  # psi(x) = psi(x + 1) - 1 / x
        shift -= 1.0 / x
        x += 1.0
    inv2 = 1.0 / (x * x)
    tail = 0.0
    power = inv2
    for k in range(8):  # - sum B_2k / (2k x^2k)
        tail -= BERNOULLI[k] / (2.0 * (k + 1)) * power
        power *= inv2
    return shift + math.log(x) - 0.5 / x + tail


@njit(cache=True)
def _polygamma(n, x):
    """The n-th derivative of digamma (n >= 1): the recurrence up to the asymptotic series;
    trigamma by reflection for negative x."""
    if math.isnan(x) or x == -math.inf:
        return math.nan
    if x == math.inf:
        return 0.0
    sign = 1.0 if n % 2 == 1 else -1.0  # (-1)^(n + 1)
    if x <= 0.0 and x == math.floor(x):
        return math.inf if n % 2 == 1 else -math.inf
    shift = 0.0
    if n == 1 and x < 0.0:  # psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)
        s = math.sin(math.pi * (x - round(x)))
        shift = math.pi * math.pi / (s * s)
        sign = -1.0
        x = 1.0 - x
    factorial = 1.0  # n!
    for k in range(2, n + 1):
        factorial *= k
    start = ASYMPTOTIC + 2.0 * n
    while x < start:  # psi_n(x) = psi_n(x + 1) - (-1)^n n! / x^(n + 1)
        shift += sign * factorial / x ** (n + 1)
        x += 1.0
    # (-1)^(n+1) [(n-1)!/x^n + n!/(2 x^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! x^(2k+n))]
    inv = 1.0 / x
    total = factorial / n * inv ** n + 0.5 * factorial * inv ** (n + 1)
    ratio = factorial / n  # (2k + n - 1)! / (2k)!, from k = 0
    power = inv ** n
    for k in range(1, len(BERNOULLI) + 1):
        ratio *= (2 * k + n - 2) * (2 * k + n - 1) / ((2.0 * k - 1.0) * 2.0 * k)
        power *= inv * inv
        total += BERNOULLI[k - 1] * ratio * power
    return shift + sign * total


@vectorize(cache=True)
def digamma(x):
    """psi(x) = d log Gamma(x) / dx (SciPy's ``digamma``, ``psi``), to ~1e-15 relative."""
    return _digamma(float(x))


@vectorize(cache=True)
def polygamma(n, x):
    """The n-th derivative of digamma (``polygamma(0, x)`` is digamma, 1 trigamma)."""
    if n == 0:
        return _digamma(float(x))
    if n < 0:
        return math.nan
    return _polygamma(n, float(x))


@vectorize(cache=True)
def gamma(x):
    return math.gamma(float(x))


@vectorize(cache=True)
def gammaln(x):
    """log |Gamma(x)| (``inf`` at the poles)."""
    return math.lgamma(float(x))


@vectorize(cache=True)
def erf(x):
    return math.erf(float(x))


@vectorize(cache=True)
def erfc(x):
    return math.erfc(float(x))


@vectorize(cache=True)
def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), without overflow on either side."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@vectorize(cache=True)
def log_expit(x):
    """log(expit(x)) = -log(1 + exp(-x)), accurate for large |x| of either sign."""
    if x >= 0:
        return -math.log1p(math.exp(-x))
    return x - math.log1p(math.exp(x))


@vectorize(cache=True)
def xlogy(x, y):
    """x * log(y), and 0 where x == 0 (unless y is nan), as SciPy defines it."""
    if x == 0 and not math.isnan(y):
        return 0.0
    return x * math.log(y) if y > 0 else (x * -math.inf if y == 0 else math.nan)


@vectorize(cache=True)
def xlog1py(x, y):
    """x * log(1 + y), and 0 where x == 0 (unless y is nan)."""
    if x == 0 and not math.isnan(y):
        return 0.0
    return x * math.log1p(y) if y > -1 else (x * -math.inf if y == -1 else math.nan)


@vectorize(cache=True)
def xdivy(x, y):
    """x / y, and 0 where x == 0 (unless y is nan): the derivative of ``xlogy`` in y."""
    if x == 0 and not math.isnan(y):
        return 0.0
    if y == 0:
        return math.nan if math.isnan(x) else math.copysign(math.inf, x) * math.copysign(1.0, y)
    return x / y


@vectorize(cache=True)
def heaviside(x1, x2):
    """NumPy's step function: 0 below zero, 1 above, ``x2`` at zero (nan at nan)."""
    if math.isnan(x1):
        return math.nan
    if x1 < 0:
        return 0.0
    if x1 > 0:
        return 1.0
    return float(x2)


@vectorize(cache=True)
def sinc_dx(x):
    """The derivative of NumPy's normalized sinc, sin(pi x) / (pi x): a series near 0 (where
    the closed form cancels), exactly 0 at 0."""
    z = math.pi * x
    if abs(z) < 0.1:  # pi * sum_n (-1)^n 2n z^(2n-1) / (2n+1)!
        z2 = z * z
        return math.pi * z * (-1.0 / 3.0 + z2 * (1.0 / 30.0 + z2 * (
            -1.0 / 840.0 + z2 * (1.0 / 45360.0))))
    return math.pi * (z * math.cos(z) - math.sin(z)) / (z * z)


@vectorize(cache=True)
def sinc_dx2(x):
    """The second derivative of NumPy's normalized sinc."""
    z = math.pi * x
    if abs(z) < 0.1:  # pi^2 * sum_n (-1)^n 2n (2n-1) z^(2n-2) / (2n+1)!
        z2 = z * z
        return math.pi * math.pi * (-1.0 / 3.0 + z2 * (1.0 / 10.0 + z2 * (
            -1.0 / 168.0 + z2 * (1.0 / 6480.0 + z2 * (-1.0 / 443520.0)))))
    return math.pi * math.pi * ((2.0 - z * z) * math.sin(z) - 2.0 * z * math.cos(z)) / (
        z * z * z)
