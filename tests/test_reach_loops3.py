"""Loop programs as scientists and JAX users write them, a second sweep (simulations,
dynamic programming, convolutions written as loops, tuple parameters, arrays of rank 3 and
4): one test per class of failure found by running such programs, each checked against
float64 central differences of the plain Python function (``numeric_gradient``), or, for a
refusal, against the text of the error.
"""

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    """value_and_grad of ``f`` matches f's value and its central differences, and leaves
    the caller's arrays as they were."""
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    before = [np.copy(a) for a in args]
    value, got = adc.value_and_grad(f, wrt=wrts)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    for w, g in zip(wrts, got, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), w), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {w}")


rng = np.random.default_rng(2025)


def gauss_seidel(A, b):
    # the taped value named 'new' got the tape 'new_tape', the name of the kernel that
    # makes tapes: the generated function hid the kernel (Numba: NotDefinedError)
    n = len(b)
    x = np.zeros(n)
    for _ in range(30):
        delta = 0.0
        for i in range(n):
            s = 0.0
            for j in range(n):
                if j != i:
                    s = s + A[i, j] * x[j]
            new = (b[i] - s) / A[i, i]
            delta = max(delta, abs(new - x[i]))
            x[i] = new
        if delta < 1e-11:
            break
    return x @ x + x[0]


def test_a_variable_named_like_a_kernel_keeps_its_tape_apart():
    A = rng.normal(size=(3, 3)) * 0.3
    A = A + A.T + 3.0 * np.eye(3)
    agrees(gauss_seidel, (A, rng.normal(size=3)), (0, 1), rtol=1e-5)


def force(q, lam):
    return q + lam * q ** 3  # nothing here says q is an array: the caller's q is


def leapfrog(q0, p0, lam):
    q, p = q0, p0
    for _ in range(4):
        p = p - 0.1 * force(q, lam)
        q = q + 0.1 * p
    return np.sum(q ** 2) + 0.5 * np.sum(p ** 2)


def test_a_helper_returning_an_array_sums_its_scalar_parameters_adjoint():
    # force's gradient returned d_lam as an array (Numba: iadd(float64, array)): the helper
    # is now made knowing that its result is an array at this call
    agrees(leapfrog, (rng.normal(size=3), rng.normal(size=3), 0.3), (0, 1, 2))


def conv_padded(img, K):
    # np.pad was refused ("no derivative rule for 'np.pad'"): zeros around, as convolutions
    # with padding write it; an int width, and a pair per axis
    padded = np.pad(img, 1)
    H, W = img.shape
    out = np.zeros((H, W))
    for i in range(H):
        for j in range(W):
            out[i, j] = np.sum(padded[i:i + 3, j:j + 3] * K)
    wide = np.pad(out, ((0, 0), (2, 1)))
    return np.sum(out ** 2) + np.sum(wide[:, 1:] * wide[:, :-1])


def test_np_pad_with_zeros():
    agrees(conv_padded, (rng.normal(size=(3, 3)), rng.normal(size=(3, 3))), (0, 1))


def bubble_sorted(x):
    n = len(x)
    y = np.zeros(n)
    y[:] = x
    for i in range(n):
        for j in range(n - 1 - i):
            if y[j] > y[j + 1]:
                y[j], y[j + 1] = y[j + 1], y[j]  # both read before either is stored
    return np.sum(y * np.arange(1, n + 1))


def bubble_of_a_copy(x):
    y = x.copy()  # y[j] is compared in a test: a number, so y is a vector
    for j in range(len(y) - 1):
        if y[j] > y[j + 1]:
            y[j], y[j + 1] = y[j + 1], y[j]
    return np.sum(y * np.arange(len(y)))


def rotation_of_a_copy(x):
    y = x.copy()  # its rank is not known: y[j] may be a row, a view
    for j in range(len(y) - 1):
        y[j], y[j + 1] = y[j + 1], y[j]
    return np.sum(y * np.arange(len(y)))


def test_a_tuple_assigned_to_elements():
    # y[j], y[j + 1] = y[j + 1], y[j] was refused: "assignment to this target is not
    # supported. Hint: assign to a plain name"
    agrees(bubble_sorted, (np.array([0.3, -1.2, 0.8, 0.1, -0.4]),), 0)
    agrees(bubble_of_a_copy, (np.array([0.3, -1.2, 0.8]),), 0)
    with pytest.raises(adc.AdcompileError, match=r"a value read from 'y' \(a view, if it is "
                       r"a row\) is used after 'y' was written") as info:
        adc.grad(rotation_of_a_copy)(np.array([0.3, -1.2, 0.8]))
    assert "make its rank known, as in y = np.zeros(n); y[:] = ..." in str(info.value)


def channel_mix(x, w):
    # h[f] += w[f, c] * x[c, 1:]: x[c, 1:] is a view of an argument nothing writes into
    C, L = x.shape
    h = np.zeros((w.shape[0], L - 1))
    for f in range(w.shape[0]):
        for c in range(C):
            h[f] += w[f, c] * x[c, 1:]
    return np.sum(np.tanh(h))


def test_views_of_unwritten_arrays_are_read_again_not_taped():
    # x[c, 1:] was copied onto a tape in every iteration, and the outer loop taped whole
    # the values the inner reversal reads only for their shapes (rank-4 convolutions of
    # this form, x[:, c] or x[:, :, i:i + k], compiled for minutes)
    agrees(channel_mix, (rng.normal(size=(3, 4)), rng.normal(size=(2, 3))), (0, 1))
    source = adc.grad(channel_mix, wrt=(0, 1)).source
    assert "push(" not in source  # only shapes (push_shape) are taped
    assert "= x[c, 1:]" in source.split("backward sweep")[1]
