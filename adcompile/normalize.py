"""Normalization: rewrite the body into one operation per assignment.

After this pass (which first runs :mod:`adcompile.desugar`) every simple statement is
``name = op`` where ``op`` is one binary or unary operation, a comparison, a subscript read, a
call whose arguments are names or constants, or a plain copy.  Control flow is structured:
``if name:``, ``for i in range(a, b, s):`` and ``while name:``, and the body ends in
``return atom``.  Nested expressions get fresh temporaries ``t1, t2, ...``; augmented assignment,
tuple unpacking, conditional expressions, ``and``/``or`` and chained comparisons are desugared.

A reassigned name gets a new version (``x``, ``x_1``, ...) so that no value is overwritten and
the backward sweep can read every one.  Where branches join, both branches assign the same
version.  A loop gets one *carried* version per name it assigns that lives across iterations:
copied in before the loop, copied back at the end of the body (``loop.carried`` lists them).
"""

from __future__ import annotations

import ast
import builtins
import copy
import inspect
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy

from . import kernels, kernels_fastmath, kernels_shapes, rules
from .calls import is_user_function, parameters, positional_arguments
from .desugar import desugar, known_tuples
from .errors import AdcompileError
from .fold import fold_constant_branches
from .frontend import (
    FunctionInfo,
    free_value,
    is_local_function,
    is_mask,
    mask_names,
    parse_function,
)
from .names import NameGen
from .render import function_def
from .reuse import share_loads
from .views import views_as_indexes


@dataclass
class Normalized:
    """The normalized body: ``stmts`` (structured), then ``return result``."""

    info: FunctionInfo
    stmts: list[ast.stmt]
    result: ast.expr
    names: NameGen
    #: version -> the user variable it is a version of (``x_1`` -> ``x``)
    variables: dict[str, str] = field(default_factory=dict)

    def to_function(self) -> ast.FunctionDef:
        """The normalized body as a function (for printing and tests)."""
        body: list[ast.stmt] = [*self.stmts, ast.Return(value=self.result)]
        return function_def(self.info.name, self.info.tree.args, body)


def is_atom(node: ast.expr) -> bool:
    """Names, numeric literals and module constants such as ``math.pi``."""
    return isinstance(node, (ast.Name, ast.Constant, ast.Attribute)) or _is_number(node)


def normalize(info: FunctionInfo) -> Normalized:
    """Normalize ``info.tree`` (see the module docstring)."""
    return _Normalizer(info).run()


def assigned_names(stmts: list[ast.stmt]) -> list[str]:
    """User names stored anywhere in ``stmts``, in order of first appearance."""
    seen: dict[str, None] = {}
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                seen.setdefault(node.id, None)
    return list(seen)


class _Normalizer:
    def __init__(self, info: FunctionInfo) -> None:
        self.info = info
        self.names = NameGen(info.names | set(info.bindings))
        self.current: dict[str, str] = {p: p for p in info.params}
        self.variables: dict[str, str] = {p: p for p in info.params}
        self.out: list[ast.stmt] = []
        self.lineno = info.tree.lineno
        #: names bound to tuples, kept as tuple displays of atoms (never emitted): a tuple
        #: parameter's leaves, ``p = (a, b)``; reads of their elements are the atoms
        self.tuples: dict[str, ast.Tuple] = {}
        #: names bound to tuples in a loop or a branch: the tuple is held by one variable per
        #: element (``state_0, state_1``), carried and joined like any other (see store_tuple)
        self.tuple_vars: dict[str, object] = {}
        self.depth = 0  # blocks (branches, loop bodies) entered
        self.inlining: list[object] = []  # user functions being inlined (see inline)
        #: user names that only ever hold boolean masks (``m = x > 0``): x[m] is a mask read
        self.masks: set[str] = set()
        #: versions assigned an element or slice of an array (``r = A[i]``): maybe views
        self.views: set[str] = set()
        self.mixed: dict[str, int] = {}  # module rows of ints and floats: see run

    def run(self) -> Normalized:
        # module-level rows of ints and floats ((0, 1, 2.5), ...): loops over them are
        # unrolled, each row a tuple of its literals, so that the ints stay ints
        self.mixed = {name: len(raw) for name in self.info.sequences
                      if _mixed_rows(raw := free_value(self.info, name))}
        tree = desugar(self.info.tree, self.names, tuples=self.mixed)
        views_as_indexes(tree, set(self.info.params), self.info.resolve,
                         set(known_tuples(tree)) | set(self.mixed), self.builtin)
        self.masks |= mask_names(tree, self.info.resolve)
        body = tree.body
        if body and isinstance(body[0], ast.Expr):  # docstring
            body = body[1:]
        self.block(body[:-1])
        ret = body[-1]
        assert isinstance(ret, ast.Return) and ret.value is not None
        self.lineno = ret.lineno
        value = ret.value
        if is_atom(value) or _is_number(value):
            result = self.atom(value)
        else:
            result_name = self.info.name if self.info.name not in self.names.taken else "result"
            result_name = self.names.fresh(result_name)
            self.emit(result_name, self.operation(value))
            result = ast.Name(id=result_name, ctx=ast.Load())
        kept = set(self.info.names) | ({result.id} if isinstance(result, ast.Name) else set())
        stmts = share_loads(fold_constant_branches(self.out), self.info.resolve, kept)
        norm = Normalized(self.info, stmts, result, self.names, self.variables)
        self.vector_math(norm)
        return norm

    def builtin(self, name: str) -> str:
        """The name under which the function calls the builtin ``name`` (bound here, under
        another name if the function uses this one otherwise)."""
        obj = getattr(builtins, name)
        chosen, k = name, 0
        while self.info.bindings.get(chosen, obj) is not obj or (
                chosen in self.info.names and chosen not in self.info.bindings):
            k += 1
            chosen = f"{name}_{k}"
        self.info.bindings[chosen] = obj
        self.names.taken.add(chosen)
        return chosen

    def vector_math(self, norm: Normalized) -> None:
        """``np.tanh(x)``, ``np.exp(x)``, ... whose result may be an array as the kernels of
        ``kernels_fastmath``: Numba's own loops call the C library once per element, which
        no vector code can replace.  Numbers keep NumPy's call, as the user wrote it."""
        from .analyze import array_like, assignments, target_name  # analyze imports this

        stmts = list(assignments(norm.stmts))
        calls = [(s, kernel) for s in stmts if isinstance(s.value, ast.Call) and (
            kernel := kernels_fastmath.VECTORISED.get(id(self.info.resolve(s.value.func))))]
        if not calls:
            return
        arrays = array_like(norm, stmts)
        for stmt, kernel in calls:
            if target_name(stmt) in arrays:
                stmt.value.func = self.reference(kernel)

    # -- statements -------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt]) -> None:
        for stmt in stmts:
            self.lineno = getattr(stmt, "lineno", self.lineno)
            self.statement(stmt)

    def nested(self, build: Callable[[], None]) -> list[ast.stmt]:
        """The statements ``build`` emits, collected into a block of their own."""
        saved, self.out = self.out, []
        self.depth += 1
        try:
            build()
            return self.out
        finally:
            self.out = saved
            self.depth -= 1

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Pass):
            return
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) == 1:
                self.assign(stmt.targets[0], stmt.value)
            else:  # a = b = expr: evaluate once
                value = self.atom(stmt.value)
                for target in stmt.targets:
                    self.bind(target, value)
            return
        if isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                self.assign(stmt.target, stmt.value)
            return
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Subscript):
            read = ast.Subscript(value=stmt.target.value, slice=stmt.target.slice,
                                 ctx=ast.Load())
            self.store(stmt.target, ast.BinOp(left=read, op=stmt.op, right=stmt.value))
            return
        if isinstance(stmt, ast.AugAssign):
            target = stmt.target
            if not isinstance(target, ast.Name):
                raise self.info.error(stmt, "augmented assignment to this target is not "
                                      "supported", construct="augmented assignment",
                                      hint="assign to a plain name")
            old = self.load(target.id, target)
            operand = self.atom(stmt.value)
            guard = None
            param = target.id in self.info.params and old.id == target.id
            if old.id in self.views or param:
                # r = A[i]; r += v: a number or a row of A, which Python changes in place;
                # alias.check_writes keeps this check (refusing a row at the first call)
                # only where that matters, and drops it elsewhere.  Likewise u *= 2.0 on a
                # parameter not known to be an array: in place for an array, and so a
                # change of the caller's array (refused when Numba types one there)
                checked = self.names.temp()
                self.emit(checked, ast.Call(func=self.kernel("number_only"), args=[old],
                                            keywords=[]))
                guard = self.out[-1]
                old = ast.Name(id=checked, ctx=ast.Load())
            op = ast.BinOp(left=old, op=stmt.op, right=operand)
            self.emit(self.define(target.id), op)
            self.out[-1].augmented = guard.value.args[0].id if guard else old.id
            self.out[-1].guard = guard  # in place for an array: see alias.check_writes
            self.out[-1].param_guard = param and guard is not None and old.id not in self.views
            return
        if isinstance(stmt, ast.If):
            self.if_statement(stmt)
            return
        if isinstance(stmt, ast.For):
            self.for_loop(stmt)
            return
        if isinstance(stmt, ast.While):
            self.while_loop(stmt)
            return
        raise self.info.error(stmt, f"the statement '{type(stmt).__name__}' is not supported",
                              construct=type(stmt).__name__, hint="write it with assignments, "
                              "if, for over range and while")

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if self.to_inline(value):
            self.bind(target, self.inline(value))
            return
        held = self.tuple_value(value)
        if held is not None:
            self.bind(target, held)
            return
        if isinstance(target, ast.Name):
            self.forget_tuple(target.id, target)
            op = self.atom(value) if is_atom(value) else self.operation(value)
            self.emit(self.define(target.id), op)
            return
        if isinstance(target, ast.Subscript):
            self.store(target, value)
            return
        if (isinstance(target, ast.Tuple) and isinstance(value, ast.Attribute)
                and value.attr == "shape"):
            # n, m = A.shape: read the parts of one value
            whole = self.atom(value)
            for k, elt in enumerate(target.elts):
                if not isinstance(elt, ast.Name):
                    raise self.info.error(target, "nested unpacking is not supported",
                                          construct="nested unpacking",
                                          hint="unpack one level at a time")
                self.emit(self.define(elt.id), ast.Subscript(
                    value=copy.deepcopy(whole), slice=ast.Constant(value=k), ctx=ast.Load()))
            return
        if isinstance(target, ast.Tuple):
            if (isinstance(value, ast.Name) and value.id in self.info.sequences
                    and not self.is_local(value)):
                # a, b = PARAMS, a module-level tuple of numbers: its values, as the literals
                # they are (an int stays an int)
                display = _number_display(free_value(self.info, value.id))
                if display is not None:
                    value = ast.copy_location(display, value)
            if (isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords
                    and self.info.resolve(value.func) is builtins.divmod):
                a, b = value.args  # q, r = divmod(k, 6): k // 6, k % 6
                value = ast.copy_location(ast.Tuple(elts=[
                    ast.BinOp(left=a, op=ast.FloorDiv(), right=b),
                    ast.BinOp(left=copy.deepcopy(a), op=ast.Mod(), right=copy.deepcopy(b))],
                    ctx=ast.Load()), value)
            if not isinstance(value, ast.Tuple) and not any(
                    isinstance(e, ast.Starred) for e in ast.walk(target)):
                # an array, or any expression that gives one (r0, r1 = pos[i] - pos[j])
                self.unpack_array(target, self.atom(value))
                return
            if not isinstance(value, ast.Tuple):
                names = ", ".join(ast.unparse(e) for e in target.elts)
                row = ast.unparse(value)
                hint = (f"if {row} is an array, bind it to a name first: row = {row}; "
                        f"{names} = row (or write a, b = x, y)")
                raise self.info.error(target, "tuple unpacking takes a tuple display, a tuple, "
                                      "an array (a name or an element of one) or an array's "
                                      ".shape", construct="tuple unpacking", hint=hint)
            if len(value.elts) != len(target.elts):
                raise self.info.error(target, "the tuple on the right has "
                                      f"{len(value.elts)} values for {len(target.elts)} names",
                                      construct="tuple unpacking",
                                      hint="give each name one value")
            # evaluate every right-hand side before any name is rebound: a, b = b, a
            atoms = [self.atom(v) for v in value.elts]
            for t, v in zip(target.elts, atoms, strict=True):
                self.bind(t, v)
            return
        raise self.info.error(target, "assignment to this target is not supported",
                              construct=f"assignment to {type(target).__name__}",
                              hint="assign to a plain name")

    def unpack_array(self, target: ast.Tuple | ast.List, whole: ast.expr) -> None:
        """``a, b, c = x`` of an array (its numbers, or its rows) or a tuple Numba holds:
        ``unpacked(x, 3)`` raises the ``ValueError`` Python does unless ``len(x)`` is 3, then
        every element is read before any name is bound (``x, y = x``)."""
        if isinstance(whole, ast.Tuple):  # (a tuple after all: a, b = t, its atoms)
            self.bind(target, whole)
            return
        self.emit(self.names.temp(), ast.Call(
            func=self.kernel("unpacked"), args=[whole, ast.Constant(value=len(target.elts))],
            keywords=[]))
        parts = []
        for k in range(len(target.elts)):
            parts.append(ast.Name(id=self.names.temp(), ctx=ast.Load()))
            self.emit(parts[-1].id, ast.Subscript(value=copy.deepcopy(whole),
                                                  slice=ast.Constant(value=k), ctx=ast.Load()))
        for t, part in zip(target.elts, parts, strict=True):
            if isinstance(t, (ast.Tuple, ast.List)):
                self.unpack_array(t, part)
            else:
                self.bind(t, part)

    def bind(self, target: ast.expr, atom: ast.expr, symbolic: bool = False) -> None:
        """Assign an already-normalized atom (or tuple of atoms) to a name, or unpack it.
        A tuple bound at the top level (or with ``symbolic``) is kept as its atoms; one
        bound in a loop or a branch goes into a variable per element (``store_tuple``)."""
        if isinstance(target, (ast.Tuple, ast.List)):
            if not isinstance(atom, ast.Tuple) or len(atom.elts) != len(target.elts):
                have = (f"{len(atom.elts)} values" if isinstance(atom, ast.Tuple)
                        else "one value")
                raise self.info.error(target, f"cannot unpack {have} into "
                                      f"{len(target.elts)} names", construct="tuple unpacking",
                                      hint="give each name one value")
            for t, a in zip(target.elts, atom.elts, strict=True):
                self.bind(t, a)
            return
        if isinstance(target, ast.Subscript) and not isinstance(atom, ast.Tuple):
            # y[j], y[j + 1] = y[j + 1], y[j]: both sides read before either store
            self.store(target, atom, normalized=True)
            return
        if not isinstance(target, ast.Name):
            raise self.info.error(target, "assignment to this target is not supported",
                                  construct=f"assignment to {type(target).__name__}",
                                  hint="assign to a plain name or an element (y[i] = ...)")
        if isinstance(atom, ast.Tuple):
            if (self.depth and not symbolic) or target.id in self.tuple_vars:
                self.store_tuple(target, atom)
                return
            self.tuples[target.id] = atom
            self.current.pop(target.id, None)
            self.variables.setdefault(target.id, target.id)
            return
        self.forget_tuple(target.id, target)
        self.emit(self.define(target.id), atom)

    def store_tuple(self, target: ast.Name, atom: ast.Tuple) -> None:
        """``state = (a, b)`` in a loop or a branch: ``state_0 = a; state_1 = b``, one
        variable per element, which loops carry and branches join like any other."""
        name = target.id
        if name in self.tuples:
            self.materialize(name)
        shape = _tuple_shape(atom)
        if name not in self.tuple_vars:
            self.tuple_vars[name] = self.leaf_names(name, atom)
        elif _tuple_shape(self.tuple_vars[name]) != shape:
            raise self.info.error(target, f"'{name}' is given tuples of different shapes",
                                  construct="a tuple value",
                                  hint="keep each tuple variable's nesting and length")
        for leaf, value in zip(_flat_leaves(self.tuple_vars[name]), _flat_leaves(atom),
                               strict=True):
            self.emit(self.define(leaf), value)

    def leaf_names(self, name: str, atom: ast.Tuple) -> object:
        out = []
        for k, element in enumerate(atom.elts):
            if isinstance(element, ast.Tuple):
                out.append(self.leaf_names(f"{name}_{k}", element))
            else:
                leaf = self.names.fresh(f"{name}_{k}")
                self.variables[leaf] = leaf
                out.append(leaf)
        return tuple(out)

    def materialize(self, name: str) -> None:
        """A tuple kept as atoms, moved into a variable per element (before a loop or a
        branch that binds the name again)."""
        atom = self.tuples.pop(name)
        self.tuple_vars[name] = self.leaf_names(name, atom)
        for leaf, value in zip(_flat_leaves(self.tuple_vars[name]), _flat_leaves(atom),
                               strict=True):
            self.emit(self.define(leaf), value)

    def prepare_tuples(self, body: list[ast.stmt]) -> None:
        """Tuples a loop or branch binds again get their variables before it."""
        for name in assigned_names(body):
            if name in self.tuples:
                self.materialize(name)

    def forget_tuple(self, name: str, node: ast.AST) -> None:
        """``name`` no longer holds a tuple (it is assigned something else)."""
        if name in self.tuple_vars:
            raise self.info.error(node, f"'{name}' holds a tuple and is assigned another "
                                  "value", construct="a tuple value",
                                  hint="use a new name for the new value")
        if name in self.tuples:
            if self.depth:
                raise self.info.error(node, f"'{name}' holds a tuple and is assigned another "
                                      "value inside a loop or a branch",
                                      construct="a tuple value",
                                      hint="use a new name for the new value")
            del self.tuples[name]

    def tuple_value(self, value: ast.expr) -> ast.Tuple | None:
        """``value`` as a tuple of atoms, if it is a tuple: a display, a name holding one,
        or an element of one that is itself a tuple.  Displays are evaluated left to right
        before anything is bound (``a, b = b, a``)."""
        if isinstance(value, (ast.Tuple, ast.List)):
            return ast.Tuple(elts=[self.tuple_value(e) or self.atom(e) for e in value.elts],
                             ctx=ast.Load())
        if isinstance(value, ast.Name) and value.id in self.tuples:
            return copy.deepcopy(self.tuples[value.id])
        if isinstance(value, ast.Name) and value.id in self.tuple_vars:
            return self.load_tuple(self.tuple_vars[value.id], value)
        if (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name)
                and value.value.id in self.mixed and not self.is_local(value.value)):
            name = value.value.id
            if not isinstance(value.slice, ast.Constant):
                raise self.info.error(value, f"the rows of '{name}' hold ints and floats, and "
                                      "a row picked by a variable would make its ints floats",
                                      construct="a module-level list of mixed rows",
                                      hint=f"loop over '{name}' itself (for i, j, w in {name}:"
                                      "), or keep the ints in an int array of their own (E = "
                                      "np.array([[0, 1], ...]); W = np.array([1.0, ...]))")
            return _number_display(free_value(self.info, name)[value.slice.value])
        if isinstance(value, ast.Subscript):
            whole = self.tuple_value(value.value)
            if whole is not None:
                element = self.tuple_element(value, whole)
                return element if isinstance(element, ast.Tuple) else None
        if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)):
            # a library function defined in plain Python that returns a tuple
            # (np.linalg.slogdet): its body inlined, its result kept as atoms
            target = self.info.resolve(value.func)

            definition = rules.composite_of(target)
            if definition is not None and _returns_tuple(definition):
                return self.inline(value, definition)
            if rules.gives_tuple(target):  # np.split(x, 2): a display of slices
                rewritten = rules.rewriter_of(target)(value, self)
                return self.tuple_value(ast.copy_location(rewritten, value))
        return None

    # -- user functions that take or return tuples: inlined ---------------------------------

    def to_inline(self, value: ast.expr) -> bool:
        """Whether ``value`` calls a user function that returns a tuple or is passed one
        (such a call is inlined: its body becomes part of this function)."""
        if not isinstance(value, ast.Call) or not isinstance(value.func, (ast.Name,
                                                                          ast.Attribute)):
            return False
        callee = self.info.resolve(value.func)
        if not is_user_function(callee) or rules.has_rule(callee):
            return False
        value.args = self.spread(value.args)
        if is_local_function(callee):  # a helper defined inside the function
            return True
        if any(self.tuple_value(a) is not None for a in value.args) or any(
                self.tuple_value(k.value) is not None for k in value.keywords):
            return True
        tree = _returns_tuple(callee)
        return tree

    def spread(self, args: list[ast.expr]) -> list[ast.expr]:
        """``h(*args)`` of a tuple ``args`` (a display bound to it, a tuple parameter): its
        elements as arguments, ``args[0], args[1], ...``."""
        out: list[ast.expr] = []
        for arg in args:
            if not isinstance(arg, ast.Starred):
                out.append(arg)
                continue
            held = self.tuple_value(arg.value)
            if held is None:
                text = ast.unparse(arg.value)
                # (construct: a tuple parameter, once its nesting is known, is spread)
                raise self.info.error(arg, f"'*{text}' spreads a value that is not a tuple",
                                      construct="a tuple value" if text in self.info.params
                                      else "star-unpacking", hint=f"pass a tuple (args "
                                      f"= (a, b) before the call), or the elements: {text}[0]"
                                      f", {text}[1]")
            out.extend(ast.copy_location(ast.Subscript(value=copy.deepcopy(arg.value),
                                                       slice=ast.Constant(value=k),
                                                       ctx=ast.Load()), arg)
                       for k in range(len(held.elts)))
        return out

    def inline(self, node: ast.Call, definition: Any = None) -> ast.expr:
        """The call ``node`` of a user function, with the function's body normalized here
        (its names prefixed with its own: ``layer_W``); returns its result, an atom or a
        tuple of atoms.  ``definition``: the plain-Python definition of a library function
        (``rules.composite``) to inline instead, its literal arguments substituted and its
        errors reported at the user's call."""
        callee = definition if definition is not None else self.info.resolve(node.func)
        func = getattr(callee, "py_func", callee)
        if any(func is f for f in self.inlining):
            raise self.info.error(node, f"{func.__name__}() calls itself", construct="recursion",
                                  hint="write the recursion as a loop")
        args = positional_arguments(self.info, node, callee, literals=definition is not None)
        static: set[str] = set()
        prepare = None
        if definition is not None:
            params = parameters(func)[0]
            literal = {p: a for p, a in zip(params, args, strict=True) if _is_literal(a)}
            static = set(literal)
            # the other arguments are values (numbers, arrays): never None, not tuples
            values = {p for p, a in zip(params, args, strict=True)
                      if p not in literal and self.tuple_value(a) is None}

            def prepare(tree: ast.FunctionDef) -> ast.FunctionDef:
                tree = _substitute_literals(tree, literal, values)
                refusal = next((s for s in tree.body if isinstance(s, ast.Raise)), None)
                if refusal is not None:  # an option the definition does not take
                    raise self.refusal(node, refusal)
                for n in ast.walk(tree):  # errors inside point at the user's call
                    if hasattr(n, "lineno"):
                        n.lineno = self.lineno
                return tree

        inner = parse_function(callee, tuple_result=True, prepare=prepare)
        tree = copy.deepcopy(inner.tree)
        values = [None if p in static else (self.tuple_value(a) or self.atom(a))
                  for p, a in zip(inner.params, args, strict=True)]
        renames: dict[str, str] = {}
        local = set(inner.params) | {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
                                     and isinstance(n.ctx, ast.Store)}
        for name in sorted(local):
            renames[name] = self.names.fresh(f"{func.__name__}_{name}")
        for name, obj in inner.bindings.items():
            if self.info.bindings.get(name) is obj and name not in self.current:
                continue
            bound = name if name not in self.names.taken else self.names.fresh(name)
            self.names.taken.add(bound)
            self.info.bindings[bound] = obj
            if bound != name:
                renames[name] = bound
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and n.id in renames:
                n.id = renames[n.id]
        tree = desugar(tree, self.names, tuples={  # loops over them are unrolled
            renames[p]: len(v.elts) for p, v in zip(inner.params, values, strict=True)
            if isinstance(v, ast.Tuple)})
        views_as_indexes(tree, {renames[p] for p in inner.params}, self.info.resolve,
                         set(known_tuples(tree)), self.builtin)
        self.masks |= mask_names(tree, self.info.resolve)
        body = tree.body
        if body and isinstance(body[0], ast.Expr):  # docstring
            body = body[1:]
        saved_info, saved_lineno = self.info, self.lineno
        # errors inside name the callee and its file; names resolve in the shared bindings
        if definition is None:
            self.info = replace(self.info, name=inner.name, filename=inner.filename)
        self.inlining.append(func)
        try:
            for param, value in zip(inner.params, values, strict=True):
                if value is None:
                    continue
                self.bind(ast.Name(id=renames[param], ctx=ast.Store(), lineno=self.lineno),
                          value, symbolic=True)
            self.block(body[:-1])
            ret = body[-1]
            self.lineno = ret.lineno if definition is None else saved_lineno
            result = self.tuple_value(ret.value)
            if result is None:
                result = self.atom(ret.value)
        finally:
            self.inlining.pop()
            self.info, self.lineno = saved_info, saved_lineno
        return result

    def refusal(self, node: ast.Call, statement: ast.Raise) -> AdcompileError:
        """The error of a call that passes an option a library function's definition does
        not take: its ``raise ValueError(message, hint)``, at the user's line."""
        parts = [a.value for a in getattr(statement.exc, "args", [])
                 if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        what = ast.unparse(node.func)
        return self.info.error(node, f"{what}(): {parts[0] if parts else 'not supported'}",
                               construct=f"an option of {what}",
                               hint=parts[1] if len(parts) > 1 else "leave the option at "
                               "its default, or compute this part outside the function and "
                               "pass it in")

    def static_int(self, node: ast.expr) -> int | None:
        """The value of an integer expression known before running: literals, ``len`` of a
        tuple, and ``+ - * // %`` of those (``p[len(p) - 1]``)."""
        if isinstance(node, ast.Constant):
            return node.value if type(node.value) is int else None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            k = self.static_int(node.operand)
            return -k if k is not None else None
        if isinstance(node, ast.BinOp) and type(node.op) in _STATIC_OPS:
            a, b = self.static_int(node.left), self.static_int(node.right)
            if a is None or b is None or (b == 0 and isinstance(node.op, (ast.FloorDiv,
                                                                           ast.Mod))):
                return None
            return _STATIC_OPS[type(node.op)](a, b)
        if (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.func, ast.Name)
                and self.info.resolve(node.func) is builtins.len):
            held = self.tuple_value(node.args[0])
            return len(held.elts) if held is not None else None
        return None

    def load_tuple(self, leaves: object, node: ast.AST) -> ast.Tuple:
        return ast.Tuple(elts=[self.load_tuple(leaf, node) if isinstance(leaf, tuple)
                               else self.load(leaf, node) for leaf in leaves], ctx=ast.Load())

    def tuple_element(self, node: ast.Subscript, whole: ast.Tuple) -> ast.expr:
        if isinstance(node.slice, ast.Slice):  # params[:-1]: the tuple of those elements
            given = (node.slice.lower, node.slice.upper, node.slice.step)
            bounds = [None if b is None else self.static_int(b) for b in given]
            if any(b is None for b, g in zip(bounds, given, strict=True) if g is not None) \
                    or bounds[2] == 0:
                raise self.info.error(node, "a tuple can only be sliced with integer "
                                      "literals", construct="a tuple slice",
                                      hint="slice with literals: params[1:], params[:-1]")
            return ast.Tuple(elts=copy.deepcopy(whole.elts[slice(*bounds)]), ctx=ast.Load())
        k = self.static_int(node.slice)
        if type(k) is not int or not -len(whole.elts) <= k < len(whole.elts):
            raise self.info.error(node, "a tuple can only be indexed with an integer literal "
                                  f"in range (it has {len(whole.elts)} elements), or with the "
                                  "counter of a for loop over a range of known length",
                                  construct="a tuple index",
                                  hint="loop over it (for W, b in params, or for i in "
                                  "range(len(params)): ... params[i]), index with a literal, "
                                  "or build an array: np.array((a, b))[i]")
        return copy.deepcopy(whole.elts[k])

    # -- control flow -----------------------------------------------------------------------

    def if_statement(self, stmt: ast.If) -> None:
        test = self.atom(stmt.test)
        self.prepare_tuples(stmt.body + stmt.orelse)
        before = dict(self.current)
        then = self.nested(lambda: self.block(stmt.body))
        after_then, self.current = self.current, dict(before)
        orelse = self.nested(lambda: self.block(stmt.orelse))
        after_else, self.current = self.current, dict(before)
        for name in dict.fromkeys([*after_then, *after_else]):
            versions = (after_then.get(name), after_else.get(name))
            if versions == (before.get(name),) * 2:
                continue
            if versions[0] == versions[1]:
                self.current[name] = versions[0]
                continue
            merged = (versions[0] if versions[0] is not None and versions[0] != before.get(name)
                      and versions[1] is None else self.define(name))
            # the joined version must not be a value a branch still reads under that name
            for branch, version in ((then, versions[0]), (orelse, versions[1])):
                if version != merged and merged in _targets(branch):
                    merged = self.names.fresh(name)
                    self.variables[merged] = name
                    break
            self.current[name] = merged
            for branch, version in ((then, versions[0]), (orelse, versions[1])):
                if version is not None and version != merged:
                    self.merge_into(branch, version, merged, before.get(name))
        self.out.append(ast.If(test=test, body=then or [ast.Pass()], orelse=orelse,
                               lineno=stmt.lineno))

    def merge_into(self, branch: list[ast.stmt], version: str, merged: str,
                   outer: str | None) -> None:
        """End ``branch`` with ``merged = version``; when ``version`` is assigned once at the
        branch's top level and read nowhere in it, assign ``merged`` there directly instead."""
        defs = [s for s in branch if isinstance(s, ast.Assign)
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id == version]
        stores = [n for stmt in branch for n in ast.walk(stmt) if isinstance(n, ast.Name)
                  and n.id == version and isinstance(n.ctx, ast.Store)]
        if (version != outer and len(defs) == 1 and len(stores) == 1
                and not any(isinstance(n, ast.Name) and n.id == version and isinstance(
                    n.ctx, ast.Load) for stmt in branch for n in ast.walk(stmt))):
            defs[0].targets[0].id = merged
            return
        branch.append(self.copy(merged, version))
        branch[-1].join_copy = True  # may become as_float(...): see promote

    def enter_loop(self, body: list[ast.stmt], exclude: set[str]) -> dict[str, str]:
        """Carried versions for the names ``body`` assigns that exist before the loop."""
        carried = {}
        self.prepare_tuples(body)
        names = []
        for name in assigned_names(body):  # a tuple's variables stand for it
            names.extend(_flat_leaves(self.tuple_vars[name]) if name in self.tuple_vars
                         else [name])
        for name in names:
            if name in self.current and name not in exclude:
                slot = self.names.fresh(name)
                self.variables[slot] = name
                self.emit(slot, ast.Name(id=self.current[name], ctx=ast.Load()))
                self.out[-1].loop_entry = True  # may become as_float(...): see promote
                self.current[name] = slot
                carried[name] = slot
        return carried

    def close_loop(self, body: list[ast.stmt], carried: dict[str, str],
                   before: dict[str, str]) -> None:
        for name, slot in carried.items():
            if self.current[name] != slot:
                body.append(self.copy(slot, self.current[name]))
        after = self.current
        self.current = dict(before)
        self.current.update(carried)
        for name, version in after.items():
            if name not in before:  # first assigned inside the loop: its last value
                self.current[name] = version

    def for_loop(self, stmt: ast.For) -> None:
        bounds = [self.atom(a) for a in stmt.iter.args]
        target = stmt.target
        assert isinstance(target, ast.Name)
        carried = self.enter_loop(stmt.body, {target.id})
        before = dict(self.current)
        index = self.define(target.id)
        body = self.nested(lambda: self.block(stmt.body))
        self.close_loop(body, carried, before)
        self.current[target.id] = index
        loop = ast.For(target=ast.Name(id=index, ctx=ast.Store()),
                       iter=ast.Call(func=ast.Name(id="range", ctx=ast.Load()), args=bounds,
                                     keywords=[]),
                       body=body or [ast.Pass()], orelse=[], lineno=stmt.lineno)
        loop.carried = list(carried.values())
        self.out.append(loop)

    def while_loop(self, stmt: ast.While) -> None:
        carried = self.enter_loop(stmt.body, set())
        cond = self.names.fresh("go")
        self.emit(cond, self.atom(stmt.test))
        before = dict(self.current)

        def body() -> None:
            self.block(stmt.body)
            self.emit(cond, self.atom(stmt.test))

        stmts = self.nested(body)
        self.close_loop(stmts, carried, before)
        loop = ast.While(test=ast.Name(id=cond, ctx=ast.Load()), body=stmts, orelse=[],
                         lineno=stmt.lineno)
        loop.carried = [*carried.values(), cond]
        self.out.append(loop)

    # -- expressions ------------------------------------------------------------------------

    def atom(self, node: ast.expr) -> ast.expr:
        """``node`` as a name or constant, emitting temporaries for anything compound."""
        if isinstance(node, ast.Name):
            if node.id in self.tuples:
                return copy.deepcopy(self.tuples[node.id])
            if node.id in self.tuple_vars:
                return self.load_tuple(self.tuple_vars[node.id], node)
            return self.load(node.id, node)
        if isinstance(node, ast.Constant):
            return node
        if _is_number(node):  # -2.0: a literal, kept as written (so (-2.0) ** x stays right)
            return node
        if isinstance(node, ast.Attribute):
            value = self.info.resolve(node)
            if isinstance(value, numbers.Real):
                return node
            if (isinstance(value, tuple) and value and node.attr == "shape"
                    and all(isinstance(n, int) for n in value)):  # of a module-level array
                return ast.Tuple(elts=[ast.Constant(value=n) for n in value], ctx=ast.Load())
            if not self.array_attribute_read(node):
                raise self.info.error(node, f"cannot use '{ast.unparse(node)}' as a value",
                                      construct="an attribute", hint="only numeric module "
                                      "constants such as math.pi, and .T, .shape, .size, .ndim "
                                      "of arrays can be read")
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self.atom(e) for e in node.elts], ctx=ast.Load())
        if isinstance(node, (ast.BoolOp, ast.IfExp)) or (
                isinstance(node, ast.Compare) and len(node.ops) > 1):
            return self.branching(node)
        op = self.operation(node)
        temp = self.names.temp()
        self.emit(temp, op)
        return ast.Name(id=temp, ctx=ast.Load())

    def operation(self, node: ast.expr) -> ast.expr:
        """``node`` as one operation over atoms."""
        if _is_arithmetic(node):
            return self.arithmetic(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, ast.Attribute) and self.array_attribute_read(node):
            return self.array_attribute(node)
        return self.atom(node)

    def arithmetic(self, root: ast.expr) -> ast.expr:
        """A binary or unary operation or a single comparison as one operation over atoms.

        Operands that are such operations themselves get temporaries, in Python's order of
        evaluation, as recursion through ``atom`` would give them; the walk keeps its own
        stack, so that a sum of thousands of terms (a left-nested chain of ``BinOp``) or a
        long power tower is no harder here than for Python."""
        stack = [(root, _arithmetic_operands(root), [])]
        while True:
            node, operands, atoms = stack[-1]
            if len(atoms) < len(operands):
                child = operands[len(atoms)]
                if _is_arithmetic(child):
                    stack.append((child, _arithmetic_operands(child), []))
                else:
                    atoms.append(self.atom(child))
                    if isinstance(atoms[-1], ast.Tuple):
                        raise self.tuple_operand(child, node, len(atoms[-1].elts))
                continue
            stack.pop()
            op = self.combine(node, atoms)
            if not stack:
                return op
            temp = self.names.temp()
            self.emit(temp, op)
            stack[-1][2].append(ast.Name(id=temp, ctx=ast.Load()))

    def tuple_operand(self, operand: ast.expr, node: ast.expr, size: int) -> AdcompileError:
        """The error for a tuple used as a number or an array (``p * 2.0`` with a tuple
        ``p``): said of the argument when the tuple came in as one."""
        text = ast.unparse(operand)
        structure = self.info.structure
        if isinstance(operand, ast.Name) and structure is not None and (
                operand.id in structure.leaves):
            shape = structure.shapes.get(operand.id)
            if isinstance(shape, tuple) and shape[0]:  # a list
                return self.info.error(
                    node, f"the argument passed for '{text}' is a list of {size} values, "
                    "which adcompile reads as a tuple, but the function uses it as a number "
                    "or an array here", construct="a tuple argument used as a value",
                    hint=f"pass a NumPy array (np.asarray(...)) for '{text}'")
            return self.info.error(
                node, f"the argument passed for '{text}' is a tuple of {size} values, but "
                "the function uses it as a number or an array here",
                construct="a tuple argument used as a value",
                hint=f"pass '{text}' a float or a NumPy array (np.asarray(...)); a tuple "
                f"parameter must be unpacked (a, b = {text}) or indexed ({text}[0]) first")
        return self.info.error(
            node, f"'{text}' is a tuple of {size} values, used here as a number or an array",
            construct="a tuple used as a value",
            hint=f"unpack it (a, b = {text}) or index it ({text}[0]); for arithmetic on all "
            f"its values, make an array of them: np.array({text})")

    def combine(self, node: ast.expr, atoms: list[ast.expr]) -> ast.expr:
        """The arithmetic ``node`` as one operation over the atoms of its operands."""
        if isinstance(node, ast.BinOp):
            left, right = atoms
            if isinstance(node.op, ast.Pow) and not _plain_exponent(right):
                # Numba's integer power differs from Python's (2 ** -1 is 0, 0.0 ** -1
                # raises): the kernel gives Python's value
                return ast.Call(func=self.kernel("power"), args=[left, right], keywords=[])
            if type(node.op) in _LOGICAL:  # (m > 0) & ~k: masks, as the front end checked
                return ast.Call(func=self.numpy_function(_LOGICAL[type(node.op)]),
                                args=[left, right], keywords=[])
            return ast.BinOp(left=left, op=node.op, right=right)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return atoms[0]
            if isinstance(node.op, ast.Invert):
                return ast.Call(func=self.numpy_function("logical_not"), args=atoms,
                                keywords=[])
            return ast.UnaryOp(op=node.op, operand=atoms[0])
        assert isinstance(node, ast.Compare)
        return ast.Compare(left=atoms[0], ops=node.ops, comparators=[atoms[1]])

    def array_attribute_read(self, node: ast.Attribute) -> bool:
        """Whether ``node`` reads an attribute of an array: of a local value, or ``X.T`` of a
        module-level array (a constant, as ``X`` itself is)."""
        return self.is_local(node.value) or (
            node.attr in ("T", "size", "ndim")
            and isinstance(self.info.resolve(node.value), numpy.ndarray))

    def is_local(self, node: ast.expr) -> bool:
        """Whether ``node`` is computed by the function (not a module or global)."""
        if isinstance(node, ast.Name):
            return node.id not in self.info.bindings or node.id in self.current
        if isinstance(node, ast.Attribute):  # A.T.sum(): an attribute of a local value
            return self.is_local(node.value)
        return not isinstance(node, ast.Constant)

    def numpy_function(self, name: str) -> ast.Attribute:
        """``np.<name>`` under whatever name numpy is bound to (binding it if needed)."""
        for bound, obj in self.info.bindings.items():
            if obj is numpy and bound not in self.current:
                break
        else:
            bound = "np" if "np" not in self.names.taken else self.names.fresh("np")
            self.names.taken.add(bound)
            self.info.bindings[bound] = numpy
        return ast.Attribute(value=ast.Name(id=bound, ctx=ast.Load()), attr=name,
                             ctx=ast.Load())

    def kernel(self, name: str) -> ast.Name:
        """The shape-generic helper ``kernels.<name>``, bound in the function's names."""
        obj = getattr(kernels, name)
        for bound, value in self.info.bindings.items():
            if value is obj:
                return ast.Name(id=bound, ctx=ast.Load())
        bound = self.names.fresh(name)
        self.info.bindings[bound] = obj
        return ast.Name(id=bound, ctx=ast.Load())

    def array_attribute(self, node: ast.Attribute) -> ast.expr:
        """``x.T`` as ``np.transpose(x)``; ``x.shape``, ``x.size``, ``x.ndim`` as reads."""
        base = self.atom(node.value)
        if node.attr == "T":
            return ast.Call(func=self.numpy_function("transpose"), args=[base], keywords=[])
        if node.attr in ("shape", "size", "ndim"):
            return ast.Attribute(value=base, attr=node.attr, ctx=ast.Load())
        raise self.info.error(node, f"the attribute '.{node.attr}' is not supported",
                              construct=f"the attribute .{node.attr}",
                              hint="use .T, .shape, .size or .ndim, or a numpy function")

    def branching(self, node: ast.expr) -> ast.Name:
        """``a and b``, ``a or b``, ``x if c else y``, ``a < b < c`` as an ``if`` statement
        that assigns one temporary, evaluating only what Python would evaluate."""
        result = self.names.temp()

        def assign(value: ast.expr) -> Callable[[], None]:
            if isinstance(value, ast.Tuple):
                raise self.info.error(value, "a tuple cannot be the value of a conditional "
                                      "expression, 'and' or 'or'", construct="a tuple value",
                                      hint="choose each value separately: "
                                      "a = x if c else y; b = ...")
            return lambda: self.emit(result, self.atom(value))

        if isinstance(node, ast.IfExp):
            self.emit_if(self.atom(node.test), assign(node.body), assign(node.orelse))
        elif isinstance(node, ast.BoolOp):
            self.boolean(node.op, node.values, result)
        else:
            self.chain(self.atom(node.left), node, 0, result)
        return ast.Name(id=result, ctx=ast.Load())

    def boolean(self, op: ast.boolop, values: list[ast.expr], result: str) -> None:
        left = self.atom(values[0])
        if len(values) == 1:
            self.emit(result, left)
            return

        def keep() -> None:
            self.emit(result, left)

        def rest() -> None:
            self.boolean(op, values[1:], result)

        if isinstance(op, ast.And):
            self.emit_if(left, rest, keep)
        else:
            self.emit_if(left, keep, rest)

    def chain(self, left: ast.expr, node: ast.Compare, k: int, result: str) -> None:
        right = self.atom(node.comparators[k])
        test = self.names.temp()
        self.emit(test, ast.Compare(left=left, ops=[node.ops[k]], comparators=[right]))
        if k == len(node.ops) - 1:
            self.emit(result, ast.Name(id=test, ctx=ast.Load()))
            return
        self.emit_if(ast.Name(id=test, ctx=ast.Load()),
                     lambda: self.chain(right, node, k + 1, result),
                     lambda: self.emit(result, ast.Name(id=test, ctx=ast.Load())))

    def emit_if(self, test: ast.expr, then: Callable[[], None],
                orelse: Callable[[], None]) -> None:
        body = self.nested(then)
        other = self.nested(orelse)
        self.out.append(ast.If(test=test, body=body or [ast.Pass()], orelse=other,
                               lineno=self.lineno))

    def method(self, node: ast.Call) -> ast.Call:
        """``x.sum(axis=0)`` as ``np.sum(x, 0)``, and the other array methods likewise."""
        func = node.func
        assert isinstance(func, ast.Attribute)
        if func.attr not in _METHODS:
            raise self.info.error(node, f"the method '.{func.attr}()' is not supported",
                                  construct=f"the method .{func.attr}()",
                                  hint=_method_hint(func))
        if func.attr in ("astype", "item"):  # x.astype(float), x.item(): kernels
            dtype = (self.info.resolve(node.args[0]) if len(node.args) == 1 and isinstance(
                node.args[0], (ast.Name, ast.Attribute)) and not node.keywords else None)
            if func.attr == "astype" and dtype not in (float, numpy.float64, int, numpy.int64):
                raise self.info.error(node, f"'{ast.unparse(node)}' is not supported",
                                      construct="the method .astype()",
                                      hint=_method_hint(func))
            if func.attr == "item" and (node.args or node.keywords):
                raise self.info.error(node, "item() is read without arguments here",
                                      construct="the method .item()", hint="index the "
                                      "element instead: x[i, j]")
            kernel = (kernels_shapes.item if func.attr == "item" else kernels_shapes.astype_int
                      if dtype in (int, numpy.int64) else kernels_shapes.astype_float)
            call = ast.Call(func=self.reference(kernel), args=[func.value], keywords=[])
            return self.call(ast.copy_location(call, node))
        args = [func.value, *node.args]
        if func.attr in ("reshape", "transpose") and len(node.args) > 1:
            args = [func.value, ast.Tuple(elts=list(node.args), ctx=ast.Load())]
        if func.attr == "flatten":  # a copy, never a view
            raveled = ast.Call(func=self.numpy_function("ravel"), args=args, keywords=[])
            call = ast.Call(func=self.numpy_function("copy"), args=[raveled], keywords=[])
        else:
            call = ast.Call(func=self.numpy_function(_METHODS[func.attr]), args=args,
                            keywords=node.keywords)
        return self.call(ast.copy_location(call, node))

    def call(self, node: ast.Call) -> ast.Call:
        func = node.func
        if any(isinstance(a, ast.Starred) for a in node.args) and not is_user_function(
                self.info.resolve(func) if isinstance(func, (ast.Name, ast.Attribute))
                else None):
            raise self.info.error(node, f"star-unpacking into a call of '{ast.unparse(func)}'"
                                  " is not supported", construct="star-unpacking",
                                  hint="name each argument; f(*args) works for a function "
                                  "of your own and a tuple args")
        if isinstance(func, ast.Attribute) and self.is_local(func.value):
            return self.method(node)
        target = self.info.resolve(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if target is None:
            raise self.info.error(node, f"cannot call '{ast.unparse(func)}'",
                                  construct="a call", hint="call module-level functions, "
                                  "math/numpy functions or functions registered with "
                                  "adcompile.derivative")
        if target is builtins.range:
            raise self.info.error(node, "range() can only be iterated over in a for loop",
                                  construct="range", hint="write for i in range(...):")
        if (target is builtins.len and len(node.args) == 1 and not node.keywords
                and self.tuple_value(node.args[0]) is not None):
            return ast.Constant(value=len(self.tuple_value(node.args[0]).elts))
        folded = self.fold_tuple_call(target, node)
        if folded is not None:
            return folded
        if (target is numpy.array and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Tuple) and node.args[0].elts
                and all(isinstance(e, ast.Tuple) for e in node.args[0].elts)):
            # np.array(((a, b), (c, d))): the rows made first, then stacked
            rows = [ast.Call(func=node.func, args=[e], keywords=[]) for e in node.args[0].elts]
            stacked = ast.Call(func=self.numpy_function("stack"),
                               args=[ast.Tuple(elts=rows, ctx=ast.Load())], keywords=[])
            return self.call(ast.copy_location(stacked, node))
        if (target is numpy.array and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], (ast.Name, ast.Subscript, ast.Call, ast.BinOp))
                and self.tuple_value(node.args[0]) is None):
            # np.array(x) of an array is a copy of it (Numba has no np.array of an array)
            copied = ast.Call(func=self.reference(kernels.fresh_copy), args=node.args,
                              keywords=[])
            return self.call(ast.copy_location(copied, node))
        definition = rules.composite_of(target)
        if definition is not None:
            return self.expand(node, definition)
        rewriter = rules.rewriter_of(target)
        if rewriter is not None:
            rewritten = rewriter(node, self)
            if rewritten is not None:
                return self.operation(ast.copy_location(rewritten, node))
        keepdims = False
        if is_user_function(target) and self.to_inline(node):
            result = self.inline(node)
            if isinstance(result, ast.Tuple):
                raise self.info.error(node, f"{ast.unparse(node.func)}() returns a tuple, "
                                      "which is used here as a value",
                                      construct="a tuple value",
                                      hint="unpack it first: a, b = f(...)")
            return result
        if is_user_function(target):
            args = positional_arguments(self.info, node, target)
        elif node.keywords and target not in _REDUCTIONS and (
                bound := _bound_by_signature(target, node)) is not None:
            args = bound  # np.diff(x, axis=0) is np.diff(x, 1, 0), as NumPy binds it
        elif node.keywords:
            args = list(node.args)
            for kw in node.keywords:
                if (kw.arg in ("axis", "axes") and len(args) == 1
                        and _parameter_name(target, 1) in (kw.arg, None)):
                    args.append(kw.value)
                elif (kw.arg == "axis" and len(args) == 2 and _is_none(args[1])
                      and _parameter_name(target, 1) in (kw.arg, None)):
                    args[1] = kw.value
                elif kw.arg == "keepdims" and target in _REDUCTIONS:
                    keepdims = self.keepdims(node, kw.value)
                elif _bound_by_signature(target, node) is not None:
                    args = _bound_by_signature(target, node)
                    keepdims = False
                    break
                else:
                    raise self.info.error(node, f"the keyword argument '{kw.arg}' in the call "
                                          f"to '{ast.unparse(func)}' is not supported",
                                          construct="a keyword argument",
                                          hint=_keyword_hint(target, node, kw.arg))
        else:
            args = node.args
        if target in _REDUCTIONS:
            func, args = self.reduction(target, func, args, keepdims)
        if target is numpy.squeeze and len(args) == 1:
            raise self.info.error(node, "squeeze() needs the axes to remove here: the rank "
                                  "of its result would depend on the array's shape",
                                  construct="squeeze without an axis",
                                  hint="name the axes of extent 1: np.squeeze(x, 0) or "
                                  "x.squeeze(axis=(0, 2))")
        if target is numpy.reshape:  # Numba reshapes contiguous arrays only
            func = self.kernel("reshape")
        implementation = rules.implementation(target)
        if implementation is not None:  # scipy.special.expit: a kernel Numba compiles
            func = self.reference(implementation)
        return ast.Call(func=func, args=[self.atom(a) for a in args], keywords=[])

    def expand(self, node: ast.Call, definition: Any) -> ast.expr:
        """A call of a function defined in plain Python for the compiler
        (``rules.composite``): its body inlined here, literal arguments substituted."""
        call = ast.copy_location(ast.Call(func=node.func, args=node.args,
                                          keywords=node.keywords), node)
        result = self.inline(call, definition)
        if isinstance(result, ast.Tuple):
            raise self.info.error(node, f"{ast.unparse(node.func)}() returns a tuple, which is "
                                  "used here as a value", construct="a tuple value",
                                  hint="unpack it first: a, b = f(...)")
        return result

    def reference(self, obj: Any) -> ast.Name:
        """A name bound to ``obj`` in the function's names (bound now if needed)."""
        for bound, value in self.info.bindings.items():
            if value is obj and bound not in self.current:
                return ast.Name(id=bound, ctx=ast.Load())
        bound = self.names.fresh(getattr(obj, "__name__", "function"))
        self.info.bindings[bound] = obj
        return ast.Name(id=bound, ctx=ast.Load())

    def keepdims(self, node: ast.Call, value: ast.expr) -> bool:
        """The ``keepdims=`` of a reduction: a literal, since it decides the result's rank."""
        if isinstance(value, ast.Constant) and type(value.value) in (bool, int):
            return bool(value.value)
        raise self.info.error(node, "keepdims= must be written as True or False here",
                              construct="a computed keepdims",
                              hint="write keepdims=True or keepdims=False (the rank of the "
                              "result must be known when the code is compiled)")

    def reduction(self, target: object, func: ast.expr, args: list[ast.expr], keepdims: bool
                  ) -> tuple[ast.expr, list[ast.expr]]:
        """``np.sum(x, axis)`` and the other reductions as Numba compiles them: Numba's
        reduces along one int axis for ``sum`` only, so an axis of another reduction, a tuple
        of axes or ``keepdims=True`` goes to a kernel (``np.mean(x, 0)`` is
        ``mean_along(x, 0)``, ``np.sum(x, 1, keepdims=True)`` is ``sum_along(x, 1, True)``)."""
        args = list(args)
        if len(args) == 2 and _is_none(args[1]) and not keepdims:
            args = args[:1]  # np.sum(x, None) is np.sum(x)
        if keepdims:
            axis = args[1] if len(args) > 1 else ast.Constant(value=None)
            return self.kernel(_ALONG[target]), [args[0], axis, ast.Constant(value=True)]
        if len(args) == 2:  # Numba's own sum along an axis compiles its error formatting
            return self.kernel(_ALONG[target]), args
        return func, args

    def fold_tuple_call(self, target: object, node: ast.Call) -> ast.expr | None:
        """``max((a, b, c))``, ``max(a, b, c)``, ``max(t)`` of a tuple ``t``, ``min(...)``,
        ``sum((a, b))`` and ``math.fsum((a, b))`` as the pairwise operations they mean, so
        that every value in the tuple gets its derivative (``fsum`` becomes a plain sum: the
        same derivative, rounded like ``+``)."""
        if node.keywords or target not in (builtins.max, builtins.min, builtins.sum,
                                           math.fsum):
            return None
        display = len(node.args) == 1 and isinstance(node.args[0], ast.Tuple)
        held = self.tuple_value(node.args[0]) if len(node.args) == 1 and not display else None
        if display:
            items = list(node.args[0].elts)
        elif held is not None:  # c = (a, b, c) made in a loop, then max(c): c[0], c[1], ...
            items = [ast.copy_location(ast.Subscript(value=copy.deepcopy(node.args[0]),
                                                     slice=ast.Constant(value=k),
                                                     ctx=ast.Load()), node)
                     for k in range(len(held.elts))]
        elif target in (builtins.max, builtins.min) and len(node.args) > 2:
            items = list(node.args)
        else:
            return None
        if not items:
            return None
        if target in (builtins.sum, math.fsum):
            total: ast.expr = items[0]
            for item in items[1:]:
                total = ast.BinOp(left=total, op=ast.Add(), right=item)
            return self.operation(ast.copy_location(total, node))
        result = items[0]
        for item in items[1:]:
            result = ast.copy_location(ast.Call(func=node.func, args=[result, item],
                                                keywords=[]), node)
        return self.operation(result)

    def subscript(self, node: ast.Subscript) -> ast.expr:
        held = self.tuple_value(node.value) if not isinstance(
            node.value, (ast.Tuple, ast.List)) else None
        if held is None and self.to_inline(node.value):  # stats(x)[1], jf(x, t)[1]
            result = self.inline(node.value)
            if isinstance(result, ast.Tuple):
                held = result
            else:
                node = ast.copy_location(ast.Subscript(value=result, slice=node.slice,
                                                       ctx=ast.Load()), node)
        if held is not None:  # params[1]: the element itself
            element = self.tuple_element(node, held)
            if isinstance(element, ast.Tuple):
                raise self.info.error(node, "this element is a tuple: it can be unpacked or "
                                      "indexed, not used as a value",
                                      construct="a tuple value",
                                      hint="unpack it: (W, b) = params[0], or index it again")
            return element
        if isinstance(node.value, (ast.Tuple, ast.List)):  # (a, 2 * a)[1]: the element itself
            k = (node.slice.value if isinstance(node.slice, ast.Constant)
                 else -node.slice.operand.value if _is_number(node.slice) else None)
            if type(k) is not int or not -len(node.value.elts) <= k < len(node.value.elts):
                raise self.info.error(node, "a tuple display can only be indexed with an "
                                      "integer literal in range", construct="a tuple index",
                                      hint="index with a literal, or build an array: "
                                      "np.array((a, b))[i]")
            return self.operation(node.value.elts[k])
        index = node.slice
        if is_mask(index, self.masks, self.info.resolve):  # x[x > 0], x[m]: any rank
            return ast.Call(func=self.reference(kernels_shapes.masked),
                            args=[self.atom(node.value), self.atom(index)], keywords=[])
        parts = index.elts if isinstance(index, ast.Tuple) else [index]
        atoms = [self.slice_part(p) for p in parts]
        slice_ = ast.Tuple(elts=atoms, ctx=ast.Load()) if len(atoms) > 1 else atoms[0]
        return ast.Subscript(value=self.atom(node.value), slice=slice_, ctx=ast.Load())

    def slice_part(self, part: ast.expr) -> ast.expr:
        if isinstance(part, ast.List):  # x[[0, 2]]: an index array
            return self.atom(ast.copy_location(ast.Call(
                func=self.numpy_function("array"), args=[_list_as_tuple(part)], keywords=[]),
                part))
        if (isinstance(part, ast.Attribute) and part.attr == "newaxis"
                and self.info.resolve(part.value) is numpy):
            return ast.Constant(value=None)  # x[:, np.newaxis] is x[:, None]
        if isinstance(part, ast.Slice):
            bounds = [None if b is None else self.atom(b)
                      for b in (part.lower, part.upper, part.step)]
            return ast.Slice(lower=bounds[0], upper=bounds[1], step=bounds[2])
        return self.atom(part)

    def flat_target(self, target: ast.Subscript) -> ast.Subscript:
        """``D[i][j] = v`` is ``D[i, j] = v`` (``T[k][i, j]`` is ``T[k, i, j]``) where each
        index but the last is a number (an int literal, the counter of a for loop over a
        range, and + - * // % of them); any other chained store is refused with that form."""
        if not isinstance(target.value, ast.Subscript):
            return target
        inner = target.value
        if isinstance(inner.value, ast.Subscript):
            inner = self.flat_target(inner)
        parts = inner.slice.elts if isinstance(inner.slice, ast.Tuple) else [inner.slice]
        counters = self.counters()
        if not isinstance(inner.value, ast.Name) or not all(_counter_index(part, counters)
                                                            for part in parts):
            base = ast.unparse(inner.value)
            raise self.info.error(target, f"'{ast.unparse(target)} = ...' writes into a part "
                                  f"of '{base}' taken by '{ast.unparse(inner)}'",
                                  construct="a chained indexed assignment",
                                  hint=f"index once: {base}[i, j] = ..., with i an int "
                                  "(a literal or the counter of a for loop over a range)")
        last = target.slice.elts if isinstance(target.slice, ast.Tuple) else [target.slice]
        return ast.copy_location(ast.Subscript(
            value=inner.value, slice=ast.Tuple(elts=[*parts, *last], ctx=ast.Load()),
            ctx=target.ctx), target)

    def counters(self) -> set[str]:
        """The names bound only as counters of for loops over a range."""
        ranged, other = set(), set()
        targets = set()
        for node in ast.walk(self.info.tree):
            if isinstance(node, ast.For):
                over = node.iter
                if (isinstance(over, ast.Call) and isinstance(over.func, ast.Name)
                        and over.func.id == "reversed" and over.args):
                    over = over.args[0]
                is_range = (isinstance(over, ast.Call) and isinstance(over.func, ast.Name)
                            and over.func.id == "range" and isinstance(node.target, ast.Name))
                names = [n for n in ast.walk(node.target) if isinstance(n, ast.Name)]
                targets.update(id(n) for n in names)
                (ranged if is_range else other).update(n.id for n in names)
        for node in ast.walk(self.info.tree):
            if (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
                    and id(node) not in targets):
                other.add(node.id)
        return ranged - other - set(self.info.params)

    def store(self, target: ast.Subscript, value: ast.expr, normalized: bool = False) -> None:
        """``y[i] = value``: an element (or slice) write into an array made in the function
        (``value`` already an atom with ``normalized``)."""
        target = self.flat_target(target)
        base = target.value
        if not isinstance(base, ast.Name) or base.id not in self.current:
            raise self.info.error(target, "only arrays created in the function can be "
                                  "written into", construct="an indexed assignment",
                                  hint="make a local array first: y = np.zeros(n)")
        if base.id in self.info.params and self.current[base.id] == base.id:
            raise self.info.error(target, f"writing into the argument '{base.id}' would change "
                                  "the caller's array", construct="an indexed assignment",
                                  hint=f"write into a copy: {base.id} = {base.id}.copy()")
        if is_mask(target.slice, self.masks, self.info.resolve):
            # y[m] = v: the array with v put where m holds, stored whole (any rank of m)
            mask = self.atom(target.slice)
            atom = value if normalized else self.atom(value)
            whole = self.names.temp()
            self.emit(whole, ast.Call(func=self.reference(kernels_shapes.mask_put), args=[
                ast.Name(id=self.current[base.id], ctx=ast.Load()), mask, atom], keywords=[]))
            index: ast.expr = ast.Slice()
            atom = ast.Name(id=whole, ctx=ast.Load())
        else:
            index = self.subscript(target).slice
            atom = value if normalized else self.atom(value)
        self.out.append(ast.Assign(targets=[ast.Subscript(
            value=ast.Name(id=self.current[base.id], ctx=ast.Load()), slice=index,
            ctx=ast.Store())], value=atom, lineno=self.lineno))

    # -- names ------------------------------------------------------------------------------

    def load(self, name: str, node: ast.AST) -> ast.Name:
        if name in self.current:
            return ast.Name(id=self.current[name], ctx=ast.Load())
        if name in self.info.bindings:
            return ast.Name(id=name, ctx=ast.Load())
        raise self.info.error(node, f"'{name}' is used before it is assigned",
                              construct="an unassigned name",
                              hint=f"assign '{name}' before its first use (before the loop or "
                              "branch that reads it)")

    def define(self, name: str) -> str:
        """A new version of user variable ``name``: the name itself the first time."""
        if name in self.current:
            version = self.names.fresh(name)
        else:
            version = name
            self.names.taken.add(name)
        self.current[name] = version
        self.variables[version] = name
        return version

    def copy(self, target: str, source: str) -> ast.Assign:
        return ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())],
                          value=ast.Name(id=source, ctx=ast.Load()), lineno=self.lineno)

    def emit(self, target: str, value: ast.expr) -> None:
        if isinstance(value, ast.Tuple):  # a name holds a number or an array, never a tuple
            raise self.info.error(ast.Pass(lineno=self.lineno),
                                  "a tuple cannot be the value of a single name",
                                  construct="a tuple value", hint="unpack it into names "
                                  "(a, b = x, y), or build an array: np.array((x, y))")
        self.out.append(ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value,
                                   lineno=self.lineno))
        if (isinstance(value, ast.Subscript)
                or isinstance(value, ast.Name) and value.id in self.views):
            self.views.add(target)  # may be a view: r = A[i] (a row when A has more axes)


_METHODS = {"sum": "sum", "mean": "mean", "max": "max", "min": "min", "prod": "prod",
            "dot": "dot", "reshape": "reshape", "transpose": "transpose", "copy": "copy",
            "ravel": "ravel", "flatten": "flatten", "squeeze": "squeeze",
            "swapaxes": "swapaxes", "cumsum": "cumsum", "cumprod": "cumprod", "std": "std",
            "var": "var", "trace": "trace", "diagonal": "diagonal", "repeat": "repeat",
            "take": "take", "clip": "clip", "round": "round", "argmax": "argmax",
            "argmin": "argmin", "argsort": "argsort", "any": "any", "all": "all",
            "astype": "astype", "item": "item"}
_REDUCTIONS = (numpy.sum, numpy.mean, numpy.max, numpy.min, numpy.prod, numpy.amax, numpy.amin)
_ALONG = {numpy.sum: "sum_along", numpy.mean: "mean_along", numpy.max: "max_along",
          numpy.amax: "max_along", numpy.min: "min_along", numpy.amin: "min_along",
          numpy.prod: "prod_along"}


def _list_as_tuple(display: ast.List) -> ast.Tuple:
    """An index written as a list (nested lists too) as the tuple ``np.array`` reads."""
    return ast.Tuple(elts=[_list_as_tuple(e) if isinstance(e, ast.List) else e
                           for e in display.elts], ctx=ast.Load())


def _tuple_shape(value: object) -> object:
    """The nesting of a tuple of atoms or of leaf names: ``None`` for a leaf."""
    if isinstance(value, ast.Tuple):
        return tuple(_tuple_shape(e) for e in value.elts)
    if isinstance(value, tuple):
        return tuple(_tuple_shape(e) for e in value)
    return None


def _flat_leaves(value: object) -> list:
    if isinstance(value, ast.Tuple):
        return [leaf for e in value.elts for leaf in _flat_leaves(e)]
    if isinstance(value, tuple):
        return [leaf for e in value for leaf in _flat_leaves(e)]
    return [value]


def _returns_tuple(func: object) -> bool:
    """Whether the user function ``func`` returns a tuple display (read from its source)."""
    func = getattr(func, "py_func", func)
    key = id(func)
    if key not in _RETURNS_TUPLE:
        try:
            tree = parse_function(func, tuple_result=True).tree
        except Exception:  # noqa: BLE001 - the call is then handled (and refused) as usual
            _RETURNS_TUPLE[key] = (func, False)
        else:
            _RETURNS_TUPLE[key] = (func, any(
                isinstance(n, ast.Return) and isinstance(n.value, ast.Tuple)
                for n in ast.walk(tree)))
    held, answer = _RETURNS_TUPLE[key]
    return answer if held is func else False


_RETURNS_TUPLE: dict[int, tuple[object, bool]] = {}
_STATIC_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
               ast.Mult: lambda a, b: a * b, ast.FloorDiv: lambda a, b: a // b,
               ast.Mod: lambda a, b: a % b}


def _targets(stmts: list[ast.stmt]) -> set[str]:
    return {n.id for s in stmts for n in ast.walk(s)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


#: bitwise operators of masks, as the NumPy functions they are on truth values
_LOGICAL = {ast.BitAnd: "logical_and", ast.BitOr: "logical_or", ast.BitXor: "logical_xor"}


def _plain_exponent(node: ast.expr) -> bool:
    """An exponent for which ``**`` in Numba means what it means in Python: a float literal
    or a non-negative integer literal."""
    return isinstance(node, ast.Constant) and (
        type(node.value) is float or (type(node.value) is int and node.value >= 0))


def _is_arithmetic(node: ast.expr) -> bool:
    """A binary or unary operation (not a negative literal) or a single comparison."""
    return (isinstance(node, ast.BinOp)
            or (isinstance(node, ast.UnaryOp) and not _is_number(node))
            or (isinstance(node, ast.Compare) and len(node.ops) == 1))


def _arithmetic_operands(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    return [node.left, node.comparators[0]]


def _method_hint(func: ast.Attribute) -> str:
    """What to write instead of an array method outside ``_METHODS``."""
    base, name = ast.unparse(func.value), func.attr
    if name == "astype":
        return (f"{base}.astype(float) and {base}.astype(np.float64) are read, and "
                f"{base}.astype(int) and {base}.astype(np.int64) (indices, piecewise constant); "
                "for another dtype leave out .astype(...): differentiated code computes in "
                "float64")
    if name in ("sort", "fill", "put", "resize", "partition", "itemset"):
        return (f".{name}() changes {base} in place, which differentiated code does not do: "
                + (f"write y = np.sort({base}) (or np.sort({base}, axis))" if name == "sort"
                   else "make a new array instead"))
    target = getattr(numpy, name, None)
    if target is not None and (rules.has_rule(target) or rules.is_nondifferentiable(target)):
        return f"call the numpy function: np.{name}({base}, ...)"
    return ("use " + ", ".join(f".{m}()" for m in _METHODS) + ", or write it with the "
            "arithmetic and numpy functions adcompile differentiates")


def _keyword_hint(target: object, node: ast.Call, keyword: str | None) -> str:
    """What to write instead of a keyword argument that only axis=/keepdims= readers know."""
    name = ast.unparse(node.func)
    if keyword == "dtype":
        return ("leave out dtype=: differentiated code computes in float64 (np.zeros(n) is "
                "float64; an int array becomes float64 when multiplied by 1.0)")
    if keyword == "out":
        return f"leave out out= and assign the result: y = {name}(...)"
    if target is builtins.sum and keyword == "start":
        return "add the start value to the sum instead: sum((a, b)) + start"
    if target is builtins.sorted and keyword == "key":
        return ("sort the keys themselves (sorted(abs(v) for v in x)), or index with the "
                "order of the keys: x[np.argsort(np.abs(x))]")
    if target in (builtins.max, builtins.min) and keyword == "key":
        better = ">" if target is builtins.max else "<"
        return (f"write the loop that keeps the item whose key is {target.__name__}imal: m = "
                f"x[0], then for v in x: if abs(v) {better} abs(m): m = v")
    call = _positional_call(target, node)
    if call is not None:
        return f"pass it positionally: {call}"
    return (f"only axis= and keepdims= are read as keywords; pass the value positionally if "
            f"{name} takes it in that place, else leave '{keyword}=' out when its default "
            "does what you need, or compute this part outside the function and pass it in")


def _positional_call(target: object, node: ast.Call) -> str | None:
    """``node`` with its keyword arguments written positionally, when the callee's signature
    allows it and a derivative rule takes that many arguments."""
    if target in (builtins.sum, builtins.max, builtins.min, math.fsum):
        return None  # read only with one tuple or several plain arguments
    try:
        params = list(inspect.signature(target).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    given = {kw.arg: kw.value for kw in node.keywords}
    if None in given or len(node.args) > len(params):
        return None
    args = list(node.args)
    for param in params[len(args):]:
        if not given:
            break
        if param.kind not in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            return None
        if param.name in given:
            args.append(given.pop(param.name))
        elif isinstance(param.default, (int, float, bool, type(None))):
            args.append(ast.Constant(value=param.default))
        else:
            return None
    if given or (rules.has_rule(target) and rules.lookup(target, len(args)) is None):
        return None
    return ast.unparse(ast.Call(func=node.func, args=args, keywords=[]))


def _parameter_name(target: object, position: int) -> str | None:
    """The name of ``target``'s parameter at ``position`` (None when its signature cannot be
    read: the reductions' ``axis=`` is then placed second, as they take it)."""
    try:
        params = list(inspect.signature(target).parameters)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return params[position] if position < len(params) else None


def _bound_by_signature(target: object, node: ast.Call) -> list[ast.expr] | None:
    """The call's arguments in the primitive's parameter order (keywords placed, defaults in
    between filled in), when a derivative rule or an implementation takes that many."""
    if _positional_call(target, node) is None:
        return None
    return _positional_nodes(target, node)


def _positional_nodes(target: object, node: ast.Call) -> list[ast.expr]:
    params = list(inspect.signature(target).parameters.values())  # type: ignore[arg-type]
    given = {kw.arg: kw.value for kw in node.keywords}
    args = list(node.args)
    for param in params[len(args):]:
        if not given:
            break
        if param.name in given:
            args.append(given.pop(param.name))
        else:
            args.append(ast.Constant(value=param.default))
    return args


def _is_literal(node: ast.expr) -> bool:
    """A literal argument of a composite: a number, a bool, None, a string, or a tuple of
    those (``axis=(0, 1)``)."""
    if isinstance(node, ast.Constant):
        return True
    if _is_number(node):
        return True
    if isinstance(node, ast.Tuple):
        return all(_is_literal(e) for e in node.elts)
    return False


def _substitute_literals(tree: ast.FunctionDef, literal: dict[str, ast.expr],
                         values: set[str] = frozenset()) -> ast.FunctionDef:
    """``tree`` with its parameters in ``literal`` replaced by their values, and the ``if``
    statements and conditional expressions whose conditions are then known decided.  The
    parameters in ``values`` hold numbers or arrays: ``p is None`` is False for them, and
    ``isinstance(p, tuple)`` too."""

    class Substitute(ast.NodeTransformer):
        def visit_Compare(self, n: ast.Compare) -> ast.expr:
            self.generic_visit(n)
            if (len(n.ops) == 1 and isinstance(n.ops[0], (ast.Is, ast.IsNot))
                    and isinstance(n.left, ast.Name) and n.left.id in values
                    and isinstance(n.comparators[0], ast.Constant)
                    and n.comparators[0].value is None):
                return ast.copy_location(ast.Constant(value=isinstance(n.ops[0], ast.IsNot)),
                                         n)
            return n

        def visit_Call(self, n: ast.Call) -> ast.expr:
            self.generic_visit(n)
            if (isinstance(n.func, ast.Name) and n.func.id == "isinstance"
                    and len(n.args) == 2 and isinstance(n.args[0], ast.Name)
                    and n.args[0].id in values and isinstance(n.args[1], ast.Name)
                    and n.args[1].id == "tuple"):
                return ast.copy_location(ast.Constant(value=False), n)
            return n

        def visit_Name(self, n: ast.Name) -> ast.expr:
            if isinstance(n.ctx, ast.Load) and n.id in literal:
                return ast.copy_location(copy.deepcopy(literal[n.id]), n)
            return n

        def visit_If(self, n: ast.If) -> Any:
            self.generic_visit(n)
            known = _static_value(n.test)
            if known is _UNKNOWN:
                return n
            taken = n.body if known else n.orelse
            return taken or [ast.Pass()]

        def visit_IfExp(self, n: ast.IfExp) -> ast.expr:
            self.generic_visit(n)
            known = _static_value(n.test)
            if known is _UNKNOWN:
                return n
            return n.body if known else n.orelse

    tree = Substitute().visit(tree)
    return ast.fix_missing_locations(tree)


_UNKNOWN = object()


def _static_value(node: ast.expr) -> Any:
    """The value of an expression made of literals (comparisons, ``is None``, ``and``,
    ``not``, ``len``/``isinstance`` of literals), or ``_UNKNOWN``."""
    if isinstance(node, ast.Constant):
        return node.value
    if _is_number(node):
        return -node.operand.value
    if isinstance(node, ast.Tuple):
        items = [_static_value(e) for e in node.elts]
        return _UNKNOWN if any(i is _UNKNOWN for i in items) else tuple(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        v = _static_value(node.operand)
        return _UNKNOWN if v is _UNKNOWN else (not v)
    if isinstance(node, ast.BoolOp):  # decided by one known operand where it can be
        values = [_static_value(v) for v in node.values]
        decisive = isinstance(node.op, ast.Or)
        if any(v is not _UNKNOWN and bool(v) is decisive for v in values):
            return decisive
        if any(v is _UNKNOWN for v in values):
            return _UNKNOWN
        return not decisive
    if isinstance(node, ast.Compare):
        left = _static_value(node.left)
        if left is _UNKNOWN:
            return _UNKNOWN
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _static_value(comp)
            if right is _UNKNOWN or type(op) not in _STATIC_COMPARE:
                return _UNKNOWN
            if not _STATIC_COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords
            and node.func.id in ("len", "isinstance")):
        values = [_static_value(a) for a in node.args]
        if node.func.id == "isinstance" and len(node.args) == 2:
            kinds = {"int": int, "float": float, "tuple": tuple, "bool": bool}
            names = (node.args[1].elts if isinstance(node.args[1], ast.Tuple)
                     else [node.args[1]])
            if values[0] is _UNKNOWN or not all(isinstance(n, ast.Name) and n.id in kinds
                                                for n in names):
                return _UNKNOWN
            return isinstance(values[0], tuple(kinds[n.id] for n in names))
        if node.func.id == "len" and len(values) == 1 and isinstance(values[0], tuple):
            return len(values[0])
    return _UNKNOWN


_STATIC_COMPARE = {ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
                   ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
                   ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
                   ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
                   ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _counter_index(node: ast.expr, counters: set[str]) -> bool:
    """Whether ``node`` is an int made of literals and loop counters by + - * // %."""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.Name):
        return node.id in counters
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _counter_index(node.operand, counters)
    return (isinstance(node, ast.BinOp)
            and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod))
            and _counter_index(node.left, counters) and _counter_index(node.right, counters))


def _number_display(value: Any) -> ast.Tuple | None:
    """A (nested) tuple of Python numbers as a display of literals, else ``None``."""
    if not isinstance(value, tuple) or not value:
        return None
    elts: list[ast.expr] = []
    for v in value:
        inner = _number_display(v)
        if inner is None:
            inner = _literal(v)
        if inner is None:
            return None
        elts.append(inner)
    return ast.Tuple(elts=elts, ctx=ast.Load())


def _mixed_rows(value: Any) -> bool:
    """Whether ``value`` is a short sequence of rows of numbers in which some position holds
    ints in every row and another floats (an array of it would make the ints floats)."""
    if not isinstance(value, (list, tuple)) or not 0 < len(value) <= 64 or not all(
            isinstance(r, (list, tuple)) and r and len(r) == len(value[0]) for r in value):
        return False
    columns = list(zip(*value, strict=True))
    ints = [all(isinstance(v, numbers.Integral) for v in c) for c in columns]
    return any(ints) and not all(ints) and all(
        isinstance(v, numbers.Real) for c in columns for v in c)


def _literal(v: Any) -> ast.expr | None:
    """A finite Python or NumPy number as a literal of its kind (``-2.0`` as ``-(2.0)``, as
    the user writes it), else ``None``."""
    if isinstance(v, (bool, numpy.bool_)):
        return ast.Constant(value=bool(v))
    if not isinstance(v, numbers.Real) or not math.isfinite(v):
        return None
    v = int(v) if isinstance(v, numbers.Integral) else float(v)
    if v < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-v))
    return ast.Constant(value=v)


def _is_number(node: ast.expr) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float)))
