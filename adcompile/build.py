"""Small constructors for the AST of generated code."""

from __future__ import annotations

import ast


def name(id_: str, store: bool = False) -> ast.Name:
    return ast.Name(id=id_, ctx=ast.Store() if store else ast.Load())


def assign(target: str | ast.expr, value: ast.expr) -> ast.Assign:
    target = name(target, True) if isinstance(target, str) else target
    return ast.Assign(targets=[target], value=value, lineno=1)


def call(func: str, *args: ast.expr) -> ast.Call:
    if "." in func:
        base, attr = func.split(".")
        f: ast.expr = ast.Attribute(value=name(base), attr=attr, ctx=ast.Load())
    else:
        f = name(func)
    return ast.Call(func=f, args=list(args), keywords=[])


def const(value: object) -> ast.Constant:
    return ast.Constant(value=value)
