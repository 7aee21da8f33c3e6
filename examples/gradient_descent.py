"""Steps 3 and 4 of the lecture: gradient descent on the bowl f(x1, x2) = x1**2 + x2**2.

Start at a point w0 and repeat w <- w - lr * grad f(w).  On this bowl every step multiplies the
point by (1 - 2*lr), so with 0 < lr < 1 the iterates shrink geometrically to the minimum (0, 0).

The descent runs twice: once with the library's compiled loop, ``adcompile.optim.gd``, and once
with a loop written here with ``@numba.njit`` that calls the generated gradient directly -- the
generated code is an ordinary Numba function, so it composes with your own compiled code.

    python examples/gradient_descent.py
    python examples/gradient_descent.py --steps 30 --lr 0.05 --start 1 -4
"""

from __future__ import annotations

import argparse

import numba
import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script


def bowl(x1, x2):
    return x1 ** 2 + x2 ** 2


value_and_dbowl = adc.value_and_grad(bowl, wrt=("x1", "x2"))


@numba.njit
def descend(x1, x2, lr, steps):
    """Gradient descent from (x1, x2): the path, one row (x1, x2, f(x1, x2)) per iterate."""
    path = np.empty((steps + 1, 3))
    for t in range(steps + 1):
        f, (d_x1, d_x2) = value_and_dbowl(x1, x2)
        path[t] = (x1, x2, f)
        if t < steps:
            x1 -= lr * d_x1
            x2 -= lr * d_x2
    return path


def descend_with_optim(start: tuple[float, float], lr: float, steps: int):
    """The same descent with the library's compiled loop: ``(params, history)``."""
    return adc.optim.gd(bowl, start, lr=lr, steps=steps)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--start", type=float, nargs=2, default=(3.0, -2.0),
                        metavar=("A", "B"), help="the starting point")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (step size)")
    parser.add_argument("--steps", type=int, default=100, help="gradient steps")
    args = parser.parse_args(argv)
    (a, b), lr, steps = args.start, args.lr, args.steps

    print(f"gradient descent on f(x1, x2) = x1**2 + x2**2 from ({a:g}, {b:g}), lr = {lr:g}\n")
    print("1. a @numba.njit loop calling the generated value-and-gradient:\n")
    path = descend(a, b, lr, steps)
    print(f"{'step':>6}  {'x1':>12}  {'x2':>12}  {'f(x1, x2)':>12}")
    shown = sorted({0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, steps} & set(range(steps + 1)))
    for t in shown:
        x1, x2, f = path[t]
        print(f"{t:6d}  {x1:12.4g}  {x2:12.4g}  {f:12.4g}")

    print("\n2. adcompile.optim.gd:\n")
    (x1, x2), history = descend_with_optim((a, b), lr, steps)
    print(f"after {steps} steps: (x1, x2) = ({x1:.4g}, {x2:.4g}); the loss history holds "
          f"{len(history)} values,\nfrom {history[0]:.4g} at the start to {history[-1]:.4g} "
          "before the last step")
    print(f"\nexact iterate on this bowl: (1 - 2*lr)**steps * start = "
          f"({(1 - 2 * lr) ** steps * a:.4g}, {(1 - 2 * lr) ** steps * b:.4g})")


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
