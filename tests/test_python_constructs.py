"""The Python users write inside losses: loops over arrays, zip, enumerate, reversed and
tuples; helpers defined inside the function (def and lambda); module-level and closure
arrays read as constants; assert, print, pass and docstrings.

Every gradient is checked against float64 central differences (``adc.check_grad``, or
``central`` below for value_and_grad and forward mode), at random points and at edges (empty
loops, unequal zips, negative and literal steps, rank 0 to 3).  Several constructs share one
differentiated function to keep Numba's compile time down.  The refusals that remain are at
the end, each located at a line that ends with a marker comment (``# pc-...``).
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc
from adcompile import codegen, constants

SOURCE_LINES = Path(__file__).read_text().splitlines()
RNG = np.random.default_rng(20240611)


def central(f, args, i, h=1e-6):
    """d f / d args[i] by central differences (elementwise for an array)."""
    x = np.asarray(args[i], dtype=np.float64)
    out = np.empty(x.shape)
    for index in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[index] += h
        lo[index] -= h
        a = list(args)
        b = list(args)
        a[i] = hi if x.ndim else float(hi)
        b[i] = lo if x.ndim else float(lo)
        out[index] = (f(*a) - f(*b)) / (2 * h)
    return out if x.ndim else float(out)


# -- loops over arrays, zip, enumerate, reversed ----------------------------------------------

def loops(w, X, y):
    s = 0.0
    for row in X:                                   # rows of a matrix: views
        s = s + np.sum(row * w) ** 2
    for i, (row, yi) in enumerate(zip(X, y, strict=False)):  # enumerate(zip(...))
        p = np.dot(row, w)
        if p > yi:                                  # a branch inside
            s = s + (p - yi) ** 2 * (i + 1)
        else:
            for wj in w:                            # a nested loop over a 1-D array
                s = s - 0.1 * wj * yi
    for k, wk in zip(range(5), w):  # noqa: B905    # with a range: the shortest wins
        s = s + k * wk * wk
    for j, wj in enumerate(w, 2):                   # enumerate from 2
        s = s + j * math.sin(wj)
    for j in reversed(range(len(w))):               # reversed(range(n))
        s = s * 0.9 + w[j]
    for j in reversed(range(1, len(w), 2)):         # a literal step
        s = s + j * w[j] ** 3
    for wj in reversed(w):                          # reversed of an array
        s = s * 1.1 - wj
    for a, b in zip(w, y, strict=False):            # unequal lengths
        s = s + a * b
    for wj in w[1:]:                                # a slice: evaluated once
        if wj > 10.0:
            break                                   # an early exit
        s = s + wj ** 2
    return s


def test_loops_over_arrays_zip_enumerate_and_reversed():
    w = RNG.normal(size=3)
    X = RNG.normal(size=(4, 3))
    y = RNG.normal(size=4)
    adc.check_grad(loops, ("w", "X", "y"), w, X, y)
    value, (dw, dX) = adc.value_and_grad(loops, wrt=("w", "X"))(w, X, y)
    assert value == pytest.approx(loops(w, X, y), rel=1e-12)
    np.testing.assert_allclose(dw, central(loops, (w, X, y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dX, central(loops, (w, X, y), 1), rtol=1e-6, atol=1e-8)
    # edges: one element, and no rows at all (every loop over X runs zero times)
    adc.check_grad(loops, ("w", "X"), w[:1], X[:2, :1], y[:2])
    empty = np.zeros((0, 3))
    assert adc.grad(loops, wrt="X")(w, empty, y).shape == (0, 3)
    dw = adc.grad(loops)(w, empty, y[:0])
    np.testing.assert_allclose(dw, central(loops, (w, empty, y[:0]), 0), rtol=1e-6)


def loops_forward(w, X):
    s = 0.0
    for i, row in enumerate(X):
        for a, b in zip(row, w, strict=False):
            s = s + a * math.tanh(b) * (i + 1)
    return s


def test_forward_mode_takes_the_same_loops():
    w = RNG.normal(size=3)
    X = RNG.normal(size=(2, 3))
    t = RNG.normal(size=3)
    value, tangent = adc.jvp(loops_forward, wrt="w")(w, X, t)
    assert value == pytest.approx(loops_forward(w, X), rel=1e-12)
    assert tangent == pytest.approx(float(central(loops_forward, (w, X), 0) @ t), rel=1e-6)


def slices_of_a_cube(A, v):
    s = 0.0
    for M in A:                                     # rank 3: matrices
        for row in M:                               # then their rows
            s = s + np.sum(np.sin(row) * v)
    for m in range(2):                              # an int range inside: unchanged
        for x in A[m, 0]:
            s = s + x * x
    return s


def test_rank_three_and_integer_data():
    A = RNG.normal(size=(2, 3, 4))
    v = RNG.normal(size=4)
    adc.check_grad(slices_of_a_cube, ("A", "v"), A, v)
    ints = np.arange(24).reshape(2, 3, 4) % 5       # an int array, iterated
    adc.check_grad(slices_of_a_cube, "v", ints, v)


def nested_sequences(w):
    s = 0.0
    for i, wi in enumerate(w):
        for j, wj in enumerate(w):
            if i < j:
                s = s + wi * wj
            else:
                continue
            s = s + 0.5 * wi
    return s


def test_nested_enumerations_with_continue():
    w = RNG.normal(size=4)
    adc.check_grad(nested_sequences, 0, w)
    adc.check_grad(nested_sequences, 0, np.zeros(4))  # a tie at every comparison


def loop_over_tuple_parameter(params, x):
    for W, b in params:                               # unrolled: each layer its own shapes
        x = np.tanh(W @ x + b)
    total = 0.0
    for k, layer in enumerate(params):
        total = total + (k + 1) * np.sum(layer[1] ** 2)
    for v in (x, 2.0 * x):                            # a tuple display: evaluated once
        x = x + v
    return np.sum(x) + total + squashed((params[0][1], params[1][1]))


def squashed(vectors):
    """A module-level helper given a tuple: inlined, and its loop over the tuple unrolled."""
    s = 0.0
    for v in vectors:
        s = s + np.sum(np.tanh(v))
    return s


def test_loops_over_a_tuple_are_unrolled():
    params = ((RNG.normal(size=(3, 2)), RNG.normal(size=3)),
              (RNG.normal(size=(1, 3)), RNG.normal(size=1)))
    x = RNG.normal(size=2)
    grads = adc.grad(loop_over_tuple_parameter)(params, x)
    for k in range(2):
        for m in range(2):
            def partial(leaf, k=k, m=m):
                p = [list(layer) for layer in params]
                p[k][m] = leaf
                return loop_over_tuple_parameter(tuple(tuple(layer) for layer in p), x)
            np.testing.assert_allclose(grads[k][m], central(partial, (params[k][m],), 0),
                                       rtol=1e-6, atol=1e-8)


# -- helpers defined inside the function --------------------------------------------------

def helpers(w, x, n):
    sq = lambda z: z * z                            # noqa: E731
    scale = 2.0

    def affine(z, a=3.0, b=-1.0):
        """A docstring in a helper."""
        return a * z + b * w + scale               # reads w and scale of the function

    def clipped(z):
        if z > 5.0:
            return 5.0 + 0.1 * z                    # an early return
        t = 0.0
        for k in range(n):                          # a loop in a helper
            t = t + sq(z) / (k + 1)
        return t

    def pair(z):
        return z * w, sq(z)

    def twice(sq):                                  # a parameter named like a helper
        return 2.0 * sq

    s = 0.0
    for xi in x:
        if xi > 0:
            s = s + clipped(affine(xi, b=0.5))      # a keyword argument
        else:
            s = s + sq(affine(xi)) * (sq(w) if w > 0 else 1.0 - w)
    u, v = pair(s)                                  # a helper returning a tuple
    return u + twice(v) + (lambda_free(w) if n > 1 else 0.0)


def lambda_free(z):
    return z ** 3


def test_nested_defs_and_lambdas_are_inlined():
    x = np.array([0.3, -0.7, 1.2, -0.1])
    for w in (0.8, -0.4, 2.9):                      # 2.9 crosses clipped's early return
        adc.check_grad(helpers, "w", w, x, 3)
    adc.check_grad(helpers, ("w", "x"), 0.8, x, 1)
    value, (dw, dx) = adc.value_and_grad(helpers, wrt=("w", "x"))(0.8, x, 3)
    assert value == pytest.approx(helpers(0.8, x, 3), rel=1e-12)
    assert dw == pytest.approx(central(helpers, (0.8, x, 3), 0), rel=1e-6)
    np.testing.assert_allclose(dx, central(helpers, (0.8, x, 3), 1), rtol=1e-6)
    source = adc.grad(helpers).source
    assert "affine_z" in source and "lambda z" not in source and "def affine" not in source
    value, tangent = adc.jvp(helpers, wrt="w")(0.8, x, 3, 1.0)
    assert tangent == pytest.approx(central(helpers, (0.8, x, 3), 0), rel=1e-6)


def second_order_helper(x):
    cube = lambda z: z * z * z                      # noqa: E731

    def shown(z):
        print("z is", z)                            # kept out of derivative code
        return z + math.sin(z)
    return cube(x) + shown(x)


def test_a_helper_differentiates_to_second_order():
    d2 = adc.grad(adc.grad(second_order_helper))
    assert d2(0.7) == pytest.approx(6 * 0.7 - math.sin(0.7), rel=1e-10)  # by hand
    assert adc.hessian(second_order_helper)(0.7) == pytest.approx(6 * 0.7 - math.sin(0.7),
                                                                  rel=1e-10)


# -- assert, print, pass, docstrings ------------------------------------------------------------

def checks_and_prints(w, x):
    """Asserts and prints change nothing."""
    assert w.shape == x.shape, "shapes differ"
    s = 0.0
    for k in range(len(x)):
        pass
        "a string standing as a comment"
        print("step", k, s)
        assert s >= 0.0
        s = s + (w[k] * x[k]) ** 2
        if s > 100.0:
            print("large:", s)
    print(s)
    return s


def test_assert_and_print_do_not_change_the_gradient(capfd):
    w = RNG.normal(size=3)
    x = RNG.normal(size=3)
    grad = adc.grad(checks_and_prints)
    np.testing.assert_allclose(grad(w, x), 2 * w * x * x, rtol=1e-12)  # by hand
    adc.check_grad(checks_and_prints, 0, w, x)
    capfd.readouterr()
    grad(w, x)
    assert capfd.readouterr().out == ""             # never in derivative code
    assert "print(" not in grad.source and "assert " not in grad.source
    expected = checks_and_prints(w, x)
    capfd.readouterr()
    value = adc.forward(checks_and_prints)(w, x)    # the function itself, compiled: prints
    assert value == pytest.approx(expected, rel=1e-12)
    out = capfd.readouterr().out
    assert out.count("step") == 3, out


# -- arrays from outside the function ---------------------------------------------------------

DATA = np.linspace(-1.0, 1.0, 7)
MATRIX = np.arange(6.0).reshape(2, 3) / 10.0
WEIGHTS = (0.5, 1.5)
COEFFS = [1.0, -0.5, 0.25]
NESTED = [[1.0, 2.0], [3.0, -1.0]]
VECTORS = (np.array([1.0, 2.0, 0.0]), np.array([0.5, -0.5, 1.0]))
RAGGED = (np.ones(2), 0.5)


def reads_module_arrays(w):
    s = np.sum((MATRIX @ w - 0.5) ** 2)
    for d in DATA:
        s = s + math.exp(-d * w[0]) * w[1]
    for c in WEIGHTS:
        s = s * c
    for i in range(len(COEFFS)):
        s = s + COEFFS[i] * w[2] ** (i + 1)
    for row in NESTED:                              # a list of lists: a matrix
        s = s + row[0] * w[0] + row[1] * w[1] ** 2
    for v in VECTORS:                               # a tuple of arrays of one shape
        s = s + np.sum(v * w)
    return s + np.sum(np.array(COEFFS) * w) + NESTED[1][0] * w[0]


def test_module_arrays_and_sequences_are_constants():
    w = RNG.normal(size=3)
    adc.check_grad(reads_module_arrays, 0, w)
    source = adc.grad(reads_module_arrays).source
    assert "# Bound when loaded: " in source and "DATA" in source


def test_a_changed_module_array_gives_a_new_entry_and_the_right_gradient():
    global DATA
    w = RNG.normal(size=3)
    before = adc.grad(reads_module_arrays)
    key = codegen._cache_key(adc.api.parse_function(reads_module_arrays), ["w"], False)
    saved = DATA
    try:
        DATA = DATA * 2.0 + 1.0                     # rebound
        after = adc.grad(reads_module_arrays)
        assert codegen._cache_key(adc.api.parse_function(reads_module_arrays), ["w"],
                                  False) != key
        assert before is not after
        np.testing.assert_allclose(after(w), central(reads_module_arrays, (w,), 0), rtol=1e-6)
        DATA[0] = 5.0                               # changed in place
        again = adc.grad(reads_module_arrays)
        assert again is not after
        np.testing.assert_allclose(again(w), central(reads_module_arrays, (w,), 0), rtol=1e-6)
    finally:
        DATA = saved
    np.testing.assert_allclose(before(w), central(reads_module_arrays, (w,), 0), rtol=1e-6)


def make_loss(data):
    def loss(w):
        return np.sum((data * w - 1.0) ** 2)
    return loss


def test_a_closure_over_an_array():
    short, long_ = make_loss(np.array([1.0, 2.0])), make_loss(np.array([3.0, -4.0, 5.0]))
    assert adc.grad(short)(0.5) == pytest.approx(2 * ((0.5 - 1) * 1 + (1 - 1) * 2))
    adc.check_grad(long_, 0, 0.5)
    assert adc.grad(short) is not adc.grad(long_)


LARGE_SCRIPT = """
import sys
import numpy as np
import adcompile as adc

X = np.linspace(0.0, 1.0, 3 * 50_000).reshape(-1, 3)   # 1.2 MB: larger than Numba freezes

def model(w):
    return np.sum((X @ w - 0.5) ** 2)

def loss(w, scale=1.0):
    return scale * model(w) / len(X)

def tupled(params):
    w, b = params
    return np.sum((X @ w + b) ** 2)

w = np.array([0.1, -0.2, 0.3])
g = adc.grad(loss)
print(repr(g(w, 2.0).tolist()))
inner = sys.modules[g.__module__].grad_loss_data
print(sum(inner.stats.cache_hits.values()), sum(inner.stats.cache_misses.values()))
dw, db = adc.grad(tupled)((w, 0.5))
print(repr(dw.tolist()), repr(db))
"""


def test_a_large_module_array_is_passed_as_an_argument_and_cached(tmp_path):
    script = tmp_path / "large_array.py"
    script.write_text(LARGE_SCRIPT)
    env = {"ADCOMPILE_CACHE_DIR": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin",
           "NUMBA_OPT": "2", "PYTHONPATH": str(Path(adc.__file__).parents[1])}
    runs = [subprocess.run([sys.executable, str(script)],
                           capture_output=True, text=True, env=env, timeout=300)
            for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "Cannot cache" not in run.stderr, run.stderr
    first, second = (run.stdout.splitlines() for run in runs)
    X = np.linspace(0.0, 1.0, 3 * 50_000).reshape(-1, 3)
    w = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(eval(first[0]), 2.0 * 2 * X.T @ (X @ w - 0.5) / len(X),
                               rtol=1e-10)  # by hand
    assert first[0] == second[0]
    assert first[1] == "0 1" and second[1] == "1 0"  # compiled once, then read from the cache
    r = X @ w + 0.5
    np.testing.assert_allclose(eval(first[2].split("] ")[0] + "]"), 2 * X.T @ r, rtol=1e-10)
    assert float(first[2].split("] ")[1]) == pytest.approx(2 * np.sum(r), rel=1e-10)


def test_a_small_module_array_is_frozen_into_cached_code(monkeypatch):
    # at an optimising level, as users run: the suite's NUMBA_OPT=0 (tests/conftest.py) leaves
    # dynamic globals, which Numba never caches; Numba reads the level at each compile
    monkeypatch.setenv("NUMBA_OPT", "1")
    assert not constants.is_large(DATA)
    grad = adc.grad(reads_module_arrays)
    grad(RNG.normal(size=3))
    grad.recompile()  # at this level: the tests above may have compiled it at the suite's
    assert type(grad._cache).__name__ == "_FunctionCache"
    assert Path(grad._cache._cache_file._index_path).exists()


# -- what is still refused: located, named, with a hint ----------------------------------------

def marked_line(marker: str) -> int:
    found = [n for n, text in enumerate(SOURCE_LINES, 1) if text.rstrip().endswith(f"# {marker}")]
    assert len(found) == 1, (marker, found)
    return found[0]


def helper_as_value(x):
    sq = lambda z: z * z                            # noqa: E731
    return np.sum(np.vectorize(sq)(x))              # pc-helper-value


def helper_before_definition(x):
    y = sq(x)                                       # noqa: F821  # pc-helper-early
    sq = lambda z: z * z                            # noqa: E731, F841
    return y


def helper_reads_a_later_value(x):
    scaled = lambda z: c * z                        # noqa: E731
    c = 2.0                                         # pc-helper-later
    return scaled(x)


def helper_in_a_loop_reads_the_counter(x):
    s = 0.0
    for k in range(3):                              # pc-helper-loop
        term = lambda z: k * z                      # noqa: E731, B023
        s = s + term(x)
    return s


def helper_defined_twice(x):
    def h(z):
        return z
    def h(z):                                       # noqa: F811  # pc-helper-twice
        return 2.0 * z
    return h(x)


def helper_inside_helper(x):
    def outer(z):
        def inner(t):                               # pc-helper-nested
            return t
        return inner(z)
    return outer(x)


def unnamed_lambda(x):
    return (lambda z: z * z)(x)                     # pc-lambda


def helper_with_string_default(x):
    def h(z, mode="fast"):                          # pc-helper-default
        return z
    return h(x)


def zips_strictly(x, y, strict=True):
    s = 0.0
    for a, b in zip(x, y, strict=strict):           # pc-zip-strict
        s = s + a * b
    return s


def unpacks_rows(X):
    s = 0.0
    for a, *rest in X:                              # pc-unpack-rows
        s = s + a * rest[0]
    return s


def breaks_a_tuple_loop(x):
    for v in (x, 2.0 * x):
        if v > 1.0:
            break                                   # pc-tuple-break
    return v


def prints_with_a_keyword(x):
    print(x, end="")                                # pc-print-keyword
    return x


def prints_in_an_expression(x):
    y = x + (print(x) or 0.0)                       # pc-print-expression
    return y


def writes_a_module_array(x):
    DATA[0] = x                                     # pc-store-global
    return np.sum(DATA)


def reads_a_ragged_tuple(x):
    return RAGGED[1] * x                            # pc-ragged


def multiplies_a_list(x):
    return np.sum(x * COEFFS)                       # pc-list-arithmetic


COMPLEX = np.array([1.0 + 2.0j])


def reads_a_complex_array(x):
    return x * COMPLEX[0].real                      # pc-complex


def maps_in_a_loop(x):
    s = 0.0
    for v in map(math.sin, x):                      # pc-map
        s = s + v
    return s


def loops_into_a_subscript(x):
    y = np.zeros(3)
    for y[0] in x:                                  # pc-target
        pass
    return np.sum(y)


REFUSED = [
    (helper_as_value, (np.ones(2),), "pc-helper-value", "used as a value", "define both"),
    (helper_before_definition, (1.0,), "pc-helper-early", "before its definition", "define sq"),
    (helper_reads_a_later_value, (1.0,), "pc-helper-later", "assigned after the helper",
     "as an argument"),
    (helper_in_a_loop_reads_the_counter, (1.0,), "pc-helper-loop", "assigned after the helper",
     "as an argument"),
    (helper_defined_twice, (1.0,), "pc-helper-twice", "defined twice", "its own name"),
    (helper_inside_helper, (1.0,), "pc-helper-nested", "function defined inside a helper",
     "directly in the body"),
    (unnamed_lambda, (1.0,), "pc-lambda", "lambda that is not assigned", "assign it"),
    (helper_with_string_default, (1.0,), "pc-helper-default", "not a number", "default"),
    (zips_strictly, (np.ones(2), np.ones(2)), "pc-zip-strict", "zip", "strict=False"),
    (unpacks_rows, (np.ones((2, 2)),), "pc-unpack-rows", "is not a name", "plain names"),
    (breaks_a_tuple_loop, (1.0,), "pc-tuple-break", "'break' in a loop over a tuple", "flag"),
    (prints_with_a_keyword, (1.0,), "pc-print-keyword", "keyword argument 'end'", "commas"),
    (prints_in_an_expression, (1.0,), "pc-print-expression", "inside an expression",
     "statement"),
    (writes_a_module_array, (1.0,), "pc-store-global", "writing into 'DATA'", "copy"),
    (multiplies_a_list, (np.ones(3),), "pc-list-arithmetic", "list of numbers", "np.array"),
    (reads_a_ragged_tuple, (1.0,), "pc-ragged", "refers to a tuple", "as an argument"),
    (reads_a_complex_array, (1.0,), "pc-complex", "complex128", "np.float64"),
    (maps_in_a_loop, (np.ones(2),), "pc-map", "iterating over 'map", "range("),
    (loops_into_a_subscript, (np.ones(2),), "pc-target", "is not a name", "plain names"),
]


@pytest.mark.parametrize("f, args, marker, headline, hint", REFUSED,
                         ids=[r[2] for r in REFUSED])
def test_refusals_name_file_line_construct_and_what_to_do(f, args, marker, headline, hint):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(*args)
    err = info.value
    line = marked_line(marker)
    message = str(err)
    assert err.filename == __file__, message
    assert err.lineno == line, message
    assert f"{__file__}:{line}:" in message
    assert headline in message.splitlines()[0], message
    assert err.construct and err.hint and hint in err.hint, message
    assert "later version" not in message and "not supported yet" not in message


def iterates(x):
    s = 0.0
    for v in x:
        s = s + v
    return s


def test_a_loop_over_a_parameter_given_a_number_says_to_pass_an_array():
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(iterates)(1.5)
    err = info.value
    assert f"iterates() at {__file__}:" in str(err) and "np.asarray" in err.hint
    adc.check_grad(iterates, 0, np.array([1.5, -2.0]))


def test_refusals_come_when_the_gradient_is_built():
    for f, _, marker, _, _ in REFUSED:
        if marker in ("pc-unpack-rows", "pc-tuple-break"):
            continue  # (found when the body is lowered: at the first call)
        with pytest.raises(adc.AdcompileError):
            adc.grad(f)


def test_every_refusal_hint_in_the_front_end_says_what_to_do():
    """No message of the front end and the desugaring still says a construct comes later."""
    root = Path(adc.__file__).parent
    for name in ("frontend.py", "desugar.py", "scopes.py", "constants.py"):
        text = (root / name).read_text()
        for stale in ("later version", "not supported yet", "in a future"):
            assert stale not in text, (name, stale)


# -- np.array of a list comprehension ------------------------------------------------------------

def comprehended(x, W):
    pairs = np.array([x[i] * x[i + 1] for i in range(len(x) - 1)])       # range(n)
    odd = np.asarray([math.sin(v) * v for v in x[1::2]])                  # an array's items
    back = np.stack([x[i] - x[i - 2] for i in range(len(x) - 1, 1, -2)])  # a literal step
    rows = np.array([np.sum(W[i] * x) for i in range(1, W.shape[0])])     # range(a, b)
    s = 0.0
    for j in range(2):                                                    # inside a loop
        z = np.array([x[i] ** (j + 1) for i in range(j, len(x), j + 1)])  # a step that varies
        s = s + np.sum(z * z)
    none = np.array([x[i] for i in range(0)])                             # no items
    return (np.sum(pairs ** 2) + np.sum(odd * x[: odd.shape[0]]) + np.sum(back ** 3)
            + np.sum(np.tanh(rows)) + s + np.sum(none))


def test_np_array_of_a_comprehension_is_the_loop_that_fills_it():
    x = RNG.normal(size=6)
    W = RNG.normal(size=(4, 6))
    g = adc.grad(comprehended, wrt=("x", "W"))
    dx, dW = g(x, W)
    np.testing.assert_allclose(dx, central(comprehended, [x, W], 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(dW, central(comprehended, [x, W], 1), rtol=1e-6, atol=1e-8)
    value, d = adc.jvp(comprehended, wrt="x")(x, W, np.ones(6))
    assert value == pytest.approx(comprehended(x, W), rel=1e-12)
    assert d == pytest.approx(dx.sum(), rel=1e-9)
    assert "for k_" in g.source and "np.zeros(" in g.source  # the loop, with its own names


def rows_of(X):
    return np.sum(np.array([X[i] for i in range(2)]))


def test_np_array_of_a_comprehension_of_arrays_is_refused_clearly():
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(rows_of)(RNG.normal(size=(3, 2)))
    message = str(info.value)
    assert "comprehension whose items are arrays" in message
    assert "Y[i] = ..." in message and "report" not in message


# -- lists built by append ------------------------------------------------------------------------

def trajectory(k, x0, steps):
    xs = []
    x = x0
    n = steps  # the loop's bounds are read where the loop reads them
    for _ in range(n):
        x = x + k * np.sin(x)
        xs.append(x)                       # a number or an array per step
    Y = np.array(xs)
    return np.sum(Y ** 2) + 0.5 * len(xs) * k


def kept_losses(w, X, y):
    out = []
    for i in range(1, X.shape[0], 2):
        if X[i, 0] > 1.0:
            continue                       # skips the append: fewer items than iterations
        out.append((X[i] @ w - y[i]) ** 2)
    return np.mean(out) + 0.1 * sum(out) + 0.01 * np.sum(out)


def summed_rows(w, X):
    acc = []
    for i in range(X.shape[0]):
        acc.append(np.tanh(X[i] * w))
    return np.sum(sum(acc) ** 2)           # Python's sum of arrays: elementwise


@pytest.mark.parametrize("f, args, wrt", [
    (trajectory, (0.1, 0.5, 7), 0),
    (trajectory, (0.1, np.array([0.5, -0.3, 0.9]), 5), 0),
    (trajectory, (0.1, 0.5, 0), 0),                                 # no item
    (kept_losses, (RNG.normal(size=3), RNG.normal(size=(9, 3)), RNG.normal(size=9)), 0),
    (summed_rows, (RNG.normal(size=3), RNG.normal(size=(5, 3))), 0),
])
def test_a_list_built_by_append_in_a_loop_is_the_array_it_becomes(f, args, wrt):
    X = args[1] if f is kept_losses else None
    if X is not None:
        X[1, 0] = 2.0  # the first iteration appends nothing
    value, g = adc.value_and_grad(f, wrt=wrt)(*args)
    assert value == pytest.approx(f(*args), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(g, central(f, list(args), wrt), rtol=1e-6, atol=1e-8)


def appended_under_a_branch(x):
    out = []
    for i in range(len(x)):
        if x[i] > 0:
            out.append(x[i])
    return np.sum(np.array(out))


def read_while_building(x):
    out = []
    for i in range(len(x)):
        out.append(x[i])
        x = x * len(out)
    return np.sum(np.array(out))


@pytest.mark.parametrize("f", [appended_under_a_branch, read_while_building])
def test_other_lists_are_refused_with_the_rewrite(f):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(np.array([0.5, -1.0, 2.0]))
    assert "a list is not supported" in str(info.value)
    assert "np.zeros(n) filled by index" in str(info.value)
