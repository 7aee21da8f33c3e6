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
import builtins
import dis
import importlib.util
import os
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .api import grad, value_and_grad
from .check import ATOL, RTOL, compare
from .errors import AdcompileError
from .higher import hvp, jvp, vjp

#: Exit statuses.
OK, MISMATCH, USAGE = 0, 1, 2


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit status 2)."""


def _load(target: str):
    """The function ``FILE.py:FUNC`` names, built without running the file where possible.

    See :func:`load_function`; when the file has to be imported, a note on stderr says why.
    """
    path_text, sep, func_name = target.rpartition(":")
    if not sep or not path_text or not func_name:
        raise UsageError(f"expected FILE.py:FUNC, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"no such file: {path}")

    def note(why: str) -> None:
        print(f"adcompile: note: importing {path}, which runs its top-level code: {why}",
              file=sys.stderr, flush=True)

    return load_function(path, func_name, note)[0]


def load_function(path: Path, name: str, note: Callable[[str], None] | None = None
                  ) -> tuple[Any, str | None]:
    """``(function, None)``, or ``(function, why)`` when the whole file had to be imported
    (``note(why)`` is called first).

    The file is parsed, and only the top-level statements that the function needs are run, in
    their order in the file: its ``def``, and the imports, function definitions and constant
    assignments (literals and arithmetic on them, no calls) that bind the names it reads (and,
    in turn, the names those read); every ``@derivative`` / ``nondifferentiable``
    registration, and ``from __future__`` imports.  Training code, prints, the
    ``if __name__ == "__main__"`` block and everything else at top level do not run.

    The file is imported as a module (all of its top-level code runs) when that is the only
    way to get the same function: a name it reads is set by other code (a call, a loop, a
    class, a branch, a ``global`` statement in some function), is not defined in the file, or
    an import fails without the code before it (``sys.path.insert(...)``).
    """
    module_name = f"_adcompile_cli_{path.stem}"
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as exc:
        raise UsageError(f"{path}:{exc.lineno}: cannot parse it: {exc.msg}") from None
    plan = _Plan(tree, str(path))
    if name not in plan.bindings and not plan.star_imports:
        raise UsageError(f"{path} defines no {name!r}")
    try:
        selected, why = plan.select(name)
        code = selected and compile(ast.Module(body=selected, type_ignores=[]), str(path),
                                    "exec", dont_inherit=True)
    except SyntaxError as exc:  # parsed, but does not compile ('return' outside a function)
        raise UsageError(f"{path}:{exc.lineno}: cannot compile it: {exc.msg}") from None
    if selected is not None:
        module = types.ModuleType(module_name)
        module.__file__ = str(path)
        sys.modules[module_name] = module
        try:
            exec(code, module.__dict__)
        except ImportError as exc:
            why = f"an import failed without the code before it ({exc})"
        else:
            if name not in module.__dict__:
                raise UsageError(f"{path} defines no {name!r}")
            return module.__dict__[name], None
    assert why is not None
    if note is not None:
        note(why)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    try:
        return getattr(module, name), why
    except AttributeError:
        raise UsageError(f"{path} defines no {name!r}") from None


#: Registration calls that change what a derivative is, wherever the file makes them.
_REGISTRATIONS = ("derivative", "nondifferentiable")

#: Expression nodes a constant assignment may hold: literals, names, attributes, arithmetic.
_CONSTANT_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.Tuple,
                   ast.expr_context, ast.operator, ast.unaryop)


class _Plan:
    """Which top-level statements of a file bind which names, and which of them are safe to
    run on their own."""

    def __init__(self, tree: ast.Module, filename: str) -> None:
        self.filename = filename
        self.body = tree.body
        self.order = {id(stmt): i for i, stmt in enumerate(tree.body)}
        #: name -> [(statement, the top-level compound statement holding it, or None)]
        self.bindings: dict[str, list[tuple[ast.stmt, ast.stmt | None]]] = {}
        self.star_imports = [s for s in tree.body if isinstance(s, ast.ImportFrom)
                             and any(a.name == "*" for a in s.names)]
        self.future = [s for s in tree.body
                       if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        self.declared_global: dict[str, str] = {}
        self.registrations: list[ast.stmt] = []
        self.nested_registrations: list[ast.stmt] = []
        for stmt in tree.body:
            if not _is_main_block(stmt):
                self._scan(stmt, None)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Global):
                        for n in inner.names:
                            self.declared_global.setdefault(n, node.name)

    def _scan(self, stmt: ast.stmt, holder: ast.stmt | None) -> None:
        for name in _bound_names(stmt):
            self.bindings.setdefault(name, []).append((stmt, holder))
        if _registers(stmt):
            (self.registrations if holder is None else self.nested_registrations).append(stmt)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        inner = [*getattr(stmt, "body", ()), *getattr(stmt, "orelse", ()),
                 *getattr(stmt, "finalbody", ())]
        for clause in [*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]:
            inner.extend(clause.body)  # except ...: and case ...:
        for child in inner:
            self._scan(child, holder or stmt)

    def select(self, name: str) -> tuple[list[ast.stmt] | None, str | None]:
        """The statements to run for ``name``, in file order, or ``(None, why not)``."""
        if self.nested_registrations:
            stmt = self.nested_registrations[0]
            return None, (f"line {stmt.lineno} registers a derivative inside a block "
                          "that has to run to know whether it does")
        chosen: dict[int, ast.stmt] = {id(s): s for s in [*self.future, *self.star_imports]}
        pending = [name]
        for stmt in self.registrations:
            chosen[id(stmt)] = stmt
            pending.extend(self._reads(stmt))
        seen: set[str] = set()
        while pending:
            needed = pending.pop()
            if needed in seen:
                continue
            seen.add(needed)
            if needed in self.declared_global:
                return None, (f"{self.declared_global[needed]}() sets the global "
                              f"{needed!r}")
            found = self.bindings.get(needed)
            if not found:
                if hasattr(builtins, needed) or self.star_imports or needed == "__name__":
                    continue
                return None, f"{needed!r} is read but not defined at the top of the file"
            for stmt, holder in found:
                if holder is not None:
                    return None, (f"{needed!r} is set at line {stmt.lineno}, inside the "
                                  f"'{_keyword(holder)}' statement at line {holder.lineno}")
                if not _safe(stmt):
                    return None, (f"{needed!r} is set at line {stmt.lineno} by code that "
                                  f"has to run: {_first_line(stmt)}")
                if id(stmt) not in chosen:
                    chosen[id(stmt)] = stmt
                    pending.extend(self._reads(stmt))
        return sorted(chosen.values(), key=lambda s: self.order[id(s)]), None

    def _reads(self, stmt: ast.stmt) -> set[str]:
        """The module-level names running ``stmt`` reads, or that the functions it defines
        read when called."""
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            return set()
        module = ast.Module(body=[*self.future, stmt], type_ignores=[])
        return _global_reads(compile(module, self.filename, "exec", dont_inherit=True))


def _is_main_block(stmt: ast.stmt) -> bool:
    """``if __name__ == "__main__":``, which never runs when the file is imported."""
    test = getattr(stmt, "test", None)
    return (isinstance(stmt, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and len(test.comparators) == 1 and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__")


def _bound_names(stmt: ast.stmt) -> set[str]:
    """The names ``stmt`` itself binds or changes (not the statements nested in it)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = {stmt.name}
        header = [*stmt.decorator_list]
        if not isinstance(stmt, ast.ClassDef):
            header += [*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d)]
        return names | {n.id for e in header for n in ast.walk(e)
                        if isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name)}
    if isinstance(stmt, ast.Import):
        return {a.asname or a.name.split(".")[0] for a in stmt.names}
    if isinstance(stmt, ast.ImportFrom):
        return {a.asname or a.name for a in stmt.names if a.name != "*"}
    header: list[ast.AST] = []
    for field, value in ast.iter_fields(stmt):
        if field in ("body", "orelse", "finalbody", "handlers", "cases"):
            continue
        header.extend(value if isinstance(value, list) else [value])
    names: set[str] = set()
    for part in header:
        if not isinstance(part, ast.AST):
            continue
        for node in ast.walk(part):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(
                    node.ctx, ast.Load):  # x.a = ..., x[0] = ...: a change of x
                base = node
                while isinstance(base, (ast.Attribute, ast.Subscript)):
                    base = base.value
                if isinstance(base, ast.Name):
                    names.add(base.id)
    for handler in getattr(stmt, "handlers", ()):
        if handler.name:
            names.add(handler.name)
    for case in getattr(stmt, "cases", ()):
        for node in ast.walk(case.pattern):
            for attr in ("name", "rest"):
                if isinstance(getattr(node, attr, None), str):
                    names.add(getattr(node, attr))
    return names


def _registers(stmt: ast.stmt) -> bool:
    """Whether ``stmt`` registers a derivative: ``@derivative(...)`` on a ``def``, or a call
    of ``derivative(...)(rule)`` or ``nondifferentiable(...)`` as a statement."""
    calls: list[ast.expr] = []
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        calls = list(stmt.decorator_list)
    elif isinstance(stmt, ast.Expr):
        calls = [stmt.value]
    for call in calls:
        while isinstance(call, ast.Call):
            call = call.func
        if (isinstance(call, ast.Name) and call.id in _REGISTRATIONS) or (
                isinstance(call, ast.Attribute) and call.attr in _REGISTRATIONS):
            return True
    return False


def _safe(stmt: ast.stmt) -> bool:
    """Whether running ``stmt`` on its own only defines something: an import, a ``def`` (its
    decorators, defaults and annotations are evaluated), or a constant assigned to names."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return False
    plain = all(isinstance(n, (ast.Name, ast.Tuple, ast.expr_context))
                for t in targets for n in ast.walk(t))
    return plain and all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(value))


def _global_reads(code: types.CodeType) -> set[str]:
    """Every global (or module-level) name ``code`` and the code nested in it load."""
    out = {ins.argval for ins in dis.get_instructions(code)
           if ins.opname in ("LOAD_NAME", "LOAD_GLOBAL", "LOAD_FROM_DICT_OR_GLOBALS")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _global_reads(const)
    return out


def _keyword(stmt: ast.stmt) -> str:
    return {ast.If: "if", ast.For: "for", ast.AsyncFor: "async for", ast.While: "while",
            ast.With: "with", ast.AsyncWith: "async with", ast.Try: "try"}.get(
                type(stmt), type(stmt).__name__.lower())


def _first_line(stmt: ast.stmt) -> str:
    text = ast.unparse(stmt).splitlines()[0]
    return text if len(text) <= 60 else text[:57] + "..."


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
    transform = {"grad": value_and_grad if args.value else grad, "jvp": jvp, "vjp": vjp,
                 "hvp": hvp}[args.mode]
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


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """The command line; returns the exit status.  ``prog`` names the program in the usage
    line (default: the name it was started as, such as ``adcompile``)."""
    if prog is None:
        started_as = Path(sys.argv[0]).name if argv is None and sys.argv and sys.argv[0] else ""
        plain = started_as and not started_as.endswith(".py") and started_as[0] != "-"
        prog = started_as if plain else "adcompile"  # not "-c" or "cli.py"
    return run_script(lambda: _main(argv, prog))


def _main(argv: list[str] | None, prog: str) -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Source-to-source reverse-mode AD "
                                     "for Python: show or check the derivative of a function "
                                     "in a file, without running the file's top-level code.")
    sub = parser.add_subparsers(dest="command", required=True)
    wrt_help = ("parameters to differentiate with respect to, by name or position, "
                "comma-separated (default: the first)")
    show = sub.add_parser("show", help="print the generated derivative source of a function")
    show.add_argument("target", metavar="FILE.py:FUNC")
    show.add_argument("--wrt", help=wrt_help)
    show.add_argument("--value", action="store_true",
                      help="show the value-and-gradient function instead of the gradient")
    show.add_argument("--mode", choices=("grad", "jvp", "vjp", "hvp"), default="grad",
                      help="which derivative: the gradient (reverse mode), forward mode "
                      "(tangents), reverse mode from a cotangent, or Hessian-vector products")
    check = sub.add_parser(
        "check", help="compare the gradient at a point with central differences",
        description="Compare adcompile's gradient of FUNC at a point with float64 central "
        "differences.  Exit status 0 when every entry is within the tolerance "
        "(|a - b| <= atol + rtol |b|), 1 when one is not, 2 on a usage error.",
        epilog=f"example: {prog} check model.py:loss --wrt w,b --at "
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


# --------------------------------------------------------------------------------------------
# What every command-line script of the project shares (the examples use these too)


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none to show (``None``,
    a flag that is off) or the help text already gives it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default is None or action.default is False or "default" in text:
            return text
        return super()._get_help_string(action)


def run_script(main: Callable[[], Any]) -> Any:
    """``main()``, ended quietly when the reader of standard output goes away early.

    ``python examples/neuron.py | head -3``: ``head`` exits after three lines, and the next
    write (or the flush at exit) fails with ``BrokenPipeError``.  That is not an error of the
    script: the output nobody reads is dropped and the status is 0.  Returns what ``main``
    returns; ``SystemExit`` (``--help``, argparse's usage errors) passes through.
    """
    try:
        status = main()
    except BrokenPipeError:
        _drop_stdout()
        return 0
    except BaseException:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _drop_stdout()
        raise
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
        return 0
    return status


def _drop_stdout() -> None:
    """Point standard output at the null device, so that the flush at exit cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)
