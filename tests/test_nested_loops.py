"""Arrays written inside nested loops: stencils, dynamic-programming tables, pairwise force
loops, convolutions written as loops, ``while`` loops inside ``for`` loops, early exits.

Every gradient is checked against float64 central differences of the plain Python function
(``numeric_gradient``); none is compared with adcompile's own output.
"""

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    before = [np.copy(a) for a in args]
    got = adc.grad(f, wrt=wrt)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # the caller's arrays are never changed
    want = numeric_gradient(f, list(args), wrt)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                               err_msg=f"d {f.__name__} / d arg {wrt}")
    return got


def agrees_all(f, args, rtol=1e-6, atol=1e-8):
    """The gradient of every parameter from one compiled gradient, each against central
    differences (a test that compiles once per program)."""
    before = [np.copy(a) for a in args]
    got = adc.grad(f, wrt=tuple(range(len(args))))(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), i), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {i}")


def heat(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(6):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        v[0] = u[0]
        v[n - 1] = u[n - 1]
        u = v
    return np.sum(u ** 3)


def soft_dtw(x, y, gamma):
    n, m = x.shape[0], y.shape[0]
    R = np.full((n + 1, m + 1), 1e10)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a = -R[i - 1, j - 1] / gamma
            b = -R[i - 1, j] / gamma
            c = -R[i, j - 1] / gamma
            top = max(a, b, c)
            s = math.exp(a - top) + math.exp(b - top) + math.exp(c - top)
            R[i, j] = (x[i - 1] - y[j - 1]) ** 2 - gamma * (math.log(s) + top)
    return R[n, m]


def nbody(g, pos0):
    n = pos0.shape[0]
    pos = pos0.copy()
    vel = np.zeros((n, 2))
    for _step in range(4):
        f = np.zeros((n, 2))
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = pos[j, 0] - pos[i, 0]
                    dy = pos[j, 1] - pos[i, 1]
                    r2 = dx * dx + dy * dy + 0.1
                    inv = g / (r2 * math.sqrt(r2))
                    f[i, 0] += inv * dx
                    f[i, 1] += inv * dy
        vel = vel + 0.05 * f
        pos = pos + 0.05 * vel
    return np.sum(pos[:, 0] * pos[:, 1])


def triangle(x):
    n = x.shape[0]
    A = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            A[i, j] = x[i] * x[j] + math.sin(x[j] * i)
    return np.sum(A * A)


def while_inside_for(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        k = 0
        while s < 3.0 and k < i + 2:
            s = s * a + 0.5
            k = k + 1
        y[i] = s
    return np.sum(y ** 2)


def break_inside(x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for j in range(n):
            acc = acc + x[j] * x[i]
            if acc > 0.6:
                break
        y[i] = acc
    return np.sum(y * x)


def conv2d(img, k):
    H, W = img.shape[0], img.shape[1]
    out = np.zeros((H - 1, W - 1))
    for i in range(H - 1):
        for j in range(W - 1):
            for a in range(2):
                for b in range(2):
                    out[i, j] += img[i + a, j + b] * k[a, b]
    return np.sum(np.tanh(out))


def edit_distance(x, y):
    n, m = x.shape[0], y.shape[0]
    D = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        D[i, 0] = D[i - 1, 0] + 1.0
    for j in range(1, m + 1):
        D[0, j] = D[0, j - 1] + 1.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = (x[i - 1] - y[j - 1]) ** 2
            D[i, j] = min(D[i - 1, j] + 1.0, D[i, j - 1] + 1.0, D[i - 1, j - 1] + c)
    return D[n, m]


def viterbi(logA, em):
    T, S = em.shape[0], em.shape[1]
    V = np.zeros((T, S))
    for s in range(S):
        V[0, s] = em[0, s]
    for t in range(1, T):
        for s in range(S):
            best = -1e30
            for r in range(S):
                v = V[t - 1, r] + logA[r, s]
                if v > best:
                    best = v
            V[t, s] = best + em[t, s]
    return np.max(V[T - 1])


def rows_from_rows(x, W):
    H = np.zeros((W.shape[0], x.shape[0]))
    h = x.copy()
    for i in range(W.shape[0]):
        for j in range(x.shape[0]):
            H[i, j] = math.tanh(W[i, j] * h[j])
        h = H[i] * 1.0
    return np.sum(h)


def while_while(x):
    n = x.shape[0]
    y = np.zeros(n)
    i = 0
    while i < n:
        j = 0
        while j < i:
            y[i] += x[j] * x[i]
            j += 1
        i += 1
    return np.sum(np.sin(y))


def in_place_steps(u0, k):
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(3):
        lap = np.zeros(n)
        for i in range(1, n - 1):
            lap[i] = u[i - 1] - 2.0 * u[i] + u[i + 1]
        for i in range(n):
            u[i] += k * lap[i]
    return np.sum(u ** 3)


rng = np.random.default_rng(7)
CASES = [
    (heat, (0.2, rng.normal(size=7)), (0, 1)),
    (soft_dtw, (rng.normal(size=4), rng.normal(size=5), 0.7), (0, 1, 2)),
    (nbody, (0.5, rng.normal(size=(4, 2))), (0, 1)),
    (triangle, (rng.normal(size=4),), (0,)),
    (while_inside_for, (rng.uniform(0.1, 1.0, size=4), 1.3), (0, 1)),
    (break_inside, (rng.uniform(0.0, 0.5, size=5),), (0,)),
    (conv2d, (rng.normal(size=(4, 5)), rng.normal(size=(2, 2))), (0, 1)),
    (edit_distance, (rng.normal(size=4), rng.normal(size=5)), (0, 1)),
    (viterbi, (rng.normal(size=(3, 3)), rng.normal(size=(4, 3))), (0, 1)),
    (rows_from_rows, (rng.normal(size=3), rng.normal(size=(4, 3))), (0, 1)),
    (while_while, (rng.normal(size=5),), (0,)),
    (in_place_steps, (rng.normal(size=6), 0.2), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrts", CASES, ids=[c[0].__name__ for c in CASES])
def test_nested_loops_writing_arrays_match_finite_differences(f, args, wrts):
    before = [np.copy(a) for a in args]
    got = adc.grad(f, wrt=wrts)(*args)  # one gradient for every argument checked
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # the caller's arrays are never changed
    for wrt, g in zip(wrts, got, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), wrt), rtol=1e-6,
                                   atol=1e-8, err_msg=f"d {f.__name__} / d arg {wrt}")


def test_zero_trip_inner_loops_and_varying_trip_counts():
    # the inner loop runs 0, 1, ..., n-1 times: its stack tape grows across executions
    x = rng.normal(size=40)
    agrees(triangle, (x[:6],), 0)
    got = adc.grad(while_while)(x)
    want = numeric_gradient(while_while, [x], 0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_inner_loops_tape_scalars_not_arrays():
    # the stencil tapes one number per point and step (the sum the coefficient multiplies),
    # never a copy of u: u itself is read back only for its shape
    n, steps = 200, 6
    u0 = rng.normal(size=n)
    taped = adc.grad(heat, wrt=(0, 1)).tape_bytes(0.1, u0)
    assert taped <= 2 * steps * n * 8 + 512, taped  # a stack's room at most doubles
    source = adc.grad(heat, wrt=(0, 1)).source
    assert "i_pos" in source  # the inner loop's stack position
    assert "snapshot" not in source
    assert "grow_tape" not in source  # typed tapes reserved before the inner loop


def after_loop_store(x):
    A = np.ones(3) * 2.0
    y = 0.0
    for _i in range(3):
        y = y + np.sum(A * x) * y + x[0]
    A[0] = 5.0
    return y + np.sum(A * x)


def after_loop_view_store(x):
    A = np.ones((2, 3)) * 2.0
    y = 0.0
    for _i in range(3):
        t = A[0]
        y = y + np.sum(t * x) * y + x[0]
    A[0, 1] = 5.0
    return y + np.sum(A[0] * x)


@pytest.mark.parametrize("f", [after_loop_store, after_loop_view_store])
def test_a_loop_reading_an_array_written_after_it(f):
    # the reversal recomputes the loop after the store: it must read the old values
    agrees(f, (np.array([0.3, 0.5, -0.2]),), 0)


def table_with_break(y, z, A):
    # the break's flag is set in one arm of a branch and carried in the other: a value the
    # reversal may compute again only if every assignment of it can be
    Y = np.zeros((3, 3))
    for i in range(1, 3):
        for j in range(1, 3):
            if min(Y[i - 1, j], Y[i, j - 1]) > 0.25:
                break
            Y[i, j] = math.tanh(min(Y[i - 1, j], Y[i, j - 1]) * max(z * y, 2 * z * y)
                                + A[i % 2, j])
    return np.sum(Y * Y) / 9.0


def joined_columns(x, u, k):
    r = 0.0
    for i in range(2):
        for j in range(i, 3):
            r = r + np.column_stack((u, u)).T[i, j] * (-1.25 * k)
    return math.tanh(r) * x


def test_values_computed_again_only_when_every_assignment_can_be():
    A = np.array([[0.4271234, 0.5051234, -0.3001234], [0.8491234, 0.4281234, 0.3011234]])
    assert adc.check_grad(table_with_break, ("y", "z", "A"), 0.59, 1.278, A) < 1e-6
    assert adc.check_grad(joined_columns, ("x", "u"), 1.0, np.array([0.0, 1.18, 0.0]),
                          1.0) < 1e-6


def two_branches_on_one_condition(x, a):
    # t is computed again for the reversal of the first branch to run backwards (the second
    # one in the source), not only for the other
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        c = x[i] > 0.0
        if c:
            t = math.sin(a * x[i])
            y[i] = t * t
        s = y[i] * 2.0
        if c:
            y[i] = s + t * a
    return np.sum(y)


def test_values_computed_again_for_every_branch_on_their_condition():
    x = np.array([0.5, -0.3, 0.8, 0.1])
    assert adc.check_grad(two_branches_on_one_condition, ("x", "a"), x, 0.7) < 1e-6
