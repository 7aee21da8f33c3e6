"""Second derivatives through np.linalg's factorizations: the Cholesky factor, QR (tall and
square), the eigenvalues and eigenvectors of ``eigh``, the singular values and ``ord=2``.

Each program makes a well-conditioned matrix from its parameter (SPD, full rank, eigenvalues
and singular values apart) and a loss that uses the factors entrywise.  The oracle is float64
central second differences of the plain-Python function: ``hessian`` of one, the products
of ``hvp`` with the unit vectors and a random one for the other, and ``jvp`` of ``grad``
(forward over reverse) against that Hessian times the tangent.  Each program is compiled
once (compiling is what costs: ``hessian`` compiles the tangent function and the loop over
columns, ``hvp`` only the gradient of the tangent).
"""

from __future__ import annotations

import numpy as np

import adcompile as adc

H = 1e-4  # second differences: truncation ~ H**2, rounding ~ 1e-16 / H**2
RTOL = 2e-6


def second_differences(f, x):
    """The Hessian of ``f`` at ``x`` by central differences of ``f`` run as plain Python."""
    n = x.size
    e = np.eye(n) * H
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            out[i, j] = out[j, i] = (f(x + e[i] + e[j]) - f(x + e[i] - e[j])
                                     - f(x - e[i] + e[j]) + f(x - e[i] - e[j])) / (4 * H * H)
    return out


def close(got, want):
    scale = np.max(np.abs(want))
    assert np.max(np.abs(got - want)) <= RTOL * scale + 1e-9, (got, want)


def symmetric_loss(x):
    """The Cholesky factor, the eigenvalues and eigenvectors of ``eigh`` (``eigvalsh``'s
    rules)."""
    a = np.reshape(x, (3, 3))
    spd = a @ a.T + np.diag(np.array([1.0, 4.0, 9.0]))
    factor = np.linalg.cholesky(spd)
    w, v = np.linalg.eigh(spd)
    return np.sum(factor * factor * factor) + np.sum(v[:, 0] ** 3 * w) + np.sum(v * v * v)


def rectangular_loss(x):
    """QR of a tall matrix, the singular values of a tall and a wide one, ``ord=2``."""
    a = np.reshape(x, (4, 3))
    q, r = np.linalg.qr(a)
    s = np.linalg.svd(a, compute_uv=False)
    wide = np.linalg.svd(np.transpose(a), compute_uv=False)
    return (np.sum(q[0] * r[0]) + np.sum(q * q * q) + np.sum(s ** 3) + np.sum(wide * s)
            + np.linalg.norm(a, 2) ** 3)


def cholesky_loss(x):
    a = np.reshape(x, (3, 3))
    factor = np.linalg.cholesky(a @ a.T + 3.0 * np.eye(3))
    return np.sum(factor * factor * factor)


def point(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, n)


def test_hessian():
    x = point(9, 1)
    close(adc.hessian(symmetric_loss)(x), second_differences(symmetric_loss, x))


def test_hvp():
    """Each column of the Hessian (unit vectors) and a product with a random vector, from one
    compilation (``hessian`` compiles the same gradient of the tangent, and more)."""
    x, v = point(12, 1), point(12, 2)
    want = second_differences(rectangular_loss, x)
    product = adc.hvp(rectangular_loss)
    close(np.array([product(x, e) for e in np.eye(12)]), want)
    close(product(x, v), want @ v)


def test_jvp_of_grad():
    """Forward mode over the gradient (what ``jacobian(grad(f))`` runs per column): the
    adjoint kernel's definition differentiated forward."""
    x, t = point(9, 3), point(9, 4)
    value, product = adc.jvp(adc.grad(cholesky_loss))(x, t)
    close(product, second_differences(cholesky_loss, x) @ t)


def every_factorization(s):
    """A number through the Cholesky and the QR factors of a square matrix."""
    a = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]]) + s * np.array(
        [[1.0, 0.3, -0.2], [0.3, 2.0, 0.1], [-0.2, 0.1, 0.5]])
    factor = np.linalg.cholesky(a)
    q, r = np.linalg.qr(a)
    return np.sum(factor ** 3) + np.sum(q ** 3) + np.sum(r * r * r)


def test_grad_of_grad_of_a_number():
    s = 0.3
    want = (every_factorization(s + H) - 2 * every_factorization(s)
            + every_factorization(s - H)) / (H * H)
    got = adc.grad(adc.grad(every_factorization))(s)
    assert abs(got - want) <= 1e-5 * abs(want)
