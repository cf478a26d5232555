"""N-FINDR spectral unmixing of HyperSpy signals: ``nfindr_unmix``.

The pipeline, for a signal of ``n`` pixels and ``C`` channels and ``q``
endmembers (:func:`hyperspy_unmix.unmixing._pipeline.fit_endmembers`, shared
with the :class:`~hyperspy_unmix.NFINDR` estimator):

1. reduction to ``q - 1`` centred principal components by an exact
   covariance-eigh estimator (the covariance of at most ``max_pca_pixels``
   pixels, a fixed pseudo-random sample on larger maps; every pixel is
   projected): in memory through HyperSpy's own ``decomposition``, lazily as
   dask passes (:mod:`hyperspy_unmix.unmixing._reduce`);
2. the N-FINDR volume search on the small ``(n, q - 1)`` score matrix;
3. endmember spectra read from the data at the chosen pixels (optionally
   projected onto the principal subspace and/or averaged over a
   neighbourhood, for noisy data);
4. abundances and the residual map, batched and exact, lazily per
   navigation chunk (:mod:`hyperspy_unmix.unmixing._abundances`).

Lazy data are read two times (``"denoised"``) or three times (``"pixel"``),
one navigation block at a time: memory per dask worker is a few blocks plus
a ``(C + 2) x C`` float64 sum per block in flight; the client holds the
``(n, q - 1)`` scores.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._core.pca import sample_fraction
from hyperspy_unmix._progress import bar, dask_progress, source_file, wanted
from hyperspy_unmix._signal_io import (
    aligned_data,
    copy_axis,
    flat_masks,
    is_lazy,
    make_signal,
    result_metadata,
    title_of,
)
from hyperspy_unmix._validation import (
    check_bool,
    check_choice,
    check_int,
    check_signal,
    deprecated_alias,
)
from hyperspy_unmix.unmixing import _abundances as _stage
from hyperspy_unmix.unmixing import _outliers
from hyperspy_unmix.unmixing._outliers import OUTLIER_MODES
from hyperspy_unmix.unmixing._pipeline import (
    check_options,
    fit_endmembers,
    resolve_svd_solver,
)
from hyperspy_unmix.unmixing._reduce import (
    project_rows,
    reduce_in_memory,
    reduce_lazy,
    reduce_weighted,
)
from hyperspy_unmix.unmixing.count import CheckRule, CountRule, looks_like_counts
from hyperspy_unmix.unmixing.result import UnmixingResult, build_result

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

    RandomStateLike = int | np.random.Generator | np.random.RandomState | None

__all__ = ["nfindr_unmix"]


def nfindr_unmix(
    signal: BaseSignal,
    n_endmembers: int | str,
    *,
    abundances: str = "fcls",
    endmember_estimate: str = "denoised",
    neighborhood: int = 0,
    init: str = "atgp",
    n_init: int = 1,
    max_iter: int = 100,
    random_state: RandomStateLike = None,
    navigation_mask: BaseSignal | np.ndarray | None = None,
    signal_mask: BaseSignal | np.ndarray | None = None,
    max_pca_pixels: int | None = 1_000_000,
    svd_solver: str = "auto",
    normalize_poissonian_noise: bool = False,
    nonnegative_endmembers: str | None = None,
    outliers: str | None = "auto",
    refine: str | None = None,
    show_progressbar: bool | None = None,
    lazy_output: bool | None = None,
    neighbourhood: int | None = None,
) -> UnmixingResult:
    """Unmix a signal into endmembers and abundances with N-FINDR.

    Linear mixing model: every pixel's spectrum (or pattern) ``x`` is
    ``x ~ sum_k a_k e_k`` with endmembers ``e_k`` found as the vertices of the
    largest simplex spanned by the pixels in a ``q - 1`` dimensional principal
    subspace, and abundances ``a`` (with ``"fcls"``) non-negative and summing
    to one.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        Any real signal with at least one navigation axis and signal
        dimension 1 (spectrum images) or 2 (stacks of images or patterns,
        e.g. :class:`hyperspy_unmix.signals.SlidingFFT`); lazy or in memory.
        Integer data are converted to float block by block.
    n_endmembers : int or "auto"
        Number of endmembers ``q`` (>= 2, at most the number of unmasked
        pixels and the rank of the data + 1). ``"auto"``: estimated from the
        moments of the reduction's own pass, as
        :func:`hyperspy_unmix.estimate_n_endmembers` does (the estimate, with
        its evidence, is ``result.n_endmembers_estimate``; the chosen ``q``
        is in the provenance).
    abundances : {"fcls", "nnls", "scls", "ucls"}
        Fully constrained (non-negative, sum to one), non-negative only,
        sum-to-one only, or unconstrained least squares; all exact.
    endmember_estimate : {"denoised", "pixel"}
        ``"denoised"`` (default): the spectra at the chosen pixels projected
        onto the ``q - 1`` dimensional principal affine subspace (channels
        excluded by ``signal_mask`` keep their raw values). ``"pixel"``: the
        data at the chosen pixels, the classic N-FINDR endmembers. Measured on
        128 x 128 x 512 maps with 4 phases (``hyperspy_unmix.data``): mean
        spectral angle 0.36 vs 2.1 degrees at the default dose, 1.8 vs 9.3 at
        a 20x lower one; abundance RMSE 0.025 vs 0.046 and 0.095 vs 0.17.
        Denoised spectra can dip below zero at low counts (a projection on a
        few directions rings around sharp peaks).
    neighborhood : int
        Average the endmember spectra over a ``(2 r + 1)`` pixel wide window
        (per navigation axis, clipped at the edges, masked pixels left out)
        around each chosen pixel; 0 (default) uses the pixel alone.
    init : {"atgp", "random"}
        Start simplex: ATGP (deterministic) or random pixels (seeded by
        ``random_state``, ``n_init`` starts, the largest volume kept).
    n_init : int
        Random starts with ``init="random"``.
    max_iter : int
        Maximum number of sweeps of the volume search.
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seeds every random step (only ``init="random"`` is random).
    navigation_mask, signal_mask : None, BaseSignal or numpy.ndarray of bool
        True = excluded, exactly as in HyperSpy's ``decomposition``: a numpy
        navigation mask is in ``axes_manager.navigation_shape`` order (x
        first, the transpose of the data's array order); a mask signal is
        unambiguous and recommended. A numpy signal mask is read the same way
        (``axes_manager.signal_shape`` order; for 2-D signals HyperSpy's
        ``decomposition`` checks that shape but flattens the array without
        transposing it, so pass a mask signal there). Masked pixels are
        neither used for the reduction nor chosen as endmembers and get NaN
        abundances and residual; masked channels are left out of the
        reduction, the abundances and the residual, but the endmember spectra
        keep all channels.
    max_pca_pixels : None or int
        The principal subspace (the covariance and the centre) is estimated
        from at most about this many pixels: on larger maps from a fixed
        pseudo-random subset of the unmasked pixels (the same for in-memory
        and lazy data and for any chunking; no regular stride, which could
        alias with a lattice period). Every pixel is still projected, can be
        chosen as an endmember and gets abundances. A million spectra
        estimate a covariance far more closely than the noise of one
        endmember spectrum, and the exact covariance costs ``n * C**2`` flops,
        the largest part of the work on large maps. None: every pixel; at
        least 100 otherwise.
    svd_solver : {"auto", "covariance", "randomized", "gram"}
        How the principal subspace is found (HyperSpy's keyword), for ``n``
        (sampled) pixels of ``C`` channels and ``k = q - 1`` directions:

        * ``"covariance"``: eigenvectors of the ``C x C`` covariance; one pass
          of ``n C^2`` flops (one large GEMM) plus a ``C x C``
          eigen-decomposition. Exact; the cheapest for few channels.
        * ``"randomized"``: randomised block Krylov on the implicitly centred
          data (Musco & Musco 2015), started in memory from the subspace of
          every 16th pixel (1/8 of a pass), then 1-6 passes of
          ``4 n C (k + 10)`` flops, iterated until the subspace is far
          closer to the exact one than the noise puts the exact one from
          the truth (3 % of that angle; tested). For many channels (EDS
          maps of thousands of channels, sliding-FFT stacks). Seeded by
          ``random_state`` (a fixed seed when None, so runs repeat).
        * ``"gram"`` (in memory only): the ``n x n`` Gram matrix, ``n^2 C``
          flops; exact, for fewer pixels than channels.
        * ``"auto"`` (default): the cheapest by a cost model of ``n``, ``C``,
          ``q``, the dtype and, for lazy data, the passes over the data (each
          reads the whole map from disk or the cluster, so lazily the
          covariance's single pass wins up to a few thousand channels). The
          route taken is ``result.parameters["svd_solver_used"]``.
          ``n_endmembers="auto"`` needs every covariance eigenvalue, so it
          takes the covariance.

        Integer data are converted block by block on every route (no float
        copy of the map).
    normalize_poissonian_noise : bool
        Count data (EELS, EDS, CL): find the principal subspace of the
        Keenan-Kotula weighted data (every count divided by the square roots
        of its pixel's and its channel's mean counts, so Poisson noise
        becomes white: HyperSpy's ``decomposition`` option of the same name
        and meaning). Each block is weighted on its own (no weighted copy of
        the map; one extra pass of sums for the weights). Endmembers go back
        to counts and the abundances are solved on the data themselves, so
        they stay exactly non-negative and sum to one. Measured on low-count
        EDS-like maps (about 20 counts per channel at the peaks): denoised
        endmembers 0.5-0.9 times the mean spectral angle of the unweighted
        reduction.
    nonnegative_endmembers : None, "clip" or "subspace"
        Denoised endmembers can dip below zero at low counts (a projection
        on a few directions rings around sharp peaks). ``"clip"``: set the
        negative values to 0; ``"subspace"``: the closest non-negative
        spectrum within the principal subspace (alternating projections,
        milliseconds; closer to the true spectra than clipping on low-count
        maps). The abundances are then solved with these spectra (exact).
    outliers : "auto" or None
        ``"auto"`` (default): pixels that are not part of the mixture (dead
        or hot pixels and scan rows, spikes, isolated extreme spectra), which
        would otherwise become endmembers, are found before the volume search
        (a pixel unlike all of its neighbours in total counts, in its
        distance to the principal subspace or in its scores, by robust
        z-scores; one extra pass over the data), then left out of the
        principal subspace (fitted again without them) and of the search.
        Their abundances and residual are still computed; a warning says how
        many were set aside and ``result.outliers`` holds them. None: no
        screening (classic N-FINDR).
    refine : None or "minvol"
        ``"minvol"``: move the simplex outwards from the N-FINDR vertices to
        the minimum-volume simplex that encloses the data (SISAL-like hinge
        objective in the reduced space, then each face fitted to the noisy
        edge of the data; vertices where the data reach a corner stay
        N-FINDR's), for maps without pure pixels (thin films, small
        precipitates, interfaces, maps coarser than their grains). The
        endmembers are then the vertices' spectra in the principal subspace
        (``indices`` keep the N-FINDR pixels it started from); abundances
        stay exactly non-negative and summing to one. Measured on maps whose
        purest pixel is 80 % of one phase: 14-29x closer (mean spectral
        angle) than N-FINDR at 400 counts per channel, 1.2-2.2x at 40; equal
        on maps with pure pixels at high counts. Without it, a warning says
        when many pixels lie outside the N-FINDR simplex (no pure pixels).
    show_progressbar : None or bool
        A progress bar: in memory a tqdm bar over the reduction, the search
        and the abundances (in blocks of pixels); lazily dask's progress bar
        (``dask.diagnostics.ProgressBar``, local schedulers; on a
        dask.distributed cluster use its dashboard or
        ``distributed.progress``) for each pass. None follows
        ``hs.preferences.General.show_progressbar`` and is quiet on maps of
        fewer than 2**24 values; True always shows it, False never.
    lazy_output : None or bool
        Lazy abundances and residual (computed per navigation chunk on
        demand). None: as lazy as ``signal``.
    neighbourhood : int, optional
        Deprecated spelling of ``neighborhood`` (removed in 0.3).

    Returns
    -------
    UnmixingResult
        ``endmembers`` (data shape ``(q, *signal_shape)``), ``abundances``
        (``(q, *navigation_shape)``), ``residual`` (``navigation_shape``, RMS
        error per channel), ``indices`` (``(q, navigation_dimension)``, array
        order), ``volume``, ``n_iter``.

    Raises
    ------
    TypeError, ValueError, NotImplementedError
        For bad input, before any heavy work; the signal is never modified.

    Notes
    -----
    The volume search scores every pixel for a vertex with one matrix product
    (barycentric coordinates), and gives the same pixels as the classic
    per-pixel determinant loop. A :class:`sklearn.exceptions.ConvergenceWarning`
    says when it stops at ``max_iter`` sweeps.

    Examples
    --------
    >>> import hyperspy_unmix as hu
    >>> s, truth = hu.data.spectrum_image(shape=(32, 32), random_state=0)
    >>> res = hu.nfindr_unmix(s, 4)
    >>> res.abundances.data.shape
    (4, 32, 32)
    """
    # -- validation: everything before the first pass over the data ----------
    check_signal(signal, signal_dimension=(1, 2), need_navigation=True)
    auto = isinstance(n_endmembers, str)
    if auto and n_endmembers != "auto":
        raise ValueError(
            f'`n_endmembers` must be an int >= 2 or "auto", got {n_endmembers!r}'
        )
    q = None if auto else check_int(n_endmembers, "n_endmembers", minimum=2)
    if neighbourhood is not None:  # named as the user spelled it
        check_int(neighbourhood, "neighbourhood", minimum=0)
    neighborhood = deprecated_alias(
        neighbourhood, "neighbourhood", neighborhood, "neighborhood", 0
    )
    opts = check_options(
        abundances=abundances,
        endmember_estimate=endmember_estimate,
        neighborhood=neighborhood,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        random_state=random_state,
        max_pca_pixels=max_pca_pixels,
        nonnegative_endmembers=nonnegative_endmembers,
        refine=refine,
        svd_solver=svd_solver,
    )
    if outliers is not None:
        check_choice(outliers, "outliers", OUTLIER_MODES)
    normalize_poissonian_noise = check_bool(
        normalize_poissonian_noise, "normalize_poissonian_noise"
    )
    lazy_output = check_bool(lazy_output, "lazy_output", allow_none=True)
    check_bool(show_progressbar, "show_progressbar", allow_none=True)
    lazy_in = is_lazy(signal)
    lazy_output = lazy_in if lazy_output is None else lazy_output

    data, nav_shape, sig_shape = aligned_data(signal)
    n_pix = int(np.prod(nav_shape))
    n_ch = int(np.prod(sig_shape))
    nav_keep, sig_keep = flat_masks(signal, navigation_mask, signal_mask)
    _check_sizes(2 if auto else q, n_pix, n_ch, nav_keep, sig_keep)
    _check_neighborhood(
        opts.neighborhood,
        "neighbourhood" if neighbourhood is not None else "neighborhood",
        nav_shape,
    )
    if auto:
        n_components = CountRule(
            counts=looks_like_counts(data, n_pix, n_ch, nav_keep),
            name="`n_endmembers`",
        )
    else:
        n_components = CheckRule(q)
    if not lazy_in:
        _stage.check_unmasked_finite(data.reshape(n_pix, n_ch), nav_keep, sig_keep)

    n_use = n_pix if nav_keep is None else int(nav_keep.sum())
    fraction = sample_fraction(n_use, opts.max_pca_pixels)
    solver = resolve_svd_solver(
        opts.svd_solver,
        n=int(n_use * fraction),
        C=n_ch if sig_keep is None else int(sig_keep.sum()),
        q=2 if auto else q,
        dtype=data.dtype,
        lazy=lazy_in,
        counting=auto,
    )
    if normalize_poissonian_noise and solver == "gram":
        solver = "covariance"  # the weighted reduction sums moments
    check_rule = None if auto else n_components
    if solver == "randomized":
        n_components = q - 1  # the "too many" check reads the covariance
    show = wanted(show_progressbar, n_pix * n_ch)
    progress = partial(
        dask_progress, show and lazy_in, source_file(signal) if lazy_in else None
    )
    # in memory: pixels through the reduction, then through the abundances
    steps = bar(show and not (lazy_in or lazy_output), 2 * n_pix, "nfindr_unmix")
    # The denoised endmembers lie in the principal subspace, so the
    # abundances follow from the pixels' projections kept from the score pass
    # (lazily and in memory): one pass over the data fewer.
    in_subspace = (
        opts.endmember_estimate == "denoised"
        and opts.refine is None
        and not normalize_poissonian_noise
        and opts.nonnegative is None
    )
    # lazily the scores' pass also keeps each pixel's projections on the
    # centre and ones and its norm, for the abundances of denoised endmembers
    # and for the outlier screening (a pass over the data fewer each):
    # persisted for lazy abundances, in memory for the others and the screen
    fused = None
    if lazy_in:
        persist = in_subspace and lazy_output
        gather = outliers is not None or (in_subspace and not lazy_output)
        if persist or gather:
            fused = "both" if persist and gather else "persist" if persist else "gather"

    screened = {"mask": None}

    def reduce_with(keep, fuse):
        route = dict(svd_solver=solver, random_state=opts.random_state)
        if normalize_poissonian_noise:
            steps.set_description("nfindr_unmix: weighted reduction")
            reduction = reduce_weighted(
                data,
                nav_shape,
                n_ch,
                n_components,
                keep,
                sig_keep,
                fraction,
                progress,
                **route,
            )
            steps.update(n_pix)
            return reduction
        if lazy_in:
            return reduce_lazy(
                data,
                nav_shape,
                n_ch,
                n_components,
                keep,
                sig_keep,
                fraction,
                fuse,
                progress,
                **route,
            )
        steps.set_description("nfindr_unmix: reduction")
        reduction = reduce_in_memory(
            signal, n_components, keep, sig_keep, fraction, **route
        )
        steps.update(n_pix)
        steps.set_description("nfindr_unmix: N-FINDR search")
        return reduction

    def reduce():
        reduction = reduce_with(nav_keep, fused)
        if outliers is None:
            return reduction
        steps.set_description("nfindr_unmix: outlier screening")
        found = _outliers.screen(
            reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress
        )
        screened["mask"] = found.mask
        if not found.n_outliers:
            return reduction
        _outliers.warn_outliers(found)
        # fitted again as if the outliers were masked; the abundances then
        # come from a pass over the data (every pixel gets them)
        good = ~found.mask if nav_keep is None else nav_keep & ~found.mask
        keep_all = np.zeros(n_pix, bool) if nav_keep is None else ~nav_keep
        reduction = reduce_with(good, None)
        reduction.candidates = np.flatnonzero(good)
        # the outliers' own projections on the refitted subspace (a few rows)
        project_rows(
            reduction, data, n_pix, np.flatnonzero(found.mask & ~keep_all), sig_keep
        )
        return reduction

    def read_spectra(rows):
        indices = np.stack(np.unravel_index(rows, nav_shape), axis=1)
        return _stage.endmember_spectra(
            data, nav_shape, n_ch, indices, opts.neighborhood, nav_keep
        )

    fit = fit_endmembers(
        reduce,
        read_spectra,
        q,
        opts,
        dtype=data.dtype,
        candidates=None if nav_keep is None else np.flatnonzero(nav_keep),
        columns=sig_keep,
    )
    E = fit.spectra
    red = fit.reduction
    q = E.shape[0]
    if red.pixel_projections is not None and in_subspace and not lazy_output:
        steps.set_description("nfindr_unmix: abundances")
        A, res = _stage.abundances_from_pixel_projections(
            red.pixel_projections, E, red.pca, opts.abundances, sig_keep, nav_shape
        )
        steps.update(n_pix)
    elif red.projections is not None and in_subspace:
        A, res = _stage.abundances_from_projections(
            red.projections,
            E,
            red.pca,
            opts.abundances,
            sig_keep,
            lazy_output,
            progress,
        )
    else:
        steps.set_description("nfindr_unmix: abundances")
        A, res = _stage.abundances(
            data,
            nav_shape,
            n_ch,
            E,
            opts.abundances,
            nav_keep,
            sig_keep,
            lazy_in,
            lazy_output,
            progress,
            bar=steps,
        )
    steps.close()

    params = {
        "n_endmembers": q,
        "n_endmembers_given": "auto" if auto else q,
        "abundances": opts.abundances,
        "endmember_estimate": opts.endmember_estimate,
        "neighborhood": opts.neighborhood,
        "init": opts.init,
        "n_init": opts.n_init,
        "max_iter": opts.max_iter,
        "random_state": opts.random_state,
        "navigation_mask": None if navigation_mask is None else "given",
        "signal_mask": None if signal_mask is None else "given",
        "max_pca_pixels": opts.max_pca_pixels,
        "svd_solver": opts.svd_solver,
        "svd_solver_used": red.pca.svd_solver_,
        "normalize_poissonian_noise": normalize_poissonian_noise,
        "nonnegative_endmembers": opts.nonnegative,
        "outliers": outliers,
        "refine": opts.refine,
        "n_outliers": (0 if screened["mask"] is None else int(screened["mask"].sum())),
    }
    result = build_result(
        signal,
        E.reshape((q, *sig_shape)),
        A,
        res,
        indices=np.stack(np.unravel_index(fit.rows, nav_shape), axis=1),
        volume=fit.volume,
        n_iter=fit.n_iter,
        explained_variance=red.pca.variance,
        parameters=params,
    )
    result.n_endmembers_estimate = (
        n_components.estimate if auto else (check_rule.estimate)
    )
    if not auto:
        check_rule.warn_if_too_many()
    result.outliers = _outlier_signal(signal, screened["mask"], nav_shape)
    return result


def _outlier_signal(signal, mask, nav_shape):
    """The screened pixels as a boolean signal over the navigation axes."""
    if mask is None:
        return None
    axes = [copy_axis(ax, False) for ax in signal.axes_manager.navigation_axes[::-1]]
    out = make_signal(
        mask.reshape(nav_shape),
        axes,
        result_metadata(signal, f"Outliers of {title_of(signal)}"),
        "",
    )
    out.metadata.set_item("Signal.quantity", "Outlier (True = set aside)")
    return out


def _check_neighborhood(r, name, nav_shape):
    """Refuse a window that covers the whole map: every endmember would be
    the mean spectrum (the volume search then fails or, lazily, returns
    identical endmembers)."""
    axes = [size for size in nav_shape if size > 1]
    if r > 0 and axes and all(2 * r + 1 >= size for size in axes):
        raise ValueError(
            f"`{name}`={r} averages windows of {2 * r + 1} pixels per axis, as "
            f"large as the map ({' x '.join(map(str, nav_shape))}): every "
            "endmember would be the mean spectrum; use a smaller "
            f"`{name}` (at most {(max(axes) - 2) // 2})"
        )


def _check_sizes(q, n_pix, n_ch, nav_keep, sig_keep):
    """Enough (unmasked) pixels and channels for ``q`` endmembers."""
    n_use = n_pix if nav_keep is None else int(nav_keep.sum())
    c_use = n_ch if sig_keep is None else int(sig_keep.sum())
    if n_use < q:
        raise ValueError(
            f"`n_endmembers`={q} exceeds the number of "
            f"{'unmasked ' if nav_keep is not None else ''}pixels ({n_use})"
            + (
                ": `navigation_mask` leaves too few pixels"
                if nav_keep is not None
                else ""
            )
        )
    if c_use < q - 1:
        raise ValueError(
            f"`n_endmembers`={q} needs at least {q - 1} "
            f"{'unmasked ' if sig_keep is not None else ''}channels, got {c_use}"
            + (
                ": `signal_mask` leaves too few channels"
                if sig_keep is not None
                else ""
            )
        )
