"""
Conduction at BiFeO3 domain walls (real data)
=============================================

The BiFeO3 conduction map of :func:`hyperspy_unmix.data.bfo_conduction_map`
holds a current-voltage curve (log J against the square root of the field)
at each of 50 x 50 points. N-FINDR separates the more conductive domain walls
from the domains. Four of the curves are broken (failed measurements, exact
zeros); the default outlier screening finds them, so no mask is needed. The
map comes from the pycroscopy sample data (MIT licence).
"""

# %%
import warnings

import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

s = hu.data.bfo_conduction_map()
print(s)
broken = (s.data == 0).any(axis=-1)  # for the comparisons below only
print(f"{broken.sum()} broken curves at (row, col) {np.argwhere(broken).tolist()}")

# %%
# How many endmembers? These curves are smooth (the channel-to-channel noise
# that the estimate measures is 1e-9 of the curves' variance), so every
# direction stands out of the "noise" and the estimate runs up to
# ``max_endmembers``. The criterion still shows the structure: it falls
# steeply to ``q = 2``, by a further 1 at ``q = 3`` and by less than 0.2 per
# endmember after that. Three endmembers it is: the domains' two behaviours
# and the walls.
q = hu.estimate_n_endmembers(s)
print(repr(q), "criterion:", np.round(q.criterion[:6], 2))
ax = q.plot()
ax.set_title("BiFeO3: flat beyond q = 3", fontsize=9)
ax.figure.tight_layout()

# %%
# Unmix with the defaults: the broken curves are set aside, and the warning
# says so. ``res.outliers`` holds exactly the four broken curves.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    res = s.nfindr_unmix(3)
for w in caught:
    print(f"{w.category.__name__}: {w.message}")
print("outliers == broken curves:", np.array_equal(res.outliers.data, broken))
fig = res.plot(static=True)

# %%
# The classic N-FINDR (``outliers=None``) takes broken curves as endmembers
# (they are the most extreme spectra of the map), and the one real phase left
# then claims most of it.
res_none = s.nfindr_unmix(3, outliers=None)
for name, r in (("default", res), ("outliers=None", res_none)):
    chosen = [tuple(i) for i in r.indices.tolist()]
    on_broken = [bool(broken[i]) for i in chosen]
    dominant = np.argmax(r.abundances.data, axis=0)[~broken]
    shares = [f"{100 * np.mean(dominant == k):.0f} %" for k in range(3)]
    print(f"{name:>13s}: pixels {chosen}, broken {on_broken}, shares {shares}")

# %%
# Masking the broken curves by hand, as before the screening existed, is still
# possible and gives the same endmembers; masked pixels get NaN abundances
# instead of abundances of their own.
res_mask = s.nfindr_unmix(3, navigation_mask=hs.signals.BaseSignal(broken).T)
print(
    "same endmember pixels as the default:",
    np.array_equal(res_mask.indices, res.indices),
)

# %%
# Order the endmembers by conduction; the most conductive one marks the walls.
E = res.endmembers.data
order = np.argsort(E.mean(axis=1))
dominant = np.argmax(res.abundances.data, axis=0)
x = s.axes_manager.signal_axes[0]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
for k in order:
    share = (dominant[~broken] == k).mean()
    axes[0].plot(x.axis, E[k], label=f"endmember {k}: {100 * share:.0f} % of pixels")
bad = res_none.endmembers.data[broken[tuple(res_none.indices.T)]]
for n, curve in enumerate(bad):
    label = "outliers=None: broken curves" if n == 0 else None
    axes[0].plot(x.axis, curve, "k:", label=label)
axes[0].set(xlabel=f"{x.name} ({x.units})", ylabel="log J")
axes[0].legend(fontsize=7)
im = axes[1].imshow(res.abundances.data[order[-1]], vmin=0, vmax=1)
axes[1].set_title("abundance of the most conductive endmember", fontsize=9)
fig.colorbar(im, ax=axes[1])
axes[2].imshow(res.outliers.data, cmap="gray_r", interpolation="nearest")
axes[2].set_title("res.outliers (the broken curves)", fontsize=9)
for ax in axes[1:]:
    ax.set_xticks([])
    ax.set_yticks([])

# sphinx_gallery_thumbnail_number = 3
