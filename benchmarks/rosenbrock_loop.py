"""Extended Rosenbrock written as an explicit loop: generated gradient vs forward and hand-written.

Run from the repository root (under a minute on 2 cores; ``--quick`` for fewer repeats,
``--source`` to print the generated gradient being measured):

    python benchmarks/rosenbrock_loop.py [--quick] [--source]

The cost is the extended Rosenbrock function of n = 100,000 float64 variables, written as a
plain ``for i in range(len(x) - 1)`` loop that reads ``x[i]`` and ``x[i + 1]``.  What it
measures, every figure a ratio taken in this one run (performance.md):

1. Time per call after a warm-up, in rounds: each round times a batch of calls of every
   candidate, back to back, so that machine noise hits all alike.  Candidates: the forward
   compiled by ``adc.forward``, the same forward under ``numba.njit`` (for reference), the
   generated gradient ``adc.grad(rosen, wrt="x")``, and the analytic gradient written by hand
   in Numba (below, in this file).  The table shows medians over rounds; a ratio is the
   median over rounds of the per-round ratio.
2. Bars: generated gradient <= 2.0 x forward; generated <= 1.3 x hand-written; tape bytes of
   one gradient call = 0 (nothing the backward sweep needs is overwritten).
3. Optional peer JAX (``pip install -e ".[bench]"``), skipped with a note when not installed:
   the same loop in ``lax.fori_loop`` and the vectorised ``jnp`` form, each under
   ``jax.jit(jax.grad(...))``.

Before timing, the generated gradient is checked against the hand-written one (allclose).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

import numba
import numpy as np

import adcompile as adc

N = 100_000
SEED = 2024


# --------------------------------------------------------------------------------------------
# The cost and its hand-written gradient


def rosen(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@numba.njit
def hand_grad(x):
    """d/dx by hand: term i touches x[i] and x[i + 1]; t = x[i+1] - x[i]^2."""
    g = np.zeros_like(x)
    for i in range(len(x) - 1):
        xi = x[i]
        t = x[i + 1] - xi * xi
        g[i] += -400.0 * xi * t - 2.0 * (1.0 - xi)
        g[i + 1] += 200.0 * t
    return g


# --------------------------------------------------------------------------------------------
# Timing


def interleaved(runs: dict[str, object], batch: int, repeats: int) -> dict[str, np.ndarray]:
    """Seconds per call of each run in each of ``repeats`` rounds after a warm-up: each round
    times every run once over a batch of ``batch`` calls, back to back, so that machine noise
    hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: compile
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            for _ in range(batch):
                run()
            times[name].append((time.perf_counter() - t0) / batch)
    return {name: np.array(t) for name, t in times.items()}


def ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Median over rounds of a / b, each round's two batches timed back to back."""
    return float(np.median(a / b))


# --------------------------------------------------------------------------------------------
# Optional peer


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def peer_jax(x: np.ndarray, reference: np.ndarray, batch: int,
             repeats: int) -> dict[str, float]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    def jrosen_loop(x):
        def body(i, s):
            return s + 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
        return lax.fori_loop(0, x.shape[0] - 1, body, 0.0)

    def jrosen_vec(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    jx = jnp.asarray(x)
    fns = {"JAX fori_loop: forward (jit)": jax.jit(jrosen_loop),
           "JAX fori_loop: jit(grad)": jax.jit(jax.grad(jrosen_loop)),
           "JAX vectorised: forward (jit)": jax.jit(jrosen_vec),
           "JAX vectorised: jit(grad)": jax.jit(jax.grad(jrosen_vec))}
    for name, fn in fns.items():
        if "grad" in name and not np.allclose(np.asarray(fn(jx)), reference, rtol=1e-10,
                                              atol=1e-8):
            raise SystemExit(f"{name} disagrees with the hand-written gradient")
    runs = {name: (lambda fn=fn: fn(jx).block_until_ready()) for name, fn in fns.items()}
    return {name: float(np.median(t)) for name, t in interleaved(runs, batch, repeats).items()}


# --------------------------------------------------------------------------------------------


def verdict(value: float, bar: float) -> str:
    return f"{'PASS' if value <= bar else 'MISS'} (bar <= {bar:g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated gradient's source")
    opts = parser.parse_args()
    repeats = 7 if opts.quick else 31
    batch = 20

    x = np.random.default_rng(SEED).uniform(-2.0, 2.0, N)
    forward = adc.forward(rosen)
    njit_forward = numba.njit(rosen)
    dloss = adc.grad(rosen, wrt="x")
    if opts.source:
        print(dloss.source)

    # Correctness first: values and gradients agree before anything is timed.
    g_gen, g_hand = dloss(x), hand_grad(x)
    if not np.allclose(g_gen, g_hand, rtol=1e-12, atol=1e-9):
        raise SystemExit(f"generated gradient disagrees with the hand-written one: max |diff| "
                         f"{np.max(np.abs(g_gen - g_hand)):.3e}")
    if not np.isclose(forward(x), njit_forward(x), rtol=1e-13):
        raise SystemExit("adc.forward disagrees with numba.njit of the same function")
    tape = dloss.tape_bytes(x)

    print(f"extended Rosenbrock as a for loop, n = {N:,} float64; time per call: median of "
          f"{repeats} rounds after warm-up,\neach round timing a batch of {batch} calls of every "
          f"candidate, back to back; ratios: median over rounds of the per-round ratio")
    print(f"numba {numba.__version__}, numpy {np.__version__}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"check: generated vs hand-written gradient allclose, max |diff| = "
          f"{np.max(np.abs(g_gen - g_hand)):.2e} (|g| up to {np.max(np.abs(g_hand)):.2e})\n")

    samples = interleaved({"forward: adc.forward(rosen)": lambda: forward(x),
                     "forward: numba.njit(rosen)": lambda: njit_forward(x),
                     "gradient: adc.grad(rosen, wrt='x')": lambda: dloss(x),
                     "gradient: hand-written, numba.njit": lambda: hand_grad(x)},
                    batch, repeats)
    t = {name: float(np.median(s)) for name, s in samples.items()}
    fwd_s, _, gen_s, hand_s = samples.values()
    fwd, hand = float(np.median(fwd_s)), float(np.median(hand_s))

    head = f"{'what':<38} {'us/call':>10} {'ns/element':>11} {'x forward':>10}"
    print(head)
    print("-" * len(head))
    for name, sec in t.items():
        print(f"{name:<38} {sec * 1e6:>10.1f} {sec / N * 1e9:>11.2f} {sec / fwd:>10.2f}")

    print()
    over_fwd, over_hand = ratio(gen_s, fwd_s), ratio(gen_s, hand_s)
    print(f"generated gradient / forward      = {over_fwd:6.2f}   {verdict(over_fwd, 2.0)}")
    print(f"generated / hand-written gradient = {over_hand:6.2f}   {verdict(over_hand, 1.3)}")
    print(f"tape bytes of one gradient call   = {tape:6d}   {verdict(tape, 0)}")
    print(f"(hand-written gradient / forward  = {ratio(hand_s, fwd_s):6.2f})")

    print("\npeer: JAX")
    if not installed("jax"):
        print(f"{'JAX (fori_loop, vectorised)':<38} skipped: not installed")
        return
    jt = peer_jax(x, g_hand, batch, max(3, repeats // 3))
    for name, sec in jt.items():
        note = f"   ({sec / hand:.2f} x hand-written gradient)" if "grad" in name else ""
        print(f"{name:<38} {sec * 1e6:>10.1f} {sec / N * 1e9:>11.2f} {sec / fwd:>10.2f}{note}")


if __name__ == "__main__":
    main()
