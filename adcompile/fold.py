"""Constant branches: decide ``if`` statements whose condition is known before running.

A condition such as ``0.3 < 0.3 and x < 0`` or a flag assigned a literal once is decided here,
on the normalized body, and only the branch taken is kept.  Numba would prune the other branch
itself, but its pruning does not cope with values defined on one side only.  AST in, AST out.
"""

from __future__ import annotations

import ast
from collections.abc import Callable


def fold_constant_branches(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """Decide branches whose condition is a constant (``if 0.3 < 0.3 and x < 0:``) here,
    keeping only the branch taken: Numba would prune the other branch itself, and its
    pruning does not cope with values defined on one side only."""
    while True:
        folder = _ConstantBranches(stmts)
        stmts = folder.fold(stmts)
        if not folder.changed:
            return stmts


class _ConstantBranches:
    def __init__(self, stmts: list[ast.stmt]) -> None:
        counts: dict[str, int] = {}
        for node in stmts:
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    counts[n.id] = counts.get(n.id, 0) + 1
        self.counts = counts
        self.known = {
            s.targets[0].id: s.value.value for node in stmts for s in ast.walk(node)
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
            and counts.get(s.targets[0].id) == 1 and isinstance(s.value, ast.Constant)
            and isinstance(s.value.value, (bool, int, float))}
        self.changed = False

    def value_of(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.known:
            return self.known[node.id]
        return _MISSING

    def fold(self, block: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in block:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, (ast.Compare,
                                                                         ast.UnaryOp)):
                value = _fold_value(stmt.value, self.value_of)
                if value is not _MISSING:
                    stmt = ast.Assign(targets=stmt.targets, value=ast.Constant(value=value),
                                      lineno=getattr(stmt, "lineno", 1))
                    self.changed = True
                    target = stmt.targets[0]
                    if isinstance(target, ast.Name) and self.counts.get(target.id) == 1:
                        # known from here on: a chain of flags folds in one pass, not one
                        # pass per link
                        self.known[target.id] = value
            if isinstance(stmt, ast.If):
                test = self.value_of(stmt.test)
                if test is not _MISSING:
                    out.extend(self.fold(stmt.body if test else stmt.orelse))
                    self.changed = True
                    continue
                stmt.body = self.fold(stmt.body) or [ast.Pass()]
                stmt.orelse = self.fold(stmt.orelse)
            elif isinstance(stmt, (ast.For, ast.While)):
                stmt.body = self.fold(stmt.body) or [ast.Pass()]
            out.append(stmt)
        return out


_MISSING = object()
_COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
            ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
            ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b}


def _fold_value(value: ast.expr, value_of: Callable[[ast.expr], object]) -> object:
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        operand = value_of(value.operand)
        return _MISSING if operand is _MISSING else (not operand)
    if isinstance(value, ast.Compare) and type(value.ops[0]) in _COMPARE:
        left, right = value_of(value.left), value_of(value.comparators[0])
        if left is _MISSING or right is _MISSING:
            return _MISSING
        return bool(_COMPARE[type(value.ops[0])](left, right))
    return _MISSING
