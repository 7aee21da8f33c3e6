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
  of a local array, and a view read after such a store, are refused (``_check_views``)
  where :mod:`adcompile.views` did not turn the view's accesses into indexes of its array
  (a view rebound in a branch, of a parameter, indexed in a way that does not compose).
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
import operator
from collections.abc import Callable

import numpy

from . import kernels, rules
from .analyze import (
    Activity,
    _loads,
    array_like,
    assignments,
    flat,
    has_stores,
    is_store,
    operands,
    ranks_shown_by_tests,
    target_name,
)
from .calls import is_user_function
from .errors import AdcompileError
from .frontend import is_generated, parse_function
from .normalize import Normalized, normalize

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
           ast.MatMult: operator.matmul}
_UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}

#: functions whose result may share memory with their first argument
_VIEWS = (numpy.transpose, numpy.reshape, numpy.ravel, numpy.asarray, numpy.ascontiguousarray,
          numpy.squeeze, numpy.expand_dims, numpy.atleast_1d, numpy.atleast_2d,
          numpy.atleast_3d, numpy.swapaxes, numpy.moveaxis, numpy.broadcast_to,
          kernels.reshape, kernels.as_float)


def roots(norm: Normalized) -> dict[str, set[str]]:
    """For each name, the names owning memory it may share (itself included)."""
    info = norm.info
    out: dict[str, set[str]] = {p: {p} for p in info.params}
    stmts = [s for s in assignments(norm.stmts) if not is_store(s)]
    for stmt in stmts:
        out.setdefault(target_name(stmt), {target_name(stmt)})
    ranks = _known_ranks(info, stmts, norm.stmts)
    fancy = _index_arrays(info, stmts)
    changed = True
    while changed:
        changed = False
        for stmt in stmts:
            target = target_name(stmt)
            for source in _viewed(info, stmt.value, ranks, fancy):
                new = out.get(source, set()) - out[target]
                if new:
                    out[target] |= new
                    changed = True
    return out


def _known_ranks(info: object, stmts: list[ast.Assign], body: list[ast.stmt] | None = None
                 ) -> dict[str, int]:
    """Ranks known for sure: arrays made with a literal shape (``np.zeros((3, 2))``), and
    their copies under other versions (a name assigned anything else has no known rank);
    with the whole ``body``, also the ranks its tests show (``ranks_shown_by_tests``)."""
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
    shown = ranks_shown_by_tests(body) if body is not None else {}
    return {**shown, **{n: r for n, r in made.items() if n not in other}}


def _index_arrays(info: object, stmts: list[ast.Assign]) -> set[str]:
    """Names bound only to arrays of indexes or masks the function makes (``np.array((0,
    2))``, ``x > 0``): indexing with one makes a copy, not a view."""
    made: set[str] = set()
    other: set[str] = set()
    for stmt in stmts:
        value = stmt.value
        if isinstance(value, ast.Compare) or (
                isinstance(value, ast.Call) and value.args
                and isinstance(value.args[0], (ast.Tuple, ast.List))
                and info.resolve(value.func) in (numpy.array, numpy.asarray)):
            made.add(target_name(stmt))
        else:
            other.add(target_name(stmt))
    return made - other


def _viewed(info: object, value: ast.expr, ranks: dict[str, int],
            fancy: set[str] = frozenset()) -> list[str]:
    """The names ``value`` may be a view of (an element of an array of known rank, every
    index an integer, is a number, not a view, and so is a read by an array of indexes,
    ``fancy``, a copy; a call of a user function may return a view of the arguments it
    returns views of: ``def row(A): return A[0]``)."""
    if isinstance(value, ast.Name):
        return [value.id]
    if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        if (len(parts) == ranks.get(value.value.id, -1)
                and not any(isinstance(p, ast.Slice) for p in parts)) or any(
                isinstance(p, ast.Name) and p.id in fancy for p in parts):
            return []
        return [value.value.id]
    if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name):
        if any(info.resolve(value.func) is f for f in _VIEWS):
            return [value.args[0].id]
    if isinstance(value, ast.Call):
        func = info.resolve(value.func)
        if is_user_function(func) and not rules.has_rule(func):
            positions = _callee_views(func)
            return [a.id for k, a in enumerate(value.args)
                    if k in positions and isinstance(a, ast.Name)]
    return []


_CALLEE_VIEWS: dict[int, set[int]] = {}


def _callee_views(func: object) -> set[int]:
    """The positions of the parameters whose memory the result of a user function may
    share (it returns one of them, or a view of one)."""
    func = getattr(func, "py_func", func)
    key = id(func)
    if key not in _CALLEE_VIEWS:
        _CALLEE_VIEWS[key] = set()  # recursion is rejected elsewhere
        try:
            norm = normalize(parse_function(func))
        except AdcompileError:
            return set()  # (reported where the callee itself is generated)
        result = norm.result.id if isinstance(norm.result, ast.Name) else None
        owners = roots(norm).get(result, set()) if result is not None else set()
        _CALLEE_VIEWS[key] = {k for k, p in enumerate(norm.info.params) if p in owners}
    return _CALLEE_VIEWS[key]


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
            mine = variable(old, old)
            mem = owners.get(old, {old})  # names may share memory when their roots meet
            sharers = set(mem) | {n for n, r in owners.items() if r & mem and n in arrays}
            others = {variable(n, n) for n in sharers} - {mine}
            if getattr(stmt, "param_guard", False):
                # u *= 2.0 on a parameter: kept while u holds the caller's memory and is not
                # known to be an array (then it is refused below, at once)
                if old in arrays or not mem & params:
                    _drop_guard(norm, stmt)
                else:
                    continue
            elif getattr(stmt, "guard", None) is not None:
                # r = A[i] is a number or a view of A, as the types will tell: the guard
                # refuses a view at the first call where that changes an argument or a
                # value read afterwards, and is dropped elsewhere
                if not (others & params or others & {variable(n, n) for n in sharers
                                                     if n in _live_after(norm, stmt)}):
                    _drop_guard(norm, stmt)
                continue
            if old not in arrays:
                continue
            # (adcompile's own gradient helpers add into the adjoints their callers own and
            # rebind to the result, d_x = grad_h(..., d_x): the new array gives the same)
            if (others & params or old in params) and not is_generated(info.func):
                what = sorted(others & params or {old})[0]
                raise info.error(stmt, f"'{mine} {_op(stmt)}= ...' would change the argument "
                                 f"'{what}' in place, and so the caller's array",
                                 construct="augmented assignment to an argument",
                                 hint=f"write {mine} = {mine} {_op(stmt)} ... (a new array)")
            # the normalized form makes a new array: it differs from Python's in-place
            # update only for a name sharing the old memory that is read afterwards (a view
            # read before the update, pos[i] in a loop above it, sees the same values)
            live = _live_after(norm, stmt)
            seen = sorted({variable(n, n) for n in sharers if n in live} - {mine})
            if seen:
                user = [n for n in seen if n in info.names]
                what = (f"'{user[0]}', which shares its memory" if user else
                        "a view of it that is read afterwards")
                raise info.error(stmt, f"'{mine} {_op(stmt)}= ...' changes the array in "
                                 f"place, and with it {what}",
                                 construct="augmented assignment to a shared array",
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


def _drop_guard(norm: Normalized, stmt: ast.Assign) -> None:
    """Remove the ``number_only`` check the normalizer put before the augmented assignment
    ``stmt`` (``t = number_only(r); r_1 = t + v`` becomes ``r_1 = r + v``)."""
    guard = stmt.guard
    stmt.guard = None
    stmt.value.left = ast.Name(id=stmt.augmented, ctx=ast.Load())

    def remove(stmts: list[ast.stmt]) -> bool:
        for k, s in enumerate(stmts):
            if s is guard:
                del stmts[k]
                return True
            if any(remove(getattr(s, part, [])) for part in ("body", "orelse")):
                return True
        return False

    remove(norm.stmts)


def _live_after(norm: Normalized, target: ast.stmt) -> set[str]:
    """The names whose values may be read after ``target`` (a statement somewhere in the
    normalized body) before they are assigned again: liveness, loops to a fixed point."""
    found: list[set[str]] = []

    def block(stmts: list[ast.stmt], live: set[str]) -> set[str]:
        live = set(live)
        for stmt in reversed(stmts):
            if stmt is target:
                found.append(set(live))
            if isinstance(stmt, ast.Assign):
                if not is_store(stmt):
                    live.discard(target_name(stmt))
                live |= _loads(stmt)
            elif isinstance(stmt, ast.If):
                live = block(stmt.body, live) | block(stmt.orelse, live) | _loads(stmt.test)
            elif isinstance(stmt, (ast.For, ast.While)):
                head = _loads(stmt.test) if isinstance(stmt, ast.While) else _loads(stmt.iter)
                out = set(live)
                while True:  # what one iteration reads of the next ones' values
                    new = live | block(stmt.body, out) | head
                    if new == out:
                        break
                    out = new
                live = out - ({stmt.target.id} if isinstance(stmt, ast.For) else set())
            else:
                live |= _loads(stmt)
        return live

    block(norm.stmts, _loads(norm.result))
    return set().union(*found)


def snapshot(norm: Normalized, act: Activity, bind: Callable[[str, object], str]) -> None:
    """Make active operations read copies of arrays that a later store changes (see the
    module docstring).  ``bind`` gives the module-level name of the ``snapshot`` kernel.

    A loop without stores is recomputed by its reversal, after whatever stores follow it:
    the arrays it reads from outside are copied once before it (``A_seen = snapshot(A)``)
    and the loop reads the copies.  Elsewhere the operation itself reads a copy taken just
    before it, when the reversal reads the operand's value (``np.sum(A * x)`` reads ``A``
    for ``x``'s adjoint; ``A + x`` reads neither).  An operation whose reversal reads its
    own result (``B = np.tanh(v)``: ``1 - B * B``) before a store into it (``B[0] = B[0] *
    2``) makes a value of its own, and the name is a copy of it (``B = snapshot(B_seen)``)."""
    changes = sharing(norm)
    names = norm.names
    func: list[str] = []

    def copy_of(name: str, lineno: int) -> tuple[str, ast.Assign]:
        if not func:
            func.append(bind("snapshot", kernels.snapshot))
            norm.info.bindings[func[0]] = kernels.snapshot
        new = names.fresh(f"{name}_seen")
        for group in (act.varied, act.useful, act.arrays):
            if name in group:
                group.add(new)
        return new, ast.Assign(targets=[ast.Name(id=new, ctx=ast.Store())],
                               value=ast.Call(func=ast.Name(id=func[0], ctx=ast.Load()),
                                              args=[ast.Name(id=name, ctx=ast.Load())],
                                              keywords=[]),
                               lineno=lineno)

    for stmt, name, where in reversed(_later_writes(norm, act, changes)):
        lineno = getattr(stmt, "lineno", 1)
        if name is None:  # the reversal reads the result (tanh: 1 - ans²), which a later
            # store changes: the operation makes a value of its own, the name a copy of it
            target = target_name(stmt)
            made, copy = copy_of(target, lineno)
            stmt.targets[0] = ast.Name(id=made, ctx=ast.Store())
            copy.targets[0], copy.value.args[0] = (ast.Name(id=target, ctx=ast.Store()),
                                                   ast.Name(id=made, ctx=ast.Load()))
            where.insert(next(k for k, s in enumerate(where) if s is stmt) + 1, copy)
            continue
        new, copy = copy_of(name, lineno)
        where.insert(next(k for k, s in enumerate(where) if s is stmt), copy)
        if isinstance(stmt, ast.Assign):
            parts: list[ast.AST] = [stmt.value]
        else:  # a loop without stores reads the copy throughout
            parts = [stmt.test if isinstance(stmt, ast.While) else stmt.iter, *stmt.body]
        for node in (n for part in parts for n in ast.walk(part)):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx,
                                                                            ast.Load):
                node.id = new


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
    sharing(norm, owners, stmts)


def sharing(norm: Normalized, owners: dict[str, set[str]] | None = None,
            stmts: list[ast.Assign] | None = None) -> dict[int, set[str]]:
    """Run the program-order analysis of shared memory (refusing stale reads); for each
    store (by id), the names whose memory it may change: its target and every name sharing
    memory with the target when it runs."""
    stmts = list(assignments(norm.stmts)) if stmts is None else stmts
    owners = roots(norm) if owners is None else owners
    made = [s for s in stmts if not is_store(s)]
    analysis = _Sharing(norm, array_like(norm, stmts),
                        _known_ranks(norm.info, made, norm.stmts), owners,
                        _index_arrays(norm.info, made))
    analysis.block(norm.stmts, _State())
    return analysis.changes


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
                 owners: dict[str, set[str]], fancy: set[str]) -> None:
        self.norm, self.arrays, self.ranks, self.owners = norm, arrays, ranks, owners
        self.fancy = fancy
        self.changes: dict[int, set[str]] = {}

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
            self.changes.setdefault(id(stmt), {array}).update(state.shared.get(array, ()))
            return
        self.read(stmt, [stmt.value], state)
        name = target.id
        partners: set[str] = set()
        if name in self.arrays:
            for source in _viewed(self.norm.info, stmt.value, self.ranks, self.fancy):
                partners |= ({source} | state.shared.get(source, frozenset())) - {name}
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
                             hint=f"write into '{mine}' itself, e.g. {mine}[i, j] = ..., or "
                             f"bind '{base}' once, outside branches, to integers and slices "
                             f"of '{mine}' that do not change while '{base}' is used, and "
                             f"index it by slices, integers known not to be negative or "
                             f"negative literals (then its writes reach '{mine}')")
        if name in self.norm.variables:
            what = f"'{mine}' is a view of '{base}', which was written after '{mine}' was taken"
            hint = f"take a copy ({mine} = {base}[...].copy()) or take the view after the write"
        else:  # a temporary: y[j], y[j + 1] = y[j + 1], y[j]
            what = (f"a value read from '{base}' (a view, if it is a row) is used after "
                    f"'{base}' was written")
            hint = "read a copy (.copy()) of each row, or read it after the write"
        if written not in self.ranks:  # y[j] may be a row: the rank of y is not known
            hint += (f"; if '{base}' is a vector, its elements are numbers, not views: make "
                     f"its rank known, as in {base} = np.zeros(n); {base}[:] = ...")
        raise info.error(stmt, f"{what}: the value read here changed under it",
                         construct="a view read after its base was written", hint=hint)


def _op(stmt: ast.Assign) -> str:
    return ast.unparse(ast.BinOp(left=ast.Name(id="a"), op=stmt.value.op,
                                 right=ast.Name(id="b")))[2:-2]


def _later_writes(norm: Normalized, act: Activity, changes: dict[int, set[str]]
                  ) -> list[tuple[ast.stmt, str | None, list[ast.stmt]]]:
    """The reads that must see a copy: ``(statement, name, block holding the statement)``,
    in program order.  The statement is an operation whose reversal reads the name's value
    or its own result (the name is then None: ``B = np.tanh(v)`` reads ``B``), or a loop
    without stores reading the name from outside; a store that may change the name's memory
    (``changes``: for each store, the names it may change) follows it: later in the same
    block, or in an enclosing block, or anywhere in an enclosing loop (the next iteration).
    A value made in a loop that writes arrays is taped at the end of its iteration: stores
    after that do not matter to it."""
    out: list[tuple[ast.stmt, str | None, list[ast.stmt]]] = []
    info = norm.info

    def stores_in(block: list[ast.stmt]) -> set[str]:
        found: set[str] = set()
        for s in assignments(block):
            if is_store(s):
                found |= changes.get(id(s), {target_name(s)})
        return found

    def changed(name: str, later: set[str], frames: list[tuple[set[str], set[str]]]) -> bool:
        if name in later:
            return True
        for local, beyond in reversed(frames):
            if name in local:
                return False
            if name in beyond:
                return True
        return False

    def visit(block: list[ast.stmt], after: set[str],
              frames: list[tuple[set[str], set[str]]]) -> None:
        tails = [set()]  # tails[k]: the stores in block[k + 1:], gathered once from the end
        for stmt in reversed(block[1:]):
            tails.append(tails[-1] | stores_in([stmt]))
        tails.reverse()
        for k, stmt in enumerate(block):
            later = after | tails[k]
            if isinstance(stmt, ast.If):
                visit(stmt.body, later, frames)
                visit(stmt.orelse, later, frames)
            elif isinstance(stmt, (ast.For, ast.While)) and not has_stores(stmt.body):
                inside = _assigned(stmt.body) | (
                    {stmt.target.id} if isinstance(stmt, ast.For) else set())
                read = sorted({n.id for s in stmt.body for n in ast.walk(s)
                               if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                               and n.id in act.arrays and n.id not in inside})
                out.extend((stmt, name, block) for name in read
                           if changed(name, later, frames))
            elif isinstance(stmt, (ast.For, ast.While)):
                local = _assigned(stmt.body) - set(stmt.carried)
                visit(stmt.body, set(), [*frames, (local, later | stores_in(stmt.body))])
            elif isinstance(stmt, ast.Assign) and not is_store(stmt) and (
                    target_name(stmt) in act.active):
                seen: set[str] = set()
                for atom in _values_read(info, stmt.value, act):
                    if atom not in seen and changed(atom, later, frames):
                        seen.add(atom)
                        out.append((stmt, atom, block))
                if _reads_result(info, stmt.value, act) and changed(target_name(stmt), later,
                                                                    frames):
                    out.append((stmt, None, block))

    visit(norm.stmts, set(), [])
    return out


def _assigned(stmts: list[ast.stmt]) -> set[str]:
    return {target_name(s) for s in assignments(stmts) if not is_store(s)} | {
        n.target.id for s in stmts for n in ast.walk(s) if isinstance(n, ast.For)}


def _values_read(info: object, value: ast.expr, act: Activity) -> list[str]:
    """The operands of ``value`` whose values its reversal may read: an operand appears in
    the rule's contribution to an active argument (``a + b`` reads neither, ``a * b`` reads
    ``a`` for ``b``'s adjoint); every operand of a call without a known rule."""
    return _read_by_rule(info, value, act)[0]


def _reads_result(info: object, value: ast.expr, act: Activity) -> bool:
    """Whether the reversal of ``value`` reads the value it makes (``tanh``, ``exp``)."""
    return _read_by_rule(info, value, act)[1]


def _read_by_rule(info: object, value: ast.expr, act: Activity) -> tuple[list[str], bool]:
    """``(operands read, whether the result is read)`` by the reversal of ``value``."""
    if isinstance(value, (ast.Name, ast.Subscript, ast.Constant, ast.Attribute)):
        return [], False
    args = operands(value)
    if isinstance(value, ast.BinOp):
        primal = _BINOPS.get(type(value.op))
    elif isinstance(value, ast.UnaryOp):
        primal = _UNARYOPS.get(type(value.op))
    elif isinstance(value, ast.Call):
        primal = info.resolve(value.func)
    else:
        primal = None
    rule = rules.lookup(primal, len(args)) if primal is not None else None
    names = [a.id for a in flat(args) if isinstance(a, ast.Name)]
    if rule is None or any(isinstance(a, ast.Tuple) for a in args):
        return names, False
    body = rule.body()
    parts = body.elts if isinstance(body, ast.Tuple) and rule.nargs > 1 else [body]
    used: set[str] = set()
    for j, arg in enumerate(args):
        if j < len(parts) and act.is_active(arg):
            used |= {n.id for n in ast.walk(parts[j]) if isinstance(n, ast.Name)}
    params = rule.params[2:]
    return ([a.id for j, a in enumerate(args) if isinstance(a, ast.Name)
             and j < len(params) and params[j] in used], rule.params[1] in used)
