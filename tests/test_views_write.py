"""Writes through views of local arrays, and ``zip(*p)`` of a parameter.

A name bound to a basic-indexing view of an array the function made (``row = D[i]``,
``tail = D[1, 1:]``, ``col = T[i, :, j]``, ``sub = row[1:]``, steps and negative indices
included) may be written (``v[k] = e``, ``v[k] += e``, ``v[a:b] = e``, ``v *= c``), and the
write reaches the base, as in NumPy; a write into the base is seen through the view.  A read
by an index array (``D[[0, 1]]``) is a copy: a write into it leaves the base alone.  A view
that cannot be followed (rebound in a branch) is refused where it is read, naming what to
write.  ``for a, c in zip(*p)`` works for a tuple parameter ``p = (W, b)`` and for an array
parameter (as many rows as the target names, or its columns when each step is only looped
over, indexed or summed).  Several constructs sit behind one compile; every gradient is
checked against float64 central differences of the function run as plain Python, and ``jvp``
and ``hvp`` where the construct sits in a loss.
"""

import math
import re

import numpy as np
import pytest
from conftest import numeric_gradient
from test_higher_contract import fd_hessian
from test_reach_loops4 import agrees

import adcompile as adc

rng = np.random.default_rng(41)


def rows_tails_and_steps(x, w):
    # rows written element by element in a loop, a tail slice written at its start and at
    # negative indices, every other element (step 2), a reversed slice, a row without its
    # ends (a slice of it written), a chained view (sub = row[1:]) written whole, a row
    # scaled and added to in place, a write into the base read through the view
    D = np.zeros((3, 6))
    for i in range(3):
        row = D[i]
        for j in range(5):
            row[j] += x[j] * (i + 1)
    tail = D[1, 1:]
    tail[0] = tail[0] * 2.0
    tail[-1] = tail[-1] + tail[-2] * x[0]
    ev = D[2, ::2]
    ev[1] = w * ev[-1]
    od = D[2, 5::-2]
    od[0] = x[1] * 3.0
    od[-1] = od[1] * x[2]
    mid = D[0, 1:-1]
    mid[-1] = mid[0] + x[4]
    mid[1:3] = x[:2] * mid[2]
    E = np.ones((3, 4)) * 0.5
    for i in range(3):
        r = E[i]
        sub = r[1:]
        sub[:] = x[1:4] * (i + 1.0) + sub
        r[0] = np.sum(sub) * w
        r *= 0.5
        r += x[:4]
        sub[1:3] = sub[1:3] * w
    seen = E[1]
    E[1, 0] = 5.0 * x[0]
    s = seen[0] * x[1] + np.sum(seen * seen)
    return np.sum(np.sin(D) * D) + np.sum(E ** 2) + s


def ranks_three_and_four_and_tables(x, c):
    # columns of a rank-3 array (T[i, :, j]) written in loops, planes of a rank-4 array with
    # a chained row scaled in place; a row written in the branches of a loop; a read by an
    # index array (a copy) written, an element (a number) read after its base changed
    T = np.zeros((2, 3, 4))
    for i in range(2):
        for j in range(4):
            col = T[i, :, j]
            for k in range(3):
                col[k] = x[k] * (i + 1) + c * j
            col[-1] = col[0] * col[1]
    Q = np.zeros((2, 2, 3, 2))
    for a in range(2):
        plane = Q[a, :, :, 1]
        plane[0] = x * c
        plane[1, 1:] = x[1:] * plane[0, 0]
        fiber = plane[1]
        fiber *= c
    B = np.zeros((3, 3))
    for i in range(3):
        t = B[i, i:]  # a tail from a counter
        t[-1] = x[i] * c
        r = B[i]
        if x[i] > 0:
            r[0] = x[i] * c
            r[1:] = r[0] * x[1:3]
        else:
            r[2] = c * c
        r[1] += np.sum(r)
    cp = B[[0, 1]]
    cp[0, 0] = 100.0  # a copy: B stays as it is
    e = B[0, 1]  # a number: a copy too
    B[0, 1] = 7.0
    return np.sum(T ** 2) + np.sum(np.sin(Q)) + np.sum(np.tanh(B)) + np.sum(cp) + e * c


def views_in_other_loops(x):
    # a row per step of a while loop whose index changes after the row's last use; the rows
    # of a for loop over the array written; ... and None in a view's index; rows of an
    # array of rank 2 at least updated in place (r = B[h]; r += w)
    W = np.ones((4, 3))
    k = 0
    while k < 4:
        r = W[k]
        r[:] = r * x * (k + 1)
        r[k % 3] += 1.0
        k += 1
    for row in W:
        row *= x
        row[0] = row[1] * row[2]
    T = np.zeros((2, 3, 3))
    p = T[1, ...]
    p[0] = x
    p[1, :] = x * x
    q = T[0, :, None, 1]
    q[0, 0] = x[2] * 3.0
    B = np.zeros((2, 3)) + x  # of rank 2 at least: B[h] is a row, not a number
    for h in range(2):
        rw = B[h]
        rw += np.tanh(x) * (h + 1.0)
        rw *= x[0]
    return np.sum(W ** 2) + np.sum(T * T) + np.sum(B ** 2)


def tail_in_a_loss(x):
    D = np.ones((3, 4))
    for i in range(3):
        row = D[i]
        row[1:] = row[:-1] * x[1:] + x[i]
        row[0] *= x[0]
    tail = D[1, 1:]
    tail[0] = tail[0] * tail[-1]
    return np.sum(D * D * D)


def zips_of_parameters(p, A, x):
    # zip(*p) of a tuple parameter (W, b): W's rows beside b's numbers; zip(*A) of an array
    # of two rows, unpacked into two names; zip(*A) one column at a time, looped over,
    # indexed and summed
    s = 0.0
    for row, bias in zip(*p, strict=True):
        s += np.sum(np.tanh(row * x)) * bias
    for a, b in zip(*A, strict=True):
        s += a * b * x[0]
    for col in zip(*A, strict=False):
        t = 0.0
        for v in col:
            t += v * v
        s += math.sin(t) * x[1] + sum(col) * col[0]
    return s


def test_writes_through_views_of_local_arrays_reach_their_base():
    agrees(rows_tails_and_steps, (rng.normal(size=5), 0.7), (0, 1), rtol=1e-5, atol=1e-7)


def test_views_of_rank_three_and_four_arrays_and_tables():
    agrees(ranks_three_and_four_and_tables, (np.array([0.5, -0.3, 0.8]), 0.6), (0, 1),
           rtol=1e-5, atol=1e-7)


def test_views_written_in_while_loops_over_rows_and_with_counters():
    agrees(views_in_other_loops, (rng.normal(size=3),), 0, rtol=1e-5, atol=1e-7)


def test_writes_through_views_in_a_loss_second_order():
    x, t = rng.normal(size=4), rng.normal(size=4)
    value, tangent = adc.jvp(tail_in_a_loss)(x, t)
    np.testing.assert_allclose(value, tail_in_a_loss(x), rtol=1e-12)
    np.testing.assert_allclose(tangent, numeric_gradient(tail_in_a_loss, [x], 0) @ t,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(adc.hvp(tail_in_a_loss)(x, t),
                               fd_hessian(tail_in_a_loss, (x,), 0) @ t, rtol=1e-4, atol=1e-6)


def test_zip_star_of_a_tuple_parameter_and_of_an_array_parameter():
    p = (rng.normal(size=(3, 2)), rng.normal(size=3))
    agrees(zips_of_parameters, (p, rng.normal(size=(2, 3)), rng.normal(size=2)), (0, 1, 2),
           rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- still refused


def view_chosen_in_a_branch(x):
    D = np.zeros((3, 3))
    for i in range(3):
        tail = D[i, 1:]
        if x[i] > 0.5:
            tail = D[i]
        tail[0] = x[i]
    return np.sum(D * D)


def view_of_a_parameter_written(x):
    r = x[1:]
    r[0] = 2.0
    return np.sum(x)


def columns_made_arrays(P, w):
    s = 0.0
    for col in zip(*P, strict=True):
        s += np.sum(np.array(col)) * w
    return s


@pytest.mark.parametrize("f, args, pattern, hint", [
    (view_chosen_in_a_branch, (np.ones(3),), r"read after a write through its view 'tail'",
     r"bind 'tail' once, outside branches"),
    (view_of_a_parameter_written, (np.ones(3),), r"may change the argument 'x'",
     r"x = x\.copy\(\)"),
    (columns_made_arrays, (np.ones((2, 3)), 1.0), r"zip\(\*P\) of a value whose rows",
     r"for col in P\.T"),
], ids=lambda v: getattr(v, "__name__", None))
def test_views_and_zips_that_cannot_be_followed_are_refused_at_their_line(f, args, pattern,
                                                                          hint):
    with pytest.raises(adc.AdcompileError, match=pattern) as info:
        adc.grad(f)(*args)
    assert info.value.lineno is not None and info.value.lineno > f.__code__.co_firstlineno
    assert "test_views_write.py" in str(info.value)
    assert re.search(hint, str(info.value))
