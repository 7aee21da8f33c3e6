"""Kernels of products beyond ``@`` and of ``np.linalg``: what the forward sweep calls where
Numba has no function (``np.tensordot``, ``np.inner``, a norm whose derivative at 0 is the
subgradient 0), and the adjoints that are more than one NumPy expression (``np.kron``,
``np.linalg.cholesky``).

Generated code calls the public functions below; each is plain Python that NumPy runs as it
is and that Numba compiles (``backend.jitted``).  Where the rank of a result depends on the
argument types (a contraction of any ranks), the function calls a private stub whose Numba
implementation (``overload``) is written for the ranks at hand, as ``kernels.untranspose``
is.  Errors are raised with constant messages only (no formatting inside compiled code).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from .kernels import _axis_index, _dims, _is_array, as_float, ratio_or_zero, sum_along

# -- contractions: np.tensordot, np.inner, einsum --------------------------------------------


@njit(cache=True)
def contract(a, b, axes_a, axes_b):
    """``np.tensordot(a, b, (axes_a, axes_b))``: the products of ``a`` and ``b`` summed over
    the paired axes (tuples of ints); the result's axes are ``a``'s others, then ``b``'s
    others.  A number on either side multiplies."""
    return _contract(a, b, axes_a, axes_b)


@njit(cache=True)
def contract_left(g, a, b, axes_a, axes_b):
    """The adjoint of ``a`` in ``contract(a, b, axes_a, axes_b)`` (shaped like ``a``)."""
    return _contract_left(g, a, b, axes_a, axes_b)


@njit(cache=True)
def contract_right(g, a, b, axes_a, axes_b):
    """The adjoint of ``b`` in ``contract(a, b, axes_a, axes_b)`` (shaped like ``b``)."""
    return _contract_right(g, a, b, axes_a, axes_b)


def _contract(a, b, axes_a, axes_b):
    """Implemented for Numba below, per rank."""


def _contract_left(g, a, b, axes_a, axes_b):
    """Implemented for Numba below, per rank."""


def _contract_right(g, a, b, axes_a, axes_b):
    """Implemented for Numba below, per rank."""


@njit(cache=True)
def _plan(adims, bdims, ca, cb):
    """For ``a`` (extents ``adims``) and ``b`` contracted over axes ``ca`` of ``a`` with
    ``cb`` of ``b``: the permutation of ``a`` that puts its free axes first and the contracted
    ones last, that of ``b`` (contracted first), the sizes m, k, n of ``a`` and ``b`` as
    matrices (m, k) and (k, n), and the extents of the result."""
    ra, rb, c = adims.shape[0], bdims.shape[0], ca.shape[0]
    used_a = np.zeros(ra, np.bool_)
    used_b = np.zeros(rb, np.bool_)
    for i in range(c):
        if adims[ca[i]] != bdims[cb[i]]:
            raise ValueError("shape-mismatch for sum")
        if used_a[ca[i]] or used_b[cb[i]]:
            raise ValueError("repeated axis in a contraction")
        used_a[ca[i]] = True
        used_b[cb[i]] = True
    perm_a = np.empty(ra, np.int64)
    perm_b = np.empty(rb, np.int64)
    out = np.empty(ra + rb - 2 * c, np.int64)
    j = 0
    m = 1
    for d in range(ra):
        if not used_a[d]:
            perm_a[j] = d
            out[j] = adims[d]
            m *= adims[d]
            j += 1
    k = 1
    for i in range(c):
        perm_a[ra - c + i] = ca[i]
        perm_b[i] = cb[i]
        k *= adims[ca[i]]
    n = 1
    j2 = c
    for d in range(rb):
        if not used_b[d]:
            perm_b[j2] = d
            out[j] = bdims[d]
            n *= bdims[d]
            j += 1
            j2 += 1
    return perm_a, perm_b, m, k, n, out


@njit(cache=True)
def _permuted(dims, perm):
    """``dims`` in the order ``perm``, and the inverse permutation."""
    out = np.empty(dims.shape[0], np.int64)
    inverse = np.empty(dims.shape[0], np.int64)
    for d in range(dims.shape[0]):
        out[d] = dims[perm[d]]
        inverse[perm[d]] = d
    return out, inverse


def _count(axes: Any) -> int | None:
    if isinstance(axes, types.BaseTuple):
        return len(axes)
    return None


def _contraction_source(kind: str, ra: int, rb: int, c: int, g_array: bool) -> str:
    """The Numba implementation of ``_contract`` (``kind`` "value"), ``_contract_left`` or
    ``_contract_right`` for operands of ranks ``ra``, ``rb`` and ``c`` paired axes, written
    out so that every rank is a constant (``to_fixed_tuple``)."""
    rout = ra + rb - 2 * c
    head = ("def impl(a, b, axes_a, axes_b):" if kind == "value"
            else "def impl(g, a, b, axes_a, axes_b):")
    lines = [head, f"    ca = np.empty({c}, np.int64)", f"    cb = np.empty({c}, np.int64)"]
    lines += [f"    ca[{i}] = _axis_index(axes_a[{i}], {ra})" for i in range(c)]
    lines += [f"    cb[{i}] = _axis_index(axes_b[{i}], {rb})" for i in range(c)]
    lines += [
        "    adims = _dims(a.shape)",
        "    bdims = _dims(b.shape)",
        "    perm_a, perm_b, m, k, n, out = _plan(adims, bdims, ca, cb)",
        f"    a2 = np.ascontiguousarray(as_float(a).transpose(to_fixed_tuple(perm_a, {ra})))"
        ".reshape((m, k))",
        f"    b2 = np.ascontiguousarray(as_float(b).transpose(to_fixed_tuple(perm_b, {rb})))"
        ".reshape((k, n))",
    ]
    if kind == "value":
        lines.append("    r = np.dot(a2, b2)")
        lines.append("    return r[0, 0]" if rout == 0
                     else f"    return r.reshape(to_fixed_tuple(out, {rout}))")
        return "\n".join(lines)
    if g_array:
        lines.append("    g2 = np.ascontiguousarray(as_float(g)).reshape((m, n))")
    else:
        lines.append("    g2 = np.full((m, n), g + 0.0)")
    if kind == "left":
        lines += ["    d2 = np.dot(g2, np.ascontiguousarray(b2.T))",
                  "    shape, inverse = _permuted(adims, perm_a)",
                  f"    d = d2.reshape(to_fixed_tuple(shape, {ra}))",
                  f"    return np.ascontiguousarray(d.transpose(to_fixed_tuple(inverse, {ra})))"]
    else:
        lines += ["    d2 = np.dot(np.ascontiguousarray(a2.T), g2)",
                  "    shape, inverse = _permuted(bdims, perm_b)",
                  f"    d = d2.reshape(to_fixed_tuple(shape, {rb}))",
                  f"    return np.ascontiguousarray(d.transpose(to_fixed_tuple(inverse, {rb})))"]
    return "\n".join(lines)


_SOURCES: dict[tuple, Any] = {}


def _contraction(kind: str, a: Any, b: Any, axes_a: Any, axes_b: Any, g: Any = None) -> Any:
    c, c2 = _count(axes_a), _count(axes_b)
    if c is None or c != c2 or min(a.ndim, b.ndim) == 0:
        return None
    key = (kind, a.ndim, b.ndim, c, _is_array(g))
    if key not in _SOURCES:
        scope = {"np": np, "_axis_index": _axis_index, "_dims": _dims, "_plan": _plan,
                 "_permuted": _permuted, "as_float": as_float, "to_fixed_tuple": to_fixed_tuple}
        exec(_contraction_source(kind, a.ndim, b.ndim, c, _is_array(g)), scope)  # noqa: S102
        _SOURCES[key] = scope["impl"]
    return _SOURCES[key]


@overload(_contract)
def _contract_impl(a, b, axes_a, axes_b):
    if not (_is_array(a) and _is_array(b)):
        return lambda a, b, axes_a, axes_b: a * b
    return _contraction("value", a, b, axes_a, axes_b)


@overload(_contract_left)
def _contract_left_impl(g, a, b, axes_a, axes_b):
    if not _is_array(a):
        return lambda g, a, b, axes_a, axes_b: np.sum(g * b)
    if not _is_array(b):
        return lambda g, a, b, axes_a, axes_b: g * b
    return _contraction("left", a, b, axes_a, axes_b, g)


@overload(_contract_right)
def _contract_right_impl(g, a, b, axes_a, axes_b):
    if not _is_array(b):
        return lambda g, a, b, axes_a, axes_b: np.sum(g * a)
    if not _is_array(a):
        return lambda g, a, b, axes_a, axes_b: g * a
    return _contraction("right", a, b, axes_a, axes_b, g)


# -- np.kron -----------------------------------------------------------------------------------


@njit(cache=True)
def kron_left(g, a, b):
    """The adjoint of ``a`` in ``np.kron(a, b)`` (1-D and 2-D operands): block (i, j) of
    ``g`` is ``a[i, j] * b``, so ``a[i, j]`` gets the sum of that block times ``b``."""
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    m, n = a2.shape
    p, q = b2.shape
    g4 = np.ascontiguousarray(g).reshape((m, p, n, q))
    out = np.zeros((m, n))
    for i in range(m):
        for k in range(p):
            for j in range(n):
                for h in range(q):
                    out[i, j] += g4[i, k, j, h] * b2[k, h]
    return out.reshape(a.shape)


@njit(cache=True)
def kron_right(g, a, b):
    """The adjoint of ``b`` in ``np.kron(a, b)``: the blocks of ``g`` weighted by ``a``."""
    a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
    m, n = a2.shape
    p, q = b2.shape
    g4 = np.ascontiguousarray(g).reshape((m, p, n, q))
    out = np.zeros((p, q))
    for i in range(m):
        for k in range(p):
            for j in range(n):
                for h in range(q):
                    out[k, h] += g4[i, k, j, h] * a2[i, j]
    return out.reshape(b.shape)


# -- norms: the subgradient 0 where the norm is 0 --------------------------------------------


@njit(cache=True)
def norm2(x):
    """The 2-norm of all of ``x`` (Frobenius for a matrix): ``np.linalg.norm(x)``."""
    return np.sqrt(np.sum(x * x))


@njit(cache=True)
def norm2_kept(x, axis):
    """The 2-norm along ``axis`` (an int, a tuple, None), reduced axes kept as extent 1."""
    return np.sqrt(sum_along(x * x, axis, True))


@njit(cache=True)
def pnorm(x, p):
    """``(sum |x|**p) ** (1/p)`` over all of ``x``."""
    return np.sum(np.abs(x) ** p) ** (1.0 / p)


@njit(cache=True)
def pnorm_kept(x, p, axis):
    """``(sum |x|**p) ** (1/p)`` along ``axis``, reduced axes kept as extent 1."""
    return sum_along(np.abs(x) ** p, axis, True) ** (1.0 / p)


@njit(cache=True)
def pnorm_weights(x, norm, p):
    """The derivative of a p-norm ``norm`` of ``x`` (broadcast over ``x``):
    ``sign(x) (|x| / norm) ** (p - 1)``, 0 where ``x`` is 0 or the norm is."""
    ratio = ratio_or_zero(np.abs(x), norm)
    return np.where(ratio == 0.0, 0.0, np.sign(x) * np.abs(ratio) ** (p - 1.0))


@njit(cache=True)
def spectral_norm(a):
    """The largest singular value of the matrix ``a`` (``np.linalg.norm(a, 2)``)."""
    return np.linalg.svd(np.asarray(a, dtype=np.float64))[1][0]


@njit(cache=True)
def spectral_weights(a):
    """The derivative of the largest singular value: ``outer(u1, v1)`` of its singular
    vectors (0 for a zero matrix: a subgradient)."""
    u, s, vt = np.linalg.svd(np.asarray(a, dtype=np.float64))
    if s[0] == 0.0:
        return np.zeros(a.shape)
    return np.outer(u[:, 0], vt[0, :])


# -- determinants and the Cholesky factor ----------------------------------------------------


@njit(cache=True)
def log_abs_det(a):
    """``np.linalg.slogdet(a)[1]``: the log of the absolute value of the determinant."""
    return np.linalg.slogdet(a)[1]


@njit(cache=True)
def det_sign(a):
    """``np.linalg.slogdet(a)[0]``: the sign of the determinant (piecewise constant)."""
    return np.linalg.slogdet(a)[0]


@njit(cache=True)
def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    n = x.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        out[i, i] = 0.5 * x[i, i]
        for j in range(i):
            out[i, j] = x[i, j]
    return out


@njit(cache=True)
def _lower_folded(s):
    """The adjoint of a symmetric matrix that LAPACK reads from its lower triangle, given the
    symmetric adjoint ``s`` of the matrix it stands for: an entry below the diagonal stands
    for itself and its mirror (``2 s_ij``), one on it for itself (``s_ii``), one above it for
    nothing (0)."""
    n = s.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        out[i, i] = s[i, i]
        for j in range(i):
            out[i, j] = 2.0 * s[i, j]
    return out


@njit(cache=True)
def _mirrored_lower(t):
    """What a LAPACK routine that reads the lower triangle sees of ``t``: that triangle and
    its mirror."""
    t = np.asarray(t, dtype=np.float64)
    n = t.shape[0]
    mirrored = np.empty((n, n))
    for i in range(n):
        for j in range(i + 1):
            mirrored[i, j] = t[i, j]
            mirrored[j, i] = t[i, j]
    return mirrored


@njit(cache=True)
def cholesky_adjoint(g, chol):
    """The adjoint of ``A`` in ``L = np.linalg.cholesky(A)``.  NumPy (LAPACK's ``potrf``)
    reads the lower triangle of ``A`` only, the upper one taken as its mirror: the symmetric
    adjoint ``S = L^-T Phi(L^T g) L^-1`` (made symmetric), folded onto that triangle."""
    inv = np.linalg.inv(chol)
    s = inv.T @ _phi(chol.T @ np.asarray(g, dtype=np.float64)) @ inv
    return _lower_folded(0.5 * (s + s.T))


@njit(cache=True)
def cholesky_tangent(t, chol):
    """The tangent of ``L = np.linalg.cholesky(A)`` for a tangent ``t`` of ``A``:
    ``L Phi(L^-1 E L^-T)``, ``E`` the lower triangle of ``t`` and its mirror (NumPy reads
    only the lower triangle of ``A``)."""
    inv = np.linalg.inv(chol)
    return chol @ _phi(inv @ _mirrored_lower(t) @ inv.T)


# -- eigenvalues of a symmetric matrix, singular values ---------------------------------------


@njit(cache=True)
def eigvalsh_adjoint(g, a):
    """The adjoint of ``A`` in ``w = np.linalg.eigvalsh(A)``: ``V diag(g) V^T`` with the
    eigenvectors ``V``, folded onto the lower triangle that LAPACK reads (distinct
    eigenvalues; where two coincide the eigenvalues are not differentiable)."""
    _, v = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    return _lower_folded((v * np.asarray(g, dtype=np.float64)) @ v.T)


@njit(cache=True)
def eigvalsh_tangent(t, a):
    """The tangent of ``w = np.linalg.eigvalsh(A)``: ``diag(V^T E V)``, ``E`` the lower
    triangle of ``t`` and its mirror."""
    _, v = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    return np.sum(v * (_mirrored_lower(t) @ v), axis=0)


@njit(cache=True)
def singular_values(a):
    """``np.linalg.svd(a, compute_uv=False)``: the singular values of the matrix ``a``, in
    decreasing order."""
    return np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)[1]


@njit(cache=True)
def singular_values_adjoint(g, a):
    """The adjoint of ``A`` in ``s = singular_values(A)``: ``U diag(g) V^T`` (thin factors;
    distinct nonzero singular values)."""
    u, _, vt = np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)
    return (u * np.asarray(g, dtype=np.float64)) @ vt


@njit(cache=True)
def singular_values_tangent(t, a):
    """The tangent of ``s = singular_values(A)``: ``diag(U^T t V)``."""
    u, _, vt = np.linalg.svd(np.asarray(a, dtype=np.float64), full_matrices=False)
    return np.sum(u * (np.asarray(t, dtype=np.float64) @ vt.T), axis=0)


@njit(cache=True)
def eigenvectors(a):
    """``np.linalg.eigh(a)[1]``: the eigenvectors of the symmetric matrix whose lower
    triangle is that of ``a``, one per column, in the order of the eigenvalues."""
    return np.linalg.eigh(np.asarray(a, dtype=np.float64))[1]


@njit(cache=True)
def eigen_gaps(w):
    """``F[i, j] = 1 / (w[j] - w[i])`` off the diagonal, 0 on it: how the eigenvectors of a
    matrix with eigenvalues ``w`` turn into each other (distinct eigenvalues; where two
    coincide the eigenvectors are not differentiable and ``F`` is infinite)."""
    n = w.shape[0]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                out[i, j] = 1.0 / (w[j] - w[i])
    return out


@njit(cache=True)
def eigenvectors_adjoint(g, a):
    """The adjoint of ``A`` in ``V = eigenvectors(A)``: ``S = V (F * V^T g) V^T``
    (``F = eigen_gaps(w)``), made symmetric and folded onto the lower triangle LAPACK reads."""
    w, v = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    s = v @ (eigen_gaps(w) * (v.T @ np.asarray(g, dtype=np.float64))) @ v.T
    return _lower_folded(0.5 * (s + s.T))


@njit(cache=True)
def eigenvectors_tangent(t, a):
    """The tangent of ``V = eigenvectors(A)``: ``V (F * V^T E V)``, ``E`` the lower triangle
    of ``t`` and its mirror (each eigenvector moves along the others: ``V^T dV`` is
    antisymmetric)."""
    w, v = np.linalg.eigh(np.asarray(a, dtype=np.float64))
    return v @ (eigen_gaps(w) * (v.T @ _mirrored_lower(t) @ v))


# -- the QR factors (reduced, of a matrix with at least as many rows as columns) ------------


@njit(cache=True)
def qr_q(a):
    """``np.linalg.qr(a)[0]``: the reduced ``Q``."""
    return np.linalg.qr(np.asarray(a, dtype=np.float64))[0]


@njit(cache=True)
def qr_r(a):
    """``np.linalg.qr(a)[1]``: the upper triangular ``R``."""
    return np.linalg.qr(np.asarray(a, dtype=np.float64))[1]


@njit(cache=True)
def _qr_factors(a):
    q, r = np.linalg.qr(np.asarray(a, dtype=np.float64))
    return np.ascontiguousarray(q), np.ascontiguousarray(r)


@njit(cache=True)
def _qr_adjoint(g_q, g_r, a):
    """The adjoint of ``A`` given those of ``Q`` and ``R``: ``(g_Q + Q sym(M)) R^-T`` with
    ``M = R g_R^T - g_Q^T Q`` and ``sym`` the lower triangle and its mirror (full column
    rank)."""
    q, r = _qr_factors(a)
    m = r @ np.ascontiguousarray(g_r.T) - np.ascontiguousarray(g_q.T) @ q
    b = g_q + q @ _mirrored_lower(m)
    return np.linalg.solve(r, np.ascontiguousarray(b.T)).T.copy()


@njit(cache=True)
def _qr_tangents(t, a):
    """The tangents of ``Q`` and ``R`` for a tangent ``t`` of ``A``: with ``X = t R^-1`` and
    ``C = Q^T X``, ``Omega`` the antisymmetric part made of the lower triangle of ``C``:
    ``dQ = Q Omega + X - Q Q^T X``, ``dR = (C - Omega) R``."""
    q, r = _qr_factors(a)
    x = np.ascontiguousarray(np.linalg.solve(np.ascontiguousarray(r.T), np.ascontiguousarray(
        np.asarray(t, dtype=np.float64).T)).T)
    c = np.ascontiguousarray(q.T) @ x
    lower = np.tril(c, -1)
    omega = lower - lower.T
    return q @ omega + x - q @ c, (c - omega) @ r


@njit(cache=True)
def qr_q_adjoint(g, a):
    """The adjoint of ``A`` in ``Q = qr_q(A)``."""
    return _qr_adjoint(np.asarray(g, dtype=np.float64), np.zeros((a.shape[1], a.shape[1])), a)


@njit(cache=True)
def qr_r_adjoint(g, a):
    """The adjoint of ``A`` in ``R = qr_r(A)``."""
    return _qr_adjoint(np.zeros(a.shape), np.asarray(g, dtype=np.float64), a)


@njit(cache=True)
def qr_q_tangent(t, a):
    """The tangent of ``Q = qr_q(A)``."""
    return _qr_tangents(t, a)[0]


@njit(cache=True)
def qr_r_tangent(t, a):
    """The tangent of ``R = qr_r(A)``."""
    return _qr_tangents(t, a)[1]
