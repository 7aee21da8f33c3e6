"""adcompile: reverse-mode automatic differentiation of Python source, compiled with Numba.

    import adcompile as adc
    dloss = adc.grad(loss, wrt=("w", "b"))
    dw, db = dloss(w, b, x, y)
    print(dloss.source)
"""

from . import optim
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
