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


def _forward_module(f: Callable, wrt: Wrt, what: str, mode: str | None = "forward"
                    ) -> tuple[Any, list[str], bool, Any]:
    """The generated module of ``f`` for ``mode`` (``"forward"``: jvp; ``"vjp"``; None:
    only the checks), the ``wrt`` names, whether they form a tuple, and ``f``'s info."""
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
    if mode is None:  # checked only
        return None, names, as_tuple, info
    return codegen.generate(info, names, as_tuple, mode=mode), names, as_tuple, info


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
    fn = gen.function("jvp")
    fn.pair = "directional derivative"
    return fn


def derivative_of(f: Callable, wrt: tuple[str, ...]) -> Any:
    """``f``'s derivative with respect to its one number ``wrt``, as a compiled function of
    ``f``'s arguments: ``jvp_<f>_tangent`` with the tangent 1 (what ``grad(grad(f))``
    differentiates; an array ``wrt`` is refused when it is called)."""
    info = parse_function(f)
    gen = codegen.generate(info, list(wrt), False, mode="forward")
    return gen.function("derivative")


@api_boundary
def vjp(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """Reverse mode seeded with a cotangent: ``vjp(f, wrt)(*args, cotangent)`` returns
    ``(f(*args), g)``, where ``g`` is the gradient of ``sum(f(*args) * cotangent)`` with
    respect to ``wrt`` (a tuple of them for a tuple ``wrt``); ``cotangent`` has the shape of
    ``f``'s result, which may be a float or an array.  A compiled function with ``.source``.
    """
    if f is None:
        return lambda func: vjp(func, wrt=wrt)
    gen, _, _, _ = _forward_module(f, wrt, "vjp", mode="vjp")
    fn = gen.function("vjp")
    fn.pair = "gradient of the cotangent product"
    return fn


@api_boundary
def jacobian(f: Callable, wrt: Wrt = 0) -> Any:
    """The Jacobian of ``f`` (a float or an array result) with respect to ``wrt``.

    ``jacobian(f, wrt)(*args)`` has the shape ``f(*args).shape + x.shape`` (a float for a
    float result and a float parameter); for a tuple ``wrt``, a tuple of such Jacobians.
    With fewer results than parameter entries it is built by reverse mode, one row per entry
    of the result (:func:`vjp` with unit cotangents), else by forward mode, one column per
    entry of the parameters (:func:`jvp`), each in one compiled loop.
    """
    _, names, as_tuple, info = _forward_module(f, wrt, "jacobian", mode=None)
    return Jacobian(f, names, [info.params.index(p) for p in names], as_tuple)


class Jacobian:
    """The compiled Jacobian of a function: call it with the function's arguments.

    The mode is chosen at the first call, from the sizes of the result and the parameters;
    ``.mode`` says which (``"forward"`` or ``"reverse"``) and ``.source`` shows its code."""

    def __init__(self, f: Callable, names: list[str], positions: list[int],
                 as_tuple: bool) -> None:
        self.f = f
        self.wrt = tuple(names) if as_tuple else names[0]
        self.positions = positions
        self.as_tuple = as_tuple
        self.mode: str | None = None
        self._modules: dict[str, Any] = {}

    def _function(self, mode: str) -> Any:
        if mode not in self._modules:
            gen, _, _, _ = _forward_module(self.f, self.wrt, "jacobian", mode=mode)
            self._modules[mode] = gen
        role = {"forward": "jvp", "vjp": "vjp"}[mode]
        return self._modules[mode].function(role), self._modules[mode].source(role)

    @property
    def source(self) -> str:
        if self.mode is None:
            return "# the Jacobian's code is generated at its first call (forward or reverse)\n"
        return self._function("forward" if self.mode == "forward" else "vjp")[1]

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        args = _float_parameters(args, self.positions)
        vjp_fn, _ = self._function("vjp")
        value = self._modules["vjp"].function("forward")(*args)
        inputs = sum(int(np.size(args[p])) for p in self.positions)
        if int(np.size(value)) < inputs:
            self.mode = "reverse"
            blocks = _rows(vjp_fn, args, value, [args[p] for p in self.positions],
                           self.as_tuple)
        else:
            self.mode = "forward"
            jvp_fn, _ = self._function("forward")
            seeds = tuple(np.zeros(np.shape(args[p])) if np.ndim(args[p]) else 0.0
                          for p in self.positions)
            blocks = [_columns(jvp_fn, args, seeds, k, np.ndim(args[p]) > 0)
                      for k, p in enumerate(self.positions)]
        return tuple(blocks) if self.as_tuple else blocks[0]


def _rows(vjp_fn: Any, args: tuple, value: Any, xs: list[Any], as_tuple: bool) -> list[Any]:
    """The Jacobian blocks by reverse mode: row ``k`` of every block is the gradient of entry
    ``k`` of the result (the cotangent the ``k``-th unit vector)."""
    if np.ndim(value) == 0:
        _, grads = vjp_fn(*args, 1.0)
        return [float(g) if np.ndim(g) == 0 else g for g in (grads if as_tuple else (grads,))]
    cotangent = np.zeros(np.shape(value))
    outs = tuple(np.empty((cotangent.size, int(np.size(x)))) for x in xs)
    arrays = tuple(np.ndim(x) > 0 for x in xs)
    parts = [f"r[1][{i}]" if as_tuple else "r[1]" for i in range(len(xs))]
    _unit_loop(None, parts, arrays, rows=True)(vjp_fn, args, cotangent, outs)
    return [out.reshape(np.shape(value) + np.shape(x)) for out, x in zip(outs, xs, strict=True)]


def _columns(jvp_fn: Any, args: tuple, seeds: tuple, k: int, array: bool) -> Any:
    """The Jacobian block of ``wrt`` parameter ``k``: one directional derivative per entry."""
    if not array:
        _, d = jvp_fn(*args, *(1.0 if i == k else s for i, s in enumerate(seeds)))
        return d
    shape = np.shape(seeds[k])
    value, _ = jvp_fn(*args, *seeds)
    out_shape = np.shape(value)
    out = np.empty((int(np.prod(out_shape, dtype=np.int64)), int(np.prod(shape))))
    _unit_loop(k, ["r[1]"], (np.ndim(value) > 0,), rows=False)(jvp_fn, args, seeds, (out,))
    return out.reshape(out_shape + shape)


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
        args = _float_parameters(args, self.positions)
        xs = [args[p] for p in self.positions]
        seeds = tuple(np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in xs)
        arrays = [np.ndim(x) > 0 for x in xs]
        sizes = [int(np.size(x)) for x in xs]
        rows: list[list[Any]] = [[None] * len(xs) for _ in xs]
        for j, x in enumerate(xs):
            outs = tuple(np.empty((sizes[i], sizes[j])) for i in range(len(xs)))
            if arrays[j]:
                parts = [f"r[{i}]" if self.as_tuple else "r" for i in range(len(xs))]
                _unit_loop(j, parts, tuple(arrays), rows=False)(self.hvp, args, seeds, outs)
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


_LOOPS: dict[tuple, Any] = {}


def _unit_loop(k: int | None, parts: list[str], arrays: tuple[bool, ...], rows: bool) -> Any:
    """The compiled loop over unit seeds: for each entry of the seed (tangent ``k`` of the
    tuple ``seeds``, or with ``k=None`` the cotangent ``seeds`` itself) set to one, the
    function is called (``r``) and each result part (an expression of ``r``) fills row (or
    column) ``e`` of its block in ``outs``.  Written out for the types at hand: a tuple of
    tangents of different types can only be indexed by literals in Numba."""
    key = (k, tuple(parts), arrays, rows)
    if key not in _LOOPS:
        seed, call = ("seeds", "fn(*args, seeds)") if k is None else (
            f"seeds[{k}]", "fn(*args, *seeds)")
        lines = ["def loop(fn, args, seeds, outs):",
                 f"    unit = {seed}.reshape(-1)",
                 "    for e in range(unit.size):",
                 "        unit[e] = 1.0",
                 f"        r = {call}"]
        for i, (part, array) in enumerate(zip(parts, arrays, strict=True)):
            where = ("e, :" if array else "e, 0") if rows else (":, e" if array else "0, e")
            lines.append(f"        outs[{i}][{where}] = {part}{'.ravel()' if array else ''}")
        lines.append("        unit[e] = 0.0")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", "<adcompile derivative loop>", "exec"),
             namespace)
        _LOOPS[key] = numba.njit(namespace["loop"])
    return _LOOPS[key]


def _float_parameters(args: tuple, positions: list[int]) -> tuple:
    """The arguments, with an integer or bool array given for a differentiated parameter as
    float64 (its derivatives are those of the real-valued function); data arrays (indices,
    labels) keep their type."""
    return tuple(np.asarray(a, dtype=np.float64) if k in positions and isinstance(a, np.ndarray)
                 and a.dtype.kind in "biu" else a for k, a in enumerate(args))
