"""Reverse mode: the normalized body -> the gradient function.

The gradient text is read from ``.source`` of what ``grad`` returns.  Before -> after as source
text for small functions, structural checks on the generated code (named adjoints, every
statement live, every name defined before it is read, the primal line as a comment above its
chain-rule step), and numerical checks of the compiled gradients against float64 central
differences.
"""

import ast
import math
import textwrap

import pytest

import adcompile as adc
from adcompile import kernels
from adcompile.frontend import parse_function
from adcompile.normalize import normalize

# -- functions under test ------------------------------------------------------------------


def neuron(w, b, x, y):
    x1 = w * x
    x2 = x1 + b
    yhat = 1.0 / (1.0 + math.exp(-x2))
    return (yhat - y) ** 2


def product(x, y):
    z = x * y
    return math.sin(z)


def exp_last(x):
    y = x * 2.0
    return math.exp(y)


def log_with_base(x, b):
    return math.log(x, b)


def variable_power(x, y):
    return x ** y


def hypot_plus_one(x, y):
    return math.hypot(x, y) + 1.0


def negative_base_power(x, n):
    y = (-2.0) ** n
    return y * x


def augmented(x, y):
    z = x
    z += y
    z *= x
    z -= 1.0
    z /= y
    z **= 2
    return z


def swapped(x, y):
    a, b = x, y * 2.0
    a, b = b, a
    return a * b ** 2


def fan_out(x):
    a = b = x * x
    return a * x + b + x


def nested_calls(x, y):
    return math.sin(math.cos(x * y) + math.exp(-y)) ** 2


def negative_literals(x):
    a = -2.0 * x
    b = x ** -2
    c = x - -1.5
    return a + b * c + -x


def remainder_and_builtins(x, y):
    r = x % y
    return abs(x) * max(x, y) + min(r, y) * float(y)


def inactive_parts(x, k):
    c = k * 3.0
    f = math.floor(x)
    u = x * 5.0  # noqa: F841  (never reaches the result)
    return x * c + f


def ignores_x(x, y):
    return y * y


# -- helpers -------------------------------------------------------------------------------

def gradient_text(f, wrt, *, with_value=False, as_tuple=None):
    """The generated gradient function of ``f`` as text (generation only: Numba compiles it
    on the first call, which these structural tests never make)."""
    as_tuple = len(wrt) > 1 if as_tuple is None else as_tuple
    make = adc.value_and_grad if with_value else adc.grad
    source = make(f, wrt=tuple(wrt) if as_tuple else wrt[0]).source
    return source[source.index("\ndef ") + 1:].rstrip()


def function_of(source: str) -> ast.FunctionDef:
    defs = [node for node in ast.parse(source).body if isinstance(node, ast.FunctionDef)]
    assert len(defs) == 1
    return defs[0]


def loads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load)}


def dead_statements(fn: ast.FunctionDef) -> list[str]:
    """Assignments whose value nothing later reads (backward liveness over straight code)."""
    *body, ret = fn.body
    assert isinstance(ret, ast.Return)
    live = loads(ret)
    dead = []
    for stmt in reversed(body):
        if isinstance(stmt, ast.Assign):
            (target,) = stmt.targets
            if target.id not in live:
                dead.append(ast.unparse(stmt))
            live.discard(target.id)
            live |= loads(stmt.value)
        elif isinstance(stmt, ast.AugAssign):
            if stmt.target.id not in live:
                dead.append(ast.unparse(stmt))
            live |= loads(stmt.value)
        else:
            raise AssertionError(f"unexpected statement {ast.unparse(stmt)}")
    return dead


def undefined_reads(fn: ast.FunctionDef, module_names: set[str]) -> list[str]:
    """Names read before any assignment that are neither parameters nor module-level."""
    defined = {a.arg for a in fn.args.args} | module_names
    missing = []
    for stmt in fn.body:
        value = stmt.value
        missing += sorted(loads(value) - defined)
        if isinstance(stmt, ast.AugAssign) and stmt.target.id not in defined:
            missing.append(stmt.target.id)
        if isinstance(stmt, ast.Assign):
            defined.add(stmt.targets[0].id)
    return missing


STRUCTURE_CASES = [
    (neuron, ["w", "b"]),
    (neuron, ["w", "b", "x", "y"]),
    (product, ["x", "y"]),
    (exp_last, ["x"]),
    (log_with_base, ["x", "b"]),
    (variable_power, ["x", "y"]),
    (hypot_plus_one, ["x", "y"]),
    (negative_base_power, ["x"]),
    (augmented, ["x", "y"]),
    (swapped, ["x", "y"]),
    (fan_out, ["x"]),
    (nested_calls, ["x", "y"]),
    (negative_literals, ["x"]),
    (remainder_and_builtins, ["x", "y"]),
    (inactive_parts, ["x"]),
]
STRUCTURE_IDS = [f"{f.__name__}-{','.join(wrt)}" for f, wrt in STRUCTURE_CASES]


# -- before -> after -----------------------------------------------------------------------

def test_product_gradient_text():
    assert gradient_text(product, ["x", "y"]) == textwrap.dedent("""\
        def grad_product(x, y):
            z = x * y
            # backward sweep: the chain rule from product back to x, y
            d_product = 1.0
            # product = math.sin(z)
            d_z = d_product * np.cos(z)
            # z = x * y
            d_x = d_z * y
            d_y = d_z * x
            return (d_x, d_y)""")


def test_gradient_reads_the_result_of_a_rule_that_uses_it():
    """exp's rule reads its result (``g * ans``): the forward sweep must compute it."""
    assert gradient_text(exp_last, ["x"]) == textwrap.dedent("""\
        def grad_exp_last(x):
            y = x * 2.0
            exp_last = math.exp(y)
            # backward sweep: the chain rule from exp_last back to x
            d_exp_last = 1.0
            # exp_last = math.exp(y)
            d_y = d_exp_last * exp_last
            # y = x * 2.0
            d_x = d_y * 2.0
            return d_x""")


def test_value_and_gradient_text_returns_the_result_first():
    text = gradient_text(product, ["y"], with_value=True, as_tuple=True)
    fn = function_of(text)
    assert fn.name == "value_and_grad_product"
    assert ast.unparse(fn.body[-1]) == "return (product, (d_y,))"
    assert "product = math.sin(z)" in text


def test_neuron_adjoints_are_named_after_the_users_variables():
    text = gradient_text(neuron, ["w", "b"])
    assigned = {n.id for n in ast.walk(function_of(text)) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    assert {"d_x2", "d_x1", "d_yhat", "d_w", "d_b"} <= assigned
    assert not {"d_x", "d_y"} & assigned  # constants get no adjoint
    # one chain-rule step per line, each under the primal line it comes from
    lines = [line.strip() for line in text.splitlines()]
    step = lines.index("# x2 = x1 + b")
    assert lines[step + 1: step + 3] == ["d_x1 = d_x2", "d_b = d_x2"]
    step = lines.index("# x1 = w * x")
    assert lines[step + 1] == "d_w = d_x1 * x"


def test_gradient_with_nothing_active_is_a_zero_of_the_parameters_shape():
    # the result ignores x, which may be a float or an array: a zero of x's shape
    assert gradient_text(ignores_x, ["x"]) == textwrap.dedent("""\
        def grad_ignores_x(x, y):
            d_x = zeros_like(x)
            return d_x""")


# -- structure of every generated gradient ---------------------------------------------------

@pytest.mark.parametrize("f, wrt", STRUCTURE_CASES, ids=STRUCTURE_IDS)
def test_no_dead_statements(f, wrt):
    assert dead_statements(function_of(gradient_text(f, wrt))) == []


@pytest.mark.parametrize("f, wrt", STRUCTURE_CASES, ids=STRUCTURE_IDS)
def test_every_name_is_defined_before_it_is_read(f, wrt):
    module_names = (set(parse_function(f).bindings) | {"np", "abs", "max", "min", "float"}
                    | set(kernels.__all__))
    assert undefined_reads(function_of(gradient_text(f, wrt)), module_names) == []


@pytest.mark.parametrize("f, wrt", STRUCTURE_CASES, ids=STRUCTURE_IDS)
def test_every_chain_rule_step_sits_under_its_primal_line(f, wrt):
    text = gradient_text(f, wrt)
    norm = normalize(parse_function(f))
    primal = {ast.unparse(s) for s in norm.stmts}
    lines = [line.strip() for line in text.splitlines()[1:]]
    sweep = next(i for i, line in enumerate(lines) if line.startswith("# backward sweep"))
    current = None
    for line in lines[sweep + 2:-1]:
        if line.startswith("# "):
            current = line[2:]
            assert current in primal
            continue
        assert current is not None, line
        target = line.split("=")[0].rstrip(" +")
        assert target.startswith("d_"), line
        operand = target[2:]
        assert operand in loads(ast.parse(current).body[0].value), (current, line)


# -- numbers ---------------------------------------------------------------------------------

NUMERIC_CASES = [
    (neuron, (0, 1, 2, 3), [(0.3, -0.1, 1.5, 0.8), (-1.2, 0.4, -0.7, 0.1)]),
    (product, (0, 1), [(0.4, 1.3), (-2.0, 0.25)]),
    (exp_last, (0,), [(0.3,), (-1.1,)]),
    (log_with_base, (0, 1), [(2.5, 3.0), (0.7, 1.9)]),
    (variable_power, (0, 1), [(1.7, 2.5), (0.6, -1.3)]),
    (hypot_plus_one, (0, 1), [(3.0, 4.0), (-0.5, 1.2)]),
    (negative_base_power, (0,), [(1.5, 2), (-0.5, 3)]),
    (augmented, (0, 1), [(1.3, 0.7), (-0.4, 2.2)]),
    (swapped, (0, 1), [(1.3, 0.7), (-0.4, 2.2)]),
    (fan_out, (0,), [(1.3,), (-0.4,)]),
    (nested_calls, (0, 1), [(1.3, 0.7), (-0.4, 2.2)]),
    (negative_literals, (0,), [(1.3,), (-0.4,)]),
    (remainder_and_builtins, (0, 1), [(1.3, 0.7), (-0.4, 2.2), (2.5, -1.5)]),
    (inactive_parts, (0,), [(1.3, 0.7), (-0.4, 2.2)]),
]


@pytest.mark.parametrize("f, wrt, points", NUMERIC_CASES,
                         ids=[f.__name__ for f, _, _ in NUMERIC_CASES])
def test_gradient_matches_finite_differences(f, wrt, points, fd):
    d = adc.grad(f, wrt=wrt)
    for args in points:
        got = d(*args)
        assert isinstance(got, tuple) and len(got) == len(wrt)
        for i, g in zip(wrt, got, strict=True):
            assert g == pytest.approx(fd(f, args, i), rel=1e-6, abs=1e-8), (args, i)


def test_neuron_gradient_matches_the_hand_derived_formula():
    d = adc.grad(neuron, wrt=(0, 1, 2, 3))
    w, b, x, y = 0.3, -0.1, 1.5, 0.8
    yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
    d_x2 = 2.0 * (yhat - y) * yhat * (1.0 - yhat)
    expected = (d_x2 * x, d_x2, d_x2 * w, -2.0 * (yhat - y))
    assert d(w, b, x, y) == pytest.approx(expected, rel=1e-12)
