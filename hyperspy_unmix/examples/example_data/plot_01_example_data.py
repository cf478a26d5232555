"""
The example data and their ground truth
=======================================

:mod:`hyperspy_unmix.data` generates three synthetic datasets and returns each
with its ground truth: a spectrum image with known endmembers and abundances,
a lattice with known phase regions and a lattice with a known strain field.
Two real datasets are shipped with the package. This example draws each one
beside its truth.
"""

# %%
# The spectrum image: four EELS-like endmembers (log scale), the noisy spectra
# at the planted pure pixels with the truth in black, and the abundance maps
# with the pure patches outlined in red. The *noise floor* is the mean
# spectral angle between the true endmembers and the noisy pure pixels.
import matplotlib.pyplot as plt
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image((128, 128), 512, 4, random_state=0)
print(s)
energy = truth.energy
r = len(truth.names)
fig = plt.figure(figsize=(12, 6.2), layout="constrained")
grid = fig.add_gridspec(2, r)
ax = fig.add_subplot(grid[0, : r // 2])
for k, name in enumerate(truth.names):
    ax.plot(energy, truth.endmembers[k], lw=1.2, label=name)
ax.set_yscale("log")
ax.set(xlabel="Energy loss (eV)", ylabel="Expected counts", title="Endmembers")
ax.legend(fontsize=8)
ax = fig.add_subplot(grid[0, r // 2 :])
for k in range(r):
    row, col = truth.pure_pixels[k]
    ax.plot(energy, s.data[row, col], lw=0.6, color=f"C{k}", alpha=0.8)
    ax.plot(energy, truth.endmembers[k], lw=1.0, color="k")
ax.set_yscale("log")
ax.set(
    xlabel="Energy loss (eV)",
    ylabel="Counts",
    title=f"Noisy pure pixels (dose {truth.dose:g}) and truth (black)",
)
for k in range(r):
    ax = fig.add_subplot(grid[1, k])
    im = ax.imshow(truth.abundances[k], vmin=0, vmax=1, cmap="viridis")
    ax.contour(truth.pure_mask[k], levels=[0.5], colors="r", linewidths=1)
    ax.set_title(f"{truth.names[k]} abundance", fontsize=9)
    ax.set_axis_off()
fig.colorbar(im, ax=ax, shrink=0.8)


def angles(x, e):
    cos = x @ e / (np.linalg.norm(x, axis=-1) * np.linalg.norm(e))
    return np.arccos(np.clip(cos, -1.0, 1.0))


floor = np.mean(
    np.concatenate(
        [
            angles(s.data[truth.pure_mask[k]].astype(float), e)
            for k, e in enumerate(truth.endmembers)
        ]
    )
)
print(f"endmembers: {', '.join(truth.names)}")
print(f"{int(truth.pure_mask.sum())} pure pixels")
print(f"noise floor {floor:.3f} rad at dose {truth.dose:g}")

# %%
# The multi-phase lattice: the image, the true phase of every pixel, and for
# each phase a 64-pixel window lying inside it (white squares) with its local
# FFT, what the phase segmentation tells the phases apart by.
img, truth = hu.data.multiphase_lattice((512, 512), n_phases=3, random_state=0)
print(img)


def local_fft(window):
    window = window - window.mean()
    taper = np.outer(np.hanning(window.shape[0]), np.hanning(window.shape[1]))
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(window * taper))))


n = len(truth.phase_names)
fig, axes = plt.subplots(2, 1 + n, figsize=(12, 6.2), layout="constrained")
axes[0, 0].imshow(img.data, cmap="gray")
axes[0, 0].set_title("Image (512 x 512 px)", fontsize=9)
axes[1, 0].imshow(truth.labels, cmap="tab10", vmin=0, vmax=9)
axes[1, 0].set_title("Truth: phase labels", fontsize=9)
windows = sliding_window_view(truth.labels, (64, 64))[::16, ::16]
counts = []
for k, name in enumerate(truth.phase_names):
    inside = np.argwhere(np.all(windows == k, axis=(-1, -2)))
    counts.append(len(inside))
    wy, wx = inside[len(inside) // 2] * 16
    win = img.data[wy : wy + 64, wx : wx + 64]
    axes[0, k + 1].imshow(win, cmap="gray")
    axes[0, k + 1].set_title(f"{name}", fontsize=9)
    axes[1, k + 1].imshow(local_fft(win), cmap="magma")
    axes[1, k + 1].set_title("its 64 px local FFT (log)", fontsize=9)
    axes[1, 0].add_patch(plt.Rectangle((wx, wy), 64, 64, fill=False, ec="w", lw=1.5))
for ax in axes.ravel():
    ax.set_axis_off()
print(f"{len(truth.positions)} atoms, spacing {truth.spacing:g} px")
for k, (name, c) in enumerate(zip(truth.phase_names, counts)):
    print(
        f"{name}: {int(np.sum(truth.atom_phase == k))} atoms, "
        f"{c} windows of 64 px (step 16) inside it"
    )

# %%
# The distorted lattice: the image, the true local strain of every atom, and
# the displacement along the strain direction against the position along it:
# a ramp through the strained band (its slope is the strain), flat outside.
img, truth = hu.data.distorted_lattice((512, 512), random_state=0)
print(img)
fig, axes = plt.subplots(1, 3, figsize=(12, 4.3), layout="constrained")
axes[0].imshow(img.data, cmap="gray")
axes[0].set_title("Image (512 x 512 px)", fontsize=9)
sc = axes[1].scatter(
    *truth.positions.T, c=truth.distortion, s=6, cmap="coolwarm", vmin=0
)
axes[1].set(xlim=(0, 511), ylim=(511, 0), aspect="equal")
axes[1].set_title("Truth: local uniaxial strain per atom", fontsize=9)
fig.colorbar(sc, ax=axes[1], shrink=0.8)
d = truth.strain_direction
along = (truth.ideal_positions - truth.ideal_positions.mean(axis=0)) @ d
shift = (truth.positions - truth.ideal_positions) @ d
axes[2].scatter(along, shift, c=truth.distortion, s=3, cmap="coolwarm", vmin=0)
axes[2].set(xlabel="position along the strain direction (px)")
axes[2].set(ylabel="displacement along it (px)")
axes[2].set_title("Displacement: a ramp through the strained band", fontsize=9)
for ax in axes[:2]:
    ax.set_xticks([])
    ax.set_yticks([])
strain = truth.distortion
print(
    f"{len(strain)} atoms, strain {strain.min():.3f}..{strain.max():.3f} "
    f"along {np.round(truth.strain_direction, 3).tolist()}"
)

# %%
# The real data, without ground truth: the BiFeO3 conduction map (log J at
# the highest field, and the curves of the pixels at 5, 50 and 95 % of it)
# and the MoReS2 atomic-resolution image.
bfo = hu.data.bfo_conduction_map()
mores2 = hu.data.mores2_image()
print(bfo)
print(mores2)
x_axis = bfo.axes_manager["x"]
field = bfo.axes_manager.signal_axes[0].axis
fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
extent = [x_axis.axis[0], x_axis.axis[-1], x_axis.axis[-1], x_axis.axis[0]]
im = axes[0].imshow(bfo.data[..., -1], extent=extent, cmap="viridis")
axes[0].set(xlabel="x (nm)", ylabel="y (nm)")
axes[0].set_title(f"BiFeO3: log J at sqrt(E) = {field[-1]:.0f}", fontsize=9)
fig.colorbar(im, ax=axes[0], shrink=0.8)
flat = bfo.data.reshape(-1, bfo.data.shape[-1])
order = np.argsort(flat[:, -1])
for q in (0.05, 0.5, 0.95):
    axes[1].plot(field, flat[order[int(q * (len(order) - 1))]], label=f"{q:.0%}")
axes[1].set(xlabel="sqrt(E) ((V/m)^0.5)", ylabel="log J")
axes[1].set_title("Pixels at 5/50/95 % of final log J", fontsize=9)
axes[1].legend(fontsize=8)
axes[2].imshow(mores2.data, cmap="gray")
axes[2].set_title("MoReS2 (grey levels, px)", fontsize=9)
axes[2].set_axis_off()
print(f"BiFeO3 log J {bfo.data.min():.2f}..{bfo.data.max():.2f}")

# sphinx_gallery_thumbnail_number = 1
