"""Forward mode and the derivatives built on it: ``jvp``, ``jacobian``, ``hvp``, ``hessian``.

``jvp(f, wrt)`` compiles the forward-mode module of :mod:`adcompile.tangents`: the function
takes ``f``'s arguments followed by one tangent per ``wrt`` parameter (each of that
parameter's shape) and returns ``(f(*args), directional derivative)``; ``f`` may return a
float or an array.  ``jacobian(f, wrt)`` runs that function once per entry of a ``wrt``
parameter, in one compiled loop, and stacks the columns: the result has the shape
``f(*args).shape + x.shape``.

Second order is reverse over forward: the forward-mode module also holds
``jvp_<name>_tangent(*args, *tangents)``, the directional derivative alone, a scalar function
of the same arguments, and ``hvp(f, wrt)`` is its gradient with respect to ``wrt`` (the
tangents held constant): ``d/dx (grad f(x) . v) = H v``, at the cost of a few gradients and
without forming ``H``.  ``hessian`` runs ``hvp`` once per entry of the ``wrt`` parameters, in
one compiled loop per parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from . import codegen, structure
from .api import Wrt, grad, resolve_wrt
from .errors import AdcompileError, api_boundary
from .frontend import parse_function


def _forward_module(f: Callable, wrt: Wrt, what: str) -> tuple[codegen.Generated, list[str],
                                                                bool, Any]:
    if not callable(f):
        raise AdcompileError(f"expected a function to differentiate, got {f!r}",
                             construct=type(f).__name__,
                             hint=f"pass wrt by keyword: {what}(f, wrt=...)")
    info = parse_function(f)
    try:
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
    except AdcompileError as exc:
        raise AdcompileError(f"in {info.name}(): {exc.message}", filename=info.filename,
                             lineno=info.tree.lineno, construct=exc.construct,
                             hint=exc.hint) from None
    if structure.unpacked_parameters(info) is not None:
        raise AdcompileError(
            f"{info.name}() takes tuple parameters, which {what} does not take yet",
            filename=info.filename, lineno=info.tree.lineno, construct="a tuple parameter",
            hint="pass the tuple's floats and arrays as parameters of their own, or use grad")
    return codegen.generate(info, names, as_tuple, mode="forward"), names, as_tuple, info


@api_boundary
def jvp(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """Forward mode: ``jvp(f, wrt)(*args, *tangents)`` returns ``(f(*args), d)``, where ``d``
    is the derivative of ``f`` at ``args`` in the direction of the tangents (one per ``wrt``
    parameter, each of that parameter's shape; ``d`` has the shape of ``f``'s result).

    The result is a Numba dispatcher, callable from Python and from ``@numba.njit`` code; its
    ``.source`` is the generated code, each statement followed by its tangent ``dt_<name>``.
    """
    if f is None:
        return lambda func: jvp(func, wrt=wrt)
    gen, _, _, _ = _forward_module(f, wrt, "jvp")
    return gen.function("jvp")


@api_boundary
def jacobian(f: Callable, wrt: Wrt = 0) -> Any:
    """The Jacobian of ``f`` (a float or an array result) with respect to ``wrt``, by forward
    mode: one directional derivative per entry of the parameter, in one compiled loop.

    ``jacobian(f, wrt)(*args)`` has the shape ``f(*args).shape + x.shape`` (a float for a
    float result and a float parameter); for a tuple ``wrt``, a tuple of such Jacobians.
    """
    gen, names, as_tuple, info = _forward_module(f, wrt, "jacobian")
    return Jacobian(gen.function("jvp"), [info.params.index(p) for p in names], as_tuple,
                    gen.source("jvp"))


class Jacobian:
    """The compiled Jacobian of a function: call it with the function's arguments."""

    def __init__(self, jvp_fn: Any, positions: list[int], as_tuple: bool, source: str) -> None:
        self.jvp = jvp_fn
        self.positions = positions
        self.as_tuple = as_tuple
        self.source = source

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        args = tuple(np.ascontiguousarray(a, dtype=np.float64) if isinstance(a, (list, np.ndarray))
                     and np.asarray(a).dtype.kind in "biuf" else a for a in args)
        blocks = []
        for k, position in enumerate(self.positions):
            x = args[position]
            seeds = [np.zeros(np.shape(args[p])) if np.ndim(args[p]) else 0.0
                     for p in self.positions]
            blocks.append(_columns(self.jvp, args, tuple(seeds), k, np.ndim(x) > 0))
        if self.as_tuple:
            return tuple(blocks)
        return blocks[0]


def _columns(jvp_fn: Any, args: tuple, seeds: tuple, k: int, array: bool) -> Any:
    """The Jacobian block of ``wrt`` parameter ``k``: one directional derivative per entry."""
    if not array:
        _, d = jvp_fn(*args, *(1.0 if i == k else s for i, s in enumerate(seeds)))
        return d
    shape = np.shape(seeds[k])
    value, _ = jvp_fn(*args, *seeds)
    out_shape = np.shape(value)
    out = np.empty((int(np.prod(out_shape, dtype=np.int64)), int(np.prod(shape))))
    _driver(k, np.ndim(value) > 0)(jvp_fn, args, seeds, out)
    return out.reshape(out_shape + shape)


_DRIVERS: dict[tuple[int, bool], Any] = {}


def _driver(k: int, array_value: bool) -> Any:
    """The compiled loop over the entries of ``wrt`` parameter ``k`` (a literal index, since
    the tangents of several parameters form a tuple of different types)."""
    key = (k, array_value)
    if key not in _DRIVERS:
        column = "d.ravel()" if array_value else "d"
        source = (
            "def columns(jvp_fn, args, seeds, out):\n"
            f"    seed = seeds[{k}].reshape(-1)\n"
            "    for j in range(out.shape[1]):\n"
            "        seed[j] = 1.0\n"
            "        _, d = jvp_fn(*args, *seeds)\n"
            f"        out[:, j] = {column}\n"
            "        seed[j] = 0.0\n")
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<adcompile jacobian loop {k}>", "exec"), namespace)
        _DRIVERS[key] = numba.njit(namespace["columns"])
    return _DRIVERS[key]


@api_boundary
def hvp(f: Callable, wrt: Wrt = 0) -> Any:
    """Hessian-vector products of the scalar function ``f``: ``hvp(f, wrt)(*args, *v)`` is
    ``H @ v`` (of ``wrt``'s shape; a tuple for a tuple ``wrt``, each part the sum over the
    ``wrt`` parameters of the Hessian block times that parameter's ``v``), without forming
    ``H``.  Reverse mode over forward mode; a compiled function with ``.source``."""
    gen, names, as_tuple, _ = _forward_module(f, wrt, "hvp")
    return grad(gen.function("tangent"), wrt=tuple(names) if as_tuple else names[0])


@api_boundary
def hessian(f: Callable, wrt: Wrt = 0) -> Any:
    """The Hessian of the scalar function ``f``: ``hessian(f, wrt)(*args)`` has the shape
    ``x.shape + x.shape`` (a float for a float ``x``); for a tuple ``wrt``, a tuple of tuples
    whose block ``(i, j)`` is ``d2 f / d wrt_i d wrt_j`` of shape ``x_i.shape + x_j.shape``.
    One Hessian-vector product (:func:`hvp`) per entry, in a compiled loop."""
    gen, names, as_tuple, info = _forward_module(f, wrt, "hessian")
    products = grad(gen.function("tangent"), wrt=tuple(names) if as_tuple else names[0])
    return Hessian(products, [info.params.index(p) for p in names], as_tuple)


class Hessian:
    """The compiled Hessian of a function: call it with the function's arguments."""

    def __init__(self, products: Any, positions: list[int], as_tuple: bool) -> None:
        self.hvp = products
        self.positions = positions
        self.as_tuple = as_tuple
        self.source = products.source

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        args = tuple(np.ascontiguousarray(a, dtype=np.float64) if isinstance(a, np.ndarray)
                     and a.dtype.kind in "biuf" else a for a in args)
        xs = [args[p] for p in self.positions]
        seeds = tuple(np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in xs)
        arrays = [np.ndim(x) > 0 for x in xs]
        sizes = [int(np.size(x)) for x in xs]
        rows: list[list[Any]] = [[None] * len(xs) for _ in xs]
        for j, x in enumerate(xs):
            outs = tuple(np.empty((sizes[i], sizes[j])) for i in range(len(xs)))
            if arrays[j]:
                _hessian_driver(j, self.as_tuple, tuple(arrays))(self.hvp, args, seeds, outs)
            else:
                hv = self.hvp(*args, *(1.0 if i == j else s for i, s in enumerate(seeds)))
                for i, part in enumerate(hv if self.as_tuple else (hv,)):
                    outs[i][:, 0] = np.ravel(part)
            for i in range(len(xs)):
                block = outs[i].reshape(np.shape(xs[i]) + np.shape(x))
                rows[i][j] = float(block) if block.ndim == 0 else block
        if self.as_tuple:
            return tuple(tuple(row) for row in rows)
        return rows[0][0]


_HESSIAN_DRIVERS: dict[tuple[int, bool, tuple[bool, ...]], Any] = {}


def _hessian_driver(j: int, as_tuple: bool, arrays: tuple[bool, ...]) -> Any:
    """The compiled loop over the entries of ``wrt`` parameter ``j``: column ``k`` of every
    block ``(i, j)`` is part ``i`` of the Hessian-vector product with the ``k``-th unit
    vector of parameter ``j``."""
    key = (j, as_tuple, arrays)
    if key not in _HESSIAN_DRIVERS:
        lines = ["def columns(hvp_fn, args, seeds, outs):",
                 f"    seed = seeds[{j}].reshape(-1)",
                 "    for k in range(seed.size):",
                 "        seed[k] = 1.0",
                 "        hv = hvp_fn(*args, *seeds)"]
        for i, array in enumerate(arrays):
            part = f"hv[{i}]" if as_tuple else "hv"
            lines.append(f"        outs[{i}][:, k] = {part}.ravel()" if array
                         else f"        outs[{i}][0, k] = {part}")
        lines.append("        seed[k] = 0.0")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", f"<adcompile hessian loop {j}>", "exec"),
             namespace)
        _HESSIAN_DRIVERS[key] = numba.njit(namespace["columns"])
    return _HESSIAN_DRIVERS[key]
