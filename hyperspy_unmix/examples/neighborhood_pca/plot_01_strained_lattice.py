"""
Local strain from neighbourhood PCA
===================================

:func:`hyperspy_unmix.neighborhood_pca` finds every atom with Atomap,
describes each atom by the distances and angles to its nearest neighbours and
runs HyperSpy's decomposition (PCA) over the atoms. On
:func:`hyperspy_unmix.data.distorted_lattice`, a lattice with a band of
uniaxial strain, the first component follows the true strain.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.spatial import cKDTree

import hyperspy_unmix as hu

img, truth = hu.data.distorted_lattice((256, 256), random_state=0)
print(img)

# %%
# Six neighbours, distances and angles (``metric="both"``), three components.
res = img.neighborhood_pca(n_neighbors=6, metric="both", n_components=3)
print(res)

# %%
# The atoms coloured by the score of the first component (HyperSpy markers on
# the calibrated image), with the component drawn as arrows: how the
# neighbours move relative to the central atom.
fig_image, fig_arrows = res.plot(component=0)

# %%
# The scree plot: one dominant mode, the strain.
ax = res.plot_scree()

# %%
# Against the truth: match every found atom to the nearest true atom and
# correlate its score with the true strain there.
dist, nearest = cKDTree(truth.positions).query(res.positions)
inc = res.included
r = np.corrcoef(res.scores[inc, 0], truth.distortion[nearest][inc])[0, 1]
rms = np.sqrt(np.mean(dist**2))
print(f"atoms found within {dist.max():.2f} px of the truth (RMS {rms:.3f} px)")
print(f"Pearson r of component 0 with the true strain: {r:+.3f}")

fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
ax.scatter(truth.distortion[nearest][inc], res.scores[inc, 0], s=4)
ax.set(xlabel="true local strain", ylabel="score of component 0")

# %%
# On the image: the score of every analysed atom beside the true strain
# (centred), and the component as arrows (``plot_component`` draws into any
# matplotlib axes).
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
for ax, xy, values, title in (
    (
        axes[0],
        res.positions[inc],
        np.sign(r) * res.scores[inc, 0],
        "score of component 0",
    ),
    (
        axes[1],
        truth.positions,
        truth.distortion - truth.distortion.mean(),
        "true strain (centred)",
    ),
):
    lim = float(np.abs(values).max())
    ax.imshow(img.data, cmap="gray")
    sc = ax.scatter(*xy.T, c=values, cmap="coolwarm", vmin=-lim, vmax=lim, s=12)
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    fig.colorbar(sc, ax=ax, fraction=0.046)
res.plot_component(0, ax=axes[2])  # (lays the figure out)

# %%
# ``score_map`` interpolates the scores onto the image's pixel grid.
smap = res.score_map(0)
smap.plot(cmap="coolwarm")

# %%
# How precise are the positions? Atomap's pixel maxima (``refine=None``), the
# default centre of mass (``"com"``) and 2-D Gaussian fits (``"gaussian"``,
# much slower: here on a 128 x 128 image), against the true positions.
small, small_truth = hu.data.distorted_lattice((128, 128), random_state=1)
for refine in (None, "com", "gaussian"):
    t0 = time.perf_counter()
    found = hu.neighborhood_pca(
        small, 6, refine=refine, show_progressbar=False
    ).positions
    dt = time.perf_counter() - t0
    dist, _ = cKDTree(small_truth.positions).query(found)
    print(
        f"refine={refine!r:>10}: RMS {np.sqrt(np.mean(dist**2)):.3f} px from the "
        f"truth, {dt:.2f} s for {len(found)} atoms (finding included)"
    )

# sphinx_gallery_thumbnail_number = 1
