"""Front end: from a live Python function to its AST, with every free name resolved.

``parse_function(f)`` reads the source with :mod:`inspect`, parses it with :mod:`ast`, checks once
that every construct is inside the supported subset, and resolves each free name through the
function's closure, globals and builtins to the object it denotes (``import math as m``,
``from math import exp``, module-level float constants, helpers from other modules).
"""

from __future__ import annotations
import __future__

import ast
import builtins
import copy
import dis
import inspect
import math
import numbers
import sys
import textwrap
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy

from . import conditionals, keyed, raises, scopes
from .errors import AdcompileError
from .inplace import inline_in_place_helpers
from .products import nests_of_products
from .trees import copy_tree, depth, fix_locations, preorder, replace_node, transform

_LOGICAL = ("combine conditions with 'and' / 'or' (numbers) or with np.logical_and / "
            "np.logical_or (arrays)")

#: Constructs outside the subset, with what to do instead.  Everything not listed here and not
#: in ``_ALLOWED`` is rejected with a generic hint.
_REJECTED: dict[type, tuple[str, str]] = {
    ast.Try: ("a 'try' statement", "remove the try/except; check inputs before calling the "
              "gradient, outside the differentiated function"),
    ast.With: ("a 'with' statement", "move the context manager outside the differentiated "
               "function (with np.errstate(...): is accepted: it changes no value)"),
    ast.Yield: ("'yield' (a generator)", "return a single scalar instead of yielding values"),
    ast.YieldFrom: ("'yield from' (a generator)", "return a single scalar instead"),
    ast.Global: ("a 'global' statement", "pass the value in as an argument, or read the "
                 "module-level number or array without declaring it global (it is read as a "
                 "constant)"),
    ast.Nonlocal: ("a 'nonlocal' statement", "pass the value in as an argument, or read the "
                   "enclosing function's number or array without declaring it nonlocal (it is "
                   "read as a constant)"),
    ast.Lambda: ("a lambda that is not assigned to a name", "assign it to a name first "
                 "(sq = lambda z: z * z) and call it by that name, or define the function with "
                 "'def'"),
    ast.JoinedStr: ("an f-string", "remove string formatting from the differentiated function"),
    ast.FunctionDef: ("a function defined inside a helper", "define every helper directly "
                      "in the body of the differentiated function (helpers may call the "
                      "helpers defined before them), or at module level"),
    ast.AsyncFunctionDef: ("an async function", "use a plain function"),
    ast.ClassDef: ("a class definition", "define classes outside the differentiated function"),
    ast.Import: ("an import inside the function", "import at module level"),
    ast.ImportFrom: ("an import inside the function", "import at module level"),
    ast.Delete: ("a 'del' statement of an element or an attribute",
                 "build a new array without it (np.delete) or keep the value; 'del' of "
                 "names is dropped"),
    ast.Raise: ("a 'raise' statement", "validate inputs outside the differentiated function"),
    ast.ListComp: ("a list comprehension", "sum(...) of one works, and np.array(...) of one "
                   "with one 'for' and numbers as items; otherwise fill an array "
                   "in a loop (y = np.zeros(n), then for i in range(n): y[i] = ...) or compute "
                   "on whole arrays (np.sin(x) * 2.0)"),
    ast.SetComp: ("a set comprehension", "fill an array in a loop (y = np.zeros(n), then "
                  "for i in range(n): y[i] = ...)"),
    ast.DictComp: ("a dict comprehension", "keep the values in an array or in names of their "
                   "own"),
    ast.GeneratorExp: ("a generator expression", "sum(...), max(...), min(...), any(...) "
                       "and all(...) of one work; for anything else "
                       "write the loop (m = x[0], then for v in x: m = max(m, v)) or work on "
                       "whole arrays (np.max(x * y))"),
    ast.List: ("a list", "pass the values in as a NumPy array (np.array([...]) at the call), "
               "make one here with np.array([a, b]) or with np.zeros(n) filled by index "
               "(y[i] = ...), or use a tuple (a, b); a list filled by one L.append(e) per "
               "iteration of a for loop over a range (or of one inner loop over a range "
               "whose bounds the outer loop does not assign), and read after it only whole "
               "(np.array(L), len(L), sum(L), np.mean(L)), works"),
    ast.Dict: ("a dict", "pass each value as a parameter of its own (a float or an array), or "
               "several together as a tuple"),
    ast.Set: ("a set", "use a tuple (a, b) or an array (np.array([a, b]))"),
    ast.Starred: ("star-unpacking", "name each value (h(*args) works for a function of "
                  "your own and a tuple args)"),
    ast.NamedExpr: ("an assignment expression (:=)", "assign in a statement of its own "
                    "(err = abs(x - y) before the loop and again at the end of its body, then "
                    "while err > tol:); := works as the first thing a while or if test "
                    "evaluates"),
    ast.Await: ("'await'", "use a plain function"),
    ast.BitAnd: ("a bitwise operator", _LOGICAL),
    ast.BitOr: ("a bitwise operator", _LOGICAL),
    ast.BitXor: ("a bitwise operator", "compare the conditions: (a > 0) != (b > 0)"),
    ast.LShift: ("a shift operator", "multiply by a power of two: int(x * 2 ** k)"),
    ast.RShift: ("a shift operator", "divide by a power of two: int(x // 2 ** k)"),
    ast.Invert: ("the '~' operator", "use 'not' for a number, np.logical_not(m) for an array"),
    ast.Is: ("'is'", "compare values with == or !="),
    ast.IsNot: ("'is not'", "compare values with == or !="),
    ast.In: ("'in'", "compare values with == or !="),
    ast.NotIn: ("'not in'", "compare values with == or !="),
    ast.Match: ("a 'match' statement", "write it with if/elif/else"),
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
    #: how tuple parameters were flattened into leaves (``structure.Structure``), if any
    structure: Any = None
    #: free names bound to a list or tuple of numbers (read as a constant array)
    sequences: dict[str, str] = field(default_factory=dict)
    #: what makes the generated module differ from the one of the function as written
    #: (``checkpoints=N``, the shard function of ``parallel=True``); part of the cache key
    variant: str = ""
    #: user functions whose calls were replaced by their bodies (``inplace``): their sources
    #: are part of the cache key, as a called function's are through ``bindings``
    inlined: list[Any] = field(default_factory=list)

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


def is_generated(func: object) -> bool:
    """Whether ``func`` is adcompile's own generated code (a gradient, or the gradient's
    helper of a called function), differentiated again by ``jacobian(grad(f))`` or
    ``jvp(grad(f))``."""
    module = getattr(func, "__module__", None) or ""
    return module.startswith("_adcompile_") and not module.startswith("_adcompile_cli_")


def _copy_written_adjoints(info: FunctionInfo) -> None:
    """A gradient's helper adds into the adjoint arrays its caller passes (``d_x[i] += g``)
    and returns them, and the caller rebinds them (``d_x = grad_h(x, d_h, d_x)``); to
    differentiate it again, it adds into a copy instead (``d_x = d_x.copy()`` first), which
    gives the caller the same values without writing into its argument."""
    if not is_generated(info.func):
        return
    params = {a.arg for a in info.tree.args.args}
    written = sorted({t.value.id for node in ast.walk(info.tree)
                      if isinstance(node, (ast.Assign, ast.AugAssign))
                      for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
                      if isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name)
                      and t.value.id in params})
    line = info.tree.body[0].lineno if info.tree.body else info.tree.lineno
    copies = [ast.parse(f"{p} = {p}.copy()").body[0] for p in written]
    for stmt in copies:
        ast.increment_lineno(stmt, line - 1)
    info.tree.body[:0] = copies


def parse_function(f: Any, tuple_result: bool = False,
                   prepare: Callable[[ast.FunctionDef], ast.FunctionDef] | None = None
                   ) -> FunctionInfo:
    """Read, parse, check and resolve ``f``. Raises ``AdcompileError`` on anything unsupported.
    With ``tuple_result`` the function may return a tuple (a helper whose call is inlined).
    ``prepare`` rewrites the tree before it is checked (the literal options of a library
    function's definition, substituted and decided: ``rules.composite``)."""
    func = unwrap(f)
    local = getattr(func, LOCAL, None)
    if local is not None:  # a helper defined inside the differentiated function
        return local.info()
    code = func.__code__
    filename = code.co_filename
    if func.__name__ == "<lambda>":
        raise AdcompileError(
            "cannot differentiate a lambda", filename=filename, lineno=code.co_firstlineno,
            construct="a lambda", hint="define the function with 'def'")
    func = _undecorated(func)
    code = func.__code__
    filename = code.co_filename
    try:
        # the code object, not the function: inspect would follow __wrapped__
        source = textwrap.dedent(inspect.getsource(code))
    except (OSError, TypeError) as exc:
        raise AdcompileError(
            f"cannot read the source of {func.__qualname__} ({exc})", filename=filename,
            lineno=code.co_firstlineno, construct="a function without source",
            hint="define the function in a .py file (or a notebook cell), not with exec() or "
            "at the interactive prompt; if its file was edited since it was imported, reload "
            "the module or restart Python") from None
    module = _verified_source(func, source)
    tree = module.body[0]
    assert isinstance(tree, ast.FunctionDef)
    ast.increment_lineno(module, code.co_firstlineno - 1)
    tree.decorator_list = []
    info = FunctionInfo(func=func, name=func.__name__, filename=filename, source=source,
                        tree=tree, params=[])
    info.tree.filename = filename  # for errors of later passes (desugar)
    _check_signature(info)
    if prepare is not None:
        info.tree = prepare(info.tree)
    keyed.lower(info.tree, lambda name: _early_resolve(info, _load(name)) is getattr(
        builtins, name), _fresh_names(info), info.error)
    if prepare is None:  # (a library definition refuses options by raise: normalize.refusal)
        _raises_as_calls(info)
    _drop_no_ops(info.tree)
    inline_in_place_helpers(info)
    nests_of_products(info)
    _copy_written_adjoints(info)
    _loop_else_as_flags(info)
    _plain_zeros(info)
    helpers = scopes.extract(info.tree, info.error)
    locals_ = {name: _helper_info(info, helper) for name, helper in helpers.items()}
    _filled_lists_as_arrays(info)
    _comprehensions_as_appends(info)
    _lists_as_arrays(info)
    _sorted_comprehensions(info)
    _sorts_in_place(info)
    _sums_as_loops(info)
    _errstate_blocks(info)
    _fills_as_stores(info)
    _concatenations(info)
    _transposing_zips(info)
    _assignment_expressions(info.tree)
    conditionals.lift(info.tree, lambda func: _early_resolve(info, func))
    _check_subset(info, tuple_result)
    _resolve_free_names(info, locals_)
    _lower(info)
    return info


def _undecorated(func: types.FunctionType) -> types.FunctionType:
    """The function whose source, globals and closure describe what ``func`` computes.

    A decorator that uses ``functools.wraps`` leaves ``__wrapped__`` on its wrapper, and
    :mod:`inspect` then reads the inner function's source although the wrapper is what runs.
    A wrapper that provably only forwards its arguments (``return fn(*args, **kwargs)``) is
    looked through; any other one is refused, since its own code would be silently dropped.
    """
    inner = getattr(func, "__wrapped__", None)
    if inner is None:
        return func
    target = getattr(inner, "py_func", inner)
    if not _forwards_to(func, inner):
        code = getattr(target, "__code__", func.__code__)
        raise AdcompileError(
            f"{func.__qualname__} is wrapped by a decorator whose own code would be ignored: "
            "the wrapper, not the source of the decorated function, is what runs",
            filename=code.co_filename, lineno=code.co_firstlineno,
            construct="a decorated function",
            hint=f"differentiate the undecorated function ({func.__name__}.__wrapped__, or "
            "define it without the decorator) and apply what the decorator does outside, or "
            "write it into the function")
    return _undecorated(unwrap(inner))


def _forwards_to(wrapper: types.FunctionType, inner: Any) -> bool:
    """Whether ``wrapper`` is exactly ``def w(*args, **kwargs): return inner(*args, **kwargs)``
    (an optional docstring aside), checked on its source verified against its code."""
    try:
        source = textwrap.dedent(inspect.getsource(wrapper.__code__))
        tree = _verified_source(wrapper, source).body[0]
    except (AdcompileError, OSError, TypeError):
        return False
    assert isinstance(tree, ast.FunctionDef)
    args = tree.args
    if args.posonlyargs or args.args or args.kwonlyargs or args.vararg is None:
        return False
    body = tree.body[1:] if _is_docstring(tree.body[0], tree.body) else tree.body
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return False
    call = body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and len(call.args) == 1 and isinstance(call.args[0], ast.Starred)
            and isinstance(call.args[0].value, ast.Name)
            and call.args[0].value.id == args.vararg.arg):
        return False
    if args.kwarg is None:
        if call.keywords:
            return False
    elif not (len(call.keywords) == 1 and call.keywords[0].arg is None
              and isinstance(call.keywords[0].value, ast.Name)
              and call.keywords[0].value.id == args.kwarg.arg):
        return False
    callee = call.func.id
    code = wrapper.__code__
    if callee in code.co_freevars:
        cell = wrapper.__closure__[code.co_freevars.index(callee)]  # type: ignore[index]
        try:
            target = cell.cell_contents
        except ValueError:
            return False
    elif callee in wrapper.__globals__:
        target = wrapper.__globals__[callee]
    else:
        return False
    return target is inner


def _verified_source(func: types.FunctionType, source: str) -> ast.Module:
    """``source`` parsed, once it is known to be the source of ``func``'s code.

    :mod:`inspect` reads the file as it is now, at the line the function started on when it
    was imported; if the file was edited since, that may be other code.  The ``def`` must
    have the function's name and parameters, and compiled in the same setting (closure
    variables, class, ``__future__`` flags) it must give the same code: bytecode, constants
    and names, recursively; line numbers may differ.
    """
    code = func.__code__

    def changed(detail: str) -> AdcompileError:
        return AdcompileError(
            f"the source file of {func.__qualname__} changed since it was imported: {detail}",
            filename=code.co_filename, lineno=code.co_firstlineno,
            construct="a source file edited after import",
            hint="reload the module (importlib.reload) or restart Python, then call "
            "adcompile again")

    try:
        module = ast.parse(source)
    except SyntaxError:
        module = None
    except (RecursionError, MemoryError):
        raise _too_deep(func) from None
    tree = module.body[0] if module is not None and module.body else None
    if not isinstance(tree, ast.FunctionDef):
        raise changed(f"line {code.co_firstlineno} no longer starts its definition")
    if tree.name != code.co_name:  # functools.wraps renames the function, not its code
        raise changed(f"line {code.co_firstlineno} now defines {tree.name}()")
    a = tree.args
    params = tuple(p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs])
    params += tuple(p.arg for p in (a.vararg, a.kwarg) if p is not None)
    n_params = (code.co_argcount + code.co_kwonlyargcount
                + bool(code.co_flags & inspect.CO_VARARGS)
                + bool(code.co_flags & inspect.CO_VARKEYWORDS))
    if params != code.co_varnames[:n_params] and not _mangled(func):
        raise changed(f"its parameters are now ({', '.join(params)})")
    compiled = _compile_like(func, tree)
    rewritten = any(isinstance(n, ast.Assert) for n in ast.walk(tree))
    if (compiled is None or not _same_code(compiled, code)) and not rewritten:
        # (pytest rewrites assert statements; a function with one is refused anyway)
        raise changed("its body is not the code that runs")
    return module


def _qualname(func: types.FunctionType) -> str:
    """The qualified name of the code (``functools.wraps`` copies the function's)."""
    return getattr(func.__code__, "co_qualname", func.__qualname__)


def _mangled(func: types.FunctionType) -> bool:
    parts = _qualname(func).split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


def _compile_like(func: types.FunctionType, tree: ast.FunctionDef) -> types.CodeType | None:
    """The code object ``tree`` compiles to where ``func`` was defined, or ``None``."""
    fn = copy.copy(tree)
    fn.decorator_list = []
    node: ast.stmt = fn
    parts = _qualname(func).split(".")
    in_class = _mangled(func)
    if in_class:  # private names are mangled with the class name
        node = ast.parse(f"class {parts[-2]}:\n    pass").body[0]
        node.body = [fn]  # type: ignore[attr-defined]
    free = [v for v in func.__code__.co_freevars if not (in_class and v == "__class__")]
    if free:  # the same closure variables, bound in an enclosing function
        cells: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=v, ctx=ast.Store())],
                                            value=ast.Constant(value=None)) for v in free]
        enclosing = ast.parse("def _adcompile_enclosing():\n    pass").body[0]
        enclosing.body = [*cells, node]  # type: ignore[attr-defined]
        node = enclosing
    module = fix_locations(ast.Module(body=[node], type_ignores=[]))
    flags = func.__code__.co_flags & _FUTURE_FLAGS
    # compiling an AST (not text) is limited by the recursion limit: a sum of a thousand
    # terms that Python itself compiled from text needs more room here
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(max(limit, 4 * depth(module) + 1000))
        top = compile(module, func.__code__.co_filename, "exec", flags=flags,
                      dont_inherit=True)
    except (SyntaxError, ValueError, TypeError):
        return None
    except (RecursionError, MemoryError):
        raise _too_deep(func) from None
    finally:
        sys.setrecursionlimit(limit)
    path = [*(["_adcompile_enclosing"] if free else []), *(parts[-2:-1] if in_class else []),
            tree.name]
    code: types.CodeType | None = top
    for name in path:  # module -> enclosing function -> class -> the function
        code = next((c for c in code.co_consts  # type: ignore[union-attr]
                     if isinstance(c, types.CodeType) and c.co_name == name), None)
        if code is None:
            return None
    return code


def _too_deep(func: types.FunctionType) -> AdcompileError:
    return AdcompileError(
        f"an expression in {func.__qualname__} is nested too deeply for Python's compiler",
        filename=func.__code__.co_filename, lineno=func.__code__.co_firstlineno,
        construct="a deeply nested expression",
        hint="split it into statements: s = a + b; s = s + c; ...")


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Whether two code objects compute the same thing (positions aside)."""
    attrs = ("co_names", "co_varnames", "co_freevars", "co_cellvars", "co_argcount",
             "co_posonlyargcount", "co_kwonlyargcount", "co_name")
    if any(getattr(a, n) != getattr(b, n) for n in attrs):
        return False
    if a.co_code != b.co_code and _instructions(a) != _instructions(b):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts, strict=True):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y):
            return False
        elif isinstance(x, frozenset):
            if x != y:
                return False
        elif repr(x) != repr(y):
            return False
    return True


def _instructions(code: types.CodeType) -> list[tuple[str, Any]]:
    """The instructions of ``code`` with what depends on the compiling context left out.

    Whether ``m.f(x)`` compiles to a method load depends on whether the module imports ``m``,
    which the compiled ``def`` alone cannot know: both forms read the same names and call the
    same thing, so they compare equal.  The method form is longer, so jumps compare by target
    instruction, not offset, and the prefixes (``EXTENDED_ARG``) of large offsets are left out.
    """
    every = list(dis.get_instructions(code))
    # (PUSH_NULL: the calling convention of a call, which follows the same method load)
    skipped = ("EXTENDED_ARG", "NOP", "PUSH_NULL")
    listed = [inst for inst in every if inst.opname not in skipped]
    index: dict[int, int] = {}
    k = len(listed)
    for inst in reversed(every):  # a jump to a prefix lands on the instruction it prefixes
        if inst.opname not in skipped:
            k -= 1
        index[inst.offset] = k
    out: list[tuple[str, Any]] = []
    for inst in listed:
        name, arg = inst.opname, inst.arg
        if name == "LOAD_METHOD":
            name = "LOAD_ATTR"
        if name in ("LOAD_GLOBAL", "LOAD_ATTR"):
            arg = inst.argval  # the name: low bits of the argument flag a NULL or a method
        if inst.opcode in _JUMPS:
            arg = index.get(inst.argval, inst.argval)
        out.append((name, arg))
    return out


_JUMPS = set(dis.hasjrel) | set(dis.hasjabs)
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def _lower(info: FunctionInfo) -> None:
    """Rewrite calls Numba cannot compile into equivalents it can: ``math.log(x, b)``
    becomes ``math.log(x) / math.log(b)``, ``np.array(WEIGHTS)`` of a module-level list of
    numbers (an array already) ``WEIGHTS.copy()``, ``x[...]`` (every element of an array of
    rank 1 or more, which Numba does not index by a lone Ellipsis) ``x[:]``, ``np.where(c)``
    of one argument ``np.nonzero(c)``, and ``x[np.nonzero(m)]`` (a tuple of index arrays, which
    Numba does not index by) the mask ``x[m]``."""

    def nonzero_of(node: ast.AST) -> ast.expr | None:
        """``m`` of ``np.nonzero(m)`` or ``np.where(m)``."""
        if (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and not isinstance(node.args[0], ast.Starred)
                and info.resolve(node.func) in (numpy.nonzero, numpy.where)):
            return node.args[0]
        return None

    def lower(node: ast.AST) -> ast.AST:
        if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                and node.slice.value is Ellipsis):
            node.slice = ast.copy_location(ast.Slice(), node.slice)
            return node
        if isinstance(node, ast.Subscript) and (mask := nonzero_of(node.slice)) is not None:
            node.slice = mask
            return node
        if (nonzero_of(node) is not None and isinstance(node.func, ast.Attribute)
                and node.func.attr == "where"):
            node.func.attr = "nonzero"
            return node
        if (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Name) and node.args[0].id in info.sequences
                and info.resolve(node.func) in (numpy.array, numpy.asarray)):
            copied = ast.Attribute(value=node.args[0], attr="copy", ctx=ast.Load())
            return ast.copy_location(ast.Call(func=copied, args=[], keywords=[]), node)
        if not (isinstance(node, ast.Call) and info.resolve(node.func) is math.log
                and len(node.args) == 2 and not node.keywords):
            return node

        def log(arg: ast.expr) -> ast.Call:
            return ast.Call(func=node.func, args=[arg], keywords=[])

        return ast.copy_location(ast.BinOp(left=log(node.args[0]), op=ast.Div(),
                                           right=log(node.args[1])), node)

    # without recursion: a sum of thousands of terms is a chain of thousands of nodes
    info.tree = fix_locations(transform(info.tree, lower))


def _check_signature(info: FunctionInfo) -> None:
    args = info.tree.args
    if args.vararg or args.kwarg:
        raise info.error(info.tree, "*args/**kwargs parameters are not supported",
                         construct="a variadic parameter", hint="name every parameter")
    if args.kwonlyargs:
        # def f(x, *, scale=1.0): generated as def grad_f(x, scale=1.0) (Numba takes no
        # keyword-only parameter), called by keyword as the user's function is
        given = len(args.posonlyargs + args.args) - len(args.defaults)
        has = [k >= given for k in range(len(args.posonlyargs + args.args))] + [
            d is not None for d in args.kw_defaults]
        if has != sorted(has):
            raise info.error(info.tree, "a keyword-only parameter without a default follows "
                             "a parameter with one", construct="a keyword-only parameter",
                             hint="give every keyword-only parameter after a default one a "
                             "default too, or make it positional")
        args.args = [*args.args, *args.kwonlyargs]
        args.defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        args.kwonlyargs, args.kw_defaults = [], []
    info.params = [a.arg for a in args.posonlyargs + args.args]
    for a in args.posonlyargs + args.args:
        a.annotation = None
    info.tree.returns = None


def _sums_as_loops(info: FunctionInfo) -> None:
    """``sum(e for v in x if c)`` and ``sum([e for i in range(n)])`` (also ``math.fsum``,
    ``max``, ``min``, ``any``, ``all``) as the loop they mean, written before the statement
    that uses the sum: ``total = 0.0; for v in x: if c: total = total + e`` (``found =
    False; for v in x: if e: found = True`` for ``any``); and ``np.array([e for v in x])``
    (``np.asarray``, ``np.stack``: one generator, no condition, numbers as elements) as the
    loop that fills an array: ``n = len(x); out = np.zeros(n); for k in range(n): v = x[k];
    out[k] = e`` (over ``range(a, b, c)``: ``v = a + k * c``).  The comprehension's variables
    get names of their own (they do not leak into the function, as in Python)."""
    fresh = _fresh_names(info)

    def is_sum(node: ast.AST) -> bool:
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))):
            return False
        func = node.func
        if isinstance(func, ast.Name):  # max(e for ...), min(...): the running extremum
            return (func.id in ("sum", "max", "min", "any", "all")
                    and func.id not in info.func.__globals__)
        return (isinstance(func, ast.Attribute) and func.attr == "fsum"
                and isinstance(func.value, ast.Name) and func.value.id == "math")

    def is_array(node: ast.AST) -> bool:
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.ListComp)):
            return False
        comp, func = node.args[0], node.func
        return (len(comp.generators) == 1 and not comp.generators[0].ifs
                and isinstance(comp.generators[0].target, ast.Name)
                and not comp.generators[0].is_async
                and isinstance(func, ast.Attribute) and func.attr in ("array", "asarray", "stack")
                and isinstance(func.value, ast.Name)
                and info.func.__globals__.get(func.value.id) is numpy
                and (_range_args(comp.generators[0].iter) is not None
                     or isinstance(comp.generators[0].iter, (ast.Name, ast.Attribute,
                                                             ast.Subscript))))

    def lowered_sum(call: ast.Call) -> tuple[list[ast.stmt], str]:
        comp = call.args[0]
        which = call.func.id if isinstance(call.func, ast.Name) else "sum"
        total = fresh({"sum": "total", "any": "found", "all": "every"}.get(which,
                                                                         f"{which}imum"))
        renamed = renamer(comp)
        update: ast.expr = ast.BinOp(left=ast.Name(id=total, ctx=ast.Load()), op=ast.Add(),
                                     right=renamed(comp.elt))
        first: ast.expr = ast.Constant(value=0.0)
        if which in ("max", "min"):  # from -inf (inf): no item leaves it there (Python raises)
            update = _call(which, _load(total), renamed(comp.elt))
            first = _call("float", ast.Constant(value="-inf" if which == "max" else "inf"))
        inner: list[ast.stmt] = [ast.Assign(targets=[ast.Name(id=total, ctx=ast.Store())],
                                            value=update)]
        if which in ("any", "all"):  # a flag, set where an item is true (any) or false (all)
            first = ast.Constant(value=which == "all")
            test = renamed(comp.elt)
            inner = [ast.If(test=test if which == "any" else ast.UnaryOp(op=ast.Not(),
                                                                          operand=test),
                            body=[_assign(total, ast.Constant(value=which == "any"))],
                            orelse=[])]
        for gen in reversed(comp.generators):
            if gen.is_async:
                raise info.error(call, "an async comprehension is not supported",
                                 construct="async", hint="write the loop")
            for cond in reversed(gen.ifs):
                inner = [ast.If(test=renamed(cond), body=inner, orelse=[])]
            inner = [ast.For(target=renamed(gen.target), iter=renamed(gen.iter), body=inner,
                             orelse=[])]
        # the iterables are read where Python reads them: the first one outside the renames
        inner[0].iter = copy.deepcopy(comp.generators[0].iter)
        start = ast.Assign(targets=[ast.Name(id=total, ctx=ast.Store())], value=first)
        return located([start, *inner], call), total

    def lowered_array(call: ast.Call) -> tuple[list[ast.stmt], str]:
        comp = call.args[0]
        gen = comp.generators[0]
        renamed = renamer(comp)
        out, n, k = fresh("array"), fresh("n"), fresh("k")
        pre: list[ast.stmt] = []
        bounds = _range_args(gen.iter)
        if bounds is None:  # an array (or another sequence of numbers): its k-th item
            items = fresh("items")
            pre.append(_assign(items, copy.deepcopy(gen.iter)))
            pre.append(_assign(n, _call("len", _load(items))))
            item: ast.expr = ast.Subscript(value=_load(items), slice=_load(k), ctx=ast.Load())
        else:  # range(a, b, c): a + k * c, its bounds read once, before the loop
            names = [fresh("start"), fresh("stop"), fresh("step")][:len(bounds)]
            if len(bounds) == 1:
                names = [fresh("stop")]
            pre.extend(_assign(name, copy.deepcopy(b)) for name, b in zip(names, bounds,
                                                                          strict=True))
            pre.append(_assign(n, ast.parse(_trip_count(names, bounds), mode="eval").body))
            item = _load(k)
            if len(bounds) == 3:
                item = ast.BinOp(left=item, op=ast.Mult(), right=_load(names[2]))
            if len(bounds) >= 2:
                item = ast.BinOp(left=_load(names[0]), op=ast.Add(), right=item)
        module = call.func.value.id  # the name numpy goes by here
        pre.append(_assign(out, ast.Call(
            func=ast.Attribute(value=_load(module), attr="zeros", ctx=ast.Load()),
            args=[_load(n)], keywords=[])))
        body = [_assign(renamed(gen.target).id, item),
                ast.Assign(targets=[ast.Subscript(value=_load(out), slice=_load(k),
                                                  ctx=ast.Store())],
                           value=_call("float", renamed(comp.elt)))]
        pre.append(ast.For(target=ast.Name(id=k, ctx=ast.Store()),
                           iter=_call("range", _load(n)), body=body, orelse=[]))
        return located(pre, call), out

    def renamer(comp: ast.AST) -> Callable[[ast.AST], Any]:
        renames: dict[str, str] = {}
        for gen in comp.generators:
            for n in ast.walk(gen.target):
                if isinstance(n, ast.Name):
                    renames.setdefault(n.id, fresh(n.id))

        def renamed(node: ast.AST) -> Any:
            node = copy.deepcopy(node)
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and n.id in renames:
                    n.id = renames[n.id]
            return node
        return renamed

    def located(stmts: list[ast.stmt], call: ast.Call) -> list[ast.stmt]:
        for stmt in stmts:
            ast.copy_location(stmt, call)
            ast.fix_missing_locations(stmt)
            for n in ast.walk(stmt):
                if hasattr(n, "lineno"):
                    n.lineno = call.lineno
        return stmts

    def is_lowered(node: ast.AST) -> bool:
        return is_sum(node) or is_array(node)

    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            for part in ("body", "orelse"):
                inner = getattr(stmt, part, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    setattr(stmt, part, block(inner))
            # the statement, or the test of an if (if any(v > c for v in x):)
            root = stmt.test if isinstance(stmt, ast.If) else stmt
            if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr, ast.If)):
                found = [n for n in ast.walk(root) if is_lowered(n)]
                for call in reversed(found):  # innermost first: a sum inside a sum's body
                    if any(call is n for n in ast.walk(root)) and not any(
                            is_lowered(m) and m is not call
                            and any(call is k for k in ast.walk(m)) for m in ast.walk(root)):
                        pre, total = lowered_sum(call) if is_sum(call) else lowered_array(call)
                        out.extend(pre)
                        replace_node(stmt, call, ast.copy_location(
                            ast.Name(id=total, ctx=ast.Load()), call))
            out.append(stmt)
        return out

    info.tree.body = block(info.tree.body)


def _trip_count(names: list[str], bounds: list[ast.expr]) -> str:
    """``len(range(*names))`` as arithmetic (Numba has no ``len`` of a range here), simpler
    when the step is a literal."""
    if len(names) == 1:
        return f"max(0, {names[0]})"
    start, stop = names[:2]
    if len(names) == 2:
        return f"max(0, {stop} - {start})"
    step = names[2]
    literal = bounds[2]
    sign = None
    if isinstance(literal, ast.Constant) and isinstance(literal.value, int):
        sign = 1 if literal.value > 0 else -1
    elif (isinstance(literal, ast.UnaryOp) and isinstance(literal.op, ast.USub)
          and isinstance(literal.operand, ast.Constant)
          and isinstance(literal.operand.value, int)):
        sign = -1 if literal.operand.value > 0 else 1
    if sign is not None:
        return f"max(0, ({stop} - {start} + {step} {'-' if sign > 0 else '+'} 1) // {step})"
    return f"max(0, ({stop} - {start} + {step} - (1 if {step} > 0 else -1)) // {step})"


_LIST_READS = {("np", "array"): "rows", ("np", "asarray"): "rows", ("np", "stack"): "rows",
               ("np", "sum"): "np.sum", ("np", "mean"): "np.mean", ("", "sum"): "sum",
               ("", "len"): "len"}


def _lists_as_arrays(info: FunctionInfo) -> None:
    """A list built by ``append`` in a ``for`` loop over a range, then read whole, as the
    array it becomes:

        L = []                             k_2 = 0              (just before the loop)
        for t in range(a, b):              n_3 = max(0, b - a)   (the bounds read once)
            ...                            for t in range(a, b):
            L.append(e)          ->            ...
        Y = np.array(L)                        item_4 = e
                                               if k_2 == 0:
                                                   rows_5 = rows_for(n_3, item_4)
                                               rows_5[k_2] = item_4
                                               k_2 = k_2 + 1
                                           Y = rows_5[:k_2].copy()

    Only this form: ``L = []`` and the loop in one block, nothing else reading ``L`` before
    the loop, one ``L.append(e)`` in the loop's body itself (not under an ``if``: at most one
    item per iteration; ``continue`` and ``break`` may skip it) or in the body of one inner
    for loop over a range whose bounds the outer body does not assign (``for j in
    range(i + 1, n)``: a loop over the outer range before it adds up the inner trip counts
    into ``n_3``), and after the loop (up to a statement that binds ``L`` again, as
    ``L = np.array(L)``) only ``np.array(L)`` (``np.asarray``, ``np.stack``), ``len(L)``,
    ``sum(L)``, ``np.sum(L)``, ``np.mean(L)``, ``rows.append(L)`` (a list of lists: ``L``
    is a row of the outer list, rewritten after it).  Anything else keeps the list, which the
    subset check refuses.  Items are numbers or arrays of one shape (``rows_for``).  When
    no item is appended, ``rows_5`` is never assigned: Numba gives such a variable its
    null value, an empty array, which is what ``np.array([])`` reads as here."""
    fresh = _fresh_names(info)
    numpy_names = {name for name, value in info.func.__globals__.items() if value is numpy}

    def read_kind(node: ast.AST, name: str) -> str | None:
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Name) and node.args[0].id == name):
            return None
        func = node.func
        if isinstance(func, ast.Name) and func.id not in info.func.__globals__:
            return _LIST_READS.get(("", func.id))
        if (isinstance(func, ast.Attribute) and func.attr == "append"
                and isinstance(func.value, ast.Name) and func.value.id != name
                and func.value.id not in numpy_names):
            return "rows"  # rows.append(row): a list of lists, a row of the outer array
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id in numpy_names):
            return _LIST_READS.get(("np", func.attr))
        return None

    def appends(stmt: ast.stmt, name: str) -> ast.expr | None:
        if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
                and isinstance(stmt.value.func, ast.Attribute)
                and stmt.value.func.attr == "append"
                and isinstance(stmt.value.func.value, ast.Name)
                and stmt.value.func.value.id == name and len(stmt.value.args) == 1
                and not stmt.value.keywords):
            return stmt.value.args[0]
        return None

    def uses(nodes: list[ast.stmt], name: str) -> list[ast.Name]:
        return [n for stmt in nodes for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and n.id == name]

    def nested_range(loop: ast.For, name: str) -> tuple[ast.For, list[ast.expr]] | None:
        """The one statement of ``loop``'s body that uses ``name``, if it is a for loop over
        a range whose bounds read nothing ``loop``'s body assigns (its trip count is known
        before ``loop`` runs), and its bounds."""
        users = [st for st in loop.body if uses([st], name)]
        inner = users[0] if len(users) == 1 else None
        bounds = (_range_args(inner.iter) if isinstance(inner, ast.For)
                  and not inner.orelse and isinstance(inner.target, ast.Name) else None)
        if bounds is None:
            return None
        assigned = {n.id for st in loop.body for n in ast.walk(st)
                    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        read = {n.id for b in bounds for n in ast.walk(b) if isinstance(n, ast.Name)}
        if read & assigned or any(isinstance(n, (ast.Call, ast.NamedExpr)) and not (
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                and n.func.id in ("len", "min", "max", "abs"))
                for b in bounds for n in ast.walk(b)):
            return None
        return inner, bounds

    def counting_loop(loop: ast.For, names: list[str], bounds: list[ast.expr],
                      n: str) -> ast.For:
        """``for i_1 in range(a, b): n += len(range(...))``: the items a loop nest appends
        at most, the inner bounds read with the outer counter renamed."""
        counter = fresh(loop.target.id)
        inner = [fresh(b) for b in (["stop"] if len(bounds) == 1 else
                                    ["start", "stop", "step"][:len(bounds)])]
        body: list[ast.stmt] = []
        for b, e in zip(inner, bounds, strict=True):
            e = copy.deepcopy(e)
            for m in ast.walk(e):
                if isinstance(m, ast.Name) and m.id == loop.target.id:
                    m.id = counter
            body.append(_assign(b, e))
        body.append(_assign(n, ast.BinOp(left=_load(n), op=ast.Add(), right=ast.parse(
            _trip_count(inner, bounds), mode="eval").body)))
        return ast.For(target=ast.Name(id=counter, ctx=ast.Store()),
                       iter=_call("range", *map(_load, names)), body=body, orelse=[])

    def rewrite(stmts: list[ast.stmt], at: int) -> bool:
        """Rewrite the list made by ``stmts[at]`` if it has the form; whether it did."""
        name = stmts[at].targets[0].id
        loop_at = next((j for j in range(at + 1, len(stmts)) if uses([stmts[j]], name)), None)
        if loop_at is None:
            return False
        loop = stmts[loop_at]
        if isinstance(loop, ast.While) and any(appends(st, name) is not None
                                               for st in loop.body):
            test = ast.unparse(loop.test)
            raise info.error(loop, f"the list '{name}' is appended to in a while loop, "
                             "whose number of items is not known before it runs",
                             construct="a list",
                             hint=f"write the loop as a for loop over a range with a break: "
                             f"for step in range(max_steps): if not ({test}): break; ... "
                             f"{name}.append(...) (one item per iteration)")
        bounds = _range_args(loop.iter) if isinstance(loop, ast.For) else None
        over = None  # for x in X (enumerate, zip, reversed): as many items as len(X)
        if bounds is None and isinstance(loop, ast.For):
            over = _sequence_length(loop.iter)
            bounds = None if over is None else [over]
        if bounds is None or loop.orelse or (over is None
                                             and not isinstance(loop.target, ast.Name)):
            return False
        holder, inner = loop, (nested_range(loop, name) if over is None else None)
        if inner is not None:  # for i in range(n): for j in range(i + 1, n): L.append(e)
            holder = inner[0]
        appended = [k for k, st in enumerate(holder.body) if appends(st, name) is not None]
        if len(appended) != 1 or len(uses(holder.body, name)) != 1:
            return False
        after = stmts[loop_at + 1:]
        counted = after
        cut = next((j for j, st in enumerate(after) if isinstance(st, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in st.targets)), None)
        if cut is not None:  # K = np.array(K): the name is the array from there on
            after = after[:cut + 1]
            counted = [*after[:cut], ast.Expr(value=after[cut].value)]
        reads = [n for stmt in counted for n in ast.walk(stmt)
                 if read_kind(n, name) is not None]
        # L[i] read or written (rows[i] = rows[i] + v): the row of the array, where the loop
        # appends one item in each of its iterations (no break, continue or return)
        indexed = [n for stmt in counted for n in ast.walk(stmt) if isinstance(n, ast.Subscript)
                   and isinstance(n.value, ast.Name) and n.value.id == name] if (
            over is None and inner is None and not any(
                isinstance(st, (ast.Break, ast.Continue, ast.Return))
                for st in _own_statements(loop.body))) else []
        if len(reads) + len(indexed) != len(uses(counted, name)) or any(
                isinstance(n, (ast.FunctionDef, ast.Lambda)) for stmt in counted
                for n in ast.walk(stmt)):
            return False
        k, n, item, rows = fresh("k"), fresh("n"), fresh("item"), fresh("rows")
        names = [fresh(b) for b in (["stop"] if len(bounds) == 1 else
                                    ["start", "stop", "step"][:len(bounds)])]
        kernel = fresh("rows_for")
        from . import kernels

        info.bindings[kernel] = kernels.rows_for
        where = stmts[at]
        head = [_assign(k, ast.Constant(value=0)),
                *(_assign(b, copy.deepcopy(e)) for b, e in zip(names, bounds, strict=True)),
                _assign(n, ast.parse(_trip_count(names, bounds), mode="eval").body)]
        if inner is not None:
            head[-1:] = [_assign(n, ast.Constant(value=0)),
                         counting_loop(loop, names, inner[1], n)]
        if over is None:
            loop.iter = _call("range", *map(_load, names))
        position = appended[0]
        value = appends(holder.body[position], name)
        store = ast.Assign(targets=[ast.Subscript(value=_load(rows), slice=_load(k),
                                                  ctx=ast.Store())], value=_load(item))
        holder.body[position:position + 1] = [
            _assign(item, value),
            ast.If(test=ast.Compare(left=_load(k), ops=[ast.Eq()],
                                    comparators=[ast.Constant(value=0)]),
                   body=[_assign(rows, _call(kernel, _load(n), _load(item)))], orelse=[]),
            store,
            _assign(k, ast.BinOp(left=_load(k), op=ast.Add(), right=ast.Constant(value=1)))]
        filled = ast.Subscript(value=_load(rows), slice=ast.Slice(upper=_load(k)),
                               ctx=ast.Load())
        np_name = next(iter(sorted(numpy_names)))
        for node in indexed:
            node.value = _load(rows)
        for stmt in after:
            for node in [m for m in ast.walk(stmt) if read_kind(m, name) is not None]:
                kind = read_kind(node, name)
                if kind == "len":
                    new: ast.expr = _load(k)
                elif kind == "rows":
                    new = ast.Call(func=ast.Attribute(value=copy.deepcopy(filled), attr="copy",
                                                      ctx=ast.Load()), args=[], keywords=[])
                else:
                    new = ast.Call(
                        func=ast.Attribute(value=_load(np_name), attr=kind.split(".")[-1],
                                           ctx=ast.Load()),
                        args=[copy.deepcopy(filled)],
                        keywords=[ast.keyword(arg="axis", value=ast.Constant(value=0))]
                        if kind == "sum" else [])
                if isinstance(node.func, ast.Attribute) and node.func.attr == "append":
                    node.args[0] = ast.copy_location(new, node)  # the item appended
                    continue
                replace_node(stmt, node, ast.copy_location(new, node))
        for stmt in head:
            ast.copy_location(stmt, where)
        stmts[loop_at:loop_at] = head  # the bounds are read where the loop reads them
        del stmts[at]
        for stmt in stmts:
            ast.fix_missing_locations(stmt)
        return True

    def block(stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            for part in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, part, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    block(inner)
        at = 0
        while at < len(stmts):
            stmt = stmts[at]
            if (numpy_names and isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                    and isinstance(stmt.targets[0], ast.Name)
                    and isinstance(stmt.value, ast.List) and not stmt.value.elts
                    and len(uses(info.tree.body, stmt.targets[0].id))
                    == len(uses(stmts[at:], stmt.targets[0].id))
                    and rewrite(stmts, at)):
                continue
            at += 1

    block(info.tree.body)


def _filled_lists_as_arrays(info: FunctionInfo) -> None:
    """``L = [0.0] * n`` (``n * [c]``, ``c`` a float literal, ``-c``, ``np.inf``,
    ``float('inf')``) is ``L = np.full(n, c)`` when ``L`` is assigned only such lists (or
    another such list: ``prev = cur``, ``prev, cur = cur, prev``) and used
    only as a list of numbers and an array of them behave alike: elements read and written
    by a number index (``L[i] = ...``, ``L[i] += ...``, ``L[-1]``), ``len(L)``, a loop or a
    comprehension over it, and a call with ``L`` alone (``sum(L)``, ``np.array(L)``).  An
    int fill (``[0] * n``, which may hold indices) keeps the list, which is refused."""
    names = [n for n in ast.walk(info.tree) if isinstance(n, ast.Name)]

    def filled(value: ast.expr) -> tuple[ast.expr, ast.expr] | None:
        if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult)):
            return None
        for seq, count in ((value.left, value.right), (value.right, value.left)):
            if (isinstance(seq, ast.List) and len(seq.elts) == 1
                    and is_float(seq.elts[0]) and not isinstance(count, ast.List)):
                return seq.elts[0], count
        return None

    def is_float(e: ast.expr) -> bool:
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)):
            e = e.operand
        if isinstance(e, ast.Call):  # float('inf')
            return (_early_resolve(info, e.func) is float and len(e.args) == 1
                    and isinstance(e.args[0], ast.Constant) and not e.keywords)
        if isinstance(e, ast.Constant):
            return type(e.value) is float
        return isinstance(e, ast.Attribute) and type(_early_resolve(info, e)) is float

    parents: dict[int, ast.AST] = {}
    for node in ast.walk(info.tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node

    def array_like(use: ast.Name) -> bool:
        parent = parents.get(id(use))
        if isinstance(parent, ast.Subscript) and parent.value is use:
            return not isinstance(parent.slice, (ast.Slice, ast.Tuple))
        if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is use:
            return True
        return (isinstance(parent, ast.Call) and parent.args == [use] and not parent.keywords
                and (isinstance(parent.func, ast.Attribute)
                     or isinstance(parent.func, ast.Name) and parent.func.id in (
                         "len", "sum", "max", "min")))

    def handed_on(use: ast.Name, lists: set[str]) -> bool:
        """``use`` is a side of ``prev = cur`` or ``prev, cur = cur, prev`` between lists."""
        parent = parents.get(id(use))
        if isinstance(parent, ast.Tuple):
            parent = parents.get(id(parent))
        if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1):
            return False
        sides = [parent.targets[0], parent.value]
        if all(isinstance(side, ast.Tuple) for side in sides):
            sides = [e for side in sides for e in side.elts]
        return all(isinstance(side, ast.Name) and side.id in lists for side in sides)

    numpy_names = sorted(name for name, value in info.func.__globals__.items()
                         if value is numpy)
    made: dict[int, tuple[ast.Assign, tuple[ast.expr, ast.expr]]] = {}
    for stmt in ast.walk(info.tree):
        fill = filled(stmt.value) if isinstance(stmt, ast.Assign) else None
        if fill and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            made[id(stmt.targets[0])] = (stmt, fill)
    lists = {made_stmt.targets[0].id for made_stmt, _ in made.values()} - set(info.params)
    if not numpy_names:
        return
    changed = True
    while changed:  # lists handed on to lists (a row of a DP kept as prev = cur) stay lists
        changed = False
        for name in sorted(lists):
            if not all(id(n) in made or isinstance(n.ctx, ast.Load) and array_like(n)
                       or handed_on(n, lists) for n in names if n.id == name):
                lists.discard(name)
                changed = True
    for stmt, (item, count) in made.values():
        if stmt.targets[0].id not in lists:
            continue
        full = ast.Attribute(value=_load(numpy_names[0]), attr="full", ctx=ast.Load())
        stmt.value = ast.copy_location(ast.Call(func=full, args=[count, item], keywords=[]),
                                       stmt.value)
        ast.fix_missing_locations(stmt)


def _raises_as_calls(info: FunctionInfo) -> None:
    """``raise ValueError("...")`` as ``raised = raise_error("ValueError", "...")``, the
    kernel bound under a name the function does not use (``raises``)."""
    taken = {n.id for n in ast.walk(info.tree) if isinstance(n, ast.Name)} | set(info.params)
    name, result, k = raises.RAISE, "raised", 0
    while name in taken or result in taken:
        k += 1
        name, result = f"{raises.RAISE}_{k}", f"raised_{k}"
    if raises.lower(info.tree, lambda node: _early_resolve(info, node), info.error, name,
                    result):
        from . import kernels

        info.bindings[name] = kernels.raise_error


def _fresh_names(info: FunctionInfo) -> Callable[[str], str]:
    """``fresh(base)``: ``base_1``, ``base_2``, ... skipping every name the function uses."""
    taken = {n.id for n in ast.walk(info.tree) if isinstance(n, ast.Name)} | set(info.params)
    counter = [0]

    def fresh(base: str) -> str:
        while True:
            counter[0] += 1
            name = f"{base}_{counter[0]}"
            if name not in taken:
                taken.add(name)
                return name
    return fresh


def _sequence_length(node: ast.expr) -> ast.expr | None:
    """How many times ``for ... in node`` runs, for a loop over a sequence that is a name
    (or an attribute or subscript of one), ``enumerate`` or ``reversed`` of one, or ``zip``
    of several: ``len(X)``, ``min(len(a), len(b))``; else None."""
    def plain(seq: ast.expr) -> bool:
        return isinstance(seq, (ast.Name, ast.Attribute, ast.Subscript)) and not any(
            isinstance(n, (ast.Call, ast.NamedExpr)) for n in ast.walk(seq))

    if plain(node):
        return _call("len", copy.deepcopy(node))
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args
            and all(k.arg == "strict" for k in node.keywords)):  # zip(a, b, strict=False)
        return None
    if node.func.id == "enumerate" and len(node.args) == 1:  # enumerate(zip(a, b)) too
        return _sequence_length(node.args[0])
    if all(plain(a) for a in node.args):
        if node.func.id == "reversed" and len(node.args) == 1:
            return _call("len", copy.deepcopy(node.args[0]))
        if node.func.id == "zip":
            lengths = [_call("len", copy.deepcopy(a)) for a in node.args]
            return lengths[0] if len(lengths) == 1 else _call("min", *lengths)
    return None


def _range_args(node: ast.expr) -> list[ast.expr] | None:
    """The arguments of ``range(...)`` (one to three, no keywords), else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "range" and 1 <= len(node.args) <= 3 and not node.keywords
            and not any(isinstance(a, ast.Starred) for a in node.args)):
        return list(node.args)
    return None


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_load(func), args=list(args), keywords=[])


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value)


def _always_returns(stmts: list[ast.stmt]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ast.Return):
        return True
    return (isinstance(last, ast.If) and _always_returns(last.body)
            and _always_returns(last.orelse))


def _hoist_final_else(body: list[ast.stmt]) -> None:
    """``if c: ... return a`` / ``else: ... return b`` at the end of the function as
    ``if c: ... return a`` followed by the else branch: the same function, ending with a
    ``return`` (an early return before it, as the later passes take it)."""
    while (body and isinstance(body[-1], ast.If) and body[-1].orelse
           and _always_returns(body[-1].body) and _always_returns(body[-1].orelse)):
        last = body[-1]
        rest, last.orelse = last.orelse, []
        body.extend(rest)


def _close_endless_loop(info: FunctionInfo, body: list[ast.stmt]) -> None:
    """``while True:`` at the end of the function, left only by a ``return`` in it, followed
    by that return's value returned again (never reached, as in Python; the later passes take
    a function that ends with a ``return``), when that value reads only names the function
    has before the loop."""
    if not body or not isinstance(body[-1], ast.While):
        return
    loop = body[-1]
    if not (isinstance(loop.test, ast.Constant) and loop.test.value is True) or loop.orelse:
        return
    if any(isinstance(n, ast.Break) for stmt in loop.body
           for n in preorder(stmt, lambda n: isinstance(n, (ast.For, ast.While)))):
        return
    returns = [n for n in ast.walk(loop) if isinstance(n, ast.Return) and n.value is not None]
    if not returns:
        return
    def stored(stmts: list[ast.stmt]) -> set[str]:
        return {n.id for s in stmts for n in ast.walk(s)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}

    before = set(info.params) | stored(body[:-1])
    local = stored(body)
    value = returns[-1].value
    if all(n.id in before or n.id not in local for n in ast.walk(value)
           if isinstance(n, ast.Name)):
        body.append(ast.copy_location(ast.Return(value=copy.deepcopy(value)), returns[-1]))


def _check_subset(info: FunctionInfo, tuple_result: bool = False) -> None:
    _hoist_final_else(info.tree.body)
    _close_endless_loop(info, info.tree.body)
    body = info.tree.body
    for stmt in body:
        _check_node(info, stmt, stmt, body)
    returns = [n for n in ast.walk(info.tree) if isinstance(n, ast.Return)]
    if not body or not isinstance(body[-1], ast.Return):
        node = returns[-1] if returns else info.tree
        hint = ("return the loss as the last statement (early returns before it are fine)"
                if not body or not isinstance(body[-1], ast.While) else "return a name "
                "assigned before the loop (r = 0.0 before it; in it: r = d * d; return r), "
                "or end the function with return r after the loop")
        raise info.error(node, "the function must end with 'return <scalar>'",
                         construct="return", hint=hint)
    for ret in returns:
        if ret.value is None or (isinstance(ret.value, ast.Tuple) and not tuple_result):
            raise info.error(ret, "the function must return one scalar (the loss)",
                             construct="return", hint="return a single number; "
                             "differentiate each output separately if you need several")


def _check_node(info: FunctionInfo, node: ast.AST, located: ast.AST,
                body: list[ast.stmt]) -> None:
    """Check ``node`` and its descendants, in source order; ``located`` is the nearest node
    with a line number (operators have none).  An explicit stack, not recursion: an
    expression may be as deep as Python allows (a sum of thousands of terms)."""
    stack = [(node, located)]
    while stack:
        node, located = stack.pop()
        if hasattr(node, "lineno"):
            located = node
        _check_one(info, node, located, body)
        stack.extend((child, located) for child in reversed(list(ast.iter_child_nodes(node))))


def _check_one(info: FunctionInfo, node: ast.AST, located: ast.AST,
               body: list[ast.stmt]) -> None:
    """Check ``node`` itself (not its children)."""
    if isinstance(node, ast.Call):  # np.array([a, b]): a list display passed to a call
        arrays = _array_positions(info, node)
        node.args = [_array_display(a, node.func) if isinstance(a, ast.List) and k in arrays
                     else _as_tuple(a) if isinstance(a, ast.List) else a
                     for k, a in enumerate(node.args)]
    if isinstance(node, ast.For) and isinstance(node.iter, ast.List):  # for v in [a, b]
        node.iter = _as_tuple(node.iter)
    if isinstance(node, (ast.Expr, ast.Assign)) and _is_print(info, node.value):
        if isinstance(node, ast.Assign) and not (len(node.targets) == 1
                                                 and isinstance(node.targets[0], ast.Name)):
            raise info.error(node, "print() returns None, which is unpacked here",
                             construct="a print() call", hint="call print() as a statement "
                             "of its own: print(a, b)")
        _check_print(info, node.value)  # (printed = print(...): as desugar writes it)
        if isinstance(node, ast.Expr):
            return  # its arguments are checked on their own; strings may be printed
    if isinstance(node, ast.Call) and _is_print(info, node):
        if not getattr(node, "statement", False):
            raise info.error(located, "print() is called inside an expression",
                             construct="a print() call", hint="call print() as a statement "
                             "of its own: print(a, b)")
        return
    _check_strings(info, node, located)
    kind = type(node)
    if isinstance(node, ast.Subscript):  # x[[0, 2]]: an index array written as a list
        _mark_index_lists(node.slice)
    if (isinstance(node, ast.BinOp) and type(node.op) in (ast.BitAnd, ast.BitOr, ast.BitXor)
            or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert)) \
            and is_mask(node, mask_names(info.tree, lambda n: _early_resolve(info, n)),
                        lambda n: _early_resolve(info, n)):
        node.op = type(node.op)()  # (operators may be shared: this one alone is marked)
        node.op.mask = True  # masks combined: np.logical_and, ... (see normalize.combine)
    if kind in _REJECTED and not getattr(node, "index_list", False) \
            and not getattr(node, "mask", False) and not getattr(node, "spread", False):
        construct, hint = _REJECTED[kind]
        raise info.error(located, f"{construct} is not supported in differentiated code",
                         construct=construct, hint=hint)
    if kind not in _ALLOWED and not getattr(node, "index_list", False) \
            and not getattr(node, "mask", False) and not getattr(node, "spread", False):
        construct = f"'{kind.__name__}'"
        raise info.error(located, f"the construct {construct} is not supported",
                         construct=construct,
                         hint="rewrite it with assignments, arithmetic and math calls")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (int, float, bool,
                                                                       type(None),
                                                                       type(Ellipsis))):
        if not (isinstance(node.value, str) and (_is_docstring(node, body)
                                                  or getattr(node, "printed", False)
                                                  or getattr(node, "option", False))):
            what = "a string" if isinstance(node.value, (str, bytes)) else repr(node.value)
            raise info.error(located, f"{what} is not supported in differentiated code",
                             construct="a string" if isinstance(node.value, str) else what,
                             hint="differentiated code works on numbers: keep labels and "
                             "options outside the function (a string may only be printed: "
                             "print('loss', s))")
    _check_structure(info, node)
    if (isinstance(node, ast.Expr) and not _is_docstring(node.value, body)
            and type(node.value) not in _REJECTED):
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "at" and call.args
                and type(_early_resolve(info, call.func.value)).__name__ == "ufunc"):
            name = ast.unparse(call.func)  # np.add.at(out, idx, v)
            target, rest = ast.unparse(call.args[0]), [ast.unparse(a) for a in call.args[1:]]
            index = rest[0] if rest and rest[0].isidentifier() else "idx"
            first = f"{index} = {rest[0]}; " if rest and index != rest[0] else ""
            value = f"{rest[1]}[k]" if len(rest) > 1 and rest[1].isidentifier() else "v[k]"
            raise info.error(node, f"{name}() changes '{target}' in place, which "
                             "differentiated code does not do through a ufunc method",
                             construct=f"{name}()", hint=f"write the loop it stands for: "
                             f"{first}for k in range(len({index})): {target}[{index}[k]] "
                             f"{_AT_OPERATORS.get(call.func.value.attr, '+')}= {value}"
                             if isinstance(call.func.value, ast.Attribute) else
                             "write the loop it stands for, one element at a time")
        in_place = (isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute)
                    and node.value.func.attr == "sort")
        base = ast.unparse(node.value.func.value) if in_place else ""
        hint = "assign the value to a name or remove the statement"
        message = "an expression statement has no effect on the result"
        if (isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Name)
                and inspect.isfunction(_early_resolve(info, call.func))):
            name = ast.unparse(call.func)  # a helper that writes into its argument, likely
            message = (f"the call of {name}() as a statement leaves its result unused; "
                       "differentiated code does not write into a function's arguments")
            hint = (f"if {name}() writes into the array it is given, have it write into a copy "
                    "and return it (out = out.copy() first, return out last) and assign the "
                    f"result: {call.args[0].id} = {ast.unparse(call)}")
        raise info.error(node, message,
                         construct="an expression statement",
                         hint=f"{base}.sort() sorts in place, which differentiated code does not "
                         f"do: write {base} = np.sort({base})" if in_place else hint)


#: functions whose result is a boolean array (or truth value)
_MASK_FUNCTIONS = (numpy.logical_and, numpy.logical_or, numpy.logical_xor, numpy.logical_not,
                   numpy.isnan, numpy.isinf, numpy.isfinite, numpy.isclose, numpy.greater,
                   numpy.greater_equal, numpy.less, numpy.less_equal, numpy.equal,
                   numpy.not_equal, numpy.signbit)


def is_mask(node: ast.expr, masks: set[str], resolve: Callable[[ast.expr], Any]) -> bool:
    """Whether ``node`` is a boolean mask by its form: a comparison, ``~``, ``&``, ``|``,
    ``^`` of masks, a NumPy function that tests, or a name that only ever holds masks."""
    if isinstance(node, ast.Compare):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Invert, ast.Not)):
        return is_mask(node.operand, masks, resolve)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr, ast.BitXor)):
        return is_mask(node.left, masks, resolve) and is_mask(node.right, masks, resolve)
    if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
        func = resolve(node.func)
        return any(func is f for f in _MASK_FUNCTIONS)
    return isinstance(node, ast.Name) and node.id in masks


def mask_names(tree: ast.FunctionDef, resolve: Callable[[ast.expr], Any]) -> set[str]:
    """The names of ``tree`` every assignment of which is a boolean mask (``m = x > 0``,
    ``m = m & (x < 1)``); parameters, loop targets and unpacked names are not."""
    values: dict[str, list[ast.expr | None]] = {}
    for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs:
        values.setdefault(a.arg, []).append(None)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values.setdefault(target.id, []).append(node.value)
                elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
                    for name in ast.walk(target):  # unpacked: of unknown kind
                        if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                            values.setdefault(name.id, []).append(None)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            bitwise = isinstance(node.op, (ast.BitAnd, ast.BitOr, ast.BitXor))
            values.setdefault(node.target.id, []).append(node.value if bitwise else None)
        elif isinstance(node, (ast.For, ast.comprehension, ast.NamedExpr, ast.With)):
            for name in ast.walk(getattr(node, "target", node)):
                if isinstance(name, ast.Name) and isinstance(name.ctx, ast.Store):
                    values.setdefault(name.id, []).append(None)
    masks = {n for n, vs in values.items() if None not in vs}
    changed = True
    while changed:  # a name assigned from a name that is not a mask is not one either
        changed = False
        for name in list(masks):
            if not all(is_mask(v, masks, resolve) for v in values[name]):
                masks.discard(name)
                changed = True
    return masks


#: the augmented operator of ``np.<ufunc>.at``, for the loop it stands for
_AT_OPERATORS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/",
                 "true_divide": "/"}


def _mark_index_lists(index: ast.expr) -> None:
    """Mark the list displays of an index (``x[[0, 2]]``, ``x[[0, 2], 1]``): integer index
    arrays, which the normalizer makes with ``np.array``."""
    parts = index.elts if isinstance(index, ast.Tuple) else [index]
    stack = [p for p in parts if isinstance(p, ast.List)]
    while stack:
        display = stack.pop()
        display.index_list = True
        stack.extend(e for e in display.elts if isinstance(e, ast.List))


def _comprehensions_as_appends(info: FunctionInfo) -> None:
    """``L = [e for v in range(...)]`` (one ``for`` over a range, no condition) as the loop
    that appends to ``L``: ``L = []; for v_1 in range(...): L.append(e)``, which
    ``_lists_as_arrays`` makes the array it becomes where ``L`` is then read whole
    (``np.stack(L)``, ``np.array(L)``, ``sum(L)``, ``len(L)``); another use of ``L`` stays
    refused as a list.  The variable gets a name of its own, as in Python."""
    def lowered(stmt: ast.stmt) -> list[ast.stmt] | None:
        comp = stmt.value if isinstance(stmt, ast.Assign) else None
        if not (isinstance(comp, ast.ListComp) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name) and len(comp.generators) == 1):
            return None
        gen = comp.generators[0]
        if (gen.ifs or gen.is_async or not isinstance(gen.target, ast.Name)
                or _range_args(gen.iter) is None):
            return None
        var, name = fresh(gen.target.id), stmt.targets[0].id
        item = copy.deepcopy(comp.elt)
        for n in ast.walk(item):
            if isinstance(n, ast.Name) and n.id == gen.target.id:
                n.id = var
        append = ast.Expr(value=ast.Call(func=ast.Attribute(
            value=ast.Name(id=name, ctx=ast.Load()), attr="append", ctx=ast.Load()),
            args=[item], keywords=[]))
        loop = ast.For(target=ast.Name(id=var, ctx=ast.Store()), iter=gen.iter,
                       body=[append], orelse=[])
        start = ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())],
                           value=ast.List(elts=[], ctx=ast.Load()))
        return [ast.copy_location(s, stmt) for s in (start, loop)]

    fresh = _fresh_names(info)
    for node in ast.walk(info.tree):
        for field_name in ("body", "orelse"):
            block = getattr(node, field_name, None)
            if isinstance(block, list) and any(isinstance(s, ast.Assign) and isinstance(
                    s.value, ast.ListComp) for s in block):
                block[:] = [new for s in block for new in (lowered(s) or [s])]
    fix_locations(info.tree)


def _errstate_blocks(info: FunctionInfo) -> None:
    """``with np.errstate(...):`` is its body: it changes which floating-point warnings NumPy
    gives, no value (and compiled code gives none).  Other ``with`` statements are refused."""
    for node in ast.walk(info.tree):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if isinstance(block, list) and any(_is_errstate(info, s) for s in block):
                block[:] = [inner for s in block
                            for inner in (s.body if _is_errstate(info, s) else [s])]


def _fills_as_stores(info: FunctionInfo) -> None:
    """``g.fill(v)``, ``np.copyto(g, v)`` and ``np.maximum(g, 0.0, out=g)``, statements that
    set every element of an array (a force array zeroed at each step, a ReLU in place), are
    the store ``g[:] = v`` (``g[:] = np.maximum(g, 0.0)``)."""
    for node in ast.walk(info.tree):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if not isinstance(block, list):
                continue
            for k, stmt in enumerate(block):
                call = stmt.value if isinstance(stmt, ast.Expr) else None
                if not isinstance(call, ast.Call):
                    continue
                out = [kw for kw in call.keywords if kw.arg == "out"]
                if out and getattr(_early_resolve(info, call.func), "__module__", None) == "numpy":
                    array = out[0].value
                    value = ast.Call(func=call.func, args=call.args,
                                     keywords=[kw for kw in call.keywords if kw.arg != "out"])
                elif call.keywords:
                    continue
                elif (isinstance(call.func, ast.Attribute) and call.func.attr == "fill"
                        and len(call.args) == 1):
                    array, value = call.func.value, call.args[0]
                elif len(call.args) == 2 and _early_resolve(info, call.func) is numpy.copyto:
                    array, value = call.args
                else:
                    continue
                if isinstance(array, ast.Name) and _early_resolve(info, array) is None:
                    target = ast.Subscript(value=ast.Name(id=array.id, ctx=ast.Load()),
                                           slice=ast.Slice(), ctx=ast.Store())
                    block[k] = ast.copy_location(ast.Assign(targets=[target], value=value),
                                                 stmt)
    fix_locations(info.tree)


def _concatenations(info: FunctionInfo) -> None:
    """``np.r_[a, b]`` of values (no slices, no strings) is ``np.concatenate((np.atleast_1d(
    a), np.atleast_1d(b)))``: numbers become elements, arrays are joined along their first
    axis."""
    def rewrite(node: ast.AST) -> ast.AST:
        if not (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and _early_resolve(info, node.value) is numpy.r_):
            return node
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(e, (ast.Slice, ast.Starred)) or isinstance(e, ast.Constant)
               and isinstance(e.value, str) for e in items):
            raise info.error(node, "np.r_ with a slice or a string is not supported",
                             construct="np.r_", hint="join arrays with np.concatenate((a, "
                             "b)), ranges with np.arange")
        numpy_ = node.value.value
        parts = [ast.Call(func=ast.Attribute(value=copy_tree(numpy_), attr="atleast_1d",
                                             ctx=ast.Load()), args=[e], keywords=[])
                 for e in items]
        return ast.copy_location(ast.Call(
            func=ast.Attribute(value=copy_tree(numpy_), attr="concatenate", ctx=ast.Load()),
            args=[ast.Tuple(elts=parts, ctx=ast.Load())], keywords=[]), node)

    if any(isinstance(n, ast.Attribute) and n.attr == "r_" for n in ast.walk(info.tree)):
        info.tree = transform(info.tree, rewrite)
        fix_locations(info.tree)


def _first_evaluated(test: ast.expr) -> ast.NamedExpr | None:
    """The ``:=`` that ``test`` always evaluates first (``(e := abs(d)) > tol and k < n``),
    if any."""
    node = test
    while not isinstance(node, ast.NamedExpr):
        if isinstance(node, ast.Compare):
            node = node.left
        elif isinstance(node, ast.BoolOp):
            node = node.values[0]
        elif isinstance(node, ast.UnaryOp):
            node = node.operand
        elif isinstance(node, ast.BinOp):
            node = node.left
        else:
            return None
    return node if isinstance(node.target, ast.Name) else None


def _assignment_expressions(tree: ast.FunctionDef) -> None:
    """``while (err := abs(x - y)) > tol:`` is ``err = abs(x - y)`` before the loop and at
    the end of its body, then ``while err > tol:``; ``if (m := f(x)) > 0:`` is ``m = f(x)``
    then ``if m > 0:`` (where the ``:=`` is what the test evaluates first, and the loop has
    no ``continue``, which would skip the assignment at the end of its body)."""
    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            for _name, inner in _inner_blocks(stmt):
                setattr(stmt, _name, block(inner))
            named = (_first_evaluated(stmt.test) if isinstance(stmt, (ast.While, ast.If))
                     else None)
            if named is not None and isinstance(stmt, ast.While) and any(
                    isinstance(n, ast.Continue) for n in _own_statements(stmt.body)):
                named = None
            if named is not None:
                def assign(named: ast.NamedExpr = named) -> ast.Assign:
                    return ast.copy_location(ast.Assign(
                        targets=[ast.Name(id=named.target.id, ctx=ast.Store())],
                        value=copy_tree(named.value)), named)
                out.append(assign())
                if isinstance(stmt, ast.While):
                    stmt.body.append(assign())
                replace_node(stmt.test, named, ast.Name(id=named.target.id, ctx=ast.Load()))
                if stmt.test is named:
                    stmt.test = ast.Name(id=named.target.id, ctx=ast.Load())
            out.append(stmt)
        return out

    if any(isinstance(n, ast.NamedExpr) for n in ast.walk(tree)):
        tree.body = block(tree.body)
        fix_locations(tree)


def _sorted_comprehensions(info: FunctionInfo) -> None:
    """``sorted(e for v in x)`` (or of ``[e for v in x]``) is ``np.sort(np.array([e for v
    in x]))``, with ``reverse=True`` read backwards (``[::-1]``): an array of the numbers in
    order, read as the list would be (``ys[0]``, ``ys[-1]``, ``sum(ys)``, ``for y in ys``)."""
    numpy_names = sorted(name for name, value in info.func.__globals__.items()
                         if value is numpy)

    def rewrite(node: ast.AST) -> ast.AST:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and _early_resolve(info, node.func) is builtins.sorted and numpy_names
                and len(node.args) == 1
                and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))):
            return node
        reverse = [k for k in node.keywords if k.arg == "reverse"]
        if len(reverse) != len(node.keywords) or reverse and not (
                isinstance(reverse[0].value, ast.Constant)
                and reverse[0].value.value in (False, True)):
            raise info.error(node, "sorted() with key= (or a reverse= that is not a literal) "
                             "is not supported", construct="sorted(..., key=...)",
                             hint="sort the keys themselves: sorted(abs(v) for v in x), or "
                             "order by np.argsort(keys) and index with it")
        comp = node.args[0]
        items = ast.ListComp(elt=comp.elt, generators=comp.generators)
        numpy_ = ast.Name(id=numpy_names[0], ctx=ast.Load())
        array = ast.Call(func=ast.Attribute(value=numpy_, attr="array", ctx=ast.Load()),
                         args=[items], keywords=[])
        out: ast.expr = ast.Call(func=ast.Attribute(value=copy_tree(numpy_), attr="sort",
                                                    ctx=ast.Load()), args=[array], keywords=[])
        if reverse and reverse[0].value.value:
            out = ast.Subscript(value=out, slice=ast.Slice(step=ast.Constant(value=-1)),
                                ctx=ast.Load())
        return ast.copy_location(out, node)

    if any(isinstance(n, ast.Name) and n.id == "sorted" for n in ast.walk(info.tree)):
        info.tree = transform(info.tree, rewrite)
        fix_locations(info.tree)



def _sorts_in_place(info: FunctionInfo) -> None:
    """``y.sort()`` as a statement, of a name, is ``y[:] = np.sort(y)``: the same numbers in
    the same array (a view's base and other names of it see them, as after the method), by
    a store that the views and the reversal follow like any other."""
    numpy_names = sorted(name for name, value in info.func.__globals__.items()
                         if value is numpy)

    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out = []
        for stmt in stmts:
            for part, inner in _inner_blocks(stmt):
                setattr(stmt, part, block(inner))
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "sort" and isinstance(call.func.value, ast.Name)
                    and not call.args and not call.keywords and numpy_names):
                name = call.func.value.id
                numpy_ = ast.Name(id=numpy_names[0], ctx=ast.Load())
                sort = ast.Call(func=ast.Attribute(value=numpy_, attr="sort", ctx=ast.Load()),
                                args=[ast.Name(id=name, ctx=ast.Load())], keywords=[])
                whole = ast.Subscript(value=ast.Name(id=name, ctx=ast.Load()),
                                      slice=ast.Slice(), ctx=ast.Store())
                stmt = ast.copy_location(ast.Assign(targets=[whole], value=sort), stmt)
            out.append(stmt)
        return out

    info.tree.body = block(info.tree.body)
    fix_locations(info.tree)

def _transposing_zips(info: FunctionInfo) -> None:
    """``zip(*PAIRS)`` of a module-level tuple, list or array of rows is ``zip(PAIRS[0],
    PAIRS[1], ...)``, one argument per row (their number is fixed when the function is
    compiled); ``for ... in zip(*p)`` of a parameter ``p`` is ``zip(p)`` marked ``star``, whose
    rows :mod:`adcompile.desugar` names (a tuple's, once its nesting is known, or as many as
    the loop's target unpacks); ``zip(*p)`` of any other value is refused naming that form."""
    iters = {id(n.iter) for n in ast.walk(info.tree) if isinstance(n, ast.For)}

    def rewrite(node: ast.AST) -> ast.AST:
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and _early_resolve(info, node.func) is not builtins.zip):
            for arg in node.args:  # h(*args): spread by normalize where args is a tuple
                if isinstance(arg, ast.Starred) and isinstance(arg.value, (ast.Name,
                                                                           ast.Subscript)):
                    arg.spread = True  # type: ignore[attr-defined]
            return node
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and _early_resolve(info, node.func) is builtins.zip
                and any(isinstance(a, ast.Starred) for a in node.args)):
            return node
        star = node.args[0]
        if (id(node) in iters and len(node.args) == 1 and isinstance(star, ast.Starred)
                and isinstance(star.value, ast.Name) and star.value.id in info.params):
            marked = ast.copy_location(ast.Call(func=node.func, args=[star.value],
                                                keywords=node.keywords), node)
            marked.star = True  # type: ignore[attr-defined]
            return marked
        value = _early_resolve(info, star.value) if isinstance(star, ast.Starred) else None
        if len(node.args) != 1 or not isinstance(value, (tuple, list, numpy.ndarray)) or (
                isinstance(value, numpy.ndarray) and value.ndim < 2) or not len(value):
            raise info.error(node, "zip(*p) of a value whose rows are not known before the "
                             "call is not supported", construct="zip(*...)",
                             hint="name the rows: zip(p[0], p[1]) for a loop over the columns "
                             "of two rows (or for a, b in p.T: for an array p of two rows), "
                             "or keep p a module-level tuple of rows")
        rows = [ast.Subscript(value=copy_tree(star.value), slice=ast.Constant(value=k),
                              ctx=ast.Load()) for k in range(len(value))]
        return ast.copy_location(ast.Call(func=node.func, args=rows, keywords=node.keywords),
                                 node)

    if any(isinstance(n, ast.Starred) for n in ast.walk(info.tree)):
        info.tree = transform(info.tree, rewrite)
        fix_locations(info.tree)


def _is_errstate(info: FunctionInfo, stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.With) and all(
        item.optional_vars is None and isinstance(item.context_expr, ast.Call)
        and _early_resolve(info, item.context_expr.func) is numpy.errstate
        for item in stmt.items)


def _is_print(info: FunctionInfo, node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and _early_resolve(info, node.func) is builtins.print)


def _check_print(info: FunctionInfo, call: ast.Call) -> None:
    """``print(a, "text", b)``: it runs in the function itself (adcompile's forward), never in
    derivative code; string literals may be printed, nothing else with strings."""
    if call.keywords:
        raise info.error(call, f"print() with the keyword argument "
                         f"'{call.keywords[0].arg or '**'}' is not supported",
                         construct="a print() keyword argument",
                         hint="print the values separated by commas: print(a, b)")
    call.statement = True  # type: ignore[attr-defined]
    # f"loss {s:.3f}": its text and its values printed in turn (compiled code formats none)
    call.args = [part.value if isinstance(part, ast.FormattedValue) else part
                 for arg in call.args
                 for part in (arg.values if isinstance(arg, ast.JoinedStr) else [arg])]
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            arg.printed = True  # type: ignore[attr-defined]


def _check_strings(info: FunctionInfo, node: ast.AST, located: ast.AST) -> None:
    """The usual reasons for a string in numeric code, each with what to write instead:
    a dict parameter indexed by key, a string option of a call.  The string options of a
    function the compiler rewrites or defines itself (``np.einsum``'s subscripts,
    ``np.linalg.norm``'s ``ord='fro'``) are read when the call is compiled: allowed, and so
    is ``float('inf')`` (``'-inf'``, ``'nan'``), the number it makes."""
    if (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
            and node.args[0].value.strip().lower().lstrip("+-") in ("inf", "infinity", "nan")
            and _early_resolve(info, node.func) is float):
        node.args[0] = ast.copy_location(ast.Constant(float(node.args[0].value)), node.args[0])
        return
    constants = [a for a in node.args if isinstance(a, ast.Constant)] if isinstance(
        node, ast.Call) else []
    if isinstance(node, ast.Call) and constants and all(getattr(a, "option", False)
                                                        for a in constants):
        return  # (a raise statement's exception and message: raises)
    if isinstance(node, ast.Call) and _reads_options(_early_resolve(info, node.func)):
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                arg.option = True  # read by the rewrite or definition, never a value
        return
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)):
        base = ast.unparse(node.value)
        raise info.error(located, f"indexing '{base}' with the key {node.slice.value!r} (a "
                         "dict) is not supported", construct="a dict",
                         hint=f"pass the values of '{base}' as parameters of their own (floats "
                         "or arrays), or several together as a tuple unpacked in the function "
                         "(w, b = params)")
    if isinstance(node, ast.Call):
        options = [(kw.arg, kw.value) for kw in node.keywords] + [(None, a) for a in node.args]
        for name, value in options:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                text = f"{name}={value.value!r}" if name else repr(value.value)
                raise info.error(located, f"the string argument {text} in the call to "
                                 f"'{ast.unparse(node.func)}' is not supported",
                                 construct="a string argument", hint="differentiated code "
                                 "works on numbers: leave the option out to get its default, "
                                 "or compute this value outside the function and pass it in")


def _early_resolve(info: FunctionInfo, node: ast.expr) -> Any:
    """What a ``Name``/``Attribute`` chain denotes, before the free names are resolved."""
    if isinstance(node, ast.Attribute):
        return getattr(_early_resolve(info, node.value), node.attr, None)
    if not isinstance(node, ast.Name):
        return None
    if node.id in info.bindings:  # (a name bound by a pass: an inlined helper's free name)
        return info.bindings[node.id]
    func = info.func
    if node.id in func.__code__.co_varnames:  # a local name
        return None
    if node.id in func.__code__.co_freevars and func.__closure__:
        cell = func.__closure__[func.__code__.co_freevars.index(node.id)]
        try:
            return cell.cell_contents
        except ValueError:
            return None
    return func.__globals__.get(node.id, getattr(builtins, node.id, None))


def _reads_options(target: Any) -> bool:
    """Whether calls of ``target`` are rewritten or expanded by a definition
    (``rules.rewrite``, ``rules.composite``), which read their literal options."""
    from . import rules

    return target is not None and (rules.rewriter_of(target) is not None
                                   or rules.composite_of(target) is not None)


#: NumPy functions whose first (or first two) positional arguments are arrays: a list display
#: there is the array it makes (ufuncs: every argument)
_ARRAY_FIRST = ("diag", "sum", "mean", "prod", "max", "min", "amax", "amin", "cumsum",
                "cumprod", "sort", "flip", "diff", "trace", "ptp", "std", "var", "median",
                "average", "clip", "ravel", "transpose", "abs")
_ARRAY_PAIR = ("dot", "outer", "inner", "vdot", "kron", "cross", "matmul")


def _array_positions(info: FunctionInfo, call: ast.Call) -> range:
    """The positions of ``call``'s arguments that NumPy reads as arrays (``np.diag([1.0,
    2.0])``, ``np.exp([a, b])``), for a call written ``np.<name>(...)``."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and _early_resolve(info, func.value) is numpy):
        return range(0)
    target = getattr(numpy, func.attr, None)
    if isinstance(target, numpy.ufunc):
        return range(len(call.args))
    if func.attr in _ARRAY_PAIR:
        return range(2)
    return range(1) if func.attr in _ARRAY_FIRST else range(0)


def _array_display(display: ast.List, func: ast.Attribute) -> ast.Call:
    """A list display that a NumPy function reads as an array: ``np.array(...)`` of it."""
    made = ast.Call(func=ast.Attribute(value=copy.deepcopy(func.value), attr="array",
                                       ctx=ast.Load()), args=[_as_tuple(display)], keywords=[])
    return ast.copy_location(made, display)


def _as_tuple(display: ast.List) -> ast.Tuple:
    """A list display as the tuple display it means when passed to a call (nested lists
    too): ``np.array([[a, b], [c, d]])`` reads ``np.array(((a, b), (c, d)))``."""
    elts = [_as_tuple(e) if isinstance(e, ast.List) else e for e in display.elts]
    return ast.copy_location(ast.Tuple(elts=elts, ctx=ast.Load()), display)


def _check_structure(info: FunctionInfo, node: ast.AST) -> None:
    """Loops over what :mod:`adcompile.desugar` lowers to ``range`` (arrays, tuples, ``zip``,
    ``enumerate``, ``reversed``); a loop's ``else`` is a flag by then
    (``_loop_else_as_flags``)."""
    if isinstance(node, ast.For):
        _check_loop(info, node, node.iter, node.target)


def _builtin(info: FunctionInfo, node: ast.expr) -> Any:
    """The builtin ``node`` calls (``range``, ``zip``, ...), if it calls one by its name."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        return None
    target = _early_resolve(info, node.func)
    return target if getattr(builtins, node.func.id, None) is target else None


def _check_loop(info: FunctionInfo, loop: ast.For, it: ast.expr, target: ast.expr) -> None:
    """``for target in it``: a target of names (a tuple of them where each step gives a
    tuple), over ``range``, ``enumerate``, ``zip``, ``reversed`` of a range or an array, an
    array (its elements, or rows) or a tuple."""
    def refuse(hint: str | None = None) -> AdcompileError:
        return info.error(loop, f"iterating over '{ast.unparse(it)}' is not supported",
                          construct="a for loop over an object", hint=hint or _loop_hint(it))

    for part in ast.walk(target):
        if not isinstance(part, (ast.Name, ast.Tuple, ast.List, ast.Store)):
            raise info.error(loop, f"the loop target '{ast.unparse(target)}' is not a name",
                             construct="a loop target", hint="bind plain names: for i in "
                             "range(...): or for i, v in enumerate(x):")
    kind = _builtin(info, it)
    it.builtin = getattr(kind, "__name__", "")  # type: ignore[attr-defined] # for desugar
    if (isinstance(it, ast.Call) and isinstance(it.func, (ast.Name, ast.Attribute))
            and any(_early_resolve(info, it.func) is f for f in (numpy.ndindex,
                                                                  numpy.ndenumerate))):
        raise refuse("write one loop over range per axis: for i in range(A.shape[0]): for j "
                     "in range(A.shape[1]): ... A[i, j] (a break then leaves the inner loop "
                     "only)")
    if kind is None:
        return  # an array (elements or rows) or a tuple: see desugar
    assert isinstance(it, ast.Call)
    if kind is builtins.range:
        if not 1 <= len(it.args) <= 3 or it.keywords:
            raise refuse("pass range() its bounds positionally: range(stop), range(start, "
                         "stop) or range(start, stop, step)")
        if not isinstance(target, ast.Name):
            raise info.error(loop, "a loop over range() must bind one name",
                             construct="a loop target", hint="write for i in range(...):")
        return
    if kind is builtins.enumerate:
        start = [k for k in it.keywords if k.arg == "start"]
        if (not 1 <= len(it.args) + len(start) <= 2 or len(start) != len(it.keywords)
                or (len(it.args) == 2 and start)):
            raise refuse("write enumerate(x) or enumerate(x, start)")
        if isinstance(target, (ast.Tuple, ast.List)):
            if len(target.elts) != 2:
                raise info.error(loop, f"enumerate() gives 2 values per step, the target "
                                 f"'{ast.unparse(target)}' has {len(target.elts)}",
                                 construct="a loop target", hint="write for i, v in "
                                 "enumerate(x):")
            _check_loop(info, loop, it.args[0], target.elts[1])
        return
    if kind is builtins.zip:
        if not it.args or any(not (k.arg == "strict" and isinstance(k.value, ast.Constant)
                                   and k.value.value in (False, True)) for k in it.keywords):
            raise refuse("write zip(a, b), zip(a, b, strict=False) (the loop runs over the "
                         "shortest sequence) or zip(a, b, strict=True) (the lengths must be "
                         "equal)")
        if getattr(it, "star", False):
            return  # zip(*p) of a parameter: its rows are named by desugar
        if isinstance(target, (ast.Tuple, ast.List)):
            if len(target.elts) != len(it.args):
                raise info.error(loop, f"zip() gives {len(it.args)} values per step, the "
                                 f"target '{ast.unparse(target)}' has {len(target.elts)}",
                                 construct="a loop target", hint="give each zipped sequence "
                                 "one name")
            for arg, elt in zip(it.args, target.elts, strict=True):
                _check_loop(info, loop, arg, elt)
        return
    if kind is builtins.reversed:
        inner = it.args[0] if len(it.args) == 1 and not it.keywords else None
        if inner is None or _builtin(info, inner) not in (None, builtins.range):
            raise refuse("write reversed(range(...)), reversed(x) for an array, or a range "
                         "with a negative step: range(n - 1, -1, -1)")
        if _builtin(info, inner) is builtins.range:
            _check_loop(info, loop, inner, target)
            step = inner.args[2] if len(inner.args) == 3 else ast.Constant(value=1)
            if not (isinstance(step, ast.Constant) or (isinstance(step, ast.UnaryOp) and
                                                        isinstance(step.operand, ast.Constant))):
                raise refuse("give the range a literal step, or write the reversed range "
                             "itself: range(last, first - 1, -step)")
        return
    raise refuse()


def _loop_hint(it: ast.expr) -> str:
    """What a loop over ``it`` can be written as."""
    return ("loop over range(), zip(), enumerate() or reversed() of arrays and ranges, over an "
            "array (its elements, or a matrix's rows) or over a tuple; for anything else, loop "
            "over indices: for i in range(n): ... x[i] ...")


def _is_docstring(node: ast.AST, body: list[ast.stmt]) -> bool:
    first = body[0] if body else None
    return (isinstance(first, ast.Expr) and (node is first or node is first.value)
            and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str))


def _resolve_free_names(info: FunctionInfo, helpers: dict[str, _LocalFunction]) -> None:
    """Bind every free name of the function, and of its helpers (``helpers``), to what it
    denotes; a helper's name denotes its stub."""
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
    for name, helper in helpers.items():
        info.bindings[name] = helper.stub
    for name, node in sorted(loaded.items()):
        if name in local or name in info.bindings:  # (a helper's stub, a kernel bound)
            continue
        info.bindings[name] = _lookup(info, name, node)
    for helper in helpers.values():
        inner = helper.template
        for name in sorted(helper.free):
            if name in helpers:
                inner.bindings[name] = helpers[name].stub
            elif name not in local:  # (a variable of the enclosing function is read as is)
                node = next(n for n in ast.walk(inner.tree)
                            if isinstance(n, ast.Name) and n.id == name)
                value = info.bindings[name] if name in info.bindings else _lookup(
                    info, name, node)
                inner.bindings[name] = info.bindings[name] = value
        inner.sequences = {n: k for n, k in info.sequences.items() if n in inner.bindings}
        _bind_loop_builtins(inner, info)
        _lower(inner)
        _check_array_writes(inner)
    _bind_loop_builtins(info, info)
    _check_array_writes(info)


def _check_sequence_arithmetic(info: FunctionInfo, node: ast.AST) -> None:
    """A module-level list or tuple of numbers reads as an array, except in arithmetic and
    comparisons, where Python's meaning (repetition, concatenation) is not an array's."""
    operands: list[ast.expr] = []
    if isinstance(node, ast.BinOp):
        operands = [node.left, node.right]
    elif isinstance(node, ast.UnaryOp):
        operands = [node.operand]
    elif isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
    elif isinstance(node, ast.AugAssign):
        operands = [node.target, node.value]
    for operand in operands:
        if isinstance(operand, ast.Name) and operand.id in info.sequences:
            kind = info.sequences[operand.id]
            raise info.error(node, f"'{operand.id}' is a {kind} of numbers, used in "
                             "arithmetic or a comparison", construct=f"a module-level {kind}",
                             hint=f"index it ({operand.id}[i]), or make it an array: "
                             f"np.array({operand.id}) (or define it with np.array at module "
                             "level)")


def _strict_zip(node: ast.AST) -> bool:
    """Whether ``node`` is the sequence of a loop, ``zip(..., strict=True)``."""
    return getattr(node, "builtin", "") == "zip" and any(
        k.arg == "strict" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in node.keywords)


def _bind_loop_builtins(info: FunctionInfo, outer: FunctionInfo) -> None:
    """Loops that desugar lowers to ``range`` read ``len`` and ``min`` (and ``zip(...,
    strict=True)`` ``kernels.same_length``, a target that unpacks ``kernels.unpacked`` and
    its kin): bound here (under another name where the
    function uses these names otherwise), named on the tree."""
    if not any(isinstance(n, ast.For) and getattr(n.iter, "builtin", "range") != "range"
               for n in ast.walk(info.tree)):
        return
    from . import kernels

    chosen = {}
    needed = ["len", "min"] + (["same_length"] if any(
        _strict_zip(n) for n in ast.walk(info.tree)) else []) + (
        ["unpacked", "unpacked_along"] if any(
            isinstance(n, ast.For) and isinstance(n.target, (ast.Tuple, ast.List))
            for n in ast.walk(info.tree)) else [])
    for builtin in needed:
        obj = getattr(builtins, builtin, None) or getattr(kernels, builtin)
        name, k = builtin, 0
        while any(name in i.names and i.bindings.get(name) is not obj
                  or i.bindings.get(name, obj) is not obj for i in (info, outer)):
            k += 1
            name = f"{builtin}_{k}"
        info.bindings[name] = outer.bindings[name] = obj
        chosen[builtin] = name
    info.tree.builtin_names = chosen  # type: ignore[attr-defined]


def free_value(info: FunctionInfo, name: str, node: ast.AST | None = None) -> Any:
    """The object the free name ``name`` of ``info.func`` holds, as the user wrote it (a
    tuple of numbers stays a tuple): its closure variable, else its global, else the
    builtin."""
    func = info.func
    code = func.__code__
    if name in code.co_freevars and func.__closure__:
        try:
            return func.__closure__[code.co_freevars.index(name)].cell_contents
        except ValueError:  # an empty cell
            raise info.error(node, f"the variable '{name}' of the enclosing function has no "
                             "value yet", construct="an unassigned closure variable",
                             hint=f"assign '{name}' before returning this function from the "
                             "one that defines it") from None
    if name in func.__globals__:
        return func.__globals__[name]
    if hasattr(builtins, name):
        return getattr(builtins, name)
    raise info.error(node, f"name '{name}' is not defined", construct="an unknown name",
                     hint="define it at module level or pass it as an argument")


def _lookup(info: FunctionInfo, name: str, node: ast.Name) -> Any:
    """What the free name ``name`` of ``info.func`` denotes: its closure variable, else its
    global, else the builtin."""
    value = free_value(info, name, node)
    if isinstance(value, numpy.ndarray) and value.ndim == 0 and value.dtype.kind in "biuf":
        value = value.item()  # a 0-d array reads as the number it holds
    if isinstance(value, (list, tuple)) and value:
        array = _as_array(value)
        if array is not None:  # indexed, iterated, len(): as an array
            info.sequences[name] = type(value).__name__
            value = array
    _check_binding(info, name, value, node)
    return value


def _as_array(value: list | tuple) -> numpy.ndarray | None:
    """A (nested) list or tuple of numbers, or of arrays of one shape, as the array it
    indexes like; ``None`` when it has no such form (ragged, or not numbers)."""
    def numeric(v: Any) -> bool:
        if isinstance(v, (list, tuple)):
            return bool(v) and all(numeric(e) for e in v)
        return isinstance(v, numbers.Real) or (isinstance(v, numpy.ndarray)
                                               and v.dtype.kind in "biuf")

    if not numeric(value):
        return None
    try:
        array = numpy.array(value)
    except ValueError:  # ragged
        return None
    return array if array.dtype.kind in "biuf" and array.ndim >= 1 else None


def _check_binding(info: FunctionInfo, name: str, value: Any, node: ast.Name) -> None:
    if isinstance(value, (types.ModuleType, bool)) or callable(value):
        return
    if isinstance(value, numbers.Real):
        return
    if isinstance(value, numpy.ndarray):
        if value.dtype.kind in "biuf":
            return  # read as a constant: see codegen
        raise info.error(node, f"the free name '{name}' refers to an array of dtype "
                         f"{value.dtype}, which differentiated code cannot read",
                         construct="a non-numeric array", hint=f"make '{name}' an array of "
                         f"numbers (np.asarray({name}, dtype=np.float64)), or pass it in as an "
                         "argument")
    kind = type(value).__name__
    if isinstance(value, (list, tuple)):
        hint = (f"pass '{name}' in as an argument (a tuple of floats and arrays is a tuple "
                "parameter), or give its parts module-level names of their own: a list or "
                "tuple of numbers, or of arrays of one shape, is read as a constant array")
    else:
        hint = (f"pass '{name}' in as an argument (of module-level and closure values, "
                "differentiated code reads numbers, NumPy arrays of numbers, modules and "
                "functions)")
    article = "an" if kind[0] in "aeiou" else "a"
    raise info.error(node, f"the free name '{name}' refers to {article} {kind}, which "
                     "differentiated code cannot read", construct="a non-numeric global",
                     hint=hint)


def _check_array_writes(info: FunctionInfo) -> None:
    """Module-level and closure arrays are constants: a store into one is refused."""
    for node in ast.walk(info.tree):
        _check_sequence_arithmetic(info, node)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        while targets:  # what is stored into, not what its index reads (y[:, IDX] = ...)
            part = targets.pop()
            if isinstance(part, (ast.Tuple, ast.List)):
                targets += part.elts
            elif isinstance(part, ast.Starred):
                targets.append(part.value)
            if isinstance(part, ast.Subscript):
                base = part.value
                while isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                if (isinstance(base, ast.Name)
                        and isinstance(info.bindings.get(base.id), numpy.ndarray)):
                    raise info.error(node, f"writing into '{base.id}', an array from outside "
                                     "the function, is not supported",
                                     construct="a store into a module-level array",
                                     hint=f"differentiated code reads '{base.id}' as a "
                                     f"constant: write into a copy ({base.id}_copy = "
                                     f"{base.id}.copy()), or pass the array in as an argument")


def is_local_function(obj: Any) -> bool:
    """Whether ``obj`` is the stub of a helper defined inside a differentiated function."""
    return getattr(obj, LOCAL, None) is not None


#: the attribute of a helper's stub holding its definition
LOCAL = "_adcompile_local"


class _LocalFunction:
    """A helper defined inside the function (see :mod:`adcompile.scopes`): its stub, a
    function with its parameters and defaults, and the ``FunctionInfo`` that
    ``parse_function`` gives for the stub."""

    def __init__(self, template: FunctionInfo, free: set[str], stub: types.FunctionType):
        self.template = template
        self.free = free
        self.stub = stub

    def info(self) -> FunctionInfo:
        t = self.template
        return FunctionInfo(func=t.func, name=t.name, filename=t.filename, source=t.source,
                            tree=copy_tree(t.tree), params=list(t.params),
                            bindings=dict(t.bindings), names=set(t.names))


def _helper_info(outer: FunctionInfo, helper: scopes.Helper) -> _LocalFunction:
    """The helper's stub and definition, its body checked like a function's."""
    args = copy.deepcopy(helper.tree.args)
    stub_def = ast.FunctionDef(name=helper.name, args=args, body=[ast.Pass()],
                               decorator_list=[], returns=None, type_comment=None)
    if "type_params" in ast.FunctionDef._fields:  # Python 3.12
        stub_def.type_params = []
    module = fix_locations(ast.Module(body=[stub_def], type_ignores=[]))
    code = next(c for c in compile(module, outer.filename, "exec").co_consts
                if isinstance(c, types.CodeType))
    defaults = tuple(ast.literal_eval(d) for d in args.defaults) or None
    stub = types.FunctionType(code, outer.func.__globals__, helper.name, defaults)
    stub.__qualname__ = f"{outer.func.__qualname__}.<locals>.{helper.name}"
    stub.__module__ = outer.func.__module__
    tree = helper.tree
    tree.filename = outer.filename
    info = FunctionInfo(func=stub, name=helper.name, filename=outer.filename,
                        source=outer.source, tree=tree,
                        params=[a.arg for a in args.posonlyargs + args.args])
    _check_subset(info, tuple_result=True)
    info.names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | set(info.params)
    local = _LocalFunction(info, helper.free, stub)
    setattr(stub, LOCAL, local)
    return local


def _plain_zeros(info: FunctionInfo) -> None:
    """Generated code differentiated again (``grad(grad(f))``) without its reuse of memory:
    ``d, pool = recycled(pool, u, live)`` is ``d = zeros_like(u)``, ``v, pool =
    pooled_zeros(pool, n)`` is ``v = np.zeros(n)``, and the pools' making goes (see
    ``stack.recycled``, ``stack.pooled_zeros``).  Which zeros share memory with an adjoint no longer
    read is a matter of speed for the code as it runs; an analysis of the code as a program
    to differentiate would have to follow that memory through the pool."""
    from . import kernels, stack

    def called(node: ast.AST, kernel: object) -> bool:
        return (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and isinstance(node.value.func, ast.Name)
                and info.func.__globals__.get(node.value.func.id) is kernel)

    pooled = {stack.pooled_zeros: numpy.zeros, stack.pooled_empty: numpy.empty}
    if not any(called(n, k) for n in ast.walk(info.tree)
               for k in (stack.recycled, *pooled)):
        return
    fresh = _fresh_names(info)
    zeros = fresh("zeros_like")
    info.bindings[zeros] = kernels.zeros_like
    makers = {}
    for kernel, maker in pooled.items():
        makers[kernel] = fresh(maker.__name__)
        info.bindings[makers[kernel]] = maker
    for node in ast.walk(info.tree):
        for field_name in ("body", "orelse"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list):
                continue
            kept: list[ast.stmt] = []
            for stmt in block:
                if called(stmt, stack.adjoint_pool) or called(stmt, stack.array_pool):
                    continue
                if called(stmt, stack.recycled) and isinstance(stmt.targets[0], ast.Tuple):
                    stmt = ast.copy_location(ast.Assign(
                        targets=[stmt.targets[0].elts[0]],
                        value=_call(zeros, stmt.value.args[1])), stmt)
                for kernel, maker in makers.items():  # v, pool = pooled_zeros(pool, n)
                    if called(stmt, kernel) and isinstance(stmt.targets[0], ast.Tuple):
                        stmt = ast.copy_location(ast.Assign(
                            targets=[stmt.targets[0].elts[0]],
                            value=_call(maker, stmt.value.args[1])), stmt)
                kept.append(stmt)
            if block and not kept:
                kept = [ast.copy_location(ast.Pass(), block[0])]
            block[:] = kept


def _loop_else_as_flags(info: FunctionInfo) -> None:
    """``for ...: ... break ... else: E`` (a ``while`` loop too) is ``broke_1 = False``, the
    loop with ``broke_1 = True`` before each of its own ``break`` statements, then
    ``if not broke_1: E``: the ``else`` runs when the loop ends without ``break``.  A loop
    without ``break`` runs its ``else`` after it, always."""
    loops = [n for n in ast.walk(info.tree) if isinstance(n, (ast.For, ast.While)) and n.orelse]
    if not loops:
        return
    fresh = _fresh_names(info)

    def flagged(stmts: list[ast.stmt], flag: str) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ast.Break):
                out.append(ast.copy_location(ast.Assign(
                    targets=[ast.Name(id=flag, ctx=ast.Store())], value=ast.Constant(True)), stmt))
            elif not isinstance(stmt, (ast.For, ast.While, ast.FunctionDef)):
                for part, inner in _inner_blocks(stmt):
                    setattr(stmt, part, flagged(inner, flag))
            out.append(stmt)
        return out

    def block(stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            for part, inner in _inner_blocks(stmt):
                setattr(stmt, part, block(inner))
            if not (isinstance(stmt, (ast.For, ast.While)) and stmt.orelse):
                out.append(stmt)
                continue
            orelse, stmt.orelse = stmt.orelse, []
            if not any(isinstance(n, ast.Break) for n in _own_statements(stmt.body)):
                out += [stmt, *orelse]
                continue
            flag = fresh("broke")
            stmt.body = flagged(stmt.body, flag)
            out += [ast.copy_location(ast.Assign(targets=[ast.Name(id=flag, ctx=ast.Store())],
                                                 value=ast.Constant(False)), stmt),
                    stmt,
                    ast.copy_location(ast.If(test=ast.UnaryOp(op=ast.Not(), operand=_load(flag)),
                                             body=orelse, orelse=[]), orelse[0])]
        return out

    info.tree.body = block(info.tree.body)
    ast.fix_missing_locations(info.tree)


def _own_statements(stmts: list[ast.stmt]) -> list[ast.stmt]:
    """The statements of a loop's body outside the loops (and functions) nested in it."""
    out: list[ast.stmt] = []
    for stmt in stmts:
        out.append(stmt)
        if not isinstance(stmt, (ast.For, ast.While, ast.FunctionDef)):
            for _, inner in _inner_blocks(stmt):
                out += _own_statements(inner)
    return out


def _inner_blocks(stmt: ast.stmt) -> list[tuple[str, list[ast.stmt]]]:
    """The statement lists ``stmt`` holds (``body``, ``orelse``, ``finalbody``), by field."""
    out = []
    for part in ("body", "orelse", "finalbody"):
        inner = getattr(stmt, part, None)
        if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
            out.append((part, inner))
    return out


def _drop_no_ops(tree: ast.AST) -> None:
    """``assert`` statements leave the function (as under ``python -O``): they change no
    value, and their conditions often test what compiled code does not have (types, shapes
    as tuples).  So do ``del`` of names (freeing memory early: a program that runs never
    reads the name again before it is assigned anew) and string literals standing as
    statements after the docstring (text used as a comment)."""
    def no_op(stmt: ast.stmt, k: int, node: ast.AST) -> bool:
        if isinstance(stmt, ast.Assert) or isinstance(stmt, ast.Delete) and all(
                isinstance(t, ast.Name) for t in stmt.targets):
            return True
        docstring = k == 0 and isinstance(node, ast.FunctionDef)
        return (not docstring and isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str))

    for node in ast.walk(tree):
        for name in ("body", "orelse"):
            block = getattr(node, name, None)
            if not isinstance(block, list) or not any(no_op(s, k, node)
                                                      for k, s in enumerate(block)):
                continue
            kept = [s for k, s in enumerate(block) if not no_op(s, k, node)]
            block[:] = kept or [ast.copy_location(ast.Pass(), block[0])]
