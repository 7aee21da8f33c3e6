"""Calls to user functions: each callee is differentiated once, into a helper of the module.

A call ``t = step(x, p)`` whose arguments are active is reversed by calling the helper
``grad_step(x, p, d_t)``, the callee's own gradient with its result's adjoint passed in instead
of seeded with ``1.0``: it recomputes the callee's forward sweep and returns the adjoints of
the active arguments.  One helper is generated per callee and set of active arguments; the
callee's forward is the callee itself, compiled by Numba.  A registered derivative rule wins
over differentiating the callee's body.  Recursion is rejected.
"""

from __future__ import annotations

import ast
import types
from typing import Any

from . import rules
from .frontend import FunctionInfo, parse_function


def is_user_function(obj: Any) -> bool:
    """A Python function (or a Numba dispatcher of one) whose body we differentiate: not a
    primitive with a rule, and not a library's (``np.ones`` is a Python function)."""
    func = getattr(obj, "py_func", obj)
    if not isinstance(func, types.FunctionType):
        return False
    if rules.has_rule(obj) or rules.is_nondifferentiable(obj):
        return False
    module = func.__module__ or ""
    return module.split(".")[0] not in _LIBRARIES


_LIBRARIES = {"adcompile", "numpy", "math", "scipy", "numba"}


def parameters(func: Any) -> tuple[list[str], dict[str, Any]]:
    """``func``'s parameters in order (keyword-only ones last, as the generated functions
    take them), and the defaults of those that have one."""
    code = func.__code__
    params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    defaults = func.__defaults__ or ()
    default_of = dict(zip(params[code.co_argcount - len(defaults):code.co_argcount],
                          defaults, strict=True))
    return params, {**default_of, **(func.__kwdefaults__ or {})}


def positional_arguments(info: FunctionInfo, call: ast.Call, callee: Any,
                         literals: bool = False) -> list[ast.expr]:
    """The call's arguments in the callee's parameter order, defaults filled in.
    ``literals``: defaults may also be None, strings and tuples (definitions of library
    functions, whose options are substituted as literals)."""
    func = getattr(callee, "py_func", callee)
    code = func.__code__
    params, default_of = parameters(func)
    what = f"the call to {func.__name__}()"
    if len(call.args) > code.co_argcount:
        raise info.error(call, f"{what} passes {len(call.args)} arguments; it takes "
                         f"{code.co_argcount} by position", construct="a call",
                         hint=f"pass one value for each of its parameters ({', '.join(params)}"
                         "), the keyword-only ones by name")
    bound: dict[str, ast.expr] = dict(zip(params, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg is None or kw.arg not in params or kw.arg in bound:
            raise info.error(call, f"{what} has a bad keyword argument "
                             f"'{kw.arg or '**'}'", construct="a keyword argument",
                             hint=f"its parameters are {', '.join(params)}")
        bound[kw.arg] = kw.value
    out = []
    for p in params:
        if p in bound:
            out.append(bound[p])
        elif p in default_of and isinstance(default_of[p], (int, float, bool)):
            out.append(ast.Constant(value=default_of[p]))
        elif literals and p in default_of and _literal(default_of[p]):
            out.append(ast.parse(repr(default_of[p]), mode="eval").body)
        else:
            if p not in default_of:
                raise info.error(call, f"{what} gives parameter '{p}' no value",
                                 construct="a call", hint=f"pass '{p}' a value (a number, an "
                                 "array or a tuple)")
            raise info.error(call, f"{what} leaves parameter '{p}' at its default "
                             f"{default_of[p]!r}, which is not a number", construct="a call",
                             hint=f"pass '{p}' a number in the call, or give it a numeric "
                             "default")
    return out


def _literal(value: Any) -> bool:
    if value is None or isinstance(value, (int, float, bool, str)):
        return True
    return isinstance(value, tuple) and all(_literal(v) for v in value)


def check_recursion(info: FunctionInfo) -> None:
    """Reject a call graph in which a differentiated function reaches itself."""
    _visit(info.func, info, [], {})


def _visit(func: Any, info: FunctionInfo, stack: list, done: dict) -> None:
    if id(func) in done:
        return
    stack.append(func)
    for obj in info.bindings.values():
        if not is_user_function(obj) or rules.has_rule(obj):
            continue
        callee = getattr(obj, "py_func", obj)
        if any(callee is f for f in stack):
            chain = " -> ".join(f.__name__ for f in [*stack, callee])
            call = next((n for n in ast.walk(info.tree) if isinstance(n, ast.Call)
                         and getattr(info.resolve(n.func), "py_func", info.resolve(n.func))
                         is callee), info.tree)
            raise info.error(call, f"the recursive call {chain} cannot be differentiated",
                             construct="recursion", hint="rewrite the recursion as a loop")
        _visit(callee, parse_function(callee, tuple_result=True), stack, done)
    stack.pop()
    done[id(func)] = True


class Callees:
    """The helpers a module needs, generated on request (callees may call callees)."""

    def __init__(self, build: Any, prefix: str = "grad") -> None:
        # build(func, positions, name, array_result) -> ast.FunctionDef, supplied by codegen
        self._build = build
        self._prefix = prefix
        self.names: dict[tuple[int, tuple[int, ...], bool], str] = {}
        self.functions: list[ast.FunctionDef] = []
        self._pending: list[tuple[Any, tuple[int, ...], str, bool]] = []
        self._taken: set[str] = set()

    def request(self, func: Any, positions: list[int], taken: set[str],
                array_result: bool = False) -> str:
        """The name of the helper differentiating ``func`` in ``positions``; with
        ``array_result`` the caller's value of the call may be an array (the helper's
        parameters then take adjoints summed to their shapes)."""
        func = getattr(func, "py_func", func)
        key = (id(func), tuple(positions), array_result)
        if key not in self.names:
            params = parameters(func)[0]
            base = f"{self._prefix}_{func.__name__}"
            if any(k[0] == id(func) for k in self.names):
                base += "_" + "_".join(params[i] for i in positions)
            name, k = base, 0
            while name in taken or name in self._taken:
                k += 1
                name = f"{base}_{k}"
            self._taken.add(name)
            self.names[key] = name
            self._pending.append((func, tuple(positions), name, array_result))
        return self.names[key]

    def generate(self) -> list[ast.FunctionDef]:
        while self._pending:
            func, positions, name, array_result = self._pending.pop(0)
            self.functions.append(self._build(func, list(positions), name, array_result))
        return self.functions
