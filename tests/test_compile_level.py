"""Generated functions that handle arrays of rank 3 or more are optimized at LLVM's O2.

At Numba's default O3 a gradient of a few elementwise operations on rank-4 arrays took
minutes to compile (O3's loop unswitching copies Numba's broadcasting loop nests once per
axis test). ``backend.moderate_optimization`` lowers the level while such a function
compiles: from its argument types, and from its own typed values (``_RankCheck``, for ranks
made inside). These tests record the level of every LLVM pass pipeline Numba builds while a
gradient compiles, with the process at O3, and check the gradient against central
differences.
"""

import numba
import numba.core.codegen as numba_codegen
import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc
from adcompile import backend


@pytest.fixture
def levels(monkeypatch):
    """The process at O3; the ``opt`` of each pass pipeline built, in order."""
    monkeypatch.setattr(numba.config, "OPT", type(numba.config.OPT)(3))
    seen = []
    real = numba_codegen.create_pass_builder

    def spy(tm, opt, *args, **kwargs):
        seen.append(opt)
        return real(tm, opt, *args, **kwargs)

    monkeypatch.setattr(numba_codegen, "create_pass_builder", spy)
    return seen


def rank4_loss(w, x):
    y = np.tanh(x * w + 0.25)
    return np.sum(y * w - x)


def outer_loss(a, b):
    z = np.sin(a[:, :, None] * b[:, None, :])
    return np.sum(z * z)


def matrix_loss(a, b):
    return np.sum(np.cos(a * b) * a)


def agrees(loss, *shapes, seed=0):
    """The gradient of ``loss`` with respect to its first argument, at random arguments of
    ``shapes``, against central differences."""
    rng = np.random.default_rng(seed)
    args = tuple(rng.standard_normal(shape) for shape in shapes)
    g = adc.grad(loss, 0)(*args)
    np.testing.assert_allclose(g, numeric_gradient(loss, args, 0), rtol=1e-6, atol=1e-8)
    assert int(numba.config.OPT) == 3  # put back


def test_rank4_arguments_compile_at_o2(levels):
    agrees(rank4_loss, (2, 3, 2, 2), (2, 3, 2, 2), seed=1)
    assert levels and max(levels) == 2  # the function and the kernels it calls with them


def test_ranks_made_inside_compile_at_o2(levels):
    agrees(outer_loss, (2, 3), (2, 4), seed=2)
    assert 2 in levels  # the function's own module (kernels typed before it keep O3)


def test_matrices_keep_o3(levels):
    agrees(matrix_loss, (3, 2), (3, 2), seed=3)
    assert 3 in levels and 2 not in levels


def test_a_lower_level_set_by_the_user_is_kept(monkeypatch):
    monkeypatch.setattr(numba.config, "OPT", type(numba.config.OPT)(1))
    sig = (numba.types.Array(numba.float64, 4, "C"),)
    with backend.moderate_optimization(sig):
        assert int(numba.config.OPT) == 1
    monkeypatch.setattr(numba.config, "OPT", type(numba.config.OPT)(3))
    with backend.moderate_optimization(sig):
        assert int(numba.config.OPT) == 2
    assert int(numba.config.OPT) == 3
    nested = (numba.types.Tuple((numba.float64, numba.types.Array(numba.float64, 3, "A"))),)
    assert backend.highest_rank(nested) == 3
