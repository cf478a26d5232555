"""Keenan-Kotula weighting of count data for the reduction (Poisson noise).

HyperSpy's ``decomposition(normalize_poissonian_noise=True)`` (Keenan &
Kotula 2004, ``_keenan_kotula_scale`` in ``hyperspy/learn/_mva.py``) divides
every count by ``sqrt(aG_p) sqrt(bH_c)``, the square roots of its pixel's total
(over the used channels) and its channel's total (over the used pixels). The
Poisson variance of ``x_pc`` is its expectation, which the rank-one model
``aG_p bH_c / T`` (``T`` the grand total) approximates, so the weighted data
have nearly white noise. Here the weights are normalised so that this noise
has unit variance (HyperSpy's weights differ by the constant ``sqrt(T)``,
which changes no direction, score ratio or endmember):

    y_pc = x_pc / (sqrt(g_p) sqrt(h_c)),  g_p = t_p / mean(t),  h_c = mean_c,

with ``t_p`` the pixel totals and ``mean`` the mean spectrum.

What is exact, without a weighted copy of the data
--------------------------------------------------
- *Channel weights only* (``pixel_weights=False``): ``y_p = D_h^-1/2 x_p`` is
  linear, so the weighted covariance is exactly ``D_h^-1/2 Cov D_h^-1/2``
  from the caller's (unweighted) moments, and the scores are
  ``x_p @ (D_h^-1/2 V) - mean @ (D_h^-1/2 V)``: one projection matrix.
  The mixing stays affine (endmembers ``D_h^-1/2 e_k``).
- *Pixel weights too* (HyperSpy's meaning): ``1/g_p`` varies per pixel, so
  the weighted Gram ``sum_p x_p x_p^T / g_p`` cannot be had from the
  unweighted moments. It is exact in the same single pass if each block
  scales its rows by ``1/sqrt(t_p)`` before its Gram product
  (:func:`block_weighted_moments`; ``t_p`` is the row sum of the block, and
  the global ``mean(t)`` is one scalar applied at the end,
  :func:`weighted_covariance`). Scores are exact too: one projection of the
  raw rows with ``[D_h^-1/2 V, 1]`` gives ``x_p D_h^-1/2 V`` and ``t_p``
  together, then a per-row scale (:func:`weighted_scores`).
  The weighted pixels ``x_p / sqrt(g_p)`` no longer mix affinely when the
  endmembers have different totals (the pixel scale depends on the
  abundances), so the ``q - 1`` centred directions hold the data only
  approximately; the linear span is unchanged.

Back to the data's units: a vertex (or its denoised spectrum) ``y`` found in
the weighted space of pixel ``p`` is ``sqrt(g_p) D_h^1/2 y`` in counts
(:func:`unweight_endmembers`), the denoised version of that pixel's own
spectrum. Abundances are then solved by FCLS on the original data with these
endmembers, so they are exactly non-negative and sum to one.

Denoised endmembers can go negative (a projection onto a few principal
directions rings around sharp peaks at low counts). :func:`nonnegative_endmembers`
offers two remedies, see there.
"""

import numpy as np


def _check_counts_moments(n, mean):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"`n` must be an integer >= 2, got {n!r}")
    mean = np.asarray(mean, dtype=np.float64)
    if mean.ndim != 1:
        raise ValueError(f"`mean` must be 1-D (n_channels,), got shape {mean.shape}")
    if not np.all(np.isfinite(mean)):
        raise ValueError("`mean` contains NaN or infinite values")
    if np.any(mean < 0):
        raise ValueError(
            "`mean` has negative channels: Poisson weighting needs raw counts "
            "(non-negative data)"
        )
    if not np.any(mean > 0):
        raise ValueError("`mean` is zero in every channel: the data hold no counts")
    return mean


def channel_weights(mean: np.ndarray) -> np.ndarray:
    """``1 / sqrt(h_c)``: the channel part of the weighting.

    Parameters
    ----------
    mean : array_like of shape (C,)
        Mean spectrum of the used pixels (non-negative).

    Returns
    -------
    ndarray of shape (C,)
        Channels without counts get weight 0 (HyperSpy leaves them unscaled;
        they carry no variance either way, and 0 keeps them out of the
        reduction).
    """
    mean = _check_counts_moments(2, mean)
    w = np.zeros_like(mean)
    pos = mean > 0
    w[pos] = 1.0 / np.sqrt(mean[pos])
    return w


def pixel_weights(totals: np.ndarray, mean_total: float | None = None) -> np.ndarray:
    """``1 / sqrt(g_p)``, ``g_p = t_p / mean(t)``: the pixel part.

    Parameters
    ----------
    totals : array_like of shape (n,)
        Counts per pixel over the used channels.
    mean_total : None or float
        ``mean(t)`` over all used pixels (a block of a lazy map needs the
        global one); None: the mean of ``totals``.

    Returns
    -------
    ndarray of shape (n,)
        Pixels without counts get 0 (all their values are 0 anyway).
    """
    t = np.asarray(totals, dtype=np.float64)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("`totals` must be finite and non-negative (raw counts)")
    mt = float(t.mean()) if mean_total is None else float(mean_total)
    if not mt > 0:
        raise ValueError(f"`mean_total` must be > 0, got {mt}")
    w = np.zeros_like(t)
    pos = t > 0
    w[pos] = np.sqrt(mt / t[pos])
    return w


def weight_covariance(cov: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Covariance of the channel-weighted data ``D_h^-1/2 x`` (exact).

    Parameters
    ----------
    cov : array_like of shape (C, C)
        Covariance of the raw data.
    mean : array_like of shape (C,)

    Returns
    -------
    ndarray of shape (C, C)
    """
    w = channel_weights(mean)
    cov = np.asarray(cov, dtype=np.float64)
    if cov.shape != (w.size, w.size):
        raise ValueError(f"`cov` must have shape ({w.size}, {w.size}), got {cov.shape}")
    return cov * np.outer(w, w)


def block_weighted_moments(x: np.ndarray, *, shift: np.ndarray | None = None):
    """Sums of one block that give the pixel-weighted moments exactly.

    Rows are scaled by ``1 / sqrt(t_p)`` (``t_p`` the row total) before the
    Gram product; the global ``mean(t)`` and the channel weights are applied
    by :func:`weighted_covariance` once every block is summed.

    Parameters
    ----------
    x : ndarray of shape (n_block, C)
        Raw counts of the block's used pixels and channels.
    shift : None or ndarray of shape (C,)
        Subtracted from the scaled rows ``x_p / sqrt(t_p)`` before the Gram
        (the first block's mean of those, for precision); zeros when None.

    Returns
    -------
    dict of ndarray
        ``"n"`` (pixels), ``"total"`` (sum of ``t_p``), ``"sum"`` (raw column
        sums, for the mean spectrum), ``"wsum"`` (column sums of the shifted
        scaled rows), ``"wgram"`` (their Gram), ``"shift"``: quantities that
        add over blocks (except ``"shift"``, shared by all).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"`x` must be 2-D (n_block, n_channels), got {x.shape}")
    wd = np.float32 if x.dtype == np.float32 else np.float64
    t = x.sum(axis=1, dtype=np.float64)
    if np.any(t < 0):
        raise ValueError("`x` has negative pixel totals: not raw counts")
    s = np.zeros_like(t)
    s[t > 0] = 1.0 / np.sqrt(t[t > 0])
    C = x.shape[1]
    shift = np.zeros(C) if shift is None else np.asarray(shift, dtype=np.float64)
    y = (x * s[:, None].astype(wd)).astype(wd, copy=False) - shift.astype(wd)
    return {
        "n": x.shape[0],
        "total": float(t.sum()),
        "sum": x.sum(axis=0, dtype=np.float64),
        "wsum": y.sum(axis=0, dtype=np.float64),
        "wgram": (y.T @ y).astype(np.float64),
        "shift": shift,
    }


def add_moments(a: dict, b: dict) -> dict:
    """Sum of two :func:`block_weighted_moments` results (same shift)."""
    if not np.array_equal(a["shift"], b["shift"]):
        raise ValueError("blocks summed with different `shift`s")
    out = {k: a[k] + b[k] for k in ("n", "total", "sum", "wsum", "wgram")}
    out["shift"] = a["shift"]
    return out


def weighted_covariance(m: dict):
    """Mean and covariance of the Keenan-Kotula weighted data, from summed moments.

    Parameters
    ----------
    m : dict
        Summed :func:`block_weighted_moments` (full weighting, pixel and
        channel; the channel-only covariance comes from the raw moments,
        :func:`weight_covariance`).

    Returns
    -------
    mean_w : ndarray of shape (C,)
        Mean of the weighted data ``y_p``.
    cov_w : ndarray of shape (C, C)
        Their covariance (divisor ``n - 1``).
    mean : ndarray of shape (C,)
        Mean spectrum of the raw data (what the channel weights come from).
    mean_total : float
        ``mean(t)``.
    """
    n = int(m["n"])
    mean = m["sum"] / n
    w = channel_weights(mean)
    mt = m["total"] / n
    # y_p = sqrt(mt) * D_h^-1/2 (x_p / sqrt(t_p)); the block sums are of
    # z_p = x_p / sqrt(t_p) - shift.
    mz = m["wsum"] / n
    cz = (m["wgram"] - n * np.outer(mz, mz)) / (n - 1)
    scale = np.sqrt(mt) * w
    mean_w = scale * (m["shift"] + mz)
    cov_w = cz * np.outer(scale, scale)
    return mean_w, cov_w, mean, mt


def weighted_scores(
    X: np.ndarray,
    components: np.ndarray,
    mean_w: np.ndarray,
    mean: np.ndarray,
    mean_total: float | None,
) -> np.ndarray:
    """Centred scores of the weighted data, from the raw rows (no weighted copy).

    Parameters
    ----------
    X : ndarray of shape (n, C)
        Raw counts (any block of rows).
    components : ndarray of shape (k, C)
        Principal directions of the weighted data (unit rows).
    mean_w : ndarray of shape (C,)
        Mean of the weighted data.
    mean : ndarray of shape (C,)
        Raw mean spectrum (channel weights).
    mean_total : None or float
        ``mean(t)`` for pixel weighting; None: channel weights only.

    Returns
    -------
    ndarray of shape (n, k)
        ``(y_p - mean_w) @ components.T``.
    """
    V = np.asarray(components, dtype=np.float64)
    w = channel_weights(mean)
    k = V.shape[0]
    # One GEMM gives x_p D^-1/2 V^T and, in its last column, t_p.
    W = np.empty((w.size, k + 1))
    W[:, :k] = (V * w).T
    W[:, k] = 1.0
    wd = np.float32 if X.dtype == np.float32 else np.float64
    P = np.asarray(X @ W.astype(wd), dtype=np.float64)
    scores = P[:, :k]
    if mean_total is not None:
        scores *= pixel_weights(np.maximum(P[:, k], 0), mean_total)[:, None]
    return scores - mean_w @ V.T


def unweight_endmembers(
    Y: np.ndarray,
    mean: np.ndarray,
    totals: np.ndarray | None = None,
    mean_total: float | None = None,
) -> np.ndarray:
    """Spectra of the weighted space back in the data's units (counts).

    Parameters
    ----------
    Y : ndarray of shape (q, C)
        Weighted spectra (e.g. denoised vertices ``mean_w + s @ V``).
    mean : ndarray of shape (C,)
        Raw mean spectrum.
    totals : None or ndarray of shape (q,)
        Raw totals ``t_p`` of the vertex pixels (pixel weighting); None for
        channel weights only.
    mean_total : None or float
        ``mean(t)`` (with ``totals``).

    Returns
    -------
    ndarray of shape (q, C)
        ``sqrt(g_p) D_h^1/2 y``; channels without counts are 0.
    """
    mean = _check_counts_moments(2, mean)
    E = np.asarray(Y, dtype=np.float64) * np.sqrt(mean)
    if totals is not None:
        if mean_total is None:
            raise ValueError("`mean_total` is needed with `totals`")
        g = np.asarray(totals, dtype=np.float64) / float(mean_total)
        E *= np.sqrt(g)[:, None]
    return E


def nonnegative_endmembers(
    E: np.ndarray,
    basis: np.ndarray | None = None,
    centre: np.ndarray | None = None,
    *,
    method: str = "clip",
) -> np.ndarray:
    """Denoised endmembers made non-negative.

    Parameters
    ----------
    E : ndarray of shape (q, C)
        Denoised endmembers (data units).
    basis : None or ndarray of shape (k, C)
        Orthonormal principal directions (``method="subspace"``).
    centre : None or ndarray of shape (C,)
        The mean the directions are centred on (``method="subspace"``).
    method : {"clip", "subspace"}
        ``"clip"``: ``max(E, 0)``. The closest non-negative spectrum; it
        leaves the principal subspace (by the clipped amount only, which is
        noise-level ringing), and the abundances must then be solved (FCLS)
        with the clipped endmembers, so they stay exact. ``"subspace"``: the
        non-negative spectrum closest to ``E`` in the linear span of
        ``centre`` and ``basis`` (Dykstra's alternating projections; the
        span holds the non-negative mean, so such a spectrum exists). It stays
        in the denoised subspace (up to the last negatives of the
        iteration, about ``1e-4`` of the peak, which are clipped) and was closer to
        the true endmembers than clipping on low-count EDS-like maps
        (``tests/_core/test_poisson.py``); it costs milliseconds.

    Returns
    -------
    ndarray of shape (q, C)
    """
    E = np.asarray(E, dtype=np.float64)
    if E.ndim != 2:
        raise ValueError(f"`E` must be 2-D (q, n_channels), got shape {E.shape}")
    if method == "clip":
        return np.maximum(E, 0.0)
    if method != "subspace":
        raise ValueError(f"`method` must be 'clip' or 'subspace', got {method!r}")
    if basis is None or centre is None:
        raise ValueError("`basis` and `centre` are needed with method='subspace'")
    B = np.vstack([np.asarray(centre, dtype=np.float64), np.asarray(basis)])
    if B.shape[1] != E.shape[1]:
        raise ValueError("`basis` and `centre` must have n_channels columns")
    return _subspace_nonneg(E, B)


def _subspace_nonneg(E, B, max_iter=5000, tol=1e-9):
    """Projection of every row of ``E`` onto ``{z in span(B), z >= 0}``.

    Dykstra's alternating projections (Boyle & Dykstra 1986) between the
    linear span (orthonormalised: ``Q Q^T``) and the orthant converge to the
    exact Euclidean projection onto their intersection, which is not empty
    here (the mean spectrum, >= 0, is in the span). Batched over the
    endmembers; each step is two ``(q, C) x (C, k+1)`` products.
    """
    Q, _ = np.linalg.qr(B.T)  # (C, k+1)
    z = E @ Q @ Q.T
    p = np.zeros_like(z)  # Dykstra's correction for the orthant step
    scale = max(np.abs(E).max(), np.finfo(float).tiny)
    for _ in range(max_iter):
        x = np.maximum(z + p, 0.0)  # orthant
        p = z + p - x
        z_new = x @ Q @ Q.T  # span (a subspace: no correction needed)
        done = np.abs(z_new - z).max() <= tol * scale
        z = z_new
        if done:
            break
    # Dykstra converges linearly: the last negatives (about 1e-4 of the peak
    # after max_iter steps on low-count maps) are clipped, which leaves the
    # span by that much only.
    return np.maximum(z, 0.0)


# -- the weighting as a transform of blocks (what the unmixing pipeline uses) --


class KeenanKotula:
    """The weighting ``y_pc = x_pc w_c sqrt(mean(t) / t_p)`` as a block map.

    With the channel weights ``w_c = 1 / sqrt(h_c)`` and the mean total known
    (one pass of sums over the used pixels), every block of raw counts maps
    to its weighted values on its own, so the package's moment and
    projection kernels run unchanged on the weighted data (lazily the map is
    fused into their tasks: no weighted copy of the map exists).

    Parameters
    ----------
    mean : ndarray of shape (C,)
        Mean spectrum of the used pixels (all channels; masked channels may
        hold anything: they get weight 0 and stay out of ``t_p``).
    mean_total : float
        Mean of the pixel totals over the used channels.
    columns : None or ndarray of int
        The used channels.
    """

    def __init__(self, mean, mean_total, columns=None):
        mean = np.asarray(mean, dtype=np.float64)
        used = (
            np.ones(mean.size, bool) if columns is None else np.zeros(mean.size, bool)
        )
        if columns is not None:
            used[columns] = True
        w = np.zeros(mean.size)
        w[used] = channel_weights(np.maximum(mean[used], 0.0))
        self.channel = w
        self.columns = columns
        self.mean_total = float(mean_total)
        if not self.mean_total > 0:
            raise ValueError("the used pixels hold no counts (mean total 0)")

    def row_scale(self, x):
        """``w`` per row (shape ``x.shape[:-1]``): ``sqrt(mean(t) / t_p)``."""
        xs = x if self.columns is None else x[..., self.columns]
        t = xs.sum(axis=-1, dtype=np.float64)
        scale = np.zeros_like(t)
        pos = t > 0
        scale[pos] = np.sqrt(self.mean_total / t[pos])
        return scale

    def __call__(self, x):
        """Weighted block (float32 for float32/integer counts, else float64)."""
        x = np.asarray(x)
        wd = np.float64 if x.dtype == np.float64 else np.float32
        s = self.row_scale(x)[..., None] * self.channel
        return (x * s).astype(wd, copy=False)

    def unweight(self, Y, raw):
        """Weighted spectra ``Y`` (q, C) back to counts, with the row scale of
        the raw spectra ``raw`` they stand for (channels of weight 0 keep the
        raw values)."""
        s = self.row_scale(np.asarray(raw, dtype=np.float64))[:, None] * self.channel
        out = np.array(raw, dtype=np.float64)
        ok = s > 0
        out[ok] = np.asarray(Y, dtype=np.float64)[ok] / s[ok]
        return out


def weighting_sums(x, keep=None, columns=None):
    """Column sums (all channels), count and total of the used pixels of a
    block: what :class:`KeenanKotula` needs (summed over blocks).

    Returns
    -------
    ndarray of shape (1, ..., 1, C + 2)
        ``[column sums..., n_used, sum of totals over the used channels]``.
    """
    nd = x.ndim - 1
    flat = x.reshape(-1, x.shape[-1])
    if keep is not None:
        flat = flat[keep.ravel()]
    sums = flat.sum(axis=0, dtype=np.float64)
    used = sums if columns is None else sums[columns]
    out = np.concatenate([sums, [flat.shape[0], used.sum()]])
    return out.reshape((1,) * nd + out.shape)
