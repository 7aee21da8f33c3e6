"""Adjoint arrays used again across the iterations of a loop's reversal (``stack.recycled``).

A loop that makes a fresh array each step (``v = np.zeros(n)``, ``u = v``) has a reversal
that starts the adjoint of ``u`` afresh each step.  It takes its zeros in the array it handed
out two iterations earlier when no adjoint still read holds it.  The gradients are checked
against float64 central differences of the plain Python function, in loops where that array
is still held (kept in a variable read after the loop, swapped, a row of a history, a view),
and through second derivatives, whose code differentiates the gradient again.
"""

import re

import numpy as np
import pytest
from test_nested_loops import agrees_all

import adcompile as adc
from adcompile.stack import adjoint_pool, array_pool, pooled_zeros, recycled

N = 7


def stencil(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(5):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return np.sum(u * u * u)


def kept_after_the_loop(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    kept = u
    for t in range(6):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] * u[i + 1] - u[i])
        if t == 2:
            kept = v
        u = v
    return np.sum(u * u) + np.sum(kept * kept * kept)


def kept_in_a_branch_each_step(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    best = u0.copy()
    for _t in range(6):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = np.sin(u[i]) + k * u[i + 1]
        if np.sum(v) > np.sum(best):
            best = v
        u = v
    return np.sum(u ** 2) + 0.5 * np.sum(best ** 3)


def swapped(k, u0):
    n = u0.shape[0]
    a = u0.copy()
    b = np.zeros(n)
    for _t in range(5):
        for i in range(1, n - 1):
            b[i] = a[i] + k * (a[i - 1] - 2.0 * a[i] + a[i + 1])
        a, b = b, a
    return np.sum(a ** 3) + np.sum(b * b)


def history_rows(k, u0):
    n = u0.shape[0]
    steps = 5
    H = np.zeros((steps + 1, n))
    H[0] = u0
    u = u0.copy()
    for t in range(steps):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * np.tanh(u[i - 1] - u[i + 1])
        H[t + 1] = v
        u = v
    return np.sum(H * H) + np.sum(u)


def a_view_of_the_step(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    tail = u[1:]
    for _t in range(5):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] * (1.0 + k * u[i + 1])
        tail = v[2:]
        u = v
    return np.sum(u ** 2) + np.sum(tail ** 3)


def matrix_steps(k, X0):
    m, n = X0.shape
    X = X0.copy()
    for _t in range(4):
        Y = np.zeros((m, n))
        for i in range(1, m - 1):
            for j in range(n):
                Y[i, j] = X[i, j] + k * (X[i - 1, j] * X[i + 1, j])
        X = Y
    return np.sum(X ** 2)


def rows_inside_steps(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    total = 0.0
    for _t in range(4):
        for i in range(n):
            r = np.zeros(3)
            r[0] = u[i] * k
            r[1] = u[(i + 1) % n] ** 2
            r[2] = k * k
            total += np.sum(r * r)
        u = np.sin(u) * k
    return total + np.sum(u)


def early_exit(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    for t in range(9):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - u[i])
        u = v
        if np.sum(u * u) < 0.05 * (t + 1):
            break
    return np.sum(u * u)


def lagging_alias(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    acc = 0.0
    for _t in range(6):
        v = np.zeros(n)
        w = u  # the previous step's array, still held while v is the next one's
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
        acc += w[2] * u[3]
    return np.sum(u * u) + acc


def listed_steps(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    seen = []
    for _t in range(5):
        v = np.empty(n)
        v[0] = u[0]
        v[n - 1] = u[n - 1]
        for i in range(1, n - 1):
            v[i] = u[i] + k * u[i - 1] * u[i + 1]
        seen.append(v)
        u = v
    return np.sum(np.array(seen) ** 2)


def empty_steps(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(6):
        v = np.empty(n)
        v[0] = u[n - 1]
        for i in range(1, n):
            v[i] = u[i] + k * np.sin(u[i - 1])
        u = v
    return np.sum(u ** 3)


def growing_steps(k, u0):
    u = u0.copy()
    for t in range(4):
        v = np.zeros(u.shape[0] + (t % 2))  # shapes alternate: a pool array fits or not
        for i in range(u.shape[0]):
            v[i] = u[i] * (1.0 + k * u[i])
        u = v
    return np.sum(u * u)


def inner_fresh_rows(k, X0):
    m, n = X0.shape
    X = X0.copy()
    total = 0.0
    for _t in range(3):
        for i in range(m):
            r = np.zeros(n)
            for j in range(n):
                r[j] = X[i, j] * k + X[i, (j + 1) % n]
            s = r
            total += s[0] * s[n - 1]
        X = X * (1.0 + k)
    return total + np.sum(X)


CASES = [stencil, kept_after_the_loop, kept_in_a_branch_each_step, swapped, history_rows,
         a_view_of_the_step, early_exit, rows_inside_steps, lagging_alias, listed_steps,
         empty_steps, growing_steps]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_adjoints_recycled_in_a_loop_are_right(f):
    rng = np.random.default_rng(5)
    agrees_all(f, (0.3, rng.uniform(0.2, 1.0, N)))


@pytest.mark.parametrize("f", [matrix_steps, inner_fresh_rows], ids=lambda f: f.__name__)
def test_a_rank_two_step(f):
    rng = np.random.default_rng(6)
    agrees_all(f, (0.4, rng.uniform(0.2, 1.0, (5, 3))))


def test_forward_sweeps_take_fresh_arrays_from_a_pool_only_where_nothing_holds_them():
    """The forward sweep of a gradient hands a step's fresh array out again two steps later
    (stack.pooled_zeros) where the array is used only by element, by copies made after it in
    the step and as an operand; never where a list, a view, a row of a history, a branch or
    a copy made before it may still hold it."""
    def pooled(f):
        forward = adc.grad(f, wrt="k").source.split("# backward sweep")[0]
        return "pooled_" in forward
    for f in (stencil, matrix_steps, empty_steps, growing_steps, early_exit, inner_fresh_rows):
        assert pooled(f), f.__name__
    for f in (kept_after_the_loop, kept_in_a_branch_each_step, history_rows,
              a_view_of_the_step, lagging_alias, listed_steps):
        assert not pooled(f), f.__name__


def test_the_stencil_reversal_takes_its_zeros_from_the_pool():
    source = adc.grad(stencil, wrt="k").source
    assert "recycled(" in source and "adjoint_pool(" in source
    assert "zeros_like(u" not in source


@pytest.mark.parametrize("f", [stencil, kept_after_the_loop], ids=lambda f: f.__name__)
def test_second_derivatives_through_recycled_adjoints(f):
    """hessian and grad of grad read the gradient's code again, as a program to
    differentiate: the pool becomes plain zeros there."""
    rng = np.random.default_rng(7)
    k, u0 = 0.3, rng.uniform(0.2, 1.0, N)
    dk = adc.grad(f, wrt="k")
    h = 1e-4
    want = (dk(k + h, u0) - dk(k - h, u0)) / (2 * h)
    np.testing.assert_allclose(adc.hessian(f, wrt="k")(k, u0), want, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(adc.grad(adc.grad(f, wrt="k"), wrt="k")(k, u0), want,
                               rtol=1e-5, atol=1e-8)
    pools = re.findall(r"(\w+) = adjoint_pool\(", dk.source)
    assert pools
    again = adc.grad(dk, wrt="k").source  # its own reversal may have pools of its own
    assert not any(re.search(rf"\b{p}\b", again) for p in pools)


def _pool_run(run):
    like = np.zeros((3, 2))
    pool = adjoint_pool(like)
    first, pool = run(pool, like, ())
    first[0, 0] = 1.0
    second, pool = run(pool, like, (first,))
    second[1, 1] = 2.0
    third, pool = run(pool, like, (second,))  # first is free: handed out again, zeroed
    held, pool = run(pool, like, (third, (1.0, second[:, 1])))  # a view of second: new
    return first, second, third, held


@pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
def test_recycled_reuses_only_memory_no_live_adjoint_holds(jit):
    import numba
    run = numba.njit(lambda pool, like, live: recycled(pool, like, live)) if jit else recycled
    first, second, third, held = _pool_run(run)
    assert np.shares_memory(first, third)
    assert not np.shares_memory(held, second) and not np.shares_memory(held, third)
    assert not third.any() and not held.any()
    assert second[1, 1] == 2.0  # what a live adjoint holds is never zeroed
    value, _ = run(adjoint_pool(1.0), 2.5, ())
    assert value == 0.0


def pair_forces(G, x, m):
    n = x.shape[0]
    acc = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if i != j:
                d = x[j] - x[i]
                r2 = d * d + 0.01
                acc[i] += G * m[j] * d / (r2 * np.sqrt(r2))
    return np.sum(acc * acc)


def test_a_quotient_in_code_without_infinities_has_no_guard():
    """The rule of x / y guards against 0 * inf only where the code mentions an infinity
    (codegen.may_hold_infinity): a force loop's gradient does without it, and is right."""
    rng = np.random.default_rng(8)
    args = (1.3, rng.uniform(-1.0, 1.0, 6), rng.uniform(0.5, 1.5, 6))
    assert "finite_or_zero" not in adc.grad(pair_forces, wrt="G").source
    agrees_all(pair_forces, args)


@pytest.mark.parametrize("jit", [False, True], ids=["python", "numba"])
def test_pooled_zeros_hands_out_the_array_of_two_calls_ago(jit):
    import numba
    run = numba.njit(lambda pool, shape: pooled_zeros(pool, shape)) if jit else pooled_zeros
    pool = array_pool((0,))
    first, pool = run(pool, 4)
    first[:] = 1.0
    second, pool = run(pool, 4)
    second[:] = 2.0
    third, pool = run(pool, 4)
    assert np.shares_memory(first, third) and not np.shares_memory(second, third)
    assert not third.any() and (second == 2.0).all()  # the last one handed out is kept
    other, pool = run(pool, 5)  # another shape: a new array
    assert other.shape == (5,) and not other.any()
    assert not np.shares_memory(other, second) and not np.shares_memory(other, third)
