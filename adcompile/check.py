"""Gradient checking: adcompile's gradient against float64 central differences.

``check_grad(f, wrt, *args)`` differentiates ``f`` with :func:`adcompile.grad`, then estimates
every entry of the same gradient by a central difference of the plain Python ``f`` and compares
the two entry by entry.  The finite differences know nothing of the derivative rules or of the
generated code, so they are an independent oracle.  ``python -m adcompile check`` runs the same
comparison from the command line.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .api import Wrt, grad, located_wrt
from .errors import api_boundary

#: The step of a central difference, relative to the magnitude of the entry: the cube root of
#: the float64 machine epsilon (about 6e-6) balances the truncation error, of order h**2, against
#: the rounding error of the difference, of order eps / h.
STEP = float(np.finfo(np.float64).eps) ** (1.0 / 3.0)

#: Default tolerances; see :func:`check_grad` for why.
RTOL = 1e-5
ATOL = 1e-7

Path = tuple[int, ...]


@dataclass(frozen=True)
class Entry:
    """One entry of the gradient: adcompile's value next to the finite difference."""

    param: str
    #: position inside nested tuple parameters (empty for a float or an array parameter)
    path: Path
    #: index into the array (empty for a float)
    index: tuple[int, ...]
    computed: float
    expected: float
    error: float
    ok: bool

    @property
    def where(self) -> str:
        """The index as a reader writes it: ``-`` for a float, ``[1, 2]``, ``[0][3]``."""
        text = "".join(f"[{k}]" for k in self.path)
        if self.index:
            text += "[" + ", ".join(str(i) for i in self.index) + "]"
        return text or "-"


@dataclass
class GradCheck:
    """The outcome of one comparison: every entry, the tolerances, and the largest error."""

    name: str
    wrt: list[str]
    rtol: float
    atol: float
    entries: list[Entry] = field(default_factory=list)

    @property
    def max_error(self) -> float:
        """The largest relative error over all entries (0.0 when there is no entry)."""
        return max((e.error for e in self.entries), default=0.0)

    @property
    def failures(self) -> list[Entry]:
        """The entries outside the tolerance, worst first."""
        return sorted((e for e in self.entries if not e.ok), key=_severity, reverse=True)

    @property
    def ok(self) -> bool:
        return all(e.ok for e in self.entries)

    def summary(self) -> str:
        """One line: the verdict, the largest error and the tolerances."""
        tol = f"rtol={self.rtol:g}, atol={self.atol:g}"
        wrt = ", ".join(self.wrt)
        if self.ok:
            return (f"gradient of {self.name} with respect to {wrt}: max relative error "
                    f"{self.max_error:.3g} over {len(self.entries)} entries, within {tol}")
        return (f"gradient of {self.name} with respect to {wrt}: {len(self.failures)} of "
                f"{len(self.entries)} entries differ from central differences beyond {tol}; "
                f"max relative error {self.max_error:.3g}")

    def table(self, limit: int | None = 10) -> str:
        """The worst ``limit`` entries (all of them for ``None``), one line each."""
        ranked = sorted(self.entries, key=_severity, reverse=True)
        shown = ranked if limit is None else ranked[:limit]
        rows = [("parameter", "index", "adcompile", "finite difference", "error", "")]
        rows += [(e.param, e.where, f"{e.computed:.15g}", f"{e.expected:.15g}",
                  f"{e.error:.3g}", "" if e.ok else "FAIL") for e in shown]
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True))
                 .rstrip() for r in rows]
        if len(shown) < len(ranked):
            hidden = sum(not e.ok for e in ranked[len(shown):])
            failing = f", {hidden} of them failing" if hidden else ""
            lines.append(f"  ... and {len(ranked) - len(shown)} more entries{failing}")
        return "\n".join(lines)

    def report(self, limit: int | None = 10) -> str:
        """The summary line and the table of the worst entries."""
        return self.summary() + "\n" + self.table(limit)


@api_boundary
def check_grad(f: Callable, wrt: Wrt, *args: Any, rtol: float = RTOL, atol: float = ATOL
               ) -> float:
    """Compare ``adcompile.grad(f, wrt)(*args)`` with float64 central differences of ``f``.

    Returns the largest relative error over all entries of the gradient, and raises
    ``AssertionError`` when any entry is outside the tolerance, that is when
    ``|a - b| > atol + rtol * |b|`` for adcompile's value ``a`` and the finite difference ``b``.
    The message names the function and lists the worst entries: parameter, index, both values
    and the error.

    ``wrt`` is read as by :func:`adcompile.grad`: a parameter position, a name, or a tuple of
    them.  ``args`` are the values of ``f``'s parameters, in order (parameters with defaults may
    be left out).  Parameters in ``wrt`` are differentiated as float64: an int or a bool becomes
    a float, an int array a float64 array.  The other arguments are passed as they are.  Arrays
    are differentiated entry by entry.  The caller's arrays are never modified: the comparison
    works on copies.

    The relative error of an entry is ``|a - b| / (|b| + atol / rtol)``: relative to ``|b|``
    for large entries, and relative to the floor ``atol / rtol`` for entries near zero, where a
    plain relative error would divide finite-difference noise by zero.  With this definition an
    entry passes exactly when its error is at most ``rtol`` (for ``rtol = 0`` the error is
    ``|a - b| / |b|`` and an entry passes when ``|a - b| <= atol``).

    Each entry ``x`` is moved by ``h = eps ** (1/3) * max(1, |x|)`` (about 6e-6 at and below
    magnitude 1), which balances the truncation error of the central difference (of order
    ``h**2`` times the third derivative) against its rounding error (of order ``eps * |f| / h``).
    For a well-scaled ``f`` the difference is then good to about 1e-10, relative.  The defaults
    leave room above that: ``rtol = 1e-5`` accepts functions with large higher derivatives or
    values much larger than their gradient, while a wrong derivative (a sign, a factor, a
    missing term) is off by far more; ``atol = 1e-7`` absorbs the rounding noise of entries
    whose true value is zero, about ``1e-11 * |f|``, for values of ``|f|`` up to about 1e3.
    Raise ``atol`` for larger values of ``f``.  Like any finite-difference check, it needs
    ``f`` to be smooth near the point: keep away from kinks (``abs`` at 0, ties of ``max``)
    and from branch switches.

    Example::

        import math
        import adcompile as adc

        def loss(w, b, x, y):
            yhat = 1.0 / (1.0 + math.exp(-(w * x + b)))
            return (yhat - y) ** 2

        err = adc.check_grad(loss, ("w", "b"), 0.3, -0.1, 1.5, 0.8)
        assert err < 1e-5          # about 1e-10 here; raises AssertionError if wrong
    """
    result = compare(f, wrt, args, rtol=rtol, atol=atol)
    if not result.ok:
        raise AssertionError("check_grad: " + result.report())
    return result.max_error


def compare(f: Callable, wrt: Wrt, args: tuple | list, *, rtol: float = RTOL,
            atol: float = ATOL) -> GradCheck:
    """Every entry of the gradient next to its finite difference (what :func:`check_grad`
    and ``python -m adcompile check`` report)."""
    for label, tol in (("rtol", rtol), ("atol", atol)):
        if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
            raise ValueError(f"{label} must be a finite number >= 0, got {tol!r}")
    rtol, atol = float(rtol), float(atol)
    name = getattr(f, "__name__", repr(f))
    params, values = _bind(f, args)
    code = getattr(getattr(f, "py_func", f), "__code__", None)
    names, as_tuple = located_wrt(params, wrt, name, getattr(code, "co_filename", None),
                                  getattr(code, "co_firstlineno", None))
    positions = [params.index(n) for n in names]
    values = [_as_float(v, p) if p in names else _copy(v) for p, v in zip(params, values,
                                                                           strict=True)]

    gradient = grad(f, wrt=wrt)(*[_copy(v) for v in values])
    grads = tuple(gradient) if as_tuple else (gradient,)
    if len(grads) != len(names):
        raise AssertionError(f"check_grad: the gradient of {name} has {len(grads)} parts for "
                             f"{len(names)} parameters in wrt")

    kwonly = [p.name for p in inspect.signature(f).parameters.values()
              if p.kind == p.KEYWORD_ONLY]

    def value_at(point: list[Any]) -> float:
        n = len(params) - len(kwonly)
        out = np.asarray(f(*point[:n], **dict(zip(kwonly, point[n:], strict=True))))
        if out.shape != () or not np.issubdtype(out.dtype, np.number):
            raise TypeError(f"check_grad: {name} must return a scalar, got {out!r}")
        return float(out)

    result = GradCheck(name=name, wrt=names, rtol=rtol, atol=atol)
    for param, position, g in zip(names, positions, grads, strict=True):
        for path, leaf in _leaves(values[position]):
            got = _part(g, path)
            _check_shape(name, param, path, leaf, got)
            for index, computed, expected in _differences(value_at, values, position, path,
                                                          leaf, got):
                error, ok = _error(computed, expected, rtol, atol)
                result.entries.append(Entry(param, path, index, computed, expected, error, ok))
    return result


# -- arguments ----------------------------------------------------------------------------------

def _bind(f: Callable, args: tuple | list) -> tuple[list[str], list[Any]]:
    """``f``'s parameter names and a value for each (defaults filled in); values after the
    positional parameters' are the keyword-only parameters', in order."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"check_grad: cannot read the parameters of {f!r}") from exc
    positional = [p.name for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    # keyword-only parameters follow, in order, as the gradient takes them
    params = positional + [p.name for p in sig.parameters.values() if p.kind == p.KEYWORD_ONLY]
    try:
        bound = sig.bind(*args[:len(positional)], **dict(zip(params[len(positional):],
                                                             args[len(positional):],
                                                             strict=False)))
    except TypeError as exc:
        raise TypeError(f"check_grad: the values do not fit "
                        f"{getattr(f, '__name__', 'f')}({', '.join(params)}): {exc}") from None
    bound.apply_defaults()
    return params, [bound.arguments[p] for p in params]


def _as_float(value: Any, param: str) -> Any:
    """A differentiated argument as float64: floats, float64 arrays, tuples of them (copies)."""
    if isinstance(value, tuple):
        return tuple(_as_float(v, param) for v in value)
    if isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating)):
        return float(value)
    if isinstance(value, (np.ndarray, list)):
        arr = np.array(value, dtype=np.float64)  # a copy, always
        return float(arr) if arr.ndim == 0 else arr
    raise TypeError(f"check_grad: cannot differentiate with respect to {param}: expected a "
                    f"float, an int, a NumPy array or a tuple of them, got {type(value).__name__}")


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


def _leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """The floats and arrays inside a (nested) tuple, with their positions."""
    if isinstance(value, tuple):
        for k, item in enumerate(value):
            yield from _leaves(item, path + (k,))
    else:
        yield path, value


def _part(value: Any, path: Path) -> Any:
    for k in path:
        value = value[k]
    return value


def _replace(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    items = list(value)
    items[path[0]] = _replace(items[path[0]], path[1:], new)
    return tuple(items)


def _check_shape(name: str, param: str, path: Path, leaf: Any, got: Any) -> None:
    where = param + "".join(f"[{k}]" for k in path)
    want = np.shape(leaf)
    have = np.shape(got)
    if want != have:
        raise AssertionError(f"check_grad: the gradient of {name} with respect to {where} has "
                             f"shape {have}, the parameter has shape {want}")


# -- differences --------------------------------------------------------------------------------

def _differences(value_at: Callable[[list[Any]], float], values: list[Any], position: int,
                 path: Path, leaf: Any, got: Any
                 ) -> Iterator[tuple[tuple[int, ...], float, float]]:
    """(index, adcompile's entry, central difference) for every entry of one leaf."""
    def at(new_leaf: Any) -> float:
        point = list(values)
        point[position] = _replace(values[position], path, new_leaf)
        return value_at(point)

    if isinstance(leaf, np.ndarray):
        work = leaf.copy()
        computed = np.asarray(got, dtype=np.float64)
        for index in np.ndindex(leaf.shape):
            x = float(leaf[index])
            hi, lo = _steps(x)
            work[index] = hi
            f_hi = at(work)
            work[index] = lo
            f_lo = at(work)
            work[...] = leaf
            yield index, float(computed[index]), (f_hi - f_lo) / (hi - lo)
    else:
        x = float(leaf)
        hi, lo = _steps(x)
        yield (), float(np.asarray(got, dtype=np.float64)), (at(hi) - at(lo)) / (hi - lo)


def _steps(x: float) -> tuple[float, float]:
    """``x + h`` and ``x - h``, with ``h`` relative to the magnitude of ``x``.

    The difference is divided by ``hi - lo`` as rounded, not by ``2 h``, so that the
    representation error of the two points does not enter the quotient.
    """
    h = STEP * max(1.0, abs(x))
    return x + h, x - h


def _error(computed: float, expected: float, rtol: float, atol: float) -> tuple[float, bool]:
    """The relative error of one entry and whether it is within the tolerance."""
    if not (math.isfinite(computed) and math.isfinite(expected)):
        return math.inf, False
    diff = abs(computed - expected)
    ok = diff <= atol + rtol * abs(expected)
    scale = abs(expected) + (atol / rtol if rtol > 0 else 0.0)
    if scale > 0:
        error = diff / scale
    else:
        error = 0.0 if diff == 0 else math.inf
    return error, ok


def _severity(entry: Entry) -> tuple[bool, float]:
    """Failing entries before passing ones, then by error."""
    return (not entry.ok, entry.error)
