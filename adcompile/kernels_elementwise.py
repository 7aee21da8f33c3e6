"""``elementwise(fn, operands)``: a function of numbers applied over arrays, as explicit loops.

Forward mode writes the arithmetic of an array tangent, ``(dt_t1 + dt_b1) * (1.0 - H * H)``,
as a function of numbers of its own and calls it here (``tangents.outline_tangents``).  Numba
compiles the same expression written inline on arrays into a loop over the broadcast shape
that, in a long function, runs 1.5-2 times slower than loops written out: the MLP's jvp took
1.45 times its forward with the expression inline and 1.2 with loops.  The generator does not
know the ranks of the operands; this kernel does, at typing: for each combination of ranks it
writes the loops over the result's shape, each operand indexed by its trailing indices
(a matrix and a row: ``fn(a0[i0, i1], a1[i1])``), and a second set of loops for operands
that broadcast a dimension of size 1.  Numbers are passed through; with no array among the
operands the result is ``fn`` of them.  NumPy's broadcasting rules hold (a mismatch of sizes
raises ``ValueError``), the result is a new float64 array, and each element is the same
arithmetic NumPy does on the arrays, in the same order.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload

from .rules import rewrite

__all__ = ["elementwise"]


def elementwise(fn: Callable, operands: tuple) -> Any:
    """``fn(*operands)`` on the broadcast arrays (NumPy evaluates ``fn``'s arithmetic on
    them); compiled, explicit loops calling ``fn`` on numbers."""
    return fn(*operands)


@njit(cache=True)
def broadcast_size(sizes: Any) -> int:
    """The size of one dimension of the broadcast shape from the operands' ``sizes``."""
    n = 1
    for s in sizes:
        if s != 1:
            if n != 1 and s != n:
                raise ValueError("elementwise: operands could not be broadcast together")
            n = s
    return n


_LOOPS: dict[tuple[int, ...], Callable] = {}


def _loops(ranks: tuple[int, ...]) -> Callable:
    """The implementation for operands of ``ranks`` (0 for a number): loops over the
    broadcast shape, written out (see the module's docstring)."""
    if ranks in _LOOPS:
        return _LOOPS[ranks]
    rank = max(ranks)
    count = len(ranks)
    index = [f"i{d}" for d in range(rank)]
    lines = ["def impl(fn, operands):"]
    lines += [f"    a{k} = operands[{k}]" for k in range(count)]
    # output dimension d -> the operands that have it, with their axis for it
    covers = {d: [(k, d - rank + r) for k, r in enumerate(ranks) if r > 0 and d >= rank - r]
              for d in range(rank)}
    for d in range(rank):
        sizes = "".join(f"a{k}.shape[{axis}], " for k, axis in covers[d])
        lines.append(f"    n{d} = broadcast_size(({sizes}))")
    exact = " and ".join(f"a{k}.shape[{axis}] == n{d}" for d in range(rank)
                         for k, axis in covers[d]) or "True"
    lines.append(f"    out = np.empty(({''.join(f'n{d}, ' for d in range(rank))}))")

    def element(k: int, steps: bool) -> str:
        r = ranks[k]
        if r == 0:
            return f"a{k}"
        parts = [f"i{d} * s{k}_{d}" if steps else f"i{d}" for d in range(rank - r, rank)]
        return f"a{k}[{', '.join(parts)}]"

    def nest(steps: bool, indent: str) -> list[str]:
        out = []
        for d in range(rank):
            out.append(f"{indent}for i{d} in range(n{d}):")
            indent += "    "
        args = ", ".join(element(k, steps) for k in range(count))
        out.append(f"{indent}out[{', '.join(index)}] = fn({args})")
        return out

    lines.append(f"    if {exact}:")
    lines += nest(False, "        ")
    lines.append("    else:")
    lines += [f"        s{k}_{d} = 0 if a{k}.shape[{axis}] == 1 else 1"
              for d in range(rank) for k, axis in covers[d]]
    lines += nest(True, "        ")
    lines.append("    return out")
    namespace: dict[str, Any] = {"np": np, "broadcast_size": broadcast_size}
    exec(compile("\n".join(lines) + "\n", f"<elementwise loops {ranks}>", "exec"),  # noqa: S102
         namespace)
    _LOOPS[ranks] = namespace["impl"]
    return namespace["impl"]


def _rank(operand: Any) -> int | None:
    """The rank of an operand's type (0 for a number), None for a 0-d array."""
    if isinstance(operand, types.Array):
        return operand.ndim or None
    return 0


@overload(elementwise, inline="always")
def _elementwise(fn, operands):  # noqa: ANN001, ANN202 - Numba compares signatures
    ranks = tuple(_rank(o) for o in operands)
    if None in ranks or max(ranks, default=0) == 0:
        def impl(fn, operands):  # noqa: ANN001, ANN202 - numbers (or 0-d arrays)
            return fn(*operands)
        return impl
    return _loops(ranks)


@rewrite(elementwise)
def _as_a_call(call: ast.Call, normalizer: Any) -> ast.expr | None:
    """Differentiating a jvp (a user's function may call one) reads ``elementwise(fn, (a,
    b))`` as what it computes, ``fn(a, b)``: a function of the module, arithmetic that
    works on arrays too, differentiated like any user function."""
    if len(call.args) == 2 and isinstance(call.args[1], ast.Tuple) and not call.keywords:
        return ast.Call(func=call.args[0], args=list(call.args[1].elts), keywords=[])
    return None
