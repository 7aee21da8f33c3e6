"""The one error type the compiler raises on user input, with the user's file and line.

Tracebacks
----------
The public entry points (``grad``, ``value_and_grad``, ``forward``, ``check_grad``, calls of
the functions they return, first calls included, and ``derivative``) are *API boundaries*:
an :class:`AdcompileError` leaves them without the compiler's internal frames and without the
exceptions it was translated from, so the traceback a user sees is their own call, one frame
of this module, and the message::

    Traceback (most recent call last):
      File "model.py", line 12, in <module>
        dloss = adc.grad(loss)
                ^^^^^^^^^^^^^^
      File ".../adcompile/errors.py", line ..., in api_boundary
        raise err.with_traceback(None) from None  # ADCOMPILE_TRACEBACK=full shows the rest
    adcompile.AdcompileError: model.py:5: in loss(): a 'try' statement is not supported ...

Set the environment variable ``ADCOMPILE_TRACEBACK=full`` to get the whole chain instead,
every frame inside adcompile and the Numba error behind a type error (what a bug report in
adcompile itself needs).  The variable is read when the error is raised, so it can be set in
a running session (``os.environ["ADCOMPILE_TRACEBACK"] = "full"``).

:func:`api_boundary` is the decorator that does this; apply it to any new public function.
"""

from __future__ import annotations

import functools
import linecache
import os
from collections.abc import Callable
from typing import Any, TypeVar

#: the environment variable that asks for the full traceback (value ``full``)
TRACEBACK_ENV = "ADCOMPILE_TRACEBACK"

F = TypeVar("F", bound=Callable[..., Any])


class AdcompileError(Exception):
    """A function cannot be differentiated as written.

    The message names the user's file and line, the construct, and what to do instead.
    The same facts are available as attributes for tools: ``filename``, ``lineno``,
    ``construct`` and ``hint`` (each may be ``None`` when it does not apply).

    Raised from a public function, its traceback ends at the user's call: adcompile's own
    frames are left out.  ``ADCOMPILE_TRACEBACK=full`` in the environment keeps them (see
    :mod:`adcompile.errors`).
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str | None = None,
        lineno: int | None = None,
        construct: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.filename = filename
        self.lineno = lineno
        self.construct = construct
        self.hint = hint
        self.message = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = []
        where = ""
        if self.filename is not None:
            where = f"{self.filename}:{self.lineno}: " if self.lineno else f"{self.filename}: "
        parts.append(where + self.message)
        if self.filename is not None and self.lineno:
            line = linecache.getline(self.filename, self.lineno).strip()
            if line:
                parts.append(f"    {line}")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)


# the name users import it by (and the one a traceback prints)
AdcompileError.__module__ = "adcompile"


def full_traceback() -> bool:
    """Whether ``ADCOMPILE_TRACEBACK=full`` asks for adcompile's internal frames."""
    return os.environ.get(TRACEBACK_ENV, "").strip().lower() == "full"


def api_boundary(func: F) -> F:
    """Make ``func`` a public entry point: an :class:`AdcompileError` raised anywhere below it
    is raised again from here with the frames below dropped and no chained exception, so the
    traceback shows the caller's frames, this one, and the message.  Nested boundaries are
    harmless.  With ``ADCOMPILE_TRACEBACK=full`` the error passes through untouched."""

    @functools.wraps(func)
    def api_boundary(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AdcompileError as err:
            if full_traceback():
                raise
            raise err.with_traceback(None) from None  # ADCOMPILE_TRACEBACK=full shows the rest

    return api_boundary  # type: ignore[return-value]
