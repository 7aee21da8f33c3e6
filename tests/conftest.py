"""Shared test setup: generated modules go to a private cache directory for the test run."""

import os
import tempfile

import pytest

if not os.environ.get("ADCOMPILE_CACHE_DIR"):
    os.environ["ADCOMPILE_CACHE_DIR"] = tempfile.mkdtemp(prefix="adcompile-tests-")


def central_difference(f, args, i, h=1e-6):
    """d f / d args[i] by a float64 central difference: the independent oracle."""
    lo = list(args)
    hi = list(args)
    lo[i] = float(lo[i]) - h
    hi[i] = float(hi[i]) + h
    return (f(*hi) - f(*lo)) / (2 * h)


@pytest.fixture
def fd():
    """The finite-difference oracle as a fixture."""
    return central_difference
