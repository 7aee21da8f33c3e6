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
the update of each parameter are written out by :func:`loops.loop_function` for each layout
of the loss's signature (which parameters are optimized, which are floats, which come from the
data), because a tuple of arrays of different shapes cannot be looped over in Numba.

The compiled loop runs in chunks of steps (:mod:`.driver`): a few steps first, then chunks
of about 0.15 s at the measured speed.  Between chunks Python shows the progress line, calls
the callback and notices Ctrl-C; the loops carry all their state in their arguments, so the
chunks compute exactly what a single call would:

    def report(info):                  # an adc.optim.StepInfo
        print(info.step, info.loss)
        return info.loss < 1e-8        # True stops the run

    res = adc.optim.gd(bowl, (1.0, -2.0), lr=0.1, steps=10_000, callback=report,
                       callback_every=100)
    res.steps, res.stopped, res.interrupted

This module holds the public optimizers and the problem they share (the loss resolved, its
gradient checked on the start values, the loop run, the result put back in the caller's
form); :mod:`.checks` validates the arguments, :mod:`.driver` runs the chunks and
:mod:`.loops` holds everything that runs compiled.
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
from . import distributed as _distributed
from .checks import (
    _arguments,
    _check_sampler,
    _data_arrays,
    _describe,
    _is_number,
    _listing,
    _method,
    _number_list,
    _positive_int,
    _renamed_start,
    _seed,
    _start_point,
    _start_value,
    _watching,
)
from .driver import Outcome, StepInfo, drive
from .loops import (
    _SHAPE_CHANGED,
    _sgd_loop,
    loop_function,
)
from .loops import _seed as _seed_numba

__all__ = ["OptimResult", "StepInfo", "dask_value_and_grad", "gd", "minibatch_sgd", "sgd"]

dask_value_and_grad = _distributed.dask_value_and_grad

Params = float | np.ndarray | tuple[float | np.ndarray, ...]


class OptimResult(tuple):
    """What an optimizer returns: the pair ``(params, history)``, with how the run ended.

    It unpacks and indexes as that pair (``params, history = res``, ``res[0]``), and has:

    - ``params``: the final parameters in the form of the start value — a float or an array
      for a single (non-tuple) start value, else a tuple of floats and arrays in ``wrt``
      order (tuple parameters come back in their own structure);
    - ``history``: float64 array of losses, each taken before that step's update, for the
      steps taken only.  :func:`gd` and :func:`sgd` keep one loss every ``record_every`` steps
      (steps 0, ``record_every``, ...); :func:`minibatch_sgd` the loss of every minibatch;
    - ``steps``: the number of steps taken (fewer than asked when the run was stopped);
    - ``interrupted``: ``True`` when Ctrl-C stopped the run before its last step;
    - ``stopped``: ``True`` when the callback returned ``True`` before the last step.
    """

    def __new__(cls, params: Params, history: np.ndarray, *, steps: int,
                interrupted: bool = False, stopped: bool = False) -> OptimResult:
        self = super().__new__(cls, (params, history))
        self.steps = steps
        self.interrupted = interrupted
        self.stopped = stopped
        return self

    @property
    def params(self) -> Params:
        """The final parameters, in the form of the start value."""
        return self[0]

    @property
    def history(self) -> np.ndarray:
        """The recorded losses of the steps taken."""
        return self[1]

    def __getnewargs_ex__(self) -> tuple[tuple, dict]:
        return (self[0], self[1]), {"steps": self.steps, "interrupted": self.interrupted,
                                    "stopped": self.stopped}

    def __repr__(self) -> str:
        return (f"OptimResult(params={self[0]!r}, history={self[1]!r}, steps={self.steps}, "
                f"interrupted={self.interrupted}, stopped={self.stopped})")


_WATCHING = """
    ``progress``: ``None`` (the default) shows a line on stderr (steps done, loss, steps per
    second, time left) when stderr is a terminal and the run takes more than about 2 s;
    ``True`` always shows it (a new line at most every 2 s when stderr is not a terminal),
    ``False`` never does.

    ``callback``: a function called from Python between chunks of compiled steps with one
    :class:`StepInfo` (``step``, ``steps``, ``loss``, ``params``, ``elapsed``).  It is called
    after every ``callback_every`` steps (steps ``callback_every``, ``2 * callback_every``,
    ...), or, for ``callback_every=None``, after each chunk (about every 0.15 s, and after the
    last step).  When it returns ``True``, the run stops there and the result has
    ``stopped=True``.  An exception it raises ends the run and propagates.

    Ctrl-C while the loop runs (in the main thread) stops it at the end of the current chunk:
    the result holds the parameters and history reached, ``interrupted=True``, and a line on
    stderr says after which step.  A second Ctrl-C raises ``KeyboardInterrupt`` as usual.
    Running in chunks gives exactly the result of one uninterrupted loop.
"""

_METHODS_DOC = """``method`` picks the update, ``g`` being the gradient:

    - ``"plain"`` (the default; ``"gd"`` and ``"sgd"`` are the same): ``w <- w - lr g``;
    - ``"momentum"`` (heavy ball): ``v <- beta v + g; w <- w - lr v``, ``beta`` 0.9 unless
      given;
    - ``"adam"``: ``m <- b1 m + (1 - b1) g; s <- b2 s + (1 - b2) g**2;
      w <- w - lr (m / (1 - b1**t)) / (sqrt(s / (1 - b2**t)) + eps)`` at step ``t = 1, 2, ...``,
      ``b1``, ``b2`` and ``eps`` 0.9, 0.999 and 1e-8 unless given.

    ``v``, ``m`` and ``s`` start at zero.  A hyperparameter the method does not use is an
    error."""


def _documented(func: Callable) -> Callable:
    func.__doc__ = (func.__doc__ or "").replace("{methods}", _METHODS_DOC).replace(
        "{watching}", "\n" + _WATCHING.strip("\n") + "\n")
    return func


# --------------------------------------------------------------------------------------------
# Public optimizers


@_documented
def gd(f: Callable, x0: Params, *, wrt: Wrt | None = None, args: Sequence[Any] = (),
       lr: float = 0.01, steps: int = 100, record_every: int = 1, method: str = "plain",
       beta: float | None = None, b1: float | None = None, b2: float | None = None,
       eps: float | None = None, progress: bool | None = None,
       callback: Callable[[StepInfo], Any] | None = None,
       callback_every: int | None = None, client: Any = None,
       persist: bool = True, parallel: bool = False) -> OptimResult:
    """Full-batch gradient descent on ``f``, ``steps`` updates, the loop compiled.

    ``x0`` is the starting point: a float or a float64 array for one parameter, or a tuple of
    them in ``wrt`` order (a list of numbers is read as an array when ``f`` indexes its first
    parameter, and is an error otherwise).  ``wrt`` defaults to the first parameter of ``f``
    (the first ``len(x0)`` for a tuple).  ``args`` holds the other parameters (numbers or
    arrays), in signature order; they stay constant.  ``lr`` is the step size.  The loss is
    recorded before every ``record_every``-th update.  ``parallel``: ``True`` computes each
    gradient on every core when ``f`` is a sum or mean over the rows of its array ``args``
    (as ``adcompile.grad(..., parallel=True)``).

    When ``args`` holds dask arrays (the rows of the data, chunked along the first axis), the
    gradient of each step is computed on a Dask cluster, a task per chunk, and the driver
    updates the parameters (:mod:`adcompile.optim.distributed`; ``f`` must be a sum or a mean
    over the rows).  ``client`` picks the ``dask.distributed`` client (default: the current
    one, else Dask's scheduler in this process); ``persist`` (default ``True``) persists the
    data on the cluster before the first step (``False``: it is computed again at every
    step, as given).

    {methods}
{watching}
    """
    if _distributed.holds_dask(args):
        return _distributed.gd(
            f, x0, wrt=wrt, args=args, lr=lr, steps=steps, record_every=record_every,
            method=method, beta=beta, b1=b1, b2=b2, eps=eps, progress=progress,
            callback=callback, callback_every=callback_every, client=client, persist=persist,
            parallel=parallel)
    _no_dask_options("args", client=client)
    problem = _Problem.build(f, x0, wrt, "x0")
    values = _arguments(args, problem)
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    watch = _watching(progress, callback, callback_every)
    vg = problem.value_and_grad(f, parallel)
    params, states = problem.buffers()
    history = np.empty(_n_records(steps, record_every))
    loop = loop_function("gd", vg, problem.layout)

    def run(start: int, count: int) -> float:
        return loop(params, states, values, method_id, hyper, start, count, record_every,
                    history)

    def check() -> None:
        problem.check_gradient(vg, params, values, "args")

    outcome = problem.run("gd", steps, run, lambda: problem.form(params, copy=True), watch,
                          check)
    return problem.result(params, history, _n_records(outcome.steps, record_every), outcome)


@_documented
def minibatch_sgd(f: Callable, x0: Params | None = None, *, data: Sequence[Any],
                  wrt: Wrt | None = None, lr: float = 0.01, batch_size: int = 32,
                  epochs: int = 10, seed: int = 0, method: str = "plain",
                  beta: float | None = None, b1: float | None = None,
                  b2: float | None = None, eps: float | None = None,
                  progress: bool | None = None,
                  callback: Callable[[StepInfo], Any] | None = None,
                  callback_every: int | None = None,
                  params0: Params | None = None, client: Any = None,
                  chunks_per_step: int | None = None, persist: bool = True,
                  parallel: bool = False) -> OptimResult:
    """Minibatch stochastic gradient descent on ``f`` over ``data``, seeded and compiled.

    ``x0`` and ``wrt`` are as for :func:`gd` (``params0`` is the former name of ``x0``: it
    still works, with a ``DeprecationWarning``, and will be removed).  ``data`` holds one
    array per non-``wrt`` parameter of ``f``, in signature order, whose first axis indexes
    the examples (``(X, Y)`` with ``X`` of shape ``(n, d)`` and ``Y`` of shape ``(n,)``,
    say).  Float data becomes float64; integer data (class labels, say) keeps its type.

    Each epoch shuffles the example order in place (Fisher-Yates: for ``i`` from ``n - 1``
    down to 1, swap ``order[i]`` with ``order[rng.integers(0, i + 1)]``,
    ``rng = np.random.default_rng(seed)``, ``order`` starting as ``arange(n)`` and carried from
    epoch to epoch) and walks it in batches of ``batch_size``; the last batch of an epoch is
    smaller when ``batch_size`` does not divide ``n``, so every example is used once per epoch
    and an epoch is ``ceil(n / batch_size)`` steps.  Each step gathers the batch's rows into
    contiguous arrays, calls ``f``'s gradient with them as the non-``wrt`` arguments, and
    updates the parameters with step size ``lr``.  The run is ``epochs`` epochs, shuffled
    by ``seed``.  The history holds the loss of every minibatch before its update:
    ``epochs * ceil(n / batch_size)`` values.  ``parallel``: ``True`` splits each minibatch
    over every core when ``f`` is a sum or mean over the rows of its data (as
    ``adcompile.grad(..., parallel=True)``; worth it for large batches).

    {methods}
{watching}
    ``callback_every`` counts steps (minibatches): ``ceil(n / batch_size)`` calls it once per
    epoch.

    When ``data`` holds dask arrays (chunked along the first axis), each step's gradient is
    computed on a Dask cluster (:mod:`adcompile.optim.distributed`; ``f`` must be a sum or a
    mean over the rows), and the minibatches are drawn chunk by chunk: each epoch walks the
    chunks in an order drawn from ``seed``, ``chunks_per_step`` (default 1) at a time, and
    cuts the shuffled rows of those chunks into batches of ``batch_size`` rows (the last
    smaller; ``batch_size=None``: all their rows in one step).  Every row is used once per
    epoch.  ``client`` and ``persist`` are as for :func:`gd`.  A step is a round trip to the
    cluster (milliseconds), so batches of thousands of rows suit it better than 32.
    """
    x0 = _renamed_start(x0, params0)
    if _distributed.holds_dask(data):
        return _distributed.minibatch_sgd(
            f, x0, data=data, wrt=wrt, lr=lr, batch_size=batch_size, epochs=epochs, seed=seed,
            method=method, beta=beta, b1=b1, b2=b2, eps=eps, progress=progress,
            callback=callback, callback_every=callback_every, client=client,
            chunks_per_step=chunks_per_step, persist=persist, parallel=parallel)
    _no_dask_options("data", client=client, chunks_per_step=chunks_per_step)
    problem = _Problem.build(f, x0, wrt, "x0")
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
    watch = _watching(progress, callback, callback_every)
    vg = problem.value_and_grad(f, parallel)
    params, states = problem.buffers()
    buffers = tuple(np.empty((batch_size, *a.shape[1:]), dtype=a.dtype) for a in arrays)
    steps = epochs * (-(-n // batch_size))
    history = np.empty(steps)
    loop = loop_function("minibatch", vg, problem.layout, len(arrays))
    rows = tuple(a.reshape(n, -1) for a in arrays)
    flat = tuple(b.reshape(batch_size, -1) for b in buffers)
    rng = np.random.default_rng(seed)
    order = np.arange(n)

    def run(start: int, count: int) -> float:
        return loop(params, states, rows, flat, buffers, rng, order, method_id, hyper, n,
                    batch_size, start, count, history)

    def check() -> None:
        problem.check_gradient(vg, params, tuple(a[:batch_size] for a in arrays), "data")

    outcome = problem.run("minibatch_sgd", steps, run,
                          lambda: problem.form(params, copy=True), watch, check)
    return problem.result(params, history, outcome.steps, outcome)


@_documented
def sgd(f: Callable, x0: float | Sequence[float], *, wrt: Wrt | None = None,
        data: Sequence[Any] | None = None, sampler: Callable | None = None,
        lr: float = 0.01, steps: int = 1000, seed: int = 0, record_every: int = 1,
        method: str = "plain", beta: float | None = None, b1: float | None = None,
        b2: float | None = None, eps: float | None = None, progress: bool | None = None,
        callback: Callable[[StepInfo], Any] | None = None,
        callback_every: int | None = None) -> OptimResult:
    """Single-sample stochastic gradient descent on ``f``, seeded and compiled.

    Each of ``steps`` steps takes one example of the non-``wrt`` parameters and updates the
    parameters from ``grad_w f(w, example)`` with step size ``lr``.  The parameters are
    floats (for array parameters use :func:`minibatch_sgd`, ``batch_size=1`` for one example
    per step).  Examples come from exactly one of:

    - ``data``: a tuple of equal-length 1-D arrays, one per non-``wrt`` parameter in signature
      order; each step uses row ``i`` of every array (as float64), ``i`` drawn uniformly at
      random;
    - ``sampler``: an ``@numba.njit`` function of no arguments returning a tuple of the
      non-``wrt`` parameters (it may draw from ``np.random``).

    ``seed`` seeds Numba's ``np.random`` before the first step, so the same call gives the same
    result (a callback that draws from Numba's ``np.random`` changes the later draws).
    ``x0`` and ``wrt`` are as for :func:`gd`.  The loss of the example is recorded before
    every ``record_every``-th update.

    {methods}
{watching}
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
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    seed = _seed(seed)
    watch = _watching(progress, callback, callback_every)
    theta = np.array(problem.start, dtype=np.float64)
    states = np.zeros((2, theta.size))
    history = np.empty(_n_records(steps, record_every))
    packed = problem.gen.function("packed")
    if data is not None:
        arrays = _data_arrays(data, problem, min_ndim=1, max_ndim=1)
        table = np.ascontiguousarray(np.column_stack(arrays), dtype=np.float64)

        source: Any = (table, (0.0,) * table.shape[1])
    else:
        _check_sampler(sampler, problem)
        source = sampler

    def run(start: int, count: int) -> float:
        return _sgd_loop(packed, source, theta, states, method_id, hyper, start, count,
                         record_every, history)

    def params() -> tuple[np.ndarray, ...]:
        return tuple(theta[k:k + 1] for k in range(theta.size))

    def seeded(start: int, count: int) -> float:
        if start == 0 and count > 0:
            _seed_numba(seed)
        return run(start, count)

    outcome = problem.run("sgd", steps, seeded, lambda: problem.form(params(), copy=True),
                          watch)
    return problem.result(params(), history, _n_records(outcome.steps, record_every), outcome)


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

    def value_and_grad(self, f: Callable, parallel: Any) -> Any:
        """The compiled value-and-gradient the loops call: with ``parallel``, split over
        shards of the data's rows (parameters as tuples: the serial one)."""
        from ..api import _scale_options
        from ..shard import parallel_function

        _scale_options(parallel, None)
        vg = self.gen.function("value_and_grad")
        if not parallel or self.rebuild is not None:
            return vg
        return parallel_function(f, self.wrt, True, "value_and_grad", vg)

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
        if wrt is None and isinstance(x0, list) and x0 and all(map(_is_number, x0)):
            x0 = _number_list(x0, info, what)
        if wrt is None and isinstance(x0, (tuple, list)) and any(
                isinstance(v, (tuple, list)) for v in x0):
            first = info.params[0] if info.params else "params"
            raise AdcompileError(
                f"{what} holds tuples, and {info.name}() does not unpack a parameter with "
                f"'{', '.join('...' for _ in range(2))} = {first}', so it is not known whether "
                f"{what} is the start of one tuple parameter or one start value per parameter",
                construct=what, hint=f"name the parameters: wrt='{first}' when {what} is the "
                f"start value of the tuple parameter '{first}', or wrt=(...) with one start "
                f"value per name")
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
        # a start value that is an array for a parameter the source unpacks (a, b = theta)
        array_unpacked = unpacked is not None and any(
            isinstance(unpacked[info.params.index(n)], tuple) for n in names)
        gen = (generated(f, tuple(names), unpacked_tuples=False) if array_unpacked
               else generated(f, tuple(names)))
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

    def form(self, params: tuple[np.ndarray, ...], copy: bool = False) -> Params:
        """The parameter buffers in the form of the start value (arrays copied if ``copy``)."""
        out = tuple(float(p[0]) if isinstance(v, float) else p.copy() if copy else p
                    for p, v in zip(params, self.start, strict=True))
        if self.rebuild is not None:
            return self.rebuild(out)
        return out if self.as_tuple else out[0]

    def result(self, params: tuple[np.ndarray, ...], history: np.ndarray, kept: int,
               outcome: Outcome) -> OptimResult:
        """The result in the caller's form, with the first ``kept`` entries of ``history``."""
        if kept < history.size:
            history = history[:kept].copy()
        return OptimResult(self.form(params), history, steps=outcome.steps,
                           interrupted=outcome.interrupted, stopped=outcome.stopped)

    def run(self, name: str, steps: int, loop: Callable[[int, int], float],
            snapshot: Callable[[], Params], watch: dict[str, Any],
            check: Callable[[], None] | None = None) -> Outcome:
        """Compile ``loop(start, count)`` (a call for no steps), then :func:`.driver.drive`
        it over ``steps`` steps, turning a Numba typing failure or a gradient whose shape
        changes into an ``AdcompileError``.

        When the loop fails, ``check`` (:meth:`check_gradient`: the gradient called once from
        Python on the start values) says whether the loss itself fails on its inputs or
        does not return a scalar, and raises that instead.  It runs only then: the loop
        compiles the gradient inlined, and a loop read from the disk cache was compiled for
        these types before, so a check up front would compile or load the gradient a second
        time (seconds for an MLP).
        """
        try:
            loop(0, 0)
            return drive(name, steps, loop, snapshot, **watch)
        except AdcompileError:
            if check is not None:
                check()  # the loss's own failure (not a scalar, say), when that is the cause
            raise
        except numba_errors.TypingError as exc:
            if check is not None:
                check()
            lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
            detail = next((line for line in lines if "No implementation" in line
                           or "Cannot" in line or "Invalid" in line), lines[0] if lines else "")
            raise AdcompileError(
                f"the optimizer loop for {self.name}() cannot be compiled for these inputs: "
                f"{detail}", construct="optimizer inputs",
                hint=f"pass numbers or arrays for {_listing(self.others)} (args, data or "
                "sampler values)") from None
        except Exception as exc:
            if check is not None:
                check()  # raises the loss's own failure, when that is the cause
            if not isinstance(exc, ValueError) or not str(exc).startswith(_SHAPE_CHANGED):
                raise
            raise AdcompileError(
                f"{_SHAPE_CHANGED} in a later step of the optimizer loop for {self.name}()",
                construct="gradient shape", hint="the gradient's shape must not depend on "
                "the batch; if the loss is right, report it: the generated gradient is at "
                "fault") from None


def _no_dask_options(where: str, **given: Any) -> None:
    """Options for dask data are errors with in-memory data."""
    for name, value in given.items():
        if value is not None:
            raise AdcompileError(
                f"{name}= is for data held as dask arrays, but {where} holds none",
                construct=name, hint=f"pass the arrays of {where}= as dask arrays chunked "
                f"by rows (e.g. da.from_array(X, chunks=(100_000, -1))), or leave out {name}=")


def _n_records(steps: int, record_every: int) -> int:
    return (steps + record_every - 1) // record_every
