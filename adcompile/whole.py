"""``hessian`` and ``jacobian`` called from ``@numba.njit`` code.

From Python, :class:`~adcompile.higher.Hessian` and :class:`~adcompile.higher.Jacobian` are
objects that choose at each call how to fill their blocks (a batched block function, the
forward or the reverse mode).  Numba types such an object as a dispatcher of one compiled
function that does the same with the column loop: ``whole_hessian(*args)`` calls the setup
of the Hessian-vector product once and its columns function once per entry of each ``wrt``
parameter; ``whole_jacobian(*args)`` picks the mode from the sizes, as the object does.
Both are written for the function's parameter count, ``wrt`` positions and tuple-ness; the
shapes are left to Numba (a float parameter and an array one take the same text, through
the small overloaded helpers below).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

from .errors import AdcompileError
from .kernels import _is_array


def same_shape(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are both numbers or arrays of one shape."""
    return np.ndim(a) == np.ndim(b) and np.shape(a) == np.shape(b)


def as_shape_of(v: Any, x: Any) -> Any:
    """``v``, which the caller checked has the shape of ``x``; typed as ``x`` where its kind or
    rank differs (the call it is passed to is then never reached, but Numba types it)."""
    return v


def entries(x: Any) -> int:
    """The number of entries of ``x`` (1 for a number)."""
    return int(np.size(x))


def seed(unit: np.ndarray, x: Any) -> Any:
    """The flat ``unit`` as a seed shaped like ``x``: a view of it, or its one number."""
    return unit.reshape(np.shape(x)) if np.ndim(x) else float(unit[0])


def column(r: Any) -> Any:
    """A derivative as one column (or row) of a block: flat, or the number itself."""
    return np.ravel(r) if np.ndim(r) else r


def block(out: np.ndarray, a: Any, b: Any) -> Any:
    """The block ``out`` (entries of ``a`` by entries of ``b``) shaped ``a.shape +
    b.shape``; a float where both are numbers."""
    if np.ndim(a) == 0 and np.ndim(b) == 0:
        return float(out[0, 0])
    return out.reshape(np.shape(a) + np.shape(b))


@overload(same_shape)
def _same_shape(a, b):
    if _is_array(a) and _is_array(b):
        if a.ndim != b.ndim:
            return lambda a, b: False
        return lambda a, b: a.shape == b.shape
    if _is_array(a) or _is_array(b):
        return lambda a, b: False
    return lambda a, b: True


@overload(as_shape_of)
def _as_shape_of(v, x):
    if _is_array(v) == _is_array(x) and getattr(v, "ndim", 0) == getattr(x, "ndim", 0):
        return lambda v, x: v
    return lambda v, x: x


@overload(entries)
def _entries(x):
    if _is_array(x):
        return lambda x: x.size
    return lambda x: 1


@overload(seed)
def _seed(unit, x):
    if _is_array(x):
        return lambda unit, x: unit.reshape(x.shape)
    return lambda unit, x: unit[0]


@overload(column)
def _column(r):
    if _is_array(r):
        return lambda r: r.ravel()
    return lambda r: r


@overload(block)
def _block(out, a, b):
    if _is_array(a) and _is_array(b):
        return lambda out, a, b: out.reshape(a.shape + b.shape)
    if _is_array(a):
        return lambda out, a, b: out.reshape(a.shape)
    if _is_array(b):
        return lambda out, a, b: out.reshape(b.shape)
    return lambda out, a, b: out[0, 0]


def _compiled(lines: list[str], namespace: dict[str, Any]) -> Any:
    namespace.update(np=np, entries=entries, seed=seed, column=column, block=block,
                     same_shape=same_shape)
    exec(compile("\n".join(lines) + "\n", "<adcompile whole derivative>", "exec"), namespace)
    return numba.njit(namespace["whole"])


def _tuple(parts: list[str]) -> str:
    return "(" + "".join(p + ", " for p in parts) + ")"


class _Itself:
    """What the checking function calls: typed as the dispatcher of ``fn`` itself (Numba
    types ``fn`` as its checking function, see ``higher._typeof_checked``)."""

    def __init__(self, fn: Any) -> None:
        self._numba_type_ = types.Dispatcher(fn)


def checked_function(fn: Any, nargs: int, checks: list[tuple[int, str]], result: str = ""
                     ) -> Any:
    """``fn`` (a jvp, hvp or vjp) behind the checks a call from ``@numba.njit`` code needs:
    each of its last arguments (tangents, vectors, a cotangent) of the shape of argument
    ``position`` of ``checks`` (a number for a number), else a ``ValueError`` saying
    ``message``; with ``result``, the last argument of the shape of the value ``fn``
    returns first, else that message.  NumPy would broadcast a ``(3, 1)`` tangent or a float
    cotangent into a silently wrong answer."""
    args = ", ".join(f"a{k}" for k in range(nargs))
    extra = ", ".join(f"v{k}" for k in range(len(checks) or 1))
    lines = [f"def checked({args}, {extra}):"]
    for k, (position, message) in enumerate(checks):
        lines += [f"    if not same_shape(v{k}, a{position}):",
                  f"        raise ValueError({message!r})"]
    given = ", ".join(f"as_shape_of(v{k}, a{position})" for k, (position, _) in
                      enumerate(checks)) or "v0"
    lines.append(f"    r = fn({args}, {given})")
    if result:
        lines += ["    if not same_shape(v0, r[0]):", f"        raise ValueError({result!r})"]
    lines.append("    return r")
    namespace = {"fn": _Itself(fn), "same_shape": same_shape, "as_shape_of": as_shape_of}
    exec(compile("\n".join(lines) + "\n", "<adcompile checked call>", "exec"), namespace)
    return numba.njit(namespace["checked"])


def hessian_function(setup: Any, columns: Any, nargs: int, positions: list[int],
                     as_tuple: bool, value: Any = None, refusal: str = "") -> Any:
    """The Hessian as one compiled function of the arguments: the columns function (the
    Hessian-vector product split at its vectors) once per unit vector of each ``wrt``
    parameter, block ``(i, j)`` filled column by column.  With ``value`` (the function),
    a result that is not a number raises ``ValueError(refusal)`` first."""
    args = ", ".join(f"a{k}" for k in range(nargs))
    xs = [f"a{p}" for p in positions]
    m = len(xs)
    lines = [f"def whole({args}):"]
    if value is not None:
        lines += [f"    if not same_shape(value_of({args}), 0.0):",
                  f"        raise ValueError({refusal!r})"]
    lines.append(f"    given = setup({args})")
    lines += [f"    n{i} = entries({x})" for i, x in enumerate(xs)]
    lines += [f"    u{i} = np.zeros(n{i})" for i in range(m)]
    lines += [f"    o{i}_{j} = np.empty((n{i}, n{j}))" for i in range(m) for j in range(m)]
    seeds = ", ".join(f"seed(u{i}, {x})" for i, x in enumerate(xs))
    for j in range(m):
        lines += [f"    for e in range(n{j}):", f"        u{j}[e] = 1.0",
                  f"        r = columns({args}, *given, {seeds})"]
        lines += [f"        o{i}_{j}[:, e] = column({f'r[{i}]' if as_tuple else 'r'})"
                  for i in range(m)]
        lines.append(f"        u{j}[e] = 0.0")
    blocks = [[f"block(o{i}_{j}, {xs[i]}, {xs[j]})" for j in range(m)] for i in range(m)]
    result = _tuple([_tuple(row) for row in blocks]) if as_tuple else blocks[0][0]
    lines.append(f"    return {result}")
    return _compiled(lines, {"setup": setup, "columns": columns, "value_of": value})


def jacobian_function(value: Any, reverse: tuple[Any, Any], forward: tuple[Any, Any],
                      nargs: int, positions: list[int], as_tuple: bool) -> Any:
    """The Jacobian as one compiled function of the arguments: by rows (the ``vjp`` split
    at its cotangent, once per entry of the result) when the result has fewer entries than
    the ``wrt`` parameters, else by columns (the ``jvp`` split at its tangents)."""
    args = ", ".join(f"a{k}" for k in range(nargs))
    xs = [f"a{p}" for p in positions]
    m = len(xs)
    lines = [f"def whole({args}):", f"    value = value_of({args})", "    rows = entries(value)"]
    lines += [f"    n{i} = entries({x})" for i, x in enumerate(xs)]
    lines += [f"    o{i} = np.empty((rows, n{i}))" for i in range(m)]
    lines += [f"    if rows < {' + '.join(f'n{i}' for i in range(m))}:",
              f"        given = vjp_setup({args})", "        cotangent = np.zeros(rows)",
              "        for e in range(rows):", "            cotangent[e] = 1.0",
              f"            r = vjp_columns({args}, *given, seed(cotangent, value))"]
    lines += [f"            o{i}[e, :] = column({f'r[1][{i}]' if as_tuple else 'r[1]'})"
              for i in range(m)]
    lines += ["            cotangent[e] = 0.0", "    else:", f"        ahead = jvp_setup({args})"]
    lines += [f"        u{i} = np.zeros(n{i})" for i in range(m)]
    seeds = ", ".join(f"seed(u{i}, {x})" for i, x in enumerate(xs))
    for i in range(m):
        lines += [f"        for e in range(n{i}):", f"            u{i}[e] = 1.0",
                  f"            d = jvp_columns({args}, *ahead, {seeds})[1]",
                  f"            o{i}[:, e] = column(d)", f"            u{i}[e] = 0.0"]
    blocks = [f"block(o{i}, value, {x})" for i, x in enumerate(xs)]
    lines.append(f"    return {_tuple(blocks) if as_tuple else blocks[0]}")
    return _compiled(lines, {"value_of": value, "vjp_setup": reverse[0],
                             "vjp_columns": reverse[1], "jvp_setup": forward[0],
                             "jvp_columns": forward[1]})


def refuse_tuples(what: str, name: str) -> AdcompileError:
    """The error for a ``hessian`` or ``jacobian`` of tuple parameters met in compiled
    code (their blocks are nested as the parameters, made for each nesting at a call from
    Python)."""
    return AdcompileError(
        f"{what}({name}) takes tuple parameters: it is called from Python only",
        construct=f"{what} of tuple parameters in @numba.njit code",
        hint=f"call it from Python, or in compiled code use adcompile.hvp({name}, wrt=...)"
        ".specialize(*args, *v) (Hessian times a vector) or adcompile.jvp(...).specialize")
