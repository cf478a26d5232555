"""
Segment phases against the truth
================================

:func:`hyperspy_unmix.segment_phases` is the sliding FFT and the unmixing
with preprocessing tuned for segmentation (the central part of reciprocal
space, the DC removed, unit-sum patterns, denoised endmembers). On the
synthetic lattices the result is scored against the true phase of every
pixel, and of every window lying inside one phase.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

WINDOW, STEP = 64, 8


def matched(labels, true, n):
    """Share labelled correctly after the best matching of labels to the true
    phases (entries where ``true`` is -1 left out), and the labels renamed
    to their matched true phases."""
    keep = true >= 0
    counts = np.zeros((n, n))
    np.add.at(counts, (labels[keep], true[keep]), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.empty(n, dtype=int)
    mapping[rows] = cols
    return counts[rows, cols].sum() / keep.sum(), mapping[labels]


def pure_windows(labels):
    """True phase of each window lying entirely inside one phase, -1 elsewhere."""
    v = sliding_window_view(labels, (WINDOW, WINDOW))[::STEP, ::STEP]
    lo, hi = v.min(axis=(-2, -1)), v.max(axis=(-2, -1))
    return np.where(lo == hi, lo, -1)


def score(res, img, truth):
    """Print the window and pixel accuracies; draw truth, segmentation and
    where they disagree."""
    n = res.abundances.data.shape[0]
    true_w = pure_windows(truth.labels)
    acc_w, _ = matched(np.argmax(res.abundances.data, axis=0), true_w, n)
    labels = hu.phase_labels(res, img)
    acc_px, renamed = matched(np.asarray(labels.data), truth.labels, n)
    print(
        f"windows inside one phase labelled correctly: {100 * acc_w:.1f} % "
        f"of {int((true_w >= 0).sum())}"
    )
    print(f"pixels labelled correctly: {100 * acc_px:.1f} %")
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8), layout="constrained")
    axes[0].imshow(truth.labels, cmap="tab10", vmin=0, vmax=9)
    axes[0].set_title("truth", fontsize=9)
    axes[1].imshow(renamed, cmap="tab10", vmin=0, vmax=9)
    axes[1].set_title(f"segment_phases ({100 * acc_px:.1f} % of pixels)", fontsize=9)
    axes[2].imshow(renamed != truth.labels, cmap="gray_r")
    axes[2].set_title("disagreement (black)", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    return labels


# %%
# Two phases: the plain and the dimerised hexagonal lattice, whose extra
# half-order spots show in its phase pattern. 64-pixel windows every 8
# pixels.
img, truth = hu.data.multiphase_lattice(
    (384, 384), n_phases=2, noise=0.3, random_state=0
)
res = hu.segment_phases(img, 2, window_size=WINDOW, step=STEP)
fig = hu.plot_phases(res, img)

# %%
# Against the truth: the disagreement is a band along the boundary, about as
# wide as a window can resolve.
labels = score(res, img, truth)

# %%
# Three phases: plain, dimerised and rotated hexagonal lattices.
img, truth = hu.data.multiphase_lattice(
    (384, 384), n_phases=3, noise=0.3, random_state=1
)
res = hu.segment_phases(img, 3, window_size=WINDOW, step=STEP)
print(res)

# %%
# The phases over the image, and the phases' FFT patterns.
fig = hu.plot_phases(res, img)

# %%
# ``phase_maps`` interpolates the abundances from the window centres onto
# the image's pixels; ``phase_labels`` takes the most abundant phase.
maps = hu.phase_maps(res, img)
print(maps)
labels = score(res, img, truth)
print(labels)
