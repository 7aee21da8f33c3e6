"""Algebraic clean-up of adjoint expressions, so the generated code reads like a person's.

Only rewrites that keep value and type: folding arithmetic between literals, ``x ** 1``,
``x * 1``, ``1 * x``, ``x + 0``, ``0 + x``, ``x - 0`` (with integer literals), ``-(-x)`` and
``-literal``.  Nothing here changes what is computed, only how it is written.
"""

from __future__ import annotations

import ast
import math
import operator

_FOLD = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
         ast.Div: operator.truediv, ast.Pow: operator.pow}


def simplify(node: ast.expr) -> ast.expr:
    """``node`` with the rewrites of the module docstring applied bottom-up."""
    return ast.fix_missing_locations(_Simplifier().visit(node))


def expand_literal_powers(node: ast.expr, pow_dx: set[str]) -> ast.expr:
    """``g * pow_dx(x, c)`` with a positive literal ``c`` written as the textbook's
    ``g * c * x ** (c - 1)`` (``pow_dx`` names the kernel: ``0`` at ``c == 0``, Python's
    integer powers), so that ``x ** 3`` reads ``d_x = d_t * 3 * x ** 2``."""

    class Expand(ast.NodeTransformer):
        def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
            self.generic_visit(node)
            call = node.right
            if not (isinstance(node.op, ast.Mult) and isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name) and call.func.id in pow_dx
                    and len(call.args) == 2):
                return node
            base, c = call.args
            value = literal(c)
            if value is None or value <= 0 or (type(value) is int and value < 1):
                return node
            scaled = ast.BinOp(left=node.left, op=ast.Mult(), right=make_literal(value))
            power = ast.BinOp(left=base, op=ast.Pow(), right=make_literal(value - 1))
            return ast.BinOp(left=scaled, op=ast.Mult(), right=power)

    return Expand().visit(node)


def literal(node: ast.AST) -> int | float | None:
    """The value of a numeric literal: ``2``, ``2.5`` or ``-2.5``; else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = literal(node.operand)
        return -inner if inner is not None and isinstance(node.operand, ast.Constant) else None
    return None


def make_literal(value: int | float) -> ast.expr:
    """A literal for ``value``; negative numbers as ``-(number)`` so that ``ast.unparse``
    writes ``(-2.0) ** x``, not ``-2.0 ** x``."""
    if value < 0 or (value == 0 and str(value).startswith("-")):
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return ast.Constant(value=value)


def _is_int(node: ast.AST, value: int) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value == value


class _Simplifier(ast.NodeTransformer):
    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            inner = node.operand
            if isinstance(inner, ast.UnaryOp) and isinstance(inner.op, ast.USub):
                return inner.operand
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        left, right = literal(node.left), literal(node.right)
        fold = _FOLD.get(type(node.op))
        if fold is not None and left is not None and right is not None:
            try:
                value = fold(left, right)
            except (ArithmeticError, ValueError):
                return node
            if isinstance(value, (int, float)) and math.isfinite(value) and abs(value) < 1e15:
                return make_literal(value)
            return node
        op = node.op
        if isinstance(op, ast.Pow) and _is_int(node.right, 1):
            return node.left
        if isinstance(op, ast.Mult):
            if _is_int(node.right, 1):
                return node.left
            if _is_int(node.left, 1):
                return node.right
        if isinstance(op, ast.Add):
            if _is_int(node.right, 0):
                return node.left
            if _is_int(node.left, 0):
                return node.right
        if isinstance(op, ast.Sub) and _is_int(node.right, 0):
            return node.left
        return node
