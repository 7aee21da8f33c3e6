"""Audit cases of ``rules/linalg.py`` (loaded by test_audit.py).

Products and ``np.linalg`` take arrays, so every case is in group ``array`` (the result goes
through ``sin`` and a sum).  Square matrices are drawn well conditioned (a random matrix plus
three times the identity); ``np.linalg.cholesky`` is called on ``M @ M.T + 3 I``, so that the
finite differences of ``M`` move a symmetric matrix (the factor reads one triangle only).
"""

from __future__ import annotations

import numpy as np

import adcompile.kernels_linalg as kl


def _invertible(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(-1.0, 1.0, shape) + 3.0 * np.eye(shape[0])


def _spread(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A matrix whose lower triangle, mirrored, has eigenvalues far apart."""
    return rng.uniform(-1.0, 1.0, shape) + np.diag(3.0 * np.arange(shape[0]))


def cases(audit) -> list:
    audit.bind("la", np.linalg)
    audit.bind("kl", kl)
    Case, m, v = audit.Case, audit.m, audit.v
    REAL, NONZERO = audit.REAL, audit.NONZERO
    return [
        Case(kl.contract, 4, "{f}({0}, {1}, (1,), (0,))", (m(REAL), m(REAL, (3, 2))), "array"),
        Case(np.kron, 2, "{f}({0}, {1})", (m(REAL, (2, 2)), m(REAL, (2, 3))), "array"),
        Case(np.cross, 2, "{f}({0}, {1})", (v(REAL), m(REAL, (2, 3))), "array"),
        Case(np.linalg.det, 1, "{f}({0})", (m(_invertible, (3, 3)),), "array"),
        Case(kl.log_abs_det, 1, "{f}({0})", (m(_invertible, (3, 3)),), "array"),
        Case(np.linalg.inv, 1, "{f}({0})", (m(_invertible, (3, 3)),), "array"),
        Case(np.linalg.solve, 2, "{f}({0}, {1})", (m(_invertible, (3, 3)), v(REAL)),
             "array"),
        Case(np.linalg.cholesky, 1, "{f}({0} @ {0}.T + 3.0 * np.eye(3))",
             (m(REAL, (3, 3)),), "array"),
        Case(kl.norm2, 1, "{f}({0})", (m(NONZERO),), "array"),
        Case(kl.norm2_kept, 2, "{f}({0}, (1,))", (m(NONZERO),), "array"),
        Case(kl.pnorm, 2, "{f}({0}, 3.0)", (v(NONZERO),), "array"),
        Case(kl.pnorm_kept, 3, "{f}({0}, 3.0, (0,))", (m(NONZERO),), "array"),
        Case(kl.spectral_norm, 1, "{f}({0})", (m(REAL, (3, 2)),), "array"),
        Case(np.linalg.eigvalsh, 1, "{f}({0})", (m(_spread, (3, 3)),), "array"),
        Case(kl.eigenvectors, 1, "{f}({0})", (m(_spread, (3, 3)),), "array"),
        Case(kl.singular_values, 1, "{f}({0})", (m(REAL, (3, 2)),), "array"),
        Case(np.linalg.pinv, 1, "{f}({0})", (m(REAL, (3, 2)),), "array"),
        Case(kl.qr_q, 1, "{f}({0})", (m(REAL, (3, 2)),), "array"),
        Case(kl.qr_r, 1, "{f}({0})", (m(_invertible, (3, 3)),), "array"),
    ]


def nondiff(audit) -> dict:
    return {kl.det_sign: [audit.Flat("{f}({0})", (audit.m(_invertible, (3, 3)),))]}
