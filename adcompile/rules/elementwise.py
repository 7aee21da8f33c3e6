"""NumPy's function forms of the operators, and more elementwise functions.

``np.add(x, y)`` means ``x + y``: such functions are defined as the operators they name
(``composite``), so they get the operators' derivatives, forward mode and every order for free,
and the generated code reads as if the user had written the operator.  The others are rules
``(g, ans, *args)``; where Numba has no implementation (``np.heaviside``) or the derivative
needs care (``np.sinc`` at 0), the kernels are in ``adcompile/kernels_special.py``.
"""

import math
import sys

import numpy as np

from ..kernels import log_or_zero, pow_dx
from ..kernels_fastmath import exp, logaddexp
from ..kernels_special import digamma, heaviside, polygamma, sinc_dx, sinc_dx2
from . import composite, derivative, implemented_by, nondifferentiable

DEGREE = math.pi / 180.0
RADIAN = 180.0 / math.pi
LOG2 = math.log(2.0)
LOWEST = -sys.float_info.max  # the result's floor in logaddexp's weights: exp(-inf - -inf)


# -- the operators' function forms: defined as the operators ------------------------------------

@composite(np.add)
def add(x1, x2):
    return x1 + x2


@composite(np.subtract)
def subtract(x1, x2):
    return x1 - x2


@composite(np.multiply)
def multiply(x1, x2):
    return x1 * x2


@composite(np.divide, np.true_divide)
def divide(x1, x2):
    return x1 / x2


@composite(np.negative)
def negative(x):
    return -x


@composite(np.positive)
def positive(x):
    return x * 1  # a new value, as NumPy's (+x would be the same array)


@composite(np.mod, np.remainder)
def remainder(x1, x2):
    return x1 % x2


@composite(np.matmul)
def matmul(x1, x2):
    return x1 @ x2


nondifferentiable(np.floor_divide)


# -- rules --------------------------------------------------------------------------------------

@derivative(np.float_power)
def float_power(g, ans, x, y):
    return g * pow_dx(x, y), g * ans * log_or_zero(x)


@derivative(np.fmod)
def fmod(g, ans, x, y):
    return g, -g * np.trunc(x / y)


@derivative(np.logaddexp, logaddexp)
def logaddexp_rule(g, ans, x, y):
    # exp: a vector loop for arrays; where both are -inf (a cell no path reaches, in a
    # forward recursion in log space) the weights are exp(-inf) = 0, not exp(nan)
    return g * exp(x - np.maximum(ans, LOWEST)), g * exp(y - np.maximum(ans, LOWEST))


@derivative(np.logaddexp2)
def logaddexp2(g, ans, x, y):
    return g * np.exp2(x - np.maximum(ans, LOWEST)), g * np.exp2(y - np.maximum(ans, LOWEST))


@derivative(np.deg2rad, np.radians)
def deg2rad(g, ans, x):
    return g * DEGREE


@derivative(np.rad2deg, np.degrees)
def rad2deg(g, ans, x):
    return g * RADIAN


@derivative(np.sinc)
def sinc(g, ans, x):
    return g * sinc_dx(x)


@derivative(sinc_dx)
def sinc_dx_rule(g, ans, x):
    return g * sinc_dx2(x)


@derivative(np.nan_to_num)
def nan_to_num(g, ans, x):
    return g * np.isfinite(x)


@derivative(np.nan_to_num)
def nan_to_num_copy(g, ans, x, copy):
    return g * np.isfinite(x), None


@derivative(np.nan_to_num)
def nan_to_num_nan(g, ans, x, copy, nan):
    return g * np.isfinite(x), None, g * np.isnan(x)


@derivative(np.nan_to_num)
def nan_to_num_posinf(g, ans, x, copy, nan, posinf):
    return g * np.isfinite(x), None, g * np.isnan(x), g * (x == np.inf)


@derivative(np.nan_to_num)
def nan_to_num_neginf(g, ans, x, copy, nan, posinf, neginf):
    return (g * np.isfinite(x), None, g * np.isnan(x), g * (x == np.inf),
            g * (x == -np.inf))


implemented_by(np.heaviside, heaviside)


@derivative(np.heaviside, heaviside)
def heaviside_rule(g, ans, x1, x2):
    """A step in ``x1`` (zero derivative off the step); the value at the step is ``x2``."""
    return g * 0.0, g * (x1 == 0.0)


@derivative(math.lgamma)
def lgamma(g, ans, x):
    return g * digamma(x)


@derivative(math.gamma)
def gamma(g, ans, x):
    return g * ans * digamma(x)


@derivative(digamma)
def digamma_rule(g, ans, x):
    return g * polygamma(1, x)


@derivative(polygamma)
def polygamma_rule(g, ans, n, x):
    return None, g * polygamma(n + 1, x)
