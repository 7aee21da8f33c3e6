"""The ``elementwise`` kernel (``adcompile/kernels_elementwise.py``) and the jvps that use it.

Forward mode writes the arithmetic of an array tangent as a function of numbers applied by
``elementwise(fn, operands)`` in loops written for the operands' ranks.  The kernel is checked
against NumPy evaluating the same arithmetic on the arrays (the same operations in the same
order: equal to the bit), through both of its loops (operands of the result's trailing shape,
and operands broadcasting a dimension of size 1), numbers among the operands, numbers only,
and shapes that do not broadcast; and a jvp whose tangents take both loops against central
differences of the function run as plain Python.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile.kernels_elementwise import elementwise


def tanh_tangent(a, b, h):
    return (a + b) * (1.0 - h * h)


_tanh_tangent = numba.njit(tanh_tangent)


@numba.njit
def _apply(a, b, h):
    return elementwise(_tanh_tangent, (a, b, h))


RNG = np.random.default_rng(11)

SHAPES = [
    ((6, 4), (4,), (6, 4)),          # a matrix, a row: the loops without steps
    ((6, 4), (6, 1), (1, 4)),        # dimensions of size 1 broadcast: the loops with steps
    ((3, 6, 4), (4,), (6, 4)),       # rank 3 against lower ranks
    ((5,), (1,), (5,)),
    ((6, 4), (), (4,)),              # a number among the operands
]


def test_elementwise_is_numpys_arithmetic_on_the_arrays():
    for shapes in SHAPES:
        a, b, h = (RNG.standard_normal(s) if s else float(RNG.standard_normal())
                   for s in shapes)
        got = _apply(a, b, h)
        want = tanh_tangent(a, b, h)  # NumPy on the arrays
        assert got.shape == want.shape and got.dtype == np.float64, shapes
        np.testing.assert_array_equal(got, want)
    assert _apply(0.5, 0.25, 0.1) == tanh_tangent(0.5, 0.25, 0.1)  # numbers: fn of them
    with pytest.raises(ValueError, match="broadcast"):
        _apply(np.ones((6, 4)), np.ones(3), np.ones((6, 4)))


def layer(W, b, c, X):
    H = np.tanh(X @ W + b)     # (n, m) + (m,): dt_H's arithmetic on a matrix and a row
    G = H * c                  # c of shape (n, 1): broadcast along a dimension of size 1
    return np.sum(G * G) + np.sum(c * c * b[0])


def test_jvp_through_the_loops_matches_central_differences():
    X = RNG.standard_normal((7, 3))
    args = (RNG.standard_normal((3, 5)), RNG.standard_normal(5), RNG.standard_normal((7, 1)), X)
    tangents = [RNG.standard_normal(np.shape(a)) for a in args[:3]]
    jf = adc.jvp(layer, wrt=(0, 1, 2))
    value, d = jf(*args, *tangents)
    assert "elementwise(tangent_t3, (dt_t1, dt_b, H, c, dt_c, G))" in jf.source
    h = 1e-6

    def moved(sign):
        return layer(*(a + sign * h * t for a, t in zip(args[:3], tangents, strict=True)), X)

    np.testing.assert_allclose(value, layer(*args), rtol=1e-12)
    np.testing.assert_allclose(d, (moved(1.0) - moved(-1.0)) / (2 * h), rtol=1e-6, atol=1e-8)
