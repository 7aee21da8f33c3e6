"""Scans, differences, selection and rearrangement of arrays, and array methods: gradients
against float64 central differences (and forward mode against directional differences).

Numba compiles a gradient once per signature, so each test function gathers several
constructs, one parameter each: a failure names the parameter, hence the construct.  Points
are random and at the edges: negative axes, offsets past the diagonal, ``n = 0, 1, 2`` and
``n`` past the length for ``diff``, shifts larger than the length, zeros in ``cumprod``,
repeated values in ``sort`` (where the adjoint of a run of equal values is shared evenly: the
central difference's value), and repeated indices in stores.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

RTOL, ATOL = 1e-6, 1e-8
R = np.random.default_rng(7)
W2 = R.normal(size=(3, 4))
W3 = R.normal(size=(2, 3, 4))
W2T = R.normal(size=(4, 3))


def check(f, args, wrt):
    """``grad(f, wrt)(*args)`` against central differences of ``f`` in the interpreter."""
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    got = adc.grad(f, wrt=tuple(wrt))(*args)
    for name, g in zip(wrt, got, strict=True):
        i = params.index(name)
        want = numeric_gradient(f, args, i)
        assert np.shape(g) == np.shape(args[i]), f"d/d {name}: shape {np.shape(g)}"
        np.testing.assert_allclose(g, want, rtol=RTOL, atol=ATOL, err_msg=f"d/d {name}")


def scans(a, b, c, d, e, f, g, h):
    total = np.sum(np.sin(np.cumsum(a)))                       # axis None, rank 2
    total += np.sum(np.sin(np.cumsum(b, axis=-2)) * W3)        # negative axis, rank 3
    total += np.sum(np.sin(np.cumprod(c)))                     # axis None, zeros inside
    total += np.sum(np.cos(np.cumprod(d, 1)) * W2)             # along rows, zeros inside
    total += np.sum(np.sin(np.diff(e)))                        # n = 1, last axis
    total += np.sum(np.sin(np.diff(f, 2, axis=0)))             # n = 2, first axis, rank 3
    total += np.sum(np.diff(g, n=0) * W2) + np.sum(np.diff(g, 5) ** 2)  # n = 0; n > length
    total += np.sum(np.sin(np.diff(h, axis=1)) * np.cumsum(h, 0)[:, 1:])
    return total


def test_scans_and_differences():
    c = R.normal(size=(3, 4))
    c[1, 2] = 0.0
    d = R.normal(size=(3, 4))
    d[:, 0] = 0.0
    d[2, 3] = 0.0
    args = (R.normal(size=(3, 4)), R.normal(size=(2, 3, 4)), c, d, R.normal(size=6),
            R.normal(size=(4, 2, 3)), R.normal(size=(3, 4)), R.normal(size=(3, 4)))
    check(scans, args, "abcdefgh")
    one = (R.normal(size=(1, 1)), R.normal(size=(1, 1, 1)), np.zeros((1, 1)),
           np.zeros((1, 4)), R.normal(size=2), R.normal(size=(3, 1, 1)), R.normal(size=(1, 4)),
           R.normal(size=(1, 2)))
    check(scans, one, "abcdefgh")


def rearranged(a, b, c, d, e, f, g, h, k):
    total = np.sum(np.sin(np.flip(a)) * W2) + np.sum(np.flip(a, -1) * np.flip(a, (0, 1)))
    total += np.sum(np.sin(np.flip(b, 1)) * W3) + np.sum(np.fliplr(c) * W2)
    total += np.sum(np.flipud(c) ** 3)
    total += np.sum(np.sin(np.roll(d, 7, 1)) * W2) + np.sum(np.roll(d, -2) * W2)
    total += np.sum(np.sin(np.roll(b, 13, axis=-1)) * W3)
    total += np.sum(np.sin(np.rot90(e)) * W2) + np.sum(np.rot90(e, 2) * W2T)
    total += np.sum(np.rot90(e, -1) * W2) + np.sum(np.rot90(e, k=3) ** 2)
    total += np.sum(np.sin(np.rot90(f, 1, axes=(1, 2))))
    total += np.sum(np.sin(np.repeat(g, 3))) + np.sum(np.repeat(g, 2, axis=-1) ** 2)
    total += np.sum(np.sin(np.tile(h, 2))) + np.sum(np.sin(np.tile(h, (2, 1, 3))))
    total += np.sum(np.sin(np.take(k, np.array([5, 0, 5, -1]))))
    total += np.sum(np.sin(np.take(k, np.array([2, 0, 2]), axis=1)))
    total += np.sum(np.take(k, 1, axis=0) ** 2) + np.take(k, -3) ** 3
    return total


def test_flip_roll_rotate_repeat_tile_take():
    args = (R.normal(size=(3, 4)), R.normal(size=(2, 3, 4)), R.normal(size=(3, 4)),
            R.normal(size=(3, 4)), R.normal(size=(4, 3)), R.normal(size=(2, 3, 4)),
            R.normal(size=(2, 3)), R.normal(size=(2, 3)), R.normal(size=(2, 3)))
    check(rearranged, args, "abcdefghk")


def diagonals(a, b, c, d, e, f):
    total = np.sin(np.trace(a)) + np.trace(a, 1) ** 2 + np.trace(a, offset=-2)
    total += np.sum(np.sin(np.diag(b))) + np.sum(np.sin(W2 @ np.diag(b, -1)))
    total += np.sum(np.sin(np.diag(a, 1))) + np.sum(np.diag(a, -1) ** 2)  # non-square
    total += np.sum(np.sin(np.diagonal(c))) + np.sum(np.diagonal(c, 1, 0, 2) ** 2)
    total += np.sum(np.sin(np.diagonal(c, -1, axis1=2, axis2=1)))
    total += np.sum(np.trace(c, 0, 1, 2) ** 2)
    total += np.sum(np.sin(np.tril(d)) * W2) + np.sum(np.triu(d, 1) ** 2)
    total += np.sum(np.tril(d, -1) * W2) + np.sum(np.sin(np.triu(d, -2)))
    total += np.sum(np.sin(np.tril(e, 1)) * W3) + np.sum(np.triu(e) ** 2)
    total += np.sum(np.sin(np.tril(f)))  # a vector: an n by n triangle, as in NumPy
    return total


def test_trace_diag_diagonal_triangles():
    args = (R.normal(size=(3, 4)), R.normal(size=3), R.normal(size=(2, 3, 4)),
            R.normal(size=(3, 4)), R.normal(size=(2, 3, 4)), R.normal(size=3))
    check(diagonals, args, "abcdef")


def ranks(a, b, c, d, e):
    total = np.sum(np.sin(np.atleast_1d(a))) + np.sum(np.sin(np.atleast_2d(a)) * W2[0, :3])
    total += np.sum(np.sin(np.atleast_3d(b))) + np.sum(np.atleast_2d(b) ** 2)
    total += np.sum(np.sin(np.append(c, d * 2.0))) + np.sum(np.append(c, c, 0) ** 2)
    total += np.sum(np.sin(np.append(c, c[:, :2] * d[0, 0], axis=-1)))
    total += np.sum(np.sin(np.expand_dims(e, (0, 2)))) + np.sum(np.expand_dims(e, (-1, 0)))
    total += np.sum(np.expand_dims(e, 1) ** 2)
    return total


def test_ranks_append_expand_dims():
    args = (R.normal(size=3), R.normal(size=(3, 4)), R.normal(size=(2, 3)),
            R.normal(size=(1, 3)), R.normal(size=(2, 3)))
    check(ranks, args, "abcde")


def sorted_terms(a, b, c):
    total = np.sum(np.sort(a) * W2) + np.sum(np.sin(np.sort(a, 0)) * W2)
    total += np.sum(np.sort(b, axis=None) * np.arange(24.0))
    total += np.sum(np.sin(np.sort(b, 1)) * W3)
    total += np.sum(np.sort(c) * np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    return total


def test_sort_random_and_ties():
    args = (R.normal(size=(3, 4)), R.normal(size=(2, 3, 4)), R.normal(size=5))
    check(sorted_terms, args, "abc")
    a = np.array([[1.0, 0.5, 1.0, 1.0], [2.0, 2.0, -1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    b = np.round(R.normal(size=(2, 3, 4)))
    c = np.array([0.3, -1.0, 0.3, 0.3, -1.0])
    check(sorted_terms, (a, b, c), "abc")
    # hand-derived at the tie: the runs of 0.3 (sorted places 3, 4, 5) and -1.0 (1, 2)
    _, _, dc = adc.grad(sorted_terms, wrt=("a", "b", "c"))(a, b, c)
    np.testing.assert_allclose(dc, [4.0, 1.5, 4.0, 4.0, 1.5])


def methods(a, b, c, d):
    total = np.sum(np.sin(a.cumsum(axis=0))) + np.sum(a.cumprod(1) * W2)
    total += a.std() + a.var(ddof=1)
    total += np.sum(np.sin(a.repeat(2))) + np.sum(a.repeat(2, axis=0) ** 2)
    total += a.trace() + a.trace(1) + np.sum(np.sin(b.diagonal())) + np.sum(b.take([0, 2]))
    total += np.sum(a.clip(-0.5, 0.5)) + np.sum(np.sin(a.flatten())) + np.sum(a.ravel() ** 2)
    total += np.sum(a.astype(float) ** 3) + np.sum(c.astype(np.float64) ** 2)
    total += c[1:2].item() ** 2 + np.sum(a.round() * a)
    total += a[a.argmax(axis=0)[0], 0] + c[c.argmin()] + np.sum(c[np.argsort(c)] * d)
    if (a > 10.0).any() or (a > -10.0).all():
        total += 1.0
    return total


def test_array_methods():
    c = np.array([0.4, -0.7, 1.3])
    args = (R.normal(size=(3, 4)), R.normal(size=(3, 4)), c, np.array([1.0, 2.0, 3.0]))
    check(methods, args, "abc")


def reduction_methods(a, b):
    total = b.std(axis=-1)[1] + np.sum(b.var(0, keepdims=True)) + np.sum(a.std(0, ddof=1))
    return total + np.sum(a.max(axis=0, keepdims=True) ** 2) + a.min(1, keepdims=True)[2, 0]


def test_reduction_methods_with_axes():
    check(reduction_methods, (R.normal(size=(3, 4)), R.normal(size=(3, 4))), "ab")


def int_arguments(m, x):
    return np.sum(np.cumsum(m) * x) + np.sum(np.flip(m) * x) + np.sum(np.sort(m) * x ** 2) \
        + np.sum(np.roll(m, 1) * np.sin(x)) + np.sum(m.astype(float) * x)


def test_integer_arrays_pass_through():
    m = np.array([3, 1, 2, 5])
    x = R.normal(size=4)
    check(int_arguments, (m, x), "x")


def indexed(x, y, idx):
    total = np.sum(np.sin(x[[0, 2, 2]])) + np.sum(y[[1, 0], 1:] ** 2) + np.sum(x[idx] * x[:3])
    u = np.zeros(5)
    u[[0, 3]] = x[1:3]
    v = np.zeros(5)
    v[idx] = x[:3]          # idx repeats 2: the last value stored stays
    w = np.zeros((3, 2))
    w[idx] += y[:3]
    w[[2, 2]] = y[1] * 3.0  # a row stored twice
    return total + np.sum(np.sin(u)) + np.sum(np.sin(v) * x) + np.sum(np.cos(w))


def test_index_lists_and_stores_with_repeated_indices():
    args = (R.normal(size=5), R.normal(size=(3, 2)), np.array([0, 2, 2]))
    check(indexed, args, "xy")


def directional(f, args, i, t, h=1e-6):
    hi, lo = list(args), list(args)
    hi[i] = args[i] + h * t
    lo[i] = args[i] - h * t
    return (f(*hi) - f(*lo)) / (2 * h)


def forward_terms(x, y):
    total = np.sum(np.sin(np.cumsum(x, 0))) + np.sum(np.cumprod(x, axis=1) * W2)
    total += np.sum(np.sin(np.sort(x)) * W2) + np.sum(np.sin(np.flip(x, 0)) * np.diff(y))
    total += np.sum(np.roll(np.tile(y, 2), 3) ** 2) + np.sum(np.take(x, np.array([1, 1]), 1))
    return total + np.trace(x) + np.sum(np.tril(x) ** 2) + np.sum(np.diag(y[:3]) @ x)


def test_forward_mode_against_directional_differences():
    x, y = R.normal(size=(3, 4)), R.normal(size=5)
    x[0, 1] = 0.0
    tx, ty = R.normal(size=(3, 4)), R.normal(size=5)
    value, d = adc.jvp(forward_terms, wrt=("x", "y"))(x, y, tx, ty)
    assert value == pytest.approx(forward_terms(x, y), rel=1e-12)
    want = (directional(forward_terms, (x, y), 0, tx)
            + directional(forward_terms, (x, y), 1, ty))
    assert d == pytest.approx(want, rel=1e-6, abs=1e-8)


def sorted_square(x):
    return np.sum(np.arange(1.0, 6.0) * np.sort(x) ** 2) + np.sum(np.cumsum(x) ** 2)


def test_second_order_through_sort_and_cumsum():
    """Hand-derived: the Hessian of sum_j w_j sort(x)_j^2 is diagonal, 2 w at each element's
    sorted place; that of sum (cumsum x)^2 is 2 L^T L, L the lower triangle of ones."""
    x = np.array([0.3, -1.2, 2.0, 0.1, -0.4])
    ranks = np.argsort(np.argsort(x))
    lower = np.tril(np.ones((5, 5)))
    want = np.diag(2.0 * np.arange(1.0, 6.0)[ranks]) + 2.0 * lower.T @ lower
    np.testing.assert_allclose(adc.hessian(sorted_square)(x), want, rtol=1e-12, atol=1e-12)


def in_place_sort(x):
    y = x.copy()
    y.sort()  # was refused: y[:] = np.sort(y) now
    return np.sum(y * W2)


def sort_method(x):
    y = x.sort()
    return np.sum(y)


def squeezed(x):
    return np.sum(np.squeeze(x))


def to_int(x):
    return np.sum(x.astype(np.int32) * x)


def cumprod_twice(x):
    return np.sum(np.cumprod(x) ** 2)


@pytest.mark.parametrize(("f", "construct", "hint"), [
    (sort_method, "the method .sort()", "np.sort(x)"),
    (squeezed, "squeeze without an axis", "np.squeeze(x, 0)"),
    (to_int, "the method .astype()", "x.astype(float)"),
])
def test_refusals_name_the_construct_and_the_way_out(f, construct, hint):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(np.ones((3, 1)))
    err = info.value
    assert err.construct == construct
    assert hint in str(err)
    assert "test_shapes_breadth.py" in str(err)


def test_an_array_sorted_in_place():
    check(in_place_sort, (R.normal(size=(3, 4)),), ("x",))


def test_second_order_through_cumprod_with_a_zero_inside():
    x = np.array([0.5, 0.0, 2.0, -1.0])
    h = 1e-4
    want = np.array([(numeric_gradient(cumprod_twice, (x + h * e,), 0)
                      - numeric_gradient(cumprod_twice, (x - h * e,), 0)) / (2 * h)
                     for e in np.eye(4)])
    np.testing.assert_allclose(adc.hessian(cumprod_twice)(x), want, rtol=1e-5, atol=1e-5)
