"""The compiled optimizers, checked against analytic minimizers and hand-derived gradients."""

import math

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile import optim

W_STAR, B_STAR = 1.5, -0.5


def bowl(x1, x2):
    """The lecture's bowl: the gradient is (2 x1, 2 x2), the minimum at the origin."""
    return x1 ** 2 + x2 ** 2


def quadratic(a, b, c):
    """A convex quadratic whose minimizer solves [[2, 1], [1, 6]] (a, b) = (2c, -6)."""
    return (a - c) ** 2 + 3.0 * (b + 1.0) ** 2 + a * b


def neuron(w, b, x, y):
    """The seed neuron: x1 = w x, x2 = x1 + b, yhat = sigma(x2), loss (yhat - y)^2."""
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


def half_square(w, x):
    """Its expected value over x is smallest at w = mean(x)."""
    return 0.5 * (w - x) ** 2


def sigma(z):
    return 1.0 / (1.0 + math.exp(-z))


def neuron_gradient(w, b, x, y):
    """By hand: dL/dx2 = 2 (s - y) s (1 - s) with s = sigma(w x + b); dL/dw = dL/dx2 * x."""
    s = sigma(w * x + b)
    d_x2 = 2.0 * (s - y) * s * (1.0 - s)
    return d_x2 * x, d_x2


@numba.njit
def neuron_example():
    x = np.random.normal()
    y = 1.0 / (1.0 + math.exp(-(W_STAR * x + B_STAR)))
    return (x, y)


@numba.njit
def standard_normal():
    return np.random.normal()


@numba.njit
def one_value():
    return (1.0, 2.0)


def not_compiled():
    return (0.0, 0.0)


def neuron_data(n=2000, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 1.0 / (1.0 + np.exp(-(W_STAR * x + B_STAR)))
    return x, y


# ---------------------------------------------------------------------------------------------
# gd


def test_gd_bowl_follows_the_closed_form_trajectory_to_the_origin():
    # w_{t+1} = w_t - lr * 2 w_t = (1 - 2 lr) w_t, so w_n = (1 - 2 lr)^n w_0.
    a, b, lr, steps = 1.0, -2.0, 0.1, 50
    res = optim.gd(bowl, (a, b), lr=lr, steps=steps)
    factor = (1 - 2 * lr) ** steps
    assert res.params == pytest.approx((factor * a, factor * b), rel=1e-12, abs=1e-300)
    expected_history = [((1 - 2 * lr) ** t) ** 2 * (a * a + b * b) for t in range(steps)]
    np.testing.assert_allclose(res.history, expected_history, rtol=1e-12)
    converged = optim.gd(bowl, (a, b), lr=lr, steps=300).params
    assert converged == pytest.approx((0.0, 0.0), abs=1e-12)


def test_gd_quadratic_reaches_the_analytic_minimizer():
    c = 2.0
    hessian = np.array([[2.0, 1.0], [1.0, 6.0]])
    minimizer = np.linalg.solve(hessian, [2.0 * c, -6.0])  # gradient = 0
    res = optim.gd(quadratic, (0.0, 0.0), args=(c,), lr=0.1, steps=500)
    assert res.params == pytest.approx(tuple(minimizer), abs=1e-10)
    assert res.history[-1] == pytest.approx(quadratic(*minimizer, c), abs=1e-12)
    assert np.all(np.diff(res.history) <= 1e-15)


def test_gd_first_step_is_w0_minus_lr_times_the_hand_derived_gradient():
    w0, b0, x, y, lr = 0.3, -0.1, 1.5, 0.8, 0.25
    res = optim.gd(neuron, (w0, b0), args=(x, y), lr=lr, steps=1)
    dw, db = neuron_gradient(w0, b0, x, y)
    assert res.params == pytest.approx((w0 - lr * dw, b0 - lr * db), rel=1e-13)
    assert res.history.shape == (1,)
    assert res.history[0] == pytest.approx((sigma(w0 * x + b0) - y) ** 2, rel=1e-14)


def test_gd_first_step_matches_finite_differences(fd):
    a0, b0, c, lr = 0.7, -0.4, 2.0, 0.05
    res = optim.gd(quadratic, (a0, b0), args=(c,), lr=lr, steps=1)
    ga = fd(quadratic, (a0, b0, c), 0)
    gb = fd(quadratic, (a0, b0, c), 1)
    assert res.params == pytest.approx((a0 - lr * ga, b0 - lr * gb), rel=1e-8)


def test_gd_float_x0_optimizes_the_first_parameter_and_returns_a_float():
    # bowl(x1, 3): d/dx1 = 2 x1, so x1 shrinks by (1 - 2 lr) per step; x2 stays an argument.
    res = optim.gd(bowl, 1.0, args=(3.0,), lr=0.1, steps=3)
    assert isinstance(res.params, float)
    assert res.params == pytest.approx(0.8 ** 3, rel=1e-14)
    assert res.history[0] == pytest.approx(1.0 + 9.0)


def test_gd_wrt_by_name_follows_wrt_order():
    c = 2.0
    minimizer = np.linalg.solve([[2.0, 1.0], [1.0, 6.0]], [2.0 * c, -6.0])
    res = optim.gd(quadratic, (0.0, 0.0), wrt=("b", "a"), args=(c,), lr=0.1, steps=500)
    assert res.params == pytest.approx((minimizer[1], minimizer[0]), abs=1e-10)
    single = optim.gd(quadratic, 0.0, wrt="b", args=(1.0, c), lr=0.1, steps=200)
    assert isinstance(single.params, float)
    assert single.params == pytest.approx(-1.0 - 1.0 / 6.0, abs=1e-12)  # 6 (b + 1) + a = 0
    one_tuple = optim.gd(quadratic, (0.0,), wrt=("b",), args=(1.0, c), lr=0.1, steps=200)
    assert one_tuple.params == pytest.approx((-1.0 - 1.0 / 6.0,), abs=1e-12)


def test_gd_record_every_keeps_every_kth_loss():
    full = optim.gd(bowl, (1.0, -2.0), lr=0.05, steps=20)
    sparse = optim.gd(bowl, (1.0, -2.0), lr=0.05, steps=20, record_every=3)
    assert sparse.history.shape == (7,)
    np.testing.assert_array_equal(sparse.history, full.history[::3])
    assert sparse.params == full.params


def test_gd_does_not_recompile_its_loop_for_the_same_loss():
    optim.gd(bowl, (1.0, -2.0), steps=2)
    loops = dict(optim.loops._LOADED)
    counts = {key: len(loop.overloads) for key, loop in loops.items()}
    for start in [(0.5, 0.5), (3.0, -1.0)]:
        optim.gd(bowl, start, lr=0.01, steps=5)
    assert optim.loops._LOADED == loops  # the same loop functions, no new one
    assert {key: len(loop.overloads) for key, loop in loops.items()} == counts


def test_the_loop_is_cached_on_disk_for_a_new_process(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import time
        import adcompile as adc
        from adcompile.optim import loops

        def bowl(x1, x2):
            return (x1 - 1.0) ** 2 + 2.0 * (x2 + 0.5) ** 2

        res = adc.optim.gd(bowl, (0.0, 0.0), lr=0.1, steps=200)
        loop = next(iter(loops._LOADED.values()))
        print(len(loop.stats.cache_hits), len(loop.stats.cache_misses), res.params)
    """))
    # NUMBA_OPT=1 as a user's default level would: at 0 (tests/conftest.py) LLVM leaves
    # dynamic globals in the code, which Numba does not write to its cache
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(tmp_path / "cache"), NUMBA_OPT="1")
    runs = [subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                           text=True, check=True).stdout.split() for _ in range(2)]
    assert runs[0][:2] == ["0", "1"]  # compiled, and written to Numba's cache
    assert runs[1][:2] == ["1", "0"]  # found there by the next process


# ---------------------------------------------------------------------------------------------
# sgd


def test_sgd_with_data_recovers_the_neuron_parameters():
    x, y = neuron_data()
    res = optim.sgd(neuron, (0.0, 0.0), data=(x, y), lr=0.5, steps=100_000, seed=3)
    assert res.params == pytest.approx((W_STAR, B_STAR), abs=1e-4)
    assert res.history.shape == (100_000,)
    assert res.history[-1000:].max() < 1e-8 < res.history[0]


def test_sgd_with_a_sampler_recovers_the_neuron_parameters():
    res = optim.sgd(neuron, (0.0, 0.0), sampler=neuron_example, lr=0.5, steps=100_000,
                    seed=7, record_every=100)
    assert res.params == pytest.approx((W_STAR, B_STAR), abs=1e-4)
    assert res.history.shape == (1000,)


def test_sgd_draws_data_rows_uniformly():
    # With E[(w - x)^2 / 2] minimized at mean(x), a small step settles near the data mean;
    # always drawing the same row would settle on that row instead.
    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    res = optim.sgd(half_square, 10.0, data=(xs,), lr=0.002, steps=50_000, seed=0)
    assert isinstance(res.params, float)
    assert res.params == pytest.approx(2.0, abs=0.15)


def test_sgd_data_columns_of_any_numeric_dtype_are_read_as_float64():
    xs = np.arange(5)
    as_int = optim.sgd(half_square, 10.0, data=(xs,), lr=0.01, steps=500, seed=4)
    as_float = optim.sgd(half_square, 10.0, data=(xs.astype(np.float64),), lr=0.01,
                         steps=500, seed=4)
    listed = optim.sgd(half_square, 10.0, data=([0, 1, 2, 3, 4],), lr=0.01, steps=500, seed=4)
    assert as_int.params == as_float.params == listed.params
    np.testing.assert_array_equal(as_int.history, as_float.history)


def test_sgd_sampler_may_return_a_lone_scalar_for_one_parameter():
    res = optim.sgd(half_square, 3.0, sampler=standard_normal, lr=0.002, steps=50_000)
    assert res.params == pytest.approx(0.0, abs=0.15)


def test_sgd_first_step_uses_the_sampled_example():
    # A sampler that always returns the same example makes SGD's first step a GD step.
    w0, b0, lr = 0.3, -0.1, 0.25
    res = optim.sgd(neuron, (w0, b0), sampler=one_value, lr=lr, steps=1)
    dw, db = neuron_gradient(w0, b0, 1.0, 2.0)
    assert res.params == pytest.approx((w0 - lr * dw, b0 - lr * db), rel=1e-13)


@pytest.mark.parametrize("source", ["data", "sampler"])
def test_sgd_same_seed_same_result(source):
    kwargs = {"data": neuron_data()} if source == "data" else {"sampler": neuron_example}
    first = optim.sgd(neuron, (0.2, 0.1), lr=0.3, steps=2000, seed=42, **kwargs)
    again = optim.sgd(neuron, (0.2, 0.1), lr=0.3, steps=2000, seed=42, **kwargs)
    other = optim.sgd(neuron, (0.2, 0.1), lr=0.3, steps=2000, seed=43, **kwargs)
    assert first.params == again.params
    np.testing.assert_array_equal(first.history, again.history)
    assert not np.array_equal(first.history, other.history)
    sparse = optim.sgd(neuron, (0.2, 0.1), lr=0.3, steps=2000, seed=42, record_every=7,
                       **kwargs)
    np.testing.assert_array_equal(sparse.history, first.history[::7])
    assert sparse.params == first.params


def test_sgd_does_not_recompile_its_loops_for_the_same_loss():
    data = neuron_data(50)
    optim.sgd(neuron, (0.0, 0.0), data=data, steps=10)
    optim.sgd(neuron, (0.0, 0.0), sampler=neuron_example, steps=10)
    before = len(optim._sgd_loop.overloads)
    optim.sgd(neuron, (1.0, 1.0), data=neuron_data(80, seed=2), lr=0.1, steps=20, seed=5)
    optim.sgd(neuron, (1.0, 1.0), sampler=neuron_example, lr=0.1, steps=20, seed=5)
    after = len(optim._sgd_loop.overloads)
    assert after == before


def test_sgd_accepts_the_generated_gradient_of_the_public_api():
    # The optimizer and adc.grad share one generated module: its step matches grad's output.
    x, y = 0.7, 0.9
    dw, db = adc.grad(neuron, wrt=("w", "b"))(0.0, 0.0, x, y)
    res = optim.gd(neuron, (0.0, 0.0), args=(x, y), lr=1.0, steps=1)
    assert res.params == (-dw, -db)


# ---------------------------------------------------------------------------------------------
# errors


def _error(call, *fragments):
    with pytest.raises(adc.AdcompileError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message
    return info.value


def test_sgd_needs_exactly_one_of_data_and_sampler():
    data = neuron_data(10)
    _error(lambda: optim.sgd(neuron, (0.0, 0.0)), "exactly one", "neither")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=data, sampler=neuron_example),
           "exactly one", "both")


def test_x0_length_must_match_wrt():
    _error(lambda: optim.gd(bowl, (1.0, 2.0, 3.0)), "x0 has 3 values", "2 parameter(s)")
    _error(lambda: optim.gd(quadratic, (1.0,), wrt=("a", "b"), args=(2.0,)),
           "x0 has 1 value(s)", "a, b")
    _error(lambda: optim.gd(bowl, ()), "x0 is empty")
    _error(lambda: optim.gd(bowl, "1.0"), "x0='1.0'")
    _error(lambda: optim.gd(bowl, (1.0, None)), "not a number")
    _error(lambda: optim.gd(bowl, (1.0, math.nan)), "not finite")


def test_gd_args_must_fill_the_other_parameters():
    _error(lambda: optim.gd(quadratic, (0.0, 0.0)), "args has 0 value(s)", "c")
    _error(lambda: optim.gd(quadratic, (0.0, 0.0), args=(1.0, 2.0)), "args has 2")
    _error(lambda: optim.gd(quadratic, (0.0, 0.0), args=("c",)), "not a number")


def test_steps_lr_record_every_and_seed_are_checked():
    data = neuron_data(10)
    _error(lambda: optim.gd(bowl, (1.0, 1.0), steps=0), "steps=0", "positive integer")
    _error(lambda: optim.gd(bowl, (1.0, 1.0), steps=-5), "steps=-5")
    _error(lambda: optim.gd(bowl, (1.0, 1.0), steps=2.5), "steps=2.5")
    _error(lambda: optim.gd(bowl, (1.0, 1.0), lr=0.0), "lr=0.0", "positive")
    _error(lambda: optim.gd(bowl, (1.0, 1.0), lr=math.inf), "lr=inf")
    _error(lambda: optim.gd(bowl, (1.0, 1.0), record_every=0), "record_every=0")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=data, steps=0), "steps=0")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=data, seed=-1), "seed=-1")


def test_data_arrays_are_checked():
    x, y = neuron_data(10)
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=(x, y[:9])),
           "different lengths", "x: 10", "y: 9")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=(x,)), "data has 1 array(s)", "x, y")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=np.stack([x, y])), "tuple of 1-D")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=(x.reshape(2, 5), y.reshape(2, 5))),
           "1-D array", "'x'")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), data=(x[:0], y[:0])), "empty")
    _error(lambda: optim.sgd(bowl, (0.0, 0.0), data=(x,)), "nothing to sample", "gd")


def test_sampler_is_checked():
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), sampler=not_compiled), "@numba.njit")
    _error(lambda: optim.sgd(neuron, (0.0, 0.0), sampler=standard_normal),
           "returns 1 value(s)", "x, y")
    _error(lambda: optim.sgd(half_square, 0.0, sampler=neuron_example), "returns 2 value(s)")


def test_wrt_and_function_errors_come_from_the_compiler():
    _error(lambda: optim.gd(bowl, 1.0, wrt="z", args=(1.0,)), "wrt='z'")
    _error(lambda: optim.gd(3.0, 1.0), "expected a Python function")
