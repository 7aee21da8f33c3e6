"""Every derivative rule checked against a float64 central finite difference.

Each case is a one-line function over one primitive, compiled once by ``adc.grad`` with respect
to every parameter and evaluated at several points inside the primitive's domain.  The oracle is
a central difference of the plain Python function, so it knows nothing of the rules under test.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import math as m
import operator
from math import exp, sqrt
from math import sin as sine

import numpy as np
import pytest
from numpy import arctan2, tanh

import adcompile as adc
from adcompile import kernels_fastmath as fm
from adcompile import rules
from adcompile.kernels import (
    accumulate,
    as_float,
    finite_or_zero,
    log_or_zero,
    pow_dx,
    power,
    ratio_or_zero,
    snapshot,
)

#: A module-level float constant, read by differentiated code.
SCALE = 1.75

REL = 1e-6
ABS = 1e-8


# -- math.* -------------------------------------------------------------------------------------

def kernel_pow_dx(x, y):
    return pow_dx(x, y)


def kernel_log_or_zero(x):
    return log_or_zero(x)


def kernel_finite_or_zero(x):
    return finite_or_zero(x)


def kernel_ratio_or_zero(a, b):
    return ratio_or_zero(a, b)


def kernel_accumulate(a, b):
    return accumulate(a, b * a)


def kernel_fastmath(x):
    """The vector kernels that generated code calls for ``np.tanh``, ``np.exp``, ... of arrays,
    here called on a number (their rules are NumPy's)."""
    return fm.tanh(x) + fm.exp(x) * fm.log(x) - fm.log1p(x) * fm.expm1(x)


def math_exp(x):
    return math.exp(x)


def math_expm1(x):
    return math.expm1(x)


def math_log(x):
    return math.log(x)


def math_log_base(x, base):
    return math.log(x, base)


def math_log2(x):
    return math.log2(x)


def math_log10(x):
    return math.log10(x)


def math_log1p(x):
    return math.log1p(x)


def math_sqrt(x):
    return math.sqrt(x)


def math_pow(x, y):
    return math.pow(x, y)


def math_sin(x):
    return math.sin(x)


def math_cos(x):
    return math.cos(x)


def math_tan(x):
    return math.tan(x)


def math_asin(x):
    return math.asin(x)


def math_acos(x):
    return math.acos(x)


def math_atan(x):
    return math.atan(x)


def math_atan2(y, x):
    return math.atan2(y, x)


def math_sinh(x):
    return math.sinh(x)


def math_cosh(x):
    return math.cosh(x)


def math_tanh(x):
    return math.tanh(x)


def math_asinh(x):
    return math.asinh(x)


def math_acosh(x):
    return math.acosh(x)


def math_atanh(x):
    return math.atanh(x)


def math_hypot(x, y):
    return math.hypot(x, y)


def math_erf(x):
    return math.erf(x)


def math_erfc(x):
    return math.erfc(x)


def math_fabs(x):
    return math.fabs(x)


# -- np.* on floats -----------------------------------------------------------------------------

def np_exp(x):
    return np.exp(x)


def np_expm1(x):
    return np.expm1(x)


def np_exp2(x):
    return np.exp2(x)


def np_log(x):
    return np.log(x)


def np_log2(x):
    return np.log2(x)


def np_log10(x):
    return np.log10(x)


def np_log1p(x):
    return np.log1p(x)


def np_sqrt(x):
    return np.sqrt(x)


def np_cbrt(x):
    return np.cbrt(x)


def np_square(x):
    return np.square(x)


def np_power(x, y):
    return np.power(x, y)


def np_reciprocal(x):
    return np.reciprocal(x)


def one_over(x):
    return 1.0 / (x * x + 0.5)


def np_sin(x):
    return np.sin(x)


def np_cos(x):
    return np.cos(x)


def np_tan(x):
    return np.tan(x)


def np_arcsin(x):
    return np.arcsin(x)


def np_arccos(x):
    return np.arccos(x)


def np_arctan(x):
    return np.arctan(x)


def np_arctan2(y, x):
    return np.arctan2(y, x)


def np_sinh(x):
    return np.sinh(x)


def np_cosh(x):
    return np.cosh(x)


def np_tanh(x):
    return np.tanh(x)


def np_arcsinh(x):
    return np.arcsinh(x)


def np_arccosh(x):
    return np.arccosh(x)


def np_arctanh(x):
    return np.arctanh(x)


def np_hypot(x, y):
    return np.hypot(x, y)


def np_abs(x):
    return np.abs(x)


def np_fabs(x):
    return np.fabs(x)


def np_maximum(x, y):
    return np.maximum(x, y)


def np_minimum(x, y):
    return np.minimum(x, y)


def np_fmax(x, y):
    return np.fmax(x, y)


def np_fmin(x, y):
    return np.fmin(x, y)


def np_float64(x):
    return np.float64(x) * x


def np_float32(x):
    return np.float32(x) * 3.0 + x


def kernel_power(x, y):
    return power(x, y)


def kernel_as_float(x):
    return as_float(x) * x


def kernel_snapshot(x):
    return snapshot(x) * x


# -- builtins -----------------------------------------------------------------------------------

def builtin_abs(x):
    return abs(x)


def builtin_max(x, y):
    return max(x, y)


def builtin_min(x, y):
    return min(x, y)


def builtin_relu(x):
    return max(x, 0.0)


def builtin_float(x):
    return float(x) * x


# -- operators ----------------------------------------------------------------------------------

def op_add(x, y):
    return x + y


def op_sub(x, y):
    return x - y


def op_mul(x, y):
    return x * y


def op_div(x, y):
    return x / y


def op_div_constant_numerator(x):
    return 1.0 / x


def op_neg(x):
    return -x


def op_pos(x):
    return +x * x


def op_mod(x, y):
    return x % y


def op_mod_constant(x):
    return x % 2.0


def op_pow_variable(x, y):
    return x ** y


def op_pow_int(x):
    return x ** 2


def op_pow_int_negative_base(x):
    return x ** 3


def op_pow_negative_int(x):
    return x ** -2


def op_pow_float(x):
    return x ** 2.5


def op_pow_half(x):
    return x ** 0.5


def op_pow_constant_base(x):
    return 2.0 ** x


def op_pow_int_argument(x, n):
    return x ** n


# -- imports, aliases, constants ----------------------------------------------------------------

def from_import_exp(x):
    return exp(x)


def from_import_sqrt(x):
    return sqrt(x)


def from_import_as(x):
    return sine(x)


def alias_module(x):
    return m.cos(x)


def alias_module_log_base(x, base):
    return m.log(x, base)


def from_numpy_import(x):
    return tanh(x)


def from_numpy_import_two_args(y, x):
    return arctan2(y, x)


def module_constants(x):
    return math.pi * x + SCALE * x * x + math.e


def partly_constant_atan2(y):
    return math.atan2(y, 2.0)


def partly_constant_hypot(x):
    return math.hypot(3.0, x)


def partly_constant_pow(y):
    return math.pow(1.5, y)


def partly_constant_log_base(base):
    return math.log(5.0, base)


# -- nondifferentiable primitives: no contribution through them ---------------------------------

def times_floor(x):
    return x * math.floor(x)


def times_ceil(x):
    return x * math.ceil(x)


def times_trunc(x):
    return x * math.trunc(x)


def times_round(x):
    return x * round(x)


def times_int(x):
    return x * int(x)


def times_np_floor(x):
    return x * np.floor(x)


def times_np_ceil(x):
    return x * np.ceil(x)


def times_np_trunc(x):
    return x * np.trunc(x)


def times_np_rint(x):
    return x * np.rint(x)


def times_np_sign(x):
    return x * np.sign(x)


def times_floordiv(x):
    return x * (x // 1.5)


def times_comparison(x):
    return x * (x > 0.5)


def times_np_round(x):
    return x * np.round(x)


def times_comparisons(x):
    return x * (x < 1.0) + x * x * (x >= -1.0) + (x != 0.0) * x


def times_not(x):
    return x * (not x > 0.5)


def piecewise_constant_only(x):
    return math.floor(x) + math.ceil(2.0 * x)


ANGLES = [-1.2, -0.3, 0.0, 0.7, 1.4]
REALS = [-2.5, -0.4, 0.0, 0.6, 3.0]
EXPONENT_ARGS = [-2.0, -0.3, 0.5, 1.7]
POSITIVE = [0.1, 0.7, 1.0, 3, 20.0]
UNIT_INTERVAL = [-0.9, -0.4, 0.0, 0.3, 0.85]
ABOVE_ONE = [1.1, 1.5, 3.0, 10.0]
AWAY_FROM_ZERO = [-2.0, -0.3, 0.4, 3.0]
PLANE = [(0.5, 1.0), (-1.2, 0.3), (2.0, -1.0), (-0.4, -0.7)]
POSITIVE_BASE = [(0.5, 1.5), (2.0, -0.7), (1.3, 3.0), (3.0, 0.0), (0.8, 2)]
LOG_BASES = [(2.0, 10.0), (0.5, 3.0), (7.0, 0.4), (3, 2)]
UNTIED = [(0.3, 1.2), (2.0, -1.0), (-0.5, -0.6), (1.0, 0.25)]
OFF_INTEGER = [-2.3, -0.6, 0.4, 1.7, 3.2]

CASES = [
    # the helpers that forward-mode code calls (their rules serve second derivatives)
    (kernel_pow_dx, POSITIVE_BASE),
    (kernel_log_or_zero, POSITIVE),
    (kernel_finite_or_zero, REALS),
    (kernel_ratio_or_zero, PLANE),
    (kernel_accumulate, PLANE),
    (kernel_fastmath, POSITIVE),
    (math_exp, EXPONENT_ARGS),
    (math_expm1, EXPONENT_ARGS),
    (math_log, POSITIVE),
    (math_log_base, LOG_BASES),
    (math_log2, POSITIVE),
    (math_log10, POSITIVE),
    (math_log1p, [-0.6, 0.0, 0.4, 5.0]),
    (math_sqrt, [0.05, 0.5, 2.0, 9]),
    (math_pow, POSITIVE_BASE),
    (math_sin, ANGLES),
    (math_cos, ANGLES),
    (math_tan, ANGLES),
    (math_asin, UNIT_INTERVAL),
    (math_acos, UNIT_INTERVAL),
    (math_atan, REALS),
    (math_atan2, PLANE),
    (math_sinh, REALS),
    (math_cosh, REALS),
    (math_tanh, REALS),
    (math_asinh, REALS),
    (math_acosh, ABOVE_ONE),
    (math_atanh, UNIT_INTERVAL),
    (math_hypot, [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)]),
    (math_erf, [-1.5, -0.2, 0.0, 0.5, 2.0]),
    (math_erfc, [-1.5, -0.2, 0.0, 0.5, 2.0]),
    (math_fabs, AWAY_FROM_ZERO),
    (np_exp, EXPONENT_ARGS),
    (np_expm1, EXPONENT_ARGS),
    (np_exp2, EXPONENT_ARGS),
    (np_log, POSITIVE),
    (np_log2, POSITIVE),
    (np_log10, POSITIVE),
    (np_log1p, [-0.6, 0.0, 0.4, 5.0]),
    (np_sqrt, [0.05, 0.5, 2.0, 9.0]),
    (np_cbrt, [-2.0, -0.3, 0.4, 5.0]),
    (np_square, [-1.5, 0.0, 0.3, 4.0]),
    (np_reciprocal, [-2.0, -0.3, 0.4, 5.0]),
    (one_over, [-2.0, -0.3, 0.4, 5.0]),
    (np_power, POSITIVE_BASE),
    (np_sin, ANGLES),
    (np_cos, ANGLES),
    (np_tan, ANGLES),
    (np_arcsin, UNIT_INTERVAL),
    (np_arccos, UNIT_INTERVAL),
    (np_arctan, REALS),
    (np_arctan2, PLANE),
    (np_sinh, REALS),
    (np_cosh, REALS),
    (np_tanh, REALS),
    (np_arcsinh, REALS),
    (np_arccosh, ABOVE_ONE),
    (np_arctanh, UNIT_INTERVAL),
    (np_hypot, [(3.0, 4.0), (-1.0, 0.5), (0.2, -2.0)]),
    (np_abs, AWAY_FROM_ZERO),
    (np_fabs, AWAY_FROM_ZERO),
    (np_maximum, UNTIED),
    (np_minimum, UNTIED),
    (np_fmax, UNTIED),
    (np_fmin, UNTIED),
    (np_float64, REALS),
    # float32's spacing near 0 (1e-12 at 1e-5) is below what the difference resolves
    (np_float32, [0.0, 1e-5, -3e-6]),
    (kernel_power, POSITIVE_BASE),
    (kernel_as_float, REALS),
    (kernel_snapshot, REALS),
    (builtin_abs, AWAY_FROM_ZERO),
    (builtin_max, UNTIED),
    (builtin_min, UNTIED),
    (builtin_relu, AWAY_FROM_ZERO),
    (builtin_float, REALS),
    (op_add, PLANE),
    (op_sub, PLANE),
    (op_mul, PLANE),
    (op_div, PLANE),
    (op_div_constant_numerator, AWAY_FROM_ZERO),
    (op_neg, REALS),
    (op_pos, REALS),
    (op_mod, [(5.3, 2.0), (-5.3, 2.0), (7.1, -3.0), (0.4, 1.5), (-2.2, -0.9)]),
    (op_mod_constant, [-5.3, -0.4, 0.7, 3.1]),
    (op_pow_variable, POSITIVE_BASE),
    (op_pow_int, [-1.5, 0.3, 2.0]),
    (op_pow_int_negative_base, [-2.0, -0.5, 1.2]),
    (op_pow_negative_int, [-1.5, -0.4, 0.5, 2.0]),
    (op_pow_float, [0.3, 1.0, 4.0]),
    (op_pow_half, [0.3, 1.0, 4.0]),
    (op_pow_constant_base, EXPONENT_ARGS),
    (from_import_exp, EXPONENT_ARGS),
    (from_import_sqrt, [0.05, 0.5, 2.0, 9.0]),
    (from_import_as, ANGLES),
    (alias_module, ANGLES),
    (alias_module_log_base, LOG_BASES),
    (from_numpy_import, REALS),
    (from_numpy_import_two_args, PLANE),
    (module_constants, REALS),
    (partly_constant_atan2, REALS),
    (partly_constant_hypot, REALS),
    (partly_constant_pow, EXPONENT_ARGS),
    (partly_constant_log_base, [0.5, 3.0, 10.0]),
    (times_floor, OFF_INTEGER),
    (times_ceil, OFF_INTEGER),
    (times_trunc, OFF_INTEGER),
    (times_round, OFF_INTEGER),
    (times_int, OFF_INTEGER),
    (times_np_floor, OFF_INTEGER),
    (times_np_ceil, OFF_INTEGER),
    (times_np_trunc, OFF_INTEGER),
    (times_np_rint, OFF_INTEGER),
    (times_np_round, OFF_INTEGER),
    (times_np_sign, AWAY_FROM_ZERO),
    (times_floordiv, [-2.0, -0.6, 0.4, 1.7, 3.7]),
    (times_comparison, [-1.0, 0.2, 0.8, 2.5]),
    (times_comparisons, [-1.6, -0.5, 0.3, 2.5]),
    (times_not, [-1.0, 0.2, 0.8, 2.5]),
]


def _points(points):
    return [p if isinstance(p, tuple) else (p,) for p in points]


def _nparams(func):
    return func.__code__.co_argcount


def _step(value):
    return 1e-6 * max(1.0, abs(float(value)))


def check_gradient(func, grads, point, wrt, fd):
    """``grads`` (one per index in ``wrt``) against central differences of ``func``."""
    for k, i in enumerate(wrt):
        want = fd(func, point, i, h=_step(point[i]))
        got = grads[k]
        assert isinstance(got, float), f"{func.__name__}{point}: d/d arg {i} is {got!r}"
        assert got == pytest.approx(want, rel=REL, abs=ABS), (
            f"{func.__name__}{point}: d/d arg {i} is {got!r}, finite difference {want!r}")


@pytest.mark.parametrize(("func", "points"), CASES, ids=[c[0].__name__ for c in CASES])
def test_rule_matches_finite_difference(func, points, fd):
    wrt = tuple(range(_nparams(func)))
    dfunc = adc.grad(func, wrt=wrt)
    for point in _points(points):
        grads = dfunc(*point)
        assert isinstance(grads, tuple) and len(grads) == len(wrt)
        check_gradient(func, grads, point, wrt, fd)


@pytest.mark.parametrize(("func", "points"), [
    (math_atan2, PLANE), (math_hypot, [(3.0, 4.0), (-1.0, 0.5)]),
    (math_pow, POSITIVE_BASE), (op_pow_variable, POSITIVE_BASE), (op_mod, [(5.3, 2.0)]),
    (op_div, PLANE), (builtin_max, UNTIED), (math_log_base, LOG_BASES),
], ids=lambda v: getattr(v, "__name__", ""))
def test_two_argument_rule_one_argument_at_a_time(func, points, fd):
    """With one argument active and the other constant, each contribution stands alone."""
    for i in (0, 1):
        dfunc = adc.grad(func, wrt=i)
        for point in _points(points):
            check_gradient(func, (dfunc(*point),), point, (i,), fd)


def test_int_exponent_passed_as_argument(fd):
    """``x ** n`` with ``n`` an int argument: a constant, not differentiated."""
    dfunc = adc.grad(op_pow_int_argument, wrt="x")
    for x, n in [(-1.5, 3), (0.7, 2), (2.0, -1), (1.3, 4)]:
        check_gradient(op_pow_int_argument, (dfunc(x, n),), (x, n), (0,), fd)


def test_piecewise_constant_function_has_zero_gradient():
    dfunc = adc.grad(piecewise_constant_only)
    for x in OFF_INTEGER:
        assert dfunc(x) == 0.0


# -- user-registered rules ----------------------------------------------------------------------

def softplus(x):
    return math.log(1.0 + math.exp(x))


@adc.derivative(softplus)
def softplus_rule(g, ans, x):
    return g / (1.0 + np.exp(-x))


def logaddexp(a, b):
    hi = max(a, b)
    return hi + math.log(math.exp(a - hi) + math.exp(b - hi))


@adc.derivative(logaddexp)
def logaddexp_rule(g, ans, a, b):
    return g * np.exp(a - ans), g * np.exp(b - ans)


def scaled(x, k):
    return x * math.floor(k)


@adc.derivative(scaled)
def scaled_rule(g, ans, x, k):
    return g * np.floor(k), None


def uses_softplus(x):
    return softplus(x)


def uses_softplus_nested(x, y):
    return softplus(x * y) * math.sin(y)


def uses_logaddexp(a, b):
    return logaddexp(a, b)


def uses_logaddexp_nested(a, b):
    return logaddexp(2.0 * a, b * b) + a


def uses_scaled(x, k):
    return scaled(x, k) + x


@pytest.mark.parametrize(("func", "points"), [
    (uses_softplus, REALS),
    (uses_softplus_nested, PLANE),
    (uses_logaddexp, UNTIED),
    (uses_logaddexp_nested, PLANE),
], ids=lambda v: getattr(v, "__name__", ""))
def test_user_registered_rule(func, points, fd):
    wrt = tuple(range(_nparams(func)))
    dfunc = adc.grad(func, wrt=wrt)
    for point in _points(points):
        check_gradient(func, dfunc(*point), point, wrt, fd)


def test_user_rule_with_a_nondifferentiable_argument(fd):
    dfunc = adc.grad(uses_scaled, wrt="x")
    for point in [(0.5, 2.5), (-1.0, 3.7)]:
        check_gradient(uses_scaled, (dfunc(*point),), point, (0,), fd)
    with pytest.raises(adc.AdcompileError, match="not differentiable"):
        adc.grad(uses_scaled, wrt="k")(0.5, 2.5)


# -- completeness -------------------------------------------------------------------------------

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod}
_UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def _resolve(node):
    if isinstance(node, ast.Name):
        return globals().get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value), node.attr, None)
    return None


def _primitives_used(func):
    """``(id(primitive), number of arguments)`` for every operation in ``func``'s source."""
    used = set()
    for node in ast.walk(ast.parse(inspect.getsource(func))):
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            used.add((id(_BINOPS[type(node.op)]), 2))
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _UNARYOPS:
            used.add((id(_UNARYOPS[type(node.op)]), 1))
        elif isinstance(node, ast.Call):
            used.add((id(_resolve(node.func)), len(node.args)))
    return used


def test_every_scalar_rule_has_a_case():
    """Each rule of rules/math.py and rules/operators.py, under every name it is registered
    for, is exercised by a case above: a new scalar rule needs a finite-difference check."""
    covered = set().union(*(_primitives_used(func) for func, _ in CASES))
    scalar_modules = {"adcompile.rules.math", "adcompile.rules.operators"}
    missing = [f"{getattr(rule.primal, '__name__', rule.primal)} with {rule.nargs} argument(s)"
               for key, rule in rules._RULES.items()
               if rule.template.__module__ in scalar_modules and key not in covered]
    assert not missing, f"rules without a finite-difference case: {missing}"
