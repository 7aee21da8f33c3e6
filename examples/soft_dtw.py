"""Soft-DTW: a differentiable time-warping distance, filled in as a table by two nested loops.

Dynamic time warping (DTW) compares two series while letting either one stretch in time: the
cost of aligning x[:i] with y[:j] is R[i, j] = (x[i-1] - y[j-1])**2 + min(R[i-1, j-1],
R[i-1, j], R[i, j-1]).  Soft-DTW (Cuturi & Blondel, "Soft-DTW: a Differentiable Loss Function
for Time-Series", ICML 2017) replaces the min by the soft minimum

    softmin(a, b, c) = -gamma * log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma)),

which is smooth, so R[n, m] has a gradient with respect to both series.  The soft minimum is
written the stable way: subtract the smallest argument first, so no exponential overflows.

The table is filled by plain loops that write into the array R; adcompile differentiates
R[n, m] with respect to the series x through every write.  The loss is the soft-DTW
divergence sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2 (Blondel, Mensch & Vert, AISTATS 2021),
which is 0 exactly when x equals y; gradient descent on it moves x, a wide pulse early in
time, onto the target y, a narrow and taller pulse later on.  The script first checks the
gradient against central differences (``adc.check_grad``) on small random series.

    python examples/soft_dtw.py
    python examples/soft_dtw.py --length 60 --gamma 0.5 --lr 0.2 --iterations 300
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script


def softmin3(a, b, c, gamma):
    """-gamma * log(exp(-a/gamma) + exp(-b/gamma) + exp(-c/gamma)), without overflow."""
    m = min(a, b, c)
    s = math.exp((m - a) / gamma) + math.exp((m - b) / gamma) + math.exp((m - c) / gamma)
    return m - gamma * math.log(s)


def soft_dtw(x, y, gamma):
    """The soft-DTW discrepancy between the series x and y (lengths n and m)."""
    n = x.shape[0]
    m = y.shape[0]
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost = (x[i - 1] - y[j - 1]) ** 2
            R[i, j] = cost + softmin3(R[i - 1, j - 1], R[i - 1, j], R[i, j - 1], gamma)
    return R[n, m]


def divergence(x, y, gamma):
    """The soft-DTW divergence: 0 when x equals y, positive otherwise."""
    return soft_dtw(x, y, gamma) - 0.5 * (soft_dtw(x, x, gamma) + soft_dtw(y, y, gamma))


ddivergence = adc.grad(divergence, wrt="x")
divergence_compiled = adc.forward(divergence, wrt="x")


def series(length: int) -> tuple[np.ndarray, np.ndarray]:
    """The start x (a wide pulse, early) and the target y (a narrow, taller pulse, late)."""
    t = np.linspace(0.0, 1.0, length)
    x = 0.8 * np.exp(-((t - 0.3) / 0.15) ** 2)
    y = 1.2 * np.exp(-((t - 0.6) / 0.08) ** 2)
    return x, y


def descend(x, y, gamma: float, lr: float, iterations: int):
    """Gradient descent on x; the final x, and the divergence and max |x - y| before each step
    (and after the last)."""
    x = x.copy()
    log = np.empty((iterations + 1, 2))
    for it in range(iterations + 1):
        log[it] = divergence_compiled(x, y, gamma), np.max(np.abs(x - y))
        if it < iterations:
            x -= lr * ddivergence(x, y, gamma)
    return x, log


def check_gradient(seed: int = 0) -> float:
    """``adc.check_grad`` of the divergence at random series of 6 and 5 samples, for two
    values of gamma: the largest relative difference between the generated gradient and
    central differences (it raises when one is too large)."""
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(6), rng.standard_normal(5)
    return max(adc.check_grad(divergence, "x", x, y, gamma) for gamma in (1.0, 0.1))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--length", type=int, default=40, help="samples in each series")
    parser.add_argument("--gamma", type=float, default=1.0, help="smoothing of the soft min")
    parser.add_argument("--lr", type=float, default=0.3, help="learning rate")
    parser.add_argument("--iterations", type=int, default=200,
                        help="gradient steps")
    args = parser.parse_args(argv)

    print("gradient check on small random series (adc.check_grad against central "
          f"differences):\nlargest relative error {check_gradient():.1e}\n")
    x0, y = series(args.length)
    print(f"soft-DTW between two series of {args.length} samples, gamma = {args.gamma:g}; "
          f"each table R is {args.length + 1} x {args.length + 1}")
    print(f"gradient descent on x with lr = {args.lr:g}: the soft-DTW divergence to the "
          "target y\n")
    x, log = descend(x0, y, args.gamma, args.lr, args.iterations)
    print(f"{'iteration':>9}  {'divergence':>12}  {'max |x - y|':>12}")
    for it in sorted({0, 1, 2, 5, 10, 20, 50, 100, 200, 500, args.iterations}
                     & set(range(args.iterations + 1))):
        print(f"{it:9d}  {log[it, 0]:12.4e}  {log[it, 1]:12.4e}")
    print(f"\ndivergence: {log[0, 0]:.4e} -> {log[-1, 0]:.4e} in {args.iterations} steps")
    print(f"peak of x: {x0.max():.3f} at sample {x0.argmax()} -> {x.max():.3f} at sample "
          f"{x.argmax()}; the target's peak: {y.max():.3f} at sample {y.argmax()}")


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
