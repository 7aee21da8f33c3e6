"""Parameters that are (nested) tuples of floats and arrays, as a JAX user writes them:
``W, b = params``, ``params[0]``, helpers that take or return tuples.  Gradients come back
in the structure of the argument; every one is checked against float64 central differences
of the plain Python function, leaf by leaf.
"""

import math

import numba
import numpy as np
import pytest

import adcompile as adc


def leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def replaced(value, k, new):
    """``value`` with its ``k``-th leaf replaced by ``new`` (structure and lists kept)."""
    counter = iter(range(10**6))

    def build(v):
        if isinstance(v, (tuple, list)):
            parts = [build(e) for e in v]
            return parts if isinstance(v, list) else tuple(parts)
        return new if next(counter) == k else v

    return build(value)


def numeric(f, args, i, h=1e-6):
    """Central differences of ``f`` in every leaf of ``args[i]``, as a list of leaves."""
    out = []
    for k, leaf in enumerate(leaves(args[i])):
        if np.ndim(leaf) == 0:
            hi = list(args)
            lo = list(args)
            hi[i] = replaced(args[i], k, float(leaf) + h)
            lo[i] = replaced(args[i], k, float(leaf) - h)
            out.append((f(*hi) - f(*lo)) / (2 * h))
            continue
        grad = np.empty(np.shape(leaf))
        for index in np.ndindex(grad.shape):
            up, down = np.array(leaf, dtype=float), np.array(leaf, dtype=float)
            up[index] += h
            down[index] -= h
            hi, lo = list(args), list(args)
            hi[i] = replaced(args[i], k, up)
            lo[i] = replaced(args[i], k, down)
            grad[index] = (f(*hi) - f(*lo)) / (2 * h)
        out.append(grad)
    return out


def same_structure(a, b):
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(
            same_structure(x, y) for x, y in zip(a, b, strict=True))
    return not isinstance(b, (tuple, list)) and np.shape(a) == np.shape(b)


def agrees(f, args, i, got):
    assert same_structure(got, args[i]), (got, args[i])
    for g, want in zip(leaves(got), numeric(f, args, i), strict=True):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-8)


def mlp(params, X, y):
    (W1, b1), (W2, b2) = params
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 + b2
    return np.mean((out - y) ** 2)


rng = np.random.default_rng(3)
PARAMS = ((rng.normal(size=(3, 4)), rng.normal(size=4)), (rng.normal(size=4), 0.1))
X = rng.normal(size=(6, 3))
Y = rng.normal(size=6)


def test_nested_tuple_parameter():
    before = [np.copy(leaf) for leaf in leaves(PARAMS)]
    got = adc.grad(mlp)(PARAMS, X, Y)
    agrees(mlp, (PARAMS, X, Y), 0, got)
    for a, b in zip(leaves(PARAMS), before, strict=True):
        np.testing.assert_array_equal(a, b)
    assert isinstance(got[1][1], float)
    source = adc.grad(mlp).source
    assert "def grad_mlp(params, X, y):" in source  # the tuple as the user passes it
    assert "d_W1" in source  # the user's names in the chain rule


def test_tuple_and_plain_parameters_together():
    value, (dp, dy) = adc.value_and_grad(mlp, wrt=("params", "y"))(PARAMS, X, Y)
    assert value == pytest.approx(mlp(PARAMS, X, Y), rel=1e-12)
    agrees(mlp, (PARAMS, X, Y), 0, dp)
    np.testing.assert_allclose(dy, -2 * (np.tanh(X @ PARAMS[0][0] + PARAMS[0][1])
                                         @ PARAMS[1][0] + PARAMS[1][1] - Y) / 6, rtol=1e-10)


def indexed(p, x):
    s = p[0] * x + p[-2] ** 2
    q = p[len(p) - 1]
    return s * np.sum(q * q)


def test_indexing_len_and_lists():
    args = ((1.5, -0.5, np.array([0.3, 0.2])), 0.7)
    agrees(indexed, args, 0, adc.grad(indexed)(*args))
    as_list = ([1.5, -0.5, np.array([0.3, 0.2])], 0.7)
    got = adc.grad(indexed)(*as_list)
    assert isinstance(got, list)  # a list argument gets a list gradient
    agrees(indexed, as_list, 0, got)
    # another length: the function is generated again for that nesting
    longer = ((1.5, 2.0, -0.5, np.array([0.3, 0.2, 0.1])), 0.7)
    agrees(indexed, longer, 0, adc.grad(indexed)(*longer))


def layer(p, x):
    W, b = p
    return np.tanh(x @ W + b)


def net(params, x):
    h = layer(params[0], x)
    return np.sum(layer(params[1], h) ** 2)


def polar(x, y):
    return math.hypot(x, y), math.atan2(y, x)


def uses_polar(x, y):
    r, t = polar(x, y)
    return r * t + r


def test_helpers_that_take_and_return_tuples():
    params = ((rng.normal(size=(3, 2)), rng.normal(size=2)),
              (rng.normal(size=(2, 2)), rng.normal(size=2)))
    x = rng.normal(size=3)
    agrees(net, (params, x), 0, adc.grad(net)(params, x))
    assert adc.check_grad(uses_polar, ("x", "y"), 0.3, -0.7) < 1e-6
    assert "polar_x" in adc.grad(uses_polar).source  # the helper's body, inlined


def test_from_numba_code():
    step = adc.grad(mlp).specialize(PARAMS, X, Y)

    @numba.njit
    def train(params, X, y, steps, lr):
        (W1, b1), (W2, b2) = params
        for _ in range(steps):
            (dW1, db1), (dW2, db2) = step(((W1, b1), (W2, b2)), X, y)
            W1 = W1 - lr * dW1
            b1 = b1 - lr * db1
            W2 = W2 - lr * dW2
            b2 = b2 - lr * db2
        return (W1, b1), (W2, b2)

    trained = train(PARAMS, X, Y, 100, 0.1)
    assert mlp(trained, X, Y) < 0.5 * mlp(PARAMS, X, Y)


def test_optimizers_take_tuple_parameters():
    result = adc.optim.gd(mlp, PARAMS, args=(X, Y), lr=0.1, steps=100)
    assert same_structure(result.params, PARAMS)
    assert result.history[-1] < 0.5 * result.history[0]
    assert mlp(result.params, X, Y) < result.history[-1] + 1e-12
    adam = adc.optim.gd(mlp, PARAMS, wrt="params", args=(X, Y), lr=0.05, steps=50,
                        method="adam")
    assert adam.history[-1] < adam.history[0]
    batches = adc.optim.minibatch_sgd(mlp, PARAMS, data=(X, Y), lr=0.05, epochs=20,
                                      batch_size=3)
    assert same_structure(batches.params, PARAMS)
    assert mlp(batches.params, X, Y) < mlp(PARAMS, X, Y)


def euler_step(state, p):
    x, v = state
    return x + 0.1 * v, v - 0.1 * p * x


def simulate(p, x0):
    state = (x0, 0.0)
    for _ in range(20):
        state = euler_step(state, p)
    x, v = state
    return x * x + v * v


def branch_tuple(a, b, flag):
    pair = (a, b)
    if flag > 0:
        pair = (pair[1] * 2.0, pair[0])
    return pair[0] * math.sin(pair[1])


def test_tuples_carried_through_loops_and_branches():
    # state = step(state, p) in a loop: the tuple lives in one variable per element
    assert adc.check_grad(simulate, ("p", "x0"), 0.8, 0.5) < 1e-6
    assert "state_0" in adc.grad(simulate).source
    for flag in (1.0, -1.0):
        assert adc.check_grad(branch_tuple, ("a", "b"), 0.3, -0.7, flag) < 1e-6


def too_many_names(p):
    a, b, c = p
    return a * b * c


def tuple_in_a_loop(p, n):
    s = 0.0
    for _ in range(n):
        p = (p[1], p[0] * 1.5)
        s = s + p[0] * p[1]
    return s


def tuple_grows(a, b):
    t = (a, b)
    for _ in range(2):
        t = (t[0], t[1], a)
    return t[0]


def unpacks_a_float(x):
    a, b = x
    return a * b


def test_errors_name_the_line():
    with pytest.raises(adc.AdcompileError, match="cannot unpack 2 values into 3 names"):
        adc.grad(too_many_names)((1.0, 2.0))
    got = adc.grad(tuple_in_a_loop)((1.0, 2.0), 3)  # a tuple rebound in a loop
    agrees(tuple_in_a_loop, ((1.0, 2.0), 3), 0, got)
    with pytest.raises(adc.AdcompileError, match="tuples of different shapes"):
        adc.grad(tuple_grows)(1.0, 2.0)
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(unpacks_a_float)(1.5)
    assert info.value.lineno == unpacks_a_float.__code__.co_firstlineno + 1
