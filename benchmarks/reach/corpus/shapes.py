"""Shape operations: reshape, transpose, stacking, flips, rolls, tiles, diagonals."""

import numpy as np

from . import program

CATEGORY = "shapes"

def mat(*shape):
    return lambda r: (r.normal(size=shape),)


@program(mat(2, 3, 2), like="autograd test_numpy test_reshape_method")
def reshape_method_tuple(x):
    return np.sum(x.reshape((4, 3)) * np.linspace(0.5, 2.0, 12).reshape(4, 3))


@program(mat(2, 3, 2), like="autograd test_numpy test_reshape_method_nolist")
def reshape_method_args(x):
    return np.sum(x.reshape(4, 3)[0] ** 2)


@program(mat(2, 3, 2), like="autograd test_numpy test_reshape_call")
def reshape_call_minus1(x):
    return np.sum(np.reshape(x, (-1,)) * np.linspace(0.5, 2.0, 12))


@program(mat(2, 3), like="autograd test_numpy test_transpose")
def transpose_T(x):
    return np.sum(x.T @ x)


@program(mat(2, 3, 4), like="autograd test_systematic test_transpose")
def transpose_axes(x):
    return np.sum(np.transpose(x, (2, 0, 1))[0] ** 2)


@program(mat(2, 3, 4))
def transpose_method_axes(x):
    return np.sum(x.transpose(1, 0, 2)[0] * 3.0)


@program(mat(2, 3, 4), like="autograd test_numpy test_swapaxes")
def swapaxes_3d(x):
    return np.sum(np.swapaxes(x, 0, 2)[1] ** 2)


@program(mat(2, 3, 4))
def moveaxis_3d(x):
    return np.sum(np.moveaxis(x, 0, -1)[0] ** 2)


@program(mat(2, 3), like="autograd test_numpy test_expand_dims")
def expand_dims_broadcast(x):
    return np.sum((np.expand_dims(x, 0) - np.expand_dims(x, 1)) ** 2)


@program(mat(3, 1, 2), like="autograd test_numpy test_squeeze_func")
def squeeze_func(x):
    return np.sum(np.squeeze(x) ** 2 * np.arange(6.0).reshape(3, 2))


@program(mat(3, 1, 2), like="autograd test_numpy test_squeeze_method")
def squeeze_method_axis(x):
    return np.sum(x.squeeze(axis=1)[1] ** 2)


@program(mat(2, 3), like="autograd test_numpy test_ravel_method")
def ravel_method(x):
    return np.sum(x.ravel() * np.linspace(-1.0, 1.0, 6))


@program(mat(2, 3), like="autograd test_numpy test_ravel_call")
def ravel_call(x):
    return np.dot(np.ravel(x), np.linspace(-1.0, 1.0, 6))


@program(mat(2, 3), like="autograd test_numpy test_flatten_method")
def flatten_method(x):
    return np.sum(x.flatten() ** 3)


@program(lambda r: (r.normal(size=(2, 3)), r.normal(size=(2, 3))), wrt=(0, 1),
         like="autograd test_numpy test_concatenate_axis_0")
def concatenate_axis0(x, y):
    return np.sum(np.concatenate((x, y, x)) ** 2 * np.arange(6.0)[:, None])


@program(lambda r: (r.normal(size=(2, 3)), r.normal(size=(2, 2))), wrt=(0, 1),
         like="autograd test_numpy test_concatenate_axis_1_unnamed")
def concatenate_axis1_positional(x, y):
    return np.sum(np.concatenate((x, y), 1) ** 2 * np.arange(5.0))


@program(lambda r: (r.normal(size=3), r.normal(size=2)), wrt=(0, 1))
def concatenate_list_1d(x, y):
    return np.sum(np.concatenate([x, y, x * y[0]]) * np.arange(8.0))


@program(lambda r: (r.normal(size=3), r.normal(size=3)), wrt=(0, 1),
         like="autograd test_numpy stack")
def stack_axis0(x, y):
    s = np.stack((x, y))
    return np.sum(s[0] * s[1] + s[1] ** 2)


@program(lambda r: (r.normal(size=3), r.normal(size=3)), wrt=(0, 1))
def stack_axis1(x, y):
    s = np.stack([x, y], axis=1)
    return np.sum(s[:, 0] * np.exp(s[:, 1]))


@program(lambda r: (r.normal(size=(2, 3)), r.normal(size=(2, 3))), wrt=(0, 1))
def stack_axis_last(x, y):
    return np.sum(np.stack((x, y), axis=-1)[..., 1] * x)


@program(lambda r: (r.normal(size=(2, 3)), r.normal(size=(1, 3))), wrt=(0, 1),
         like="autograd test_numpy test_vstack")
def vstack_rows(x, y):
    return np.sum(np.vstack((x, y)) ** 2 * np.arange(3.0)[:, None])


@program(lambda r: (r.normal(size=(2, 2)), r.normal(size=(2, 3))), wrt=(0, 1),
         like="autograd test_numpy test_hstack")
def hstack_cols(x, y):
    return np.sum(np.hstack([x, y]) ** 2 * np.arange(5.0))


@program(lambda r: (r.normal(size=(2, 2)), r.normal(size=(2, 2))), wrt=(0, 1),
         like="autograd test_numpy test_dstack")
def dstack_pairs(x, y):
    return np.sum(np.dstack((x, y))[:, :, 0] * y)


@program(lambda r: (r.normal(size=3), r.normal(size=3)), wrt=(0, 1))
def column_stack_vectors(x, y):
    return np.sum(np.column_stack((x, y)) @ np.array([1.0, -2.0]))


@program(mat(3, 4), like="autograd test_numpy test_flipud")
def flipud_mat(x):
    return np.sum(np.flipud(x) * np.arange(12.0).reshape(3, 4))


@program(mat(3, 4), like="autograd test_numpy test_fliplr")
def fliplr_mat(x):
    return np.sum(np.fliplr(x) * np.arange(12.0).reshape(3, 4))


@program(mat(5))
def flip_vector(x):
    return np.sum(np.flip(x) * np.arange(5.0))


@program(mat(3, 4))
def flip_axis1(x):
    return np.sum(np.flip(x, axis=1)[0] * np.arange(4.0))


@program(mat(3, 4), like="autograd test_numpy test_rot90")
def rot90_mat(x):
    return np.sum(np.rot90(x)[0] * np.arange(3.0))


@program(mat(4, 5), like="autograd test_numpy test_roll")
def roll_axis1(x):
    return np.sum(np.roll(x, 2, axis=1) * np.arange(20.0).reshape(4, 5))


@program(mat(6), like="autograd test_numpy test_roll_no_axis")
def roll_flat(x):
    return np.sum(np.roll(x, -1) * np.linspace(-1.0, 1.0, 6))


@program(mat(2, 3), like="autograd test_numpy test_tile")
def tile_2d(x):
    return np.sum(np.tile(x, (2, 1)) * np.arange(12.0).reshape(4, 3))


@program(mat(3))
def tile_1d(x):
    return np.sum(np.tile(x, 3) * np.arange(9.0))


@program(mat(3, 2, 2), like="autograd test_numpy test_repeat")
def repeat_axis1(x):
    return np.sum(np.repeat(x, 2, axis=1) ** 2 * np.arange(4.0)[:, None])


@program(mat(4), like="autograd test_numpy test_repeat_1d_axis0")
def repeat_1d(x):
    return np.sum(np.repeat(x, 2) * np.arange(8.0))


@program(mat(4), like="autograd test_numpy test_diag")
def diag_from_vector(x):
    return np.sum(np.diag(x) @ np.ones((4, 4)) * np.arange(16.0).reshape(4, 4))


@program(mat(4, 4), like="autograd test_numpy test_diag")
def diag_of_matrix(x):
    return np.sum(np.diag(x) ** 2)


@program(mat(3, 3), like="autograd test_numpy test_diagonal")
def diagonal_offset(x):
    return np.sum(np.diagonal(x, 1) ** 2) + np.sum(x.diagonal())


@program(mat(4, 4), like="autograd test_numpy test_tril")
def tril_k(x):
    return np.sum(np.tril(x, k=-1) ** 2)


@program(mat(4, 4), like="autograd test_numpy test_triu")
def triu_default(x):
    return np.sum(np.triu(x) * np.arange(16.0).reshape(4, 4))


@program(mat(4, 5), like="autograd test_systematic test_trace")
def trace_offset(x):
    return np.trace(x, offset=1) + np.trace(x) ** 2


@program(mat(3, 3))
def trace_method(x):
    return x.trace() * 2.0


@program(mat(3), like="autograd test_systematic test_atleast_2d")
def atleast_2d_vec(x):
    return np.sum(np.atleast_2d(x).T @ np.atleast_2d(x))


@program((1.2,), like="autograd test_systematic test_atleast_1d")
def atleast_1d_float(x):
    return np.sum(np.atleast_1d(x) * 3.0)


@program(mat(3))
def broadcast_to_rows(x):
    return np.sum(np.broadcast_to(x, (2, 3)) * np.arange(6.0).reshape(2, 3))


@program(lambda r: (r.normal(size=3), 0.4), wrt=(0, 1),
         like="autograd test_numpy test_simple_append_arr")
def append_scalar(x, b):
    return np.sum(np.append(x, b) ** 2 * np.arange(4.0))


@program(mat(6), like="autograd test_numpy split")
def split_halves(x):
    a, b = np.split(x, 2)
    return np.sum(a * b)


@program(mat(4, 2))
def array_split_rows(x):
    parts = np.array_split(x, 2, axis=0)
    return np.sum(parts[0] ** 2) - np.sum(parts[1])


@program(mat(3))
def pad_constant(x):
    return np.sum(np.pad(x, 1) * np.arange(5.0))


@program(mat(2, 3), like="autograd test_numpy test_r_double")
def r_concatenate(x):
    return np.sum(np.r_[x, x * 2.0] ** 2)


@program(mat(2, 2))
def kron_identity_shape(x):
    return np.sum(np.reshape(np.transpose(x), (4,)) * np.arange(4.0))
