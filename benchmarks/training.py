"""Training end to end: an MLP 784-256-10 (softmax cross-entropy) by minibatch SGD, 5 epochs.

Run from the repository root (a few minutes on 2 cores; ``--rows`` to change the data size):

    python benchmarks/training.py [--rows 20000] [--epochs 5]

Each contender trains the same network from the same start on the same synthetic data
(``--rows`` rows of 784 features, 10 classes, float64 throughout), batch 128, plain SGD with
step 0.1, the minibatches drawn in the same order (``adcompile.optim.minibatch_sgd``'s
Fisher-Yates shuffle, which the others replay from a precomputed order), so their final
losses agree to rounding (checked).  Each runs in a **fresh process**; the time is from
before the first gradient is built to the end of the last step: compilation included,
interpreter start, imports and making the data not.

- adcompile: ``adc.optim.minibatch_sgd(mlp, (W1, b1, W2, b2), data=(X, T), ...)`` -- the
  gradient and the training loop generated and compiled by Numba.  Twice: *cold* (an empty
  adcompile cache: generation and compilation of the gradient and the loop; the package's
  own kernels are compiled once per install, as on any run after the first) and *warm* (a
  second process: everything read from the disk caches).
- hand NumPy: backprop written by hand (``benchmarks/models.py``'s ``mlp_hand``) in a Python
  loop over the minibatches.
- PyTorch eager (``loss.backward()`` and an in-place update per step) and JAX
  (``jax.jit(jax.value_and_grad(...))``, its compilation included) when installed.

Bar (issue: fast from the first call): the first run in a fresh process with a warm cache is
faster than PyTorch eager and JAX.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

BATCH = 128
LR = 0.1
SEED = 0


def mlp(W1, b1, W2, b2, X, T):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    lse = np.log(np.sum(np.exp(Z), axis=1))
    return -np.mean(np.sum(T * Z, axis=1) - lse)


def problem(rows: int):
    """Data with structure to learn (labels from a random linear map of the inputs) and the
    start, from one seeded generator."""
    rng = np.random.default_rng(SEED)
    X = rng.normal(size=(rows, 784))
    labels = np.argmax(X @ rng.normal(size=(784, 10)), axis=1)
    T = np.eye(10)[labels]
    params = (0.05 * rng.normal(size=(784, 256)), np.zeros(256),
              0.05 * rng.normal(size=(256, 10)), np.zeros(10))
    return params, X, T


def batches(rows: int, epochs: int) -> list[np.ndarray]:
    """The minibatches' row indices, in ``minibatch_sgd``'s order: each epoch shuffles
    ``order`` in place (for i from n - 1 down to 1, swap with ``rng.integers(0, i + 1)``)."""
    rng = np.random.default_rng(SEED)
    order = np.arange(rows)
    out = []
    for _ in range(epochs):
        for i in range(rows - 1, 0, -1):
            j = rng.integers(0, i + 1)
            order[i], order[j] = order[j], order[i]
        out.extend(order[k:k + BATCH].copy() for k in range(0, rows, BATCH))
    return out


def run_adcompile(params, X, T, epochs, order):
    import adcompile as adc
    t0 = time.perf_counter()
    res = adc.optim.minibatch_sgd(mlp, params, data=(X, T), lr=LR, batch_size=BATCH,
                                  epochs=epochs, seed=SEED, progress=False)
    return time.perf_counter() - t0, float(res.history[-1])


def run_numpy(params, X, T, epochs, order):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from models import mlp_hand
    W = [p.copy() for p in params]
    t0 = time.perf_counter()
    for idx in order:
        value, grads = mlp_hand(*W, X[idx], T[idx])
        for w, g in zip(W, grads, strict=True):
            w -= LR * g
    return time.perf_counter() - t0, float(value)


def run_torch(params, X, T, epochs, order):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    W = [torch.tensor(p, requires_grad=True) for p in params]
    tX, tT = torch.from_numpy(X), torch.from_numpy(T)
    torder = [torch.from_numpy(idx) for idx in order]
    t0 = time.perf_counter()
    for idx in torder:
        Xb, Tb = tX[idx], tT[idx]
        Z = torch.tanh(Xb @ W[0] + W[1]) @ W[2] + W[3]
        loss = -torch.mean(torch.sum(Tb * Z, dim=1) - torch.logsumexp(Z, dim=1))
        loss.backward()
        with torch.no_grad():
            for w in W:
                w -= LR * w.grad
                w.grad = None
    return time.perf_counter() - t0, float(loss)


def run_jax(params, X, T, epochs, order):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def jmlp(W, X, T):
        Z = jnp.tanh(X @ W[0] + W[1]) @ W[2] + W[3]
        return -jnp.mean(jnp.sum(T * Z, axis=1) - jax.nn.logsumexp(Z, axis=1))

    @jax.jit
    def step(W, X, T):
        value, grads = jax.value_and_grad(jmlp)(W, X, T)
        return value, tuple(w - LR * g for w, g in zip(W, grads, strict=True))

    W = tuple(jnp.asarray(p) for p in params)
    jX, jT = jnp.asarray(X), jnp.asarray(T)
    t0 = time.perf_counter()
    for idx in order:
        value, W = step(W, jX[idx], jT[idx])  # (the last batch is smaller: a 2nd compile)
    value.block_until_ready()
    return time.perf_counter() - t0, float(value)


RUNS = {"adcompile": run_adcompile, "numpy": run_numpy, "torch": run_torch, "jax": run_jax}


def child(tool: str, rows: int, epochs: int) -> None:
    params, X, T = problem(rows)
    order = batches(rows, epochs)
    seconds, last = RUNS[tool](params, X, T, epochs, order)
    print(json.dumps({"seconds": seconds, "last": last}))


def fresh(tool: str, rows: int, epochs: int, env: dict) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", tool,
                          "--rows", str(rows), "--epochs", str(epochs)],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"the {tool} process failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.epochs)
        return
    steps = args.epochs * -(-args.rows // BATCH)
    print(f"MLP 784-256-10, {args.rows} rows, batch {BATCH}, {args.epochs} epochs "
          f"({steps} steps), each run a fresh process; seconds from the first gradient "
          "built to the last step")
    times = {}
    with tempfile.TemporaryDirectory(prefix="adc-training-") as cache:
        env = dict(os.environ, ADCOMPILE_CACHE_DIR=cache)
        times["adcompile, cold cache"] = fresh("adcompile", args.rows, args.epochs, env)
        times["adcompile, warm cache"] = fresh("adcompile", args.rows, args.epochs, env)
    times["hand NumPy"] = fresh("numpy", args.rows, args.epochs, dict(os.environ))
    for tool, title in (("torch", "PyTorch eager"), ("jax", "JAX jit")):
        if importlib.util.find_spec(tool) is not None:
            times[title] = fresh(tool, args.rows, args.epochs, dict(os.environ))
    reference = times["hand NumPy"]["last"]
    for title, got in times.items():
        if abs(got["last"] - reference) > 1e-6 * max(1.0, abs(reference)):
            sys.exit(f"{title}: last loss {got['last']!r}, hand NumPy {reference!r}")
    warm = times["adcompile, warm cache"]["seconds"]
    print(f"{'':<24}{'seconds':>9}{'adcompile warm / it':>22}")
    for title, got in times.items():
        print(f"{title:<24}{got['seconds']:9.2f}{warm / got['seconds']:22.2f}")
    print(f"(last minibatch loss, all agree: {reference:.6f})")
    for title in ("PyTorch eager", "JAX jit"):
        if title in times:
            ratio = warm / times[title]["seconds"]
            print(f"bar: adcompile warm faster than {title}: {ratio:.2f} "
                  f"{'PASS' if ratio < 1 else 'MISS'}")


if __name__ == "__main__":
    main()
