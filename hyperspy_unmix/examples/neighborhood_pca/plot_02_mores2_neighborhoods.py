"""
Distorted regions of MoReS2 (real data)
=======================================

Neighbourhood PCA of the metal atoms of the Mo(1-x)Re(x)S2 monolayer
(:func:`hyperspy_unmix.data.mores2_image`): the lattice spacing and Atomap's
separation are estimated from the image's autocorrelation, and the first
components move the central atom against its neighbours, the off-centring of
the distorted, Re-rich regions.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

img = hu.data.mores2_image()
res = hu.neighborhood_pca(img, n_neighbors=6, n_components=3)
print(res)
print("separation estimated:", res.parameters["separation"], "px")
print("explained variance ratio:", res.explained_variance_ratio.round(3))

# %%
# The first component on the image.
fig_image, fig_arrows = res.plot(component=0)

# %%
# The scores of the first two components on the image (the analysed atoms),
# and the components as arrows.
inc = res.included
fig, axes = plt.subplots(2, 2, figsize=(9, 8.2))
for k in range(2):
    scores = res.scores[inc, k]
    lim = float(np.abs(scores).max())
    axes[0, k].imshow(img.data, cmap="gray")
    sc = axes[0, k].scatter(
        *res.positions[inc].T, c=scores, cmap="coolwarm", vmin=-lim, vmax=lim, s=9
    )
    axes[0, k].set_title(f"score of component {k}", fontsize=9)
    axes[0, k].set_axis_off()
    fig.colorbar(sc, ax=axes[0, k], fraction=0.046)
    res.plot_component(k, ax=axes[1, k])  # (lays the figure out)

# %%
# ``score_map`` interpolates the scores of the first component onto the
# image's pixel grid (a ``Signal2D`` with the image's axes).
smap = res.score_map(0)
lim = float(np.nanmax(np.abs(smap.data)))
fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
im = ax.imshow(smap.data, cmap="coolwarm", vmin=-lim, vmax=lim)
ax.set_title("score map of component 0", fontsize=9)
ax.set_axis_off()
fig.colorbar(im, ax=ax, fraction=0.046)
