"""Conditional expressions with a number in one branch, inside arithmetic, as ``if`` statements.

NumPy broadcasts a number against an array, so a scientist writes a first column or a first row
as a number: ``Y[:, j] = X[:, j] * w[j] + (Y[:, j - 1] if j > 0 else 0.0)``.  As a value, that
conditional expression is an array in one branch and a float in the other, which Numba cannot
type.  The statement around it means the same as the statement written once per branch:

```python
Y[:, j] = X[:, j] * w[j] + (Y[:, j - 1] if j > 0 else 0.0)
        ─►  if j > 0:
                Y[:, j] = X[:, j] * w[j] + Y[:, j - 1]
            else:
                Y[:, j] = X[:, j] * w[j] + 0.0
```

and there each value has one type.  Only a conditional expression that Python evaluates every
time the statement runs is lifted: one reached from the assigned value through operators and
the arguments of NumPy, ``math`` and pure built-in calls (never from inside another
conditional, ``and``/``or``, a comprehension or a lambda), one branch a number (a literal,
``-np.inf``, ``math.pi``, a module's constant, ``float('inf')``), the other not; up to three
in a statement, each lifted in the copies made for the one before.  The test is then
evaluated before the other operands instead of after them, which changes nothing when it
reads only names and literals (no call can change those), or when every call in the
statement is of such a function (both checked); a statement with ``:=`` stays as it is.  A
conditional expression that is the whole value (``prev = H[i - 1] if i > 0 else 0.0``)
gives its variable two types either way and stays as it is (the backend refuses it, naming
it).  AST in, AST out, on the user's function.
"""

from __future__ import annotations

import ast
import builtins
import copy
import math
from collections.abc import Callable
from typing import Any

import numpy

#: the most conditional expressions lifted out of one statement (2 ** _MOST copies of it)
_MOST = 3
#: built-ins without side effects whose calls may be evaluated in another order
_PURE_BUILTINS = {abs, min, max, float, int, len, round, pow, sum, bool}


def lift(tree: ast.FunctionDef, resolve: Callable[[ast.expr], Any]) -> None:
    """Rewrite, in place, each assignment of ``tree`` that holds a conditional expression of
    a number and another value inside arithmetic into an ``if`` of two assignments (see the
    module docstring).  ``resolve(func)``: the object a call's function denotes, or None."""

    def pure(call: ast.Call) -> bool:
        target = resolve(call.func)
        if target is None:
            return False
        module = getattr(target, "__module__", None) or ""
        if module.startswith("numpy.random"):  # draws: their order is their value
            return False
        return (module.split(".")[0] == "numpy" or isinstance(target, numpy.ufunc)
                or getattr(math, getattr(target, "__name__", ""), None) is target
                or (_hashable(target) and target in _PURE_BUILTINS
                    and getattr(builtins, target.__name__, None) is target))

    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                out.append(stmt)
                continue
            for part in ("body", "orelse"):
                inner = getattr(stmt, part, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, part, block(inner))
            out.append(_lifted(stmt, pure, resolve, _MOST))
        return out

    tree.body = block(tree.body)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _lifted(stmt: ast.stmt, pure: Callable[[ast.Call], bool],
            resolve: Callable[[ast.expr], Any], most: int) -> ast.stmt:
    """``stmt``, or an ``if`` of its copies for each branch of its first conditional
    expression of a number and another value, lifted again in each copy (up to ``most``
    conditionals in all; with more, ``stmt`` as it is)."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        value = stmt.value
    elif isinstance(stmt, ast.AugAssign):
        value = stmt.value
    else:
        return stmt
    found = [n for n in _evaluated_always(value, pure)
             if _number(n.body, resolve) != _number(n.orelse, resolve)]
    if not found or len(found) > most or found[0] is value or any(
            isinstance(n, ast.NamedExpr) for n in ast.walk(stmt)):  # (:= moves with the test)
        return stmt
    ifexp = found[0]
    if not _plain(ifexp.test) and not all(
            pure(n) for n in ast.walk(stmt) if isinstance(n, ast.Call)):
        return stmt
    parent, field, index = _place(stmt, ifexp)
    _put(parent, field, index, ast.Name(id=_HOLE, ctx=ast.Load()))
    then, other = copy.deepcopy(stmt), copy.deepcopy(stmt)
    _put(parent, field, index, ifexp)
    _fill(then, ifexp.body)
    _fill(other, ifexp.orelse)
    then, other = (_lifted(s, pure, resolve, len(found) - 1) for s in (then, other))
    return ast.copy_location(ast.If(test=ifexp.test, body=[then], orelse=[other]), stmt)


def _evaluated_always(node: ast.expr, pure: Callable[[ast.Call], bool]) -> list[ast.IfExp]:
    """The conditional expressions that evaluating ``node`` always evaluates (their tests),
    left to right.  A loop, not a recursion: a sum of a thousand terms is a chain of a
    thousand ``BinOp``s."""
    if not any(isinstance(n, ast.IfExp) for n in ast.walk(node)):
        return []
    out: list[ast.IfExp] = []
    todo = [node]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.IfExp):
            out.append(node)
        elif isinstance(node, ast.BinOp):
            todo += [node.right, node.left]
        elif isinstance(node, ast.UnaryOp):
            todo.append(node.operand)
        elif isinstance(node, ast.Call) and pure(node):
            todo += [arg for arg in reversed(node.args) if not isinstance(arg, ast.Starred)]
    return out


def _plain(test: ast.expr) -> bool:
    """A test of names and literals only (``j > 0``, ``i == 0 and k < n``), which no call of
    the statement can change: evaluated before the other operands, it gives the same."""
    return all(isinstance(n, (ast.Name, ast.Constant, ast.Compare, ast.BoolOp, ast.UnaryOp,
                              ast.BinOp, ast.operator, ast.cmpop, ast.boolop, ast.unaryop,
                              ast.expr_context)) for n in ast.walk(test))


def _number(node: ast.expr, resolve: Callable[[ast.expr], Any]) -> bool:
    """A number literal (``0.0``, ``-1``), a module's number (``-np.inf``, ``math.pi``, a
    constant of the user's module) or ``float('inf')``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant):
        value = node.value
    elif isinstance(node, (ast.Name, ast.Attribute)):
        value = resolve(node)
    elif (isinstance(node, ast.Call) and resolve(node.func) is float and len(node.args) == 1
          and not node.keywords and isinstance(node.args[0], ast.Constant)):
        value = node.args[0].value
        return isinstance(value, str) and value.strip().lower().lstrip("+-") in ("inf", "nan")
    else:
        return False
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: the name that holds the place of the lifted expression while its statement is copied
_HOLE = "lifted conditional"


def _place(stmt: ast.stmt, node: ast.expr) -> tuple[ast.AST, str, int | None]:
    """Where ``node`` sits in ``stmt``: its parent, the field and the index in a list field."""
    for parent in ast.walk(stmt):
        for field, value in ast.iter_fields(parent):
            if value is node:
                return parent, field, None
            if isinstance(value, list):
                for k, item in enumerate(value):
                    if item is node:
                        return parent, field, k
    raise AssertionError("the conditional expression is not in its statement")


def _put(parent: ast.AST, field: str, index: int | None, node: ast.expr) -> None:
    if index is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[index] = node


def _fill(stmt: ast.stmt, value: ast.expr) -> None:
    """Put a copy of ``value`` in the hole of ``stmt``."""
    for parent in ast.walk(stmt):
        for field, item in ast.iter_fields(parent):
            items = item if isinstance(item, list) else [item]
            for k, child in enumerate(items):
                if isinstance(child, ast.Name) and child.id == _HOLE:
                    _put(parent, field, k if isinstance(item, list) else None,
                         copy.deepcopy(value))
                    return
    raise AssertionError("no hole in the copied statement")
