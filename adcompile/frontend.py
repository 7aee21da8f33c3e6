"""Front end: from a live Python function to its AST, with every free name resolved.

``parse_function(f)`` reads the source with :mod:`inspect`, parses it with :mod:`ast`, checks once
that every construct is inside the supported subset, and resolves each free name through the
function's closure, globals and builtins to the object it denotes (``import math as m``,
``from math import exp``, module-level float constants, helpers from other modules).
"""

from __future__ import annotations

import ast
import builtins
import inspect
import math
import numbers
import textwrap
import types
from dataclasses import dataclass, field
from typing import Any

from .errors import AdcompileError

#: Constructs outside the subset, with what to do instead.  Everything not listed here and not
#: in ``_ALLOWED`` is rejected with a generic hint.
_REJECTED: dict[type, tuple[str, str]] = {
    ast.Try: ("a 'try' statement", "remove the try/except; check inputs before calling the "
              "gradient, outside the differentiated function"),
    ast.With: ("a 'with' statement", "move the context manager outside the differentiated "
               "function"),
    ast.Yield: ("'yield' (a generator)", "return a single scalar instead of yielding values"),
    ast.YieldFrom: ("'yield from' (a generator)", "return a single scalar instead"),
    ast.Global: ("a 'global' statement", "pass the value in as an argument, or read a "
                 "module-level constant without declaring it global"),
    ast.Nonlocal: ("a 'nonlocal' statement", "pass the value in as an argument and return it"),
    ast.Lambda: ("a lambda", "define a named function at module level and register its "
                 "derivative with adcompile.derivative"),
    ast.JoinedStr: ("an f-string", "remove string formatting from the differentiated function"),
    ast.FunctionDef: ("a nested function definition", "define the helper at module level and "
                      "register its derivative with adcompile.derivative"),
    ast.AsyncFunctionDef: ("an async function", "use a plain function"),
    ast.ClassDef: ("a class definition", "define classes outside the differentiated function"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.Delete: ("a 'del' statement", "remove the del; names need not be deleted"),
    ast.Raise: ("a 'raise' statement", "validate inputs outside the differentiated function"),
    ast.Assert: ("an 'assert' statement", "check inputs outside the differentiated function"),
    ast.ListComp: ("a list comprehension", "write the reduction as explicit arithmetic"),
    ast.SetComp: ("a set comprehension", "use scalar arithmetic"),
    ast.DictComp: ("a dict comprehension", "use scalar arithmetic"),
    ast.GeneratorExp: ("a generator expression", "write the reduction as explicit arithmetic"),
    ast.List: ("a list", "use scalars (arrays arrive in a later version)"),
    ast.Dict: ("a dict", "use scalars"),
    ast.Set: ("a set", "use scalars"),
    ast.Starred: ("star-unpacking", "name each value"),
    ast.NamedExpr: ("an assignment expression (:=)", "assign in a statement of its own"),
    ast.Await: ("'await'", "use a plain function"),
    ast.BitAnd: ("a bitwise operator", "use arithmetic operators"),
    ast.BitOr: ("a bitwise operator", "use arithmetic operators"),
    ast.BitXor: ("a bitwise operator", "use arithmetic operators"),
    ast.LShift: ("a shift operator", "use arithmetic operators"),
    ast.RShift: ("a shift operator", "use arithmetic operators"),
    ast.Invert: ("the '~' operator", "use arithmetic operators"),
    ast.Is: ("'is'", "compare values with == or !="),
    ast.IsNot: ("'is not'", "compare values with == or !="),
    ast.In: ("'in'", "compare values with == or !="),
    ast.NotIn: ("'not in'", "compare values with == or !="),
    ast.Match: ("a 'match' statement", "control flow is not supported yet"),
}

#: Node types inside the supported subset.
_ALLOWED: set[type] = {
    ast.arguments, ast.arg, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr,
    ast.Pass, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name, ast.Constant, ast.Attribute,
    ast.Tuple, ast.Compare, ast.keyword, ast.Load, ast.Store,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv,
    ast.USub, ast.UAdd, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
    ast.If, ast.IfExp, ast.For, ast.While, ast.Break, ast.Continue, ast.BoolOp, ast.And, ast.Or,
    ast.Subscript, ast.Slice, ast.MatMult,
}


@dataclass
class FunctionInfo:
    """A user function as the compiler sees it: source, AST and resolved free names."""

    func: types.FunctionType
    name: str
    filename: str
    source: str
    tree: ast.FunctionDef
    params: list[str]
    #: free name -> the object it denotes (module, function, number, ...)
    bindings: dict[str, Any] = field(default_factory=dict)
    #: every name that appears in the function (parameters, locals, free names)
    names: set[str] = field(default_factory=set)

    def error(self, node: ast.AST | None, message: str, *, construct: str | None = None,
              hint: str | None = None) -> AdcompileError:
        """An ``AdcompileError`` located at ``node`` in the user's file."""
        lineno = getattr(node, "lineno", None) if node is not None else self.tree.lineno
        return AdcompileError(f"in {self.name}(): {message}", filename=self.filename,
                              lineno=lineno, construct=construct, hint=hint)

    def resolve(self, node: ast.expr) -> Any:
        """The object a ``Name``/``Attribute`` chain of free names denotes, or ``None``."""
        if isinstance(node, ast.Name):
            return self.bindings.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is None:
                return None
            return getattr(base, node.attr, None)
        return None


def unwrap(f: Any) -> types.FunctionType:
    """The plain Python function behind ``f`` (a Numba dispatcher is unwrapped)."""
    py_func = getattr(f, "py_func", None)
    if isinstance(py_func, types.FunctionType):
        f = py_func
    if isinstance(f, types.MethodType):
        raise AdcompileError(
            f"cannot differentiate the bound method {f.__qualname__}",
            construct="a method", hint="differentiate a plain module-level function that takes "
            "every value it needs as an argument")
    if not isinstance(f, types.FunctionType):
        raise AdcompileError(
            f"cannot differentiate {f!r}: expected a Python function",
            construct=type(f).__name__, hint="pass a function defined with 'def'")
    return f


def parse_function(f: Any) -> FunctionInfo:
    """Read, parse, check and resolve ``f``. Raises ``AdcompileError`` on anything unsupported."""
    func = unwrap(f)
    code = func.__code__
    filename = code.co_filename
    if func.__name__ == "<lambda>":
        raise AdcompileError(
            "cannot differentiate a lambda", filename=filename, lineno=code.co_firstlineno,
            construct="a lambda", hint="define the function with 'def'")
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError) as exc:
        raise AdcompileError(
            f"cannot read the source of {func.__qualname__} ({exc})", filename=filename,
            lineno=code.co_firstlineno, construct="a function without source",
            hint="define the function in a .py file (or a notebook cell), not with exec() or "
            "at the interactive prompt") from None
    module = ast.parse(source)
    tree = module.body[0]
    if not isinstance(tree, ast.FunctionDef):  # pragma: no cover - getsource gives a def
        raise AdcompileError(f"expected a function definition for {func.__qualname__}",
                             filename=filename)
    ast.increment_lineno(module, code.co_firstlineno - 1)
    tree.decorator_list = []
    info = FunctionInfo(func=func, name=func.__name__, filename=filename, source=source,
                        tree=tree, params=[])
    _check_signature(info)
    _check_subset(info)
    _resolve_free_names(info)
    _lower(info)
    return info


def _lower(info: FunctionInfo) -> None:
    """Rewrite calls Numba cannot compile into equivalents it can: ``math.log(x, b)``
    becomes ``math.log(x) / math.log(b)``."""

    class Lower(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            self.generic_visit(node)
            if (info.resolve(node.func) is math.log and len(node.args) == 2
                    and not node.keywords):
                def log(arg: ast.expr) -> ast.Call:
                    return ast.Call(func=node.func, args=[arg], keywords=[])

                return ast.copy_location(ast.BinOp(left=log(node.args[0]), op=ast.Div(),
                                                   right=log(node.args[1])), node)
            return node

    info.tree = ast.fix_missing_locations(Lower().visit(info.tree))


def _check_signature(info: FunctionInfo) -> None:
    args = info.tree.args
    if args.vararg or args.kwarg:
        raise info.error(info.tree, "*args/**kwargs parameters are not supported",
                         construct="a variadic parameter", hint="name every parameter")
    if args.kwonlyargs:
        raise info.error(info.tree, "keyword-only parameters are not supported",
                         construct="a keyword-only parameter",
                         hint="make every parameter positional")
    info.params = [a.arg for a in args.posonlyargs + args.args]
    for a in args.posonlyargs + args.args:
        a.annotation = None
    info.tree.returns = None


def _check_subset(info: FunctionInfo) -> None:
    body = info.tree.body
    for stmt in body:
        _check_node(info, stmt, stmt, body)
    returns = [n for n in ast.walk(info.tree) if isinstance(n, ast.Return)]
    if not body or not isinstance(body[-1], ast.Return):
        node = returns[-1] if returns else info.tree
        raise info.error(node, "the function must end with 'return <scalar>'",
                         construct="return", hint="return the loss as the last statement "
                         "(early returns before it are fine)")
    for ret in returns:
        if ret.value is None or isinstance(ret.value, ast.Tuple):
            raise info.error(ret, "the function must return one scalar (the loss)",
                             construct="return", hint="return a single number; "
                             "differentiate each output separately if you need several")


def _check_node(info: FunctionInfo, node: ast.AST, located: ast.AST,
                body: list[ast.stmt]) -> None:
    """Check ``node`` and its children; ``located`` is the nearest node with a line number
    (operators have none)."""
    if hasattr(node, "lineno"):
        located = node
    kind = type(node)
    if kind in _REJECTED:
        construct, hint = _REJECTED[kind]
        raise info.error(located, f"{construct} is not supported in differentiated code",
                         construct=construct, hint=hint)
    if kind not in _ALLOWED:
        construct = f"'{kind.__name__}'"
        raise info.error(located, f"the construct {construct} is not supported",
                         construct=construct,
                         hint="rewrite it with assignments, arithmetic and math calls")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool,
                                                                       type(None))):
        if not (isinstance(node.value, str) and _is_docstring(node, body)):
            what = "a string" if isinstance(node.value, (str, bytes)) else repr(node.value)
            raise info.error(located, f"{what} is not supported in differentiated code",
                             construct="a string" if isinstance(node.value, str) else what,
                             hint="differentiated code works on numbers; remove string work")
    _check_structure(info, node)
    if (isinstance(node, ast.Expr) and not _is_docstring(node.value, body)
            and type(node.value) not in _REJECTED):
        raise info.error(node, "an expression statement has no effect on the result",
                         construct="an expression statement",
                         hint="assign the value to a name or remove the statement")
    for child in ast.iter_child_nodes(node):
        _check_node(info, child, located, body)


def _check_structure(info: FunctionInfo, node: ast.AST) -> None:
    """Loops over ``range`` only, no ``else`` on loops, no stores into arrays."""
    if isinstance(node, ast.For):
        it = node.iter
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and info.func.__globals__.get(it.func.id, builtins.range) is builtins.range
                and it.func.id == "range" and 1 <= len(it.args) <= 3 and not it.keywords):
            raise info.error(node, f"iterating over '{ast.unparse(it)}' is not supported",
                             construct="a for loop over an object",
                             hint="loop over indices: for i in range(len(x)): ... x[i] ...")
        if not isinstance(node.target, ast.Name):
            raise info.error(node, "a for loop must bind one name", construct="a loop target",
                             hint="write for i in range(...):")
    if isinstance(node, (ast.For, ast.While)) and node.orelse:
        raise info.error(node.orelse[0], "'else' on a loop is not supported",
                         construct="a loop else clause", hint="use a flag set before 'break'")


def _is_docstring(node: ast.AST, body: list[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (isinstance(first, ast.Expr) and (node is first or node is first.value)
            and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str))


def _resolve_free_names(info: FunctionInfo) -> None:
    func = info.func
    local: set[str] = set(info.params)
    loaded: dict[str, ast.Name] = {}
    for node in ast.walk(info.tree):
        if isinstance(node, ast.Name):
            info.names.add(node.id)
            if isinstance(node.ctx, ast.Store):
                local.add(node.id)
            else:
                loaded.setdefault(node.id, node)
    info.names.update(info.params)
    closure = {}
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__, strict=True):
            try:
                closure[name] = cell.cell_contents
            except ValueError:  # empty cell
                pass
    for name, node in sorted(loaded.items()):
        if name in local:
            continue
        if name in closure:
            value = closure[name]
        elif name in func.__globals__:
            value = func.__globals__[name]
        elif hasattr(builtins, name):
            value = getattr(builtins, name)
        else:
            raise info.error(node, f"name '{name}' is not defined", construct="an unknown name",
                             hint="define it at module level or pass it as an argument")
        _check_binding(info, name, value, node)
        info.bindings[name] = value


def _check_binding(info: FunctionInfo, name: str, value: Any, node: ast.Name) -> None:
    if isinstance(value, (types.ModuleType, bool)) or callable(value):
        return
    if isinstance(value, numbers.Real):
        return
    raise info.error(node, f"the free name '{name}' refers to a {type(value).__name__}, which "
                     "differentiated code cannot read", construct="a non-numeric global",
                     hint=f"pass '{name}' in as an argument")
