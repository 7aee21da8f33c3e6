"""Sums into one element of an adjoint array, kept in a number while a loop runs.

The reversal of a loop often adds into the same element of an adjoint array at every
iteration: ``acc[i, 0] += s * dx`` summed over ``j`` becomes ``d_x[i, 0] += d_t4`` in the
reversed ``j`` loop, with ``i`` fixed.  Each such update loads the element, adds and stores it
back, and the next iteration's load waits for that store: a chain through memory of about ten
cycles per iteration, which LLVM cannot break, since the loop also adds into ``d_x[j, 0]`` and
``j`` may equal ``i`` for all it knows.

An adjoint is a sum of contributions, and the order in which they are added does not matter
(to rounding).  So when the only thing a loop does with an adjoint array is add into its
elements (``d_x[...] += g``: no other read, no store, no call that gets the array, no other
name for it), the contributions to an element whose index does not change in the loop are
summed in a number, and the number is added into the element once, after the loop:

    d_x_i_0 = 0.0                          # before the loop
    d_x_i_0_added = False
    for j in range(n - 1, -1, -1):
        ...
        d_x_i_0 += d_t4                    # was: d_x[i, 0] += d_t4
        d_x_i_0_added = True
    if d_x_i_0_added:                      # the index is known valid only if an update ran
        d_x[i, 0] += d_x_i_0

Only the updates the reverse pass marked (``mark``: integer indices, and a value read that
is a number as far as the analysis of the function can tell) are moved.  Where the array's
rank is not known when the code is written (a parameter's), the sum starts from
``kernels.zero_at(d_x, (i, 0))``, which Numba compiles to ``0.0`` for an element and to zeros of
the remaining axes where ``d_x[i, 0]`` is a part of an array of higher rank.  Sums are
moved innermost loop first; the update after a loop is marked in turn, so it moves out of an
enclosing loop where its index does not change there either.  An index is unchanged in a loop
when its names are not assigned in it, or are assigned once, from arithmetic of such names
(``t7 = i - 1`` recomputed in each reversed iteration; the update after the loop then reads
``d_x[i - 1]``).  Another array name that holds the same array cannot read the element in
between: an adjoint that is updated in place owns its array (``reverse._Reverser.own``).

*Windows.*  A stencil's reversal adds into elements whose index moves with the loop's
counter by a fixed offset: ``d_u[i - 1]``, ``d_u[i]`` and ``d_u[i + 1]`` in the reversed
``i`` loop of ``v[i] = u[i] + k * (u[i - 1] - 2 u[i] + u[i + 1])``.  Three loads and stores
per iteration, each waiting for a store of the iteration before.  When the loop counts by
one (up or down) and its body adds into ``d[c + k]`` for offsets ``k`` without a gap, at the
top level of the body (every iteration adds into each), the sums are kept in a window of
numbers that moves with ``c``: the element no later iteration adds to is added into the
array once, at the end of the iteration, and the window moves on:

    i_ran = False
    d_u_im1 = 0.0 ; d_u_i = 0.0 ; d_u_ip1 = 0.0
    for i in range(n - 2, 0, -1):
        ...
        d_u_ip1 += d_t10                   # was: d_u[t9] += d_t10, with t9 = i + 1
        d_u_im1 += d_t5
        d_u_i += d_t3
        d_u[i + 1] += d_u_ip1              # no later (smaller) i reaches i + 1
        d_u_ip1, d_u_i, d_u_im1 = d_u_i, d_u_im1, 0.0
        i_ran = True
    if i_ran:                              # the last i's window, but for the element just
        d_u[i] += d_u_ip1                  # opened, was written by that iteration
        d_u[i - 1] += d_u_i

One addition into the array per iteration, none waiting for another, and a loop that
LLVM vectorizes (the window is a recurrence it knows).  A loop with ``break`` or
``continue``, an update in a branch or an inner loop, or a gap between the offsets
(``d[i - 1]`` and ``d[i + 1]`` only: ``d[i]`` may not exist) keeps its updates.  Where the
value added may be an array (the rank is not known), the window holds ``zero_at``'s parts.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable

from .build import assign, call, const, name
from .names import NameGen
from .render import comment

_MARK = "_adcompile_element_sum"
#: on ``d += g`` of a number's adjoint: a sum that may be taken in any order
_NUMBER = "_adcompile_number_sum"
#: on the update after a loop: its number, its flag, and the statements that make and use them
_INNER = "_adcompile_inner_sum"
_PURE = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Load, ast.Tuple,
         ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd)


def mark(stmt: ast.AugAssign, element: bool | None) -> ast.AugAssign:
    """Mark ``d[index] += g`` (integer indices) as a sum that may be kept in a value of its
    own: a number when ``element`` (the index names one element), else a number or, where
    the array has more axes than the index has integers, an array of the remaining axes
    (``kernels.zero_at`` starts it).  ``element=None``: ``g`` may be an array (a part of an
    array whose rank is not known), which only a window takes (a number where Numba finds
    an element)."""
    setattr(stmt, _MARK, {True: "element", False: "part", None: "any"}[element])
    return stmt


def number_sum(stmt: ast.AugAssign) -> ast.AugAssign:
    """Mark ``d += g``, ``d`` the adjoint of a number, as a sum of contributions that may be
    added in any order: in a loop it becomes ``d = accumulate(d, g)`` (kernels.accumulate)."""
    setattr(stmt, _NUMBER, True)
    return stmt


def hoist_element_sums(stmts: list[ast.stmt], names: NameGen,
                       kernel: Callable[[str], str]) -> list[ast.stmt]:
    """``stmts`` with the marked sums of every loop in them kept in numbers (module
    docstring); the loops are changed in place.  ``kernel("zero_at")`` is the generated
    module's name for ``kernels.zero_at``."""
    out = _reassociated(_hoist(stmts, names, kernel), kernel, None)
    for node in ast.walk(ast.Module(body=out, type_ignores=[])):
        for attr in (_MARK, _INNER, _NUMBER):
            if hasattr(node, attr):
                delattr(node, attr)
    return out


def _hoist(stmts: list[ast.stmt], names: NameGen, kernel: Callable[[str], str]
           ) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(stmt, field, _hoist(block, names, kernel))
        if isinstance(stmt, (ast.For, ast.While)) and not stmt.orelse:
            before, after = _promote(stmt, names, kernel)
            out.extend(before)
            out.append(stmt)
            out.extend(after)
        else:
            out.append(stmt)
    return out


def _reassociated(stmts: list[ast.stmt], kernel: Callable[[str], str],
                  rebound: set[str] | None) -> list[ast.stmt]:
    """``stmts`` with each marked sum of a number that a loop carries from one iteration to
    the next (``rebound``: the names the innermost loop around ``stmts`` assigns otherwise,
    ``None`` outside loops) written ``d = accumulate(d, g)``: LLVM may then split the sum
    (``number_sum``).  A sum that starts again in each iteration stays ``d += g``."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        inner = rebound
        if isinstance(stmt, (ast.For, ast.While)):
            sums = {id(n.target) for n in ast.walk(stmt)
                    if isinstance(n, ast.AugAssign) and getattr(n, _NUMBER, False)}
            inner = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store) and id(n) not in sums}
        for field in ("body", "orelse"):
            block = getattr(stmt, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(stmt, field, _reassociated(block, kernel, inner))
        if (rebound is not None and getattr(stmt, _NUMBER, False)
                and isinstance(stmt.target, ast.Name) and stmt.target.id not in rebound):
            stmt = ast.copy_location(assign(stmt.target.id, call(
                kernel("accumulate"), name(stmt.target.id), stmt.value)), stmt)
        out.append(stmt)
    return out


def _promote(loop: ast.For | ast.While, names: NameGen, kernel: Callable[[str], str]
             ) -> tuple[list[ast.stmt], list[ast.stmt]]:
    nodes = list(ast.walk(loop))
    if any(isinstance(n, (ast.Return, ast.FunctionDef, ast.Lambda)) for n in nodes):
        return [], []
    adds = [n for n in nodes if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Add)
            and isinstance(n.target, ast.Subscript) and isinstance(n.target.value, ast.Name)]
    marked = [n for n in adds if getattr(n, _MARK, False)]
    candidates = [n for n in marked if getattr(n, _MARK) != "any"]
    if not marked:
        return [], []
    bases = {n.target.value.id for n in marked}
    as_base = {id(n.target.value) for n in adds}
    for n in marked:  # zero_at(d_w, k), which starts an inner loop's sum, reads no element
        as_base.update(id(m) for m in ast.walk(getattr(n, _INNER, (None, None, ast.Pass()))[2]))
    other_use = {n.id for n in nodes if isinstance(n, ast.Name) and n.id in bases
                 and id(n) not in as_base}
    definitions = _definitions(loop, nodes)
    position = {id(n): k for k, stmt in enumerate(loop.body) for n in ast.walk(stmt)}
    groups: dict[tuple[str, str], list[tuple[ast.AugAssign, ast.expr]]] = {}
    for n in candidates:
        index = _resolved(n.target.slice, definitions, position[id(n)])
        if n.target.value.id in other_use or index is None:
            continue
        groups.setdefault((n.target.value.id, ast.unparse(index)), []).append((n, index))
    before, after = _windows(loop, marked, other_use, definitions, names, kernel)
    if not groups:
        return before, after
    parents = _parents(loop)
    for (base, text), group in groups.items():
        index = group[0][1]
        inner = [getattr(n, _INNER) for n, _ in group if hasattr(n, _INNER)]
        if inner:  # the sum of an inner loop moves on out: its number serves this loop too
            total, added = inner[0][:2]
        else:
            total = names.fresh(f"{base}_{re.sub(r'[^0-9A-Za-z]+', '_', text).strip('_')}")
            added = names.fresh(f"{total}_added")
        for n, _ in group:
            if hasattr(n, _INNER):
                inner_total, inner_added, *made = getattr(n, _INNER)
                for stmt in made:
                    block = parents[id(stmt)]
                    del block[next(k for k, s in enumerate(block) if s is stmt)]
                for m in ast.walk(loop):
                    if isinstance(m, ast.Name) and m.id in (inner_total, inner_added):
                        m.id = total if m.id == inner_total else added
                continue
            n.target = name(total, True)
            if getattr(n, _MARK) == "element":
                number_sum(n)
            block = parents[id(n)]
            block.insert(next(k for k, s in enumerate(block) if s is n) + 1,
                         assign(added, const(True)))
        element = all(getattr(n, _MARK) == "element" for n, _ in group)
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        zero = const(0.0) if element else call(kernel("zero_at"), name(base), ast.Tuple(
            elts=copy.deepcopy(parts), ctx=ast.Load()))
        start = [assign(total, zero), assign(added, const(False))]
        flush = mark(ast.AugAssign(target=ast.Subscript(value=name(base), slice=index,
                                                        ctx=ast.Store()),
                                   op=ast.Add(), value=name(total)), element)
        test = ast.If(test=name(added), body=[flush], orelse=[])
        setattr(flush, _INNER, (total, added, *start, test))
        before += start
        after.append(test)
    return before, after


def _definitions(loop: ast.For | ast.While, nodes: list[ast.AST]
                 ) -> dict[str, tuple[int, ast.expr] | None]:
    """Names assigned in ``loop`` -> (position in the loop's body, value) when that is their
    only assignment, a statement of the body itself, and arithmetic; else ``None``: the name
    changes in the loop."""
    top = {id(s.targets[0]): (k, s.value) for k, s in enumerate(loop.body)
           if isinstance(s, ast.Assign) and len(s.targets) == 1
           and isinstance(s.targets[0], ast.Name)}
    out: dict[str, tuple[int, ast.expr] | None] = {}
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            found = top.get(id(n))
            pure = found is not None and all(isinstance(m, _PURE) for m in ast.walk(found[1]))
            out[n.id] = found if pure and n.id not in out else None
    if isinstance(loop, ast.For):
        for n in ast.walk(loop.target):
            if isinstance(n, ast.Name):
                out[n.id] = None
    return out


def _resolved(index: ast.expr, definitions: dict[str, tuple[int, ast.expr] | None],
              position: int) -> ast.expr | None:
    """``index``, read by the statement at ``position`` of the loop's body, with the names
    assigned in the loop replaced by their arithmetic of names the loop does not assign;
    ``None`` where it changes in the loop (a name assigned in a branch, twice, after its
    reader, or from anything but arithmetic)."""
    if not all(isinstance(m, _PURE) for m in ast.walk(index)):
        return None

    class Substitute(ast.NodeTransformer):
        failed = False

        def visit_Name(self, node: ast.Name) -> ast.expr:
            if node.id not in definitions:
                return node
            found = definitions[node.id]
            inner = None if found is None or found[0] >= position else _resolved(
                found[1], definitions, found[0])
            if inner is None:
                self.failed = True
                return node
            return inner

    sub = Substitute()
    out = sub.visit(copy.deepcopy(index))
    return None if sub.failed else ast.fix_missing_locations(out)


def _parents(loop: ast.For | ast.While) -> dict[int, list[ast.stmt]]:
    """id of each statement inside ``loop`` -> the list that holds it."""
    out: dict[int, list[ast.stmt]] = {}
    for node in ast.walk(loop):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                for stmt in block:
                    out[id(stmt)] = block
    return out


def _step(loop: ast.For) -> int | None:
    """The step of ``for c in range(...)`` when it is the literal 1 or -1, else ``None``."""
    it = loop.iter
    if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id == "range"
            and not it.keywords and 1 <= len(it.args) <= 3):
        return None
    if len(it.args) < 3:
        return 1
    step = it.args[2]
    if isinstance(step, ast.UnaryOp) and isinstance(step.op, ast.USub):
        step, sign = step.operand, -1
    else:
        sign = 1
    if isinstance(step, ast.Constant) and type(step.value) is int and step.value == 1:
        return sign
    return None


def _offset(part: ast.expr, counter: str) -> int | None:
    """``k`` where ``part`` is ``counter + k`` (``counter``, ``counter - k``, ``k + counter``,
    ``k`` an integer literal), else ``None``."""
    if isinstance(part, ast.Name) and part.id == counter:
        return 0
    if not (isinstance(part, ast.BinOp) and isinstance(part.op, (ast.Add, ast.Sub))):
        return None
    left, right = part.left, part.right
    if isinstance(part.op, ast.Add) and isinstance(left, ast.Constant):
        left, right = right, left
    if not (isinstance(left, ast.Name) and left.id == counter and isinstance(right, ast.Constant)
            and type(right.value) is int):
        return None
    return right.value if isinstance(part.op, ast.Add) else -right.value


def _at(parts: list[ast.expr], position: int, counter: str, k: int) -> ast.expr:
    """The index ``parts`` with ``counter + k`` at ``position``."""
    where: ast.expr = name(counter)
    if k:
        where = ast.BinOp(left=where, op=ast.Add() if k > 0 else ast.Sub(), right=const(abs(k)))
    out = [copy.deepcopy(p) for p in parts]
    out[position] = where
    return out[0] if len(out) == 1 else ast.Tuple(elts=out, ctx=ast.Load())


def _windows(loop: ast.For | ast.While, candidates: list[ast.AugAssign], other_use: set[str],
             definitions: dict[str, tuple[int, ast.expr] | None], names: NameGen,
             kernel: Callable[[str], str]) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """Sums into the elements ``d[c + k]`` of a loop ``for c in range(..., ..., +-1)``, kept in
    a window of numbers that moves with ``c`` (see the module docstring); the loop's body is
    changed in place.  The statements to put before and after the loop."""
    if not isinstance(loop, ast.For) or not isinstance(loop.target, ast.Name):
        return [], []
    step = _step(loop)
    counter = loop.target.id
    nodes = list(ast.walk(loop))
    if step is None or any(isinstance(n, (ast.Break, ast.Continue)) for n in nodes) or any(
            isinstance(n, ast.Name) and n.id == counter and not isinstance(n.ctx, ast.Load)
            for stmt in loop.body for n in ast.walk(stmt)):
        return [], []
    with_counter = {k: v for k, v in definitions.items() if k != counter}
    position = {id(stmt): k for k, stmt in enumerate(loop.body)}
    windows: dict[tuple[str, int, str], list[tuple[ast.AugAssign, list[ast.expr], int]]] = {}
    for n in candidates:
        base = n.target.value.id
        if id(n) not in position or base in other_use or _resolved(
                n.target.slice, definitions, position[id(n)]) is not None:
            continue  # in a branch or an inner loop, read in the loop, or not moving
        index = _resolved(n.target.slice, with_counter, position[id(n)])
        if index is None:
            continue
        parts = list(index.elts) if isinstance(index, ast.Tuple) else [index]
        moving = [k for k, p in enumerate(parts)
                  if any(isinstance(m, ast.Name) and m.id == counter for m in ast.walk(p))]
        if len(moving) != 1 or (k := _offset(parts[moving[0]], counter)) is None:
            continue
        rest = ast.unparse(ast.Tuple(elts=[p for j, p in enumerate(parts) if j != moving[0]],
                                     ctx=ast.Load()))
        windows.setdefault((base, moving[0], rest), []).append((n, parts, k))
    before: list[ast.stmt] = []
    after: list[ast.stmt] = []
    ran = None
    for (base, where, _), group in windows.items():
        offsets = sorted({k for _, _, k in group})
        if len(offsets) < 2 or offsets != list(range(offsets[0], offsets[-1] + 1)):
            continue  # one element per iteration gains little; a gap would leave an
            # element the last iteration did not write
        parts = group[0][1]
        if all(getattr(n, _MARK) == "element" for n, _, _ in group):
            zero: ast.expr = const(0.0)
        else:  # the rank is not known: a number, or zeros of the axes after the index
            zero = call(kernel("zero_at"), name(base), ast.Tuple(elts=[
                const(0) if j == where else copy.deepcopy(p) for j, p in enumerate(parts)],
                ctx=ast.Load()))
        sums = {}
        for k in offsets:
            text = ast.unparse(_at(parts, where, counter, k))
            text = text.replace(" + ", "p").replace(" - ", "m")
            sums[k] = names.fresh(f"{base}_{re.sub(r'[^0-9A-Za-z]+', '_', text).strip('_')}")
        if ran is None:
            ran = names.fresh(f"{counter}_ran")
            before.append(assign(ran, const(False)))
            loop.body.append(assign(ran, const(True)))
        before += [assign(sums[k], copy.deepcopy(zero)) for k in offsets]
        for n, _, k in group:
            n.target = name(sums[k], True)
        # the element that no later iteration adds to is complete: into the array, and the
        # window moves one element on
        done = offsets[-1] if step < 0 else offsets[0]
        order = offsets[::-1] if step < 0 else offsets  # from the element done on
        shift = ast.Assign(targets=[ast.Tuple(elts=[name(sums[k], True) for k in order],
                                              ctx=ast.Store())],
                           value=ast.Tuple(elts=[name(sums[k]) for k in order[1:]]
                                           + [copy.deepcopy(zero)], ctx=ast.Load()))
        flush = ast.AugAssign(target=ast.Subscript(value=name(base),
                                                   slice=_at(parts, where, counter, done),
                                                   ctx=ast.Store()),
                              op=ast.Add(), value=name(sums[done]))
        note = comment(f"{ast.unparse(flush.target)} gets no more terms: add their sum, "
                       "and the window of sums moves on")
        loop.body[-1:-1] = [note, flush, shift]
        # after the last iteration, the window's elements but the one just opened are due
        after += [ast.AugAssign(target=ast.Subscript(value=name(base),
                                                     slice=_at(parts, where, counter, k + step),
                                                     ctx=ast.Store()),
                                op=ast.Add(), value=name(sums[k]))
                  for k in order[:-1]]
    if ran is None:
        return [], []
    return before, [ast.If(test=name(ran), body=after, orelse=[])]
