"""Every error path: an ``AdcompileError`` naming the user's file, line, construct and a hint.

Each offending line below ends with a marker comment; the tests find the line by its marker, so
the expected line numbers follow the file as it is edited.
"""

import contextlib
import math
from pathlib import Path

import pytest

import adcompile as adc

THIS_FILE = Path(__file__).read_text().splitlines()

NAMES = ["a", "b"]
MODULE_CONSTANT = 2.0


def line_of(marker: str) -> int:
    """The 1-based line of this file that ends with ``# <marker>`` (exactly one must)."""
    hits = [i + 1 for i, line in enumerate(THIS_FILE) if line.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, (marker, hits)
    return hits[0]


def raises_located(f, marker: str, construct: str, *args) -> adc.AdcompileError:
    """``grad(f)`` (or, at the latest, its first call) raises an error located at ``marker``."""
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(f)(*(args or (1.5,) * f.__code__.co_argcount))
    err = info.value
    message = str(err)
    line = line_of(marker)
    assert err.filename == __file__
    assert err.lineno == line
    assert f"{__file__}:{line}" in message
    # the construct must be named by the message itself, not only by the echoed source line
    # below it or by the function's name (``uses_try``)
    headline = message.splitlines()[0].replace(f.__name__, "")
    assert construct.lower() in headline.lower(), message
    assert err.hint and f"Hint: {err.hint}" in message
    return err


class Doubler:
    """A callable object: neither a Python function whose body can be differentiated nor a
    primitive with a registered rule."""

    def __call__(self, t):
        return t * 2.0


doubler = Doubler()


# -- unsupported statements and expressions --------------------------------------------------

def uses_try(x):
    try:  # err-try
        y = x * 2.0
    except ValueError:
        y = x
    return y


def uses_with(x):
    with contextlib.suppress(ValueError):  # err-with
        y = x * 2.0
    return y


def uses_yield(x):
    yield x * 2.0  # err-yield


def uses_yield_value(x):
    y = yield x  # err-yield-value
    return y


def uses_global(x):
    global MODULE_CONSTANT  # err-global
    return x * MODULE_CONSTANT


def make_nonlocal():
    scale = 2.0

    def uses_nonlocal(x):
        nonlocal scale  # err-nonlocal
        return x * scale
    return uses_nonlocal


lambda_function = lambda x: x * 2.0  # noqa: E731  # err-lambda-passed


def uses_lambda(x):
    double = lambda t: t * 2.0  # noqa: E731  # err-lambda-body
    return double(x)


def uses_string(x):
    label = "loss"  # err-string
    return x * len(label)


def uses_fstring(x):
    label = f"{x}"  # err-fstring
    return x * len(label)


def calls_unknown(x):
    y = doubler(x)  # err-unknown-call
    return y * 2.0


def calls_math_without_rule(x):
    y = math.remainder(x, 1.5)  # err-unknown-math
    return y * 2.0


def reads_unknown_name(x):
    return x * no_such_name  # noqa: F821  # err-unknown-name


def reads_a_list(x):
    return x * NAMES  # err-list-global


def returns_a_tuple(x):
    y = x * 2.0
    return y, x  # err-tuple-return


def uses_match(x):
    match x:  # err-match
        case 0.0:
            return 0.0
    return x


def uses_assert(x):
    assert x > 0.0  # err-assert
    return x * 2.0


def defines_a_helper(x):
    def double(t):  # err-nested-def
        return t * 2.0
    return double(x)


def builds_a_list(x):
    values = [x, x * 2.0]  # err-list
    return values


def comprehends(x):
    total = sorted([x * k for k in (1.0, 2.0)])[-1]  # err-comprehension
    return total


def imports_inside(x):
    import math as mathematics  # err-import
    return mathematics.sin(x)


def compares_identity(x):
    flag = x is None  # err-is
    return x * flag


def uses_keyword_argument(x):
    return math.log(x, base=2.0)  # err-keyword


def unpacks_a_name(x):
    a, b = x  # err-unpack
    return a * b


LOCATED = [
    (uses_try, "err-try", "try"),
    (uses_with, "err-with", "with"),
    (uses_yield, "err-yield", "yield"),
    (uses_yield_value, "err-yield-value", "yield"),
    (uses_global, "err-global", "global"),
    (make_nonlocal(), "err-nonlocal", "nonlocal"),
    (lambda_function, "err-lambda-passed", "lambda"),
    (uses_string, "err-string", "string"),
    (uses_fstring, "err-fstring", "f-string"),
    (calls_unknown, "err-unknown-call", "doubler"),
    (calls_math_without_rule, "err-unknown-math", "math.remainder"),
    (reads_unknown_name, "err-unknown-name", "no_such_name"),
    (reads_a_list, "err-list-global", "NAMES"),
    (returns_a_tuple, "err-tuple-return", "return"),
    (uses_match, "err-match", "match"),
    (builds_a_list, "err-list", "list"),
    (comprehends, "err-comprehension", "comprehension"),
    (imports_inside, "err-import", "import"),
    (compares_identity, "err-is", "'is'"),
    (uses_keyword_argument, "err-keyword", "keyword"),
    (unpacks_a_name, "err-unpack", "unpacking"),
]


@pytest.mark.parametrize("f, marker, construct", LOCATED, ids=[m for _, m, _ in LOCATED])
def test_error_names_file_line_construct_and_hint(f, marker, construct):
    raises_located(f, marker, construct)


@pytest.mark.parametrize("f, marker, callee", [
    (calls_unknown, "err-unknown-call", "doubler"),
    (calls_math_without_rule, "err-unknown-math", "math.remainder"),
])
def test_unknown_call_hint_says_how_to_register_a_rule(f, marker, callee):
    err = raises_located(f, marker, callee)
    assert "no derivative rule" in str(err).splitlines()[0]
    assert "adcompile.derivative" in err.hint
    assert callee in err.hint


def test_lambdas_asserts_and_nested_helpers_are_differentiated():
    # once refused: a lambda assigned to a name and a nested def are inlined, an assert left
    # out (as under python -O); each of these doubles its argument
    for f in (uses_lambda, uses_assert, defines_a_helper):
        assert adc.grad(f)(1.5) == 2.0


def test_unknown_name_error_names_the_construct():
    err = raises_located(reads_unknown_name, "err-unknown-name", "no_such_name")
    assert err.construct is not None and "name" in err.construct


def test_error_shows_the_offending_source_line():
    err = raises_located(uses_try, "err-try", "try")
    assert "try:  # err-try" in str(err)


def test_adcompile_error_is_an_exception_with_the_facts_as_attributes():
    err = adc.AdcompileError("bad thing", filename="model.py", lineno=7, construct="a thing",
                             hint="do it differently")
    assert isinstance(err, Exception)
    assert (err.filename, err.lineno, err.construct, err.hint) == (
        "model.py", 7, "a thing", "do it differently")
    assert str(err).splitlines()[0] == "model.py:7: bad thing"
    assert str(err).splitlines()[-1] == "Hint: do it differently"


# -- functions without source -------------------------------------------------------------------

def test_function_without_source(tmp_path):
    filename = str(tmp_path / "vanished.py")  # never written: no source to read
    namespace = {}
    exec(compile("\n\ndef vanished(x):\n    return x * 2.0\n", filename, "exec"), namespace)
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(namespace["vanished"])
    err = info.value
    assert err.filename == filename
    assert err.lineno == 3
    assert f"{filename}:3" in str(err)
    assert "source" in str(err)
    assert err.hint


@pytest.mark.parametrize("thing", [3.0, "f"])
def test_not_a_function(thing):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(thing)
    assert info.value.hint


def test_builtin_function_cannot_be_differentiated():
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(math.sin)
    assert "sin" in str(info.value)
    assert info.value.hint


# -- wrt -----------------------------------------------------------------------------------------

def two_parameters(x, y):
    return x * y  # err-wrt-def


WRT_ERRORS = [
    ("z", "'z'"),
    (("x", "nope"), "'nope'"),
    (2, "2"),
    (-3, "-3"),
    ((0, 0), "'x'"),
    (("y", 1), "'y'"),
    (1.0, "1.0"),
    (None, "None"),
    (True, "True"),
    ((), "()"),
]


@pytest.mark.parametrize("wrt, shown", WRT_ERRORS, ids=[repr(w) for w, _ in WRT_ERRORS])
def test_bad_wrt_names_the_value_and_has_a_hint(wrt, shown):
    with pytest.raises(adc.AdcompileError) as info:
        adc.grad(two_parameters, wrt=wrt)
    err = info.value
    assert shown in str(err)
    assert err.construct == "wrt"
    assert err.hint and f"Hint: {err.hint}" in str(err)


@pytest.mark.parametrize("wrt", ["z", 2])
def test_bad_wrt_names_the_function_and_where_it_is_defined(wrt):
    with pytest.raises(adc.AdcompileError) as info:
        adc.value_and_grad(two_parameters, wrt=wrt)
    err = info.value
    assert "two_parameters" in str(err)
    assert err.filename == __file__
    assert err.lineno == line_of("err-wrt-def") - 1
    assert f"{__file__}:{err.lineno}" in str(err)


# -- calling the gradient with the wrong arguments ---------------------------------------------

def plain(x, y):
    return x * y + math.sin(x)  # err-plain


@pytest.mark.parametrize("args, shown", [(("a", 1.0), "a str"), ((None, 1.0), "is None")])
def test_wrong_argument_types_raise_a_readable_error(args, shown):
    d = adc.grad(plain, wrt=(0, 1))
    with pytest.raises(adc.AdcompileError) as info:
        d(*args)
    message = str(info.value)
    assert "plain" in message
    assert f"{__file__}:{line_of('err-plain') - 1}" in message
    assert shown in message
    assert info.value.hint
    assert "\x1b[" not in message  # no terminal colour codes
    assert "Traceback" not in message
