"""Loops over ``itertools.product`` (adcompile/products.py): targets that unpack the
counters or hold their tuple, ``repeat=``, ``continue``, arrays written in the nest, rank 3;
gradients against central differences; ``break``, ``else`` and sequences the body changes
refused at the user's line."""

import itertools
import math
from itertools import product

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc
from adcompile import AdcompileError


def pairs(W):
    n, m = W.shape
    s = 0.0
    for i, j in itertools.product(range(n), range(m)):
        if i == j:
            continue
        s += W[i, j] ** 2 * (i + 1)
    return s


def tuple_target(W):
    s = 0.0
    for idx in product(range(W.shape[0]), range(W.shape[1])):
        s += math.sin(W[idx]) * (idx[0] - idx[1])
    return s


def repeated(x):
    s = 0.0
    for a, b in product(x, repeat=2):
        s += math.sin(a * b)
    return s


def table(W):
    n, m = W.shape
    out = np.zeros((n, m))
    for i, j in product(range(1, n), range(m)):
        out[i, j] = out[i - 1, j] * 0.5 + W[i, j] ** 2
    return np.sum(np.tanh(out))


def cube(T):
    a, b, c = T.shape
    acc = np.zeros(c)
    for i, j, k in product(range(a), range(b), range(c)):
        acc[k] += T[i, j, k] * T[i, j, (k + 1) % c]
    return np.sum(acc ** 2)


RNG = np.random.default_rng(8)
CASES = [(pairs, (RNG.normal(size=(3, 4)),)), (tuple_target, (RNG.normal(size=(3, 2)),)),
         (repeated, (RNG.normal(size=3),)), (table, (RNG.normal(size=(3, 4)),)),
         (cube, (RNG.normal(size=(2, 3, 4)),))]


@pytest.mark.parametrize("f, args", CASES, ids=[c[0].__name__ for c in CASES])
def test_gradient_matches_central_differences(f, args):
    value, g = adc.value_and_grad(f)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    np.testing.assert_allclose(g, numeric_gradient(f, args, 0), rtol=1e-6, atol=1e-8)


def stops(W):
    s = 0.0
    for i, j in product(range(2), range(2)):
        if s > 1.0:
            break
        s += W[i, j]
    return s


def grows(W):
    n = 2
    s = 0.0
    for i, j in product(range(n), range(2)):
        n = 3
        s += W[i, j]
    return s


@pytest.mark.parametrize("f, words", [(stops, "'break'"), (grows, "'n', which the loop")])
def test_what_a_nest_would_change_is_refused(f, words):
    with pytest.raises(AdcompileError, match=words) as err:
        adc.grad(f)(RNG.normal(size=(2, 2)))
    assert err.value.filename == __file__
