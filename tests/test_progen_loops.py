"""Random programs with lists, tables and log-space recursions as scientists write them
(``progen.LOOP_KINDS``): the list forms that work and the classes fixed after the sweep of
tests/test_reach_loops4.py, each checked like the differential tester's programs: against
float64 central differences of the plain Python function, or refused with
``AdcompileError``.  Anything else (a wrong value or gradient, a raw exception, a changed
argument) fails.

Each kind is drawn first in its programs (``programs(first=kind)``), followed by up to one
snippet of any loop kind; the seed is fixed, so the programs are the same in every run.
"""

import math

import numpy as np
import progen
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

#: programs drawn and compiled for each kind (a compilation each: keep the file near a minute)
PER_KIND = 2
#: programs drawn for each kind and only run as plain Python (the generator's own check)
PLAIN_PER_KIND = 40
SEED = 20261204


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("loops")


@pytest.mark.parametrize("kind", progen.LOOP_KINDS)
def test_loop_programs_match_finite_differences(kind, program_dir):
    statuses = progen.check_drawn(progen.LOOP_KINDS, kind, PER_KIND, SEED, program_dir)
    assert len(statuses) == PER_KIND and "ok" in statuses


@pytest.mark.parametrize("kind", progen.LOOP_KINDS)
def test_loop_programs_run_as_plain_python(kind, program_dir):
    # the snippets are valid Python with a finite value at every point drawn, and say what
    # they draw (the features the long profile tallies)
    features = set()

    @settings(max_examples=PLAIN_PER_KIND, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @seed(SEED)
    @given(progen.programs(statements=2, kinds=progen.LOOP_KINDS, first=kind))
    def run(program):
        f = progen.load(program_dir, program.source)
        for point in program.points:
            value = f(*point)
            assert np.ndim(value) == 0 and math.isfinite(value), program.source
        features.update(program.features)

    run()
    assert features & {"list", "filled-list", "chained-index", "log-space", "np-array-copy",
                       "inf-table", "row-loops", "tuple-loops", "ordinary-forms",
                       "loop-else", "sorted-copy", "unpacking"}
