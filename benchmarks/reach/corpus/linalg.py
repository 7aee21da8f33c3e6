"""Linear algebra: norms, determinants, inverses, solves, factorizations."""

import numpy as np

from . import program

CATEGORY = "linalg"


def spd(n):
    def make(r):
        a = r.normal(size=(n, n))
        return (a @ a.T + n * np.eye(n),)
    return make


def well_conditioned(n):
    return lambda r: (r.normal(size=(n, n)) + 3.0 * np.eye(n),)


@program(lambda r: (r.normal(size=4),), like="autograd test_linalg test_norm")
def norm_vector(x):
    return np.linalg.norm(x)


@program(lambda r: (r.normal(size=(3, 4)),), like="autograd test_linalg test_frobenius_norm")
def norm_frobenius(x):
    return np.linalg.norm(x) ** 2 + np.linalg.norm(x, "fro")


@program(lambda r: (r.normal(size=(3, 4)),), like="autograd test_linalg test_norm_axis")
def norm_axis(x):
    return np.sum(np.linalg.norm(x, axis=1))


@program(lambda r: (r.normal(size=4),), like="autograd test_linalg test_vector_norm_ord")
def norm_ord1_ord3(x):
    return np.linalg.norm(x, ord=1) + np.linalg.norm(x, 3)


@program(lambda r: (r.normal(size=4),))
def norm_inf(x):
    return np.linalg.norm(x, np.inf)


@program(well_conditioned(3), like="autograd test_linalg test_det")
def det_matrix(x):
    return np.linalg.det(x)


@program(spd(3), like="autograd test_linalg test_slogdet")
def slogdet_spd(x):
    sign, logdet = np.linalg.slogdet(x)
    return sign * logdet


@program(well_conditioned(3), like="autograd test_linalg test_inv")
def inv_matrix(x):
    return np.sum(np.linalg.inv(x) ** 2)


@program(lambda r: (r.normal(size=(3, 3)) + 3.0 * np.eye(3), r.normal(size=3)), wrt=(0, 1),
         like="autograd test_linalg test_solve_arg1")
def solve_vector(A, b):
    return np.sum(np.linalg.solve(A, b) ** 2)


@program(lambda r: (r.normal(size=(3, 3)) + 3.0 * np.eye(3), r.normal(size=(3, 2))), wrt=(0, 1),
         like="autograd test_linalg test_solve_arg1_2d")
def solve_matrix(A, B):
    return np.sum(np.linalg.solve(A, B) ** 2)


@program(spd(3), like="autograd test_linalg test_cholesky")
def cholesky_sum(x):
    L = np.linalg.cholesky(x)
    return np.sum(L * np.arange(9.0).reshape(3, 3))


@program(spd(3), like="autograd test_linalg test_cholesky (symmetrized input)")
def cholesky_symmetrized(x):
    L = np.linalg.cholesky(0.5 * (x + x.T))
    return np.sum(L * np.arange(9.0).reshape(3, 3))


@program(spd(3), like="autograd test_linalg test_eigh")
def eigh_values(x):
    w, v = np.linalg.eigh(x)
    return np.sum(w ** 2) + np.sum(w * np.arange(3.0))


@program(spd(3))
def eigvalsh_logsum(x):
    return np.sum(np.log(np.linalg.eigvalsh(x)))


@program(lambda r: (r.normal(size=(3, 2)),), like="autograd test_linalg test_svd")
def svd_singular_values(x):
    s = np.linalg.svd(x, compute_uv=False)
    return np.sum(s)


@program(lambda r: (r.normal(size=(3, 2)),), like="autograd test_linalg test_pinv")
def pinv_sum(x):
    return np.sum(np.linalg.pinv(x) ** 2)


@program(well_conditioned(3), like="autograd test_linalg test_matrix_power")
def matrix_power_3(x):
    return np.sum(np.linalg.matrix_power(x, 3))


@program(spd(3))
def gaussian_logpdf_chol(S):
    x = np.array([0.3, -0.2, 0.5])
    L = np.linalg.cholesky(S)
    z = np.linalg.solve(L, x)
    return -0.5 * np.dot(z, z) - np.sum(np.log(np.diag(L)))


@program(spd(3))
def trace_inv(x):
    return np.trace(np.linalg.inv(x)) + np.log(np.linalg.det(x))


@program(lambda r: (r.normal(size=(4, 2)), r.normal(size=4)), wrt=(0, 1))
def lstsq_normal_equations(X, y):
    w = np.linalg.solve(X.T @ X + 0.1 * np.eye(2), X.T @ y)
    return np.sum((X @ w - y) ** 2)


@program(lambda r: (r.normal(size=(3, 3)),), like="autograd test_linalg test_qr")
def qr_r_diag(x):
    q, rr = np.linalg.qr(x)
    return np.sum(np.abs(np.diag(rr)))


@program(lambda r: (r.normal(size=(2, 2)) + 2.0 * np.eye(2),))
def det_2x2_by_hand(x):
    return x[0, 0] * x[1, 1] - x[0, 1] * x[1, 0]
