"""Generated gradients of array code are differentiable in their turn: a loss that calls a
gradient (a gradient penalty, double backpropagation) is differentiated through the helpers
reverse-mode code calls (``unbroadcast``, ``reduce_adjoint``, ``matmul_left``/``right``,
``untranspose``, ``reduce_to``), in reverse and in forward mode.  Oracle: central differences
of the loss, which itself calls the compiled first gradient (itself checked against
differences in its own tests)."""

from __future__ import annotations

import numpy as np
import pytest

import adcompile as adc

RNG = np.random.default_rng(7)
X = RNG.normal(size=(5, 3))
Y = RNG.normal(size=5)
C3 = RNG.normal(size=(3, 2, 4))


def mlp(W, b, v, X, y):
    h = np.tanh(X @ W + b)
    return np.mean((h @ v - y) ** 2)


d_mlp = adc.grad(mlp, wrt=(0, 1, 2))


def penalty(W, b, v, X, y):
    gW, gb, gv = d_mlp(W, b, v, X, y)
    return mlp(W, b, v, X, y) + 0.1 * (np.sum(gW * gW) + np.sum(gb * gb) + np.sum(gv * gv))


def reductions(x):
    return np.sum(np.mean(x * x, axis=0) * np.array([1.0, 2.0, 3.0])) + np.max(np.sin(x))


d_reductions = adc.grad(reductions)


def reductions_penalty(x):
    g = d_reductions(x)
    return np.sum(g * g * x)


def axes(x):
    return np.sum(np.transpose(x, (1, 0, 2)) ** 3 * C3)


d_axes = adc.grad(axes)


def axes_penalty(x):
    return np.sum(np.cos(d_axes(x)))


def stacks(A, B):
    return np.sum(np.tanh(A @ B))


d_stacks = adc.grad(stacks, wrt=(0, 1))


def stacks_penalty(A, B):
    gA, gB = d_stacks(A, B)
    return np.sum(gA * gA) + np.sum(np.sin(gB))


def broadcast(x, s):
    return np.sum(np.exp(0.3 * (x + s)) * X)


d_broadcast = adc.grad(broadcast, wrt=(0, 1))


def broadcast_penalty(x, s):
    gx, gs = d_broadcast(x, s)
    return np.sum(gx ** 2) + gs ** 2


CASES = [
    ("gradient penalty of an MLP", penalty, (0, 1, 2),
     (0.5 * RNG.normal(size=(3, 4)), 0.1 * RNG.normal(size=4), RNG.normal(size=4), X, Y)),
    ("a mean along an axis and a max", reductions, (0,), (RNG.normal(size=(4, 3)),)),
    ("a transpose with axes", axes, (0,), (RNG.normal(size=(2, 3, 4)),)),
    ("stacks of matrices", stacks, (0, 1), (RNG.normal(size=(2, 3, 4)) * 0.5,
                                            RNG.normal(size=(4, 2)) * 0.5)),
    ("a broadcast row and a number", broadcast, (0, 1), (RNG.normal(size=3), 0.4)),
]
PENALTIES = {penalty: penalty, reductions: reductions_penalty, axes: axes_penalty,
             stacks: stacks_penalty, broadcast: broadcast_penalty}


def _differences(f, args, k, h=1e-6):
    x = np.asarray(args[k], dtype=float)
    out = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        a, b = list(args), list(args)
        a[k] = plus if x.ndim else float(plus)
        b[k] = minus if x.ndim else float(minus)
        out[i] = (f(*a) - f(*b)) / (2 * h)
    return out if x.ndim else float(out)


@pytest.mark.parametrize("name, f, wrt, args", CASES, ids=[c[0] for c in CASES])
def test_a_loss_that_calls_a_gradient_is_differentiated(name, f, wrt, args):
    loss = PENALTIES[f]
    grads = adc.grad(loss, wrt=wrt)(*args)
    for k, g in zip(wrt, grads, strict=True):
        want = _differences(loss, args, k)
        np.testing.assert_allclose(g, want, rtol=2e-5, atol=1e-7, err_msg=f"{name}: wrt {k}")


@pytest.mark.parametrize("name, f, wrt, args", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_forward_mode_through_a_gradient(name, f, wrt, args):
    loss = PENALTIES[f]
    tangents = tuple(RNG.normal(size=np.shape(args[k])) if np.ndim(args[k])
                     else float(RNG.normal()) for k in wrt)
    value, derivative = adc.jvp(loss, wrt=wrt)(*args, *tangents)
    h = 1e-6
    moved = [list(args), list(args)]
    for k, t in zip(wrt, tangents, strict=True):
        moved[0][k] = args[k] + h * t
        moved[1][k] = args[k] - h * t
    want = (loss(*moved[0]) - loss(*moved[1])) / (2 * h)
    assert value == pytest.approx(loss(*args), rel=1e-12)
    assert derivative == pytest.approx(want, rel=2e-5, abs=1e-7)


def looped(x, y):
    s = 0.0
    for i in range(4):
        if x * i > 0.5:
            s += np.sin(x * y + i) * x
        else:
            s += np.cos(y - i) * x * x
    return s


j_looped = adc.jvp(looped, wrt=("x", "y"))


def uses_the_directional_derivative(x, y):
    value, along = j_looped(x, y, 1.0, -0.5)
    return value * along


def test_a_function_of_a_jvp_is_differentiated():
    """grad of a function that calls a jvp (loops and branches inside): the second
    derivatives of ``looped`` along (1, -0.5), from central differences."""
    for x, y in ((0.3, 0.7), (0.9, -0.4)):
        gx, gy = adc.grad(uses_the_directional_derivative, wrt=("x", "y"))(x, y)
        want = [_differences(uses_the_directional_derivative, (x, y), k) for k in (0, 1)]
        np.testing.assert_allclose([gx, gy], want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("make", [lambda: adc.jvp(looped), lambda: adc.vjp(looped),
                                  lambda: adc.value_and_grad(looped)],
                         ids=["jvp", "vjp", "value_and_grad"])
def test_the_gradient_of_a_pair_is_refused_with_what_to_write(make):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(make())
    assert "returns a pair" in str(info.value)
    assert "def g(x, t): return jf(x, t)[1]" in info.value.hint


def cubes(x, a):
    """A helper whose gradient adds into its adjoint element by element."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] ** 3 * a[i]
    return s


def waves(x, a):
    """A helper whose gradient adds into its adjoint as a whole array (d_x += ...)."""
    return np.sum(np.sin(x) * a)


def with_helpers(x, a):
    return cubes(x, a) + waves(x, a) + np.sum(x * x)


def test_gradients_that_call_helpers_are_differentiated_again():
    """jacobian(grad(f)) and jvp(grad(f)) differentiate the generated gradient, whose helpers
    add into the adjoint arrays their caller passes (d_x[i] += ..., d_x += ...): they add
    into a copy there, and the Hessian is the hand-derived diagonal."""
    x, a = RNG.normal(size=4), RNG.normal(size=4)
    hand = np.diag(6.0 * x * a - np.sin(x) * a + 2.0)
    g = adc.grad(with_helpers, "x")
    np.testing.assert_allclose(adc.jacobian(g, "x")(x, a), hand, rtol=1e-12, atol=1e-12)
    v = RNG.normal(size=4)
    _, hv = adc.jvp(g, "x")(x, a, v)
    np.testing.assert_allclose(hv, hand @ v, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g(x, a), 3.0 * x**2 * a + np.cos(x) * a + 2.0 * x, rtol=1e-12)
