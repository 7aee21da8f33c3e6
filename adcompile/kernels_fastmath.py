"""``tanh``, ``exp``, ``log``, ``log1p``, ``expm1`` and ``logaddexp`` of float64 arrays, in
arithmetic that LLVM vectorises.

Numba compiles ``np.tanh(x)`` of an array into a loop that calls the C library's scalar
``tanh`` once per element: llvmlite has no vector math library here, so such a loop cannot be
vectorised, and it runs 10-16 times slower than NumPy's own SIMD loops.  The kernels below
compute each function from its definition instead: a range reduction (integer views of the
float's bits, ``_bits``/``_from_bits``), a polynomial on the reduced argument, and the special
cases chosen by comparisons, not branches, so that the loop over an array becomes vector code.
Every result is within 2 ulp of the correctly rounded one (``tests/test_fastmath.py`` measures
it against a high-precision oracle), and special values are IEEE's: ``tanh(+-inf) = +-1``,
``exp(-inf) = 0``, ``exp`` overflows to ``inf``, ``log(0) = -inf``, ``log(-1) = nan``,
``log1p(-1) = -inf``, the sign of zero kept, NaN propagated.

Each public function is plain NumPy for Python and has a Numba implementation
(``numba.extending.overload``) that, for a float64 array of rank 1 or more, runs the vector
loop (``_map``; a C-contiguous array is walked as its flat data, a Fortran-ordered one as its
transpose, any other view through a contiguous copy), and for everything else (numbers, other
dtypes, 0-d arrays) is NumPy's function as Numba compiles it.  ``normalize.py`` writes a call
of these kernels where an argument of ``np.tanh``, ``np.exp``, ... may be an array; numbers
keep NumPy's (or ``math``'s) call.  The loops are compiled once per array type and cached on
disk with adcompile's other kernels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from .kernel_cache import CACHED

__all__ = ["exp", "expm1", "log", "log1p", "logaddexp", "tanh"]

#: the loops over flat data: float arithmetic only, divisions give inf/nan (no exceptions,
#: no branches to raise them), and a product followed by a sum may be fused (one rounding
#: instead of two: never less accurate)
_LOOP = {"cache": True, "error_model": "numpy", "fastmath": {"contract"}}
#: the scalar cores are inlined into the loops by Numba, whatever LLVM's optimisation level
#: (at NUMBA_OPT=2, LLVM leaves the larger ones as calls, and the loop is scalar code again),
#: and are not cached themselves (the loops are)
_SCALAR = {"error_model": "numpy", "fastmath": {"contract"}, "inline": "always"}

INV_LN2 = 1.4426950408889634
#: ln 2 split so that k * LN2_HI is exact for |k| < 2**11 (fdlibm's constants)
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
#: 1.5 * 2**52: x + SHIFTER rounds x to an integer, which the low bits of the sum then hold
SHIFTER = 6755399441055744.0
#: (e**r - 1 - r) / r**2 on |r| <= ln(2) / 2, highest degree first (a Chebyshev fit; error
#: 1.4e-18)
EXPM1_POLY = (2.0914679376583935e-09, 2.510520637395701e-08, 2.7557273661348637e-07,
              2.7557255425746435e-06, 2.4801587325533363e-05, 0.00019841269874800493,
              0.0013888888888883752, 0.008333333333326141, 0.04166666666666667,
              0.1666666666666667, 0.5)
#: (tanh(x) - x) / x**3 as a polynomial in x**2 on |x| <= TANH_SMALL (error 7.7e-18)
TANH_POLY = (-2.060276537636634e-05, 8.511313685577672e-05, -0.0002346347410887237,
             0.0005889360520074057, -0.001455661830100716, 0.003592110378689024,
             -0.008863234397814355, 0.021869488493666944, -0.053968253967434016,
             0.13333333333332714, -0.3333333333333333)
TANH_SMALL = 0.55
#: fdlibm's log: log(1 + f) = f - f**2 / 2 + s (f**2 / 2 + R(s**2)), s = f / (2 + f)
LOG_EVEN = (0.15313837699209373, 0.22222198432149784, 0.3999999999940942)  # Lg6, Lg4, Lg2
LOG_ODD = (0.14798198605116586, 0.1818357216161805, 0.2857142874366239,  # Lg7, Lg5, Lg3
           0.6666666666666735)  # Lg1
SMALLEST_NORMAL = 2.2250738585072014e-308
TWO_54 = 18014398509481984.0
#: the bits of sqrt(2) / 2 (upper word): log reduces its mantissa into [sqrt(2)/2, sqrt(2))
HALF_SQRT2_HIGH = 0x3FE6A09E


# -- bits ----------------------------------------------------------------------------------------

@intrinsic
def _bits(typingctx, x):
    """The bits of a float64 as an int64 (a register move, no memory)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):
    """The float64 whose bits are the int64 ``i``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


# -- scalar cores ---------------------------------------------------------------------------------

@njit(**_SCALAR)
def _poly(z, coeffs):
    """Horner's scheme, highest degree first (unrolled: ``coeffs`` is a constant tuple)."""
    total = coeffs[0]
    for k in range(1, len(coeffs)):
        total = total * z + coeffs[k]
    return total


@njit(**_SCALAR)
def _pow2(k):
    """2.0 ** k for -1022 <= k <= 1023, built from its bits."""
    return _from_bits((k + 1023) << 52)


@njit(**_SCALAR)
def _reduce(x):
    """``(k, r)`` with x = k ln 2 + r, |r| <= ln(2) / 2 (for |x| < 2**11)."""
    t = x * INV_LN2 + SHIFTER
    kf = t - SHIFTER
    k = _bits(t) - _bits(SHIFTER)
    return k, (x - kf * LN2_HI) - kf * LN2_LO


@njit(**_SCALAR)
def _expm1_reduced(r):
    """e**r - 1 for |r| <= ln(2) / 2."""
    return r + r * r * _poly(r, EXPM1_POLY)


@njit(**_SCALAR)
def _exp1(x):
    # beyond [-746, 710] the result is 0 or inf; NaN passes (its comparisons are false)
    x = 710.0 if x > 710.0 else x
    x = -746.0 if x < -746.0 else x
    k, r = _reduce(x)
    half = k >> 1  # 2**k in two factors: each a normal number, also for subnormal results
    return (1.0 + _expm1_reduced(r)) * _pow2(half) * _pow2(k - half)


@njit(**_SCALAR)
def _expm1_1(x):
    xc = 710.0 if x > 710.0 else x
    xc = -60.0 if xc < -60.0 else xc  # -1 to the last bit below
    k, r = _reduce(xc)
    tail = r * r * _poly(r, EXPM1_POLY)  # e**r - 1 = r + tail
    # 2**k (e**r - 1) + 2**k - 1 as (a + b + ...) * low, 2**k = high * low: the first sum
    # without rounding error (TwoSum), so that the result is within an ulp also where the
    # terms are alike (k = 1); for k > 53, the -1 in a is below half an ulp
    half = k >> 1
    high, low = _pow2(half), _pow2(k - half)
    a = high - _pow2(half - k)
    b = high * r
    total = a + b
    b_part = total - a
    lost = (a - (total - b_part)) + (b - b_part)
    value = (total + (high * tail + lost)) * low
    # a select, not an early return, so that the loop vectorises
    return x if abs(x) < 5.551115123125783e-17 else value  # 2**-54: x (and its sign)


@njit(**_SCALAR)
def _tanh1(x):
    a = abs(x)
    z = x * x
    small = x + x * z * _poly(z, TANH_POLY)
    a = 20.0 if a > 20.0 else a  # tanh(20) is 1.0 to the last bit
    big = 1.0 - 2.0 / (_exp1(2.0 * a) + 1.0)
    small = x if a < 3.725290298461914e-09 else small  # 2**-28: x (and the sign of zero)
    return small if a <= TANH_SMALL else math.copysign(big, x)


@njit(**_SCALAR)
def _log_reduced(f, k, c):
    """log(1 + f) + k ln 2 + c for f in [sqrt(2)/2 - 1, sqrt(2) - 1] (fdlibm's formula)."""
    half_f2 = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    total = w * _poly(w, LOG_EVEN) + z * _poly(w, LOG_ODD)
    dk = float(k)
    return s * (half_f2 + total) + (dk * LN2_LO + c) - half_f2 + f + dk * LN2_HI


@njit(**_SCALAR)
def _mantissa(bits):
    """``(k, m)`` for the float with these bits: its value is 2**k m, m in [sqrt(2)/2,
    sqrt(2))."""
    high = (bits >> 32) + (0x3FF00000 - HALF_SQRT2_HIGH)
    k = (high >> 20) - 0x3FF
    high = (high & 0x000FFFFF) + HALF_SQRT2_HIGH
    return k, _from_bits((high << 32) | (bits & 0xFFFFFFFF))


@njit(**_SCALAR)
def _log1(x):
    tiny = x < SMALLEST_NORMAL  # subnormals: scaled into the normal range first
    k, m = _mantissa(_bits(x * TWO_54 if tiny else x))
    value = _log_reduced(m - 1.0, k - 54 if tiny else k, 0.0)
    if x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    return value if x < math.inf else x  # inf and NaN are their own logarithms


@njit(**_SCALAR)
def _log1p1(x):
    u = 1.0 + x
    k, m = _mantissa(_bits(u))
    # the part of x that 1 + x lost, relative to u (below an ulp of the result for k >= 54)
    c = ((1.0 - (u - x)) if k >= 2 else (x - (u - 1.0))) / u
    near = (x > -0.2928932188134524) & (x < 0.41421356237309503)  # 1 + x in [sqrt(2)/2,
    # sqrt(2)): log(1 + x) from x itself
    value = _log_reduced(x if near else m - 1.0, 0 if near else k, 0.0 if near else c)
    # the special cases as selects (early returns here keep the loop from vectorising)
    value = x if abs(x) < 1.1102230246251565e-16 else value  # 2**-53: x (and its sign)
    value = math.nan if x < -1.0 else value
    value = -math.inf if x == -1.0 else value
    return x if x == math.inf else value


@njit(**_SCALAR)
def _logaddexp1(x, y):
    """log(e**x + e**y) as NumPy computes it: max + log1p(exp(-|x - y|))."""
    d = x - y
    value = (x if d > 0.0 else y) + _log1p1(_exp1(-abs(d)))
    if x == y:  # equal infinities too
        return x + 0.6931471805599453
    return value if d == d else d


# -- loops over flat data -------------------------------------------------------------------------
# One function each, written out: Numba's disk cache keys a closure made by a factory on a
# pickle of the function it closes over, which is no stable key.

@njit(**_LOOP)
def _tanh_flat(x, out):
    for i in range(x.size):
        out[i] = _tanh1(x[i])


@njit(**_LOOP)
def _exp_flat(x, out):
    for i in range(x.size):
        out[i] = _exp1(x[i])


@njit(**_LOOP)
def _expm1_flat(x, out):
    for i in range(x.size):
        out[i] = _expm1_1(x[i])


@njit(**_LOOP)
def _log_flat(x, out):
    for i in range(x.size):
        out[i] = _log1(x[i])


@njit(**_LOOP)
def _log1p_flat(x, out):
    for i in range(x.size):
        out[i] = _log1p1(x[i])


@njit(**_LOOP)
def _logaddexp_flat(x, y, out):
    for i in range(x.size):
        out[i] = _logaddexp1(x[i], y)


# -- the public functions ----------------------------------------------------------------------

def tanh(x: Any) -> Any:
    """``np.tanh(x)``; compiled, a vector loop for a float64 array."""
    return np.tanh(x)


def exp(x: Any) -> Any:
    """``np.exp(x)``; compiled, a vector loop for a float64 array."""
    return np.exp(x)


def expm1(x: Any) -> Any:
    """``np.expm1(x)``; compiled, a vector loop for a float64 array."""
    return np.expm1(x)


def log(x: Any) -> Any:
    """``np.log(x)``; compiled, a vector loop for a float64 array."""
    return np.log(x)


def log1p(x: Any) -> Any:
    """``np.log1p(x)``; compiled, a vector loop for a float64 array."""
    return np.log1p(x)


def logaddexp(x: Any, y: Any) -> Any:
    """``np.logaddexp(x, y)``; compiled, a vector loop for a float64 array and a number."""
    return np.logaddexp(x, y)


#: each kernel: the NumPy function it stands for
NUMPY = {tanh: np.tanh, exp: np.exp, expm1: np.expm1, log: np.log, log1p: np.log1p,
         logaddexp: np.logaddexp}
#: ``id`` of each NumPy function: the kernel that generated code calls for it on arrays
VECTORISED = {id(function): kernel for kernel, function in NUMPY.items()}


def _float_array(t: Any) -> bool:
    return isinstance(t, types.Array) and t.dtype == types.float64 and t.ndim > 0


def _number(t: Any) -> bool:
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _map(kernel: Any, flat: Any, x: Any) -> Any:
    """The implementation of ``kernel`` (one argument) for the type ``x``."""
    if not _float_array(x):
        numpy_function = NUMPY[kernel]
        return lambda x: numpy_function(x)
    if x.layout == "F":  # its transpose is C-contiguous; the result is Fortran-ordered too
        return lambda x: kernel(x.T).T
    if x.layout != "C":
        return lambda x: kernel(np.ascontiguousarray(x))

    def contiguous(x):
        out = np.empty(x.shape)
        flat(x.reshape(x.size), out.reshape(out.size))
        return out
    return contiguous


@overload(tanh, jit_options=CACHED)
def _tanh(x):
    return _map(tanh, _tanh_flat, x)


@overload(exp, jit_options=CACHED)
def _exp(x):
    return _map(exp, _exp_flat, x)


@overload(expm1, jit_options=CACHED)
def _expm1(x):
    return _map(expm1, _expm1_flat, x)


@overload(log, jit_options=CACHED)
def _log(x):
    return _map(log, _log_flat, x)


@overload(log1p, jit_options=CACHED)
def _log1p(x):
    return _map(log1p, _log1p_flat, x)


@overload(logaddexp, jit_options=CACHED)
def _logaddexp(x, y):
    if _float_array(x) and _number(y):
        def with_number(x, y):
            a = np.ascontiguousarray(x)
            out = np.empty(a.shape)
            _logaddexp_flat(a.reshape(a.size), float(y), out.reshape(out.size))
            return out
        return with_number
    if _number(x) and _float_array(y):
        return lambda x, y: logaddexp(y, x)
    return lambda x, y: np.logaddexp(x, y)  # two arrays: NumPy's loop, which broadcasts
