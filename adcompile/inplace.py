"""Helpers that write into the arrays they are given, inlined where they are called.

Simulation code often updates its state in place through small functions of its own:

```python
def drift(x, v, dt):                        for t in range(steps):
    x += dt * v                                 drift(x, v, dt)       # x changes
                                          ─►
def relax(u, k):                            for t in range(steps):
    u[1:-1] += k * (u[:-2] - 2 * u[1:-1]        x[...] += dt * v      # drift, inlined
                    + u[2:])                    ...
```

Differentiated code never passes an array to a function that writes into it (the generated
helper would have to give the changes back), so such a call is *inlined*: the statement is
replaced by the helper's body, before anything else reads the function, and the rest of the
pipeline sees the writes where they happen, into the caller's own arrays.

- A call standing as a statement (``drift(x, v, dt)``) is inlined, as is ``r = h(...)`` when
  ``h`` writes into a parameter through an index (``u[i] = ...``, ``u[1:-1] += ...``); its
  final ``return e`` becomes ``r = e``.
- A parameter the body never rebinds, given a plain name (``x``), *is* that name in the
  inlined body: a write through it is a write into the caller's array.  ``x += e`` on such a
  parameter, in a call standing as a statement, is written ``x[...] += e``: the in-place
  update it is on an array (on a number it would change nothing the caller sees, and a
  number cannot be indexed: the call is refused).  Any other parameter is bound to its
  argument first (``relax_u = u[1:]``, a view, followed like any view).
- The helper's own variables get names of their own (``relax_lap``); a free name that means
  something else where the call stands (or is a variable there) is bound under a new name.
- A helper defined inside the function (a ``def`` before the call, in the same block) is
  inlined the same way; its free names are the function's variables, read at the call as
  Python reads them.  Inlined at every call, its definition is removed.
- Only helpers whose one ``return`` is their last statement, with no nested functions,
  ``global`` or ``yield``, are inlined; a helper that reaches itself is not.  Calls that are
  not inlined keep their usual treatment (a statement call is refused with a hint).
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .frontend import FunctionInfo


def inline_in_place_helpers(info: FunctionInfo) -> None:
    """Inline, in ``info.tree``, the calls of user functions that write into their
    arguments (see the module's docstring)."""
    from .frontend import _fresh_names

    fresh = _fresh_names(info)
    inliner = _Inliner(info, fresh, [])
    inliner.block_lists(info.tree)
    used = {n.id for n in ast.walk(info.tree) if isinstance(n, ast.Name)}
    gone = {d.name for d in inliner.inlined_local if d.name not in used}
    for node in ast.walk(info.tree):  # a helper inside the function inlined at every call
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and any(
                    isinstance(s, ast.FunctionDef) and s.name in gone for s in block):
                kept = [s for s in block if not (isinstance(s, ast.FunctionDef)
                                                 and s.name in gone)]
                block[:] = kept or [ast.copy_location(ast.Pass(), block[0])]


class _Inliner:
    def __init__(self, info: FunctionInfo, fresh: Any, stack: list[Any]) -> None:
        self.info = info
        self.fresh = fresh
        self.stack = stack
        #: helpers defined inside the function (a ``def`` seen before the call), by name
        self.local: dict[str, ast.FunctionDef] = {}
        self.inlined_local: list[ast.FunctionDef] = []
        self.defined: dict[str, int] = {}
        for node in ast.walk(info.tree):
            if isinstance(node, (ast.FunctionDef, ast.Lambda)) and node is not info.tree:
                name = getattr(node, "name", "<lambda>")
                self.defined[name] = self.defined.get(name, 0) + 1
        for node in ast.walk(info.tree):  # a name also bound otherwise is not the helper
            for t in _targets(node):
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id in self.defined:
                        self.defined[n.id] += 1

    def block_lists(self, node: ast.AST) -> None:
        """Inline the calls in every statement list under ``node`` (not in nested defs)."""
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, field, self.block(block))
        for handler in getattr(node, "handlers", []):
            self.block_lists(handler)

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        outer = dict(self.local)  # a def is seen by what follows it in its block
        for stmt in stmts:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(stmt, ast.FunctionDef) and self.defined[stmt.name] == 1 \
                        and not stmt.decorator_list:
                    self.local[stmt.name] = stmt  # a helper of the function: from here on
                out.append(stmt)
                continue
            inlined = self.statement(stmt)
            if inlined is None:
                self.block_lists(stmt)
                out.append(stmt)
            else:
                out.extend(inlined)
        self.local = outer
        return out

    def statement(self, stmt: ast.stmt) -> list[ast.stmt] | None:
        """The statements that replace ``stmt``, or None to keep it."""
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call, target = stmt.value, None
        elif (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
              and isinstance(stmt.value, ast.Call)
              and isinstance(stmt.targets[0], (ast.Name, ast.Tuple))):
            call, target = stmt.value, stmt
        elif (isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name)
              and isinstance(stmt.value, ast.Call)):
            call, target = stmt.value, stmt  # e += h(u): the helper, then e += its result
        else:
            return None
        if any(isinstance(a, ast.Starred) for a in call.args) or any(
                k.arg is None for k in call.keywords):
            return None
        if isinstance(call.func, ast.Name) and call.func.id in self.local:
            tree = self.local[call.func.id]  # its free names are the function's own
            func: Any = _Local(tree)
        else:
            func = self.callee(call)
            if func is None:
                return None
            tree = _definition(func.key)
        if any(func.key is f.key for f in self.stack) or tree is None \
                or not _inlinable(tree):
            return None
        params = [a.arg for a in tree.args.posonlyargs + tree.args.args]
        if target is not None and not _writes_through_index(tree, set(params)):
            return None  # a helper that returns a value: differentiated as a call
        try:
            args = _arguments(call, func.defaults(params), params)
        except _NotInlined:
            return None
        body = self.rewritten(tree, func, params, args, call, target)
        if body is None:
            return None
        self.stack.append(func)
        if isinstance(func, _Local):
            self.inlined_local.append(func.key)
        else:
            self.info.inlined.append(func.key)
        try:
            return self.block(body)  # the calls the helper makes, inlined in turn
        finally:
            self.stack.pop()

    def callee(self, call: ast.Call) -> Any:
        from .calls import is_user_function
        from .frontend import _early_resolve, is_generated, is_local_function

        obj = _early_resolve(self.info, call.func)
        func = getattr(obj, "py_func", obj)
        if not (inspect.isfunction(func) and is_user_function(func)) or is_generated(func) \
                or is_local_function(func) or func.__name__ == "<lambda>":
            return None
        return _Module(func)

    def rewritten(self, tree: ast.FunctionDef, func: Any, params: list[str],
                  args: list[ast.expr], call: ast.Call, target: ast.stmt | None
                  ) -> list[ast.stmt] | None:
        body = list(tree.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # the docstring
        result: ast.expr | None = None
        if body and isinstance(body[-1], ast.Return):
            result = body[-1].value
            body = body[:-1]
        if target is not None and result is None:
            return None  # r = h(...) where h returns nothing: refused as it is
        rebound = _rebound(tree)
        stored = _stored(tree)
        caller_names = {n.id for n in ast.walk(self.info.tree) if isinstance(n, ast.Name)}
        caller_names |= set(self.info.params)
        renames: dict[str, str] = {}
        prelude: list[ast.stmt] = []
        augmented = _augmented_names(tree)
        literals: dict[str, ast.expr] = {}
        for param, arg in zip(params, args, strict=True):
            if isinstance(arg, ast.Name) and param not in rebound and (
                    target is None or param not in augmented):
                renames[param] = arg.id  # the caller's own array (or number)
            elif _number(arg) and param not in rebound and param not in augmented:
                literals[param] = arg  # drift(x, v, 0.05): the number where it is read
            else:
                renames[param] = self.fresh(f"{func.name}_{param}")
                prelude.append(ast.copy_location(ast.Assign(
                    targets=[ast.Name(id=renames[param], ctx=ast.Store())],
                    value=copy.deepcopy(arg)), call))
        for name in sorted(stored - set(params)):
            renames[name] = self.fresh(f"{func.name}_{name}")
        caller_locals = caller_names - self.global_names()
        for name in sorted(_free(tree, params, stored)) if isinstance(func, _Module) else ():
            meant = _meaning(func.key, name)
            if meant is _UNKNOWN:
                return None
            if self.caller_meaning(name) is meant and name not in caller_locals:
                continue
            new = self.fresh(name)
            self.info.bindings[new] = meant
            renames[name] = new
        body = [_renamed(s, renames, literals) for s in body]
        if target is None:  # x += e on a parameter the helper does not rebind: in place
            updated = {renames[p] for p in params if p not in rebound and p in renames}
            body = [_in_place_update(s, updated) for s in body]
        tail: list[ast.stmt] = []
        if result is not None:
            value = _renamed(result, renames, literals)
            if target is not None:
                done = copy.copy(target)  # r = value, e += value
                done.value = value
                tail.append(done)
            elif any(isinstance(n, ast.Call) for n in ast.walk(value)):
                tail.append(ast.copy_location(ast.Expr(value=value), call))
        out = prelude + body + tail
        if not func.same_file(self.info.filename):
            for stmt in out:  # errors point at the call, in the caller's file
                for node in ast.walk(stmt):
                    if isinstance(node, (ast.stmt, ast.expr)):
                        ast.copy_location(node, call)
        for stmt in out:
            ast.fix_missing_locations(stmt)
        return out or [ast.copy_location(ast.Pass(), call)]

    def caller_meaning(self, name: str) -> Any:
        from .frontend import _early_resolve

        if name in self.info.bindings:
            return self.info.bindings[name]
        return _early_resolve(self.info, ast.Name(id=name, ctx=ast.Load()))

    def global_names(self) -> set[str]:
        """Names of the caller that denote globals, not its variables (``np``)."""
        local = set(self.info.params) | {n.id for n in ast.walk(self.info.tree)
                                         if isinstance(n, ast.Name)
                                         and isinstance(n.ctx, ast.Store)}
        return {n.id for n in ast.walk(self.info.tree)
                if isinstance(n, ast.Name) and n.id not in local}


class _NotInlined(Exception):
    pass


_UNKNOWN = object()


def _definition(func: Any) -> ast.FunctionDef | None:
    """The helper's definition as its file has it (line numbers of the file), or None."""
    from .frontend import _drop_no_ops, _undecorated, _verified_source

    try:
        func = _undecorated(func)
        source = textwrap.dedent(inspect.getsource(func.__code__))
        module = _verified_source(func, source)
    except Exception:  # noqa: BLE001 - no source: the call keeps its usual treatment
        return None
    tree = module.body[0]
    if not isinstance(tree, ast.FunctionDef):
        return None
    ast.increment_lineno(module, func.__code__.co_firstlineno - 1)
    tree.decorator_list = []
    _drop_no_ops(tree)
    return tree


def _inlinable(tree: ast.FunctionDef) -> bool:
    args = tree.args
    if args.vararg or args.kwarg or args.kwonlyargs:
        return False
    for k, stmt in enumerate(tree.body):
        for node in ast.walk(stmt):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda, ast.Global, ast.Nonlocal, ast.Yield,
                                 ast.YieldFrom, ast.Await, ast.Try, ast.With)):
                return False
            if isinstance(node, ast.Return) and (node is not stmt or k != len(tree.body) - 1):
                return False
    return True


class _Module:
    """A helper defined in a module (or a closure): its names are its module's."""

    def __init__(self, func: Any) -> None:
        self.key = func
        self.name = func.__name__

    def defaults(self, params: list[str]) -> dict[str, Any]:
        values = self.key.__defaults__ or ()
        return dict(zip(params[len(params) - len(values):], values, strict=True))

    def same_file(self, filename: str) -> bool:
        return inspect.getsourcefile(self.key) == filename


class _Local:
    """A helper defined inside the function: its free names are the function's variables
    (or globals), read where it is called, as Python reads them."""

    def __init__(self, tree: ast.FunctionDef) -> None:
        self.key = tree
        self.name = tree.name

    def defaults(self, params: list[str]) -> dict[str, Any]:
        values = self.key.args.defaults
        if not all(_number(d) for d in values):
            raise _NotInlined
        return dict(zip(params[len(params) - len(values):],
                        [ast.literal_eval(d) for d in values], strict=True))

    def same_file(self, filename: str) -> bool:
        return True


def _arguments(call: ast.Call, default_of: dict[str, Any], params: list[str]
               ) -> list[ast.expr]:
    if len(call.args) > len(params):
        raise _NotInlined
    bound = dict(zip(params, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg not in params or kw.arg in bound:
            raise _NotInlined
        bound[kw.arg] = kw.value
    out = []
    for p in params:
        if p in bound:
            out.append(bound[p])
        elif p in default_of and type(default_of[p]) in (int, float, bool):
            out.append(ast.Constant(value=default_of[p]))
        else:
            raise _NotInlined
    return out


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _writes_through_index(tree: ast.FunctionDef, params: set[str]) -> bool:
    """Whether the body stores into a parameter through an index (``u[i] = ...``)."""
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        for t in targets:
            for part in ast.walk(t):
                if isinstance(part, ast.Subscript) and isinstance(part.ctx, ast.Store) \
                        and _base_name(part) in params:
                    return True
    return False


def _targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For, ast.comprehension)):
        return [node.target]
    if isinstance(node, ast.NamedExpr):
        return [node.target]
    return []


def _rebound(tree: ast.FunctionDef) -> set[str]:
    """Names the body binds anew (``u = ...``, a loop target), not counting ``u += ...``."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.AugAssign):
            continue
        for t in _targets(node):
            out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)}
    return out


def _augmented_names(tree: ast.FunctionDef) -> set[str]:
    return {node.target.id for node in ast.walk(tree)
            if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)}


def _stored(tree: ast.FunctionDef) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}


def _free(tree: ast.FunctionDef, params: list[str], stored: set[str]) -> set[str]:
    return {n.id for stmt in tree.body for n in ast.walk(stmt) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Load) and n.id not in stored and n.id not in params}


def _meaning(func: Any, name: str) -> Any:
    """What a free name of the helper denotes where it was defined."""
    code = func.__code__
    if name in code.co_freevars and func.__closure__:
        try:
            return func.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:
            return _UNKNOWN
    if name in func.__globals__:
        return func.__globals__[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    return _UNKNOWN


def _number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


class _Renamer(ast.NodeTransformer):
    def __init__(self, renames: dict[str, str], literals: dict[str, ast.expr]) -> None:
        self.renames = renames
        self.literals = literals

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in self.literals and isinstance(node.ctx, ast.Load):
            return ast.copy_location(copy.deepcopy(self.literals[node.id]), node)
        if node.id in self.renames:
            node.id = self.renames[node.id]
        return node


def _renamed(node: Any, renames: dict[str, str], literals: dict[str, ast.expr]) -> Any:
    return _Renamer(renames, literals).visit(copy.deepcopy(node))


def _in_place_update(stmt: ast.stmt, names: set[str]) -> ast.stmt:
    """``x += e`` on a parameter that is the caller's array: ``x[...] += e``, the in-place
    update it is (in loops and branches too)."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) \
                and node.target.id in names:
            node.target = ast.copy_location(ast.Subscript(
                value=ast.copy_location(ast.Name(id=node.target.id, ctx=ast.Load()),
                                        node.target),
                slice=ast.copy_location(ast.Constant(value=Ellipsis), node.target),
                ctx=ast.Store()), node.target)
    return stmt
