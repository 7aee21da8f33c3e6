"""Analysis: which values are active, and which the backward sweep reads.

A value is *active* when it depends on a ``wrt`` parameter (varied) and the result depends on it
(useful).  Only active values get adjoints.  Outputs of piecewise-constant primitives (``floor``,
comparisons, ...) are never varied.  In straight-line normalized code every name is assigned
once, so nothing is overwritten and no tape is needed: the backward sweep re-reads the values.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from . import rules
from .normalize import Normalized


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]

    @property
    def active(self) -> set[str]:
        return self.varied & self.useful

    def is_active(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.varied and node.id in self.useful


def operands(value: ast.expr) -> list[ast.expr]:
    """The atoms an operation reads, in argument order."""
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    if isinstance(value, ast.UnaryOp):
        return [value.operand]
    if isinstance(value, ast.Compare):
        return [value.left, *value.comparators]
    if isinstance(value, ast.Call):
        return list(value.args)
    return [value]


def names_read(value: ast.expr) -> Iterable[str]:
    return (a.id for a in operands(value) if isinstance(a, ast.Name))


def activity(norm: Normalized, wrt: Iterable[str]) -> Activity:
    """Forward (varied) and backward (useful) dataflow over the normalized body."""
    varied = set(wrt)
    for stmt in norm.stmts:
        target = stmt.targets[0].id
        if _passes_derivative(norm, stmt.value) and any(n in varied for n in names_read(
                stmt.value)):
            varied.add(target)
    useful: set[str] = set()
    if isinstance(norm.result, ast.Name):
        useful.add(norm.result.id)
    for stmt in reversed(norm.stmts):
        if stmt.targets[0].id in useful and _passes_derivative(norm, stmt.value):
            useful.update(names_read(stmt.value))
    return Activity(varied=varied, useful=useful)


def needed(stmts: list[ast.Assign], reads: set[str]) -> list[ast.Assign]:
    """The statements needed to compute ``reads`` (dead-code elimination)."""
    live = set(reads)
    kept = []
    for stmt in reversed(stmts):
        if stmt.targets[0].id in live:
            kept.append(stmt)
            live.update(names_read(stmt.value))
    kept.reverse()
    return kept


def _passes_derivative(norm: Normalized, value: ast.expr) -> bool:
    if isinstance(value, ast.Compare):
        return False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    if isinstance(value, ast.Call):
        return not rules.is_nondifferentiable(norm.info.resolve(value.func))
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.FloorDiv):
        return False
    return True
