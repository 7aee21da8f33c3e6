"""Small models and losses as written in autodiff tutorials and examples."""

import numpy as np

from . import program

CATEGORY = "models"

_X = np.array([[0.2, -1.0, 0.5], [1.5, 0.3, -0.7], [-0.4, 0.8, 1.1], [0.9, -0.2, 0.0]])
_Y = np.array([1.0, 0.0, 1.0, 0.0])
_YR = np.array([0.5, -1.2, 0.3, 2.0])
_LABELS = np.array([0, 2, 1, 2])


def with_data(make, *data):
    """Arguments: the parameters drawn by ``make``, then the data (copies), as loss(p, X, y)."""
    return lambda r: (*make(r), *(d.copy() for d in data))


@program(with_data(lambda r: (r.normal(size=3), 0.1), _X, _Y), wrt=(0, 1),
         like="autograd logistic regression")
def logistic_regression(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


@program(with_data(lambda r: (r.normal(size=3), r.normal(size=3)), _X, _Y), wrt=1,
         like="tangent logistic_regression (tanh)")
def logistic_tanh(inp, W, X, y):
    h1 = np.dot(X, W) + 0.1
    prediction = 0.5 * (np.tanh(h1) + 1)
    label_probabilities = prediction * y + (1 - prediction) * (1 - y)
    return -np.sum(np.log(label_probabilities)) + 0.0 * np.sum(inp)


@program(with_data(lambda r: (r.normal(size=3),), _X, _YR), like="linear regression, MSE")
def linear_regression(w, X, targets):
    return np.mean((X @ w - targets) ** 2)


@program(with_data(lambda r: (r.normal(size=3), 0.5), _X, _YR), wrt=(0, 1), like="ridge regression")
def ridge(w, lam, X, targets):
    return np.sum((X @ w - targets) ** 2) + lam * np.dot(w, w)


@program(with_data(lambda r: (r.normal(size=(3, 3)),), _X, _LABELS), like="softmax cross-entropy")
def softmax_cross_entropy(W, X, labels):
    logits = X @ W
    logits = logits - np.max(logits, axis=1, keepdims=True)
    logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(4), labels])


@program(with_data(lambda r: (r.normal(size=(3, 3)),), _X, _LABELS))
def softmax_one_hot(W, X, labels):
    onehot = np.eye(3)[labels]
    logits = X @ W
    lse = np.log(np.sum(np.exp(logits), axis=1))
    return np.sum(lse) - np.sum(onehot * logits)


@program(with_data(lambda r: (r.normal(size=(3, 4)) * 0.5, r.normal(size=4) * 0.1,
                              r.normal(size=4) * 0.5, 0.0), _X, _YR),
         wrt=(0, 1, 2, 3), like="two-layer MLP")
def mlp_two_layer(W1, b1, w2, b2, X, targets):
    h = np.tanh(X @ W1 + b1)
    out = h @ w2 + b2
    return np.mean((out - targets) ** 2)


@program(with_data(lambda r: (((r.normal(size=(3, 4)) * 0.5, r.normal(size=4) * 0.1),
                               (r.normal(size=(4, 1)) * 0.5, r.normal(size=1) * 0.1)),),
                   _X, _YR), like="JAX-style MLP, params as a list of layers")
def mlp_params_list(params, X, targets):
    h = X
    for W, b in params[:-1]:
        h = np.maximum(h @ W + b, 0.01 * (h @ W + b))
    W, b = params[-1]
    out = (h @ W + b)[:, 0]
    return np.mean((out - targets) ** 2)


@program(with_data(lambda r: (r.normal(size=(3, 3)), r.normal(size=(3, 3)),
                              r.normal(size=(3, 3))), _X),
         wrt=(0, 1, 2), like="single-head attention")
def attention(Wq, Wk, Wv, X):
    q = X @ Wq
    k = X @ Wk
    v = X @ Wv
    s = q @ k.T / np.sqrt(3.0)
    s = s - np.max(s, axis=1, keepdims=True)
    a = np.exp(s) / np.sum(np.exp(s), axis=1, keepdims=True)
    return np.sum((a @ v) ** 2)


@program(with_data(lambda r: (r.normal(size=3), r.normal(size=3)), _X), wrt=(0, 1),
         like="layer norm")
def layer_norm(gamma, beta, X):
    mu = np.mean(X, axis=1, keepdims=True)
    var = np.var(X, axis=1, keepdims=True)
    y = gamma * (X - mu) / np.sqrt(var + 1e-5) + beta
    return np.sum(y ** 2 * np.arange(3.0))


@program(lambda r: (r.normal(size=(4, 3)),), like="batch norm on the input")
def batch_norm_input(h):
    mu = h.mean(axis=0)
    sd = np.sqrt(h.var(axis=0) + 1e-5)
    return np.sum(((h - mu) / sd)[0] * np.array([1.0, 2.0, 3.0]))


@program(with_data(lambda r: (r.normal(size=3), r.uniform(-0.5, 0.5, 3)), _X, _YR),
         wrt=(0, 1), like="Huber loss")
def huber(w, b, X, targets):
    r = X @ w + b[0] - targets
    a = np.abs(r)
    return np.sum(np.where(a < 1.0, 0.5 * r ** 2, a - 0.5))


@program(with_data(lambda r: (r.normal(size=3),), _X, _Y), like="hinge loss, SVM")
def hinge(w, X, y):
    s = 2.0 * y - 1.0
    margins = 1.0 - s * (X @ w)
    return np.sum(np.maximum(margins, 0.0)) + 0.1 * np.dot(w, w)


@program(lambda r: (r.normal(size=4), r.normal(size=4)), wrt=(0, 1), like="KL divergence")
def kl_divergence(a, b):
    p = np.exp(a) / np.sum(np.exp(a))
    q = np.exp(b) / np.sum(np.exp(b))
    return np.sum(p * (np.log(p) - np.log(q)))


@program(with_data(lambda r: (r.normal(size=(2, 3)), np.array([0.0, 0.0]),
                              np.array([0.5, 0.5])), _X),
         wrt=(0, 1), like="Gaussian mixture log-likelihood")
def gmm_loglik(means, logw, logs, X):
    ll = 0.0
    w = np.exp(logw) / np.sum(np.exp(logw))
    for i in range(X.shape[0]):
        comp = np.zeros(2)
        for k in range(2):
            d = X[i] - means[k]
            s2 = np.exp(2.0 * logs[k])
            comp[k] = w[k] * np.exp(-0.5 * np.dot(d, d) / s2) / (2.0 * np.pi * s2) ** 1.5
        ll = ll + np.log(np.sum(comp))
    return -ll


@program(with_data(lambda r: (r.normal(size=(3, 2)),), _X), like="PCA reconstruction error")
def pca_reconstruction(W, X):
    Z = X @ W
    R = Z @ W.T
    return np.sum((X - R) ** 2)


@program(lambda r: (r.normal(size=(2, 2)),), like="conv1d via np.convolve")
def conv_np_convolve(k):
    sig = np.array([0.1, 0.4, -0.2, 0.7, 0.3])
    return np.sum(np.convolve(sig, k[0], mode="valid") ** 2) + np.sum(np.convolve(sig, k[1]))


@program(with_data(lambda r: (r.normal(size=3), 0.5), _X), wrt=(0, 1), like="Poisson regression")
def poisson_regression(w, b, X):
    counts = np.array([1.0, 0.0, 3.0, 2.0])
    eta = X @ w * 0.3 + b
    return np.sum(np.exp(eta) - counts * eta)


@program(with_data(lambda r: (r.normal(size=3),), _X, _YR),
         like="Gaussian process marginal likelihood, toy")
def gp_loglik(logparams, X, targets):
    ell = np.exp(logparams[0])
    sf2 = np.exp(2.0 * logparams[1])
    sn2 = np.exp(2.0 * logparams[2])
    d = X[:, None, :] - X[None, :, :]
    K = sf2 * np.exp(-0.5 * np.sum(d ** 2, axis=2) / ell ** 2) + (sn2 + 0.1) * np.eye(4)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(K, targets)
    return 0.5 * targets @ alpha + np.sum(np.log(np.diag(L)))


@program(with_data(lambda r: (r.normal(size=(3, 2)), r.normal(size=(2, 3))), _X), wrt=(0, 1),
         like="autoencoder, tied nonlinearity")
def autoencoder(We, Wd, X):
    h = np.tanh(X @ We)
    return np.mean((np.tanh(h @ Wd) - np.tanh(X)) ** 2)


@program(lambda r: (r.normal(size=(4, 2)),), like="contrastive pairwise distance loss")
def pairwise_distance_loss(Z):
    d2 = np.sum((Z[:, None, :] - Z[None, :, :]) ** 2, axis=-1)
    return np.sum(np.exp(-d2)) - np.trace(np.exp(-d2))


@program(with_data(lambda r: (r.normal(size=3),), _X, _Y), like="logistic loss via logaddexp")
def logistic_logaddexp(w, X, y):
    z = X @ w
    s = 2.0 * y - 1.0
    return np.sum(np.logaddexp(0.0, -s * z))
