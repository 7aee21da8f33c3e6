"""``np.einsum`` with a literal subscript string, lowered when the function is compiled.

Numba has no ``einsum``; the subscripts are known before any value is, so the call is written
instead with operations the compiler already differentiates (``rules.rewrite``):

- a letter repeated within one operand (``'ii->i'``, ``'ii'``) takes the diagonal: the operand
  times ``np.eye`` placed on the two axes, summed over the second;
- a letter of one operand that no other operand and not the output has is summed out
  (``np.sum`` over those axes);
- operands are combined left to right.  Letters of both that are needed later are *batch*
  letters, the others are contracted.  Without batch letters the pair is one contraction
  (``kernels_linalg.contract``, ``np.tensordot``'s product: transposes, reshapes and a
  matrix product); with batch letters and one contracted letter, a stack of matrix products
  (``@`` on the operands transposed to ``(batch..., i, j)`` and ``(batch..., j, k)``);
  otherwise the operands are transposed, given the axes they lack (``None``), multiplied with
  broadcasting and summed over the contracted letters;
- the result is transposed to the output's order.

The output is the one written after ``->``, or, without it, NumPy's: the letters that appear
once, in alphabetical order.  ``...`` (broadcast axes) at the start of operands and of the
output, with one or two operands, is lowered with axes counted from the end
(``np.expand_dims``, ``np.moveaxis``, a broadcast product and ``np.sum``); other places of
``...`` are refused with the hint to name the axes.
"""

from __future__ import annotations

import ast
from typing import Any

from .kernels_linalg import contract

_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,->. ")


def lower(call: ast.Call, normalizer: Any) -> ast.expr:
    """The expression ``np.einsum(subscripts, *operands)`` means (see the module docstring)."""
    return _Lowering(call, normalizer).run()


def bound(normalizer: Any, expr: ast.expr, base: str) -> ast.Name:
    """``expr`` evaluated once into a variable of its own (``operand = A.T``), so that the
    rewritten call may read it several times (a name the user assigned is read as it is)."""
    if isinstance(expr, ast.Name):
        return expr
    name = normalizer.names.fresh(base)
    normalizer.emit(normalizer.define(name), normalizer.operation(expr))
    return ast.Name(id=name, ctx=ast.Load())


class _Lowering:
    def __init__(self, call: ast.Call, normalizer: Any) -> None:
        self.call = call
        self.normalizer = normalizer

    def error(self, message: str, hint: str) -> Exception:
        return self.normalizer.info.error(self.call, message, construct="np.einsum", hint=hint)

    def run(self) -> ast.expr:
        subscripts = self.subscripts()
        operands = self.call.args[1:]
        if "..." in subscripts:
            return self.broadcast(subscripts.replace(" ", ""), operands)
        inputs, output = self.parse(subscripts, len(operands))
        terms = [(bound(self.normalizer, op, "operand"), list(letters))
                 for op, letters in zip(operands, inputs, strict=True)]
        changed = False
        for k, (expr, letters) in enumerate(terms):
            others = set(output).union(*(set(t[1]) for j, t in enumerate(terms) if j != k))
            expr2, letters2 = self.diagonals(expr, letters)
            expr2, letters2 = self.sum_out(expr2, letters2, others)
            changed |= expr2 is not expr
            terms[k] = (expr2, letters2)
        expr, letters = terms[0]
        for k in range(1, len(terms)):
            later = set(output).union(*(set(t[1]) for t in terms[k + 1:]))
            expr, letters = self.pair(expr, letters, *terms[k], later)
            changed = True
        result = self.transpose(expr, letters, list(output))
        if result is expr and not changed:
            return ast.Call(func=self.np("copy"), args=[expr], keywords=[])
        return result

    # -- the subscripts ---------------------------------------------------------------------

    def subscripts(self) -> str:
        if self.call.keywords and any(kw.arg != "optimize" for kw in self.call.keywords):
            bad = next(kw.arg for kw in self.call.keywords if kw.arg != "optimize")
            raise self.error(f"the keyword argument '{bad}' of np.einsum is not supported",
                             hint="leave it out (only optimize= is accepted, and ignored)")
        first = self.call.args[0] if self.call.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise self.error("np.einsum needs its subscripts as a string literal (they decide "
                             "the operations, which are chosen when the code is compiled)",
                             hint="write the subscripts in the call: "
                             "np.einsum('ij,jk->ik', A, B)")
        return first.value

    def parse(self, subscripts: str, count: int) -> tuple[list[str], str]:
        text = subscripts.replace(" ", "")
        if not set(text) <= _ALLOWED:
            bad = sorted(set(text) - _ALLOWED)[0]
            raise self.error(f"the einsum subscripts {subscripts!r} contain {bad!r}",
                             hint="use letters, ',' between operands and '->' before the "
                             "output")
        if "." in text:
            raise self.error(f"'...' in the einsum subscripts {subscripts!r} is not supported",
                             hint="name every axis with a letter ('bij,bjk->bik'), or write "
                             "the product with @, which broadcasts stacks of matrices")
        if text.count("->") > 1 or text.replace("->", "").count("-") or text.replace(
                "->", "").count(">"):
            raise self.error(f"the einsum subscripts {subscripts!r} are malformed",
                             hint="write one '->' before the output: 'ij,jk->ik'")
        left, arrow, right = text.partition("->")
        inputs = left.split(",")
        if len(inputs) != count:
            raise self.error(f"the einsum subscripts {subscripts!r} name {len(inputs)} "
                             f"operand(s), but {count} are passed",
                             hint="give one group of letters per operand, separated by ','")
        if any(not letters for letters in inputs):
            raise self.error(f"an operand of the einsum {subscripts!r} has no letters (a "
                             "number)", hint="multiply by the number outside the einsum")
        seen = "".join(inputs)
        if arrow:
            output = right
            for letter in output:
                if letter not in seen:
                    raise self.error(f"the output letter {letter!r} of the einsum "
                                     f"{subscripts!r} is not in any operand",
                                     hint="the output may only name letters of the operands")
                if output.count(letter) > 1:
                    raise self.error(f"the output letter {letter!r} of the einsum "
                                     f"{subscripts!r} is repeated",
                                     hint="name each output axis once")
        else:
            output = "".join(sorted(letter for letter in set(seen) if seen.count(letter) == 1))
        return inputs, output

    # -- '...': the letters name the last axes ----------------------------------------------

    def broadcast(self, text: str, operands: list[ast.expr]) -> ast.expr:
        """``'...jk,...lj->...lk'`` (``'...ij,jk->...ik'``): each operand given an axis of
        extent 1 (at the end) for every letter it lacks and its last axes moved into one
        order (the output's letters, then the contracted ones), both counted from the end, so
        that the ranks the ``...`` stands for need not be known; then the product, broadcast
        as NumPy broadcasts the ``...`` axes, summed over the contracted letters (the last
        axes)."""
        left, arrow, right = text.partition("->")
        # an operand without '...' has exactly its letters' axes: a '...' of no axes
        inputs = [p if p.startswith("...") else "..." + p for p in left.split(",")]
        parts = [*inputs, right]
        if (not arrow or len(inputs) not in (1, 2) or len(inputs) != len(operands)
                or not all(p.startswith("...") and "." not in p[3:] for p in parts)
                or not all(p[3:].isalpha() for p in parts if p[3:])
                or any(len(set(p[3:])) != len(p[3:]) for p in parts)
                or not set(right[3:]) <= set("".join(inputs))):
            raise self.error(f"'...' in the einsum subscripts {text!r} is supported at the "
                             "start of operands and of the output, with one or two operands, "
                             "an explicit '->' and each letter once per operand",
                             hint="write '...ij,...jk->...ik', or name every axis with a "
                             "letter ('bij,bjk->bik')")
        output = list(right[3:])
        contracted = [x for x in dict.fromkeys("".join(inputs)) if x not in output]
        order = output + contracted
        terms = [self.trailing(bound(self.normalizer, op, "operand"), list(p[3:]), order)
                 for op, p in zip(operands, inputs, strict=True)]
        product = terms[0] if len(terms) == 1 else ast.BinOp(
            left=terms[0], op=ast.Mult(), right=terms[1])
        if contracted:
            return self.sum(product, list(range(-len(contracted), 0)))
        if product is terms[0] and isinstance(product, ast.Name):
            return ast.Call(func=self.np("copy"), args=[product], keywords=[])
        return product

    def trailing(self, expr: ast.expr, letters: list[str], order: list[str]) -> ast.expr:
        """``expr``, whose last axes carry ``letters``, with an axis of extent 1 appended for
        each letter of ``order`` it lacks and its last axes moved into ``order``."""
        missing = [x for x in order if x not in letters]
        for _ in missing:
            expr = ast.Call(func=self.np("expand_dims"), args=[expr, ast.Constant(value=-1)],
                            keywords=[])
        current = letters + missing
        if current == order:
            return expr
        n = len(order)
        return ast.Call(func=self.np("moveaxis"), args=[
            expr, _ints([current.index(x) - n for x in order]), _ints(list(range(-n, 0)))],
            keywords=[])

    # -- one operand ------------------------------------------------------------------------

    def diagonals(self, expr: ast.expr, letters: list[str]) -> tuple[ast.expr, list[str]]:
        """``expr`` with each letter repeated in ``letters`` reduced to its diagonal."""
        while True:
            repeated = [p for p, letter in enumerate(letters) if letters.index(letter) != p]
            if not repeated:
                return expr, letters
            q = repeated[0]
            p = letters.index(letters[q])
            expr = bound(self.normalizer, expr, "operand")
            size = ast.Subscript(value=ast.Attribute(value=expr, attr="shape", ctx=ast.Load()),
                                 slice=ast.Constant(value=p), ctx=ast.Load())
            eye = ast.Call(func=self.np("eye"), args=[size], keywords=[])
            placed = ast.Subscript(value=eye, slice=ast.Tuple(elts=[
                _slice() if d in (p, q) else ast.Constant(value=None)
                for d in range(len(letters))], ctx=ast.Load()), ctx=ast.Load())
            masked = ast.BinOp(left=expr, op=ast.Mult(), right=placed)
            expr = self.sum(masked, [q])
            letters = letters[:q] + letters[q + 1:]

    def sum_out(self, expr: ast.expr, letters: list[str], needed: set[str]
                ) -> tuple[ast.expr, list[str]]:
        """``expr`` summed over the axes whose letters are not ``needed``."""
        axes = [p for p, letter in enumerate(letters) if letter not in needed]
        if not axes:
            return expr, letters
        return self.sum(expr, axes), [x for x in letters if x in needed]

    # -- two operands -----------------------------------------------------------------------

    def pair(self, a: ast.expr, la: list[str], b: ast.expr, lb: list[str], later: set[str]
             ) -> tuple[ast.expr, list[str]]:
        batch = [x for x in la if x in lb and x in later]
        contracted = [x for x in la if x in lb and x not in later]
        free_a = [x for x in la if x not in lb]
        free_b = [x for x in lb if x not in la]
        letters = batch + free_a + free_b
        if not batch:
            axes_a = _ints([la.index(x) for x in contracted])
            axes_b = _ints([lb.index(x) for x in contracted])
            product = ast.Call(func=self.normalizer.reference(contract),
                               args=[a, b, axes_a, axes_b], keywords=[])
            return product, letters
        if len(contracted) == 1 and len(free_a) <= 1 and len(free_b) <= 1:
            left = self.transpose(a, la, batch + free_a + contracted)
            right = self.transpose(b, lb, batch + contracted + free_b)
            nb = len(batch)
            if not free_a:  # a row
                left = _index(left, [_slice()] * nb + [ast.Constant(value=None), _slice()])
            if not free_b:  # a column
                right = _index(right, [_slice()] * (nb + 1) + [ast.Constant(value=None)])
            product: ast.expr = ast.BinOp(left=left, op=ast.MatMult(), right=right)
            if not free_a or not free_b:
                product = _index(product, [_slice()] * nb + [
                    _slice() if free_a else ast.Constant(value=0),
                    _slice() if free_b else ast.Constant(value=0)])
            return product, letters
        order = letters + contracted
        spread_a = self.spread(a, la, order)
        spread_b = self.spread(b, lb, order)
        product = ast.BinOp(left=spread_a, op=ast.Mult(), right=spread_b)
        if contracted:
            product = self.sum(product, list(range(len(letters), len(order))))
        return product, letters

    def spread(self, expr: ast.expr, letters: list[str], order: list[str]) -> ast.expr:
        """``expr`` transposed to the order of ``order`` and given an axis of extent 1 for
        each letter of ``order`` it lacks."""
        expr = self.transpose(expr, letters, [x for x in order if x in letters])
        if len(letters) == len(order):
            return expr
        return _index(expr, [_slice() if x in letters else ast.Constant(value=None)
                             for x in order])

    # -- helpers ----------------------------------------------------------------------------

    def transpose(self, expr: ast.expr, letters: list[str], order: list[str]) -> ast.expr:
        perm = [letters.index(x) for x in order]
        if perm == list(range(len(letters))):
            return expr
        return ast.Call(func=self.np("transpose"), args=[expr, _ints(perm)], keywords=[])

    def sum(self, expr: ast.expr, axes: list[int]) -> ast.expr:
        axis = ast.Constant(value=axes[0]) if len(axes) == 1 else _ints(axes)
        return ast.Call(func=self.np("sum"), args=[expr, axis], keywords=[])

    def np(self, name: str) -> ast.expr:
        return self.normalizer.numpy_function(name)


def _ints(values: list[int]) -> ast.Tuple:
    return ast.Tuple(elts=[ast.Constant(value=v) for v in values], ctx=ast.Load())


def _slice() -> ast.Slice:
    return ast.Slice(lower=None, upper=None, step=None)


def _index(expr: ast.expr, parts: list[ast.expr]) -> ast.Subscript:
    return ast.Subscript(value=expr, slice=ast.Tuple(elts=parts, ctx=ast.Load()),
                         ctx=ast.Load())

