"""Rendering: the generated AST as the text users read, with comments.

:mod:`ast` has no comment nodes, so a comment travels through the AST as a marker statement
(``comment(text)``) and ``unparse`` turns each marker back into a ``# text`` line.
"""

from __future__ import annotations

import ast
import copy
import re

_MARK = "__adcompile_comment__:"
_MARK_LINE = re.compile(r"^(\s*)(?:'|\"\"\")" + re.escape(_MARK) + r"(\d+)(?:'|\"\"\")$",
                        re.MULTILINE)


def comment(text: str) -> ast.stmt:
    """A statement that renders as the line ``# text``."""
    return ast.Expr(value=ast.Constant(value=_MARK + text))


def unparse(tree: ast.AST) -> str:
    """``ast.unparse`` with comment markers turned into comments."""
    texts: list[str] = []

    class Collect(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.Constant:
            if isinstance(node.value, str) and node.value.startswith(_MARK):
                texts.append(node.value[len(_MARK):])
                return ast.Constant(value=f"{_MARK}{len(texts) - 1}")
            return node

    tree = Collect().visit(copy.deepcopy(tree))
    text = ast.unparse(ast.fix_missing_locations(tree))
    return _MARK_LINE.sub(lambda m: f"{m.group(1)}# {texts[int(m.group(2))]}", text)


def function_def(name: str, args: ast.arguments, body: list[ast.stmt]) -> ast.FunctionDef:
    """A ``FunctionDef`` that works on every supported Python version."""
    fields: dict = {"name": name, "args": args, "body": body, "decorator_list": [],
                    "returns": None}
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []
    return ast.fix_missing_locations(ast.FunctionDef(**fields, lineno=1))

