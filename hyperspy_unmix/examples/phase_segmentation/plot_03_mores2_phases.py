"""
Stripe-ordered domains in MoReS2 (real data)
============================================

The atomic-resolution image of a Mo(1-x)Re(x)S2 monolayer
(:func:`hyperspy_unmix.data.mores2_image`, pycroscopy sample data, MIT
licence) holds domains with a stripe ordering (dark vertical lines) beside
plain hexagonal regions. The atom columns are about 22 px apart, so the
window is larger than for the synthetic data (128 px, about six periods) and
``zoom=4`` keeps the central quarter of reciprocal space, where the first
orders and the superlattice streaks are. The defaults choose such a window
from the lattice spacing themselves; both calls are shown.
"""

# %%
import numpy as np

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

# %%
# The defaults: ``window_size="auto"`` takes several lattice periods per
# window from the spacing estimated on the image (and a zoom that keeps the
# first orders), with no setting by hand.
auto = hu.segment_phases(img, 2, random_state=0)
chosen = auto.abundances.metadata.hyperspy_unmix.input.parameters
print("window", chosen.window_size, "step", chosen.step, "zoom", chosen.zoom)
fig = hu.plot_phases(auto, img)

# %%
# Pixel by pixel, the two segmentations give the same domains (the phase
# order of an unmixing is arbitrary, so both pairings are tried).
a = np.asarray(hu.phase_labels(auto, img).data)
b = np.asarray(hu.phase_labels(res, img).data)
agreement = max(np.mean(a == b), np.mean(a == 1 - b))
print(f"agreement of the default and the hand-set segmentation: {agreement:.3f}")
