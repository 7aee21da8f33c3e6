"""The reach corpus: small NumPy programs with a scalar loss, as autodiff users write them.

Each program is a plain function registered with :func:`program`, which records it and returns
it unchanged: the function runs as ordinary Python and is what adcompile differentiates.  The
programs are grouped by category, one module each; a module's ``CATEGORY`` is the default tag of
its programs.  ``load()`` imports every module and returns the programs in a fixed order.

Arguments are given as a tuple or as a function of a NumPy random generator, seeded from the
program's name so that every process draws the same values.  Points are chosen away from kinks
(ties of ``max``, ``abs`` at 0, branch switches), so that central differences are a reliable
oracle there.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The modules of the corpus, in report order.
MODULES = ("elementwise", "operators", "reductions", "statistics", "shapes", "indexing",
           "building", "products", "linalg", "constructs", "simulations", "models",
           "scipy_special")


@dataclass
class Program:
    """One corpus entry: a function, the arguments to call it with, and what to differentiate."""

    name: str
    func: Callable
    make_args: Any
    wrt: Any
    category: str
    scipy: bool
    like: str = ""
    module: str = field(default="", repr=False)

    def args(self) -> tuple:
        """Fresh arguments (new arrays on every call)."""
        if callable(self.make_args):
            rng = np.random.default_rng(zlib.crc32(self.name.encode()))
            return tuple(self.make_args(rng))
        return tuple(_fresh(a) for a in self.make_args)


_registered: list[dict] = []


def program(args: Any, wrt: Any = 0, *, category: str | None = None, scipy: bool = False,
            like: str = "", name: str | None = None) -> Callable:
    """Register the decorated function (returned unchanged) as a corpus program.

    ``args``: a tuple of arguments or ``lambda rng: (...)``; ``wrt`` as for ``adc.grad``;
    ``like``: the test this program is modelled on (for the reader).
    """
    def register(f: Callable) -> Callable:
        _registered.append(dict(func=f, make_args=args, wrt=wrt, category=category,
                                scipy=scipy, like=like, name=name))
        return f
    return register


def add(f: Callable, args: Any, wrt: Any = 0, *, name: str, category: str | None = None,
        scipy: bool = False, like: str = "") -> None:
    """Register a function that cannot carry a decorator (a lambda)."""
    program(args, wrt, category=category, scipy=scipy, like=like, name=name)(f)


def load() -> list[Program]:
    """Every program of the corpus, module by module, in definition order."""
    programs: list[Program] = []
    seen: set[str] = set()
    for mod_name in MODULES:
        mod = importlib.import_module(f"{__name__}.{mod_name}")
        default = getattr(mod, "CATEGORY", mod_name)
        uses_scipy = getattr(mod, "SCIPY", False)
        for entry in [e for e in _registered if e["func"].__module__ == mod.__name__]:
            local = entry["name"] or entry["func"].__name__
            name = f"{mod_name}.{local}"
            if name in seen:
                raise ValueError(f"two corpus programs are named {name}")
            seen.add(name)
            programs.append(Program(name=name, func=entry["func"], make_args=entry["make_args"],
                                    wrt=entry["wrt"], category=entry["category"] or default,
                                    scipy=entry["scipy"] or uses_scipy, like=entry["like"],
                                    module=mod_name))
    return programs


def by_name() -> dict[str, Program]:
    return {p.name: p for p in load()}


def _fresh(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    return value
