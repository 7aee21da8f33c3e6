"""examples/mlp_classifier.py: its generated gradient is the derivative, and its training works.

The example is imported and its functions called; nothing here needs matplotlib (the picture is
only drawn when matplotlib is installed, and one test hides it to check the message instead).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "mlp_classifier.py"
spec = importlib.util.spec_from_file_location("adcompile_example_mlp_classifier", SCRIPT)
mlp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mlp)


def small_problem(seed, n=7, hidden=5, data="moons"):
    """Parameters away from the initial ones (biases nonzero) and a small batch."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((2, hidden))
    b1 = 0.5 * rng.standard_normal(hidden)
    W2 = rng.standard_normal(hidden)
    b2 = float(rng.standard_normal())
    X, y = mlp.DATASETS[data](n, 0.2, seed)
    return [W1, b1, W2, b2], X, y


def finite_difference(f, params, k, h=1e-6):
    """d f / d params[k] by float64 central differences, entry by entry."""
    p = params[k]
    if np.ndim(p) == 0:
        hi, lo = list(params), list(params)
        hi[k], lo[k] = p + h, p - h
        return (f(*hi) - f(*lo)) / (2 * h)
    out = np.empty_like(p)
    for idx in np.ndindex(p.shape):
        hi, lo = p.copy(), p.copy()
        hi[idx] += h
        lo[idx] -= h
        out[idx] = (f(*params[:k], hi, *params[k + 1:]) - f(*params[:k], lo, *params[k + 1:]))
        out[idx] /= 2 * h
    return out


def bce(W1, b1, W2, b2, X, y):
    """The cross-entropy in its textbook form, an oracle independent of the example's loss."""
    p = 1.0 / (1.0 + np.exp(-(np.tanh(X @ W1 + b1) @ W2 + b2)))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


@pytest.mark.parametrize("seed, data", [(0, "moons"), (1, "moons"), (2, "spirals")])
def test_gradient_matches_finite_differences(seed, data):
    params, X, y = small_problem(seed, data=data)
    value, grads = mlp.value_and_dloss(*params, X, y)
    assert value == pytest.approx(mlp.loss(*params, X, y), rel=1e-14)
    assert value == pytest.approx(bce(*params, X, y), rel=1e-12)
    assert len(grads) == 4
    for k, g in enumerate(grads):
        assert np.shape(g) == np.shape(params[k])
        expected = finite_difference(lambda *p: mlp.loss(*p, X, y), params, k)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-9)


def test_gradient_on_a_minibatch_taken_by_fancy_indexing():
    """The training loop passes X[batch], y[batch]; the gradient is the same as on a copy."""
    params, X, y = small_problem(3, n=40)
    batch = np.array([5, 17, 2, 33, 8, 21])
    _, grads = mlp.value_and_dloss(*params, X[batch], y[batch])
    Xb, yb = X[batch].copy(), y[batch].copy()
    for k, g in enumerate(grads):
        expected = finite_difference(lambda *p: bce(*p, Xb, yb), params, k)
        np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make", [mlp.make_moons, mlp.make_spirals])
def test_data_sets_are_seeded_balanced_and_standardized(make):
    X, y = make(301, 0.1, 4)
    assert X.shape == (301, 2) and y.shape == (301,)
    assert X.dtype == np.float64 and X.flags.c_contiguous
    assert set(np.unique(y)) == {0.0, 1.0} and abs(y.sum() - 150.5) <= 0.5
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1.0, rtol=1e-12)
    X2, y2 = make(301, 0.1, 4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(301, 0.1, 5)[0])


def test_short_training_run_classifies_the_moons():
    X, y = mlp.make_moons(300, 0.2, 0)
    params0 = mlp.initial_parameters(16, 0)
    params, history = mlp.train(*params0, X, y, 0.5, 60, 32, 0)
    assert history.shape == (60, 2)
    assert history[-1, 1] > 0.95
    assert mlp.accuracy(*params, X, y) == history[-1, 1]
    assert history[-5:, 0].mean() < 0.5 * history[0, 0]
    # the starting parameters are left as they were
    np.testing.assert_array_equal(params0[0], mlp.initial_parameters(16, 0)[0])
    # fresh points from the same distribution
    X_test, y_test = mlp.make_moons(1000, 0.2, 99)
    assert mlp.accuracy(*params, X_test, y_test) > 0.9


def test_training_is_seeded_and_shuffles():
    X, y = mlp.make_moons(100, 0.2, 1)
    params0 = mlp.initial_parameters(8, 1)
    a, hist_a = mlp.train(*params0, X, y, 0.3, 3, 16, 7)
    b, hist_b = mlp.train(*params0, X, y, 0.3, 3, 16, 7)
    c, hist_c = mlp.train(*params0, X, y, 0.3, 3, 16, 8)
    np.testing.assert_array_equal(hist_a, hist_b)
    for p, q in zip(a, b, strict=True):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], c[0])


def test_one_epoch_of_full_batches_is_one_gradient_step():
    """Batch size >= n: one step with the gradient on all points, whatever the order."""
    X, y = mlp.make_moons(50, 0.2, 2)
    params0 = mlp.initial_parameters(4, 2)
    params, history = mlp.train(*params0, X, y, 0.1, 1, 64, 3)
    value, grads = mlp.value_and_dloss(*params0, X, y)
    assert history[0, 0] == pytest.approx(value, rel=1e-12)
    for p, p0, g in zip(params, params0, grads, strict=True):
        np.testing.assert_allclose(p, np.asarray(p0) - 0.1 * np.asarray(g), rtol=1e-12,
                                   atol=1e-15)


def test_main_without_matplotlib_trains_and_says_how_to_get_it(monkeypatch, capsys,
                                                                tmp_path):
    monkeypatch.setattr(mlp, "have_matplotlib", lambda: False)
    out_png = tmp_path / "mlp.png"
    mlp.main(["--epochs", "40", "--out", str(out_png)])
    out = capsys.readouterr().out
    assert "def value_and_grad_loss(W1, b1, W2, b2, X, y):" in out
    assert "lines," in out and "characters" in out
    assert "epoch" in out and "final accuracy:" in out
    accuracy = float(out.split("final accuracy:")[1].split("%")[0])
    assert accuracy > 90.0
    assert 'pip install -e ".[plot]"' in out
    assert not out_png.exists()
