"""N-FINDR: the largest simplex spanned by data points, without a loop over pixels.

The data are points ``y_p`` in a ``d = q - 1`` dimensional (reduced) space.
With the augmented vectors ``z_p = (1, y_p)`` the volume of the simplex whose
vertices are the columns of ``E = [z_i1 ... z_iq]`` is ``|det E| / d!``.

Replacing vertex ``k`` by pixel ``p`` replaces column ``k`` of ``E`` by
``z_p``; by Cramer's rule the new determinant is ``det(E) * b_k(p)`` where
``b(p) = E^-1 z_p`` are the barycentric coordinates of ``p`` with respect to the
current simplex. So one matrix-vector product ``Z @ (E^-1)[k]`` scores every
candidate pixel for vertex ``k`` at once, and the best replacement for vertex
``k`` is ``argmax_p |b_k(p)|``. This is exactly what the classic N-FINDR loop
(Winter 1999; pysptools' ``NFINDR``) finds by computing one determinant per
pixel: the determinant with column ``k`` replaced does not depend on the old
vertex ``k``, so the sequential scan keeps the first pixel of largest volume.
"""

from dataclasses import dataclass
from math import factorial

import numpy as np

# A vertex is replaced only when the volume grows by more than this relative
# amount: guards against endless swaps between pixels that tie to rounding.
_GROWTH_TOL = 1e-10
# Residual norm (relative to the largest norm) below which a direction is
# considered absent from the data (rank deficiency).
_RANK_TOL = 1e-9


@dataclass
class SimplexResult:
    """Outcome of :func:`nfindr`.

    Attributes
    ----------
    indices : ndarray of shape (q,)
        Row indices (into ``Y``) of the simplex vertices, in vertex order.
    volume : float
        Simplex volume in the units of ``Y``: ``|det [1; Y[indices].T]| / (q-1)!``.
    n_iter : int
        Number of sweeps over the ``q`` vertices (the last one made no change
        when ``converged``).
    converged : bool
        False when ``max_iter`` sweeps still improved the volume.
    """

    indices: np.ndarray
    volume: float
    n_iter: int
    converged: bool


def _standardise(Y):
    """Centre and scale each coordinate to unit variance (float64).

    Volumes change by one constant factor under this affine map, so the
    chosen vertices do not; it only keeps determinants near 1 for any data
    scale.
    """
    Y = np.asarray(Y, dtype=np.float64)
    n, d = Y.shape
    # The score table of a large map is 100s of MB: two passes over it in
    # blocks of rows (temporaries stay in cache), none of its size.
    step = 1 << 16
    centre = (np.ones(n) @ Y) / max(n, 1)
    sq = np.zeros(d)
    for start in range(0, n, step):
        block = Y[start : start + step] - centre
        sq += np.einsum("ij,ij->j", block, block)
    std = np.sqrt(sq / max(n, 1))
    scale = max(abs(Y.max()), abs(Y.min())) if Y.size else 0.0
    bad = ~(std > _RANK_TOL * max(scale, np.finfo(float).tiny))
    if np.any(bad):
        raise ValueError(
            f"the reduced data have no spread along {int(bad.sum())} of "
            f"{Y.shape[1]} dimensions: the data have rank < n_endmembers - 1 "
            "(ask for fewer endmembers)"
        )
    Z = np.empty((n, d + 1))
    Z[:, 0] = 1.0
    inv = 1.0 / std
    for start in range(0, n, step):
        stop = start + step
        np.multiply(Y[start:stop] - centre, inv, out=Z[start:stop, 1:])
    return Z


def simplex_volume(vertices):
    """Volume of the simplex with the given vertices.

    Parameters
    ----------
    vertices : array_like of shape (q, q - 1)
        One vertex per row.

    Returns
    -------
    float
    """
    V = np.asarray(vertices, dtype=np.float64)
    q = V.shape[0]
    if V.shape != (q, q - 1):
        raise ValueError(f"`vertices` must have shape (q, q - 1), got {V.shape}")
    E = np.vstack([np.ones(q), V.T])
    return float(abs(np.linalg.det(E)) / factorial(q - 1))


def atgp(Y, n_endmembers):
    """Automatic Target Generation Process on the augmented reduced data.

    The first target is the pixel farthest from the data centre; every next
    target is the pixel with the largest component orthogonal to the span of
    the augmented vectors ``(1, y)`` of the targets chosen so far (so the
    targets are affinely independent).

    Parameters
    ----------
    Y : ndarray of shape (n_pixels, n_endmembers - 1)
    n_endmembers : int

    Returns
    -------
    ndarray of int of shape (n_endmembers,)

    Raises
    ------
    ValueError
        If the data do not span ``n_endmembers - 1`` dimensions.
    """
    Z = _standardise(Y)
    return _atgp(Z, n_endmembers)


def _atgp(Z, q):
    n = Z.shape[0]
    if n < q:
        raise ValueError(f"need at least n_endmembers={q} pixels, got {n}")
    # Squared residual norms, updated by Gram-Schmidt against each new target.
    res2 = np.einsum("ij,ij->i", Z, Z)
    ref = res2.max()
    basis = []
    chosen = np.empty(q, dtype=np.intp)
    for k in range(q):
        p = int(np.argmax(res2))
        # res2 comes from a running subtraction (rounding ~1e-16 * ref), and
        # standardised real directions leave O(1) residuals: 1e-12 separates them.
        if res2[p] <= 1e-12 * ref:
            raise ValueError(
                f"the data have rank {k - 1} after reduction (affine dimensions); "
                f"n_endmembers={q} needs rank {q - 1} (ask for fewer endmembers)"
            )
        chosen[k] = p
        v = Z[p].copy()
        for u in basis:  # q is small: loop over targets, not pixels
            v -= (u @ v) * u
        v /= np.linalg.norm(v)
        basis.append(v)
        res2 -= (Z @ v) ** 2
        res2[chosen[: k + 1]] = -np.inf
    return chosen


def _sweep(Z, indices, max_iter):
    """Sequential N-FINDR sweeps from ``indices`` (modified in place)."""
    q = indices.size
    E = Z[indices].T.copy()  # columns are vertices
    n_iter = 0
    converged = False
    while n_iter < max_iter:
        n_iter += 1
        changed = False
        for k in range(q):
            # Row k of E^-1 gives the k-th barycentric coordinate of every pixel.
            e_k = np.zeros(q)
            e_k[k] = 1.0
            try:
                row = np.linalg.solve(E.T, e_k)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "the simplex became degenerate (zero volume): the data have "
                    "rank < n_endmembers - 1"
                ) from None
            b = np.abs(Z @ row)
            p = int(np.argmax(b))
            if b[p] > 1.0 + _GROWTH_TOL:
                indices[k] = p
                E[:, k] = Z[p]
                changed = True
        if not changed:
            converged = True
            break
    return n_iter, converged


def _det(Z, indices):
    return abs(np.linalg.det(Z[indices].T))


def nfindr(
    Y,
    n_endmembers,
    *,
    init="atgp",
    n_init=1,
    max_iter=100,
    random_state=None,
):
    """Find the vertices of the largest simplex spanned by the rows of ``Y``.

    Parameters
    ----------
    Y : ndarray of shape (n_pixels, n_endmembers - 1)
        Reduced data (e.g. principal component scores).
    n_endmembers : int
        Number of vertices ``q`` (>= 2).
    init : {"atgp", "random"} or array_like of int of shape (q,)
        Start simplex: ATGP (deterministic), ``q`` distinct random pixels
        (``n_init`` starts, the largest final volume is kept), or given row
        indices.
    n_init : int
        Number of random starts (``init="random"`` only).
    max_iter : int
        Maximum number of sweeps over the vertices.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seeds the random starts.

    Returns
    -------
    SimplexResult

    Raises
    ------
    ValueError
        If ``Y`` has the wrong shape, fewer than ``q`` rows, rank < ``q - 1``,
        or a given start simplex is degenerate.
    """
    Y = np.asarray(Y)
    q = int(n_endmembers)
    if q < 2:
        raise ValueError(f"`n_endmembers` must be >= 2, got {q}")
    if Y.ndim != 2 or Y.shape[1] != q - 1:
        raise ValueError(
            f"`Y` must have shape (n_pixels, n_endmembers - 1) = (n, {q - 1}), "
            f"got {Y.shape}"
        )
    if Y.shape[0] < q:
        raise ValueError(f"need at least n_endmembers={q} pixels, got {Y.shape[0]}")
    if not np.all(np.isfinite(Y)):
        raise ValueError("`Y` contains NaN or infinite values")
    Z = _standardise(Y)

    if isinstance(init, str):
        if init == "atgp":
            starts = [_atgp(Z, q)]
        elif init == "random":
            # imported here: scikit-learn takes seconds to import, ATGP needs none
            rng = random_state
            if not isinstance(rng, np.random.Generator):
                from sklearn.utils import check_random_state

                rng = check_random_state(random_state)
            starts = [_random_start(Z, q, rng) for _ in range(int(n_init))]
        else:
            raise ValueError(
                f"`init` must be 'atgp', 'random' or indices; got {init!r}"
            )
    else:
        start = np.asarray(init)
        if (
            start.shape != (q,)
            or not np.issubdtype(start.dtype, np.integer)
            or start.min() < 0
            or start.max() >= Z.shape[0]
            or np.unique(start).size != q
        ):
            raise ValueError(
                f"`init` indices must be {q} distinct integers in [0, {Z.shape[0]}), "
                f"got {init!r}"
            )
        if _det(Z, start) <= _RANK_TOL:
            raise ValueError("`init` indices span a degenerate (zero-volume) simplex")
        starts = [start.astype(np.intp)]

    best = None
    for start in starts:
        idx = start.copy()
        n_iter, converged = _sweep(Z, idx, int(max_iter))
        vol = _det(Z, idx)
        if best is None or vol > best[1]:
            best = (idx, vol, n_iter, converged)
    idx, _, n_iter, converged = best
    volume = simplex_volume(np.asarray(Y, dtype=np.float64)[idx])
    return SimplexResult(indices=idx, volume=volume, n_iter=n_iter, converged=converged)


def _random_start(Z, q, rng, max_draws=100):
    """``q`` distinct random pixels spanning a non-degenerate simplex."""
    for _ in range(max_draws):
        idx = rng.choice(Z.shape[0], size=q, replace=False).astype(np.intp)
        if _det(Z, idx) > _RANK_TOL:
            return idx
    raise ValueError(
        f"{max_draws} random draws of {q} pixels all gave a degenerate simplex: "
        "most pixels coincide; use init='atgp'"
    )
