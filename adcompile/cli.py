"""Command line.

``python -m adcompile show FILE.py:FUNC [--wrt w,b] [--value]`` prints the generated code.

``python -m adcompile check FILE.py:FUNC [--wrt w,b] --at VALUES [--rtol R] [--atol A]``
compares the gradient at a point with float64 central differences (:func:`check_grad`) and
prints the largest relative error and a table of the worst entries.  ``VALUES`` holds one Python
literal per parameter of ``FUNC``, in order, separated by commas: ``--at 0.3,-0.1,1.5,0.8``;
a list is an array, ``--at "[1, 2, 3],0.5"`` or ``--at "[[1, 2], [3, 4]],0.5"`` (2-D).

Exit status: 0 when the command did its work (``check``: every entry within the tolerance),
1 when ``check`` finds entries beyond the tolerance (``show``: the function cannot be
differentiated), 2 on a usage error (bad target, ``--at`` or ``--wrt``) or when the check cannot
be carried out.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .api import grad, value_and_grad
from .check import ATOL, RTOL, compare
from .errors import AdcompileError

#: Exit statuses.
OK, MISMATCH, USAGE = 0, 1, 2


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit status 2)."""


def _load(target: str):
    path_text, sep, func_name = target.rpartition(":")
    if not sep or not path_text or not func_name:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    sys.path.insert(0, str(path.resolve().parent))
    module_name = f"_adcompile_cli_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    try:
        return getattr(module, func_name)
    except AttributeError:
        raise UsageError(f"{path} defines no {func_name!r}") from None


def _parse_wrt(text: str | None):
    if text is None:
        return 0
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise UsageError(f"--wrt {text!r} names no parameter")
    parsed = tuple(int(i) if i.lstrip("-").isdigit() else i for i in items)
    return parsed[0] if len(parsed) == 1 and "," not in text else parsed


def parse_values(text: str) -> tuple[Any, ...]:
    """The argument values of ``--at``: Python literals separated by commas.

    Numbers stay numbers, a (nested) list becomes a float64 array, a tuple stays a tuple (of
    converted items): ``"0.3,[1, 2],(0.5, [3.0])"`` gives ``(0.3, array([1., 2.]),
    (0.5, array([3.])))``.
    """
    if not text.strip():
        return ()
    try:
        values = ast.literal_eval(f"({text},)")
    except (SyntaxError, ValueError) as exc:
        raise UsageError(f"--at {text!r}: expected Python literals separated by commas, such "
                         f"as 0.3,-0.1,\"[1, 2, 3]\" ({exc.__class__.__name__}: {exc})") from None
    return tuple(_value(v, text) for v in values)


def _value(value: Any, text: str) -> Any:
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, tuple):
        return tuple(_value(v, text) for v in value)
    if isinstance(value, list):
        try:
            arr = np.array(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"--at {text!r}: {value!r} is not a rectangular array of "
                             f"numbers ({exc})") from None
        return arr
    raise UsageError(f"--at {text!r}: {value!r} is not a number, a list (an array) or a tuple")


def _show(args: argparse.Namespace) -> int:
    func = _load(args.target)
    if hasattr(func, "source") and args.wrt is None and not args.value:
        print(func.source)  # already a compiled gradient (@adcompile.grad)
        return OK
    transform = value_and_grad if args.value else grad
    try:
        print(transform(func, wrt=_parse_wrt(args.wrt)).source)
    except AdcompileError as exc:
        print(f"adcompile: {exc}", file=sys.stderr)
        return MISMATCH
    return OK


def _check(args: argparse.Namespace) -> int:
    func = _load(args.target)
    if hasattr(func, "source"):
        raise UsageError(f"{args.target} is already a compiled gradient; check the plain "
                         "function (define it without @adcompile.grad)")
    values = parse_values(args.at)
    wrt = _parse_wrt(args.wrt)
    try:
        result = compare(func, wrt, values, rtol=args.rtol, atol=args.atol)
    except AdcompileError as exc:
        print(f"adcompile: cannot check {args.target}: {exc}", file=sys.stderr)
        return USAGE
    except (TypeError, ValueError, ArithmeticError) as exc:  # values that do not fit f
        print(f"adcompile: cannot check {args.target} at {args.at}: {exc}", file=sys.stderr)
        return USAGE
    except AssertionError as exc:  # a gradient of the wrong shape
        print(exc)
        return MISMATCH
    print(result.summary())
    print(result.table(None if args.entries <= 0 else args.entries))
    return OK if result.ok else MISMATCH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adcompile",
                                     description="Source-to-source reverse-mode AD for Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    wrt_help = ("parameters to differentiate with respect to, by name or position, "
                "comma-separated (default: the first)")
    show = sub.add_parser("show", help="print the generated derivative source of a function")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--wrt", help=wrt_help)
    show.add_argument("--value", action="store_true",
                      help="show the value-and-gradient function instead of the gradient")
    check = sub.add_parser(
        "check", help="compare the gradient at a point with central differences",
        description="Compare adcompile's gradient of FUNC at a point with float64 central "
        "differences.  Exit status 0 when every entry is within the tolerance "
        "(|a - b| <= atol + rtol |b|), 1 when one is not, 2 on a usage error.",
        epilog="example: python -m adcompile check model.py:loss --wrt w,b --at "
        "'[0.5, -1.0],0.1,[[1, 2], [3, 4]],[0.0, 1.0]'.  A first value starting with '-' "
        "needs --at=-0.3,...")
    check.add_argument("target", metavar="FILE.py:FUNC")
    check.add_argument("--wrt", help=wrt_help)
    check.add_argument("--at", required=True, metavar="VALUES",
                       help="the value of every parameter, in order: Python literals separated "
                       "by commas; a list is a float64 array (\"[1, 2, 3]\", nested for 2-D), "
                       "a tuple a tuple parameter")
    check.add_argument("--rtol", type=float, default=RTOL,
                       help=f"relative tolerance (default {RTOL:g})")
    check.add_argument("--atol", type=float, default=ATOL,
                       help=f"absolute tolerance (default {ATOL:g})")
    check.add_argument("--entries", type=int, default=20, metavar="N",
                       help="show the N worst entries (default 20; 0 shows all)")
    args = parser.parse_args(argv)
    try:
        return _show(args) if args.command == "show" else _check(args)
    except UsageError as exc:
        print(f"adcompile: {exc}", file=sys.stderr)
        return USAGE
    except AdcompileError as exc:  # a wrt that names no parameter, ...
        print(f"adcompile: {exc}", file=sys.stderr)
        return USAGE
    except BrokenPipeError:  # the reader (head, less) closed the pipe early
        sys.stderr.close()
        return OK
