"""Checkpointing: ``grad(f, checkpoints=N)`` bounds the memory of long loops.

A ``for`` loop over a ``range`` that writes into no array records, for its reversal, the
values it carries from one iteration to the next, once per iteration: memory that grows with
the trip count.  With ``checkpoints=N`` the loop is cut into at most ``N`` stretches of
consecutive iterations, before the rest of the pipeline sees it:

```python
for i in range(a, b):              i_span = max(1, (b - a + N - 1) // N)
    body                    ->     for i_stretch in range(a, b, i_span):
                                       for i in range(i_stretch, min(i_stretch + i_span, b)):
                                           body
```

The reverse pass then does the rest, as it does for any loop inside a loop: the outer loop
records its carried values at the start of each stretch (the snapshots, at most ``N``), and
its reversal, stretch by stretch from the last, restores a snapshot, runs the stretch forward
again recording it, and reverses it.  Memory: ``N`` snapshots plus one stretch's record,
least for ``N`` near the square root of the trip count; time: one more forward run of the
loop.  The values are those of the loop as written, so the gradient is the same to the last
bit.

Loops that write into arrays (whose iterations cannot be run again from a snapshot of the
carried values alone), ``while`` loops (whose trip count is not known in advance), loops that
``break`` or ``return``, and ranges with a step that is not a positive literal keep the record
of every iteration.
"""

from __future__ import annotations

import ast
import copy

from .frontend import FunctionInfo
from .shard import copy_info


def checkpointed(info: FunctionInfo, snapshots: int) -> FunctionInfo:
    """``info`` with its outermost eligible loops cut into at most ``snapshots`` stretches."""
    out = copy_info(info)
    out.variant = f"checkpoints={snapshots}"
    for builtin in (max, min, range):  # the stretches' bounds
        if out.bindings.get(builtin.__name__, builtin) is not builtin or (
                builtin.__name__ in out.names and builtin.__name__ not in out.bindings):
            return info  # the name means something else here: every iteration recorded
        out.bindings[builtin.__name__] = builtin
    out.tree.body = _block(out, out.tree.body, snapshots)
    ast.fix_missing_locations(out.tree)
    return out


def _block(info: FunctionInfo, stmts: list[ast.stmt], snapshots: int) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            stmt.body = _block(info, stmt.body, snapshots)
            stmt.orelse = _block(info, stmt.orelse, snapshots)
            out.append(stmt)
        elif isinstance(stmt, ast.For) and _eligible(info, stmt):
            out.extend(_strip_mined(info, stmt, snapshots))
        else:
            out.append(stmt)
    return out


def _eligible(info: FunctionInfo, loop: ast.For) -> bool:
    it = loop.iter
    if not (isinstance(loop.target, ast.Name) and not loop.orelse
            and isinstance(it, ast.Call) and info.resolve(it.func) is range
            and not it.keywords and 1 <= len(it.args) <= 3):
        return False
    if len(it.args) == 3 and not (isinstance(it.args[2], ast.Constant)
                                  and isinstance(it.args[2].value, int)
                                  and it.args[2].value > 0):
        return False
    for node in ast.walk(loop):
        if isinstance(node, (ast.Break, ast.Return)):
            return False
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign) else [])
        if any(isinstance(t, ast.Subscript) for t in targets):
            return False
    return True


def _fresh(info: FunctionInfo, base: str) -> str:
    name, k = base, 1
    while name in info.names or name in info.bindings:
        k += 1
        name = f"{base}_{k}"
    info.names.add(name)
    return name


def _strip_mined(info: FunctionInfo, loop: ast.For, snapshots: int) -> list[ast.stmt]:
    args = loop.iter.args
    start = args[0] if len(args) >= 2 else ast.Constant(0)
    stop = args[1] if len(args) >= 2 else args[0]
    step = args[2].value if len(args) == 3 else 1
    index = loop.target.id
    base = "it" if index == "_" else index
    pre: list[ast.stmt] = []

    def held(expr: ast.expr, what: str) -> ast.expr:
        """``expr`` evaluated once, before the loop (as ``range`` does)."""
        if isinstance(expr, (ast.Constant, ast.Name)):
            return expr
        name = _fresh(info, f"{base}_{what}")
        pre.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=expr))
        return ast.Name(id=name, ctx=ast.Load())

    start, stop = held(start, "start"), held(stop, "stop")
    span = _fresh(info, f"{base}_span")
    stretch = _fresh(info, f"{base}_stretch")
    # span = max(1, (stop - start + step N - 1) // (step N)) * step: at most N stretches
    length = copy.deepcopy(stop) if isinstance(start, ast.Constant) and start.value == 0 \
        else ast.BinOp(left=copy.deepcopy(stop), op=ast.Sub(), right=copy.deepcopy(start))
    per = ast.BinOp(left=ast.BinOp(left=length, op=ast.Add(),
                                   right=ast.Constant(step * snapshots - 1)),
                    op=ast.FloorDiv(), right=ast.Constant(step * snapshots))
    iterations = ast.Call(func=ast.Name(id="max", ctx=ast.Load()),
                          args=[ast.Constant(1), per], keywords=[])
    if step != 1:
        iterations = ast.BinOp(left=iterations, op=ast.Mult(), right=ast.Constant(step))
    pre.append(ast.Assign(targets=[ast.Name(id=span, ctx=ast.Store())], value=iterations))
    end = ast.Call(func=ast.Name(id="min", ctx=ast.Load()), args=[
        ast.BinOp(left=ast.Name(id=stretch, ctx=ast.Load()), op=ast.Add(),
                  right=ast.Name(id=span, ctx=ast.Load())), copy.deepcopy(stop)], keywords=[])
    inner_args = [ast.Name(id=stretch, ctx=ast.Load()), end]
    if step != 1:
        inner_args.append(ast.Constant(step))
    inner = ast.For(target=loop.target, iter=ast.Call(
        func=ast.Name(id="range", ctx=ast.Load()), args=inner_args, keywords=[]),
        body=loop.body, orelse=[])
    outer = ast.For(target=ast.Name(id=stretch, ctx=ast.Store()), iter=ast.Call(
        func=ast.Name(id="range", ctx=ast.Load()),
        args=[copy.deepcopy(start), copy.deepcopy(stop), ast.Name(id=span, ctx=ast.Load())],
        keywords=[]), body=[inner], orelse=[])
    for node in (*pre, outer):
        ast.copy_location(node, loop)
    return [*pre, outer]
