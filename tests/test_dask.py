"""Gradients and training on data held as dask arrays, on a LocalCluster of two worker
processes (loopback only).

Oracles: the in-memory gradient (``adc.value_and_grad``, which does not split anything), the
in-memory optimizers, and the least-squares solution of NumPy.
"""

import importlib.util
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
from dask.distributed import Client, LocalCluster

import adcompile as adc
from adcompile import codegen
from adcompile.optim import distributed

CHUNKS = (170, 430, 95, 305)  # uneven row chunks: 1000 rows
N = sum(CHUNKS)
WEIGHTS = np.array([1.5, -2.0, 0.5, 0.0, 1.0])  # a module-level constant the loss reads


def logistic(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def ridge(w, X, y, lam):
    r = X @ w - y
    return np.sum(r * r) + lam * np.sum((w - WEIGHTS) ** 2)


def mse(w, b, X, y):
    r = X @ w + b - y
    return np.mean(r * r)


def spread(w, X):
    z = X @ w
    return np.max(z) - np.min(z)


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, \
            Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, 5))
    y_class = (X @ WEIGHTS + 0.3 + rng.standard_normal(N) > 0).astype(np.float64)
    y_real = X @ WEIGHTS + 0.3 + 0.05 * rng.standard_normal(N)
    return X, y_class, y_real


def chunked(a, chunks=CHUNKS):
    return da.from_array(a, chunks=(chunks, *a.shape[1:]))


# --------------------------------------------------------------------------------------------
# (a) the gradient on the cluster is the in-memory one


def test_mean_loss_gradient_equals_the_in_memory_one(client, data):
    X, y, _ = data
    w, b = np.array([0.3, -0.2, 0.1, 0.5, -0.4]), 0.25
    expected_value, (expected_w, expected_b) = adc.value_and_grad(logistic, wrt=(0, 1))(
        w, b, X, y)
    vg = adc.optim.dask_value_and_grad(logistic, wrt=(0, 1))
    value, (d_w, d_b) = vg(w, b, chunked(X), chunked(y), client=client)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(d_w, expected_w, rtol=1e-10, atol=1e-14)
    assert d_b == pytest.approx(expected_b, rel=1e-10)
    # the same again (the module is loaded), and with Dask's scheduler in this process
    again = vg(w, b, chunked(X), chunked(y), client=client)
    np.testing.assert_array_equal(again[1][0], d_w)
    local_value, (local_w, _) = vg(w, b, chunked(X), chunked(y))
    assert local_value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(local_w, expected_w, rtol=1e-10, atol=1e-14)


def test_sum_loss_with_a_penalty_counts_the_penalty_once(client, data):
    X, _, y = data
    w, lam = np.array([0.1, 0.2, -0.3, 0.4, 0.0]), 0.7
    expected_value, expected_w = adc.value_and_grad(ridge)(w, X, y, lam)
    # y chunked differently from X: rechunked to X's chunks
    value, d_w = adc.optim.dask_value_and_grad(ridge)(
        w, chunked(X), chunked(y, (500, 500)), lam, client=client)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(d_w, expected_w, rtol=1e-10)


def test_parameters_too_large_to_embed_travel_as_a_task_of_their_own(client, data,
                                                                     monkeypatch):
    X, y, _ = data
    monkeypatch.setattr(distributed, "EMBED_BYTES", 0)
    w, b = np.array([-0.3, 0.2, 0.1, 0.05, 0.4]), -0.5
    expected_value, (expected_w, expected_b) = adc.value_and_grad(logistic, wrt=(0, 1))(
        w, b, X, y)
    value, (d_w, d_b) = adc.optim.dask_value_and_grad(logistic, wrt=(0, 1))(
        w, b, chunked(X), chunked(y), client=client)
    assert value == pytest.approx(expected_value, rel=1e-12)
    np.testing.assert_allclose(d_w, expected_w, rtol=1e-10, atol=1e-14)
    assert d_b == pytest.approx(expected_b, rel=1e-10)


# --------------------------------------------------------------------------------------------
# (b) training converges; full-batch GD is the in-memory GD


def test_gd_on_dask_data_takes_the_steps_of_in_memory_gd(client, data):
    X, _, y = data
    x0 = (np.zeros(5), 0.0)
    res = adc.optim.gd(mse, x0, args=(chunked(X), chunked(y)), lr=0.4, steps=30,
                       client=client)
    ref = adc.optim.gd(mse, x0, args=(X, y), lr=0.4, steps=30)
    assert res.steps == 30 and res.history.shape == (30,)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-10)
    np.testing.assert_allclose(res.params[0], ref.params[0], rtol=1e-9)
    assert res.params[1] == pytest.approx(ref.params[1], rel=1e-9)
    assert res.history[-1] < res.history[0] / 100
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(N)]), y, rcond=None)[0]
    np.testing.assert_allclose(res.params[0], solution[:5], atol=5e-3)


def test_minibatch_sgd_over_chunks_reaches_the_least_squares_solution(client, data):
    X, _, y = data
    res = adc.optim.minibatch_sgd(mse, (np.zeros(5), 0.0), data=(chunked(X), chunked(y)),
                                  lr=0.05, batch_size=100, epochs=6, seed=3, method="adam",
                                  client=client)
    per_epoch = sum(-(-c // 100) for c in CHUNKS)  # one chunk per step: batches per chunk
    assert res.steps == len(res.history) == 6 * per_epoch
    assert np.mean(res.history[-per_epoch:]) < res.history[0] / 20
    solution = np.linalg.lstsq(np.column_stack([X, np.ones(N)]), y, rcond=None)[0]
    np.testing.assert_allclose(res.params[0], solution[:5], atol=0.05)
    assert res.params[1] == pytest.approx(solution[5], abs=0.05)
    again = adc.optim.minibatch_sgd(mse, (np.zeros(5), 0.0), data=(chunked(X), chunked(y)),
                                    lr=0.05, batch_size=100, epochs=6, seed=3, method="adam",
                                    client=client)
    np.testing.assert_array_equal(again.history, res.history)  # seeded


def test_minibatches_of_every_chunk_whole_are_full_batch_steps(client, data):
    X, _, y = data
    seen = []
    res = adc.optim.minibatch_sgd(mse, (np.zeros(5), 0.0), data=(chunked(X), chunked(y)),
                                  lr=0.1, batch_size=None, chunks_per_step=len(CHUNKS),
                                  epochs=4, client=client, callback=seen.append,
                                  callback_every=2)
    ref = adc.optim.gd(mse, (np.zeros(5), 0.0), args=(X, y), lr=0.1, steps=4)
    np.testing.assert_allclose(res.history, ref.history, rtol=1e-10)
    np.testing.assert_allclose(res.params[0], ref.params[0], rtol=1e-9)
    assert [info.step for info in seen] == [2, 4]
    assert seen[0].loss == pytest.approx(ref.history[1], rel=1e-10)
    stopped = adc.optim.gd(mse, (np.zeros(5), 0.0), args=(chunked(X), chunked(y)), lr=0.1,
                           steps=10, client=client, callback=lambda info: info.step >= 3,
                           callback_every=1)
    assert stopped.stopped and stopped.steps == 3 and len(stopped.history) == 3
    np.testing.assert_allclose(stopped.history, ref.history[:3], rtol=1e-10)


def test_an_epoch_uses_every_row_once():
    lengths = (7, 3, 12)
    schedule = distributed._Schedule(lengths, batch_size=4, chunks_per_step=2, epochs=3,
                                     seed=1)
    steps = list(schedule)
    assert len(steps) == schedule.steps
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    used = []
    for selection, rows in steps:
        assert 1 <= rows <= 4
        picked = [offsets[c] + (np.arange(lengths[c]) if p is None else p)
                  for c, p in selection]
        assert sum(len(p) for p in picked) == rows
        used.extend(np.concatenate(picked))
    per_epoch = np.reshape(used, (3, sum(lengths)))
    for epoch in per_epoch:
        assert sorted(epoch) == list(range(sum(lengths)))
    assert [s[1] for s in distributed._Schedule(lengths, 4, 2, 3, seed=1)] == \
        [s[1] for s in steps]


# --------------------------------------------------------------------------------------------
# (c) a worker loads the module once and compiles nothing per task


def test_each_worker_loads_a_module_once(client, data):
    X, y, _ = data
    vg = adc.optim.dask_value_and_grad(logistic, wrt=(0, 1))
    for k in range(6):
        vg(np.full(5, 0.1 * k), 0.0, chunked(X), chunked(y), client=client)
    adc.optim.gd(logistic, (np.zeros(5), 0.0), args=(chunked(X), chunked(y)), lr=0.5,
                 steps=5, client=client)
    split = next(iter(vg.splits.values()))
    per_worker = client.run(distributed.loaded_modules)
    assert len(per_worker) == 2
    ran = [modules[split.shipped.key] for modules in per_worker.values()
           if split.shipped.key in modules]
    assert ran, per_worker
    assert sum(stats["tasks"] for stats in ran) >= 7 * len(CHUNKS)
    for stats in ran:
        assert stats["loads"] == 1
        assert stats["signatures"] == 1
        assert stats["compiled"] + stats["from_cache"] == 1


def test_a_worker_without_the_file_writes_it_from_the_shipped_text(data, tmp_path,
                                                                   monkeypatch):
    X, y, _ = data
    vg = adc.optim.dask_value_and_grad(logistic, wrt=(0, 1))
    w, b = np.full(5, 0.2), -0.1
    expected = vg(w, b, chunked(X), chunked(y))
    shipped = next(iter(vg.splits.values())).shipped
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    function = distributed._load(shipped)
    written = tmp_path / shipped.filename
    assert written.exists()
    assert codegen._read(written, dict(shipped.names))[0] == shipped.text
    value, (d_w, d_b) = function(w, b, X, y, N, 1.0)
    assert value == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(d_w, expected[1][0], rtol=1e-10)


# --------------------------------------------------------------------------------------------
# (d) clear errors


def error_of(call, *args, **kwargs):
    with pytest.raises(adc.AdcompileError) as info:
        call(*args, **kwargs)
    return str(info.value)


def test_data_chunked_along_columns_is_refused(data):
    X, y, _ = data
    message = error_of(adc.optim.dask_value_and_grad(logistic, wrt=(0, 1)), np.zeros(5), 0.0,
                       da.from_array(X, chunks=(250, 2)), chunked(y))
    assert "split along axis 1" in message and "rechunk" in message


def test_row_counts_that_disagree_are_refused(data):
    X, y, _ = data
    message = error_of(adc.optim.gd, logistic, (np.zeros(5), 0.0),
                       args=(chunked(X), da.from_array(y[:900], chunks=300)))
    assert "different numbers of rows" in message and "X: 1000" in message
    assert "y: 900" in message


def test_a_loss_that_is_not_a_sum_over_rows_is_refused(data):
    X, _, _ = data
    message = error_of(adc.optim.dask_value_and_grad(spread), np.ones(5), chunked(X))
    assert "not a sum or mean over the rows" in message and "Hint:" in message


def test_parameters_that_do_not_fit_the_data_are_named_before_any_task(data):
    X, y, _ = data
    message = error_of(adc.optim.gd, logistic, (np.zeros(3), 0.0),
                       args=(chunked(X), chunked(y)))
    assert "loss" in message.lower() or "shape" in message
    assert "Hint:" in message


def test_dask_options_without_dask_data_are_errors(data):
    X, y, _ = data
    message = error_of(adc.optim.gd, mse, (np.zeros(5), 0.0), args=(X, y), client=object())
    assert "client= is for data held as dask arrays" in message
    message = error_of(adc.optim.minibatch_sgd, mse, (np.zeros(5), 0.0), data=(X, y),
                       chunks_per_step=2)
    assert "chunks_per_step=" in message and "arrays of data= as dask arrays" in message
    message = error_of(adc.optim.gd, mse, (np.zeros(5), 0.0), args=(chunked(X), chunked(y)),
                       parallel=True)
    assert "parallel=True" in message and "workers" in message


def test_a_differentiated_parameter_given_a_dask_array_is_refused(data):
    X, y, _ = data
    message = error_of(adc.optim.dask_value_and_grad(logistic, wrt=(0, 1)),
                       chunked(np.zeros((N, 5))), 0.0, chunked(X), chunked(y))
    assert "'w' is differentiated" in message


# --------------------------------------------------------------------------------------------
# The example, on this cluster through its scheduler address (as on a real cluster)


def test_the_example_trains_on_a_cluster_given_by_address(client, capsys):
    path = Path(__file__).resolve().parents[1] / "examples" / "dask_logistic.py"
    spec = importlib.util.spec_from_file_location("adcompile_example_dask_logistic", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--rows", "20000", "--features", "5", "--chunks", "4", "--steps", "10",
                  "--batch-size", "2500", "--scheduler", client.scheduler.address])
    out = capsys.readouterr().out
    assert "cluster: 2 workers" in out
    assert "full-batch GD" in out and "minibatch SGD" in out
    first, last = (float(v) for v in
                   out.split("full-batch GD")[1].split("loss ")[1].split(",")[0].split(" -> "))
    assert last < first
