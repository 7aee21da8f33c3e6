"""How the time to generate and compile a gradient grows with the length of the function.

For straight-line functions of 100, 1,000 and 3,000 statements
(``x1 = x0 * 1.0001 + 0.1; x2 = math.sin(x1); ...``) it measures, separately, adcompile's
generation (source to module text: parse, normalize, analyze, reverse, render) and Numba's
compilation of the gradient, and prints a table.  Run: ``python benchmarks/pipeline_scaling.py
[N ...]``.  Each size runs in a fresh cache directory, so nothing is loaded from disk.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path


def straight_line(n: int) -> str:
    """The source of a function of ``n`` statements alternating an affine map and a sine."""
    lines = ["import math", "", "", "def f(x0):"]
    for k in range(1, n + 1):
        rhs = f"x{k - 1} * 1.0001 + 0.1" if k % 2 else f"math.sin(x{k - 1})"
        lines.append(f"    x{k} = {rhs}")
    lines.append(f"    return x{n}")
    return "\n".join(lines) + "\n"


def load(directory: Path, n: int):
    path = directory / f"straight_{n}.py"
    path.write_text(straight_line(n))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.f


def measure(n: int) -> tuple[float, float]:
    """Seconds to generate the module text, and seconds for Numba to compile the gradient."""
    from adcompile import api, codegen
    from adcompile.frontend import parse_function

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ADCOMPILE_CACHE_DIR"] = tmp
        f = load(Path(tmp), n)
        start = time.perf_counter()
        info = parse_function(f)
        codegen._module_text(info, ["x0"], False, codegen._role_names(info))
        generate = time.perf_counter() - start
        start = time.perf_counter()
        gen = api.generated(f, 0)  # generates again, then imports the module
        imported = time.perf_counter() - start
        grad = gen.function("grad")
        start = time.perf_counter()
        grad(0.5)  # Numba compiles on the first call
        compile_ = time.perf_counter() - start
    return generate, compile_ + max(imported - generate, 0.0)


def main(sizes: list[int]) -> None:
    measure(10)  # warm up: imports, Numba's own start-up
    print(f"{'statements':>10}  {'generate s':>10}  {'Numba s':>8}  {'total s':>8}")
    for n in sizes:
        generate, compile_ = measure(n)
        print(f"{n:>10}  {generate:>10.2f}  {compile_:>8.2f}  {generate + compile_:>8.2f}",
              flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 3000])
