"""The Numba back end: import a generated module and compile its functions lazily.

Every function of a generated module becomes a :class:`CompiledFunction`, a Numba dispatcher
with the on-disk cache enabled, so it is callable from Python and from user ``@numba.njit``
code alike, and a fresh process loads the machine code instead of compiling again.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

import numba
from numba.core import errors as numba_errors
from numba.core import types as nbtypes
from numba.core.registry import CPUDispatcher

from .errors import AdcompileError

_JITTED: dict[int, Any] = {}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class CompiledFunction(CPUDispatcher):
    """A Numba dispatcher for a generated function, with its generated source attached.

    ``source`` holds the generated Python code of this function (and the helpers it calls);
    ``module_path`` the file it lives in.  Type errors on first call become
    :class:`~adcompile.AdcompileError` naming the user's function and the argument types.
    """

    source: str = ""
    module_path: str = ""
    user_function: str = ""
    #: for gradients: the role ('grad', 'value_and_grad'), the wrt positions, tuple or not
    role: str = ""
    wrt_positions: tuple[int, ...] = ()
    as_tuple: bool = False
    result_name: str = ""
    forward: Any = None

    def __call__(self, *args: Any, **kws: Any) -> Any:
        try:
            return super().__call__(*args, **kws)
        except (ValueError, IndexError, ZeroDivisionError) as exc:
            # raised inside the compiled code: say which function and which arguments
            shapes = ", ".join(_describe(a) for a in args)
            raise type(exc)(f"{exc} (in {self.__name__}(), generated from "
                            f"{self.user_function}, called with {shapes})") from None

    def _compile_for_args(self, *args: Any, **kws: Any) -> Any:
        try:
            entry = super()._compile_for_args(*args, **kws)
        except numba_errors.TypingError as exc:
            types_ = ", ".join(_describe(a) for a in args)
            lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines()
                     if line.strip()]
            found = [k for k, line in enumerate(lines) if any(
                key in line for key in ("No implementation", "Cannot", "Invalid", "Untyped",
                                        "Unknown attribute", "NameError", "not defined"))]
            if found:
                detail = " ".join(lines[found[0]:found[0] + 2])
            else:
                detail = lines[1] if len(lines) > 1 else (lines[0] if lines else "")
            raise AdcompileError(
                f"{self.__name__}() (generated from {self.user_function}) cannot be compiled "
                f"for {types_}: {detail.strip()}",
                construct="argument types",
                hint="pass each parameter what the function expects (floats, ints, float64 "
                "arrays); if the types are right, the generated code is at fault: report it "
                "with the function") from None
        if self.role:
            self._check_result(args)
        return entry

    def _check_result(self, args: tuple) -> None:
        """The loss must be a scalar: a gradient that came out as an array for a scalar
        parameter (or with another rank than its array) means ``f`` returned an array."""
        argtypes = tuple(self.typeof_pyval(a) for a in args)
        compiled = self.overloads.get(argtypes)
        if compiled is None:
            return
        result = compiled.signature.return_type
        parts = list(getattr(result, "types", ()))
        if self.role == "value_and_grad":
            value, result = parts if len(parts) == 2 else (None, None)
            parts = list(getattr(result, "types", ()))
            bad = isinstance(value, nbtypes.Array)
        else:
            bad = False
        grads = parts if self.as_tuple else [result]
        for position, grad in zip(self.wrt_positions, grads, strict=False):
            arg = argtypes[position]
            if isinstance(arg, nbtypes.Array):
                bad |= not (isinstance(grad, nbtypes.Array) and grad.ndim == arg.ndim)
            else:
                bad |= isinstance(grad, nbtypes.Array)
        annotation = getattr(compiled, "type_annotation", None)
        typemap = getattr(annotation, "typemap", None) or {}
        if self.result_name:  # the loss variable itself, when this process typed it
            seen = [t for name, t in typemap.items()
                    if name == self.result_name or name.startswith(self.result_name + ".")]
            bad |= any(isinstance(t, nbtypes.Array) for t in seen)
            if not seen and self.forward is not None and any(
                    isinstance(t, nbtypes.Array) for t in argtypes):
                # the gradient never computes the loss: type the function itself
                self.forward.compile(argtypes)
                loss = self.forward.overloads[argtypes].signature.return_type
                bad |= isinstance(loss, nbtypes.Array)
        if bad:
            self._reset_overloads()
            raise AdcompileError(
                f"{self.user_function} must return a scalar (the loss), but for arguments of "
                f"types ({', '.join(str(t) for t in argtypes)}) it returns an array",
                construct="an array result",
                hint="reduce it to one number, e.g. with np.sum or np.mean")


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)} and dtype {getattr(value, 'dtype', '?')}"
    return f"a {type(value).__name__}"


def jitted(func: Any) -> Any:
    """A Numba-callable version of a user function (plain functions are wrapped once)."""
    if isinstance(func, types.FunctionType):
        key = id(func)
        if key not in _JITTED:
            _JITTED[key] = (func, numba.njit(func))
        return _JITTED[key][1]
    return func


def load_module(path: Path, module_name: str, injected: dict[str, Any],
                user_function: str) -> types.ModuleType:
    """Import the generated module at ``path`` and turn its functions into dispatchers."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    module.__dict__.update(injected)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    for name, value in list(vars(module).items()):
        if isinstance(value, types.FunctionType) and value.__module__ == module_name:
            dispatcher = CompiledFunction(value, targetoptions={"nopython": True,
                                                                "boundscheck": None})
            dispatcher.enable_caching()
            dispatcher.module_path = str(path)
            dispatcher.user_function = user_function
            setattr(module, name, dispatcher)
    return module
