"""Reductions: sum, mean, max, min, prod, with axis and keepdims, as functions and methods."""

import numpy as np

from . import program

CATEGORY = "reductions"


def mat(*shape, lo=-1.0, hi=1.0):
    return lambda r: (r.uniform(lo, hi, shape),)


@program(mat(4, 5), like="autograd test_numpy test_sum_1")
def sum_all(x):
    return np.sum(x ** 2)


@program(mat(4, 5), like="autograd test_numpy test_sum_2")
def sum_axis0(x):
    return np.sum(np.sum(x, axis=0) ** 2)


@program(mat(4, 5))
def sum_axis1_positional(x):
    return np.sum(np.sin(np.sum(x, 1)))


@program(mat(4, 5))
def sum_axis_negative(x):
    return np.sum(np.exp(np.sum(x, axis=-1)))


@program(mat(4, 5), like="autograd test_numpy test_sum_3")
def sum_keepdims(x):
    s = np.sum(x, axis=0, keepdims=True)
    return np.sum((x - s) ** 2)


@program(mat(3, 4, 2), like="autograd test_numpy test_sum_with_axis_tuple")
def sum_axis_tuple(x):
    return np.sum(np.sum(x, axis=(1, 2)) ** 2)


@program(mat(3, 4, 2))
def sum_3d_axis1(x):
    return np.sum(np.cos(x.sum(axis=1)))


@program(mat(4, 5))
def sum_method(x):
    return (x * x).sum()


@program(mat(4, 5), like="autograd test_numpy test_mean_1")
def mean_all(x):
    return np.mean(x ** 2)


@program(mat(4, 5), like="autograd test_numpy test_mean_2")
def mean_axis0(x):
    return np.sum(np.mean(x, axis=0) ** 2)


@program(mat(4, 5), like="autograd test_numpy test_mean_3")
def mean_keepdims(x):
    return np.sum((x - np.mean(x, axis=1, keepdims=True)) ** 2)


@program(mat(4, 5))
def mean_method_axis(x):
    return np.sum(x.mean(axis=1) ** 3)


@program(mat(4, 5), like="autograd test_numpy test_max")
def max_all(x):
    return np.max(x) * 2.0


@program(mat(3, 4, 5), like="autograd test_numpy test_max_axis")
def max_axis1(x):
    return np.sum(np.max(x, axis=1) ** 2)


@program(mat(3, 4, 5), like="autograd test_numpy test_max_axis_keepdims")
def max_axis_keepdims(x):
    return np.sum(np.exp(x - np.max(x, axis=1, keepdims=True)))


@program(mat(4, 5), like="autograd test_numpy test_min")
def min_all(x):
    return np.min(x) ** 2


@program(mat(3, 4, 5), like="autograd test_numpy test_min_axis")
def min_axis1(x):
    return np.sum(np.min(x, axis=1))


@program(mat(4, 5))
def amax_amin(x):
    return np.amax(x) - np.amin(x, axis=0).sum()


@program(mat(4, 5))
def max_method_axis(x):
    return np.sum(x.max(axis=0) * x.min(axis=0))


@program(mat(2, 3, lo=0.3, hi=1.5), like="autograd test_numpy test_prod_1")
def prod_all(x):
    return np.prod(x)


@program(mat(2, 3, lo=0.3, hi=1.5), like="autograd test_numpy test_prod_2")
def prod_axis0(x):
    return np.sum(np.prod(x, axis=0))


@program(mat(2, 3, lo=0.3, hi=1.5), like="autograd test_numpy test_prod_3")
def prod_keepdims(x):
    return np.sum(np.prod(x, axis=1, keepdims=True) * x)


@program(lambda r: (np.array([0.5, 0.0, 1.5, -0.7]),), like="jax prod grad with zeros")
def prod_with_zero(x):
    return np.prod(x)


@program(mat(4, 3))
def prod_method(x):
    return x.prod() + x.prod(axis=0).sum()


@program(mat(5))
def logsumexp_by_hand(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@program(mat(3, 4))
def softmax_rows(x):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    p = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(p[:, 0] ** 2)


@program(lambda r: (r.normal(size=4), r.uniform(0.5, 1.5, 4)), wrt=(0, 1))
def average_weights(x, w):
    return np.average(x ** 2, weights=w)


@program(mat(3, 4))
def average_axis(x):
    return np.sum(np.average(x, axis=0) ** 2)


@program(mat(3, 4, lo=0.2, hi=1.0))
def cumprod_sum(x):
    return np.sum(np.cumprod(x, axis=1))


@program(mat(3, 4))
def ptp_spread(x):
    return np.sum(np.ptp(x, axis=1) ** 2)


@program(lambda r: (r.normal(size=(3, 4)), np.array([1.0, np.nan, 2.0, 0.5])), like="nansum")
def nansum_data(x, c):
    return np.nansum(x * c)


@program(mat(3, 4))
def sum_of_squares_dot(x):
    v = x.ravel()
    return v.dot(v)


@program(mat(2, 3))
def builtin_sum_rows(x):
    return sum(x[0] * x[1]) + sum(np.exp(x[1]))


@program(mat(6))
def max_builtin_vector(x):
    return max(x) + min(x) * 2.0


@program(mat(3, 4))
def any_all_guard(x):
    if np.all(x < 5.0) and not np.any(np.isnan(x)):
        return np.sum(x ** 2)
    return 0.0
