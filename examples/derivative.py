"""Step 1 of the lecture: the derivative of a function of one variable.

For f(x) = x**2 the derivative is f'(x) = 2x, so -f'(a) = -2a.  The sign of -f'(a) says which
way along x to move from a to get closer to the minimum at x = 0.  adcompile generates the
derivative as Python source and compiles it with Numba; this script evaluates it at a few points
and prints the generated code.  ``df = adc.grad(f)`` is the derivative *function*, and
``df(a)`` is its value at a (not the derivative of the constant f(a), which is 0).

    python examples/derivative.py
    python examples/derivative.py --points -1.5 0 2
"""

from __future__ import annotations

import argparse

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

DEFAULT_POINTS = (-3.0, -0.5, 0.0, 1.0, 2.5)


def f(x):
    return x ** 2


df = adc.grad(f)


def descent_direction(a: float) -> float:
    """-f'(a), from the generated derivative."""
    return -df(a)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--points", type=float, nargs="+", default=list(DEFAULT_POINTS),
                        help="where to evaluate -f'(a)")
    args = parser.parse_args(argv)

    print("f(x) = x**2;  -f'(a) says which way to move from a towards the minimum\n")
    print("       a    -f'(a)  move")
    for a in args.points:
        step = descent_direction(a) + 0.0  # + 0.0 prints -0.0 as 0.0
        move = "right" if step > 0 else "left" if step < 0 else "stay: a minimum"
        print(f"{a:8.3f}  {step:8.3f}  {move}")
    print("\nThe generated derivative (df.source):\n")
    print(df.source)


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
