"""Forward mode and second order: jvp against the forward, hvp against the gradient, Hessians.

Run from the repository root (a few minutes, most of it compiling; ``--quick`` for fewer
repeats):

    python benchmarks/second_order.py [--quick]

What it measures, every figure a ratio taken in this one run (performance.md):

1. The Rosenbrock loop (n = 100,000 variables, a plain ``for`` loop) and the MLP of
   ``benchmarks/mlp.py`` (2-32-1 tanh, 256 rows, differentiated in its four parameters):
   time per call of the forward (``adc.forward``), the directional derivative
   (``adc.jvp``), the gradient (``adc.grad``) and the Hessian-vector product
   (``adc.hvp``), in interleaved rounds (CPU time of this thread, so that other work on the
   machine is left out).  Bars: jvp / forward <= 1.5; hvp / gradient <= 3.  For the
   Rosenbrock loop, also a directional derivative written by hand and compiled by Numba: the
   limit of forward mode on that loop.
2. The full Hessian of a loss of 100 parameters (logistic regression on 400 rows):
   ``adc.hessian`` (the Hessian-vector products of all 100 columns at once, the work that
   does not depend on the column done once: ``adcompile/hoist.py``, ``adcompile/batch.py``)
   against
   ``jax.jit(jax.hessian(...))`` when JAX is installed (``pip install -e ".[bench-jax]"``),
   skipped with a note otherwise; wall-clock time here, since JAX computes in threads of its
   own.

Before timing, each derivative is checked against central differences.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time

import numba
import numpy as np

import adcompile as adc

SEED = 2024
HIDDEN = 32


def rosen(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


@numba.njit
def rosen_jvp_by_hand(x, t):
    """The Rosenbrock loop's value and directional derivative, written by hand: the limit
    of forward mode compiled by Numba."""
    s = 0.0
    ds = 0.0
    for i in range(len(x) - 1):
        a = x[i + 1] - x[i] * x[i]
        da = t[i + 1] - 2.0 * x[i] * t[i]
        b = 1.0 - x[i]
        s += 100.0 * a * a + b * b
        ds += 200.0 * a * da - 2.0 * b * t[i]
    return s, ds


def mlp(W1, b1, W2, b2, X, y):
    H = np.tanh(X @ W1 + b1)
    yhat = H @ W2 + b2
    return np.mean((yhat - y) ** 2)


def logistic(w, X, s):
    z = s * (X @ w)
    return np.mean(np.log1p(np.exp(-z))) + 0.005 * np.sum(w * w)


def mlp_problem(n: int = 256):
    rng = np.random.default_rng(SEED)
    W1 = rng.standard_normal((2, HIDDEN)) / math.sqrt(2.0)
    b1 = 0.1 * rng.standard_normal(HIDDEN)
    W2 = rng.standard_normal(HIDDEN) / math.sqrt(HIDDEN)
    X = rng.standard_normal((n, 2))
    y = np.sin(X[:, 0]) * np.cos(X[:, 1])
    return (W1, b1, W2, 0.1, X, y)


def per_call(runs: dict, repeats: int, seconds: float = 0.05, clock=time.thread_time) -> dict:
    """Microseconds per call of each ``run()``, per round, by ``clock`` (CPU time of this
    thread by default): each round times a block of every run in turn, so that the machine's
    noise hits all alike."""
    sizes = {}
    for name, run in runs.items():
        run()
        calls, elapsed = 1, 0.0
        while elapsed < seconds / 4 and calls < 1 << 20:
            calls *= 2
            t0 = clock()
            for _ in range(calls):
                run()
            elapsed = clock() - t0
        sizes[name] = max(1, int(calls * seconds / max(elapsed, 1e-9)))
    samples = {name: np.empty(repeats) for name in runs}
    for r in range(repeats):
        for name, run in runs.items():
            t0 = clock()
            for _ in range(sizes[name]):
                run()
            samples[name][r] = (clock() - t0) * 1e6 / sizes[name]
    return samples


def ratio(samples: dict, a: str, b: str) -> float:
    return float(np.median(samples[a] / samples[b]))


def directional(f, args, positions, tangents, h=1e-6):
    def moved(sign):
        out = list(args)
        for p, t in zip(positions, tangents, strict=True):
            out[p] = args[p] + sign * h * t
        return f(*out)
    return (moved(1.0) - moved(-1.0)) / (2 * h)


def check(name: str, got, want, rtol: float) -> None:
    if not np.allclose(got, want, rtol=rtol, atol=1e-8 * max(1.0, float(np.max(np.abs(want))))):
        sys.exit(f"{name}: generated {np.ravel(got)[:4]} differs from finite differences "
                 f"{np.ravel(want)[:4]}")


def workload(name: str, f, args: tuple, wrt: tuple[int, ...], repeats: int,
             hand_jvp=None) -> dict:
    """The four functions of ``f`` timed at ``args`` (and ``hand_jvp``, a directional
    derivative written by hand, when given); returns the ratios."""
    rng = np.random.default_rng(SEED)
    wrt_arg = wrt if len(wrt) > 1 else wrt[0]
    tangents = tuple(rng.standard_normal(np.shape(args[p])) if np.ndim(args[p])
                     else float(rng.standard_normal()) for p in wrt)
    forward = adc.forward(f)
    jvp = adc.jvp(f, wrt=wrt_arg)
    grad = adc.grad(f, wrt=wrt_arg)
    hvp = adc.hvp(f, wrt=wrt_arg)
    t0 = time.perf_counter()
    _, d = jvp(*args, *tangents)
    hv = hvp(*args, *tangents)
    first = time.perf_counter() - t0
    check(f"{name} jvp", d, directional(f, args, wrt, tangents), 1e-5)
    grads = grad(*args) if len(wrt) > 1 else (grad(*args),)
    hv = hv if len(wrt) > 1 else (hv,)
    for k in range(len(wrt)):  # H v, part k: the derivative of the gradient along v
        def part(*a, k=k):
            g = grad(*a)
            return g[k] if len(wrt) > 1 else g
        check(f"{name} hvp[{k}]", hv[k], directional(part, args, wrt, tangents), 1e-4)
    del grads
    runs = {"forward": lambda: forward(*args), "jvp": lambda: jvp(*args, *tangents),
            "gradient": lambda: grad(*args), "hvp": lambda: hvp(*args, *tangents)}
    if hand_jvp is not None:
        check(f"{name} hand-written jvp", hand_jvp(*args, *tangents)[1], d, 1e-10)
        runs["hand jvp"] = lambda: hand_jvp(*args, *tangents)
    samples = per_call(runs, repeats)
    print(f"\n{name}  (first call of jvp and hvp, compiling both: {first:.1f} s)")
    for key, values in samples.items():
        print(f"  {key:<10}{np.median(values):12.1f} us per call")
    jvp_ratio = ratio(samples, "jvp", "forward")
    hvp_ratio = ratio(samples, "hvp", "gradient")
    for label, value, bar in (("jvp / forward", jvp_ratio, 1.5),
                              ("hvp / gradient", hvp_ratio, 3.0)):
        print(f"  {label:<16}{value:6.2f}   (bar <= {bar:g}: "
              f"{'pass' if value <= bar else 'MISS'})")
    if hand_jvp is not None:
        print(f"  {'jvp / hand-written jvp':<24}{ratio(samples, 'jvp', 'hand jvp'):6.2f}")
        print(f"  {'hand-written jvp / forward':<24}{ratio(samples, 'hand jvp', 'forward'):6.2f}"
              "   (the limit of forward mode here)")
    return {"jvp/forward": jvp_ratio, "hvp/gradient": hvp_ratio}


def full_hessian(repeats: int) -> None:
    rng = np.random.default_rng(SEED)
    d, n = 100, 400
    X = rng.standard_normal((n, d))
    s = np.where(X @ rng.standard_normal(d) > 0, 1.0, -1.0)
    w = 0.1 * rng.standard_normal(d)
    hessian = adc.hessian(logistic)
    t0 = time.perf_counter()
    H = hessian(w, X, s)
    first = time.perf_counter() - t0
    p = 1.0 / (1.0 + np.exp(s * (X @ w)))  # by hand: X^T diag(p (1 - p)) X / n + 0.01 I
    check("Hessian", H, (X.T * (p * (1 - p))) @ X / n + 0.01 * np.eye(d), 1e-8)
    runs = {"adcompile": lambda: hessian(w, X, s)}
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        def jlogistic(w, X, s):
            z = s * (X @ w)
            return jnp.mean(jnp.log1p(jnp.exp(-z))) + 0.005 * jnp.sum(w * w)

        jhess = jax.jit(jax.hessian(jlogistic))
        jw, jX, js = jnp.asarray(w), jnp.asarray(X), jnp.asarray(s)
        check("jax Hessian", np.asarray(jhess(jw, jX, js)), H, 1e-10)
        runs["jax"] = lambda: jhess(jw, jX, js).block_until_ready()
    samples = per_call(runs, repeats, clock=time.perf_counter)  # JAX works in threads
    print(f"\nfull Hessian, logistic regression, {d} parameters, {n} rows "
          f"(first call, compiling: {first:.1f} s; wall-clock times)")
    for key, values in samples.items():
        print(f"  {key:<10}{np.median(values) / 1e3:10.3f} ms per Hessian")
    if "jax" in samples:
        print(f"  adcompile / JAX  {ratio(samples, 'adcompile', 'jax'):6.2f}   (aim: below 1)")
    else:
        print('  JAX is not installed: pip install -e ".[bench-jax]" for the comparison')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    repeats = 5 if args.quick else 15
    x = np.random.default_rng(SEED).uniform(-1.0, 1.0, 100_000)
    workload("Rosenbrock loop, n = 100,000", rosen, (x,), (0,), repeats,
             hand_jvp=rosen_jvp_by_hand)
    workload(f"MLP 2-{HIDDEN}-1, 256 rows, wrt W1, b1, W2, b2", mlp, mlp_problem(),
             (0, 1, 2, 3), repeats)
    full_hessian(repeats)


if __name__ == "__main__":
    main()
