"""Blocks of columns in one call (``adcompile.batch``): a function of one seed rewritten for
a stack of seeds must give, for each seed of the stack, what the function gives for it.

Each program below is one statement kind the rules rewrite (a product with a matrix on
either side, arithmetic meeting values of other ranks, sums and means per column, indexing,
transposes, the kernels of the backward sweep) or one they leave to a loop per column; the
block function is compiled and called on a stack of random seeds, and each column compared
with a call of the function as Python.  Then Hessians through blocks against second
differences, and the block source.
"""

from __future__ import annotations

import ast
import math
import textwrap

import numpy as np
import pytest
from test_hoist import logistic

import adcompile as adc
from adcompile import batch, kernels

PROGRAMS = {
    "a matrix times the seed, the seed times a matrix": """
        def f(x, A, dt):
            u = A @ dt
            v = dt @ A
            return u * x + v
        """,
    "a vector times the seed": """
        def f(x, A, dt):
            c = x @ dt
            return c * x
        """,
    "a number per column meets a matrix": """
        def f(x, A, dt):
            c = np.sum(dt * x)
            m = np.mean(dt)
            return c * A + m * (A * 2.0 - c)
        """,
    "elementwise functions": """
        def f(x, A, dt):
            c = np.sum(dt)
            e = math.exp(c) + np.tanh(dt * x) * np.exp(-dt)
            return e
        """,
    "indexing and transposes": """
        def f(x, A, dt):
            M = np.outer(dt, x) + A
            r = M[1]
            s = M[0:2, 1]
            T = M.T
            n = dt.shape[0]
            return (T @ x) * r + np.sum(s) * n
        """,
    "the kernels of the backward sweep": """
        def f(x, A, dt):
            g = dt * x
            a = unbroadcast(g, x)
            b = unbroadcast(g, 1.0)
            c = reduce_adjoint(2.0, g, None) / reduced_size(g, None)
            d = matmul_right(g, A, x)
            E = matmul_left(g, A, x)
            t = broadcast_tangent(a * b, g)
            return E @ x + d + c + t
        """,
    "what the rules leave to a loop per column": """
        def f(x, A, dt):
            s = np.sort(dt)
            n = np.linalg.norm(dt * x)
            return s * n
        """,
}


def _namespace():
    return {"np": np, "math": math, **{name: getattr(kernels, name) for name in (
        "unbroadcast", "reduce_adjoint", "reduced_size", "matmul_right", "matmul_left",
        "broadcast_tangent")}}


def _block(source, units=True):
    tree = ast.parse(textwrap.dedent(source)).body[0]
    namespace = _namespace()
    exec(compile(ast.Module(body=[tree], type_ignores=[]), "<program>", "exec"),  # noqa: S102
         namespace)
    rng = np.random.default_rng(3)
    x, A = rng.standard_normal(3), rng.standard_normal((3, 3))
    first = np.zeros(3)
    first[0] = 1.0
    made = batch.batched(tree, namespace, (x, A, first), 2, "f_block", units=units)
    assert made is not None
    return made, namespace["f"], x, A


SOURCES = {  # what the block of unit seeds writes for some of the programs
    "a matrix times the seed, the seed times a matrix":
        ["u = A.T[first:first + count]", "v = A[first:first + count]"],
    "a vector times the seed": ["c = x[first:first + count]"],
    "a number per column meets a matrix": ["c[:, None, None] * A", "column_sums("],
    "what the rules leave to a loop per column": ["def s_per_column_1(dt):"],
    "the kernels of the backward sweep":  # read for the shape of g: once, on x (as wide)
        ["= reduce_adjoint(2.0, x, None)", "= reduced_size(x, None)", "t = g * b[:, None]"],
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_block_of_unit_seeds_gives_each_column_what_the_function_gives(name):
    (function, source, stacked, _), f, x, A = _block(PROGRAMS[name])
    assert stacked == [True]
    for first, count in ((1, 2), (0, 3)):  # seeds 1 and 2, then all three
        got = function(x, A, first, count)
        assert got.shape[0] == count
        for k in range(count):
            seed = np.zeros(3)
            seed[first + k] = 1.0
            np.testing.assert_allclose(got[k], f(x, A, seed), rtol=1e-12, atol=1e-12)
    for text in SOURCES.get(name, []):
        assert text in source


def test_a_block_of_any_seeds_multiplies_matrices():
    (function, source, stacked, _), f, x, A = _block(
        PROGRAMS["a matrix times the seed, the seed times a matrix"], units=False)
    assert "u = dt @ A.T" in source and "v = dt @ A" in source
    seeds = np.random.default_rng(8).standard_normal((4, 3))
    got = function(x, A, seeds)
    for k in range(4):
        np.testing.assert_allclose(got[k], f(x, A, seeds[k]), rtol=1e-12, atol=1e-12)


def test_a_product_with_what_is_not_a_unit_seed_stays_a_product():
    source = """
        def f(x, A, dt):
            t = dt * 2.0
            u = A @ t
            r = dt
            v = r @ A
            return u * x + v
        """
    (function, text, _, _), f, x, A = _block(source)
    assert "u = t @ A.T" in text  # twice a unit seed is not one: a product
    assert "v = A[first:first + count]" in text  # a copy of the seeds still is
    got = function(x, A, 0, 3)
    for k in range(3):
        np.testing.assert_allclose(got[k], f(x, A, np.eye(3)[k]), rtol=1e-12, atol=1e-12)


def test_a_body_with_a_loop_is_left_to_the_column_loop():
    source = """
        def f(x, A, dt):
            s = 0.0
            for i in range(3):
                s = s + dt[i] * x[i]
            return s * x
        """
    tree = ast.parse(textwrap.dedent(source)).body[0]
    first = np.array([1.0, 0.0, 0.0])
    assert batch.batched(tree, _namespace(), (np.ones(3), np.eye(3), first), 2, "b") is None


def test_a_call_that_writes_into_a_shared_array_is_left_to_the_column_loop():
    source = """
        def f(x, idx, dt):
            d = np.zeros(3)
            g = dt * x
            e = add_at(d, idx, g[idx])
            return e * 2.0
        """
    tree = ast.parse(textwrap.dedent(source)).body[0]
    namespace = {**_namespace(), "add_at": kernels.add_at}
    first = np.array([1.0, 0.0, 0.0])
    args = (np.array([0.3, -0.8, 1.1]), np.array([2, 0, 2]), first)
    assert batch.batched(tree, namespace, args, 2, "b") is None  # d is shared by columns


# -- Hessians through blocks ------------------------------------------------------------------

def two_layers(W, b, X, y):
    H = np.tanh(X @ W + b)
    p = H @ W[0]
    return np.mean((p - y) ** 2) + 0.1 * np.sum(W * W) * np.sum(b ** 2)


def second_differences(f, args, i, j, h=1e-4):
    xi, xj = np.asarray(args[i], float), np.asarray(args[j], float)
    out = np.empty(xi.shape + xj.shape)
    for a in np.ndindex(xi.shape):
        for b in np.ndindex(xj.shape):
            def at(da, db, a=a, b=b):
                moved = [np.array(v, dtype=float) if np.ndim(v) else v for v in args]
                moved[i][a] += da
                moved[j][b] += db
                return f(*moved)
            out[a + b] = (at(h, h) - at(h, -h) - at(-h, h) + at(-h, -h)) / (4 * h * h)
    return out


def test_hessians_by_blocks_match_second_differences():
    rng = np.random.default_rng(4)
    X, w = rng.standard_normal((9, 5)), 0.3 * rng.standard_normal(5)
    labels = np.sign(rng.standard_normal(9))
    H = adc.hessian(logistic)

    def by_hand(w, labels):  # X^T diag(p (1 - p)) X / n + 0.01 I
        p = 1.0 / (1.0 + np.exp(labels * (X @ w)))
        return (X.T * (p * (1 - p))) @ X / 9 + 0.01 * np.eye(5)

    # again at other values (the blocks alone), then with an integer w (made float)
    for at in ((w, labels), (-w, -labels), (np.array([1, 0, -1, 2, 0]), labels)):
        np.testing.assert_allclose(H(at[0], X, at[1]), by_hand(*at), rtol=1e-12, atol=1e-14)
    assert len(H._fast) == 1  # the calls after the first with float w: the blocks alone
    assert "def grad_jvp_logistic_tangent_block(" in H.source
    # the matrix-vector products of the columns with unit seeds: columns of X, a slice
    assert "dt_t1 = X.T[first:first + count]" in H.source
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    Xs, y = rng.standard_normal((6, 3)), rng.standard_normal(6)
    blocks = adc.hessian(two_layers, wrt=("W", "b"))(W, b, Xs, y)
    args = (W, b, Xs, y)
    for i in range(2):
        for j in range(2):
            np.testing.assert_allclose(blocks[i][j], second_differences(two_layers, args, i, j),
                                       rtol=1e-4, atol=1e-6)


def scaled(w, X, B, c):
    z = X @ (c * w)  # the tangent c * dt_w is not a unit seed: a product stays a product
    v = w @ B  # dt_w @ B is rows of B
    return np.mean(np.tanh(z) ** 2) + np.sum(np.sin(v)) * np.sum(w * w)


def test_a_hessian_of_unit_seeds_and_of_other_tangents_matches_second_differences():
    rng = np.random.default_rng(5)
    args = (rng.standard_normal(4), rng.standard_normal((7, 4)), rng.standard_normal((4, 3)),
            rng.standard_normal(4))
    H = adc.hessian(scaled)
    np.testing.assert_allclose(H(*args), second_differences(scaled, args, 0, 0),
                               rtol=1e-5, atol=1e-6)
    assert "B[first:first + count]" in H.source and "dt_t1 @ X.T" in H.source
    assert "per_column" not in H.source  # the adjoints of the products and sums: rules


def first_rows(w, X, s, m):
    z = s[:m] * (X[:m] @ w)
    return np.mean(np.log1p(np.exp(-z))) + 0.005 * np.sum(w * w)


def test_a_hessian_is_made_again_for_another_size_given_by_an_integer():
    rng = np.random.default_rng(1)
    X, w, s = rng.standard_normal((9, 4)), 0.3 * rng.standard_normal(4), np.sign(
        rng.standard_normal(9))
    H = adc.hessian(first_rows)
    for m in (9, 5, 9):  # the block of 9 rows must not serve 5
        p = 1.0 / (1.0 + np.exp(s[:m] * (X[:m] @ w)))  # by hand, on the first m rows
        want = (X[:m].T * (p * (1 - p))) @ X[:m] / m + 0.01 * np.eye(4)
        np.testing.assert_allclose(H(w, X, s, m), want, rtol=1e-12, atol=1e-14)


def test_blocks_run_blas_on_one_thread_and_give_it_back(monkeypatch):
    get, _ = batch._openblas_threads()
    if get is not None:  # SciPy's own OpenBLAS, where it is found
        before = get()
        with batch.one_blas_thread():
            assert get() == 1  # a block's products: threads that wait for a busy core cost 40x
        assert get() == before
    threads = [4]  # the same, on a stand-in BLAS, wherever the suite runs
    monkeypatch.setattr(batch, "_THREADS", [(lambda: threads[0],
                                            lambda n: threads.__setitem__(0, n))])
    with batch.one_blas_thread():
        assert threads == [1]
    assert threads == [4]
    monkeypatch.setattr(batch, "_THREADS", [(None, None)])
    with batch.one_blas_thread():  # no BLAS of SciPy's: nothing to change, no error
        assert threads == [4]
