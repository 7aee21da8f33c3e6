"""Arrays from outside the function (module-level, or closure variables), read as constants.

A free name bound to a NumPy array of numbers is part of the cache key by its contents
(``codegen._describe_object``: dtype, shape and a SHA-256 of the bytes), and the generated module
binds it when it is loaded (``# Bound when loaded: DATA``) to a read-only, C-contiguous copy
taken then (``bound``): a change to the array after ``grad`` was called is seen by the next
``grad``, as a new module, never by code already compiled.

Numba freezes a global array of up to 1 MB into the machine code, which its disk cache then
holds.  A larger one it reads through its address in this process, and then refuses to cache
the function at all.  So a function that reads a large array (or calls one that does) takes
it as a *hidden parameter*, first, and the functions the user calls are thin wrappers that
pass it (``pass_large_arrays``)::

    def grad_loss(w):
        return grad_loss_data(X_TRAIN, w)

    def grad_loss_data(X_TRAIN, w):
        ...

The wrappers read the array as a global: they are compiled in every process (cheaply), and
everything they call comes from Numba's cache.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from typing import Any

import numpy as np

from .trees import free_names

#: arrays above this many bytes Numba does not freeze into machine code (its own limit)
LARGE = 10**6

_COPIES: dict[str, np.ndarray] = {}


def is_large(obj: Any) -> bool:
    return isinstance(obj, np.ndarray) and obj.nbytes > LARGE


def digest(array: np.ndarray) -> str:
    """The array's contents as text (dtype, shape, SHA-256 of its bytes in C order)."""
    data = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
    return f"array {array.dtype} {array.shape} {data}"


def bound(obj: Any) -> Any:
    """The value a generated module binds for a free name: for an array, a read-only
    C-contiguous copy (one per contents in the process), else ``obj`` itself."""
    if not isinstance(obj, np.ndarray):
        return obj
    key = digest(obj)
    if key not in _COPIES:
        frozen = np.array(obj, order="C", copy=True)
        frozen.flags.writeable = False
        _COPIES[key] = frozen
    return _COPIES[key]


def pass_large_arrays(bindings: dict[str, Any], functions: list[ast.FunctionDef],
                      public: set[str], taken: set[str]) -> list[ast.FunctionDef]:
    """``functions`` with every large array they read (directly or through the functions
    they call) passed as a parameter, first; each of the ``public`` ones that needs one
    becomes a wrapper that passes it to the function itself, renamed ``<name>_data``."""
    large = sorted(name for name, obj in bindings.items() if is_large(obj))
    if not large:
        return functions
    by_name = {f.name: f for f in functions}
    calls = {f.name: {n.func.id for n in ast.walk(f) if isinstance(n, ast.Call)
                      and isinstance(n.func, ast.Name) and n.func.id in by_name}
             for f in functions}
    needs = {f.name: set(large) & free_names(f) for f in functions}
    changed = True
    while changed:
        changed = False
        for name in needs:
            for callee in calls[name]:
                if not needs[callee] <= needs[name]:
                    needs[name] |= needs[callee]
                    changed = True
    taken = set(taken) | set(by_name)
    renamed: dict[str, str] = {}
    for f in functions:
        if needs[f.name] and f.name in public:
            inner, k = f"{f.name}_data", 0
            while inner in taken:
                k += 1
                inner = f"{f.name}_data_{k}"
            taken.add(inner)
            renamed[f.name] = inner
    out: list[ast.FunctionDef] = []
    done: set[int] = set()  # (functions may share nodes)
    for f in functions:
        for call in ast.walk(f):
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                    and needs.get(call.func.id) and id(call) not in done):
                done.add(id(call))
                hidden = [ast.Name(id=n, ctx=ast.Load()) for n in sorted(needs[call.func.id])]
                call.args = [*hidden, *call.args]
                call.func.id = renamed.get(call.func.id, call.func.id)
        extra = sorted(needs[f.name])
        if not extra:
            out.append(f)
            continue
        original = copy.deepcopy(f.args)
        f.args = copy.deepcopy(f.args)
        f.args.posonlyargs = []
        f.args.args = [*(ast.arg(arg=n) for n in extra), *original.posonlyargs,
                       *original.args]
        if f.name not in renamed:
            out.append(f)
            continue
        params = [a.arg for a in [*original.posonlyargs, *original.args]]
        call = ast.Call(func=ast.Name(id=renamed[f.name], ctx=ast.Load()),
                        args=[ast.Name(id=n, ctx=ast.Load()) for n in [*extra, *params]],
                        keywords=[])
        wrapper = ast.FunctionDef(name=f.name, args=original, body=[ast.Return(value=call)],
                                  decorator_list=[], returns=None, type_comment=None)
        if "type_params" in ast.FunctionDef._fields:  # Python 3.12
            wrapper.type_params = []
        f.name = renamed[f.name]
        out.extend([ast.fix_missing_locations(ast.copy_location(wrapper, f)), f])
    return out


def uncacheable(functions: dict[str, Any], injected: dict[str, Any]) -> set[str]:
    """The generated Python functions (by name) that Numba cannot cache: those that read a
    large array as a global (the wrappers of :func:`pass_large_arrays`) and those that call
    one (the wrappers of tuple parameters), whose machine code links the array's address."""
    def names(func: Any) -> set[str]:
        return set(getattr(getattr(func, "__code__", None), "co_names", ()))

    out = {name for name, func in functions.items()
           if any(is_large(injected[n]) for n in names(func) if n in injected)}
    changed = bool(out)
    while changed:
        changed = False
        for name, func in functions.items():
            if name not in out and names(func) & out:
                out.add(name)
                changed = True
    return out


