"""Derivatives of ``math`` functions, their NumPy equivalents, and the numeric builtins.

The formulas use NumPy functions because they compile for floats and arrays alike.
Each rule: ``(g, ans, *args)`` -> the contribution to each argument's adjoint.
"""

import math

import numpy as np

from .. import kernels_fastmath as fm
from ..kernels import as_float, finite_or_zero, log_or_zero, pow_dx, ratio_or_zero, snapshot
from . import derivative, nondifferentiable

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@derivative(math.exp, np.exp, fm.exp)
def exp(g, ans, x):
    return g * ans


@derivative(math.expm1, np.expm1, fm.expm1)
def expm1(g, ans, x):
    return g * (ans + 1.0)


@derivative(np.exp2)
def exp2(g, ans, x):
    return g * ans * np.log(2.0)


@derivative(math.log, np.log, fm.log)
def log(g, ans, x):
    return g / x


@derivative(math.log2, np.log2)
def log2(g, ans, x):
    return g / (x * np.log(2.0))


@derivative(math.log10, np.log10)
def log10(g, ans, x):
    return g / (x * np.log(10.0))


@derivative(math.log1p, np.log1p, fm.log1p)
def log1p(g, ans, x):
    return g / (1.0 + x)


@derivative(np.reciprocal)
def reciprocal(g, ans, x):
    return -g * ans * ans


@derivative(math.sqrt, np.sqrt)
def sqrt(g, ans, x):
    return g * (0.5 / ans)  # the division waits for ans only, not for the adjoint's chain


@derivative(np.cbrt)
def cbrt(g, ans, x):
    return g / (3.0 * ans * ans)


@derivative(np.square)
def square(g, ans, x):
    return g * 2.0 * x


@derivative(math.pow, np.power)
def power(g, ans, x, y):
    return g * pow_dx(x, y), g * ans * log_or_zero(x)


@derivative(math.sin, np.sin)
def sin(g, ans, x):
    return g * np.cos(x)


@derivative(math.cos, np.cos)
def cos(g, ans, x):
    return -g * np.sin(x)


@derivative(math.tan, np.tan)
def tan(g, ans, x):
    return g * (1.0 + ans * ans)


@derivative(math.asin, np.arcsin)
def asin(g, ans, x):
    return g / np.sqrt(1.0 - x * x)


@derivative(math.acos, np.arccos)
def acos(g, ans, x):
    return -g / np.sqrt(1.0 - x * x)


@derivative(math.atan, np.arctan)
def atan(g, ans, x):
    return g / (1.0 + x * x)


@derivative(math.atan2, np.arctan2)
def atan2(g, ans, y, x):
    return g * x / (x * x + y * y), -g * y / (x * x + y * y)


@derivative(math.sinh, np.sinh)
def sinh(g, ans, x):
    return g * np.cosh(x)


@derivative(math.cosh, np.cosh)
def cosh(g, ans, x):
    return g * np.sinh(x)


@derivative(math.tanh, np.tanh, fm.tanh)
def tanh(g, ans, x):
    return g * (1.0 - ans * ans)


@derivative(math.asinh, np.arcsinh)
def asinh(g, ans, x):
    return g / np.sqrt(x * x + 1.0)


@derivative(math.acosh, np.arccosh)
def acosh(g, ans, x):
    return g / np.sqrt(x * x - 1.0)


@derivative(math.atanh, np.arctanh)
def atanh(g, ans, x):
    return g / (1.0 - x * x)


@derivative(math.hypot, np.hypot)
def hypot(g, ans, x, y):
    return g * ratio_or_zero(x, ans), g * ratio_or_zero(y, ans)


@derivative(math.erf)
def erf(g, ans, x):
    return g * TWO_OVER_SQRT_PI * np.exp(-x * x)


@derivative(math.erfc)
def erfc(g, ans, x):
    return -g * TWO_OVER_SQRT_PI * np.exp(-x * x)


@derivative(abs, math.fabs, np.abs, np.fabs)
def fabs(g, ans, x):
    return g * np.sign(x)


@derivative(max, np.maximum, np.fmax)
def maximum(g, ans, x, y):
    return g * (x >= y), g * (x < y)


@derivative(min, np.minimum, np.fmin)
def minimum(g, ans, x, y):
    return g * (x <= y), g * (x > y)


@derivative(float, np.float64, np.float32, as_float, snapshot)
def to_float(g, ans, x):
    return g  # np.float32 rounds: the derivative of the number it rounds, as for float


nondifferentiable(
    math.floor, math.ceil, math.trunc, round, int, np.floor, np.ceil, np.trunc, np.round,
    np.rint, np.sign, len, math.isnan, math.isinf, math.isfinite, np.isnan, np.isinf, np.isfinite,
)


# The helpers that derivative formulas call, differentiated in turn (second derivatives: the
# reverse mode of forward-mode code).

@derivative(pow_dx)
def pow_dx_rule(g, ans, x, y):
    return g * y * pow_dx(x, y - 1.0), g * x ** (y - 1.0) * (1.0 + y * log_or_zero(x))


@derivative(log_or_zero)
def log_or_zero_rule(g, ans, x):
    return g * ratio_or_zero(1.0, x)


@derivative(finite_or_zero)
def finite_or_zero_rule(g, ans, x):
    return g * (ans == x)


@derivative(ratio_or_zero)
def ratio_or_zero_rule(g, ans, a, b):
    return g * ratio_or_zero(1.0, b), -g * ratio_or_zero(ans, b)
