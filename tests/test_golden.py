"""Golden files: the generated ``.source`` of the lecture's examples, pinned as text.

A change in the generated code shows up here as a diff to review.  When the change is intended,
regenerate the files and commit them with the change:

    ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

The header of generated code names the example's absolute path; it is replaced by
``<examples>`` so the files match on any checkout.  Each golden file is also run, so what is
pinned is known to compute the right derivative.
"""

import ast
import difflib
import importlib.util
import math
import os
from functools import cache
from pathlib import Path

import pytest

import adcompile as adc

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
EXAMPLES = HERE.parent / "examples"
UPDATE = os.environ.get("ADCOMPILE_UPDATE_GOLDEN") == "1"


@cache
def example(name):
    """Import ``examples/<name>.py`` as a module (examples/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"adcompile_golden_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# golden file -> (function of the generated code, how to get the compiled function)
CASES = {
    "derivative_grad_f": ("grad_f", lambda: example("derivative").df),
    "gradient_grad_bowl": ("grad_bowl", lambda: example("gradient").dbowl),
    "neuron_grad_loss": ("grad_loss", lambda: adc.grad(example("neuron").loss, wrt=("w", "b"))),
    "neuron_value_and_grad_loss": ("value_and_grad_loss",
                                   lambda: example("neuron").value_and_dloss),
}


def normalized(source: str) -> str:
    return source.replace(str(EXAMPLES), "<examples>").rstrip() + "\n"


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.py.txt"


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden_file(name):
    actual = normalized(CASES[name][1]().source)
    path = golden_path(name)
    if UPDATE:
        path.write_text(actual)
    assert path.exists(), (f"{path} is missing; create it with "
                           "ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py")
    expected = path.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        str(path), "generated"))
    assert actual == expected, (
        f"generated source differs from {path.name}:\n{diff}\nIf the change is intended: "
        "ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py")


def test_header_names_the_example_without_its_absolute_path():
    text = golden_path("neuron_grad_loss").read_text()
    assert "from loss() in <examples>/neuron.py:" in text or \
        "from loss() in <examples>\\neuron.py:" in text
    assert str(HERE.parent) not in text


def run_golden(name: str, *args):
    """Execute the golden file's text and call its generated function."""
    function, _ = CASES[name]
    text = golden_path(name).read_text()
    namespace: dict = {}
    exec(compile(ast.parse(text), str(golden_path(name)), "exec"), namespace)
    return namespace[function](*args)


@pytest.mark.parametrize("a", [-3.0, 0.0, 2.5])
def test_golden_derivative_computes_two_a(a):
    assert run_golden("derivative_grad_f", a) == 2.0 * a


@pytest.mark.parametrize("a, b", [(1.0, 2.0), (-3.0, 0.5)])
def test_golden_gradient_computes_two_a_two_b(a, b):
    assert run_golden("gradient_grad_bowl", a, b) == (2.0 * a, 2.0 * b)


@pytest.mark.parametrize("w, b, x, y", [(0.3, -0.1, 1.5, 0.8), (-1.2, 0.4, -3.0, 0.1)])
def test_golden_neuron_computes_the_chain_rule(w, b, x, y):
    yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
    d_x2 = 2.0 * (yhat - y) * yhat * (1.0 - yhat)
    d_w, d_b = run_golden("neuron_grad_loss", w, b, x, y)
    assert (d_w, d_b) == pytest.approx((d_x2 * x, d_x2), rel=1e-12)
    value, (d_w, d_b) = run_golden("neuron_value_and_grad_loss", w, b, x, y)
    assert value == pytest.approx((yhat - y) ** 2, rel=1e-13)
    assert (d_w, d_b) == pytest.approx((d_x2 * x, d_x2), rel=1e-12)
