"""Analysis: which values are active, and which statements a sweep needs.

A value is *active* when it depends on a ``wrt`` parameter (varied) and the result depends on it
(useful).  Only active values get adjoints.  Outputs of piecewise-constant primitives (``floor``,
comparisons, ``len``, ...) are never varied.  Both are fixed points over every assignment in the
structured body, so loops and branches are covered.

``live_in``/``prune`` are a liveness analysis over generated code: they keep what a later
read needs (and every store into an array, such as a tape push) and drop the rest, so the
forward sweep computes only what the backward sweep reads.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import rules
from .normalize import Normalized


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]
    arrays: set[str]

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
    if isinstance(value, ast.Subscript):
        index = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        return [value.value, *index]
    return [value]


def names_read(value: ast.expr) -> Iterable[str]:
    return (a.id for a in operands(value) if isinstance(a, ast.Name))


def assignments(stmts: list[ast.stmt]) -> Iterator[ast.Assign]:
    """Every ``name = op`` in ``stmts``, at any depth, in program order."""
    for stmt in stmts:
        if isinstance(stmt, ast.Assign):
            yield stmt
        elif isinstance(stmt, (ast.If, ast.For, ast.While)):
            yield from assignments(stmt.body)
            yield from assignments(stmt.orelse)


def activity(norm: Normalized, wrt: Iterable[str]) -> Activity:
    """Forward (varied) and backward (useful) dataflow over the normalized body."""
    stmts = list(assignments(norm.stmts))
    differentiable = [s for s in stmts if passes_derivative(norm, s.value)]
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for stmt in differentiable:
            target = stmt.targets[0].id
            if target not in varied and any(n in varied for n in _value_names(stmt.value)):
                varied.add(target)
                changed = True
    useful: set[str] = set()
    if isinstance(norm.result, ast.Name):
        useful.add(norm.result.id)
    changed = True
    while changed:
        changed = False
        for stmt in reversed(differentiable):
            if stmt.targets[0].id in useful:
                new = set(_value_names(stmt.value)) - useful
                if new:
                    useful |= new
                    changed = True
    arrays = {s.value.value.id for s in stmts if isinstance(s.value, ast.Subscript)
              and isinstance(s.value.value, ast.Name)}
    return Activity(varied=varied, useful=useful, arrays=arrays)


def _value_names(value: ast.expr) -> list[str]:
    """Names whose derivative flows into the result of ``value`` (not indices)."""
    if isinstance(value, ast.Subscript):
        return [value.value.id] if isinstance(value.value, ast.Name) else []
    return list(names_read(value))


def passes_derivative(norm: Normalized, value: ast.expr) -> bool:
    if isinstance(value, ast.Compare):
        return False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    if isinstance(value, ast.Call):
        return not rules.is_nondifferentiable(norm.info.resolve(value.func))
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.FloorDiv):
        return False
    return True


# -- liveness over generated code -------------------------------------------------------------

def _loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx,
                                                                                   ast.Load)}


def _is_root(stmt: ast.stmt) -> bool:
    """Statements kept whatever is live: stores into arrays (tape pushes, adjoint arrays)."""
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
    return isinstance(target, ast.Subscript)


def prune(stmts: list[ast.stmt], live: set[str], keep_all: bool = False
          ) -> tuple[list[ast.stmt], set[str]]:
    """The statements of ``stmts`` needed for the names in ``live`` afterwards, and the names
    live before them.  With ``keep_all`` nothing is dropped (liveness only)."""
    live = set(live)
    kept: list[ast.stmt] = []
    for stmt in reversed(stmts):
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            if keep_all or _is_root(stmt) or (isinstance(target, ast.Name)
                                              and target.id in live):
                if isinstance(target, ast.Name) and isinstance(stmt, ast.Assign):
                    live.discard(target.id)
                live |= _loads(stmt)
                kept.append(stmt)
        elif isinstance(stmt, ast.If):
            body, live_body = prune(stmt.body, live, keep_all)
            orelse, live_else = prune(stmt.orelse, live, keep_all)
            if body or orelse:
                kept.append(ast.If(test=stmt.test, body=body or [ast.Pass()], orelse=orelse))
                live = live_body | live_else | _loads(stmt.test)
        elif isinstance(stmt, (ast.For, ast.While)):
            loop, live = _prune_loop(stmt, live, keep_all)
            if loop is not None:
                kept.append(loop)
        elif isinstance(stmt, ast.Expr):  # comments
            kept.append(stmt)
        else:
            live |= _loads(stmt)
            kept.append(stmt)
    kept.reverse()
    return _drop_dangling_comments(kept), live


def _prune_loop(stmt: ast.For | ast.While, live_out: set[str], keep_all: bool
                ) -> tuple[ast.stmt | None, set[str]]:
    live = set(live_out)
    while True:  # values carried around the loop: iterate to a fixed point
        body, live_in = prune(stmt.body, live, keep_all)
        header = _loads(stmt.test) if isinstance(stmt, ast.While) else _loads(stmt.iter)
        new = live | live_in | header
        if new == live:
            break
        live = new
    if not any(not isinstance(s, ast.Expr) for s in body):
        return None, set(live_out)
    loop = ast.For(target=stmt.target, iter=stmt.iter, body=body, orelse=[]) if isinstance(
        stmt, ast.For) else ast.While(test=stmt.test, body=body, orelse=[])
    if isinstance(stmt, ast.For):
        live.discard(stmt.target.id)
    return loop, live


def _drop_dangling_comments(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out = []
    for k, stmt in enumerate(stmts):
        if isinstance(stmt, ast.Expr) and (k + 1 == len(stmts) or isinstance(stmts[k + 1],
                                                                             ast.Expr)):
            continue
        out.append(stmt)
    return out
