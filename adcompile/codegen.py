"""Code generation: one Python module per (function, wrt), written to the cache and imported.

The module holds the user's function (the forward pass), its gradient and its
value-and-gradient, each a plain Python function over the user's names.  It is keyed by a hash
of everything that determines its text (the user's source, the objects its free names denote,
``wrt``, the rules and this compiler's own code), written once under the cache directory, and
imported; :mod:`adcompile.backend` compiles each function with Numba's on-disk cache.  A process
that finds the file already there neither regenerates it nor (thanks to Numba's cache)
recompiles it.
"""

from __future__ import annotations

import ast
import builtins
import copy
import dataclasses
import hashlib
import inspect
import math
import numbers
import os
import re
import sys
import tempfile
import types
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
from numba.core.caching import NullCache

from . import constants, hoist, kernel_cache, kernels, rules, stack
from .alias import check_writes, snapshot
from .analyze import activity, promote
from .backend import CompiledFunction, jitted, load_module
from .calls import _LIBRARIES, Callees, check_recursion, is_user_function
from .frontend import FunctionInfo, is_local_function, parse_function
from .names import Namespace
from .normalize import Normalized, normalize
from .render import function_def, unparse
from .reverse import gradient_function
from .simplify import make_literal
from .structure import wrappers
from .tangents import forward_activity, jvp_function
from .trees import free_names

_INJECTED_LINE = re.compile(r"^# Bound when loaded: (.*)$", re.MULTILINE)
#: generated modules loaded in this process, by cache key (which covers everything the
#: module's text depends on, so a changed helper or constant gives a new key)
_LOADED: dict[str, Generated] = {}
_WARNED: set[str] = set()
_FALLBACK: list[Path] = []
#: the last line of every module file: a hash of the text above it
_SEAL = re.compile(r"# adcompile sha256 ([0-9a-f]{64})\n\Z")


@dataclass
class Generated:
    """A generated, imported module and the names of its functions by role."""

    module: types.ModuleType
    path: Path
    text: str
    names: dict[str, str]

    def function(self, role: str) -> Any:
        """The compiled function for ``role`` ('forward', 'grad' or 'value_and_grad')."""
        return getattr(self.module, self.names[role])

    def source(self, role: str, *more: str) -> str:
        """The module header, the generated function for ``role`` (then those of ``more``)
        and the helpers they call (or pass to a kernel: ``elementwise(tangent_H, ...)``)."""
        header, functions = _split(self.text)
        main = {n for r, n in self.names.items() if not r.startswith("flat_")}
        helpers = [n for n in functions if n not in main]
        order = [self.names[r] for r in (role, *more)]
        for name in order:  # helpers called, transitively, in module order
            for helper in helpers:
                if helper not in order and re.search(rf"\b{helper}[(,]", functions[name]):
                    order.append(helper)
        body = "\n\n".join(functions[n] for n in order)
        return _used_header(header, body) + "\n\n\n" + body


def cache_dir() -> Path:
    """``$ADCOMPILE_CACHE_DIR`` if set, else a per-user cache directory.

    A directory that cannot be created or written is replaced by a private one under the
    temporary directory, with one warning per process naming both.
    """
    env = os.environ.get("ADCOMPILE_CACHE_DIR")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
        path = Path(base) / "adcompile"
    problem = _unusable(path)
    if problem is None:
        return path
    fallback = _fallback_dir()
    if str(path) not in _WARNED:
        _WARNED.add(str(path))
        what = "ADCOMPILE_CACHE_DIR" if env else "the cache directory"
        warnings.warn(f"adcompile: {what} {path} is not usable ({problem}); generated code "
                      f"is cached in {fallback} instead", stacklevel=2)
    return fallback


def _unusable(path: Path) -> str | None:
    """Why ``path`` cannot hold the cache (``None`` when it can): created if missing, and a
    file can be created in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _fallback_dir() -> Path:
    """A cache directory of this user's under the temporary directory."""
    if _FALLBACK:
        return _FALLBACK[0]
    uid = os.getuid() if hasattr(os, "getuid") else None
    path = Path(tempfile.gettempdir()) / f"adcompile-{uid if uid is not None else 'user'}"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.lstat()
        if path.is_symlink() or (uid is not None and info.st_uid != uid) or _unusable(path):
            path = Path(tempfile.mkdtemp(prefix="adcompile-"))
    except OSError:
        try:
            path = Path(tempfile.mkdtemp(prefix="adcompile-"))
        except OSError:
            return path  # nothing is writable: modules are then loaded from memory
    _FALLBACK.append(path)
    return path


def generate(info: FunctionInfo, wrt: list[str], as_tuple: bool,
             mode: str = "reverse", columns: int = 0) -> Generated:
    """The compiled module for ``info`` differentiated with respect to ``wrt``.  For a
    function whose tuple parameters were flattened (``info.structure``), ``wrt`` names the
    user's parameters, and the roles are the wrappers that take the tuples.  ``mode``
    ``"forward"`` makes the forward-mode module (roles ``forward`` and ``jvp``) instead of
    the reverse-mode one.  With ``columns``, the module also holds the main function
    (``grad``, ``jvp`` or ``vjp``) split for a loop over its last ``columns`` parameters
    (roles ``setup`` and ``columns``, see :mod:`adcompile.hoist`)."""
    key = _cache_key(info, wrt, as_tuple, mode, columns)
    if key in _LOADED:
        return _LOADED[key]
    names = _role_names(info, mode, columns)
    if len(wrt) != 1:  # f' along its one number: only for one wrt
        names.pop("derivative", None)
    path = cache_dir() / f"{info.name}_{key[:20]}.py"
    bindings: dict[str, Any] = dict(info.bindings)
    text, damaged = _read(path, names)
    injected_names = _injected(text) if text is not None else None
    stored = True
    if text is None or not set(injected_names) <= set(bindings):
        build = {"reverse": _module_text, "forward": _forward_module_text,
                 "vjp": _vjp_module_text}[mode]
        text, ns = build(info, wrt, as_tuple, names, columns)
        bindings = ns.bindings
        injected_names = _injected(text)
        stored = _store(path, text, replace=damaged)
    injected = {name: jitted(constants.bound(bindings[name]),
                             _describe_object(bindings[name]))
                for name in injected_names}
    module = load_module(path, f"_adcompile_{path.stem}", injected, _describe(info),
                         text=None if stored else text)
    compiled = {name: value for name, value in vars(module).items()
                if isinstance(value, CompiledFunction)}
    for name in constants.uncacheable({n: f.py_func for n, f in compiled.items()}, injected):
        compiled[name]._cache = NullCache()  # wrappers that pass large arrays
    gen = Generated(module=module, path=path, text=text, names=names)
    if mode != "reverse":
        for role in names:
            if not hasattr(module, names[role]):  # derivative: only for one wrt
                continue
            fn = gen.function(role)
            fn.source = gen.source(role)
            fn.takes_tuples = info.structure is not None and not role.startswith("flat_")
            if role == "vjp" and fn.takes_tuples:  # lists given back as lists
                fn.gives_back = "value_and_grad"
                fn.wrt_positions = tuple(info.structure.params.index(p) for p in wrt)
                fn.as_tuple = as_tuple
        _LOADED[key] = gen
        return gen
    counting = gen.function("tape_bytes")
    params = info.structure.params if info.structure is not None else info.params
    positions = tuple(params.index(p) for p in wrt)
    for role in names:
        fn = gen.function(role)
        fn.source = gen.source(role)
        if role in ("grad", "value_and_grad"):
            fn.tape_bytes = _tape_bytes(counting)
            fn.role, fn.wrt_positions, fn.as_tuple = role, positions, as_tuple
            seed = re.search(r"chain rule from (\w+) back", fn.source)
            fn.result_name = seed.group(1) if seed else ""
            fn.forward = gen.function("forward")
            # what a gradient of this gradient differentiates (see higher.derivative_of)
            fn.primal = (info.func, tuple(wrt)) if info.structure is None else None
        fn.takes_tuples = info.structure is not None
    _LOADED[key] = gen
    return gen


def _module_text(info: FunctionInfo, wrt: list[str], as_tuple: bool,
                 names: dict[str, str], columns: int = 0) -> tuple[str, Namespace]:
    structure = info.structure
    user_wrt, user_as_tuple, user_names = wrt, as_tuple, names
    if structure is not None:  # the flat functions, and the wrappers that take the tuples
        wrt, as_tuple = structure.flat_wrt(wrt), True
        names = _flat_names(names)
    norm, act, ns, forward, callees = _prepared(info, wrt, names, "reverse")
    built = [gradient_function(norm, act, wrt, ns, names[role], as_tuple=as_tuple,
                               with_value=role == "value_and_grad",
                               count_tape=role == "tape_bytes", callees=callees)
             for role in ("grad", "value_and_grad", "tape_bytes")]
    grad, vg, counting = built
    helpers = callees.generate()
    helpers += _user_functions(ns, [forward, *built, *helpers])
    packed, sample = _packed_functions(info.params, wrt, as_tuple, names, ns)
    text = _text(info, ns, f"differentiated with respect to {', '.join(wrt)}",
                 [function_def(names["forward"], forward.args, forward.body), grad, vg,
                  packed, sample, counting, *_split_for_columns(grad, columns, ns, names),
                  *helpers],
                 roles=set(names.values()))
    if structure is not None:
        text += "\n\n\n" + wrappers(structure, user_wrt, user_as_tuple, user_names)
    return text + "\n", ns


def _flat_names(names: dict[str, str]) -> dict[str, str]:
    """``names`` with each role that has a flat function named as that function."""
    return {**names, **{role[len("flat_"):]: name for role, name in names.items()
                        if role.startswith("flat_")}}


def _forward_module_text(info: FunctionInfo, wrt: list[str], as_tuple: bool,
                         names: dict[str, str], columns: int = 0) -> tuple[str, Namespace]:
    """The forward-mode module: the user's function, ``jvp_<name>`` and the tangent alone,
    ``jvp_<name>_tangent`` (see :mod:`adcompile.tangents`)."""
    structure = info.structure
    user_wrt, user_names = wrt, names
    if structure is not None:  # the flat functions, and the wrappers that take the tuples
        wrt = structure.flat_wrt(wrt)
        names = _flat_names(names)
    norm, act, ns, forward, callees = _prepared(info, wrt, names, "forward")
    outlined: list[ast.FunctionDef] = []  # the jvp's tangents of arrays, on numbers
    jvp = jvp_function(norm, act, wrt, ns, names["jvp"], callees=callees, outlined=outlined)
    tangent = jvp_function(norm, act, wrt, ns, names["tangent"], callees=callees,
                           tangent_only=True)
    helpers = callees.generate()
    helpers += _user_functions(ns, [forward, jvp, tangent, *helpers])
    functions = [function_def(names["forward"], forward.args, forward.body), jvp, *outlined,
                 tangent, *_split_for_columns(jvp, columns, ns, names)]
    if "derivative" in names:  # f' for a number: the tangent along 1 (grad of a gradient)
        seed = ast.Call(func=ast.Name(id=ns.bind("unit_seed", kernels.unit_seed),
                                      ctx=ast.Load()),
                        args=[ast.Name(id=wrt[0], ctx=ast.Load())], keywords=[])
        call = ast.Call(func=ast.Name(id=names["tangent"], ctx=ast.Load()),
                        args=[*(ast.Name(id=a.arg, ctx=ast.Load()) for a in forward.args.args),
                              seed], keywords=[])
        functions.append(function_def(names["derivative"], forward.args,
                                      [ast.Return(value=call)]))
    text = _text(info, ns, f"forward mode (tangents) with respect to {', '.join(wrt)}",
                 [*functions, *helpers], roles=set(names.values()))
    if structure is not None:
        tangents = [a.arg for a in jvp.args.args[len(jvp.args.args) - len(wrt):]]
        text += "\n\n\n" + wrappers(structure, user_wrt, False, user_names, mode="forward",
                                     tangents=tangents)
    return text + "\n", ns


def _vjp_module_text(info: FunctionInfo, wrt: list[str], as_tuple: bool,
                     names: dict[str, str], columns: int = 0) -> tuple[str, Namespace]:
    """The module of ``vjp``: the user's function and ``vjp_<name>(*args, cotangent)``
    returning ``(value, gradients of <value . cotangent>)``, reverse mode seeded with the
    caller's cotangent (the result may be an array)."""
    structure = info.structure
    user_wrt, user_as_tuple, user_names = wrt, as_tuple, names
    if structure is not None:  # the flat functions, and the wrapper that takes the tuples
        wrt, as_tuple = structure.flat_wrt(wrt), True
        names = _flat_names(names)
    norm, act, ns, forward, callees = _prepared(info, wrt, names, "vjp")
    vjp = gradient_function(norm, act, wrt, ns, names["vjp"], with_value=True,
                            as_tuple=as_tuple, callees=callees, cotangent=True)
    helpers = callees.generate()
    helpers += _user_functions(ns, [forward, vjp, *helpers])
    text = _text(info, ns, f"reverse mode from a cotangent, with respect to {', '.join(wrt)}",
                 [function_def(names["forward"], forward.args, forward.body), vjp,
                  *_split_for_columns(vjp, columns, ns, names), *helpers],
                 roles=set(names.values()))
    if structure is not None:
        text += "\n\n\n" + wrappers(structure, user_wrt, user_as_tuple, user_names,
                                     mode="vjp")
    return text + "\n", ns


def _split_for_columns(main: ast.FunctionDef, columns: int, ns: Namespace,
                       names: dict[str, str]) -> list[ast.FunctionDef]:
    """``main`` split for a loop over its last ``columns`` parameters (none without)."""
    if not columns:
        return []

    def resolve(node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            return ns.bindings.get(node.id, getattr(builtins, node.id, None))
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return None if base is None else getattr(base, node.attr, None)
        return None

    return list(hoist.split(main, columns, resolve, names["setup"], names["columns"]))


def _prepared(info: FunctionInfo, wrt: list[str], names: dict[str, str], mode: str
              ) -> tuple[Normalized, Any, Namespace, ast.FunctionDef, Callees]:
    """The normalized function, its activity, the module's namespace, the forward function
    and the generator of the helpers for called functions, for ``mode`` (``"reverse"``,
    ``"vjp"`` or ``"forward"``)."""
    check_recursion(info)
    tangents = mode == "forward"
    norm = normalize(info)
    act = forward_activity(norm, wrt) if tangents else activity(
        norm, wrt, array_result=mode == "vjp")
    ns = Namespace(_module_bindings(info), norm.names.taken | set(names.values()))
    ns.finite_only = not may_hold_infinity(info)
    promote(norm, act, ns.bind)
    check_writes(norm)
    if not tangents:
        snapshot(norm, act, ns.bind)

    def helper(func: Any, positions: list[int], name: str,
               array_result: bool = False) -> ast.FunctionDef:
        cnorm = _callee(func, ns)
        cwrt = [cnorm.info.params[i] for i in positions]
        if tangents:
            cact = forward_activity(cnorm, cwrt)
            promote(cnorm, cact, ns.bind)
            return jvp_function(cnorm, cact, cwrt, ns, name, callees=callees)
        cact = activity(cnorm, cwrt, array_result=array_result)
        promote(cnorm, cact, ns.bind)
        snapshot(cnorm, cact, ns.bind)
        return gradient_function(cnorm, cact, cwrt, ns, name, with_value=False,
                                 as_tuple=len(cwrt) > 1, seed_param=True, callees=callees)

    callees = Callees(helper, prefix="jvp" if tangents else "grad")
    return norm, act, ns, norm.to_function(), callees


#: words that name an infinity in Python and NumPy source (np.inf, math.inf, float("inf"),
#: np.PINF, np.isinf, ...)
_INFINITY = re.compile(r"inf(?:inity|ty)?\b|PINF|NINF|isinf|isfinite|posinf|neginf",
                       re.IGNORECASE)


def may_hold_infinity(info: FunctionInfo) -> bool:
    """Whether the sources the module is made from mention an infinity: the function's and
    those of the functions it calls, and its constants.  A quotient is infinite for every
    divisor near when its numerator is (``(m - np.inf) / gamma``, the border of a soft-DTW
    table), a constant, and the rule of ``x / y`` guards against ``0 * inf`` for it
    (``kernels.finite_or_zero``); code with no infinity in sight, the common case, does
    without the guard, which costs ~10 % of an N-body force loop's gradient.  Infinite data
    passed in by the caller are not looked for (the divisor's derivative may then be NaN)."""
    sources = [info.source]
    for obj in info.bindings.values():
        if isinstance(obj, float) and math.isinf(obj):
            return True
        if is_user_function(obj):
            try:
                sources.append(inspect.getsource(getattr(obj, "py_func", obj).__code__))
            except (OSError, TypeError, AttributeError):
                return True
    return any(_INFINITY.search(text) for text in sources)


def _module_bindings(info: FunctionInfo) -> dict[str, Any]:
    """The free names the module binds: every one of the function's but its own helpers'
    (inlined at each call: see :mod:`adcompile.scopes`)."""
    return {name: obj for name, obj in info.bindings.items() if not is_local_function(obj)}


def _text(info: FunctionInfo, ns: Namespace, what: str,
          functions: list[ast.FunctionDef], roles: set[str] = frozenset()) -> str:
    """The module's text: the docstring saying what it holds, the imports and constants of
    its namespace, then ``functions`` (those of ``roles`` are called from outside: a large
    array reaches the others as a parameter, see :mod:`adcompile.constants`)."""
    functions = constants.pass_large_arrays(ns.bindings, functions, set(roles),
                                            ns.taken | set(ns.bindings))
    header, injected = _header(ns)
    doc = (f"Generated by adcompile from {info.name}() in {info.filename}:{info.tree.lineno},\n"
           f"{what}.  Regenerated when the source changes; do not edit.\n")
    module = ast.Module(body=[ast.Expr(value=ast.Constant(value=doc)), *header],
                        type_ignores=[])
    text = unparse(ast.fix_missing_locations(module))
    if injected:
        text += f"\n# Bound when loaded: {', '.join(injected)}"
    for fn in functions:
        text += "\n\n\n" + unparse(fn)
    return text


def _role_names(info: FunctionInfo, mode: str = "reverse", columns: int = 0
                ) -> dict[str, str]:
    """Module-level names of the generated functions, clear of every name the user's
    function (or anything it calls) already uses at module level."""
    taken = set(info.bindings) | _callee_names(info.func, set())
    out = {}
    roles = [("forward", info.name), ("grad", f"grad_{info.name}"),
             ("value_and_grad", f"value_and_grad_{info.name}"),
             ("packed", f"value_and_grad_{info.name}_packed"),
             ("sample", f"value_and_grad_{info.name}_sample"),
             ("tape_bytes", f"grad_{info.name}_tape_bytes")]
    if mode == "forward":
        roles = [("forward", info.name), ("jvp", f"jvp_{info.name}"),
                 ("tangent", f"jvp_{info.name}_tangent"),
                 ("derivative", f"derivative_{info.name}")]
    elif mode == "vjp":
        roles = [("forward", info.name), ("vjp", f"vjp_{info.name}")]
    if columns:  # the main function split for a loop over its last parameters
        main = dict(roles)[{"reverse": "grad", "forward": "jvp", "vjp": "vjp"}[mode]]
        roles += [("setup", f"{main}_setup"), ("columns", f"{main}_columns")]
    if info.structure is not None:  # the functions of the flattened parameters
        roles = [(role, name) for role, name in roles if role != "derivative"]
        roles += [("flat_" + role, f"{name}_flat") for role, name in roles
                  if role in ("forward", "grad", "value_and_grad", "tape_bytes", "jvp",
                              "tangent", "vjp")]
    for role, name in roles:
        candidate, k = name, 0
        while candidate in taken or (role != "forward" and candidate in out.values()):
            k += 1
            candidate = f"{name}_{k}"
        out[role] = candidate
        taken.add(candidate)
    return out


def _callee_names(func: Any, seen: set[int]) -> set[str]:
    """Module-level names used by the user functions ``func`` calls, transitively."""
    out: set[str] = set()
    if id(func) in seen:
        return out
    seen.add(id(func))
    code = getattr(func, "__code__", None)
    if code is None:
        return out
    for name in code.co_names:
        obj = func.__globals__.get(name)
        if is_user_function(obj):
            out.add(name)
            out |= _callee_names(getattr(obj, "py_func", obj), seen)
    return out


def _tape_bytes(counting: Any) -> Any:
    def tape_bytes(*args: Any) -> int:
        """Bytes of tape one call of the gradient at ``args`` allocates (debugging aid; the
        helpers of called user functions keep their own tapes and are not counted)."""
        return int(counting(*args)[1])

    return tape_bytes


def _user_functions(ns: Namespace, functions: list[ast.FunctionDef]
                    ) -> list[ast.FunctionDef]:
    """The user functions the module calls (from ``functions``, and from each other), as
    functions of the module (so that Numba compiles them together), with their own free
    names bound in turn.  A function whose calls were all inlined is not among them."""
    out: dict[str, ast.FunctionDef] = {}
    used = _loaded_names(functions)
    pending = True
    while pending:
        pending = False
        for name, obj in list(ns.bindings.items()):
            if (name in out or name not in used or not is_user_function(obj)
                    or rules.has_rule(obj)):
                continue
            callee = _callee(obj, ns).to_function()
            out[name] = function_def(name, callee.args, callee.body)
            used |= _loaded_names([out[name]])
            pending = True
    ns.emitted = set(out)
    return list(out.values())


def _loaded_names(functions: list[ast.FunctionDef]) -> set[str]:
    """The free names the functions read (a local variable named like a module-level
    function, ``d_mlp`` beside a gradient bound as ``d_mlp``, is not a use of it)."""
    return set().union(*(free_names(f) for f in functions))


def _callee(func: Any, ns: Namespace) -> Normalized:
    """A called user function, normalized, with its free names bound in the module (renamed
    where the module already uses the name for something else)."""
    callee = _locals_apart(parse_function(func), ns)
    norm = normalize(callee)
    check_writes(norm)
    renames = {}
    for name, obj in callee.bindings.items():
        bound = ns.bind(name, obj)
        if bound != name:
            renames[name] = bound
    if renames:
        for node in [*norm.stmts, norm.result]:
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and n.id in renames:
                    n.id = renames[n.id]
        callee.bindings = {renames.get(n, n): obj for n, obj in callee.bindings.items()}
    return norm


def _locals_apart(info: FunctionInfo, ns: Namespace) -> FunctionInfo:
    """``info`` with each of its parameters and locals that the module already binds (a
    kernel the caller's code calls, such as ``zeros_like``) renamed ``name_1``, ...: in the
    callee's helper a local of that name would hide the module-level name."""
    tree = info.tree
    local = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)} | {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    clash = sorted(local & set(ns.bindings))
    if not clash:
        return info
    taken = info.names | set(info.bindings) | set(ns.bindings) | ns.taken
    renames = {}
    for name in clash:
        k = 1
        while f"{name}_{k}" in taken:
            k += 1
        renames[name] = f"{name}_{k}"
        taken.add(renames[name])
    tree = copy.deepcopy(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in renames:
            node.id = renames[node.id]
        elif isinstance(node, ast.arg) and node.arg in renames:
            node.arg = renames[node.arg]
    return dataclasses.replace(info, tree=tree, params=[renames.get(p, p) for p in info.params],
                               names={renames.get(n, n) for n in info.names})


def _packed_functions(params: list[str], wrt: list[str], as_tuple: bool,
                      names: dict[str, str], ns: Namespace) -> list[ast.FunctionDef]:
    """Wrappers over value-and-gradient with the parameters packed in one array, for the
    optimizers: ``packed(theta, args)`` and ``sample(theta, data, i)`` (row ``i`` of each
    data array as the other arguments), each returning ``(value, tuple of gradients)``."""

    def name(n: str) -> ast.Name:
        return ast.Name(id=n, ctx=ast.Load())

    def index(value: ast.expr, i: ast.expr | int) -> ast.Subscript:
        i = ast.Constant(value=i) if isinstance(i, int) else i
        return ast.Subscript(value=value, slice=i, ctx=ast.Load())

    others = [p for p in params if p not in wrt]
    call_args = [index(name("theta"), wrt.index(p)) if p in wrt
                 else index(name("args"), others.index(p)) for p in params]
    call = ast.Call(func=name(names["value_and_grad"]), args=call_args, keywords=[])
    if as_tuple:
        body: list[ast.stmt] = [ast.Return(value=call)]
    else:
        body = [ast.Assign(targets=[ast.Tuple(elts=[ast.Name(id="value", ctx=ast.Store()),
                                                    ast.Name(id="grad", ctx=ast.Store())],
                                              ctx=ast.Store())], value=call, lineno=1),
                ast.Return(value=ast.Tuple(elts=[name("value"), ast.Tuple(
                    elts=[name("grad")], ctx=ast.Load())], ctx=ast.Load()))]
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg="theta"), ast.arg(arg="args")],
                         kwonlyargs=[], kw_defaults=[], defaults=[])
    packed = function_def(names["packed"], args, body)
    rows = ast.Tuple(elts=[index(index(name("data"), k), name("i")) for k in range(len(others))],
                     ctx=ast.Load())
    sample_body = [ast.Return(value=ast.Call(func=name(names["packed"]),
                                             args=[name("theta"), rows], keywords=[]))]
    sample_args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in
                                                      ("theta", "data", "i")],
                                kwonlyargs=[], kw_defaults=[], defaults=[])
    return [packed, function_def(names["sample"], sample_args, sample_body)]


def _header(ns: Namespace) -> tuple[list[ast.stmt], list[str]]:
    """Imports and constants for the module-level names, and the names bound at load time."""
    imports: list[ast.stmt] = []
    constants: list[ast.stmt] = []
    injected: list[str] = []
    for name, obj in sorted(ns.bindings.items()):
        if name in ns.emitted:
            continue
        if isinstance(obj, types.ModuleType):
            alias = None if obj.__name__ == name else name
            imports.append(ast.Import(names=[ast.alias(name=obj.__name__, asname=alias)]))
        elif isinstance(obj, (bool, numbers.Integral)):
            constants.append(_assign(name, ast.Constant(value=int(obj) if not isinstance(
                obj, bool) else obj)))
        elif isinstance(obj, numbers.Real) and abs(float(obj)) < float("inf"):
            constants.append(_assign(name, make_literal(float(obj))))
        elif _is_builtin(name, obj):
            continue
        elif (where := _importable(obj)) is not None:
            module_name, attr = where
            alias = None if attr == name else name
            imports.append(ast.ImportFrom(module=module_name,
                                          names=[ast.alias(name=attr, asname=alias)], level=0))
        else:
            injected.append(name)
    merged: dict[str, ast.ImportFrom] = {}
    for node in [n for n in imports if isinstance(n, ast.ImportFrom)]:
        if node.module in merged:  # one line per module: from m import a, b
            merged[node.module].names.extend(node.names)
            imports.remove(node)
        else:
            merged[node.module] = node
    imports.sort(key=lambda node: (isinstance(node, ast.ImportFrom), ast.unparse(node)))
    return imports + constants, injected


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value, lineno=1)


def _is_builtin(name: str, obj: Any) -> bool:
    return getattr(builtins, name, None) is obj


def _importable(obj: Any) -> tuple[str, str] | None:
    """``(module, name)`` for compiled library functions such as ``math.exp``; else None.

    Python functions are never imported: they are bound at load time to their Numba-compiled
    version, which the generated code needs.
    """
    module = getattr(obj, "__module__", None) or ""
    if module == stack.__name__ or module.startswith(kernels.__name__):  # kernels_shapes too
        return obj.__module__, obj.__name__
    if isinstance(obj, types.FunctionType) or hasattr(obj, "py_func"):
        return None
    name = getattr(obj, "__name__", None)
    for module_name in (getattr(obj, "__module__", None), "numpy", "math"):
        if not module_name or not name:
            continue
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, name, None) is obj:
            return module_name, name
    return None


def _cache_key(info: FunctionInfo, wrt: list[str], as_tuple: bool,
               mode: str = "reverse", columns: int = 0) -> str:
    """A hash of everything the generated module (and its machine code) depends on."""
    from . import __version__

    h = hashlib.sha256()
    for part in (__version__, _self_hash(), rules.fingerprint(), numba.__version__,
                 np.__version__, sys.version, f"boundscheck={numba.config.BOUNDSCHECK}",
                 info.filename, str(info.tree.lineno), info.source, repr(wrt), repr(as_tuple),
                 mode, info.variant, f"columns={columns}",
                 info.structure.key() if info.structure is not None else ""):
        h.update(part.encode())
        h.update(b"\0")
    seen = {id(info.func)}
    for value in (*(info.func.__defaults__ or ()), *(info.func.__kwdefaults__ or {}).values()):
        h.update(f"default {_describe_object(value, seen)}\0".encode())
    for name, obj in sorted(info.bindings.items()):
        h.update(f"{name}={_describe_object(obj, seen)}\0".encode())
    for obj in info.inlined:
        h.update(f"inlined {_describe_object(obj, seen)}\0".encode())
    return h.hexdigest()


def _describe_object(obj: Any, seen: set[int] | None = None) -> str:
    """What a value the generated code depends on is, as text stable across processes.

    A user function is described by its source, its code, its defaults and, recursively, the
    values of the globals and closure variables it reads (so an edit to a function a helper
    calls, or to a constant a helper reads, changes the description); ``seen`` stops cycles.
    """
    if seen is None:
        seen = set()
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__}"
    if isinstance(obj, (bool, numbers.Number)):
        return f"{type(obj).__name__} {obj!r}"
    if isinstance(obj, (tuple, list)):
        return "(" + ", ".join(_describe_object(v, seen) for v in obj) + ")"
    if isinstance(obj, np.ndarray):
        return constants.digest(obj)
    if is_local_function(obj):  # its source is the function's, its free names the function's
        return f"helper {obj.__qualname__}"
    func = getattr(obj, "py_func", obj)
    if isinstance(func, types.FunctionType):
        name = f"{func.__module__}.{func.__qualname__}"
        if (func.__module__ or "").split(".")[0] in _LIBRARIES:
            return f"function {name}"
        if id(func) in seen:
            return f"function {name} (above)"
        seen.add(id(func))
        return f"function {name} {_function_digest(func, seen)}"
    kind = type(obj)
    return (f"object {kind.__module__}.{kind.__qualname__} "
            f"{getattr(obj, '__module__', '')}.{getattr(obj, '__name__', '')}")


def _function_digest(func: types.FunctionType, seen: set[int]) -> str:
    """A hash of a user function's source, code and defaults, and of what its free names
    denote, recursively."""
    code = func.__code__
    h = hashlib.sha256()
    try:
        h.update(inspect.getsource(code).encode())
    except (OSError, TypeError):
        pass
    h.update(b"\0")
    h.update(_code_digest(code).encode())
    for value in (*(func.__defaults__ or ()), *(func.__kwdefaults__ or {}).items()):
        h.update(f"default {_describe_object(value, seen)}\0".encode())
    for name in sorted(_global_names(code)):
        if name in func.__globals__:
            h.update(f"{name}={_describe_object(func.__globals__[name], seen)}\0".encode())
    for name, cell in zip(code.co_freevars, func.__closure__ or (), strict=False):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        h.update(f"closure {name}={_describe_object(value, seen)}\0".encode())
    wrapped = getattr(func, "__wrapped__", None)
    if wrapped is not None:
        h.update(f"wraps {_describe_object(wrapped, seen)}\0".encode())
    return h.hexdigest()


def _code_digest(code: types.CodeType) -> str:
    h = hashlib.sha256(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_argcount,
                   code.co_kwonlyargcount)).encode())
    for const in code.co_consts:
        h.update(_code_digest(const).encode() if isinstance(const, types.CodeType)
                 else f"{type(const).__name__} {const!r}".encode())
    return h.hexdigest()


def _global_names(code: types.CodeType) -> set[str]:
    """Every name ``code`` (or code nested in it) may read as a global; attribute names too,
    which over-approximates harmlessly."""
    out = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= _global_names(const)
    return out


def _self_hash() -> str:
    """A hash of this compiler's own source: a change to it invalidates generated modules."""
    return kernel_cache.package_stamp()


def _describe(info: FunctionInfo) -> str:
    return f"{info.name}() at {info.filename}:{info.tree.lineno}"


def _read(path: Path, names: dict[str, str]) -> tuple[str | None, bool]:
    """The text of the module file at ``path`` and whether a damaged file is there.

    The text is ``None`` when there is no usable file: missing, unreadable, not UTF-8, with
    a seal that does not match the text (truncated or edited), or not the module expected
    (see :func:`_intact`).
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, False
    except OSError:
        return None, True
    try:
        sealed = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, True
    match = _SEAL.search(sealed)
    text = sealed[:match.start()] if match else ""
    if match is None or hashlib.sha256(text.encode()).hexdigest() != match.group(1):
        return None, True
    if not _intact(text, names):
        return None, True
    return text, False


def _intact(text: str, names: dict[str, str]) -> bool:
    """Whether ``text`` parses, defines every role's function, and binds every free name it
    uses: by import, assignment, or the names on its ``# Bound when loaded`` line (which it
    must not also define)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    defined: set[str] = set()
    functions = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            defined.add(node.name)
            functions.append(node)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
    if not set(names.values()) <= defined:
        return False
    free = _loaded_names(functions)
    bound = set(_injected(text))
    free -= defined | set(dir(builtins))
    return free <= bound and not bound & defined


def _store(path: Path, text: str, replace: bool) -> bool:
    """Write the module file (over a damaged one when ``replace``); ``False`` if it cannot be
    written (full disk, read-only directory): the module is then loaded from memory."""
    try:
        _write(path, text + f"# adcompile sha256 {hashlib.sha256(text.encode()).hexdigest()}\n",
               replace=replace)
    except OSError as exc:
        if "write" not in _WARNED:
            _WARNED.add("write")
            warnings.warn(f"adcompile: cannot write {path} ({exc.strerror or exc}); the "
                          "generated code is used without caching", stacklevel=3)
        return False
    return True


def _write(path: Path, text: str, replace: bool = False) -> None:
    """Write atomically, through a temporary file that is removed whatever happens.

    An existing file is left alone (another process wrote the same text) unless ``replace``
    (it is damaged), in which case it is replaced atomically.  Files are created as ``open``
    would, so the process umask decides who else may read them, as for Numba's files.
    """
    if path.exists() and not replace:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, text.encode())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:  # a file system without hard links
                if not path.exists():
                    os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _write_all(fh: Any, data: bytes) -> None:
    fh.write(data)
    fh.flush()


def _injected(text: str) -> list[str]:
    match = _INJECTED_LINE.search(text)
    return [n.strip() for n in match.group(1).split(",")] if match else []


def _used_header(header: str, body: str) -> str:
    """The header without imports, constants and bindings that ``body`` does not use."""
    def used(name: str) -> bool:
        return re.search(rf"\b{re.escape(name)}\b", body) is not None

    lines = []
    for line in header.splitlines():
        if line.startswith("from "):  # from m import a, b as c: keep the names used
            module, _, names = line[5:].partition(" import ")
            kept = [n for n in names.split(", ") if used(n.split(" as ")[-1])]
            if not kept:
                continue
            line = f"from {module} import {', '.join(kept)}"
        bound = re.match(r"^(?:import \S+ as (\w+)|import (\w+)|(\w+) = )", line)
        if bound and not used(next(g for g in bound.groups() if g)):
            continue
        if line.startswith("# Bound when loaded: "):
            names = [n for n in line.split(": ", 1)[1].split(", ") if used(n)]
            if not names:
                continue
            line = "# Bound when loaded: " + ", ".join(names)
        lines.append(line)
    return "\n".join(lines).rstrip()


def function_text(text: str, name: str) -> str:
    """The text of the function ``name`` in a module's ``text``."""
    return _split(text)[1][name]


def _split(text: str) -> tuple[str, dict[str, str]]:
    chunks = re.split(r"\n+(?=def )", text.strip())
    functions = {}
    for chunk in chunks[1:]:
        name = chunk[4:chunk.index("(")]
        functions[name] = chunk.rstrip() + "\n"
    return chunks[0].rstrip(), functions

