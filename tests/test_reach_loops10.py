"""Loop programs as a physicist, a bioinformatician or an ML engineer writes them, an eleventh
sweep (integrators, SIR and Lotka-Volterra models, heat and wave equations on grids of rank 2
and 3, particles with a cutoff, soft edit distances, HMMs in log space, CTC, convolutions and
pooling on (N, C, H, W) arrays written as loops, tuple parameters): the forms that sweep
found refused or wrong, made to work, and a few of its programs of distinct kinds.

- ``a, b, c, d = theta`` of an array (and ``i, j = EDGES[k]`` of a row) reads its items,
  after the check Python makes that there are as many as names;
- ``x = s[0]`` read after a store into ``s`` of a rank not known where the code is
  generated: an element, checked to be a number when Numba types it (a row is refused);
- ``np.full_like`` and ``del`` of a name.

The sweep's programs whose helpers change the arrays they are given (``kick(v, x, k, dt)``
with ``v -= ...``, a table filled by a helper, one calling the others, one defined inside
the function) run here too: ``inplace.py`` inlines them.

Several forms sit behind one compile; every gradient is checked against float64 central
differences of the function run as plain Python (``agrees``), never against adcompile.
"""

import math

import numpy as np
import pytest
from test_reach_loops4 import agrees, tree_gradient

import adcompile as adc

rng = np.random.default_rng(110)

#: a graph's edges, as a script holds them (rows of int pairs)
EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [0, 2]])


def lotka_volterra_and_springs(theta, z0, pos):
    # a, b, c, d = theta of an array (was refused: "tuple unpacking takes a tuple display");
    # rows of an int array unpacked into indices; np.full_like (had no derivative rule)
    # and del of a name (was refused)
    a, b, c, d = theta
    x, y = z0
    dt = 0.05
    traj = np.full_like(z0, 0.0)
    for _ in range(30):
        x, y = x + dt * (a * x - b * x * y), y + dt * (d * x * y - c * y)
        traj += np.array([x, y]) * dt
    E = 0.0
    for k in range(EDGES.shape[0]):
        i, j = EDGES[k]
        r0, r1 = pos[i] - pos[j]
        E += (math.sqrt(r0 * r0 + r1 * r1) - a) ** 2
    lo = np.full_like(z0, np.inf)
    for k in range(2):
        lo[k] = min(lo[k], traj[k] * c, z0[k])
    tmp = traj * traj
    total = np.sum(tmp)
    del tmp
    return total + E + np.sum(lo) + x * y


def _kick(v, x, k, dt):
    v -= dt * k * x


def _drift(x, v, dt):
    for i in range(x.shape[0]):
        x[i] += dt * v[i]


def _reflect(x):
    x[0] = x[1]
    x[-1] = 0.5 * x[-2]


def _kick_and_reflect(v, x, k):
    _kick(v, x, k, 0.05)
    _reflect(v)


def leapfrog_by_helpers(x0, k):
    # helpers called as statements that change the arrays they are given, one calling the
    # others; a helper defined inside the function that smooths rows in place
    x = x0.copy()
    v = np.zeros_like(x)
    for _ in range(6):
        _kick(v, x, k, 0.05)
        _drift(x, v, 0.1)
        _kick_and_reflect(v, x, k)
    H = np.outer(x, v[:3])

    def smooth(A, w):
        for i in range(1, A.shape[0]):
            A[i] = (1 - w) * A[i] + w * A[i - 1]

    smooth(H, 0.3)
    return np.sum(x ** 2) + np.sum(v ** 2) + np.sum(H ** 2)


def _fill_soft_edit(D, C, g):
    n, m = C.shape
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a, b, c = D[i - 1, j - 1], D[i - 1, j], D[i, j - 1]
            mn = min(a, b, c)
            D[i, j] = C[i - 1, j - 1] + mn - g * math.log(
                math.exp(-(a - mn) / g) + math.exp(-(b - mn) / g) + math.exp(-(c - mn) / g))


def _relax(u, a):
    for i in range(1, u.shape[0] - 1):
        u[i] = 0.5 * (u[i - 1] + u[i + 1]) * a
    return np.sum(u)


def table_and_relaxation_by_helpers(C, g, u0):
    # a helper that fills a table it is given; one that relaxes an array in place and
    # returns a number
    D = np.full((C.shape[0] + 1, C.shape[1] + 1), 1e6)
    D[0, 0] = 0.0
    _fill_soft_edit(D, C, g)
    u = u0.copy()
    s = 0.0
    for _ in range(3):
        s += _relax(u, g)
    return D[-1, -1] + s + np.sum(u ** 2)


@pytest.mark.parametrize(("f", "args"), [
    (lotka_volterra_and_springs, (np.array([1.1, 0.4, 0.4, 0.1]), np.array([1.0, 0.5]),
                                  rng.uniform(-1, 1, (4, 2)))),
    (leapfrog_by_helpers, (rng.uniform(-1, 1, 5), 1.3)),
    (table_and_relaxation_by_helpers, (rng.uniform(0, 1, (3, 4)), 0.5,
                                       rng.uniform(-1, 1, 6))),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_program_matches_central_differences(f, args):
    agrees(f, args, tuple(range(len(args))), rtol=1e-6, atol=1e-8)


def unpacked_parameter(theta, x):
    a, b = theta
    return a * b * np.sum(x ** 2) + a ** 3


def test_an_unpacked_array_parameter_in_every_mode():
    # the source unpacks theta, so it is also read as a tuple (a, b); given an array, each
    # mode generates for the array (the Hessian called the module made for the tuple: "not
    # enough arguments", a TypeError; gd: "returns an array")
    theta, x = np.array([1.0, 2.0]), np.array([0.5, -0.3])
    s = np.sum(x ** 2)
    grad = np.array([2 * s + 3.0, s])  # d/da = b s + 3 a^2, d/db = a s
    H = np.array([[6.0, s], [s, 0.0]])
    np.testing.assert_allclose(adc.grad(unpacked_parameter)(theta, x), grad, rtol=1e-12)
    np.testing.assert_allclose(adc.hessian(unpacked_parameter)(theta, x), H, rtol=1e-12)
    np.testing.assert_allclose(adc.hvp(unpacked_parameter)(theta, x, np.array([1.0, 0.0])),
                               H[:, 0], rtol=1e-12)
    value, tangent = adc.jvp(unpacked_parameter)(theta, x, np.array([0.0, 1.0]))
    assert tangent == pytest.approx(grad[1], rel=1e-12)
    got = adc.optim.gd(unpacked_parameter, theta, args=(x,), lr=0.01, steps=2).params
    want = theta.copy()
    for _ in range(2):
        want = want - 0.01 * tree_gradient(unpacked_parameter, [want, x], 0)
    np.testing.assert_allclose(got, want, rtol=1e-7)
    # and given a tuple, the tuple's leaves, as before
    assert adc.grad(unpacked_parameter)((1.0, 2.0), x) == pytest.approx(tuple(grad), rel=1e-12)


def _smoothed(u, a):
    for i in range(1, u.shape[0]):
        u[i] = a * u[i - 1] + (1 - a) * u[i]
    return u


def reads_a_returned_alias_after_a_change(u0, a):
    u = u0.copy()
    w = _smoothed(u, a)
    _smoothed(u, a)
    return np.sum(w * u)


def row_read_after_a_store(S0, a):
    S = S0 * 1.0
    x = S[0]
    S[0] = a * x
    return np.sum(x) + np.sum(S[0])


def unpacks_three(theta):
    a, b, c = theta
    return a * b * c


def unpacks_a_number(x, t):
    a, b = t
    return a * x + b


def test_what_stays_refused_is_refused_at_its_line():
    x = np.array([0.5, -0.3, 0.2])
    # the array a helper returns is the one it changes: read after a second change
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops10\.py:\d+.*'w' is a view"):
        adc.grad(reads_a_returned_alias_after_a_change)(x, 0.3)
    # x = S[0] read after a store into S, the rank of S not known where the code is made
    with pytest.raises(adc.AdcompileError,
                       match=r"test_reach_loops10\.py:\d+.*'x' is a view of 'S'") as info:
        adc.grad(row_read_after_a_store)(np.ones((2, 3)), 0.5)
    assert info.value.lineno == row_read_after_a_store.__code__.co_firstlineno + 4
    # unpacking into another number of names than the array's items: Python's ValueError
    with pytest.raises(ValueError, match="values to unpack"):
        adc.grad(unpacks_three)(np.ones(4))
    # a number unpacked: at the line of the unpacking
    with pytest.raises(adc.AdcompileError, match=r"test_reach_loops10\.py:\d+.*unpacking of "
                       "a number, 'a, b = t'") as info:
        adc.grad(unpacks_a_number)(0.5, 2.0)
    assert info.value.lineno == unpacks_a_number.__code__.co_firstlineno + 1


# ------------------------------------------------------------- programs of the sweep, as found


def _osc(x, v, k, c):
    return v, -k * x - c * v


def rk4_oscillator(x0, k, c):
    x, v = x0, 0.1
    h = 0.05
    for _ in range(20):
        k1x, k1v = _osc(x, v, k, c)
        k2x, k2v = _osc(x + 0.5 * h * k1x, v + 0.5 * h * k1v, k, c)
        k3x, k3v = _osc(x + 0.5 * h * k2x, v + 0.5 * h * k2v, k, c)
        k4x, k4v = _osc(x + h * k3x, v + h * k3v, k, c)
        x = x + h / 6.0 * (k1x + 2 * k2x + 2 * k3x + k4x)
        v = v + h / 6.0 * (k1v + 2 * k2v + 2 * k3v + k4v)
    return x * x + 0.5 * v * v


def ctc_with_blanks(logp):
    labels = np.array([1, 3, 1])
    T, S = logp.shape[0], 7
    ext = np.zeros(S, dtype=np.int64)
    for s in range(3):
        ext[2 * s + 1] = labels[s]
    alpha = np.full((T, S), -np.inf)
    alpha[0, 0] = logp[0, 0]
    alpha[0, 1] = logp[0, ext[1]]
    for t in range(1, T):
        for s in range(S):
            a = alpha[t - 1, s]
            if s > 0:
                a = np.logaddexp(a, alpha[t - 1, s - 1])
            if s > 1 and ext[s] != 0 and ext[s] != ext[s - 2]:
                a = np.logaddexp(a, alpha[t - 1, s - 2])
            alpha[t, s] = a + logp[t, ext[s]]
    return -np.logaddexp(alpha[T - 1, S - 1], alpha[T - 1, S - 2])


def transposed_conv_and_pool(x, w):
    C, H, W = x.shape
    _, n_out, k, _ = w.shape
    out = np.zeros((n_out, H + k - 1, W + k - 1))
    for c in range(C):
        for o in range(n_out):
            for i in range(H):
                for j in range(W):
                    for p in range(k):
                        for q in range(k):
                            out[o, i + p, j + q] += x[c, i, j] * w[c, o, p, q]
    pooled = 0.0
    for o in range(n_out):
        for i in range(0, H + k - 2, 2):
            m = out[o, i, 0]
            for a in range(2):
                for b in range(2):
                    m = max(m, out[o, i + a, b])
            pooled += m
    return np.sum(out ** 2) + pooled


def state_and_params_tuples(params):
    def step(state, dt):
        x, v = state
        (k, c), w = params
        return x + dt * v, v - dt * (k * x + c * v) + dt * np.sum(w) * 0.1

    state = (1.0, 0.0)
    E = 0.0
    for _ in range(15):
        state = step(state, 0.1)
        E += state[0] ** 2
    return E


@pytest.mark.parametrize(("f", "args", "wrt"), [
    (rk4_oscillator, (0.8, 1.3, 0.2), (0, 1, 2)),
    (ctc_with_blanks, (np.log(rng.dirichlet(np.ones(4), 5)),), (0,)),
    (transposed_conv_and_pool, (rng.uniform(-1, 1, (2, 3, 3)), rng.uniform(-1, 1, (2, 2, 2, 2))),
     (0, 1)),
    (state_and_params_tuples, (((1.3, 0.2), rng.uniform(-1, 1, 3)),), (0,)),
], ids=lambda v: v.__name__ if callable(v) else "")
def test_sweep_program_matches_central_differences(f, args, wrt):
    agrees(f, args, wrt, rtol=1e-6, atol=1e-8)
