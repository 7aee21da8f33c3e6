"""Tuple parameters: a parameter that holds a (nested) tuple of floats and arrays.

``loss(params, X, y)`` with ``params = (W, b)`` is differentiated as the *flat* function
``loss(params_0, params_1, X, y)`` whose body starts with ``params = (params_0, params_1)``;
the normalizer keeps such a tuple symbolically (``W, b = params``, ``params[1]`` and
``len(params)`` become the leaves themselves), so the rest of the pipeline sees ordinary
parameters.  The generated module then gets one *wrapper* per role that takes the tuple as
the user passes it and returns the gradient in the same structure:

```python
def grad_loss(params, X, y):
    d = grad_loss_flat(params[0], params[1], X, y)
    return (d[0], d[1])
```

When the function unpacks a parameter (``(W1, b1), (W2, b2) = params``), ``grad`` reads the
nesting from the source (``unpacked_parameters``) and generates this module at once.
Otherwise the nesting is only known when the function is called: the compiled function
``grad`` returns generates the module of a nesting at the first call with arguments of that
nesting (``backend.CompiledFunction.specialize``, or ``api.TupleFunction`` when the plain
function cannot be generated at all); ``.specialize(*args)`` gives the compiled wrapper
itself, to call from ``@numba.njit`` code.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field, replace
from typing import Any

from .frontend import FunctionInfo

#: a leaf's name, or a tuple of structures
Shape = str | tuple


def shape_of(value: Any) -> Any:
    """The nesting of ``value``: ``None`` for a leaf, else a tuple of its elements' shapes
    (lists count as tuples; ``list`` is remembered to give the gradient back as a list)."""
    if isinstance(value, (tuple, list)):
        return (type(value) is list, tuple(shape_of(v) for v in value))
    return None


def is_structured(args: tuple) -> bool:
    for a in args:  # (a loop, not any() of a generator: this runs on every call)
        if isinstance(a, (tuple, list)):
            return True
    return False


@dataclass
class Structure:
    """How the parameters of a function are flattened."""

    #: the user's parameters, in order
    params: list[str]
    #: tuple parameter -> its leaves, nested as in the argument
    leaves: dict[str, Shape] = field(default_factory=dict)
    #: tuple parameter -> shape_of(argument), to give gradients back as lists where needed
    shapes: dict[str, Any] = field(default_factory=dict)

    def flat_params(self) -> list[str]:
        out: list[str] = []
        for p in self.params:
            out.extend(_flatten(self.leaves[p]) if p in self.leaves else [p])
        return out

    def flat_wrt(self, wrt: list[str]) -> list[str]:
        out: list[str] = []
        for p in wrt:
            out.extend(_flatten(self.leaves[p]) if p in self.leaves else [p])
        return out

    def key(self) -> str:
        return repr(sorted(self.leaves.items()))


def _flatten(shape: Shape) -> list[str]:
    if isinstance(shape, str):
        return [shape]
    return [leaf for part in shape for leaf in _flatten(part)]


def flatten(info: FunctionInfo, args: tuple) -> tuple[FunctionInfo, Structure]:
    """``info`` with every parameter that receives a tuple in ``args`` replaced by its
    leaves, and the body starting with the tuple built from them."""
    structure = Structure(params=list(info.params))
    taken = set(info.names) | set(info.bindings)
    tree = copy.deepcopy(info.tree)
    new_args: list[ast.arg] = []
    prologue: list[ast.stmt] = []
    defaults_from = len(info.params) - len(tree.args.defaults)
    for k, (param, arg) in enumerate(zip(info.params, tree.args.args, strict=True)):
        value = args[k] if k < len(args) else None
        if not isinstance(value, (tuple, list)):
            new_args.append(arg)
            continue
        if k >= defaults_from:
            raise info.error(tree, f"the parameter '{param}' has a default value and is "
                             "passed a tuple", construct="a tuple parameter with a default",
                             hint="remove the default value of a tuple parameter")

        def leaves(v: Any, path: str, param: str = param) -> Shape:
            if isinstance(v, (tuple, list)):
                if not v:
                    raise info.error(tree, f"the argument for '{param}' holds an empty "
                                     "tuple", construct="an empty tuple parameter",
                                     hint="pass only the values the function uses")
                return tuple(leaves(e, f"{path}_{i}", param) for i, e in enumerate(v))
            name, n = path, 0
            while name in taken:
                n += 1
                name = f"{path}_{n}"
            taken.add(name)
            return name

        shape = leaves(value, param)
        structure.leaves[param] = shape
        structure.shapes[param] = shape_of(value)
        new_args.extend(ast.arg(arg=leaf) for leaf in _flatten(shape))
        prologue.append(ast.Assign(targets=[ast.Name(id=param, ctx=ast.Store())],
                                   value=_display(shape), lineno=tree.lineno))
    tree.args.args = new_args
    body = tree.body
    docstring = (body and isinstance(body[0], ast.Expr)
                 and isinstance(body[0].value, ast.Constant))
    tree.body = [*body[:1], *prologue, *body[1:]] if docstring else [*prologue, *body]
    flat = replace(info, tree=tree, params=structure.flat_params(),
                   bindings=dict(info.bindings), names=taken, structure=structure)
    return flat, structure


def unpacked_parameters(info: FunctionInfo) -> tuple | None:
    """Arguments shaped like the tuples the function unpacks its parameters into
    (``(W1, b1), (W2, b2) = params`` gives ``((0.0, 0.0), (0.0, 0.0))`` for ``params``), or
    ``None`` when it unpacks none.  Leaves are placeholders: only the nesting counts."""

    def shape(target: ast.expr) -> Any:
        if isinstance(target, (ast.Tuple, ast.List)):
            parts = [shape(e) for e in target.elts]
            return None if any(p is None for p in parts) else tuple(parts)
        return 0.0 if isinstance(target, ast.Name) else None

    found: dict[str, Any] = {}
    for node in ast.walk(info.tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], (ast.Tuple, ast.List))
                and isinstance(node.value, ast.Name) and node.value.id in info.params
                and node.value.id not in found):
            nesting = shape(node.targets[0])
            if nesting is not None:
                found[node.value.id] = nesting
    if not found:
        return None
    return tuple(found.get(p, 0.0) for p in info.params)


def _display(shape: Shape) -> ast.expr:
    if isinstance(shape, str):
        return ast.Name(id=shape, ctx=ast.Load())
    return ast.Tuple(elts=[_display(s) for s in shape], ctx=ast.Load())


def tangent_params(structure: Structure, wrt: list[str], leaves: list[str]) -> Structure:
    """The structure of a function of the parameters followed by one tangent per ``wrt``
    parameter, nested as that parameter (``jvp``'s and ``hvp``'s arguments), whose flat
    tangent parameters are ``leaves``.  A number's or an array's tangent is its flat
    parameter; a tuple's is ``dt_<name>``."""
    names = iter(leaves)

    def rename(shape: Shape) -> Shape:
        if isinstance(shape, str):
            return next(names)
        return tuple(rename(s) for s in shape)

    out = Structure(params=list(structure.params), leaves=dict(structure.leaves),
                    shapes=dict(structure.shapes))
    taken = set(structure.flat_params()) | set(structure.params) | set(leaves)
    for p in wrt:
        if p not in structure.leaves:
            out.params.append(next(names))
            continue
        name, k = f"dt_{p}", 0
        while name in taken:
            k += 1
            name = f"dt_{p}_{k}"
        taken.add(name)
        out.params.append(name)
        out.leaves[name] = rename(structure.leaves[p])
        out.shapes[name] = structure.shapes.get(p)
    return out


def _access(shape: Shape, base: str) -> list[str]:
    if isinstance(shape, str):
        return [base]
    return [e for i, s in enumerate(shape) for e in _access(s, f"{base}[{i}]")]


def _call(structure: Structure) -> tuple[str, str]:
    """The signature of a wrapper over ``structure``'s parameters, and the arguments of its
    call of the flat function (each leaf read out of its tuple)."""
    call_args: list[str] = []
    for p in structure.params:
        call_args.extend(_access(structure.leaves[p], p) if p in structure.leaves else [p])
    return ", ".join(structure.params), ", ".join(call_args)


def _regrouped(structure: Structure, wrt: list[str], as_tuple: bool) -> str:
    """The expression that nests the flat gradients ``d`` as the ``wrt`` parameters are."""
    position = iter(range(len(structure.flat_wrt(wrt))))

    def rebuild(shape: Shape) -> str:
        if isinstance(shape, str):
            return f"d[{next(position)}]"
        parts = [rebuild(s) for s in shape]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"

    grads = [rebuild(structure.leaves[p]) if p in structure.leaves else rebuild("leaf")
             for p in wrt]
    return ("(" + ", ".join(grads) + ("," if len(grads) == 1 else "") + ")"
            if as_tuple else grads[0])


def wrappers(structure: Structure, wrt: list[str], as_tuple: bool,
             names: dict[str, str], mode: str = "reverse",
             tangents: list[str] | None = None) -> str:
    """Source of the functions that take the user's arguments (tuples included) and call
    the flat functions: one per role, named ``names[role]``, calling ``names['flat_' +
    role]``.  ``mode`` as for ``codegen.generate``; forward mode's functions take the
    tangents after the arguments, nested as their parameters (``tangents``: the flat
    functions' tangent parameters)."""
    signature, flat_call = _call(structure)
    out = [f"def {names['forward']}({signature}):\n"
           f"    return {names['flat_forward']}({flat_call})\n"]
    if mode == "forward":
        with_tangents, flat_with_tangents = _call(tangent_params(structure, wrt,
                                                                 tangents or []))
        out += [f"def {names[role]}({with_tangents}):\n"
                f"    return {names['flat_' + role]}({flat_with_tangents})\n"
                for role in ("jvp", "tangent")]
        return "\n\n".join(out)
    result = _regrouped(structure, wrt, as_tuple)
    if mode == "vjp":
        cotangent, k = "cotangent", 0
        while cotangent in structure.params:
            k += 1
            cotangent = f"cotangent_{k}"
        out.append(f"def {names['vjp']}({signature}, {cotangent}):\n"
                   f"    value, d = {names['flat_vjp']}({flat_call}, {cotangent})\n"
                   f"    return value, {result}\n")
        return "\n\n".join(out)
    out += [
        f"def {names['grad']}({signature}):\n"
        f"    d = {names['flat_grad']}({flat_call})\n"
        f"    return {result}\n",
        f"def {names['value_and_grad']}({signature}):\n"
        f"    value, d = {names['flat_value_and_grad']}({flat_call})\n"
        f"    return value, {result}\n",
        f"def {names['tape_bytes']}({signature}):\n"
        f"    return {names['flat_tape_bytes']}({flat_call})\n",
    ]
    return "\n\n".join(out)


def as_given(value: Any, shape: Any) -> Any:
    """A gradient rebuilt with the lists of the argument it belongs to (``shape_of``)."""
    if shape is None or not isinstance(value, tuple):
        return value
    is_list, parts = shape
    rebuilt = [as_given(v, s) for v, s in zip(value, parts, strict=True)]
    return rebuilt if is_list else tuple(rebuilt)


def as_tuples(value: Any) -> Any:
    """Lists inside an argument as tuples (Numba takes tuples of mixed types, not lists)."""
    if isinstance(value, (tuple, list)):
        return tuple(as_tuples(v) for v in value)
    return value


def give_back(result: Any, role: str, positions: tuple[int, ...], as_tuple: bool,
              args: tuple) -> Any:
    """The result of a wrapper with each gradient of a list argument made a list again."""
    if role not in ("grad", "value_and_grad"):
        return result
    value, grads = result if role == "value_and_grad" else (None, result)
    parts = list(grads) if as_tuple else [grads]
    parts = [as_given(g, shape_of(args[p])) for g, p in zip(parts, positions, strict=True)]
    grads = tuple(parts) if as_tuple else parts[0]
    return (value, grads) if role == "value_and_grad" else grads


def leaves_of(values: list) -> list:
    """The leaves of ``values`` (tuples and lists opened), in order."""
    out: list = []
    for v in values:
        out.extend(leaves_of(list(v)) if isinstance(v, (tuple, list)) else [v])
    return out


def regroup(flat: list, like: list) -> list:
    """``flat`` (the leaves of ``like`` replaced) nested as ``like`` is."""
    position = iter(flat)

    def build(v: Any) -> Any:
        if isinstance(v, (tuple, list)):
            parts = [build(e) for e in v]
            return parts if isinstance(v, list) else tuple(parts)
        return next(position)

    return [build(v) for v in like]
