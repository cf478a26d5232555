"""N-FINDR spectral unmixing of HyperSpy signals: ``nfindr_unmix``.

The pipeline, for a signal of ``n`` pixels and ``C`` channels and ``q``
endmembers:

1. reduction to ``q - 1`` centred principal components with HyperSpy's own
   ``decomposition`` (an exact covariance-eigh estimator, streamed chunk by
   chunk on lazy signals), run on a throw-away signal sharing the data so the
   user's ``learning_results`` stay as they were;
2. the N-FINDR volume search on the small ``(n, q - 1)`` score matrix
   (:mod:`hyperspy_unmix._core.simplex`);
3. endmember spectra read from the data at the chosen pixels (optionally
   projected onto the principal subspace and/or averaged over a
   neighbourhood, for noisy data);
4. abundances and the residual map, batched and exact
   (:mod:`hyperspy_unmix._core.abundances`), lazily per navigation chunk on
   lazy data.
"""

import numpy as np

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core.simplex import nfindr as _nfindr
from hyperspy_unmix._nfindr_estimator import NFINDR
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
    show_progressbar : None or bool
        Progress bar of HyperSpy's lazy decomposition (None = preferences).
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
    if lazy_output is not None and not isinstance(lazy_output, bool):
        raise TypeError(f"`lazy_output` must be None or a bool, got {lazy_output!r}")
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

    # -- 1. reduction with HyperSpy's decomposition on a throw-away signal ---
    scores, pca = _reduce(signal, q, nav_keep, sig_keep, show_progressbar)
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
    A, res = _abundances(
        data, nav_shape, n_ch, E, abundances, nav_keep, sig_keep, lazy_in, lazy_output
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


def _reduce(signal, q, nav_keep, sig_keep, show_progressbar):
    """Centred PCA scores (n_pixels, q - 1) via HyperSpy's decomposition."""
    import hyperspy.api as hs

    from hyperspy_unmix._reduction import CovariancePCA

    data, _, _ = aligned_data(signal)
    if not np.issubdtype(data.dtype, np.floating):
        # HyperSpy's decomposition refuses integers; float32 holds 8- and
        # 16-bit counts exactly. (A lazy astype converts chunk by chunk; an
        # in-memory one copies, the only copy of the data the pipeline makes.)
        exact32 = data.dtype.itemsize <= 2
        data = data.astype(np.float32 if exact32 else np.float64)
    axes = [ax.get_axis_dictionary() for ax in array_order_axes(signal)]
    cls = hs.signals.LazySignal if signal._lazy else hs.signals.BaseSignal
    # Shares the data array; decomposition results land on this throw-away
    # signal, never on the user's learning_results. The estimator has no
    # `mean_`, so HyperSpy does not add anything back into the shared array.
    shallow = cls(data, axes=axes)
    nav_mask, sig_mask = mask_signals(signal, nav_keep, sig_keep)
    est = CovariancePCA(q - 1)
    kwargs = {}
    if signal._lazy:
        kwargs["show_progressbar"] = show_progressbar
    try:
        shallow.decomposition(
            algorithm=est,
            navigation_mask=nav_mask,
            signal_mask=sig_mask,
            print_info=False,
            **kwargs,
        )
    except ValueError as err:
        if "NaN" in str(err):  # lazy data: found while streaming the chunks
            raise ValueError(
                "`signal` contains NaN or infinite values"
                + (" in its unmasked part" if nav_keep is not None else "")
                + "; remove or mask them first"
            ) from None
        raise
    if not signal._lazy or nav_keep is None:
        loadings = shallow.learning_results.loadings
        if hasattr(loadings, "compute"):
            loadings = loadings.compute()
        return np.asarray(loadings, dtype=np.float64), est
    # HyperSpy 2.5's lazy decomposition returns the loadings of a
    # navigation-masked, multi-chunk signal in chunk order (rows permuted, its
    # own "PCA" too), so then the scores are projected here, chunk by chunk.
    import dask.array as da

    nav_shape = data.shape[: signal.axes_manager.navigation_dimension]
    d = data.reshape(*nav_shape, -1)
    if sig_keep is not None:
        d = d[..., np.flatnonzero(sig_keep)]
    V = est.components_
    scores = da.tensordot(d.astype(np.float64) - est.centre_, V.T, axes=1)
    return np.asarray(scores.compute(), dtype=np.float64).reshape(-1, V.shape[0]), est


def _endmember_spectra(data, nav_shape, n_ch, indices, r, nav_keep):
    """Spectra at ``indices`` (q, C), float64, averaged over ``r`` if asked."""
    q = indices.shape[0]
    keep = None if nav_keep is None else nav_keep.reshape(nav_shape)
    E = np.empty((q, n_ch))
    for k in range(q):  # q pixels (windows), never a loop over all pixels
        sl = tuple(
            slice(max(i - r, 0), min(i + r + 1, size))
            for i, size in zip(indices[k], nav_shape)
        )
        block = data[sl]
        if hasattr(block, "compute"):
            block = block.compute()
        block = np.asarray(block, dtype=np.float64).reshape(-1, n_ch)
        if keep is not None:
            block = block[keep[sl].ravel()]
        E[k] = block.mean(axis=0)
    return E


def _abundances(
    data, nav_shape, n_ch, E, method, nav_keep, sig_keep, lazy_in, lazy_output
):
    """Abundances (q, *nav_shape) and residual (nav_shape), numpy or dask."""
    Eu = E if sig_keep is None else E[:, sig_keep]
    q = E.shape[0]
    if not lazy_in and not lazy_output:
        n_pix = int(np.prod(nav_shape))
        flat = data.reshape(n_pix, n_ch)
        cols = None if sig_keep is None else np.flatnonzero(sig_keep)
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

    import dask.array as da

    darr = data if lazy_in else da.from_array(data, chunks="auto")
    nd = len(nav_shape)
    # Whole spectra per block: the signal axes in one chunk each.
    darr = darr.rechunk({i: -1 for i in range(nd, darr.ndim)})
    if nav_keep is None:
        keep = da.ones(nav_shape, dtype=bool, chunks=darr.chunks[:nd])
    else:
        keep = da.from_array(nav_keep.reshape(nav_shape), chunks=darr.chunks[:nd])
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)

    def block(x, m):
        shape = x.shape[:nd]
        flat = x.reshape(-1, n_ch)
        mflat = m.ravel()
        out = np.full((flat.shape[0], q + 1), np.nan)
        if mflat.any():
            a, rr = _ab.unmix(flat, Eu, method, columns=cols, rows=mflat)
            out[mflat, :q] = a
            out[mflat, q] = rr
        return out.reshape(*shape, q + 1)

    nav_ind = tuple(range(nd))
    sig_ind = tuple(range(nd, darr.ndim))
    out = da.blockwise(
        block,
        (*nav_ind, darr.ndim),
        darr,
        (*nav_ind, *sig_ind),
        keep,
        nav_ind,
        new_axes={darr.ndim: q + 1},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0,) * (nd + 1)),
    )
    A = da.moveaxis(out[..., :q], -1, 0)
    res = out[..., q]
    if not lazy_output:
        A, res = da.compute(A, res)
    return A, res
