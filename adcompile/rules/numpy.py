"""Derivatives of NumPy's array operations: reductions, products, reshaping, selection.

These rules return adjoints already shaped like their arguments (``elementwise=False``), for
arrays of any rank.  ``reduce_adjoint`` spreads the adjoint of a reduction back over the reduced
axes (an int, a tuple, None; kept or not); ``matmul_left``/``matmul_right`` are the two sides of
a matrix product (``outer(g, b)``, ``g @ b.T``, ``a.T @ g``, ..., matrix by matrix for stacks).
Each rule: ``(g, ans, *args)``.

Forward mode: sums, means, reshapes, transposes and stacking are linear (``linear``: the
tangent of the result is the same function of the tangents); products are linear in each
factor (``linear(..., jointly=False)``); the others have a forward rule ``(t, ans, *args)``
beside their reverse rule (``tangent``).
"""

import ast
import operator

import numpy as np

from .. import kernels, kernels_shapes
from ..kernels import (
    matmul_left,
    matmul_right,
    max_along,
    mean_along,
    min_along,
    prod_along,
    prod_others,
    prod_others_tangent,
    reduce_adjoint,
    reduced_size,
    split_along,
    sum_along,
    ties,
    untranspose,
)
from . import derivative, implemented_by, linear, nondifferentiable, rewrite, shape_only, tangent


@derivative(np.sum, elementwise=False)
def sum(g, ans, x):
    return reduce_adjoint(g, x, None)


@derivative(np.sum, sum_along, elementwise=False)
def sum_axis(g, ans, x, axis):
    return reduce_adjoint(g, x, axis), None


@derivative(sum_along, elementwise=False)
def sum_keepdims(g, ans, x, axis, keepdims):
    return reduce_adjoint(g, x, axis), None, None


linear(np.sum, sum_along)


@derivative(np.mean, elementwise=False)
def mean(g, ans, x):
    return reduce_adjoint(g, x, None) / reduced_size(x, None)


@derivative(mean_along, elementwise=False)
def mean_axis(g, ans, x, axis):
    return reduce_adjoint(g, x, axis) / reduced_size(x, axis), None


@derivative(mean_along, elementwise=False)
def mean_keepdims(g, ans, x, axis, keepdims):
    return reduce_adjoint(g, x, axis) / reduced_size(x, axis), None, None


linear(np.mean, mean_along)


@derivative(np.max, np.amax, elementwise=False)
def max(g, ans, x):
    return reduce_adjoint(g, x, None, ties(x, ans, None))


@tangent(np.max, np.amax)
def max_tangent(t, ans, x):
    return np.sum(t * ties(x, ans, None))


@derivative(max_along, elementwise=False)
def max_axis(g, ans, x, axis):
    return reduce_adjoint(g, x, axis, ties(x, ans, axis)), None


@tangent(max_along)
def max_axis_tangent(t, ans, x, axis):
    return sum_along(t * ties(x, ans, axis), axis), None


@derivative(max_along, elementwise=False)
def max_keepdims(g, ans, x, axis, keepdims):
    return reduce_adjoint(g, x, axis, ties(x, ans, axis)), None, None


@tangent(max_along)
def max_keepdims_tangent(t, ans, x, axis, keepdims):
    return sum_along(t * ties(x, ans, axis), axis, keepdims), None, None


@derivative(np.min, np.amin, elementwise=False)
def min(g, ans, x):
    return reduce_adjoint(g, x, None, ties(x, ans, None))


@tangent(np.min, np.amin)
def min_tangent(t, ans, x):
    return np.sum(t * ties(x, ans, None))


@derivative(min_along, elementwise=False)
def min_axis(g, ans, x, axis):
    return reduce_adjoint(g, x, axis, ties(x, ans, axis)), None


@tangent(min_along)
def min_axis_tangent(t, ans, x, axis):
    return sum_along(t * ties(x, ans, axis), axis), None


@derivative(min_along, elementwise=False)
def min_keepdims(g, ans, x, axis, keepdims):
    return reduce_adjoint(g, x, axis, ties(x, ans, axis)), None, None


@tangent(min_along)
def min_keepdims_tangent(t, ans, x, axis, keepdims):
    return sum_along(t * ties(x, ans, axis), axis, keepdims), None, None


@derivative(prod_others, elementwise=False)
def prod_others_rule(g, ans, x, axis):
    # d prod_others(x)_i / d x_j = the product of the group's others than i and j: symmetric
    return prod_others_tangent(x, g, axis), None


@tangent(prod_others)
def prod_others_forward(t, ans, x, axis):
    return prod_others_tangent(x, t, axis), None


@derivative(np.prod, elementwise=False)
def prod(g, ans, x):
    return reduce_adjoint(g, x, None, prod_others(x, None))


@tangent(np.prod)
def prod_tangent(t, ans, x):
    return np.sum(t * prod_others(x, None))


@derivative(prod_along, elementwise=False)
def prod_axis(g, ans, x, axis):
    return reduce_adjoint(g, x, axis, prod_others(x, axis)), None


@tangent(prod_along)
def prod_axis_tangent(t, ans, x, axis):
    return sum_along(t * prod_others(x, axis), axis), None


@derivative(prod_along, elementwise=False)
def prod_keepdims(g, ans, x, axis, keepdims):
    return reduce_adjoint(g, x, axis, prod_others(x, axis)), None, None


@tangent(prod_along)
def prod_keepdims_tangent(t, ans, x, axis, keepdims):
    return sum_along(t * prod_others(x, axis), axis, keepdims), None, None


@derivative(operator.matmul, np.dot, elementwise=False)
def matmul(g, ans, a, b):
    return matmul_left(g, a, b), matmul_right(g, a, b)


linear(operator.matmul, np.dot, jointly=False)


@derivative(np.outer, elementwise=False)
def outer(g, ans, a, b):
    return np.dot(g, b), np.dot(g.T, a)


linear(np.outer, jointly=False)


@derivative(np.transpose, elementwise=False)
def transpose(g, ans, x):
    return np.transpose(g)


@derivative(np.transpose, elementwise=False)
def transpose_axes(g, ans, x, axes):
    return untranspose(g, axes), None


linear(np.transpose)


@derivative(np.swapaxes, elementwise=False)
def swapaxes(g, ans, x, axis1, axis2):
    return np.swapaxes(g, axis1, axis2), None, None


linear(np.swapaxes)


@derivative(np.moveaxis, elementwise=False)
def moveaxis(g, ans, x, source, destination):
    return np.moveaxis(g, destination, source), None, None


linear(np.moveaxis)


@derivative(np.reshape, kernels.reshape, elementwise=False)
def reshape(g, ans, x, shape):
    return kernels.reshape(g, x.shape), None


linear(np.reshape, kernels.reshape)


@derivative(np.squeeze, np.expand_dims, elementwise=False)
def squeeze(g, ans, x, axis):
    return kernels.reshape(g, x.shape), None


linear(np.squeeze, np.expand_dims)


@derivative(np.ravel, elementwise=False)
def ravel(g, ans, x):
    return kernels.reshape(g, x.shape)


linear(np.ravel)


@derivative(np.copy, np.ascontiguousarray, kernels.fresh_copy, elementwise=False)
def copy(g, ans, x):
    return g


linear(np.copy, np.ascontiguousarray, kernels.fresh_copy)


implemented_by(np.where, kernels_shapes.where)  # a number of numbers, as Python's if-else


@derivative(np.where, kernels_shapes.where)
def where(g, ans, condition, x, y):
    return None, kernels_shapes.where(condition, g, 0.0), kernels_shapes.where(condition, 0.0, g)


implemented_by(np.clip, kernels_shapes.clip)  # Numba's np.clip takes no numbers


@derivative(np.clip, kernels_shapes.clip)
def clip(g, ans, x, low, high):
    return g * (x >= low) * (x <= high), g * (x < low), g * (x > high)


@derivative(np.array, np.stack, np.vstack, np.concatenate, elementwise=False)
def stack(g, ans, xs):
    return split_along(g, xs, 0)


@derivative(np.stack, np.concatenate, elementwise=False)
def stack_axis(g, ans, xs, axis):
    return split_along(g, xs, axis), None


@derivative(np.hstack, elementwise=False)
def hstack(g, ans, xs):
    return split_along(g, xs, 0 if g.ndim == 1 else 1)


@derivative(np.column_stack, elementwise=False)
def column_stack(g, ans, xs):
    return split_along(g, xs, 1)


linear(np.array, np.stack, np.vstack, np.concatenate, np.hstack, np.column_stack)


@derivative(np.linspace, elementwise=False)
def linspace(g, ans, start, stop, num):
    return (np.sum(g * (1.0 - np.linspace(0.0, 1.0, num))),
            np.sum(g * np.linspace(0.0, 1.0, num)), None)


@derivative(np.linspace, elementwise=False)
def linspace_50(g, ans, start, stop):
    return np.sum(g * (1.0 - np.linspace(0.0, 1.0, 50))), np.sum(g * np.linspace(0.0, 1.0, 50))


linear(np.linspace)


@derivative(np.arange, elementwise=False)
def arange(g, ans, stop):
    return 0.0


@derivative(np.arange, elementwise=False)
def arange_start(g, ans, start, stop):
    return np.sum(g), 0.0


@derivative(np.arange, elementwise=False)
def arange_step(g, ans, start, stop, step):
    return np.sum(g), 0.0, np.sum(g * np.arange(g.size))


@tangent(np.arange)
def arange_tangent(t, ans, stop):
    return ans * 0.0


@tangent(np.arange)
def arange_start_tangent(t, ans, start, stop):
    return np.full(ans.shape, t), ans * 0.0


@tangent(np.arange)
def arange_step_tangent(t, ans, start, stop, step):
    return np.full(ans.shape, t), ans * 0.0, t * np.arange(ans.size)


@derivative(np.full, elementwise=False)
def full(g, ans, shape, value):
    return None, np.sum(g)


linear(np.full)


@derivative(np.full_like, elementwise=False)
def full_like(g, ans, a, value):
    return None, kernels.fill_adjoint(g, ans)


@tangent(np.full_like)
def full_like_tangent(t, ans, a, value):
    return None, kernels.fill_tangent(t, ans)


shape_only(0, np.full_like)


nondifferentiable(
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like, np.argmax,
    np.argmin, np.shape, np.size, np.ndim, kernels.int_array, kernels.bool_array,
    kernels.same_length, kernels.rows_for, kernels.unpacked, kernels.unpacked_along,
    kernels.raise_error,
)

@derivative(kernels.number_only)
def number_only(g, ans, x):
    return g


linear(kernels.number_only)

# -- dtype= of the functions that make arrays -------------------------------------------------

#: where each function takes ``dtype`` positionally, and the value it fills with
_ALLOCATIONS = {np.zeros: (1, 0), np.ones: (1, 1), np.empty: (1, 0), np.full: (2, None),
                np.zeros_like: (1, 0), np.ones_like: (1, 1), np.empty_like: (1, 0),
                np.full_like: (2, None)}
_KINDS = {"f": "float", "i": "int", "b": "bool"}


@rewrite(*_ALLOCATIONS)
def typed_allocation(call, normalizer):
    """``np.zeros(n, dtype=int)`` and the like: float64 (the default) is the call without
    ``dtype``; int64 and bool arrays are ``kernels.int_array``/``bool_array`` (their
    elements pass no derivative); other dtypes are refused, naming the dtype."""
    func = normalizer.info.resolve(call.func)
    position, fill = _ALLOCATIONS[func]
    dtype = next((k.value for k in call.keywords if k.arg == "dtype"),
                 call.args[position] if len(call.args) > position else None)
    if dtype is None:
        return None
    if isinstance(dtype, ast.Constant) and dtype.value is None:
        dtype = ast.Constant(value="float64")  # dtype=None: NumPy's default
    value = (dtype.value if isinstance(dtype, ast.Constant)
             else normalizer.info.resolve(dtype) if isinstance(dtype, (ast.Name, ast.Attribute))
             else None)
    try:
        kind = _KINDS.get(np.dtype(value).kind) if value is not None else None
        wide = value is not None and np.dtype(value).itemsize == 8 or kind == "bool"
    except TypeError:
        kind, wide = None, False
    if kind is None or not wide or any(k.arg not in ("dtype", "fill_value")
                                       for k in call.keywords):
        raise normalizer.info.error(
            call, f"the array type dtype={ast.unparse(dtype)} is not supported here",
            construct="a dtype", hint="make a float64 array (leave out dtype=) or an integer "
            "or bool one (dtype=int, np.int64, bool); an int array becomes float64 when "
            "multiplied by 1.0")
    args = list(call.args[:position])
    if fill is None:  # np.full(shape, value): the value given
        args = args[:1] + [args[1] if len(args) > 1 else next(
            k.value for k in call.keywords if k.arg == "fill_value")]
    shape = args[0]
    if func in (np.zeros_like, np.ones_like, np.empty_like, np.full_like):
        shape = ast.Call(func=normalizer.numpy_function("shape"), args=[shape], keywords=[])
    value = args[1] if fill is None else ast.Constant(value=fill)
    if kind == "float":
        if fill is None:  # a float array whatever the type of the value
            value = ast.BinOp(left=value, op=ast.Mult(), right=ast.Constant(value=1.0))
            return ast.Call(func=normalizer.numpy_function("full"), args=[shape, value],
                            keywords=[])
        name = func.__name__.removesuffix("_like")
        return ast.Call(func=normalizer.numpy_function(name), args=[shape], keywords=[])
    made = kernels.int_array if kind == "int" else kernels.bool_array
    return ast.Call(func=normalizer.reference(made), args=[shape, value], keywords=[])


@rewrite(np.arange)
def float_arange(call, normalizer):
    """``np.arange(n, dtype=float)`` (np.float64, 'float64') is ``np.arange(n) * 1.0``, the
    float64 array of the same numbers; any other keyword is left to the usual refusal."""
    dtype = next((k.value for k in call.keywords if k.arg == "dtype"), None)
    if dtype is None or len(call.keywords) != 1:
        return None
    value = (dtype.value if isinstance(dtype, ast.Constant)
             else normalizer.info.resolve(dtype) if isinstance(dtype, (ast.Name, ast.Attribute))
             else None)
    try:
        if value is None or np.dtype(value) != np.float64:
            return None
    except TypeError:
        return None
    plain = ast.Call(func=call.func, args=list(call.args), keywords=[])
    return ast.BinOp(left=plain, op=ast.Mult(), right=ast.Constant(value=1.0))


# The helpers that forward-mode code calls (second derivatives: its reverse mode).

@derivative(kernels.stored_tangent, elementwise=False)
def stored_tangent(g, ans, t, y):
    return kernels.stored_adjoint(g, y), None


@derivative(kernels.fresh_tangent, kernels.broadcast_tangent, elementwise=False)
def spread_tangent(g, ans, t, y):
    return kernels.unbroadcast(g, t), None


shape_only(1, kernels.stored_tangent, kernels.fresh_tangent, kernels.broadcast_tangent)
# linear in the tangent: forward mode over forward code (a jvp of a loss that calls a jvp)
linear(kernels.stored_tangent, kernels.fresh_tangent, kernels.broadcast_tangent)


# The helpers that reverse-mode code calls: a gradient of array code is differentiable in
# its turn (a loss that calls a gradient, double backpropagation).  Each is linear in the
# adjoint it spreads or sums; the array it reads only for its shape gets no adjoint.

@derivative(kernels.unbroadcast, elementwise=False)
def unbroadcast(h, ans, g, x):
    return kernels.fresh_tangent(h, g), None


@derivative(reduce_adjoint, elementwise=False)
def reduce_adjoint_of(h, ans, g, x, axis):
    return kernels.reduce_to(h, g, axis), None, None


@derivative(reduce_adjoint, elementwise=False)
def reduce_adjoint_weighted(h, ans, g, x, axis, weights):
    return (kernels.reduce_to(h * weights, g, axis), None, None,
            reduce_adjoint(g, x, axis) * h)


@derivative(kernels.reduce_to, elementwise=False)
def reduce_to(k, ans, h, g, axis):
    return reduce_adjoint(k, h, axis), None, None


@derivative(matmul_left, elementwise=False)
def matmul_left_of(h, ans, g, a, b):
    return h @ b, None, matmul_right(g, h, b)


@derivative(matmul_right, elementwise=False)
def matmul_right_of(h, ans, g, a, b):
    return a @ h, matmul_left(g, a, h), None


@derivative(untranspose, elementwise=False)
def untranspose_of(h, ans, g, axes):
    return np.transpose(h, axes), None


linear(kernels.unbroadcast, untranspose)
linear(reduce_adjoint, matmul_left, matmul_right, kernels.reduce_to, jointly=False)
shape_only(1, kernels.unbroadcast, reduce_adjoint, matmul_left, kernels.reduce_to)
shape_only(2, matmul_right)
nondifferentiable(kernels.zeros_like, kernels.zero_at, kernels.unit_seed, ties, reduced_size)
