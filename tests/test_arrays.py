"""NumPy arrays in differentiated code: every construct's gradient against float64 central
differences, one difference per element of each array argument.

Numba compiles a gradient once per argument type signature, so related constructs share one
user function and each construct gets its own parameter: the gradient is taken with respect to
all of them at once, and a failure names the parameter (hence the construct) that is wrong.
Points are chosen away from the kinks of max, min, abs, clip and where.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

RTOL, ATOL = 1e-5, 1e-7


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def params_of(f) -> list[str]:
    return list(f.__code__.co_varnames[: f.__code__.co_argcount])


@cache
def gradient(f, wrt):
    return adc.grad(f, wrt=wrt)


@cache
def value_and_gradient(f, wrt):
    return adc.value_and_grad(f, wrt=wrt)


def assert_matches(f, wrt, args, got, rtol=RTOL, atol=ATOL):
    """Each gradient in ``got`` has its argument's type and shape and matches the oracle."""
    params = params_of(f)
    assert isinstance(got, tuple) and len(got) == len(wrt), got
    for name, g in zip(wrt, got, strict=True):
        i = params.index(name)
        want = numeric_gradient(f, args, i)
        where = f"d {f.__name__} / d {name}"
        if np.ndim(args[i]) == 0:
            assert isinstance(g, float), f"{where}: want a float, got {g!r}"
        else:
            assert isinstance(g, np.ndarray), f"{where}: expected an ndarray, got {g!r}"
            assert g.shape == np.shape(args[i]), f"{where}: shape {g.shape}, want {args[i].shape}"
            assert g.dtype == np.float64, f"{where}: dtype {g.dtype}"
        np.testing.assert_allclose(g, want, rtol=rtol, atol=atol, err_msg=where)


def check(f, args, wrt=None, rtol=RTOL, atol=ATOL):
    """``grad(f, wrt)(*args)`` against central differences of ``f``; the arguments are left as
    they were.  ``wrt`` defaults to every float and float array argument."""
    params = params_of(f)
    if wrt is None:
        wrt = tuple(p for p, a in zip(params, args, strict=True)
                    if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype == float))
    before = [np.array(a, copy=True) for a in args]
    got = gradient(f, tuple(wrt))(*args)
    for name, a, b in zip(params, args, before, strict=True):
        assert np.array_equal(a, b), f"grad({f.__name__}) changed its argument {name}"
    assert_matches(f, wrt, args, got, rtol, atol)
    return got


# -- elementwise arithmetic and broadcasting ----------------------------------------------------

def add_row(A, b):
    return np.sum(np.sin(A + b) * (A - b))


def add_column(A, c):
    return np.sum((A * c - c) ** 2)


def add_scalar(A, s):
    return np.sum(np.tanh(A + s) / (s * s + 1.0))


def scale(c, x):
    return np.sum(np.exp(c * x) + x / c)


def powers(x, y):
    return np.sum(x ** 2 * np.cos(y) + x ** y + x ** 3.0 + 2.0 ** y)


def divide_subtract(x, y):
    return np.sum(-(x / y) - 1.0 / x + (2.0 - y) * x)


def rows_and_columns(A, r, c, v):
    return np.sum((A - r) * (A - c) + r / c) + np.sum(np.cos(c * v + c))


def mixed_ranks(x, A, s):
    y = A * x + s
    z = y - x * s
    return np.sum(z * z) / s


def test_matrix_plus_row():
    check(add_row, (rng(1).normal(size=(3, 4)), rng(2).normal(size=4)))


def test_matrix_plus_column():
    check(add_column, (rng(3).normal(size=(3, 4)), rng(4).normal(size=(3, 1))))


def test_matrix_plus_scalar_parameter():
    check(add_scalar, (rng(5).normal(size=(3, 4)), 0.7))


def test_scalar_times_array():
    check(scale, (0.6, rng(6).normal(size=5)))


def test_array_squared_and_powers():
    check(powers, (rng(8).uniform(0.5, 2.0, size=4), rng(9).uniform(-1.0, 2.0, size=4)))


def test_division_subtraction_negation():
    check(divide_subtract, (rng(10).uniform(0.5, 2.0, size=5), rng(11).uniform(0.5, 2.0, size=5)))


def test_singleton_rows_and_columns_broadcast_both_ways():
    check(rows_and_columns, (rng(14).normal(size=(3, 4)), rng(15).normal(size=(1, 4)),
                             rng(16).uniform(1.0, 2.0, size=(3, 1)), rng(13).normal(size=4)))


def test_vector_matrix_and_scalar_in_one_expression():
    check(mixed_ranks, (rng(17).normal(size=4), rng(18).normal(size=(3, 4)), 1.3))


# -- every scalar rule as a ufunc on arrays ---------------------------------------------------
# each parameter goes through one ufunc; squaring the total makes the incoming adjoint vary per
# element, so a rule that ignores it is caught

def exponentials_and_logs(exp, expm1, exp2, log, log2, log10, log1p, sqrt, cbrt, square,
                          reciprocal):
    total = (np.exp(exp) + np.expm1(expm1) + np.exp2(exp2) + np.log(log) + np.log2(log2)
             + np.log10(log10) + np.log1p(log1p) + np.sqrt(sqrt) + np.cbrt(cbrt)
             + np.square(square) + np.reciprocal(reciprocal))
    return np.sum(total * total)


def trigonometric(sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh, arcsinh, arccosh,
                  arctanh):
    total = (np.sin(sin) + np.cos(cos) + np.tan(tan) + np.arcsin(arcsin) + np.arccos(arccos)
             + np.arctan(arctan) + np.sinh(sinh) + np.cosh(cosh) + np.tanh(tanh)
             + np.arcsinh(arcsinh) + np.arccosh(arccosh + 1.5) + np.arctanh(arctanh))
    return np.sum(total * total)


def binary_ufuncs(power_x, power_y, atan2_y, atan2_x, hypot_x, hypot_y, fmax_x, fmax_y,
                  fmin_x, fmin_y):
    total = (np.power(power_x, power_y) + np.arctan2(atan2_y, atan2_x)
             + np.hypot(hypot_x, hypot_y) + np.fmax(fmax_x, fmax_y) + np.fmin(fmin_x, fmin_y))
    return np.sum(total * total)


def test_exponential_and_logarithmic_ufuncs():
    args = tuple(rng(20 + k).uniform(0.2, 0.8, size=4) for k in range(11))
    check(exponentials_and_logs, args)


def test_trigonometric_and_hyperbolic_ufuncs():
    args = tuple(rng(40 + k).uniform(0.2, 0.8, size=4) for k in range(12))
    check(trigonometric, args)


def test_binary_ufuncs():
    base = tuple(rng(60 + k).uniform(0.5, 1.5, size=4) for k in range(10))
    fmax_y = base[6] + np.array([0.3, -0.3, 0.4, -0.4])  # either side wins somewhere
    fmin_y = base[8] + np.array([-0.3, 0.3, -0.4, 0.4])
    check(binary_ufuncs, (*base[:7], fmax_y, base[8], fmin_y))


# -- maximum, minimum, abs, where, clip --------------------------------------------------------
# at points away from the kinks: x != y, x != 0, x != s, 1.5 x and y away from the clip bounds

X = np.array([0.9, -0.4, 0.2, -1.3, 0.6, 1.7])
Y = np.array([0.1, 0.5, -0.8, -0.2, 1.4, 0.7])


def piecewise(x, y, s):
    total = (np.maximum(x, y) + np.minimum(x, s) * y + np.abs(x) * y
             + np.where(x > y, x * y, s * x) + np.clip(x * 1.5, -1.0, 1.0))
    return np.sum(total * total)


def test_maximum_minimum_abs_where_clip():
    check(piecewise, (X, Y, 0.3))


# -- reductions -------------------------------------------------------------------------------
# each parameter goes through one reduction; the sine after a reduction along an axis makes
# the adjoint differ along the kept axis

def reduce_all(total, mean, largest, smallest, product):
    return (np.sum(total) ** 2 + np.mean(mean) ** 2 + np.max(largest) ** 2
            + np.min(smallest) ** 2 + np.prod(product) ** 2)


def reduce_methods(total, mean, largest, smallest, product):
    return (total.sum() ** 2 + mean.mean() ** 2 + largest.max() ** 2 + smallest.min() ** 2
            + product.prod() ** 2)


def reduce_axis_0(total, mean, largest, smallest, product):
    return (np.sum(np.sin(np.sum(total, axis=0))) + np.sum(np.sin(np.mean(mean, axis=0)))
            + np.sum(np.sin(np.max(largest, axis=0))) + np.sum(np.sin(np.min(smallest, axis=0)))
            + np.sum(np.sin(np.prod(product, axis=0))))


def reduce_axis_1(total, mean, largest, smallest, product):
    return (np.sum(np.sin(np.sum(total, axis=1))) + np.sum(np.sin(np.mean(mean, 1)))
            + np.sum(np.sin(np.max(largest, axis=1))) + np.sum(np.sin(np.min(smallest, 1)))
            + np.sum(np.sin(np.prod(product, axis=1))))


def reduce_methods_axis(total, mean, largest, smallest, product):
    return (np.sum(np.sin(total.sum(axis=1))) + np.sum(np.sin(mean.mean(axis=0)))
            + np.sum(np.sin(largest.max(axis=1))) + np.sum(np.sin(smallest.min(axis=0)))
            + np.sum(np.sin(product.prod(axis=1))))


def reduce_vector_axis(total, mean, largest, smallest, product):
    return (np.sum(total, axis=0) ** 2 + np.mean(mean, axis=0) ** 2
            + np.max(largest, axis=0) ** 2 + np.min(smallest, axis=0) ** 2
            + np.prod(product, axis=0) ** 2)


def reduce_chained(x):
    return np.exp(x).sum() + np.sum(np.exp(x)) * np.tanh(x).mean()


def reduction_arguments(shape):
    """Five arrays of ``shape`` with distinct entries (no ties for max and min)."""
    return tuple(rng(80 + k).permutation(np.prod(shape)).reshape(shape) * 0.15 + 0.4
                 + rng(90 + k).uniform(0.0, 0.05, size=shape) for k in range(5))


@pytest.mark.parametrize("shape", [(5,), (3, 4)], ids=["1-D", "2-D"])
def test_whole_array_reductions(shape):
    check(reduce_all, reduction_arguments(shape))


def test_whole_array_reduction_methods():
    check(reduce_methods, reduction_arguments((3, 4)))


@pytest.mark.parametrize("f", [reduce_axis_0, reduce_axis_1, reduce_methods_axis],
                         ids=lambda f: f.__name__)
def test_reductions_along_an_axis(f):
    check(f, reduction_arguments((3, 4)))


def test_reductions_along_the_axis_of_a_vector():
    check(reduce_vector_axis, reduction_arguments((6,)))


def test_reductions_of_expressions():
    check(reduce_chained, (rng(100).normal(size=(2, 3)),))


# -- products ---------------------------------------------------------------------------------

def products(a, b):
    return np.sum(np.sin(a @ b) * np.dot(a, b))


def inner(a, b):
    return np.sin(a @ b) + np.cos(np.dot(a, b)) * a.dot(b)


def chain_of_products(A, B, v):
    return np.sum(np.tanh(A @ B @ v) * (v @ B.T @ A.T))


def outer(a, b):
    return np.sum(np.sin(np.outer(a, b)) * b)


PRODUCT_SHAPES = {"matrix @ vector": ((3, 4), (4,)), "vector @ matrix": ((3,), (3, 4)),
                  "matrix @ matrix": ((2, 3), (3, 4))}


@pytest.mark.parametrize("shapes", list(PRODUCT_SHAPES.values()), ids=list(PRODUCT_SHAPES))
def test_matmul_and_dot(shapes):
    check(products, (rng(110).normal(size=shapes[0]), rng(111).normal(size=shapes[1])))


def test_vector_dot_vector():
    check(inner, (rng(112).normal(size=5), rng(113).normal(size=5)))


def test_chained_products_and_transposes():
    check(chain_of_products, (rng(116).normal(size=(2, 3)), rng(117).normal(size=(3, 4)),
                              rng(118).normal(size=4)))


def test_outer():
    check(outer, (rng(119).normal(size=3), rng(120).normal(size=4)))


# -- transpose and reshape --------------------------------------------------------------------

def transposes(A, B):
    return np.sum(np.sin(A.T) * B) + np.sum(np.cos(np.transpose(B)) * A ** 2)


def reshapes(a, B):
    return (np.sum(np.sin(a.reshape(2, 3)) * B) + np.sum(np.reshape(B, (6,)) * a ** 2)
            + np.sum(B.reshape(-1) ** 3) + np.sum(np.tanh(a.reshape(-1, 1) * a))
            + np.sum(np.reshape(a, (3, 2)) @ B))


def methods_of_a_transpose(A, v):
    return np.sum(np.sin(A.T.sum(axis=1))) + np.sum(A.T.dot(v) ** 2)


def test_transpose():
    check(transposes, (rng(121).normal(size=(2, 3)), rng(122).normal(size=(3, 2))))


def test_methods_of_a_transpose():
    check(methods_of_a_transpose, (rng(125).normal(size=(2, 3)), rng(126).normal(size=2)))


def test_reshape():
    check(reshapes, (rng(123).normal(size=6), rng(124).normal(size=(2, 3))))


# -- indexing reads ---------------------------------------------------------------------------

def element_reads(x, A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(len(x)):
            s += A[i, j] * x[j] ** 2 + np.sin(A[i, j]) * x[i]
    return s


def neighbour_reads(x):
    s = 0.0
    for i in range(1, x.size - 1):
        s += (x[i + 1] - 2.0 * x[i] + x[i - 1]) ** 2 * x[i]
    return s


def row_reads(A, v):
    s = 0.0
    for i in range(A.shape[0]):
        s += np.sum(np.sin(A[i]) * v) * A[i, 0]
    return s


def slice_reads(x):
    return np.sum(np.sin(x[1:4])) + np.sum(x[2:] * x[:-2]) + np.sum(x[::2] ** 3)


def column_reads(A):
    return np.sum(A[:, 1] ** 2 * A[:, 0]) + np.sum(np.exp(A[1:3, :]))


def slices_in_a_loop(x):
    s = 0.0
    for i in range(len(x) - 2):
        s += np.sum(x[i:i + 3] ** 2) * x[i]
    return s


def test_element_reads_in_nested_loops():
    check(element_reads, (rng(130).normal(size=4), rng(131).normal(size=(3, 4))))


def test_neighbour_reads():
    check(neighbour_reads, (rng(132).normal(size=6),))


def test_row_reads():
    check(row_reads, (rng(133).normal(size=(3, 4)), rng(134).normal(size=4)))


def test_slice_reads():
    check(slice_reads, (rng(135).normal(size=7),))


def test_column_reads():
    check(column_reads, (rng(136).normal(size=(4, 3)),))


def test_slice_reads_in_a_loop():
    check(slices_in_a_loop, (rng(137).normal(size=6),))


# -- writes into arrays made in the function --------------------------------------------------

def fill_once(x):
    n = len(x)
    y = np.zeros(n)
    for i in range(n):
        y[i] = np.sin(x[i]) * x[n - 1 - i]
    return np.sum(y * y)


def add_into(x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n):
        y[i] += x[i] ** 2 + 1.0
    buckets = np.zeros(2)
    for i in range(n):
        buckets[i % 2] += y[i] * x[i]
    return np.sum(y ** 3) + buckets[0] * buckets[1]


def overwrite(x):
    n = len(x)
    y = np.zeros(n)
    for i in range(n):
        y[i] = x[i]
    for i in range(n):
        y[i] = y[i] * np.cos(y[i]) + x[i]
    acc = np.zeros(1)
    for i in range(n):
        acc[0] = acc[0] * y[i] + x[i]
    return np.sum(y ** 2) + acc[0] ** 2


def slice_writes(x):
    y = np.zeros(8)
    y[1:7] = np.sin(x)
    z = np.zeros((3, 4))
    for i in range(3):
        z[i, 1:3] = x[2 * i:2 * i + 2] * x[i]
    w = np.zeros(9)
    for i in range(3):
        w[3 * i:3 * i + 3] = x[i:i + 3] ** 2
    return np.sum(y ** 2) + np.sum(np.exp(z) * z) + np.sum(w * np.arange(9.0))


def row_writes(x, A):
    n = A.shape[0]
    out = np.zeros((n, x.size))
    for i in range(n):
        out[i] = np.tanh(A[i] * x) + x[i]
    return np.sum(out ** 2)


def creation(x, c):
    n = x.size
    a = np.zeros(n)
    b = np.ones(n)
    e = np.empty(n)
    z = np.zeros_like(x)
    f = np.full(n, c)
    for i in range(n):
        a[i] = x[i] * 2.0
        b[i] += x[i] ** 2
        e[i] = np.sin(x[i])
        z[i] = a[i] * e[i]
        f[i] *= x[i]
    return np.sum(a * b) + np.sum(e * e) + np.sum(z ** 2) + np.sum(f * c)


def creation_2d(A, c):
    n = A.shape[0]
    m = A.shape[1]
    M = np.zeros((n, m))
    F = np.full((n, m), c)
    ones = np.ones(A.shape)
    for k in range(n * m):
        i = k // m
        j = k % m
        M[i, j] = A[i, j] * F[i, j] + ones[i, j]
    return np.sum(M ** 2) + np.sum(F * A)


def test_fill_once():
    check(fill_once, (rng(140).normal(size=5),))


def test_add_into_elements():
    check(add_into, (rng(141).normal(size=5),))


def test_overwritten_elements():
    check(overwrite, (rng(142).normal(size=4) * 0.5,))


def test_slice_writes():
    check(slice_writes, (rng(143).normal(size=6),))


def test_row_writes():
    check(row_writes, (rng(144).normal(size=3), rng(145).normal(size=(3, 3))))


def test_creation_functions():
    check(creation, (rng(146).normal(size=4), 0.8))


def test_creation_functions_2d():
    check(creation_2d, (rng(147).normal(size=(2, 3)), -0.4))


# -- non-contiguous arguments -----------------------------------------------------------------

def strided_reads(x, y):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * y[i] ** 2
    return s + np.sum(np.sin(x) * y)


def matrix_vector(A, v):
    return np.sum(np.tanh(A @ v)) + np.sum(A * v) + np.sum(A.sum(axis=0) ** 2)


def test_strided_vectors():
    base = rng(150).normal(size=10)
    other = rng(151).normal(size=(5, 2))
    x, y = base[::2], other[:, 1]
    assert not x.flags.c_contiguous and not y.flags.c_contiguous
    check(strided_reads, (x, y))


def matrices(seed):
    """A 3x4 matrix as a transpose and as a slice of a wider matrix."""
    return {"transposed": rng(seed).normal(size=(4, 3)).T,
            "sliced": rng(seed).normal(size=(3, 6))[:, 1:5]}


@pytest.mark.filterwarnings("ignore::numba.core.errors.NumbaPerformanceWarning")
def test_transposed_matrix_through_products_and_reductions():
    A = matrices(152)["transposed"]
    assert A.shape == (3, 4) and not A.flags.c_contiguous
    check(matrix_vector, (A, rng(153).normal(size=4)))


@pytest.mark.parametrize("layout", ["transposed", "sliced"])
def test_matrix_layouts_through_element_reads(layout):
    check(element_reads, (rng(156).normal(size=16)[::4], matrices(154)[layout]))


def reduce_and_reshape(total, largest, a):
    return (np.sum(np.sin(np.sum(total, axis=1))) + np.sum(np.sin(np.max(largest, axis=0)))
            + np.sum(np.sin(total.reshape(-1)) * a) + np.sum(a.reshape(3, 4) * largest))


def test_non_contiguous_arguments_through_reductions_and_reshape():
    total, largest = reduction_arguments((3, 4))[:2]
    args = (np.asfortranarray(total), largest.T.copy().T, rng(157).normal(size=24)[::2])
    assert not any(a.flags.c_contiguous for a in args)
    check(reduce_and_reshape, args)


# -- gradient shapes and values ---------------------------------------------------------------

def test_gradient_shapes_follow_arguments():
    A, b = rng(160).normal(size=(3, 4)), rng(161).normal(size=4)
    dA, db = gradient(add_row, ("A", "b"))(A, b)
    assert dA.shape == (3, 4) and db.shape == (4,)
    dA, dc = gradient(add_column, ("A", "c"))(A, rng(162).normal(size=(3, 1)))
    assert dA.shape == (3, 4) and dc.shape == (3, 1)
    dA, ds = gradient(add_scalar, ("A", "s"))(A, 0.2)
    assert dA.shape == (3, 4) and isinstance(ds, float)


def test_single_wrt_returns_one_array():
    c, x = 0.6, rng(164).normal(size=4)
    dx = adc.grad(scale, wrt="x")(c, x)
    assert isinstance(dx, np.ndarray) and dx.shape == (4,)
    np.testing.assert_allclose(dx, numeric_gradient(scale, (c, x), 1), rtol=RTOL, atol=ATOL)


VALUE_CASES = {
    "broadcast": (add_row, lambda: (rng(170).normal(size=(3, 4)), rng(171).normal(size=4))),
    "writes in a loop": (overwrite, lambda: (rng(175).normal(size=4) * 0.5,)),
    "creation": (creation, lambda: (rng(176).normal(size=4), 0.8)),
}


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_value_and_grad_value_is_f(case):
    f, make = VALUE_CASES[case]
    args = make()
    wrt = tuple(params_of(f))
    value, grads = value_and_gradient(f, wrt)(*args)
    assert isinstance(value, float)
    assert value == pytest.approx(f(*args), rel=1e-12, abs=1e-12)
    assert_matches(f, wrt, args, grads)


def ellipsis_reads(x, w):
    return np.sum(x[..., 0] * w) + np.sum(x[0, ...] ** 2)


def test_ellipsis_in_an_index():
    rng = np.random.default_rng(11)
    for x, w in ((rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 3))),
                 (rng.normal(size=(2, 2)), rng.normal(size=2))):
        assert adc.check_grad(ellipsis_reads, (0, 1), x, w) < 1e-6


# -- products with an integer data array ------------------------------------------------------

def products_with_counts(A, x, m):
    # m holds integers: NumPy takes the products in float64, and so does the generated code
    return (np.sum(np.tanh(A @ m) * x) + np.sum(np.dot(A.T, A @ m)) + np.sum(m @ A.T)
            + np.sum((np.stack((A, 2.0 * A)) @ m) ** 2))


def test_products_with_an_integer_array_are_differentiated():
    A = np.arange(6.0).reshape(2, 3) / 7.0
    x, m = np.array([0.5, -1.0]), np.array([1, -2, 3])
    got = adc.grad(products_with_counts, wrt=("A", "x"))(A, x, m)
    assert_matches(products_with_counts, ("A", "x"), (A, x, m), got)


def builtin_abs_of_arrays(x, y):
    return np.sum(abs(x) * y + abs(x - y)) + abs(float(np.sum(x)))


def test_the_builtin_abs_takes_arrays_as_numpy_does():
    x = np.array([0.5, -1.0, 2.0])
    y = np.array([1.0, 0.3, -0.2])
    assert adc.check_grad(builtin_abs_of_arrays, ("x", "y"), x, y) < 1e-6


def reads_pairs_of_indices(x, rows, cols):
    return np.sum(np.sin(x[rows, cols]) * np.arange(5.0))


def reads_a_diagonal_by_index_arrays(x):
    i = np.arange(3)
    return np.sum(x[i, i] ** 2)


def reads_rows_of_a_cube_by_a_list(x):
    return np.sum(x[[0, 2, 2], :, 1:] ** 3)


def test_two_index_arrays_and_a_list_with_slices():
    """x[rows, cols] (a pair repeated: its adjoint is added twice), x[i, i], x[[0, 2, 2], :, 1:]."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    assert adc.check_grad(reads_pairs_of_indices, "x", x, np.array([0, 2, 2, 1, 0]),
                          np.array([1, 3, 3, 0, 1])) < 1e-6
    assert adc.check_grad(reads_a_diagonal_by_index_arrays, "x", x) < 1e-6
    assert adc.check_grad(reads_rows_of_a_cube_by_a_list, "x", rng.normal(size=(3, 2, 4))) < 1e-6


def array_of_arrays(x):
    return np.sum(np.array([x, 2.0 * x]) ** 2 * np.arange(2.0)[:, None, None])


def array_of_a_number(s):
    return np.sum(np.array(s) * 3.0) + s


def test_np_array_of_arrays_and_of_a_number():
    """np.array([x, 2 x]) of arrays of one shape stacks them, as NumPy does; np.array(s)
    of a float is a 0-d array whose adjoint comes back to s."""
    x = np.random.default_rng(0).normal(size=(3, 2))
    assert adc.check_grad(array_of_arrays, "x", x) < 1e-6
    assert adc.grad(array_of_a_number)(0.7) == pytest.approx(4.0)


def at_least_of_a_number(s, x):
    return np.sum(np.atleast_1d(s) * x) + np.sum(np.atleast_2d(s * s)) + np.sum(np.atleast_3d(s))


def appends_a_number(x, s):
    return np.sum(np.append(x, s) ** 2)


def test_atleast_and_append_of_a_number():
    x = np.array([0.5, -1.0, 2.0])
    assert adc.check_grad(at_least_of_a_number, ("s", "x"), 0.7, x) < 1e-6
    assert adc.check_grad(appends_a_number, ("x", "s"), x, 0.4) < 1e-6
