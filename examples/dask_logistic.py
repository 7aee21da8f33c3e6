"""Logistic regression on a dask array of a million rows, trained on a Dask cluster.

The data (X: rows x features, y: 0/1 labels) are made on the workers, chunked by rows; they
never pass through this process.  Each gradient step runs adcompile's compiled gradient on
every chunk where the chunk lives (a task per chunk), adds the partial gradients up in a tree
of tasks, and updates the parameters here:

    res = adc.optim.gd(loss, (w0, b0), args=(X, y, LAM), lr=4.0, steps=20, client=client)

then minibatch SGD (Adam) over the chunks in a seeded random order, shuffled rows cut into
batches.  By default the script starts a LocalCluster of two worker processes on this
machine; ``--scheduler tcp://host:8786`` runs the same code on a real cluster instead.

    python examples/dask_logistic.py
    python examples/dask_logistic.py --rows 200000 --chunks 4 --compare
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

LAM = 1e-4  # the weight of the L2 penalty


def loss(w, b, X, y, lam):
    """Mean logistic loss of the linear model X @ w + b on 0/1 labels, plus an L2 penalty."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z) + lam * np.sum(w * w)


def make_data(rows: int, features: int, chunks: int, seed: int):
    """``(X, y, w_true, b_true)``: X standard normal, P(y = 1) = sigmoid(X @ w_true + b_true),
    both dask arrays of ``chunks`` row chunks, made on the workers."""
    import dask.array as da

    params = np.random.default_rng(seed)
    w_true = params.standard_normal(features) * (2.0 / np.sqrt(features))
    b_true = 0.5
    rng = da.random.default_rng(seed)
    per_chunk = -(-rows // chunks)
    X = rng.standard_normal((rows, features), chunks=(per_chunk, features))
    p = 1.0 / (1.0 + np.exp(-(X @ w_true + b_true)))
    y = (rng.random(rows, chunks=(per_chunk,)) < p).astype(np.float64)
    return X, y, w_true, b_true


def accuracy(w, b, X, y) -> float:
    return float(((X @ w + b > 0) == (y > 0.5)).mean().compute())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="examples")
    parser.add_argument("--features", type=int, default=50, help="columns of X")
    parser.add_argument("--chunks", type=int, default=8, help="row chunks of the data")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the LocalCluster")
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler to use, tcp://host:8786 "
                        "(default: none, a LocalCluster of --workers processes here)")
    parser.add_argument("--steps", type=int, default=20, help="full-batch GD steps")
    parser.add_argument("--lr", type=float, default=4.0, help="GD step size")
    parser.add_argument("--epochs", type=int, default=1, help="minibatch SGD epochs")
    parser.add_argument("--batch-size", type=int, default=50_000, help="rows per SGD step")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data and of SGD")
    parser.add_argument("--compare", action="store_true",
                        help="also time the in-memory gradient on the same data (fetched "
                        "into this process)")
    args = parser.parse_args(argv)

    from dask.distributed import Client, LocalCluster

    start = time.perf_counter()
    if args.scheduler:
        cluster = None
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        workers = len(client.scheduler_info()["workers"])
        print(f"cluster: {workers} workers ({args.scheduler or 'a LocalCluster here'}), "
              f"ready in {time.perf_counter() - start:.1f} s")
        X, y, w_true, b_true = make_data(args.rows, args.features, args.chunks, args.seed)
        start = time.perf_counter()
        X, y = client.persist([X, y])
        client.gather(client.futures_of(y))
        print(f"data: X {args.rows:,} x {args.features} ({X.nbytes / 1e6:.0f} MB) and y in "
              f"{len(X.chunks[0])} row chunks, made on the workers in "
              f"{time.perf_counter() - start:.1f} s\n")

        w0, b0 = np.zeros(args.features), 0.0
        vg = adc.optim.dask_value_and_grad(loss, wrt=("w", "b"))
        start = time.perf_counter()
        vg(w0, b0, X, y, LAM, client=client)
        first = time.perf_counter() - start
        local = None
        if args.compare:  # the same data in this process, and its in-memory gradient
            Xm, ym = client.compute([X, y], sync=True)
            local = adc.value_and_grad(loss, wrt=("w", "b"))
            local(w0, b0, Xm, ym, LAM)
        times: dict[str, list[float]] = {"cluster": [], "memory": []}
        for _ in range(7):  # interleaved, so that both see the same machine
            start = time.perf_counter()
            value, (d_w, d_b) = vg(w0, b0, X, y, LAM, client=client)
            times["cluster"].append(time.perf_counter() - start)
            if local is not None:
                start = time.perf_counter()
                local_value, (local_w, _) = local(w0, b0, Xm, ym, LAM)
                times["memory"].append(time.perf_counter() - start)
        print(f"one full-batch gradient on the cluster: {np.median(times['cluster']) * 1e3:.0f} "
              f"ms (median of 7; the first call, with generating and loading: {first:.1f} s)")
        if local is not None:
            print(f"the same gradient in this process, in memory: "
                  f"{np.median(times['memory']) * 1e3:.0f} ms (largest difference "
                  f"{np.max(np.abs(local_w - d_w)):.1e})")
            del Xm, ym

        start = time.perf_counter()
        res = adc.optim.gd(loss, (w0, b0), args=(X, y, LAM), lr=args.lr, steps=args.steps,
                           client=client)
        took = time.perf_counter() - start
        w, b = res.params
        print(f"\nfull-batch GD, lr {args.lr:g}, {res.steps} steps in {took:.1f} s: loss "
              f"{res.history[0]:.4f} -> {res.history[-1]:.4f}, accuracy "
              f"{accuracy(w, b, X, y):.1%}, |w - w_true| / |w_true| = "
              f"{np.linalg.norm(w - w_true) / np.linalg.norm(w_true):.3f}")

        start = time.perf_counter()
        res = adc.optim.minibatch_sgd(loss, (w0, b0), data=(X, y, LAM), lr=0.05,
                                      batch_size=args.batch_size, epochs=args.epochs,
                                      seed=args.seed, method="adam", client=client)
        took = time.perf_counter() - start
        w, b = res.params
        print(f"minibatch SGD (Adam, lr 0.05), batches of {args.batch_size:,} rows, "
              f"{res.steps} steps in {took:.1f} s: batch loss {res.history[0]:.4f} -> "
              f"{res.history[-1]:.4f}, accuracy {accuracy(w, b, X, y):.1%}")
        print(f"true parameters: accuracy {accuracy(w_true, b_true, X, y):.1%}")

        loads = client.run(adc.optim.distributed.loaded_modules)
        counts = [sum(m["loads"] for m in per.values()) for per in loads.values()]
        compiled = [sum(m["compiled"] for m in per.values()) for per in loads.values()]
        print(f"\nmodules loaded per worker: {counts}; compiled there by Numba: {compiled} "
              "(0: read from the disk cache the driver filled)")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
