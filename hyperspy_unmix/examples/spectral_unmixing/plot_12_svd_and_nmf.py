"""
Why N-FINDR: SVD and NMF on the same map
========================================

HyperSpy's decomposition (an SVD) is where the analysis of a spectrum image
usually starts, and NMF is the usual next step. On a map with known
endmembers and abundances (:func:`hyperspy_unmix.data.spectrum_image`,
128 x 128 pixels, 512 channels, four EELS-like phases) this example compares
both with N-FINDR: SVD factors are signed mixtures, NMF's components and
loadings are not tied to spectra and fractions, N-FINDR's endmembers are
spectra and its abundances fractions.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import NMF

import hyperspy_unmix as hu

s, truth = hu.data.spectrum_image((128, 128), 512, 4, dose=2e5, random_state=0)
q = len(truth.names)
energy = truth.energy


def angles(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arccos(np.clip(a @ b.T, -1.0, 1.0))


def match(found, true):
    """Matching of found to true spectra by spectral angle (radians)."""
    ang = angles(found, true)
    r, c = linear_sum_assignment(ang)
    return r, c, ang[r, c]


# The noise floor: the angle between the true endmembers and the noisy
# spectra of the planted pure pixels, the best that raw pixels can do.
floor = np.mean(np.diag(angles(s.data[tuple(truth.pure_pixels.T)], truth.endmembers)))
print(f"noise floor {floor:.4f} rad")

# %%
# The SVD: the scree plot shows four components above the noise, but the
# factors are orthogonal, signed mixtures of all endmembers, not spectra of
# anything.
s_svd = s.deepcopy()
s_svd.decomposition(output_dimension=20, svd_solver="randomized", print_info=False)
ev = s_svd.learning_results.explained_variance_ratio
fig, axs = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
axs[0].semilogy(np.arange(1, ev.size + 1), ev, "o-")
axs[0].set_xlabel("component")
axs[0].set_ylabel("explained variance ratio")
axs[0].set_title("SVD scree plot: 4 components above the noise")
for k in range(4):
    axs[1].plot(energy, s_svd.learning_results.factors[:, k], label=f"SVD {k}")
axs[1].axhline(0, color="k", lw=0.5)
axs[1].set_xlabel("Energy loss (eV)")
axs[1].set_title("SVD factors: signed mixtures, not spectra")
axs[1].legend(fontsize=8)

# %%
# NMF removes the signs but not the ambiguity. Its loadings are read here in
# the most favourable way: each component rescaled to the norm of its
# matched true endmember.
nmf = NMF(q, init="nndsvda", max_iter=400, random_state=0)
X = s.data.reshape(-1, s.data.shape[-1]).astype(np.float64)
W = nmf.fit_transform(X)
H = nmf.components_
rn, cn, ang_nmf = match(H, truth.endmembers)
scale = np.linalg.norm(truth.endmembers[cn], axis=1) / np.linalg.norm(H[rn], axis=1)
W_ab = (W[:, rn] / scale).T.reshape(q, *s.data.shape[:2])
rmse_nmf = np.sqrt(np.mean((W_ab - truth.abundances[cn]) ** 2))
sums = W_ab.sum(0)
print(
    f"NMF: spectral angle {ang_nmf.mean():.4f} rad, abundance RMSE {rmse_nmf:.4f}, "
    f"loadings sum to {sums.min():.2f}-{sums.max():.2f}"
)

# %%
# N-FINDR with the defaults (denoised endmembers) and the classic N-FINDR
# (the raw spectra of the chosen pixels): the abundances are non-negative and
# sum to one in both.
res = s.nfindr_unmix(q)
classic = s.nfindr_unmix(q, endmember_estimate="pixel", outliers=None)
for name, result in (("default", res), ("classic", classic)):
    r, c, ang = match(result.endmembers.data, truth.endmembers)
    A = result.abundances.data[r]
    rmse = np.sqrt(np.mean((A - truth.abundances[c]) ** 2))
    print(
        f"N-FINDR {name}: spectral angle {ang.mean():.4f} rad, abundance RMSE "
        f"{rmse:.4f}, min {A.min():.2g}, max |sum-1| {np.abs(A.sum(0) - 1).max():.1e}"
    )

# %%
# The default N-FINDR endmembers and NMF's components against the truth, and
# the abundance maps with their sums.
r, c, _ = match(res.endmembers.data, truth.endmembers)
A = res.abundances.data[r]
fig, axs = plt.subplots(3, q + 1, figsize=(3.0 * (q + 1), 7.8), layout="constrained")
for i in range(q):
    k = c[i]
    ax = axs[0, i]
    ax.plot(energy, truth.endmembers[k], "k", lw=2.5, alpha=0.4, label="truth")
    ax.plot(energy, res.endmembers.data[r[i]], lw=1, label="N-FINDR")
    j = list(cn).index(k)
    ax.plot(energy, H[rn[j]] * scale[j], lw=1, ls="--", label="NMF")
    ax.set_title(truth.names[k])
    ax.set_xlabel("Energy loss (eV)")
    axs[1, i].imshow(A[i], vmin=0, vmax=1)
    axs[1, i].set_title(f"N-FINDR abundance {truth.names[k]}", fontsize=9)
    axs[2, i].imshow(W_ab[j], vmin=0, vmax=1)
    axs[2, i].set_title(f"NMF loading {truth.names[k]}", fontsize=9)
axs[0, 0].legend(fontsize=8)
axs[0, q].axis("off")
im = axs[1, q].imshow(A.sum(0), vmin=0.8, vmax=1.2, cmap="coolwarm")
axs[1, q].set_title("N-FINDR sum (=1)", fontsize=9)
fig.colorbar(im, ax=axs[1, q])
im = axs[2, q].imshow(sums, vmin=0.8, vmax=1.2, cmap="coolwarm")
axs[2, q].set_title("NMF sum", fontsize=9)
fig.colorbar(im, ax=axs[2, q])
for ax in axs[1:].ravel():
    ax.set_xticks([])
    ax.set_yticks([])

# sphinx_gallery_thumbnail_number = 2
