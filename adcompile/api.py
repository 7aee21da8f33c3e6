"""The public entry points: ``grad`` and ``value_and_grad``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import codegen
from .errors import AdcompileError
from .frontend import parse_function

Wrt = int | str | Sequence[int | str]


def grad(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """The gradient of the scalar function ``f`` with respect to ``wrt``, compiled with Numba.

    ``wrt`` is a parameter position, a parameter name, or a tuple of them (default: the first
    parameter).  One ``wrt`` gives one gradient; a tuple gives a tuple in ``wrt`` order.  The
    result is a Numba dispatcher: call it from Python or from ``@numba.njit`` code.  Its
    ``.source`` is the generated derivative code.  Usable as ``@grad`` or ``@grad(wrt=...)``.
    """
    if f is None:
        return lambda func: grad(func, wrt=wrt)
    return _compile(f, wrt, "grad")


def value_and_grad(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """Like :func:`grad`, but the compiled function returns ``(f(*args), gradient)``.

    Both come from one forward and one backward sweep.
    """
    if f is None:
        return lambda func: value_and_grad(func, wrt=wrt)
    return _compile(f, wrt, "value_and_grad")


def forward(f: Callable, wrt: Wrt = 0) -> Any:
    """The user's function itself, compiled by the same machinery (handy for timing)."""
    return _compile(f, wrt, "forward")


def _compile(f: Callable, wrt: Wrt, role: str) -> Any:
    return generated(f, wrt).function(role)


def generated(f: Callable, wrt: Wrt) -> codegen.Generated:
    """The generated module of ``f`` for ``wrt`` (all its compiled functions, by role)."""
    if not callable(f):
        raise AdcompileError(f"expected a function to differentiate, got {f!r}",
                             construct=type(f).__name__,
                             hint="pass wrt by keyword: grad(f, wrt=...) or @grad(wrt=...)")
    info = parse_function(f)
    try:
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
    except AdcompileError as exc:
        raise AdcompileError(f"in {info.name}(): {exc.message}", filename=info.filename,
                             lineno=info.tree.lineno, construct=exc.construct,
                             hint=exc.hint) from None
    return codegen.generate(info, names, as_tuple)


def resolve_wrt(params: list[str], wrt: Wrt, func_name: str = "f") -> tuple[list[str], bool]:
    """The parameter names ``wrt`` denotes, and whether the gradient is returned as a tuple."""
    as_tuple = isinstance(wrt, (tuple, list))
    items = list(wrt) if as_tuple else [wrt]
    if as_tuple and not items:
        raise AdcompileError(f"wrt=() names no parameter of {func_name}",
                             construct="wrt", hint=f"choose among {', '.join(params)}")
    names: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise AdcompileError(f"wrt={item!r} is neither a parameter position nor a name",
                                 construct="wrt", hint=f"use an int or one of "
                                 f"{', '.join(repr(p) for p in params)}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise AdcompileError(f"wrt={item!r} is out of range: {func_name} has "
                                     f"{len(params)} parameter(s)", construct="wrt",
                                     hint=f"use 0..{len(params) - 1} or a parameter name")
            name = params[item]
        else:
            if item not in params:
                raise AdcompileError(f"wrt={item!r} names no parameter of {func_name}("
                                     f"{', '.join(params)})", construct="wrt",
                                     hint=f"use one of {', '.join(repr(p) for p in params)}")
            name = item
        if name in names:
            raise AdcompileError(f"wrt names the parameter {name!r} twice", construct="wrt",
                                 hint="list each parameter once")
        names.append(name)
    return names, as_tuple
