"""
Masks: leave out pixels and channels
====================================

``nfindr_unmix`` takes the masks of HyperSpy's ``decomposition``:
``navigation_mask`` leaves pixels out (they are never chosen as endmembers
and get NaN abundances) and ``signal_mask`` leaves channels out of the
reduction and of the abundances. In both, ``True`` means *excluded*.
"""

# %%
import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), n_channels=256, n_endmembers=3, random_state=1
)

# %%
# A navigation mask as a *signal* cannot be misread: its axes are the map's
# navigation axes. Here a disc of pixels (say, a hole in the sample) is left
# out. ``hs.signals.BaseSignal(array).T`` turns a boolean array in the data's
# (row, column) order into a signal with those two navigation axes.
rows, cols = np.mgrid[:64, :64]
hole = (rows - 20) ** 2 + (cols - 44) ** 2 < 10**2
nav_mask = hs.signals.BaseSignal(hole).T
print(nav_mask)

# %%
# A signal mask leaves out channels, here the low-energy end of the spectra
# (below 300 eV). It can also be a boolean array over the signal axis.
energy = s.axes_manager.signal_axes[0].axis
sig_mask = energy < 300
print(f"{sig_mask.sum()} of {sig_mask.size} channels masked")

res = s.nfindr_unmix(3, navigation_mask=nav_mask, signal_mask=sig_mask)
print(res)

# %%
# Masked pixels have NaN abundances; the chosen pixels (circles) lie outside
# the hole. The endmembers still cover every channel: the unmasked channels
# denoised (projected onto the principal subspace, the default), the masked
# ones as measured at the chosen pixels.
fig = res.plot(static=True)
print("NaN abundances in the hole:", bool(np.isnan(res.abundances.data[:, hole]).all()))
print("chosen pixels (row, col):", res.indices.tolist())

# %%
# Against the truth, outside the hole: the masked run still finds the three
# materials.
est = res.abundances.data[:, ~hole]
ref = truth.abundances[:, ~hole]
cost = ((est[:, None] - ref[None]) ** 2).mean(axis=-1)
i, j = linear_sum_assignment(cost)
print(f"abundance RMSE outside the hole: {np.sqrt(cost[i, j].mean()):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2), layout="constrained")
axes[0].imshow(hole, cmap="gray_r")
axes[0].set_title("navigation mask (True = excluded)", fontsize=9)
axes[1].plot(energy, s.data.mean(axis=(0, 1)))
axes[1].axvspan(energy[0], 300, color="0.8", label="signal mask")
axes[1].set(xlabel="Energy loss (eV)", ylabel="mean counts")
axes[1].legend()
