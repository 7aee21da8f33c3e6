"""Classes of programs whose gradients were once silently wrong, each against float64 central
differences (or a hand-derived value where the derivative is a limit), and the programs that
must be refused instead.

One test per class, with several variants each: integer and bool starting values carried
through loops, Python's integer powers, stores of computed arrays into rows and slices,
views read before their base is written, tuples passed to calls, linspace/arange with float
bounds, repeated indices, gradients that must not share memory, IEEE edges, writes into
arguments through views, empty ranges, integer arrays carried through loops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def agrees(f, args, wrt, rtol=1e-5, atol=1e-7, with_value=False):
    """``grad(f, wrt)(*args)`` against central differences; the arguments stay unchanged.
    ``with_value``: ``value_and_grad`` instead (one compilation), its value against ``f``'s."""
    before = [np.copy(a) for a in args]
    if with_value:
        value, got = adc.value_and_grad(f, wrt=wrt)(*args)
        assert value == pytest.approx(f(*args))
    else:
        got = adc.grad(f, wrt=wrt)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)
    want = numeric_gradient(f, list(args), wrt)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol,
                               err_msg=f"d {f.__name__} / d arg {wrt}")
    assert np.shape(got) == np.shape(args[wrt])
    return got


# -- 1 and 17: values that enter a loop as ints, bools or int arrays --------------------------

def cube_from_int(a):
    out = 1
    for _ in range(3):
        out = out * a
    return out


def cube_from_parameter(a, n0):
    s = n0
    k = 0
    while k < 3:
        s = s * a
        k = k + 1
    return s


def balance(rate, start):
    b = start
    for _ in range(4):
        b = b + b * rate
    return b


def zero_then_sum(x):
    y = 0
    for i in range(1, 4):
        y = y + x / i
    return y


def helper_power(a):
    out = 1
    for _ in range(2):
        out = out * a
    return out


def calls_int_loop(a):
    return helper_power(a) * a


def carried_int_array(x, h0):
    h = h0
    for _ in range(3):
        h = h * x
    return np.sum(h)


def carried_float32_array(x, h0):
    h = h0
    for _ in range(2):
        h = h + x * h
    return np.sum(h)


def int_array_in_one_branch(x, h0, c):
    h = h0
    if c > 0:
        h = h * x
    return np.sum(h * x)


@pytest.mark.parametrize("f, args, wrt", [
    (int_array_in_one_branch, (0.5, np.array([1, 2]), 1.0), 0),
    (int_array_in_one_branch, (0.5, np.array([1, 2]), -1.0), 0),
    (cube_from_int, (0.5,), 0),
    (cube_from_parameter, (0.5, 1), 0),
    (cube_from_parameter, (0.5, True), 0),
    (cube_from_parameter, (1, 2), 0),
    (balance, (0.1, 100), 0),
    (balance, (0.1, 100), 1),
    (zero_then_sum, (1,), 0),
    (zero_then_sum, (0.7,), 0),
    (calls_int_loop, (0.5,), 0),
    (carried_int_array, (0.5, np.array([1, 2, 3])), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_values_entering_loops_as_integers_are_differentiated_as_floats(f, args, wrt):
    agrees(f, args, wrt)


def test_float32_array_carried_through_a_loop():
    # h = h0 (1 + x)^2, so d sum(h) / dx = 2 (1 + x) sum(h0), exactly (float32 data make
    # finite differences of f itself too coarse to be the oracle here)
    h0 = np.array([1.0, 2.0], dtype=np.float32)
    assert adc.grad(carried_float32_array)(0.5, h0) == pytest.approx(2 * 1.5 * 3.0)


# -- 2: integer powers ---------------------------------------------------------------------

def halvings(x, k):
    s = 0.0
    for j in range(1, k):
        s = s + x * 2 ** -j
    return s


def reciprocal_of_int(x, n):
    return x * n ** -1


def negative_power(x):
    return x ** -2 + 3.0 ** -1 * x


def power_of_parameter(x, k):
    return x ** k


def test_integer_powers_mean_what_python_means():
    assert halvings(1.0, 4) == pytest.approx(0.875)
    agrees(halvings, (1.5, 4), 0)
    assert adc.value_and_grad(reciprocal_of_int)(1.5, 4)[0] == pytest.approx(0.375)
    agrees(reciprocal_of_int, (1.5, 4), 0)
    agrees(negative_power, (0.7,), 0)
    agrees(negative_power, (2,), 0)  # an int where a float is expected
    agrees(power_of_parameter, (0.7, -3), 0)
    agrees(power_of_parameter, (2, -1), 0)


# -- 3: stores of computed arrays into rows and slices -------------------------------------

def store_row(w):
    Y = np.zeros((2, 3))
    Y[0] = np.exp(w)
    return np.sum(Y * Y)


def store_slice(w, x):
    y = np.zeros(4)
    y[0:2] = w * x
    return np.sum(y ** 2)


def store_rows_in_loop(A, x):
    Y = np.zeros((3, 2))
    for i in range(3):
        Y[i] = A[i] * x
    return np.sum(Y ** 2)


def store_scalar_into_slice(s):
    y = np.ones(4)
    y[1:3] = s
    return np.sum(y * y)


@pytest.mark.parametrize("f, args, wrt", [
    (store_row, (np.array([0.1, 0.2, 0.3]),), 0),
    (store_slice, (np.array([0.1, 0.2]), np.array([1.0, 2.0])), 0),
    (store_rows_in_loop, (np.arange(6.0).reshape(3, 2), np.array([0.5, -0.3])), 1),
    (store_rows_in_loop, (np.arange(6.0).reshape(3, 2), np.array([0.5, -0.3])), 0),
    (store_scalar_into_slice, (0.6,), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_stores_of_computed_arrays(f, args, wrt):
    agrees(f, args, wrt)


# -- 4: views read before their base is written --------------------------------------------

def view_then_write(x, B0):
    B = B0.copy()
    r = B[0]
    s = np.sum(r * x)
    B[0, 0] = 100.0
    return s * s


def read_whole_then_write(w):
    Y = np.zeros(3)
    Y[0] = w
    s = np.sum(Y * Y)
    Y[1] = 7.0
    return s + Y[1] * w


def view_read_after_write(x, B0):
    B = B0.copy()
    r = B[0]
    B[0, 1] = 3.0
    s = np.sum(r * x)
    return s * s


def write_in_loop_after_read(x):
    y = np.ones(3)
    s = 0.0
    for i in range(3):
        s = s + np.sum(y * x)
        y[i] = x[i] * 2.0
    return s


@pytest.mark.parametrize("f, args, wrt", [
    (view_then_write, (np.array([0.5, -0.3]), np.arange(4.0).reshape(2, 2)), 0),
    (read_whole_then_write, (0.7,), 0),
    (write_in_loop_after_read, (np.array([0.5, -0.3, 0.2]),), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_views_read_before_their_base_is_written(f, args, wrt):
    agrees(f, args, wrt, with_value=True)


# -- 5 and 6: tuples passed to calls; linspace and arange ----------------------------------

def array_of_scalars(a, b):
    v = np.array((a, b, 2.0 * a))
    return np.sum(v * v)


def array_of_list(a, b):
    v = np.array([a, 1.0, b])
    return np.sum(np.exp(v))


def matrix_of_scalars(a, b):
    M = np.array([[a, b, 1.0], [b * b, a, 2.0]])
    return np.sum(M @ M.T)


def concatenated(x, y):
    return np.sum(np.concatenate((x, y)) ** 2)


def concatenated_columns(X, Y):
    return np.sum(np.concatenate((X, Y), axis=1) ** 3)


def stacked(x, y):
    return np.sum(np.stack((x, y)) ** 3) + np.sum(np.stack((x, y), axis=1)[0])


def hstacked(x, y, X, Y):
    return np.sum(np.hstack((x, y)) ** 2) + np.sum(np.hstack((X, Y)) ** 3)


def vstacked(x, X):
    return (np.sum(np.vstack((x, x * 3.0)) ** 3) + np.sum(np.vstack((X, X * X)) ** 3)
            + np.sum(np.column_stack((x, x * 2.0)) ** 2))


def max_of_tuple(a):
    return max((a, 2 * a)) + min(a, 3.0 * a, -1.0)


def fsum_of_tuple(a, b):
    return math.fsum((a, b * b)) + sum((a, a))


def spaced(a):
    return np.sum(np.linspace(0.0, a, 5) ** 2) + np.sum(np.linspace(a, 2.0, 4) ** 3)


def ranged(a):
    return np.sum(np.arange(a, a + 3.0) ** 2) + np.sum(np.arange(0.0, 1.0, a) ** 2)


@pytest.mark.parametrize("f, args, wrt", [
    (array_of_scalars, (0.3, 0.7), 0), (array_of_scalars, (0.3, 0.7), 1),
    (array_of_list, (0.3, 0.7), 1),
    (matrix_of_scalars, (0.3, 0.7), 0), (matrix_of_scalars, (0.3, 0.7), 1),
    (concatenated, (np.array([0.1, 0.2]), np.array([0.3])), 0),
    (concatenated, (np.array([0.1, 0.2]), np.array([0.3])), 1),
    (concatenated_columns, (np.ones((2, 2)) * 0.5, np.arange(6.0).reshape(2, 3)), 1),
    (stacked, (np.array([0.1, 0.2]), np.array([0.3, 0.4])), 1),
    (hstacked, (np.array([0.1, 0.2]), np.array([0.3]), np.ones((2, 2)), np.ones((2, 1))), 0),
    (hstacked, (np.array([0.1, 0.2]), np.array([0.3]), np.ones((2, 2)), np.ones((2, 1))), 3),
    (vstacked, (np.array([0.1, 0.2]), np.arange(4.0).reshape(2, 2)), 0),
    (vstacked, (np.array([0.1, 0.2]), np.arange(4.0).reshape(2, 2)), 1),
    (max_of_tuple, (0.3,), 0), (max_of_tuple, (-0.3,), 0),
    (fsum_of_tuple, (0.3, 0.7), 0), (fsum_of_tuple, (0.3, 0.7), 1),
    (spaced, (0.7,), 0),
    (ranged, (0.7,), 0), (ranged, (0.3,), 0),
], ids=lambda v: getattr(v, "__name__", None))
def test_tuples_passed_to_calls_and_spaced_values(f, args, wrt):
    agrees(f, args, wrt)


# -- 7 and 8: repeated indices; gradients of their own -------------------------------------

def gather(x, idx):
    return np.sum(x[idx] ** 2)


def gather_rows(X, idx):
    return np.sum(X[idx] * X[idx])


def shared(w, v):
    return np.sum(np.sin(w + v))


def gather_columns(X, idx):
    return np.sum(X[:, idx] ** 2) + np.sum(X[0, idx] ** 3)


def gather_rows_sliced(X, idx):
    return np.sum(X[idx, :] ** 2) + np.sum(X[idx, 1] ** 3)


def test_repeated_indices_accumulate():
    X = np.arange(12.0).reshape(3, 4) / 7.0
    agrees(gather, (np.array([0.1, 0.2, 0.3]), np.array([2, 0, 0])), 0)
    agrees(gather_rows, (np.arange(6.0).reshape(3, 2), np.array([1, 1, 2, 1])), 0)
    agrees(gather_columns, (X, np.array([1, 1, 3])), 0)
    agrees(gather_rows_sliced, (X, np.array([0, 0, 2])), 0)


def stores_in_a_long_while(x):
    y = np.zeros(40)
    k = 0
    while k < 40:
        y[k] = x[k % 3] * k
        k = k + 1
    return np.sum(y * y)


def test_a_while_loop_that_stores_past_its_first_tape():
    agrees(stores_in_a_long_while, (np.array([0.2, 0.5, -0.7]),), 0)


def test_returned_gradients_do_not_share_memory():
    w, v = np.ones(3), np.full(3, 0.5)
    dw, dv = adc.grad(shared, wrt=("w", "v"))(w, v)
    assert not np.shares_memory(dw, dv)
    np.testing.assert_allclose(dw, np.cos(w + v))
    dw += 1.0
    np.testing.assert_allclose(dv, np.cos(w + v))


# -- 9: IEEE edges and limits --------------------------------------------------------------

def product(x):
    return np.prod(x)


def product_rows(X):
    return np.sum(np.prod(X, axis=1))


def power_in_exponent(x, p):
    return x ** p


def zeroth_power(x):
    return x ** 0


def polynomial(x):
    c = np.array([1.0, 2.0, 3.0])
    s = 0.0
    for k in range(3):
        s = s + c[k] * x ** k
    return s


def radius(x, y):
    return math.hypot(x, y)


def root(x):
    return math.sqrt(x)


def test_limits_where_the_derivative_exists():
    np.testing.assert_allclose(adc.grad(product)(np.array([0.0, 2.0, 3.0])), [6.0, 0.0, 0.0])
    np.testing.assert_allclose(adc.grad(product)(np.array([0.0, 2.0, 0.0])), [0.0, 0.0, 0.0])
    X = np.array([[0.0, 2.0, 3.0], [1.0, 2.0, 4.0]])
    np.testing.assert_allclose(adc.grad(product_rows)(X), [[6.0, 0.0, 0.0], [8.0, 4.0, 2.0]])
    assert adc.grad(power_in_exponent, wrt=1)(0.0, 2.0) == 0.0
    assert adc.grad(zeroth_power)(0.0) == 0.0
    assert adc.grad(polynomial)(0.0) == 2.0
    assert adc.grad(radius, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    agrees(radius, (0.3, -0.4), 0)


def test_no_exception_where_the_derivative_is_infinite():
    assert adc.grad(root)(0.0) == math.inf
    assert math.isinf(adc.grad(power_in_exponent)(0.0, 0.5))


# -- 10: writes into arguments through views -----------------------------------------------

def write_through_slice(w):
    y = w[0:2]
    y[0] = 5.0
    return np.sum(y * w[0:2])


def write_through_transpose(w):
    y = w.T
    y[0, 0] = 1.0
    return np.sum(y)


def write_through_branch(w, c):
    z = np.zeros(2)
    y = w if c > 0 else z
    y[0] = 1.0
    return np.sum(y * y)


def write_through_swapaxes(w):
    y = np.swapaxes(w, 0, 1)
    y[0, 1] = 0.0
    return np.sum(y * y)


def write_through_moveaxis(w):
    y = np.moveaxis(w, 0, -1)
    y[0, 0] = 0.0
    return np.sum(y * y)


def write_into_copy(w):
    y = w.copy()
    y[0] = 5.0
    return np.sum(y * w)


@pytest.mark.parametrize("f, args", [
    (write_through_slice, (np.array([1.0, 2.0, 3.0]),)),
    (write_through_transpose, (np.ones((2, 2)),)),
    (write_through_branch, (np.ones(2), 1.0)),
    (write_through_swapaxes, (np.ones((2, 3)),)),
    (write_through_moveaxis, (np.ones((2, 3)),)),
], ids=lambda v: getattr(v, "__name__", None))
def test_writes_into_arguments_through_views_are_refused(f, args):
    with pytest.raises(adc.AdcompileError, match="change the argument 'w'") as info:
        adc.grad(f)(*args)
    assert "copy" in str(info.value)


def test_writes_into_a_copy_are_fine():
    agrees(write_into_copy, (np.array([1.0, 2.0, 3.0]),), 0)


# -- 11: empty ranges ----------------------------------------------------------------------

def squarings(x, n):
    for _ in range(n):
        x = x * x
    return x


def squarings_from(x, n):
    for _ in range(2, n):
        x = x * x
    return x


@pytest.mark.parametrize("n", [-2, 0, 1, 3])
def test_ranges_of_any_length(n):
    agrees(squarings, (0.9, n), 0)
    agrees(squarings_from, (0.9, n), 0)


def tuple_to_helper_of(t):
    return t[0] * 2.0


def passes_tuple(a):
    return tuple_to_helper_of((a, 1.0))


def test_a_tuple_of_active_values_passed_to_a_helper_is_inlined():
    # once refused: the helper that takes a tuple is inlined, d/da (2a) = 2
    agrees(passes_tuple, (0.5,), 0)
    assert "tuple_to_helper_of_t" not in adc.grad(passes_tuple).source  # read as elements


# -- augmented assignment changes arrays in place ------------------------------------------

def add_into_alias(x):
    a = np.zeros(3)
    b = a
    b += x
    return np.sum(a * x)


def add_into_argument(w):
    w += 1.0
    return np.sum(w * w)


def add_into_base_of_view(x):
    a = np.ones(3)
    r = a[0:2]
    a += x
    return np.sum(r * x[0:2])


def accumulate_in_loop(x):
    h = np.zeros(3)
    for i in range(3):
        h += x * i
    s = 0.0
    s += np.sum(h * h)
    e = x * 2.0
    first = e[0]
    e += 1.0
    return s + first * np.sum(e)


def test_augmented_assignment_to_an_argument_is_refused():
    with pytest.raises(adc.AdcompileError, match="in place") as info:
        adc.grad(add_into_argument)(np.array([0.5, 1.0, 2.0]))
    assert "a new array" in str(info.value)


@pytest.mark.parametrize("f", [add_into_alias, add_into_base_of_view])
def test_augmented_assignment_to_a_shared_local_array_changes_it_in_place(f):
    # once refused: the view (or the second name) reads its base with its index
    agrees(f, (np.array([0.5, 1.0, 2.0]),), 0)


def test_augmented_assignment_to_an_array_of_its_own():
    agrees(accumulate_in_loop, (np.array([0.5, 1.0, 2.0]),), 0)


# -- tuples as values ----------------------------------------------------------------------

def element_of_tuple_display(a):
    return (a, 2 * a)[1] + (a, 3.0)[-2] * a


def tuple_from_conditional(a, c):
    t = (a, 3.0 * a) if c > 0 else (1.0, a)
    return t[1]


def test_an_element_of_a_tuple_display_is_that_element():
    agrees(element_of_tuple_display, (0.5,), 0)


def test_a_tuple_held_by_a_name_is_refused():
    with pytest.raises(adc.AdcompileError, match="tuple"):
        adc.grad(tuple_from_conditional)(0.5, 1.0)


# -- views and their base ------------------------------------------------------------------

def view_read_after_its_base_changed(x, A):
    B = A.copy()
    row = B[0]
    B[0, 1] = 1.0
    return math.tanh(np.sum(row * x))


def view_kept_across_iterations(x, A):
    B = A.copy()
    r = B[0]
    s = 0.0
    for i in range(2):
        s = s + np.sum(r * x)
        B[0, i] = x[i]
    return s


def write_through_a_local_view(x, A):
    B = A.copy()
    r = B[0, 1:]
    r[0] = 5.0
    return np.sum(B * x[0])


def write_through_a_view_chosen_in_a_branch(x, A):
    B = A.copy()
    r = B[0, 1:]
    if x[0] > 0:
        r = B[1]
    r[0] = 5.0
    return np.sum(B * x[0])


def write_through_a_local_row(x, A):
    B = A.copy()
    r = B[0]  # indexed only: the row B[0] itself, r[1] = ... a store into B
    r[1] = 5.0 * x[1]
    return np.sum(B * x) + r[0]


def view_taken_each_iteration(x, A):
    B = A.copy()
    s = 0.0
    for i in range(2):
        r = B[i]
        s = s + np.sum(r * x)
        B[i, 0] = x[0] * 2.0
    return s


def row_replaced_under_its_view(x, A):
    B = A.copy()
    r = B[0]
    B[0] = x * 2.0
    return np.sum(r * x) + np.sum(B)


@pytest.mark.parametrize("f, construct", [
    (row_replaced_under_its_view, "was written after"),
    (view_read_after_its_base_changed, "was written after"),
    (view_read_after_write, "was written after"),
    (view_kept_across_iterations, "was written after"),
    (write_through_a_view_chosen_in_a_branch, "through its view"),
], ids=lambda v: getattr(v, "__name__", None))
def test_views_out_of_step_with_their_base_are_refused(f, construct):
    x, A = np.array([0.5, -0.3]), np.arange(4.0).reshape(2, 2)
    with pytest.raises(adc.AdcompileError, match=construct):
        adc.grad(f, wrt=1)(x, A)


def test_a_row_written_through_a_name_is_a_store_into_its_array():
    # once refused ("'B' is read after a write through its view 'r'")
    x, A = np.array([0.5, -0.3]), np.arange(4.0).reshape(2, 2)
    agrees(write_through_a_local_row, (x, A), 0)
    agrees(write_through_a_local_row, (x, A), 1)
    agrees(write_through_a_local_view, (x, A), 0)  # r = B[0, 1:]; r[0] = ...: B[0, 1]


def test_elements_of_arrays_of_known_rank_are_numbers_not_views():
    # y has rank 1 (np.zeros(4)): y[i - 1] is a number, read again after y[i] is written
    text = adc.grad(prefix_sums).source
    assert "snapshot" not in text
    agrees(prefix_sums, (np.array([0.3, -0.2, 0.5, 0.1]),), 0)


def prefix_sums(x):
    y = np.zeros(4)
    y[0] = x[0]
    for i in range(1, 4):
        y[i] = y[i - 1] * 0.5 + x[i]
    return np.sum(y ** 2)


def test_a_view_taken_again_after_each_write():
    x, A = np.array([0.5, -0.3, 0.2]), np.arange(6.0).reshape(2, 3)
    agrees(view_taken_each_iteration, (x, A), 0)
    agrees(view_taken_each_iteration, (x, A), 1)


def int_array_carried_not_differentiated(x, s, m):
    c = m
    for _ in range(2):
        c = c * math.tanh(s) + 0.5
    return np.sum(c) * x


def test_an_array_whose_type_a_loop_changes_gets_a_readable_error():
    # c is not differentiated (wrt x), so it keeps its entry type: int64, then float64
    with pytest.raises(adc.AdcompileError, match="the variable 'c' holds") as info:
        adc.grad(int_array_carried_not_differentiated)(0.5, 0.3, np.array([1, 2]))
    assert "1.0" in str(info.value)
    agrees(int_array_carried_not_differentiated, (0.5, 0.3, np.array([1.0, 2.0])), 0)


def tuple_parameter(p, x):
    return p[0] * p[1] * x


def test_a_tuple_given_where_a_gradient_is_taken_is_differentiated():
    # once refused: d/dp (p0 p1 x) = (p1 x, p0 x), in the structure of p
    assert adc.grad(tuple_parameter)((1.0, 2.0), 3.0) == (6.0, 3.0)
    assert adc.grad(tuple_parameter)([1.0, 2.0], 3.0) == [6.0, 3.0]
    assert adc.grad(tuple_parameter, wrt=1)((1.0, 2.0), 3.0) == 2.0


def taped_value_changes_shape(x):
    Y = np.zeros(3)
    s = 0.0
    for i in range(0, 3, 2):
        r = x[i:3]
        s = s + np.sum(r * r)
        Y[i] = s
    return np.sum(Y) + s


def shrinking_slices_in_a_while_loop(x, n):
    s = 0.5
    k = 0
    while k < n:
        y = np.sin(x[k:] * s)
        s = s + np.sum(y * y)
        k += 1
    return s


def growing_slices(x, n):
    s = 0.5
    for i in range(1, n):
        y = np.sin(x[:i] * s)
        s = s + np.sum(y * y)
    return s


def test_a_taped_array_may_change_shape_from_one_iteration_to_the_next():
    # rows of 3 then 1 element: once an error (a row tape would have broadcast the second);
    # arrays go into ragged tapes, each entry with its own shape
    x = np.array([0.3, 0.5, 0.7])
    agrees(taped_value_changes_shape, (x,), 0)
    x4 = np.array([0.3, -0.5, 0.8, 1.1])
    agrees(growing_slices, (x4, 4), 0)
    agrees(shrinking_slices_in_a_while_loop, (x4, 3), 0)
    agrees(shrinking_slices_in_a_while_loop, (x4, 0), 0)


def array_made_in_a_branch_not_taken_at_first(u, v, idx):
    Y = np.zeros(3)
    for i in range(3):
        for j in range(3):
            if i != j:
                Y[i] += math.tanh((u[j] - u[i]) * math.tanh(np.sum(u[idx] * v)))
    return np.sum(Y * u)


def test_an_array_made_in_a_branch_is_taped_even_before_the_branch_is_first_taken():
    # the first iteration (i == j == 0) skips the branch: the array's tape was once made
    # from a value not yet defined (a raw ValueError)
    u, v = np.array([0.2, 1.4, -0.5]), np.array([-1.3, -0.7, 0.4])
    idx = np.array([2, 2, 0])
    agrees(array_made_in_a_branch_not_taken_at_first, (u, v, idx), 0)
    agrees(array_made_in_a_branch_not_taken_at_first, (u, v, idx), 1)


def number_stored_into_a_row(x, z, u):
    Y = np.outer(np.array((x, x * z)), u)
    Y[1] = math.tanh(x * z)           # one number broadcast over the row
    Y[0, 1:] = z                      # and over part of a row
    W = np.zeros((2, 3))
    W[0] = x * z
    return np.sum(np.tanh(Y)) + np.sum(W * W)


def test_a_number_stored_into_a_row_passes_the_sum_of_the_row_adjoint():
    # once a raw ValueError: the row's adjoint reached the number unsummed
    u = np.array([-0.58, 1.36, -0.35])
    for wrt in (0, 1, 2):
        agrees(number_stored_into_a_row, (0.36, -1.15, u), wrt)


# -- ties that are one value; stores that truncate -----------------------------------------

def min_of_repeated(u, idx):
    return np.min(u[idx]) + np.max(np.array((u[0], u[0], u[1])))


def store_into_int_array(x, m, z):
    Y = (m * z).copy()
    Y[1] = math.tanh(x * 3.0)
    return np.sum(Y * 0.5) + x


def test_an_extremum_repeated_by_indexing_has_the_derivative_of_one_value():
    # min(u2, u2, u1) = u2 and max(u0, u0, u1) = u0: derivative 1 each, not 2
    u = np.array([1.4, 0.57, -1.09])
    np.testing.assert_allclose(adc.grad(min_of_repeated)(u, np.array([2, 2, 1])),
                               [1.0, 0.0, 1.0])
    agrees(min_of_repeated, (u, np.array([2, 2, 1])), 0)


def test_a_store_into_an_integer_array_truncates_and_passes_no_derivative():
    # Y is an int64 array: Y[1] = tanh(3x) stores 0 or 1, so only the "+ x" varies
    assert adc.grad(store_into_int_array)(1.0, np.array([0, 1, 2]), 2) == 1.0
    agrees(store_into_int_array, (0.4, np.array([0, 1, 2]), 2.0), 0)


def differences_down_columns(x):
    return np.sum(np.diff(x, axis=0) ** 2) + np.sum(np.cumsum(x, axis=1) * x)


def test_keyword_arguments_bind_as_numpy_binds_them():
    """``np.diff(x, axis=0)``: ``axis`` is np.diff's third parameter (after ``n``), so the
    keyword must not land in the second place (that would be ``n=0``: no difference at all,
    a wrong gradient without a word)."""
    x = np.random.default_rng(5).normal(size=(3, 4))
    got = adc.grad(differences_down_columns)(x)
    np.testing.assert_allclose(got, numeric_gradient(differences_down_columns, (x,), 0),
                               rtol=1e-6, atol=1e-8)
