"""Shared test setup: generated modules go to a private cache directory for the test run."""

import os
import tempfile

# The tests check values, not speed: with NUMBA_OPT=0 LLVM does not optimize, which gives the
# same IEEE results as Numba's default O3 (no fast-math at any level) and compiles generated
# code a third faster than O1 (CPU of a file: test_einsum.py 109 -> 69 s, test_tuple_higher.py
# 81 -> 56 s).  Code left unoptimized keeps "dynamic globals", which Numba does not write to
# its cache (a NumbaWarning, silenced below): the tests of that cache start their fresh
# processes with NUMBA_OPT=1, as a user's optimizing level would.
os.environ.setdefault("NUMBA_OPT", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

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


def numeric_gradient(f, args, i, h=1e-6):
    """d f / d args[i] by float64 central differences (elementwise for an array)."""
    x = args[i]
    if np.ndim(x) == 0:
        hi = list(args)
        lo = list(args)
        hi[i] = float(x) + h
        lo[i] = float(x) - h
        return (f(*hi) - f(*lo)) / (2 * h)
    x = np.array(x, dtype=np.float64)
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        hi = x.copy()
        lo = x.copy()
        hi[index] += h
        lo[index] -= h
        out[index] = (f(*args[:i], hi, *args[i + 1:]) - f(*args[:i], lo, *args[i + 1:])) / (2 * h)
    return out


#: The files that compile most, costliest first (CPU of a cold run).  pytest-xdist hands out
#: whole files (--dist loadfile) in collection order (--no-loadscope-reorder): these go
#: first, so that the files left for the end, when a worker runs out of work, are short.
COSTLIEST_FIRST = (
    "test_linalg.py", "test_linalg_second_order.py", "test_audit.py", "test_rank.py",
    "test_arrays.py", "test_batch.py", "test_higher_contract3.py",
    "test_shapes_breadth.py", "test_parallel.py", "test_examples.py", "test_forward_mode.py",
    "test_double_backprop.py", "test_einsum.py", "test_differential.py",
    "test_elementwise_breadth.py", "test_nested_loops.py", "test_python_constructs.py",
    "test_statistics.py", "test_trust.py", "test_properties_control.py", "test_scaling.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: k for k, name in enumerate(COSTLIEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: files keep
    # their own order of tests, the others their order of collection


def pytest_configure(config):
    """At NUMBA_OPT=0 Numba warns for each function it cannot cache (see above)."""
    config.addinivalue_line(
        "filterwarnings",
        "ignore:.*Cannot cache compiled function .* as it uses dynamic globals:"
        "numba.core.errors.NumbaWarning")
