"""Walks over user trees of any depth, without recursion.

A sum of a thousand terms is a left-nested chain of a thousand ``BinOp`` nodes, and Python
parses and compiles it; a recursive walk (``copy.deepcopy``, an ``ast.NodeTransformer``,
``ast.fix_missing_locations``) would stop at Python's recursion limit long before that.  The
passes that see the user's expressions before normalization (which leaves one operation per
statement) use these explicit-stack versions instead.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

#: a transformation of one node whose children are already transformed: the node to put in
#: its place (``node`` itself to keep it)
Rewrite = Callable[[ast.AST], ast.AST]


def copy_tree(tree: ast.AST) -> ast.AST:
    """A deep copy of ``tree``: every node is new, every attribute (fields, locations and any
    extra attribute a pass has set) is carried over; lists are copied, other values shared."""
    root = _shallow(tree)
    stack = [root]
    while stack:
        node = stack.pop()
        for key, value in vars(node).items():
            if isinstance(value, ast.AST):
                child = _shallow(value)
                setattr(node, key, child)
                stack.append(child)
            elif isinstance(value, list):
                items = [_shallow(v) if isinstance(v, ast.AST) else v for v in value]
                setattr(node, key, items)
                stack.extend(v for v in items if isinstance(v, ast.AST))
    return root


def _shallow(node: ast.AST) -> ast.AST:
    new = type(node).__new__(type(node))
    new.__dict__.update(vars(node))
    return new


def fix_locations(tree: ast.AST) -> ast.AST:
    """``ast.fix_missing_locations`` without recursion: every node without a location takes
    its parent's."""
    stack: list[tuple[ast.AST, int, int, int | None, int | None]] = [(tree, 1, 0, 1, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        node, lineno, col, end_lineno, end_col = pop()
        attrs = vars(node)
        if node._attributes:
            if "lineno" in node._attributes:
                if "lineno" in attrs:
                    lineno = attrs["lineno"]
                else:
                    node.lineno = lineno
            if "end_lineno" in node._attributes:
                if attrs.get("end_lineno") is None:
                    node.end_lineno = end_lineno
                else:
                    end_lineno = attrs["end_lineno"]
            if "col_offset" in node._attributes:
                if "col_offset" in attrs:
                    col = attrs["col_offset"]
                else:
                    node.col_offset = col
            if "end_col_offset" in node._attributes:
                if attrs.get("end_col_offset") is None:
                    node.end_col_offset = end_col
                else:
                    end_col = attrs["end_col_offset"]
        for name in node._fields:
            value = attrs.get(name)
            if isinstance(value, ast.AST):
                push((value, lineno, col, end_lineno, end_col))
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        push((item, lineno, col, end_lineno, end_col))
    return tree


def preorder(tree: ast.AST, skip: Callable[[ast.AST], bool] | None = None
             ) -> Iterator[ast.AST]:
    """The nodes of ``tree`` in source order (a node before its children, children left to
    right); the children of a node for which ``skip`` is true are not visited."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if skip is None or not skip(node):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def transform(tree: ast.AST, rewrite: Rewrite) -> ast.AST:
    """``tree`` with ``rewrite`` applied bottom-up (children before their parent), as an
    ``ast.NodeTransformer`` whose methods first visit the children would; returns the new
    root."""
    # every node with the slot it sits in: (parent, field, index or None)
    slots: list[tuple[ast.AST, ast.AST | None, str, int | None]] = [(tree, None, "", None)]
    stack = [tree]
    while stack:
        node = stack.pop()
        for field, value in ast.iter_fields(node):
            if isinstance(value, ast.AST):
                slots.append((value, node, field, None))
                stack.append(value)
            elif isinstance(value, list):
                for k, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        slots.append((item, node, field, k))
                        stack.append(item)
    root = tree
    for node, parent, field, index in reversed(slots):  # descendants before ancestors
        new = rewrite(node)
        if new is node:
            continue
        if parent is None:
            root = new
        elif index is None:
            setattr(parent, field, new)
        else:
            getattr(parent, field)[index] = new
    return root


def depth(tree: ast.AST) -> int:
    """The number of nodes on the longest path from ``tree`` down to a leaf."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(node))
    return deepest


def free_names(fn: ast.FunctionDef) -> set[str]:
    """The names ``fn`` reads that are neither its parameters nor assigned in it (its free
    names: globals, builtins, closure variables)."""
    a = fn.args
    local = {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
             if p is not None}
    loads = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                loads.add(node.id)
            else:
                local.add(node.id)
    return loads - local


def blocks(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list of ``tree`` (bodies and ``else`` blocks), outermost first; a
    list may be changed in place while the walk goes on."""
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                yield block


def replace_node(tree: ast.AST, old: ast.AST, new: ast.AST) -> None:
    """Put ``new`` where ``old`` (the node itself, not an equal one) is in ``tree``."""
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, field, new)
            elif isinstance(value, list):
                value[:] = [new if v is old else v for v in value]
