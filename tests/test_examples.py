"""The lecture's examples run, and their numbers match what the calculus says by hand.

Each example is imported from ``examples/`` and its functions are called with small step
counts; each script also runs once as ``python examples/NAME.py``, the way a reader runs it.
"""

import ast
import importlib.util
import math
import os
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@cache
def example(name):
    """Import ``examples/<name>.py`` as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"adcompile_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


# --- derivative.py: f(x) = x**2, -f'(a) = -2a -------------------------------------------------

@pytest.mark.parametrize("a", [-3.0, -0.5, 0.0, 1.0, 2.5, 1e3, -7.25e-4])
def test_derivative_is_minus_two_a(a, fd):
    ex = example("derivative")
    assert ex.descent_direction(a) == pytest.approx(-2.0 * a, rel=1e-15, abs=0.0)
    assert ex.descent_direction(a) == pytest.approx(-fd(ex.f, (a,), 0), rel=1e-6, abs=1e-8)


def test_derivative_main_prints_directions_and_source(capsys):
    example("derivative").main(["--points", "-1.5", "0", "2"])
    out = capsys.readouterr().out
    assert re.search(r"-1\.500\s+3\.000\s+right", out)
    assert re.search(r"0\.000\s+0\.000\s+stay", out)
    assert re.search(r"2\.000\s+-4\.000\s+left", out)
    assert "def grad_f(x):" in out and "d_x = " in out


# --- gradient.py: f(x1, x2) = x1**2 + x2**2, -grad f(a, b) = (-2a, -2b) -------------------------

@pytest.mark.parametrize("a, b", [(1.0, 2.0), (-3.0, 0.5), (0.0, 0.0), (2.0, -2.0),
                                  (0.125, -6.5)])
def test_gradient_is_minus_two_a_minus_two_b(a, b, fd):
    ex = example("gradient")
    g1, g2 = ex.descent_direction(a, b)
    assert (g1, g2) == pytest.approx((-2.0 * a, -2.0 * b), rel=1e-15, abs=0.0)
    assert g1 == pytest.approx(-fd(ex.bowl, (a, b), 0), rel=1e-6, abs=1e-6)
    assert g2 == pytest.approx(-fd(ex.bowl, (a, b), 1), rel=1e-6, abs=1e-6)


def test_gradient_main_prints_directions_and_source(capsys):
    example("gradient").main(["--point", "1", "2", "--point", "-3", "0.5"])
    out = capsys.readouterr().out
    assert re.search(r"\(1, 2\)\s+\(-2, -4\)", out)
    assert re.search(r"\(-3, 0\.5\)\s+\(6, -1\)", out)
    assert "def grad_bowl(x1, x2):" in out and "return (d_x1, d_x2)" in out


# --- gradient_descent.py: on the bowl each step multiplies the point by (1 - 2*lr) -------------

@pytest.mark.parametrize("start, lr, steps", [((3.0, -2.0), 0.1, 100), ((1.0, -4.0), 0.05, 30),
                                              ((-0.5, 0.25), 0.3, 7)])
def test_user_loop_follows_the_exact_iterates(start, lr, steps):
    path = example("gradient_descent").descend(start[0], start[1], lr, steps)
    assert path.shape == (steps + 1, 3)
    t = np.arange(steps + 1)
    shrink = (1.0 - 2.0 * lr) ** t
    np.testing.assert_allclose(path[:, 0], start[0] * shrink, rtol=1e-12, atol=0)
    np.testing.assert_allclose(path[:, 1], start[1] * shrink, rtol=1e-12, atol=0)
    np.testing.assert_allclose(path[:, 2], path[:, 0] ** 2 + path[:, 1] ** 2, rtol=1e-14)


def test_user_loop_reaches_the_minimum():
    path = example("gradient_descent").descend(3.0, -2.0, 0.1, 200)
    assert abs(path[-1, 0]) < 1e-18 and abs(path[-1, 1]) < 1e-18
    assert np.all(np.diff(path[:, 2]) < 0)


@pytest.mark.parametrize("start, lr, steps", [((3.0, -2.0), 0.1, 100), ((1.0, -4.0), 0.05, 30)])
def test_optim_gd_reaches_the_minimum(start, lr, steps):
    (x1, x2), history = example("gradient_descent").descend_with_optim(start, lr, steps)
    exact = (1.0 - 2.0 * lr) ** steps
    assert (x1, x2) == pytest.approx((start[0] * exact, start[1] * exact), rel=1e-12, abs=0)
    assert len(history) == steps
    assert history[0] == start[0] ** 2 + start[1] ** 2
    assert np.all(np.diff(history) < 0)


def test_optim_gd_converges_to_zero():
    (x1, x2), history = example("gradient_descent").descend_with_optim((3.0, -2.0), 0.1, 300)
    assert abs(x1) < 1e-25 and abs(x2) < 1e-25
    assert history[-1] < 1e-50


def test_gradient_descent_main_prints_convergence(capsys):
    example("gradient_descent").main(["--steps", "20"])
    out = capsys.readouterr().out
    assert re.search(r"\n\s+0\s+3\s+-2\s+13\n", out)
    assert re.search(r"\n\s+1\s+2\.4\s+-1\.6\s+8\.32\n", out)
    x1, x2 = 3.0 * 0.8 ** 20, -2.0 * 0.8 ** 20
    assert f"(x1, x2) = ({x1:.4g}, {x2:.4g})" in out


# --- neuron.py: x1 = w*x, x2 = x1 + b, yhat = sigmoid(x2), L = (yhat - y)**2 -------------------

def hand_gradient(w, b, x, y):
    """The chain rule by hand: dL/dw = 2(yhat - y) yhat (1 - yhat) x, dL/db without the x.

    1 - sigmoid(z) is computed as sigmoid(-z), which keeps its precision when yhat is near 1.
    """
    yhat = sigmoid(w * x + b)
    d_x2 = 2.0 * (yhat - y) * yhat * sigmoid(-(w * x + b))
    return (yhat - y) ** 2, d_x2 * x, d_x2


@pytest.mark.parametrize("w, b, x, y", [(0.3, -0.1, 1.5, 0.8), (2.0, -1.0, 0.7, 0.6),
                                        (-1.2, 0.4, -3.0, 0.1), (5.0, 2.0, 3.5, 0.0)])
def test_neuron_gradient_is_the_chain_rule(w, b, x, y, fd):
    ex = example("neuron")
    value, (d_w, d_b) = ex.value_and_dloss(w, b, x, y)
    L, hand_w, hand_b = hand_gradient(w, b, x, y)
    assert value == pytest.approx(L, rel=1e-13, abs=1e-300)
    assert d_w == pytest.approx(hand_w, rel=1e-12, abs=1e-300)
    assert d_b == pytest.approx(hand_b, rel=1e-12, abs=1e-300)
    assert d_w == pytest.approx(fd(ex.loss, (w, b, x, y), 0), rel=1e-5, abs=1e-9)
    assert d_b == pytest.approx(fd(ex.loss, (w, b, x, y), 1), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("w_star, b_star, seed", [(2.0, -1.0, 0), (-1.0, 0.5, 3),
                                                  (0.5, 1.5, 7)])
def test_neuron_sgd_recovers_the_true_parameters(w_star, b_star, seed):
    ex = example("neuron")
    w0, b0 = ex.initial_parameters(seed)
    w, b, log = ex.train(w0, b0, w_star, b_star, 0.1, 20_000, seed, 4_000)
    assert (w, b) == pytest.approx((w_star, b_star), abs=1e-3)
    assert log.shape == (5, 3)
    assert log[-1, 0] < 1e-6 < log[0, 0] and np.all(np.diff(log[:, 0]) < 0)
    assert tuple(log[-1, 1:]) == (w, b)


def test_neuron_optim_sgd_sees_the_same_examples_as_the_user_loop():
    ex = example("neuron")
    w0, b0 = ex.initial_parameters(1)
    w, b, _ = ex.train(w0, b0, 2.0, -1.0, 0.1, 20_000, 1, 20_000)
    (w_lib, b_lib), history = ex.train_with_optim(w0, b0, 2.0, -1.0, 0.1, 20_000, 1)
    assert (w_lib, b_lib) == pytest.approx((2.0, -1.0), abs=1e-3)
    assert (w_lib, b_lib) == pytest.approx((w, b), rel=1e-12)
    assert len(history) == 20_000 and history[-1000:].mean() < 1e-9


def test_neuron_main_prints_source_log_and_result(capsys):
    example("neuron").main(["--steps", "20000"])
    out = capsys.readouterr().out
    source = out.index("def value_and_grad_loss(w, b, x, y):")
    log = out.index("mean loss")
    assert source < log
    assert "d_x2 = " in out and "return (loss, (d_w, d_b))" in out
    assert len(re.findall(r"^\s+\d+\s+\S+e-\d+\s+\S+\s+\S+$", out, re.MULTILINE)) == 5
    found = re.search(r"loop above:\s+\(w, b\) = \((\S+), (\S+)\)", out)
    assert (float(found[1]), float(found[2])) == pytest.approx((2.0, -1.0), abs=1e-3)


# --- each script runs as a reader runs it --------------------------------------------------------

SCRIPTS = {
    "derivative.py": ([], r"-3\.000\s+6\.000\s+right"),
    "gradient.py": ([], r"\(-3, 0\.5\)\s+\(6, -1\)"),
    "gradient_descent.py": (["--steps", "50"], r"\(x1, x2\) = \(4\.282e-05, -2\.854e-05\)"),
    "neuron.py": (["--steps", "20000"],
                  r"loop above:\s+\(w, b\) = \((1\.99|2\.00)\d+, -(0\.99|1\.00)\d+\)"),
    # 20 epochs of the default 200 reach 95.8% on the 400 moons points; 90% and up is the bar
    "mlp_classifier.py": (["--epochs", "20"], r"final accuracy: (9\d|100)\.\d% of 400 points"),
    # Newton in a handful of iterations, gradient descent in hundreds, the same minimum
    "newton.py": (["--n", "200"], r"f''\(2\) = 12\n(.|\n)*Newton\s+\d\s(.|\n)*"
                  r"gradient descent\s+\d{3,}\s(.|\n)*differ by \d\.\de-(0[6-9]|1\d)"),
}


@pytest.fixture(scope="module")
def script_dir(tmp_path_factory):
    """The scripts' working directory, where mlp_classifier.py saves its picture."""
    return tmp_path_factory.mktemp("examples")


@pytest.fixture(scope="module")
def script_runs(script_dir):
    """All scripts started at once (they spend most of their time compiling).

    They import adcompile from this checkout (PYTHONPATH), whichever copy pip installed.
    """
    root = str(EXAMPLES.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    running = {script: subprocess.Popen([sys.executable, str(EXAMPLES / script), *args],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, cwd=script_dir)
               for script, (args, _) in SCRIPTS.items()}
    yield running
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def script_outputs(script_runs):
    """Each script's (return code, stdout, stderr), waited for once."""
    outputs = {}
    for script, process in script_runs.items():
        out, err = process.communicate(timeout=120)
        outputs[script] = process.returncode, out, err
    return outputs


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs(script, script_outputs):
    returncode, out, err = script_outputs[script]
    assert returncode == 0, err
    assert re.search(SCRIPTS[script][1], out), out


def test_mlp_classifier_saves_its_picture_or_says_how(script_outputs, script_dir):
    _, out, _ = script_outputs["mlp_classifier.py"]
    if importlib.util.find_spec("matplotlib") is None:
        assert 'pip install -e ".[plot]"' in out
    else:
        assert "saved the loss curve and the decision boundary to mlp_classifier.png" in out
        assert (script_dir / "mlp_classifier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- loops that write arrays: heat_stencil.py, soft_dtw.py, nbody.py --------------------------
#
# Each script first runs adc.check_grad on its loss at a random point of a small problem (it
# raises, and the script fails, when the generated gradient is off) and prints the largest
# relative error; then it fits or descends.  The check runs in the script's process rather
# than here because a subprocess cannot reuse this process's compilation (the cache key names
# the module of each helper the loss calls: __main__ there, adcompile_example_* here), and
# compiling every gradient twice would double the time of these tests.  The three scripts
# start together, when the first test needs them.

LOOP_SCRIPTS = ("heat_stencil.py", "soft_dtw.py", "nbody.py")


@pytest.fixture(scope="module")
def loop_scripts():
    """The three scripts running as ``python examples/NAME.py``, with their default arguments;
    ``loop_scripts(name)`` waits for one and returns its stdout (after asserting success)."""
    root = str(EXAMPLES.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    running = {script: subprocess.Popen([sys.executable, str(EXAMPLES / script)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env)
               for script in LOOP_SCRIPTS}
    outputs = {}

    def output(script):
        if script not in outputs:
            process = running[script]
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0, err
            outputs[script] = out
        return outputs[script]

    yield output
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def checked_gradient(out):
    """The largest relative error the script's adc.check_grad reported."""
    found = re.search(r"largest relative error (\S+)", out)
    assert found, out
    return float(found[1])


def test_heat_stencil_gradient_and_fit(loop_scripts):
    out = loop_scripts("heat_stencil.py")
    assert checked_gradient(out) < 1e-6
    found = re.search(r"recovered D = (\S+)\s+true D = (\S+)", out)
    assert found, out
    assert float(found[1]) == pytest.approx(float(found[2]), rel=0.01)


def test_soft_dtw_gradient_and_descent(loop_scripts):
    out = loop_scripts("soft_dtw.py")
    assert checked_gradient(out) < 1e-6
    found = re.search(r"divergence: (\S+) -> (\S+) in", out)
    assert found, out
    assert abs(float(found[2])) < 1e-5 * float(found[1])
    found = re.search(r"-> \S+ at sample (\d+); the target's peak: \S+ at sample (\d+)", out)
    assert found and found[1] == found[2], out


def test_nbody_gradient_and_fit(loop_scripts):
    out = loop_scripts("nbody.py")
    assert checked_gradient(out) < 1e-6
    found = re.search(r"recovered G = (\S+)\s+true G = (\S+)", out)
    assert found, out
    assert float(found[1]) == pytest.approx(float(found[2]), rel=1e-6)


# --- every script: --help gives the defaults; a reader that leaves early is no error ----------

ALL_SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def help_entries(text):
    """The option entries of an argparse --help: ``{"--lr": "--lr LR  learning rate ..."}``."""
    entries, current = {}, None
    for line in text.split("options:", 1)[1].splitlines():
        if line.startswith("  -"):
            current = line.split()[0].rstrip(",")
            entries[current] = " ".join(line.split())
        elif current and line.startswith("    "):
            entries[current] += " " + " ".join(line.split())
    return entries


@pytest.mark.parametrize("name", ALL_SCRIPTS)
def test_help_gives_the_default_of_every_option(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        example(name).main(["--help"])
    assert exit_info.value.code == 0
    entries = help_entries(capsys.readouterr().out)
    assert entries and set(entries) >= {"-h"}
    for option, entry in entries.items():
        takes_a_value = len(entry.split()) > 1 and entry.split()[1].isupper()
        if option != "-h" and takes_a_value:  # flags (--source) have no default to show
            assert "(default: " in entry, entry


def test_help_entries_are_read_right():
    text = ("usage: x\n\noptions:\n  -h, --help   show this help\n  --lr LR      learning "
            "rate (default:\n               0.1)\n  --source     print it\n")
    assert help_entries(text) == {"-h": "-h, --help show this help",
                                  "--lr": "--lr LR learning rate (default: 0.1)",
                                  "--source": "--source print it"}


def checkout_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(EXAMPLES.parent), env.get("PYTHONPATH"))
                                        if p)
    return env


def main_block(name):
    """The statements of ``examples/<name>.py`` under ``if __name__ == "__main__":``."""
    tree = ast.parse((EXAMPLES / f"{name}.py").read_text())
    blocks = [node.body for node in tree.body if isinstance(node, ast.If)
              and ast.unparse(node.test) == "__name__ == '__main__'"]
    assert len(blocks) == 1, name
    assert any(isinstance(node, ast.ImportFrom) and node.module == "adcompile.cli"
               and "run_script" in [a.name for a in node.names] for node in tree.body), name
    return [ast.unparse(statement) for statement in blocks[0]]


def test_a_pipe_closed_early_ends_every_script_quietly(tmp_path):
    """``python examples/NAME.py ... | head -3``: head leaves before the script has written
    everything.  Here the reading end is closed before the first line: the script must end
    with status 0 and nothing on stderr (no BrokenPipeError traceback, no 'Exception
    ignored').  Every script runs its ``main`` through ``cli.run_script``, which does this;
    two run as processes, one with --help and neuron.py through its training run (a fresh
    Python per script costs seconds of imports, and every script's --help is read above)."""
    for name in ALL_SCRIPTS:
        assert main_block(name) == ["run_script(main)"], name
    runs = {("derivative", "--help"): [sys.executable, str(EXAMPLES / "derivative.py"),
                                       "--help"],
            ("neuron", "train"): [sys.executable, str(EXAMPLES / "neuron.py"), "--steps",
                                  "2000"]}
    running = {}
    for key, argv in runs.items():
        running[key] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env=checkout_env(), cwd=tmp_path)
        running[key].stdout.close()
    for key, process in running.items():
        err = process.stderr.read().decode()
        assert process.wait(timeout=180) == 0, (key, err)
        assert err == "", (key, err)


# --- mlp_classifier.py: the picture ---------------------------------------------------------

def test_the_accuracy_axis_fits_the_curve():
    limits = example("mlp_classifier").accuracy_limits
    assert limits(np.array([0.88, 0.95, 0.98])) == pytest.approx((87.0, 99.0))
    assert limits(np.array([0.5, 0.75])) == pytest.approx((47.5, 77.5))
    assert limits(np.array([1.0, 1.0])) == pytest.approx((99.0, 101.0))
    assert limits(np.array([0.0, 0.02])) == pytest.approx((0.0, 3.0))


def test_the_picture_labels_its_axes_and_records_the_run():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    mlp = example("mlp_classifier")
    X, y = mlp.make_moons(40, 0.2, 0)
    params = mlp.initial_parameters(4, 0)
    history = np.column_stack([np.linspace(0.7, 0.3, 10), np.linspace(0.6, 0.9, 10)])
    record = mlp.run_record("moons", 40, 0.2, 4, 10, 8, 0.5, 0, history[-1, 1])
    assert record == ("data: moons, 40 points, noise 0.2, seed 0; model: MLP 2-4-1 (tanh, "
                      "logistic output), cross-entropy\nmethod: minibatch SGD (w ← w − lr·g), "
                      "batch size 8, lr 0.5, 10 epochs; final accuracy 90.0%")
    fig = mlp.figure(params, history, X, y, record)
    try:
        ax_loss, ax_data, ax_acc, colorbar = fig.axes
        assert (ax_data.get_xlabel(), ax_data.get_ylabel()) == ("x₁ (standardized)",
                                                                "x₂ (standardized)")
        assert colorbar.get_ylabel() == "P(class 1)"
        assert colorbar.get_ylim() == (0.0, 1.0)
        assert ax_acc.get_ylim() == pytest.approx((57.0, 93.0))
        assert [t.get_text() for t in fig.texts] == [record]
    finally:
        plt.close(fig)


# --- newton.py: second derivatives, Newton's method ------------------------------------------

def test_newton_second_derivatives_are_the_textbook_ones():
    newton = example("newton")
    d2 = adc.hessian(newton.cube)
    for a in (-1.5, 0.25, 3.0):
        assert d2(a) == pytest.approx(6.0 * a, rel=1e-12)
    np.testing.assert_allclose(adc.hessian(newton.bowl)(np.array([0.3, -0.7])),
                               [[2.0, 1.0], [1.0, 6.0]], rtol=1e-12)


def test_newton_converges_quadratically_to_the_minimum_gradient_descent_finds():
    newton = example("newton")
    X, s, _ = newton.make_data(120, 4, 1)
    w, steps, norms = newton.newton(X, s, 0.05, 1e-10)
    assert steps <= 10 and norms[-1] < 1e-10
    # quadratic: once small, each |grad| is at most about the square of the one before
    close = [(a, b) for a, b in zip(norms, norms[1:], strict=False) if a < 1e-2]
    assert close and all(b < 10.0 * a * a for a, b in close)
    w_gd, gd_steps, _ = newton.gradient_descent(X, s, 0.05, 1e-8, 1.0, 20000)
    assert gd_steps > 5 * steps
    np.testing.assert_allclose(w, w_gd, atol=1e-6)
