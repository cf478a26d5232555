"""Linear-mixing abundances, batched over pixels and exact.

For one pixel ``x`` (``C`` channels) and endmembers ``E`` (``q x C``) the
least-squares objective ``||x - E^T a||^2 = x.x - 2 a.c + a^T G a`` only needs
``c = E x`` and the shared ``G = E E^T``. The constrained problems are small
convex quadratic programmes in ``q`` unknowns:

- ``"ucls"``: unconstrained, ``G a = c``;
- ``"scls"``: ``sum(a) = 1`` (an equality-constrained solve);
- ``"nnls"``: ``a >= 0``;
- ``"fcls"``: ``a >= 0`` and ``sum(a) = 1``.

For the inequality-constrained ones the solution is the unique point meeting
the Karush-Kuhn-Tucker conditions; for a given support ``S`` (the non-zero
entries) it is the solution of a linear system whose matrix depends only on
``G`` and ``S``, not on the pixel. So the pixels that share a candidate support
are solved together (one small factorisation, one matrix product), and a pixel
is done when its solution is feasible and its multipliers are non-negative.
Candidate supports come from a primal-dual active-set iteration (a few rounds,
each solving every open pixel on its own support in batched products); pixels
where it has not converged try every support, largest first (``2^q - 1`` at
most).

The data are scaled so that ``G`` has unit mean diagonal; solutions do not
depend on the scale of the data (raw counts or normalised spectra give the same
fractions) and tolerances are relative.
"""

from itertools import combinations

import numpy as np

from hyperspy_unmix._core.linalg import row_dots
from hyperspy_unmix._core.parallel import map_ranges, row_ranges, single_blas_thread

METHODS = ("fcls", "nnls", "scls", "ucls")
# Feasibility / optimality tolerance on the scaled problem (fractions are O(1)).
_KKT_TOL = 1e-9
# Pixels per batched product of the active set (16384 x 9 x 9 float64: 10 MiB).
_BATCH_ROWS = 16384
# Largest condition number accepted for the endmember Gram (or KKT) matrix.
_MAX_COND = 1e12
# Bytes of the float64 block buffer: ~1 MiB stays in cache between the
# conversion, the product and the norms (5x faster here than 32 MiB blocks).
_BLOCK_BYTES = 1 << 20
# Of the float32 buffer of :func:`reduction_projections` (512 rows of 2048
# channels: faster than 64-256 rows, measured with 2 threads).
_F32_BLOCK_BYTES = 4 << 20
# Largest |x - centre|^2 / (distance to the subspace)^2 of a row kept in
# float32 there: its squared distance errs by up to ~30 float32 units of
# |x - centre|^2 (measured on maps of 64-4096 channels), so < 2e-5 relative.
_F32_MAX_RATIO = 8.0
# Below this |x - centre|^2, float32 squares lose digits to subnormals.
_F32_TINY = 1e-30
# The float32 sweep pays only when few rows need the float64 redo: measured
# (float32 sweep / float64 products) 0.5x at 95 % of rows kept (128 x 128 x
# 2048), 1.16x at 78 % (256 x 256 x 1024). One row in 128 decides, in float64.
_F32_MIN_KEPT = 0.9
_F32_PROBE_STEP = 128
_F32_PROBE_MIN = 64
_GOLDEN = (np.sqrt(5.0) - 1) / 2


def _block_rows(width):
    return max(16, _BLOCK_BYTES // (8 * max(int(width), 1)))


def _row_blocks(X, lo, hi, block_rows, rows, columns):
    """``(at, block)`` over rows ``lo:hi`` of ``X``: the used ``rows`` (a bool
    mask, or all) and ``columns`` of each, ``at`` its first output row."""
    at = lo if rows is None else int(np.count_nonzero(rows[:lo]))
    for start in range(lo, hi, block_rows):
        stop = min(start + block_rows, hi)
        xb = X[start:stop]
        if rows is not None:
            xb = xb[rows[start:stop]]
        if columns is not None:
            xb = xb[:, columns]
        yield at, xb
        at += xb.shape[0]


def projections(X, E, block_rows=None, columns=None, norms=True, rows=None):
    """``c = X E^T`` and ``x.x`` in float64, a block of pixels at a time.

    Parameters
    ----------
    X : ndarray of shape (n_pixels, n_channels)
        Any real dtype; copied into one reused float64 block buffer at a time,
        so float32 and integer data give products as exact as float64 data
        without a float64 copy of the whole map (and without fresh memory to
        page in for every block).
    E : ndarray of shape (q, n_used)
    block_rows : None or int
        Pixels per block (None: a buffer of about 1 MiB).
    columns : None or ndarray of int of shape (n_used,)
        Channels of ``X`` to use (all when None).
    norms : bool
        Also return the squared norms ``x.x`` (for the residual).
    rows : None or ndarray of bool of shape (n_pixels,)
        Pixels to use (all when None); selected block by block, so the map
        is never copied.

    Returns
    -------
    c : ndarray of shape (n_rows, q)
        ``n_rows`` = the number of pixels used.
    xx : ndarray of shape (n_rows,) or None
    """
    E = np.asarray(E, dtype=np.float64)
    n = X.shape[0]
    n_out = n if rows is None else int(np.count_nonzero(rows))
    c = np.empty((n_out, E.shape[0]))
    xx = np.empty(n_out) if norms else None
    ET = np.ascontiguousarray(E.T)
    width = X.shape[1] if columns is None else len(columns)
    block_rows = _block_rows(width) if block_rows is None else int(block_rows)

    def part(lo, hi):
        # each thread its own small buffer (1 MiB: cheap to touch afresh)
        buf = np.empty((min(block_rows, max(hi - lo, 1)), width))
        for at, xb in _row_blocks(X, lo, hi, block_rows, rows, columns):
            m = xb.shape[0]
            b = buf[:m]
            np.copyto(b, xb, casting="unsafe")
            np.matmul(b, ET, out=c[at : at + m])
            if norms:
                xx[at : at + m] = row_dots(b)

    with single_blas_thread() as workers:
        map_ranges(part, row_ranges(n, block_rows, workers))
    return c, xx


def reduction_projections(X, V, centre, columns=None, rows=None, block_rows=None):
    """``[x V^T, x . centre, x . 1, x . x]`` of every row, in float64.

    What the abundances of endmembers inside the principal subspace and the
    outlier screening need from each pixel (``V``: the ``k`` orthonormal
    components). For float64 data these are :func:`projections`, exact
    products. Data whose work dtype is float32 (float32, float16, 8-/16-bit
    integers) take one float32 sweep per block instead, at less than half
    the cost (float64 products of a few columns are bound by the GEMM and
    the conversion): the block is shifted by the float32 centre ``c32``
    (exactly, for these data), multiplied by ``[V, c32, centre - c32, 1]``
    and its squared norms taken, and the uncentred numbers are rebuilt in
    float64 so that the ``d . c32`` products cancel exactly in
    ``x . x - 2 x . centre``: no float32 error of the size of ``|x|^2``
    (which would swamp the residual of a map with a large background).

    What is left is float32 rounding of the centred products, up to ~30
    float32 units of ``|x - centre|^2`` on the squared distance to the
    subspace (measured at 64-4096 channels). So a row is kept in float32
    only where that distance squared is at least ``1 / _F32_MAX_RATIO`` of
    ``|x - centre|^2`` (its squared residuals then err by < 2e-5, relative);
    the other rows (spectra far from the centre against their noise: high
    counts, noiseless data) and rows that overflow or underflow float32
    are redone in float64 within the block. The denoising of the noisy
    maps this is for keeps most rows in float32 (94 % of a 128 x 128 x
    2048 map, all of a sliding-FFT stack); where a probe of the rows
    (:func:`_float32_pays`) finds fewer than ``_F32_MIN_KEPT`` of them, the
    whole call takes the float64 products instead.

    Parameters
    ----------
    X : ndarray of shape (n_pixels, n_channels)
    V : ndarray of shape (k, n_used)
    centre : ndarray of shape (n_used,)
    columns, rows, block_rows
        As in :func:`projections`.

    Returns
    -------
    ndarray of shape (n_rows, k + 3)
    """
    from hyperspy_unmix._core.randomized import work_dtype

    V = np.asarray(V, dtype=np.float64)
    centre = np.asarray(centre, dtype=np.float64)
    k = V.shape[0]
    W64 = np.vstack([V, centre, np.ones_like(centre)])
    if work_dtype(X.dtype) == np.float64 or not _float32_pays(
        X, V, centre, columns, rows
    ):
        c, xx = projections(X, W64, block_rows, columns, norms=True, rows=rows)
        return np.column_stack([c, xx])
    c32 = centre.astype(np.float32)
    c3 = c32.astype(np.float64)
    W32 = np.ascontiguousarray(
        np.vstack([V, c3, centre - c3, np.ones_like(centre)]).T, dtype=np.float32
    )
    n = X.shape[0]
    n_out = n if rows is None else int(np.count_nonzero(rows))
    out = np.empty((n_out, k + 3))
    width = X.shape[1] if columns is None else len(columns)
    if block_rows is None:
        block_rows = max(16, _F32_BLOCK_BYTES // (4 * max(width, 1)))
    # the uncentred parts, in float64: x = d + c32
    cV, c3c, c1, c33 = c3 @ V.T, c3 @ centre, c3.sum(), c3 @ c3
    dcV = (c3 - centre) @ V.T

    def part(lo, hi):
        buf = np.empty((min(block_rows, max(hi - lo, 1)), width), np.float32)
        for at, xb in _row_blocks(X, lo, hi, block_rows, rows, columns):
            m = xb.shape[0]
            d = buf[:m]
            o = out[at : at + m]
            with np.errstate(over="ignore", invalid="ignore"):
                np.subtract(xb, c32, out=d, casting="unsafe")
                g = d @ W32
                dd = row_dots(d).astype(np.float64)
                sc = g[:, :k] + dcV  # (x - centre) V^T
                o[:, :k] = sc + cV
                dc = g[:, k].astype(np.float64)
                o[:, k] = dc + g[:, k + 1] + c3c  # d.c32 + d.(c - c32) + c32.c
                o[:, k + 1] = g[:, k + 2] + c1
                o[:, k + 2] = dd + 2.0 * dc + c33  # |d + c32|^2
                # rows whose residual float32 cannot give to ~2e-5 (the
                # squared distance to the subspace against |x - centre|^2),
                # rows that overflow or underflow float32, NaN rows: again
                # in float64
                redo = ~_float32_enough(dd, dd - row_dots(sc))
                redo |= ~np.isfinite(o).all(axis=1)
            if redo.any():
                x64 = xb[redo].astype(np.float64)
                o[redo, : k + 2] = x64 @ W64.T
                o[redo, k + 2] = row_dots(x64)

    with single_blas_thread() as workers:
        map_ranges(part, row_ranges(n, block_rows, workers))
    return out


def _float32_pays(X, V, centre, columns, rows):
    """Whether most rows would stay in float32 in :func:`reduction_projections`.

    Decided on one used row in ``_F32_PROBE_STEP`` (at least
    ``_F32_PROBE_MIN``, spread over the rows), in float64: the share
    whose ``|x - centre|^2`` is at most ``_F32_MAX_RATIO`` times their
    squared distance to the subspace.
    """
    idx = np.arange(X.shape[0]) if rows is None else np.flatnonzero(rows)
    # a golden-ratio sequence over the rows, not a stride: every 128th pixel
    # of a 128-pixel-wide map is one column (its edge), unlike the rest
    m = min(len(idx), max(len(idx) // _F32_PROBE_STEP, _F32_PROBE_MIN))
    pick = np.unique((np.arange(m) * _GOLDEN % 1.0 * len(idx)).astype(np.intp))
    probe = X[idx[pick]]
    if columns is not None:
        probe = probe[:, columns]
    if probe.shape[0] == 0:
        return False
    d = probe.astype(np.float64) - centre
    # one BLAS thread: woken BLAS threads would spin on and slow the pass
    # that follows (its threads are this module's own)
    with np.errstate(over="ignore", invalid="ignore"), single_blas_thread():
        dd = row_dots(d)
        kept = _float32_enough(dd, dd - row_dots(d @ V.T))
    return bool(np.mean(kept) >= _F32_MIN_KEPT)


def _float32_enough(dd, rp):
    """Rows whose float32 sweep keeps the squared residual to 2e-5: from
    ``|x - centre|^2`` and the squared distance to the subspace."""
    return (rp * _F32_MAX_RATIO >= dd) & (dd >= _F32_TINY)


def _check_gram(G, sum_to_one):
    """Refuse endmembers for which the abundances are not unique."""
    q = G.shape[0]
    if sum_to_one:
        K = np.zeros((q + 1, q + 1))
        K[:q, :q] = G
        K[:q, q] = K[q, :q] = 1.0
        cond = np.linalg.cond(K)
        what = "affinely"
    else:
        cond = np.linalg.cond(G)
        what = "linearly"
    if not np.isfinite(cond) or cond > _MAX_COND:
        raise ValueError(
            f"the endmembers are (nearly) {what} dependent (condition number "
            f"{cond:.3g}): the abundances are not unique; use fewer endmembers"
        )


def _support_solution(G, c, S, sum_to_one):
    """Solution restricted to support ``S`` for all pixels, and its multipliers.

    Returns ``a`` (n, q) with zeros off ``S`` and ``mu`` (n, q): the KKT
    multipliers of ``a >= 0`` (zero on ``S``), with the sign convention
    ``mu >= 0`` at the optimum.
    """
    S = np.asarray(S, dtype=np.intp).reshape(-1)
    n, q = c.shape
    off = np.setdiff1d(np.arange(q), S)
    a = np.zeros((n, q))
    mu = np.zeros((n, q))
    m = S.size
    lam = None
    if m:
        G_SS = G[np.ix_(S, S)]
        if sum_to_one:
            K = np.zeros((m + 1, m + 1))
            K[:m, :m] = G_SS
            K[:m, m] = K[m, :m] = 1.0
            Kinv = np.linalg.inv(K)
            # [a_S; lam] = Kinv @ [c_S; 1]
            sol = c[:, S] @ Kinv[:, :m].T + Kinv[:, m][None, :]
            a_S = sol[:, :m]
            lam = sol[:, m]
        else:
            a_S = c[:, S] @ np.linalg.inv(G_SS).T
        a[:, S] = a_S
    if off.size:
        # Stationarity off the support: mu = (G a)_off - c_off + lam.
        mu_off = -c[:, off]
        if m:
            mu_off += a_S @ G[np.ix_(S, off)]
        if lam is not None:
            mu_off += lam[:, None]
        mu[:, off] = mu_off
    return a, mu


def _record(a, mu, rows, out, best):
    """Keep, per pixel, the candidate with the smallest KKT violation."""
    viol = -np.minimum(a.min(axis=1), mu.min(axis=1))
    better = viol < best[rows]
    out[rows[better]] = a[better]
    best[rows[better]] = viol[better]
    return viol


def _support_solutions(G, c, support, sum_to_one):
    """:func:`_support_solution` with each pixel on its own support.

    One bordered system per distinct support, all inverted at once: the
    off-support unknowns get identity rows (``a_j = 0``), so every system
    has the full size and the pixels are solved in batched products, not
    in a Python loop over supports. Returns ``a`` and ``mu`` as
    :func:`_support_solution` does.
    """
    n, q = c.shape
    bits = np.left_shift(1, np.arange(q, dtype=np.int64))
    uniq, group = np.unique(support @ bits, return_inverse=True)
    masks = (uniq[:, None] & bits) != 0
    m = q + 1 if sum_to_one else q
    K = np.zeros((len(uniq), m, m))
    K[:, :q, :q] = G * (masks[:, :, None] & masks[:, None, :])
    gi, ji = np.nonzero(~masks)
    K[gi, ji, ji] = 1.0
    if sum_to_one:
        K[:, :q, q] = masks
        K[:, q, :q] = masks
    Kinv = np.linalg.inv(K)
    a = np.empty((n, q))
    lam = np.empty(n) if sum_to_one else None
    for lo in range(0, n, _BATCH_ROWS):  # bounded (rows, m, m) temporaries
        hi = min(lo + _BATCH_ROWS, n)
        rhs = np.where(support[lo:hi], c[lo:hi], 0.0)
        if sum_to_one:
            rhs = np.column_stack([rhs, np.ones(hi - lo)])
        sol = np.einsum("nij,nj->ni", Kinv[group[lo:hi]], rhs)
        a[lo:hi] = sol[:, :q]
        if sum_to_one:
            lam[lo:hi] = sol[:, q]
    a[~support] = 0.0
    # Stationarity off the support: mu = (G a)_off - c_off + lam.
    mu = a @ G - c
    if sum_to_one:
        mu += lam[:, None]
    mu[support] = 0.0
    return a, mu


def _active_set(G, c, sum_to_one, out, best, max_iter=None):
    """Primal-dual active-set iterations, all pixels at once.

    Start from the support of the equality-constrained solution; then every
    pixel's next support keeps its positive entries and adds the entries whose
    multipliers are negative (Hintermueller, Ito & Kunisch 2002). Each round
    solves every pixel still open on its own support in one batched call
    (:func:`_support_solutions`). Returns the pixels not yet meeting the KKT
    conditions.
    """
    n, q = c.shape
    max_iter = 2 * q + 5 if max_iter is None else max_iter
    # Full support first, for every pixel (most mixed pixels end here).
    a0, mu0 = _support_solution(G, c, np.arange(q), sum_to_one)
    all_rows = np.arange(n)
    viol = _record(a0, mu0, all_rows, out, best)
    todo = all_rows[viol > _KKT_TOL]
    support = a0 > 0
    if sum_to_one:  # at least one endmember per pixel
        none = ~support.any(axis=1)
        support[none, np.argmax(a0[none], axis=1)] = True
    for _ in range(max_iter):
        if todo.size == 0:
            break
        a, mu = _support_solutions(G, c[todo], support[todo], sum_to_one)
        viol = _record(a, mu, todo, out, best)
        new = (a > 0) | (mu < 0)
        if sum_to_one:
            none = ~new.any(axis=1)
            new[none, 0] = True
        support[todo] = new
        todo = todo[viol > _KKT_TOL]
    return todo


def _enumerate(G, c, sum_to_one, out, best, todo):
    """Try every support (largest first) for the pixels ``todo``."""
    q = G.shape[0]
    sizes = range(q, 0, -1) if sum_to_one else range(q, -1, -1)
    for m in sizes:
        for S in combinations(range(q), m):
            if todo.size == 0:
                return
            a, mu = _support_solution(G, c[todo], S, sum_to_one)
            _record(a, mu, todo, out, best)
            todo = todo[best[todo] > _KKT_TOL]


def solve(G, c, method="fcls"):
    """Abundances from the Gram matrix and the projections.

    Parameters
    ----------
    G : ndarray of shape (q, q)
        ``E E^T``.
    c : ndarray of shape (n_pixels, q)
        ``X E^T``.
    method : {"fcls", "nnls", "scls", "ucls"}

    Returns
    -------
    ndarray of shape (n_pixels, q), float64
    """
    if method not in METHODS:
        raise ValueError(f"`method` must be one of {METHODS}, got {method!r}")
    G = np.asarray(G, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    q = G.shape[0]
    # Scale so that mean(diag G) = 1: fractions are scale free, tolerances relative.
    s = np.trace(G) / q
    if not s > 0:
        raise ValueError("the endmembers are all zero")
    G = G / s
    c = c / s
    sum_to_one = method in ("fcls", "scls")
    _check_gram(G, sum_to_one)
    if method in ("ucls", "scls"):
        a, _ = _support_solution(G, c, range(q), sum_to_one)
        return a

    n = c.shape[0]
    out = np.zeros((n, q))
    best = np.full(n, np.inf)  # smallest KKT violation seen per pixel
    todo = _active_set(G, c, sum_to_one, out, best)
    if todo.size:  # rare: pixels where the active-set iteration cycled
        _enumerate(G, c, sum_to_one, out, best, todo)
    # Accepted supports may carry entries of -1e-9: clip, and restore the sum.
    np.maximum(out, 0.0, out=out)
    if sum_to_one:
        out /= out.sum(axis=1, keepdims=True)
    return out


def unmix(X, E, method="fcls", block_rows=None, columns=None, residual=True, rows=None):
    """Abundances and per-pixel residual of ``X ~ A E``.

    Parameters
    ----------
    X : ndarray of shape (n_pixels, n_channels)
    E : ndarray of shape (q, n_channels)
    method : {"fcls", "nnls", "scls", "ucls"}
    columns : None or ndarray of int
        Channels of ``X`` matching the columns of ``E`` (all when None).
    residual : bool
        Compute the residual (else None is returned for it).
    rows : None or ndarray of bool of shape (n_pixels,)
        Pixels to unmix (all when None); the outputs then have one row per
        selected pixel.

    Returns
    -------
    A : ndarray of shape (n_pixels, q), float64
    residual : ndarray of shape (n_pixels,), float64, or None
        Root-mean-square reconstruction error per channel,
        ``||x - A E|| / sqrt(n_channels)``, in the units of the data. It is
        evaluated from ``x.x - 2 a.c + a^T G a`` in float64 (no reconstructed
        map is formed), so it is exact to about ``1e-8 * |x|``.
    """
    E = np.asarray(E, dtype=np.float64)
    n_used = X.shape[1] if columns is None else len(columns)
    if E.ndim != 2 or X.ndim != 2 or E.shape[1] != n_used:
        raise ValueError(
            f"`X` (n, C) and `E` (q, C) must share C, got {X.shape} and {E.shape}"
        )
    G = E @ E.T
    c, xx = projections(X, E, block_rows, columns, norms=residual, rows=rows)
    return from_projections(G, c, xx, method, n_used)


def from_projections(G, c, xx, method, n_used):
    """Abundances and residual from ``G = E E^T``, ``c = X E^T`` and ``x.x``.

    The whole problem in these small arrays: a caller that has ``c`` and
    ``x.x`` by other means (e.g. from principal-component projections when
    the endmembers lie in the principal subspace) needs no pass over ``X``.

    Parameters
    ----------
    G : ndarray of shape (q, q)
    c : ndarray of shape (n_pixels, q)
    xx : ndarray of shape (n_pixels,) or None
        Squared norms of the pixels (None: no residual).
    method : {"fcls", "nnls", "scls", "ucls"}
    n_used : int
        Number of channels (the residual is an RMS per channel).

    Returns
    -------
    A : ndarray of shape (n_pixels, q)
    residual : ndarray of shape (n_pixels,) or None
    """
    A = solve(G, c, method)
    if xx is None:
        return A, None
    r2 = xx + np.einsum("ij,ij->i", A @ G - 2.0 * c, A)
    return A, np.sqrt(np.maximum(r2, 0.0) / n_used)
