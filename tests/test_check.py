"""``adc.check_grad`` and ``python -m adcompile check``.

A correct gradient passes with a tiny error; a gradient made wrong on purpose (a user rule with
a wrong formula, registered with ``adc.derivative``) is reported, naming the parameter and the
index of each wrong entry.  The expected errors are computed here by hand from the known
formulas, independently of check_grad's own differences.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import adcompile as adc
from adcompile import cli
from adcompile.check import compare


def loss(w, b, x, y):
    yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
    return (yhat - y) ** 2


def least_squares(x, A, b):
    r = A @ x - b
    return np.sum(r * r)


def power_sum(x, n, scale=2.0):
    return scale * x ** n


def softsign(x):
    return x / (1.0 + np.abs(x))


@adc.derivative(softsign)
def softsign_wrong_for_negatives(g, ans, x):
    """Wrong on purpose: right for x >= 0 only (the true derivative is 1 / (1 + |x|)**2)."""
    return g / ((1.0 + x) * (1.0 + x))


def nearly_square(x):
    return x * x


@adc.derivative(nearly_square)
def nearly_square_off(g, ans, x):
    """Off on purpose by a relative 1e-4."""
    return g * 2.0002 * x


def uses_softsign(v, w):
    return np.sum(softsign(v) * w)


def uses_softsign_scalar(a, b):
    return softsign(a) + softsign(b) * 2.0


def uses_nearly_square(a):
    return nearly_square(a)


# -- check_grad ---------------------------------------------------------------------------------

def test_correct_scalar_gradient_passes_with_a_small_error():
    err = adc.check_grad(loss, ("w", "b"), 0.3, -0.1, 1.5, 0.8)
    assert isinstance(err, float)
    assert 0.0 <= err < 1e-8


def test_correct_array_gradient_passes_and_leaves_the_arrays_alone():
    A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = np.array([1.0, 0.0, -1.0])
    x = np.array([0.5, -0.25])
    before = [A.copy(), b.copy(), x.copy()]
    err = adc.check_grad(least_squares, (0, 1, 2), x, A, b)
    assert 0.0 <= err < 1e-8
    for arr, old in zip((A, b, x), before, strict=True):
        np.testing.assert_array_equal(arr, old)


def test_every_entry_is_reported_with_its_index():
    A = np.arange(6.0).reshape(3, 2)
    result = compare(least_squares, "A", (np.array([0.5, -0.25]), A, np.ones(3)))
    assert [e.index for e in result.entries] == list(np.ndindex(3, 2))
    assert {e.param for e in result.entries} == {"A"}
    # by hand: d/dA sum(r * r) = 2 r x^T
    r = A @ np.array([0.5, -0.25]) - np.ones(3)
    want = 2.0 * np.outer(r, [0.5, -0.25])
    for e in result.entries:
        assert e.computed == pytest.approx(want[e.index], rel=1e-12, abs=1e-12)
        assert e.expected == pytest.approx(want[e.index], rel=1e-8, abs=1e-9)


def test_int_and_bool_arguments_in_wrt_are_differentiated_as_floats():
    # d/dx 2 x ** 3 at x = 2 is 24; x is passed as an int, n stays an int constant
    assert adc.check_grad(power_sum, "x", 2, 3) < 1e-8
    assert adc.check_grad(power_sum, ("x", "scale"), True, 2, 1) < 1e-8


def test_default_arguments_are_used():
    result = compare(power_sum, 0, (1.5, 2))
    assert result.entries[0].computed == pytest.approx(2.0 * 2 * 1.5)


def test_wrong_rule_raises_naming_the_parameter():
    with pytest.raises(AssertionError) as info:
        adc.check_grad(uses_softsign_scalar, ("a", "b"), 0.4, -0.6)
    message = str(info.value)
    assert "uses_softsign_scalar" in message
    assert "1 of 2 entries" in message
    rows = [line.split() for line in message.splitlines() if line.rstrip().endswith("FAIL")]
    assert len(rows) == 1 and rows[0][0] == "b"
    # the row shows adcompile's value and the true derivative, computed here by hand
    got, want = float(rows[0][2]), float(rows[0][3])
    assert got == pytest.approx(2.0 / (1.0 - 0.6) ** 2, rel=1e-12)
    assert want == pytest.approx(2.0 / (1.0 + 0.6) ** 2, rel=1e-8)


def test_wrong_rule_on_an_array_names_the_index():
    v = np.array([0.5, -0.7, 1.2])
    w = np.array([1.0, 2.0, 3.0])
    with pytest.raises(AssertionError) as info:
        adc.check_grad(uses_softsign, "v", v, w)
    message = str(info.value)
    failing = [line.split() for line in message.splitlines() if line.rstrip().endswith("FAIL")]
    assert [(row[0], row[1]) for row in failing] == [("v", "[1]")]
    np.testing.assert_array_equal(v, [0.5, -0.7, 1.2])


def test_worst_entries_come_first_and_the_report_is_limited():
    v = -np.linspace(0.05, 0.9, 15)  # every entry wrong, the error growing with |v|
    result = compare(uses_softsign, "v", (v, np.ones(15)))
    assert not result.ok and len(result.failures) == 15
    errors = [e.error for e in result.failures]
    assert errors == sorted(errors, reverse=True)
    assert result.failures[0].index == (14,)
    table = result.table(10)
    assert "... and 5 more entries, 5 of them failing" in table
    assert len(table.splitlines()) == 1 + 10 + 1


def test_tolerances_and_the_relative_error():
    # the rule is off by a relative 2e-4 / 2 = 1e-4; at a = 1.5 the derivative is 3
    err = adc.check_grad(uses_nearly_square, 0, 1.5, rtol=1e-3)
    assert err == pytest.approx(1e-4 * 3.0 / (3.0 + 1e-7 / 1e-3), rel=1e-4)
    with pytest.raises(AssertionError, match="beyond rtol=1e-05"):
        adc.check_grad(uses_nearly_square, 0, 1.5)
    # a large atol accepts it too: |a - b| = 3e-4 <= atol
    adc.check_grad(uses_nearly_square, 0, 1.5, rtol=0.0, atol=1e-3)


def test_entries_near_zero_are_measured_against_the_floor():
    # d/dx at x = 0 of x * x is 0: the difference gives 0 up to rounding, the error stays tiny
    assert adc.check_grad(uses_nearly_square, 0, 0.0) < 1e-8


def test_bad_input_is_refused():
    with pytest.raises(adc.AdcompileError, match="names no parameter"):
        adc.check_grad(loss, "q", 0.3, -0.1, 1.5, 0.8)
    with pytest.raises(TypeError, match="do not fit"):
        adc.check_grad(loss, "w", 0.3, -0.1)
    with pytest.raises(ValueError, match="rtol"):
        adc.check_grad(loss, "w", 0.3, -0.1, 1.5, 0.8, rtol=-1.0)
    with pytest.raises(TypeError, match="cannot differentiate with respect to w"):
        adc.check_grad(loss, "w", "0.3", -0.1, 1.5, 0.8)


# -- the command line ---------------------------------------------------------------------------

MODEL = textwrap.dedent('''\
    import math

    import numpy as np

    import adcompile as adc


    def loss(w, b, x, y):
        yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
        return (yhat - y) ** 2


    def least_squares(x, A, b):
        r = A @ x - b
        return np.sum(r * r)


    def halfsquare(x):
        return 0.5 * x * x


    @adc.derivative(halfsquare)
    def halfsquare_wrong(g, ans, x):
        return g * x * x


    def model(v, s):
        return np.sum(halfsquare(v)) * s
''')


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "cli_model.py"
    path.write_text(MODEL)
    return path


def test_cli_check_passes(model_file, capsys):
    code = cli.main(["check", f"{model_file}:loss", "--wrt", "w,b", "--at", "0.3,-0.1,1.5,0.8"])
    out = capsys.readouterr().out
    assert code == 0
    assert "max relative error" in out and "within rtol=1e-05, atol=1e-07" in out
    assert out.count("\n") == 4  # the summary, the header, w and b


def test_cli_check_arrays(model_file, capsys):
    code = cli.main(["check", f"{model_file}:least_squares", "--wrt", "0,1",
                     "--at", "[0.5, -0.25],[[1, 2], [3, 4], [5, 6]],[1, 0, -1]", "--entries", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert "A          [2, 1]" in out and "x          [1]" in out


def test_cli_check_fails_on_a_wrong_rule(model_file, capsys):
    code = cli.main(["check", f"{model_file}:model", "--wrt", "v,s",
                     "--at", "[0.5, 2.0, -1.0],3.0"])
    out = capsys.readouterr().out
    assert code == 1
    # d/dv_i = 3 v_i, the wrong rule gives 3 v_i ** 2: only v_i = 0.5, 2 and -1 differ;
    # d/ds = sum(v * v / 2) is right
    failing = [line.split()[:2] for line in out.splitlines() if line.rstrip().endswith("FAIL")]
    assert sorted(failing) == [["v", "[0]"], ["v", "[1]"], ["v", "[2]"]]
    assert "3 of 4 entries differ" in out


def test_cli_tolerance_options(model_file, capsys):
    args = ["check", f"{model_file}:loss", "--wrt", "w", "--at", "0.3,-0.1,1.5,0.8"]
    assert cli.main([*args, "--rtol", "0", "--atol", "0"]) == 1
    assert cli.main([*args, "--rtol", "1e-3", "--atol", "1e-3"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("argv", [
    ["check", "no_such_file.py:loss", "--at", "1"],
    ["check", "{model}:no_such_function", "--at", "1"],
    ["check", "{model}", "--at", "1"],
    ["check", "{model}:loss", "--at", "0.3,(1"],
    ["check", "{model}:loss", "--at", "0.3,'text',1,2"],
    ["check", "{model}:loss", "--at", "0.3,-0.1"],
    ["check", "{model}:loss", "--wrt", "q", "--at", "0.3,-0.1,1.5,0.8"],
    ["check", "{model}:loss", "--at", "0.3,-0.1,1.5,0.8", "--rtol", "-1"],
    ["check", "{model}:least_squares", "--at", "[1, 2],[[1, 2], [3]],[1, 0, -1]"],
], ids=["no-file", "no-function", "no-colon", "bad-literal", "string", "too-few-values",
        "bad-wrt", "negative-rtol", "ragged-array"])
def test_cli_usage_errors_exit_2(model_file, capsys, argv):
    argv = [a.replace("{model}", str(model_file)) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("adcompile: ")


def test_cli_missing_at_is_an_argparse_usage_error(model_file, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["check", f"{model_file}:loss"])
    assert info.value.code == 2
    assert "--at" in capsys.readouterr().err


def test_cli_parse_values():
    values = cli.parse_values("0.3,-1,[1, 2],[[1.5], [2]],(0.5, [3]),True")
    assert values[0] == 0.3 and values[1] == -1 and values[5] is True
    np.testing.assert_array_equal(values[2], [1.0, 2.0])
    assert values[2].dtype == np.float64 and values[3].shape == (2, 1)
    assert values[4][0] == 0.5 and values[4][1].dtype == np.float64
    assert cli.parse_values("") == ()


def test_cli_show_still_works(model_file, capsys):
    assert cli.main(["show", f"{model_file}:loss", "--wrt", "w,b"]) == 0
    assert "def grad_loss(w, b, x, y):" in capsys.readouterr().out


def test_python_dash_m_exit_status(model_file, tmp_path):
    """The real command line, in a fresh process: 0 within tolerance, 1 beyond it."""
    env_cmd = [sys.executable, "-m", "adcompile", "check"]
    ok = subprocess.run([*env_cmd, f"{model_file}:loss", "--wrt", "w,b", "--at",
                         "0.3,-0.1,1.5,0.8"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "max relative error" in ok.stdout
    bad = subprocess.run([*env_cmd, f"{model_file}:model", "--wrt", "v", "--at",
                          "[0.5, 2.0],3.0"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1, bad.stderr
    assert "FAIL" in bad.stdout
