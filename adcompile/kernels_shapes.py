"""Kernels of scans, differences and rearrangements of arrays, and of their adjoints.

Each function is plain NumPy for Python and has one Numba implementation for every rank
(``numba.extending.overload``), as in :mod:`adcompile.kernels`.  Two shapes of work cover them:

- *lanes*: an operation along one axis (``cumsum``, ``diff``, ``flip``, ``roll``, ``repeat``,
  ``take``, ``sort``) sees the array as ``(pre, n, post)``, the axis in the middle, and loops
  over the ``pre * post`` lanes; ``axis=None`` is one lane through the flat array;
- *index maps*: ``diagonal`` and ``tile`` compute, for each element of the result, the flat
  index (C order) of the element it takes; the forward gathers, the adjoint adds back;
  ``pad`` computes, for each element of its argument, where it goes in the result.

The loops are ``njit(cache=True)`` functions of 3-D arrays, compiled once per dtype and kept
on disk; the per-rank wrappers only reshape.  No kernel divides: ``cumprod``'s derivatives are
prefix products times suffix sums, exact at zeros.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from .kernel_cache import CACHED
from .kernels import _dims, _is_array

__all__ = ["astype_float", "astype_int", "clip", "cumprod", "cumprod_adjoint", "cumprod_tangent",
           "cumprod_tangent_adjoint", "cumprod_tangent2", "cumsum",
           "cumsum_adjoint", "diag_adjoint", "diagonal", "diagonal_adjoint", "diff",
           "diff_adjoint", "expand_dims", "flip", "gradient_adjoint", "gradient_along",
           "item", "last_written", "pad",
           "pad_adjoint", "repeat",
           "repeat_adjoint", "reshape_like", "roll", "sort", "sort_adjoint", "sort_tangent",
           "take", "take_adjoint", "tile", "tile_adjoint", "tri_mask", "masked", "mask_put"]


# -- the functions, as NumPy ------------------------------------------------------------------

def cumsum(x: Any, axis: Any = None) -> np.ndarray:
    """``np.cumsum(x, axis)`` (Numba's takes no axis)."""
    return np.cumsum(x, axis)


def cumsum_adjoint(g: Any, x: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``cumsum(x, axis)``: ``g`` summed from the end of each lane."""
    x = np.asarray(x)
    if axis is None:
        return np.flip(np.cumsum(np.flip(np.ravel(g)))).reshape(x.shape).astype(float)
    return np.flip(np.cumsum(np.flip(g, axis), axis), axis).astype(float)


def cumprod(x: Any, axis: Any = None) -> np.ndarray:
    """``np.cumprod(x, axis)``."""
    return np.cumprod(x, axis)


def cumprod_adjoint(g: Any, x: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``cumprod(x, axis)``: at ``i``, the product of the entries before ``i``
    times ``s_i = g_i + x_{i+1} s_{i+1}`` (no division, exact where ``x`` has zeros)."""
    x = np.asarray(x, dtype=float)
    lanes, back = _lanes(x, axis)
    g3 = np.asarray(g, dtype=float).reshape(lanes.shape)
    return back(_cumprod_adjoint3(lanes, g3))


def cumprod_tangent(t: Any, x: Any, axis: Any) -> np.ndarray:
    """The tangent of ``cumprod(x, axis)`` for the tangent ``t`` of ``x``:
    ``T_j = x_j T_{j-1} + t_j P_{j-1}`` with ``P`` the products so far."""
    x = np.asarray(x, dtype=float)
    lanes, _ = _lanes(x, axis)
    t3 = np.broadcast_to(np.asarray(t, dtype=float), x.shape).reshape(lanes.shape)
    out = _cumprod_tangent3(lanes, t3)
    return out.reshape(x.shape) if axis is not None else out.reshape(-1)


def cumprod_tangent_adjoint(g: Any, t: Any, x: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``cumprod_tangent(t, x, axis)`` with respect to ``x`` (second order of
    ``cumprod``): the tangent along ``t`` of ``cumprod_adjoint(g, x, axis)``, ``T_{i-1} s_i +
    P_{i-1} ds_i`` with ``ds_i = x_{i+1} ds_{i+1} + t_{i+1} s_{i+1}`` (no division)."""
    x = np.asarray(x, dtype=float)
    lanes, back = _lanes(x, axis)
    t3 = np.broadcast_to(np.asarray(t, dtype=float), x.shape).reshape(lanes.shape)
    g3 = np.asarray(g, dtype=float).reshape(lanes.shape)
    return back(_cumprod_tangent_adjoint3(lanes, t3, g3))


def cumprod_tangent2(t: Any, u: Any, x: Any, axis: Any) -> np.ndarray:
    """The tangent along ``u`` (of ``x``) of ``cumprod_tangent(t, x, axis)``:
    ``F_j = x_j F_{j-1} + t_j E_{j-1} + u_j T_{j-1}`` (``E``, ``T``: the tangents along
    ``u`` and ``t``)."""
    x = np.asarray(x, dtype=float)
    lanes, _ = _lanes(x, axis)
    t3 = np.broadcast_to(np.asarray(t, dtype=float), x.shape).reshape(lanes.shape)
    u3 = np.broadcast_to(np.asarray(u, dtype=float), x.shape).reshape(lanes.shape)
    out = _cumprod_tangent2_3(lanes, t3, u3)
    return out.reshape(x.shape) if axis is not None else out.reshape(-1)


def diff(x: Any, n: int = 1, axis: int = -1) -> np.ndarray:
    """``np.diff(x, n, axis)`` (Numba's differences along the last axis only)."""
    return np.diff(x, n, axis)


def diff_adjoint(g: Any, x: Any, n: int, axis: int) -> np.ndarray:
    """The adjoint of ``diff(x, n, axis)``: the transposed difference, ``n`` times."""
    x = np.asarray(x)
    axis = axis % x.ndim
    g = np.moveaxis(np.asarray(g, dtype=float), axis, -1)
    for _ in range(n):
        pad = [(0, 0)] * (g.ndim - 1)
        g = np.pad(g, pad + [(1, 0)]) - np.pad(g, pad + [(0, 1)])
    return np.moveaxis(g, -1, axis).reshape(x.shape).copy()


def gradient_along(f: Any, h: Any, axis: Any) -> np.ndarray:
    """``np.gradient(f, h, axis=axis)`` with a scalar spacing ``h`` (edge_order 1): central
    differences inside, one-sided ones at the two ends; ``axis`` None for a vector only."""
    return np.gradient(np.asarray(f, dtype=float), h, axis=axis)


def gradient_adjoint(g: Any, h: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``gradient_along(f, h, axis)`` in ``f`` (it is linear): each entry of
    ``g`` sent back to the two entries its difference read."""
    g = np.asarray(g, dtype=float)
    axis = 0 if axis is None else axis % g.ndim
    z = np.moveaxis(g, axis, 0)
    out = np.zeros(z.shape)
    out[2:] += z[1:-1] / (2.0 * h)
    out[:-2] -= z[1:-1] / (2.0 * h)
    out[0] -= z[0] / h
    out[1] += z[0] / h
    out[-1] += z[-1] / h
    out[-2] -= z[-1] / h
    return np.moveaxis(out, 0, axis).copy()


def flip(x: Any, axis: Any = None) -> np.ndarray:
    """``np.flip(x, axis)``: ``axis`` None, an int or a tuple of ints (a new array)."""
    return np.flip(x, axis).copy()


def roll(x: Any, shift: int, axis: Any = None) -> np.ndarray:
    """``np.roll(x, shift, axis)`` for an int ``shift`` and ``axis`` None or an int."""
    return np.roll(x, shift, axis)


def repeat(x: Any, repeats: int, axis: Any = None) -> np.ndarray:
    """``np.repeat(x, repeats, axis)`` for an int ``repeats``."""
    return np.repeat(x, repeats, axis)


def repeat_adjoint(g: Any, x: Any, repeats: int, axis: Any) -> np.ndarray:
    """The adjoint of ``repeat(x, repeats, axis)``: each group of copies summed."""
    x = np.asarray(x)
    if axis is None:
        return np.asarray(g, float).reshape(x.size, repeats).sum(1).reshape(x.shape)
    axis = axis % x.ndim
    g = np.moveaxis(np.asarray(g, dtype=float), axis, -1)
    g = g.reshape(g.shape[:-1] + (x.shape[axis], repeats)).sum(-1)
    return np.moveaxis(g, -1, axis).copy()


def take(x: Any, indices: Any, axis: Any = None) -> Any:
    """``np.take(x, indices, axis)`` for integer indices (negative ones count from the end)."""
    return np.take(x, indices, axis)


def masked(x: Any, mask: Any) -> Any:
    """``x[mask]`` for a boolean ``mask`` of any rank: the elements (or the sub-arrays, for a
    mask of fewer axes than ``x``) where it is true, in C order.  (Numba takes masks of one
    axis only; a mask of more is read as ``x[np.nonzero(mask)]``.)"""
    return x[mask]


def mask_put(y: Any, mask: Any, v: Any) -> np.ndarray:
    """A copy of ``y`` with ``v`` stored where the boolean ``mask`` is true: ``y[mask] = v``
    as a value (its adjoint is ``mask_put(g, mask, 0.0)`` for ``y``, ``masked(g, mask)``
    for ``v``)."""
    out = np.array(y, copy=True)
    out[mask] = v
    return out


def take_adjoint(g: Any, x: Any, indices: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``take(x, indices, axis)``: ``g`` added back, once per occurrence."""
    x = np.asarray(x)
    out = np.zeros(x.shape if axis is not None else x.size)
    if axis is None:
        np.add.at(out, np.ravel(indices), np.ravel(g))
        return out.reshape(x.shape)
    axis = axis % x.ndim
    moved = np.moveaxis(out, axis, 0)
    gm = np.moveaxis(np.asarray(g, dtype=float), list(range(axis, axis + np.ndim(indices))),
                     list(range(np.ndim(indices))))
    np.add.at(moved, np.ravel(indices), gm.reshape((-1,) + moved.shape[1:]))
    return out


def sort(x: Any, axis: Any = -1) -> np.ndarray:
    """``np.sort(x, axis)`` (Numba's sorts along the last axis only)."""
    return np.sort(x, axis)


def sort_adjoint(g: Any, x: Any, axis: Any) -> np.ndarray:
    """The adjoint of ``sort(x, axis)``: ``g`` sent back through the sorting permutation; at a
    run of equal values (sorted places ``a`` to ``b``) each element gets ``(g_a + g_b) / 2``,
    the mean of the one-sided derivatives (what a central difference gives)."""
    x = np.asarray(x, dtype=float)
    lanes, back = _lanes(x, axis)
    return back(_sort_adjoint3(lanes, np.asarray(g, dtype=float).reshape(lanes.shape)))


def sort_tangent(t: Any, x: Any, axis: Any) -> np.ndarray:
    """The tangent of ``sort(x, axis)``: ``t`` through the sorting permutation (at a run of
    equal values, the transpose of ``sort_adjoint``'s rule)."""
    x = np.asarray(x, dtype=float)
    lanes, _ = _lanes(x, axis)
    t3 = np.broadcast_to(np.asarray(t, dtype=float), x.shape).reshape(lanes.shape)
    out = _sort_tangent3(lanes, t3)
    return out.reshape(x.shape) if axis is not None else out.reshape(-1)


def diag_adjoint(g: Any, v: Any, k: int) -> np.ndarray:
    """The adjoint of ``np.diag(v, k)``: the diagonal ``k`` of ``g`` for a vector ``v``, and
    ``g`` placed on the diagonal ``k`` of a matrix of ``v``'s shape for a matrix."""
    v = np.asarray(v)
    if v.ndim == 1:
        return np.diag(g, k).astype(float)
    out = np.zeros(v.shape)
    rows = np.arange(len(g)) + max(-k, 0)
    out[rows, rows + k] = g
    return out


def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> np.ndarray:
    """``np.diagonal(x, offset, axis1, axis2)`` (a new array)."""
    return np.diagonal(x, offset, axis1, axis2).copy()


def diagonal_adjoint(g: Any, x: Any, offset: int, axis1: int, axis2: int) -> np.ndarray:
    """The adjoint of ``diagonal(x, offset, axis1, axis2)``: ``g`` put back on the diagonal."""
    x = np.asarray(x)
    src, _ = _diagonal_map(np.array(x.shape, dtype=np.int64), offset, axis1 % x.ndim,
                           axis2 % x.ndim)
    return _scatter(np.ravel(np.asarray(g, dtype=float)), src, x.size).reshape(x.shape)


def tile(x: Any, reps: Any) -> np.ndarray:
    """``np.tile(x, reps)`` for an int or a tuple of ints."""
    return np.tile(x, reps)


def tile_adjoint(g: Any, x: Any, reps: Any) -> np.ndarray:
    """The adjoint of ``tile(x, reps)``: the copies summed."""
    x = np.asarray(x)
    src, _ = _tile_map(np.array(x.shape, dtype=np.int64),
                       np.array(np.atleast_1d(reps), dtype=np.int64))
    return _scatter(np.ravel(np.asarray(g, dtype=float)), src, x.size).reshape(x.shape)


def pad(x: Any, width: Any) -> np.ndarray:
    """``np.pad(x, width)``: zeros around ``x`` (the ``'constant'`` mode), ``width`` an int,
    a pair ``(before, after)`` for every axis or a pair per axis."""
    return np.pad(x, width)


def pad_adjoint(g: Any, x: Any, width: Any) -> np.ndarray:
    """The adjoint of ``pad(x, width)``: the part of ``g`` where ``x`` went."""
    x = np.asarray(x)
    before, after = _pad_widths(np.array(width, dtype=np.int64), x.ndim)
    dst, _ = _pad_map(np.array(x.shape, dtype=np.int64), before, after)
    return _gather(np.ravel(np.asarray(g, dtype=float)), dst).reshape(x.shape)


#: ``np.pad``'s modes that ``pad_mode`` takes, by their code
PAD_MODES = ("constant", "edge", "wrap", "reflect", "symmetric")


def pad_mode(x: Any, width: Any, mode: int, value: float) -> np.ndarray:
    """``np.pad(x, width, mode=PAD_MODES[mode])``, with ``constant_values=value`` for the
    ``'constant'`` mode: each element of the result is an element of ``x`` or ``value``
    (``_pad_sources``)."""
    if PAD_MODES[mode] == "constant":
        return np.pad(x, width, constant_values=value)
    return np.pad(x, width, mode=PAD_MODES[mode])


def pad_mode_adjoint(g: Any, x: Any, width: Any, mode: int) -> np.ndarray:
    """The adjoint of ``pad_mode`` for ``x``: each element of ``g`` added into the element of
    ``x`` it was copied from (an edge element is copied many times)."""
    x = np.asarray(x)
    src = _pad_sources(np.array(x.shape, dtype=np.int64),
                       *_pad_widths(np.array(width, dtype=np.int64), x.ndim), mode)
    return _scatter_sources(np.ravel(np.asarray(g, dtype=float)), src, x.size).reshape(x.shape)


def pad_value_adjoint(g: Any, x: Any, width: Any, mode: int) -> float:
    """The adjoint of ``pad_mode`` for ``value``: the sum of ``g`` where the value went."""
    x = np.asarray(x)
    src = _pad_sources(np.array(x.shape, dtype=np.int64),
                       *_pad_widths(np.array(width, dtype=np.int64), x.ndim), mode)
    return float(np.sum(np.ravel(np.asarray(g, dtype=float))[src < 0]))


def expand_dims(x: Any, axis: Any) -> np.ndarray:
    """``np.expand_dims(x, axis)`` for an int or a tuple of ints (Numba's takes an int)."""
    return np.expand_dims(x, axis)


def reshape_like(g: Any, x: Any) -> Any:
    """``g`` with the shape of ``x`` (the same number of elements); the number itself for a
    number ``x``: the adjoint of ``np.atleast_2d(x)`` and other changes of rank."""
    if np.ndim(x) == 0:
        return float(np.sum(g))
    return np.reshape(np.asarray(g, dtype=float), np.shape(x))


def tri_mask(m: Any, k: int) -> np.ndarray:
    """Where ``np.tril(m, k)`` keeps ``m``: ``j - i <= k`` over the last two axes of ``m``
    (for a vector ``m`` of length ``n``, an ``n`` by ``n`` mask, as NumPy's ``tril``)."""
    shape = np.shape(m)[-2:] if np.ndim(m) >= 2 else (np.shape(m)[0],) * 2
    return np.tri(shape[0], shape[1], k, dtype=bool)


def astype_float(x: Any) -> Any:
    """``x.astype(float)``: a float64 copy of an array, a float of a number."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float64)
    return float(x)


def astype_int(x: Any) -> Any:
    """``x.astype(np.int64)`` (``int``): an int64 copy of an array, each element truncated
    toward zero, an int of a number."""
    if isinstance(x, np.ndarray):
        return x.astype(np.int64)
    return int(x)


def item(x: Any) -> Any:
    """``x.item()``: the one element of an array of size 1."""
    return np.asarray(x).item()


def last_written(d: np.ndarray, index: Any) -> Any:
    """``d[index]``, with zero wherever an index array names the element again later: of the
    values ``y[index] = v`` stores into one element, only the last one stays (the adjoint of
    ``v`` in that store)."""
    out = np.array(d[index], dtype=float)
    positions = np.arange(d.size).reshape(d.shape)[index]
    _keep_last(np.ravel(out), np.ravel(positions), d.size)
    return out if out.ndim else float(out)


def _lanes(x: np.ndarray, axis: Any) -> tuple[np.ndarray, Any]:
    """``x`` as ``(pre, n, post)`` around ``axis`` (None: one lane of every element), and
    the function that gives an array of that form ``x``'s shape again."""
    if axis is None:
        return x.reshape(1, x.size, 1), lambda a: a.reshape(x.shape)
    axis = axis % x.ndim
    pre = int(np.prod(x.shape[:axis]))
    post = int(np.prod(x.shape[axis + 1:]))
    return x.reshape(pre, x.shape[axis], post), lambda a: a.reshape(x.shape)


# -- loops over lanes and index maps, compiled once per dtype -----------------------------------

@njit(cache=True)
def _axis(axis, ndim):
    if axis < -ndim or axis >= ndim:
        raise ValueError("axis is out of bounds for the array's rank")
    return axis + ndim if axis < 0 else axis


@njit(cache=True)
def _split(dims, axis):
    """``(pre, n, post)``: the extents before ``axis``, along it, and after it."""
    pre = 1
    for d in range(axis):
        pre *= dims[d]
    post = 1
    for d in range(axis + 1, dims.shape[0]):
        post *= dims[d]
    return pre, dims[axis], post


@njit(cache=True)
def _with_extent(dims, axis, n):
    out = dims.copy()
    out[axis] = n
    return out


@njit(cache=True)
def _strides(dims):
    """The strides, in elements, of a C-contiguous array of extents ``dims``."""
    out = np.empty(dims.shape[0], np.int64)
    step = 1
    for d in range(dims.shape[0] - 1, -1, -1):
        out[d] = step
        step *= dims[d]
    return out


@njit(cache=True)
def _gather(flat, src):
    out = np.empty(src.shape[0], flat.dtype)
    for k in range(src.shape[0]):
        out[k] = flat[src[k]]
    return out


@njit(cache=True)
def _scatter(flat, src, n):
    out = np.zeros(n)
    for k in range(src.shape[0]):
        out[src[k]] += flat[k]
    return out


@njit(cache=True)
def _cumsum3(x, out, backwards):
    pre, n, post = x.shape
    for i in range(pre):
        for k in range(post):
            if n == 0:
                continue
            j = n - 1 if backwards else 0
            step = -1 if backwards else 1
            acc = x[i, j, k]
            out[i, j, k] = acc
            for _ in range(n - 1):
                j += step
                acc = acc + x[i, j, k]
                out[i, j, k] = acc
    return out


@njit(cache=True)
def _cumprod3(x, out):
    pre, n, post = x.shape
    for i in range(pre):
        for k in range(post):
            if n == 0:
                continue
            acc = x[i, 0, k]
            out[i, 0, k] = acc
            for j in range(1, n):
                acc = acc * x[i, j, k]
                out[i, j, k] = acc
    return out


@njit(cache=True)
def _cumprod_adjoint3(x, g):
    """At ``j``: ``P_{j-1} s_j`` with ``P`` the products before ``j`` and
    ``s_j = g_j + x_{j+1} s_{j+1}`` (Horner from the end)."""
    pre, n, post = x.shape
    out = np.empty(x.shape)
    for i in range(pre):
        for k in range(post):
            s = 0.0
            for j in range(n - 1, -1, -1):
                s = g[i, j, k] + (x[i, j + 1, k] * s if j + 1 < n else 0.0)
                out[i, j, k] = s
            p = 1.0
            for j in range(n):
                out[i, j, k] *= p
                p *= x[i, j, k]
    return out


@njit(cache=True)
def _cumprod_tangent3(x, t):
    pre, n, post = x.shape
    out = np.empty(x.shape)
    for i in range(pre):
        for k in range(post):
            p = 1.0
            d = 0.0
            for j in range(n):
                d = x[i, j, k] * d + t[i, j, k] * p
                p *= x[i, j, k]
                out[i, j, k] = d
    return out


@njit(cache=True)
def _cumprod_tangent_adjoint3(x, t, g):
    pre, n, post = x.shape
    out = np.empty(x.shape)
    s = np.empty(n)
    for i in range(pre):
        for k in range(post):
            sj = 0.0
            dsj = 0.0
            for j in range(n - 1, -1, -1):
                if j + 1 < n:
                    dsj = x[i, j + 1, k] * dsj + t[i, j + 1, k] * sj
                    sj = g[i, j, k] + x[i, j + 1, k] * sj
                else:
                    dsj = 0.0
                    sj = g[i, j, k]
                s[j] = sj
                out[i, j, k] = dsj
            p = 1.0
            dp = 0.0
            for j in range(n):
                out[i, j, k] = p * out[i, j, k] + dp * s[j]
                dp = x[i, j, k] * dp + t[i, j, k] * p
                p *= x[i, j, k]
    return out


@njit(cache=True)
def _cumprod_tangent2_3(x, t, u):
    out = np.empty(x.shape)
    for lane in range(x.shape[0] * x.shape[2]):  # (i, k): the products along j
        i, k = divmod(lane, x.shape[2])
        p, d, e, f = 1.0, 0.0, 0.0, 0.0
        for j in range(x.shape[1]):
            f = x[i, j, k] * f + t[i, j, k] * e + u[i, j, k] * d
            d = x[i, j, k] * d + t[i, j, k] * p
            e = x[i, j, k] * e + u[i, j, k] * p
            p *= x[i, j, k]
            out[i, j, k] = f
    return out


@njit(cache=True)
def _diff3(x, n):
    """``n`` differences along the middle axis: extent ``max(m - n, 0)``."""
    pre, m, post = x.shape
    out = np.empty((pre, max(m - n, 0), post), x.dtype)
    buf = np.empty(m, x.dtype)
    for i in range(pre):
        for k in range(post):
            for j in range(m):
                buf[j] = x[i, j, k]
            length = m
            for _ in range(min(n, m)):
                for j in range(length - 1):
                    buf[j] = buf[j + 1] - buf[j]
                length -= 1
            for j in range(m - n):
                out[i, j, k] = buf[j]
    return out


@njit(cache=True)
def _diff_adjoint3(g, m, n):
    """The transposed difference ``n`` times: from extent ``m - n`` back to ``m``."""
    pre, _, post = g.shape
    out = np.zeros((pre, m, post))
    buf = np.zeros(m)
    for i in range(pre):
        for k in range(post):
            length = max(m - n, 0)
            for j in range(length):
                buf[j] = g[i, j, k]
            for _ in range(min(n, m)):
                # (D^T g)_j = g_{j-1} - g_j, zero outside
                buf[length] = buf[length - 1] if length > 0 else 0.0
                for j in range(length - 1, 0, -1):
                    buf[j] = buf[j - 1] - buf[j]
                if length > 0:
                    buf[0] = -buf[0]
                length += 1
            for j in range(m):
                out[i, j, k] = buf[j] if j < length else 0.0
    return out


@njit(cache=True)
def _flip3(x):
    pre, n, post = x.shape
    out = np.empty(x.shape, x.dtype)
    for i in range(pre):
        for j in range(n):
            for k in range(post):
                out[i, n - 1 - j, k] = x[i, j, k]
    return out


@njit(cache=True)
def _roll3(x, shift):
    pre, n, post = x.shape
    out = np.empty(x.shape, x.dtype)
    if n == 0:
        return out
    s = shift % n
    for i in range(pre):
        for j in range(n):
            to = j + s - n if j + s >= n else j + s
            for k in range(post):
                out[i, to, k] = x[i, j, k]
    return out


@njit(cache=True)
def _repeat3(x, r):
    pre, n, post = x.shape
    r = max(r, 0)
    out = np.empty((pre, n * r, post), x.dtype)
    for i in range(pre):
        for j in range(n):
            for q in range(r):
                for k in range(post):
                    out[i, j * r + q, k] = x[i, j, k]
    return out


@njit(cache=True)
def _repeat_adjoint3(g, n, r):
    pre, _, post = g.shape
    out = np.zeros((pre, n, post))
    for i in range(pre):
        for j in range(n):
            for q in range(max(r, 0)):
                for k in range(post):
                    out[i, j, k] += g[i, j * r + q, k]
    return out


@njit(cache=True)
def _wrapped(flat_indices, n):
    out = np.empty(flat_indices.shape[0], np.int64)
    for m in range(out.shape[0]):
        j = flat_indices[m]
        if j < -n or j >= n:
            raise IndexError("an index of take() is out of bounds")
        out[m] = j + n if j < 0 else j
    return out


@njit(cache=True)
def _take3(x, idx):
    pre, n, post = x.shape
    idx = _wrapped(idx, n)
    out = np.empty((pre, idx.shape[0], post), x.dtype)
    for i in range(pre):
        for m in range(idx.shape[0]):
            for k in range(post):
                out[i, m, k] = x[i, idx[m], k]
    return out


@njit(cache=True)
def _take_adjoint3(g, n, idx):
    pre, _, post = g.shape
    idx = _wrapped(idx, n)
    out = np.zeros((pre, n, post))
    for i in range(pre):
        for m in range(idx.shape[0]):
            for k in range(post):
                out[i, idx[m], k] += g[i, m, k]
    return out


@njit(cache=True)
def _sort3(x):
    pre, n, post = x.shape
    out = np.empty(x.shape, x.dtype)
    buf = np.empty(n, x.dtype)
    for i in range(pre):
        for k in range(post):
            for j in range(n):
                buf[j] = x[i, j, k]
            buf.sort()
            for j in range(n):
                out[i, j, k] = buf[j]
    return out


@njit(cache=True)
def _runs(buf, perm, start):
    """The end of the run of values equal to the one at sorted place ``start``."""
    stop = start + 1
    while stop < perm.shape[0] and buf[perm[stop]] == buf[perm[start]]:
        stop += 1
    return stop


@njit(cache=True)
def _sort_adjoint3(x, g):
    """``g`` back through the sorting permutation of each lane; every element of a run of
    equal values (sorted places ``a`` to ``b``) gets ``(g_a + g_b) / 2``, the mean of the
    one-sided derivatives (moved up, the element takes place ``b``; down, place ``a``)."""
    pre, n, post = x.shape
    out = np.empty(x.shape)
    buf = np.empty(n)
    for i in range(pre):
        for k in range(post):
            for j in range(n):
                buf[j] = x[i, j, k]
            perm = np.argsort(buf, kind="mergesort")
            start = 0
            while start < n:
                stop = _runs(buf, perm, start)
                share = 0.5 * (g[i, start, k] + g[i, stop - 1, k])
                for j in range(start, stop):
                    out[i, perm[j], k] = share
                start = stop
    return out


@njit(cache=True)
def _sort_tangent3(x, t):
    """The transpose of ``_sort_adjoint3``: the sum of the tangents of a run of equal values,
    half to its first sorted place and half to its last (all of it to a single value)."""
    pre, n, post = x.shape
    out = np.zeros(x.shape)
    buf = np.empty(n)
    for i in range(pre):
        for k in range(post):
            for j in range(n):
                buf[j] = x[i, j, k]
            perm = np.argsort(buf, kind="mergesort")
            start = 0
            while start < n:
                stop = _runs(buf, perm, start)
                total = 0.0
                for j in range(start, stop):
                    total += t[i, perm[j], k]
                out[i, start, k] += 0.5 * total
                out[i, stop - 1, k] += 0.5 * total
                start = stop
    return out


@njit(cache=True)
def _diagonal_map(dims, offset, a1, a2):
    """For each element of ``diagonal(x, offset, a1, a2)`` (C order), its flat index in
    ``x``; and the result's extents (the other axes, then the diagonal)."""
    if a1 == a2:
        raise ValueError("axis1 and axis2 of diagonal() must differ")
    nd = dims.shape[0]
    strides = _strides(dims)
    r0 = max(-offset, 0)
    c0 = max(offset, 0)
    length = max(0, min(dims[a1] - r0, dims[a2] - c0))
    others = np.empty(nd - 2, np.int64)
    q = 0
    for d in range(nd):
        if d != a1 and d != a2:
            others[q] = d
            q += 1
    count = 1
    for q in range(nd - 2):
        count *= dims[others[q]]
    src = np.empty(count * length, np.int64)
    index = np.zeros(nd - 2, np.int64)
    base = r0 * strides[a1] + c0 * strides[a2]
    step = strides[a1] + strides[a2]
    for m in range(count):
        at = base
        for q in range(nd - 2):
            at += index[q] * strides[others[q]]
        for i in range(length):
            src[m * length + i] = at + i * step
        q = nd - 3
        while q >= 0:
            index[q] += 1
            if index[q] < dims[others[q]]:
                break
            index[q] = 0
            q -= 1
    out = np.empty(nd - 1, np.int64)
    for q in range(nd - 2):
        out[q] = dims[others[q]]
    out[nd - 2] = length
    return src, out


@njit(cache=True)
def _tile_map(dims, reps):
    """For each element of ``tile(x, reps)`` (C order), its flat index in ``x``; and the
    result's extents."""
    nd = max(dims.shape[0], reps.shape[0])
    xd = np.ones(nd, np.int64)
    rd = np.ones(nd, np.int64)
    for d in range(dims.shape[0]):
        xd[nd - dims.shape[0] + d] = dims[d]
    for d in range(reps.shape[0]):
        if reps[d] < 0:
            raise ValueError("tile() takes repetitions of 0 or more")
        rd[nd - reps.shape[0] + d] = reps[d]
    od = xd * rd
    strides = _strides(xd)
    total = 1
    for d in range(nd):
        total *= od[d]
    src = np.empty(total, np.int64)
    index = np.zeros(nd, np.int64)
    for m in range(total):
        at = 0
        for d in range(nd):
            at += (index[d] % xd[d]) * strides[d]
        src[m] = at
        _advance(index, od)
    return src, od


@njit(cache=True)
def _advance(index, dims):
    """Step the multi-index ``index`` to the next element of extents ``dims`` (C order)."""
    d = dims.shape[0] - 1
    while d >= 0:
        index[d] += 1
        if index[d] < dims[d]:
            return
        index[d] = 0
        d -= 1


@njit(cache=True)
def _pad_widths(width, nd):
    """The widths before and after each of ``nd`` axes, from ``np.pad``'s ``pad_width`` as
    an int64 array: one int (shape ``()`` or ``(1,)``), a pair, or one pair per axis."""
    flat = width.reshape(width.size)
    before = np.empty(nd, np.int64)
    after = np.empty(nd, np.int64)
    for d in range(nd):
        if flat.size == 1:
            before[d] = after[d] = flat[0]
        elif flat.size == 2:
            before[d], after[d] = flat[0], flat[1]
        elif flat.size == 2 * nd:
            before[d], after[d] = flat[2 * d], flat[2 * d + 1]
        else:
            raise ValueError("pad() takes one width, a pair, or a pair per axis")
        if before[d] < 0 or after[d] < 0:
            raise ValueError("pad() takes widths of 0 or more")
    return before, after


@njit(cache=True)
def _pad_map(dims, before, after):
    """For each element of ``x`` (C order), its flat index in ``pad(x, ...)``; and the
    result's extents."""
    od = dims + before + after
    strides = _strides(od)
    corner = np.sum(before * strides)  # where x's first element goes
    dst = np.empty(np.prod(dims), np.int64)
    index = np.zeros(dims.shape[0], np.int64)
    for m in range(dst.shape[0]):
        dst[m] = corner + np.sum(index * strides)
        _advance(index, dims)
    return dst, od


@njit(cache=True)
def _pad_sources(dims, before, after, mode):
    """For each element of ``pad_mode(x, ...)`` (C order), the flat index of the element of
    ``x`` it copies, or -1 where it is the constant; ``mode`` indexes ``PAD_MODES``.  Along
    an axis of ``n`` elements, a position ``q`` outside ``0 .. n - 1`` reads ``x`` at
    ``q`` clamped (edge), ``q mod n`` (wrap), ``q`` mirrored about the end elements
    (reflect: period ``2n - 2``) or beyond them (symmetric: period ``2n``), as NumPy pads
    even when a width exceeds ``n``."""
    od = dims + before + after
    nd = dims.shape[0]
    strides = _strides(dims)
    src = np.empty(np.prod(od), np.int64)
    index = np.zeros(nd, np.int64)
    for m in range(src.shape[0]):
        flat = 0
        for d in range(nd):
            n = dims[d]
            q = index[d] - before[d]
            if q < 0 or q >= n:
                if mode == 0 or n == 0:
                    flat = -1
                    break
                if mode == 1:
                    q = 0 if q < 0 else n - 1
                elif mode == 2:
                    q = q % n
                elif mode == 3:
                    period = 2 * n - 2
                    q = 0 if period == 0 else q % period
                    if q >= n:
                        q = period - q
                else:
                    q = q % (2 * n)
                    if q >= n:
                        q = 2 * n - 1 - q
            flat += q * strides[d]
        src[m] = flat
        _advance(index, od)
    return src


@njit(cache=True)
def _scatter_sources(flat, src, size):
    """``out[src[m]] += flat[m]`` over the ``m`` with ``src[m] >= 0``, into ``size`` zeros."""
    out = np.zeros(size)
    for m in range(src.shape[0]):
        if src[m] >= 0:
            out[src[m]] += flat[m]
    return out


@njit(cache=True)
def _expanded_dims(dims, axes):
    """The extents of ``expand_dims`` of an array of extents ``dims`` at ``axes``."""
    nd = dims.shape[0] + axes.shape[0]
    new = np.zeros(nd, np.bool_)
    for q in range(axes.shape[0]):
        a = _axis(axes[q], nd)
        if new[a]:
            raise ValueError("an axis of expand_dims() is repeated")
        new[a] = True
    out = np.ones(nd, np.int64)
    q = 0
    for d in range(nd):
        if not new[d]:
            out[d] = dims[q]
            q += 1
    return out


@njit(cache=True)
def _keep_last(flat, positions, n):
    """Zero the entries of ``flat`` whose position comes again later in ``positions``."""
    seen = np.zeros(n, np.bool_)
    for k in range(positions.shape[0] - 1, -1, -1):
        if seen[positions[k]]:
            flat[k] = 0.0
        seen[positions[k]] = True


@njit(cache=True)
def _tri_mask(rows, cols, k):
    out = np.empty((rows, cols), np.bool_)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = j - i <= k
    return out


# -- Numba implementations, chosen by type at compile time --------------------------------------

def _is_none(t: Any) -> bool:
    return t is None or isinstance(t, (types.NoneType, types.Omitted)) and getattr(
        t, "value", None) is None


def _is_int(t: Any) -> bool:
    return isinstance(t, (types.Integer, types.Omitted)) and not _is_none(t)


def _accumulator(x: Any) -> Any:
    """The dtype NumPy's ``cumsum``/``cumprod`` give: float64 for floats, int64 otherwise."""
    return np.float64 if isinstance(x.dtype, types.Float) else np.int64


@njit(cache=True)
def _lanes3(x, axis):
    """``x`` (C order) as ``(pre, n, post)`` around the normalized ``axis``."""
    pre, n, post = _split(_dims(x.shape), axis)
    return np.ascontiguousarray(x).reshape((pre, n, post))


@njit(cache=True)
def _one_lane(x):
    return np.ascontiguousarray(x).reshape((1, x.size, 1))


@overload(cumsum, jit_options=CACHED)
def _cumsum(x, axis=None):
    if not _is_array(x):
        return None
    dtype = _accumulator(x)
    if _is_none(axis):
        def flat(x, axis=None):
            lane = _one_lane(x)
            return _cumsum3(lane, np.empty(lane.shape, dtype), False).reshape(x.size)
        return flat

    def along(x, axis=None):
        lanes = _lanes3(x, _axis(axis, x.ndim))
        return _cumsum3(lanes, np.empty(lanes.shape, dtype), False).reshape(x.shape)
    return along


@overload(cumsum_adjoint, jit_options=CACHED)
def _cumsum_adjoint(g, x, axis):
    if _is_none(axis):
        def flat(g, x, axis):
            lane = _one_lane(g).astype(np.float64)
            return _cumsum3(lane, np.empty(lane.shape), True).reshape(x.shape)
        return flat

    def along(g, x, axis):
        lanes = _lanes3(g, _axis(axis, g.ndim)).astype(np.float64)
        return _cumsum3(lanes, np.empty(lanes.shape), True).reshape(x.shape)
    return along


@njit(cache=True)
def _lanes_none(x, axis):
    return _one_lane(x)


@njit(cache=True)
def _lanes_axis(x, axis):
    return _lanes3(x, _axis(axis, x.ndim))


def _lanes_of(axis: Any):
    """The function that views an array as lanes for ``axis`` (None: one lane)."""
    return _lanes_none if _is_none(axis) else _lanes_axis


@overload(cumprod, jit_options=CACHED)
def _cumprod(x, axis=None):
    if not _is_array(x):
        return None
    dtype = _accumulator(x)
    lanes_of = _lanes_of(axis)
    if _is_none(axis):
        def flat(x, axis=None):
            lanes = lanes_of(x, axis)
            return _cumprod3(lanes, np.empty(lanes.shape, dtype)).reshape(x.size)
        return flat

    def along(x, axis=None):
        lanes = lanes_of(x, axis)
        return _cumprod3(lanes, np.empty(lanes.shape, dtype)).reshape(x.shape)
    return along


@overload(cumprod_adjoint, jit_options=CACHED)
def _cumprod_adjoint(g, x, axis):
    lanes_of = _lanes_of(axis)

    def adjoint(g, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        g3 = np.ascontiguousarray(g).reshape(lanes.shape).astype(np.float64)
        return _cumprod_adjoint3(lanes, g3).reshape(x.shape)
    return adjoint


@overload(cumprod_tangent_adjoint, jit_options=CACHED)
def _cumprod_tangent_adjoint(g, t, x, axis):
    lanes_of = _lanes_of(axis)

    def adjoint(g, t, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        t3 = np.ascontiguousarray(t).reshape(lanes.shape).astype(np.float64)
        g3 = np.ascontiguousarray(g).reshape(lanes.shape).astype(np.float64)
        return _cumprod_tangent_adjoint3(lanes, t3, g3).reshape(x.shape)
    return adjoint


@overload(cumprod_tangent2, jit_options=CACHED)
def _cumprod_tangent2(t, u, x, axis):
    lanes_of = _lanes_of(axis)
    flat = _is_none(axis)

    def tangent(t, u, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        t3 = np.ascontiguousarray(t).reshape(lanes.shape).astype(np.float64)
        u3 = np.ascontiguousarray(u).reshape(lanes.shape).astype(np.float64)
        out = _cumprod_tangent2_3(lanes, t3, u3)
        if flat:
            return out.reshape(x.size)
        return out.reshape(x.shape)
    return tangent


@overload(cumprod_tangent, jit_options=CACHED)
def _cumprod_tangent(t, x, axis):
    lanes_of = _lanes_of(axis)
    flat = _is_none(axis)

    def tangent(t, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        t3 = np.ascontiguousarray(t).reshape(lanes.shape).astype(np.float64)
        out = _cumprod_tangent3(lanes, t3)
        if flat:
            return out.reshape(x.size)
        return out.reshape(x.shape)
    return tangent


@overload(diff, jit_options=CACHED)
def _diff(x, n=1, axis=-1):
    if not _is_array(x):
        return None
    rank = x.ndim

    def differences(x, n=1, axis=-1):
        a = _axis(axis, x.ndim)
        if n < 0:
            raise ValueError("diff() takes an order n of 0 or more")
        out = _diff3(_lanes3(x, a), n)
        return out.reshape(to_fixed_tuple(_with_extent(_dims(x.shape), a, out.shape[1]),
                                          rank))
    return differences


@njit(cache=True)
def _gradient3(x, h, adjoint):
    """``np.gradient`` along the middle axis (at least 2 entries), or its transpose."""
    pre, n, post = x.shape
    if n < 2:
        raise ValueError("np.gradient needs at least 2 entries along its axis")
    out = np.zeros((pre, n, post))
    for i in range(pre):
        for k in range(post):
            if adjoint:
                for j in range(1, n - 1):
                    out[i, j + 1, k] += x[i, j, k] / (2.0 * h)
                    out[i, j - 1, k] -= x[i, j, k] / (2.0 * h)
                out[i, 1, k] += x[i, 0, k] / h
                out[i, 0, k] -= x[i, 0, k] / h
                out[i, n - 1, k] += x[i, n - 1, k] / h
                out[i, n - 2, k] -= x[i, n - 1, k] / h
            else:
                for j in range(1, n - 1):
                    out[i, j, k] = (x[i, j + 1, k] - x[i, j - 1, k]) / (2.0 * h)
                out[i, 0, k] = (x[i, 1, k] - x[i, 0, k]) / h
                out[i, n - 1, k] = (x[i, n - 1, k] - x[i, n - 2, k]) / h
    return out


def _gradient_kernel(f: Any, h: Any, axis: Any, adjoint: bool) -> Any:
    if not _is_array(f) or not isinstance(h, (types.Number, types.Boolean)):
        from numba.core.errors import TypingError

        raise TypingError(_GRADIENT_FORMS)
    if isinstance(axis, (types.NoneType, types.Omitted)) and f.ndim != 1:
        from numba.core.errors import TypingError

        raise TypingError(_GRADIENT_FORMS)

    def along(f, h, axis):
        a = 0 if axis is None else _axis(axis, f.ndim)
        return _gradient3(_lanes3(f, a).astype(np.float64), float(h), False).reshape(
            f.shape)

    def back(g, h, axis):
        a = 0 if axis is None else _axis(axis, g.ndim)
        return _gradient3(_lanes3(g, a).astype(np.float64), float(h), True).reshape(g.shape)
    return back if adjoint else along


_GRADIENT_FORMS = ("unsupported form of np.gradient: the forms differentiated are "
                   "np.gradient(v) and np.gradient(v, h) of a vector, and np.gradient(x, h, "
                   "axis=k) of any array, with a number h: name the axis for an array of rank "
                   "2 or more (NumPy then returns one array per axis), and give the spacing "
                   "as one number")


@overload(gradient_along, jit_options=CACHED)
def _gradient_along(f, h, axis):
    return _gradient_kernel(f, h, axis, False)


@overload(gradient_adjoint, jit_options=CACHED)
def _gradient_adjoint(g, h, axis):
    return _gradient_kernel(g, h, axis, True)


@overload(diff_adjoint, jit_options=CACHED)
def _diff_adjoint(g, x, n, axis):
    def adjoint(g, x, n, axis):
        a = _axis(axis, x.ndim)
        return _diff_adjoint3(_lanes3(g, a).astype(np.float64), x.shape[a], n).reshape(
            x.shape)
    return adjoint


@overload(flip, jit_options=CACHED)
def _flip(x, axis=None):
    if not _is_array(x):
        return None
    if _is_none(axis):
        return lambda x, axis=None: _flip3(_one_lane(x)).reshape(x.shape)
    if isinstance(axis, types.Integer):
        return lambda x, axis=None: _flip3(_lanes3(x, _axis(axis, x.ndim))).reshape(x.shape)
    if isinstance(axis, types.UniTuple) and isinstance(axis.dtype, types.Integer):
        def several(x, axis=None):
            out = np.ascontiguousarray(x)
            for a in axis:
                out = _flip3(_lanes3(out, _axis(a, x.ndim))).reshape(x.shape)
            return out
        return several
    return None


@overload(roll, jit_options=CACHED)
def _roll(x, shift, axis=None):
    if not _is_array(x) or not isinstance(shift, types.Integer):
        return None
    if _is_none(axis):
        return lambda x, shift, axis=None: _roll3(_one_lane(x), shift).reshape(x.shape)
    if isinstance(axis, types.Integer):
        return lambda x, shift, axis=None: _roll3(_lanes3(x, _axis(axis, x.ndim)),
                                                  shift).reshape(x.shape)
    return None


@overload(repeat, jit_options=CACHED)
def _repeat(x, repeats, axis=None):
    if not _is_array(x) or not isinstance(repeats, types.Integer):
        return None
    if _is_none(axis):
        return lambda x, repeats, axis=None: _repeat3(_one_lane(x), repeats).reshape(
            max(repeats, 0) * x.size)
    rank = x.ndim

    def along(x, repeats, axis=None):
        a = _axis(axis, x.ndim)
        out = _repeat3(_lanes3(x, a), repeats)
        return out.reshape(to_fixed_tuple(_with_extent(_dims(x.shape), a, out.shape[1]),
                                          rank))
    return along


@overload(repeat_adjoint, jit_options=CACHED)
def _repeat_adjoint(g, x, repeats, axis):
    if _is_none(axis):
        return lambda g, x, repeats, axis: _repeat_adjoint3(
            _one_lane(g).astype(np.float64), x.size, repeats).reshape(x.shape)

    def along(g, x, repeats, axis):
        a = _axis(axis, x.ndim)
        return _repeat_adjoint3(_lanes3(g, a).astype(np.float64), x.shape[a],
                                repeats).reshape(x.shape)
    return along


@njit(cache=True)
def _taken_dims(dims, a, index_dims):
    """The extents of ``take(x, indices, a)``: ``indices``' extents in place of axis ``a``."""
    out = np.empty(dims.shape[0] - 1 + index_dims.shape[0], np.int64)
    q = 0
    for d in range(dims.shape[0]):
        if d == a:
            for e in range(index_dims.shape[0]):
                out[q] = index_dims[e]
                q += 1
        else:
            out[q] = dims[d]
            q += 1
    return out


def _index_array(indices: Any) -> bool:
    return _is_array(indices) and isinstance(indices.dtype, types.Integer)


@overload(take, jit_options=CACHED)
def _take(x, indices, axis=None):
    if not _is_array(x):
        return None
    if isinstance(indices, types.UniTuple) and isinstance(indices.dtype, types.Integer):
        return lambda x, indices, axis=None: take(x, _dims(indices), axis)
    if isinstance(indices, types.Integer):
        if _is_none(axis):
            return lambda x, indices, axis=None: _take3(
                _one_lane(x), np.full(1, indices, np.int64))[0, 0, 0]
        rank = x.ndim - 1
        if rank == 0:
            return lambda x, indices, axis=None: _take3(
                _lanes3(x, _axis(axis, 1)), np.full(1, indices, np.int64))[0, 0, 0]

        def one(x, indices, axis=None):
            a = _axis(axis, x.ndim)
            out = _take3(_lanes3(x, a), np.full(1, indices, np.int64))
            return out.reshape(to_fixed_tuple(_taken_dims(_dims(x.shape), a, np.empty(
                0, np.int64)), rank))
        return one
    if not _index_array(indices):
        return None
    if _is_none(axis):
        shape_rank = indices.ndim

        def flat(x, indices, axis=None):
            out = _take3(_one_lane(x), np.ascontiguousarray(indices).reshape(indices.size))
            return out.reshape(to_fixed_tuple(_dims(indices.shape), shape_rank))
        return flat
    rank = x.ndim - 1 + indices.ndim

    def along(x, indices, axis=None):
        a = _axis(axis, x.ndim)
        out = _take3(_lanes3(x, a), np.ascontiguousarray(indices).reshape(indices.size))
        return out.reshape(to_fixed_tuple(_taken_dims(_dims(x.shape), a,
                                                      _dims(indices.shape)), rank))
    return along


@njit(cache=True)
def _index_one(indices):
    return np.full(1, indices, np.int64)


@njit(cache=True)
def _index_flat(indices):
    return np.ascontiguousarray(indices).reshape(indices.size)


def _many_axes(mask: Any) -> bool:
    return _is_array(mask) and isinstance(mask.dtype, types.Boolean) and mask.ndim > 1


@overload(masked, jit_options=CACHED)
def _masked(x, mask):
    if _many_axes(mask):
        return lambda x, mask: x[np.nonzero(mask)]
    return lambda x, mask: x[mask]


@overload(mask_put, jit_options=CACHED)
def _mask_put(y, mask, v):
    if _many_axes(mask):
        def many(y, mask, v):
            out = y.copy()
            out[np.nonzero(mask)] = v
            return out
        return many

    def one(y, mask, v):
        out = y.copy()
        out[mask] = v
        return out
    return one


@overload(take_adjoint, jit_options=CACHED)
def _take_adjoint(g, x, indices, axis):
    index_of = (_index_one if isinstance(indices, types.Integer) else _dims
                if isinstance(indices, types.UniTuple) else _index_flat)
    if not _is_array(g):  # one element taken: x is a vector (or axis is None)
        return lambda g, x, indices, axis: _take_adjoint3(
            np.full((1, 1, 1), g * 1.0), x.size, index_of(indices)).reshape(x.shape)
    if _is_none(axis):
        return lambda g, x, indices, axis: _take_adjoint3(
            np.ascontiguousarray(g).reshape((1, g.size, 1)).astype(np.float64), x.size,
            index_of(indices)).reshape(x.shape)

    def along(g, x, indices, axis):
        a = _axis(axis, x.ndim)
        idx = index_of(indices)
        pre, n, post = _split(_dims(x.shape), a)
        g3 = np.ascontiguousarray(g).reshape((pre, idx.shape[0], post)).astype(np.float64)
        return _take_adjoint3(g3, n, idx).reshape(x.shape)
    return along


@overload(sort, jit_options=CACHED)
def _sort(x, axis=-1):
    if not _is_array(x):
        return None
    if _is_none(axis):
        return lambda x, axis=-1: _sort3(_one_lane(x)).reshape(x.size)
    return lambda x, axis=-1: _sort3(_lanes3(x, _axis(axis, x.ndim))).reshape(x.shape)


@overload(sort_adjoint, jit_options=CACHED)
def _sort_adjoint(g, x, axis):
    lanes_of = _lanes_of(axis)

    def adjoint(g, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        g3 = np.ascontiguousarray(g).reshape(lanes.shape).astype(np.float64)
        return _sort_adjoint3(lanes, g3).reshape(x.shape)
    return adjoint


@overload(sort_tangent, jit_options=CACHED)
def _sort_tangent(t, x, axis):
    lanes_of = _lanes_of(axis)
    flat = _is_none(axis)

    def tangent(t, x, axis):
        lanes = lanes_of(x, axis).astype(np.float64)
        t3 = np.ascontiguousarray(t).reshape(lanes.shape).astype(np.float64)
        out = _sort_tangent3(lanes, t3)
        if flat:
            return out.reshape(x.size)
        return out.reshape(x.shape)
    return tangent


@overload(diag_adjoint, jit_options=CACHED)
def _diag_adjoint(g, v, k):
    if not _is_array(v):
        return None
    if v.ndim == 1:
        return lambda g, v, k: np.diag(g, k) * 1.0

    def matrix(g, v, k):
        out = np.zeros(v.shape)
        r0 = max(-k, 0)
        c0 = max(k, 0)
        for i in range(g.shape[0]):
            out[r0 + i, c0 + i] = g[i]
        return out
    return matrix


@overload(diagonal, jit_options=CACHED)
def _diagonal(x, offset=0, axis1=0, axis2=1):
    if not _is_array(x) or x.ndim < 2:
        return None
    rank = x.ndim - 1

    def take_diagonal(x, offset=0, axis1=0, axis2=1):
        src, dims = _diagonal_map(_dims(x.shape), offset, _axis(axis1, x.ndim),
                                  _axis(axis2, x.ndim))
        return _gather(np.ascontiguousarray(x).reshape(x.size), src).reshape(
            to_fixed_tuple(dims, rank))
    return take_diagonal


@overload(diagonal_adjoint, jit_options=CACHED)
def _diagonal_adjoint(g, x, offset, axis1, axis2):
    def adjoint(g, x, offset, axis1, axis2):
        src, _ = _diagonal_map(_dims(x.shape), offset, _axis(axis1, x.ndim),
                               _axis(axis2, x.ndim))
        flat = np.ascontiguousarray(g).reshape(g.size).astype(np.float64)
        return _scatter(flat, src, x.size).reshape(x.shape)
    return adjoint


def _reps_of(reps: Any):
    """The function that gives ``reps`` (an int or a tuple of ints) as an int64 array."""
    if isinstance(reps, types.Integer):
        return _index_one
    if isinstance(reps, types.UniTuple) and isinstance(reps.dtype, types.Integer):
        return _dims
    return None


@overload(tile, jit_options=CACHED)
def _tile(x, reps):
    reps_of = _reps_of(reps)
    if not _is_array(x) or reps_of is None:
        return None
    rank = max(x.ndim, 1 if isinstance(reps, types.Integer) else len(reps))

    def tiled(x, reps):
        src, dims = _tile_map(_dims(x.shape), reps_of(reps))
        return _gather(np.ascontiguousarray(x).reshape(x.size), src).reshape(
            to_fixed_tuple(dims, rank))
    return tiled


@overload(tile_adjoint, jit_options=CACHED)
def _tile_adjoint(g, x, reps):
    reps_of = _reps_of(reps)
    if reps_of is None:
        return None

    def adjoint(g, x, reps):
        src, _ = _tile_map(_dims(x.shape), reps_of(reps))
        flat = np.ascontiguousarray(g).reshape(g.size).astype(np.float64)
        return _scatter(flat, src, x.size).reshape(x.shape)
    return adjoint


def _widths_of(width):
    """The function that gives ``width`` (an int, a tuple of ints, a tuple of pairs) as an
    int64 array, or None for another type."""
    if (isinstance(width, types.UniTuple) and isinstance(width.dtype, types.UniTuple)
            and isinstance(width.dtype.dtype, types.Integer)):
        return _pairs
    return _reps_of(width)


@njit(cache=True)
def _pairs(width):
    out = np.empty(2 * len(width), np.int64)
    for d in range(len(width)):
        out[2 * d], out[2 * d + 1] = width[d][0], width[d][1]
    return out


@overload(pad, jit_options=CACHED)
def _pad(x, width):
    widths_of = _widths_of(width)
    if _is_array(x) and widths_of is not None:
        rank = x.ndim

        def padded(x, width):
            dst, dims = _pad_map(_dims(x.shape), *_pad_widths(widths_of(width), rank))
            out = np.zeros(np.prod(dims), x.dtype)
            out[dst] = np.ascontiguousarray(x).reshape(x.size)
            return out.reshape(to_fixed_tuple(dims, rank))
        return padded
    return None


@overload(pad_adjoint, jit_options=CACHED)
def _pad_adjoint(g, x, width):
    widths_of = _widths_of(width)
    rank = getattr(x, "ndim", 0)

    def adjoint(g, x, width):  # the elements of g where x went
        dst = _pad_map(_dims(x.shape), *_pad_widths(widths_of(width), rank))[0]
        return np.ascontiguousarray(g).reshape(g.size)[dst].astype(np.float64).reshape(
            x.shape)
    return adjoint if widths_of is not None else None


@overload(pad_mode, jit_options=CACHED)
def _pad_mode(x, width, mode, value):
    widths_of = _widths_of(width)
    if _is_array(x) and widths_of is not None:
        rank = x.ndim

        def padded(x, width, mode, value):
            before, after = _pad_widths(widths_of(width), rank)
            src = _pad_sources(_dims(x.shape), before, after, mode)
            flat = np.ascontiguousarray(x).reshape(x.size)
            out = np.empty(src.shape[0], np.float64)
            for m in range(src.shape[0]):
                out[m] = flat[src[m]] if src[m] >= 0 else value
            return out.reshape(to_fixed_tuple(_dims(x.shape) + before + after, rank))
        return padded
    return None


@overload(pad_mode_adjoint, jit_options=CACHED)
def _pad_mode_adjoint(g, x, width, mode):
    widths_of = _widths_of(width)
    rank = getattr(x, "ndim", 0)

    def adjoint(g, x, width, mode):
        src = _pad_sources(_dims(x.shape), *_pad_widths(widths_of(width), rank), mode)
        flat = np.ascontiguousarray(g).reshape(g.size).astype(np.float64)
        return _scatter_sources(flat, src, x.size).reshape(x.shape)
    return adjoint if widths_of is not None else None


@overload(pad_value_adjoint, jit_options=CACHED)
def _pad_value_adjoint(g, x, width, mode):
    widths_of = _widths_of(width)
    rank = getattr(x, "ndim", 0)

    def adjoint(g, x, width, mode):
        src = _pad_sources(_dims(x.shape), *_pad_widths(widths_of(width), rank), mode)
        flat = np.ascontiguousarray(g).reshape(g.size)
        total = 0.0
        for m in range(src.shape[0]):
            if src[m] < 0:
                total += flat[m]
        return total
    return adjoint if widths_of is not None else None


@overload(expand_dims, jit_options=CACHED)
def _expand_dims(x, axis):
    if not _is_array(x):
        return None
    if isinstance(axis, types.Integer):
        return lambda x, axis: np.expand_dims(x, axis)
    if isinstance(axis, types.UniTuple) and isinstance(axis.dtype, types.Integer):
        rank = x.ndim + len(axis)

        def several(x, axis):
            dims = _expanded_dims(_dims(x.shape), _dims(axis))
            return np.ascontiguousarray(x).reshape(to_fixed_tuple(dims, rank))
        return several
    return None


@overload(reshape_like, jit_options=CACHED)
def _reshape_like(g, x):
    if not _is_array(x) or x.ndim == 0:
        if _is_array(g):
            return lambda g, x: g.sum() * 1.0
        return lambda g, x: g * 1.0
    if not _is_array(g):
        return lambda g, x: np.full(x.shape, g * 1.0)
    return lambda g, x: np.ascontiguousarray(g).reshape(x.shape).astype(np.float64)


@overload(tri_mask, jit_options=CACHED)
def _tri_mask_impl(m, k):
    if not _is_array(m):
        return None
    if m.ndim == 1:
        return lambda m, k: _tri_mask(m.shape[0], m.shape[0], k)
    return lambda m, k: _tri_mask(m.shape[-2], m.shape[-1], k)


@overload(astype_float, jit_options=CACHED)
def _astype_float(x):
    if _is_array(x):
        return lambda x: x.astype(np.float64)
    return lambda x: float(x)


@overload(astype_int, jit_options=CACHED)
def _astype_int(x):
    if _is_array(x):
        return lambda x: x.astype(np.int64)
    return lambda x: int(x)


@overload(item, jit_options=CACHED)
def _item(x):
    if _is_array(x):
        def one(x):
            if x.size != 1:
                raise ValueError("item() needs an array of size 1")
            return np.ascontiguousarray(x).reshape(1)[0]
        return one
    return lambda x: x


def _has_index_array(index: Any) -> bool:
    """An integer index array in the index (alone or in a tuple)."""
    parts = index.types if isinstance(index, types.BaseTuple) else (index,)
    return any(_is_array(t) and isinstance(t.dtype, types.Integer) for t in parts)


@overload(last_written, jit_options=CACHED)
def _last_written(d, index):
    if not _is_array(d) or not _has_index_array(index):
        return lambda d, index: d[index]

    def keep_last(d, index):
        out = d[index].astype(np.float64)
        positions = np.arange(d.size).reshape(d.shape)[index]
        _keep_last(out.reshape(out.size), np.ascontiguousarray(positions).reshape(
            positions.size), d.size)
        return out
    return keep_last


def clip(x: Any, low: Any, high: Any) -> Any:
    """``np.clip(x, low, high)`` of numbers as well as arrays (Numba's ``np.clip`` takes
    arrays only): what the forward sweep calls for ``np.clip``."""
    return np.clip(x, low, high)


@overload(clip)
def _clip(x, low, high):
    if not any(_is_array(a) for a in (x, low, high)):
        return lambda x, low, high: min(max(x, low), high)
    return lambda x, low, high: np.clip(x, low, high)


def where(condition: Any, x: Any, y: Any) -> Any:
    """``np.where(condition, x, y)``, a number where all three are numbers (Numba's makes a
    0-d array, which a loop carrying it as a number cannot hold): what the forward sweep
    calls for ``np.where``."""
    return np.where(condition, x, y)


@overload(where, jit_options=CACHED)
def _where(condition, x, y):
    if not any(_is_array(a) for a in (condition, x, y)):
        return lambda condition, x, y: x if condition else y
    return lambda condition, x, y: np.where(condition, x, y)
