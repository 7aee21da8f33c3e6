"""Many columns in one call: a ``columns`` function (:mod:`adcompile.hoist`) rewritten for a
block of seeds with a leading batch axis.

``hessian`` calls ``<name>_columns(*args, *given, dt_x)`` once per entry of ``x``.  For a
straight-line body, :func:`batched` writes ``<name>_block``, which takes ``dt_x`` as a stack
of ``k`` seeds, shape ``(k,) + x.shape``, and returns the ``k`` results stacked the same way:
a matrix-vector product ``X @ dt_x`` becomes one matrix-matrix product ``dt_x @ X.T``,
arithmetic works on the stack as it is (an axis inserted where a value of lower rank meets
one of higher rank: ``d[:, None]``), a sum per column is ``column_sums(d)``.  Each value
either depends on the seed (it is *batched*: one per column) or does not (it is computed
once, as before); a statement that reads only unbatched values is kept as it is.

The Hessian's seeds are unit seeds, rows of the identity: with ``units``, the block function
takes ``first, count`` in place of the stack, and a product of a unit seed and an array is a
slice of the array, ``X @ dt_x`` being ``X.T[first:first + count]`` (a copy of columns, not a
product); the stack itself (``unit_rows``) is made only where something else reads it.

The ranks and shapes of the values come from one run of ``<name>_columns`` as Python, on
the first seed, at the arguments' shapes: the block function is made for those shapes (the
Hessian keeps one per shape of its arguments).  That run's result (and the run's on the last
seed) is also checked against the block function's; a body the rules below do not cover, or
a mismatch, gives ``None``, and the caller keeps its loop over columns.

Rules, for a statement that reads a batched value: arithmetic and elementwise functions
(ufuncs, the vector kernels; ``math.f`` becomes ``np.f``) as they are; ``@`` with a seed on
the right of a matrix as ``b @ a.T``, on the left as it is; ``np.sum``/``np.mean`` of a whole
array per column; indexing with numbers and slices after a leading ``:``; ``x.T`` and
``x.shape`` of the column; the kernels of the backward sweep where the shapes make them the
identity or a product (``unbroadcast``, ``broadcast_tangent``, ``fresh_tangent``,
``reduce_adjoint``, ``matmul_right``, ``matmul_left``, ``as_float``).  A kernel that reads
the batched values only for their shape (``reduce_adjoint(g, dt_t4, None)``,
``reduced_size``, ``zeros_like``: the arguments declared ``shape_only`` to the rules) gives
the same for every column and is computed once, on a value of the column's shape.  Anything
else is computed column by column in a helper loop of its own (``<target>_per_column``),
which is always right, only slower.

Then the body drops what nothing reads, writes batched arithmetic read once into its reader
(one pass over the stack), and computes once, before it, each part of batched arithmetic
that reads no batched value but an array (``-(d_dt_t4 / t12)`` in ``-(d_dt_t4 / t12) *
dt_t4``): the same operations on the same numbers, once rather than per column.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import ctypes
import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numba
import numpy as np

from . import hoist, kernels, kernels_fastmath, rules
from .render import function_def
from .tangents import fuse_tangents

#: the kernels of :mod:`adcompile.kernels` these rules know
_K = kernels
_ELEMENTWISE_KERNELS = {getattr(kernels_fastmath, n) for n in kernels_fastmath.__all__}
_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)


def column_sums(x: np.ndarray) -> np.ndarray:
    """The sum of each column's value: ``x`` of shape ``(k, ...)`` gives ``(k,)``."""
    k = x.shape[0]
    flat = np.ascontiguousarray(x).reshape(k, x.size // k if k else 0)
    out = np.zeros(k)
    for j in range(k):
        out[j] = flat[j].sum()
    return out


def column_means(x: np.ndarray) -> np.ndarray:
    """The mean of each column's value."""
    k = x.shape[0]
    return column_sums(x) / (x.size // k)


column_sums_jit = numba.njit(column_sums, error_model="numpy")
column_means_jit = numba.njit(
    lambda x: column_sums_jit(x) / (x.size // x.shape[0]), error_model="numpy")


def unit_rows(first: int, count: int, shape: tuple) -> np.ndarray:
    """The unit seeds ``first`` to ``first + count`` of an array of ``shape``, stacked:
    rows of the identity, each shaped as ``shape``."""
    size = 1
    for n in shape:
        size *= n
    out = np.zeros((count, size))
    for k in range(count):
        out[k, first + k] = 1.0
    return out.reshape((count,) + shape)


unit_rows_jit = numba.njit(unit_rows)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """The BLAS that Numba calls (SciPy's OpenBLAS) on one thread meanwhile.  A block's
    matrix products are small (a hundred columns): a second thread gains little when the
    machine is idle, and when another process keeps a core busy, OpenBLAS's threads wait
    for each other and a product takes ten to a hundred times as long.  Without an OpenBLAS
    of SciPy's to be found, nothing is changed."""
    get, put = _openblas_threads()
    if get is None:
        yield
        return
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)


_THREADS: list[tuple[Any, Any]] = []


def _openblas_threads() -> tuple[Any, Any]:
    """OpenBLAS's ``get_num_threads`` and ``set_num_threads`` in SciPy's copy, or Nones."""
    if not _THREADS:
        found: tuple[Any, Any] = (None, None)
        try:
            import scipy

            root = Path(scipy.__file__).parent
            for path in [*root.parent.glob("scipy.libs/*openblas*"),
                         *root.glob(".dylibs/*openblas*")]:
                lib = ctypes.CDLL(str(path))
                for prefix in ("scipy_openblas", "openblas"):
                    for suffix in ("", "64_"):
                        get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                        put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                        if get is not None and put is not None and found[0] is None:
                            get.restype = ctypes.c_int
                            put.argtypes = [ctypes.c_int]
                            found = (get, put)
        except (ImportError, OSError):
            pass
        _THREADS.append(found)
    return _THREADS[0]


class _Unsupported(Exception):
    pass


class _Batcher:
    def __init__(self, namespace: dict[str, Any], shapes: dict[str, tuple],
                 batched: set[str]) -> None:
        self.namespace = namespace
        self.shapes = shapes      # per-column shape of every name (from the Python run)
        self.batched = set(batched)
        self.renamed: dict[str, str] = {}
        self.taken: set[str] = set(shapes) | set(namespace)
        self.helpers: list[ast.FunctionDef] = []
        #: names that hold the seeds as rows of the identity, and the names of the first
        #: row's index and of the count of rows (the block of unit seeds)
        self.units: set[str] = set()
        self.span: tuple[str, str] = ("", "")
        #: the functions the rules call that are not the module's (all pure)
        self.own: set[str] = set()

    # -- names ----------------------------------------------------------------------------

    def free(self, base: str) -> str:
        """``base`` itself when no name takes it, else a fresh name."""
        if base in self.taken:
            return self.fresh(base)
        self.taken.add(base)
        return base

    def fresh(self, base: str) -> str:
        k = 1
        while f"{base}_{k}" in self.taken:
            k += 1
        self.taken.add(f"{base}_{k}")
        return f"{base}_{k}"

    def name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id=self.renamed.get(node.id, node.id), ctx=ast.Load())

    def is_unit(self, node: ast.expr) -> bool:
        """Whether ``node`` is a name that holds the unit seeds of the block."""
        return isinstance(node, ast.Name) and self.renamed.get(node.id, node.id) in self.units

    def rows(self, node: ast.expr) -> ast.expr:
        """``node[first:first + count]``: the rows of the block's unit seeds."""
        first, count = (ast.Name(id=n, ctx=ast.Load()) for n in self.span)
        end = ast.BinOp(left=first, op=ast.Add(), right=count)
        return ast.Subscript(value=node, slice=ast.Slice(lower=copy.copy(first), upper=end),
                             ctx=ast.Load())

    def is_batched(self, node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and self.renamed.get(n.id, n.id) in self.batched
                   for n in ast.walk(node))

    def rank(self, node: ast.expr) -> int:
        """The rank of one column's value of ``node`` (a name, a number, or arithmetic)."""
        if isinstance(node, ast.Name):
            shape = self.shapes.get(node.id)
            if shape is None:
                raise _Unsupported(node.id)
            return len(shape)
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.BinOp) and _is_arithmetic(node):
            return max(self.rank(node.left), self.rank(node.right))
        if isinstance(node, ast.UnaryOp) and _is_arithmetic(node):
            return self.rank(node.operand)
        raise _Unsupported(ast.unparse(node))

    def resolve(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            return self.namespace.get(node.id)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return None if base is None else getattr(base, node.attr, None)
        return None

    def renamed_expr(self, node: ast.expr) -> ast.expr:
        new = copy.deepcopy(node)
        for n in ast.walk(new):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                n.id = self.renamed.get(n.id, n.id)
        return new

    # -- statements -------------------------------------------------------------------------

    def statement(self, stmt: ast.stmt) -> ast.stmt:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            return stmt
        if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            value = ast.BinOp(left=ast.Name(id=stmt.target.id, ctx=ast.Load()), op=stmt.op,
                              right=stmt.value)
            return self.assign(stmt.target.id, value)
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            return self.assign(stmt.targets[0].id, stmt.value)
        if isinstance(stmt, ast.Return):
            return ast.Return(value=self.renamed_expr(stmt.value))
        raise _Unsupported(type(stmt).__name__)

    def assign(self, target: str, value: ast.expr) -> ast.stmt:
        batched = self.is_batched(value)
        new_value = self.expression(target, value) if batched else self.renamed_expr(value)
        name = target
        if target in self.renamed or target in self.assigned:
            name = self.fresh(target)  # a value of another type: a name of its own
        self.assigned.add(name)
        self.defined.append(name)
        self.renamed[target] = name
        self.shapes[name] = self.shapes[target]
        if self.is_unit(value):
            self.units.add(name)
        else:
            self.units.discard(name)
        if batched and not self.shape_only:
            self.batched.add(name)
        else:
            self.batched.discard(name)
        self.shape_only = False
        return ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=new_value,
                          lineno=1)

    assigned: set[str]
    #: the names defined so far, in order (the parameters first)
    defined: list[str]
    shape_only = False

    # -- expressions ------------------------------------------------------------------------

    def lifted(self, node: ast.expr, rank: int) -> ast.expr:
        """A batched operand of lower rank than the result, given the axes it lacks after
        the batch axis (``d[:, None]``), so that it broadcasts as each column would."""
        if isinstance(node, ast.BinOp) and _is_arithmetic(node):
            return ast.BinOp(left=self.lifted(node.left, rank), op=node.op,
                             right=self.lifted(node.right, rank))
        if isinstance(node, ast.UnaryOp) and _is_arithmetic(node):
            return ast.UnaryOp(op=node.op, operand=self.lifted(node.operand, rank))
        new = self.renamed_expr(node)
        if not self.is_batched(node):
            return new
        missing = rank - self.rank(node)
        if missing <= 0:
            return new
        index = ast.Tuple(elts=[ast.Slice(), *([ast.Constant(value=None)] * missing)],
                          ctx=ast.Load())
        return ast.Subscript(value=new, slice=index, ctx=ast.Load())

    def expression(self, target: str, value: ast.expr) -> ast.expr:
        shape = self.shapes[target]
        rank = len(shape) if shape is not None else -1  # -1: not a number or an array
        try:
            return self.rule(target, value, rank)
        except _Unsupported:
            return self.per_column(target, value)

    def rule(self, target: str, value: ast.expr, rank: int) -> ast.expr:
        if isinstance(value, ast.Name):
            return self.name(value)
        if isinstance(value, ast.Attribute):
            return self.attribute(value)
        if rank < 0:
            raise _Unsupported(ast.unparse(value))
        if isinstance(value, ast.BinOp) and isinstance(value.op, _ARITHMETIC):
            return ast.BinOp(left=self.lifted(value.left, rank), op=value.op,
                             right=self.lifted(value.right, rank))
        if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
            return ast.UnaryOp(op=value.op, operand=self.lifted(value.operand, rank))
        if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
            return self.matmul(value.left, value.right)
        if isinstance(value, ast.Subscript):
            return self.subscript(value)
        if isinstance(value, ast.Attribute):
            return self.attribute(value)
        if isinstance(value, ast.Call) and not value.keywords:
            return self.call(target, value, rank)
        raise _Unsupported(ast.unparse(value))

    def matmul(self, a: ast.expr, b: ast.expr) -> ast.expr:
        if not (isinstance(a, ast.Name) and isinstance(b, ast.Name)):
            raise _Unsupported("@")
        ra, rb = self.rank(a), self.rank(b)
        na, nb = self.name(a), self.name(b)
        if self.is_batched(a) and not self.is_batched(b) and ra == 1 and rb in (1, 2):
            if self.is_unit(a):
                return self.rows(nb)  # unit seed j @ b is row (entry) j of b
            return ast.BinOp(left=na, op=ast.MatMult(), right=nb)  # (k, n) @ (n, m)
        if self.is_batched(b) and not self.is_batched(a) and rb == 1 and ra in (1, 2):
            right = ast.Attribute(value=na, attr="T", ctx=ast.Load()) if ra == 2 else na
            if self.is_unit(b):
                return self.rows(right)  # a @ unit seed j is column (entry) j of a
            return ast.BinOp(left=nb, op=ast.MatMult(), right=right)  # (k, n) @ a.T
        raise _Unsupported("@")

    def subscript(self, value: ast.Subscript) -> ast.expr:
        if not isinstance(value.value, ast.Name) or self.is_batched(value.slice):
            raise _Unsupported("index")
        parts = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        for part in parts:
            if isinstance(part, ast.Name) and self.shapes.get(part.id, ()) != ():
                raise _Unsupported("an array index")
            if not isinstance(part, (ast.Name, ast.Constant, ast.Slice)):
                raise _Unsupported("index")
        index = ast.Tuple(elts=[ast.Slice(), *(self.renamed_expr(p) for p in parts)],
                          ctx=ast.Load())
        return ast.Subscript(value=self.name(value.value), slice=index, ctx=ast.Load())

    def attribute(self, value: ast.Attribute) -> ast.expr:
        if not isinstance(value.value, ast.Name):
            raise _Unsupported("attribute")
        base, rank = self.name(value.value), self.rank(value.value)
        if value.attr == "T" and rank <= 1:
            return base
        if value.attr == "T" and rank == 2:
            axes = ast.Tuple(elts=[ast.Constant(value=a) for a in (0, 2, 1)], ctx=ast.Load())
            return ast.Call(func=ast.Attribute(value=base, attr="transpose", ctx=ast.Load()),
                            args=[axes], keywords=[])
        if value.attr in ("shape", "size", "ndim"):
            self.shape_only = True
            column = ast.Subscript(value=base, slice=ast.Constant(value=0), ctx=ast.Load())
            return ast.Attribute(value=column, attr=value.attr, ctx=ast.Load())
        raise _Unsupported("attribute")

    def call(self, target: str, value: ast.Call, rank: int) -> ast.expr:
        func = self.resolve(value.func)
        args = value.args
        if not all(isinstance(a, (ast.Name, ast.Constant)) for a in args):
            raise _Unsupported("call")
        batched = [self.is_batched(a) for a in args]
        shapes = [self.shapes[a.id] if isinstance(a, ast.Name) else () for a in args]
        same = lambda i, j: shapes[i] == shapes[j]  # noqa: E731
        names = [self.renamed_expr(a) for a in args]

        def call(f: ast.expr, *parts: ast.expr) -> ast.Call:
            return ast.Call(func=f, args=list(parts), keywords=[])

        if (func in (_K.broadcast_tangent, _K.fresh_tangent, _K.unbroadcast)
                and len(args) == 2 and shapes[0] is not None and same(0, 1)):
            self.shape_only = not batched[0]
            return names[0]  # the identity at these shapes
        if any(batched) and all(_shape_only(func, i) for i, b in enumerate(batched) if b):
            self.shape_only = True  # the batched values give their shape only: the same
            return call(self.renamed_expr(value.func),  # for every column, computed once
                        *(self.stand_in(n) if b else n
                          for n, b in zip(names, batched, strict=True)))
        if isinstance(func, np.ufunc) or func in _ELEMENTWISE_KERNELS:
            return call(self.renamed_expr(value.func), *(self.lifted(a, rank) for a in args))
        if getattr(math, getattr(func, "__name__", ""), None) is func and isinstance(
                getattr(np, func.__name__, None), np.ufunc):
            return call(ast.Attribute(value=ast.Name(id=self.np_name(), ctx=ast.Load()),
                                      attr=func.__name__, ctx=ast.Load()),
                        *(self.lifted(a, rank) for a in args))
        if func in (np.sum, np.mean) and len(args) == 1 and batched[0]:
            helper = "column_sums" if func is np.sum else "column_means"
            self.namespace[helper] = column_sums_jit if func is np.sum else column_means_jit
            self.own.add(helper)
            return call(ast.Name(id=helper, ctx=ast.Load()), names[0])
        if func in (_K.as_float, _K.zeros_like) and len(args) == 1:
            return call(self.renamed_expr(value.func), names[0])
        if func is _K.unbroadcast and batched[0] and shapes[1] == ():
            self.namespace["column_sums"] = column_sums_jit
            self.own.add("column_sums")
            return call(ast.Name(id="column_sums", ctx=ast.Load()), names[0])
        ranks = [-1 if shape is None else len(shape) for shape in shapes]
        if func in (_K.matmul_left, _K.matmul_right) and len(args) == 3 \
                and batched == [True, False, False]:
            return self.product_adjoint(func is _K.matmul_left, names, ranks)
        if func is _K.reduce_adjoint and batched == [True, False, False] and ranks[0] == 0 \
                and isinstance(args[2], ast.Constant) and args[2].value is None:
            ones = ast.Attribute(value=ast.Name(id=self.np_name(), ctx=ast.Load()),
                                 attr="ones_like", ctx=ast.Load())
            return ast.BinOp(left=self.lifted(args[0], rank), op=ast.Mult(),
                             right=call(ones, names[1]))  # each column's g, spread
        raise _Unsupported(ast.unparse(value))

    def product_adjoint(self, left: bool, names: list[ast.expr], ranks: list[int]
                        ) -> ast.expr:
        """``matmul_left(g, a, b)`` (``left``: the adjoint of ``a`` in ``a @ b``) or
        ``matmul_right(g, a, b)`` (of ``b``) for a batched ``g`` and vectors or matrices
        ``a`` and ``b`` that are the same for every column."""
        g, a, b = names
        if ranks[1] == ranks[2] == 1:  # a number per column times the other vector
            index = ast.Tuple(elts=[ast.Slice(), ast.Constant(value=None)], ctx=ast.Load())
            return ast.BinOp(left=ast.Subscript(value=g, slice=index, ctx=ast.Load()),
                             op=ast.Mult(), right=b if left else a)
        if left and ranks[1] == 1 and ranks[2] == 2:  # b @ g per column
            return ast.BinOp(left=g, op=ast.MatMult(),
                             right=ast.Attribute(value=b, attr="T", ctx=ast.Load()))
        if left and ranks[1] == 2 and ranks[2] == 1 and ranks[0] == 1:
            return ast.BinOp(left=self.lifted_right(g), op=ast.Mult(),
                             right=b)  # outer(g, b) per column
        if not left and ranks[1] == 2 and ranks[2] == 1 and ranks[0] == 1:
            return ast.BinOp(left=g, op=ast.MatMult(), right=a)  # a.T @ g per column
        raise _Unsupported("the adjoint of a product")

    def stand_in(self, node: ast.Name) -> ast.expr:
        """For a kernel that reads the batched ``node`` only for its shape: a value that is
        the same for every column and has that shape, a name already defined when one has
        it (a float array, as ``node``'s columns), else the first column ``node[0]``."""
        shape = self.shapes.get(node.id)
        if shape:
            for name in self.defined:
                if name not in self.batched and self.shapes.get(name) == shape:
                    return ast.Name(id=name, ctx=ast.Load())
        return ast.Subscript(value=node, slice=ast.Constant(value=0), ctx=ast.Load())

    def lifted_right(self, node: ast.expr) -> ast.expr:
        index = ast.Tuple(elts=[ast.Slice(), ast.Slice(), ast.Constant(value=None)],
                          ctx=ast.Load())
        return ast.Subscript(value=node, slice=index, ctx=ast.Load())

    def np_name(self) -> str:
        for name, obj in self.namespace.items():
            if obj is np:
                return name
        self.namespace["np"] = np
        return "np"

    def per_column(self, target: str, value: ast.expr) -> ast.expr:
        """``value`` computed column by column, in a helper loop of its own."""
        if self.shapes[target] is None:
            raise _Unsupported("a value that is not a number or an array")
        if not all(hoist.pure(self.resolve(n.func)) for n in ast.walk(value)
                   if isinstance(n, ast.Call)):
            raise _Unsupported("a call that may write into its arguments")  # add_at(d, ...)
        reads = sorted({self.renamed.get(n.id, n.id) for n in ast.walk(value)
                        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
                        and self.renamed.get(n.id, n.id) in self.shapes})
        stacked = [n for n in reads if n in self.batched]

        def column(j: ast.expr) -> ast.expr:
            new = self.renamed_expr(value)
            for n in ast.walk(new):
                for field, child in ast.iter_fields(n):
                    if isinstance(child, ast.Name) and child.id in stacked:
                        setattr(n, field, ast.Subscript(value=ast.Name(id=child.id,
                                                                       ctx=ast.Load()),
                                                        slice=j, ctx=ast.Load()))
                    elif isinstance(child, list):
                        for i, c in enumerate(child):
                            if isinstance(c, ast.Name) and c.id in stacked:
                                child[i] = ast.Subscript(value=ast.Name(id=c.id,
                                                                        ctx=ast.Load()),
                                                         slice=j, ctx=ast.Load())
            return new

        np_name = self.np_name()
        helper = self.fresh(f"{target}_per_column")
        self.own.add(helper)
        first = stacked[0]
        source = (f"def {helper}({', '.join(reads)}):\n"
                  f"    first = {ast.unparse(column(ast.Constant(value=0)))}\n"
                  f"    out = {np_name}.empty(({first}.shape[0],) + {np_name}.shape(first))\n"
                  f"    out[0] = first\n"
                  f"    for j in range(1, {first}.shape[0]):\n"
                  f"        out[j] = {ast.unparse(column(ast.Name(id='j', ctx=ast.Load())))}\n"
                  f"    return out\n")
        self.helpers.append(ast.parse(source).body[0])
        return ast.Call(func=ast.Name(id=helper, ctx=ast.Load()),
                        args=[ast.Name(id=n, ctx=ast.Load()) for n in reads], keywords=[])


#: arguments that kernels read only for their shape, besides those declared to the rules
_SHAPE_ONLY = {_K.zeros_like: {0}, _K.reduced_size: {0}}


def _shape_only(func: Any, position: int) -> bool:
    """Whether ``func`` reads argument ``position`` only for its shape (or dtype)."""
    try:
        known = position in _SHAPE_ONLY.get(func, ())
    except TypeError:  # not hashable: not a kernel
        return False
    return known or rules.is_shape_only(func, position)


def _is_arithmetic(node: ast.expr) -> bool:
    return (isinstance(node, ast.BinOp) and isinstance(node.op, _ARITHMETIC)) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)))


def _one_operation_each(fn: ast.FunctionDef) -> ast.FunctionDef:
    """``fn`` with every operation that is the operand of another given a name of its own
    (``d_t10 = unbroadcast(d_t11 * t3, t10)`` becomes ``u1 = d_t11 * t3`` then ``d_t10 =
    unbroadcast(u1, t10)``), but arithmetic within arithmetic, so that the rules see one
    operation at a time (or one arithmetic expression) and the run records the shape of
    every operand."""
    taken = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)} | {
        a.arg for a in fn.args.args}
    body: list[ast.stmt] = []
    count = [0]

    def atom(node: ast.expr) -> ast.expr:
        if isinstance(node, (ast.Name, ast.Constant)):
            return node
        new = operation(node)
        count[0] += 1
        while f"u{count[0]}" in taken:
            count[0] += 1
        name = f"u{count[0]}"
        body.append(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=new,
                               lineno=1))
        return ast.Name(id=name, ctx=ast.Load())

    def arithmetic(node: ast.expr) -> ast.expr:
        """Arithmetic stays one expression (one loop over the arrays); what else it
        reads gets a name."""
        if _is_arithmetic(node):
            return operation(node)
        return node if isinstance(node, (ast.Name, ast.Constant)) else atom(node)

    def operation(node: ast.expr) -> ast.expr:
        node = copy.copy(node)
        if _is_arithmetic(node) and isinstance(node, ast.BinOp):
            node.left, node.right = arithmetic(node.left), arithmetic(node.right)
        elif _is_arithmetic(node):
            node.operand = arithmetic(node.operand)
        elif isinstance(node, ast.BinOp):
            node.left, node.right = atom(node.left), atom(node.right)
        elif isinstance(node, ast.UnaryOp):
            node.operand = atom(node.operand)
        elif isinstance(node, ast.Call):
            node.args = [atom(a) for a in node.args]
        elif isinstance(node, (ast.Subscript, ast.Attribute)):
            node.value = atom(node.value)
        elif isinstance(node, ast.Tuple):
            node.elts = [atom(e) for e in node.elts]
        return node

    for stmt in fn.body:
        stmt = copy.copy(stmt)
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            stmt.value = operation(stmt.value) if not isinstance(stmt, ast.AugAssign) \
                else atom(stmt.value)
        elif isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Tuple):
            stmt.value = ast.Tuple(elts=[atom(e) for e in stmt.value.elts], ctx=ast.Load())
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            stmt.value = atom(stmt.value)
        body.append(stmt)
    return function_def(fn.name, copy.deepcopy(fn.args), body)


def _assigned(stmt: ast.Assign) -> set[str]:
    return {t.id for t in stmt.targets if isinstance(t, ast.Name)}


def _merged(body: list[ast.stmt]) -> list[ast.stmt]:
    """``u1 = e`` then ``a = u1`` (``u1`` read nowhere else) written ``a = e``."""
    loads: dict[str, int] = {}
    for stmt in body:
        for n in ast.walk(stmt):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                loads[n.id] = loads.get(n.id, 0) + 1
    out: list[ast.stmt] = []
    for stmt in body:
        before = out[-1] if out else None
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name)
                and isinstance(before, ast.Assign) and isinstance(before.targets[0], ast.Name)
                and before.targets[0].id == stmt.value.id and loads[stmt.value.id] == 1):
            out[-1] = ast.Assign(targets=stmt.targets, value=before.value, lineno=1)
            continue
        out.append(stmt)
    return out


def _shapes_of_run(fn: ast.FunctionDef, namespace: dict[str, Any], args: tuple
                   ) -> tuple[dict[str, tuple | None], Any]:
    """The shape of every value ``fn`` assigns (``None`` for what is not a float number or
    a float array), from one run as Python at ``args``, and its result."""
    shapes: dict[str, tuple | None] = {}

    def record(name: str, value: Any) -> None:
        ok = isinstance(value, float) or (isinstance(value, np.ndarray)
                                          and value.dtype == np.float64)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            ok = True  # sizes and indices: unbatched numbers
        shapes[name] = tuple(np.shape(value)) if ok else None

    body: list[ast.stmt] = []
    for stmt in fn.body:
        body.append(stmt)
        targets = [stmt.targets[0]] if isinstance(stmt, ast.Assign) else (
            [stmt.target] if isinstance(stmt, ast.AugAssign) else [])
        for t in targets:
            if isinstance(t, ast.Name):
                body.append(ast.Expr(value=ast.Call(
                    func=ast.Name(id="__record", ctx=ast.Load()),
                    args=[ast.Constant(value=t.id), ast.Name(id=t.id, ctx=ast.Load())],
                    keywords=[])))
    traced = function_def("__traced", copy.deepcopy(fn.args), body)
    scope = dict(namespace)
    scope["__record"] = record
    exec(compile(ast.Module(body=[traced], type_ignores=[]), "<adcompile trace>",  # noqa: S102
                 "exec"), scope)
    for a, value in zip(fn.args.args, args, strict=True):
        record(a.arg, value)
    result = _python(scope["__traced"])(*args)
    return shapes, result


def _python(f: Callable) -> Callable:
    return getattr(f, "py_func", f)


def _live(body: list[ast.stmt], pure: Callable[[ast.expr], bool]) -> list[ast.stmt]:
    """Straight-line ``body`` without the assignments to a name nothing reads whose value
    calls only functions for which ``pure`` holds, over and over: the adjoint of a tangent
    that no parameter depends on, the seeds when only their rows are read."""
    while True:
        read = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Load)}
        kept = [stmt for stmt in body if not (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id not in read
            and all(pure(n.func) for n in ast.walk(stmt.value) if isinstance(n, ast.Call)))]
        if len(kept) == len(body):
            return body
        body = kept


def _shared_parts(body: list[ast.stmt], batcher: _Batcher) -> list[ast.stmt]:
    """``body`` with each part of the arithmetic of a batched value that reads no batched
    value but an array (``-(d_t4 / t12)`` in ``-(d_t4 / t12) * dt_t4``) computed once, by a
    statement of its own before its first reader (a part written twice, once), rather than
    for every element of the stack.  The same operations on the same numbers: the results
    are unchanged to the bit."""
    out: list[ast.stmt] = []
    made: dict[str, str] = {}

    def arrays(node: ast.expr) -> bool:
        return any(isinstance(n, ast.Name) and (batcher.shapes.get(n.id) or ()) != ()
                   for n in ast.walk(node))

    def parts(node: ast.expr) -> ast.expr:
        if not _is_arithmetic(node):
            return node
        if not any(isinstance(n, ast.Name) and n.id in batcher.batched
                   for n in ast.walk(node)) and arrays(node):
            key = ast.dump(node)
            if key not in made:
                made[key] = batcher.fresh("shared")
                out.append(ast.Assign(targets=[ast.Name(id=made[key], ctx=ast.Store())],
                                      value=node, lineno=1))
            return ast.Name(id=made[key], ctx=ast.Load())
        if isinstance(node, ast.BinOp):
            return ast.BinOp(left=parts(node.left), op=node.op, right=parts(node.right))
        return ast.UnaryOp(op=node.op, operand=parts(node.operand))

    for stmt in body:
        if (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id in batcher.batched):
            stmt = ast.Assign(targets=stmt.targets, value=parts(stmt.value), lineno=1)
        out.append(stmt)
    return out


def _compiled(source: str, space: dict[str, Any], helpers: list[ast.FunctionDef], name: str
              ) -> Any:
    """The block function of ``source``, compiled."""
    exec(compile(source, f"<adcompile {name}>", "exec"), space)  # noqa: S102
    space.update({f.name: numba.njit(space[f.name], error_model="numpy") for f in helpers})
    return numba.njit(space[name], error_model="numpy")


def batched(fn: ast.FunctionDef, namespace: dict[str, Any], args: tuple, seed: int,
            name: str, rank: int | None = None, units: bool = False
            ) -> tuple[Any, str, list[bool], int] | None:
    """``fn`` (a ``columns`` function) for a stack of seeds in parameter ``seed``: the
    compiled block function, its source, which parts of its result are stacked (the others
    do not depend on the seed) and the largest number of elements a value of one column has;
    or ``None`` when the body is not straight-line code, a value that reads the seed has
    ``rank`` axes or more (stacked, one more), or the block function disagrees with ``fn``
    at ``args`` (whose seed is the first unit vector).

    With ``units``, the seeds are unit seeds, rows ``first`` to ``first + count`` of the
    identity, and the block function takes those two numbers in place of the stack: a
    product of a unit seed and an array is that array's rows (or columns) ``first`` to
    ``first + count``, a slice where it would be a product, and the stack itself is made
    (``unit_rows``) only where something else reads it."""
    if any(not isinstance(s, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr))
           for s in fn.body) or not isinstance(fn.body[-1], ast.Return):
        return None
    if any(isinstance(t, ast.Subscript) for s in fn.body if isinstance(s, ast.Assign)
           for t in s.targets):
        return None
    fn = _one_operation_each(fn)
    scope = {k: _python(v) if isinstance(v, numba.core.dispatcher.Dispatcher)
             and not hasattr(kernels, k) else v for k, v in namespace.items()}
    last = np.zeros_like(np.asarray(args[seed]))
    last.reshape(-1)[-1] = 1.0
    try:
        shapes, reference = _shapes_of_run(fn, scope, args)
        _, reference_last = _shapes_of_run(fn, scope, (*args[:seed], last, *args[seed + 1:]))
    except Exception:  # noqa: BLE001 - what Python cannot run here stays a column loop
        return None
    params = [a.arg for a in fn.args.args]
    stacked_seed = params[seed]
    if shapes.get(stacked_seed) is None:
        return None
    space = dict(namespace)
    batcher = _Batcher(space, shapes, {stacked_seed})
    batcher.assigned = set(params)
    batcher.defined = list(params)
    block_args = copy.deepcopy(fn.args)
    prologue: list[ast.stmt] = []
    if units:
        batcher.units = {stacked_seed}
        batcher.span = (batcher.free("first"), batcher.free("count"))
        block_args.args[seed:seed + 1] = [ast.arg(arg=n) for n in batcher.span]
        maker = batcher.free("unit_rows")
        space[maker] = unit_rows_jit
        batcher.own.add(maker)
        shape = ast.Tuple(elts=[ast.Constant(value=n) for n in shapes[stacked_seed]],
                          ctx=ast.Load())
        prologue.append(ast.Assign(
            targets=[ast.Name(id=stacked_seed, ctx=ast.Store())], lineno=1,
            value=ast.Call(func=ast.Name(id=maker, ctx=ast.Load()), keywords=[], args=[
                *(ast.Name(id=n, ctx=ast.Load()) for n in batcher.span), shape])))
    try:
        body = prologue + [batcher.statement(s) for s in fn.body]
    except _Unsupported:
        return None
    if rank is not None and any(len(batcher.shapes.get(n) or ()) >= rank
                                for n in batcher.batched):
        return None

    def pure(func: ast.expr) -> bool:
        return (isinstance(func, ast.Name) and func.id in batcher.own) or hoist.pure(
            batcher.resolve(func))

    body = _live(_merged(body), pure)
    fuse_tangents(body, {n for s in body if isinstance(s, ast.Assign) for n in _assigned(s)
                         if n in batcher.batched})
    body = _shared_parts(body, batcher)
    block = function_def(name, block_args, body)
    source = "\n\n\n".join(ast.unparse(f) for f in [block, *batcher.helpers])
    size = int(np.size(args[seed]))
    count = min(2, size)
    if units:  # the first two seeds, then the last two
        trials = [((*args[:seed], 0, count, *args[seed + 1:]), 0),
                  ((*args[:seed], size - count, count, *args[seed + 1:]), count - 1)]
    else:
        both = (*args[:seed], np.stack([np.asarray(args[seed]), last]), *args[seed + 1:])
        trials = [(both, 0), (both, 1)]
    try:
        with warnings.catch_warnings():  # a view multiplied in a helper loop: slower, right
            warnings.simplefilter("ignore", numba.NumbaPerformanceWarning)
            function = _compiled(source, space, batcher.helpers, name)
            results = [function(*call) for call, _ in trials]
    except Exception:  # noqa: BLE001 - a rule Numba cannot compile: the column loop
        return None
    returned = body[-1].value
    names = returned.elts if isinstance(returned, ast.Tuple) else [returned]
    outputs = [isinstance(node, ast.Name) and node.id in batcher.batched for node in names]
    for got, (_, k), result in zip(results, trials, (reference, reference_last), strict=True):
        parts = got if isinstance(got, tuple) else (got,)
        want = result if isinstance(result, tuple) else (result,)
        for part, expected, stacked in zip(parts, want, outputs, strict=True):
            column = part[k] if stacked else part
            if np.shape(column) != np.shape(expected) or not np.allclose(
                    column, expected, rtol=1e-10, atol=1e-12 * (
                    1.0 + float(np.max(np.abs(expected), initial=0.0)))):
                return None
    largest = max((int(np.prod(batcher.shapes[n])) for n in batcher.batched
                   if batcher.shapes.get(n) is not None), default=1)
    return function, source, outputs, largest
