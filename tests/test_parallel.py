"""grad(..., parallel=True) and adcompile.shard: a loss proven to be a sum or mean over rows
is computed as a sum over shards of rows; everything else runs serially, with a warning.

Oracles: central differences of the loss in float64, and sums over random partitions of
the rows (hypothesis) against the gradient on all rows.
"""

from __future__ import annotations

import math
import warnings

import numba
import numpy as np
import pytest
from conftest import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import adcompile as adc
from adcompile import shard

RNG = np.random.default_rng(7)
N, D, K = 67, 3, 4
X = RNG.normal(size=(N, D))
Y = RNG.normal(size=N)
LABELS = RNG.integers(0, K, size=N)
ONEHOT = np.eye(K)[LABELS]


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# -- losses that split over rows ---------------------------------------------------------


def mean_squared(w, b, X, y, lam):
    p = sigmoid(X @ w + b)
    return np.mean((p - y) ** 2) + lam * np.sum(w * w)


def summed(w, X, y):
    r = X @ w - y
    return 0.5 * np.dot(r, r) + 1.0


def normal_equations(w, X, y):
    r = X @ w - y
    g = X.T @ r
    return np.sum(g * w) / len(X)


def rows_loop(w, X, y):
    n = X.shape[0]
    loss = 0.1 * w[0] ** 2
    for i in range(n):
        z = X[i, 0] * w[0] + X[i, 1] * w[1] + X[i, 2] * w[2]
        if z > 0.0:
            loss += (z - y[i]) ** 2
        else:
            loss += 0.5 * (z - y[i]) ** 2
    return loss / n


def softmax_ce(W, X, T):
    z = X @ W
    lse = np.log(np.sum(np.exp(z), axis=1))
    return -np.mean(np.sum(T * z, axis=1) - lse)


def column_means(w, X):
    return np.sum(np.mean(np.tanh(X * w), axis=0) * w)


def accumulated(w, X, y):
    n, d = X.shape
    total = 0.0
    for k in range(2):
        total = total + np.sum(np.abs(X[:, k] * w[k] - y)) / n
    return total + math.sqrt(w @ w)


SEPARABLE = {
    "mean_squared": (mean_squared, ("w", "b"), lambda: (RNG.normal(size=D), 0.2, X, Y, 0.3)),
    "summed": (summed, "w", lambda: (RNG.normal(size=D), X, Y)),
    "normal_equations": (normal_equations, "w", lambda: (RNG.normal(size=D), X, Y)),
    "rows_loop": (rows_loop, "w", lambda: (RNG.normal(size=D), X, Y)),
    "softmax_ce": (softmax_ce, "W", lambda: (RNG.normal(size=(D, K)), X, ONEHOT)),
    "column_means": (column_means, "w", lambda: (RNG.normal(size=D), X)),
    "accumulated": (accumulated, "w", lambda: (RNG.normal(size=D), X, Y)),
}


def _positions(f, wrt):
    params = list(f.__code__.co_varnames[:f.__code__.co_argcount])
    names = wrt if isinstance(wrt, tuple) else (wrt,)
    return [params.index(n) for n in names]


# the prange drivers take seconds to compile: three losses here, all of them in the shard
# property test below (which runs the shard functions, not the drivers)
@pytest.mark.parametrize("name", ["mean_squared", "rows_loop", "softmax_ce"])
def test_parallel_gradient_matches_numeric_gradient(name):
    f, wrt, make = SEPARABLE[name]
    args = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error", adc.ParallelWarning)
        vg = adc.value_and_grad(f, wrt=wrt, parallel=True)
        value, grads = vg(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    grads = grads if isinstance(wrt, tuple) else (grads,)
    for g, position in zip(grads, _positions(f, wrt), strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, args, position), rtol=1e-6,
                                   atol=1e-8)
    assert "prange" in vg.source  # the shards were made, not the serial fallback


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(sorted(SEPARABLE)),
       cuts=st.lists(st.integers(1, N - 1), max_size=6, unique=True))
def test_shards_add_up_to_the_whole(name, cuts):
    f, wrt, make = SEPARABLE[name]
    args = make()
    sh = shard.sharded(f, wrt, args=args)
    bounds = [0, *sorted(cuts), N]
    total_value, total = 0.0, None
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        part = tuple(a[lo:hi] if p in sh.rows else a for p, a in enumerate(args))
        value, grads = sh.value_and_grad(*part, N, 1.0 if k == 0 else 0.0)
        grads = grads if isinstance(wrt, tuple) else (grads,)
        total_value += value
        total = list(grads) if total is None else [t + g for t, g in zip(total, grads,
                                                                         strict=True)]
    assert total_value == pytest.approx(f(*args), rel=1e-10)
    for g, position in zip(total, _positions(f, wrt), strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, args, position), rtol=1e-6,
                                   atol=1e-8)


# -- losses that do not ------------------------------------------------------------------


def max_over_rows(w, X, y):
    return np.max(X @ w - y)


def square_of_mean(w, X, y):
    return np.mean(X @ w - y) ** 2


def log_of_sum(w, X):
    return np.log(np.sum(np.exp(X @ w)))


def first_row(w, X, y):
    return np.sum((X @ w - y) ** 2) + X[0, 0] * w[0]


def carried(w, X, y):
    h = 0.0
    loss = 0.0
    for i in range(len(X)):
        h = np.tanh(h + X[i, 0] * w[0])
        loss += (h - y[i]) ** 2
    return loss


def against_constant_rows(w, X, c):
    return np.sum((X @ w) * c)


def shifted(w, X, y):
    r = X @ w - y
    return np.sum(r[1:] * r[:-1])


NOT_SEPARABLE = {
    "max_over_rows": (max_over_rows, "w", lambda: (RNG.normal(size=D), X, Y)),
    "square_of_mean": (square_of_mean, "w", lambda: (RNG.normal(size=D), X, Y)),
    "log_of_sum": (log_of_sum, "w", lambda: (RNG.normal(size=D), X)),
    "first_row": (first_row, "w", lambda: (RNG.normal(size=D), X, Y)),
    "carried": (carried, "w", lambda: (RNG.normal(size=D), X, Y)),
    "shifted": (shifted, "w", lambda: (RNG.normal(size=D), X, Y)),
}


@pytest.mark.parametrize("name", sorted(NOT_SEPARABLE))
def test_not_separable_runs_serially_with_a_warning(name):
    f, wrt, make = NOT_SEPARABLE[name]
    args = make()
    g = adc.grad(f, wrt=wrt, parallel=True)
    with pytest.warns(adc.ParallelWarning, match=f"{f.__name__}\\(\\) is not a sum"):
        result = g(*args)
    np.testing.assert_allclose(result, numeric_gradient(f, args, 0), rtol=1e-6, atol=1e-8)
    with pytest.raises(adc.AdcompileError, match="is not a sum or mean over the rows"):
        shard.sharded(f, wrt, args=args)


def test_a_constant_as_long_as_the_rows_is_not_split():
    # c is not data (rows are X only, by the caller's choice): X @ w * c would pair the
    # rows of a shard with the first elements of c
    w = RNG.normal(size=D)
    with pytest.raises(adc.AdcompileError, match="same rank"):
        shard.sharded(against_constant_rows, "w", args=(w, X, Y), rows=("X",))


def test_parallel_gradient_inside_user_njit_loop():
    f, wrt, make = SEPARABLE["summed"]
    w0, X_, Y_ = make()
    g = adc.grad(summed, wrt="w", parallel=True)

    @numba.njit
    def descend(w, X, y, steps, lr):
        for _ in range(steps):
            w = w - lr * g(w, X, y)
        return w

    w = descend(w0.copy(), X_, Y_, 200, 0.005)
    expected = np.linalg.lstsq(X_, Y_, rcond=None)[0]
    np.testing.assert_allclose(w, expected, rtol=1e-6, atol=1e-8)


def test_options_are_checked():
    with pytest.raises(adc.AdcompileError, match="parallel"):
        adc.grad(summed, wrt="w", parallel="yes")
    with pytest.raises(adc.AdcompileError, match="checkpoints"):
        adc.grad(summed, wrt="w", checkpoints=0)


def test_optimizers_take_parallel_gradients():
    rng = np.random.default_rng(3)
    A = rng.normal(size=(400, 3))
    b = A @ np.array([1.0, -2.0, 0.5]) + 0.3
    serial = adc.optim.minibatch_sgd(mean_squared_error, (np.zeros(3), 0.0), data=(A, b),
                                     lr=0.1, batch_size=128, epochs=3, seed=1)
    split = adc.optim.minibatch_sgd(mean_squared_error, (np.zeros(3), 0.0), data=(A, b),
                                    lr=0.1, batch_size=128, epochs=3, seed=1, parallel=True)
    np.testing.assert_allclose(split.history, serial.history, rtol=1e-10)
    np.testing.assert_allclose(split.params[0], serial.params[0], rtol=1e-10)
    assert split.history[-1] < 0.05 * split.history[0]  # and it trains
    # (gd(..., parallel=True) takes the same path: _Problem.value_and_grad)


def mean_squared_error(w, c, X, y):
    return np.mean((X @ w + c - y) ** 2)


def masked(w, X, m):
    return np.sum((X * m) @ w)


def test_rows_of_different_ranks_are_not_paired():
    # m (the columns' mask) is an array argument, so it is taken for rows with X; pairing
    # X's rows with m's elements would be wrong, and the proof says so
    w = RNG.normal(size=D)
    with pytest.raises(adc.AdcompileError, match="different or unknown ranks"):
        shard.sharded(masked, "w", args=(w, X[:D], np.ones(D)), rows=("X", "m"))


# -- the proof, on generated losses ---------------------------------------------------------
#
# Losses drawn from a small grammar of row-wise and reducing operations, separable or not.
# Whatever the proof accepts, its shard function (run as plain Python: no compilation) must
# add up to the loss over any partition of the rows.

ROW_TERMS = ["(X @ w)", "X[:, 0]", "y", "np.tanh(X @ w)", "np.sum(X * X, axis=1)",
             "np.exp(-X[:, 1] * w[1])"]
BAD_ROW_TERMS = ["(X @ w)[::-1]", "np.cumsum(y)", "(y - np.mean(y))", "(X @ w) * y[0]"]


@st.composite
def row_expression(draw, depth=0):
    pool = ROW_TERMS + (BAD_ROW_TERMS if draw(st.integers(0, 5)) == 0 else [])
    if depth >= 2 or draw(st.booleans()):
        return draw(st.sampled_from(pool))
    a = draw(row_expression(depth + 1))
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return f"({a} {draw(st.sampled_from(['+', '-', '*']))} {draw(row_expression(depth + 1))})"
    if kind == 1:
        return f"({a} * {draw(st.sampled_from(['2.0', 'lam', 'w[0]']))})"
    if kind == 2:
        return f"{draw(st.sampled_from(['np.sin', 'np.tanh', 'np.abs']))}({a})"
    return f"np.where({a} > 0.0, {a}, 0.5 * {a})"


@st.composite
def scalar_expression(draw, depth=0):
    r = draw(row_expression())
    reducers = [f"np.sum({r})", f"np.mean({r})", f"np.sum({r} ** 2) / len(X)",
                f"np.dot({r}, {r})", f"np.sum({r}) / X.shape[0]"]
    bad = [f"np.max({r})", f"np.mean({r}) ** 2", f"np.log(1.0 + np.sum({r} ** 2))"]
    pool = reducers + (bad if draw(st.integers(0, 4)) == 0 else [])
    s = draw(st.sampled_from(pool))
    if depth < 1 and draw(st.booleans()):
        other = draw(scalar_expression(depth + 1))
        op = draw(st.sampled_from(["+", "-", "*"]))
        s = f"({s} {op} {other})"
    if draw(st.booleans()):
        s = f"{s} + lam * np.sum(w * w)"
    return s


@st.composite
def row_losses(draw):
    body = f"    return {draw(scalar_expression())}\n"
    if draw(st.integers(0, 3)) == 0:  # a loop over the rows
        step = draw(st.sampled_from([
            "(X[i] @ w - y[i]) ** 2", "np.tanh(X[i, 0] * w[0]) * y[i]",
            "lam * w[1]", "(X[i] @ w) * y[0]"]))
        start = draw(st.sampled_from(["0.0", "lam * w[0]"]))
        body = (f"    n = len(X)\n    acc = {start}\n    for i in range(n):\n"
                f"        acc += {step}\n    return acc / n + np.sum(w)\n")
    return "import numpy as np\n\n\ndef loss(w, X, y, lam):\n" + body


@settings(max_examples=120, deadline=None)
@given(source=row_losses(), cut=st.integers(1, 9))
def test_accepted_losses_add_up_over_shards(source, cut, tmp_path_factory):
    import ast
    import importlib.util

    directory = tmp_path_factory.mktemp("losses")
    path = directory / f"loss_{abs(hash(source))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    w, Xs, ys, lam = np.array([0.3, -0.7]), RNG.normal(size=(10, 2)), RNG.normal(size=10), 0.4
    try:
        p = shard.plan(module.loss, ["w"], ("X", "y"), {"w": 1, "X": 2, "y": 1, "lam": 0})
    except shard.NotSeparable:
        return
    namespace = dict(p.info.bindings)
    exec(compile(ast.Module(body=[p.info.tree], type_ignores=[]), str(path), "exec"),
         namespace)
    split = namespace["loss"]
    whole = module.loss(w, Xs, ys, lam)
    parts = (split(w, Xs[:cut], ys[:cut], lam, 10, 1.0)
             + split(w, Xs[cut:], ys[cut:], lam, 10, 0.0))
    assert parts == pytest.approx(whole, rel=1e-9, abs=1e-12), source
