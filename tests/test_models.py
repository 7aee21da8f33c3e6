"""Models as users write them, each gradient checked against float64 central differences at a
random point, then called from a user ``@numba.njit`` loop.

Each model is written the way one would write it for NumPy: vectorised expressions where they
are natural, index loops where they are natural (labels read one by one, a recurrence filling
a preallocated array).
"""

from __future__ import annotations

from functools import cache

import numba
import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

RTOL, ATOL = 1e-5, 1e-7


# -- the models -------------------------------------------------------------------------------

def logistic_regression(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


def mlp(W1, b1, W2, b2, X, y):
    hidden = np.tanh(X @ W1 + b1)
    out = hidden @ W2 + b2
    return np.mean((out - y) ** 2)


def softmax_cross_entropy(W, b, X, labels):
    logits = X @ W + b
    shifted = logits - logits.max(axis=1).reshape(-1, 1)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1)).reshape(-1, 1)
    n = X.shape[0]
    total = 0.0
    for i in range(n):
        total -= log_probs[i, labels[i]]
    return total / n


def softmax_cross_entropy_one_hot(W, b, X, Y):
    logits = X @ W + b
    shifted = logits - logits.max(axis=1).reshape(-1, 1)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1)).reshape(-1, 1)
    return -np.sum(Y * log_probs) / X.shape[0]


def least_squares(x, A, b):
    r = A @ x - b
    return np.dot(r, r)


def recurrence(w, u, x, target):
    n = len(x)
    h = np.zeros(n + 1)
    loss = 0.0
    for t in range(n):
        h[t + 1] = np.tanh(w * h[t] + u * x[t])
        loss += (h[t + 1] - target[t]) ** 2
    return loss


def rnn(W, U, v, xs, ys):
    steps = xs.shape[0]
    h = np.zeros((steps + 1, W.shape[0]))
    loss = 0.0
    for t in range(steps):
        h[t + 1] = np.tanh(W @ h[t] + U @ xs[t])
        loss += (h[t + 1] @ v - ys[t]) ** 2
    return loss / steps


# -- data at a random point -------------------------------------------------------------------

def logistic_case():
    r = np.random.default_rng(1)
    X = r.normal(size=(20, 3))
    y = (r.uniform(size=20) < 0.5).astype(np.float64)
    return logistic_regression, ("w", "b"), (r.normal(size=3), 0.3, X, y)


def mlp_case():
    r = np.random.default_rng(2)
    X = r.normal(size=(16, 2))
    y = np.sin(X[:, 0]) * X[:, 1]
    args = (r.normal(size=(2, 8)) * 0.8, r.normal(size=8) * 0.3, r.normal(size=8) * 0.5,
            0.1, X, y)
    return mlp, ("W1", "b1", "W2", "b2"), args


def softmax_case():
    r = np.random.default_rng(3)
    X = r.normal(size=(12, 3))
    labels = r.integers(0, 4, size=12)
    return softmax_cross_entropy, ("W", "b"), (r.normal(size=(3, 4)), r.normal(size=4), X,
                                               labels)


def softmax_one_hot_case():
    f, wrt, (W, b, X, labels) = softmax_case()
    Y = np.eye(4)[labels]
    return softmax_cross_entropy_one_hot, wrt, (W, b, X, Y)


def least_squares_case():
    r = np.random.default_rng(4)
    A = r.normal(size=(6, 3))
    return least_squares, ("x", "A", "b"), (r.normal(size=3), A, r.normal(size=6))


def recurrence_case():
    r = np.random.default_rng(5)
    return recurrence, ("w", "u"), (0.7, -0.4, r.normal(size=8), r.normal(size=8) * 0.3)


def rnn_case():
    r = np.random.default_rng(6)
    steps, hidden, inputs = 5, 3, 2
    args = (r.normal(size=(hidden, hidden)) * 0.5, r.normal(size=(hidden, inputs)),
            r.normal(size=hidden), r.normal(size=(steps, inputs)), r.normal(size=steps))
    return rnn, ("W", "U", "v"), args


CASES = {"logistic regression": logistic_case, "two-layer tanh MLP": mlp_case,
         "softmax cross-entropy, labels by index": softmax_case,
         "softmax cross-entropy, one-hot labels": softmax_one_hot_case,
         "least squares": least_squares_case, "scalar recurrence": recurrence_case,
         "RNN": rnn_case}


@cache
def gradient(f, wrt):
    return adc.grad(f, wrt=wrt)


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_against_finite_differences(case):
    f, wrt, args = CASES[case]()
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    got = gradient(f, wrt)(*args)
    assert isinstance(got, tuple) and len(got) == len(wrt)
    for name, g in zip(wrt, got, strict=True):
        i = params.index(name)
        where = f"{case}: d loss / d {name}"
        if isinstance(args[i], float):
            assert isinstance(g, float), f"{where}: want a float, got {g!r}"
        else:
            assert isinstance(g, np.ndarray) and g.shape == args[i].shape, f"{where}: {g!r}"
        np.testing.assert_allclose(g, numeric_gradient(f, args, i), rtol=RTOL, atol=ATOL,
                                   err_msg=where)


# -- called from user compiled code -----------------------------------------------------------

@numba.njit
def call_in_numba(df, args, times):
    """The gradient at ``args``, computed ``times`` times in a compiled loop."""
    out = df(*args)
    for _ in range(times - 1):
        out = df(*args)
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_gradient_callable_from_njit(case):
    f, wrt, args = CASES[case]()
    df = gradient(f, wrt)
    inside = call_in_numba(df, args, 3)
    outside = df(*args)
    for a, b in zip(inside, outside, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@numba.njit
def train_logistic(df, w, b, X, y, steps, rate):
    for _ in range(steps):
        dw, db = df(w, b, X, y)
        w = w - rate * dw
        b = b - rate * db
    return w, b


@numba.njit
def train_mlp(df, W1, b1, W2, b2, X, y, steps, rate):
    for _ in range(steps):
        dW1, db1, dW2, db2 = df(W1, b1, W2, b2, X, y)
        W1 = W1 - rate * dW1
        b1 = b1 - rate * db1
        W2 = W2 - rate * dW2
        b2 = b2 - rate * db2
    return W1, b1, W2, b2


def test_logistic_regression_trained_in_a_numba_loop():
    f, wrt, (w, b, X, y) = logistic_case()
    df = gradient(f, wrt)
    w1, b1 = train_logistic(df, w, b, X, y, 50, 0.5)
    w_py, b_py = w, b
    for _ in range(50):  # the same steps from Python
        dw, db = df(w_py, b_py, X, y)
        w_py, b_py = w_py - 0.5 * dw, b_py - 0.5 * db
    np.testing.assert_allclose(w1, w_py, rtol=1e-12)
    assert b1 == pytest.approx(b_py, rel=1e-12)
    assert f(w1, b1, X, y) < 0.9 * f(w, b, X, y)


def test_mlp_trained_in_a_numba_loop():
    f, wrt, args = mlp_case()
    X, y = args[4], args[5]
    df = gradient(f, wrt)
    trained = train_mlp(df, *args[:4], X, y, 100, 0.1)
    assert f(*trained, X, y) < 0.7 * f(*args)
