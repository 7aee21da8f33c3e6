"""The user's ``raise`` statements, as calls the rest of the pipeline passes through.

``if n <= 0: raise ValueError("n must be positive")`` becomes ``raised = raise_error(
"ValueError", "n must be positive")`` in the front end (``lower``): an assignment like any
other, of a call without a derivative that ``analyze`` keeps wherever the function runs (the
forward, the gradient's forward sweep, forward mode), and that ``render`` writes back as the
``raise`` statement it stands for, so the generated code raises the same exception.  The
class is a built-in exception (Numba raises it with a constant message); an f-string's
message is its text as written (``f"got {n}"`` gives ``"got {n}"``: compiled code formats
no strings).

A function that ends ``if c: return a`` then ``raise E(...)`` (or with the ``raise`` in the
final ``else``) is ``if not c: raise E(...)`` then the ``if``'s body, so that it ends with
its ``return`` like every function the pipeline takes.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from typing import Any

from .errors import AdcompileError
from .trees import blocks

#: the kernel's name, also its spelling in generated code (``kernels.raise_error``)
RAISE = "raise_error"

_HINT = ("raise a built-in exception with a literal message: raise ValueError(\"n must be "
         "positive\"), or check the inputs before calling the function")


def lower(tree: ast.FunctionDef, resolve: Callable[[ast.expr], Any],
          error: Callable[..., AdcompileError], name: str, result: str) -> bool:
    """Rewrite every ``raise`` of ``tree`` (nested helpers included) into ``result =
    name(kind, message)``; whether there was one.  ``resolve`` gives what a name denotes."""
    _raise_last(tree.body)
    found = False
    for block in blocks(tree):
        for k, stmt in enumerate(block):
            if isinstance(stmt, ast.Raise):
                block[k] = _as_call(stmt, resolve, error, name, result)
                found = True
    return found


def _raise_last(body: list[ast.stmt]) -> None:
    """``if c: ...; return a`` then ``raise E`` (or ``else: raise E``) at the end of the
    function: ``if not c: raise E`` then the ``if``'s body."""
    last = body[-1] if body else None
    if (isinstance(last, ast.If) and len(last.orelse) == 1
            and isinstance(last.orelse[0], ast.Raise)):
        body.append(last.orelse.pop())
    if (len(body) >= 2 and isinstance(body[-1], ast.Raise) and isinstance(body[-2], ast.If)
            and not body[-2].orelse and isinstance(body[-2].body[-1], ast.Return)):
        raised = body.pop()
        guard = body.pop()
        test = ast.copy_location(ast.UnaryOp(op=ast.Not(), operand=guard.test), guard.test)
        body.append(ast.copy_location(ast.If(test=test, body=[raised], orelse=[]), guard))
        body.extend(guard.body)


def _as_call(stmt: ast.Raise, resolve: Callable[[ast.expr], Any],
             error: Callable[..., AdcompileError], name: str, result: str) -> ast.stmt:
    """``result = name("ValueError", "message")`` for ``raise ValueError("message")`` (the
    message ``""`` for ``raise ValueError``)."""
    exc = stmt.exc
    if exc is None:
        raise error(stmt, "a bare 'raise' (re-raising) is not supported in differentiated "
                    "code", construct="a 'raise' statement", hint=_HINT)
    if stmt.cause is not None and not (isinstance(stmt.cause, ast.Constant)
                                       and stmt.cause.value is None):
        raise error(stmt, "'raise ... from ...' is not supported in differentiated code",
                    construct="a 'raise' statement", hint=_HINT)
    kind = exc.func if isinstance(exc, ast.Call) else exc
    cls = resolve(kind)
    if not (isinstance(kind, ast.Name) and isinstance(cls, type)
            and issubclass(cls, BaseException) and getattr(builtins, kind.id, None) is cls):
        raise error(stmt, f"'raise {ast.unparse(kind)}' raises an exception that is not a "
                    "built-in one", construct="a 'raise' statement", hint=_HINT)
    message = ""
    if isinstance(exc, ast.Call):
        if exc.keywords or len(exc.args) > 1:
            raise error(stmt, "an exception raised with several arguments is not supported "
                        "in differentiated code", construct="a 'raise' statement", hint=_HINT)
        if exc.args:
            message = _message(exc.args[0], stmt, error)
    args = [ast.Constant(value=kind.id), ast.Constant(value=message)]
    for arg in args:
        arg.option = True  # type: ignore[attr-defined]  (a string the checks let through)
    call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])
    target = ast.Name(id=result, ctx=ast.Store())
    return ast.fix_missing_locations(ast.copy_location(
        ast.Assign(targets=[target], value=call), stmt))


def _message(arg: ast.expr, stmt: ast.Raise, error: Callable[..., AdcompileError]) -> str:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):  # f"got {n}": the text as written
        return "".join(part.value if isinstance(part, ast.Constant) else
                       "{" + ast.unparse(part.value) + "}" for part in arg.values)
    raise error(stmt, f"the exception's message '{ast.unparse(arg)}' is not a string literal",
                construct="a 'raise' statement", hint=_HINT)


def as_raise(stmt: ast.stmt) -> ast.Raise | None:
    """``raise ValueError("message")`` for the generated statement ``raised =
    raise_error("ValueError", "message")`` (``render``), else ``None``."""
    value = getattr(stmt, "value", None)
    if not (isinstance(stmt, ast.Assign) and isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name) and value.func.id.startswith(RAISE)
            and len(value.args) == 2
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str)
                    for a in value.args)):
        return None
    kind = ast.Name(id=value.args[0].value, ctx=ast.Load())
    exc = kind if not value.args[1].value else ast.Call(func=kind, args=[value.args[1]],
                                                        keywords=[])
    return ast.copy_location(ast.Raise(exc=exc, cause=None), stmt)
