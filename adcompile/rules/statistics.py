"""NumPy's statistics as plain Python the compiler differentiates (``composite``).

Each definition takes NumPy's parameters in NumPy's order, so positional and keyword calls
bind as they do in NumPy; literal options (``axis``, ``ddof``, ``keepdims``) are substituted
before the body is read.
"""

import numpy as np

from ..kernels import reduced_size, reshape
from . import composite


@composite(np.var)
def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    mean = np.mean(a, axis, keepdims=True)
    deviation = a - mean
    return np.sum(deviation * deviation, axis, keepdims=keepdims) / (
        reduced_size(a, axis) - ddof)


@composite(np.std)
def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    return np.sqrt(np.var(a, axis, None, None, ddof, keepdims))


@composite(np.average)
def average(a, axis=None, weights=None, returned=False, keepdims=False):
    if returned:
        raise ValueError("returned=True is not supported",
                         "compute the sum of the weights separately: np.sum(weights)")
    if weights is None:
        return np.mean(a, axis, keepdims=keepdims)
    if axis is None:
        return np.sum(a * weights) / np.sum(weights * np.ones_like(a))
    # weights of a's shape (a 1-D weights along another axis fails loudly in the reshape)
    aligned = reshape(weights, a.shape)
    return np.sum(a * aligned, axis, keepdims=keepdims) / np.sum(aligned, axis,
                                                                 keepdims=keepdims)


@composite(np.ptp)
def ptp(a, axis=None, out=None, keepdims=False):
    return np.max(a, axis, keepdims=keepdims) - np.min(a, axis, keepdims=keepdims)


@composite(np.nansum)
def nansum(a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, a), axis, keepdims=keepdims)


@composite(np.nanmean)
def nanmean(a, axis=None, dtype=None, out=None, keepdims=False):
    return np.sum(np.where(np.isnan(a), 0.0, a), axis, keepdims=keepdims) / np.sum(
        np.where(np.isnan(a), 0.0, 1.0), axis, keepdims=keepdims)


@composite(np.median)
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    if axis is not None or keepdims:
        raise ValueError("only the median of the whole array is supported",
                         "take the median of each row in a loop, or np.sort along the axis "
                         "and index the middle")
    ordered = np.sort(np.ravel(a))
    n = ordered.shape[0]
    return 0.5 * (ordered[(n - 1) // 2] + ordered[n // 2])


@composite(np.quantile)
def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False):
    if axis is not None or keepdims or method != "linear" or isinstance(q, tuple):
        raise ValueError("only one quantile of the whole array, interpolated linearly, is "
                         "supported", "call it once per quantile, without axis or method")
    ordered = np.sort(np.ravel(a))
    n = ordered.shape[0]
    position = q * (n - 1)
    below = min(int(np.floor(position)), n - 1)
    above = min(below + 1, n - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


@composite(np.percentile)
def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False):
    return np.quantile(a, q / 100.0, axis, None, False, method, keepdims)


@composite(np.cov)
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    if y is not None or fweights is not None or aweights is not None:
        raise ValueError("y, fweights and aweights are not supported",
                         "stack the variables into one array first: np.vstack((x, y))")
    rows = np.atleast_2d(m) if rowvar else np.transpose(np.atleast_2d(m))
    centred = rows - np.mean(rows, 1, keepdims=True)
    n = rows.shape[1]
    if ddof is None:
        return (centred @ np.transpose(centred)) / (n if bias else n - 1)
    return (centred @ np.transpose(centred)) / (n - ddof)


@composite(np.corrcoef)
def corrcoef(x, y=None, rowvar=True):
    if y is not None:
        raise ValueError("y is not supported", "stack the variables into one array first: "
                         "np.vstack((x, y))")
    c = np.cov(x, None, rowvar)
    d = np.sqrt(np.diagonal(c))
    return c / d[:, None] / d[None, :]


@composite(np.ediff1d)
def ediff1d(ary, to_end=None, to_begin=None):
    if to_end is not None or to_begin is not None:
        raise ValueError("to_end and to_begin are not supported",
                         "join the values with np.concatenate")
    return np.diff(np.ravel(ary))


@composite(np.vander)
def vander(x, N=None, increasing=False):
    columns = x.shape[0] if N is None else N
    out = np.zeros((x.shape[0], columns))
    for j in range(columns):
        out[:, j] = x ** (j if increasing else columns - 1 - j)
    return out


@composite(np.polyval)
def polyval(p, x):
    value = x * 0.0
    for k in range(len(p)):
        value = value * x + p[k]
    return value
