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
    if is_lazy(data):
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
        flat = np.asarray(data).reshape(n_pix, n_ch)
        xc, xx, totals = (np.empty(n_pix) for _ in range(3))
        for a in range(0, n_pix, 8192):  # blocks of rows, not pixels
            raw = flat[a : a + 8192]
            raw = raw if cols is None else raw[:, cols]
            y = raw if kk is None else kk(flat[a : a + 8192])
            y = y if cols is None or kk is None else y[:, cols]
            xx[a : a + 8192] = np.einsum("ij,ij->i", y, y, dtype=np.float64)
            xc[a : a + 8192] = np.asarray(y @ c.astype(y.dtype), dtype=np.float64)
            totals[a : a + 8192] = raw.sum(axis=1, dtype=np.float64)
    s = reduction.scores
    sq = xx - 2 * xc + c @ c - np.einsum("ij,ij->i", s, s)
    if nav_keep is not None:
        sq[~nav_keep] = np.nan
        totals[~nav_keep] = np.nan
    return np.maximum(sq, 0.0), totals


def screen(reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress):
    """The :class:`~hyperspy_unmix._core.outliers.OutlierScreen` of a map."""
    sq, totals = pixel_summaries(
        reduction, data, nav_shape, n_ch, nav_keep, sig_keep, progress
    )
    scores = reduction.scores
    keep = np.isfinite(scores).all(axis=1) & np.isfinite(sq)
    if nav_keep is not None:
        keep &= nav_keep
    # masked rows may hold NaN: give the screen finite placeholders there
    scores = np.where(keep[:, None], scores, 0.0)
    return screen_outliers(
        scores,
        np.where(keep, sq, 0.0),
        np.where(keep, totals, 0.0),
        tuple(nav_shape),
        keep=keep,
    )


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
