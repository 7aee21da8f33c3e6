"""Loop programs as scientists and JAX users write them (simulations, dynamic programming,
convolutions written as loops, tuple parameters): one test per class of failure found by
running such programs, each checked against float64 central differences of the plain Python
function (``numeric_gradient``), or, for a refusal, against the text of the error.
"""

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    """grad and value_and_grad of ``f`` match f's value and its central differences."""
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    before = [np.copy(a) for a in args]
    value, got = adc.value_and_grad(f, wrt=wrts)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # the caller's arrays are never changed
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    for w, g in zip(wrts, got, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), w), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {w}")


rng = np.random.default_rng(2024)


def gram_per_slice(T):
    # T[a].T is a Fortran-ordered view; the loop writes into out, so it tapes the view
    out = np.zeros_like(T)
    for a in range(T.shape[0]):
        for b in range(T.shape[1]):
            out[a, b] = T[a, b] @ T[a, b].T
            out[a, b, 0, 0] += np.trace(T[a, b])
    return np.sum(out.sum(axis=(2, 3)) ** 2)


def transposed_carry(X):
    A = X.copy()
    out = np.zeros((3, X.shape[1], X.shape[0]))
    for k in range(3):
        At = A.T
        out[k] = np.sin(At) * At
        A = A * 0.9 + 0.1 * k
    return np.sum(out ** 2)


@pytest.mark.parametrize("f, shape", [(gram_per_slice, (2, 2, 3, 3)),
                                      (transposed_carry, (2, 3))])
def test_a_transposed_view_taped_in_a_loop_keeps_its_order(f, shape):
    # a tape took the elements of an F-ordered view in memory order and gave them back in
    # C order: the transpose of the value the forward sweep used (a wrong gradient)
    agrees(f, (rng.normal(size=shape),), 0)
