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
        return adc.kernels.zero_at(a, (i, 0))

    for zero_at in (lambda a, i: adc.kernels.zero_at(a, (i, 0)), compiled):
        assert zero_at(np.ones((3, 2)), 7) == 0.0  # row 7 does not exist: never read
        part = zero_at(np.ones((3, 2, 5)), 1)
        assert part.shape == (5,) and not part.any()


# ------------------------------------------------ windows of sums that move with the counter


def heat_steps(k, u0):
    u = u0.copy()
    n = u.shape[0]
    for _ in range(3):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return np.sum(u * u * np.arange(n))


def test_a_stencil_adds_each_element_of_its_adjoint_once_per_iteration():
    """The reversed i loop adds into d_u[i - 1], d_u[i] and d_u[i + 1]: three numbers that
    move with i, and one addition into the array per iteration (the element no later
    iteration reaches); the two left after the loop are added once it ends."""
    rng = np.random.default_rng(9)
    vg = gradients_agree(heat_steps, (0.3, rng.standard_normal(7)))
    backward = vg.source.split("backward sweep")[1]
    assert "the window of sums moves on" in backward
    assert backward.count("+= d_t") == 0 or "d_u_1[t" not in backward  # no update per term
    for part in ((0.3, rng.standard_normal(3)), (0.3, rng.standard_normal(2)),
                 (0.3, rng.standard_normal(1))):  # inner loops of one and of no iteration
        value, grads = vg(*part)
        for i in range(2):
            np.testing.assert_allclose(grads[i], numeric_gradient(heat_steps, list(part), i),
                                       rtol=1e-6, atol=1e-8)


def upward(w, x):
    n = x.shape[0]
    y = np.zeros(n)
    for i in range(n - 2, 0, -1):  # reversed, the loop runs upwards
        y[i] = x[i] + w * (x[i - 1] + x[i + 1]) - w * w * x[i] ** 2
    return np.sum(np.sin(y))


def rows_stencil(w, X):
    Y = X.copy()
    n = Y.shape[0]
    for _ in range(2):
        Z = np.zeros_like(Y)
        for i in range(1, n - 1):
            Z[i] = Y[i - 1] * w + Y[i + 1] * (1.0 - w) + Y[i] ** 2
        Y = Z
    return np.sum(Y ** 2)


def grid_stencil(c, U0):
    U = U0.copy()
    n, m = U.shape[0], U.shape[1]
    for _ in range(2):
        V = U.copy()
        for i in range(1, n - 1):
            for j in range(1, m - 1):
                V[i, j] = U[i, j] + c * (U[i, j - 1] + U[i, j + 1] + U[i - 1, j] + U[i + 1, j]
                                         - 4.0 * U[i, j])
        U = V
    return np.sum(U ** 2)


def gap(w, x):
    n = x.shape[0]
    out = np.zeros(n)
    for i in range(1, n - 1):
        out[i] = w * x[i - 1] - x[i + 1]  # offsets -1 and +1: x[i] itself is never read
    return np.sum(out ** 2)


def test_windows_upwards_over_rows_and_on_a_grid(monkeypatch):
    """A window over a loop that the reversal runs upwards; on a grid (the row i of the
    adjoint moves with j: numbers for a matrix, rows for an array of rank 3); over the rows of
    an array whose rank is not known when the code is written (rows, or numbers).  Bounds
    checks are on: no addition after a loop may touch an element that the loop never
    reached."""
    monkeypatch.setattr(numba.config, "BOUNDSCHECK", 1)
    rng = np.random.default_rng(10)
    for f, args in ((upward, (0.4, rng.standard_normal(6))),
                    (grid_stencil, (0.1, rng.standard_normal((4, 5))))):
        vg = gradients_agree(f, args)
        assert "the window of sums moves on" in vg.source, f.__name__
    for X in (rng.standard_normal((5, 3)), rng.standard_normal(5)):
        assert "the window of sums moves on" in gradients_agree(rows_stencil, (0.3, X)).source
    # the grid of rank 3: U[i, j] is a row, and so is each sum of the window
    gradients_agree(grid_stencil, (0.1, rng.standard_normal((4, 5, 2))))


def test_no_window_over_a_gap():
    """Offsets -1 and +1 only: the element between is never written, so it cannot be the one
    added after the loop; the updates stay in the loop."""
    rng = np.random.default_rng(11)
    vg = gradients_agree(gap, (0.7, rng.standard_normal(6)))
    assert "the window of sums moves on" not in vg.source


def heat_o3(k, u0):
    u = u0.copy()
    n = u.shape[0]
    for _ in range(4):
        v = np.zeros(n)
        for i in range(1, n - 1):
            v[i] = u[i] + k * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    return np.sum((u - 0.5) ** 2)


def test_a_sum_a_loop_carries_may_be_split_by_llvm(monkeypatch):
    """d_k sums a contribution per reversed iteration: d_k = accumulate(d_k, ...), an addition
    LLVM may reassociate (kernels.accumulate), while sums that start again in each iteration
    stay as written.  Compiled at O3 (the process's level for this test), where LLVM inlines
    the kernel and vectorizes the loop: the gradient still agrees with central differences."""
    monkeypatch.setattr(numba.config, "OPT", type(numba.config.OPT)(3))
    rng = np.random.default_rng(12)
    vg = gradients_agree(heat_o3, (0.3, rng.standard_normal(40)))
    backward = vg.source.split("backward sweep")[1]
    assert "d_k = accumulate(d_k, " in backward
    assert backward.count("accumulate(") == 1  # d_t3 += ... starts again in each iteration
    llvm = "\n".join(vg.inspect_llvm().values())
    assert "fadd reassoc" in llvm


def rosen_loop(x):
    s = 0.0
    for i in range(len(x) - 1):
        s += 100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2
    return s


def test_the_tangent_of_a_sum_a_loop_carries_may_be_split(monkeypatch):
    """Forward mode: the tangent of s += e is dt_s = accumulate(dt_s, dt_e), while the sum
    itself is taken in order.  At O3: the value is the function's, the tangent agrees with
    central differences along the direction."""
    monkeypatch.setattr(numba.config, "OPT", type(numba.config.OPT)(3))
    rng = np.random.default_rng(13)
    x, v = rng.standard_normal(50), rng.standard_normal(50)
    jvp = adc.jvp(rosen_loop, wrt="x")
    value, tangent = jvp(x, v)
    assert "accumulate(dt_s" in jvp.source and "accumulate(s" not in jvp.source
    np.testing.assert_allclose(value, rosen_loop(x), rtol=1e-14)
    h = 1e-6
    want = (rosen_loop(x + h * v) - rosen_loop(x - h * v)) / (2 * h)
    np.testing.assert_allclose(tangent, want, rtol=1e-6)
