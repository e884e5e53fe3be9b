#!/usr/bin/env python3
"""Fits the rational tanh of src/kernels/simd_kernels.h (tanh_batch):
tanh x ~ x P(x^2) / Q(x^2) on [0, 9], P of degree 5 and Q of degree 3 with
Q(0) = 1, minimising the largest relative error. Sanathanan-Koerner
iterations (linearised least squares reweighted by the previous Q) with
Lawson-style weights that push towards the minimax solution; then the float32
coefficients are checked with float32 Horner evaluation on a dense grid.

Usage: /usr/bin/python3 tools/fit_tanh.py   (numpy only)
"""
import numpy as np

NP, NQ, CLAMP = 5, 3, 9.0


def fit():
    x = CLAMP * (1 - np.cos(np.linspace(0, np.pi, 6000))) / 2
    x = x[x > 0]
    u = (x / CLAMP) ** 2  # scaled x^2 keeps the system well conditioned
    f = np.tanh(x)
    q_prev, w, best = np.ones_like(x), np.ones_like(x), None
    for it in range(400):
        a = np.hstack([x[:, None] * u[:, None] ** np.arange(NP + 1),
                       -(f[:, None] * u[:, None] ** np.arange(1, NQ + 1))])
        s = np.sqrt(w) / (f * q_prev)
        sol = np.linalg.lstsq(a * s[:, None], f * s, rcond=None)[0]
        p, q = sol[:NP + 1], np.concatenate([[1.0], sol[NP + 1:]])
        q_prev = np.polyval(q[::-1], u)
        err = np.abs(x * np.polyval(p[::-1], u) / q_prev / f - 1)
        if it > 20:
            if best is None or err.max() < best[0]:
                best = (err.max(), p, q)
            w = w * (err / err.max()) ** 0.3 + 1e-12
            w /= w.mean()
    _, p, q = best
    scale = CLAMP ** (2.0 * np.arange(max(NP, NQ) + 1))  # back to powers of x^2
    return (p / scale[:NP + 1]).astype(np.float32), (q / scale[:NQ + 1]).astype(np.float32)


def horner32(c, t):
    r = np.full_like(t, c[-1])
    for v in c[-2::-1]:
        r = (r * t + v).astype(np.float32)
    return r


def main():
    p, q = fit()
    x = np.linspace(0, CLAMP, 3000001).astype(np.float32)
    t = (x * x).astype(np.float32)
    y = np.minimum((x * horner32(p, t) / horner32(q, t)).astype(np.float32), 1)
    print("max abs error in float32: %.3g" % np.abs(y - np.tanh(x.astype(np.float64))).max())
    print("P (highest power first):", ", ".join(repr(float(v)) for v in p[::-1]))
    print("Q (highest power first):", ", ".join(repr(float(v)) for v in q[::-1]))


if __name__ == "__main__":
    main()
