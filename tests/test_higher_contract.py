"""The contract of "Higher order and forward mode" (docs: /work/shared/spec/api.md), line by
line, and programs with loops, branches, helper calls and arrays through every entry point.

Each derivative is compared with float64 central differences of the function run as plain
Python (second order: central differences of those differences), never with adcompile itself.
The programs are taken at points away from kinks (branch switches, ``np.where`` thresholds,
``max`` ties).
"""

from __future__ import annotations

import ast
import importlib.util
import math
from pathlib import Path

import numba
import numpy as np
import pytest

import adcompile as adc

# -- the oracle ------------------------------------------------------------------------------


def fd_jacobian(f, args, i, h=1e-6):
    """d f(*args) / d args[i] by central differences: shape f(*args).shape + args[i].shape."""
    x = np.asarray(args[i], dtype=float)
    y0 = np.asarray(f(*args))
    out = np.empty(y0.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = h
        hi, lo = x + e, x - e
        if x.ndim == 0:
            hi, lo = float(hi), float(lo)
        out[(Ellipsis, *k)] = (np.asarray(f(*_at(args, i, hi)))
                               - np.asarray(f(*_at(args, i, lo)))) / (2 * h)
    return out


def fd_hessian(f, args, i, h=1e-4):
    """The Hessian of the scalar ``f`` in ``args[i]``: differences of its differences."""
    return fd_jacobian(lambda *a: fd_jacobian(f, a, i, 1e-5), args, i, h)


def _at(args, i, x):
    out = list(args)
    out[i] = x
    return out


def along(J, t, x):
    """``J`` (result shape + x's shape) applied to the tangent ``t``."""
    return np.tensordot(J, t, axes=np.ndim(x)) if np.ndim(x) else J * t


def close(got, want, rtol=1e-5, atol=1e-6):
    got = np.asarray(got, dtype=float)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# -- programs --------------------------------------------------------------------------------

# ---- scalar results, array x ----

def s_loop_acc(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        s += a * x[i] ** 2 + math.sin(x[i])
    return s


def s_loop_store(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] += x[i] * x[(i + 1) % x.shape[0]]
        y[i] += np.exp(x[i] * 0.5)
    return np.sum(y * y)


def s_while(x):
    s = 0.0
    i = 0
    while i < x.shape[0]:
        s = s * 0.5 + x[i] ** 3
        i += 1
    return s


def s_break(x):
    s = 0.0
    for i in range(x.shape[0]):
        if s > 2.0:
            break
        s += x[i] * x[i] + 0.3
    return s


def s_branch(x):
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0:
            s += x[i] ** 2
        else:
            s += math.exp(x[i])
    return s


def _pair(a, b):
    return a * b, a + b * b


def s_helper_tuple(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        p, q = _pair(x[i], x[i + 1])
        s += p * q
    return s








def s_elem_store(x):
    y = x.copy()
    y[0] = y[1] * y[2]
    y[2] = np.sin(y[0])
    return np.sum(y ** 2)


def s_where(x):
    return np.sum(np.where(x > 0.1, x ** 2, np.sin(x)))


def s_maximum(x, b):
    return np.sum(np.maximum(x, b) ** 2 + np.minimum(x * 2, b))


def s_prod(x):
    return np.prod(x) + np.prod(x[1:] + 1.0)


def s_solve(x, A):
    M = A + np.diag(x)
    z = np.linalg.solve(M, x)
    return np.sum(z * z)


def s_inv(x, A):
    M = A + np.outer(x, x)
    return np.sum(np.linalg.inv(M) @ x)


def s_det(x, A):
    M = A * x[0] + np.diag(x)
    return np.linalg.det(M)


def s_det_eye(x, A):
    s = 0.0
    for k in range(3):
        s += np.linalg.det(A + x[k] * np.eye(3))  # a number times the identity
    return s


def s_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))




def s_rnn(w, xs):
    h = 0.0
    for t in range(xs.shape[0]):
        h = np.tanh(w[0] * h + w[1] * xs[t] + w[2])
    return h * h


def s_nested(X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if i != j:
                s += X[i, j] * X[j % X.shape[0], i % X.shape[1]]
            else:
                s += X[i, j] ** 3
    return s


def s_norm(x):
    return np.sqrt(np.sum(x * x) + 1.0) + np.linalg.norm(x) ** 2


def s_cumsum(x):
    c = np.cumsum(x)
    return np.sum(c ** 2) + np.dot(x, c)


def s_rows(A):
    s = 0.0
    for i in range(A.shape[0]):
        r = A[i]
        s += np.sum(r * r) * (i + 1)
    return s




def s_abs_clip(x):
    return np.sum(np.abs(x) * np.clip(x, -0.5, 0.5) + x ** 2)


def s_int_pow(x, n):
    r = 1.0
    for k in range(n):
        r = r * np.sum(x) + x[k % x.shape[0]]
    return r






def s_while_cond(x):
    s = 0.0
    k = 0
    while s < 3.0 and k < 10:
        s = s + x[k % x.shape[0]] ** 2 + 0.5
        k += 1
    return s * np.sum(x)






def s_mixed_int(x, m):
    return np.sum(x[m] * x[m]) + np.sum(x * m)

# ---- scalar functions of floats ----

def f_poly(a, b):
    return a ** 3 * b + math.sin(a * b) + b ** 2


def f_loop(a, n):
    s = 1.0
    for k in range(n):
        s = s * a + math.cos(k * a)
    return s


def f_branch(a):
    if a > 0.5:
        y = a * a * a
    else:
        y = math.exp(a) - a
    return y * 2.0


def _h1(a):
    return a * a + math.tanh(a)


def f_helper(a, b):
    return _h1(a * b) * _h1(a)


def f_while(a):
    s = a
    k = 0
    while k < 4:
        s = math.sin(s) + a * k
        k += 1
    return s




def f_logexp(a):
    return math.log(1.0 + math.exp(a)) * a




def g_elementwise(x):
    return np.sin(x) * x ** 2


def g_matvec(x, A):
    return np.tanh(A @ x)


def g_loop_store(x):
    y = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        y[i] = x[i] * x[(i + 1) % x.shape[0]]
    return y




def g_branch(x):
    y = x.copy()
    for i in range(x.shape[0]):
        if x[i] > 0:
            y[i] = x[i] ** 2
        else:
            y[i] = -x[i]
    return y




def g_solve(x, A):
    return np.linalg.solve(A, x * x)










def g_where(x):
    return np.where(x > 0.0, x, x * 0.1) * np.maximum(x, 0.2)


def g_float_to_arr(a, v):
    return v * a ** 2 + np.sin(v * a)




def g_helper(x):
    p, q = _pair(x, x + 1.0)
    return p * q


def g_few_out(X):
    return np.array([np.sum(X), np.prod(X[0])])


def g_prod_axis(X):
    return np.prod(X, axis=0)


def g_scalar_of_array(x):
    return np.sum(x ** 2)


RNG = np.random.default_rng(11)
V3 = np.array([0.3, -0.7, 1.1])
V4 = np.array([0.4, -0.2, 0.9, 0.6])
A3 = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.4, 1.8]])
X23 = np.array([[0.3, -0.5, 0.8], [1.1, 0.2, -0.4]])
T3 = RNG.uniform(-1.0, 1.0, (2, 3, 2))

#: program -> (arguments, wrt, the entry points it goes through); every program has a scalar
#: result (s_, f_: first and second order) or an array result (g_: first order)
CASES = {
    "s_loop_acc": ((V3, 0.7), "x", "jvp"),
    "s_loop_store": ((V3,), "x", "vjp"),
    "s_while": ((V4,), "x", "gjvp"),
    "s_break": ((V4 * 2,), "x", "jvp"),
    "s_branch": ((V4 - 0.3,), "x", "hvp"),
    "s_helper_tuple": ((V4,), "x", "hvp"),
    "s_elem_store": ((V3,), "x", "jvp"),
    "s_where": ((V4 - 0.35,), "x", "hvp"),
    "s_maximum": ((V3, 0.2), "x", "jac"),
    "s_prod": ((V4,), "x", "hess"),
    "s_solve": ((V3, A3), "x", "vjp"),
    "s_inv": ((V3, A3), "x", "vjp"),
    "s_det": ((V3, A3), "x", "hvp"),
    "s_det_eye": ((V3, A3), "x", "vjp"),
    "s_rnn": ((np.array([0.5, -0.3, 0.1]), RNG.normal(size=5)), "w", "hess"),
    "s_nested": ((X23,), "X", "hvp"),
    "s_norm": ((V3,), "x", "hvp"),
    "s_cumsum": ((V4,), "x", "jvp"),
    "s_rows": ((X23,), "A", "hvp"),
    "s_abs_clip": ((V4,), "x", "hvp"),
    "s_int_pow": ((V3, 3), "x", "hvp"),
    "s_while_cond": ((V4,), "x", "hvp"),
    "s_mixed_int": ((V3, np.array([0, 2, 2])), "x", "jvp"),
    "f_poly": ((0.7, -0.4), "a", "gg hess"),
    "f_loop": ((0.6, 4), "a", "gg"),
    "f_branch": ((0.8,), "a", "gg jac"),
    "f_helper": ((0.6, 0.9), "a", "gg vjp"),
    "f_while": ((0.4,), "a", "gg"),
    "f_logexp": ((0.3,), "a", "gjvp"),
    "g_elementwise": ((V3,), "x", "jac vjp"),
    "g_matvec": ((V3, A3), "x", "jvp"),
    "g_loop_store": ((V4,), "x", "jac"),
    "g_branch": ((V4 - 0.3,), "x", "jac"),
    "g_solve": ((V3, A3), "x", "vjp"),
    "g_where": ((V4 - 0.3,), "x", "vjp"),
    "g_float_to_arr": ((0.6, V3), "a", "jac"),
    "g_helper": ((V3,), "x", "vjp"),
    "g_few_out": ((X23,), "X", "jac"),
    "g_prod_axis": ((X23,), "X", "jvp"),
    "g_scalar_of_array": ((V3,), "x", "jac"),
}

#: grad(jvp(f)): the function of the directional derivative, as a user writes it
jf_s_while = adc.jvp(s_while, wrt="x")
jf_f_logexp = adc.jvp(f_logexp, wrt="a")


def gj_s_while(x, t):
    return jf_s_while(x, t)[1]




def gj_f_logexp(a, t):
    return jf_f_logexp(a, t)[1]


def _tangent(x):
    t = RNG.uniform(-1.0, 1.0, np.shape(x))
    return float(t) if np.ndim(x) == 0 else t


def _run(name, mode):
    args, wrt, _ = CASES[name]
    f = globals()[name]
    i = f.__code__.co_varnames.index(wrt)
    x, y = args[i], f(*args)
    t = _tangent(x)
    if mode == "jvp":
        value, d = adc.jvp(f, wrt=wrt)(*args, t)
        close(value, y, 1e-12, 0.0)
        close(d, along(fd_jacobian(f, args, i), t, x))
    elif mode == "vjp":
        c = _tangent(y)
        value, g = adc.vjp(f, wrt=wrt)(*args, c)
        close(value, y, 1e-12, 0.0)
        close(g, np.tensordot(c, fd_jacobian(f, args, i), axes=np.ndim(y)))
    elif mode == "jac":
        J = adc.jacobian(f, wrt=wrt)
        close(J(*args), fd_jacobian(f, args, i))
        assert J.mode == ("reverse" if np.size(y) < np.size(x) else "forward")
    elif mode == "hess":
        H = adc.hessian(f, wrt=wrt)(*args)
        assert isinstance(H, float) if np.ndim(x) == 0 else H.shape == x.shape * 2
        close(H, fd_hessian(f, args, i), 1e-4, 1e-5)
    elif mode == "hvp":
        close(adc.hvp(f, wrt=wrt)(*args, t), along(fd_hessian(f, args, i), t, x), 1e-4, 1e-5)
    elif mode == "gg":
        d2 = adc.grad(adc.grad(f, wrt=wrt), wrt=wrt)(*args)
        close(d2, fd_hessian(f, args, i), 1e-4, 1e-5)
    elif mode == "gjvp":
        got = adc.grad(globals()["gj_" + name], wrt=wrt)(*args, t)
        close(got, along(fd_hessian(f, args, i), t, x), 1e-4, 1e-5)


@pytest.mark.parametrize("name, mode", [(n, m) for n, (_, _, modes) in CASES.items()
                                        for m in modes.split()])
def test_programs_against_central_differences(name, mode):
    _run(name, mode)


# -- the contract, line by line ----------------------------------------------------------------

def neuron(w, b, x, y):
    z = np.dot(w, x) + b
    return (1.0 / (1.0 + math.exp(-z)) - y) ** 2


W3, X3 = np.array([0.2, -0.4, 0.7]), np.array([1.0, 0.5, -1.5])


def test_jvp_takes_one_tangent_per_wrt_after_the_arguments():
    # jf(*args, t_w, t_b): value and directional derivative; wrt by name, position, tuple
    tw, tb = np.array([0.3, 0.1, -0.5]), 0.7
    args = (W3, 0.1, X3, 0.8)
    want = along(fd_jacobian(neuron, args, 0), tw, W3) + fd_jacobian(neuron, args, 1) * tb
    for wrt in (("w", "b"), (0, 1), (0, "b")):
        value, d = adc.jvp(neuron, wrt=wrt)(*args, tw, tb)
        assert value == pytest.approx(neuron(*args), rel=1e-12)
        assert isinstance(d, float)
        assert d == pytest.approx(want, rel=1e-6)
    _, d = adc.jvp(neuron)(*args, tw)  # the default: the first parameter
    assert d == pytest.approx(along(fd_jacobian(neuron, args, 0), tw, W3), rel=1e-6)


def test_vjp_cotangent_of_the_result_shape_and_tuple_wrt():
    c = np.array([0.5, -1.0, 2.0])
    value, (dx, dA) = adc.vjp(g_matvec, wrt=("x", "A"))(V3, A3, c)
    np.testing.assert_allclose(value, g_matvec(V3, A3), rtol=1e-12)
    close(dx, np.tensordot(c, fd_jacobian(g_matvec, (V3, A3), 0), axes=1))
    close(dA, np.tensordot(c, fd_jacobian(g_matvec, (V3, A3), 1), axes=1))
    value, g = adc.vjp(neuron, wrt="b")(W3, 0.1, X3, 0.8, 2.0)  # a float result
    assert isinstance(g, float)
    assert g == pytest.approx(2.0 * fd_jacobian(neuron, (W3, 0.1, X3, 0.8), 1), rel=1e-6)


def test_jacobian_shapes_and_tuples():
    J = adc.jacobian(g_matvec, wrt=("x", "A"))(V3, A3)
    assert isinstance(J, tuple) and J[0].shape == (3, 3) and J[1].shape == (3, 3, 3)
    close(J[0], fd_jacobian(g_matvec, (V3, A3), 0))
    close(J[1], fd_jacobian(g_matvec, (V3, A3), 1))
    (one,) = adc.jacobian(g_matvec, wrt=("x",))(V3, A3)  # a tuple even of length one
    close(one, J[0])
    d = adc.jacobian(f_poly)(0.7, -0.4)  # float result, float parameter: a float
    assert isinstance(d, float)
    assert d == pytest.approx(fd_jacobian(f_poly, (0.7, -0.4), 0), rel=1e-6)
    close(adc.jacobian(g_float_to_arr)(0.6, V3), fd_jacobian(g_float_to_arr, (0.6, V3), 0))


def test_hessian_blocks_of_a_tuple_wrt():
    args = (W3, 0.1, X3, 0.8)
    H = adc.hessian(neuron, wrt=("w", "b"))(*args)
    assert isinstance(H, tuple) and all(isinstance(row, tuple) for row in H)
    assert H[0][0].shape == (3, 3) and H[0][1].shape == (3,) and H[1][0].shape == (3,)
    assert isinstance(H[1][1], float)

    def flat(v):  # the function of (w, b) in one vector
        return neuron(v[:3], v[3], X3, 0.8)
    full = fd_hessian(flat, (np.append(W3, 0.1),), 0)
    close(H[0][0], full[:3, :3], 1e-4, 1e-5)
    close(H[0][1], full[:3, 3], 1e-4, 1e-5)
    close(H[1][0], full[3, :3], 1e-4, 1e-5)
    assert H[1][1] == pytest.approx(full[3, 3], rel=1e-4, abs=1e-5)
    hw, hb = adc.hvp(neuron, wrt=("w", "b"))(*args, np.array([1.0, 0.0, -1.0]), 0.5)
    v = np.array([1.0, 0.0, -1.0, 0.5])
    close(np.append(hw, hb), full @ v, 1e-4, 1e-5)


def test_grad_of_grad_and_third_order():
    d2 = adc.grad(adc.grad(f_poly))
    assert d2(0.7, -0.4) == pytest.approx(fd_hessian(f_poly, (0.7, -0.4), 0), rel=1e-4)
    d3 = adc.grad(d2)(0.7, -0.4)
    want = 6 * -0.4 - (-0.4) ** 3 * math.cos(0.7 * -0.4)  # by hand: d3/da3 of f_poly
    assert d3 == pytest.approx(want, rel=1e-9)


def test_integer_arguments_give_float_derivatives():
    value, d = adc.jvp(f_poly)(1, 2, 1.0)
    assert isinstance(d, float) and d == pytest.approx(fd_jacobian(f_poly, (1.0, 2.0), 0))
    H = adc.hessian(g_scalar_of_array)(np.array([1, 2, 3]))
    assert H.dtype == np.float64
    close(H, 2 * np.eye(3))


def test_every_entry_point_has_source_that_parses():
    made = [adc.jvp(neuron, wrt=("w", "b")), adc.vjp(g_matvec), adc.hvp(neuron),
            adc.grad(adc.grad(f_poly))]
    for fn in made:
        assert "def " in fn.source
        ast.parse(fn.source)
    assert "dt_w" in made[0].source and "dt_b" in made[0].source
    J = adc.jacobian(g_scalar_of_array)
    J(V3)
    ast.parse(J.source)


jf_neuron = adc.jvp(neuron, wrt=("w", "b"))
vf_matvec = adc.vjp(g_matvec)
hv_neuron = adc.hvp(neuron)
H_neuron = adc.hessian(neuron, wrt=("w", "b"))
J_matvec = adc.jacobian(g_matvec)
J_few = adc.jacobian(g_few_out)
H_vector = adc.hessian(g_matvec)


@numba.njit
def compiled_calls(w, x, A, X):
    _, d = jf_neuron(w, 0.1, x, 0.8, x, 0.5)
    _, g = vf_matvec(x, A, w)
    hv = hv_neuron(w, 0.1, x, 0.8, x)
    H = H_neuron(w, 0.1, x, 0.8)
    return d, g, hv, H[0][0], H[0][1], J_matvec(x, A), J_few(X)


def test_called_from_numba_code():
    d, g, hv, Hww, Hwb, J, Jr = compiled_calls(W3, X3, A3, X23)
    args = (W3, 0.1, X3, 0.8)
    assert d == pytest.approx(along(fd_jacobian(neuron, args, 0), X3, W3)
                              + 0.5 * fd_jacobian(neuron, args, 1), rel=1e-6)
    close(g, np.tensordot(W3, fd_jacobian(g_matvec, (X3, A3), 0), axes=1))
    Hx = fd_hessian(neuron, args, 0)
    close(hv, Hx @ X3, 1e-4, 1e-5)
    close(Hww, Hx, 1e-4, 1e-5)
    close(Hwb, fd_jacobian(lambda *a: fd_jacobian(neuron, a, 1, 1e-5), args, 0, 1e-4), 1e-4,
          1e-5)
    close(J, fd_jacobian(g_matvec, (X3, A3), 0))
    close(Jr, fd_jacobian(g_few_out, (X23,), 0))  # by rows (reverse)


@numba.njit
def jvp_in_numba(x, A, t):
    return jf_matvec(x, A, t)


@numba.njit
def hvp_in_numba(x, v):
    return hv_logsumexp(x, v)


@numba.njit
def vjp_in_numba(x, A, c):
    return vf_matvec(x, A, c)


@numba.njit
def hessian_in_numba(x, A):
    return H_vector(x, A)


jf_matvec = adc.jvp(g_matvec)
hv_logsumexp = adc.hvp(s_logsumexp)


@pytest.mark.parametrize("call, bad, what", [
    (lambda t: jvp_in_numba(V3, A3, t), np.ones((3, 1)), "the tangent for 'x'"),
    (lambda t: jvp_in_numba(V3, A3, t), np.ones(1), "the tangent for 'x'"),
    (lambda t: jvp_in_numba(V3, A3, t), 1.0, "the tangent for 'x'"),
    (lambda v: hvp_in_numba(V4, v), np.ones(3), "the vector for 'x'"),
    (lambda c: vjp_in_numba(V3, A3, c), np.ones(1), "the cotangent"),
    (lambda c: vjp_in_numba(V3, A3, c), 2.0, "the cotangent"),
], ids=["jvp-rank", "jvp-broadcast", "jvp-float", "hvp-length", "vjp-broadcast", "vjp-float"])
def test_a_vector_of_another_shape_from_numba_fails_clearly(call, bad, what):
    # NumPy would broadcast these into a silently wrong result
    with pytest.raises(ValueError, match=what):
        call(bad)


def test_hessian_of_an_array_function_from_numba_fails_clearly():
    with pytest.raises(ValueError, match="must return a scalar to have a Hessian"):
        hessian_in_numba(V3, A3)
    with pytest.raises(adc.AdcompileError, match="must return a scalar"):
        H_vector(V3, A3)


def test_shapes_from_python_are_checked():
    with pytest.raises(adc.AdcompileError, match="tangent for 'x'"):
        adc.jvp(g_matvec)(V3, A3, np.ones((3, 1)))
    with pytest.raises(adc.AdcompileError, match="cotangent"):
        adc.vjp(g_matvec)(V3, A3, 1.0)
    with pytest.raises(adc.AdcompileError, match="vector for 'x'"):
        adc.hvp(s_logsumexp)(V4, np.ones(2))


@pytest.mark.parametrize("what", ["jacobian", "hessian", "hvp", "jvp", "vjp"])
def test_a_derivative_of_a_pair_says_what_to_write(what):
    with pytest.raises(adc.AdcompileError) as info:
        getattr(adc, what)(jf_matvec)(V3, A3, np.ones(3))
    assert "returns a pair (value, directional derivative)" in str(info.value)
    assert "def g(x, t): return jf(x, t)[1]" in info.value.hint
    assert f"adcompile.{what}(f, wrt=...)" in info.value.hint


def test_the_jacobian_of_a_directional_derivative_as_the_refusal_says():
    def g(x, A, t):
        return jf_matvec(x, A, t)[1]
    t = np.array([0.2, -0.1, 0.4])
    close(adc.jacobian(gj_matvec_module, wrt="x")(V3, A3, t),
          fd_jacobian(lambda x: fd_jacobian(g_matvec, (x, A3), 0) @ t, (V3,), 0, 1e-4),
          1e-4, 1e-6)
    assert g(V3, A3, t).shape == (3,)


def gj_matvec_module(x, A, t):
    return jf_matvec(x, A, t)[1]


def test_wrt_naming_no_parameter_is_refused_naming_it():
    for entry in (adc.jvp, adc.vjp, adc.hvp):
        with pytest.raises(adc.AdcompileError, match="'q'"):
            entry(neuron, wrt="q")
    with pytest.raises(adc.AdcompileError, match="'q'"):
        adc.hessian(neuron, wrt="q")
    with pytest.raises(adc.AdcompileError, match="'q'"):
        adc.jacobian(neuron, wrt=("w", "q"))


def pair_params(p, x):
    (W, b), c = p
    return np.sum(np.tanh(W @ x + b)) * c


def test_tuple_parameters():
    W, b, c = A3 * 0.5, V3, 1.5
    p = ((W, b), c)
    tW, tb, tc = RNG.uniform(-1.0, 1.0, (3, 3)), RNG.uniform(-1.0, 1.0, 3), 0.3
    _, d = adc.jvp(pair_params)(p, X3, ((tW, tb), tc))

    def of(W, b, c):
        return pair_params(((W, b), c), X3)
    want = sum(along(fd_jacobian(of, (W, b, c), k), t, a)
               for k, (t, a) in enumerate(((tW, W), (tb, b), (tc, c))))
    assert d == pytest.approx(want, rel=1e-6)
    H = adc.hessian(pair_params)(p, X3)
    Hcc = H[1][1]
    assert Hcc == pytest.approx(0.0, abs=1e-12)
    hb = H[0][1][0][1]  # d2 / db db
    close(hb, fd_hessian(lambda b: pair_params(((W, b), c), X3), (b,), 0), 1e-4, 1e-5)


def test_cli_show_mode_jvp(capsys):
    from adcompile.cli import main

    assert main(["show", f"{__file__}:f_poly", "--mode", "jvp", "--wrt", "a,b"]) == 0
    out = capsys.readouterr().out
    ast.parse(out)
    assert "def jvp_f_poly(a, b, dt_a, dt_b)" in out


# -- the user's names against the generated ones ---------------------------------------------

dt_s = 0.25  # a module-level name spelled like a tangent


def tangent_named_global(x):
    s = x * x
    return s * dt_s


def user_dt_names(x, dt_x):
    dt_y = np.cos(x)
    y = np.sin(x) * dt_y
    return np.sum(y) + np.sum(dt_x * x)


def _kernel_named_locals(a):
    zeros_like = a * 2.0  # named as the kernels the tangent code calls
    y = np.zeros(3)
    y[0] = zeros_like
    stored_tangent = y * a
    return np.sum(stored_tangent * y)


def calls_kernel_named_locals(x):
    y = np.zeros(3)  # the caller's own tangent code binds zeros_like first
    y[1] = x * 2.0
    return np.sum(y * y) + _kernel_named_locals(x) * x


def _h(a):
    return a * a + math.tanh(a)


def helper_named_local(x):
    jvp__h = x + 1.0  # the name of the helper jvp makes for _h
    return _h(x) * jvp__h


@pytest.mark.parametrize("f, args, wrt", [
    (tangent_named_global, (0.7,), "x"), (user_dt_names, (V3, V3 * 2), "x"),
    (user_dt_names, (V3, V3 * 2), "dt_x"), (calls_kernel_named_locals, (0.7,), "x"),
    (helper_named_local, (0.6,), "x"),
])
def test_user_names_that_read_like_generated_ones(f, args, wrt):
    i = f.__code__.co_varnames.index(wrt)
    x = args[i]
    t = _tangent(x)
    _, d = adc.jvp(f, wrt=wrt)(*args, t)
    assert d == pytest.approx(along(fd_jacobian(f, args, i), t, x), rel=1e-6)
    if np.ndim(x) == 0:  # second order: reverse mode over the tangent code
        d2 = adc.grad(adc.grad(f, wrt=wrt), wrt=wrt)(*args)
        assert d2 == pytest.approx(fd_hessian(f, args, i), rel=1e-4, abs=1e-5)
    else:
        close(adc.hvp(f, wrt=wrt)(*args, t), along(fd_hessian(f, args, i), t, x), 1e-4, 1e-5)


# -- an infinite border is a constant ---------------------------------------------------------

def _example(name):
    path = Path(__file__).resolve().parent.parent / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"adcompile_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: the example's table starts as np.full((n + 1, m + 1), np.inf) with R[0, 0] = 0.0
soft_dtw = _example("soft_dtw").soft_dtw


def infinite_entries(x, gamma):
    z = np.array([0.0, np.inf, 1.0]) - x[0]
    return np.sum(np.exp(-z / gamma)) + np.sum(x * x) / gamma


def test_soft_dtw_with_an_infinite_border_has_finite_derivatives_in_gamma():
    x, y, gamma = np.array([0.3, -0.2]), np.array([0.1, 0.4, -0.3]), 0.7
    args = (x, y, gamma)
    dx, dgamma = adc.grad(soft_dtw, wrt=("x", "gamma"))(*args)
    close(dx, fd_jacobian(soft_dtw, args, 0))
    assert dgamma == pytest.approx(fd_jacobian(soft_dtw, args, 2), rel=1e-6)
    _, d = adc.jvp(soft_dtw, wrt="gamma")(*args, 1.0)
    assert d == pytest.approx(dgamma, rel=1e-9)
    want = fd_hessian(soft_dtw, args, 2)
    assert adc.grad(adc.grad(soft_dtw, wrt="gamma"), wrt="gamma")(*args) == pytest.approx(
        want, rel=1e-4)


def test_an_infinite_quotient_of_an_array_has_a_zero_derivative():
    x, gamma = np.array([0.2, 0.5]), 0.7
    dx, dgamma = adc.grad(infinite_entries, wrt=("x", "gamma"))(x, gamma)
    assert np.isfinite(dgamma)
    assert dgamma == pytest.approx(fd_jacobian(infinite_entries, (x, gamma), 1), rel=1e-6)
    close(dx, fd_jacobian(infinite_entries, (x, gamma), 0))
    _, d = adc.jvp(infinite_entries, wrt="gamma")(x, gamma, 1.0)
    assert d == pytest.approx(dgamma, rel=1e-9)
