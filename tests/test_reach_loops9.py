"""Loop programs as a physicist, a bioinformatician or a JAX user writes them, a tenth sweep
(integrators with state helpers and rotated time levels, relaxation on grids, dynamic
programming with back-pointers, convolutions and pooling on (N, C, H, W) arrays written as
loops, tuple parameters, Kalman filters, particles, early exits, scans): the forms that sweep
found wrong, refused or crashing, made to work, and a few of its programs of distinct
kinds.

Several forms sit behind one compile; every gradient is checked against float64 central
differences of the function run as plain Python (``agrees``), never against adcompile.
"""

import math
import re

import numpy as np
import pytest
from test_reach_loops4 import agrees

import adcompile as adc

rng = np.random.default_rng(90)

#: data rows read by the programs (a module-level array, as a script holds its data)
GRID = np.array([0.1, 0.5, 0.8, 1.2])
DATA = np.array([[0.2, -0.4, 0.7], [0.9, 0.1, -0.3], [-0.5, 0.6, 0.4], [0.3, 0.8, -0.9]])


def reset_each_step(x, a):
    # a work array reset at every step by .fill and by [...] =, then accumulated into (a
    # force array zeroed per step); x[...] and y[i, ...] (a lone Ellipsis reached Numba,
    # which cannot lower it: "report a bug"); np.copyto and a ufunc's out= as statements
    # (refused as "an expression statement has no effect")
    n = x.shape[0]
    g = np.empty(n)
    f = np.zeros(n)
    w = x[...] * 1.0
    hist = np.zeros((3, n))
    for t in range(3):
        g.fill(0.0)
        f[...] = a
        for i in range(1, n):
            g[i] += w[i] * w[i - 1] * a
            f[i] -= 0.5 * w[i]
        h = w - 0.1 * (g + f)
        np.maximum(h, -0.6, out=h)
        np.copyto(w, h)
        hist[t, ...] = w
    return np.sum(hist ** 2) + np.sum(hist[..., 0] * a)


def cells_from_floor(pos, h):
    # a particle's cell, np.floor(...).astype(np.int64), used as an index (was refused:
    # only .astype(float) was read), and .astype(int); DATA.T of a module-level array (was
    # "cannot use 'DATA.T' as a value", with a hint saying .T can be read)
    cells = np.floor(pos / h).astype(np.int64)
    mass = np.zeros(4)
    for i in range(pos.shape[0]):
        mass[cells[i]] += pos[i] ** 2
    k = (pos * 2.0).astype(int)
    proj = DATA.T @ pos[:4] * h
    # np.where of one argument (reached the kernel of np.where(c, a, b): a Numba typing
    # error) and indexing by np.nonzero's tuple (a Numba KeyError, "report a bug")
    far = np.where(pos > 0.7)[0]
    near = pos[np.nonzero(pos < 0.5)]
    # np.interp, a lookup table read by value (had no derivative rule), x and fp active
    table = np.interp(pos, GRID, pos[:4] * h)
    return (np.sum(mass * np.arange(1, 5)) + np.sum(k * pos) + np.sum(proj ** 2)
            + DATA.T.size + np.sum(pos[far] ** 3) * h + np.sum(near * h) + np.sum(table ** 2))


PICK = np.array([0, 2, 3])


def stores_by_index_arrays(x, a, b):
    # y[idx] = ... of a product with a number or a (1,) array: the value stored was taken
    # for an element (an index read as an int), so its adjoint was not summed over the
    # broadcast axis: d b came out of shape (3,) (silently wrong) and d a an array (refused
    # as "returns an array"); in a loop, a Numba typing error
    y = np.zeros(5)
    idx = np.array([1, 3, 4])
    y[idx] = x[idx] * b
    for t in range(3):
        y[PICK] = y[PICK] * a + x[PICK] * b
        y[1] += x[t] * a
    return np.sum(y ** 2)


def pair_cutoff_by_norm(x, r):
    # rows of an array whose rank is not known where the code is generated, read in a pair
    # loop and passed to np.linalg.norm: taken for elements, their adjoints were summed in a
    # number while the loop ran (a Numba typing error, "report a bug")
    P = np.array([[0.0, 0.1], [0.3, 0.2], [1.0, 1.0], [0.2, 0.5]]) + x.reshape(4, 1) * 0.1
    E = 0.0
    for i in range(4):
        for j in range(i + 1, 4):
            d = np.linalg.norm(P[i] - P[j])
            if d < r:
                E += (r - d) ** 2
    return E


def viterbi_backpointers(logA, logB):
    # Viterbi with an int back-pointer table and argmax; the score of the best path walked
    # back through the pointers (piecewise: the gradient of that path's score)
    T, K = logB.shape
    delta = logB[0].copy()
    bp = np.zeros((T, K), dtype=np.int64)
    for t in range(1, T):
        new = np.empty(K)
        for j in range(K):
            scores = delta + logA[:, j]
            bp[t, j] = np.argmax(scores)
            new[j] = scores[bp[t, j]] + logB[t, j]
        delta = new
    state = np.argmax(delta)
    score = delta[state]
    path_score = logB[T - 1, state]
    for t in range(T - 1, 0, -1):
        prev = bp[t, state]
        path_score += logA[prev, state] + logB[t - 1, prev]
        state = prev
    return score + path_score


def american_put(S0, sigma, r):
    # a binomial tree walked backward in time, max(continuation, exercise) in place
    N = 6
    dt = 1.0 / N
    u = math.exp(sigma * math.sqrt(dt))
    d = 1.0 / u
    p = (math.exp(r * dt) - d) / (u - d)
    K = 1.05
    V = np.zeros(N + 1)
    for i in range(N + 1):
        V[i] = max(K - S0 * u ** (N - i) * d ** i, 0.0)
    for step in range(N - 1, -1, -1):
        for i in range(step + 1):
            cont = math.exp(-r * dt) * (p * V[i] + (1 - p) * V[i + 1])
            V[i] = max(cont, K - S0 * u ** (step - i) * d ** i)
    return V[0]


def maxpool_then_for_else(x, thr):
    # max-pooling of an (N, C, H, W) array with `if v > best`, then a search with for ... else
    N, C, H, W = x.shape
    out = np.zeros((N, C, H // 2, W // 2))
    for n in range(N):
        for c in range(C):
            for i in range(H // 2):
                for j in range(W // 2):
                    best = -np.inf
                    for a in range(2):
                        for b in range(2):
                            v = x[n, c, 2 * i + a, 2 * j + b]
                            if v > best:
                                best = v
                    out[n, c, i, j] = best
    flat = out.reshape(-1)
    s = 0.0
    for k in range(flat.shape[0]):
        s += flat[k] * thr
        if s > 1.5:
            break
    else:
        s = -s
    return np.sum(out ** 2) + s


@pytest.mark.parametrize(("f", "args"), [
    (reset_each_step, (rng.uniform(-1, 1, 5), 0.4)),
    (cells_from_floor, (np.array([0.13, 0.61, 1.37, 1.12, 0.88]), 0.4)),
    (stores_by_index_arrays, (rng.uniform(-1, 1, 5), 0.6, np.array([0.7]))),
    (pair_cutoff_by_norm, (np.array([0.3, -0.5, 0.2, 0.9]), 0.5)),
    (viterbi_backpointers, (np.log(np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2],
                                             [0.2, 0.3, 0.5]])), rng.uniform(-2, 0, (5, 3)))),
    (american_put, (1.0, 0.2, 0.05)),
    (maxpool_then_for_else, (rng.uniform(-1, 1, (2, 2, 4, 4)), 0.7)),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_program_matches_central_differences(f, args):
    agrees(f, args, tuple(range(len(args))))


def rows_or_zero(A, s):
    C = np.zeros((3, 4))
    for j in range(4):
        prev = C[:, j - 1] if j > 0 else 0.0  # (inside the sum it works: test_reach_loops11)
        C[:, j] = np.tanh(A[:, j] * s + prev)
    return np.sum(C)


def edge_padded(u, k):
    p = np.pad(u, 1, mode="maximum")  # (mode="edge" works: tests/test_pad_modes.py)
    return np.sum((p[:-2] + p[2:] - 2 * u) * k)


def test_refused_at_the_users_line_with_the_form_that_works():
    # a conditional expression of a row and a number: was "the variable 't3' holds ..."
    # at the def line (a temporary's name); now the user's line and the rewrite
    with pytest.raises(adc.AdcompileError) as info:
        adc.value_and_grad(rows_or_zero, wrt=(0, 1))(rng.uniform(-1, 1, (3, 4)), 0.5)
    message = str(info.value)
    assert info.value.construct == "a conditional expression of an array and a number"
    assert re.search(r"test_reach_loops9\.py:\d+", message)
    assert "C[:, j - 1] if j > 0 else 0.0" in message and "np.zeros_like" in message
    assert "report" not in message
    # options given as strings stay refused at their line, with the way out
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops9\.py:\d+.*mode='maximum'"):
        adc.grad(edge_padded)(np.ones(4), 0.5)
