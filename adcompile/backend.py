"""The Numba back end: import a generated module and compile its functions lazily.

Every function of a generated module becomes a :class:`CompiledFunction`, a Numba dispatcher
with the on-disk cache enabled, so it is callable from Python and from user ``@numba.njit``
code alike, and a fresh process loads the machine code instead of compiling again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import linecache
import math
import re
import sys
import types
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm
import numba
import numpy as np
from numba.core import errors as numba_errors
from numba.core import types as nbtypes
from numba.core.caching import FunctionCache, NullCache
from numba.core.compiler import CompilerBase, DefaultPassBuilder, Flags, compile_extra
from numba.core.compiler_lock import global_compiler_lock
from numba.core.compiler_machinery import FunctionPass, register_pass
from numba.core.registry import CPUDispatcher
from numba.core.typed_passes import NopythonTypeInference

from . import kernel_cache, structure  # noqa: F401 - kernel_cache: before any compile
from .errors import AdcompileError, api_boundary

_JITTED: dict[tuple[int, str], Any] = {}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_DOT = re.compile(r"dot\(.*?array\(\w+, ([3-9])d")
_MATH = re.compile(r"<built-in function (\w+)>\) found for signature: >>> \w+\([^)]*array\(")
_UNIFY = re.compile(r"Cannot unify (array\([^)]*\)|\w+) and (array\([^)]*\)|\w+) for '([^']+)'")


_ORDERED: list[int] = [0]


@contextlib.contextmanager
def ordered_reductions() -> Iterator[None]:
    """LLVM's loop vectorizer allowed to vectorize a loop that sums floats *in order*
    (``-force-ordered-reductions``): the terms are computed in vector registers and added to
    the sum one after the other, as written, so the result is the same to the bit.  Without
    it, on x86, a loop such as ``s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + ...`` runs one
    scalar iteration at a time, and forward mode, which carries a tangent sum beside the sum,
    pays for all its arithmetic instead of overlapping it with the sum's additions (a
    Rosenbrock jvp 1.77 → 1.21 times the forward), nor a reversed stencil whose window of
    sums (``sums.py``) would otherwise vectorize.  The option is LLVM's, for the whole
    process, so it is on only while a generated function compiles (reentrant; under Numba's
    compiler lock): code compiled elsewhere in the process keeps its machine code."""
    _ORDERED[0] += 1
    if _ORDERED[0] == 1:
        llvm.set_option("", "-force-ordered-reductions=true")
    try:
        yield
    finally:
        _ORDERED[0] -= 1
        if _ORDERED[0] == 0:
            llvm.set_option("", "-force-ordered-reductions=false")


#: the rank from which arrays make LLVM's O3 pipeline slow beyond use
HIGH_RANK = 3


def _rank(t: Any) -> int:
    if isinstance(t, nbtypes.Array):
        return t.ndim
    if isinstance(t, nbtypes.BaseTuple):
        return max((_rank(u) for u in t.types), default=0)
    return 0


def highest_rank(types_: Any) -> int:
    """The highest rank of the arrays among Numba types ``types_`` (a signature, or any
    iterable of types), looking inside tuples."""
    types_ = types_.args if hasattr(types_, "args") else types_
    return max((_rank(t) for t in types_), default=0)


def _moderate() -> None:
    if int(numba.config.OPT) >= 3:
        numba.config.OPT = type(numba.config.OPT)(2)


@contextlib.contextmanager
def moderate_optimization(sig: Any) -> Iterator[None]:
    """LLVM at ``-O2`` instead of Numba's ``-O3`` while a generated function that handles
    arrays of rank 3 or more compiles.  Numba writes an elementwise operation on such arrays
    as a nest of loops with a test per axis for broadcasting, and O3's non-trivial loop
    unswitching copies the nest for each test: a gradient of three elementwise operations
    on rank-4 arrays took 275 s of CPU to compile at O3, 9 s at O2, and ran as fast.

    Numba reads its level (``numba.config.OPT``) each time it optimizes a module, so the
    level is lowered here for a function whose arguments have such ranks (and so for the
    kernels it calls with them, typed inside this compilation), and by :class:`_RankCheck`
    once the function's own values are typed; it is put back when this compilation ends
    (under Numba's compiler lock).  A level the user set below 3 is kept."""
    level = numba.config.OPT
    if isinstance(sig, (tuple, list)) or hasattr(sig, "args"):
        if highest_rank(sig) >= HIGH_RANK:
            _moderate()
    try:
        yield
    finally:
        numba.config.OPT = level


@register_pass(mutates_CFG=False, analysis_only=True)
class _RankCheck(FunctionPass):
    """After type inference: a function with values of rank 3 or more (made from arrays
    of lower rank, ``x[:, :, None] * y[:, None, :]``) is optimized at O2, as
    :func:`moderate_optimization` says."""

    _name = "adcompile_rank_check"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        if highest_rank(state.typemap.values()) >= HIGH_RANK:
            _moderate()
        return False


class _Compiler(CompilerBase):
    """Numba's nopython pipeline with :class:`_RankCheck` after type inference."""

    def define_pipelines(self) -> list:
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.add_pass_after(_RankCheck, NopythonTypeInference)
        pm.finalize()
        return [pm]


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

    def enable_caching(self) -> None:
        """Numba's on-disk cache, in the form that falls back to compiling on any failure
        (and no cache at all when Numba finds no usable directory for it)."""
        try:
            self._cache = _FunctionCache(self.py_func)
        except Exception:  # noqa: BLE001 - caching is an optimisation
            self._cache = NullCache()

    #: for a gradient of a loss over rows of data: runs it block by block on large data
    #: (:class:`~adcompile.blocks.RowBlocks`)
    row_blocks: Any = None
    #: for a gradient taken from Python: makes the function for tuple arguments
    specializer: Any = None
    #: a wrapper generated for tuple parameters (``structure``)
    takes_tuples: bool = False
    #: what a wrapper that is not a gradient returns, as ``role`` says it (``vjp``'s pair is
    #: a ``value_and_grad``'s): its gradients of list arguments are given back as lists
    gives_back: str = ""

    @api_boundary
    def specialize(self, *args: Any) -> Any:
        """The compiled function for arguments shaped like ``args`` (tuples of floats and
        arrays where the function takes tuples): callable from ``@numba.njit`` code, which
        cannot pick it by itself.  For arguments without tuples, the function itself."""
        if self.specializer is None or not (self.takes_tuples or structure.is_structured(args)):
            return self
        key = tuple(structure.shape_of(a) for a in args)
        cache = self.__dict__.setdefault("_structured", {})
        if key not in cache:
            cache[key] = self.specializer(args)
        return cache[key]

    #: checks a call from Python, ``guard(call, args, kws)``: the tangents, vectors or
    #: cotangent after the function's own arguments must have their shapes (``higher.py``)
    guard: Any = None

    @api_boundary
    def __call__(self, *args: Any, **kws: Any) -> Any:
        if self.guard is not None:
            return self.guard(self._call, args, kws)
        if self.specializer is None and self.row_blocks is None:
            return self.run(*args, **kws)  # the common case in few frames: a call costs ~1 us
        return self._call(*args, **kws)

    def _call(self, *args: Any, **kws: Any) -> Any:
        if self.specializer is not None and (self.takes_tuples or structure.is_structured(args)):
            try:
                target = self.specialize(*args)
                result = target.run(*(structure.as_tuples(a) for a in args), **kws)
            except AdcompileError as exc:
                lists = [k for k, a in enumerate(args) if isinstance(a, list)]
                if not lists or exc.construct == "a tuple argument used as a value":
                    raise
                name = self._parameter(lists[0])
                raise AdcompileError(
                    f"{exc.message} (the argument for {name} is a list, which adcompile reads "
                    "as a tuple of values)", filename=exc.filename, lineno=exc.lineno,
                    construct=exc.construct, hint=f"pass a NumPy array (np.asarray(...)) for "
                    f"{name} if the function uses it as an array") from None
            # (what the function made for these tuples says it gives back: a vjp made
            # first for plain values, a, b = p, has no lists to give back itself)
            made = target if getattr(target, "gives_back", "") else self
            return structure.give_back(result, made.role or made.gives_back,
                                       made.wrt_positions, made.as_tuple, args)
        if self.row_blocks is not None and not kws:
            done, result = self.row_blocks(args)
            if done:
                return result
        return self.run(*args, **kws)

    def _parameter(self, position: int) -> str:
        """The parameter at ``position``, as messages name it: ``'x' (position 0)``."""
        code = self.py_func.__code__
        names = code.co_varnames[:code.co_argcount]
        if position < len(names):
            return f"'{names[position]}' (position {position})"
        return f"position {position}"

    def run(self, *args: Any, **kws: Any) -> Any:
        """Call the compiled function with ``args`` as they are."""
        try:
            return super().__call__(*args, **kws)
        except (ValueError, IndexError, ZeroDivisionError) as exc:
            # raised inside the compiled code: say which function and which arguments
            shapes = ", ".join(_describe(a) for a in args)
            raise type(exc)(f"{exc} (in {self.__name__}(), generated from "
                            f"{self.user_function}, called with {shapes})") from None

    #: compiled with :func:`ordered_reductions`: a loop that carries a sum is vectorized,
    #: the sum still taken in order (the same bits)
    ordered: bool = True

    def compile(self, sig: Any) -> Any:
        """Numba's compilation (with loops that add floats up in order vectorizable, see
        :attr:`ordered`), for a call from Python or from ``@numba.njit`` code."""
        with global_compiler_lock, moderate_optimization(sig), \
                ordered_reductions() if self.ordered else contextlib.nullcontext():
            return super().compile(sig)

    def _compile_for_args(self, *args: Any, **kws: Any) -> Any:
        for position, a in enumerate(args):
            if isinstance(a, np.ndarray) and a.ndim == 0:
                name = self._parameter(position)
                raise AdcompileError(
                    f"{self.user_function}: the argument for {name} is a 0-d array; pass a "
                    "number instead", construct="a 0-d array argument",
                    hint=f"pass float(x) (or x.item()) for {name}")
            if not isinstance(a, (tuple, list)) and np.iscomplexobj(a):
                raise AdcompileError(
                    f"{self.user_function}: the argument for {self._parameter(position)} is "
                    f"complex ({_describe(a)}); adcompile differentiates real (float) "
                    "functions only", construct="a complex argument",
                    hint="split it into real and imaginary parts (two float arrays)")
        for position in self.wrt_positions if self.role and not self.takes_tuples else ():
            if position < len(args) and isinstance(args[position], (tuple, list)):
                raise AdcompileError(
                    f"{self.user_function}: the argument for {self._parameter(position)} is "
                    f"a {type(args[position]).__name__}, which this compiled function does not "
                    "take (it was generated for numbers and arrays)",
                    construct="a tuple parameter", hint="call the function adcompile.grad "
                    "(or value_and_grad) returns, which takes tuples, or pass the elements as "
                    "parameters of their own")
        try:
            with warnings.catch_warnings():  # about the generated code: not the user's to act on
                warnings.simplefilter("ignore", numba_errors.NumbaPerformanceWarning)
                entry = super()._compile_for_args(*args, **kws)
        except numba_errors.TypingError as exc:
            raise self._type_error(exc, args) from exc  # (the API boundary drops the cause)
        except (AdcompileError, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - Numba failed after typing: never its traceback
            raise self._lowering_error(exc, args) from exc
        if self.role:
            self._check_result(args)
        return entry

    def _lowering_error(self, exc: Exception, args: tuple) -> AdcompileError:
        """Numba's failure to make machine code for a generated line it had typed (a
        boolean mask of several axes inside a tuple index, ...), as an error that names the
        line and what to write instead."""
        types_ = ", ".join(_describe(a) for a in args)
        where, line = "", ""
        frames = []
        tb = exc.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame)
            tb = tb.tb_next
        locs = [loc for frame in frames
                if getattr(loc := getattr(frame.f_locals.get("inst"), "loc", None), "line",
                           None)]
        ours = [loc for loc in locs if loc.filename == self.module_path]
        if ours or locs:  # the generated line (not one inside a kernel it calls)
            loc = (ours or locs)[0]
            where = f" at line {loc.line} of {Path(loc.filename).name}"
            line = linecache.getline(loc.filename, loc.line).strip()
        masks = any(frame.f_code.co_name == "__init__" and "BooleanArrayIndexer" in str(
            frame.f_locals.get("self", "")) for frame in frames)
        detail = _ANSI.sub("", str(exc)).strip().splitlines()
        what = (f"{type(exc).__name__}: {detail[0]}" if detail else type(exc).__name__)
        if masks:
            hint = ("Numba indexes with a boolean mask of one axis only: make the mask in the "
                    "function from a comparison (m = x > 0; x[m], y[m] = v), or index the "
                    "flat arrays (x.ravel()[mask.ravel()]), or select with np.where(mask, a, "
                    "b)")
            construct = "a boolean mask index"
        else:
            hint = ("rewrite the operation of that line another way; this is a bug in "
                    "adcompile: report it with the function and the output of the call under "
                    "ADCOMPILE_TRACEBACK=full")
            construct = "machine code generation"
        return AdcompileError(
            f"{self.__name__}() (generated from {self.user_function}) cannot be compiled "
            f"for {types_}: Numba failed to make machine code{where}" + (
                f" ({line})" if line else "") + f": {what}", construct=construct, hint=hint)

    def _type_error(self, exc: Exception, args: tuple) -> AdcompileError:
        """Numba's typing error as what the user can do about it: first an argument of a
        kind no generated function takes, then a variable that changes type, else Numba's
        own words and what to check."""
        for position, a in enumerate(args):
            bad = _unsupported(a)
            if bad is not None:
                what, hint = bad
                return AdcompileError(
                    f"{self.user_function}: the argument for {self._parameter(position)} is "
                    f"{what}, which differentiated code cannot take",
                    construct="an argument type", hint=hint)
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
        hint = ("check that each argument is of the kind the function uses it as: a number "
                "where it calls math functions on it, an array where it indexes it or calls "
                "np functions on it, a tuple where it unpacks it; if they all are, this is a "
                "bug in adcompile: report it with the function and the output of the call "
                "under ADCOMPILE_TRACEBACK=full")
        unify = _UNIFY.search(detail)
        dot = _DOT.search(detail)
        form = re.search(r"TypingError: (unsupported form of (\S+): [^\n]*)",
                         _ANSI.sub("", str(exc)))
        if form:  # a kernel that takes some forms of a NumPy function (np.gradient)
            return AdcompileError(f"{self.user_function}: {form.group(1)}, for {types_}",
                                  construct=form.group(2), hint="write one of those forms")
        if "unit_seed" in detail:  # grad(grad(f)) with respect to an array
            return AdcompileError(
                f"{self.user_function}: the gradient of a gradient is taken with respect to "
                f"a parameter given an array ({types_}); the gradient of f with respect to an "
                "array is an array, not a number to differentiate again",
                construct="grad of a gradient", hint="use adcompile.hessian(f, wrt=...) for "
                "the matrix of second derivatives, or adcompile.hvp(f, wrt=...) for its "
                "products with a vector")
        if "Function(<class 'float'>)" in detail and "float(array(" in detail:
            return AdcompileError(
                f"{self.user_function}: a number is expected where the value is an array, for "
                f"{types_}: float() of an array, or np.array([... for ...]) (np.asarray, "
                "np.stack) of a comprehension whose items are arrays (adcompile builds that "
                "array from numbers)", construct="an array where a number is expected",
                hint="for rows, fill a 2-D array in a loop (Y = np.zeros((n, m)); for i in "
                "range(n): Y[i] = ...), or compute the rows at once (np.sum(X, axis=1), X[:3])")
        if any(words in _ANSI.sub("", str(exc)) for words in (
                "cannot be unpacked into names", "not rows to unpack")):
            # a, b = x of a number, for a, b in x of a vector (kernels.unpacked, ...)
            filename, lineno, text = _unpacking_line(self.user_function)
            where = (f"in {self.user_function.partition(' at ')[0]}" if lineno
                     else self.user_function)
            return AdcompileError(
                f"{where}: tuple unpacking of a number, '{text or 'a, b = x'}', for {types_} "
                "(Python raises TypeError: a number has no elements)", filename=filename,
                lineno=lineno, construct="tuple unpacking", hint="unpack an array, its rows "
                "or a tuple (a, b = x with x an array of two numbers), or index the array the "
                "number comes from")
        if "number_only" in detail:  # r = A[i]; r += v with A[i] a row (normalize, alias)
            found = re.search(r"number_only\((\w+)\)", _ANSI.sub("", str(exc)))
            name = re.sub(r"(_\d+)*$", "", found.group(1)) if found else "the name"
            filename, lineno, op = _augmented_line(self.user_function, name)
            where = (f"in {self.user_function.partition(' at ')[0]}" if lineno
                     else self.user_function)
            takers = [h for h, found in re.findall(r"^def (\w+)\(([^)]*)\)", self.source,
                                                   re.MULTILINE)
                      if name in {p.strip() for p in found.split(",")}]
            if takers:  # u *= 2.0 on an argument (of the function or of a helper)
                helper = _augmented_line_in(self.user_function, takers[-1], name)
                if helper[1] is not None:
                    filename, lineno, op = helper
                return AdcompileError(
                    f"{where}: '{name} {op} ...' changes the argument '{name}' in place when it "
                    f"is an array (called with {types_}), and so the caller's array",
                    filename=filename, lineno=lineno,
                    construct="augmented assignment to an argument",
                    hint=f"write {name} = {name} {op[:-1]} ... (a new array)")
            return AdcompileError(
                f"{where}: '{name} {op} ...' changes in place the row or slice '{name}' of an "
                f"array, for {types_}, and the array is read afterwards (or is an argument): "
                "the gradient cannot follow a write through a view", filename=filename,
                lineno=lineno, construct="augmented assignment to a view",
                hint=f"write into the array itself, A[i] {op} ... (a loop over "
                f"range(len(A)) instead of over its rows: for {name} in A), or {name} = "
                f"{name} {op[:-1]} ... for a new array that leaves A as it was")
        if unify:  # one variable holds two kinds of value (int64 on entry, float64 later)
            name = re.sub(r"(_\d+)*(\.\d+)?$", "", unify.group(3))
            detail = (f"the variable '{name}' holds {unify.group(1)} in one place and "
                      f"{unify.group(2)} in another (a loop or a branch changes its type)")
            if "array" in unify.group(1) and "array" in unify.group(2):
                hint = (f"give '{name}' the type it ends with where it starts: multiply "
                        "the starting integer array by 1.0 (or pass a float64 array)")
            elif "0d" in unify.group(1) or "0d" in unify.group(2):
                hint = (f"'{name}' starts as a 0-d array (np.array(0.0)), which arithmetic "
                        "turns into a number: start it as a number (0.0) or as an array of "
                        "one element (np.zeros(1))")
            elif re.fullmatch(r"t\d+", name) and "array" in unify.group(1) + unify.group(
                    2) and (line := _number_branch_line(
                    self.user_function)):  # x[i - 1] if i > 0 else 0.0 with a row x[i - 1]
                filename, lineno, text = line
                return AdcompileError(
                    f"in {self.user_function.partition(' at ')[0]}: a conditional expression "
                    f"is an array in one branch and a number in the other, for {types_} "
                    "(Numba gives each value one type)", filename=filename, lineno=lineno,
                    construct="a conditional expression of an array and a number",
                    hint=f"make both branches arrays of one shape, e.g. 'else np.zeros_like"
                    f"(...)' or 'else np.zeros(n)' instead of a number, in: {text}")
            else:
                hint = (f"keep '{name}' a number or an array throughout (Numba gives "
                        "each variable one type): use another name for the other one")
        elif dot:
            detail = (f"np.dot of an array of rank {dot.group(1)} is not supported (Numba's "
                      "np.dot takes arrays of rank 1 and 2)")
            hint = ("write the product with @ (np.matmul), which takes stacks of matrices: "
                    "a @ b is np.dot(a, b) when b has rank 1 or 2")
        elif (math_call := _MATH.search(detail)) and hasattr(math, math_call.group(1)) \
                and hasattr(np, math_call.group(1)):
            name = math_call.group(1)
            hint = f"math.{name} takes numbers only: use np.{name} on arrays"
        elif re.search(r"len\((float64|int64|bool)\)", detail):
            hint = ("the function takes len() of a parameter, or loops over it (for v in x), "
                    "that was passed a number: pass a NumPy array (np.asarray(...)) or a tuple "
                    "for it")
        elif "getitem(float64" in detail or "getitem(int64" in detail:
            hint = ("the function indexes a parameter that was passed a number: pass a NumPy "
                    "array (np.asarray(...)) for it")
        return AdcompileError(
            f"{self.__name__}() (generated from {self.user_function}) cannot be compiled "
            f"for {types_}: {detail.strip()}", construct="argument types", hint=hint)

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
            if seen and not bad and any(isinstance(t, nbtypes.Array) for t in argtypes) \
                    and not _checked_before(self.py_func, argtypes):
                # noted for the next process, which loads the gradient from Numba's cache
                # without its types and would otherwise type the forward to find out
                _checked_before(self.py_func, argtypes, record=True)
            if not seen and self.forward is not None and any(
                    isinstance(t, nbtypes.Array) for t in argtypes):
                # the gradient never computes the loss: infer the type the function returns
                # (typing only: machine code for it is made if and when it is called), once
                # per module and argument types (the answer is kept beside the module)
                if _checked_before(self.py_func, argtypes):
                    return
                try:
                    loss = return_type(self.forward, argtypes)
                except numba_errors.TypingError as exc:
                    self._reset_overloads()
                    raise self.forward._type_error(exc, args) from exc
                bad |= isinstance(loss, nbtypes.Array)
                if not bad:
                    _checked_before(self.py_func, argtypes, record=True)
        if bad:
            self._reset_overloads()
            raise AdcompileError(
                f"{self.user_function} must return a scalar (the loss), but for arguments of "
                f"types ({', '.join(str(t) for t in argtypes)}) it returns an array",
                construct="an array result",
                hint="reduce it to one number, e.g. with np.sum or np.mean")


@register_pass(mutates_CFG=False, analysis_only=True)
class _TypesFound(FunctionPass):
    """The last pass of ``_TypeOnly``: the result is the inferred return type."""

    _name = "adcompile_types_found"

    def __init__(self) -> None:
        FunctionPass.__init__(self)

    def run_pass(self, state: Any) -> bool:
        state.cr = state.return_type
        return False


class _TypeOnly(CompilerBase):
    """Numba's front end and type inference, without lowering to machine code."""

    def define_pipelines(self) -> list:
        pm = DefaultPassBuilder.define_untyped_pipeline(self.state)
        pm.add_pass(NopythonTypeInference, "nopython frontend")
        pm.add_pass(_TypesFound, "the return type")
        pm.finalize()
        return [pm]


def _checked_before(func: Any, argtypes: tuple, record: bool = False) -> bool:
    """Whether the loss of the generated module holding ``func`` was found to be a number
    for arguments of ``argtypes`` (in this process or an earlier one: a line per argument
    types in ``<module>.scalar`` beside the module); with ``record``, note that it was."""
    path = Path(func.__code__.co_filename).with_suffix(".scalar")
    line = f"{func.__name__} {argtypes}"
    if record:
        try:
            with open(path, "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError:
            pass  # (a module run from memory, a read-only cache: checked again next time)
        return True
    try:
        return line in path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False


def return_type(dispatcher: Any, argtypes: tuple) -> Any:
    """The Numba type ``dispatcher``'s function returns for arguments of ``argtypes``, from
    type inference alone (a fraction of a compilation; callees it types are compiled as
    usual).  Raises Numba's ``TypingError`` as a compilation would."""
    if argtypes in dispatcher.overloads:
        return dispatcher.overloads[argtypes].signature.return_type
    flags = Flags()
    dispatcher.targetdescr.options.parse_as_flags(flags, dispatcher.targetoptions)
    with global_compiler_lock, moderate_optimization(argtypes):
        return compile_extra(dispatcher.typingctx, dispatcher.targetctx, dispatcher.py_func,
                             argtypes, None, flags, {}, pipeline_class=_TypeOnly)


def _unsupported(value: Any) -> tuple[str, str] | None:
    """``(what it is, what to pass instead)`` for an argument of a kind no generated function
    takes (inside tuples too), else ``None``."""
    if isinstance(value, (tuple, list)):
        return next((bad for bad in map(_unsupported, value) if bad is not None), None)
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return None
        return (f"an array of dtype {value.dtype}", "pass a numeric array: "
                "np.asarray(x, dtype=np.float64)")
    if isinstance(value, (str, bytes)):
        return (f"a {type(value).__name__} ({value!r:.40})", "pass numbers, NumPy arrays or "
                "tuples of them; keep text (labels, options) outside the differentiated "
                "function")
    if value is None:
        return ("None", "pass a number or an array (a parameter with a default value can be "
                "left out of the call)")
    if isinstance(value, dict):
        return ("a dict", "pass each value as a parameter of its own (a float or an array), "
                "or several together as a tuple")
    return None


def _describe(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)} and dtype {getattr(value, 'dtype', '?')}"
    return f"a {type(value).__name__}"


def jitted(func: Any, version: str = "") -> Any:
    """A Numba-callable version of a user function (plain functions are wrapped once per
    ``version``: Numba freezes the globals a function reads when it compiles it, so a
    function whose constants changed needs a new dispatcher)."""
    if isinstance(func, types.FunctionType):
        key = (id(func), version)
        if key not in _JITTED:
            _JITTED[key] = (func, numba.njit(func, error_model="numpy"))
        return _JITTED[key][1]
    return func


class _FunctionCache(FunctionCache):
    """Numba's on-disk cache, made safe to fail: an entry that cannot be read (truncated,
    garbled, from an incompatible build) is dropped and the function compiled again, and a
    save that fails (full disk, read-only directory) is skipped."""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        try:
            return super().load_overload(sig, target_context)
        except Exception:  # noqa: BLE001 - any damage means: compile instead
            try:  # an empty index, so that the next save writes a sound entry
                self._cache_file.flush()
            except Exception:  # noqa: BLE001, S110
                pass
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        try:
            super().save_overload(sig, data)
        except Exception:  # noqa: BLE001, S110 - the machine code is already in memory
            pass


def _number_branch_line(user_function: str) -> tuple[str, int, str] | None:
    """The file, line and text of the first conditional expression of the user's function
    (``fn() at file:line``) with a number as one branch (``... else 0.0``, ``-np.inf``)."""
    where = re.fullmatch(r"\w+\(\) at (.*):(\d+)", user_function)
    if where is None:
        return None
    filename, start = where.group(1), int(where.group(2))
    number = (r"[-+]?(?:\d[\d.eE+-]*|(?:np|numpy|math)\.(?:inf|pi|e|tau|nan)"
              r"|float\(['\"][-+]?inf['\"]\))")
    pattern = re.compile(rf"\belse\s+{number}(?!\w)|(?<![\w.]){number}\s+if\b.*\belse\b")
    lines = linecache.getlines(filename)
    for lineno in range(start + 1, len(lines) + 1):
        text = lines[lineno - 1]
        if text.strip() and not text[:1].isspace():
            break  # the end of the function
        if pattern.search(text):
            return filename, lineno, text.strip()
    return None


def _augmented_line_in(user_function: str, helper: str, name: str
                       ) -> tuple[str | None, int | None, str]:
    """The first augmented assignment to ``name`` after ``def helper(`` in the file of the
    user's function; no line when none is found."""
    where = re.fullmatch(r"\w+\(\) at (.*):(\d+)", user_function)
    if where is None:
        return None, None, "+="
    lines = linecache.getlines(where.group(1))
    start = next((k + 1 for k, line in enumerate(lines)
                  if re.match(rf"\s*def {re.escape(helper)}\(", line)), None)
    if start is None:
        return None, None, "+="
    return _augmented_line(f"{helper}() at {where.group(1)}:{start}", name)


def _user_lines(user_function: str) -> tuple[str | None, list[tuple[int, str]]]:
    """The file of the user's function (``fn() at file:line``) and its lines after the
    ``def`` line, numbered (to the end of the file); no file and no lines when unknown."""
    where = re.fullmatch(r"\w+\(\) at (.*):(\d+)", user_function)
    if where is None:
        return None, []
    filename, start = where.group(1), int(where.group(2))
    lines = linecache.getlines(filename)
    return filename, [(k, lines[k - 1]) for k in range(start + 1, len(lines) + 1)]


def _unpacking_line(user_function: str) -> tuple[str | None, int | None, str]:
    """The file, line and text of the first statement that unpacks into names (``a, b =
    ...``, ``for a, b in ...``) in the user's function after its ``def`` line."""
    filename, lines = _user_lines(user_function)
    pattern = re.compile(r"\s*(for\s+)?[(\[]?\w+\s*,[\w\s,()\[\]]*(=(?!=)|\bin\b)")
    for lineno, text in lines:
        if pattern.match(text):
            return filename, lineno, text.split("#")[0].strip().rstrip(":")
    return None, None, ""


def _augmented_line(user_function: str, name: str) -> tuple[str | None, int | None, str]:
    """The file, line and operator of the first augmented assignment to ``name`` in the user's
    function (``fn() at file:line``) after its ``def`` line; no line when none is found."""
    filename, lines = _user_lines(user_function)
    pattern = re.compile(rf"\s*{re.escape(name)}\s*(\*\*=|//=|<<=|>>=|[-+*/%@&|^]=)")
    for lineno, text in lines:
        match = pattern.match(text)
        if match:
            return filename, lineno, match.group(1)
    return None, None, "+="


def load_module(path: Path, module_name: str, injected: dict[str, Any],
                user_function: str, text: str | None = None) -> types.ModuleType:
    """Import the generated module at ``path`` and turn its functions into dispatchers.

    With ``text``, the module could not be written: it is built from ``text`` in memory
    (its source registered with :mod:`linecache`), and Numba caches nothing for it.
    """
    if text is None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        module.__dict__.update(injected)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    else:
        filename = f"<adcompile {path.name}>"
        linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
        module = types.ModuleType(module_name)
        module.__file__ = filename
        module.__dict__.update(injected)
        sys.modules[module_name] = module
        exec(compile(text, filename, "exec"), module.__dict__)  # noqa: S102
    for name, value in list(vars(module).items()):
        if isinstance(value, types.FunctionType) and value.__module__ == module_name:
            dispatcher = CompiledFunction(value, targetoptions={
                "nopython": True, "error_model": "numpy", "boundscheck": None},
                pipeline_class=_Compiler)
            if text is None:
                dispatcher.enable_caching()
            dispatcher.module_path = str(path)
            dispatcher.user_function = user_function
            setattr(module, name, dispatcher)
    return module
