"""Numba's disk cache of adcompile's own kernels (``adcompile/kernel_cache.py``).

A cached kernel is fresh only for the exact source of the whole package, since kernels of one
module call those of others: the entries carry the package's hash as their stamp, where Numba
would use the time stamp of the kernel's own file.  Functions outside the package keep Numba's
own rule."""

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numba
import numpy as np

from adcompile import kernel_cache


def _entries(directory: Path) -> dict[str, int]:
    """How many compiled signatures each Numba index under ``directory`` holds."""
    out = {}
    for index in directory.rglob("*.nbi"):
        with open(index, "rb") as f:
            pickle.load(f)
            _, overloads = pickle.loads(f.read())
        out[index.name] = len(overloads)
    return out


def _index_stamps(directory: Path, name_part: str) -> list[object]:
    """The source stamps recorded in the Numba index files under ``directory`` whose name
    contains ``name_part`` (an index file: Numba's version, then a pickle of (stamp, ...))."""
    stamps = []
    for index in directory.rglob("*.nbi"):
        if name_part in index.name:
            with open(index, "rb") as f:
                pickle.load(f)
                stamp, _ = pickle.loads(f.read())
            stamps.append(stamp)
    return stamps


_CHILD = textwrap.dedent("""
    import numpy as np
    import adcompile as adc

    def loss(W, x, n):
        s = 0.0
        for i in range(n):
            h = np.tanh(W @ x)
            s += np.mean(h * h) / (i + 1) + np.sum(np.exp(-x * x))
        return s

    W = np.arange(6.0).reshape(2, 3) / 10.0
    x = np.array([0.5, -1.0, 2.0])
    dW = adc.grad(loss, wrt="W")(W, x, 4)
    worst = 0.0
    for k in np.ndindex(W.shape):
        hi, lo = W.copy(), W.copy()
        hi[k] += 1e-6
        lo[k] -= 1e-6
        fd = (loss(hi, x, 4) - loss(lo, x, 4)) / 2e-6
        worst = max(worst, abs(fd - dW[k]) / max(1.0, abs(fd)))
    print(worst)
""")


def test_kernels_are_cached_with_the_package_stamp(tmp_path, monkeypatch):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    entries = []
    for run in range(2):  # a new gradient module each time: its kernels come from the cache
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), NUMBA_OPT="1",
                   ADCOMPILE_CACHE_DIR=str(tmp_path / f"adc{run}"))
        out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert float(out) < 1e-6  # the largest error against central differences
        entries.append(_entries(tmp_path / "numba"))
    # the second process found every kernel the first had cached: no index gained an entry
    # (a key that differs between processes would add one each time, and never be found)
    assert entries[0] == entries[1]
    # kernels of several modules were cached, each stamped with the package's hash
    stamps = _index_stamps(tmp_path / "numba", "kernels")
    assert stamps, "no kernel was cached"
    monkeypatch.setattr(kernel_cache, "_STAMP", [])  # the source as the children read it
    assert all(s == kernel_cache.package_stamp() for s in stamps)



def test_each_optimisation_level_has_its_own_entries(tmp_path):
    """A kernel cached by a process at one NUMBA_OPT is not what a process at another loads
    (the suite compiles at 0; a program at Numba's default level must get optimised code)."""
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    entries = []
    for level in ("1", "3"):
        env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"), NUMBA_OPT=level,
                   ADCOMPILE_CACHE_DIR=str(tmp_path / f"adc{level}"))
        out = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                             text=True, check=True).stdout
        assert float(out) < 1e-6
        entries.append(_entries(tmp_path / "numba"))
    kernels = [name for name in entries[0] if name.startswith("kernels")]
    assert kernels
    assert all(entries[1][name] == 2 * entries[0][name] for name in kernels)

@numba.njit(cache=True)
def _outside(x):
    return x + 1.0


def test_functions_outside_the_package_keep_numbas_stamp(tmp_path, monkeypatch):
    locator = kernel_cache._PackageLocator.from_function(_outside.py_func, __file__)
    assert locator is None
    from adcompile import kernels
    inner = kernel_cache._PackageLocator.from_function(kernels._dims.py_func, kernels.__file__)
    assert inner is not None
    assert inner.get_source_stamp() == kernel_cache.package_stamp()
    assert np.isclose(_outside(1.0), 2.0)


def test_the_stamp_follows_the_source(tmp_path, monkeypatch):
    """The stamp is a hash of every file of the package: another text, another stamp."""
    monkeypatch.setattr(kernel_cache, "_STAMP", [])
    first = kernel_cache.package_stamp()
    root = Path(kernel_cache.__file__).parent
    copy = tmp_path / "adcompile"
    copy.mkdir()
    for path in root.rglob("*.py"):
        target = copy / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    monkeypatch.setattr(kernel_cache, "__file__", str(copy / "kernel_cache.py"))
    monkeypatch.setattr(kernel_cache, "_STAMP", [])
    assert kernel_cache.package_stamp() == first
    (copy / "stack.py").write_text((copy / "stack.py").read_text() + "\n# edited\n")
    monkeypatch.setattr(kernel_cache, "_STAMP", [])
    assert kernel_cache.package_stamp() != first
