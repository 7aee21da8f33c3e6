"""The reach corpus (benchmarks/reach) loads, and every program runs as plain Python.

adcompile is not involved: this only keeps the corpus itself sound, so that a refusal or a
WRONG in ``benchmarks/reach/run.py`` is about adcompile and never about a broken program.
"""

import contextlib
import inspect
import io
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "reach"))

import corpus  # noqa: E402

PROGRAMS = corpus.load()


def _leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def _run(prog, args):
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("error")
        return prog.func(*args)


def test_corpus_size_and_tags():
    assert len(PROGRAMS) >= 250
    assert len({p.name for p in PROGRAMS}) == len(PROGRAMS)
    cats = Counter(p.category for p in PROGRAMS)
    assert set(cats) >= {"elementwise", "operators", "reductions", "statistics", "shapes",
                         "indexing", "building", "products", "linalg", "constructs",
                         "simulations", "models", "scipy"}
    assert all(n >= 10 for n in cats.values()), cats
    assert all(p.scipy == (p.category == "scipy") for p in PROGRAMS)


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_program_runs_in_plain_python(prog):
    params = list(inspect.signature(prog.func).parameters)
    wrt = prog.wrt if isinstance(prog.wrt, tuple) else (prog.wrt,)
    positions = [w if isinstance(w, int) else params.index(w) for w in wrt]
    args = prog.args()
    assert len(args) == len(params)
    for pos in positions:  # differentiated leaves are floats or float64 arrays
        for leaf in _leaves(args[pos]):
            assert isinstance(leaf, float) or (isinstance(leaf, np.ndarray)
                                               and leaf.dtype == np.float64), (pos, leaf)
    value = np.asarray(_run(prog, args))
    assert value.shape == () and np.isfinite(value)
    again = prog.args()  # the same arguments in every process, not mutated by the program
    assert all(np.array_equal(a, b, equal_nan=True)
               for a, b in zip(_leaves(args), _leaves(again), strict=True))
    assert float(np.asarray(_run(prog, again))) == float(value)
