"""Scale: gradients on every core (parallel=True) and bounded tape memory (checkpoints=N).

Run from the repository root (about two minutes on 2 cores; ``--quick`` for fewer rounds):

    python benchmarks/scale.py [--quick]

1. Multi-core gradients of sums over rows, BLAS on one thread for every NumPy/Numba
   contender (set below, before NumPy loads; PyTorch keeps its own default threads):
   - logistic regression, X 100,000 x 50, mean log-loss;
   - MLP 784-256-10, tanh, softmax cross-entropy, batch 1024.
   Contenders: the serial generated value-and-gradient, the same with ``parallel=True``, and
   PyTorch eager (``loss.backward()``) when installed.  Bar (issue 12): parallel at least
   1.7 x faster than serial, and faster than PyTorch.
2. Checkpointing: the Euler logistic ODE of ``ode_euler.py`` at 10**7 steps, the gradient
   recorded at every step against ``checkpoints=3163`` (about the square root of the steps).
   Bar: tape bytes at most 1 % of store-all, time at most 3 x.

Every time is a median over rounds; each round calls every contender once, back to back, and
a ratio is the median of the per-round ratios (performance.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import numba  # noqa: E402
import numpy as np  # noqa: E402

import adcompile as adc  # noqa: E402


def logistic(w, b, X, y):
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, -y * z))


def mlp(W1, b1, W2, b2, X, T):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    lse = np.log(np.sum(np.exp(Z), axis=1))
    return -np.mean(np.sum(T * Z, axis=1) - lse)


def euler(r, x0, n, dt):
    x = x0
    for _ in range(n):
        x = x + dt * r * x * (1.0 - x)
    return x


def logistic_problem(rng):
    X = rng.normal(size=(100_000, 50))
    y = np.sign(X @ rng.normal(size=50) + 0.1 * rng.normal(size=100_000))
    return (0.01 * rng.normal(size=50), 0.0, X, y)


def mlp_problem(rng):
    X = rng.normal(size=(1024, 784))
    T = np.eye(10)[rng.integers(0, 10, size=1024)]
    return (0.05 * rng.normal(size=(784, 256)), np.zeros(256),
            0.05 * rng.normal(size=(256, 10)), np.zeros(10), X, T)


def torch_runner(which, args):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    t = [torch.tensor(a, dtype=torch.float64) for a in args]
    if which == "logistic":
        w, b, X, y = t
        w.requires_grad_()
        b.requires_grad_()
        params = (w, b)

        def loss():
            z = X @ w + b
            return torch.mean(torch.logaddexp(torch.zeros_like(z), -y * z))
    else:
        W1, b1, W2, b2, X, T = t
        params = (W1, b1, W2, b2)
        for p in params:
            p.requires_grad_()

        def loss():
            H = torch.tanh(X @ W1 + b1)
            Z = H @ W2 + b2
            return -torch.mean(torch.sum(T * Z, dim=1) - torch.logsumexp(Z, dim=1))

    def run():
        for p in params:
            p.grad = None
        value = loss()
        value.backward()
        return float(value.detach()), tuple(p.grad.numpy() for p in params)

    return run


def rounds(runs: dict, count: int) -> dict:
    times = {name: [] for name in runs}
    for _ in range(count):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def agree(name, got, want, rtol=1e-9):
    got_v, got_g = got
    want_v, want_g = want
    ok = abs(got_v - want_v) <= rtol * abs(want_v) and all(
        np.allclose(a, b, rtol=rtol, atol=1e-12) for a, b in zip(got_g, want_g, strict=True))
    if not ok:
        sys.exit(f"{name}: the parallel gradient differs from the serial one")


def multicore(count: int) -> None:
    rng = np.random.default_rng(0)
    print(f"threads: Numba {numba.get_num_threads()}, BLAS 1 (env)")
    has_torch = importlib.util.find_spec("torch") is not None
    for which, f, wrt, args in (
            ("logistic", logistic, ("w", "b"), logistic_problem(rng)),
            ("mlp", mlp, ("W1", "b1", "W2", "b2"), mlp_problem(rng))):
        serial = adc.value_and_grad(f, wrt=wrt)
        parallel = adc.value_and_grad(f, wrt=wrt, parallel=True)
        agree(which, parallel(*args), serial(*args))
        runs = {"serial": lambda s=serial, a=args: s(*a),
                "parallel": lambda p=parallel, a=args: p(*a)}
        if has_torch:
            runs["pytorch"] = torch_runner(which, args)
            agree(which + " (pytorch)", runs["pytorch"](), serial(*args), rtol=1e-7)
        times = rounds(runs, count)
        line = [f"{which:9s}"]
        for name, t in times.items():
            line.append(f"{name} {np.median(t) * 1e3:8.2f} ms")
        speedup = np.median(times["serial"] / times["parallel"])
        line.append(f"| serial / parallel {speedup:.2f} (bar >= 1.7)")
        if has_torch:
            versus = np.median(times["pytorch"] / times["parallel"])
            line.append(f"| pytorch / parallel {versus:.2f} (bar > 1)")
        print("  ".join(line))
    if not has_torch:
        print("PyTorch not installed: its column is skipped (pip install -e '.[bench-torch]')")


def checkpointing(count: int) -> None:
    n, dt = 10_000_000, 1e-7
    args = (1.0, 0.5, n, dt)
    store_all = adc.grad(euler, wrt=("r", "x0"))
    held = adc.grad(euler, wrt=("r", "x0"), checkpoints=3163)
    a, b = store_all(*args), held(*args)
    if not np.allclose(a, b, rtol=1e-12):
        sys.exit("checkpointed gradient differs")
    full, cut = store_all.tape_bytes(*args), held.tape_bytes(*args)
    times = rounds({"store-all": lambda: store_all(*args), "checkpoints": lambda: held(*args)},
                   count)
    ratio = np.median(times["checkpoints"] / times["store-all"])
    print(f"euler 10^7 steps: tape bytes store-all {full:,}, checkpoints=3163 {cut:,} "
          f"({100 * cut / full:.3f} %, bar <= 1 %); time store-all "
          f"{np.median(times['store-all']) * 1e3:.0f} ms, checkpoints "
          f"{np.median(times['checkpoints']) * 1e3:.0f} ms, ratio {ratio:.2f} (bar <= 3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    options = parser.parse_args()
    count = 5 if options.quick else 21
    multicore(count)
    checkpointing(max(3, count // 3))


if __name__ == "__main__":
    main()
