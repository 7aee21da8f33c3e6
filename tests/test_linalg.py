"""Products beyond @ (inner, vdot, tensordot, kron, cross) and np.linalg (det, slogdet, inv,
solve, cholesky, norm): gradients against central differences of the NumPy function, at random
points and at edges (nearly singular matrices, a negative determinant, zero vectors and rows,
integer data, stacks of 3-vectors).

Terms are grouped into a few functions, one compilation each; each term goes through ``sin``
(or a weighted sum) so that its incoming adjoint differs from entry to entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_gradient as _numeric_grad

import adcompile as adc


def _check(f, args, wrt, rtol=1e-6, atol=1e-7):
    value, grads = adc.value_and_grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-10)
    for i, got in zip(wrt, grads, strict=True):
        np.testing.assert_allclose(got, _numeric_grad(f, args, i), rtol=rtol, atol=atol,
                                   err_msg=f"d/d argument {i}")


# -- products ------------------------------------------------------------------------------------

def products(a, b, M, N, T, k):
    return (np.sin(np.inner(a, b))
            + np.sum(np.sin(np.inner(M, N.T)))
            + np.sum(np.sin(np.inner(M, a)))
            + np.sin(np.vdot(M, N))
            + np.sum(np.sin(np.tensordot(T, M)))
            + np.sum(np.sin(np.tensordot(M, N, axes=((1, 0), (0, 1)))))
            + np.sum(np.sin(np.tensordot(a, b, 0)))
            + np.sum(np.sin(np.tensordot(T, N, axes=(2, 0))))
            + np.sum(np.sin(np.kron(a, b)))
            + np.sum(np.sin(np.kron(M, N.T)))
            + np.sum(np.sin(np.inner(a, k))))


def test_products_match_central_differences():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3), rng.normal(size=3)
    M, N = rng.normal(size=(2, 3)), rng.normal(size=(3, 2))
    T = rng.normal(size=(4, 2, 3))
    k = np.array([1, -2, 3])  # integer data
    _check(products, (a, b, M, N, T, k), wrt=(0, 1, 2, 3, 4))


def crosses(a, b, U, V):
    return (np.sum(np.sin(np.cross(a, b)))
            + np.sum(np.sin(np.cross(U, V)))
            + np.sum(np.sin(np.cross(U, b))))


def test_cross_of_vectors_and_stacks_matches_central_differences():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3), rng.normal(size=3)
    U, V = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    _check(crosses, (a, b, U, V), wrt=(0, 1, 2, 3))


# -- determinants, inverses, solves ----------------------------------------------------------

def linalg(A, b, B):
    sign, logdet = np.linalg.slogdet(A)
    return (np.sin(np.linalg.det(A))
            + sign * logdet + 0.5 * np.linalg.slogdet(A)[1]
            + np.sum(np.sin(np.linalg.inv(A)))
            + np.sum(np.sin(np.linalg.solve(A, b)))
            + np.sum(np.sin(np.linalg.solve(A, B))))


def _rotation(rng, n):
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    return q


@pytest.mark.parametrize("kind", ["random", "nearly_singular", "negative_det"])
def test_det_slogdet_inv_solve_match_central_differences(kind):
    rng = np.random.default_rng(2)
    A = rng.normal(size=(3, 3)) + 2.0 * np.eye(3)
    if kind == "nearly_singular":  # singular values 1, 0.5, 1e-3
        A = _rotation(rng, 3) @ np.diag([1.0, 0.5, 1e-3]) @ _rotation(rng, 3)
    if kind == "negative_det":
        A = A[[1, 0, 2]]
    b, B = rng.normal(size=3), rng.normal(size=(3, 2))
    if kind == "nearly_singular":  # derivatives of size 1e6: differences of a smaller step
        value, grads = adc.value_and_grad(linalg, wrt=(0, 1, 2))(A, b, B)
        for i, got in enumerate(grads):
            want = _numeric_grad(linalg, (A, b, B), i, h=1e-9)
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
        return
    _check(linalg, (A, b, B), wrt=(0, 1, 2))


def factor(S, W):
    return np.sum(W * np.linalg.cholesky(S))


def test_cholesky_matches_central_differences_entry_by_entry():
    """np.linalg.cholesky reads the lower triangle of S only: every entry's derivative, by
    central differences of NumPy's function (zero above the diagonal), and the tangent along
    a move that is not symmetric."""
    rng = np.random.default_rng(3)
    M = rng.normal(size=(4, 4))
    S = M @ M.T + 0.1 * np.eye(4)
    W = rng.normal(size=(4, 4))
    G = adc.grad(factor)(S, W)
    h = 1e-6
    want = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            E = np.zeros((4, 4))
            E[i, j] = 1.0
            want[i, j] = (factor(S + h * E, W) - factor(S - h * E, W)) / (2 * h)
    np.testing.assert_allclose(G, want, rtol=1e-5, atol=1e-8)
    assert np.all(np.triu(G, 1) == 0.0)
    T = rng.normal(size=(4, 4))
    _, along = adc.jvp(factor)(S, W, T)
    assert along == pytest.approx((factor(S + h * T, W) - factor(S - h * T, W)) / (2 * h),
                                  rel=1e-5)


# -- norms ---------------------------------------------------------------------------------------

def vector_norms(x, M, T):
    return (np.linalg.norm(x) + 0.5 * np.linalg.norm(x, 1) + 0.25 * np.linalg.norm(x, np.inf)
            + 0.2 * np.linalg.norm(x, -np.inf) + 0.3 * np.linalg.norm(x, ord=3)
            + 0.1 * np.linalg.norm(x, 0)
            + np.sum(np.sin(np.linalg.norm(M, axis=1)))
            + np.sum(np.sin(np.linalg.norm(M, 1, axis=0, keepdims=True)))
            + np.sum(np.sin(np.linalg.norm(T, np.inf, axis=-1)))
            + np.sum(np.sin(np.linalg.norm(T, 2.5, axis=1))))


def matrix_norms(M, T):
    return (np.linalg.norm(M, "fro") + 0.5 * np.linalg.norm(M, 1)
            + 0.25 * np.linalg.norm(M, np.inf) + 0.2 * np.linalg.norm(M, -np.inf)
            + 0.3 * np.linalg.norm(M, 2)
            + np.sum(np.sin(np.linalg.norm(T, axis=(1, 2))))
            + np.sum(np.sin(np.linalg.norm(T, -1, axis=(0, 2))))
            + np.sum(np.sin(np.linalg.norm(T, np.inf, axis=(2, 0), keepdims=True))))


def test_vector_norms_match_central_differences():
    rng = np.random.default_rng(4)
    x = rng.normal(size=5)
    M, T = rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
    _check(vector_norms, (x, M, T), wrt=(0, 1, 2))


def test_matrix_norms_match_central_differences():
    rng = np.random.default_rng(5)
    M, T = rng.normal(size=(3, 4)), rng.normal(size=(2, 3, 4))
    _check(matrix_norms, (M, T), wrt=(0, 1))


def norm_at_zero(x, M):
    return (np.linalg.norm(x) + np.linalg.norm(x, 3) + np.sum(np.linalg.norm(M, axis=1))
            + np.linalg.norm(M, 2))


def test_the_two_norm_at_zero_has_the_subgradient_zero():
    x = np.zeros(3)
    M = np.array([[0.0, 0.0], [3.0, 4.0]])  # a zero row
    d = adc.grad(norm_at_zero, wrt=(0, 1))  # one compilation for both points
    dx, dM = d(x, M)
    np.testing.assert_array_equal(dx, np.zeros(3))
    assert np.all(np.isfinite(dM))
    np.testing.assert_allclose(dM[0], [0.0, 0.0])
    np.testing.assert_allclose(dM[1], [0.6, 0.8] + np.array([0.6, 0.8]), atol=1e-12)
    _, dM0 = d(x, np.zeros((2, 2)))
    np.testing.assert_array_equal(dM0, np.zeros((2, 2)))


# -- forward mode and second order ---------------------------------------------------------

def log_det_plus(A, x):
    return np.linalg.slogdet(A)[1] + np.linalg.det(A) + np.linalg.norm(x) ** 2 + np.inner(x, x)


def solves(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2) + np.sum(np.linalg.inv(A))


def test_jvp_and_hessian_of_linalg():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(3, 3)) + 3.0 * np.eye(3)
    x, b = rng.normal(size=3), rng.normal(size=3)
    tA, tb = rng.normal(size=(3, 3)), rng.normal(size=3)
    h = 1e-6
    value, slope = adc.jvp(solves, wrt=(0, 1))(A, b, tA, tb)
    want = (solves(A + h * tA, b + h * tb) - solves(A - h * tA, b - h * tb)) / (2 * h)
    np.testing.assert_allclose(value, solves(A, b), rtol=1e-12)
    np.testing.assert_allclose(slope, want, rtol=1e-6)
    H = adc.hessian(log_det_plus, wrt=0)(A, x)
    grad = adc.grad(log_det_plus, wrt=0)
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        E = np.zeros((3, 3))
        E[i, j] = 1.0
        want = (grad(A + h * E, x) - grad(A - h * E, x)) / (2 * h)
        np.testing.assert_allclose(H[:, :, i, j], want, rtol=1e-5, atol=1e-7)
    Hx = adc.hessian(log_det_plus, wrt=1)(A, x)
    np.testing.assert_allclose(Hx, 4.0 * np.eye(3), atol=1e-12)


# -- what is refused -------------------------------------------------------------------------

def nuclear(M):
    return np.linalg.norm(M, "nuc")


def ambiguous(x):
    return np.linalg.norm(x, -1)


def computed_ord(x, p):
    return np.linalg.norm(x, p)


def spectral_of_axes(T):
    return np.sum(np.linalg.norm(T, 2, axis=(1, 2)))


def computed_axes(a, b, n):
    return np.sum(np.tensordot(a, b, n))


@pytest.mark.parametrize(("f", "message", "hint"), [
    (nuclear, "'nuc'", "name the axes"),
    (ambiguous, "np.linalg.norm(x, -1) without axis", "axis=0 for a vector"),
    (computed_ord, "ord= written as a literal", "ord=np.inf"),
    (spectral_of_axes, "ord=2 with axis=(1, 2) is not supported", "leave axis out"),
    (computed_axes, "axes written as a literal", "axes=2"),
], ids=["nuc", "ambiguous", "computed_ord", "spectral_axes", "tensordot_axes"])
def test_forms_it_cannot_take_are_refused_at_the_call(f, message, hint):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)
    err = info.value
    assert message in str(err).splitlines()[0], str(err)
    assert hint in err.hint
    assert "test_linalg.py" in str(err)
