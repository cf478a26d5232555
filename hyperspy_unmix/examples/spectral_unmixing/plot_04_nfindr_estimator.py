"""
N-FINDR inside HyperSpy's decomposition
=======================================

:class:`hyperspy_unmix.NFINDR` is a scikit-learn style estimator, so it plugs
into HyperSpy's own machinery: ``s.decomposition(algorithm=hu.NFINDR(q))``
stores endmembers as the factors and abundances as the loadings, and every
HyperSpy tool that reads ``learning_results`` works with them.
"""

# %%
import numpy as np

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image(
    (64, 64), n_channels=256, n_endmembers=3, random_state=3
)
s.decomposition(algorithm=hu.NFINDR(3), print_info=False)

# %%
# Factors are endmember spectra, loadings are abundances (non-negative,
# summing to one at every pixel).
factors = s.get_decomposition_factors()
loadings = s.get_decomposition_loadings()
print(factors)
print(loadings)
print("loadings sum to one:", np.allclose(loadings.data.sum(axis=0), 1))
fig = s.plot_decomposition_factors(comp_ids=3)

# %%
fig = s.plot_decomposition_loadings(comp_ids=3)

# %%
# The reconstruction from three endmembers is HyperSpy's decomposition model.
model = s.get_decomposition_model()
rms = np.sqrt(np.mean((s.data - model.data) ** 2))
print(f"RMS residual {rms:.1f} counts per channel (mean signal {s.data.mean():.1f})")

# %%
# ``s.data`` is not modified. For masks, lazy data and the complete result
# (indices, residual, saving) use ``hu.nfindr_unmix``.
