"""Loop programs as a physicist, a bioinformatician or an ML engineer writes them, a twelfth
sweep (double buffers swapped with ``u, v = v, u``, Gauss-Seidel, SOR and red-black sweeps,
periodic indices and ghost cells, views used for updates, dynamic programming with
backtracking and top-k by loops, grouped and dilated convolutions and im2col as loops, nested
tuple parameters with ``adc.optim`` and ``adc.check_grad``, int and bool arrays mixed with
float parameters): the forms that sweep found refused, made to work, and a few of its
programs of distinct kinds.

- a conditional expression with a number in one branch inside arithmetic, ``Y[:, j] =
  X[:, j] * w[j] + (Y[:, j - 1] if j > 0 else 0.0)`` (``-np.inf``, ``math.pi`` too, up to
  three in a statement): the statement once per branch (``adcompile/conditionals.py``);
- ``y.sort()`` of a local array, a row of one included: ``y[:] = np.sort(y)``.

Several forms sit behind one compile; every gradient is checked against float64 central
differences of the function run as plain Python (``agrees``), never against adcompile.
"""

import math

import numpy as np
import pytest
from test_reach_loops4 import agrees, leaves, rebuilt, tree_gradient

import adcompile as adc

rng = np.random.default_rng(1211)


def first_steps_as_numbers(X, w, T):
    # each conditional was refused: "a conditional expression is an array in one branch and
    # a number in the other"; as NumPy broadcasts, the number stands for the whole column
    n, m = X.shape
    Y = np.zeros((n, m))
    for j in range(m):
        Y[:, j] = X[:, j] * w[j] + (Y[:, j - 1] if j > 0 else 0.0)
    Z = np.zeros((n, m))
    for j in range(m):
        Z[:, j] = (0.5 if j == 0 else Z[:, j - 1]) * w[j] + X[:, j]
    D = np.zeros((n, m))
    for i in range(n):
        D[i] = np.maximum(X[i] * w, (D[i - 1] if i > 0 else -np.inf)) + X[i]
    S = np.zeros((n, m))
    for j in range(m):
        S[:, j] = X[:, j] + (S[:, j - 1] if j > 0 else 0.0) + (S[:, j - 2] if j > 1 else 1) * w[j]
    H = np.zeros((n, m))
    for i in range(n):
        H[i] += np.tanh(X[i] + w[0] * (H[i - 1] if i >= 1 else math.pi))
    P = np.zeros_like(T)
    for k in range(T.shape[0]):
        P[k] = w[1] * T[k] + 0.5 * (P[k - 1] if k > 0 else 0.0)
    return (np.sum(Y ** 2) + np.sum(Z * X) + np.sum(D) + 0.1 * np.sum(S ** 2) + np.sum(H)
            + np.sum(P ** 2))


def sorted_in_place(A0, w):
    # y.sort() was refused ("an expression statement has no effect on the result")
    A = A0 * w
    r = A[1]
    r.sort()  # a row, sorted where it lies
    y = A0[0] * w[0]
    y.sort()
    A.sort()
    return np.sum(A * np.arange(A.shape[1])) + np.sum(y * np.arange(y.shape[0]))


@pytest.mark.parametrize(("f", "args"), [
    (first_steps_as_numbers, (rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, 4),
                              rng.uniform(-1, 1, (3, 2, 2)))),
    (sorted_in_place, (rng.uniform(-1, 1, (3, 4)), rng.uniform(0.5, 1.5, 4))),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_program_matches_central_differences(f, args):
    agrees(f, args, tuple(range(len(args))), rtol=1e-6, atol=1e-8)


def first_column_in_forward_mode(X, w):
    Y = np.zeros_like(X)
    for j in range(X.shape[1]):
        Y[:, j] = np.sin(X[:, j] * w + (Y[:, j - 1] if j > 0 else -1.5))
    return np.sum(Y ** 2)


def test_a_lifted_conditional_in_forward_mode():
    X, w = rng.uniform(-1, 1, (2, 3)), 0.7
    value, tangent = adc.jvp(first_column_in_forward_mode, wrt="w")(X, w, 1.0)
    h = 1e-6
    want = (first_column_in_forward_mode(X, w + h) - first_column_in_forward_mode(X, w - h)) / (
        2 * h)
    assert value == pytest.approx(first_column_in_forward_mode(X, w), rel=1e-12)
    assert tangent == pytest.approx(want, rel=1e-6)


def prev_is_a_number_or_a_row(X, a):
    H = np.zeros_like(X)
    for i in range(X.shape[0]):
        prev = H[i - 1] if i > 0 else -np.inf
        H[i] = np.maximum(prev, X[i] * a)
    return np.sum(H)


def row_updated_through_a_name(A0, s):
    A = A0.copy()
    for i in range(A.shape[0]):
        row = A[i]
        row += s * i
    return np.sum(A ** 2)


def sorted_alias(x, w):
    y = x * w
    z = y
    y.sort()
    return np.sum(z * np.arange(z.shape[0]))


def sorts_its_argument(x, w):
    x.sort()
    return np.sum(x * w)


def test_what_stays_refused_is_refused_at_its_line():
    X = rng.uniform(-1, 1, (3, 4))
    line = prev_is_a_number_or_a_row.__code__.co_firstlineno
    # the conditional is the whole value: 'prev' would be a number or a row
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops11\.py:\d+.*a conditional "
                       r"expression is an array in one branch and a number") as info:
        adc.grad(prev_is_a_number_or_a_row)(X, 0.5)
    assert info.value.lineno == line + 3
    assert "np.zeros_like" in str(info.value)
    # row = A[i]; row += ...: A's rank is not known where the code is generated
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops11\.py:\d+.*'row \+= \.\.\.' "
                       "changes in place the row") as info:
        adc.grad(row_updated_through_a_name)(X, 0.5)
    assert info.value.lineno == row_updated_through_a_name.__code__.co_firstlineno + 4
    # sorted in place under another name; the caller's array sorted in place
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops11\.py:\d+.*'z' is a view "
                       "of 'y', which was written after"):
        adc.grad(sorted_alias)(X[0], 0.5)
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops11\.py:\d+.*writing into "
                       "the argument 'x'"):
        adc.grad(sorts_its_argument, wrt="w")(X[0].copy(), X[1])


# ------------------------------------------------------------- programs of the sweep, as found


def stale_boundary_double_buffer(u0, k):
    # the boundary of v is never written: after a swap it holds the values of two steps ago
    u = u0.copy()
    v = u0 * 0.5
    n = u.shape[0]
    for _ in range(5):
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2 * u[i] + u[i + 1])
        u, v = v, u
    return np.sum(u ** 2) + np.sum(v)


def red_black_sor(f, w):
    n, m = f.shape
    u = np.zeros((n + 2, m + 2))
    for _ in range(2):
        for color in range(2):
            for i in range(1, n + 1):
                for j in range(1, m + 1):
                    if (i + j) % 2 == color:
                        u[i, j] = (1 - w) * u[i, j] + w * 0.25 * (
                            u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] + f[i - 1, j - 1])
    return np.sum(u ** 2)


def dtw_with_backtracked_length(x, y):
    n, m = x.shape[0], y.shape[0]
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            D[i, j] = (x[i - 1] - y[j - 1]) ** 2 + min(D[i - 1, j - 1], D[i - 1, j], D[i, j - 1])
    i, j = n, m
    length = 0
    while i > 1 or j > 1:
        k = np.argmin(np.array([D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]]))
        if k == 0:
            i -= 1
            j -= 1
        elif k == 1:
            i -= 1
        else:
            j -= 1
        length += 1
    return D[n, m] / length


def grouped_conv_top_k(x, w, k):
    C, H, W = x.shape
    n_out, Cg, kh, kw = w.shape
    og = n_out // (C // Cg)
    out = np.zeros((n_out, H - kh + 1, W - kw + 1))
    for o in range(n_out):
        g = o // og
        for c in range(Cg):
            for i in range(H - kh + 1):
                for j in range(W - kw + 1):
                    for p in range(kh):
                        for q in range(kw):
                            out[o, i, j] += x[g * Cg + c, i + p, j + q] * w[o, c, p, q]
    s = out.ravel()
    idx = np.arange(s.shape[0])
    for a in range(k):  # selection of the k largest, by swaps of indices
        best = a
        for b in range(a + 1, s.shape[0]):
            if s[idx[b]] > s[idx[best]]:
                best = b
        idx[a], idx[best] = idx[best], idx[a]
    total = 0.0
    for a in range(k):
        total += s[idx[a]]
    return total + 0.1 * np.sum(out ** 2)


def int_labels_and_masks(logits, labels, keep, w):
    loss = 0.0
    for i in range(logits.shape[0]):
        if not keep[i]:
            continue
        row = logits[i] * w
        m = np.max(row)
        loss += m + np.log(np.sum(np.exp(row - m))) - row[labels[i]]
    counts = np.zeros(w.shape[0])
    for i in range(labels.shape[0]):
        counts[labels[i]] += 1
    return loss + np.sum(counts.astype(float) * w ** 2) / (labels.shape[0] // 2)


@pytest.mark.parametrize(("f", "args", "wrt"), [
    (stale_boundary_double_buffer, (rng.uniform(-1, 1, 5), 0.2), (0, 1)),
    (red_black_sor, (rng.uniform(-1, 1, (2, 3)), 1.2), (0, 1)),
    (dtw_with_backtracked_length, (rng.uniform(-1, 1, 3), rng.uniform(-1, 1, 4)), (0, 1)),
    (grouped_conv_top_k, (rng.uniform(-1, 1, (2, 3, 3)), rng.uniform(-1, 1, (2, 1, 2, 2)), 3),
     (0, 1)),
    (int_labels_and_masks, (rng.uniform(-1, 1, (4, 3)), np.array([0, 2, 1, 2]),
                            np.array([True, False, True, True]), rng.uniform(0.5, 1, 3)),
     (0, 3)),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_sweep_program_matches_central_differences(f, args, wrt):
    agrees(f, args, wrt, rtol=1e-6, atol=1e-8)


def two_layer_tuple(params, X):
    (W1, b1), (w2, b2) = params
    h = np.tanh(X @ W1 + b1)
    return np.sum((h @ w2 + b2) ** 2)


def test_nested_tuple_parameter_by_gd_and_check_grad():
    params = ((rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, 2)), (rng.uniform(-1, 1, 2), 0.1))
    X = rng.uniform(-1, 1, (4, 3))
    got = adc.optim.gd(two_layer_tuple, params, wrt=0, args=(X,), lr=0.01, steps=2).params
    want = params
    for _ in range(2):
        g = tree_gradient(two_layer_tuple, [want, X], 0)
        steps = [a - 0.01 * b for a, b in zip(leaves(want), leaves(g), strict=True)]
        want = rebuilt(want, iter(steps))
    for a, b in zip(leaves(got), leaves(want), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-10)
    assert adc.check_grad(two_layer_tuple, 0, params, X, rtol=1e-6, atol=1e-8) < 1e-6
