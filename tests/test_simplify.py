"""Simplification of adjoint expressions: before -> after as source text.

Every rewrite must keep the value and the type of the expression; the last tests check that by
evaluating the text before and after at a few points.
"""

import ast
import math

import pytest

from adcompile.simplify import simplify


def simplified(text: str) -> str:
    return ast.unparse(simplify(ast.parse(text, mode="eval").body))


REWRITES = [
    # neutral elements (integer literals only: ``x * 1.0`` would turn an int into a float)
    ("x * 1", "x"),
    ("1 * x", "x"),
    ("x ** 1", "x"),
    ("x + 0", "x"),
    ("0 + x", "x"),
    ("x - 0", "x"),
    # signs
    ("-(-x)", "x"),
    ("-(2.0)", "-2.0"),
    ("-(-2.0)", "2.0"),
    ("-(3 - 5)", "2"),
    # folding between literals
    ("2.0 * 3.0", "6.0"),
    ("2 * 3 * x", "6 * x"),
    ("1 - 1", "0"),
    ("0.5 - 1", "-0.5"),
    ("2 ** -1", "0.5"),
    # what the rules produce after substitution
    ("g * 2 * x ** (2 - 1)", "g * 2 * x"),
    ("g * 3 * x ** (3 - 1)", "g * 3 * x ** 2"),
    ("d_y * -2 * x ** (-2 - 1)", "d_y * -2 * x ** (-3)"),
    ("-d_y * 1", "-d_y"),
    ("(x * 1) + 0", "x"),
]

KEPT = [
    "x * 1.0",      # int x would become a float
    "x + 0.0",      # -0.0 + 0.0 is 0.0, not -0.0
    "0 - x",
    "x / 1",
    "x * 2 * 3",    # (x * 2) * 3: no literal pair to fold
    "1 / 0",        # folding would raise
    "10.0 ** 20",   # too large to print as a readable literal
    "x * 0",        # 0 * inf is nan, not 0
]


@pytest.mark.parametrize("before, after", REWRITES)
def test_rewrites(before, after):
    assert simplified(before) == after


@pytest.mark.parametrize("text", KEPT)
def test_kept_as_written(text):
    assert simplified(text) == text


def test_result_carries_locations_for_unparse_and_compile():
    node = ast.parse("g * 1 + 0", mode="eval").body
    out = simplify(node)
    for child in ast.walk(out):
        if isinstance(child, ast.expr):
            assert hasattr(child, "lineno")


VALUE_CASES = [
    *[before for before, _ in REWRITES],
    *[text for text in KEPT if text != "1 / 0"],
    "(-2.0) ** x",
    "(-8.0) ** 2",
    "x ** (-0.5)",
    "(-x) ** 2",
    "-(x ** 2)",
    "(-1) ** 3 * g",
]


@pytest.mark.parametrize("before", VALUE_CASES)
@pytest.mark.parametrize("x", [2, 3.5, -1.25])
def test_value_and_type_are_kept(before, x):
    """The simplified *text* (what the generated module holds) evaluates like the original."""
    env = {"x": x, "g": 0.75, "d_y": -1.5, "math": math}
    expected = eval(before, dict(env))
    got = eval(simplified(before), dict(env))
    assert type(got) is type(expected)
    if isinstance(expected, complex) or not math.isnan(expected):
        assert got == expected
    else:
        assert math.isnan(got)
