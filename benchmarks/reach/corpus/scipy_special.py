"""scipy.special (and a little scipy.stats), as autograd's test_scipy.py exercises them."""

import numpy as np
import scipy.special as sp
import scipy.stats
from scipy.special import expit, logsumexp

from . import program

CATEGORY = "scipy"
SCIPY = True


def vec(lo=-1.0, hi=1.0, n=4):
    return lambda r: (r.uniform(lo, hi, n),)


@program(vec(), like="autograd test_scipy test_logsumexp1")
def logsumexp_vector(x):
    return logsumexp(x)


@program(lambda r: (r.normal(size=(3, 4)),), like="autograd test_scipy test_logsumexp3")
def logsumexp_axis(x):
    return np.sum(sp.logsumexp(x, axis=1) ** 2)


@program(lambda r: (r.normal(size=(3, 4)),), like="autograd test_scipy test_logsumexp4")
def logsumexp_keepdims(x):
    return np.sum(x - sp.logsumexp(x, axis=0, keepdims=True))


@program(lambda r: (r.normal(size=4), r.uniform(0.5, 1.5, 4)), wrt=(0, 1),
         like="autograd test_scipy test_logsumexp5 (b=)")
def logsumexp_weights(x, b):
    return logsumexp(x, b=b)


@program(vec(-2, 2), like="autograd test_scipy test_expit")
def expit_sum(x):
    return np.sum(expit(x) ** 2)


@program(vec(0.1, 0.9), like="autograd test_scipy test_logit")
def logit_sum(x):
    return np.sum(sp.logit(x) ** 2)


@program(vec(-1.5, 1.5), like="autograd test_scipy test_erf")
def erf_erfc(x):
    return np.sum(sp.erf(x) + sp.erfc(x) ** 2)


@program(vec(-0.9, 0.9), like="autograd test_scipy test_erfinv")
def erfinv_sum(x):
    return np.sum(sp.erfinv(x))


@program(vec(0.5, 3.0), like="autograd test_scipy test_gammaln")
def gammaln_sum(x):
    return np.sum(sp.gammaln(x))


@program(vec(0.5, 3.0), like="autograd test_scipy test_gamma")
def gamma_sum(x):
    return np.sum(sp.gamma(x))


@program(vec(0.5, 3.0), like="autograd test_scipy test_digamma")
def digamma_sum(x):
    return np.sum(sp.digamma(x) ** 2)


@program(vec(0.5, 3.0), like="autograd test_scipy test_psi")
def psi_sum(x):
    return np.sum(sp.psi(x))


@program(vec(0.5, 3.0), like="autograd test_scipy test_polygamma")
def polygamma_sum(x):
    return np.sum(sp.polygamma(1, x))


@program(lambda r: (r.uniform(0.5, 2.0, 4), r.uniform(0.5, 2.0, 4)), wrt=(0, 1),
         like="autograd test_scipy test_xlogy")
def xlogy_sum(x, y):
    return np.sum(sp.xlogy(x, y))


@program(lambda r: (r.uniform(0.5, 2.0, 4), r.uniform(0.5, 2.0, 4)), wrt=(0, 1))
def xlog1py_sum(x, y):
    return np.sum(sp.xlog1py(x, y))


@program(lambda r: (r.uniform(0.5, 2.0, 3), r.uniform(0.5, 2.0, 3)), wrt=(0, 1),
         like="autograd test_scipy test_betaln")
def betaln_sum(a, b):
    return np.sum(sp.betaln(a, b))


@program(lambda r: (r.normal(size=(2, 4)),), like="jax.nn softmax")
def softmax_scipy(x):
    return np.sum(sp.softmax(x, axis=1)[:, 0] ** 2)


@program(lambda r: (r.normal(size=4),))
def log_softmax_scipy(x):
    return sp.log_softmax(x)[2]


@program(vec(-1.5, 1.5), like="autograd test_scipy test_norm_cdf")
def ndtr_log_ndtr(x):
    return np.sum(sp.ndtr(x) + sp.log_ndtr(x))


@program(vec(0.2, 2.0))
def entr_sum(x):
    return np.sum(sp.entr(x))


@program(lambda r: (r.uniform(0.5, 2.0, 4), r.uniform(0.5, 2.0, 4)), wrt=(0, 1))
def rel_entr_sum(p, q):
    return np.sum(sp.rel_entr(p, q))


@program(vec(0.2, 2.0), like="autograd test_scipy test_i0")
def i0_i1(x):
    return np.sum(sp.i0(x) + sp.i1(x))


@program(vec(0.2, 2.0), like="autograd test_scipy test_j0")
def bessel_j0_y0(x):
    return np.sum(sp.j0(x) + sp.y0(x))


@program(lambda r: (r.normal(size=4), 0.3, 1.2), wrt=(0, 1, 2),
         like="autograd test_scipy test_norm_logpdf")
def stats_norm_logpdf(x, loc, scale):
    return np.sum(scipy.stats.norm.logpdf(x, loc, scale))


@program(lambda r: (r.normal(size=4),), like="autograd test_scipy test_norm_cdf")
def stats_norm_cdf(x):
    return np.sum(scipy.stats.norm.cdf(x))


@program(lambda r: (r.normal(size=3),), like="logistic regression with expit")
def expit_logistic_regression(w):
    X = np.array([[0.2, -1.0, 0.5], [1.5, 0.3, -0.7], [-0.4, 0.8, 1.1]])
    y = np.array([1.0, 0.0, 1.0])
    p = expit(X @ w)
    return -np.sum(sp.xlogy(y, p) + sp.xlogy(1.0 - y, 1.0 - p))


@program(lambda r: (r.uniform(0.5, 2.0, 3),), like="Dirichlet log density via gammaln")
def dirichlet_logpdf(alpha):
    x = np.array([0.2, 0.5, 0.3])
    return (sp.gammaln(np.sum(alpha)) - np.sum(sp.gammaln(alpha))
            + np.sum((alpha - 1.0) * np.log(x)))


@program((0.7,), like="scalar special functions on floats")
def special_on_floats(x):
    return sp.expit(x) + sp.gammaln(x + 1.0) + sp.erf(x) * sp.digamma(x + 2.0)


@program(lambda r: (r.normal(size=(3, 4)),))
def logsumexp_axis_tuple_none(x):
    return logsumexp(x) + np.sum(logsumexp(x, axis=0))
