"""Optimizers over array parameters: minibatch SGD, momentum and Adam, checked against
closed-form solutions, hand-computed updates and an independent replay of the shuffling."""

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile import optim

W_TRUE, B_TRUE = np.array([2.0, -1.0]), 0.5


def logistic(w, b, X, y):
    """Mean log-loss of sigma(X w + b) against labels y in {0, 1}, written with softplus."""
    z = X @ w + b
    return np.mean(y * np.log(1.0 + np.exp(-z)) + (1.0 - y) * np.log(1.0 + np.exp(z)))


def logistic_gradient(w, b, X, y):
    """By hand: dL/dz = (sigma(z) - y) / n, so dL/dw = X^T dL/dz and dL/db = sum(dL/dz)."""
    s = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    d_z = (s - y) / X.shape[0]
    return X.T @ d_z, d_z.sum()


def least_squares(A, B, W, c, s):
    """Mean squared residual of A W + c = B (a column of W and an entry of c per right-hand
    side), plus (s - 1)^2: a float parameter trained alongside, its minimum at 1.  The data
    comes first in the signature, the parameters after it."""
    return np.mean((A @ W + c - B) ** 2) + (s - 1.0) ** 2


LSQ_WRT = ("W", "c", "s")
LSQ_START = (np.zeros((3, 2)), np.zeros(2), 0.0)


def visits(c, E):
    """With E's rows one-hot, the gradient w.r.t. c counts how often each example is in the
    batch, and the loss is the sum of c over the batch."""
    return np.sum(E @ c)


def cross_entropy(W, X, labels):
    """Softmax cross-entropy with the max-shift; labels are integer class indices."""
    Z = X @ W
    total = 0.0
    for i in range(Z.shape[0]):
        z_max = np.max(Z[i])
        total += z_max + np.log(np.sum(np.exp(Z[i] - z_max))) - Z[i, labels[i]]
    return total / Z.shape[0]


def separable_set(n=400, seed=0):
    """Points labelled by the side of the line W_TRUE . x + B_TRUE = 0, none close to it."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3 * n, 2))
    margin = X @ W_TRUE + B_TRUE
    X = X[np.abs(margin) > 0.3][:n]
    return X, (X @ W_TRUE + B_TRUE > 0).astype(np.float64)


def regression_set(n=120, noise=0.3, seed=1):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, 3))
    W, c = np.array([[1.0, -2.0], [0.5, 0.0], [-1.5, 3.0]]), np.array([0.7, -0.3])
    return A, A @ W + c + noise * rng.normal(size=(n, 2))


def lstsq_solution(A, B):
    """W and c from np.linalg.lstsq on A with a column of ones."""
    solution = np.linalg.lstsq(np.column_stack([A, np.ones(len(A))]), B, rcond=None)[0]
    return solution[:-1], solution[-1]


def replayed_orders(n, epochs, seed):
    """The example order of each epoch, drawn in plain Python with NumPy's generator: the
    Fisher-Yates shuffle minibatch_sgd documents, carried from epoch to epoch."""
    rng = np.random.default_rng(seed)
    order = list(range(n))
    out = []
    for _ in range(epochs):
        for i in range(n - 1, 0, -1):
            j = int(rng.integers(0, i + 1))
            order[i], order[j] = order[j], order[i]
        out.append(list(order))
    return out


def accuracy(w, b, X, y):
    return np.mean((X @ w + b > 0) == (y > 0.5))


# ---------------------------------------------------------------------------------------------
# Training


@pytest.mark.parametrize(("method", "lr"), [("sgd", 0.5), ("momentum", 0.1), ("adam", 0.05)])
def test_minibatch_trains_logistic_regression_on_a_separable_set(method, lr):
    X, y = separable_set()
    res = optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), data=(X, y), lr=lr,
                              batch_size=32, epochs=30, seed=0, method=method)
    w, b = res.params
    assert isinstance(w, np.ndarray) and w.shape == (2,) and isinstance(b, float)
    assert accuracy(w, b, X, y) >= 0.99
    steps_per_epoch = -(-len(y) // 32)
    assert res.history.shape == (30 * steps_per_epoch,)
    assert res.history[0] == pytest.approx(np.log(2.0), rel=1e-12)  # sigma(0) = 1/2
    per_epoch = res.history.reshape(30, steps_per_epoch).mean(axis=1)
    assert per_epoch[-1] < 0.25 * per_epoch[0]
    assert np.all(per_epoch[5:] < per_epoch[0])
    assert logistic(w, b, X, y) < 0.25 * np.log(2.0)
    # The direction of the learned boundary is the true one.
    assert np.dot(w, W_TRUE) / np.linalg.norm(w) / np.linalg.norm(W_TRUE) > 0.98


def test_gd_with_momentum_reaches_the_least_squares_solution():
    A, B = regression_set()
    W_star, c_star = lstsq_solution(A, B)
    res = optim.gd(least_squares, LSQ_START, wrt=LSQ_WRT, args=(A, B), lr=0.2, steps=400,
                   method="momentum", beta=0.8)
    W, c, s = res.params
    assert W.shape == (3, 2) and c.shape == (2,) and isinstance(s, float)
    np.testing.assert_allclose(W, W_star, atol=1e-10)
    np.testing.assert_allclose(c, c_star, atol=1e-10)
    assert s == pytest.approx(1.0, abs=1e-10)
    assert res.history[-1] == pytest.approx(least_squares(A, B, W_star, c_star, 1.0),
                                            rel=1e-12)


def test_minibatch_momentum_reaches_the_least_squares_solution():
    # With the whole set in one batch, each step is a gradient step on the full loss, which
    # converges to the least-squares solution whatever the noise.
    A, B = regression_set()
    W_star, c_star = lstsq_solution(A, B)
    full = optim.minibatch_sgd(least_squares, LSQ_START, wrt=LSQ_WRT, data=(A, B), lr=0.2,
                               batch_size=len(A), epochs=400, method="momentum", beta=0.8)
    np.testing.assert_allclose(full.params[0], W_star, atol=1e-9)
    np.testing.assert_allclose(full.params[1], c_star, atol=1e-9)
    # Noise-free targets: every minibatch shares the minimizer, so small batches converge too.
    # The data is column-major; the batches are gathered into row-major buffers all the same.
    A_f = np.asfortranarray(A)
    exact = A @ W_star + c_star
    small = optim.minibatch_sgd(least_squares, LSQ_START, wrt=LSQ_WRT, data=(A_f, exact),
                                lr=0.05, batch_size=16, epochs=150, method="momentum",
                                beta=0.9)
    np.testing.assert_allclose(small.params[0], W_star, atol=1e-8)
    np.testing.assert_allclose(small.params[1], c_star, atol=1e-8)
    assert small.params[2] == pytest.approx(1.0, abs=1e-8)
    assert small.history[-8:].max() < 1e-16 < small.history[0]


def test_integer_labels_stay_integers_and_index_the_classes():
    X, y = separable_set(200)
    X = np.column_stack([X, np.ones(len(X))])  # the last row of W holds the biases
    labels = y.astype(np.int64)
    res = optim.minibatch_sgd(cross_entropy, np.zeros((3, 2)), data=(X, labels), lr=0.1,
                              batch_size=16, epochs=10, method="adam")
    assert res.history[0] == pytest.approx(np.log(2.0), rel=1e-12)
    assert np.mean(np.argmax(X @ res.params, axis=1) == labels) >= 0.99
    assert cross_entropy(res.params, X, labels) < 0.1


def test_the_loops_are_compiled_once_per_loss():
    X, y = separable_set(50)
    optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), data=(X, y), batch_size=5, epochs=1)
    loops = dict(optim.loops._LOADED)
    counts = {key: len(loop.overloads) for key, loop in loops.items()}
    for method, seed in [("sgd", 1), ("momentum", 2), ("adam", 3)]:
        optim.minibatch_sgd(logistic, (np.ones(2), 1.0), data=(X[:20], y[:20]), lr=0.2,
                            batch_size=7, epochs=2, seed=seed, method=method)
    assert optim.loops._LOADED == loops
    assert {key: len(loop.overloads) for key, loop in loops.items()} == counts


# ---------------------------------------------------------------------------------------------
# Updates computed by hand


def test_gd_adam_first_two_steps_match_the_hand_computed_update():
    X, y = separable_set(50)
    w0, b0 = np.array([0.3, -0.2]), 0.1
    lr, b1, b2, eps = 0.05, 0.8, 0.95, 1e-6
    res = optim.gd(logistic, (w0, b0), args=(X, y), lr=lr, steps=2, method="adam", b1=b1,
                   b2=b2, eps=eps)
    w, b = w0.copy(), b0
    m = [np.zeros(2), 0.0]
    s = [np.zeros(2), 0.0]
    for t in (1, 2):
        g = logistic_gradient(w, b, X, y)
        new = []
        for k, (p, gk) in enumerate(zip((w, b), g, strict=True)):
            m[k] = b1 * m[k] + (1 - b1) * gk
            s[k] = b2 * s[k] + (1 - b2) * gk * gk
            m_hat, s_hat = m[k] / (1 - b1 ** t), s[k] / (1 - b2 ** t)
            new.append(p - lr * m_hat / (np.sqrt(s_hat) + eps))
        w, b = new
    np.testing.assert_allclose(res.params[0], w, rtol=1e-12)
    assert res.params[1] == pytest.approx(b, rel=1e-12)
    # The first Adam step moves every coordinate by lr (times g / (|g| + eps)).
    g0 = logistic_gradient(w0, b0, X, y)
    step1 = optim.gd(logistic, (w0, b0), args=(X, y), lr=lr, steps=1, method="adam")
    np.testing.assert_allclose(step1.params[0], w0 - lr * g0[0] / (np.abs(g0[0]) + 1e-8),
                               rtol=1e-12)


def test_minibatch_adam_first_step_uses_the_first_shuffled_batch():
    X, y = separable_set(40)
    w0, b0, lr = np.array([0.3, -0.2]), 0.1, 0.01
    res = optim.minibatch_sgd(logistic, (w0, b0), data=(X, y), lr=lr, batch_size=40,
                              epochs=1, seed=5, method="adam")
    rows = replayed_orders(40, 1, seed=5)[0]
    gw, gb = logistic_gradient(w0, b0, X[rows], y[rows])
    np.testing.assert_allclose(res.params[0], w0 - lr * gw / (np.abs(gw) + 1e-8), rtol=1e-12)
    assert res.params[1] == pytest.approx(b0 - lr * gb / (abs(gb) + 1e-8), rel=1e-12)
    assert res.history[0] == pytest.approx(logistic(w0, b0, X, y), rel=1e-13)


def test_gd_momentum_is_the_heavy_ball_update():
    X, y = separable_set(50)
    w0, b0, lr, beta = np.array([0.3, -0.2]), 0.1, 0.5, 0.7
    res = optim.gd(logistic, (w0, b0), args=(X, y), lr=lr, steps=3, method="momentum",
                   beta=beta)
    w, b, vw, vb = w0.copy(), b0, np.zeros(2), 0.0
    for _ in range(3):
        gw, gb = logistic_gradient(w, b, X, y)
        vw, vb = beta * vw + gw, beta * vb + gb
        w, b = w - lr * vw, b - lr * vb
    np.testing.assert_allclose(res.params[0], w, rtol=1e-12)
    assert res.params[1] == pytest.approx(b, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Shuffling and seeds


def test_each_epoch_visits_every_example_once_in_the_documented_order():
    # 7 examples in batches of 3: two full batches and one of 1 per epoch.
    n, batch_size, epochs, seed = 7, 3, 4, 11
    E = np.eye(n)
    c0 = 100.0 * np.arange(n)
    res = optim.minibatch_sgd(visits, c0, data=(E,), lr=1.0, batch_size=batch_size,
                              epochs=epochs, seed=seed)
    np.testing.assert_array_equal(res.params, c0 - epochs)  # one visit per example per epoch
    # Replay: the loss of a batch is the sum of c over it, before the batch's update.
    c = c0.copy()
    expected = []
    for order in replayed_orders(n, epochs, seed):
        assert sorted(order) == list(range(n))
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            expected.append(c[batch].sum())
            c[batch] -= 1.0
    np.testing.assert_array_equal(res.history, expected)
    orders = replayed_orders(n, epochs, seed)
    assert len({tuple(o) for o in orders}) > 1  # the order changes from epoch to epoch


def test_same_seed_same_result_and_another_seed_another():
    X, y = separable_set(100)
    kwargs = {"data": (X, y), "lr": 0.1, "batch_size": 8, "epochs": 3, "method": "adam"}
    first = optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), seed=42, **kwargs)
    again = optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), seed=42, **kwargs)
    other = optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), seed=43, **kwargs)
    np.testing.assert_array_equal(first.params[0], again.params[0])
    assert first.params[1] == again.params[1]
    np.testing.assert_array_equal(first.history, again.history)
    assert not np.array_equal(first.history, other.history)


def test_inputs_are_not_modified_and_results_are_fresh_arrays():
    X, y = separable_set(60)
    w0 = np.zeros(2)
    X_before, y_before = X.copy(), y.copy()
    res = optim.minibatch_sgd(logistic, (w0, 0.0), data=(X, y), lr=0.5, batch_size=10,
                              epochs=2)
    np.testing.assert_array_equal(w0, 0.0)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert not np.shares_memory(res.params[0], w0)


# ---------------------------------------------------------------------------------------------
# Errors


def _error(call, *fragments):
    with pytest.raises(adc.AdcompileError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_data_and_batch_size_are_checked():
    X, y = separable_set(20)
    start = (np.zeros(2), 0.0)
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y), batch_size=21),
           "batch_size=21 is larger than the data (20 examples)")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y), batch_size=0),
           "batch_size=0", "positive integer")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, 1.0)),
           "data for 'y' must be an array", "1.0")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=X), "tuple of arrays", "X, y")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X,)), "data has 1 array(s)")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y[:5])),
           "different lengths", "X: 20", "y: 5")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y.astype(str))),
           "data for 'y'", "<U")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y), batch_size=4, epochs=0),
           "epochs=0")
    _error(lambda: optim.minibatch_sgd(logistic, start, data=(X, y), batch_size=4, seed=-3),
           "seed=-3")


def test_parameter_shapes_that_do_not_fit_the_loss_are_reported():
    X, y = separable_set(20)
    err = _error(lambda: optim.minibatch_sgd(logistic, (np.zeros(3), 0.0), data=(X, y),
                                             batch_size=4),
                 "logistic() fails on the start values", "w: a float64 array of shape (3,)",
                 "X: a float64 array of shape (4, 2)")
    assert err.hint and "shapes" in err.hint
    _error(lambda: optim.gd(least_squares, (np.zeros((2, 2)), np.zeros(2), 0.0), wrt=LSQ_WRT,
                            args=regression_set(10)),
           "least_squares() fails", "W: a float64 array of shape (2, 2)")


def test_a_gradient_of_the_wrong_shape_is_reported_before_the_loop():
    problem = optim._Problem.build(logistic, (np.zeros(2), 0.0), None, "x0")
    params, _ = problem.buffers()
    X, y = separable_set(5)

    def wrong(w, b, X, y):
        return 0.5, (np.zeros(3), 0.0)

    _error(lambda: problem.check_gradient(wrong, params, (X, y), "data"),
           "with respect to 'w' has shape (3,), but the parameter has shape (2,)")


def test_a_loss_that_returns_an_array_is_reported():
    def residuals(x, A, b):
        return A @ x - b

    A, B = regression_set(10)
    _error(lambda: optim.gd(residuals, np.zeros(3), args=(A, B[:, 0])), "scalar")


def test_start_values_are_checked():
    X, y = separable_set(20)
    _error(lambda: optim.minibatch_sgd(logistic, (np.zeros(2), "b"), data=(X, y)),
           "x0 holds 'b'", "not a number")
    _error(lambda: optim.minibatch_sgd(logistic, (np.array([0.0, np.nan]), 0.0), data=(X, y)),
           "x0 holds an array of shape (2,)", "not finite")
    _error(lambda: optim.minibatch_sgd(logistic, (np.zeros(2), 0.0, 1.0, 2.0, 3.0),
                                       data=(X, y)), "x0 has 5 values")
    _error(lambda: optim.gd(logistic, np.zeros(2), args=(0.0, X, "y")), "args holds 'y'")


def test_methods_and_their_hyperparameters_are_checked():
    A, B = regression_set(10)

    def run(**kwargs):
        return lambda: optim.gd(least_squares, LSQ_START, wrt=LSQ_WRT, args=(A, B), steps=2,
                                **kwargs)

    _error(run(method="rmsprop"), "method='rmsprop'", "'momentum' or 'adam'")
    _error(run(method="adam", beta=0.9), "beta=0.9 is not used by method='adam'")
    _error(run(method="momentum", b1=0.9), "b1=0.9 is not used by method='momentum'")
    _error(run(b2=0.9), "b2=0.9 is not used by method='plain'")
    _error(run(method="momentum", beta=1.0), "beta=1.0", "[0, 1)")
    _error(run(method="adam", b2=-0.1), "b2=-0.1")
    _error(run(method="adam", eps=0.0), "eps=0.0", "positive")
    _error(run(method="adam", lr=-1.0), "lr=-1.0")


def test_sgd_points_array_parameters_to_minibatch_sgd():
    X, y = separable_set(20)
    _error(lambda: optim.sgd(logistic, (np.zeros(2), 0.0), data=(X, y)),
           "sgd takes float parameters", "'w'", "minibatch_sgd")


def test_a_gradient_that_changes_shape_in_a_later_step_is_reported(monkeypatch):
    # A stand-in for a faulty generated gradient: right for full batches of 3 only.
    @numba.njit
    def faulty(w, x):
        return 0.0, (np.zeros(x.shape[0]),)

    class Generated:
        def function(self, role):
            return faulty

    def loss(w, x):
        return np.sum(w) * np.sum(x)

    monkeypatch.setattr(optim, "generated", lambda f, wrt: Generated())
    _error(lambda: optim.minibatch_sgd(loss, np.zeros(3), data=(np.ones(7),), batch_size=3),
           "shape differs", "later step", "loss()")


# ---------------------------------------------------------------------------------------------
# Compilation


def test_a_cold_loop_compiles_the_gradient_once_inside_the_loop(tmp_path, monkeypatch):
    # the loop inlines the gradient: compiling it on its own as well (to call it from Python
    # before the loop, or as a callee linked into the loop) compiled and optimized the
    # gradient's code twice
    from numba.core import event

    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))

    def hinge(w, b, X, y):
        return np.mean(np.maximum(0.0, 1.0 - y * (X @ w + b))) + 0.01 * np.sum(w * w)

    X, y = separable_set(40)
    y = 2.0 * y - 1.0
    with event.install_recorder("numba:compile") as recorder:
        res = optim.minibatch_sgd(hinge, (np.zeros(2), 0.0), data=(X, y), lr=0.1,
                                  batch_size=8, epochs=3)
    compiled = [e.data["dispatcher"].py_func.__name__ for _, e in recorder.buffer
                if e.is_start and hasattr(e.data["dispatcher"], "py_func")]
    assert "minibatch_loop" in compiled
    assert not [name for name in compiled if "hinge" in name], compiled
    assert res.history[-1] < res.history[0]
