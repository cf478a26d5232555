"""
The defaults, and the classic N-FINDR
=====================================

``s.nfindr_unmix(q)`` is meant to give the best result without tuning, so two
defaults differ from the textbook N-FINDR:

- ``endmember_estimate="denoised"``: the spectra at the chosen pixels are
  projected onto the ``q - 1`` dimensional principal subspace, which removes
  most of their noise. ``"pixel"`` returns the raw spectra (classic).
- ``outliers="auto"``: pixels unlike all their neighbours are set aside
  before the search (see the outlier example). ``None`` is classic.

``refine``, ``normalize_poissonian_noise`` and ``nonnegative_endmembers`` are
off by default. This example measures the first default on noisy maps.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu


def spectral_angle(found, true):
    a = found / np.linalg.norm(found, axis=1)[:, None]
    b = true / np.linalg.norm(true, axis=1)[:, None]
    ang = np.degrees(np.arccos(np.clip(a @ b.T, -1, 1)))
    i, j = linear_sum_assignment(ang)
    return ang[i, j].mean(), i, j


# %%
# EELS-like maps with four phases, 64 x 64 pixels, 256 channels, from the
# default dose (2e5 counts per spectrum) down to 1e4. The classic call is one
# keyword away: ``endmember_estimate="pixel", outliers=None``.
doses = (2e5, 5e4, 2e4, 1e4)
angles = {"denoised": [], "pixel": []}
for dose in doses:
    s, truth = hu.data.spectrum_image((64, 64), 256, 4, dose=dose, random_state=0)
    new = s.nfindr_unmix(4)
    classic = s.nfindr_unmix(4, endmember_estimate="pixel", outliers=None)
    for name, r in (("denoised", new), ("pixel", classic)):
        angles[name].append(spectral_angle(r.endmembers.data, truth.endmembers)[0])
    print(
        f"dose {dose:7.0f}: default {angles['denoised'][-1]:.2f} deg, "
        f"classic {angles['pixel'][-1]:.2f} deg"
    )

# %%
# At the lowest dose: one endmember spectrum of each, and the angles at every
# dose. Both use the same pixels (the search does not depend on the
# estimate); only the spectra read there differ.
print("same pixels:", np.array_equal(new.indices, classic.indices))
energy = s.axes_manager.signal_axes[0].axis
_, i, j = spectral_angle(new.endmembers.data, truth.endmembers)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax = axes[0]
ax.plot(energy, classic.endmembers.data[i[0]], "C3", lw=0.8, label='"pixel" (classic)')
ax.plot(energy, new.endmembers.data[i[0]], "C0", lw=1.2, label='"denoised" (default)')
ax.plot(energy, truth.endmembers[j[0]], "k", lw=1, ls="--", label="truth")
ax.set(
    xlabel="Energy loss (eV)", ylabel="counts", title=f"{truth.names[j[0]]}, dose 1e4"
)
ax.legend(fontsize=8)
ax = axes[1]
ax.plot(doses, angles["pixel"], "o-", color="C3", label='"pixel" (classic)')
ax.plot(doses, angles["denoised"], "o-", color="C0", label='"denoised" (default)')
ax.set(xscale="log", xlabel="counts per spectrum", ylabel="mean spectral angle (deg)")
ax.set_ylim(bottom=0)
ax.legend(fontsize=8)

# %%
# The denoised spectra are mixtures of a few principal directions, so at low
# counts they can ring below zero around sharp peaks;
# ``nonnegative_endmembers="subspace"`` keeps them non-negative (see the
# counting-noise example). ``"pixel"`` endmembers are real measured spectra,
# which some users want to show as such.
