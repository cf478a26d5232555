"""
Segment phases against the truth
================================

:func:`hyperspy_unmix.segment_phases` is the sliding FFT and the unmixing
with preprocessing tuned for segmentation (the central part of reciprocal
space, the DC removed, unit-sum patterns, denoised endmembers). On the
synthetic lattices the result is scored against the true phase of every
pixel.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu


def accuracy(labels, true, n):
    """Share of pixels labelled correctly after the best matching of labels."""
    counts = np.zeros((n, n))
    np.add.at(counts, (labels.ravel(), true.ravel()), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / true.size


# %%
# Three phases: plain, dimerised and rotated hexagonal lattices.
img, truth = hu.data.multiphase_lattice(
    (384, 384), n_phases=3, noise=0.3, random_state=1
)
res = hu.segment_phases(img, 3, window_size=64, step=8)
print(res)

# %%
# The phases over the image, and the phases' FFT patterns.
fig = hu.plot_phases(res, img)

# %%
# ``phase_maps`` interpolates the abundances from the window centres onto
# the image's pixels; ``phase_labels`` takes the most abundant phase.
maps = hu.phase_maps(res, img)
labels = hu.phase_labels(res, img)
print(maps)
score = accuracy(labels.data, truth.labels, 3)
print(f"pixels labelled correctly: {100 * score:.1f} %")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), layout="constrained")
axes[0].imshow(truth.labels, cmap="tab10", vmin=0, vmax=9)
axes[0].set_title("truth", fontsize=9)
axes[1].imshow(labels.data, cmap="tab10", vmin=0, vmax=9)
axes[1].set_title("segment_phases", fontsize=9)
for ax in axes:
    ax.set_axis_off()
