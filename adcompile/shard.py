"""Losses that are sums or means over rows of data, split into shards of rows.

``grad(loss, wrt, parallel=True)`` computes the gradient of a loss such as

```python
def loss(w, b, X, y, lam):
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return np.mean((p - y) ** 2) + lam * np.sum(w * w)
```

on every core: the rows of the data (``X``, ``y``) are split into shards, each shard's
gradient is computed by generated code, and the shards' gradients are added.  That is right
only when the loss *is* a sum over shards, and this module proves it before anything runs,
from the source, by giving every value one of these kinds:

- ``const``: the same on every shard (parameters, numbers, what is computed from them);
- ``rows``: an array whose first axis runs over the rows, row ``i`` computed from row ``i`` of
  the data only (``X @ w + b``, ``np.exp(z)``, ``z[:, 0]``, ``np.sum(z, axis=1)``);
- ``rows.T``: the transpose of a matrix of rows (only ``X.T @ r`` takes it);
- ``sum``: a sum over the rows, so additive over shards (``np.sum(r)``, ``r @ r``,
  ``X.T @ r``, ``np.sum(r, axis=0)``), and any linear combination of sums with ``const``
  coefficients;
- ``count``: the number of rows (``len(X)``, ``X.shape[0]``, ``n`` after ``n = len(X)``);
- ``element`` and ``index``: inside a loop over the rows (``for i in range(len(X))``), the
  index ``i`` and what is computed from ``X[i]``, ``y[i]``.

Anything else (a product of two sums, a maximum over rows, a row read outside a row loop, a
value carried from row to row) is *not separable*, and the serial gradient is used.

The shard function is the user's function with two more parameters, the number of rows of
the whole data and ``first`` (1.0 on exactly one shard, 0.0 on the others), and three
rewrites: the number of rows in arithmetic becomes the whole data's; a ``const`` term added
to a ``sum`` is multiplied by ``first`` (so that a regularization term counts once); a mean
over rows becomes this shard's part of it (``rules.shards``).  The sum over any partition
of the rows of the shard function is then the loss, and so the sum of the shards' gradients
is the gradient.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import types
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numba
import numpy as np
from numba.extending import overload

from .calls import is_user_function
from .errors import AdcompileError
from .frontend import FunctionInfo, parse_function
from .rules.shards import row_mean, row_mean_rows

CONST, COUNT, ROWS, ROWS_T, SUM, ELEMENT, INDEX, ZERO, SHAPE = (
    "const", "count", "rows", "rows.T", "sum", "element", "index", "zero", "shape")
#: what a name defined inside a loop over rows holds after it: the last row's value
LAST_ROW = "last row"


@dataclass(frozen=True)
class Kind:
    kind: str
    rank: int | None = None

    def __str__(self) -> str:
        return self.kind


class NotSeparable(Exception):
    """The loss is not a sum over shards of rows; ``node`` is where the proof stops."""

    def __init__(self, message: str, node: ast.AST | None = None) -> None:
        super().__init__(message)
        self.message, self.node = message, node


_C = Kind(CONST, 0)


def _elementwise(func: Any) -> bool:
    if isinstance(func, np.ufunc):
        return True
    if func in (np.where, np.clip, abs, np.abs, float, np.sign, np.square, np.sqrt):
        return True
    module = getattr(func, "__module__", None) or ""
    return module == "math" or (isinstance(func, types.BuiltinFunctionType)
                                and getattr(func, "__self__", None) is math)


_SUMS = {"sum": np.sum, "mean": np.mean}


@dataclass
class _RowLoop:
    index: str
    before: set[str]  # names defined before the loop
    accumulators: set[str]


class Analysis:
    """Kinds of the values of ``info``'s function, and the rewrites that make its shard
    function (see the module's docstring)."""

    def __init__(self, info: FunctionInfo, rows: set[str], ranks: dict[str, int | None],
                 total: str, first: str, helper: bool = False) -> None:
        self.info = info
        self.rows = rows
        self.ranks = ranks
        self.total = total
        self.first = first
        self.helper = helper  # a user helper: no rewrite may be needed in it
        self.env: dict[str, Kind] = {}
        self.row_loop: _RowLoop | None = None
        self.rewrite = False
        self.result: Kind | None = None
        self.defined: set[str] = set()
        #: the names of the composites ``row_mean`` and ``row_mean_rows`` in the shard function
        self.names: dict[Any, str] = {}

    # -- entry points ---------------------------------------------------------------------

    def function(self, params: dict[str, Kind]) -> Kind:
        self.env.update(params)
        self.defined |= set(params)
        self.rewrite = not self.helper
        body = self.info.tree.body
        if body and not isinstance(body[-1], ast.Return):
            raise NotSeparable("the function does not end with its return", body[-1])
        self.block(body)
        assert self.result is not None
        return self.result

    def fail(self, message: str, node: ast.AST | None) -> NotSeparable:
        return NotSeparable(message, node)

    # -- statements -----------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            out.extend(self.statement(stmt))
        stmts[:] = out
        return stmts

    def statement(self, stmt: ast.stmt) -> list[ast.stmt]:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return [stmt]
        if isinstance(stmt, ast.Pass):
            return [stmt]
        if isinstance(stmt, ast.Return):
            return self.returned(stmt)
        if isinstance(stmt, ast.Assign):
            return self.assign(stmt)
        if isinstance(stmt, ast.AugAssign):
            return self.augassign(stmt)
        if isinstance(stmt, ast.If):
            return self.branch(stmt)
        if isinstance(stmt, ast.For):
            return self.for_loop(stmt)
        if isinstance(stmt, ast.While):
            return self.while_loop(stmt)
        if isinstance(stmt, ast.Continue) and self.row_loop is not None:
            return [stmt]
        raise self.fail(f"{type(stmt).__name__.lower()} statement", stmt)

    def returned(self, stmt: ast.Return) -> list[ast.stmt]:
        if self.row_loop is not None or stmt.value is None:
            raise self.fail("a return inside a loop over rows", stmt)
        kind, value = self.expr(stmt.value)
        if self.helper:
            self.result = kind
            return [stmt]
        if kind.kind in (CONST, ZERO):  # the same on every shard: counted once
            kind, value = Kind(SUM, kind.rank), self.weighted(value)
        if kind.kind != SUM:
            raise self.fail(f"the loss is a {kind} value, not a sum or mean over the rows",
                            stmt)
        self.result = kind
        stmt.value = value
        return [stmt]

    def assign(self, stmt: ast.Assign) -> list[ast.stmt]:
        if len(stmt.targets) != 1:
            raise self.fail("chained assignment", stmt)
        target = stmt.targets[0]
        if isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts):
            return self.unpack(stmt, target)
        if isinstance(target, ast.Subscript):
            base = self.kind_of_name(target.value) if isinstance(target.value, ast.Name) \
                else None
            kind, stmt.value = self.expr(stmt.value)
            if base is None or base.kind != CONST or kind.kind not in (CONST, ZERO):
                raise self.fail("a write into an array that depends on the rows", stmt)
            self.expr(target.slice)
            return [stmt]
        if not isinstance(target, ast.Name):
            raise self.fail("assignment target", stmt)
        name = target.id
        loop = self.row_loop
        if (loop is not None and name in loop.before and isinstance(stmt.value, ast.BinOp)
                and isinstance(stmt.value.op, (ast.Add, ast.Sub))
                and isinstance(stmt.value.left, ast.Name) and stmt.value.left.id == name):
            # acc = acc + term: an accumulation over the rows
            kind, stmt.value.right = self.expr(stmt.value.right)
            return self.accumulate(stmt, name, kind)
        kind, stmt.value = self.expr(stmt.value, count_ok=True)  # n = len(X): this shard's
        if isinstance(stmt.value, ast.Constant) and stmt.value.value == 0:
            kind = Kind(ZERO, 0)
        self.bind(name, kind, stmt)
        return [stmt]

    def unpack(self, stmt: ast.Assign, target: ast.Tuple) -> list[ast.stmt]:
        value = stmt.value
        if (isinstance(value, ast.Attribute) and value.attr == "shape"):
            base, _ = self.expr(value.value)
            out: list[ast.stmt] = []
            for k, elt in enumerate(target.elts):
                part = ast.Subscript(value=copy.deepcopy(value), slice=ast.Constant(k),
                                     ctx=ast.Load())
                one = ast.copy_location(ast.Assign(targets=[elt], value=part), stmt)
                out.extend(self.assign(one))
            return out
        if isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
            kinds = []
            for k, elt in enumerate(value.elts):
                kind, value.elts[k] = self.expr(elt)
                kinds.append(kind)
            for elt, kind in zip(target.elts, kinds, strict=True):
                self.bind(elt.id, kind, stmt)
            return [stmt]
        kind, stmt.value = self.expr(value)
        if kind.kind != CONST:
            raise self.fail("tuple unpacking of a value that depends on the rows", stmt)
        for elt in target.elts:
            self.bind(elt.id, Kind(CONST, None), stmt)
        return [stmt]

    def augassign(self, stmt: ast.AugAssign) -> list[ast.stmt]:
        if not isinstance(stmt.target, ast.Name):
            raise self.fail("an in-place update of an array element or slice", stmt)
        name = stmt.target.id
        kind, stmt.value = self.expr(stmt.value)
        loop = self.row_loop
        if loop is not None and name in loop.before:
            if not isinstance(stmt.op, (ast.Add, ast.Sub)):
                raise self.fail("a value carried from row to row", stmt)
            return self.accumulate(stmt, name, kind)
        current = self.kind_of_name(ast.Name(id=name))
        combined, left, right = self.binop(current, kind, stmt.op, ast.Name(id=name),
                                           stmt.value, stmt)
        if left is not None and not (isinstance(left, ast.Name) and left.id == name):
            # the accumulated constant counts once: acc = acc * first + term
            new = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                             value=ast.BinOp(left=left, op=stmt.op,
                                             right=right if right is not None else stmt.value))
            self.bind(name, combined, stmt)
            return [ast.copy_location(new, stmt)]
        if right is not None:
            stmt.value = right
        self.bind(name, combined, stmt)
        return [stmt]

    def accumulate(self, stmt: ast.stmt, name: str, term: Kind) -> list[ast.stmt]:
        loop = self.row_loop
        assert loop is not None
        if term.kind not in (ELEMENT, CONST, ZERO):
            raise self.fail(f"a {term} value added up over the rows", stmt)
        before = self.env.get(name, _C)
        if before.kind not in (ZERO, SUM, CONST):
            raise self.fail("a value carried from row to row", stmt)
        loop.accumulators.add(name)
        self.env[name] = Kind(SUM, 0 if term.rank == 0 else None)
        return [stmt]

    def bind(self, name: str, kind: Kind, stmt: ast.stmt) -> None:
        loop = self.row_loop
        if loop is not None and name in loop.before:
            raise self.fail(f"'{name}' is carried from row to row", stmt)
        if kind.kind in (SHAPE,):
            raise self.fail("the shape of the rows as a value", stmt)
        self.env[name] = kind
        self.defined.add(name)

    def branch(self, stmt: ast.If) -> list[ast.stmt]:
        test, stmt.test = self.expr(stmt.test)
        if test.kind not in (CONST, ZERO, ELEMENT):
            raise self.fail(f"a branch on a {test} value", stmt)
        before = dict(self.env)
        self.block(stmt.body)
        after_body = self.env
        self.env = dict(before)
        self.block(stmt.orelse)
        self.env = self.join(after_body, self.env, stmt)
        return [stmt]

    def join(self, a: dict[str, Kind], b: dict[str, Kind], node: ast.AST) -> dict[str, Kind]:
        out = {}
        for name in a.keys() | b.keys():
            ka, kb = a.get(name), b.get(name)
            if ka is None or kb is None:
                out[name] = ka or kb
                continue
            out[name] = self.join_kind(ka, kb, node)
        return out

    def join_kind(self, ka: Kind, kb: Kind, node: ast.AST) -> Kind:
        if ka == kb:
            return ka
        rank = ka.rank if ka.rank == kb.rank else None
        kinds = {ka.kind, kb.kind}
        if kinds <= {ZERO, CONST}:
            return Kind(CONST, rank)
        if kinds == {ZERO, SUM} or kinds == {SUM}:
            return Kind(SUM, rank)
        if len(kinds) == 1:
            return Kind(ka.kind, rank)
        if kinds <= {ZERO, CONST, ELEMENT}:
            return Kind(ELEMENT, rank)
        raise self.fail(f"a name that is a {ka} value on one path and a {kb} value on "
                        "another", node)

    def loop_body(self, body: list[ast.stmt], node: ast.AST) -> None:
        """The kinds at the loop's head, to a fixed point; then the body, rewritten."""
        rewrite = self.rewrite
        self.rewrite = False
        for _ in range(4):
            start = dict(self.env)
            self.block(copy.deepcopy(body))
            if self.row_loop is not None:  # what is added up over the rows is a sum
                start.update({a: self.env[a] for a in self.row_loop.accumulators})
            joined = self.join(start, self.env, node)
            self.env = joined
            if joined == start:
                break
        else:
            raise self.fail("a loop whose values do not settle", node)
        self.rewrite = rewrite
        self.block(body)
        self.env = self.join(joined, self.env, node)

    def for_loop(self, stmt: ast.For) -> list[ast.stmt]:
        if stmt.orelse or not isinstance(stmt.target, ast.Name):
            raise self.fail("a for loop with else or an unpacking target", stmt)
        it = stmt.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and self.info.resolve(it.func) is range and not it.keywords
                and 1 <= len(it.args) <= 3):
            raise self.fail("a for loop over something else than range()", stmt)
        kinds = [self.expr(a, count_ok=True)[0] for a in it.args]
        stop = kinds[0] if len(kinds) == 1 else kinds[1]
        row_loop = (stop.kind == COUNT and len(it.args) <= 2
                    and (len(it.args) == 1 or (isinstance(it.args[0], ast.Constant)
                                               and it.args[0].value == 0)))
        if row_loop:
            if self.row_loop is not None:
                raise self.fail("a loop over the rows inside another", stmt)
            if any(isinstance(n, (ast.Break, ast.Return)) for n in ast.walk(stmt)):
                raise self.fail("a loop over the rows that stops early", stmt)
            loop = _RowLoop(stmt.target.id, set(self.defined), set())
            self.row_loop = loop
            starts = dict(self.env)
            self.env[stmt.target.id] = Kind(INDEX, 0)
            inside_before = set(self.defined)
            self.loop_body(stmt.body, stmt)
            self.row_loop = None
            for name in self.defined - inside_before:
                self.env[name] = Kind(LAST_ROW)
            self.env[stmt.target.id] = Kind(LAST_ROW)
            pre: list[ast.stmt] = []
            if self.rewrite:
                for name in sorted(loop.accumulators):  # a constant start counts once
                    if starts.get(name, _C).kind == CONST:
                        pre.append(self.scaled_copy(name, stmt))
            return [*pre, stmt]
        for k, arg in enumerate(it.args):
            _, it.args[k] = self.expr(arg)
        bad = [k for k in kinds if k.kind not in (CONST, ZERO, COUNT, ELEMENT)]
        if bad:
            raise self.fail(f"a loop over a range of {bad[0]} values", stmt)
        self.bind(stmt.target.id, Kind(ELEMENT if any(k.kind == ELEMENT for k in kinds)
                                       else CONST, 0), stmt)
        self.loop_body(stmt.body, stmt)
        return [stmt]

    def scaled_copy(self, name: str, node: ast.AST) -> ast.stmt:
        new = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                         value=self.weighted(ast.Name(id=name, ctx=ast.Load())))
        return ast.copy_location(new, node)

    def while_loop(self, stmt: ast.While) -> list[ast.stmt]:
        if stmt.orelse:
            raise self.fail("while ... else", stmt)
        test, stmt.test = self.expr(stmt.test)
        if test.kind not in (CONST, ZERO, ELEMENT):
            raise self.fail(f"a while loop on a {test} value", stmt)
        self.loop_body(stmt.body, stmt)
        test, stmt.test = self.expr(stmt.test)
        if test.kind not in (CONST, ZERO, ELEMENT):
            raise self.fail(f"a while loop on a {test} value", stmt)
        return [stmt]

    # -- expressions ----------------------------------------------------------------------

    def kind_of_name(self, node: ast.Name) -> Kind:
        if node.id in self.env:
            kind = self.env[node.id]
            if kind.kind == LAST_ROW:
                raise self.fail(f"'{node.id}' read after the loop over rows that made it "
                                "(it holds the last row's value)", node)
            return kind
        value = self.info.bindings.get(node.id)
        if isinstance(value, np.ndarray):
            return Kind(CONST, value.ndim)
        return Kind(CONST, 0 if isinstance(value, (int, float)) else None)

    def needs_rewrite(self, what: str, node: ast.AST) -> None:
        """A helper's body is not rewritten: what would need it is refused there."""
        if self.helper:
            raise self.fail(f"{what} inside a helper", node)

    def weighted(self, value: ast.expr) -> ast.expr:
        """``value * first``: a term that counts once over all shards."""
        self.needs_rewrite("a constant added to a sum over rows", value)
        return ast.BinOp(left=value, op=ast.Mult(),
                         right=ast.Name(id=self.first, ctx=ast.Load()))

    def count(self, node: ast.expr) -> ast.expr:
        """The number of rows, in arithmetic: the whole data's."""
        return ast.copy_location(ast.Name(id=self.total, ctx=ast.Load()), node)

    def expr(self, node: ast.expr, count_ok: bool = False) -> tuple[Kind, ast.expr]:
        kind, new = self._expr(node)
        if kind.kind == COUNT and not count_ok:
            self.needs_rewrite("the number of rows in arithmetic", node)
            return _C, self.count(new) if self.rewrite else new
        if kind.kind == SHAPE:
            raise self.fail("the shape of the rows as a value", node)
        return kind, new

    def _expr(self, node: ast.expr) -> tuple[Kind, ast.expr]:
        if isinstance(node, ast.Constant):
            return (Kind(ZERO, 0) if node.value == 0 and not isinstance(node.value, bool)
                    else _C), node
        if isinstance(node, ast.Name):
            return self.kind_of_name(node), node
        if isinstance(node, ast.Attribute):
            return self.attribute(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.BinOp):
            lk, left = self.expr(node.left)
            rk, right = self.expr(node.right)
            kind, left2, right2 = self.binop(lk, rk, node.op, left, right, node)
            node.left, node.right = (left2 if left2 is not None else left,
                                     right2 if right2 is not None else right)
            return kind, node
        if isinstance(node, ast.UnaryOp):
            kind, node.operand = self.expr(node.operand)
            if isinstance(node.op, ast.Not) and kind.kind not in (CONST, ZERO, ELEMENT):
                raise self.fail(f"'not' of a {kind} value", node)
            return (_C if kind.kind == ZERO else kind), node
        if isinstance(node, ast.Compare):
            kinds = []
            node.left = self.take(node.left, kinds)
            node.comparators = [self.take(c, kinds) for c in node.comparators]
            return self.elementwise(kinds, node), node
        if isinstance(node, ast.BoolOp):
            kinds = []
            node.values = [self.take(v, kinds) for v in node.values]
            return self.elementwise(kinds, node), node
        if isinstance(node, ast.IfExp):
            test, node.test = self.expr(node.test)
            if test.kind not in (CONST, ZERO, ELEMENT):
                raise self.fail(f"a choice on a {test} value", node)
            a, node.body = self.expr(node.body)
            b, node.orelse = self.expr(node.orelse)
            return self.join_kind(a, b, node), node
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Tuple):
            kinds = []
            node.elts = [self.take(e, kinds) for e in node.elts]
            if all(k.kind in (CONST, ZERO) for k in kinds):
                return Kind(CONST, None), node
            raise self.fail("a tuple of values that depend on the rows", node)
        raise self.fail(f"the expression {type(node).__name__}", node)

    def take(self, node: ast.expr, kinds: list[Kind]) -> ast.expr:
        kind, new = self.expr(node)
        kinds.append(kind)
        return new

    def attribute(self, node: ast.Attribute) -> tuple[Kind, ast.expr]:
        if isinstance(node.value, ast.Name) and node.value.id not in self.env \
                and node.value.id not in self.defined:
            return _C, node  # np.pi, a module's constant
        base, node.value = self.expr(node.value)
        if node.attr == "shape":
            return (Kind(SHAPE) if base.kind == ROWS else Kind(CONST, 1)), node
        if node.attr == "T":
            if base.kind == ROWS:
                if base.rank != 2:
                    raise self.fail("the transpose of rows of unknown rank", node)
                return Kind(ROWS_T, 2), node
            if base.kind in (SUM, CONST, ZERO, ELEMENT):
                return (_C if base.kind == ZERO else base), node
        if node.attr == "ndim":
            return _C, node
        if node.attr in ("size",) and base.kind in (CONST, ZERO, ELEMENT):
            return Kind(CONST, 0), node
        if node.attr in ("real",) and base.kind != SHAPE:
            return base, node
        raise self.fail(f"'.{node.attr}' of a {base} value", node)

    def subscript(self, node: ast.Subscript) -> tuple[Kind, ast.expr]:
        base, node.value = self.expr(node.value) if not (
            isinstance(node.value, ast.Attribute) and node.value.attr == "shape") \
            else self._expr(node.value)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base.kind == SHAPE:
            k = _literal_int(node.slice)
            if k == 0 or (k is not None and k < 0 and base.rank is not None
                          and k + base.rank == 0):
                return Kind(COUNT, 0), node
            if k is not None and (k > 0 or (base.rank is not None and k + base.rank > 0)):
                return Kind(CONST, 0), node
            raise self.fail("an element of the rows' shape other than [0] or [k > 0]", node)
        if base.kind == ROWS:
            first = parts[0]
            loop = self.row_loop
            if loop is not None and isinstance(first, ast.Name) and first.id == loop.index:
                rest = [self.expr(p)[0] for p in parts[1:]]
                if any(k.kind not in (CONST, ZERO, ELEMENT) for k in rest):
                    raise self.fail("an index that depends on the rows", node)
                return Kind(ELEMENT, None), node
            if not (isinstance(first, ast.Slice) and first.lower is None
                    and first.upper is None and first.step is None):
                raise self.fail("rows of the data taken other than all of them "
                                "(x[i] outside a loop over rows, x[a:b], x[idx])", node)
            rank = base.rank
            for part in parts[1:]:
                if isinstance(part, ast.Slice):
                    for bound in (part.lower, part.upper, part.step):
                        if bound is not None and self.expr(bound)[0].kind not in (CONST, ZERO):
                            raise self.fail("a slice bound that depends on the rows", node)
                elif isinstance(part, ast.Constant) and part.value is None:
                    rank = None if rank is None else rank + 1
                else:
                    kind, _ = self.expr(part)
                    if kind.kind not in (CONST, ZERO) or kind.rank != 0:
                        raise self.fail("an index array on the columns of rows", node)
                    rank = None if rank is None else rank - 1
            if isinstance(node.slice, ast.Tuple):
                node.slice.elts = list(parts)
            return Kind(ROWS, rank), node
        kinds = []
        if isinstance(node.slice, ast.Tuple):
            node.slice.elts = [self.take(p, kinds) if not isinstance(p, ast.Slice)
                               else self.slice_bounds(p, kinds) for p in parts]
        elif isinstance(node.slice, ast.Slice):
            node.slice = self.slice_bounds(node.slice, kinds)
        else:
            node.slice = self.take(node.slice, kinds)
        index = {k.kind for k in kinds}
        if base.kind in (CONST, ZERO):
            if index <= {CONST, ZERO}:
                return Kind(CONST, _indexed_rank(base.rank, parts, kinds)), node
            if index <= {CONST, ZERO, ELEMENT}:
                return Kind(ELEMENT, None), node
            if index == {ROWS} and len(kinds) == 1:  # W[labels]: a gather along the rows
                return Kind(ROWS, None), node
        if base.kind == ELEMENT and index <= {CONST, ZERO, ELEMENT}:
            return Kind(ELEMENT, None), node
        if base.kind == SUM and index <= {CONST, ZERO}:
            return Kind(SUM, None), node
        raise self.fail(f"an element of a {base} value", node)

    def slice_bounds(self, part: ast.Slice, kinds: list[Kind]) -> ast.Slice:
        for field in ("lower", "upper", "step"):
            bound = getattr(part, field)
            if bound is not None:
                setattr(part, field, self.take(bound, kinds))
        return part

    def elementwise(self, kinds: list[Kind], node: ast.AST) -> Kind:
        names = {k.kind for k in kinds}
        if names <= {CONST, ZERO}:
            return Kind(CONST, _max_rank(kinds))
        if names <= {CONST, ZERO, ELEMENT}:
            return Kind(ELEMENT, None)
        if names <= {CONST, ZERO, ROWS}:
            rows = [k for k in kinds if k.kind == ROWS]
            rank = _max_rank(rows)
            if rank is None or any(k.rank != rank for k in rows):
                # (n, d) * (n,) would pair the rows of one with the columns of the other
                raise self.fail("rows of different or unknown ranks combined", node)
            for k in kinds:
                if k.kind != ROWS and k.rank is not None and rank is not None \
                        and k.rank >= rank and k.rank > 0:
                    raise self.fail("a constant array combined with rows of the same rank "
                                    "(it would run along the rows)", node)
                if k.kind != ROWS and k.rank is None:
                    raise self.fail("a constant of unknown rank combined with rows", node)
            return Kind(ROWS, rank)
        raise self.fail("an operation on " + " and ".join(sorted(names)) + " values", node)

    def binop(self, lk: Kind, rk: Kind, op: ast.operator, left: ast.expr, right: ast.expr,
              node: ast.AST) -> tuple[Kind, ast.expr | None, ast.expr | None]:
        """The kind of ``left op right``, and the operands rewritten (``None``: as is)."""
        kinds = {lk.kind, rk.kind}
        if isinstance(op, ast.MatMult):
            return self.matmul(lk, rk, node), None, None
        if SUM in kinds:
            other, other_kind = (right, rk) if lk.kind == SUM else (left, lk)
            if isinstance(op, (ast.Add, ast.Sub)):
                if other_kind.kind == SUM or other_kind.kind == ZERO:
                    return Kind(SUM, None), None, None
                if other_kind.kind == CONST:
                    self.needs_rewrite("a constant added to a sum over rows", node)
                    if not self.rewrite:
                        return Kind(SUM, None), None, None
                    weighted = self.weighted(other)
                    if lk.kind == SUM:
                        return Kind(SUM, None), None, weighted
                    return Kind(SUM, None), weighted, None
            if isinstance(op, ast.Mult) and other_kind.kind in (CONST, ZERO):
                return Kind(SUM, None), None, None
            if isinstance(op, ast.Div) and lk.kind == SUM and rk.kind in (CONST,):
                return Kind(SUM, None), None, None
            raise self.fail(f"'{_op(op)}' of a sum over rows and a {other_kind} value: "
                            "not a sum over rows", node)
        if ROWS_T in kinds:
            raise self.fail("the transpose of rows outside 'X.T @ r'", node)
        return self.elementwise([lk, rk], node), None, None

    def matmul(self, lk: Kind, rk: Kind, node: ast.AST) -> Kind:
        a, b = lk.kind, rk.kind
        if a in (CONST, ZERO) and b in (CONST, ZERO):
            return Kind(CONST, None)
        if {a, b} <= {CONST, ZERO, ELEMENT}:
            return Kind(ELEMENT, None)
        if a == ROWS and b in (CONST, ZERO):
            if lk.rank is not None and lk.rank >= 2:
                rank = None if rk.rank is None else lk.rank + rk.rank - 2
                return Kind(ROWS, rank)
            raise self.fail("a product that sums over the rows of a vector of rows "
                            "with a constant", node)
        if a == ROWS and b == ROWS and lk.rank == 1 and rk.rank == 1:
            return Kind(SUM, 0)
        if a == ROWS_T and b == ROWS:
            return Kind(SUM, None if rk.rank is None else rk.rank - 1)
        if (a == SUM and b in (CONST, ZERO)) or (b == SUM and a in (CONST, ZERO)):
            return Kind(SUM, None)
        raise self.fail(f"a matrix product of a {lk} value and a {rk} value", node)

    def call(self, node: ast.Call) -> tuple[Kind, ast.expr]:
        func_node = node.func
        method = None
        if isinstance(func_node, ast.Attribute) and not self.is_module_path(func_node.value):
            method = func_node.attr
            base, func_node.value = self.expr(func_node.value)
            args = [func_node.value, *node.args]
            kinds = [base]
            for k, arg in enumerate(node.args):
                kind, node.args[k] = self.expr(arg)
                kinds.append(kind)
            func = _SUMS.get(method)
            if func is None:
                if method in ("copy", "astype") and base.kind != SHAPE:
                    return base, node
                raise self.fail(f"the method .{method}() of a {base} value", node)
            return self.reduction(func, args, kinds, node, method=True)
        func = self.info.resolve(func_node)
        kinds = []
        counts = []
        for k, arg in enumerate(node.args):
            kind, new = self.expr(arg, count_ok=func is len)
            node.args[k] = new
            kinds.append(kind)
            counts.append(kind.kind == COUNT)
        if func is len:
            if kinds and kinds[0].kind == ROWS:
                return Kind(COUNT, 0), node
            return _C, node
        if func in (np.sum, np.mean):
            return self.reduction(func, node.args, kinds, node)
        if func in (np.dot, np.matmul):
            if len(kinds) != 2 or node.keywords:
                raise self.fail("np.dot with other than two arguments", node)
            return self.matmul(kinds[0], kinds[1], node), node
        if func is np.transpose and len(kinds) == 1 and not node.keywords:
            if kinds[0].kind == ROWS:
                if kinds[0].rank != 2:
                    raise self.fail("the transpose of rows of unknown rank", node)
                return Kind(ROWS_T, 2), node
            if kinds[0].kind in (CONST, ZERO, SUM, ELEMENT):
                return kinds[0], node
        if func in (np.zeros_like, np.ones_like, np.empty_like) and kinds \
                and kinds[0].kind == ROWS:
            return kinds[0], node
        for kw in node.keywords:
            kind, kw.value = self.expr(kw.value)
            kinds.append(kind)
        if _elementwise(func):
            return self.elementwise(kinds, node), node
        if all(k.kind in (CONST, ZERO) for k in kinds):
            if is_user_function(func):
                try:
                    return self.helper_call(func, kinds, node)
                except NotSeparable:
                    pass
            return Kind(CONST, None), node
        if func in (min, max, round, int) and all(
                k.kind in (CONST, ZERO, ELEMENT) for k in kinds):
            return Kind(ELEMENT, 0), node
        if is_user_function(func):
            return self.helper_call(func, kinds, node)
        name = ast.unparse(func_node)
        raise self.fail(f"{name}() of a value that depends on the rows", node)

    def is_module_path(self, node: ast.expr) -> bool:
        return isinstance(self.info.resolve(node), types.ModuleType)

    def reduction(self, func: Any, args: list[ast.expr], kinds: list[Kind], node: ast.Call,
                  method: bool = False) -> tuple[Kind, ast.expr]:
        """``np.sum``/``np.mean`` (or the methods) of ``args[0]``, along ``axis``."""
        axis: Any = None
        keywords = {kw.arg: kw.value for kw in node.keywords}
        if set(keywords) - {"axis"}:
            raise self.fail("a sum or mean with options other than axis", node)
        if len(args) > 2:
            raise self.fail("a sum or mean with options other than axis", node)
        axis_node = args[1] if len(args) == 2 else keywords.get("axis")
        if axis_node is not None:
            if not (isinstance(axis_node, ast.Constant) and isinstance(axis_node.value, int)
                    ) and not (isinstance(axis_node, ast.UnaryOp)
                               and isinstance(axis_node.operand, ast.Constant)):
                raise self.fail("a sum or mean along an axis that is not a literal", node)
            axis = ast.literal_eval(axis_node)
        kind = kinds[0]
        if kind.kind in (CONST, ZERO):
            return Kind(CONST, 0 if axis is None else None), node
        if kind.kind in (ELEMENT, SUM):
            return Kind(kind.kind, None), node
        if kind.kind != ROWS:
            raise self.fail(f"a sum of a {kind} value", node)
        rank = kind.rank
        if axis is not None and axis < 0:
            if rank is None:
                raise self.fail("a sum along a negative axis of rows of unknown rank", node)
            axis += rank
        if axis is not None and axis > 0:
            return Kind(ROWS, None if rank is None else rank - 1), node
        if func is np.sum:
            return Kind(SUM, 0 if axis is None else None), node
        # a mean over the rows: this shard's part of it
        self.needs_rewrite("a mean over rows", node)
        if not self.rewrite:
            return Kind(SUM, None), node
        primal = row_mean if axis is None else row_mean_rows
        name = self.names[primal]
        new = ast.Call(func=ast.Name(id=name, ctx=ast.Load()),
                       args=[args[0], ast.Name(id=self.total, ctx=ast.Load())], keywords=[])
        return Kind(SUM, 0 if axis is None else None), ast.copy_location(new, node)

    def helper_call(self, func: types.FunctionType, kinds: list[Kind],
                    node: ast.Call) -> tuple[Kind, ast.expr]:
        if node.keywords:
            raise self.fail("a helper called with keywords on rows", node)
        try:
            info = parse_function(func, tuple_result=False)
        except AdcompileError:
            raise self.fail(f"the helper {func.__name__}()", node) from None
        if len(info.params) != len(kinds):
            raise self.fail(f"the helper {func.__name__}() called with defaults", node)
        sub = Analysis(copy_info(info), set(), {}, self.total, self.first, helper=True)
        try:
            result = sub.function(dict(zip(info.params, kinds, strict=True)))
        except NotSeparable as exc:
            raise self.fail(f"in the helper {func.__name__}(): {exc.message}", node) from None
        return result, node


def _literal_int(node: ast.expr) -> int | None:
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _indexed_rank(rank: int | None, parts: list[ast.expr], kinds: list[Kind]) -> int | None:
    """The rank of a constant array indexed by ``parts`` (``kinds``: of the non-slices)."""
    if rank is None:
        return None
    scalars = iter(kinds)
    for part in parts:
        if isinstance(part, ast.Slice):
            for bound in (part.lower, part.upper, part.step):
                if bound is not None:
                    next(scalars, None)
            continue
        if isinstance(part, ast.Constant) and part.value is None:
            rank += 1
            next(scalars, None)
            continue
        kind = next(scalars, None)
        if kind is None or kind.rank != 0 or isinstance(part, ast.Constant) and \
                part.value is Ellipsis:
            return None
        rank -= 1
    return rank


def _max_rank(kinds: list[Kind]) -> int | None:
    ranks = [k.rank for k in kinds]
    return None if any(r is None for r in ranks) else max(ranks, default=0)


def _op(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
            ast.FloorDiv: "//", ast.Mod: "%"}.get(type(op), type(op).__name__)


def copy_info(info: FunctionInfo) -> FunctionInfo:
    return replace(info, tree=copy.deepcopy(info.tree), bindings=dict(info.bindings),
                   names=set(info.names))


# --------------------------------------------------------------------------------------------
# The shard function


@dataclass
class Plan:
    """How a loss splits over shards of rows."""

    #: the shard function: the user's, with the parameters ``total`` and ``first`` appended
    info: FunctionInfo
    #: the user's parameters that hold rows of data, by position
    rows: tuple[int, ...]
    total: str
    first: str


def fresh(info: FunctionInfo, base: str) -> str:
    name, k = base, 1
    while name in info.names or name in info.bindings:
        k += 1
        name = f"{base}_{k}"
    return name


def plan(f: Callable, wrt: list[str], rows: tuple[str, ...],
         ranks: dict[str, int | None]) -> Plan:
    """The shard function of ``f`` with the parameters ``rows`` holding the rows of the data
    (``ranks``: the number of dimensions of each parameter, where known).  Raises
    :class:`NotSeparable` when the loss cannot be shown to be a sum over the rows."""
    info = copy_info(parse_function(f))
    if info.structure is not None:
        raise NotSeparable("tuple parameters")
    total, first = fresh(info, "rows_total"), fresh(info, "first_shard")
    analysis = Analysis(info, set(rows), ranks, total, first)
    analysis.names = {}
    for primal, base in ((row_mean, "row_mean"), (row_mean_rows, "row_mean_rows")):
        name = fresh(info, base)
        analysis.names[primal] = name
        info.bindings[name] = primal
        info.names.add(name)
    params = {}
    for p in info.params:
        if p in rows:
            params[p] = Kind(ROWS, ranks.get(p))
        else:
            r = ranks.get(p)
            params[p] = Kind(CONST, r)
    analysis.function(params)
    info.tree.args.args.extend([ast.arg(arg=total), ast.arg(arg=first)])
    info.params = [*info.params, total, first]
    info.names |= {total, first}
    ast.fix_missing_locations(info.tree)
    positions = tuple(k for k, p in enumerate(info.params) if p in rows)
    return Plan(info=info, rows=positions, total=total, first=first)


def infer_rows(params: list[str], wrt: list[str], args: tuple) -> tuple[tuple[str, ...],
                                                                      dict[str, int | None]]:
    """The parameters holding rows of data in a call with ``args``: the arrays among the
    non-``wrt`` arguments whose first dimension is the most common one; and every
    argument's number of dimensions."""
    ranks = {p: (np.ndim(a) if isinstance(a, (np.ndarray, float, int, np.number)) else None)
             for p, a in zip(params, args, strict=False)}
    lengths = Counter(a.shape[0] for p, a in zip(params, args, strict=False)
                      if p not in wrt and isinstance(a, np.ndarray) and a.ndim >= 1)
    if not lengths:
        return (), ranks
    n = max(lengths.items(), key=lambda item: (item[1], item[0]))[0]
    rows = tuple(p for p, a in zip(params, args, strict=False) if p not in wrt
                 and isinstance(a, np.ndarray) and a.ndim >= 1 and a.shape[0] == n)
    return rows, ranks


# --------------------------------------------------------------------------------------------
# grad(..., parallel=True): the shards in a prange loop

#: a shard has at least this many rows, and about this many bytes of data: small enough that
#: what its gradient reads twice (``X`` in ``X @ w`` and then in ``X.T @ r``) is still in
#: the cache the second time
MIN_ROWS = 32
CHUNK_BYTES = 1 << 20


class ParallelWarning(UserWarning):
    """``parallel=True`` could not split this loss over rows: the serial gradient runs."""


@numba.njit
def split_plan(rows, row_bytes, gradient_bytes):
    """``(shards, threads)``: ``rows`` rows of ``row_bytes`` bytes each are cut into shards
    dealt round-robin to the threads: at least one per thread, each of at least ``MIN_ROWS``
    rows, and otherwise of about ``CHUNK_BYTES`` of data, or more where the gradient is
    large (each shard's gradient is made and added: ``gradient_bytes`` each)."""
    threads = numba.get_num_threads()
    chunk = max(CHUNK_BYTES, 8 * gradient_bytes)
    shards = max(threads, -(-rows * row_bytes // chunk))
    shards = max(1, min(shards, rows // MIN_ROWS))
    return shards, max(1, min(threads, shards))


@dataclass
class Sharded:
    """A loss split over shards of rows, for a driver of one's own (Dask's, say)."""

    #: the positions of the parameters of the loss that hold rows of data
    rows: tuple[int, ...]
    #: the generated module of the shard function (``codegen.Generated``)
    gen: Any
    #: ``(*args, n_total, first) -> (value_part, gradient_part)``, compiled: ``args`` as for
    #: the loss, with a shard of the rows in place of each row argument; ``n_total`` the
    #: number of rows of the whole data; ``first`` 1.0 on exactly one shard, else 0.0
    value_and_grad: Any
    #: the same without the value: ``(*args, n_total, first) -> gradient_part``
    grad: Any
    plan: Plan


def sharded(f: Callable, wrt: Any = 0, *, args: tuple | None = None,
            rows: tuple[int | str, ...] | None = None) -> Sharded:
    """The loss ``f`` split over shards of the rows of its data, for ``wrt`` (as for
    ``grad``).  The sum of the shard function's values and gradients over any partition of
    the rows is the loss and its gradient on all of them.

    ``args`` (arguments of a call, or of a typical one: the shapes' ranks matter) tell which
    parameters hold rows — the non-``wrt`` arrays whose first dimension is the most common
    one — unless ``rows`` names them (positions or names).  Without ``args`` every array's
    rank is unknown and fewer losses can be proven separable.  Raises ``AdcompileError``
    when the loss is not (provably) a sum over the rows."""
    from .api import resolve_wrt

    info = parse_function(f)
    names, as_tuple = resolve_wrt(info.params, wrt, info.name)
    ranks: dict[str, int | None] = {p: None for p in info.params}
    inferred: tuple[str, ...] = ()
    if args is not None:
        inferred, ranks = infer_rows(info.params, names, tuple(args))
    if rows is not None:
        chosen = tuple(info.params[r] if isinstance(r, int) else r for r in rows)
    elif args is not None:
        chosen = inferred
    else:
        chosen = tuple(p for p in info.params if p not in names)
    try:
        if not chosen:
            raise NotSeparable("no parameter holds rows of data")
        p, gen = _generated_shard(f, names, as_tuple, chosen, ranks)
    except NotSeparable as exc:
        line = getattr(exc.node, "lineno", None) or info.tree.lineno
        raise AdcompileError(f"{info.name}() is not a sum or mean over the rows of "
                             f"{', '.join(chosen) or 'its data'}: {exc.message}",
                             filename=info.filename, lineno=line,
                             construct="a loss that does not split over rows",
                             hint="write the loss as np.sum/np.mean of per-row terms (plus "
                             "terms of the parameters alone), or a loop over the rows that "
                             "adds up per-row terms") from None
    return Sharded(rows=p.rows, gen=gen, value_and_grad=gen.function("value_and_grad"),
                   grad=gen.function("grad"), plan=p)


def _generated_shard(f: Callable, wrt: list[str], as_tuple: bool, rows: tuple[str, ...],
                     ranks: dict[str, int | None]) -> tuple[Plan, Any]:
    """The plan of ``f`` for these rows and its generated module (``codegen.Generated``)."""
    from . import codegen

    p = plan(f, wrt, rows, ranks)
    p.info.variant = f"shard rows={rows} ranks={sorted(ranks.items())}"
    return p, codegen.generate(p.info, wrt, as_tuple)


def _rank_of(t: Any) -> int | None:
    if isinstance(t, numba.types.Array):
        return t.ndim
    if isinstance(t, (numba.types.Float, numba.types.Integer, numba.types.Boolean)):
        return 0
    return None


def parallel_function(f: Callable, wrt: list[str], as_tuple: bool, role: str,
                      serial: Any) -> Any:
    """A dispatcher with ``f``'s parameters that computes ``serial`` (the gradient or
    value-and-gradient of ``f``) as the sum of the gradients of shards of rows, in a
    ``numba.prange`` loop.  The shard function is made when the argument types are known
    (at the first call, from Python or from compiled code): the non-``wrt`` arrays are the
    rows.  A loss that is not a sum over them runs ``serial``, with a ``ParallelWarning``."""
    info = parse_function(f)
    params = info.params
    signature = ", ".join(params)
    namespace: dict[str, Any] = {}
    exec(f"def split_over_rows({signature}):\n    pass\n", namespace)  # noqa: S102
    stub = namespace["split_over_rows"]
    made: dict[Any, str] = {}
    made_by: list[Any] = []

    def make(types_: tuple) -> Any:
        ranks = {p: _rank_of(t) for p, t in zip(params, types_, strict=True)}
        rows = tuple(p for p in params if p not in wrt and (ranks[p] or 0) >= 1)
        key = tuple(sorted(ranks.items()))
        problem: NotSeparable | None = None
        try:
            if not rows:
                raise NotSeparable("no array parameter holds rows of data")
            if any(r is None for p, r in ranks.items() if p in wrt):
                raise NotSeparable("tuple parameters")
            p, gen = _generated_shard(f, wrt, as_tuple, rows, ranks)
        except NotSeparable as exc:
            problem = exc
        except AdcompileError as exc:  # the shard function cannot be made: serial, said why
            problem = NotSeparable(f"its shard function cannot be made: {exc.message}")
        if problem is not None:
            line = getattr(problem.node, "lineno", None) or info.tree.lineno
            warnings.warn_explicit(
                f"adcompile: {info.name}() is not a sum or mean over the rows of its data "
                f"({problem.message}); parallel=True runs the serial gradient",
                ParallelWarning, info.filename, line)
            made[key] = (f"# {info.name}() is not a sum over rows ({problem.message}): the "
                         "serial gradient runs\n\n" + serial.source)
            for d in made_by:
                d.source = made[key]
            return _compiled_driver(f"def serial_driver({signature}):\n"
                                    f"    return serial({signature})\n",
                                    "serial_driver", {"serial": serial}, parallel=False)
        shard = gen.function(role)
        text = driver_source(params, wrt, as_tuple, role, rows, ranks, p)
        made[key] = text + "\n\n" + shard.source
        for d in made_by:
            d.source = made[key]
        return _compiled_driver(text, f"{role}_{info.name}_sharded",
                                {"shard": shard, "serial": serial})

    typing: dict[str, Any] = {"make": make}
    exec(f"def typed({signature}):\n    return make(({signature},))\n", typing)  # noqa: S102
    overload(stub)(typing["typed"])
    namespace = {"split_over_rows": stub}
    name = f"parallel_{role}_{info.name}"
    exec(f"def {name}({signature}):\n    return split_over_rows({signature})\n",  # noqa: S102
         namespace)
    dispatcher = numba.njit(namespace[name])
    dispatcher.made = made
    dispatcher.source = (f"# parallel=True: the code that splits {info.name}() over shards of "
                         "its rows is generated at the first call, when the argument types "
                         "are known; until then, the serial gradient:\n\n" + serial.source)
    for attr in ("role", "wrt_positions", "as_tuple", "tape_bytes", "forward"):
        if hasattr(serial, attr):
            setattr(dispatcher, attr, getattr(serial, attr))
    dispatcher.serial = serial
    made_by.append(dispatcher)
    return dispatcher


def _compiled_driver(text: str, name: str, bindings: dict[str, Any],
                     parallel: bool = True) -> Any:
    """The implementation of the stub for one set of argument types: it calls the driver
    ``name`` defined by ``text``, compiled with ``parallel``."""
    namespace: dict[str, Any] = {"np": np, "numba": numba, "split_plan": split_plan,
                                 **bindings}
    exec(compile(text, f"<adcompile parallel {name}>", "exec"), namespace)  # noqa: S102
    if not parallel:
        return namespace[name]
    driver = numba.njit(parallel=True, error_model="numpy")(namespace[name])
    params = ", ".join(inspect.signature(namespace[name]).parameters)
    outer: dict[str, Any] = {"driver": driver}
    exec(f"def call({params}):\n    return driver({params})\n", outer)  # noqa: S102
    return outer["call"]


def driver_source(params: list[str], wrt: list[str], as_tuple: bool, role: str,
                  rows: tuple[str, ...], ranks: dict[str, int | None], p: Plan) -> str:
    """The prange loop over threads, each adding up the gradients of its shards of
    ``rows``; then the threads' sums added up."""
    signature = ", ".join(params)
    first_rows = rows[0]
    taken = set(params)

    def own(base: str) -> str:
        name = base
        while name in taken:
            name += "_"
        taken.add(name)
        return name

    n_rows, shards, threads, values, part, lo, hi, t, s, acc = (own(b) for b in (
        "rows", "shards", "threads", "values", "part", "lo", "hi", "t", "s", "acc"))
    d = {w: own(f"d_{w}") for w in wrt}
    parts = {w: own(f"d_{w}_parts") for w in wrt}
    lines = [f"def {role}_{p.info.name}_sharded({signature}):",
             f'    """{role} of {p.info.name}() as a sum over shards of the rows of '
             f'{", ".join(rows)}, the shards dealt to the threads."""',
             f"    {n_rows} = {first_rows}.shape[0]"]
    for r in rows[1:]:
        lines += [f"    if {r}.shape[0] != {n_rows}:  # not rows of the same examples",
                  f"        return serial({signature})"]
    row_bytes = " + ".join(f"{r}.nbytes" for r in rows)
    gradient_bytes = " + ".join("8" if ranks[w] == 0 else f"{w}.nbytes" for w in wrt)
    lines.append(f"    {shards}, {threads} = split_plan({n_rows}, ({row_bytes}) // "
                 f"max({n_rows}, 1), {gradient_bytes})")
    value = role == "value_and_grad"
    if value:
        lines.append(f"    {values} = np.zeros({threads})")
    for w in wrt:
        shape = threads if ranks[w] == 0 else f"({threads},) + {w}.shape"
        lines.append(f"    {parts[w]} = np.zeros({shape})")
    args = ", ".join(f"{q}[{lo}:{hi}]" if q in rows else q for q in params)
    lines += [f"    for {t} in numba.prange({threads}):",
              f"        for {s} in range({t}, {shards}, {threads}):",
              f"            {lo} = {s} * {n_rows} // {shards}",
              f"            {hi} = ({s} + 1) * {n_rows} // {shards}",
              f"            {part} = shard({args}, {n_rows}, 1.0 if {s} == 0 else 0.0)"]
    grads = f"{part}[1]" if value else part
    if value:
        lines.append(f"            {values}[{t}] += {part}[0]")
    for k, w in enumerate(wrt):
        item = f"{grads}[{k}]" if as_tuple else grads
        if ranks[w] == 0:
            lines.append(f"            {parts[w]}[{t}] += {item}")
        else:
            lines += [f"            {acc} = {parts[w]}[{t}]",
                      f"            {acc} += {item}"]
    for w in wrt:
        if ranks[w] == 0:
            lines.append(f"    {d[w]} = np.sum({parts[w]})")
        else:
            lines += [f"    {d[w]} = {parts[w]}[0].copy()",
                      f"    for {t} in range(1, {threads}):",
                      f"        {d[w]} += {parts[w]}[{t}]"]
    grad = (f"({', '.join(d[w] for w in wrt)}{',' if len(wrt) == 1 else ''})" if as_tuple
            else d[wrt[0]])
    lines.append(f"    return {f'np.sum({values}), ' if value else ''}{grad}")
    return "\n".join(lines) + "\n"
