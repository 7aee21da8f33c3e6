"""Products beyond matmul (inner, vdot, tensordot, kron, cross, einsum) and ``np.linalg``.

Each rule: ``(g, ans, *args)``, adjoints shaped like the arguments (``elementwise=False``).
Contractions of any ranks go through one kernel, ``contract`` (``np.tensordot``'s product):
``np.inner`` is a contraction of the last axes (``composite``), ``np.tensordot`` and
``np.einsum`` are rewritten into contractions, transposes, sums and ``@`` when the function is
compiled (their axes and subscripts are literals).  ``np.linalg.norm`` is rewritten by its
literal ``ord``/``axis``/``keepdims`` into reductions and the norm kernels, whose derivative
at 0 is the subgradient 0 (never NaN).

Forward mode: products are linear in each factor (``linear(..., jointly=False)``); the
others have a forward rule beside their reverse rule.  ``det``, ``slogdet``, ``inv`` and
``solve`` are written in terms of ``inv``/``solve`` themselves, so their second derivatives
come from the same table; the kernels of the factorizations' rules (Cholesky, QR, ``eigh``,
the singular values, ``ord=2``) are composites for second order (see the section below).
Second derivatives hold where the first ones do: full rank, distinct eigenvalues and
distinct nonzero singular values; where two eigenvalues coincide the eigenvectors have no
derivative and ``eigen_gaps`` is infinite (the first-order rules' policy: the formula for
distinct ones, evaluated).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from .. import einsum as _einsum
from ..kernels import matmul_left, ratio_or_zero, sum_along, unbroadcast
from ..kernels_linalg import (
    _lower_folded,
    _mirrored_lower,
    _phi,
    _qr_adjoint,
    _qr_tangents,
    cholesky_adjoint,
    cholesky_tangent,
    contract,
    contract_left,
    contract_right,
    det_sign,
    eigen_gaps,
    eigenvectors,
    eigenvectors_adjoint,
    eigenvectors_tangent,
    eigvalsh_adjoint,
    eigvalsh_tangent,
    kron_left,
    kron_right,
    log_abs_det,
    norm2,
    norm2_kept,
    pnorm,
    pnorm_kept,
    pnorm_weights,
    qr_q,
    qr_q_adjoint,
    qr_q_tangent,
    qr_r,
    qr_r_adjoint,
    qr_r_tangent,
    singular_values,
    singular_values_adjoint,
    singular_values_tangent,
    spectral_norm,
    spectral_weights,
)
from ..kernels_shapes import tri_mask
from . import composite, derivative, linear, nondifferentiable, rewrite, tangent

# -- products ----------------------------------------------------------------------------------


@derivative(contract, elementwise=False)
def contraction(g, ans, a, b, axes_a, axes_b):
    return (contract_left(g, a, b, axes_a, axes_b), contract_right(g, a, b, axes_a, axes_b),
            None, None)


linear(contract, jointly=False)


@composite(np.inner)
def inner(a, b):
    return contract(a, b, (-1,), (-1,))


@composite(np.vdot)
def vdot(a, b):
    return np.dot(np.ravel(a), np.ravel(b))


@derivative(np.kron, elementwise=False)
def kron(g, ans, a, b):
    return kron_left(g, a, b), kron_right(g, a, b)


linear(np.kron, jointly=False)


@derivative(np.cross, elementwise=False)
def cross(g, ans, a, b):
    return unbroadcast(np.cross(b, g), a), unbroadcast(np.cross(g, a), b)


linear(np.cross, jointly=False)


# -- np.linalg ---------------------------------------------------------------------------------


@derivative(np.linalg.det, elementwise=False)
def det(g, ans, a):
    return g * ans * np.transpose(np.linalg.inv(a))


@tangent(np.linalg.det)
def det_tangent(t, ans, a):
    return ans * np.sum(np.transpose(np.linalg.inv(a)) * t)


@derivative(log_abs_det, elementwise=False)
def logabsdet(g, ans, a):
    return g * np.transpose(np.linalg.inv(a))


@tangent(log_abs_det)
def logabsdet_tangent(t, ans, a):
    return np.sum(np.transpose(np.linalg.inv(a)) * t)


nondifferentiable(det_sign)


@composite(np.linalg.slogdet)
def slogdet(a):
    return det_sign(a), log_abs_det(a)


@derivative(np.linalg.inv, elementwise=False)
def inv(g, ans, a):
    return -(np.transpose(ans) @ g @ np.transpose(ans))


@tangent(np.linalg.inv)
def inv_tangent(t, ans, a):
    return -(ans @ t @ ans)


@derivative(np.linalg.solve, elementwise=False)
def solve(g, ans, a, b):
    return (-matmul_left(np.linalg.solve(np.transpose(a), g), a, ans),
            np.linalg.solve(np.transpose(a), g))


@tangent(np.linalg.solve)
def solve_tangent(t, ans, a, b):
    return -np.linalg.solve(a, t @ ans), np.linalg.solve(a, t)


@derivative(np.linalg.cholesky, elementwise=False)
def cholesky(g, ans, a):
    return cholesky_adjoint(g, ans)


@tangent(np.linalg.cholesky)
def cholesky_forward(t, ans, a):
    return cholesky_tangent(t, ans)


def eigvalsh_forward(t, ans, a):
    return eigvalsh_tangent(t, a)


@derivative(np.linalg.eigvalsh, elementwise=False, forward=eigvalsh_forward)
def eigvalsh(g, ans, a):
    return eigvalsh_adjoint(g, a)


def eigenvectors_forward(t, ans, a):
    return eigenvectors_tangent(t, a)


@derivative(eigenvectors, elementwise=False, forward=eigenvectors_forward)
def eigenvectors_rule(g, ans, a):
    return eigenvectors_adjoint(g, a)


def singular_values_forward(t, ans, a):
    return singular_values_tangent(t, a)


@derivative(singular_values, elementwise=False, forward=singular_values_forward)
def singular_values_rule(g, ans, a):
    return singular_values_adjoint(g, a)


@derivative(np.linalg.pinv, elementwise=False)
def pinv(g, ans, a):
    return (-(np.transpose(ans) @ g @ np.transpose(ans))
            + (np.eye(a.shape[0]) - a @ ans) @ np.transpose(g) @ ans @ np.transpose(ans)
            + np.transpose(ans) @ ans @ np.transpose(g) @ (np.eye(a.shape[1]) - ans @ a))


@tangent(np.linalg.pinv)
def pinv_tangent(t, ans, a):
    return (-(ans @ t @ ans)
            + ans @ np.transpose(ans) @ np.transpose(t) @ (np.eye(a.shape[0]) - a @ ans)
            + (np.eye(a.shape[1]) - ans @ a) @ np.transpose(t) @ np.transpose(ans) @ ans)


def _factor_rules(primal: Any, adjoint: Any, forward: Any) -> None:
    """The rules of one factor of a factorization computed by a kernel: its adjoint and its
    tangent kernels, each of the factor's adjoint (tangent) and the matrix."""
    def factor_forward(t, ans, a):
        return forward(t, a)

    @derivative(primal, elementwise=False, forward=factor_forward)
    def factor(g, ans, a):
        return adjoint(g, a)


_factor_rules(qr_q, qr_q_adjoint, qr_q_tangent)
_factor_rules(qr_r, qr_r_adjoint, qr_r_tangent)


# -- second order: the kernels of the rules above as differentiable code ---------------------
#
# Reverse mode over forward code (hvp, hessian, grad(grad)), forward mode over a gradient
# (jacobian of grad) and reverse mode over a jvp meet the adjoint and tangent kernels of the
# factorizations.  Each has a definition in operations that have rules of their own (inv,
# solve, @, np.tril, eigvalsh, eigenvectors), inlined where generated code that is
# differentiated again calls it; first-order code keeps calling the kernels.  The second
# derivatives hold where the first ones do: full rank, distinct eigenvalues and singular
# values (where two coincide ``eigen_gaps`` is infinite, as the derivative of the
# eigenvectors is undefined there).


@composite(_phi)
def phi_definition(x):
    return np.where(tri_mask(x, -1), x, 0.5 * (x * np.eye(x.shape[0])))


@composite(_lower_folded)
def lower_folded_definition(s):
    return np.where(tri_mask(s, -1), 2.0 * s, s * np.eye(s.shape[0]))


@composite(_mirrored_lower)
def mirrored_lower_definition(t):
    return np.where(tri_mask(t, 0), t, np.transpose(t))


@composite(cholesky_adjoint)
def cholesky_adjoint_definition(g, chol):
    inverse = np.linalg.inv(chol)
    s = np.transpose(inverse) @ _phi(np.transpose(chol) @ g) @ inverse
    return _lower_folded(0.5 * (s + np.transpose(s)))


@composite(cholesky_tangent)
def cholesky_tangent_definition(t, chol):
    inverse = np.linalg.inv(chol)
    return chol @ _phi(inverse @ _mirrored_lower(t) @ np.transpose(inverse))


@composite(eigen_gaps)
def eigen_gaps_definition(w):
    n = w.shape[0]
    gaps = np.reshape(w, (1, n)) - np.reshape(w, (n, 1)) + np.eye(n)
    return (1.0 - np.eye(n)) / gaps


@composite(eigenvectors_adjoint)
def eigenvectors_adjoint_definition(g, a):
    v = eigenvectors(a)
    s = v @ (eigen_gaps(np.linalg.eigvalsh(a)) * (np.transpose(v) @ g)) @ np.transpose(v)
    return _lower_folded(0.5 * (s + np.transpose(s)))


@composite(eigenvectors_tangent)
def eigenvectors_tangent_definition(t, a):
    v = eigenvectors(a)
    return v @ (eigen_gaps(np.linalg.eigvalsh(a))
                * (np.transpose(v) @ _mirrored_lower(t) @ v))


@composite(eigvalsh_adjoint)
def eigvalsh_adjoint_definition(g, a):
    v = eigenvectors(a)
    return _lower_folded((v * g) @ np.transpose(v))


@composite(eigvalsh_tangent)
def eigvalsh_tangent_definition(t, a):
    v = eigenvectors(a)
    return np.sum(v * (_mirrored_lower(t) @ v), axis=0)


# The singular values of A (m x n) are the square roots of the eigenvalues of its Gram
# matrix, A^T A for m >= n (V its eigenvectors, U = A V / s), A A^T otherwise (V^T =
# U^T A / s), in the reverse order; the products below need no sign of U or V.


@composite(singular_values_adjoint)
def singular_values_adjoint_definition(g, a):
    if a.shape[0] >= a.shape[1]:
        gram = np.transpose(a) @ a
        v = eigenvectors(gram)
        return a @ (v * (np.flip(g) / np.sqrt(np.linalg.eigvalsh(gram)))) @ np.transpose(v)
    gram = a @ np.transpose(a)
    u = eigenvectors(gram)
    return (u * (np.flip(g) / np.sqrt(np.linalg.eigvalsh(gram)))) @ np.transpose(u) @ a


@composite(singular_values_tangent)
def singular_values_tangent_definition(t, a):
    if a.shape[0] >= a.shape[1]:
        gram = np.transpose(a) @ a
        v = eigenvectors(gram)
        return np.flip(np.sum((a @ v) * (t @ v), axis=0)
                       / np.sqrt(np.linalg.eigvalsh(gram)))
    gram = a @ np.transpose(a)
    u = eigenvectors(gram)
    return np.flip(np.sum(u * (t @ np.transpose(a) @ u), axis=0)
                   / np.sqrt(np.linalg.eigvalsh(gram)))


@composite(spectral_weights)
def spectral_weights_definition(a):
    if a.shape[0] >= a.shape[1]:
        gram = np.transpose(a) @ a
        v = eigenvectors(gram)[:, -1]
        return ratio_or_zero(np.outer(a @ v, v), np.sqrt(np.linalg.eigvalsh(gram)[-1]))
    gram = a @ np.transpose(a)
    u = eigenvectors(gram)[:, -1]
    return ratio_or_zero(np.outer(u, np.transpose(a) @ u),
                         np.sqrt(np.linalg.eigvalsh(gram)[-1]))


@composite(_qr_adjoint)
def qr_adjoint_definition(g_q, g_r, a):
    q = qr_q(a)
    r = qr_r(a)
    m = r @ np.transpose(g_r) - np.transpose(g_q) @ q
    return np.transpose(np.linalg.solve(r, np.transpose(g_q + q @ _mirrored_lower(m))))


@composite(qr_q_adjoint)
def qr_q_adjoint_definition(g, a):
    return _qr_adjoint(g, np.zeros((a.shape[1], a.shape[1])), a)


@composite(qr_r_adjoint)
def qr_r_adjoint_definition(g, a):
    return _qr_adjoint(np.zeros(a.shape), g, a)


@composite(_qr_tangents)
def qr_tangents_definition(t, a):
    q = qr_q(a)
    r = qr_r(a)
    x = np.transpose(np.linalg.solve(np.transpose(r), np.transpose(t)))
    c = np.transpose(q) @ x
    omega = np.tril(c, -1) - np.transpose(np.tril(c, -1))
    return q @ omega + x - q @ c, (c - omega) @ r


@composite(qr_q_tangent)
def qr_q_tangent_definition(t, a):
    q_tangent, r_tangent = _qr_tangents(t, a)
    return q_tangent


@composite(qr_r_tangent)
def qr_r_tangent_definition(t, a):
    q_tangent, r_tangent = _qr_tangents(t, a)
    return r_tangent


# -- norms -------------------------------------------------------------------------------------


@derivative(norm2, elementwise=False)
def norm2_rule(g, ans, x):
    return g * ratio_or_zero(x, ans)


@tangent(norm2)
def norm2_tangent(t, ans, x):
    return ratio_or_zero(np.sum(x * t), ans)


@derivative(norm2_kept, elementwise=False)
def norm2_kept_rule(g, ans, x, axis):
    return g * ratio_or_zero(x, ans), None


@tangent(norm2_kept)
def norm2_kept_tangent(t, ans, x, axis):
    return ratio_or_zero(sum_along(x * t, axis, True), ans), None


@derivative(pnorm, elementwise=False)
def pnorm_rule(g, ans, x, p):
    return g * pnorm_weights(x, ans, p), None


@tangent(pnorm)
def pnorm_tangent(t, ans, x, p):
    return np.sum(t * pnorm_weights(x, ans, p)), None


@composite(pnorm_weights)
def pnorm_weights_definition(x, norm, p):
    """The kernel of the two rules above as differentiable code: what reverse mode reads
    where it differentiates a p-norm's tangent (second order)."""
    ratio = ratio_or_zero(np.abs(x), norm)
    return np.where(ratio == 0.0, 0.0, np.sign(x) * np.abs(ratio) ** (p - 1.0))


@derivative(pnorm_kept, elementwise=False)
def pnorm_kept_rule(g, ans, x, p, axis):
    return g * pnorm_weights(x, ans, p), None, None


@tangent(pnorm_kept)
def pnorm_kept_tangent(t, ans, x, p, axis):
    return sum_along(t * pnorm_weights(x, ans, p), axis, True), None, None


@derivative(spectral_norm, elementwise=False)
def spectral(g, ans, a):
    return g * spectral_weights(a)


@tangent(spectral_norm)
def spectral_tangent(t, ans, a):
    return np.sum(t * spectral_weights(a))


# -- calls rewritten by their literal arguments ------------------------------------------------

rewrite(np.einsum)(_einsum.lower)


_NO_VALUE = object()


def _arguments(call: ast.Call, normalizer: Any, names: list[str], defaults: dict[str, Any]
               ) -> dict[str, ast.expr | None]:
    """The call's arguments by parameter name (``None``: left at its default)."""
    what = ast.unparse(call.func)
    if len(call.args) > len(names):
        raise normalizer.info.error(call, f"{what}() takes at most {len(names)} arguments "
                                    "here", construct=what, hint=f"pass {', '.join(names)}")
    bound: dict[str, ast.expr | None] = dict(zip(names, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg not in names or kw.arg in bound:
            raise normalizer.info.error(call, f"the keyword argument '{kw.arg}' in the call "
                                        f"to '{what}' is not supported", construct=what,
                                        hint=f"its parameters are {', '.join(names)}")
        bound[kw.arg] = kw.value
    return {name: bound.get(name) for name in names}


def _literal(node: ast.expr | None, normalizer: Any, default: Any = None) -> Any:
    """The value of a literal argument: a number (``np.inf``, ``-np.inf``, a module constant
    too), a string, None, True/False, or a tuple or list of ints; ``_NO_VALUE`` otherwise."""
    if node is None:
        return default
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _literal(node.operand, normalizer)
        return -value if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else _NO_VALUE
    if isinstance(node, (ast.Tuple, ast.List)):
        values = [_literal(e, normalizer) for e in node.elts]
        return _NO_VALUE if any(v is _NO_VALUE for v in values) else tuple(values)
    if isinstance(node, (ast.Name, ast.Attribute)):
        value = normalizer.info.resolve(node)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
    return _NO_VALUE


def _ints(values: Any) -> ast.Tuple:
    return ast.Tuple(elts=[ast.Constant(value=int(v)) for v in values], ctx=ast.Load())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@rewrite(np.tensordot)
def tensordot(call: ast.Call, normalizer: Any) -> ast.expr:
    """``np.tensordot(a, b, axes)`` with literal ``axes`` (an int: ``a``'s last ones with
    ``b``'s first ones; or a pair of ints or sequences) as ``contract(a, b, axes_a, axes_b)``."""
    args = _arguments(call, normalizer, ["a", "b", "axes"], {})
    if args["a"] is None or args["b"] is None:
        raise normalizer.info.error(call, "np.tensordot takes two arrays",
                                    construct="np.tensordot", hint="np.tensordot(a, b, axes)")
    axes = _literal(args["axes"], normalizer, 2)
    if _is_int(axes) and axes >= 0:
        axes_a, axes_b = tuple(range(-axes, 0)), tuple(range(axes))
    elif (isinstance(axes, tuple) and len(axes) == 2
          and all(_is_int(x) or (isinstance(x, tuple) and all(map(_is_int, x))) for x in axes)):
        axes_a, axes_b = ((x,) if _is_int(x) else x for x in axes)
        if len(axes_a) != len(axes_b):
            raise normalizer.info.error(call, "the two sequences of axes of np.tensordot "
                                        "differ in length", construct="np.tensordot",
                                        hint="pair each axis of a with one of b: "
                                        "axes=((1, 0), (0, 1))")
    else:
        raise normalizer.info.error(call, "np.tensordot needs its axes written as a literal: "
                                    "an int, or a pair of ints or of tuples of ints",
                                    construct="np.tensordot", hint="write axes=2 or axes="
                                    "((1, 0), (0, 1)) in the call (the axes decide the rank "
                                    "of the result, which must be known when compiling)")
    return ast.Call(func=normalizer.reference(contract),
                    args=[args["a"], args["b"], _ints(axes_a), _ints(axes_b)], keywords=[])


def _np(normalizer: Any, name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=normalizer.numpy_function(name), args=list(args), keywords=[])


def _matmul(left: ast.expr, right: ast.expr) -> ast.BinOp:
    return ast.BinOp(left=left, op=ast.MatMult(), right=right)


@rewrite(np.linalg.svd)
def svd(call: ast.Call, normalizer: Any) -> ast.expr:
    """``np.linalg.svd(a, compute_uv=False)``: the singular values (``singular_values``);
    the factors ``U`` and ``Vt`` are refused."""
    args = _arguments(call, normalizer, ["a", "full_matrices", "compute_uv", "hermitian"], {})
    if _literal(args["compute_uv"], normalizer, True) is not False or args["a"] is None \
            or _literal(args["hermitian"], normalizer, False) is not False:
        raise normalizer.info.error(call, "np.linalg.svd is differentiated for its singular "
                                    "values only (compute_uv=False): the derivative of U and "
                                    "Vt is not supported", construct="np.linalg.svd",
                                    hint="np.linalg.svd(a, compute_uv=False) for the singular "
                                    "values; np.linalg.norm(a, 2) for the largest; the right "
                                    "singular vectors are the eigenvectors of a.T @ a "
                                    "(np.linalg.eigh, eigenvalues increasing, signs free)")
    return ast.Call(func=normalizer.reference(singular_values), args=[args["a"]], keywords=[])


def _matrix_with_default(call: ast.Call, normalizer: Any, option: str, default: str,
                         unpacked: str) -> ast.Name:
    """The matrix of a factorization called with ``option`` at its ``default`` (refused
    otherwise), bound to a name."""
    what = ast.unparse(call.func)
    args = _arguments(call, normalizer, ["a", option], {})
    if args["a"] is None or _literal(args[option], normalizer, default) != default:
        raise normalizer.info.error(call, f"{what} is supported with its default "
                                    f"{option}={default!r}", construct=what,
                                    hint=f"{unpacked} = {what}(a)")
    return _einsum.bound(normalizer, args["a"], "a")


@rewrite(np.linalg.eigh, gives_tuple=True)
def eigh(call: ast.Call, normalizer: Any) -> ast.expr:
    """``w, v = np.linalg.eigh(a)``: ``(np.linalg.eigvalsh(a), eigenvectors(a))``, each with
    its rules (distinct eigenvalues for the eigenvectors)."""
    a = _matrix_with_default(call, normalizer, "UPLO", "L", "w, v")
    values = ast.Call(func=ast.Attribute(value=normalizer.numpy_function("linalg"),
                                         attr="eigvalsh", ctx=ast.Load()), args=[a],
                      keywords=[])
    vectors = ast.Call(func=normalizer.reference(eigenvectors), args=[a], keywords=[])
    return ast.Tuple(elts=[values, vectors], ctx=ast.Load())


@rewrite(np.linalg.qr, gives_tuple=True)
def qr(call: ast.Call, normalizer: Any) -> ast.expr:
    """``q, r = np.linalg.qr(a)`` (mode 'reduced', the default): ``(qr_q(a), qr_r(a))``,
    each factor with its rules (``a`` of full column rank, at least as many rows as
    columns)."""
    a = _matrix_with_default(call, normalizer, "mode", "reduced", "q, r")
    return ast.Tuple(elts=[ast.Call(func=normalizer.reference(factor), args=[a], keywords=[])
                           for factor in (qr_q, qr_r)], ctx=ast.Load())


@rewrite(np.linalg.multi_dot)
def multi_dot(call: ast.Call, normalizer: Any) -> ast.expr:
    """``np.linalg.multi_dot([A, B, C])``: ``A @ B @ C`` (a 1-D first or last factor is a row
    or a column, as in NumPy)."""
    args = _arguments(call, normalizer, ["arrays"], {})
    factors = args["arrays"]
    if not isinstance(factors, (ast.Tuple, ast.List)) or len(factors.elts) < 2 or any(
            isinstance(e, ast.Starred) for e in factors.elts):
        raise normalizer.info.error(call, "np.linalg.multi_dot needs its factors written in "
                                    "the call, at least two", construct="np.linalg.multi_dot",
                                    hint="np.linalg.multi_dot([A, B, C]), or A @ B @ C")
    product = factors.elts[0]
    for factor in factors.elts[1:]:
        product = _matmul(product, factor)
    return product


@rewrite(np.linalg.matrix_power)
def matrix_power(call: ast.Call, normalizer: Any) -> ast.expr:
    """``np.linalg.matrix_power(a, n)`` with a literal integer ``n``: products of ``a`` by
    repeated squaring, of ``np.linalg.inv(a)`` for ``n < 0``; ``n == 0`` is the identity
    (``a * 0.0 + np.eye``: the shape of ``a``, no derivative)."""
    args = _arguments(call, normalizer, ["a", "n"], {})
    power = _literal(args["n"], normalizer)
    if args["a"] is None or not _is_int(power):
        raise normalizer.info.error(call, "np.linalg.matrix_power needs its power written as "
                                    "an integer literal (it decides the number of products)",
                                    construct="np.linalg.matrix_power",
                                    hint="np.linalg.matrix_power(A, 3), or write the products: "
                                    "A @ A @ A")
    a = _einsum.bound(normalizer, args["a"], "a")
    if power == 0:
        size = ast.Subscript(value=ast.Attribute(value=a, attr="shape", ctx=ast.Load()),
                             slice=ast.Constant(value=-1), ctx=ast.Load())
        return ast.BinOp(left=ast.BinOp(left=a, op=ast.Mult(), right=ast.Constant(value=0.0)),
                         op=ast.Add(), right=_np(normalizer, "eye", size))
    if power < 0:
        inverse = ast.Call(func=ast.Attribute(value=normalizer.numpy_function("linalg"),
                                              attr="inv", ctx=ast.Load()),
                           args=[a], keywords=[])
        a, power = _einsum.bound(normalizer, inverse, "inverse"), -power
    result = None
    square = a
    while True:
        if power & 1:
            result = square if result is None else _matmul(result, square)
        power >>= 1
        if not power:
            return result
        square = _einsum.bound(normalizer, _matmul(square, square), "square")


@rewrite(np.linalg.norm)
def norm(call: ast.Call, normalizer: Any) -> ast.expr:
    """``np.linalg.norm(x, ord, axis, keepdims)`` with literal options as what NumPy computes
    (see ``_Norm``)."""
    return _Norm(call, normalizer).expression()


_INF = float("inf")


class _Norm:
    """One call of ``np.linalg.norm``.  Vector norms (``axis`` an int): 2 (and None) and p
    by the norm kernels, 1 / inf / -inf / 0 by sums, maxima and minima of ``np.abs``.
    Matrix norms (``axis`` a pair): 'fro' (and None) by the 2-norm kernel, 1 / -1 / inf /
    -inf by sums and extrema.  ``axis=None``: None and 'fro' take every element; 1, inf and
    -inf are the matrix norm of a matrix and the vector norm of a vector (a vector is taken
    as one column, whose matrix norms are those), 2 the largest singular value (a column's is
    its 2-norm); other orders are vector norms."""

    def __init__(self, call: ast.Call, normalizer: Any) -> None:
        self.call = call
        self.normalizer = normalizer
        args = _arguments(call, normalizer, ["x", "ord", "axis", "keepdims"], {})
        if args["x"] is None:
            raise self.error("np.linalg.norm takes an array", "np.linalg.norm(x)")
        self.ord = _literal(args["ord"], normalizer)
        self.axis = _literal(args["axis"], normalizer)
        self.keepdims = _literal(args["keepdims"], normalizer, False)
        for name, value in (("ord", self.ord), ("axis", self.axis),
                            ("keepdims", self.keepdims)):
            if value is _NO_VALUE:
                raise self.error(f"np.linalg.norm needs {name}= written as a literal (it "
                                 "decides the formula)", "write ord=2, ord=np.inf, ord='fro', "
                                 "axis=1, axis=(0, 1), keepdims=True in the call")
        if not isinstance(self.keepdims, bool):
            raise self.error("keepdims= must be True or False", "write keepdims=True")
        if isinstance(self.ord, bool) or not (self.ord is None or isinstance(
                self.ord, (int, float)) or self.ord in ("fro", "nuc")):
            raise self.error(f"np.linalg.norm has no ord={self.ord!r}",
                             "ord is None, a number, np.inf, -np.inf, 'fro' or 'nuc'")
        self.x = _einsum.bound(normalizer, args["x"], "x")

    def error(self, message: str, hint: str) -> Exception:
        return self.normalizer.info.error(self.call, message, construct="np.linalg.norm",
                                          hint=hint)

    def expression(self) -> ast.expr:
        if self.axis is None:
            return self.whole()
        if _is_int(self.axis):
            return self.vector((self.axis,))
        if (isinstance(self.axis, tuple) and len(self.axis) == 1 and _is_int(self.axis[0])):
            return self.vector(self.axis)
        if (isinstance(self.axis, tuple) and len(self.axis) == 2
                and all(map(_is_int, self.axis))):
            if self.axis[0] == self.axis[1]:
                raise self.error("the two axes of a matrix norm are the same axis",
                                 "name two different axes: axis=(0, 1)")
            return self.matrix(self.axis)
        raise self.error(f"np.linalg.norm takes axis=None, an int or a pair of ints, not "
                         f"axis={self.axis!r}", "axis=1 for vector norms, axis=(0, 1) for "
                         "matrix norms")

    def whole(self) -> ast.expr:
        ord_ = self.ord
        if ord_ is None or ord_ == "fro":
            if self.keepdims:
                return self.kernel(norm2_kept, ast.Constant(value=None))
            return self.kernel(norm2)
        if ord_ == "nuc" or ord_ in (-1, -2):
            raise self.error(f"np.linalg.norm(x, {ord_!r}) without axis is not supported: it "
                             "is a vector norm of a vector and a matrix norm of a matrix",
                             "name the axes: axis=0 for a vector, axis=(0, 1) for a matrix "
                             "(ord=-2 and 'nuc' of a matrix are not supported)")
        if ord_ in (1, _INF, -_INF, 2):
            if self.keepdims:
                raise self.error(f"keepdims=True with ord={ord_!r} and no axis is not "
                                 "supported", "name the axes: axis=0 for a vector, axis=(0, "
                                 "1) for a matrix")
            column = self.call_np("reshape", self.x, ast.Tuple(elts=[
                ast.Subscript(value=ast.Attribute(value=self.x, attr="shape", ctx=ast.Load()),
                              slice=ast.Constant(value=0), ctx=ast.Load()),
                ast.Constant(value=-1)], ctx=ast.Load()))
            if ord_ == 2:
                return self.kernel(spectral_norm, x=column)
            magnitude = self.call_np("abs", column)
            if ord_ == 1:
                return self.call_np("max", self.call_np("sum", magnitude, ast.Constant(0)))
            extremum = "max" if ord_ > 0 else "min"
            return self.call_np(extremum, self.call_np("sum", magnitude, ast.Constant(1)))
        if ord_ == 0:
            return self.count(None)
        if self.keepdims:
            return self.kernel(pnorm_kept, ast.Constant(value=float(ord_)),
                               ast.Constant(value=None))
        return self.kernel(pnorm, ast.Constant(value=float(ord_)))

    def vector(self, axis: tuple) -> ast.expr:
        ord_ = self.ord
        axis_node = _ints(axis)  # a tuple: the reductions' general form (keepdims)
        if ord_ in ("fro", "nuc"):
            raise self.error(f"ord={ord_!r} is a matrix norm, and axis={axis[0]} asks for "
                             "vector norms", "give two axes: axis=(0, 1)")
        if ord_ is None or ord_ == 2:
            return self.squeezed(self.kernel(norm2_kept, axis_node), axis)
        if ord_ == 0:
            return self.count(axis_node)
        if ord_ in (1, _INF, -_INF):
            name = "sum" if ord_ == 1 else "max" if ord_ > 0 else "min"
            return self.reduce(name, self.call_np("abs", self.x), axis_node, self.keepdims)
        return self.squeezed(self.kernel(pnorm_kept, ast.Constant(value=float(ord_)),
                                         axis_node), axis)

    def matrix(self, axis: tuple) -> ast.expr:
        ord_ = self.ord
        row, col = axis
        if ord_ is None or ord_ == "fro":
            return self.squeezed(self.kernel(norm2_kept, _ints(axis)), axis)
        if ord_ in (1, -1, _INF, -_INF):
            summed, over = (row, col) if ord_ in (1, -1) else (col, row)
            sums = self.reduce("sum", self.call_np("abs", self.x), _ints((summed,)), True)
            extremum = self.reduce("max" if ord_ > 0 else "min", sums, _ints((over,)), True)
            return self.squeezed(extremum, axis)
        raise self.error(f"the matrix norm ord={ord_!r} with axis={axis!r} is not supported",
                         "for the largest singular value of a 2-D array, leave axis out: "
                         "np.linalg.norm(A, 2); 'nuc' and -2 are not supported")

    # -- pieces -----------------------------------------------------------------------------

    def count(self, axis: ast.expr | None) -> ast.expr:
        """The number of nonzero entries (ord=0), a float as in NumPy."""
        nonzero = ast.Compare(left=self.x, ops=[ast.NotEq()], comparators=[ast.Constant(0.0)])
        counted = (self.call_np("sum", nonzero) if axis is None and not self.keepdims
                   else self.reduce("sum", nonzero, axis or ast.Constant(value=None),
                                    self.keepdims))
        return ast.BinOp(left=counted, op=ast.Mult(), right=ast.Constant(value=1.0))

    def squeezed(self, kept: ast.expr, axis: tuple) -> ast.expr:
        if self.keepdims:
            return kept
        where = ast.Constant(value=axis[0]) if len(axis) == 1 else _ints(axis)
        return self.call_np("squeeze", kept, where)

    def reduce(self, name: str, value: ast.expr, axis: ast.expr, keepdims: bool) -> ast.expr:
        keywords = [ast.keyword(arg="keepdims", value=ast.Constant(value=True))] if keepdims \
            else []
        return ast.Call(func=self.normalizer.numpy_function(name), args=[value, axis],
                        keywords=keywords)

    def call_np(self, name: str, *args: ast.expr) -> ast.Call:
        return ast.Call(func=self.normalizer.numpy_function(name), args=list(args),
                        keywords=[])

    def kernel(self, func: Any, *args: ast.expr, x: ast.expr | None = None) -> ast.Call:
        return ast.Call(func=self.normalizer.reference(func),
                        args=[self.x if x is None else x, *args], keywords=[])
