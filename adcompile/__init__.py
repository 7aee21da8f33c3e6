"""adcompile: reverse-mode automatic differentiation of Python source, compiled with Numba.

    import adcompile as adc
    dloss = adc.grad(loss, wrt=("w", "b"))
    dw, db = dloss(w, b, x, y)
    print(dloss.source)
"""

import os as _os

# Numba's OpenMP threading layer with GNU OpenMP's default (active) waiting made the sharded
# gradients of parallel=True 3 to 5 times slower than serial on a 2-core machine: the idle
# threads spin against the working ones.  Passive waiting, unless the user chose otherwise
# (read when Numba first starts its threads).
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from . import optim  # noqa: E402
from .api import forward, grad, value_and_grad
from .check import check_grad
from .errors import AdcompileError
from .higher import hessian, hvp, jacobian, jvp, vjp
from .rules import derivative, nondifferentiable, tangent
from .shard import ParallelWarning

__version__ = "0.2.0"
__all__ = ["AdcompileError", "ParallelWarning", "check_grad", "derivative", "forward", "grad",
           "hessian", "hvp", "jacobian", "jvp", "nondifferentiable", "optim", "tangent",
           "value_and_grad", "vjp"]
