"""The one N-FINDR pipeline: reduce -> volume search -> endmember spectra.

:func:`hyperspy_unmix.nfindr_unmix` and :class:`hyperspy_unmix.NFINDR` both
call :func:`fit_endmembers` (as scikit-learn's ``non_negative_factorization``
and ``NMF`` share ``_fit_transform``); they differ only in how the reduction
is run (HyperSpy's ``decomposition`` on a signal, dask passes, or the
estimator on a plain matrix) and in what they build from the endmembers.
The options are checked once, here, for both.
"""

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core.pca import SVD_SOLVERS, CovariancePCA
from hyperspy_unmix._core.randomized import choose_solver
from hyperspy_unmix._core.simplex import nfindr
from hyperspy_unmix._validation import (
    check_choice,
    check_int,
    check_random_state,
)

ENDMEMBER_ESTIMATES = ("pixel", "denoised")
INITS = ("atgp", "random")
NONNEGATIVE = ("clip", "subspace")
REFINEMENTS = ("minvol",)
# Share of the pixels outside the N-FINDR simplex (a barycentric coordinate
# below -0.05) above which the map is taken to have no pure pixels. Measured
# on spectrum_image maps: 0.00-0.01 with pure pixels at 2e4-2e5 counts, but
# noise alone puts 0.09-0.29 outside on low-dose EELS-like maps (and on a
# random-start search); 0.41-0.58 with a maximum purity of 0.8 at 2e4-2e5.
# A hint, not a test: low-dose maps without pure pixels can stay below it.
_IMPURE_OUTSIDE = 0.35
ABUNDANCE_METHODS = _ab.METHODS


@dataclass(frozen=True)
class NFINDROptions:
    """Validated options of the search and the endmember estimate."""

    abundances: str = "fcls"
    endmember_estimate: str = "denoised"
    neighborhood: int = 0
    init: str = "atgp"
    n_init: int = 1
    max_iter: int = 100
    random_state: object = None
    max_pca_pixels: int | None = 1_000_000
    nonnegative: str | None = None
    refine: str | None = None
    svd_solver: str = "auto"


def check_options(
    *,
    abundances="fcls",
    endmember_estimate="denoised",
    neighborhood=0,
    init="atgp",
    n_init=1,
    max_iter=100,
    random_state=None,
    max_pca_pixels=1_000_000,
    nonnegative_endmembers=None,
    refine=None,
    svd_solver="auto",
) -> NFINDROptions:
    """Every option of the pipeline checked, with the parameter's name."""
    check_choice(svd_solver, "svd_solver", SVD_SOLVERS)
    if nonnegative_endmembers is not None:
        check_choice(nonnegative_endmembers, "nonnegative_endmembers", NONNEGATIVE)
    if refine is not None:
        check_choice(refine, "refine", REFINEMENTS)
    check_choice(abundances, "abundances", ABUNDANCE_METHODS)
    check_choice(endmember_estimate, "endmember_estimate", ENDMEMBER_ESTIMATES)
    check_choice(init, "init", INITS)
    if max_pca_pixels is not None:
        max_pca_pixels = check_int(max_pca_pixels, "max_pca_pixels", minimum=100)
    return NFINDROptions(
        abundances=abundances,
        endmember_estimate=endmember_estimate,
        neighborhood=check_int(neighborhood, "neighborhood", minimum=0),
        init=init,
        n_init=check_int(n_init, "n_init", minimum=1),
        max_iter=check_int(max_iter, "max_iter", minimum=1),
        random_state=check_random_state(random_state),
        max_pca_pixels=max_pca_pixels,
        nonnegative=nonnegative_endmembers,
        refine=refine,
        svd_solver=svd_solver,
    )


def solver_seed(random_state):
    """The randomised solver's seed: a fixed one when the user gave none, so
    that unseeded runs repeat as they do with the exact routes (its subspace
    matches the exact one far below the noise, whatever the seed)."""
    return 0 if random_state is None else random_state


def resolve_svd_solver(svd_solver, *, n, C, q, dtype, lazy, counting=False):
    """The reduction's route for ``n`` (sampled) pixels of ``C`` used channels.

    ``"auto"`` takes the cheapest by the cost model of
    :func:`hyperspy_unmix._core.randomized.choose_solver` (shape, ``q``,
    dtype, passes over lazy data). Counting the endmembers (``q`` not given)
    reads every eigenvalue of the covariance, so it always takes the
    covariance (the Gram matrix when asked in memory).
    """
    if lazy and svd_solver == "gram":
        raise ValueError(
            '`svd_solver`="gram" needs the data in memory (an n x n matrix of '
            'every pixel pair); lazy signals take "covariance" or "randomized"'
        )
    if counting:
        if svd_solver == "randomized":
            raise ValueError(
                '`svd_solver`="randomized" needs a given `n_endmembers`: '
                '`n_endmembers`="auto" reads the whole covariance spectrum; '
                'use svd_solver="auto" or "covariance"'
            )
        return "gram" if svd_solver == "gram" else "covariance"
    if svd_solver != "auto":
        return svd_solver
    return choose_solver(max(n, 2), max(C, 1), max(q, 2), dtype=dtype, lazy=lazy)


@dataclass
class Reduction:
    """What the reduction step hands to the search.

    Attributes
    ----------
    scores : ndarray of shape (n_rows, q - 1)
        Centred principal-component scores of every row (NaN rows allowed
        where ``candidates`` leaves them out).
    pca : CovariancePCA
        The fitted subspace (``components_``, ``centre_``, ``variance``).
    projections : None or dask.array.Array
        ``[x V^T, x . centre, x . 1, x . x]`` per pixel, persisted by the
        lazy reduction for the lazy abundances of denoised endmembers.
    weighting : None or KeenanKotula
        The Poisson weighting the subspace was found in (None: the data's
        own units).
    candidates : None or ndarray of int
        Rows the search may choose from, when the reduction restricts them
        (outliers set aside); None: the caller's ``candidates``.
    pixel_projections : None or ndarray of shape (n_rows, q + 2)
        ``[x V^T, x . centre, x . 1, x . x]`` of every row (NaN where
        masked) in memory, from the pass that gave the scores (in memory
        :meth:`CovariancePCA.project`; lazily gathered from the scores'
        pass, for the outlier screening).
    """

    scores: np.ndarray
    pca: CovariancePCA
    projections: object = None
    weighting: object = None
    candidates: object = None
    pixel_projections: object = None


@dataclass
class EndmemberFit:
    """Endmembers found by :func:`fit_endmembers`.

    Attributes
    ----------
    spectra : ndarray of shape (q, n_features), float64
    rows : ndarray of int of shape (q,)
        Rows of the data (flat pixel indices) chosen as vertices.
    volume : float
    n_iter : int
    converged : bool
    reduction : Reduction
    """

    spectra: np.ndarray
    rows: np.ndarray
    volume: float
    n_iter: int
    converged: bool
    reduction: Reduction


def check_rank(variance, q, dtype):
    """Refuse more endmembers than the data's affine rank + 1.

    A principal variance below the rounding floor of the arithmetic (float32
    data are reduced in float32: about 1e-7 of the largest variance; float64:
    1e-16) is no direction of the data.
    """
    dtype = np.dtype(dtype)
    floor = 1e-6 if dtype == np.float32 or dtype.itemsize <= 2 else 1e-12
    top = variance[0] if variance.size else 0.0
    rank = int(np.count_nonzero(variance > floor * top)) if top > 0 else 0
    if rank < q - 1:
        raise ValueError(
            f"`n_endmembers`={q} needs data of rank {q - 1} after centring, but "
            f"only {rank} principal component(s) rise above the {dtype} rounding "
            f"floor: the data have rank {rank} (at most {rank + 1} endmembers)"
        )


def fit_endmembers(
    reduce: Callable[[], Reduction],
    read_spectra: Callable[[np.ndarray], np.ndarray],
    q: int | None,
    options: NFINDROptions,
    *,
    dtype,
    candidates: np.ndarray | None = None,
    columns: np.ndarray | None = None,
) -> EndmemberFit:
    """Reduce, search the largest simplex, estimate the endmember spectra.

    Parameters
    ----------
    reduce : callable
        Runs the reduction, returns a :class:`Reduction` (its ``pca`` is
        fitted on the used channels ``columns``).
    read_spectra : callable
        ``read_spectra(rows) -> (q, n_features)`` float64 spectra at the
        chosen rows (all channels; averaged over a neighbourhood if the
        caller wants).
    q : int or None
        None: as many endmembers as the reduction chose (``k + 1``, its
        ``n_components`` rule).
    options : NFINDROptions
    dtype : numpy.dtype
        Of the data (sets the rank floor).
    candidates : None or ndarray of int
        Rows that may become vertices (all when None).
    columns : None or ndarray of bool of shape (n_features,)
        Channels the reduction used; the others keep their raw values in
        denoised endmembers.

    Returns
    -------
    EndmemberFit
    """
    reduction = reduce()
    pca = reduction.pca
    if q is None:
        q = pca.n_components_ + 1
    check_rank(pca.variance, q, dtype)
    scores = reduction.scores
    if reduction.candidates is not None:
        candidates = reduction.candidates
    if candidates is not None:
        scores = scores[candidates]
    if scores.shape[0] < q:
        raise ValueError(
            f"`n_endmembers`={q} exceeds the number of usable pixels "
            f"({scores.shape[0]})"
        )
    found = nfindr(
        scores,
        q,
        init=options.init,
        n_init=options.n_init,
        max_iter=options.max_iter,
        random_state=options.random_state,
    )
    if not found.converged:
        from sklearn.exceptions import ConvergenceWarning

        warnings.warn(
            f"the N-FINDR volume search stopped at `max_iter`={options.max_iter} "
            "sweeps while the volume still grew; raise `max_iter`",
            ConvergenceWarning,
            stacklevel=3,
        )
    rows = found.indices if candidates is None else candidates[found.indices]
    E = read_spectra(rows)
    if options.refine == "minvol":
        E = _minimum_volume(scores, found.indices, E, reduction, columns, options)
        return EndmemberFit(
            E, rows, found.volume, found.n_iter, found.converged, reduction
        )
    _warn_if_impure(scores, found.indices)
    if options.endmember_estimate == "denoised":
        E = _denoise(E, reduction, columns, options.nonnegative)
    elif options.nonnegative is not None:
        E = np.maximum(E, 0.0)  # raw spectra: only clipping makes sense
    return EndmemberFit(
        spectra=E,
        rows=rows,
        volume=found.volume,
        n_iter=found.n_iter,
        converged=found.converged,
        reduction=reduction,
    )


def _denoise(E, reduction, columns, nonnegative):
    """Spectra projected on the principal affine subspace (in the space it was
    found in: the Poisson-weighted one, then back to counts), optionally kept
    non-negative there (weights are positive, so that carries over)."""
    from hyperspy_unmix._core.poisson import nonnegative_endmembers

    pca = reduction.pca
    cols = slice(None) if columns is None else columns
    V, centre = pca.components_, pca.centre_
    kk = reduction.weighting
    Y = E if kk is None else kk(E).astype(np.float64)
    Y = np.array(Y, dtype=np.float64)
    Y[:, cols] = centre + ((Y[:, cols] - centre) @ V.T) @ V
    if nonnegative is not None:
        Y[:, cols] = nonnegative_endmembers(Y[:, cols], V, centre, method=nonnegative)
    return Y if kk is None else kk.unweight(Y, E)


def _barycentric(Y, vertices):
    A = np.vstack([vertices.T, np.ones(len(vertices))])
    Z = np.hstack([Y, np.ones((len(Y), 1))])
    return np.linalg.solve(A, Z.T).T


def _warn_if_impure(scores, vertex_rows):
    """Warn when many pixels lie outside the N-FINDR simplex: its vertices
    are then mixtures, not pure pixels (O(n q^2), on at most 1e5 pixels)."""
    sample = scores[:: max(1, scores.shape[0] // 100_000)]
    b = _barycentric(sample, scores[vertex_rows])
    outside = float(np.mean(b.min(axis=1) < -0.05))
    if outside > _IMPURE_OUTSIDE:
        warnings.warn(
            f"{100 * outside:.0f} % of the pixels lie outside the simplex of the "
            "N-FINDR endmembers: the map seems to hold no pure pixels, so the "
            'endmembers are mixtures; `refine="minvol"` finds the '
            "minimum-volume simplex that encloses the data",
            UserWarning,
            stacklevel=3,
        )


def _minimum_volume(scores, vertex_rows, raw, reduction, columns, options):
    """Endmember spectra at the vertices of the minimum-volume enclosing
    simplex, started from the N-FINDR vertices (in the reduced space).

    ``raw`` (q, C) are the spectra at the N-FINDR pixels: channels left out
    of the reduction keep their values.
    """
    from hyperspy_unmix._core.minvol import minimum_volume_simplex
    from hyperspy_unmix._core.poisson import nonnegative_endmembers

    pca = reduction.pca
    mv = minimum_volume_simplex(
        scores, scores[vertex_rows], random_state=options.random_state
    )
    V, centre = pca.components_, pca.centre_
    Y = centre + mv.vertices @ V  # in the space the subspace was found in
    if options.nonnegative is not None:  # (weights are positive)
        Y = nonnegative_endmembers(Y, V, centre, method=options.nonnegative)
    E = np.array(raw, dtype=np.float64)
    cols = slice(None) if columns is None else columns
    kk = reduction.weighting
    if kk is None:
        E[:, cols] = Y
    else:  # back to counts at the mean pixel total (row scale 1)
        w = kk.channel[cols]
        E[:, cols] = np.where(w > 0, Y / np.where(w > 0, w, 1.0), E[:, cols])
    return E
