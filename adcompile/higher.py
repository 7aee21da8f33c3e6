"""Forward mode and the derivatives built on it: ``jvp``, ``jacobian``, ``hvp``, ``hessian``.

``jvp(f, wrt)`` compiles the forward-mode module of :mod:`adcompile.tangents`: the function
takes ``f``'s arguments followed by one tangent per ``wrt`` parameter (each of that
parameter's shape) and returns ``(f(*args), directional derivative)``; ``f`` may return a
float or an array.  ``jacobian(f, wrt)`` runs that function once per entry of a ``wrt``
parameter, in one compiled loop, and stacks the columns: the result has the shape
``f(*args).shape + x.shape``.

Second order is reverse over forward: the forward-mode module also holds
``jvp_<name>_tangent(*args, *tangents)``, the directional derivative alone, a scalar function
of the same arguments, and ``hvp(f, wrt)`` is its gradient with respect to ``wrt`` (the
tangents held constant): ``d/dx (grad f(x) . v) = H v``, at the cost of a few gradients and
without forming ``H``.  ``hessian`` runs ``hvp`` once per entry of the ``wrt`` parameters, in
one compiled loop per parameter.

Tuple parameters (:mod:`adcompile.structure`) are taken as ``grad`` takes them: tangents,
vectors and cotangent gradients come nested as their parameters, and ``jacobian`` and
``hessian`` work on the leaves and nest their blocks (a Hessian block of a tuple parameter is
nested as it, each leaf nested as it again, as ``jax.hessian`` does).
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numba
import numpy as np
from numba.core import types
from numba.extending import typeof_impl

from . import batch, codegen, rules, structure, whole
from .api import Wrt, _pair_of, grad, located_wrt, refuse_gradient_of_tuples, tuple_aware
from .backend import CompiledFunction
from .calls import parameters
from .errors import AdcompileError, api_boundary
from .frontend import FunctionInfo, parse_function


def _parsed(f: Callable, wrt: Wrt, what: str) -> tuple[FunctionInfo, list[str], bool]:
    """``f``'s info, the ``wrt`` names and whether they form a tuple."""
    if not callable(f):
        raise AdcompileError(f"expected a function to differentiate, got {f!r}",
                             construct=type(f).__name__,
                             hint=f"pass wrt by keyword: {what}(f, wrt=...)")
    refuse_gradient_of_tuples(f, what)
    refuse_pair(f, what)
    try:
        info = parse_function(f)
    except AdcompileError as e:
        raise _several_results(e, what) from None
    names, as_tuple = located_wrt(info.params, wrt, info.name, info.filename,
                                  info.tree.lineno)
    return info, names, as_tuple


def _several_results(error: AdcompileError, what: str) -> AdcompileError:
    """The parser's refusal of ``return a, b`` worded for ``what``: ``jvp``, ``vjp`` and
    ``jacobian`` take a function of one result, a number or an array (never a tuple);
    ``hvp`` and ``hessian`` one of a number.  Any other error is ``error`` itself."""
    if error.construct != "return" or "one scalar" not in error.message:
        return error
    one = "a number or an array" if what in ("jvp", "vjp", "jacobian") else "a number"
    hint = (f"return one result ({one}): np.array((a, b)) for numbers, "
            "np.concatenate((u, v)) for arrays, or differentiate a function per result"
            if what in ("jvp", "vjp", "jacobian") else
            "return the number whose second derivatives you want; for several, a function "
            "per result")
    message = error.message.replace("the function must return one scalar (the loss)",
                                    f"{what}() takes a function of one result ({one}), "
                                    "not a tuple")
    return AdcompileError(message, filename=error.filename, lineno=error.lineno,
                          construct="return of a tuple", hint=hint)


def second_order(error: AdcompileError, f: Callable, what: str) -> AdcompileError:
    """``error`` raised by reverse mode over ``f``'s forward code (``hvp``, ``hessian``,
    ``grad(grad(f))``) where a forward rule calls a kernel that has no reverse rule, located
    at the user's call of the primitive whose rule that is (else at ``f``'s ``def``) and
    saying what works; any other error is ``error`` itself."""
    info = parse_function(f)
    if error.filename == info.filename or not error.message.partition(": ")[2].startswith(
            "no derivative rule for"):
        return error
    kernel = re.sub(r"_\d+$", "", (error.construct or "").strip("'").rpartition(".")[2])
    word = re.compile(rf"\b{re.escape(kernel)}\b")
    where, callee = None, "a function it calls"
    for node in ast.walk(info.tree):
        if not isinstance(node, ast.Call):
            continue
        keys = _primitive_keys(info.resolve(node.func))
        if kernel and any(key[0] in keys and word.search(inspect.getsource(rule.template))
                          for key, rule in rules._FORWARD.items()):
            where, callee = node, ast.unparse(node.func)
            break
    return info.error(
        where, f"{what}() needs second derivatives of {callee}, which adcompile has to first "
        f"order only (its forward-mode rule calls {kernel}, which has no reverse rule)",
        construct=f"second derivative of {callee}",
        hint="grad, jvp, vjp and jacobian of the function work; for second derivatives write "
             "this part with operations that have them (arithmetic, np.linalg.solve, inv, "
             "det, slogdet, norm)")


def _primitive_keys(target: Any) -> set[int]:
    """The ids of the primitives a call of ``target`` reaches: itself, what implements it,
    and for a composite (``np.linalg.norm``) the functions its definition calls."""
    keys = {id(target), id(rules.implementation(target))}
    definition = rules._COMPOSITES.get(id(target))
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(definition)))
                         if definition is not None else ast.Module(body=[], type_ignores=[])):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func).split(".")
            obj = definition.__globals__.get(name[0])
            for part in name[1:]:
                obj = getattr(obj, part, None)
            keys |= {id(obj), id(rules.implementation(obj))}
    rewriter = rules.rewriter_of(target)
    if rewriter is not None:  # np.linalg.eigh: the primitives its rewrite calls, by name
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(rewriter)))):
            if isinstance(node, ast.Name):
                keys.add(id(rewriter.__globals__.get(node.id)))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                keys |= {id(getattr(np.linalg, node.value, None)),
                         id(getattr(np, node.value, None))}
    return keys


def refuse_pair(f: Any, what: str) -> None:
    """A generated function that returns a pair ``(value, derivative)`` (``jvp``, ``vjp``,
    ``value_and_grad``) is no function of one result: the error says what to write for the
    derivatives of its derivative part."""
    pair = _pair_of(f)
    if pair is None:
        return
    name = getattr(f, "__name__", "the function")
    user = getattr(f, "user_function", "") or name
    if what in ("jacobian", "jvp", "vjp"):
        instead = (f"for the derivatives of f itself use adcompile.{what}(f, wrt=...) (the "
                   f"Jacobian's columns are f's jvps); for those of the {pair}, differentiate "
                   f"a function that returns it: def g(x, t): return jf(x, t)[1], then "
                   f"adcompile.{what}(g, wrt=...)")
    else:
        instead = (f"for second derivatives of f use adcompile.{what}(f, wrt=...); for those "
                   f"of the {pair} (a number), differentiate def g(x, t): return jf(x, t)[1] "
                   f"with adcompile.{what}(g, wrt=...) or adcompile.grad(g, wrt=...)")
    raise AdcompileError(
        f"{what}() of {name}() (from {user}), which returns a pair (value, {pair}): {what} "
        "takes a function of one result, a number or an array",
        construct=f"{what} of a function returning a pair", hint=instead)


def _shaped(info: FunctionInfo, args: tuple | None) -> FunctionInfo:
    """``info`` with its tuple parameters flattened (see :mod:`adcompile.structure`) for the
    nesting of ``args``, or with ``args`` None for the nesting its source unpacks; as it is
    when no parameter holds a tuple."""
    if args is None:
        args = structure.unpacked_parameters(info)
    if args is None or not structure.is_structured(tuple(args[:len(info.params)])):
        return info
    flat, _ = structure.flatten(info, tuple(args[:len(info.params)]))
    return flat


def _nesting(value: Any) -> Any:
    """How ``value`` nests tuples (lists counted as tuples): None for a leaf."""
    if isinstance(value, (tuple, list)):
        return tuple(_nesting(v) for v in value)
    return None


def _check_tangents(info: FunctionInfo, names: list[str], args: tuple, what: str) -> None:
    """The arguments after ``f``'s (tangents, vectors) must nest tuples as their parameters
    do: one per ``wrt`` parameter."""
    n = len(info.params)
    for p, given in zip(names, args[n:], strict=False):
        value = args[info.params.index(p)]
        if _nesting(given) != _nesting(value):
            raise info.error(
                None, f"the {what} argument for '{p}' is nested as {_describe(given)}, but "
                f"'{p}' is {_describe(value)}", construct=f"a {what} of another structure",
                hint=f"pass for '{p}' a {what} of the same structure as the argument, with "
                "the same shape at each leaf")


def _shapes(value: Any) -> list[tuple[int, ...]]:
    """The shapes of the leaves of ``value`` (``()`` for a number)."""
    if isinstance(value, (tuple, list)):
        return [s for v in value for s in _shapes(v)]
    return [np.shape(value)]


def _same_shape(given: Any, value: Any) -> bool:
    """Whether ``given`` is surely of ``value``'s shape, cheaply: two arrays of one shape or
    two floats (the common call, checked without :func:`_shapes`)."""
    if type(given) is np.ndarray and type(value) is np.ndarray:
        return given.shape == value.shape
    return type(given) is float and type(value) is float


def _shape_text(shapes: list[tuple[int, ...]]) -> str:
    if len(shapes) == 1:
        return "a number" if shapes[0] == () else f"an array of shape {shapes[0]}"
    return "leaves of shapes " + ", ".join(str(s) for s in shapes)


def check_count(info: FunctionInfo, args: tuple, extra: list[str] = (), what: str = ""
                ) -> None:
    """``args`` must be ``info``'s arguments followed by one ``what`` per name in
    ``extra``."""
    n = len(info.params)
    if len(args) != n + len(extra):
        more = f" followed by the {what} of {', '.join(extra)}" if extra else ""
        raise info.error(
            None, f"the derivative of {info.name}() takes its {n} argument(s){more}: "
            f"{n + len(extra)} in all, but was called with {len(args)}",
            construct=f"a call with {len(args)} arguments",
            hint=f"call it as ({', '.join(info.params + [f'{what}_{e}' for e in extra])})")


def with_defaults(info: FunctionInfo, args: tuple) -> tuple:
    """``args`` completed with the defaults of the parameters they leave out (the
    compiled loops take every argument)."""
    left = info.params[len(args):]
    defaults = parameters(info.func)[1] if hasattr(info.func, "__code__") else {}
    if left and all(p in defaults for p in left):
        return (*args, *(defaults[p] for p in left))
    return args


def _vectors_guard(info: FunctionInfo, names: list[str], what: str) -> Callable:
    """The check of a call of a jvp (``what``: tangent) or hvp (vector): the arguments,
    then one ``what`` per ``wrt`` parameter, each of that parameter's shape."""
    n = len(info.params)
    positions = [info.params.index(p) for p in names]
    pairs = [(p, n + k) for k, p in enumerate(positions)]
    others = [k for k in range(n) if k not in positions]

    def plain(args: tuple) -> bool:
        """The common call, checked in few steps (a tenth of a small MLP's jvp went to the
        checks): each tangent an array of its parameter's shape, or a float for a float,
        and no other argument a tuple or a list (which would need ``_call``'s nesting)."""
        for p, t in pairs:
            given, value = args[t], args[p]
            if type(given) is np.ndarray:
                if type(value) is not np.ndarray or given.shape != value.shape:
                    return False
            elif type(given) is not float or type(value) is not float:
                return False
        return not any(isinstance(args[k], (tuple, list)) for k in others)

    def guard(call: Callable, args: tuple, kws: dict) -> Any:
        fn = getattr(call, "__self__", None)  # the CompiledFunction of call = fn._call
        if (not kws and len(args) == n + len(names) and isinstance(fn, CompiledFunction)
                and fn.row_blocks is None and not fn.takes_tuples and plain(args)):
            call = fn.run  # what fn._call comes to for such arguments
        elif not kws and not (len(args) == n + len(names) and all(
                _same_shape(args[t], args[p]) for p, t in pairs)):  # else the common call
            check_count(info, args, names, what)
            for name, p, given in zip(names, positions, args[n:], strict=True):
                got, want = _shapes(given), _shapes(args[p])
                if len(got) == len(want) and got != want:
                    raise info.error(
                        None, f"the {what} for '{name}' is {_shape_text(got)}, but '{name}' "
                        f"is {_shape_text(want)}", construct=f"a {what} of another shape",
                        hint=f"pass for '{name}' a {what} of its shape (e.g. np.ones_like("
                        f"{name}), or a float for a float)")
        try:
            return call(*args, **kws)
        except AdcompileError as exc:  # hvp: the tangent function returns an array
            if what != "vector" or exc.construct != "an array result":
                raise
            raise info.error(
                None, f"{info.name}() must return a scalar to have Hessian-vector products, "
                "but it returns an array here", construct="an array result",
                hint="reduce it to one number (np.sum, np.mean), or for the derivatives of an "
                "array use adcompile.jacobian or adcompile.jvp") from None
    return guard


def _check_in_numba(fn: Any, info: FunctionInfo, names: list[str], what: str,
                    entry: str) -> None:
    """What ``@numba.njit`` code calling ``fn`` calls instead: ``fn`` behind the checks of
    :func:`_vectors_guard` (each ``what`` of its parameter's shape) or, without ``names``,
    of :func:`_cotangent_guard` (see :func:`whole.checked_function`)."""
    if info.structure is not None or fn.takes_tuples:
        return  # tuple parameters: .specialize gives the function of one nesting
    made: list[Any] = []
    where = f"{entry}({info.name}) at {info.filename}:{info.tree.lineno}"

    def checked() -> Any:
        if not made:
            checks = [(info.params.index(p), f"{where}: the {what} for '{p}' does not have "
                       f"the shape of '{p}'; pass a {what} of its shape (a float for a "
                       "float)") for p in names]
            result = "" if names else (f"{where}: the cotangent does not have the shape of "
                                       f"{info.name}()'s result; pass one of its shape (a "
                                       "float for a float result)")
            made.append(whole.checked_function(fn, len(info.params), checks, result))
        return made[0]
    fn.checked = checked


@typeof_impl.register(CompiledFunction)
def _typeof_checked(value: CompiledFunction, context: Any) -> types.Dispatcher:
    """Numba sees a jvp, hvp or vjp as the function that checks its tangents, vectors or
    cotangent before calling it (:func:`_check_in_numba`); any other generated function as
    itself."""
    checked = getattr(value, "checked", None)
    return types.Dispatcher(value if checked is None else checked())


def _cotangent_guard(info: FunctionInfo, forward: Any) -> Callable:
    """The check of a call of a vjp: the arguments, then a cotangent of the shape of the
    function's result (read from the result, or on a failure from the function run
    alone)."""
    n = len(info.params)

    def guard(call: Callable, args: tuple, kws: dict) -> Any:
        if kws:
            return call(*args, **kws)
        check_count(info, args, ["result"], "cotangent")
        try:
            result = call(*args)
        except ValueError:
            value = forward(*args[:n])
            _check_cotangent(info, value, args[n])
            raise
        _check_cotangent(info, result[0], args[n])
        return result
    return guard


def _check_cotangent(info: FunctionInfo, value: Any, cotangent: Any) -> None:
    got, want = _shapes(cotangent), _shapes(value)
    if got != want:
        raise info.error(
            None, f"the cotangent is {_shape_text(got)}, but {info.name}() returns "
            f"{_shape_text(want)} here", construct="a cotangent of another shape",
            hint=f"pass a cotangent of the shape of {info.name}(*args) (a float for a float "
            "result)")


def _describe(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_describe(v) for v in value) + ("," if len(value) == 1
                                                               else "") + ")"
    return "an array" if np.ndim(value) else "a number"


@api_boundary
def jvp(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """Forward mode: ``jvp(f, wrt)(*args, *tangents)`` returns ``(f(*args), d)``, where ``d``
    is the derivative of ``f`` at ``args`` in the direction of the tangents (one per ``wrt``
    parameter, each of that parameter's shape, nested as it is for a tuple parameter; ``d``
    has the shape of ``f``'s result).

    The result is a Numba dispatcher, callable from Python and from ``@numba.njit`` code (for
    tuple parameters: its ``.specialize(*args)``, as for ``grad``); its ``.source`` is the
    generated code, each statement followed by its tangent ``dt_<name>``.
    """
    if f is None:
        return lambda func: jvp(func, wrt=wrt)

    def make(args: tuple | None) -> Any:
        info, names, as_tuple = _parsed(f, wrt, "jvp")
        if args is not None:
            _check_tangents(info, names, args, "tangent")
        gen = codegen.generate(_shaped(info, args), names, as_tuple, mode="forward")
        fn = gen.function("jvp")
        fn.pair = "directional derivative"
        fn.guard = _vectors_guard(info, names, "tangent")
        _check_in_numba(fn, info, names, "tangent", "jvp")
        return fn

    return tuple_aware(f, make)


def derivative_of(f: Callable, wrt: tuple[str, ...]) -> Any:
    """``f``'s derivative with respect to its one number ``wrt``, as a compiled function of
    ``f``'s arguments: ``jvp_<f>_tangent`` with the tangent 1 (what ``grad(grad(f))``
    differentiates; an array ``wrt`` is refused when it is called)."""
    info = parse_function(f)
    gen = codegen.generate(info, list(wrt), False, mode="forward")
    return gen.function("derivative")


@api_boundary
def vjp(f: Callable | None = None, wrt: Wrt = 0) -> Any:
    """Reverse mode seeded with a cotangent: ``vjp(f, wrt)(*args, cotangent)`` returns
    ``(f(*args), g)``, where ``g`` is the gradient of ``sum(f(*args) * cotangent)`` with
    respect to ``wrt`` (a tuple of them for a tuple ``wrt``; nested as the parameter for a
    tuple parameter); ``cotangent`` has the shape of ``f``'s result, which may be a float or
    an array.  A compiled function with ``.source``.
    """
    if f is None:
        return lambda func: vjp(func, wrt=wrt)

    def make(args: tuple | None) -> Any:
        info, names, as_tuple = _parsed(f, wrt, "vjp")
        gen = codegen.generate(_shaped(info, args), names, as_tuple, mode="vjp")
        fn = gen.function("vjp")
        fn.pair = "gradient of the cotangent product"
        fn.guard = _cotangent_guard(info, gen.function("forward"))
        _check_in_numba(fn, info, [], "cotangent", "vjp")
        return fn

    return tuple_aware(f, make)


def _flattened(info: FunctionInfo, names: list[str], args: tuple
               ) -> tuple[tuple, list[int], list[Any]]:
    """The arguments of ``info``'s flat functions (each tuple argument's leaves in its
    place), the positions of the ``wrt`` leaves among them, and for each ``wrt`` parameter
    its *index tree*: the position of its leaf among the ``wrt`` leaves, nested as the
    argument (a bare int for a number or an array; a list where the argument has one)."""
    st = info.structure
    if st is None:
        return tuple(args), [info.params.index(p) for p in names], list(range(len(names)))
    flat_args: list[Any] = []
    for k, p in enumerate(st.params):
        flat_args.extend(structure.leaves_of([args[k]]) if p in st.leaves else [args[k]])
    leaves = st.flat_wrt(names)
    counter = iter(range(len(leaves)))

    def tree(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            parts = [tree(v) for v in value]
            return parts if isinstance(value, list) else tuple(parts)
        return next(counter)

    trees = [tree(args[st.params.index(p)]) for p in names]
    return tuple(flat_args), [info.params.index(leaf) for leaf in leaves], trees


def _build(tree: Any, leaf: Callable[[int], Any]) -> Any:
    """``tree`` (an index tree) with each index ``i`` replaced by ``leaf(i)``."""
    if isinstance(tree, (tuple, list)):
        parts = [_build(t, leaf) for t in tree]
        return parts if isinstance(tree, list) else tuple(parts)
    return leaf(tree)


@api_boundary
def jacobian(f: Callable, wrt: Wrt = 0) -> Any:
    """The Jacobian of ``f`` (a float or an array result) with respect to ``wrt``.

    ``jacobian(f, wrt)(*args)`` has the shape ``f(*args).shape + x.shape`` (a float for a
    float result and a float parameter); for a tuple ``wrt``, a tuple of such Jacobians; for
    a tuple parameter, a tuple nested as it whose leaves are the Jacobians with respect to
    its leaves.  With fewer results than parameter entries it is built by reverse mode, one
    row per entry of the result (:func:`vjp` with unit cotangents), else by forward mode, one
    column per entry of the parameters (:func:`jvp`), each in one compiled loop.
    """
    return Jacobian(f, wrt)


class Jacobian:
    """The compiled Jacobian of a function: call it with the function's arguments.

    The mode is chosen at the first call, from the sizes of the result and the parameters;
    ``.mode`` says which (``"forward"`` or ``"reverse"``) and ``.source`` shows its code."""

    def __init__(self, f: Callable, wrt: Wrt) -> None:
        self.f = f
        self.wrt = wrt
        self._user = _parsed(f, wrt, "jacobian")[0]
        self.mode: str | None = None
        self._source = ""
        self._made: dict[Any, Any] = {}

    @property
    def source(self) -> str:
        if self.mode is None:
            return "# the Jacobian's code is generated at its first call (forward or reverse)\n"
        return self._source

    def _setup(self, args: tuple) -> tuple[FunctionInfo, list[str], bool, dict[str, Any]]:
        """The function flattened for the nesting of ``args``, the ``wrt`` names, whether
        they form a tuple, and the generated modules by mode (made when first needed)."""
        key = tuple(structure.shape_of(a) for a in args)
        if key not in self._made:
            info, names, as_tuple = _parsed(self.f, self.wrt, "jacobian")
            self._made[key] = (_shaped(info, args), names, as_tuple, {})
        return self._made[key]

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        args = with_defaults(self._user, args)
        check_count(self._user, args)
        info, names, as_tuple, modules = self._setup(args)

        flat_args, positions, trees = _flattened(info, names, args)

        def module(mode: str) -> codegen.Generated:
            """The module of ``mode``, its main function also split for the loop over unit
            seeds (the last parameters: one cotangent, or one tangent per ``wrt`` leaf)."""
            if mode not in modules:
                modules[mode] = codegen.generate(
                    info, names, as_tuple, mode=mode,
                    columns=1 if mode == "vjp" else len(positions))
            return modules[mode]

        flat_args = _float_parameters(flat_args, positions)
        flat = "flat_" if info.structure is not None else ""
        several = as_tuple or info.structure is not None  # the flat functions give tuples
        vjp_module = module("vjp")
        value = vjp_module.function(flat + "forward")(*flat_args)
        xs = [flat_args[p] for p in positions]
        if int(np.size(value)) < sum(int(np.size(x)) for x in xs):
            self.mode = "reverse"
            self._source = vjp_module.source("setup", "columns")
            blocks = _rows(vjp_module, flat, flat_args, value, xs, several)
        else:
            self.mode = "forward"
            jvp_module = module("forward")
            self._source = jvp_module.source("setup", "columns")
            seeds = tuple(np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in xs)
            blocks = [_columns(jvp_module, flat, flat_args, seeds, k, np.ndim(x) > 0)
                      for k, x in enumerate(xs)]
        nested = [_build(t, blocks.__getitem__) for t in trees]
        return tuple(nested) if as_tuple else nested[0]

    _whole: Any = None

    def compiled(self) -> Any:
        """The Jacobian as one compiled function (what ``@numba.njit`` code calls, see
        :mod:`adcompile.whole`)."""
        if self._whole is None:
            info, names, as_tuple = _parsed(self.f, self.wrt, "jacobian")
            if _shaped(info, None).structure is not None:
                raise whole.refuse_tuples("jacobian", info.name)
            rev = codegen.generate(info, names, as_tuple, mode="vjp", columns=1)
            fwd = codegen.generate(info, names, as_tuple, mode="forward", columns=len(names))
            self._whole = whole.jacobian_function(
                rev.function("forward"), (rev.function("setup"), rev.function("columns")),
                (fwd.function("setup"), fwd.function("columns")), len(info.params),
                [info.params.index(n) for n in names], as_tuple)
        return self._whole


def _rows(module: codegen.Generated, flat: str, args: tuple, value: Any, xs: list[Any],
          as_tuple: bool) -> list[Any]:
    """The Jacobian blocks by reverse mode: row ``k`` of every block is the gradient of entry
    ``k`` of the result (the cotangent the ``k``-th unit vector)."""
    if np.ndim(value) == 0:
        _, grads = module.function(flat + "vjp")(*args, 1.0)
        return [float(g) if np.ndim(g) == 0 else g for g in (grads if as_tuple else (grads,))]
    cotangent = np.zeros(np.shape(value))
    outs = tuple(np.empty((cotangent.size, int(np.size(x)))) for x in xs)
    arrays = tuple(np.ndim(x) > 0 for x in xs)
    parts = [f"r[1][{i}]" if as_tuple else "r[1]" for i in range(len(xs))]
    _unit_loop(None, parts, arrays, rows=True, setup=True)(
        module.function("columns"), args, cotangent, outs, module.function("setup"))
    return [out.reshape(np.shape(value) + np.shape(x)) for out, x in zip(outs, xs, strict=True)]


def _columns(module: codegen.Generated, flat: str, args: tuple, seeds: tuple, k: int,
             array: bool) -> Any:
    """The Jacobian block of ``wrt`` parameter ``k``: one directional derivative per entry."""
    jvp_fn = module.function(flat + "jvp")
    if not array:
        _, d = jvp_fn(*args, *(1.0 if i == k else s for i, s in enumerate(seeds)))
        return d
    shape = np.shape(seeds[k])
    value, _ = jvp_fn(*args, *seeds)
    out_shape = np.shape(value)
    out = np.empty((int(np.prod(out_shape, dtype=np.int64)), int(np.prod(shape))))
    _unit_loop(k, ["r[1]"], (np.ndim(value) > 0,), rows=False, setup=True)(
        module.function("columns"), args, seeds, (out,), module.function("setup"))
    return out.reshape(out_shape + shape)


def _products(f: Callable, wrt: Wrt, args: tuple | None, flat: bool = False) -> Any:
    """The compiled Hessian-vector product of ``f`` for the nesting of ``args`` (None: the
    one its source unpacks): the gradient of ``jvp_<f>_tangent`` with respect to ``wrt``.
    For tuple parameters, the wrapper that takes the tuples (``flat``: the function of their
    leaves, which returns the products of every ``wrt`` leaf)."""
    info, names, as_tuple = _parsed(f, wrt, "hvp")
    if args is not None:
        _check_tangents(info, names, args, "vector")
    shaped = _shaped(info, args)
    gen = codegen.generate(shaped, names, as_tuple, mode="forward")
    if shaped.structure is None:
        try:
            fn = grad(gen.function("tangent"), wrt=tuple(names) if as_tuple else names[0])
        except AdcompileError as exc:
            raise second_order(exc, f, "hvp") from None
        fn.guard = _vectors_guard(info, names, "vector")
        _check_in_numba(fn, info, names, "vector", "hvp")
        return fn
    # the gradient of the flat tangent function, given the structure of the function of
    # the tuples and their tangents: its wrapper takes both as the user passes them
    tangent = parse_function(gen.function("flat_tangent"))
    nested = structure.tangent_params(shaped.structure, names,
                                      tangent.params[len(shaped.params):])
    tangent = replace(tangent, name=gen.names["tangent"], structure=nested)
    fn = codegen.generate(tangent, names, as_tuple).function("flat_grad" if flat else "grad")
    if not flat:
        fn.guard = _vectors_guard(info, names, "vector")
    return fn


@api_boundary
def hvp(f: Callable, wrt: Wrt = 0) -> Any:
    """Hessian-vector products of the scalar function ``f``: ``hvp(f, wrt)(*args, *v)`` is
    ``H @ v`` (of ``wrt``'s shape; a tuple for a tuple ``wrt``, each part the sum over the
    ``wrt`` parameters of the Hessian block times that parameter's ``v``; for a tuple
    parameter, ``v`` and the product nested as it), without forming ``H``.  Reverse mode
    over forward mode; a compiled function with ``.source``."""
    return tuple_aware(f, lambda args: _products(f, wrt, args))


@api_boundary
def hessian(f: Callable, wrt: Wrt = 0) -> Any:
    """The Hessian of the scalar function ``f``: ``hessian(f, wrt)(*args)`` has the shape
    ``x.shape + x.shape`` (a float for a float ``x``); for a tuple ``wrt``, a tuple of tuples
    whose block ``(i, j)`` is ``d2 f / d wrt_i d wrt_j`` of shape ``x_i.shape + x_j.shape``.
    For a tuple parameter, as ``jax.hessian``: a block nested as the parameter whose leaves
    are nested as the parameter again, leaf ``[i][j]`` being ``d2 f / d leaf_i d leaf_j``.
    One Hessian-vector product (:func:`hvp`) per entry, in a compiled loop."""
    _parsed(f, wrt, "hessian")
    try:
        module = _hessian_module(f, wrt, None)
    except AdcompileError as exc:
        from .api import _TUPLE_CONSTRUCTS

        if exc.construct not in _TUPLE_CONSTRUCTS:
            raise
        module = None  # made at the first call, for the nesting of the arguments
    return Hessian(f, wrt, module)


def _hessian_module(f: Callable, wrt: Wrt, args: tuple | None) -> codegen.Generated:
    """The module of the gradient of ``jvp_<f>_tangent`` (for the nesting of ``args``, as
    :func:`_products`), with that gradient also split for the loop over unit tangents
    (roles ``setup`` and ``columns``: what does not depend on the tangents is computed once,
    see :mod:`adcompile.hoist`).  Its ``grad`` (``flat_grad`` for tuple parameters) is the
    Hessian-vector product of the flat arguments."""
    info, names, as_tuple = _parsed(f, wrt, "hessian")
    shaped = _shaped(info, args)
    gen = codegen.generate(shaped, names, as_tuple, mode="forward")
    if shaped.structure is None:
        tangent = parse_function(gen.function("tangent"))
    else:
        tangent = parse_function(gen.function("flat_tangent"))
        nested = structure.tangent_params(shaped.structure, names,
                                          tangent.params[len(shaped.params):])
        tangent = replace(tangent, name=gen.names["tangent"], structure=nested)
    try:
        return codegen.generate(tangent, names, as_tuple,
                                columns=len(tangent.params) - len(shaped.params))
    except AdcompileError as exc:
        raise second_order(exc, f, "hessian") from None


class Hessian:
    """The compiled Hessian of a function: call it with the function's arguments."""

    def __init__(self, f: Callable, wrt: Wrt, module: codegen.Generated | None) -> None:
        self.f, self.wrt = f, wrt
        self._user = _parsed(f, wrt, "hessian")[0]
        self.module = module
        self._made: dict[Any, Any] = {}
        #: the modules, argument shapes and types already seen to give a number
        self._scalar: set[tuple] = set()
        #: by the shapes and types of the arguments, the Hessian as blocks of columns and
        #: nothing else (one array parameter, a block function for it), once seen so
        self._fast: dict[tuple, Callable] = {}

    _block_source = ""

    @property
    def source(self) -> str:
        """The code of the loop's body: ``..._setup``, the work done once, and
        ``..._columns``, the Hessian-vector product run once per column (after a call that
        computed blocks of columns at once, ``..._block``, the same for a stack of seeds)."""
        if self.module is None:
            return ("# the Hessian's code is generated at the first call with tuple "
                    "arguments\n")
        return self._block_source or self.module.source("setup", "columns")

    def _setup(self, args: tuple) -> tuple[FunctionInfo, list[str], bool, codegen.Generated]:
        key = tuple(structure.shape_of(a) for a in args)
        if key not in self._made:
            info, names, as_tuple = _parsed(self.f, self.wrt, "hessian")
            shaped = _shaped(info, args)
            # (the module made at hessian() time is for the nesting the source unpacks:
            # a, b = x of an array x is read as a tuple parameter there)
            made_flat = self.module is None or _shaped(info, None).structure is not None
            module = self.module if shaped.structure is None and not made_flat \
                else _hessian_module(self.f, self.wrt, args)
            self._made[key] = (shaped, names, as_tuple, module)
        return self._made[key]

    def _block(self, module: codegen.Generated, args: tuple, seeds: tuple, j: int,
               kinds: tuple) -> Any:
        """The columns function for blocks of unit seeds of ``wrt`` leaf ``j`` (see
        :mod:`adcompile.batch`), made for the shapes of ``args`` (``kinds``: the module,
        the shapes and types); None where it cannot be."""
        key = (*kinds, j)
        if key not in _BLOCKS:
            given = module.function("setup")(*args)
            first = tuple(s.copy() if i == j else s for i, s in enumerate(seeds))
            first[j].reshape(-1)[0] = 1.0
            fn = _function_ast(module, "columns")
            name = f"{fn.name[:-len('_columns')]}_block"
            _BLOCKS[key] = batch.batched(fn, vars(module.module), (*args, *given, *first),
                                         len(args) + len(given) + j, name, rank=STACKED_RANK,
                                         units=True)
        block = _BLOCKS[key]
        if block is not None and not self._block_source:
            self._block_source = module.source("setup").rstrip() + "\n\n\n" + block[1]
        return block

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        args = with_defaults(self._user, args)
        fast = self._fast.get(_kind(args))
        if fast is not None:
            return fast(args)
        check_count(self._user, args)
        info, names, as_tuple, module = self._setup(args)
        self.module = module
        flat = "flat_" if info.structure is not None else ""
        setup, columns = module.function("setup"), module.function("columns")
        several = as_tuple or info.structure is not None  # the products come as a tuple
        flat_args, positions, trees = _flattened(info, names, args)
        flat_args = _float_parameters(flat_args, positions)
        xs = [flat_args[p] for p in positions]
        seeds = tuple(np.zeros(np.shape(x)) if np.ndim(x) else 0.0 for x in xs)
        # a number or an array: Numba's typing fixes which for the arguments' types
        # (an integer by its value: it may be a size, that the block function is made for)
        kinds = (module.path, tuple((np.shape(a), np.asarray(a).dtype.str,
                                     a if isinstance(a, (int, np.integer)) else None)
                                    for a in flat_args))
        if kinds not in self._scalar and np.ndim(
                module.function(flat + "forward")(*flat_args, *seeds)):
            raise info.error(None, f"{info.name}() must return a scalar to have a Hessian, "
                             "but it returns an array here", construct="an array result",
                             hint="reduce it to one number (np.sum, np.mean), or use "
                             "adcompile.jacobian for the derivatives of an array")
        self._scalar.add(kinds)
        arrays = [np.ndim(x) > 0 for x in xs]
        sizes = [int(np.size(x)) for x in xs]
        rows: list[list[Any]] = [[None] * len(xs) for _ in xs]
        for j, x in enumerate(xs):
            outs = tuple(np.empty((sizes[i], sizes[j])) for i in range(len(xs)))
            block = self._block(module, flat_args, seeds, j, kinds) if arrays[j] else None
            if block is not None:
                _blocks(block, flat_args, setup, seeds, j, outs, several)
                if (not several and block[2] == [True]
                        and all(a is b for a, b in zip(flat_args, args, strict=True))
                        and all(isinstance(a, (np.ndarray, float, int, np.number))
                                for a in args)):
                    self._fast[_kind(args)] = _by_blocks(block, setup, x)
            elif arrays[j]:
                parts = [f"r[{i}]" if several else "r" for i in range(len(xs))]
                _unit_loop(j, parts, tuple(arrays), rows=False, setup=True)(
                    columns, flat_args, seeds, outs, setup)
            else:
                hv = module.function(flat + "grad")(
                    *flat_args, *(1.0 if i == j else s for i, s in enumerate(seeds)))
                for i, part in enumerate(hv if several else (hv,)):
                    outs[i][:, 0] = np.ravel(part)
            for i in range(len(xs)):
                block = outs[i].reshape(np.shape(xs[i]) + np.shape(x))
                rows[i][j] = float(block) if block.ndim == 0 else block
        nested = [[_build(a, lambda i, b=b: _build(b, lambda j, i=i: rows[i][j]))
                   for b in trees] for a in trees]
        if as_tuple:
            return tuple(tuple(row) for row in nested)
        return nested[0][0]

    _whole: Any = None

    def compiled(self) -> Any:
        """The Hessian as one compiled function (what ``@numba.njit`` code calls, see
        :mod:`adcompile.whole`)."""
        if self._whole is None:
            info, names, as_tuple = _parsed(self.f, self.wrt, "hessian")
            if self.module is None or _shaped(info, None).structure is not None:
                raise whole.refuse_tuples("hessian", info.name)
            value = codegen.generate(info, names, as_tuple, mode="forward").function("forward")
            self._whole = whole.hessian_function(
                self.module.function("setup"), self.module.function("columns"),
                len(info.params), [info.params.index(n) for n in names], as_tuple, value,
                f"hessian({info.name}) at {info.filename}:{info.tree.lineno}: {info.name}() "
                "must return a scalar to have a Hessian, but it returns an array here; reduce "
                "it to one number (np.sum, np.mean), or use adcompile.jacobian")
        return self._whole


@typeof_impl.register(Hessian)
@typeof_impl.register(Jacobian)
def _typeof_whole(value: Hessian | Jacobian, context: Any) -> types.Dispatcher:
    """Numba sees a Hessian or a Jacobian as the dispatcher of its compiled function."""
    return types.Dispatcher(value.compiled())


_LOOPS: dict[tuple, Any] = {}
#: block functions (``batch.batched``) by module, shapes of the arguments and seed
_BLOCKS: dict[tuple, Any] = {}
#: the most numbers one value of a block function may hold (blocks are cut to fit)
BLOCK_ELEMENTS = 1 << 20
#: a column whose values include one of this rank keeps the column loop: Numba's O3
#: compiles elementwise arithmetic on stacks of matrices (rank 3) at seconds an operation
#: (a minute and more for a small two-layer Hessian), which no block pays back
STACKED_RANK = 2


def _function_ast(module: codegen.Generated, role: str) -> ast.FunctionDef:
    """The generated function of ``role``, as a tree."""
    text = codegen.function_text(module.text, module.names[role])
    return ast.parse(text).body[0]


def _blocks(block: Any, args: tuple, setup: Any, seeds: tuple, j: int, outs: tuple,
            several: bool) -> None:
    """Fill column after column of each block in ``outs`` with the block function, for
    stacks of ``k`` unit seeds of ``wrt`` leaf ``j`` at a time."""
    function, _, stacked, largest = block
    given = setup(*args)
    n = int(np.size(seeds[j]))
    shape = np.shape(seeds[j])
    k = max(1, min(n, BLOCK_ELEMENTS // max(largest, 1)))
    with batch.one_blas_thread():
        for start in range(0, n, k):
            _block_of_columns(function, args, given, seeds, j, outs, several, stacked,
                              start, min(k, n - start), shape)


def _kind(args: tuple) -> tuple:
    """The shapes and types of ``args`` (an integer's value: it may be a size), for a
    look-up."""
    return tuple((a.shape, a.dtype.str) if isinstance(a, np.ndarray) else (
        (type(a), a) if isinstance(a, (int, np.integer)) else type(a)) for a in args)


def _by_blocks(block: Any, setup: Any, x: np.ndarray) -> Callable:
    """The Hessian with respect to the one array parameter ``x`` of a function of arguments
    of the same shapes and types, as :func:`_blocks` makes it, with nothing else around."""
    function, _, _, largest = block
    n = x.size
    k = max(1, min(n, BLOCK_ELEMENTS // max(largest, 1)))
    shape = x.shape + x.shape

    def hessian(args: tuple) -> np.ndarray:
        out = np.empty((n, n))
        with batch.one_blas_thread():
            given = setup(*args)
            for start in range(0, n, k):
                count = min(k, n - start)
                part = function(*args, *given, start, count)
                out[:, start:start + count] = part.reshape(count, n).T
        return out.reshape(shape)

    return hessian


def _block_of_columns(function: Any, args: tuple, given: tuple, seeds: tuple, j: int,
                      outs: tuple, several: bool, stacked: list[bool], start: int,
                      count: int, shape: tuple) -> None:
    """Columns ``start`` to ``start + count`` of each block in ``outs``."""
    r = function(*args, *given, *seeds[:j], start, count, *seeds[j + 1:])
    for i, part in enumerate(r if several else (r,)):
        if stacked[i]:
            outs[i][:, start:start + count] = np.reshape(part, (count, -1)).T
        else:  # the same for every seed
            outs[i][:, start:start + count] = np.ravel(part)[:, None]


def _unit_loop(k: int | None, parts: list[str], arrays: tuple[bool, ...], rows: bool,
               setup: bool = False) -> Any:
    """The compiled loop over unit seeds: for each entry of the seed (tangent ``k`` of the
    tuple ``seeds``, or with ``k=None`` the cotangent ``seeds`` itself) set to one, the
    function is called (``r``) and each result part (an expression of ``r``) fills row (or
    column) ``e`` of its block in ``outs``.  With ``setup``, the function is the ``columns``
    half of a split function (:mod:`adcompile.hoist`), and the loop, given the ``setup``
    half too, calls that once first and passes what it returns to every call.  Written out
    for the types at hand: a tuple of tangents of different types can only be indexed by
    literals in Numba."""
    key = (k, tuple(parts), arrays, rows, setup)
    if key not in _LOOPS:
        given = "*given, " if setup else ""
        seed, call = ("seeds", f"fn(*args, {given}seeds)") if k is None else (
            f"seeds[{k}]", f"fn(*args, {given}*seeds)")
        lines = [f"def loop(fn, args, seeds, outs{', setup' if setup else ''}):",
                 *(["    given = setup(*args)"] if setup else []),
                 f"    unit = {seed}.reshape(-1)",
                 "    for e in range(unit.size):",
                 "        unit[e] = 1.0",
                 f"        r = {call}"]
        for i, (part, array) in enumerate(zip(parts, arrays, strict=True)):
            where = ("e, :" if array else "e, 0") if rows else (":, e" if array else "0, e")
            lines.append(f"        outs[{i}][{where}] = {part}{'.ravel()' if array else ''}")
        lines.append("        unit[e] = 0.0")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", "<adcompile derivative loop>", "exec"),
             namespace)
        _LOOPS[key] = numba.njit(namespace["loop"])
    return _LOOPS[key]


def _float_parameters(args: tuple, positions: list[int]) -> tuple:
    """The arguments, with an integer or bool array given for a differentiated parameter as
    float64 (its derivatives are those of the real-valued function); data arrays (indices,
    labels) keep their type."""
    return tuple(np.asarray(a, dtype=np.float64) if k in positions and isinstance(a, np.ndarray)
                 and a.dtype.kind in "biu" else a for k, a in enumerate(args))
