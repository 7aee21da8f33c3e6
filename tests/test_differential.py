"""The differential tester: random programs across types and shapes, each differentiated by
adcompile and compared with float64 central finite differences of the plain Python function.

``tests/progen.py`` generates the programs (Hypothesis strategies) and runs them.  A program
is a module with up to two scalar helpers (with default arguments, loops and branches), maybe
one helper taking an array, and ``f``, which mixes:

- float, int and bool parameters and literals: a float parameter is sometimes passed as a
  Python int; accumulators start from int literals (``r = 1``, ``r = 0``) and are multiplied
  or added with floats in loops; int operands (``n``, ``k``, ``len(u)``, ``m[1]``);
- integer powers, negative ones included (``x ** -2``, ``2 ** -k``, ``a * k ** -1``,
  ``e ** 0``, ``(1.5 + e * e) ** n``);
- tuples passed to calls (``np.array((a, b))``, ``np.concatenate``, ``np.hstack``,
  ``np.stack``, ``np.vstack``, ``np.column_stack``, ``max((a, 2 * a))``, ``min``,
  ``math.fsum``);
- float64 arrays of shape ``(3,)`` and ``(2, 3)`` and int64 data arrays; stores into
  elements, rows and slices of local arrays, in loops too; reads through a view of a local
  copy followed by writes into it; indexing with an int array of duplicate indices;
- ``for`` over ``range`` with any start, stop and step (``range(n)`` with ``n < 0``
  included), ``while``, nested loops, ``if``/``elif``/``else``, conditional expressions,
  helper calls with positional, default and keyword arguments;
- ``np.linspace(0.0, a, 5)`` and ``np.arange(a, a + 2.5)`` with an active bound.

Each program returns a scalar.  Its outcome is one of: the gradient matches the finite
differences (rtol 1e-4, atol 1e-6), or an ``AdcompileError`` (a refusal).  Anything else is a
mismatch: a wrong gradient, a value of ``value_and_grad`` different from the Python
function's, a raw exception from Numba or Python, a changed input array, gradients that
share memory with each other or with an input, or a gradient of the wrong type or shape.
Points where the difference straddles a kink (two steps or the one-sided slopes disagree)
are not compared.

Profiles:

- default (CI): ``python -m pytest tests/test_differential.py`` runs ``CI_EXAMPLES``
  programs in one process (each costs a Numba compilation, about 1-2 s).  Shrinking is off,
  so a failure reports the whole program at once; ``ADCOMPILE_DIFF_SHRINK=1`` turns
  Hypothesis's shrinking on (minutes: every step compiles).
- long: ``ADCOMPILE_DIFF_EXAMPLES=10000 python -m pytest tests/test_differential.py -q -n 0``
  runs that many programs across ``ADCOMPILE_DIFF_JOBS`` worker processes (default: every
  core), records every outcome instead of stopping at the first mismatch, prints the
  tallies (time per program, refusal rate, refusal reasons, mismatch classes with one
  program each) and fails if any program mismatched, more than half were refused, or more
  than 1% were generator defects.  ``ADCOMPILE_DIFF_SEED`` fixes the seed (printed
  otherwise); ``ADCOMPILE_DIFF_REPORT=FILE`` also writes the tallies and every kept
  mismatch report to FILE, rewritten after each chunk of programs (a run cut short leaves
  its partial result there).  ``ADCOMPILE_DIFF_MODE=forward`` checks forward mode
  (``adc.jvp``, ``progen.check_forward``) on the same programs instead.
  ``ADCOMPILE_DIFF_KINDS=views`` draws the snippets of ``progen.VIEW_KINDS`` (views, masks,
  counters and tuples in loops), ``all`` both sets (default ``body``).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time

import progen
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings

#: Programs in the default (CI) profile.
CI_EXAMPLES = 40
#: Programs per worker task in the long profile (each task runs in a fresh process).
CHUNK = 200
LONG_EXAMPLES = int(os.environ.get("ADCOMPILE_DIFF_EXAMPLES", "0") or 0)
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("ADCOMPILE_DIFF_SHRINK") == "1":
    PHASES.append(Phase.shrink)

#: outcome tallies of the default profile, printed after the module
_tally: dict[str, float] = {}


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory, request):
    yield tmp_path_factory.mktemp("differential")
    if _tally.get("programs"):
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        total = _tally["programs"]
        line = (f"differential tester: {int(total)} programs, {_tally.get('ok', 0):.0f} ok, "
                f"{_tally.get('refused', 0):.0f} refused "
                f"({_tally.get('refused', 0) / total:.0%}), {_tally.get('skipped', 0):.0f} "
                f"skipped, {_tally.get('invalid', 0):.0f} invalid, "
                f"{_tally.get('mismatch', 0):.0f} mismatched; "
                f"{_tally['seconds'] / total:.2f} s a program")
        if reporter is not None:
            reporter.write_line("")
            reporter.write_line(line)


@pytest.mark.skipif(LONG_EXAMPLES > 0, reason="the long profile runs instead")
@settings(max_examples=CI_EXAMPLES, deadline=None, phases=PHASES, database=None,
          suppress_health_check=list(HealthCheck))
@given(program=progen.programs())
def test_random_program_matches_finite_differences(program, program_dir):
    start = time.perf_counter()
    outcome = progen.check(program, program_dir)
    _tally["programs"] = _tally.get("programs", 0) + 1
    _tally[outcome.status] = _tally.get(outcome.status, 0) + 1
    _tally["seconds"] = _tally.get("seconds", 0.0) + time.perf_counter() - start
    assert outcome.status != "mismatch", (
        f"MISMATCH ({outcome.cls})\n{program!r}\n{outcome.detail}")
    # too close to a kink for the oracle, or a program Python itself cannot run
    assume(outcome.status in ("ok", "refused"))


def _run_chunk(task):
    count, seed, directory = task
    forward = os.environ.get("ADCOMPILE_DIFF_MODE") == "forward"
    kinds = KIND_SETS[os.environ.get("ADCOMPILE_DIFF_KINDS", "body")]
    return progen.campaign(count, seed, directory, kinds=kinds,
                           checker=progen.check_forward if forward else None)


#: ADCOMPILE_DIFF_KINDS: the snippets of the long profile's programs
KIND_SETS = {"body": progen.BODY_KINDS, "views": progen.VIEW_KINDS, "all": progen.ALL_KINDS}


def summary(counts, mismatches, total, seconds, jobs, seed):
    """The long profile's report as text."""
    programs = sum(counts.get(s, 0) for s in ("ok", "refused", "skipped", "invalid",
                                              "mismatch"))
    refused = counts.get("refused", 0)
    lines = [
        f"differential tester, long profile: {programs} programs (asked {total}), seed {seed}, "
        f"{jobs} worker processes, {seconds:.0f} s wall clock, "
        f"{seconds * jobs / max(programs, 1):.2f} s of a core a program",
        f"  ok {counts.get('ok', 0)}, refused {refused}, skipped (kinks) "
        f"{counts.get('skipped', 0)}, invalid (generator) {counts.get('invalid', 0)}, "
        f"MISMATCH {counts.get('mismatch', 0)}",
        f"  refusal rate {refused / max(programs, 1):.1%}",
    ]
    reasons = sorted(((v, k) for k, v in counts.items() if k.startswith("refused: ")),
                     reverse=True)
    for value, key in reasons[:15]:
        lines.append(f"    {value:6d}  {key[len('refused: '):]}")
    classes = sorted(((v, k) for k, v in counts.items() if k.startswith("mismatch: ")),
                     reverse=True)
    if classes:
        lines.append("  mismatch classes:")
        for value, key in classes:
            lines.append(f"    {value:6d}  {key[len('mismatch: '):]}")
    for cls, reports in sorted(mismatches.items()):
        lines.append(f"\n===== {cls}: first of {len(reports)} kept\n{reports[0]}")
    return "\n".join(lines)


@pytest.mark.skipif(LONG_EXAMPLES <= 0, reason="set ADCOMPILE_DIFF_EXAMPLES to run")
def test_long_profile(tmp_path, capsys):
    jobs = int(os.environ.get("ADCOMPILE_DIFF_JOBS", "0") or 0) or os.cpu_count() or 1
    seed = int(os.environ.get("ADCOMPILE_DIFF_SEED", "0") or 0) or random.randrange(1, 2**31)
    tasks = []
    left = LONG_EXAMPLES
    while left > 0:
        count = min(CHUNK, left)
        tasks.append((count, seed + len(tasks), str(tmp_path / f"chunk{len(tasks)}")))
        left -= count
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    report = os.environ.get("ADCOMPILE_DIFF_REPORT")
    results = []
    with context.Pool(jobs, maxtasksperchild=1) as pool:
        # the report is rewritten after every chunk, so a run cut short still says how
        # many programs it checked and what it found
        for result in pool.imap_unordered(_run_chunk, tasks, chunksize=1):
            results.append(result)
            seconds = time.perf_counter() - start
            counts, mismatches = progen.merged(results)
            text = summary(counts, mismatches, LONG_EXAMPLES, seconds, jobs, seed)
            if report:
                with open(report, "w") as out:
                    out.write(text + "\n")
                    for cls, reports in sorted(mismatches.items()):
                        for body in reports:
                            out.write(f"\n===== {cls}\n{body}\n")
    with capsys.disabled():
        print("\n" + text.split("\n=====")[0])
    programs = sum(counts.get(s, 0) for s in ("ok", "refused", "skipped", "invalid",
                                              "mismatch"))
    assert counts.get("mismatch", 0) == 0, text
    assert counts.get("refused", 0) <= 0.5 * programs, text
    assert counts.get("invalid", 0) <= 0.01 * programs, text
