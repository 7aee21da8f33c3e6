"""Fit the gravitational constant to an observed N-body trajectory.

A few bodies move in a plane under softened gravity; the accelerations are summed over all
pairs by two nested loops that write into an array, and the state advances by semi-implicit
(symplectic) Euler steps -- velocities first, then positions with the new velocities:

    for t in range(steps):
        acc = np.zeros((n, 2))
        for i in range(n):
            for j in range(n):
                if i != j:
                    ...                               # the pull of body j on body i
                    acc[i, 0] += s * dx
                    acc[i, 1] += s * dy
        v = v + dt * acc
        x = x + dt * v

The positions are "observed" every few steps along a trajectory simulated with the true
constant G_true.  The loss is the mean squared distance between simulated and observed
positions; adcompile differentiates it with respect to G through every step, pair and write,
and gradient descent on G, started far from the truth, recovers G_true.  The script first
checks the gradient against central differences (``adc.check_grad``) on a small problem.

    python examples/nbody.py
    python examples/nbody.py --bodies 4 --g-true 0.5 --g0 1.5 --lr 10
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

OBSERVE_EVERY = 10  # steps between two observations of the positions


def simulate(G, pos0, vel0, mass, dt, steps, eps):
    """Positions after every step, one row (x0, y0, x1, y1, ...) per step."""
    x = pos0.copy()
    v = vel0.copy()
    n = x.shape[0]
    path = np.zeros((steps, 2 * n))
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
        v = v + dt * acc
        x = x + dt * v
        path[t] = x.reshape(2 * n)
    return path


def misfit(G, pos0, vel0, mass, dt, steps, eps, observed):
    """Mean squared distance between the simulated and the observed positions."""
    path = simulate(G, pos0, vel0, mass, dt, steps, eps)
    r = path[OBSERVE_EVERY - 1::OBSERVE_EVERY] - observed
    return np.mean(r * r)


dmisfit = adc.grad(misfit, wrt="G")
misfit_compiled = adc.forward(misfit, wrt="G")


def system(bodies: int, seed: int):
    """Starting positions and velocities (bodies x 2) and masses: a loose ring, turning."""
    rng = np.random.default_rng(seed)
    angle = 2.0 * np.pi * np.arange(bodies) / bodies + 0.3 * rng.uniform(-1.0, 1.0, bodies)
    radius = rng.uniform(0.7, 1.3, bodies)
    pos = np.column_stack((radius * np.cos(angle), radius * np.sin(angle)))
    vel = (0.6 * np.column_stack((-np.sin(angle), np.cos(angle)))
           + 0.1 * rng.standard_normal((bodies, 2)))
    mass = rng.uniform(0.5, 1.5, bodies)
    return pos, vel, mass


def observe(G, pos0, vel0, mass, dt, steps, eps):
    """The positions every OBSERVE_EVERY steps along the trajectory simulated with G."""
    path = simulate(G, pos0, vel0, mass, dt, steps, eps)
    return np.ascontiguousarray(path[OBSERVE_EVERY - 1::OBSERVE_EVERY])


def fit(G, data, lr: float, iterations: int):
    """Gradient descent on G; the path, one row (G, loss) per iterate."""
    path = np.empty((iterations + 1, 2))
    for it in range(iterations + 1):
        path[it] = G, misfit_compiled(G, *data)
        if it < iterations:
            G -= lr * dmisfit(G, *data)
    return path


def check_gradient(seed: int = 0) -> float:
    """``adc.check_grad`` of the misfit at a random G for 3 bodies over 20 steps: the largest
    relative difference between the generated gradient and central differences (it raises
    when one is too large)."""
    rng = np.random.default_rng(seed)
    setup = (*system(3, seed), 0.01, 20, 0.1)
    return adc.check_grad(misfit, "G", rng.uniform(0.5, 2.0), *setup, observe(1.0, *setup))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--bodies", type=int, default=5, help="number of bodies")
    parser.add_argument("--steps", type=int, default=100, help="time steps of dt")
    parser.add_argument("--dt", type=float, default=0.01, help="time step")
    parser.add_argument("--eps", type=float, default=0.1, help="softening length")
    parser.add_argument("--g-true", type=float, default=1.0, help="the true constant")
    parser.add_argument("--g0", type=float, default=0.3, help="the starting guess")
    parser.add_argument("--lr", type=float, default=5.0,
                        help="learning rate (a fixed step; too large a step diverges)")
    parser.add_argument("--iterations", type=int, default=30,
                        help="iterations of the fit")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the bodies and of the gradient check")
    args = parser.parse_args(argv)

    print("gradient check on a small random problem (adc.check_grad against central "
          f"differences):\nlargest relative error {check_gradient(args.seed):.1e}\n")
    pos0, vel0, mass = system(args.bodies, args.seed)
    setup = (pos0, vel0, mass, args.dt, args.steps, args.eps)
    observed = observe(args.g_true, *setup)
    data = (*setup, observed)
    print(f"{args.bodies} bodies in a plane, softened gravity (eps = {args.eps:g}), "
          f"{args.steps} symplectic Euler steps of dt = {args.dt:g}")
    print(f"observed: the positions every {OBSERVE_EVERY} steps ({len(observed)} snapshots), "
          f"simulated with G_true = {args.g_true:g}")
    print(f"gradient descent on G from G = {args.g0:g}, lr = {args.lr:g}\n")

    path = fit(args.g0, data, args.lr, args.iterations)
    print(f"{'iteration':>9}  {'G':>12}  {'loss':>10}")
    for it in sorted({0, 1, 2, 3, 5, 10, 20, 50, 100, args.iterations}
                     & set(range(args.iterations + 1))):
        print(f"{it:9d}  {path[it, 0]:12.8f}  {path[it, 1]:10.3e}")
    print(f"\nrecovered G = {path[-1, 0]:.8f}   true G = {args.g_true:.8f}")


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
