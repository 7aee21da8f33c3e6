"""Aliases: which names may share memory with which arrays, on the normalized body.

NumPy views make one array reachable under several names (``r = B[0]``, ``y = w.T``,
``s = B``).  Four things follow for a gradient:

- A write through any view of a parameter changes the caller's array (and every later call
  of the gradient would see the changed data): ``check_writes`` refuses it.
- ``h += x`` on an array changes it in place in Python, and so every variable that shares
  its memory; the normalized form makes a new array ``h_1 = h + x``.  The two agree unless
  ``h`` shares memory with another variable (or a parameter): ``check_writes`` refuses that
  case, and the refusal says to write ``h = h + x`` or to copy first.
- A view whose base a store changes is out of step with its adjoint: a write through a view
  of a local array, and a view read after such a store, are refused (``_check_views``).
- A value that the backward sweep reads must be the value the forward sweep used.  When an
  operation reads an array (or a view of one) that a later store changes, ``snapshot`` makes
  the operation read a copy taken just before it, ``r_seen = snapshot(r)``; the forward
  result is the same, and the backward sweep reads the copy.  Later reads of ``r`` still see
  the view, as Python does.

A name's *roots* are the names that own the memory it may view: itself for a value an
operation makes, and the roots of ``x`` for ``x``, ``x[...]``, ``x.T``, ``reshape(x, ...)``
and the like (an element of an array of known rank, ``y[i]`` of ``y = np.zeros(n)``, is a
number and views nothing).  The analysis is a fixed point over every assignment, so loops
and branches (``y = w if c else z``) are covered conservatively.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy

from . import kernels
from .analyze import (
    Activity,
    array_like,
    assignments,
    flat,
    is_store,
    operands,
    target_name,
)
from .normalize import Normalized

#: functions whose result may share memory with their first argument
_VIEWS = (numpy.transpose, numpy.reshape, numpy.ravel, numpy.asarray, numpy.ascontiguousarray,
          numpy.squeeze, numpy.expand_dims, numpy.atleast_1d, numpy.atleast_2d, kernels.reshape,
          kernels.as_float)


def roots(norm: Normalized) -> dict[str, set[str]]:
    """For each name, the names owning memory it may share (itself included)."""
    info = norm.info
    out: dict[str, set[str]] = {p: {p} for p in info.params}
    stmts = [s for s in assignments(norm.stmts) if not is_store(s)]
    for stmt in stmts:
        out.setdefault(target_name(stmt), {target_name(stmt)})
    ranks = _known_ranks(info, stmts)
    changed = True
    while changed:
        changed = False
        for stmt in stmts:
            source = _viewed(info, stmt.value, ranks)
            if source is None or source not in out:
                continue
            target = target_name(stmt)
            new = out[source] - out[target]
            if new:
                out[target] |= new
                changed = True
    return out


def _known_ranks(info: object, stmts: list[ast.Assign]) -> dict[str, int]:
    """Ranks known for sure: arrays made with a literal shape (``np.zeros((3, 2))``), and
    their copies under other versions (a name assigned anything else has no known rank)."""
    made: dict[str, int] = {}
    other: set[str] = set()
    copies: list[tuple[str, str]] = []
    for stmt in stmts:
        target, value = target_name(stmt), stmt.value
        func = info.resolve(value.func) if isinstance(value, ast.Call) else None
        if (func is not None and getattr(func, "__name__", "") in ("zeros", "ones", "empty",
                                                                   "full")
                and getattr(func, "__module__", "") == "numpy" and value.args):
            shape = value.args[0]
            rank = len(shape.elts) if isinstance(shape, ast.Tuple) else 1
            if made.get(target, rank) != rank:
                other.add(target)
            made[target] = rank
        elif isinstance(value, ast.Name):
            copies.append((target, value.id))
        else:
            other.add(target)
    changed = True
    while changed:  # a copy has the rank of its source, if every source agrees
        changed = False
        for target, source in copies:
            if target in other:
                continue
            if source not in made or made.get(target, made[source]) != made[source]:
                other.add(target)
                changed = True
            elif target not in made:
                made[target] = made[source]
                changed = True
    return {n: r for n, r in made.items() if n not in other}


def _viewed(info: object, value: ast.expr, ranks: dict[str, int]) -> str | None:
    """The name ``value`` may be a view of, if any (an element of an array of known rank,
    every index an integer, is a number, not a view)."""
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        if (len(parts) == ranks.get(value.value.id, -1)
                and not any(isinstance(p, ast.Slice) for p in parts)):
            return None
        return value.value.id
    if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name):
        if any(info.resolve(value.func) is f for f in _VIEWS):
            return value.args[0].id
    return None


def check_writes(norm: Normalized) -> None:
    """Refuse a store into memory that a parameter owns, through whatever name, and an
    augmented assignment to an array that shares memory with another variable."""
    info = norm.info
    owners = roots(norm)
    params = set(info.params)
    stmts = list(assignments(norm.stmts))
    augmented = [s for s in stmts if getattr(s, "augmented", None)]
    if augmented:
        arrays = array_like(norm, stmts)
        variable = norm.variables.get
        for stmt in augmented:
            old = stmt.augmented
            if old not in arrays:
                continue
            mine = variable(old, old)
            others = {variable(n, n) for n in owners.get(old, {old})}
            others |= {variable(n, n) for n, r in owners.items() if old in r and n in arrays}
            others.discard(mine)
            if others & params or old in params:
                what = sorted(others & params or {old})[0]
                raise info.error(stmt, f"'{mine} {_op(stmt)}= ...' would change the argument "
                                 f"'{what}' in place, and so the caller's array",
                                 construct="augmented assignment to an argument",
                                 hint=f"write {mine} = {mine} {_op(stmt)} ... (a new array)")
            if others:
                raise info.error(stmt, f"'{mine} {_op(stmt)}= ...' changes the array in "
                                 f"place, and with it '{sorted(others)[0]}', which shares its "
                                 "memory", construct="augmented assignment to a shared array",
                                 hint=f"write {mine} = {mine} {_op(stmt)} ... (a new array), "
                                 "or copy one of them first")
    for stmt in stmts:
        if not is_store(stmt):
            continue
        array = target_name(stmt)
        hit = sorted(owners.get(array, {array}) & params)
        if hit:
            p = hit[0]
            raise info.error(stmt, f"this write may change the argument '{p}' (through a "
                             "view of it), which would change the caller's array",
                             construct="a write into a view of an argument",
                             hint=f"copy it first: {p} = {p}.copy(), or build a new array")
    _check_views(norm, owners, stmts)


def snapshot(norm: Normalized, act: Activity, bind: Callable[[str, object], str]) -> None:
    """Make active operations read copies of arrays that a later store changes (see the
    module docstring).  ``bind`` gives the module-level name of the ``snapshot`` kernel."""
    owners = roots(norm)
    written = _later_writes(norm.stmts, owners)
    if not written:
        return
    names = norm.names
    func: list[str] = []

    def copy_of(name: str) -> str:
        if not func:
            func.append(bind("snapshot", kernels.snapshot))
            norm.info.bindings[func[0]] = kernels.snapshot
        return names.fresh(f"{name}_seen")

    def visit(block: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in block:
            if isinstance(stmt, ast.If):
                stmt.body = visit(stmt.body) or [ast.Pass()]
                stmt.orelse = visit(stmt.orelse)
            elif isinstance(stmt, (ast.For, ast.While)):
                stmt.body = visit(stmt.body) or [ast.Pass()]
            elif (isinstance(stmt, ast.Assign) and not is_store(stmt)
                  and target_name(stmt) in act.active and _reads_values(stmt.value)):
                renames: dict[str, str] = {}
                for atom in flat(operands(stmt.value)):
                    if (isinstance(atom, ast.Name) and atom.id not in renames
                            and id(stmt) in written.get(atom.id, set())):
                        renames[atom.id] = copy_of(atom.id)
                        for group in (act.varied, act.useful, act.arrays):
                            if atom.id in group:
                                group.add(renames[atom.id])
                        out.append(ast.Assign(
                            targets=[ast.Name(id=renames[atom.id], ctx=ast.Store())],
                            value=ast.Call(func=ast.Name(id=func[0], ctx=ast.Load()),
                                           args=[ast.Name(id=atom.id, ctx=ast.Load())],
                                           keywords=[]),
                            lineno=getattr(stmt, "lineno", 1)))
                for node in ast.walk(stmt.value):
                    if isinstance(node, ast.Name) and node.id in renames:
                        node.id = renames[node.id]
            out.append(stmt)
        return out

    norm.stmts = visit(norm.stmts)


def _check_views(norm: Normalized, owners: dict[str, set[str]], stmts: list[ast.Assign]
                 ) -> None:
    """Refuse a read of an array whose memory a store changed through another name: the
    reversal keeps one adjoint per name, so a write through a view (``r = B[0]; r[1] = w``)
    leaves ``B``'s adjoint out of step, and so does a write into ``B`` for the view ``r``.
    Reading such a name afterwards is refused; a view read before the store is fine (see
    ``snapshot``).

    The analysis follows program order (``_Sharing``): which names share memory *now*.
    ``u = v`` binds ``u`` to ``v``'s array, and ``v = np.zeros(n)`` on the next iteration
    binds ``v`` to a new one, so a store into the new ``v`` does not touch ``u``."""
    arrays = array_like(norm, stmts)
    _Sharing(norm, arrays, _known_ranks(norm.info, [s for s in stmts if not is_store(s)]),
             owners).block(norm.stmts, _State())


class _State:
    """Which names may share memory at a point (symmetric), and which names a store through
    another name has made out of step (name -> the store's target and statement)."""

    def __init__(self, shared: dict[str, frozenset[str]] | None = None,
                 stale: dict[str, tuple[str, ast.stmt]] | None = None) -> None:
        self.shared = dict(shared or {})
        self.stale = dict(stale or {})

    def copy(self) -> _State:
        return _State(self.shared, self.stale)

    def join(self, other: _State) -> _State:
        shared = dict(self.shared)
        for n, s in other.shared.items():
            shared[n] = shared.get(n, frozenset()) | s
        return _State(shared, {**other.stale, **self.stale})

    def same(self, other: _State) -> bool:
        return self.shared == other.shared and self.stale.keys() == other.stale.keys()


class _Sharing:
    def __init__(self, norm: Normalized, arrays: set[str], ranks: dict[str, int],
                 owners: dict[str, set[str]]) -> None:
        self.norm, self.arrays, self.ranks, self.owners = norm, arrays, ranks, owners

    def block(self, stmts: list[ast.stmt], state: _State) -> _State:
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                self.assign(stmt, state)
            elif isinstance(stmt, ast.If):
                self.read(stmt, [stmt.test], state)
                state = self.block(stmt.body, state.copy()).join(
                    self.block(stmt.orelse, state.copy()))
            elif isinstance(stmt, (ast.For, ast.While)):
                head = state
                while True:  # a fixed point: the next iteration sees this one's stores
                    if isinstance(stmt, ast.While):
                        self.read(stmt, [stmt.test], head)
                    end = self.block(stmt.body, head.copy())
                    new = head.join(end)
                    if new.same(head):
                        break
                    head = new
                state = head
        return state

    def read(self, stmt: ast.stmt, exprs: list[ast.expr], state: _State) -> None:
        for expr in exprs:
            for node in ast.walk(expr):
                if isinstance(node, ast.Name) and node.id in state.stale:
                    self.refuse(stmt, node.id, *state.stale[node.id])

    def assign(self, stmt: ast.Assign, state: _State) -> None:
        target = stmt.targets[0]
        if is_store(stmt):
            self.read(stmt, [stmt.value, target.slice], state)
            array = target_name(stmt)
            for other in state.shared.get(array, ()):
                state.stale.setdefault(other, (array, stmt))
            return
        self.read(stmt, [stmt.value], state)
        name = target.id
        source = _viewed(self.norm.info, stmt.value, self.ranks)
        partners: set[str] = set()
        if source is not None and name in self.arrays:
            partners = ({source} | state.shared.get(source, frozenset())) - {name}
        for old in state.shared.pop(name, frozenset()):
            state.shared[old] = state.shared[old] - {name}
        state.stale.pop(name, None)
        if partners:
            state.shared[name] = frozenset(partners)
            for p in partners:
                state.shared[p] = state.shared.get(p, frozenset()) | {name}

    def refuse(self, stmt: ast.stmt, name: str, written: str, store: ast.stmt) -> None:
        info, variable = self.norm.info, self.norm.variables.get
        mine, base = variable(name, name), variable(written, written)
        if name in self.owners.get(written, ()):  # the store went through a view of name
            raise info.error(stmt, f"'{mine}' is read after a write through its view "
                             f"'{base}' (line {getattr(store, 'lineno', '?')}): the gradient "
                             "cannot follow a write through a view",
                             construct="a write through a view",
                             hint=f"write into '{mine}' itself, e.g. {mine}[i, j] = ...")
        raise info.error(stmt, f"'{mine}' is a view of '{base}', which was written after "
                         f"'{mine}' was taken: the value read here changed under it",
                         construct="a view read after its base was written",
                         hint=f"take a copy ({mine} = {base}[...].copy()) or take the view "
                         "after the write")


def _op(stmt: ast.Assign) -> str:
    return ast.unparse(ast.BinOp(left=ast.Name(id="a"), op=stmt.value.op,
                                 right=ast.Name(id="b")))[2:-2]


def _reads_values(value: ast.expr) -> bool:
    """Whether the reversal of ``value`` may read its operands' values (a subscript read or
    a copy needs only the index)."""
    return not isinstance(value, (ast.Name, ast.Subscript, ast.Constant, ast.Attribute))


def _later_writes(stmts: list[ast.stmt], owners: dict[str, set[str]]) -> dict[str, set[int]]:
    """For each name, the (ids of the) statements reading it that a store into memory the
    name may share follows: later in the same block or an enclosing one, or anywhere in an
    enclosing loop (the next iteration comes later)."""
    out: dict[str, set[int]] = {}

    def stores_in(block: list[ast.stmt]) -> set[str]:
        found: set[str] = set()
        for s in assignments(block):
            if is_store(s):
                found |= owners.get(target_name(s), {target_name(s)})
        return found

    def visit(block: list[ast.stmt], after: set[str]) -> None:
        tails = [set()]  # tails[k]: the stores in block[k + 1:], gathered once from the end
        for stmt in reversed(block[1:]):
            tails.append(tails[-1] | stores_in([stmt]))
        tails.reverse()
        for k, stmt in enumerate(block):
            later = after | tails[k]
            if isinstance(stmt, ast.If):
                visit(stmt.body, later)
                visit(stmt.orelse, later)
            elif isinstance(stmt, (ast.For, ast.While)):
                visit(stmt.body, later | stores_in(stmt.body))
            elif isinstance(stmt, ast.Assign) and not is_store(stmt):
                for atom in flat(operands(stmt.value)):
                    if isinstance(atom, ast.Name) and owners.get(atom.id, set()) & later:
                        out.setdefault(atom.id, set()).add(id(stmt))

    visit(stmts, set())
    return out
