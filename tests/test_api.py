"""The public contract of ``grad`` and ``value_and_grad`` (see api.md).

Every gradient is checked against a float64 central difference of the plain Python function or
against a hand-derived formula.
"""

import ast
import math

import numba
import numpy as np
import pytest

import adcompile as adc

REL = 1e-6
ABS = 1e-8


def loss(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


POINT = (0.3, -0.1, 1.5, 0.8)


def bowl(x, y):
    return (x - 1.0) ** 2 + 2.0 * (y + 0.5) ** 2


def scaled_power(x, n, k):
    return k * x ** n + n * x


@adc.grad
def d_cube(x, y):
    return x * x * x * y


@adc.grad(wrt=("y", "x"))
def d_mixed(x, y):
    return math.sin(x) * y * y


@adc.value_and_grad(wrt=1)
def vg_mixed(x, y):
    return math.sin(x) * y * y


d_bowl = adc.grad(bowl, wrt=(0, 1))
vg_bowl = adc.value_and_grad(bowl, wrt=("x", "y"))


@numba.njit
def descend(x, y, rate, steps):
    """Gradient descent on the bowl: a compiled loop around the generated gradient."""
    for _ in range(steps):
        gx, gy = d_bowl(x, y)
        x -= rate * gx
        y -= rate * gy
    return x, y


@numba.njit
def total_loss(x, y, steps):
    """Sum of values and gradients along a line, through value_and_grad, compiled."""
    total = 0.0
    slope = 0.0
    for i in range(steps):
        value, (gx, gy) = vg_bowl(x + 0.1 * i, y)
        total += value
        slope += gx + gy
    return total, slope


def flat(value) -> list[float]:
    """A number or nested tuples of numbers as one flat list."""
    if isinstance(value, tuple):
        return [v for part in value for v in flat(part)]
    return [value]


def approx_fd(fd, f, args, i):
    return pytest.approx(fd(f, args, i), rel=REL, abs=ABS)


# -- wrt ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("wrt, index", [
    (0, 0), (1, 1), (3, 3), ("w", 0), ("b", 1), ("y", 3), (-1, 3), (-4, 0),
])
def test_single_wrt_gives_one_float(wrt, index, fd):
    g = adc.grad(loss, wrt=wrt)(*POINT)
    assert type(g) is float
    assert g == approx_fd(fd, loss, POINT, index)


def test_default_wrt_is_the_first_parameter(fd):
    g = adc.grad(loss)(*POINT)
    assert type(g) is float
    assert g == approx_fd(fd, loss, POINT, 0)


@pytest.mark.parametrize("wrt, indices", [
    (("w", "b"), (0, 1)),
    ((1, 0), (1, 0)),
    (("b", 0, -1), (1, 0, 3)),
    (["x", "y"], (2, 3)),
])
def test_tuple_wrt_gives_a_tuple_in_wrt_order(wrt, indices, fd):
    grads = adc.grad(loss, wrt=wrt)(*POINT)
    assert type(grads) is tuple and len(grads) == len(indices)
    for g, i in zip(grads, indices, strict=True):
        assert type(g) is float
        assert g == approx_fd(fd, loss, POINT, i)


@pytest.mark.parametrize("wrt", [(0,), ("b",)])
def test_tuple_of_length_one_gives_a_tuple(wrt, fd):
    grads = adc.grad(loss, wrt=wrt)(*POINT)
    assert type(grads) is tuple and len(grads) == 1
    index = 0 if wrt == (0,) else 1
    assert grads[0] == approx_fd(fd, loss, POINT, index)


def test_hand_derived_gradient_of_the_api_example():
    dw, db = adc.grad(loss, wrt=("w", "b"))(*POINT)
    w, b, x, y = POINT
    yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
    d_x2 = 2.0 * (yhat - y) * yhat * (1.0 - yhat)
    assert (dw, db) == pytest.approx((d_x2 * x, d_x2), rel=1e-12)


# -- decorators ----------------------------------------------------------------------------------

def test_bare_decorator_differentiates_with_respect_to_the_first_parameter():
    assert d_cube(1.5, 2.0) == pytest.approx(3 * 1.5 ** 2 * 2.0, rel=1e-12)
    assert type(d_cube(1.5, 2.0)) is float


def test_decorator_with_wrt():
    x, y = 0.7, -1.3
    dy, dx = d_mixed(x, y)
    assert dy == pytest.approx(2.0 * math.sin(x) * y, rel=1e-12)
    assert dx == pytest.approx(math.cos(x) * y * y, rel=1e-12)


def test_value_and_grad_decorator():
    x, y = 0.7, -1.3
    value, dy = vg_mixed(x, y)
    assert value == math.sin(x) * y * y
    assert dy == pytest.approx(2.0 * math.sin(x) * y, rel=1e-12)


def test_decorated_functions_carry_their_source():
    assert "def grad_d_cube(x, y):" in d_cube.source
    assert "def value_and_grad_vg_mixed(x, y):" in vg_mixed.source


# -- value_and_grad ----------------------------------------------------------------------------

@pytest.mark.parametrize("wrt", [0, "b", ("w", "b"), ("y",), (3, 0, 2)])
def test_value_and_grad_is_the_value_and_the_gradient(wrt):
    value, grads = adc.value_and_grad(loss, wrt=wrt)(*POINT)
    assert type(value) is float
    assert value == pytest.approx(loss(*POINT), rel=1e-15)
    expected = adc.grad(loss, wrt=wrt)(*POINT)
    assert type(grads) is type(expected)
    assert flat(grads) == pytest.approx(flat(expected), rel=1e-15)


def test_value_and_grad_with_int_constants(fd):
    args = (1.3, 3, 2)
    value, g = adc.value_and_grad(scaled_power)(*args)
    assert value == scaled_power(*args)
    assert g == pytest.approx(2 * 3 * 1.3 ** 2 + 3, rel=1e-12)
    assert g == approx_fd(fd, scaled_power, args, 0)


# -- int constants -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [(1.3, 3, 2), (0.8, 2, -1), (2.0, 0, 5)])
def test_int_constant_arguments(args, fd):
    g = adc.grad(scaled_power, wrt="x")(*args)
    x, n, k = args
    assert type(g) is float
    assert g == pytest.approx(k * n * x ** (n - 1) + n, rel=1e-12)
    assert g == approx_fd(fd, scaled_power, args, 0)


def test_numpy_float_arguments(fd):
    args = tuple(np.float64(a) for a in POINT)
    dw, db = adc.grad(loss, wrt=("w", "b"))(*args)
    assert dw == approx_fd(fd, loss, POINT, 0)
    assert db == approx_fd(fd, loss, POINT, 1)


# -- inside user numba code ----------------------------------------------------------------------

def test_grad_is_callable_from_a_compiled_loop():
    x0, y0, rate, steps = 3.0, 2.0, 0.1, 25
    x, y = descend(x0, y0, rate, steps)
    # d/dx = 2(x - 1), d/dy = 4(y + 0.5): each step scales the distance to the minimum
    assert x == pytest.approx(1.0 + (1.0 - 2 * rate) ** steps * (x0 - 1.0), rel=1e-12)
    assert y == pytest.approx(-0.5 + (1.0 - 4 * rate) ** steps * (y0 + 0.5), rel=1e-12)


def test_value_and_grad_is_callable_from_a_compiled_loop():
    total, slope = total_loss(0.2, 0.4, 5)
    xs = [0.2 + 0.1 * i for i in range(5)]
    assert total == pytest.approx(sum(bowl(x, 0.4) for x in xs), rel=1e-12)
    assert slope == pytest.approx(sum(2 * (x - 1.0) + 4 * (0.4 + 0.5) for x in xs), rel=1e-12)


def test_grad_is_a_numba_dispatcher():
    assert isinstance(d_bowl, numba.core.registry.CPUDispatcher)


# -- .source ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [adc.grad, adc.value_and_grad])
@pytest.mark.parametrize("wrt", [("w", "b"), 0])
def test_source_parses_and_runs_to_the_same_result(make, wrt):
    compiled = make(loss, wrt=wrt)
    source = compiled.source
    assert isinstance(source, str)
    tree = ast.parse(source)
    defs = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    assert defs[-1] == compiled.__name__
    namespace = {"math": math, "np": np}
    exec(compile(source, "<generated>", "exec"), namespace)
    assert flat(namespace[compiled.__name__](*POINT)) == pytest.approx(flat(compiled(*POINT)),
                                                                       rel=1e-15)


def test_source_reads_like_the_chain_rule():
    source = adc.grad(loss, wrt=("w", "b")).source
    for line in ("x2 = x1 + b", "d_x1 = d_x2", "d_b = d_x2", "d_w = d_x1 * x",
                 "return (d_w, d_b)"):
        assert line in source
