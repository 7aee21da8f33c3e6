"""Python constructs of real loop code: unpacking an array (``a, b, c = x``, ``for a, b in
P``, ``for a, c in zip(*A)``), ``raise``, keyword-only parameters and ``f(*args)``.

Each gradient is checked against float64 central differences of the plain Python function
(``numeric_gradient``); each error against the exception Python raises for the same
arguments: the forward and every derivative raise the same class, never read out of bounds.
"""

import math

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc

rng = np.random.default_rng(77)


def agrees(f, args, wrt, forward=True):
    """value_and_grad (and jvp) of ``f`` match f's value and its central differences."""
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    value, got = adc.value_and_grad(f, wrt=wrts)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    expected = [numeric_gradient(f, list(args), w) for w in wrts]
    for w, g, e in zip(wrts, got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8,
                                   err_msg=f"d {f.__name__} / d arg {w}")
    if forward:  # one directional derivative: the gradients' dot with the tangents
        tangents = [rng.normal(size=np.shape(args[w])) if np.ndim(args[w]) else 0.7
                    for w in wrts]
        v, dv = adc.jvp(f, wrt=wrts)(*args, *tangents)
        np.testing.assert_allclose(v, value, rtol=1e-12)
        np.testing.assert_allclose(dv, sum(np.sum(e * t) for e, t in zip(
            expected, tangents, strict=True)), rtol=1e-6, atol=1e-8)


def raises_like_python(f, args, wrt=0, message=None):
    """The function itself raises for ``args``; so do grad, value_and_grad and jvp, with the
    same class and Python's message up to its numbers (or ``message``)."""
    with pytest.raises(Exception) as python:
        f(*args)
    kind = type(python.value)
    message = str(python.value).split(" (")[0] if message is None else message
    tangent = np.ones(np.shape(args[wrt])) if np.ndim(args[wrt]) else 1.0
    for call in (lambda: adc.grad(f, wrt=wrt)(*args),
                 lambda: adc.value_and_grad(f, wrt=wrt)(*args),
                 lambda: adc.jvp(f, wrt=wrt)(*args, tangent)):
        with pytest.raises(kind) as ours:
            call()
        assert str(ours.value).startswith(message), (str(ours.value), message)


# -- unpacking an array ---------------------------------------------------------------------

def three_numbers(x0):
    a, b, c = x0
    return a * b + math.sin(c) * a


def rows_of_a_matrix(X, w):
    top, bottom = X
    return np.sum(top * w) * np.sum(np.tanh(bottom))


def nested_and_sliced(x, X):
    (a, b), (c, d) = X
    p, q = x[1:]
    r = x  # x, y = y, x: every element read before a name is rebound
    x, r = r[0], r
    return a * d - b * c + p * q * x + np.sum(r)


def unpacked_in_a_loop(x, P):
    s = 0.0
    for k in range(P.shape[0]):
        a, b = P[k]  # an element of an array: a row, unpacked
        lo, hi = x[k:k + 2]
        s = s + a * lo + b * hi * hi
    return s


def pairs(P, w):
    s = 0.0
    for a, b in P:
        s = s + w * a * b
    return s


def enumerated_pairs_into_array(P, w):
    out = np.zeros(len(P))
    for i, (a, b) in enumerate(P):
        out[i] = a * w + math.cos(b)
    return np.sum(out ** 2)


def zipped_triples(T, x):
    s = 0.0
    for (u, v, z), xi in zip(T, x, strict=False):
        s = s + (u * v - z) * xi
    return s


def transposed_pairs(A):
    s = 0.0
    for a, c in zip(*A, strict=False):
        s = s + a * c * c
    return s


@pytest.mark.parametrize("f, make, wrt", [
    (three_numbers, lambda: (rng.normal(size=3),), 0),
    (rows_of_a_matrix, lambda: (rng.normal(size=(2, 4)), rng.normal(size=4)), (0, 1)),
    (nested_and_sliced, lambda: (rng.normal(size=3), rng.normal(size=(2, 2))), (0, 1)),
    (unpacked_in_a_loop, lambda: (rng.normal(size=5), rng.normal(size=(4, 2))), (0, 1)),
    (pairs, lambda: (rng.normal(size=(5, 2)), 0.3), (0, 1)),
    (pairs, lambda: (np.zeros((0, 2)), 0.3), (0, 1)),
    (enumerated_pairs_into_array, lambda: (rng.normal(size=(4, 2)), 0.8), (0, 1)),
    (zipped_triples, lambda: (rng.normal(size=(4, 3)), rng.normal(size=3)), (0, 1)),
    (transposed_pairs, lambda: (rng.normal(size=(2, 5)),), 0),
], ids=["three_numbers", "rows", "nested_sliced", "in_loop", "pairs", "no_pairs",
        "enumerate_store", "zip_triples", "zip_star"])
def test_unpacking_an_array_matches_central_differences(f, make, wrt):
    agrees(f, make(), wrt)


def test_hessian_of_unpacked_numbers():
    x = rng.normal(size=3)
    a, b, c = x
    expected = np.array([[0.0, 1.0, math.cos(c)], [1.0, 0.0, 0.0],
                         [math.cos(c), 0.0, -math.sin(c) * a]])
    np.testing.assert_allclose(adc.hessian(three_numbers)(x), expected, atol=1e-12)


@pytest.mark.parametrize("f, args", [
    (three_numbers, (np.ones(2),)),
    (three_numbers, (np.ones(4),)),
    (rows_of_a_matrix, (np.ones((3, 4)), np.ones(4))),
    (pairs, (np.ones((3, 3)), 0.3)),
    (pairs, (np.ones((3, 1)), 0.3)),
    (enumerated_pairs_into_array, (np.ones((2, 3)), 0.8)),
    (zipped_triples, (np.ones((2, 2)), np.ones(2))),
    (unpacked_in_a_loop, (np.ones(5), np.ones((4, 3)))),
    (transposed_pairs, (np.ones((3, 4)),)),
    (transposed_pairs, (np.ones((1, 4)),)),
], ids=["short", "long", "three_rows", "wide_pairs", "narrow_pairs", "enumerate",
        "zip", "in_loop", "zip_star_three", "zip_star_one"])
def test_unpacking_the_wrong_count_raises_like_python(f, args):
    raises_like_python(f, args)


def test_unpacking_no_column_runs_no_step():
    # zip(*A) of rows with no elements: no step, so nothing to unpack, as in Python
    A = np.zeros((3, 0))
    value, grad = adc.value_and_grad(transposed_pairs)(A)
    assert value == transposed_pairs(A) == 0.0
    assert grad.shape == (3, 0)


# -- raise -----------------------------------------------------------------------------------

def checked_scale(x, n):
    if n <= 0:
        raise ValueError("n must be positive")
    return math.sin(x) * n


def checked_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0.0:
            raise FloatingPointError(f"x[{i}] is negative")
        s += math.sqrt(x[i])
    return s


def raise_at_the_end(x, k):
    if k == 0:
        return x * math.exp(x)
    raise NotImplementedError


def raise_in_final_else(x, k):
    y = x * x
    if k < 3:
        return y * k
    else:
        raise RuntimeError("k too large")


@pytest.mark.parametrize("f, good, bad, message", [
    (checked_scale, (0.4, 3), (0.4, 0), "n must be positive"),
    (checked_in_loop, (np.array([1.0, 4.0, 2.0]),), (np.array([1.0, -4.0]),),
     "x[{i}] is negative"),
    (raise_at_the_end, (0.3, 0), (0.3, 1), ""),
    (raise_in_final_else, (0.3, 2), (0.3, 5), "k too large"),
], ids=["scale", "loop", "end", "final_else"])
def test_raise_in_the_forward_and_every_derivative(f, good, bad, message):
    agrees(f, good, 0)
    raises_like_python(f, bad, message=message)  # (an f-string's text as written)
    assert "    raise " in adc.grad(f).source
    # a second derivative raises too
    with pytest.raises(type(python_error(f, bad))):
        if np.ndim(bad[0]):
            adc.hvp(f)(*bad, np.ones_like(bad[0]))
        else:
            adc.grad(adc.grad(f))(*bad)


def python_error(f, args):
    try:
        f(*args)
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError(f"{f.__name__}{args} raised nothing")


def raise_a_user_class(x):
    if x < 0.0:
        raise KeyboardInterruptLike("no")
    return x


class KeyboardInterruptLike(Exception):
    pass


def reraise(x):
    if x < 0.0:
        raise
    return x


def raise_a_variable(x, message):
    if x < 0.0:
        raise ValueError(message)
    return x


@pytest.mark.parametrize("f, text", [
    (raise_a_user_class, "not a built-in one"),
    (reraise, "bare 'raise'"),
    (raise_a_variable, "not a string literal"),
])
def test_raise_refused_with_the_form_that_works(f, text):
    with pytest.raises(adc.AdcompileError, match=text) as info:
        adc.grad(f)
    assert "test_constructs2.py:" in str(info.value)
    assert 'raise ValueError("n must be positive")' in str(info.value)


def unpacks_a_number(x):
    a, b = x
    return a * b


def test_unpacking_a_number_names_the_line():
    with pytest.raises(adc.AdcompileError, match="tuple unpacking of a number") as info:
        adc.grad(unpacks_a_number)(1.5)
    assert info.value.lineno == unpacks_a_number.__code__.co_firstlineno + 1


# -- keyword-only parameters -----------------------------------------------------------------

def scaled(x, w, *, scale=2.0, shift=0.5):
    return np.sum(w * x) * scale + math.sin(shift * np.sum(x))


def keyword_helper(z, *, k=3.0):
    return z ** 2 * k


def calls_keyword_helper(x, w):
    return keyword_helper(x, k=w) + keyword_helper(w)


@pytest.mark.parametrize("kwargs", [{}, {"scale": 0.7}, {"shift": -1.2, "scale": 1.5}])
def test_keyword_only_parameters(kwargs):
    x, w = rng.normal(size=3), rng.normal(size=3)

    def plain(x, w, scale, shift):
        return scaled(x, w, scale=scale, shift=shift)

    args = (x, w, kwargs.get("scale", 2.0), kwargs.get("shift", 0.5))
    wrt = ("x", "scale", "shift")
    got = adc.grad(scaled, wrt=wrt)(x, w, **kwargs)
    value, pair = adc.value_and_grad(scaled, wrt=("w", "shift"))(x, w, **kwargs)
    assert value == pytest.approx(plain(*args), rel=1e-12)
    for g, p in zip((*got, *pair), (0, 2, 3, 1, 3), strict=True):
        np.testing.assert_allclose(g, numeric_gradient(plain, list(args), p), rtol=1e-6,
                                   atol=1e-8)


def test_keyword_only_parameters_forward_and_helpers():
    x = rng.normal(size=3)
    v, dv = adc.jvp(scaled, wrt="scale")(x, x, 1.5, 0.5, 1.0)  # every argument, in order
    assert v == pytest.approx(scaled(x, x, scale=1.5)) and dv == pytest.approx(np.sum(x * x))
    agrees(calls_keyword_helper, (0.7, -1.3), (0, 1))
    # check_grad takes them in order after the others, as the gradient does
    assert adc.check_grad(scaled, ("x", "scale"), x, x, 1.5, 0.5) < 1e-6


def keyword_without_default_after_default(x=1.0, *, k):
    return x * k


def test_keyword_only_without_default_after_a_default_is_refused():
    with pytest.raises(adc.AdcompileError, match="keyword-only parameter without a default"):
        adc.grad(keyword_without_default_after_default)


# -- f(*args) ----------------------------------------------------------------------------------

def pair_product(a, b, c=1.0):
    return a * b + math.sin(c)


def spreads_a_local_tuple(x, y):
    args = (x, y * 2.0)
    return pair_product(*args) + pair_product(*args, x) * x


def spreads_a_tuple_parameter(p, x):
    return pair_product(*p) * x + pair_product(x, *p[1:])


def test_star_arguments_of_a_tuple():
    agrees(spreads_a_local_tuple, (0.6, -1.1), (0, 1))
    p, x = (0.4, 1.3), 0.9
    dp, dx = adc.grad(spreads_a_tuple_parameter, wrt=(0, 1))(p, x)
    a, b = p
    assert dx == pytest.approx((a * b + math.sin(1.0)) + b)
    np.testing.assert_allclose(dp, (b * x, a * x + x), rtol=1e-12)


def spreads_an_array(x):
    return pair_product(*x)


def test_star_arguments_of_an_array_are_refused():
    with pytest.raises(adc.AdcompileError, match="spreads a value that is not a tuple"):
        adc.grad(spreads_an_array)(np.ones(2))


# -- max/min with key= -----------------------------------------------------------------------

def argmax_by_square(x):
    i = max(range(len(x)), key=lambda k: x[k] * x[k])
    return x[i] * 2.0 + np.sum(np.sin(x))


def smallest_magnitude(a, b, c):
    best = min((a, b, c), key=abs)
    return best * best * 3.0 + math.tanh(a)


def best_row(X, w):
    row = max(X, key=lambda r: np.sum(r * w))
    return np.sum(np.sin(row) * w)


def largest_step(x, n):
    i = min(range(1, n), key=lambda k: x[k - 1] - x[k]) if n > 1 else 0
    return x[i] * math.exp(x[0])


@pytest.mark.parametrize("f, make, wrt", [
    (argmax_by_square, lambda: (rng.normal(size=4),), 0),
    (smallest_magnitude, lambda: (0.5, -0.2, 0.9), (0, 1, 2)),
    (smallest_magnitude, lambda: (-0.1, -0.2, 0.9), (0, 1, 2)),
    (best_row, lambda: (rng.normal(size=(3, 2)), rng.normal(size=2)), (0, 1)),
    (largest_step, lambda: (rng.normal(size=4), 4), 0),
], ids=["argmax_range", "min_display", "min_display_first", "rows", "range_start"])
def test_max_and_min_with_a_key(f, make, wrt):
    agrees(f, make(), wrt)


def max_of_nothing(x, n):
    i = max(range(n), key=lambda k: x[k])
    return x[i]


def test_max_with_a_key_of_nothing_raises_like_python():
    raises_like_python(max_of_nothing, (np.ones(3), 0))


def guarded(x):
    try:
        y = math.log(x)
    except ValueError:
        y = 0.0
    return y


def test_try_is_refused_clearly():
    with pytest.raises(adc.AdcompileError, match="'try' statement") as info:
        adc.grad(guarded)
    assert info.value.lineno == guarded.__code__.co_firstlineno + 1
