"""The reduction of :func:`hyperspy_unmix.nfindr_unmix`, in memory and lazily.

In memory it runs through HyperSpy's own ``decomposition`` (the mission's
"HyperSpy's own machinery"), with the exact covariance estimator as the
``algorithm``, on a throw-away signal that shares the data, so the user's
``learning_results`` stay as they were. Lazily it is two dask passes (the
``(C, C)`` moments summed over navigation blocks, then the projections of
every pixel), so it runs wherever dask runs it, threads or a
dask.distributed cluster; HyperSpy 2.5's lazy ``decomposition`` pulls every
block into the client and permutes masked rows of multi-chunk data.
"""

import numpy as np

from hyperspy_unmix._core import blockwise
from hyperspy_unmix._core.pca import (
    CovariancePCA,
    NonFiniteDataError,
    pca_sample,
    sample_rows,
)
from hyperspy_unmix._signal_io import (
    aligned_data,
    is_lazy,
)
from hyperspy_unmix.unmixing._pipeline import Reduction, solver_seed


def non_finite_error(masked):
    return ValueError(
        "`signal` contains NaN or infinite values"
        + (" in its unmasked part" if masked else "")
        + "; remove or mask them first"
    )


def reduce_in_memory(
    signal,
    n_components,
    nav_keep,
    sig_keep,
    fraction,
    svd_solver="covariance",
    random_state=None,
) -> Reduction:
    """Centred PCA scores (n_pixels, k) via HyperSpy's decomposition.

    ``n_components``: ``k`` (``q - 1``), or a rule choosing it from the
    moments (``n_endmembers="auto"``). ``svd_solver``: the route (resolved,
    not ``"auto"``) of :class:`CovariancePCA`.
    """
    import hyperspy.api as hs

    data, _, _ = aligned_data(signal)
    n_pix = int(np.prod(data.shape[: signal.axes_manager.navigation_dimension]))
    est = CovariancePCA(
        n_components,
        rows=sample_rows(n_pix, fraction, nav_keep),
        svd_solver=svd_solver,
        random_state=solver_seed(random_state),
        keep_projections=True,
    )
    if not np.issubdtype(data.dtype, np.floating):
        # HyperSpy's decomposition refuses integers, and a float copy of a
        # count map is 4-8x its size: the estimator reads the integer rows
        # itself, converting one block at a time.
        return _reduce_integers(data, n_pix, est, nav_keep, sig_keep)
    # Shares the data array; decomposition results land on this throw-away
    # signal, never on the user's learning_results. The estimator has no
    # `mean_`, so HyperSpy does not add anything back into the shared array.
    # It is made already unfolded (pixels x channels, as HyperSpy's
    # decomposition would unfold it): no axes of the user's shape to build
    # and deep-copy (~6 ms of a 50 ms call on a 61x61x64x64 stack).
    flat = data.reshape(n_pix, -1)
    if not np.shares_memory(flat, data):
        # a non-contiguous view: HyperSpy's unfold would copy it too
        flat = np.ascontiguousarray(flat)
    shallow = hs.signals.BaseSignal(
        flat,
        axes=[
            {"size": n_pix, "navigate": True},
            {"size": flat.shape[1], "navigate": False},
        ],
    )
    nav_mask = sig_mask = None
    if nav_keep is not None:
        nav_mask = hs.signals.BaseSignal(~np.asarray(nav_keep).reshape(-1)).T
    if sig_keep is not None:
        sig_mask = hs.signals.BaseSignal(~np.asarray(sig_keep).reshape(-1))
    try:
        shallow.decomposition(
            algorithm=est,
            navigation_mask=nav_mask,
            signal_mask=sig_mask,
            print_info=False,
        )
    except NonFiniteDataError:
        raise non_finite_error(nav_keep is not None) from None
    loadings = shallow.learning_results.loadings
    return Reduction(
        np.asarray(loadings, dtype=np.float64),
        est,
        pixel_projections=_full_rows(est.projections_, n_pix, nav_keep),
    )


def _full_rows(used, n_pix, nav_keep):
    """Rows of the used pixels placed among all pixels (NaN where masked)."""
    if nav_keep is None:
        return used
    out = np.full((n_pix, used.shape[1]), np.nan)
    out[nav_keep] = used
    return out


def project_rows(reduction, data, n_pix, rows, sig_keep):
    """Fill ``reduction.pixel_projections`` at ``rows`` (e.g. set-aside
    outliers, which the refitted subspace did not project)."""
    if reduction.pixel_projections is None or len(rows) == 0:
        return
    X = data.reshape(n_pix, -1)[rows]
    if sig_keep is not None:
        X = X[:, sig_keep]
    reduction.pixel_projections[rows] = reduction.pca.project(X)


def _reduce_integers(data, n_pix, est, nav_keep, sig_keep):
    """The scores of integer data without a float copy (masked rows NaN).

    Masks select the used rows and channels first (a copy in the data's own
    dtype, as HyperSpy's decomposition makes of masked data).
    """
    X = data.reshape(n_pix, -1)
    if nav_keep is not None:
        X = X[nav_keep]
    if sig_keep is not None:
        X = X[:, sig_keep]
    used = est.fit_transform(X)
    return Reduction(
        _full_rows(used, n_pix, nav_keep),
        est,
        pixel_projections=_full_rows(est.projections_, n_pix, nav_keep),
    )


def lazy_moments_of(data, nav_shape, n_ch, nav_keep, sig_keep, fraction, progress):
    """The summed channel moments of a lazy signal (one pass), and its shift.

    Returns
    -------
    shift, moments : ndarray
        As :meth:`CovariancePCA.from_moments` takes them.
    flat, keep : dask.array.Array
        The data as ``(*nav_shape, C)`` and the keep mask in blocks.
    cols : None or ndarray of int
    """
    flat = blockwise.as_flat(data, nav_shape, n_ch)
    keep = blockwise.keep_blocks(nav_keep, nav_shape, flat)
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    keep_moments, f = keep, fraction
    if nav_keep is not None and fraction < 1:
        # the sample folded into the mask (already an input of every block)
        picked = pca_sample(np.arange(nav_keep.size), fraction) & nav_keep
        keep_moments, f = blockwise.keep_blocks(picked, nav_shape, flat), 1.0
    with progress():
        shift = blockwise.first_block_mean(flat, nav_keep, nav_shape, cols)
        moments = blockwise.lazy_moments(flat, keep_moments, cols, shift, f).compute()
    return shift, moments, flat, keep, cols


def memory_moments_of(
    flat, nav_keep, sig_keep, fraction, block_rows=8192, transform=None
):
    """The same moments of an in-memory ``(n_pixels, C)`` array, block by block.

    The lazy kernel itself (:func:`~hyperspy_unmix._core.blockwise.block_moments`)
    over row blocks: the same pixels and arithmetic as lazily, and no copy of
    the used rows and channels beyond one block. ``transform`` maps each
    block first (the Poisson weighting).
    """
    tf = (lambda x: x) if transform is None else transform
    n_pix = flat.shape[0]
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    first = 0 if nav_keep is None else int(np.argmax(nav_keep))
    head = tf(flat[first : first + block_rows])
    if nav_keep is not None:
        head = head[nav_keep[first : first + block_rows]]
    if cols is not None:
        head = head[:, cols]
    shift = head.mean(axis=0, dtype=np.float64)
    total = None
    for a in range(0, n_pix, block_rows):
        b = min(a + block_rows, n_pix)
        part = blockwise.block_moments(
            tf(flat[a:b]),
            None if nav_keep is None else nav_keep[a:b],
            shift=shift,
            columns=cols,
            fraction=fraction,
            nav_shape=(n_pix,),
            block_info={0: {"array-location": [(a, b)]}},
        )
        total = part if total is None else total + part
    return shift, total.reshape(total.shape[-2:])


def lazy_fit(
    data,
    nav_shape,
    n_ch,
    n_components,
    nav_keep,
    sig_keep,
    fraction,
    progress,
    svd_solver="covariance",
    random_state=None,
):
    """:class:`CovariancePCA` fitted out of core (``n_components``: int or rule).

    ``"covariance"``: one pass of moments; ``"randomized"``: a dask pass per
    iteration of the block Krylov solver on the same pixels (the sample
    folded into the keep mask), for wide data.
    """
    if svd_solver == "randomized":
        try:
            return _lazy_randomized_fit(
                data,
                nav_shape,
                n_ch,
                n_components,
                nav_keep,
                sig_keep,
                fraction,
                progress,
                random_state,
            )
        except ValueError as err:
            # finite data near the float32 limit overflow float32 products:
            # the scale-safe moments decide (and raise if truly non-finite)
            if not isinstance(err.__cause__, NonFiniteDataError):
                raise
    shift, moments, flat, keep, cols = lazy_moments_of(
        data, nav_shape, n_ch, nav_keep, sig_keep, fraction, progress
    )
    try:
        pca = CovariancePCA.from_moments(n_components, shift, moments)
    except NonFiniteDataError:
        raise non_finite_error(nav_keep is not None) from None
    return pca, flat, keep, cols


def _lazy_randomized_fit(
    data, nav_shape, n_ch, k, nav_keep, sig_keep, fraction, progress, random_state
):
    from hyperspy_unmix._core.randomized import lazy_randomized_subspace

    flat = blockwise.as_flat(data, nav_shape, n_ch)
    keep = blockwise.keep_blocks(nav_keep, nav_shape, flat)
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    used = nav_keep
    if fraction < 1:
        picked = pca_sample(np.arange(int(np.prod(nav_shape))), fraction)
        used = picked if nav_keep is None else picked & nav_keep
    src = flat if cols is None else flat[..., cols]
    try:
        with progress():
            fit = lazy_randomized_subspace(
                src,
                int(k),
                keep=None if used is None else used.reshape(nav_shape),
                random_state=solver_seed(random_state),
            )
    except NonFiniteDataError as err:
        raise non_finite_error(nav_keep is not None) from err
    return CovariancePCA.from_subspace(fit), flat, keep, cols


def reduce_lazy(
    data,
    nav_shape,
    n_ch,
    n_components,
    nav_keep,
    sig_keep,
    fraction,
    keep_proj,
    progress,
    svd_solver="covariance",
    random_state=None,
) -> Reduction:
    """Out-of-core centred PCA of a lazy signal and its scores.

    Two passes: the (C, C) moments, then the projections of every pixel on
    the ``q - 1`` principal directions. ``keep_proj`` also keeps, from the
    second pass, each pixel's projections on the centre and on ones and its
    squared norm (``[x V^T, x . c, x . 1, x . x]``): ``"persist"`` as a dask
    array persisted where the scheduler keeps data (the lazy abundances of
    denoised endmembers), ``"gather"`` in memory as ``pixel_projections``
    (the outlier screening, in-memory abundances), ``"both"``, or None.
    Rows of masked pixels are NaN.
    """
    import dask

    pca, flat, keep, cols = lazy_fit(
        data,
        nav_shape,
        n_ch,
        n_components,
        nav_keep,
        sig_keep,
        fraction,
        progress,
        svd_solver,
        random_state,
    )
    k = pca.n_components_
    V, centre = pca.components_, pca.centre_
    if keep_proj:
        proj = blockwise.nav_blockwise(
            blockwise.block_reduction_projections,
            flat,
            keep,
            k + 3,
            V=V,
            centre=centre,
            columns=cols,
        )
    else:
        proj = blockwise.nav_blockwise(
            blockwise.block_project, flat, keep, k, W=V, columns=cols, norms=False
        )
    gather_all = keep_proj in ("gather", "both")
    with progress():
        if keep_proj in ("persist", "both"):
            (proj,) = dask.persist(proj)
        # every column at once when they are wanted in memory: one gather
        # (a second one of the persisted rest took 0.5-0.7 s on 4.7 M pixels)
        raw = blockwise.gather(proj if gather_all else proj[..., :k])
    raw = raw.reshape(-1, raw.shape[-1])
    scores = raw[:, :k] - centre @ V.T  # a new array: ours to change in place
    # with a sampled covariance, values outside the sample show up here only
    if not np.isfinite(scores if nav_keep is None else scores[nav_keep]).all():
        raise non_finite_error(nav_keep is not None)
    return Reduction(
        scores,
        pca,
        proj if keep_proj in ("persist", "both") else None,
        pixel_projections=raw if gather_all else None,
    )


def reduce_weighted(
    data,
    nav_shape,
    n_ch,
    n_components,
    nav_keep,
    sig_keep,
    fraction,
    progress,
    svd_solver="covariance",
    random_state=None,
) -> Reduction:
    """The reduction of Keenan-Kotula weighted counts (in memory or lazily).

    A pass of sums gives the weights (mean spectrum, mean total), then the
    moments and the scores of the weighted blocks, each block weighted on its
    own (:class:`~hyperspy_unmix._core.poisson.KeenanKotula`): no weighted
    copy of the map. HyperSpy's ``decomposition(normalize_poissonian_noise=
    True)`` would weight a copy of the whole data.
    """
    from hyperspy_unmix._core.poisson import KeenanKotula, weighting_sums

    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    lazy = is_lazy(data)
    if lazy:
        flat = blockwise.as_flat(data, nav_shape, n_ch)
        keep = blockwise.keep_blocks(nav_keep, nav_shape, flat)
        nd = len(nav_shape)
        args = [flat, (*range(nd), nd)] + (
            [] if keep is None else [keep, tuple(range(nd))]
        )
        sums = blockwise.da_blockwise_sum(
            weighting_sums, args, nd, n_ch + 2, columns=cols
        )
        with progress():
            sums = sums.compute()
    else:
        flat = np.asarray(data).reshape(-1, n_ch)
        sums = 0.0
        for a in range(0, flat.shape[0], 8192):
            part = weighting_sums(
                flat[a : a + 8192],
                None if nav_keep is None else nav_keep[a : a + 8192],
                cols,
            )
            sums = sums + part.reshape(-1)
    sums = np.asarray(sums).reshape(-1)
    n_used = sums[n_ch]
    if np.any(sums[:n_ch][slice(None) if cols is None else cols] < 0):
        raise ValueError(
            "`normalize_poissonian_noise`=True needs counts (non-negative data); "
            "the signal has negative values"
        )
    kk = KeenanKotula(sums[:n_ch] / n_used, sums[n_ch + 1] / n_used, cols)
    if lazy:
        weighted = flat.map_blocks(kk, dtype=np.float32)
    if svd_solver == "randomized" and lazy:
        pca, wflat, keep, _ = _lazy_randomized_fit(
            weighted,
            nav_shape,
            n_ch,
            n_components,
            nav_keep,
            sig_keep,
            fraction,
            progress,
            random_state,
        )
    elif svd_solver == "randomized":
        pca = _weighted_randomized_fit(
            flat, kk, n_components, nav_keep, cols, fraction, random_state
        )
    else:
        if lazy:
            shift, moments, wflat, keep, _ = lazy_moments_of(
                weighted, nav_shape, n_ch, nav_keep, sig_keep, fraction, progress
            )
        else:
            shift, moments = memory_moments_of(
                flat, nav_keep, sig_keep, fraction, transform=kk
            )
        try:
            pca = CovariancePCA.from_moments(n_components, shift, moments)
        except NonFiniteDataError:
            raise non_finite_error(nav_keep is not None) from None
    V, centre = pca.components_, pca.centre_
    k = pca.n_components_
    if lazy:
        proj = blockwise.nav_blockwise(
            blockwise.block_project, wflat, keep, k, W=V, columns=cols, norms=False
        )
        with progress():
            scores = blockwise.gather(proj).reshape(-1, k)
    else:
        scores = np.empty((flat.shape[0], k))
        for a in range(0, flat.shape[0], 8192):
            y = kk(flat[a : a + 8192])
            y = y if cols is None else y[:, cols]
            scores[a : a + 8192] = y @ V.T.astype(y.dtype)
        if nav_keep is not None:
            scores[~nav_keep] = np.nan
    scores -= centre @ V.T
    return Reduction(scores, pca, None, weighting=kk)


def _weighted_randomized_fit(flat, kk, k, nav_keep, cols, fraction, random_state):
    """The randomised subspace of the weighted counts, weighted block by block."""
    from hyperspy_unmix._core.randomized import randomized_subspace

    n_pix = flat.shape[0]
    used = nav_keep
    if fraction < 1:
        picked = pca_sample(np.arange(n_pix), fraction)
        used = picked if nav_keep is None else picked & nav_keep
    rows = None if used is None else np.flatnonzero(used)

    def weighted(x):
        y = kk(x)
        return y if cols is None else y[:, cols]

    try:
        fit = randomized_subspace(
            flat,
            int(k),
            rows=rows,
            transform=weighted,
            n_features=flat.shape[1] if cols is None else len(cols),
            random_state=solver_seed(random_state),
        )
    except NonFiniteDataError:
        raise non_finite_error(nav_keep is not None) from None
    return CovariancePCA.from_subspace(fit)
