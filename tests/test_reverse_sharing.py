"""Reversals that share work: an in-place sum into an element (``acc[i] += e``) passes the
element's adjoint through without clearing and re-adding it; ``x / y`` divides once; ``x * x``
contributes ``2 x`` in one statement; an adjoint array handed on by a copy keeps its owner.

Each shortcut has a condition; the programs here sit on both sides of it, and every gradient
is checked against float64 central differences."""

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def forces(G, x, mass):
    n = x.shape[0]
    f = np.zeros((n, 3))
    for a in range(n):
        for b in range(n):
            if b != a:
                ux = x[a, 0] - x[b, 0]
                uy = x[a, 1] - x[b, 1]
                uz = x[a, 2] - x[b, 2]
                q = ux * ux + uy * uy + uz * uz + 0.05
                c = G * mass[b] / (q * math.sqrt(q))
                f[a, 0] -= c * ux  # pulled towards b
                f[a, 1] -= c * uy
                f[a, 2] += -c * uz
    return np.sum(f * f)


def conv_sum(w, x):
    n = x.shape[0] - w.shape[0] + 1
    out = np.zeros(n)
    for i in range(n):
        for k in range(w.shape[0]):
            out[i] += w[k] * x[i + k]
    return np.sum(np.sin(out))


def reads_the_element_twice(w, x):
    n = x.shape[0]
    acc = np.zeros(n)
    total = 0.0
    for i in range(n):
        for j in range(n):
            old = acc[i]
            acc[i] = old + w * x[j]
            total += old * x[i]  # the old element is read again: no shortcut
    return total + np.sum(acc ** 2)


def into_a_copy(w, acc0, x):
    acc = acc0.copy()
    for i in range(x.shape[0]):
        acc[i] += w * x[i]  # the copy has the argument's dtype, unknown here: no shortcut
    return np.sum(acc ** 2)


def constant_addend(w, x):
    n = x.shape[0]
    acc = np.zeros(n)
    for i in range(n):
        acc[i] += 1.0
        acc[i] += w * x[i]
    return np.sum(acc ** 3)


def index_changes_between(w, x):
    n = x.shape[0]
    acc = np.zeros(n + 1)
    for i in range(n):
        k = i
        t = acc[k]
        k = i + 1
        acc[k] = t + w * x[i]  # a load and a store of different elements
    return np.sum(acc ** 2)


def quotient(a, b):
    s = a / b
    return s * math.sqrt(b)


def ratios(a, b):
    s = a / b
    return s * math.sqrt(b) + a / a + (a + 1.0) / (b * b)


def squares(x, y):
    z = x * x
    w = y * y
    return np.sum(z * w) + np.sum(w)


def carried_copy(k, u0):
    u = u0.copy()
    n = u.shape[0]
    for _ in range(4):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return np.sum(u * u)


def stencil_reads_twice(k, u0):
    u = u0.copy()
    for _ in range(3):
        v = np.zeros(u.shape[0])
        for i in range(1, u.shape[0] - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])  # u[i] read once
        u = v
    return np.sum(u ** 2)


def store_between_reads(w, x):
    u = x.copy()
    s = 0.0
    for i in range(x.shape[0]):
        a = u[i] * w
        u[i] = a + 1.0  # the next read of u[i] reads the new value
        s += u[i] * a
    return s


def index_moves_between_reads(w, x):
    s = 0.0
    j = 0
    for i in range(x.shape[0] - 1):
        j = i
        a = x[j] * w
        j = i + 1
        s += a * x[j] * w
    return s


def returns_the_sum(x, w):
    acc = np.zeros(3)
    for i in range(3):
        acc[i] = acc[i] + w * x[i]
    t = acc[1] + w
    acc[1] = t  # the sum stored is also the result: no pass-through
    return t


def returns_the_second_load(u, w):
    a = u[1] * w  # noqa: F841 (read first, unused)
    return u[1]  # the second read of u[1] is the result


RNG = np.random.default_rng(7)
CASES = [
    (forces, ("G", "x"), (1.3, RNG.normal(size=(4, 3)), RNG.uniform(0.5, 1.5, 4))),
    (conv_sum, ("w", "x"), (RNG.normal(size=3), RNG.normal(size=8))),
    (reads_the_element_twice, ("w", "x"), (0.7, RNG.normal(size=4))),
    (constant_addend, ("w", "x"), (0.4, RNG.normal(size=5))),
    (index_changes_between, ("w", "x"), (0.6, RNG.normal(size=4))),
    (quotient, ("a", "b"), (1.3, 2.1)),
    (ratios, ("a", "b"), (1.3, 2.1)),
    (squares, ("x", "y"), (RNG.normal(size=3), RNG.normal(size=3))),
    (carried_copy, ("k", "u0"), (0.2, RNG.normal(size=7))),
    (stencil_reads_twice, ("k", "u0"), (0.2, RNG.normal(size=6))),
    (store_between_reads, ("w", "x"), (0.8, RNG.normal(size=4))),
    (index_moves_between_reads, ("w", "x"), (0.8, RNG.normal(size=4))),
    (returns_the_sum, ("x", "w"), (RNG.normal(size=3), 0.7)),
    (returns_the_second_load, ("u", "w"), (RNG.normal(size=3), 0.7)),
]


@pytest.mark.parametrize("f, wrt, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_matches_central_differences(f, wrt, args):
    grads = adc.grad(f, wrt=wrt)(*args)
    for name, g in zip(wrt, grads, strict=True):
        i = f.__code__.co_varnames.index(name)
        expected = numeric_gradient(f, args, i)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-7, err_msg=name)


def test_copied_argument_keeps_the_full_reversal():
    x = RNG.normal(size=4)
    acc = RNG.normal(size=4)
    g = adc.grad(into_a_copy, wrt=("w", "acc0"))
    dw, dacc = g(0.3, acc, x)
    np.testing.assert_allclose(dw, numeric_gradient(into_a_copy, (0.3, acc, x), 0), rtol=1e-6)
    np.testing.assert_allclose(dacc, numeric_gradient(into_a_copy, (0.3, acc, x), 1),
                               rtol=1e-6)
    assert "stored_adjoint" in g.source  # an int array would truncate: not skipped


def test_integer_accumulator_has_no_derivative():
    def truncating(w, x):
        acc = np.arange(x.shape[0])  # integers: each store truncates
        for i in range(x.shape[0]):
            acc[i] += w * x[i]
        return np.sum(acc * x)

    x = np.array([0.25, 1.5, 2.75])
    dw = adc.grad(truncating, wrt="w")(0.1, x)
    assert dw == numeric_gradient(truncating, (0.1, x), 0) == 0.0


def test_the_shortcuts_show_in_the_source():
    src = adc.grad(forces, wrt=("G", "x")).source
    assert "# f[a, 0] -= t" in src and "# f[a, 2] += t" in src
    assert "stored_adjoint" not in src
    assert "= -d_t" in src and " * c\n" in src  # c = G m / t: d_t = -d_(G m) * c
    assert "d_b += -d_a * s" in adc.grad(quotient, wrt=("a", "b")).source
    sq = adc.grad(squares, wrt=("x", "y")).source
    assert "d_x = 2.0 * d_z * x" in sq and "d_y = 2.0 * d_w * y" in sq
    heat = adc.grad(carried_copy, wrt="k").source
    assert "d_v.copy()" not in heat and "fresh_copy" not in heat
    stencil = adc.grad(stencil_reads_twice, wrt="k").source
    assert stencil.count("d_u_1[i] +=") == 1  # one read of u[i], one update of its adjoint
