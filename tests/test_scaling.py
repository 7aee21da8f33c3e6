"""Scaling of the pipeline: expressions as deep as Python allows, and long functions.

A sum of a thousand terms is a chain of a thousand nested ``BinOp`` nodes; no pass may walk
it by recursion.  The derivatives are checked against formulas derived by hand, and the time
to generate a function's module against a function ten times shorter.
"""

import gc
import importlib.util
import math
import sys
import time

import numpy as np

import adcompile
from adcompile import codegen
from adcompile.frontend import parse_function


def _load(tmp_path, name, source):
    """The function ``f`` of a module written to ``tmp_path`` (so that its source is read
    back from a file, as for any user module)."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def _generated(f, wrt):
    """The value-and-gradient function adcompile writes for ``f``, run by Python (Numba's
    compile time for thousands of statements is not what these tests are about)."""
    info = parse_function(f)
    names = codegen._role_names(info)
    text, _ = codegen._module_text(info, [info.params[i] for i in wrt], len(wrt) > 1, names)
    namespace = {}
    exec(compile(text, f"<generated {info.name}>", "exec"), namespace)
    return namespace[names["value_and_grad"]]


def test_a_thousand_term_sum(tmp_path):
    n = 1000
    terms = " + ".join(f"{k}e-3 * math.sin(x * {k}e-3)" for k in range(1, n + 1))
    f = _load(tmp_path, "sum_1000", f"import math\n\n\ndef f(x):\n    return {terms}\n")
    x = 0.7
    c = np.arange(1, n + 1) * 1e-3
    value, gradient = _generated(f, [0])(x)
    assert math.isclose(value, float(np.sum(c * np.sin(c * x))), rel_tol=1e-12)
    assert math.isclose(gradient, float(np.sum(c * c * np.cos(c * x))), rel_tol=1e-12)


def test_a_thousand_term_polynomial_in_statements(tmp_path):
    n = 1000
    terms = " + ".join(f"a * {k}e-3 * x * y" for k in range(1, n + 1))
    f = _load(tmp_path, "poly_1000",
              f"def f(x, y, a):\n    s = {terms}\n    s += x\n    return s\n")
    x, y, a = 0.3, -1.2, 0.5
    total = a * n * (n + 1) / 2 * 1e-3
    _, (gx, gy) = _generated(f, [0, 1])(x, y, a)
    assert math.isclose(gx, total * y + 1.0, rel_tol=1e-12)
    assert math.isclose(gy, total * x, rel_tol=1e-12)


def test_a_long_chain_of_unary_minus(tmp_path):
    # 2,001 nested UnaryOp nodes without a parenthesis: -sin(x) * y
    f = _load(tmp_path, "minus_chain", "import math\n\n\ndef f(x, y):\n    return "
              + "-" * 2001 + "math.sin(x) * y\n")
    x, y = 0.4, 1.7
    _, (gx, gy) = _generated(f, [0, 1])(x, y)
    assert math.isclose(gx, -math.cos(x) * y, rel_tol=1e-12)
    assert math.isclose(gy, -math.sin(x), rel_tol=1e-12)


def test_calls_nested_to_the_parenthesis_limit(tmp_path):
    # Python's tokenizer allows 200 nested parentheses
    depth = 190
    f = _load(tmp_path, "nested_sin", "import math\n\n\ndef f(x):\n    return "
              + "math.sin(" * depth + "x" + ")" * depth + "\n")
    x = 1.3
    value, derivative = x, 1.0
    for _ in range(depth):  # the chain rule, by hand
        derivative *= math.cos(value)
        value = math.sin(value)
    assert math.isclose(adcompile.grad(f)(x), derivative, rel_tol=1e-12)  # with Numba


def _straight_line(n):
    lines = ["import math", "", "", "def f(x0):"]
    for k in range(1, n + 1):
        if k % 2:
            lines.append(f"    x{k} = x{k - 1} * 1.0001 + 0.1")
        else:
            lines.append(f"    x{k} = math.sin(x{k - 1})")
    lines.append(f"    return x{n}")
    return "\n".join(lines) + "\n"


def _generation_seconds(f, repeat):
    """CPU seconds from the source to the text of the module (no Numba), best of
    ``repeat``."""
    best = math.inf
    for _ in range(repeat):
        gc.collect()
        gc.disable()  # collections of a large heap are not the pipeline's own cost
        try:
            start = time.process_time()
            info = parse_function(f)
            codegen._module_text(info, [info.params[0]], False, codegen._role_names(info))
            best = min(best, time.process_time() - start)
        finally:
            gc.enable()
    return best


def test_generation_grows_about_linearly(tmp_path):
    small = _load(tmp_path, "lines_100", _straight_line(100))
    large = _load(tmp_path, "lines_1000", _straight_line(1000))
    _generation_seconds(small, 1)  # warm up: imports, rule tables
    t_small = _generation_seconds(small, 3)
    t_large = _generation_seconds(large, 1)  # CPU time: one run of the large one is steady
    # 10x the statements: linear is 10x; quadratic would be 100x
    assert t_large < 25 * t_small, (t_small, t_large)


def test_recursion_limit_is_untouched(tmp_path):
    before = sys.getrecursionlimit()
    f = _load(tmp_path, "sum_300", "def f(x):\n    return "
              + " + ".join(f"x * {k}.0" for k in range(1, 301)) + "\n")
    info = parse_function(f)
    codegen._module_text(info, ["x"], False, codegen._role_names(info))
    assert sys.getrecursionlimit() == before
