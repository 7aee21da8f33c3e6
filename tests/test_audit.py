"""Audit of the derivative registry against float64 central differences.

Every rule registered by the library (``adcompile.rules._RULES``, keyed by the primitive and its
number of arguments) must have an entry in ``CASES`` below: how to call the primitive with that
many arguments, and a sampler of points inside its domain.  A rule without an entry fails
``test_every_rule_has_an_audit_case``, so a new rule cannot go unchecked.  Each case becomes one
term of a generated function, called with floats and, for NumPy functions, with arrays; the
gradient with respect to every differentiable argument is compared, at a few random points,
with central differences of the plain Python term.  The oracle runs NumPy and ``math`` in the
interpreter and knows nothing of the rules.

The terms of one group are summed in one generated function over disjoint parameters, so one
compilation serves many primitives while each parameter's derivative still comes from one term
alone.  When a group does not compile, its halves are compiled, down to the case that fails
alone.  Compiling array code is what costs, so elementwise rules are called with arrays once per
rule template (``np.fmax`` shares ``np.maximum``'s), and with floats for every primitive.
Elementwise terms are scaled by 1.7 (a rule that drops the incoming adjoint ``g`` is caught);
the results of reductions, products and reshapes go through ``sin`` first, so their incoming
adjoint differs from entry to entry (a rule that transposes or misplaces it is caught).
Points avoid kinks: ties of ``max``/``min``, zero for ``abs`` and ``sign``, the bounds of
``clip``, integer quotients for ``%``.

Every nondifferentiable declaration of the library (``adcompile.rules._NONDIFF``) must likewise
have an entry in ``NONDIFF``; the audit checks that the function really is piecewise constant:
moving any float argument by a tiny step leaves the result unchanged at (nearly) every random
point.
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import itertools
import math
import operator
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import adcompile as adc
from adcompile import kernels, rules

#: Central differences: the step relative to the magnitude of the entry, and the tolerance.
STEP = 6e-6
RTOL = 1e-6
ATOL = 1e-8
#: Random points per case (one compilation serves them all).
POINTS = 3

Sampler = Callable[[np.random.Generator, tuple[int, ...]], np.ndarray]


# -- domains ------------------------------------------------------------------------------------

def uniform(lo: float, hi: float) -> Sampler:
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def away_from_zero(lo: float, hi: float, margin: float = 0.2) -> Sampler:
    """Magnitudes in [lo, hi] (lo > 0), either sign: away from the kink of abs at 0."""
    return lambda rng, shape: rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


REAL = uniform(-2.0, 2.0)
POSITIVE = uniform(0.2, 4.0)
UNIT = uniform(-0.8, 0.8)
ABOVE_ONE = uniform(1.2, 4.0)
NONZERO = away_from_zero(0.3, 2.0)
FACTOR = away_from_zero(0.5, 1.5)  # products of a few stay near 1
TAN = uniform(-1.2, 1.2)
LOG1P = uniform(-0.5, 3.0)
WIDE = uniform(-5.0, 5.0)
#: np.float32 rounds to 24 bits: near 0 its spacing (1e-12 at 1e-5) is far below what a central
#: difference resolves, which elsewhere it is not (2 % of the difference at 1.0)
FLOAT32_EXACT = uniform(-1e-5, 1e-5)


def coin(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A boolean array with both values (np.where's condition)."""
    while True:
        c = rng.random(shape) < 0.5
        if c.any() and not c.all():
            return c


# -- the table ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """One parameter of a case: its domain and shape (``None`` for a float)."""

    sampler: Sampler | Callable
    shape: tuple[int, ...] | None = None
    diff: bool = True  # differentiated (False: passed as a constant, e.g. a condition)


def s(sampler: Sampler) -> Arg:
    return Arg(sampler)


def v(sampler: Sampler, n: int = 3) -> Arg:
    return Arg(sampler, (n,))


def m(sampler: Sampler, shape: tuple[int, int] = (2, 3)) -> Arg:
    return Arg(sampler, shape)


def const(sampler: Callable, shape: tuple[int, ...]) -> Arg:
    return Arg(sampler, shape, diff=False)


@dataclass(frozen=True)
class Case:
    """One call of one primitive: ``form`` with ``{f}`` for the primitive's name and ``{0}``,
    ``{1}``, ... for the parameters described by ``args``."""

    primal: Any
    nargs: int
    form: str
    args: tuple[Arg, ...]
    group: str
    #: a condition on the sampled values (away from kinks); points are redrawn until it holds
    valid: Callable[..., bool] | None = None

    @property
    def expr(self) -> str:
        return self.form.replace("{f}", spell(self.primal))

    @property
    def label(self) -> str:
        shapes = ",".join("s" if a.shape is None else "x".join(map(str, a.shape))
                          for a in self.args)
        return f"{self.expr.format(*(f'_{i}' for i in range(len(self.args))))} [{shapes}]"


#: The modules a generated function imports, under these names.
NAMESPACE = {"math": math, "np": np, "operator": operator, "kernels": kernels}
HEADER = "import math\nimport operator\n\nimport numpy as np\n\nfrom adcompile import kernels\n"

#: Operators are written as operators.
OPERATOR_SYNTAX = {
    operator.add: (ast.Add, "{0} + {1}"), operator.sub: (ast.Sub, "{0} - {1}"),
    operator.mul: (ast.Mult, "{0} * {1}"), operator.truediv: (ast.Div, "{0} / {1}"),
    operator.pow: (ast.Pow, "{0} ** {1}"), operator.mod: (ast.Mod, "{0} % {1}"),
    operator.matmul: (ast.MatMult, "{0} @ {1}"), operator.floordiv: (ast.FloorDiv, "{0} // {1}"),
    operator.neg: (ast.USub, "-{0}"), operator.pos: (ast.UAdd, "+{0}"),
    operator.not_: (ast.Not, "not {0}"),
    operator.eq: (ast.Eq, "{0} == {1}"), operator.ne: (ast.NotEq, "{0} != {1}"),
    operator.lt: (ast.Lt, "{0} < {1}"), operator.le: (ast.LtE, "{0} <= {1}"),
    operator.gt: (ast.Gt, "{0} > {1}"), operator.ge: (ast.GtE, "{0} >= {1}"),
}


_SPELLINGS: dict[int, str] = {}


def spell(primal: Any) -> str:
    """How user code names ``primal``: ``abs``, ``math.exp``, ``np.exp``, ``kernels.power``
    (empty for operators, which are written as operators, and for user functions)."""
    if id(primal) not in _SPELLINGS:
        _SPELLINGS[id(primal)] = "" if primal in OPERATOR_SYNTAX else _find_name(primal)
    return _SPELLINGS[id(primal)]


def _find_name(primal: Any) -> str:
    name = getattr(primal, "__name__", None)
    if name and getattr(builtins, name, None) is primal:
        return name
    for prefix in NAMESPACE:
        if prefix == "operator":
            continue
        module = NAMESPACE[prefix]
        if name and getattr(module, name, None) is primal:
            return f"{prefix}.{name}"
        for attr in sorted(dir(module)):
            if not attr.startswith("_") and getattr(module, attr) is primal:
                return f"{prefix}.{attr}"
    return ""


def untied(*pairs: tuple[int, int], margin: float = 0.1) -> Callable[..., bool]:
    """Arguments i and j differ by more than ``margin`` everywhere (max, min)."""
    return lambda *xs: all(np.min(np.abs(np.subtract(xs[i], xs[j]))) > margin for i, j in pairs)


def off_origin(*xs: Any) -> bool:
    """(y, x) away from the origin (atan2, hypot)."""
    return bool(np.min(np.hypot(xs[0], xs[1])) > 0.3)


def off_integer_quotient(*xs: Any) -> bool:
    """x / y away from integers, where x % y jumps."""
    frac = np.mod(np.divide(xs[0], xs[1]), 1.0)
    return bool(np.min(np.minimum(frac, 1.0 - frac)) > 0.05)


def whole_count(step: float | None = None) -> Callable[..., bool]:
    """(stop - start) / step away from integers, where np.arange gains or loses an entry."""
    def valid(start: float, stop: float, *rest: float) -> bool:
        q = (stop - start) / (step if step is not None else rest[0])
        return abs(q - round(q)) > 0.05
    return valid


def clip_valid(x: Any, lo: Any, hi: Any) -> bool:
    """lo < hi, x away from both bounds, and some x inside, some outside."""
    x = np.asarray(x)
    inside = (x > lo) & (x < hi)
    return bool(hi - lo > 0.4 and np.min(np.abs(x - lo)) > 0.1 and np.min(np.abs(x - hi)) > 0.1
                and inside.any() and not inside.all())


#: Unary elementwise primitives and their domains.  ``math``/builtin ones are called with
#: floats; NumPy ones with floats and with arrays.
UNARY: list[tuple[Any, Sampler]] = [
    (math.exp, REAL), (np.exp, REAL), (math.expm1, REAL), (np.expm1, REAL), (np.exp2, REAL),
    (math.log, POSITIVE), (np.log, POSITIVE), (math.log2, POSITIVE), (np.log2, POSITIVE),
    (math.log10, POSITIVE), (np.log10, POSITIVE), (math.log1p, LOG1P), (np.log1p, LOG1P),
    (np.reciprocal, NONZERO), (math.sqrt, POSITIVE), (np.sqrt, POSITIVE), (np.cbrt, NONZERO),
    (np.square, REAL), (math.sin, REAL), (np.sin, REAL), (math.cos, REAL), (np.cos, REAL),
    (math.tan, TAN), (np.tan, TAN), (math.asin, UNIT), (np.arcsin, UNIT), (math.acos, UNIT),
    (np.arccos, UNIT), (math.atan, REAL), (np.arctan, REAL), (math.sinh, REAL),
    (np.sinh, REAL), (math.cosh, REAL), (np.cosh, REAL), (math.tanh, REAL), (np.tanh, REAL),
    (math.asinh, REAL), (np.arcsinh, REAL), (math.acosh, ABOVE_ONE), (np.arccosh, ABOVE_ONE),
    (math.atanh, UNIT), (np.arctanh, UNIT), (math.erf, REAL), (math.erfc, REAL),
    (abs, NONZERO), (math.fabs, NONZERO), (np.abs, NONZERO), (np.fabs, NONZERO),
    (float, REAL), (np.float64, REAL), (np.float32, FLOAT32_EXACT), (kernels.as_float, REAL),
    (kernels.log_or_zero, POSITIVE), (kernels.finite_or_zero, REAL),
]

#: Binary elementwise primitives: the domain of each argument and a condition on the pair.
BINARY: list[tuple[Any, Sampler, Sampler, Callable[..., bool] | None]] = [
    (math.pow, POSITIVE, REAL, None), (np.power, POSITIVE, REAL, None),
    (kernels.power, POSITIVE, REAL, None), (kernels.pow_dx, POSITIVE, REAL, None),
    (kernels.accumulate, REAL, REAL, None),
    (kernels.ratio_or_zero, REAL, NONZERO, None),
    (math.atan2, REAL, REAL, off_origin), (np.arctan2, REAL, REAL, off_origin),
    (math.hypot, REAL, REAL, off_origin), (np.hypot, REAL, REAL, off_origin),
    (max, REAL, REAL, untied((0, 1))), (np.maximum, REAL, REAL, untied((0, 1))),
    (np.fmax, REAL, REAL, untied((0, 1))), (min, REAL, REAL, untied((0, 1))),
    (np.minimum, REAL, REAL, untied((0, 1))), (np.fmin, REAL, REAL, untied((0, 1))),
]

#: Operators on floats and arrays.
OPERATORS: list[tuple[Any, tuple[Sampler, ...], Callable[..., bool] | None]] = [
    (operator.add, (REAL, REAL), None), (operator.sub, (REAL, REAL), None),
    (operator.mul, (REAL, REAL), None), (operator.truediv, (REAL, NONZERO), None),
    (operator.pow, (POSITIVE, REAL), None), (operator.mod, (WIDE, NONZERO), off_integer_quotient),
    (operator.neg, (REAL,), None), (operator.pos, (REAL,), None),
]


def _is_numpy(primal: Any) -> bool:
    return spell(primal).startswith(("np.", "kernels."))


def _template(primal: Any, nargs: int) -> Any:
    rule = rules.lookup(primal, nargs)
    return None if rule is None else rule.template


def _build_cases() -> list[Case]:
    """Every elementwise primitive with floats; with arrays once per rule template (NumPy
    functions), since primitives that share a template share its backward code, and the
    arrays' compilation is what costs."""
    cases: list[Case] = []
    with_arrays: set[Any] = {None}

    def vector_case(case: Case) -> None:
        template = _template(case.primal, case.nargs)
        if template not in with_arrays or template is None:
            with_arrays.add(template)
            cases.append(case)

    for primal, dom in UNARY:
        cases.append(Case(primal, 1, "{f}({0})", (s(dom),), "scalar"))
        if _is_numpy(primal) and primal not in (np.float64, np.float32):
            vector_case(Case(primal, 1, "{f}({0})", (v(dom),), "vector"))
    for k, (primal, dx, dy, valid) in enumerate(BINARY):
        cases.append(Case(primal, 2, "{f}({0}, {1})", (s(dx), s(dy)), "scalar", valid))
        if _is_numpy(primal):  # one side an array, the other a float, alternating
            args = (v(dx), s(dy)) if k % 2 == 0 else (s(dx), v(dy))
            vector_case(Case(primal, 2, "{f}({0}, {1})", args, "vector", valid))
    for k, (primal, doms, valid) in enumerate(OPERATORS):
        form = OPERATOR_SYNTAX[primal][1]
        cases.append(Case(primal, len(doms), form, tuple(s(d) for d in doms), "scalar", valid))
        if len(doms) == 1:
            args = (v(doms[0]),)
        else:
            args = (v(doms[0]), s(doms[1])) if k % 2 == 0 else (s(doms[0]), v(doms[1]))
        vector_case(Case(primal, len(doms), form, args, "vector", valid))
    # powers with a literal exponent or base, as written most often
    cases += [
        Case(operator.pow, 2, "{0} ** 2", (s(REAL),), "scalar"),
        Case(operator.pow, 2, "{0} ** 3", (s(REAL),), "scalar"),
        Case(operator.pow, 2, "{0} ** -2", (s(NONZERO),), "scalar"),
        Case(operator.pow, 2, "{0} ** 0.5", (s(POSITIVE),), "scalar"),
        Case(operator.pow, 2, "2.0 ** {0}", (s(REAL),), "scalar"),
        Case(kernels.power, 2, "{f}({0}, 2)", (s(REAL),), "scalar"),
        Case(kernels.number_only, 1, "{f}({0})", (s(REAL),), "scalar"),
    ]
    # selection
    cases += [
        Case(np.where, 3, "{f}({0}, {1}, {2})", (const(coin, (3,)), v(REAL), v(REAL)), "vector"),
        Case(np.clip, 3, "{f}({0}, {1}, {2})", (v(REAL, 4), s(uniform(-1.5, 0.0)),
                                                s(uniform(0.0, 1.5))), "vector", clip_valid),
    ]
    # reductions, products, reshaping: results go through sin (see the module docstring)
    cases += [
        Case(np.sum, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.sum, 2, "{f}({0}, axis=0)", (m(REAL),), "array"),
        Case(np.mean, 1, "{f}({0})", (v(REAL, 4),), "array"),
        Case(kernels.mean_along, 2, "{f}({0}, 1)", (m(REAL),), "array"),
        Case(np.max, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.amax, 1, "{f}({0})", (v(REAL, 4),), "array"),
        Case(kernels.max_along, 2, "{f}({0}, 0)", (m(REAL),), "array"),
        Case(np.min, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.amin, 1, "{f}({0})", (v(REAL, 4),), "array"),
        Case(kernels.min_along, 2, "{f}({0}, 1)", (m(REAL),), "array"),
        Case(np.prod, 1, "{f}({0})", (m(FACTOR),), "array"),
        Case(kernels.prod_along, 2, "{f}({0}, 0)", (m(FACTOR),), "array"),
        Case(kernels.prod_others, 2, "{f}({0}, None)", (m(FACTOR),), "array"),
        Case(kernels.prod_others, 2, "{f}({0}, 1)", (m(FACTOR),), "array"),
        Case(operator.matmul, 2, "{0} @ {1}", (m(REAL), v(REAL)), "array"),
        Case(operator.matmul, 2, "{0} @ {1}", (v(REAL, 2), m(REAL)), "array"),
        Case(operator.matmul, 2, "{0} @ {1}", (m(REAL), m(REAL, (3, 2))), "array"),
        Case(np.dot, 2, "{f}({0}, {1})", (v(REAL), v(REAL)), "array"),
        Case(np.outer, 2, "{f}({0}, {1})", (v(REAL, 2), v(REAL)), "array"),
        Case(np.transpose, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.reshape, 2, "{f}({0}, (3, 2))", (m(REAL),), "array"),
        Case(kernels.reshape, 2, "{f}({0}, (6,))", (m(REAL),), "array"),
        Case(np.copy, 1, "{f}({0})", (v(REAL),), "array"),
        Case(np.ascontiguousarray, 1, "{f}({0})", (m(REAL),), "array"),
        Case(np.full, 2, "{f}(3, {0})", (s(REAL),), "array"),
        Case(np.full_like, 2, "{f}(np.zeros((2, 3)), {0})", (s(REAL),), "array"),
    ]
    # axes: tuples of axes, keepdims, permutations (higher ranks: tests/test_rank.py)
    cases += [
        Case(kernels.sum_along, 2, "{f}({0}, (1, 0))", (m(REAL),), "array"),
        Case(kernels.sum_along, 3, "{f}({0}, 1, True)", (m(REAL),), "array"),
        Case(kernels.mean_along, 3, "{f}({0}, (0, 1), True)", (m(REAL),), "array"),
        Case(kernels.max_along, 3, "{f}({0}, -1, True)", (m(REAL),), "array"),
        Case(kernels.min_along, 3, "{f}({0}, 0, True)", (m(REAL),), "array"),
        Case(kernels.prod_along, 3, "{f}({0}, None, True)", (m(FACTOR),), "array"),
        Case(np.transpose, 2, "{f}({0}, (1, 0))", (m(REAL),), "array"),
        Case(np.swapaxes, 3, "{f}({0}, 0, 1)", (m(REAL),), "array"),
        Case(np.moveaxis, 3, "{f}({0}, 0, -1)", (m(REAL),), "array"),
        Case(np.squeeze, 2, "{f}({0}, 1)", (m(REAL, (3, 1)),), "array"),
        Case(np.expand_dims, 2, "{f}({0}, 1)", (v(REAL),), "array"),
        Case(np.ravel, 1, "{f}({0})", (m(REAL),), "array"),
    ]
    # arrays built from tuples of floats and arrays
    cases += [
        Case(np.array, 1, "{f}(({0}, {1}, {2}))", (s(REAL), s(REAL), s(REAL)), "array"),
        Case(np.stack, 1, "{f}(({0}, {1}))", (v(REAL), v(REAL)), "array"),
        Case(np.stack, 2, "{f}(({0}, {1}), axis=1)", (v(REAL), v(REAL)), "array"),
        Case(np.vstack, 1, "{f}(({0}, {1}))", (v(REAL), v(REAL)), "array"),
        Case(np.concatenate, 1, "{f}(({0}, {1}))", (v(REAL), v(REAL, 2)), "array"),
        Case(np.concatenate, 2, "{f}(({0}, {1}), axis=1)", (m(REAL), m(REAL, (2, 2))),
             "array"),
        Case(np.hstack, 1, "{f}(({0}, {1}))", (v(REAL), v(REAL, 2)), "array"),
        Case(np.column_stack, 1, "{f}(({0}, {1}))", (v(REAL), v(REAL)), "array"),
    ]
    # ranges with float bounds, away from the bounds where the number of entries changes
    cases += [
        Case(np.linspace, 3, "{f}({0}, {1}, 5)", (s(REAL), s(REAL)), "array"),
        Case(np.linspace, 2, "{f}({0}, {1})", (s(REAL), s(REAL)), "array"),
        Case(np.arange, 1, "{f}({0})", (s(uniform(2.1, 2.9)),), "array"),
        Case(np.arange, 2, "{f}({0}, {1})", (s(uniform(-1.0, 1.0)), s(uniform(2.0, 4.0))),
             "array", whole_count(1.0)),
        Case(np.arange, 3, "{f}({0}, {1}, {2})", (s(uniform(-1.0, 1.0)), s(uniform(2.0, 4.0)),
                                                   s(uniform(0.4, 0.9))), "array",
             whole_count()),
    ]
    # the helpers of forward-mode code: a tangent stored, or spread over a shape (the second
    # argument is read for its dtype or shape only)
    cases += [
        Case(kernels.stored_tangent, 2, "{f}({0}, np.zeros(3))", (v(REAL),), "array"),
        Case(kernels.fresh_tangent, 2, "{f}({0}, np.zeros((2, 3)))", (v(REAL),), "array"),
        Case(kernels.broadcast_tangent, 2, "{f}({0}, np.zeros((2, 3)))", (s(REAL),),
             "array"),
    ]
    # the helpers of reverse-mode code (a loss that calls a gradient): the array read only
    # for its shape is a literal
    cases += [
        Case(kernels.unbroadcast, 2, "{f}({0}, np.zeros(3))", (m(REAL),), "array"),
        Case(kernels.reduce_adjoint, 3, "{f}({0}, np.zeros((2, 3)), 1)", (v(REAL, 2),),
             "array"),
        Case(kernels.reduce_adjoint, 4, "{f}({0}, np.zeros((2, 3)), 0, {1})",
             (v(REAL), m(REAL)), "array"),
        Case(kernels.reduce_to, 3, "{f}({0}, np.zeros(2), 1)", (m(REAL),), "array"),
        Case(kernels.matmul_left, 3, "{f}({0}, np.zeros((2, 3)), {1})",
             (m(REAL, (2, 4)), m(REAL, (3, 4))), "array"),
        Case(kernels.matmul_right, 3, "{f}({0}, {1}, np.zeros((3, 4)))",
             (m(REAL, (2, 4)), m(REAL, (2, 3))), "array"),
        Case(kernels.untranspose, 2, "{f}({0}, (1, 2, 0))", (Arg(REAL, (2, 3, 4)),), "array"),
        Case(kernels.fresh_copy, 1, "{f}({0})", (v(REAL),), "array"),
    ]
    # copies kept for the backward sweep
    cases.append(Case(kernels.snapshot, 1, "{f}({0})", (s(REAL),), "scalar"))
    vector_case(Case(kernels.snapshot, 1, "{f}({0})", (v(REAL),), "vector"))
    return cases


CASES = _build_cases()


def _extensions() -> list:
    """Cases of other rule modules, kept in files of their own (``tests/audit_<area>.py``).

    Each defines ``cases(audit)``, called with this module, returning its ``Case`` list
    (built with this module's helpers: ``audit.Case``, ``audit.v``, ...), and optionally
    ``nondiff(audit)``, returning entries for ``NONDIFF``.  It may bind more modules for the
    generated functions and the oracle (``audit.bind("sp", scipy.special)``)."""
    here = Path(__file__).parent
    loaded = []
    for path in sorted(here.glob("audit_*.py")):
        spec = importlib.util.spec_from_file_location(f"_adc_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        CASES.extend(module.cases(sys.modules[__name__]))
        loaded.append(module)
    return loaded


def bind(name: str, module: Any) -> None:
    """Make ``module`` importable as ``name`` in the generated functions and the oracle, and
    a prefix ``spell`` tries (``sp.expit``)."""
    global HEADER
    NAMESPACE[name] = module
    HEADER += f"import {module.__name__} as {name}\n"
    _SPELLINGS.clear()


_EXTENSIONS = _extensions()


# -- generated functions ------------------------------------------------------------------------

@dataclass
class Batch:
    """One generated function: the sum of its cases' terms over disjoint parameters."""

    name: str
    cases: list[Case]
    params: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.params = [[f"c{k}_{i}" for i in range(len(c.args))] for k, c in
                       enumerate(self.cases)]

    def term(self, k: int) -> str:
        case = self.cases[k]
        inner = case.expr.format(*self.params[k])
        if case.group == "array":
            return f"np.sum(np.sin({inner}))" if _result_ndim(case) else f"np.sin({inner})"
        if case.group == "vector":
            return f"np.sum(1.7 * ({inner}))"
        return f"1.7 * ({inner})"

    def source(self) -> str:
        flat = [p for ps in self.params for p in ps]
        body = [f"    s{k} = {self.term(k)}" for k in range(len(self.cases))]
        total = " + ".join(f"s{k}" for k in range(len(self.cases)))
        return (f"{HEADER}\n\ndef {self.name}({', '.join(flat)}):\n" + "\n".join(body)
                + f"\n    return {total}\n")

    def wrt(self) -> tuple[int, ...]:
        positions = []
        flat = 0
        for case in self.cases:
            for arg in case.args:
                if arg.diff:
                    positions.append(flat)
                flat += 1
        return tuple(positions)


def _result_ndim(case: Case) -> int:
    """The number of dimensions of the primitive's result (by NumPy, at a sample point)."""
    params = [f"p{i}" for i in range(len(case.args))]
    func = eval(f"lambda {', '.join(params)}: {case.expr.format(*params)}",  # noqa: S307
                dict(NAMESPACE))
    return np.ndim(func(*_sample(case, np.random.default_rng(0))))


def _load(directory, name: str, source: str):
    path = directory / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return getattr(module, name)


def _sample(case: Case, rng: np.random.Generator) -> list[Any]:
    for _ in range(1000):
        values = []
        for arg in case.args:
            x = arg.sampler(rng, () if arg.shape is None else arg.shape)
            values.append(float(x) if arg.shape is None else np.asarray(x))
        if case.valid is None or case.valid(*values):
            return values
    raise AssertionError(f"no valid point for {case.label}")  # pragma: no cover


def _oracle(case: Case) -> Callable[..., float]:
    """The case's term as plain Python: what the finite differences evaluate."""
    batch = Batch("oracle", [case])
    params = ", ".join(batch.params[0])
    return eval(f"lambda {params}: {batch.term(0)}", dict(NAMESPACE))  # noqa: S307


def _central_difference(term: Callable[..., float], values: list[Any], i: int) -> Any:
    x = values[i]
    if np.ndim(x) == 0:
        h = STEP * max(1.0, abs(x))
        hi, lo = list(values), list(values)
        hi[i], lo[i] = x + h, x - h
        return (term(*hi) - term(*lo)) / ((x + h) - (x - h))
    out = np.empty(np.shape(x))
    for index in np.ndindex(np.shape(x)):
        h = STEP * max(1.0, abs(x[index]))
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        hi, lo = list(values), list(values)
        hi[i], lo[i] = up, down
        out[index] = (term(*hi) - term(*lo)) / (up[index] - down[index])
    return out


def _compare(case: Case, values: list[Any], grads: list[Any]) -> list[str]:
    """Mismatches between adcompile's gradient of one term and central differences."""
    problems = []
    term = _oracle(case)
    diff_positions = [i for i, a in enumerate(case.args) if a.diff]
    for i, got in zip(diff_positions, grads, strict=True):
        want = _central_difference(term, values, i)
        point = ", ".join(np.array2string(np.asarray(x), precision=6) for x in values)
        if np.shape(got) != np.shape(want) or (np.ndim(want) == 0) != isinstance(got, float):
            problems.append(f"{case.label} at ({point}): d/d arg {i} is {got!r}, expected "
                            f"a {'float' if np.ndim(want) == 0 else np.shape(want)}")
            continue
        got_a, want_a = np.asarray(got, dtype=float), np.asarray(want)
        bad = ~(np.abs(got_a - want_a) <= ATOL + RTOL * np.abs(want_a))
        if bad.any():
            problems.append(f"{case.label} at ({point}): d/d arg {i} is {got_a.tolist()}, "
                            f"finite difference {want_a.tolist()}")
    return problems


_RESULTS: dict[tuple[str, int], dict[str, list[str]]] = {}


def _run(directory, name: str, cases: list[Case]) -> dict[str, list[str]]:
    """Compile one batch and compare every case at ``POINTS`` points: problems by label."""
    batch = Batch(name, cases)
    func = _load(directory, name, batch.source())
    dfunc = adc.grad(func, wrt=batch.wrt())
    out: dict[str, list[str]] = {c.label: [] for c in cases}
    rngs = [np.random.default_rng(zlib.crc32(c.label.encode())) for c in cases]
    for _ in range(POINTS):
        points = [_sample(c, rng) for c, rng in zip(cases, rngs, strict=True)]
        grads = iter(dfunc(*[x for p in points for x in p]))
        for case, values in zip(cases, points, strict=True):
            mine = [next(grads) for a in case.args if a.diff]
            out[case.label] += _compare(case, values, mine)
    return out


def _run_or_split(directory, name: str, cases: list[Case]) -> dict[str, list[str]]:
    """``_run``; when the batch fails to generate or compile, its halves, down to the cases
    that fail alone, so each error is pinned on its primitive.  A batch that fails does so in
    Numba's typing, before the costly machine-code generation, so the splits cost little."""
    try:
        return _run(directory, name, cases)
    except Exception as exc:  # noqa: BLE001 - reported per case
        if len(cases) == 1:
            return {cases[0].label: [f"{cases[0].label}: {type(exc).__name__}: {exc}"]}
    half = len(cases) // 2
    return {**_run_or_split(directory, f"{name}_0", cases[:half]),
            **_run_or_split(directory, f"{name}_1", cases[half:])}


#: cases compiled together: Numba's time grows faster than the size of a function
BATCH = 16


def _group_results(group: str, directory, label: str) -> dict[str, list[str]]:
    """The problems of the cases of ``group`` in the batch of the case ``label``, from one
    compilation (cached)."""
    cases = [c for c in CASES if c.group == group]
    k = next(i for i, c in enumerate(cases) if c.label == label) // BATCH
    if (group, k) not in _RESULTS:
        _RESULTS[group, k] = _run_or_split(directory, f"audit_{group}_{k}",
                                           cases[k * BATCH:(k + 1) * BATCH])
    return _RESULTS[group, k]


@pytest.fixture(scope="module")
def audit_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("audit")


# -- the rule audit -----------------------------------------------------------------------------

def _key(primal: Any, nargs: int) -> tuple[int, int]:
    return (id(primal), nargs)


def _describe(rule: rules.Rule) -> str:
    return f"{spell(rule.primal) or rule.primal!r} with {rule.nargs} argument(s)"


def library_rules() -> dict[tuple[int, int], rules.Rule]:
    """The rules the library registers (user rules of other test modules left out)."""
    return {key: rule for key, rule in rules._RULES.items()
            if rule.template.__module__.startswith("adcompile.")}


def test_every_rule_has_an_audit_case():
    """A registered rule without a case here fails: add a Case (call form and domain)."""
    covered = {_key(c.primal, c.nargs) for c in CASES}
    missing = [_describe(rule) for key, rule in library_rules().items() if key not in covered]
    assert not missing, f"rules without an audit case (add them to tests/test_audit.py): {missing}"


def test_every_case_calls_its_rule():
    """Each case's form calls its primitive with the arity of the rule it audits, and that
    rule is registered (a case for a rule that was removed is stale)."""
    registered = library_rules()
    for case in CASES:
        assert _key(case.primal, case.nargs) in registered, f"no rule for {case.label}"
        tree = ast.parse(case.expr.format(*(f"p{i}" for i in range(len(case.args)))),
                         mode="eval")
        if case.primal in OPERATOR_SYNTAX:
            op_type = OPERATOR_SYNTAX[case.primal][0]
            found = [n for n in ast.walk(tree) if isinstance(getattr(n, "op", None), op_type)]
        else:
            found = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and ast.unparse(n.func) == spell(case.primal)
                     and len(n.args) + len(n.keywords) == case.nargs]
        assert found, f"{case.label} does not call {spell(case.primal)} with {case.nargs} args"


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_rule_matches_central_differences(case, audit_dir):
    problems = _group_results(case.group, audit_dir, case.label)[case.label]
    assert not problems, "\n".join(problems)


# -- the nondifferentiable declarations ---------------------------------------------------------

@dataclass(frozen=True)
class Flat:
    """A declaration to audit: a call form, its arguments, and how results are compared."""

    form: str
    args: tuple[Arg, ...]
    #: "value": results must be equal; "shape": only shape and dtype (np.empty's values are
    #: whatever the memory held)
    compare: str = "value"


def _int_arg(value: int) -> Arg:
    return Arg(lambda rng, shape: value, None, diff=False)


#: Each declared primitive and how to call it.  Arguments with ``diff=True`` are the floats the
#: result must not depend on (smoothly); the others are passed as they are.
NONDIFF: dict[Any, list[Flat]] = {
    math.floor: [Flat("{f}({0})", (s(WIDE),))],
    math.ceil: [Flat("{f}({0})", (s(WIDE),))],
    math.trunc: [Flat("{f}({0})", (s(WIDE),))],
    round: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0}, 2)", (s(WIDE),))],
    int: [Flat("{f}({0})", (s(WIDE),))],
    np.floor: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    np.ceil: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    np.trunc: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    np.round: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    np.rint: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    np.sign: [Flat("{f}({0})", (s(WIDE),)), Flat("{f}({0})", (v(WIDE),))],
    len: [Flat("{f}({0})", (v(REAL),))],
    math.isnan: [Flat("{f}({0})", (s(WIDE),))],
    math.isinf: [Flat("{f}({0})", (s(WIDE),))],
    math.isfinite: [Flat("{f}({0})", (s(WIDE),))],
    np.isnan: [Flat("{f}({0})", (v(WIDE),))],
    np.isinf: [Flat("{f}({0})", (v(WIDE),))],
    np.isfinite: [Flat("{f}({0})", (v(WIDE),))],
    np.zeros: [Flat("{f}({0})", (_int_arg(3),)), Flat("{f}((2, 3))", ())],
    np.ones: [Flat("{f}({0})", (_int_arg(3),))],
    np.empty: [Flat("{f}({0})", (_int_arg(3),), compare="shape")],
    np.zeros_like: [Flat("{f}({0})", (v(REAL),))],
    np.ones_like: [Flat("{f}({0})", (v(REAL),))],
    np.empty_like: [Flat("{f}({0})", (v(REAL),), compare="shape")],
    np.argmax: [Flat("{f}({0})", (v(REAL, 5),))],
    np.argmin: [Flat("{f}({0})", (v(REAL, 5),))],
    np.shape: [Flat("{f}({0})", (m(REAL),))],
    np.size: [Flat("{f}({0})", (m(REAL),))],
    np.ndim: [Flat("{f}({0})", (m(REAL),))],
    kernels.zeros_like: [Flat("{f}({0})", (v(REAL),)), Flat("{f}({0})", (s(REAL),))],
    kernels.zero_at: [Flat("{f}({0}, (1,))", (v(REAL),))],
    kernels.int_array: [Flat("{f}((2, 3), {0})", (s(WIDE),))],
    kernels.same_length: [Flat("{f}(3, 3)", ())],
    kernels.unpacked: [Flat("{f}({0}, 3)", (v(REAL),))],
    kernels.unpacked_along: [Flat("{f}({0}, 3, 1)", (m(REAL),)),
                             Flat("{f}({0}, 2, 0)", (m(REAL),))],
    kernels.raise_error: [Flat("{f}('ValueError', 'message') if {0} > 9.0 else 0", (s(REAL),))],
    kernels.rows_for: [Flat("{f}(3, {0})", (s(WIDE),)), Flat("{f}(2, {0})", (v(WIDE),))],
    kernels.bool_array: [Flat("{f}(3, {0})", (s(WIDE),))],
    kernels.reduced_size: [Flat("{f}({0}, None)", (m(REAL),)), Flat("{f}({0}, 1)", (m(REAL),)),
                           Flat("{f}({0}, (0, 1))", (m(REAL),))],
    kernels.unit_seed: [Flat("{f}({0})", (s(REAL),))],
    kernels.ties: [Flat("{f}({0}, np.max({0}), None)", (v(REAL, 5),))],
    operator.floordiv: [Flat("{0} // {1}", (s(WIDE), s(NONZERO)))],
    operator.not_: [Flat("not {0}", (s(REAL),))],
    operator.eq: [Flat("{0} == {1}", (s(REAL), s(REAL)))],
    operator.ne: [Flat("{0} != {1}", (s(REAL), s(REAL)))],
    operator.lt: [Flat("{0} < {1}", (s(REAL), s(REAL)))],
    operator.le: [Flat("{0} <= {1}", (s(REAL), s(REAL)))],
    operator.gt: [Flat("{0} > {1}", (s(REAL), s(REAL)))],
    operator.ge: [Flat("{0} >= {1}", (s(REAL), s(REAL)))],
}

for _extension in _EXTENSIONS:
    NONDIFF.update(getattr(_extension, "nondiff", lambda audit: {})(sys.modules[__name__]))

#: Random points per declaration, and the share of them that may straddle a jump.
FLAT_POINTS = 20
FLAT_STEP = 1e-7
FLAT_ALLOWED = 0.1


def library_declarations() -> list[Any]:
    """The library's nondifferentiable declarations: those of functions user code reaches as
    ``math.*``, ``np.*``, builtins and operators (user declarations of test modules left out)."""
    return [p for p in rules._NONDIFF.values() if spell(p) or p in OPERATOR_SYNTAX]


def _nondiff_name(primal: Any) -> str:
    return spell(primal) or f"operator.{primal.__name__}"


def test_every_nondifferentiable_declaration_has_an_audit_entry():
    missing = [_nondiff_name(p) for p in library_declarations() if p not in NONDIFF]
    assert not missing, ("nondifferentiable declarations without an audit entry (add them "
                         f"to NONDIFF in tests/test_audit.py): {missing}")


def _same(a: Any, b: Any, how: str) -> bool:
    if how == "shape":
        return np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def _flat_problems(primal: Any, entry: Flat) -> list[str]:
    """Points where a tiny move of a float argument changes the result."""
    params = [f"p{i}" for i in range(len(entry.args))]
    form = entry.form.replace("{f}", spell(primal))
    expr = form.format(*params)
    func = eval(f"lambda {', '.join(params)}: {expr}", dict(NAMESPACE))  # noqa: S307
    rng = np.random.default_rng(zlib.crc32(expr.encode()))
    problems = []
    moved = 0
    tries = 0
    for _ in range(FLAT_POINTS):
        values = [a.sampler(rng, () if a.shape is None else a.shape) for a in entry.args]
        values = [float(x) if a.shape is None and a.diff else x
                  for a, x in zip(entry.args, values, strict=True)]
        for i, arg in enumerate(entry.args):
            if not arg.diff:
                continue
            x = values[i]
            indices = [()] if arg.shape is None else list(np.ndindex(arg.shape))
            for index in indices:
                tries += 1
                up, down = list(values), list(values)
                if arg.shape is None:
                    h = FLAT_STEP * max(1.0, abs(x))
                    up[i], down[i] = x + h, x - h
                else:
                    h = FLAT_STEP * max(1.0, abs(x[index]))
                    up[i], down[i] = x.copy(), x.copy()
                    up[i][index] += h
                    down[i][index] -= h
                hi, lo = func(*up), func(*down)
                if not _same(hi, lo, entry.compare):
                    moved += 1
                    if len(problems) < 3:
                        problems.append(f"{expr} with p{i}{list(index) if index else ''} = "
                                        f"{float(np.asarray(x)[index])!r} -/+ {h:.1e}: "
                                        f"{lo!r} != {hi!r}")
    if moved > FLAT_ALLOWED * max(tries, 1):
        return [f"{expr} changes under a tiny move of a float argument at {moved} of {tries} "
                "tries; it is not piecewise constant, so declaring it nondifferentiable "
                "drops its derivative:", *problems]
    return []


@pytest.mark.parametrize(("primal", "entry"),
                         [(p, e) for p, es in NONDIFF.items() for e in es],
                         ids=[f"{_nondiff_name(p)}:{e.form}" for p, es in NONDIFF.items()
                              for e in es])
def test_nondifferentiable_declaration_is_piecewise_constant(primal, entry):
    if primal not in library_declarations():
        pytest.fail(f"{_nondiff_name(primal)} is no longer declared nondifferentiable: remove "
                    "its NONDIFF entry (or move it to CASES if it now has a rule)")
    problems = _flat_problems(primal, entry)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("primal", "entry"), [
    (np.linspace, Flat("{f}({0}, {1}, 5)", (s(REAL), s(uniform(2.5, 4.0))))),
    (np.arange, Flat("{f}({0}, {1})", (s(uniform(0.1, 0.9)), s(uniform(3.1, 3.9))))),
    (np.arange, Flat("{f}({0}, {1}, {2})", (s(uniform(0.1, 0.9)), s(uniform(3.1, 3.9)),
                                             s(uniform(0.4, 0.6))))),
    (np.abs, Flat("{f}({0})", (v(NONZERO),))),
    (operator.truediv, Flat("{0} / {1}", (s(REAL), s(NONZERO)))),
], ids=["linspace", "arange_start_stop", "arange_step", "abs", "truediv"])
def test_piecewise_constant_probe_rejects_smooth_functions(primal, entry):
    """The probe has teeth: functions that vary smoothly in a float argument are reported
    (np.linspace and np.arange were once declared nondifferentiable)."""
    problems = _flat_problems(primal, entry)
    assert problems and "not piecewise constant" in problems[0]


def test_no_primitive_is_both_differentiable_and_nondifferentiable():
    """A primitive with a rule and a nondifferentiable declaration is ambiguous."""
    both = [_nondiff_name(p) for p in library_declarations()
            if any(key[0] == id(p) for key in library_rules())]
    assert not both, f"declared nondifferentiable and given a rule: {both}"


def test_table_entries_are_unique():
    labels = [c.label for c in CASES]
    dupes = [k for k, g in itertools.groupby(sorted(labels)) if len(list(g)) > 1]
    assert not dupes, f"duplicate audit cases: {dupes}"
