"""Golden files for control flow and calls: the generated ``.source`` pinned as text.

Three functions (an Euler loop, a branchy function, a function calling a helper) are defined at
the top of this file; their generated source is compared with ``tests/golden/control_*.py.txt``
with this directory's path replaced by ``<tests>``.  When a change in the generated code is
intended, regenerate and commit the files with it:

    ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_control.py

Each golden file is also run and checked against finite differences, so what is pinned is
known to compute the right derivative.
"""

import ast
import difflib
import math
import os
from pathlib import Path

import pytest

import adcompile as adc


def euler(p, y0, n):
    y = y0
    dt = 0.01
    for _ in range(n):
        y = y + dt * (-p * y + math.sin(y))
    return y


def branchy(x, y):
    if x > 0.0:
        z = x * y
    elif -1.0 < x < y:
        z = math.sin(x) + y
    else:
        z = y * y
    return z * x if z > 0.0 else -z


def drag(v, c=0.5):
    return c * v * abs(v)


def fall(v0, c, n):
    v = v0
    for _ in range(n):
        v = v + 0.1 * (9.81 - drag(v, c=c))
    return v * v


# -- the golden files -----------------------------------------------------------------------------

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
UPDATE = os.environ.get("ADCOMPILE_UPDATE_GOLDEN") == "1"
REGENERATE = "ADCOMPILE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_control.py"

# golden file -> (function, wrt, name of the generated function)
CASES = {
    "control_euler": (euler, ("p", "y0"), "grad_euler"),
    "control_branchy": (branchy, ("x", "y"), "grad_branchy"),
    "control_fall": (fall, ("v0", "c"), "grad_fall"),
}


def normalized(source: str) -> str:
    return source.replace(str(HERE), "<tests>").rstrip() + "\n"


def golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.py.txt"


@pytest.mark.parametrize("name", sorted(CASES))
def test_generated_source_matches_golden_file(name):
    f, wrt, _ = CASES[name]
    actual = normalized(adc.grad(f, wrt=wrt).source)
    path = golden_path(name)
    if UPDATE:
        path.write_text(actual)
    assert path.exists(), f"{path} is missing; create it with {REGENERATE}"
    expected = path.read_text()
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        str(path), "generated"))
    assert actual == expected, (f"generated source differs from {path.name}:\n{diff}\n"
                                f"If the change is intended: {REGENERATE}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_file_names_this_file_without_its_absolute_path(name):
    f = CASES[name][0]
    text = golden_path(name).read_text()
    line = f.__code__.co_firstlineno
    assert f"from {f.__name__}() in <tests>/test_golden_control.py:{line}" in text
    assert str(HERE) not in text


def run_golden(name: str, *args):
    """Execute the golden file's text as plain Python and call its generated gradient."""
    _, _, function = CASES[name]
    namespace: dict = {}
    exec(compile(ast.parse(golden_path(name).read_text()), str(golden_path(name)), "exec"),
         namespace)
    return namespace[function](*args)


def expected(fd, name, args):
    f, wrt, _ = CASES[name]
    params = f.__code__.co_varnames[: f.__code__.co_argcount]
    return tuple(fd(f, args, params.index(p)) for p in wrt)


@pytest.mark.parametrize("name, args", [
    ("control_euler", (0.5, 1.0, 30)),
    ("control_euler", (-0.4, 2.0, 3)),
    ("control_euler", (0.5, 1.0, 0)),
    ("control_branchy", (0.7, 0.4)),
    ("control_branchy", (-0.5, 0.3)),
    ("control_branchy", (-0.5, -0.9)),
    ("control_branchy", (-2.0, 0.5)),
    ("control_fall", (0.0, 0.5, 20)),
    ("control_fall", (-3.0, 0.2, 8)),
])
def test_golden_file_computes_the_gradient(fd, name, args):
    assert run_golden(name, *args) == pytest.approx(expected(fd, name, args), rel=1e-6,
                                                    abs=1e-8)


def test_reversed_euler_loop_is_one_plain_loop_over_the_steps_backwards():
    text = golden_path("control_euler").read_text()
    tree = ast.parse(text)
    (grad,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "grad_euler"]
    loops = [n for n in ast.walk(grad) if isinstance(n, (ast.For, ast.While))]
    assert [type(n) for n in loops] == [ast.For, ast.For]
    forward, backward = loops
    assert ast.unparse(forward.iter) == "range(n)"
    assert ast.unparse(backward.iter) == "range(n - 1, -1, -1)"
    # one tape, for the one overwritten state, written once per step and read back once per
    # reversed step
    tapes = {t.id for n in ast.walk(grad) if isinstance(n, ast.Assign)
             for t in n.targets if isinstance(t, ast.Name) and t.id.endswith("_tape")}
    assert tapes == {"y_1_tape"}
    assert sum(isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript)
               and ast.unparse(s.targets[0].value) == "y_1_tape" for s in forward.body) == 1
    assert sum(isinstance(s, ast.Assign) and "_tape[" in ast.unparse(s.value)
               for s in backward.body) == 1
