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
# The first two components as arrows.
fig, axes = plt.subplots(1, 2, figsize=(9, 4.3))
for k, ax in enumerate(axes):
    res.plot_component(k, ax=ax)
