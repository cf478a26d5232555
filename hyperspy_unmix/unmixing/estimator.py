"""``NFINDR``: N-FINDR as a scikit-learn estimator for HyperSpy's decomposition."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.utils.validation import check_is_fitted, validate_data

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core.pca import CovariancePCA, sample_fraction, sample_rows
from hyperspy_unmix._validation import check_int
from hyperspy_unmix.unmixing._pipeline import (
    Reduction,
    check_options,
    fit_endmembers,
    resolve_svd_solver,
    solver_seed,
)


class NFINDR(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """N-FINDR endmember extraction with fully constrained abundances.

    ``fit`` reduces the data to ``n_endmembers - 1`` centred principal
    components (exact covariance eigen-decomposition), finds the pixels
    spanning the largest simplex there, and keeps their spectra as
    ``components_``; ``transform`` returns the abundances of every sample.

    In HyperSpy::

        s.decomposition(algorithm=NFINDR(3))
        s.plot_decomposition_results()      # endmembers and abundance maps
        model = s.get_decomposition_model()

    ``s.data`` is left unchanged: the estimator deliberately has no ``mean_``
    attribute (HyperSpy would add it back into the data). After
    ``fit_transform`` (what HyperSpy's ``decomposition`` calls)
    ``explained_variance_`` holds the variance of each endmember's term
    ``a_k e_k`` over the samples, so ``s.plot_scree_plot()`` shows how much
    each endmember varies across the map (endmembers are not orthogonal:
    these need not add up to the data's variance). The file HyperSpy saves
    records the estimator by its ``repr``. Blind source separation after
    N-FINDR is meaningless (the factors are already the sources): our signal
    types warn. With ``normalize_poissonian_noise=True`` HyperSpy rescales the
    loadings of every pixel after ``transform`` returns, so they no longer sum
    to one; use :func:`hyperspy_unmix.nfindr_unmix` for sum-to-one
    abundances of Poisson data.

    Parameters
    ----------
    n_endmembers : int
        Number of endmembers ``q`` (>= 2).
    abundances : {"fcls", "nnls", "scls", "ucls"}
        Constraint of ``transform`` (see :func:`hyperspy_unmix.nfindr_unmix`).
    endmember_estimate : {"denoised", "pixel"}
        ``components_`` are the chosen samples projected onto the principal
        affine subspace (default, as :func:`hyperspy_unmix.nfindr_unmix`), or
        the samples themselves.
    init : {"atgp", "random"}
    n_init : int
    max_iter : int
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
    max_pca_pixels : None or int
        The principal subspace is estimated from at most about this many
        samples (the fixed pseudo-random subset of
        :func:`hyperspy_unmix.nfindr_unmix`, so both pick the same pixels of
        an unmasked map); None: every sample; at least 100 otherwise.
    refine : None or "minvol"
        Minimum-volume enclosing simplex for data without pure samples (see
        :func:`hyperspy_unmix.nfindr_unmix`).
    nonnegative_endmembers : None, "clip" or "subspace"
        Keep denoised ``components_`` non-negative (see
        :func:`hyperspy_unmix.nfindr_unmix`).
    svd_solver : {"auto", "covariance", "randomized", "gram"}
        Route of the reduction, chosen by its cost for ``"auto"`` (see
        :func:`hyperspy_unmix.nfindr_unmix`); seeded by ``random_state``.

    Attributes
    ----------
    components_ : ndarray of shape (n_endmembers, n_features)
        Endmember spectra.
    indices_ : ndarray of shape (n_endmembers,)
        Rows of the training data chosen as endmembers.
    volume_ : float
        Simplex volume in the principal-component space.
    n_iter_ : int
        Sweeps of the volume search.
    n_features_in_ : int
    svd_solver_ : str
        The route the reduction took.

    Examples
    --------
    >>> import numpy as np
    >>> from hyperspy_unmix import NFINDR
    >>> rng = np.random.default_rng(0)
    >>> E = rng.random((3, 20))
    >>> A = rng.dirichlet(np.ones(3), 200)
    >>> X = np.vstack([E, A @ E])
    >>> est = NFINDR(3).fit(X)
    >>> sorted(est.indices_.tolist())
    [0, 1, 2]
    """

    def __init__(
        self,
        n_endmembers=3,
        *,
        abundances="fcls",
        endmember_estimate="denoised",
        init="atgp",
        n_init=1,
        max_iter=100,
        random_state=None,
        max_pca_pixels=1_000_000,
        refine=None,
        nonnegative_endmembers=None,
        svd_solver="auto",
    ):
        self.n_endmembers = n_endmembers
        self.abundances = abundances
        self.endmember_estimate = endmember_estimate
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state
        self.max_pca_pixels = max_pca_pixels
        self.refine = refine
        self.nonnegative_endmembers = nonnegative_endmembers
        self.svd_solver = svd_solver

    def _check_params(self):
        q = check_int(self.n_endmembers, "n_endmembers", minimum=2)
        opts = check_options(
            abundances=self.abundances,
            endmember_estimate=self.endmember_estimate,
            init=self.init,
            n_init=self.n_init,
            max_iter=self.max_iter,
            random_state=self.random_state,
            max_pca_pixels=self.max_pca_pixels,
            refine=self.refine,
            nonnegative_endmembers=self.nonnegative_endmembers,
            svd_solver=self.svd_solver,
        )
        return q, opts

    def fit(self, X, y=None):
        """Find the endmembers of ``X`` (n_samples, n_features).

        Returns
        -------
        self
        """
        q, opts = self._check_params()
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_min_samples=q,
            ensure_min_features=q - 1,
        )

        def reduce():
            fraction = sample_fraction(X.shape[0], opts.max_pca_pixels)
            n = X.shape[0] if fraction >= 1 else int(X.shape[0] * fraction)
            solver = resolve_svd_solver(
                opts.svd_solver, n=n, C=X.shape[1], q=q, dtype=X.dtype, lazy=False
            )
            pca = CovariancePCA(
                q - 1,
                rows=sample_rows(X.shape[0], fraction),
                svd_solver=solver,
                random_state=solver_seed(opts.random_state),
            ).fit(X)
            return Reduction(pca.transform(X), pca)

        fit = fit_endmembers(
            reduce,
            lambda rows: np.asarray(X[rows], dtype=np.float64),
            q,
            opts,
            dtype=X.dtype,
        )
        self.components_ = fit.spectra
        self.indices_ = fit.rows
        self.volume_ = fit.volume
        self.n_iter_ = fit.n_iter
        self.svd_solver_ = fit.reduction.pca.svd_solver_
        return self

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def fit_transform(self, X, y=None):
        """Fit, then the abundances of ``X`` (n_samples, n_endmembers)."""
        A = self.fit(X).transform(X)
        norms = np.einsum("ij,ij->i", self.components_, self.components_)
        self.explained_variance_ = A.var(axis=0, ddof=1) * norms
        return A

    def __array__(self, dtype=None, copy=None):
        # HyperSpy keeps the estimator object in
        # learning_results.decomposition_algorithm, and RosettaSciIO's HDF5
        # writer stores attributes through numpy: the repr, as bytes, is what
        # it can write (instead of logging an error traceback on every save).
        return np.array(repr(self).encode())

    def transform(self, X):
        """Abundances of ``X`` (n_samples, n_features) -> (n_samples, n_endmembers)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        A, _ = _ab.unmix(X, self.components_, self.abundances)
        return A

    def inverse_transform(self, X):
        """Reconstruct spectra from abundances (n_samples, n_endmembers)."""
        check_is_fitted(self)
        A = np.asarray(X, dtype=np.float64)
        if A.ndim != 2 or A.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"`X` must have shape (n_samples, {self.components_.shape[0]}), "
                f"got {A.shape}"
            )
        return A @ self.components_
