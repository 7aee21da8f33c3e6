"""The vector kernels of ``adcompile/kernels_fastmath.py``: accuracy in ulp against a
high-precision oracle, IEEE special values, every rank and layout, and gradients that call them.

The large fixed sample is measured against NumPy's ``longdouble`` (x87 extended precision:
11 more bits than float64, enough to resolve a hundredth of an ulp); hypothesis draws floats
of every kind (subnormals, infinities, NaN) and measures them against mpmath.
"""

from __future__ import annotations

import platform
import re

import mpmath
import numpy as np
import pytest
from conftest import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import adcompile as adc
from adcompile import kernels_fastmath as fm

MAX_ULP = 2.0

#: name: (the loop over flat data, mpmath's function, ranges sampled uniformly)
FUNCTIONS = {
    "tanh": (fm._tanh_flat, mpmath.tanh,
             [(-20.0, 20.0), (-1.0, 1.0), (-0.6, 0.6), (-1e-5, 1e-5)]),
    "exp": (fm._exp_flat, mpmath.exp,
            [(-746.0, 710.0), (-1.0, 1.0), (-746.0, -700.0), (700.0, 709.8)]),
    "expm1": (fm._expm1_flat, mpmath.expm1,
              [(-60.0, 710.0), (-1.0, 1.0), (-1e-6, 1e-6), (-40.0, -30.0), (30.0, 40.0)]),
    "log": (fm._log_flat, mpmath.log,
            [(0.0, 10.0), (0.5, 2.0), (0.99, 1.01), (0.0, 1e-300)]),
    "log1p": (fm._log1p_flat, mpmath.log1p,
              [(-1.0, 10.0), (-0.3, 0.42), (-1.0, -0.9), (-1e-6, 1e-6), (1e15, 1e17)]),
}
EXTENDED = np.finfo(np.longdouble).nmant >= 63


def run(name, x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    FUNCTIONS[name][0](x, out)
    return out


def ulp_errors(got, exact):
    """|got - exact| in ulps of the float64 nearest ``exact`` (given in longdouble); at a
    power of two, the smaller ulp (below it). Matching infinities and NaNs count 0."""
    with np.errstate(over="ignore", invalid="ignore"):
        nearest = exact.astype(np.float64)
        size = np.abs(nearest)
        ulp = np.minimum(np.spacing(size), np.spacing(np.nextafter(size, 0.0)))
        ulp = np.where(size == 0.0, 5e-324, ulp).astype(np.longdouble)
        err = np.abs((got.astype(np.longdouble) - exact) / ulp)
    same = (np.isnan(got) & np.isnan(nearest)) | (np.isinf(got) & (got == nearest))
    return np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))


def mp_exact(name, x):
    """The exact value of the function at the float ``x`` (mpmath, 60 digits), as a
    longdouble; IEEE's value where mpmath's domain ends."""
    if np.isnan(x):
        return np.longdouble(np.nan)
    with np.errstate(all="ignore"):
        numpy_value = getattr(np, name)(np.longdouble(x))
    if not np.isfinite(numpy_value) or (name in ("log", "log1p") and np.isinf(x)):
        return numpy_value  # inf, -inf, nan: exact in any precision
    with mpmath.workdps(60), np.errstate(over="ignore"):  # beyond float64: inf, an error
        value = FUNCTIONS[name][1](mpmath.mpf(float(x)))
        return np.longdouble(mpmath.nstr(value, 40))


# -- accuracy ----------------------------------------------------------------------------------

@pytest.mark.skipif(not EXTENDED, reason="the oracle needs an extended-precision longdouble")
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_a_large_sample_is_within_2_ulp(name):
    rng = np.random.default_rng(sorted(FUNCTIONS).index(name))
    samples = [rng.uniform(lo, hi, 200_000) for lo, hi in FUNCTIONS[name][2]]
    samples.append(rng.integers(0, 2**64, 500_000, dtype=np.uint64).view(np.float64))
    x = np.concatenate(samples)
    with np.errstate(all="ignore"):
        exact = getattr(np, name)(x.astype(np.longdouble))
    err = ulp_errors(run(name, x), exact)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP, f"{name}({x[worst]!r}): {err[worst]:.3f} ulp"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(FUNCTIONS)), st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_within_2_ulp(name, x):
    got = run(name, np.array([x]))
    exact = np.array([mp_exact(name, x)], dtype=np.longdouble)
    assert ulp_errors(got, exact)[0] <= MAX_ULP, f"{name}({x!r}) = {got[0]!r}"


@njit
def logaddexp(x, y):
    return fm.logaddexp(x, y)


@settings(max_examples=200, deadline=None)
@given(st.floats(-50.0, 50.0), st.floats(-50.0, 50.0))
def test_logaddexp_agrees_with_numpy(x, y):
    """``logaddexp`` is NumPy's formula, max + log1p(exp(-|x - y|)), on these kernels."""
    got = logaddexp(np.array([x]), y)[0]
    assert got == pytest.approx(np.logaddexp(x, y), rel=4e-16, abs=1e-300)


# -- special values ----------------------------------------------------------------------------

INF, NAN = np.inf, np.nan
SPECIAL = {  # name: [(x, exact result)]: compared bit for bit (the sign of zero too)
    "tanh": [(0.0, 0.0), (-0.0, -0.0), (INF, 1.0), (-INF, -1.0), (NAN, NAN), (5e-324, 5e-324),
             (-5e-324, -5e-324), (1e300, 1.0), (-1e300, -1.0), (20.0, 1.0), (-1e-300, -1e-300)],
    "exp": [(0.0, 1.0), (-0.0, 1.0), (-INF, 0.0), (INF, INF), (NAN, NAN), (709.79, INF),
            (1e300, INF), (-746.0, 0.0), (-1e300, 0.0), (-745.0, 5e-324),
            (709.782712893384, 1.7976931348622732e308), (5e-324, 1.0)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (-INF, -1.0), (INF, INF), (NAN, NAN), (710.0, INF),
              (-100.0, -1.0), (5e-324, 5e-324), (-5e-324, -5e-324), (1e-300, 1e-300)],
    "log": [(0.0, -INF), (-0.0, -INF), (1.0, 0.0), (-1.0, NAN), (-INF, NAN), (INF, INF),
            (NAN, NAN), (5e-324, -744.4400719213812), (-5e-324, NAN)],
    "log1p": [(0.0, 0.0), (-0.0, -0.0), (-1.0, -INF), (-1.5, NAN), (-INF, NAN), (INF, INF),
              (NAN, NAN), (5e-324, 5e-324), (-5e-324, -5e-324), (1e-300, 1e-300)],
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_special_values_are_exact(name):
    x, want = np.array(SPECIAL[name]).T
    got = run(name, x)
    same = (got == want) & (np.signbit(got) == np.signbit(want)) | np.isnan(got) & np.isnan(want)
    assert same.all(), [(a, b, c) for a, b, c, s in zip(x, got, want, same, strict=True)
                       if not s]


def test_logaddexp_special_values():
    got = logaddexp(np.array([INF, -INF, NAN, 0.0, -800.0]), 0.0)
    assert got[0] == INF and got[1] == 0.0 and np.isnan(got[2])
    assert got[3] == np.log(2.0) and got[4] == 0.0
    assert logaddexp(np.array([INF, -INF]), INF).tolist() == [INF, INF]
    assert logaddexp(np.array([-INF]), -INF)[0] == -INF


# -- ranks, layouts, types ---------------------------------------------------------------------

@njit
def all_kernels(x):
    return (fm.tanh(x), fm.exp(x), fm.expm1(x), fm.log(x), fm.log1p(x), fm.logaddexp(x, 0.5),
            fm.logaddexp(-1.0, x))


def numpy_reference(x):
    return (np.tanh(x), np.exp(x), np.expm1(x), np.log(x), np.log1p(x), np.logaddexp(x, 0.5),
            np.logaddexp(-1.0, x))


BASE = np.random.default_rng(7).uniform(0.01, 3.0, (3, 4, 2, 5))
READ_ONLY = BASE[1].copy()
READ_ONLY.flags.writeable = False
INPUTS = {
    "rank 0": np.array(0.4), "rank 1": BASE.ravel(), "rank 2": BASE.reshape(12, 10),
    "rank 3": BASE[0], "rank 4": BASE, "transposed": BASE.reshape(12, 10).T,
    "transposed rank 3": BASE[0].T, "strided": BASE[:, ::2, 1], "reversed": BASE.ravel()[::-1],
    "read-only": READ_ONLY, "int64": np.arange(1, 7).reshape(2, 3), "float": 0.7, "int": 3,
}


@pytest.mark.parametrize("kind", sorted(INPUTS))
def test_every_rank_and_layout(kind):
    """Every kernel gives NumPy's shape and dtype, and the values of the flat loop element
    by element (NumPy's function, as Numba compiles it, for what the loop does not take)."""
    x = INPUTS[kind]
    got, want = all_kernels(x), numpy_reference(x)
    for g, w in zip(got, want, strict=True):
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=1e-15, atol=0)
    if isinstance(x, np.ndarray) and x.dtype == np.float64 and x.ndim:
        flat = np.asarray(x).ravel()
        for name, g in zip(("tanh", "exp", "expm1", "log", "log1p"), got[:5], strict=True):
            assert np.array_equal(np.asarray(g).ravel(), run(name, flat))


def test_other_dtypes_keep_numbas_function():
    x = BASE[0, 0].astype(np.float32)
    got = njit(lambda a: fm.tanh(a))(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.tanh(x), rtol=1e-6)


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                    reason="reads x86 assembly")
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_loops_are_vector_code(name, monkeypatch):
    """Packed arithmetic on 256- or 512-bit registers (no call of the C library per element:
    that is the point of these kernels), at Numba's default level: the suite's NUMBA_OPT=0
    (tests/conftest.py) does not vectorize, and Numba reads the level again at each compile."""
    monkeypatch.setenv("NUMBA_OPT", "3")
    cached = FUNCTIONS[name][0]
    options = {k: v for k, v in cached.targetoptions.items() if k != "nopython"}
    loop = njit(**options)(cached.py_func)  # compiled again: the cache keeps no assembly
    loop.compile("(float64[::1], float64[::1])")
    (asm,) = loop.inspect_asm().values()
    assert re.search(r"v(mul|add|sub|div|fmadd\w*)pd\s[^\n]*%[yz]mm", asm), asm[:2000]


# -- generated code ----------------------------------------------------------------------------

def mlp(W1, b1, W2, X, T):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2
    lse = np.log(np.sum(np.exp(Z), axis=1))
    return -np.mean(np.sum(T * Z, axis=1) - lse)


def logistic(w, X, y):
    m = -y * (X @ w)
    return np.mean(np.log1p(np.exp(m))) + 0.1 * np.mean(np.logaddexp(0.0, m)) + np.sum(
        np.expm1(0.1 * w))


def scalar_tanh(x):
    return np.tanh(x) * np.exp(x)


def test_mlp_gradient_calls_the_kernels():
    rng = np.random.default_rng(0)
    args = (0.3 * rng.normal(size=(5, 4)), 0.1 * rng.normal(size=4), 0.3 * rng.normal(size=(4, 3)),
            rng.normal(size=(8, 5)), np.eye(3)[rng.integers(0, 3, size=8)])
    vg = adc.value_and_grad(mlp, wrt=(0, 1, 2))
    assert "from adcompile.kernels_fastmath import exp, log, tanh" in vg.source
    assert "H = tanh(t2)" in vg.source
    value, grads = vg(*args)
    assert value == pytest.approx(mlp(*args), rel=1e-14)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, numeric_gradient(mlp, args, i), rtol=1e-6, atol=1e-9)


def test_logistic_gradient_and_tangent():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    args = (rng.normal(size=3), X, np.sign(X @ rng.normal(size=3)))
    g = adc.grad(logistic, wrt=0)
    assert "log1p(" in g.source and "logaddexp(" in g.source and "np.log1p" not in g.source
    np.testing.assert_allclose(g(*args), numeric_gradient(logistic, args, 0), rtol=1e-6)
    v = rng.normal(size=3)
    tangent = adc.jvp(logistic, wrt=0)(*args, v)[1]
    assert tangent == pytest.approx(g(*args) @ v, rel=1e-12)


def test_numbers_keep_numpys_call():
    g = adc.grad(scalar_tanh)
    assert "np.tanh(x)" in g.source and "kernels_fastmath" not in g.source
    assert g(0.3) == pytest.approx((1 - np.tanh(0.3) ** 2) * np.exp(0.3) + scalar_tanh(0.3))
