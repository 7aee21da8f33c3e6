"""A two-layer tanh network classifying points of the plane, trained by minibatch SGD.

The model and its loss, written as plain NumPy over a minibatch X (n x 2) with labels y in {0, 1}:

    H = tanh(X @ W1 + b1)            # hidden layer, 16 units
    z = H @ W2 + b2                  # one logit per point; p = sigmoid(z) is P(class 1)
    loss = mean(max(z, 0) - y*z + log(1 + exp(-|z|)))

The last line is the cross-entropy -mean(y log p + (1 - y) log(1 - p)) written in the form that
never takes the log of 0.  adcompile differentiates it with respect to the four parameter
arrays (the gradient w.r.t. W1 is a 2 x 16 array, and so on) and the script prints the start of
the generated code.  Training is an ordinary ``@numba.njit`` loop that shuffles the points each
epoch (seeded), cuts them into minibatches and calls the generated value-and-gradient on each.

The data are made here with NumPy: two interleaved half circles ("moons", the default) or two
spirals, with Gaussian noise.  With matplotlib installed (``pip install -e ".[plot]"``) the
script saves a picture of the loss curve and the learned decision boundary.

    python examples/mlp_classifier.py
    python examples/mlp_classifier.py --data spirals --epochs 1000 --out spirals.png
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import time

import numba
import numpy as np

import adcompile as adc
from adcompile.cli import DefaultsHelpFormatter, run_script


def loss(W1, b1, W2, b2, X, y):
    H = np.tanh(X @ W1 + b1)
    z = H @ W2 + b2
    return np.mean(np.maximum(z, 0.0) - y * z + np.log1p(np.exp(-np.abs(z))))


value_and_dloss = adc.value_and_grad(loss, wrt=("W1", "b1", "W2", "b2"))


# --------------------------------------------------------------------------------------------
# Data


def make_moons(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on two interleaved half circles, class 0 above and class 1 below."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t = rng.uniform(0.0, math.pi, size=n)
    upper = np.column_stack([np.cos(t[:n0]), np.sin(t[:n0])])
    lower = np.column_stack([1.0 - np.cos(t[n0:]), 0.5 - np.sin(t[n0:])])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    return standardize(X), y


def make_spirals(n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points on two spirals turning 1.75 times around the origin, one per class."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    r = np.sqrt(rng.uniform(0.02, 1.0, size=n))  # uniform along the arm, not crowded inside
    angle = 3.5 * math.pi * r
    angle[n0:] += math.pi
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    X += noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0), np.ones(n - n0)])
    return standardize(X), y


DATASETS = {"moons": make_moons, "spirals": make_spirals}


def standardize(X: np.ndarray) -> np.ndarray:
    """Each coordinate shifted and scaled to mean 0 and standard deviation 1."""
    return np.ascontiguousarray((X - X.mean(axis=0)) / X.std(axis=0))


def initial_parameters(hidden: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         float]:
    """(W1, b1, W2, b2): weights normal with variance 1 / fan-in, biases zero."""
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((2, hidden)) / math.sqrt(2.0)
    W2 = rng.standard_normal(hidden) / math.sqrt(hidden)
    return W1, np.zeros(hidden), W2, 0.0


# --------------------------------------------------------------------------------------------
# Model and training, compiled


@numba.njit
def probability(W1, b1, W2, b2, X):
    """P(class 1) for each row of X: the network's forward pass."""
    z = np.tanh(X @ W1 + b1) @ W2 + b2
    return 1.0 / (1.0 + np.exp(-z))


@numba.njit
def accuracy(W1, b1, W2, b2, X, y):
    """The fraction of points on the right side of p = 1/2."""
    p = probability(W1, b1, W2, b2, X)
    return np.mean((p > 0.5) == (y > 0.5))


@numba.njit
def train(W1, b1, W2, b2, X, y, lr, epochs, batch_size, seed):
    """Minibatch SGD from the given parameters (left unchanged): the final parameters and a
    history, one row per epoch: (mean loss over that epoch's minibatches, accuracy after it).
    """
    np.random.seed(seed)
    W1, b1, W2 = W1.copy(), b1.copy(), W2.copy()
    n = X.shape[0]
    history = np.empty((epochs, 2))
    for epoch in range(epochs):
        order = np.random.permutation(n)
        loss_sum = 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            L, (d_W1, d_b1, d_W2, d_b2) = value_and_dloss(W1, b1, W2, b2, X[batch], y[batch])
            W1 -= lr * d_W1
            b1 -= lr * d_b1
            W2 -= lr * d_W2
            b2 -= lr * d_b2
            loss_sum += L * batch.shape[0]
        history[epoch, 0] = loss_sum / n
        history[epoch, 1] = accuracy(W1, b1, W2, b2, X, y)
    return (W1, b1, W2, b2), history


# --------------------------------------------------------------------------------------------
# Output


def have_matplotlib() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def source_head(source: str, lines: int) -> str:
    """The first ``lines`` lines of the generated function, from its ``def`` on."""
    body = source.splitlines()
    start = next(i for i, line in enumerate(body) if line.startswith("def "))
    return "\n".join(body[start:start + lines])


def log_epochs(epochs: int, lines: int = 6) -> list[int]:
    """The epochs (from 1) that the progress log shows: the first, round ones, the last."""
    nice = (m * 10 ** k for k in range(12) for m in (1, 2, 5))
    step = next(n for n in nice if n * (lines - 1) >= epochs)
    return sorted({1, *range(step, epochs + 1, step), epochs})


def accuracy_limits(accuracy: np.ndarray) -> tuple[float, float]:
    """The accuracy axis (in %): the range of the curve with a tenth of it (at least one
    point) as margin on each side, within 0 to 101."""
    lo, hi = 100.0 * float(np.min(accuracy)), 100.0 * float(np.max(accuracy))
    margin = max(0.1 * (hi - lo), 1.0)
    return max(lo - margin, 0.0), min(hi + margin, 101.0)


def figure(params, history, X, y, record: str):
    """The loss/accuracy curves and the decision boundary over the data, with ``record``
    (what was run) written under them: a matplotlib Figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_data) = plt.subplots(1, 2, figsize=(12, 5.2),
                                           gridspec_kw={"width_ratios": (1, 1.1)})
    epochs = np.arange(1, len(history) + 1)
    ax_loss.plot(epochs, history[:, 0], color="tab:blue")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy (mean over the epoch)", color="tab:blue")
    ax_acc = ax_loss.twinx()
    ax_acc.plot(epochs, 100.0 * history[:, 1], color="tab:orange")
    ax_acc.set_ylabel("accuracy after the epoch (%)", color="tab:orange")
    ax_acc.set_ylim(*accuracy_limits(history[:, 1]))
    ax_loss.set_title("training")

    pad = 0.5
    u = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 300)
    v = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 300)
    U, V = np.meshgrid(u, v)
    grid = np.ascontiguousarray(np.column_stack([U.ravel(), V.ravel()]))
    P = probability(*params, grid).reshape(U.shape)
    shades = ax_data.contourf(U, V, P, levels=np.linspace(0.0, 1.0, 11), cmap="RdBu_r",
                              alpha=0.45)
    fig.colorbar(shades, ax=ax_data, label="P(class 1)", ticks=np.linspace(0.0, 1.0, 6))
    ax_data.contour(U, V, P, levels=[0.5], colors="k", linewidths=1.5)
    ax_data.scatter(X[y == 0, 0], X[y == 0, 1], s=12, color="tab:blue", edgecolor="k",
                    linewidth=0.3, label="class 0")
    ax_data.scatter(X[y == 1, 0], X[y == 1, 1], s=12, color="tab:red", edgecolor="k",
                    linewidth=0.3, label="class 1")
    ax_data.set_aspect("equal")
    ax_data.set_xlabel("x₁ (standardized)")
    ax_data.set_ylabel("x₂ (standardized)")
    ax_data.legend(loc="upper right", fontsize=8)
    ax_data.set_title("P(class 1) and the decision boundary p = 1/2")
    fig.text(0.01, 0.015, record, fontsize=8.5, family="monospace", va="bottom")
    fig.tight_layout(rect=(0.0, 0.09, 1.0, 1.0))
    return fig


def plot(params, history, X, y, record: str, path: str) -> None:
    """Save :func:`figure` to ``path``."""
    import matplotlib.pyplot as plt

    fig = figure(params, history, X, y, record)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_record(data: str, points: int, noise: float, hidden: int, epochs: int, batch_size: int,
               lr: float, seed: int, accuracy: float) -> str:
    """What was run, in two lines, for the picture."""
    return (f"data: {data}, {points} points, noise {noise:g}, seed {seed}; model: MLP "
            f"2-{hidden}-1 (tanh, logistic output), cross-entropy\n"
            f"method: minibatch SGD (w ← w − lr·g), batch size {batch_size}, lr {lr:g}, "
            f"{epochs} epochs; final accuracy {100 * accuracy:.1f}%")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=DefaultsHelpFormatter)
    parser.add_argument("--data", choices=sorted(DATASETS), default="moons",
                        help="the data set")
    parser.add_argument("--points", type=int, default=400, help="size of the data set")
    parser.add_argument("--noise", type=float, default=None,
                        help="standard deviation of the noise (default: 0.2 for moons, 0.05 "
                        "for spirals)")
    parser.add_argument("--hidden", type=int, default=16, help="hidden units")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the data (default: 200 for moons, 1000 for spirals)")
    parser.add_argument("--batch-size", type=int, default=32, help="examples per SGD step")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the data, the start and the shuffling")
    parser.add_argument("--out", default="mlp_classifier.png", help="where to save the picture")
    parser.add_argument("--source", action="store_true",
                        help="print the whole generated source, not just its start")
    args = parser.parse_args(argv)
    noise = args.noise if args.noise is not None else {"moons": 0.2, "spirals": 0.05}[args.data]
    epochs = args.epochs if args.epochs is not None else {"moons": 200, "spirals": 1000}[args.data]

    source = value_and_dloss.source
    print(f"adcompile generated value_and_grad(loss, wrt=('W1', 'b1', 'W2', 'b2')): "
          f"{len(source.splitlines())} lines, {len(source)} characters.")
    if args.source:
        print(source)
    else:
        print("Its forward sweep and the first steps back (--source prints it all):\n")
        print(source_head(source, 26))
        print("    ...\n")

    X, y = DATASETS[args.data](args.points, noise, args.seed)
    params0 = initial_parameters(args.hidden, args.seed)
    print(f"{args.data}: {len(y)} points, noise {noise:g}; MLP 2-{args.hidden}-1, tanh hidden "
          f"layer, logistic output\nminibatch SGD: batch {args.batch_size}, lr {args.lr:g}, "
          f"{epochs} epochs, shuffled each epoch (seed {args.seed})\n")
    train(*params0, X, y, args.lr, 1, args.batch_size, args.seed)  # compile first
    start = time.perf_counter()
    params, history = train(*params0, X, y, args.lr, epochs, args.batch_size, args.seed)
    elapsed = time.perf_counter() - start

    print(f"{'epoch':>6}  {'loss':>9}  {'accuracy':>8}")
    for epoch in log_epochs(epochs):
        mean_loss, acc = history[epoch - 1]
        print(f"{epoch:6d}  {mean_loss:9.4f}  {100 * acc:7.1f}%")
    steps = epochs * -(-len(y) // args.batch_size)
    print(f"\n{steps} SGD steps in {elapsed * 1e3:.0f} ms ({elapsed / steps * 1e6:.1f} us a step)")
    print(f"final accuracy: {100 * history[-1, 1]:.1f}% of {len(y)} points")

    if have_matplotlib():
        record = run_record(args.data, len(y), noise, args.hidden, epochs, args.batch_size,
                            args.lr, args.seed, history[-1, 1])
        plot(params, history, X, y, record, args.out)
        print(f"saved the loss curve and the decision boundary to {args.out}")
    else:
        print('no picture: matplotlib is not installed; get it with  pip install -e ".[plot]"')


if __name__ == "__main__":
    run_script(main)  # quiet when piped into head
