"""Array code that cannot be differentiated, or arguments a gradient cannot take.

Unsupported constructs raise an ``AdcompileError`` naming the user's file, the line, the
construct and what to do instead; the offending line of each function ends with a marker
comment (``# no-...``) that the tests look up.  Arguments of the wrong shape or dtype raise an
``AdcompileError`` or a plain Python error whose message is readable (no terminal colour codes)
and says what is wrong: never a crash, a raw Numba typing traceback, or a silent result.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numba.core.errors import NumbaError

import adcompile as adc

SOURCE_LINES = Path(__file__).read_text().splitlines()


def marked_line(marker: str) -> int:
    """The 1-based line of this file that ends with ``# <marker>``; exactly one must."""
    found = [n for n, text in enumerate(SOURCE_LINES, 1) if text.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, (marker, found)
    return found[0]


def assert_located(err: adc.AdcompileError, markers: list[str], construct: str) -> None:
    """``err`` points at one of the marked lines, names ``construct`` and ends with a hint."""
    message = str(err)
    lines = [marked_line(m) for m in markers]
    assert err.filename == __file__, message
    assert err.lineno in lines, message
    assert f"{__file__}:{err.lineno}:" in message
    assert construct.lower() in message.splitlines()[0].lower(), message
    assert err.hint and message.splitlines()[-1] == f"Hint: {err.hint}", message
    assert SOURCE_LINES[err.lineno - 1].strip() in message


def compile_error(f, args, wrt=0) -> adc.AdcompileError:
    """The error ``grad(f, wrt)`` raises when it is built or, at the latest, first called."""
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f, wrt=wrt)(*args)
    return info.value


def call_error(f, args, wrt=0) -> Exception:
    """The error calling ``grad(f, wrt)`` on ``args`` raises: an ``AdcompileError`` or a plain
    Python error, never one of Numba's own."""
    df = adc.grad(f, wrt=wrt)
    with pytest.raises(Exception) as info:
        df(*args)
    err = info.value
    assert not isinstance(err, NumbaError), f"a raw Numba error: {type(err).__name__}: {err}"
    assert isinstance(err, (adc.AdcompileError, ValueError, TypeError, IndexError)), repr(err)
    message = str(err)
    assert "\x1b[" not in message, f"terminal colour codes in the message: {message!r}"
    return err


def mentions(message: str, *words: str) -> bool:
    """Whether ``message``, file paths left out, contains one of ``words``."""
    message = re.sub(r'File "[^"]*"', "", message)
    return any(w.lower() in message.lower() for w in words)


# -- unsupported constructs -------------------------------------------------------------------

def write_into_parameter(x):
    x[0] = 1.0  # no-write-param
    return np.sum(x * x)


def add_into_parameter(x, y):
    y[1] += x[0]  # no-add-param
    return np.sum(y)


def slice_into_parameter(x):
    x[1:] = 0.0  # no-slice-param
    return np.sum(x)


def nested_loop_write(x):
    y = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            y[i, j] = x[i] * x[j]
    return np.sum(y)


def cumulative_sum(x):
    return np.sum(x.nonzero()[0] * x)  # no-cumsum-method


def cumulative_sum_function(x):
    return np.sum(np.nancumsum(x) * x)  # no-cumsum-function


def change_dtype(x):
    return np.sum(x.astype(np.float32))  # no-astype


def flags(x):
    layout = x.flags  # no-flags
    return np.sum(x) * layout.c_contiguous


def flag_value(x):
    return np.sum(x) * x.flags.c_contiguous  # no-flag-value


def test_write_into_a_parameter_array():
    err = compile_error(write_into_parameter, (np.ones(3),))
    assert_located(err, ["no-write-param"], "writing into the argument 'x'")
    assert "copy" in err.hint


def test_add_into_an_element_of_a_parameter_array():
    err = compile_error(add_into_parameter, (np.ones(2), np.ones(2)))
    assert_located(err, ["no-add-param"], "writing into the argument 'y'")


def test_slice_write_into_a_parameter_array():
    err = compile_error(slice_into_parameter, (np.ones(3),))
    assert_located(err, ["no-slice-param"], "writing into the argument 'x'")


def copy_then_write(x):
    x = x.copy()
    x[0] = 1.0
    return np.sum(x * x)


def test_the_hint_for_parameter_writes_works():
    x = np.array([0.5, -2.0, 3.0])
    got = adc.grad(copy_then_write)(x)
    np.testing.assert_allclose(got, [0.0, -4.0, 6.0], rtol=1e-12)
    assert np.array_equal(x, [0.5, -2.0, 3.0])


def test_write_inside_nested_loops_is_differentiated():
    # once refused; d/dx_k sum_ij x_i x_j = 2 sum_j x_j
    x = np.array([0.5, -1.25])
    np.testing.assert_allclose(adc.grad(nested_loop_write)(x), 2 * np.sum(x) * np.ones(2))


@pytest.mark.parametrize(("f", "marker", "construct"), [
    (cumulative_sum, "no-cumsum-method", ".nonzero()"),
    (change_dtype, "no-astype", "astype(np.float32)"),
    (flags, "no-flags", ".flags"),
    (flag_value, "no-flag-value", ".flags"),
    (cumulative_sum_function, "no-cumsum-function", "np.nancumsum"),
], ids=["cumsum method", "astype", "flags", "flags attribute", "np.cumsum"])
def test_unsupported_attributes_and_methods(f, marker, construct):
    err = compile_error(f, (np.ones(3),))
    assert_located(err, [marker], construct)


# -- arguments of mismatched shapes ---------------------------------------------------------

def linear_scores(w, X):
    return np.sum(np.tanh(X @ w))


def elementwise_product(x, y):
    return np.sum(x * y)


def matrix_product(A, B):
    return np.sum(np.sin(A @ B))


def test_weight_of_the_wrong_length_for_a_matrix():
    err = call_error(linear_scores, (np.ones(3), np.ones((4, 2))))
    message = str(err)
    assert mentions(message, "shape", "size", "dimension", "align"), message
    assert mentions(message, "linear_scores", "(4, 2)", "(3,)"), message


def test_elementwise_operands_that_do_not_broadcast():
    err = call_error(elementwise_product, (np.ones(3), np.ones(4)), wrt=(0, 1))
    message = str(err)
    assert mentions(message, "broadcast", "shape"), message
    assert mentions(message, "elementwise_product", "(3,)", "(4,)"), message


def test_matrices_that_do_not_multiply():
    err = call_error(matrix_product, (np.ones((2, 3)), np.ones((2, 3))), wrt=(0, 1))
    message = str(err)
    assert mentions(message, "shape", "size", "dimension", "align"), message
    assert mentions(message, "matrix_product", "(2, 3)"), message


def index_loop(w, X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            s += X[i, j] * w[j]
    return s * s


def test_index_loop_past_the_end_of_a_short_weight():
    """The loop reads w[j] for j up to 3 with len(w) == 1: Python raises IndexError.  Like
    ``@numba.njit``, generated code checks indices when ``NUMBA_BOUNDSCHECK=1`` (the switch the
    README gives for this; a checked build gets its own cache entry), and then the gradient
    raises IndexError too.  Run in a child process so that a crash fails this test only."""
    script = textwrap.dedent(f"""
        import sys
        import numpy as np
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import adcompile as adc
        from test_errors_arrays import index_loop
        try:
            got = adc.grad(index_loop)(np.ones(1), np.ones((4, 3)))
        except Exception as err:
            print("raised", type(err).__name__, str(err).replace("\\n", " "))
        else:
            print("returned", got)
    """)
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1")
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=120, env=env)
    assert child.returncode == 0, f"the gradient crashed the process: {child.stderr[-2000:]}"
    outcome = child.stdout.strip()
    assert outcome.startswith(("raised IndexError", "raised AdcompileError")), outcome
    assert mentions(outcome, "index", "bound", "shape"), outcome


# -- arguments of unsupported types -----------------------------------------------------------

def weighted_loss(x):
    return np.sum(np.sin(x) * x)


def data_loss(w, X):
    return np.sum((X @ w) ** 2)


def test_complex_array():
    err = call_error(weighted_loss, (np.array([1.0 + 2.0j, 0.5 - 1.0j]),))
    message = str(err)
    assert mentions(message, "complex"), message
    assert mentions(message, "weighted_loss"), message


def test_object_array():
    err = call_error(weighted_loss, (np.array([1.0, 2.0], dtype=object),))
    message = str(err)
    assert mentions(message, "object", "pyobject"), message
    assert mentions(message, "weighted_loss"), message


def test_list_instead_of_array():
    err = call_error(weighted_loss, ([1.0, 2.0, 3.0],))
    message = str(err)
    assert mentions(message, "list"), message
    assert mentions(message, "weighted_loss"), message


def test_list_of_lists_as_data():
    err = call_error(data_loss, (np.ones(2), [[1.0, 2.0], [3.0, 4.0]]))
    message = str(err)
    assert mentions(message, "list"), message
    assert mentions(message, "data_loss"), message


def square_of(x):
    return x * x


def test_zero_dimensional_array_argument():
    with pytest.raises(adc.AdcompileError, match="0-d array") as info:
        adc.grad(square_of)(np.array(1.5))
    assert "float(x)" in str(info.value)
