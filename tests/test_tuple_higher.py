"""Tuple parameters in forward mode and second order: ``jvp``, ``vjp``, ``jacobian``, ``hvp``
and ``hessian`` take (nested) tuples of floats and arrays as ``grad`` does.  Every result is
checked leaf by leaf against float64 central differences (conftest's ``numeric_gradient``,
applied to one leaf at a time); second derivatives against differences of the gradient.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

RNG = np.random.default_rng(11)


# -- leaves of nested tuples, by path --------------------------------------------------------

def paths(value, prefix=()):
    """The index paths of the leaves of ``value``, in order."""
    if not isinstance(value, (tuple, list)):
        return [prefix]
    return [p for k, v in enumerate(value) for p in paths(v, (*prefix, k))]


def at(value, path):
    for k in path:
        value = value[k]
    return value


def put(value, path, new):
    """``value`` with the leaf at ``path`` replaced by ``new``."""
    if not path:
        return new
    parts = list(value)
    parts[path[0]] = put(parts[path[0]], path[1:], new)
    return type(value)(parts)


def where(args, i, path):
    """``(leaf, rebuild)``: the leaf at ``path`` in ``args[i]`` and the arguments with it
    replaced by a new value."""
    def rebuild(new):
        return (*args[:i], put(args[i], path, new), *args[i + 1:])
    return at(args[i], path), rebuild


def jacobian_fd(f, args, i, path=()):
    """d f / d (leaf ``path`` of ``args[i]``) for a float or array valued ``f``: shape
    ``f.shape + leaf.shape``, one call of ``numeric_gradient`` per entry of the result."""
    leaf, rebuild = where(args, i, path)
    shape = np.shape(f(*args))
    rows = [numeric_gradient(lambda x, k=k: np.asarray(f(*rebuild(x)))[k], (leaf,), 0)
            for k in np.ndindex(shape)]
    return np.reshape(np.array(rows), shape + np.shape(leaf))


def directional_fd(f, args, wrt, tangents, h=1e-6):
    """d/de f(args + e t) at 0, one tangent per ``wrt`` position, nested as its argument."""
    def moved(sign):
        out = list(args)
        for i, t in zip(wrt, tangents, strict=True):
            for p in paths(args[i]):
                out[i] = put(out[i], p, at(args[i], p) + sign * h * at(t, p))
        return np.asarray(f(*out))
    return (moved(1.0) - moved(-1.0)) / (2 * h)


def like(value):
    """A random value nested and shaped as ``value``."""
    if isinstance(value, (tuple, list)):
        return type(value)(like(v) for v in value)
    return RNG.standard_normal(np.shape(value)) if np.ndim(value) else float(
        RNG.standard_normal())


def same_nesting(a, b):
    if isinstance(b, (tuple, list)):
        return isinstance(a, tuple) and len(a) == len(b) and all(
            same_nesting(x, y) for x, y in zip(a, b, strict=True))
    return not isinstance(a, tuple) and np.shape(a) == np.shape(b)


def close(got, want, rtol=1e-6, atol=1e-8):
    assert np.shape(got) == np.shape(want), (np.shape(got), np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# -- the functions --------------------------------------------------------------------------

def mlp(params, x, y):
    W, b = params
    h = np.tanh(x @ W + b)
    return np.sum((h - y) ** 2)


def nested(p, x, data):
    a, b, k = p[0][0], p[0][1], p[1]
    scale, shift = data
    s = 0.0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            s = s + k * np.sum(a * x[i]) ** 2
        else:
            s = s + math.sin(np.sum(b * x[i]) * k)
    return s * scale + np.sum(shift * b) * k


def affine(p, x):
    w, c = p
    return w * x + c[0]


def field(p, x):
    return np.tanh(affine(p, x)) * p[1][1]


W0, B0 = RNG.standard_normal((3, 2)), RNG.standard_normal(2)
X0, Y0 = RNG.standard_normal((4, 3)), RNG.standard_normal(2)
MLP_ARGS = ((W0, B0), X0, Y0)
NESTED_ARGS = (((RNG.standard_normal(2), RNG.standard_normal(2)), 0.7),
               np.array([0.9, -0.6, 0.4]), (1.3, RNG.standard_normal(2)))
FIELD_ARGS = ((0.8, np.array([0.3, -1.2])), RNG.standard_normal(4))


# -- jvp, vjp, jacobian -----------------------------------------------------------------------

def test_jvp_takes_tangents_nested_as_the_parameter():
    jf = adc.jvp(mlp, wrt="params")
    t = like(MLP_ARGS[0])
    value, d = jf(*MLP_ARGS, t)
    assert value == pytest.approx(mlp(*MLP_ARGS), rel=1e-12)
    assert isinstance(d, float)
    assert d == pytest.approx(float(directional_fd(mlp, MLP_ARGS, (0,), (t,))), rel=1e-6)
    assert "def jvp_mlp(params, x, y, dt_params):" in jf.source
    # a tuple and an array parameter; the tuple data parameter is a constant
    jn = adc.jvp(nested, wrt=("p", "x"))
    tp, tx = like(NESTED_ARGS[0]), like(NESTED_ARGS[1])
    value, d = jn(*NESTED_ARGS, tp, tx)
    assert value == pytest.approx(nested(*NESTED_ARGS), rel=1e-12)
    assert d == pytest.approx(float(directional_fd(nested, NESTED_ARGS, (0, 1), (tp, tx))),
                              rel=1e-6)
    # a vector result, p[0] indexing, a helper that takes the tuple
    jv = adc.jvp(field, wrt="p")
    tp = like(FIELD_ARGS[0])
    value, d = jv(*FIELD_ARGS, tp)
    close(value, field(*FIELD_ARGS), rtol=1e-12)
    close(d, directional_fd(field, FIELD_ARGS, (0,), (tp,)))


def test_vjp_gives_the_gradient_nested_as_the_parameter():
    value, dp = adc.vjp(mlp, wrt="params")(*MLP_ARGS, 2.0)
    assert value == pytest.approx(mlp(*MLP_ARGS), rel=1e-12)
    assert same_nesting(dp, MLP_ARGS[0])
    for path in paths(MLP_ARGS[0]):
        close(at(dp, path), 2.0 * jacobian_fd(mlp, MLP_ARGS, 0, path))
    c = RNG.standard_normal(4)
    value, (dp, dx) = adc.vjp(field, wrt=("p", "x"))(*FIELD_ARGS, c)
    close(value, field(*FIELD_ARGS), rtol=1e-12)
    assert same_nesting(dp, FIELD_ARGS[0])
    assert isinstance(dp[0], float)
    for path in paths(FIELD_ARGS[0]):
        close(at(dp, path), c @ jacobian_fd(field, FIELD_ARGS, 0, path))
    close(dx, c @ jacobian_fd(field, FIELD_ARGS, 1))
    _, (dl, _) = adc.vjp(field, wrt=("p", "x"))(list(FIELD_ARGS[0]), FIELD_ARGS[1], c)
    assert isinstance(dl, list) and dl[0] == pytest.approx(dp[0], rel=1e-12)  # as given


def test_jacobian_of_a_tuple_parameter_is_nested_as_it():
    wide = adc.jacobian(field, wrt=("p", "x"))  # 4 results, 7 entries: rows
    Jp, Jx = wide(*FIELD_ARGS)
    assert wide.mode == "reverse"
    assert same_nesting(Jp, (np.zeros(4), np.zeros((4, 2))))
    for path in paths(FIELD_ARGS[0]):
        close(at(Jp, path), jacobian_fd(field, FIELD_ARGS, 0, path))
    close(Jx, jacobian_fd(field, FIELD_ARGS, 1))
    Jl, _ = wide(list(FIELD_ARGS[0]), FIELD_ARGS[1])
    assert isinstance(Jl, list) and np.array_equal(Jl[1], Jp[1])
    tall = adc.jacobian(field, wrt="p")  # 4 results, 3 entries: columns
    J = tall(*FIELD_ARGS)
    assert tall.mode == "forward" and "jvp_field" in tall.source
    for path in paths(FIELD_ARGS[0]):
        close(at(J, path), jacobian_fd(field, FIELD_ARGS, 0, path))
    # a scalar function: the Jacobian is the gradient, nested as the parameter
    g = adc.jacobian(mlp, wrt="params")(*MLP_ARGS)
    assert same_nesting(g, MLP_ARGS[0])
    close(g[0], jacobian_fd(mlp, MLP_ARGS, 0, (0,)))


# -- hvp and hessian --------------------------------------------------------------------------

def hessian_fd(f, wrt, args, i, path_i, j, path_j):
    """d2 f / d leaf_i d leaf_j: differences of adcompile's gradient (``wrt`` in ``f``'s
    positions) with respect to leaf ``path_j`` of ``args[j]``."""
    d = adc.grad(f, wrt=wrt)
    k = wrt.index(i)
    return jacobian_fd(lambda *a: at(d(*a)[k], path_i), args, j, path_j)


def test_hessian_blocks_are_nested_as_the_parameter_twice():
    H = adc.hessian(mlp, wrt="params")(*MLP_ARGS)
    leaves = paths(MLP_ARGS[0])
    for pi in leaves:
        for pj in leaves:
            block = at(at(H, pi), pj)  # H[i][j] = d2 f / d leaf_i d leaf_j
            assert block.shape == np.shape(at(MLP_ARGS[0], pi)) + np.shape(
                at(MLP_ARGS[0], pj))
            close(block, hessian_fd(mlp, (0,), MLP_ARGS, 0, pi, 0, pj), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H[0][1], np.transpose(H[1][0], (1, 2, 0)), rtol=1e-10,
                               atol=1e-12)
    # a tuple and an array: blocks (p, p), (p, x), (x, p), (x, x), each nested as its pair
    blocks = adc.hessian(nested, wrt=("p", "x"))(*NESTED_ARGS)
    spots = [(0, p) for p in paths(NESTED_ARGS[0])] + [(1, ())]
    for i, pi in spots:
        for j, pj in spots:
            got = at(at(blocks[i][j], pi), pj)
            close(got, hessian_fd(nested, (0, 1), NESTED_ARGS, i, pi, j, pj), rtol=1e-5,
                  atol=1e-6)
    assert isinstance(blocks[0][0][1][1], float)  # d2 f / dk2, k a float leaf


def test_hvp_takes_and_gives_vectors_nested_as_the_parameter():
    hv = adc.hvp(mlp, wrt="params")
    v = like(MLP_ARGS[0])
    got = hv(*MLP_ARGS, v)
    assert same_nesting(got, MLP_ARGS[0])
    d = adc.grad(mlp, wrt=(0,))  # as hessian_fd's
    for path in paths(MLP_ARGS[0]):  # d/de grad(params + e v)
        want = directional_fd(lambda *a, path=path: at(d(*a)[0], path), MLP_ARGS, (0,), (v,))
        close(at(got, path), want, rtol=1e-5, atol=1e-6)
    assert "def grad_jvp_mlp_tangent(params, x, y, dt_params):" in hv.source
    vp, vx = like(NESTED_ARGS[0]), like(NESTED_ARGS[1])
    hp, hx = adc.hvp(nested, wrt=("p", "x"))(*NESTED_ARGS, vp, vx)
    dn = adc.grad(nested, wrt=(0, 1))
    for k, part in enumerate((hp, hx)):
        for path in paths(part):
            want = directional_fd(lambda *a, k=k, path=path: at(dn(*a)[k], path),
                                  NESTED_ARGS, (0, 1), (vp, vx))
            close(at(part, path), want, rtol=1e-5, atol=1e-6)


# -- from compiled code, and what is refused ------------------------------------------------

def test_callable_from_numba_code():
    jf = adc.jvp(mlp, wrt="params").specialize(*MLP_ARGS, MLP_ARGS[0])
    hv = adc.hvp(mlp, wrt="params").specialize(*MLP_ARGS, MLP_ARGS[0])

    @numba.njit
    def newton_ish(params, x, y, v):
        slope = jf(params, x, y, v)[1]
        hW, hb = hv(params, x, y, v)
        return slope, np.sum(hW * v[0]) + np.sum(hb * v[1])

    v = like(MLP_ARGS[0])
    slope, curvature = newton_ish(*MLP_ARGS, v)
    assert slope == pytest.approx(adc.jvp(mlp, wrt="params")(*MLP_ARGS, v)[1], rel=1e-12)
    hW, hb = adc.hvp(mlp, wrt="params")(*MLP_ARGS, v)
    assert curvature == pytest.approx(np.sum(hW * v[0]) + np.sum(hb * v[1]), rel=1e-12)


def indexed(p, x):
    return p[0] * np.sum(p[1] * x)


def test_a_gradient_of_a_gradient_with_tuples_is_refused_with_what_to_use():
    with pytest.raises(adc.AdcompileError, match="adcompile.hessian") as info:
        adc.grad(adc.grad(mlp))
    assert info.value.lineno == mlp.__code__.co_firstlineno
    with pytest.raises(adc.AdcompileError, match="takes tuple parameters"):
        adc.jvp(adc.grad(mlp, wrt=(0,)))
    dd = adc.grad(adc.grad(indexed))  # the nesting is known only at the call
    with pytest.raises(adc.AdcompileError, match="adcompile.hvp") as info:
        dd((1.5, np.ones(2)), np.ones(2))
    assert info.value.lineno == indexed.__code__.co_firstlineno


def test_a_tangent_of_another_structure_is_refused():
    with pytest.raises(adc.AdcompileError, match="nested as") as info:
        adc.jvp(mlp, wrt="params")(*MLP_ARGS, (W0, B0, 1.0))
    assert info.value.lineno == mlp.__code__.co_firstlineno
    assert "test_tuple_higher.py" in str(info.value)
    with pytest.raises(adc.AdcompileError, match="same structure"):
        adc.hvp(mlp, wrt="params")(*MLP_ARGS, W0)
