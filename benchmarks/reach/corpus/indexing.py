"""Indexing: ints, negatives, slices, steps, None/np.newaxis, Ellipsis, index arrays, masks."""

import numpy as np

from . import program

CATEGORY = "indexing"


def mat(*shape):
    return lambda r: (r.normal(size=shape),)


@program(mat(5), like="tangent functions test_subscript1")
def int_elements(x):
    return x[0] * x[1] + x[4] ** 2


@program(mat(5))
def negative_elements(x):
    return x[-1] * x[-2] - x[-5]


@program(mat(5, 6, 4), like="autograd test_numpy test_index_ints")
def three_ints(x):
    return x[3, 0, 1] ** 2 + x[1, 2, 3]


@program(mat(7), like="autograd test_numpy test_vector_slice")
def vector_slice(x):
    return np.sum(x[2:4] ** 2)


@program(mat(5, 6, 4), like="autograd test_numpy test_index_slice")
def reverse_and_slices(x):
    return np.sum(x[::-1, 2:4, :] * np.arange(5.0)[:, None, None])


@program(mat(7), like="autograd test_numpy test_index_multiple_slices")
def slice_of_slice(x):
    y = x[2:6]
    z = y[1:3]
    return np.sum(z * z)


@program(mat(8))
def step_slices(x):
    return np.sum(x[::2] * x[1::2])


@program(mat(4), like="autograd test_numpy test_index_dot_slices")
def dot_of_slices(x):
    return np.dot(x[:2], x[2:])


@program(mat(3, 4))
def row_and_column(x):
    return np.sum(x[1] * x[:, 2].sum()) + np.sum(x[0, :] ** 2)


@program(mat(3, 4))
def negative_row_col(x):
    return x[-1, -2] * np.sum(x[-1]) + np.sum(x[:, -1] ** 2)


@program(mat(3, 4))
def submatrix_slice(x):
    return np.sum(x[1:, 1:3] ** 2)


@program(mat(4), like="tangent functions extended_slice")
def newaxis_outer(x):
    return np.sum(x[:, np.newaxis] * x[np.newaxis, :] * np.arange(16.0).reshape(4, 4))


@program(mat(3))
def none_index(x):
    return np.sum(x[None, :] @ x[:, None])


@program(mat(2, 3, 4))
def ellipsis_last(x):
    return np.sum(x[..., 0] ** 2) + np.sum(x[0, ...] * 0.5)


@program(mat(2, 3, 4))
def ellipsis_middle(x):
    return np.sum(x[1, ..., 2] ** 3)


@program(mat(5, 6, 4), like="autograd test_numpy test_index_lists")
def list_index(x):
    return np.sum(x[[0, 1, 2], :, :] ** 2)


@program(mat(3), like="autograd test_numpy test_multi_index2")
def repeated_list_index(x):
    return np.sum(x[[0, 1, 0]] ** 2)


@program(lambda r: (r.normal(size=5), np.array([4, 0, 0, 2])), like="jax take gradients")
def index_array_param(x, idx):
    return np.sum(x[idx] ** 2 * np.arange(4.0))


@program(lambda r: (r.normal(size=(4, 3)), np.array([2, 0, 2])))
def index_rows_with_array(x, idx):
    return np.sum(x[idx] ** 2)


@program(lambda r: (r.normal(size=(4, 3)),))
def pairs_index(x):
    rows = np.array([0, 1, 3])
    cols = np.array([2, 0, 1])
    return np.sum(x[rows, cols] ** 2)


@program(mat(5, 6, 4), like="autograd test_numpy test_index_mixed")
def mixed_int_slice_list(x):
    return np.sum(x[3, 2:, [1, 3]] ** 2)


@program(lambda r: (r.normal(size=6),))
def boolean_mask_sum(x):
    return np.sum(x[x > 0.0] ** 2)


@program(lambda r: (r.normal(size=6), np.array([True, False, True, True, False, False])))
def boolean_mask_param(x, mask):
    return np.sum(np.exp(x[mask]))


@program(lambda r: (r.normal(size=6), np.array([True, False, True, True, False, False])))
def where_mask(x, mask):
    return np.sum(np.where(mask, x ** 2, 0.0))


@program(lambda r: (r.normal(size=(3, 4)), r.normal(size=(3, 4))), wrt=(0, 1),
         like="autograd test_numpy test_where")
def where_two_arrays(x, y):
    c = x > y
    return np.sum(np.where(c, x, y) ** 2)


@program(lambda r: (r.normal(size=5),))
def take_function(x):
    return np.sum(np.take(x, [0, 2, 2]) ** 2)


@program(lambda r: (r.normal(size=(3, 3)),))
def take_axis(x):
    return np.sum(np.take(x, [2, 0], axis=1) ** 2)


@program(lambda r: (r.normal(size=(4, 4)),))
def chained_index(x):
    idx = np.array([1, 3])
    return np.sum(x[idx][:, idx] ** 2)


@program(lambda r: (r.normal(size=(3, 4)), 1), like="tangent functions passthru_pack")
def int_param_index(x, i):
    return np.sum(x[i] ** 2) + x[i, i + 1]


@program(lambda r: (r.normal(size=(5, 4)),))
def last_column_drop(x):
    return np.sum(x[:, :-1] ** 2) + np.sum(x[:-1, -1])


@program(lambda r: (r.normal(size=6),))
def argmax_index(x):
    return x[np.argmax(x)] * 2.0 + x[np.argmin(x)]


@program(lambda r: (r.normal(size=6),))
def argsort_index(x):
    order = np.argsort(x)
    return np.sum(x[order] * np.arange(6.0))


@program(lambda r: (r.normal(size=(3, 4)),))
def flat_index_via_ravel(x):
    return x.ravel()[5] * x.ravel()[-1]


@program(lambda r: (r.normal(size=(4, 4)),))
def diagonal_via_fancy(x):
    i = np.arange(4)
    return np.sum(x[i, i] ** 2)


@program(lambda r: (r.normal(size=5),))
def len_and_shape(x):
    n = len(x)
    m = x.shape[0]
    return np.sum(x[: n - 1] * x[1:m])
