"""Loop programs as scientists and JAX users write them, a sixth sweep (124 programs: RK4 and
midpoint integrators with helpers returning tuples, leapfrog and Verlet, 2-D heat and wave
equations with np.roll and slices, Jacobi and Gauss-Seidel sweeps with tolerance exits, scalar
and matrix Kalman filters, an EKF whose helper returns a pair, a particle filter with fixed
noise, LSTM cells with tuple state, GRUs on nested tuples, attention over a list of states,
HMM forward/backward with log-sum-exp, Viterbi with back pointers, soft edit distance and DTW
on tables with np.inf borders, the inside algorithm, NCHW convolutions and max/avg pooling
over rank-4 batches, Newton iterations inside the loss, conjugate gradients, IRLS, graph
energies over edge lists, float32 inputs, np.float32, module-level data, pytrees of tuples,
second order through np.linalg).
The programs kept here are those of the classes the sweep found (edge lists unpacked in a
loop target, a module array's .shape, lists appended to in loops over rows, max and min of
generators, np.clip of numbers, np.einsum in a loop, np.float32), and a few of each kind.
Every gradient is checked against float64 central differences of the function run as plain
Python, or against a derivative worked out by hand where Python's own arithmetic is float32.
"""

import math

import numpy as np
import pytest
from test_higher_contract import fd_hessian
from test_reach_loops4 import agrees

import adcompile as adc

EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])

# ---------------------------------------------------------------- the classes found


def graph_energy_edges_unpacked(x):
    # once refused ("the loop target '(i, j)' unpacks each element of an array")
    e = 0.0
    for i, j in EDGES:
        e += (x[i] - x[j]) ** 2
    return e


def graph_edges_param(x, edges):
    e = 0.0
    for k, (i, j) in enumerate(edges):
        e += x[i] * x[j] * (k + 1)
    return e


def graph_edges_shape(x):
    # once refused ("cannot use 'EDGES.shape' as a value")
    e = 0.0
    for k in range(EDGES.shape[0]):
        e += math.cos(x[EDGES[k, 0]] - x[EDGES[k, 1]])
    return e


def states_listed(W, X):
    # once refused ("a list is not supported"): append in a loop over an array's rows
    hs = []
    h = np.zeros(3)
    for x in X:
        h = np.tanh(W @ h + x)
        hs.append(h)
    H = np.stack(hs)
    return np.sum(H[:, 0] * H[:, 2]) + np.sum(H[-1])


def enumerate_zip_list(X, w):
    out = []
    for i, (x, c) in enumerate(zip(X, w, strict=False)):
        out.append(np.tanh(x * c) + i)
    return np.sum(np.array(out) ** 2) + len(out)


def reversed_numbers_list(x):
    vals = []
    for v in reversed(x):
        vals.append(v * v)
    a = np.array(vals)
    return a[0] + 2 * a[-1]


def extremes_of_generators(x, y):
    # once refused ("a generator expression is not supported"): max and min of one
    top = max(x[i] * x[i + 1] for i in range(len(x) - 1))
    gap = min(abs(a - b) for a, b in zip(x, y, strict=False) if a > -1.0)
    return top + gap * max(math.sin(v) for v in x)


def clip_relu_scalars(x, a):
    # crashed: Numba has no np.clip of a number
    s = 0.0
    for xi in x:
        s += max(0.0, a * xi) + min(xi, 0.3) * a + np.clip(xi, -0.5, 0.5) ** 2
    return s


def einsum_rows_in_loop(x, W):
    # crashed: W, never indexed, had its adjoint start as 0.0 in a loop
    total = 0.0
    for b in range(x.shape[0]):
        h = np.einsum("j,jk->k", x[b], W)
        total += np.sum(h ** 2)
    return total


def np_float32_of_a_number(a):
    b = np.float32(a)  # once refused: no derivative rule for 'np.float32'
    return float(b) * a + a ** 2


def float32_data(x, a):
    s = 0.0
    for i in range(len(x)):
        s += a * x[i] ** 2 + x[i]
    return s


def row_scaled_through_a_name(B0, v):
    B = B0.copy()
    for row in B:
        row *= v  # refused at this line (was: the def line)
    return np.sum(B ** 2)


# ---------------------------------------------------------------- a few of each kind


def _pendulum(theta, omega, g):
    return omega, -g * math.sin(theta)


def rk4_pendulum_tuple(g, th0, om0):
    th, om = th0, om0
    h = 0.05
    for _ in range(10):
        k1 = _pendulum(th, om, g)
        k2 = _pendulum(th + 0.5 * h * k1[0], om + 0.5 * h * k1[1], g)
        k3 = _pendulum(th + 0.5 * h * k2[0], om + 0.5 * h * k2[1], g)
        k4 = _pendulum(th + h * k3[0], om + h * k3[1], g)
        th = th + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        om = om + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
    return th * th + om


def _midpoint(state, dt, a):
    x, v = state
    xm = x + 0.5 * dt * v
    vm = v - 0.5 * dt * a * x
    return (x + dt * vm, v - dt * a * xm)


def rk2_tuple_state(a, x0, v0):
    state = (x0, v0)
    for _ in range(12):
        state = _midpoint(state, 0.1, a)
    x, v = state
    return x * v + x


def kalman_scalar_zip(obs, q, r):
    m, P, ll = 0.0, 1.0, 0.0
    for y in obs:
        P = P + q * q
        S = P + r * r
        K = P / S
        ll += -0.5 * (math.log(2 * math.pi * S) + (y - m) ** 2 / S)
        m = m + K * (y - m)
        P = (1 - K) * P
    return ll


def implicit_euler_newton(lam, y0):
    y, h = y0, 0.2
    for _ in range(5):
        z = y
        for _k in range(20):
            step = (z - y + h * lam * z ** 3) / (1 + 3 * h * lam * z ** 2)
            z -= step
            if abs(step) < 1e-13:
                break
        y = z
    return y


def newton_sqrt_per_element(a):
    total = 0.0
    for i in range(len(a)):
        x = 1.0
        while abs(x * x - a[i]) > 1e-12:
            x = 0.5 * (x + a[i] / x)
        total += x * a[i]
    return total


def nested_break_flag(M, thr):
    total = 0.0
    found = False
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            total += M[i, j] ** 2
            if M[i, j] > thr:
                found = True
                break
        if found:
            break
    return total


def _first_above(x, thr):
    for i in range(len(x)):
        if x[i] > thr:
            return x[i] * i
    return np.sum(x)


def helper_early_return_in_loop(M, thr):
    total = 0.0
    for row in M:
        total += _first_above(row, thr)
    return total


def float_tuple_params(theta, t):
    a, b, c = theta
    s = 0.0
    for ti in t:
        s += (a * math.sin(b * ti) + c - ti) ** 2
    return s


def dtw_inf_border_times_weight(x, y, w):
    n, m = len(x), len(y)
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = abs(x[i - 1] - y[j - 1])
            R[i, j] = c + min(w * R[i - 1, j], w * R[i, j - 1], R[i - 1, j - 1])
    return R[n, m]


# ---------------------------------------------------------------- the checks

rng = np.random.default_rng(66)


def N(*shape):
    return rng.normal(size=shape)


def spd(n):
    A = N(n, n) * 0.3
    return A + A.T + 3 * np.eye(n)


#: (program, its arguments, wrt)
PROGRAMS = [
    (graph_energy_edges_unpacked, lambda: (N(4),), 0),
    (graph_edges_param, lambda: (N(4), np.array([[0, 1], [1, 2], [3, 3]])), 0),
    (graph_edges_shape, lambda: (N(4),), 0),
    (states_listed, lambda: (N(3, 3) * 0.5, N(4, 3)), (0, 1)),
    (enumerate_zip_list, lambda: (N(3, 2), N(4)), (0, 1)),
    (reversed_numbers_list, lambda: (N(4),), 0),
    (extremes_of_generators, lambda: (np.array([0.3, -0.7, 1.2, 0.9]),
                                      np.array([0.1, 0.5, -0.4, 0.2])), (0, 1)),
    (clip_relu_scalars, lambda: (np.array([-0.9, -0.2, 0.1, 0.4, 1.3]), 0.5), (0, 1)),
    (einsum_rows_in_loop, lambda: (N(3, 4), N(4, 2)), (0, 1)),
    (rk2_tuple_state, lambda: (1.1, 0.5, -0.2), (0, 1, 2)),
    (kalman_scalar_zip, lambda: (N(6), 0.5, 0.3), (0, 1, 2)),
    (nested_break_flag, lambda: (np.array([[0.1, -0.4, 0.3], [0.2, 1.5, -0.7]]), 0.9),
     (0, 1)),
    (helper_early_return_in_loop, lambda: (np.array([[0.1, 0.8, 0.2], [0.3, -0.2, 0.1]]),
                                           0.5), (0, 1)),
    (float_tuple_params, lambda: ((0.5, 1.2, -0.3), N(5)), (0, 1)),
    (dtw_inf_border_times_weight, lambda: (N(3), N(4), 0.7), (0, 1, 2)),
]


@pytest.mark.parametrize("f, make, wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_program_matches_central_differences(f, make, wrt):
    agrees(f, make(), wrt, rtol=1e-5, atol=1e-7)


def test_float32_conversions_by_hand():
    # Python's own arithmetic is float32 here (NumPy keeps float32 when a float multiplies
    # it), too coarse for a central difference: the derivatives are written out by hand
    assert adc.grad(np_float32_of_a_number)(0.6) == pytest.approx(
        2 * 0.6 + float(np.float32(0.6)) + 0.6, rel=1e-12)
    x = np.array([0.3, -1.2, 0.7], dtype=np.float32)
    dx, da = adc.grad(float32_data, wrt=(0, 1))(x, 0.5)
    np.testing.assert_allclose(da, np.sum(x.astype(np.float64) ** 2), rtol=1e-6)
    np.testing.assert_allclose(dx, 2 * 0.5 * x.astype(np.float64) + 1.0, rtol=1e-6)


def test_forward_and_second_order_through_integrators_and_newton():
    # jvp along a direction and hvp against differences of the plain-Python function
    args = (9.81, 0.4, 0.1)
    value, tangent = adc.jvp(rk4_pendulum_tuple, wrt=(0, 1, 2))(*args, 0.3, -1.0, 0.5)
    assert value == pytest.approx(rk4_pendulum_tuple(*args), rel=1e-12)
    h = 1e-6
    step = [0.3, -1.0, 0.5]
    hi = rk4_pendulum_tuple(*(a + h * t for a, t in zip(args, step, strict=True)))
    lo = rk4_pendulum_tuple(*(a - h * t for a, t in zip(args, step, strict=True)))
    assert tangent == pytest.approx((hi - lo) / (2 * h), rel=1e-6)
    a = np.array([0.7, 1.9, 2.6])
    v = np.array([0.5, -1.0, 0.25])
    np.testing.assert_allclose(adc.hvp(newton_sqrt_per_element)(a, v),
                               fd_hessian(newton_sqrt_per_element, (a,), 0) @ v, rtol=1e-4,
                               atol=1e-6)
    d2 = adc.grad(adc.grad(implicit_euler_newton))(0.8, 1.1)
    assert d2 == pytest.approx(fd_hessian(implicit_euler_newton, (0.8, 1.1), 0), rel=1e-4)


def test_an_augmented_assignment_to_a_row_is_refused_at_its_line():
    with pytest.raises(adc.AdcompileError, match=r"'row \*= \.\.\.' changes in place") as info:
        adc.grad(row_scaled_through_a_name, wrt=(0, 1))(N(3, 4), N(4))
    err = info.value
    assert err.filename == __file__
    assert err.lineno == row_scaled_through_a_name.__code__.co_firstlineno + 3
    assert "row *= v" in str(err) and "A[i] *= ..." in err.hint


def cholesky_logdet(A):
    L = np.linalg.cholesky(A)
    return 2 * np.sum(np.log(np.diag(L)))


def eigh_top(A):
    w, V = np.linalg.eigh(A)
    return w[-1] ** 2 + np.sum(V[:, 0] ** 4)


def test_cholesky_and_eigh_first_order():
    # the gradient through cholesky reads the lower triangle, as NumPy does
    A = spd(3)
    g = adc.grad(cholesky_logdet)(A)
    # d logdet A / dA = A^-1 for a symmetric A, whose lower triangle cholesky reads: each
    # entry below the diagonal stands for two
    inv = np.linalg.inv(A)
    np.testing.assert_allclose(g, np.tril(2 * inv) - np.diag(np.diag(inv)), rtol=1e-8,
                               atol=1e-12)
    agrees(eigh_top, (A + np.diag([0.0, 2.0, 4.0]),), 0)  # eigenvalues apart


