"""Loop programs as scientists and JAX users write them (simulations, dynamic programming,
convolutions written as loops, tuple parameters): one test per class of failure found by
running such programs, each checked against float64 central differences of the plain Python
function (``numeric_gradient``), or, for a refusal, against the text of the error.
"""

import numpy as np
import pytest
from conftest import numeric_gradient

import adcompile as adc


def agrees(f, args, wrt, rtol=1e-6, atol=1e-8):
    """grad and value_and_grad of ``f`` match f's value and its central differences."""
    wrts = wrt if isinstance(wrt, tuple) else (wrt,)
    before = [np.copy(a) for a in args]
    value, got = adc.value_and_grad(f, wrt=wrts)(*args)
    for a, b in zip(args, before, strict=True):
        np.testing.assert_array_equal(a, b)  # the caller's arrays are never changed
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    for w, g in zip(wrts, got, strict=True):
        np.testing.assert_allclose(g, numeric_gradient(f, list(args), w), rtol=rtol,
                                   atol=atol, err_msg=f"d {f.__name__} / d arg {w}")


rng = np.random.default_rng(2024)


def gram_per_slice(T):
    # T[a].T is a Fortran-ordered view; the loop writes into out, so it tapes the view
    out = np.zeros_like(T)
    for a in range(T.shape[0]):
        out[a] = T[a] @ T[a].T
    return np.sum(out ** 2)


def transposed_carry(X):
    A = X.copy()
    out = np.zeros((3, X.shape[1], X.shape[0]))
    for k in range(3):
        At = A.T
        out[k] = np.sin(At) * At
        A = A * 0.9 + 0.1 * k
    return np.sum(out ** 2)


@pytest.mark.parametrize("f, shape", [(gram_per_slice, (2, 3, 3)),
                                      (transposed_carry, (2, 3))])
def test_a_transposed_view_taped_in_a_loop_keeps_its_order(f, shape):
    # a tape took the elements of an F-ordered view in memory order and gave them back in
    # C order: the transpose of the value the forward sweep used (a wrong gradient)
    agrees(f, (rng.normal(size=shape),), 0)


def layers_but_last(params, X, y):
    # a slice of a tuple parameter, looped over (unrolled), named, enumerated and reversed
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    hidden = params[1:-1]
    for k, (W, b) in enumerate(hidden):
        h = h + 0.1 * k * np.sin(h @ W + b)
    for W, b in reversed(params[:1]):
        h = h + 0.05 * np.tanh(X @ W + b)
    w_out, b_out = params[-1]
    return np.mean((h @ w_out + b_out - y) ** 2)


def test_slices_of_a_tuple_parameter_are_tuples():
    # for W, b in params[:-1] was refused as "unpacks each element of an array"
    params = ((rng.normal(size=(3, 3)), rng.normal(size=3)),
              (rng.normal(size=(3, 3)), rng.normal(size=3)),
              (rng.normal(size=3), 0.1))
    X, y = rng.normal(size=(5, 3)), rng.normal(size=5)
    got = adc.grad(layers_but_last)(params, X, y)
    flat = [leaf for layer in params for leaf in layer]
    got_flat = [leaf for layer in got for leaf in layer]

    def of_leaves(*leaves):
        return layers_but_last(((leaves[0], leaves[1]), (leaves[2], leaves[3]),
                                (leaves[4], leaves[5])), X, y)

    for k, g in enumerate(got_flat):
        np.testing.assert_allclose(g, numeric_gradient(of_leaves, flat, k), rtol=1e-6,
                                   atol=1e-8)


def spring_chain(k, pos0):
    # rows of pos read (as views) in the force loop, then pos += ... in place: the views are
    # not read again before the next iteration takes new ones
    n = pos0.shape[0]
    pos = pos0.copy()
    vel = np.zeros_like(pos)
    for _ in range(3):
        force = np.zeros((n, 2))
        for i in range(n - 1):
            d = pos[i + 1] - pos[i]
            L = np.sqrt(d[0] ** 2 + d[1] ** 2)
            force[i] += k * (L - 1.0) * d / L
            force[i + 1] -= k * (L - 1.0) * d / L
        vel += 0.05 * force
        pos += 0.05 * vel
    return np.sum(pos[:, 0]) + 0.5 * np.sum(vel ** 2)


def test_in_place_update_after_views_that_are_not_read_again():
    # was refused: "'pos += ...' changes the array in place, and with it 't24'" (a name the
    # user never wrote, for a view read only before the update)
    agrees(spring_chain, (2.0, rng.normal(size=(4, 2))), (0, 1))


def view_read_next_iteration(x):
    p = x.copy()
    r = p[1]
    s = 0.0
    for _ in range(3):
        s += np.sum(r * r)
        p += 0.5 * x  # in Python r sees this on the next iteration
    return s


def test_in_place_update_of_an_array_whose_view_is_read_later_is_refused():
    # a view made before the loop shares its memory with the loop's carried version of p:
    # this was a wrong value and gradient (r kept the values of the first iteration)
    with pytest.raises(adc.AdcompileError, match=r"changes the array in place, and with it "
                       r"'r', which shares its memory") as info:
        adc.grad(view_read_next_iteration)(rng.normal(size=(3, 2)))
    assert "a new array" in str(info.value) and "test_reach_loops2.py" in str(info.value)


def viterbi_path_score(logA, em):
    # back pointers in an int table: the decoded path's score, summed along them
    T, S = em.shape
    V = np.zeros((T, S))
    back = np.zeros((T, S), dtype=np.int64)
    V[0, :] = em[0, :]
    for t in range(1, T):
        for s in range(S):
            best, arg = -np.inf, 0
            for r in range(S):
                cand = V[t - 1, r] + logA[r, s]
                if cand > best:
                    best, arg = cand, r
            V[t, s] = best + em[t, s]
            back[t, s] = arg
    s = int(np.argmax(V[T - 1]))
    total = em[T - 1, s]
    for t in range(T - 1, 0, -1):
        p = back[t, s]
        total += logA[p, s] + em[t - 1, p]
        s = p
    return total


def counted(x):
    # an int array of counts, a bool array of flags, a float one asked for by name, and a
    # float stored into an int array (truncated: no derivative through it)
    counts = np.zeros(3, dtype=int)
    seen = np.zeros(3, dtype=bool)
    out = np.zeros_like(x, dtype=float)
    trunc = np.full(len(x), 0, dtype=np.int64)
    for i in range(len(x)):
        b = 0 if x[i] < -0.5 else (1 if x[i] < 0.5 else 2)
        counts[b] += 1
        out[i] = x[i] * (counts[b] + 1) * (2.0 if seen[b] else 1.0)
        seen[b] = True
        trunc[i] = 10.0 * x[i]
    return np.sum(out ** 2) + np.sum(trunc * x)


def test_integer_and_bool_arrays_made_with_dtype():
    # dtype=np.int64 was refused as "cannot use 'np.int64' as a value"
    agrees(viterbi_path_score, (rng.normal(size=(3, 3)), rng.normal(size=(4, 3))), (0, 1))
    agrees(counted, (np.array([-0.93, 0.12, 0.71, -0.24, 0.88, -0.61]),), 0)


def single_precision_table(x):
    y = np.zeros(4, dtype=np.float32)
    y[:] = x
    return np.sum(y)


def test_another_dtype_is_refused_naming_it():
    with pytest.raises(adc.AdcompileError, match=r"dtype=np.float32 is not supported") as info:
        adc.grad(single_precision_table)(np.ones(4))
    assert "leave out dtype=" in str(info.value)
    assert "test_reach_loops2.py" in str(info.value)


def masks_of_any_rank(x, z):
    # read and written through boolean masks of 2 and 3 axes (Numba indexes with masks of
    # one axis only: this leaked an AssertionError from its lowering), combined with & and ~
    y = x.copy()
    m = z > x
    y[m] = z[m] * 2.0
    y[x < -0.5] *= 0.1
    inner = (x > -0.5) & ~(x > 0.8)
    keep = x[:, 0, 0] > 0
    return (np.sum(y ** 2) + np.sum(np.sin(x[inner])) + np.sum(x[keep] ** 2)
            + np.sum(x[~keep, 1]))


def clamped_diffusion(u0):
    # a mask made and used in every step of a loop (its tape holds arrays, not truth values)
    u = u0.copy()
    for _ in range(3):
        lap = np.zeros_like(u)
        lap[1:-1, 1:-1] = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
                           - 4 * u[1:-1, 1:-1])
        u = u + 0.1 * lap
        u[u < 0] = 0.0
        over = u > 1.0
        u[over] = 1.0 - 0.5 * (u[over] - 1.0)
    return np.sum(u ** 2)


def test_boolean_masks_of_any_rank():
    x = rng.normal(size=(3, 2, 2))
    agrees(masks_of_any_rank, (x, rng.normal(size=(3, 2, 2))), (0, 1))


def test_masks_made_in_a_loop():
    agrees(clamped_diffusion, (rng.normal(size=(4, 5)) * 0.8,), 0)


def masked_by_argument(x, mask):
    return np.sum(x[mask] ** 2)


def test_a_mask_argument_of_two_axes_is_an_error_not_a_numba_traceback():
    with pytest.raises(adc.AdcompileError, match="Numba failed to make machine code") as info:
        adc.grad(masked_by_argument)(np.ones((2, 3)), np.ones((2, 3)) > 0)
    assert "boolean mask of one axis" in str(info.value)
    assert "masked_by_argument() at" in str(info.value)


def edge_energy(pos):
    edges = np.array([[0, 1], [1, 2], [2, 0]])
    E = 0.0
    for e in range(edges.shape[0]):
        i, j = edges[e]
        E += np.sum((pos[i] - pos[j]) ** 2)
    return E


def test_unpacking_an_array_row():
    # once refused ("tuple unpacking takes a tuple display"): i, j = edges[e] reads the row's
    # two elements, after checking that it has two
    agrees(edge_energy, (rng.normal(size=(3, 2)),), 0)


def stacked_layers(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    w, b = params[-1]
    return np.mean((h @ w + b - y) ** 2)


def test_optimizers_take_a_tuple_parameter_the_source_does_not_unpack():
    X = rng.normal(size=(20, 2))
    y = np.tanh(X @ np.array([1.0, -1.0]))
    p0 = ((rng.normal(size=(2, 3)) * 0.5, np.zeros(3)), (rng.normal(size=3) * 0.5, 0.0))
    with pytest.raises(adc.AdcompileError, match="x0 holds tuples") as info:
        adc.optim.gd(stacked_layers, p0, lr=0.1, steps=5, args=(X, y))
    assert "wrt='params'" in str(info.value)  # was: "x0 holds (array(...)...) ... not a number"
    params, history = adc.optim.gd(stacked_layers, p0, wrt="params", lr=0.2, steps=60,
                                   args=(X, y))
    assert history[-1] < 0.5 * history[0]
    (W, b), (w, c) = params
    assert W.shape == (2, 3) and b.shape == (3,) and w.shape == (3,) and isinstance(c, float)
    assert np.isclose(history[-1], stacked_layers(params, X, y), rtol=0.1)


def scatter_by_ufunc(x):
    out = np.zeros(3)
    np.add.at(out, np.array([0, 1, 1, 2, 2, 2]), x)
    return np.sum(out ** 2)


def scatter_by_loop(x):  # the rewrite the refusal gives
    out = np.zeros(3)
    idx = np.array([0, 1, 1, 2, 2, 2])
    for k in range(len(idx)):
        out[idx[k]] += x[k]
    return np.sum(out ** 2)


def test_ufunc_at_is_refused_with_the_loop_it_stands_for():
    # was: "an expression statement has no effect on the result" (it has one: in place)
    with pytest.raises(adc.AdcompileError, match=r"np.add.at\(\) changes 'out' in place") as e:
        adc.grad(scatter_by_ufunc)(np.ones(6))
    assert ("idx = np.array([0, 1, 1, 2, 2, 2]); for k in range(len(idx)): out[idx[k]] += x[k]"
            in str(e.value))
    agrees(scatter_by_loop, (rng.normal(size=6),), 0)


def accumulates_into_0d(x):
    s = np.array(0.0)
    for xi in x:
        s = s + xi * xi
    return float(s)


def test_a_0d_array_that_becomes_a_number_names_the_fix():
    with pytest.raises(adc.AdcompileError, match="'s' holds array") as info:
        adc.grad(accumulates_into_0d)(np.ones(3))
    assert "start it as a number (0.0)" in str(info.value)


def row_updated_in_place(x):
    A = x.copy()
    for i in range(A.shape[0]):
        r = A[i]
        r *= 0.5 + i  # changes A in Python: A's rank decides whether r is a row
    return np.sum(A ** 3)


def element_accumulated(x):
    s = x[0]
    s += x[1]  # a number for a vector x: no write into x
    for i in range(2, len(x)):
        t = x[i]
        t *= 2.0
        s += t
    return s * np.sum(x)


def test_augmented_assignment_to_a_row_of_an_array_of_unknown_rank():
    # r = A[i] is a number or a row (A is a copy of an argument); a row was updated as a
    # new array, silently leaving A as it was (a wrong value and gradient): now refused at
    # the first call, and a number goes through
    with pytest.raises(adc.AdcompileError, match=r"'r \*= \.\.\.' changes in place the row "
                       "or slice 'r'") as info:
        adc.grad(row_updated_in_place)(rng.normal(size=(3, 4)))
    assert "write into the array itself, A[i] *= ..." in str(info.value)
    assert "r = r * ... for a new array" in str(info.value)
    assert info.value.lineno == row_updated_in_place.__code__.co_firstlineno + 4  # r *= ...
    agrees(row_updated_in_place, (rng.normal(size=3),), 0)
    agrees(element_accumulated, (rng.normal(size=4),), 0)
    assert "number_only" not in adc.grad(element_of_a_local).source  # no check needed there


def element_of_a_local(x):
    A = x * 2.0
    s = A[1]
    s += x[0]  # A is not read again
    return s * s


def first_row(A):
    return A[0]


def doubled(A):
    return A * 2.0


def row_by_helper_read_after_write(x):
    A = x * 1.0
    r = first_row(A)  # a view of A, made by a helper
    A[0, 1] = 5.0 * x[1, 1]
    return np.sum(r * r)


def row_by_helper_written(x):
    r = first_row(x)
    r[0] = 5.0
    return np.sum(x ** 2)


def new_array_by_helper(x):
    A = x * 1.0
    r = doubled(A)  # a new array: the write into A does not touch it
    A[0, 1] = 5.0 * x[1, 1]
    return np.sum(r * r) + np.sum(first_row(A) ** 2)


def test_views_returned_by_helpers_are_views():
    # a helper's result was taken for a new array: a stale view read gave a wrong value and
    # gradient, and a write through it changed the caller's array
    x = rng.normal(size=(2, 3))
    with pytest.raises(adc.AdcompileError, match="'r' is a view of 'A', which was written"):
        adc.grad(row_by_helper_read_after_write)(x)
    before = x.copy()
    with pytest.raises(adc.AdcompileError, match="may change the argument 'x'"):
        adc.grad(row_by_helper_written)(x)
    np.testing.assert_array_equal(x, before)
    agrees(new_array_by_helper, (x,), 0)


def layers_by_index(params, X, y):
    h = X
    for i in range(len(params) - 1):  # unrolled: the counter indexes a tuple
        W, b = params[i]
        h = np.tanh(h @ W + b) + 0.1 * i
    w, c = params[len(params) - 1]
    return np.mean((h @ w + c - y) ** 2)


def layers_by_while(params, X):
    h = X
    k = 0
    while k < 2:
        W, b = params[k]
        h = np.tanh(h @ W + b)
        k += 1
    return np.sum(h)


def test_a_tuple_indexed_by_the_counter_of_a_range_loop():
    # for i in range(len(params)): W, b = params[i] was refused (a tuple index that is not
    # a literal); a while loop's counter still is, with the loops that work
    params = ((rng.normal(size=(2, 3)), rng.normal(size=3)),
              (rng.normal(size=(3, 3)), rng.normal(size=3)), (rng.normal(size=3), 0.2))
    X, y = rng.normal(size=(4, 2)), rng.normal(size=4)
    got = adc.grad(layers_by_index)(params, X, y)
    flat = [leaf for layer in params for leaf in layer]

    def of_leaves(*leaves):
        return layers_by_index(((leaves[0], leaves[1]), (leaves[2], leaves[3]),
                                (leaves[4], leaves[5])), X, y)

    for k, g in enumerate(leaf for layer in got for leaf in layer):
        np.testing.assert_allclose(g, numeric_gradient(of_leaves, flat, k), rtol=1e-6,
                                   atol=1e-8)
    with pytest.raises(adc.AdcompileError, match="a tuple can only be indexed") as info:
        adc.grad(layers_by_while)(params[:2], X)
    assert "for i in range(len(params))" in str(info.value)


def masked_only(x):
    # x is read only through masks: it must still be known as an array (its adjoint was 0.0)
    total = 0.0
    for k in range(3):
        m = x > 0.1 * k
        total += np.sum(x[m] * (k + 1))
    return total


def test_an_argument_read_only_through_masks():
    agrees(masked_only, (np.array([0.35, -0.2, 0.05, 0.9, 0.16, -0.7]),), 0)
