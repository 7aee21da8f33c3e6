"""``np.pad`` with ``mode='edge'``, ``'wrap'``, ``'reflect'``, ``'symmetric'`` and
``'constant'`` with ``constant_values``: the forward values against NumPy's own ``np.pad``
(ranks 1 to 3, widths wider than the axis), gradients against central differences (for the
constant too), forward mode and a Hessian-vector product against finite differences of the
gradient."""

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc
from adcompile import AdcompileError, kernels_shapes

RNG = np.random.default_rng(5)
WEIGHTS = RNG.normal(size=200)


def edge(x):
    y = np.pad(x, 2, mode="edge")
    return np.sum(np.sin(y) * WEIGHTS[:y.size].reshape(y.shape))


def reflect(x):
    y = np.pad(x, ((1, 2), (3, 0)), mode="reflect")
    return np.sum(y ** 3 * WEIGHTS[:y.size].reshape(y.shape))


def symmetric(x):
    y = np.pad(x, 4, mode="symmetric")  # wider than the axes
    return np.sum(np.cos(y) * WEIGHTS[:y.size].reshape(y.shape))


def wrap(w, x):
    xp = np.pad(x, 2, "wrap")  # mode given by position
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        for k in range(5):
            out[i] += w[k] * xp[i + k]
    return np.sum(out ** 2)


def constant(x, c):
    y = np.pad(x, (1, 3), constant_values=c)
    return np.sum(y ** 2 * WEIGHTS[:y.size])


def conv_same(K, X):
    """A 'same' 2-D convolution over an edge-padded image, written as loops."""
    P = np.pad(X, 1, mode="edge")
    h, w = X.shape
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            for p in range(3):
                for q in range(3):
                    out[i, j] += K[p, q] * P[i + p, j + q]
    return np.sum(np.tanh(out))


CASES = [
    (edge, (RNG.normal(size=5),), (0,)),
    (reflect, (RNG.normal(size=(3, 4)),), (0,)),
    (symmetric, (RNG.normal(size=(2, 3)),), (0,)),
    (wrap, (RNG.normal(size=5), RNG.normal(size=6)), (0, 1)),
    (constant, (RNG.normal(size=5), 0.7), (0, 1)),
    (conv_same, (RNG.normal(size=(3, 3)), RNG.normal(size=(4, 5))), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradients_match_central_differences(f, args, wrt):
    value, grads = adc.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    for position, g in zip(wrt, grads, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, args, position), rtol=1e-6,
                                   atol=1e-8)


def test_the_padded_values_are_numpys_for_every_mode_rank_and_width():
    import numba

    @numba.njit
    def padded(x, width, mode, value):
        return kernels_shapes.pad_mode(x, width, mode, value)

    for shape in [(3,), (1,), (2, 3), (2, 1, 3)]:
        x = RNG.normal(size=shape)
        for width in [1, (2, 3), 7]:
            for code, mode in enumerate(kernels_shapes.PAD_MODES):
                options = {"constant_values": 0.5} if mode == "constant" else {}
                want = np.pad(x, width, mode=mode, **options)
                np.testing.assert_array_equal(padded(x, width, code, 0.5), want)


def test_forward_mode_and_a_hessian_vector_product():
    x, c = RNG.normal(size=5), 0.7
    value, t = adc.jvp(constant, wrt=(0, 1))(x, c, np.ones(5), 1.0)
    h = 1e-6
    want = (constant(x + h, c + h) - constant(x - h, c - h)) / (2 * h)
    assert value == pytest.approx(constant(x, c)) and t == pytest.approx(want, rel=1e-6)
    v = RNG.normal(size=5)
    grad = adc.grad(edge)
    fd = (grad(x + h * v) - grad(x - h * v)) / (2 * h)
    np.testing.assert_allclose(adc.hvp(edge)(x, v), fd, rtol=1e-5, atol=1e-7)


def ramp(x):
    return np.sum(np.pad(x, 1, mode="linear_ramp"))


def two_values(x):
    return np.sum(np.pad(x, 1, constant_values=(0.0, 1.0)))


@pytest.mark.parametrize("f, words", [(ramp, "mode='linear_ramp'"),
                                      (two_values, "one number")])
def test_other_options_are_refused_at_the_call(f, words):
    with pytest.raises(AdcompileError, match=words) as err:
        adc.grad(f)(RNG.normal(size=4))
    assert err.value.filename == __file__
