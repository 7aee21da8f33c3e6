"""An eighth sweep of "Higher order and forward mode" (/work/shared/spec/api.md): the classes
it found wrong, and a few of its scientific loop programs (reverse-time returns, ``zip`` loops,
a module stencil, Smith-Waterman, a banded DTW, a log-space recursion, an Ising energy, Newton's
method in the loss, int and float32 data, a user's rule, a tuple of numbers) through ``jvp``,
``vjp``, ``jacobian`` (both modes), ``hessian``, ``hvp`` and ``grad(grad(f))``.

Every derivative is compared with float64 central differences of the function run as plain
Python (second order: differences of differences) or with a hand-derived formula, never with
adcompile itself; the points are away from kinks (branch switches, ``max`` ties).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

# the oracle: float64 central differences of the plain-Python function (and of them)
from test_higher_contract import close, fd_hessian, fd_jacobian
from test_reach_loops4 import dtw_band  # a Sakoe-Chiba band: continue outside it

import adcompile as adc

# -- a derivative that is the caller's tangent ------------------------------------------------
#
# ``jvp`` of ``X``, ``X + c``, ``X[1:]`` or ``X.T`` handed back the caller's tangent array (or a
# view of it) as the directional derivative: writing into the result changed the tangent.


def views(X, c, k):
    if k == 0:
        return X
    if k == 1:
        return X + c
    if k == 2:
        return X[1:]
    return X.T


def test_a_directional_derivative_is_never_the_callers_tangent():
    X = np.array([[0.3, -0.7], [1.1, 0.4]])
    jf = adc.jvp(views, wrt="X")
    for k in range(4):
        T = np.array([[1.0, 2.0], [3.0, 4.0]])
        _, d = jf(X, 0.5, k, T)
        close(d, np.tensordot(fd_jacobian(views, (X, 0.5, k), 0), T, axes=2))
        d[...] = 7.0
        np.testing.assert_array_equal(T, [[1.0, 2.0], [3.0, 4.0]])
    assert "fresh_copy" in jf.source


def scaled(x, a):
    return np.sin(x) * a


def test_no_copy_where_the_derivative_is_new():
    assert "fresh_copy" not in adc.jvp(scaled, wrt=("x", "a")).source


# -- a result that does not vary -------------------------------------------------------------
#
# The tangent of a result that does not depend on ``wrt`` was the number 0.0, also for an
# array result: ``jvp`` gave a float and ``jacobian`` a float where the contract says
# ``g(*args).shape + x.shape``.


def unmoved(x, a):
    y = np.sin(x)
    return y * 2.0


def test_the_derivative_of_a_result_that_does_not_vary_has_its_shape():
    x = np.array([0.3, -0.7, 1.1])
    _, d = adc.jvp(unmoved, wrt="a")(x, 0.5, 1.0)
    assert isinstance(d, np.ndarray) and d.shape == (3,) and not d.any()
    J = adc.jacobian(unmoved, wrt="a")(x, 0.5)
    assert isinstance(J, np.ndarray) and J.shape == (3,) and not J.any()


# -- a user's rule that takes an array, not elementwise ---------------------------------------
#
# ``sqnorm(x * a)`` with ``@adc.derivative(sqnorm, elementwise=False)``: nothing else said
# ``x`` was an array, so the product's adjoint was not summed for the number ``a``
# (``d_a = d_t1 * x``, an array): a wrong "must return a scalar" in ``grad`` and a Numba
# typing error in ``vjp``.


@numba.njit
def sqnorm3(v):
    return v[0] ** 2 + v[1] ** 2 + v[2] ** 2


def _sqnorm3_forward(t, ans, v):
    return 2.0 * np.sum(v * t)


@adc.derivative(sqnorm3, elementwise=False, forward=_sqnorm3_forward)
def _sqnorm3_rule(g, ans, v):
    return 2.0 * g * v


def ring_norms(x, a):
    out = np.zeros(3)
    for k in range(3):
        out[k] = sqnorm3(x * (a + k))
    return out


def ring_norms_ref(x, a):  # plain NumPy, for the differences
    return np.array([np.sum((x * (a + k)) ** 2) for k in range(3)])


def test_a_rule_of_an_array_makes_its_argument_an_array():
    x, a = np.array([0.4, -0.3, 0.2]), 0.7
    c = np.array([1.0, -0.5, 2.0])
    value, (gx, ga) = adc.vjp(ring_norms, wrt=("x", "a"))(x, a, c)
    close(value, ring_norms_ref(x, a), 1e-12)
    close(gx, c @ fd_jacobian(ring_norms_ref, (x, a), 0))
    assert ga == pytest.approx(c @ fd_jacobian(ring_norms_ref, (x, a), 1), rel=1e-6)


# -- forward mode over forward code -----------------------------------------------------------
#
# ``jvp`` of a loss that calls a ``jvp`` refused the generated code's ``broadcast_tangent``
# (no forward rule), naming a line of another function; the tangent helpers are linear.


def _wave(x, a):
    return np.sum(np.sin(a * x) * x)


wave_slope = adc.jvp(_wave, wrt="x")


def slope_loss(x, a, t):
    _, d = wave_slope(x, a, t)
    return d * d + a * d


def slope_loss_ref(x, a, t):  # the directional derivative by hand
    d = np.sum((a * x * np.cos(a * x) + np.sin(a * x)) * t)
    return d * d + a * d


def test_forward_mode_of_a_loss_that_calls_a_jvp():
    args = (np.array([0.4, -0.3, 0.2]), 0.7, np.array([0.3, -0.6, 0.9]))
    t = np.array([1.0, 0.5, -2.0])
    value, d = adc.jvp(slope_loss, wrt="x")(*args, t)
    assert value == pytest.approx(slope_loss_ref(*args), rel=1e-12)
    assert d == pytest.approx(fd_jacobian(slope_loss_ref, args, 0) @ t, rel=1e-6)


# -- the sweep's programs, one compile each ---------------------------------------------------


def returns(r, gamma):  # discounted returns, a reverse-time loop
    n = r.shape[0]
    G = np.zeros(n)
    acc = 0.0
    for t in range(n - 1, -1, -1):
        acc = r[t] + gamma * acc
        G[t] = acc
    return G


def zip_pairs(a, b):  # a loop over zip(a, b), an output counter
    out = np.zeros(a.shape[0])
    k = 0
    for ai, bi in zip(a, b):  # noqa: B905 (as a user writes it)
        out[k] = ai * math.tanh(bi) + bi * bi
        k += 1
    return out


STENCIL = np.array([[0.25, 0.5, 0.25], [0.5, -3.0, 0.5], [0.25, 0.5, 0.25]])


def stencil(U, k):  # a module table, periodic indices
    n, m = U.shape
    out = np.zeros((n, m))
    for i in range(n):
        for j in range(m):
            acc = 0.0
            for a in range(3):
                for b in range(3):
                    acc += STENCIL[a, b] * U[(i + a - 1) % n, (j + b - 1) % m]
            out[i, j] = U[i, j] + k * acc
    return out


def smith_waterman(a, b, gap):  # max(0, ...) and a running best
    n, m = a.shape[0], b.shape[0]
    H = np.zeros((n + 1, m + 1))
    best = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            s = 1.0 - (a[i - 1] - b[j - 1]) ** 2
            H[i, j] = max(0.0, H[i - 1, j - 1] + s, H[i - 1, j] - gap, H[i, j - 1] - gap)
            if H[i, j] > best:
                best = H[i, j]
    return best * best


def forward_log(logp, labels):  # a CTC-like recursion with np.logaddexp, int labels
    S = labels.shape[0]
    alpha = np.full(S, -1e30)
    alpha[0] = logp[0, labels[0]]
    for t in range(1, logp.shape[0]):
        prev = alpha.copy()
        for s in range(S):
            acc = prev[s]
            if s >= 1:
                acc = np.logaddexp(acc, prev[s - 1])
            alpha[s] = acc + logp[t, labels[s]]
    return alpha[S - 1]


def ising(theta, J, h):  # periodic neighbours (i + 1) % n
    s = np.tanh(theta)
    n, m = s.shape
    E = 0.0
    for i in range(n):
        for j in range(m):
            E += -J * s[i, j] * (s[(i + 1) % n, j] + s[i, (j + 1) % m]) - h * s[i, j]
    return E


def kepler(M, e):  # Newton's method inside the loss: while |step| > tol, with a cap
    E = M
    step = 1.0
    it = 0
    while abs(step) > 1e-14 and it < 50:
        step = (E - e * math.sin(E) - M) / (1.0 - e * math.cos(E))
        E -= step
        it += 1
    return E * E + e


def counts_loss(w, counts, scale):  # int and float32 data, an int argument differentiated
    s = 0.0
    for i in range(w.shape[0]):
        s += counts[i] * w[i] ** 2 - scale * math.log(1.0 + w[i] ** 2)
    return s * scale


def bilinear(img, px, py):  # int(floor(x)) indices, zip of two float32 arrays
    s = 0.0
    for x, y in zip(px, py):  # noqa: B905
        i = int(math.floor(x))
        j = int(math.floor(y))
        fx = x - i
        fy = y - j
        top = img[i, j] * (1.0 - fx) + img[i + 1, j] * fx
        bot = img[i, j + 1] * (1.0 - fx) + img[i + 1, j + 1] * fx
        v = top * (1.0 - fy) + bot * fy
        s += v * v
    return s


@numba.njit
def softplus(z):
    return np.log1p(np.exp(z))


@adc.derivative(softplus)
def _softplus_rule(g, ans, z):
    return g / (1.0 + np.exp(-z))


def softplus_pairs(w, X):  # a user's rule, differentiated twice
    z = X @ w
    s = 0.0
    for i in range(z.shape[0]):
        s += softplus(z[i]) * softplus(-z[i] * 0.5)
    return s


_R = np.random.default_rng(8)
R4 = np.array([1.0, -0.5, 0.3, 0.8])
A3, B3 = np.array([0.3, -0.6, 0.9]), np.array([0.5, 0.2, -0.4])
U33 = _R.normal(size=(3, 3)) * 0.5
TH33 = np.array([[0.3, -0.5, 0.8], [0.1, 0.4, -0.2], [0.6, -0.7, 0.25]])
LOGP = np.array([[0.5, -0.3, 0.2], [0.1, 0.4, -0.6], [-0.2, 0.3, 0.7], [0.6, -0.1, 0.0]])
W3 = np.array([0.4, -0.3, 0.2])
IMG = _R.normal(size=(4, 4))

# (function, arguments, transform, wrt, the mode jacobian picks)
PROGRAMS = [
    (returns, (R4, 0.9), "jacobian", "gamma", "forward"),
    (zip_pairs, (A3, B3), "jacobian", ("a", "b"), "reverse"),
    (stencil, (U33, 0.1), "jacobian", "k", "forward"),
    (smith_waterman, (A3, np.array([0.2, 0.5, -0.4, 0.9]), 0.6), "jvp", ("a", "b", "gap"), None),
    (dtw_band, (np.array([0.3, -0.6, 1.0, 0.4]), np.array([0.1, -0.2, 0.8, 0.5]), 1), "jvp",
     "y", None),
    (forward_log, (LOGP, np.array([1, 0, 2])), "jvp", "logp", None),
    (ising, (TH33, 0.7, 0.2), "hessian", ("J", "h"), None),
    (counts_loss, (W3, np.array([2, 0, 5]), 2), "hessian", ("w", "scale"), None),
    (softplus_pairs, (W3, _R.normal(size=(4, 3)) * 0.5), "hessian", "w", None),
    (bilinear, (IMG, np.array([0.3, 1.6, 2.2], dtype=np.float32),
                np.array([1.4, 0.7, 2.5], dtype=np.float32)), "hvp", "img", None),
]


def _index(f, w):
    return w if isinstance(w, int) else f.__code__.co_varnames.index(w)


def _mixed(f, args, i, j):
    """d2 f / d args[i] d args[j] by differences of differences."""
    return fd_jacobian(lambda *a: fd_jacobian(f, a, i, 1e-5), args, j, 1e-4)


@pytest.mark.parametrize("f, args, what, wrt, mode", PROGRAMS,
                         ids=[f"{p[0].__name__}-{p[2]}" for p in PROGRAMS])
def test_sweep_programs_against_central_differences(f, args, what, wrt, mode):
    rng = np.random.default_rng(0)
    names = wrt if isinstance(wrt, tuple) else (wrt,)
    idx = [_index(f, w) for w in names]
    vectors = [rng.standard_normal(np.shape(args[i])) if np.ndim(args[i])
               else float(rng.standard_normal()) for i in idx]
    if what == "jacobian":
        J = adc.jacobian(f, wrt=wrt)
        got = J(*args)
        assert J.mode == mode
        want = [fd_jacobian(f, args, i) for i in idx]
    elif what == "jvp":
        value, got = adc.jvp(f, wrt=wrt)(*args, *vectors)
        assert value == pytest.approx(f(*args), rel=1e-12)
        got, want = [got], [sum(np.sum(fd_jacobian(f, args, i) * v)
                                for i, v in zip(idx, vectors, strict=True))]
    elif what == "hessian":
        got = adc.hessian(f, wrt=wrt)(*args)
        want = [[_mixed(f, args, i, j) for j in idx] for i in idx]
        if not isinstance(wrt, tuple):
            got = [[got]]
        for row, wrow in zip(got, want, strict=True):
            for g, w in zip(row, wrow, strict=True):
                assert isinstance(g, float) if np.ndim(w) == 0 else g.shape == w.shape
                close(g, w, 1e-4, 1e-5)
        return
    else:  # hvp
        got = adc.hvp(f, wrt=wrt)(*args, *vectors)
        want = [sum(np.tensordot(_mixed(f, args, i, j), v, axes=np.ndim(v))
                    for j, v in zip(idx, vectors, strict=True)) for i in idx]
    if not isinstance(wrt, tuple) and what != "jvp":
        got = [got]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert isinstance(g, float) if np.ndim(w) == 0 else g.shape == w.shape
        close(g, w, 1e-4 if what == "hvp" else 1e-5, 1e-5 if what == "hvp" else 1e-6)


def test_grad_of_grad_of_a_newton_solve():
    d2 = adc.grad(adc.grad(kepler, wrt="e"), wrt="M")(0.9, 0.3)
    assert d2 == pytest.approx(_mixed(kepler, (0.9, 0.3), 1, 0), rel=1e-4)


def tuple_scalars(p, x):  # a nested tuple of numbers
    a, (b, c) = p
    s = 0.0
    for i in range(x.shape[0]):
        s += math.exp(a * x[i]) * b - c * x[i] ** 3
    return s * b


def test_the_hessian_of_a_tuple_of_numbers_is_nested_twice():
    p, x = (0.4, (1.3, 0.6)), np.array([0.5, -0.8])
    H = adc.hessian(tuple_scalars, wrt="p")(p, x)
    # the same function of the three leaves as one vector, for the differences
    M = fd_hessian(lambda v, x: tuple_scalars((v[0], (v[1], v[2])), x),
                   (np.array([0.4, 1.3, 0.6]), x), 0)
    leaves = [(0,), (1, 0), (1, 1)]
    assert isinstance(H, tuple) and isinstance(H[1], tuple) and isinstance(H[1][0], tuple)
    for i, pi in enumerate(leaves):
        block = H[pi[0]] if len(pi) == 1 else H[pi[0]][pi[1]]
        for j, pj in enumerate(leaves):
            got = block[pj[0]] if len(pj) == 1 else block[pj[0]][pj[1]]
            assert isinstance(got, float)
            assert got == pytest.approx(M[i, j], rel=1e-4, abs=1e-5), (pi, pj)


# -- a Newton step inside the loss ------------------------------------------------------------
#
# A loss that calls an ``adc.hessian`` (a compiled loop over Hessian-vector products, not
# generated code) was refused with "make it a module-level function defined with 'def'"; the
# refusal now says to build the matrix from ``adc.hvp`` columns, and that loss is right.


def energy(x, a):
    return np.sum(a * x ** 4) + x[0] * x[1]


energy_grad = adc.grad(energy, wrt="x")
energy_hessian = adc.hessian(energy, wrt="x")
energy_hvp = adc.hvp(energy, wrt="x")


def newton_step_loss(x, a):
    H = energy_hessian(x, a)
    return energy(x - np.linalg.solve(H, energy_grad(x, a)), a)


def newton_columns_loss(x, a):
    g = energy_grad(x, a)
    n = x.shape[0]
    H = np.zeros((n, n))
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        H[:, k] = energy_hvp(x, a, e)
    return energy(x - np.linalg.solve(H, g), a)


def newton_ref(x, a):  # the gradient and the Hessian by hand
    g = 4 * a * x ** 3 + x[::-1]
    H = np.diag(12 * a * x ** 2) + np.array([[0.0, 1.0], [1.0, 0.0]])
    return energy(x - np.linalg.solve(H, g), a)


def test_a_newton_step_in_the_loss_from_hessian_vector_products():
    with pytest.raises(adc.AdcompileError) as e:
        adc.grad(newton_step_loss)
    text = str(e.value)
    assert "test_higher_contract3.py" in text and "H = energy_hessian(x, a)" in text
    assert "from adcompile.hvp(f, wrt=...), one column per unit vector" in text
    args = (np.array([0.7, -0.4]), 0.5)
    L, (dx, da) = adc.value_and_grad(newton_columns_loss, wrt=("x", "a"))(*args)
    assert L == pytest.approx(newton_ref(*args), rel=1e-12)
    close(dx, fd_jacobian(newton_ref, args, 0))
    assert da == pytest.approx(fd_jacobian(newton_ref, args, 1), rel=1e-6)
