"""Desugaring: remove early exits so that every block runs to its end.

``break``, ``continue`` and a ``return`` that is not the last statement become assignments to
flags (``broke``, ``skip``, ``returned``); the statements after a possible exit are guarded by
``if not flag:``; a ``for`` loop that may be left early becomes a ``while`` loop over an explicit
counter.  The function then has exactly one ``return``, at its end.  AST in, AST out, on the
user's function before normalization.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .names import NameGen
from .trees import copy_tree, fix_locations, preorder


@dataclass
class _Loop:
    broke: str | None = None
    skip: str | None = None


def desugar(tree: ast.FunctionDef, names: NameGen) -> ast.FunctionDef:
    """``tree`` with early exits turned into flags (see the module docstring)."""
    return _Desugar(names).run(copy_tree(tree))


def _has(node: ast.AST | list, kinds: tuple[type, ...], into_loops: bool) -> bool:
    """Whether ``node`` contains one of ``kinds``; ``break``/``continue`` inside a nested loop
    belong to that loop, so with ``into_loops=False`` nested loops are not searched."""
    def skip(n: ast.AST) -> bool:
        return not into_loops and isinstance(n, (ast.For, ast.While))

    return any(isinstance(n, kinds) for top in (node if isinstance(node, list) else [node])
               for n in preorder(top, skip))


def _name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def _set(flag: str, value: object, like: ast.AST) -> ast.Assign:
    return ast.copy_location(ast.Assign(targets=[_name(flag, True)],
                                        value=ast.Constant(value=value)), like)


def _not_any(flags: list[str]) -> ast.expr:
    if len(flags) == 1:
        return ast.UnaryOp(op=ast.Not(), operand=_name(flags[0]))
    return ast.UnaryOp(op=ast.Not(), operand=ast.BoolOp(op=ast.Or(),
                                                         values=[_name(f) for f in flags]))


class _Desugar:
    def __init__(self, names: NameGen) -> None:
        self.names = names
        self.returned: str | None = None
        self.retval: str | None = None
        self.loops: list[_Loop] = []

    def run(self, tree: ast.FunctionDef) -> ast.FunctionDef:
        body = tree.body
        early = [r for r in ast.walk(tree) if isinstance(r, ast.Return) and r is not body[-1]]
        if not early:
            tree.body = self.block(body[:-1]) + [body[-1]]
            return tree
        self.returned = self.names.fresh("returned")
        self.retval = self.names.fresh("result")
        first = body[0]
        init = [_set(self.returned, False, first), _set(self.retval, 0.0, first)]
        tree.body = init + self.block(body) + [
            ast.copy_location(ast.Return(value=_name(self.retval)), body[-1])]
        return fix_locations(tree)

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for k, stmt in enumerate(stmts):
            flags = self.exits(stmt)
            out.extend(self.statement(stmt))
            rest = stmts[k + 1:]
            if flags and rest:
                guarded = self.block(rest)
                if guarded:
                    out.append(ast.copy_location(
                        ast.If(test=_not_any(flags), body=guarded, orelse=[]), rest[0]))
                break
        return out

    def exits(self, stmt: ast.stmt) -> list[str]:
        """The flags ``stmt`` may set that end the enclosing block early."""
        flags = []
        loop = self.loops[-1] if self.loops else None
        if loop and loop.broke and _has(stmt, (ast.Break,), into_loops=False):
            flags.append(loop.broke)
        if loop and loop.skip and _has(stmt, (ast.Continue,), into_loops=False):
            flags.append(loop.skip)
        if self.returned and _has(stmt, (ast.Return,), into_loops=True):
            flags.append(self.returned)
        return flags

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if isinstance(stmt, ast.Return):
            value = stmt.value if stmt.value is not None else ast.Constant(value=0.0)
            return [ast.copy_location(ast.Assign(targets=[_name(self.retval, True)],
                                                 value=value), stmt),
                    _set(self.returned, True, stmt)]
        if isinstance(stmt, ast.Break):
            return [_set(self.loops[-1].broke, True, stmt)]
        if isinstance(stmt, ast.Continue):
            return [_set(self.loops[-1].skip, True, stmt)]
        if isinstance(stmt, ast.If):
            stmt.body = self.block(stmt.body) or [ast.Pass()]
            stmt.orelse = self.block(stmt.orelse)
            return [stmt]
        if isinstance(stmt, (ast.For, ast.While)):
            return self.loop(stmt)
        return [stmt]

    def loop(self, node: ast.For | ast.While) -> list[ast.stmt]:
        loop = _Loop()
        if _has(node.body, (ast.Break,), into_loops=False):
            loop.broke = self.names.fresh("broke")
        if _has(node.body, (ast.Continue,), into_loops=False):
            loop.skip = self.names.fresh("skip")
        leaves = loop.broke is not None or (
            self.returned is not None and _has(node.body, (ast.Return,), into_loops=True))
        self.loops.append(loop)
        body = self.block(node.body)
        self.loops.pop()
        if loop.skip:
            body.insert(0, _set(loop.skip, False, node))
        pre: list[ast.stmt] = []
        if loop.broke:
            pre.append(_set(loop.broke, False, node))
        stop_flags = [f for f in (loop.broke, self.returned if leaves else None) if f]
        if isinstance(node, ast.While):
            test = node.test
            if stop_flags:
                test = ast.BoolOp(op=ast.And(), values=[_not_any(stop_flags), test])
            return pre + [ast.copy_location(ast.While(test=test, body=body or [ast.Pass()],
                                                      orelse=[]), node)]
        if not leaves:
            node.body = body or [ast.Pass()]
            return pre + [node]
        return pre + self.for_as_while(node, body, stop_flags)

    def for_as_while(self, node: ast.For, body: list[ast.stmt],
                     stop_flags: list[str]) -> list[ast.stmt]:
        """``for i in range(a, b, s)`` that may exit early, as a ``while`` over a counter."""
        args = list(node.iter.args)
        start, stop, step = ((ast.Constant(value=0), args[0], ast.Constant(value=1))
                             if len(args) == 1 else
                             (args[0], args[1], args[2] if len(args) == 3
                              else ast.Constant(value=1)))
        counter = self.names.fresh("k")
        bounds = {}
        pre: list[ast.stmt] = []
        for label, expr in (("stop", stop), ("step", step)):
            if isinstance(expr, ast.Constant):
                bounds[label] = expr
            else:
                bounds[label] = _name(self.names.fresh(label))
                pre.append(ast.copy_location(ast.Assign(
                    targets=[_name(bounds[label].id, True)], value=expr), node))
        pre.append(ast.copy_location(ast.Assign(targets=[_name(counter, True)], value=start),
                                     node))
        up = ast.Compare(left=_name(counter), ops=[ast.Lt()], comparators=[bounds["stop"]])
        down = ast.Compare(left=_name(counter), ops=[ast.Gt()], comparators=[bounds["stop"]])
        step_value = bounds["step"].value if isinstance(bounds["step"], ast.Constant) else None
        if step_value is None:
            in_range: ast.expr = ast.IfExp(test=ast.Compare(
                left=bounds["step"], ops=[ast.Gt()], comparators=[ast.Constant(value=0)]),
                body=up, orelse=down)
        else:
            in_range = up if step_value > 0 else down
        test = ast.BoolOp(op=ast.And(), values=[_not_any(stop_flags), in_range])
        target = ast.Assign(targets=[node.target], value=_name(counter))
        advance = ast.Assign(targets=[_name(counter, True)], value=ast.BinOp(
            left=_name(counter), op=ast.Add(), right=bounds["step"]))
        loop_body = [ast.copy_location(target, node), *body, ast.copy_location(advance, node)]
        return pre + [ast.copy_location(ast.While(test=test, body=loop_body, orelse=[]), node)]
