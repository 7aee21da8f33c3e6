"""Step 2 of the lecture: the gradient of a function of several variables.

For f(x1, x2) = x1**2 + x2**2 the gradient is (2*x1, 2*x2), so -grad f(a, b) = (-2a, -2b):
the direction in which f decreases fastest, pointing from (a, b) towards the minimum at (0, 0).
adcompile generates both partial derivatives in one backward sweep.

    python examples/gradient.py
    python examples/gradient.py --point 1 2 --point -3 0.5
"""

from __future__ import annotations

import argparse

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

DEFAULT_POINTS = ((1.0, 2.0), (-3.0, 0.5), (0.0, 0.0), (2.0, -2.0))


def bowl(x1, x2):
    return x1 ** 2 + x2 ** 2


dbowl = adc.grad(bowl, wrt=("x1", "x2"))


def descent_direction(a: float, b: float) -> tuple[float, float]:
    """-grad f(a, b), from the generated gradient."""
    d_x1, d_x2 = dbowl(a, b)
    return -d_x1, -d_x2


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--point", type=float, nargs=2, action="append", metavar=("A", "B"),
                        help="where to evaluate -grad f(a, b); repeat for several points "
                        "(default: (1, 2), (-3, 0.5), (0, 0) and (2, -2))")
    args = parser.parse_args(argv)
    points = args.point or DEFAULT_POINTS

    print("f(x1, x2) = x1**2 + x2**2;  -grad f(a, b) points towards the minimum\n")
    print(f"{'(a, b)':>16}  {'-grad f(a, b)':>20}")
    for a, b in points:
        g1, g2 = (g + 0.0 for g in descent_direction(a, b))  # + 0.0 prints -0.0 as 0.0
        print(f"{f'({a:g}, {b:g})':>16}  {f'({g1:g}, {g2:g})':>20}")
    print("\nThe generated gradient (dbowl.source):\n")
    print(dbowl.source)


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
