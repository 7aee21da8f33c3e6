"""Desugaring: loops over ``range`` only, and no early exits, so every block runs to its end.

First, every ``for`` loop over something other than ``range`` becomes one (``_Loops``):

```python
for xi in x:                    for i in range(len(x)):
    ...                  ─►         xi = x[i]              (a row of a matrix: a view)
for i, (a, b) in enumerate(zip(x, y)):
    ...                  ─►     for i in range(min(len(x), len(y))):
                                    a = x[i]
                                    b = y[i]
```

``zip`` stops at the shortest sequence, ``enumerate`` may start elsewhere, ``range`` may be one
of the zipped sequences, ``reversed`` takes a range (another range) or an array.  A sequence
that is not a name, or a name the loop assigns, is bound to a name before the loop (``seq``), as
Python evaluates it once.  A loop over a tuple whose length is known here (a tuple display, a
name bound once to one, a tuple parameter: its leaves are bound first) is unrolled: the body
once per element, ``layer = params[0]`` before the first copy.  A ``print(...)`` statement
becomes an assignment of its (unused) result, ``printed = print(...)``: it stays in the
function and drops out of derivative code with every other value the result does not need.

Then a function whose ``return`` statements all end branches once the statements after an
``if`` that always returns move into its other branch (``if c: return a`` then ``return b``
is ``if c: result = a`` / ``else: result = b``) assigns ``result`` on each path, with no flag
and no first value, so a branch may return an array.  Otherwise ``break``, ``continue`` and a
``return`` that is not the last statement become assignments to flags (``broke``, ``skip``,
``returned``; ``result`` takes no first value: every path assigns it before the end, and a
first ``0.0`` would clash with an array returned from a loop); the statements after a possible
exit are guarded by ``if not flag:``; a ``for`` loop that may be left early becomes a ``while``
loop over an explicit counter.  The function then has exactly one ``return``, at its end.
AST in, AST out, on the user's function before normalization.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .errors import AdcompileError
from .names import NameGen
from .trees import copy_tree, fix_locations, preorder


@dataclass
class _Loop:
    broke: str | None = None
    skip: str | None = None


def desugar(tree: ast.FunctionDef, names: NameGen,
            tuples: dict[str, int] | None = None) -> ast.FunctionDef:
    """``tree`` with its loops over ``range`` and early exits turned into flags (see the
    module docstring).  ``tuples``: names known to hold tuples, with their lengths (the
    tuple parameters of an inlined function)."""
    tree = copy_tree(tree)
    _Loops(tree, names, tuples or {}).run()
    return _Desugar(names).run(tree)


class _Loops:
    """``for`` loops over arrays, tuples, ``zip``, ``enumerate`` and ``reversed`` as loops over
    ``range`` (or unrolled), and ``print`` statements as assignments."""

    def __init__(self, tree: ast.FunctionDef, names: NameGen, tuples: dict[str, int]) -> None:
        self.tree = tree
        self.names = names
        builtins_ = getattr(tree, "builtin_names", {})
        self.len = builtins_.get("len", "len")
        self.min = builtins_.get("min", "min")
        self.same_length = builtins_.get("same_length", "same_length")
        self.builtins = builtins_
        stored = _stored(tree.body)
        self.tuples = {**{n: k for n, k in tuples.items() if n not in stored},
                       **known_tuples(tree)}

    def run(self) -> None:
        self.tree.body = self.block(self.tree.body)

    def error(self, node: ast.AST, message: str, construct: str, hint: str) -> AdcompileError:
        return AdcompileError(f"in {self.tree.name}(): {message}",
                              filename=getattr(self.tree, "filename", None),
                              lineno=getattr(node, "lineno", None), construct=construct,
                              hint=hint)

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            out.extend(self.statement(stmt))
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if isinstance(stmt, ast.Expr) and getattr(stmt.value, "statement", False):
            target = _name(self.names.fresh("printed"), True)
            return [ast.copy_location(ast.Assign(targets=[target], value=stmt.value), stmt)]
        if isinstance(stmt, ast.If):
            stmt.body = self.block(stmt.body) or [ast.copy_location(ast.Pass(), stmt)]
            stmt.orelse = self.block(stmt.orelse)
        elif isinstance(stmt, (ast.For, ast.While)):
            stmt.body = self.block(stmt.body) or [ast.copy_location(ast.Pass(), stmt)]
            stmt.orelse = self.block(stmt.orelse)
            if isinstance(stmt, ast.For):
                return self.loop(stmt)
        return [stmt]

    # -- for loops --------------------------------------------------------------------------

    def loop(self, node: ast.For) -> list[ast.stmt]:
        checks: list[ast.stmt] = []
        loops = self.lowered(node, checks)
        return [*loops[:-1], *checks, *loops[-1:]]  # (after the sequence is evaluated)

    def lowered(self, node: ast.For, checks: list[ast.stmt]) -> list[ast.stmt]:
        """``node`` as loops over ``range``; ``checks``: the unpacking checks that go
        before them."""
        if getattr(node.iter, "star", False):
            p = node.iter.args[0].id
            node.iter = self.transposed(node)
            if p not in self.tuples and _kind(node.iter) == "zip":
                # for a, c in zip(*A): A's rows, as many as the names (Python unpacks only
                # when there is a column)
                checks.append(self.unpack_check("unpacked_along", _name(p),
                                                len(node.iter.args), node, axis=0))
        it = node.iter
        kind = _kind(it)
        if kind == "range":
            steps = self.static_range(it) if isinstance(node.target, ast.Name) else None
            if steps is not None and self.indexes_tuple(node.body, node.target.id):
                # for i in range(len(params)): W, b = params[i]: unrolled, i a literal
                return self.unroll(node, [ast.Constant(value=k) for k in steps],
                                   literal=node.target.id)
            return [node]
        if kind == "reversed" and _kind(it.args[0]) == "range":
            it = _reversed_range(it.args[0])
            if isinstance(node.target, ast.Name):
                node.iter = ast.copy_location(it, node.iter)
                return [node]
        elements = self.unrolled(it)
        if elements is not None:
            return self.unroll(node, elements)
        assigned = _stored(node.body) | _stored([node.target])
        pre: list[ast.stmt] = []
        it = self.evaluated(it, assigned, pre, node)
        index = self.index_name(it, node.target)
        value = self.element(it, _name(index))
        body = self.destructure(node.target, value, node, skip=index, checks=checks)
        loop = ast.For(target=_name(index, True), iter=ast.Call(
            func=_name("range"), args=[self.length(it)], keywords=[]), body=body + node.body,
            orelse=node.orelse)
        loop.iter.builtin = "range"  # type: ignore[attr-defined]
        return [*pre, fix_locations(ast.copy_location(loop, node))]

    def transposed(self, node: ast.For) -> ast.expr:
        """The sequence of ``for target in zip(*p)`` (``zip(p)`` marked ``star``): ``zip(p[0],
        p[1], ...)`` for a tuple ``p`` of known length or a target that unpacks as many
        names (an array's rows, which must be as many, as Python requires), else ``p.T``
        (the columns of an array) when the body uses each step only as a sequence
        (``for v in col``, ``col[k]``, ``len(col)``, ``sum(col)``)."""
        it = node.iter
        p = it.args[0]
        target = node.target
        if p.id in self.tuples:
            count = self.tuples[p.id]
        elif isinstance(target, (ast.Tuple, ast.List)) and all(
                isinstance(t, ast.Name) for t in target.elts):
            count = len(target.elts)
        elif isinstance(target, ast.Name) and _sequence_only(node.body, target.id):
            return ast.copy_location(ast.Attribute(value=p, attr="T", ctx=ast.Load()), it)
        else:
            # (construct: a tuple parameter, once its nesting is known, gives its rows)
            raise self.error(node, f"zip(*{p.id}) of a value whose rows are not known before "
                             "the call is not supported", construct="a tuple value",
                             hint=f"name the rows: zip({p.id}[0], {p.id}[1]) for a loop over "
                             f"the columns of two rows, or for a, b in zip(*{p.id}) (as many "
                             f"names as rows), or for col in {p.id}.T for an array")
        rows = [ast.Subscript(value=_name(p.id), slice=ast.Constant(value=k), ctx=ast.Load())
                for k in range(count)]
        call = ast.copy_location(ast.Call(func=it.func, args=rows, keywords=it.keywords), it)
        call.builtin = "zip"  # type: ignore[attr-defined]
        return call

    def evaluated(self, it: ast.expr, assigned: set[str], pre: list[ast.stmt],
                  node: ast.For) -> ast.expr:
        """``it`` with each sequence (and range bound) that Python evaluates once, before the
        loop, bound to a name there when reading it again in the loop could differ."""
        def once(expr: ast.expr, base: str) -> ast.expr:
            if isinstance(expr, ast.Constant) or (
                    isinstance(expr, ast.UnaryOp) and isinstance(expr.operand, ast.Constant)):
                return expr
            if isinstance(expr, ast.Name) and expr.id not in assigned:
                return expr
            bound = self.names.fresh(base)
            pre.append(ast.copy_location(ast.Assign(targets=[_name(bound, True)], value=expr),
                                         node))
            return _name(bound)

        kind = _kind(it)
        if kind == "range":
            call = ast.Call(func=it.func, args=[once(a, b) for a, b in zip(
                it.args, ("start", "stop", "step") if len(it.args) > 1 else ("stop",),
                strict=False)], keywords=[])
            call.builtin = "range"  # type: ignore[attr-defined]
            return call
        if kind == "reversed" and _kind(it.args[0]) == "range":
            return self.evaluated(_reversed_range(it.args[0]), assigned, pre, node)
        if kind in ("zip", "enumerate", "reversed"):
            call = ast.Call(func=it.func, args=[self.evaluated(a, assigned, pre, node)
                                                if k == 0 or kind == "zip" else once(a, "start")
                                                for k, a in enumerate(it.args)],
                            keywords=[ast.keyword(arg=kw.arg, value=once(kw.value, "start"))
                                      for kw in it.keywords])
            call.builtin = kind  # type: ignore[attr-defined]
            return call
        return once(it, "seq")

    def index_name(self, it: ast.expr, target: ast.expr) -> str:
        """The loop's counter: the user's own name where it counts from 0 by 1 (``i`` of
        ``enumerate(x)`` or of ``zip(range(n), x)``), else a fresh ``i``."""
        kind = _kind(it)
        if (isinstance(target, (ast.Tuple, ast.List)) and target.elts
                and isinstance(target.elts[0], ast.Name)):
            first = target.elts[0].id
            if kind == "enumerate" and _start(it) is None:
                return first
            if (kind == "zip" and _kind(it.args[0]) == "range" and len(it.args[0].args) == 1
                    and first not in _names(it)):
                return first
        return self.names.fresh("i")

    def element(self, it: ast.expr, index: ast.expr) -> ast.expr:
        """The value ``it`` gives at step ``index`` (a tuple display for zip/enumerate)."""
        kind = _kind(it)
        if kind == "range":
            start, _, step = _bounds(it)
            value = index
            if not (isinstance(step, ast.Constant) and step.value == 1):
                value = ast.BinOp(left=value, op=ast.Mult(), right=step)
            if not (isinstance(start, ast.Constant) and start.value == 0):
                value = ast.BinOp(left=start, op=ast.Add(), right=value)
            return value
        if kind == "enumerate":
            start = _start(it)
            count = index if start is None else ast.BinOp(left=start, op=ast.Add(),
                                                          right=index)
            return ast.Tuple(elts=[count, self.element(it.args[0], index)], ctx=ast.Load())
        if kind == "zip":
            return ast.Tuple(elts=[self.element(a, index) for a in it.args], ctx=ast.Load())
        if kind == "reversed":
            seq = it.args[0]
            last = ast.BinOp(left=ast.BinOp(left=self.call(self.len, seq), op=ast.Sub(),
                                            right=ast.Constant(value=1)),
                             op=ast.Sub(), right=index)
            return ast.Subscript(value=seq, slice=last, ctx=ast.Load())
        return ast.Subscript(value=it, slice=index, ctx=ast.Load())

    def length(self, it: ast.expr) -> ast.expr:
        """The number of steps of ``it`` (zero or less for none)."""
        kind = _kind(it)
        if kind == "range":
            start, stop, step = _bounds(it)
            if isinstance(step, ast.Constant) and step.value == 1:
                if isinstance(start, ast.Constant) and start.value == 0:
                    return stop
                return ast.BinOp(left=stop, op=ast.Sub(), right=start)
            c = _literal(step)
            if c is None:  # (a range with a step that is not a literal is not zipped)
                raise self.error(it, "a range with a step that is not a literal is zipped "
                                 "or enumerated", construct="a loop over range",
                                 hint="give the step as a literal, or loop over the range "
                                 "itself and index the other sequences")
            span = (ast.BinOp(left=stop, op=ast.Sub(), right=start) if c > 0 else
                    ast.BinOp(left=start, op=ast.Sub(), right=stop))
            return ast.BinOp(left=ast.BinOp(left=span, op=ast.Add(),
                                            right=ast.Constant(value=abs(c) - 1)),
                             op=ast.FloorDiv(), right=ast.Constant(value=abs(c)))
        if kind in ("enumerate", "reversed"):
            return self.length(it.args[0])
        if kind == "zip":
            strict = any(k.arg == "strict" and isinstance(k.value, ast.Constant)
                         and k.value.value is True for k in it.keywords)
            total = self.length(it.args[0])
            for a in it.args[1:]:  # the shortest, or one length for all (strict=True)
                total = self.call(self.same_length if strict else self.min, total,
                                  self.length(a))
            return total
        return self.call(self.len, it)

    def call(self, func: str, *args: ast.expr) -> ast.Call:
        return ast.Call(func=_name(func), args=list(args), keywords=[])

    def destructure(self, target: ast.expr, value: ast.expr, node: ast.For,
                    skip: str | None = None, checks: list[ast.stmt] | None = None
                    ) -> list[ast.stmt]:
        """``target = value`` as one assignment per name (``skip``: the loop's counter).
        Where ``value`` is an array's row, the ``ValueError`` Python raises unless it holds
        as many elements as ``target`` names: ``unpacked_along(edges, 2, 1)`` before the loop
        (into ``checks``) for the row of a sequence, ``unpacked(row, 2)`` at each step for a
        row of a row."""
        if isinstance(target, (ast.Tuple, ast.List)):
            check = []
            if not isinstance(value, ast.Tuple) and not any(
                    isinstance(t, ast.Starred) for t in target.elts):
                # for i, j in edges: the row's elements one by one (edges[k][0], ...)
                count = len(target.elts)
                if (checks is not None and isinstance(value, ast.Subscript)
                        and isinstance(value.value, ast.Name)):
                    checks.append(self.unpack_check("unpacked_along", value.value, count,
                                                    node, axis=1))
                else:
                    check = [self.unpack_check("unpacked", value, count, node)]
                value = ast.Tuple(elts=[ast.Subscript(value=copy_tree(value),
                                                      slice=ast.Constant(value=m),
                                                      ctx=ast.Load())
                                        for m in range(len(target.elts))], ctx=ast.Load())
            if not isinstance(value, ast.Tuple):
                # (construct: a tuple parameter, once its nesting is known, is unrolled)
                raise self.error(node, f"the loop target '{ast.unparse(target)}' unpacks "
                                 "each element of an array", construct="tuple unpacking",
                                 hint="bind the row to one name and index it: for row in X: "
                                 "a, b = row[0], row[1] (a tuple of tuples is unpacked as "
                                 "written)")
            if len(value.elts) != len(target.elts):
                raise self.error(node, f"the loop target '{ast.unparse(target)}' unpacks "
                                 f"{len(value.elts)} values into {len(target.elts)} names",
                                 construct="tuple unpacking", hint="give each value a name")
            out = check
            for t, v in zip(target.elts, value.elts, strict=True):
                out.extend(self.destructure(t, v, node, skip, checks))
            return out
        if isinstance(target, ast.Name) and target.id == skip:
            return []
        return [ast.copy_location(ast.Assign(targets=[target], value=value), node)]

    def unpack_check(self, kernel: str, value: ast.expr, count: int, node: ast.For,
                     axis: int | None = None) -> ast.stmt:
        """``unpacked = kernel(value, count)``: the ``ValueError`` Python raises where
        ``value`` does not unpack into ``count`` names (``kernels.unpacked``; with ``axis``
        ``unpacked_along``, each row or column of an array), kept wherever the function runs
        (``analyze._CHECKS``)."""
        extra = [] if axis is None else [ast.Constant(value=axis)]
        check = self.call(self.builtins.get(kernel, kernel), copy_tree(value),
                          ast.Constant(value=count), *extra)
        return ast.copy_location(ast.Assign(targets=[_name(self.names.fresh("unpacked"),
                                                           True)], value=check), node)

    # -- loops over tuples: unrolled ---------------------------------------------------------

    def unrolled(self, it: ast.expr) -> list[ast.expr] | None:
        """The elements of ``it`` when it is a tuple of known length (or enumerates one),
        else ``None``."""
        if isinstance(it, (ast.Tuple, ast.List)):
            return list(it.elts)
        if isinstance(it, ast.Name) and it.id in self.tuples:
            return [ast.Subscript(value=_name(it.id), slice=ast.Constant(value=k),
                                  ctx=ast.Load()) for k in range(self.tuples[it.id])]
        if (isinstance(it, ast.Subscript) and isinstance(it.value, ast.Name)
                and it.value.id in self.tuples):  # params[:-1]: a slice of a tuple
            picked = _sliced(self.tuples[it.value.id], it.slice)
            if picked is not None:
                return [ast.Subscript(value=_name(it.value.id), slice=ast.Constant(value=k),
                                      ctx=ast.Load()) for k in picked]
        if _kind(it) == "reversed" and len(it.args) == 1:
            inner = self.unrolled(it.args[0])
            return None if inner is None else inner[::-1]
        if _kind(it) == "zip" and it.args and not it.keywords:
            parts = [self.unrolled(a) for a in it.args]
            if all(p is not None for p in parts):
                return [ast.Tuple(elts=list(e), ctx=ast.Load())  # the shortest wins
                        for e in zip(*parts, strict=False)]
            return None
        if _kind(it) == "enumerate":
            inner = self.unrolled(it.args[0])
            if inner is None:
                return None
            start = _start(it)
            offset = 0 if start is None else _literal(start)
            counts: list[ast.expr] = [
                ast.Constant(value=k + offset) if offset is not None else
                ast.BinOp(left=start, op=ast.Add(), right=ast.Constant(value=k))
                for k in range(len(inner))]
            return [ast.Tuple(elts=[c, e], ctx=ast.Load()) for c, e in zip(counts, inner,
                                                                             strict=True)]
        return None

    def static_range(self, it: ast.Call) -> list[int] | None:
        """The values of ``range(...)`` when its bounds are known here: literals, ``len``
        of a tuple of known length, and ``+ - *`` of those."""
        if it.keywords or not 1 <= len(it.args) <= 3:
            return None
        bounds = [self.static_int(a) for a in it.args]
        if None in bounds or (len(bounds) == 3 and bounds[2] == 0):
            return None
        return list(range(*bounds))

    def static_int(self, node: ast.expr) -> int | None:
        if _literal(node) is not None:
            return _literal(node)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id == self.len and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Name) and node.args[0].id in self.tuples):
            return self.tuples[node.args[0].id]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = self.static_int(node.left), self.static_int(node.right)
            if a is None or b is None:
                return None
            return a + b if isinstance(node.op, ast.Add) else (
                a - b if isinstance(node.op, ast.Sub) else a * b)
        return None

    def indexes_tuple(self, body: list[ast.stmt], name: str) -> bool:
        """Whether ``body`` indexes a tuple of known length with an expression of ``name``
        (and does not assign ``name``)."""
        if name in _stored(body):
            return False
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Subscript):
                    base = node.value
                    while isinstance(base, ast.Subscript):
                        base = base.value
                    if (isinstance(base, ast.Name) and base.id in self.tuples
                            and name in _names(node.slice)):
                        return True
        return False

    def unroll(self, node: ast.For, elements: list[ast.expr],
               literal: str | None = None) -> list[ast.stmt]:
        for stmt in node.body:
            for part in preorder(stmt, lambda n: isinstance(n, (ast.For, ast.While))):
                if isinstance(part, (ast.Break, ast.Continue)):
                    word = "break" if isinstance(part, ast.Break) else "continue"
                    raise self.error(part, f"'{word}' in a loop over a tuple, which is "
                                     "unrolled (its elements may be of different kinds)",
                                     construct=f"'{word}' in a loop over a tuple",
                                     hint="set a flag and test it (if not done: ...) in the "
                                     "body, or put the values in an array and loop over it")
        pre: list[ast.stmt] = []
        assigned = _stored(node.body) | _stored([node.target])
        if any(not _stable(e, assigned) for e in elements):  # the tuple is made once
            bound = self.names.fresh("seq")
            display = ast.Tuple(elts=elements, ctx=ast.Load())
            pre.append(ast.copy_location(ast.Assign(targets=[_name(bound, True)],
                                                    value=display), node))
            elements = [ast.Subscript(value=_name(bound), slice=ast.Constant(value=k),
                                      ctx=ast.Load()) for k in range(len(elements))]
        out = pre
        for element in elements:  # (the normalizer unpacks a tuple element into the target)
            out.append(ast.copy_location(ast.Assign(targets=[copy_tree(node.target)],
                                                    value=copy_tree(element)), node))
            body = [copy_tree(s) for s in node.body]
            if literal is not None:  # the counter read as its value: params[i] is params[0]
                for stmt in body:
                    for n in ast.walk(stmt):
                        for field, value in ast.iter_fields(n):
                            if isinstance(value, ast.Name) and value.id == literal:
                                setattr(n, field, copy_tree(element))
                            elif isinstance(value, list):
                                value[:] = [copy_tree(element) if isinstance(v, ast.Name)
                                            and v.id == literal else v for v in value]
            out.extend(body)
        return [fix_locations(s) for s in out] or [ast.copy_location(ast.Pass(), node)]


def _sequence_only(body: list[ast.stmt], name: str) -> bool:
    """Whether ``body`` reads ``name`` only as a sequence: looped over, indexed, or passed to
    ``len``, ``sum``, ``min``, ``max``, ``zip`` or ``enumerate``."""
    parents = {id(c): n for s in body for n in ast.walk(s) for c in ast.iter_child_nodes(n)}
    for node in (n for s in body for n in ast.walk(s)):
        if not (isinstance(node, ast.Name) and node.id == name):
            continue
        parent = parents.get(id(node))
        if isinstance(node.ctx, ast.Store):
            return False
        if isinstance(parent, ast.For) and parent.iter is node:
            continue
        if isinstance(parent, ast.Subscript) and parent.value is node:
            continue
        if (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)
                and parent.func.id in ("len", "sum", "min", "max", "zip", "enumerate")):
            continue
        return False
    return True


def _kind(node: ast.expr) -> str:
    """Which builtin a loop's sequence calls (``range``, ``zip``, ... as the front end read
    it), or ``""``."""
    if not isinstance(node, ast.Call):
        return ""
    if hasattr(node, "builtin"):
        return node.builtin
    return "range" if isinstance(node.func, ast.Name) and node.func.id == "range" else ""


def _bounds(call: ast.Call) -> tuple[ast.expr, ast.expr, ast.expr]:
    args = call.args
    if len(args) == 1:
        return ast.Constant(value=0), args[0], ast.Constant(value=1)
    return args[0], args[1], args[2] if len(args) == 3 else ast.Constant(value=1)


def _literal(node: ast.expr | None) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant) and type(node.operand.value) is int):
        return -node.operand.value
    return None


def _sliced(length: int, part: ast.expr) -> list[int] | None:
    """The positions ``part`` (a slice with literal bounds) picks from a tuple of ``length``
    elements, or ``None`` when it is not such a slice."""
    if not isinstance(part, ast.Slice):
        return None
    bounds = [None if b is None else _literal(b) for b in (part.lower, part.upper, part.step)]
    if any(b is None and given is not None for b, given in zip(
            bounds, (part.lower, part.upper, part.step), strict=True)) or bounds[2] == 0:
        return None
    return list(range(length))[slice(*bounds)]


def _start(call: ast.Call) -> ast.expr | None:
    """The ``start`` of ``enumerate``, or ``None`` when it starts at 0."""
    start = call.args[1] if len(call.args) == 2 else next(
        (k.value for k in call.keywords if k.arg == "start"), None)
    return None if start is None or _literal(start) == 0 else start


def _reversed_range(call: ast.Call) -> ast.Call:
    """``reversed(range(a, b, s))`` (a literal step) as the range it gives."""
    start, stop, step = _bounds(call)
    s = _literal(step)
    assert s is not None
    if s in (1, -1):
        first = _minus(stop, s)
    else:
        span = (ast.BinOp(left=stop, op=ast.Sub(), right=start) if s > 0 else
                ast.BinOp(left=start, op=ast.Sub(), right=stop))
        count = ast.BinOp(left=ast.BinOp(left=span, op=ast.Add(),
                                         right=ast.Constant(value=abs(s) - 1)),
                          op=ast.FloorDiv(), right=ast.Constant(value=abs(s)))
        first = ast.BinOp(left=start, op=ast.Add(), right=ast.BinOp(
            left=ast.BinOp(left=count, op=ast.Sub(), right=ast.Constant(value=1)),
            op=ast.Mult(), right=ast.Constant(value=s)))
    out = ast.Call(func=_name("range"), args=[first, _minus(start, s), ast.Constant(value=-s)],
                   keywords=[])
    out.builtin = "range"  # type: ignore[attr-defined]
    return fix_locations(ast.copy_location(out, call))


def _minus(node: ast.expr, k: int) -> ast.expr:
    """``node - k``, folded for a literal."""
    value = _literal(node)
    if value is not None:
        return ast.Constant(value=value - k) if value - k >= 0 else ast.UnaryOp(
            op=ast.USub(), operand=ast.Constant(value=k - value))
    if k < 0:
        return ast.BinOp(left=node, op=ast.Add(), right=ast.Constant(value=-k))
    return ast.BinOp(left=node, op=ast.Sub(), right=ast.Constant(value=k))


def _stored(stmts: list[ast.AST]) -> set[str]:
    return {n.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _stable(node: ast.expr, assigned: set[str]) -> bool:
    """Whether reading ``node`` in the loop gives what it gave before it: a literal, or a
    name the loop does not assign."""
    if isinstance(node, ast.Constant) or _literal(node) is not None:
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    if isinstance(node, ast.Tuple):
        return all(_stable(e, assigned) for e in node.elts)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return _stable(node.value, assigned)  # an element of a tuple
    return isinstance(node, ast.Name) and node.id not in assigned


def known_tuples(tree: ast.FunctionDef) -> dict[str, int]:
    """Names bound only to tuple displays of one length (anywhere), or once in the function's
    top block to a part of one: their lengths (a tuple parameter's leaves are bound so,
    first: see :mod:`adcompile.structure`)."""
    stores: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    for a in tree.args.posonlyargs + tree.args.args:
        stores[a.arg] = stores.get(a.arg, 0) + 1
    out: dict[str, int] = {}
    shown: dict[str, ast.Tuple | ast.List] = {}  # the displays those names are bound to
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Tuple) and isinstance(stmt.value, ast.Name)
                and stmt.value.id in shown and stores.get(stmt.value.id) == 1
                and len(shown[stmt.value.id].elts) == len(stmt.targets[0].elts)):
            # Ws, bs = params: the names of the parts that are displays are tuples too
            for target, part in zip(stmt.targets[0].elts, shown[stmt.value.id].elts,
                                    strict=True):
                if (isinstance(target, ast.Name) and stores.get(target.id) == 1
                        and isinstance(part, (ast.Tuple, ast.List))):
                    out[target.id] = len(part.elts)
                    shown[target.id] = part
            continue
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and stores.get(stmt.targets[0].id) == 1):
            continue
        value = stmt.value
        if isinstance(value, (ast.Tuple, ast.List)):
            out[stmt.targets[0].id] = len(value.elts)
            shown[stmt.targets[0].id] = value
        elif (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)
              and value.value.id in out and stores.get(value.value.id) == 1):
            picked = _sliced(out[value.value.id], value.slice)  # hidden = params[:-1]
            if picked is not None:
                out[stmt.targets[0].id] = len(picked)
            k = _literal(value.slice)
            display = shown.get(value.value.id)
            if (display is not None and k is not None and -len(display.elts) <= k
                    < len(display.elts) and isinstance(display.elts[k], (ast.Tuple, ast.List))):
                out[stmt.targets[0].id] = len(display.elts[k].elts)  # Ws = params[0]
                shown[stmt.targets[0].id] = display.elts[k]
    lengths: dict[str, list[int]] = {}
    for node in ast.walk(tree):  # c = (0.0, a, b) in a loop, c = (a, b) or (b, a) in branches
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, (ast.Tuple, ast.List))):
            lengths.setdefault(node.targets[0].id, []).append(len(node.value.elts))
    for name, seen in lengths.items():  # every binding a display, all of one length
        if len(seen) == stores.get(name) and len(set(seen)) == 1:
            out.setdefault(name, seen[0])
    return out


def _has(node: ast.AST | list, kinds: tuple[type, ...], into_loops: bool) -> bool:
    """Whether ``node`` contains one of ``kinds``; ``break``/``continue`` inside a nested loop
    belong to that loop, so with ``into_loops=False`` nested loops are not searched."""
    def skip(n: ast.AST) -> bool:
        return not into_loops and isinstance(n, (ast.For, ast.While))

    return any(isinstance(n, kinds) for top in (node if isinstance(node, list) else [node])
               for n in preorder(top, skip))


def _returns_last(stmts: list[ast.stmt]) -> list[ast.stmt] | None:
    """``stmts`` (a function's body) with each ``if`` whose branch always returns holding
    the statements after it in its other branch, when every ``return`` then ends a branch
    that ends the function (none in a loop); else None.  ``if c: return a`` then ``return b``
    becomes ``if c: return a`` / ``else: return b``: the result is assigned on each path, of
    whatever type the branch gives (an array too), with no flag and no first value."""
    for k, stmt in enumerate(stmts):
        rest = stmts[k + 1:]
        if isinstance(stmt, ast.Return):
            return None if rest else stmts
        if not _has(stmt, (ast.Return,), into_loops=True):
            continue
        if not isinstance(stmt, ast.If):
            return None  # a return in a loop
        if rest and _ends_in_return(stmt.body):
            stmt.orelse = stmt.orelse + rest  # the same function: rest runs when not c
        elif rest and _ends_in_return(stmt.orelse):
            stmt.body = stmt.body + rest
        elif rest:
            return None
        body, orelse = _returns_last(stmt.body), _returns_last(stmt.orelse)
        if body is None or orelse is None:
            return None
        stmt.body, stmt.orelse = body, orelse
        return [*stmts[:k], stmt]
    return None


def _ends_in_return(stmts: list[ast.stmt]) -> bool:
    last = stmts[-1] if stmts else None
    return isinstance(last, ast.Return) or (
        isinstance(last, ast.If) and _ends_in_return(last.body)
        and _ends_in_return(last.orelse))


def _assign_returns(stmts: list[ast.stmt], result: str) -> list[ast.stmt]:
    """``stmts`` (as :func:`_returns_last` gives them) with each ``return v`` as
    ``result = v``."""
    last = stmts[-1]
    if isinstance(last, ast.Return):
        value = last.value if last.value is not None else ast.Constant(value=0.0)
        return [*stmts[:-1], ast.copy_location(
            ast.Assign(targets=[_name(result, True)], value=value), last)]
    last.body = _assign_returns(last.body, result)
    last.orelse = _assign_returns(last.orelse, result)
    return stmts


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
        self.retval = self.names.fresh("result")
        nested = _returns_last(body)
        if nested is not None:  # every return ends a branch: each assigns the result
            tree.body = self.block(_assign_returns(nested, self.retval)) + [
                ast.copy_location(ast.Return(value=_name(self.retval)), body[-1])]
            return fix_locations(tree)
        self.returned = self.names.fresh("returned")
        first = body[0]
        init = [_set(self.returned, False, first)]
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
