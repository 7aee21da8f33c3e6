"""Stack tapes of loops inside loops that write arrays, and stores that need no clearing.

A ``for`` loop inside a loop that writes into arrays keeps its tapes as a stack: iteration
``k`` of an execution pushes at ``pos + k``, the position moves by the trip count once after
the loop, and the reversal moves it back by the same count before it reads ``pos + k``.  The
programs of the first part vary what that count depends on: triangular and empty inner loops,
negative stops, starts and steps, three levels, a branch around the inner loop, stops that
the outer body changes, ``while`` loops and ``break`` among them, loops in helpers, and one
nest run twice over the same stacks.

A store ``v[i] = e`` that writes an element of an array made just before
(``v = np.zeros(n)``) for the first time leaves the element's adjoint as it is after its
reversal.  The programs of the second part sit on both sides of each condition of that rule:
where another write of the element, or a reader of the adjoint other than the allocation,
comes later in the reversal, the adjoint must still be cleared.

Every gradient is checked against float64 central differences of the plain function.
"""

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

# -- stacks: where a stacked loop pushes, how far it moves -------------------------------------


def triangular_and_empty(x, a, m):
    # execution i of the first inner loop runs i times; the others run no times for some i,
    # and their stops go below zero (the stack moves by nothing, not backwards); s, carried,
    # goes on tapes the first execution makes, before the loop binds j
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        for j in range(i):
            s = math.sin(s * a + x[j])
        for j in range(i - 2):
            s = math.cos(s * a - x[j])
        for j in range(m - i):
            s = math.sin(s + a * x[j])
        y[i] = s
    return np.sum(y * y)


def triangular_typed(x, a):
    # the inner loop writes the table and tapes numbers of known kinds: typed tapes,
    # reserved before each execution (and grown, contents kept, as executions lengthen)
    n = x.shape[0]
    y = np.zeros((n, n))
    for i in range(1, n):
        for j in range(i):
            y[i, j] = math.sin(y[i - 1, j] + a * x[j]) * x[i]
    return np.sum(y * y)


def starts_and_steps(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        for j in range(1, i + 2, 2):
            s = math.sin(s * a + x[j % n])
        for j in range(i, -1, -2):
            s = math.cos(s * a - x[j])
        for j in range(2, i):
            s = math.sin(s + a * x[j])
        y[i] = s
    return np.sum(y * y)


def three_levels(x, a):
    # an array carried by the outer loop, a stack in the middle one and one inside it
    n = x.shape[0]
    u = x.copy()
    for _t in range(3):
        v = np.zeros(n)
        for i in range(n):
            s = u[i]
            for j in range(i + 1):
                s = math.sin(s * a + u[j])
            v[i] = s
        u = v
    return np.sum(u * u)


def three_levels_typed(x, a):
    # typed stacks at two levels: the innermost reserved for the loops around it
    n = x.shape[0]
    y = np.zeros((n, n))
    for i in range(1, n):
        for j in range(i + 1):
            for k in range(j, i):
                y[i, k] = math.sin(y[i - 1, k] + a * x[j]) * x[k - j]
    return np.sum(y * y)


def inner_in_branch(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        if x[i] > 0.0:
            for j in range(n):
                s = math.sin(s * a + x[j])
        else:
            for j in range(i):
                s = math.cos(s * a + x[j])
        y[i] = s
    return np.sum(y * y)


def stops_that_change(x, a):
    # m is carried by the outer loop, changed before and after an inner loop runs to it;
    # range(k) is evaluated once, and the inner body then changes k
    n = x.shape[0]
    y = np.zeros(n)
    m = 1
    for i in range(n):
        s = x[i]
        for j in range(m):
            s = math.sin(s * a + x[j % n])
        m = m + i % 2
        k = m - 1
        for j in range(k):
            s = math.cos(s * a - x[j % n])
            k = k + 1
        y[i] = s + k
        m = m + 1 - i % 2
    return np.sum(y * y)


def inner_while_and_break(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        j = 0
        while j < i + 1 and s < 1.5:
            s = math.sin(s * a + x[j]) + 0.6
            j += 1
        for j in range(n):
            s = math.sin(s * a + x[j])
            if s > 0.5:
                break
        y[i] = s
    return np.sum(y * y)


def for_in_while_in_for(x, a):
    # a stacked for loop (moved once per execution) inside a stacked while loop (moved once
    # per iteration), and a stacked for loop beside it
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        s = x[i]
        k = 0
        while k < i % 3 + 1:
            for j in range(k, n):
                s = math.sin(s * a + x[j])
            k += 1
        for j in range(i + 1):
            s = math.cos(s * a - x[j])
        y[i] = s
    return np.sum(y * y)


def _rows(x, a, m):
    # a nest of its own: its inner loop is stacked in the helper's gradient
    n = x.shape[0]
    z = np.zeros(n)
    for i in range(n):
        s = x[i]
        for j in range(i % m + 1):
            s = math.sin(s * a + x[j])
        z[i] = s
    return np.sum(z * x)


def loops_in_a_helper(x, a):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i] = _rows(x, a + 0.25 * y[i - 1], i + 1)
    return np.sum(y * y)


def nest_run_twice(x, a):
    # both executions of the i/j nest push on one stack; the reversal pops the second first;
    # then another nest, with stacks of its own
    n = x.shape[0]
    y = np.zeros(n)
    for rep in range(2):
        for i in range(n):
            s = y[i] + x[i] * (rep + 1)
            for j in range(i + rep):
                s = math.sin(s * a + x[j])
            y[i] = s
    z = np.zeros(n)
    for i in range(n):
        s = y[i]
        for j in range(n - i):
            s = math.cos(s * a + y[j])
        z[i] = s
    return np.sum(z * y)


# -- first writes: stores whose element's adjoint is left as it is ---------------------------


def fill_and_rebind(k, u0):
    # the heat stencil: each step's array is made, filled at the loop index and carried on
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(4):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * math.sin(u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return np.sum(u * u * u)


def fill_rebind_and_read_first(k, u0):
    # the carried array is read before the next one is made, and after it is rebound
    n = u0.shape[0]
    u = u0.copy()
    s = 0.0
    for _t in range(3):
        s = s + math.tanh(u[0] - u[n - 1])
        v = np.empty(n)
        for i in range(n):
            v[i] = math.sin(u[i] * k + s)
        u = v
        s = s + u[1] * k
    return np.sum(u * u0) + s


def fills_of_every_allocation(x, a):
    # ones, full of a float, zeros of a matrix written v[i, j] under both loops, empty
    n = x.shape[0]
    p = np.ones(n)
    for i in range(n):
        p[i] = math.sin(x[i] * a)
    q = np.full(n, 2.5)
    for i in range(n - 1, -1, -1):
        q[i] = p[i] * x[i] + a
    r = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                r[i, j] = q[i] * (x[j] + a)
    e = np.empty(n)
    e[0] = a * x[0]
    return np.sum(r * r) + np.sum(p * q) + e[0]


def rows_written_under_two_loops(x, a):
    # v[i] (a row) under the i and j loops: each row written n times, the last one stays
    n = x.shape[0]
    v = np.zeros((n, 2))
    for i in range(n):
        for j in range(n):
            v[i] = x[j] * a + x[i]
    return np.sum(v * v)


def written_twice_in_one_iteration(x, a):
    # two stores of one element; a store, a test reading it, a second store; v[i] first in
    # the body but v[i + 1] written the iteration before; the same with the loop's range
    # reading the array
    n = x.shape[0]
    v = np.zeros(n)
    for i in range(n):
        v[i] = x[i] * a
        v[i] = math.sin(x[i] + a)
    w = np.zeros(n)
    for i in range(n):
        w[i] = x[i] * a
        if w[i] > 0.1:
            w[i] = math.cos(x[i] - a)
    q = np.zeros(n)
    for i in range(n - 1):
        q[i] = math.sin(x[i] * a)
        q[i + 1] = math.cos(x[i] - a)
    z = np.zeros(n)
    for i in range(z.shape[0] - 1):
        z[i] = math.sin(x[i] - a)
        z[i + 1] = math.cos(x[i] * a)
    return np.sum(v * x) + np.sum(w * x) + np.sum(q * x) + np.sum(z * z)


def written_before_the_fill(x, a):
    # an element written before the loop that fills the array; elements filled, read
    # again and written over
    n = x.shape[0]
    v = np.zeros(n)
    v[0] = a * a
    for i in range(n):
        v[i] = math.sin(x[i] * a)
    w = np.zeros(n)
    for i in range(n):
        w[i] = x[i] * a
    for i in range(n):
        t = w[i]
        w[i] = math.sin(t) * a
    return np.sum(v * x) + np.sum(w * x)


def index_not_the_loop_index(x, a):
    # v[0] in a loop, v[i // 2], v[t] with t = i + 1 (capped), and an index the body
    # reassigns: elements written again
    n = x.shape[0]
    v = np.zeros(n)
    for i in range(n):
        v[0] = math.sin(x[i] * a)
    w = np.zeros(n)
    for i in range(n):
        w[i // 2] = math.cos(x[i] + a)
    z = np.zeros(n)
    for i in range(n):
        t = min(i + 1, n - 1)
        z[t] = x[i] * a
    y = np.zeros(n)
    for i in range(n):
        if x[i] > 0.0:
            i = 0
        y[i] = math.sin(x[i] * a)
    return np.sum(v * x) + np.sum(w * x) + np.sum(z * z * x) + np.sum(y * x)


def made_before_an_outer_loop(x, a):
    # the index names the inner loop only: each outer step writes every element again
    n = x.shape[0]
    v = np.zeros(n)
    for t in range(3):
        for i in range(n):
            v[i] = math.sin(x[i] * a * (t + 1))
    return np.sum(v * x)


def aliased_before_the_fill(x, a):
    # the stores go through another name for the new array
    n = x.shape[0]
    v = np.zeros(n)
    w = v
    for i in range(n):
        w[i] = x[i] * a
    for i in range(n):
        w[i] = math.sin(w[i] + a)
    return np.sum(w * x)


def made_by_a_copy(x, a):
    # a copy's reversal, and an arithmetic's, read the adjoint of every element
    n = x.shape[0]
    v = x.copy()
    for i in range(n):
        v[i] = math.sin(x[i] * a)
    w = x * a
    for i in range(n):
        w[i] = math.cos(x[i])
    return np.sum(v * x) + np.sum(w * w)


def stored_in_a_while_loop(x, a):
    n = x.shape[0]
    v = np.zeros(n)
    k = 0
    while k < 2 * n:
        v[k // 2] = math.sin(x[k // 2] * a + k)
        k += 1
    w = np.zeros(n)
    j = 0
    while j < n:
        w[j] = math.cos(x[j] - a)
        j += 1
    return np.sum(v * x) + np.sum(w * w)


def rebound_with_a_second_store(x, a):
    # the heat shape with one element of each new array written again after the fill
    n = x.shape[0]
    u = x.copy()
    for _t in range(3):
        v = np.zeros(n)
        for i in range(n):
            v[i] = math.sin(u[i] * a)
        v[1] = u[0] * a
        u = v
    return np.sum(u * x)


def counter_read_after(x, a):
    # j, the counter of the inner loop, is read after it: its last value (0 or 1) is taped
    # at the end of the outer iteration, as the reversal of the inner loop rebinds j
    n = x.shape[0]
    v = np.zeros(n)
    for i in range(n):
        s = a
        for j in range(i % 2 + 1):
            s = math.sin(s + x[j])
        v[i] = s * x[j]
    return np.sum(v * v)


def counters_of_two_depths_read_after(x, a):
    # the counters of a loop two levels in and of one level in, both read after their loops
    n = x.shape[0]
    v = np.zeros(n)
    for i in range(n):
        s = a
        for k in range(i % 3 + 1):
            for j in range(k + 1):
                s = math.cos(s * x[j])
            s = s + x[j] * x[k]
        v[i] = s * x[k] + x[j]
    return np.sum(v * v)


RNG = np.random.default_rng(11)
X = RNG.uniform(-0.9, 0.9, size=6)
STACKS = [
    (triangular_and_empty, (X, 0.8, 3), (0, 1)),
    (triangular_typed, (X, 0.8), (0, 1)),
    (starts_and_steps, (X, 0.8), (0, 1)),
    (three_levels, (X[:5], 0.8), (0, 1)),
    (three_levels_typed, (X[:5], 0.8), (0, 1)),
    (inner_in_branch, (X, 0.8), (0, 1)),
    (stops_that_change, (X, 0.8), (0, 1)),
    (inner_while_and_break, (X, 0.8), (0, 1)),
    (for_in_while_in_for, (X, 0.8), (0, 1)),
    (loops_in_a_helper, (X[:5], 0.8), (0, 1)),
    (nest_run_twice, (X, 0.8), (0, 1)),
    (counter_read_after, (X[:4], 0.4), (0, 1)),
    (counters_of_two_depths_read_after, (X[:4], 0.4), (0, 1)),
]
FIRST = [
    (fill_and_rebind, (0.2, X), (0, 1)),
    (fill_rebind_and_read_first, (0.7, X), (0, 1)),
    (fills_of_every_allocation, (X[:4], 0.8), (0, 1)),
    (rows_written_under_two_loops, (X[:4], 0.8), (0, 1)),
    (written_twice_in_one_iteration, (X, 0.8), (0, 1)),
    (written_before_the_fill, (X, 0.8), (0, 1)),
    (index_not_the_loop_index, (X, 0.8), (0, 1)),
    (made_before_an_outer_loop, (X, 0.8), (0, 1)),
    (aliased_before_the_fill, (X, 0.8), (0, 1)),
    (made_by_a_copy, (X, 0.8), (0, 1)),
    (stored_in_a_while_loop, (X, 0.8), (0, 1)),
    (rebound_with_a_second_store, (X, 0.8), (0, 1)),
]


def agrees(f, args, wrts):
    before = [np.copy(a) for a in args]
    got = adc.grad(f, wrt=wrts)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # the caller's arrays are never changed
    for wrt, value in zip(wrts, got, strict=True):
        np.testing.assert_allclose(value, numeric_gradient(f, list(args), wrt), rtol=1e-6,
                                   atol=1e-8, err_msg=f"d {f.__name__} / d arg {wrt}")


@pytest.mark.parametrize("f, args, wrts", STACKS, ids=[c[0].__name__ for c in STACKS])
def test_stacked_loops_match_finite_differences(f, args, wrts):
    agrees(f, args, wrts)


@pytest.mark.parametrize("f, args, wrts", FIRST, ids=[c[0].__name__ for c in FIRST])
def test_first_writes_match_finite_differences(f, args, wrts):
    agrees(f, args, wrts)
