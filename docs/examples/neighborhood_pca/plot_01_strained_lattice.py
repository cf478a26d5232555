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
# ``score_map`` interpolates the scores onto the image's pixel grid.
smap = res.score_map(0)
smap.plot(cmap="coolwarm")

# sphinx_gallery_thumbnail_number = 1
