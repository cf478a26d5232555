"""The one principal-subspace estimator of the package: centred PCA by the
covariance (or Gram) eigen-decomposition.

``CovariancePCA`` is a scikit-learn style estimator that HyperSpy's own
``s.decomposition(algorithm=...)`` accepts, in memory and lazily (its
``partial_fit`` streams the chunks of a lazy signal). It is exact (no
randomisation) and, for maps with fewer channels than pixels, several times
faster than a randomised SVD: one pass of ``X^T X`` over the data (float32 GEMM
on float32 data) and the eigen-decomposition of a ``C x C`` matrix. Spectral
unmixing and neighbourhood PCA both use it; out of core it is fitted from the
moments summed by :func:`hyperspy_unmix._core.blockwise.lazy_moments`
(:meth:`CovariancePCA.from_moments`).

It deliberately has no ``mean_`` attribute: HyperSpy adds an estimator's
``mean_`` back into the data it was given, which would touch the user's array.
The centre is stored as ``centre_`` instead, and ``transform`` returns centred
scores.
"""

import numpy as np

from hyperspy_unmix._core import randomized as _rand
from hyperspy_unmix._core.errors import DataRangeError, NonFiniteDataError
from hyperspy_unmix._core.linalg import top_eigh as _top_eigh

_BLOCK_ROWS = 8192


__all__ = ["CovariancePCA", "DataRangeError", "NonFiniteDataError", "SVD_SOLVERS"]

# HyperSpy's keyword; "covariance" and "gram" are exact, "randomized" is
# :mod:`hyperspy_unmix._core.randomized`'s block Krylov solver.
SVD_SOLVERS = ("auto", "covariance", "gram", "randomized")


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


def _accumulate(X, shift, total, gram, rows=None):
    """Add the column sums and Gram matrix of ``X - shift`` to ``total``, ``gram``.

    ``X`` (n_samples, n_features), or its ``rows`` only, is shifted in blocks
    of rows (about 16 MiB) into a buffer of the work dtype (float32 data:
    float32 GEMM); the sums are accumulated in float64. A block whose float32
    (or float64) products would overflow or underflow is first scaled by a
    power of two (:func:`_scaled_moments`), so the result does not depend on
    the overall scale of the data; in-memory and lazy moments both come from
    here, so they get the same handling.
    """
    wd = _rand.work_dtype(X.dtype)
    shift = np.asarray(shift).astype(wd)
    n = X.shape[0] if rows is None else len(rows)
    # about 16 MiB of buffer per block whatever the width (8192 rows of
    # 4096 float64 channels would be 256 MiB)
    R = _rand.block_rows(X.shape[1], np.dtype(wd).itemsize)
    buf = None
    for start in range(0, n, R):
        if rows is not None:
            xb = X[rows[start : start + R]]  # a copy already
        else:
            xb = X[start : start + R]
        if buf is None or buf.shape[0] != xb.shape[0]:
            buf = np.empty(xb.shape, dtype=wd)
        # NaN/inf in the data (inf - inf, inf + -inf) are reported once, by
        # the finiteness check of the summed moments, not as RuntimeWarnings
        with np.errstate(over="ignore", invalid="ignore"):
            np.subtract(xb, shift, out=buf, casting="unsafe")
            col, g = _scaled_moments(xb, shift, buf)
        total += col
        gram += g


def _scaled_moments(xb, shift, buf):
    """Column sums and Gram matrix (float64) of the shifted block ``buf``.

    ``buf`` holds ``xb - shift`` in the work dtype. Its products are computed
    as they are when they stay in the dtype's safe range (finite, and a
    largest squared norm above ``sqrt(tiny)``, so the squares of values down
    to ``eps`` times the largest are still normal numbers). Otherwise (float32
    data at 1e15 overflow, at 1e-30 underflow) the block and the shift are
    multiplied by ``2**e``, chosen from the block's largest absolute value,
    before the subtraction, and the sums divided by ``2**e`` and ``4**e`` in
    float64. A power of two scales every float exactly, so a block in the
    safe range gives the same numbers either way, and data times ``2**k``
    give moments times ``2**k`` and ``4**k`` exactly.
    """
    fi = np.finfo(buf.dtype)
    g = buf.T @ buf  # checked below (the caller silences over/underflow)
    diag = np.diagonal(g)
    if np.isfinite(g).all() and (diag.size == 0 or diag.max() >= np.sqrt(fi.tiny)):
        return _column_sums(buf), g
    # np.max, not max(): a NaN (in the data or the shift) must win
    big = float(np.max([np.abs(xb).max(initial=0), np.abs(shift).max(initial=0)]))
    if not np.isfinite(big) or big == 0:
        # NaN or inf in the data, reported by the finiteness check of the
        # summed moments. As NaN (not +-inf), sums over blocks stay NaN
        # without "invalid value" warnings (inf + -inf) in dask's tree sum.
        col = _column_sums(buf)
        return (
            np.where(np.isfinite(col), col, np.nan),
            np.where(np.isfinite(g), g.astype(np.float64), np.nan),
        )
    e = -int(np.frexp(big)[1])  # big * 2**e in [0.5, 1)
    # ldexp scales without forming 2**e (which float32 may not hold)
    np.ldexp(xb, e, out=buf, casting="unsafe")
    buf -= np.ldexp(shift, e)
    g = np.ldexp(np.asarray(buf.T @ buf, dtype=np.float64), -2 * e)
    if not np.isfinite(g).all():
        raise DataRangeError(
            f"the data are too large for their second moments: values up to "
            f"{big:.3g}, whose squares overflow float64; divide the data by a "
            "constant (the result does not depend on the scale)"
        )
    return np.ldexp(_column_sums(buf), -e), g


class CovariancePCA:
    """Centred PCA from the eigenvectors of the channel covariance.

    Parameters
    ----------
    n_components : int or callable
        Number of principal directions kept, or ``rule(n, mean, cov) -> int``
        applied to the accumulated moments when the fit finishes (the number
        used is ``n_components_``).
    rows : None or array of int
        Rows of the data ``fit`` estimates the covariance (and centre) from;
        all when None. ``transform`` projects every row. Ignored by
        ``partial_fit``, which uses every row of every batch.
    all_variances : bool
        Keep the variance along every eigenvector (all ``n_features``, for a
        scree plot) in ``explained_variance_``, not only the kept ones.
        Meant for thin tables (few features, e.g. atom descriptors).
    blas_threads : None or int
        Limit BLAS to this many threads while fitting and projecting. On thin
        tables a second thread gains nothing, and idle BLAS threads spinning
        after a call slow the next multi-threaded step on a busy machine.
    svd_solver : {"auto", "covariance", "gram", "randomized"}
        How ``fit`` finds the subspace (HyperSpy's keyword). ``"covariance"``:
        the ``C x C`` covariance, one pass of ``n C^2`` flops, exact;
        ``"gram"``: the ``n x n`` Gram matrix, ``n^2 C``, exact;
        ``"randomized"``: block Krylov on the centred data, a few passes of
        ``n C k`` (:func:`hyperspy_unmix._core.randomized.randomized_subspace`:
        its subspace matches the exact one to far below the noise).
        ``"auto"``: the cheapest by
        :func:`hyperspy_unmix._core.randomized.choose_solver`, for the
        shape, ``n_components`` and dtype; a rule ``n_components`` needs the
        whole covariance spectrum, so it always takes an exact route.
    random_state : None, int or numpy.random.Generator
        Seed of the randomised solver (unused by the exact ones).
    keep_projections : bool
        ``fit_transform`` also keeps, per row, ``[x V^T, x . centre_, x . 1,
        x . x]`` (float64; from float32 products where those keep the
        residual to 2e-5, see
        :func:`~hyperspy_unmix._core.abundances.reduction_projections`) in
        ``projections_``: in the same pass as the scores, what the outlier
        screening and the abundances of endmembers in the subspace need, so
        they read the data no more.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Principal directions (unit rows), by decreasing variance; the sign
        makes the largest-magnitude entry positive.
    explained_variance_ : ndarray of shape (n_components,) or (n_features,)
        Only when it holds at least two values (see ``variance`` otherwise);
        every eigenvector's with ``all_variances``.
    variance : ndarray of shape (n_components,)
        The same, always available.
    centre_ : ndarray of shape (n_features,)
        The mean spectrum (float64).
    n_samples_seen_ : int
    svd_solver_ : str
        The route ``fit`` took (``"covariance"`` after ``partial_fit``).
    n_passes_ : int
        Passes ``fit`` made over the data.
    """

    def __init__(
        self,
        n_components,
        rows=None,
        *,
        all_variances=False,
        blas_threads=None,
        svd_solver="auto",
        random_state=None,
        keep_projections=False,
    ):
        self.n_components = n_components
        self.rows = rows
        self.all_variances = all_variances
        self.blas_threads = blas_threads
        self.svd_solver = svd_solver
        self.random_state = random_state
        self.keep_projections = keep_projections

    @classmethod
    def from_moments(cls, n_components, shift, moments, **kwargs):
        """An estimator fitted from summed moments (out of core).

        Parameters
        ----------
        n_components : int
        shift : ndarray of shape (n_used,)
            The shift the moments were computed with.
        moments : ndarray of shape (n_used + 2, n_used)
            From :func:`hyperspy_unmix._core.blockwise.lazy_moments`
            (computed): the count, the column sums of ``x - shift`` and their
            Gram matrix.
        **kwargs
            Other constructor parameters.

        Returns
        -------
        CovariancePCA
            As if ``partial_fit`` had streamed every block (same arithmetic).

        Raises
        ------
        NonFiniteDataError
            If the moments hold NaN or inf (so did the data).
        """
        est = cls(n_components, **kwargs)
        est._start(np.asarray(shift, dtype=np.float64), moments.shape[1])
        est._sum += moments[1]
        est._gram += moments[2:]
        est.n_samples_seen_ = int(round(moments[0, 0]))
        est._finish()  # NaN, too few samples: raised here
        est.svd_solver_, est.n_passes_ = "covariance", 1
        return est

    @classmethod
    def from_subspace(cls, fit, **kwargs):
        """An estimator holding a :class:`~._core.randomized.SubspaceFit`."""
        est = cls(fit.components.shape[0], **kwargs)
        est.n_components_ = fit.components.shape[0]
        est.n_samples_seen_ = fit.n_samples
        est._set(fit.components, fit.variance, fit.centre)
        est._stale = False
        est.svd_solver_, est.n_passes_ = "randomized", fit.n_passes
        return est

    def _blas(self):
        import contextlib

        if self.blas_threads is None:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency

        return threadpool_limits(limits=int(self.blas_threads), user_api="blas")

    # -- accumulation ---------------------------------------------------
    def _reset(self):
        for name in (
            "_shift",
            "_sum",
            "_gram",
            "n_samples_seen_",
            "_fitted",
            "svd_solver_",
            "n_passes_",
        ):
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
        # value the attribute is absent (HyperSpy then skips the ratio).
        values = self._result(
            "all_variances_" if self.all_variances else "explained_variance_"
        )
        if values.size < 2:
            raise AttributeError("explained_variance_ needs at least two variances")
        return values

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
            self._start(first.mean(axis=0, dtype=np.float64), X.shape[1])
        with self._blas():
            _accumulate(X, self._shift, self._sum, self._gram, rows)
        self.n_samples_seen_ += X.shape[0] if rows is None else len(rows)
        self.svd_solver_, self.n_passes_ = "covariance", 1
        # The eigen-decomposition waits until the results are read, so a lazy
        # decomposition streaming many chunks pays for it once.
        self._stale = True
        return self

    def _start(self, shift, n_features):
        self._shift = shift
        self._sum = np.zeros(n_features)
        self._gram = np.zeros((n_features, n_features))
        self.n_samples_seen_ = 0

    def fit(self, X, y=None):
        """Fit on ``X`` (n_samples, n_features) by the ``svd_solver`` route."""
        self._reset()
        X = np.asarray(X)
        rows = None if self.rows is None else np.asarray(self.rows, dtype=np.intp)
        n = (X.shape[0] if X.ndim == 2 else 0) if rows is None else len(rows)
        solver = self._solver(X, n)
        fit = None
        try:
            if solver == "randomized":
                fit = _rand.randomized_subspace(
                    X,
                    int(self.n_components),
                    rows=rows,
                    random_state=self.random_state,
                )
            elif solver == "gram" and not callable(self.n_components):
                fit = _rand.gram_subspace(X, int(self.n_components), rows=rows)
        except NonFiniteDataError:
            # float32 products of finite data near the float32 limit overflow
            # on these routes; the covariance's moments are scale-safe (and
            # raise again if the data do hold NaN or inf)
            solver = "covariance"
        if fit is None and solver == "gram":  # a rule: it reads the covariance
            self._fit_gram(X if rows is None else X[rows])
            self.svd_solver_, self.n_passes_ = "gram", 2
            return self
        elif fit is None:
            self._partial_fit(X, rows)
            self._finish()  # errors (NaN, too few samples) surface in fit
            self._stale = False
            self.svd_solver_, self.n_passes_ = "covariance", 1
            return self
        self.n_components_ = fit.components.shape[0]
        self.n_samples_seen_ = fit.n_samples
        self._set(fit.components, fit.variance, fit.centre)
        self._stale = False
        self.svd_solver_, self.n_passes_ = solver, fit.n_passes
        return self

    def _solver(self, X, n):
        solver = self.svd_solver
        if solver not in SVD_SOLVERS:
            raise ValueError(
                f"`svd_solver` must be one of {SVD_SOLVERS}, got {solver!r}"
            )
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D, got shape {X.shape}")
        C = X.shape[1]
        if solver != "auto":
            if solver == "randomized" and callable(self.n_components):
                raise ValueError(
                    '`svd_solver`="randomized" needs a number of components; '
                    "a rule that picks it reads the whole covariance spectrum"
                )
            return solver
        if callable(self.n_components) or n < 2:
            return "gram" if C > 2 * n else "covariance"
        k = int(self.n_components)
        if k < 1 or k > min(n - 1, C):
            return "covariance"  # which refuses k with the exact message
        return _rand.choose_solver(n, C, k + 1, dtype=X.dtype)

    def covariance(self):
        """``(n, mean, cov)`` of what was accumulated (divisor ``n - 1``)."""
        n = self.n_samples_seen_
        m = self._sum / max(n, 1)
        cov = (self._gram - n * np.outer(m, m)) / max(n - 1, 1)
        return n, self._shift + m, cov

    def _finish(self):
        n = self.n_samples_seen_
        C = self._gram.shape[0]
        n, mean, cov = self.covariance()
        if not np.all(np.isfinite(cov)):
            raise NonFiniteDataError("the data contain NaN or infinite values")
        # n_components may be a rule applied to the moments (e.g. an estimate
        # of the number of endmembers): one pass gives both
        k = self.n_components
        k = int(k(n, mean, cov) if callable(k) else k)
        self.n_components_ = k
        if n < 2 or k > C or k < 1:
            raise ValueError(
                f"cannot extract {k} components from {n} samples of {C} features"
            )
        m = mean - self._shift
        if self.all_variances:
            w, v = np.linalg.eigh(cov)
            w, v = w[::-1], v[:, ::-1]
            self._set(v[:, :k].T, w[:k], self._shift + m, all_variances=w)
        else:
            w, v = _top_eigh(cov, k)
            self._set(v.T, w, self._shift + m)

    def _fit_gram(self, X):
        """Few samples, many features: eigen-decompose the sample Gram instead."""
        n, C = X.shape
        centre = X.mean(axis=0, dtype=np.float64)
        Xc = X.astype(np.float64) - centre
        if not np.all(np.isfinite(Xc)):
            raise NonFiniteDataError("the data contain NaN or infinite values")
        k = self.n_components
        if callable(k):
            k = k(n, centre, (Xc.T @ Xc) / max(n - 1, 1))
        k = self.n_components_ = int(k)
        if n < 2 or k > n - 1 or k < 1:
            raise ValueError(
                f"cannot extract {k} components from {n} samples of {C} features"
            )
        w, u = _top_eigh(Xc @ Xc.T, k)
        comps = (Xc.T @ u).T
        norms = np.linalg.norm(comps, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        self.n_samples_seen_ = n
        self._set(comps / norms, np.maximum(w, 0) / (n - 1), centre)
        return self

    def _set(self, comps, variance, centre, all_variances=None):
        # Deterministic signs: the largest-magnitude entry of each row positive.
        big = np.argmax(np.abs(comps), axis=1)
        signs = np.sign(comps[np.arange(comps.shape[0]), big])
        signs[signs == 0] = 1.0
        self._fitted = {
            "components_": comps * signs[:, None],
            "explained_variance_": np.maximum(variance, 0.0),
            "centre_": np.asarray(centre, dtype=np.float64),
            "all_variances_": np.maximum(
                variance if all_variances is None else all_variances, 0.0
            ),
        }

    # -- projection -------------------------------------------------------
    def transform(self, X):
        """Centred scores ``(X - centre_) @ components_.T``, (n_samples, k).

        GEMMs on blocks of rows as they are (float32 stays float32; 8- and
        16-bit integers are converted per block into float32, exactly), then
        the centre's projection is subtracted: no centred or float copy of
        the data. In float32 the scores carry an error of ~1e-7 of the
        spectra's norm, far below any spread that decides which pixels are
        extreme.
        """
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"`X` must be 2-D, got shape {X.shape}")
        wd = _rand.work_dtype(X.dtype)
        V = self.components_
        W = V.T.astype(wd)
        n = X.shape[0]
        out = np.empty((n, V.shape[0]))
        R = _rand.block_rows(X.shape[1], np.dtype(wd).itemsize)
        with self._blas(), np.errstate(over="ignore", invalid="ignore"):
            for a in range(0, n, R):  # blocks of rows, not pixels
                xb = X[a : a + R]
                out[a : a + R] = xb.astype(wd, copy=False) @ W
        if wd != np.float64 and not np.isfinite(out).all():
            # float32 sums of values near the float32 limit overflow: those
            # rows again in float64 (finite data give finite scores)
            bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
            out[bad] = X[bad].astype(np.float64) @ V.T
        out -= self.centre_ @ V.T
        return out

    def fit_transform(self, X, y=None):
        self.fit(X)
        if not self.keep_projections:
            return self.transform(X)
        self.projections_ = self.project(X)
        V = self.components_
        return self.projections_[:, : V.shape[0]] - self.centre_ @ V.T

    def project(self, X):
        """``[x V^T, x . centre_, x . 1, x . x]`` of every row (float64).

        See :func:`~hyperspy_unmix._core.abundances.reduction_projections`
        for their precision (float32 data: one float32 sweep, errors
        relative to the centred spectra).
        """
        from hyperspy_unmix._core.abundances import reduction_projections

        with self._blas():
            return reduction_projections(np.asarray(X), self.components_, self.centre_)
