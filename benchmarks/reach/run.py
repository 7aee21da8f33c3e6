"""How much real NumPy code adcompile accepts: the reach corpus, differentiated and checked.

Run from the repository root (about 15 minutes on 2 cores, most of it Numba compiling):

    python benchmarks/reach/run.py [--jobs 2] [--timeout 120] [--opt0] [--only REGEX]
                                   [--json PATH] [--keep-cache]

Every program of ``benchmarks/reach/corpus`` (a scalar loss written as autodiff users write
it, see ``corpus/__init__.py``) is differentiated with ``adc.grad(f, wrt)`` and called at its
arguments, in a pool of worker processes (``--jobs``), each program under a time limit
(``--timeout`` seconds, compilation included).  The gradient is compared entry by entry with
float64 central differences of ``f`` run as plain Python, computed here (steps ``h`` and
``2h``, ``h = eps ** (1/3) * max(1, |x|)``), never with anything adcompile computes.

Outcomes:

- ``ok``: every entry within ``atol + rtol * |fd|`` (``rtol = 1e-4``, ``atol = 1e-6 *
  max(1, |f|)``), with the parameter's type and shape, and the caller's arguments unchanged;
- ``WRONG``: accepted, but a gradient entry, type or shape differs, or an argument was
  modified (the worst outcome: a silent error);
- ``refused``: ``adc.AdcompileError`` (the first line of its message is recorded); a refusal
  that reports generated code Numba cannot compile is flagged ``uncompiled`` and listed apart
  (the front end accepted the program: these are bugs, not unsupported constructs);
- ``crash``: any other exception (type and message recorded), or the worker process died;
- ``timeout``: no answer within the time limit.

The report prints a table by category, the acceptance rate (share of ``ok``) of the programs
that do not use SciPy, the refusal messages grouped (file and line stripped), and every WRONG,
crash and timeout by name; ``--json`` writes all of it, per program.  ``--opt0`` sets
``NUMBA_OPT=0`` in the workers (faster compiles, same outcomes).  The adcompile cache is a
fresh temporary directory per run, so that the figures describe the current code.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import math
import os
import platform
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

RTOL = 1e-4
ATOL = 1e-6
STEP = float(np.finfo(np.float64).eps) ** (1.0 / 3.0)
OUTCOMES = ("ok", "WRONG", "refused", "crash", "timeout")
#: A refusal that is Numba failing to type the generated code: the front end accepted the
#: program, and adcompile's own hint calls this a bug when the arguments are of the right kind.
UNCOMPILED = re.compile(r"\(generated from .*\) cannot be compiled")


# -- the oracle: central differences of the plain Python function ------------------------------

def _leaves(value: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """The floats and arrays inside (nested) tuples, lists and dicts, with their paths."""
    if isinstance(value, (tuple, list)):
        return [leaf for k, v in enumerate(value) for leaf in _leaves(v, path + (k,))]
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, path + (k,))]
    return [(path, value)]


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: (_replace(v, rest, new) if k == head else v) for k, v in value.items()}
    items = [_replace(v, rest, new) if k == head else v for k, v in enumerate(value)]
    return type(value)(items)


def _part(value: Any, path: tuple) -> Any:
    for k in path:
        value = value[k]
    return value


def _copy(value: Any) -> Any:
    return corpus._fresh(value)


def _same(a: Any, b: Any) -> bool:
    """Whether two argument values are equal (arrays elementwise, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f")))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b or (a != a and b != b)


def _value(f, args: list) -> float:
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(np.asarray(f(*args)))


def _positions(f, wrt) -> tuple[list[int], bool]:
    """The parameter positions ``wrt`` names, and whether the gradient is a tuple."""
    params = list(inspect.signature(f).parameters)
    items = wrt if isinstance(wrt, tuple) else (wrt,)
    return [w if isinstance(w, int) else params.index(w) for w in items], isinstance(wrt, tuple)


def _differences(f, args: list, position: int, path: tuple, leaf: Any):
    """``(index, central difference at h, at 2h)`` for every entry of one leaf."""
    base = np.array(leaf, dtype=np.float64)
    for index in np.ndindex(base.shape):
        x0 = float(base[index])
        h = STEP * max(1.0, abs(x0))
        slopes = []
        for step in (h, 2.0 * h):
            values = []
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[index] = x0 + sign * step
                new = float(moved) if base.ndim == 0 else moved
                point = list(args)
                point[position] = _replace(_copy(args[position]), path, new)
                values.append(_value(f, point))
            slopes.append((values[0] - values[1]) / (2.0 * step))
        yield index, slopes[0], slopes[1]


def _compare(prog, args: tuple, grads: Any) -> dict:
    """Check adcompile's gradient against central differences: a result record."""
    f = prog.func
    fval = _value(f, [_copy(a) for a in args])
    positions, as_tuple = _positions(f, prog.wrt)
    names = list(inspect.signature(f).parameters)
    parts = grads if as_tuple else (grads,)
    if as_tuple and (not isinstance(grads, tuple) or len(grads) != len(positions)):
        size = f" of {len(grads)}" if isinstance(grads, tuple) else ""
        return {"outcome": "WRONG", "message": f"expected a tuple of {len(positions)} gradients,"
                f" got a {type(grads).__name__}{size}"}
    atol = ATOL * max(1.0, abs(fval))
    worst = None
    entries = 0
    for position, part in zip(positions, parts, strict=True):
        for path, leaf in _leaves(args[position]):
            try:
                got = _part(part, path)
            except (TypeError, IndexError, KeyError):
                return {"outcome": "WRONG", "message": f"the gradient of {names[position]} "
                        f"has no part {list(path)}: got {type(part).__name__}"}
            expect_shape = np.shape(leaf)
            if np.shape(got) != expect_shape or not np.issubdtype(np.asarray(got).dtype,
                                                                   np.floating):
                return {"outcome": "WRONG", "message": f"the gradient of {names[position]}"
                        f"{list(path) or ''} has shape {np.shape(got)} and dtype "
                        f"{np.asarray(got).dtype}, expected float64 of shape {expect_shape}"}
            got = np.asarray(got, dtype=np.float64)
            fd = np.zeros(got.shape)
            for index, d1, d2 in _differences(f, list(args), position, path, leaf):
                fd[index] = d1
                entries += 1
                a = float(got[index])
                err = abs(a - d1) / (atol / RTOL + abs(d1))
                bad = not (abs(a - d1) <= atol + RTOL * abs(d1))
                if worst is None or err > worst["error"]:
                    worst = {"error": err, "param": names[position], "path": list(path),
                             "index": list(index), "adcompile": a, "fd": d1,
                             "fd_unstable": abs(d1 - d2) > 1e-3 * (abs(d1) + atol),
                             "failed": bad, "got": got, "fds": fd}
    outcome = "WRONG" if worst is not None and worst["failed"] else "ok"
    rec = {"outcome": outcome, "entries": entries, "value": fval,
           "max_error": 0.0 if worst is None else worst["error"]}
    if worst is not None:
        got, fd = worst.pop("got"), worst.pop("fds")
    if outcome == "WRONG":
        rec["worst"] = worst
        # A function of a square matrix that reads one triangle (np.linalg.cholesky) may be
        # given the symmetric gradient by convention: say so when that is the difference.
        symmetric = (fd.ndim == 2 and fd.shape[0] == fd.shape[1]
                     and np.allclose(got, 0.5 * (fd + fd.T), rtol=RTOL, atol=atol))
        rec["message"] = (f"d/d{worst['param']}{worst['path'] or ''}"
                          f"{worst['index'] or ''}: adcompile {worst['adcompile']:.10g}, "
                          f"central difference {worst['fd']:.10g}"
                          + (" (difference unstable: near a kink?)" if worst["fd_unstable"]
                             else "")
                          + ("; the gradient is the symmetrized central differences"
                             if symmetric else ""))
        rec["symmetrized"] = bool(symmetric)
    return rec


def check_program(prog) -> dict:
    """Differentiate one program with adcompile and classify the outcome."""
    import adcompile as adc

    args = prog.args()
    start = time.perf_counter()
    try:
        gradient = adc.grad(prog.func, wrt=prog.wrt)
        passed = [_copy(a) for a in args]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grads = gradient(*passed)
    except adc.AdcompileError as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else ""
        return {"outcome": "refused", "message": first, "seconds": time.perf_counter() - start,
                "uncompiled": bool(UNCOMPILED.search(first))}
    except Exception as exc:  # noqa: BLE001 - every other exception is a finding
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        text = str(exc).strip()
        return {"outcome": "crash", "message": f"{type(exc).__name__}: "
                f"{text.splitlines()[0] if text else ''}", "where": where,
                "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    if not all(_same(a, b) for a, b in zip(args, passed, strict=True)):
        return {"outcome": "WRONG", "message": "the gradient modified the caller's arguments",
                "seconds": seconds}
    rec = _compare(prog, args, grads)
    rec["seconds"] = seconds
    return rec


# -- worker processes ----------------------------------------------------------------------------

def worker() -> None:
    """Answer program names on stdin with one JSON result per line on the original stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what the programs print goes to the log, not into the protocol
    sys.stdout = sys.stderr
    programs = corpus.by_name()
    import adcompile  # noqa: F401 - imported before the first program is timed
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        print(f"--- {name}", file=sys.stderr, flush=True)
        try:
            rec = check_program(programs[name])
        except Exception as exc:  # noqa: BLE001 - a failure of the oracle itself
            rec = {"outcome": "crash", "message": f"runner: {type(exc).__name__}: {exc}"}
        rec["name"] = name
        proto.write(json.dumps(rec, default=float) + "\n")


class Worker:
    def __init__(self, env: dict, log) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     env=env, text=True, bufsize=1)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def ask(self, name: str, timeout: float) -> dict:
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            return {"name": name, "outcome": "timeout",
                    "message": f"no answer within {timeout:g} s"}
        if line is None:
            code = self.proc.wait()
            return {"name": name, "outcome": "crash",
                    "message": f"the worker process died (exit status {code})"}
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_all(names: list[str], jobs: int, timeout: float, env: dict, log_path: Path) -> dict:
    todo: queue.Queue = queue.Queue()
    for n in names:
        todo.put(n)
    results: dict[str, dict] = {}
    lock = threading.Lock()
    started = time.perf_counter()

    def slot() -> None:
        with open(log_path, "a") as log:
            w = Worker(env, log)
            try:
                while True:
                    try:
                        name = todo.get_nowait()
                    except queue.Empty:
                        return
                    t0 = time.perf_counter()
                    rec = w.ask(name, timeout)
                    rec.setdefault("seconds", time.perf_counter() - t0)
                    if rec["outcome"] == "timeout" or w.proc.poll() is not None:
                        w.stop()
                        w = Worker(env, log)
                    with lock:
                        results[name] = rec
                        done = len(results)
                        msg = rec.get("message", "")
                        print(f"[{done:3d}/{len(names)} {time.perf_counter() - started:6.0f}s] "
                              f"{rec['outcome']:8s} {name} ({rec['seconds']:.1f}s)"
                              + (f"  {msg[:110]}" if rec["outcome"] != "ok" else ""),
                              flush=True)
            finally:
                w.stop()

    threads = [threading.Thread(target=slot) for _ in range(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# -- the report ----------------------------------------------------------------------------------

def _refusal_key(message: str) -> str:
    """A refusal message without the file, line and function that differ between programs."""
    text = re.sub(r"^\S+?\.py:\d+:\s*(in [\w.<>]+\(\):\s*)?", "", message)
    return text.strip()


def summarize(programs: list, results: dict) -> dict:
    by_cat: dict[str, Counter] = {}
    for p in programs:
        by_cat.setdefault(p.category, Counter())[results[p.name]["outcome"]] += 1

    def rate(selected) -> dict:
        counts = Counter(results[p.name]["outcome"] for p in selected)
        n = len(selected)
        return {"programs": n, **{o: counts[o] for o in OUTCOMES},
                "acceptance": counts["ok"] / n if n else 0.0}

    refusals = Counter(_refusal_key(r["message"]) for r in results.values()
                       if r["outcome"] == "refused" and not r.get("uncompiled"))
    return {
        "categories": {c: {"programs": sum(k.values()), **{o: k[o] for o in OUTCOMES}}
                       for c, k in by_cat.items()},
        "numpy": rate([p for p in programs if not p.scipy]),
        "scipy": rate([p for p in programs if p.scipy]),
        "all": rate(programs),
        "refusals": refusals.most_common(),
        "uncompiled": sorted(p.name for p in programs if results[p.name].get("uncompiled")),
    }


def print_report(programs: list, results: dict, summary: dict, top: int) -> None:
    head = ("category", "programs", "ok", "WRONG", "refused", "crash", "timeout", "accepted")
    rows = [head]
    for cat, k in summary["categories"].items():
        rows.append((cat, str(k["programs"]), *(str(k[o]) for o in OUTCOMES),
                     f"{k['ok'] / k['programs']:.0%}"))
    for label in ("numpy", "scipy", "all"):
        k = summary[label]
        name = {"numpy": "without SciPy", "scipy": "with SciPy", "all": "all"}[label]
        rows.append((name, str(k["programs"]), *(str(k[o]) for o in OUTCOMES),
                     f"{k['acceptance']:.0%}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    print()
    for i, r in enumerate(rows):
        if i == len(rows) - 3:
            print("  ".join("-" * w for w in widths))
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w)
                        for j, (c, w) in enumerate(zip(r, widths, strict=True))))
    k = summary["numpy"]
    print(f"\nAcceptance without SciPy: {k['ok']} of {k['programs']} programs "
          f"({k['acceptance']:.1%}) differentiated correctly.")
    print(f"\nTop refusal messages ({sum(n for _, n in summary['refusals'])} refusals, "
          f"{len(summary['refusals'])} distinct; generated code that does not compile apart):")
    for msg, n in summary["refusals"][:top]:
        print(f"  {n:4d}  {msg[:150]}")
    print(f"\nRefused because the generated code does not compile ({len(summary['uncompiled'])}):")
    for name in summary["uncompiled"]:
        msg = results[name]["message"]
        print(f"  {name}: {msg[msg.find('cannot be compiled'):][:200]}")
    for outcome in ("WRONG", "crash", "timeout"):
        bad = [p for p in programs if results[p.name]["outcome"] == outcome]
        print(f"\n{outcome} ({len(bad)}):")
        for p in bad:
            r = results[p.name]
            where = f" [{r['where']}]" if r.get("where") else ""
            print(f"  {p.name}: {r.get('message', '')}{where}")


def _revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                             capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "adcompile"], cwd=HERE,
                               capture_output=True, text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("+uncommitted adcompile/ changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per program")
    ap.add_argument("--opt0", action="store_true", help="NUMBA_OPT=0 in the workers")
    ap.add_argument("--only", default="", help="a regular expression on program names")
    ap.add_argument("--json", default=os.path.join(tempfile.gettempdir(), "adcompile-reach",
                                                   "report.json"), help="report path")
    ap.add_argument("--keep-cache", action="store_true", help="keep the adcompile cache")
    ap.add_argument("--top", type=int, default=25, help="refusal messages to print")
    opts = ap.parse_args(argv)
    if opts.worker:
        worker()
        return 0

    programs = [p for p in corpus.load() if re.search(opts.only, p.name)]
    if not programs:
        print(f"no program matches {opts.only!r}", file=sys.stderr)
        return 2
    out = Path(opts.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="adcompile-reach-cache-"))
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(cache), PYTHONUNBUFFERED="1")
    if opts.opt0:
        env["NUMBA_OPT"] = "0"
    log_path = out.with_suffix(".log")
    log_path.write_text("")
    print(f"{len(programs)} programs, {opts.jobs} workers, timeout {opts.timeout:g} s"
          f"{', NUMBA_OPT=0' if opts.opt0 else ''}; worker log: {log_path}", flush=True)
    revision = _revision()  # what the workers import: the tree as the run starts
    started = time.perf_counter()
    try:
        results = run_all([p.name for p in programs], opts.jobs, opts.timeout, env, log_path)
    finally:
        if not opts.keep_cache:
            shutil.rmtree(cache, ignore_errors=True)
    elapsed = time.perf_counter() - started
    summary = summarize(programs, results)
    print_report(programs, results, summary, opts.top)
    report = {
        "revision": revision,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "elapsed_seconds": round(elapsed, 1),
        "options": {"jobs": opts.jobs, "timeout": opts.timeout, "numba_opt0": opts.opt0,
                    "only": opts.only, "rtol": RTOL, "atol": ATOL},
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "numba": _version("numba"), "scipy": _version("scipy")},
        "summary": summary,
        "programs": [{"name": p.name, "category": p.category, "scipy": p.scipy,
                      "like": p.like, **{k: v for k, v in results[p.name].items()
                                         if k != "name"}} for p in programs],
    }
    out.write_text(json.dumps(report, indent=1, default=_json_default))
    print(f"\n{elapsed:.0f} s; report: {out}")
    return 0


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "absent"


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
