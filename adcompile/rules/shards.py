"""Means over the rows of one shard of the data (``adcompile.shard``).

A loss split into shards of rows computes, on each shard, its part of a mean over all rows:
``np.mean(r)`` over the whole data is the sum over shards of ``row_mean(r_shard, rows)``, with
``rows`` the number of rows of the whole data.  Both are composites: the gradient code
differentiates their bodies like the user's own code.
"""

from __future__ import annotations

import numpy as np

from . import composite


def row_mean(a, rows_total):
    """This shard's part of the mean of all elements of ``a`` over the whole data."""
    return np.sum(a) * (a.shape[0] / (rows_total * a.size))


def row_mean_rows(a, rows_total):
    """This shard's part of ``np.mean(a, axis=0)`` over the whole data."""
    return np.sum(a, axis=0) / rows_total


@composite(row_mean)
def _row_mean(a, rows_total):
    return np.sum(a) * (a.shape[0] / (rows_total * a.size))


@composite(row_mean_rows)
def _row_mean_rows(a, rows_total):
    return np.sum(a, axis=0) / rows_total
