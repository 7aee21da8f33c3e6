"""Activity analysis: only values that depend on ``wrt`` and reach the result get adjoints.

Each case normalizes a function below, runs ``activity`` for a ``wrt`` and compares the varied,
useful and active sets with the ones read off the source by hand.
"""

import ast
import math

import pytest

import adcompile as adc
from adcompile.analyze import activity
from adcompile.frontend import parse_function
from adcompile.normalize import normalize


def partly_active(x, k):
    a = x * 2.0          # varied and useful: active
    c = k * 3.0          # useful but not varied: an inactive constant
    f = math.floor(x)    # piecewise constant: its output is not varied
    u = x * 5.0  # noqa: F841  (varied but never reaches the result: not useful)
    return a * c + f


def comparisons_and_floor_division(x, y):
    c = x < y
    q = x // y
    return x * y + c + q


def result_independent_of_wrt(x, y):
    a = y * y
    return a + 1.0


def step(x):
    """A user function declared piecewise constant below."""
    return x - x % 1.0


adc.nondifferentiable(step)


def through_user_step(x):
    s = step(x)
    return x * s


def analyzed(f, wrt):
    norm = normalize(parse_function(f))
    return norm, activity(norm, wrt)


def test_active_is_varied_and_useful():
    _, act = analyzed(partly_active, ["x"])
    assert act.varied == {"x", "a", "u", "t1", "partly_active"}
    assert act.useful == {"partly_active", "t1", "a", "c", "f", "x", "k"}
    assert act.active == {"x", "a", "t1", "partly_active"}


def test_activity_with_respect_to_the_other_parameter():
    _, act = analyzed(partly_active, ["k"])
    assert act.active == {"k", "c", "t1", "partly_active"}


def test_comparisons_and_floor_division_are_not_varied():
    _, act = analyzed(comparisons_and_floor_division, ["x", "y"])
    assert "c" not in act.varied
    assert "q" not in act.varied
    assert act.active == {"x", "y", "t1", "t2", "comparisons_and_floor_division"}


def test_nothing_is_active_when_the_result_does_not_depend_on_wrt():
    _, act = analyzed(result_independent_of_wrt, ["x"])
    assert act.active == set()


def test_user_declared_nondifferentiable_function_stops_activity():
    _, act = analyzed(through_user_step, ["x"])
    assert "s" not in act.varied
    assert act.active == {"x", "through_user_step"}


def test_is_active_only_for_names():
    _, act = analyzed(partly_active, ["x"])
    assert act.is_active(ast.Name(id="a", ctx=ast.Load()))
    assert not act.is_active(ast.Name(id="c", ctx=ast.Load()))
    assert not act.is_active(ast.Constant(value=2.0))


# -- what the generated gradient shows ---------------------------------------------------------

def assigned_names(source: str) -> set[str]:
    tree = ast.parse(source)
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def test_inactive_values_get_no_adjoint_and_dead_values_are_not_computed(fd):
    d = adc.grad(partly_active, wrt="x")
    names = assigned_names(d.source)
    assert {"d_partly_active", "d_t1", "d_a", "d_x"} <= names
    assert not {"d_c", "d_k", "d_f", "d_u"} & names
    assert "u" not in names  # not needed by the backward sweep
    x, k = 1.3, 0.7
    assert d(x, k) == pytest.approx(2.0 * 3.0 * k, rel=1e-12)
    assert d(x, k) == pytest.approx(fd(partly_active, (x, k), 0), rel=1e-7)


def test_result_independent_of_wrt_has_a_zero_gradient(fd):
    d = adc.grad(result_independent_of_wrt, wrt="x")
    assert d(0.4, 1.5) == 0.0
    assert fd(result_independent_of_wrt, (0.4, 1.5), 0) == 0.0
    assert {n for n in assigned_names(d.source) if n.startswith("d_")} == {"d_x"}
