"""Audit cases of ``rules/elementwise.py`` and ``rules/special.py`` (loaded by test_audit.py).

Each rule is called with floats (group ``elementwise``, one compilation) and, for the NumPy and
SciPy spellings, with arrays (group ``vector``); the kernels the forward sweep calls in their
place (``ksp.expit`` for ``sp.expit``) are audited under their own names too.  Points with an
argument at an edge (``np.nan_to_num`` of nan and inf, ``np.heaviside`` at 0) pass that argument
as a constant and differentiate the others.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sp

import adcompile.kernels_fastmath as kfm
import adcompile.kernels_special as ks
import adcompile.rules.special  # noqa: F401  (registers SciPy's rules now)


def _with(*edges: float):
    """Finite values with ``edges`` (nan, inf, -inf) among them: np.nan_to_num's input.  An
    infinity is there only where its replacement is an argument (the default, the largest
    float, would overflow the oracle's sum)."""
    def sampler(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        x = rng.uniform(-2.0, 2.0, shape)
        x.flat[:len(edges)] = edges
        return x
    return sampler


def _steps(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """-1, 0 and 1 (np.heaviside's first argument, at its step and off it)."""
    x = rng.choice([-1.0, 0.0, 1.0], shape)
    x.flat[0] = 0.0
    return x


def cases(audit) -> list:
    audit.bind("sp", sp)
    audit.bind("ksp", ks)
    audit.bind("kfm", kfm)
    Case, s, v, const = audit.Case, audit.s, audit.v, audit.const
    REAL, POSITIVE, NONZERO = audit.REAL, audit.POSITIVE, audit.NONZERO
    WIDE, UNIT = audit.WIDE, audit.uniform(-0.8, 0.8)
    BETWEEN_POLES = audit.uniform(2.1, 2.9)  # negated: between poles of the gamma functions
    unary = [
        (np.deg2rad, WIDE), (np.radians, WIDE), (np.rad2deg, WIDE), (np.degrees, WIDE),
        (np.sinc, WIDE), (ks.sinc_dx, WIDE), (np.nan_to_num, REAL),
        (math.lgamma, POSITIVE), (math.gamma, POSITIVE),
        (ks.digamma, POSITIVE), (sp.expit, WIDE), (ks.expit, WIDE),
        (sp.log_expit, WIDE), (ks.log_expit, WIDE), (sp.erf, REAL), (ks.erf, REAL),
        (sp.erfc, REAL), (ks.erfc, REAL), (sp.gamma, POSITIVE), (ks.gamma, POSITIVE),
        (sp.gammaln, POSITIVE), (ks.gammaln, POSITIVE),
        (sp.digamma, POSITIVE),
        # the vector kernels generated code calls for np.tanh, np.exp, ... of arrays
        (kfm.tanh, WIDE), (kfm.exp, REAL), (kfm.expm1, REAL), (kfm.log, POSITIVE),
        (kfm.log1p, POSITIVE),
    ]
    binary = [
        (np.float_power, POSITIVE, REAL, None), (np.fmod, WIDE, NONZERO,
                                                  audit.off_integer_quotient),
        (np.logaddexp, WIDE, WIDE, None), (np.logaddexp2, WIDE, WIDE, None),
        (np.heaviside, NONZERO, REAL, None), (ks.heaviside, NONZERO, REAL, None),
        (sp.xlogy, REAL, POSITIVE, None), (ks.xlogy, REAL, POSITIVE, None),
        (sp.xlog1py, REAL, POSITIVE, None), (ks.xlog1py, REAL, POSITIVE, None),
        (ks.xdivy, REAL, NONZERO, None), (kfm.logaddexp, WIDE, WIDE, None),
    ]
    out = []
    for primal, dom in unary:
        out.append(Case(primal, 1, "{f}({0})", (s(dom),), "elementwise"))
        if not audit.spell(primal).startswith(("ksp.", "math.")):
            out.append(Case(primal, 1, "{f}({0})", (v(dom),), "vector"))
    for k, (primal, dx, dy, valid) in enumerate(binary):
        out.append(Case(primal, 2, "{f}({0}, {1})", (s(dx), s(dy)), "elementwise", valid))
        if not audit.spell(primal).startswith("ksp."):
            args = (v(dx), s(dy)) if k % 2 == 0 else (s(dx), v(dy))
            out.append(Case(primal, 2, "{f}({0}, {1})", args, "vector", valid))
    out += [
        # polygamma: the order is an int, the argument positive or between two poles
        Case(sp.polygamma, 2, "{f}(1, {0})", (s(POSITIVE),), "elementwise"),
        Case(sp.polygamma, 2, "{f}(2, {0})", (v(POSITIVE),), "vector"),
        Case(ks.polygamma, 2, "{f}(1, -{0})", (s(BETWEEN_POLES),), "elementwise"),
        Case(ks.polygamma, 2, "{f}(3, {0})", (s(POSITIVE),), "elementwise"),
        Case(ks.digamma, 1, "{f}(-{0})", (s(BETWEEN_POLES),), "elementwise"),
        Case(math.lgamma, 1, "{f}(-{0})", (s(BETWEEN_POLES),), "elementwise"),
        # np.nan_to_num's other arities; the replacement values are differentiated where the
        # input holds nan, inf or -inf
        Case(np.nan_to_num, 2, "{f}({0}, True)", (v(REAL),), "vector"),
        Case(np.nan_to_num, 3, "{f}({0}, True, {1})", (const(_with(np.nan, np.nan), (5,)),
                                                       s(REAL)), "vector"),
        Case(np.nan_to_num, 4, "{f}({0}, True, {1}, {2})",
             (const(_with(np.nan, np.inf), (5,)), s(REAL), s(REAL)), "vector"),
        Case(np.nan_to_num, 5, "{f}({0}, True, {1}, {2}, {3})",
             (const(_with(np.nan, np.inf, -np.inf), (5,)), s(REAL), s(REAL), s(REAL)),
             "vector"),
        # np.heaviside at its step: the value there is the second argument
        Case(np.heaviside, 2, "{f}({0}, {1})", (const(_steps, (4,)), s(REAL)), "vector"),
        # far out on the left, close to 0
        Case(sp.expit, 1, "{f}(-{0})", (s(audit.uniform(30.0, 40.0)),), "elementwise"),
        Case(sp.xlogy, 2, "{f}({0}, 0.001 * {1})", (s(UNIT), s(POSITIVE)), "elementwise"),
    ]
    return out


def nondiff(audit) -> dict:
    Flat, s, v = audit.Flat, audit.s, audit.v
    return {np.floor_divide: [Flat("{f}({0}, {1})", (s(audit.WIDE), s(audit.NONZERO))),
                              Flat("{f}({0}, {1})", (v(audit.WIDE), s(audit.NONZERO)))]}
