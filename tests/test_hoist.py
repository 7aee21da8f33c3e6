"""The work a loop over seeds does once (``adcompile.hoist``): a function split into a setup
and the columns must give, column after column, what the function itself gives.

Each function here is split at its last parameter (the seed), the halves are run as plain
Python for several seeds in a row, sharing the setup's values as the Jacobian and Hessian
loops do, and every column is compared with a call of the whole function.  The programs write
into arrays (directly, through a second name, through a call that is not known to be pure,
by ``+=``), which must keep the arrays they write into out of the setup.  Then Jacobians and
Hessians built on the split, against finite differences.
"""

from __future__ import annotations

import ast
import builtins
import math
import textwrap

import numpy as np
import pytest

import adcompile as adc
from adcompile import hoist


def accumulate(t, v):
    """Not known to be pure: it adds ``v`` into ``t[0]``."""
    t[0] += v
    return t


SPLIT = {
    "work that does not depend on the seed": """
        def f(x, A, dt):
            u = A @ x
            e = np.exp(-u)
            s = np.sum(e)
            y = dt * e
            return s + np.sum(y * u)
        """,
    "a store into an array made from the arguments": """
        def f(x, A, dt):
            a = A @ x
            y = dt * 2.0
            a[0] += y[0]
            return a * x
        """,
    "a store through a second name": """
        def f(x, A, dt):
            a = np.zeros(3)
            b = a
            y = dt * 2.0
            b[0] += y[1]
            return a * x
        """,
    "a store through a view": """
        def f(x, A, dt):
            a = np.ones((2, 3))
            r = a[1]
            y = dt * 2.0
            r[2] = r[2] + y[0]
            return a @ x
        """,
    "an in-place sum": """
        def f(x, A, dt):
            c = np.ones(3)
            d = c + x
            c += dt
            return c * d
        """,
    "a call that writes into its argument": """
        def f(x, A, dt):
            t = np.zeros(3)
            u = A @ x
            r = accumulate(t, dt[0])
            return r + u
        """,
    "a value the seed's work changes, read by later work": """
        def f(x, A, dt):
            a = x * 1.0
            for i in range(3):
                a[i] = a[i] + dt[i]
            b = a * 2.0
            return b + x
        """,
}


def _namespace():
    return {"np": np, "math": math, "accumulate": accumulate}


def _split(source):
    tree = ast.parse(textwrap.dedent(source)).body[0]
    namespace = _namespace()

    def resolve(node):
        if isinstance(node, ast.Name):
            return namespace.get(node.id, getattr(builtins, node.id, None))
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return None if base is None else getattr(base, node.attr, None)
        return None

    setup, columns = hoist.split(tree, 1, resolve, "setup", "columns")
    exec(compile(ast.Module(body=[tree, setup, columns], type_ignores=[]), "<split>",  # noqa: S102
                 "exec"), namespace)
    return namespace, ast.unparse(setup), ast.unparse(columns)


@pytest.mark.parametrize("name", list(SPLIT))
def test_a_split_function_gives_column_after_column_what_the_function_gives(name):
    namespace, _, _ = _split(SPLIT[name])
    rng = np.random.default_rng(11)
    x, A = rng.standard_normal(3), rng.standard_normal((3, 3))
    given = namespace["setup"](x, A)
    for _ in range(3):  # the setup's values are shared by the columns, as in the loops
        dt = rng.standard_normal(3)
        np.testing.assert_allclose(namespace["columns"](x, A, *given, dt),
                                   namespace["f"](x, A, dt), rtol=1e-14)


def test_the_setup_holds_the_work_that_does_not_depend_on_the_seed():
    _, setup, columns = _split(SPLIT["work that does not depend on the seed"])
    assert "u = A @ x" in setup and "np.exp(-u)" in setup and "np.sum(e)" in setup
    assert "A @ x" not in columns and "np.exp" not in columns
    assert columns.startswith("def columns(x, A, u, e, s, dt):")
    _, setup, columns = _split(SPLIT["a store through a second name"])
    assert "np.zeros" in columns  # written through b, so each column makes its own


# -- built on the split: Jacobians and Hessians ---------------------------------------------

def logistic(w, X, s):
    z = s * (X @ w)
    return np.mean(np.log1p(np.exp(-z))) + 0.005 * np.sum(w * w)


def scattered(x, c):
    out = np.zeros(x.shape[0] + 1)
    for i in range(x.shape[0]):
        if x[i] > c:
            out[i + 1] = out[i] + x[i] ** 2 * c
        else:
            out[i + 1] = out[i] - math.sin(x[i])
    return out * np.sum(np.exp(x))


def _helper(a, b):
    return a * np.tanh(b)


def with_helper(x, A):
    v = A @ x
    acc = 0.0
    for i in range(v.shape[0]):
        acc = acc + _helper(v[i], x[i % x.shape[0]])
    return acc + np.sum(v * v) * 0.1


def numeric_jacobian(f, args, i, h=1e-6):
    x = np.asarray(args[i], dtype=float)
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        up, down = list(args), list(args)
        up[i], down[i] = x + e.reshape(x.shape), x - e.reshape(x.shape)
        cols.append((np.asarray(f(*up)) - np.asarray(f(*down))) / (2 * h))
    return np.stack(cols, axis=-1).reshape(np.shape(f(*args)) + x.shape)


def test_jacobians_built_on_the_split_match_differences():
    x = np.array([0.5, -0.3, 1.2, 0.7])
    J = adc.jacobian(scattered, wrt=0)
    np.testing.assert_allclose(J(x, 0.1), numeric_jacobian(scattered, (x, 0.1), 0),
                               rtol=1e-6, atol=1e-8)
    assert J.mode == "forward" and "def jvp_scattered_setup(x, c)" in J.source
    J2 = adc.jacobian(scattered, wrt=0)  # twice: a second call reuses the compiled loop
    np.testing.assert_allclose(J2(x, 0.1), J(x, 0.1), rtol=1e-14)
    short = np.array([0.5, -0.3])  # fewer parameters than results: reverse mode
    Jr = adc.jacobian(lambda_free_euler, wrt=1)
    y0 = np.array([0.3, -0.2, 0.9])
    np.testing.assert_allclose(Jr(y0, short), numeric_jacobian(lambda_free_euler, (y0, short),
                                                               1), rtol=1e-6, atol=1e-8)
    assert Jr.mode == "reverse" and "def vjp_lambda_free_euler_setup" in Jr.source


def lambda_free_euler(y0, k):
    y = y0 * 1.0
    for i in range(4):
        y = y + 0.1 * (-k[i % 2] * y + np.sin(y))
    return np.sum(y * y)


def numeric_hessian(f, args, i, h=1e-4):
    x = np.asarray(args[i], dtype=float)
    out = np.empty((x.size, x.size))

    def at(d):
        moved = list(args)
        moved[i] = x + d.reshape(x.shape)
        return f(*moved)

    for a in range(x.size):
        for b in range(x.size):
            ea, eb = np.zeros(x.size), np.zeros(x.size)
            ea[a], eb[b] = h, h
            out[a, b] = (at(ea + eb) - at(ea - eb) - at(eb - ea) + at(-ea - eb)) / (4 * h * h)
    return out


def test_hessians_built_on_the_split_match_second_differences():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 4))
    s = np.where(rng.standard_normal(7) > 0, 1.0, -1.0)
    w = 0.3 * rng.standard_normal(4)
    H = adc.hessian(logistic)
    np.testing.assert_allclose(H(w, X, s), numeric_hessian(logistic, (w, X, s), 0),
                               rtol=1e-5, atol=1e-7)
    setup = H.source.split("_columns(")[0]
    assert "X @ w" in setup and "exp(" in setup  # computed once, not once per column
    x = np.array([0.5, -0.3, 1.2])
    A = rng.standard_normal((5, 3))
    np.testing.assert_allclose(adc.hessian(with_helper)(x, A),
                               numeric_hessian(with_helper, (x, A), 0), rtol=1e-5, atol=1e-6)
    total = lambda_free_euler  # a loop that overwrites an array
    y0 = np.array([0.3, -0.2, 0.9])
    k = np.array([0.5, -0.3])
    np.testing.assert_allclose(adc.hessian(total, wrt=1)(y0, k),
                               numeric_hessian(total, (y0, k), 1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adc.hessian(total, wrt=0)(y0, k),
                               numeric_hessian(total, (y0, k), 0), rtol=1e-5, atol=1e-6)
