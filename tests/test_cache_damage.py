"""Damaged, unusable or full caches: the gradient is still right, and the cache heals.

A generated module that is truncated, emptied or garbled is detected and written again; Numba
index (``.nbi``) and data (``.nbc``) files that cannot be read make the function compile again
instead of failing; an unusable cache directory gives one warning and a fallback; a full disk
leaves no temporary files behind.  "A later process" is simulated by clearing the in-memory
memo of loaded modules (one test runs real fresh processes).  Expected gradients come from
float64 central differences.
"""

import errno
import json
import math
import os
import stat
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numba.core.caching
import pytest
from conftest import central_difference

import adcompile as adc
from adcompile import codegen


def damaged_loss(x, y):
    return x * math.sin(y) + 0.5 * y * y * x


X, Y = 1.25, 0.5


def expected():
    return [central_difference(damaged_loss, (X, Y), i) for i in (0, 1)]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache directory, an empty memo and warning state, and a private tempdir."""
    path = tmp_path / "cache"
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(path))
    monkeypatch.setattr(codegen, "_LOADED", {})
    monkeypatch.setattr(codegen, "_WARNED", set())
    monkeypatch.setattr(codegen, "_FALLBACK", [])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp))
    return path


def later_process(monkeypatch):
    """Forget the modules loaded so far, as a fresh process would."""
    monkeypatch.setattr(codegen, "_LOADED", {})


def gradient():
    grad = adc.grad(damaged_loss, wrt=(0, 1))
    return grad, list(grad(X, Y))


def debris(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp" in p.name]


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def truncate_at_a_line(data: bytes) -> bytes:
    """Cut before the last function's return: still parses."""
    return data[: data.rindex(b"    return")]


def garble(data: bytes) -> bytes:
    return b"\xff\xfe\x00garbage" + bytes(range(256)) + data[40:]


def empty(data: bytes) -> bytes:
    return b""


@pytest.mark.parametrize("damage", [truncate, truncate_at_a_line, garble, empty])
def test_a_damaged_generated_module_is_written_again(cache, monkeypatch, damage):
    grad, first = gradient()
    path = Path(grad.module_path)
    good = path.read_bytes()
    path.write_bytes(damage(good))

    later_process(monkeypatch)
    grad, again = gradient()
    assert again == pytest.approx(expected(), rel=1e-7)
    assert Path(grad.module_path) == path
    assert path.read_bytes() == good  # replaced by the whole module
    assert not debris(cache)


def test_a_module_without_a_function_it_should_define_is_damaged(cache, monkeypatch):
    grad, _ = gradient()
    path = Path(grad.module_path)
    text = path.read_text()
    names = {"grad": grad.__name__}
    assert codegen._read(path, names) == (text[: text.rindex("# adcompile sha256")], False)
    assert codegen._read(path, {"grad": "no_such_function"})[0] is None
    body = text[: text.rindex("# adcompile sha256")].replace("# Bound when loaded", "# x")
    assert not codegen._intact(body + "\ndef extra(x):\n    return unbound(x)\n",
                               {"grad": grad.__name__})


def numba_files(cache: Path, suffix: str) -> list[Path]:
    return sorted((cache / "__pycache__").glob(f"damaged_loss_*{suffix}"))


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
@pytest.mark.parametrize("damage", [truncate, garble, empty])
def test_damaged_numba_cache_files_make_the_function_compile_again(cache, monkeypatch,
                                                                   suffix, damage):
    grad, _ = gradient()
    files = numba_files(cache, suffix)
    assert files
    for path in files:
        path.write_bytes(damage(path.read_bytes()))

    later_process(monkeypatch)
    grad, again = gradient()
    assert again == pytest.approx(expected(), rel=1e-7)
    assert sum(grad.stats.cache_misses.values()) == 1  # compiled, not loaded

    later_process(monkeypatch)  # the entry was written anew: the next process loads it
    grad, healed = gradient()
    assert healed == again
    assert sum(grad.stats.cache_hits.values()) == 1
    assert not debris(cache)


def test_an_unusable_cache_dir_gives_one_warning_and_a_fallback(cache, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    bad = blocker / "cache"
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(bad))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad, value = gradient()
        other = adc.grad(damaged_loss, wrt=1)
        assert other(X, Y) == pytest.approx(expected()[1], rel=1e-7)
    assert value == pytest.approx(expected(), rel=1e-7)
    ours = [w for w in caught if "adcompile" in str(w.message)]
    assert len(ours) == 1, [str(w.message) for w in caught]
    fallback = Path(grad.module_path).parent
    assert str(bad) in str(ours[0].message) and str(fallback) in str(ours[0].message)
    assert fallback.is_relative_to(tmp_path / "tmp")


def test_a_cache_dir_that_cannot_be_written_falls_back(cache, monkeypatch):
    cache.mkdir()
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root writes anywhere: refuse by hand
        real = tempfile.TemporaryFile

        def refusing(*args, dir=None, **kwargs):
            if dir is not None and Path(dir) == cache:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "TemporaryFile", refusing)
    else:
        cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(UserWarning, match="not usable"):
            grad, value = gradient()
    finally:
        cache.chmod(stat.S_IRWXU)
    assert value == pytest.approx(expected(), rel=1e-7)
    assert Path(grad.module_path).parent != cache
    assert not list(cache.iterdir())


def test_files_are_created_with_the_umask_like_numbas(cache):
    old = os.umask(0o002)
    try:
        grad, value = gradient()
    finally:
        os.umask(old)
    assert value == pytest.approx(expected(), rel=1e-7)
    files = [Path(grad.module_path), *numba_files(cache, ".nbi"), *numba_files(cache, ".nbc")]
    assert len(files) >= 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o664, path


class _FullDisk:
    """A file open for writing on a full disk: the first write fails with ENOSPC."""

    def __init__(self, fh):
        self._fh = fh

    def write(self, data):
        self._fh.write(bytes(data)[:7])  # a partial write before the failure
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


def test_a_full_disk_leaves_no_debris_and_the_gradient_works(cache, monkeypatch):
    real_open = open

    def full_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return _FullDisk(fh) if "w" in mode else fh

    def full_write(fh, data):
        fh.write(data[:10])
        fh.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(codegen, "_write_all", full_write)
    monkeypatch.setattr(numba.core.caching, "open", full_open, raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        grad, value = gradient()
        value_and_grad = adc.value_and_grad(damaged_loss, wrt=(0, 1))
        loss, grads = value_and_grad(X, Y)
    assert value == pytest.approx(expected(), rel=1e-7)
    assert list(grads) == pytest.approx(expected(), rel=1e-7)
    assert loss == pytest.approx(damaged_loss(X, Y), rel=1e-12)
    assert "def grad_damaged_loss(x, y):" in grad.source
    assert [w for w in caught if "No space left" in str(w.message)]
    assert not debris(cache)
    assert not list(cache.glob("*.py"))  # nothing half-written was left to be found later
    assert not list(cache.rglob("*.nb[ic]"))

    monkeypatch.undo()  # the disk has room again: the next process writes the entry
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(cache))
    later_process(monkeypatch)
    grad, again = gradient()
    assert again == value
    assert Path(grad.module_path).is_file()


RUNNER = """\
import json

import adcompile as adc
import damagedmod

grad = adc.grad(damagedmod.model, wrt=(0, 1))
print(json.dumps({"grad": list(grad(1.25, 0.5)), "path": grad.module_path,
                  "hits": sum(grad.stats.cache_hits.values())}))
"""

USER_MODULE = """\
import math


def model(x, y):
    return x * math.sin(y) + 3.0 * y * y
"""


def test_fresh_processes_recover_from_a_garbled_cache(tmp_path):
    workdir = tmp_path / "project"
    workdir.mkdir()
    cache = tmp_path / "cache"
    (workdir / "damagedmod.py").write_text(USER_MODULE)
    (workdir / "runner.py").write_text(RUNNER)
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(cache), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=str(Path(adc.__file__).parent.parent), NUMBA_OPT="1")  # cacheable

    def run() -> dict:
        done = subprocess.run([sys.executable, "runner.py"], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    namespace: dict = {}
    exec(USER_MODULE, namespace)
    oracle = [central_difference(namespace["model"], (1.25, 0.5), i) for i in (0, 1)]
    first = run()
    assert first["grad"] == pytest.approx(oracle, rel=1e-7)
    for path in [Path(first["path"]), *(cache / "__pycache__").iterdir()]:
        path.write_bytes(garble(path.read_bytes()))
    damaged = run()
    assert damaged["grad"] == first["grad"]
    healed = run()
    assert healed["grad"] == first["grad"] and healed["hits"] == 1
