"""The public entry points: ``grad`` and ``value_and_grad``."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import Any

from . import codegen, structure
from .errors import AdcompileError, api_boundary
from .frontend import parse_function

Wrt = int | str | Sequence[int | str]


@api_boundary
def grad(f: Callable | None = None, wrt: Wrt = 0, *, parallel: bool = False,
         checkpoints: int | None = None) -> Any:
    """The gradient of the scalar function ``f`` with respect to ``wrt``, compiled with Numba.

    ``wrt`` is a parameter position, a parameter name, or a tuple of them (default: the first
    parameter).  One ``wrt`` gives one gradient; a tuple gives a tuple in ``wrt`` order.  The
    result is a Numba dispatcher: call it from Python or from ``@numba.njit`` code.  Its
    ``.source`` is the generated derivative code.  Usable as ``@grad`` or ``@grad(wrt=...)``.

    ``parallel=True``: for a loss that is a sum or mean over the rows of its data arrays (the
    non-``wrt`` array arguments), the rows are split into one shard per thread and the
    shards' gradients, computed in a ``numba.prange`` loop, are added (:mod:`adcompile.shard`
    proves from the source that this is the gradient; a loss it cannot prove runs the serial
    gradient, with a ``ParallelWarning`` saying why).

    ``checkpoints=N``: each ``for`` loop over a ``range`` that writes no array keeps at most
    ``N`` snapshots of the values it carries from one iteration to the next, and the backward
    sweep runs each stretch between two snapshots forward again, recording it, before
    reversing it; ``.tape_bytes(*args)`` reports the bytes held at the peak (the snapshots
    plus one stretch's record).  ``N`` near the square root of the trip count holds least.
    """
    if f is None:
        return api_boundary(lambda func: grad(func, wrt=wrt, parallel=parallel,
                                              checkpoints=checkpoints))
    return _compile(f, wrt, "grad", parallel=parallel, checkpoints=checkpoints)


@api_boundary
def value_and_grad(f: Callable | None = None, wrt: Wrt = 0, *, parallel: bool = False,
                   checkpoints: int | None = None) -> Any:
    """Like :func:`grad`, but the compiled function returns ``(f(*args), gradient)``.

    Both come from one forward and one backward sweep.  ``parallel`` and ``checkpoints`` as
    for :func:`grad`.
    """
    if f is None:
        return api_boundary(lambda func: value_and_grad(func, wrt=wrt, parallel=parallel,
                                                        checkpoints=checkpoints))
    return _compile(f, wrt, "value_and_grad", parallel=parallel, checkpoints=checkpoints)


@api_boundary
def forward(f: Callable, wrt: Wrt = 0) -> Any:
    """The user's function itself, compiled by the same machinery (handy for timing)."""
    return _compile(f, wrt, "forward")


def _pair_of(f: Any) -> str | None:
    """What the second element is, when ``f`` is a generated function that returns a pair
    ``(value, derivative)`` (value_and_grad, jvp, vjp); else None."""
    if getattr(f, "role", None) == "value_and_grad":
        return "gradient"
    return getattr(f, "pair", None)


#: what an error says when it may only mean that a parameter holds a tuple
_TUPLE_CONSTRUCTS = ("tuple unpacking", "a tuple index", "a tuple value", "a tuple argument")


def _scale_options(parallel: Any, checkpoints: Any) -> None:
    if not isinstance(parallel, bool):
        raise AdcompileError(f"parallel={parallel!r} is not True or False",
                             construct="parallel", hint="pass parallel=True or parallel=False")
    if checkpoints is not None and (isinstance(checkpoints, bool) or not isinstance(
            checkpoints, int) or checkpoints < 1):
        raise AdcompileError(f"checkpoints={checkpoints!r} is not a positive number of "
                             "snapshots", construct="checkpoints",
                             hint="pass an int N >= 1 (about the square root of the loop's "
                             "trip count holds least), or None to record every iteration")


def _compile(f: Callable, wrt: Wrt, role: str, parallel: bool = False,
             checkpoints: int | None = None) -> Any:
    _scale_options(parallel, checkpoints)
    if parallel and role != "forward":
        from .shard import parallel_function

        serial = _compile(f, wrt, role, checkpoints=checkpoints)
        if getattr(serial, "takes_tuples", False) or isinstance(serial, TupleFunction) or \
                getattr(f, "role", None) is not None:
            return serial  # tuple parameters, gradients of gradients: serial
        info = parse_function(f)
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
        return parallel_function(f, names, as_tuple, role, serial)
    if checkpoints is not None and role != "forward":
        if getattr(f, "role", None) is not None:
            raise AdcompileError("checkpoints=N applies to a function as written, not to a "
                                 "generated derivative", construct="checkpoints",
                                 hint="pass checkpoints to the inner grad")
        fn = generated(f, wrt, checkpoints=checkpoints).function(role)
        fn.specializer = None
        return fn
    first = None
    if role != "forward":
        refuse_gradient_of_tuples(f, role)
    if (role != "forward" and getattr(f, "role", None) == "grad"
            and getattr(f, "primal", None) is not None and not f.as_tuple):
        # grad(grad(f)): the derivative of f along its one number is f's jvp with the
        # tangent 1, which reverse mode differentiates (never the gradient's tapes)
        from .higher import derivative_of

        first, f = f, derivative_of(*f.primal)
    elif role != "forward" and _pair_of(f) is not None:
        name = getattr(f, "__name__", "the function")
        raise AdcompileError(
            f"{name}() returns a pair (value, {_pair_of(f)}), not one number: there is no "
            "gradient of it as it is", construct=f"grad of {f.role}",
            hint="differentiate a function that returns one number computed from it, e.g. "
            "def g(x, t): return jf(x, t)[1]  (adcompile.grad(g)); for the Hessian of f along "
            "a vector use adcompile.hvp(f), for all of it adcompile.hessian(f)")
    try:
        fn = generated(f, wrt).function(role)
    except AdcompileError as exc:
        if first is not None:
            from .higher import second_order

            raise second_order(exc, first.primal[0], "grad(grad)") from None
        if exc.construct not in _TUPLE_CONSTRUCTS:
            raise
        # (W, b) = p inside a helper, p[0] passed on: a tuple parameter whose nesting the
        # source does not tell; made at the first call with tuples
        return TupleFunction(f, lambda args: _specialized(f, wrt, role, args), exc, role)
    if first is not None:  # called with tuples: the first gradient took them
        fn.specializer = lambda args: refuse_gradient_of_tuples(first, role, tuples=True)
    else:
        fn.specializer = lambda args: _specialized(f, wrt, role, args)
        if role in ("grad", "value_and_grad") and getattr(f, "role", None) is None and \
                fn.row_blocks is None:
            from .blocks import RowBlocks

            info = parse_function(f)
            names, as_tuple = resolve_wrt(info.params, wrt, info.name)
            fn.row_blocks = RowBlocks(f, names, as_tuple, role, fn.wrt_positions)
    return fn


def refuse_gradient_of_tuples(f: Any, what: str, tuples: bool = False) -> None:
    """A gradient that takes tuple parameters (``tuples``: that is called with them)
    returns its gradient nested as them, which no derivative takes: the error says what to
    use for second derivatives."""
    if getattr(f, "role", None) not in ("grad", "value_and_grad") or not (
            tuples or getattr(f, "takes_tuples", False) or isinstance(f, TupleFunction)):
        return
    where = re.fullmatch(r"(\w+)\(\) at (.*):(\d+)", getattr(f, "user_function", ""))
    code = getattr(getattr(f, "f", None), "__code__", None)  # a TupleFunction's
    name, filename, lineno = (where.group(1), where.group(2), int(where.group(3))) if where \
        else (getattr(f, "__name__", "f"), code and code.co_filename,
              code and code.co_firstlineno)
    raise AdcompileError(
        f"{what}() of the gradient of {name}(), which takes tuple parameters: the gradient "
        "is nested as they are, not one number or array", filename=filename, lineno=lineno,
        construct=f"{what} of a gradient with tuple parameters",
        hint=f"for second derivatives of {name}() use adcompile.hvp({name}, wrt=...) (Hessian "
        f"times a vector) or adcompile.hessian({name}, wrt=...), which take tuple parameters")


def tuple_aware(f: Callable, make: Callable[[tuple | None], Any]) -> Any:
    """``make(None)``, the compiled function of ``f`` (for the nesting of tuple parameters
    that the source unpacks, if any), which makes itself again with ``make(args)`` for
    arguments of another nesting; or, when ``f`` cannot be generated without knowing its
    tuples, a :class:`TupleFunction` that calls ``make(args)`` at the first call."""
    def made(args: tuple | None) -> Any:
        fn = make(args)
        fn.specializer = made
        return fn

    try:
        return made(None)
    except AdcompileError as exc:
        if exc.construct not in _TUPLE_CONSTRUCTS:
            raise
        if structure.unpacked_parameters(parse_function(f)) is not None:
            try:  # a, b, c = v of an array v that the function also indexes by a variable
                return made(())
            except AdcompileError:
                pass
        return TupleFunction(f, made, exc)


class TupleFunction:
    """A gradient (or forward) of a function that takes tuple parameters whose nesting only
    the arguments tell: each call with tuples of a new nesting generates and compiles the
    function for it (``make(args)``, by ``specialize``).  Called without tuples, it raises
    the error the function gives for non-tuple arguments."""

    def __init__(self, f: Callable, make: Callable[[tuple], Any], error: AdcompileError,
                 role: str = "") -> None:
        self.f, self.make, self.error, self.role = f, make, error, role
        self.__name__ = getattr(f, "__name__", "f")
        self._made: dict[Any, Any] = {}

    @api_boundary
    def specialize(self, *args: Any) -> Any:
        """The compiled function for arguments nested like ``args`` (callable from
        ``@numba.njit`` code)."""
        if not structure.is_structured(args):
            raise self.error
        key = tuple(structure.shape_of(a) for a in args)
        if key not in self._made:
            self._made[key] = self.make(args)
        return self._made[key]

    @api_boundary
    def __call__(self, *args: Any) -> Any:
        return self.specialize(*args)(*args)

    @property
    def source(self) -> str:
        made = list(self._made.values())
        if not made:
            return (f"# the code for {self.__name__}() is generated at the first call with "
                    "tuple arguments (or by .specialize(*args))\n")
        return made[-1].source


def _specialized(f: Callable, wrt: Wrt, role: str, args: tuple) -> Any:
    """The compiled function for ``role`` that takes the tuples in ``args`` as they are
    (see ``structure``): generated for the nesting of these arguments."""
    info = parse_function(f)
    names, as_tuple = resolve_wrt(info.params, wrt, info.name)
    flat, _ = structure.flatten(info, args)
    fn = codegen.generate(flat, names, as_tuple).function(role)
    fn.specializer = lambda args: _specialized(f, wrt, role, args)
    return fn


def generated(f: Callable, wrt: Wrt, checkpoints: int | None = None,
              unpacked_tuples: bool = True) -> codegen.Generated:
    """The generated module of ``f`` for ``wrt`` (all its compiled functions, by role);
    with ``checkpoints``, its loops checkpointed (:mod:`adcompile.checkpoint`).  Without
    ``unpacked_tuples``, a parameter the source unpacks (``a, b = theta``) is an array."""
    if not callable(f):
        raise AdcompileError(f"expected a function to differentiate, got {f!r}",
                             construct=type(f).__name__,
                             hint="pass wrt by keyword: grad(f, wrt=...) or @grad(wrt=...)")
    info = parse_function(f)
    if checkpoints is not None:
        from .checkpoint import checkpointed

        info = checkpointed(info, checkpoints)
    names, as_tuple = located_wrt(info.params, wrt, info.name, info.filename, info.tree.lineno)
    unpacked = structure.unpacked_parameters(info) if unpacked_tuples else None
    if unpacked is not None:  # (W, b) = params: generated for tuples of that nesting
        flat, _ = structure.flatten(info, unpacked)
        try:
            return codegen.generate(flat, names, as_tuple)
        except AdcompileError as exc:
            # a, b, c = v of an array v that the function also indexes by a variable: not a
            # tuple, then
            if exc.construct not in _TUPLE_CONSTRUCTS:
                raise
            try:
                return codegen.generate(info, names, as_tuple)
            except AdcompileError:
                raise exc from None
    return codegen.generate(info, names, as_tuple)


def generated_flat(info: Any, wrt: list[str], as_tuple: bool) -> codegen.Generated:
    """The generated module of ``info`` (flattened by ``structure.flatten``), seen through
    its flat functions: they take the tuple parameters' leaves as parameters of their own
    and return every leaf's gradient (what the optimizers' compiled loops call)."""
    gen = codegen.generate(info, wrt, as_tuple)
    names = dict(gen.names)
    for role in ("forward", "grad", "value_and_grad", "tape_bytes"):
        names[role] = names["flat_" + role]
    return dataclasses.replace(gen, names=names)


def located_wrt(params: list[str], wrt: Wrt, func_name: str, filename: str | None,
                lineno: int | None) -> tuple[list[str], bool]:
    """:func:`resolve_wrt`, with an error located at the function's ``def`` line."""
    try:
        return resolve_wrt(params, wrt, func_name)
    except AdcompileError as exc:
        raise AdcompileError(f"in {func_name}(): {exc.message}", filename=filename,
                             lineno=lineno, construct=exc.construct, hint=exc.hint) from None


def resolve_wrt(params: list[str], wrt: Wrt, func_name: str = "f") -> tuple[list[str], bool]:
    """The parameter names ``wrt`` denotes, and whether the gradient is returned as a tuple."""
    as_tuple = isinstance(wrt, (tuple, list))
    items = list(wrt) if as_tuple else [wrt]
    if as_tuple and not items:
        raise AdcompileError(f"wrt=() names no parameter of {func_name}",
                             construct="wrt", hint=f"choose among {', '.join(params)}")
    names: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise AdcompileError(f"wrt={item!r} is neither a parameter position nor a name",
                                 construct="wrt", hint=f"use an int or one of "
                                 f"{', '.join(repr(p) for p in params)}")
        if isinstance(item, int):
            if not -len(params) <= item < len(params):
                raise AdcompileError(f"wrt={item!r} is out of range: {func_name} has "
                                     f"{len(params)} parameter(s)", construct="wrt",
                                     hint=f"use 0..{len(params) - 1} or a parameter name")
            name = params[item]
        else:
            if item not in params:
                raise AdcompileError(f"wrt={item!r} names no parameter of {func_name}("
                                     f"{', '.join(params)})", construct="wrt",
                                     hint=f"use one of {', '.join(repr(p) for p in params)}")
            name = item
        if name in names:
            raise AdcompileError(f"wrt names the parameter {name!r} twice", construct="wrt",
                                 hint="list each parameter once")
        names.append(name)
    return names, as_tuple
