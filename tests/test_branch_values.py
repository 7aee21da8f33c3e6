"""A branch's test in a loop that writes arrays is taped as a value, not as a shape.

``t = v[q] > 0.5`` may be an array to the analysis (the rank of ``v`` is not known when the
gradient is generated), and the reversal read it only in the statements it computes again
(the branch replayed, ``if t: skip = True``), which were not counted as reads of its value:
it was taped as its shape, and the reversal took every iteration's branch as the forward
sweep's last one (``b1`` below: the gradient [0, 0, 1] for [1, 0, 1]).  Each loss here
takes a different branch in different iterations; every gradient is checked against
central differences."""

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def appended_unless(v):
    kept = []
    for q in range(v.shape[0]):
        if v[q] > 0.5:
            continue
        kept.append(v[q] + 0.5 * q)
    return sum(kept)


def stored_by_branch(v, s):
    out = np.zeros(v.shape[0])
    for q in range(v.shape[0]):
        if v[q] * s > 0.2:
            out[q] = math.sin(v[q]) + q
        else:
            out[q] = v[q] ** 2 - 0.5 * q
    return np.sum(out * out)


def rows_by_branch(A):
    out = np.zeros(A.shape)
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            if A[i, j] < 0.0:
                continue
            out[i, j] = A[i, j] * (i + 1) + j
    return np.sum(np.tanh(out))


def stops_when(v):
    out = np.zeros(v.shape[0])
    q = 0
    while q < v.shape[0]:
        if v[q] > 1.0:
            break
        out[q] = v[q] * (q + 1.0)
        q += 1
    return np.sum(out ** 2)


V = np.array([0.0, 1.4351234, -1.2001234, 0.3, 0.9])
CASES = [
    (appended_unless, (V,), 0),
    (stored_by_branch, (V, 0.8), 0),
    (stored_by_branch, (V, 0.8), 1),
    (rows_by_branch, (np.array([[0.4, -0.3, 0.7], [-0.2, 0.5, 0.1]]),), 0),
    (stops_when, (np.array([0.2, 0.7, -0.4, 1.3, 0.5]),), 0),
]


@pytest.mark.parametrize("f, args, wrt", CASES,
                         ids=[f"{c[0].__name__}-{c[2]}" for c in CASES])
def test_branches_taken_differently_across_iterations(f, args, wrt):
    g = adc.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(g, numeric_gradient(f, args, wrt), rtol=1e-6, atol=1e-8)
