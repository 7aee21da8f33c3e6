"""The seed neuron trained by single-sample SGD: generated gradient vs hand-written Numba.

Run from the repository root (about two minutes on 2 cores; ``--quick`` for fewer repeats,
``--source`` to print the generated gradient being measured):

    python benchmarks/neuron_sgd.py [--quick] [--source]

What it measures, every figure a ratio taken in this one run (performance.md):

1. ns per SGD step over 2,000,000 steps, median of several repeats after a warm-up, of one
   ``@numba.njit`` training loop that takes the gradient as an argument, run once with
   ``adc.grad(loss, wrt=("w", "b"))`` and once with the analytic gradient written by hand.
   Two ways of drawing the example: read from pre-generated arrays, and drawn inside the loop
   with ``np.random``.  Bar: generated / hand-written <= 1.10.  Also ``adc.optim.sgd``.
2. Compile time in fresh processes (``import numba`` not counted): ``adc.grad`` + first call
   against Numba's own ``njit(cache=True)`` of the forward + first call, cold (empty
   ``ADCOMPILE_CACHE_DIR`` and ``NUMBA_CACHE_DIR``) and warm (a second process on the same
   cache).  Bars: cold <= 2.0x Numba's cold compile, warm <= 1.3x Numba's cached load.
3. Optional peers (JAX, autograd, PyTorch: ``pip install -e ".[bench]"``), skipped with a note
   when not installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numba
import numpy as np

import adcompile as adc

STEPS = 2_000_000
LR = 0.1
W_STAR, B_STAR = 1.5, -0.5
W0, B0 = 0.0, 0.0
SEED = 12345
AT = (0.3, -0.1, 1.5, 0.8)  # (w, b, x, y) of the first call in the compile-time runs


# --------------------------------------------------------------------------------------------
# The loss, its hand-written gradient, and the training loops


def loss(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


@numba.njit
def hand_grad(w, b, x, y):
    """dL/dw and dL/db by hand: s = sigma(w x + b), dL/dx2 = 2 (s - y) s (1 - s)."""
    s = 1.0 / (1.0 + math.exp(-(w * x + b)))
    d_x2 = 2.0 * (s - y) * s * (1.0 - s)
    return d_x2 * x, d_x2


@numba.njit
def sgd_arrays(grad, w, b, xs, ys, lr):
    """One SGD step per example, the examples read in order from pre-generated arrays."""
    for i in range(xs.shape[0]):
        dw, db = grad(w, b, xs[i], ys[i])
        w -= lr * dw
        b -= lr * db
    return w, b


@numba.njit
def sgd_random(grad, w, b, steps, lr, seed):
    """One SGD step per example, each example drawn here: x ~ N(0, 1), y = sigma(w* x + b*)."""
    np.random.seed(seed)
    for _ in range(steps):
        x = np.random.normal()
        y = 1.0 / (1.0 + math.exp(-(W_STAR * x + B_STAR)))
        dw, db = grad(w, b, x, y)
        w -= lr * dw
        b -= lr * db
    return w, b


@numba.njit
def sgd_rows(grad, w, b, xs, ys, steps, lr, seed):
    """One SGD step per example, each a row drawn uniformly at random (as optim.sgd(data=))."""
    np.random.seed(seed)
    for _ in range(steps):
        i = np.random.randint(0, xs.shape[0])
        dw, db = grad(w, b, xs[i], ys[i])
        w -= lr * dw
        b -= lr * db
    return w, b


@numba.njit
def example():
    """The sampler for adc.optim.sgd: the same draw as in sgd_random."""
    x = np.random.normal()
    return (x, 1.0 / (1.0 + math.exp(-(W_STAR * x + B_STAR))))


def make_data(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(seed).normal(size=n)
    return x, 1.0 / (1.0 + np.exp(-(W_STAR * x + B_STAR)))


def ns_per_step(run, steps: int, repeats: int) -> tuple[float, object]:
    """Median ns/step of ``run()`` over ``repeats`` calls after one warm-up call."""
    result = run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / steps * 1e9, result


def interleaved(runs: dict[str, object], steps: int,
                repeats: int) -> dict[str, tuple[float, float]]:
    """(median, best) ns/step of each run, the runs alternated so that noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: compile
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return {name: (float(np.median(t)) / steps * 1e9, float(np.min(t)) / steps * 1e9)
            for name, t in times.items()}


# --------------------------------------------------------------------------------------------
# Compile time, in fresh processes

LOSS_MODULE = textwrap.dedent('''
    import math


    def loss(w, b, x, y):
        x1 = w * x
        x2 = x1 + b
        yhat = 1.0 / (1.0 + math.exp(-x2))
        return (yhat - y) ** 2
''')

ADCOMPILE_CHILD = textwrap.dedent(f'''
    import json, time
    import numba  # not counted
    t0 = time.perf_counter()
    import adcompile as adc
    from seed_neuron import loss
    t1 = time.perf_counter()
    dloss = adc.grad(loss, wrt=("w", "b"))
    t2 = time.perf_counter()
    dloss(*{AT!r})
    t3 = time.perf_counter()
    print(json.dumps({{"total": t3 - t0, "import": t1 - t0, "grad": t2 - t1, "call": t3 - t2}}))
''')

NUMBA_CHILD = textwrap.dedent(f'''
    import json, time
    import numba  # not counted
    t0 = time.perf_counter()
    from seed_neuron import loss
    t1 = time.perf_counter()
    f = numba.njit(cache=True)(loss)
    t2 = time.perf_counter()
    f(*{AT!r})
    t3 = time.perf_counter()
    print(json.dumps({{"total": t3 - t0, "import": t1 - t0, "grad": t2 - t1, "call": t3 - t2}}))
''')


def run_child(code: str, workdir: Path) -> dict[str, float]:
    env = dict(os.environ)
    env["ADCOMPILE_CACHE_DIR"] = str(workdir / "adcompile-cache")
    env["NUMBA_CACHE_DIR"] = str(workdir / "numba-cache")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(workdir), env.get("PYTHONPATH")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    out = subprocess.run([sys.executable, "-c", code], cwd=workdir, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_times(repeats: int) -> dict[str, dict[str, float]]:
    """Median seconds of each phase for adcompile and Numba, cold and warm."""
    samples: dict[str, list[dict[str, float]]] = {
        "adcompile cold": [], "adcompile warm": [], "numba cold": [], "numba warm": []}
    for _ in range(repeats):
        for who, code in (("adcompile", ADCOMPILE_CHILD), ("numba", NUMBA_CHILD)):
            with tempfile.TemporaryDirectory(prefix="neuron-sgd-bench-") as tmp:
                workdir = Path(tmp)
                (workdir / "seed_neuron.py").write_text(LOSS_MODULE)
                samples[f"{who} cold"].append(run_child(code, workdir))
                samples[f"{who} warm"].append(run_child(code, workdir))
    return {name: {k: float(np.median([s[k] for s in runs])) for k in runs[0]}
            for name, runs in samples.items()}


# --------------------------------------------------------------------------------------------
# Optional peers


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def peer_jax(xs: np.ndarray, ys: np.ndarray, repeats: int) -> list[tuple[str, float, str]]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    def jloss(p, x, y):
        yhat = 1.0 / (1.0 + jnp.exp(-(p[0] * x + p[1])))
        return (yhat - y) ** 2

    jgrad = jax.grad(jloss)

    @jax.jit
    def train(p, xs, ys):
        def body(i, p):
            return p - LR * jgrad(p, xs[i], ys[i])
        return lax.fori_loop(0, xs.shape[0], body, p)

    p0 = jnp.array([W0, B0])
    jxs, jys = jnp.asarray(xs), jnp.asarray(ys)
    loop_ns, _ = ns_per_step(lambda: train(p0, jxs, jys).block_until_ready(), len(xs),
                             repeats)
    step = jax.jit(jgrad)
    n = 2000

    def per_step():
        p = p0
        for i in range(n):
            p = p - LR * step(p, jxs[i], jys[i])
        return p.block_until_ready()

    call_ns, _ = ns_per_step(per_step, n, 1)
    return [("JAX: whole loop in lax.fori_loop, jit", loop_ns, f"{len(xs):,} steps"),
            ("JAX: jit(grad) called per step from Python", call_ns, f"{n:,} steps")]


def peer_autograd(xs: np.ndarray, ys: np.ndarray) -> list[tuple[str, float, str]]:
    import autograd
    import autograd.numpy as anp

    def aloss(w, b, x, y):
        yhat = 1.0 / (1.0 + anp.exp(-(w * x + b)))
        return (yhat - y) ** 2

    agrad = autograd.grad(aloss, (0, 1))
    n = 2000

    def run():
        w, b = W0, B0
        for i in range(n):
            dw, db = agrad(w, b, xs[i], ys[i])
            w, b = w - LR * dw, b - LR * db
        return w, b

    ns, _ = ns_per_step(run, n, 1)
    return [("autograd: grad called per step from Python", ns, f"{n:,} steps")]


def peer_torch(xs: np.ndarray, ys: np.ndarray) -> list[tuple[str, float, str]]:
    import torch

    torch.set_num_threads(1)
    n = 2000
    txs = torch.as_tensor(xs[:n], dtype=torch.float64)
    tys = torch.as_tensor(ys[:n], dtype=torch.float64)

    def run():
        w = torch.tensor(W0, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(B0, dtype=torch.float64, requires_grad=True)
        for i in range(n):
            yhat = torch.sigmoid(w * txs[i] + b)
            loss_ = (yhat - tys[i]) ** 2
            dw, db = torch.autograd.grad(loss_, (w, b))
            with torch.no_grad():
                w -= LR * dw
                b -= LR * db
        return float(w.detach()), float(b.detach())

    ns, _ = ns_per_step(run, n, 1)
    return [("PyTorch eager: autograd.grad per step", ns, f"{n:,} steps")]


# --------------------------------------------------------------------------------------------


def verdict(ratio: float, bar: float) -> str:
    return f"{'meets' if ratio <= bar else 'MISSES'} bar <= {bar:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated gradient's source")
    opts = parser.parse_args()
    repeats = 3 if opts.quick else 15
    compile_repeats = 1 if opts.quick else 3

    dloss = adc.grad(loss, wrt=("w", "b"))
    xs, ys = make_data(STEPS)
    if opts.source:
        print(dloss.source)

    print(f"seed neuron, single-sample SGD, {STEPS:,} steps, lr={LR}; "
          f"ns/step, median of {repeats} after warm-up")
    print(f"numba {numba.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores\n")

    arrays = interleaved({"generated": lambda: sgd_arrays(dloss, W0, B0, xs, ys, LR),
                          "hand": lambda: sgd_arrays(hand_grad, W0, B0, xs, ys, LR)},
                         STEPS, repeats)
    drawn = interleaved({"generated": lambda: sgd_random(dloss, W0, B0, STEPS, LR, SEED),
                         "hand": lambda: sgd_random(hand_grad, W0, B0, STEPS, LR, SEED),
                         "optim": lambda: adc.optim.sgd(loss, (W0, B0), sampler=example,
                                                        lr=LR, steps=STEPS, seed=SEED,
                                                        record_every=1000)},
                        STEPS, repeats)
    rows_ = interleaved({"hand": lambda: sgd_rows(hand_grad, W0, B0, xs, ys, STEPS, LR, SEED),
                         "optim": lambda: adc.optim.sgd(loss, (W0, B0), data=(xs, ys), lr=LR,
                                                        steps=STEPS, seed=SEED,
                                                        record_every=1000)},
                        STEPS, repeats)

    rows = [
        ("user njit loop, x, y from arrays", arrays["generated"], arrays["hand"], 1.10),
        ("user njit loop, x ~ np.random inside", drawn["generated"], drawn["hand"], 1.10),
        ("adc.optim.sgd(sampler=...), same draw", drawn["optim"], drawn["hand"], None),
        ("adc.optim.sgd(data=...), random rows", rows_["optim"], rows_["hand"], None),
    ]
    head = (f"{'loop':<40} {'generated':>10} {'hand-written':>13} {'ratio':>7} "
            f"{'(best-of)':>9}")
    print(head)
    print("-" * len(head))
    for name, (gen, gen_best), (hand, hand_best), bar in rows:
        note = f"  {verdict(gen / hand, bar)}" if bar is not None else ""
        print(f"{name:<40} {gen:>10.1f} {hand:>13.1f} {gen / hand:>7.3f} "
              f"{gen_best / hand_best:>9.3f}{note}")
    print("(ns/step and ratio: medians; best-of: ratio of the fastest runs.  optim rows: "
          "record_every=1000,\n their hand-written column is the user loop that draws the same "
          "way)")
    checks = [sgd_arrays(dloss, W0, B0, xs, ys, LR), sgd_arrays(hand_grad, W0, B0, xs, ys, LR),
              adc.optim.sgd(loss, (W0, B0), sampler=example, lr=LR, steps=STEPS).params]
    print(f"final (w, b), expected ({W_STAR:.2f}, {B_STAR:.2f}): "
          + "; ".join(f"({w:.6f}, {b:.6f})" for w, b in checks))

    print(f"\ncompile: fresh process, import numba not counted; seconds, median of "
          f"{compile_repeats}")
    times = compile_times(compile_repeats)
    head = (f"{'':<16} {'total':>7} {'import':>7} {'grad()/njit()':>14} {'1st call':>9}")
    print(head)
    print("-" * len(head))
    for name, t in times.items():
        print(f"{name:<16} {t['total']:>7.3f} {t['import']:>7.3f} {t['grad']:>14.3f} "
              f"{t['call']:>9.3f}")
    cold = times["adcompile cold"]["total"] / times["numba cold"]["total"]
    warm = times["adcompile warm"]["total"] / times["numba warm"]["total"]
    print(f"\ncold: adcompile / numba njit = {cold:.2f}  -> {verdict(cold, 2.0)}")
    print(f"warm: adcompile / numba cached = {warm:.2f}  -> {verdict(warm, 1.3)}")

    print("\npeers (ns/step)")
    peers = [("JAX", "jax", lambda: peer_jax(xs, ys, max(1, repeats // 2))),
             ("autograd", "autograd", lambda: peer_autograd(xs, ys)),
             ("PyTorch", "torch", lambda: peer_torch(xs, ys))]
    for label, module, run in peers:
        if not installed(module):
            print(f"{label:<44} skipped: not installed")
            continue
        for name, ns, note in run():
            print(f"{name:<44} {ns:>12,.1f}  ({note}; {ns / arrays['hand'][0]:,.0f}x hand-written)")


if __name__ == "__main__":
    main()
