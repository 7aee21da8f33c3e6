"""Work done once for many columns: a generated function split at what its last parameters
change.

``jacobian`` and ``hessian`` call one function many times (``jvp``, ``vjp`` or the gradient of
``jvp_<f>_tangent``) with the same arguments and a new unit seed each time.  Much of its body
does not depend on the seed: in ``grad_jvp_logistic_tangent(w, X, s, dt_w)``, ``t1 = X @ w``,
``exp(-z)`` and the rest of the primal work.  :func:`split` moves those statements into
``<name>_setup(*args)``, which returns the values the rest reads, and leaves the rest in
``<name>_columns(*args, *those values, *seeds)``, so that a loop over seeds computes them once.

A statement moves when it is ``name = value`` at the top level of the body (not in a loop or
a branch), ``value`` reads nothing that the seeds change and calls only functions known not to
change their arguments (:func:`pure`), and ``name`` is assigned nowhere else.  What a moved
statement makes is shared by every column, so it must not change: a statement whose result
may be changed in place by what stays (a store into it or into anything that may view it, an
augmented assignment, an argument to a call not known to be pure) stays itself.
"""

from __future__ import annotations

import ast
import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import kernels, kernels_fastmath
from .render import function_def

#: kernels that read their arguments and make a new value (or return one of them as it is)
_PURE_KERNELS = {getattr(kernels, name) for name in (
    "unbroadcast", "power", "pow_dx", "log_or_zero", "as_float", "split_along", "prod_others",
    "stored_adjoint", "ties", "ratio_or_zero", "finite_or_zero", "snapshot", "fresh_copy",
    "reshape", "zeros_like", "broadcast_tangent", "fresh_tangent", "unit_seed", "stored_tangent",
    "reduce_adjoint", "reduced_size", "reduce_to", "untranspose", "matmul_left",
    "matmul_right", "sum_along", "mean_along", "max_along", "min_along", "prod_along")}
_PURE_KERNELS |= {getattr(kernels_fastmath, name) for name in kernels_fastmath.__all__}
#: functions whose result is always new memory (never an argument, nor a view of one)
_NEW_ARRAYS = {getattr(kernels_fastmath, name) for name in kernels_fastmath.__all__}
_NEW_ARRAYS |= {getattr(kernels, name) for name in (
    "zeros_like", "fresh_copy", "snapshot", "matmul_left", "matmul_right", "reduced_size",
    "fresh_tangent", "reduce_adjoint")}
_NEW_ARRAYS |= {getattr(np, name) for name in (
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "copy", "array", "arange", "linspace", "eye", "identity", "dot", "outer", "sum", "mean",
    "prod", "cumsum", "cumprod", "concatenate", "stack", "hstack", "vstack", "where", "clip")}
_PURE_BUILTINS = {range, len, float, int, bool, abs, min, max, round, isinstance, complex}
#: NumPy functions that write into an argument
_NUMPY_WRITERS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}


def pure(obj: Any) -> bool:
    """Whether a call of ``obj`` leaves its arguments as they are: NumPy's functions and
    ufuncs (but those that write into an argument), ``math``'s, and the kernels listed."""
    if obj in _PURE_KERNELS:
        return True
    if isinstance(obj, np.ufunc):
        return True
    if obj in _PURE_BUILTINS:
        return True
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__name__", "")
    if module.split(".")[0] == "numpy" and callable(obj):
        return name not in _NUMPY_WRITERS
    return getattr(math, name, None) is obj and obj is not None


def _stored(node: ast.expr) -> str | None:
    """The name under a store target ``a[i][j]`` / ``a.b[i]``."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def _stores(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)]


def _calls_pure(value: ast.expr, resolve: Callable[[ast.expr], Any]) -> bool:
    return all(pure(resolve(n.func)) for n in ast.walk(value) if isinstance(n, ast.Call))


def _changed(stmts: list[ast.stmt], resolve: Callable[[ast.expr], Any]) -> set[str]:
    """Names whose value ``stmts`` may change in place: stored into, augmented, or passed
    to a call not known to be pure."""
    out: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
                    node.ctx, ast.Store):
                name = _stored(node)
                if name is not None:
                    out.add(name)
            elif isinstance(node, ast.AugAssign):
                name = _stored(node.target)
                if name is not None:
                    out.add(name)
            elif isinstance(node, ast.Call) and not pure(resolve(node.func)):
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    out |= _loads(arg)
                if isinstance(node.func, ast.Attribute):  # a method may change its object
                    out |= _loads(node.func.value)
    return out


def _sources(value: ast.expr, resolve: Callable[[ast.expr], Any]) -> set[str]:
    """The names whose memory ``value`` may be (or view): none for arithmetic and the calls
    that always make a new array (ufuncs, the vector kernels); every argument's for any
    other call."""
    if isinstance(value, ast.Name):
        return {value.id}
    if isinstance(value, (ast.Subscript, ast.Attribute, ast.Starred)):
        return _sources(value.value, resolve)
    if isinstance(value, (ast.Tuple, ast.List, ast.BoolOp)):
        parts = value.values if isinstance(value, ast.BoolOp) else value.elts
        return set().union(*(_sources(p, resolve) for p in parts))
    if isinstance(value, ast.IfExp):
        return _sources(value.body, resolve) | _sources(value.orelse, resolve)
    if isinstance(value, ast.Call):
        func = resolve(value.func)
        if isinstance(func, np.ufunc) or func in _NEW_ARRAYS:
            return set()
        out = set().union(*(_sources(a, resolve) for a in
                            [*value.args, *(k.value for k in value.keywords)]))
        if isinstance(value.func, ast.Attribute):
            out |= _sources(value.func.value, resolve)
        return out
    return set()  # arithmetic, comparisons, numbers: a new value


def _aliases(changed: set[str], stmts: list[ast.stmt], resolve: Callable[[ast.expr], Any]
             ) -> set[str]:
    """``changed`` closed over sharing: ``a = value`` may make ``a`` share memory with the
    names ``value`` may be (:func:`_sources`), so a change to either is a change to both."""
    out = set(changed)
    pairs = []
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign):
                pairs.append((set().union(*(_stores(t) for t in node.targets)),
                              _sources(node.value, resolve)))
            elif isinstance(node, ast.For):
                pairs.append((set(_stores(node.target)), _sources(node.iter, resolve)))
    grown = True
    while grown:
        grown = False
        for targets, sources in pairs:
            group = targets | sources
            if group & out and not group <= out:
                out |= group
                grown = True
    return out


def split(fn: ast.FunctionDef, varying: int, resolve: Callable[[ast.expr], Any],
          setup_name: str, columns_name: str
          ) -> tuple[ast.FunctionDef, ast.FunctionDef]:
    """``fn`` as ``setup_name(*params[:-varying])``, returning the values its statements that
    do not depend on the last ``varying`` parameters make (and the rest reads), and
    ``columns_name(*params[:-varying], *those values, *params[-varying:])``, the rest; with
    nothing to move, the setup returns ``()`` and the columns are ``fn``'s body.
    ``resolve`` gives the object a called name denotes."""
    params = [a.arg for a in fn.args.args]
    fixed, seeds = params[:len(params) - varying], params[len(params) - varying:]
    body = fn.body
    counts: dict[str, int] = {}
    for stmt in body:
        for name in _stores(stmt):
            counts[name] = counts.get(name, 0) + 1
    kept: set[int] = set()  # statements that must stay, found so far
    while True:
        depends = set(seeds)
        moved: list[int] = []
        for k, stmt in enumerate(body):
            if (k not in kept and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and counts.get(stmt.targets[0].id) == 1
                    and stmt.targets[0].id not in params
                    and not _loads(stmt.value) & depends
                    and _calls_pure(stmt.value, resolve)):
                moved.append(k)
            elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                depends |= set(_stores(stmt))
        rest = [s for k, s in enumerate(body) if k not in moved]
        changed = _aliases(_changed(rest, resolve), body, resolve)
        clash = [k for k in moved if body[k].targets[0].id in changed]
        if not clash:
            break
        kept |= set(clash)
    rest = _without_orphans(body, moved)
    # what the columns read of the moved values (and what those read, for the setup)
    needed = set().union(*(_loads(s) for s in rest)) if rest else set()
    made = {body[k].targets[0].id: k for k in moved}
    given = [body[k].targets[0].id for k in moved if body[k].targets[0].id in needed]
    live = set(given)
    for k in reversed(moved):
        if body[k].targets[0].id in live:
            live |= _loads(body[k].value) & set(made)
    setup_body: list[ast.stmt] = [copy.deepcopy(body[k]) for k in moved
                                  if body[k].targets[0].id in live]
    setup_body.append(ast.Return(value=ast.Tuple(
        elts=[ast.Name(id=n, ctx=ast.Load()) for n in given], ctx=ast.Load())))
    setup_args = copy.deepcopy(fn.args)
    setup_args.args = setup_args.args[:len(fixed)]
    column_args = copy.deepcopy(fn.args)
    column_args.args = [*column_args.args[:len(fixed)], *(ast.arg(arg=n) for n in given),
                        *column_args.args[len(fixed):]]
    return (function_def(setup_name, setup_args, setup_body),
            function_def(columns_name, column_args, copy.deepcopy(rest)))


def _comment(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)


def _without_orphans(body: list[ast.stmt], moved: list[int]) -> list[ast.stmt]:
    """The statements of ``body`` that stay, without the comments quoting a statement
    (``# y = ...``) whose statements all moved."""
    out: list[ast.stmt] = []
    kept = [k for k in range(len(body)) if k not in moved]
    for n, k in enumerate(kept):
        if (_comment(body[k]) and " = " in str(body[k].value.value) and k + 1 < len(body)
                and not _comment(body[k + 1])):
            after = kept[n + 1] if n + 1 < len(kept) else None
            if after is None or _comment(body[after]):
                continue
        out.append(body[k])
    return out
