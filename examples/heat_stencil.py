"""Fit a diffusion coefficient to measured temperatures, through a loop that writes arrays.

A rod of length 1 with its ends held at 0 starts from a known temperature profile u0.  The heat
equation du/dt = D d2u/dx2 is integrated by the explicit stencil, written as plain loops:

    for _ in range(steps):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])     # k = D dt / dx**2
        u = v

"Measured" temperatures at the final time come from the same simulation with a true
coefficient D_true, plus a little measurement noise.  The loss is the mean squared misfit
between the simulated and the measured profile; adcompile differentiates it with respect to D,
through all the time steps and all the writes into v, and gradient descent on D recovers
D_true.  The gradient is the generated code (``adc.grad``), called from a plain Python loop;
the script checks it against central differences on a small rod first, and prints the part
of it that runs the stencil backwards (``--source``: all of it).

    python examples/heat_stencil.py
    python examples/heat_stencil.py --d-true 0.8 --d0 0.2 --points 40 --iterations 40
"""

from __future__ import annotations

import argparse

import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script

T_END = 0.02  # the time of the measurement


def heat(D, u0, dx, dt, steps):
    """The temperature profile after ``steps`` explicit steps of dt (stable for k <= 1/2)."""
    k = D * dt / (dx * dx)
    u = u0.copy()
    n = u.shape[0]
    for _ in range(steps):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return u


def misfit(D, u0, measured, dx, dt, steps):
    """Mean squared difference between the simulated and the measured final profile."""
    r = heat(D, u0, dx, dt, steps) - measured
    return np.mean(r * r)


dmisfit = adc.grad(misfit, wrt="D")
misfit_compiled = adc.forward(misfit, wrt="D")


def problem(points: int, d_true: float, noise: float, seed: int):
    """The rod and its measurement: ``(u0, measured, dx, dt, steps)``.

    The time step is the largest one of the form T_END / steps with k <= 0.4 up to D = 1.
    """
    x = np.linspace(0.0, 1.0, points)
    dx = 1.0 / (points - 1)
    u0 = np.exp(-200.0 * (x - 0.3) ** 2) + 0.5 * np.exp(-100.0 * (x - 0.7) ** 2)
    u0[0] = u0[-1] = 0.0
    steps = int(np.ceil(T_END / (0.4 * dx * dx)))
    dt = T_END / steps
    rng = np.random.default_rng(seed)
    measured = heat(d_true, u0, dx, dt, steps) + noise * rng.standard_normal(points)
    return u0, measured, dx, dt, steps


def fit(D, data, iterations: int, lr: float = 1.0, tol: float = 1e-9):
    """Gradient descent on D with a backtracking step; one row (D, loss, step) per iterate.

    Each iteration moves D against the gradient by ``lr * gradient``, halving ``lr`` until the
    loss falls by at least half of what the slope promises (``lr * gradient**2 / 2``), and then
    tries twice that ``lr`` on the next iteration.  A step into the unstable range of the
    scheme (k > 1/2) makes the loss explode and is halved away like any other.  The descent
    stops after ``iterations`` steps, or earlier once a step moves D by less than ``tol``.
    """
    loss = misfit_compiled(D, *data)
    path = [(D, loss, np.nan)]
    for _ in range(iterations):
        g = dmisfit(D, *data)
        while True:
            trial = D - lr * g
            trial_loss = misfit_compiled(trial, *data)
            if trial_loss <= loss - 0.5 * lr * g * g:
                break
            lr /= 2.0
        step = abs(trial - D)
        D, loss = trial, trial_loss
        path.append((D, loss, lr))
        if step < tol:
            break
        lr *= 2.0
    return np.array(path)


def check_gradient(seed: int = 0) -> float:
    """``adc.check_grad`` of the misfit at a random D on a small rod (12 points): the largest
    relative difference between the generated gradient and central differences (it raises
    when one is too large)."""
    rng = np.random.default_rng(seed)
    return adc.check_grad(misfit, "D", rng.uniform(0.2, 0.8), *problem(12, 0.5, 1e-3, seed))


def backward_sweep(source: str, function: str) -> str:
    """The backward sweep of ``function`` in a generated module's source ("" if not found)."""
    start = source.find(f"\ndef {function}(")
    if start < 0:
        return ""
    body = source[start:].split("\n\n\n")[0]
    sweep = body.find("    # backward sweep")
    return body[sweep:] if sweep >= 0 else ""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--d-true", type=float, default=0.5, help="the true coefficient")
    parser.add_argument("--d0", type=float, default=0.1, help="the starting guess")
    parser.add_argument("--points", type=int, default=50, help="grid points on the rod")
    parser.add_argument("--noise", type=float, default=1e-3, help="measurement noise (std)")
    parser.add_argument("--iterations", type=int, default=30,
                        help="iterations of the fit")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the noise and of the gradient check")
    parser.add_argument("--source", action="store_true",
                        help="print the whole generated gradient")
    args = parser.parse_args(argv)

    print("gradient check on a small random problem (adc.check_grad against central "
          f"differences):\nlargest relative error {check_gradient(args.seed):.1e}\n")
    data = problem(args.points, args.d_true, args.noise, args.seed)
    dt, steps = data[-2:]
    print(f"heat equation on [0, 1], {args.points} points, {steps} explicit steps of "
          f"dt = {dt:.3g} up to t = {T_END:g}")
    print(f"measured: the final profile with D_true = {args.d_true:g}, "
          f"plus noise of std {args.noise:g}\n")
    if args.source:
        print(dmisfit.source)
    else:
        sweep = backward_sweep(dmisfit.source, "grad_heat")
        if sweep:
            print("the generated backward sweep through the stencil loops "
                  "(--source prints all of it):\n")
            print(sweep.rstrip() + "\n")

    path = fit(args.d0, data, args.iterations)
    print(f"gradient descent from D = {args.d0:g}, backtracking step size\n")
    print(f"{'iteration':>9}  {'D':>10}  {'loss':>10}  {'step size':>10}")
    last = len(path) - 1
    for it in sorted({0, 1, 2, 3, 5, 10, 20, 50, 100, last} & set(range(last + 1))):
        D, loss, lr = path[it]
        step = "" if it == 0 else f"{lr:.3g}"
        print(f"{it:9d}  {D:10.6f}  {loss:10.3e}  {step:>10}")
    print(f"\nrecovered D = {path[-1, 0]:.5f}   true D = {args.d_true:.5f}   "
          f"({last} gradient steps)")


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
