"""
Unmix a spectrum image
======================

A synthetic EELS-like spectrum image is unmixed as one would unmix a new map:
without knowing how many materials it holds. The number of endmembers is
estimated from the data, N-FINDR finds their spectra and every pixel gets
non-negative abundances that sum to one. The result is then compared with the
ground truth that :func:`hyperspy_unmix.data.spectrum_image` returns.
"""

# %%
# The data: a 64 x 64 map of 256-channel spectra with Poisson noise. The
# generator knows the truth (four endmembers); the analysis below does not
# use it until the comparison at the end.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), n_channels=256, n_endmembers=4, random_state=0
)
s.metadata.General.title = "Synthetic EELS map"  # a short title for the plots
print(s)

# %%
# How many endmembers? :func:`hyperspy_unmix.estimate_n_endmembers` returns
# an ``int`` that carries its evidence: the criterion for every candidate
# ``q`` (HySime's estimate of the mean-square error of a ``q``-endmember
# model; the estimate is its minimum) and a plot of it.
q = hu.estimate_n_endmembers(s)
print(repr(q))
ax = q.plot()
ax.set_title("estimate_n_endmembers(s)", fontsize=10)
ax.figure.tight_layout()

# %%
# Unmix. ``"auto"`` takes the same estimate from the reduction's own pass
# over the data (no extra pass) and keeps it in ``res.n_endmembers_estimate``.
# ``s`` is a ``SpectralMap`` (the generator sets the signal type), so the
# method is available on the signal; for any other signal use
# ``hu.nfindr_unmix(s, "auto")``. The defaults also screen outliers (none
# here: ``res.outliers`` is all False) and return denoised endmember spectra.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    res = s.nfindr_unmix("auto")
print(res)
print("estimate used:", repr(res.n_endmembers_estimate))
print("pixels set aside as outliers:", int(res.outliers.data.sum()))
print("warnings:", [str(w.message) for w in caught])

# %%
# The endmember spectra (found at the circled pixels) beside the abundance
# maps. Without ``static=True``, ``res.plot()`` opens HyperSpy's explorer
# instead: a map to click and the chosen pixel's data with its fit.
fig = res.plot(static=True)


# %%
# Against the truth: match the found endmembers to the true ones by spectral
# angle, then compare the abundance maps.
def angles(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arccos(np.clip(a @ b.T, -1, 1))


print(f"true number of endmembers: {len(truth.names)} ({', '.join(truth.names)})")
ang = angles(res.endmembers.data, truth.endmembers)
found, true = linear_sum_assignment(ang)
A = res.abundances.data[found]
print(
    f"mean spectral angle to the truth: {np.degrees(ang[found, true].mean()):.2f} deg"
)
print(f"abundance RMSE: {np.sqrt(np.mean((A - truth.abundances[true]) ** 2)):.3f}")
print(f"abundances sum to one within {np.abs(A.sum(axis=0) - 1).max():.1e}")

fig, axes = plt.subplots(2, 4, figsize=(10, 5), layout="constrained")
for i, k in enumerate(true):
    axes[0, i].imshow(truth.abundances[k], vmin=0, vmax=1)
    axes[0, i].set_title(f"true {truth.names[k]}", fontsize=9)
    im = axes[1, i].imshow(A[i], vmin=0, vmax=1)
    axes[1, i].set_title("N-FINDR", fontsize=9)
for ax in axes.ravel():
    ax.set_axis_off()
fig.colorbar(im, ax=axes, shrink=0.6, label="abundance")

# %%
# The result saves as one HyperSpy file (``hs.load`` alone reads its abundance
# maps) and loads back whole with
# ``hu.UnmixingResult.load``:
#
# .. code-block:: python
#
#     res.save("unmixed")
#     res = hu.UnmixingResult.load("unmixed")

# sphinx_gallery_thumbnail_number = 2
