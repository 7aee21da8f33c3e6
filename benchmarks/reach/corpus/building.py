"""Building arrays: np.array of values, zeros then writes, lists, ranges and grids."""

import numpy as np

from . import program

CATEGORY = "building"


@program((3.0,), like="autograd test_numpy test_1d_array")
def array_of_scalars(x):
    a = np.array([x, x * 1.0, x + 2.5])
    return np.sum(a * a)


@program((1.5,), like="autograd test_numpy test_2d_array")
def array_2d_of_scalars(x):
    a = np.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]])
    return np.sum(a @ np.array([1.0, 2.0, 3.0]))


@program(lambda r: (r.normal(size=(3, 2)),), like="autograd test_numpy test_array_from_arrays")
def array_of_arrays(x):
    return np.sum(np.array([x, 2.0 * x]) ** 2)


@program(lambda r: (r.normal(size=3),), like="tangent functions test_deep_anf_list")
def array_of_elements(x):
    b = np.array([1.0, x[0] * x[1] * x[2], 3.0])
    return np.sum(b ** 2)


@program((0.7, -0.3), wrt=(0, 1))
def rotation_matrix(theta, s):
    R = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    v = R @ np.array([1.0 + s, s])
    return v[0] ** 2 + 3.0 * v[1]


@program(lambda r: (r.normal(size=4),), like="tangent functions active_subscript")
def zeros_then_elements(x):
    y = np.zeros_like(x)
    for i in range(len(x)):
        y[i] = x[i] * x[i]
    return np.sum(y)


@program(lambda r: (r.normal(size=4),), like="tangent functions init_array_grad_maybe_active")
def zeros_then_rows(x):
    h = np.zeros((len(x), 3))
    for t in range(len(h)):
        h[t] = x[t] * np.arange(3.0)
    return np.sum(h ** 2)


@program(lambda r: (r.normal(size=3),))
def empty_then_fill(x):
    y = np.empty(6)
    y[:3] = x
    y[3:] = np.exp(x)
    return np.sum(y * np.arange(6.0))


@program((0.8,))
def ones_full_eye(a):
    m = np.ones((2, 2)) * a + np.full((2, 2), a ** 2) + np.eye(2) * np.sin(a)
    return np.sum(m @ m)


@program(lambda r: (r.normal(size=(2, 3)),))
def zeros_slice_assign(x):
    y = np.zeros((4, 3))
    y[1:3] = x
    y[0, :] = x[0] * 2.0
    return np.sum(y ** 2 * np.arange(12.0).reshape(4, 3))


@program(lambda r: (r.normal(size=4),))
def list_comprehension_array(x):
    y = np.array([x[i] * i for i in range(4)])
    return np.sum(y ** 2)


@program(lambda r: (r.normal(size=3),), like="autograd test_list")
def append_then_array(x):
    parts = []
    for i in range(3):
        parts.append(x[i] ** 2)
    return np.sum(np.array(parts) * np.arange(3.0))


@program(lambda r: (r.normal(size=3),))
def stack_list_comprehension(x):
    rows = [x * k for k in range(1, 4)]
    return np.sum(np.stack(rows) ** 2)


@program(lambda r: (r.normal(size=2),))
def concatenate_list_of_pieces(x):
    return np.sum(np.concatenate([x, x ** 2, np.sin(x)]) * np.arange(6.0))


@program((0.6, 2.0), wrt=(0, 1))
def linspace_grid(a, b):
    t = np.linspace(a, b, 5)
    return np.sum(t ** 2)


@program((0.3,))
def arange_scaled(a):
    t = np.arange(5) * a
    return np.sum(np.sin(t))


@program((0.5, 1.5), wrt=(0, 1))
def meshgrid_surface(a, b):
    xs, ys = np.meshgrid(np.linspace(0.0, 1.0, 3), np.linspace(0.0, 1.0, 2))
    return np.sum((a * xs + b * ys) ** 2)


@program(lambda r: (r.normal(size=3),))
def vander_polyval(x):
    return np.sum(np.vander(x, 3) @ np.array([1.0, -2.0, 0.5]))


@program(lambda r: (r.normal(size=3),))
def polyval_coeffs(c):
    return np.sum(np.polyval(c, np.array([0.5, 1.5, -1.0])) ** 2)


@program(lambda r: (r.normal(size=(2, 2)),))
def block_matrix(x):
    z = np.zeros((2, 2))
    b = np.block([[x, z], [z, x.T]])
    return np.sum(b @ np.arange(4.0))


@program((0.9,))
def zeros_like_scalar_array(a):
    v = np.zeros(3)
    v[0] = a
    v[1] = a * a
    v[2] = v[0] + v[1]
    return np.sum(v ** 2)


@program(lambda r: (r.normal(size=4),))
def copy_then_write(x):
    y = x.copy()
    y[1] = 2.0 * x[0]
    y[2] += x[3] ** 2
    return np.sum(y ** 2)


@program(lambda r: (r.normal(size=4),))
def asarray_astype(x):
    y = np.asarray(x, dtype=np.float64)
    z = y.astype(np.float64)
    return np.sum(z * y)


@program((0.4,), like="autograd test_numpy test_array_from_scalar")
def array_from_scalar(x):
    return np.sum(np.array(x) * 2.0) + float(np.array(x) ** 2)


@program(lambda r: (r.normal(size=3), r.normal(size=3)), wrt=(0, 1), like="tangent rnn")
def zeros_rows_recurrence(x, w):
    h = np.zeros((4, 3))
    for t in range(3):
        h[t + 1] = np.tanh(x * w[t] + h[t])
    return np.sum(h[1:])
