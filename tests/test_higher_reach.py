"""The higher-order entry points (``jvp``, ``vjp``, ``jacobian``, ``hessian``, ``hvp``) on
programs as users write them, and on the calls users get wrong.  Derivatives are checked
against float64 central differences of the plain Python function (first order) and
differences of differences (second order); a call with a tangent, vector or cotangent of
the wrong shape must be an ``AdcompileError`` naming the parameter, never a silent result.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

import adcompile as adc

RNG = np.random.default_rng(23)


def fd_jacobian(f, x, h=1e-6):
    """d f / d x (an array or a float) by central differences: f.shape + x.shape."""
    x = np.asarray(x, dtype=float)
    y0 = np.asarray(f(x.item() if x.ndim == 0 else x))
    out = np.empty(y0.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = h
        hi, lo = x + e, x - e
        d = (np.asarray(f(hi.item() if x.ndim == 0 else hi))
             - np.asarray(f(lo.item() if x.ndim == 0 else lo))) / (2 * h)
        out[(Ellipsis, *k)] = d
    return out


def fd_hessian(f, x, h=1e-4):
    """The Hessian of the scalar f at the array x by differences of differences."""
    n = x.size
    H = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            ei = np.zeros(n)
            ej = np.zeros(n)
            ei[i] = ej[j] = h

            def at(d):
                return f((x.ravel() + d).reshape(x.shape))
            H[i, j] = (at(ei + ej) - at(ei - ej) - at(ej - ei) + at(-ei - ej)) / (4 * h * h)
    return H.reshape(x.shape + x.shape)


# -- programs --------------------------------------------------------------------------------

def rosen(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
    return s


def coupled(A, v):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] * v[j] ** 2 + math.tanh(A[i, j] * v[j])
    return s


def ring(x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i] ** 2 * x[(i + 1) % n] + math.sin(x[i])
    return out


def spread(a, b):
    return np.array([a * b, a + b ** 2, math.sin(a) * b, math.exp(a - b), b])


def energy(x):
    return np.sum(x ** 2) * math.exp(x[0])


def tanh_layer(x, W):
    return np.sum(np.tanh(W @ x) ** 2)


def squares(x):
    return x * x


# -- hessian and jacobian from compiled code -------------------------------------------------

def test_hessian_and_jacobian_are_callable_from_numba_code():
    x = np.array([0.3, -0.5, 0.8, 0.1])
    H = adc.hessian(rosen)

    @numba.njit
    def newton_step(x):
        return x - np.linalg.solve(H(x), np.ones(x.size))

    want_H = fd_hessian(rosen, x)
    np.testing.assert_allclose(newton_step(x), x - np.linalg.solve(want_H, np.ones(4)),
                               rtol=1e-5, atol=1e-6)

    A, v = RNG.uniform(-1, 1, (2, 3)), RNG.uniform(-1, 1, 3)
    blocks = adc.hessian(coupled, wrt=("A", "v"))

    @numba.njit
    def both(A, v):
        return blocks(A, v)

    (HAA, HAv), (HvA, Hvv) = both(A, v)
    np.testing.assert_allclose(HAv, fd_jacobian(
        lambda vv: fd_jacobian(lambda AA: coupled(AA, vv), A, h=1e-4), v, h=1e-4),
        rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(HvA, np.moveaxis(HAv, -1, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(Hvv, fd_hessian(lambda vv: coupled(A, vv), v),
                               rtol=1e-5, atol=1e-6)
    assert HAA.shape == (2, 3, 2, 3)

    # forward mode (fewer results than entries: no), reverse mode (a float result), numbers
    J_ring, J_spread, J_energy = (adc.jacobian(ring), adc.jacobian(spread, wrt=("a", "b")),
                                  adc.jacobian(energy))

    @numba.njit
    def jacobians(x, a, b):
        return J_ring(x), J_spread(a, b), J_energy(x)

    jr, (ja, jb), je = jacobians(x, 0.3, 0.7)
    np.testing.assert_allclose(jr, fd_jacobian(ring, x), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ja, fd_jacobian(lambda a: spread(a, 0.7), 0.3), rtol=1e-6)
    np.testing.assert_allclose(jb, fd_jacobian(lambda b: spread(0.3, b), 0.7), rtol=1e-6)
    np.testing.assert_allclose(je, fd_jacobian(energy, x), rtol=1e-6, atol=1e-8)

    curvature = adc.hessian(spread_sum, wrt="a")

    @numba.njit
    def number(a, b):
        return curvature(a, b)

    assert isinstance(number(0.3, 0.7), float)
    assert number(0.3, 0.7) == pytest.approx(-math.sin(0.3) * 0.7 + math.exp(0.3 - 0.7),
                                             rel=1e-10)


def spread_sum(a, b):
    return np.sum(spread(a, b))


# -- tangents, vectors and cotangents of the wrong shape -------------------------------------

def test_tangents_vectors_and_cotangents_of_another_shape_are_refused():
    x, W = RNG.uniform(-1, 1, 3), RNG.uniform(-1, 1, (2, 3))
    jf, hv, vf = adc.jvp(tanh_layer), adc.hvp(tanh_layer), adc.vjp(squares)
    for bad in (np.ones(4), np.ones((3, 1)), 1.0):  # (3, 1) and 1.0 broadcast silently
        with pytest.raises(adc.AdcompileError, match="tangent for 'x'"):
            jf(x, W, bad)
        with pytest.raises(adc.AdcompileError, match="vector for 'x'"):
            hv(x, W, bad)
    with pytest.raises(adc.AdcompileError, match="tangent for 'x' is an array of shape"):
        adc.jvp(lambda_free_cube)(0.5, np.ones(2))
    with pytest.raises(adc.AdcompileError, match="followed by the tangent of x"):
        jf(x, W)
    for bad in (np.ones(4), 1.0):
        with pytest.raises(adc.AdcompileError, match="cotangent is"):
            vf(x, bad)
    with pytest.raises(adc.AdcompileError, match="returns a number"):
        adc.vjp(tanh_layer)(x, W, np.ones(3))
    with pytest.raises(adc.AdcompileError, match="must return a scalar"):
        adc.hessian(squares)(x)
    with pytest.raises(adc.AdcompileError, match="2 in all"):
        adc.hessian(tanh_layer)(x)

    # and the right shapes still give the derivatives
    t = RNG.standard_normal(3)
    want = (tanh_layer(x + 1e-6 * t, W) - tanh_layer(x - 1e-6 * t, W)) / 2e-6
    assert jf(x, W, t)[1] == pytest.approx(want, rel=1e-6)
    c = RNG.standard_normal(3)
    np.testing.assert_allclose(vf(x, c)[1], 2 * x * c, rtol=1e-12)


def lambda_free_cube(x):
    return x ** 3


# -- an element of a call's tuple ------------------------------------------------------------

def moments(x):
    m = np.mean(x)
    return m, np.sum((x - m) ** 2)


def spread_of(x, a):
    return moments(x * a)[1] * moments(x)[0] + a


def series(x, a):
    s = 0.0
    for k in range(3):
        s = s * x + a * math.sin(x * k)
    return s


series_jvp = adc.jvp(series, wrt="x")


def slope(x, a, t):
    return series_jvp(x, a, t)[1]  # the hint grad(jvp(f)) gives, as written


def test_an_element_of_a_tuple_a_call_returns():
    x, a = np.array([0.3, -0.5, 0.8, 0.1]), 0.7
    g = adc.grad(spread_of, wrt=("x", "a"))(x, a)
    np.testing.assert_allclose(g[0], fd_jacobian(lambda xx: spread_of(xx, a), x), rtol=1e-6)
    assert g[1] == pytest.approx(fd_jacobian(lambda aa: spread_of(x, aa), a), rel=1e-6)
    np.testing.assert_allclose(adc.hessian(spread_of)(x, a),
                               fd_hessian(lambda xx: spread_of(xx, a), x), rtol=1e-5,
                               atol=1e-6)
    # grad of a directional derivative: the row of the Hessian of series along t
    dx, da = adc.grad(slope, wrt=("x", "a"))(0.8, 1.3, 0.6)

    def d_dx(x, a, h=1e-4):
        return (series(x + h, a) - series(x - h, a)) / (2 * h)
    assert dx == pytest.approx(0.6 * (d_dx(0.8 + 1e-4, 1.3) - d_dx(0.8 - 1e-4, 1.3)) / 2e-4,
                               rel=1e-5)
    assert da == pytest.approx(0.6 * (d_dx(0.8, 1.3 + 1e-4) - d_dx(0.8, 1.3 - 1e-4)) / 2e-4,
                               rel=1e-5)


# -- Hessians of matrices keep the column loop -----------------------------------------------

def shifted(A, b, c):
    return np.sum((A + b) ** 2 * c[:, None]) + np.sum(np.exp(A * b))


def test_the_hessian_of_a_matrix_keeps_the_column_loop():
    # a block function would stack matrices (rank 3): Numba took minutes to compile its
    # arithmetic, for twelve columns the loop computes in microseconds
    A, b, c = RNG.uniform(-1, 1, (3, 4)), RNG.uniform(-1, 1, 4), RNG.uniform(-1, 1, 3)
    H = adc.hessian(shifted, wrt="A")
    np.testing.assert_allclose(H(A, b, c), fd_hessian(lambda AA: shifted(AA, b, c), A),
                               rtol=1e-5, atol=1e-6)
    assert "_block(" not in H.source and "_columns(" in H.source


# -- parameters with defaults ----------------------------------------------------------------

def cubes(x, a=2.0, p=3):
    return np.sum(x ** p) * a


def test_hessian_and_jacobian_take_the_call_without_its_defaults():
    x = np.array([0.5, -0.3, 0.9])
    np.testing.assert_allclose(adc.hessian(cubes)(x), np.diag(12.0 * x), rtol=1e-12)
    np.testing.assert_allclose(adc.hessian(cubes)(x, 1.0), np.diag(6.0 * x), rtol=1e-12)
    np.testing.assert_allclose(adc.jacobian(cubes)(x), 6.0 * x ** 2, rtol=1e-12)


def products(x):
    return np.prod(x) + np.sum(np.prod(x.reshape(2, 3), axis=1) ** 2)


def column_products(X):
    return np.sum(np.prod(X, axis=0, keepdims=True) * X)


def product_hessian(x):
    """By hand: d2 prod(x) / dx_i dx_j = the product of the others than i and j (i != j),
    and for the squared row products r_a = prod of row a, d2 r_a^2 = 2 (dr_a dr_a^T +
    r_a d2 r_a) within row a."""
    n = x.size

    def others(v, skip):
        return np.prod([v[k] for k in range(v.size) if k not in skip])

    H = np.array([[others(x, {i, j}) if i != j else 0.0 for j in range(n)]
                  for i in range(n)])
    for a in range(2):
        row = x[3 * a:3 * a + 3]
        r = np.prod(row)
        dr = np.array([others(row, {i}) for i in range(3)])
        d2r = np.array([[others(row, {i, j}) if i != j else 0.0 for j in range(3)]
                        for i in range(3)])
        H[3 * a:3 * a + 3, 3 * a:3 * a + 3] += 2.0 * (np.outer(dr, dr) + r * d2r)
    return H


@pytest.mark.parametrize("x", [np.array([0.7, -1.3, 0.4, 1.9, -0.6, 1.1]),
                               np.array([1.5, 0.0, 2.0, -1.0, 0.0, 3.0])])  # zeros too
def test_hessians_of_products(x):
    # the second derivatives of np.prod go through prod_others, which had no rule
    H = adc.hessian(products)(x)
    np.testing.assert_allclose(H, product_hessian(x), rtol=1e-12, atol=1e-12)
    v = np.linspace(-1.0, 1.0, 6)
    np.testing.assert_allclose(adc.hvp(products)(x, v), product_hessian(x) @ v, rtol=1e-12,
                               atol=1e-12)
    X = np.array([[0.5, -2.0], [1.5, 0.3], [-0.8, 1.2]])
    h = 1e-5
    grad = adc.grad(column_products)
    fd = np.array([((grad(X + h * e.reshape(3, 2)) - grad(X - h * e.reshape(3, 2))) / (2 * h))
                   .ravel() for e in np.eye(6)]).T
    np.testing.assert_allclose(adc.hessian(column_products)(X).reshape(6, 6), fd, rtol=1e-6,
                               atol=1e-8)
