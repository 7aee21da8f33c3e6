"""Normalization: one operation per assignment, fresh names, user names kept.

Each case is a function below (before) and the text of its normalized form (after), compared
with ``ast.unparse(normalize(...).to_function())``.
"""

import ast
import math
import textwrap
from pathlib import Path

import pytest

from adcompile import kernels
from adcompile.frontend import parse_function
from adcompile.normalize import normalize

THIS_FILE = Path(__file__).read_text().splitlines()


def normalized(f) -> str:
    return ast.unparse(normalize(parse_function(f)).to_function())


# -- before ---------------------------------------------------------------------------------

def one_op_each(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


def reassigned(x):
    x = x * 2.0
    x = x + 1.0
    y = x * x
    y = y - x
    return y


def augmented(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= y
    z **= 2
    return z


def unpacked(x, y):
    a, b = x * y, y
    return a - b


def swapped(x, y):
    a, b = x, y * 2.0
    a, b = b, a
    return a * b ** 2


def chained(x):
    a = b = x * x
    return a + b


def nested_calls(x, y):
    return math.sin(math.cos(x * y) + math.exp(-y)) ** 2


def negative_literals(x):
    a = -2.0 * x
    b = x ** -2
    c = x - -1.5
    return a + b * c + -x


def user_temporaries(x, t1):
    t2 = x * t1
    return (t2 + 1.0) * (t2 - 1.0)


def area(x):
    area = x * x
    return area * 2.0


def returns_a_parameter(x, y):
    return y


def returns_a_constant(x):
    return -3.0


def plain_copy_and_unary_plus(x):
    y = +x
    z = y
    return z * math.pi


def annotated(x):
    """A docstring and an annotation: neither survives normalization."""
    y: float = x * 3
    pass
    return y


def negative_base(x):
    return (-3.0) ** 2 * x


def compared(x, y):
    c = x < y
    f = math.floor(x / y)
    return x * c + f


# -- after ----------------------------------------------------------------------------------

CASES = [
    (one_op_each, """
        def one_op_each(w, b, x, y):
            x1 = w * x
            x2 = x1 + b
            t1 = -x2
            t2 = math.exp(t1)
            t3 = 1.0 + t2
            yhat = 1.0 / t3
            t4 = yhat - y
            one_op_each = t4 ** 2
            return one_op_each
        """),
    (reassigned, """
        def reassigned(x):
            x_1 = x * 2.0
            x_2 = x_1 + 1.0
            y = x_2 * x_2
            y_1 = y - x_2
            return y_1
        """),
    (augmented, """
        def augmented(x, y):
            z = x
            z_1 = z + y
            z_2 = z_1 * x
            z_3 = z_2 - 1.0
            z_4 = z_3 / y
            z_5 = z_4 ** 2
            return z_5
        """),
    (unpacked, """
        def unpacked(x, y):
            t1 = x * y
            a = t1
            b = y
            unpacked = a - b
            return unpacked
        """),
    (swapped, """
        def swapped(x, y):
            t1 = y * 2.0
            a = x
            b = t1
            a_1 = b
            b_1 = a
            t2 = b_1 ** 2
            swapped = a_1 * t2
            return swapped
        """),
    (chained, """
        def chained(x):
            t1 = x * x
            a = t1
            b = t1
            chained = a + b
            return chained
        """),
    (nested_calls, """
        def nested_calls(x, y):
            t1 = x * y
            t2 = math.cos(t1)
            t3 = -y
            t4 = math.exp(t3)
            t5 = t2 + t4
            t6 = math.sin(t5)
            nested_calls = t6 ** 2
            return nested_calls
        """),
    (negative_literals, """
        def negative_literals(x):
            a = -2.0 * x
            b = power(x, -2)
            c = x - -1.5
            t1 = b * c
            t2 = a + t1
            t3 = -x
            negative_literals = t2 + t3
            return negative_literals
        """),
    (user_temporaries, """
        def user_temporaries(x, t1):
            t2 = x * t1
            t3 = t2 + 1.0
            t4 = t2 - 1.0
            user_temporaries = t3 * t4
            return user_temporaries
        """),
    (area, """
        def area(x):
            area = x * x
            result = area * 2.0
            return result
        """),
    (returns_a_parameter, """
        def returns_a_parameter(x, y):
            return y
        """),
    (returns_a_constant, """
        def returns_a_constant(x):
            return -3.0
        """),
    (plain_copy_and_unary_plus, """
        def plain_copy_and_unary_plus(x):
            y = x
            z = y
            plain_copy_and_unary_plus = z * math.pi
            return plain_copy_and_unary_plus
        """),
    (annotated, """
        def annotated(x):
            y = x * 3
            return y
        """),
    (negative_base, """
        def negative_base(x):
            t1 = (-3.0) ** 2
            negative_base = t1 * x
            return negative_base
        """),
    (compared, """
        def compared(x, y):
            c = x < y
            t1 = x / y
            f = math.floor(t1)
            t2 = x * c
            compared = t2 + f
            return compared
        """),
]


@pytest.mark.parametrize("f, after", CASES, ids=[f.__name__ for f, _ in CASES])
def test_normalized_text(f, after):
    assert normalized(f) == textwrap.dedent(after).strip()


def is_atom(node: ast.expr) -> bool:
    """A name, a constant, a module constant (``math.pi``) or a negative literal, which is
    kept as ``-(literal)`` so that ``(-3.0) ** 2`` keeps its meaning."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value,
                                                                     (int, float))
    return isinstance(node, (ast.Name, ast.Constant, ast.Attribute))


@pytest.mark.parametrize("f", [f for f, _ in CASES], ids=[f.__name__ for f, _ in CASES])
def test_normalized_form_is_one_operation_per_assignment(f):
    norm = normalize(parse_function(f))
    for stmt in norm.stmts:
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
        assert isinstance(stmt.targets[0], ast.Name)
        value = stmt.value
        if isinstance(value, ast.BinOp):
            parts = [value.left, value.right]
        elif isinstance(value, ast.UnaryOp):
            parts = [value.operand]
        elif isinstance(value, ast.Compare):
            parts = [value.left, *value.comparators]
        elif isinstance(value, ast.Call):
            parts = list(value.args)
            assert not value.keywords
        else:
            parts = [value]
        assert all(is_atom(p) for p in parts), ast.unparse(stmt)
    assert is_atom(norm.result)


@pytest.mark.parametrize("f", [f for f, _ in CASES], ids=[f.__name__ for f, _ in CASES])
def test_every_name_is_assigned_once(f):
    norm = normalize(parse_function(f))
    targets = [stmt.targets[0].id for stmt in norm.stmts]
    assert len(targets) == len(set(targets))
    assert not set(targets) & set(norm.info.params)


@pytest.mark.parametrize("f", [f for f, _ in CASES], ids=[f.__name__ for f, _ in CASES])
def test_normalized_text_computes_the_same_value(f):
    """The text (what codegen writes to disk) run as Python gives exactly ``f``'s value."""
    namespace = dict(f.__globals__)
    namespace.update({name: getattr(kernels, name) for name in kernels.__all__})
    exec(normalized(f), namespace)
    args = [0.7, 1.9, -0.4, 1.3][: f.__code__.co_argcount]
    assert namespace[f.__name__](*args) == f(*args)


def test_statements_keep_the_line_of_the_statement_they_come_from():
    norm = normalize(parse_function(one_op_each))
    first = THIS_FILE.index("def one_op_each(w, b, x, y):") + 1
    lines = {stmt.targets[0].id: stmt.lineno for stmt in norm.stmts}
    assert lines == {"x1": first + 1, "x2": first + 2, "t1": first + 3, "t2": first + 3,
                     "t3": first + 3, "yhat": first + 3, "t4": first + 4,
                     "one_op_each": first + 4}
