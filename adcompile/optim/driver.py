"""Running a compiled loop in chunks of steps, from Python: the chunk sizes, the progress line,
the callback and Ctrl-C.

The compiled loops of :mod:`.loops` take a first step and a number of steps and carry all
their state (parameters, optimizer state, random generator, shuffle order) in their arguments,
so a run cut into chunks computes exactly what one call for all steps computes.  Between two
chunks the interpreter is back: :func:`drive` updates the progress line, calls the user's
callback, and stops when Ctrl-C was pressed or the callback asked for it.

Chunk sizes adapt to the measured speed: the first chunk is a few steps, each later one is
sized to take about ``TARGET`` seconds (growing at most ``GROWTH`` times from one chunk to the
next, so that a first chunk slowed by call overhead cannot make the second one huge).  A
chunk never crosses a multiple of ``callback_every``.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple, TextIO

#: steps in the first chunk; seconds a later chunk aims at; the largest growth between chunks
FIRST = 4
TARGET = 0.15
GROWTH = 8
#: seconds between two progress lines, on a terminal (rewritten in place) and elsewhere
INTERVAL_TTY = 0.5
INTERVAL_PLAIN = 2.0
#: the first line comes once stepping has run ``SHOW_AFTER`` seconds (so that the rate means
#: something); for ``progress=None`` only if the whole run is expected to take at least
#: ``SHOW_LONGER_THAN`` seconds
SHOW_AFTER = 0.5
SHOW_LONGER_THAN = 2.0


class StepInfo(NamedTuple):
    """What a callback receives, between two chunks of steps.

    ``step``: the steps taken so far; ``steps``: the steps the run would take in all;
    ``loss``: the loss at the last step taken, evaluated before that step's update (the value
    the history holds for that step); ``params``: a copy of the current parameters in the form
    of the start value (as ``OptimResult.params``); ``elapsed``: seconds since the first step.
    """

    step: int
    steps: int
    loss: float
    params: Any
    elapsed: float


class Outcome(NamedTuple):
    """How a run ended: the steps taken, and whether Ctrl-C or the callback stopped it."""

    steps: int
    interrupted: bool
    stopped: bool


def drive(name: str, total: int, run: Callable[[int, int], float], snapshot: Callable[[], Any],
          *, progress: bool | None, callback: Callable | None,
          callback_every: int | None) -> Outcome:
    """Run ``run(start, count)`` (which returns the loss of its last step) over steps
    ``0 .. total - 1`` in chunks, with the progress line, the callback and Ctrl-C handled at
    chunk boundaries.  ``snapshot()`` gives the current parameters in the caller's form.
    """
    line = _ProgressLine(name, total, progress)
    size = FIRST
    done = 0
    loss = math.nan
    interrupted = stopped = False
    begin = time.perf_counter()
    with _CtrlC() as ctrl_c:
        try:
            while done < total:
                end = min(total, done + size)
                if callback_every is not None:
                    end = min(end, (done // callback_every + 1) * callback_every)
                count = end - done
                t0 = time.perf_counter()
                loss = float(run(done, count))
                took = time.perf_counter() - t0
                done = end
                size = _next_size(size, count, took)
                elapsed = time.perf_counter() - begin
                line.update(done, loss, elapsed)
                if callback is not None and (callback_every is None
                                             or done % callback_every == 0):
                    info = StepInfo(done, total, loss, snapshot(), elapsed)
                    if callback(info):
                        stopped = done < total
                        break
                if ctrl_c.pressed:
                    interrupted = done < total
                    break
        finally:
            line.finish(done, loss, time.perf_counter() - begin)
    if interrupted:
        _write(sys.stderr, f"{name}: interrupted by Ctrl-C after step {done:,} of {total:,}; "
               "returning the parameters reached (result.interrupted is True)\n")
    return Outcome(done, interrupted, stopped)


def _next_size(size: int, count: int, took: float) -> int:
    """The next chunk's size from the last one's: about ``TARGET`` seconds at the measured
    rate, at most ``GROWTH`` times the last proposal."""
    if took <= 0.0:
        return size * GROWTH
    return max(1, min(size * GROWTH, int(count / took * TARGET)))


# --------------------------------------------------------------------------------------------
# Ctrl-C


class _CtrlC:
    """While active, the first SIGINT only sets ``pressed``; the second one does what the
    previous handler does (``KeyboardInterrupt`` by default).  Installed only in the main
    thread, and not when SIGINT is ignored; the previous handler is restored on exit."""

    def __init__(self) -> None:
        self.pressed = False
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGINT)
            if previous not in (signal.SIG_IGN, None):
                self.previous = previous
                signal.signal(signal.SIGINT, self._handle)
                self.installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)
            self.installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.pressed:
            self.pressed = True
            return
        if callable(self.previous):
            self.previous(signum, frame)
        raise KeyboardInterrupt


# --------------------------------------------------------------------------------------------
# The progress line


class _ProgressLine:
    """``gd: 1,200/5,000 steps (24%)  loss 3.1e-02  52,000 steps/s  ETA 0:07`` on stderr.

    On a terminal the line is rewritten in place (``\\r``) every ``INTERVAL_TTY`` seconds;
    elsewhere a new line is written every ``INTERVAL_PLAIN`` seconds.  ``mode=None`` shows it
    only on a terminal and only for runs that take a while; ``True`` always, ``False`` never.
    """

    def __init__(self, name: str, total: int, mode: bool | None,
                 stream: TextIO | None = None) -> None:
        self.name = name
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream)
        self.mode = mode
        self.enabled = mode is True or (mode is None and self.tty)
        self.shown = False
        self.last = -math.inf
        self.width = 0

    def update(self, done: int, loss: float, elapsed: float) -> None:
        if not self.enabled or done >= self.total:
            return
        if not self.shown and (elapsed < SHOW_AFTER or (
                self.mode is None and elapsed * self.total / done < SHOW_LONGER_THAN)):
            return
        if elapsed - self.last < (INTERVAL_TTY if self.tty else INTERVAL_PLAIN):
            return
        self.last = elapsed
        rate = done / elapsed if elapsed > 0 else math.inf
        eta = (self.total - done) / rate if rate > 0 else math.inf
        self._show(done, loss, rate, f"ETA {_clock(eta)}", end="")

    def finish(self, done: int, loss: float, elapsed: float) -> None:
        if not self.enabled or (not self.shown and self.mode is None):
            return
        rate = done / elapsed if elapsed > 0 else math.inf
        self._show(done, loss, rate, f"{elapsed:.1f} s", end="\n")

    def _show(self, done: int, loss: float, rate: float, tail: str, end: str) -> None:
        percent = 100.0 * done / self.total
        text = (f"{self.name}: {done:,}/{self.total:,} steps ({percent:.0f}%)  "
                f"loss {loss:.4g}  {rate:,.0f} steps/s  {tail}")
        if self.tty:
            text = "\r" + text.ljust(self.width)
            self.width = max(self.width, len(text) - 1)
            _write(self.stream, text + end)
        else:
            _write(self.stream, text + "\n")
        self.shown = True


def _clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    if not math.isfinite(seconds):
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _write(stream: Any, text: str) -> None:
    """Write and flush, ignoring a closed or missing stream (progress is never worth an
    exception)."""
    try:
        stream.write(text)
        stream.flush()
    except (AttributeError, ValueError, OSError):
        pass
