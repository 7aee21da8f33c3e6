"""Costly numbers in loops that write arrays: taped by the forward sweep, not computed again.

The reversal of a loop that stores into arrays computes its cheap numbers again (``i - 1``,
``dx = x[j, 0] - x[i, 0]``) and tapes the rest.  A division, a power other than a square and a
transcendental function are taped too, one number per iteration, and what the reversal
computes from them (``r2 * sqrt(r2)``) is computed again from the taped value.  The programs
here put such a number under a branch not taken on some iterations, in a nested loop, behind
another costly number, beside a name reassigned in the iteration, and as the loop's counter
arithmetic; each gradient is checked against float64 central differences of the plain Python
function.
"""

import math
import re

import numpy as np
import pytest
from test_nested_loops import agrees_all

import adcompile as adc


def pair_forces(G, x, mass):
    n = x.shape[0]
    acc = np.zeros((n, 2))
    for i in range(n):
        for j in range(n):
            if i != j:  # the costly numbers of i == j are never made
                dx = x[j, 0] - x[i, 0]
                dy = x[j, 1] - x[i, 1]
                r2 = dx * dx + dy * dy + 0.01
                s = G * mass[j] / (r2 * math.sqrt(r2))
                acc[i, 0] += s * dx
                acc[i, 1] += s * dy
    return np.sum(acc * acc) + np.sum(acc[:, 0] * x[:, 1])


def chained(a, x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        s = math.sqrt(x[i] * x[i] + a)
        e = math.exp(-s / 3.0)  # costly, from a costly number
        q = e ** 1.5
        out[i] = q * s + math.log(1.0 + e) + math.tanh(x[i] * a)
    return np.sum(out * out)


def reassigned(a, x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        t = x[i] / (1.0 + a * a)
        t = t * t + math.sin(t)  # the name is made twice: computed again, not taped
        out[i] = t + math.cos(a * x[i])
    return np.sum(out ** 3)


def branch_value(a, x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        if x[i] > 0.0:
            w = math.exp(a * x[i])
        else:
            w = 1.0 / (1.0 + a * a * x[i] * x[i])
        out[i] = w * x[i]
    return np.sum(out * out)


def nested_steps(k, u0):
    n = u0.shape[0]
    u = u0.copy()
    for _t in range(4):
        v = np.zeros(n)
        for i in range(1, n - 1):
            g = 1.0 / (1.0 + u[i] * u[i])
            v[i] = u[i] + k * g * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        v[0] = u[0]
        v[n - 1] = u[n - 1]
        u = v
    return np.sum(u ** 2)


def periodic(a, x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(n):
        j = (i + 1) % n
        h = a / (1.0 + x[j] * x[j])
        out[i] = h * x[i] + math.atan(h)
    return np.sum(out * out)


def table(a, x):
    n = x.shape[0]
    R = np.full((n + 1, n + 1), np.inf)  # a float table: its elements' tapes are typed
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            best = min(R[i - 1, j - 1], R[i - 1, j] + a, R[i, j - 1] + a)
            R[i, j] = (x[i - 1] - x[j - 1] * a) ** 2 + best
    return R[n, n]


def int_table(a, x):
    n = x.shape[0]
    C = np.full((n + 1, n + 1), 0)  # integers: their tapes stay made inside the loop
    total = 0.0
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            C[i, j] = C[i - 1, j] + (1 if x[i - 1] > x[j - 1] else 0)
            c = C[i, j - 1]
            total += math.sin(a * c + x[j - 1])
    return total


RNG = np.random.default_rng(11)
X2 = RNG.uniform(-1.0, 1.0, (6, 2))
MASS = RNG.uniform(0.5, 1.5, 6)
X1 = RNG.uniform(-1.0, 1.0, 7)
U0 = np.exp(-((np.linspace(0.0, 1.0, 9) - 0.4) ** 2) * 20.0)

CASES = [
    (pair_forces, (0.7, X2, MASS)),
    (chained, (0.4, X1)),
    (reassigned, (0.3, X1)),
    (branch_value, (0.6, X1)),
    (nested_steps, (0.2, U0)),
    (periodic, (0.8, X1)),
    (table, (0.3, X1)),
    (int_table, (0.3, X1)),
]


@pytest.mark.parametrize("f, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_gradient_agrees_with_central_differences(f, args):
    agrees_all(f, args)


def reversal(source: str) -> str:
    """The code of the backward sweep, without its comments (which quote the forward)."""
    back = source.split("# backward sweep", 1)[1]
    return "\n".join(line for line in back.splitlines() if not line.strip().startswith("#"))


def test_costly_numbers_are_read_from_the_tape_in_the_reversal():
    for wrt in ("G", "x"):
        src = adc.grad(pair_forces, wrt=wrt).source
        assert "math.sqrt" in src.split("# backward sweep")[0]
        back = reversal(src)
        assert "math.sqrt" not in back  # taped in the forward sweep, read back
        assert "dx_tape" not in src  # the cheap numbers are computed again
    assert re.search(r"\bs = s_tape\[", back), back  # d/dx reads s = G m / (r2 sqrt(r2))
    src = adc.grad(chained, wrt="a").source
    for costly in ("math.sqrt", "math.exp", "math.log", "math.tanh", "** 1.5"):
        assert costly not in reversal(src), costly


def test_elements_of_a_float_table_go_on_tapes_typed_before_the_loops():
    src = adc.grad(table, wrt="x").source
    assert "float_tape(" in src and "new_tape(" not in src and "grow_tape(" not in src, src


def test_stack_tapes_are_indexed_by_unsigned_positions():
    """A running stack position goes through ``np.uint64`` on both sides (no fix-up for a
    negative index in the loops' hot paths); the gradients above check that it reads what
    was written."""
    src = adc.grad(pair_forces, wrt="G").source
    forward, backward = src.split("# backward sweep")
    assert re.search(r"\w+_tape\[np\.uint64\(j_pos \+ j\)\] = \w+", forward), forward
    assert re.search(r"\w+ = \w+_tape\[np\.uint64\(j_pos \+ j\)\]", backward), backward
    assert not re.search(r"_tape\[j_pos", src), src
