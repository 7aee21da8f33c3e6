"""Helpers of tests/test_inplace_helpers.py defined in another module, which imports NumPy
under another name and reads a constant of its own: inlined into a caller that knows neither
name."""

import numpy as numeric

SCALE = 0.5


def damp(v, c):
    v *= 1.0 - c * SCALE


def smooth(u):
    old = numeric.copy(u)
    for i in range(1, u.shape[0] - 1):
        u[i] = 0.25 * old[i - 1] + 0.5 * old[i] + 0.25 * old[i + 1]
