"""Audit cases of ``rules/shapes.py`` (loaded by test_audit.py).

Scans, differences and rearrangements take arrays, so every case is in group ``array`` (the
result goes through ``sin`` and a sum, so a misplaced adjoint is caught).  Each NumPy spelling
and the kernel the forward sweep calls for it (``ks.<name>``) is called with the arities its
rules take; random points have no ties, so ``sort`` is smooth there (ties: test_shapes_breadth).
"""

from __future__ import annotations

import numpy as np

import adcompile.kernels_shapes as ks


def _off_bounds(x: float, lo: float, hi: float) -> bool:
    """lo < hi and the number x away from both bounds (inside or outside)."""
    return hi - lo > 0.4 and abs(x - lo) > 0.1 and abs(x - hi) > 0.1


def cases(audit) -> list:
    audit.bind("ks", ks)
    Arg, Case, m, s, v = audit.Arg, audit.Case, audit.m, audit.s, audit.v
    REAL, FACTOR = audit.REAL, audit.FACTOR
    cube = Arg(REAL, (2, 3, 4))
    out = []
    for f in (np.cumsum, ks.cumsum):
        out += [Case(f, 1, "{f}({0})", (m(REAL),), "array"),
                Case(f, 2, "{f}({0}, -2)", (m(REAL),), "array")]
    for f in (np.cumprod, ks.cumprod):
        out += [Case(f, 1, "{f}({0})", (m(FACTOR),), "array"),
                Case(f, 2, "{f}({0}, 1)", (Arg(FACTOR, (2, 3, 2)),), "array")]
    for f in (np.diff, ks.diff):
        out += [Case(f, 1, "{f}({0})", (v(REAL, 4),), "array"),
                Case(f, 2, "{f}({0}, 2)", (m(REAL, (2, 4)),), "array"),
                Case(f, 3, "{f}({0}, 1, 0)", (cube,), "array")]
    out += [Case(np.diag, 1, "{f}({0})", (v(REAL),), "array"),
            Case(np.diag, 2, "{f}({0}, 1)", (m(REAL),), "array")]
    for f in (np.diagonal, ks.diagonal):
        out += [Case(f, 1, "{f}({0})", (m(REAL),), "array"),
                Case(f, 2, "{f}({0}, -1)", (m(REAL, (3, 2)),), "array"),
                Case(f, 3, "{f}({0}, 0, 2)", (cube,), "array"),
                Case(f, 4, "{f}({0}, 1, 2, 0)", (cube,), "array")]
    for f in (np.flip, ks.flip):
        out += [Case(f, 1, "{f}({0})", (m(REAL),), "array"),
                Case(f, 2, "{f}({0}, (0, -1))", (cube,), "array")]
    for f in (np.roll, ks.roll):
        out += [Case(f, 2, "{f}({0}, 4)", (m(REAL),), "array"),
                Case(f, 3, "{f}({0}, -1, 1)", (m(REAL),), "array")]
    for f in (np.repeat, ks.repeat):
        out += [Case(f, 2, "{f}({0}, 2)", (m(REAL),), "array"),
                Case(f, 3, "{f}({0}, 3, -1)", (m(REAL),), "array")]
    for f in (np.tile, ks.tile):
        out.append(Case(f, 2, "{f}({0}, (2, 1, 2))", (m(REAL),), "array"))
    for f in (np.pad, ks.pad):
        out += [Case(f, 2, "{f}({0}, 1)", (m(REAL),), "array"),
                Case(f, 2, "{f}({0}, ((1, 0), (2, 1)))", (m(REAL),), "array")]
    # np.pad's other modes (rules/shapes.py rewrites them into ks.pad_mode) and their adjoints,
    # which second derivatives differentiate in turn
    for mode in range(len(ks.PAD_MODES)):
        out.append(Case(ks.pad_mode, 4, "{f}({0}, ((1, 2), (3, 1)), " + str(mode) + ", {1})",
                        (m(REAL), s(REAL)), "array"))
    out += [Case(ks.pad_mode_adjoint, 4, "{f}({0}, np.zeros((2, 2)), 1, 3)",
                 (m(REAL, (4, 4)),), "array"),
            Case(ks.pad_value_adjoint, 4, "{f}({0}, np.zeros((2, 2)), 1, 0)",
                 (m(REAL, (4, 4)),), "array")]
    for f in (np.take, ks.take):
        out += [Case(f, 2, "{f}({0}, np.array([5, 0, 5, -1]))", (m(REAL),), "array"),
                Case(f, 3, "{f}({0}, np.array([2, 0, 2]), 1)", (m(REAL),), "array")]
    # np.clip of numbers: the forward sweep calls ks.clip (Numba's np.clip takes arrays)
    out.append(Case(ks.clip, 3, "{f}({0}, {1}, {2})", (s(REAL), s(audit.uniform(-1.5, 0.0)),
                                                        s(audit.uniform(0.0, 1.5))),
                    "scalar", _off_bounds))
    # np.where of numbers: the forward sweep calls ks.where (a number, not a 0-d array)
    out += [Case(ks.where, 3, "{f}(True, {0}, {1})", (s(REAL), s(REAL)), "scalar"),
            Case(ks.where, 3, "{f}(False, {0}, 2.0)", (s(REAL),), "scalar"),
            Case(ks.where, 3, "{f}(np.array([True, False, True]), {0}, {1})",
                 (v(REAL), s(REAL)), "vector")]
    for f in (np.sort, ks.sort):
        out += [Case(f, 1, "{f}({0})", (m(REAL),), "array"),
                Case(f, 2, "{f}({0}, 0)", (cube,), "array")]
    out += [
        Case(np.atleast_1d, 1, "{f}({0})", (v(REAL),), "array"),
        Case(np.atleast_2d, 1, "{f}({0})", (v(REAL),), "array"),
        Case(np.atleast_3d, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.broadcast_to, 2, "{f}({0}, (2, 2, 3))", (m(REAL, (2, 1)),), "array"),
        Case(ks.gradient_along, 3, "{f}({0}, {1}, 1)", (cube, s(FACTOR)), "array"),
        Case(ks.gradient_adjoint, 3, "{f}({0}, {1}, -1)", (cube, s(FACTOR)), "array"),
        Case(ks.expand_dims, 2, "{f}({0}, (0, 2))", (v(REAL),), "array"),
        Case(ks.sort_tangent, 3, "{f}({0}, {1}, -1)",
             (m(REAL), audit.const(REAL, (2, 3))), "array"),
        Case(ks.cumprod_tangent, 3, "{f}({0}, {1}, None)", (m(REAL), m(FACTOR)), "array"),
        Case(ks.cumprod_tangent, 3, "{f}({0}, {1}, 1)", (cube, Arg(FACTOR, (2, 3, 4))),
             "array"),
        Case(ks.astype_float, 1, "{f}({0})", (m(REAL),), "array"),
        Case(ks.item, 1, "{f}({0})", (m(REAL, (1, 1)),), "array"),
    ]
    mask = "np.array([[True, False, True], [False, True, True]])"
    out += [Case(ks.masked, 2, "{f}({0}, " + mask + ")", (m(REAL),), "array"),
            Case(ks.masked, 2, "{f}({0}, np.array([False, True]))", (m(REAL),), "array"),
            Case(ks.mask_put, 3, "{f}({0}, " + mask + ", {1})", (m(REAL), s(REAL)), "array"),
            Case(ks.mask_put, 3, "{f}({0}, " + mask + ", {1})", (m(REAL), v(REAL, 4)),
                 "array"),
            Case(ks.mask_put, 3, "{f}({0}, np.array([True, False]), {1})",
                 (m(REAL), v(REAL, 3)), "array")]
    return out


def nondiff(audit) -> dict:
    Flat, m, v, REAL = audit.Flat, audit.m, audit.v, audit.REAL
    return {
        np.argsort: [Flat("{f}({0})", (v(REAL, 5),))],
        np.any: [Flat("{f}({0} > 0.0)", (v(REAL, 5),))],
        np.all: [Flat("{f}({0} > 0.0)", (v(REAL, 5),))],
        ks.tri_mask: [Flat("{f}({0}, 0)", (m(REAL),))],
        np.digitize: [Flat("{f}({0}, np.array([-0.5, 0.0, 0.5]))", (v(REAL, 5),)),
                      Flat("{f}({0}, np.array([-0.5, 0.0, 0.5]), True)", (v(REAL, 5),))],
        np.searchsorted: [Flat("{f}(np.array([-0.5, 0.0, 0.5]), {0})", (v(REAL, 5),))],
    }
