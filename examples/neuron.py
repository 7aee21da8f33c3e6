"""Steps 5 to 8 of the lecture: one neuron trained by stochastic gradient descent.

The neuron and its loss, written as plain Python:

    x1 = w * x;  x2 = x1 + b;  yhat = sigmoid(x2);  loss = (yhat - y) ** 2

Training examples are generated: x at random, y = sigmoid(w_star * x + b_star).  SGD starts
from a random (w, b), draws one example per step and moves (w, b) against the gradient of the
loss on that example; it recovers (w_star, b_star).

The gradient is backpropagation, i.e. the chain rule
    dL/dw = dL/dyhat * dyhat/dx2 * dx2/dx1 * dx1/dw,    dL/db = dL/dyhat * dyhat/dx2 * dx2/db,
and adcompile writes it out as Python code, which this script prints first.  The training loop
is an ordinary @numba.njit function that calls the generated code, so every step runs as
machine code; ``adcompile.optim.sgd`` runs the same kind of loop for you.

    python examples/neuron.py
    python examples/neuron.py --steps 5000 --lr 0.2 --w-star -1 --b-star 0.5
"""

from __future__ import annotations

import argparse
import math
import time

import numba
import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

X_RANGE = 4.0  # examples have x uniform in [-X_RANGE, X_RANGE]


def loss(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


value_and_dloss = adc.value_and_grad(loss, wrt=("w", "b"))


@numba.njit
def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


@numba.njit
def train(w, b, w_star, b_star, lr, steps, seed, log_every):
    """SGD on one fresh example per step; returns the final (w, b) and a progress log.

    Row k of the log is (mean loss over steps since the previous row, w, b) after step
    (k + 1) * log_every.
    """
    np.random.seed(seed)
    log = np.empty((steps // log_every, 3))
    loss_sum = 0.0
    for t in range(steps):
        x = np.random.uniform(-X_RANGE, X_RANGE)
        y = sigmoid(w_star * x + b_star)
        L, (d_w, d_b) = value_and_dloss(w, b, x, y)
        w -= lr * d_w
        b -= lr * d_b
        loss_sum += L
        if (t + 1) % log_every == 0:
            log[(t + 1) // log_every - 1] = (loss_sum / log_every, w, b)
            loss_sum = 0.0
    return w, b, log


def example_sampler(w_star: float, b_star: float):
    """A compiled function of no arguments drawing one example (x, y), for optim.sgd.

    It draws x exactly as :func:`train` does, so with the same seed both see the same examples.
    """

    @numba.njit
    def sample():
        x = np.random.uniform(-X_RANGE, X_RANGE)
        return x, sigmoid(w_star * x + b_star)

    return sample


def train_with_optim(w0: float, b0: float, w_star: float, b_star: float, lr: float,
                     steps: int, seed: int):
    """The same SGD with the library's loop: ``(params, history)``."""
    return adc.optim.sgd(loss, (w0, b0), sampler=example_sampler(w_star, b_star), lr=lr,
                         steps=steps, seed=seed)


def initial_parameters(seed: int) -> tuple[float, float]:
    """A random starting point (w0, b0), standard normal."""
    rng = np.random.default_rng(seed)
    w0, b0 = rng.standard_normal(2)
    return float(w0), float(b0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--steps", type=int, default=20_000, help="SGD steps (one example each)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
    parser.add_argument("--w-star", type=float, default=2.0, help="the true weight")
    parser.add_argument("--b-star", type=float, default=-1.0, help="the true bias")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the start and of the examples drawn")
    parser.add_argument("--log-lines", type=int, default=5, help="lines of progress log")
    args = parser.parse_args(argv)
    log_every = max(1, args.steps // args.log_lines)

    print("Backpropagation as the chain rule: the code adcompile generated for")
    print("value_and_grad(loss, wrt=('w', 'b')):\n")
    print(value_and_dloss.source)

    w0, b0 = initial_parameters(args.seed)
    sign = "-" if args.b_star < 0 else "+"
    print(f"SGD from (w, b) = ({w0:.4f}, {b0:.4f}), lr = {args.lr:g}; each step draws one "
          f"example\nx ~ uniform(-{X_RANGE:g}, {X_RANGE:g}), "
          f"y = sigmoid({args.w_star:g}*x {sign} {abs(args.b_star):g})\n")
    train(w0, b0, args.w_star, args.b_star, args.lr, 1, args.seed, 1)  # compile first
    start = time.perf_counter()
    w, b, log = train(w0, b0, args.w_star, args.b_star, args.lr, args.steps, args.seed,
                      log_every)
    elapsed = time.perf_counter() - start

    print(f"{'step':>8}  {'mean loss':>10}  {'w':>9}  {'b':>9}")
    for k, (mean_loss, w_k, b_k) in enumerate(log):
        print(f"{(k + 1) * log_every:8d}  {mean_loss:10.3e}  {w_k:9.5f}  {b_k:9.5f}")
    print(f"\n{args.steps} steps in {elapsed * 1e3:.1f} ms\n")
    (w_lib, b_lib), _ = train_with_optim(w0, b0, args.w_star, args.b_star, args.lr,
                                         args.steps, args.seed)
    print(f"learned by the loop above:       (w, b) = ({w:.5f}, {b:.5f})")
    print(f"learned by adcompile.optim.sgd:  (w, b) = ({w_lib:.5f}, {b_lib:.5f})  "
          "(same seed, same examples)")
    print(f"true values:           (w_star, b_star) = ({args.w_star:.5f}, {args.b_star:.5f})")


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
