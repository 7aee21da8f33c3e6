"""The source adcompile reads is the source of the code that runs.

A module file edited after import (and not reloaded) is refused rather than read at the old
line; a decorated function is refused unless its wrapper only forwards its arguments, in which
case the inner function's source, globals and closure are used together.  Each user module is
written to a temporary directory and imported; gradients are checked against float64 central
differences of the user's functions.
"""

import importlib
import sys
import textwrap

import pytest
from conftest import central_difference

import adcompile as adc
from adcompile.frontend import parse_function

EDITED = """\
SCALE = 2.0


def loss(x, y):
    t = x * y  # a comment
    return SCALE * t * t + x
"""

X, Y = 0.7, 1.3


@pytest.fixture
def import_module(tmp_path, monkeypatch):
    """Write ``name.py`` with ``text`` under ``tmp_path`` and import it (fresh)."""
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    names = []

    def load(name, text):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        names.append(name)
        return importlib.import_module(name), tmp_path / f"{name}.py"

    yield load
    for name in names:
        sys.modules.pop(name, None)


def check(f, args, wrt=(0, 1)):
    grad = adc.grad(f, wrt=wrt)
    expected = [central_difference(f, args, i) for i in wrt]
    assert list(grad(*args)) == pytest.approx(expected, rel=1e-7)


# -- a file edited after import --------------------------------------------------------------

def test_a_function_inserted_above_is_refused_until_reloaded(import_module):
    module, path = import_module("edited_above", EDITED)
    check(module.loss, (X, Y))
    path.write_text(EDITED.replace("\n\ndef loss", "\n\ndef other(x):\n    return x\n\n"
                                   "\ndef loss"))
    with pytest.raises(adc.AdcompileError, match="changed since it was imported") as info:
        adc.grad(module.loss, wrt=(0, 1))
    assert "reload" in info.value.hint
    assert info.value.filename == str(path)
    module = importlib.reload(module)
    check(module.loss, (X, Y))


def test_an_edited_body_is_refused(import_module):
    module, path = import_module("edited_body", EDITED)
    path.write_text(EDITED.replace("SCALE * t * t + x", "SCALE * t * t - x"))
    with pytest.raises(adc.AdcompileError, match="changed since it was imported"):
        parse_function(module.loss)
    path.write_text(EDITED.replace("def loss(x, y):", "def loss(y, x):"))
    with pytest.raises(adc.AdcompileError, match="parameters"):
        parse_function(module.loss)


def test_edits_that_do_not_change_the_code_are_accepted(import_module):
    module, path = import_module("edited_comment", EDITED)
    path.write_text(EDITED.replace("# a comment", "# another comment, longer")
                    .replace("    return", "\n    return"))
    check(module.loss, (X, Y))


def test_a_helper_edited_after_import_is_refused(import_module):
    module, path = import_module("edited_helper", """\
        def helper(x):
            return x * x


        def outer(x, y):
            return helper(x) * y
        """)
    path.write_text(path.read_text().replace("return x * x", "return x * x * x"))
    with pytest.raises(adc.AdcompileError, match="helper changed since it was imported"):
        adc.grad(module.outer, wrt=(0, 1))


def test_closures_class_functions_and_imports_are_not_mistaken_for_edits(import_module):
    module, _ = import_module("identity_shapes", """\
        import math
        import math as m
        from math import exp


        def make(k):
            def scaled(x, y):
                return k * m.sin(x) * exp(y) + math.cos(y)
            return scaled


        class Holder:
            @staticmethod
            def private(x, y):
                __t = x * y
                return __t * __t
        """)
    check(module.make(3.0), (X, Y))
    parse_function(module.Holder.private)


def test_long_functions_calling_module_functions_are_not_mistaken_for_edits(import_module):
    # ``math.sin(x)`` compiles to a longer method call in the lone def than in the module
    # (which imports math), so the jump over the branch needs a prefix in one and not the
    # other: the check must not care
    body = "".join(f"        y = y + math.sin(x * {k})\n" for k in range(8))
    module, _ = import_module("identity_long", "import math\n\n\ndef long(x, y):\n"
                              "    if x > 0.5:\n" + body + "    else:\n"
                              "        y = y - math.cos(y)\n    return y * x\n")
    check(module.long, (X, Y))


# -- decorated functions ---------------------------------------------------------------------

DECORATORS = """\
import functools

SCALE = 100.0


def passthrough(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        \"\"\"Forward everything.\"\"\"
        return fn(*args, **kwargs)
    return wrapper


def tenfold(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 10.0 * fn(*args, **kwargs)
    return wrapper


def shifted(fn):
    @functools.wraps(fn)
    def wrapper(x, y):
        return fn(x + 1.0, y)
    return wrapper
"""

DECORATED = """\
from decolib import passthrough, shifted, tenfold

SCALE = 2.0


@passthrough
def plain(x, y):
    return SCALE * x * x * y


@passthrough
@passthrough
def twice(x, y):
    return SCALE * x * y * y


@tenfold
def scaled(x, y):
    return SCALE * x * x * y


@shifted
def moved(x, y):
    return x * x * y
"""


@pytest.fixture
def decorated(import_module):
    import_module("decolib", DECORATORS)
    module, _ = import_module("decorated", DECORATED)
    return module


def test_a_pass_through_decorator_uses_the_inner_functions_globals(decorated):
    # SCALE is 2.0 where plain() is defined and 100.0 where the wrapper is
    check(decorated.plain, (X, Y))
    check(decorated.twice, (X, Y))
    assert parse_function(decorated.plain).bindings == {"SCALE": 2.0}


@pytest.mark.parametrize("name", ["scaled", "moved"])
def test_a_decorator_that_changes_the_result_is_refused(decorated, name):
    f = getattr(decorated, name)
    with pytest.raises(adc.AdcompileError, match="decorator") as info:
        adc.grad(f, wrt=(0, 1))
    assert f"{name}.__wrapped__" in info.value.hint
    assert info.value.construct == "a decorated function"
    check(f.__wrapped__, (X, Y))
