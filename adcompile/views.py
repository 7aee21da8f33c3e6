"""Views of local arrays as indexes into them, on the desugared tree before normalization.

A name bound to a basic-indexing view of an array the function made (``row = D[i]``,
``tail = D[1, 1:]``, ``col = T[i, :, j]``, ``sub = row[1:]``) shares the array's memory, as in
NumPy: a write through it changes the array, and a read of it sees the array as it is then.
The gradient follows memory through names only where each name has its own values, so where
the view and its base are written (through either), every access through the view becomes an
access to its base with the index composed:

```python
row = D[i]                      (gone)
for j in range(4):              for j in range(4):
    row[j] += x[j]      ─►          D[i, j] += x[j]
tail = D[1, 1:]                 (gone)
tail[0] = tail[-1] * 2.0        D[1, 1] = D[1, D.shape[1] - 1] * 2.0
s = np.sum(tail)                s = np.sum(D[1, 1:])
```

and the array-write machinery (tapes of overwritten elements) handles the rest.  A binding
is rewritten when every read of the view that sees it lies after it in its block, nothing
there rebinds the view, the base (``D += w`` is in place and stays), or a name of the index,
the index is made of integers (literals, loop counters, ``len``, sizes and their sums),
slices, ``None`` and ``...``, and every access composes: an integer into a slice needs a
step that is a literal and an index known not to be negative (or a negative literal), a
slice into a slice a positive step.  A bare read of the view (``np.sum(tail)``, ``tail *=
2``) needs it known to be an array, not a number: a slice in its index, or fewer integers
than its base's rank.  A view that is not rewritten stays a view: ``alias`` refuses a write
through it that is read afterwards, naming the line and what to write.  An index array
(``D[[0, 2]]``, ``D[mask]``) makes a copy in NumPy, not a view, and is never rewritten.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy

from .desugar import _literal as _int_literal
from .trees import copy_tree, fix_locations, preorder, transform

#: an axis of a view in terms of its base: ("int", index), ("slice", lower, upper, step)
#: (``lower``/``upper`` expressions or None, ``step`` a nonzero int), ("new",) for None
Entry = tuple

_MAKERS = {"zeros": None, "ones": None, "empty": None, "full": None}
_LIKE = {"zeros_like", "ones_like", "empty_like", "full_like", "copy", "array", "asarray"}
_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)


def views_as_indexes(tree: ast.FunctionDef, params: set[str], resolve: Callable[[ast.expr], Any],
                     tuples: set[str], builtin: Callable[[str], str]) -> None:
    """Rewrite, in place, the accesses through views of local arrays (see the module
    docstring).  ``builtin("min")`` gives the name under which the function may call
    ``min`` (a slice of a slice ends where the first ends)."""
    facts = _Facts(tree, params, resolve, tuples)
    facts.builtin = builtin
    if not facts.candidates:
        return
    removed: list[tuple[list[ast.stmt], ast.stmt, str]] = []
    for block in _blocks(tree):
        k = 0
        while k < len(block):
            stmt = block[k]
            found = facts.binding(stmt)
            if found is not None and _Rewrite(facts, block, k, *found).run():
                removed.append((block, stmt, found[0]))
            k += 1
    loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Load)}
    for block, stmt, name in removed:
        if name not in loads and stmt in block:
            block.remove(stmt)
    fix_locations(tree)


def _blocks(tree: ast.AST) -> list[list[ast.stmt]]:
    """Every statement list of ``tree``, outer before inner, in source order."""
    return [getattr(node, part) for node in preorder(tree)
            for part in ("body", "orelse") if isinstance(getattr(node, part, None), list)
            and getattr(node, part) and isinstance(getattr(node, part)[0], ast.stmt)]


class _Facts:
    """What the tree tells about its names: which are integers (and never negative), the
    ranks of arrays it makes, and which names may be views' bases."""

    def __init__(self, tree: ast.FunctionDef, params: set[str],
                 resolve: Callable[[ast.expr], Any], tuples: set[str]) -> None:
        self.tree, self.resolve = tree, resolve
        builtins_ = getattr(tree, "builtin_names", {})
        self.lens = {builtins_.get("len", "len"), "len"}
        self.int_calls = self.lens | {"int", "min", "max"}
        stores: dict[str, list[ast.AST]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.For):
                for n in ast.walk(node.target):
                    if isinstance(n, ast.Name):
                        stores.setdefault(n.id, []).append(node)
            elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                            stores.setdefault(n.id, []).append(node)
            elif isinstance(node, ast.NamedExpr):
                stores.setdefault(node.target.id, []).append(node)
        self.stores = stores
        self.ints = self._fixed_point(set(stores) - params, self._int_binding)
        self.nonneg: set[str] = set()
        self.nonneg = self._fixed_point(set(self.ints), self._nonneg_binding)
        self.ranks = self._ranks(params)
        self.least = self._least_ranks(params)
        bad = self.bad = set(params) | set(tuples) | self.ints
        self.candidates = {n for n, where in stores.items() if n not in bad and all(
            isinstance(s, (ast.Assign, ast.AugAssign)) and not _sequence(s.value)
            for s in where)}
        # names joined by view bindings (v = B[i], w = v[1:], u = B), either way
        self.group = {n: n for n in self.candidates}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name) and node.targets[0].id in self.candidates:
                value = node.value.value if isinstance(node.value, ast.Subscript) else node.value
                if isinstance(value, ast.Name) and value.id in self.candidates:
                    self.group[self._find(node.targets[0].id)] = self._find(value.id)

    def _find(self, name: str) -> str:
        while self.group[name] != name:
            name = self.group[name]
        return name

    def family(self, name: str) -> set[str]:
        """The names joined to ``name`` by view bindings."""
        root = self._find(name)
        return {n for n in self.group if self._find(n) == root}

    # -- integers ---------------------------------------------------------------------------

    def _fixed_point(self, names: set[str], holds: Callable[[str, ast.AST, set[str]], bool]
                     ) -> set[str]:
        """The largest subset of ``names`` every binding of which ``holds`` given it."""
        while True:
            kept = {n for n in names if all(holds(n, s, names) for s in self.stores[n])}
            if kept == names:
                return kept
            names = kept

    def _int_binding(self, name: str, stmt: ast.AST, ints: set[str]) -> bool:
        if isinstance(stmt, ast.For):
            return _is_range(stmt.iter) and isinstance(stmt.target, ast.Name)
        if isinstance(stmt, ast.Assign):
            return (len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                    and self.is_int(stmt.value, ints))
        if isinstance(stmt, ast.AugAssign):
            return isinstance(stmt.op, _INT_OPS) and self.is_int(stmt.value, ints)
        return False

    def _nonneg_binding(self, name: str, stmt: ast.AST, nonneg: set[str]) -> bool:
        saved, self.nonneg = self.nonneg, nonneg
        try:
            if isinstance(stmt, ast.For):
                args = stmt.iter.args
                step = _int_literal(args[2]) if len(args) == 3 else 1
                if step is None:
                    return False
                if step > 0:
                    return len(args) == 1 or self.is_nonneg(args[0])
                stop = _int_literal(args[1])
                return stop is not None and stop >= -1
            if isinstance(stmt, ast.Assign):
                return self.is_nonneg(stmt.value)
            return (isinstance(stmt, ast.AugAssign) and isinstance(stmt.op, (ast.Add, ast.Mult))
                    and self.is_nonneg(stmt.value))
        finally:
            self.nonneg = saved

    def is_int(self, node: ast.expr, ints: set[str] | None = None) -> bool:
        """Whether ``node`` is an integer: literals, names of integers, ``len``, sizes, and
        ``+ - * // %``, ``min``, ``max``, ``int`` of those (a walk without recursion: a
        user's sum may nest a thousand operations)."""
        ints = self.ints if ints is None else ints
        stack = [node]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Constant):
                ok = type(node.value) is int
            elif isinstance(node, ast.Name):
                ok = node.id in ints or (node.id not in self.stores and type(
                    self._free(node)) is int)
            elif isinstance(node, ast.UnaryOp):
                ok = isinstance(node.op, (ast.USub, ast.UAdd))
                stack.append(node.operand)
            elif isinstance(node, ast.BinOp):
                ok = isinstance(node.op, _INT_OPS)
                stack += [node.left, node.right]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id in self.lens:
                    ok = len(node.args) == 1
                elif node.func.id == "int":
                    ok = True
                else:
                    ok = node.func.id in self.int_calls and bool(node.args)
                    stack += node.args
            else:
                ok = _is_size(node)
            if not ok:
                return False
        return True

    def _free(self, node: ast.Name) -> Any:
        """The value of a module-level name (None if there is none)."""
        try:
            return self.resolve(node)
        except Exception:  # noqa: BLE001 (not a module-level name)
            return None

    def is_nonneg(self, node: ast.expr) -> bool:
        """Whether ``node`` is an integer known not to be negative (without recursion, as
        ``is_int``)."""
        stack = [node]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Constant):
                ok = type(node.value) is int and node.value >= 0
            elif isinstance(node, ast.Name):
                value = None if node.id in self.stores else self._free(node)
                ok = node.id in self.nonneg or (type(value) is int and value >= 0)
            elif isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult,
                                                                      ast.FloorDiv, ast.Mod)):
                ok = True
                stack += [node.left, node.right]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                ok = node.func.id in self.lens or node.func.id in ("min", "max")
                if node.func.id not in self.lens:
                    stack += node.args
            else:
                ok = _is_size(node)
            if not ok:
                return False
        return True

    # -- ranks ------------------------------------------------------------------------------

    def _ranks(self, params: set[str]) -> dict[str, int]:
        """Ranks of arrays made with a shape written out (``np.zeros((3, n))``), or copied
        from one (``np.zeros_like(D)``, ``D.copy()``), the same at every binding."""
        ranks: dict[str, int] = {}
        for _ in range(3):
            for name, where in self.stores.items():
                seen = {self._rank_of(s.value, ranks) if isinstance(s, ast.Assign) else
                        ranks.get(name) if isinstance(s, ast.AugAssign) else None
                        for s in where}
                if name not in params and len(seen) == 1 and None not in seen:
                    ranks[name] = seen.pop()
        return ranks

    def _least_ranks(self, params: set[str]) -> dict[str, int]:
        """Ranks each name has at least, the same at every binding: an operation broadcasts
        its operands (``np.zeros((2, 3)) + A`` has rank 2 or more)."""
        least: dict[str, int] = {}
        for _ in range(3):
            for name, where in self.stores.items():
                if name in params or not all(isinstance(s, (ast.Assign, ast.AugAssign))
                                             for s in where):
                    continue
                seen = [self._least_of(s.value, least) for s in where
                        if isinstance(s, ast.Assign)]
                if seen and min(seen) > 0:
                    least[name] = min(seen)
        return least

    def _least_of(self, value: ast.expr, least: dict[str, int]) -> int:
        """The rank ``value`` has at least: the largest of its operands' (without recursion,
        as ``is_int``)."""
        best = 0
        stack = [value]
        while stack:
            value = stack.pop()
            exact = self._rank_of(value, self.ranks)
            if exact is not None:
                best = max(best, exact)
            elif isinstance(value, ast.Name):
                best = max(best, least.get(value.id, 0))
            elif isinstance(value, ast.BinOp) and not isinstance(value.op, ast.MatMult):
                stack += [value.left, value.right]
            elif isinstance(value, ast.UnaryOp):
                stack.append(value.operand)
            elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    and value.func.attr == "copy" and not value.args):
                stack.append(value.func.value)
            elif isinstance(value, ast.Call) and value.args and not value.keywords:
                try:
                    func = self.resolve(value.func)
                except Exception:  # noqa: BLE001 (an unknown name)
                    continue
                if isinstance(func, numpy.ufunc):  # np.tanh(B): B's shape
                    stack += value.args
        return best

    def _rank_of(self, value: ast.expr, ranks: dict[str, int]) -> int | None:
        while isinstance(value, ast.BinOp):  # np.ones((3, 4)) * 0.5 (a loop: no recursion)
            left, right = value.left, value.right
            if isinstance(left, ast.Constant):
                left, right = right, left
            if not isinstance(right, ast.Constant):
                return None
            value = left
        if isinstance(value, ast.Name):
            return ranks.get(value.id)
        if not isinstance(value, ast.Call) or not value.args:
            return None
        func = value.func
        try:
            target = self.resolve(func)
        except Exception:  # noqa: BLE001 (an unknown name: no rank)
            return None
        if getattr(target, "__module__", None) != "numpy" and not isinstance(
                target, numpy.ufunc):
            return None
        name = getattr(target, "__name__", "")
        if name in _MAKERS:
            shape = value.args[0]
            if isinstance(shape, ast.Tuple):
                return len(shape.elts)
            return 1 if self.is_int(shape) else None
        if name in _LIKE and isinstance(value.args[0], ast.Name):
            return ranks.get(value.args[0].id)
        return None

    # -- bindings ---------------------------------------------------------------------------

    def binding(self, stmt: ast.stmt) -> tuple[str, str, list[Entry], int | None] | None:
        """``(view, base, entries, rank of the view if known)`` if ``stmt`` binds a name
        to a basic-indexing view of a local array (``v = B[...]``, ``v = B``)."""
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            return None
        view, value = stmt.targets[0].id, stmt.value
        if isinstance(value, ast.Name):
            base, parts = value.id, []
        elif isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            base = value.value.id
            parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        else:
            return None
        if base not in self.candidates or view in self.bad or base == view:
            return None
        rank = self.ranks.get(base)
        entries = self.entries(parts, rank)
        if entries is None:
            return None
        ints = sum(e[0] == "int" for e in entries)
        if rank is not None:
            view_rank = rank - ints + sum(e[0] == "new" for e in entries)
            if view_rank == 0:
                return None  # an element: a number, a copy
        elif any(e[0] != "int" for e in entries) or self.least.get(base, 0) > ints:
            view_rank = -1  # an array, of rank unknown
        else:
            view_rank = None  # maybe a number
        return view, base, entries, view_rank

    def entries(self, parts: list[ast.expr], rank: int | None) -> list[Entry] | None:
        """The entries of a basic index (``None`` if it is not one, or holds ``...`` where
        the rank is needed and not known)."""
        out: list[Entry] = []
        for k, part in enumerate(parts):
            if isinstance(part, ast.Constant) and part.value is Ellipsis:
                rest = parts[k + 1:]
                if not rest:
                    return out
                if rank is None or any(isinstance(p, ast.Constant) and p.value is Ellipsis
                                       for p in rest):
                    return None
                used = sum(not _is_none(p) for p in parts) - 1
                out.extend(("slice", None, None, 1) for _ in range(rank - used))
            elif _is_none(part):
                out.append(("new",))
            elif isinstance(part, ast.Slice):
                step = 1 if part.step is None else _int_literal(part.step)
                if not step or not all(b is None or self.is_int(b)
                                       for b in (part.lower, part.upper)):
                    return None
                out.append(("slice", part.lower, part.upper, step))
            elif self.is_int(part):
                out.append(("int", part))
            else:
                return None
        return out


class _Rewrite:
    """One binding ``view = base[entries]`` at ``block[k]``: its region (the rest of the
    block up to a statement that binds the view again), whether it may and should be
    rewritten, and the rewriting."""

    def __init__(self, facts: _Facts, block: list[ast.stmt], k: int, view: str, base: str,
                 entries: list[Entry], rank: int | None) -> None:
        self.facts, self.view, self.base, self.entries, self.rank = (facts, view, base,
                                                                     entries, rank)
        self.region: list[ast.stmt] = []
        self.block, self.first = block, k + 1
        self.indexed: set[int] = set()  # the view's names that a subscript indexes
        self.last: ast.stmt | None = None  # the statement that binds the view again
        for stmt in block[k + 1:]:
            if isinstance(stmt, ast.Assign) and any(
                    isinstance(n, ast.Name) and n.id == view and isinstance(n.ctx, ast.Store)
                    for t in stmt.targets for n in ast.walk(t)):
                self.last = stmt
                break
            self.region.append(stmt)
        self.whole = [*self.region, *([self.last] if self.last is not None else [])]
        if self.last is None or not _reads(self.last.value, view):
            # the statements after the view's last read do not concern it (k += 1 at the
            # end of a loop's body may change the index of D[k])
            while self.region and not _reads(self.region[-1], view):
                self.region.pop()
                self.last = None
        self.index_names = {n.id for e in entries for part in e[1:]
                            if isinstance(part, ast.AST) for n in ast.walk(part)
                            if isinstance(n, ast.Name)}

    def run(self) -> bool:
        parts = [*self.region, *([self.last.value] if self.last is not None else [])]
        family = self.facts.family(self.base)
        written = any(
            isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)
            and n.target.id in family or isinstance(n, ast.Subscript)
            and isinstance(n.ctx, ast.Store) and _indexed(n) in family
            for p in self.whole for n in ast.walk(p))
        for node in (n for p in parts for n in ast.walk(p)):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                if node.id in self.index_names or (node.id == self.base
                                                   and not _augmented(node, parts)):
                    return False
                if node.id == self.view and not _augmented(node, parts):
                    return False
            if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
                return False
        if not written:
            return False
        parents = {id(c): n for p in parts for n in ast.walk(p) for c in ast.iter_child_nodes(n)}
        uses = [n for p in parts for n in ast.walk(p)
                if isinstance(n, ast.Name) and n.id == self.view]
        self.indexed = {id(n) for n in uses if isinstance(parents.get(id(n)), ast.Subscript)
                        and parents[id(n)].value is n}
        if self.indexed and self.rank is None:
            self.rank = -1  # indexed: an array, not a number
        if any(self.replacement(parents.get(id(n)), n) is None for n in uses):
            return False
        for k, stmt in enumerate(self.region):
            self.block[self.first + k] = transform(stmt, self.rewrite)
        if self.last is not None:
            self.last.value = transform(self.last.value, self.rewrite)
        return True

    def replacement(self, parent: ast.AST | None, node: ast.Name) -> ast.expr | None:
        """What an occurrence of the view becomes (None: it cannot be followed)."""
        if isinstance(parent, ast.Subscript) and parent.value is node:
            parts = parent.slice.elts if isinstance(parent.slice, ast.Tuple) else [parent.slice]
            index = self.compose(parts, isinstance(parent.ctx, ast.Store))
            return None if index is None else _subscript(self.base, index or [ast.Slice()],
                                                         parent.ctx)
        if self.rank is None:
            return None  # maybe a number (B[i] of a vector): not a view
        index = self.compose([], isinstance(node.ctx, ast.Store))
        if index is None:
            return None
        return _subscript(self.base, index, node.ctx) if index else ast.Name(
            id=self.base, ctx=node.ctx)

    def rewrite(self, node: ast.AST) -> ast.AST:
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and (
                node.value.id == self.view):
            return ast.copy_location(self.replacement(node, node.value), node)
        if isinstance(node, ast.Name) and node.id == self.view and id(node) not in self.indexed:
            return ast.copy_location(self.replacement(None, node), node)
        return node

    def compose(self, access: list[ast.expr], store: bool) -> list[ast.expr] | None:
        """The base's index for ``view[access]``."""
        facts = self.facts
        parts = list(access)
        if parts and isinstance(parts[-1], ast.Constant) and parts[-1].value is Ellipsis:
            parts.pop()
        if any(isinstance(p, ast.Constant) and p.value is Ellipsis for p in parts):
            return None
        out: list[Entry] = []
        axis = 0  # the base's axis the next entry indexes
        entries = list(self.entries)
        while entries:
            entry = entries[0]
            if entry[0] == "int":
                out.append(entry)
                entries.pop(0)
                axis += 1
                continue
            if not parts:
                out.append(entry)
                entries.pop(0)
                axis += entry[0] == "slice"
                continue
            part = parts.pop(0)
            if _is_none(part):
                out.append(("new",))
                continue
            entries.pop(0)
            if entry[0] == "new":
                if isinstance(part, ast.Slice) and part.lower is part.upper is part.step is None:
                    out.append(entry)
                elif _int_literal(part) != 0:
                    return None
                continue
            composed = _compose(facts, entry, part, self.base, axis)
            if composed is None:
                return None
            out.append(composed)
            axis += 1
        for part in parts:  # the base's axes the view keeps whole
            if _is_none(part):
                out.append(("new",))
            elif isinstance(part, ast.Slice):
                out.append(("slice", part.lower, part.upper,
                            1 if part.step is None else part.step))
            else:
                out.append(("int", part))
        while out and out[-1][0] == "slice" and out[-1][1] is None and out[-1][2] is None and (
                out[-1][3] == 1):
            out.pop()  # D[i, :] is D[i]
        if store:
            out = [e for e in out if e[0] != "new"]
        return [_part(e) for e in out]


def _compose(facts: _Facts, entry: Entry, part: ast.expr, base: str, axis: int
             ) -> Entry | None:
    """``part`` (an integer or a slice) applied to the view's axis ``entry``, a slice of the
    base's axis ``axis``: an entry of the base's index, or None."""
    _, lower, upper, step = entry
    full = lower is None and upper is None and step == 1
    if isinstance(part, ast.Slice):
        if full:
            return ("slice", part.lower, part.upper, 1 if part.step is None else part.step)
        if part.lower is None and part.upper is None and part.step is None:
            return entry
        inner = 1 if part.step is None else _int_literal(part.step)
        if step < 0 or not inner or inner < 0 or not all(
                b is None or facts.is_nonneg(b) for b in (part.lower, part.upper)):
            return None
        start = _start(facts, lower, step, base, axis)
        if start is None:
            return None
        new_lower = lower if part.lower is None else _add(start, _mul(part.lower, step))
        if part.upper is None:
            new_upper = upper
        else:
            stop = _add(start, _mul(part.upper, step))
            end = None if upper is None else _end(facts, upper, base, axis)
            if upper is not None and end is None:
                return None
            new_upper = stop if upper is None else _smaller(facts, end, stop)
        return ("slice", new_lower, new_upper, step * inner)
    if full:
        return ("int", part)
    k = _int_literal(part)
    if k is None and not facts.is_nonneg(part):
        return None
    start = _start(facts, lower, step, base, axis)
    if start is None:
        return None
    if k is None or k >= 0:
        return ("int", _add(start, _mul(part, step)))
    # a negative index counts from the view's end
    if upper is None and step == 1:
        return ("int", _add(_size(base, axis), part))
    if upper is None and step == -1 and lower is None:
        return ("int", ast.Constant(value=-k - 1))
    end = _end(facts, upper, base, axis) if upper is not None else (
        _size(base, axis) if step > 0 else ast.Constant(value=-1))
    if end is None:
        return None
    if step == 1:
        return ("int", _add(end, part))
    span = _sub(end, start) if step > 0 else _sub(start, end)
    length = _floordiv(_add(span, ast.Constant(value=abs(step) - 1)), abs(step))
    return ("int", _add(start, _mul(_add(length, part), step)))


def _start(facts: _Facts, lower: ast.expr | None, step: int, base: str, axis: int
           ) -> ast.expr | None:
    """The first index of a slice of the base's ``axis`` (None if its sign is unknown)."""
    if lower is None:
        return ast.Constant(value=0) if step > 0 else _sub(_size(base, axis), ast.Constant(1))
    return _end(facts, lower, base, axis)


def _end(facts: _Facts, bound: ast.expr, base: str, axis: int) -> ast.expr | None:
    k = _int_literal(bound)
    if k is not None and k < 0:
        return _add(_size(base, axis), bound)
    return copy_tree(bound) if facts.is_nonneg(bound) else None


def _part(entry: Entry) -> ast.expr:
    if entry[0] == "int":
        return copy_tree(entry[1])
    if entry[0] == "new":
        return ast.Constant(value=None)
    _, lower, upper, step = entry
    step_node = step if isinstance(step, ast.AST) else (
        None if step == 1 else _number(step))
    return ast.Slice(lower=lower and copy_tree(lower), upper=upper and copy_tree(upper),
                     step=step_node and copy_tree(step_node))


def _subscript(base: str, index: list[ast.expr], ctx: ast.expr_context) -> ast.Subscript:
    return ast.Subscript(value=ast.Name(id=base, ctx=ast.Load()),
                         slice=index[0] if len(index) == 1 else ast.Tuple(elts=index,
                                                                          ctx=ast.Load()),
                         ctx=type(ctx)())


def _number(k: int) -> ast.expr:
    return ast.Constant(value=k) if k >= 0 else ast.UnaryOp(op=ast.USub(),
                                                            operand=ast.Constant(value=-k))


def _add(a: ast.expr, b: ast.expr) -> ast.expr:
    ka, kb = _int_literal(a), _int_literal(b)
    if ka is not None and kb is not None:
        return _number(ka + kb)
    if ka == 0:
        return copy_tree(b)
    if kb == 0:
        return copy_tree(a)
    if kb is not None and kb < 0:
        return ast.BinOp(left=copy_tree(a), op=ast.Sub(), right=ast.Constant(value=-kb))
    return ast.BinOp(left=copy_tree(a), op=ast.Add(), right=copy_tree(b))


def _sub(a: ast.expr, b: ast.expr) -> ast.expr:
    kb = _int_literal(b)
    if kb is not None:
        return _add(a, _number(-kb))
    return ast.BinOp(left=copy_tree(a), op=ast.Sub(), right=copy_tree(b))


def _mul(a: ast.expr, k: int) -> ast.expr:
    ka = _int_literal(a)
    if ka is not None:
        return _number(ka * k)
    if k == 1:
        return copy_tree(a)
    return ast.BinOp(left=copy_tree(a), op=ast.Mult(), right=_number(k))


def _floordiv(a: ast.expr, k: int) -> ast.expr:
    ka = _int_literal(a)
    if ka is not None:
        return _number(ka // k)
    return a if k == 1 else ast.BinOp(left=a, op=ast.FloorDiv(), right=ast.Constant(value=k))


def _smaller(facts: _Facts, a: ast.expr, b: ast.expr) -> ast.expr:
    """``min(a, b)``, worked out when both are literals."""
    ka, kb = _int_literal(a), _int_literal(b)
    if ka is not None and kb is not None:
        return _number(min(ka, kb))
    return ast.Call(func=ast.Name(id=facts.builtin("min"), ctx=ast.Load()), args=[a, b],
                    keywords=[])


def _size(base: str, axis: int) -> ast.expr:
    return ast.Subscript(value=ast.Attribute(value=ast.Name(id=base, ctx=ast.Load()),
                                             attr="shape", ctx=ast.Load()),
                         slice=ast.Constant(value=axis), ctx=ast.Load())


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _is_range(node: ast.expr) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and 1 <= len(node.args) <= 3)


def _is_size(node: ast.expr) -> bool:
    """``A.shape[k]`` or ``A.size``."""
    if isinstance(node, ast.Attribute):
        return node.attr in ("size", "ndim")
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
            and node.value.attr == "shape" and _int_literal(node.slice) is not None)


def _sequence(value: ast.expr) -> bool:
    """Whether ``value`` makes a list or a tuple (never an array's view)."""
    if isinstance(value, (ast.List, ast.Tuple, ast.ListComp, ast.Dict, ast.Set,
                          ast.GeneratorExp, ast.SetComp, ast.DictComp)):
        return True
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and (
        value.func.id in ("list", "tuple", "range", "zip", "enumerate", "dict", "sorted"))


def _indexed(node: ast.expr) -> str | None:
    while isinstance(node, ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _reads(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _augmented(name: ast.Name, parts: list[ast.AST]) -> bool:
    """Whether ``name`` (a store) is the target of an augmented assignment in ``parts``."""
    return any(isinstance(n, ast.AugAssign) and n.target is name
               for p in parts for n in ast.walk(p))
