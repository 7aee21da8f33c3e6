"""Numba's on-disk cache for adcompile's own kernels.

The kernels that generated code calls (tapes, reductions, broadcasting, shape functions) are
Numba overloads and ``njit`` functions.  Compiled afresh in every process, they made up about a
third of the first call of a new gradient (the N-body gradient of ``benchmarks/loops.py``).
Overloads compiled with ``jit_options=CACHED`` and ``njit(cache=True)`` kernels keep their
machine code on disk instead, one entry per signature, in the directory Numba would choose
(``__pycache__`` beside the module, else the user's cache).

A leaf module: ``kernels*`` and ``stack`` import it, and it imports nothing of adcompile's at
import time.
"""

from __future__ import annotations

import hashlib
import types
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core import caching
from numba.core import types as nbtypes

_STAMP: list[str] = []


def package_stamp() -> str:
    """A hash of adcompile's whole source, computed once per process."""
    if not _STAMP:
        h = hashlib.sha256()
        root = Path(__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
        _STAMP.append(h.hexdigest())
    return _STAMP[0]


class _PackageLocator(caching._CacheLocator):  # type: ignore[misc]
    """Where Numba caches adcompile's own compiled kernels (``njit(cache=True)`` functions
    and overloads compiled with ``jit_options=CACHED``), and when an entry is fresh.

    Numba judges a cached function by its own file's time stamp, but a kernel of one module
    calls kernels of others (``kernels_shapes`` calls ``kernels``, overloads call
    ``stack``): an edit to the callee alone would leave the caller's machine code stale.
    Here the stamp is the hash of the whole package's source (:func:`package_stamp`, the
    same as keys generated modules); the directory is the one Numba would choose."""

    def __init__(self, inner: Any, stamp: str) -> None:
        self._inner = inner
        self._stamp = stamp
        # Numba names the file in its warning for a kernel it cannot cache (one that keeps
        # dynamic globals, as at NUMBA_OPT=0)
        self._py_file = getattr(inner, "_py_file", "")

    def ensure_cache_path(self) -> None:
        self._inner.ensure_cache_path()

    def get_cache_path(self) -> str:
        return self._inner.get_cache_path()

    def get_source_stamp(self) -> str:
        return self._stamp

    def get_disambiguator(self) -> str:
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func: Any, py_file: str) -> Any:
        module = getattr(py_func, "__module__", None) or ""
        if module != "adcompile" and not module.startswith("adcompile."):
            return None
        for other in _NUMBA_LOCATORS:
            inner = other.from_function(py_func, py_file)
            if inner is not None:
                return cls(inner, package_stamp())
        return None


#: Numba's list of cache locators (``CacheImpl``; ``_CacheImpl`` before Numba 0.61).
_LOCATORS = getattr(getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None),
                    "_locator_classes", None)
#: Numba's own locators, which choose the directory; ours goes first in the list.
_NUMBA_LOCATORS = tuple(c for c in _LOCATORS or () if c is not _PackageLocator)
if isinstance(_LOCATORS, list) and _PackageLocator not in _LOCATORS:
    _LOCATORS.insert(0, _PackageLocator)

class _Opaque(Exception):
    """A closure holds a value :func:`_describe` does not know how to name."""


def _describe(value: Any, depth: int = 0) -> str:
    """A text that names ``value`` the same way in every process (for the key of a cached
    kernel whose implementation is a closure): numbers and strings by ``repr``, Numba types
    by their name, functions and dispatchers by module, name, line, bytecode and, in turn,
    their own closure and defaults."""
    if depth > 12:
        raise _Opaque
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_describe(v, depth + 1) for v in value)
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (set, frozenset)):
        return "set(" + ", ".join(sorted(_describe(v, depth + 1) for v in value)) + ")"
    if isinstance(value, dict):
        return "dict(" + ", ".join(sorted(
            f"{_describe(k, depth + 1)}: {_describe(v, depth + 1)}"
            for k, v in value.items())) + ")"
    py_func = getattr(value, "py_func", None)  # a Numba dispatcher
    if isinstance(py_func, types.FunctionType):
        return "jit " + _describe(py_func, depth + 1)
    if isinstance(value, types.FunctionType):
        cells = tuple(c.cell_contents for c in value.__closure__ or ())
        return (f"function {value.__module__}.{value.__qualname__} "
                f"{_describe_code(value.__code__, depth + 1)} {_describe(cells, depth + 1)} "
                f"{_describe(value.__defaults__, depth + 1)}")
    if isinstance(value, types.CodeType):
        return _describe_code(value, depth + 1)
    if isinstance(value, nbtypes.Type):
        return f"type {value}"
    if isinstance(value, (types.BuiltinFunctionType, np.ufunc, np.dtype, type)):
        return f"{type(value).__name__} {getattr(value, '__module__', '')} {value!r}"
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    raise _Opaque


def _describe_code(code: types.CodeType, depth: int) -> str:
    digest = hashlib.sha256(code.co_code + _describe(code.co_consts, depth + 1).encode()
                            ).hexdigest()
    return f"code {code.co_name}:{code.co_firstlineno} {digest}"


_NUMBA_INDEX_KEY = getattr(caching.Cache, "_index_key", None)


def _index_key(self: Any, sig: Any, codegen: Any) -> Any:
    """Numba's key of a cached function; for one of adcompile's kernels, with two changes.

    - The closure of an implementation is described by :func:`_describe` instead of
      pickled: a pickled dispatcher or function differs from one process to the next, so
      each process would add an entry that the next cannot find (``_map``'s closures of the
      fastmath kernels, ``reduce_adjoint``'s).
    - Numba's optimisation level is part of the key: the test suite compiles at
      ``NUMBA_OPT=0``, and a kernel it cached must not be what a program at the default
      level then loads from the same directory."""
    func = self._py_func
    module = getattr(func, "__module__", None) or ""
    if module != "adcompile" and not module.startswith("adcompile."):
        return _NUMBA_INDEX_KEY(self, sig, codegen)
    level = f"NUMBA_OPT={int(numba.config.OPT)}"
    if func.__closure__ is not None:
        try:
            cells = _describe(tuple(c.cell_contents for c in func.__closure__))
        except (_Opaque, ValueError):  # (ValueError: an empty cell)
            pass
        else:
            return (sig, codegen.magic_tuple(), (
                hashlib.sha256(func.__code__.co_code).hexdigest(),
                hashlib.sha256(cells.encode()).hexdigest()), level)
    return (*_NUMBA_INDEX_KEY(self, sig, codegen), level)


_KEYED = _NUMBA_INDEX_KEY is not None and isinstance(_LOCATORS, list)
if _KEYED and caching.Cache._index_key is not _index_key:
    caching.Cache._index_key = _index_key

#: ``jit_options`` of an overload whose compiled implementation Numba may keep on disk: a
#: new gradient in a new process then compiles only its own code, not the tape and
#: reduction kernels it calls (about a third of the first call of an N-body gradient).
#: Never for an implementation made by ``exec``: its globals are not part of Numba's key, and
#: it has no file to be located by.  Empty, so nothing more is cached, where this Numba has no
#: list to put our locator in, or no key to replace.
CACHED = types.MappingProxyType({"cache": True} if _KEYED else {})
