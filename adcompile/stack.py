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
from numba import types
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

__all__ = ["bool_tape", "element_tape", "float_tape", "int_tape", "push_shape", "reserve",
           "restore_shape", "shape_tape"]


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


@overload(shape_tape)
def _shape_tape(n, x):
    ndim = x.ndim if isinstance(x, types.Array) else 0
    return lambda n, x: np.empty((max(n, 0), ndim), np.int64)


@overload(push_shape)
def _push_shape(tape, i, x):
    if not isinstance(x, types.Array):
        return lambda tape, i, x: tape

    def impl(tape, i, x):
        for k in range(x.ndim):
            tape[i, k] = x.shape[k]
        return tape
    return impl


@overload(restore_shape)
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


@overload(float_tape)
def _float_tape(n):
    return lambda n: np.empty(max(n, 0), np.float64)


@overload(int_tape)
def _int_tape(n):
    return lambda n: np.empty(max(n, 0), np.int64)


@overload(bool_tape)
def _bool_tape(n):
    return lambda n: np.empty(max(n, 0), np.bool_)


@overload(element_tape)
def _element_tape(array, n):
    return lambda array, n: np.empty(max(n, 0), array.dtype)


@overload(reserve)
def _reserve(tape, n, hint=0):
    def impl(tape, n, hint=0):
        if n <= len(tape):
            return tape
        bigger = np.empty(max(n, 2 * len(tape), min(hint, HINT_CAP)), tape.dtype)
        for k in range(len(tape)):
            bigger[k] = tape[k]
        return bigger
    return impl
