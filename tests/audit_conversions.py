"""Audit entries of the dtype conversions the sweeps of loop programs asked for (loaded by
test_audit.py): ``x.astype(np.int64)``, the cell of a particle (``np.floor(x / h)``) made an
index, is piecewise constant.
"""

from __future__ import annotations

import adcompile.kernels_shapes as ks


def cases(audit) -> list:
    audit.bind("ks", ks)
    return []


def nondiff(audit) -> dict:
    Flat, s, v, REAL = audit.Flat, audit.s, audit.v, audit.REAL
    return {ks.astype_int: [Flat("{f}({0})", (v(REAL, 5),)), Flat("{f}({0})", (s(REAL),))]}
