"""Checking the optimizers' input before anything is compiled: the method and its
hyperparameters, the starting point, the constant arguments, the data arrays and the sampler.

Each check returns the value in the form the loops take (floats, float64 or integer arrays,
C-contiguous) or raises an :class:`~adcompile.AdcompileError` that names the argument and says
what to pass instead.
"""

from __future__ import annotations

import ast
import math
import numbers
import reprlib
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numba.core import errors as numba_errors
from numba.core.registry import CPUDispatcher

from ..errors import AdcompileError

if TYPE_CHECKING:
    from . import _Problem

_METHODS = {"plain": 0, "gd": 0, "sgd": 0, "momentum": 1, "adam": 2}


def _method(method: Any, lr: Any, beta: Any, b1: Any, b2: Any,
            eps: Any) -> tuple[int, tuple[float, float, float, float]]:
    """The method's number and ``(lr, beta or b1, b2, eps)``, defaults filled in."""
    if not isinstance(method, str) or method not in _METHODS:
        raise AdcompileError(f"method={method!r} is not an optimizer method", construct="method",
                             hint="use 'plain' (also spelled 'gd' or 'sgd'), 'momentum' or "
                             "'adam'")
    lr = _positive_float(lr, "lr")
    given = {"beta": beta, "b1": b1, "b2": b2, "eps": eps}
    uses = {0: (), 1: ("beta",), 2: ("b1", "b2", "eps")}[_METHODS[method]]
    for name, value in given.items():
        if value is not None and name not in uses:
            raise AdcompileError(f"{name}={value!r} is not used by method={method!r}",
                                 construct=name, hint="momentum takes beta; adam takes b1, "
                                 "b2 and eps")
    if method == "momentum":
        return 1, (lr, _fraction(0.9 if beta is None else beta, "beta"), 0.0, 0.0)
    if method == "adam":
        return 2, (lr, _fraction(0.9 if b1 is None else b1, "b1"),
                   _fraction(0.999 if b2 is None else b2, "b2"),
                   _positive_float(1e-8 if eps is None else eps, "eps"))
    return 0, (lr, 0.0, 0.0, 0.0)


def _start_point(x0: Any, what: str) -> tuple[list[float | np.ndarray], bool]:
    """The starting values (floats and float64 arrays), and whether ``x0`` was a sequence."""
    if isinstance(x0, np.ndarray):
        return [_start_value(x0, what)], False
    if _is_number(x0):
        return [_finite(x0, what)], False
    if isinstance(x0, (str, bytes)) or not isinstance(x0, Sequence):
        raise AdcompileError(f"{what}={x0!r} is neither a number, an array, nor a tuple of "
                             "them", construct=what, hint="pass a float or an array for one "
                             "parameter, or a tuple of them in wrt order")
    values = list(x0)
    if not values:
        raise AdcompileError(f"{what} is empty", construct=what,
                             hint="give one starting value per wrt parameter")
    return [_start_value(v, what) for v in values], True


def _number_list(x0: list, info: Any, what: str) -> np.ndarray:
    """A list of numbers as the whole start value: a float64 array when the loss uses its
    first parameter as an array (indexes it, takes its ``len``, ``shape`` or ``size``, or
    multiplies it with ``@``), else an error, since the list could also mean one float per
    parameter."""
    first = info.params[0] if info.params else None
    if first is not None and _used_as_array(info.tree, first):
        return np.array(x0, dtype=np.float64)
    shown = reprlib.repr(x0)
    options = [f"np.array({shown}) to optimize {first!r} as an array"]
    if len(x0) <= len(info.params):
        names = ", ".join(info.params[:len(x0)])
        options.append(f"a tuple {reprlib.repr(tuple(x0))} for one float per parameter "
                       f"({names})")
    raise AdcompileError(
        f"{what}={shown} is a list, which could mean one array parameter or one float per "
        f"parameter, and {info.name}() does not use {first!r} as an array",
        construct=what, hint="pass " + ", or ".join(options))


def _used_as_array(tree: ast.AST, name: str) -> bool:
    def is_name(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id == name

    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_name(node.value):
            return True
        if isinstance(node, ast.Attribute) and is_name(node.value) \
                and node.attr in ("shape", "size", "ndim", "T"):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "len" and any(map(is_name, node.args)):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) \
                and (is_name(node.left) or is_name(node.right)):
            return True
    return False


def _renamed_start(x0: Any, params0: Any) -> Any:
    """``minibatch_sgd``'s start value from ``x0`` or its former name ``params0``."""
    if params0 is None:
        if x0 is None:
            raise TypeError("minibatch_sgd() missing the start value x0")
        return x0
    if x0 is not None:
        raise TypeError("minibatch_sgd() got both x0 and params0 (its former name); pass "
                        "x0 only")
    warnings.warn("minibatch_sgd(params0=...) is deprecated: pass x0=... (or the start value "
                  "as the second argument); params0 will be removed in a later release",
                  DeprecationWarning, stacklevel=3)
    return params0


def _watching(progress: Any, callback: Any, callback_every: Any) -> dict[str, Any]:
    """The progress, callback and callback_every options, checked, as keywords of
    :func:`.driver.drive`."""
    if progress is not None and not isinstance(progress, bool):
        raise AdcompileError(f"progress={progress!r} must be None, True or False",
                             construct="progress", hint="None shows progress on a terminal "
                             "for long runs; True always, False never")
    if callback is not None and not callable(callback):
        raise AdcompileError(f"callback={callback!r} is not callable", construct="callback",
                             hint="pass a function taking one StepInfo argument")
    if callback_every is not None:
        if callback is None:
            raise AdcompileError("callback_every is given but no callback",
                                 construct="callback_every", hint="pass callback=function")
        callback_every = _positive_int(callback_every, "callback_every")
    return {"progress": progress, "callback": callback, "callback_every": callback_every}


def _start_value(value: Any, what: str) -> float | np.ndarray:
    """A float, or a fresh float64 array, from one starting value."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if _is_number(value):
        return _finite(value, what)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
        raise AdcompileError(f"{what} holds {_describe(value)}, which is not a number",
                             construct=what, hint="pass floats or float64 arrays in wrt order")
    if value.size == 0 or not np.all(np.isfinite(value)):
        raise AdcompileError(f"{what} holds an array of shape {value.shape} that is empty or "
                             "not finite", construct=what, hint="start from finite values")
    return np.array(value, dtype=np.float64, order="C")


def _arguments(args: Any, problem: _Problem) -> tuple:
    """``gd``'s constant arguments: numbers as given, arrays as data arrays."""
    if _is_number(args) or isinstance(args, np.ndarray):
        args = (args,)
    if isinstance(args, (str, bytes)) or not isinstance(args, Sequence):
        raise AdcompileError(f"args={args!r} is not a tuple of numbers and arrays",
                             construct="args", hint="pass args=(value, ...) for the non-wrt "
                             "parameters")
    if len(args) != len(problem.others):
        raise AdcompileError(
            f"args has {len(args)} value(s), but {problem.name}() has {len(problem.others)} "
            f"parameter(s) besides wrt: {_listing(problem.others)}", construct="args",
            hint="pass one value per non-wrt parameter, in signature order")
    out = []
    for name, value in zip(problem.others, args, strict=True):
        if _is_number(value):
            out.append(value)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            out.append(value if value.dtype.kind in "iu" else np.asarray(value, np.float64))
        else:
            raise AdcompileError(f"args holds {_describe(value)} for {name!r}, which is not "
                                 "a number", construct="args",
                                 hint="pass numbers (float or int) or numeric arrays")
    return tuple(out)


def _data_arrays(data: Any, problem: _Problem, min_ndim: int,
                 max_ndim: int | None = None) -> list[np.ndarray]:
    """``data`` as one C-contiguous array per non-wrt parameter, all as long as each other.

    Float and boolean data becomes float64; integer data keeps its type.
    """
    hint = "pass data=(" + ", ".join(f"{p}_array" for p in problem.others) + ")"
    if isinstance(data, np.ndarray) or not isinstance(data, (tuple, list)):
        dims = "1-D arrays" if max_ndim == 1 else "arrays"
        raise AdcompileError(f"data must be a tuple of {dims}, one per non-wrt parameter "
                             f"({_listing(problem.others)})", construct="data", hint=hint)
    if len(data) != len(problem.others):
        raise AdcompileError(
            f"data has {len(data)} array(s), but {problem.name}() has {len(problem.others)} "
            f"parameter(s) besides wrt: {_listing(problem.others)}", construct="data",
            hint="pass one array per non-wrt parameter, in signature order")
    arrays = []
    for name, column in zip(problem.others, data, strict=True):
        array = np.asarray(column) if isinstance(column, (np.ndarray, list, tuple)) else None
        if array is None or array.dtype.kind not in "biuf" or array.ndim < min_ndim \
                or (max_ndim is not None and array.ndim > max_ndim):
            dims = "a 1-D array" if max_ndim == 1 else "an array (first axis: the examples)"
            raise AdcompileError(f"data for {name!r} must be {dims} of numbers, got "
                                 f"{_describe(column)}", construct="data",
                                 hint="pass one row per example, one array per parameter")
        dtype = array.dtype if array.dtype.kind in "iu" else np.float64
        arrays.append(np.ascontiguousarray(array, dtype=dtype))
    lengths = {a.shape[0] for a in arrays}
    if len(lengths) != 1:
        sizes = ", ".join(f"{n}: {a.shape[0]}" for n, a in zip(problem.others, arrays,
                                                               strict=True))
        raise AdcompileError(f"data arrays have different lengths ({sizes})",
                             construct="data", hint="give every array one entry per example")
    if lengths == {0}:
        raise AdcompileError("data arrays are empty", construct="data",
                             hint="give at least one example")
    return arrays


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


def _describe(value: Any) -> str:
    """A value as an error message names it: arrays by dtype and shape."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return repr(value)


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


def _fraction(value: Any, what: str) -> float:
    if not _is_number(value) or not 0.0 <= float(value) < 1.0:
        raise AdcompileError(f"{what}={value!r} must be a number in [0, 1)", construct=what,
                             hint=f"for example {what}=0.9")
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



def _listing(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"
