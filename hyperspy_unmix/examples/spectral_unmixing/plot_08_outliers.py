"""
Outliers: hot pixels, dead rows and spikes
==========================================

N-FINDR takes the most extreme pixels as endmembers, so a few pixels that
are not part of the mixture (a hot or saturated pixel, a dead scan row, a
cosmic-ray spike) become "endmembers" and pull the principal subspace with
them. By default (``outliers="auto"``) ``nfindr_unmix`` finds such pixels
first (robust z-scores of each pixel against its eight neighbours: total
counts, distance to the principal subspace, scores), sets them aside from
the subspace and the search, and reports them in ``res.outliers`` and a
warning. Their abundances and residual are still computed.
"""

# %%
# An EDS-like map with four phases, and the same map with 3 hot pixels (8x
# the counts), one dead scan row and 12 single-channel spikes written over
# it; ``truth.outlier_mask`` marks them.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

kw = dict(n_channels=256, n_endmembers=4, kind="eds", random_state=0)
clean, _ = hu.data.spectrum_image((64, 64), **kw)
s, truth = hu.data.spectrum_image(
    (64, 64), outliers=dict(hot_pixels=3, dead_rows=1, spikes=12), **kw
)
print(f"{truth.outlier_mask.sum()} planted outlier pixels")


def compare(res):
    """Mean spectral angle (degrees) to the true endmembers and abundance
    RMSE on the pixels that are part of the mixture."""
    a = res.endmembers.data / np.linalg.norm(res.endmembers.data, axis=1)[:, None]
    b = truth.endmembers / np.linalg.norm(truth.endmembers, axis=1)[:, None]
    ang = np.degrees(np.arccos(np.clip(a @ b.T, -1, 1)))
    i, j = linear_sum_assignment(ang)
    good = ~truth.outlier_mask
    err = res.abundances.data[i][:, good] - truth.abundances[j][:, good]
    return ang[i, j].mean(), np.sqrt(np.mean(err**2)), i, j


# %%
# The default screens the outliers and says so.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    res = s.nfindr_unmix(4)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")

flagged = res.outliers.data  # a boolean navigation signal
print(f"recall {flagged[truth.outlier_mask].mean():.2f}, ", end="")
print(f"false positives {(flagged & ~truth.outlier_mask).sum()}")

# %%
# Against the clean map and against the classic N-FINDR (``outliers=None``),
# which picks outliers as endmembers.
res_clean = clean.nfindr_unmix(4)
res_none = s.nfindr_unmix(4, outliers=None)
for name, r in (
    ("clean map", res_clean),
    ("default", res),
    ("outliers=None", res_none),
):
    ang, rmse, _, _ = compare(r)
    print(f"{name:>14s}: spectral angle {ang:5.2f} deg, abundance RMSE {rmse:.4f}")

# %%
# Every pixel ``outliers=None`` chose is an outlier:
planted = truth.outliers  # locations by kind: (row, col[, channel]) or rows
for row, col in res_none.indices.tolist():
    kinds = [
        kind
        for kind in ("hot", "dead", "spikes")
        if len(planted[kind]) and ((planted[kind][:, :2] == (row, col)).all(1)).any()
    ]
    kinds += ["dead row"] if row in planted["dead_rows"] else []
    print(f"pixel ({row}, {col}): {', '.join(kinds) or 'part of the mixture'}")

# %%
# ``res.outliers`` beside the planted mask, the residual map (the outliers
# stand out: they are no mixture of the endmembers) and the endmember spectra
# with and without the screening.
fig = plt.figure(figsize=(10, 6), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1, 0.9])
axes = top.subplots(1, 3)
axes[0].imshow(truth.outlier_mask, cmap="gray_r", interpolation="nearest")
axes[0].set_title("planted outliers", fontsize=9)
axes[1].imshow(flagged, cmap="gray_r", interpolation="nearest")
axes[1].set_title("res.outliers", fontsize=9)
im = axes[2].imshow(res.residual.data, norm="log")
axes[2].set_title("res.residual (RMS counts, log scale)", fontsize=9)
top.colorbar(im, ax=axes[2], shrink=0.9)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
energy = s.axes_manager.signal_axes[0].axis
_, _, i, j = compare(res)
_, _, i0, j0 = compare(res_none)
axes = bottom.subplots(1, 4, sharex=True)
for n, k in enumerate(j):
    ax = axes[n]
    m = list(j0).index(k)
    ax.plot(energy, truth.endmembers[k], "k", lw=3, alpha=0.3, label="truth")
    ax.plot(energy, res.endmembers.data[i[n]], "C0", lw=1, label="default")
    ax.plot(
        energy, res_none.endmembers.data[i0[m]], "C3", lw=0.8, label="outliers=None"
    )
    top_count = truth.endmembers[k].max()
    ax.set_ylim(-0.3 * top_count, 1.3 * top_count)
    ax.set_title(truth.names[k], fontsize=9)
    ax.set_xlabel("Energy (keV)")
axes[0].set_ylabel("counts")
axes[0].legend(fontsize=7)

# %%
# The outliers still get abundances and a residual; to leave them out of
# the abundance maps too, pass them back as a mask (True = excluded):
res_masked = s.nfindr_unmix(4, navigation_mask=res.outliers)
print(
    "NaN at the outliers:", bool(np.isnan(res_masked.abundances.data[:, flagged]).all())
)
