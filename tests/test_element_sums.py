"""Sums into one element of an adjoint kept in a number while a reversed loop runs
(``adcompile/sums.py``): convolutions, pairwise forces and tables written as loops.

Each gradient is checked against float64 central differences of the plain Python function,
the Hessian-vector product against the Hessian derived by hand; the generated source is read
only to see that the sum was moved out of the loop (what makes these loops fast).
"""

import numba
import numpy as np
from conftest import numeric_gradient

import adcompile as adc


def gradients_agree(f, args, rtol=1e-6, atol=1e-8):
    """``value_and_grad`` with respect to every parameter (one compile), each gradient
    against central differences; returns the compiled function."""
    vg = adc.value_and_grad(f, wrt=tuple(range(len(args))))
    value, grads = vg(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), i), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {i}")
    return vg


def conv_loops(w, x):
    n, m = x.shape[0], w.shape[0]
    out = np.zeros(n - m + 1)
    for k in range(m):
        for i in range(n - m + 1):
            out[i] += w[k] * x[i + k]
    return np.sum(out * out)


def test_a_weight_summed_over_an_inner_loop_is_added_once_after_it():
    rng = np.random.default_rng(1)
    vg = gradients_agree(conv_loops, (rng.standard_normal(4), rng.standard_normal(11)))
    assert "d_w[k] += d_w_k" in vg.source  # the reversed i loop sums d_w[k] in a number
    assert "d_w[k] += d_t" not in vg.source


def conv2d_loops(w, X):
    m = w.shape[0]
    rows, cols = X.shape[0] - m + 1, X.shape[1]
    out = np.zeros((rows, cols))
    for k in range(m):
        for i in range(rows):
            for j in range(cols):
                out[i, j] += w[k] * X[i + k, j] ** 2
    return np.sum(np.sin(out))


def test_a_sum_moves_out_of_every_loop_its_index_does_not_change_in():
    rng = np.random.default_rng(2)
    vg = gradients_agree(conv2d_loops, (rng.standard_normal(3), rng.standard_normal((6, 4))))
    # d_w[k] summed over j and i in one number, added once per k
    source = vg.source.split("backward sweep")[1]
    assert source.count("_added = True") == 1 and source.count("d_w[k] +=") == 1
    assert source.index("d_w_k = ") < source.index("for i in") < source.index("d_w[k] +=")


def pairwise(pos, mass):
    n = pos.shape[0]
    acc = np.zeros((n, 2))
    for i in range(n):
        for j in range(n):
            if i != j:
                dx = pos[j, 0] - pos[i, 0]
                dy = pos[j, 1] - pos[i, 1]
                r2 = dx * dx + dy * dy + 0.01
                s = mass[j] / (r2 * np.sqrt(r2))
                acc[i, 0] += s * dx
                acc[i, 1] += s * dy
    return np.sum(acc * acc) + np.sum(pos * acc)


def test_pair_forces_where_the_same_array_gets_both_the_fixed_and_the_running_index():
    rng = np.random.default_rng(3)
    vg = gradients_agree(pairwise, (rng.standard_normal((5, 2)), rng.uniform(0.5, 1.5, 5)))
    assert "d_pos_i_0 +=" in vg.source and "d_pos[j, 0] +=" in vg.source


def dtw_like(x, y):
    n, m = x.shape[0], y.shape[0]
    R = np.zeros((n + 1, m + 1))
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            R[i, j] = (x[i - 1] - y[j - 1]) ** 2 + 0.5 * R[i - 1, j] + 0.25 * R[i, j - 1]
    return R[n, m]


def test_an_index_recomputed_from_fixed_names_in_each_iteration_counts_as_fixed():
    rng = np.random.default_rng(4)
    vg = gradients_agree(dtw_like, (rng.standard_normal(5), rng.standard_normal(6)))
    assert "d_x[i - 1] +=" in vg.source  # d_x[t7] with t7 = i - 1 in the reversed j loop


def rotating(x, y):
    n = x.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(n):
            k = (i + j) % n
            s += x[k] * y[j] * x[i]
    return s


def test_an_index_that_changes_in_the_loop_is_still_updated_in_it():
    rng = np.random.default_rng(5)
    gradients_agree(rotating, (rng.standard_normal(4), rng.standard_normal(4)))


def guarded(x, y):
    n = x.shape[0]
    s = 0.0
    for i in range(n + 1):
        for j in range(n):
            if i < n:  # x[n] is never read
                s += x[i] * y[j] * (j + 1)
    return s * s


def test_the_element_is_updated_only_if_an_update_ran(monkeypatch):
    """At i == n the inner loop runs but never reads x[i]: adding the (zero) sum into d_x[n]
    after it would be out of bounds.  Bounds checks are on for this compile."""
    monkeypatch.setattr(numba.config, "BOUNDSCHECK", 1)
    rng = np.random.default_rng(6)
    vg = gradients_agree(guarded, (rng.standard_normal(4), rng.standard_normal(4)))
    assert "d_x_i_added" in vg.source


def test_second_order_through_the_moved_sums():
    """hvp of the convolution loss: the loss is quadratic in w, H = 2 Xᵀ X with X[i, k] =
    x[i + k] (by hand)."""
    rng = np.random.default_rng(7)
    w, x, v = rng.standard_normal(3), rng.standard_normal(9), rng.standard_normal(3)
    X = np.array([[x[i + k] for k in range(3)] for i in range(9 - 3 + 1)])
    hv = adc.hvp(conv_loops, wrt="w")(w, x, v)
    np.testing.assert_allclose(hv, 2.0 * X.T @ (X @ v), rtol=1e-10)


def pair_distances(P, w):
    n = P.shape[0]
    s = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                d = np.linalg.norm(P[i, 0] - P[j, 1])
                s += w[j] * d
    return s


def test_parts_of_an_array_of_either_rank_in_a_pair_loop():
    """P[i, 0] is a number for a matrix P and a row for a rank-3 P: one generated gradient,
    compiled for each."""
    rng = np.random.default_rng(8)
    g = adc.grad(pair_distances, wrt=(0, 1))
    for P in (rng.standard_normal((4, 2, 3)), rng.standard_normal((4, 2))):
        args = (P, rng.standard_normal(4))
        got = g(*args)
        for k in range(2):
            np.testing.assert_allclose(got[k], numeric_gradient(pair_distances, list(args), k),
                                       rtol=1e-6, atol=1e-8)


def test_a_sum_starts_from_a_zero_of_the_part_it_stands_for_without_reading_it():
    """kernels.zero_at, which starts a sum where the array's rank is not known when the code
    is written: a number for an element, zeros of the remaining axes for a part."""
    @numba.njit
    def compiled(a, i):
        return adc.kernels.zero_at(a, i, 0)

    for zero_at in (lambda a, i: adc.kernels.zero_at(a, i, 0), compiled):
        assert zero_at(np.ones((3, 2)), 7) == 0.0  # row 7 does not exist: never read
        part = zero_at(np.ones((3, 2, 5)), 1)
        assert part.shape == (5,) and not part.any()
