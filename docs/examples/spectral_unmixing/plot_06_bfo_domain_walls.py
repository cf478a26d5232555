"""
Conduction at BiFeO3 domain walls (real data)
=============================================

The BiFeO3 conduction map of :func:`hyperspy_unmix.data.bfo_conduction_map`
holds a current-voltage curve (log J against the square root of the field)
at each of 50 x 50 points. N-FINDR separates the more conductive domain walls
from the domains. The map comes from the pycroscopy sample data (MIT licence).
"""

# %%
import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np

import hyperspy_unmix as hu

s = hu.data.bfo_conduction_map()
print(s)

# %%
# Four curves hold exact zeros (failed measurements). N-FINDR looks for the
# most extreme pixels, so such outliers would become endmembers: mask them.
broken = (s.data == 0).any(axis=-1)
print(f"{broken.sum()} broken curves")
res = s.nfindr_unmix(3, navigation_mask=hs.signals.BaseSignal(broken).T)
fig = res.plot()

# %%
# Order the endmembers by conduction; the most conductive one marks the walls.
E = res.endmembers.data
order = np.argsort(E.mean(axis=1))
A = np.nan_to_num(res.abundances.data, nan=-1)
dominant = np.where(broken, -1, np.argmax(A, axis=0))
x = s.axes_manager.signal_axes[0]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
for rank, k in enumerate(order):
    share = (dominant == k).sum() / (~broken).sum()
    axes[0].plot(x.axis, E[k], label=f"endmember {k}: {100 * share:.0f} % of pixels")
axes[0].set(xlabel=f"{x.name} ({x.units})", ylabel="log J")
axes[0].legend(fontsize=8)
im = axes[1].imshow(res.abundances.data[order[-1]], vmin=0, vmax=1)
axes[1].set_title("abundance of the most conductive endmember", fontsize=9)
fig.colorbar(im, ax=axes[1])
