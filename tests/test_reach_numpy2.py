"""NumPy forms from other autodiff projects' test suites, a second sweep: mixed indexes with
one index array on arrays of rank 3 and 4, ``np.dot`` with a number, and the rules added for
them.  Each gradient is checked against float64 central differences of the plain Python
function (``numeric_gradient``), each tangent against a central difference along it.
"""

import numpy as np
from conftest import numeric_gradient

import adcompile as adc

rng = np.random.default_rng(4242)


def agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    """value_and_grad of ``f`` matches f's value and its central differences."""
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    value, got = adc.value_and_grad(f, wrt=wrts)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    for w, g in zip(wrts, got, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), w), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {w}")


def tangent_agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    """jvp of ``f`` along random tangents matches the central difference along them."""
    tangents = [rng.normal(size=np.shape(args[w])) if np.ndim(args[w]) else 0.7 for w in wrt]
    value, got = adc.jvp(f, wrt=wrt)(*args, *tangents)

    def along(h):
        moved = list(args)
        for w, t in zip(wrt, tangents, strict=True):
            moved[w] = args[w] + h * t
        return f(*moved)

    h = 1e-6
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, (along(h) - along(-h)) / (2 * h), rtol=rtol, atol=atol)


def hessian_agrees(f, args, w, rtol=1e-4, atol=1e-6):
    """hessian of ``f`` matches central differences of f's central-difference gradient."""
    got = adc.hessian(f, wrt=w)(*args)
    x = np.asarray(args[w], dtype=float)
    want = np.empty(x.shape + x.shape)
    h = 1e-4
    for i in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[i] += h
        lo[i] -= h
        up = numeric_gradient(f, [*args[:w], hi, *args[w + 1:]], w, h=1e-5)
        down = numeric_gradient(f, [*args[:w], lo, *args[w + 1:]], w, h=1e-5)
        want[i] = (up - down) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


# -- an index of integers, slices and one index array (a repeated entry counts twice) -------

IDX = np.array([1, 3, 1])


def mixed_reads3(x):
    # NumPy puts the entries' axis first when the integers and the array are not side by
    # side (x[3, 2:, IDX] is (3, 4)), in place otherwise (x[:, 3, IDX] is (5, 3))
    return (np.sum(x[3, 2:, IDX] ** 2) + np.sum(x[:, 3, IDX] ** 3) + np.sum(x[1, IDX, 2:] ** 2)
            + np.sum(np.sin(x[1:, IDX, 2])) + np.sum(x[1:, IDX] ** 2) + np.sum(x[1, IDX] ** 3))


def mixed_reads4(x):
    return (np.sum(x[2, :, IDX, 1:] ** 3) + np.sum(np.sin(x[:, IDX, :, 2]))
            + np.sum(x[1, IDX] ** 2))


def test_mixed_index_reads_of_rank_3_and_4():
    # the adjoint of d[3, 2:, idx] had no kernel (a Numba typing error), and that of
    # d[a:b, idx] and d[i, idx] on rank 3 took the last axis of the adjoint for the entries
    agrees(mixed_reads3, (rng.normal(size=(5, 6, 4)),), 0, atol=1e-6)
    agrees(mixed_reads4, (rng.normal(size=(5, 6, 4, 3)),), 0, atol=1e-6)


def mixed_stores(x):
    y = x * 1.0
    y[:, 3, IDX[:2]] += 2.0 * x[:, 0, :2]
    y[1:, IDX[1:], 2] += x[:4, :2, 0] ** 2
    y[1, IDX[:2]] += x[1, :2] * 2.0
    y[3, 2:, IDX[:2]] += np.sin(x[0, :2, :4])
    return np.sum(y ** 3)


def test_mixed_index_stores():
    agrees(mixed_stores, (rng.normal(size=(5, 6, 4)),), 0, atol=1e-6)


# -- np.dot of numbers and arrays -------------------------------------------------------------

def dot_squares(a, b):
    return np.sum(np.dot(a, b) ** 2) + np.sum(np.dot(b, a) * 0.5)


def test_dot_with_a_number_every_rank():
    # np.dot(matrix, float) is a product in NumPy; Numba's np.dot takes arrays only
    operands = (1.3, rng.normal(size=3), rng.normal(size=(3, 3)))
    for a in operands:
        for b in operands:
            if np.ndim(a) and np.ndim(b):
                continue
            agrees(dot_squares, (a, b), (0, 1))
    tangent_agrees(dot_squares, (operands[2], operands[0]), (0, 1))
    hessian_agrees(dot_squares, (operands[1], operands[0]), 1)


# -- broadcasting, stacking, splitting --------------------------------------------------------

def shaped(x, y):
    spread = np.broadcast_to(x[:, :1], (3, 2, 3))            # rank 3 from (2, 1)
    deep = np.dstack((x, x * 2.0))                           # (2, 3, 2)
    blocks = np.block([[x, x ** 2], [np.sin(x), x]])         # (4, 6)
    row = np.block([x[0], y[0, 0]])                          # (7,)
    top, bottom = np.array_split(y, 2, axis=1)               # (2, 2, 4) and (2, 1, 4)
    halves = np.split(x, (1,), axis=1)                       # (2, 1) and (2, 2)
    return (np.sum(np.sin(spread) * np.arange(18.0).reshape(3, 2, 3))
            + np.sum(deep[:, :, 1] * deep[:, :, 0] ** 2) + np.sum(np.cos(blocks) * blocks[0])
            + np.sum(row ** 3) + np.sum(top ** 2) - np.sum(bottom) + np.sum(halves[1] ** 3))


def spread(x):
    return np.sum(np.sin(np.broadcast_to(x, (3, 2, 3))) * np.arange(18.0).reshape(3, 2, 3))


def test_broadcast_to_dstack_block_and_splits():
    args = (rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 4)))
    agrees(shaped, args, (0, 1), atol=1e-6)
    tangent_agrees(spread, (rng.normal(size=(2, 1)),), (0,))


def test_splits_need_literal_parts():
    def uneven(x, n):
        a, b = np.array_split(x, n)
        return np.sum(a) + np.sum(b)

    try:
        adc.grad(uneven)(np.arange(4.0), 2)
    except adc.AdcompileError as err:
        assert "np.array_split needs a literal number of parts" in str(err)
        assert "np.array_split(x, 2, axis=0)" in str(err)
    else:
        raise AssertionError("a count known only at run time was accepted")


# -- np.linalg: pinv, singular values, eigvalsh, matrix_power, multi_dot --------------------

def spectral(a, s):
    return (np.sum(np.linalg.pinv(a) ** 2) + np.sum(np.linalg.svd(a, compute_uv=False) ** 3)
            + np.sum(np.log(np.linalg.eigvalsh(s))))


def pinv_squares(a):
    return np.sum(np.linalg.pinv(a) ** 2)


def factors(a, s):
    q, r = np.linalg.qr(a)
    q2, r2 = np.linalg.qr(s)
    return np.sum(np.sin(q) * a) + np.sum(np.abs(np.diag(r))) + np.sum(q2 * s) + np.sum(r2 ** 2)


def test_qr_factors_of_tall_and_square_matrices():
    args = (rng.normal(size=(4, 2)), well_apart())
    agrees(factors, args, (0, 1), rtol=1e-5, atol=1e-6)
    tangent_agrees(factors, args, (0, 1), rtol=1e-5, atol=1e-6)


def powers(a, s):
    return (pinv_squares(a) + np.sum(np.sin(np.linalg.matrix_power(s, 3)))
            + np.sum(np.linalg.matrix_power(s, -2)) + np.sum(np.linalg.matrix_power(s, 0) * s)
            + np.sum(np.linalg.matrix_power(s, 1) ** 2)
            + np.sum(np.tanh(np.linalg.multi_dot([a.T, s, a, a[0]]))))


def well_apart():
    m = rng.normal(size=(3, 3)) * 0.3
    return m @ m.T + np.diag([1.0, 3.0, 6.0])  # eigenvalues apart, all positive


def test_pinv_singular_values_eigvalsh_first_order():
    # eigvalsh reads the lower triangle, as LAPACK does: the entries above it have no
    # derivative, those below it count for their mirror too (central differences see that)
    a, s = rng.normal(size=(3, 2)), well_apart() + np.triu(rng.normal(size=(3, 3)), 1)
    agrees(spectral, (a, s), (0, 1), atol=1e-6)
    tangent_agrees(spectral, (a, s), (0, 1), atol=1e-6)


def test_matrix_power_multi_dot_and_pinv_to_second_order():
    a, s = rng.normal(size=(3, 2)), well_apart() * 0.5
    agrees(powers, (a, s), (0, 1), rtol=1e-5, atol=1e-6)
    hessian_agrees(pinv_squares, (a,), 0)  # pinv's rules are written with pinv: order two


def test_svd_factors_are_refused_with_the_form_to_write():
    def factors(a):
        return np.sum(np.linalg.svd(a)[0])

    try:
        adc.grad(factors)(rng.normal(size=(3, 2)))
    except adc.AdcompileError as err:
        assert "compute_uv=False" in str(err)
    else:
        raise AssertionError("the factors of an svd were accepted")


# -- Python's sum, max and min of an array; conversions to float64 ----------------------------

def builtins_of_arrays(x, y, v):
    # sum of a matrix adds its rows (Python iterates the first axis); sum of a display of
    # arrays adds them; max and min of a vector are its extrema
    return (sum(x[0] * x[1]) + sum(np.exp(x[1])) + np.sum(sum(x) ** 2)
            + np.sum(sum([x, y]) ** 2) + sum((x[0, 0], y[1, 1])) + np.sum(sum(v) * y[0])
            + max(v[0, 0]) + min(v[1, 1]) * 2.0 + max(v[0, 0, 0], v[1, 0, 0]))


def conversions(v, a):
    return (np.sum(np.asarray(v, dtype=np.float64) ** 2) + np.float64(a) ** 3
            + np.sum(np.float64(v) * np.array(v, dtype=float)) + np.sum(v.astype(np.float64))
            + np.sum(np.array((a, a * 2.0), dtype=np.float64) * v[:2]))


def test_builtin_sum_max_min_of_arrays_and_float64_conversions():
    args = (rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 2, 3)))
    agrees(builtins_of_arrays, args, (0, 1, 2), atol=1e-6)
    agrees(conversions, (rng.normal(size=4), 0.7), (0, 1))


# -- np.gradient -------------------------------------------------------------------------------

def differences(v, x, h):
    return (np.sum(np.gradient(v) ** 2) + np.sum(np.gradient(v, h) * v)
            + np.sum(np.sin(np.gradient(x, h, axis=-2)) * x))


def test_gradient_along_an_axis_and_its_spacing():
    args = (rng.normal(size=6), rng.normal(size=(2, 4, 3)), 0.7)
    agrees(differences, args, (0, 1, 2), atol=1e-6)
    tangent_agrees(differences, args, (0, 1, 2), atol=1e-6)
    hessian_agrees(spaced_squares, (args[0], 0.7), 1)  # gradient_adjoint's rules: order two


def spaced_squares(v, h):
    return np.sum(np.gradient(v, h) ** 2)


def test_gradient_of_a_matrix_needs_an_axis():
    def every_axis(x):
        return np.sum(np.gradient(x) ** 2)

    try:
        adc.grad(every_axis)(rng.normal(size=(3, 3)))
    except adc.AdcompileError as err:
        assert "name the axis" in str(err) and "np.gradient(x, h, axis=k)" in str(err)
    else:
        raise AssertionError("np.gradient of a matrix without axis= was accepted")


# -- einsum with '...' ---------------------------------------------------------------------------

def batched(x, y, z):
    return (np.sum(np.einsum("...jk,...lj->...lk", x, y) ** 2)
            + np.sum(np.sin(np.einsum("...ij,jk->...ik", z, x[0]))))  # '...' of ranks 1 and 0


def test_einsum_with_broadcast_axes():
    args = (rng.normal(size=(3, 2, 2)), rng.normal(size=(3, 2, 2)), rng.normal(size=(4, 3, 2)))
    agrees(batched, args, (0, 1, 2), atol=1e-6)


def test_einsum_with_broadcast_axes_elsewhere_is_refused():
    def middle(x):
        return np.sum(np.einsum("i...j->j...i", x))

    try:
        adc.grad(middle)(rng.normal(size=(2, 3, 4)))
    except adc.AdcompileError as err:
        assert "'...ij,...jk->...ik'" in str(err)
    else:
        raise AssertionError("'...' in the middle of the subscripts was accepted")


# -- tuples made by library calls: np.meshgrid, np.linalg.eigh ---------------------------------

def surface(a, b, x, y):
    xs, ys = np.meshgrid(x, y)
    xi, yi = np.meshgrid(x * a, y, indexing="ij")
    w, v = np.linalg.eigh(np.outer(x, x) + np.diag(np.array([1.0, 3.0, 6.0])) * b)
    return np.sum((a * xs + b * ys) ** 2) + np.sum(xi * np.sin(yi)) + np.sum(w ** 2)


def test_meshgrid_and_the_eigenvalues_of_eigh():
    args = (0.5, 1.5, rng.normal(size=3), rng.normal(size=2))
    agrees(surface, args, (0, 1, 2, 3), atol=1e-6)


def eigenvectors_weighted(s):
    w, v = np.linalg.eigh(s)
    return np.sum(v[:, 0] ** 3 * w)


def test_the_eigenvectors_of_eigh():
    # eigh reads the lower triangle: the entries above it have no derivative
    agrees(eigenvectors_weighted, (well_apart() + np.triu(rng.normal(size=(3, 3)), 1),), 0)


# -- Python forms that change no value: an f-string printed, with np.errstate --------------

def reported(x):
    s = np.sum(np.sin(x))
    print(f"value: {s:.3f} of {x.shape[0]}")
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(np.exp(x)) * s
    return np.sum(y ** 2)


def test_printed_f_string_and_errstate_block():
    agrees(reported, (rng.normal(size=3),), 0)


def test_another_with_statement_is_refused_with_the_form_to_write():
    def suppressed(x):
        with np.printoptions(precision=3):
            y = x * 2.0
        return np.sum(y)

    try:
        adc.grad(suppressed)(rng.normal(size=3))
    except adc.AdcompileError as err:
        assert "'with' statement" in str(err) and "np.errstate" in err.hint
    else:
        raise AssertionError("a with statement other than np.errstate was accepted")


def joined(x, c, a):
    return (np.sum(np.r_[x, x * 2.0] ** 2) + np.sum(np.r_[c, np.sin(c)][1:] * c[0])
            + np.sum(np.r_[a, x[0, 0], 1.5] ** 3) + np.sum(np.r_[a, a * 3.0] * x[0, :2]))


def test_r_joins_arrays_along_the_first_axis_and_numbers_as_elements():
    args = (rng.normal(size=(2, 3)), rng.normal(size=(2, 2, 3)), 0.6)
    agrees(joined, args, (0, 1, 2), atol=1e-6)


# -- a list comprehension bound to a name and read whole --------------------------------------

def comprehended(x):
    rows = [x * k for k in range(1, 4)]
    squares = [np.sin(x[k]) ** 2 for k in range(len(x))]
    return np.sum(np.stack(rows) ** 2) + np.sum(np.array(squares) * x) + len(rows)


def test_list_comprehension_bound_to_a_name_is_the_array_it_becomes():
    agrees(comprehended, (rng.normal(size=3),), 0)


def test_list_comprehension_indexed_as_a_list():
    """A list made by a comprehension over a range and indexed is the array of its rows
    (it was refused before); the gradient against the hand formula 1 + 12 x."""
    def indexed(x):
        rows = [x * k for k in range(1, 4)]
        return np.sum(rows[0]) + np.sum(rows[2] * rows[1])

    x = rng.normal(size=3)
    np.testing.assert_allclose(adc.grad(indexed)(x), 1.0 + 12.0 * x, rtol=1e-12)


# -- a list display of numbers read as an array by a NumPy function -------------------------

def listed(x):
    # each was a Numba typing error: the display reached NumPy as a tuple
    return (np.sum(np.diag([1.0, 3.0]) @ x) + np.sum(np.exp([x[0], x[1]]))
            + np.sum([x[0], x[1] ** 2]) + np.dot([1.0, 2.0], x)
            + np.sum(np.maximum([x[0], 0.5], 0.0)) + np.max([x[0] * 2.0, x[1]]))


def test_list_displays_passed_where_numpy_reads_an_array():
    agrees(listed, (np.array([0.3, -0.4]),), 0)
