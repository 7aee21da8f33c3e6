"""The derivative rules: one registry for the library's primitives and the user's functions.

A rule is a small Python function that reads like a line of a table of derivatives::

    @derivative(math.sin, np.sin)
    def sin(g, ans, x):
        return g * np.cos(x)

Its first parameter is the adjoint of the result (``g``), its second the result itself (``ans``),
then one parameter per argument of the primitive.  It returns one expression per argument: that
argument's contribution to its adjoint, or ``None`` where the primitive is not differentiable in
that argument.  The reverse pass inlines the rule's return expression into the generated code,
with the user's names substituted, so a rule must be a single ``return`` of plain arithmetic and
calls that Numba can compile.  See ``docs/rules.md``.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AdcompileError, api_boundary


@dataclass
class Rule:
    """The derivative of one primitive with a fixed number of arguments."""

    primal: Any
    template: types.FunctionType
    nargs: int
    #: elementwise rules get their contributions summed over broadcast axes when arrays meet
    elementwise: bool = True
    _body: ast.expr | None = field(default=None, repr=False)

    @property
    def params(self) -> list[str]:
        code = self.template.__code__
        return list(code.co_varnames[: code.co_argcount])

    def body(self) -> ast.expr:
        """The rule's return expression (parsed once, on first use)."""
        if self._body is None:
            self._body = _parse_template(self.template)
        return self._body

    def free_names(self) -> dict[str, Any]:
        """Free names of the rule's formula, resolved through the rule's module."""
        params = set(self.params)
        out: dict[str, Any] = {}
        func = self.template
        closure = {}
        if func.__closure__:
            closure = {n: c.cell_contents
                       for n, c in zip(func.__code__.co_freevars, func.__closure__, strict=True)}
        for node in ast.walk(self.body()):
            if isinstance(node, ast.Name) and node.id not in params and node.id not in out:
                if node.id in closure:
                    out[node.id] = closure[node.id]
                elif node.id in func.__globals__:
                    out[node.id] = func.__globals__[node.id]
                elif hasattr(builtins, node.id):
                    out[node.id] = None  # a builtin: no binding needed
                else:
                    raise AdcompileError(
                        f"the derivative rule {func.__qualname__} uses the unknown name "
                        f"'{node.id}'", filename=func.__code__.co_filename,
                        lineno=func.__code__.co_firstlineno, construct="an unknown name",
                        hint=f"import or define '{node.id}' at module level in the rule's "
                        "file")
        return out


_RULES: dict[tuple[int, int], Rule] = {}
#: forward-mode rules (``tangent``) and primitives declared ``linear``
_FORWARD: dict[tuple[int, int], Rule] = {}
_LINEAR: dict[int, str] = {}
#: arguments read only for their shape or dtype (see ``shape_only``)
_SHAPE_ONLY: dict[int, set[int]] = {}
_NONDIFF: dict[int, Any] = {}
_USER_SOURCES: list[str] = []
#: NumPy/SciPy functions the forward sweep calls under another name (``implemented_by``)
_IMPLEMENTATIONS: dict[int, Any] = {}
#: functions expanded at the call into plain Python the compiler reads (``composite``)
_COMPOSITES: dict[int, Any] = {}
#: functions whose calls are rewritten into other calls before normalization (``rewrite``)
_REWRITERS: dict[int, Any] = {}
_TUPLE_REWRITERS: set[int] = set()


def _scipy_rules() -> None:
    """Register SciPy's rules (``rules/special.py``) once the user's code has imported
    ``scipy.special``: ``import adcompile`` does not import SciPy.  Every lookup calls this."""
    if "scipy.special" in sys.modules and __name__ + ".special" not in sys.modules:
        from . import special  # noqa: F401


def derivative(*primals: Any, elementwise: bool = True,
               forward: types.FunctionType | None = None
               ) -> Callable[[types.FunctionType], types.FunctionType]:
    """Register the decorated rule as the derivative of each of ``primals``.

    The rule's signature is ``(g, ans, *args)``: adjoint of the result, the result, and the
    primitive's arguments; it returns one adjoint contribution per argument (a tuple when
    there are several).  Registering again for the same primitive and arity replaces the rule.
    ``elementwise=False`` says the rule already returns adjoints of the arguments' shapes
    (reductions, products of matrices); elementwise rules are summed over broadcast axes.

    ``forward`` is the optional forward-mode rule, ``(t, ans, *args)``: for each argument, the
    part of the result's tangent that comes from that argument's tangent ``t`` (see
    :func:`tangent`).  Without one, forward mode uses the reverse rule itself where that is
    exact: for functions of numbers, ``g * f'(x)`` with the tangent in place of ``g``.
    """
    if not primals:
        raise TypeError("derivative() needs the function(s) the rule differentiates")

    @api_boundary
    def register(template: types.FunctionType) -> types.FunctionType:
        _register(_RULES, primals, template, elementwise, ("derivative rule", "g",
                                                           "the adjoint of the result"))
        if forward is not None:
            tangent(*primals)(forward)
        return template

    return register


def _register(table: dict, primals: tuple, template: types.FunctionType, elementwise: bool,
              kind: tuple[str, str, str]) -> None:
    """``template`` as the rule of each of ``primals`` in ``table``; a user's rule is checked
    now (where the error is easiest to read) and its text joins the cache key."""
    nargs = _arity(template, *kind)
    rule = None
    for primal in primals:
        rule = Rule(primal=primal, template=template, nargs=nargs, elementwise=elementwise)
        table[(id(primal), nargs)] = rule
    if template.__module__.rpartition(".")[0] != __name__:
        rule.body()
        _USER_SOURCES.append(inspect.getsource(template))


def _arity(template: types.FunctionType, what: str, first: str, meaning: str) -> int:
    """How many arguments the rule ``template``, ``(first, ans, *args)``, differentiates."""
    code = template.__code__
    if code.co_argcount < 3 or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        raise AdcompileError(
            f"{what} {template.__qualname__} must take ({first}, ans, x, ...): {meaning}, "
            "the result, then one parameter per argument", filename=code.co_filename,
            lineno=code.co_firstlineno, construct="a rule signature",
            hint=f"def rule({first}, ans, x): return {first} * ...")
    return code.co_argcount - 2


def tangent(*primals: Any) -> Callable[[types.FunctionType], types.FunctionType]:
    """Register the decorated forward-mode rule of each of ``primals``.

    The rule's signature is ``(t, ans, *args)``, like a reverse rule's with the tangent ``t``
    of one argument in place of the adjoint of the result.  It returns, for each argument, the
    part of the result's tangent that argument contributes when its tangent is ``t``
    (``None`` where the primitive is not differentiable in it)::

        @tangent(np.max)
        def max(t, ans, x):
            return np.sum(t * ties(x, ans, None))

    Forward mode adds the parts of the arguments that vary.  Elementwise primitives need no
    forward rule: their reverse rule, ``g * f'(x)``, is the forward rule with ``t`` for ``g``.
    """
    if not primals:
        raise TypeError("tangent() needs the function(s) the rule differentiates")

    @api_boundary
    def register(template: types.FunctionType) -> types.FunctionType:
        _register(_FORWARD, primals, template, False, ("forward rule", "t",
                                                       "the tangent of one argument"))
        return template

    return register


def linear(*primals: Any, jointly: bool = True) -> None:
    """Declare ``primals`` linear in the arguments their reverse rule differentiates: the
    tangent of the result is the primitive applied to the arguments' tangents.

    ``jointly=True`` (sums, reshapes, stacking): ``f(x + tx, y + ty) = f(x, y) + f(tx, ty)``,
    one call with every differentiated argument replaced by its tangent (zero where it does
    not vary).  ``jointly=False`` (products such as ``a @ b``): linear in each argument
    separately, one call per varying argument with that argument replaced by its tangent.
    """
    for primal in primals:
        _LINEAR[id(primal)] = "linear" if jointly else "multilinear"


def forward_lookup(primal: Any, nargs: int) -> tuple[str, Rule | None]:
    """How forward mode differentiates ``primal`` called with ``nargs`` arguments.

    ``("formula", rule)``: a forward rule; ``("linear" | "multilinear", reverse rule)``: the
    primitive applied to tangents (the reverse rule tells which arguments are differentiated);
    ``("elementwise", reverse rule)``: a library rule of an elementwise primitive, used with
    the tangent for ``g``; ``("scalar", reverse rule)``: the same for a user's rule, valid for
    numbers only; ``("none", None)``: no way.
    """
    _scipy_rules()
    rule = _FORWARD.get((id(primal), nargs))
    if rule is not None:
        return "formula", rule
    reverse = lookup(primal, nargs)
    kind = _LINEAR.get(id(primal))
    if kind is not None and reverse is not None:
        return kind, reverse
    if reverse is not None and reverse.elementwise:
        library = reverse.template.__module__.rpartition(".")[0] == __name__
        return ("elementwise" if library else "scalar"), reverse
    return "none", None


def shape_only(position: int, *primals: Any) -> None:
    """Declare that ``primals`` read argument ``position`` (from 0) only for its shape or
    dtype: its derivative is zero however it varies, and no adjoint flows into it (where a
    rule returns ``None`` for it, an active argument there is not an error)."""
    for primal in primals:
        _SHAPE_ONLY.setdefault(id(primal), set()).add(position)


def is_shape_only(primal: Any, position: int) -> bool:
    return position in _SHAPE_ONLY.get(id(primal), ())


def nondifferentiable(*primals: Any) -> None:
    """Declare that the outputs of ``primals`` are piecewise constant (zero derivative).

    Their results are never active, so no adjoint flows through them (``math.floor``, ``round``,
    comparisons, ...).
    """
    for primal in primals:
        _NONDIFF[id(primal)] = primal


def lookup(primal: Any, nargs: int) -> Rule | None:
    """The rule for ``primal`` called with ``nargs`` arguments, if one is registered."""
    _scipy_rules()
    return _RULES.get((id(primal), nargs))


def has_rule(primal: Any) -> bool:
    """Whether any rule (of any arity) is registered for ``primal`` (or a definition that
    the compiler reads instead of it: ``composite``, ``implemented_by``)."""
    _scipy_rules()
    key = id(primal)
    return (key in _COMPOSITES or key in _IMPLEMENTATIONS or key in _REWRITERS
            or any(k[0] == key for k in _RULES))


def arities(primal: Any) -> list[int]:
    """The numbers of arguments ``primal`` has rules for."""
    return sorted(nargs for key, nargs in _RULES if key == id(primal))


def is_nondifferentiable(primal: Any) -> bool:
    _scipy_rules()
    return id(primal) in _NONDIFF


def implemented_by(primal: Any, implementation: Any) -> None:
    """Let the forward sweep call ``implementation`` (a function Numba compiles, e.g. a
    ``numba.njit`` kernel) wherever the user calls ``primal`` (e.g. ``scipy.special.expit``,
    which Numba cannot compile).  The derivative rule is looked up on ``implementation``:
    register it there (``@derivative(primal, implementation)`` registers both)."""
    _IMPLEMENTATIONS[id(primal)] = implementation


def implementation(primal: Any) -> Any:
    """What the forward sweep calls for ``primal`` (``None``: ``primal`` itself)."""
    _scipy_rules()
    return _IMPLEMENTATIONS.get(id(primal))


def composite(*primals: Any) -> Callable[[types.FunctionType], types.FunctionType]:
    """Register the decorated plain-Python function as the definition of ``primals``.

    A call of one of ``primals`` in differentiated code is replaced by the definition's body,
    inlined at the call with the user's arguments (keywords and defaults bound by the
    definition's signature), and differentiated like the user's own code: ``np.std(x)`` is
    ``np.sqrt(np.mean((x - np.mean(x)) ** 2))``.  Arguments that are literals (``axis=0``,
    ``ddof=1``, ``None``, a tuple of ints) are substituted as literals before the body is
    read, and ``if`` statements and conditional expressions whose conditions are then
    literals are decided, so one definition covers every static option.
    """
    def register(func: types.FunctionType) -> types.FunctionType:
        for primal in primals:
            _COMPOSITES[id(primal)] = func
        return func

    return register


def rewrite(*primals: Any, gives_tuple: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the rewriter of calls of ``primals``:
    ``rewriter(call, normalizer) -> ast.expr | None`` returns the expression the call means,
    written with operations the compiler knows (``np.einsum("ij,j->i", A, x)`` as a product
    and a sum), or ``None`` to leave the call as it is.  The normalizer's ``numpy_function(
    name)`` and ``reference(obj)`` give names for NumPy's functions and for kernels, and
    ``info.error(node, ...)`` makes the error of a call it cannot take.  ``gives_tuple``:
    the rewriter always returns a tuple display (``np.split``), which may be unpacked or
    bound to a name and indexed like one."""
    def register(func: Callable) -> Callable:
        for primal in primals:
            _REWRITERS[id(primal)] = func
            if gives_tuple:
                _TUPLE_REWRITERS.add(id(primal))
        return func

    return register


def gives_tuple(primal: Any) -> bool:
    """Whether calls of ``primal`` are rewritten into a tuple display (``rewrite``)."""
    return id(primal) in _TUPLE_REWRITERS


def rewriter_of(primal: Any) -> Callable | None:
    _scipy_rules()
    return _REWRITERS.get(id(primal))


def composite_of(primal: Any) -> types.FunctionType | None:
    """The plain-Python definition registered for ``primal`` with ``composite``, if any."""
    _scipy_rules()
    return _COMPOSITES.get(id(primal))


def fingerprint() -> str:
    """A hash of every rule's text; part of the cache key of generated modules."""
    h = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        h.update(path.read_bytes())
    for src in _USER_SOURCES:
        h.update(src.encode())
    return h.hexdigest()


def _parse_template(template: types.FunctionType) -> ast.expr:
    code = template.__code__
    try:
        source = textwrap.dedent(inspect.getsource(template))
    except OSError as exc:
        raise AdcompileError(f"cannot read the source of the rule {template.__qualname__}",
                             filename=code.co_filename, construct="a rule without source",
                             hint="define the rule with 'def' in a .py file (or a notebook "
                             "cell)") from exc
    fdef = ast.parse(source).body[0]
    body = [s for s in fdef.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        raise AdcompileError(
            f"derivative rule {template.__qualname__} must be a single 'return' of one "
            "expression per argument", filename=code.co_filename, lineno=code.co_firstlineno,
            construct="a rule body", hint="return g * ..., g * ... (a tuple for several "
            "arguments)")
    return body[0].value


from . import elementwise as _elementwise  # noqa: E402,F401
from . import linalg as _linalg  # noqa: E402,F401
from . import math as _math_rules  # noqa: E402,F401  (registers the library's rules)
from . import numpy as _numpy_rules  # noqa: E402,F401
from . import operators as _operator_rules  # noqa: E402,F401
from . import shapes as _shapes  # noqa: E402,F401
from . import shards as _shards  # noqa: E402,F401
from . import statistics as _statistics  # noqa: E402,F401
