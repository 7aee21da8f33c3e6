"""Repeated reads of one element: ``u[i]`` read twice in one block is read once.

A stencil such as ``u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])`` normalizes to two loads of
``u[i]`` (``t3 = u[i]``, ``t6 = u[i]``).  Reversed, each load adds to the element's adjoint
(``d_u[i] += d_t6``, ``d_u[i] += d_t3``): two read-modify-writes of one memory cell per
iteration, a chain of stores and loads the processor must run in order.  Here the second load
is dropped and its readers read the first (``t3``), so the reversal sums in a register and
adds to the element once.

The second load is replaced only when it surely reads the same value: the same array and the
same index, both loads in one block, nothing in between writes into any array or calls
anything that might, nor assigns the array's name or a name of the index; the index is made of
names and integer literals (an element, not a slice or a view); and the second load's target
is a temporary assigned nowhere else.  AST in, AST out.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable
from typing import Any

import numpy as np


def share_loads(stmts: list[ast.stmt], resolve: Callable[[ast.expr], Any],
                user_names: set[str]) -> list[ast.stmt]:
    """``stmts`` with repeated element loads read once (see the module docstring); a load
    into one of ``user_names`` stays (the generated code keeps the user's names; the
    returned name is one of them)."""
    assigned: dict[str, int] = {n: 2 for n in user_names}
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                assigned[node.targets[0].id] = assigned.get(node.targets[0].id, 0) + 1
            elif isinstance(node, (ast.For, ast.comprehension)) and isinstance(
                    node.target, ast.Name):
                assigned[node.target.id] = assigned.get(node.target.id, 0) + 2
    renames: dict[str, str] = {}
    out = _block(stmts, assigned, renames, resolve)
    if not renames:
        return stmts
    _Rename(renames).visit(ast.Module(body=out, type_ignores=[]))
    return out


def _block(stmts: list[ast.stmt], assigned: dict[str, int], renames: dict[str, str],
           resolve: Callable[[ast.expr], Any]) -> list[ast.stmt]:
    available: dict[str, str] = {}  # dump of the load -> the name holding it
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            stmt.body = _block(stmt.body, assigned, renames, resolve)
            stmt.orelse = _block(stmt.orelse, assigned, renames, resolve)
            available.clear()
            out.append(stmt)
            continue
        key = _element_load(stmt)
        if key is not None:
            target = stmt.targets[0].id
            if key in available and assigned.get(target) == 1:
                renames[target] = available[key]
                continue  # its readers read the first load
        if not isinstance(stmt, ast.Assign) or _may_write(stmt, resolve):
            available.clear()
        else:
            target = stmt.targets[0]
            names = set() if isinstance(target, ast.Subscript) else {
                n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            for dump, holder in list(available.items()):
                if holder in names or any(f"id='{n}'" in dump for n in names):
                    del available[dump]
            if key is not None and assigned.get(stmt.targets[0].id) == 1:
                available.setdefault(key, stmt.targets[0].id)
        out.append(stmt)
    return out


def _element_load(stmt: ast.stmt) -> str | None:
    """The dump of ``A[idx]`` when ``stmt`` is ``t = A[idx]`` with an index of names and
    integer literals."""
    if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.Subscript)
            and isinstance(stmt.value.value, ast.Name)):
        return None
    index = stmt.value.slice
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    if not all(isinstance(p, ast.Name) or (isinstance(p, ast.Constant)
                                           and type(p.value) is int) for p in parts):
        return None
    return ast.dump(stmt.value)


_PURE_MODULES = {"numpy", "math", "builtins"}
#: NumPy functions that write into an argument
_WRITERS = {getattr(np, n) for n in ("copyto", "put", "place", "putmask", "fill_diagonal",
                                     "put_along_axis") if hasattr(np, n)}


def _may_write(stmt: ast.Assign, resolve: Callable[[ast.expr], Any]) -> bool:
    """Whether ``stmt`` may write into an array: a store, or a call of anything but a
    NumPy, math or builtin function."""
    if isinstance(stmt.targets[0], ast.Subscript):
        return True
    for node in ast.walk(stmt.value):
        if isinstance(node, ast.Call):
            obj = resolve(node.func)
            module = getattr(obj, "__module__", None) or (
                "numpy" if isinstance(obj, np.ufunc) else "")
            if obj is None or obj in _WRITERS or (
                    module.split(".")[0] not in _PURE_MODULES
                    and obj not in (abs, min, max, len, float, int, round, math.fsum)):
                return True
    return False


class _Rename(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str]) -> None:
        self.renames = renames

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if not isinstance(getattr(node, "ctx", None), ast.Store) and node.id in self.renames:
            new = self.renames[node.id]
            while new in self.renames:
                new = self.renames[new]
            return ast.copy_location(ast.Name(id=new, ctx=ast.Load()), node)
        return node
