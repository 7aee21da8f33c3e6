"""NumPy's statistics as plain Python the compiler differentiates (``composite``).

Each definition takes NumPy's parameters in NumPy's order, so positional and keyword calls
bind as they do in NumPy; literal options (``axis``, ``ddof``, ``keepdims``) are substituted
before the body is read.
"""

import numpy as np

from ..kernels import reduced_size
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
