"""Gradients of losses over many rows, run block by block from Python (adcompile.blocks):
checked against hand-derived gradients and central differences of the plain function, with
the conditions under which the generated gradient runs in one pass instead."""

import numpy as np
from conftest import numeric_gradient

import adcompile as adc
from adcompile import blocks

rng = np.random.default_rng(7)
N, D = 12_000, 50  # 4.8 MB of X: above blocks.MIN_BYTES, several blocks


def logistic(w, b, X, y, lam):
    return np.mean(np.logaddexp(0.0, -y * (X @ w + b))) + lam * np.sum(w * w)


def logistic_by_hand(w, b, X, y, lam):
    m = -y * (X @ w + b)
    r = -y / (1.0 + np.exp(-m)) / X.shape[0]
    return np.mean(np.logaddexp(0.0, m)) + lam * np.sum(w * w), r @ X + 2.0 * lam * w, r.sum()


def data(n=N, d=D):
    X = rng.normal(size=(n, d))
    y = np.sign(rng.normal(size=n))
    return 0.1 * rng.normal(size=d), 0.2, X, y, 0.01


def used_blocks(fn):
    return [s for s in fn.row_blocks.shards.values() if s is not None]


def test_a_loss_over_many_rows_runs_in_blocks_and_matches_the_hand_gradient():
    args = data()
    assert blocks.MIN_BYTES <= args[2].nbytes < 4 * blocks.MIN_BYTES
    vg = adc.value_and_grad(logistic, wrt=("w", "b"))
    value, (dw, db) = vg(*args)
    assert used_blocks(vg)
    want_value, want_w, want_b = logistic_by_hand(*args)
    np.testing.assert_allclose(value, want_value, rtol=1e-13)
    np.testing.assert_allclose(dw, want_w, rtol=1e-11, atol=1e-15)
    np.testing.assert_allclose(db, want_b, rtol=1e-11, atol=1e-15)
    g = adc.grad(logistic, wrt="w")
    np.testing.assert_allclose(g(*args), want_w, rtol=1e-11, atol=1e-15)
    assert used_blocks(g)
    # a regularization term counts once, not once per block, whatever the number of blocks
    big = data(n=3 * N)
    np.testing.assert_allclose(vg(*big)[1][0], logistic_by_hand(*big)[1], rtol=1e-11,
                               atol=1e-15)


def poisson(theta, X, counts, offset):
    eta = X @ theta + offset
    return np.sum(np.exp(eta) - counts * eta) / X.shape[0]


def test_integer_rows_and_a_row_loop_free_loss_match_central_differences():
    X = 0.3 * rng.normal(size=(N, D))
    counts = rng.poisson(2.0, size=N)  # int64 rows
    offset = 0.1 * rng.normal(size=N)
    theta = 0.1 * rng.normal(size=D)
    g = adc.grad(poisson, wrt="theta")
    got = g(theta, X, counts, offset)
    assert used_blocks(g)
    np.testing.assert_allclose(got, numeric_gradient(poisson, [theta, X, counts, offset], 0),
                               rtol=1e-6, atol=1e-8)


def spread(w, X):
    # not a sum over rows: the largest row value against the mean
    z = X @ w
    return np.max(z) - np.mean(z)


def test_the_generated_gradient_runs_where_blocks_do_not_apply():
    w, b, X, y, lam = data()
    # not a sum over rows: the proof fails once, the one-pass gradient runs
    g = adc.grad(spread, wrt="w")
    np.testing.assert_allclose(g(w, X), numeric_gradient(spread, [w, X], 0), rtol=1e-5,
                               atol=1e-7)
    assert not used_blocks(g) and list(g.row_blocks.shards.values()) == [None]
    vg = adc.value_and_grad(logistic, wrt=("w", "b"))
    want = logistic_by_hand(w, b, X, y, lam)
    runs = (
        (w, b, X, y[:-1], lam),              # rows of different lengths
        (w, b, np.asfortranarray(X), y, lam),  # rows not contiguous
        (w, b, X[:100], y[:100], lam),       # little data: one pass
    )
    for args in runs:
        assert vg.row_blocks.rows_of(args) is None
    value, (dw, db) = vg(w, b, np.asfortranarray(X), y, lam)
    np.testing.assert_allclose(dw, want[1], rtol=1e-11, atol=1e-15)
    # a matrix parameter: matrix products, bound by arithmetic: one pass
    W = 0.1 * rng.normal(size=(D, 3))

    def softplus_sum(W, X):
        return np.mean(np.logaddexp(0.0, X @ W))

    gm = adc.grad(softplus_sum, wrt="W")
    assert gm.row_blocks.rows_of((W, X)) is None
    got = gm(W, X)
    p = 1.0 / (1.0 + np.exp(-(X @ W)))
    np.testing.assert_allclose(got, X.T @ p / (X.shape[0] * 3), rtol=1e-11)
