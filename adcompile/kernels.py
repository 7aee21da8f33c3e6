"""Shape-generic helpers that generated gradients call where a value may be a scalar or an array.

adcompile writes gradient code before it knows the argument types, so a few operations whose
form depends on shapes are functions here: summing an adjoint over broadcast axes, a zero of
the right shape, a tape for scalars or arrays.  Each is plain NumPy for Python and has a Numba
implementation per type (``numba.extending.overload``), so in compiled code the choice is made
at compile time and costs nothing: for scalars ``unbroadcast(g, x)`` is just ``g``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload

#: generated modules import these by name (see codegen)
__all__ = ["add_at", "as_float", "fresh_copy", "grow_tape", "log_or_zero", "matmul_left",
           "matmul_right", "max_along", "mean_along", "min_along", "new_tape", "pow_dx", "power",
           "prod_along", "prod_others", "push", "ratio_or_zero", "reduce_adjoint", "reshape",
           "snapshot", "stored_adjoint", "ties", "split_along", "unbroadcast", "zeros_like"]


def unbroadcast(g: Any, x: Any) -> Any:
    """``g`` summed down to the shape of ``x``: the adjoint of an input that was broadcast."""
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
    ``x`` for ``axis=None``): the derivative of ``prod``, right also where ``x`` holds zeros
    (no division)."""
    x = np.asarray(x, dtype=float)
    moved = x.reshape(-1, 1) if axis is None else np.moveaxis(x, axis, 0)
    before = np.cumprod(np.concatenate([np.ones((1, *moved.shape[1:])), moved[:-1]]), axis=0)
    after = np.cumprod(np.concatenate([np.ones((1, *moved.shape[1:])), moved[:0:-1]]),
                       axis=0)[::-1]
    out = before * after
    return out.reshape(x.shape) if axis is None else np.moveaxis(out, 0, axis)


def stored_adjoint(g: Any, y: np.ndarray) -> Any:
    """The adjoint of a value stored into ``y``, from ``g`` (the adjoint of the elements it
    went into): a new array (or a float), and zero when ``y`` holds integers or bools, since
    a store into such an array truncates (a piecewise-constant step)."""
    if y.dtype.kind not in "fc":
        return np.zeros(np.shape(g)) if np.ndim(g) else 0.0
    return np.array(g, dtype=float) if np.ndim(g) else float(g)


def ties(x: Any, ans: Any, axis: Any) -> Any:
    """Each element's share of a maximum or minimum ``ans`` of ``x`` (over ``axis``; None:
    all): ``1/k`` for each of the ``k`` elements equal to it, ``0`` elsewhere.  Elements that
    are the same value (``np.min(u[idx])`` with a repeated index) share its derivative."""
    x = np.asarray(x, dtype=float)
    if axis is None:
        mask = (x == ans).astype(float)
        return mask / mask.sum()
    mask = (x == np.expand_dims(ans, axis)).astype(float)
    return mask / mask.sum(axis=axis, keepdims=True)


def ratio_or_zero(a: Any, b: Any) -> Any:
    """``a / b``, and ``0`` where ``b == 0`` (``hypot`` at the origin: the subgradient 0)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return 0.0 if b == 0 else a / b


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


def new_tape(n: int, value: Any) -> np.ndarray:
    """Room for ``n`` copies of ``value`` (a scalar or an array), of its type; none when
    ``n < 0`` (``range(n)`` then runs no iteration)."""
    value = np.asarray(value)
    return np.empty((max(n, 0), *value.shape), dtype=value.dtype)


def push(tape: np.ndarray, i: int, value: Any) -> np.ndarray:
    """``tape[i] = value``, refusing a value whose shape is not the tape's row shape (a loop
    value that changes shape between iterations would otherwise be broadcast); returns the
    tape."""
    if np.shape(value) != tape.shape[1:]:
        raise ValueError("a value taped in a loop changed shape from one iteration to the "
                         f"next: {np.shape(value)} after {tape.shape[1:]}")
    tape[i] = value
    return tape


def grow_tape(tape: np.ndarray) -> np.ndarray:
    """The tape with twice the room, its contents kept (for loops of unknown trip count)."""
    bigger = np.empty((max(2 * len(tape), 16), *tape.shape[1:]), dtype=tape.dtype)
    bigger[: len(tape)] = tape
    return bigger


def reduce_adjoint(g: Any, x: Any, axis: Any) -> Any:
    """The adjoint ``g`` of a reduction of ``x`` over ``axis`` (None: all), spread back over
    the shape of ``x``."""
    if axis is None:
        return np.full(np.shape(x), g)
    return np.broadcast_to(np.expand_dims(g, axis), np.shape(x)).copy()


def matmul_left(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``a`` in ``a @ b`` (and ``np.dot(a, b)``), for 1-D and 2-D operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if b_nd == 1:
        return np.outer(g, b) if a_nd == 2 else g * b
    return np.dot(g, np.transpose(b))


def matmul_right(g: Any, a: Any, b: Any) -> Any:
    """The adjoint of ``b`` in ``a @ b`` (and ``np.dot(a, b)``), for 1-D and 2-D operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 1:
        return np.outer(a, g) if b_nd == 2 else g * a
    return np.dot(np.transpose(a), g)


def mean_along(x: Any, axis: int) -> Any:
    """``np.mean(x, axis)`` (Numba's ``np.mean`` takes no axis)."""
    return np.mean(x, axis=axis)


def max_along(x: Any, axis: int) -> Any:
    """``np.max(x, axis)`` (Numba's ``np.max`` takes no axis)."""
    return np.max(x, axis=axis)


def min_along(x: Any, axis: int) -> Any:
    """``np.min(x, axis)`` (Numba's ``np.min`` takes no axis)."""
    return np.min(x, axis=axis)


def prod_along(x: Any, axis: int) -> Any:
    """``np.prod(x, axis)`` (Numba's ``np.prod`` takes no axis)."""
    return np.prod(x, axis=axis)


# -- Numba implementations, chosen by type at compile time -------------------------------------

def _is_array(t: Any) -> bool:
    return isinstance(t, types.Array)


@njit
def _fit_vector(g, n):
    """A 1-D adjoint ``g`` for a vector of length ``n``: itself, or its total for length 1."""
    if g.shape[0] == n:
        return g
    out = np.empty(1)
    out[0] = g.sum()
    return out


@overload(unbroadcast)
def _unbroadcast(g, x):
    if not _is_array(x):
        if _is_array(g):
            return lambda g, x: g.sum()
        return lambda g, x: g
    if not _is_array(g):
        return lambda g, x: np.full(x.shape, g)
    if g.ndim == x.ndim == 1:
        return lambda g, x: _fit_vector(g, x.shape[0])
    if g.ndim == 2 and x.ndim == 1:
        return lambda g, x: _fit_vector(g.sum(axis=0), x.shape[0])
    if g.ndim == x.ndim == 2:
        def same_rank_2(g, x):
            if g.shape[0] == x.shape[0] and g.shape[1] == x.shape[1]:
                return np.ascontiguousarray(g)
            out = np.zeros(x.shape)
            for i in range(g.shape[0]):
                for j in range(g.shape[1]):
                    out[i if x.shape[0] > 1 else 0, j if x.shape[1] > 1 else 0] += g[i, j]
            return out
        return same_rank_2
    return None


def _is_int(t: Any) -> bool:
    return isinstance(t, (types.Integer, types.Boolean))


@overload(power)
def _power(x, y):
    if _is_array(x) or _is_array(y):
        return lambda x, y: np.power(as_float(x), y)
    if _is_int(x) and _is_int(y):
        return lambda x, y: float(x) ** float(y)
    if _is_int(y):  # a float to an integer power: C's pow gives inf at 0 ** -1
        return lambda x, y: x ** float(y)
    return lambda x, y: x ** y


@overload(pow_dx)
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


@overload(log_or_zero)
def _log_or_zero(x):
    if _is_array(x):
        return lambda x: np.log(np.where(x == 0, 1.0, x))
    return lambda x: 0.0 if x == 0 else np.log(x)


@overload(as_float)
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


@overload(_extent)
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


@njit
def _others_flat(x, out):
    """``out[i]`` = the product of ``x[j]`` for ``j != i`` (1-D, by prefix and suffix)."""
    n = x.shape[0]
    acc = 1.0
    for i in range(n):
        out[i] = acc
        acc *= x[i]
    acc = 1.0
    for i in range(n - 1, -1, -1):
        out[i] *= acc
        acc *= x[i]


@overload(prod_others)
def _prod_others(x, axis):
    if not _is_array(x):
        return lambda x, axis: 1.0
    if isinstance(axis, (types.NoneType, types.Omitted)) or axis is None:
        def flat(x, axis):
            out = np.empty(x.size)
            _others_flat(np.ascontiguousarray(x).ravel().astype(np.float64), out)
            return out.reshape(x.shape)
        return flat
    if x.ndim == 1:
        def vector(x, axis):
            out = np.empty(x.shape[0])
            _others_flat(x.astype(np.float64), out)
            return out
        return vector
    if x.ndim == 2:
        def matrix(x, axis):
            out = np.empty(x.shape)
            if axis == 0 or axis == -2:
                for j in range(x.shape[1]):
                    column = np.empty(x.shape[0])
                    _others_flat(x[:, j].astype(np.float64), column)
                    out[:, j] = column
            else:
                for i in range(x.shape[0]):
                    row = np.empty(x.shape[1])
                    _others_flat(x[i].astype(np.float64), row)
                    out[i] = row
            return out
        return matrix
    return None


@overload(stored_adjoint)
def _stored_adjoint(g, y):
    exact = isinstance(y.dtype, (types.Integer, types.Boolean))
    if _is_array(g):
        if exact:
            return lambda g, y: np.zeros(g.shape)
        return lambda g, y: g.copy()
    if exact:
        return lambda g, y: 0.0
    return lambda g, y: g


@overload(ties)
def _ties(x, ans, axis):
    if not _is_array(x):
        return lambda x, ans, axis: 1.0
    if isinstance(axis, (types.NoneType, types.Omitted)) or axis is None:
        def whole(x, ans, axis):
            mask = (x == ans) * 1.0
            return mask / mask.sum()
        return whole
    if x.ndim == 1:
        def vector(x, ans, axis):
            mask = (x == ans) * 1.0
            return mask / mask.sum()
        return vector
    if x.ndim == 2:
        def matrix(x, ans, axis):
            out = np.zeros(x.shape)
            along_rows = axis == 0 or axis == -2
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    if x[i, j] == (ans[j] if along_rows else ans[i]):
                        out[i, j] = 1.0
            count = out.sum(axis=0) if along_rows else out.sum(axis=1)
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    out[i, j] /= count[j] if along_rows else count[i]
            return out
        return matrix
    return None


@overload(ratio_or_zero)
def _ratio_or_zero(a, b):
    if _is_array(a) or _is_array(b):
        return lambda a, b: np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))
    return lambda a, b: 0.0 if b == 0 else a / b


def _is_index_array(t: Any) -> bool:
    return _is_array(t) and t.ndim == 1 and isinstance(t.dtype, types.Integer)


@overload(add_at)
def _add_at(d, index, value):
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
        if isinstance(index, types.BaseTuple) and len(index) == 2 and _is_array(value):
            first, second = index
            if _is_index_array(first) and not _is_array(second):
                def rows(d, index, value):  # d[idx, j] or d[idx, a:b]
                    idx, other = index
                    for k in range(idx.shape[0]):
                        d[idx[k], other] += value[k]
                    return d
                return rows
            if _is_index_array(second) and not _is_array(first):
                def columns(d, index, value):  # d[i, idx] or d[a:b, idx]
                    other, idx = index
                    for k in range(idx.shape[0]):
                        d[other, idx[k]] += value[..., k]
                    return d
                return columns
        return None  # several index arrays: not supported (refused at compile time)

    def plain(d, index, value):
        d[index] += value
        return d
    return plain


@overload(snapshot)
@overload(fresh_copy)
def _fresh_copy(x):
    if _is_array(x):
        return lambda x: x.copy()
    return lambda x: x


@overload(reshape)
def _reshape(x, shape):
    if _is_array(x) and x.layout == "C":
        return lambda x, shape: np.reshape(x, shape)
    if _is_array(x):
        return lambda x, shape: np.reshape(np.ascontiguousarray(x), shape)
    return None


@overload(zeros_like)
def _zeros_like(x):
    if _is_array(x):
        return lambda x: np.zeros(x.shape)
    return lambda x: 0.0


@overload(new_tape)
def _new_tape(n, value):
    if _is_array(value):
        return lambda n, value: np.empty((max(n, 0),) + value.shape, value.dtype)
    return lambda n, value: np.full(max(n, 0), value)


@overload(push)
def _push(tape, i, value):
    if _is_array(value):
        def checked(tape, i, value):
            if value.shape != tape.shape[1:]:
                raise ValueError("a value taped in a loop changed shape from one iteration "
                                 "to the next")
            tape[i] = value
            return tape
        return checked

    def scalar(tape, i, value):
        tape[i] = value
        return tape
    return scalar


@overload(grow_tape)
def _grow_tape(tape):
    def grow(tape):
        bigger = np.empty((max(2 * len(tape), 16),) + tape.shape[1:], tape.dtype)
        bigger[: len(tape)] = tape
        return bigger
    return grow


@overload(reduce_adjoint)
def _reduce_adjoint(g, x, axis):
    if isinstance(axis, (types.NoneType, types.Omitted)) or axis is None:
        if _is_array(x):
            return lambda g, x, axis: np.full(x.shape, g)
        return lambda g, x, axis: g
    if _is_array(x) and x.ndim == 2:
        def along(g, x, axis):
            out = np.empty(x.shape)
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    out[i, j] = g[j] if axis == 0 else g[i]
            return out
        return along
    if _is_array(x) and x.ndim == 1:
        return lambda g, x, axis: np.full(x.shape, g)
    return None


@overload(matmul_left)
def _matmul_left(g, a, b):
    if _is_array(b) and b.ndim == 1:
        if _is_array(a) and a.ndim == 2:
            return lambda g, a, b: np.outer(g, b)
        return lambda g, a, b: g * b
    if _is_array(b) and b.layout in "CF":  # BLAS takes the transpose as it is
        return lambda g, a, b: np.dot(g, b.T)
    return lambda g, a, b: np.dot(g, np.ascontiguousarray(b.T))


@overload(matmul_right)
def _matmul_right(g, a, b):
    if _is_array(a) and a.ndim == 1:
        if _is_array(b) and b.ndim == 2:
            return lambda g, a, b: np.outer(a, g)
        return lambda g, a, b: g * a
    if _is_array(a) and a.layout in "CF":
        return lambda g, a, b: np.dot(a.T, g)
    return lambda g, a, b: np.dot(np.ascontiguousarray(a.T), g)


def _along(reduce):
    """A Numba implementation of ``reduce`` over axis 0 or 1 of a 2-D array (or a 1-D one)."""
    def typer(x, axis):
        if not _is_array(x):
            return None
        if x.ndim == 1:
            return lambda x, axis: reduce(x)
        if x.ndim != 2:
            return None

        def impl(x, axis):
            if axis == 0 or axis == -2:
                out = np.empty(x.shape[1])
                for j in range(x.shape[1]):
                    out[j] = reduce(x[:, j])
            else:
                out = np.empty(x.shape[0])
                for i in range(x.shape[0]):
                    out[i] = reduce(x[i])
            return out
        return impl
    return typer


overload(mean_along)(_along(np.mean))
overload(max_along)(_along(np.max))
overload(min_along)(_along(np.min))
overload(prod_along)(_along(np.prod))
