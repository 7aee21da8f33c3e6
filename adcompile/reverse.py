"""Reverse mode: from the normalized body to the gradient function.

The generated function runs the forward sweep (only the statements the backward sweep reads),
seeds the adjoint of the result with ``1.0``, then walks the normalized statements backwards.
For each active statement ``y = op(a, b)`` it instantiates the rule of ``op`` with ``g = d_y``,
``ans = y`` and the arguments, and adds each contribution to ``d_a``/``d_b``: the chain rule,
one step per line, under a comment that shows the primal line it comes from.
"""

from __future__ import annotations

import ast
import copy
import operator
from dataclasses import dataclass, field

from . import rules
from .analyze import Activity, needed, operands
from .names import NameGen, Namespace
from .normalize import Normalized
from .render import comment, function_def
from .simplify import simplify

BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
          ast.FloorDiv: operator.floordiv}
UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


@dataclass
class _Backward:
    norm: Normalized
    act: Activity
    ns: Namespace
    names: NameGen
    adjoints: dict[str, str] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    body: list[ast.stmt] = field(default_factory=list)

    def adjoint(self, name: str) -> str:
        if name not in self.adjoints:
            self.adjoints[name] = self.names.fresh(f"d_{name}")
        return self.adjoints[name]

    def accumulate(self, name: str, value: ast.expr) -> None:
        target = ast.Name(id=self.adjoint(name), ctx=ast.Store())
        if name in self.started:
            self.body.append(ast.AugAssign(target=target, op=ast.Add(), value=value))
        else:
            self.started.add(name)
            self.body.append(ast.Assign(targets=[target], value=value))

    def statement(self, stmt: ast.Assign) -> None:
        target = stmt.targets[0].id
        if target not in self.act.active or target not in self.started:
            return
        args = operands(stmt.value)
        active = [i for i, a in enumerate(args) if self.act.is_active(a)]
        if not active:
            return
        self.body.append(comment(ast.unparse(stmt)))
        g = ast.Name(id=self.adjoint(target), ctx=ast.Load())
        if isinstance(stmt.value, ast.Name):  # a copy
            self.accumulate(stmt.value.id, g)
            return
        contributions = self.contributions(stmt, g, args, active)
        for i in active:
            self.accumulate(args[i].id, simplify(contributions[i]))

    def contributions(self, stmt: ast.Assign, g: ast.expr, args: list[ast.expr],
                      active: list[int]) -> dict[int, ast.expr]:
        info = self.norm.info
        value = stmt.value
        if isinstance(value, ast.BinOp):
            primal, what = BINOPS.get(type(value.op)), f"the operator {_op_text(value)}"
        elif isinstance(value, ast.UnaryOp):
            primal, what = UNARYOPS.get(type(value.op)), f"the operator {_op_text(value)}"
        else:
            assert isinstance(value, ast.Call)
            primal, what = info.resolve(value.func), f"'{ast.unparse(value.func)}'"
        rule = rules.lookup(primal, len(args))
        if rule is None:
            if rules.has_rule(primal):
                hint = (f"no rule for {what} with {len(args)} argument(s); register one with "
                        "@adcompile.derivative")
            else:
                callee = ast.unparse(value.func) if isinstance(value, ast.Call) else "..."
                hint = f"register its derivative with @adcompile.derivative({callee})"
            raise info.error(stmt, f"no derivative rule for {what}", construct=what, hint=hint)
        exprs = instantiate(rule, g, stmt.targets[0], args, self.ns, active)
        out = {}
        for i in active:
            if exprs[i] is None:
                raise info.error(stmt, f"{what} is not differentiable in argument {i + 1}",
                                 construct=what, hint="make that argument a constant: do not "
                                 "differentiate with respect to what it depends on")
            out[i] = exprs[i]
        return out


def instantiate(rule: rules.Rule, g: ast.expr, ans: ast.expr, args: list[ast.expr],
                ns: Namespace, which: list[int]) -> dict[int, ast.expr | None]:
    """The rule's formula for each argument in ``which``, with ``g``, ``ans`` and the
    arguments substituted and the formula's free names bound in ``ns``."""
    params = rule.params
    subst = {params[0]: g, params[1]: ans} | dict(zip(params[2:], args, strict=True))
    free = rule.free_names()
    body = rule.body()
    parts = body.elts if isinstance(body, ast.Tuple) and rule.nargs > 1 else [body]

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id in subst:
                return copy.deepcopy(subst[node.id])
            if free.get(node.id) is not None:
                return ast.Name(id=ns.bind(node.id, free[node.id]), ctx=ast.Load())
            return node

    out: dict[int, ast.expr | None] = {}
    for i in which:
        part = parts[i]
        is_none = isinstance(part, ast.Constant) and part.value is None
        out[i] = None if is_none else Substitute().visit(copy.deepcopy(part))
    return out


def gradient_function(norm: Normalized, act: Activity, wrt: list[str], ns: Namespace,
                      name: str, *, with_value: bool, as_tuple: bool) -> ast.FunctionDef:
    """The gradient (or value-and-gradient) function of ``norm`` with respect to ``wrt``."""
    bw = _Backward(norm, act, ns, copy.deepcopy(norm.names))
    result = norm.result
    if isinstance(result, ast.Name) and result.id in act.active:
        bw.body.append(comment(f"backward sweep: the chain rule from {result.id} back to "
                               f"{', '.join(wrt)}"))
        bw.accumulate(result.id, ast.Constant(value=1.0))
    for stmt in reversed(norm.stmts):
        bw.statement(stmt)
    for p in wrt:
        if p not in bw.started:
            bw.accumulate(p, ast.Constant(value=0.0))
    reads = {n.id for stmt in bw.body for n in ast.walk(stmt)
             if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    if with_value and isinstance(result, ast.Name):
        reads.add(result.id)
    forward = needed(norm.stmts, reads)
    grads = [ast.Name(id=bw.adjoint(p), ctx=ast.Load()) for p in wrt]
    grad_value: ast.expr = grads[0] if not as_tuple else ast.Tuple(elts=grads, ctx=ast.Load())
    if with_value:
        grad_value = ast.Tuple(elts=[result, grad_value], ctx=ast.Load())
    body = [*forward, *bw.body, ast.Return(value=grad_value)]
    return function_def(name, copy.deepcopy(norm.info.tree.args), body)


def _op_text(value: ast.expr) -> str:
    text = ast.unparse(value)
    for a in operands(value):
        text = text.replace(ast.unparse(a), "", 1)
    return f"'{text.strip()}'"
