"""Scans, differences, selection and rearrangement of arrays (cumsum, diff, flip, roll,
diag, tril, sort, repeat, tile, pad, ...).

Operations along an axis that Numba's NumPy lacks (an ``axis``, a tuple of axes) run as the
kernels of ``kernels_shapes`` (``implemented_by``); their rules call the adjoint kernels.  Every
rearrangement is linear, so forward mode applies the same function to the tangents
(``linear``); ``cumprod`` and ``sort`` have forward rules.  Functions that are short
expressions of others (``fliplr``, ``rot90``, ``tril``, ``trace``, ``append``) are composites,
differentiated like user code.  Each rule: ``(g, ans, *args)``.
"""

import ast

import numpy as np

from .. import einsum as _einsum
from .. import kernels_shapes as ks
from ..kernels import reshape, sum_along, unbroadcast, zeros_like
from . import (
    composite,
    derivative,
    implemented_by,
    linear,
    nondifferentiable,
    rewrite,
    shape_only,
    tangent,
)
from .linalg import _arguments, _is_int, _literal

# -- scans ------------------------------------------------------------------------------------

implemented_by(np.cumsum, ks.cumsum)


@derivative(np.cumsum, ks.cumsum, elementwise=False)
def cumsum(g, ans, x):
    return ks.cumsum_adjoint(g, x, None)


@derivative(np.cumsum, ks.cumsum, elementwise=False)
def cumsum_axis(g, ans, x, axis):
    return ks.cumsum_adjoint(g, x, axis), None


linear(np.cumsum, ks.cumsum)
implemented_by(np.cumprod, ks.cumprod)


def cumprod_tangent(t, ans, x):
    return ks.cumprod_tangent(t, x, None)


@derivative(np.cumprod, ks.cumprod, elementwise=False, forward=cumprod_tangent)
def cumprod(g, ans, x):
    return ks.cumprod_adjoint(g, x, None)


def cumprod_axis_tangent(t, ans, x, axis):
    return ks.cumprod_tangent(t, x, axis), None


@derivative(np.cumprod, ks.cumprod, elementwise=False, forward=cumprod_axis_tangent)
def cumprod_axis(g, ans, x, axis):
    return ks.cumprod_adjoint(g, x, axis), None


def cumprod_tangent_forward(dt, ans, t, x, axis):
    return ks.cumprod_tangent(dt, x, axis), ks.cumprod_tangent2(t, dt, x, axis), None


@derivative(ks.cumprod_tangent, elementwise=False, forward=cumprod_tangent_forward)
def cumprod_tangent_reverse(g, ans, t, x, axis):
    """Second order of ``cumprod``: the tangent is linear in ``t`` (its adjoint is the
    adjoint of ``cumprod``) and multilinear in ``x``."""
    return ks.cumprod_adjoint(g, x, axis), ks.cumprod_tangent_adjoint(g, t, x, axis), None


# -- differences ------------------------------------------------------------------------------

implemented_by(np.diff, ks.diff)


@derivative(np.diff, ks.diff, elementwise=False)
def diff(g, ans, x):
    return ks.diff_adjoint(g, x, 1, -1)


@derivative(np.diff, ks.diff, elementwise=False)
def diff_n(g, ans, x, n):
    return ks.diff_adjoint(g, x, n, -1), None


@derivative(np.diff, ks.diff, elementwise=False)
def diff_axis(g, ans, x, n, axis):
    return ks.diff_adjoint(g, x, n, axis), None, None


linear(np.diff, ks.diff)

# -- diagonals and triangles ------------------------------------------------------------------


@derivative(np.diag, elementwise=False)
def diag(g, ans, v):
    return ks.diag_adjoint(g, v, 0)


@derivative(np.diag, elementwise=False)
def diag_k(g, ans, v, k):
    return ks.diag_adjoint(g, v, k), None


linear(np.diag)
implemented_by(np.diagonal, ks.diagonal)


@derivative(np.diagonal, ks.diagonal, elementwise=False)
def diagonal(g, ans, x):
    return ks.diagonal_adjoint(g, x, 0, 0, 1)


@derivative(np.diagonal, ks.diagonal, elementwise=False)
def diagonal_offset(g, ans, x, offset):
    return ks.diagonal_adjoint(g, x, offset, 0, 1), None


@derivative(np.diagonal, ks.diagonal, elementwise=False)
def diagonal_axis1(g, ans, x, offset, axis1):
    return ks.diagonal_adjoint(g, x, offset, axis1, 1), None, None


@derivative(np.diagonal, ks.diagonal, elementwise=False)
def diagonal_axes(g, ans, x, offset, axis1, axis2):
    return ks.diagonal_adjoint(g, x, offset, axis1, axis2), None, None, None


linear(np.diagonal, ks.diagonal)


@composite(np.trace)
def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return sum_along(np.diagonal(a, offset, axis1, axis2), -1)


@composite(np.tril)
def tril(m, k=0):
    return np.where(ks.tri_mask(m, k), m, 0.0)


@composite(np.triu)
def triu(m, k=0):
    return np.where(ks.tri_mask(m, k - 1), 0.0, m)


# -- reversing, rolling, rotating -------------------------------------------------------------

implemented_by(np.flip, ks.flip)


@derivative(np.flip, ks.flip, elementwise=False)
def flip(g, ans, x):
    return ks.flip(g, None)


@derivative(np.flip, ks.flip, elementwise=False)
def flip_axis(g, ans, x, axis):
    return ks.flip(g, axis), None


linear(np.flip, ks.flip)


@composite(np.fliplr)
def fliplr(m):
    return np.flip(m, 1)


@composite(np.flipud)
def flipud(m):
    return np.flip(m, 0)


implemented_by(np.roll, ks.roll)


@derivative(np.roll, ks.roll, elementwise=False)
def roll(g, ans, x, shift):
    return ks.roll(g, -shift, None), None


@derivative(np.roll, ks.roll, elementwise=False)
def roll_axis(g, ans, x, shift, axis):
    return ks.roll(g, -shift, axis), None, None


linear(np.roll, ks.roll)


@composite(np.rot90)
def rot90(m, k=1, axes=(0, 1)):
    if k == 0 or k == 4 or k == -4:
        turned = m
    elif k == 1 or k == 5 or k == -3:
        turned = np.swapaxes(np.flip(m, axes[1]), axes[0], axes[1])
    elif k == 2 or k == 6 or k == -2:
        turned = np.flip(np.flip(m, axes[0]), axes[1])
    elif k == 3 or k == 7 or k == -1:
        turned = np.flip(np.swapaxes(m, axes[0], axes[1]), axes[1])
    else:  # k computed when the function runs: the same four cases
        quarter = k % 4
        if quarter == 1:
            turned = np.swapaxes(np.flip(m, axes[1]), axes[0], axes[1])
        elif quarter == 2:
            turned = np.flip(np.flip(m, axes[0]), axes[1])
        elif quarter == 3:
            turned = np.flip(np.swapaxes(m, axes[0], axes[1]), axes[1])
        else:
            turned = np.flip(np.flip(m, axes[0]), axes[0])
    return turned


# -- repeating, tiling, taking ----------------------------------------------------------------

implemented_by(np.repeat, ks.repeat)


@derivative(np.repeat, ks.repeat, elementwise=False)
def repeat(g, ans, x, repeats):
    return ks.repeat_adjoint(g, x, repeats, None), None


@derivative(np.repeat, ks.repeat, elementwise=False)
def repeat_axis(g, ans, x, repeats, axis):
    return ks.repeat_adjoint(g, x, repeats, axis), None, None


linear(np.repeat, ks.repeat)
implemented_by(np.tile, ks.tile)


@derivative(np.tile, ks.tile, elementwise=False)
def tile(g, ans, x, reps):
    return ks.tile_adjoint(g, x, reps), None


linear(np.tile, ks.tile)
implemented_by(np.pad, ks.pad)


@derivative(np.pad, ks.pad, elementwise=False)
def pad(g, ans, x, width):
    return ks.pad_adjoint(g, x, width), None


linear(np.pad, ks.pad)


@rewrite(np.pad)
def pad_modes(call, normalizer):
    """``np.pad(x, width, mode=..., constant_values=c)``: the modes ``'constant'`` (``c`` a
    number, differentiable too), ``'edge'``, ``'wrap'``, ``'reflect'`` and ``'symmetric'``
    as ``pad_mode(x, width, code, c)``; without options, the kernel ``pad`` as before."""
    if not call.keywords and len(call.args) <= 2:
        return None
    args = _arguments(call, normalizer, ["array", "pad_width", "mode", "constant_values",
                                         "reflect_type"], {})
    mode = _literal(args["mode"], normalizer, "constant")
    reflect = _literal(args["reflect_type"], normalizer, "even")

    def refuse(message, hint):
        return normalizer.info.error(call, message, construct="np.pad", hint=hint)

    if args["array"] is None or args["pad_width"] is None:
        raise refuse("np.pad takes an array and its pad widths", "np.pad(x, 2, mode='edge')")
    if mode not in ks.PAD_MODES:
        raise refuse(f"np.pad's mode={mode!r} is not supported",
                     f"write the mode as a literal, one of {', '.join(ks.PAD_MODES)}")
    if reflect != "even":
        raise refuse("np.pad's reflect_type='odd' is not supported", "leave reflect_type "
                     "at its default ('even')")
    value = args["constant_values"]
    if value is not None and mode != "constant":
        raise refuse(f"constant_values= goes with mode='constant', not mode={mode!r}",
                     "leave constant_values out")
    if isinstance(value, (ast.Tuple, ast.List)):
        raise refuse("np.pad's constant_values is one number here, not one per side",
                     "pad with one number, then set the sides that differ: y[:2] = a")
    code = ast.Constant(value=ks.PAD_MODES.index(mode))
    return ast.Call(func=normalizer.reference(ks.pad_mode),
                    args=[args["array"], args["pad_width"], code,
                          value if value is not None else ast.Constant(value=0.0)],
                    keywords=[])


@derivative(ks.pad_mode, elementwise=False)
def pad_mode(g, ans, x, width, mode, value):
    return (ks.pad_mode_adjoint(g, x, width, mode), None, None,
            ks.pad_value_adjoint(g, x, width, mode))


@tangent(ks.pad_mode)
def pad_mode_tangent(t, ans, x, width, mode, value):
    return (ks.pad_mode(t, width, mode, 0.0), None, None,
            ks.pad_mode(zeros_like(x), width, mode, t))


# the adjoints are linear in g, and the transpose of padding's transpose is padding
@derivative(ks.pad_mode_adjoint, elementwise=False)
def pad_mode_adjoint(h, ans, g, x, width, mode):
    return ks.pad_mode(h, width, mode, 0.0), None, None, None


@derivative(ks.pad_value_adjoint, elementwise=False)
def pad_value_adjoint(h, ans, g, x, width, mode):
    return ks.pad_mode(zeros_like(x), width, mode, h), None, None, None


linear(ks.pad_mode_adjoint, ks.pad_value_adjoint)
shape_only(1, ks.pad_mode_adjoint, ks.pad_value_adjoint)
implemented_by(np.take, ks.take)


@derivative(np.take, ks.take, elementwise=False)
def take(g, ans, x, indices):
    return ks.take_adjoint(g, x, indices, None), None


@derivative(np.take, ks.take, elementwise=False)
def take_axis(g, ans, x, indices, axis):
    return ks.take_adjoint(g, x, indices, axis), None, None


linear(np.take, ks.take)

# -- boolean masks (the normalizer writes x[mask] and y[mask] = v with these) -----------------


@derivative(ks.masked, elementwise=False)
def masked(g, ans, x, mask):
    return ks.mask_put(zeros_like(x), mask, g), None


@derivative(ks.mask_put, elementwise=False)
def mask_put(g, ans, y, mask, v):
    return ks.mask_put(g, mask, 0.0), None, unbroadcast(ks.masked(g, mask), v)


linear(ks.masked, ks.mask_put)


@composite(np.append)
def append(arr, values, axis=None):
    if not isinstance(axis, int):  # None
        joined = np.concatenate((np.ravel(np.atleast_1d(arr)),
                                 np.ravel(np.atleast_1d(values))))
    else:
        joined = np.concatenate((arr, values), axis)
    return joined


# -- changes of rank --------------------------------------------------------------------------

@derivative(np.atleast_1d, np.atleast_2d, np.atleast_3d, elementwise=False)
def atleast(g, ans, x):
    return ks.reshape_like(g, x)


linear(np.atleast_1d, np.atleast_2d, np.atleast_3d)
implemented_by(np.expand_dims, ks.expand_dims)


@derivative(ks.expand_dims, elementwise=False)
def expand_dims(g, ans, x, axis):
    return reshape(g, x.shape), None


linear(ks.expand_dims)

# -- sorting ----------------------------------------------------------------------------------

implemented_by(np.sort, ks.sort)


def sort_tangent(t, ans, x):
    return ks.sort_tangent(t, x, -1)


@derivative(np.sort, ks.sort, elementwise=False, forward=sort_tangent)
def sort(g, ans, x):
    return ks.sort_adjoint(g, x, -1)


def sort_axis_tangent(t, ans, x, axis):
    return ks.sort_tangent(t, x, axis), None


@derivative(np.sort, ks.sort, elementwise=False, forward=sort_axis_tangent)
def sort_axis(g, ans, x, axis):
    return ks.sort_adjoint(g, x, axis), None


@derivative(ks.sort_tangent, elementwise=False)
def sort_tangent_reverse(g, ans, t, x, axis):
    """The tangent of a sort is linear in ``t``; the permutation is constant almost
    everywhere (second derivatives through ``sort``)."""
    return ks.sort_adjoint(g, x, axis), None, None


linear(ks.sort_tangent)
shape_only(1, ks.sort_tangent)

# -- array methods and conversions ------------------------------------------------------------


@derivative(ks.astype_float, elementwise=False)
def astype_float(g, ans, x):
    return ks.reshape_like(g, x)


linear(ks.astype_float)


@derivative(ks.item, elementwise=False)
def item(g, ans, x):
    return ks.reshape_like(g, x)


linear(ks.item)
nondifferentiable(np.argsort, np.any, np.all, ks.tri_mask, np.digitize, np.searchsorted,
                  ks.astype_int)


@composite(np.interp)
def interp(x, xp, fp):
    # the segment of the increasing xp holding x, and the weight of its right end (clipped:
    # fp[0] left of xp[0], fp[-1] right of xp[-1], as NumPy)
    k = np.clip(np.searchsorted(xp, x) - 1, 0, len(xp) - 2)
    t = np.clip((x - xp[k]) / (xp[k + 1] - xp[k]), 0.0, 1.0)
    return fp[k] + t * (fp[k + 1] - fp[k])


# -- broadcasting, stacking by depth, splitting ------------------------------------------------


@derivative(np.broadcast_to, elementwise=False)
def broadcast_to(g, ans, x, shape):
    return unbroadcast(g, x), None


linear(np.broadcast_to)


def _call(normalizer, name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=normalizer.numpy_function(name), args=list(args), keywords=[])


def _display(call: ast.Call, normalizer, node: ast.expr | None, what: str, hint: str
             ) -> list[ast.expr]:
    """The items of the tuple or list display ``node``, the argument of ``what``."""
    if not isinstance(node, (ast.Tuple, ast.List)) or not node.elts or any(
            isinstance(e, ast.Starred) for e in node.elts):
        raise normalizer.info.error(call, f"{what} needs its arrays written in the call, as a "
                                    "tuple or list display (the number of parts decides the "
                                    "code)", construct=what, hint=hint)
    return list(node.elts)


@rewrite(np.dstack)
def dstack(call: ast.Call, normalizer) -> ast.expr:
    """``np.dstack((a, b))``: ``np.concatenate`` of the parts made 3-D, along axis 2."""
    args = _arguments(call, normalizer, ["tup"], {})
    parts = _display(call, normalizer, args["tup"], "np.dstack", "np.dstack((a, b))")
    made = [_call(normalizer, "atleast_3d", part) for part in parts]
    return _call(normalizer, "concatenate", ast.Tuple(elts=made, ctx=ast.Load()),
                 ast.Constant(value=2))


@rewrite(np.block)
def block(call: ast.Call, normalizer) -> ast.expr:
    """``np.block([[A, B], [C, D]])`` (nested lists, depth 1 or 2): each inner list
    concatenated along the last axis, the rows along the one before (parts made 1-D or 2-D
    first, as NumPy does); deeper nesting is refused."""
    args = _arguments(call, normalizer, ["arrays"], {})
    hint = "np.block([[A, B], [C, D]]), or np.concatenate along the axes you mean"
    rows = _display(call, normalizer, args["arrays"], "np.block", hint)
    nested = [isinstance(row, (ast.List, ast.Tuple)) for row in rows]
    if not any(nested):
        made = [_call(normalizer, "atleast_1d", part) for part in rows]
        return _call(normalizer, "concatenate", ast.Tuple(elts=made, ctx=ast.Load()),
                     ast.Constant(value=-1))
    if not all(nested) or any(isinstance(part, (ast.List, ast.Tuple))
                              for row in rows for part in row.elts):
        raise normalizer.info.error(call, "np.block with lists nested to different depths, "
                                    "or deeper than 2, is not supported", construct="np.block",
                                    hint=hint)
    joined = []
    for row in rows:
        made = [_call(normalizer, "atleast_2d", part)
                for part in _display(call, normalizer, row, "np.block", hint)]
        joined.append(_call(normalizer, "concatenate", ast.Tuple(elts=made, ctx=ast.Load()),
                            ast.Constant(value=-1)))
    return _call(normalizer, "concatenate", ast.Tuple(elts=joined, ctx=ast.Load()),
                 ast.Constant(value=-2))


def _split(call: ast.Call, normalizer, even: bool) -> ast.expr:
    """``np.split(x, n, axis)`` / ``np.array_split`` with a literal count or literal indices
    and a literal axis >= 0: the tuple of the slices of ``x`` along ``axis`` (NumPy returns
    a list); ``array_split`` gives the first ``len % n`` parts one more element."""
    what = "np.split" if even else "np.array_split"
    args = _arguments(call, normalizer, ["ary", "indices_or_sections", "axis"], {})
    sections = _literal(args["indices_or_sections"], normalizer)
    axis = _literal(args["axis"], normalizer, 0)
    hint = (f"write the parts and the axis as literals: {what}(x, 2, axis=0) or "
            f"{what}(x, (1, 3)); for a negative axis name it from the front")
    if not (_is_int(axis) and axis >= 0) or not (
            (_is_int(sections) and sections > 0)
            or (isinstance(sections, tuple) and all(map(_is_int, sections)))):
        raise normalizer.info.error(call, f"{what} needs a literal number of parts (or "
                                    "literal indices) and a literal axis >= 0", construct=what,
                                    hint=hint)
    if args["ary"] is None:
        raise normalizer.info.error(call, f"{what} takes an array", construct=what, hint=hint)
    x = _einsum.bound(normalizer, args["ary"], "x")

    def part(start: ast.expr | None, stop: ast.expr | None) -> ast.expr:
        index = [ast.Slice() for _ in range(axis)] + [ast.Slice(lower=start, upper=stop)]
        where = index[0] if len(index) == 1 else ast.Tuple(elts=index, ctx=ast.Load())
        return ast.Subscript(value=x, slice=where, ctx=ast.Load())

    if isinstance(sections, tuple):
        bounds = [None, *[ast.Constant(value=v) for v in sections], None]
        return ast.Tuple(elts=[part(a, b) for a, b in zip(bounds, bounds[1:], strict=False)],
                         ctx=ast.Load())
    length = ast.Subscript(value=ast.Attribute(value=x, attr="shape", ctx=ast.Load()),
                           slice=ast.Constant(value=axis), ctx=ast.Load())
    size = _einsum.bound(normalizer, ast.BinOp(left=length, op=ast.FloorDiv(),
                                               right=ast.Constant(value=sections)), "size")
    extra = _einsum.bound(normalizer, ast.BinOp(left=length, op=ast.Mod(),
                                                right=ast.Constant(value=sections)), "extra")

    def start(i: int) -> ast.expr:
        # i * size + min(i, extra): the first `extra` parts are one longer
        longer = ast.Call(func=normalizer.reference(min),
                          args=[ast.Constant(value=i), extra], keywords=[])
        return ast.BinOp(left=ast.BinOp(left=ast.Constant(value=i), op=ast.Mult(), right=size),
                         op=ast.Add(), right=longer)

    bounds = [None, *[start(i) for i in range(1, sections)], None]
    return ast.Tuple(elts=[part(a, b) for a, b in zip(bounds, bounds[1:], strict=False)],
                     ctx=ast.Load())


@rewrite(np.array_split, gives_tuple=True)
def array_split(call: ast.Call, normalizer) -> ast.expr:
    return _split(call, normalizer, even=False)


@rewrite(np.split, gives_tuple=True)
def split(call: ast.Call, normalizer) -> ast.expr:
    return _split(call, normalizer, even=True)


# -- conversions to float64, Python's sum, max and min of one array ---------------------------


def _float_dtype(node: ast.expr, normalizer) -> bool:
    return (isinstance(node, (ast.Name, ast.Attribute))
            and normalizer.info.resolve(node) in (float, np.float64))


@rewrite(np.float64, np.asarray, np.array)
def as_float64(call: ast.Call, normalizer) -> ast.expr | None:
    """``np.float64(x)`` and ``np.asarray(x, dtype=np.float64)`` (``np.array``, ``dtype=
    float``): ``x`` made float64 by ``astype_float`` (a float of a number, a float64 copy of
    an array; a display is made an array first).  Other calls are left as they are."""
    convert = normalizer.reference(ks.astype_float)
    if normalizer.info.resolve(call.func) is np.float64:
        if len(call.args) != 1 or call.keywords:
            return None
        return ast.Call(func=convert, args=[call.args[0]], keywords=[])
    dtypes = [kw for kw in call.keywords if kw.arg == "dtype"]
    if not dtypes or not _float_dtype(dtypes[0].value, normalizer):
        return None
    if (len(call.args) == 1 and len(call.keywords) == 1
            and not isinstance(call.args[0], (ast.Tuple, ast.List))):
        return ast.Call(func=convert, args=[call.args[0]], keywords=[])
    inner = ast.Call(func=call.func, args=call.args,
                     keywords=[kw for kw in call.keywords if kw.arg != "dtype"])
    return ast.Call(func=convert, args=[inner], keywords=[])


@rewrite(sum, max, min)
def builtin_of_array(call: ast.Call, normalizer) -> ast.expr | None:
    """Python's ``sum(x)``, ``max(x)``, ``min(x)`` of one value that is not a display: over
    the first axis, as Python iterates an array (``sum`` of a matrix is the sum of its rows,
    ``np.sum(x, axis=0)``; ``max`` and ``min`` of a vector are ``np.max``, ``np.min``).
    ``sum`` of a display is the chain of ``+`` Python computes.  Other calls are left as they
    are (``max(a, b)`` has its rule)."""
    if len(call.args) != 1 or call.keywords or isinstance(call.args[0], ast.Starred):
        return None
    which = normalizer.info.resolve(call.func)
    (arg,) = call.args
    if isinstance(arg, (ast.Tuple, ast.List)):
        if which is not sum or not arg.elts or any(isinstance(e, ast.Starred) for e in arg.elts):
            return None
        total = arg.elts[0]
        for item in arg.elts[1:]:
            total = ast.BinOp(left=total, op=ast.Add(), right=item)
        return total
    if isinstance(arg, (ast.GeneratorExp, ast.ListComp)):
        return None
    if which is sum:
        return _call(normalizer, "sum", arg, ast.Constant(value=0))
    return _call(normalizer, which.__name__, arg)


@rewrite(any, all)
def builtin_test_of_array(call: ast.Call, normalizer) -> ast.expr | None:
    """Python's ``any(x)`` and ``all(x)`` of an array (``if any(w > 0.5):``) as ``np.any``,
    ``np.all``, which Numba compiles (it has no builtin ``any``).  Displays and generators
    are left as they are."""
    if len(call.args) != 1 or call.keywords or isinstance(
            call.args[0], (ast.Starred, ast.Tuple, ast.List, ast.GeneratorExp, ast.ListComp)):
        return None
    return _call(normalizer, normalizer.info.resolve(call.func).__name__, call.args[0])


# -- np.gradient: central differences along one axis ------------------------------------------


def gradient_forward(t, ans, f, h, axis):
    return ks.gradient_along(t, h, axis), -t * ans / h, None


@derivative(ks.gradient_along, elementwise=False, forward=gradient_forward)
def gradient(g, ans, f, h, axis):
    return ks.gradient_adjoint(g, h, axis), -np.sum(g * ans) / h, None


def gradient_adjoint_forward(t, ans, g, h, axis):
    return ks.gradient_adjoint(t, h, axis), -t * ans / h, None


@derivative(ks.gradient_adjoint, elementwise=False, forward=gradient_adjoint_forward)
def gradient_adjoint(k, ans, g, h, axis):
    return ks.gradient_along(k, h, axis), -np.sum(k * ans) / h, None


@rewrite(np.gradient)
def gradient_call(call: ast.Call, normalizer) -> ast.expr:
    """``np.gradient(f)``, ``np.gradient(f, h)``, ``np.gradient(f, h, axis=k)`` (a literal
    int axis, edge_order 1) as ``gradient_along(f, h, axis)``; without an axis ``f`` must be
    a vector (checked when Numba types it)."""
    hint = ("np.gradient(v) or np.gradient(v, h) of a vector, np.gradient(x, h, axis=1) of an "
            "array, h one number")
    keywords = {kw.arg: kw.value for kw in call.keywords}
    axis = _literal(keywords.pop("axis", None), normalizer)
    edge = _literal(keywords.pop("edge_order", None), normalizer, 1)
    if (keywords or not 1 <= len(call.args) <= 2 or edge != 1
            or not (axis is None or _is_int(axis))
            or any(isinstance(a, ast.Starred) for a in call.args)):
        raise normalizer.info.error(call, "this form of np.gradient is not supported (one "
                                    "spacing, one literal axis, edge_order=1)",
                                    construct="np.gradient", hint=hint)
    spacing = call.args[1] if len(call.args) == 2 else ast.Constant(value=1.0)
    return ast.Call(func=normalizer.reference(ks.gradient_along),
                    args=[call.args[0], spacing, ast.Constant(value=axis)], keywords=[])


@rewrite(np.meshgrid, gives_tuple=True)
def meshgrid(call: ast.Call, normalizer) -> ast.expr:
    """``np.meshgrid(x, y)`` of two vectors (``indexing='xy'``, the default, or ``'ij'``):
    the pair of grids, each vector broadcast along the other's axis (a copy, as NumPy's)."""
    keywords = {kw.arg: _literal(kw.value, normalizer) for kw in call.keywords}
    indexing = keywords.pop("indexing", "xy")
    if (len(call.args) != 2 or keywords or indexing not in ("xy", "ij")
            or any(isinstance(a, ast.Starred) for a in call.args)):
        raise normalizer.info.error(call, "np.meshgrid is supported for two vectors, with "
                                    "indexing='xy' or 'ij'", construct="np.meshgrid",
                                    hint="xs, ys = np.meshgrid(x, y)")
    x, y = (_einsum.bound(normalizer, a, name) for a, name in zip(call.args, "xy", strict=True))

    def length(v: ast.expr) -> ast.expr:
        return ast.Subscript(value=ast.Attribute(value=v, attr="shape", ctx=ast.Load()),
                             slice=ast.Constant(value=0), ctx=ast.Load())

    rows, columns = (y, x) if indexing == "xy" else (x, y)
    shape = ast.Tuple(elts=[length(rows), length(columns)], ctx=ast.Load())
    column = ast.Subscript(value=rows, slice=ast.Tuple(elts=[ast.Slice(), ast.Constant(
        value=None)], ctx=ast.Load()), ctx=ast.Load())
    grids = [_call(normalizer, "broadcast_to", columns, shape),
             _call(normalizer, "broadcast_to", column, shape)]
    if indexing == "ij":
        grids.reverse()  # x varies along the rows, y along the columns
    copies = [ast.Call(func=ast.Attribute(value=g, attr="copy", ctx=ast.Load()), args=[],
                       keywords=[]) for g in grids]
    return ast.Tuple(elts=copies, ctx=ast.Load())
