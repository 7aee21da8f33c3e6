"""Python constructs: loops over arrays, enumerate, zip, while, branches, closures, nested
functions, lambdas, tuple parameters, helpers returning tuples, comprehensions, assert, print."""

# ruff: noqa: B007, B905 - written the way users write it (unused loop indices, plain zip)

import math

import numpy as np

from . import add, program

CATEGORY = "constructs"

WEIGHTS = np.array([0.5, -1.0, 2.0, 0.25])
OFFSET = 0.3
DATA_X = np.array([[0.1, 0.5], [-0.3, 0.8], [1.2, -0.4]])
DATA_Y = np.array([1.0, 0.0, 1.0])


def _mul(a, b):
    return a * b


def _polar(x, y):
    r = math.sqrt(x * x + y * y)
    t = math.atan2(y, x)
    return r, t


def _affine(x, w, b=0.0, scale=1.0):
    return scale * (x * w + b)


def _moments(v):
    m = np.mean(v)
    return m, np.mean((v - m) ** 2)


@program(lambda r: (r.normal(size=(3, 2)),), like="jax: for row in x")
def for_over_rows(x):
    total = 0.0
    for row in x:
        total = total + np.sum(row ** 2) * row[0]
    return total


@program(lambda r: (r.normal(size=4),))
def for_over_elements(x):
    s = 0.0
    for v in x:
        s += math.sin(v) * v
    return s


@program(lambda r: (r.normal(size=4),))
def enumerate_elements(x):
    s = 0.0
    for i, v in enumerate(x):
        s = s + i * v ** 2
    return s


@program(lambda r: (r.normal(size=4), r.normal(size=4)), wrt=(0, 1))
def zip_vectors(x, y):
    s = 0.0
    for a, b in zip(x, y):
        s = s + a * b + a ** 2
    return s


@program(lambda r: (r.normal(size=3), r.normal(size=3)), wrt=(0, 1))
def enumerate_zip(x, y):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, y)):
        s += (i + 1) * a * math.exp(b)
    return s


@program((3.0,), like="tangent functions while_big")
def while_halving(a):
    while abs(a) > 0.1:
        a = a * 0.5
    return a


@program((0.5,))
def while_counter(x):
    i = 0
    y = x
    while i < 5:
        y = y * 0.9 + math.sin(y)
        i += 1
    return y


@program((1.3,), like="tangent functions nested_if")
def nested_if(a):
    if a > 0:
        if a < 10:
            a = a * a
    else:
        a = 3.0 * a
    return a


@program((0.7,), like="tangent functions multiarg_if")
def elif_chain(a):
    if a * a / 3.0 > 0:
        b = 3.0
    else:
        b = 4.0
    a = a * b
    if a < b - a * b:
        a = a * a
    elif a > b + 3.0 * a:
        a = a / b
    else:
        a = -a * b
    return a


@program(lambda r: (r.normal(size=4),))
def if_on_array_sum(x):
    if np.sum(x) > 0.0:
        return np.sum(x ** 2)
    else:
        return np.sum(np.exp(x))


@program((0.4, 0.9), wrt=(0, 1))
def ternary_and_chained(a, b):
    c = a * b if a < b else a + b
    if 0.0 < a < b:
        c = c * 2.0
    return c + (a if a > 0.5 else b) ** 2


@program(lambda r: (r.normal(size=4),), like="closure over a module array")
def closure_module_array(x):
    return np.sum(WEIGHTS * x ** 2) + OFFSET


@program(lambda r: (r.normal(size=2),), like="logistic loss over module data")
def closure_module_data(w):
    p = 1.0 / (1.0 + np.exp(-(DATA_X @ w)))
    return -np.sum(DATA_Y * np.log(p) + (1.0 - DATA_Y) * np.log(1.0 - p))


@program((0.6, 3), like="tangent functions iterpower_with_nested_def")
def nested_def(a, n):
    def step(u, k):
        return u * k + 0.1 * u * u

    for i in range(n):
        a = step(a, 0.9)
    return a


@program(lambda r: (r.normal(size=3), 0.5), wrt=(0, 1))
def nested_def_closure(x, s):
    def scaled(v):
        return np.tanh(s * v)

    return np.sum(scaled(x) ** 2) + np.sum(scaled(x * 2.0))


@program(lambda r: (r.normal(size=3),))
def local_lambda(x):
    sq = lambda v: v * v  # noqa: E731
    return np.sum(sq(x) + sq(x + 1.0))


@program(lambda r: (r.normal(size=3),))
def lambda_in_map_list(x):
    fs = [lambda v: v * v, np.sin]
    return sum(np.sum(f(x)) for f in fs)


add(lambda x: np.sum(np.tanh(x) ** 2), lambda r: (r.normal(size=3),), name="program_is_lambda",
    like="autograd test_wrappers grad(lambda x: ...)")


@program(lambda r: ((r.normal(size=(2, 3)), r.normal(size=2)), r.normal(size=3)),
         wrt=0, like="jax: W, b = params")
def tuple_params(params, x):
    W, b = params
    return np.sum(np.tanh(W @ x + b) ** 2)


@program(lambda r: (((r.normal(size=(3, 2)), r.normal(size=3)),
                     (r.normal(size=(1, 3)), r.normal(size=1))), r.normal(size=2)),
         like="jax MLP params list of layers")
def nested_tuple_params(params, x):
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
    return np.sum(h ** 2)


@program(lambda r: ([r.normal(size=(2, 2)), r.normal(size=2)], r.normal(size=2)),
         like="autograd test_list")
def list_params(params, x):
    W = params[0]
    b = params[1]
    return np.sum((W @ x + b) ** 2)


@program(lambda r: ({"w": r.normal(size=3), "b": 0.3}, r.normal(size=3)),
         like="autograd test_dict")
def dict_params(params, x):
    return (np.dot(params["w"], x) + params["b"]) ** 2


@program((1.2, 0.7), wrt=(0, 1), like="tangent functions cart2polar")
def helper_returns_tuple(x, y):
    r, t = _polar(x, y)
    return r * t + r ** 2


@program(lambda r: (r.normal(size=5),))
def helper_returns_arrays_tuple(x):
    m, v = _moments(x)
    return m ** 2 + v


@program((0.5, 1.5), wrt=(0, 1))
def helper_keywords_defaults(x, w):
    return _affine(x, w, scale=2.0) + _affine(x, w, b=0.5) ** 2


@program((0.5, 1.5), wrt=(0, 1), like="tangent functions nested_call")
def helper_chain(a, b):
    return _mul(_mul(a, b), a + b)


@program(lambda r: (r.normal(size=4),), like="tangent functions listcomp")
def list_comprehension_sum(x):
    return sum([x[i] * x[i] * (i + 1) for i in range(4)])


@program(lambda r: (r.normal(size=4),))
def generator_sum(x):
    return sum(v ** 2 for v in x)


@program(lambda r: (r.normal(size=(3, 2)), r.normal(size=(3, 2))), wrt=(0, 1),
         like="autograd test_numpy test_non_numpy_sum")
def builtin_sum_of_arrays(x, y):
    return np.sum(sum([x, y]) ** 2)


@program(lambda r: (r.normal(size=3),), like="autograd test_numpy test_len (assert)")
def assert_shape(x):
    assert len(x) == 3
    assert x.ndim == 1, "expected a vector"
    return np.sum(x ** 2)


@program(lambda r: (r.normal(size=3),))
def print_progress(x):
    s = np.sum(x ** 2)
    print("loss", s)
    return s


@program(lambda r: (r.normal(size=3),))
def print_fstring(x):
    s = np.sum(np.sin(x))
    print(f"value: {s:.3f}")
    return s * 2.0


@program((0.8,))
def early_return(a):
    if a > 2.0:
        return a
    b = a * a
    if b < 0.1:
        return b
    return b * a


@program(lambda r: (r.normal(size=6),))
def break_continue(x):
    s = 0.0
    for i in range(6):
        if i == 1:
            continue
        s = s + x[i] ** 2
        if i == 4:
            break
    return s


@program((0.9, 3), like="tangent functions serial_for")
def range_param_loops(a, n):
    for i in range(n):
        a = a * 1.1
    a = 2.0 * a
    for i in range(n + 1):
        a = a * 0.5 + math.sin(a)
    return a


@program(lambda r: (r.normal(size=4),))
def reversed_range(x):
    s = 0.0
    for i in reversed(range(4)):
        s = s * 0.5 + x[i]
    return s * s


@program(lambda r: (r.normal(size=(3, 2)),))
def shape_unpacking(x):
    n, m = x.shape
    s = 0.0
    for i in range(n):
        for j in range(m):
            s += x[i, j] * (i - j)
    return s ** 2


@program((0.3, 0.8, -0.2), wrt=(0, 1, 2))
def builtin_min_max(a, b, c):
    return max(a, b, c) * min(a, b) + max((a * b, c))


@program(lambda r: (r.normal(size=3),))
def fsum_and_sum(x):
    return math.fsum([x[0], x[1] * 2.0]) + sum((x[2], x[0] * x[1]))


@program((1.1,))
def recursion_helper(x):
    return _power(x, 3)


def _power(x, n):
    if n == 0:
        return 1.0
    return x * _power(x, n - 1)


@program(lambda r: (r.normal(size=3),))
def tuple_indexing(x):
    t = (x[0], x[1] * 2.0, x[2] ** 2)
    return t[0] * t[1] + t[2]


@program(lambda r: (r.normal(size=3),))
def errstate_block(x):
    with np.errstate(divide="ignore"):
        y = np.log(np.exp(x))
    return np.sum(y ** 2)


@program((0.5,))
def isinstance_check(x):
    if isinstance(x, float):
        return x * x
    return 0.0


@program((0.3, 0.4), wrt=(0, 1))
def swap_and_unpack(a, b):
    a, b = b, a * b
    c, (d, e) = a, (b, a + b)
    return c * d + e ** 2


@program(lambda r: (r.normal(size=4),))
def while_over_array(x):
    i = 0
    s = 0.0
    while i < len(x) and s < 100.0:
        s = s + x[i] ** 2
        i = i + 1
    return s


@program(lambda r: (r.normal(size=3), 2), wrt=0)
def int_param_power(x, k):
    return np.sum(x ** k) + np.sum(x) ** (k + 1)


@program((0.7,), like="tangent functions cond_iterpower1")
def loop_with_branch(a):
    for i in range(3):
        if a < 20:
            a = a * a + 0.5
    return a


@program((0.4,))
def nonlocal_accumulator(x):
    total = 0.0

    def add_term(v):
        nonlocal total
        total += v * v

    add_term(x)
    add_term(2.0 * x)
    return total


@program((0.5,))
def global_helper_constant(x):
    return _affine(x, OFFSET) * math.pi + math.e * x
