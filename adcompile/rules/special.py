"""SciPy's special functions used in losses (``scipy.special``).

Numba cannot compile SciPy's functions, so the forward sweep calls a kernel of
``adcompile/kernels_special.py`` where the user wrote one (``implemented_by``), and the rule is
registered on both; the reductions (``logsumexp``, ``softmax``) and ``logit`` are plain Python
the compiler differentiates (``composite``).  This module imports SciPy: the registry loads it
only once the user's code has imported ``scipy.special`` (``import adcompile`` does not).
"""

import math

import numpy as np
import scipy.special as sp

from ..kernels_special import (
    digamma,
    erf,
    erfc,
    expit,
    gamma,
    gammaln,
    log_expit,
    polygamma,
    xdivy,
    xlog1py,
    xlogy,
)
from . import composite, derivative, implemented_by

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
SQRT_HALF = math.sqrt(0.5)

for _primal, _kernel in ((sp.expit, expit), (sp.log_expit, log_expit), (sp.erf, erf),
                         (sp.erfc, erfc), (sp.gamma, gamma), (sp.gammaln, gammaln),
                         (sp.digamma, digamma), (sp.psi, digamma), (sp.polygamma, polygamma),
                         (sp.xlogy, xlogy), (sp.xlog1py, xlog1py)):
    implemented_by(_primal, _kernel)


@derivative(sp.expit, expit)
def expit_rule(g, ans, x):
    return g * ans * (1.0 - ans)


@derivative(sp.log_expit, log_expit)
def log_expit_rule(g, ans, x):
    return g * expit(-x)


@derivative(sp.erf, erf)
def erf_rule(g, ans, x):
    return g * TWO_OVER_SQRT_PI * np.exp(-x * x)


@derivative(sp.erfc, erfc)
def erfc_rule(g, ans, x):
    return -g * TWO_OVER_SQRT_PI * np.exp(-x * x)


@derivative(sp.gamma, gamma)
def gamma_rule(g, ans, x):
    return g * ans * digamma(x)


@derivative(sp.gammaln, gammaln)
def gammaln_rule(g, ans, x):
    return g * digamma(x)


@derivative(sp.digamma)  # sp.psi is the same function
def digamma_rule(g, ans, x):
    return g * polygamma(1, x)


@derivative(sp.polygamma)
def polygamma_rule(g, ans, n, x):
    return None, g * polygamma(n + 1, x)


@derivative(sp.xlogy, xlogy)
def xlogy_rule(g, ans, x, y):
    return g * np.log(y), g * xdivy(x, y)


@derivative(sp.xlog1py, xlog1py)
def xlog1py_rule(g, ans, x, y):
    return g * np.log1p(y), g * xdivy(x, 1.0 + y)


@derivative(xdivy)
def xdivy_rule(g, ans, x, y):
    return g / y, -g * ans / y


@composite(sp.logit)
def logit(x):
    return np.log(x) - np.log1p(-x)


@composite(sp.ndtr)
def ndtr(x):
    return 0.5 * sp.erfc(-x * SQRT_HALF)


@composite(sp.logsumexp)
def logsumexp(a, axis=None, b=None, keepdims=False):
    # shifted by the largest entry (0 where that is not finite), which cancels in the value
    # and in the derivative
    top = np.max(a, axis, keepdims=True)
    shift = np.where(np.isfinite(top), top, 0.0)
    if b == None:  # noqa: E711 - decided when the call is read ('is' is not read here)
        total = np.sum(np.exp(a - shift), axis, keepdims=keepdims)
    else:
        total = np.sum(b * np.exp(a - shift), axis, keepdims=keepdims)
    # the sum over axes of extent 1 drops them when keepdims is False
    return np.log(total) + np.sum(shift, axis, keepdims=keepdims)


@composite(sp.softmax)
def softmax(x, axis=None):
    e = np.exp(x - np.max(x, axis, keepdims=True))
    return e / np.sum(e, axis, keepdims=True)


@composite(sp.log_softmax)
def log_softmax(x, axis=None):
    shifted = x - np.max(x, axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis, keepdims=True))
