"""Endmember spectra and abundances of :func:`hyperspy_unmix.nfindr_unmix`.

In memory the batched exact solvers of :mod:`hyperspy_unmix._core.abundances`
run on the whole map; lazily one task per navigation block
(:mod:`hyperspy_unmix._core.blockwise`). With projected ("denoised")
endmembers the lazy abundances follow exactly from the projections kept by
the reduction, without another pass over the data.
"""

import numpy as np

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core import blockwise
from hyperspy_unmix._core.parallel import map_ranges, row_ranges, single_blas_thread
from hyperspy_unmix._validation import check_finite

#: Pixels per solver call in memory (the progress bar advances per block).
_ROWS_PER_STEP = 1 << 16


def check_unmasked_finite(flat, nav_keep, sig_keep):
    """NaN / inf are refused where they are used (masked parts may hold any)."""
    if not np.issubdtype(flat.dtype, np.inexact):
        return  # integers and booleans are finite
    step = max(1, (1 << 22) // max(flat.shape[1], 1))
    if sig_keep is None:
        # Row sums by BLAS (3x faster than isfinite().all() here): NaN and
        # inf propagate into them, so finite sums prove finite rows; a
        # non-finite sum (maybe an overflow of finite values) is checked
        # exactly below. In threads with one BLAS thread each, as the
        # reduction's passes that follow (BLAS threads left spinning by a
        # multi-threaded call would slow their first pass).
        # (float16 sums in float32: they would overflow at 65504)
        ones = np.ones(flat.shape[1], np.result_type(flat.dtype, np.float32))

        def finite_rows(lo, hi):
            with np.errstate(over="ignore", invalid="ignore"):
                for a in range(lo, hi, step):
                    sums = flat[a : min(a + step, hi)] @ ones
                    if nav_keep is not None:
                        sums = sums[nav_keep[a : min(a + step, hi)]]
                    if not np.isfinite(sums).all():
                        return False
            return True

        with single_blas_thread() as workers:
            clean = all(map_ranges(finite_rows, row_ranges(len(flat), step, workers)))
        if clean:
            return
    if nav_keep is None and sig_keep is None:
        check_finite(flat, "signal")  # counts and reports
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


def endmember_spectra(data, nav_shape, n_ch, indices, r, nav_keep):
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


def abundances(
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
    bar=None,
):
    """Abundances (q, *nav_shape) and residual (nav_shape), numpy or dask.

    ``progress()`` gives the context manager around lazy computations;
    ``bar.update(n)`` counts the pixels done in memory.
    """
    Eu = E if sig_keep is None else E[:, sig_keep]
    q = E.shape[0]
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    if not lazy_in and not lazy_output:
        n_pix = int(np.prod(nav_shape))
        flat = data.reshape(n_pix, n_ch)
        A = np.full((n_pix, q), np.nan)
        res = np.full(n_pix, np.nan)
        for start in range(0, n_pix, _ROWS_PER_STEP):  # blocks, not pixels
            sl = slice(start, min(start + _ROWS_PER_STEP, n_pix))
            if nav_keep is None:
                A[sl], res[sl] = _ab.unmix(flat[sl], Eu, method, columns=cols)
            elif nav_keep[sl].any():
                keep = nav_keep[sl]
                a, r = _ab.unmix(flat[sl], Eu, method, columns=cols, rows=keep)
                A[sl][keep], res[sl][keep] = a, r
            if bar is not None:
                bar.update(sl.stop - sl.start)
        A = np.moveaxis(A.reshape(*nav_shape, q), -1, 0)
        return A, res.reshape(nav_shape)

    flat = blockwise.as_flat(data, nav_shape, n_ch)
    keep = blockwise.keep_blocks(nav_keep, nav_shape, flat)
    out = blockwise.nav_blockwise(
        blockwise.block_unmix, flat, keep, q + 1, E=Eu, method=method, columns=cols
    )
    # q + 1 numbers per pixel: fewer, larger output blocks to store
    return _split(blockwise.merge_rows(out), q, lazy_output, progress)


def abundances_from_projections(proj, E, pca, method, sig_keep, lazy_output, progress):
    """Abundances of endmembers in the principal subspace, from the projections.

    With ``E_k = centre + S_k V`` (denoised endmembers), ``x . E_k`` is
    ``x . centre + (x V^T) . S_k``: exactly the least-squares data the solver
    needs, without another pass over the pixels.
    """
    import dask.array as da

    Eu = E if sig_keep is None else E[:, sig_keep]
    V, centre = pca.components_, pca.centre_
    S = (Eu - centre) @ V.T
    q, k = E.shape[0], V.shape[0]
    # [x V^T, x . c, x . 1, x . x] rows: the x . 1 column is not needed
    proj = proj[..., np.r_[0 : k + 1, k + 2]]
    out = da.map_blocks(
        blockwise.block_unmix_projected,
        blockwise.merge_rows(proj),
        S=S,
        G=Eu @ Eu.T,
        method=method,
        n_used=Eu.shape[1],
        dtype=np.float64,
        meta=np.empty((0,) * proj.ndim),
    )
    return _split(out, q, lazy_output, progress)


def abundances_from_pixel_projections(P, E, pca, method, sig_keep, nav_shape):
    """In memory, the same from ``[x V^T, x . c, x . 1, x . x]`` rows.

    Returns abundances (q, *nav_shape) and residual (nav_shape), NaN where
    a row has no projections (masked pixels).
    """
    Eu = E if sig_keep is None else E[:, sig_keep]
    V, centre = pca.components_, pca.centre_
    k = V.shape[0]
    q = E.shape[0]
    rows = P[:, np.r_[0 : k + 1, k + 2]]  # the x . 1 column is not needed
    kw = dict(S=(Eu - centre) @ V.T, G=Eu @ Eu.T, method=method, n_used=Eu.shape[1])
    # halves of the pixels in two threads (the solver's array work releases
    # the GIL); each pixel's problem is its own, so the split changes nothing
    with single_blas_thread() as workers:
        parts = map_ranges(
            lambda a, b: blockwise.block_unmix_projected(rows[a:b], **kw),
            row_ranges(len(rows), 4096, workers),
        )
    out = np.concatenate(parts) if len(parts) > 1 else parts[0]
    A = np.moveaxis(out[:, :q].reshape(*nav_shape, q), -1, 0)
    return A, out[:, q].reshape(nav_shape)


def _split(out, q, lazy_output, progress):
    """(*nav, q + 1) -> abundances (q, *nav) and residual (nav), maybe computed."""
    import dask.array as da

    A = da.moveaxis(out[..., :q], -1, 0)
    res = out[..., q]
    if not lazy_output:
        with progress():
            A, res = da.compute(A, res)
    return A, res
