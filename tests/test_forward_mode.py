"""Forward mode (``jvp``) and the Jacobian, against float64 central differences.

Each directional derivative is compared with ``(f(x + h t) - f(x - h t)) / 2h``; Jacobians
column by column with differences in each entry.  The programs cover the rule kinds forward
mode uses (elementwise rules taken from the reverse rules, linear and bilinear primitives,
forward formulas), broadcasting against values that do not vary, loops, branches, ``while``
with ``break``, helper calls, stores into local arrays (integer arrays included) and
functions that return arrays.
"""

from __future__ import annotations

import ast
import math
import re

import numba
import numpy as np
import progen
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

import adcompile as adc

RNG = np.random.default_rng(7)


def directional(f, args, wrt, tangents, h=1e-6):
    """``d/de f(args + e * tangents)`` at 0 by central differences (``wrt``: positions)."""
    def moved(sign):
        out = list(args)
        for i, t in zip(wrt, tangents, strict=True):
            out[i] = np.asarray(args[i], dtype=float) + sign * h * t if np.ndim(
                args[i]) else float(args[i]) + sign * h * t
        return np.asarray(f(*out), dtype=float)
    return (moved(1.0) - moved(-1.0)) / (2 * h)


def check_jvp(f, args, wrt, rtol=1e-6, atol=1e-8):
    """``jvp(f, wrt)`` at ``args`` in a random direction, against the differences."""
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    tangents = [RNG.standard_normal(np.shape(args[i])) if np.ndim(args[i])
                else float(RNG.standard_normal()) for i in positions]
    before = [np.copy(a) for a in args]
    value, d = adc.jvp(f, wrt=wrt)(*args, *tangents)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-14)
    want = directional(f, args, positions, tangents)
    assert np.shape(d) == np.shape(want)
    np.testing.assert_allclose(d, want, rtol=rtol, atol=atol)
    return d


# -- numbers ------------------------------------------------------------------------------

def neuron(w, b, x, y):
    yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
    return (yhat - y) ** 2


def special(x, y):
    a = math.atan2(y, x) + math.hypot(x, y) + x ** 3 - y ** -2 + abs(x - 2.0 * y)
    return a + math.log1p(x * x) * math.sqrt(y * y + 1.0) + max(x, y) * math.tanh(x)


def test_jvp_of_number_functions_is_the_directional_derivative():
    check_jvp(neuron, (0.3, -0.1, 1.5, 0.8), (0, 1))
    check_jvp(neuron, (0.3, -0.1, 1.5, 0.8), 0)
    check_jvp(special, (0.7, -1.3), (0, 1))
    check_jvp(special, (-0.4, 0.9), 1)


def test_jvp_in_the_directions_of_the_axes_is_the_gradient():
    jf = adc.jvp(neuron, wrt=("w", "b"))
    dw = jf(0.3, -0.1, 1.5, 0.8, 1.0, 0.0)[1]
    db = jf(0.3, -0.1, 1.5, 0.8, 0.0, 1.0)[1]
    # by hand: dL/dw = 2 (yhat - y) yhat (1 - yhat) x, dL/db the same without x
    yhat = 1.0 / (1.0 + math.exp(-(0.3 * 1.5 - 0.1)))
    common = 2.0 * (yhat - 0.8) * yhat * (1.0 - yhat)
    assert math.isclose(dw, common * 1.5, rel_tol=1e-12)
    assert math.isclose(db, common, rel_tol=1e-12)


# -- arrays -------------------------------------------------------------------------------

def reductions(x, A):
    return (np.sum(x * x) + np.mean(A) * np.max(x) + np.min(A @ x) + np.prod(x[:2])
            + np.sum(np.max(A, axis=0)) + np.sum(np.mean(A, axis=1, keepdims=True) * A))


def broadcast_against_constants(s, x, C):
    y = s + C                      # only s varies: its tangent spread over C's shape
    z = np.where(C > 0.0, s, x)    # a varying number against an array that does not vary
    w = np.maximum(x, 0.2) - s
    return np.sum(y * y) + np.sum(z * C) + np.sum(w * w)


def products_and_shapes(x, A):
    B = np.reshape(A, (3, 2))
    v = np.dot(A, x) + np.outer(x, x)[0, :2]
    M = np.transpose(B) @ B
    stacked = np.concatenate((x, np.array((x[0] * 2.0, v[1]))))
    return np.sum(M * M) + np.sum(stacked ** 2) + np.linspace(x[0], x[1], 4)[2]


def test_jvp_of_array_functions():
    x = np.array([0.4, -1.1, 0.7])
    A = np.array([[0.5, -0.2, 1.3], [0.8, 0.1, -0.6]])
    check_jvp(reductions, (x, A), 0)
    check_jvp(reductions, (x, A), (0, 1))
    C = np.array([[0.3, -1.0, 2.0], [-0.5, 0.25, 1.0]])
    check_jvp(broadcast_against_constants, (0.7, x, C), 0)
    check_jvp(broadcast_against_constants, (0.7, x, C), (0, 1))
    check_jvp(products_and_shapes, (x, A), (0, 1))


# -- control flow and helpers ---------------------------------------------------------------

def loops_and_branches(x, w, n):
    s = 0
    out = np.zeros(n)
    for i in range(n):
        if x[i] > 0.0:
            s = s + w * x[i] ** 2
        else:
            s = s - math.exp(x[i])
        out[i] = s
    k = 0
    while True:
        k += 1
        s = s * 0.9 + math.sin(w * k)
        if k >= 3:
            break
    return np.sum(out * out) + s


def _smooth(a, b):
    total = 0.0
    for j in range(3):
        total = total + math.tanh(a * j + b)
    return total


def calls_a_helper(x, w):
    r = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        r[i] = _smooth(x[i], w)
    return np.sum(r * r) + _smooth(w, 1.0)


def int_array_store(x, m):
    Y = m.copy()                   # an integer array: a store into it truncates
    Y[0] = x * 3.0
    Z = np.zeros(2)
    Z[1] = x * x
    return np.sum(Y * x) + np.sum(Z)


def test_jvp_through_loops_branches_helpers_and_stores():
    x = np.array([0.5, -0.3, 1.2, 0.7])
    check_jvp(loops_and_branches, (x, 0.8, 4), (0, 1))
    check_jvp(loops_and_branches, (x, 0.8, 0), 1)
    check_jvp(calls_a_helper, (x, 0.3), (0, 1))
    check_jvp(calls_a_helper, (x, 0.3), 1)
    check_jvp(int_array_store, (0.6, np.array([2, 5])), 0)


def test_jvp_source_reads_like_the_function_with_its_tangents():
    jf = adc.jvp(neuron, wrt=("w", "b"))
    tree = ast.parse(jf.source)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert [a.arg for a in fn.args.args] == ["w", "b", "x", "y", "dt_w", "dt_b"]
    assert "dt_yhat = " in jf.source and "forward mode" in jf.source


# -- what the tangent sweep leaves out: copies, temporaries ---------------------------------

def layer(W, b, X):
    H = np.tanh(X @ W + b)
    r = H @ W[0] - X[:, 0]
    return np.mean(r ** 2)


def store_between(x):
    a = x * 1.0
    b = a * 3.0       # its tangent reads dt_a: it must not move past the store into a
    a[0] = 5.0
    c = b * x
    return np.sum(c * a)


def store_into_a_sum(x):
    y = x * 2.0
    z = y + 1.0       # dt_z is dt_y itself only if nothing writes into z
    z[0] = 0.0
    return np.sum(z * y) + np.sum(y * y)  # y * y reads dt_y[0] after the store


def test_tangent_arithmetic_read_once_is_written_into_its_reader():
    rng = np.random.default_rng(5)
    W, b, X = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal((6, 2))
    check_jvp(layer, (W, b, X), (0, 1))
    source = adc.jvp(layer, wrt=(0, 1)).source
    # dt_t2 = dt_t1 + dt_b then dt_H = dt_t2 * (1.0 - H * H): one statement, no temporary
    # (its arithmetic on numbers, applied by the elementwise kernel)
    assert "dt_H = elementwise(tangent_H, (dt_t1, dt_b, H))" in source, source
    assert re.search(r"return \(dt_\w+ \+ dt_b\) \* \(1\.0 - H \* H\)", source), source
    assert "fresh_tangent" not in source  # r = t - X[:, 0] shares the tangent of t
    check_jvp(store_between, (np.array([0.4, -1.2, 0.9]),), 0)


def squares(x, A):
    return np.sum(x * x) + np.sum((A @ x + x) * (A @ x + x))


def test_a_product_of_a_value_with_itself_has_one_tangent_term_twice():
    x = np.array([0.4, -1.2, 0.9])
    check_jvp(squares, (x, np.eye(3) * 0.5 + 0.1), 0)
    assert "dt_x * x * 2.0" in adc.jvp(squares).source


def test_a_tangent_is_shared_only_where_no_store_can_change_it():
    x = np.array([0.4, -1.2, 0.9])
    check_jvp(store_into_a_sum, (x,), 0)
    assert "fresh_tangent" in adc.jvp(store_into_a_sum).source


# -- functions returning arrays; the Jacobian -----------------------------------------------

def field(x, a):
    y = np.sin(x) * a
    y[0] = y[0] + x[1] * x[2]
    return y * x[0]


def two_outputs(a, b):
    return np.array((a * b, math.exp(a) - b, a / (1.0 + b * b)))


def numeric_jacobian(f, args, i, h=1e-6):
    x = np.asarray(args[i], dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        cols.append(directional(f, args, (i,), (e.reshape(x.shape) if x.ndim else 1.0,), h))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(*args)) + x.shape)


def test_jvp_of_a_function_returning_an_array():
    x = np.array([0.3, -0.8, 1.1])
    d = check_jvp(field, (x, 1.7), (0, 1))
    assert d.shape == (3,)


def test_jacobian_has_the_shape_of_the_result_then_the_parameter():
    x = np.array([0.3, -0.8, 1.1])
    J = adc.jacobian(field, wrt=0)(x, 1.7)
    assert J.shape == (3, 3)
    np.testing.assert_allclose(J, numeric_jacobian(field, (x, 1.7), 0), rtol=1e-6, atol=1e-8)
    Ja = adc.jacobian(field, wrt=1)(x, 1.7)
    assert Ja.shape == (3,)
    np.testing.assert_allclose(Ja, numeric_jacobian(field, (x, 1.7), 1), rtol=1e-6,
                               atol=1e-8)
    Jx, Ja2 = adc.jacobian(field, wrt=(0, 1))(x, 1.7)
    np.testing.assert_allclose(Jx, J)
    np.testing.assert_allclose(Ja2, Ja)
    Jab = adc.jacobian(two_outputs, wrt=("a", "b"))(0.4, -0.7)
    np.testing.assert_allclose(Jab[0], numeric_jacobian(two_outputs, (0.4, -0.7), 0),
                               rtol=1e-6)
    np.testing.assert_allclose(Jab[1], numeric_jacobian(two_outputs, (0.4, -0.7), 1),
                               rtol=1e-6)


def test_jacobian_of_a_scalar_function_is_its_gradient():
    x = np.array([0.4, -1.1, 0.7])
    A = np.array([[0.5, -0.2, 1.3], [0.8, 0.1, -0.6]])
    J = adc.jacobian(reductions, wrt=0)(x, A)
    np.testing.assert_allclose(J, adc.grad(reductions)(x, A), rtol=1e-10)
    assert adc.jacobian(neuron, wrt=1)(0.3, -0.1, 1.5, 0.8) == pytest.approx(
        adc.grad(neuron, wrt=1)(0.3, -0.1, 1.5, 0.8), rel=1e-12)


def test_jvp_is_callable_from_numba():
    jf = adc.jvp(neuron, wrt=0)

    @numba.njit
    def sweep(ws):
        out = np.empty(ws.size)
        for k in range(ws.size):
            out[k] = jf(ws[k], -0.1, 1.5, 0.8, 1.0)[1]
        return out

    ws = np.array([-0.5, 0.0, 0.9])
    np.testing.assert_allclose(sweep(ws), [adc.grad(neuron)(w, -0.1, 1.5, 0.8) for w in ws],
                               rtol=1e-12)


# -- rules ----------------------------------------------------------------------------------

def softclip(x):
    return x / (1.0 + np.abs(x))


@adc.derivative(softclip)
def _softclip_rule(g, ans, x):
    return g / ((1.0 + np.abs(x)) * (1.0 + np.abs(x)))


def norm(x):
    return np.sqrt(np.sum(x * x))


def _norm_forward(t, ans, x):
    return np.sum(x * t) / ans


@adc.derivative(norm, elementwise=False, forward=_norm_forward)
def _norm_rule(g, ans, x):
    return g * x / ans


def uses_norm(x, A):
    return norm(A @ x) * norm(x)


def uses_softclip(a, b):
    return softclip(a * b) + a


def uses_softclip_on_arrays(x):
    return np.sum(softclip(x))


def test_a_user_rule_without_forward_rule_serves_numbers():
    check_jvp(uses_softclip, (0.8, -1.7), (0, 1))


def test_a_user_forward_rule_is_used():
    x = np.array([0.4, -1.1, 0.7])
    A = np.array([[0.5, -0.2, 1.3], [0.8, 0.1, -0.6]])
    check_jvp(uses_norm, (x, A), (0, 1))
    assert "_norm_forward" not in adc.jvp(uses_norm).source  # inlined, with the user's names


def test_a_user_rule_without_forward_rule_is_refused_on_arrays():
    with pytest.raises(adc.AdcompileError, match="forward rule"):
        adc.jvp(uses_softclip_on_arrays)


def test_a_tangent_nested_otherwise_than_its_tuple_parameter_is_refused():
    def takes_tuple(p, x):
        a, b = p
        return a * x + b

    # tuple parameters in forward mode and second order: tests/test_tuple_higher.py
    assert adc.jvp(takes_tuple)((1.0, 2.0), 3.0, (1.0, 0.0)) == (5.0, 3.0)
    with pytest.raises(adc.AdcompileError, match="nested as"):
        adc.jvp(takes_tuple)((1.0, 2.0), 3.0, 1.0)


# -- random programs ------------------------------------------------------------------------

@settings(max_examples=12, deadline=None, phases=[Phase.generate], database=None,
          suppress_health_check=list(HealthCheck))
@given(program=progen.programs())
def test_random_programs_in_forward_mode_match_finite_differences(program, tmp_path_factory):
    outcome = progen.check_forward(program, tmp_path_factory.mktemp("forward"))
    assert outcome.status != "mismatch", (
        f"MISMATCH ({outcome.cls})\n{program!r}\n{outcome.detail}")
    assume(outcome.status in ("ok", "refused"))


# -- second order ---------------------------------------------------------------------------

def second_difference(f, args, i, j, ki, kj, h=1e-4):
    """d2 f / d args[i][ki] d args[j][kj] by central differences of f itself."""
    def at(di, dj):
        out = [(np.array(a, dtype=float) if np.ndim(a) else float(a)) if p in (i, j) else a
               for p, a in enumerate(args)]
        for p, k, d in ((i, ki, di), (j, kj, dj)):
            if np.ndim(out[p]):
                out[p] = out[p].copy()
                out[p][k] += d
            else:
                out[p] += d
        return f(*out)
    return (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)


def numeric_hessian(f, args, i, j):
    xi, xj = np.asarray(args[i]), np.asarray(args[j])
    out = np.empty(xi.shape + xj.shape)
    for ki in np.ndindex(xi.shape):
        for kj in np.ndindex(xj.shape):
            out[ki + kj] = second_difference(f, args, i, j, ki or None, kj or None)
    return out


def rosenbrock(x):
    s = 0.0
    for i in range(x.shape[0] - 1):
        s = s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def tiny_mlp(W, b, X, y):
    h = np.tanh(X @ W + b)
    p = 1.0 / (1.0 + np.exp(-np.sum(h, axis=1)))
    return np.mean((p - y) ** 2)


def piecewise(x, c):
    s = 0.0
    for k in range(x.shape[0]):
        if x[k] > c:
            s = s + x[k] ** 3 * c
        else:
            s = s + math.sin(x[k] * c)
    return s


def test_hessian_against_second_differences():
    x = np.array([0.3, -0.5, 1.2, 0.8])
    H = adc.hessian(rosenbrock)(x)
    assert H.shape == (4, 4)
    np.testing.assert_allclose(H, numeric_hessian(rosenbrock, (x,), 0, 0), rtol=1e-5,
                               atol=1e-4)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    xs = np.array([0.4, -0.7, 1.1])
    np.testing.assert_allclose(adc.hessian(piecewise)(xs, 0.2),
                               numeric_hessian(piecewise, (xs, 0.2), 0, 0), rtol=1e-5,
                               atol=1e-5)
    assert adc.hessian(neuron, wrt=1)(0.3, -0.1, 1.5, 0.8) == pytest.approx(
        second_difference(neuron, (0.3, -0.1, 1.5, 0.8), 1, 1, None, None), rel=1e-5)


def test_hessian_blocks_for_several_parameters():
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    X, y = rng.standard_normal((5, 3)), rng.uniform(0, 1, 5)
    blocks = adc.hessian(tiny_mlp, wrt=("W", "b"))(W, b, X, y)
    args = (W, b, X, y)
    for i in range(2):
        for j in range(2):
            assert blocks[i][j].shape == np.shape(args[i]) + np.shape(args[j])
            np.testing.assert_allclose(blocks[i][j], numeric_hessian(tiny_mlp, args, i, j),
                                       rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(blocks[0][1], np.transpose(blocks[1][0], (1, 2, 0)),
                               rtol=1e-10, atol=1e-12)
    (hww, hwb), (hbw, hbb) = adc.hessian(neuron, wrt=("w", "b"))(0.3, -0.1, 1.5, 0.8)
    assert hwb == pytest.approx(hbw, rel=1e-12)
    assert hww == pytest.approx(second_difference(neuron, (0.3, -0.1, 1.5, 0.8), 0, 0,
                                                  None, None), rel=1e-5)


def test_hvp_is_the_hessian_times_the_vector_without_forming_it():
    x = np.array([0.3, -0.5, 1.2, 0.8])
    v = np.array([1.0, 0.5, -0.2, 0.3])
    hv = adc.hvp(rosenbrock)(x, v)
    np.testing.assert_allclose(hv, numeric_hessian(rosenbrock, (x,), 0, 0) @ v, rtol=1e-5,
                               atol=1e-4)
    assert "def grad_jvp_rosenbrock_tangent(x, dt_x)" in adc.hvp(rosenbrock).source
    rng = np.random.default_rng(4)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    X, y = rng.standard_normal((5, 3)), rng.uniform(0, 1, 5)
    vW, vb = rng.standard_normal((3, 2)), rng.standard_normal(2)
    hW, hb = adc.hvp(tiny_mlp, wrt=("W", "b"))(W, b, X, y, vW, vb)
    args = (W, b, X, y)
    want_W = (np.tensordot(numeric_hessian(tiny_mlp, args, 0, 0), vW, 2)
              + numeric_hessian(tiny_mlp, args, 0, 1) @ vb)
    np.testing.assert_allclose(hW, want_W, rtol=1e-4, atol=1e-6)
    want_b = (np.tensordot(numeric_hessian(tiny_mlp, args, 1, 0), vW, 2)
              + numeric_hessian(tiny_mlp, args, 1, 1) @ vb)
    np.testing.assert_allclose(hb, want_b, rtol=1e-4, atol=1e-6)


# -- vjp, and the Jacobian by rows ------------------------------------------------------------

def euler(y0, k, n):
    y = y0.copy()
    out = np.zeros((n, y0.shape[0]))
    for i in range(n):
        y = y + 0.1 * (-k * y + np.sin(y))
        out[i] = y
    return out


def test_vjp_is_the_gradient_of_the_result_against_the_cotangent():
    x = np.array([0.3, -0.8, 1.1])
    c = np.array([1.0, -2.0, 0.5])
    value, (gx, ga) = adc.vjp(field, wrt=(0, 1))(x, 1.7, c)
    np.testing.assert_allclose(value, field(x, 1.7))
    np.testing.assert_allclose(gx, c @ numeric_jacobian(field, (x, 1.7), 0), rtol=1e-6)
    np.testing.assert_allclose(ga, c @ numeric_jacobian(field, (x, 1.7), 1), rtol=1e-6)
    np.testing.assert_array_equal(c, [1.0, -2.0, 0.5])  # the cotangent is not changed
    y0, C = np.array([0.5, -0.2]), np.arange(8.0).reshape(4, 2)
    _, gk = adc.vjp(euler, wrt=1)(y0, 0.7, 4, C)
    assert gk == pytest.approx(float(directional(lambda k: np.sum(euler(y0, k, 4) * C),
                                                 (0.7,), (0,), (1.0,))), rel=1e-6)
    value, (da, db) = adc.vjp(neuron, wrt=(0, 1))(0.3, -0.1, 1.5, 0.8, 2.0)
    want = adc.grad(neuron, wrt=(0, 1))(0.3, -0.1, 1.5, 0.8)
    assert (da, db) == pytest.approx((2.0 * want[0], 2.0 * want[1]), rel=1e-12)


def test_jacobian_takes_rows_when_the_result_is_smaller():
    y0 = np.array([0.5, -0.2, 0.9])
    tall = adc.jacobian(euler, wrt=0)           # 12 results, 3 entries: forward mode
    J = tall(y0, 0.7, 4)
    assert tall.mode == "forward" and J.shape == (4, 3, 3)
    np.testing.assert_allclose(J, numeric_jacobian(euler, (y0, 0.7, 4), 0), rtol=1e-6,
                               atol=1e-9)
    x = np.array([0.3, -0.8, 1.1, 0.2, 0.5])
    wide = adc.jacobian(two_of_many, wrt=0)    # 2 results, 5 entries: reverse mode
    Jw = wide(x)
    assert wide.mode == "reverse" and Jw.shape == (2, 5)
    np.testing.assert_allclose(Jw, numeric_jacobian(two_of_many, (x,), 0), rtol=1e-6,
                               atol=1e-9)
    assert "vjp_two_of_many" in wide.source


def two_of_many(x):
    return np.array((np.sum(x * x), np.prod(x[:3])))


# -- gradients of gradients -----------------------------------------------------------------

def damped(x, n):
    s = 0.0
    for i in range(n):
        s = s + math.sin(x * i) / (1.0 + i)
        if s > 1.0:
            s = s * 0.5
    return s


def cross(a, b):
    return a * a * b + math.exp(a * b) + _smooth(a, b)


def cubes(x):
    return np.sum(x ** 3)


def test_grad_of_grad_through_loops_branches_and_helpers():
    d2 = adc.grad(adc.grad(damped))
    for x in (0.7, -1.3):
        assert d2(x, 5) == pytest.approx(
            second_difference(lambda x: damped(x, 5), (x,), 0, 0, None, None), rel=1e-5,
            abs=1e-7)
    dab = adc.grad(adc.grad(cross, wrt="a"), wrt="b")
    assert dab(0.3, 0.8) == pytest.approx(
        second_difference(cross, (0.3, 0.8), 0, 1, None, None), rel=1e-5)
    # third order: d3/da3 of a^2 b + exp(a b) is b^3 exp(a b) plus the helper's part
    d3 = adc.grad(adc.grad(adc.grad(cross)))
    h = 1e-3
    want = (second_difference(cross, (0.3 + h, 0.8), 0, 0, None, None)
            - second_difference(cross, (0.3 - h, 0.8), 0, 0, None, None)) / (2 * h)
    assert d3(0.3, 0.8) == pytest.approx(want, rel=1e-3)


def test_grad_of_a_gradient_with_respect_to_an_array_points_to_hessian():
    with pytest.raises(adc.AdcompileError, match="hessian"):
        adc.grad(adc.grad(cubes))(np.ones(3))


def picks(x, idx):
    return np.array((np.sum(x[idx] ** 2), x[idx[0]] * x[1]))


def test_jacobian_and_hessian_keep_integer_data_arrays():
    x, idx = np.array([0.3, -0.8, 1.1]), np.array([2, 0, 2])
    np.testing.assert_allclose(adc.jacobian(picks)(x, idx), numeric_jacobian(picks, (x, idx), 0),
                               rtol=1e-6, atol=1e-9)
    H = adc.hessian(lambda_free_sum)(x, idx)
    np.testing.assert_allclose(H, numeric_hessian(lambda_free_sum, (x, idx), 0, 0), rtol=1e-5,
                               atol=1e-6)


def lambda_free_sum(x, idx):
    return np.sum(x[idx] ** 3)


def carried_from_data(y, m):
    c = m                                    # an integer data array, not differentiated
    for _ in range(2):
        c = c * math.tanh(max(y, 3.0) * y) + 0.5
    return math.tanh(np.sum(c))


def test_a_value_copied_from_a_parameter_does_not_make_the_parameter_vary():
    # the copy shares the parameter's memory only until it is reassigned: no tangent of the
    # data array m is needed (once a compile error naming dt_m)
    check_jvp(carried_from_data, (0.65, np.array([2, -3, 2])), 0)
