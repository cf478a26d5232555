"""Centred PCA by the covariance (or Gram) eigen-decomposition, for HyperSpy.

``CovariancePCA`` is a scikit-learn style estimator that HyperSpy's own
``s.decomposition(algorithm=...)`` accepts, in memory and lazily (its
``partial_fit`` streams the chunks of a lazy signal). It is exact (no
randomisation) and, for maps with fewer channels than pixels, several times
faster than a randomised SVD: one pass of ``X^T X`` over the data (float32 GEMM
on float32 data) and the eigen-decomposition of a ``C x C`` matrix.

``lazy_moments`` / ``fit_from_moments`` fit the same estimator out of core on
a dask array: one task per navigation block computes that block's sums, a tree
sum adds them, so the pass runs on whatever scheduler is active (HyperSpy 2.5's
lazy ``decomposition`` instead pulls every block into the calling process with
the threaded scheduler, bypassing a dask.distributed cluster, and shows its
progress bars regardless of the preferences).

It deliberately has no ``mean_`` attribute: HyperSpy adds an estimator's
``mean_`` back into the data it was given, which would touch the user's array.
The centre is stored as ``centre_`` instead, and ``transform`` returns centred
scores.
"""

import numpy as np
import scipy.linalg

_BLOCK_ROWS = 8192


def sample_fraction(n_used, max_pixels):
    """Fraction of the used pixels the covariance is estimated from (1.0: all)."""
    if max_pixels is None or n_used <= max_pixels:
        return 1.0
    return max_pixels / n_used


def sample_rows(n, fraction, keep=None):
    """Rows of a data matrix (of the ``keep`` pixels, in order) in the sample.

    None when ``fraction >= 1`` (every row). ``keep`` (bool, ``n``) drops
    masked pixels the way the unmasked data matrix does.
    """
    if fraction >= 1:
        return None
    picked = pca_sample(np.arange(n), fraction)
    return np.flatnonzero(picked if keep is None else picked[keep])


def pca_sample(index, fraction):
    """Which pixels (by flat navigation index) the covariance is estimated from.

    A fixed pseudo-random subset: the splitmix64 hash of the index below
    ``fraction`` of its range. It depends on the index alone, so in-memory
    data and any chunking of lazy data pick the same pixels; and unlike a
    regular stride it cannot alias with a lattice period of the map (every
    k-th pixel of an atomic-resolution map may fall on one sublattice only).
    """
    index = np.asarray(index)
    if fraction >= 1:
        return np.ones(index.shape, dtype=bool)
    z = index.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return z < np.uint64(min(int(fraction * 2.0**64), 2**64 - 1))


def _top_eigh(M, k):
    """The ``k`` largest eigenpairs of a symmetric matrix, largest first.

    ARPACK (tolerance 0: machine precision, deterministic start vector) for
    few eigenpairs of a large matrix, LAPACK otherwise or if ARPACK fails.
    """
    n = M.shape[0]
    if n > 256 and k < n // 8:
        import scipy.sparse.linalg as spla

        try:
            w, v = spla.eigsh(M, k=k, which="LA", tol=0, v0=np.ones(n))
            order = np.argsort(w)[::-1]
            return w[order], v[:, order]
        except spla.ArpackError:
            pass
    w, v = scipy.linalg.eigh(M, subset_by_index=[n - k, n - 1])
    return w[::-1], v[:, ::-1]


def _column_sums(block):
    """Column sums in float64; float32 blocks are summed 256 rows at a time.

    A float64 reduction of float32 data converts every element (4x slower);
    summing short runs in float32 keeps the error at the data's own precision.
    """
    if block.dtype != np.float32:
        return block.sum(axis=0, dtype=np.float64)
    out = np.zeros(block.shape[1])
    for start in range(0, block.shape[0], 256):
        out += block[start : start + 256].sum(axis=0)
    return out


def _work_dtype(dtype):
    """float32 stays float32 (fast GEMM); everything else is computed in float64."""
    return np.float32 if dtype == np.float32 else np.float64


def _accumulate(X, shift, total, gram, rows=None):
    """Add the column sums and Gram matrix of ``X - shift`` to ``total``, ``gram``.

    ``X`` (n_samples, n_features), or its ``rows`` only, is shifted in blocks
    of ``_BLOCK_ROWS`` rows into a buffer of the work dtype (float32 data:
    float32 GEMM); the sums are accumulated in float64.
    """
    wd = _work_dtype(X.dtype)
    shift = np.asarray(shift).astype(wd)
    n = X.shape[0] if rows is None else len(rows)
    buf = None
    for start in range(0, n, _BLOCK_ROWS):
        if rows is not None:
            # fancy indexing already copies: shift that copy in place
            buf = np.asarray(X[rows[start : start + _BLOCK_ROWS]], dtype=wd)
            buf -= shift
        else:
            xb = X[start : start + _BLOCK_ROWS]
            if buf is None or buf.shape[0] != xb.shape[0]:
                buf = np.empty(xb.shape, dtype=wd)
            np.subtract(xb, shift, out=buf, casting="unsafe")
        total += _column_sums(buf)
        gram += buf.T @ buf


class CovariancePCA:
    """Centred PCA from the eigenvectors of the channel covariance.

    Parameters
    ----------
    n_components : int
        Number of principal directions kept.
    rows : None or array of int
        Rows of the data ``fit`` estimates the covariance (and centre) from;
        all when None. ``transform`` projects every row. Ignored by
        ``partial_fit``, which uses every row of every batch.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal directions (unit rows), by decreasing variance; the sign
        makes the largest-magnitude entry positive.
    explained_variance_ : ndarray of shape (n_components,)
        Only when ``n_components >= 2`` (see ``variance`` otherwise).
    variance : ndarray of shape (n_components,)
        The same, always available.
    centre_ : ndarray of shape (n_features,)
        The mean spectrum (float64).
    n_samples_seen_ : int
    """

    def __init__(self, n_components, rows=None):
        self.n_components = n_components
        self.rows = rows

    # -- accumulation ---------------------------------------------------
    def _reset(self):
        for name in ("_shift", "_sum", "_gram", "n_samples_seen_", "_fitted"):
            self.__dict__.pop(name, None)
        self._stale = False

    def _result(self, name):
        if self.__dict__.get("_stale"):
            self._finish()
            self._stale = False
        try:
            return self._fitted[name]
        except (AttributeError, KeyError):
            raise AttributeError(
                f"{type(self).__name__} is not fitted: no {name!r}"
            ) from None

    components_ = property(lambda self: self._result("components_"))
    centre_ = property(lambda self: self._result("centre_"))
    variance = property(lambda self: self._result("explained_variance_"))

    @property
    def explained_variance_(self):
        # HyperSpy's elbow estimate fails on a single variance, so with one
        # component the attribute is absent (HyperSpy then skips the ratio).
        if int(self.n_components) < 2:
            raise AttributeError("explained_variance_ needs n_components >= 2")
        return self._result("explained_variance_")

    def partial_fit(self, X, y=None):
        """Accumulate the shifted sums of a batch ``X`` (n_samples, n_features).

        The first batch's mean is the shift, so the covariance
        ``(G - n m m^T) / (n - 1)`` of the shifted data does not lose digits
        to a large mean.
        """
        return self._partial_fit(X)

    def _partial_fit(self, X, rows=None):
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D, got shape {X.shape}")
        if not hasattr(self, "_shift"):
            first = X if rows is None else X[rows[:_BLOCK_ROWS]]
            self._shift = first.mean(axis=0, dtype=np.float64)
            self._sum = np.zeros(X.shape[1])
            self._gram = np.zeros((X.shape[1], X.shape[1]))
            self.n_samples_seen_ = 0
        _accumulate(X, self._shift, self._sum, self._gram, rows)
        self.n_samples_seen_ += X.shape[0] if rows is None else len(rows)
        # The eigen-decomposition waits until the results are read, so a lazy
        # decomposition streaming many chunks pays for it once.
        self._stale = True
        return self

    def fit(self, X, y=None):
        """Fit on ``X`` (n_samples, n_features) in one pass."""
        self._reset()
        X = np.asarray(X)
        rows = None if self.rows is None else np.asarray(self.rows, dtype=np.intp)
        n = (X.shape[0] if X.ndim == 2 else 0) if rows is None else len(rows)
        if X.ndim == 2 and X.shape[1] > 2 * n:
            return self._fit_gram(X if rows is None else X[rows])
        self._partial_fit(X, rows)
        self._finish()  # errors (NaN, too few samples) surface in fit
        self._stale = False
        return self

    def _finish(self):
        n = self.n_samples_seen_
        k = int(self.n_components)
        C = self._gram.shape[0]
        if n < 2 or k > C:
            raise ValueError(
                f"cannot extract {k} components from {n} samples of {C} features"
            )
        m = self._sum / n
        cov = (self._gram - n * np.outer(m, m)) / (n - 1)
        if not np.all(np.isfinite(cov)):
            raise ValueError("the data contain NaN or infinite values")
        w, v = _top_eigh(cov, k)
        self._set(v.T, w, self._shift + m)

    def _fit_gram(self, X):
        """Few samples, many features: eigen-decompose the sample Gram instead."""
        n, C = X.shape
        k = int(self.n_components)
        if n < 2 or k > n - 1:
            raise ValueError(
                f"cannot extract {k} components from {n} samples of {C} features"
            )
        centre = X.mean(axis=0, dtype=np.float64)
        Xc = X.astype(np.float64) - centre
        if not np.all(np.isfinite(Xc)):
            raise ValueError("the data contain NaN or infinite values")
        w, u = _top_eigh(Xc @ Xc.T, k)
        comps = (Xc.T @ u).T
        norms = np.linalg.norm(comps, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.n_samples_seen_ = n
        self._set(comps / norms, np.maximum(w, 0) / (n - 1), centre)
        return self

    def _set(self, comps, variance, centre):
        # Deterministic signs: the largest-magnitude entry of each row positive.
        big = np.argmax(np.abs(comps), axis=1)
        signs = np.sign(comps[np.arange(comps.shape[0]), big])
        signs[signs == 0] = 1.0
        self._fitted = {
            "components_": comps * signs[:, None],
            "explained_variance_": np.maximum(variance, 0.0),
            "centre_": np.asarray(centre, dtype=np.float64),
        }

    # -- projection -------------------------------------------------------
    def transform(self, X):
        """Centred scores ``(X - centre_) @ components_.T``, (n_samples, k).

        One GEMM on the data as they are (float32 stays float32), then the
        centre's projection is subtracted: no centred copy of the data. In
        float32 the scores carry an error of ~1e-7 of the spectra's norm,
        far below any spread that decides which pixels are extreme.
        """
        X = np.asarray(X)
        wd = _work_dtype(X.dtype)
        W = self.components_.T.astype(wd)
        out = np.asarray(X @ W, dtype=np.float64)
        out -= self.centre_ @ self.components_.T
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X).transform(X)


# -- out of core, on dask arrays (any scheduler, dask.distributed included) --


def block_moments(
    x, keep=None, *, shift, columns=None, fraction=1.0, nav_shape=None, block_info=None
):
    """Count, column sums and Gram matrix of one navigation block.

    Parameters
    ----------
    x : ndarray of shape (*block_navigation_shape, n_channels)
    keep : None or ndarray of bool of shape block_navigation_shape
        Pixels used (all when None).
    shift : ndarray of shape (n_used,)
    columns : None or ndarray of int of shape (n_used,)
    fraction : float
        Below 1, only the block's pixels in :func:`pca_sample` are used
        (their flat index in ``nav_shape`` is found from ``block_info``).
    nav_shape : None or tuple of int
    block_info : None or dict
        Given by :func:`dask.array.map_blocks`.

    Returns
    -------
    ndarray of shape (1, ..., 1, n_used + 2, n_used), float64
        Row 0 holds the pixel count (first entry), row 1 the column sums of
        ``x - shift``, rows 2: its Gram matrix: sums that add up over blocks.
    """
    nd = x.ndim - 1
    flat = x.reshape(-1, x.shape[-1])
    sel = None if keep is None else keep.ravel()
    if fraction < 1:
        loc = block_info[0]["array-location"][:nd]
        grid = np.meshgrid(*(np.arange(a, b) for a, b in loc), indexing="ij")
        picked = pca_sample(np.ravel_multi_index(grid, nav_shape).ravel(), fraction)
        sel = picked if sel is None else sel & picked
    rows = None if sel is None else np.flatnonzero(sel)
    if columns is not None:
        # one gather of the used rows and columns
        flat = flat[:, columns] if rows is None else flat[np.ix_(rows, columns)]
        rows = None
    c = flat.shape[1]
    n = flat.shape[0] if rows is None else len(rows)
    out = np.zeros((c + 2, c))
    out[0, 0] = n
    if n:
        _accumulate(flat, shift, out[1], out[2:], rows)
    return out.reshape((1,) * nd + out.shape)


def lazy_moments(data, keep=None, columns=None, shift=None, fraction=1.0):
    """Summed :func:`block_moments` of a dask array, still lazy.

    Parameters
    ----------
    data : dask.array.Array of shape (*navigation_shape, n_channels)
        The channel axis in one chunk.
    keep : None or dask.array.Array of bool of shape navigation_shape
        Chunked like ``data``'s navigation axes.
    columns : None or ndarray of int
    shift : ndarray of shape (n_used,)
        Subtracted before the sums (a typical spectrum, e.g. the mean of one
        block), so the covariance loses no digits to a large mean.
    fraction : float
        Below 1, only the pixels in :func:`pca_sample` (and ``keep``) are
        used; with ``keep`` given, fold the sample into it instead.

    Returns
    -------
    dask.array.Array of shape (n_used + 2, n_used)
        One task per navigation block, then a tree sum: the blocks are read
        once, where the scheduler runs them (threads, processes or a
        dask.distributed cluster), and only ``(C + 2) x C`` numbers per block
        travel.
    """
    import dask.array as da

    nd = data.ndim - 1
    n_used = data.shape[-1] if columns is None else len(columns)
    nav = tuple(range(nd))
    kwargs = {"shift": np.asarray(shift, dtype=np.float64), "columns": columns}
    if keep is None:
        # map_blocks: the block's position (block_info) picks its sample
        chunks = tuple((1,) * len(c) for c in data.chunks[:nd])
        parts = data.map_blocks(
            block_moments,
            new_axis=nd + 1,
            chunks=(*chunks, (n_used + 2,), (n_used,)),
            dtype=np.float64,
            meta=np.empty((0,) * (nd + 2)),
            fraction=fraction,
            nav_shape=tuple(data.shape[:nd]),
            **kwargs,
        )
    else:
        if fraction < 1:
            raise ValueError("with `keep`, fold the sample into it")
        parts = da.blockwise(
            block_moments,
            (*nav, nd + 1, nd + 2),
            data,
            (*nav, nd),
            keep,
            nav,
            new_axes={nd + 1: n_used + 2, nd + 2: n_used},
            adjust_chunks={i: 1 for i in nav},
            concatenate=True,
            dtype=np.float64,
            meta=np.empty((0,) * (nd + 2)),
            **kwargs,
        )
    return parts.sum(axis=nav, split_every=_fan_in(data.numblocks[:nd], n_used))


def _fan_in(numblocks, n_used):
    """Per-axis ``split_every`` of the moments' tree sum.

    About 8 block sums per task (fewer when one is over 32 MiB, so that a
    task holds at most ~256 MiB), counted over the navigation axes that have
    several blocks. (An int ``split_every`` is shared between the axes: 8
    gave a nearly binary tree, one task per block; and dask needs >= 2 on
    every axis.)
    """
    size = (n_used + 2) * n_used * 8
    total = int(np.clip((1 << 28) // size, 2, 8))
    factors = dict.fromkeys(range(len(numblocks)), 2)
    several = [i for i, n in enumerate(numblocks) if n > 1]
    if several:
        longest = max(several, key=lambda i: numblocks[i])
        factors[longest] = max(2, total // 2 ** (len(several) - 1))
    return factors


def fit_from_moments(n_components, shift, moments):
    """A :class:`CovariancePCA` fitted from summed moments.

    Parameters
    ----------
    n_components : int
    shift : ndarray of shape (n_used,)
        The shift the moments were computed with.
    moments : ndarray of shape (n_used + 2, n_used)
        From :func:`lazy_moments` (computed).

    Returns
    -------
    CovariancePCA
        As if ``partial_fit`` had streamed every block (same arithmetic).
    """
    est = CovariancePCA(n_components)
    est._reset()
    est._shift = np.asarray(shift, dtype=np.float64)
    est._sum = moments[1].copy()
    est._gram = moments[2:].copy()
    est.n_samples_seen_ = int(round(moments[0, 0]))
    est._finish()  # NaN, too few samples: raised here
    return est
