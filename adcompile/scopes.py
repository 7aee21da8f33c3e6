"""Helpers defined inside the differentiated function: nested ``def`` and named lambdas.

```python
def loss(w, x):
    sq = lambda z: z * z                   # a helper, inlined at each call
    def h(z):
        return 3.0 * z + w                 # reads w of the enclosing function
    return sq(h(x))
```

Each helper is taken out of the body (``extract``) and its name bound to a *stub*, a function
of the same parameters whose own definition, the helper as a ``def`` (a lambda ``sq = lambda
z: e`` reads ``def sq(z): return e``), :func:`adcompile.frontend.parse_function` returns.  The
normalizer inlines every call of a stub, the helper's names prefixed with its own (``h_z``),
so a helper is differentiated like the rest of the body, in every mode and to any order.

What Python would do and inlining would not is refused, each with the helper's line:

- the name of a helper is bound once, and it is only called (not passed as a value);
- a call comes after the definition, in the block that holds it (or a block inside it);
- a variable of the enclosing function that a helper reads is not assigned after the
  definition (Python would read its value at the call: pass it as an argument instead);
- a helper's defaults are numbers, and it has no ``*args``, keyword-only parameters or
  decorators.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .errors import AdcompileError

Error = Callable[..., AdcompileError]


@dataclass
class Helper:
    """A helper of the function: its definition as a ``def``, where it stood, and what it
    reads."""

    name: str
    tree: ast.FunctionDef
    statement: ast.stmt
    #: loops around the definition (a store anywhere in them comes after it)
    loops: list[ast.stmt] = field(default_factory=list)
    #: names the body reads that are neither its parameters nor its own variables
    free: set[str] = field(default_factory=set)


def extract(tree: ast.FunctionDef, error: Error) -> dict[str, Helper]:
    """Take the helpers out of ``tree`` (in place) and check how they are used; the helpers by
    name.  ``error(node, message, construct=..., hint=...)`` makes the errors."""
    found: dict[str, Helper] = {}
    for block, loops in _blocks(tree.body, []):
        for stmt in block:
            helper = _definition(stmt, loops, error)
            if helper is None:
                continue
            if helper.name in found:
                raise error(stmt, f"the helper '{helper.name}' is defined twice",
                            construct="a helper defined twice",
                            hint="give each helper its own name")
            found[helper.name] = helper
    if not found:
        return found
    outer = _outer_variables(tree, found)
    for name, helper in found.items():
        if name in outer:
            node = outer[name][0]
            raise error(node, f"'{name}' names the helper defined at line "
                        f"{helper.statement.lineno} and is assigned here too",
                        construct="a helper name assigned again",
                        hint=f"give the helper or the variable another name than '{name}'")
    _check_calls(tree.body, set(), found, error)
    for helper in found.values():
        _check_enclosing(helper, outer, error)
    _remove(tree, {id(h.statement) for h in found.values()})
    return found


def _blocks(stmts: list[ast.stmt], loops: list[ast.stmt]
            ) -> Iterator[tuple[list[ast.stmt], list[ast.stmt]]]:
    """Every block of statements (the body, branches and loop bodies), with the loops
    around it."""
    yield stmts, loops
    for stmt in stmts:
        if isinstance(stmt, ast.If):
            yield from _blocks(stmt.body, loops)
            yield from _blocks(stmt.orelse, loops)
        elif isinstance(stmt, (ast.For, ast.While)):
            yield from _blocks(stmt.body, [*loops, stmt])
            yield from _blocks(stmt.orelse, loops)


def _definition(stmt: ast.stmt, loops: list[ast.stmt], error: Error) -> Helper | None:
    """The helper ``stmt`` defines (a ``def``, or a lambda assigned to a name), if any."""
    if isinstance(stmt, ast.FunctionDef):
        _check_signature(stmt.name, stmt.args, stmt, error)
        if stmt.decorator_list:
            raise error(stmt.decorator_list[0], f"the helper '{stmt.name}' has a decorator",
                        construct="a decorated nested function",
                        hint=f"remove the decorator: {stmt.name}() is inlined where it is "
                        "called, and the decorator would not run")
        tree = copy.deepcopy(stmt)
        tree.returns = None
        for a in tree.args.posonlyargs + tree.args.args:
            a.annotation = None
    else:
        target = value = None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AnnAssign):
            target, value = stmt.target, stmt.value
        if not (isinstance(target, ast.Name) and isinstance(value, ast.Lambda)):
            return None
        _check_signature(target.id, value.args, value, error)
        body = ast.copy_location(ast.Return(value=copy.deepcopy(value.body)), value)
        tree = ast.copy_location(ast.FunctionDef(
            name=target.id, args=copy.deepcopy(value.args), body=[body], decorator_list=[],
            returns=None, type_comment=None), value)
        if "type_params" in ast.FunctionDef._fields:  # Python 3.12
            tree.type_params = []
        ast.fix_missing_locations(tree)
    helper = Helper(name=tree.name, tree=tree, statement=stmt, loops=list(loops))
    helper.free = _free_names(tree)
    return helper


def _check_signature(name: str, args: ast.arguments, node: ast.AST, error: Error) -> None:
    if args.vararg or args.kwarg:
        raise error(node, f"the helper '{name}' takes *args or **kwargs",
                    construct="a variadic parameter", hint=f"name every parameter of {name}")
    if args.kwonlyargs:
        raise error(node, f"the helper '{name}' has keyword-only parameters",
                    construct="a keyword-only parameter",
                    hint=f"make every parameter of {name} positional")
    for default in args.defaults:
        if not _number(default):
            raise error(default, f"the default value '{ast.unparse(default)}' of the helper "
                        f"'{name}' is not a number", construct="a helper's default value",
                        hint="give it a number as its default, or pass the value at every "
                        "call")


def _number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float, bool)


def _params(tree: ast.FunctionDef) -> set[str]:
    a = tree.args
    return {p.arg for p in [*a.posonlyargs, *a.args]}


def _stored_names(tree: ast.FunctionDef) -> set[str]:
    return {n.id for stmt in tree.body for n in ast.walk(stmt)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}


def _free_names(tree: ast.FunctionDef) -> set[str]:
    """Names the helper reads that are not its parameters or its own variables."""
    own = _params(tree)
    loads = set()
    for stmt in tree.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    loads.add(node.id)
                else:
                    own.add(node.id)
    return loads - own


def _outer_variables(tree: ast.FunctionDef, helpers: dict[str, Helper]
                     ) -> dict[str, list[ast.AST]]:
    """The enclosing function's variables (its parameters and every name it assigns, helper
    bodies left out), each with the nodes that assign it."""
    out: dict[str, list[ast.AST]] = {}
    for a in [*tree.args.posonlyargs, *tree.args.args]:
        out.setdefault(a.arg, []).append(a)
    skip = {id(h.statement) for h in helpers.values()}
    stack: list[ast.AST] = [s for s in reversed(tree.body)]
    while stack:
        node = stack.pop()
        if id(node) in skip or isinstance(node, (ast.FunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            out.setdefault(node.id, []).append(node)
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _check_calls(stmts: list[ast.stmt], scope: set[str], helpers: dict[str, Helper],
                 error: Error) -> None:
    """Every use of a helper's name is a call made after its definition, in its block."""
    scope = set(scope)
    for stmt in stmts:
        helper = next((h for h in helpers.values() if h.statement is stmt), None)
        if helper is not None:
            # its body may call helpers defined before it (and itself: refused as recursion);
            # its own parameters and variables may reuse a helper's name
            own = _params(helper.tree) | (_stored_names(helper.tree) - helper.free)
            visible = {n: h for n, h in helpers.items() if n not in own}
            _check_uses(helper.tree.body, scope | {helper.name}, visible, error)
            scope.add(helper.name)
            continue
        _check_uses(_expressions(stmt), scope, helpers, error)
        for block in _nested_blocks(stmt):
            _check_calls(block, scope, helpers, error)


def _expressions(stmt: ast.stmt) -> list[ast.AST]:
    """The parts of ``stmt`` outside its nested blocks."""
    if isinstance(stmt, (ast.If, ast.While)):
        return [stmt.test]
    if isinstance(stmt, ast.For):
        return [stmt.target, stmt.iter]
    return [stmt]


def _nested_blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, (ast.If, ast.For, ast.While)):
        return [stmt.body, stmt.orelse]
    return []


def _check_uses(nodes: list[ast.AST], scope: set[str], helpers: dict[str, Helper],
                error: Error) -> None:
    for top in nodes:
        called = {id(n.func) for n in ast.walk(top) if isinstance(n, ast.Call)}
        for node in ast.walk(top):
            if not (isinstance(node, ast.Name) and node.id in helpers
                    and isinstance(node.ctx, ast.Load)):
                continue
            helper = helpers[node.id]
            line = helper.statement.lineno
            if id(node) not in called:
                raise error(node, f"the helper '{node.id}' is used as a value; it can only be "
                            "called", construct="a helper used as a value",
                            hint=f"call it here ({node.id}(...)); to pass a function to "
                            "another one, define both at module level")
            if node.id not in scope:
                where = ("before its definition" if node.lineno < line else
                         "outside the block that defines it")
                raise error(node, f"the helper '{node.id}' (line {line}) is called {where}",
                            construct="a helper called before its definition",
                            hint=f"define {node.id}() before its first call, at the top of "
                            "the function body")


def _check_enclosing(helper: Helper, outer: dict[str, list[ast.AST]], error: Error) -> None:
    """A variable of the enclosing function that the helper reads is not assigned after the
    helper's definition (nor anywhere in a loop around it)."""
    end = (helper.statement.end_lineno or helper.statement.lineno,
           helper.statement.end_col_offset or 0)
    for name in sorted(helper.free & set(outer)):
        for node in outer[name]:
            if isinstance(node, ast.arg):
                continue
            position = (node.lineno, node.col_offset)
            in_loop = any(loop.lineno <= node.lineno <= (loop.end_lineno or loop.lineno)
                          for loop in helper.loops)
            if position > end or in_loop:
                raise error(node, f"'{name}' is assigned after the helper '{helper.name}' "
                            f"(line {helper.statement.lineno}) that reads it",
                            construct="a variable a helper reads, assigned after the helper",
                            hint=f"pass '{name}' to {helper.name}() as an argument, or give "
                            f"it its final value before the definition of {helper.name}()")


def _remove(tree: ast.FunctionDef, statements: set[int]) -> None:
    """Drop the helpers' definitions from every block (an emptied block gets ``pass``)."""
    for block, _ in list(_blocks(tree.body, [])):
        kept = [s for s in block if id(s) not in statements]
        if len(kept) != len(block):
            block[:] = kept or [ast.copy_location(ast.Pass(), block[0])]
