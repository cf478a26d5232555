"""
A stack of local FFTs
=====================

:func:`hyperspy_unmix.sliding_fft` takes the FFT of a window sliding over an
atomic-resolution image: the result is a HyperSpy signal whose navigation
axes are the window centres (in the image's units) and whose signal axes are
the reciprocal-space coordinates. Unmixing that stack with N-FINDR gives the
phases' FFT patterns and where each phase is.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

img, truth = hu.data.multiphase_lattice((384, 384), n_phases=2, random_state=0)
print(img)
print("phases:", truth.phase_names)

# %%
# 64-pixel windows every 16 pixels: a (21, 21 | 64, 64) stack, calibrated in
# 1/nm (the image is in nm).
stack = img.sliding_fft(window_size=64, step=16)
print(stack)
print(stack.axes_manager)

# %%
# Two windows, one in each phase: the dimerised phase has extra half-order
# spots.
kx, ky = stack.axes_manager.signal_axes
extent = (kx.low_value, kx.high_value, ky.high_value, ky.low_value)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), layout="constrained")
axes[0].imshow(truth.labels, cmap="tab10", vmin=0, vmax=9)
axes[0].set_title("true phases", fontsize=9)
for k, ax in enumerate(axes[1:]):
    # a window lying inside phase k
    cy, cx = np.argwhere(truth.labels[32:-32:16, 32:-32:16] == k)[10]
    ax.imshow(stack.data[cy, cx], cmap="inferno", extent=extent)
    ax.set(xlabel=f"kx ({kx.units})", ylabel=f"ky ({ky.units})")
    ax.set_title(f"local FFT in {truth.phase_names[k]}", fontsize=9)
    axes[0].plot(cx * 16 + 32, cy * 16 + 32, "o", color=f"C{k + 1}")

# %%
# The stack is an ordinary HyperSpy signal: ``stack.plot()`` browses the
# windows (here the navigator is the sum of each pattern).
stack.plot(cmap="inferno")

# %%
# N-FINDR on the raw stack: two endmember patterns and their abundance maps
# on the grid of window centres.
res = stack.nfindr_unmix(2)
fig = res.plot(static=True)

# sphinx_gallery_thumbnail_number = 1
