"""The gradient of an MLP 2-16-1 mean-squared loss: generated vs hand-written Numba backprop.

Run from the repository root (about 30 s on 2 cores; ``--quick`` for fewer repeats,
``--source`` to print the generated gradient being measured):

    python benchmarks/mlp.py [--quick] [--source]

The loss, over a minibatch X (n x 2), y (n):

    H = tanh(X @ W1 + b1);  yhat = H @ W2 + b2;  L = mean((yhat - y) ** 2)

and its gradient w.r.t. (W1, b1, W2, b2), at batch sizes 32 and 1024, by

- ``adc.grad(loss, wrt=("W1", "b1", "W2", "b2"))``: the generated code;
- backprop written by hand in Numba, twice: with loops fused over the batch (one pass over the
  rows, nothing allocated but the gradient), and vectorised with ``np.dot`` the way the
  forward is written; the faster of the two (by its fastest block) is the reference;
- JAX ``jit(grad)`` and autograd, when installed (``pip install -e ".[bench]"``).

All gradients are checked against each other first.  Numba functions are timed inside an
``@numba.njit`` loop that calls them back to back (how a training loop calls them; a call
from Python adds about a microsecond of argument unboxing, shown in its own column); JAX and
autograd are called from Python, the way they are used.  Each repeat times a short block of
calls of every contender, in random order; a time is the median over the repeats, a ratio the
median of the per-repeat ratios.  Bar (performance.md): generated <= 1.3 x hand-written at both
sizes, in njit.  The verdict reads the ratio of CPU time (this thread's): every Numba contender
runs on the calling thread (BLAS calls this small stay on it), so its CPU time is its work,
while wall-clock time also counts the moments other work on the machine held the core -- on a
shared 2-core machine that noise comes in bursts of tens of milliseconds.  The wall-clock ratio
is printed beside it; on a quiet machine the two agree.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from typing import NamedTuple

import numba
import numpy as np

import adcompile as adc

HIDDEN = 16
BATCHES = (32, 1024)
SEED = 0
BAR = 1.3
BLOCK_SECONDS = 0.003  # length of one timed block of calls


# --------------------------------------------------------------------------------------------
# The loss and its gradients


def loss(W1, b1, W2, b2, X, y):
    H = np.tanh(X @ W1 + b1)
    yhat = H @ W2 + b2
    return np.mean((yhat - y) ** 2)


@numba.njit
def hand_loops(W1, b1, W2, b2, X, y):
    """Backprop fused over the batch: row by row, forward then backward, accumulating."""
    n, d = X.shape
    h = W1.shape[1]
    d_W1 = np.zeros((d, h))
    d_b1 = np.zeros(h)
    d_W2 = np.zeros(h)
    d_b2 = 0.0
    H = np.empty(h)
    scale = 2.0 / n
    for i in range(n):
        yhat = b2
        for j in range(h):
            a = b1[j]
            for k in range(d):
                a += X[i, k] * W1[k, j]
            H[j] = math.tanh(a)
            yhat += H[j] * W2[j]
        r = scale * (yhat - y[i])  # dL/dyhat_i
        d_b2 += r
        for j in range(h):
            d_W2[j] += r * H[j]
            d_a = r * W2[j] * (1.0 - H[j] * H[j])  # dL/da_ij, a = X @ W1 + b1
            d_b1[j] += d_a
            for k in range(d):
                d_W1[k, j] += X[i, k] * d_a
    return d_W1, d_b1, d_W2, d_b2


@numba.njit
def hand_dot(W1, b1, W2, b2, X, y):
    """Backprop vectorised: the forward as written, then the chain rule with np.dot."""
    H = np.tanh(np.dot(X, W1) + b1)
    r = (2.0 / X.shape[0]) * (np.dot(H, W2) + b2 - y)  # dL/dyhat
    d_A = np.outer(r, W2) * (1.0 - H * H)  # dL/d(X @ W1 + b1)
    return np.dot(X.T, d_A), d_A.sum(axis=0), np.dot(H.T, r), r.sum()


@numba.njit
def repeat(grad, W1, b1, W2, b2, X, y, calls):
    """``calls`` gradient calls back to back, every result read so none is optimized away."""
    acc = 0.0
    for _ in range(calls):
        d_W1, d_b1, d_W2, d_b2 = grad(W1, b1, W2, b2, X, y)
        acc += d_W1[0, 0] + d_b1[0] + d_W2[0] + d_b2
    return acc


def problem(n: int, seed: int = SEED):
    """Parameters and a minibatch of n rows, the targets a smooth function of the inputs."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((2, HIDDEN)) / math.sqrt(2.0)
    b1 = 0.1 * rng.standard_normal(HIDDEN)
    W2 = rng.standard_normal(HIDDEN) / math.sqrt(HIDDEN)
    b2 = 0.1
    X = rng.standard_normal((n, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1])
    return W1, b1, W2, b2, X, y


# --------------------------------------------------------------------------------------------
# Optional peers: each returns (gradient function, conversion of the arguments for it)


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def jax_grad():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def jloss(W1, b1, W2, b2, X, y):
        H = jnp.tanh(X @ W1 + b1)
        return jnp.mean((H @ W2 + b2 - y) ** 2)

    g = jax.jit(jax.grad(jloss, argnums=(0, 1, 2, 3)))

    def call(W1, b1, W2, b2, X, y):
        return jax.block_until_ready(g(W1, b1, W2, b2, X, y))

    def convert(args):
        return tuple(jnp.asarray(a) for a in args)

    return call, convert


def autograd_grad():
    import autograd
    import autograd.numpy as anp

    def aloss(W1, b1, W2, b2, X, y):
        H = anp.tanh(anp.dot(X, W1) + b1)
        return anp.mean((anp.dot(H, W2) + b2 - y) ** 2)

    return autograd.grad(aloss, (0, 1, 2, 3)), lambda args: args


PEERS = {"JAX jit(grad)": ("jax", jax_grad), "autograd": ("autograd", autograd_grad)}


# --------------------------------------------------------------------------------------------
# Measuring


def check_agreement(name: str, got, want, rtol: float = 1e-10) -> None:
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape or not np.allclose(g, w, rtol=rtol, atol=1e-14):
            err = np.max(np.abs(g - w)) if g.shape == w.shape else f"shape {g.shape}"
            raise SystemExit(f"{name}: gradient {k} disagrees with the hand-written one "
                             f"(max abs difference {err})")


def calls_per_block(run_one, seconds: float) -> int:
    """How many calls make a block of about ``seconds`` (after one warm-up call, which may
    compile)."""
    run_one(1)
    calls = 1
    while True:
        t0 = time.perf_counter()
        run_one(calls)
        elapsed = time.perf_counter() - t0
        if elapsed > seconds / 4 or calls >= 1 << 22:
            return max(1, int(calls * seconds / max(elapsed, 1e-9)))
        calls *= 4


def interleaved(runs: dict, repeats: int) -> dict:
    """Microseconds per call of each ``run(calls)``, per repeat: ``{name: (wall, cpu)}``.

    Each repeat times one short block of every run, in a fresh random order, so that the
    machine's noise hits all alike.  CPU time is this thread's (``time.thread_time``): on a
    machine shared with other work it leaves out the time spent waiting for a core.
    """
    sizes = {name: calls_per_block(run, BLOCK_SECONDS) for name, run in runs.items()}
    samples = {name: np.empty((2, repeats)) for name in runs}
    order = list(runs)
    rng = np.random.default_rng(SEED)
    for r in range(repeats):
        rng.shuffle(order)
        for name in order:
            t0, c0 = time.perf_counter(), time.thread_time()
            runs[name](sizes[name])
            c1, t1 = time.thread_time(), time.perf_counter()
            samples[name][:, r] = (t1 - t0, c1 - c0)
            samples[name][:, r] *= 1e6 / sizes[name]
    return samples


class Timing(NamedTuple):
    """One gradient's figures: us per call (medians of wall-clock and CPU time, best wall-clock
    block), and its ratios to the reference: the median over the repeats of the ratio of the
    two blocks of the same repeat, in wall-clock and in CPU time."""

    median: float
    cpu: float
    best: float
    ratio: float
    cpu_ratio: float


def summarize(samples: dict, names: list, reference_names: list,
              by_cpu: bool = True) -> tuple[dict, tuple]:
    """Timings of ``names`` against the fastest of ``reference_names``: the one with the
    fastest block, in CPU time (or wall-clock time)."""
    reference = min(reference_names, key=lambda name: np.min(samples[name][int(by_cpu)]))
    ref = samples[reference]
    timings = {name: Timing(*(float(np.median(samples[name][i])) for i in (0, 1)),
                            float(np.min(samples[name][0])),
                            *(float(np.median(samples[name][i] / ref[i])) for i in (0, 1)))
               for name in names}
    return timings, reference


def in_njit(grad, args):
    return lambda calls: repeat(grad, *args, calls)


def from_python(grad, args):
    def run(calls):
        for _ in range(calls):
            grad(*args)
    return run


def blas_note() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS: threadpoolctl not installed"
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
            f"x{i.get('num_threads')}" for i in threadpool_info() if i.get("user_api") == "blas"]
    return "BLAS: " + ("; ".join(blas) or "none loaded")


CONTENDERS = ("generated", "hand loops", "hand np.dot")


def measure(n: int, dloss, peers: dict, repeats: int) -> tuple[dict, dict, dict, str]:
    """Check every gradient at batch ``n`` against ``hand_loops``, then time them.

    The Numba gradients run in one interleaved run, each called in an ``@numba.njit`` loop and
    from Python; the peers run in a second one beside the faster hand-written gradient called
    from Python (so that JAX's worker threads do not disturb the first).  Returns the timings
    in njit, from Python and of the peers, and the name of the reference in njit.
    """
    args = problem(n)
    want = hand_loops(*args)
    grads = dict(zip(CONTENDERS, (dloss, hand_loops, hand_dot), strict=True))
    runs = {}
    for name, grad in grads.items():
        check_agreement(name, grad(*args), want)
        runs[name, "njit"] = in_njit(grad, args)
        runs[name, "python"] = from_python(grad, args)
    samples = interleaved(runs, repeats)
    njit, hand = summarize(samples, [(g, "njit") for g in CONTENDERS],
                           [(g, "njit") for g in CONTENDERS[1:]])
    python, hand_py = summarize(samples, [(g, "python") for g in CONTENDERS],
                                [(g, "python") for g in CONTENDERS[1:]], by_cpu=False)

    peer_runs = {hand_py[0]: from_python(grads[hand_py[0]], args)}
    for label, peer in peers.items():
        if peer is not None:
            call, convert = peer
            check_agreement(label, call(*convert(args)), want)
            peer_runs[label] = from_python(call, convert(args))
    peer_timings = {}
    if len(peer_runs) > 1:
        peer_timings, _ = summarize(interleaved(peer_runs, max(5, repeats // 2)),
                                    list(peer_runs)[1:], [hand_py[0]], by_cpu=False)
    return ({g: njit[g, "njit"] for g in CONTENDERS},
            {g: python[g, "python"] for g in CONTENDERS}, peer_timings, hand[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated gradient's source")
    opts = parser.parse_args()
    repeats = 21 if opts.quick else 101

    dloss = adc.grad(loss, wrt=("W1", "b1", "W2", "b2"))
    if opts.source:
        print(dloss.source)
    print(f"MLP 2-{HIDDEN}-1, tanh, mean-squared loss: gradient w.r.t. (W1, b1, W2, b2); "
          f"us per call, median of {repeats} interleaved blocks")
    print(f"numba {numba.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    ncpu = os.cpu_count() or 1
    peers = {}
    for label, (module, build) in PEERS.items():
        peers[label] = build() if installed(module) else None

    print()
    head = (f"{'':<23} {'---------- in an njit loop ----------':^38}   "
            f"{'-- from Python --':>19}\n"
            f"{'batch':>5}  {'gradient':<16} {'cpu':>7} {'/ hand':>7} {'wall':>7} {'/ hand':>7} "
            f"{'best':>7}   {'wall':>11} {'/ hand':>7}")
    print(head)
    print("-" * len(head.splitlines()[-1]))
    verdicts = []
    for n in BATCHES:
        njit, python, peer_timings, hand = measure(n, dloss, peers, repeats)
        for name in CONTENDERS:
            t, py = njit[name], python[name]
            print(f"{n:>5}  {name:<16} {t.cpu:7.2f} {t.cpu_ratio:7.2f} {t.median:7.2f} "
                  f"{t.ratio:7.2f} {t.best:7.2f}   {py.median:11.2f} {py.ratio:7.2f}")
        for label, peer in peers.items():
            if peer is None:
                print(f"{n:>5}  {label:<16} skipped: not installed")
                continue
            py = peer_timings[label]
            print(f"{n:>5}  {label:<16} {'':>38}   {py.median:11.2f} {py.ratio:7.2f}")
        gen = njit["generated"]
        verdicts.append(f"batch {n:>4}: generated / {hand} = {gen.cpu_ratio:.2f} CPU time "
                        f"(wall {gen.ratio:.2f}, best-of {gen.best / njit[hand].best:.2f})  "
                        f"bar <= {BAR}: {'PASS' if gen.cpu_ratio <= BAR else 'MISS'}"
                        + ("  (wall differs: other work held the cores)"
                           if abs(gen.ratio / gen.cpu_ratio - 1.0) > 0.15 else ""))
    print("(us per call, medians over the repeats; best: the fastest block.  / hand: median over "
          "the repeats\n of the ratio to the faster hand-written Numba gradient called the same "
          "way, in the same repeat.\n JAX and autograd: wall-clock, in a second run beside the "
          "hand-written gradient called from Python.)\n")
    for line in verdicts:
        print(line)
    load = os.getloadavg()[0]
    busy = " (busy: other work shared the cores)" if load > ncpu else ""
    print(f"load average {load:.1f} on {ncpu} cores{busy}\n{blas_note()}")


if __name__ == "__main__":
    main()
