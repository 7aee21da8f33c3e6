"""Property: the gradient of a random program with branches, loops and calls matches finite
differences.

Hypothesis builds a module: up to two helper functions (each may call the one before it, take
a default argument, branch and return early) and a function ``f`` whose body mixes assignments,
``if``/``elif``/``else`` on comparisons, ``and``/``or``/``not`` and chained comparisons,
conditional expressions, ``for`` loops over literal ranges (up and down, zero trips included,
nested two deep), counted ``while`` loops with a data-dependent test, ``break``, ``continue``,
early ``return`` and calls to the helpers with positional and keyword arguments.  The module is
written to a ``.py`` file, imported, and ``adc.grad`` is compared with a Richardson-extrapolated
central difference of the plain Python function.

Numerically tame by construction: every assigned value goes through ``tanh``/``sin``/``atan``
(so every name stays within ``pi / 2`` and parameters within 2), the only division is by
``1 + e * e``, and ``exp`` only sees a ``tanh``.  Points where the difference straddles a branch
switch are recognised by the extrapolation's error estimate and replaced by other points.

Each example costs a Numba compilation, so shrinking is switched off: a failure reports the
whole program and its generated gradient instead (and the example database replays it).
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys

import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

import adcompile as adc

HEADER = "import math\n\nimport numpy as np\n\n"
PARAMS = ["x", "y", "z"]
LOCALS = ["a", "b", "c", "s"]
PARAM_BOUND = 2.0
SQUASH = ["math.tanh", "math.sin", "math.atan", "np.tanh", "np.sin"]
RANGES = ["range(3)", "range(0, 2)", "range(1, 4)", "range(3, 0, -1)", "range(4, -1, -2)",
          "range(2, 2)", "range(0, 4, 2)", "range(3, 1)", "range(1, 3, -1)"]
SETTINGS = settings(max_examples=20, deadline=None,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@st.composite
def expressions(draw, names, helpers, depth):
    """A bounded expression over ``names`` (each bounded by 2) that may call ``helpers``."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 4)) > 0:
            return draw(st.sampled_from(sorted(names)))
        return draw(st.sampled_from(["0.5", "1.5", "-0.75", "2.0", "(-1.25)"]))
    kind = draw(st.sampled_from(["add", "sub", "mul", "div", "neg", "sin", "cos", "exp", "sqrt",
                                 "ifexp", "call", "square"]))
    a = draw(expressions(names, helpers, depth - 1))
    if kind in ("add", "sub", "mul", "div"):
        b = draw(expressions(names, helpers, depth - 1))
        return {"add": f"({a} + {b})", "sub": f"({a} - {b})", "mul": f"({a}) * ({b})",
                "div": f"({a}) / (1.0 + ({b}) * ({b}))"}[kind]
    if kind == "neg":
        return f"-({a})"
    if kind == "square":
        return f"({a}) ** 2"
    if kind in ("sin", "cos"):
        return f"{draw(st.sampled_from(['math', 'np']))}.{kind}({a})"
    if kind == "exp":
        return f"math.exp(math.tanh({a}))"
    if kind == "sqrt":
        return f"math.sqrt(1.0 + ({a}) * ({a}))"
    if kind == "ifexp":
        b = draw(expressions(names, helpers, depth - 1))
        return f"({a} if {draw(conditions(names))} else {b})"
    if not helpers:
        return a
    name = draw(st.sampled_from(helpers))
    b = draw(expressions(names, helpers, depth - 1))
    style = draw(st.sampled_from(["positional", "default", "keyword", "swapped"]))
    return {"positional": f"{name}({a}, {b})", "default": f"{name}({a})",
            "keyword": f"{name}({a}, v={b})", "swapped": f"{name}(v={b}, u={a})"}[style]


@st.composite
def conditions(draw, names):
    """A comparison, chained comparison or boolean combination over ``names`` (each
    comparison reads at least one name)."""
    def name():
        return draw(st.sampled_from(sorted(names)))

    def operand():
        return draw(st.sampled_from(sorted(names) + ["0.3", "-0.4", "1.0"]))

    kind = draw(st.sampled_from(["compare", "compare", "chained", "and", "or", "not"]))
    op = draw(st.sampled_from(["<", ">", "<=", ">="]))
    if kind == "compare":
        return f"{name()} {op} {operand()}"
    if kind == "chained":
        return f"-0.5 < {name()} {draw(st.sampled_from(['<', '<=']))} {operand()}"
    if kind == "not":
        return f"not {name()} {op} {operand()}"
    word = "and" if kind == "and" else "or"
    return f"{name()} {op} {operand()} {word} {name()} < {operand()}"


class Writer:
    """Draws statements into indented source lines, keeping track of the names defined."""

    def __init__(self, draw, helpers):
        self.draw = draw
        self.helpers = helpers
        self.lines: list[str] = []
        self.counters = itertools.count()

    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def expr(self, names, depth=2):
        return self.draw(expressions(names, self.helpers, depth))

    def block(self, names, indent, depth, loop=False, size=(1, 3)):
        """A block of statements; ``names`` grows with what the block defines at its own
        level (a name assigned only inside a nested branch or loop is not used after it)."""
        draw = self.draw
        for _ in range(draw(st.integers(*size))):
            kinds = ["assign", "assign", "update"]
            if depth > 0:
                kinds += ["if", "for", "while"]
            if loop:
                kinds += ["break", "continue"]
            if indent > 1:
                kinds += ["return"]
            kind = draw(st.sampled_from(kinds))
            squash = draw(st.sampled_from(SQUASH))
            if kind == "assign":
                target = draw(st.sampled_from(LOCALS + PARAMS))
                self.emit(indent, f"{target} = {squash}({self.expr(names)})")
                names.add(target)
            elif kind == "update":
                target = draw(st.sampled_from(sorted(names)))
                op = draw(st.sampled_from(["+", "-", "*"]))
                self.emit(indent, f"{target} = {squash}({target} {op} {self.expr(names, 1)})")
            elif kind == "if":
                self.emit(indent, f"if {draw(conditions(names))}:")
                self.block(set(names), indent + 1, depth - 1, loop)
                for _ in range(draw(st.integers(0, 1))):
                    self.emit(indent, f"elif {draw(conditions(names))}:")
                    self.block(set(names), indent + 1, depth - 1, loop)
                if draw(st.booleans()):
                    self.emit(indent, "else:")
                    self.block(set(names), indent + 1, depth - 1, loop)
            elif kind == "for":
                index = f"i{next(self.counters)}"
                self.emit(indent, f"for {index} in {draw(st.sampled_from(RANGES))}:")
                inner = set(names)
                self.emit(indent + 1, f"{draw(st.sampled_from(sorted(names)))} = "
                          f"{squash}({self.expr(inner, 1)} + 0.25 * {index})")
                self.block(inner, indent + 1, depth - 1, loop=True)
            elif kind == "while":
                counter = f"k{next(self.counters)}"
                self.emit(indent, f"{counter} = 0")
                bound = draw(st.integers(1, 4))
                self.emit(indent, f"while {counter} < {bound} and ({draw(conditions(names))}):")
                self.emit(indent + 1, f"{counter} += 1")
                self.block(set(names), indent + 1, depth - 1, loop=True)
            elif kind in ("break", "continue"):
                self.emit(indent, f"if {draw(conditions(names))}:")
                self.emit(indent + 1, kind)
            else:
                self.emit(indent, f"if {draw(conditions(names))}:")
                self.emit(indent + 1, f"return {self.expr(names)}")


@st.composite
def helpers(draw):
    """Source of up to two helpers ``h0(u, v=...)``, ``h1(u, v=...)``; ``h1`` may call ``h0``."""
    sources, names = [], []
    for k in range(draw(st.integers(0, 2))):
        writer = Writer(draw, list(names))
        default = draw(st.sampled_from(["0.5", "-1.0", "2"]))
        writer.emit(0, f"def h{k}(u, v={default}):")
        body_names = {"u", "v"}
        writer.block(body_names, 1, depth=1, size=(0, 2))
        writer.emit(1, f"return {draw(st.sampled_from(SQUASH))}({writer.expr(body_names)})")
        sources.append("\n".join(writer.lines) + "\n")
        names.append(f"h{k}")
    return sources, names


@st.composite
def programs(draw):
    """``(source, params, wrt)`` of a random module defining ``f``."""
    helper_sources, helper_names = draw(helpers())
    params = PARAMS[: draw(st.integers(1, 3))]
    writer = Writer(draw, helper_names)
    writer.emit(0, f"def f({', '.join(params)}):")
    names = set(params)
    writer.block(names, 1, depth=2, size=(2, 4))
    writer.emit(1, f"return {writer.expr(names)} + {draw(st.sampled_from(sorted(names)))}")
    source = HEADER + "\n\n".join([*helper_sources, "\n".join(writer.lines) + "\n"])
    wrt = tuple(draw(st.lists(st.sampled_from(params), min_size=1, max_size=len(params),
                              unique=True)))
    return source, params, wrt


def points(nparams):
    # a grid shifted off the constants the conditions compare with (0, 0.3, 1.0, ...), so that
    # no point sits exactly on a branch switch, where a central difference averages two slopes
    coordinate = st.integers(-1999, 1999).map(lambda k: k / 1000.0 + 1.23e-4)
    return st.lists(st.tuples(*[coordinate] * nparams), min_size=3, max_size=3)


def central_difference(f, args, i, h):
    lo, hi = list(args), list(args)
    lo[i] -= h
    hi[i] += h
    return (f(*hi) - f(*lo)) / (2.0 * h)


def one_sided_gap(f, args, i, h):
    """How much the backward and forward differences disagree: about ``h * f''`` where ``f``
    is smooth, the jump in slope at a kink."""
    lo, hi = list(args), list(args)
    lo[i] -= h
    hi[i] += h
    mid = f(*args)
    return abs((f(*hi) - mid) / h - (mid - f(*lo)) / h)


def richardson(f, args, i):
    """A central difference extrapolated from steps h and h/2, and an estimate of its error
    (large where the difference straddles a branch switch or a loop exit)."""
    h = 1e-4
    coarse = central_difference(f, args, i, h)
    fine = central_difference(f, args, i, h / 2)
    return fine + (fine - coarse) / 3.0, abs(fine - coarse)


_modules = itertools.count()


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("control_programs")


def load(directory, source):
    name = f"random_control_program_{next(_modules)}"
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.f


def oracle(f, source, params, wrt, at):
    """Finite-difference gradients at each point; rejects points near a switch."""
    expected = []
    for point in at:
        value = f(*point)
        assert math.isfinite(value) and abs(value) < 50, (
            f"the generator built an ill-behaved program:\n{source}")
        row = []
        for name in wrt:
            i = params.index(name)
            want, error = richardson(f, point, i)
            assume(error <= 1e-6 * (1.0 + abs(want)))
            assume(one_sided_gap(f, point, i, 1e-5) <= 1e-2 * (1.0 + abs(want)))
            row.append(want)
        expected.append(row)
    return expected


@SETTINGS
@given(data=st.data())
def test_random_control_flow_gradient_matches_finite_difference(data, program_dir):
    source, params, wrt = data.draw(programs(), label="program")
    at = data.draw(points(len(params)), label="points")
    f = load(program_dir, source)
    expected = oracle(f, source, params, wrt, at)
    grad = adc.grad(f, wrt=wrt)
    for point, want in zip(at, expected, strict=True):
        got = grad(*point)
        assert len(got) == len(wrt)
        for name, g, w in zip(wrt, got, want, strict=True):
            assert isinstance(g, float)
            assert g == pytest.approx(w, rel=1e-5, abs=1e-7), (
                f"d f / d {name} at {point}: got {g!r}, finite difference {w!r}\n"
                f"{source}\n{grad.source}")


@SETTINGS
@given(data=st.data())
def test_random_control_flow_value_and_grad(data, program_dir):
    source, params, wrt = data.draw(programs(), label="program")
    at = data.draw(points(len(params)), label="points")
    f = load(program_dir, source)
    expected = oracle(f, source, params, wrt, at)
    value_and_grad = adc.value_and_grad(f, wrt=wrt)
    for point, want in zip(at, expected, strict=True):
        value, got = value_and_grad(*point)
        assert value == pytest.approx(f(*point), rel=1e-12, abs=1e-12), (
            f"value at {point}: got {value!r}, f gives {f(*point)!r}\n{source}\n"
            f"{value_and_grad.source}")
        assert list(got) == pytest.approx(want, rel=1e-5, abs=1e-7), (
            f"gradient at {point}: got {got!r}, finite differences {want!r}\n{source}\n"
            f"{value_and_grad.source}")
