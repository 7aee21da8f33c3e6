"""Elementwise math: NumPy ufuncs on arrays and math functions on floats."""

import math

import numpy as np

from . import program

CATEGORY = "elementwise"


def vec(lo=-1.0, hi=1.0, n=4):
    return lambda r: (r.uniform(lo, hi, size=n),)


def mat(lo=-1.0, hi=1.0, shape=(2, 3)):
    return lambda r: (r.uniform(lo, hi, size=shape),)


@program(vec(), like="autograd test_systematic test_sin")
def sin_sum(x):
    return np.sum(np.sin(x))


@program(mat(), like="autograd test_systematic test_cos")
def cos_sum(x):
    return np.sum(np.cos(x))


@program(vec(-1.1, 1.1), like="autograd test_systematic test_tan")
def tan_sum(x):
    return np.sum(np.tan(x))


@program(vec(-0.9, 0.9), like="jax lax_numpy arcsin grad")
def arcsin_sum(x):
    return np.sum(np.arcsin(x))


@program(vec(-0.9, 0.9))
def arccos_sum(x):
    return np.sum(np.arccos(x) ** 2)


@program(mat(-2.0, 2.0))
def arctan_sum(x):
    return np.sum(np.arctan(x))


@program(vec(), like="autograd test_systematic test_sinh")
def sinh_cosh(x):
    return np.sum(np.sinh(x) * np.cosh(x))


@program(mat(), like="autograd test_systematic test_tanh")
def tanh_mean(x):
    return np.mean(np.tanh(x))


@program(vec(-0.9, 0.9), like="autograd test_systematic test_arcsinh")
def arcsinh_sum(x):
    return np.sum(np.arcsinh(x))


@program(vec(1.1, 4.0), like="autograd test_systematic test_arccosh")
def arccosh_sum(x):
    return np.sum(np.arccosh(x))


@program(vec(-0.9, 0.9), like="autograd test_systematic test_arctanh")
def arctanh_sum(x):
    return np.sum(np.arctanh(x))


@program(mat(), like="autograd test_systematic test_exp")
def exp_sum(x):
    return np.sum(np.exp(x))


@program(vec(), like="autograd test_systematic test_exp2")
def exp2_sum(x):
    return np.sum(np.exp2(x))


@program(vec(), like="autograd test_systematic test_expm1")
def expm1_sum(x):
    return np.sum(np.expm1(x))


@program(vec(0.2, 2.0), like="autograd test_systematic test_log")
def log_sum(x):
    return np.sum(np.log(x))


@program(vec(0.2, 2.0), like="autograd test_systematic test_log2")
def log2_log10(x):
    return np.sum(np.log2(x) + np.log10(x))


@program(vec(0.2, 2.0), like="autograd test_systematic test_log1p")
def log1p_sum(x):
    return np.sum(np.log1p(x))


@program(vec(1.0, 3.0), like="autograd test_systematic test_sqrt")
def sqrt_sum(x):
    return np.sum(np.sqrt(x))


@program(vec(0.5, 3.0))
def cbrt_sum(x):
    return np.sum(np.cbrt(x))


@program(mat(), like="autograd test_systematic test_square")
def square_sum(x):
    return np.sum(np.square(x))


@program(vec(0.1, 4.0), like="autograd test_systematic test_abs")
def abs_sum(x):
    return np.sum(np.abs(x - 2.05) * x)


@program(vec(0.1, 4.0), like="autograd test_systematic test_absolute")
def absolute_fabs(x):
    return np.sum(np.absolute(x) + np.fabs(-x))


@program(vec(0.5, 2.0))
def reciprocal_sum(x):
    return np.sum(np.reciprocal(x))


@program(vec(), like="autograd test_systematic test_deg2rad")
def deg2rad_rad2deg(x):
    return np.sum(np.sin(np.deg2rad(x * 50.0)) + np.rad2deg(x) / 50.0)


@program(vec(), like="autograd test_systematic test_radians")
def radians_degrees(x):
    return np.sum(np.cos(np.radians(x * 30.0)) + np.degrees(x) / 50.0)


@program(lambda r: (r.uniform(-1, 1, 4), r.uniform(-1, 1, 4)), wrt=(0, 1),
         like="autograd test_systematic test_logaddexp")
def logaddexp_sum(x, y):
    return np.sum(np.logaddexp(x, y))


@program(lambda r: (r.uniform(-1, 1, 4), r.uniform(-1, 1, 4)), wrt=(0, 1),
         like="autograd test_systematic test_logaddexp2")
def logaddexp2_sum(x, y):
    return np.sum(np.logaddexp2(x, y))


@program(lambda r: (r.uniform(0.5, 2, 3), r.uniform(0.5, 2, 3)), wrt=(0, 1))
def hypot_arctan2(x, y):
    return np.sum(np.hypot(x, y) + np.arctan2(y, x))


@program(lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4))), wrt=(0, 1),
         like="autograd test_systematic test_maximum")
def maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) * 2.0 + np.minimum(x, y))


@program(lambda r: (r.normal(size=4), r.normal(size=4)), wrt=(0, 1))
def fmax_fmin(x, y):
    return np.sum(np.fmax(x, y) - 3.0 * np.fmin(x, y))


@program(lambda r: (r.uniform(-1.5, 1.5, size=(3, 3)),), like="autograd test_numpy test_clip")
def clip_sum(x):
    return np.sum(np.clip(x, -0.95, 1.05) ** 2)


@program(lambda r: (r.uniform(0.2, 1.5, 4),))
def sinc_sum(x):
    return np.sum(np.sinc(x))


@program(lambda r: (r.normal(size=5),))
def relu_sum(x):
    return np.sum(np.maximum(x, 0.0) ** 2)


@program(lambda r: (r.normal(size=5),), like="jax nn softplus")
def softplus_sum(x):
    return np.sum(np.log1p(np.exp(x)))


@program(lambda r: (r.normal(size=5),))
def sigmoid_sum(x):
    return np.sum(1.0 / (1.0 + np.exp(-x)))


@program(lambda r: (r.normal(size=(2, 3)),), like="autograd test_systematic test_sign")
def sign_times(x):
    return np.sum(np.sign(x) * x ** 2)


@program(lambda r: (r.uniform(-1.4, 1.4, 5),), like="autograd test_systematic test_floor")
def floor_ceil_frac(x):
    return np.sum((x - np.floor(x)) ** 2 + np.ceil(x) * x)


@program((0.7,), like="tangent functions numpy_exp2")
def exp_of_exp(a):
    return np.exp(np.exp(a))


@program((0.4, 1.3), wrt=(0, 1), like="autograd test_scalar_ops")
def math_scalar_mix(x, y):
    return math.sin(x) * math.exp(y) + math.log(y) / math.cosh(x) + math.atan2(x, y)


@program((0.3,), like="autograd test_scalar_ops")
def math_hyperbolic(x):
    return math.tanh(x) + math.asinh(x) + math.acosh(1.0 + x) + math.atanh(x)


@program((0.6,))
def math_erf_gamma(x):
    return math.erf(x) + math.erfc(x) + math.lgamma(x + 1.0)


@program((1.7, 0.6), wrt=(0, 1))
def math_pow_hypot(x, y):
    return math.pow(x, y) + math.hypot(x, y) + math.sqrt(x) + math.log10(x) + math.log2(y)


@program(lambda r: (r.uniform(0.5, 1.5, 4),))
def nested_ufuncs(x):
    return np.sum(np.log(np.cosh(np.sin(x) + np.sqrt(x))))


@program(lambda r: (r.normal(size=4),))
def np_scalar_ufunc(x):
    s = np.sum(x * x)
    return np.sqrt(s) + np.exp(-s) + np.tanh(s)
