"""A second sweep of "Higher order and forward mode" (/work/shared/spec/api.md): the programs
whose class it found wrong or refused badly, each through the entry points where it was.

Every derivative is compared with float64 central differences of the function run as plain
Python (second order: differences of differences), never with adcompile itself; the points
are away from kinks (``min`` ties, branch switches).
"""

from __future__ import annotations

import numpy as np
import pytest

# the oracle: float64 central differences of the plain-Python function (and of them)
from test_higher_contract import close, fd_hessian, fd_jacobian

import adcompile as adc

# -- inf * y: an infinite constant times a variable ------------------------------------------
#
# A table with an infinite border scaled by a parameter: ``w * R[i - 1, j]`` is ``inf`` for
# every ``w`` near (a constant), ``min`` picks another entry, and the product rule's
# ``d_w += d_t * R[i - 1, j]`` was ``0 * inf``, NaN, where the derivative is finite.

def scaled_border(x, y, w):
    n, m = x.shape[0], y.shape[0]
    R = np.full((n + 1, m + 1), np.inf)
    R[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            c = (x[i - 1] - y[j - 1]) ** 2
            R[i, j] = c + min(w * R[i - 1, j], w * R[i, j - 1], R[i - 1, j - 1])
    return R[n, m] * w


def scaled_infinities(x, w):
    R = np.full(x.shape[0], np.inf)
    R[0] = x[0]
    return np.sum(np.minimum(R * w, x * x)) * w + 2.0 * w * x[1]


X3, Y4 = np.array([0.3, -0.7, 1.1]), np.array([0.2, 0.5, -0.4, 0.9])


def test_an_infinite_border_times_a_parameter_in_a_table():
    args = (X3, Y4, 0.8)
    # the value is the forward-mode tangent along w, the gradient its reverse (grad(grad))
    dw, d2w = adc.value_and_grad(adc.grad(scaled_border, wrt="w"), wrt="w")(*args)
    assert dw == pytest.approx(fd_jacobian(scaled_border, args, 2), rel=1e-6)
    assert d2w == pytest.approx(fd_hessian(scaled_border, args, 2), rel=1e-4)


def test_an_infinite_array_entry_times_a_parameter():
    args = (X3, 0.8)
    _, g = adc.value_and_grad(scaled_infinities, wrt=("x", "w"))(*args)
    close(g[0], fd_jacobian(scaled_infinities, args, 0))
    assert g[1] == pytest.approx(fd_jacobian(scaled_infinities, args, 1), rel=1e-6)
    # a written-out number is never infinite: 2.0 * w * x[1] takes no guard
    assert "finite_or_zero(2.0)" not in adc.grad(scaled_infinities, wrt="w").source


def products(x, w):
    return np.sum(x * w) * x[0]


def test_code_that_mentions_no_infinity_has_no_guard():
    assert "finite_or_zero" not in adc.grad(products, wrt=("x", "w")).source
    assert "finite_or_zero" not in adc.jvp(products, wrt="w").source


# -- an array returned early ------------------------------------------------------------------
#
# ``if c: return a`` then ``return b`` was lowered to a flag and a first value ``result =
# 0.0``: a float in one place, an array in another, which Numba could not type (jvp, vjp,
# jacobian of any function returning an array from a branch).

def early_array(x, A):
    z = A @ x
    if np.sum(z) > 0.0:
        return z * z
    if z[0] < -2.0:
        w = z + 1.0
        return np.sin(w)
    return np.exp(z)


A3 = np.array([[2.0, 0.3, -0.4], [0.1, 1.5, 0.2], [-0.3, 0.4, 1.8]])


@pytest.mark.parametrize("x", [X3, -X3, np.array([-1.5, 0.2, 0.1])],
                         ids=["first", "last", "middle"])
def test_an_array_returned_from_a_branch(x):
    args = (x, A3)
    J = adc.jacobian(early_array, wrt="x")  # forward mode: one jvp per entry of x
    close(J(*args), fd_jacobian(early_array, args, 0))
    assert J.mode == "forward"
    c = np.array([0.5, 1.0, -0.7])
    value, g = adc.vjp(early_array, wrt="A")(*args, c)
    close(value, early_array(*args), 1e-12, 0.0)
    close(g, np.tensordot(c, fd_jacobian(early_array, args, 1), axes=1))


# -- a tuple result ---------------------------------------------------------------------------

def two_results(x):
    return np.sum(x ** 2), np.sin(x)


@pytest.mark.parametrize("what, one", [("jvp", "a number or an array"),
                                       ("jacobian", "a number or an array"),
                                       ("hessian", "a number")])
def test_a_tuple_result_is_refused_naming_the_entry_point(what, one):
    with pytest.raises(adc.AdcompileError) as e:
        getattr(adc, what)(two_results)
    text = str(e.value)
    assert "test_higher_contract2.py" in text and "return np.sum(x ** 2), np.sin(x)" in text
    assert f"{what}() takes a function of one result ({one}), not a tuple" in text
    assert "scalar (the loss)" not in text



def exit_with_array(x, n):
    y = x * 1.0
    for _ in range(n):
        y = y * 1.1 + 0.1 * np.sin(y)
        if np.sum(y) > 3.0:
            return y * 2.0  # from inside the loop: the result takes no first value
    return y


@pytest.mark.parametrize("x", [X3, 3 * X3], ids=["loop ends", "returns inside"])
def test_an_array_returned_from_inside_a_loop(x):
    args = (x, 6)
    close(adc.jacobian(exit_with_array, wrt="x")(*args), fd_jacobian(exit_with_array, args, 0))


# -- second derivatives a rule does not have ---------------------------------------------------
#
# Reverse mode over forward code meets the tangent kernel of a primitive that has a forward
# rule and no reverse rule for it (here a user's rule whose forward rule calls np.convolve):
# the refusal named a line of the generated module in the cache, not the user's.

def squared(x):
    return x * x


def _squared_forward(t, ans, x):
    return np.convolve(t * x, np.array([2.0]))


@adc.derivative(squared, elementwise=False, forward=_squared_forward)
def _squared_rule(g, ans, x):
    return 2.0 * g * x


def squared_sum(A):
    y = squared(A[0])
    return np.sum(y * y)


def squared_scaled(a, A):
    return np.sum(squared(A[0] * a) ** 2)


@pytest.mark.parametrize("what", ["hvp", "hessian"])
def test_a_second_derivative_without_a_rule_names_the_users_call(what):
    with pytest.raises(adc.AdcompileError) as e:
        getattr(adc, what)(squared_sum)(A3, A3) if what == "hvp" else \
            adc.hessian(squared_sum)(A3)
    text = str(e.value)
    assert "test_higher_contract2.py" in text and "y = squared(A[0])" in text
    assert f"{what}() needs second derivatives of squared" in text
    assert "calls convolve, which has no reverse rule" in text
    assert "Hint: grad, jvp, vjp and jacobian of the function work" in text
    assert e.value.filename == __file__


def test_a_second_derivative_without_a_rule_in_grad_of_grad():
    with pytest.raises(adc.AdcompileError) as e:
        adc.grad(adc.grad(squared_scaled))
    text = str(e.value)
    assert "in squared_scaled(): grad(grad)() needs second derivatives of squared" in text \
        and "return np.sum(squared(A[0] * a) ** 2)" in text
    assert e.value.filename == __file__  # not the generated module's


def cumulative_products(X):
    return np.sum(np.sin(np.cumprod(X, axis=1))) + np.sum(np.cumprod(X * X) ** 2)


def p_norms(a, x):
    return np.linalg.norm(x + a, 3) ** 2


def test_second_derivatives_of_a_p_norm():  # its weights' kernel is a composite now
    args = (0.5, X3)
    assert adc.grad(adc.grad(p_norms))(*args) == pytest.approx(fd_hessian(p_norms, args, 0),
                                                               rel=1e-4)


def test_second_derivatives_of_cumprod():
    X = np.array([[0.3, -0.5, 0.8], [1.1, 0.2, -0.4]]) + 0.3
    T = np.array([[0.2, -0.4, 0.3], [0.5, 0.1, -0.6]])
    want = np.tensordot(fd_hessian(cumulative_products, (X,), 0), T, axes=2)
    close(adc.hvp(cumulative_products)(X, T), want, 1e-4, 1e-5)


# -- a helper that writes into its argument, called as a statement -----------------------------

def _put_square(out, i, v):
    out[i] = v * v
    return out


def squares_in_place(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        _put_square(out, i, x[i])
    return out


def test_a_helper_called_as_a_statement_writes_into_the_callers_array():
    # (was refused: "leaves its result unused"; now inlined, adcompile/inplace.py)
    x = np.array([0.3, -1.2, 0.7])
    J = adc.jacobian(squares_in_place)(x)
    h = 1e-6
    want = np.array([(squares_in_place(x + h * e) - squares_in_place(x - h * e)) / (2 * h)
                     for e in np.eye(3)]).T
    np.testing.assert_allclose(J, want, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(J, np.diag(2 * x), rtol=1e-12)
