"""Compiled optimizer loops: gradient descent and single-sample SGD, stepping inside Numba.

Each optimizer compiles the user's loss once (:func:`adcompile.api.generated`), takes its
generated ``packed(theta, args) -> (value, gradient)`` (the ``wrt`` parameters packed in the
array ``theta``, the others in the tuple ``args``), and hands it to a module-level
``@numba.njit`` loop.  Numba specializes the loop for each generated dispatcher, so the gradient
is inlined into the loop and no step goes through the Python interpreter.  A second call with
the same loss reuses the compiled loop.

    import adcompile as adc
    res = adc.optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=100)
    res.params      # (x1, x2) after 100 steps
    res.history     # the loss before each step
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numba
import numpy as np
from numba.core import errors as numba_errors
from numba.core import types as nbtypes
from numba.core.registry import CPUDispatcher
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

from .api import Wrt, generated, resolve_wrt
from .errors import AdcompileError
from .frontend import parse_function

__all__ = ["OptimResult", "gd", "sgd"]


class OptimResult(NamedTuple):
    """What an optimizer returns.

    ``params``: the final parameters, a float for a single (non-tuple) ``wrt``, else a tuple of
    floats in ``wrt`` order.  ``history``: float64 array of the loss at the recorded steps, each
    value taken before that step's update (step 0, ``record_every``, ``2 * record_every``, ...).
    """

    params: float | tuple[float, ...]
    history: np.ndarray


# --------------------------------------------------------------------------------------------
# Public optimizers


def gd(f: Callable, x0: float | Sequence[float], *, wrt: Wrt | None = None,
       args: Sequence[Any] = (), lr: float = 0.1, steps: int = 100,
       record_every: int = 1) -> OptimResult:
    """Gradient descent on ``f``: ``w <- w - lr * grad_w f(w, *args)``, ``steps`` times.

    ``x0`` is the starting point: a float for one parameter, or a tuple of floats in ``wrt``
    order.  ``wrt`` defaults to the first ``len(x0)`` parameters of ``f`` (the first parameter
    for a float ``x0``).  ``args`` holds the other parameters, in signature order; they stay
    constant.  The whole loop runs compiled.
    """
    problem = _Problem.build(f, x0, wrt)
    args = _as_tuple(args, "args")
    if len(args) != len(problem.others):
        raise AdcompileError(
            f"args has {len(args)} value(s), but {problem.name}() has {len(problem.others)} "
            f"parameter(s) besides wrt: {_listing(problem.others)}", construct="args",
            hint="pass one value per non-wrt parameter, in signature order")
    lr = _positive_float(lr, "lr")
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    theta = problem.theta0.copy()
    history = np.empty(_n_records(steps, record_every))
    packed = problem.gen.function("packed")
    _run(problem, _gd_loop, packed, theta, args, lr, steps, record_every, history)
    return problem.result(theta, history)


def sgd(f: Callable, x0: float | Sequence[float], *, wrt: Wrt | None = None,
        data: Sequence[Any] | None = None, sampler: Callable | None = None,
        lr: float = 0.01, steps: int = 1000, seed: int = 0,
        record_every: int = 1) -> OptimResult:
    """Single-sample stochastic gradient descent on ``f``, seeded and compiled.

    Each step takes one example of the non-``wrt`` parameters and updates
    ``w <- w - lr * grad_w f(w, example)``.  Examples come from exactly one of:

    - ``data``: a tuple of equal-length 1-D arrays, one per non-``wrt`` parameter in signature
      order; each step uses row ``i`` of every array (as float64), ``i`` drawn uniformly at
      random;
    - ``sampler``: an ``@numba.njit`` function of no arguments returning a tuple of the
      non-``wrt`` parameters (it may draw from ``np.random``).

    ``seed`` seeds Numba's ``np.random`` before the first step, so the same call gives the same
    result.  ``x0`` and ``wrt`` are as for :func:`gd`.  The loss of the example is recorded
    before every ``record_every``-th update.
    """
    problem = _Problem.build(f, x0, wrt)
    if (data is None) == (sampler is None):
        raise AdcompileError(
            "sgd needs exactly one source of examples: data=(arrays...) or sampler=function, "
            f"got {'both' if data is not None else 'neither'}", construct="data/sampler",
            hint="pass data=(x_array, y_array, ...) or sampler=an @numba.njit function "
            "returning (x, y, ...)")
    if not problem.others:
        raise AdcompileError(
            f"every parameter of {problem.name}() is in wrt, so there is nothing to sample",
            construct="data/sampler", hint="use adcompile.optim.gd for a deterministic loss")
    lr = _positive_float(lr, "lr")
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    seed = _seed(seed)
    theta = problem.theta0.copy()
    history = np.empty(_n_records(steps, record_every))
    if data is not None:
        table = _data_table(data, problem)
        packed = problem.gen.function("packed")
        _run(problem, _sgd_data_loop, packed, theta, table, (0.0,) * table.shape[1], lr,
             steps, record_every, seed, history)
    else:
        _check_sampler(sampler, problem)
        packed = problem.gen.function("packed")
        _run(problem, _sgd_sampler_loop, packed, sampler, theta, lr, steps, record_every,
             seed, history)
    return problem.result(theta, history)


# --------------------------------------------------------------------------------------------
# The compiled loops.  Each takes the generated value-and-gradient dispatcher as an argument;
# Numba compiles one specialization per dispatcher and inlines the gradient into it.  They are
# not cached on disk: a dispatcher argument's type is tied to the live object, so an on-disk
# entry could never be found again by another process.  ``g[k]`` reads the gradient whether
# ``packed`` returns it as an array or as a tuple of floats.


@numba.njit
def _gd_loop(packed, theta, args, lr, steps, record_every, history):
    countdown = 0
    n = 0
    for _ in range(steps):
        value, g = packed(theta, args)
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1
        for k in range(theta.shape[0]):
            theta[k] -= lr * g[k]


@numba.njit
def _sgd_data_loop(packed, theta, table, row_type, lr, steps, record_every, seed, history):
    np.random.seed(seed)
    countdown = 0
    n = 0
    for _ in range(steps):
        i = np.random.randint(0, table.shape[0])
        value, g = packed(theta, _row(table, i, row_type))
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1
        for k in range(theta.shape[0]):
            theta[k] -= lr * g[k]


@numba.njit
def _sgd_sampler_loop(packed, sampler, theta, lr, steps, record_every, seed, history):
    np.random.seed(seed)
    countdown = 0
    n = 0
    for _ in range(steps):
        value, g = packed(theta, _example(sampler()))
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1
        for k in range(theta.shape[0]):
            theta[k] -= lr * g[k]


def _row(table, i, row_type):
    """Row ``i`` of ``table`` as a tuple, as long as the tuple ``row_type``."""
    return tuple(table[i])


@overload(_row)
def _row_impl(table, i, row_type):
    width = len(row_type)

    def impl(table, i, row_type):
        return to_fixed_tuple(table[i], width)
    return impl


def _example(value):
    """A sampler's result as the tuple of non-wrt arguments (a lone scalar becomes ``(x,)``)."""
    return value if isinstance(value, tuple) else (value,)


@overload(_example)
def _example_impl(value):
    if isinstance(value, nbtypes.BaseTuple):
        return lambda value: value
    return lambda value: (value,)


# --------------------------------------------------------------------------------------------
# Checking the user's input


class _Problem(NamedTuple):
    """A loss resolved for optimization: its generated module and the parameter layout."""

    name: str
    wrt: list[str]
    others: list[str]
    as_tuple: bool
    theta0: np.ndarray
    gen: Any

    @classmethod
    def build(cls, f: Callable, x0: Any, wrt: Wrt | None) -> _Problem:
        info = parse_function(f)
        values, x0_is_tuple = _start_point(x0)
        if wrt is None:
            if len(values) > len(info.params):
                raise AdcompileError(
                    f"x0 has {len(values)} values, but {info.name}() has only "
                    f"{len(info.params)} parameter(s): {_listing(info.params)}",
                    construct="x0", hint="give one starting value per parameter in wrt")
            wrt = tuple(info.params[:len(values)]) if x0_is_tuple else 0
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
        if len(values) != len(names):
            raise AdcompileError(
                f"x0 has {len(values)} value(s) but wrt names {len(names)} parameter(s) "
                f"of {info.name}(): {_listing(names)}", construct="x0",
                hint="give one starting value per wrt parameter, in wrt order")
        gen = generated(f, tuple(names) if as_tuple else names[0])
        others = [p for p in info.params if p not in names]
        return cls(info.name, names, others, as_tuple, np.array(values, dtype=np.float64), gen)

    def result(self, theta: np.ndarray, history: np.ndarray) -> OptimResult:
        if self.as_tuple:
            return OptimResult(tuple(float(v) for v in theta), history)
        return OptimResult(float(theta[0]), history)


def _run(problem: _Problem, loop: Any, *args: Any) -> None:
    """Call a compiled loop, turning a Numba typing failure into an ``AdcompileError``."""
    try:
        loop(*args)
    except numba_errors.TypingError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = next((line for line in lines if "No implementation" in line
                       or "Cannot" in line or "Invalid" in line), lines[0] if lines else "")
        raise AdcompileError(
            f"the optimizer loop for {problem.name}() cannot be compiled for these inputs: "
            f"{detail}", construct="optimizer inputs",
            hint=f"pass numbers for {_listing(problem.others)} (args, data rows or sampler "
            "values)") from None


def _start_point(x0: Any) -> tuple[list[float], bool]:
    """The starting values as floats, and whether ``x0`` was a sequence."""
    if isinstance(x0, np.ndarray) and x0.ndim == 0:
        x0 = x0.item()
    if _is_number(x0):
        return [_finite(x0, "x0")], False
    if isinstance(x0, (str, bytes)) or not isinstance(x0, (Sequence, np.ndarray)):
        raise AdcompileError(f"x0={x0!r} is neither a number nor a tuple of numbers",
                             construct="x0", hint="pass a float for one parameter or a tuple "
                             "of floats in wrt order")
    if isinstance(x0, np.ndarray) and x0.ndim != 1:
        raise AdcompileError(f"x0 has shape {x0.shape}; expected a flat tuple of numbers",
                             construct="x0", hint="pass a tuple of floats in wrt order")
    values = list(x0)
    if not values:
        raise AdcompileError("x0 is empty", construct="x0",
                             hint="give one starting value per wrt parameter")
    for v in values:
        if not _is_number(v):
            raise AdcompileError(f"x0 holds {v!r}, which is not a number", construct="x0",
                                 hint="pass a tuple of floats in wrt order")
    return [_finite(v, "x0") for v in values], True


def _data_table(data: Any, problem: _Problem) -> np.ndarray:
    """``data`` as one float64 table, a row per example and a column per non-wrt parameter.

    One row per example keeps each draw to one cache line, however many columns there are.
    """
    if isinstance(data, np.ndarray) or not isinstance(data, (tuple, list)):
        raise AdcompileError(
            "data must be a tuple of 1-D arrays, one per non-wrt parameter "
            f"({_listing(problem.others)})", construct="data",
            hint="pass data=(" + ", ".join(f"{p}_array" for p in problem.others) + ")")
    if len(data) != len(problem.others):
        raise AdcompileError(
            f"data has {len(data)} array(s), but {problem.name}() has {len(problem.others)} "
            f"parameter(s) besides wrt: {_listing(problem.others)}", construct="data",
            hint="pass one array per non-wrt parameter, in signature order")
    arrays = []
    for name, column in zip(problem.others, data, strict=True):
        array = np.asarray(column)
        if array.ndim != 1 or array.dtype.kind not in "biuf":
            raise AdcompileError(
                f"data for {name!r} must be a 1-D array of numbers, got "
                f"{array.dtype} with shape {array.shape}", construct="data",
                hint="pass one row per example, one array per parameter")
        arrays.append(array)
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) != 1:
        sizes = ", ".join(f"{n}: {a.shape[0]}" for n, a in zip(problem.others, arrays,
                                                               strict=True))
        raise AdcompileError(f"data arrays have different lengths ({sizes})",
                             construct="data", hint="give every array one entry per example")
    if lengths == {0}:
        raise AdcompileError("data arrays are empty", construct="data",
                             hint="give at least one example")
    return np.ascontiguousarray(np.column_stack(arrays), dtype=np.float64)


def _check_sampler(sampler: Any, problem: _Problem) -> None:
    """The sampler must be a compiled function of no arguments returning the other params."""
    if not isinstance(sampler, CPUDispatcher):
        raise AdcompileError(
            f"sampler={sampler!r} is not a Numba-compiled function", construct="sampler",
            hint="decorate the sampler with @numba.njit; it takes no arguments and returns "
            "(" + ", ".join(problem.others) + ")")
    try:
        example = sampler()
    except numba_errors.TypingError as exc:
        first = str(exc).strip().splitlines()
        raise AdcompileError(f"sampler() cannot be compiled: {first[0] if first else exc}",
                             construct="sampler", hint="make it an @numba.njit function of no "
                             "arguments") from None
    except TypeError as exc:
        raise AdcompileError(f"sampler() cannot be called without arguments: {exc}",
                             construct="sampler", hint="the sampler takes no arguments") from None
    values = example if isinstance(example, tuple) else (example,)
    if len(values) != len(problem.others):
        raise AdcompileError(
            f"sampler() returns {len(values)} value(s), but {problem.name}() has "
            f"{len(problem.others)} parameter(s) besides wrt: {_listing(problem.others)}",
            construct="sampler", hint="return one value per non-wrt parameter, in signature "
            "order")
    for name, value in zip(problem.others, values, strict=True):
        if not _is_number(value):
            raise AdcompileError(f"sampler() returns {value!r} for {name!r}, not a number",
                                 construct="sampler", hint="return numbers")


def _as_tuple(values: Any, what: str) -> tuple:
    if _is_number(values):
        return (values,)
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise AdcompileError(f"{what}={values!r} is not a tuple of numbers", construct=what,
                             hint=f"pass {what}=(value, ...) for the non-wrt parameters")
    for v in values:
        if not _is_number(v):
            raise AdcompileError(f"{what} holds {v!r}, which is not a number", construct=what,
                                 hint="pass numbers (float or int)")
    return tuple(values)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value: Any, what: str) -> float:
    out = float(value)
    if not math.isfinite(out):
        raise AdcompileError(f"{what} holds {value!r}, which is not finite", construct=what,
                             hint="start from finite values")
    return out


def _positive_float(value: Any, what: str) -> float:
    if not _is_number(value) or not math.isfinite(float(value)) or float(value) <= 0:
        raise AdcompileError(f"{what}={value!r} must be a positive, finite number",
                             construct=what, hint=f"for example {what}=0.01")
    return float(value)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise AdcompileError(f"{what}={value!r} must be a positive integer", construct=what,
                             hint=f"for example {what}=100")
    return int(value)


def _seed(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or not 0 <= value < 2**32:
        raise AdcompileError(f"seed={value!r} must be an integer in [0, 2**32)",
                             construct="seed", hint="for example seed=0")
    return int(value)


def _n_records(steps: int, record_every: int) -> int:
    return (steps + record_every - 1) // record_every


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"
