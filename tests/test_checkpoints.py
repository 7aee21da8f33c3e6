"""grad(..., checkpoints=N): loops keep at most N snapshots and replay between them.

Oracles: central differences of the function in float64; the gradient recorded without
checkpoints (the same arithmetic in the same order, so equal to rounding); the bytes a
store-all record of the same loop holds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import numeric_gradient
from hypothesis import given, settings
from hypothesis import strategies as st

import adcompile as adc


def logistic(r, x0, n, dt):
    x = x0
    for _ in range(n):
        x = x + dt * r * x * (1.0 - x)
    return x


def oscillator(k, x0, n, dt):
    x = x0.copy()
    v = 0.0
    for step in range(1, n + 1):
        if step % 3 == 0:
            v = v - dt * k * np.sum(x)
        x = x * (1.0 - dt * k) + dt * v
    return np.sum(x * x) + v


def strided(p, n):
    s = 0.0
    y = p
    for i in range(2, n, 3):
        y = math.tanh(y * 1.1 + 0.01 * i)
        for j in range(2):
            y = y + 0.1 * math.sin(y + j)
        s = s + y * y
    return s


def stops_early(p, n):
    y = p
    for _ in range(n):
        y = y * 0.99 + 0.01 * math.cos(y)
        if y > 100.0:
            break
    return y


CASES = {
    "logistic": (logistic, ("r", "x0"), (1.3, 0.2, 500, 1e-2)),
    "oscillator": (oscillator, ("k", "x0"), (2.0, np.array([0.5, -0.3, 1.0]), 400, 1e-2)),
    "strided": (strided, "p", (0.3, 301)),
    "stops_early": (stops_early, "p", (0.7, 200)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_checkpointed_gradient_is_the_gradient(name):
    f, wrt, args = CASES[name]
    plain = adc.value_and_grad(f, wrt=wrt)
    checked = adc.value_and_grad(f, wrt=wrt, checkpoints=7)
    value, grads = checked(*args)
    value0, grads0 = plain(*args)
    assert value == value0
    grads = grads if isinstance(wrt, tuple) else (grads,)
    grads0 = grads0 if isinstance(wrt, tuple) else (grads0,)
    for k, (g, g0) in enumerate(zip(grads, grads0, strict=True)):
        np.testing.assert_allclose(g, g0, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(g, numeric_gradient(f, args, k), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["logistic", "oscillator", "strided"])
def test_checkpoints_hold_less(name):
    f, wrt, args = CASES[name]
    plain = adc.value_and_grad(f, wrt=wrt)  # (compiled by the test above already)
    held = adc.value_and_grad(f, wrt=wrt, checkpoints=7)
    assert "_stretch" in held.source  # the schedule is in the generated code
    full = plain.tape_bytes(*args)
    cut = held.tape_bytes(*args)
    # 7 snapshots and one stretch of about trips / 7 iterations, instead of every iteration
    assert cut < 0.4 * full, (cut, full)


def test_loops_that_stop_early_record_every_iteration():
    f, wrt, args = CASES["stops_early"]
    assert "_stretch" not in adc.grad(f, wrt=wrt, checkpoints=7).source


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 60), snapshots=st.sampled_from([1, 2, 7, 64]))
def test_any_trip_count_and_any_number_of_snapshots(n, snapshots):
    g = adc.grad(logistic, wrt=("r", "x0"), checkpoints=snapshots)
    plain = adc.grad(logistic, wrt=("r", "x0"))
    args = (0.9, 0.3, n, 0.05)
    np.testing.assert_allclose(g(*args), plain(*args), rtol=1e-13)
    eight = 8  # one float carried: a snapshot and a recorded iteration hold 8 bytes each
    stretch = max(1, -(-n // snapshots))
    assert g.tape_bytes(*args) <= eight * (min(snapshots, n) + stretch)


def test_checkpoints_on_gradient_of_gradient_is_refused():
    with pytest.raises(adc.AdcompileError, match="checkpoints"):
        adc.grad(adc.grad(logistic), checkpoints=4)
