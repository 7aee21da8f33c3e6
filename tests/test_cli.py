"""The command line reads a function without running its file's top-level code.

``adcompile show FILE.py:FUNC`` and ``check`` parse the file and run only the statements the
function needs (its ``def``, the imports, helper ``def``\\ s and constants it reads, derivative
registrations).  A file whose top level trains, prints, writes a file or raises is left alone;
when the function reads a name that only running the file can set, the file is imported and a
note on stderr says why.  Also: the usage line names the program as it was started, and a
reader that closes the pipe early ends the command quietly.
"""

import ast
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from adcompile import cli

ROOT = Path(__file__).resolve().parents[1]

#: A training script: its top level prints, writes a marker file and then raises.
SCRIPT = '''\
"""A script whose top level must not run when the CLI reads loss()."""
from __future__ import annotations

import math

import numpy as np

import adcompile as adc

print("TOP LEVEL RAN")
Path = __import__("pathlib").Path
Path(__file__).with_name("marker.txt").write_text("ran")

SCALE = 2.0 * math.pi   # a constant: arithmetic on an imported name


def softplus(z):
    return math.log1p(math.exp(z))


@adc.derivative(softplus)
def d_softplus(g, ans, z):
    return g / (1.0 + math.exp(-z)) + RULE_SHIFT


def helper(x, k=SCALE):
    return math.sin(x) * k


def loss(w, b):
    return helper(w) * b + softplus(w * b) + OFFSET


OFFSET = 0.5
RULE_SHIFT = 0.0

weights = np.linspace(0.0, 1.0, 5)   # training data: made by a call
for epoch in range(3):
    weights = weights * 0.5
mean_weight = float(weights.mean())


def uses_data(w):
    return w * mean_weight


def branchy(w):
    return w * TUNED


if SCALE > 1.0:
    TUNED = 3.0
else:
    TUNED = 4.0


raise SystemExit("the top level ran to the end")

if __name__ == "__main__":
    OFFSET = 1.0
'''


@pytest.fixture
def script(tmp_path):
    """The training script, in a folder of its own (the marker file lands next to it)."""
    path = tmp_path / "train_model.py"
    path.write_text(SCRIPT)
    return path


def ran(script):
    return script.with_name("marker.txt").exists()


def test_show_does_not_run_the_top_level(script, capsys):
    assert cli.main(["show", f"{script}:loss", "--wrt", "w,b"]) == 0
    out, err = capsys.readouterr()
    assert not ran(script)
    assert "TOP LEVEL RAN" not in out and err == ""
    ast.parse(out)
    assert "def grad_loss(w, b):" in out
    # the helper's default (SCALE), the module constant and the registered rule all arrived
    assert "def grad_helper(" in out and "OFFSET" in out
    assert "math.exp(-" in out  # the rule's formula, inlined


def test_show_prints_the_other_modes(script, capsys):
    assert cli.main(["show", f"{script}:loss", "--mode", "jvp"]) == 0
    out, _ = capsys.readouterr()
    ast.parse(out)
    assert "def jvp_loss(w, b, dt_w):" in out and "forward mode" in out
    assert cli.main(["show", f"{script}:loss", "--mode", "hvp"]) == 0
    out, _ = capsys.readouterr()
    assert "def grad_jvp_loss_tangent(w, b, dt_w):" in out
    assert not ran(script)


def test_check_does_not_run_the_top_level(script, capsys):
    code = cli.main(["check", f"{script}:loss", "--wrt", "w,b", "--at", "0.3,-0.7"])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert not ran(script) and "TOP LEVEL RAN" not in out and err == ""
    assert "max relative error" in out


def test_a_registered_rule_is_run_even_when_the_function_does_not_name_it(script, capsys):
    """d_softplus is never read by loss(), yet it decides loss's gradient: a wrong rule must
    make check fail, so the registration ran (and read RULE_SHIFT)."""
    script.write_text(SCRIPT.replace("RULE_SHIFT = 0.0", "RULE_SHIFT = 1.0"))
    code = cli.main(["check", f"{script}:loss", "--wrt", "w,b", "--at", "0.3,-0.7"])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "FAIL" in out and not ran(script)


@pytest.mark.parametrize("func, why", [
    ("uses_data", "'mean_weight' is set at line"),
    ("branchy", "'TUNED' is set at line"),
])
def test_a_name_only_running_the_file_sets_imports_it_and_says_why(script, capsys, func, why):
    # the file raises SystemExit at its end; without it, import works and the gradient comes
    script.write_text(SCRIPT.replace('raise SystemExit("the top level ran to the end")', ""))
    assert cli.main(["show", f"{script}:{func}"]) == 0
    out, err = capsys.readouterr()
    assert ran(script) and "TOP LEVEL RAN" in out
    assert err.startswith(f"adcompile: note: importing {script}, which runs its top-level code")
    assert why in err
    assert f"def grad_{func}(w):" in out


def test_the_note_comes_before_the_top_level_runs(script, capsys):
    with pytest.raises(SystemExit, match="ran to the end"):
        cli.main(["show", f"{script}:uses_data"])
    assert ("'mean_weight' is set at line 40 by code that has to run: mean_weight = "
            "float(weights.mean())") in capsys.readouterr().err


def test_why_the_file_is_imported():
    """The reasons, one per kind of binding that only running the file can give."""
    source = textwrap.dedent('''\
        import math
        from helpers import *
        A = 1.0
        B = make()
        for C in range(3):
            pass
        try:
            D = 1.0
        except ImportError:
            D = 2.0
        class E:
            pass
        def set_f():
            global F
            F = 2.0
        F = 1.0
        G = 1.0
        G = G * 2.0
        H = [1.0]
        H[0] = 2.0
        def uses(x, name):
            return x
        if __name__ == "__main__":
            B = 1.0
    ''')
    plan = cli._Plan(ast.parse(source), "<test>")

    def why(name):
        return plan.select(name)[1]

    assert why("A") is None and why("G") is None and why("math") is None
    assert why("B") == "'B' is set at line 4 by code that has to run: B = make()"
    assert why("C").startswith("'C' is set at line 5 by code that has to run: for C in")
    assert why("D") == "'D' is set at line 8, inside the 'try' statement at line 7"
    assert why("E") == "'E' is set at line 11 by code that has to run: class E:"
    assert why("F") == "set_f() sets the global 'F'"
    assert why("H").startswith("'H' is set at line 19 by code that has to run")
    selected, _ = plan.select("G")
    # the star import may define anything, so it always runs; both bindings of G, in order
    assert [s.lineno for s in selected] == [2, 17, 18]


def test_only_what_the_function_reads_is_selected():
    source = textwrap.dedent('''\
        from __future__ import annotations
        import math
        import numpy as np
        import adcompile as adc
        print("hello")
        K = 2.0
        def inner(x):
            return np.exp(x) * K
        def unrelated(x):
            return x
        def outer(x, y):
            return inner(x) * math.cos(y)
        adc.nondifferentiable(unrelated)
    ''')
    selected, why = cli._Plan(ast.parse(source), "<test>").select("outer")
    assert why is None
    assert [s.lineno for s in selected] == [1, 2, 3, 4, 6, 7, 9, 11, 13]


def test_an_import_that_needs_the_code_before_it_falls_back_to_importing(tmp_path, capsys):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "scaling_for_cli_test.py").write_text("FACTOR = 3.0\n")
    path = tmp_path / "uses_path.py"
    path.write_text(textwrap.dedent('''\
        import sys
        sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/lib")
        from scaling_for_cli_test import FACTOR


        def f(x):
            return FACTOR * x * x
    '''))
    assert cli.main(["show", f"{path}:f"]) == 0
    out, err = capsys.readouterr()
    assert "an import failed without the code before it" in err
    assert "def grad_f(x):" in out


def test_a_missing_function_is_a_usage_error_without_running_the_file(script, capsys):
    assert cli.main(["show", f"{script}:no_such_function"]) == 2
    assert capsys.readouterr().err == f"adcompile: {script} defines no 'no_such_function'\n"
    assert not ran(script)


def test_a_file_that_does_not_parse_is_a_usage_error(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("def f(x):\n    return x +\n")
    assert cli.main(["show", f"{path}:f"]) == 2
    assert capsys.readouterr().err.startswith(f"adcompile: {path}:2: cannot parse it")
    path.write_text("import math\n\n\ndef f(x):\n    nonlocal y\n    return x\n")
    assert cli.main(["show", f"{path}:f"]) == 2  # parses, but is no valid Python
    assert capsys.readouterr().err.startswith(f"adcompile: {path}:5: cannot compile it")
    path.write_text("def f(x):\n    return x\n\n\nreturn 3\n")  # the function is fine
    assert cli.main(["show", f"{path}:f"]) == 0
    assert "def grad_f(x):" in capsys.readouterr().out


# --- the program's name, and a pipe closed early ------------------------------------------------

def env_with_checkout():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def test_the_usage_line_names_the_program_as_started():
    """``adcompile`` as a console script, ``python -m adcompile`` as a module."""
    (script,) = entry_points(group="console_scripts", name="adcompile")
    assert script.value == "adcompile.cli:main"
    as_script = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = '/usr/local/bin/adcompile'; "
         "from adcompile.cli import main; sys.exit(main())", "--help"],
        capture_output=True, text=True, env=env_with_checkout(), timeout=120)
    assert as_script.returncode == 0, as_script.stderr
    assert as_script.stdout.startswith("usage: adcompile [-h] {show,check}")
    as_module = subprocess.run([sys.executable, "-m", "adcompile", "show", "--help"],
                               capture_output=True, text=True, env=env_with_checkout(),
                               timeout=120)
    assert as_module.returncode == 0, as_module.stderr
    assert as_module.stdout.startswith("usage: python -m adcompile show [-h]")


def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(script):
    process = subprocess.Popen([sys.executable, "-m", "adcompile", "show", f"{script}:loss"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env_with_checkout())
    process.stdout.close()  # as head does after its lines
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0, err
    assert err == ""


def test_run_script_returns_the_status_and_lets_system_exit_through():
    assert cli.run_script(lambda: 3) == 3

    def usage_error():
        raise SystemExit(2)

    with pytest.raises(SystemExit):
        cli.run_script(usage_error)
