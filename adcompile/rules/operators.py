"""Derivatives of Python's arithmetic operators: ``+ - * / ** % //`` and unary ``- +``.

Each rule: ``(g, ans, *args)`` -> the contribution to each argument's adjoint, where ``g`` is the
adjoint of the result and ``ans`` the result.
"""

import operator

import numpy as np

from ..kernels import accumulate, finite_or_zero, log_or_zero, pow_dx, power
from . import derivative, nondifferentiable


@derivative(operator.add, accumulate)  # accumulate(d, e) is d + e (of a gradient's sum)
def add(g, ans, x, y):
    return g, g


@derivative(operator.sub)
def sub(g, ans, x, y):
    return g, -g


@derivative(operator.mul)
def mul(g, ans, x, y):
    return g * finite_or_zero(y), g * finite_or_zero(x)  # inf * y is a constant


@derivative(operator.truediv)
def truediv(g, ans, x, y):
    return g / y, -(g / y) * finite_or_zero(ans)  # an infinite quotient is a constant


@derivative(operator.pow, power)
def pow(g, ans, x, y):
    return g * pow_dx(x, y), g * ans * log_or_zero(x)


@derivative(operator.mod)
def mod(g, ans, x, y):
    return g, -g * np.floor(x / y)


@derivative(operator.neg)
def neg(g, ans, x):
    return -g


@derivative(operator.pos)
def pos(g, ans, x):
    return g


nondifferentiable(
    operator.floordiv, operator.not_,
    operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge,
)
