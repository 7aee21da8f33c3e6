"""Random programs for the differential tester (``tests/test_differential.py``).

``programs()`` is a Hypothesis strategy of :class:`Program`: the source of a module (up to two
scalar helper functions with default arguments, one helper taking an array, and ``f``), the
parameters of ``f`` with their kinds, the points to evaluate at, and the ``wrt`` to
differentiate with respect to.  ``check(program, directory)`` writes the module to
``directory``, imports it, differentiates ``f`` with ``adcompile`` and compares with float64
central finite differences of the plain Python ``f``.  It returns an :class:`Outcome`:
``ok``, ``refused`` (an ``AdcompileError``), ``skipped`` (every point is too close to a kink
for the oracle), ``invalid`` (the plain Python function failed: a generator defect) or
``mismatch`` with a class and a report.

Parameters of ``f`` and what they are passed as:

===========  ===================================================================
``x y z``    floats in ``±[0.3, 1.5]``; some programs pass one as a Python int
``u v``      float64 arrays of shape ``(3,)``
``A``        a float64 array of shape ``(2, 3)``
``n``        an int in ``[-2, 4]`` (trip counts, negative ones included)
``k``        a nonzero int in ``[-2, 3]`` (exponents)
``flag``     a bool, or sometimes ``0``/``1``
``idx``      an int64 array of 3 indices into a vector, duplicates likely
``m``        an int64 data array of shape ``(3,)``
``P``        a tuple ``(float, array of shape (3,))`` (sometimes a list), unpacked or
             indexed, passed whole to a helper that unpacks it
``T``        a float64 array of shape ``(2, 2, 3)`` (``VIEW_KINDS`` only)
``L``        layers ``((W0, b0), (W1, b1), (w, c))``: weights ``(3, 3)``, biases and
             ``w`` of shape ``(3,)``, ``c`` a float; sliced and iterated (``VIEW_KINDS``)
===========  ===================================================================

``VIEW_KINDS`` are snippets of the classes of wrong gradient fixed after the first long
runs: an inner loop's counter read after it in a loop that writes arrays, transposed views
taped in loops, views returned by helpers, augmented assignment to rows, a view of a loop's
carried array made before the loop, slices and loops over a tuple of layers, boolean masks
of one to three axes, and ``dtype=`` int and bool arrays as counters, flags and indices.

``LOOP_KINDS`` are lists, tables and log-space recursions as scientists write them: the list
forms that work (``L = []`` and one ``L.append(e)`` per iteration of a for loop over a range,
or of one inner loop over a range, read whole after it; ``np.array([e for t in it])``), and
the classes fixed after the sweep of tests/test_reach_loops4.py (``[0.0] * n``, ``D[i][j] =
...``, ``np.arange(n, dtype=float)``, ``np.logaddexp`` of two ``-inf``, ``float('inf')``,
``np.array(x)`` of an array).

Every value stays bounded by construction: each expression carries an upper bound of its
absolute value, and anything that may exceed ``CAP`` is squashed through ``tanh``.  Bases of
negative or variable powers are parameters (``|x| >= 0.3``) or ``(1.5 + e * e)``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import math
import pathlib
import sys
import traceback

import numpy as np
from hypothesis import strategies as st

import adcompile as adc

HEADER = "import itertools\nimport math\n\nimport numpy as np\n"
#: Values whose bound exceeds this are squashed through tanh before further use.
CAP = 6.0
FLOATS = ("x", "y", "z")
VECTORS = ("u", "v")
KINDS = {"x": "float", "y": "float", "z": "float", "u": "vec", "v": "vec", "A": "mat",
         "n": "count", "k": "power", "flag": "bool", "idx": "index", "m": "intvec",
         "P": "pair", "T": "ten", "L": "layers"}
#: Parameters that may be differentiated with respect to.
DIFFERENTIABLE = ("x", "y", "z", "u", "v", "A", "P", "T", "L")
#: Ranges of loops, simplest first; ``n`` is in [-2, 4], so every range has at most 5 trips.
RANGES = ["range(3)", "range(1, 4)", "range(3, 0, -1)", "range(4, -1, -2)", "range(2, 2)",
          "range(n)", "range(n, 3)", "range(3, n, -1)", "range(-1, n)", "range(0, n, 2)",
          "range(1, n + 1)"]
MAX_TRIPS = 5
LITERALS = [("0.5", 0.5), ("2", 2.0), ("-1.25", 1.25), ("3", 3.0), ("-1", 1.0), ("1.5", 1.5)]
UNARY = ["math.tanh", "np.sin", "math.cos", "np.tanh", "math.sin", "math.atan", "np.arctan"]
VEC_UNARY = ["np.sin", "np.tanh", "np.cos", "np.arctan"]


@dataclasses.dataclass
class Program:
    """A generated module, the parameters of its ``f``, the points and the ``wrt``."""

    source: str
    params: list[str]
    points: list[tuple]
    wrt: object
    features: frozenset = frozenset()
    both: bool = True

    def wrt_names(self):
        wrt = self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)
        return [self.params[w] if isinstance(w, int) else w for w in wrt]

    def __repr__(self):
        points = "\n".join(f"    {_show(p)}" for p in self.points)
        return (f"Program(wrt={self.wrt!r}, features={sorted(self.features)})\n"
                f"points:\n{points}\n--- source ---\n{self.source}")


def _show(point):
    return "(" + ", ".join(repr(a.tolist()) if isinstance(a, np.ndarray) else repr(a)
                           for a in point) + ")"


def squash(src, bound, fn="math.tanh"):
    """``(src, bound)``, wrapped in ``fn`` (``np.tanh`` for arrays) when the bound exceeds
    ``CAP``."""
    if bound <= CAP:
        return src, bound
    return f"{fn}({src})", 1.0


class Writer:
    """Draws expressions and statements of a function body, tracking names and bounds."""

    def __init__(self, draw, scalars, helpers=(), vector_helpers=(), params=True):
        self.draw = draw
        self.lines: list[str] = []
        self.scalars = dict(scalars)  # local scalar name -> bound
        self.vectors: dict[str, float] = {}  # local (3,) array name -> elementwise bound
        self.matrices: dict[str, float] = {}  # local (2, 3) array name -> elementwise bound
        self.helpers = list(helpers)
        self.vector_helpers = list(vector_helpers)
        self.params = params
        self.used: set[str] = set()
        self.features: set[str] = set()
        self.fresh = itertools.count(1)
        self.pair_helper = False  # the body calls pair_helper (see pair)
        #: expressions the function may return on their own (a stored sum, a repeated load):
        #: the returned value is then also a value the reversal's shortcuts consume
        self.bare_results: list[str] = []
        #: module-level helpers the body calls (``VIEW_HELPERS``: helpers returning views)
        self.module_helpers: set[str] = set()

    # -- drawing helpers --------------------------------------------------------------------

    def choice(self, options):
        return self.draw(st.sampled_from(options))

    def flip(self):
        return self.draw(st.booleans())

    def param(self, name):
        self.used.add(name)
        return name

    def emit(self, indent, text):
        self.lines.append("    " * indent + text)

    def emit_lines(self, indent, text):
        """``text``, lines indented by multiples of four spaces, at ``indent``."""
        for line in text.split("\n"):
            depth = (len(line) - len(line.lstrip(" "))) // 4
            self.emit(indent + depth, line.strip())

    def name(self, prefix):
        return f"{prefix}{next(self.fresh)}"

    # -- scalars ----------------------------------------------------------------------------

    def scalar_atom(self):
        kinds = (["param"] if self.params else []) + (["local"] if self.scalars else [])
        kinds += ["literal"]
        kind = self.choice(kinds)
        if kind == "param":
            return self.param(self.choice(FLOATS)), 1.5
        if kind == "local":
            name = self.choice(sorted(self.scalars))
            return name, self.scalars[name]
        src, bound = self.choice(LITERALS)
        if src.startswith("-"):
            src = f"({src})"
        return src, bound

    def positive(self, depth, sign=False):
        """A base bounded away from zero: a float parameter or ``(1.5 + e * e)``; with
        ``sign``, also positive (``abs(x)``: a negative base to a fractional power is a
        complex number in Python)."""
        if self.params and self.flip():
            x = self.param(self.choice(FLOATS))
            return (f"abs({x})" if sign else x), 1.5, 0.3
        e, b = self.scalar(depth)
        return f"(1.5 + ({e}) * ({e}))", 1.5 + b * b, 1.5

    def int_scalar(self):
        """An int-valued expression (``n``, ``k``, ``len(u)``, an element of ``m``...)."""
        options = ["2"]
        if self.params:
            options += ["n", "k", "flag", "len(u)", "m[1]", "(n + 1)", "u.shape[0]",
                        "np.sum(m)"]
        src = self.choice(options)
        for p in ("n", "k", "flag", "u", "m"):
            if p in src.replace("np.sum", ""):
                self.used.add(p)
        self.features.add("int-operand")
        return src, {"np.sum(m)": 9.0, "(n + 1)": 5.0}.get(src, 4.0)

    def scalar(self, depth):
        """``(src, bound)`` of a float expression."""
        draw = self.draw
        if depth <= 0 or draw(st.integers(0, 3)) == 0:
            return self.scalar_atom()
        kinds = ["add", "mul", "unary", "sub", "int", "power", "ifexp", "tuple", "abs"]
        if self.params:
            kinds += ["reduce", "element", "reduce"]
        if self.helpers or self.vector_helpers:
            kinds += ["call", "call"]
        kind = self.choice(kinds)
        if kind in ("add", "sub", "mul"):
            (a, ba), (b, bb) = self.scalar(depth - 1), self.scalar(depth - 1)
            op = {"add": "+", "sub": "-", "mul": "*"}[kind]
            bound = ba * bb if kind == "mul" else ba + bb
            return squash(f"({a} {op} {b})", bound)
        if kind == "unary":
            a, ba = self.scalar(depth - 1)
            fn = self.choice(UNARY + ["exp"])
            if fn == "exp":
                return squash(f"math.exp(math.tanh({a}))", math.e)
            return f"{fn}({a})", 1.6
        if kind == "abs":
            a, ba = self.scalar(depth - 1)
            self.features.add("abs")
            return f"{self.choice(['abs', 'math.fabs', 'np.abs'])}({a})", ba
        if kind == "int":
            a, ba = self.scalar(depth - 1)
            i, bi = self.int_scalar()
            return squash(f"({a} * {i})" if self.flip() else f"({i} * {a})", ba * bi)
        if kind == "power":
            return self.power(depth)
        if kind == "ifexp":
            (a, ba), (b, bb) = self.scalar(depth - 1), self.scalar(depth - 1)
            self.features.add("ifexp")
            return f"({a} if {self.condition()} else {b})", max(ba, bb)
        if kind == "tuple":
            return self.tuple_call(depth)
        if kind == "reduce":
            return self.reduction(depth)
        if kind == "element":
            return self.element(depth)
        return self.call(depth)

    def power(self, depth):
        self.features.add("power")
        forms = ["square", "cube", "zero", "neg_literal", "float_exp"]
        if self.params:
            forms += ["neg_param", "two_neg_k", "inv_k", "pos_k", "pos_n"]
        form = self.choice(forms)
        if form in ("square", "cube", "zero"):
            a, ba = self.scalar(depth - 1)
            e = {"square": 2, "cube": 3, "zero": 0}[form]
            return squash(f"({a}) ** {e}", ba ** e)
        if form == "neg_literal":
            base, bb, low = self.positive(depth - 1)
            e = self.choice([-2, -1, -3])
            return squash(f"{base} ** {e}", low ** e)
        if form == "neg_param":
            x = self.param(self.choice(FLOATS))
            return squash(f"{x} ** {self.choice([-2, -1])}", 0.3 ** -2)
        if form == "two_neg_k":
            a, ba = self.scalar(depth - 1)
            self.used.add("k")
            return squash(f"(2 ** -k * {a})", 4.0 * ba)
        if form == "inv_k":
            a, ba = self.scalar(depth - 1)
            self.used.add("k")
            return f"({a} * k ** -1)", ba
        if form in ("pos_k", "pos_n"):
            base, bb, low = self.positive(depth - 1)
            p = self.param(form[-1])
            top = max(bb ** 4, low ** -2)
            return squash(f"{base} ** {p}", top)
        base, bb, low = self.positive(depth - 1, sign=True)
        e = self.choice(["0.5", "-0.5", "1.5"])
        return squash(f"{base} ** {e}", max(bb ** 1.5, low ** -0.5))

    def tuple_call(self, depth):
        self.features.add("tuple-call")
        (a, ba), (b, bb) = self.scalar(depth - 1), self.scalar(depth - 1)
        # math.fsum is rarer: Numba has no implementation of it, so it is always refused
        form = self.choice(["max2", "min3", "array", "max_builtin"] * 3 + ["fsum"])
        if form == "max2":
            return squash(f"max(({a}, 2 * {a}))", 2 * ba)
        if form == "min3":
            return f"min(({a}, {b}, 0.5))", max(ba, bb, 0.5)
        if form == "fsum":
            return squash(f"math.fsum(({a}, {b}))", ba + bb)
        if form == "array":
            return squash(f"np.sum(np.array(({a}, {b})) * np.array((1.5, -1)))", 1.5 * ba + bb)
        return f"max({a}, {b})", max(ba, bb)

    def condition(self):
        """A comparison on floats, or a test of ``flag``/``n``/``k`` (no kink at all)."""
        kinds = ["compare"] + (["flag", "count", "compare_param", "and"] if self.params else [])
        kind = self.choice(kinds)
        if kind == "compare":
            a, _ = self.scalar(1)
            return f"{a} {self.choice(['>', '<', '>=', '<='])} {self.choice(['0.2', '-0.4', '1'])}"
        if kind == "compare_param":
            x = self.param(self.choice(FLOATS))
            return f"{x} > {self.choice(['0', '0.5', '-0.5'])}"
        if kind == "flag":
            self.used.add("flag")
            return self.choice(["flag", "not flag"])
        if kind == "count":
            p = self.param(self.choice(["n", "k"]))
            return f"{p} {self.choice(['>', '<', '=='])} {self.choice(['1', '0', '2'])}"
        self.used.add("flag")
        return f"flag and {self.condition()}"

    def call(self, depth):
        self.features.add("call")
        options = [("s", h) for h in self.helpers] + [("v", h) for h in self.vector_helpers]
        kind, name = self.choice(options)
        if kind == "v":
            v, _ = self.vector(depth - 1)
            if self.flip():
                return f"{name}({v})", 4.5
            a, _ = self.scalar(depth - 1)
            return f"{name}({v}, {a})", 4.5
        (a, _), (b, _) = self.scalar(depth - 1), self.scalar(depth - 1)
        style = self.choice(["default", "positional", "keyword", "swapped"])
        return {"default": f"{name}({a})", "positional": f"{name}({a}, {b})",
                "keyword": f"{name}({a}, q={b})", "swapped": f"{name}(q={b}, p={a})"}[style], CAP

    def reduction(self, depth):
        form = self.choice(["sum_vec", "dot", "matmul", "mean_mat", "max_vec", "linspace",
                            "sum_mat_vec", "index_dup", "int_data", "prod"])
        self.features.add("array")
        if form == "sum_vec":
            v, b = self.vector(depth - 1)
            return squash(f"np.sum({v})", 3 * b)
        if form == "dot":
            (v, bv), (w, bw) = self.vector(depth - 1), self.vector(depth - 1)
            spelled = self.choice([f"np.dot({v}, {w})", f"({v}) @ ({w})"])
            return squash(spelled, 3 * bv * bw)
        if form == "matmul":
            (a, ba), (v, bv) = self.matrix(depth - 1), self.vector(depth - 1)
            return squash(f"np.sum(({a}) @ ({v}))", 6 * ba * bv)
        if form == "mean_mat":
            a, ba = self.matrix(depth - 1)
            return f"np.mean({a})", ba
        if form == "max_vec":
            v, b = self.vector(depth - 1)
            return f"{self.choice(['np.max', 'np.min'])}({v})", b
        if form == "linspace":
            a, ba = self.scalar(depth - 1)
            self.features.add("linspace")
            return squash(f"np.sum(np.sin(np.linspace(0.0, {a}, 5)))", 5.0)
        if form == "sum_mat_vec":
            a, ba = self.matrix(depth - 1)
            return squash(f"np.sum({a}, axis=0) @ {self.param(self.choice(VECTORS))}", 6 * ba)
        if form == "index_dup":
            v, b = self.vector(depth - 1)
            self.used.add("idx")
            self.features.add("int-index")
            return squash(f"np.sum(({v})[idx] * {self.param(self.choice(VECTORS))})", 4.5 * b)
        if form == "prod":
            # a parameter vector may hold exact zeros (see ``argument``)
            self.features.add("prod")
            v = self.param(self.choice(VECTORS))
            return self.choice([f"np.prod({v})", f"{v}.prod()"]), 1.5 ** 3
        v, b = self.vector(depth - 1)
        self.used.add("m")
        self.features.add("int-array")
        return squash(f"np.sum(m * {v})", 9 * b)

    def element(self, depth):
        self.features.add("array")
        if self.flip():
            v, b = self.vector(depth - 1)
            return f"({v})[{self.choice(['0', '2', '-1', '1'])}]", b
        a, b = self.matrix(depth - 1)
        return f"({a})[{self.choice(['0, 1', '1, 2', '1, 0', '-1, -1'])}]", b

    # -- arrays -----------------------------------------------------------------------------

    def vector(self, depth):
        """``(src, elementwise bound)`` of a float64 array of shape ``(3,)``."""
        draw = self.draw
        if depth <= 0 or draw(st.integers(0, 2)) == 0:
            names = [(v, 1.5) for v in VECTORS] + sorted(self.vectors.items())
            name, bound = self.choice(names)
            if name in VECTORS:
                self.used.add(name)
            return name, bound
        kind = self.choice(["scale", "add", "unary", "row", "array", "arange", "index",
                            "int_data", "concat", "where", "square", "axis", "maximum"])
        if kind == "scale":
            (v, bv), (a, ba) = self.vector(depth - 1), self.scalar(depth - 1)
            return squash(f"({v}) * {a}" if self.flip() else f"{a} * ({v})", bv * ba, "np.tanh")
        if kind == "add":
            (v, bv), (w, bw) = self.vector(depth - 1), self.vector(depth - 1)
            return f"({v} {self.choice(['+', '-'])} {w})", bv + bw
        if kind == "unary":
            v, _ = self.vector(depth - 1)
            return f"{self.choice(VEC_UNARY)}({v})", 1.6
        if kind == "square":
            v, b = self.vector(depth - 1)
            return squash(f"({v}) ** 2", b * b, "np.tanh")
        if kind == "maximum":
            v, b = self.vector(depth - 1)
            return f"{self.choice(['np.maximum', 'np.minimum'])}({v}, 0.25)", max(b, 0.25)
        if kind == "row":
            a, b = self.matrix(depth - 1)
            return f"({a})[{self.choice(['0', '1'])}]", b
        if kind == "axis":
            a, b = self.matrix(depth - 1)
            return f"np.sum({a}, axis=0)", 2 * b
        if kind == "array":
            self.features.add("tuple-call")
            parts = [self.scalar(depth - 1) for _ in range(2)]
            third = self.choice([("1", 1.0), ("0.5", 0.5)] + parts)
            parts.append(third)
            return (f"np.array(({', '.join(p for p, _ in parts)}))",
                    max(b for _, b in parts))
        if kind == "arange":
            a, b = self.scalar(depth - 1)
            self.features.add("arange")
            return f"np.arange({a}, {a} + 2.5)", b + 2.0
        if kind == "index":
            v, b = self.vector(depth - 1)
            self.used.add("idx")
            self.features.add("int-index")
            return f"({v})[idx]", b
        if kind == "int_data":
            a, b = self.scalar(depth - 1)
            self.used.add("m")
            self.features.add("int-array")
            return squash(f"m * {a}", 3 * b, "np.tanh")
        if kind == "where":
            (v, bv), (w, bw) = self.vector(depth - 1), self.vector(depth - 1)
            return f"np.where({v} > 0.1, {v}, {w})", max(bv, bw)
        self.features.add("tuple-call")
        (v, bv), (w, bw) = self.vector(depth - 1), self.vector(depth - 1)
        form = self.choice([f"np.concatenate((({v})[0:1], ({w})[1:]))",
                            f"np.hstack((({v})[:2], ({w})[2:]))",
                            f"np.concatenate((({w})[1:], ({v})[:1]))"])
        return form, max(bv, bw)

    def matrix(self, depth):
        """``(src, elementwise bound)`` of a float64 array of shape ``(2, 3)``."""
        draw = self.draw
        if depth <= 0 or draw(st.integers(0, 2)) == 0:
            names = [("A", 1.5)] + sorted(self.matrices.items())
            name, bound = self.choice(names)
            if name == "A":
                self.used.add("A")
            return name, bound
        kind = self.choice(["scale", "stack", "unary", "broadcast", "outer"])
        if kind == "scale":
            (a, ba), (s, bs) = self.matrix(depth - 1), self.scalar(depth - 1)
            return squash(f"({a}) * {s}", ba * bs, "np.tanh")
        if kind == "unary":
            a, _ = self.matrix(depth - 1)
            return f"{self.choice(VEC_UNARY)}({a})", 1.6
        if kind == "broadcast":
            (a, ba), (v, bv) = self.matrix(depth - 1), self.vector(depth - 1)
            return f"({a} + {v})", ba + bv
        if kind == "outer":
            (s, bs), (t, bt) = self.scalar(depth - 1), self.scalar(depth - 1)
            v, bv = self.vector(depth - 1)
            self.features.add("tuple-call")
            return squash(f"np.outer(np.array(({s}, {t})), {v})", max(bs, bt) * bv, "np.tanh")
        self.features.add("tuple-call")
        self.features.add("stack")
        (v, bv), (w, bw) = self.vector(depth - 1), self.vector(depth - 1)
        form = self.choice([f"np.stack(({v}, {w}))", f"np.vstack(({v}, {w}))",
                            f"np.column_stack(({v}, {w})).T"])
        return form, max(bv, bw)

    # -- statements -------------------------------------------------------------------------

    def statements(self, indent, count, kinds):
        for _ in range(count):
            self.statement(indent, self.choice(kinds))

    def statement(self, indent, kind):
        """One snippet at ``indent``; defines new locals at that level."""
        if kind == "scalar":
            name = self.name("s")
            src, bound = self.scalar(2)
            self.emit(indent, f"{name} = {src}")
            self.scalars[name] = bound
        elif kind == "update" and self.scalars:
            name = self.choice(sorted(self.scalars))
            op = self.choice(["+", "*", "-"])
            src, bound = self.scalar(2)
            total = self.scalars[name] * bound if op == "*" else self.scalars[name] + bound
            src, total = squash(f"{name} {op} {src}", total)
            self.emit(indent, f"{name} = {src}")
            self.scalars[name] = total
            self.features.add("reassign")
        elif kind == "vector":
            name = self.name("w")
            src, bound = self.vector(2)
            self.emit(indent, f"{name} = {src}")
            self.vectors[name] = bound
        elif kind == "matrix":
            name = self.name("M")
            src, bound = self.matrix(1)
            self.emit(indent, f"{name} = {src}")
            self.matrices[name] = bound
        elif kind == "accumulate":
            self.accumulate(indent)
        elif kind == "while":
            self.while_loop(indent)
        elif kind == "nested":
            self.nested(indent)
        elif kind == "branch":
            self.branch(indent)
        elif kind == "store":
            self.store(indent)
        elif kind == "view":
            self.view_write(indent)
        elif kind == "carried":
            self.carried(indent)
        elif kind == "pair":
            self.pair(indent)
        elif kind in VIEW_KINDS or kind in LOOP_KINDS:
            getattr(self, kind)(indent)
        else:
            self.statement(indent, "scalar")

    def some_range(self, *fixed):
        """One of the ranges ``fixed``, or one drawn by :meth:`loop_range`."""
        rng = self.choice([*fixed, "drawn"])
        return self.loop_range() if rng == "drawn" else rng

    def loop_range(self):
        rng = self.choice(RANGES if self.params else RANGES[:5])
        if "n" in rng:
            self.used.add("n")
            self.features.add("range-n")
        return rng

    def accumulate(self, indent):
        """``r = 1`` or ``r = 0`` (int literals), then ``r = r * a`` / ``r = r + ...`` in a
        ``for`` loop."""
        self.features.add("loop")
        name = self.name("r")
        i = self.name("i")
        op = self.choice(["*", "+"])
        init = self.choice(["1", "0", "1.0", "0.0"] if op == "+" else ["1", "1.0", "2"])
        if init in ("1", "0", "2"):
            self.features.add("int-init")
        self.emit(indent, f"{name} = {init}")
        self.emit(indent, f"for {i} in {self.loop_range()}:")
        if op == "*":
            a, ba = self.factor()
            self.emit(indent + 1, f"{name} = {name} * {a}")
            bound = float(init) * ba ** MAX_TRIPS
        else:
            term = self.choice(["plain", "index", "element", "tanh"])
            if term == "plain" or not self.params:
                a, ba = self.scalar(2)
                src = f"{a} * {i}" if self.flip() else a
                ba *= 4.0
            elif term == "index":
                v, bv = self.vector(1)
                a, ba = self.scalar(1)
                src, ba = f"({v})[{i} % 3] * {a}", bv * ba
            elif term == "element":
                self.used.add("A")
                a, ba = self.scalar(1)
                src, ba = f"A[{i} % 2, {i} % 3] * {a}", 1.5 * ba
            else:
                a, ba = self.scalar(1)
                src, ba = f"math.tanh({a} + {i})", 1.0
            self.emit(indent + 1, f"{name} = {name} + {src}")
            bound = float(init) + MAX_TRIPS * ba
        self.finish(indent, name, bound)

    def factor(self):
        """A loop factor of absolute value at most 1.5."""
        if self.params and self.flip():
            return self.param(self.choice(FLOATS)), 1.5
        a, _ = self.scalar(2)
        return f"(1.0 + 0.5 * math.tanh({a}))", 1.5

    def finish(self, indent, name, bound):
        if bound > CAP:
            self.emit(indent, f"{name} = math.tanh({name})")
            bound = 1.0
        self.scalars[name] = bound

    def while_loop(self, indent):
        self.features.add("while")
        name, j = self.name("r"), self.name("j")
        self.emit(indent, f"{name} = {self.choice(['0', '0.0'])}")
        self.emit(indent, f"{j} = 0")
        limit = self.choice(["3", "4", "2"])
        test = self.choice(["", f" and {name} < 2.0"])
        self.emit(indent, f"while {j} < {limit}{test}:")
        a, ba = self.scalar(2)
        self.emit(indent + 1, f"{name} = {name} + math.tanh({a}) + 0.25 * {j}")
        self.emit(indent + 1, f"{j} += 1")
        self.finish(indent, name, 4 * 1.75)

    def nested(self, indent):
        self.features.add("nested-loop")
        name, i, j = self.name("r"), self.name("i"), self.name("j")
        self.emit(indent, f"{name} = {self.choice(['0', '0.0'])}")
        a, ba = self.matrix(1) if self.params else ("np.ones((2, 3))", 1.0)
        s, bs = self.scalar(1)
        self.emit(indent, f"for {i} in range(2):")
        self.emit(indent + 1, f"for {j} in {self.choice(['range(3)', f'range({i}, 3)'])}:")
        # an element whose index the inner loop does not change (its adjoint is summed in a
        # number: adcompile/sums.py), directly or through a name computed in the loop
        term = self.choice([f"({a})[{i}, {j}]", f"({a})[{i}, {j}] * ({a})[{i}, 0]",
                            f"({a})[{i}, 2 - {j}] * ({a})[1 - {i}, 1]"])
        if "*" in term and self.flip():
            k = self.name("k")
            self.emit(indent + 2, f"{k} = 1 - {i}")
            term = f"({a})[{i}, {j}] * ({a})[{k}, 1]"
        self.emit(indent + 2, f"{name} = {name} + {term} * {s}")
        self.finish(indent, name, 6 * max(ba, 1.0) ** 2 * bs)

    def branch(self, indent):
        self.features.add("branch")
        name = self.name("b")
        arms = [f"if {self.condition()}:"]
        for _ in range(self.draw(st.integers(0, 1))):
            arms.append(f"elif {self.condition()}:")
        if self.flip():
            arms.append("else:")
        else:
            src, bound = self.scalar(1)
            self.emit(indent, f"{name} = {src}")
        bound = self.scalars.get(name, 0.0)
        for arm in arms:
            self.emit(indent, arm)
            src, b = self.scalar(2)
            self.emit(indent + 1, f"{name} = {src}")
            bound = max(bound, b)
        self.scalars[name] = bound

    def store(self, indent):
        """Stores into elements, rows and slices of arrays made in ``f``."""
        self.features.add("store")
        name, y = self.name("r"), self.name("Y")
        form = self.choice(["rows", "slice", "row_loop", "recurrence", "copy", "element2d",
                            "accumulate", "alias", "while_store", "table", "pairwise",
                            "stencil", "inner_while", "read_then_store", "int_store",
                            "augmented", "fresh_fill", "index_store", "neighbors"])
        if form in ("table", "pairwise", "stencil", "inner_while", "fresh_fill", "neighbors"):
            self.features.add("nested-store")
            return self.nested_store(indent, form, name, y)
        if form == "read_then_store":
            # a loop without stores reads an array, which is written after the loop
            self.features.add("store-after-loop")
            (a, ba), (s, bs) = self.matrix(1), self.scalar(2)
            v = self.param(self.choice(VECTORS))
            i = self.name("i")
            self.emit(indent, f"{y} = ({a}).copy()")
            self.emit(indent, f"{name} = 0.5")
            self.emit(indent, f"for {i} in {self.loop_range()}:")
            self.emit(indent + 1, f"{name} = math.tanh({name} * np.sum({y}[{i} % 2] * {v}))")
            self.emit(indent, f"{y}[{self.choice(['0, 1', '1', ':, 2'])}] = {s}")
            self.emit(indent, f"{name} = {name} + np.sum(np.tanh({y}))")
            return self.finish(indent, name, 7.0)
        if form == "index_store":
            # a store through an index array (duplicates likely: the last write wins), of an
            # array or of a number spread over the indexed elements
            self.features.add("index-store")
            self.used.add("idx")
            (v, bv), (s, bs) = self.vector(1), self.scalar(1)
            value = self.choice([f"({v})[idx] * {s}", s, f"{s} + ({v})[idx]"])
            self.emit(indent, f"{y} = np.zeros(3)")
            self.emit(indent, f"{y}[idx] = {value}")
            w, bw = self.vector(1)
            self.emit(indent, f"{name} = np.sum({y} * {w}) / 3.0")
            return self.finish(indent, name, (bv + 1) * bs * bw)
        if form == "int_store":
            # a store into an integer array truncates: no derivative passes through it
            self.features.add("int-store")
            self.used.add("m")
            s, _ = self.scalar(2)
            self.emit(indent, f"{y} = m.copy()")
            self.emit(indent, f"{y}[{self.choice(['0', '2'])}] = {s}")
            w, bw = self.vector(1)
            self.emit(indent, f"{name} = np.sum({y} * {w}) / 3.0")
            return self.finish(indent, name, 3 * bw)
        if form == "augmented":
            self.features.add("augmented-array")
            (v, bv), (w, bw), (s, bs) = self.vector(1), self.vector(1), self.scalar(1)
            self.emit(indent, f"{y} = np.zeros(3)")
            self.emit(indent, f"{y} += {v} * {s}")
            self.emit(indent, f"{y} -= np.tanh({w})")
            self.emit(indent, f"{name} = np.sum({y} * {y})")
            return self.finish(indent, name, 3 * (bv * bs + 1) ** 2)
        if form == "rows":
            (v, bv), (w, bw) = self.vector(2), self.vector(2)
            self.emit(indent, f"{y} = np.zeros((2, 3))")
            self.emit(indent, f"{y}[0] = np.exp(np.tanh({v}))")
            self.emit(indent, f"{y}[1] = {w}")
            self.emit(indent, f"{name} = np.sum(np.sin({y}))")
            bound = 6.0
        elif form == "slice":
            (v, bv), (s, bs), (t, bt) = self.vector(1), self.scalar(2), self.scalar(2)
            self.emit(indent, f"{y} = np.zeros(3)")
            self.emit(indent, f"{y}[0:2] = ({v})[0:2] * {s}")
            self.emit(indent, f"{y}[2] = {t}")
            w, bw = self.vector(1)
            self.emit(indent, f"{name} = np.sum({y} * {w})")
            bound = 3 * max(bv * bs, bt) * bw
        elif form == "row_loop":
            (a, ba), (s, bs) = self.matrix(1), self.scalar(2)
            i = self.name("i")
            self.emit(indent, f"{y} = np.zeros((2, 3))")
            self.emit(indent, f"for {i} in range(2):")
            self.emit(indent + 1, f"{y}[{i}] = ({a})[{i}] * {s}")
            self.emit(indent, f"{name} = np.sum(np.tanh({y}))")
            bound = 6.0
        elif form == "recurrence":
            s, _ = self.scalar(2)
            i = self.name("i")
            self.emit(indent, f"{y} = np.ones(3)")
            self.emit(indent, f"for {i} in range(1, 3):")
            self.emit(indent + 1, f"{y}[{i}] = {y}[{i} - 1] * math.tanh({s})")
            self.emit(indent, f"{name} = np.sum({y})")
            bound = 3.0
        elif form == "copy":
            (v, bv), (s, bs), (w, bw) = self.vector(1), self.scalar(2), self.vector(1)
            self.emit(indent, f"{y} = ({v}).copy()")
            self.emit(indent, f"{y}[1] = {s}")
            self.emit(indent, f"{name} = np.sum({y} * {w})")
            bound = 3 * max(bv, bs) * bw
        elif form == "element2d":
            (s, bs), (t, bt) = self.scalar(2), self.scalar(2)
            self.emit(indent, f"{y} = np.zeros((2, 3))")
            self.emit(indent, f"{y}[0, 1] = {s}")
            self.emit(indent, f"{y}[1, 2] = {t} * {y}[0, 1]")
            a, ba = self.matrix(1)
            self.emit(indent, f"{name} = np.sum({y} * {a})")
            bound = 6 * ba * (bs + bs * bt)
        elif form == "while_store":
            # more iterations than a while loop's first tape holds: the tapes must grow
            s, _ = self.scalar(2)
            j = self.name("j")
            count = self.choice(["3", "17", "40"])
            self.emit(indent, f"{y} = np.zeros({count})")
            self.emit(indent, f"{j} = 0")
            self.emit(indent, f"while {j} < {count}:")
            self.emit(indent + 1, f"{y}[{j}] = math.tanh({s}) * ({j} % 3)")
            self.emit(indent + 1, f"{j} += 1")
            self.emit(indent, f"{name} = np.sum({y} * {y}) / {count}")
            bound = 4.0
        elif form == "alias":
            # a write into a parameter through an alias: Python changes the caller's array;
            # adcompile must refuse it or leave the caller's array unchanged
            self.features.add("alias-write")
            s, bs = self.scalar(2)
            v = self.param(self.choice(VECTORS))
            self.emit(indent, f"{y} = {v}")
            self.emit(indent, f"{y}[1] = {s}")
            self.emit(indent, f"{name} = np.sum(np.sin({y}) * {v})")
            bound = 3 * 1.5
        else:
            (s, bs), (v, bv) = self.scalar(2), self.vector(1)
            i = self.name("i")
            self.emit(indent, f"{y} = np.zeros(3)")
            self.emit(indent, f"for {i} in {self.loop_range()}:")
            self.emit(indent + 1, f"{y}[{i} % 3] += {s} * ({v})[{i} % 3]")
            self.emit(indent, f"{name} = np.sum({y} * {y})")
            bound = 3 * (MAX_TRIPS * bs * bv) ** 2
        self.finish(indent, name, bound)

    def nested_store(self, indent, form, name, y):
        """Arrays written inside nested loops: a dynamic-programming table, a pairwise
        force loop, a stencil applied over steps, a ``while`` inside a ``for``."""
        i, j = self.name("i"), self.name("j")
        if form == "table":
            s, _ = self.scalar(2)
            a = self.param("A")
            self.emit(indent, f"{y} = np.zeros((3, 3))")
            self.emit(indent, f"for {i} in {self.choice(['range(3)', 'range(1, 3)'])}:")
            inner = self.choice(["range(3)", f"range({i}, 3)", "range(1, 3)", f"range({i})"])
            self.emit(indent + 1, f"for {j} in {inner}:")
            prev = self.choice([f"{y}[{i} - 1, {j}]", f"{y}[{i}, {j} - 1]",
                                f"min({y}[{i} - 1, {j}], {y}[{i}, {j} - 1])",
                                f"max({y}[{i} - 1, {j} - 1], {y}[{i} - 1, {j}])"])
            if self.flip():
                self.emit(indent + 2, f"if {prev} > 0.25:")
                self.emit(indent + 3, "continue" if self.flip() else "break")
            self.emit(indent + 2, f"{y}[{i}, {j}] = math.tanh({prev} * {s} + "
                      f"{a}[{i} % 2, {j}])")
            self.emit(indent, f"{name} = np.sum({y} * {y}) / 9.0")
            return self.finish(indent, name, 1.0)
        if form == "pairwise":
            # y[i] += / -= a term in a double loop (the element's adjoint passes through),
            # into a vector or one column of a matrix, with the term reading v[i] once or
            # twice (one load shared), or with the old element read again (no pass-through)
            s, _ = self.scalar(1)
            v = self.param(self.choice(VECTORS))
            two_d = self.flip()
            element = f"{y}[{i}, 1]" if two_d else f"{y}[{i}]"
            z = self.name("z")
            self.emit(indent, f"{y} = np.zeros((3, 2))" if two_d else f"{y} = np.zeros(3)")
            self.emit(indent, f"{z} = 0.0")
            self.emit(indent, f"for {i} in range(3):")
            self.emit(indent + 1, f"for {j} in range(3):")
            self.emit(indent + 2, f"if {i} != {j}:")
            term = self.choice([f"math.tanh(({v}[{j}] - {v}[{i}]) * {s})",
                                f"{v}[{i}] * math.tanh({v}[{j}] * {s}) - "
                                f"math.tanh({v}[{i}] * {s})"])
            op = self.choice(["+", "-"])
            if self.flip():
                self.emit(indent + 3, f"{element} {op}= {term}")
            else:
                old = self.name("o")
                self.emit(indent + 3, f"{old} = {element}")
                self.emit(indent + 3, f"{element} = {old} {op} {term}")
                self.emit(indent + 3, f"{z} = {z} + math.tanh({old})")
            column = f"{y}[:, 1]" if two_d else y
            if indent == 1 and self.flip():
                # a sum stored into the table that is also returned on its own, and a load
                # repeated by the return (programs() may return either)
                total = self.name("tot")
                first = f"{y}[0, 1]" if two_d else f"{y}[0]"
                self.emit(indent, f"{total} = {first} + {s} * {v}[0]")
                self.emit(indent, f"{first} = {total}")
                self.emit(indent, f"{z} = {z} + {v}[1] * {s}")
                self.bare_results += [total, f"{v}[1]"]
            self.emit(indent, f"{name} = np.sum({column} * {v}) + {z}")
            return self.finish(indent, name, 3 * 2 * 2.5 * 1.5 + 6)
        if form == "stencil":
            s, _ = self.scalar(1)
            v, _ = self.vector(1)
            c, t = self.name("c"), self.name("t")
            self.emit(indent, f"{c} = np.tanh({v})")
            self.emit(indent, f"for {t} in {self.loop_range()}:")
            self.emit(indent + 1, f"{y} = np.zeros(3)")
            self.emit(indent + 1, f"for {i} in range(3):")
            self.emit(indent + 2, f"{y}[{i}] = math.tanh({c}[({i} + 1) % 3] * {s} + {c}[{i}])")
            self.emit(indent + 1, f"{c} = {y}")
            self.emit(indent, f"{name} = np.sum({c})")
            return self.finish(indent, name, 3.0)
        if form == "fresh_fill":
            return self.fresh_fill(indent, name, y, i)
        if form == "neighbors":
            return self.neighbors(indent, name, y, i)
        s, _ = self.scalar(1)
        k = self.name("k")
        self.emit(indent, f"{y} = np.zeros(3)")
        self.emit(indent, f"for {i} in range(3):")
        self.emit(indent + 1, f"{k} = 0")
        self.emit(indent + 1, f"while {k} < {i} + 1 and {y}[{i}] < 1.0:")
        self.emit(indent + 2, f"{y}[{i}] = {y}[{i}] + math.tanh({s} * ({k} + 1)) * 0.5 + 0.125")
        self.emit(indent + 2, f"{k} += 1")
        self.emit(indent, f"{name} = np.sum({y} * {y})")
        return self.finish(indent, name, 3 * (4 * 0.625) ** 2)

    def neighbors(self, indent, name, y, i):
        """A stencil over steps: ``y[i]`` from ``c[i + k]`` for a few offsets ``k`` (with or
        without a gap, the loop up or down), whose reversal adds into the adjoint at the
        offsets (a window of sums, adcompile/sums.py)."""
        (s, _), (v, _) = self.scalar(1), self.vector(1)
        w = self.param(self.choice(VECTORS))
        offsets = self.choice([(-1, 0, 1), (-1, 1), (0, 1), (-1, 0), (-2, -1, 0), (0, 2)])
        lo, hi = max(0, -min(offsets)), 6 - max(0, max(offsets))
        loop = self.choice([f"range({lo}, {hi})", f"range({hi - 1}, {lo - 1}, -1)"])
        c, t = self.name("c"), self.name("t")
        start = self.choice(["np.zeros(6)", f"{c}.copy()"])
        terms = " + ".join(f"{self.choice(['0.5', s, '-0.25'])} * {c}[{i} {'-+'[k > 0]} {abs(k)}]"
                           if k else f"{c}[{i}]" for k in offsets)
        self.emit(indent, f"{c} = np.tanh(np.concatenate(({v}, 0.5 * {w})))")
        self.emit(indent, f"for {t} in {self.loop_range()}:")
        self.emit(indent + 1, f"{y} = {start}")
        self.emit(indent + 1, f"for {i} in {loop}:")
        self.emit(indent + 2, f"{y}[{i}] = math.tanh({terms})")
        self.emit(indent + 1, f"{c} = {y}")
        self.emit(indent, f"{name} = np.sum({c} * {c})")
        return self.finish(indent, name, 6.0)

    def fresh_fill(self, indent, name, y, i):
        """An array made in each step of an outer loop (``np.zeros``, or ``np.empty`` when
        the fill writes every element before any read), filled by an inner loop at its index
        (the first write of each element, whose adjoint needs no clearing), or with the
        element read before the store, or stored again, or at an index that repeats
        (``i // 2``, ``0``, ``min(i + 1, 2)``), all of which keep the clearing; then rebound
        as the carried array or summed."""
        self.features.add("first-write")
        s, _ = self.scalar(1)
        v, _ = self.vector(1)
        c, t, z = self.name("c"), self.name("t"), self.name("z")
        index = self.choice([i, i, f"2 - {i}", f"{i} // 2", "0", f"min({i} + 1, 2)"])
        extra = self.choice(["none", "none", "second", "read"])
        inner = self.choice(["range(3)", "range(3)", "range(2, -1, -1)", f"range({t} % 3 + 1)"])
        full = index in (i, f"2 - {i}") and not inner.startswith(f"range({t}")
        if full and extra != "read" and self.flip():
            alloc = "np.empty(3)"
            self.features.add("first-write-empty")
        else:
            alloc = "np.zeros(3)"
        if index not in (i, f"2 - {i}"):
            self.features.add("first-write-repeated-index")
        self.emit(indent, f"{c} = np.tanh({v})")
        self.emit(indent, f"{z} = 0.0")
        self.emit(indent, f"for {t} in {self.loop_range()}:")
        self.emit(indent + 1, f"{y} = {alloc}")
        self.emit(indent + 1, f"for {i} in {inner}:")
        value = f"{c}[{i}] * {s} + {c}[({i} + 1) % 3]"
        if extra == "read":  # the element read before the store, into the value stored
            old = self.name("o")
            self.emit(indent + 2, f"{old} = {y}[{index}]")
            self.emit(indent + 2, f"{z} = {z} + 0.25 * math.tanh({old})")
            value = f"{value} + {old}"
        self.emit(indent + 2, f"{y}[{index}] = math.tanh({value})")
        if extra == "second":  # the element stored again in the same iteration
            self.emit(indent + 2, f"{y}[{index}] = math.tanh({y}[{index}] * {s} - {c}[{i}])")
        if self.flip():
            self.emit(indent + 1, f"{c} = {y}")
        else:
            self.emit(indent + 1, f"{z} = {z} + 0.25 * np.sum({y} * {c})")
        self.emit(indent, f"{name} = np.sum({c}) + {z}")
        return self.finish(indent, name, 3.0 + MAX_TRIPS * (0.75 + 0.75))

    def pair(self, indent):
        """Reads the tuple parameter ``P = (float, vector)``: unpacked, indexed, or passed to
        a helper that unpacks it and returns a tuple."""
        self.features.add("tuple-param")
        a, w = self.name("pa"), self.name("pw")
        form = self.choice(["unpack", "index", "helper"])
        if form == "unpack":
            self.emit(indent, f"{a}, {w} = {self.param('P')}")
        elif form == "index":
            self.emit(indent, f"{a} = {self.param('P')}[0] * 1.0")
            self.emit(indent, f"{w} = {self.param('P')}[{self.choice(['1', '-1'])}]")
        else:
            self.features.add("tuple-helper")
            s, _ = self.scalar(1)
            self.emit(indent, f"{a}, {w} = pair_helper({self.param('P')}, {s})")
            self.pair_helper = True
        self.scalars[a] = 1.5 if form != "helper" else 1.0
        self.vectors[w] = 1.5 if form != "helper" else 1.5

    def view_write(self, indent):
        """Reads through a view of a local array, then writes into the array."""
        self.features.add("view-write")
        name, base, view = self.name("r"), self.name("B"), self.name("row")
        a, ba = self.matrix(1)
        self.emit(indent, f"{base} = ({a}).copy()")
        self.emit(indent, f"{view} = {base}[{self.choice(['0', '1', ':, 1'])}]")
        v = self.param(self.choice(FLOATS))
        if self.flip():
            self.emit(indent, f"{name} = np.sum({view} * {v})")
            self.emit(indent, f"{base}[0, 1] = 1.0")
            self.emit(indent, f"{name} = {name} + 0.5 * np.sum({base})")
        else:
            self.emit(indent, f"{base}[0, 1] = 1.0")
            self.emit(indent, f"{name} = np.sum({view} * {v})")
        self.finish(indent, name, 3 * ba * 1.5 + 3 * (ba + 1))

    def carried(self, indent):
        """An array carried through a loop, starting from an int64 array or a float one."""
        self.features.add("carried-array")
        name, w = self.name("r"), self.name("c")
        start = self.choice(["np.ones(3)", "m", "m.copy()"])
        if start.startswith("m"):
            self.used.add("m")
        self.emit(indent, f"{w} = {start}")
        s, _ = self.scalar(1)
        self.emit(indent, f"for {self.name('i')} in range(2):")
        self.emit(indent + 1, f"{w} = {w} * math.tanh({s}) + 0.5")
        self.emit(indent, f"{name} = np.sum({w})")
        self.finish(indent, name, 3 * 3.0)

    # -- views, masks, counters and tuples in loops (VIEW_KINDS) ----------------------------

    def operand_vector(self):
        """A vector read by the loops below: a parameter, or a local one."""
        if self.vectors and self.flip():
            return self.vector(0)
        return self.param(self.choice(VECTORS)), 1.5

    def counter_after(self, indent):
        """The counter of an inner loop read after that loop, inside an outer loop that
        writes an array: ``for i: t = s; for j: t = sin(t + v[j]); Y[i] = t * v[j]``, with
        a second level (``for k: for j: ...; t = t + v[j] * v[k]``), a ``break``, the counter
        as a number or as the index stored at (duplicates), ``=`` or ``+=``."""
        self.features.add("counter-after-loop")
        self.features.add("nested-store")
        name, y, t = self.name("r"), self.name("Y"), self.name("t")
        i, j, k = self.name("i"), self.name("j"), self.name("k")
        v, _ = self.operand_vector()
        s, _ = self.scalar(1)
        outer = self.some_range("range(3)", "range(3)", "range(2, -1, -1)")
        inner = self.choice(["range(3)", f"range({i} % 3 + 1)", "range(1, 3)",
                             "range(2, -1, -1)", f"range({i} % 2, 3)"])
        two_d = self.flip()
        self.emit(indent, f"{y} = np.zeros((3, 2))" if two_d else f"{y} = np.zeros(3)")
        self.emit(indent, f"for {i} in {outer}:")
        self.emit(indent + 1, f"{t} = {s}")
        deep = self.draw(st.integers(0, 2)) == 0
        body = indent + 2
        if deep:  # the counters of two levels, both read after their loops
            self.features.add("counter-after-two-levels")
            self.emit(indent + 1, f"for {k} in {inner}:")
            self.emit(indent + 2, f"for {j} in range({k} + 1):")
            body = indent + 3
        else:
            self.emit(indent + 1, f"for {j} in {inner}:")
        step = self.choice([f"{t} = math.sin({t} + {v}[{j}])",
                            f"{t} = math.tanh({t} * {v}[{j}] + 0.5)",
                            f"{t} = math.cos({t} * {v}[{j}])"])
        if self.params and not deep and self.flip():
            a = self.param("A")
            step = f"{t} = math.sin({t} + {a}[{i} % 2, {j}] * {v}[{j}])"
        self.emit(body, step)
        if self.draw(st.integers(0, 3)) == 0:
            self.features.add("break")
            self.emit(body, f"if {t} > 0.5:")
            self.emit(body + 1, "break")
        # v[j] and Y[j] read the counter itself in the reversal (d_v[j] += ...), where a
        # stale counter shows; a value computed from it, (j + 1), is taped
        value = self.choice([f"{t} * {v}[{j}]", f"{t} * {v}[{j}]",
                             f"{v}[{j}] * {t} + 0.25 * {j}", f"{t} * ({j} + 1)",
                             f"{t} * {v}[({j} + 1) % 3]"])
        if deep:
            self.emit(indent + 2, f"{t} = {t} + {v}[{j}] * {v}[{k}]")
            value = f"{value} + {v}[{k}] * {j}"
        row = self.choice([f"{i} % 3", f"{j}"] + ([f"{k}"] if deep else []))
        if row in (j, k):
            self.features.add("counter-as-index")
        target = f"{y}[{row}, {self.choice(['0', '1', ':'])}]" if two_d else f"{y}[{row}]"
        self.emit(indent + 1, f"{target} {self.choice(['=', '=', '+='])} {value}")
        self.emit(indent, f"{name} = np.sum(np.sin({y}))")
        self.finish(indent, name, 6.0)

    def transposed(self, indent):
        """Transposed (Fortran-ordered) views taped in a loop that writes arrays:
        ``O[a] = T[a] @ T[a].T``, a transposed carried array (``Bt = B.T``), the transpose
        of a new array per iteration read row by row, or ``np.transpose``."""
        self.features.add("transposed-view")
        self.features.add("store")
        name, out = self.name("r"), self.name("O")
        form = self.choice(["gram", "carry", "rows", "gram"] if self.params else ["rows"])
        s, _ = self.scalar(1)
        if form == "gram":
            a = self.name("a")
            tensor = self.param("T")
            self.features.add("rank-3")
            if self.flip():
                self.emit(indent, f"{out} = np.zeros((2, 2, 2))")
                self.emit(indent, f"for {a} in range(2):")
                prod = self.choice([f"{tensor}[{a}] @ {tensor}[{a}].T",
                                    f"np.sin({tensor}[{a}]) @ {tensor}[{a}].T * {s}"])
                self.emit(indent + 1, f"{out}[{a}] = {prod}")
            else:
                tt = self.name("Tt")
                self.emit_lines(indent, f"""{out} = np.zeros((2, 3, 3))
for {a} in range(2):
    {tt} = {tensor}[{a}].T  # a Fortran-ordered view, taped
    {out}[{a}] = np.tanh({tt} @ {tensor}[{a}] * {s})""")
            self.emit(indent, f"{name} = np.sum(np.sin({out}))")
            return self.finish(indent, name, 18.0)
        b, bt, q = self.name("B"), self.name("Bt"), self.name("q")
        if form == "carry":
            m, _ = self.matrix(1)
            self.emit(indent, f"{b} = ({m}).copy()" if self.flip() else
                      f"{b} = np.tanh({m} * {s})")
            self.emit(indent, f"{out} = np.zeros((3, 3, 2))")
            self.emit(indent, f"for {q} in range(3):")
            self.emit(indent + 1, self.choice([f"{bt} = {b}.T", f"{bt} = np.transpose({b})"]))
            value = self.choice([f"np.sin({bt}) * {bt}", f"{bt} * {bt}[:, ::-1]"])
            self.emit(indent + 1, f"{out}[{q}] = {value}")
            self.emit(indent + 1, self.choice([f"{b} = {b} * 0.9 + 0.1 * {q}",
                                               f"{b} = np.tanh({b} + {bt}.T * {s})"]))
            self.emit(indent, f"{name} = np.sum(np.sin({out}))")
            return self.finish(indent, name, 18.0)
        # the transpose of an array made in each iteration, read by rows
        m, _ = self.matrix(0)
        self.emit(indent, f"{out} = np.zeros((3, 2))")
        self.emit(indent, f"for {q} in {self.loop_range()}:")
        self.emit(indent + 1, f"{bt} = np.tanh({m} * ({s} + 0.25 * {q})).T")
        self.emit(indent + 1, f"{out}[{q} % 3] = {bt}[{q} % 3] * {bt}[({q} + 1) % 3]")
        self.emit(indent, f"{name} = np.sum(np.sin({out}))")
        self.finish(indent, name, 6.0)

    def view_helper(self, indent):
        """Views returned by helpers (``tail(w)``: ``w[1:]``, ``row_of(M, i)``: ``M[i]``,
        ``flipped(M)``: ``M.T``): read in a loop that writes arrays, read after a write into
        their base (stale), written through (the base changes; for a parameter, the caller's
        array), as a transposed carried array."""
        self.features.add("view-helper")
        name, b, y = self.name("r"), self.name("B"), self.name("Y")
        r, q = self.name("rv"), self.name("q")
        s, _ = self.scalar(1)
        m, _ = self.matrix(0)
        form = self.choice(["rows", "rows", "tail", "flipped", "stale", "write", "write_loop",
                            "write_param"])
        if form == "rows":
            self.module_helpers.add("row_of")
            self.emit(indent, f"{b} = " + self.choice([f"{m} * {s}", f"({m}).copy()", m]))
            self.emit(indent, f"{y} = np.zeros((2, 3))")
            self.emit(indent, f"for {q} in range(2):")
            self.emit(indent + 1, f"{r} = row_of({b}, {q})")
            value = self.choice([f"np.sin({r}) * {r}", f"{r} * {r}[::-1] * {s}"])
            self.emit(indent + 1, f"{y}[{q}] = {value}")
            self.emit(indent, f"{name} = np.sum(np.sin({y}))")
            return self.finish(indent, name, 6.0)
        if form == "tail":
            self.module_helpers.add("tail")
            v, _ = self.operand_vector()
            c = self.name("c")
            self.emit_lines(indent, f"""{c} = np.tanh({v} * {s})
{y} = np.zeros((3, 2))
for {q} in {self.loop_range()}:
    {r} = tail({c})
    {y}[{q} % 3] = np.sin({r}) * {r}[::-1]
    {c} = {c} * 0.5 + {r}[0]
{name} = np.sum(np.sin({y})) + np.sum({c})""")
            return self.finish(indent, name, 6.0 + 3 * 4.0)
        if form == "flipped":
            self.module_helpers.add("flipped")
            self.features.add("transposed-view")
            self.emit_lines(indent, f"""{b} = np.tanh({m} * {s})
{y} = np.zeros((3, 3, 2))
for {q} in range(3):
    {r} = flipped({b})  # a transpose made by a helper, taped
    {y}[{q}] = np.sin({r}) * {r}
    {b} = {b} * 0.9 + 0.1 * {q}
{name} = np.sum(np.sin({y}))""")
            return self.finish(indent, name, 18.0)
        self.features.add("view-helper-write")
        if form == "stale":  # the view is read after a write into its base
            self.module_helpers.add("row_of")
            self.emit(indent, f"{b} = {m} * 1.0")
            self.emit(indent, f"{r} = row_of({b}, {self.choice(['0', '1'])})")
            self.emit(indent, f"{b}[{self.choice(['0, 1', '1, 2', '0'])}] = {s}")
            self.emit(indent, f"{name} = np.sum({r} * {r}) + np.sum(np.sin({b}))")
            return self.finish(indent, name, 3 * 2.25 + 6)
        if form == "write":  # a write through the view changes the local base
            self.module_helpers.add("tail")
            v, _ = self.operand_vector()
            c = self.name("c")
            self.emit(indent, f"{c} = ({v}).copy()")
            self.emit(indent, f"{r} = tail({c})")
            self.emit(indent, f"{r}[{self.choice(['0', '1', '-1'])}] = {s}")
            self.emit(indent, f"{name} = np.sum(np.sin({c}) * {v})")
            return self.finish(indent, name, 3 * 1.5)
        if form == "write_loop":
            self.module_helpers.add("row_of")
            self.emit_lines(indent, f"""{b} = ({m}).copy()
for {q} in range(2):
    {r} = row_of({b}, {q})
    {r}[1] = {r}[0] * {s}  # changes {b} in Python
{name} = np.sum(np.sin({b}))""")
            return self.finish(indent, name, 6.0)
        # a write through a helper's view of a parameter: the caller's array must not change
        self.features.add("alias-write")
        self.module_helpers.add("tail")
        v = self.param(self.choice(VECTORS))
        self.emit(indent, f"{r} = tail({v})")
        self.emit(indent, f"{r}[0] = {s}")
        self.emit(indent, f"{name} = np.sum(np.sin({v}))")
        self.finish(indent, name, 3.0)

    def row_augmented(self, indent):
        """Augmented assignment to a row of an array: ``r = B[i]; r += w``, ``B[i] += w``,
        ``B[i, :] *= c``, ``B[:, j] -= ...``, of a matrix or a rank-3 array, in a loop; and an
        element (``e = B[0, 1]; e += s``: a number)."""
        self.features.add("row-augmented")
        name, b, r, q = self.name("r"), self.name("B"), self.name("rw"), self.name("q")
        s, _ = self.scalar(1)
        s = f"math.tanh({s})"  # repeated *= stays bounded
        op = self.choice(["+=", "-=", "*="])
        rank3 = self.params and self.draw(st.integers(0, 3)) == 0
        if rank3:
            self.features.add("rank-3")
            tensor = self.param("T")
            self.emit(indent, self.choice([f"{b} = {tensor}.copy()", f"{b} = {tensor} * {s}"]))
            w, _ = self.vector(0)
            self.emit(indent, f"for {q} in range(2):")
            form = self.choice(["name", "index", "index2"])
            if form == "name":
                self.emit(indent + 1, f"{r} = {b}[{q}]")
                self.emit(indent + 1, f"{r} {op} np.tanh({w} * {s})")
            elif form == "index":
                self.emit(indent + 1, f"{b}[{q}] {op} np.tanh({w} * {s})")
            else:
                self.emit(indent + 1, f"{b}[{q}, {self.choice(['1', ':', '-1'])}] {op} "
                          f"np.tanh({w} * {s})")
            self.emit(indent, f"{name} = np.sum(np.sin({b}))")
            return self.finish(indent, name, 12.0)
        m, _ = self.matrix(0)
        start = self.choice([f"({m}).copy()", f"{m} * {s}", "np.ones((2, 3))",
                             f"np.zeros((2, 3)) + {m}"])
        self.emit(indent, f"{b} = {start}")
        w, _ = self.vector(1)
        w = f"np.tanh({w})"
        form = self.choice(["name", "name", "index", "slice", "column", "other_row", "element"])
        loop = self.some_range("range(2)", "range(1, -1, -1)")
        self.emit(indent, f"for {q} in {loop}:")
        row = f"{q} % 2"
        read_r = False
        if form == "name":
            self.emit(indent + 1, f"{r} = {b}[{row}]")
            self.emit(indent + 1, f"{r} {op} {w} * {s}")
            read_r = loop in ("range(2)", "range(1, -1, -1)") and self.flip()
        elif form == "index":
            self.emit(indent + 1, f"{b}[{row}] {op} {w} * {s}")
        elif form == "slice":
            self.emit(indent + 1, f"{b}[{row}, :] {op} {w} * {s}")
        elif form == "column":
            self.emit(indent + 1, f"{b}[:, ({q} + 1) % 3] {op} np.tanh({s} * {q})")
        elif form == "other_row":
            self.emit(indent + 1, f"{b}[{row}] {op} {b}[({q} + 1) % 2] * 0.5")
        else:
            self.emit(indent + 1, f"{r} = {b}[{row}, 1]")
            self.emit(indent + 1, f"{r} {op} {s}")
            self.emit(indent + 1, f"{b}[{row}, 0] = math.tanh({r})")
        self.emit(indent, f"{name} = np.sum(np.sin({b}))" + (f" + np.sum({r})" if read_r
                                                           else ""))
        self.finish(indent, name, 6.0 + 3 * 6.0)

    def view_carried(self, indent):
        """A view made before a loop of an array the loop updates in place (``r = p[1]``,
        ``for: s += sum(r * r); p += ...``): Python's view sees each update; adcompile must
        refuse or agree.  Also the view made in the loop, and the array rebound instead of
        updated (the view keeps the old values)."""
        self.features.add("view-carried")
        name, p, r, q, acc = (self.name("r"), self.name("p"), self.name("rv"), self.name("q"),
                              self.name("acc"))
        s, _ = self.scalar(1)
        if self.flip():
            m, _ = self.matrix(0)
            base = m
            view = self.choice(["1", ":, 0", "0, 1:", "-1", "T"])
            view = f"{p}.T" if view == "T" else f"{p}[{view}]"
        else:
            base, _ = self.operand_vector()
            view = f"{p}[{self.choice(['1:', ':2', '::2', '1'])}]"
        self.emit(indent, self.choice([f"{p} = ({base}).copy()", f"{p} = np.tanh({base})"]))
        inside = self.draw(st.integers(0, 3)) == 0
        if not inside:
            self.emit(indent, f"{r} = {view}")
        self.emit(indent, f"{acc} = 0.0")
        loop = self.some_range("range(3)", "range(2)")
        self.emit(indent, f"for {q} in {loop}:")
        if inside:
            self.emit(indent + 1, f"{r} = {view}")
        self.emit(indent + 1, f"{acc} = {acc} + np.sum(np.sin({r}) * {r})")
        update = self.choice([f"{p} += 0.5 * np.tanh({base} * {s})", f"{p} *= 0.75",
                              f"{p} -= 0.25 * {p}",
                              f"{p} = {p} + 0.5 * np.tanh({base} * {s})"])
        self.emit(indent + 1, update)
        self.emit(indent, f"{name} = math.tanh({acc}) + np.sum(np.sin({p}))")
        self.finish(indent, name, 7.0)

    def layers(self, indent):
        """The tuple parameter ``L = ((W0, b0), (W1, b1), (w, c))`` sliced and iterated:
        ``for W, b in L[:-1]``, ``for i in range(len(L) - 1): W, b = L[i]``, ``enumerate``,
        ``reversed``, a named slice, rows of a table filled per layer; then
        ``w, c = L[-1]``."""
        self.features.add("tuple-layers")
        lay = self.param("L")
        name, h, big_w, small_b = self.name("r"), self.name("h"), self.name("W"), self.name("b")
        i = self.name("i")
        first = self.choice(["u", "v", "u", "A"])
        self.used.add(first)
        start = self.choice(["{p}", "np.tanh({p} * {s})"] if first != "A" else
                            ["{p}[0]", "{p}[1] * {s}"])
        if "{s}" in start:
            s, _ = self.scalar(1)
            start = start.format(p=first, s=s)
        else:
            start = start.format(p=first)
        self.emit(indent, f"{h} = {start}")
        form = self.choice(["slice", "index", "enumerate", "reversed", "named", "table"])
        if form == "slice":
            self.emit(indent, f"for {big_w}, {small_b} in {lay}[:-1]:")
            self.emit(indent + 1, f"{h} = np.tanh({h} @ {big_w} + {small_b})")
        elif form == "index":
            self.emit(indent, f"for {i} in range(len({lay}) - 1):")
            self.emit(indent + 1, f"{big_w}, {small_b} = {lay}[{i}]")
            self.emit(indent + 1, f"{h} = np.tanh({h} @ {big_w} + {small_b}) + 0.1 * {i}")
        elif form == "enumerate":
            self.emit(indent, f"for {i}, ({big_w}, {small_b}) in enumerate({lay}[:2]):")
            self.emit(indent + 1, f"{h} = np.tanh({h} + 0.5 * {i} * np.sin({h} @ {big_w} + "
                      f"{small_b}))")
        elif form == "reversed":
            self.emit(indent, f"for {big_w}, {small_b} in reversed({lay}[:-1]):")
            self.emit(indent + 1, f"{h} = np.tanh({h} @ {big_w} + {small_b})")
        elif form == "named":
            hidden = self.name("hid")
            self.emit(indent, f"{hidden} = {lay}[{self.choice(['1:-1', ':2', '0:1'])}]")
            self.emit(indent, f"for {big_w}, {small_b} in {hidden}:")
            self.emit(indent + 1, f"{h} = np.tanh({h} @ {big_w} + {small_b})")
        else:
            self.features.add("store")
            table = self.name("H")
            self.emit_lines(indent, f"""{table} = np.zeros((2, 3))
for {i} in range(len({lay}) - 1):  # unrolled: the counter indexes a tuple
    {big_w}, {small_b} = {lay}[{i}]
    {table}[{i}] = np.tanh({h} @ {big_w} + {small_b})
    {h} = {table}[{i}] * {table}[{i}]""")
        w, c = self.name("wo"), self.name("co")
        self.emit_lines(indent, self.choice([f"{w}, {c} = {lay}[-1]",
                                             f"{w}, {c} = {lay}[len({lay}) - 1]",
                                             f"{w} = {lay}[2][0]\n{c} = {lay}[-1][1]"]))
        self.emit(indent, f"{name} = math.sin({h} @ {w} + {c})")
        self.finish(indent, name, 1.0)

    def masks(self, indent):
        """Boolean masks of one to three axes read and written: ``x[x > c]``, ``B[mk] =
        ...``, ``B[mk] *= c``, ``&``/``~`` of masks, a mask of the first axis of a rank-3
        array, a mask made in each step of a loop."""
        self.features.add("mask")
        name, b, mk = self.name("r"), self.name("B"), self.name("mk")
        s, _ = self.scalar(1)
        ranks = ["vec", "mat"] + (["ten"] if self.params else [])
        rank = self.choice(ranks)
        if rank == "vec":
            x, _ = self.operand_vector()
        elif rank == "mat":
            x, _ = self.matrix(0)
        else:
            self.features.add("rank-3")
            x = self.param("T")
        cut = self.choice(["0.1", "-0.2", "0.25", "0"])
        form = self.choice(["read", "write", "write", "loop", "loop_read"])
        if form == "loop_read":  # the array read only through masks made in a loop
            q, acc = self.name("q"), self.name("acc")
            self.emit_lines(indent, f"""{acc} = 0.0
for {q} in {self.some_range("range(3)")}:
    {mk} = {x} > {cut} + 0.25 * {q}
    {acc} = {acc} + np.sum({x}[{mk}] * ({q} + {s}))""")
            self.emit(indent, f"{name} = math.tanh({acc})")
            return self.finish(indent, name, 1.0)
        if form == "read":
            both = f"({x} > -0.2) & ~({x} > 1.0)"
            terms = [f"np.sum(np.sin({x}[{x} > {cut}]) * {s})",
                     f"np.sum({x}[{both}] ** 2)", f"np.sum(np.tanh({x}[{x} < {cut}]))"]
            if rank == "ten":
                keep = self.name("keep")
                self.emit(indent, f"{keep} = {x}[:, 0, 0] > 0")
                terms += [f"np.sum({x}[{keep}] ** 2)", f"np.sum({x}[~{keep}, 1])"]
            elif rank == "mat":
                keep = self.name("keep")
                self.emit(indent, f"{keep} = {x}[:, 1] > 0")
                terms += [f"np.sum({x}[{keep}] * {s})"]
            chosen = self.draw(st.lists(st.sampled_from(terms), min_size=1, max_size=2,
                                        unique=True))
            self.emit(indent, f"{name} = {' + '.join(chosen)}")
            return self.finish(indent, name, 18.0 * 2.25 * 2)
        if form == "write":
            self.emit(indent, self.choice([f"{b} = ({x}).copy()", f"{b} = np.tanh({x} * {s})"]))
            self.emit(indent, self.choice([f"{mk} = {b} > {cut}", f"{mk} = {x} < {cut}"]))
            self.emit(indent, self.choice([f"{b}[{mk}] = np.tanh({b}[{mk}] * {s})",
                                           f"{b}[{mk}] = {s}", f"{b}[{mk}] *= {s}",
                                           f"{b}[{mk}] = 0.0"]))
            if self.flip():
                self.emit(indent, f"{b}[{b} < -0.2] {self.choice(['*=', '-='])} 0.5")
            self.emit(indent, f"{name} = np.sum(np.sin({b}) * {b})")
            return self.finish(indent, name, 18.0 * 4)
        # a mask made and used in each step of a loop
        q, over = self.name("q"), self.name("over")
        self.emit(indent, f"{b} = np.tanh({x} * {s})")
        self.emit(indent, f"for {q} in {self.some_range('range(3)')}:")
        self.emit(indent + 1, f"{b} = {b} * 1.5 + 0.25 * {q}")
        self.emit(indent + 1, f"{over} = {b} > 0.5")
        self.emit(indent + 1, self.choice([f"{b}[{over}] = 1.0 - 0.5 * np.tanh({b}[{over}])",
                                           f"{b}[{over}] *= 0.5",
                                           f"{b}[{b} < -0.5] = -0.5"]))
        self.emit(indent, f"{name} = np.sum(np.sin({b}))")
        self.finish(indent, name, 18.0)

    def dtype_arrays(self, indent):
        """Arrays allocated with ``dtype=`` int or bool, used as counters, flags and indices:
        counts by bucket, a position counter, back pointers read as indices (duplicates
        among them), a bool array as a mask."""
        self.features.add("dtype-array")
        name, y, q = self.name("r"), self.name("Y"), self.name("q")
        v, _ = self.operand_vector()
        s, _ = self.scalar(1)
        int_dtype = self.choice(["np.int64", "int"])
        form = self.choice(["counts", "position", "back", "flags"])
        loop = self.some_range("range(3)", "range(3)")
        if form == "counts":
            cnt, seen, bk = self.name("cnt"), self.name("seen"), self.name("bk")
            alloc = self.choice([f"np.zeros(3, dtype={int_dtype})",
                                 f"np.zeros_like({v}, dtype={int_dtype})"])
            self.emit(indent, f"{cnt} = {alloc}")
            self.emit(indent, f"{seen} = np.zeros(3, dtype=bool)")
            alloc = self.choice(["np.zeros(3)", f"np.zeros_like({v}, dtype=float)"])
            self.emit(indent, f"{y} = {alloc}")
            self.emit(indent, f"for {q} in {loop}:")
            if self.params and self.flip():
                self.used.add("idx")
                self.features.add("int-index")
                self.emit(indent + 1, f"{bk} = idx[{q} % 3]")
            else:
                e = f"{v}[{q} % 3]"
                self.emit(indent + 1, f"{bk} = 0 if {e} < -0.5 else (1 if {e} < 0.5 else 2)")
            self.emit(indent + 1, f"{cnt}[{bk}] += 1")
            self.emit(indent + 1, f"{y}[{q} % 3] {self.choice(['=', '+='])} {v}[{q} % 3] * "
                      f"({cnt}[{bk}] + 1) * ({s} if {seen}[{bk}] else 1.0)")
            self.emit(indent + 1, f"{seen}[{bk}] = True")
            self.emit(indent, f"{name} = np.sum(np.sin({y})) + 0.25 * np.sum({cnt} * {v})")
            return self.finish(indent, name, 3.0 + 0.25 * 3 * 5 * 1.5)
        if form == "position":
            pos = self.name("pos")
            cut = self.choice(["0.1", "-0.2"])
            self.emit_lines(indent, f"""{pos} = np.zeros(1, dtype={int_dtype})
{y} = np.zeros(6)
for {q} in {loop}:
    if {v}[{q} % 3] > {cut}:  # an int counter as the index of the next free element
        {y}[{pos}[0]] = math.sin({v}[{q} % 3] * {s})
        {pos}[0] += 1
{name} = np.sum({y} * {y}) + {pos}[0] * {s}""")
            return self.finish(indent, name, 6.0 + 5 * CAP)
        if form == "back":
            back, bk = self.name("back"), self.name("bk")
            alloc = self.choice([f"np.full(3, 2, dtype={int_dtype})",
                                 f"np.ones(3, dtype={int_dtype})"])
            j = self.name("j")
            pointer = self.choice([bk, f"({bk} + {q}) % 3"])
            self.emit_lines(indent, f"""{back} = {alloc}
for {q} in {loop}:
    {bk} = 0
    for {j} in range(1, 3):  # the argmax of v * s, a back pointer
        if {v}[{j}] * {s} > {v}[{bk}] * {s}:
            {bk} = {j}
    {back}[{q} % 3] = {pointer}
{name} = np.sum(np.sin({v}[{back}] * {s}))""")
            return self.finish(indent, name, 3.0)
        flags = self.name("fl")
        alloc = self.choice(["np.ones(3, dtype=bool)", "np.zeros(3, dtype=bool)"])
        self.emit(indent, f"{flags} = {alloc}")
        self.emit(indent, f"for {q} in {loop}:")
        self.emit(indent + 1, f"{flags}[{q} % 3] = {v}[{q} % 3] > {self.choice(['0.1', '-0.2'])}")
        if self.params and self.flip():
            self.used.add("flag")
            self.emit(indent, f"{flags}[1] = flag")
        read = self.choice([f"np.sum(np.sin({v}[{flags}]) * {s})",
                            f"np.sum(np.where({flags}, {v}, 0.5 * {v}))"])
        self.emit(indent, f"{name} = {read}")
        self.finish(indent, name, 3.0 * 6)

    # -- lists, tables and log-space recursions as scientists write them (LOOP_KINDS) -------

    def bounded_scalar(self):
        """A scalar of absolute value at most 1."""
        a, _ = self.scalar(1)
        return f"math.tanh({a})"

    def appended(self, indent):
        """A list built by one ``L.append(e)`` per iteration of a for loop over a range (a
        ``continue`` may skip it; numbers or vectors), or per iteration of an inner loop over
        a range whose bounds the outer body does not assign (pairs ``j > q``), read after the
        loop only whole (``np.array``, ``np.asarray``, ``np.stack``, ``len``, ``sum``,
        ``np.sum``, ``np.mean``); a list of lists (``row = []`` filled in an inner loop,
        ``L.append(row)``), rebound to its array (``L = np.array(L)``) or read whole; or
        ``np.array([e for t in it])`` with one ``for`` and no ``if``, over an array's items
        or a range."""
        self.features.add("list")
        name, lst, q, j = self.name("r"), self.name("L"), self.name("q"), self.name("j")
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["numbers", "vectors", "pairs", "comprehension", "rows"])
        if form == "rows":  # a list of lists, rebound to its array or read whole
            self.features.add("list-of-lists")
            row = self.name("row")
            self.emit_lines(indent, f"""{lst} = []
for {q} in range(3):
    {row} = []
    for {j} in {self.choice(["range(2)", "range(1, 3)"])}:
        {row}.append(math.sin({v}[({q} + {j}) % 3] * {s}) + 0.25 * {j})
    {lst}.append({row})""")
            if self.flip():
                self.emit(indent, f"{lst} = np.array({lst})")
                self.emit(indent, f"{name} = np.sum({lst} ** 2) + {lst}[0, 1]")
            else:
                self.emit(indent, f"{name} = np.sum(np.array({lst}) ** 2) + len({lst})")
            return self.finish(indent, name, 6 * 1.5 ** 2 + 3)
        if form == "comprehension":
            self.features.add("list-comprehension")
            made = self.choice([f"np.array([math.sin(t * {s}) + t for t in {v}])",
                                f"np.array([{v}[{q}] * {v}[({q} + 1) % 3] * {s} "
                                f"for {q} in range(3)])",
                                f"np.asarray([{s} * {q} for {q} in {self.loop_range()}])"])
            self.emit(indent, f"{name} = np.sum({made} ** 2)")
            return self.finish(indent, name, 3 * 2.5 ** 2 + 5 * 16.0)
        self.emit(indent, f"{lst} = []")
        if form == "pairs":
            self.features.add("list-nested")
            inner = self.choice([f"range({q} + 1, 3)", f"range({q})", "range(3)",
                                 f"range(1, {q} + 2)"])
            self.emit(indent, f"for {q} in {self.some_range('range(3)')}:")
            self.emit(indent + 1, f"for {j} in {inner}:")
            self.emit(indent + 2, f"{lst}.append(math.cos({v}[{q} % 3] - {v}[{j} % 3]) * {s})")
            read = self.choice([f"np.sum(np.array({lst}) ** 2)", f"sum({lst})",
                                f"np.sum({lst}) + len({lst})"])
            self.emit(indent, f"{name} = {read}")
            return self.finish(indent, name, 5 * 6 + 30.0)
        if form == "vectors":  # a loop with items (np.stack of none fails in Python)
            loop = self.choice(["range(3)", "range(1, 4)", "range(3, 0, -1)"])
            self.emit(indent, f"for {q} in {loop}:")
            self.emit(indent + 1, f"{lst}.append(np.sin({v} * {s}) * ({q} + 1) * 0.25)")
            read = self.choice([f"np.sum(np.stack({lst}) ** 2)",
                                f"np.sum(np.array({lst})[:, {q} % 3])",
                                f"np.mean({lst}) * len({lst})", f"np.sum(sum({lst}))"])
            self.emit(indent, f"{name} = {read}")
            return self.finish(indent, name, 3 * 3 * 1.0 * 3)
        loop = self.some_range("range(3)", "range(1, 4)")
        self.emit(indent, f"for {q} in {loop}:")
        skip = self.flip()
        if skip:
            self.emit(indent + 1, f"if {v}[{q} % 3] > {self.choice(['0.5', '-0.3'])}:")
            self.emit(indent + 2, "continue")
        self.emit(indent + 1, f"{lst}.append(math.sin({v}[{q} % 3] * {s}) + 0.5 * {q})")
        reads = [f"np.sum(np.array({lst}) ** 2)", f"np.sum(np.asarray({lst}) * {s})",
                 f"sum({lst})", f"np.sum({lst})", f"len({lst}) * {s}"]
        if loop in ("range(3)", "range(1, 4)") and not skip:
            reads.append(f"np.mean({lst})")
        self.emit(indent, f"{name} = {self.choice(reads)}")
        self.finish(indent, name, 5 * 3.0 ** 2)

    def filled_list(self, indent):
        """A list of one float repeated, ``F = [0.0] * 4`` (``(3 + 1) * [0.0]``,
        ``[float('-inf')] * 4``), written and read by element in a loop (``=``, ``+=``,
        ``*=``, ``F[q - 1]``), then read whole: ``sum``, ``max``, ``np.array``, a loop over
        it, ``F[-1]``, ``len``."""
        self.features.add("filled-list")
        name, fl, q, b = self.name("r"), self.name("F"), self.name("q"), self.name("b")
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        made = self.choice(["[0.0] * 4", "(3 + 1) * [0.0]", "[float('-inf')] * 4",
                            "[-np.inf] * 4"])
        self.emit(indent, f"{fl} = {made}")
        self.emit(indent, f"{fl}[0] = {s}")
        self.emit(indent, f"for {q} in range(1, 4):")
        if "inf" in made:
            self.emit(indent + 1, f"{fl}[{q}] = max({fl}[{q} - 1], {v}[{q} % 3] * {s})")
        else:
            self.emit(indent + 1, f"{fl}[{q}] = 0.5 * {fl}[{q} - 1] + math.sin({v}[{q} % 3])")
        update = self.choice(["", f"{fl}[{q}] += 0.25 * {fl}[{q} - 1]", f"{fl}[{q}] *= 0.9"])
        if update:
            self.emit(indent + 1, update)
        read = self.choice(["loop", f"sum({fl})", f"max({fl})", f"np.sum(np.array({fl}) ** 2)",
                            f"{fl}[-1] + len({fl})"])
        if read == "loop":
            self.emit(indent, f"{name} = 0.0")
            self.emit(indent, f"for {b} in {fl}:")
            self.emit(indent + 1, f"{name} = {name} + {b} * {b}")
        else:
            self.emit(indent, f"{name} = {read}")
        self.finish(indent, name, 4 * 3.0 ** 2 + 4)

    def handed_rows(self, indent):
        """Two rows of a recursion as lists of one float repeated, ``P = [0.0] * 4``, the
        new row made in the loop and handed on (``P = C``), or both made before it and
        swapped (``P, C = C, P``)."""
        self.features.add("filled-list")
        name, p, c, q, j = (self.name(x) for x in ("r", "P", "C", "q", "j"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        swap = self.flip()
        self.emit(indent, f"{p} = [0.0] * 4")
        if swap:
            self.emit(indent, f"{c} = [0.0] * 4")
        self.emit(indent, f"for {q} in range(3):")
        if not swap:
            self.emit(indent + 1, f"{c} = [0.0] * 4")
        self.emit_lines(indent + 1, f"""{c}[0] = {p}[0] + {v}[{q}] * {s}
for {j} in range(1, 4):
    {c}[{j}] = 0.5 * ({p}[{j}] + {c}[{j} - 1]) + 0.1 * math.sin({v}[{j} % 3])""")
        self.emit(indent + 1, f"{p}, {c} = {c}, {p}" if swap else f"{p} = {c}")
        self.emit(indent, f"{name} = {p}[3] + {self.choice([f'sum({p})', f'max({p})'])}")
        self.finish(indent, name, 30.0)

    def else_and_sorts(self, indent):
        """A loop's ``else`` (``for`` or ``while``, left by ``break`` or not), or a copy of a
        vector sorted in place (bubble sort swapping ``y[j], y[j + 1]``, insertion sort
        with ``key = y[q]`` and a ``while`` loop)."""
        name, y, q, j, k = (self.name(x) for x in ("r", "y", "q", "j", "k"))
        v, b = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["for_else", "while_else", "bubble", "insertion"])
        if form == "for_else":
            self.features.add("loop-else")
            self.emit_lines(indent, f"""{name} = 0.0
for {q} in {self.some_range("range(3)", "range(1, 3)")}:
    if {v}[{q} % 3] > {self.choice(["0.5", "-0.3"])}:
        {name} = {v}[{q} % 3] * {s}
        break
else:
    {name} = math.sin({s}) + {v}[0]""")
            return self.finish(indent, name, b + 1.0)
        if form == "while_else":
            self.features.add("loop-else")
            self.emit_lines(indent, f"""{q} = 0
{name} = {s}
while {q} < 3:
    {name} = 0.5 * {name} + {v}[{q}] * {s}
    if {name} > {self.choice(["0.4", "-0.2"])}:
        break
    {q} += 1
else:
    {name} = {name} * 2.0""")
            return self.finish(indent, name, 2 * (2 * b + 1))
        self.features.add("sorted-copy")
        self.emit(indent, f"{y} = {v}.copy()")
        if form == "bubble":
            self.emit_lines(indent, f"""for {q} in range(3):
    for {j} in range(2 - {q}):
        if {y}[{j}] > {y}[{j} + 1]:
            {y}[{j}], {y}[{j} + 1] = {y}[{j} + 1], {y}[{j}]
{name} = {y}[0] * {s} + {y}[2]""")
            return self.finish(indent, name, 2 * b)
        self.emit_lines(indent, f"""for {q} in range(1, 3):
    {k} = {y}[{q}]
    {j} = {q} - 1
    while {j} >= 0 and {y}[{j}] > {k}:
        {y}[{j} + 1] = {y}[{j}]
        {j} -= 1
    {y}[{j} + 1] = {k}
{name} = np.sum({y} * np.arange(3)) * {s}""")
        self.finish(indent, name, 3 * b)

    def chained_table(self, indent):
        """A dynamic programming table written ``D[q][j] = ...`` (``+=``), read ``D[q - 1][j]``,
        or through its rows by name (``prev = D[q - 1]; cur = D[q]; cur[j] = ...``), its
        first row ``np.arange(4, dtype=float)`` scaled."""
        self.features.add("chained-index")
        name, d, q, j = self.name("r"), self.name("D"), self.name("q"), self.name("j")
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        dtype = self.choice(["float", "np.float64"])
        self.emit(indent, f"{d} = np.zeros((3, 4))")
        self.emit(indent, f"{d}[0] = np.arange(4, dtype={dtype}) * 0.25 * {s}")
        self.emit(indent, f"for {q} in range(1, 3):")
        # the rows by name (prev = D[q - 1]; cur = D[q]; cur[j] = ...), or chained indices
        prev, cur = (self.name("prev"), self.name("cur")) if self.flip() else (
            f"{d}[{q} - 1]", f"{d}[{q}]")
        if not prev.startswith(d):
            self.features.add("rows-by-name")
            self.emit(indent + 1, f"{prev} = {d}[{q} - 1]")
            self.emit(indent + 1, f"{cur} = {d}[{q}]")
        self.emit(indent + 1, f"{cur}[0] = {v}[{q}] * {s}")
        self.emit(indent + 1, f"for {j} in range(1, 4):")
        step = self.choice([
            f"{cur}[{j}] = math.tanh({prev}[{j}] + {cur}[{j} - 1] * {v}[{j} % 3])",
            f"{cur}[{j}] = min({prev}[{j}], {cur}[{j} - 1]) + {v}[{j} - 1] ** 2",
            f"{cur}[{j}] += 0.5 * {prev}[{j} - 1] + math.sin({v}[{j} % 3] * {s})"])
        self.emit(indent + 2, step)
        self.emit(indent, f"{name} = {d}[2][3] + 0.1 * np.sum({d})")
        self.finish(indent, name, 12.0)

    def log_recursion(self, indent):
        """A forward recursion in log space from cells at ``-inf`` (``np.full(3, -np.inf)``;
        ``np.logaddexp`` of two of them while no path reaches a cell), or the smallest of
        some values from ``best = float('inf')``."""
        self.features.add("log-space")
        name, a, nw, q, j, t = (self.name(p) for p in ("r", "al", "nw", "q", "j", "t"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        if self.flip():
            # four cells, one step a row: a cell made from the parameters is still -inf in
            # the second row, where logaddexp reads two of them
            self.emit_lines(indent, f"""{a} = np.full(4, -np.inf)
{a}[0] = {s} * {v}[0]
for {q} in {self.some_range("range(3)", "range(2)")}:
    {nw} = np.full(4, -np.inf)
    for {j} in range(4):
        {t} = {a}[{j}]
        if {j} >= 1:
            {t} = np.logaddexp({t}, {a}[{j} - 1])
        {nw}[{j}] = {t} + 0.5 * {v}[{j} % 3] * {s}
    {a} = {nw}
{name} = np.logaddexp({a}[0], {a}[3])""")
            return self.finish(indent, name, 1.5 + 5 * (0.75 + math.log(2)))
        best = self.choice(['float("inf")', "float('inf')"])
        self.emit_lines(indent, f"""{name} = {best}
for {q} in range(3):
    {t} = ({v}[{q}] - {s}) ** 2
    if {t} < {name}:
        {name} = {t}""")
        self.finish(indent, name, 2.5 ** 2)

    def inf_table(self, indent):
        """A dynamic programming table from ``np.full((4, 4), np.inf)`` (``math.inf``,
        ``float("inf")``; ``-np.inf`` with ``max``) with one finite corner: each cell a cost
        and the best of its three neighbours, a neighbour multiplied by a positive weight
        (``inf * w``), or with a gap added (``inf + g``), read at the far corner."""
        self.features.add("inf-table")
        name, d, i, j, c = (self.name(p) for p in ("r", "D", "i", "j", "c"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        w = f"(1.5 + {s} * {s})"
        sign = self.choice(["", "-"])
        best = "min" if sign == "" else "max"
        inf = self.choice(["np.inf", "math.inf", 'float("inf")'])
        up, left, diag = f"{d}[{i} - 1, {j}]", f"{d}[{i}, {j} - 1]", f"{d}[{i} - 1, {j} - 1]"
        step = self.choice([f"{best}({w} * {up}, {w} * {left}, {diag})",
                            f"{best}({up} {'+' if not sign else '-'} {w}, {left} "
                            f"{'+' if not sign else '-'} 0.5, {diag})",
                            f"{best}({w} * {up} {'+' if not sign else '-'} 0.5, {left} * {w}, "
                            f"{diag})"])
        self.emit_lines(indent, f"""{d} = np.full((4, 4), {sign}{inf})
{d}[0, 0] = 0.0
for {i} in range(1, 4):
    for {j} in range(1, 4):
        {c} = ({v}[{i} - 1] - {v}[{j} - 1] * {s}) ** 2
        {d}[{i}, {j}] = {sign}{c} + {step}
{name} = {d}[3, 3]""")
        self.finish(indent, name, 3 * 3.0 ** 2 * 2.5 ** 3)

    def row_loops(self, indent):
        """Loops over an array's rows as JAX users write them: a list appended to in
        ``for a in A`` (``enumerate``, ``zip``, ``reversed``) and read whole, the rows of an
        int array unpacked in the loop target (``for p, q in E``), ``np.clip`` of numbers."""
        self.features.add("row-loops")
        name, lst, q, a, b = (self.name(p) for p in ("r", "L", "q", "a", "b"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["list", "edges", "clip"])
        if form == "list":
            self.used.add("A")
            head, item = self.choice([
                (f"for {a} in A:", f"np.tanh({a} * {s})"),
                (f"for {q}, {a} in enumerate(A):", f"{a} * {s} + {q}"),
                (f"for {a}, {b} in zip(A, A[::-1]):", f"{a} * {b} * {s}"),
                (f"for {a} in reversed({v}):", f"math.sin({a} * {s})")])
            self.emit_lines(indent, f"""{lst} = []
{head}
    {lst}.append({item})""")
            read = self.choice([f"np.sum(np.array({lst}) ** 2)", f"np.sum(np.stack({lst}))",
                                f"np.mean({lst}) * len({lst})"])
            self.emit(indent, f"{name} = {read}")
            return self.finish(indent, name, 6 * 7.5 ** 2)
        if form == "edges":
            e = self.name("E")
            self.emit_lines(indent, f"""{e} = np.array([[0, 1], [2, 1], [0, 2], [1, 1]])
{name} = 0.0
for {a}, {b} in {e}:
    {name} += ({v}[{a}] - {v}[{b}] * {s}) ** 2""")
            return self.finish(indent, name, 4 * 3.0 ** 2)
        self.emit_lines(indent, f"""{name} = 0.0
for {a} in {v}:
    {name} += np.clip({a} * {s}, -0.3, 0.4) + max(0.0, {a} - {s})""")
        self.finish(indent, name, 3 * 3.4)

    def view_writes(self, indent):
        """Writes through views of local arrays (``row = B[q]; row[j] += ...``, ``tail =
        B[q, 1:]; tail[-1] = ...``, steps ``B[1, ::2]``, ``B[0, 5::-2]``, a chained view
        ``sub = row[1:]`` scaled in place, a column of a rank-3 copy ``C[q, :, 1]``), a
        write into the base read through the view, and ``zip(*A)`` of the matrix parameter
        (two names, or one column at a time looped over)."""
        self.features.add("view-writes")
        name, b, row, q, j = (self.name(p) for p in ("r", "B", "row", "q", "j"))
        tail, sub, col, a, c = (self.name(p) for p in ("tail", "sub", "col", "a", "c"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["rows", "steps", "rank3", "seen", "zip"])
        if form == "rows":
            self.emit_lines(indent, f"""{b} = np.zeros((3, 3))
for {q} in range(3):
    {row} = {b}[{q}]
    for {j} in range(3):
        {row}[{j}] += {v}[{j}] * {s} + {q}
    {tail} = {b}[{q}, 1:]
    {tail}[-1] = {tail}[0] * {s}
    {sub} = {row}[{self.choice(["1:", ":2", "::2"])}]
    {sub} *= 0.5
{name} = np.sum(np.sin({b}))""")
            return self.finish(indent, name, 9.0)
        if form == "steps":
            self.emit_lines(indent, f"""{b} = np.ones((2, 6)) * {s}
ev = {b}[1, ::2]
ev[1:] = {v}[:2] * ev[0]
od = {b}[0, 5::-2]
od[-1] = od[0] + {v}[2]
mid = {b}[0, 1:-1]
mid[:2] *= {s}
{name} = np.sum(np.tanh({b}))""")
            return self.finish(indent, name, 12.0)
        if form == "rank3":
            self.used.add("T")
            self.emit_lines(indent, f"""{b} = T.copy()
for {q} in range(2):
    {col} = {b}[{q}, :, 1]
    {col}[0] = {col}[1] * {s}
    {col}[-1] += {v}[{q}]
{name} = np.sum(np.sin({b}))""")
            return self.finish(indent, name, 12.0)
        if form == "seen":
            self.emit_lines(indent, f"""{b} = np.zeros((3, 3))
{row} = {b}[1]
{b}[1, 0] = {v}[0] * {s}
{b}[1, 2] = {row}[0] + {v}[1]
{name} = math.tanh({row}[2]) + np.sum(np.cos({row}))""")
            return self.finish(indent, name, 4.0)
        self.used.add("A")
        if self.flip():
            self.emit_lines(indent, f"""{name} = 0.0
for {a}, {c} in zip(*A):
    {name} += math.sin({a} * {s}) * math.tanh({c})""")
        else:
            self.emit_lines(indent, f"""{name} = 0.0
for {col} in zip(*A):
    for {a} in {col}:
        {name} += math.tanh({a} * {s}) * len({col})""")
        self.finish(indent, name, 6.0)

    def in_place_helpers(self, indent):
        """Module-level helpers that write into the arrays they are given, called as
        statements (``drift(X, Y, 0.1)``: ``a += h * b``; ``relax(B[q], s)`` on a row view;
        ``kick`` calling ``drift``), and ``e += step_e(X, v, s)``, which writes and returns a
        value; inlined at the call (adcompile/inplace.py).  ``y = grown(x, s)`` with ``a *=
        ...`` inside changes x in place: refused (it was read as a new array)."""
        self.features.add("in-place-helpers")
        name, x, y, b, q = (self.name(p) for p in ("r", "X", "Y", "B", "q"))
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["leapfrog", "rows", "energy", "returned"])
        if form == "returned":  # u *= ... in a helper that returns u: an array is refused
            self.module_helpers.add("grown")
            self.emit_lines(indent, f"""{x} = {v} * 1.0
{y} = grown({x}, {s})
{name} = np.sum({x} * {v}) + np.sum(np.sin({y}))""")
            return self.finish(indent, name, 9.0)
        if form == "leapfrog":
            self.module_helpers |= {"drift", "kick"}
            self.emit_lines(indent, f"""{x} = {v} * 0.5
{y} = np.ones(3) * {s}
for {q} in {self.loop_range()}:
    kick({y}, {x}, {s})
    drift({x}, {y}, {self.choice(["0.1", "-0.2"])})
{name} = np.sum(np.sin({x})) + np.sum(np.cos({y}))""")
            return self.finish(indent, name, 6.0)
        if form == "rows":
            self.module_helpers.add("relax")
            self.emit_lines(indent, f"""{b} = np.zeros((3, 3))
for {q} in range(3):
    {b}[{q}] = {v} * {s} + {q}
    relax({b}[{q}], {s})
relax({b}[:, 1], 0.5)
{name} = np.sum(np.sin({b}))""")
            return self.finish(indent, name, 9.0)
        self.module_helpers.add("step_e")
        self.emit_lines(indent, f"""{x} = {v} * 1.0
{name} = 0.0
for {q} in {self.loop_range()}:
    {name} += step_e({x}, {v}, {s})
{name} = math.tanh({name}) + np.sum(np.sin({x}))""")
        self.finish(indent, name, 4.0)

    def array_copy(self, indent):
        """``y = np.array(v)``, a copy written in a loop, and ``np.array`` of an expression
        of arrays."""
        self.features.add("np-array-copy")
        name, y, z, q = self.name("r"), self.name("y"), self.name("z"), self.name("q")
        v, _ = self.operand_vector()
        s = self.bounded_scalar()
        self.emit_lines(indent, f"""{y} = np.array({v})
for {q} in {self.loop_range()}:
    {z} = np.array({y}[1:] * {s})
    {y}[1:] = 0.5 * ({y}[1:] + np.tanh({z}))
    {y}[{q} % 3] {self.choice(["+=", "*=", "="])} 0.5 * {y}[({q} + 1) % 3]
{name} = np.sum({y} ** 2)""")
        self.finish(indent, name, 3 * 2.5 ** 2)


    def tuple_loops(self, indent):
        """The classes fixed after tests/test_reach_loops7.py: a tuple display made in a loop,
        then ``max(c)`` and ``for e in c``; ``q, r = divmod(k, 3)`` as indices; ``any`` and
        ``all`` of a slice; a factor that is an int array (``np.arange(3).reshape(1, 3)``)."""
        self.features.add("tuple-loops")
        name, c, t, z, e, q, a, b, w = (self.name(p) for p in
                                        ("r", "c", "t", "z", "e", "q", "a", "b", "w"))
        v, vb = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["display", "divmod", "any_all", "int_factor"])
        if form == "display":
            pick = self.choice(["max", "min"])
            self.emit_lines(indent, f"""{name} = 0.0
for {q} in range(3):
    {c} = (0.0, {v}[{q}] * {s}, 0.5 * {name} - 0.5)
    {t} = {pick}({c})
    {z} = 0.0
    for {e} in {c}:
        {z} += math.exp({e} - {t})
    {name} = {t} + math.log({z})""")
            return self.finish(indent, name, 2 * vb + 3.0)
        if form == "divmod":
            self.emit_lines(indent, f"""{name} = 0.0
for {q} in range(6):
    {a}, {b} = divmod({q}, 3)
    {name} += {v}[{b}] * ({a} + 1) * {s}""")
            return self.finish(indent, name, 9 * vb)
        if form == "any_all":
            self.emit_lines(indent, f"""{name} = 0.0
for {q} in range(2):
    {w} = {v}[{q}:{q} + 2] * {s}
    if any({w} > 0.2):
        {name} += np.sum({w} ** 2)
    elif all({w} < 0.0):
        {name} -= np.sum({w})""")
            return self.finish(indent, name, 4 * vb * vb + 4 * vb)
        self.emit(indent, f"{name} = np.sum({v} * {s} * np.arange(3).reshape(1, 3))")
        self.finish(indent, name, 3 * vb)

    def ordinary_forms(self, indent):
        """The refusals of ordinary code fixed after tests/test_reach_loops7.py: ``np.where``
        of numbers carried in a loop, a list of rows made by a comprehension then read and
        written by index, ``sorted`` of a generator, ``:=`` as a while test's first operand;
        and a loop over ``itertools.product`` (a nest, adcompile/products.py); a column or an
        element that is a number in the first step (``(Y[:, j - 1] if j > 0 else 0.0)``
        inside arithmetic, adcompile/conditionals.py); an element's
        test that ``continue``s some iterations of a loop that stores or appends (the test
        was taped as a shape, and the reversal replayed the last iteration's branch)."""
        self.features.add("ordinary-forms")
        name, c, t, z, e, q, w = (self.name(p) for p in ("r", "c", "t", "z", "e", "q", "w"))
        v, vb = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["where", "rows", "sorted", "walrus", "product", "skips",
                            "number_branch"])
        if form == "number_branch":  # a column or an element, or a number in the first step
            column = self.flip()
            prev = f"{w}[:, {q} - 1]" if column else f"{w}[{q} - 1]"
            number = self.choice(["0.0", "0.5", "-1"])
            branch = self.choice([f"({prev} if {q} > 0 else {number})",
                                  f"({number} if {q} == 0 else {prev})"])
            store = f"{w}[:, {q}]" if column else f"{w}[{q}]"
            value = self.choice([f"np.tanh({v}[{q}] * {s} + 0.5 * {branch})",
                                 f"np.tanh({branch} * {s}) + {v}[{q}]"])
            self.emit_lines(indent, f"""{w} = {"np.zeros((2, 3))" if column else "np.zeros(3)"}
for {q} in range(3):
    {store} {self.choice(["=", "+="])} {value}
{name} = np.sum({w} * {w})""")
            return self.finish(indent, name, 6 * (1 + vb) ** 2)
        if form == "skips":  # a test of an element, taken differently across iterations
            appends = self.flip()
            kept = (f"{w}.append({v}[{q}] + 0.5 * {q})" if appends
                    else f"{c}[{q}] = {v}[{q}] * {s} + 0.5 * {q}")
            self.emit_lines(indent, f"""{f"{w} = []" if appends else f"{c} = np.zeros(3)"}
for {q} in range(3):
    if {v}[{q}] {self.choice([">", "<"])} {self.choice(["0.0", "0.5", "-0.3"])}:
        continue
    {kept}
{name} = {f"math.tanh(sum({w}))" if appends else f"np.sum(np.sin({c}))"}""")
            return self.finish(indent, name, 3.0)
        if form == "product":
            self.emit_lines(indent, f"""{w} = np.zeros((3, 3))
for {q}, {e} in itertools.product(range(3), {self.choice(["range(3)", "range(2, -1, -1)"])}):
    if {q} == {e}:
        continue
    {w}[{q}, {e}] = {w}[{q}, {e} - 1] * 0.5 + {v}[{q}] * {v}[{e}] * {s}
{name} = np.sum(np.tanh({w}))""")
            return self.finish(indent, name, 9.0)
        if form == "where":
            self.emit_lines(indent, f"""{name} = 0.0
for {q} in range(3):
    {name} = np.where({v}[{q}] > 0.1, {name} * 0.5 + {v}[{q}] * {s}, {name} - 0.25 * {v}[{q}])""")
            return self.finish(indent, name, 3 * vb)
        if form == "rows":
            self.emit_lines(indent, f"""{w} = [{v}[:3] * {s} for {e} in range(3)]
for {q} in range(1, 3):
    {w}[{q}] = np.sin({w}[{q} - 1]) + {w}[{q}] * 0.5
{name} = np.sum(np.array({w}) ** 2) + np.sum(sum({w}))""")
            return self.finish(indent, name, 9 * (1 + 0.5 * vb) ** 2 + 9 * (1 + 0.5 * vb))
        if form == "sorted":
            self.emit_lines(indent, f"""{c} = sorted({e} * {s} for {e} in {v})
{name} = {c}[0] + 2.0 * {c}[-1]""")
            return self.finish(indent, name, 3 * vb)
        self.emit_lines(indent, f"""{t} = 1.0 + {v}[0] * {v}[0]
{z} = 1.0 + 0.5 * {t}
{q} = 0
while ({e} := abs({z} * {z} - {t})) > 1e-12 and {q} < 40:
    {z} = 0.5 * ({z} + {t} / {z})
    {q} += 1
{name} = {z} * {s} + {e}""")
        self.finish(indent, name, 1.0 + vb)

    def unpacking(self, indent):
        """Python of real loop code (tests/test_constructs2.py): an array unpacked into
        names (``a, b, c = v``, ``top, bottom = A``, ``for a, b, c in A``, enumerated into an
        array's elements), a ``raise`` that the bounded values never reach, a helper
        called as ``h0(*args)`` with a tuple ``args``, and ``max``/``min`` with ``key=``."""
        self.features.add("unpacking")
        name, a, b, c, q, y, top, bot, t = (self.name(p) for p in (
            "r", "a", "b", "c", "q", "y", "top", "bot", "t"))
        v, vb = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["numbers", "rows", "rows_store", "halves", "raise", "star",
                            "keyed"])
        if form == "star" and not self.helpers:
            form = "raise"
        if form == "numbers":
            self.emit_lines(indent, f"""{a}, {b}, {c} = {v}
{name} = {a} * {s} + math.tanh({b} * {c})""")
            return self.finish(indent, name, vb + 1.0)
        if form in ("rows", "rows_store", "halves"):
            self.used.add("A")
        if form == "rows":
            self.emit_lines(indent, f"""{name} = 0.0
for {a}, {b}, {c} in A:
    {name} += {a} * {b} * {s} - math.sin({c})""")
            return self.finish(indent, name, 2 * (2.25 + 1.0))
        if form == "rows_store":
            self.emit_lines(indent, f"""{y} = np.zeros(2)
for {q}, ({a}, {b}, {c}) in enumerate(A):
    {y}[{q}] = {a} * {s} + {b} * {c} * 0.5
{name} = np.sum({y} ** 2)""")
            return self.finish(indent, name, 2 * (1.5 + 1.125) ** 2)
        if form == "halves":
            self.emit_lines(indent, f"""{top}, {bot} = A
{name} = np.sum({top} * {bot}) * {s}""")
            return self.finish(indent, name, 3 * 2.25)
        if form == "raise":
            message = self.choice(['"the value left its bounds"',
                                   'f"{' + name + '} is too large"'])
            kind = self.choice(["ValueError", "RuntimeError"])
            self.emit_lines(indent, f"""{name} = {v}[0] * {s}
if abs({name}) > 1000.0:
    raise {kind}({message})""")
            return self.finish(indent, name, vb)
        if form == "keyed":
            pick = self.choice(["max", "min"])
            # (keys apart at the points drawn, zero vectors included: no tie to break)
            key = self.choice([f"lambda {q}: {v}[{q}] * {s} + 0.1 * {q}",
                               f"lambda {q}: abs({v}[{q}] - 0.2 * {q})"])
            self.emit_lines(indent, f"""{q} = {pick}(range(3), key={key})
{name} = {v}[{q}] * {s} + {pick}(({v}[0], {s}), key=abs)""")
            return self.finish(indent, name, 2 * vb)
        (x0, _), (x1, _) = self.scalar(1), self.scalar(1)
        self.emit_lines(indent, f"""{t} = ({x0}, {x1})
{name} = {self.choice(self.helpers)}(*{t})""")
        self.finish(indent, name, CAP)

    def reset_arrays(self, indent):
        """The classes fixed after tests/test_reach_loops9.py: a work array reset at each
        step by ``g.fill(c)`` or ``g[...] = c`` and then accumulated into, a read through
        ``v[...]``, and a cell index ``np.floor(...).astype(np.int64)`` (piecewise
        constant)."""
        self.features.add("reset-arrays")
        name, g, q, k, c = (self.name(p) for p in ("r", "g", "q", "k", "c"))
        v, vb = self.operand_vector()
        s = self.bounded_scalar()
        form = self.choice(["fill", "ellipsis", "cells"])
        if form == "cells":
            self.emit_lines(indent, f"""{c} = np.floor(np.abs({v}) * 1.3).astype(np.int64) % 3
{g} = np.zeros(3)
for {q} in range(3):
    {g}[{c}[{q}]] += {v}[{q}] * {s}
{name} = np.sum({g} ** 2)""")
            return self.finish(indent, name, 3 * (3 * vb) ** 2)
        reset = f"{g}.fill(0.25)" if form == "fill" else f"{g}[...] = 0.25"
        self.emit_lines(indent, f"""{g} = np.empty(3)
{name} = 0.0
for {q} in range(3):
    {reset}
    for {k} in range(3):
        {g}[{k}] += {v}[...][{k}] * {s} + 0.5 * math.tanh({name})
    {name} = 0.1 * np.sum({g} ** 2)""")
        self.finish(indent, name, 0.3 * (0.75 + vb) ** 2)


BODY_KINDS = ["scalar", "accumulate", "branch", "store", "vector", "update", "while", "nested",
              "view", "matrix", "carried", "pair"]
#: a helper that takes the tuple parameter and returns a tuple (calls of it are inlined)
PAIR_HELPER = ("def pair_helper(p, s):\n    c, w = p\n"
               "    return math.tanh(c * s), w * math.tanh(s) + c\n")
#: snippets of views, masks, counters and tuples in loops: the classes of the fixes after
#: 6a3e894 (a transposed view taped in a loop, a helper's view, ``r = A[i]; r += w``, a
#: view of a loop's carried array, slices of a tuple parameter, masks of any rank, ``dtype=``
#: int and bool arrays, an inner loop's counter read after it).  Not in ``BODY_KINDS``: drawn
#: by ``programs(kinds=VIEW_KINDS)`` (tests/test_progen_views.py) or ``ALL_KINDS``.
VIEW_KINDS = ["counter_after", "transposed", "view_helper", "row_augmented", "view_carried",
              "layers", "masks", "dtype_arrays"]
#: lists and tables as scientists write them: the list forms that work (``L = []`` and one
#: ``L.append(e)`` per iteration of a for loop over a range, or of one inner loop over a
#: range, read whole after it; ``np.array([e for t in it])``), and the classes fixed after
#: tests/test_reach_loops4.py (``[0.0] * n``, ``D[i][j] = ...``, ``np.arange(n,
#: dtype=float)``, ``np.logaddexp`` of two ``-inf``, ``float('inf')``, ``np.array(x)`` of
#: an array), and after tests/test_reach_loops5.py (rows of a recursion as lists handed on,
#: a loop's ``else``, a copy sorted in place), and after tests/test_reach_loops7.py (tuple
#: displays made in loops, ``divmod``, ``any``/``all``, int array factors), and after
#: tests/test_reach_loops8.py (``np.where`` of numbers, lists of rows by index, ``sorted``
#: of a generator, ``:=`` in a while test), and after tests/test_reach_loops9.py (arrays
#: reset by ``.fill`` or ``[...] =``, ``.astype(np.int64)`` cells), and writes through
#: views of local arrays and ``zip(*A)`` of a parameter (``view_writes``), helpers that
#: write into the arrays they are given (``in_place_helpers``), and arrays unpacked into
#: names, ``raise`` and ``h(*args)`` (``unpacking``).  Not in
#: ``BODY_KINDS``: drawn by ``programs(kinds=LOOP_KINDS)`` (tests/test_progen_loops.py) or
#: ``ALL_KINDS``.
LOOP_KINDS = ["appended", "filled_list", "chained_table", "log_recursion", "array_copy",
              "handed_rows", "else_and_sorts", "inf_table", "row_loops", "tuple_loops",
              "ordinary_forms", "reset_arrays", "view_writes", "in_place_helpers",
              "unpacking"]
ALL_KINDS = BODY_KINDS + VIEW_KINDS + LOOP_KINDS
#: helpers returning views of their argument (a slice, a row, a transpose)
VIEW_HELPERS = {"tail": "def tail(w):\n    return w[1:]\n",
                "row_of": "def row_of(M, i):\n    return M[i]\n",
                "flipped": "def flipped(M):\n    return M.T\n",
                # helpers that write into their arguments (LOOP_KINDS' in_place_helpers)
                "drift": "def drift(a, b, h):\n    a += h * np.tanh(b)\n",
                "kick": "def kick(b, a, k):\n    b -= 0.1 * np.sin(k * a)\n"
                        "    drift(b, a, 0.05)\n",
                "grown": "def grown(a, h):\n    a *= 1.0 + 0.1 * h\n    return a\n",
                "relax": "def relax(w, k):\n    for i in range(1, w.shape[0]):\n"
                         "        w[i] += 0.5 * math.tanh(k * w[i - 1])\n",
                "step_e": "def step_e(a, b, h):\n    for i in range(len(a)):\n"
                          "        a[i] = a[i] + 0.1 * h * math.cos(b[i] + a[i])\n"
                          "    return np.sum(a * a) * 0.1\n"}
HELPER_KINDS = ["scalar", "accumulate", "branch", "update", "while"]


def helper_sources(draw):
    """Up to two scalar helpers ``h0(p, q=...)``, ``h1(p, q=...)`` (``h1`` may call ``h0``)
    and maybe one array helper ``g0(w, s=0.5)``."""
    sources, names = [], []
    for number in range(draw(st.integers(0, 2))):
        writer = Writer(draw, {"p": CAP, "q": CAP}, helpers=list(names), params=False)
        default = draw(st.sampled_from(["2", "0.5", "-1", "1.5"]))
        writer.statements(1, draw(st.integers(0, 2)), HELPER_KINDS)
        result, _ = writer.scalar(2)
        body = "\n".join(writer.lines)
        sources.append(f"def h{number}(p, q={default}):\n" + (body + "\n" if body else "")
                       + f"    return math.tanh({result}) * 2.0\n")
        names.append(f"h{number}")
    vector_helpers = []
    if draw(st.integers(0, 2)) == 0:
        body = draw(st.sampled_from([
            "    return np.sum(np.sin(w) * s)\n",
            "    t = 0\n    for i in range(3):\n        t = t + w[i] * s\n"
            "    return math.tanh(t)\n",
            "    t = w.copy()\n    t[0] = s\n    return np.sum(np.tanh(t))\n",
        ]))
        sources.append(f"def g0(w, s=0.5):\n{body}")
        vector_helpers.append("g0")
    return sources, names, vector_helpers


@st.composite
def floats_away_from_zero(draw):
    magnitude = draw(st.integers(300, 1500)) / 1000.0 + 1.234e-4
    return magnitude if draw(st.booleans()) else -magnitude


def argument(draw, name, as_int):
    kind = KINDS[name]
    if kind == "float":
        if as_int:
            return draw(st.sampled_from([1, -1, 2]))
        return draw(floats_away_from_zero())
    if kind == "vec":
        # exact zeros sometimes (products with zeros); no vector element is a divisor,
        # and a kink at zero (abs) makes the oracle skip the point
        element = st.one_of(floats_away_from_zero(), floats_away_from_zero(), st.just(0.0))
        return np.array(draw(st.lists(element, min_size=3, max_size=3)))
    if kind == "mat":
        return np.array(draw(st.lists(floats_away_from_zero(), min_size=6, max_size=6)))\
            .reshape(2, 3)
    if kind == "count":
        return draw(st.integers(-2, 4))
    if kind == "power":
        return draw(st.sampled_from([1, 2, -1, 3, -2]))
    if kind == "bool":
        if as_int:
            return draw(st.sampled_from([0, 1]))
        return draw(st.booleans())
    if kind == "index":
        return np.array(draw(st.lists(st.integers(0, 2), min_size=3, max_size=3)),
                        dtype=np.int64)
    if kind == "pair":
        pair = [argument(draw, "x", False), argument(draw, "u", False)]
        return pair if draw(st.integers(0, 3)) == 0 else tuple(pair)
    if kind == "ten":
        return np.array(draw(st.lists(floats_away_from_zero(), min_size=12, max_size=12)))\
            .reshape(2, 2, 3)
    if kind == "layers":  # ((W0, b0), (W1, b1), (w, c)): weights (3, 3), biases (3,)

        def block(shape):
            size = int(np.prod(shape))
            values = draw(st.lists(floats_away_from_zero(), min_size=size, max_size=size))
            return 0.5 * np.array(values).reshape(shape)

        hidden = tuple((block((3, 3)), block((3,))) for _ in range(2))
        return hidden + ((block((3,)), 0.5 * draw(floats_away_from_zero())),)
    return np.array(draw(st.lists(st.integers(-3, 3), min_size=3, max_size=3)),
                    dtype=np.int64)


@st.composite
def programs(draw, statements=3, kinds=BODY_KINDS, first=None):
    """A random :class:`Program` (see the module docstring) of 1 to ``statements`` top-level
    snippets drawn from ``kinds``; with ``first`` (a kind), the first snippet is of that kind
    and up to ``statements - 1`` follow."""
    sources, helpers, vector_helpers = helper_sources(draw)
    writer = Writer(draw, {}, helpers=helpers, vector_helpers=vector_helpers)
    if first is None:
        writer.statements(1, draw(st.integers(1, statements)), kinds)
    else:
        writer.statement(1, first)
        writer.statements(1, draw(st.integers(0, statements - 1)), kinds)
    terms = [f"{draw(st.sampled_from(['', '0.5 * ', '-1.5 * ']))}{s}"
             for s in sorted(writer.scalars)]
    terms += [f"np.sum(np.sin({w}))" for w in sorted(writer.vectors)]
    terms += [f"np.mean({a})" for a in sorted(writer.matrices)]
    if not writer.used & set(DIFFERENTIABLE):
        terms.append(writer.param("x"))
    if writer.bare_results and draw(st.booleans()):
        terms = [draw(st.sampled_from(writer.bare_results))]
    params = [p for p in KINDS if p in writer.used]
    body = "\n".join(writer.lines)
    if writer.pair_helper:
        sources.append(PAIR_HELPER)
    sources += [VIEW_HELPERS[h] for h in sorted(writer.module_helpers)]
    sources.append(f"def f({', '.join(params)}):\n{body}\n    return {' + '.join(terms)}\n")
    source = HEADER + "\n\n" + "\n\n".join(sources)
    candidates = [p for p in params if p in DIFFERENTIABLE]
    wrt_names = draw(st.lists(st.sampled_from(candidates), min_size=1,
                              max_size=len(candidates), unique=True))
    wrt = tuple(p if draw(st.booleans()) else params.index(p) for p in wrt_names)
    if len(wrt) == 1 and draw(st.booleans()):
        wrt = wrt[0]
    as_int = {p: KINDS[p] in ("float", "bool") and draw(st.integers(0, 4)) == 0
              for p in params}
    points = [tuple(argument(draw, p, as_int[p]) for p in params) for _ in range(2)]
    features = set(writer.features)
    if any(as_int[p] for p in FLOATS if p in as_int):
        features.add("float-passed-as-int")
    if as_int.get("flag"):
        features.add("bool-passed-as-int")
    if sources[:-1]:
        features.add("helper")
    # the value-and-gradient is compiled for every program, the gradient alone for some
    both = draw(st.integers(0, 3)) == 0
    return Program(source, params, points, wrt, frozenset(features), both)


# -- running a program ------------------------------------------------------------------------

RTOL, ATOL = 1e-4, 1e-6
_modules = itertools.count()


@dataclasses.dataclass
class Outcome:
    """What happened to one program: ``ok``, ``refused``, ``skipped``, ``invalid`` or
    ``mismatch`` (with ``cls``, a short class name, and ``detail``)."""

    status: str
    cls: str = ""
    detail: str = ""


def load(directory, source):
    """Write ``source`` to a fresh module file in ``directory`` and return its ``f``."""
    name = f"diff_program_{next(_modules)}"
    path = pathlib.Path(directory) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module.f


def _copy(point):
    return tuple(_copy_value(a) for a in point)


def _copy_value(a):
    if isinstance(a, (tuple, list)):
        return type(a)(_copy_value(e) for e in a)
    return a.copy() if isinstance(a, np.ndarray) else a


def _difference(f, point, i, index, h):
    """Central difference of ``f`` in argument ``i`` (element ``index`` of an array)."""
    lo, hi = list(_copy(point)), list(_copy(point))
    if index is None:
        lo[i] = float(point[i]) - h
        hi[i] = float(point[i]) + h
    else:
        lo[i][index] -= h
        hi[i][index] += h
    f_hi, f_lo = float(f(*hi)), float(f(*lo))
    return f_hi, f_lo, (f_hi - f_lo) / (2.0 * h)


def oracle(f, point, i):
    """d f / d argument ``i`` by float64 central differences (step 1e-6 relative), or None
    when the point is too close to a kink (two steps disagree, or the one-sided slopes do).
    For a tuple (or list) argument, a tuple (or list) of the derivatives by its elements."""
    x = point[i]
    if isinstance(x, (tuple, list)):
        parts = []
        for k in range(len(x)):
            def of_element(*args, k=k):
                whole = list(_copy_value(x))
                whole[k] = args[i]
                return f(*args[:i], type(x)(whole), *args[i + 1:])

            parts.append(oracle(of_element, point[:i] + (x[k],) + point[i + 1:], i))
        return None if any(p is None for p in parts) else type(x)(parts)
    mid = float(f(*_copy(point)))
    if isinstance(x, np.ndarray):
        out = np.empty(x.shape)
        indices = list(np.ndindex(x.shape))
    else:
        out = None
        indices = [None]
    for index in indices:
        value = x[index] if index is not None else x
        h = 1e-6 * max(1.0, abs(float(value)))
        f_hi, f_lo, fine = _difference(f, point, i, index, h)
        _, _, coarse = _difference(f, point, i, index, 4 * h)
        gap = abs((f_hi - mid) - (mid - f_lo)) / h
        scale = 1.0 + abs(fine)
        if abs(fine - coarse) > 1e-6 * scale + 1e-8 * abs(mid) / h or gap > 1e-3 * scale:
            return None
        if out is None:
            return fine
        out[index] = fine
    return out


def _leaves(values):
    out = []
    for v in values:
        out.extend(_leaves(v) if isinstance(v, (tuple, list)) else [v])
    return out


def _same(a, b):
    if isinstance(a, (tuple, list)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(a, b))
    return type(a) is type(b) and a == b


def _expected(f, program, indices):
    """``[(point, value, finite differences by wrt parameter)]`` at the program's points
    away from kinks, or the :class:`Outcome` that ends the check (``invalid``, ``skipped``)."""
    expected = []
    for point in program.points:
        try:
            value = float(f(*_copy(point)))
            want = [oracle(f, point, i) for i in indices]
        except Exception:
            return Outcome("invalid", "python", traceback.format_exc(limit=3))
        if not math.isfinite(value) or abs(value) > 1e6:
            return Outcome("invalid", "python", f"value {value!r}")
        if all(w is not None for w in want):
            expected.append((point, value, want))
    return expected or Outcome("skipped")


def check(program, directory):
    """Run one program against the oracle; see :class:`Outcome`."""
    try:
        f = load(directory, program.source)
    except Exception:  # the generator wrote something Python cannot run
        return Outcome("invalid", "import", traceback.format_exc(limit=2))
    params = program.params
    wrt = program.wrt_names()
    single = not isinstance(program.wrt, tuple)
    indices = [params.index(w) for w in wrt]
    expected = _expected(f, program, indices)
    if isinstance(expected, Outcome):
        return expected
    try:
        value_and_grad = adc.value_and_grad(f, wrt=program.wrt)
        roles = [("value_and_grad", value_and_grad)]
        if program.both:
            roles.append(("grad", adc.grad(f, wrt=program.wrt)))
    except adc.AdcompileError as error:
        return Outcome("refused", "grad()", str(error))
    except Exception as error:
        return Outcome("mismatch", f"raw {type(error).__name__} at grad()",
                       traceback.format_exc(limit=4))
    for point, value, want in expected:
        for role, function in roles:
            args = _copy(point)
            try:
                result = function(*args)
            except adc.AdcompileError as error:
                return Outcome("refused", f"{role} call", str(error))
            except Exception as error:
                return Outcome("mismatch", f"raw {type(error).__name__} in {role}",
                               traceback.format_exc(limit=4))
            problem = _compare(program, point, args, value, want, role, result, single,
                               indices)
            if problem is not None:
                cls, detail = problem
                source = getattr(function, "source", "")
                return Outcome("mismatch", cls, f"{detail}\n--- generated ---\n{source}")
    return Outcome("ok")


def _compare(program, point, args, value, want, role, result, single, indices):
    """``(class, detail)`` of the first problem with one call's result, or None."""
    params = program.params
    for name, before, after in zip(params, point, args, strict=True):
        if not _same(before, after):
            return ("input modified", f"{role} changed argument {name}: {_show((before,))} "
                    f"-> {_show((after,))}")
    if role == "value_and_grad":
        got_value, grads = result
        numeric = isinstance(got_value, (int, float)) and not isinstance(got_value, bool)
        if not (numeric and math.isclose(got_value, value, rel_tol=1e-9, abs_tol=1e-12)):
            return ("wrong value", f"value {got_value!r}, f gives {value!r} at {_show(point)}")
    else:
        grads = result
    grads = [grads] if single else list(grads)
    if len(grads) != len(indices):
        return ("wrong gradient", f"{len(grads)} gradients for {len(indices)} wrt")
    arrays = []
    pairs = []
    for i, g, w in zip(indices, grads, want, strict=True):
        # a tuple parameter (of tuples): compared element by element
        problem = _pair_up(i, params[i], g, w, pairs)
        if problem is not None:
            return problem
    inputs = [a for a in _leaves(args) if isinstance(a, np.ndarray)]
    for _i, name, g, w in pairs:
        if isinstance(w, np.ndarray):
            if not (isinstance(g, np.ndarray) and g.shape == w.shape
                    and g.dtype == np.float64):
                return ("gradient type", f"d f / d {name}: {g!r}, want an array of shape "
                        f"{w.shape}")
            if any(np.shares_memory(g, a) for a in arrays):
                return ("gradients share memory", f"d f / d {name} shares memory with "
                        "another gradient")
            if any(np.shares_memory(g, a) for a in inputs):
                return ("gradient aliases an input", f"d f / d {name} is a view of an input")
            arrays.append(g)
            ok = np.allclose(g, w, rtol=RTOL, atol=ATOL)
        else:
            if not isinstance(g, float):
                return ("gradient type", f"d f / d {name}: {g!r} ({type(g).__name__}), "
                        "want a float")
            ok = math.isclose(g, w, rel_tol=RTOL, abs_tol=ATOL)
        if not ok:
            shown = g.tolist() if isinstance(g, np.ndarray) else g
            wanted = w.tolist() if isinstance(w, np.ndarray) else w
            return ("wrong gradient", f"{role}: d f / d {name} at {_show(point)}: got "
                    f"{shown!r}, finite differences {wanted!r}")
    return None


def _pair_up(i, name, g, w, pairs):
    """Append ``(i, name, gradient, wanted)`` to ``pairs`` for each leaf of a (nested) tuple
    parameter, or for the parameter itself; a problem if the structures differ."""
    if not isinstance(w, (tuple, list)):
        pairs.append((i, name, g, w))
        return None
    if type(g) is not type(w) or len(g) != len(w):
        return ("gradient type", f"d f / d {name}: {g!r}, want a {type(w).__name__} of "
                f"{len(w)}")
    for k, (ge, we) in enumerate(zip(g, w, strict=True)):
        problem = _pair_up(i, f"{name}[{k}]", ge, we, pairs)
        if problem is not None:
            return problem
    return None


def check_forward(program, directory, seed=0):
    """Forward mode on one program: ``jvp(f, wrt)`` at each point, in a random direction,
    against the same finite differences (the directional derivative is the sum over the
    ``wrt`` parameters of each one's differences times its tangent).  Outcomes as for
    :func:`check`; a program with tuple parameters is refused by forward mode."""
    try:
        f = load(directory, program.source)
    except Exception:
        return Outcome("invalid", "import", traceback.format_exc(limit=2))
    params = program.params
    indices = [params.index(w) for w in program.wrt_names()]
    rng = np.random.default_rng(seed)
    expected = _expected(f, program, indices)
    if isinstance(expected, Outcome):
        return expected
    try:
        jvp = adc.jvp(f, wrt=program.wrt)
    except adc.AdcompileError as error:
        return Outcome("refused", "jvp()", str(error))
    except Exception as error:
        return Outcome("mismatch", f"raw {type(error).__name__} at jvp()",
                       traceback.format_exc(limit=4))
    for point, value, want in expected:
        if any(isinstance(w, (tuple, list)) for w in want):
            return Outcome("refused", "tuple parameter", "")
        tangents = [rng.standard_normal(np.shape(w)) if np.ndim(w) else float(
            rng.standard_normal()) for w in want]
        args = _copy(point)
        try:
            got_value, got = jvp(*args, *tangents)
        except adc.AdcompileError as error:
            return Outcome("refused", "jvp call", str(error))
        except Exception as error:
            return Outcome("mismatch", f"raw {type(error).__name__} in jvp",
                           traceback.format_exc(limit=4))
        for name, before, after in zip(params, point, args, strict=True):
            if not _same(before, after):
                return Outcome("mismatch", "input modified", f"jvp changed argument {name}")
        if not math.isclose(float(got_value), value, rel_tol=1e-9, abs_tol=1e-12):
            return Outcome("mismatch", "wrong value", f"value {got_value!r}, f gives "
                           f"{value!r} at {_show(point)}\n--- generated ---\n{jvp.source}")
        scale = sum(float(np.sum(np.abs(w * t))) for w, t in zip(want, tangents, strict=True))
        direct = sum(float(np.sum(w * t)) for w, t in zip(want, tangents, strict=True))
        if not (isinstance(got, float) and abs(got - direct) <= RTOL * scale + ATOL):
            return Outcome("mismatch", "wrong tangent",
                           f"jvp at {_show(point)} along {tangents!r}: got {got!r}, finite "
                           f"differences {direct!r}\n--- generated ---\n{jvp.source}")
    return Outcome("ok")


# -- campaigns (the long profile) -------------------------------------------------------------


def check_drawn(kinds, first, count, seed, directory):
    """Check ``count`` programs of ``kinds`` that start with the snippet ``first``, drawn from
    ``seed`` (the same programs in every run); fail at a mismatch or a generator defect.
    Returns the outcomes' statuses."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    statuses = []

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seeded(seed)
    @given(programs(statements=2, kinds=kinds, first=first))
    def run(program):
        outcome = check(program, directory)
        statuses.append(outcome.status)
        assert outcome.status != "mismatch", (
            f"MISMATCH ({outcome.cls})\n{program!r}\n{outcome.detail}")
        assert outcome.status != "invalid", f"generator defect\n{program!r}\n{outcome.detail}"

    run()
    return statuses


def campaign(count, seed, directory, keep=3, kinds=BODY_KINDS, checker=None):
    """Run ``count`` programs drawn by Hypothesis from ``seed``, recording every outcome
    instead of stopping at the first mismatch.  Returns ``(counts, mismatches, seconds)``:
    outcome counts, up to ``keep`` reports per mismatch class, and the time taken.
    ``checker`` is :func:`check` (reverse mode) unless given (:func:`check_forward`)."""
    checker = checker or check
    import pathlib
    import time

    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as seeded

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    mismatches: dict[str, list[str]] = {}

    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @seeded(seed)
    @given(programs(kinds=kinds))
    def run(program):
        outcome = checker(program, directory)
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status == "mismatch":
            counts["mismatch: " + outcome.cls] = counts.get("mismatch: " + outcome.cls, 0) + 1
            reports = mismatches.setdefault(outcome.cls, [])
            if len(reports) < keep:
                reports.append(f"{program!r}\n{outcome.detail}")
        elif outcome.status == "refused":
            key = "refused: " + refusal_reason(outcome.detail)
            counts[key] = counts.get(key, 0) + 1
            if counts[key] == 1:
                refusals = mismatches.setdefault("(refused) " + key[9:], [])
                refusals.append(f"{program!r}\n{outcome.detail}")
        elif outcome.status == "invalid":
            reports = mismatches.setdefault("generator defect (" + outcome.cls + ")", [])
            if len(reports) < keep:
                reports.append(f"{program!r}\n{outcome.detail}")

    start = time.perf_counter()
    run()
    return counts, mismatches, time.perf_counter() - start


def refusal_reason(message):
    """The gist of an ``AdcompileError`` message, without file names, for the tallies."""
    import re

    first = message.strip().split("\n")[0]
    first = re.sub(r"^\S*\.py:\d+: in \w+\(\): ", "", first)
    first = re.sub(r"\(generated from .*?\) ", "", first)
    first = re.sub(r"^\w+\(\) at \S+: ", "", first)
    match = re.search(r"(Unknown attribute '\w+'|No implementation of function [^\n(]*|"
                      r"Cannot unify [^\n]*?(?= File| \(|$)|Invalid use of [^\n(]*)", message)
    if match:
        first = first.split(":")[0] + ": " + match.group(1)
    return first[:120]


def merged(results):
    """Sum the counts and join the mismatch reports of several campaigns."""
    counts: dict[str, int] = {}
    mismatches: dict[str, list[str]] = {}
    for part, reports, _ in results:
        for key, value in part.items():
            counts[key] = counts.get(key, 0) + value
        for key, value in reports.items():
            mismatches.setdefault(key, []).extend(value)
    return counts, mismatches

