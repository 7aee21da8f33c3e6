"""Data-parallel gradients and training on Dask: the rows of the data are chunks of a
``dask.array`` spread over the workers of a cluster.

A loss that is a sum or a mean over the rows of its data parameters splits over any partition
of the rows (:func:`adcompile.shard.sharded`): its *shard function* takes the parameters, one
chunk of rows in place of each data array, the total number of rows ``n_total`` and a flag
``first`` (1.0 on exactly one chunk), and returns that chunk's part of the loss and of its
gradient.  The parts of all chunks add up to the loss and gradient on all the data::

    import dask.array as da
    from dask.distributed import Client

    client = Client("tcp://scheduler:8786")          # or a LocalCluster
    X = da.from_zarr(...)                             # rows chunked: chunks=(100_000, -1)
    y = da.from_zarr(...)
    vg = adc.optim.dask_value_and_grad(loss, wrt=("w", "b"))
    value, (d_w, d_b) = vg(w, b, X, y, client=client)

    res = adc.optim.gd(loss, (w0, b0), args=(X, y), lr=0.5, steps=100, client=client)
    res = adc.optim.minibatch_sgd(loss, (w0, b0), data=(X, y), batch_size=10_000,
                                  epochs=5, seed=0, client=client)

How a gradient is computed on the cluster:

- the driver generates the shard function once (an ordinary generated module, in the cache
  directory) and *ships* it: the module's text, its file name (which holds the cache key),
  and the objects its ``# Bound when loaded:`` line names, pickled with cloudpickle
  (:class:`ShippedModule`).  It goes to every worker once (``client.scatter(...,
  broadcast=True)``): once per run of an optimizer, once per client for
  :func:`dask_value_and_grad`;
- a task on a worker looks the module up in a per-process table keyed by the module's file
  name and text (:func:`_shard_function`).  The first task of a process loads it: from the
  worker's cache directory when the same file is already there (the same machine as the
  driver, or a shared file system), else written there from the shipped text first (or, if
  nothing can be written, run from memory).  Numba's disk cache beside the file then gives
  the machine code without compiling it again on a machine that compiled it before; later
  tasks of the process reuse the loaded module.  :func:`loaded_modules` reports the loads and
  compilations of a process (``client.run(loaded_modules)`` asks every worker);
- one task per chunk calls the shard function on the chunk (parameters of up to
  :data:`EMBED_BYTES` travel inside each task, larger ones as a task of their own that each
  worker fetches once), and the partial ``(value, gradient)`` pairs are summed by a tree
  of tasks, each adding up to :data:`FAN_IN` of them, that the scheduler places where the
  parts are: only the final pair reaches the driver;
- the driver updates the parameters with the same update rules as the compiled loops
  (``plain``, ``momentum``, ``adam``) and starts the next step.

Row data must be chunked along the first axis only (every chunk holds whole rows).  Arrays
whose row chunks differ from the first data array's are rechunked to match it.  The
optimizers persist the data on the cluster before the first step (``persist=False`` leaves it
as given, recomputed at every step).  Dask is imported only when dask arrays are passed.
"""

from __future__ import annotations

import functools
import hashlib
import math
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numba
import numpy as np
from numba.core.caching import NullCache

from .. import backend, codegen, constants
from ..errors import AdcompileError, api_boundary
from .checks import _listing, _method, _positive_int, _seed, _watching
from .driver import drive
from .loops import _update

__all__ = ["DaskValueAndGrad", "ShippedModule", "dask_value_and_grad", "gd", "holds_dask",
           "loaded_modules", "minibatch_sgd"]


# --------------------------------------------------------------------------------------------
# The worker side: a shipped module, loaded once per process


class ShippedModule:
    """What a worker needs to run a generated function without generating it: the module's
    text and file name, the names of its functions by role, the function to call, the
    objects bound when the module is loaded (cloudpickled), and the driver's adcompile
    version.  (Not a dataclass, so that ``dask.delayed`` passes it whole rather than
    traversing its fields.)"""

    def __init__(self, filename: str, text: str, names: tuple[tuple[str, str], ...],
                 function: str, injected: bytes, user_function: str, version: str) -> None:
        self.filename, self.text, self.names, self.function = filename, text, names, function
        self.injected, self.user_function, self.version = injected, user_function, version
        #: the module's identity: its file name (the function's name and 20 hex digits of
        #: the generated module's cache key) and a hash of its text
        self.key = f"{filename}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    @classmethod
    def of(cls, gen: codegen.Generated, function: Any) -> ShippedModule:
        """The shippable form of ``function``, a compiled function of the module ``gen``;
        registered as loaded in this process (a task run here uses ``function`` itself)."""
        import cloudpickle

        injected = {name: gen.module.__dict__[name] for name in codegen._injected(gen.text)}
        shipped = cls(filename=gen.path.name, text=gen.text, names=tuple(gen.names.items()),
                      function=function.__name__, injected=cloudpickle.dumps(injected),
                      user_function=function.user_function, version=_version())
        with _LOCK:
            _FUNCTIONS.setdefault(shipped.key, function)
        return shipped


_LOCK = threading.Lock()
#: the shard functions of this process, by :attr:`ShippedModule.key`
_FUNCTIONS: dict[str, Any] = {}
#: how many times this process loaded each module (a driver's own modules are not counted),
#: and how many tasks used it
_LOADS: dict[str, int] = {}
_TASKS: dict[str, int] = {}


def loaded_modules() -> dict[str, dict[str, int]]:
    """The shipped modules this process loaded, by key: ``tasks`` (the tasks that ran it),
    ``loads`` (the times it was loaded: 1, tasks after the first reuse it), ``signatures``
    (the argument types compiled or read from Numba's cache), ``compiled`` and
    ``from_cache`` (how many of them Numba compiled here and how many it read from its disk
    cache).  ``client.run(loaded_modules)`` asks every worker."""
    out = {}
    with _LOCK:
        for key, count in _LOADS.items():
            stats = _FUNCTIONS[key].stats
            out[key] = {"tasks": _TASKS.get(key, 0), "loads": count,
                        "signatures": len(_FUNCTIONS[key].signatures),
                        "compiled": sum(stats.cache_misses.values()),
                        "from_cache": sum(stats.cache_hits.values())}
    return out


def _shard_function(shipped: ShippedModule) -> Any:
    """The compiled function ``shipped`` names, loaded at the first call in this process."""
    key = shipped.key
    with _LOCK:
        if key not in _FUNCTIONS:
            _FUNCTIONS[key] = _load(shipped)
            _LOADS[key] = _LOADS.get(key, 0) + 1
        _TASKS[key] = _TASKS.get(key, 0) + 1
        return _FUNCTIONS[key]


def _load(shipped: ShippedModule) -> Any:
    """Import the shipped module: from the cache directory's file when it holds this text,
    else from the text written there first (from memory when it cannot be written)."""
    if shipped.version != _version():
        raise AdcompileError(
            f"a Dask worker runs adcompile {_version()}, but the driver runs "
            f"{shipped.version} (which generated {shipped.filename})",
            construct="dask worker", hint="install the same adcompile on the workers as on "
            "the machine that calls the optimizer")
    import cloudpickle

    injected = cloudpickle.loads(shipped.injected)
    path = codegen.cache_dir() / shipped.filename
    found, damaged = codegen._read(path, dict(shipped.names))
    if found is None:
        from_file = codegen._store(path, shipped.text, replace=damaged)
    else:
        from_file = found == shipped.text
    module = backend.load_module(path, f"_adcompile_{path.stem}", injected,
                                 shipped.user_function,
                                 text=None if from_file else shipped.text)
    compiled = {name: value for name, value in vars(module).items()
                if isinstance(value, backend.CompiledFunction)}
    for name in constants.uncacheable({n: f.py_func for n, f in compiled.items()}, injected):
        compiled[name]._cache = NullCache()  # as codegen.generate: wrappers of large arrays
    return getattr(module, shipped.function)


def _version() -> str:
    from .. import __version__

    return __version__


def _partial(shipped: ShippedModule, fixed: tuple, rows: tuple[int, ...], blocks: tuple,
             picks: np.ndarray | None, n_total: int, first: float) -> tuple:
    """One chunk's ``(value, gradient)`` part (a task): ``fixed`` holds the values of the
    parameters that are not row data, in signature order; ``blocks`` the chunk of each row
    array; ``picks`` the chunk's rows to use (``None``: all of them)."""
    function = _shard_function(shipped)
    chunk = iter(np.ascontiguousarray(b if picks is None else b[picks]) for b in blocks)
    given = iter(fixed)
    args = [next(chunk) if k in rows else next(given) for k in range(len(fixed) + len(rows))]
    value, grads = function(*args, n_total, first)
    return float(value), grads


def _add(a: Any, b: Any) -> Any:
    """The sum of two partial results, tuple by tuple."""
    if isinstance(a, tuple):
        return tuple(_add(x, y) for x, y in zip(a, b, strict=True))
    return a + b


def _sum(*parts: Any) -> Any:
    """The sum of partial results (a task of the tree reduction)."""
    return functools.reduce(_add, parts)


# --------------------------------------------------------------------------------------------
# The driver side: the loss split over rows, the data checked, a gradient on the cluster


def holds_dask(values: Any) -> bool:
    """Whether ``values`` (a value or a sequence of them) holds a ``dask.array.Array``
    (without importing Dask: a dask array exists only once ``dask.array`` is imported)."""
    array_module = sys.modules.get("dask.array")
    if array_module is None:
        return False
    items = values if isinstance(values, (tuple, list)) else (values,)
    return any(isinstance(v, array_module.Array) for v in items)


class _Rows(tuple):
    """The row data: one dask array per row parameter, chunked alike along the first axis;
    ``positions`` are those parameters' places in the loss's signature."""

    positions: tuple[int, ...]

    @classmethod
    def of(cls, arrays: Sequence[Any], positions: tuple[int, ...]) -> _Rows:
        self = super().__new__(cls, arrays)
        self.positions = positions
        return self

    @property
    def lengths(self) -> tuple[int, ...]:
        """The chunks' row counts."""
        return tuple(int(c) for c in self[0].chunks[0])

    @property
    def n(self) -> int:
        return int(self[0].shape[0])

    def blocks(self) -> list[tuple]:
        """For each chunk, the delayed block of every array."""
        per_array = [a.to_delayed().reshape(-1) for a in self]
        return [tuple(d[c] for d in per_array) for c in range(len(self.lengths))]

    def head(self, count: int, client: Any) -> list[np.ndarray]:
        """The first ``count`` rows of every array, computed (writable, C-contiguous)."""
        import dask

        heads = [a[:count] for a in self]
        found = client.compute(heads, sync=True) if client is not None else dask.compute(*heads)
        return [np.array(a, order="C") for a in found]

    def persisted(self, client: Any) -> _Rows:
        import dask

        arrays = client.persist(list(self)) if client is not None else dask.persist(*self)
        return _Rows.of(arrays, self.positions)


def _arrange(name: str, params: Sequence[str], wrt: Sequence[str],
             values: Sequence[Any]) -> tuple[_Rows, list[Any]]:
    """The values of the loss's parameters (signature order) split into the row data (the
    dask arrays: checked, aligned, float data as float64) and the other values, in order."""
    try:
        import dask.array as da
    except ImportError:
        raise AdcompileError("gradients on dask arrays need Dask, which is not installed",
                             construct="dask", hint='pip install "adcompile[dask]" (or '
                             'pip install "dask[distributed]")') from None

    positions = tuple(k for k, v in enumerate(values) if isinstance(v, da.Array))
    row_names = [params[k] for k in positions]
    arrays = []
    for param, value in zip(row_names, (values[k] for k in positions), strict=True):
        if param in wrt:
            raise AdcompileError(
                f"{param!r} is differentiated (in wrt), but holds a dask array",
                construct="dask data", hint=f"pass {param} as a float or a NumPy array; "
                "dask arrays are for the data")
        if value.ndim < 1 or value.dtype.kind not in "biuf":
            raise AdcompileError(
                f"the dask array for {param!r} must hold numbers, one row per example; got "
                f"{value.ndim} dimension(s) of dtype {value.dtype}", construct="dask data",
                hint="pass a numeric dask array whose first axis indexes the examples")
        if any(math.isnan(c) for c in value.chunks[0]):
            raise AdcompileError(
                f"the dask array for {param!r} has chunks of unknown length",
                construct="dask data", hint=f"call {param} = {param}.compute_chunk_sizes() "
                "first")
        for axis, chunks in enumerate(value.chunks[1:], start=1):
            if len(chunks) > 1:
                raise AdcompileError(
                    f"the dask array for {param!r} is split along axis {axis} too "
                    f"({len(chunks)} chunks: {chunks}); every chunk must hold whole rows",
                    construct="dask chunks", hint=f"rechunk it: {param}.rechunk({{{axis}: "
                    "-1}) (or make it with chunks=(rows_per_chunk, -1))")
        if value.dtype.kind in "bf" and value.dtype != np.float64:
            value = value.astype(np.float64)
        arrays.append(value)
    counts = {int(a.shape[0]) for a in arrays}
    if len(counts) > 1:
        sizes = ", ".join(f"{p}: {a.shape[0]}" for p, a in zip(row_names, arrays, strict=True))
        raise AdcompileError(f"the dask arrays passed to {name}() have different numbers of "
                             f"rows ({sizes})", construct="dask data",
                             hint="give every data array one row per example")
    if counts == {0}:
        raise AdcompileError("the dask arrays are empty", construct="dask data",
                             hint="give at least one example")
    arrays = [a if a.chunks[0] == arrays[0].chunks[0] else a.rechunk({0: arrays[0].chunks[0]})
              for a in arrays]
    others = [v for k, v in enumerate(values) if k not in positions]
    for param, value in zip((p for k, p in enumerate(params) if k not in positions), others,
                            strict=True):
        if isinstance(value, np.ndarray) and value.dtype.kind not in "biuf":
            raise AdcompileError(f"the array for {param!r} has dtype {value.dtype}",
                                 construct="arguments", hint="pass numbers or numeric arrays")
    return _Rows.of(arrays, positions), others


def _sharded(f: Callable, wrt: Any, args: tuple, rows: tuple[int, ...]) -> Any:
    from .. import shard

    return shard.sharded(f, wrt, args=args, rows=rows)


class _Split:
    """The loss split over the rows that ``data`` holds (:func:`adcompile.shard.sharded`,
    for arguments of the kinds given): the shard function and its shipped module."""

    def __init__(self, f: Callable, wrt: Any, data: _Rows, others: Sequence[Any]) -> None:
        rows = data.positions
        fixed = iter(others)
        typical = tuple(np.zeros((1, *data[rows.index(k)].shape[1:]), data[rows.index(k)].dtype)
                        if k in rows else next(fixed) for k in range(len(rows) + len(others)))
        self.shard = _sharded(f, wrt, typical, rows)
        self.rows = tuple(self.shard.rows)
        if self.rows != rows:  # the chunks are passed in the order of the dask arrays
            raise AdcompileError(
                f"the loss was split over the rows of parameters {self.rows}, but the dask "
                f"arrays are at {rows}", construct="dask data", hint="report it with the "
                "loss: adcompile.shard.sharded should split over the rows it is given")
        self.shipped = ShippedModule.of(self.shard.gen, self.shard.value_and_grad)

    def call_on_head(self, data: _Rows, others: Sequence[Any],
                     client: Any) -> tuple[Callable, tuple, int]:
        """``(function, arguments, rows)``: the shard function and the loss's arguments with
        the first rows of the data (at most 8), to check it here before any task runs (which
        also leaves its machine code in Numba's disk cache for the workers of this
        machine)."""
        count = min(8, data.lengths[0])
        head = iter(data.head(count, client))
        fixed = iter(others)
        args = tuple(next(head) if k in self.rows else next(fixed)
                     for k in range(len(self.rows) + len(others)))
        vg = self.shard.value_and_grad
        return (lambda *a: vg(*a, count, 1.0)), args, count


def _signature(data: _Rows, others: Sequence[Any]) -> tuple:
    """What the split depends on: which parameters hold rows, and every argument's kind."""
    return (data.positions, tuple((a.ndim, a.dtype.str) for a in data),
            tuple((np.ndim(v), np.asarray(v).dtype.str) for v in others))


def _scatter(client: Any, shipped: ShippedModule) -> Any:
    """``shipped`` sent to every worker of ``client`` (a future its tasks take)."""
    return client.scatter(shipped, broadcast=True, hash=False)


def _scheduler(client: Any) -> Any:
    """``client``, else the default ``dask.distributed`` client if there is one, else
    ``None`` (dask's own scheduler in this process)."""
    if client is not None:
        return client
    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


#: how many partial results one task of the reduction adds: a tree of depth
#: ``ceil(log_FAN_IN(chunks))`` above the tasks of the chunks (each level costs a round of
#: scheduling, about 10 ms on a small machine, so the tree is wide)
FAN_IN = 8
#: parameters of up to this many bytes in all travel inside each task of a chunk; larger
#: ones are a task of their own, which every worker then fetches once
EMBED_BYTES = 1 << 18


def _value_and_grad(shipped: Any, rows: tuple[int, ...], fixed: Sequence[Any],
                    blocks: list[tuple], selection: Sequence[tuple[int, Any]], n_total: int,
                    client: Any) -> tuple[float, Any]:
    """The sum of the parts of the chunks in ``selection`` (pairs of a chunk's number and
    its rows to use, ``None`` for all), each task on its chunk, summed by a tree of tasks
    that add up to ``FAN_IN`` parts each."""
    import dask
    from dask import delayed

    fixed_node: Any = tuple(fixed)
    if sum(np.asarray(v).nbytes for v in fixed) > EMBED_BYTES:
        fixed_node = delayed(fixed_node, traverse=False)  # sent once per worker
    parts = [delayed(_partial)(shipped, fixed_node, rows, blocks[c], picks, n_total,
                               1.0 if i == 0 else 0.0)
             for i, (c, picks) in enumerate(selection)]
    while len(parts) > 1:
        groups = [parts[i:i + FAN_IN] for i in range(0, len(parts), FAN_IN)]
        parts = [delayed(_sum)(*group) if len(group) > 1 else group[0] for group in groups]
    if client is not None:
        return client.compute(parts[0], optimize_graph=False).result()
    return dask.compute(parts[0], optimize_graph=False)[0]


def _failed(name: str, exc: Exception, what: str) -> AdcompileError:
    return AdcompileError(f"{name}() fails on the first rows of the dask data: "
                          f"{type(exc).__name__}: {exc}", construct=what,
                          hint="check that the shapes of the parameters and of the data's "
                          "rows fit the loss")


class DaskValueAndGrad:
    """``f``'s value and gradient computed on a Dask cluster: see :func:`dask_value_and_grad`.
    """

    def __init__(self, f: Callable, wrt: Any) -> None:
        from ..api import located_wrt
        from ..frontend import parse_function

        info = parse_function(f)
        self.f, self.wrt, self.name, self.params = f, wrt, info.name, info.params
        self.wrt_names = located_wrt(info.params, wrt, info.name, info.filename,
                                     info.tree.lineno)[0]
        #: the splits made so far, by :func:`_signature`
        self.splits: dict[tuple, _Split] = {}
        self._scattered: dict[tuple, tuple[Any, Any]] = {}

    @api_boundary
    def __call__(self, *args: Any, client: Any = None) -> tuple[float, Any]:
        if len(args) != len(self.params):
            raise AdcompileError(f"{self.name}() takes {len(self.params)} argument(s) "
                                 f"({_listing(self.params)}), got {len(args)}",
                                 construct="arguments",
                                 hint="pass every parameter, in signature order")
        data, others = _arrange(self.name, self.params, self.wrt_names, args)
        if not data.positions:
            raise AdcompileError(f"none of the arguments of {self.name}() is a dask array",
                                 construct="dask data", hint="pass the data as dask arrays "
                                 "chunked by rows, or use adcompile.value_and_grad")
        signature = _signature(data, others)
        client = _scheduler(client)
        if signature not in self.splits:
            split = _Split(self.f, self.wrt, data, others)
            function, head, _ = split.call_on_head(data, others, client)
            try:
                function(*head)
            except AdcompileError:
                raise
            except Exception as exc:  # the loss failing on these inputs
                raise _failed(self.name, exc, "arguments") from None
            self.splits[signature] = split
        split = self.splits[signature]
        shipped = split.shipped
        if client is not None:
            held = self._scattered.get(signature)
            if held is None or held[0] is not client or held[1].status != "finished":
                self._scattered[signature] = (client, _scatter(client, shipped))
            shipped = self._scattered[signature][1]
        return _value_and_grad(shipped, split.rows, others, data.blocks(),
                               [(c, None) for c in range(len(data.lengths))], data.n, client)


@api_boundary
def dask_value_and_grad(f: Callable, wrt: Any = 0) -> DaskValueAndGrad:
    """``f``'s value and gradient on data held as dask arrays, computed where the data are.

    The result is called like ``adc.value_and_grad(f, wrt)``, with every parameter of ``f``
    in signature order: the data as dask arrays chunked along their first axis only (each
    chunk whole rows; arrays whose row chunks differ from the first one's are rechunked to
    match), the parameters and any other constants as floats or NumPy arrays.  ``f`` must be
    a sum or a mean over the rows of the dask arrays, plus terms that do not read them
    (:func:`adcompile.shard.sharded` proves it, or raises an ``AdcompileError``).  It returns
    ``(value, gradient)``: the value a float, the gradient structured as
    ``adc.value_and_grad(f, wrt)``'s.

    ``client=`` picks the ``dask.distributed`` client; by default the current one, or Dask's
    scheduler in this process when there is none.  Each call is one round of tasks: one per
    chunk, then a tree of sums.  The first call for arguments of new kinds (ranks, dtypes)
    splits the loss and calls the shard function here on the first rows, which reports
    shapes that do not fit before any task runs.
    """
    return DaskValueAndGrad(f, wrt)


# --------------------------------------------------------------------------------------------
# The optimizers


@numba.njit(cache=True)
def _apply(p, g, state, method, hyper, t):  # pragma: no cover - compiled
    """One parameter's update (``loops._update``, compiled for floats and arrays)."""
    _update(p, g, state, method, hyper, t)


class _Run:
    """What the two optimizers share: the problem, the split loss, the persisted data and
    the fixed values, and one step on the cluster."""

    def __init__(self, f: Callable, x0: Any, wrt: Any, values: Sequence[Any], what: str,
                 client: Any, persist: bool) -> None:
        from . import _Problem

        problem = _Problem.build(f, x0, wrt, "x0")
        if problem.rebuild is not None:
            raise AdcompileError(
                f"{problem.name}() takes tuple parameters, which training on dask data does "
                "not take yet", construct="x0", hint="pass the tuple's arrays and floats as "
                "parameters of their own")
        values = list(values)
        if len(values) != len(problem.others):
            raise AdcompileError(
                f"{what} has {len(values)} value(s), but {problem.name}() has "
                f"{len(problem.others)} parameter(s) besides wrt: {_listing(problem.others)}",
                construct=what, hint="pass one value per non-wrt parameter, in signature order")
        self.problem = problem
        given = dict(zip(problem.others, values, strict=True))
        start = dict(zip(problem.wrt, problem.start, strict=True))
        data, others = _arrange(problem.name, problem.params, problem.wrt,
                                [given[p] if p in given else start[p] for p in problem.params])
        self.split = _Split(f, tuple(problem.wrt), data, others)
        self.client = _scheduler(client)
        self.data = data.persisted(self.client) if persist else data
        self.blocks = self.data.blocks()
        self.params, self.states = problem.buffers()
        self.shipped = self.split.shipped
        if self.client is not None:
            self.shipped = _scatter(self.client, self.shipped)
        # each non-row parameter of f: a wrt parameter (its number) or a constant (its value)
        wrt_at = {p: k for k, p in enumerate(problem.wrt)}
        self.fixed_plan = [(wrt_at.get(p), v) for p, v in zip(
            (p for k, p in enumerate(problem.params) if k not in data.positions), others,
            strict=True)]
        function, head, _ = self.split.call_on_head(self.data, self.fixed(), self.client)
        head_others = tuple(a for p, a in zip(problem.params, head, strict=True)
                            if p not in wrt_at)
        problem.check_gradient(function, self.params, head_others, "rows of the dask data")

    def fixed(self) -> list[Any]:
        """The values of the non-row parameters now, in signature order."""
        current = [float(p[0]) if isinstance(v, float) else p
                   for p, v in zip(self.params, self.problem.start, strict=True)]
        return [value if k is None else current[k] for k, value in self.fixed_plan]

    def step(self, selection: Sequence[tuple[int, Any]], n_total: int, method: int,
             hyper: tuple, t: int) -> float:
        """One update from the gradient on the rows ``selection`` names; the loss before it."""
        value, grads = _value_and_grad(self.shipped, self.split.rows, self.fixed(), self.blocks,
                                       selection, n_total, self.client)
        for p, g, s in zip(self.params, grads, self.states, strict=True):
            _apply(p, g, s, method, hyper, t)
        return value

    def result(self, name: str, steps: int, run: Callable[[int, int], float],
               history: np.ndarray, record_every: int, watch: dict[str, Any]) -> Any:
        problem = self.problem
        outcome = drive(name, steps, run, lambda: problem.form(self.params, copy=True), **watch)
        kept = -(-outcome.steps // record_every)
        return problem.result(self.params, history, kept, outcome)


def _no_parallel(parallel: Any) -> None:
    if parallel:
        raise AdcompileError(
            "parallel=True splits a gradient over the cores of this process, but the data "
            "are dask arrays, whose chunks the workers already compute in parallel",
            construct="parallel", hint="leave out parallel=True; for more parallelism give "
            "the cluster more workers (or threads per worker) and the data more chunks")


class _Schedule:
    """The minibatches of :func:`minibatch_sgd` on chunked data, drawn from ``seed``.

    Each epoch walks the chunks in a random order (a permutation drawn by one generator) in
    groups of ``chunks_per_step``; the rows of a group are shuffled (by a second generator)
    and cut into batches of ``batch_size`` rows, the last one smaller (``None``: the whole
    group is one batch).  So every row is used once per epoch.  Iterating gives, per step,
    the chunks it reads with the rows of each (sorted; ``None`` for all) and its row count.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int | None, chunks_per_step: int,
                 epochs: int, seed: int) -> None:
        chunk_seed, row_seed = np.random.SeedSequence(seed).spawn(2)
        order_rng = np.random.default_rng(chunk_seed)
        self.row_rng = np.random.default_rng(row_seed)
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.groups: list[np.ndarray] = []
        self.steps = 0
        for _ in range(epochs):
            order = order_rng.permutation(len(lengths))
            for start in range(0, len(order), chunks_per_step):
                group = order[start:start + chunks_per_step]
                self.groups.append(group)
                self.steps += self._batches(int(self.lengths[group].sum()))

    def _batches(self, rows: int) -> int:
        return 1 if self.batch_size is None else -(-rows // self.batch_size)

    def __iter__(self) -> Iterator[tuple[list[tuple[int, np.ndarray | None]], int]]:
        for group in self.groups:
            sizes = self.lengths[group]
            rows = int(sizes.sum())
            count = self._batches(rows)
            if count == 1:
                yield [(int(c), None) for c in group], rows
                continue
            order = self.row_rng.permutation(rows)
            ends = np.cumsum(sizes)
            for b in range(count):
                picked = np.sort(order[b * self.batch_size:(b + 1) * self.batch_size])
                cuts = np.searchsorted(picked, ends)
                selection = []
                low = 0
                for c, end, size, cut in zip(group, ends, sizes, cuts, strict=True):
                    if cut > low:
                        selection.append((int(c), picked[low:cut] - (end - size)))
                    low = cut
                yield selection, int(picked.size)


def gd(f: Callable, x0: Any, *, wrt: Any, args: Any, lr: float, steps: int,
       record_every: int, method: str, beta: float | None, b1: float | None,
       b2: float | None, eps: float | None, progress: bool | None, callback: Any,
       callback_every: int | None, client: Any, persist: bool, parallel: bool) -> Any:
    """:func:`adcompile.optim.gd` when ``args`` holds dask arrays: each step's gradient is
    computed on all the chunks, on the cluster."""
    _no_parallel(parallel)
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    steps = _positive_int(steps, "steps")
    record_every = _positive_int(record_every, "record_every")
    watch = _watching(progress, callback, callback_every)
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    run = _Run(f, x0, wrt, args, "args", client, persist)
    history = np.empty(-(-steps // record_every))
    every_chunk = [(c, None) for c in range(len(run.data.lengths))]

    def loop(start: int, count: int) -> float:
        value = math.nan
        for step in range(start, start + count):
            value = run.step(every_chunk, run.data.n, method_id, hyper, step + 1)
            if step % record_every == 0:
                history[step // record_every] = value
        return value

    return run.result("gd", steps, loop, history, record_every, watch)


def minibatch_sgd(f: Callable, x0: Any, *, data: Any, wrt: Any, lr: float,
                  batch_size: int | None, epochs: int, seed: int, method: str,
                  beta: float | None, b1: float | None, b2: float | None, eps: float | None,
                  progress: bool | None, callback: Any, callback_every: int | None,
                  client: Any, chunks_per_step: int | None, persist: bool,
                  parallel: bool) -> Any:
    """:func:`adcompile.optim.minibatch_sgd` when ``data`` holds dask arrays: minibatches
    drawn chunk by chunk (:class:`_Schedule`), each step's gradient computed on the cluster."""
    _no_parallel(parallel)
    method_id, hyper = _method(method, lr, beta, b1, b2, eps)
    epochs = _positive_int(epochs, "epochs")
    seed = _seed(seed)
    chunks_per_step = _positive_int(1 if chunks_per_step is None else chunks_per_step,
                                    "chunks_per_step")
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "batch_size")
    watch = _watching(progress, callback, callback_every)
    if isinstance(data, np.ndarray) or not isinstance(data, (tuple, list)):
        raise AdcompileError("data must be a tuple of arrays, one per non-wrt parameter",
                             construct="data", hint="pass data=(X, y, ...)")
    run = _Run(f, x0, wrt, data, "data", client, persist)
    n = run.data.n
    if batch_size is not None and batch_size > n:
        raise AdcompileError(f"batch_size={batch_size} is larger than the data ({n} "
                             "examples)", construct="batch_size",
                             hint=f"use batch_size <= {n}, or None for whole chunks")
    schedule = _Schedule(run.data.lengths, batch_size, chunks_per_step, epochs, seed)
    history = np.empty(schedule.steps)
    batches = iter(schedule)

    def loop(start: int, count: int) -> float:
        value = math.nan
        for step in range(start, start + count):
            selection, rows = next(batches)
            value = run.step(selection, rows, method_id, hyper, step + 1)
            history[step] = value
        return value

    return run.result("minibatch_sgd", schedule.steps, loop, history, 1, watch)
