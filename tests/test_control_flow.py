"""Control flow and calls: every construct's gradient against float64 central differences.

Each user function below is compiled once (``gradient``), then evaluated at several points
chosen away from the switching points of its branches, loop exits and ``while`` tests, where a
finite difference would straddle a jump.  Array arguments get an elementwise difference.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from functools import cache

import numba
import numpy as np
import pytest

import adcompile as adc

TOLERANCE = {"rel": 1e-5, "abs": 1e-7}


@cache
def gradient(f, wrt):
    return adc.grad(f, wrt=wrt)


def array_difference(fd, f, args, i, h=1e-6):
    """d f / d args[i] for an array argument: one central difference per element."""
    x = np.asarray(args[i], dtype=np.float64)
    out = np.empty_like(x)
    for index in np.ndindex(x.shape):
        def at(value, index=index):
            moved = x.copy()
            moved[index] = value
            return f(*args[:i], moved, *args[i + 1:])
        out[index] = fd(at, (x[index],), 0, h)
    return out


def expected_gradient(fd, f, params, wrt, args):
    out = []
    for name in wrt:
        i = params.index(name)
        if isinstance(args[i], np.ndarray):
            out.append(array_difference(fd, f, args, i))
        else:
            out.append(fd(f, args, i))
    return out


def check(fd, f, wrt, points):
    """``grad(f, wrt)`` matches central differences of ``f`` at every point."""
    wrt = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    df = gradient(f, wrt)
    for args in points:
        got = df(*args)
        want = expected_gradient(fd, f, params, wrt, args)
        assert len(got) == len(want)
        for name, g, w in zip(wrt, got, want, strict=True):
            if isinstance(w, np.ndarray):
                assert isinstance(g, np.ndarray) and g.shape == w.shape, (name, g)
                np.testing.assert_allclose(g, w, rtol=TOLERANCE["rel"],
                                           atol=TOLERANCE["abs"], err_msg=f"d/d{name} {args}")
            else:
                assert isinstance(g, float), (name, g)
                assert g == pytest.approx(w, **TOLERANCE), (
                    f"d {f.__name__} / d {name} at {args}: got {g!r}, finite difference "
                    f"{w!r}\n{df.source}")
    return df


# -- branches ---------------------------------------------------------------------------------

def nested_branches(x, y):
    a = x * y
    if x > 0.0:
        b = math.sin(x)
        if y > 0.5:
            c = b * y
            if x > 1.0:
                a = a + c * x
            elif x > 0.5:
                b = b * c
            else:
                a = a - c
                b = b + a * a
        elif y > -0.5:
            a = a - y * y
        else:
            c = x * x
            a = a * c
    elif x > -1.0:
        b = math.cos(y) * x
    else:
        b = y
        a = math.exp(x) + a
    return a + b * y


BRANCH_POINTS = [(1.5, 0.8), (0.7, 0.9), (0.2, 1.3), (0.4, 0.1), (0.9, -1.2), (-0.3, 0.7),
                 (-2.0, 0.4), (-1.5, -0.6)]


def test_if_elif_else_nested_three_deep(fd):
    check(fd, nested_branches, ("x", "y"), BRANCH_POINTS)


def nested_branches_names_defined_before(x, y):
    a = x * y
    b = y
    if x > 0.0:
        b = math.sin(x) * b
        if y > 0.5:
            if x > 1.0:
                a = a + b * x
            elif x > 0.5:
                b = b * a
            else:
                a = a - b * b
        elif y > -0.5:
            a = a - y * y
        else:
            b = b * x
    elif x > -1.0:
        b = math.cos(y) * x
    else:
        a = math.exp(x) + a
    return a + b * y


def test_nested_branches_over_names_defined_before_them(fd):
    check(fd, nested_branches_names_defined_before, ("x", "y"), BRANCH_POINTS)


def reassigned_in_one_branch(x):
    if x > 0.0:
        b = x * x
        b = b * x
    else:
        b = x
    return b


def test_name_first_assigned_in_both_branches_and_reassigned_in_one(fd):
    check(fd, reassigned_in_one_branch, "x", [(2.0,), (0.5,), (-1.0,)])


def assigned_on_one_path(x, y):
    z = y
    if x > 0.0:
        z = z * x
        w = math.sin(x)
        z = z + w
    if y < 0.0:
        z = -z
    else:
        v = y * y
        u = v * x
        z = z + u
    return z


def test_branches_assign_different_sets_of_variables(fd):
    check(fd, assigned_on_one_path, ("x", "y"),
          [(0.5, 0.3), (-0.5, 0.3), (0.5, -0.3), (-0.5, -0.3), (2.0, 1.7)])


def conditional_expressions(x, y):
    a = x * x if x > y else math.sin(y) * x
    b = (y if y > 0.0 else -y) * (x - 1.0 if x > 0.5 else 2.0 * x if x > -0.5 else x * y)
    return a + b + (math.exp(x) if a > b else math.cos(b))


def test_conditional_expressions(fd):
    check(fd, conditional_expressions, ("x", "y"),
          [(0.8, 0.2), (0.1, 0.9), (-0.3, -0.8), (1.4, -0.4), (-1.2, 0.6), (0.3, -2.0)])


def boolean_conditions(x, y):
    z = x + y
    if x > 0.0 and y > 0.0:
        z = z * x * y
    if x < -0.5 or y > 1.0:
        z = z + math.sin(x * y)
    if not x > 0.25:
        z = z * z
    if (x > 0.0 or y > 0.0) and not (x > 1.0 and y > 1.0):
        z = z - math.exp(-x * x)
    return z


def test_and_or_not(fd):
    check(fd, boolean_conditions, ("x", "y"),
          [(0.5, 0.5), (1.5, 1.5), (-0.8, 0.3), (0.1, -0.2), (-0.2, -0.3), (0.6, 1.3),
           (-1.0, 2.0)])


def chained_comparisons(x, y):
    z = x * y
    if -1.0 < x <= y < 2.0:
        z = z + math.sin(x) * y
    elif y < x < 0.5:
        z = z - x * x * x
    if 0.0 < y < 1.0:
        z = z * y
    return z


def test_chained_comparisons(fd):
    check(fd, chained_comparisons, ("x", "y"),
          [(0.2, 0.7), (-0.5, 1.5), (0.3, -0.4), (1.2, 0.4), (-2.0, -3.0), (0.4, 3.0)])


def boolean_values(x, y):
    a = (x > 0.0) and (y < 1.0)
    b = x > y or a
    z = x * y
    if a:
        z = z + x
    if b and not a:
        z = z * math.cos(y)
    return z


def test_boolean_values_assigned_to_names(fd):
    check(fd, boolean_values, ("x", "y"),
          [(0.5, 0.5), (0.5, 1.5), (-0.5, -1.5), (-0.5, 0.5), (2.0, 1.5)])


# -- loops ------------------------------------------------------------------------------------

def alternating_branch(x, n):
    s = x
    for i in range(n):
        if i % 2 == 0:
            s = s * math.cos(x) + 0.5
        elif s > 1.0:
            s = s - 0.1 * s * s
        else:
            s = s + x * i
    return s


def test_branch_taken_differently_in_different_iterations(fd):
    check(fd, alternating_branch, "x",
          [(0.3, 7), (1.1, 7), (-0.4, 6), (0.8, 1), (0.6, 12)])


def data_dependent_branch_in_loop(x, y, n):
    s = 0.0
    for i in range(n):
        t = math.sin(x * i + y)
        if t > 0.0:
            s = s + t * x
        else:
            s = s - t * y
    return s


def test_branch_on_a_value_computed_in_the_loop(fd):
    check(fd, data_dependent_branch_in_loop, ("x", "y"),
          [(0.7, 0.3, 10), (1.3, -0.4, 10), (-0.9, 2.1, 5)])


def ranged(x, a, b, s):
    acc = x
    for i in range(a, b, s):
        acc = acc * math.cos(x + 0.1 * i) + x * i
    return acc


@pytest.mark.parametrize("a, b, s", [
    (0, 5, 1), (2, 9, 3), (1, 8, 2), (7, 7, 1), (9, 2, 1),      # up, incl. zero trips
    (5, -1, -1), (9, 0, -2), (4, -6, -3), (0, 4, -1), (3, 3, -2),  # down, incl. zero trips
])
def test_for_over_range_with_start_stop_step(fd, a, b, s):
    check(fd, ranged, "x", [(0.4, a, b, s), (-1.3, a, b, s)])


def constant_ranges(x):
    acc = x
    for _ in range(4):
        acc = acc * x + 0.5
    for i in range(2, 6):
        acc = acc - math.sin(acc) * i
    for i in range(10, 0, -3):
        acc = acc * math.cos(x * i)
    for i in range(6, 1, -1):
        acc = acc + x / i
    for _ in range(5, 3):
        acc = acc * 100.0
    for _ in range(0, 3, -1):
        acc = acc * 100.0
    return acc


def test_for_over_constant_ranges(fd):
    check(fd, constant_ranges, "x", [(0.3,), (-0.7,), (1.1,)])


def zero_start(x, n):
    c = x
    for i in range(0, n):
        c = math.sin(c) + 0.1 * i
    for _ in range(0, n, 1):
        c = c * math.cos(c)
    return c


def test_range_with_an_explicit_zero_start_and_unit_step(fd):
    check(fd, zero_start, "x", [(0.5, 3), (-1.2, 1), (0.7, 0)])


def carried(x, y, n):
    a = x
    b = y
    c = 0.0
    for _step in range(n):
        a, b = b, a + 0.5 * math.sin(b)
        c = c + a * b
    return a * c + b


def test_loop_carried_variables_swapped_each_iteration(fd):
    check(fd, carried, ("x", "y"), [(0.3, 0.9, 6), (-0.5, 0.2, 5), (1.0, -1.0, 1),
                                    (1.0, -1.0, 0)])


def nested_loops(x, y, n, m):
    s = y
    for i in range(n):
        t = x * i
        for j in range(i, m):
            s = s * 0.9 + math.sin(t + s * j)
        s = s + t * y
    return s


def test_nested_loops_inner_range_depends_on_outer_index(fd):
    check(fd, nested_loops, ("x", "y"),
          [(0.2, 0.5, 4, 5), (-0.7, 1.2, 3, 3), (0.4, -0.3, 0, 4), (0.9, 0.1, 5, 2)])


def matrix_loops(a, v):
    s = 0.0
    for i in range(len(a)):
        row = 0.0
        for j in range(len(v)):
            row = row + a[i, j] * v[j]
        s = s + math.tanh(row) ** 2
    return s


def test_nested_loops_over_a_matrix(fd):
    rng = np.random.default_rng(3)
    points = [(rng.normal(size=(3, 4)), rng.normal(size=4)) for _ in range(3)]
    check(fd, matrix_loops, ("a", "v"), points)


def loop_in_branch(x, z, n):
    if x <= 1.0:
        for _ in range(n):
            x = math.sin(z) * x
    return x


def loop_in_branch_not_reading_the_carried_value(x, z):
    if x <= 1.0:
        for i in range(2):
            x = math.sin(z) + 0.25 * i
    return x * z


def while_in_branch(x, z):
    if x <= 1.0:
        k = 0
        while k < 3:
            x = math.sin(z) + 0.1 * k
            k += 1
    return x


def test_loop_inside_a_branch(fd):
    check(fd, loop_in_branch, ("x", "z"), [(0.5, 0.3, 3), (1.5, 0.3, 3), (-0.4, 1.1, 0)])


def test_loop_inside_a_branch_that_overwrites_without_reading(fd):
    check(fd, loop_in_branch_not_reading_the_carried_value, ("x", "z"),
          [(0.5, 0.3), (1.5, 0.3), (-0.4, 1.1)])
    check(fd, while_in_branch, ("x", "z"), [(0.5, 0.3), (1.5, 0.3), (-0.4, 1.1)])


def index_after_loop(x, n):
    s = x
    for i in range(n):
        s = s * 0.5 + math.sin(x * i)
    return s * i


def test_loop_index_read_after_the_loop(fd):
    check(fd, index_after_loop, "x", [(0.5, 3), (-1.1, 1), (0.9, 6)])


def constant_guard(x):
    if 0.3 < 0.3 and x < 0.0:
        if x > 3.0:
            return x
    return math.sin(x)


def test_condition_starting_with_a_constant_comparison(fd):
    check(fd, constant_guard, "x", [(0.5,), (-1.0,), (4.0,)])


def shrink(x):
    y = x * x + 1.0
    while y > 0.05:
        y = y * 0.5 + 0.01 * math.sin(x * y)
    return y * x


def test_data_dependent_while(fd):
    # trip counts: 5, 7, 10, 13 (they follow x)
    trips = []
    for x in (0.1, 1.7, 5.0, 15.0):
        y, k = x * x + 1.0, 0
        while y > 0.05:
            y, k = y * 0.5 + 0.01 * math.sin(x * y), k + 1
        trips.append(k)
    assert len(set(trips)) == 4
    check(fd, shrink, "x", [(0.1,), (1.7,), (5.0,), (15.0,), (-3.0,)])


def newton_sqrt(a, x0):
    x = x0
    k = 0
    while abs(x * x - a) > 1e-12 and k < 100:
        x = 0.5 * (x + a / x)
        k += 1
    return x + 0.25 * k


def test_while_with_counter_and_convergence_test(fd):
    df = check(fd, newton_sqrt, "a", [(2.0, 1.0), (9.0, 1.0), (0.3, 5.0)])
    assert df(4.0, 1.0)[0] == pytest.approx(0.25, rel=1e-9)  # d sqrt(a)/da at a = 4


def long_while(x, n):
    s = x
    k = 0
    while k < n:
        s = s + 0.001 * math.sin(s + x)
        k += 1
    return s


def test_while_with_many_iterations_grows_its_tape(fd):
    check(fd, long_while, "x", [(0.3, 5000), (-1.1, 1), (0.8, 0)])


def nested_break(x, n):
    s = 0.0
    for i in range(n):
        for _ in range(n):
            s = s + x * math.cos(s)
            if s > 1.0 + i:
                break
        s = s * 0.9
    return s


def test_break_inside_a_nested_loop(fd):
    check(fd, nested_break, "x", [(0.3, 6), (0.8, 5), (-0.4, 4), (2.1, 5)])


def break_out_of_while(x):
    s = x
    k = 0
    while True:
        s = s * 1.3 + 0.1
        k += 1
        if s > 3.0 or k > 50:
            break
    return s * x


def test_break_out_of_while_true(fd):
    check(fd, break_out_of_while, "x", [(0.5,), (1.0,), (2.95,), (0.05,)])


def with_continue(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            continue
        t = math.sin(x * i)
        if t < 0.0:
            continue
        s = s + t * s + x
    return s


def test_continue(fd):
    check(fd, with_continue, "x", [(0.4, 9), (1.3, 9), (-0.6, 7), (0.4, 1)])


def return_in_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + x * math.sin(i + x)
        if s > 1.0:
            return s * s
    return -s


def test_early_return_inside_a_loop(fd):
    check(fd, return_in_loop, "x", [(0.2, 10), (0.9, 10), (-0.3, 10), (0.5, 0)])


def return_in_branch(x, y):
    if x < 0.0:
        return x * y
    z = math.exp(x) * y
    if z > 3.0:
        if y > 2.0:
            return z * y
        return z - x
    return z


def test_early_return_inside_a_branch(fd):
    check(fd, return_in_branch, ("x", "y"),
          [(-0.5, 0.7), (1.5, 1.0), (1.5, 2.5), (0.2, 1.0), (0.1, -2.0)])


def return_in_nested_loops(x, n):
    s = x
    for _ in range(n):
        j = 0
        while j < n:
            s = s * 1.1 + 0.05 * math.cos(s)
            if s > 4.0:
                return s - x
            j += 1
    return s


def test_early_return_from_nested_loops(fd):
    check(fd, return_in_nested_loops, "x", [(0.5, 3), (0.5, 6), (1.2, 4), (-0.5, 2)])


# -- calls ------------------------------------------------------------------------------------

def level4(u, v):
    return math.sin(u) * v + u * u


def level3(u, v):
    w = level4(u, v * 0.5)
    if w > 0.0:
        return w * u + v
    return level4(v, u) - w


def level2(u, v):
    s = 0.0
    for i in range(3):
        s = s + level3(u + 0.1 * i, v)
    return s


def level1(u, v):
    return level2(u * v, v) + level3(v, u)


def deep_chain(x, y):
    return level1(x, y) * 0.5 + level4(y, x)


def test_deep_call_chain(fd):
    df = check(fd, deep_chain, ("x", "y"),
               [(0.3, 0.7), (-0.8, 0.4), (1.2, -0.5), (-1.0, -1.3)])
    for helper in ("grad_level1", "grad_level2", "grad_level3", "grad_level4"):
        assert f"def {helper}" in df.source


def scaled_power(x, scale=2.0, power=3, offset=0.5):
    return scale * (x + offset) ** power


def keywords_and_defaults(x, y):
    a = scaled_power(x)
    b = scaled_power(y, power=2)
    c = scaled_power(offset=x, x=y, scale=y)
    d = scaled_power(x, y, 1)
    return a + b * c - d


def test_keyword_arguments_and_defaults(fd):
    check(fd, keywords_and_defaults, ("x", "y"), [(0.3, 0.7), (-0.8, 1.4), (1.1, -0.2)])
    check(fd, keywords_and_defaults, "y", [(0.3, 0.7)])


def euler_step(y, p, dt=0.05):
    return y + dt * (-p * y + math.sin(y))


def euler_with_step(p, y0, n):
    y = y0
    for _ in range(n):
        y = euler_step(y, p)
    return y * y


def test_helper_called_inside_a_loop(fd):
    check(fd, euler_with_step, ("p", "y0"), [(0.5, 1.0, 20), (-0.3, 2.0, 7), (1.0, 0.5, 0)])


def make_closure(k, n):
    def closed(x):
        s = x
        for _ in range(n):
            s = s * math.cos(k * s) + k
        return s
    return closed


def test_closure_over_constants(fd):
    closed = make_closure(0.7, 4)
    check(fd, closed, "x", [(0.2,), (-1.4,), (2.5,)])
    other = make_closure(-1.5, 2)
    d_other = adc.grad(other)
    assert d_other(0.9) == pytest.approx(fd(other, (0.9,), 0), **TOLERANCE)


HELPERS = """\
import math


def bump(u, width=1.0):
    if u > 0.0:
        return math.exp(-u * u / width)
    return 1.0 - u * u
"""

USER = """\
import imported_helpers as helpers
from imported_helpers import bump


def uses_import(x, y):
    return bump(x, width=y) * y + helpers.bump(y)
"""


def load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_function_imported_from_another_module(fd, tmp_path):
    (tmp_path / "imported_helpers.py").write_text(HELPERS)
    (tmp_path / "imported_user.py").write_text(USER)
    load(tmp_path / "imported_helpers.py", "imported_helpers")
    user = load(tmp_path / "imported_user.py", "imported_user")
    df = check(fd, user.uses_import, ("x", "y"), [(0.4, 1.5), (-0.3, 0.8), (1.2, 2.0)])
    assert "def grad_bump" in df.source


def term(x, i):
    return x[i] * math.sin(x[i])


def sum_of_terms(x):
    s = 0.0
    for i in range(len(x)):
        s = s + term(x, i)
    return s


def test_helper_indexing_an_array_argument_called_in_a_loop(fd):
    rng = np.random.default_rng(11)
    check(fd, sum_of_terms, "x", [(rng.uniform(-2.0, 2.0, size=n),) for n in (1, 4)])


def grad_energy(u):
    return u * u


def energy(x):
    return grad_energy(x) + x


def test_helper_named_like_a_generated_function(fd):
    check(fd, energy, "x", [(1.5,), (-0.3,)])


def quantize(x):
    return math.floor(x * 4.0) / 4.0


@adc.derivative(quantize)
def d_quantize(g, ans, x):
    return g * 1.0  # straight-through: the identity's derivative


def uses_quantize(x, y):
    return quantize(x * y) + y


def horner(x):
    total = 0.0
    for c in (1.0, 0.5, 0.25):  # a loop over a tuple: outside what adcompile differentiates
        total = total * x + c
    return total


@adc.derivative(horner)
def d_horner(g, ans, x):
    return g * (2.0 * x + 0.5)


def uses_horner(x):
    return horner(x * x + 1.0) * x


def test_registered_rule_wins_over_the_body(fd):
    d = adc.grad(uses_quantize, wrt=("x", "y"))
    for x, y in [(0.3, 0.7), (1.3, -0.9)]:
        # the body's derivative is 0 almost everywhere; the rule says d quantize(t)/dt = 1
        assert d(x, y) == pytest.approx((y, x + 1.0), rel=1e-12)
    assert "grad_quantize" not in d.source
    # a body the compiler cannot differentiate is never looked at when a rule exists
    df = check(fd, uses_horner, "x", [(0.5,), (-1.7,), (3.0,)])
    assert "grad_horner" not in df.source


# -- ODEs and arrays --------------------------------------------------------------------------

def euler(p, y0, n):
    y = y0
    dt = 0.01
    for _ in range(n):
        y = y + dt * (-p * y + math.sin(y))
    return y


def rosenbrock(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def test_euler_gradient_wrt_parameter_and_initial_state(fd):
    check(fd, euler, ("p", "y0"), [(0.5, 1.0, 100), (-0.2, 2.5, 37), (1.5, -0.7, 1),
                                   (0.5, 1.0, 0)])


VALUE_AND_GRAD = [
    (euler, ("p", "y0"), (0.5, 1.0, 50)),   # the result is a taped loop-carried value
    (shrink, ("x",), (1.7,)),
    (nested_break, ("x",), (0.8, 5)),
    (return_in_loop, ("x",), (0.2, 10)),
    (nested_branches_names_defined_before, ("x", "y"), (0.2, 1.3)),
]


@pytest.mark.parametrize("f, wrt, args", VALUE_AND_GRAD,
                         ids=[f.__name__ for f, _, _ in VALUE_AND_GRAD])
def test_value_and_grad_gives_the_value_and_the_gradient(fd, f, wrt, args):
    value, grads = adc.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-13, abs=1e-15)
    params = list(f.__code__.co_varnames[: f.__code__.co_argcount])
    want = expected_gradient(fd, f, params, wrt, args)
    assert grads == pytest.approx(tuple(want), **TOLERANCE)


def test_rosenbrock_loop_over_an_array(fd):
    rng = np.random.default_rng(7)
    points = [(rng.uniform(-1.5, 1.5, size=n),) for n in (2, 5, 10)]
    check(fd, rosenbrock, "x", points)
    dr = gradient(rosenbrock, ("x",))
    (at_minimum,) = dr(np.ones(6))
    np.testing.assert_array_equal(at_minimum, np.zeros(6))


def test_tape_bytes(fd):
    dr = adc.grad(rosenbrock)
    assert dr.tape_bytes(np.linspace(-1.0, 1.0, 1000)) == 0
    de = adc.grad(euler, wrt=("p", "y0"))
    for n in (0, 1, 10, 1000):
        assert de.tape_bytes(0.5, 1.0, n) == 8 * n


def test_gradient_of_a_loop_is_callable_from_numba():
    de = adc.grad(euler, wrt="y0")

    @numba.njit
    def descend(y0, steps):
        for _ in range(steps):
            y0 = y0 - 0.1 * de(0.5, y0, 20)
        return y0

    y = 1.0
    for _ in range(3):
        y = y - 0.1 * de(0.5, y, 20)
    assert descend(1.0, 3) == pytest.approx(y, rel=1e-12)


def branch_value_read_before_its_branch(x):
    # the reversal of x = sin(t) reads t before it reaches the branch that made t: t must
    # be computed again before, not inside, that branch's reversal
    k = 0
    while k < 4 and x < 0.3:
        k += 1
        x = np.tanh(x - x ** 2)
        x = np.sin(np.sin(x) if x < 0.3 else math.sin(x))
    return x * 2.0


def test_branch_value_read_before_its_branch():
    assert adc.check_grad(branch_value_read_before_its_branch, (0,), -0.457877) < 1e-6


def returns_in_both_branches(a, b):
    if a > 1.0:
        return a * b
    elif a > 0.0:
        if b > 0:
            return a + b
        else:
            return a - b * b
    else:
        return b * b * a


@pytest.mark.parametrize("a, b", [(2.0, 0.3), (0.5, 0.7), (0.5, -0.7), (-1.0, 0.4)])
def test_a_function_that_ends_with_an_if_whose_branches_all_return(a, b):
    """No return after the last if: every branch returns (an else for each if)."""
    assert adc.check_grad(returns_in_both_branches, ("a", "b"), a, b) < 1e-6


def sum_of_a_list_comprehension(x):
    return sum([x[i] * x[i] * (i + 1) for i in range(4)])


def sum_of_a_generator(x):
    return sum(v ** 2 for v in x) + math.fsum(math.sin(v) for v in x if v > 0.0)


def nested_generators_keep_their_names_apart(x):
    i = 10.0  # the comprehension's i is its own
    s = sum(x[i] * x[j] for i in range(3) for j in range(i) if x[j] > -5.0)
    return s + sum(v * i for v in x)


@pytest.mark.parametrize("f", [sum_of_a_list_comprehension, sum_of_a_generator,
                               nested_generators_keep_their_names_apart],
                         ids=lambda f: f.__name__)
def test_sums_of_comprehensions_are_loops(f):
    x = np.array([0.3, -0.2, 0.9, 1.1])
    assert adc.check_grad(f, "x", x) < 1e-6
