#!/usr/bin/env python3
"""Fits the polynomial and rational approximations of src/kernels:

- exp (exp_core.h): e^r ~ 1 + c1 r + ... + c5 r^5 on |r| <= ln2/2, and
  2^r the same way on |r| <= 1/2;
- tanh (simd_kernels.h, tanh_batch): tanh x ~ x P(x^2) / Q(x^2) on [0, 9],
  P of degree 5 and Q of degree 3 with Q(0) = 1.

Both minimise the largest relative error: linearised least squares
(Sanathanan-Koerner for the rational, reweighted by the previous Q) with
Lawson-style weights that push towards the minimax solution. The float32
coefficients are then checked with float32 Horner evaluation on a dense grid.

Usage: /usr/bin/python3 tools/fit_math.py   (numpy only)
"""
import numpy as np


def lawson(solve, err, iters):
    """Reweighted least squares: solve(w) -> coefficients, err(c) -> |rel err|."""
    w, best = None, None
    for it in range(iters):
        c = solve(w)
        e = err(c)
        if best is None or e.max() < best[0]:
            best = (e.max(), c)
        w = (np.ones_like(e) if w is None else w) * (e / e.max()) ** 0.5 + 1e-15
        w /= w.mean()
    return best


def horner32(c, t):
    r = np.full_like(t, c[-1])
    for v in c[-2::-1]:
        r = (r * t + v).astype(np.float32)
    return r


def fit_exp(deg=5, base=np.e):
    """base^r on |r| <= log_base(2) / 2, the range left by n = round(x / log_base 2)."""
    half = np.log(2) / np.log(base) / 2
    r = np.linspace(-half, half, 200001)
    r = r[r != 0]
    f, v = base ** r, r[:, None] ** np.arange(1, deg + 1)  # p = 1 + sum c_k r^k

    def solve(w):
        s = (np.ones_like(r) if w is None else np.sqrt(w)) / f
        return np.linalg.lstsq(v * s[:, None], (f - 1) * s, rcond=None)[0]

    _, c = lawson(solve, lambda c: np.abs((1 + v @ c) / f - 1), 300)
    c = np.concatenate([[1.0], c]).astype(np.float32)
    x = np.linspace(-half, half, 2000001).astype(np.float32)
    name = "exp" if base == np.e else "exp%g" % base
    print("%s: max relative error in float32 %.3g" %
          (name, np.abs(horner32(c, x) / base ** x.astype(np.float64) - 1).max()))
    print("  c5 .. c0:", ", ".join(repr(float(k)) for k in c[::-1]))


def fit_tanh(np_=5, nq=3, clamp=9.0):
    x = clamp * (1 - np.cos(np.linspace(0, np.pi, 6000))) / 2
    x = x[x > 0]
    u = (x / clamp) ** 2  # scaled x^2 keeps the system well conditioned
    f = np.tanh(x)
    state = {"q": np.ones_like(x)}

    def split(sol):
        return sol[:np_ + 1], np.concatenate([[1.0], sol[np_ + 1:]])

    def solve(w):
        a = np.hstack([x[:, None] * u[:, None] ** np.arange(np_ + 1),
                       -(f[:, None] * u[:, None] ** np.arange(1, nq + 1))])
        s = (np.ones_like(x) if w is None else np.sqrt(w)) / (f * state["q"])
        return np.linalg.lstsq(a * s[:, None], f * s, rcond=None)[0]

    def err(sol):
        p, q = split(sol)
        state["q"] = np.polyval(q[::-1], u)
        return np.abs(x * np.polyval(p[::-1], u) / state["q"] / f - 1)

    _, sol = lawson(solve, err, 400)
    p, q = split(sol)
    scale = clamp ** (2.0 * np.arange(max(np_, nq) + 1))  # back to powers of x^2
    p, q = (p / scale[:np_ + 1]).astype(np.float32), (q / scale[:nq + 1]).astype(np.float32)
    xs = np.linspace(0, clamp, 3000001).astype(np.float32)
    t = (xs * xs).astype(np.float32)
    y = np.minimum((xs * horner32(p, t) / horner32(q, t)).astype(np.float32), 1)
    print("tanh: max absolute error in float32 %.3g" % np.abs(y - np.tanh(xs.astype(np.float64))).max())
    print("  P (highest power first):", ", ".join(repr(float(v)) for v in p[::-1]))
    print("  Q (highest power first):", ", ".join(repr(float(v)) for v in q[::-1]))


if __name__ == "__main__":
    fit_exp()
    fit_exp(base=2.0)
    fit_tanh()
