"""The lecture's next step: second derivatives, then Newton's method against gradient descent.

First the second derivative of f(x) = x**3 (f''(a) = 6a) and the Hessian of the bowl, by
``adcompile.hessian``.  Then logistic regression on generated data, the neuron's loss over a
data set: L(w) = mean(log(1 + exp(-s_i * x_i . w))) + lam/2 |w|^2.  Gradient descent steps
w <- w - lr * grad L(w); Newton's method solves H(w) d = grad L(w) and steps w <- w - d.  Near
the minimum Newton's error squares at each step, so it needs a handful of iterations where
gradient descent needs hundreds; each Newton step costs a Hessian (one Hessian-vector product
per parameter, in one compiled loop) and a solve.  Both run until |grad L| < tol; the table
puts iterations and time side by side.

    python examples/newton.py
    python examples/newton.py --n 2000 --d 20 --tol 1e-10
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script


def cube(x):
    return x ** 3


def bowl(x):
    return x[0] ** 2 + 3.0 * x[1] ** 2 + x[0] * x[1]


def logistic_loss(w, X, s, lam):
    """Mean log-loss of the labels s (+1 or -1) under the scores X @ w, plus lam/2 |w|^2."""
    total = 0.0
    for i in range(X.shape[0]):
        z = s[i] * np.sum(X[i] * w)
        if z > 0.0:  # log(1 + exp(-z)) without overflow for either sign
            total = total + math.log1p(math.exp(-z))
        else:
            total = total - z + math.log1p(math.exp(z))
    return total / X.shape[0] + 0.5 * lam * np.sum(w * w)


def make_data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points X (n by d, a column of ones for the bias), labels s = sign(X w* + noise)."""
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d - 1)), np.ones((n, 1))])
    w_star = rng.standard_normal(d)
    s = np.where(X @ w_star + 0.5 * rng.standard_normal(n) > 0.0, 1.0, -1.0)
    return X, s, w_star


def newton(X, s, lam, tol, max_steps=50):
    """Newton's method from w = 0: ``(w, iterations, |grad| per iteration)``."""
    value_and_grad = adc.value_and_grad(logistic_loss)
    hessian = adc.hessian(logistic_loss)
    w = np.zeros(X.shape[1])
    norms = []
    for _ in range(max_steps):
        _, g = value_and_grad(w, X, s, lam)
        norms.append(float(np.linalg.norm(g)))
        if norms[-1] < tol:
            break
        w = w - np.linalg.solve(hessian(w, X, s, lam), g)
    return w, len(norms) - 1, norms


def gradient_descent(X, s, lam, tol, lr, max_steps):
    """Gradient descent from w = 0: ``(w, iterations, |grad| at the end)``."""
    value_and_grad = adc.value_and_grad(logistic_loss)
    w = np.zeros(X.shape[1])
    for step in range(max_steps + 1):
        _, g = value_and_grad(w, X, s, lam)
        if np.linalg.norm(g) < tol or step == max_steps:
            return w, step, float(np.linalg.norm(g))
        w = w - lr * g
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--n", type=int, default=500, help="data points")
    parser.add_argument("--d", type=int, default=5, help="parameters (a bias included)")
    parser.add_argument("--lam", type=float, default=0.01, help="L2 regularisation")
    parser.add_argument("--lr", type=float, default=1.0, help="gradient descent's step size")
    parser.add_argument("--tol", type=float, default=1e-8, help="stop when |grad L| < tol")
    parser.add_argument("--max-steps", type=int, default=20000,
                        help="gradient descent's step limit")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    args = parser.parse_args(argv)

    d2 = adc.hessian(cube)
    print("second derivative of f(x) = x**3, by adcompile.hessian (by hand: 6a)")
    for a in (-1.0, 0.5, 2.0):
        print(f"  f''({a:g}) = {d2(a):g}")
    print("Hessian of x0**2 + 3 x1**2 + x0 x1 (by hand: [[2, 1], [1, 6]]):")
    print("  " + str(adc.hessian(bowl)(np.array([0.3, -0.7])).tolist()))

    X, s, _ = make_data(args.n, args.d, args.seed)
    print(f"\nlogistic regression, {args.n} points, {args.d} parameters, lam = {args.lam:g}, "
          f"until |grad L| < {args.tol:g}")
    newton(X[:2], s[:2], args.lam, args.tol, max_steps=1)  # compile before timing
    gradient_descent(X[:2], s[:2], args.lam, args.tol, args.lr, 1)
    start = time.perf_counter()
    w_newton, newton_steps, norms = newton(X, s, args.lam, args.tol)
    newton_time = time.perf_counter() - start
    start = time.perf_counter()
    w_gd, gd_steps, gd_norm = gradient_descent(X, s, args.lam, args.tol, args.lr,
                                               args.max_steps)
    gd_time = time.perf_counter() - start
    loss = adc.forward(logistic_loss)
    print(f"  {'method':<18}{'iterations':>11}{'time':>11}{'loss':>14}{'|grad L|':>11}")
    print(f"  {'Newton':<18}{newton_steps:>11d}{newton_time:>10.3f}s"
          f"{loss(w_newton, X, s, args.lam):>14.10f}{norms[-1]:>11.1e}")
    print(f"  {'gradient descent':<18}{gd_steps:>11d}{gd_time:>10.3f}s"
          f"{loss(w_gd, X, s, args.lam):>14.10f}{gd_norm:>11.1e}")
    print("  Newton's |grad L| per iteration: "
          + ", ".join(f"{g:.1e}" for g in norms))
    print(f"  the two minimizers differ by {np.max(np.abs(w_newton - w_gd)):.1e}")


if __name__ == "__main__":
    run_script(main)
