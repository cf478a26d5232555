"""
Maps without pure pixels: ``refine="minvol"``
=============================================

N-FINDR assumes that every material is pure somewhere in the map. In thin
films, small precipitates, at interfaces or on any map coarser than its
grains it is not, and the purest pixels are still mixtures: the N-FINDR
simplex lies inside the true one. ``refine="minvol"`` moves it outwards from
the N-FINDR vertices to the smallest simplex that encloses the data (a
minimum-volume criterion in the reduced space, as in SISAL, then each face
fitted to the noisy edge of the data).
"""

# %%
# An EDS-like map of three phases whose purest pixel holds 80 % of one phase
# (``max_purity=0.8``). Plain N-FINDR warns that many pixels lie outside its
# simplex.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), 256, 3, kind="eds", max_purity=0.8, random_state=0
)
print("largest abundance anywhere:", truth.abundances.max())

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    res = s.nfindr_unmix(3)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
res_mv = s.nfindr_unmix(3, refine="minvol")


def spectral_angle(found, true):
    """Mean spectral angle (degrees) after matching, and the matching."""
    a = found / np.linalg.norm(found, axis=1)[:, None]
    b = true / np.linalg.norm(true, axis=1)[:, None]
    ang = np.degrees(np.arccos(np.clip(a @ b.T, -1, 1)))
    i, j = linear_sum_assignment(ang)
    return ang[i, j].mean(), i, j


for name, r in (("N-FINDR", res), ('refine="minvol"', res_mv)):
    ang, i, j = spectral_angle(r.endmembers.data, truth.endmembers)
    A = r.abundances.data[i]
    rmse = np.sqrt(np.mean((A - truth.abundances[j]) ** 2))
    print(
        f"{name:>16s}: spectral angle {ang:5.2f} deg, abundance RMSE {rmse:.3f}, "
        f"abundances in [{A.min():.2g}, {A.max():.2g}], "
        f"|sum - 1| <= {np.abs(A.sum(0) - 1).max():.1e}"
    )

# %%
# The picture in the plane of the first two principal components: the pixels
# fill the true triangle with its corners cut off (no pixel holds more than
# 80 % of a phase). N-FINDR's vertices are pixels, so they lie on the edge
# of the cloud, well inside the true triangle; the minimum-volume simplex
# reaches the true corners.
X = s.data.reshape(-1, s.data.shape[-1]).astype(np.float64)
centre = X.mean(axis=0)
_, _, Vt = np.linalg.svd(X[::4] - centre, full_matrices=False)


def project(spectra):
    return (np.atleast_2d(spectra) - centre) @ Vt[:2].T


P = project(X)
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
ax = axes[0]
ax.plot(*P.T, ".", ms=1, color="0.6", label="pixels")
for name, E, style in (
    ("truth", truth.endmembers, dict(color="k", lw=2.5, alpha=0.4)),
    ("N-FINDR", res.endmembers.data, dict(color="C3", lw=1.2, ls="--")),
    ('refine="minvol"', res_mv.endmembers.data, dict(color="C0", lw=1.2)),
):
    V = project(E)
    ax.plot(*np.vstack([V, V[:1]]).T, marker="o", ms=4, label=name, **style)
ax.set(xlabel="PC 1", ylabel="PC 2", title="scores of the pixels")
ax.set_aspect("equal", adjustable="datalim")
ax.legend(fontsize=8)

# The spectra of one phase: N-FINDR's is a mixture, minvol's the pure one.
_, i, j = spectral_angle(res.endmembers.data, truth.endmembers)
_, i_mv, j_mv = spectral_angle(res_mv.endmembers.data, truth.endmembers)
energy = s.axes_manager.signal_axes[0].axis
k = 0
ax = axes[1]
ax.plot(energy, truth.endmembers[j[k]], "k", lw=3, alpha=0.3, label="truth")
ax.plot(energy, res.endmembers.data[i[k]], "C3", lw=1, ls="--", label="N-FINDR")
m = list(j_mv).index(j[k])
ax.plot(energy, res_mv.endmembers.data[i_mv[m]], "C0", lw=1, label='refine="minvol"')
ax.set(xlabel="Energy (keV)", ylabel="counts", title=truth.names[j[k]], xlim=(0, 10))
ax.legend(fontsize=8)

# %%
# On a map that has pure pixels the option changes nothing measurable: where
# the data reach a corner, the vertex stays N-FINDR's.
s_pure, truth_pure = hu.data.spectrum_image(
    (64, 64), 256, 3, kind="eds", random_state=0
)
for name, kw in (("N-FINDR", {}), ('refine="minvol"', dict(refine="minvol"))):
    ang, _, _ = spectral_angle(
        s_pure.nfindr_unmix(3, **kw).endmembers.data, truth_pure.endmembers
    )
    print(f"pure pixels, {name:>16s}: spectral angle {ang:.2f} deg")
