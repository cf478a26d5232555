"""
Unmix a spectrum image
======================

A synthetic EELS-like spectrum image with four known endmembers is unmixed
with N-FINDR: the purest pixels become the endmember spectra and every pixel
gets non-negative abundances that sum to one. The result is compared with the
ground truth that :func:`hyperspy_unmix.data.spectrum_image` returns.
"""

# %%
# The data: a 64 x 64 map of 256-channel spectra, Poisson noise, with known
# endmembers and abundances.
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), n_channels=256, n_endmembers=4, random_state=0
)
s.metadata.General.title = "Synthetic EELS map"  # a short title for the plots
print(s)
print("endmembers:", ", ".join(truth.names))

# %%
# How many endmembers? HyperSpy's scree plot shows four components above the
# noise.
s.decomposition(output_dimension=12, print_info=False)
ax = s.plot_scree_plot(n=12)

# %%
# Unmix with four endmembers. ``s`` is a ``SpectralMap`` (the generator sets
# the signal type), so the method is available on the signal; for any other
# signal use ``hu.nfindr_unmix(s, 4)``.
res = s.nfindr_unmix(4)
print(res)

# %%
# The endmember spectra (read at the chosen pixels, circled) beside the
# abundance maps.
fig = res.plot()


# %%
# Against the truth: match the found endmembers to the true ones by spectral
# angle, then compare the abundance maps.
def angles(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arccos(np.clip(a @ b.T, -1, 1))


ang = angles(res.endmembers.data, truth.endmembers)
found, true = linear_sum_assignment(ang)
A = res.abundances.data[found]
print(f"mean spectral angle to the truth: {ang[found, true].mean():.3f} rad")
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
# The result saves as HyperSpy files and loads back with
# ``hu.UnmixingResult.load``:
#
# .. code-block:: python
#
#     res.save("unmixed")
#     res = hu.UnmixingResult.load("unmixed")

# sphinx_gallery_thumbnail_number = 2
