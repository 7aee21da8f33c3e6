"""The one error type the compiler raises on user input, with the user's file and line."""

from __future__ import annotations

import linecache


class AdcompileError(Exception):
    """A function cannot be differentiated as written.

    The message names the user's file and line, the construct, and what to do instead.
    The same facts are available as attributes for tools: ``filename``, ``lineno``,
    ``construct`` and ``hint`` (each may be ``None`` when it does not apply).
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
