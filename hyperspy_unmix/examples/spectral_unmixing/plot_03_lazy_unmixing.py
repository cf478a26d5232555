"""
Lazy data: unmix without loading the map
=========================================

A lazy signal (``hs.load(..., lazy=True)`` or ``s.as_lazy()``) is unmixed by
streaming its chunks through a dask graph: the data are read two or three
times and never held whole in memory. The numbers are those of the same map
in memory.
"""

# %%
import numpy as np

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (96, 96), n_channels=256, n_endmembers=4, random_state=2
)
lazy = s.as_lazy()
lazy.data = lazy.data.rechunk((32, 32, 256))  # chunks as a file would have
print(lazy)
print(lazy.data)

# %%
# The call is the same. ``lazy_output=False`` computes the abundances and
# returns them in memory (the default for a lazy input is a lazy result,
# computed when asked).
res_lazy = hu.nfindr_unmix(lazy, 4, lazy_output=False, show_progressbar=False)
res_mem = hu.nfindr_unmix(s, 4)
print(res_lazy)

# %%
# The same pixels are chosen and the abundances agree to rounding.
print("same endmember pixels:", np.array_equal(res_lazy.indices, res_mem.indices))
print(
    "largest abundance difference:",
    f"{np.nanmax(np.abs(res_lazy.abundances.data - res_mem.abundances.data)):.1e}",
)
fig = res_lazy.plot(static=True)

# %%
# On a ``dask.distributed`` cluster the same call runs on the workers:
#
# .. code-block:: python
#
#     from dask.distributed import Client
#
#     client = Client(n_workers=4, memory_limit="2GiB")
#     s = hs.load("big_map.zspy", lazy=True)
#     res = hu.nfindr_unmix(s, 4)
#     res.save("big_map_unmixed")
