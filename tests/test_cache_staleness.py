"""The cache key covers everything the generated code depends on, not just the user's source.

A helper's callee, a module constant a helper reads and a helper's default values are inlined
into the generated module; editing any of them must give a new entry, both for a fresh process
(the on-disk cache) and within one process (the in-memory memo).  Every expected gradient comes
from float64 central differences of the user's code as it is after the edit.
"""

import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from conftest import central_difference

import adcompile as adc
from adcompile import codegen
from adcompile.frontend import parse_function

USER_MODULE = """\
import numpy as np

C = {c}


def g1(x):
    return {g1}


def h1(x):
    return g1(x) * x


def f1(x):
    return h1(x) + 1.0


def h2(x):
    return C * x * x


def f2(x):
    return h2(x) - x


def h3(x, k={k}):
    return k * x ** 3


def f3(x):
    return h3(x) + x


def h4(u):
    u[0] = {h4}


def f4(x):
    u = np.ones(2) * x
    h4(u)  # inlined (adcompile/inplace.py): its source is in the key all the same
    return np.sum(u) * x
"""

BEFORE = {"c": 3.0, "g1": "2.0 * x", "k": 1.5, "h4": "2.0 * u[0]"}
AFTER = {"c": 7.0, "g1": "5.0 * x * x", "k": 4.0, "h4": "u[0] * u[1] * 3.0"}

RUNNER = """\
import json

import adcompile as adc
import stalemod

out = {}
for name in ("f1", "f2", "f3", "f4"):
    grad = adc.grad(getattr(stalemod, name))
    out[name] = [grad(1.3), grad.module_path]
print(json.dumps(out))
"""

X = 1.3


def oracle(values: dict) -> dict:
    """d f_i / dx at X by central differences of the module's code with ``values``."""
    namespace: dict = {}
    exec(USER_MODULE.format(**values), namespace)
    return {name: central_difference(namespace[name], (X,), 0)
            for name in ("f1", "f2", "f3", "f4")}


def run_fresh(workdir: Path, cache: Path) -> dict:
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(Path(adc.__file__).parent.parent), NUMBA_OPT="1")  # cacheable
    done = subprocess.run([sys.executable, "runner.py"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_fresh_process_sees_edits_to_a_helpers_callee_constant_and_default(tmp_path):
    workdir = tmp_path / "project"
    workdir.mkdir()
    cache = tmp_path / "cache"
    (workdir / "runner.py").write_text(RUNNER)

    (workdir / "stalemod.py").write_text(USER_MODULE.format(**BEFORE))
    first = run_fresh(workdir, cache)
    for name, expected in oracle(BEFORE).items():
        assert first[name][0] == pytest.approx(expected, rel=1e-7), name

    (workdir / "stalemod.py").write_text(USER_MODULE.format(**AFTER))
    second = run_fresh(workdir, cache)
    for name, expected in oracle(AFTER).items():
        assert second[name][0] == pytest.approx(expected, rel=1e-7), name
        assert second[name][1] != first[name][1], name  # a new entry beside the old one
    assert all(Path(first[name][1]).is_file() for name in first)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A fresh ``stalemod_inproc`` module written to ``tmp_path`` and imported."""
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "stalemod_inproc.py"
    path.write_text(USER_MODULE.format(**BEFORE))
    sys.modules.pop("stalemod_inproc", None)
    module = importlib.import_module("stalemod_inproc")
    yield module, path
    sys.modules.pop("stalemod_inproc", None)


def test_in_process_a_changed_constant_read_by_a_helper_gives_the_new_gradient(user_module):
    module, _ = user_module
    before = adc.grad(module.f2)
    assert before(X) == pytest.approx(central_difference(module.f2, (X,), 0), rel=1e-7)
    module.C = 11.0
    after = adc.grad(module.f2)
    assert after(X) == pytest.approx(central_difference(module.f2, (X,), 0), rel=1e-7)
    assert after(X) == pytest.approx(2 * 11.0 * X - 1.0, rel=1e-12)
    assert after.module_path != before.module_path


def test_in_process_a_redefined_callee_of_a_helper_gives_the_new_gradient(user_module):
    module, path = user_module
    assert adc.grad(module.f1)(X) == pytest.approx(central_difference(module.f1, (X,), 0),
                                                  rel=1e-7)
    path.write_text(USER_MODULE.format(**AFTER))
    module = importlib.reload(module)  # new g1, h3 default, h4 and C; f1 and h1 as before
    for name in ("f1", "f2", "f3", "f4"):
        f = getattr(module, name)
        assert adc.grad(f)(X) == pytest.approx(central_difference(f, (X,), 0), rel=1e-7), name


def test_key_covers_version_and_helper_defaults(user_module, monkeypatch):
    module, _ = user_module
    info = parse_function(module.f3)
    key = codegen._cache_key(info, ["x"], False)
    assert codegen._cache_key(info, ["x"], False) == key  # stable
    monkeypatch.setattr(module.h3, "__defaults__", (2.5,))
    changed = codegen._cache_key(info, ["x"], False)
    assert changed != key
    monkeypatch.setattr(adc, "__version__", adc.__version__ + ".post1")
    assert codegen._cache_key(info, ["x"], False) not in (key, changed)


def test_no_warning_for_a_usable_cache(user_module):
    module, _ = user_module
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adc.grad(module.f3)(X)
