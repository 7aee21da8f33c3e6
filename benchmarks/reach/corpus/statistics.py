"""Statistics and scans: var, std (ddof, axis, keepdims), cumsum, diff, sort, median."""

import numpy as np

from . import program

CATEGORY = "statistics"


def mat(*shape, lo=-1.0, hi=1.0):
    return lambda r: (r.uniform(lo, hi, shape),)


@program(mat(5), like="autograd test_numpy test_var_ddof")
def var_vector(x):
    return np.var(x)


@program(mat(3, 4), like="autograd test_numpy test_var_ddof")
def var_ddof1(x):
    return np.var(x, ddof=1)


@program(mat(3, 4))
def var_axis1_keepdims(x):
    return np.sum(np.var(x, axis=1, keepdims=True) * x)


@program(mat(3, 4), like="autograd test_numpy test_var_ddof ddof=2")
def var_axis0_ddof2(x):
    return np.sum(np.var(x, axis=0, ddof=2))


@program(mat(5), like="autograd test_numpy test_std_ddof")
def std_vector(x):
    return np.std(x)


@program(mat(3, 4))
def std_axis0_ddof1(x):
    return np.sum(np.std(x, axis=0, ddof=1))


@program(mat(3, 4))
def std_method(x):
    return x.std() + x.var(axis=1).sum()


@program(mat(3, 4))
def standardize(x):
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return np.sum(z[0] * np.arange(4.0))


@program(mat(6), like="autograd test_numpy test_cumsum_1d")
def cumsum_1d(x):
    return np.sum(np.cumsum(x) ** 2)


@program(mat(3, 4), like="autograd test_numpy test_cumsum_axis0")
def cumsum_axis0(x):
    return np.sum(np.sin(np.cumsum(x, axis=0)))


@program(mat(3, 4), like="autograd test_numpy test_cumsum_axis1")
def cumsum_axis1(x):
    return np.sum(np.cumsum(x, axis=1) ** 2)


@program(mat(3, 4), like="autograd test_numpy test_cumsum_no_axis")
def cumsum_flat(x):
    return np.sum(np.cumsum(x) * np.arange(12.0))


@program(mat(3, 4))
def cumsum_method(x):
    return np.sum(x.cumsum(axis=1)[:, -1] ** 2)


@program(mat(6), like="autograd test_numpy test_diff")
def diff_1d(x):
    return np.sum(np.diff(x) ** 2)


@program(mat(6))
def diff_n2(x):
    return np.sum(np.diff(x, n=2) ** 2)


@program(mat(3, 4))
def diff_axis0(x):
    return np.sum(np.diff(x, axis=0) ** 2)


@program(mat(3, 4))
def diff_last_axis_matrix(x):
    return np.sum(np.abs(np.diff(x)) + 1.0) * 0.5


@program(mat(7), like="autograd test_systematic test_sort")
def sort_weighted(x):
    return np.sum(np.sort(x) * np.arange(7.0))


@program(mat(7))
def median_vector(x):
    return np.median(x) ** 2


@program(mat(6))
def percentile_vector(x):
    return np.percentile(x, 30.0)


@program(lambda r: (r.normal(size=(5, 3)),))
def covariance(x):
    return np.sum(np.cov(x, rowvar=False) ** 2)


@program(lambda r: (r.normal(size=(3, 6)),))
def corrcoef_rows(x):
    return np.sum(np.corrcoef(x)[0, 1:])


@program(mat(8))
def cumsum_running_mean(x):
    c = np.cumsum(x)
    return np.sum((c / np.arange(1.0, 9.0)) ** 2)


@program(mat(4, 3))
def zscore_rows_ddof(x):
    mu = np.mean(x, axis=1, keepdims=True)
    sd = np.std(x, axis=1, ddof=1, keepdims=True)
    return np.sum(((x - mu) / sd) ** 3)


@program(mat(6))
def ediff1d_sum(x):
    return np.sum(np.ediff1d(x) ** 2)


@program(mat(6))
def gradient_fn(x):
    return np.sum(np.gradient(x) ** 2)
