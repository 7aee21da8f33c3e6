"""NumPy's function forms of the operators, more elementwise functions, and scipy.special.

Every gradient is compared with float64 central differences of the plain Python function
(``numeric_gradient`` below), or, at points where differences cannot see the derivative (a step,
an infinity, the removable singularity of ``sinc``), with a formula derived by hand; SciPy's own
functions are the oracle of the digamma kernels.  Several functions share one differentiated
function, so that one compilation serves them all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import scipy.special as sp
from conftest import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, gammaln, logsumexp

import adcompile as adc
from adcompile import kernels_special as ks

THIS_FILE = Path(__file__).read_text().splitlines()


def assert_close(got, want, rtol=1e-6, atol=1e-8):
    assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
    assert isinstance(got, float) == (np.ndim(want) == 0), type(got)
    np.testing.assert_allclose(np.asarray(got, dtype=float), want, rtol=rtol, atol=atol)


def check(dfunc, f, args, wrt, rtol=1e-6, atol=1e-8):
    """adcompile's gradient ``dfunc(*args)`` (a tuple over ``wrt``) against differences."""
    grads = dfunc(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for position, got in zip(wrt, grads, strict=True):
        assert_close(got, numeric_gradient(f, args, position), rtol, atol)


def line_of(marker: str) -> int:
    hits = [i + 1 for i, line in enumerate(THIS_FILE) if line.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


# -- the operators' function forms, with broadcasting --------------------------------------------

def binary_forms(x, y):
    s = np.add(x, y) * 1.1 + np.subtract(x, y) * np.multiply(x, y)
    s = s + np.divide(x, y) - np.true_divide(y, x)
    s = s + np.power(x, y) + np.float_power(x, 2.5 - y)
    s = s + np.mod(x, y) * 1.3 + np.remainder(-y, x) + np.fmod(x, -y) * 0.7
    s = s + np.logaddexp(x, y) + np.logaddexp2(y, x) * 1.2 + np.fmax(x, y) * np.fmin(x, y)
    s = s + np.negative(x) * np.positive(y) + np.square(y) + np.reciprocal(x)
    return np.sum(np.sin(s))


def _binary_point(rng, xshape, yshape):
    """x in (0.5, 2), |y| in (0.6, 1.7), away from the jumps of mod and fmod (x / y and
    y / x near integers) and from ties of fmax/fmin."""
    while True:
        x = rng.uniform(0.5, 2.0, xshape)
        y = rng.uniform(0.6, 1.7, yshape) * rng.choice([-1.0, 1.0], yshape)
        q = np.concatenate([np.ravel(np.divide(x, y)), np.ravel(np.divide(y, x))])
        gap = np.abs(q - np.round(q))
        if gap.min() > 1e-3 and np.abs(np.subtract(x, y)).min() > 1e-3:
            return (float(x) if x.ndim == 0 else x), (float(y) if y.ndim == 0 else y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_forms(seed):
    """Every binary form in one function, with floats (with arrays: the audit, and the
    broadcasting below)."""
    x, y = _binary_point(np.random.default_rng(seed), (), ())
    check(adc.grad(binary_forms, wrt=(0, 1)), binary_forms, (x, y), (0, 1), rtol=1e-5,
          atol=1e-7)


def broadcast_forms(x, y):
    return np.sum(np.logaddexp(x, y) * np.fmod(x, y) + np.float_power(x, np.multiply(x, y)))


D_BROADCAST = adc.grad(broadcast_forms, wrt=(0, 1))

#: (shape of x, shape of y) patterns, aligned on the right as NumPy broadcasts: 0 is an axis
#: of the drawn extent, 1 an axis of extent 1 that broadcasts; ranks 0 to 3
PATTERNS = [((), (0, 0)), ((0, 1), (1, 0)), ((0, 1, 0), (0, 0, 1))]


@settings(max_examples=12, deadline=None, derandomize=True)
@given(pattern=st.sampled_from(PATTERNS), extents=st.lists(st.integers(1, 3), min_size=3,
                                                            max_size=3),
       seed=st.integers(0, 2**32 - 1))
def test_rules_broadcast_like_numpy(pattern, extents, seed):
    """Random shapes of each rank pattern (a broadcast axis keeps its 1), random points: the
    adjoint of each argument is summed over the axes it was broadcast along."""
    rank = max(len(pattern[0]), len(pattern[1]))

    def resized(shape):
        return tuple(1 if n == 1 else extents[rank - len(shape) + k]
                     for k, n in enumerate(shape))

    x, y = _binary_point(np.random.default_rng(seed), resized(pattern[0]), resized(pattern[1]))
    check(D_BROADCAST, broadcast_forms, (x, y), (0, 1), rtol=1e-5, atol=1e-7)


def unary_forms(x):
    s = np.deg2rad(x) + np.radians(x) * 2.0 + np.rad2deg(x) * 0.01 + np.degrees(x) * 0.02
    s = s + np.sinc(x) + np.nan_to_num(x) * 1.5 + np.cbrt(x) + np.exp2(x) * 0.3
    s = s + np.log2(x * x + 1.0) + np.reciprocal(x * x + 1.0)
    return np.sum(np.cos(s))


@pytest.mark.parametrize("shape", [(), (5,)])
def test_unary_forms(shape):
    x = np.random.default_rng(len(shape)).uniform(0.2, 2.0, shape)
    x = float(x) if x.ndim == 0 else x
    check(adc.grad(unary_forms), unary_forms, (x,), (0,))


def steps_and_limits(x, y, v, w):
    """np.floor_divide is a step (derivative 0); np.heaviside a step in its first argument
    whose value at the step is its second; np.nan_to_num passes the adjoint of finite
    entries and gives that of nan, inf and -inf to their replacements."""
    s = np.sum(np.floor_divide(x, 0.7) * x) + np.sum(np.heaviside(x, v) * w)
    return s + np.sum(np.nan_to_num(y, nan=v, posinf=2.0 * v, neginf=-v) * x)


def test_steps_and_nan_to_num_by_hand():
    x = np.array([-1.3, 0.0, 0.4, 2.2, 0.0, 1.0])
    y = np.array([0.5, 1.5, np.inf, -np.inf, np.nan, np.nan])
    v, w = 0.75, np.arange(1.0, 7.0)
    value, (dx, dy, dv) = adc.value_and_grad(steps_and_limits, wrt=(0, 1, 2))(x, y, v, w)
    assert value == pytest.approx(steps_and_limits(x, y, v, w), rel=1e-14)
    signed = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, -np.inf])  # the kernel's forward
    np.testing.assert_array_equal(ks.heaviside(signed, 0.3), np.heaviside(signed, 0.3))
    assert_close(dx, np.floor_divide(x, 0.7) + np.nan_to_num(y, nan=v, posinf=2 * v,
                                                              neginf=-v))
    assert_close(dy, np.where(np.isfinite(y), x, 0.0))
    assert_close(dv, np.sum(w[x == 0.0]) + np.sum(x[np.isnan(y)])
                 + 2.0 * np.sum(x[np.isposinf(y)]) - np.sum(x[np.isneginf(y)]))


def logaddexp_mod_power(x, y):
    s = np.logaddexp(x, y) + np.logaddexp2(x, y) * 2.0
    s = s + np.mod(x, y) * 3.0 + np.fmod(x, y) * 5.0 + np.power(x, 2) * 7.0
    return np.sum(s)


@pytest.mark.parametrize(("x", "y"), [
    (np.array([1000.0, -1000.0, 0.3, 5.3, -5.3]), np.array([-1000.0, 1000.0, 0.3, 2.0, 2.0])),
    (np.array([5.3, -5.3, 0.0, 0.0, -4.1]), np.array([-2.0, -2.0, 0.6, -0.6, 1.1])),
])
def test_logaddexp_mod_fmod_power_by_hand(x, y):
    """logaddexp stays finite at +-1000 and splits ties evenly; d(x mod y)/dy = -floor(x/y),
    d fmod / dy = -trunc(x/y), for every sign; d(x**2)/dx = 0 at 0."""
    dx, dy = adc.grad(logaddexp_mod_power, wrt=(0, 1))(x, y)
    share = sp.expit(x - y)  # d logaddexp / dx = e^x / (e^x + e^y)
    share2 = sp.expit((x - y) * np.log(2.0))  # 2^x / (2^x + 2^y)
    assert_close(dx, share + 2.0 * share2 + 3.0 + 5.0 + 14.0 * x, rtol=1e-12)
    assert_close(dy, (1 - share) + 2.0 * (1 - share2) - 3.0 * np.floor(x / y)
                 - 5.0 * np.trunc(x / y), rtol=1e-12)


def int_arguments(x, k):
    s = np.multiply(x, k) + np.float_power(k, x) + np.mod(x, k) + np.divide(k, 3) * x
    return np.sum(s + np.power(k, 2) * np.add(x, 1))


def test_int_arguments_not_differentiated():
    x = np.array([0.3, 0.7, 0.2])
    k = np.array([1, 2, 3])
    check(adc.grad(int_arguments), int_arguments, (x, k), (0,))


def products(a, v):
    return np.sum(np.sin(np.matmul(a, v)))


def test_matmul_is_the_operator():
    """np.matmul is @ (whose stacks and mixed ranks are tested with the operator)."""
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(2, 3)), rng.normal(size=3))
    check(adc.grad(products, wrt=(0, 1)), products, args, (0, 1))


def test_jvp_of_function_forms():
    rng = np.random.default_rng(9)
    x, y = _binary_point(rng, (2, 3), (3,))
    tx, ty = rng.normal(size=(2, 3)), rng.normal(size=3)
    value, tangent = adc.jvp(broadcast_forms, wrt=(0, 1))(x, y, tx, ty)
    f, h = broadcast_forms, 1e-6
    want = (f(x + h * tx, y + h * ty) - f(x - h * tx, y - h * ty)) / (2 * h)
    assert value == pytest.approx(f(x, y), rel=1e-12)
    assert tangent == pytest.approx(want, rel=1e-6)


# -- np.sinc at and near its removable singularity ----------------------------------------------

def sinc_sum(x):
    return np.sum(np.sinc(x))


def sinc_scalar(x):
    return np.sinc(x) * 2.0


def test_sinc_derivative_at_and_near_zero():
    x = np.array([0.0, 1e-9, -1e-5, 0.03, -0.0318, 0.05, 1.0, -2.5])
    got = adc.grad(sinc_sum)(x)
    small = np.abs(x) < 1e-4  # hand: -pi^2 x / 3 + pi^4 x^3 / 30 (then below rounding)
    z = np.pi * x[small]
    assert_close(got[small], np.pi * (-z / 3.0 + z ** 3 / 30.0), rtol=1e-14, atol=0.0)
    assert got[0] == 0.0
    big = ~small
    assert_close(got[big], numeric_gradient(sinc_sum, (x,), 0)[big], rtol=1e-7)
    # second order, exact at 0 too: sinc''(0) = -pi^2 / 3
    assert adc.hessian(sinc_scalar)(0.0) == pytest.approx(-2.0 * np.pi ** 2 / 3.0, rel=1e-12)
    h = 1e-4
    for x0 in (0.02, 0.7):
        second = (sinc_scalar(x0 + h) - 2 * sinc_scalar(x0) + sinc_scalar(x0 - h)) / h ** 2
        assert adc.hessian(sinc_scalar)(x0) == pytest.approx(second, rel=1e-5)


# -- scipy.special ------------------------------------------------------------------------------

def three_spellings(x):
    return np.sum(sp.expit(x) + expit(2.0 * x) * 3.0 + scipy.special.expit(-x) * 5.0)


@pytest.mark.parametrize("x", [0.3, np.array([-1.0, 0.5, 2.0])])
def test_scipy_spellings(x):
    s = sp.expit(x)
    s2, s3 = sp.expit(2.0 * x), sp.expit(-x)
    want = s * (1 - s) + 6.0 * s2 * (1 - s2) - 5.0 * s3 * (1 - s3)  # by hand
    assert_close(adc.grad(three_spellings)(x), want, rtol=1e-12)


def special_forms(x, y):
    s = sp.expit(x) + sp.log_expit(y) + sp.logit(sp.expit(x) * 0.9) + sp.erf(x) * sp.erfc(y)
    s = s + sp.gamma(x) * 0.1 + gammaln(y) + sp.digamma(x) * sp.psi(y) + sp.polygamma(1, x)
    s = s + sp.xlogy(x, y) + sp.xlog1py(y, x) + sp.ndtr(x - y)
    return np.sum(np.sin(s))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scipy_elementwise(seed):
    """Every elementwise SciPy function with floats (arrays: the audit and the edges below)."""
    x, y = np.random.default_rng(seed).uniform(0.3, 3.0, 2)
    check(adc.grad(special_forms, wrt=(0, 1)), special_forms, (x, y), (0, 1), rtol=1e-6)


def special_edges(x, y, z):
    return np.sum(sp.expit(x) + sp.log_expit(x) * 2.0 + sp.xlogy(x, y) * 3.0
                  + gammaln(z) * 5.0 + sp.digamma(z) * 7.0)


def test_scipy_edges_by_hand():
    """expit and log_expit stay finite far out; xlogy at x = 0 (value 0, d/dx = log y,
    d/dy = 0) and at tiny y; gammaln and digamma between poles and at digamma's root
    (SciPy's digamma and polygamma are the oracle of their derivatives)."""
    x = np.array([-800.0, 800.0, 0.0, 0.0, -40.0, 2.0])
    y = np.array([0.5, 2.0, 1e-300, 3.0, 1e-5, 7.0])
    z = np.array([-2.5, -0.3, 1.4616321449683623, 1e-3, 40.0, -7.9])
    dx, dy, dz = adc.grad(special_edges, wrt=(0, 1, 2))(x, y, z)
    s = sp.expit(x)
    assert np.all(np.isfinite(dx)) and np.all(np.isfinite(dy))
    assert_close(dx, s * (1 - s) + 2.0 * (1 - s) + 3.0 * np.log(y), rtol=1e-13)
    assert_close(dy, 3.0 * np.where(x == 0.0, 0.0, x / y), rtol=1e-13)
    assert_close(dz, 5.0 * sp.digamma(z) + 7.0 * sp.polygamma(1, z), rtol=1e-12)


def test_digamma_kernels_match_scipy():
    """digamma (with psi's reflection and the series at its root), trigamma and the next
    two polygamma functions, and gammaln, against SciPy: 1e-13 relative for x > 0."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(1e-3, 40.0, 4000), np.geomspace(1e-9, 1e9, 400),
                        np.linspace(1.2, 1.7, 501), [0.5, 1.0, 2.0, 10.0, 12.0]])
    np.testing.assert_allclose(ks.digamma(x), sp.digamma(x), rtol=1e-13, atol=0.0)
    for n in (1, 2, 3):
        np.testing.assert_allclose(ks.polygamma(n, x), sp.polygamma(n, x), rtol=1e-13)
    np.testing.assert_allclose(ks.gammaln(x), sp.gammaln(x), rtol=1e-12, atol=1e-15)
    negative = rng.uniform(-30.0, 0.0, 2000)
    negative = negative[np.abs(negative - np.round(negative)) > 1e-3]  # off the poles
    np.testing.assert_allclose(ks.digamma(negative), sp.digamma(negative), rtol=1e-10)
    np.testing.assert_allclose(ks.polygamma(1, negative), sp.polygamma(1, negative),
                               rtol=1e-12)
    poles = np.array([0.0, -0.0, -1.0, -7.0, np.inf, np.nan])
    np.testing.assert_array_equal(ks.digamma(poles), sp.digamma(poles))


def logsumexp_variants(x, w):
    s = np.sum(np.sin(logsumexp(x, axis=(0, 2)))) + np.sum(sp.logsumexp(x, -1, w, True) * w)
    return s + np.sum(sp.log_softmax(x, axis=1) * w)


def test_logsumexp_softmax_axes_keepdims_weights():
    rng = np.random.default_rng(3)
    x, w = rng.normal(size=(2, 3, 4)), rng.uniform(0.5, 1.5, (2, 3, 4))
    x[0, 1] = 0.7  # ties along the last axis
    check(adc.grad(logsumexp_variants, wrt=(0, 1)), logsumexp_variants, (x, w), (0, 1))


def logsumexp_vector(v):
    return sp.logsumexp(v) * 2.0 + np.sum(sp.softmax(v, 0) * np.arange(v.size))


@pytest.mark.parametrize("v", [np.full(4, 0.3), np.array([1000.0, 999.0, -1000.0, 1000.0]),
                               np.array([-np.inf, 0.5, -1.0, -np.inf])])
def test_logsumexp_ties_large_and_minus_inf(v):
    """Ties (every entry its share), values that overflow exp, -inf entries (derivative 0):
    the gradient is 2 softmax(v) + the softmax term, by hand."""
    value, got = adc.value_and_grad(logsumexp_vector)(v)
    p = sp.softmax(v)
    k = np.arange(v.size)
    assert value == pytest.approx(logsumexp_vector(v), rel=1e-14)
    assert_close(got, 2.0 * p + p * (k - np.sum(p * k)), rtol=1e-12, atol=1e-15)


def logsumexp_of_all(v):
    return sp.logsumexp(v)


def test_logsumexp_of_minus_inf_is_minus_inf():
    v = np.full(3, -np.inf)
    value, _ = adc.value_and_grad(logsumexp_of_all)(v)
    assert value == sp.logsumexp(v) == -np.inf


def scipy_second_order(x):
    return gammaln(x) + sp.expit(x) * np.sinc(x) + sp.erf(x) + sp.digamma(x) * 0.5


@pytest.mark.parametrize("x0", [0.7, 2.3])
def test_scipy_second_order_and_jvp(x0):
    h = 1e-4
    f = scipy_second_order
    second = (f(x0 + h) - 2 * f(x0) + f(x0 - h)) / h ** 2
    assert adc.hessian(f)(x0) == pytest.approx(second, rel=1e-5)
    value, tangent = adc.jvp(f)(x0, 1.5)
    assert value == pytest.approx(f(x0), rel=1e-14)
    assert tangent == pytest.approx(1.5 * numeric_gradient(f, (x0,), 0), rel=1e-7)


# -- what is refused ----------------------------------------------------------------------------

def add_into(x, y):
    z = np.zeros(3)
    w = np.add(x, y, out=z)  # marker: out
    return np.sum(w)


def lse_with_sign(x):
    return sp.logsumexp(x, return_sign=True)[0]  # marker: return_sign


def lse_computed_keepdims(x, flag):
    return np.sum(sp.logsumexp(x, 0, None, flag))  # marker: keepdims


def unknown_special(x, y):
    return np.sum(sp.kl_div(x, y))  # marker: kl_div


@pytest.mark.parametrize(("f", "marker", "words"), [
    (add_into, "marker: out", ["out"]),
    (lse_with_sign, "marker: return_sign", ["return_sign"]),
    (lse_computed_keepdims, "marker: keepdims", ["keepdims"]),
    (unknown_special, "marker: kl_div", ["sp.kl_div", "no derivative rule"]),
])
def test_refusals_name_file_line_and_what_to_do(f, marker, words):
    args = [np.ones(3)] * f.__code__.co_argcount
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(*args)
    err = info.value
    assert err.filename == __file__
    assert err.lineno == line_of(marker)
    assert err.hint
    for word in words:  # in the message itself, not only in the source line it shows
        assert word in str(err).split("\n    ")[0]


def test_import_adcompile_does_not_import_scipy_special():
    code = ("import sys, adcompile; assert 'scipy.special' not in sys.modules; "
            "assert 'adcompile.rules.special' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
