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
``kernels.zero_at(d_x, i, 0)``, which Numba compiles to ``0.0`` for an element and to zeros of
the remaining axes where ``d_x[i, 0]`` is a part of an array of higher rank.  Sums are
moved innermost loop first; the update after a loop is marked in turn, so it moves out of an
enclosing loop where its index does not change there either.  An index is unchanged in a loop
when its names are not assigned in it, or are assigned once, from arithmetic of such names
(``t7 = i - 1`` recomputed in each reversed iteration; the update after the loop then reads
``d_x[i - 1]``).  Another array name that holds the same array cannot read the element in
between: an adjoint that is updated in place owns its array (``reverse._Reverser.own``).
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable

from .build import assign, call, const, name
from .names import NameGen

_MARK = "_adcompile_element_sum"
#: on the update after a loop: its number, its flag, and the statements that make and use them
_INNER = "_adcompile_inner_sum"
_PURE = (ast.Name, ast.Constant, ast.BinOp, ast.UnaryOp, ast.Load, ast.Tuple,
         ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.USub, ast.UAdd)


def mark(stmt: ast.AugAssign, element: bool) -> ast.AugAssign:
    """Mark ``d[index] += g`` (integer indices) as a sum that may be kept in a value of its
    own: a number when ``element`` (the index names one element), else a number or, where
    the array has more axes than the index has integers, an array of the remaining axes
    (``kernels.zero_at`` starts it)."""
    setattr(stmt, _MARK, "element" if element else "part")
    return stmt


def hoist_element_sums(stmts: list[ast.stmt], names: NameGen,
                       kernel: Callable[[str], str]) -> list[ast.stmt]:
    """``stmts`` with the marked sums of every loop in them kept in numbers (module
    docstring); the loops are changed in place.  ``kernel("zero_at")`` is the generated
    module's name for ``kernels.zero_at``."""
    out = _hoist(stmts, names, kernel)
    for node in ast.walk(ast.Module(body=out, type_ignores=[])):
        for attr in (_MARK, _INNER):
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


def _promote(loop: ast.For | ast.While, names: NameGen, kernel: Callable[[str], str]
             ) -> tuple[list[ast.stmt], list[ast.stmt]]:
    nodes = list(ast.walk(loop))
    if any(isinstance(n, (ast.Return, ast.FunctionDef, ast.Lambda)) for n in nodes):
        return [], []
    adds = [n for n in nodes if isinstance(n, ast.AugAssign) and isinstance(n.op, ast.Add)
            and isinstance(n.target, ast.Subscript) and isinstance(n.target.value, ast.Name)]
    candidates = [n for n in adds if getattr(n, _MARK, False)]
    if not candidates:
        return [], []
    bases = {n.target.value.id for n in candidates}
    as_base = {id(n.target.value) for n in adds}
    for n in candidates:  # zero_at(d_w, k), which starts an inner loop's sum, reads no element
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
    if not groups:
        return [], []
    parents = _parents(loop)
    before: list[ast.stmt] = []
    after: list[ast.stmt] = []
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
            block = parents[id(n)]
            block.insert(next(k for k, s in enumerate(block) if s is n) + 1,
                         assign(added, const(True)))
        element = all(getattr(n, _MARK) == "element" for n, _ in group)
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        zero = const(0.0) if element else call(kernel("zero_at"), name(base),
                                                 *copy.deepcopy(parts))
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
