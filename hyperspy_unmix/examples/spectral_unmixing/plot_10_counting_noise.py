"""
Counting noise: Poisson weighting and non-negative endmembers
=============================================================

EELS, EDS and cathodoluminescence maps are counts: the noise of a channel
grows with its counts (Poisson), so the strong channels dominate an
unweighted principal-component reduction. ``normalize_poissonian_noise=True``
(HyperSpy's option of the same name and meaning, the Keenan-Kotula
weighting) divides every count by the square roots of its pixel's and its
channel's mean before the reduction, which makes the noise white. The
endmembers go back to counts and the abundances are solved on the data, so
they stay exactly non-negative and summing to one.

At low counts the denoised endmember spectra (the default, see
:ref:`the defaults <sphx_glr_auto_examples_spectral_unmixing_plot_11_defaults.py>`)
can dip below zero: a projection onto a few principal directions rings
around sharp peaks. ``nonnegative_endmembers="subspace"`` returns the
closest non-negative spectrum within the principal subspace,
``"clip"`` sets the negative values to 0.
"""

# %%
# A low-count EDS-like map: 150 counts per spectrum over 256 channels, about
# 20 counts at the top of the phases' strongest lines.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), 256, 4, dose=150, kind="eds", random_state=0
)
print("counts at the strongest line of each phase:", truth.endmembers.max(1).round(1))

runs = {
    "unweighted": {},
    "weighted": dict(normalize_poissonian_noise=True),
    'weighted + "clip"': dict(
        normalize_poissonian_noise=True, nonnegative_endmembers="clip"
    ),
    'weighted + "subspace"': dict(
        normalize_poissonian_noise=True, nonnegative_endmembers="subspace"
    ),
}
results = {name: s.nfindr_unmix(4, **kw) for name, kw in runs.items()}


def match(found):
    """Matching to the truth by spectral angle (degrees)."""
    a = found / np.linalg.norm(found, axis=1)[:, None]
    b = truth.endmembers / np.linalg.norm(truth.endmembers, axis=1)[:, None]
    ang = np.degrees(np.arccos(np.clip(a @ b.T, -1, 1)))
    i, j = linear_sum_assignment(ang)
    return ang[i, j], i, j


stats = {}
for name, r in results.items():
    ang, i, j = match(r.endmembers.data)
    A = r.abundances.data[i]
    rmse = np.sqrt(np.mean((A - truth.abundances[j]) ** 2))
    stats[name] = ang.mean()
    print(
        f"{name:>22s}: spectral angle {ang.mean():4.2f} deg, abundance RMSE "
        f"{rmse:.3f}, lowest endmember value {r.endmembers.data.min():6.2f} counts, "
        f"abundances >= {A.min():.1g}, |sum - 1| <= {np.abs(A.sum(0) - 1).max():.0e}"
    )

# %%
# One endmember with and without the weighting and the non-negativity, and
# the mean spectral angle of each setting.
energy = s.axes_manager.signal_axes[0].axis
fig, axes = plt.subplots(
    1, 2, figsize=(10, 3.8), layout="constrained", width_ratios=[1.6, 1]
)
_, i, j = match(results["unweighted"].endmembers.data)
k = int(np.argmin(truth.endmembers.max(1)[j]))  # the weakest phase
ax = axes[0]
ax.plot(energy, truth.endmembers[j[k]], "k", lw=3, alpha=0.3, label="truth")
for name, color in (
    ("unweighted", "C3"),
    ("weighted", "C1"),
    ('weighted + "subspace"', "C0"),
):
    ang, ii, jj = match(results[name].endmembers.data)
    m = list(jj).index(j[k])
    ax.plot(energy, results[name].endmembers.data[ii[m]], color=color, lw=1, label=name)
ax.axhline(0, color="k", lw=0.5)
ax.set(xlabel="Energy (keV)", ylabel="counts", title=truth.names[j[k]], xlim=(0, 10))
ax.legend(fontsize=8, loc="upper right")
ax = axes[1]
ax.barh(list(stats)[::-1], list(stats.values())[::-1], color=["C0", "C2", "C1", "C3"])
ax.set_xlabel("mean spectral angle to the truth (deg)")
ax.tick_params(axis="y", labelsize=8)

# %%
# Which option helps depends on the spectra. EDS-like spectra are sharp lines
# on almost no background, so the ringing below zero is the larger error and
# the non-negative projection removes most of it. EELS-like spectra sit on a
# strong smooth background that the strong channels' noise swamps in an
# unweighted reduction: there the weighting is the gain (a low-count EELS
# map, about 20 counts per channel at the edges):
s_eels, truth_eels = hu.data.spectrum_image(
    (64, 64), 256, 4, dose=1000, kind="eels", random_state=0
)
truth = truth_eels  # what match() compares with
for name in ("unweighted", "weighted", 'weighted + "subspace"'):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = s_eels.nfindr_unmix(4, **runs[name])
    ang = match(r.endmembers.data)[0].mean()
    print(f"EELS, {name:>22s}: spectral angle {ang:.2f} deg")
# At this dose the weakest EELS phase barely rises above the noise: the
# estimate is 3, and ``nfindr_unmix(s, 4)`` warns. The truth is known here
# (four phases, all four found, as the angles show): the warning is a hint to
# look at the criterion and the abundance maps, not a verdict.
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
