"""Forward mode and the derivatives built on it: ``jvp``, ``jacobian``.

``jvp(f, wrt)`` compiles the forward-mode module of :mod:`adcompile.tangents`: the function
takes ``f``'s arguments followed by one tangent per ``wrt`` parameter (each of that
parameter's shape) and returns ``(f(*args), directional derivative)``; ``f`` may return a
float or an array.  ``jacobian(f, wrt)`` runs that function once per entry of a ``wrt``
parameter, in one compiled loop, and stacks the columns: the result has the shape
``f(*args).shape + x.shape``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

from . import codegen, structure
from .api import Wrt, resolve_wrt
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
