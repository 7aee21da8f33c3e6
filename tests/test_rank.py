"""Arrays of rank 0 to 4: every gradient against float64 central differences.

Rank 0 is a float.  Each construct is checked at each rank it has a meaning for: elementwise
arithmetic and broadcasting between ranks (size-1 axes, missing leading axes), the reductions
with ``axis=None``, an int (negative too), a tuple and ``keepdims=True``, ``None``,
``np.newaxis`` and ``...`` in subscripts (reads and stores), the shape functions, loops that
carry or write arrays of rank 3 (tapes of rank-3 values), and ``@`` on stacks of matrices.

Numba compiles an elementwise operation between two arrays of rank 3 or 4 slowly (LLVM's O3
pipeline: about 2 s of CPU at rank 3, 10 s at rank 4, a fraction of a second at rank 2), so
the functions of rank 3 and 4 reduce or index before they compute, and give each construct a
parameter of its own: their gradients need few such operations.  Related checks share one
function (one compilation).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc
from adcompile import kernels

RTOL, ATOL = 1e-5, 1e-7


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def arg(shape: tuple[int, ...], seed: int, low: float = -1.5, high: float = 1.5):
    """A float (shape ``()``) or a float64 array with distinct entries (no ties)."""
    if shape == ():
        return float(rng(seed).uniform(low, high))
    values = rng(seed).uniform(low, high, shape)
    return values


def factors(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Entries away from zero, of either sign (products of a few stay near 1)."""
    r = rng(seed)
    return r.uniform(0.6, 1.4, shape) * r.choice([-1.0, 1.0], shape)


@cache
def gradient(f, wrt):
    return adc.grad(f, wrt=wrt)


def check(f, *args, wrt=None):
    """``grad(f)(*args)`` against central differences, for every float or float array
    argument (or ``wrt``); gradients have their argument's type, shape and dtype."""
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    if wrt is None:
        wrt = tuple(p for p, a in zip(params, args, strict=True)
                    if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype == float))
    before = [np.array(a, copy=True) for a in args]
    got = gradient(f, tuple(wrt))(*args)
    for name, a, b in zip(params, args, before, strict=True):
        assert np.array_equal(a, b), f"grad({f.__name__}) changed its argument {name}"
    assert isinstance(got, tuple) and len(got) == len(wrt), got
    for name, g in zip(wrt, got, strict=True):
        i = params.index(name)
        where = f"d {f.__name__} / d {name} at shape {np.shape(args[i])}"
        if np.ndim(args[i]) == 0:
            assert isinstance(g, float), f"{where}: want a float, got {g!r}"
        else:
            assert isinstance(g, np.ndarray) and g.shape == args[i].shape, f"{where}: {g!r}"
            assert g.dtype == np.float64, f"{where}: dtype {g.dtype}"
        np.testing.assert_allclose(g, numeric_gradient(f, args, i), rtol=RTOL, atol=ATOL,
                                   err_msg=where)


# -- elementwise arithmetic and broadcasting between ranks -------------------------------------

def broadcast_0(x, y, c):
    z = x * y + c
    return np.sum(np.sin(z) * x - y / (1.5 + z * z)) + np.max(z)


def broadcast_1(x, y):
    return np.sum(np.sin(x * y) * x)  # (1,) * (3,)


def broadcast_2(x, y, c):
    z = x * y + c  # (2, 1) * (3,): both spread
    return np.sum(np.sin(z) * x - y / (1.5 + z * z))


def broadcast_3(x, y):
    z = x * y  # (2, 1, 3) * (4, 3): x is spread over axis 1, y over axis 0
    return np.sum(np.sum(z, axis=1) ** 2)


def broadcast_4(x, y, c):
    z = x - y  # (2, 1, 3, 1) - (3, 2) is (2, 1, 3, 2)
    return np.sum(np.max(z, axis=(1, 3)) ** 3) * c


BROADCAST = {0: (broadcast_0, (), (), ()), 1: (broadcast_1, (1,), (3,)),
             2: (broadcast_2, (2, 1), (3,), ()), 3: (broadcast_3, (2, 1, 3), (4, 3)),
             4: (broadcast_4, (2, 1, 3, 1), (3, 2), ())}


@pytest.mark.parametrize("rank", sorted(BROADCAST))
def test_elementwise_and_broadcasting(rank):
    f, *shapes = BROADCAST[rank]
    check(f, *(arg(shape, 10 * rank + k) for k, shape in enumerate(shapes)))


# -- reductions: axis None, int, negative, tuple; keepdims; methods ----------------------------
#
# The reductions are one implementation for every rank, so each rank checks some of the forms
# and together they check every form.  At ranks 3 and 4 each form has a parameter of its own
# and is reduced to a small array before it is squared (see the module docstring).

def reductions_0(x):
    return np.sum(x * x) + np.mean(np.sin(x)) + np.max(x) * np.min(x) + np.prod(x) ** 2


def reductions_1(x):
    a = np.sum(x, axis=-1) ** 2 + np.mean(x, axis=0) ** 3 + x.max(axis=0) * x.min(axis=-1)
    return a + np.sum(np.prod(x, axis=0, keepdims=True) ** 2) + x.mean() ** 2


def reductions_2(x):
    a = np.sum(np.sum(x, axis=-1) ** 2) + np.sum(x.max(axis=1) ** 2)
    b = np.sum(np.prod(x, axis=0) ** 2) + np.sum(x, axis=(0, 1)) ** 2
    return a + b + np.sum(np.max(x, axis=1, keepdims=True) * x)


def reductions_3(a, b, c, d, e):
    ra = np.sum(np.sum(a, axis=(2, 0)) ** 2) + np.sum(np.mean(b, axis=(0, 2)) ** 3)
    rb = np.sum(np.min(c, axis=-1) ** 2) + np.sum(np.prod(d, axis=(1,)) ** 2)
    return ra + rb + np.sum(np.sum(e.mean(axis=-1, keepdims=True), axis=2) ** 2)


def reductions_4(a, b, c, d):
    ra = np.sum(np.max(a, axis=(0, -2)) ** 2) + np.sum(np.sum(b.min(axis=2), 0) ** 2)
    rb = np.sum(np.sum(np.prod(c, axis=(1, 3), keepdims=True), axis=(1, 3)) ** 2)
    return ra + rb + np.sum(np.sum(d, axis=(0, 1, 2, 3), keepdims=True)) + np.mean(d) ** 2


REDUCTIONS = {0: (reductions_0, ()), 1: (reductions_1, (4,)), 2: (reductions_2, (2, 3)),
              3: (reductions_3, *[(2, 3, 2)] * 5), 4: (reductions_4, *[(2, 1, 3, 2)] * 4)}


@pytest.mark.parametrize("rank", sorted(REDUCTIONS))
def test_reductions(rank):
    f, *shapes = REDUCTIONS[rank]
    check(f, *(factors(shape, 50 + 10 * rank + k) if shape else 0.8
               for k, shape in enumerate(shapes)))


def counts(x, k):
    return np.sum(np.sum(k, axis=(0, 2)) * np.max(k, axis=1, keepdims=True).sum()) * x


def test_reductions_of_integer_arrays_keep_numpys_types():
    """The kernels that reduce along axes are the forward too: an int array's sum along axes
    is an int array, as in NumPy."""
    k = np.arange(24).reshape(2, 3, 4)
    got = adc.grad(counts, wrt="x")(1.5, k)
    assert isinstance(got, float)
    assert got == float(np.sum(np.sum(k, axis=(0, 2)) * np.max(k, 1, keepdims=True).sum()))


# -- None, np.newaxis and Ellipsis in subscripts -----------------------------------------------

def new_axes_1(x, y):
    return np.sum(np.sin(x[:, None] * y[None, :]))


def new_axes_2(x, y):
    return np.sum(np.sin(x[:, None, 0] * y[np.newaxis, :, 1])) + np.sum(x[1, None] * y[0])


def new_axes_3(x, y):
    t = np.sum(x[:, None], axis=(0, 3))  # (2, 1, 3, 2) summed to (1, 3)
    return np.sum(t ** 2) + np.sum(y[None, 1, :, np.newaxis][0, 1])


def new_axes_4(x):
    return np.sum(np.sum(x[None, :, 0], axis=(0, 2)) ** 2)  # (1, 2, 3, 2) summed to (3, 2)


NEW_AXES = {1: (new_axes_1, (3,), (2,)), 2: (new_axes_2, (2, 3), (3, 3)),
            3: (new_axes_3, (2, 3, 2), (2, 3, 2)), 4: (new_axes_4, (2, 2, 3, 2))}


@pytest.mark.parametrize("rank", sorted(NEW_AXES))
def test_new_axes(rank):
    f, *shapes = NEW_AXES[rank]
    check(f, *(arg(shape, 60 + 10 * rank + k) for k, shape in enumerate(shapes)))


def ellipsis(x, y, z):
    a = np.sum(x[..., 0] ** 2) + np.sum(x[1, ...] * x[0, ..., 1:])  # (3, 2) * (3, 1)
    b = np.sum(np.sum(y[..., None, 1:], axis=(0, 2)) ** 2)  # (2, 3, 1, 1) summed to (3, 1)
    out = np.zeros((2, 3, 2))
    out[..., 1] = z[..., 0] * 2.0  # a store through ...
    return a + b + np.sum(out[0, ...] ** 3)


def test_ellipsis():
    check(ellipsis, arg((2, 3, 2), 80), arg((2, 3, 2), 81), arg((2, 3, 2), 82))


# -- shape functions -----------------------------------------------------------------------------
#
# Chains of shape functions, indexed down to a few entries from scattered places of the
# argument: a wrong inverse permutation puts the adjoint in the wrong places.

def shapes_3(a, b, c):
    t = np.swapaxes(np.transpose(a, (2, 0, 1)), 0, 1).T  # (2, 3, 2) to (3, 2, 2), then (2, 2, 3)
    u = np.expand_dims(np.moveaxis(b, 0, -1).transpose(1, 0, 2), 1)  # (2, 1, 3, 2)
    v = np.squeeze(c[:, :1], 1).reshape(4).ravel()
    return np.sum(t[1, 0] ** 2) + np.sum(u[1, 0, 2] ** 3) + np.sum(v[1:]) + np.sum(a.flatten()[::5])


def shapes_4(a, b):
    t = np.moveaxis(np.swapaxes(np.transpose(a, (3, 1, 0, 2)), 0, 3), 2, 0)  # (1, 3, 2, 2)
    return np.sum(t[0, 1] ** 2) + np.sum(np.squeeze(b, 1).reshape(6, 2)[1:] ** 3)


SHAPE_FUNCTIONS = {3: (shapes_3, *[(2, 3, 2)] * 3), 4: (shapes_4, *[(2, 1, 3, 2)] * 2)}


@pytest.mark.parametrize("rank", sorted(SHAPE_FUNCTIONS))
def test_shape_functions(rank):
    f, *shapes = SHAPE_FUNCTIONS[rank]
    check(f, *(arg(shape, 90 + 10 * rank + k) for k, shape in enumerate(shapes)))


# -- zeros_like, tapes: loops that carry or write rank-3 arrays ----------------------------------

def rows(A0, x):
    A = A0.copy()
    for i in range(2):
        A[i] = A[i] * x  # a row of a copy of a parameter: its rank is known only when typed
    return np.sum(np.sum(A, axis=0) ** 2)


def carried(x, w):
    h = x
    k = 0
    while k < 3:  # a tape of rank-3 values, of unknown length, grown as the loop runs
        h = h * w
        k += 1
    out = np.zeros((3, 2, 3, 2))
    for i in range(3):  # stores of rank-3 slabs, their values taped
        h = h * w
        out[i] = h
    return np.sum(np.sum(out[1:], axis=(0, 1, 3)) ** 2)


@pytest.mark.parametrize("x", [arg((3, 2), 111), 0.7], ids=["row", "float"])
def test_loop_writes_rows_of_a_rank_3_array(x):
    check(rows, arg((2, 3, 2), 110), x)


def test_loops_carry_rank_3_arrays():
    check(carried, arg((2, 3, 2), 112, -0.8, 0.8), 0.6)


# -- @ on stacks of matrices ---------------------------------------------------------------------

def stacks(a, b, v, d):
    t = np.sum(np.sum(a @ b, axis=0) ** 2)  # (1,3,4) @ (2,4,2): the stack broadcast
    return t + np.sum(np.sum(v @ b, axis=0) ** 3) + np.sum(np.sum(b @ d, axis=1) ** 2)


def stacks_4(a, b):
    return np.sum(np.sum(a @ b, axis=(0, 1)) ** 2)  # (2,1,3,4) @ (2,4,2) is (2,2,3,2)


def test_matmul_of_stacks():
    check(stacks, arg((1, 3, 4), 120), arg((2, 4, 2), 121), arg((4,), 122), arg((2,), 123))
    check(stacks_4, arg((2, 1, 3, 4), 126), arg((2, 4, 2), 127))


# -- the kernels at every pair of ranks, against NumPy -------------------------------------------

def test_unbroadcast_and_reduce_adjoint_for_every_pair_of_ranks():
    """``unbroadcast`` (Numba) sums a broadcast adjoint down to every operand shape, and
    ``reduce_adjoint`` spreads an adjoint over any axes, as NumPy's reference does."""
    import numba

    @numba.njit
    def both(g, x, r):
        return kernels.unbroadcast(g, x), kernels.reduce_adjoint(r, g, (0, -1))

    g = arg((2, 3, 1, 2), 120)
    for x_shape in [(), (2,), (1, 2), (3, 1, 1), (2, 1, 1, 2), (1, 3, 1, 1)]:
        x = arg(x_shape, 121)
        r = arg((3, 1), 122)
        got, spread = both(g, np.asarray(x) if x_shape else x, r)
        np.testing.assert_allclose(got, kernels.unbroadcast(g, x), err_msg=str(x_shape))
        np.testing.assert_allclose(spread, np.broadcast_to(r[None, :, :, None], g.shape))


# -- what is refused, and how --------------------------------------------------------------------

def squeeze_everything(x):
    return np.sum(np.squeeze(x) ** 2)


def computed_keepdims(x, k):
    return np.sum(np.sum(x, axis=0, keepdims=k > 0))


def test_refusals_name_the_construct_and_what_to_do():
    with pytest.raises(adc.AdcompileError, match="squeeze") as err:
        adc.grad(squeeze_everything)
    assert "np.squeeze(x, 0)" in str(err.value)
    with pytest.raises(adc.AdcompileError, match="keepdims") as err:
        adc.grad(computed_keepdims, wrt="x")
    assert "keepdims=True" in str(err.value)


def test_stacks_that_do_not_broadcast_are_a_value_error():
    with pytest.raises(ValueError, match="do not broadcast"):
        gradient(stacks_4, ("a", "b"))(arg((2, 2, 3, 4), 1), arg((3, 4, 2), 2))
