"""
Refine an unmixing with a HyperSpy model
========================================

``res.as_components()`` turns the endmembers into
:class:`~hyperspy_unmix.Endmember` components: a fixed spectrum times a
non-negative abundance. In a HyperSpy model the abundances are free: they
need not sum to one, so the model can follow what the linear mixing model
leaves out, here a thickness that changes across the map.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (32, 32), n_channels=128, n_endmembers=3, random_state=4
)
# A thickness gradient from 0.7 to 1.3 across the map scales every spectrum.
thickness = np.linspace(0.7, 1.3, 32)[None, :] * np.ones((32, 1))
s.data *= thickness[..., None].astype(s.data.dtype)
res = s.nfindr_unmix(3)

# %%
# The model: one ``Endmember`` component per endmember, abundances pre-set
# to the unmixing's, then fitted at every pixel by linear least squares.
m = s.create_model()
m.extend(res.as_components())
print([c.name for c in m])
m.multifit(optimizer="lstsq")

# %%
# The unmixing's abundances sum to one everywhere, so where the sample is
# thinner or thicker than at the endmember pixels its residual grows; the
# model's free abundances follow the thickness and leave only the noise.
fitted = np.stack([c.abundance.map["values"] for c in m])
model = m.as_signal()
rms_model = np.sqrt(np.mean((s.data - model.data) ** 2, axis=-1))
rms_fcls = res.residual.data
print(f"RMS residual: unmixing {rms_fcls.mean():.1f}, model {rms_model.mean():.1f}")
print(f"model abundances sum to {fitted.sum(0).min():.2f}-{fitted.sum(0).max():.2f}")

fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), layout="constrained")
vmax = float(rms_fcls.max())
im = axes[0].imshow(rms_fcls, vmin=0, vmax=vmax)
axes[0].set_title("RMS residual, unmixing (FCLS)", fontsize=9)
axes[1].imshow(rms_model, vmin=0, vmax=vmax)
axes[1].set_title("RMS residual, refined model", fontsize=9)
fig.colorbar(im, ax=axes[:2], shrink=0.8, label="counts")
for ax in axes[:2]:
    ax.set_axis_off()
energy = s.axes_manager.signal_axes[0].axis
axes[2].plot(energy, s.data[16, 30], lw=1, label="data, pixel (16, 30)")
axes[2].plot(energy, model.data[16, 30], lw=1, label="model")
axes[2].set(xlabel="Energy loss (eV)", ylabel="counts")
axes[2].legend(fontsize=8)

# %%
# ``m.store()`` and ``m.save()`` work as for any HyperSpy model; the
# ``Endmember`` components keep their spectra.
