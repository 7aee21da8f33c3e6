"""Loop programs as scientists and JAX users write them, a seventh sweep (131 programs: a
damped spring chain by symplectic Euler, shallow water and advection with upwinding on the
sign of the velocity, Ising energies and mean-field sweeps with periodic indices, Lorenz by
a helper returning a tuple, projectiles and bouncing balls with while loops and exits,
Smith-Waterman with max(0, ...) and a running best, DTW in a Sakoe-Chiba band, CTC in log
space through a helper, Bellman-Ford and Floyd-Warshall, coin change, LIS, the matrix chain,
depthwise, dilated, strided, separable and transposed convolutions on rank-4 batches, im2col,
pixel shuffle, bilinear sampling with int() and math.floor indices, soft histograms, layer
and batch norms written as loops, attention over rank-3 batches, GRU and LSTM cells with
tuple parameters and state returned by helpers, the Thomas algorithm, fixed points with a
tolerance and a cap, Gauss-Newton and Levenberg-Marquardt steps inside the loss, Sinkhorn,
unrolled gradient descent and Adam, online softmax, quaternions, cumulative products,
np.where in loops, loops in reverse time and over zip of arrays, float32 and int inputs,
module-level tables; one compiled gradient of every parameter each).
The programs kept here are those of the classes the sweep found (a factor that is an int
array, a module-level tuple unpacked, a tuple made in a loop and iterated, module rows of
ints and floats, any/all of an array, np.cross in a loop, divmod, a function that ends in
a while True left by its return, zip(..., strict=True)) and a few of each kind.
Every gradient is checked against float64 central differences of the function run as plain
Python.
"""

import math

import numpy as np
import pytest
from test_reach_loops4 import agrees

import adcompile as adc

rng = np.random.default_rng(70)


def N(*shape):
    return rng.normal(size=shape)


DT = 0.05
PP = (1.1, 0.4, -0.4, 2)
EDGE_LIST = [(0, 1, 1.0), (1, 2, 2.0), (0, 2, 4.0), (2, 3, 1.0), (1, 3, 5.0)]

# ---------------------------------------------------------------- the classes found


def running_max_weighted(x):
    # crashed: the factor np.arange(3).reshape(1, 3) is an int array, and the guard that
    # zeroes an infinite factor (m starts at -inf) had no implementation for ints
    m = -np.inf
    for v in x:
        if v > m:
            m = v
    return np.sum(m * x[:3] * np.arange(3).reshape(1, 3))


def predator_prey_table(z0, s):
    # refused: "tuple unpacking takes a tuple display" for a module-level tuple of numbers
    a, b, c, k = PP
    x, y = z0[0], z0[1]
    for _ in range(3 * k):
        x, y = x + DT * s * (a * x - b * x * y), y + DT * (c * y + 0.1 * x * y)
    return math.log(x) + y + PP[1] * s


def smith_waterman_soft(a, b, gamma):
    # refused: a tuple display made in a loop and iterated ("a tuple can only be indexed
    # with an integer literal")
    n, m = a.shape[0], b.shape[0]
    H = np.zeros((n + 1, m + 1))
    total = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = (0.0, H[i - 1, j - 1] + math.tanh(a[i - 1] * b[j - 1]), H[i - 1, j] - 0.5,
                 H[i, j - 1] - 0.5)
            top = max(c)
            z = 0.0
            for v in c:
                z += math.exp((v - top) / gamma)
            H[i, j] = top + gamma * math.log(z)
            total = max(total, H[i, j])
    return total


def bellman_ford_soft(weights, tau):
    # crashed: the rows (u, v, cost) of a module-level list became a float array, and d[u]
    # an index by a float; the loop is now unrolled over the rows as written
    d = np.full(4, 1e3)
    d[0] = 0.0
    for _ in range(3):
        for k, (u, v, base) in enumerate(EDGE_LIST):
            cand = d[u] + base * weights[k % 4]
            d[v] = -tau * math.log(math.exp(-d[v] / tau) + math.exp(-cand / tau))
    total = 0.0
    for e in EDGE_LIST:
        i, j, c = e
        total += c * (weights[i] - weights[j]) ** 2
    return d[3] + total


def flags_cross_divmod(x, b):
    # crashed: any() and all() of an array (Numba has no builtin any); np.cross in a loop
    # of an operand never indexed (its adjoint started as 0.0); refused: q, r = divmod(k, 3)
    s = 0.0
    for i in range(len(x) - 2):
        w = x[i:i + 3]
        if any(w > 0.5):
            s += np.sum(w ** 2)
        elif all(w < 0.0):
            s -= np.sum(w)
    if any(v > 0.8 for v in x) and all(abs(v) < 2.0 for v in b):  # (refused: generators)
        s += x[0] * b[1]
    v = x[:3].copy()
    for _ in range(3):
        v = v + 0.1 * np.cross(v, b)
    for k in range(8):
        q, r = divmod(k, 3)
        s += x[r] * (q + 1) * x[(r + q) % 3]
    return s + np.sum(v ** 2)


def tuple_in_branches_then_max(x):
    # refused: a name bound to displays in both branches had no known length; crashed: max
    # of a tuple carried through a loop (Numba has no max of a UniTuple)
    c = (x[0], x[1])
    s = 0.0
    for i in range(len(x) - 1):
        if x[i] > 0:
            c = (x[i], x[i + 1] + s * 0.1)
        else:
            c = (x[i + 1], x[i])
        for v in c:
            s += v * math.sin(s) + v
    return s + max(c)


def cube_root_while_true(c, x0):
    # refused: "the function must end with 'return <scalar>'" (a while True: left only by
    # the return in it)
    x = x0
    it = 0
    while True:
        fx = x ** 3 - c
        if abs(fx) < 1e-12 or it > 50:
            return x * c
        x -= fx / (3 * x * x)
        it += 1


# ---------------------------------------------------------------- a few of each kind


def bouncing_ball(h0, e, drag):
    y = h0
    v = 0.0
    total = 0.0
    for _ in range(60):
        v -= DT * (9.81 + drag * v)
        y += DT * v
        if y < 0.0:
            y = -y
            v = -e * v
        total += y
    return total * DT


def pendulum_energy_break(theta0, damping):
    th = theta0
    om = 0.0
    for _ in range(200):
        om -= DT * (9.81 * math.sin(th) + damping * om)
        th += DT * om
        if 0.5 * om * om + 9.81 * (1.0 - math.cos(th)) < 1.0:
            break
    return th + 0.1 * om


def ising_energy_periodic(s, J, h):
    n, m = s.shape
    e = 0.0
    for i in range(n):
        for j in range(m):
            e -= J * s[i, j] * (s[(i + 1) % n, j] + s[i, (j + 1) % m])
            e -= h * math.tanh(s[i, j])
    return e


def robot_arm_zip(angles, lengths):
    x = 0.0
    y = 0.0
    th = 0.0
    # refused: zip(..., strict=True), which ruff's B905 asks for
    for a, length in zip(angles, lengths, strict=True):
        th += a
        x += length * math.cos(th)
        y += length * math.sin(th)
    return (x - 1.0) ** 2 + (y - 1.2) ** 2


def bilinear_floor_int(img, xs, ys):
    s = 0.0
    for k in range(len(xs)):
        i = int(xs[k])
        j = int(ys[k])
        fx = xs[k] - i
        fy = ys[k] - j
        v = ((1 - fx) * (1 - fy) * img[i, j] + fx * (1 - fy) * img[i + 1, j]
             + (1 - fx) * fy * img[i, j + 1] + fx * fy * img[i + 1, j + 1])
        s += v * v
    return s


def discounted_returns_reverse(r, gamma):
    G = np.zeros(len(r))
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        G[t] = running
    return np.sum(G ** 2)


def rank4_contraction_loops(T4, M):
    a, b, c, d = T4.shape
    out = np.zeros((a, c, d))
    for i in range(a):
        for j in range(b):
            for k in range(c):
                for m in range(d):
                    out[i, k, m] += T4[i, j, k, m] * M[i, j]
    return np.sum(np.sin(out))


def gru_like_tuple_state(p, x):
    a, b = p
    y = 0.0
    for v in x:
        y = a * math.tanh(y + v) + b
    return y * y


PROGRAMS = [
    (running_max_weighted, lambda: (np.array([0.1, 0.5, 0.2, -0.3]),), (0,)),
    (predator_prey_table, lambda: (np.array([1.0, 0.5]), 0.8), (0, 1)),
    (smith_waterman_soft, lambda: (N(3), N(4), 0.5), (0, 1, 2)),
    (bellman_ford_soft, lambda: (np.array([0.5, 1.2, 0.8, 2.0]), 0.1), (0, 1)),
    (flags_cross_divmod, lambda: (np.array([0.6, -0.2, -0.3, -0.1, 0.9, 0.2]),
                                  np.array([0.3, -0.5, 0.8])), (0, 1)),
    (tuple_in_branches_then_max, lambda: (np.array([0.3, -0.5, 0.2, 0.7]),), (0,)),
    (cube_root_while_true, lambda: (2.0, 1.0), (0, 1)),
    (bouncing_ball, lambda: (2.0, 0.8, 0.1), (0, 1, 2)),
    (pendulum_energy_break, lambda: (1.2, 0.3), (0, 1)),
    (ising_energy_periodic, lambda: (N(3, 4) * 0.5, 0.9, 0.2), (0, 1, 2)),
    (bilinear_floor_int, lambda: (N(4, 5), np.array([1.3, 2.7]), np.array([0.4, 3.2])),
     (0, 1, 2)),
    (discounted_returns_reverse, lambda: (N(6) * 0.3, 0.9), (0, 1)),
    (rank4_contraction_loops, lambda: (N(2, 3, 2, 2) * 0.5, N(2, 3) * 0.5), (0, 1)),
    (gru_like_tuple_state, lambda: ((1.5, 0.3), N(4)), (0, 1)),
]


def test_zip_strict_runs_over_equal_lengths_and_raises_on_others():
    angles, lengths = np.array([0.3, 0.5, -0.2]), np.array([1.0, 0.8, 0.5])
    agrees(robot_arm_zip, (angles, lengths), (0, 1))
    with pytest.raises(ValueError, match="strict=True"):
        adc.value_and_grad(robot_arm_zip, wrt=(0, 1))(angles, lengths[:2])


@pytest.mark.parametrize("f, make, wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_program_matches_central_differences(f, make, wrt):
    agrees(f, make(), wrt)


def ndindex_loop(A):
    s = 0.0
    for i, j in np.ndindex(A.shape):
        s += A[i, j] ** 2 * (i - j)
    return s


def ndenumerate_loop(A):
    s = 0.0
    for (i, j), v in np.ndenumerate(A):
        s += v * math.cos(i + j * v)
    return s


def mixed_rows_zipped(x, wts):
    s = 0.0
    for (u, v, w), c in zip(EDGE_LIST, wts, strict=False):
        s += w * c * (x[u] - x[v]) ** 2
    return s


def while_true_returns_a_local(x):
    i = 0
    while True:
        d = x[i] * 2.0
        i += 1
        if i >= 3:
            return d * d


def walrus_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += (d := x[i] * 2.0) * d  # := not first in a test: still refused
    return s


def dict_params(p, X):
    s = 0.0
    for i in range(X.shape[0]):
        s += math.tanh(np.dot(X[i], p["w"]) + p["b"]) ** 2
    return s


@pytest.mark.parametrize("f, args, line, construct", [
    # crashed (np.ndindex: Numba had no len() of it) or named no loop (np.ndenumerate)
    (ndindex_loop, (np.ones((2, 3)),), "for i, j in np.ndindex", "one loop over range per"),
    (ndenumerate_loop, (np.ones((2, 3)),), "for (i, j), v in np.ndenumerate",
     "one loop over range per"),
    # crashed: a row of ints and floats picked by the counter of a zip (d[u] by a float)
    (mixed_rows_zipped, (np.ones(4), np.ones(5)), "for (u, v, w), c in zip(EDGE_LIST",
     "loop over 'EDGE_LIST' itself"),
    (while_true_returns_a_local, (np.ones(4),), "return d * d", "a name assigned before"),
    (walrus_in_loop, (np.ones(3),), "s += (d := x[i] * 2.0) * d", "assign in a statement"),
    (dict_params, ({"w": np.ones(2), "b": 0.1}, np.ones((2, 2))), 'p["w"]',
     "as parameters of their own"),
], ids=["ndindex", "ndenumerate", "mixed_rows", "while_true", "walrus", "dict"])
def test_refused_at_the_users_line_with_the_form_that_works(f, args, line, construct):
    with pytest.raises(adc.AdcompileError) as raised:
        adc.grad(f)(*args)
    message = str(raised.value)
    lineno = next(k for k, text in enumerate(open(__file__).read().splitlines(), 1)
                  if line in text and k > f.__code__.co_firstlineno)
    assert f"test_reach_loops7.py:{lineno}:" in message
    assert construct in message
