"""Rendering: the generated AST as the text users read, with comments (and the user's
``raise`` statements, which travel as calls: ``raises``).

:mod:`ast` has no comment nodes, so a comment travels through the AST as a marker statement
(``comment(text)``) and ``unparse`` turns each marker back into a ``# text`` line.
"""

from __future__ import annotations

import ast
import re

from .raises import as_raise
from .trees import blocks, fix_locations

_MARK = "__adcompile_comment__:"
_MARK_LINE = re.compile(r"^(\s*)(?:'|\"\"\")" + re.escape(_MARK) + r"(\d+)(?:'|\"\"\")$",
                        re.MULTILINE)


def comment(text: str) -> ast.stmt:
    """A statement that renders as the line ``# text``."""
    return ast.Expr(value=ast.Constant(value=_MARK + text))


def unparse(tree: ast.AST) -> str:
    """``ast.unparse`` with comment markers turned into comments.

    Each marker's text is swapped for its number while the tree is written (and put back
    after), so that no text has to survive ``repr``; the tree is not copied, and nodes that
    have no location get their parent's."""
    texts: list[str] = []
    swapped: dict[int, tuple[ast.Constant, str]] = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.startswith(_MARK) and id(node) not in swapped):
            swapped[id(node)] = (node, node.value)
            texts.append(node.value[len(_MARK):])
            node.value = f"{_MARK}{len(texts) - 1}"
    restore = _with_raises(tree)
    try:
        text = ast.unparse(_with_statement_lines(tree))
    finally:
        for node, value in swapped.values():
            node.value = value
        for block, k, stmt in restore:
            block[k] = stmt
    return _MARK_LINE.sub(lambda m: f"{m.group(1)}# {texts[int(m.group(2))]}", text)


def _with_raises(tree: ast.AST) -> list[tuple[list, int, ast.stmt]]:
    """Swap each ``raised = raise_error("ValueError", "...")`` of ``tree`` for the ``raise``
    statement it stands for (``raises``); the swaps, to undo."""
    swapped = []
    for block in blocks(tree):
        for k, stmt in enumerate(block):
            raised = as_raise(stmt)
            if raised is not None:
                swapped.append((block, k, stmt))
                block[k] = raised
    return swapped


def _with_statement_lines(tree: ast.AST) -> ast.AST:
    """``tree`` with a line number on every statement (``ast.unparse`` reads them), taken from
    the enclosing statement where missing; expressions are not visited."""
    stack = [(tree, getattr(tree, "lineno", 1))]
    while stack:
        node, lineno = stack.pop()
        if isinstance(node, ast.stmt):
            if hasattr(node, "lineno"):
                lineno = node.lineno
            else:
                node.lineno = lineno
        for field in ("body", "orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                stack.extend((child, lineno) for child in block if isinstance(child, ast.AST))
    return tree


def function_def(name: str, args: ast.arguments, body: list[ast.stmt]) -> ast.FunctionDef:
    """A ``FunctionDef`` that works on every supported Python version."""
    fields: dict = {"name": name, "args": args, "body": body, "decorator_list": [],
                    "returns": None}
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []
    return fix_locations(ast.FunctionDef(**fields, lineno=1))

