"""``for ... in itertools.product(...)`` as the nest of loops it stands for.

```python
for i, j in itertools.product(range(n), range(m)):      for i in range(n):
    s += W[i, j] * x[j]                           ─►         for j in range(m):
                                                                s += W[i, j] * x[j]
```

A target that unpacks one name per sequence names the loops' counters; any other target is
bound to the tuple of the counters first thing in the innermost body (``for idx in
product(range(2), range(3))`` reads ``idx = (product_0, product_1)``); ``repeat=k`` (a
literal) repeats the sequences.  ``continue`` continues the innermost loop, the next
element of the product, as in Python.  Python makes the product's sequences once, before
the loop; the nest makes the inner ones again on each outer step, so a product whose
sequences read a variable the body assigns is refused, as is one whose body has a ``break``
or whose loop has an ``else``, each naming the nested loops as the way out.
"""

from __future__ import annotations

import ast
import copy
import itertools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .frontend import FunctionInfo


def nests_of_products(info: FunctionInfo) -> None:
    """Rewrite, in ``info.tree``, the loops over ``itertools.product`` that can be nests."""
    from .frontend import _early_resolve, _fresh_names

    fresh = _fresh_names(info)

    def rewrite_block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for stmt in stmts:
            for field in ("body", "orelse"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt) \
                        and not isinstance(stmt, (ast.FunctionDef, ast.ClassDef)):
                    setattr(stmt, field, rewrite_block(block))
            out.append(nest(stmt) if isinstance(stmt, ast.For) else stmt)
        return out

    def nest(loop: ast.For) -> ast.stmt:
        it = loop.iter
        if not (isinstance(it, ast.Call) and _early_resolve(info, it.func) is itertools.product):
            return loop
        repeat = 1
        for kw in it.keywords:
            if kw.arg != "repeat" or not (isinstance(kw.value, ast.Constant)
                                          and type(kw.value.value) is int):
                return loop
            repeat = kw.value.value
        sequences = [a for _ in range(repeat) for a in it.args]
        if not sequences or any(isinstance(a, ast.Starred) for a in sequences):
            return loop
        stored = {n.id for s in loop.body for n in ast.walk(s)
                  if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        stored |= {n.id for n in ast.walk(loop.target) if isinstance(n, ast.Name)}
        read = {n.id for a in sequences for n in ast.walk(a) if isinstance(n, ast.Name)}
        why = ("a 'break' in it" if _breaks(loop.body) else "an 'else' after it"
               if loop.orelse else f"sequences that read '{sorted(read & stored)[0]}', which "
               "the loop assigns" if read & stored else None)
        if why is not None:
            raise info.error(loop, f"a loop over itertools.product() with {why} is not "
                             "supported", construct="itertools.product()",
                             hint="write the nested loops, with a flag to leave both: "
                             "for i in range(n): for j in range(m): ...")
        target = loop.target
        body = loop.body
        if isinstance(target, (ast.Tuple, ast.List)) and len(target.elts) == len(sequences):
            targets = list(target.elts)
        else:
            targets = [ast.Name(id=fresh("product"), ctx=ast.Store()) for _ in sequences]
            pack = ast.Tuple(elts=[ast.Name(id=t.id, ctx=ast.Load()) for t in targets],
                             ctx=ast.Load())
            body = [ast.copy_location(ast.Assign(targets=[target], value=pack), loop), *body]
        for sequence, name in reversed(list(zip(sequences, targets, strict=True))):
            body = [ast.copy_location(ast.For(target=name, iter=copy.deepcopy(sequence),
                                              body=body, orelse=[]), loop)]
        for node in ast.walk(body[0]):
            if isinstance(node, (ast.stmt, ast.expr)) and not hasattr(node, "lineno"):
                ast.copy_location(node, loop)
        return body[0]

    info.tree.body = rewrite_block(info.tree.body)


def _breaks(stmts: list[ast.stmt]) -> bool:
    """Whether a ``break`` in ``stmts`` ends the loop that holds them (not a loop inside)."""
    for stmt in stmts:
        if isinstance(stmt, ast.Break):
            return True
        if isinstance(stmt, (ast.For, ast.While, ast.FunctionDef)):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and _breaks(block):
                return True
    return False
