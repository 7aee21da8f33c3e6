"""Command line: ``python -m adcompile show FILE.py:FUNC [--wrt w,b]`` prints the generated code."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .api import grad, value_and_grad
from .errors import AdcompileError


def _load(target: str):
    path_text, sep, func_name = target.rpartition(":")
    if not sep or not path_text or not func_name:
        raise SystemExit(f"adcompile: expected FILE.py:FUNC, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise SystemExit(f"adcompile: no such file: {path}")
    sys.path.insert(0, str(path.resolve().parent))
    module_name = f"_adcompile_cli_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    try:
        return getattr(module, func_name)
    except AttributeError:
        raise SystemExit(f"adcompile: {path} defines no {func_name!r}") from None


def _parse_wrt(text: str | None):
    if text is None:
        return 0
    items = [item.strip() for item in text.split(",") if item.strip()]
    parsed = tuple(int(i) if i.lstrip("-").isdigit() else i for i in items)
    return parsed[0] if len(parsed) == 1 and "," not in text else parsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adcompile",
                                     description="Source-to-source reverse-mode AD for Python.")
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("show", help="print the generated derivative source of a function")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--wrt", help="parameters to differentiate with respect to, by name or "
                      "position, comma-separated (default: the first)")
    show.add_argument("--value", action="store_true",
                      help="show the value-and-gradient function instead of the gradient")
    args = parser.parse_args(argv)
    try:
        func = _load(args.target)
        if hasattr(func, "source") and args.wrt is None and not args.value:
            print(func.source)  # already a compiled gradient (@adcompile.grad)
            return 0
        transform = value_and_grad if args.value else grad
        print(transform(func, wrt=_parse_wrt(args.wrt)).source)
    except BrokenPipeError:  # the reader (head, less) closed the pipe early
        sys.stderr.close()
        return 0
    except AdcompileError as exc:
        print(f"adcompile: {exc}", file=sys.stderr)
        return 1
    return 0
