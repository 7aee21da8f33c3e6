"""Shape-generic helpers that generated gradients call where a value may be a scalar or an array.

adcompile writes gradient code before it knows the argument types, so a few operations whose
form depends on shapes are functions here: summing an adjoint over broadcast axes, a zero of
the right shape, a tape for scalars or arrays.  Each is plain NumPy for Python and has a Numba
implementation per type (``numba.extending.overload``), so in compiled code the choice is made
at compile time and costs nothing: for scalars ``unbroadcast(g, x)`` is just ``g``.
"""

from __future__ import annotations

import builtins
import operator
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from .kernel_cache import CACHED

#: generated modules import these by name (see codegen)
__all__ = ["add_at", "as_float", "fresh_copy", "grow_tape", "log_or_zero", "matmul_left",
           "matmul_right", "max_along", "mean_along", "min_along", "new_tape", "pow_dx", "power",
           "tape_len", "tape_nbytes", "tape_row",
           "prod_along", "prod_others", "push", "ratio_or_zero", "reduce_adjoint", "reduced_size",
           "reshape", "snapshot", "stored_adjoint", "sum_along", "ties", "split_along",
           "unbroadcast", "untranspose", "zeros_like", "broadcast_tangent", "fresh_tangent",
           "stored_tangent", "unit_seed", "reduce_to", "number_only", "rows_for", "unpacked",
           "fill_adjoint", "fill_tangent",
           "unpacked_along", "raise_error",
           "prod_others_tangent", "finite_or_zero", "zero_at", "accumulate"]


def unbroadcast(g: Any, x: Any) -> Any:
    """``g`` summed down to the shape of ``x``: the adjoint of an input that was broadcast
    (any ranks: leading axes ``g`` has and ``x`` lacks, and axes where ``x`` has extent 1)."""
    if np.ndim(x) == 0:
        return float(np.sum(g))
    g = np.asarray(g, dtype=float)
    while g.ndim > np.ndim(x):
        g = g.sum(axis=0)
    for axis, n in enumerate(np.shape(x)):
        if n == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return np.array(np.broadcast_to(g, np.shape(x)))


def power(x: Any, y: Any) -> Any:
    """``x ** y`` with Python's meaning where Numba's differs: an integer to an integer power
    is a float (``2 ** -1`` is ``0.5``, not ``0``), and ``0.0 ** -1`` is ``inf`` as in NumPy."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return np.power(np.asarray(x, dtype=float), y)
    return float(x) ** y if y < 0 or isinstance(x, float) else x ** y


def pow_dx(x: Any, y: Any) -> Any:
    """``d(x ** y) / dx = y * x ** (y - 1)``, and ``0`` where ``y == 0`` (``x ** 0`` is
    constant, also at ``x = 0``)."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        out = np.zeros(x.shape)
        nz = y != 0
        out[nz] = y[nz] * np.power(x[nz], y[nz] - 1.0)
        return out
    return 0.0 if y == 0 else y * power(x, y - 1)


def log_or_zero(x: Any) -> Any:
    """``log(x)``, with ``0`` where ``x == 0``: the factor of ``d(x ** y) / dy = x ** y log x``,
    whose limit at ``x = 0`` is ``0``."""
    if isinstance(x, np.ndarray):
        return np.log(np.where(x == 0, 1.0, x))
    return 0.0 if x == 0 else float(np.log(x))


def as_float(x: Any) -> Any:
    """``x`` as float64 (complex stays complex): values that carry derivatives are floats,
    whatever type they start with (``out = 1`` before ``out = out * a`` in a loop)."""
    if isinstance(x, np.ndarray):
        return x if x.dtype.kind in "fc" and x.itemsize >= 8 else x.astype(
            np.complex128 if x.dtype.kind == "c" else np.float64)
    return x if isinstance(x, complex) else float(x)


def split_along(g: Any, xs: tuple, axis: int) -> tuple:
    """The adjoint ``g`` of an array built from the tuple ``xs`` along ``axis``, split into
    one part per element, each shaped like its element: for ``concatenate`` (an element
    spans its own extent along the axis) and for ``stack``/``array`` (an element of lower
    rank spans one index).  ``hstack``, ``vstack`` and ``column_stack`` are the same with
    their axis."""
    g = np.asarray(g)
    if isinstance(xs, np.ndarray):
        return g
    axis = axis % g.ndim
    parts, start = [], 0
    for x in xs:
        n = np.shape(x)[axis] if np.ndim(x) == g.ndim else 1
        block = np.take(g, np.arange(start, start + n), axis=axis)
        parts.append(block.reshape(np.shape(x)).copy() if np.ndim(x) else float(block.sum()))
        start += n
    return tuple(parts)


def prod_others(x: Any, axis: Any) -> Any:
    """For each element of ``x``, the product of the other elements of its reduction (all of
    ``x`` for ``axis=None``; an int or a tuple of axes): the derivative of ``prod``, right
    also where ``x`` holds zeros (no division)."""
    x = np.asarray(x, dtype=float)
    axes = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis).tolist()
    axes = [a % x.ndim for a in axes]
    rest = [a for a in range(x.ndim) if a not in axes]
    moved = np.transpose(x, axes + rest).reshape(-1, *[x.shape[a] for a in rest])
    before = np.cumprod(np.concatenate([np.ones((1, *moved.shape[1:])), moved[:-1]]), axis=0)
    after = np.cumprod(np.concatenate([np.ones((1, *moved.shape[1:])), moved[:0:-1]]),
                       axis=0)[::-1]
    out = (before * after).reshape([x.shape[a] for a in axes + rest])
    return np.transpose(out, np.argsort(axes + rest))


def prod_others_tangent(x: Any, t: Any, axis: Any) -> Any:
    """The tangent of ``prod_others(x, axis)`` along ``t``: for each element, the sum over
    the other elements ``j`` of its reduction of ``t[j]`` times the product of the rest.  Its
    Jacobian is symmetric, so this is also the adjoint of ``x`` from the adjoint ``t`` of
    ``prod_others(x, axis)``.  Prefix and suffix products with their tangents: no division."""
    x = np.asarray(x, dtype=float)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    axes = tuple(range(x.ndim)) if axis is None else np.atleast_1d(axis).tolist()
    axes = [a % x.ndim for a in axes]
    order = axes + [a for a in range(x.ndim) if a not in axes]
    rest = [x.shape[a] for a in order[len(axes):]]
    xs = np.transpose(x, order).reshape(-1, *rest)
    ts = np.transpose(t, order).reshape(-1, *rest)
    before, d_before = np.empty_like(xs), np.empty_like(xs)
    acc, d_acc = np.ones(rest), np.zeros(rest)
    for k in range(xs.shape[0]):
        before[k], d_before[k] = acc, d_acc
        acc, d_acc = acc * xs[k], d_acc * xs[k] + acc * ts[k]
    out = np.empty_like(xs)
    acc, d_acc = np.ones(rest), np.zeros(rest)
    for k in range(xs.shape[0] - 1, -1, -1):
        out[k] = d_before[k] * acc + before[k] * d_acc
        acc, d_acc = acc * xs[k], d_acc * xs[k] + acc * ts[k]
    return np.transpose(out.reshape([x.shape[a] for a in order]), np.argsort(order))


def stored_adjoint(g: Any, y: np.ndarray) -> Any:
    """The adjoint of a value stored into ``y``, from ``g`` (the adjoint of the elements it
    went into): a new array (or a float), and zero when ``y`` holds integers or bools, since
    a store into such an array truncates (a piecewise-constant step)."""
    if y.dtype.kind not in "fc":
        return np.zeros(np.shape(g)) if np.ndim(g) else 0.0
    return np.array(g, dtype=float) if np.ndim(g) else float(g)


def rows_for(n: int, item: Any) -> np.ndarray:
    """``np.zeros((n,) + np.shape(item))``: the array that ``n`` items like ``item`` are
    stored into, one per row (a list built by ``append``, see ``frontend``)."""
    return np.zeros((n, *np.shape(item)))


def fill_adjoint(g: Any, ans: Any) -> float:
    """The adjoint of the value ``np.full_like(a, value)`` fills ``ans`` with: the sum of
    ``g`` when ``ans`` holds floats, 0 when it holds integers or booleans (the value was
    truncated)."""
    return float(np.sum(g)) if np.asarray(ans).dtype.kind == "f" else 0.0


def fill_tangent(t: Any, ans: Any) -> Any:
    """The tangent of ``np.full_like(a, value)`` for the tangent ``t`` of the value: ``t`` at
    every element of a float result, 0 where the result holds integers or booleans."""
    return np.full(np.shape(ans), t if np.asarray(ans).dtype.kind == "f" else 0.0)


def number_only(x: Any) -> Any:
    """``x``, which must be a number: ``r = A[i]; r += v`` where ``A[i]`` is a row changes ``A``
    in place, which a gradient that reads ``A`` afterwards cannot follow (refused when Numba
    types an array here)."""
    if isinstance(x, np.ndarray):
        raise TypeError(_NUMBER_ONLY)
    return x


_NUMBER_ONLY = ("number_only: an augmented assignment changes a row or slice of an array in "
                "place")


def int_array(shape: Any, fill: Any) -> np.ndarray:
    """``np.full(shape, fill, dtype=np.int64)``: what ``np.zeros(n, dtype=int)`` and the like
    make (a table of back pointers, counts); its elements pass no derivative."""
    return np.full(shape, int(fill), dtype=np.int64)


def same_length(n: int, m: int) -> int:
    """``n``, the number of steps of ``zip(a, b, strict=True)``, which must equal ``m`` (the
    ``ValueError`` Python raises for sequences of different lengths)."""
    if n != m:
        raise ValueError(_SAME_LENGTH)
    return n


_SAME_LENGTH = "zip(..., strict=True): the sequences have different lengths"


def unpacked(x: Any, count: int) -> int:
    """``count``, the number of names that ``a, b, c = x`` (or a loop target) unpacks an array
    (or tuple) ``x`` into, which must be ``len(x)``: the ``ValueError`` Python raises, before
    any element is read."""
    if len(x) > count:
        raise ValueError(_TOO_MANY)
    if len(x) < count:
        raise ValueError(_NOT_ENOUGH)
    return count


def unpacked_along(x: Any, count: int, axis: int) -> int:
    """``count``, the number of names that each row (``axis`` 1: ``for a, b in x``) or
    column (``axis`` 0: ``for a, c in zip(*x)``) of the array ``x`` is unpacked into, which
    must be ``x.shape[axis]``; checked once before the loop, and not at all when the loop
    has no step (no row, or no column), as in Python."""
    if np.ndim(x) < 2:
        raise TypeError(_NOT_ROWS)
    return unpacked(np.moveaxis(x, axis, 0), count) if np.shape(x)[1 - axis] else count


_NOT_ROWS = ("unpacked_along: the elements of an array of numbers are numbers, not rows to "
             "unpack")
_TOO_MANY = "too many values to unpack"
_NOT_ENOUGH = "not enough values to unpack"


def raise_error(kind: str, message: str) -> None:
    """``raise kind(message)`` for a built-in exception class named ``kind`` (the user's
    ``raise ValueError("...")``, see ``frontend``); rendered back as that statement."""
    raise getattr(builtins, kind)(message)


def bool_array(shape: Any, fill: Any) -> np.ndarray:
    """``np.full(shape, fill, dtype=bool)``: what ``np.zeros(n, dtype=bool)`` makes."""
    return np.full(shape, bool(fill), dtype=np.bool_)


def ties(x: Any, ans: Any, axis: Any) -> Any:
    """Each element's share of a maximum or minimum ``ans`` of ``x`` (over ``axis``: None for
    all, an int or a tuple; ``ans`` with or without the reduced axes kept): ``1/k`` for each of
    the ``k`` elements equal to it, ``0`` elsewhere.  Elements that are the same value
    (``np.min(u[idx])`` with a repeated index) share its derivative."""
    x = np.asarray(x, dtype=float)
    ans = np.reshape(ans, _kept_shape(np.shape(x), axis))
    mask = (x == ans).astype(float)
    return mask / mask.sum(axis=axis, keepdims=True)


def ratio_or_zero(a: Any, b: Any) -> Any:
    """``a / b``, and ``0`` where ``b == 0`` (``hypot`` at the origin: the subgradient 0)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return 0.0 if b == 0 else a / b


def finite_or_zero(x: Any) -> Any:
    """``x``, with ``0`` where it is infinite: the factor ``ans`` of ``d(x / y) / dy = -ans /
    y``.  An infinite quotient (``(m - np.inf) / gamma``, a border of a table) is infinite for
    every ``y`` near, a constant whose derivative is 0; without this, a zero adjoint times the
    infinity gives NaN.  An array with no infinity is returned as it is."""
    if isinstance(x, np.ndarray):
        inf = np.isinf(x)
        return np.where(inf, 0.0, x) if inf.any() else x
    return 0.0 if np.isinf(x) else x


def add_at(d: np.ndarray, index: Any, value: Any) -> np.ndarray:
    """``d[index] += value``, adding once per occurrence when ``index`` is an index array
    that names an element several times (``np.add.at``); returns ``d``, updated in place."""
    np.add.at(d, index, value)
    return d


def snapshot(x: Any) -> Any:
    """A copy of an array (``x`` itself for a scalar): the data an operation read, kept for
    the backward sweep when a later store changes the array."""
    return x.copy() if isinstance(x, np.ndarray) else x


def fresh_copy(x: Any) -> Any:
    """``x`` itself for a scalar, a copy for an array (an element of an adjoint array that is
    about to be cleared may be a whole row)."""
    return x.copy() if isinstance(x, np.ndarray) else x


def reshape(x: Any, shape: Any) -> np.ndarray:
    """``np.reshape(x, shape)`` for any layout (Numba's needs a contiguous array)."""
    return np.reshape(x, shape)


def zeros_like(x: Any) -> Any:
    """A zero adjoint for ``x``: ``0.0`` for a scalar, a new C-contiguous array of its shape."""
    if np.ndim(x) == 0:
        return 0.0
    return np.zeros(np.shape(x))


def zero_at(a: Any, index: tuple) -> Any:
    """The zero of ``a[index]`` (a tuple of integers), without reading it: ``0.0`` for an
    element, zeros of the remaining axes for a part of an array of higher rank (where the
    generated code sums the adjoint of ``a[index]`` in a value of its own: adcompile/sums.py).
    Numba inlines it, so that a loop that starts such sums still vectorizes."""
    if len(index) >= np.ndim(a):
        return 0.0
    return np.zeros(np.shape(a)[len(index):])


def accumulate(total: Any, term: Any) -> Any:
    """``total + term``, where ``total`` sums the contributions to the adjoint of a number in
    a loop (``d_k = accumulate(d_k, d_t12 * t11)`` for ``d_k += d_t12 * t11``).  Numba
    compiles the addition with LLVM's ``reassoc`` flag and LLVM inlines it: a loop whose
    other work vectorizes then adds the contributions in a few partial sums instead of one
    after the other.  The contributions to an adjoint come in no particular order; a
    different order changes the sum in its last bits (rounding) only."""
    return total + term


def broadcast_tangent(t: Any, y: Any) -> Any:
    """The tangent ``t`` of an elementwise result ``y``, spread over ``y``'s shape: an operand
    that does not vary may have broadcast the result to more elements than the tangent has
    (``y = s + a`` with only ``s`` varying).  ``t`` itself when it already has that shape."""
    if np.ndim(y) == 0:
        return t
    if np.shape(t) == np.shape(y):
        return t
    return np.broadcast_to(t, np.shape(y)).astype(float)


def fresh_tangent(t: Any, y: Any) -> Any:
    """The tangent ``t`` of a result ``y`` that owns its memory (``y = x + 1.0`` makes a new
    array), as a new array of ``y``'s shape: a store into ``y`` later must not change the
    tangent ``t`` came from."""
    if np.ndim(y) == 0:
        return t
    return np.broadcast_to(t, np.shape(y)).astype(float)


def unit_seed(x: Any) -> float:
    """The tangent ``1.0`` of a number ``x`` (the derivative of a function of one number is
    its directional derivative along 1); an array has no such seed."""
    if np.ndim(x):
        raise TypeError(_UNIT_SEED_ARRAY)
    return 1.0


_UNIT_SEED_ARRAY = ("grad(grad(f)) differentiates the derivative of f with respect to a "
                    "number; with respect to an array it is not a number: use "
                    "adcompile.hessian(f) or adcompile.hvp(f)")


def stored_tangent(t: Any, y: np.ndarray) -> Any:
    """The tangent of a value stored into ``y``: ``t``, and zero when ``y`` holds integers or
    bools (the store truncates: a piecewise-constant step)."""
    if y.dtype.kind not in "fc":
        return np.zeros(np.shape(t)) if np.ndim(t) else 0.0
    return t


def new_tape(n: int, value: Any) -> Any:
    """Room for ``n`` values like ``value``; none when ``n < 0`` (``range(n)`` then runs no
    iteration).  Numbers go into an array of their type.  Arrays go into a *ragged* tape,
    ``(data, bounds, shapes, witness)``: entry ``i`` is ``data[bounds[i]:bounds[i + 1]]``
    shaped ``shapes[i]`` (``witness``, an empty array, carries the dtype and rank), so entries
    may differ in shape (``x[:i]`` in a loop), and an entry pushed where the value is not
    defined yet (made in a branch not taken so far) is never read."""
    n = max(n, 0)
    if np.ndim(value) == 0:
        return np.full(n, value)
    value = np.asarray(value)
    return (np.empty(n * value.size, value.dtype), np.zeros(n + 1, np.int64),
            np.zeros((n, value.ndim), np.int64), np.empty((0,) * value.ndim, value.dtype))


def push(tape: Any, i: int, value: Any) -> Any:
    """Entry ``i`` of the tape set to ``value`` (entries are pushed in order: 0, 1, ...);
    returns the tape, grown if it had no room."""
    if not isinstance(tape, tuple):
        tape[i] = value
        return tape
    data, bounds, shapes, witness = tape
    if i + 1 >= len(bounds):
        data, bounds, shapes, witness = grow_tape(tape)
    value = np.asarray(value)
    start = bounds[i]
    end = start + value.size
    if end > len(data):
        bigger = np.empty(max(end, 2 * len(data)), data.dtype)
        bigger[:start] = data[:start]
        data = bigger
    data[start:end] = value.ravel()
    bounds[i + 1] = end
    shapes[i] = value.shape
    return data, bounds, shapes, witness


def tape_row(tape: Any, i: int) -> Any:
    """Entry ``i`` of a tape (a view of a ragged tape's data, shaped as it was pushed)."""
    if not isinstance(tape, tuple):
        return tape[i]
    data, bounds, shapes, _ = tape
    return data[bounds[i]:bounds[i + 1]].reshape(tuple(shapes[i]))


def tape_next(tape: Any, i: int, last: Any) -> Any:
    """Entry ``i`` of a tape, or ``last`` past its end: a carried value as the iteration
    after ``i - 1`` starts with it (the loop's final value after the last iteration)."""
    return tape_row(tape, i) if i < tape_len(tape) else last


def tape_len(tape: Any) -> int:
    """How many entries the tape has room for."""
    return len(tape[2]) if isinstance(tape, tuple) else len(tape)


def tape_nbytes(tape: Any) -> int:
    """The bytes the tape holds."""
    if isinstance(tape, tuple):
        return sum(part.nbytes for part in tape)
    return tape.nbytes


def grow_tape(tape: Any) -> Any:
    """The tape with room for twice as many entries, its contents kept (for loops of
    unknown trip count)."""
    if isinstance(tape, tuple):
        return _grow_ragged(*tape)
    bigger = np.empty((max(2 * len(tape), 16), *tape.shape[1:]), dtype=tape.dtype)
    bigger[: len(tape)] = tape
    return bigger


def reduce_adjoint(g: Any, x: Any, axis: Any, weights: Any = None) -> Any:
    """The adjoint ``g`` of a reduction of ``x`` over ``axis`` (None: all; an int or a tuple;
    ``g`` with or without the reduced axes kept), spread back over the shape of ``x``, and
    multiplied by ``weights`` (shaped like ``x``) when given: ``ties`` for ``max``,
    ``prod_others`` for ``prod``.  (One pass: Numba compiles an elementwise product of two
    arrays of rank 3 or 4 slowly.)"""
    if np.ndim(x) == 0:
        out = float(np.sum(g))
    else:
        g = np.reshape(g, _kept_shape(np.shape(x), axis))
        out = np.broadcast_to(g, np.shape(x)).astype(float)
    return out if weights is None else out * weights


def reduced_size(x: Any, axis: Any) -> int:
    """How many elements of ``x`` each result of a reduction over ``axis`` combines."""
    if axis is None:
        return int(np.size(x))
    axes = np.atleast_1d(axis).tolist()
    return int(np.prod([np.shape(x)[a] for a in axes]))


def _kept_shape(shape: tuple, axis: Any) -> tuple:
    """``shape`` with the axes a reduction over ``axis`` removes kept, as extent 1."""
    if axis is None:
        return (1,) * len(shape)
    axes = {a % len(shape) for a in np.atleast_1d(axis).tolist()}
    return tuple(1 if a in axes else n for a, n in enumerate(shape))


def reduce_to(h: Any, g: Any, axis: Any) -> Any:
    """``h``, shaped like the array ``reduce_adjoint(g, x, axis)`` spreads ``g`` over, summed
    back to the shape of ``g``: the adjoint of ``g`` in ``reduce_adjoint`` (second
    derivatives of reductions)."""
    if np.ndim(g) == 0:
        return float(np.sum(h))
    if np.ndim(h) == 0:
        return np.full(np.shape(g), float(h))
    return np.reshape(np.sum(h, axis=_axes_tuple(axis, np.ndim(h)), keepdims=True),
                      np.shape(g))


def _axes_tuple(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def untranspose(g: Any, axes: Any) -> Any:
    """The adjoint of ``np.transpose(x, axes)``: ``g`` with the inverse permutation."""
    axes = [a % np.ndim(g) for a in axes]
    return np.transpose(g, np.argsort(axes))


def matmul_left(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``a @ b`` (and ``np.dot(a, b)`` for 1-D and 2-D operands);
    stacks of matrices (3-D and more, ``@`` only) are summed over broadcast stack axes; a
    number or rank-0 operand of ``np.dot`` is a factor."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0:
        return np.sum(g * b)
    if b_nd == 0:
        return g * b
    if max(a_nd, b_nd) > 2:
        a2, b2, g2 = _as_stacks(g, a, b)
        return unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2).reshape(np.shape(a))
    if b_nd == 1:
        return np.outer(g, b) if a_nd == 2 else g * b
    return np.dot(g, np.transpose(b))


def matmul_right(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``b`` in ``a @ b`` (and ``np.dot(a, b)`` for 1-D and 2-D operands);
    stacks of matrices (3-D and more, ``@`` only) are summed over broadcast stack axes; a
    number or rank-0 operand of ``np.dot`` is a factor."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if b_nd == 0:
        return np.sum(g * a)
    if a_nd == 0:
        return g * a
    if max(a_nd, b_nd) > 2:
        a2, b2, g2 = _as_stacks(g, a, b)
        return unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2).reshape(np.shape(b))
    if a_nd == 1:
        return np.outer(a, g) if b_nd == 2 else g * a
    return np.dot(np.transpose(a), g)


def _as_stacks(g: Any, a: Any, b: Any) -> tuple:
    """``a``, ``b`` and the adjoint ``g`` of ``a @ b`` with a vector operand made a matrix
    (a row on the left, a column on the right) and ``g`` given the axis it lacks."""
    a, b, g = np.asarray(a, dtype=float), np.asarray(b, dtype=float), np.asarray(g)
    if a.ndim == 1:
        a, g = a[None, :], np.expand_dims(g, -2)
    if b.ndim == 1:
        b, g = b[:, None], g[..., None]
    return a, b, g


def sum_along(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """``np.sum(x, axis, keepdims=keepdims)`` (Numba's ``np.sum`` takes one int axis and no
    ``keepdims``)."""
    return np.sum(x, axis=axis, keepdims=keepdims)


def mean_along(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """``np.mean(x, axis, keepdims=keepdims)`` (Numba's ``np.mean`` takes no axis)."""
    return np.mean(x, axis=axis, keepdims=keepdims)


def max_along(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """``np.max(x, axis, keepdims=keepdims)`` (Numba's ``np.max`` takes no axis)."""
    return np.max(x, axis=axis, keepdims=keepdims)


def min_along(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """``np.min(x, axis, keepdims=keepdims)`` (Numba's ``np.min`` takes no axis)."""
    return np.min(x, axis=axis, keepdims=keepdims)


def prod_along(x: Any, axis: Any, keepdims: bool = False) -> Any:
    """``np.prod(x, axis, keepdims=keepdims)`` (Numba's ``np.prod`` takes no axis)."""
    return np.prod(x, axis=axis, keepdims=keepdims)

# -- Numba implementations, chosen by type at compile time -------------------------------------
#
# Shapes of any rank are handled by one implementation each, not one per rank: an array is
# walked as its flat data in C order, and a *map* says for each element which element of a
# smaller shape it meets (``_broadcast_map``: the element of a broadcast operand, or the result
# of a reduction with its reduced axes kept as extent 1).  Summing down (``unbroadcast``),
# spreading back (``reduce_adjoint``) and reducing along axes are then loops over that map.
# The rank of a result is known at compile time (``to_fixed_tuple`` makes its shape).

def _is_array(t: Any) -> bool:
    return isinstance(t, types.Array)


def _is_none(t: Any) -> bool:
    return t is None or isinstance(t, (types.NoneType, types.Omitted)) and getattr(
        t, "value", None) is None


@njit(cache=True)
def _dims(shape):
    """A shape tuple (of an array of rank 1 or more) as an int64 array."""
    out = np.empty(len(shape), np.int64)
    for d in range(len(shape)):
        out[d] = shape[d]
    return out


@njit(cache=True)
def _padded(dims, ndim):
    """``dims`` with extents of 1 in front, to ``ndim`` entries (broadcasting aligns right)."""
    out = np.ones(ndim, np.int64)
    for d in range(dims.shape[0]):  # loops, not slice assignments: they compile faster
        out[ndim - dims.shape[0] + d] = dims[d]
    return out


@njit(cache=True)
def _broadcast_map(src, dst):
    """For each element of an array of shape ``src``, in C order, the flat index (C order) of
    the element of an array of shape ``dst`` it meets, where each extent of ``dst`` is that of
    ``src`` or 1 (and both have the same length)."""
    ndim = src.shape[0]
    strides = np.zeros(ndim, np.int64)
    step = 1
    for d in range(ndim - 1, -1, -1):
        if dst[d] == src[d]:
            strides[d] = step
        elif dst[d] != 1:
            raise ValueError("an adjoint does not have the shape of its value's broadcast")
        step *= dst[d]
    n = 1
    for d in range(ndim):
        n *= src[d]
    out = np.empty(n, np.int64)
    index = np.zeros(ndim, np.int64)
    at = 0
    for k in range(n):
        out[k] = at
        d = ndim - 1
        while d >= 0:
            index[d] += 1
            at += strides[d]
            if index[d] < src[d]:
                break
            at -= strides[d] * src[d]
            index[d] = 0
            d -= 1
    return out


@njit(cache=True)
def _flat(x):
    """The elements of ``x`` in C order, as a 1-D array (a view when ``x`` is contiguous)."""
    return np.ascontiguousarray(x).reshape(x.size)


@njit(cache=True)
def _axis_index(axis, ndim):
    if axis < -ndim or axis >= ndim:
        raise ValueError("axis is out of bounds for the array's rank")
    return axis + ndim if axis < 0 else axis


@njit(cache=True)
def _all_axes(axis, ndim):
    return np.ones(ndim, np.bool_)


@njit(cache=True)
def _one_axis(axis, ndim):
    mask = np.zeros(ndim, np.bool_)
    mask[_axis_index(axis, ndim)] = True
    return mask


def _mask_of(axis: Any):
    """The function that says which of ``ndim`` axes a reduction over ``axis`` (None, an
    int, a tuple) removes: ``mask_of(axis, ndim)``.  (Chosen when typing, so that the cached
    functions for None and an int are called directly.)"""
    if _is_none(axis):
        return _all_axes
    if isinstance(axis, types.Integer):
        return _one_axis
    return _axis_mask


def _axis_mask(axis, ndim):
    """Which of ``ndim`` axes a reduction over a tuple of axes removes."""


@overload(_axis_mask)
def _axis_mask_impl(axis, ndim):
    if isinstance(axis, types.BaseTuple) and all(isinstance(t, types.Integer) for t in axis):
        lines = ["def several(axis, ndim):", "    mask = np.zeros(ndim, np.bool_)"]
        for k in range(len(axis)):
            lines += [f"    a = _axis_index(axis[{k}], ndim)",
                      "    if mask[a]:",
                      "        raise ValueError('an axis is repeated')",
                      "    mask[a] = True"]
        lines.append("    return mask")
        scope: dict = {"np": np, "_axis_index": _axis_index}
        exec("\n".join(lines), scope)
        return scope["several"]
    return None


def _reduced_axes(axis: Any, ndim: int) -> int | None:
    """How many axes a reduction over ``axis`` (a Numba type) removes, known when typing."""
    if _is_none(axis):
        return ndim
    if isinstance(axis, types.Integer):
        return 1
    if isinstance(axis, types.BaseTuple) and all(isinstance(t, types.Integer) for t in axis):
        return len(axis)
    return None


@njit(cache=True)
def _kept(x, mask):
    """The shape of ``x`` with the axes of ``mask`` reduced to extent 1."""
    kept = _dims(x.shape)
    for d in range(kept.shape[0]):
        if mask[d]:
            kept[d] = 1
    return kept


@njit(cache=True)
def _removed(dims, mask):
    """The extents of the axes a reduction keeps (``dims[~mask]``)."""
    n = 0
    for d in range(dims.shape[0]):
        n += not mask[d]
    out = np.empty(n, np.int64)
    n = 0
    for d in range(dims.shape[0]):
        if not mask[d]:
            out[n] = dims[d]
            n += 1
    return out


@njit(cache=True)
def _size(dims):
    n = 1
    for d in range(dims.shape[0]):
        n *= dims[d]
    return n


@njit(cache=True)
def _sum_into(flat, where, n):
    out = np.zeros(n, flat.dtype)
    for k in range(flat.shape[0]):
        out[where[k]] += flat[k]
    return out


@njit(cache=True)
def _prod_into(flat, where, n):
    out = np.ones(n, flat.dtype)
    for k in range(flat.shape[0]):
        out[where[k]] *= flat[k]
    return out


@njit(cache=True)
def _max_into(flat, where, n):
    out = np.empty(n, flat.dtype)
    seen = np.zeros(n, np.bool_)
    for k in range(flat.shape[0]):
        j, v = where[k], flat[k]
        if not seen[j]:
            out[j] = v
            seen[j] = True
        elif v > out[j] or v != v:  # a NaN stays, as in NumPy
            out[j] = v
    for j in range(n):
        if not seen[j]:
            raise ValueError("zero-size array to reduction operation maximum which has no "
                             "identity")
    return out


@njit(cache=True)
def _min_into(flat, where, n):
    out = np.empty(n, flat.dtype)
    seen = np.zeros(n, np.bool_)
    for k in range(flat.shape[0]):
        j, v = where[k], flat[k]
        if not seen[j]:
            out[j] = v
            seen[j] = True
        elif v < out[j] or v != v:  # a NaN stays, as in NumPy
            out[j] = v
    for j in range(n):
        if not seen[j]:
            raise ValueError("zero-size array to reduction operation minimum which has no "
                             "identity")
    return out


@njit(cache=True)
def _mean_into(flat, where, n):
    out = _sum_into(flat, where, n)
    count = flat.shape[0] // n if n > 0 else 0
    for j in range(n):
        out[j] = out[j] / count if count > 0 else np.nan
    return out


@njit(cache=True)
def _as_int64(flat):
    return flat.astype(np.int64)


@njit(cache=True)
def _as_float64(flat):
    return flat.astype(np.float64)


@njit(cache=True)
def _same(flat):
    return flat


_ACCUMULATE = {"sum": _sum_into, "prod": _prod_into, "max": _max_into, "min": _min_into,
               "mean": _mean_into}


@njit(cache=True)
def _reduction_map(x, mask):
    """For each element of ``x``, the result it goes into in a reduction over the axes of
    ``mask``, and the shape of the result with those axes kept as extent 1."""
    kept = _kept(x, mask)
    return _broadcast_map(_dims(x.shape), kept), kept


def _literal_flag(flag: Any) -> bool | None:
    """The value of a ``keepdims`` argument, or None when it is not known when typing."""
    if isinstance(flag, types.Omitted):
        return bool(flag.value)
    if isinstance(flag, types.Literal):
        return bool(flag.literal_value)
    if isinstance(flag, bool):
        return flag
    return None


def _reduction(kind: str):
    """The Numba implementation of ``<kind>_along(x, axis, keepdims)`` for any rank: ``axis``
    an int (negative too), a tuple of ints or None; ``keepdims`` a literal."""
    accumulate = _ACCUMULATE[kind]

    def typer(x, axis, keepdims=False):
        if not _is_array(x):
            return None
        keep = _literal_flag(keepdims)
        removed = _reduced_axes(axis, x.ndim)
        if keep is None or removed is None:
            return None  # Numba asks again with literal types
        mask_of = _mask_of(axis)
        integer = isinstance(x.dtype, (types.Integer, types.Boolean))
        prepare = (_as_float64 if kind == "mean" and integer
                   else _as_int64 if integer else _same)
        rank = x.ndim if keep else x.ndim - removed
        if (kind in ("sum", "mean") and x.ndim == 2 and isinstance(axis, types.Integer)
                and isinstance(x.dtype, types.Float)):
            return _matrix_reduction(kind == "mean", keep)

        if rank == 0:
            def scalar(x, axis, keepdims=False):
                where, kept = _reduction_map(x, mask_of(axis, x.ndim))
                return accumulate(prepare(_flat(x)), where, _size(kept))[0]
            return scalar
        if keep:
            def keeping(x, axis, keepdims=False):
                where, kept = _reduction_map(x, mask_of(axis, x.ndim))
                out = accumulate(prepare(_flat(x)), where, _size(kept))
                return out.reshape(to_fixed_tuple(kept, rank))
            return keeping

        def removing(x, axis, keepdims=False):
            mask = mask_of(axis, x.ndim)
            where, kept = _reduction_map(x, mask)
            out = accumulate(prepare(_flat(x)), where, _size(kept))
            return out.reshape(to_fixed_tuple(_removed(_dims(x.shape), mask), rank))
        return removing
    return typer


def _matrix_reduction(mean: bool, keep: bool):
    """The sum or mean of a float matrix along one axis, as two loops: the common case, kept
    fast and quick to compile (no index map, no error formatting)."""

    def along(x, axis, keepdims=False):
        n, m = x.shape
        a = axis + 2 if axis < 0 else axis
        if a == 0:
            out = np.zeros(m, x.dtype)
            for i in range(n):
                for j in range(m):
                    out[j] += x[i, j]
            count = n
        else:
            out = np.empty(n, x.dtype)
            for i in range(n):
                total = x.dtype.type(0)
                for j in range(m):
                    total += x[i, j]
                out[i] = total
            count = m
        if mean:
            for k in range(out.shape[0]):
                out[k] = out[k] / count if count > 0 else np.nan
        if keep:  # a constant of the implementation: one rank per version
            return out.reshape((1, m) if a == 0 else (n, 1))
        return out.reshape((out.shape[0],))

    return along


overload(sum_along, jit_options=CACHED)(_reduction("sum"))
overload(mean_along, jit_options=CACHED)(_reduction("mean"))
overload(max_along, jit_options=CACHED)(_reduction("max"))
overload(min_along, jit_options=CACHED)(_reduction("min"))
overload(prod_along, jit_options=CACHED)(_reduction("prod"))


@njit(cache=True)
def _sum_to(g, x):
    """``g`` summed down to the shape of the array ``x`` (``g`` of the broadcast shape)."""
    ndim = max(g.ndim, x.ndim)
    gd, xd = _padded(_dims(g.shape), ndim), _padded(_dims(x.shape), ndim)
    return _sum_into(_flat(g), _broadcast_map(gd, xd), x.size).reshape(x.shape)


@overload(unbroadcast, jit_options=CACHED)
def _unbroadcast(g, x):
    if not _is_array(x) or x.ndim == 0:  # a 0-d array takes part in arithmetic as a number
        if _is_array(g):
            return lambda g, x: g.sum()
        return lambda g, x: g
    if not _is_array(g):
        return lambda g, x: np.full(x.shape, g)
    if g.ndim == 0:
        return lambda g, x: np.full(x.shape, g.sum())
    if g.ndim == x.ndim:
        def same_rank(g, x):
            if g.shape == x.shape:
                return np.ascontiguousarray(g)
            return _sum_to(g, x)
        return same_rank
    if g.ndim == 2 and x.ndim == 1:  # a bias added to every row: a column sum, no index map
        def rows(g, x):
            n, m = g.shape
            if x.shape[0] != m:
                return _sum_to(g, x)
            out = np.zeros(m)
            for i in range(n):
                for j in range(m):
                    out[j] += g[i, j]
            return out
        return rows
    return lambda g, x: _sum_to(g, x)


def _is_int(t: Any) -> bool:
    return isinstance(t, (types.Integer, types.Boolean))


@overload(power, jit_options=CACHED)
def _power(x, y):
    if _is_array(x) or _is_array(y):
        return lambda x, y: np.power(as_float(x), y)
    if _is_int(x) and _is_int(y):
        return lambda x, y: float(x) ** float(y)
    if _is_int(y):  # a float to an integer power: C's pow gives inf at 0 ** -1
        return lambda x, y: x ** float(y)
    return lambda x, y: x ** y


@overload(pow_dx, jit_options=CACHED)
def _pow_dx(x, y):
    if _is_array(x) or _is_array(y):
        def along(x, y):
            xb, yb = np.broadcast_arrays(as_float(x), as_float(y))
            out = np.zeros(xb.shape)
            for k in np.ndindex(xb.shape):
                if yb[k] != 0:
                    out[k] = yb[k] * xb[k] ** (yb[k] - 1.0)
            return out
        return along
    return lambda x, y: 0.0 if y == 0 else y * power(x, y - 1)


@overload(log_or_zero, jit_options=CACHED)
def _log_or_zero(x):
    if _is_array(x):
        return lambda x: np.log(np.where(x == 0, 1.0, x))
    return lambda x: 0.0 if x == 0 else np.log(x)


@overload(as_float, jit_options=CACHED)
def _as_float(x):
    if _is_array(x):
        if isinstance(x.dtype, types.Complex):
            return lambda x: x.astype(np.complex128)
        if isinstance(x.dtype, types.Float) and x.dtype.bitwidth == 64:
            return lambda x: x
        return lambda x: x.astype(np.float64)
    if isinstance(x, types.Complex):
        return lambda x: complex(x)
    if isinstance(x, types.Boolean):
        return lambda x: 1.0 if x else 0.0
    return lambda x: float(x)


def _extent(x, g, axis):
    """How far an element of a built array reaches along ``axis``."""


@overload(_extent, jit_options=CACHED)
def _extent_impl(x, g, axis):
    if _is_array(x) and x.ndim == g.ndim:
        return lambda x, g, axis: x.shape[axis]
    return lambda x, g, axis: 1


def _block(g, start, n, axis, x):
    """``g[start:start + n]`` along ``axis``, shaped like ``x`` (a new array, or a float)."""


@overload(_block)
def _block_impl(g, start, n, axis, x):
    cases = []
    for a in range(g.ndim):
        index = ", ".join([":"] * a + ["start:start + n"])
        cases.append(f"    if axis == {a}:\n        b = np.ascontiguousarray(g[{index}])\n")
    if _is_array(x):
        ending = "    return b.reshape(x.shape)\n" if x.ndim != g.ndim else "    return b\n"
    else:
        ending = "    return b.ravel()[0]\n"
    first = "    b = np.ascontiguousarray(g[start:start + n])\n"
    src = "def block(g, start, n, axis, x):\n" + first + "".join(cases[1:]) + ending
    scope: dict = {"np": np}
    exec(src, scope)
    return scope["block"]


@overload(split_along)
def _split_along(g, xs, axis):
    if _is_array(xs):  # np.array(x) of an array: a copy
        return lambda g, xs, axis: g
    if isinstance(xs, (types.Number, types.Boolean)):  # np.array(x) of a number
        if _is_array(g):
            return lambda g, xs, axis: g.sum()
        return lambda g, xs, axis: g
    if not _is_array(g) or not isinstance(xs, types.BaseTuple):
        return None
    lines = ["def split(g, xs, axis):", "    a = axis % g.ndim", "    start = 0"]
    for k in range(len(xs)):
        lines += [f"    n{k} = _extent(xs[{k}], g, a)",
                  f"    p{k} = _block(g, start, n{k}, a, xs[{k}])",
                  f"    start += n{k}"]
    lines.append("    return (" + "".join(f"p{k}, " for k in range(len(xs))) + ")")
    scope: dict = {"_extent": _extent, "_block": _block}
    exec("\n".join(lines), scope)
    return scope["split"]


@njit(cache=True)
def _others_in_groups(flat, where, n):
    """For each ``k``, the product of ``flat[j]`` over the other ``j`` with ``where[j] ==
    where[k]`` (its reduction), by prefix and suffix products: no division."""
    out = np.empty(flat.shape[0])
    acc = np.ones(n)
    for k in range(flat.shape[0]):
        out[k] = acc[where[k]]
        acc[where[k]] *= flat[k]
    for j in range(n):
        acc[j] = 1.0
    for k in range(flat.shape[0] - 1, -1, -1):
        out[k] *= acc[where[k]]
        acc[where[k]] *= flat[k]
    return out


@njit(cache=True)
def _others_tangent_in_groups(flat, tangent, where, n):
    """:func:`prod_others_tangent` on ``flat`` and its ``tangent``, grouped as in
    :func:`_others_in_groups`."""
    size = flat.shape[0]
    before = np.empty(size)
    d_before = np.empty(size)
    acc = np.ones(n)
    d_acc = np.zeros(n)
    for k in range(size):
        g = where[k]
        before[k] = acc[g]
        d_before[k] = d_acc[g]
        d_acc[g] = d_acc[g] * flat[k] + acc[g] * tangent[k]
        acc[g] *= flat[k]
    out = np.empty(size)
    for j in range(n):
        acc[j] = 1.0
        d_acc[j] = 0.0
    for k in range(size - 1, -1, -1):
        g = where[k]
        out[k] = d_before[k] * acc[g] + before[k] * d_acc[g]
        d_acc[g] = d_acc[g] * flat[k] + acc[g] * tangent[k]
        acc[g] *= flat[k]
    return out


@overload(prod_others_tangent, jit_options=CACHED)
def _prod_others_tangent(x, t, axis):
    if not _is_array(x) or x.ndim == 0:
        return lambda x, t, axis: 0.0
    mask_of = _mask_of(axis)

    def grouped(x, t, axis):
        where, kept = _reduction_map(x, mask_of(axis, x.ndim))
        spread = np.broadcast_to(t, x.shape)
        return _others_tangent_in_groups(_as_float64(_flat(x)), _as_float64(_flat(spread)),
                                         where, _size(kept)).reshape(x.shape)
    return grouped


@overload(prod_others, jit_options=CACHED)
def _prod_others(x, axis):
    if not _is_array(x) or x.ndim == 0:
        return lambda x, axis: 1.0
    mask_of = _mask_of(axis)

    def grouped(x, axis):
        where, kept = _reduction_map(x, mask_of(axis, x.ndim))
        return _others_in_groups(_as_float64(_flat(x)), where, _size(kept)).reshape(x.shape)
    return grouped


@overload(fill_adjoint, jit_options=CACHED)
def _fill_adjoint(g, ans):
    if isinstance(ans.dtype, types.Float):
        return lambda g, ans: np.sum(g)
    return lambda g, ans: 0.0


@overload(fill_tangent, jit_options=CACHED)
def _fill_tangent(t, ans):
    if isinstance(ans.dtype, types.Float):
        return lambda t, ans: np.full(ans.shape, t)
    return lambda t, ans: np.zeros(ans.shape)


@overload(number_only, jit_options=CACHED)
def _number_only(x):
    if _is_array(x):
        from numba.core.errors import TypingError

        raise TypingError(_NUMBER_ONLY)
    return lambda x: x


@overload(rows_for, jit_options=CACHED)
def _rows_for(n, item):
    if _is_array(item):
        return lambda n, item: np.zeros((n,) + item.shape)
    return lambda n, item: np.zeros(n)


@overload(int_array, jit_options=CACHED)
def _int_array(shape, fill):
    return lambda shape, fill: np.full(shape, np.int64(fill), np.int64)


@overload(same_length, jit_options=CACHED)
def _same_length(n, m):
    def same_length_impl(n, m):
        if n != m:
            raise ValueError(_SAME_LENGTH)
        return n
    return same_length_impl


@overload(unpacked, jit_options=CACHED)
def _unpacked(x, count):
    if not isinstance(x, (types.Array, types.BaseTuple)):
        from numba.core.errors import TypingError

        raise TypingError(f"unpacked: a {x} cannot be unpacked into names")

    def unpacked_impl(x, count):
        if len(x) > count:
            raise ValueError(_TOO_MANY)
        if len(x) < count:
            raise ValueError(_NOT_ENOUGH)
        return count
    return unpacked_impl


@overload(unpacked_along, jit_options=CACHED)
def _unpacked_along(x, count, axis):
    if not (isinstance(x, types.Array) and x.ndim >= 2):
        from numba.core.errors import TypingError

        raise TypingError(_NOT_ROWS)

    def unpacked_along_impl(x, count, axis):
        if x.shape[1 - axis] > 0:
            if x.shape[axis] > count:
                raise ValueError(_TOO_MANY)
            if x.shape[axis] < count:
                raise ValueError(_NOT_ENOUGH)
        return count
    return unpacked_along_impl


@overload(raise_error, jit_options=CACHED, prefer_literal=True)
def _raise_error(kind, message):
    kind_ = getattr(builtins, kind.literal_value)
    message_ = message.literal_value

    def raise_error_impl(kind, message):
        raise kind_(message_)
    return raise_error_impl


@overload(bool_array, jit_options=CACHED)
def _bool_array(shape, fill):
    return lambda shape, fill: np.full(shape, fill != 0, np.bool_)


@overload(stored_adjoint, jit_options=CACHED)
def _stored_adjoint(g, y):
    exact = isinstance(y.dtype, (types.Integer, types.Boolean))
    if _is_array(g):
        if exact:
            return lambda g, y: np.zeros(g.shape)
        return lambda g, y: g.copy()
    if exact:
        return lambda g, y: 0.0
    return lambda g, y: g


@njit(cache=True)
def _share(flat, best, where, n):
    """``1/k`` for each of the ``k`` elements of a reduction equal to its extremum."""
    out = np.zeros(flat.shape[0])
    count = np.zeros(n)
    for k in range(flat.shape[0]):
        if flat[k] == best[where[k]]:
            out[k] = 1.0
            count[where[k]] += 1.0
    for k in range(flat.shape[0]):
        if out[k] != 0.0:
            out[k] /= count[where[k]]
    return out


@overload(ties, jit_options=CACHED)
def _ties(x, ans, axis):
    if not _is_array(x) or x.ndim == 0:
        return lambda x, ans, axis: 1.0
    if not _is_array(ans) or ans.ndim == 0:  # every element took part in one reduction
        def whole(x, ans, axis):
            mask = (x == ans) * 1.0
            return mask / mask.sum()
        return whole
    mask_of = _mask_of(axis)

    def grouped(x, ans, axis):
        where, kept = _reduction_map(x, mask_of(axis, x.ndim))
        best = _flat(ans)
        if best.shape[0] != _size(kept):
            raise ValueError("an extremum does not have the shape of its reduction")
        return _share(_flat(x), best, where, _size(kept)).reshape(x.shape)
    return grouped


@overload(ratio_or_zero, jit_options=CACHED)
def _ratio_or_zero(a, b):
    if _is_array(a) or _is_array(b):
        return lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return lambda a, b: 0.0 if b == 0 else a / b


@overload(finite_or_zero, jit_options=CACHED)
def _finite_or_zero(x):
    if isinstance(getattr(x, "dtype", x), (types.Integer, types.Boolean)):
        return lambda x: x  # integers are never infinite (Numba has no np.isinf of them)
    if _is_array(x):
        def finite_or_zero_array(x):
            for v in x.flat:  # one read, no allocation, where nothing is infinite
                if np.isinf(v):
                    return np.where(np.isinf(x), 0.0, x)
            return x
        return finite_or_zero_array
    return lambda x: 0.0 if np.isinf(x) else x


def _is_index_array(t: Any) -> bool:
    return _is_array(t) and t.ndim == 1 and isinstance(t.dtype, types.Integer)


def _is_flag_array(t: Any) -> bool:
    return _is_array(t) and t.ndim == 1 and isinstance(t.dtype, types.Boolean)


def _index_array_position(index: Any) -> int | None:
    """Where the one 1-D integer index array of the tuple ``index`` is, when the rest are
    integers and slices (``d[3, 2:, idx]``); ``None`` for any other index."""
    if not isinstance(index, types.BaseTuple):
        return None
    arrays = [j for j, t in enumerate(index) if _is_array(t)]
    if len(arrays) != 1 or not _is_index_array(index[arrays[0]]):
        return None
    if not all(isinstance(t, (types.Integer, types.SliceType)) for j, t in enumerate(index)
               if j != arrays[0]):
        return None
    return arrays[0]


def _selection_axis(index: Any, where: int) -> int:
    """The axis of ``d[index]`` that the index array's entries run along, as NumPy places it:
    integers count as index arrays, and when these are not side by side (``d[3, 2:, idx]``)
    the axis comes first, otherwise it stands where they are (``d[:, 3, idx]``: axis 1)."""
    advanced = [j for j, t in enumerate(index) if j == where or isinstance(t, types.Integer)]
    if advanced[-1] - advanced[0] + 1 != len(advanced):
        return 0
    return sum(isinstance(t, types.SliceType) for t in index[:advanced[0]])


_ONE_ARRAY_SOURCES: dict[tuple, Any] = {}


def _one_index_array(d: Any, index: Any, value: Any) -> Any:
    """``add_at`` for an index of integers, slices and one index array, any rank: one
    ``+=`` per entry of the array (a repeated entry adds again), ``value`` taken along the
    axis the entries run along in ``d[index]`` (broadcast to it first when it has fewer
    axes but reaches that one)."""
    where = _index_array_position(index)
    if where is None:
        return None
    axis = _selection_axis(index, where)
    rank = sum(isinstance(t, types.SliceType) for t in index) + d.ndim - len(index) + 1
    if not _is_array(value) or value.ndim < rank - axis:
        kind = "same"  # value does not reach the entries' axis: the same for every entry
    elif value.ndim == rank:
        kind = "slice"
    else:
        kind = "broadcast"
    key = (len(index), where, axis, kind)
    if key not in _ONE_ARRAY_SOURCES:
        at = ", ".join("idx[k]" if j == where else f"index[{j}]" for j in range(len(index)))
        lines = ["def impl(d, index, value):", f"    idx = index[{where}]"]
        if kind == "broadcast":
            lines.append("    v = np.broadcast_to(value, d[index].shape)")
        else:
            lines.append("    v = value")
        part = "v" if kind == "same" else "v[" + ":, " * axis + "k]"
        lines += ["    for k in range(idx.shape[0]):", f"        d[{at}] += {part}",
                  "    return d"]
        scope = {"np": np}
        exec("\n".join(lines), scope)  # noqa: S102
        _ONE_ARRAY_SOURCES[key] = scope["impl"]
    return _ONE_ARRAY_SOURCES[key]


@overload(add_at)
def _add_at(d, index, value):
    if isinstance(index, types.BaseTuple) and len(index) in (2, 3) and any(
            _is_flag_array(t) for t in index):
        # d[m, j] with a mask m of one axis: the positions where it holds, as indices
        if _is_flag_array(index[0]):
            return lambda d, index, value: add_at(
                d, (np.nonzero(index[0])[0], *index[1:]), value)
        if len(index) == 2:
            return lambda d, index, value: add_at(
                d, (index[0], np.nonzero(index[1])[0]), value)
        return None
    if _is_array(index) and isinstance(index.dtype, types.Integer) and index.ndim == 1:
        if _is_array(value) and value.ndim == d.ndim:  # one row (or element) per index
            def rows(d, index, value):
                for k in range(index.shape[0]):
                    d[index[k]] += value[k]
                return d
            return rows

        def same(d, index, value):
            for k in range(index.shape[0]):
                d[index[k]] += value
            return d
        return same
    if _is_array(index) or (isinstance(index, types.BaseTuple)
                            and any(_is_array(t) for t in index)):
        if _is_array(index) and isinstance(index.dtype, types.Boolean):
            def mask(d, index, value):
                d[index] += value
                return d
            return mask
        if (isinstance(index, types.BaseTuple) and len(index) == 2
                and all(_is_index_array(t) and t.ndim == 1 for t in index)):
            # d[rows, cols]: one element (or row of the rest) per pair of indices
            if _is_array(value) and value.ndim == d.ndim - 1:
                def pairs(d, index, value):
                    rows, cols = index
                    for k in range(rows.shape[0]):
                        d[rows[k], cols[k]] += value[k]
                    return d
                return pairs

            def pairs_same(d, index, value):
                rows, cols = index
                for k in range(rows.shape[0]):
                    d[rows[k], cols[k]] += value
                return d
            return pairs_same
        one = _one_index_array(d, index, value)
        if one is not None:
            return one
        return None  # several index arrays: not supported (refused at compile time)

    def plain(d, index, value):
        d[index] += value
        return d
    return plain


@overload(snapshot, jit_options=CACHED)
@overload(fresh_copy, jit_options=CACHED)
def _fresh_copy(x):
    if _is_array(x):
        return lambda x: x.copy()
    return lambda x: x


@overload(reshape, jit_options=CACHED)
def _reshape(x, shape):
    if _is_array(x) and x.layout == "C":
        return lambda x, shape: np.reshape(x, shape)
    if _is_array(x):
        return lambda x, shape: np.reshape(np.ascontiguousarray(x), shape)
    return lambda x, shape: np.full(shape, x)  # the adjoint of a value squeezed to a number


@overload(abs, jit_options=CACHED)
def _abs_of_array(x):
    """``abs(x)`` of an array, as in NumPy (Numba's ``abs`` takes numbers only)."""
    if _is_array(x):
        return lambda x: np.abs(x)
    return None


@overload(np.array, jit_options=CACHED)
def _array_of_arrays(obj, dtype=None):
    """``np.array((a, b))`` of arrays of one shape, as NumPy makes it (Numba's ``np.array``
    takes tuples of numbers only): ``np.stack``."""
    arrays = (isinstance(obj, types.BaseTuple) and len(obj) > 0
              and all(_is_array(t) for t in obj))
    if arrays and (dtype is None or isinstance(dtype, (types.NoneType, types.Omitted))):
        return lambda obj, dtype=None: np.stack(obj)
    return None


def _at_least(shape: tuple):
    def typer(x):
        if isinstance(x, (types.Number, types.Boolean)):
            return lambda x: np.full(shape, x)
        return None
    return typer


# np.atleast_1d/2d/3d of a number, as NumPy makes it (Numba's take arrays only)
overload(np.atleast_1d, jit_options=CACHED)(_at_least((1,)))
overload(np.atleast_2d, jit_options=CACHED)(_at_least((1, 1)))
overload(np.atleast_3d, jit_options=CACHED)(_at_least((1, 1, 1)))


@overload(zeros_like, jit_options=CACHED)
def _zeros_like(x):
    if _is_array(x) and x.ndim > 0:
        return lambda x: np.zeros(x.shape)
    return lambda x: 0.0  # a 0-d array takes part in arithmetic as a number


@overload(zero_at, inline="always")  # a call left in a loop keeps LLVM from vectorizing it
def _zero_at(a, index):
    count = len(index)
    if not _is_array(a) or count >= a.ndim:
        return lambda a, index: 0.0
    return lambda a, index: np.zeros(a.shape[count:])


@overload(accumulate, jit_options={**CACHED, "fastmath": {"reassoc"}})
def _accumulate(total, term):
    return lambda total, term: total + term


@overload(broadcast_tangent, jit_options=CACHED)
def _broadcast_tangent(t, y):
    if not _is_array(y) or y.ndim == 0:
        return lambda t, y: t
    if _is_array(t) and t.ndim == y.ndim:
        def same_rank(t, y):
            if t.shape == y.shape:
                return t
            return _spread_tangent(t, y)
        return same_rank
    return lambda t, y: _spread_tangent(t, y)


@overload(fresh_tangent, jit_options=CACHED)
def _fresh_tangent(t, y):
    if not _is_array(y) or y.ndim == 0:
        return lambda t, y: t
    return lambda t, y: _spread_tangent(t, y)


def _spread_tangent(t, y):
    """A new float64 array of ``y``'s shape holding ``t`` broadcast."""


@overload(_spread_tangent, jit_options=CACHED)
def _spread_tangent_impl(t, y):
    if _is_array(t) and t.ndim > 0:
        def spread(t, y):
            out = np.empty(y.shape)
            out[...] = np.broadcast_to(t, y.shape)
            return out
        return spread
    return lambda t, y: np.full(y.shape, t, np.float64)


@overload(reduce_to, jit_options=CACHED)
def _reduce_to(h, g, axis):
    if not _is_array(g) or g.ndim == 0:
        if _is_array(h):
            return lambda h, g, axis: np.sum(h)
        return lambda h, g, axis: h
    if not _is_array(h) or h.ndim == 0:
        return lambda h, g, axis: np.full(g.shape, h, np.float64)
    if axis is None or isinstance(axis, types.NoneType):
        return lambda h, g, axis: np.full(g.shape, np.sum(h), np.float64)
    return lambda h, g, axis: reshape(sum_along(h, axis), g.shape)


@overload(unit_seed, jit_options=CACHED)
def _unit_seed(x):
    if _is_array(x):
        from numba.core.errors import TypingError

        raise TypingError(_UNIT_SEED_ARRAY)
    return lambda x: 1.0


@overload(stored_tangent, jit_options=CACHED)
def _stored_tangent(t, y):
    exact = isinstance(y.dtype, (types.Integer, types.Boolean))
    if exact:
        if _is_array(t):
            return lambda t, y: np.zeros(t.shape)
        return lambda t, y: 0.0
    return lambda t, y: t


@overload(new_tape, jit_options=CACHED)
def _new_tape(n, value):
    if _is_array(value):
        ndim = value.ndim

        def ragged(n, value):
            m = max(n, 0)
            return (np.empty(m * value.size, value.dtype), np.zeros(m + 1, np.int64),
                    np.zeros((m, ndim), np.int64),
                    np.empty(to_fixed_tuple(np.zeros(ndim, np.int64), ndim), value.dtype))
        return ragged
    return lambda n, value: np.full(max(n, 0), value)


def _is_ragged(tape: Any) -> bool:
    return isinstance(tape, types.BaseTuple)


@overload(push, jit_options=CACHED)
def _push(tape, i, value):
    if _is_ragged(tape):
        ndim = tape[3].ndim
        contiguous = _is_array(value) and value.layout == "C"

        def ragged(tape, i, value):
            data, bounds, shapes, witness = tape
            if i + 1 >= len(bounds):
                data, bounds, shapes, witness = grow_tape(tape)
            start = bounds[i]
            end = start + value.size
            if end > len(data):
                bigger = np.empty(max(end, 2 * len(data)), data.dtype)
                for k in range(start):  # (element by element: a slice assignment compiles
                    bigger[k] = data[k]  # Numba's shape-error formatting, seconds per rank)
                data = bigger
            if contiguous:
                flat = value.reshape(value.size)
                for k in range(value.size):
                    data[start + k] = flat[k]
            else:  # C order whatever the layout (Numba's nditer walks an F array in
                k = start  # memory order: a transposed view would be taped transposed)
                for element in value.flat:
                    data[k] = element
                    k += 1
            bounds[i + 1] = end
            for a in range(ndim):
                shapes[i, a] = value.shape[a]
            return data, bounds, shapes, witness
        return ragged

    def scalar(tape, i, value):
        tape[i] = value
        return tape
    return scalar


@overload(tape_row, jit_options=CACHED)
def _tape_row(tape, i):
    if _is_ragged(tape):
        ndim = tape[3].ndim

        def ragged(tape, i):
            data, bounds, shapes, _ = tape
            return data[bounds[i]:bounds[i + 1]].reshape(to_fixed_tuple(shapes[i], ndim))
        return ragged
    return lambda tape, i: tape[i]


@overload(tape_next, jit_options=CACHED)
def _tape_next(tape, i, last):
    def impl(tape, i, last):
        if i < tape_len(tape):
            return tape_row(tape, i)
        return last
    return impl


@overload(tape_len, jit_options=CACHED)
def _tape_len(tape):
    if _is_ragged(tape):
        return lambda tape: len(tape[2])
    return lambda tape: len(tape)


@overload(tape_nbytes, jit_options=CACHED)
def _tape_nbytes(tape):
    if _is_ragged(tape):
        return lambda tape: tape[0].nbytes + tape[1].nbytes + tape[2].nbytes
    return lambda tape: tape.nbytes


@njit(cache=True)
def _grow_ragged(data, bounds, shapes, witness):
    """A ragged tape with room for twice as many entries (its data grows as entries come)."""
    n = max(2 * len(shapes), 16)
    more_bounds = np.zeros(n + 1, np.int64)
    for k in range(len(bounds)):
        more_bounds[k] = bounds[k]
    more_shapes = np.zeros((n, shapes.shape[1]), np.int64)
    for k in range(shapes.shape[0]):
        for a in range(shapes.shape[1]):
            more_shapes[k, a] = shapes[k, a]
    return data, more_bounds, more_shapes, witness


@overload(grow_tape, jit_options=CACHED)
def _grow_tape(tape):
    if _is_ragged(tape):
        return lambda tape: _grow_ragged(tape[0], tape[1], tape[2], tape[3])

    def grow(tape):
        bigger = np.empty((max(2 * len(tape), 16),) + tape.shape[1:], tape.dtype)
        source = np.ascontiguousarray(tape).reshape(tape.size)
        target = bigger.reshape(bigger.size)
        for k in range(tape.size):
            target[k] = source[k]
        return bigger
    return grow


@njit(cache=True)
def _spread(g, x, mask, weights):
    """The adjoint ``g`` of a reduction over the axes of ``mask`` spread over ``x``'s shape,
    times ``weights`` (an array like ``x``, or a number)."""
    where, kept = _reduction_map(x, mask)
    flat = _flat(g)
    if flat.shape[0] != _size(kept):
        raise ValueError("the adjoint of a reduction does not have the reduction's shape")
    out = np.empty(where.shape[0])
    for k in range(where.shape[0]):
        out[k] = flat[where[k]]
    return _weighted(out, weights).reshape(x.shape)


def _weighted(out, weights):
    """``out`` (flat, new) times ``weights`` (None, a number, or an array of ``out``'s size)."""


@overload(_weighted, jit_options=CACHED)
def _weighted_impl(out, weights):
    if _is_none(weights):
        return lambda out, weights: out
    if not _is_array(weights):
        def scaled(out, weights):
            for k in range(out.shape[0]):
                out[k] *= weights
            return out
        return scaled

    def times(out, weights):
        flat = _flat(weights)
        if flat.shape[0] != out.shape[0]:
            raise ValueError("the weights of an adjoint do not have its shape")
        for k in range(out.shape[0]):
            out[k] *= flat[k]
        return out
    return times


@overload(reduce_adjoint, jit_options=CACHED)
def _reduce_adjoint(g, x, axis, weights=None):
    plain = _is_none(weights)
    if not _is_array(x) or x.ndim == 0:  # a number (a 0-d array is used as one)
        if _is_array(g):
            if plain:
                return lambda g, x, axis, weights=None: g.sum()
            return lambda g, x, axis, weights=None: g.sum() * weights
        if plain:
            return lambda g, x, axis, weights=None: g
        return lambda g, x, axis, weights=None: g * weights
    if not _is_array(g) or g.ndim == 0:  # every element took part in one reduction
        if plain and not _is_array(g):
            return lambda g, x, axis, weights=None: np.full(x.shape, g)

        def whole(g, x, axis, weights=None):
            return _weighted(np.full(x.size, g + 0.0), weights).reshape(x.shape)
        return whole
    mask_of = _mask_of(axis)
    return lambda g, x, axis, weights=None: _spread(g, x, mask_of(axis, x.ndim), weights)


@overload(reduced_size, jit_options=CACHED)
def _reduced_size(x, axis):
    if not _is_array(x) or x.ndim == 0:
        return lambda x, axis: 1
    if _is_none(axis):
        return lambda x, axis: x.size
    mask_of = _mask_of(axis)
    return lambda x, axis: x.size // _size(_kept(x, mask_of(axis, x.ndim)))


@overload(untranspose)
def _untranspose(g, axes):
    if not _is_array(g) or not isinstance(axes, types.BaseTuple) or len(axes) != g.ndim:
        return None
    rank = g.ndim
    lines = ["def inverse(g, axes):", f"    order = np.empty({rank}, np.int64)"]
    lines += [f"    order[_axis_index(axes[{k}], {rank})] = {k}" for k in range(rank)]
    # the array method: Numba's np.transpose checks its axes with code that compiles slowly
    lines.append(f"    return g.transpose(to_fixed_tuple(order, {rank}))")
    scope: dict = {"np": np, "_axis_index": _axis_index, "to_fixed_tuple": to_fixed_tuple}
    exec("\n".join(lines), scope)
    return scope["inverse"]


@overload(np.squeeze, jit_options=CACHED)
def _squeeze(a, axis=None):
    """``np.squeeze`` with its axes given (Numba has none; without them the rank of the result
    would depend on the values of the shape)."""
    removed = None if _is_none(axis) or not _is_array(a) else _reduced_axes(axis, a.ndim)
    if removed is None:
        return None
    rank = a.ndim - removed
    mask_of = _mask_of(axis)

    def squeeze(a, axis=None):
        mask = mask_of(axis, a.ndim)
        dims = _dims(a.shape)
        for d in range(a.ndim):
            if mask[d] and dims[d] != 1:
                raise ValueError("cannot select an axis to squeeze out which has size not "
                                 "equal to one")
        if rank == 0:
            return _flat(a)[0]
        return reshape(a, to_fixed_tuple(_removed(dims, mask), rank))
    return squeeze


# -- products of matrices: 1-D and 2-D operands by BLAS, stacks (3-D and more) matrix by matrix

def _mixed_dtypes(a: Any, b: Any) -> bool:
    """Two arrays of different element types (an int64 data array against float64)."""
    return _is_array(a) and _is_array(b) and a.dtype != b.dtype


def _scalar(t: Any) -> bool:
    """A number or an array of rank 0: ``np.dot`` with it is a product."""
    return isinstance(t, (types.Number, types.Boolean)) or (_is_array(t) and t.ndim == 0)


@overload(np.dot, jit_options=CACHED)
def _dot_mixed(a, b):
    """``np.dot`` with a number or a rank-0 operand (NumPy's product, which Numba's does not
    take) and of arrays of different dtypes, as NumPy does it (in float64); Numba's own takes
    one dtype only and arrays of rank 1 and 2."""
    if _scalar(a) or _scalar(b):
        return lambda a, b: a * b
    if _mixed_dtypes(a, b):
        return lambda a, b: np.dot(a.astype(np.float64), b.astype(np.float64))
    return None


@overload(operator.matmul, jit_options=CACHED)
def _matmul_mixed(a, b):
    """``a @ b`` of arrays of different dtypes, in float64 (then Numba's own, or the kernel
    below for stacks of matrices)."""
    if _mixed_dtypes(a, b):
        return lambda a, b: a.astype(np.float64) @ b.astype(np.float64)
    return None


@overload(matmul_left, jit_options=CACHED)
def _matmul_left(g, a, b):
    if _scalar(a):  # np.dot(a, b) = a * b
        return lambda g, a, b: np.sum(g * b)
    if _scalar(b):
        return lambda g, a, b: g * b
    if _mixed_dtypes(a, b):  # an integer operand: its products are taken in float64
        return lambda g, a, b: matmul_left(g, as_float(a), as_float(b))
    if _is_array(a) and _is_array(b) and max(a.ndim, b.ndim) > 2:
        return _stacked_adjoint(left=True)
    if _is_array(b) and b.ndim == 1:
        if _is_array(a) and a.ndim == 2:
            return lambda g, a, b: np.outer(g, b)
        return lambda g, a, b: g * b
    if _is_array(b) and b.layout in "CF":  # BLAS takes the transpose as it is
        return lambda g, a, b: np.dot(g, b.T)
    return lambda g, a, b: np.dot(g, np.ascontiguousarray(b.T))


@overload(matmul_right, jit_options=CACHED)
def _matmul_right(g, a, b):
    if _scalar(b):
        return lambda g, a, b: np.sum(g * a)
    if _scalar(a):
        return lambda g, a, b: g * a
    if _mixed_dtypes(a, b):
        return lambda g, a, b: matmul_right(g, as_float(a), as_float(b))
    if _is_array(a) and _is_array(b) and max(a.ndim, b.ndim) > 2:
        return _stacked_adjoint(left=False)
    if _is_array(a) and a.ndim == 1:
        if _is_array(b) and b.ndim == 2:
            return lambda g, a, b: np.outer(a, g)
        return lambda g, a, b: g * a
    if _is_array(a) and a.layout in "CF":
        return lambda g, a, b: np.dot(a.T, g)
    return lambda g, a, b: np.dot(np.ascontiguousarray(a.T), g)


@njit(cache=True)
def _as_matrices(dims, left):
    """The shape of an operand of ``@`` as a stack of matrices: a vector is one row (on the
    left) or one column (on the right)."""
    if dims.shape[0] != 1:
        return dims
    out = np.ones(2, np.int64)
    out[1 if left else 0] = dims[0]
    return out


@njit(cache=True)
def _stack_plan(a, b):
    """``a`` and ``b`` as 3-D stacks of matrices, the broadcast shape of the stacks, and for
    each matrix of the result the matrix of ``a`` and of ``b`` it is the product of."""
    ad = _as_matrices(_dims(a.shape), True)
    bd = _as_matrices(_dims(b.shape), False)
    r = max(ad.shape[0], bd.shape[0]) - 2
    pa, pb = _padded(ad[:ad.shape[0] - 2], r), _padded(bd[:bd.shape[0] - 2], r)
    batch = np.empty(r, np.int64)
    for d in range(r):
        if pa[d] == pb[d] or pb[d] == 1:
            batch[d] = pa[d]
        elif pa[d] == 1:
            batch[d] = pb[d]
        else:
            raise ValueError("matmul: the stacks of matrices do not broadcast together")
    if ad[-1] != bd[-2]:
        raise ValueError("matmul: the operands' inner dimensions differ")
    stack_a = _flat(a).reshape((_size(pa), ad[-2], ad[-1]))
    stack_b = _flat(b).reshape((_size(pb), bd[-2], bd[-1]))
    return stack_a, stack_b, batch, _broadcast_map(batch, pa), _broadcast_map(batch, pb)


@overload(operator.matmul, jit_options=CACHED)
def _matmul_stacks(a, b):
    """``a @ b`` where an operand is a stack of matrices (3-D or more), which Numba's ``@``
    does not take: the product of each pair of matrices, stacks broadcast as in NumPy."""
    if not (_is_array(a) and _is_array(b) and max(a.ndim, b.ndim) > 2
            and min(a.ndim, b.ndim) > 0 and a.dtype == b.dtype
            and isinstance(a.dtype, (types.Float, types.Complex))):
        return None
    rank = max(a.ndim, b.ndim) - (a.ndim == 1) - (b.ndim == 1)
    rows, columns = a.ndim > 1, b.ndim > 1

    def stacked(a, b):
        stack_a, stack_b, batch, ia, ib = _stack_plan(a, b)
        out = np.empty((ia.shape[0], stack_a.shape[1], stack_b.shape[2]), stack_a.dtype)
        for i in range(ia.shape[0]):
            np.dot(stack_a[ia[i]], stack_b[ib[i]], out[i])
        shape = np.empty(rank, np.int64)
        for d in range(batch.shape[0]):
            shape[d] = batch[d]
        if rows:
            shape[batch.shape[0]] = stack_a.shape[1]
        if columns:
            shape[rank - 1] = stack_b.shape[2]
        return out.reshape(to_fixed_tuple(shape, rank))
    return stacked


def _stacked_adjoint(left: bool):
    """The adjoint of ``a`` (``left``) or ``b`` in ``a @ b`` for stacks of matrices:
    ``g @ b.T`` or ``a.T @ g`` per matrix, summed over the stacks an operand was broadcast
    along."""
    if left:
        def of_a(g, a, b):
            stack_a, stack_b, _, ia, ib = _stack_plan(a, b)
            grads = _flat(g).reshape((ia.shape[0], stack_a.shape[1], stack_b.shape[2]))
            out = np.zeros(stack_a.shape)
            for i in range(ia.shape[0]):
                out[ia[i]] += np.dot(grads[i], stack_b[ib[i]].T)
            return out.reshape(a.shape)
        return of_a

    def of_b(g, a, b):
        stack_a, stack_b, _, ia, ib = _stack_plan(a, b)
        grads = _flat(g).reshape((ia.shape[0], stack_a.shape[1], stack_b.shape[2]))
        out = np.zeros(stack_b.shape)
        for i in range(ia.shape[0]):
            out[ib[i]] += np.dot(stack_a[ia[i]].T, grads[i])
        return out.reshape(b.shape)
    return of_b

