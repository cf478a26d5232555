"""Faithful references of the classic per-pixel N-FINDR and FCLS (benchmarks only).

pysptools 0.15 (the usual Python N-FINDR / FCLS) no longer runs on current
SciPy/NumPy, so its algorithms are transcribed here as they were written:

- ``classic_nfindr``: ``pysptools.eea.eea.NFINDR`` -- for every vertex k, for
  every pixel p, put p in column k of the augmented vertex matrix, take its
  determinant, keep p when the volume grew; repeat sweeps until a sweep does
  not grow the volume (float64 determinants instead of pysptools' float32).
- ``nnls_fcls``: ``pysptools.abundance_maps.amaps.FCLS``-style per-pixel
  ``scipy.optimize.nnls`` on the system augmented with a sum-to-one row of
  weight ``delta``. pysptools used a fixed ``delta``, which makes the result
  depend on the scale of the data; here ``delta`` is relative to the data
  scale (``1e4`` times the RMS column norm of the endmember matrix), so the
  sum-to-one penalty dominates by 1e8 and the answer is exact to ~1e-8.
"""

import numpy as np
from scipy.optimize import nnls


def classic_nfindr(Y, start, max_iter=100, pixels=None):
    """Per-pixel determinant N-FINDR from the vertex indices ``start``.

    ``pixels`` limits the candidates scanned per vertex (for timing a
    subset); by default every row of ``Y`` is scanned. Returns
    ``(indices, n_sweeps, n_determinants)``.
    """
    q = Y.shape[1] + 1
    idx = [int(i) for i in start]
    T = np.ones((q, q))
    for k in range(q):
        T[1:, k] = Y[idx[k]]
    volume = abs(np.linalg.det(T))
    candidates = range(Y.shape[0]) if pixels is None else pixels
    n_det = 0
    for sweep in range(1, max_iter + 1):
        grew = False
        for k in range(q):
            for p in candidates:
                T[1:, k] = Y[p]
                v = abs(np.linalg.det(T))
                n_det += 1
                # relative guard against swaps between rounding-level ties
                if v > volume * (1 + 1e-10):
                    volume, idx[k], grew = v, p, True
            T[1:, k] = Y[idx[k]]
        if not grew:
            break
    return np.array(idx), sweep, n_det


def nnls_fcls(X, E):
    """Per-pixel FCLS by ``nnls`` on the delta-augmented system; (n, q)."""
    E = np.asarray(E, dtype=np.float64)
    q = E.shape[0]
    delta = 1e4 * np.sqrt(np.mean(E**2) * E.shape[1])
    M = np.vstack([delta * np.ones(q), E.T])
    out = np.empty((X.shape[0], q))
    rhs = np.empty(E.shape[1] + 1)
    rhs[0] = delta
    for i in range(X.shape[0]):
        rhs[1:] = X[i]
        out[i] = nnls(M, rhs)[0]
    return out
