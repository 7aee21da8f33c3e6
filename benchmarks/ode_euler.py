"""Explicit Euler with an overwritten state: generated gradient vs a hand-written adjoint.

Run from the repository root (about a minute on 2 cores; ``--quick`` for fewer repeats,
``--source`` to print the generated gradients being measured):

    python benchmarks/ode_euler.py [--quick] [--source]

Two scalar ODEs, each integrated by explicit Euler from x(0) = x0 over 1,000,000 steps of
dt = 1e-6; the state ``x`` is overwritten every step and the loss is the final state x(T).
The gradient is taken w.r.t. the model parameter and the initial state ``x0``:

- logistic, dx/dt = r x (1 - x): a few flops per step, so the cost of the adjoint recurrence
  itself shows;
- damped sine, dx/dt = -p x + sin(x): sin in the forward and cos in the adjoint dominate.

What it measures, every figure a ratio taken in this one run (performance.md):

1. Time per call after a warm-up, in rounds: each round calls every candidate once, back to
   back, so that machine noise hits all alike.  Candidates: the forward compiled by
   ``adc.forward``, the generated gradient ``adc.grad(f, wrt=(param, "x0"))``, and the adjoint
   written by hand in Numba (below, in this file: it stores the trajectory, then runs the
   adjoint recurrence backwards).  The table shows medians over rounds; a ratio is the median
   over rounds of the per-round ratio.
2. Bars: generated <= 1.5 x hand-written; tape bytes per step <= 8 x the scalars that must be
   saved.  One scalar must be: the state x before each step, which the backward sweep needs
   (for the local derivative and for the parameter's adjoint) and the forward sweep
   overwrites -- so 8 bytes per step.
3. Optional peer JAX (``pip install -e ".[bench]"``), skipped with a note when not installed:
   the same loop in ``lax.fori_loop`` under ``jax.jit(jax.grad(...))``.

Before timing, each generated gradient is checked against the hand-written adjoint and against
central finite differences of the forward.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

import adcompile as adc

STEPS = 1_000_000
DT = 1e-6


# --------------------------------------------------------------------------------------------
# The integrations and their hand-written adjoints


def logistic(r, x0, n, dt):
    x = x0
    for _ in range(n):
        x = x + dt * r * x * (1.0 - x)
    return x


@numba.njit
def hand_logistic(r, x0, n, dt):
    """d x_n / d(r, x0) by hand.  x_{k+1} = x_k + dt r x_k (1 - x_k), so with the adjoint
    a_k = d x_n / d x_k:  a_k = a_{k+1} (1 + dt r (1 - 2 x_k)),  dr += a_{k+1} dt x_k (1 - x_k)."""
    xs = np.empty(n)
    x = x0
    for k in range(n):
        xs[k] = x
        x = x + dt * r * x * (1.0 - x)
    a = 1.0
    dr = 0.0
    for k in range(n - 1, -1, -1):
        xk = xs[k]
        dr += a * dt * xk * (1.0 - xk)
        a *= 1.0 + dt * r * (1.0 - 2.0 * xk)
    return dr, a


def damped_sin(p, x0, n, dt):
    x = x0
    for _ in range(n):
        x = x + dt * (-p * x + math.sin(x))
    return x


@numba.njit
def hand_damped_sin(p, x0, n, dt):
    """d x_n / d(p, x0) by hand.  x_{k+1} = x_k + dt (-p x_k + sin x_k), so with the adjoint
    a_k = d x_n / d x_k:  a_k = a_{k+1} (1 + dt (cos x_k - p)),  dp += a_{k+1} dt (-x_k)."""
    xs = np.empty(n)
    x = x0
    for k in range(n):
        xs[k] = x
        x = x + dt * (-p * x + math.sin(x))
    a = 1.0
    dp = 0.0
    for k in range(n - 1, -1, -1):
        xk = xs[k]
        dp -= a * dt * xk
        a *= 1.0 + dt * (math.cos(xk) - p)
    return dp, a


@dataclass
class Model:
    title: str  # the ODE
    fn: Callable  # the user's function: (param, x0, n, dt) -> final state
    hand: Callable  # its hand-written adjoint in Numba: -> (d param, d x0)
    step: Callable  # one Euler step (param, x, math-like module) -> next x, for the JAX peer
    param: float
    x0: float
    saved_scalars: int = 1  # the state x before each step


MODELS = [
    Model("logistic  dx/dt = r x (1 - x)", logistic, hand_logistic,
          lambda r, x, m: x + DT * r * x * (1.0 - x), param=5.0, x0=0.01),
    Model("damped sin  dx/dt = -p x + sin(x)", damped_sin, hand_damped_sin,
          lambda p, x, m: x + DT * (-p * x + m.sin(x)), param=0.5, x0=1.0),
]


# --------------------------------------------------------------------------------------------
# Timing


def interleaved(runs: dict[str, object], repeats: int) -> dict[str, np.ndarray]:
    """Seconds of each call of each run: ``repeats`` rounds after one warm-up call, each round
    calling every run once, back to back, so that machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up: compile
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return {name: np.array(t) for name, t in times.items()}


def ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Median over rounds of a / b, each round's two calls made back to back."""
    return float(np.median(a / b))


# --------------------------------------------------------------------------------------------
# Optional peer


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def peer_jax(model: Model, reference: np.ndarray, repeats: int) -> dict[str, float]:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    def jeuler(param, x0):
        return lax.fori_loop(0, STEPS, lambda _, x: model.step(param, x, jnp), x0)

    fns = {"JAX fori_loop: forward (jit)": jax.jit(jeuler),
           "JAX fori_loop: jit(grad)": jax.jit(jax.grad(jeuler, argnums=(0, 1)))}
    got = np.array([float(g) for g in fns["JAX fori_loop: jit(grad)"](model.param, model.x0)])
    if not np.allclose(got, reference, rtol=1e-9, atol=0.0):
        raise SystemExit(f"JAX gradient {got} disagrees with the hand-written adjoint")
    runs = {name: (lambda fn=fn: jax.block_until_ready(fn(model.param, model.x0)))
            for name, fn in fns.items()}
    return {name: float(np.median(t)) for name, t in interleaved(runs, repeats).items()}


# --------------------------------------------------------------------------------------------


def verdict(value: float, bar: float) -> str:
    return f"{'PASS' if value <= bar else 'MISS'} (bar <= {bar:g})"


def check(model: Model, forward, dloss, args: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Generated gradient against the hand-written adjoint and central differences, or exit."""
    gen = np.array(dloss(*args))
    hand = np.array(model.hand(*args))
    if not np.allclose(gen, hand, rtol=1e-12, atol=0.0):
        raise SystemExit(f"{model.title}: generated gradient {gen} disagrees with the "
                         f"hand-written adjoint {hand}")
    h = 1e-6
    p, x0 = model.param, model.x0
    fd = np.array([(forward(p + h, x0, STEPS, DT) - forward(p - h, x0, STEPS, DT)) / (2 * h),
                   (forward(p, x0 + h, STEPS, DT) - forward(p, x0 - h, STEPS, DT)) / (2 * h)])
    if not np.allclose(gen, fd, rtol=1e-6, atol=0.0):
        raise SystemExit(f"{model.title}: generated gradient {gen} disagrees with central "
                         f"differences {fd}")
    print(f"check: d(param, x0) generated    {gen[0]:+.12f} {gen[1]:+.12f}")
    print(f"                    hand-written {hand[0]:+.12f} {hand[1]:+.12f}  "
          f"(max rel diff {np.max(np.abs(gen - hand) / np.abs(hand)):.1e})")
    print(f"                    central diff {fd[0]:+.12f} {fd[1]:+.12f}  "
          f"(h = {h:g}, max rel diff {np.max(np.abs(gen - fd) / np.abs(fd)):.1e})")
    return gen, hand


def bench(model: Model, repeats: int, source: bool) -> None:
    pname = model.fn.__code__.co_varnames[0]
    forward = adc.forward(model.fn)
    dloss = adc.grad(model.fn, wrt=(pname, "x0"))
    if source:
        print(dloss.source)
    args = (model.param, model.x0, STEPS, DT)
    print(f"{model.title}: {pname} = {model.param}, x0 = {model.x0}; "
          f"loss = x(T) = {forward(*args):.12f}")

    # Correctness first: hand-written adjoint, then finite differences, before any timing.
    _, hand = check(model, forward, dloss, args)
    tape = dloss.tape_bytes(*args)

    name = model.fn.__name__
    rows = {f"forward: adc.forward({name})": lambda: forward(*args),
            f"gradient: adc.grad({name})": lambda: dloss(*args),
            "gradient: hand-written adjoint, njit": lambda: model.hand(*args)}
    samples = interleaved(rows, repeats)
    t = {row: float(np.median(s)) for row, s in samples.items()}
    fwd, gen_t, hand_t = t.values()
    fwd_s, gen_s, hand_s = samples.values()

    head = f"\n{'what':<40} {'ms/call':>9} {'ns/step':>9} {'x forward':>10}"
    print(head)
    print("-" * len(head))
    for row, sec in t.items():
        print(f"{row:<40} {sec * 1e3:>9.2f} {sec / STEPS * 1e9:>9.2f} {sec / fwd:>10.2f}")
    if not installed("jax"):
        print(f"{'JAX fori_loop':<40} skipped: not installed")
    else:
        for row, sec in peer_jax(model, hand, max(3, repeats // 2)).items():
            note = f"   ({sec / hand_t:.2f} x hand-written)" if "grad" in row else ""
            print(f"{row:<40} {sec * 1e3:>9.2f} {sec / STEPS * 1e9:>9.2f} {sec / fwd:>10.2f}"
                  f"{note}")

    per_step = tape / STEPS
    print()
    print(f"generated / hand-written adjoint = {ratio(gen_s, hand_s):6.2f}   "
          f"{verdict(ratio(gen_s, hand_s), 1.5)}")
    print(f"tape bytes per step              = {per_step:6.2f}   "
          f"{verdict(per_step, 8 * model.saved_scalars)}  ({tape:,} bytes in all; the "
          f"hand-written adjoint stores {8 * model.saved_scalars * STEPS:,})")
    print(f"(generated gradient / forward    = {ratio(gen_s, fwd_s):6.2f}; hand-written / "
          f"forward = {ratio(hand_s, fwd_s):.2f})\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated gradients' source")
    opts = parser.parse_args()
    repeats = 5 if opts.quick else 31

    print(f"explicit Euler, overwritten scalar state, {STEPS:,} steps of dt = {DT:g}; "
          f"gradient w.r.t. the parameter and x0")
    print(f"ms per call: median of {repeats} rounds after warm-up, each round calling every "
          f"candidate once, back to back;\nratios: median over rounds of the per-round ratio; "
          f"numba {numba.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores\n")
    for model in MODELS:
        bench(model, repeats, opts.source)


if __name__ == "__main__":
    main()
