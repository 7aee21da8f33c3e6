"""Array models: the generated gradient against hand-written NumPy backprop, PyTorch and JAX.

Run from the repository root (about two minutes on 2 cores, one more with ``--first-use``;
``--quick`` for fewer rounds, ``--source`` to print the generated code being measured,
``--skip-compile`` to leave out the fresh-process measurements):

    python benchmarks/models.py [--quick] [--source] [--skip-compile] [--first-use]

Three models, each loss written the way a NumPy user writes it (plain Python and NumPy, below):

1. MLP 784-256-10, tanh hidden layer, softmax cross-entropy (mean over the batch, one-hot
   targets, the log-sum-exp written unshifted as in ``scale.py``), at batch 128 and batch 1024;
2. logistic regression, X 100,000 x 50, ``mean(logaddexp(0, -y * (X @ w + b)))``, y in {-1, +1};
3. vanilla RNN, hidden 32, T = 200 steps, batch 64, input dim 8:
   ``h = tanh(X[t] @ Wx + h @ Wh + b)`` in a Python loop from h = 0, the loss the mean squared
   error of ``h @ Wo`` (4 outputs) against targets at the last step.

Contenders, each returning the loss and its gradient w.r.t. every parameter:

- hand NumPy: backprop written by hand in NumPy (BPTT for the RNN), the reference;
- adcompile: ``adc.value_and_grad(loss, wrt=...)``, serial, BLAS with its default threads;
- PyTorch eager: the same loss in ``torch`` (float64), ``loss.backward()``, default threads;
- JAX: ``jax.jit(jax.value_and_grad(loss, argnums=...))`` in float64, when JAX is installed
  (the RNN's loop as ``jax.lax.scan``).

Every gradient is checked against the hand-written one first (rtol 1e-8, all in float64).  A
round times one block of calls of every contender (a block lasts about 20 ms, after two untimed
calls), in a fresh random order; a time is the median over the rounds, a ratio the median over
the rounds of the ratio of the two blocks of the same round (performance.md).  Bars (issue 11):
adcompile <= 1.10 x hand NumPy, and below 1 x PyTorch eager and JAX.

Then compile latency, for the MLP 784-256-10 at batch 128, each in a fresh process (imports of
NumPy, Numba and adcompile not counted; the loss lives in a module in a temporary directory):

- adcompile ``value_and_grad`` + first call, with an empty ``ADCOMPILE_CACHE_DIR`` ("cold"),
  then again in a second process with the same directory ("warm");
- ``adc.optim.minibatch_sgd`` on the same loss for one step (the gradient and the training
  loop, built and compiled, or read from the caches), cold and warm the same way;
- Numba's ``njit(cache=True)`` of the forward + first call, in a fresh module directory
  ("cold": compiles and writes the cache), then again in a second process ("warm": loads it);
- each once more in a third process ("3rd", for information: what a cache left by an earlier
  warm process saves).

Bars: adcompile cold <= 2.0 x Numba cold, warm <= 1.3 x Numba warm, for both.  adcompile's
kernels keep their own Numba cache next to the installed package, warm after their first use
on a machine; ``--first-use`` adds one adcompile run with an empty ``NUMBA_CACHE_DIR`` as
well (its kernels compiled too, as right after installing; about 30 s more).

BLAS runs with its default threads (NumPy's OpenBLAS, and SciPy's, which Numba calls); set
``OPENBLAS_NUM_THREADS=1`` to pin both to one thread.  On a machine whose cores are busy with other
work, multi-threaded OpenBLAS can be many times slower than on one thread (a 128 x 784 by
784 x 256 product: 1.5 ms on one thread, 40 ms on two with another process on the cores): the
header prints the load average; compare runs on a quiet machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

import adcompile as adc

SEED = 0
BLOCK_SECONDS = 0.02  # length of one timed block of calls of one contender
# Untimed calls before each block: four libraries' thread pools (NumPy's and SciPy's OpenBLAS,
# PyTorch's OpenMP, XLA's) share two cores here, and the pool a contender left busy-waiting
# slows the first calls of the next one; a user's program has one of them.
WARM_CALLS = 2
BAR_HAND, BAR_PEER, BAR_COLD, BAR_WARM = 1.10, 1.0, 2.0, 1.3
RTOL = 1e-8


# --------------------------------------------------------------------------------------------
# The losses, as a NumPy user writes them


def mlp(W1, b1, W2, b2, X, T):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    lse = np.log(np.sum(np.exp(Z), axis=1))
    return -np.mean(np.sum(T * Z, axis=1) - lse)


def logistic(w, b, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w + b)))


def rnn(Wx, Wh, b, Wo, X, Y):
    h = np.zeros((X.shape[1], Wh.shape[0]))
    for t in range(X.shape[0]):
        h = np.tanh(X[t] @ Wx + h @ Wh + b)
    return np.mean((h @ Wo - Y) ** 2)


# --------------------------------------------------------------------------------------------
# Backprop by hand, in NumPy: (loss, (gradient of each parameter))


def mlp_hand(W1, b1, W2, b2, X, T):
    n = X.shape[0]
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    E = np.exp(Z)
    s = E.sum(axis=1)
    value = -np.mean(np.sum(T * Z, axis=1) - np.log(s))
    dZ = (E / s[:, None] - T) / n  # softmax - one-hot, over the batch size
    dW2 = H.T @ dZ
    db2 = dZ.sum(axis=0)
    dA = (dZ @ W2.T) * (1.0 - H * H)  # through tanh
    dW1 = X.T @ dA
    db1 = dA.sum(axis=0)
    return value, (dW1, db1, dW2, db2)


def logistic_hand(w, b, X, y):
    m = -y * (X @ w + b)
    value = np.mean(np.logaddexp(0.0, m))
    dz = -y / (1.0 + np.exp(-m)) / X.shape[0]  # d value / d (X @ w + b)
    return value, (dz @ X, dz.sum())


def rnn_hand(Wx, Wh, b, Wo, X, Y):
    steps, batch, _ = X.shape
    H = np.zeros((steps + 1, batch, Wh.shape[0]))  # H[t + 1]: the state after step t
    for t in range(steps):
        H[t + 1] = np.tanh(X[t] @ Wx + H[t] @ Wh + b)
    r = H[steps] @ Wo - Y
    value = np.mean(r ** 2)
    dout = (2.0 / r.size) * r
    dWo = H[steps].T @ dout
    dh = dout @ Wo.T
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for t in range(steps - 1, -1, -1):  # backpropagation through time
        da = dh * (1.0 - H[t + 1] ** 2)
        dWx += X[t].T @ da
        dWh += H[t].T @ da
        db += da.sum(axis=0)
        dh = da @ Wh.T
    return value, (dWx, dWh, db, dWo)


# --------------------------------------------------------------------------------------------
# The problems


def mlp_problem(n: int, rng):
    X = rng.normal(size=(n, 784))
    T = np.eye(10)[rng.integers(0, 10, size=n)]
    return (0.05 * rng.normal(size=(784, 256)), 0.01 * rng.normal(size=256),
            0.05 * rng.normal(size=(256, 10)), 0.01 * rng.normal(size=10), X, T)


def logistic_problem(rng):
    X = rng.normal(size=(100_000, 50))
    y = np.sign(X @ rng.normal(size=50) + 0.1 * rng.normal(size=100_000))
    return 0.01 * rng.normal(size=50), 0.1, X, y


def rnn_problem(rng, steps=200, batch=64, inputs=8, hidden=32, outputs=4):
    return (rng.normal(size=(inputs, hidden)) / np.sqrt(inputs),
            0.9 * rng.normal(size=(hidden, hidden)) / np.sqrt(hidden),
            0.1 * rng.normal(size=hidden), rng.normal(size=(hidden, outputs)) / np.sqrt(hidden),
            rng.normal(size=(steps, batch, inputs)), rng.normal(size=(batch, outputs)))


MODELS = {  # name: (loss, hand backprop, parameters, problem)
    "MLP 784-256-10, batch 128": (mlp, mlp_hand, ("W1", "b1", "W2", "b2"),
                                  lambda rng: mlp_problem(128, rng)),
    "MLP 784-256-10, batch 1024": (mlp, mlp_hand, ("W1", "b1", "W2", "b2"),
                                   lambda rng: mlp_problem(1024, rng)),
    "logistic 100,000 x 50": (logistic, logistic_hand, ("w", "b"), logistic_problem),
    "RNN h32 T200 batch 64": (rnn, rnn_hand, ("Wx", "Wh", "b", "Wo"), rnn_problem),
}


# --------------------------------------------------------------------------------------------
# The peers: each builds a call with the signature of the hand backprop, returning NumPy


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def torch_contender(loss, args, nparams):
    import torch

    def tlogistic(w, b, X, y):
        return torch.mean(torch.logaddexp(torch.zeros((), dtype=torch.float64),
                                          -y * (X @ w + b)))

    def tmlp(W1, b1, W2, b2, X, T):
        H = torch.tanh(X @ W1 + b1)
        Z = H @ W2 + b2
        lse = torch.log(torch.sum(torch.exp(Z), dim=1))
        return -torch.mean(torch.sum(T * Z, dim=1) - lse)

    def trnn(Wx, Wh, b, Wo, X, Y):
        h = torch.zeros((X.shape[1], Wh.shape[0]), dtype=torch.float64)
        for t in range(X.shape[0]):
            h = torch.tanh(X[t] @ Wx + h @ Wh + b)
        return torch.mean((h @ Wo - Y) ** 2)

    tloss = {mlp: tmlp, logistic: tlogistic, rnn: trnn}[loss]
    tensors = [torch.tensor(a, dtype=torch.float64) for a in args]
    params = tensors[:nparams]
    for p in params:
        p.requires_grad_()

    def call():
        for p in params:
            p.grad = None
        value = tloss(*tensors)
        value.backward()
        return float(value.detach()), tuple(p.grad.numpy() for p in params)

    return call


def jax_contender(loss, args, nparams):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def jlogistic(w, b, X, y):
        return jnp.mean(jnp.logaddexp(0.0, -y * (X @ w + b)))

    def jmlp(W1, b1, W2, b2, X, T):
        H = jnp.tanh(X @ W1 + b1)
        Z = H @ W2 + b2
        lse = jnp.log(jnp.sum(jnp.exp(Z), axis=1))
        return -jnp.mean(jnp.sum(T * Z, axis=1) - lse)

    def jrnn(Wx, Wh, b, Wo, X, Y):
        def step(h, x):
            return jnp.tanh(x @ Wx + h @ Wh + b), None

        h, _ = jax.lax.scan(step, jnp.zeros((X.shape[1], Wh.shape[0])), X)
        return jnp.mean((h @ Wo - Y) ** 2)

    jloss = {mlp: jmlp, logistic: jlogistic, rnn: jrnn}[loss]
    vg = jax.jit(jax.value_and_grad(jloss, argnums=tuple(range(nparams))))
    jargs = [jnp.asarray(a) for a in args]

    def call():
        value, grads = jax.block_until_ready(vg(*jargs))
        return float(value), tuple(np.asarray(g) for g in grads)

    return call


# --------------------------------------------------------------------------------------------
# Measuring


def agree(name: str, got, want, rtol: float = RTOL) -> None:
    (gv, gg), (wv, wg) = got, want
    problems = []
    if not np.isclose(gv, wv, rtol=rtol, atol=0.0):
        problems.append(f"value {gv!r} vs {wv!r}")
    for k, (g, w) in enumerate(zip(gg, wg, strict=True)):
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w)
        if g.shape != w.shape:
            problems.append(f"gradient {k}: shape {g.shape} vs {w.shape}")
        elif not np.allclose(g, w, rtol=rtol, atol=rtol * 1e-3 * np.max(np.abs(w))):
            problems.append(f"gradient {k}: max relative difference "
                            f"{np.max(np.abs(g - w)) / np.max(np.abs(w)):.2e}")
    if problems:
        sys.exit(f"{name} disagrees with the hand-written NumPy backprop: "
                 + "; ".join(problems))


def block_size(call) -> int:
    """Calls per block of about BLOCK_SECONDS (after a warm-up call)."""
    call()
    t0 = time.perf_counter()
    call()
    once = time.perf_counter() - t0
    return max(1, round(BLOCK_SECONDS / max(once, 1e-6)))


def rounds(calls: dict, count: int, rng) -> dict:
    """Seconds per call of each contender, one block each per round, in random order; each
    block starts with WARM_CALLS untimed calls."""
    sizes = {name: block_size(call) for name, call in calls.items()}
    times = {name: np.empty(count) for name in calls}
    order = list(calls)
    for r in range(count):
        rng.shuffle(order)
        for name in order:
            call, k = calls[name], sizes[name]
            for _ in range(WARM_CALLS):
                call()
            t0 = time.perf_counter()
            for _ in range(k):
                call()
            times[name][r] = (time.perf_counter() - t0) / k
    return times


def per_gradient(count: int, show_source: bool) -> list:
    rng = np.random.default_rng(SEED)
    peers = {"PyTorch": installed("torch"), "JAX": installed("jax")}
    results = []
    built = {}
    for title, (loss, hand, wrt, make) in MODELS.items():
        args = make(rng)
        if loss not in built:
            built[loss] = adc.value_and_grad(loss, wrt=wrt)
            if show_source:
                print(built[loss].source)
        generated = built[loss]
        calls = {"hand NumPy": lambda h=hand, a=args: h(*a),
                 "adcompile": lambda g=generated, a=args: g(*a)}
        if peers["PyTorch"]:
            calls["PyTorch"] = torch_contender(loss, args, len(wrt))
        if peers["JAX"]:
            calls["JAX"] = jax_contender(loss, args, len(wrt))
        want = hand(*args)
        for name, call in calls.items():
            if name != "hand NumPy":
                agree(f"{title}: {name}", call(), want)
        times = rounds(calls, count, rng)
        results.append((title, times))
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return results


def print_per_gradient(results: list, count: int) -> list:
    names = ("hand NumPy", "adcompile", "PyTorch", "JAX")
    print(f"Time per gradient (value and gradient), ms, median of {count} interleaved rounds; "
          "ratios: median of the per-round ratios")
    head = (f"{'model':<27}" + "".join(f"{n:>11}" for n in names)
            + f"{'adc/hand':>10}{'adc/torch':>10}{'adc/jax':>9}")
    print(head)
    print("-" * len(head))
    verdicts = []
    for title, times in results:
        cells = "".join(f"{np.median(times[n]) * 1e3:11.3f}" if n in times else f"{'-':>11}"
                        for n in names)
        ratios = {}
        for peer in ("hand NumPy", "PyTorch", "JAX"):
            if peer in times:
                ratios[peer] = float(np.median(times["adcompile"] / times[peer]))
        cells += "".join(f"{ratios[p]:{w}.2f}" if p in ratios else f"{'-':>{w}}"
                         for p, w in (("hand NumPy", 10), ("PyTorch", 10), ("JAX", 9)))
        print(f"{title:<27}{cells}")
        bars = [f"hand {ratios['hand NumPy']:.2f} <= {BAR_HAND}: "
                f"{'PASS' if ratios['hand NumPy'] <= BAR_HAND else 'MISS'}"]
        bars += [f"{p} {ratios[p]:.2f} < 1: {'PASS' if ratios[p] < BAR_PEER else 'MISS'}"
                 for p in ("PyTorch", "JAX") if p in ratios]
        verdicts.append(f"{title:<27} adcompile / " + ";  ".join(bars))
    return verdicts


# --------------------------------------------------------------------------------------------
# Compile latency in fresh processes


LOSS_MODULE = '''
import numba
import numpy as np


def mlp(W1, b1, W2, b2, X, T):
    H = np.tanh(X @ W1 + b1)
    Z = H @ W2 + b2
    lse = np.log(np.sum(np.exp(Z), axis=1))
    return -np.mean(np.sum(T * Z, axis=1) - lse)


mlp_njit = numba.njit(cache=True)(mlp)
'''

DRIVER = '''
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import numba
t1 = time.perf_counter()
import adcompile as adc
t2 = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import {module} as m
rng = np.random.default_rng(0)
X = rng.normal(size=(128, 784))
T = np.eye(10)[rng.integers(0, 10, size=128)]
args = (0.05 * rng.normal(size=(784, 256)), np.zeros(256), 0.05 * rng.normal(size=(256, 10)),
        np.zeros(10), X, T)
t3 = time.perf_counter()
if sys.argv[2] == "adcompile":
    f = adc.value_and_grad(m.mlp, wrt=("W1", "b1", "W2", "b2"))
    f(*args)
elif sys.argv[2] == "sgd":  # one epoch of one minibatch: the gradient and the loop
    adc.optim.minibatch_sgd(m.mlp, args[:4], data=(X, T), batch_size=128, epochs=1,
                            progress=False)
else:
    m.mlp_njit(*args)
t4 = time.perf_counter()
print(json.dumps({{"numba import": t1 - t0, "adcompile import": t2 - t1, "first": t4 - t3}}))
'''


def fresh_process(tool: str, module_dir: str, env: dict) -> dict:
    module = os.path.basename(module_dir)
    out = subprocess.run([sys.executable, "-c", DRIVER.format(module=module), module_dir, tool],
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        sys.exit(f"the fresh {tool} process failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_latency(count: int, kernels_cold: bool) -> list:
    """Per repeat: adcompile cold, warm, warm again; Numba the same (seconds), each a fresh
    process, adcompile's and Numba's in random order.  With ``kernels_cold``, one more
    adcompile cold run with an empty NUMBA_CACHE_DIR too."""
    rng = np.random.default_rng(SEED)
    rows = []
    with tempfile.TemporaryDirectory(prefix="adc-models-") as tmp:
        for r in range(count):
            row = {}
            order = ["adcompile", "sgd", "numba"]
            rng.shuffle(order)
            for tool in order:
                # a fresh module (hence a fresh Numba cache index) and adcompile cache per run
                mdir = os.path.join(tmp, f"loss_{tool}_{r}")
                os.makedirs(mdir)
                with open(os.path.join(mdir, f"loss_{tool}_{r}.py"), "w") as fh:
                    fh.write(textwrap.dedent(LOSS_MODULE))
                env = dict(os.environ,
                           ADCOMPILE_CACHE_DIR=os.path.join(tmp, f"cache_{tool}_{r}"))
                cold = fresh_process(tool, mdir, env)
                warm = fresh_process(tool, mdir, env)
                again = fresh_process(tool, mdir, env)
                row[tool] = (cold["first"], warm["first"], again["first"])
                row[tool + " imports"] = (cold["numba import"], cold["adcompile import"])
            rows.append(row)
            print(".", end="", file=sys.stderr, flush=True)
        if kernels_cold:
            mdir = os.path.join(tmp, "loss_kernels")
            os.makedirs(mdir)
            with open(os.path.join(mdir, "loss_kernels.py"), "w") as fh:
                fh.write(textwrap.dedent(LOSS_MODULE))
            env = dict(os.environ, ADCOMPILE_CACHE_DIR=os.path.join(tmp, "cache_kernels"),
                       NUMBA_CACHE_DIR=os.path.join(tmp, "numba_cache"))
            rows.append({"kernels cold": fresh_process("adcompile", mdir, env)["first"]})
        print(file=sys.stderr)
    return rows


def print_compile(rows: list) -> list:
    pairs = [r for r in rows if "adcompile" in r]
    adc_cold, adc_warm, adc_again = np.array([r["adcompile"] for r in pairs]).T
    nb_cold, nb_warm, nb_again = np.array([r["numba"] for r in pairs]).T
    cold = float(np.median(adc_cold / nb_cold))
    warm = float(np.median(adc_warm / nb_warm))
    again = float(np.median(adc_again / nb_again))
    imports = np.median([r["adcompile imports"] for r in pairs], axis=0)
    print(f"\nMLP 784-256-10 batch 128, fresh process: build + first call, s, median of "
          f"{len(pairs)} (imports not counted: numba {imports[0]:.2f} s, then adcompile "
          f"{imports[1]:.2f} s)")
    print(f"{'':<38}{'cold':>8}{'warm':>8}{'3rd':>8}   (cold: 1st process on an empty cache; "
          "warm: the 2nd; 3rd: the one after)")
    print(f"{'adcompile value_and_grad + first call':<38}{np.median(adc_cold):8.2f}"
          f"{np.median(adc_warm):8.2f}{np.median(adc_again):8.2f}")
    print(f"{'Numba njit(cache=True) of the forward':<38}{np.median(nb_cold):8.2f}"
          f"{np.median(nb_warm):8.2f}{np.median(nb_again):8.2f}")
    print(f"{'adcompile / Numba':<38}{cold:8.2f}{warm:8.2f}{again:8.2f}")
    sgd_cold, sgd_warm, sgd_again = np.array([r["sgd"] for r in pairs]).T
    print(f"{'minibatch_sgd, one step':<38}{np.median(sgd_cold):8.2f}"
          f"{np.median(sgd_warm):8.2f}{np.median(sgd_again):8.2f}")
    s_cold = float(np.median(sgd_cold / nb_cold))
    s_warm = float(np.median(sgd_warm / nb_warm))
    print(f"{'minibatch_sgd / Numba':<38}{s_cold:8.2f}{s_warm:8.2f}"
          f"{float(np.median(sgd_again / nb_again)):8.2f}")
    extra = [r["kernels cold"] for r in rows if "kernels cold" in r]
    if extra:
        print(f"(adcompile cold with an empty NUMBA_CACHE_DIR too, its kernels compiled as on "
              f"first use after install: {extra[0]:.2f} s, {extra[0] / np.median(nb_cold):.2f} "
              "x Numba cold)")
    return [f"{'compile, cold':<27} adcompile / Numba {cold:.2f} <= {BAR_COLD}: "
            f"{'PASS' if cold <= BAR_COLD else 'MISS'}",
            f"{'compile, warm':<27} adcompile / Numba {warm:.2f} <= {BAR_WARM}: "
            f"{'PASS' if warm <= BAR_WARM else 'MISS'}",
            f"{'compile, minibatch_sgd cold':<27} adcompile / Numba {s_cold:.2f} <= {BAR_COLD}: "
            f"{'PASS' if s_cold <= BAR_COLD else 'MISS'}",
            f"{'compile, minibatch_sgd warm':<27} adcompile / Numba {s_warm:.2f} <= {BAR_WARM}: "
            f"{'PASS' if s_warm <= BAR_WARM else 'MISS'}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--source", action="store_true",
                        help="also print the generated code being measured")
    parser.add_argument("--skip-compile", action="store_true",
                        help="leave out the fresh-process compile measurements")
    parser.add_argument("--first-use", action="store_true",
                        help="also time adcompile cold with an empty NUMBA_CACHE_DIR (kernels too)")
    options = parser.parse_args()
    count = 11 if options.quick else 31

    print(f"numba {numba.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; BLAS threads: "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(unset: default)')}")
    for module, label in (("torch", "PyTorch"), ("jax", "JAX")):
        if not installed(module):
            print(f"{label} not installed: its column is skipped")
    if installed("torch"):
        import torch

        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print()
    results = per_gradient(count, options.source)
    verdicts = print_per_gradient(results, count)
    if not options.skip_compile:
        verdicts += print_compile(compile_latency(1 if options.quick else 3,
                                                  kernels_cold=options.first_use))
    print()
    for line in verdicts:
        print(line)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
