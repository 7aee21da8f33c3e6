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
import progen
import pytest
from conftest import numeric_gradient

import adcompile as adc

#: programs drawn for each kind (a compilation each: keep the file under a minute)
PER_KIND = 2
SEED = 20261203


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("views")


@pytest.mark.parametrize("kind", progen.VIEW_KINDS)
def test_view_programs_match_finite_differences(kind, program_dir):
    statuses = progen.check_drawn(progen.VIEW_KINDS, kind, PER_KIND, SEED, program_dir)
    assert len(statuses) == PER_KIND


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
        with pytest.raises(adc.AdcompileError, match=r"'r \+= \.\.\.' changes in place the "
                           "row or slice 'r'"):
            make(rows_updated_through_a_name, wrt=(0, 1))(*args)
    x = rng.normal(size=(2, 3))
    with pytest.raises(adc.AdcompileError, match="changes in place the row or slice 'r'"):
        adc.value_and_grad(row_of_a_copy_updated)(x)
    v = rng.normal(size=3)
    value, got = adc.value_and_grad(element_updated)(v)
    assert value == pytest.approx(element_updated(v), rel=1e-12)
    np.testing.assert_allclose(got, numeric_gradient(element_updated, [v], 0), rtol=1e-6,
                               atol=1e-8)


def tanh_then_doubled(v):
    B = np.tanh(v)
    B[0] = B[0] * 2.0  # tanh's reversal reads its result: the old B[0], not the new
    return np.sum(B)


def exp_scaled_in_a_loop(v):
    B = np.exp(v)
    for i in range(3):
        B[i] *= B[(i + 1) % 3]
    return np.sum(B)


def sqrt_halved_by_a_mask(v):
    y = np.sqrt(v * v + 1.0)
    y[y > 1.2] *= 0.5
    return np.sum(y ** 3)


def rows_of_tanh_multiplied(A):
    M = np.tanh(A)
    M[0] = M[0] * M[1]
    return np.sum(M * M)


def remade_and_stored_each_step(v):
    B = np.tanh(v)
    for t in range(2):
        B = np.tanh(B * 1.5)
        B[t] = B[t] * B[t + 1]
    return np.sum(B)


V = np.array([-1.4, 0.5, 0.9])


@pytest.mark.parametrize("f, x", [(tanh_then_doubled, V), (exp_scaled_in_a_loop, V),
                                  (sqrt_halved_by_a_mask, V),
                                  (rows_of_tanh_multiplied, np.array([V, V[::-1] * 0.7])),
                                  (remade_and_stored_each_step, V)])
def test_a_result_read_by_its_reversal_is_not_changed_by_later_stores(f, x):
    # the reversal of B = np.tanh(v) computes 1 - B * B from B itself, and a later store
    # that reads the old element (B[0] = B[0] * 2, B[mk] *= c) changed B first: the
    # derivative of that element came from the new value (found with a mask: B[mk] =
    # np.tanh(B[mk] * c)); B is now a copy of the value tanh made
    value, got = adc.value_and_grad(f)(x)
    assert value == pytest.approx(f(x.copy()), rel=1e-12)
    np.testing.assert_allclose(got, numeric_gradient(f, [x], 0), rtol=1e-6, atol=1e-8)
