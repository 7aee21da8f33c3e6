"""np.einsum with a literal subscript string: values against NumPy's einsum and gradients
against central differences of the NumPy function, at random points.

Every form is a term of one of two functions (one compilation each); each term goes through
``sin`` so that its incoming adjoint differs from entry to entry.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_gradient as _numeric_grad

import adcompile as adc


def _check(f, args, rtol=1e-6, atol=1e-7):
    wrt = tuple(range(len(args)))
    value, grads = adc.value_and_grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-10)
    for i, got in enumerate(grads):
        np.testing.assert_allclose(got, _numeric_grad(f, args, i), rtol=rtol, atol=atol,
                                   err_msg=f"d/d argument {i}")


def products(A, B, x, y, S, T):
    """Contractions: matrix products, implicit outputs, dot, outer, transposes, traces,
    diagonals, sums, three operands."""
    return (np.sum(np.sin(np.einsum("ij,jk->ik", A, B)))
            + np.sum(np.sin(np.einsum("ij,jk", A, B)))
            + np.sin(np.einsum("i,i->", x, x))
            + np.sum(np.sin(np.einsum("i,j->ij", x, y)))
            + np.sum(np.sin(np.einsum("ij->ji", A)))
            + np.sin(np.einsum("ii->", S))
            + np.sin(np.einsum("ii", S))
            + np.sum(np.sin(np.einsum("ii->i", S)))
            + np.sin(np.einsum("ij->", A))
            + np.sum(np.sin(np.einsum("ij->j", A)))
            + np.sum(np.sin(np.einsum("ij,j->i", A.T, x)))
            + np.sum(np.sin(np.einsum("ij,jk,kl->il", A, B, S)))
            + np.sum(np.sin(np.einsum("ijk,kj->i", T, B)))
            + np.sum(np.sin(np.einsum("ij,ij->ij", A, A)))
            + np.sum(np.sin(np.einsum("ji", A))))


def batched(P, Q, R, v, w):
    """Letters kept on both sides (batch letters): stacks of matrix products, a row or a
    column on one side, broadcast products otherwise."""
    return (np.sum(np.sin(np.einsum("bij,bjk->bik", P, Q)))
            + np.sum(np.sin(np.einsum("bij,bj->bi", P, R)))
            + np.sum(np.sin(np.einsum("bi,bij->bj", R, Q)))
            + np.sum(np.sin(np.einsum("bi,bi->b", R, R)))
            + np.sum(np.sin(np.einsum("bij,bik->bjk", P, P)))
            + np.sum(np.sin(np.einsum("bi,b,bi->bi", R, v, R)))
            + np.sum(np.sin(np.einsum("bi,i->b", R, w))))


def test_contractions_match_numpy_and_central_differences():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(3, 4))
    B = rng.normal(size=(4, 3))
    x = rng.normal(size=3)
    y = rng.normal(size=2)
    S = rng.normal(size=(3, 3))
    T = rng.normal(size=(2, 3, 4))
    _check(products, (A, B, x, y, S, T))


def test_batch_letters_match_numpy_and_central_differences():
    rng = np.random.default_rng(2)
    P = rng.normal(size=(2, 3, 4))
    Q = rng.normal(size=(2, 4, 3))
    R = rng.normal(size=(2, 4))
    v = rng.normal(size=2)
    w = rng.normal(size=4)
    _check(batched, (P, Q, R, v, w))


def traced(S):
    return np.einsum("ii", S) ** 2


def chained(A, B):
    return np.sum(np.sin(np.einsum("ij,jk->ik", A, B)))


def test_forward_mode_and_second_order_of_an_einsum():
    """jvp against central differences along the tangent; the Hessian of trace(S)**2 is
    2 vec(I) vec(I)^T."""
    rng = np.random.default_rng(3)
    A = rng.normal(size=(3, 4))
    B = rng.normal(size=(4, 3))
    S = rng.normal(size=(3, 3))
    tA = rng.normal(size=A.shape)
    value, slope = adc.jvp(chained, wrt="A")(A, B, tA)
    h = 1e-6
    want = (chained(A + h * tA, B) - chained(A - h * tA, B)) / (2 * h)
    np.testing.assert_allclose(value, chained(A, B), rtol=1e-10)
    np.testing.assert_allclose(slope, want, rtol=1e-6)
    H = adc.hessian(traced)(S)
    eye = np.eye(3)
    np.testing.assert_allclose(H, 2.0 * eye[:, :, None, None] * eye[None, None, :, :],
                               atol=1e-12)


def computed(A, x, subscripts):
    return np.sum(np.einsum(subscripts, A, x))


def ellipsis(A, x):
    return np.sum(np.einsum("i...,i->...", A, x))  # '...' after letters: not lowered


def too_few(A, x):
    return np.sum(np.einsum("ij->i", A, x))


def unknown_output(A):
    return np.sum(np.einsum("ij->k", A))


@pytest.mark.parametrize(("f", "message", "hint"), [
    (computed, "subscripts as a string literal", "np.einsum('ij,jk->ik', A, B)"),
    (ellipsis, "'...' in the einsum subscripts", "name every axis"),
    (too_few, "name 1 operand(s), but 2 are passed", "one group of letters per operand"),
    (unknown_output, "output letter 'k'", "letters of the operands"),
], ids=["computed", "ellipsis", "count", "output"])
def test_einsum_forms_it_cannot_take_are_refused_at_the_call(f, message, hint):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)
    err = info.value
    assert message in str(err).splitlines()[0]
    assert hint in err.hint
    assert "test_einsum.py" in str(err) and "np.einsum" in str(err)
