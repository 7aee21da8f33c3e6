"""Loops that write arrays inside nested loops: soft-DTW, a heat stencil, N-body forces.

Run from the repository root (a few minutes on 2 cores, most of it compiling; ``--quick`` for
fewer repeats, ``--source`` to print the generated gradients being measured):

    python benchmarks/loops.py [--quick] [--source] [--no-jax]

Three losses whose loops write into arrays, each written the natural way for Python loops:

- soft-DTW of two series of 128 samples (Cuturi & Blondel 2017): the 129 x 129 table R filled
  by two nested loops, the soft minimum written with ``math.exp`` and ``math.log`` in a helper
  function; gradient with respect to the first series (128 entries);
- a 1-D explicit heat stencil, 200 points x 200 steps, ``v[i] = u[i] + k * (u[i-1] - 2 u[i] +
  u[i+1])`` into a fresh ``v`` each step, then the squared misfit to a measured profile;
  gradient with respect to k;
- 2-D N-body, 32 bodies x 100 semi-implicit Euler steps, softened gravity summed pair by pair
  into ``acc[i, 0] += ...`` in a double loop, then the squared misfit of the final positions;
  gradient with respect to the constant G.

What it measures, every figure a ratio taken in this one run (performance.md):

1. Time per call after a warm-up, in rounds: each round times a batch of calls of every
   candidate, back to back, so that machine noise hits all alike.  Candidates: the forward
   compiled by ``adc.forward(f, wrt)``, the generated gradient ``adc.grad(f, wrt)``, the
   gradient written by hand in Numba (below, in this file: the forward storing what the
   backward loop needs, then the adjoint recurrence), and, when JAX is installed, JAX's best
   formulation of the same loss under ``jax.jit(jax.grad(...))`` with float64 enabled
   (soft-DTW: ``lax.scan`` over the anti-diagonals of R, each one vectorised; heat:
   ``lax.fori_loop`` over the steps, each step vectorised; N-body: ``lax.fori_loop`` over the
   steps, the forces of all pairs vectorised).  JAX is timed in rounds of its own after the
   others: XLA's thread pool keeps spinning after each call and slowed whichever candidate was
   timed next on two cores.  The table shows medians over rounds; a ratio between adcompile's
   candidates is the median over rounds of the per-round ratio, the ratio to JAX the ratio of
   the medians.  ``--no-jax`` leaves JAX out.
2. Bar: generated gradient <= 3 x forward (performance.md, loops that write arrays).
   Reported beside it: generated / hand-written, adcompile / JAX gradient, and the bytes of
   tape of one gradient call.
3. First-call latency of the gradient: ``adc.grad(f, wrt)`` plus its first call (generation
   and Numba compile), in a fresh process with empty adcompile and Numba caches, imports not
   counted; then the same in a second fresh process that finds adcompile's kernels in the Numba
   cache the first left (a new function on a machine where adcompile has run before); beside
   it the same for ``adc.forward``, and JAX's first call of ``jit(grad)`` (tracing and XLA
   compile, in this process).

Before timing, each generated gradient is checked against central finite differences of the
compiled forward (a few entries) and against the hand-written gradient (and JAX's, when
installed).  The optional peer is installed with ``pip install -e ".[bench]"``.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

import adcompile as adc

GRAD_OVER_FORWARD_BAR = 3.0
BATCH_SECONDS = 0.005  # each timed batch of calls lasts about this long


# --------------------------------------------------------------------------------------------
# The losses, as a user writes them


def softmin3(a, b, c, gamma):
    m = min(a, b, c)
    s = math.exp((m - a) / gamma) + math.exp((m - b) / gamma) + math.exp((m - c) / gamma)
    return m - gamma * math.log(s)


def soft_dtw(x, y, gamma):
    n = x.shape[0]
    m = y.shape[0]
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = (x[i - 1] - y[j - 1]) ** 2
            R[i, j] = cost + softmin3(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1], gamma)
    return R[n, m]


def heat_misfit(k, u0, measured, steps):
    u = u0.copy()
    n = u.shape[0]
    for _ in range(steps):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    r = u - measured
    return np.sum(r * r)


def nbody_misfit(G, pos0, vel0, mass, dt, steps, eps, observed):
    x = pos0.copy()
    v = vel0.copy()
    n = x.shape[0]
    for _ in range(steps):
        acc = np.zeros((n, 2))
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = x[j, 0] - x[i, 0]
                    dy = x[j, 1] - x[i, 1]
                    r2 = dx * dx + dy * dy + eps * eps
                    s = G * mass[j] / (r2 * math.sqrt(r2))
                    acc[i, 0] += s * dx
                    acc[i, 1] += s * dy
        v = v + dt * acc
        x = x + dt * v
    r = x - observed
    return np.sum(r * r)


# --------------------------------------------------------------------------------------------
# Their gradients written by hand in Numba


@numba.njit
def hand_soft_dtw(x, y, gamma):
    """d R[n, m] / d x.  The forward keeps each cell's soft-min weights w = exp((softmin -
    r) / gamma) of its three predecessors r; the backward pass walks the cells in reverse,
    gives each predecessor its weight times the cell's adjoint, and x[i-1] gets the adjoint
    times 2 (x[i-1] - y[j-1])."""
    n, m = x.shape[0], y.shape[0]
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    W = np.empty((n, m, 3))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a, b, c = R[i - 1, j - 1], R[i - 1, j], R[i, j - 1]
            low = min(a, b, c)
            ea = math.exp((low - a) / gamma)
            eb = math.exp((low - b) / gamma)
            ec = math.exp((low - c) / gamma)
            s = ea + eb + ec
            R[i, j] = (x[i - 1] - y[j - 1]) ** 2 + low - gamma * math.log(s)
            W[i - 1, j - 1, 0] = ea / s
            W[i - 1, j - 1, 1] = eb / s
            W[i - 1, j - 1, 2] = ec / s
    E = np.zeros((n + 1, m + 1))
    E[n, m] = 1.0
    dx = np.zeros(n)
    for i in range(n, 0, -1):
        for j in range(m, 0, -1):
            e = E[i, j]
            dx[i - 1] += e * 2.0 * (x[i - 1] - y[j - 1])
            E[i - 1, j - 1] += e * W[i - 1, j - 1, 0]
            E[i - 1, j] += e * W[i - 1, j - 1, 1]
            E[i, j - 1] += e * W[i - 1, j - 1, 2]
    return dx


@numba.njit
def hand_heat(k, u0, measured, steps):
    """d misfit / d k.  The forward keeps every profile; the adjoint lam of u runs backwards
    through v[i] = u[i] + k lap[i]: dk += lam[i] lap[i], and lam[i] goes to u[i] with weight
    1 - 2k and to u[i -+ 1] with weight k."""
    n = u0.shape[0]
    U = np.zeros((steps + 1, n))
    U[0] = u0
    for t in range(steps):
        for i in range(1, n - 1):
            U[t + 1, i] = U[t, i] + k * (U[t, i - 1] - 2.0 * U[t, i] + U[t, i + 1])
    lam = 2.0 * (U[steps] - measured)
    prev = np.empty(n)
    dk = 0.0
    for t in range(steps - 1, -1, -1):
        prev[:] = 0.0
        for i in range(1, n - 1):
            li = lam[i]
            dk += li * (U[t, i - 1] - 2.0 * U[t, i] + U[t, i + 1])
            prev[i] += li * (1.0 - 2.0 * k)
            prev[i - 1] += li * k
            prev[i + 1] += li * k
        lam, prev = prev, lam
    return dk


@numba.njit
def hand_nbody(G, pos0, vel0, mass, dt, steps, eps, observed):
    """d misfit / d G.  With acc = G A(x): v' = v + dt acc, x' = x + dt v'.  Backwards, the
    adjoint of v' is lv += dt lx, that of acc is la = dt lv; dG += la . A(x), and each pair
    (i, j) with d = x_j - x_i, q = G m_j (la_i / r^3 - 3 d (d . la_i) / r^5) adds q to lx_j
    and -q to lx_i."""
    n = pos0.shape[0]
    X = np.empty((steps + 1, n, 2))
    x = pos0.copy()
    v = vel0.copy()
    X[0] = x
    for t in range(steps):
        acc = np.zeros((n, 2))
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = x[j, 0] - x[i, 0]
                    dy = x[j, 1] - x[i, 1]
                    r2 = dx * dx + dy * dy + eps * eps
                    s = G * mass[j] / (r2 * math.sqrt(r2))
                    acc[i, 0] += s * dx
                    acc[i, 1] += s * dy
        v += dt * acc
        x += dt * v
        X[t + 1] = x
    lx = 2.0 * (x - observed)
    lv = np.zeros((n, 2))
    dG = 0.0
    for t in range(steps - 1, -1, -1):
        lv += dt * lx
        la = dt * lv
        for i in range(n):
            for j in range(n):
                if i != j:
                    dx = X[t, j, 0] - X[t, i, 0]
                    dy = X[t, j, 1] - X[t, i, 1]
                    r2 = dx * dx + dy * dy + eps * eps
                    inv3 = 1.0 / (r2 * math.sqrt(r2))
                    dot = la[i, 0] * dx + la[i, 1] * dy
                    dG += mass[j] * inv3 * dot
                    c = G * mass[j] * inv3
                    q0 = c * (la[i, 0] - 3.0 * dx * dot / r2)
                    q1 = c * (la[i, 1] - 3.0 * dy * dot / r2)
                    lx[j, 0] += q0
                    lx[j, 1] += q1
                    lx[i, 0] -= q0
                    lx[i, 1] -= q1
    return dG


# --------------------------------------------------------------------------------------------
# JAX's formulations (built only when JAX is installed)


def jax_soft_dtw(jnp, lax):
    """Anti-diagonals of R: cells (i, p - i) depend only on diagonals p - 1 and p - 2, so one
    ``lax.scan`` step computes a whole diagonal, vectorised over i.  A large finite number
    stands for infinity (inf - inf would make NaN adjoints in the masked cells)."""
    big = 1e10

    def loss(x, y, gamma):
        n, m = x.shape[0], y.shape[0]
        D = (x[:, None] - y[None, :]) ** 2
        i = jnp.arange(n + 1)

        def softmin(a, b, c):
            low = jnp.minimum(jnp.minimum(a, b), c)
            s = (jnp.exp((low - a) / gamma) + jnp.exp((low - b) / gamma)
                 + jnp.exp((low - c) / gamma))
            return low - gamma * jnp.log(s)

        def shifted(r):  # r[i - 1] at position i
            return jnp.concatenate((jnp.full(1, big), r[:-1]))

        def diagonal(carry, p):
            r2, r1 = carry  # diagonals p - 2 and p - 1, indexed by i
            j = p - i
            valid = (i >= 1) & (j >= 1) & (j <= m)
            cost = D[jnp.clip(i - 1, 0, n - 1), jnp.clip(j - 1, 0, m - 1)]
            r = jnp.where(valid, cost + softmin(shifted(r2), shifted(r1), r1), big)
            return (r1, r), None

        r0 = jnp.full(n + 1, big).at[0].set(0.0)
        (_, last), _ = lax.scan(diagonal, (r0, jnp.full(n + 1, big)), jnp.arange(2, n + m + 1))
        return last[n]

    return loss, ()


def jax_heat(jnp, lax):
    def loss(k, u0, measured, steps):
        def step(_, u):
            return jnp.zeros_like(u).at[1:-1].set(u[1:-1] + k * (u[:-2] - 2.0 * u[1:-1] + u[2:]))

        r = lax.fori_loop(0, steps, step, u0) - measured
        return jnp.sum(r * r)

    return loss, ("steps",)


def jax_nbody(jnp, lax):
    def loss(G, pos0, vel0, mass, dt, steps, eps, observed):
        off_diagonal = 1.0 - jnp.eye(pos0.shape[0])

        def step(_, state):
            x, v = state
            d = x[None, :, :] - x[:, None, :]  # d[i, j] = x_j - x_i
            r2 = jnp.sum(d * d, axis=-1) + eps * eps
            w = off_diagonal * mass[None, :] / (r2 * jnp.sqrt(r2))
            v = v + dt * G * jnp.einsum("ij,ijk->ik", w, d)
            return x + dt * v, v

        x, _ = lax.fori_loop(0, steps, step, (pos0, vel0))
        r = x - observed
        return jnp.sum(r * r)

    return loss, ("steps",)


# --------------------------------------------------------------------------------------------
# The workloads


def soft_dtw_args():
    rng = np.random.default_rng(1)
    t = np.linspace(0.0, 4.0 * np.pi, 128)
    x = np.sin(t) + 0.1 * rng.standard_normal(128)
    y = np.sin(t + 0.5) ** 3 + 0.1 * rng.standard_normal(128)
    return x, y, 0.1


def heat_args():
    n, steps = 200, 200
    grid = np.linspace(0.0, 1.0, n)
    u0 = np.exp(-200.0 * (grid - 0.3) ** 2) + 0.5 * np.exp(-100.0 * (grid - 0.7) ** 2)
    measured = u0.copy()  # the profile simulated with k = 0.3
    for _ in range(steps):
        measured[1:-1] += 0.3 * (measured[:-2] - 2.0 * measured[1:-1] + measured[2:])
        measured[[0, -1]] = 0.0
    return 0.25, u0, measured, steps


def nbody_args():
    n, steps, dt, eps = 32, 100, 0.005, 0.1
    rng = np.random.default_rng(3)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    radius = rng.uniform(0.5, 1.5, n)
    pos0 = np.column_stack((radius * np.cos(angle), radius * np.sin(angle)))
    vel0 = 0.3 * np.column_stack((-np.sin(angle), np.cos(angle)))
    mass = rng.uniform(0.5, 1.5, n) / n
    observed = pos0 + 0.1 * rng.standard_normal((n, 2))
    return 1.2, pos0, vel0, mass, dt, steps, eps, observed


@dataclass
class Workload:
    name: str  # a key, also for the child process
    title: str
    fn: Callable  # the user's loss
    wrt: str
    make_args: Callable[[], tuple]
    hand: Callable  # its hand-written gradient in Numba, same arguments
    jax: Callable  # (jnp, lax) -> (the loss in JAX, names of its static arguments)


WORKLOADS = {w.name: w for w in [
    Workload("soft_dtw", "soft-DTW, 128 x 128, d/dx (128 entries)", soft_dtw, "x",
             soft_dtw_args, hand_soft_dtw, jax_soft_dtw),
    Workload("heat", "heat stencil, 200 points x 200 steps, d/dk", heat_misfit, "k",
             heat_args, hand_heat, jax_heat),
    Workload("nbody", "N-body, 32 bodies x 100 steps, d/dG", nbody_misfit, "G",
             nbody_args, hand_nbody, jax_nbody),
]}


# --------------------------------------------------------------------------------------------
# Correctness before timing


def finite_differences(forward: Callable, args: tuple, position: int, entries: list,
                       h: float = 1e-6) -> np.ndarray:
    """Central differences of the compiled forward at a few entries of argument ``position``."""
    out = []
    for entry in entries:
        lo, hi = list(args), list(args)
        if entry is None:
            lo[position] = args[position] - h
            hi[position] = args[position] + h
        else:
            lo[position] = args[position].copy()
            hi[position] = args[position].copy()
            lo[position][entry] -= h
            hi[position][entry] += h
        out.append((forward(*hi) - forward(*lo)) / (2.0 * h))
    return np.array(out)


def check(w: Workload, forward: Callable, dloss: Callable, args: tuple,
          jax_grad: Callable | None) -> None:
    """The generated gradient against central differences, the hand-written gradient and JAX's,
    or exit."""
    gen = np.atleast_1d(np.asarray(dloss(*args), dtype=float))
    position = w.fn.__code__.co_varnames.index(w.wrt)
    entries = [None] if np.ndim(args[position]) == 0 else [0, len(gen) // 2, len(gen) - 1]
    fd = finite_differences(forward, args, position, entries)
    picked = gen if entries == [None] else gen[entries]
    fd_err = float(np.max(np.abs(picked - fd) / (np.abs(fd) + 1e-8)))
    hand = np.atleast_1d(np.asarray(w.hand(*args), dtype=float))
    hand_err = float(np.max(np.abs(gen - hand)) / np.max(np.abs(hand)))
    line = (f"check: {len(entries)} central difference(s) rel. err {fd_err:.1e}, "
            f"hand-written {hand_err:.1e}")
    if fd_err > 1e-5 or hand_err > 1e-9:
        raise SystemExit(f"{w.title}: the generated gradient disagrees ({line})")
    if jax_grad is not None:
        peer = np.atleast_1d(np.asarray(jax_grad(*args), dtype=float))
        jax_err = float(np.max(np.abs(gen - peer)) / np.max(np.abs(hand)))
        line += f", JAX {jax_err:.1e}"
        if jax_err > 1e-8:
            raise SystemExit(f"{w.title}: JAX's gradient disagrees ({line})")
    print(line)


# --------------------------------------------------------------------------------------------
# Timing


def batch_size(run: Callable) -> int:
    """Calls per timed batch: enough for BATCH_SECONDS (the run is warm)."""
    t0 = time.perf_counter()
    run()
    return max(1, int(BATCH_SECONDS / max(time.perf_counter() - t0, 1e-9)))


def interleaved(runs: dict[str, Callable], repeats: int) -> dict[str, np.ndarray]:
    """Seconds per call of each run: ``repeats`` rounds after a warm-up call, each round timing
    a batch of calls of every run, back to back, so that machine noise hits all alike."""
    for run in runs.values():
        run()  # warm-up: compile
    batches = {name: batch_size(run) for name, run in runs.items()}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            t0 = time.perf_counter()
            for _ in range(batches[name]):
                run()
            times[name].append((time.perf_counter() - t0) / batches[name])
    return {name: np.array(t) for name, t in times.items()}


def ratio(a: np.ndarray, b: np.ndarray) -> float:
    """Median over rounds of a / b, each round's two batches timed back to back."""
    return float(np.median(a / b))


# --------------------------------------------------------------------------------------------
# First-call latency, in fresh processes

CHILD = textwrap.dedent('''
    import importlib.util, json, sys, time
    spec = importlib.util.spec_from_file_location("loops_benchmark", sys.argv[1])
    module = sys.modules["loops_benchmark"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports numpy, numba, adcompile: not counted
    import adcompile as adc
    w = module.WORKLOADS[sys.argv[2]]
    args = w.make_args()
    make = {"grad": adc.grad, "forward": adc.forward}[sys.argv[3]]
    t0 = time.perf_counter()
    f = make(w.fn, wrt=w.wrt)
    t1 = time.perf_counter()
    f(*args)
    t2 = time.perf_counter()
    print(json.dumps({"generate": t1 - t0, "first call": t2 - t1, "total": t2 - t0}))
''')


def first_call(name: str, role: str) -> tuple[float, float]:
    """Seconds of ``adc.<role>(f, wrt)`` and its first call in a fresh process: with empty
    caches (adcompile's kernels compiled too, as right after installing), then in a second
    process with an empty adcompile cache but the Numba cache the first one left (a new
    function on a machine where adcompile has run before: only the gradient compiles)."""
    totals = []
    with tempfile.TemporaryDirectory(prefix="adcompile-loops-") as workdir:
        for run in range(2):
            env = dict(os.environ)
            env["ADCOMPILE_CACHE_DIR"] = str(Path(workdir) / f"adcompile-cache-{run}")
            env["NUMBA_CACHE_DIR"] = str(Path(workdir) / "numba-cache")
            out = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).resolve()),
                                  name, role], env=env, capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(f"the first-call child for {name} ({role}) failed:\n"
                                 f"{out.stderr}")
            totals.append(json.loads(out.stdout.strip().splitlines()[-1])["total"])
    return totals[0], totals[1]


# --------------------------------------------------------------------------------------------


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def jax_gradient(w: Workload, args: tuple) -> tuple[Callable, float]:
    """JAX's jit(grad) of the workload, and the seconds of its first call (trace + compile)."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from jax import lax
    from jax import numpy as jnp

    loss, static = w.jax(jnp, lax)
    names = w.fn.__code__.co_varnames
    grad = jax.jit(jax.grad(loss, argnums=names.index(w.wrt)),
                   static_argnums=tuple(names.index(name) for name in static))

    def call(*values):
        return jax.block_until_ready(grad(*values))

    t0 = time.perf_counter()
    call(*args)
    return call, time.perf_counter() - t0


def bench(w: Workload, repeats: int, source: bool, use_jax: bool) -> dict[str, float]:
    args = w.make_args()
    forward = adc.forward(w.fn, wrt=w.wrt)
    dloss = adc.grad(w.fn, wrt=w.wrt)
    if source:
        print(dloss.source)
    print(f"{w.title}: loss {forward(*args):.10g}")
    jax_grad, jax_first = jax_gradient(w, args) if use_jax else (None, math.nan)
    check(w, forward, dloss, args, jax_grad)

    runs = {"forward: adc.forward": lambda: forward(*args),
            "gradient: adc.grad": lambda: dloss(*args),
            "gradient: hand-written, njit": lambda: w.hand(*args)}
    samples = interleaved(runs, repeats)
    if jax_grad is not None:
        # timed on its own, after the others: XLA's thread pool keeps spinning for a while after
        # each call and would slow whichever contender ran next on the two cores
        samples.update(interleaved({"gradient: JAX jit(grad)": lambda: jax_grad(*args)},
                                   repeats))
    fwd = float(np.median(samples["forward: adc.forward"]))
    print(f"\n  {'what':<32} {'ms/call':>9} {'x forward':>10}")
    for row, s in samples.items():
        print(f"  {row:<32} {np.median(s) * 1e3:>9.3f} {np.median(s) / fwd:>10.2f}")
    if jax_grad is None:
        print(f"  {'gradient: JAX jit(grad)':<32} skipped: JAX is not installed")

    gen_s = samples["gradient: adc.grad"]
    result = {"grad/forward": ratio(gen_s, samples["forward: adc.forward"]),
              "grad/hand": ratio(gen_s, samples["gradient: hand-written, njit"]),
              "grad/jax": (float(np.median(gen_s) / np.median(samples["gradient: JAX jit(grad)"]))
                           if jax_grad is not None else math.nan),
              "tape MB": dloss.tape_bytes(*args) / 1e6,
              "grad ms": float(np.median(gen_s)) * 1e3,
              "jax first": jax_first}
    for role in ("grad", "forward"):
        result[f"{role} first"], result[f"{role} again"] = first_call(w.name, role)
    print(f"\n  generated gradient / forward = {result['grad/forward']:.2f}   "
          f"{'PASS' if result['grad/forward'] <= GRAD_OVER_FORWARD_BAR else 'MISS'} "
          f"(bar <= {GRAD_OVER_FORWARD_BAR:g})")
    print(f"  generated / hand-written     = {result['grad/hand']:.2f}")
    print(f"  adcompile / JAX gradient     = {result['grad/jax']:.2f}")
    print(f"  tape of one gradient call    = {result['tape MB']:.2f} MB")
    print(f"  first call, fresh process: adc.grad {result['grad first']:.1f} s, adc.forward "
          f"{result['forward first']:.1f} s; JAX jit(grad) {result['jax first']:.2f} s")
    print(f"  the same, adcompile's kernels cached: adc.grad {result['grad again']:.1f} s, "
          f"adc.forward {result['forward again']:.1f} s\n")
    return result


def summary(results: dict[str, dict[str, float]]) -> None:
    head = (f"{'workload':<10} {'grad/fwd':>9} {'bar':>5} {'grad/hand':>10} {'adc/JAX':>8} "
            f"{'tape MB':>8} {'1st call grad':>14} {'kernels cached':>15} {'1st call fwd':>13} "
            f"{'JAX 1st':>8}")
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        print(f"{name:<10} {r['grad/forward']:>9.2f} {'<= 3':>5} {r['grad/hand']:>10.2f} "
              f"{r['grad/jax']:>8.2f} {r['tape MB']:>8.2f} {r['grad first']:>12.1f} s "
              f"{r['grad again']:>13.1f} s {r['forward first']:>11.1f} s {r['jax first']:>6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated gradients' source")
    parser.add_argument("--no-jax", action="store_true", help="leave JAX out even if installed")
    opts = parser.parse_args()
    repeats = 5 if opts.quick else 21
    use_jax = installed("jax") and not opts.no_jax

    print("loops that write arrays inside nested loops; ratios: median over rounds of the "
          "per-round ratio")
    print(f"ms per call: median of {repeats} rounds after warm-up, each round timing a batch of "
          f"calls of every candidate, back to back;\nnumba {numba.__version__}, numpy "
          f"{np.__version__}, python {sys.version.split()[0]}, {os.cpu_count()} cores"
          + ("" if use_jax else "; JAX left out: its columns are skipped (nan)") + "\n")
    results = {name: bench(w, repeats, opts.source, use_jax) for name, w in WORKLOADS.items()}
    summary(results)


if __name__ == "__main__":
    main()
