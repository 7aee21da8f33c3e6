"""Property: the gradient of any straight-line program over the rules matches finite differences.

Hypothesis builds random programs (assignments, reassignment, augmented assignment, tuple
unpacking, nested expressions over arithmetic and ``math``/NumPy functions spelled in every
supported way), writes each to a ``.py`` file, imports it, and compares ``adc.grad`` with respect
to a random subset of the parameters against a Richardson-extrapolated central difference of the
plain Python function.  Every value is kept bounded by construction (large intermediate results
are squashed through ``tanh``/``atan``, logarithms and square roots get ``1 + e*e``, divisors are
bounded away from zero), so the finite-difference oracle stays accurate.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import adcompile as adc

HEADER = """\
import math
import math as m
from math import exp, log, sin, sqrt

import numpy as np
from numpy import tanh

"""

PARAMS = ["x", "y", "z", "w"]
#: Local names, some of them chosen to collide with names the compiler generates.
LOCALS = ["a", "b", "u", "t1", "d_x", "x_1", "result", "f"]
#: Each function in every spelling the front end must resolve.
SPELLINGS = {
    "sin": ["math.sin", "np.sin", "m.sin", "sin"],
    "cos": ["math.cos", "np.cos", "m.cos"],
    "tanh": ["math.tanh", "np.tanh", "tanh"],
    "atan": ["math.atan", "np.arctan", "m.atan"],
    "exp": ["math.exp", "np.exp", "m.exp", "exp"],
    "atan2": ["math.atan2", "np.arctan2"],
    "hypot": ["math.hypot", "np.hypot"],
    "log": ["math.log", "np.log", "log", "math.log1p"],
    "sqrt": ["math.sqrt", "np.sqrt", "sqrt"],
}
#: Values above this are squashed before they are used further.
CAP = 8.0
PARAM_BOUND = 2.0


def spelled(draw, name):
    return draw(st.sampled_from(SPELLINGS[name]))


@st.composite
def expressions(draw, bounds, depth):
    """``(source, bound)``: an expression over the names in ``bounds`` and an upper bound of
    its absolute value, given ``|name| <= bounds[name]``."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 4)) > 0:
            name = draw(st.sampled_from(sorted(bounds)))
            return name, bounds[name]
        value = draw(st.sampled_from([0.5, 1.5, -0.75, 2, 3]))
        return repr(value), abs(value)
    kind = draw(st.sampled_from([
        "add", "sub", "mul", "div", "div_cos", "square", "cube", "power", "neg", "scale",
        "sin", "cos", "tanh", "atan", "exp", "log", "sqrt", "atan2", "hypot", "variable_power",
    ]))
    a, ba = draw(expressions(bounds, depth - 1))
    if kind in ("add", "sub", "mul", "div", "div_cos", "atan2", "hypot", "variable_power"):
        b, bb = draw(expressions(bounds, depth - 1))
        if kind == "add":
            src, bound = f"{a} + {b}", ba + bb
        elif kind == "sub":
            src, bound = f"{a} - ({b})", ba + bb
        elif kind == "mul":
            src, bound = f"({a}) * ({b})", ba * bb
        elif kind == "div":
            src, bound = f"({a}) / (1.0 + ({b}) * ({b}))", ba
        elif kind == "div_cos":
            src, bound = f"({a}) / (2.0 + {spelled(draw, 'cos')}({b}))", ba
        elif kind == "atan2":
            src, bound = f"{spelled(draw, kind)}({a}, 1.5 + {spelled(draw, 'sin')}({b}))", 1.6
        elif kind == "hypot":
            src, bound = f"{spelled(draw, kind)}(0.5 + ({a}) * ({a}), {b})", 0.5 + ba * ba + bb
        else:  # a positive base to a varying exponent
            base = f"(1.0 + ({a}) * ({a}))"
            src, bound = f"{base} ** {spelled(draw, 'tanh')}({b})", 1.0 + ba * ba
    elif kind == "square":
        src, bound = f"({a}) ** 2", ba ** 2
    elif kind == "cube":
        src, bound = f"({a}) ** 3", ba ** 3
    elif kind == "power":
        exponent = draw(st.sampled_from([0.5, -0.5, 1.5, -1, 2.5]))
        base = f"(1.0 + ({a}) * ({a}))"
        src, bound = f"{base} ** {exponent}", max(1.0, (1.0 + ba * ba) ** exponent)
    elif kind == "neg":
        src, bound = f"-({a})", ba
    elif kind == "scale":
        c = draw(st.sampled_from([0.5, -1.25, 3.0, 2]))
        src, bound = f"{c} * ({a})", abs(c) * ba
    elif kind in ("sin", "cos", "tanh"):
        src, bound = f"{spelled(draw, kind)}({a})", 1.0
    elif kind == "atan":
        src, bound = f"{spelled(draw, kind)}({a})", math.pi / 2
    elif kind == "exp":
        if ba > 3.0:
            a, ba = f"{spelled(draw, 'tanh')}({a})", 1.0
        src, bound = f"{spelled(draw, 'exp')}({a})", math.exp(ba)
    elif kind == "log":
        fn = spelled(draw, "log")
        inner = f"({a}) * ({a})" if fn.endswith("log1p") else f"1.0 + ({a}) * ({a})"
        src, bound = f"{fn}({inner})", math.log1p(ba * ba)
    else:
        src, bound = f"{spelled(draw, 'sqrt')}(1.0 + ({a}) * ({a}))", math.sqrt(1 + ba * ba)
    return squashed(draw, src, bound)


def squashed(draw, src, bound):
    if bound <= CAP:
        return src, bound
    return f"{spelled(draw, draw(st.sampled_from(['tanh', 'atan'])))}({src})", math.pi / 2


@st.composite
def programs(draw):
    """``(source, params, wrt)`` of a random straight-line function ``f``."""
    nparams = draw(st.integers(1, 4))
    params = PARAMS[:nparams]
    bounds = {p: PARAM_BOUND for p in params}
    lines = []
    last = params[0]

    def assign(name, src, bound):
        lines.append(f"{name} = {src}")
        bounds[name] = bound

    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["assign", "assign", "augmented", "unpack", "swap"]))
        if kind == "assign":
            name = draw(st.sampled_from(LOCALS + params))
            src, bound = draw(expressions(dict(bounds), 3))
            assign(name, src, bound)
        elif kind == "augmented":
            name = draw(st.sampled_from(sorted(bounds)))
            op = draw(st.sampled_from(["+", "-", "*", "/"]))
            src, bound = draw(expressions(dict(bounds), 2))
            if op == "/":
                lines.append(f"{name} /= 1.0 + ({src}) * ({src})")
            else:
                lines.append(f"{name} {op}= {src}")
                bounds[name] = bounds[name] * bound if op == "*" else bounds[name] + bound
            if bounds[name] > CAP:
                assign(name, f"{spelled(draw, 'tanh')}({name})", 1.0)
        elif kind == "unpack":
            first, second = draw(st.lists(st.sampled_from(LOCALS + params), min_size=2,
                                          max_size=2, unique=True))
            (src1, bound1), (src2, bound2) = (draw(expressions(dict(bounds), 2))
                                              for _ in range(2))
            lines.append(f"{first}, {second} = {src1}, {src2}")
            bounds[first], bounds[second] = bound1, bound2
            name = draw(st.sampled_from([first, second]))
        else:
            if len(bounds) < 2:
                continue
            first, second = draw(st.lists(st.sampled_from(sorted(bounds)), min_size=2,
                                          max_size=2, unique=True))
            lines.append(f"{first}, {second} = {second}, {first}")
            bounds[first], bounds[second] = bounds[second], bounds[first]
            name = first
        last = name
    src, _ = draw(expressions(dict(bounds), 3))
    body = "".join(f"    {line}\n" for line in lines)
    source = f"{HEADER}\ndef f({', '.join(params)}):\n{body}    return {last} + {src}\n"
    wrt_params = draw(st.lists(st.sampled_from(params), min_size=1, max_size=nparams,
                               unique=True))
    wrt = tuple(p if draw(st.booleans()) else params.index(p) for p in wrt_params)
    if len(wrt) == 1 and draw(st.booleans()):
        wrt = wrt[0]
    return source, params, wrt


def points(nparams):
    coordinate = st.floats(-PARAM_BOUND, PARAM_BOUND, allow_nan=False, allow_infinity=False)
    return st.lists(st.tuples(*[coordinate] * nparams), min_size=3, max_size=3)


def central_difference(f, args, i, h):
    lo, hi = list(args), list(args)
    lo[i] -= h
    hi[i] += h
    return (f(*hi) - f(*lo)) / (2.0 * h)


def richardson(f, args, i):
    """A central difference extrapolated from steps h and h/2, and an estimate of its error."""
    h = 1e-4 * max(1.0, abs(args[i]))
    coarse = central_difference(f, args, i, h)
    fine = central_difference(f, args, i, h / 2)
    return fine + (fine - coarse) / 3.0, abs(fine - coarse)


_counter = itertools.count()
#: source -> its function, so that a program drawn again (as when Hypothesis shrinks a failing
#: example) is neither written, imported nor compiled again
_loaded = {}


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("programs")


def load(directory, source):
    if source not in _loaded:
        _loaded[source] = _import(directory, source)
    return _loaded[source]


def _import(directory, source):
    name = f"random_program_{next(_counter)}"
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.f


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_program_gradient_matches_finite_difference(data, program_dir):
    source, params, wrt = data.draw(programs(), label="program")
    at = data.draw(points(len(params)), label="points")
    f = load(program_dir, source)
    single = not isinstance(wrt, tuple)
    indices = [params.index(p) if isinstance(p, str) else p
               for p in ([wrt] if single else wrt)]
    expected = []
    for point in at:
        value = f(*point)
        assert math.isfinite(value), f"the generator built an ill-behaved program:\n{source}"
        row = []
        for i in indices:
            want, error = richardson(f, point, i)
            # where the function curves too sharply for the oracle, choose another point
            assume(error <= 1e-6 * (1.0 + abs(want)))
            row.append(want)
        expected.append(row)
    # value_and_grad every time; grad too for a drawn half of the programs (the two come
    # from one generated module, and each compiled role costs a Numba compilation)
    value_and_grad = adc.value_and_grad(f, wrt=wrt)
    grad = adc.grad(f, wrt=wrt) if data.draw(st.booleans(), label="grad too") else None
    for point, want in zip(at, expected, strict=True):
        value, grads = value_and_grad(*point)
        assert value == pytest.approx(f(*point), rel=1e-12, abs=1e-12)
        roles = [("value_and_grad", grads)] + ([("grad", grad(*point))] if grad else [])
        for what, got in roles:
            got = [got] if single else list(got)
            assert len(got) == len(indices)
            for i, g, w in zip(indices, got, want, strict=True):
                assert isinstance(g, float)
                assert g == pytest.approx(w, rel=1e-5, abs=1e-7), (
                    f"{what}: d f / d {params[i]} at {point}: got {g!r}, finite difference "
                    f"{w!r}\nwrt={wrt!r}\n{source}\n{value_and_grad.source}")
