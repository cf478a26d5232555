"""N-FINDR spectral unmixing of HyperSpy signals: ``nfindr_unmix``.

The pipeline, for a signal of ``n`` pixels and ``C`` channels and ``q``
endmembers:

1. reduction to ``q - 1`` centred principal components by an exact
   covariance-eigh estimator (the covariance of at most ``max_pca_pixels``
   pixels, a fixed pseudo-random sample on larger maps; every pixel is
   projected): in memory through HyperSpy's own
   ``decomposition``, run on a throw-away signal sharing the data so the
   user's ``learning_results`` stay as they were; on lazy data as dask
   graphs (the ``(C, C)`` moments summed over navigation blocks, then the
   projections of every pixel), so the work runs wherever dask runs it,
   threads or a dask.distributed cluster, and only small arrays come back;
2. the N-FINDR volume search on the small ``(n, q - 1)`` score matrix
   (:mod:`hyperspy_unmix._core.simplex`);
3. endmember spectra read from the data at the chosen pixels (optionally
   projected onto the principal subspace and/or averaged over a
   neighbourhood, for noisy data);
4. abundances and the residual map, batched and exact
   (:mod:`hyperspy_unmix._core.abundances`), lazily per navigation chunk on
   lazy data; with projected ("denoised") endmembers they follow exactly
   from the projections kept from step 1, without another pass.

Lazy data are read two times (``"denoised"``) or three times (``"pixel"``),
one navigation block at a time: memory per dask worker is a few blocks plus
a ``(C + 2) x C`` float64 sum per block in flight; the client holds the
``(n, q - 1)`` scores.
"""

import numpy as np

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core.simplex import nfindr as _nfindr
from hyperspy_unmix._nfindr_estimator import NFINDR
from hyperspy_unmix._reduction import pca_sample, sample_fraction, sample_rows
from hyperspy_unmix._unmixing_io import (
    aligned_data,
    array_order_axes,
    build_result,
    flat_masks,
    mask_signals,
)
from hyperspy_unmix._unmixing_result import UnmixingResult
from hyperspy_unmix._validation import (
    check_choice,
    check_finite,
    check_int,
    check_signal,
)

__all__ = ["nfindr_unmix", "NFINDR", "UnmixingResult"]

_ENDMEMBER_ESTIMATES = ("pixel", "denoised")
_INITS = ("atgp", "random")


def nfindr_unmix(
    signal,
    n_endmembers,
    *,
    abundances="fcls",
    endmember_estimate="pixel",
    neighbourhood=0,
    init="atgp",
    n_init=1,
    max_iter=100,
    random_state=None,
    navigation_mask=None,
    signal_mask=None,
    max_pca_pixels=1_000_000,
    show_progressbar=None,
    lazy_output=None,
):
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
    n_endmembers : int
        Number of endmembers ``q`` (>= 2, at most the number of unmasked
        pixels and the rank of the data + 1).
    abundances : {"fcls", "nnls", "scls", "ucls"}
        Fully constrained (non-negative, sum to one), non-negative only,
        sum-to-one only, or unconstrained least squares; all exact.
    endmember_estimate : {"pixel", "denoised"}
        ``"pixel"``: the data at the chosen pixels. ``"denoised"``: those
        spectra projected onto the ``q - 1`` dimensional principal affine
        subspace (far less noisy for low-dose data; channels excluded by
        ``signal_mask`` keep their raw values).
    neighbourhood : int
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
    random_state : None, int or numpy.random.RandomState
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
    show_progressbar : None or bool
        Lazy data: dask's progress bar (``dask.diagnostics.ProgressBar``,
        local schedulers; on a dask.distributed cluster use its dashboard or
        ``distributed.progress``) for each pass. None follows
        ``hs.preferences.General.show_progressbar``.
    lazy_output : None or bool
        Lazy abundances and residual (computed per navigation chunk on
        demand). None: as lazy as ``signal``.

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
    (barycentric coordinates, see :mod:`hyperspy_unmix._core.simplex`), and
    gives the same pixels as the classic per-pixel determinant loop.

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
    q = check_int(n_endmembers, "n_endmembers", minimum=2)
    check_choice(abundances, "abundances", _ab.METHODS)
    check_choice(endmember_estimate, "endmember_estimate", _ENDMEMBER_ESTIMATES)
    r = check_int(neighbourhood, "neighbourhood", minimum=0)
    check_choice(init, "init", _INITS)
    n_init = check_int(n_init, "n_init", minimum=1)
    max_iter = check_int(max_iter, "max_iter", minimum=1)
    if max_pca_pixels is not None:
        max_pca_pixels = check_int(max_pca_pixels, "max_pca_pixels", minimum=100)
    if lazy_output is not None and not isinstance(lazy_output, bool):
        raise TypeError(f"`lazy_output` must be None or a bool, got {lazy_output!r}")
    if show_progressbar is not None and not isinstance(show_progressbar, bool):
        raise TypeError(
            f"`show_progressbar` must be None or a bool, got {show_progressbar!r}"
        )
    lazy_in = bool(signal._lazy)
    lazy_output = lazy_in if lazy_output is None else lazy_output
    if random_state is not None:
        from sklearn.utils import check_random_state

        try:
            check_random_state(random_state)
        except ValueError:
            raise ValueError(
                "`random_state` must be None, an int or a numpy RandomState, "
                f"got {random_state!r}"
            ) from None

    data, nav_shape, sig_shape = aligned_data(signal)
    n_pix = int(np.prod(nav_shape))
    n_ch = int(np.prod(sig_shape))
    nav_keep, sig_keep = flat_masks(signal, navigation_mask, signal_mask)
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
    if not lazy_in:
        _check_unmasked_finite(data.reshape(n_pix, n_ch), nav_keep, sig_keep)

    fraction = sample_fraction(n_use, max_pca_pixels)
    progress = _progress(show_progressbar)
    # The denoised endmembers lie in the principal subspace, so on lazy data
    # the abundances follow from the pixels' projections kept from the score
    # pass: one pass over the data fewer.
    fused = lazy_in and endmember_estimate == "denoised"

    # -- 1. reduction ----------------------------------------------------------
    proj = None
    if lazy_in:
        scores, pca, proj = _reduce_lazy(
            data, nav_shape, n_ch, q, nav_keep, sig_keep, fraction, fused, progress
        )
    else:
        # HyperSpy's decomposition on a throw-away signal
        scores, pca = _reduce(signal, q, nav_keep, sig_keep, fraction)
    _check_rank(pca.variance, q, data.dtype)
    cand = np.flatnonzero(nav_keep) if nav_keep is not None else None
    if cand is not None:
        scores = scores[cand]

    # -- 2. volume search on the small score matrix --------------------------
    found = _nfindr(
        scores,
        q,
        init=init,
        n_init=n_init,
        max_iter=max_iter,
        random_state=random_state,
    )
    flat_idx = found.indices if cand is None else cand[found.indices]
    indices = np.stack(np.unravel_index(flat_idx, nav_shape), axis=1)

    # -- 3. endmember spectra -------------------------------------------------
    E = _endmember_spectra(data, nav_shape, n_ch, indices, r, nav_keep)
    if endmember_estimate == "denoised":
        cols = slice(None) if sig_keep is None else sig_keep
        part = E[:, cols] - pca.centre_
        E[:, cols] = pca.centre_ + (part @ pca.components_.T) @ pca.components_

    # -- 4. abundances and residual -------------------------------------------
    if proj is not None:
        A, res = _abundances_from_projections(
            proj, E, pca, abundances, sig_keep, lazy_output, progress
        )
    else:
        A, res = _abundances(
            data,
            nav_shape,
            n_ch,
            E,
            abundances,
            nav_keep,
            sig_keep,
            lazy_in,
            lazy_output,
            progress,
        )

    params = {
        "n_endmembers": q,
        "abundances": abundances,
        "endmember_estimate": endmember_estimate,
        "neighbourhood": r,
        "init": init,
        "n_init": n_init,
        "max_iter": max_iter,
        "random_state": random_state,
        "navigation_mask": None if navigation_mask is None else "given",
        "signal_mask": None if signal_mask is None else "given",
        "max_pca_pixels": max_pca_pixels,
    }
    return build_result(
        signal,
        E.reshape((q, *sig_shape)),
        A,
        res,
        indices=indices,
        volume=found.volume,
        n_iter=found.n_iter,
        explained_variance=pca.variance,
        parameters=params,
    )


def _check_rank(variance, q, dtype):
    """Refuse more endmembers than the data's affine rank + 1.

    A principal variance below the rounding floor of the arithmetic (float32
    data are reduced in float32: about 1e-7 of the largest variance; float64:
    1e-16) is no direction of the data.
    """
    floor = 1e-6 if dtype == np.float32 or np.dtype(dtype).itemsize <= 2 else 1e-12
    top = variance[0] if variance.size else 0.0
    rank = int(np.count_nonzero(variance > floor * top)) if top > 0 else 0
    if rank < q - 1:
        raise ValueError(
            f"`n_endmembers`={q} needs data of rank {q - 1} after centring, but "
            f"only {rank} principal component(s) rise above the {dtype} rounding "
            f"floor: the data have rank {rank} (at most {rank + 1} endmembers)"
        )


def _check_unmasked_finite(flat, nav_keep, sig_keep):
    """NaN / inf are refused where they are used (masked parts may hold any)."""
    step = max(1, (1 << 22) // max(flat.shape[1], 1))
    if nav_keep is None and sig_keep is None:
        # Block by block (no map-sized boolean temporary); the shared check
        # then counts and reports.
        for start in range(0, flat.shape[0], step):
            if not np.isfinite(flat[start : start + step]).all():
                check_finite(flat, "signal")
        return
    # Block by block: no copy of the unmasked part of a large map.
    n_bad = 0
    for start in range(0, flat.shape[0], step):
        block = flat[start : start + step]
        if nav_keep is not None:
            block = block[nav_keep[start : start + step]]
        if sig_keep is not None:
            block = block[:, sig_keep]
        n_bad += int(block.size - np.count_nonzero(np.isfinite(block)))
    if n_bad:
        raise ValueError(
            f"`signal` contains {n_bad} NaN or infinite value(s) in its unmasked "
            "part; remove or mask them first"
        )


def _reduce(signal, q, nav_keep, sig_keep, fraction):
    """Centred PCA scores (n_pixels, q - 1) via HyperSpy's decomposition (in memory)."""
    import hyperspy.api as hs

    from hyperspy_unmix._reduction import CovariancePCA

    data, _, _ = aligned_data(signal)
    if not np.issubdtype(data.dtype, np.floating):
        # HyperSpy's decomposition refuses integers; float32 holds 8- and
        # 16-bit counts exactly (the only copy of the data the pipeline makes).
        exact32 = data.dtype.itemsize <= 2
        data = data.astype(np.float32 if exact32 else np.float64)
    axes = [ax.get_axis_dictionary() for ax in array_order_axes(signal)]
    # Shares the data array; decomposition results land on this throw-away
    # signal, never on the user's learning_results. The estimator has no
    # `mean_`, so HyperSpy does not add anything back into the shared array.
    shallow = hs.signals.BaseSignal(data, axes=axes)
    nav_mask, sig_mask = mask_signals(signal, nav_keep, sig_keep)
    n_pix = int(np.prod(data.shape[: signal.axes_manager.navigation_dimension]))
    est = CovariancePCA(q - 1, rows=sample_rows(n_pix, fraction, nav_keep))
    shallow.decomposition(
        algorithm=est,
        navigation_mask=nav_mask,
        signal_mask=sig_mask,
        print_info=False,
    )
    loadings = shallow.learning_results.loadings
    return np.asarray(loadings, dtype=np.float64), est


# --------------------------------------------------------------------------
# lazy data: every pass is a dask graph, one task per navigation block, run by
# whatever scheduler is active (threads, processes, dask.distributed); only
# small per-pixel tables (scores, projections) and (C, C) sums come back.


def _progress(show_progressbar):
    """dask's own progress bar around lazy computations (None = preferences)."""
    import contextlib

    if show_progressbar is None:
        import hyperspy.api as hs

        show_progressbar = bool(hs.preferences.General.show_progressbar)
    if not show_progressbar:
        return contextlib.nullcontext
    from dask.diagnostics import ProgressBar

    return ProgressBar


def _lazy_flat(data, nav_shape, n_ch):
    """Dask array ``(*nav_shape, n_ch)``: whole spectra (patterns) per block."""
    import dask.array as da

    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks="auto")
    nd = len(nav_shape)
    data = data.rechunk({i: -1 for i in range(nd, data.ndim)})
    return data.reshape(*nav_shape, n_ch)


def _lazy_keep(nav_keep, nav_shape, flat):
    """The keep mask as a dask array chunked like the navigation (or None).

    Only with a mask: an extra input to every block changes dask's task
    order (all data blocks may be computed before any is consumed).
    """
    if nav_keep is None:
        return None
    import dask.array as da

    nd = len(nav_shape)
    return da.from_array(nav_keep.reshape(nav_shape), chunks=flat.chunks[:nd])


def _nav_blockwise(func, flat, keep, width, **kwargs):
    """``func(block, keep_block)`` per navigation block -> (*nav, width) float64."""
    import dask.array as da

    nd = flat.ndim - 1
    nav = tuple(range(nd))
    args = [flat, (*nav, nd)]
    if keep is not None:
        args += [keep, nav]
    return da.blockwise(
        func,
        (*nav, nd + 1),
        *args,
        new_axes={nd + 1: width},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0,) * (nd + 1)),
        **kwargs,
    )


def _first_block_mean(flat, nav_keep, nav_shape, cols):
    """Mean of the used pixels of the first block holding one (the Gram shift)."""
    first = 0 if nav_keep is None else int(np.argmax(nav_keep))
    sl = []
    for i, chunks in zip(np.unravel_index(first, nav_shape), flat.chunks):
        bounds = np.cumsum((0, *chunks))
        b = int(np.searchsorted(bounds, i, side="right")) - 1
        sl.append(slice(int(bounds[b]), int(bounds[b + 1])))
    sl = tuple(sl)
    rows = np.asarray(flat[sl].compute()).reshape(-1, flat.shape[-1])
    if nav_keep is not None:
        rows = rows[nav_keep.reshape(nav_shape)[sl].ravel()]
    if cols is not None:
        rows = rows[:, cols]
    return rows.mean(axis=0, dtype=np.float64)


def _block_project(x, keep=None, *, W, columns, norms):
    """Per pixel ``x . W^T`` (and ``x . x``) in float64; NaN rows where masked."""
    shape = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    m = None if keep is None else keep.ravel()
    out = np.full((flat.shape[0], W.shape[0] + norms), np.nan)
    if m is None or m.any():
        c, xx = _ab.projections(flat, W, columns=columns, norms=norms, rows=m)
        rows = slice(None) if m is None else m
        out[rows, : W.shape[0]] = c
        if norms:
            out[rows, -1] = xx
    return out.reshape(*shape, -1)


def _reduce_lazy(
    data, nav_shape, n_ch, q, nav_keep, sig_keep, fraction, keep_proj, progress
):
    """Out-of-core centred PCA of a lazy signal and its scores.

    Two passes: the (C, C) moments, then the projections of every pixel on
    the ``q - 1`` principal directions (and, with ``keep_proj``, on the
    centre, with the squared norms: kept, persisted where the scheduler keeps
    data, for the abundances).

    Returns
    -------
    scores : ndarray of shape (n_pixels, q - 1)
        Centred; rows of masked pixels are NaN.
    pca : CovariancePCA
    proj : None or dask.array.Array of shape (*nav_shape, q + 1)
        ``[x . V^T, x . centre, x . x]`` per pixel (NaN where masked).
    """
    import dask

    from hyperspy_unmix._reduction import fit_from_moments, lazy_moments

    flat = _lazy_flat(data, nav_shape, n_ch)
    keep = _lazy_keep(nav_keep, nav_shape, flat)
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    keep_moments, f = keep, fraction
    if nav_keep is not None and fraction < 1:
        # the sample folded into the mask (already an input of every block)
        picked = pca_sample(np.arange(nav_keep.size), fraction) & nav_keep
        keep_moments, f = _lazy_keep(picked, nav_shape, flat), 1.0
    with progress():
        shift = _first_block_mean(flat, nav_keep, nav_shape, cols)
        moments = lazy_moments(flat, keep_moments, cols, shift, f).compute()
    bad_values = ValueError(
        "`signal` contains NaN or infinite values"
        + (" in its unmasked part" if nav_keep is not None else "")
        + "; remove or mask them first"
    )
    try:
        pca = fit_from_moments(q - 1, shift, moments)
    except ValueError as err:
        if "NaN" not in str(err):
            raise
        raise bad_values from None
    V, centre = pca.components_, pca.centre_
    W = np.vstack([V, centre]) if keep_proj else V
    proj = _nav_blockwise(
        _block_project,
        flat,
        keep,
        W.shape[0] + keep_proj,
        W=W,
        columns=cols,
        norms=keep_proj,
    )
    with progress():
        if keep_proj:
            (proj,) = dask.persist(proj)
        raw = _gather(proj[..., : q - 1])
    scores = raw.reshape(-1, q - 1)  # joined here: ours to change in place
    scores -= centre @ V.T
    # with a sampled covariance, values outside the sample show up here only
    if not np.isfinite(scores if nav_keep is None else scores[nav_keep]).all():
        raise bad_values
    return scores, pca, proj if keep_proj else None


def _gather(arr):
    """A small dask array as numpy, each block sent straight to this process.

    ``arr.compute()`` on a dask.distributed cluster first concatenates every
    block on one worker (moving half of them between workers) and then sends
    the whole; fetching the blocks and joining them here moves each once.
    The result is a new array (``np.block`` copies, even a single block).
    """
    import dask

    blocks = arr.to_delayed()
    parts = np.empty(blocks.shape, dtype=object)
    for i, part in zip(np.ndindex(blocks.shape), dask.compute(*blocks.ravel())):
        parts[i] = part
    return np.block(parts.tolist())


def _endmember_spectra(data, nav_shape, n_ch, indices, r, nav_keep):
    """Spectra at ``indices`` (q, C), float64, averaged over ``r`` if asked."""
    q = indices.shape[0]
    keep = None if nav_keep is None else nav_keep.reshape(nav_shape)
    slices = [
        tuple(
            slice(max(i - r, 0), min(i + r + 1, size))
            for i, size in zip(indices[k], nav_shape)
        )
        for k in range(q)  # q pixels (windows), never a loop over all pixels
    ]
    blocks = [data[sl] for sl in slices]
    if hasattr(data, "compute"):
        import dask

        blocks = dask.compute(*blocks)  # one graph: shared chunks read once
    E = np.empty((q, n_ch))
    for k, (sl, block) in enumerate(zip(slices, blocks)):
        block = np.asarray(block, dtype=np.float64).reshape(-1, n_ch)
        if keep is not None:
            block = block[keep[sl].ravel()]
        E[k] = block.mean(axis=0)
    return E


def _abundances(
    data,
    nav_shape,
    n_ch,
    E,
    method,
    nav_keep,
    sig_keep,
    lazy_in,
    lazy_output,
    progress,
):
    """Abundances (q, *nav_shape) and residual (nav_shape), numpy or dask."""
    Eu = E if sig_keep is None else E[:, sig_keep]
    q = E.shape[0]
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    if not lazy_in and not lazy_output:
        n_pix = int(np.prod(nav_shape))
        flat = data.reshape(n_pix, n_ch)
        A = np.full((n_pix, q), np.nan)
        res = np.full(n_pix, np.nan)
        if nav_keep is None:
            A[:], res[:] = _ab.unmix(flat, Eu, method, columns=cols)
        else:
            A[nav_keep], res[nav_keep] = _ab.unmix(
                flat, Eu, method, columns=cols, rows=nav_keep
            )
        A = np.moveaxis(A.reshape(*nav_shape, q), -1, 0)
        return A, res.reshape(nav_shape)

    flat = _lazy_flat(data, nav_shape, n_ch)
    keep = _lazy_keep(nav_keep, nav_shape, flat)
    out = _nav_blockwise(
        _block_unmix, flat, keep, q + 1, E=Eu, method=method, columns=cols
    )
    # q + 1 numbers per pixel: fewer, larger output blocks to store
    return _split(_merge_rows(out), q, lazy_output, progress)


def _block_unmix(x, keep=None, *, E, method, columns):
    """Abundances and residual of one navigation block, (*block_nav, q + 1)."""
    q = E.shape[0]
    shape = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    m = None if keep is None else keep.ravel()
    out = np.full((flat.shape[0], q + 1), np.nan)
    if m is None or m.any():
        a, rr = _ab.unmix(flat, E, method, columns=columns, rows=m)
        rows = slice(None) if m is None else m
        out[rows, :q] = a
        out[rows, q] = rr
    return out.reshape(*shape, q + 1)


def _abundances_from_projections(proj, E, pca, method, sig_keep, lazy_output, progress):
    """Abundances of endmembers in the principal subspace, from the projections.

    With ``E_k = centre + S_k V`` (denoised endmembers), ``x . E_k`` is
    ``x . centre + (x V^T) . S_k``: exactly the least-squares data the solver
    needs, without another pass over the pixels.
    """
    import dask.array as da

    Eu = E if sig_keep is None else E[:, sig_keep]
    V, centre = pca.components_, pca.centre_
    S = (Eu - centre) @ V.T
    q = E.shape[0]
    out = da.map_blocks(
        _block_unmix_projected,
        _merge_rows(proj),
        S=S,
        G=Eu @ Eu.T,
        method=method,
        n_used=Eu.shape[1],
        dtype=np.float64,
        meta=np.empty((0,) * proj.ndim),
    )
    return _split(out, q, lazy_output, progress)


def _merge_rows(proj, pixels=1 << 18):
    """Projections in blocks of about ``pixels`` pixels (whole blocks merged).

    They are ``q + 1`` numbers per pixel, so blocks of data-sized chunks are
    small: merging them along the first navigation axis makes fewer solver
    calls and tasks (per-call and per-task overheads dominate at that size).
    """
    nd = proj.ndim - 1
    rows_max = max(
        proj.chunksize[0], pixels // max(int(np.prod(proj.chunksize[1:nd])), 1)
    )
    merged, count = [], 0
    for c in proj.chunks[0]:
        if merged and count + c <= rows_max:
            merged[-1] += c
            count += c
        else:
            merged.append(c)
            count = c
    return proj.rechunk({0: tuple(merged)})


def _block_unmix_projected(p, *, S, G, method, n_used):
    """Abundances and residual from ``[x V^T, x . centre, x . x]`` rows."""
    q = S.shape[0]
    shape = p.shape[:-1]
    flat = p.reshape(-1, p.shape[-1])
    ok = np.isfinite(flat[:, -1])
    if ok.all():  # no masked pixel: no copies in and out
        c = flat[:, -2:-1] + flat[:, :-2] @ S.T
        a, rr = _ab.from_projections(G, c, flat[:, -1], method, n_used)
        return np.column_stack([a, rr]).reshape(*shape, q + 1)
    out = np.full((flat.shape[0], q + 1), np.nan)
    if ok.any():
        rows = flat[ok]
        c = rows[:, -2:-1] + rows[:, :-2] @ S.T
        a, rr = _ab.from_projections(G, c, rows[:, -1], method, n_used)
        out[ok, :q] = a
        out[ok, q] = rr
    return out.reshape(*shape, q + 1)


def _split(out, q, lazy_output, progress):
    """(*nav, q + 1) -> abundances (q, *nav) and residual (nav), maybe computed."""
    import dask.array as da

    A = da.moveaxis(out[..., :q], -1, 0)
    res = out[..., q]
    if not lazy_output:
        with progress():
            A, res = da.compute(A, res)
    return A, res
