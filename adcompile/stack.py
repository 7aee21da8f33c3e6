"""Tapes of numbers with a type known before the loop that fills them.

A tape made inside a loop (``if k == 0: tape = new_tape(n, value)``, ``if k == len(tape):
tape = grow_tape(tape)``) is a variable the loop may reassign, and Numba then reloads it on
every iteration: an inner loop of a few flops runs many times slower.  A tape of numbers
whose kind (float, int or bool) the analysis knows is instead made before the loops
(``float_tape(n)``) and grown once before each execution of a ``for`` loop, to hold that
execution (``reserve(tape, n)``); inside the loop it is only written and read.

Like :mod:`adcompile.kernels`, each function is plain NumPy for Python and compiled by Numba
in generated code (here they need no specialisation by type).
"""

from __future__ import annotations

import numpy as np
from numba import literal_unroll, types
from numba.extending import overload, register_jitable
from numba.np.unsafe.ndarray import to_fixed_tuple

from .kernel_cache import CACHED

__all__ = ["adjoint_pool", "array_pool", "bool_tape", "element_tape", "float_tape", "int_tape",
           "pooled_empty", "pooled_zeros", "push_shape", "recycled", "reserve", "restore_shape",
           "shape_tape"]


def float_tape(n: int) -> np.ndarray:
    """Room for ``n`` floats."""
    return np.empty(max(n, 0), np.float64)


def int_tape(n: int) -> np.ndarray:
    """Room for ``n`` integers."""
    return np.empty(max(n, 0), np.int64)


def bool_tape(n: int) -> np.ndarray:
    """Room for ``n`` truth values."""
    return np.empty(max(n, 0), np.bool_)


def element_tape(array: np.ndarray, n: int) -> np.ndarray:
    """Room for ``n`` elements of ``array`` (its dtype)."""
    return np.empty(max(n, 0), np.asarray(array).dtype)


#: the most entries ``reserve`` makes room for on a hint alone (past it, the tape doubles)
HINT_CAP = 1 << 26


def reserve(tape: np.ndarray, n: int, hint: int = 0) -> np.ndarray:
    """``tape``, or a copy of it with room for at least ``n`` entries (twice its length, at
    least, and ``hint`` when that is more, up to ``HINT_CAP``), its contents kept."""
    if n <= len(tape):
        return tape
    bigger = np.empty(max(n, 2 * len(tape), min(hint, HINT_CAP)), tape.dtype)
    bigger[: len(tape)] = tape
    return bigger


def shape_tape(n: int, x: np.ndarray) -> np.ndarray:
    """Room for ``n`` shapes of arrays like ``x``: an array read by a loop's reversal only
    for its shape (``zeros_like(u)``) is taped as its shape, not its values."""
    return np.empty((max(n, 0), np.ndim(x)), np.int64)


def push_shape(tape: np.ndarray, i: int, x: np.ndarray) -> np.ndarray:
    """``tape[i] = x.shape``; returns the tape."""
    tape[i] = np.shape(x)
    return tape


def restore_shape(witness: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """An array of the shape ``shape`` and ``witness``'s dtype, for what only its shape is
    read: ``witness`` itself when it has that shape (no allocation), else a new one whose
    values are never read."""
    if np.shape(witness) == tuple(shape):
        return witness
    return np.empty(tuple(shape), np.asarray(witness).dtype)


def adjoint_pool(adjoint: object) -> tuple[np.ndarray, np.ndarray]:
    """The pool of :func:`recycled` before a loop's reversal: two empty buffers of the rank of
    ``adjoint`` (the adjoint the reversal zeros once per iteration)."""
    empty = np.empty((0,) * max(np.ndim(adjoint), 1))
    return empty, empty


def recycled(pool: tuple[np.ndarray, np.ndarray], like: object, live: tuple
             ) -> tuple[object, tuple[np.ndarray, np.ndarray]]:
    """``zeros_like(like)`` in memory used again, and the pool to pass next time.

    A loop's reversal that starts the adjoint of an array afresh each iteration (``u = v``
    with ``v = np.zeros(n)`` made each step) would allocate one array per iteration.  The
    pool holds the two arrays this call handed out last (the older first): the older one is
    zeroed and handed out again when it has the shape and no array of ``live`` (every array
    adjoint the reversal still reads, nested in tuples or not) shares memory with it; else a
    new array is.  The one from the iteration before stays out of reach: the adjoints of
    that iteration's values may still hold it.  Only arrays this call made are ever reused,
    never an array the caller passed in."""
    if np.ndim(like) == 0:
        return 0.0, pool
    older, last = pool
    shape = np.shape(like)
    if older.shape == shape and not any(np.may_share_memory(older, a)
                                        for a in _arrays_in(live)):
        older[...] = 0.0
        return older, (last, older)
    fresh = np.zeros(shape)
    return fresh, (last, fresh)


def array_pool(empty_shape: tuple) -> tuple[np.ndarray, np.ndarray]:
    """The pool of :func:`pooled_zeros` before a loop's forward sweep: two empty float
    arrays of the rank of ``empty_shape`` (``(0,)``, ``(0, 0)``...)."""
    empty = np.empty(empty_shape)
    return empty, empty


def pooled_zeros(pool: tuple[np.ndarray, np.ndarray], shape: object
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``np.zeros(shape)`` in memory used again, and the pool to pass next time.

    A gradient's forward sweep of a loop that makes a fresh array each iteration
    (``v = np.zeros(n)``, ``u = v``) tapes what its reversal reads, so the array made two
    iterations ago is garbage once nothing holds it; the code generator uses this only where
    it proved that (``reverse.pool_fresh_arrays``).  The pool holds the two arrays handed
    out last (the older first): the older one is zeroed and handed out again when it has
    the shape, else a new one is made."""
    return _pooled(pool, shape, True)


def pooled_empty(pool: tuple[np.ndarray, np.ndarray], shape: object
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """``np.empty(shape)`` in memory used again (see :func:`pooled_zeros`)."""
    return _pooled(pool, shape, False)


def _as_shape(shape: object) -> tuple:
    """A shape as a tuple (``n`` is ``(n,)``)."""
    return shape if isinstance(shape, tuple) else (shape,)


def _pooled(pool: tuple[np.ndarray, np.ndarray], shape: object, zeroed: bool
            ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    older, last = pool
    if older.shape == _as_shape(shape):
        if zeroed:
            older[...] = 0.0
        return older, (last, older)
    fresh = np.zeros(shape) if zeroed else np.empty(shape)
    return fresh, (last, fresh)


def _arrays_in(value: object) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, tuple):
        return [a for v in value for a in _arrays_in(v)]
    return []


def _shares(buffer: np.ndarray, value: object) -> bool:
    """Whether ``value`` (an array, a tuple of values, or anything else: never) may share
    memory with the C-contiguous ``buffer`` (their byte ranges meet)."""
    return any(np.may_share_memory(buffer, a) for a in _arrays_in(value))


@register_jitable
def _extent(a):
    """The first and one past the last byte address an array's elements occupy."""
    low = a.ctypes.data
    high = low
    for k in range(a.ndim):
        step = a.strides[k] * (a.shape[k] - 1)
        if step < 0:
            low += step
        else:
            high += step
    return low, high + a.itemsize


@overload(_shares, jit_options=CACHED)
def _shares_impl(buffer, value):
    if isinstance(value, types.Array):
        def array(buffer, value):
            if buffer.size == 0 or value.size == 0:
                return False
            low, high = _extent(buffer)
            other_low, other_high = _extent(value)
            return low < other_high and other_low < high
        return array
    if isinstance(value, types.BaseTuple):
        if len(value) == 0:
            return lambda buffer, value: False

        def tuple_(buffer, value):
            for item in literal_unroll(value):
                if _shares(buffer, item):
                    return True
            return False
        return tuple_
    return lambda buffer, value: False


@overload(adjoint_pool, jit_options=CACHED)
def _adjoint_pool(adjoint):
    ndim = max(adjoint.ndim, 1) if isinstance(adjoint, types.Array) else 1

    def impl(adjoint):
        empty = np.empty(to_fixed_tuple(np.zeros(ndim, np.int64), ndim))
        return empty, empty
    return impl


@overload(recycled, inline="always")  # a call that returns arrays costs ~40 ns per iteration
def _recycled(pool, like, live):
    if not isinstance(like, types.Array) or like.ndim == 0:
        return lambda pool, like, live: (0.0, pool)
    if pool[0].ndim != like.ndim:
        return lambda pool, like, live: (np.zeros(like.shape), pool)

    def impl(pool, like, live):
        older, last = pool
        if older.shape == like.shape and not _shares(older, live):
            older[:] = 0.0
            return older, (last, older)
        fresh = np.zeros(like.shape)
        return fresh, (last, fresh)
    return impl


@overload(array_pool, jit_options=CACHED)
def _array_pool(empty_shape):
    def impl(empty_shape):
        empty = np.empty(empty_shape)
        return empty, empty
    return impl


def _pooled_overload(zeroed: bool):
    """The typer of ``pooled_zeros`` (``zeroed``) or ``pooled_empty``, inlined where it is
    called (a call that returns arrays costs ~40 ns per iteration); one level of inlining
    only, since each costs the caller's compile a typing pass."""
    def typer(pool, shape):
        one = isinstance(shape, types.Integer)

        def impl(pool, shape):
            older, last = pool
            if (older.shape[0] == shape) if one else (older.shape == shape):
                if zeroed:
                    older[:] = 0.0
                return older, (last, older)
            fresh = np.zeros(shape) if zeroed else np.empty(shape)
            return fresh, (last, fresh)
        return impl
    return typer


overload(pooled_zeros, inline="always")(_pooled_overload(True))
overload(pooled_empty, inline="always")(_pooled_overload(False))


@overload(shape_tape, jit_options=CACHED)
def _shape_tape(n, x):
    ndim = x.ndim if isinstance(x, types.Array) else 0
    return lambda n, x: np.empty((max(n, 0), ndim), np.int64)


@overload(push_shape, inline="always")
def _push_shape(tape, i, x):
    if not isinstance(x, types.Array):
        return lambda tape, i, x: tape

    def impl(tape, i, x):
        for k in range(x.ndim):
            tape[i, k] = x.shape[k]
        return tape
    return impl


@overload(restore_shape, inline="always")
def _restore_shape(witness, shape):
    if not isinstance(witness, types.Array):
        return lambda witness, shape: witness
    ndim = witness.ndim

    def impl(witness, shape):
        for k in range(ndim):
            if witness.shape[k] != shape[k]:
                return np.empty(to_fixed_tuple(shape, ndim), witness.dtype)
        return witness
    return impl


@overload(float_tape, jit_options=CACHED)
def _float_tape(n):
    return lambda n: np.empty(max(n, 0), np.float64)


@overload(int_tape, jit_options=CACHED)
def _int_tape(n):
    return lambda n: np.empty(max(n, 0), np.int64)


@overload(bool_tape, jit_options=CACHED)
def _bool_tape(n):
    return lambda n: np.empty(max(n, 0), np.bool_)


@overload(element_tape, jit_options=CACHED)
def _element_tape(array, n):
    return lambda array, n: np.empty(max(n, 0), array.dtype)


@overload(reserve, inline="always")
def _reserve(tape, n, hint=0):
    def impl(tape, n, hint=0):
        if n <= len(tape):
            return tape
        bigger = np.empty(max(n, 2 * len(tape), min(hint, HINT_CAP)), tape.dtype)
        for k in range(len(tape)):
            bigger[k] = tape[k]
        return bigger
    return impl
