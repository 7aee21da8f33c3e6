"""Front end: a live function -> its AST, absolute line numbers, free names -> objects.

Each test reads a function defined below through ``parse_function`` and checks what the rest of
the pipeline relies on: every free name bound to the object it denotes, locals and parameters
left alone, and every node located in this file.
"""

import builtins
import math
import math as m
from math import exp
from pathlib import Path

import numba
import numpy as np
import pytest

import adcompile as adc
from adcompile.frontend import parse_function

SCALE = 2.5
POWER = 3

THIS_FILE = Path(__file__).read_text().splitlines()


def line_of(text: str) -> int:
    """The 1-based line of this file that ends with ``text`` (exactly one must)."""
    hits = [i + 1 for i, line in enumerate(THIS_FILE) if line.rstrip().endswith(text)]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def uses_aliases(x):
    a = m.sin(x)
    b = exp(x)
    c = np.exp(x)
    return a + b * c * SCALE


def uses_constants(x):
    return x ** POWER * SCALE + math.pi


def make_scaled(k, n):
    def scaled(x):
        return k * x ** n
    return scaled


def uses_builtins(x, y):
    return abs(x) + max(x, y) * float(y) - min(x, y)


def shadows_globals(x):
    exp = x * 2.0
    SCALE = exp + 1.0
    return SCALE * exp


def with_docstring(x):
    """Only the code below the docstring is differentiated."""
    return x * x


@numba.njit
def jitted_cube(x):
    return x * x * x  # frontend: jitted body


def located(x, y):  # frontend: def line
    a = x * y  # frontend: first statement
    b = (a
         + m.cos(y))  # frontend: continuation
    return a * b  # frontend: return


# -- free names ----------------------------------------------------------------------------

def test_module_alias_from_import_and_numpy_resolve_to_their_objects():
    info = parse_function(uses_aliases)
    assert info.bindings.keys() == {"m", "exp", "np", "SCALE"}
    assert info.bindings["m"] is math
    assert info.bindings["exp"] is math.exp
    assert info.bindings["np"] is np
    assert info.bindings["SCALE"] == 2.5


def test_module_level_constants_resolve_to_their_values():
    info = parse_function(uses_constants)
    assert info.bindings == {"POWER": 3, "SCALE": 2.5, "math": math}
    assert type(info.bindings["POWER"]) is int


def test_closure_over_constants_resolves_through_the_cells():
    info = parse_function(make_scaled(3.0, 2))
    assert info.bindings == {"k": 3.0, "n": 2}
    assert info.name == "scaled"
    assert info.params == ["x"]


def test_builtins_resolve_to_the_builtin_functions():
    info = parse_function(uses_builtins)
    assert info.bindings.keys() == {"abs", "max", "float", "min"}
    for name in ("abs", "max", "float", "min"):
        assert info.bindings[name] is getattr(builtins, name)


def test_locals_shadowing_globals_are_not_free_names():
    info = parse_function(shadows_globals)
    assert info.bindings == {}
    assert {"x", "exp", "SCALE"} <= info.names


def test_parameters_and_docstring():
    info = parse_function(with_docstring)
    assert info.params == ["x"]
    assert info.bindings == {}
    assert info.source.startswith("def with_docstring(x):")


# -- numba dispatchers ---------------------------------------------------------------------

def test_numba_dispatcher_is_unwrapped_to_its_python_function():
    info = parse_function(jitted_cube)
    assert info.func is jitted_cube.py_func
    assert info.name == "jitted_cube"
    assert info.tree.decorator_list == []
    assert info.tree.lineno == line_of("def jitted_cube(x):")
    assert info.tree.body[0].lineno == line_of("# frontend: jitted body")


def test_gradient_of_a_numba_dispatcher(fd):
    d = adc.grad(jitted_cube)
    assert d(1.5) == pytest.approx(3 * 1.5 ** 2, rel=1e-12)
    assert d(1.5) == pytest.approx(fd(jitted_cube.py_func, (1.5,), 0), rel=1e-7)


# -- locations -----------------------------------------------------------------------------

def test_line_numbers_are_absolute_in_this_file():
    info = parse_function(located)
    assert info.filename == __file__
    assert info.tree.lineno == line_of("# frontend: def line")
    first, second, ret = info.tree.body
    assert first.lineno == line_of("# frontend: first statement")
    assert second.lineno == line_of("# frontend: continuation") - 1
    assert second.end_lineno == line_of("# frontend: continuation")
    assert ret.lineno == line_of("# frontend: return")


def test_source_is_the_function_text():
    info = parse_function(located)
    assert info.source.splitlines()[0] == "def located(x, y):  # frontend: def line"
    assert info.bindings == {"m": math}


# -- resolution used end to end ------------------------------------------------------------

def test_aliased_names_differentiate_correctly(fd):
    d = adc.grad(uses_aliases)
    x = 0.7
    assert d(x) == pytest.approx(math.cos(x) + 2 * math.exp(2 * x) * 2.5, rel=1e-12)
    assert d(x) == pytest.approx(fd(uses_aliases, (x,), 0), rel=1e-7)


def test_closure_constants_differentiate_correctly(fd):
    scaled = make_scaled(3.0, 2)
    d = adc.grad(scaled)
    assert d(1.25) == pytest.approx(3.0 * 2 * 1.25, rel=1e-12)
    assert d(1.25) == pytest.approx(fd(scaled, (1.25,), 0), rel=1e-7)
