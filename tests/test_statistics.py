"""NumPy's statistics, defined in plain Python for the compiler (``rules/statistics.py``:
composites): gradients against central differences of NumPy's own functions, at random
points, with the options (axis, ddof, keepdims, weights, rowvar, bias) and at edges (an even
and an odd count for the median, a quantile on an entry and between two, NaNs skipped);
the options a definition does not take are refused at the user's line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

RNG = np.random.default_rng(11)
HOLES = np.array([[0.0, np.nan, 1.0, 0.5], [2.0, 0.0, np.nan, 1.0], [0.0, 1.0, 2.0, 0.0]])


def moments(x, w):
    return (np.std(x) + np.sum(np.std(x, axis=0, ddof=1)) + np.sum(np.var(x, 1, keepdims=True))
            + np.average(x ** 2, weights=w) + np.sum(np.average(x, axis=0) ** 2)
            + np.sum(np.average(x, axis=1, weights=w) ** 2)
            + np.sum(np.ptp(x, axis=1) ** 2) + np.ptp(x)
            + np.nansum(x + HOLES) + np.sum(np.nanmean(x * x + HOLES, axis=0)))


def order_statistics(x, w):
    return (np.median(x) ** 2 + np.median(x[0]) + np.percentile(x, 30.0)
            + np.quantile(x[1], 0.75) + np.quantile(x[2], 0.5))


def covariances(x, w):
    return (np.sum(np.cov(x, rowvar=False) ** 2) + np.sum(np.cov(x) * w[:, :3])
            + np.sum(np.cov(x, ddof=0)) + np.sum(np.cov(x, bias=True) ** 2)
            + np.sum(np.corrcoef(x)[0, 1:]) + np.sum(np.corrcoef(x, rowvar=False) * 0.3))


def polynomials(x, w):
    return (np.sum(np.ediff1d(x) ** 2) + np.sum(np.vander(x[0], 3) @ np.array([1.0, -2.0, 0.5]))
            + np.sum(np.vander(x[1], increasing=True) ** 2)
            + np.sum(np.polyval(x[0], np.array([0.5, 1.5, -1.0])) ** 2)
            + np.sum(np.polyval(np.array([1.0, 2.0, -0.5]), x)))


@pytest.mark.parametrize("f", [moments, order_statistics, covariances, polynomials],
                         ids=lambda f: f.__name__)
def test_statistics_match_central_differences(f):
    x = RNG.normal(size=(3, 4))
    w = RNG.uniform(0.5, 1.5, size=(3, 4))
    grads = adc.grad(f, wrt=(0, 1))(x, w)
    for k, g in enumerate(grads):
        want = numeric_gradient(f, (x, w), k)
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-8, err_msg=f"wrt {k}")


def middle_values(x):
    return np.median(x) + np.quantile(x, 0.25) + np.percentile(x, 50.0)


@pytest.mark.parametrize("n", [4, 5, 9])
def test_the_median_and_quantiles_at_even_and_odd_counts(n):
    """Odd n: the median is one entry; even n: the mean of two; quantile 0.25 of 5 values
    falls on an entry (derivative 1 there), of 4 and 9 between two (or on one)."""
    x = RNG.permutation(np.linspace(-1.0, 1.0, n)) + 0.01 * RNG.normal(size=n)
    g = adc.grad(middle_values)(x)
    np.testing.assert_allclose(g, numeric_gradient(middle_values, (x,), 0), rtol=1e-6,
                               atol=1e-8)
    assert g.sum() == pytest.approx(3.0)  # each statistic moves with a shift of x


def median_by_rows(x):
    return np.sum(np.median(x, axis=0))


def average_returning_weights(x, w):
    pair = np.average(x, weights=w, returned=True)
    return np.sum(pair)


def covariance_of_two(x, y):
    return np.sum(np.cov(x, y))


@pytest.mark.parametrize("f, args, words", [
    (median_by_rows, (np.ones((2, 3)),), "only the median of the whole array"),
    (average_returning_weights, (np.ones(3), np.ones(3)), "returned=True is not supported"),
    (covariance_of_two, (np.ones(3), np.ones(3)), "y, fweights and aweights"),
], ids=["median with axis", "average returned", "cov of two arrays"])
def test_options_a_definition_does_not_take_are_refused_at_the_call(f, args, words):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(*args)
    err = info.value
    assert words in str(err)
    assert err.filename == __file__ and err.lineno == f.__code__.co_firstlineno + 1
    assert err.hint
