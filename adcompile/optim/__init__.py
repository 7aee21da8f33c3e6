"""Compiled optimizer loops: gradient descent, minibatch SGD and single-sample SGD, with the
plain, momentum and Adam updates, stepping inside Numba.

Each optimizer compiles the user's loss once (:func:`adcompile.api.generated`) and hands its
generated value-and-gradient dispatcher to a module-level ``@numba.njit`` loop.  Numba
specializes the loop for each generated dispatcher, so the gradient is inlined into the loop
and no step goes through the Python interpreter.  A second call with the same loss reuses the
compiled loop.  Parameters are floats or float64 arrays, alone or in a tuple:

    import adcompile as adc
    res = adc.optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=100)
    res.params      # (x1, x2) after 100 steps
    res.history     # the loss before each step

    res = adc.optim.minibatch_sgd(logistic, (np.zeros(2), 0.0), data=(X, y), lr=0.1,
                                  batch_size=32, epochs=20, seed=0, method="adam")
    w, b = res.params

Before the loop, the gradient is called once from Python on the start values (and the first
rows of the data), so that parameters whose shapes do not fit the loss are reported as an
:class:`~adcompile.AdcompileError` naming them.  Inside the loops a float parameter lives in a
one-element array, so that every parameter is updated in place.  The call of the gradient and
the update of each parameter are written out by :func:`loops._step_function` for each layout
of the loss's signature (which parameters are optimized, which are floats, which come from the
data), because a tuple of arrays of different shapes cannot be looped over in Numba.

This module holds the public optimizers and the problem they share (the loss resolved, its
gradient checked on the start values, the result put back in the caller's form);
:mod:`.checks` validates the arguments and :mod:`.loops` holds everything that runs compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
from numba.core import errors as numba_errors

from .. import structure
from ..api import Wrt, generated, generated_flat, resolve_wrt
from ..errors import AdcompileError
from ..frontend import parse_function
from .checks import (
    _arguments,
    _check_sampler,
    _data_arrays,
    _describe,
    _is_number,
    _listing,
    _method,
    _positive_float,
    _positive_int,
    _seed,
    _start_point,
    _start_value,
)
from .loops import (
    _SHAPE_CHANGED,
    _gather_function,
    _gd_loop,
    _minibatch_loop,
    _sgd_data_loop,
    _sgd_sampler_loop,
    _step_function,
)

__all__ = ["OptimResult", "gd", "minibatch_sgd", "sgd"]

Params = float | np.ndarray | tuple[float | np.ndarray, ...]


class OptimResult(NamedTuple):
    """What an optimizer returns.

    ``params``: the final parameters in the form of the start value — a float or an array for a
    single (non-tuple) start value, else a tuple of floats and arrays in ``wrt`` order.
    ``history``: float64 array of losses, each taken before that step's update.  For
    :func:`gd` and :func:`sgd` one loss every ``record_every`` steps (step 0, ``record_every``,
    ...); for :func:`minibatch_sgd` the loss of every minibatch, in step order.
    """

    params: Params
    history: np.ndarray


# --------------------------------------------------------------------------------------------
# Public optimizers


def gd(f: Callable, x0: Params, *, wrt: Wrt | None = None, args: Sequence[Any] = (),
       lr: float = 0.1, steps: int = 100, record_every: int = 1, method: str = "gd",
       beta: float | None = None, b1: float | None = None, b2: float | None = None,
       eps: float | None = None) -> OptimResult:
    """Full-batch gradient descent on ``f``, ``steps`` updates, the whole loop compiled.

    ``x0`` is the starting point: a float or a float64 array for one parameter, or a tuple of
    them in ``wrt`` order.  ``wrt`` defaults to the first parameter of ``f`` (the first
    ``len(x0)`` for a tuple).  ``args`` holds the other parameters (numbers or arrays), in
    signature order; they stay constant.  ``method`` picks the update, ``g`` the gradient:

    - ``"gd"`` (or ``"sgd"``): ``w <- w - lr g``;
    - ``"momentum"`` (heavy ball): ``v <- beta v + g; w <- w - lr v`` (``beta=0.9``);
    - ``"adam"``: ``m <- b1 m + (1 - b1) g; s <- b2 s + (1 - b2) g**2;
      w <- w - lr (m / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)`` at step ``t = 1, 2, ...``
      (``b1=0.9, b2=0.999, eps=1e-8``).

    ``v``, ``m`` and ``s`` start at zero.  A hyperparameter the method does not use is an
    error.  The loss is recorded before every ``record_every``-th update.
    """
    problem = _Problem.build(f, x0, wrt, "x0")
    values = _arguments(args, problem)
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    vg = problem.gen.function("value_and_grad")
    params, states = problem.buffers()
    problem.check_gradient(vg, params, values, "args")
    history = np.empty(_n_records(steps, record_every))
    step = _step_function(problem.layout)
    _run(problem, _gd_loop, step, vg, params, states, values, method_id, hyper, steps,
         record_every, history)
    return problem.result(params, history)


def minibatch_sgd(f: Callable, params0: Params, *, data: Sequence[Any],
                  wrt: Wrt | None = None, lr: float = 0.01, batch_size: int = 32,
                  epochs: int = 10, seed: int = 0, method: str = "sgd",
                  beta: float | None = None, b1: float | None = None,
                  b2: float | None = None, eps: float | None = None) -> OptimResult:
    """Minibatch stochastic gradient descent on ``f`` over ``data``, seeded and compiled.

    ``data`` holds one array per non-``wrt`` parameter of ``f``, in signature order, whose
    first axis indexes the examples (``(X, Y)`` with ``X`` of shape ``(n, d)`` and ``Y`` of
    shape ``(n,)``, say).  Each epoch shuffles the example order in place (Fisher-Yates:
    for ``i`` from ``n - 1`` down to 1, swap ``order[i]`` with ``order[rng.integers(0, i + 1)]``,
    ``rng = np.random.default_rng(seed)``, ``order`` starting as ``arange(n)`` and carried from
    epoch to epoch) and walks it in batches of ``batch_size``; the last batch of an epoch is
    smaller when ``batch_size`` does not divide ``n``, so every example is used once per epoch.
    Each step gathers the batch's rows into contiguous arrays, calls ``f``'s gradient with
    them as the non-``wrt`` arguments, and updates the parameters by ``method`` (``"sgd"``,
    ``"momentum"`` or ``"adam"``, with ``beta``, ``b1``, ``b2``, ``eps`` as in :func:`gd`).

    ``params0`` and ``wrt`` are as ``x0`` and ``wrt`` of :func:`gd`.  The history holds the
    loss of every minibatch before its update: ``epochs * ceil(n / batch_size)`` values.
    Float data becomes float64; integer data (class labels, say) keeps its type.
    """
    problem = _Problem.build(f, params0, wrt, "params0")
    arrays = _data_arrays(data, problem, min_ndim=1)
    n = arrays[0].shape[0]
    batch_size = _positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise AdcompileError(f"batch_size={batch_size} is larger than the data ({n} "
                             "examples)", construct="batch_size",
                             hint=f"use batch_size <= {n}")
    epochs = _positive_int(epochs, "epochs")
    seed = _seed(seed)
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    vg = problem.gen.function("value_and_grad")
    params, states = problem.buffers()
    buffers = tuple(np.empty((batch_size, *a.shape[1:]), dtype=a.dtype) for a in arrays)
    problem.check_gradient(vg, params, tuple(a[:batch_size] for a in arrays), "data")
    history = np.empty(epochs * (-(-n // batch_size)))
    step = _step_function(problem.layout)
    gather = _gather_function(len(arrays))
    rows = tuple(a.reshape(n, -1) for a in arrays)
    flat = tuple(b.reshape(batch_size, -1) for b in buffers)
    _run(problem, _minibatch_loop, step, gather, vg, params, states, rows, flat, buffers,
         np.random.default_rng(seed), method_id, hyper, n, batch_size, epochs, history)
    return problem.result(params, history)


def sgd(f: Callable, x0: float | Sequence[float], *, wrt: Wrt | None = None,
        data: Sequence[Any] | None = None, sampler: Callable | None = None,
        lr: float = 0.01, steps: int = 1000, seed: int = 0,
        record_every: int = 1) -> OptimResult:
    """Single-sample stochastic gradient descent on ``f``, seeded and compiled.

    Each step takes one example of the non-``wrt`` parameters and updates
    ``w <- w - lr * grad_w f(w, example)``.  The parameters are floats (for array parameters
    use :func:`minibatch_sgd`, ``batch_size=1`` for one example per step).  Examples come from
    exactly one of:

    - ``data``: a tuple of equal-length 1-D arrays, one per non-``wrt`` parameter in signature
      order; each step uses row ``i`` of every array (as float64), ``i`` drawn uniformly at
      random;
    - ``sampler``: an ``@numba.njit`` function of no arguments returning a tuple of the
      non-``wrt`` parameters (it may draw from ``np.random``).

    ``seed`` seeds Numba's ``np.random`` before the first step, so the same call gives the same
    result.  ``x0`` and ``wrt`` are as for :func:`gd`.  The loss of the example is recorded
    before every ``record_every``-th update.
    """
    problem = _Problem.build(f, x0, wrt, "x0")
    if problem.array_params:
        name = problem.wrt[problem.array_params[0]]
        raise AdcompileError(
            f"sgd takes float parameters, but x0 gives an array for {name!r}",
            construct="x0", hint="use adcompile.optim.minibatch_sgd (batch_size=1 for one "
            "example per step)")
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
    theta = np.array(problem.start, dtype=np.float64)
    history = np.empty(_n_records(steps, record_every))
    packed = problem.gen.function("packed")
    if data is not None:
        arrays = _data_arrays(data, problem, min_ndim=1, max_ndim=1)
        table = np.ascontiguousarray(np.column_stack(arrays), dtype=np.float64)
        _run(problem, _sgd_data_loop, packed, theta, table, (0.0,) * table.shape[1], lr,
             steps, record_every, seed, history)
    else:
        _check_sampler(sampler, problem)
        _run(problem, _sgd_sampler_loop, packed, sampler, theta, lr, steps, record_every,
             seed, history)
    return problem.result(tuple(theta[k:k + 1] for k in range(theta.size)), history)


# --------------------------------------------------------------------------------------------
# The loss resolved for optimization, and running a compiled loop


class _Problem(NamedTuple):
    """A loss resolved for optimization: its generated module and the parameter layout."""

    name: str
    params: list[str]
    wrt: list[str]
    others: list[str]
    as_tuple: bool
    start: list[float | np.ndarray]
    layout: tuple[tuple[str, int], ...]
    gen: Any
    #: flat results -> the caller's form, for tuple parameters (``structure``)
    rebuild: Any = None

    @classmethod
    def build(cls, f: Callable, x0: Any, wrt: Wrt | None, what: str) -> _Problem:
        info = parse_function(f)
        unpacked = structure.unpacked_parameters(info)
        if wrt is None and unpacked is not None and isinstance(unpacked[0], tuple):
            wrt = 0  # loss((W, b), ...) unpacks its first parameter: x0 is that tuple
        if wrt is not None and not isinstance(wrt, (tuple, list)) and isinstance(
                x0, (tuple, list)):
            return cls.build_structured(info, [x0], wrt, False, what)
        if (isinstance(wrt, (tuple, list)) and isinstance(x0, (tuple, list))
                and any(isinstance(v, (tuple, list)) for v in x0)):
            return cls.build_structured(info, list(x0), wrt, True, what)
        values, x0_is_tuple = _start_point(x0, what)
        if wrt is None:
            if len(values) > len(info.params):
                raise AdcompileError(
                    f"{what} has {len(values)} values, but {info.name}() has only "
                    f"{len(info.params)} parameter(s): {_listing(info.params)}",
                    construct=what, hint="give one starting value per parameter in wrt")
            wrt = tuple(info.params[:len(values)]) if x0_is_tuple else 0
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
        if len(values) != len(names):
            raise AdcompileError(
                f"{what} has {len(values)} value(s) but wrt names {len(names)} parameter(s) "
                f"of {info.name}(): {_listing(names)}", construct=what,
                hint="give one starting value per wrt parameter, in wrt order")
        gen = generated(f, tuple(names))
        others = [p for p in info.params if p not in names]
        layout = tuple(("data", others.index(p)) if p not in names
                       else ("float" if isinstance(values[names.index(p)], float) else "array",
                             names.index(p)) for p in info.params)
        return cls(info.name, info.params, names, others, as_tuple, values, layout, gen)

    @classmethod
    def build_structured(cls, info: Any, user_values: list, wrt: Wrt, many: bool,
                         what: str) -> _Problem:
        """Parameters that are (nested) tuples: optimized as their leaves (the flat
        functions of the generated module), given back in the caller's structure."""
        names, as_tuple = resolve_wrt(info.params, wrt, info.name)
        if len(user_values) != len(names):
            raise AdcompileError(
                f"{what} has {len(user_values)} value(s) but wrt names {len(names)} "
                f"parameter(s) of {info.name}(): {_listing(names)}", construct=what,
                hint="give one starting value per wrt parameter, in wrt order")
        given = dict(zip(names, user_values, strict=True))
        flat, layout_of = structure.flatten(info, tuple(given.get(p, 0.0)
                                                        for p in info.params))
        leaves = layout_of.flat_wrt(names)
        values = [_start_value(v, what) for v in structure.leaves_of(user_values)]
        gen = generated_flat(flat, names, as_tuple)
        others = [p for p in flat.params if p not in leaves]
        layout = tuple(("data", others.index(p)) if p not in leaves
                       else ("float" if isinstance(values[leaves.index(p)], float) else "array",
                             leaves.index(p)) for p in flat.params)

        def rebuild(out: tuple) -> Any:
            parts = structure.regroup(list(out), user_values)
            return tuple(parts) if as_tuple else parts[0]

        return cls(info.name, flat.params, leaves, others, True, values, layout, gen, rebuild)

    @property
    def array_params(self) -> list[int]:
        return [k for k, v in enumerate(self.start) if isinstance(v, np.ndarray)]

    def buffers(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Fresh parameter arrays (a float in a one-element array) and zero optimizer states."""
        params = tuple(np.array(v, dtype=np.float64, ndmin=1) for v in self.start)
        return params, tuple(np.zeros((2, p.size)) for p in params)

    def check_gradient(self, vg: Any, params: tuple[np.ndarray, ...], others: tuple,
                       source: str) -> None:
        """Call the gradient once from Python, so that wrong shapes or types surface as an
        ``AdcompileError`` naming the parameter, before the loop starts."""
        values = {p: params[k] if kind == "array" else float(params[k][0]) if kind == "float"
                  else others[k] for p, (kind, k) in zip(self.params, self.layout, strict=True)}
        try:
            value, grads = vg(*values.values())
        except AdcompileError:
            raise
        except Exception as exc:  # the user's loss failing on these inputs
            shapes = ", ".join(f"{p}: {_describe(v)}" for p, v in values.items())
            raise AdcompileError(
                f"{self.name}() fails on the start values and the first {source} ({shapes}): "
                f"{type(exc).__name__}: {exc}", construct=source,
                hint="check that the parameters' and the data's shapes fit the loss") from None
        if not _is_number(value) and not (isinstance(value, np.ndarray) and value.ndim == 0):
            raise AdcompileError(f"{self.name}() returns {_describe(value)}, not a scalar loss",
                                 construct="loss", hint="reduce the loss to a float, for "
                                 "example with np.sum or np.mean")
        for name, start, g in zip(self.wrt, self.start, grads, strict=True):
            want = () if isinstance(start, float) else start.shape
            if np.shape(g) != want:
                raise AdcompileError(
                    f"the gradient of {self.name}() with respect to {name!r} has shape "
                    f"{np.shape(g)}, but the parameter has shape {want}", construct=name,
                    hint="give the parameter the shape the loss uses; if it does, report "
                    "the loss: the generated gradient is at fault")

    def result(self, params: tuple[np.ndarray, ...], history: np.ndarray) -> OptimResult:
        out = tuple(float(p[0]) if isinstance(v, float) else p
                    for p, v in zip(params, self.start, strict=True))
        if self.rebuild is not None:
            return OptimResult(self.rebuild(out), history)
        return OptimResult(out if self.as_tuple else out[0], history)


def _run(problem: _Problem, loop: Any, *args: Any) -> None:
    """Call a compiled loop, turning a Numba typing failure into an ``AdcompileError``."""
    try:
        loop(*args)
    except ValueError as exc:
        if str(exc) != _SHAPE_CHANGED:
            raise
        raise AdcompileError(
            f"{_SHAPE_CHANGED} in a later step of the optimizer loop for {problem.name}()",
            construct="gradient shape", hint="the gradient's shape must not depend on the "
            "batch; if the loss is right, report it: the generated gradient is at fault"
        ) from None
    except numba_errors.TypingError as exc:
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        detail = next((line for line in lines if "No implementation" in line
                       or "Cannot" in line or "Invalid" in line), lines[0] if lines else "")
        raise AdcompileError(
            f"the optimizer loop for {problem.name}() cannot be compiled for these inputs: "
            f"{detail}", construct="optimizer inputs",
            hint=f"pass numbers or arrays for {_listing(problem.others)} (args, data or "
            "sampler values)") from None


def _n_records(steps: int, record_every: int) -> int:
    return (steps + record_every - 1) // record_every
