"""Helpers that write into the arrays they are given (adcompile/inplace.py): a call standing
as a statement, ``r = h(...)`` and ``e += h(...)`` of a helper that writes through an index,
helpers calling helpers, helpers of another module, views and rows as arguments, keyword
arguments and defaults; every gradient against central finite differences of the plain
Python function, which also checks that the caller's arrays change as Python changes them.
Several losses share one compilation where they can (a test compiles each loss once)."""

import math

import helpers_elsewhere
import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc
from adcompile import AdcompileError

C = 0.3  # a global that helpers read


def drift(x, v, dt):
    x += dt * v


def kick(v, x, k, dt):
    v -= dt * k * x ** 3


def leapfrog(k, x0, v0):
    x = x0.copy()
    v = v0.copy()
    for _ in range(12):
        kick(v, x, k, 0.05)
        drift(x, v, 0.05)
    return np.sum(x ** 2) + np.sum(v ** 2)


def row_update(u, w):
    for i in range(u.shape[0]):
        u[i] = u[i] * w + 1.0


def rows_of_table(w, x0):
    U = np.zeros((4, x0.shape[0]))
    U[0] = x0
    for t in range(1, 4):
        U[t] = U[t - 1]
        row_update(U[t], w)
    row_update(U[:, 1], 0.5)
    return np.sum(U ** 2)


def step_and_energy(x, v, dt):
    for i in range(x.shape[0]):
        x[i] = x[i] + dt * v[i]
    return np.sum(x * x)


def energy_sum(dt, x0, v0):
    x = x0.copy()
    e = 0.0
    for _ in range(4):
        e += step_and_energy(x, v0, dt)
    last = step_and_energy(x, v0, -dt)
    return e + last + np.sum(x)


def both(u, v, dt):
    drift(u, v, dt)
    kick(v, u, 2.0, dt)


def nested(dt, x0, v0):
    x = x0.copy()
    v = v0.copy()
    for _ in range(5):
        both(x, v, dt)
        if np.sum(x ** 2) > 50.0:
            break
    return np.sum(x * v)


def elsewhere(c, x0):
    u = x0.copy()
    v = x0 * 2.0
    for _ in range(3):
        helpers_elsewhere.smooth(u)
        helpers_elsewhere.damp(v, c)
        u += 0.1 * v
    return np.sum(u ** 2)


def rebinds(u, k):
    u = u.copy()  # the caller's array is left as it was
    u[0] = k * 100.0


def uses_global(u):
    u[0] = u[0] * C


def names_of_the_caller(k, x0):
    C = 5.0  # noqa: N806 - a local of the caller named as the helper's global
    u = x0.copy()
    rebinds(u, k)
    uses_global(u)
    return np.sum(u) * C * k


def scaled(u, scale=2.0, shift=0.0):
    u[:] = u * scale + shift


def keywords(s, x0):
    u = x0.copy()
    scaled(u, shift=s)
    scaled(u, scale=s)
    scaled(u)
    return np.sum(np.sin(u))


def relax(w, k):
    for i in range(1, w.shape[0]):
        w[i] += 0.5 * math.tanh(k * w[i - 1])


def stencil_table(k, x0):
    T = np.zeros((3, 3, x0.shape[0]))  # rank 3: rows of its planes relaxed in place
    for a in range(3):
        for b in range(3):
            T[a, b] = x0 * (a + 1) - b
            relax(T[a, b], k)
        relax(T[a, :, 0], k)
    return np.sum(np.sin(T))


RNG = np.random.default_rng(11)
X0 = RNG.uniform(0.2, 1.0, 5)
V0 = RNG.normal(size=5)

CASES = [
    (leapfrog, (1.5, X0, V0), ("k", "x0", "v0")),
    (rows_of_table, (0.9, X0), ("w", "x0")),
    (energy_sum, (0.1, X0, V0), ("dt", "x0", "v0")),
    (nested, (0.1, X0, V0), ("dt", "x0", "v0")),
    (elsewhere, (0.4, X0), ("c", "x0")),
    (names_of_the_caller, (0.5, X0), ("k", "x0")),
    (keywords, (1.3, X0), ("s", "x0")),
    (stencil_table, (0.7, X0), ("k", "x0")),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_match_central_differences(f, args, wrt):
    params = f.__code__.co_varnames[:f.__code__.co_argcount]
    kept = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    value, grads = adc.value_and_grad(f, wrt=wrt)(*args)
    for a, k in zip(args, kept, strict=True):  # the caller's arguments are left alone
        np.testing.assert_array_equal(a, k)
    assert value == pytest.approx(f(*args), rel=1e-12)
    for name, g in zip(wrt, grads, strict=True):
        want = numeric_gradient(f, args, params.index(name))
        np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7, err_msg=name)


def test_the_generated_code_writes_into_the_callers_array():
    src = adc.grad(leapfrog, wrt="k").source
    assert "drift(" not in src.split("def grad_leapfrog")[1]  # inlined, not called
    assert "kick_dt" not in src and "drift_dt" not in src  # a literal argument is not bound
    assert "0.05" in src


def test_the_forward_mode_follows_the_inlined_writes():
    jvp = adc.jvp(leapfrog, wrt="k")
    value, tangent = jvp(1.5, X0, V0, 1.0)
    assert value == pytest.approx(leapfrog(1.5, X0, V0), rel=1e-12)
    assert tangent == pytest.approx(numeric_gradient(leapfrog, (1.5, X0, V0), 0), rel=1e-5)


def stops_early(u, k):
    if k > 1.0:
        return 0.0
    u[0] = k
    return 1.0


def returns_in_the_middle(k, x0):
    u = x0.copy()
    stops_early(u, k)
    return np.sum(u)


def write_into_parameter(x):
    drift(x, x, 0.1)  # writes into the function's own argument
    return np.sum(x)


@pytest.mark.parametrize("f, args, words", [
    (returns_in_the_middle, (0.5, X0), "leaves its result unused"),
    (write_into_parameter, (X0,), "change the caller's array"),
])
def test_what_is_not_inlined_is_refused_at_the_users_line(f, args, words):
    with pytest.raises(AdcompileError, match=words) as err:
        adc.grad(f, wrt=0)(*args)
    assert err.value.filename == __file__


def local_helpers(k, x0):
    u = x0.copy()
    rate = 0.5

    def smooth(w, times=1):
        for _ in range(times):
            for i in range(1, w.shape[0]):
                w[i] += rate * k * (w[i - 1] - w[i])

    def bump(w, s):
        w += s * np.tanh(w)

    for _ in range(3):
        smooth(u, times=2)
        bump(u, k)
        rate = rate * 0.9  # read where the helper is called, as Python reads it
    return np.sum(u ** 2)


def test_helpers_defined_inside_the_function_write_into_the_callers_arrays():
    args = (0.7, X0)
    for position in (0, 1):
        g = adc.grad(local_helpers, wrt=position)(*args)
        np.testing.assert_allclose(g, numeric_gradient(local_helpers, args, position),
                                   rtol=1e-5, atol=1e-7)


def doubled(u):
    u *= 2.0  # in place for an array: the caller's array changes
    return u


def calls_doubled(x):
    u = x.copy()
    w = doubled(u)
    return np.sum(u * x) + np.sum(w)


def doubled_number(a, s):
    a *= s  # a number: only the helper's own variable changes
    return a


def calls_doubled_number(x, s):
    total = 0.0
    for i in range(x.shape[0]):
        v = x[i]
        total += doubled_number(v, s) * v
    return total


def test_an_argument_changed_in_place_by_an_augmented_assignment():
    """``u *= 2.0`` on a parameter whose kind the helper does not show: refused where it
    gets an array (it was read as ``u = u * 2.0``, leaving the caller's array as it was: a
    wrong gradient), a number's own update where it gets a number."""
    with pytest.raises(AdcompileError, match=r"changes the argument 'u' in place") as err:
        adc.grad(calls_doubled)(X0)
    assert err.value.filename == __file__
    assert err.value.lineno == doubled.__code__.co_firstlineno + 1
    args = (X0, 1.7)
    for position in (0, 1):
        g = adc.grad(calls_doubled_number, wrt=position)(*args)
        np.testing.assert_allclose(g, numeric_gradient(calls_doubled_number, args, position),
                                   rtol=1e-6, atol=1e-8)
