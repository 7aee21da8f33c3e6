"""Random programs of the classes of wrong gradient fixed in loops with views, masks, tuple
parameters and counters (``progen.VIEW_KINDS``), each checked like the differential tester's:
against float64 central differences of the plain Python function, or refused with
``AdcompileError``.  Anything else (a wrong value or gradient, a raw exception, a changed
argument) fails.

Each kind is drawn first in its programs (``programs(first=kind)``), followed by up to one
snippet of any view kind; the seed is fixed, so the programs are the same in every run.  The
tests after them pin the bugs that drawing these programs found.
"""

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def rows_updated_through_a_name(u, T):
    B = T.copy()
    for q in range(2):
        r = B[q]  # a slab of B: r += ... changes B in Python
        r += np.tanh(u)
    return np.sum(np.sin(B))


def row_of_a_copy_updated(x):
    A = x.copy()
    r = A[0]
    r *= 3.0
    return np.sum(A ** 3)


def element_updated(x):
    s = x[0]  # a number for a vector
    s *= 3.0
    return np.sum(x ** 3) + s


def test_a_row_updated_through_a_name_is_refused_by_every_derivative():
    # the check that r is a number was dead code in the gradient (r is not read again):
    # value_and_grad and jvp dropped the update and gave a wrong value and gradient; only
    # grad, which types the function itself, refused
    rng = np.random.default_rng(3)
    u, T = rng.normal(size=3), rng.normal(size=(2, 2, 3))
    for make, args in [(adc.value_and_grad, (u, T)), (adc.grad, (u, T)),
                       (adc.jvp, (u, T, np.ones(3), np.ones((2, 2, 3))))]:
        with pytest.raises(adc.AdcompileError, match=r"'r \+= \.\.\.' \(or another augmented "
                           "assignment\\) changes in place the row or slice 'r'"):
            make(rows_updated_through_a_name, wrt=(0, 1))(*args)
    x = rng.normal(size=(2, 3))
    with pytest.raises(adc.AdcompileError, match="changes in place the row or slice 'r'"):
        adc.value_and_grad(row_of_a_copy_updated)(x)
    v = rng.normal(size=3)
    value, got = adc.value_and_grad(element_updated)(v)
    assert value == pytest.approx(element_updated(v), rel=1e-12)
    np.testing.assert_allclose(got, numeric_gradient(element_updated, [v], 0), rtol=1e-6,
                               atol=1e-8)
