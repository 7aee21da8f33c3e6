"""The compiled side of the optimizers: the update rules, the loops written out per loss and
layout (their step and gather), and the ``@numba.njit`` loops that :mod:`adcompile.optim`
calls.

Everything here runs inside Numba; nothing checks the user's input (that is done before, in
:mod:`adcompile.optim` and :mod:`adcompile.optim.checks`).  A shape of the gradient that changes
during the loop raises ``ValueError(_SHAPE_CHANGED)``, which the caller reports.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import types as nbtypes
from numba.extending import overload
from numba.np.unsafe.ndarray import to_fixed_tuple

# --------------------------------------------------------------------------------------------
# The update rules.  ``method`` is 0 (plain), 1 (momentum) or 2 (Adam); ``hyper`` is
# ``(lr, beta or b1, b2, eps)``; each parameter has a state of two rows (velocity, or Adam's
# first and second moments) of its size.


@numba.njit(cache=True)
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


@numba.njit(cache=True)
def _corrections(method, hyper, t):
    if method == 2:
        return 1.0 - hyper[1] ** t, 1.0 - hyper[2] ** t
    return 1.0, 1.0


_SHAPE_CHANGED = "the gradient's shape differs from its parameter's shape"


def _update(p, g, state, method, hyper, t):
    """Update the parameter array ``p`` and its ``state`` in place from the gradient ``g`` at
    step ``t`` (a float parameter is the one element of ``p``).  This is the plain-Python
    meaning; compiled code uses the overload below, specialised for floats and arrays."""
    flat = p.reshape(p.size)
    grad = np.ravel(g)
    if grad.shape != flat.shape:
        raise ValueError(_SHAPE_CHANGED)
    c1, c2 = _corrections(method, hyper, t)
    for i in range(flat.size):
        flat[i], state[0, i], state[1, i] = _rule(method, flat[i], grad[i], state[0, i],
                                                  state[1, i], hyper, c1, c2)


@numba.njit(cache=True)
def _update_array(p, g, state, method, hyper, t):
    """:func:`_update` of an array parameter ``p``, its gradient ``g`` of the same rank.
    Compiled once per install for each rank and layout (``cache=True``): the loops of every
    loss call it rather than compiling the update rules again."""
    if g.shape != p.shape:
        raise ValueError(_SHAPE_CHANGED)
    c1, c2 = _corrections(method, hyper, t)
    flat = p.reshape(p.size)
    grad = np.ravel(g)
    for i in range(flat.size):
        flat[i], state[0, i], state[1, i] = _rule(method, flat[i], grad[i], state[0, i],
                                                  state[1, i], hyper, c1, c2)


@numba.njit(cache=True)
def _update_float(p, g, state, method, hyper, t):
    """:func:`_update` of a float parameter, held as the one element of ``p``."""
    c1, c2 = _corrections(method, hyper, t)
    p[0], state[0, 0], state[1, 0] = _rule(method, p[0], g, state[0, 0], state[1, 0], hyper,
                                           c1, c2)


@overload(_update)
def _update_impl(p, g, state, method, hyper, t):
    if isinstance(g, nbtypes.Number):
        return lambda p, g, state, method, hyper, t: _update_float(p, g, state, method,
                                                                   hyper, t)
    if isinstance(g, nbtypes.Array) and g.ndim == p.ndim:
        return lambda p, g, state, method, hyper, t: _update_array(p, g, state, method,
                                                                   hyper, t)
    return None


# --------------------------------------------------------------------------------------------
# The loops, written out per loss.  A layout names, for each parameter of the loss,
# ``("array", k)``, ``("float", k)`` (the ``k``-th optimized parameter) or ``("data", k)``
# (the ``k``-th other argument).  For each loss (its generated value-and-gradient ``vg``), each
# layout and each kind of loop, a module is written to the cache directory beside the loss's
# generated module: ``gather`` (a minibatch's rows) and the loop, whose step (the call of
# ``vg`` with parameters and data in signature order, and the update of each parameter) is
# written out in it (``_with_step``).  ``vg`` is
# bound in the module when it is loaded, so Numba caches the loop on disk like the gradient
# itself, and a new process finds it compiled.  (A ``vg`` without a file of its own, the
# sharded one of ``parallel=True``, gets the same module in memory, compiled per process.)
#
# Each loop runs ``count`` steps from step ``start`` (steps numbered from 0; ``t = step + 1``
# in the update rules) and returns the loss of its last step (NaN for ``count == 0``, which
# only compiles).  Everything a later step needs is in the arguments, updated in place: the
# parameters, the optimizer states, the generator and the shuffle order, Numba's ``np.random``
# state, and the history, whose slots follow from the step numbers.  So calling a loop for
# steps ``0 .. a - 1`` and then ``a .. b - 1`` computes exactly what one call for ``0 .. b - 1``
# computes: :mod:`.driver` runs them in chunks.

_GD_LOOP = '''
def gd_loop(params, states, args, method, hyper, start, count, record_every, history):
    """Updates on the constant arguments ``args``."""
    n, countdown = _first_record(start, record_every)
    value = np.nan
    for t in range(start + 1, start + count + 1):
        # STEP args t
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1
    return value
'''

_MINIBATCH_LOOP = '''
def minibatch_loop(params, states, rows, flat, batch, rng, order, method, hyper, n,
                   batch_size, start, count, history):
    """A step per minibatch; each epoch (``ceil(n / batch_size)`` steps) starts by shuffling
    ``order`` (carried from epoch to epoch) with ``rng``."""
    per_epoch = (n + batch_size - 1) // batch_size
    value = np.nan
    for t in range(start, start + count):
        k = t % per_epoch
        if k == 0:
            _shuffle(rng, order)
        first = k * batch_size
        examples = gather(rows, flat, batch, order, first, min(first + batch_size, n))
        # STEP examples t + 1
        history[t] = value
    return value
'''

_LOADED: dict[str, Any] = {}


def _with_step(loop: str, layout: tuple[tuple[str, int], ...]) -> str:
    """``loop`` with its step written out where it says ``# STEP <batch> <t>``: the call of
    ``vg`` with parameters and data in signature order, then the update of each parameter.
    Written into the loop rather than called: Numba optimizes a function again with every
    function it calls linked in, so a ``step`` function between the loop and ``vg`` would
    optimize the whole gradient once more (seconds for an MLP)."""
    out = []
    for line in loop.splitlines(keepends=True):
        if not line.lstrip().startswith("# STEP "):
            out.append(line)
            continue
        indent = line[:len(line) - len(line.lstrip())]
        batch, t = line.strip()[len("# STEP "):].split(" ", 1)
        reads = {"array": "params[{}]", "float": "params[{}][0]", "data": batch + "[{}]"}
        call = ", ".join(reads[kind].format(k) for kind, k in layout)
        out.append(f"{indent}value, grads = vg({call})\n")
        out.extend(f"{indent}_update_{kind}(params[{k}], grads[{k}], states[{k}], method, "
                   f"hyper, {t})\n" for kind, k in layout if kind != "data")
    return "".join(out)


def _gather_source(n_data: int) -> str:
    """``gather(rows, flat, batch, order, start, stop)``: rows ``order[start:stop]`` of each
    data array, seen as a 2-D array in ``rows``, copied into ``flat`` (the buffers as 2-D
    views); returns the filled leading part of each buffer in its own shape, from ``batch``.
    Element by element: assigning whole rows compiles several times slower."""
    copies = [line for k in range(n_data) for line in (
        f"        for c in range(rows[{k}].shape[1]):",
        f"            flat[{k}][r, c] = rows[{k}][i, c]")]
    parts = "".join(f"batch[{k}][:m], " for k in range(n_data))
    return "\n".join(["def gather(rows, flat, batch, order, start, stop):",
                      "    m = stop - start", "    for r in range(m):",
                      "        i = order[start + r]", *copies, f"    return ({parts})", ""])


def loop_function(kind: str, vg: Any, layout: tuple[tuple[str, int], ...],
                  n_data: int = 0) -> Any:
    """The compiled ``gd_loop`` (``kind="gd"``) or ``minibatch_loop`` of the loss whose
    value-and-gradient is ``vg``, for ``layout``: loaded from (or written to) the cache
    directory when ``vg`` lives in a file, else compiled from memory."""
    from ..backend import CompiledFunction, load_module
    from ..codegen import _store, cache_dir

    parts = ['"""Optimizer loop of adcompile.optim, written for one loss; do not edit."""',
             "import numpy as np", "from adcompile.optim.loops import _first_record, "
             "_shuffle, _update_array, _update_float", "# Bound when loaded: vg", ""]
    if kind == "minibatch":
        parts += ["", _gather_source(n_data)]
    parts.append(_with_step(_GD_LOOP if kind == "gd" else _MINIBATCH_LOOP, layout))
    text = "\n".join(parts)
    module_path = getattr(vg, "module_path", "") if isinstance(vg, CompiledFunction) else ""
    on_disk = bool(module_path) and getattr(vg, "_cache", None) is not None and \
        type(vg._cache).__name__ != "NullCache"
    identity = f"{module_path}:{vg.py_func.__qualname__}" if on_disk else f"id {id(vg)}"
    key = hashlib.sha256(f"{identity}\0{text}".encode()).hexdigest()[:20]
    if key in _LOADED:
        return _LOADED[key]
    stem = Path(module_path).stem if on_disk else "memory"
    path = cache_dir() / f"optim_{kind}_{stem}_{key}.py"
    stored = on_disk and _store(path, text, replace=_damaged(path, text))
    module = load_module(path, f"_adcompile_{path.stem}", {"vg": _inlined(vg)},
                         getattr(vg, "user_function", "") or "a loss",
                         text=None if stored else text)
    loop = getattr(module, f"{kind}_loop")
    loop.source = text
    _LOADED[key] = loop
    return loop


def _inlined(vg: Any) -> Any:
    """``vg`` as the loop calls it: a generated gradient is inlined into the loop (Numba's
    ``inline="always"``, on its Python function), so that compiling the loop compiles the
    gradient's code once.  Called as a function, it would be compiled on its own and then
    optimized and translated to machine code again inside the loop, linked in (seconds for
    an MLP).  Anything else (the sharded gradient of ``parallel=True``) is called."""
    from ..backend import CompiledFunction

    if not isinstance(vg, CompiledFunction) or not vg.module_path:
        return vg
    return numba.njit(vg.py_func, inline="always", error_model="numpy", boundscheck=None)


def _damaged(path: Path, text: str) -> bool:
    """Whether ``path`` exists with other contents than ``text`` and its seal."""
    try:
        held = path.read_text()
    except OSError:
        return False
    return held != text + f"# adcompile sha256 {hashlib.sha256(text.encode()).hexdigest()}\n"


@numba.njit(cache=True)
def _first_record(start, record_every):
    """Records are taken at steps 0, ``record_every``, ...: the history slot of the first one
    at or after ``start``, and the steps until it."""
    slot = (start + record_every - 1) // record_every
    return slot, slot * record_every - start


@numba.njit(cache=True)
def _shuffle(rng, order):
    """Fisher-Yates with ``rng.integers``, as NumPy would draw it (``rng.shuffle`` gives
    another order and compiles many times slower)."""
    for i in range(order.size - 1, 0, -1):
        j = rng.integers(0, i + 1)
        order[i], order[j] = order[j], order[i]


@numba.njit(cache=True)
def _seed(seed):
    """Seed Numba's ``np.random`` (its own state, not NumPy's) for the ``sgd`` loops."""
    np.random.seed(seed)


# ``g[k]`` reads the gradient whether ``packed`` returns it as an array or a tuple of floats.

@numba.njit
def _sgd_loop(packed, source, theta, states, method, hyper, start, count, record_every,
              history):
    """A step per example drawn from ``source`` (see :func:`_draw`)."""
    n, countdown = _first_record(start, record_every)
    value = np.nan
    lr = hyper[0]
    for t in range(start + 1, start + count + 1):
        value, g = packed(theta, _draw(source))
        if countdown == 0:
            history[n] = value
            n += 1
            countdown = record_every
        countdown -= 1
        if method == 0:
            for k in range(theta.shape[0]):
                theta[k] -= lr * g[k]
        else:
            _update_floats(theta, g, states, method, hyper, t)
    return value


def _draw(source):
    """One example as the tuple of non-wrt arguments: for ``source = (table, row_type)`` a
    row of ``table`` drawn uniformly with Numba's ``np.random``, else ``source()`` (a
    sampler)."""
    if isinstance(source, tuple):
        table, row_type = source
        return _row(table, np.random.randint(0, table.shape[0]), row_type)
    return _example(source())


@overload(_draw)
def _draw_impl(source):
    if isinstance(source, nbtypes.BaseTuple):
        def rows(source):
            table, row_type = source
            return _row(table, np.random.randint(0, table.shape[0]), row_type)
        return rows
    return lambda source: _example(source())


@numba.njit
def _update_floats(theta, g, states, method, hyper, t):
    """The momentum or Adam update of every float parameter, ``theta[k]`` from ``g[k]``.
    (The loops write the plain update out themselves: called from here it costs a third more
    time per step of the seed neuron.)"""
    c1, c2 = _corrections(method, hyper, t)
    for k in range(theta.shape[0]):
        theta[k], states[0, k], states[1, k] = _rule(method, theta[k], g[k], states[0, k],
                                                     states[1, k], hyper, c1, c2)


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
