"""``max(seq, key=k)`` and ``min(seq, key=k)`` as the loop they mean (a front-end rewrite).

``best = max(range(n), key=lambda i: score[i])`` becomes, before the statement that reads it:

```python
stop_1 = n
if stop_1 <= 0:
    raise ValueError("max() arg is an empty sequence")
best_2 = 0                          # the first item, and its key
best_key_3 = score[best_2]
for item_4 in range(1, stop_1):     # the others: a larger key takes its place
    key_5 = score[item_4]
    if key_5 > best_key_3:
        best_key_3 = key_5
        best_2 = item_4
```

ties going to the earlier item, as Python's ``max`` keeps the first.  The sequence is a
``range`` (its bounds read once), a tuple display, or a name (a tuple, unrolled by desugar,
or an array, whose items are its numbers or rows); the key a lambda of one parameter (its body
written with the item for the parameter) or a function's name (called on the item).  The
gradient flows through the chosen item, as through any branch.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from .build import assign as _assign
from .build import name as _load
from .errors import AdcompileError
from .trees import replace_node

_HINT = ("write the loop: best = x[0]; for v in x: if key(v) > key(best): best = v, or use "
         "max(seq, key=...) with seq a range, a tuple or an array, and key a lambda of one "
         "parameter or a function")


def lower(tree: ast.FunctionDef, is_builtin: Callable[[str], bool],
          fresh: Callable[[str], str], error: Callable[..., AdcompileError]) -> None:
    """Rewrite every ``max(seq, key=k)`` / ``min(...)`` of ``tree`` (``is_builtin(name)``:
    whether ``max`` is Python's here) into the loop before its statement."""

    def keyed(node: ast.AST) -> bool:
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("max", "min") and is_builtin(node.func.id)
                and any(k.arg == "key" for k in node.keywords))

    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, field, block(inner))
            root = stmt.test if isinstance(stmt, (ast.If, ast.While)) else stmt
            if isinstance(stmt, ast.While) and any(keyed(n) for n in ast.walk(root)):
                raise error(stmt, "max(..., key=...) in a while test is not supported",
                            construct="max(..., key=...)", hint="assign it to a name before "
                            "the loop and again at the end of its body")
            if isinstance(stmt, (ast.For, ast.While)):
                out.append(stmt)
                continue
            for call in [n for n in ast.walk(root) if keyed(n)][::-1]:  # innermost first
                pre, best = _lowered(call, fresh, error)
                out.extend(_located(pre, call))
                replace_node(stmt, call, ast.copy_location(ast.Name(id=best, ctx=ast.Load()),
                                                       call))
            out.append(stmt)
        return out

    tree.body = block(tree.body)


def _lowered(call: ast.Call, fresh: Callable[[str], str],
             error: Callable[..., AdcompileError]) -> tuple[list[ast.stmt], str]:
    what = f"{call.func.id}(..., key=...)"
    if len(call.args) != 1 or len(call.keywords) != 1:
        raise error(call, f"{what} takes one sequence and key= alone here",
                    construct=what, hint=_HINT)
    seq, key = call.args[0], call.keywords[0].value
    best, best_key, item, item_key = (fresh(n) for n in ("best", "best_key", "item", "key"))
    pre: list[ast.stmt] = []
    empty = ast.Raise(exc=ast.Call(func=_load("ValueError"), args=[ast.Constant(
        value=f"{call.func.id}() arg is an empty sequence")], keywords=[]), cause=None)
    if _is_call_of(seq, "range") and 1 <= len(seq.args) <= 3 and not seq.keywords:
        if len(seq.args) == 3:
            raise error(call, f"{what} over a range with a step is not supported",
                        construct=what, hint=_HINT)
        names = [fresh("stop")] if len(seq.args) == 1 else [fresh("start"), fresh("stop")]
        pre += [_assign(n, copy.deepcopy(b)) for n, b in zip(names, seq.args, strict=True)]
        start = _load(names[0]) if len(names) == 2 else ast.Constant(value=0)
        stop = _load(names[-1])
        after = (ast.Constant(value=start.value + 1) if isinstance(start, ast.Constant)
                 else ast.BinOp(left=copy.deepcopy(start), op=ast.Add(),
                                right=ast.Constant(value=1)))
        pre.append(ast.If(test=ast.Compare(left=stop, ops=[ast.LtE()], comparators=[start]),
                          body=[empty], orelse=[]))
        pre.append(_assign(best, copy.deepcopy(start)))
        rest: ast.expr = ast.Call(func=_load("range"), args=[after, copy.deepcopy(stop)],
                                  keywords=[])
    elif isinstance(seq, (ast.Tuple, ast.List, ast.Name)):
        if isinstance(seq, (ast.Tuple, ast.List)):
            if not seq.elts:
                raise error(call, f"{what} of an empty display", construct=what, hint=_HINT)
            items = fresh("items")
            pre.append(_assign(items, ast.Tuple(elts=seq.elts, ctx=ast.Load())))
            seq = _load(items)
        else:
            pre.append(ast.If(test=ast.Compare(left=ast.Call(
                func=_load("len"), args=[_load(seq.id)], keywords=[]), ops=[ast.Eq()],
                comparators=[ast.Constant(value=0)]), body=[empty], orelse=[]))
        pre.append(_assign(best, ast.Subscript(value=_load(seq.id), slice=ast.Constant(
            value=0), ctx=ast.Load())))
        rest = ast.Subscript(value=_load(seq.id), slice=ast.Slice(
            lower=ast.Constant(value=1)), ctx=ast.Load())
    else:
        raise error(call, f"{what} of '{ast.unparse(seq)}' is not supported",
                    construct=what, hint=_HINT)
    pre.append(_assign(best_key, _applied(key, best, call, error)))
    better = ast.Gt() if call.func.id == "max" else ast.Lt()
    pre.append(ast.For(target=_load(item, store=True), iter=rest, body=[
        _assign(item_key, _applied(key, item, call, error)),
        ast.If(test=ast.Compare(left=_load(item_key), ops=[better],
                                comparators=[_load(best_key)]),
               body=[_assign(best_key, _load(item_key)), _assign(best, _load(item))],
               orelse=[])], orelse=[]))
    return pre, best


def _applied(key: ast.expr, item: str, call: ast.Call,
             error: Callable[..., AdcompileError]) -> ast.expr:
    """The key of ``item``: a lambda's body with ``item`` for its parameter, or a call."""
    if isinstance(key, ast.Lambda):
        args = key.args
        if (len(args.args) != 1 or args.posonlyargs or args.kwonlyargs or args.vararg
                or args.kwarg or args.defaults):
            raise error(call, "the key= lambda takes one parameter", construct="a key= lambda",
                        hint=_HINT)
        param = args.args[0].arg
        body = copy.deepcopy(key.body)
        for node in ast.walk(body):
            if isinstance(node, ast.Lambda):
                raise error(call, "a lambda inside the key= lambda", construct="a lambda",
                            hint=_HINT)
        body = _Substitute(param, item).visit(body)
        return body
    if isinstance(key, (ast.Name, ast.Attribute)):
        return ast.Call(func=copy.deepcopy(key), args=[_load(item)], keywords=[])
    raise error(call, f"the key '{ast.unparse(key)}' is neither a lambda nor a function's name",
                construct="key=", hint=_HINT)


class _Substitute(ast.NodeTransformer):
    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return _load(self.new) if node.id == self.old else node


def _is_call_of(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == name)


def _located(stmts: list[ast.stmt], call: ast.Call) -> list[ast.stmt]:
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, (ast.stmt, ast.expr)):
                ast.copy_location(node, call)
    return stmts
