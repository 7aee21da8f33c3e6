"""The optimizers run in chunks: identical results, callbacks, stopping, Ctrl-C, the progress
line, the result object, and the shared names and defaults of gd, minibatch_sgd and sgd.

Oracles: closed-form iterates on quadratic bowls, hand-written updates, one unchunked run of
the same call (the first chunk made as long as the run), and a replay of the documented
shuffle.
"""

import io
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from pathlib import Path

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile import optim
from adcompile.optim import driver


def bowl(x1, x2):
    """Gradient (2 x1, 2 x2): plain descent multiplies each coordinate by (1 - 2 lr)."""
    return x1 ** 2 + x2 ** 2


def vector_bowl(x):
    """Gradient (2 x0, 6 x1, 2 x2): coordinate i shrinks by (1 - lr c_i) per step."""
    return x[0] ** 2 + 3.0 * x[1] ** 2 + x[2] ** 2


def half_square(w, x):
    """Gradient w - x."""
    return 0.5 * (w - x) ** 2


def mean_half_square(w, x):
    """Gradient mean(w - x)."""
    return np.mean(0.5 * (w - x) ** 2)


def neuron(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


def mse(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r * r)


def visits(c, e):
    """The loss of a batch of one-hot rows e is the sum of c over the rows' examples."""
    return np.sum(e @ c)


@numba.njit
def neuron_example():
    x = np.random.normal()
    return (x, 1.0 / (1.0 + math.exp(-(1.5 * x - 0.5))))


@numba.njit
def constant_two():
    return 2.0


def regression_data(n=50, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    return X, X @ np.array([1.5, -2.0, 0.5]) + 0.3 + 0.01 * rng.standard_normal(n)


def neuron_data(n=200, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return x, 1.0 / (1.0 + np.exp(-(1.5 * x - 0.5)))


def step_by_step(monkeypatch):
    """From here on, every chunk is one step."""
    monkeypatch.setattr(driver, "FIRST", 1)
    monkeypatch.setattr(driver, "GROWTH", 1)


def same(a, b):
    """Bit-identical params (float, array, or tuples of them) and history."""
    pa, pb = (a.params, b.params)
    pa = pa if isinstance(pa, tuple) else (pa,)
    pb = pb if isinstance(pb, tuple) else (pb,)
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.history, b.history)
    assert a.steps == b.steps


# ---------------------------------------------------------------------------------------------
# Chunks give the result of one call


RUNS = {
    "gd adam": lambda **kw: optim.gd(mse, (np.zeros(3), 0.0), args=regression_data(), lr=0.05,
                                     steps=40, record_every=3, method="adam", **kw),
    "minibatch momentum": lambda **kw: optim.minibatch_sgd(
        mse, (np.zeros(3), 0.0), data=regression_data(), lr=0.05, batch_size=7, epochs=3,
        seed=5, method="momentum", **kw),
    "sgd data adam": lambda **kw: optim.sgd(neuron, (0.1, 0.2), data=neuron_data(), lr=0.1,
                                            steps=60, seed=3, record_every=7, method="adam",
                                            **kw),
    "sgd sampler": lambda **kw: optim.sgd(neuron, (0.1, 0.2), sampler=neuron_example, lr=0.3,
                                          steps=50, seed=9, record_every=4, **kw),
}


@pytest.mark.parametrize("name", list(RUNS))
def test_chunked_runs_are_bit_identical_to_one_call(name, monkeypatch):
    run = RUNS[name]
    monkeypatch.setattr(driver, "FIRST", 10 ** 12)
    whole = run()
    step_by_step(monkeypatch)
    one_at_a_time = run()
    same(one_at_a_time, whole)
    monkeypatch.setattr(driver, "FIRST", 3)
    monkeypatch.setattr(driver, "GROWTH", 2)
    uneven = run(callback=lambda info: None, callback_every=5)
    same(uneven, whole)
    assert whole.steps == {"gd adam": 40, "minibatch momentum": 24, "sgd data adam": 60,
                           "sgd sampler": 50}[name]


def test_minibatch_shuffle_order_is_carried_across_chunks(monkeypatch):
    # Replay of the documented shuffle (Fisher-Yates with rng.integers, order carried from
    # epoch to epoch): the history of one-hot "visits" names every batch.
    step_by_step(monkeypatch)
    n, batch_size, epochs, seed = 7, 3, 4, 11
    c0 = 100.0 * np.arange(n)
    res = optim.minibatch_sgd(visits, c0, data=(np.eye(n),), lr=1.0, batch_size=batch_size,
                              epochs=epochs, seed=seed)
    rng = np.random.default_rng(seed)
    order = np.arange(n)
    c = c0.copy()
    expected = []
    for _ in range(epochs):
        for i in range(n - 1, 0, -1):
            j = rng.integers(0, i + 1)
            order[i], order[j] = order[j], order[i]
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            expected.append(c[batch].sum())
            c[batch] -= 1.0
    np.testing.assert_array_equal(res.history, expected)
    np.testing.assert_array_equal(res.params, c0 - epochs)


def test_chunk_sizes_grow_from_a_few_steps_and_respect_callback_every(monkeypatch):
    seen = []
    real = driver._next_size

    def spy(size, count, took):
        seen.append(count)
        return real(size, count, took)

    monkeypatch.setattr(driver, "_next_size", spy)
    optim.gd(bowl, (1.0, 2.0), lr=1e-9, steps=200_000, record_every=1000)
    assert seen[0] == driver.FIRST
    assert all(b <= a * driver.GROWTH for a, b in zip(seen, seen[1:], strict=False))
    assert max(seen) > 1000 and sum(seen) == 200_000
    seen.clear()
    optim.gd(bowl, (1.0, 2.0), lr=1e-9, steps=1000, callback=lambda info: None,
             callback_every=300)
    ends = np.cumsum(seen)
    assert {300, 600, 900, 1000} <= set(ends)
    assert not any(a // 300 != (b - 1) // 300 for a, b in zip([0, *ends[:-1]], ends, strict=True))


def test_next_size_aims_at_the_target_time_and_grows_boundedly():
    # 1,000 steps in 0.01 s: 100,000 steps/s, so TARGET seconds are 100,000 * TARGET steps.
    assert driver._next_size(10 ** 6, 1000, 0.01) == int(100_000 * driver.TARGET)
    assert driver._next_size(4, 4, 1e-6) == 4 * driver.GROWTH
    assert driver._next_size(4, 4, 100.0) == 1
    assert driver._next_size(4, 4, 0.0) == 4 * driver.GROWTH


# ---------------------------------------------------------------------------------------------
# Callbacks and stopping


def test_callback_sees_every_nth_step_with_the_closed_form_params():
    lr, x0 = 0.1, (1.0, -2.0)
    seen = []
    res = optim.gd(bowl, x0, lr=lr, steps=25, callback=seen.append, callback_every=10)
    assert [info.step for info in seen] == [10, 20]
    for info in seen:
        factor = (1 - 2 * lr) ** info.step
        assert info.steps == 25
        assert info.params == pytest.approx((factor * x0[0], factor * x0[1]), rel=1e-12)
        before = (1 - 2 * lr) ** (info.step - 1)  # the last step's loss, before its update
        assert info.loss == pytest.approx(before ** 2 * 5.0, rel=1e-12)
        assert info.elapsed >= 0.0
    assert res.steps == 25 and not res.stopped and not res.interrupted


def test_callback_params_are_copies_in_the_callers_form():
    def vandalize(info):
        w, b = info.params
        assert isinstance(w, np.ndarray) and isinstance(b, float)
        w[:] = 1e6

    X, y = regression_data()
    kwargs = {"data": (X, y), "lr": 0.05, "batch_size": 10, "epochs": 2, "seed": 1}
    plain = optim.minibatch_sgd(mse, (np.zeros(3), 0.0), **kwargs)
    watched = optim.minibatch_sgd(mse, (np.zeros(3), 0.0), callback=vandalize,
                                  callback_every=3, **kwargs)
    same(watched, plain)


def test_callback_returning_true_stops_with_a_partial_result():
    lr, x0 = 0.1, (1.0, -2.0)
    res = optim.gd(bowl, x0, lr=lr, steps=1000, record_every=3,
                   callback=lambda info: info.step >= 20, callback_every=10)
    assert res.stopped and not res.interrupted and res.steps == 20
    factor = (1 - 2 * lr) ** 20
    assert res.params == pytest.approx((factor * x0[0], factor * x0[1]), rel=1e-12)
    expected = [((1 - 2 * lr) ** t) ** 2 * 5.0 for t in range(0, 20, 3)]  # steps 0, 3, ..., 18
    np.testing.assert_allclose(res.history, expected, rtol=1e-12)


def test_stopping_at_the_last_step_is_not_a_stop():
    res = optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=20, callback=lambda info: True,
                   callback_every=20)
    assert res.steps == 20 and not res.stopped


def test_callback_without_every_runs_at_chunk_ends_and_after_the_last_step():
    steps = []
    optim.sgd(half_square, 1.0, sampler=constant_two, steps=5000,
              callback=lambda info: steps.append(info.step))
    assert steps[0] == driver.FIRST and steps[-1] == 5000
    assert steps == sorted(set(steps))


def test_sgd_and_minibatch_callbacks_stop_too():
    # sgd towards the constant example 2: w_t = 2 + (w_0 - 2) (1 - lr)^t.
    res = optim.sgd(half_square, 1.0, sampler=constant_two, lr=0.1, steps=10 ** 6,
                    callback=lambda info: True, callback_every=7)
    assert res.stopped and res.steps == 7 and res.history.shape == (7,)
    assert res.params == pytest.approx(2.0 - 0.9 ** 7, rel=1e-13)
    X, y = regression_data()
    mb = optim.minibatch_sgd(mse, (np.zeros(3), 0.0), data=(X, y), batch_size=10, epochs=50,
                             callback=lambda info: True, callback_every=5)
    assert mb.stopped and mb.steps == 5 and mb.history.shape == (5,)


def test_a_callback_error_propagates_and_restores_the_sigint_handler():
    before = signal.getsignal(signal.SIGINT)

    def fail(info):
        assert signal.getsignal(signal.SIGINT) is not before  # ours, while running
        raise ValueError("from the callback")

    with pytest.raises(ValueError, match="from the callback"):
        optim.gd(bowl, (1.0, -2.0), steps=50, callback=fail, callback_every=5)
    assert signal.getsignal(signal.SIGINT) is before


# ---------------------------------------------------------------------------------------------
# Ctrl-C


@pytest.fixture
def sigint_recorder():
    """A SIGINT handler that records instead of raising, so that a handler left out by the
    optimizer fails the test instead of ending the test run."""
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    yield calls
    signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_in_process_stops_at_the_chunk_boundary(sigint_recorder, capsys):
    recorder = signal.getsignal(signal.SIGINT)

    def press(info):
        if info.step == 30:
            os.kill(os.getpid(), signal.SIGINT)

    lr = 0.01
    res = optim.gd(bowl, (1.0, -2.0), lr=lr, steps=10_000, callback=press, callback_every=10)
    assert res.interrupted and not res.stopped and res.steps == 30
    assert res.params == pytest.approx(((1 - 2 * lr) ** 30, -2 * (1 - 2 * lr) ** 30),
                                       rel=1e-12)
    assert res.history.shape == (30,)
    assert sigint_recorder == []  # the optimizer's handler took it
    assert signal.getsignal(signal.SIGINT) is recorder
    assert "interrupted by Ctrl-C after step 30 of 10,000" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_second_ctrl_c_raises_keyboard_interrupt(sigint_recorder):
    recorder = signal.getsignal(signal.SIGINT)

    def press_twice(info):
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        optim.gd(bowl, (1.0, -2.0), steps=1000, callback=press_twice, callback_every=10)
    assert sigint_recorder == [signal.SIGINT]  # the second press went to the previous handler
    assert signal.getsignal(signal.SIGINT) is recorder


def test_outside_the_main_thread_no_handler_is_installed():
    before = signal.getsignal(signal.SIGINT)
    out = {}

    def look(info):
        out["handler"] = signal.getsignal(signal.SIGINT)

    def work():
        out["res"] = optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=30, callback=look,
                              callback_every=10)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert out["handler"] is before
    assert out["res"].params == pytest.approx((0.8 ** 30, -2 * 0.8 ** 30), rel=1e-12)


CHILD = textwrap.dedent("""
    import signal, sys
    import numpy as np
    import adcompile as adc

    def bowl(x1, x2):
        return x1 ** 2 + x2 ** 2

    def started(info):
        if info.step == 10 ** 5:
            print("stepping", flush=True)

    lr = 1e-9
    res = adc.optim.gd(bowl, (1.0, -2.0), lr=lr, steps=10 ** 11, record_every=10 ** 6,
                       callback=started, callback_every=10 ** 5)
    x1, x2 = res.params
    factor = (1.0 - 2.0 * lr) ** res.steps
    ok = (abs(x1 - factor) <= 1e-6 * factor and abs(x2 + 2.0 * factor) <= 2e-6 * factor
          and len(res.history) == (res.steps + 10 ** 6 - 1) // 10 ** 6
          and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    print("result", res.interrupted, res.stopped, res.steps, ok, flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_to_a_child_returns_the_partial_result(tmp_path):
    script = tmp_path / "long_gd.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(Path(adc.__file__).parents[1]), os.environ.get("PYTHONPATH")])))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "stepping"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    words = out.split()
    assert words[:3] == ["result", "True", "False"], out
    steps = int(words[3])
    assert 10 ** 5 <= steps < 10 ** 11
    assert words[4] == "True", out
    assert f"interrupted by Ctrl-C after step {steps:,} of 100,000,000,000" in err


# ---------------------------------------------------------------------------------------------
# The progress line


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_on_a_terminal_rewrites_one_line_and_ends_it():
    stream = FakeTerminal()
    line = driver._ProgressLine("gd", 1000, None, stream)
    line.update(10, 1.0, 0.1)            # too early to say anything
    assert stream.getvalue() == ""
    line.update(100, 0.5, 1.0)           # 10 s expected: shown
    line.update(150, 0.4, 1.2)           # within 0.5 s of the last line: not shown
    line.update(200, 0.25, 2.0)
    line.finish(1000, 0.125, 10.0)
    text = stream.getvalue()
    assert "\n" not in text[:-1] and text.endswith("\n")
    parts = text.split("\r")[1:]
    assert len(parts) == 3
    assert parts[0].startswith("gd: 100/1,000 steps (10%)  loss 0.5  100 steps/s  ETA 0:09")
    assert parts[1].startswith("gd: 200/1,000 steps (20%)  loss 0.25  100 steps/s  ETA 0:08")
    assert parts[2].startswith("gd: 1,000/1,000 steps (100%)  loss 0.125  100 steps/s  10.0 s")
    assert len(parts[1]) >= len(parts[0].rstrip())


def test_progress_by_default_only_for_long_runs_on_a_terminal():
    short = FakeTerminal()
    line = driver._ProgressLine("gd", 1000, None, short)
    line.update(500, 1.0, 0.6)           # 1.2 s expected in all: not worth a line
    line.finish(1000, 1.0, 1.2)
    assert short.getvalue() == ""
    pipe = io.StringIO()
    line = driver._ProgressLine("gd", 1000, None, pipe)
    line.update(10, 1.0, 1.0)
    line.finish(1000, 1.0, 100.0)
    assert pipe.getvalue() == ""
    forced = io.StringIO()
    line = driver._ProgressLine("sgd", 10 ** 6, True, forced)
    line.update(10 ** 5, 1.0, 1.0)
    line.update(2 * 10 ** 5, 1.0, 2.0)   # within INTERVAL_PLAIN of the last line
    line.update(4 * 10 ** 5, 1.0, 4.0)
    line.finish(10 ** 6, 1.0, 10.0)
    lines = forced.getvalue().splitlines()
    assert [ln.split()[1] for ln in lines] == ["100,000/1,000,000", "400,000/1,000,000",
                                               "1,000,000/1,000,000"]
    assert "\r" not in forced.getvalue()


def test_progress_keyword_through_the_optimizers(capsys):
    optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=100, progress=True)
    err = capsys.readouterr().err
    assert err.startswith("gd: 100/100 steps (100%)") and err.endswith("\n")
    optim.sgd(half_square, 1.0, sampler=constant_two, steps=100)
    optim.minibatch_sgd(mse, (np.zeros(3), 0.0), data=regression_data(), progress=False)
    assert capsys.readouterr().err == ""  # not a terminal: nothing by default


def test_clock():
    assert driver._clock(9.4) == "0:09"
    assert driver._clock(3725) == "1:02:05"
    assert driver._clock(math.inf) == "?"


# ---------------------------------------------------------------------------------------------
# The result


def test_result_is_a_pair_with_flags_and_pickles():
    res = optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=3)
    params, history = res
    assert len(res) == 2 and res[0] is params is res.params and res[1] is history
    assert params == pytest.approx((0.8 ** 3, -2 * 0.8 ** 3), rel=1e-14)
    assert (res.steps, res.interrupted, res.stopped) == (3, False, False)
    again = pickle.loads(pickle.dumps(res))
    assert isinstance(again, optim.OptimResult)
    assert again.params == params and again.steps == 3 and not again.stopped
    assert "steps=3" in repr(res)


# ---------------------------------------------------------------------------------------------
# One spelling of names and defaults


def test_default_lr_is_001_everywhere():
    lr = 0.01
    assert optim.gd(bowl, (1.0, -2.0), steps=1).params == pytest.approx(
        (1 - 2 * lr, -2 * (1 - 2 * lr)), rel=1e-15)
    assert optim.sgd(half_square, 1.0, sampler=constant_two, steps=1).params == pytest.approx(
        1.0 - lr * (1.0 - 2.0), rel=1e-15)
    res = optim.minibatch_sgd(mean_half_square, 1.0, data=(np.array([2.0, 2.0]),),
                              batch_size=2, epochs=1)
    assert res.params == pytest.approx(1.0 - lr * (1.0 - 2.0), rel=1e-15)


@pytest.mark.parametrize("method", ["gd", "sgd"])
def test_plain_gd_and_sgd_are_one_method_everywhere(method):
    X, y = regression_data()
    data = neuron_data()
    runs = [
        lambda m: optim.gd(mse, (np.zeros(3), 0.0), args=(X, y), lr=0.05, steps=20, **m),
        lambda m: optim.minibatch_sgd(mse, (np.zeros(3), 0.0), data=(X, y), lr=0.05,
                                      batch_size=10, epochs=2, **m),
        lambda m: optim.sgd(neuron, (0.0, 0.0), data=data, lr=0.1, steps=50, **m),
    ]
    for run in runs:
        default = run({})
        same(run({"method": method}), default)
        same(run({"method": "plain"}), default)


def test_sgd_takes_momentum_and_adam():
    # A constant example x = 2 makes every gradient w - 2: the updates by hand.
    lr, beta, b1, b2, eps, w0 = 0.1, 0.5, 0.8, 0.9, 1e-6, 1.0
    res = optim.sgd(half_square, w0, sampler=constant_two, lr=lr, steps=3, method="momentum",
                    beta=beta)
    w, v = w0, 0.0
    for _ in range(3):
        v = beta * v + (w - 2.0)
        w = w - lr * v
    assert res.params == pytest.approx(w, rel=1e-14)
    res = optim.sgd(half_square, w0, sampler=constant_two, lr=lr, steps=3, method="adam",
                    b1=b1, b2=b2, eps=eps)
    w, m, s = w0, 0.0, 0.0
    for t in range(1, 4):
        g = w - 2.0
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (math.sqrt(s / (1 - b2 ** t)) + eps)
    assert res.params == pytest.approx(w, rel=1e-14)
    with pytest.raises(adc.AdcompileError, match="beta=0.5 is not used by method='adam'"):
        optim.sgd(half_square, w0, sampler=constant_two, method="adam", beta=0.5)


def test_minibatch_params0_still_works_with_a_deprecation_warning():
    X, y = regression_data()
    kwargs = {"data": (X, y), "lr": 0.05, "batch_size": 10, "epochs": 1}
    new = optim.minibatch_sgd(mse, x0=(np.zeros(3), 0.0), **kwargs)
    with pytest.warns(DeprecationWarning, match=r"params0=.*pass x0="):
        old = optim.minibatch_sgd(mse, params0=(np.zeros(3), 0.0), **kwargs)
    same(old, new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same(optim.minibatch_sgd(mse, (np.zeros(3), 0.0), **kwargs), new)  # positional
    with pytest.raises(TypeError, match="both x0 and params0"):
        optim.minibatch_sgd(mse, (np.zeros(3), 0.0), params0=(np.zeros(3), 0.0), **kwargs)
    with pytest.raises(TypeError, match="missing the start value x0"):
        optim.minibatch_sgd(mse, **kwargs)


def test_every_optimizer_documents_every_keyword():
    import inspect

    for func in (optim.gd, optim.minibatch_sgd, optim.sgd):
        doc = func.__doc__
        for name in inspect.signature(func).parameters:
            assert f"``{name}``" in doc, (func.__name__, name)
        assert "{" not in doc


# ---------------------------------------------------------------------------------------------
# A list as x0, and checked options


def test_a_list_x0_is_an_array_for_a_loss_that_indexes_its_parameter():
    lr, steps = 0.1, 5
    res = optim.gd(vector_bowl, [1.0, 2.0, 3.0], lr=lr, steps=steps)
    assert isinstance(res.params, np.ndarray)
    expected = np.array([1.0, 2.0, 3.0]) * (1 - lr * np.array([2.0, 6.0, 2.0])) ** steps
    np.testing.assert_allclose(res.params, expected, rtol=1e-13)


def test_a_list_x0_for_float_parameters_is_an_error_saying_what_to_pass():
    with pytest.raises(adc.AdcompileError) as info:
        optim.gd(bowl, [1.0, 2.0])
    message = str(info.value)
    assert "x0=[1.0, 2.0] is a list" in message
    assert "np.array([1.0, 2.0])" in message
    assert "a tuple (1.0, 2.0) for one float per parameter (x1, x2)" in message
    with pytest.raises(adc.AdcompileError) as info:
        optim.gd(bowl, [1.0, 2.0, 3.0])
    assert "np.array([1.0, 2.0, 3.0])" in str(info.value)
    assert "tuple" not in str(info.value).split("Hint")[1]  # 3 floats cannot fill bowl()


def test_progress_and_callback_options_are_checked():
    with pytest.raises(adc.AdcompileError, match="progress='yes'"):
        optim.gd(bowl, (1.0, 2.0), progress="yes")
    with pytest.raises(adc.AdcompileError, match="is not callable"):
        optim.gd(bowl, (1.0, 2.0), callback=3)
    with pytest.raises(adc.AdcompileError, match="callback_every is given but no callback"):
        optim.sgd(half_square, 1.0, sampler=constant_two, callback_every=3)
    with pytest.raises(adc.AdcompileError, match="callback_every=0"):
        optim.gd(bowl, (1.0, 2.0), callback=print, callback_every=0)
