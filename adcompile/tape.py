"""The tape: how the forward sweep records a loop so that the backward sweep can reverse it.

For each loop the reverse pass decides which values it must restore (a ``Tape``); the
``Recorder`` then writes the loop in *recording* form: room for the values made before the loop
(or on its first iteration), one push per value per iteration, a trip counter for ``while``
loops, and with ``count_tape`` the bytes allocated.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable
from dataclasses import dataclass, field

from .build import assign, call, const, name
from .simplify import simplify


def stack_slot(index: ast.expr) -> ast.expr:
    """``np.uint64(index)``: a position on a stack tape, which is never negative.  Numba fixes
    up a negative signed index (``t[-1]`` is the last entry) with a compare and an add on
    every access; an unsigned one skips that, and in the reversal of a loop nest, where a
    running position (``i_pos + (i - 1)``) indexes the tape, that fix-up was a tenth of the
    backward sweep (the heat stencil of ``benchmarks/loops.py``)."""
    return call("np.uint64", index)


@dataclass
class Tape:
    """How the forward sweep records one loop for its reversal."""

    #: carried values taped at the start of each iteration
    at_start: list[str] = field(default_factory=list)
    #: values of the iteration taped at its end (loops that write into arrays)
    at_end: list[str] = field(default_factory=list)
    #: value -> name of its tape
    names: dict[str, str] = field(default_factory=dict)
    trips: str | None = None  # the trip count (while loops: also the forward counter)
    #: a loop inside a loop that writes into arrays is taped as a stack: every execution
    #: pushes on the same tapes at this running position, and the reversal pops
    stack: str | None = None
    #: value -> 'float', 'int' or 'bool' when every taped value is a number of a known kind
    #: (a ``for`` loop's tapes are then made before it, and never reassigned inside it)
    kinds: dict[str, str] | None = None
    #: arrays the reversal reads only for their shapes: their shapes are taped instead
    shapes: set[str] = field(default_factory=set)
    #: the reversal runs each iteration again (recording the loops inside) before reversing
    #: it: the forward sweep need not record the loops inside
    replays: bool = False
    #: a stacked ``for`` loop's trip count, known before it runs: iteration ``k`` pushes at
    #: ``stack + k`` and the loop moves ``stack`` by it once, after (a running position
    #: incremented in every iteration keeps an inner loop of a few flops from vectorising)
    bulk: ast.expr | None = None


class Recorder:
    """Forward code that records tapes; mixed into the reverse pass, which owns the tapes."""

    tapes: dict[int, Tape]
    count_tape: str | None
    #: the module-level name of ``kernels.<helper>`` (the reverse pass binds it)
    kernel: Callable[[str], str]
    #: whether a value may be an array (the reverse pass knows)
    may_be_array: Callable[[str], bool]
    #: a store-all loop's recorded body with its fresh arrays taken from pools, and the
    #: statements making the pools (the reverse pass knows which arrays nothing else holds)
    pool_fresh_arrays: Callable[[ast.For | ast.While, list[ast.stmt]],
                                tuple[list[ast.stmt], list[ast.stmt]]]
    #: the ``for`` loops being recorded around the current one: (trip count, tape index),
    #: for a hint of how much a stack tape will hold
    around: list[tuple[ast.expr, ast.expr]]

    def tape_index(self, loop: ast.For) -> ast.expr:
        args = loop.iter.args
        i = name(loop.target.id)
        if len(args) == 1:
            return i
        start = args[0]
        step = args[2] if len(args) == 3 else const(1)
        offset = simplify(ast.BinOp(left=i, op=ast.Sub(), right=copy.deepcopy(start)))
        if isinstance(step, ast.Constant) and step.value == 1:
            return offset
        return ast.BinOp(left=offset, op=ast.FloorDiv(), right=copy.deepcopy(step))

    # -- the forward sweep, recording what the reversal needs -----------------------------------

    def record(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        """``stmts`` as forward code, with each loop recording its tape."""
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ast.If):
                out.append(ast.If(test=stmt.test, body=self.record(stmt.body),
                                  orelse=self.record(stmt.orelse)))
            elif isinstance(stmt, (ast.For, ast.While)):
                out.extend(self.record_loop(stmt))
            else:
                out.append(stmt)
        return out

    def record_loop(self, loop: ast.For | ast.While) -> list[ast.stmt]:
        tape = self.tapes.get(id(loop), Tape())
        pre: list[ast.stmt] = []
        post: list[ast.stmt] = []
        peak = None
        trips: ast.expr
        if isinstance(loop, ast.For):
            args = loop.iter.args
            trips = name(tape.trips) if tape.trips else copy.deepcopy(
                args[0] if len(args) == 1 else args[1])
            self.around.append((trips, self.tape_index(loop)))
        if not tape.replays:
            body, pools = self.pool_fresh_arrays(loop, self.record(loop.body))
            pre.extend(pools)
        elif not self.count_tape or not _has_loop(loop.body):
            body = loop.body  # the reversal records the loops inside, iteration by iteration
        else:  # what is held at once: this loop's tapes and one iteration's loops' tapes
            outer_count, peak = self.count_tape, self.names.fresh("peak")
            self.count_tape = self.names.fresh("held")
            body = [assign(self.count_tape, const(0)), *self.record(loop.body),
                    assign(peak, call("max", name(peak), name(self.count_tape)))]
            self.count_tape = outer_count
            pre.append(assign(peak, const(0)))
        if isinstance(loop, ast.For):
            self.around.pop()
            if tape.trips:
                pre.append(assign(tape.trips, call("len", copy.deepcopy(loop.iter))))
            index = self.tape_index(loop)
            capacity = trips
        else:
            counter = tape.trips
            capacity = const(16)
            trips = name(counter) if counter else const(0)
            index = name(counter) if counter else const(0)
            if counter:
                pre.append(assign(counter, const(0)))
        growing = isinstance(loop, ast.While)
        static = bool(tape.kinds) and isinstance(loop, ast.For) and bool(
            tape.at_start + tape.at_end)
        if tape.stack:  # one running position over every execution of the loop
            index, growing = name(tape.stack), not static
            if tape.bulk is not None:
                index = simplify(ast.BinOp(left=name(tape.stack), op=ast.Add(),
                                           right=self.tape_index(loop)))
        if static:  # typed tapes made (or grown) before the loop: none is made inside
            for n in tape.at_start + tape.at_end:
                if tape.stack:
                    room: ast.expr = call(self.kernel("reserve"), name(tape.names[n]),
                                          simplify(ast.BinOp(left=name(tape.stack),
                                                             op=ast.Add(),
                                                             right=copy.deepcopy(capacity))),
                                          self.hint(tape, capacity))
                else:
                    room = self.typed_tape(tape.kinds[n], copy.deepcopy(capacity))
                pre.append(assign(tape.names[n], room))
        first = ast.Compare(left=copy.deepcopy(index), ops=[ast.Eq()], comparators=[const(0)])
        start: list[ast.stmt] = []
        end: list[ast.stmt] = []
        made = [] if static else [
            assign(tape.names[n], self.room(tape, n, capacity)) for n in tape.at_start]
        # carried values: room made before the loop (by its first execution, for a stack:
        # at its position before the loop, as the loop's index is not bound yet)
        pre.extend([ast.If(test=ast.Compare(left=name(tape.stack), ops=[ast.Eq()],
                                            comparators=[const(0)]), body=made, orelse=[])]
                   if tape.stack and made else made)
        if growing:  # room doubled when full, before the pushes
            start.extend(self.grow(tape.at_start, tape, index))
        start.extend(self.push(tape.names[n], index, n, n in tape.shapes, bool(tape.stack))
                     for n in tape.at_start)
        if tape.at_end and not static:  # values of the iteration: room made when the first
            end.append(ast.If(test=first, body=[  # one exists
                assign(tape.names[n], self.room(tape, n, capacity)) for n in tape.at_end],
                orelse=[]))
            if growing:
                end.extend(self.grow(tape.at_end, tape, index))
        end.extend(self.push(tape.names[n], index, n, n in tape.shapes, bool(tape.stack))
                   for n in tape.at_end)
        if tape.stack and tape.bulk is None:
            end.append(ast.AugAssign(target=name(tape.stack, True), op=ast.Add(),
                                     value=const(1)))
        elif tape.stack:
            post.append(ast.AugAssign(target=name(tape.stack, True), op=ast.Add(),
                                      value=copy.deepcopy(tape.bulk)))
        if isinstance(loop, ast.While) and tape.trips:
            end.append(ast.AugAssign(target=name(tape.trips, True), op=ast.Add(),
                                     value=const(1)))
        if self.count_tape and not tape.stack:  # (stacks are counted once, at the end)
            counted = [ast.AugAssign(target=name(self.count_tape, True), op=ast.Add(),
                                     value=self.nbytes(tape.names[n]))
                       for n in tape.at_start + tape.at_end]
            if counted:
                post.append(ast.If(test=ast.Compare(left=copy.deepcopy(trips), ops=[ast.Gt()],
                                                    comparators=[const(0)]),
                                   body=counted, orelse=[]) if tape.at_end else counted[0])
                if not tape.at_end:
                    post.extend(counted[1:])
        if peak is not None:
            post.append(ast.AugAssign(target=name(self.count_tape, True), op=ast.Add(),
                                      value=name(peak)))
        loop_body = start + body + end
        if isinstance(loop, ast.For):
            new: ast.stmt = ast.For(target=loop.target, iter=loop.iter, body=loop_body,
                                    orelse=[])
        else:
            new = ast.While(test=loop.test, body=loop_body, orelse=[])
        return [*pre, new, *post]

    def hint(self, tape: Tape, capacity: ast.expr) -> ast.expr:
        """What a stack tape will hold when the loops around it run all their remaining
        iterations as this one (``stack + n_i * (steps - _)``): ``reserve`` makes that much
        room at once when it must grow, not one execution's worth at a time."""
        out: ast.expr = copy.deepcopy(capacity)
        for trips, index in reversed(self.around):
            remaining = simplify(ast.BinOp(left=copy.deepcopy(trips), op=ast.Sub(),
                                           right=copy.deepcopy(index)))
            out = ast.BinOp(left=out, op=ast.Mult(), right=remaining)
        return simplify(ast.BinOp(left=name(tape.stack), op=ast.Add(), right=out))

    def stacks(self) -> tuple[list[ast.stmt], list[ast.stmt]]:
        """What the forward sweep does for the stack tapes before it starts (positions at 0)
        and, when it counts tape bytes, after it ends."""
        before: list[ast.stmt] = []
        after: list[ast.stmt] = []
        for tape in self.tapes.values():
            if not tape.stack:
                continue
            before.append(assign(tape.stack, const(0)))
            if tape.kinds:
                before.extend(assign(tape.names[n], self.typed_tape(tape.kinds[n], const(0)))
                              for n in tape.at_start + tape.at_end)
            if self.count_tape and tape.at_start + tape.at_end:
                after.append(ast.If(
                    test=ast.Compare(left=name(tape.stack), ops=[ast.Gt()],
                                     comparators=[const(0)]),
                    body=[ast.AugAssign(target=name(self.count_tape, True), op=ast.Add(),
                                        value=self.nbytes(tape.names[n]))
                          for n in tape.at_start + tape.at_end], orelse=[]))
        return before, after

    def nbytes(self, tape: str) -> ast.Call:
        """The bytes a tape holds (``tape_nbytes``: a ragged tape is several arrays)."""
        return call(self.kernel("tape_nbytes"), name(tape))

    def typed_tape(self, kind: str, size: ast.expr) -> ast.Call:
        """A tape of ``size`` numbers of ``kind``: ``float_tape(n)``, or for an element of
        a parameter's array ``element_tape(A, n)`` (of ``A``'s dtype)."""
        if kind.startswith("element:"):
            return call(self.kernel("element_tape"), name(kind.split(":", 1)[1]), size)
        return call(self.kernel(f"{kind}_tape"), size)

    def grow(self, values: list[str], tape: Tape, index: ast.expr) -> list[ast.stmt]:
        """``if index == len(tape): tape = grow_tape(tape)`` for the tapes of ``values``
        (a ``while`` loop's trip count is not known in advance)."""
        if not values:
            return []
        full = ast.Compare(left=copy.deepcopy(index), ops=[ast.Eq()], comparators=[
            call(self.kernel("tape_len"), name(tape.names[values[0]]))])
        return [ast.If(test=full, body=[
            assign(tape.names[n], call(self.kernel("grow_tape"), name(tape.names[n])))
            for n in values], orelse=[])]

    def room(self, tape: Tape, value: str, capacity: ast.expr) -> ast.Call:
        """A new tape for ``capacity`` values like ``value`` (or their shapes)."""
        kernel = "shape_tape" if value in tape.shapes else "new_tape"
        return call(self.kernel(kernel), copy.deepcopy(capacity), name(value))

    def push(self, tape: str, index: ast.expr, value: str, shape: bool = False,
             stacked: bool = False) -> ast.Assign:
        """``tape[index] = value``; a value that may be an array goes through ``push`` (into
        a ragged tape, whose entries keep their own shapes).  With ``shape``, the value's
        shape is taped (``push_shape``); with ``stacked``, ``index`` is a stack position
        (:func:`stack_slot`)."""
        if shape:
            return assign(tape, call(self.kernel("push_shape"), name(tape),
                                     copy.deepcopy(index), name(value)))
        if self.may_be_array(value):
            return assign(tape, call(self.kernel("push"), name(tape), copy.deepcopy(index),
                                     name(value)))
        slot = stack_slot(copy.deepcopy(index)) if stacked else copy.deepcopy(index)
        return assign(ast.Subscript(value=name(tape), slice=slot, ctx=ast.Store()), name(value))


def _has_loop(stmts: list[ast.stmt]) -> bool:
    return any(isinstance(node, (ast.For, ast.While)) for stmt in stmts
               for node in ast.walk(stmt))
