"""Operators and their np.function spellings, with broadcasting."""

import operator

import numpy as np

from . import program

CATEGORY = "operators"


def two(shape_a=(3,), shape_b=(3,), lo=-1.0, hi=1.0, blo=None, bhi=None):
    blo = lo if blo is None else blo
    bhi = hi if bhi is None else bhi
    return lambda r: (r.uniform(lo, hi, shape_a), r.uniform(blo, bhi, shape_b))


@program(two(), wrt=(0, 1), like="autograd test_systematic test_add")
def np_add(x, y):
    return np.sum(np.add(x, y) ** 2)


@program(two(), wrt=(0, 1))
def np_subtract(x, y):
    return np.sum(np.subtract(x, y) ** 2)


@program(two(), wrt=(0, 1))
def np_multiply(x, y):
    return np.sum(np.multiply(x, y))


@program(two(blo=0.5, bhi=2.0), wrt=(0, 1), like="autograd test_systematic test_true_divide")
def np_divide(x, y):
    return np.sum(np.divide(x, y))


@program(two(blo=-2.0, bhi=-0.3), wrt=(0, 1), like="autograd test_true_divide_neg")
def np_true_divide(x, y):
    return np.sum(np.true_divide(x, y))


@program(two(lo=0.7, hi=2.0), wrt=(0, 1), like="autograd test_systematic test_op_pow")
def np_power(x, y):
    return np.sum(np.power(x, y))


@program(lambda r: (r.uniform(-0.9, 0.9, 4), r.uniform(1.1, 1.9, 4)), wrt=(0, 1),
         like="autograd test_systematic test_mod")
def np_mod(x, y):
    return np.sum(np.mod(x, y) * x)


@program(lambda r: (r.uniform(-0.9, 0.9, 4), r.uniform(0.7, 1.9, 4)), wrt=(0, 1),
         like="autograd test_systematic test_remainder")
def np_remainder(x, y):
    return np.sum(np.remainder(x, y) ** 2)


@program(two(), like="autograd test_systematic negative")
def np_negative_positive(x, y):
    return np.sum(np.negative(x) * np.positive(y) + np.negative(x) ** 2)


@program(two((3, 1), (1, 4)), wrt=(0, 1), like="autograd test_binary_ops broadcasting")
def broadcast_column_row(x, y):
    return np.sum(np.tanh(x * y + x - y))


@program(two((2, 3), (3,)), wrt=(0, 1))
def broadcast_matrix_vector(x, y):
    return np.sum((x - y) ** 2 / (1.0 + y * y))


@program(lambda r: (r.normal(size=(2, 3)), 0.7), wrt=(0, 1))
def scalar_times_array(x, a):
    return np.sum(a * x + x / a - a ** 2 * x * x)


@program(lambda r: (r.uniform(0.5, 1.5, 4), 2.5), wrt=(0, 1))
def array_pow_scalar(x, p):
    return np.sum(x ** p + p ** x)


@program(lambda r: (r.uniform(0.5, 1.5, 4),))
def int_powers(x):
    return np.sum(x ** 2 + x ** 3 - x ** -1 + x ** 0.5)


@program(two((3,), (3,)), wrt=(0, 1), like="autograd test_systematic test_op_mul")
def operator_module(x, y):
    return np.sum(operator.mul(x, y) + operator.add(x, y) - operator.sub(y, x))


@program(two((2, 2), (2, 2)), wrt=(0, 1))
def operator_matmul(x, y):
    return np.sum(operator.matmul(x, y))


@program(lambda r: (r.normal(size=3),), like="tangent functions augassign")
def augmented_ops(x):
    y = x * 1.0
    y += 2.0
    y *= x
    y -= 0.5 * x
    y /= 3.0
    y **= 2
    return np.sum(y)


@program(lambda r: (r.normal(size=3),))
def inplace_on_copy(x):
    y = x.copy()
    y *= 2.0
    y += x * x
    return np.sum(y * y)


@program(two((3,), (3,)), wrt=(0, 1))
def unary_minus_plus(x, y):
    return np.sum(-x * +y - (-(x - y)) ** 2)


@program(two((4,), (4,), lo=-2, hi=2), wrt=(0, 1))
def builtin_abs_ops(x, y):
    return np.sum(abs(x) * y + abs(x - y))


@program(lambda r: (r.normal(size=4),))
def where_comparison(x):
    return np.sum(np.where(x > 0.0, x * x, -x) + np.where(x <= 0.1, 1.0, 2.0) * x)


@program(two((4,), (4,)), wrt=(0, 1))
def bool_mask_multiply(x, y):
    return np.sum((x > y) * x + (x <= y) * y)


@program(lambda r: (r.uniform(0.5, 1.5, 4), r.uniform(0.5, 1.5, 4)), wrt=(0, 1))
def floor_divide_const(x, y):
    return np.sum(x * (x // 0.3) + y / (y // 0.4 + 1.0))


@program((1.5, -0.4), wrt=(0, 1), like="tangent functions saxpy")
def scalar_saxpy_ops(a, b):
    c = a * b + a / (1.0 + b * b) - b ** 3 + a % 0.7
    return c * c
