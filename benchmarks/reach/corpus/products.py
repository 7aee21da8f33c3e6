"""Products: dot, @, outer, inner, einsum, tensordot, kron, cross, matmul of stacks."""

import numpy as np

from . import program

CATEGORY = "products"


def pair(sa, sb):
    return lambda r: (r.normal(size=sa), r.normal(size=sb))


@program(pair((4,), (4,)), wrt=(0, 1), like="autograd test_numpy test_dot")
def dot_vv(x, y):
    return np.dot(x, y)


@program(pair((3, 4), (4,)), wrt=(0, 1), like="autograd test_numpy test_dot")
def dot_mv(x, y):
    return np.sum(np.dot(x, y) ** 2)


@program(pair((3,), (3, 4)), wrt=(0, 1), like="autograd test_numpy test_dot")
def dot_vm(x, y):
    return np.sum(np.dot(x, y) ** 2)


@program(pair((3, 4), (4, 2)), wrt=(0, 1))
def dot_mm(x, y):
    return np.sum(np.dot(x, y) ** 2)


@program(lambda r: (r.normal(size=(2, 3)), 1.5), wrt=(0, 1),
         like="autograd test_numpy test_dot_with_floats")
def dot_with_float(x, a):
    return np.sum(np.dot(x, a) ** 2) + np.sum(np.dot(a, x))


@program(pair((3, 4), (4, 2)), wrt=(0, 1))
def matmul_operator(x, y):
    return np.sum(np.tanh(x @ y))


@program(pair((4,), (4, 3)), wrt=(0, 1))
def matmul_vector_left(x, y):
    return np.sum((x @ y) ** 2)


@program(pair((2, 3, 4), (2, 4, 2)), wrt=(0, 1), like="jax batched matmul")
def matmul_batched(x, y):
    return np.sum(np.matmul(x, y) ** 2)


@program(pair((3,), (4,)), wrt=(0, 1), like="autograd test_numpy test_outer")
def outer_vectors(x, y):
    return np.sum(np.outer(x, y) ** 2 * np.arange(12.0).reshape(3, 4))


@program(pair((4,), (4,)), wrt=(0, 1), like="autograd test_numpy test_inner")
def inner_vectors(x, y):
    return np.inner(x, y) ** 2


@program(pair((2, 3), (4, 3)), wrt=(0, 1))
def inner_matrices(x, y):
    return np.sum(np.inner(x, y) ** 2)


@program(pair((4,), (4,)), wrt=(0, 1))
def vdot_vectors(x, y):
    return np.vdot(x, y) * 2.0


@program(pair((2, 3), (3, 4)), wrt=(0, 1), like="autograd test_systematic test_einsum_matmult")
def einsum_matmul(x, y):
    return np.sum(np.einsum("ij,jk->ik", x, y) ** 2)


@program(lambda r: (r.normal(size=(3, 4)),), like="autograd test_systematic test_einsum_transpose")
def einsum_transpose(x):
    return np.sum(np.einsum("ij->ji", x) * np.arange(12.0).reshape(4, 3))


@program(lambda r: (r.normal(size=(4, 4)),))
def einsum_trace(x):
    return np.einsum("ii->", x) ** 2


@program(pair((4,), (4,)), wrt=(0, 1))
def einsum_dot(x, y):
    return np.einsum("i,i->", x, y)


@program(pair((3, 4), (4,)), wrt=(0, 1))
def einsum_matvec(x, y):
    return np.sum(np.einsum("ij,j->i", x, y) ** 2)


@program(pair((2, 3, 4), (2, 4, 3)), wrt=(0, 1))
def einsum_batch(x, y):
    return np.sum(np.einsum("bij,bjk->bik", x, y) ** 2)


@program(lambda r: (r.normal(size=(3, 4, 4)), r.normal(size=(4, 4, 3))), wrt=(0, 1),
         like="autograd test_systematic test_einsum_covsum")
def einsum_covsum(x, y):
    return np.sum(np.einsum("ijk,lji->lki", x, y) ** 2)


@program(pair((3, 4), (3, 4)), wrt=(0, 1))
def einsum_implicit(x, y):
    return np.einsum("ij,ij", x, y)


@program(lambda r: (r.normal(size=(3, 2, 2)), r.normal(size=(3, 2, 2))), wrt=(0, 1),
         like="autograd test_systematic test_einsum_ellipses")
def einsum_ellipsis(x, y):
    return np.sum(np.einsum("...jk,...lj->...lk", x, y) ** 2)


@program(pair((2, 3), (3, 4)), wrt=(0, 1), like="autograd test_systematic test_tensordot_1")
def tensordot_axes1(x, y):
    return np.sum(np.tensordot(x, y, axes=1) ** 2)


@program(pair((2, 3), (2, 3)), wrt=(0, 1), like="autograd test_systematic test_tensordot_4")
def tensordot_axes2(x, y):
    return np.tensordot(x, y, 2) ** 2


@program(pair((2, 3, 4), (3, 2, 5)), wrt=(0, 1), like="autograd test_systematic test_tensordot_3")
def tensordot_pairs(x, y):
    return np.sum(np.tensordot(x, y, axes=([0, 1], [1, 0])) ** 2)


@program((1.0,), like="autograd test_numpy test_tensordot_kwargs_by_position")
def tensordot_of_scalar(x):
    return np.tensordot(x * np.ones((2, 2)), x * np.ones((2, 2)), 2)


@program(pair((2, 2), (2, 3)), wrt=(0, 1), like="autograd test_numpy test_kron")
def kron_matrices(x, y):
    return np.sum(np.kron(x, y) ** 2 * np.arange(24.0).reshape(4, 6))


@program(pair((3,), (3,)), wrt=(0, 1), like="autograd test_numpy test_cross")
def cross_vectors(x, y):
    return np.sum(np.cross(x, y) ** 2) + np.cross(x, y)[0]


@program(pair((3, 3), (3, 3)), wrt=(0, 1))
def multi_dot_chain(x, y):
    return np.sum(np.linalg.multi_dot([x, y, x]) ** 2)


@program(pair((3, 3), (3,)), wrt=(0, 1))
def quadratic_form(A, v):
    return v @ A @ v


@program(pair((3, 4), (4, 3)), wrt=(0, 1))
def dot_method(x, y):
    return np.sum(x.dot(y) ** 2)


@program(pair((3, 4), (4,)), wrt=(0, 1))
def matrix_power_chain(x, y):
    z = x.T @ (x @ y)
    return np.sum(z * y)
