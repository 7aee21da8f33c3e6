"""Reverse mode: from the normalized body to the gradient function.

The generated function runs the forward sweep (only what the backward sweep reads), seeds the
adjoint of the result with ``1.0``, then walks the normalized statements backwards.  For each
active statement ``y = op(a, b)`` it instantiates the rule of ``op`` with ``g = d_y``,
``ans = y`` and the arguments, and adds each contribution to ``d_a``/``d_b``: the chain rule,
one step per line, under a comment that shows the primal line it comes from.

Control flow: an ``if`` is reversed as an ``if`` on the same (still available) condition.  A
loop is reversed as a loop over the same iterations in reverse order; each reversed iteration
restores the loop-carried values the backward sweep needs from a tape (one preallocated array
per carried value, filled by the forward sweep), recomputes the iteration's intermediate
values, then runs the iteration's adjoint statements.  Values that are not overwritten are
never taped, and branch decisions are recomputed rather than stored.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import types
from dataclasses import dataclass, field

import numpy

from . import kernels, kernels_shapes, rules, stack, sums
from .alias import _known_ranks, roots
from .analyze import (
    Activity,
    _elementwise,
    assignments,
    callee_arrays,
    flat,
    has_stores,
    integer_names,
    is_store,
    operands,
    passes_derivative,
    prune,
    target_name,
)
from .build import assign as _assign
from .build import call as _call
from .build import const as _const
from .build import name as _name
from .calls import Callees, is_user_function
from .names import NameGen, Namespace
from .normalize import _REDUCTIONS, Normalized
from .render import comment, function_def
from .simplify import expand_literal_powers, literal, simplify
from .tape import Recorder, Tape, stack_slot
from .trees import copy_tree

BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
          ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod,
          ast.FloorDiv: operator.floordiv, ast.MatMult: operator.matmul}
UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


def defined(stmts: list[ast.stmt]) -> set[str]:
    """Names assigned anywhere in ``stmts`` (loop targets included; not arrays written into)."""
    out = {s.targets[0].id for s in assignments(stmts) if not is_store(s)}
    for node in stmts:
        for n in ast.walk(node):
            if isinstance(n, ast.For):
                out.add(n.target.id)
    return out


@dataclass
class _Reverser(Recorder):
    norm: Normalized
    act: Activity
    ns: Namespace
    names: NameGen
    count_tape: str | None = None
    callees: Callees | None = None
    adjoints: dict[str, str] = field(default_factory=dict)
    live: set[str] = field(default_factory=set)
    #: array adjoints known to own their memory (safe to update in place)
    owned: set[str] = field(default_factory=set)
    tapes: dict[int, Tape] = field(default_factory=dict)
    #: names known to hold integers (indices that cannot be index arrays)
    integers: set[str] | None = None
    #: whether the loop being reversed lies inside a loop that writes into arrays
    in_store_all: bool = False
    #: name -> the values assigned to it (for number_kind)
    values: dict[str, list[ast.expr]] | None = None
    #: names whose memory no store writes into (see replayable)
    unwritten: set[str] | None = None
    #: ranks of arrays made with a literal shape (see is_element)
    ranks: dict[str, int] | None = None
    #: name -> times it occurs, '=name' -> times it is assigned (see read_once)
    reads: dict[str, int] | None = None
    #: the ``for`` loops being recorded around the current one (see Recorder.hint)
    around: list[tuple[ast.expr, ast.expr]] = field(default_factory=list)
    #: ids of the stores whose element's adjoint nothing reads after their reversal
    #: (see first_writes)
    first: set[int] | None = None
    #: per loop being reversed, innermost last: the array adjoints live before it, each
    #: with the name of its pool once the reversed body zeros it (see zero)
    pools: list[dict[str, str | None]] = field(default_factory=list)

    # -- adjoints -----------------------------------------------------------------------------

    def adjoint(self, name: str) -> str:
        if name not in self.adjoints:
            self.adjoints[name] = self.names.fresh(f"d_{name}")
        return self.adjoints[name]

    def may_be_array(self, name: str) -> bool:
        return name in self.act.arrays

    def kernel(self, name: str) -> str:
        """The module-level name of the helper ``kernels.<name>`` (or ``stack.<name>``)."""
        return self.ns.bind(name, getattr(kernels, name, None) or getattr(stack, name))

    def zero(self, name: str) -> ast.Assign:
        if name not in self.act.arrays:
            return _assign(self.adjoint(name), _const(0.0))
        self.owned.add(name)
        pools = self.pools[-1] if self.pools else {}
        if name not in pools:
            return _assign(self.adjoint(name), _call(self.kernel("zeros_like"), _name(name)))
        # once per iteration of the loop being reversed: zeros in an array of an earlier
        # iteration that no adjoint still read holds (stack.recycled), not a new array
        pool = pools[name] = pools[name] or self.names.fresh(f"{self.adjoint(name)}_pool")
        live = ast.Tuple(elts=[_name(self.adjoint(n)) for n in sorted(self.live)
                               if n in self.act.arrays and n != name], ctx=ast.Load())
        return ast.Assign(targets=[ast.Tuple(elts=[_name(self.adjoint(name), True),
                                                   _name(pool, True)], ctx=ast.Store())],
                          value=_call(self.kernel("recycled"), _name(pool), _name(name), live))

    def ensure_live(self, names: set[str]) -> list[ast.stmt]:
        out = []
        for name in sorted(names - self.live):
            out.append(self.zero(name))
            self.live.add(name)
        return out

    def own(self, name: str, out: list[ast.stmt]) -> None:
        """Make the adjoint array of ``name`` one that may be written in place."""
        out.extend(self.ensure_live({name}))
        if name not in self.owned:
            d = self.adjoint(name)
            out.append(_assign(d, ast.Call(func=ast.Attribute(value=_name(d), attr="copy",
                                                              ctx=ast.Load()),
                                           args=[], keywords=[])))
            self.owned.add(name)

    def accumulate(self, name: str, value: ast.expr, out: list[ast.stmt],
                   index: ast.expr | None = None, element: bool = False) -> None:
        """Add ``value`` to the adjoint of ``name`` (of its ``index``, a number there when
        ``element``)."""
        d = self.adjoint(name)
        if index is not None:  # an element (or slice) of an array adjoint
            self.own(name, out)
            if not self.plain_index(index):  # an index array may repeat an index
                out.append(_assign(d, _call(self.kernel("add_at"), _name(d),
                                            _slices_as_values(index), value)))
                return
            target = ast.Subscript(value=_name(d), slice=index, ctx=ast.Store())
            update = ast.AugAssign(target=target, op=ast.Add(), value=value)
            out.append(update if _has_slice(index) else sums.mark(
                update, self.is_element(name, index) if element else None))
            return
        if name not in self.live:
            self.live.add(name)
            out.append(_assign(d, value))
            if name in self.act.arrays:
                (self.owned.add if _fresh(value) else self.owned.discard)(name)
        elif name in self.act.arrays and name not in self.owned:
            # not in place: the adjoint may share its array with another one
            out.append(_assign(d, ast.BinOp(left=_name(d), op=ast.Add(), right=value)))
            self.owned.add(name)
        else:
            update = ast.AugAssign(target=_name(d, True), op=ast.Add(), value=value)
            out.append(update if name in self.act.arrays else sums.number_sum(update))

    def is_element(self, array: str, index: ast.expr) -> bool:
        """Whether ``array[index]`` is surely one element: integer indices, as many as the
        array's rank where that is known (``y = np.zeros(n)``; ``A[i]`` of a matrix is a
        row)."""
        if self.ranks is None:
            self.ranks = _known_ranks(self.norm.info, [s for s in assignments(self.norm.stmts)
                                                       if not is_store(s)])
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        return (len(parts) == self.ranks.get(array, -1)
                and not any(isinstance(p, ast.Slice) for p in parts)
                and self.plain_index(index))

    def plain_index(self, index: ast.expr) -> bool:
        """Whether ``index`` is made of integers and slices only (``d[index] += g`` then
        adds once per element; an index array may name an element twice)."""
        if self.integers is None:
            self.integers = integer_names(self.norm)
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        return all(isinstance(p, ast.Slice) or (isinstance(p, ast.Constant)
                                                and type(p.value) is int)
                   or (isinstance(p, ast.Name) and p.id in self.integers) for p in parts)

    def contributed(self, stmts: list[ast.stmt]) -> set[str]:
        """Names whose adjoints the reversal of ``stmts`` adds to."""
        out = set()
        active = self.act.active  # once: it is an intersection of two sets
        for stmt in assignments(stmts):
            if target_name(stmt) in active:
                value = stmt.value
                reads = [value.value] if isinstance(value, ast.Subscript) else flat(
                    operands(value))
                out.update(a.id for a in reads if self.act.is_active(a))
            if is_store(stmt):
                out.add(target_name(stmt))
        return out

    # -- statements ---------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        stores, skipped = self.accumulations(stmts)
        for stmt in reversed(stmts):
            if id(stmt) in skipped:
                continue
            if id(stmt) in stores:
                out.extend(self.accumulating_store(stmt, stores[id(stmt)]))
            elif isinstance(stmt, ast.Assign):
                out.extend(self.assignment(stmt))
            elif isinstance(stmt, ast.If):
                out.extend(self.if_statement(stmt))
            elif isinstance(stmt, (ast.For, ast.While)):
                out.extend(self.loop(stmt))
        return out

    def store(self, stmt: ast.Assign) -> list[ast.stmt]:
        """``y[i] = v``: ``v`` takes the element's adjoint, which is then cleared."""
        array = target_name(stmt)
        if not self.act.is_active(stmt.targets[0].value) or array not in self.live:
            return []
        out: list[ast.stmt] = [comment(ast.unparse(stmt))]
        index = stmt.targets[0].slice
        element = ast.Subscript(value=_name(self.adjoint(array)), slice=copy.deepcopy(index),
                                ctx=ast.Load())
        if not self.plain_index(index):  # an index array may name an element twice
            element = _call(self.ns.bind("last_written", kernels_shapes.last_written),
                            _name(self.adjoint(array)), _slices_as_values(index))
        value = stmt.value
        if self.act.is_active(value):
            # a copy (the element may be a row, a view of the adjoint that is cleared next),
            # and zero for an integer array (a store into it truncates)
            witness = _name(array)  # for its dtype only: its values are never read
            witness.type_only = True
            part: ast.expr = _call(self.kernel("stored_adjoint"), element, witness)
            if not self.is_element(array, index):
                # a scalar (or a smaller array) stored into a slice or a row is broadcast
                part = _call(self.kernel("unbroadcast"), part, _name(value.id))
            self.accumulate(value.id, part, out)
        if self.first is None:
            self.first = set()
            self.first_writes(self.norm.stmts)
        if id(stmt) in self.first:  # nothing reads the element's adjoint from here on
            return out
        self.own(array, out)
        out.append(_assign(ast.Subscript(value=_name(self.adjoint(array)),
                                         slice=copy.deepcopy(index), ctx=ast.Store()),
                           _const(0.0)))
        return out

    def first_writes(self, block: list[ast.stmt]) -> None:
        """Collect in ``self.first`` the stores of ``block`` (and of the blocks inside)
        that are the first write of their element into an array made just before: ``v =
        np.zeros(n)``, then, with no other mention of ``v`` in between, either ``v[k] = e``
        or a statement whose only mention of ``v`` is one store ``v[i, j] = e`` under ``for``
        loops (and branches) whose indices are all parts of the index, so that no two
        iterations write one element.  The element then held a constant before the store
        and nothing read it: its adjoint needs no clearing after the store's reversal, as
        nothing reads it again (the reversal of ``v = np.zeros(n)`` ends ``d_v``)."""
        for p, stmt in enumerate(block):
            for inner in _blocks(stmt):
                self.first_writes(inner)
            if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                    and self.float_allocation(stmt.value)):
                continue
            array = stmt.targets[0].id
            for later in block[p + 1:]:
                mentions = [n for n in ast.walk(later)
                            if isinstance(n, ast.Name) and n.id == array]
                if not mentions:
                    continue
                if len(mentions) == 1:
                    store = _only_store(later, array, [])
                    if store is not None:
                        target, loops = store
                        parts = (target.targets[0].slice.elts
                                 if isinstance(target.targets[0].slice, ast.Tuple)
                                 else [target.targets[0].slice])
                        names = {x.id for x in parts if isinstance(x, ast.Name)}
                        if self.plain_index(target.targets[0].slice) and all(
                                lp.target.id in names
                                and lp.target.id not in defined(lp.body) for lp in loops):
                            self.first.add(id(target))
                break

    def float_allocation(self, value: ast.expr) -> bool:
        """Whether ``value`` is ``np.zeros/ones/empty(...)`` (float64) or ``np.full(shape,
        <float>)``: a new float array."""
        if not isinstance(value, ast.Call) or value.keywords:
            return False
        func = self.norm.info.resolve(value.func)
        return func in (numpy.zeros, numpy.ones, numpy.empty) and len(value.args) == 1 or (
            func is numpy.full and len(value.args) == 2
            and isinstance(value.args[1], ast.Constant) and type(value.args[1].value) is float)

    def accumulations(self, stmts: list[ast.stmt]
                      ) -> tuple[dict[int, tuple[ast.expr, bool]], set[int]]:
        """The in-place sums ``A[idx] += e`` (or ``-= e``) of ``stmts`` (normalized to
        ``t1 = A[idx]``, ``t2 = t1 + e``, ``A[idx] = t2``; ``t1`` and ``t2`` read nowhere
        else, neither ``A`` nor the index touched in between) into an element of a float
        array made here: store -> (``e``, whether subtracted), and the load and the sum,
        whose reversal the store's reversal does.  The
        element's adjoint passes through such a sum unchanged: the reversal reads it into
        ``d_e`` and neither clears nor adds to it (no chain of stores and loads through one
        element, as ``acc[i] += ...`` in an inner loop would otherwise make)."""
        stores: dict[int, tuple[ast.expr, bool]] = {}
        skipped: set[int] = set()
        if not any(is_store(s) for s in stmts):
            return stores, skipped
        where = {s.targets[0].id: k for k, s in enumerate(stmts)
                 if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)}
        for k, store in enumerate(stmts):
            if not (is_store(store) and isinstance(store.value, ast.Name)
                    and isinstance(store.targets[0].value, ast.Name)):
                continue
            array, index = store.targets[0].value.id, store.targets[0].slice
            total = store.value.id
            j = where.get(total, k)
            add = stmts[j]
            if j >= k or not (isinstance(add.value, ast.BinOp)
                              and isinstance(add.value.op, (ast.Add, ast.Sub))):
                continue
            orders = [(add.value.left, add.value.right)]
            if isinstance(add.value.op, ast.Add):
                orders.append((add.value.right, add.value.left))
            for loaded, addend in orders:
                i = where.get(loaded.id, k) if isinstance(loaded, ast.Name) else k
                load = stmts[i]
                if (i < j and isinstance(load.value, ast.Subscript)
                        and isinstance(load.value.value, ast.Name)
                        and load.value.value.id == array
                        and ast.dump(load.value.slice) == ast.dump(index)
                        and isinstance(addend, (ast.Name, ast.Constant))
                        and getattr(addend, "id", None) != array
                        and self.is_element(array, index) and self.float_made(array)
                        and self.read_once(loaded.id) and self.read_once(total)
                        and self.untouched(array, index, [s for n, s in enumerate(stmts)
                                                          if i < n < k and n != j])
                        and not (isinstance(addend, ast.Name)
                                 and addend.id in defined(stmts[j + 1:k]))):
                    stores[id(store)] = (addend, isinstance(add.value.op, ast.Sub))
                    skipped.update((id(load), id(add)))
                    break
        return stores, skipped

    def accumulating_store(self, stmt: ast.Assign, sum_: tuple[ast.expr, bool]
                           ) -> list[ast.stmt]:
        """The reversal of ``A[idx] += e`` or ``-= e`` (see ``accumulations``): ``d_e``
        takes the element's adjoint (negated), which stays as it is."""
        addend, subtracted = sum_
        array = target_name(stmt)
        if not self.act.is_active(stmt.targets[0].value) or array not in self.live:
            return []
        index = stmt.targets[0].slice
        element = ast.Subscript(value=_name(array), slice=index, ctx=ast.Load())
        op = "-=" if subtracted else "+="
        out: list[ast.stmt] = [comment(f"{ast.unparse(element)} {op} {ast.unparse(addend)}")]
        if isinstance(addend, ast.Name) and self.act.is_active(addend):
            part: ast.expr = ast.Subscript(value=_name(self.adjoint(array)),
                                           slice=copy.deepcopy(index), ctx=ast.Load())
            if subtracted:
                part = ast.UnaryOp(op=ast.USub(), operand=part)
            self.accumulate(addend.id, part, out)
        return out if len(out) > 1 else []

    def float_made(self, array: str) -> bool:
        """Whether every value of ``array`` is made here by ``np.zeros``, ``np.ones``,
        ``np.empty`` (float64: ``dtype=`` is refused) or ``np.full`` with a float."""
        if array in self.norm.info.params:
            return False
        values = [s.value for s in assignments(self.norm.stmts)
                  if not is_store(s) and s.targets[0].id == array]
        resolve = self.norm.info.resolve
        return bool(values) and all(
            isinstance(v, ast.Call) and (
                resolve(v.func) in (numpy.zeros, numpy.ones, numpy.empty)
                or (resolve(v.func) is numpy.full and len(v.args) == 2
                    and isinstance(v.args[1], ast.Constant)
                    and type(v.args[1].value) is float))
            for v in values)

    def read_once(self, name: str) -> bool:
        """Whether ``name`` is assigned once and read once in the whole function (the
        returned value counts as a read)."""
        if self.reads is None:
            self.reads = {}
            for stmt in [*self.norm.stmts, ast.Expr(value=self.norm.result)]:
                for node in ast.walk(stmt):
                    if isinstance(node, ast.Name):
                        self.reads[node.id] = self.reads.get(node.id, 0) + 1
                    elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                        key = f"={node.targets[0].id}"
                        self.reads[key] = self.reads.get(key, 0) + 1
        assigned = self.reads.get(f"={name}", 0)
        return assigned == 1 and self.reads.get(name, 0) - assigned == 1

    def untouched(self, array: str, index: ast.expr, stmts: list[ast.stmt]) -> bool:
        """Whether ``stmts`` neither read nor write ``array`` nor assign a name of
        ``index``."""
        index_names = {n.id for n in ast.walk(index) if isinstance(n, ast.Name)}
        for stmt in stmts:
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and n.id == array:
                    return False
        return not (defined(stmts) & index_names)

    def assignment(self, stmt: ast.Assign) -> list[ast.stmt]:
        if is_store(stmt):
            return self.store(stmt)
        target = stmt.targets[0].id
        if not self.act.is_active(stmt.targets[0]) or target not in self.live:
            return []
        if not passes_derivative(self.norm, stmt.value):
            # y = np.zeros_like(x): y's adjoint (from later writes) stops here
            self.live.discard(target)
            self.owned.discard(target)
            return []
        out: list[ast.stmt] = [comment(ast.unparse(stmt))]
        g = _name(self.adjoint(target))
        value = stmt.value
        self.live.discard(target)  # the value before this assignment is another value
        owned = target in self.owned
        self.owned.discard(target)
        if isinstance(value, ast.Name):  # a copy
            if self.act.is_active(value):
                fresh = value.id not in self.live
                self.accumulate(value.id, g, out)
                if owned and fresh and value.id in self.act.arrays:
                    # d_u = d_v where d_v owned its array and is dead from here: d_u owns it
                    self.owned.add(value.id)
        elif isinstance(value, ast.Subscript):
            if self.act.is_active(value.value):
                self.accumulate(value.value.id, g, out, index=copy.deepcopy(value.slice),
                                element=target not in self.act.arrays)
        else:
            args = operands(value)
            active = [i for i, a in enumerate(args) if self.act.is_active(a)
                      or (isinstance(a, ast.Tuple) and any(map(self.act.is_active, flat([a]))))]
            if active and self.is_call_to_differentiate(value):
                if any(isinstance(args[i], ast.Tuple) for i in active):
                    raise self.norm.info.error(
                        stmt, "a tuple holding differentiated values cannot be passed to "
                        f"{ast.unparse(value.func)}() yet", construct="a tuple argument",
                        hint="pass each value as an argument of its own")
                self.user_call(stmt, g, args, active, out)
            else:
                # operands that are names may have other shapes than the result (literals
                # cannot): their contributions are summed over broadcast axes
                broadcast = (target in self.act.arrays and _elementwise(self.norm.info, value)
                             and len({a.id for a in args if isinstance(a, ast.Name)}) > 1)
                # a contribution assigned to a fresh adjoint names its value for the later
                # ones: x / y gives d_x = g / y, then d_y = -d_x * ans (one division)
                named: list[tuple[ast.expr, str]] = []
                for i, expr in _merge_twins(self.contributions(stmt, g, args, active),
                                            args).items():
                    expr = simplify(expr)
                    if isinstance(args[i], ast.Tuple):
                        self.unpack(stmt, args[i], expr, out)
                        continue
                    for shared, adjoint in named:
                        expr = _reuse(expr, shared, adjoint)
                    if broadcast:
                        expr = _call(self.kernel("unbroadcast"), expr, _name(args[i].id))
                    elif (args[i].id not in self.live and not isinstance(expr, ast.Name)
                          and sum(isinstance(a, ast.Name) and a.id == args[i].id
                                  for a in args) == 1):
                        named.append((copy_tree(expr), self.adjoint(args[i].id)))
                    self.accumulate(args[i].id, expr, out)
        return out if len(out) > 1 else []

    def unpack(self, stmt: ast.Assign, elements: ast.Tuple, parts: ast.expr,
               out: list[ast.stmt]) -> None:
        """A rule's contribution to a tuple argument is a tuple, one part per element:
        ``d_x_t3, d_y_t3 = split_along(d_t3, (x, y), 0)``, then each active element takes
        its part."""
        for element in elements.elts:
            if isinstance(element, ast.Tuple) and any(map(self.act.is_active,
                                                          flat([element]))):
                raise self.norm.info.error(
                    stmt, "a nested tuple (or list) of differentiated values is not "
                    "supported here", construct="a nested tuple argument",
                    hint="build the rows first (r0 = np.array((a, b))), then stack them")
        target = stmt.targets[0].id
        names = [self.names.fresh(f"d_{e.id}_{target}" if isinstance(e, ast.Name)
                                  else f"d_{target}_part") for e in elements.elts]
        out.append(_assign(ast.Tuple(elts=[_name(n, True) for n in names], ctx=ast.Store()),
                           parts))
        for element, part in zip(elements.elts, names, strict=True):
            if self.act.is_active(element):
                self.accumulate(element.id, _name(part), out)

    def is_call_to_differentiate(self, value: ast.expr) -> bool:
        if not isinstance(value, ast.Call) or self.callees is None:
            return False
        target = self.norm.info.resolve(value.func)
        return is_user_function(target) and rules.lookup(target, len(value.args)) is None

    def user_call(self, stmt: ast.Assign, g: ast.expr, args: list[ast.expr],
                  active: list[int], out: list[ast.stmt]) -> None:
        """``t = f(a, b)``: the adjoints of the active arguments from ``f``'s helper."""
        value = stmt.value
        callee = self.norm.info.resolve(value.func)
        # a result that is an array here though nothing in the callee says so (dV(q, lam)
        # returning q + lam * q ** 3): the callee's adjoints are summed to its parameters'
        array_result = (stmt.targets[0].id in self.act.arrays
                        and not callee_arrays(callee)[1])
        helper = self.callees.request(callee, active, self.ns.taken | set(self.ns.bindings),
                                      array_result)
        # adjoints of array arguments are passed in and updated in place by the helper
        in_place = [i for i in active if i in callee_arrays(callee)[0]]
        for i in in_place:
            self.own(args[i].id, out)
        extra = [_name(self.adjoint(args[i].id)) for i in in_place]
        call = ast.Call(func=_name(helper), args=[*copy.deepcopy(args), g, *extra],
                        keywords=[])
        if len(active) == 1:
            if in_place:
                out.append(_assign(self.adjoint(args[active[0]].id), call))
            else:
                self.accumulate(args[active[0]].id, call, out)
            return
        parts = [self.adjoint(args[i].id) if i in in_place
                 else self.names.fresh(f"d_{args[i].id}_{callee.__name__}") for i in active]
        out.append(_assign(ast.Tuple(elts=[_name(p, True) for p in parts], ctx=ast.Store()),
                           call))
        for i, part in zip(active, parts, strict=True):
            if i not in in_place:
                self.accumulate(args[i].id, _name(part), out)

    def contributions(self, stmt: ast.Assign, g: ast.expr, args: list[ast.expr],
                      active: list[int]) -> dict[int, ast.expr]:
        if not active:
            return {}
        info = self.norm.info
        value = stmt.value
        if isinstance(value, ast.BinOp):
            primal, what = BINOPS.get(type(value.op)), f"the operator {_op_text(value)}"
            if isinstance(value.op, ast.Div) and literal(value.left) == 1:
                # 1 / y: the reciprocal, whose derivative needs no second division
                primal, args = numpy.reciprocal, [value.right]
                active = [0] if 1 in active else []
                exprs = instantiate(rules.lookup(primal, 1), g, _name(stmt.targets[0].id),
                                    args, self.ns, active)
                return {1: exprs[0]} if active else {}
        elif isinstance(value, ast.UnaryOp):
            primal, what = UNARYOPS.get(type(value.op)), f"the operator {_op_text(value)}"
        else:
            assert isinstance(value, ast.Call)
            primal, what = info.resolve(value.func), f"'{ast.unparse(value.func)}'"
        rule = rules.lookup(primal, len(args))
        if rule is None:
            callee = ast.unparse(value.func) if isinstance(value, ast.Call) else "..."
            known = rules.arities(primal)
            register = (f"register its derivative: @adcompile.derivative({callee}) on a rule "
                        "def rule(g, ans, x, ...): return g * ... (see docs/rules.md)")
            if primal in _REDUCTIONS:
                hint = (f"write {callee}(x), {callee}(x, axis) or {callee}(x, axis=..., "
                        "keepdims=True)")
            elif known:
                counts = " or ".join(str(n) for n in known)
                hint = (f"{what} is differentiated when called with {counts} argument(s), "
                        f"here it has {len(args)}: leave out the others if their defaults do "
                        f"what you need, or {register}")
            elif not isinstance(value, ast.Call):
                hint = "write it with other operators (+, -, *, /, **) or numpy functions"
            elif isinstance(primal, (types.BuiltinFunctionType, numpy.ufunc)) or (
                    getattr(primal, "__module__", None) or "").split(".")[0] in _LIBRARIES:
                hint = (f"write it with functions adcompile differentiates (arithmetic, math "
                        f"and numpy functions), or {register}")
            elif type(primal).__module__ == "adcompile.higher":  # a Hessian or a Jacobian
                hint = matrix_hint(type(primal).__name__)
            else:  # a callable object
                hint = ("make it a module-level function defined with 'def' (adcompile "
                        f"differentiates through those), or {register}")
            raise info.error(stmt, f"no derivative rule for {what}", construct=what, hint=hint)
        active = [i for i in active if not rules.is_shape_only(primal, i)]
        exprs = instantiate(rule, g, _name(stmt.targets[0].id), args, self.ns, active)
        for i in active:
            if exprs[i] is None:
                raise info.error(stmt, f"{what} is not differentiable in argument {i + 1}",
                                 construct=what, hint="make that argument a constant: do not "
                                 "differentiate with respect to what it depends on")
        return exprs

    def if_statement(self, stmt: ast.If) -> list[ast.stmt]:
        inner = stmt.body + stmt.orelse
        pre = self.ensure_live(self.contributed(inner) - defined(inner))
        incoming = set(self.live)
        body = self.block(stmt.body)
        live_body, self.live = self.live, set(incoming)
        orelse = self.block(stmt.orelse)
        live_else = self.live
        for name in sorted(incoming):  # live after the if on both paths, or on neither
            if name in live_else and name not in live_body:
                body.append(self.zero(name))
            elif name in live_body and name not in live_else:
                orelse.append(self.zero(name))
        self.live = (live_body | live_else) & incoming
        if not _has_code(body) and not _has_code(orelse):
            return pre
        return [*pre, ast.If(test=stmt.test, body=body or [ast.Pass()], orelse=orelse)]

    def loop(self, loop: ast.For | ast.While) -> list[ast.stmt]:
        body_names = defined(loop.body)
        carried = [c for c in loop.carried if c in self.act.active]
        persistent = set(carried) | {n for n in body_names - set(loop.carried)
                                     if n in self.live}
        pre = self.ensure_live((self.contributed(loop.body) - body_names) | set(carried))
        for name in sorted(self.written_in_place(loop.body) - body_names):
            self.own(name, pre)  # once here, not once per iteration inside
        for name in sorted(self.handed_to_writes(loop.body, carried) - self.owned):
            self.own(name, pre)  # u = v, v[i] = ...: d_v is d_u, owned from the start
        outer, outer_owned = set(self.live), set(self.owned)
        self.live = outer - (body_names - persistent)
        # arrays are written: the array state of an iteration cannot be recomputed, so every
        # value of the iteration the reversal reads is taped instead (store-all), and so is
        # every loop inside it
        nested, store_all = self.in_store_all, self.in_store_all or has_stores(loop.body)
        self.in_store_all = store_all
        self.pools.append(dict.fromkeys(n for n in outer if n in self.act.arrays))
        reverse_body = self.block(loop.body)
        for name, pool in self.pools.pop().items():
            if pool is not None:
                pre.append(_assign(pool, _call(self.kernel("adjoint_pool"),
                                               _name(self.adjoint(name)))))
        self.in_store_all = nested
        for name in sorted(persistent - self.live):
            reverse_body.append(self.zero(name))
        for name in sorted((outer_owned & self.live) - self.owned):
            # the next reversed iteration writes into it in place, as the first one did
            d = self.adjoint(name)
            reverse_body.append(_assign(d, _call(self.kernel("fresh_copy"), _name(d))))
            self.owned.add(name)
        self.live, self.owned = outer, outer_owned & self.owned
        if not _has_code(reverse_body):
            self.tapes[id(loop)] = Tape()
            return pre
        _, reads = prune(reverse_body, set(), keep_all=True)
        tape = Tape()
        if store_all:
            index_name = loop.target.id if isinstance(loop, ast.For) else None
            # numbers computed from the index, from values made outside the loop and from
            # arrays nothing writes into (i - 1, i != j, dx = x[j, 0] - x[i, 0]) are computed
            # again rather than taped
            recompute, reads = prune(self.replayable(loop.body, loop, index_name,
                                                     body_names), reads, checks=False)
            recomputed = {target_name(s) for s in assignments(recompute)}
            tape.at_start = [c for c in loop.carried if c in reads]
            tape.at_end = [n for n in _in_order(loop.body) if n in reads
                           and n not in loop.carried and n != index_name
                           and n not in recomputed]
            # trip counts of the loops inside, which their reversals read
            tape.at_end += [t.trips for t in self.inner_tapes(loop.body)
                            if t.trips and t.trips in reads]
            # the counter of a loop inside, read after that loop (x[j] after `for j`): its
            # last value, which the reversal of the loop inside would otherwise overwrite
            tape.at_end += [t for t in dict.fromkeys(
                node.target.id for stmt in loop.body for node in ast.walk(stmt)
                if isinstance(node, ast.For) and isinstance(node.target, ast.Name))
                if t in reads and t not in tape.at_end and t not in loop.carried
                and t != index_name]
            if nested and tape.at_start + tape.at_end:
                tape.stack = self.names.fresh(f"{index_name or 'it'}_pos")
            # (the statements computed again count: a branch's test is read for its value)
            values = self.values_read(reverse_body + recompute)
            tape.shapes = {n for n in tape.at_start + tape.at_end
                           if n in self.act.arrays and n not in values}
            if isinstance(loop, ast.For):
                inner_trips = {t.trips for t in self.inner_tapes(loop.body) if t.trips}
                kinds = {n: "int" if n in inner_trips else self.number_kind(n)
                         for n in tape.at_start + tape.at_end}
                if all(kinds.values()):
                    tape.kinds = kinds
        else:
            forward_body = [s for s in self.record(loop.body)  # not the copies to the next
                            if not (isinstance(s, ast.Assign)  # iteration: the reversal
                                    and isinstance(s.targets[0], ast.Name)  # reads this
                                    and s.targets[0].id in loop.carried)]  # iteration's values
            nexts = self.next_values(loop, forward_body)
            for carried, (stmt, tape_name, end) in nexts.items():
                # the carried array's value at the end of this iteration is the next
                # iteration's taped value (or the last one's, kept before the reversal):
                # read, not computed again (an RNN's tanh(W @ h + ...) per step)
                nxt = ast.BinOp(left=self.tape_index(loop), op=ast.Add(), right=_const(1))
                read = _assign(stmt.targets[0].id, _call(
                    self.kernel("tape_next"), _name(tape_name), simplify(nxt), _name(end)))
                forward_body[forward_body.index(stmt)] = read  # (a new statement: the
                pre.append(_assign(end, _name(carried)))  # forward sweep keeps its own)
            recompute, needs = prune(forward_body, reads, checks=False)
            tape.at_start = [c for c in loop.carried if c in needs or c in nexts]
            tape.replays = True
            tape.names = {c: tape_name for c, (_, tape_name, _) in nexts.items()}
        tape.names = {n: tape.names.get(n) or self.names.fresh(f"{n}_tape")
                      for n in tape.at_start + tape.at_end}
        self.tapes[id(loop)] = tape
        if isinstance(loop, ast.For):
            header, index = self.reversed_range(loop, tape)
        else:
            tape.trips = self.names.fresh("trips")
            counter = self.names.fresh("it")
            index = _name(counter)
            header = ast.For(target=_name(counter, True), iter=_call(
                "range", simplify(ast.BinOp(left=_name(tape.trips), op=ast.Sub(),
                                            right=_const(1))), _const(-1), _const(-1)),
                body=[], orelse=[])
        popped: list[ast.stmt] = []
        if tape.stack and isinstance(loop, ast.For):
            tape.bulk = self.bulk_trips(loop, tape)
        if tape.stack and tape.bulk is not None:  # this execution's entries, from the top
            pre.append(ast.AugAssign(target=_name(tape.stack, True), op=ast.Sub(),
                                     value=copy.deepcopy(tape.bulk)))
            index = simplify(ast.BinOp(left=_name(tape.stack), op=ast.Add(), right=index))
        elif tape.stack:  # the last position pushed is the first popped
            index = _name(tape.stack)
            popped.append(ast.AugAssign(target=_name(tape.stack, True), op=ast.Sub(),
                                        value=_const(1)))
        slot = stack_slot(index) if tape.stack else index
        restore = [_assign(n, ast.Subscript(value=_name(tape.names[n]),
                                            slice=copy.deepcopy(slot), ctx=ast.Load()))
                   for n in tape.at_start + tape.at_end]
        for stmt in restore:
            value = stmt.targets[0].id
            if value in tape.shapes:  # a value read only for its shape: an array of it
                stmt.value = _call(self.kernel("restore_shape"), _name(value), stmt.value)
            elif self.may_be_array(value):  # an entry of a ragged tape (kernels.new_tape)
                stmt.value = _call(self.kernel("tape_row"), stmt.value.value,
                                   copy.deepcopy(index))
        recompute = _merge_branches(recompute, reverse_body)
        header.body = [*popped, *restore, *recompute, *reverse_body]
        return [*pre, header]

    def bulk_trips(self, loop: ast.For, tape: Tape) -> ast.expr | None:
        """The trip count of a stacked ``for`` loop as an expression both sweeps can
        evaluate, before it (forward) and before its reversal: its taped trip count, or a
        ``range`` stop the body does not assign (``max(n, 0)``); ``None`` otherwise."""
        if tape.trips:
            return _name(tape.trips)
        stop = loop.iter.args[0] if len(loop.iter.args) == 1 else loop.iter.args[1]
        if isinstance(stop, ast.Constant):
            return _const(max(stop.value, 0))
        if {n.id for n in ast.walk(stop) if isinstance(n, ast.Name)} & defined(loop.body):
            return None
        return _call("max", copy.deepcopy(stop), _const(0))

    def next_values(self, loop: ast.For | ast.While, body: list[ast.stmt]
                    ) -> dict[str, tuple[ast.Assign, str, str]]:
        """The carried arrays of a ``for`` loop whose reversal replays its iterations, each
        with the one statement of ``body`` (the replayed iteration) that makes its value for
        the next iteration, a name for its tape and one for its value after the loop."""
        if not isinstance(loop, ast.For):
            return {}
        follows = {}  # carried -> the name copied into it at the end of the iteration
        for stmt in loop.body:
            if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id in loop.carried
                    and isinstance(stmt.value, ast.Name)):
                follows[stmt.targets[0].id] = stmt.value.id
        made: dict[str, int] = {}
        for stmt in assignments(loop.body):
            made[target_name(stmt)] = made.get(target_name(stmt), 0) + 1
        out = {}
        for carried, nxt in follows.items():
            if not self.may_be_array(carried) or made.get(nxt) != 1 or nxt in loop.carried:
                continue
            top = [s for s in body if isinstance(s, ast.Assign) and not is_store(s)
                   and isinstance(s.targets[0], ast.Name) and s.targets[0].id == nxt]
            if len(top) != 1 or not isinstance(top[0].value, ast.Call):
                continue  # (only what is worth it: a value a call made, tanh(...) say)
            out[carried] = (top[0], self.names.fresh(f"{carried}_tape"),
                            self.names.fresh(f"{carried}_end"))
        return out

    def replayable(self, stmts: list[ast.stmt], loop: ast.For | ast.While,
                   index: str | None, body_names: set[str]) -> list[ast.stmt]:
        """The statements of ``stmts`` (a store-all loop's body, branches included, loops
        inside not) that the reversal can run again to get their values instead of taping
        them: numbers computed, by arithmetic, comparisons or math functions, from constants,
        the loop index, values made outside the loop, other such numbers, and elements of
        arrays that no store writes into.  A name is computed again only if every assignment
        of it in the loop is (both arms of a branch that joins)."""
        if self.unwritten is None:
            owners = roots(self.norm)
            stored = set()
            for stmt in assignments(self.norm.stmts):
                if is_store(stmt):
                    stored |= owners.get(target_name(stmt), {target_name(stmt)})
            self.unwritten = {n for n, r in owners.items() if not r & stored}
        info = self.norm.info
        candidates: list[ast.Assign] = []

        def collect(block: list[ast.stmt]) -> None:
            for stmt in block:
                if isinstance(stmt, ast.If):
                    collect(stmt.body)
                    collect(stmt.orelse)
                elif isinstance(stmt, ast.Assign) and not is_store(stmt):
                    candidates.append(stmt)

        collect(stmts)
        total: dict[str, int] = {}
        for stmt in assignments(loop.body):
            if not is_store(stmt):
                total[target_name(stmt)] = total.get(target_name(stmt), 0) + 1
        # an array is read again only as a part of an array nothing writes into (a view,
        # x[:, c] or x[:, :, i:i + k]: no copy, and no tape of its rank)
        known = {target_name(s) for s in candidates
                 if target_name(s) not in loop.carried and (
                     target_name(s) not in self.act.arrays or isinstance(s.value, ast.Subscript))}
        counts: dict[str, int] = {}
        for stmt in candidates:
            counts[target_name(stmt)] = counts.get(target_name(stmt), 0) + 1
        known = {n for n in known if counts[n] == total.get(n, 0)}
        # a division, a power or a transcendental function costs tens of cycles and lengthens
        # the reversed iteration's chain of dependent operations: its result is taped (one
        # number per iteration) rather than computed again, and what is computed from it
        # (r2 * sqrt(r2) from a taped sqrt(r2)) is computed again from the taped value
        costly = {target_name(s) for s in candidates if target_name(s) in known
                  and total[target_name(s)] == 1 and target_name(s) not in self.act.arrays
                  and _costly(s.value, info)}
        known -= costly

        def available(atom: ast.expr) -> bool:
            if isinstance(atom, ast.Constant):
                return isinstance(atom.value, (int, float, bool))
            return isinstance(atom, ast.Name) and (
                atom.id == index or atom.id in known or atom.id in costly
                or atom.id not in body_names)

        def ok(stmt: ast.Assign) -> bool:
            value = stmt.value
            if isinstance(value, ast.Subscript):
                parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [
                    value.slice]
                bounds = [b for p in parts if isinstance(p, ast.Slice)
                          for b in (p.lower, p.upper, p.step) if b is not None]
                return (isinstance(value.value, ast.Name) and value.value.id in self.unwritten
                        and available(value.value) and all(
                            available(p) for p in parts + bounds
                            if not isinstance(p, ast.Slice)))
            if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Compare)):
                return not (isinstance(value, ast.BinOp) and isinstance(
                    value.op, ast.MatMult)) and all(available(a) for a in operands(value))
            if isinstance(value, ast.Call):
                func = info.resolve(value.func)
                return ((func in (max, min, abs) or _returns_float(func)) and not
                        value.keywords and all(available(a) for a in value.args))
            return isinstance(value, (ast.Name, ast.Constant)) and available(value)

        changed = True
        while changed:  # the largest set of names all of whose assignments can be rerun
            changed = False
            for stmt in candidates:
                if target_name(stmt) in known and not ok(stmt):
                    known.discard(target_name(stmt))
                    changed = True

        def keep(block: list[ast.stmt]) -> list[ast.stmt]:
            out: list[ast.stmt] = []
            for stmt in block:
                if isinstance(stmt, ast.If):
                    body, orelse = keep(stmt.body), keep(stmt.orelse)
                    if body or orelse:
                        out.append(ast.If(test=stmt.test, body=body or [ast.Pass()],
                                          orelse=orelse))
                elif (isinstance(stmt, ast.Assign) and not is_store(stmt)
                      and target_name(stmt) in known):
                    out.append(copy.deepcopy(stmt))
            return out

        return keep(stmts)

    def pool_fresh_arrays(self, loop: ast.For | ast.While, body: list[ast.stmt]
                          ) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """``body`` (a store-all loop's forward sweep) with each fresh array made once per
        iteration (``v = np.zeros(n)``, then ``u = v``) taken from a pool of two, and what
        makes the pools before the loop.

        The gradient tapes the values its reversal reads, so the array an iteration made two
        iterations ago is garbage once nothing holds it; ``stack.pooled`` hands it out again
        (zeroed for ``np.zeros``).  Nothing holds it when the array is used in the loop only
        as ``v[...] = ...``, ``x = v[i, j]`` (a number) and copies ``u = v`` made after it in
        the same iteration, each name of that chain assigned only there: every name holding
        it then holds the next iteration's array by the end of that iteration."""
        info = self.norm.info
        top = {id(s): k for k, s in enumerate(loop.body)}
        made: dict[int, tuple[ast.Assign, str, int]] = {}
        for stmt in loop.body:
            value = stmt.value if isinstance(stmt, ast.Assign) else None
            if not (isinstance(value, ast.Call) and isinstance(stmt.targets[0], ast.Name)
                    and len(value.args) == 1 and not value.keywords
                    and info.resolve(value.func) in (numpy.zeros, numpy.empty)):
                continue
            shape = value.args[0]
            if isinstance(shape, ast.Tuple) and all(
                    isinstance(e, (ast.Name, ast.Constant)) for e in shape.elts):
                rank = len(shape.elts)
            elif isinstance(shape, ast.Constant) and isinstance(shape.value, int) or (
                    isinstance(shape, ast.Name) and self.number_kind(shape.id) == "int"):
                rank = 1
            else:
                continue
            v = stmt.targets[0].id
            if rank == 0 or v in loop.carried or self._held_elsewhere(loop, stmt, v, top):
                continue
            made[id(stmt)] = (stmt, v, rank)
        if not made:
            return body, []
        pre: list[ast.stmt] = []
        out: list[ast.stmt] = []
        for stmt in body:
            if id(stmt) not in made:
                out.append(stmt)
                continue
            _, v, rank = made[id(stmt)]
            pool = self.names.fresh(f"{v}_pool")
            pre.append(_assign(pool, _call(self.kernel("array_pool"), ast.Tuple(
                elts=[_const(0)] * rank, ctx=ast.Load()))))
            kind = "zeros" if info.resolve(stmt.value.func) is numpy.zeros else "empty"
            out.append(ast.Assign(
                targets=[ast.Tuple(elts=[_name(v, True), _name(pool, True)], ctx=ast.Store())],
                value=_call(self.kernel(f"pooled_{kind}"), _name(pool),
                            copy.deepcopy(stmt.value.args[0]))))
        return out, pre

    def _held_elsewhere(self, loop: ast.For | ast.While, made: ast.Assign, v: str,
                        top: dict[int, int]) -> bool:
        """Whether anything in ``loop`` may hold the array ``made`` binds to ``v`` past the
        next iteration (see pool_fresh_arrays)."""
        chain, allowed = {v}, set()
        for stmt in loop.body[top[id(made)] + 1:]:
            if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.Name) and stmt.value.id in chain):
                chain.add(stmt.targets[0].id)
                allowed.add(id(stmt.value))
        for stmt in assignments(loop.body):
            name = target_name(stmt)
            if name in chain and not is_store(stmt) and stmt is not made and not (
                    id(stmt) in top and id(stmt.value) in allowed):
                return True  # assigned elsewhere: it may hold an older array
        for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])):
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript):
                allowed.add(id(node.targets[0].value))  # v[i] = ...: a write into it
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Subscript):
                allowed.add(id(node.target.value))
            elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)
                  and isinstance(node.targets[0], ast.Name)
                  and not self.may_be_array(node.targets[0].id) and not any(
                      isinstance(n, ast.Slice) for n in ast.walk(node.value.slice))):
                allowed.add(id(node.value.value))  # x = v[i, j]: a number read
            elif isinstance(node, ast.Assign) and isinstance(
                    node.value, (ast.BinOp, ast.UnaryOp, ast.Compare)):
                allowed.update(id(a) for a in operands(node.value))  # u * u: a new value
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and (
                    node.target.id in chain):
                return True  # u += w: in place, or a new binding
            elif isinstance(node, ast.Attribute) and node.attr in ("shape", "size", "ndim"):
                allowed.add(id(node.value))  # u.shape: numbers
            elif (isinstance(node, ast.Call) and len(node.args) == 1
                  and self.norm.info.resolve(node.func) is len):
                allowed.add(id(node.args[0]))
        return any(isinstance(node, ast.Name) and node.id in chain
                   and isinstance(node.ctx, ast.Load) and id(node) not in allowed
                   for node in ast.walk(ast.Module(body=loop.body, type_ignores=[])))

    def handed_to_writes(self, body: list[ast.stmt], carried: list[str]) -> set[str]:
        """Carried arrays whose adjoints the reversal of ``body`` hands, through copies
        (``u_1 = u_2``, ``u_2 = v``), to an array the body writes into (``v[i] = ...``),
        whose adjoint it then updates in place: made owned before the loop, they need no
        copy in each reversed iteration."""
        copies = {s.targets[0].id: s.value.id for s in body
                  if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                  and isinstance(s.value, ast.Name)}
        written = {target_name(s) for s in assignments(body) if is_store(s)}
        out = set()
        for name in carried:
            seen, current = {name}, name
            while current in copies and copies[current] not in seen:
                current = copies[current]
                seen.add(current)
            if current != name and current in written and name in self.act.arrays \
                    and name in self.live:
                out.add(name)
        return out

    def written_in_place(self, stmts: list[ast.stmt]) -> set[str]:
        """Arrays whose adjoints the reversal of ``stmts`` updates element by element: those
        written into, and those read by index."""
        out = set()
        for stmt in assignments(stmts):
            if is_store(stmt):
                out.add(target_name(stmt))
            elif (isinstance(stmt.value, ast.Subscript) and self.act.is_active(stmt.targets[0])
                  and self.act.is_active(stmt.value.value)):
                out.add(stmt.value.value.id)
        return {n for n in out if n in self.act.arrays and n in self.live}

    def number_kind(self, name: str) -> str | None:
        """'int', 'bool' or 'float' for a value that is surely a number of that kind (a
        float tape also holds a float32 exactly; anything else that is not an integer or a
        truth value is computed as a float), or ``None`` when it may be an array or its
        kind is not known."""
        if name in self.act.arrays:
            return None
        if self.integers is None:
            self.integers = integer_names(self.norm)
        if name in self.integers:
            return "int"
        if self.values is None:
            self.values = {}
            for stmt in assignments(self.norm.stmts):
                if not is_store(stmt):
                    self.values.setdefault(target_name(stmt), []).append(stmt.value)
        values = self.values.get(name)
        if not values:
            return None
        truth = (ast.Compare, ast.BoolOp)
        if all(isinstance(v, truth) or (isinstance(v, ast.UnaryOp)
                                         and isinstance(v.op, ast.Not))
               or (isinstance(v, ast.Constant) and type(v.value) is bool) for v in values):
            return "bool"
        def floating(v: ast.expr) -> bool:
            if isinstance(v, (ast.BinOp, ast.UnaryOp)):
                return True
            if not isinstance(v, ast.Call):
                return False
            func = self.norm.info.resolve(v.func)
            if func in (max, min, abs):  # a float when its arguments are
                return all(isinstance(a, ast.Constant) and type(a.value) is float
                           or isinstance(a, ast.Name) and a.id != name
                           and self.number_kind(a.id) == "float" for a in v.args)
            return _returns_float(func)

        if all(floating(v) for v in values):
            return "float"
        if len(values) == 1 and isinstance(values[0], ast.Subscript) and isinstance(
                values[0].value, ast.Name) and values[0].value.id in self.norm.info.params \
                and self.plain_index(values[0].slice) and not _has_slice(values[0].slice):
            return f"element:{values[0].value.id}"  # an element of a parameter's array
        if len(values) == 1 and isinstance(values[0], ast.Subscript) and isinstance(
                values[0].value, ast.Name) and self.plain_index(values[0].slice) and not (
                _has_slice(values[0].slice)) and self.made_float(values[0].value.id):
            return "float"  # an element of R = np.full((n, m), np.inf) (a DP table)
        return None

    def made_float(self, array: str) -> bool:
        """Whether every assignment of ``array`` makes a new float64 array: ``np.zeros``,
        ``np.ones``, ``np.empty`` of a shape, or ``np.full`` of a float, without ``dtype``."""
        made = [s.value for s in assignments(self.norm.stmts)
                if not is_store(s) and target_name(s) == array]
        if not made or array in self.norm.info.params:
            return False
        info = self.norm.info

        def float_fill(v: ast.expr) -> bool:
            if isinstance(v, ast.Constant):
                return type(v.value) is float
            return isinstance(v, ast.Attribute) and info.resolve(v) in (numpy.inf, numpy.nan)

        return all(isinstance(v, ast.Call) and not v.keywords and (
            (info.resolve(v.func) in (numpy.zeros, numpy.ones, numpy.empty) and len(v.args) == 1)
            or (info.resolve(v.func) is numpy.full and len(v.args) == 2
                and float_fill(v.args[1]))) for v in made)

    def values_read(self, stmts: list[ast.stmt]) -> set[str]:
        """Names whose values ``stmts`` read somewhere: not counting an argument a kernel
        reads only for its shape (``zeros_like(u)``, ``unbroadcast(g, u)``,
        ``reduce_adjoint(g, u, axis)``) or its type (the witness of ``restore_shape``: a
        loop around one that restores a shape tapes the shape too)."""
        shape_only = {kernels.zeros_like: (0,), kernels.unbroadcast: (1,),
                      kernels.reduce_adjoint: (1,), kernels.stored_adjoint: (1,),
                      stack.restore_shape: (0,), stack.recycled: (1, 2)}
        skip: set[int] = set()
        out: set[str] = set()
        for stmt in stmts:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    positions = shape_only.get(self.ns.bindings.get(node.func.id), ())
                    skip.update(id(node.args[k]) for k in positions if k < len(node.args))
            for node in ast.walk(stmt):
                if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                        and id(node) not in skip and not getattr(node, "type_only", False)):
                    out.add(node.id)
        return out

    def inner_tapes(self, stmts: list[ast.stmt]) -> list[Tape]:
        """The tapes of the loops directly inside ``stmts`` (in branches too, not deeper)."""
        out: list[Tape] = []
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                out += self.inner_tapes(stmt.body) + self.inner_tapes(stmt.orelse)
            elif isinstance(stmt, (ast.For, ast.While)) and id(stmt) in self.tapes:
                out.append(self.tapes[id(stmt)])
        return out

    def reversed_range(self, loop: ast.For, tape: Tape) -> tuple[ast.For, ast.expr]:
        """``for i in reversed(range(a, b, s))`` as a plain range, and the tape index."""
        args = loop.iter.args
        start, stop, step = ((_const(0), args[0], _const(1)) if len(args) == 1 else
                             (args[0], args[1], args[2] if len(args) == 3 else _const(1)))
        i = loop.target.id
        simple = isinstance(start, ast.Constant) and start.value == 0 and isinstance(
            step, ast.Constant) and step.value == 1
        if simple:
            trips = stop
        else:
            tape.trips = self.names.fresh(f"n_{i}")
            trips = _name(tape.trips)
        last = ast.BinOp(left=start, op=ast.Add(), right=ast.BinOp(
            left=ast.BinOp(left=trips, op=ast.Sub(), right=_const(1)), op=ast.Mult(),
            right=step))
        end = ast.BinOp(left=start, op=ast.Sub(), right=step)
        back = ast.UnaryOp(op=ast.USub(), operand=step)
        header = ast.For(target=_name(i, True),
                         iter=_call("range", *(simplify(copy.deepcopy(e))
                                               for e in (last, end, back))),
                         body=[], orelse=[])
        return header, self.tape_index(loop)

def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists directly inside ``stmt``."""
    if isinstance(stmt, (ast.For, ast.While)):
        return [stmt.body]
    if isinstance(stmt, ast.If):
        return [stmt.body, stmt.orelse]
    return []


def _only_store(stmt: ast.stmt, array: str, loops: list[ast.For]
                ) -> tuple[ast.Assign, list[ast.For]] | None:
    """The store ``array[...] = e`` that ``stmt`` (which mentions ``array`` once) is or
    holds, with the ``for`` loops around it inside ``stmt``; ``None`` when the mention is
    something else or lies in a ``while`` loop."""
    if is_store(stmt) and isinstance(stmt.targets[0].value, ast.Name) \
            and stmt.targets[0].value.id == array:
        return stmt, loops
    if isinstance(stmt, ast.While):
        return None
    if isinstance(stmt, (ast.For, ast.If)):
        if isinstance(stmt, ast.If) and any(isinstance(n, ast.Name) and n.id == array
                                            for n in ast.walk(stmt.test)):
            return None
        inner = [*loops, stmt] if isinstance(stmt, ast.For) else loops
        for block in _blocks(stmt):
            for s in block:
                if any(isinstance(n, ast.Name) and n.id == array for n in ast.walk(s)):
                    return _only_store(s, array, inner)
    return None


_CHEAP_CALLS = frozenset({abs, min, max, math.fabs, math.copysign, numpy.abs, numpy.fabs,
                          numpy.negative, numpy.positive, numpy.sign, numpy.square,
                          numpy.maximum, numpy.minimum, numpy.fmax, numpy.fmin,
                          numpy.copysign})


def _costly(value: ast.expr, info) -> bool:
    """Whether a number's operation is one worth taping rather than computing again in a
    loop's reversal: a division, a power other than a square, a float function of ``math`` or
    NumPy other than the cheap ones (``abs``, ``min``, ``copysign``...)."""
    if isinstance(value, ast.BinOp):
        if isinstance(value.op, ast.Div):
            return True
        return isinstance(value.op, ast.Pow) and not (
            isinstance(value.right, ast.Constant) and value.right.value in (1, 2))
    if isinstance(value, ast.Call):
        func = info.resolve(value.func)
        return func not in _CHEAP_CALLS and _returns_float(func)
    return False


def _returns_float(func: object) -> bool:
    """Whether ``func`` (``math.exp``, ``np.tanh``, ...) returns a float for numbers."""
    module = getattr(func, "__module__", None) or ""
    return (module == "math" and getattr(func, "__name__", "") not in (
        "floor", "ceil", "trunc", "factorial", "gcd", "lcm", "comb", "perm", "isqrt")) or (
        isinstance(func, numpy.ufunc) and func.types and all(
            t.split("->")[1] in "efdg" for t in func.types if t.split("->")[0][0] in "efdg"))


def _merge_branches(recompute: list[ast.stmt], reverse_body: list[ast.stmt]) -> list[ast.stmt]:
    """Values computed again under a branch, moved into the reversal of that branch (the
    ``if`` on the same condition): they are then computed only where they are read, and
    no liveness analysis sees them live past a branch not taken."""
    branches: dict[str, ast.If] = {}
    for s in reverse_body:  # the first reversal on each condition: it runs first
        if isinstance(s, ast.If) and isinstance(s.test, ast.Name):
            branches.setdefault(s.test.id, s)
    out: list[ast.stmt] = []
    for k, stmt in enumerate(recompute):
        target = branches.get(stmt.test.id) if isinstance(stmt, ast.If) and isinstance(
            stmt.test, ast.Name) else None
        made = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
        later = {n.id for s in recompute[k + 1:] for n in ast.walk(s)
                 if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if target is not None:  # the reversal before that branch must not read them
            before = reverse_body[:next(k for k, r in enumerate(reverse_body) if r is target)]
            later |= {n.id for r in before for n in ast.walk(r)
                      if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        if target is None or made & later:
            out.append(stmt)
            continue
        target.body = [*stmt.body, *target.body]
        if stmt.orelse:
            target.orelse = [*stmt.orelse, *target.orelse]
    return out


_FRESH = {"fresh_copy", "unbroadcast", "where", "outer", "dot", "matmul_left", "matmul_right",
          "reduce_adjoint", "zeros_like", "full", "sum"}


def _merge_twins(exprs: dict[int, ast.expr], args: list[ast.expr]) -> dict[int, ast.expr]:
    """One contribution ``2.0 * c`` where the same name gets the same contribution ``c``
    twice (``x * x``: ``d_x += 2.0 * (g * x)``, one statement, not two)."""
    out = dict(exprs)
    for i in exprs:
        for j in exprs:
            if (i < j and i in out and j in out and isinstance(args[i], ast.Name)
                    and isinstance(args[j], ast.Name) and args[i].id == args[j].id
                    and ast.dump(out[i]) == ast.dump(out[j])):
                twin = out[i]
                out[i] = (ast.BinOp(left=ast.BinOp(left=ast.Constant(2.0), op=ast.Mult(),
                                                   right=twin.left),
                                    op=ast.Mult(), right=twin.right)
                          if isinstance(twin, ast.BinOp) and isinstance(twin.op, ast.Mult)
                          else ast.BinOp(left=ast.Constant(2.0), op=ast.Mult(), right=twin))
                del out[j]
    return out


def _reuse(expr: ast.expr, shared: ast.expr, adjoint: str) -> ast.expr:
    """``expr`` with each subexpression equal to ``shared`` replaced by the name
    ``adjoint`` (which holds its value)."""
    key = ast.dump(shared)

    class Replace(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            if isinstance(node, ast.expr) and ast.dump(node) == key:
                return _name(adjoint)
            return super().visit(node)

    return Replace().visit(expr)


def matrix_hint(kind: str) -> str:
    """What to write instead of a call of an ``adcompile.hessian`` / ``jacobian`` in code
    that is differentiated (a Newton step inside a loss): the matrix from products, which
    are generated code and differentiable in their turn."""
    if kind == "Hessian":
        how = ("adcompile.hvp(f, wrt=...), one column per unit vector e_k: "
               "H[:, k] = hvp_f(..., e_k)")
    else:
        how = ("adcompile.jvp(f, wrt=...), one column per unit tangent e_k: "
               "J[:, k] = jvp_f(..., e_k)[1]")
    return (f"a {kind} from adcompile.{kind.lower()}() is not differentiated in its turn: "
            f"build it in the code from {how} (generated products are differentiable)")


def _fresh(value: ast.expr) -> bool:
    """Whether ``value`` is a newly allocated array (or a scalar), never a view of another."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Constant)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "copy":
            return True
        if name == "unbroadcast":
            return _fresh(value.args[0])
        return name in _FRESH
    return False


def _slices_as_values(index: ast.expr) -> ast.expr:
    """An index as a value that can be passed to a function: ``a:b`` as ``slice(a, b)``."""
    def value(part: ast.expr) -> ast.expr:
        if not isinstance(part, ast.Slice):
            return part
        bounds = [b if b is not None else _const(None)
                  for b in (part.lower, part.upper, part.step)]
        return _call("slice", *bounds)

    if isinstance(index, ast.Tuple):
        return ast.Tuple(elts=[value(p) for p in index.elts], ctx=ast.Load())
    return value(index)


def _has_slice(index: ast.expr) -> bool:
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    return any(isinstance(p, ast.Slice) for p in parts)


def _assigned_in(stmts: list[ast.stmt], name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
               for s in stmts for n in ast.walk(s))


def _in_order(stmts: list[ast.stmt]) -> list[str]:
    """Names assigned in ``stmts``, in order of first assignment."""
    return list(dict.fromkeys(s.targets[0].id for s in assignments(stmts) if not is_store(s)))


def _has_code(stmts: list[ast.stmt]) -> bool:
    return any(not isinstance(s, ast.Expr) for s in stmts)


def instantiate(rule: rules.Rule, g: ast.expr, ans: ast.expr, args: list[ast.expr],
                ns: Namespace, which: list[int]) -> dict[int, ast.expr | None]:
    """The rule's formula for each argument in ``which``, with ``g``, ``ans`` and the
    arguments substituted and the formula's free names bound in ``ns``."""
    params = rule.params
    subst = {params[0]: g, params[1]: ans} | dict(zip(params[2:], args, strict=True))
    free = rule.free_names()
    body = rule.body()
    parts = body.elts if isinstance(body, ast.Tuple) and rule.nargs > 1 else [body]

    pow_dx: set[str] = set()

    class Substitute(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            if (isinstance(node.func, ast.Name) and len(node.args) == 1
                    and free.get(node.func.id) is kernels.finite_or_zero):
                arg = self.visit(node.args[0])
                if ns.finite_only or _finite_number(arg):
                    return arg  # no infinity to guard against
                node.args = [arg]
                node.func = self.visit(node.func)
                return node
            return self.generic_visit(node)

        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id in subst:
                return copy_tree(subst[node.id])
            if free.get(node.id) is not None:
                bound = ns.bind(node.id, free[node.id])
                if free[node.id] is kernels.pow_dx:
                    pow_dx.add(bound)
                return ast.Name(id=bound, ctx=ast.Load())
            return node

    out: dict[int, ast.expr | None] = {}
    for i in which:
        part = parts[i]
        is_none = isinstance(part, ast.Constant) and part.value is None
        out[i] = None if is_none else Substitute().visit(copy_tree(part))
        if pow_dx and out[i] is not None:
            out[i] = expand_literal_powers(out[i], pow_dx)
    return out


def _finite_number(node: ast.expr) -> bool:
    """Whether ``node`` is a finite number written out (``2.0``, ``-1``)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool) and math.isfinite(node.value))


def gradient_function(norm: Normalized, act: Activity, wrt: list[str], ns: Namespace,
                      name: str, *, with_value: bool, as_tuple: bool,
                      count_tape: bool = False, seed_param: bool = False,
                      callees: Callees | None = None,
                      cotangent: bool = False) -> ast.FunctionDef:
    """The gradient (or value-and-gradient) function of ``norm`` with respect to ``wrt``.
    With ``count_tape`` it also returns the
    bytes of tape it allocated; with ``seed_param`` the adjoint of the result is its last
    parameter instead of ``1.0`` (the helpers of called functions, which also take the
    adjoints of their array arguments to add to); with ``cotangent`` too, but nothing else
    (``vjp``: the result may be an array, its adjoint the caller's cotangent)."""
    seed_param = seed_param or cotangent
    names = ns.local_names(norm.names)
    rev = _Reverser(norm, act, ns, names, callees=callees,
                    count_tape=names.fresh("tape_bytes") if count_tape else None)
    result = norm.result
    backward: list[ast.stmt] = []
    args = copy.deepcopy(norm.info.tree.args)
    if seed_param:
        seed = rev.adjoint(result.id if isinstance(result, ast.Name) else "result")
        args.args.append(ast.arg(arg=seed))
        args.defaults = []
        for p in wrt if not cotangent else ():  # adjoints of array parameters arrive
            # from the caller, to add to
            if p in act.arrays and norm.info.params.index(p) in callee_arrays(
                    norm.info.func)[0]:
                args.args.append(ast.arg(arg=rev.adjoint(p)))
                rev.live.add(p)
                rev.owned.add(p)
    if isinstance(result, ast.Name) and result.id in act.active:
        backward.append(comment(f"backward sweep: the chain rule from {result.id} back to "
                                f"{', '.join(wrt)}"))
        if seed_param:
            rev.live.add(result.id)
        else:
            rev.accumulate(result.id, _const(1.0), backward)
    backward.extend(sums.hoist_element_sums(rev.block(norm.stmts), names, rev.kernel))
    for p in wrt:
        if p not in rev.live:  # the result does not depend on p, which may be an array
            act.arrays.add(p)
            backward.append(rev.zero(p))
            rev.live.add(p)
        elif (not seed_param or cotangent) and p in act.arrays and p not in rev.owned:
            # the adjoint may share memory with another gradient or a value: the caller
            # gets an array of its own
            d = rev.adjoint(p)
            backward.append(_assign(d, _call(rev.kernel("fresh_copy"), _name(d))))
            rev.owned.add(p)
    _, reads = prune(backward, set(), keep_all=True)
    if with_value and isinstance(result, ast.Name):
        reads.add(result.id)
    if rev.count_tape:
        reads.add(rev.count_tape)
    before, after = rev.stacks()
    forward, _ = prune([*before, *rev.record(norm.stmts), *after], reads)
    grads = [_name(rev.adjoint(p)) for p in wrt]
    value: ast.expr = grads[0] if not as_tuple else ast.Tuple(elts=grads, ctx=ast.Load())
    if with_value:
        if isinstance(result, ast.Name) and _assigned_in(backward, result.id):
            # the backward sweep restores loop values: keep the result before it does
            kept = names.fresh("value")
            forward.append(_assign(kept, _name(result.id)))
            result = _name(kept)
        value = ast.Tuple(elts=[result, value], ctx=ast.Load())
    if rev.count_tape:
        value = ast.Tuple(elts=[value, _name(rev.count_tape)], ctx=ast.Load())
        forward.insert(0, _assign(rev.count_tape, _const(0)))
    body = [*forward, *backward, ast.Return(value=value)]
    return function_def(name, args, body)


#: where a function without a rule is a library's (its derivative is for a rule to give)
_LIBRARIES = {"numpy", "math", "scipy", "builtins", "numba", "operator", "_operator"}


def _op_text(value: ast.expr) -> str:
    text = ast.unparse(value)
    for a in operands(value):
        text = text.replace(ast.unparse(a), "", 1)
    return f"'{text.strip()}'"
