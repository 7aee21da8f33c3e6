"""The cache: generated modules under ``$ADCOMPILE_CACHE_DIR``, reused by a fresh process.

The cross-process tests run a small script in a fresh Python (``subprocess``) against a user
module written to a temporary directory, and read back what happened: the module file used,
its modification time, and Numba's cache hits and misses for the gradient.
"""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import adcompile as adc


def cached_cube(x, y):
    return x * x * x + 2.0 * y


USER_MODULE = """\
import math


def model(x, y):
    return x * math.sin(y) + {scale} * y * y
"""

RUNNER = """\
import json
import os

import adcompile as adc
import usermodel

grad = adc.grad(usermodel.model, wrt=(0, 1))
dx, dy = grad(1.25, 0.5)
path = grad.module_path
print(json.dumps({
    "path": path,
    "mtime_ns": os.stat(path).st_mtime_ns,
    "hits": sum(grad.stats.cache_hits.values()),
    "misses": sum(grad.stats.cache_misses.values()),
    "grad": [dx, dy],
}))
"""


def run_fresh(workdir: Path, cache: Path) -> dict:
    """Run the runner script in a fresh interpreter; its JSON report."""
    # an optimizing level, as users run: at NUMBA_OPT=0 (tests/conftest.py) LLVM may leave
    # dynamic globals in the code, which Numba does not cache
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1",
               NUMBA_OPT="1")
    done = subprocess.run([sys.executable, "runner.py"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_user_module(workdir: Path, scale: float) -> None:
    (workdir / "usermodel.py").write_text(USER_MODULE.format(scale=scale))


def expected_grad(scale: float, x: float = 1.25, y: float = 0.5) -> list[float]:
    return [math.sin(y), x * math.cos(y) + 2.0 * scale * y]


def test_generated_module_is_written_under_the_cache_dir(tmp_path, monkeypatch):
    cache = tmp_path / "adcompile-cache"
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(cache))
    grad = adc.grad(cached_cube, wrt=(0, 1))
    path = Path(grad.module_path)
    assert path.parent == cache
    assert path.suffix == ".py" and path.is_file()
    assert path.read_text().count("def grad_cached_cube(x, y):") == 1
    assert grad(2.0, 1.0) == pytest.approx((12.0, 2.0), rel=1e-12)
    assert (cache / "__pycache__").is_dir()  # Numba's on-disk cache, next to the module


def test_fresh_process_with_a_warm_cache_neither_regenerates_nor_recompiles(tmp_path):
    workdir = tmp_path / "project"
    workdir.mkdir()
    cache = tmp_path / "cache"
    write_user_module(workdir, 3.0)
    (workdir / "runner.py").write_text(RUNNER)

    cold = run_fresh(workdir, cache)
    path = Path(cold["path"])
    assert path.parent == cache and path.is_file()
    assert cold["misses"] == 1 and cold["hits"] == 0
    assert cold["grad"] == pytest.approx(expected_grad(3.0), rel=1e-12)
    index_files = sorted(p.name for p in (cache / "__pycache__").glob("*.nbi"))
    assert index_files

    warm = run_fresh(workdir, cache)
    assert warm["path"] == cold["path"]
    assert warm["mtime_ns"] == cold["mtime_ns"]  # the module was not written again
    assert warm["misses"] == 0 and warm["hits"] == 1  # machine code loaded, not compiled
    assert warm["grad"] == cold["grad"]
    assert sorted(p.name for p in (cache / "__pycache__").glob("*.nbi")) == index_files

    write_user_module(workdir, 5.0)
    changed = run_fresh(workdir, cache)
    assert changed["path"] != cold["path"]
    assert Path(changed["path"]).parent == cache
    assert changed["misses"] == 1
    assert changed["grad"] == pytest.approx(expected_grad(5.0), rel=1e-12)
    assert path.is_file()  # the other function's entry is left alone


def test_changed_source_gives_a_different_module_in_process(tmp_path, monkeypatch):
    """Two functions of the same name whose source differs get different module files."""
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    paths = []
    for scale in (2.0, 7.0):
        name = f"variant_{int(scale)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(f"""\
            def twice(x):
                return {scale} * x * x
            """))
        namespace: dict = {}
        code = compile((tmp_path / f"{name}.py").read_text(), str(tmp_path / f"{name}.py"),
                       "exec")
        exec(code, namespace)
        grad = adc.grad(namespace["twice"])
        assert grad(1.5) == pytest.approx(2 * scale * 1.5, rel=1e-12)
        paths.append(grad.module_path)
    assert paths[0] != paths[1]
    assert all(Path(p).parent == tmp_path for p in paths)


def squared_distance(w, x):
    return np.sum((w - x) ** 2)


def test_the_scalar_check_of_a_loss_is_kept_beside_its_module(tmp_path, monkeypatch):
    """A gradient that never computes the loss types the loss once to check it is a number;
    the answer is kept beside the module (``.scalar``) for the next process, per argument
    types, and an array-returning function is never recorded as checked."""
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    grad = adc.grad(squared_distance)
    np.testing.assert_allclose(grad(np.ones(3), np.zeros(3)), 2.0 * np.ones(3))
    marker = Path(grad.module_path).with_suffix(".scalar")
    lines = marker.read_text().splitlines()
    assert len(lines) == 1 and "Array(float64, 1, " in lines[0]
    grad(np.ones((2, 2)), np.zeros((2, 2)))  # other argument types: checked too
    assert len(marker.read_text().splitlines()) == 2


UNCACHEABLE_RUNNER = """\
import numpy as np

import adcompile as adc


def loss(x):
    return np.sum(np.tanh(x) * 1.7)


print(repr(adc.grad(loss)(np.array([0.3, -0.5, 1.0])).tolist()))
"""


def test_kernels_numba_cannot_cache_still_compile(tmp_path):
    """At NUMBA_OPT=0 LLVM leaves dynamic globals in kernels, which Numba does not cache: it
    warns, naming the kernel's file, and the gradient works (it used to fail in the warning,
    on the cache locator of adcompile's kernels).  A fresh process and an empty Numba cache,
    so that the kernels compile there."""
    (tmp_path / "runner.py").write_text(UNCACHEABLE_RUNNER)
    env = dict(os.environ, NUMBA_OPT="0", NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               ADCOMPILE_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "runner.py"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    x = np.array([0.3, -0.5, 1.0])
    np.testing.assert_allclose(eval(done.stdout), 1.7 * (1.0 - np.tanh(x) ** 2), rtol=1e-12)
