"""Simulations and loops writing arrays: integrators, stencils, recurrences, dynamic programs."""

import math

import numpy as np

from . import program

CATEGORY = "simulations"

@program((0.8, 0.3), wrt=(0, 1), like="Euler ODE, scalar state")
def euler_scalar(k, y0):
    y = y0
    dt = 0.05
    for _ in range(40):
        y = y + dt * (-k * y + math.sin(y))
    return y * y


@program(lambda r: (np.array([1.0, 0.0]), 0.6), wrt=(0, 1), like="harmonic oscillator")
def euler_vector_state(s0, w):
    s = s0.copy()
    dt = 0.1
    for _ in range(20):
        v = np.array([s[1], -w * w * s[0]])
        s = s + dt * v
    return np.sum(s ** 2)


@program((0.7,), like="RK4 on a scalar ODE")
def rk4_scalar(a):
    def rhs(y):
        return -a * y + 0.3 * math.cos(y)

    y = 1.0
    h = 0.1
    for _ in range(10):
        k1 = rhs(y)
        k2 = rhs(y + 0.5 * h * k1)
        k3 = rhs(y + 0.5 * h * k2)
        k4 = rhs(y + h * k3)
        y = y + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return y


@program(lambda r: (r.uniform(0.0, 1.0, 5), 0.2), wrt=(0, 1), like="heat stencil")
def heat_stencil(u0, kappa):
    u = u0.copy()
    for _ in range(10):
        v = u.copy()
        for i in range(1, 4):
            v[i] = u[i] + kappa * (u[i - 1] - 2.0 * u[i] + u[i + 1])
        u = v
    target = np.array([0.2, 0.5, 0.9, 0.4, 0.1])
    return np.sum((u - target) ** 2)


@program(lambda r: (r.uniform(0.0, 1.0, 6), 0.25), wrt=(0, 1))
def heat_vectorized(u0, kappa):
    u = u0
    for _ in range(10):
        lap = np.zeros_like(u)
        lap[1:-1] = u[:-2] - 2.0 * u[1:-1] + u[2:]
        u = u + kappa * lap
    return np.sum(u ** 2)


@program((3.7, 0.4), wrt=(0, 1), like="logistic map")
def logistic_map(r, x0):
    x = x0
    for _ in range(8):
        x = r * x * (1.0 - x)
    return x


@program(lambda r: (r.normal(size=(3, 3)) * 0.5, r.normal(size=(4, 3))), wrt=(0, 1),
         like="tanh RNN over a sequence")
def rnn_sequence(W, xs):
    h = np.zeros(3)
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + xs[t])
    return np.sum(h ** 2)


@program(lambda r: (r.normal(size=5), 0.7), wrt=(0, 1), like="Horner's rule")
def horner(c, x):
    p = 0.0
    for k in range(len(c)):
        p = p * x + c[k]
    return p


@program((2.0,), like="Newton iterations for a square root")
def newton_sqrt(a):
    x = 1.0
    for _ in range(6):
        x = 0.5 * (x + a / x)
    return x


@program(lambda r: (r.normal(size=2), 0.1), wrt=(0, 1), like="unrolled gradient descent")
def unrolled_gd(w0, lr):
    w = w0
    for _ in range(5):
        g = 2.0 * (w - np.array([1.0, -2.0]))
        w = w - lr * g
    return np.sum(w ** 2)


@program((0.9, 0.2), wrt=(0, 1), like="pendulum, semi-implicit Euler")
def pendulum(theta0, damping):
    theta = theta0
    omega = 0.0
    dt = 0.05
    for _ in range(30):
        omega = omega - dt * (9.81 * math.sin(theta) + damping * omega)
        theta = theta + dt * omega
    return theta ** 2 + 0.1 * omega ** 2


@program((1.0, 0.5, 0.8), wrt=(0, 1, 2), like="Lotka-Volterra")
def lotka_volterra(a, b, c):
    x, y = 1.0, 0.5
    dt = 0.02
    for _ in range(25):
        dx = a * x - b * x * y
        dy = b * x * y - c * y
        x, y = x + dt * dx, y + dt * dy
    return x + 2.0 * y


@program(lambda r: (r.normal(size=4), r.normal(size=5)), wrt=(0, 1), like="soft-DTW, small")
def soft_dtw(x, y):
    n, m = len(x), len(y)
    R = np.full((n + 1, m + 1), 1e10)
    R[0, 0] = 0.0
    gamma = 0.5
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            a = -R[i - 1, j - 1] / gamma
            b = -R[i - 1, j] / gamma
            c = -R[i, j - 1] / gamma
            mx = max(a, b, c)
            smin = -gamma * (mx + math.log(math.exp(a - mx) + math.exp(b - mx)
                                            + math.exp(c - mx)))
            R[i, j] = (x[i - 1] - y[j - 1]) ** 2 + smin
    return R[n, m]


@program(lambda r: (r.normal(size=(3, 3)), r.normal(size=3)), wrt=(0, 1),
         like="HMM forward algorithm")
def hmm_forward(logA, logpi):
    obs = np.array([[0.1, -0.3, 0.2], [0.0, 0.4, -0.1], [0.3, 0.1, 0.0], [-0.2, 0.2, 0.5]])
    alpha = logpi + obs[0]
    for t in range(1, 4):
        nxt = np.zeros(3)
        for j in range(3):
            v = alpha + logA[:, j]
            m = np.max(v)
            nxt[j] = m + np.log(np.sum(np.exp(v - m))) + obs[t, j]
        alpha = nxt
    m = np.max(alpha)
    return m + np.log(np.sum(np.exp(alpha - m)))


@program(lambda r: (r.normal(size=6), 0.3), wrt=(0, 1), like="exponential moving average")
def ema_filter(x, beta):
    s = 0.0
    out = np.zeros(6)
    for t in range(6):
        s = beta * s + (1.0 - beta) * x[t]
        out[t] = s
    return np.sum(out ** 2)


@program(lambda r: (r.normal(size=5),), like="cumulative product loop")
def running_product(x):
    p = 1.0
    acc = np.empty(5)
    for i in range(5):
        p = p * (1.0 + 0.1 * x[i])
        acc[i] = p
    return np.sum(acc)


@program((0.5, 0.1), wrt=(0, 1), like="Kalman filter, scalar")
def kalman_scalar(q, r_noise):
    zs = [0.3, 0.5, 0.4, 0.8, 0.7]
    x = 0.0
    p = 1.0
    ll = 0.0
    for z in zs:
        p = p + q
        s = p + r_noise
        k = p / s
        innov = z - x
        ll = ll - 0.5 * (math.log(2.0 * math.pi * s) + innov * innov / s)
        x = x + k * innov
        p = (1.0 - k) * p
    return -ll


@program(lambda r: (r.normal(size=(4, 2)), 0.5), wrt=(0, 1), like="N-body pairwise forces")
def pairwise_forces(pos, g):
    n = pos.shape[0]
    acc = np.zeros((n, 2))
    for i in range(n):
        for j in range(n):
            if i != j:
                d = pos[j] - pos[i]
                r2 = d[0] ** 2 + d[1] ** 2 + 0.1
                acc[i] += g * d / r2 ** 1.5
    return np.sum(acc ** 2)


@program(lambda r: (r.normal(size=3),), like="fixed-point iteration, vector")
def fixed_point_vector(b):
    x = np.zeros(3)
    for _ in range(15):
        x = 0.5 * np.tanh(x) + b
    return np.sum(x ** 2)


@program((0.3,), like="Monte Carlo with fixed samples")
def monte_carlo_fixed(mu):
    eps = np.array([0.1, -0.4, 1.2, -0.8, 0.5, 0.3])
    total = 0.0
    for e in eps:
        z = mu + 0.5 * e
        total = total + z * z * math.exp(-0.1 * z)
    return total / len(eps)


@program(lambda r: (r.normal(size=(3, 3)) * 0.3,), like="matrix exponential by series")
def matrix_exp_series(A):
    term = np.eye(3)
    total = np.eye(3)
    for k in range(1, 8):
        term = term @ A / k
        total = total + term
    return np.sum(total)


@program(lambda r: (r.uniform(0.5, 1.5, 6),), like="trapezoid rule")
def trapezoid_loop(y):
    h = 0.2
    s = 0.0
    for i in range(len(y) - 1):
        s = s + 0.5 * h * (y[i] + y[i + 1])
    return s * s + np.trapezoid(y, dx=h)


@program((0.4,), like="while loop to a tolerance")
def bisection_like(a):
    x = 1.0
    err = 1.0
    it = 0
    while err > 1e-3 and it < 50:
        x_new = math.cos(a * x)
        err = abs(x_new - x)
        x = x_new
        it += 1
    return x


@program(lambda r: (r.normal(size=(2, 3)),), like="conv1d by loops")
def conv1d_loops(w):
    sig = np.array([0.1, 0.4, -0.2, 0.7, 0.3, -0.5, 0.2])
    out = np.zeros((2, 5))
    for c in range(2):
        for t in range(5):
            out[c, t] = np.dot(w[c], sig[t:t + 3])
    return np.sum(np.tanh(out) ** 2)
