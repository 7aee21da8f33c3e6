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
the update of each parameter are written out by :func:`_step_function` for each layout of the
loss's signature (which parameters are optimized, which are floats, which come from the data),
because a tuple of arrays of different shapes cannot be looped over in Numba.
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

from ..api import Wrt, generated, resolve_wrt
from ..errors import AdcompileError
from ..frontend import parse_function

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

_METHODS = {"gd": 0, "sgd": 0, "momentum": 1, "adam": 2}


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
# The update rules.  ``method`` is 0 (plain), 1 (momentum) or 2 (Adam); ``hyper`` is
# ``(lr, beta or b1, b2, eps)``; each parameter has a state of two rows (velocity, or Adam's
# first and second moments) of its size.


@numba.njit
def _rule(method, w, g, a, s, hyper, c1, c2):
    """One element's update: the new weight and state values; ``c1``, ``c2`` are Adam's bias
    corrections ``1 - b1**t`` and ``1 - b2**t``."""
    lr, h1, h2, eps = hyper
    if method == 0:
        return w - lr * g, a, s
    if method == 1:
        a = h1 * a + g
        return w - lr * a, a, s
    a = h1 * a + (1.0 - h1) * g
    s = h2 * s + (1.0 - h2) * g * g
    return w - lr * (a / c1) / (math.sqrt(s / c2) + eps), a, s


@numba.njit
def _corrections(method, hyper, t):
    if method == 2:
        return 1.0 - hyper[1] ** t, 1.0 - hyper[2] ** t
    return 1.0, 1.0


_SHAPE_CHANGED = "the gradient's shape differs from its parameter's shape"


def _update(p, g, state, method, hyper, t):
    """Update the parameter array ``p`` and its ``state`` in place from the gradient ``g`` at
    step ``t`` (a float parameter is the one element of ``p``).  Compiled only."""
    raise NotImplementedError("_update is compiled by Numba; see its overload")


@overload(_update)
def _update_impl(p, g, state, method, hyper, t):
    if isinstance(g, nbtypes.Number):
        def scalar(p, g, state, method, hyper, t):
            c1, c2 = _corrections(method, hyper, t)
            p[0], state[0, 0], state[1, 0] = _rule(method, p[0], g, state[0, 0], state[1, 0],
                                                   hyper, c1, c2)
        return scalar
    if isinstance(g, nbtypes.Array) and g.ndim == p.ndim:
        def array(p, g, state, method, hyper, t):
            if g.shape != p.shape:
                raise ValueError(_SHAPE_CHANGED)
            c1, c2 = _corrections(method, hyper, t)
            flat = p.reshape(p.size)
            grad = np.ravel(g)
            for i in range(flat.size):
                flat[i], state[0, i], state[1, i] = _rule(method, flat[i], grad[i],
                                                          state[0, i], state[1, i], hyper,
                                                          c1, c2)
        return array
    return None


# --------------------------------------------------------------------------------------------
# Code written per layout: calling the gradient with parameters and data in signature order,
# updating each parameter, gathering a minibatch.  A layout names, for each parameter of the
# loss, ``("array", k)``, ``("float", k)`` (the ``k``-th optimized parameter) or
# ``("data", k)`` (the ``k``-th other argument).

_STEPS: dict[tuple, Any] = {}
_GATHERS: dict[int, Any] = {}


def _step_function(layout: tuple[tuple[str, int], ...]) -> Any:
    """``step(vg, params, states, batch, method, hyper, t) -> loss``: one update."""
    if layout not in _STEPS:
        reads = {"array": "params[{}]", "float": "params[{}][0]", "data": "batch[{}]"}
        call = ", ".join(reads[kind].format(k) for kind, k in layout)
        updates = [f"    _update(params[{k}], grads[{k}], states[{k}], method, hyper, t)"
                   for kind, k in layout if kind != "data"]
        source = "\n".join(["def step(vg, params, states, batch, method, hyper, t):",
                            f"    value, grads = vg({call})", *updates, "    return value"])
        _STEPS[layout] = _compile(source, "step")
    return _STEPS[layout]


def _gather_function(n_data: int) -> Any:
    """``gather(rows, flat, batch, order, start, stop)``: rows ``order[start:stop]`` of each
    data array, seen as a 2-D array in ``rows``, copied into ``flat`` (the buffers as 2-D
    views); returns the filled leading part of each buffer in its own shape, from ``batch``.
    Element by element: assigning whole rows compiles several times slower."""
    if n_data not in _GATHERS:
        copies = [line for k in range(n_data) for line in (
            f"        for c in range(rows[{k}].shape[1]):",
            f"            flat[{k}][r, c] = rows[{k}][i, c]")]
        parts = "".join(f"batch[{k}][:m], " for k in range(n_data))
        source = "\n".join(["def gather(rows, flat, batch, order, start, stop):",
                            "    m = stop - start", "    for r in range(m):",
                            "        i = order[start + r]", *copies,
                            f"    return ({parts})"])
        _GATHERS[n_data] = _compile(source, "gather")
    return _GATHERS[n_data]


def _compile(source: str, name: str) -> Any:
    namespace: dict[str, Any] = {"_update": _update}
    exec(compile(source, f"<adcompile.optim {name}>", "exec"), namespace)  # noqa: S102
    dispatcher = numba.njit(namespace[name])
    dispatcher.source = source
    return dispatcher


# --------------------------------------------------------------------------------------------
# The compiled loops.  Each takes the generated value-and-gradient dispatcher as an argument;
# Numba compiles one specialization per dispatcher and inlines the gradient into it.  They are
# not cached on disk: a dispatcher argument's type is tied to the live object, so an on-disk
# entry could never be found again by another process.


@numba.njit
def _gd_loop(step, vg, params, states, args, method, hyper, steps, record_every, history):
    """``steps`` updates on the constant arguments ``args``."""
    countdown = 0
    n = 0
    for t in range(1, steps + 1):
        value = step(vg, params, states, args, method, hyper, t)
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1


@numba.njit
def _minibatch_loop(step, gather, vg, params, states, rows, flat, batch, rng, method, hyper,
                    n, batch_size, epochs, history):
    """``epochs`` passes over the ``n`` examples in a fresh order, a step per minibatch."""
    order = np.arange(n)
    t = 0
    for _ in range(epochs):
        _shuffle(rng, order)
        for start in range(0, n, batch_size):
            examples = gather(rows, flat, batch, order, start, min(start + batch_size, n))
            history[t] = step(vg, params, states, examples, method, hyper, t + 1)
            t += 1


@numba.njit(cache=True)
def _shuffle(rng, order):
    """Fisher-Yates with ``rng.integers``, as NumPy would draw it (``rng.shuffle`` gives
    another order and compiles many times slower)."""
    for i in range(order.size - 1, 0, -1):
        j = rng.integers(0, i + 1)
        order[i], order[j] = order[j], order[i]


# ``g[k]`` reads the gradient whether ``packed`` returns it as an array or a tuple of floats.

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
    params: list[str]
    wrt: list[str]
    others: list[str]
    as_tuple: bool
    start: list[float | np.ndarray]
    layout: tuple[tuple[str, int], ...]
    gen: Any

    @classmethod
    def build(cls, f: Callable, x0: Any, wrt: Wrt | None, what: str) -> _Problem:
        info = parse_function(f)
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


def _method(method: Any, lr: Any, beta: Any, b1: Any, b2: Any,
            eps: Any) -> tuple[int, tuple[float, float, float, float]]:
    """The method's number and ``(lr, beta or b1, b2, eps)``, defaults filled in."""
    if not isinstance(method, str) or method not in _METHODS:
        raise AdcompileError(f"method={method!r} is not an optimizer method", construct="method",
                             hint="use 'sgd' (or 'gd'), 'momentum' or 'adam'")
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


def _n_records(steps: int, record_every: int) -> int:
    return (steps + record_every - 1) // record_every


def _listing(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "(none)"
