"""Forward mode: the tangent sweep, interleaved with the forward sweep.

Each normalized statement ``y = op(a, b)`` whose result varies with ``wrt`` (and matters for
the result) is followed by its tangent statement ``dt_y = ...``: for each varying argument,
the rule's part for that argument with the argument's tangent substituted, all parts added.
Branches and loops stay as they are, with the tangent statements inside them, so forward
mode needs no tape.  The function takes one tangent per ``wrt`` parameter after its own
parameters and returns ``(value, tangent of the value)``.

Tangents mirror memory: a view of an array (``row = a[i]``, ``a.T``) has as tangent the same
view of the array's tangent, a store ``a[i] = v`` stores ``dt_v`` into ``dt_a``, and an
operation that makes a new array makes a new tangent array.  So a write through a view
changes the tangent of the array it views, as it changes the array.  The writes that reverse
mode refuses (into parameters, through views of local arrays) are refused here too.

Rules (see :func:`adcompile.rules.forward_lookup`): elementwise primitives use their reverse
rule with the tangent for the adjoint (``g * cos(x)`` is ``cos(x) * t``); linear ones
(sums, reshapes, stacking) are applied to the tangents; products are applied once per varying
factor; the rest have a forward rule of their own.  A call of a user function that is not
inlined is differentiated into a helper ``jvp_<name>(args..., dt_args...)`` returning the
value and its tangent.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field

from . import kernels, kernels_elementwise, rules
from .alias import roots
from .analyze import (
    Activity,
    activity,
    assignments,
    flat,
    is_store,
    operands,
    passes_derivative,
    target_name,
)
from .build import assign as _assign
from .build import call as _call
from .build import name as _name
from .calls import Callees, is_user_function
from .names import NameGen, Namespace
from .normalize import Normalized
from .render import comment, function_def
from .reverse import BINOPS, UNARYOPS, _op_text, instantiate, matrix_hint
from .simplify import simplify
from .trees import copy_tree


def forward_activity(norm: Normalized, wrt: list[str]) -> Activity:
    """Which names need a tangent: those that vary with ``wrt`` and that the result depends
    on, closed over memory sharing (``analyze.activity`` with the aliases of ``alias.roots``)."""
    return activity(norm, wrt, owners=roots(norm))


@dataclass
class _Tangents:
    norm: Normalized
    act: Activity
    ns: Namespace
    names: NameGen
    callees: Callees | None = None
    tangents: dict[str, str] = field(default_factory=dict)
    #: the names owning memory each name may share (``alias.roots``)
    owners: dict[str, set[str]] = field(default_factory=dict)
    #: memory whose tangent must stay apart from any other: the parameters' (a result
    #: tangent never shares the caller's arrays) and every array a store writes into
    kept_apart: set[str] = field(default_factory=set)
    #: ``s_2 = s_1 + e`` in a loop, ``s_1`` a number the loop carries: id -> ``s_1``
    carried: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.owners = roots(self.norm)
        self.kept_apart = set(self.norm.info.params)
        for stmt in assignments(self.norm.stmts):
            if is_store(stmt):
                name = target_name(stmt)
                self.kept_apart |= self.owners.get(name, {name})

    def tangent(self, name: str) -> str:
        if name not in self.tangents:
            self.tangents[name] = self.names.fresh(f"dt_{name}")
        return self.tangents[name]

    def active(self, node: ast.expr) -> bool:
        return self.act.is_active(node)

    def kernel(self, name: str) -> str:
        return self.ns.bind(name, getattr(kernels, name))

    def tangent_of(self, node: ast.expr) -> ast.expr:
        """The tangent of an operand: its tangent name, or a zero of its shape."""
        if isinstance(node, ast.Tuple):
            return ast.Tuple(elts=[self.tangent_of(e) for e in node.elts], ctx=ast.Load())
        if self.active(node):
            return _name(self.tangent(node.id))
        return self.zero_like(node)

    def zero_like(self, node: ast.expr) -> ast.expr:
        """A zero tangent for ``node``: ``0.0`` for what is surely a number, else
        ``zeros_like(node)`` (a number, or an array of its shape)."""
        if isinstance(node, ast.Constant) or (isinstance(node, ast.Name)
                                              and node.id not in self.act.arrays):
            return ast.Constant(value=0.0)
        return _call(self.kernel("zeros_like"), copy_tree(node))

    def zero(self, target: str) -> ast.Assign:
        return _assign(self.tangent(target), self.zero_like(_name(target)))

    # -- statements -------------------------------------------------------------------------

    def block(self, stmts: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in stmts:
            if isinstance(stmt, ast.Assign):
                out.extend(self.assignment(stmt))
            elif isinstance(stmt, ast.If):
                new = copy.copy(stmt)
                new.body = self.block(stmt.body) or [ast.Pass()]
                new.orelse = self.block(stmt.orelse)
                out.append(new)
            elif isinstance(stmt, (ast.For, ast.While)):
                new = copy.copy(stmt)
                self.carried.update(_carried_sums(stmt.body, self.act.arrays))
                new.body = self.block(stmt.body) or [ast.Pass()]
                new.orelse = self.block(stmt.orelse)
                out.append(new)
            else:
                out.append(stmt)
        return out

    def assignment(self, stmt: ast.Assign) -> list[ast.stmt]:
        if is_store(stmt):
            return [stmt, *self.store(stmt)]
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            if any(isinstance(n, ast.Name) and self.act.is_active(n) for n in ast.walk(target)):
                raise self.norm.info.error(
                    stmt, "unpacking differentiated values is not supported in forward mode",
                    construct="tuple unpacking", hint="assign each value on its own line")
            return [stmt]
        if not self.active(target):
            return [stmt]
        value = stmt.value
        if not passes_derivative(self.norm, value):
            return [stmt, self.zero(target.id)]
        if isinstance(value, ast.Call) and self.is_call_to_differentiate(value):
            return self.user_call(stmt)
        expr = self.expression(stmt)
        if expr is None:
            return [stmt, self.zero(target.id)]
        carried = self.carried.get(id(stmt))
        if carried is not None and isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            # the tangent of a sum the loop carries: its terms may be added in any order
            # (kernels.accumulate), as the sum itself is not
            for mine, term in ((expr.left, expr.right), (expr.right, expr.left)):
                if isinstance(mine, ast.Name) and mine.id == self.tangents.get(carried):
                    expr = _call(self.kernel("accumulate"), mine, term)
                    break
        return [stmt, _assign(self.tangent(target.id), expr)]

    def store(self, stmt: ast.Assign) -> list[ast.stmt]:
        """``a[i] = v``: ``dt_a[i] = dt_v`` (zero when ``a`` holds integers)."""
        array = stmt.targets[0].value
        if not self.active(array):
            return []
        index = copy_tree(stmt.targets[0].slice)
        element = ast.Subscript(value=_name(self.tangent(array.id)), slice=index,
                                ctx=ast.Store())
        if self.active(stmt.value):
            value: ast.expr = _call(self.kernel("stored_tangent"),
                                    _name(self.tangent(stmt.value.id)), _name(array.id))
        else:
            value = ast.Constant(value=0.0)
        return [_assign(element, value)]

    def is_call_to_differentiate(self, value: ast.Call) -> bool:
        target = self.norm.info.resolve(value.func)
        return is_user_function(target) and rules.lookup(target, len(value.args)) is None \
            and rules.forward_lookup(target, len(value.args))[0] == "none"

    def user_call(self, stmt: ast.Assign) -> list[ast.stmt]:
        """``y = f(a, b)`` with ``a`` varying: ``y, dt_y = jvp_f(a, b, dt_a)``."""
        value = stmt.value
        target = stmt.targets[0].id
        args = value.args
        active = [i for i, a in enumerate(args) if self.active(a)]
        if any(isinstance(a, ast.Tuple) and any(map(self.active, flat([a]))) for a in args):
            raise self.norm.info.error(
                stmt, "a tuple holding differentiated values cannot be passed to "
                f"{ast.unparse(value.func)}() yet", construct="a tuple argument",
                hint="pass each value as an argument of its own")
        if not active:
            return [stmt, self.zero(target)]
        callee = self.norm.info.resolve(value.func)
        helper = self.callees.request(callee, active, self.ns.taken | set(self.ns.bindings))
        call = ast.Call(func=_name(helper), args=[*copy.deepcopy(args),
                                                  *(_name(self.tangent(args[i].id))
                                                    for i in active)], keywords=[])
        pair = ast.Tuple(elts=[_name(target, True), _name(self.tangent(target), True)],
                         ctx=ast.Store())
        return [comment(ast.unparse(stmt)), _assign(pair, call)]

    def expression(self, stmt: ast.Assign) -> ast.expr | None:
        """The tangent of ``y = value``, or None when no argument varies."""
        value = stmt.value
        target = stmt.targets[0].id
        if isinstance(value, ast.Name):  # a copy: the same memory, the same tangent
            return _name(self.tangent(value.id)) if self.active(value) else None
        if isinstance(value, ast.Subscript):
            if not self.active(value.value):
                return None
            return ast.Subscript(value=_name(self.tangent(value.value.id)),
                                 slice=copy_tree(value.slice), ctx=ast.Load())
        if isinstance(value, ast.Constant):
            return None
        args = operands(value)
        active = [i for i, a in enumerate(args) if self.active(a)
                  or (isinstance(a, ast.Tuple) and any(map(self.active, flat([a]))))]
        if not active:
            return None
        info = self.norm.info
        if isinstance(value, ast.BinOp):
            primal, what = BINOPS.get(type(value.op)), f"the operator {_op_text(value)}"
        elif isinstance(value, ast.UnaryOp):
            primal, what = UNARYOPS.get(type(value.op)), f"the operator {_op_text(value)}"
        elif isinstance(value, ast.Call):
            primal, what = info.resolve(value.func), f"'{ast.unparse(value.func)}'"
        else:
            raise info.error(stmt, f"forward mode cannot differentiate {ast.unparse(value)}",
                             construct=type(value).__name__,
                             hint="write it as arithmetic or calls of NumPy functions")
        kind, rule = rules.forward_lookup(primal, len(args))
        if kind == "none":
            hint = ("give it a forward rule: @adcompile.derivative(f, forward=rule) or "
                    "@adcompile.tangent(f)")
            if type(primal).__module__ == "adcompile.higher":  # a Hessian or a Jacobian
                hint = matrix_hint(type(primal).__name__)
            elif rules.lookup(primal, len(args)) is None and not rules.has_rule(primal):
                hint = "register its derivative with @adcompile.derivative(...)"
            raise info.error(stmt, f"no forward-mode rule for {what}", construct=what,
                             hint=hint)
        if kind == "scalar" and (target in self.act.arrays or any(
                args[i].id in self.act.arrays for i in active if isinstance(args[i], ast.Name))):
            raise info.error(
                stmt, f"{what} has only a reverse rule, which forward mode can use for numbers "
                "only, and this call may take or give an array", construct=what,
                hint="give it a forward rule: @adcompile.derivative(f, forward=rule), rule(t, "
                "ans, x) returning the result's tangent from the argument's tangent t")
        differentiable = self.differentiable(rule, args, kind)
        active = [i for i in active if not rules.is_shape_only(primal, i)]
        if not active:  # only arguments read for their shape vary: a zero tangent
            return None
        for i in active:
            if not differentiable[i]:
                raise info.error(stmt, f"{what} is not differentiable in argument {i + 1}",
                                 construct=what, hint="make that argument a constant: do not "
                                 "differentiate with respect to what it depends on")
        ans = _name(target)
        if kind == "linear":
            new = copy_tree(value)
            new.args = [self.tangent_of(a) if differentiable[i] else copy_tree(a)
                        for i, a in enumerate(args)]
            return new
        if kind == "multilinear":
            terms = []
            for i in active:
                new = copy_tree(value)
                parts = [copy_tree(a) for a in args]
                parts[i] = self.tangent_of(args[i])
                if isinstance(new, ast.BinOp):
                    new.left, new.right = parts
                else:
                    new.args = parts
                terms.append(new)
            return _sum(terms)
        terms = []
        for i in active:
            expr = instantiate(rule, _name(self.tangent(args[i].id)), ans, args, self.ns,
                               [i])[i]
            terms.append(simplify(expr))
        expr = _sum(terms)
        if target in self.act.arrays:  # an elementwise result: the shape of the result
            constant_broadcast = any(isinstance(a, ast.Name) and not self.active(a)
                                     for a in args)
            if isinstance(expr, ast.Name):  # the tangent of an operand
                operand = next((p for p, t in self.tangents.items() if t == expr.id), None)
                if operand is not None and self.shares_safely(target, operand):
                    return _call(self.kernel("broadcast_tangent"), expr, copy_tree(ans)) \
                        if constant_broadcast else expr
                return _call(self.kernel("fresh_tangent"), expr, copy_tree(ans))
            if constant_broadcast:
                return _call(self.kernel("broadcast_tangent"), expr, copy_tree(ans))
        return expr

    def shares_safely(self, target: str, operand: str) -> bool:
        """Whether ``target`` (a new array) may take the tangent of ``operand`` itself, not a
        copy: no store ever writes into the memory of either (so the shared tangent is never
        changed through one of them) and neither views a parameter's memory (a tangent the
        caller passed in is never handed back)."""
        mine = self.owners.get(target, {target}) | self.owners.get(operand, {operand})
        return not mine & self.kept_apart

    def differentiable(self, rule: rules.Rule | None, args: list[ast.expr], kind: str
                       ) -> list[bool]:
        """Which arguments the primitive is differentiable in (a rule's ``None`` says not)."""
        if rule is None:
            return [True] * len(args)
        body = rule.body()
        parts = body.elts if isinstance(body, ast.Tuple) and rule.nargs > 1 else [body]
        return [not (isinstance(p, ast.Constant) and p.value is None) for p in parts]


def _carried_sums(body: list[ast.stmt], arrays: set[str]) -> dict[int, str]:
    """The statements ``s_2 = s_1 + e`` (or ``e + s_1``) at the top of a loop's ``body``
    whose ``s_1`` is a number that the body assigns after them and not before: a sum
    carried from one iteration to the next (id of the statement -> ``s_1``)."""
    out: dict[int, str] = {}
    for k, stmt in enumerate(body):
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.BinOp)
                and isinstance(stmt.value.op, ast.Add)):
            continue
        for side in (stmt.value.left, stmt.value.right):
            if not isinstance(side, ast.Name) or side.id in arrays:
                continue
            stored = [j for j, other in enumerate(body) for n in ast.walk(other)
                      if isinstance(n, ast.Name) and n.id == side.id
                      and isinstance(n.ctx, ast.Store)]
            if stored and min(stored) > k:
                out[id(stmt)] = side.id
                break
    return out


def _sum(terms: list[ast.expr]) -> ast.expr:
    """The terms added up, ``a - b`` for ``a + -b``; a term that comes twice (``x * x``
    gives ``dt_x * x`` for each factor) is written once, times 2."""
    if len(terms) == 2 and ast.dump(terms[0]) == ast.dump(terms[1]):
        return ast.BinOp(left=terms[0], op=ast.Mult(), right=ast.Constant(value=2.0))
    out = terms[0]
    for term in terms[1:]:
        if isinstance(term, ast.UnaryOp) and isinstance(term.op, ast.USub):
            out = ast.BinOp(left=out, op=ast.Sub(), right=term.operand)
        else:
            out = ast.BinOp(left=out, op=ast.Add(), right=term)
    return out


def _elementwise(node: ast.expr) -> bool:
    """Whether ``node`` is arithmetic on names and numbers, without ``@``: an expression that
    Numba evaluates on arrays in one loop, however many operations it holds."""
    if isinstance(node, (ast.Name, ast.Constant)):
        return True
    if isinstance(node, ast.UnaryOp):
        return _elementwise(node.operand)
    if isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
        return _elementwise(node.left) and _elementwise(node.right)
    return False


def _in_place_of(expr: ast.expr, name: str, value: ast.expr) -> ast.expr | None:
    """``expr`` with its one read of ``name`` replaced by ``value``, or None when that read
    is not reached through arithmetic alone (a call or ``@`` would take it as an operand of
    its own)."""
    if isinstance(expr, ast.Name):
        return copy_tree(value) if expr.id == name else None
    if isinstance(expr, ast.UnaryOp):
        operand = _in_place_of(expr.operand, name, value)
        return None if operand is None else ast.UnaryOp(op=expr.op, operand=operand)
    if isinstance(expr, ast.BinOp) and not isinstance(expr.op, ast.MatMult):
        for side, other in (("left", "right"), ("right", "left")):
            new = _in_place_of(getattr(expr, side), name, value)
            if new is not None:
                return ast.BinOp(**{side: new, other: getattr(expr, other)}, op=expr.op)
    return None


def _loads(stmts: list[ast.stmt]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _blocks(stmts: list[ast.stmt]) -> list[list[ast.stmt]]:
    out = [stmts]
    for stmt in stmts:
        if isinstance(stmt, (ast.If, ast.For, ast.While)):
            out.extend(_blocks(stmt.body))
            out.extend(_blocks(stmt.orelse))
    return out


def _writes(stmt: ast.stmt, names: set[str]) -> bool:
    """Whether ``stmt`` may change one of ``names``, or any array in place."""
    for node in ast.walk(stmt):
        if isinstance(node, ast.AugAssign) or (isinstance(node, ast.Subscript)
                                               and isinstance(node.ctx, ast.Store)):
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in names:
            return True
    return False


def fuse_tangents(body: list[ast.stmt], arrays: set[str]) -> None:
    """Array tangents that are arithmetic read once, by the arithmetic of the next tangent
    that needs them, are written into it: ``dt_t2 = dt_t1 + dt_b1`` then ``dt_H = dt_t2 *
    (1.0 - H * H)`` become ``dt_H = (dt_t1 + dt_b1) * (1.0 - H * H)``, one loop over the
    array and no temporary (Numba evaluates a whole arithmetic expression on arrays in one
    loop).  Only within one block, and only when nothing between the two statements assigns
    what the first reads or writes into an array."""
    changed = True
    while changed:
        changed = False
        loads = _loads(body)
        for block in _blocks(body):
            for i, stmt in enumerate(block):
                if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                        and stmt.targets[0].id in arrays and loads.get(stmt.targets[0].id) == 1
                        and _elementwise(stmt.value)):
                    continue
                name = stmt.targets[0].id
                read = {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)}
                use = None
                for later in block[i + 1:]:
                    if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(later)):
                        use = later
                        break
                    if _writes(later, read | {name}):
                        break
                if not (isinstance(use, ast.Assign) and isinstance(use.targets[0], ast.Name)
                        and use.targets[0].id in arrays):
                    continue
                new = _in_place_of(use.value, name, stmt.value)
                if new is None:
                    continue
                use.value = new
                del block[i]
                changed = True
                break
            if changed:
                break


def without_dead(body: list[ast.stmt]) -> list[ast.stmt]:
    """Straight-line ``body`` without the assignments of arithmetic (no call, no ``@``) to a
    name that nothing reads, over and over (an augmented assignment reads its target): the
    adjoint of a tangent that no parameter depends on, left by a reverse sweep."""
    while True:
        read = {n.id for stmt in body for n in ast.walk(stmt) if isinstance(n, ast.Name)
                and (isinstance(n.ctx, ast.Load) or isinstance(stmt, ast.AugAssign))}
        kept = [stmt for stmt in body if not (
            isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id not in read
            and _elementwise(stmt.value))]
        if len(kept) == len(body):
            return body
        body = kept


#: the operators from which the arithmetic of an array tangent is a function of numbers
#: applied by :func:`kernels_elementwise.elementwise` (:func:`outline_tangents`)
OUTLINED_OPERATORS = 2


def _names_in_order(node: ast.expr) -> list[str]:
    """The names ``node`` reads, as its text shows them, left to right."""
    if isinstance(node, ast.Name):
        return [node.id]
    return [n for child in ast.iter_child_nodes(node) for n in _names_in_order(child)]


def outline_tangents(body: list[ast.stmt], arrays: set[str], ns: Namespace
                     ) -> list[ast.FunctionDef]:
    """The arithmetic of each array tangent at the top level of ``body`` (of at least
    :data:`OUTLINED_OPERATORS` operators) as a function of numbers, applied over the arrays
    by the ``elementwise`` kernel: ``dt_H = elementwise(tangent_H, (dt_t1, dt_b1, H))`` with
    ``def tangent_H(dt_t1, dt_b1, H): return (dt_t1 + dt_b1) * (1.0 - H * H)``, the same
    arithmetic element by element, in loops written out for the operands' ranks (Numba's
    loop of the expression inline ran the MLP's jvp at 1.45 times its forward, these at
    1.2).  Returns the functions, for the module."""
    out: list[ast.FunctionDef] = []
    for k, stmt in enumerate(body):
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)
                and stmt.targets[0].id in arrays and _elementwise(stmt.value)
                and sum(isinstance(n, (ast.BinOp, ast.UnaryOp))
                        for n in ast.walk(stmt.value)) >= OUTLINED_OPERATORS):
            continue
        target = stmt.targets[0].id
        base = "tangent_" + target.removeprefix("dt_")
        helper, n = base, 0
        while (helper in ns.bindings or helper in ns.taken
               or any(helper in g.taken for g in ns.locals)):
            n += 1
            helper = f"{base}_{n}"
        ns.taken.add(helper)
        params = list(dict.fromkeys(_names_in_order(stmt.value)))
        args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=p) for p in params],
                             kwonlyargs=[], kw_defaults=[], defaults=[])
        out.append(function_def(helper, args, [ast.Return(value=stmt.value)]))
        loops = ns.bind("elementwise", kernels_elementwise.elementwise)
        operands = ast.Tuple(elts=[_name(p) for p in params], ctx=ast.Load())
        body[k] = _assign(target, _call(loops, _name(helper), operands))
    return out


#: calls whose result is new memory, never a view of an argument
_NEW_MEMORY = {"copy", "fresh_copy", "fresh_tangent", "zeros_like", "sum", "dot", "outer",
               "where", "full", "concatenate", "stack", "matmul"}


def _may_share(body: list[ast.stmt], name: str, tangents: list[str]) -> bool:
    """Whether ``name`` may be one of ``tangents`` (the caller's) or a view of one, after
    ``body``: a name, an element or slice of one, ``.T``, a view function's result or a
    helper's result may share its argument's memory; arithmetic makes new arrays."""
    shares: dict[str, set[str]] = {t: {t} for t in tangents}

    def of(value: ast.expr) -> set[str]:
        if isinstance(value, ast.Name):
            return shares.get(value.id, set())
        if isinstance(value, (ast.Subscript, ast.Attribute)):
            return of(value.value)
        if isinstance(value, ast.IfExp):
            return of(value.body) | of(value.orelse)
        if isinstance(value, (ast.Tuple, ast.List)):
            return set().union(*(of(e) for e in value.elts))
        if isinstance(value, ast.Call):
            func = value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in _NEW_MEMORY:
                return set()
            seen = of(func.value) if isinstance(func, ast.Attribute) else set()
            return seen.union(*(of(a) for a in value.args))
        return set()

    assigns = [n for s in body for n in ast.walk(s) if isinstance(n, ast.Assign)]
    changed = True
    while changed:
        changed = False
        for stmt in assigns:
            new = of(stmt.value)
            for target in stmt.targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name) and not new <= shares.get(leaf.id, set()):
                        shares[leaf.id] = shares.get(leaf.id, set()) | new
                        changed = True
    return bool(shares.get(name))


def jvp_function(norm: Normalized, act: Activity, wrt: list[str], ns: Namespace, name: str,
                 callees: Callees | None = None, tangent_only: bool = False,
                 outlined: list[ast.FunctionDef] | None = None) -> ast.FunctionDef:
    """The function ``name(*params, *dt_wrt)`` returning ``(value, tangent of the value)``,
    or with ``tangent_only`` the tangent alone (a scalar function for ``hvp`` to
    differentiate).  Given ``outlined``, the arithmetic of array tangents is applied by
    the ``elementwise`` kernel, its functions of numbers added to ``outlined``
    (:func:`outline_tangents`)."""
    names = ns.local_names(norm.names)
    tan = _Tangents(norm, act, ns, names, callees=callees)
    args = copy.deepcopy(norm.info.tree.args)
    args.defaults = []
    for p in wrt:
        args.args.append(ast.arg(arg=tan.tangent(p)))
    body = tan.block(copy.deepcopy(norm.stmts))
    result = norm.result
    arrays = {t for p, t in tan.tangents.items() if p in act.arrays}
    fuse_tangents(body, arrays)
    if outlined is not None:
        outlined.extend(outline_tangents(body, arrays, ns))
    if isinstance(result, ast.Name) and act.is_active(result):
        dresult: ast.expr = _name(tan.tangent(result.id))
        if not tangent_only and _may_share(body, dresult.id, [tan.tangent(p) for p in wrt]):
            # the caller's tangent (or a view of it) is not handed back as the derivative
            dresult = _call(tan.kernel("fresh_copy"), dresult)
    elif tangent_only or isinstance(result, ast.Constant):
        dresult = tan.zero_like(result)
    else:  # a result that does not vary is still an array of its shape (or a number)
        dresult = _call(tan.kernel("zeros_like"), copy_tree(result))
    out = dresult if tangent_only else ast.Tuple(elts=[copy_tree(result), dresult],
                                                 ctx=ast.Load())
    body.append(ast.Return(value=out))
    return function_def(name, args, body)
