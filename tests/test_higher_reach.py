"""The higher-order entry points (``jvp``, ``vjp``, ``jacobian``, ``hessian``, ``hvp``) on
programs as users write them, and on the calls users get wrong.  Derivatives are checked
against float64 central differences of the plain Python function (first order) and
differences of differences (second order); a call with a tangent, vector or cotangent of
the wrong shape must be an ``AdcompileError`` naming the parameter, never a silent result.
"""

from __future__ import annotations

import math

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
