"""Loop programs as scientists write them, a fourth sweep (about 110 programs: simulations with
time levels rotated by tuple swaps, Gray-Scott on a grid, RK4 with a helper, adaptive steps,
Kalman filters with np.linalg per step, HMMs, velocity Verlet in 3-D; Floyd-Warshall,
Bellman-Ford, the inside algorithm on a 3-D table, Viterbi and edit distance with hard max and
min, Smith-Waterman; depthwise, grouped, dilated and separable convolutions, im2col, pooling;
LSTM and GRU cells with tuple parameters, wrt naming a nested tuple; rank-3 and rank-4 arrays
written by elements and slices; break, continue, return inside nested loops, for ... else;
rows of a table written through a name, cur = D[i]; cur[j] = ...).
The programs kept here are those of the classes the sweep found, and a few of each kind.
Every gradient is checked against float64 central differences of the function run as plain
Python.
"""

import math

import numpy as np
import pytest
from test_reach_loops4 import agrees, tree_gradient

import adcompile as adc

# ---------------------------------------------------------------- a loop's else clause
# once refused ("'else' on a loop is not supported"): the else block runs under a flag that
# each break of the loop sets


def for_else_search(x, thr):
    result = 0.0
    for i in range(len(x)):
        if x[i] > thr:
            result = x[i] ** 2
            break
    else:
        result = np.sum(x)
    return result


def for_else_nested(M, thr):
    total = 0.0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if M[i, j] > thr:
                total += M[i, j]
                break
        else:
            total -= np.sum(M[i] ** 2)
    return total


def while_else_newton(a):
    x = 1.0
    k = 0
    while k < 30:
        step = (x * x - a) / (2 * x)
        x = x - step
        k += 1
        if abs(step) < 1e-10:
            break
    else:
        x = -x
    return x * a


def for_else_inner_break_only(M, thr):
    total = 0.0
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if M[i, j] > thr:
                break
            total += M[i, j] ** 2
    else:
        total = total * 2.0
    return total



# ---------------------------------------------------------------- rows of a DP as lists
# once refused ("a list is not supported"): [0.0] * n handed on as prev = cur or swapped


def lcs_soft_list(x, y, t):
    n, m = len(x), len(y)
    prev = [0.0] * (m + 1)
    for i in range(n):
        cur = [0.0] * (m + 1)
        for j in range(m):
            match = prev[j] + math.exp(-(x[i] - y[j]) ** 2)
            cur[j + 1] = t * math.log(math.exp(match / t) + math.exp(prev[j + 1] / t)
                                      + math.exp(cur[j] / t))
        prev = cur
    return prev[m]


def edit_rows_swap(a, b):
    m = len(b)
    prev = [0.0] * (m + 1)
    cur = [0.0] * (m + 1)
    for j in range(m + 1):
        prev[j] = 0.5 * j
    for i in range(1, len(a) + 1):
        cur[0] = 0.5 * i
        for j in range(1, m + 1):
            cur[j] = min(prev[j] + 0.5, cur[j - 1] + 0.5, prev[j - 1] + (a[i - 1] - b[j - 1]) ** 2)
        prev, cur = cur, prev
    return prev[m]



# ---------------------------------------------------------------- sorting a copy in place
# once refused ("a value read from 'y' (a view, if it is a row) is used after 'y' was
# written"): an element compared in a test is a number, so the copy is a vector


def swap_in_place_bubble(x):
    y = x.copy()
    n = len(y)
    for i in range(n):
        for j in range(n - 1 - i):
            if y[j] > y[j + 1]:
                y[j], y[j + 1] = y[j + 1], y[j]
    return np.dot(y, np.arange(n) + 1.0)


def insertion_sort_while(x):
    y = x.copy()
    for i in range(1, len(y)):
        key = y[i]
        j = i - 1
        while j >= 0 and y[j] > key:
            y[j + 1] = y[j]
            j -= 1
        y[j + 1] = key
    return np.sum(y * np.linspace(1.0, 2.0, len(y)))



def cumulative_max_inplace(x):
    y = x.copy()
    for i in range(1, len(y)):
        if y[i] < y[i - 1]:
            y[i] = y[i - 1]
    return np.sum(y ** 2)



# ---------------------------------------------------------------- the sweep's other kinds


def wave_three_levels(c, u0):
    n = u0.shape[0]
    u_prev = u0.copy()
    u = u0.copy()
    r2 = (c * 0.5) ** 2
    for _ in range(12):
        u_next = np.zeros(n)
        for i in range(1, n - 1):
            u_next[i] = 2 * u[i] - u_prev[i] + r2 * (u[i + 1] - 2 * u[i] + u[i - 1])
        u_prev, u = u, u_next
    return np.sum(u ** 2) + 0.5 * np.sum(u_prev ** 2)


def hard_floyd(W):
    n = W.shape[0]
    D = W.copy()
    for k in range(n):
        for i in range(n):
            for j in range(n):
                if D[i, k] + D[k, j] < D[i, j]:
                    D[i, j] = D[i, k] + D[k, j]
    return np.sum(D)


def _loss_aux(w, x):
    pred = np.tanh(x @ w)
    loss = np.mean(pred ** 2)
    return loss, pred


def loss_aux_out0(w, x):
    out = _loss_aux(w, x)
    return out[0]


def nested_wrt_named(model, x):
    (enc, dec), scale = model
    h = np.tanh(enc[0] @ x + enc[1])
    y = dec[0] @ h + dec[1]
    return scale * np.sum(y ** 2)


def tuple_float_and_arrays(p, x, y):
    a, W, b = p
    pred = a * np.tanh(x @ W + b)
    return np.mean((pred - y) ** 2)



# ---------------------------------------------------------------- rows of a table written
# once refused ("'prev' is a view of 'cur', which was written after 'prev' was taken", and
# "only arrays created in the function can be written into" for T[k][i, j]): a row indexed
# after it is taken is the table's row itself, D[i][j] = ... a store into D


def dp_two_d_views(C):
    n, m = C.shape
    D = np.zeros((n, m))
    D[0, :] = np.cumsum(C[0])
    for i in range(1, n):
        prev = D[i - 1]
        cur = D[i]
        cur[0] = prev[0] + C[i, 0]
        for j in range(1, m):
            cur[j] = C[i, j] + min(prev[j], cur[j - 1])
    return D[-1, -1]


def planes_of_rank3(x, w):
    T = np.zeros((3, 2, 2))
    for k in range(3):
        plane = T[k]
        for i in range(2):
            for j in range(2):
                plane[i, j] = x[i] * w[k] + (plane[i - 1, j] if i > 0 else 0.0)
        plane[1, 1] += x[0] * x[1]
    return np.sum(T ** 2)


# ---------------------------------------------------------------- still refused


def tail_view_chosen_in_a_branch(x):
    D = np.zeros((3, 4))
    for i in range(3):
        tail = D[i, 1:]
        if x[i] > 0:
            tail = D[i, :2]
        tail[0] = x[i]
    return np.sum(D ** 2)


def tail_view_written(x):
    D = np.zeros((3, 4))
    for i in range(3):
        tail = D[i, 1:]
        tail[0] = x[i]
        tail[1:] = tail[0] * x[i]
    return np.sum(D ** 2)


# ---------------------------------------------------------------- the checks

rng = np.random.default_rng(11)


def N(*shape):
    return rng.normal(size=shape)


#: (program, its arguments, wrt)
PROGRAMS = [
    (for_else_search, lambda: (np.array([0.1, 0.3, 1.2, 0.4]), 1.0), (0, 1)),
    (for_else_nested, lambda: (np.array([[0.1, 0.3], [1.2, 0.4], [0.2, 0.5]]), 1.0), (0, 1)),
    (while_else_newton, lambda: (2.3,), 0),
    (for_else_inner_break_only, lambda: (np.array([[0.1, 0.3], [1.2, 0.4]]), 1.0), (0, 1)),
    (lcs_soft_list, lambda: (N(3), N(4), 0.5), (0, 1, 2)),
    (edit_rows_swap, lambda: (N(3), N(4)), (0, 1)),
    (swap_in_place_bubble, lambda: (N(5),), 0),
    (insertion_sort_while, lambda: (N(5),), 0),
    (cumulative_max_inplace, lambda: (N(6),), 0),
    (wave_three_levels, lambda: (0.9, np.sin(np.linspace(0, 3, 7))), (0, 1)),
    (hard_floyd, lambda: (np.array([[0.2, 1.0, 4.2], [1.3, 0.1, 1.1], [3.7, 0.9, 0.3]]),), 0),
    (loss_aux_out0, lambda: (N(3), N(5, 3)), (0, 1)),
    (nested_wrt_named, lambda: ((((N(3, 2), N(3)), (N(2, 3), N(2))), 0.7), N(2)),
     ("model", "x")),
    (dp_two_d_views, lambda: (N(3, 4),), 0),
    (planes_of_rank3, lambda: (N(2), N(3)), (0, 1)),
    (tail_view_written, lambda: (N(3),), 0),  # once refused: now D[i, 1 + k]
]

#: programs still refused: what the message names (the construct and its line), and the
#: form that works, which its hint gives
REFUSED = {
    "tail_view_chosen_in_a_branch": ("'D' is read after a write through its view 'tail'",
                                     "tail = D[i, 1:]",
                                     "write into 'D' itself, e.g. D[i, j] = ..."),
}
REFUSED_ARGS = {"tail_view_chosen_in_a_branch": (tail_view_chosen_in_a_branch,
                                                 lambda: (N(3),), 0)}


@pytest.mark.parametrize("f, make, wrt", PROGRAMS, ids=[p[0].__name__ for p in PROGRAMS])
def test_program_matches_central_differences(f, make, wrt):
    agrees(f, make(), wrt, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_program_refused_names_the_construct_and_the_form_that_works(name):
    construct, line, form = REFUSED[name]
    f, make, wrt = REFUSED_ARGS[name]
    with pytest.raises(adc.AdcompileError, match=construct) as info:
        adc.value_and_grad(f, wrt=wrt)(*make())
    message = str(info.value)
    assert "test_reach_loops5.py" in message and line in message and form in message


def test_gradient_descent_on_a_tuple_of_a_float_and_arrays():
    # three steps of gradient descent, each step by central differences of the function
    start = (0.8, N(3, 2), N(2))
    X, Y = N(4, 3), N(4, 2)
    result = adc.optim.gd(tuple_float_and_arrays, start, args=(X, Y), lr=0.1, steps=3)
    p = start
    for _ in range(3):
        g = tree_gradient(tuple_float_and_arrays, [p, X, Y], 0)
        p = tuple(a - 0.1 * b for a, b in zip(p, g, strict=True))
    assert isinstance(result.params, tuple) and isinstance(result.params[0], float)
    for got, want in zip(result.params, p, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
