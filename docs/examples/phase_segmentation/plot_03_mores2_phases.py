"""
Stripe-ordered domains in MoReS2 (real data)
============================================

The atomic-resolution image of a Mo(1-x)Re(x)S2 monolayer
(:func:`hyperspy_unmix.data.mores2_image`, pycroscopy sample data, MIT
licence) holds domains with a stripe ordering (dark vertical lines) beside
plain hexagonal regions. The atom columns are about 22 px apart, so the
window is larger than for the synthetic data (128 px, about six periods) and
``zoom=4`` keeps the central quarter of reciprocal space, where the first
orders and the superlattice streaks are.
"""

# %%
import hyperspy_unmix as hu

img = hu.data.mores2_image()
print(img)
res = hu.segment_phases(img, 2, window_size=128, zoom=4)
print(res)

# %%
# One phase carries the streaks of the stripe ordering, the other the plain
# hexagonal pattern. There is no ground truth for this image.
fig = hu.plot_phases(res, img)

# %%
maps = hu.phase_maps(res, img)
for k, f in enumerate(maps.data.mean(axis=(1, 2))):
    print(f"phase {k}: {100 * f:.0f} % of the image")
