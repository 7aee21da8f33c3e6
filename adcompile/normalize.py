"""Normalization: rewrite the body into one operation per assignment.

After this pass every statement is ``name = op`` where ``op`` is a single binary or unary
operation, a comparison, a call whose arguments are names or constants, or a plain copy; the body
ends in ``return atom``.  Nested expressions get fresh temporaries ``t1, t2, ...``; augmented
assignment and tuple unpacking are desugared; a reassigned name gets a new version (``x``,
``x_1``, ...) so that no value is overwritten and the backward sweep can read every one.
User names are kept wherever they exist.
"""

from __future__ import annotations

import ast
import numbers
from dataclasses import dataclass

from .frontend import FunctionInfo
from .names import NameGen
from .render import function_def


@dataclass
class Normalized:
    """The normalized body: ``stmts`` in order, then ``return result``."""

    info: FunctionInfo
    stmts: list[ast.Assign]
    result: ast.expr
    names: NameGen

    def to_function(self) -> ast.FunctionDef:
        """The normalized body as a function (for printing and tests)."""
        body: list[ast.stmt] = [*self.stmts, ast.Return(value=self.result)]
        return function_def(self.info.name, self.info.tree.args, body)


def is_atom(node: ast.expr) -> bool:
    """Names, numeric constants and module constants such as ``math.pi``."""
    return isinstance(node, (ast.Name, ast.Constant, ast.Attribute))


def normalize(info: FunctionInfo) -> Normalized:
    """Normalize ``info.tree`` (see the module docstring)."""
    return _Normalizer(info).run()


class _Normalizer:
    def __init__(self, info: FunctionInfo) -> None:
        self.info = info
        self.names = NameGen(info.names | set(info.bindings))
        self.current: dict[str, str] = {p: p for p in info.params}
        self.stmts: list[ast.Assign] = []
        self.lineno = info.tree.lineno

    def run(self) -> Normalized:
        body = self.info.tree.body
        if body and isinstance(body[0], ast.Expr):  # docstring
            body = body[1:]
        for stmt in body[:-1]:
            self.lineno = stmt.lineno
            self.statement(stmt)
        ret = body[-1]
        assert isinstance(ret, ast.Return) and ret.value is not None
        self.lineno = ret.lineno
        value = ret.value
        if is_atom(value) or isinstance(value, ast.UnaryOp) and _is_number(value):
            result = self.atom(value)
        else:
            result_name = self.info.name if self.info.name not in self.names.taken else "result"
            result_name = self.names.fresh(result_name)
            self.emit(result_name, self.operation(value))
            result = ast.Name(id=result_name, ctx=ast.Load())
        return Normalized(self.info, self.stmts, result, self.names)

    # -- statements -------------------------------------------------------------------------

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
            if stmt.value is None:
                return
            self.assign(stmt.target, stmt.value)
            return
        if isinstance(stmt, ast.AugAssign):
            target = stmt.target
            if not isinstance(target, ast.Name):
                raise self.info.error(stmt, "augmented assignment to this target is not "
                                      "supported", construct="augmented assignment",
                                      hint="assign to a plain name")
            old = self.load(target.id, target)
            op = ast.BinOp(left=old, op=stmt.op, right=self.atom(stmt.value))
            self.emit(self.define(target.id), op)
            return
        raise self.info.error(stmt, f"the statement '{type(stmt).__name__}' is not supported",
                              construct=type(stmt).__name__)

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            if isinstance(value, ast.Tuple):
                raise self.info.error(value, "a tuple cannot be assigned to a single name",
                                      construct="a tuple value", hint="unpack it into names: "
                                      "a, b = x, y")
            op = self.operation(value) if not is_atom(value) else self.atom(value)
            self.emit(self.define(target.id), op)
            return
        if isinstance(target, ast.Tuple):
            if not isinstance(value, ast.Tuple) or len(value.elts) != len(target.elts):
                raise self.info.error(target, "only unpacking of a tuple display of the same "
                                      "length is supported", construct="tuple unpacking",
                                      hint="write a, b = x, y, or assign each name separately")
            # evaluate every right-hand side before any name is rebound: a, b = b, a
            atoms = [self.atom(v) for v in value.elts]
            for t, v in zip(target.elts, atoms, strict=True):
                self.bind(t, v)
            return
        raise self.info.error(target, "assignment to this target is not supported",
                              construct=f"assignment to {type(target).__name__}",
                              hint="assign to a plain name")

    def bind(self, target: ast.expr, atom: ast.expr) -> None:
        """Assign an already-normalized atom to a name."""
        if not isinstance(target, ast.Name):
            raise self.info.error(target, "nested unpacking is not supported",
                                  construct="nested unpacking", hint="unpack one level at a "
                                  "time")
        self.emit(self.define(target.id), atom)

    # -- expressions ------------------------------------------------------------------------

    def atom(self, node: ast.expr) -> ast.expr:
        """``node`` as a name or constant, emitting temporaries for anything compound."""
        if isinstance(node, ast.Name):
            return self.load(node.id, node)
        if isinstance(node, ast.Constant):
            return node
        if _is_number(node):  # -2.0 as a literal
            return ast.Constant(value=-node.operand.value)
        if isinstance(node, ast.Attribute):
            value = self.info.resolve(node)
            if isinstance(value, numbers.Real):
                return node
            raise self.info.error(node, f"cannot use '{ast.unparse(node)}' as a value",
                                  construct="an attribute", hint="only numeric module "
                                  "constants such as math.pi can be read")
        op = self.operation(node)
        temp = self.names.temp()
        self.emit(temp, op)
        return ast.Name(id=temp, ctx=ast.Load())

    def operation(self, node: ast.expr) -> ast.expr:
        """``node`` as one operation over atoms."""
        if isinstance(node, ast.BinOp):
            return ast.BinOp(left=self.atom(node.left), op=node.op, right=self.atom(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.atom(node.operand)
            if _is_number(node):
                return self.atom(node)
            return ast.UnaryOp(op=node.op, operand=self.atom(node.operand))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.info.error(node, "chained comparisons are not supported yet",
                                      construct="a chained comparison",
                                      hint="compare two values at a time")
            return ast.Compare(left=self.atom(node.left), ops=node.ops,
                               comparators=[self.atom(node.comparators[0])])
        if isinstance(node, ast.Call):
            return self.call(node)
        return self.atom(node)

    def call(self, node: ast.Call) -> ast.Call:
        func = node.func
        target = self.info.resolve(func) if isinstance(func, (ast.Name, ast.Attribute)) else None
        if target is None:
            raise self.info.error(node, f"cannot call '{ast.unparse(func)}'",
                                  construct="a call", hint="call module-level functions, "
                                  "math/numpy functions or functions registered with "
                                  "adcompile.derivative")
        if node.keywords:
            raise self.info.error(node, f"keyword arguments in the call to "
                                  f"'{ast.unparse(func)}' are not supported yet",
                                  construct="a keyword argument", hint="pass it positionally")
        return ast.Call(func=func, args=[self.atom(a) for a in node.args], keywords=[])

    # -- names ------------------------------------------------------------------------------

    def load(self, name: str, node: ast.AST) -> ast.Name:
        if name in self.current:
            return ast.Name(id=self.current[name], ctx=ast.Load())
        if name in self.info.bindings:
            return ast.Name(id=name, ctx=ast.Load())
        raise self.info.error(node, f"'{name}' is used before it is assigned",
                              construct="an unassigned name", hint=f"assign '{name}' first")

    def define(self, name: str) -> str:
        """A new version of user variable ``name``: the name itself the first time."""
        if name in self.current:
            version = self.names.fresh(name)
        else:
            version = name
            self.names.taken.add(name)
        self.current[name] = version
        return version

    def emit(self, target: str, value: ast.expr) -> None:
        stmt = ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value,
                          lineno=self.lineno)
        self.stmts.append(stmt)


def _is_number(node: ast.expr) -> bool:
    return (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float)))
