"""Outlier screening inside the N-FINDR pipeline (``outliers="auto"``).

After the first reduction, one more pass gives every pixel's squared
distance to the principal subspace and its total counts; with the scores
they feed :func:`hyperspy_unmix._core.outliers.screen_outliers` (local robust
contrasts: a pixel unlike all of its neighbours). Flagged pixels are then
left out of the subspace (the reduction is fitted again without them) and
of the volume search; the abundances and the residual are still computed
for every pixel.
"""

import warnings

import numpy as np

from hyperspy_unmix._core import blockwise
from hyperspy_unmix._core.linalg import row_dots
from hyperspy_unmix._core.outliers import screen_outliers
from hyperspy_unmix._signal_io import is_lazy

OUTLIER_MODES = ("auto",)


def pixel_summaries(reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress):
    """``(sq_residual, totals)`` of every pixel (NaN where masked), one pass.

    The residual is measured in the space the subspace was found in (the
    Poisson-weighted one with ``normalize_poissonian_noise``); the totals
    are the data's own (what dead and hot pixels differ in).
    """
    pca = reduction.pca
    c = pca.centre_
    cols = None if sig_keep is None else np.flatnonzero(sig_keep)
    kk = reduction.weighting
    n_pix = int(np.prod(nav_shape))
    if reduction.pixel_projections is not None and kk is None:
        # from the pass that gave the scores (in memory, or lazily the
        # scores' pass gathered): no pass of its own
        sq, totals = _projected_summaries(
            reduction.pixel_projections, reduction.scores, c
        )
    elif is_lazy(data):
        flat = blockwise.as_flat(data, nav_shape, n_ch)
        keep = blockwise.keep_blocks(nav_keep, nav_shape, flat)
        W = np.vstack([c, np.ones_like(c)])
        src = flat if kk is None else flat.map_blocks(kk, dtype=np.float32)
        proj = blockwise.nav_blockwise(
            blockwise.block_project, src, keep, 3, W=W, columns=cols, norms=True
        )
        with progress():
            p = blockwise.gather(proj).reshape(n_pix, 3)
        xc, xx = p[:, 0], p[:, 2]
        totals = p[:, 1]
        s = reduction.scores
        sq = xx - 2 * xc + c @ c - np.einsum("ij,ij->i", s, s)
        if kk is not None:  # the weighted rows' sum is not the counts' total
            raw = blockwise.nav_blockwise(
                blockwise.block_project,
                flat,
                keep,
                1,
                W=np.ones((1, c.size)),
                columns=cols,
                norms=False,
            )
            with progress():
                totals = blockwise.gather(raw).reshape(n_pix)
    else:
        sq, totals = _memory_summaries(
            np.asarray(data).reshape(n_pix, n_ch), c, cols, kk, reduction.scores
        )
    if nav_keep is not None:
        sq[~nav_keep] = np.nan
        totals[~nav_keep] = np.nan
    return np.maximum(sq, 0.0, out=sq), totals


def _projected_summaries(P, scores, c, block=1 << 16):
    """``|x - c|^2 - |scores|^2`` and the totals from ``[x V^T, x . c, x . 1,
    x . x]`` rows, in blocks (whole-map temporaries are fresh memory, slow to
    touch: 38 MB each on a 4.7 M pixel map)."""
    k = scores.shape[1]
    cc = c @ c
    sq = np.empty(len(P))
    for a in range(0, len(P), block):  # blocks of rows, not pixels
        p = P[a : a + block]
        sq[a : a + block] = (
            p[:, k + 2] - 2 * p[:, k] + cc - row_dots(scores[a : a + block])
        )
    return sq, P[:, k + 1].copy()


def _memory_summaries(flat, c, cols, kk, scores):
    """``|x - c|^2 - |scores|^2`` and the totals of in-memory rows, by blocks.

    The centred block is formed in the work dtype (float32 for float32 and
    8-/16-bit data, converted per block) and its squared norms summed there:
    the residual then keeps the digits a ``x.x - 2 x.c + c.c`` expansion
    loses, and blocks whose float32 squares overflow (data near 1e17 and
    above) are summed again in float64.
    """
    from hyperspy_unmix._core.randomized import block_rows, work_dtype

    n_pix = flat.shape[0]
    sq, totals = np.empty(n_pix), np.empty(n_pix)
    wd = work_dtype(flat.dtype if kk is None else np.float32)
    cw = c.astype(wd)
    R = block_rows(flat.shape[1], np.dtype(wd).itemsize)
    with np.errstate(over="ignore", invalid="ignore"):
        for a in range(0, n_pix, R):  # blocks of rows, not pixels
            raw = flat[a : a + R]
            y = raw if kk is None else kk(raw)
            if cols is not None:
                raw, y = raw[:, cols], y[:, cols]
            b = np.subtract(y, cw, dtype=wd)
            part = np.einsum("ij,ij->i", b, b)
            if not np.isfinite(part).all():
                b = np.subtract(y, c, dtype=np.float64)
                part = np.einsum("ij,ij->i", b, b)
            sq[a : a + R] = part
            totals[a : a + R] = raw.sum(axis=1, dtype=np.float64)
    sq -= np.einsum("ij,ij->i", scores, scores)
    return sq, totals


def screen(reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress):
    """The :class:`~hyperspy_unmix._core.outliers.OutlierScreen` of a map."""
    sq, totals = pixel_summaries(
        reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress
    )
    scores = reduction.scores
    keep = np.isfinite(scores).all(axis=1) & np.isfinite(sq)
    if nav_keep is not None:
        keep &= nav_keep
    # the screen ignores the values of pixels it does not keep (NaN there)
    return screen_outliers(scores, sq, totals, tuple(nav_shape), keep=keep)


def warn_outliers(result_screen):
    n = result_screen.n_outliers
    reasons = ", ".join(f"{k}: {v}" for k, v in result_screen.reasons().items() if v)
    warnings.warn(
        f"{n} pixel(s) are not part of the mixture ({reasons}) and were set "
        "aside from the principal subspace and the endmember search (their "
        "abundances and residual are still computed): see `result.outliers` "
        "(a navigation mask) and `result.residual`; `outliers=None` switches "
        "the screening off",
        UserWarning,
        stacklevel=5,  # warn_outliers <- reduce <- fit_endmembers <- nfindr_unmix
    )
