"""Analysis: which values are active, and which statements a sweep needs.

A value is *active* when it depends on a ``wrt`` parameter (varied) and the result depends on it
(useful).  Only active values get adjoints.  Outputs of piecewise-constant primitives (``floor``,
comparisons, ``len``, ...) are never varied.  Both are fixed points over every assignment in the
structured body, so loops and branches are covered.

``live_in``/``prune`` are a liveness analysis over generated code: they keep what a later
read needs (and every store into an array, such as a tape push) and drop the rest, so the
forward sweep computes only what the backward sweep reads.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from . import kernels, rules
from .calls import is_user_function
from .frontend import parse_function
from .normalize import Normalized, normalize


@dataclass
class Activity:
    varied: set[str]
    useful: set[str]
    #: names that may hold arrays (their adjoints are made with ``zeros_like``, contributions
    #: of elementwise operations to them are summed over broadcast axes)
    arrays: set[str]

    @property
    def active(self) -> set[str]:
        return self.varied & self.useful

    def is_active(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.varied and node.id in self.useful


def operands(value: ast.expr) -> list[ast.expr]:
    """The atoms an operation reads, in argument order."""
    if isinstance(value, ast.BinOp):
        return [value.left, value.right]
    if isinstance(value, ast.UnaryOp):
        return [value.operand]
    if isinstance(value, ast.Compare):
        return [value.left, *value.comparators]
    if isinstance(value, ast.Call):
        return list(value.args)
    if isinstance(value, ast.Subscript):
        index = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        return [value.value, *index]
    return [value]


def flat(atoms: Iterable[ast.expr]) -> list[ast.expr]:
    """``atoms`` with the elements of tuple displays in their place: a call such as
    ``np.concatenate((x, y))`` reads ``x`` and ``y``."""
    out: list[ast.expr] = []
    for a in atoms:
        out.extend(flat(a.elts) if isinstance(a, ast.Tuple) else [a])
    return out


def names_read(value: ast.expr) -> Iterable[str]:
    return (a.id for a in flat(operands(value)) if isinstance(a, ast.Name))


def target_name(stmt: ast.Assign) -> str:
    """The name an assignment defines, or the array an indexed store writes into."""
    target = stmt.targets[0]
    return target.value.id if isinstance(target, ast.Subscript) else target.id


def is_store(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Subscript)


def assignments(stmts: list[ast.stmt]) -> Iterator[ast.Assign]:
    """Every ``name = op`` in ``stmts``, at any depth, in program order."""
    for stmt in stmts:
        if isinstance(stmt, ast.Assign):
            yield stmt
        elif isinstance(stmt, (ast.If, ast.For, ast.While)):
            yield from assignments(stmt.body)
            yield from assignments(stmt.orelse)


def activity(norm: Normalized, wrt: Iterable[str],
             owners: dict[str, set[str]] | None = None, array_result: bool = False
             ) -> Activity:
    """Forward (varied) and backward (useful) dataflow over the normalized body.

    ``array_result``: the result may be an array even where nothing else says so (``vjp``,
    whose cotangent, the result's adjoint, may be one).

    With ``owners`` (``alias.roots``: name -> the names owning memory it may share), both are
    closed over memory sharing, as forward mode needs: an array that a store makes vary
    makes the arrays it may view vary (a store through ``row = a[i]`` changes ``a``), and
    every name sharing memory with a useful name is useful (a store into it changes that
    name)."""
    stmts = list(assignments(norm.stmts))
    differentiable = [s for s in stmts if passes_derivative(norm, s.value)]
    stored = {target_name(s) for s in stmts if is_store(s)}
    varied = set(wrt)
    changed = True
    while changed:
        changed = False
        for stmt in differentiable:
            target = target_name(stmt)
            if target not in varied and any(n in varied for n in _value_names(stmt.value)):
                varied.add(target)
                changed = True
        for name in list(varied & stored) if owners is not None else ():
            new = owners.get(name, set()) - varied
            if new:
                varied |= new
                changed = True
    useful: set[str] = set()
    if isinstance(norm.result, ast.Name):
        useful.add(norm.result.id)
    changed = True
    while changed:
        changed = False
        for stmt in reversed(differentiable):
            if target_name(stmt) in useful:
                new = set(_value_names(stmt.value)) - useful
                if new:
                    useful |= new
                    changed = True
        if owners is not None:
            shared = set().union(*(owners.get(n, {n}) for n in useful))
            for name, own in owners.items():
                if name not in useful and own & shared:
                    useful.add(name)
                    changed = True
    result = {norm.result.id} if array_result and isinstance(norm.result, ast.Name) else set()
    return Activity(varied=varied, useful=useful, arrays=array_like(norm, stmts, result))


def integer_names(norm: Normalized) -> set[str]:
    """Names that surely hold integers: loop indices, integer literals, ``len``, entries of
    ``.shape``, and integer arithmetic of these (every assignment of the name must be one)."""
    info = norm.info
    loops = {n.target.id for s in norm.stmts for n in ast.walk(s) if isinstance(n, ast.For)}
    stmts = [s for s in assignments(norm.stmts) if not is_store(s)]
    candidates = {target_name(s) for s in stmts} | loops
    shapes = {target_name(s) for s in stmts if isinstance(s.value, ast.Attribute)
              and s.value.attr == "shape"}

    def integral(node: ast.expr, known: set[str]) -> bool:
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Name):
            return node.id in known
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult,
                                                                 ast.FloorDiv, ast.Mod)):
            return integral(node.left, known) and integral(node.right, known)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return integral(node.operand, known)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            return node.value.id in shapes
        if isinstance(node, ast.Attribute):
            return node.attr in ("size", "ndim")
        if isinstance(node, ast.Call):
            return info.resolve(node.func) is len
        return False

    known = set(candidates)
    changed = True
    while changed:  # the largest set of names whose every assignment is integral
        changed = False
        for stmt in stmts:
            name = target_name(stmt)
            if name in known and name not in loops and not integral(stmt.value, known):
                known.discard(name)
                changed = True
    return known


def promote(norm: Normalized, act: Activity, bind: Callable[[str, object], str]) -> None:
    """Make the values a loop carries float64 where they carry derivatives: the entry copy
    ``s_1 = s`` before the loop becomes ``s_1 = as_float(s)`` for every varied carried value.

    A value that enters a loop as an int, a bool or an int array (``out = 1``, ``h = h0``)
    and leaves it as a float would otherwise be typed by its entry value: Numba then
    truncates it (an int64 tape) or cannot unify the two array types.  Where branches join,
    an array that one branch leaves as it came (``h = h0`` then ``if c: h = h * x``) is
    promoted likewise.  ``bind`` gives the module-level name of the kernel.
    """
    entries = [s for s in assignments(norm.stmts) if isinstance(s.value, ast.Name)
               and target_name(s) in act.varied and (
                   getattr(s, "loop_entry", False)
                   or (getattr(s, "join_copy", False) and target_name(s) in act.arrays))]
    if not entries:
        return
    func = bind("as_float", kernels.as_float)
    norm.info.bindings[func] = kernels.as_float
    for stmt in entries:
        stmt.value = ast.Call(func=ast.Name(id=func, ctx=ast.Load()), args=[stmt.value],
                              keywords=[])


def array_like(norm: Normalized, stmts: list[ast.Assign], known: Iterable[str] = ()
                ) -> set[str]:
    """Names that may hold arrays: indexed or written names, results of array functions and
    products, and whatever meets them in an elementwise operation (a fixed point), starting
    from the names ``known`` to."""
    info = norm.info
    arrays: set[str] = set(known)
    depth: dict[str, int] = {}  # a name's rank is at least the number of indices it takes
    for stmt in stmts:
        for node in [stmt.value, *stmt.targets]:
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
                parts = [p for p in _index_parts(node.slice)
                         if not _new_axis(p) and not _ellipsis(p)]
                depth[node.value.id] = max(depth.get(node.value.id, 0), len(parts))
                arrays.add(node.value.id)
    ranks = {**ranks_shown_by_tests(norm.stmts), **_known_ranks(info, stmts)}
    for name, rank in ranks.items():  # arrays made with a literal shape: np.zeros((3, 2))
        depth[name] = max(depth.get(name, 0), rank)
    for stmt in stmts:  # a store of fewer indices than the rank writes a row: an array
        target = stmt.targets[0]
        if is_store(stmt) and isinstance(stmt.value, ast.Name):
            parts = _index_parts(target.slice)
            name = target_name(stmt)
            # an array of unknown rank (a copy of a parameter) may take a row at A[i]
            if (name not in ranks or len(parts) < depth.get(name, 0)
                    or any(isinstance(p, ast.Slice) or _new_axis(p) or _ellipsis(p)
                           for p in parts)):
                arrays.add(stmt.value.id)
    for stmt in stmts:  # operands of array-only operations are arrays
        value = stmt.value
        if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name):
            arrays.add(value.value.id)  # x.shape, x.size
        elif isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
            arrays.update(names_read(value))
        elif isinstance(value, ast.Call):
            target = info.resolve(value.func)
            name = getattr(target, "__name__", "")
            if target is len or (name in _ARRAY_ARGUMENTS and _is_numpy(target)):
                # both operands of a product (contract: np.einsum, np.tensordot)
                args = value.args[:2] if name in _BOTH_ARRAYS else value.args[:1]
                arrays.update(a.id for a in args if isinstance(a, ast.Name))
            elif (name in _JOINING and _is_numpy(target) and value.args
                  and isinstance(value.args[0], ast.Tuple)):
                # the parts joined by np.stack((u, v)) and the like: arrays (a number
                # given there is still handled, by the kernels' scalar versions)
                arrays.update(a.id for a in value.args[0].elts if isinstance(a, ast.Name))
            elif _takes_arrays(target, len(value.args)):
                arrays.update(a.id for a in value.args if isinstance(a, ast.Name))
    changed = True
    while changed:
        changed = False
        for stmt in stmts:
            target, value = target_name(stmt), stmt.value
            if is_store(stmt):  # y[idx] = v with an index array idx stores an array v
                if (isinstance(value, ast.Name) and value.id not in arrays and any(
                        _index_array(info, p, arrays)
                        for p in _index_parts(stmt.targets[0].slice))):
                    arrays.add(value.id)
                    changed = True
                continue
            if isinstance(value, ast.Call) and is_user_function(info.resolve(value.func)):
                params, result = callee_arrays(info.resolve(value.func))
                new = {a.id for k, a in enumerate(value.args)
                       if k in params and isinstance(a, ast.Name)}
                if result:
                    new.add(target)
                if new - arrays:
                    arrays |= new
                    changed = True
                continue
            if target in arrays:
                new = {n for n in names_read(value) if _elementwise(info, value)}
            elif _makes_array(info, value, arrays, depth):
                new = {target}
            else:
                new = set()
            if isinstance(value, ast.Name) and (value.id in arrays) != (target in arrays):
                new = {value.id, target}
            if new - arrays:
                arrays |= new
                changed = True
    return arrays


def _takes_arrays(func: object, nargs: int) -> bool:
    """Whether ``func`` has a user's rule that is not elementwise (``elementwise=False``:
    it gives adjoints of the arguments' shapes, which may be arrays: ``sqnorm(v)``)."""
    rule = rules.lookup(func, nargs)
    return (rule is not None and not rule.elementwise
            and rule.template.__module__.rpartition(".")[0] != rules.__name__)


_CALLEE_ARRAYS: dict[int, tuple[set[int], bool]] = {}


def callee_arrays(func: object) -> tuple[set[int], bool]:
    """Which parameters of a called user function may be arrays, and whether its result may
    be one, by the same analysis of its own body."""
    func = getattr(func, "py_func", func)
    key = id(func)
    if key not in _CALLEE_ARRAYS:
        _CALLEE_ARRAYS[key] = (set(), False)  # recursion is rejected elsewhere
        norm = normalize(parse_function(func))
        arrays = array_like(norm, list(assignments(norm.stmts)))
        params = {k for k, p in enumerate(norm.info.params) if p in arrays}
        result = isinstance(norm.result, ast.Name) and norm.result.id in arrays
        _CALLEE_ARRAYS[key] = (params, result)
    return _CALLEE_ARRAYS[key]


_JOINING = {"stack", "column_stack", "concatenate", "vstack", "hstack", "dstack"}
_ARRAY_ARGUMENTS = {"sum", "mean", "max", "min", "prod", "amax", "amin", "dot", "outer",
                    "transpose", "reshape", "copy", "ascontiguousarray", "argmax", "argmin",
                    "sum_along", "mean_along", "max_along", "min_along", "prod_along",
                    "zeros_like", "ones_like", "empty_like", "ravel", "squeeze", "expand_dims",
                    "swapaxes", "moveaxis", "masked", "mask_put", "contract", "cross",
                    "vdot", "norm", "norm2", "norm2_kept"}
#: products both of whose operands are arrays
_BOTH_ARRAYS = {"dot", "outer", "contract", "cross", "vdot"}


def _is_numpy(target: object) -> bool:
    module = getattr(target, "__module__", None) or ""
    return module == "numpy" or module.startswith("adcompile.kernels")


_SHAPED = {"zeros", "ones", "empty", "full"}

_ARRAY_FUNCTIONS = {"zeros", "ones", "empty", "zeros_like", "ones_like", "empty_like", "full",
                    "arange", "linspace", "array", "concatenate", "stack", "hstack", "vstack",
                    "column_stack", "outer", "transpose", "reshape", "copy",
                    "ascontiguousarray", "where", "clip", "ravel", "expand_dims", "swapaxes",
                    "moveaxis", "eye", "identity"}

#: scans, differences and rearrangements (rules/shapes.py and kernels_shapes.py)
_REARRANGING = {"cumsum", "cumprod", "diff", "diag", "diagonal", "tril", "triu", "flip",
                "fliplr", "flipud", "roll", "rot90", "repeat", "tile", "sort", "take"}
_ARRAY_FUNCTIONS |= _REARRANGING | {"atleast_1d", "atleast_2d", "atleast_3d", "append",
                                    "expand_dims", "sort_tangent", "cumprod_tangent",
                                    "masked", "mask_put"}
_ARRAY_ARGUMENTS |= _REARRANGING

#: kernels whose result may be an array (a reduction along axes, a reshape)
_ARRAY_KERNELS = {"reshape", "sum_along", "mean_along", "max_along", "min_along",
                  "prod_along", "int_array", "bool_array",
                  # the helpers of generated code, differentiated in their turn (a loss that
                  # calls a gradient): their results may be arrays
                  "reduce_adjoint", "unbroadcast", "matmul_left", "matmul_right",
                  "untranspose", "reduce_to", "fresh_copy", "stored_adjoint",
                  "fresh_tangent", "broadcast_tangent", "stored_tangent"}


def ranks_shown_by_tests(body: list[ast.stmt]) -> dict[str, int]:
    """Ranks the code shows where no shape does: an element compared in an ``if`` or
    ``while`` test (``if y[j] > y[j + 1]:``, ``while j >= 0 and y[j] > key:`` with
    ``key = y[i]``) is a number, since a row has no truth value, so ``y`` has as many axes as
    the element takes integer indices; and so has every name ``y`` is copied to or from
    (Numba gives them one type).  A copy of a parameter (``y = x.copy()``) sorted in place is
    then known to be a vector, whose elements are numbers, not views."""
    stmts = [s for s in assignments(body) if not is_store(s)]
    tested = {n.test.id for s in body for n in ast.walk(s)
              if isinstance(n, (ast.If, ast.While)) and isinstance(n.test, ast.Name)}
    grown = True
    while grown:  # t = t5 or t = not t5 feeding a test is a test too
        grown = False
        for stmt in stmts:
            value = stmt.value.operand if isinstance(stmt.value, ast.UnaryOp) and isinstance(
                stmt.value.op, ast.Not) else stmt.value
            if (target_name(stmt) in tested and isinstance(value, ast.Name)
                    and value.id not in tested):
                tested.add(value.id)
                grown = True
    numbers = {a.id for s in stmts if target_name(s) in tested and isinstance(s.value, ast.Compare)
               for a in [s.value.left, *s.value.comparators] if isinstance(a, ast.Name)}
    tuples = {target_name(s) for s in stmts if isinstance(s.value, ast.Tuple)}
    shown: dict[str, set[int]] = {}
    links: dict[str, set[str]] = {}
    for stmt in stmts:
        target, value = target_name(stmt), stmt.value
        if isinstance(value, ast.Name):
            links.setdefault(target, set()).add(value.id)
            links.setdefault(value.id, set()).add(target)
        elif (target in numbers and isinstance(value, ast.Subscript)
              and isinstance(value.value, ast.Name) and all(
                  isinstance(p, ast.Name) and p.id not in tuples
                  or isinstance(p, ast.Constant) and type(p.value) is int
                  for p in _index_parts(value.slice))):
            shown.setdefault(value.value.id, set()).add(len(_index_parts(value.slice)))
    ranks: dict[str, int] = {}
    for name in shown:
        group, todo = {name}, [name]
        while todo:  # the names copied to and from it
            for other in links.get(todo.pop(), ()):
                if other not in group:
                    group.add(other)
                    todo.append(other)
        found = set().union(*(shown.get(n, set()) for n in group))
        if len(found) == 1:
            ranks.update(dict.fromkeys(group, found.pop()))
    return ranks


def _index_parts(index: ast.expr) -> list[ast.expr]:
    return list(index.elts) if isinstance(index, ast.Tuple) else [index]


def _new_axis(part: ast.expr) -> bool:
    """``None`` in an index: ``x[:, None]`` adds an axis, so the result is an array."""
    return isinstance(part, ast.Constant) and part.value is None


def _ellipsis(part: ast.expr) -> bool:
    return isinstance(part, ast.Constant) and part.value is Ellipsis


#: copies, whose rank is their argument's
_COPIES = ("copy", "ascontiguousarray", "as_float", "snapshot", "fresh_copy")


def _known_ranks(info: object, stmts: list[ast.Assign]) -> dict[str, int]:
    """The ranks known before types are: arrays made with a literal shape
    (``np.zeros((3, 2))``, ``np.zeros(n)``), ``arange``, ``linspace``, and copies of those.
    Other arrays (a copy of a parameter) have an unknown rank."""
    shapes = {target_name(s) for s in stmts if not is_store(s)
              and isinstance(s.value, ast.Attribute) and s.value.attr == "shape"}
    values: dict[str, list[ast.expr]] = {}
    for stmt in stmts:
        if not is_store(stmt):
            values.setdefault(target_name(stmt), []).append(stmt.value)
    ranks: dict[str, int] = {}

    def rank(value: ast.expr) -> int | None:
        if isinstance(value, ast.Name):
            return ranks.get(value.id)
        if not isinstance(value, ast.Call) or not value.args:
            return None
        target = info.resolve(value.func)
        name = getattr(target, "__name__", "")
        if not _is_numpy(target):
            return None
        if name in _SHAPED and getattr(target, "__module__", None) == "numpy":
            shape = value.args[0]
            if isinstance(shape, ast.Tuple):
                return len(shape.elts)
            if (isinstance(shape, ast.Constant) and type(shape.value) is int) or (
                    isinstance(shape, ast.Name) and shape.id not in shapes):
                return 1  # a size (a name holding a shape comes from .shape)
            return None
        if name in ("arange", "linspace"):
            return 1
        if name in _COPIES and isinstance(value.args[0], ast.Name):
            return ranks.get(value.args[0].id)
        return None

    changed = True
    while changed:
        changed = False
        for name, assigned in values.items():
            if name not in ranks:
                found = {rank(v) for v in assigned}
                if len(found) == 1 and None not in found:
                    ranks[name] = found.pop()
                    changed = True
    return ranks


def _index_array(info: object, part: ast.expr, arrays: set[str]) -> bool:
    """Whether the index ``part`` may be an array of indices (a local array, or one of the
    module: ``y[IDX]`` is then an array, not an element)."""
    return isinstance(part, ast.Name) and (
        part.id in arrays or isinstance(info.resolve(part), np.ndarray))


def _makes_array(info: object, value: ast.expr, arrays: set[str], depth: dict[str, int]
                 ) -> bool:
    if isinstance(value, ast.Subscript):
        base = value.value.id if isinstance(value.value, ast.Name) else None
        parts = _index_parts(value.slice)
        return (any(isinstance(p, ast.Slice) or _new_axis(p) or _ellipsis(p)
                    or _index_array(info, p, arrays) for p in parts)
                or (base is not None and len(parts) < depth.get(base, 0))
                or (base in arrays and base not in depth))
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult):
        return True
    if isinstance(value, ast.Compare):  # u < 0 of an array: a mask
        return any(n in arrays for n in names_read(value))
    if isinstance(value, ast.Call):
        target = info.resolve(value.func)
        name = getattr(target, "__name__", "")
        if type(target).__name__ == "ufunc" and any(n in arrays for n in names_read(value)):
            return True  # np.logical_and(m, k), np.isnan(x), ... of arrays
        if _is_numpy(target) or type(target).__name__ == "ufunc":
            if name in _ARRAY_FUNCTIONS or name == "dot":
                return True
            if name in ("sum", "mean", "max", "min", "prod", "amax", "amin"):
                return len(value.args) > 1
        if getattr(target, "__module__", None) == kernels.__name__ and name in _ARRAY_KERNELS:
            return True
        if _elementwise(info, value):
            return any(n in arrays for n in names_read(value))
        return False
    if isinstance(value, (ast.BinOp, ast.UnaryOp)):
        return any(n in arrays for n in names_read(value))
    if isinstance(value, ast.Name):
        return value.id in arrays
    return False


def _elementwise(info: object, value: ast.expr) -> bool:
    if isinstance(value, ast.BinOp):
        return not isinstance(value.op, ast.MatMult)
    if isinstance(value, ast.UnaryOp):
        return True
    if isinstance(value, ast.Call):
        rule = rules.lookup(info.resolve(value.func), len(value.args))
        return rule is not None and rule.elementwise
    return False


def _value_names(value: ast.expr) -> list[str]:
    """Names whose derivative flows into the result of ``value`` (not indices)."""
    if isinstance(value, ast.Subscript):
        return [value.value.id] if isinstance(value.value, ast.Name) else []
    return list(names_read(value))


def passes_derivative(norm: Normalized, value: ast.expr) -> bool:
    if isinstance(value, ast.Compare):
        return False
    if isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
        return False
    if isinstance(value, ast.Call):
        return not rules.is_nondifferentiable(norm.info.resolve(value.func))
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.FloorDiv):
        return False
    if isinstance(value, (ast.Attribute, ast.Tuple)):  # x.shape, sizes
        return False
    return True


# -- liveness over generated code -------------------------------------------------------------

def _loads(node: ast.AST) -> set[str]:
    """Names whose values ``node`` reads (a name marked ``type_only``, passed only for its
    type, such as the array of ``stored_adjoint(d_y[i], y)``, is not a read)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx,
                                                                                   ast.Load)
            and not getattr(n, "type_only", False)}


def _is_root(stmt: ast.stmt, checks: bool = True) -> bool:
    """Statements kept whatever is live: stores into arrays (tape pushes, adjoint arrays),
    and the calls of ``_CHECKS``, whose results are often dead but which must raise wherever
    the program runs (``number_only`` of ``r = A[i]; r += v`` refuses a row)."""
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
    value = getattr(stmt, "value", None)
    return isinstance(target, ast.Subscript) or checks and (
        isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
        and value.func.id.startswith(_CHECKS))


#: kernels called for what they check, whose results nothing reads: ``number_only``, the
#: count of ``a, b = x`` (``unpacked``), the user's ``raise`` (``raise_error``)
_CHECKS = ("number_only", "unpacked", "raise_error")


def has_stores(stmts: list[ast.stmt]) -> bool:
    """Whether ``stmts`` write into array elements (at any depth)."""
    return any(is_store(s) for s in assignments(stmts))


def prune(stmts: list[ast.stmt], live: set[str], keep_all: bool = False,
          checks: bool = True) -> tuple[list[ast.stmt], set[str]]:
    """The statements of ``stmts`` needed for the names in ``live`` afterwards, and the names
    live before them.  With ``keep_all`` nothing is dropped (liveness only); without
    ``checks`` the calls of ``_CHECKS`` are dropped too where nothing reads them (statements
    run again after the forward sweep ran them once)."""
    live = set(live)
    kept: list[ast.stmt] = []
    for stmt in reversed(stmts):
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
            made = [target.id] if isinstance(target, ast.Name) else [
                e.id for e in target.elts if isinstance(e, ast.Name)] if isinstance(
                target, ast.Tuple) else []  # v, v_pool = pooled_zeros(v_pool, n)
            if keep_all or _is_root(stmt, checks) or any(n in live for n in made):
                if isinstance(stmt, ast.Assign):
                    live.difference_update(made)
                live |= _loads(stmt)
                kept.append(stmt)
        elif isinstance(stmt, ast.If):
            body, live_body = prune(stmt.body, live, keep_all, checks)
            orelse, live_else = prune(stmt.orelse, live, keep_all, checks)
            if body or orelse:
                kept.append(ast.If(test=stmt.test, body=body or [ast.Pass()], orelse=orelse))
                live = live_body | live_else | _loads(stmt.test)
        elif isinstance(stmt, (ast.For, ast.While)):
            loop, live = _prune_loop(stmt, live, keep_all, checks)
            if loop is not None:
                kept.append(loop)
        elif isinstance(stmt, ast.Expr):  # comments
            kept.append(stmt)
        else:
            live |= _loads(stmt)
            kept.append(stmt)
    kept.reverse()
    return _drop_dangling_comments(kept), live


def _prune_loop(stmt: ast.For | ast.While, live_out: set[str], keep_all: bool,
                checks: bool) -> tuple[ast.stmt | None, set[str]]:
    live = set(live_out)
    while True:  # values carried around the loop: iterate to a fixed point
        body, live_in = prune(stmt.body, live, keep_all, checks)
        header = _loads(stmt.test) if isinstance(stmt, ast.While) else _loads(stmt.iter)
        new = live | live_in | header
        if new == live:
            break
        live = new
    if not any(not isinstance(s, ast.Expr) for s in body):
        if not (isinstance(stmt, ast.For) and stmt.target.id in live_out):
            return None, set(live_out)
        body = [ast.Pass()]  # only the last index is read after the loop
    loop = ast.For(target=stmt.target, iter=stmt.iter, body=body, orelse=[]) if isinstance(
        stmt, ast.For) else ast.While(test=stmt.test, body=body, orelse=[])
    if isinstance(stmt, ast.For):
        live.discard(stmt.target.id)
    return loop, live


def _drop_dangling_comments(stmts: list[ast.stmt]) -> list[ast.stmt]:
    out = []
    for k, stmt in enumerate(stmts):
        if isinstance(stmt, ast.Expr) and (k + 1 == len(stmts) or isinstance(stmts[k + 1],
                                                                             ast.Expr)):
            continue
        out.append(stmt)
    return out
