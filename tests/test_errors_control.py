"""Control flow and calls that are still unsupported: each an ``AdcompileError`` naming the
user's file, the line, the construct, and what to write instead.

The offending line of each function ends with a marker comment (``# no-...``); the tests look
the line up by its marker, so the expected line numbers follow this file as it is edited.
"""

import math
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc

SOURCE_LINES = Path(__file__).read_text().splitlines()
WEIGHTS = (0.5, 1.5)


def marked_line(marker: str) -> int:
    """The 1-based line of this file that ends with ``# <marker>``; exactly one must."""
    found = [n for n, text in enumerate(SOURCE_LINES, 1) if text.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, (marker, found)
    return found[0]


def compile_error(f, args, wrt=0) -> adc.AdcompileError:
    """The error ``grad(f, wrt)`` raises when it is built or, at the latest, first called."""
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f, wrt=wrt)(*args)
    return info.value


def assert_located(err: adc.AdcompileError, marker: str, construct: str,
                   function_name: str = "") -> None:
    """``err`` points at the marked line, names ``construct`` in its first line (not merely
    through the function's name) and ends with a hint."""
    line = marked_line(marker)
    message = str(err)
    assert err.filename == __file__, message
    assert err.lineno == line, message
    assert f"{__file__}:{line}:" in message
    headline = message.splitlines()[0].replace(function_name, "") if function_name else \
        message.splitlines()[0]
    assert construct.lower() in headline.lower(), message
    assert err.hint, message
    assert message.splitlines()[-1] == f"Hint: {err.hint}"
    # the offending source line is echoed under the headline
    assert SOURCE_LINES[line - 1].strip() in message


ARRAY = np.array([0.5, -1.0, 2.0])


# -- loops over things other than range ---------------------------------------------------------

def loop_over_array(x):
    s = 0.0
    for v in x:  # no-loop-array
        s = s + v * v
    return s


def loop_over_zip(x, y, strict=True):
    s = 0.0
    for a, b in zip(x, y, strict=strict):  # no-loop-zip
        s = s + a * b
    return s


def loop_over_tuple(x):
    s = x
    for w in WEIGHTS:  # no-loop-tuple
        s = s * w
    return s


def loop_over_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):  # no-loop-enumerate
        s = s + i * v
    return s


def loop_over_reversed_range(x, n):
    s = x
    for i in reversed(range(n)):  # no-loop-reversed
        s = s * math.cos(s + i)
    return s


def loop_over_keyword_range(x, n):
    s = x
    for _ in range(n, stop=2 * n):  # no-loop-range-keyword
        s = s * x
    return s


def for_else(x, n):
    s = x
    for _ in range(n):
        s = s * 0.5
        if s < 0.1:
            break
    else:
        s = s + 1.0
    return s


def while_else(x):
    s = x
    while s > 0.1:
        s = s * 0.5
    else:
        s = s + 1.0
    return s


# -- scopes and generators -----------------------------------------------------------------------

def make_counter():
    total = 0.0

    def accumulate(x):
        nonlocal total  # no-nonlocal
        for _ in range(3):
            total = total + x
        return total
    return accumulate


def generator(x):
    for i in range(3):
        yield x * i  # no-generator


def generator_expression(x, n):
    s = tuple(x * i for i in range(n))[-1]  # no-generator-expression
    return s


def squares(x):
    yield x * x  # no-generator-callee


def calls_a_generator(x):
    y = squares(x)
    return y


# -- recursion ------------------------------------------------------------------------------------

def factorial_like(x, n):
    if n <= 1:
        return x
    return x * factorial_like(x, n - 1)  # no-recursion


def ping(x, n):
    if n <= 0:
        return x
    return pong(x * 0.5, n - 1)  # no-mutual-ping


def pong(x, n):
    return ping(math.sin(x), n) + x  # no-mutual-pong


def outer_of_a_cycle(x):
    return ping(x, 3) * 2.0


# -- stores into argument arrays; slices (differentiated, checked by hand) ----------------------

def stores_into_parameter(x, n):
    for i in range(n):
        x[i] = x[i] * 2.0  # no-store
    return x[0]


def stores_with_augmented_assignment(x):
    x[1] += 1.0  # no-augmented-store
    return x[1]


def stores_into_matrix(a):
    a[0, 1] = 3.0  # no-matrix-store
    return a[0, 0]


def slices(x):
    head = x[1:3]
    return head[0]


def slices_a_matrix(a):
    column = a[:, 0]
    return column[1]


def slices_with_a_step(x):
    return x[::2][0]


MATRIX = np.arange(6.0).reshape(2, 3)

LOCATED = [
    (loop_over_zip, (ARRAY, ARRAY), "no-loop-zip", "zip"),
    (loop_over_keyword_range, (1.5, 3), "no-loop-range-keyword", "range(n, stop"),
    (make_counter(), (1.5,), "no-nonlocal", "nonlocal"),
    (generator, (1.5,), "no-generator", "yield"),
    (generator_expression, (1.5, 3), "no-generator-expression", "generator expression"),
    (stores_into_parameter, (ARRAY, 3), "no-store", "writing into the argument"),
    (stores_with_augmented_assignment, (ARRAY,), "no-augmented-store", "writing into the argument"),
    (stores_into_matrix, (MATRIX,), "no-matrix-store", "writing into the argument"),
]


@pytest.mark.parametrize("f, args, marker, construct", LOCATED,
                         ids=[marker for _, _, marker, _ in LOCATED])
def test_unsupported_construct_is_located_named_and_has_a_hint(f, args, marker, construct):
    assert_located(compile_error(f, args), marker, construct, f.__name__)


def test_loops_over_an_array_enumerate_and_reversed_are_differentiated():
    # once refused: each is lowered to a loop over range (checked against differences)
    adc.check_grad(loop_over_array, 0, ARRAY)
    adc.check_grad(loop_over_enumerate, 0, ARRAY)
    adc.check_grad(loop_over_reversed_range, 0, 1.5, 3)
    assert adc.grad(loop_over_tuple)(1.5) == pytest.approx(0.75)  # a module-level tuple


def test_loop_else_runs_when_the_loop_ends_without_break():
    # once refused ("'else' on a loop"): the else block is guarded by a flag set at break
    assert adc.grad(for_else)(1.5, 3) == pytest.approx(0.125)  # no break: s = x / 8 + 1
    assert adc.grad(for_else)(0.5, 3) == pytest.approx(0.125)  # break at 0.0625: x / 8
    assert adc.grad(while_else)(0.15) == pytest.approx(0.5)  # one halving, then + 1


@pytest.mark.parametrize("f, args, name", [
    (stores_into_parameter, (ARRAY, 3), "x"),
    (stores_with_augmented_assignment, (ARRAY,), "x"),
    (stores_into_matrix, (MATRIX,), "a"),
])
def test_store_into_an_argument_names_it_and_suggests_a_copy(f, args, name):
    before = args[0].copy()
    err = compile_error(f, args)
    assert f"argument '{name}'" in str(err).splitlines()[0]
    assert f"{name}.copy()" in err.hint
    np.testing.assert_array_equal(args[0], before)  # the caller's array is untouched


def one_hot(shape, index):
    out = np.zeros(shape)
    out[index] = 1.0
    return out


def test_slices_are_differentiated_not_rejected():
    # each function reads one element through a slice: its gradient is that element's one-hot
    np.testing.assert_array_equal(adc.grad(slices)(ARRAY), one_hot(ARRAY.shape, 1))
    np.testing.assert_array_equal(adc.grad(slices_a_matrix)(MATRIX), one_hot(MATRIX.shape,
                                                                             (1, 0)))
    np.testing.assert_array_equal(adc.grad(slices_with_a_step)(ARRAY), one_hot(ARRAY.shape, 0))


def test_generator_called_from_the_differentiated_function_is_located_in_the_callee():
    err = compile_error(calls_a_generator, (1.5,))
    assert_located(err, "no-generator-callee", "yield")


def test_direct_recursion_is_rejected_at_the_recursive_call():
    err = compile_error(factorial_like, (1.5, 3))
    assert_located(err, "no-recursion", "recursi")
    assert "factorial_like -> factorial_like" in str(err)
    assert "loop" in err.hint


def test_mutual_recursion_names_the_cycle():
    err = compile_error(ping, (1.5, 3))
    assert_located(err, "no-mutual-pong", "recursi")
    assert "ping -> pong -> ping" in str(err)


def test_recursion_reached_through_a_caller_is_rejected():
    err = compile_error(outer_of_a_cycle, (1.5,))
    assert "recursi" in str(err).splitlines()[0].lower()
    assert "ping -> pong -> ping" in str(err)
    assert err.filename == __file__
    # somewhere in the cycle: from the line of 'def ping' to the call that closes the cycle
    assert marked_line("no-mutual-ping") - 3 <= err.lineno <= marked_line("no-mutual-pong")
    assert err.hint


def test_recursion_is_rejected_when_the_gradient_is_built():
    with pytest.raises(adc.AdcompileError):
        adc.grad(factorial_like)


def test_loop_errors_are_raised_when_the_gradient_is_built():
    for f in (loop_over_keyword_range, stores_into_parameter):
        with pytest.raises(adc.AdcompileError):
            adc.grad(f)
