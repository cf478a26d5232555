"""Demo: N-FINDR unmixing of a synthetic spectrum image and the BiFeO3 map.

The synthetic map has known endmembers and abundances, so the demo prints
how close N-FINDR gets, next to the classic path (HyperSpy's SVD and NMF).
The real BiFeO3 conduction map (current-voltage curves on a 50 x 50 grid) is
unmixed into conduction behaviours: domains and the more conductive domain
walls.
"""

from pathlib import Path

import numpy as np


def _angles(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arccos(np.clip(a @ b.T, -1.0, 1.0))


def _match(found, true):
    from scipy.optimize import linear_sum_assignment

    ang = _angles(found, true)
    r, c = linear_sum_assignment(ang)
    return r, c, ang[r, c]


def synthetic(out_dir, shape=(128, 128), n_channels=512, dose=2e5):
    """Unmix the synthetic map, compare with SVD and NMF, save three figures."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import NMF

    from hyperspy_unmix import nfindr_unmix
    from hyperspy_unmix.data import spectrum_image

    s, truth = spectrum_image(shape, n_channels, 4, dose=dose, random_state=0)
    q = truth.endmembers.shape[0]
    floor = np.mean(
        np.diag(_angles(s.data[tuple(truth.pure_pixels.T)], truth.endmembers))
    )
    res = nfindr_unmix(s, q)
    r, c, ang = _match(res.endmembers.data, truth.endmembers)
    A = res.abundances.data[r]
    rmse = np.sqrt(np.mean((A - truth.abundances[c]) ** 2))
    lines = [
        f"synthetic {shape[0]}x{shape[1]}x{n_channels}, {q} endmembers, dose {dose:g}: "
        f"mean spectral angle {ang.mean():.4f} rad (noise floor {floor:.4f}), "
        f"abundance RMSE {rmse:.4f}, min {A.min():.2g}, "
        f"max |sum-1| {np.abs(A.sum(0) - 1).max():.1e}",
    ]

    # The classic path: SVD (scree plot, first components), then NMF.
    s_svd = s.deepcopy()
    s_svd.decomposition(output_dimension=20, svd_solver="randomized", print_info=False)
    ev = s_svd.learning_results.explained_variance_ratio
    nmf = NMF(q, init="nndsvda", max_iter=400, random_state=0)
    X = s.data.reshape(-1, n_channels).astype(np.float64)
    W = nmf.fit_transform(X)
    H = nmf.components_
    # Scale NMF so each component has the norm of its matched true endmember,
    # the most favourable reading of its loadings as abundances.
    rn, cn, ang_nmf = _match(H, truth.endmembers)
    scale = np.linalg.norm(truth.endmembers[cn], axis=1) / np.linalg.norm(H[rn], axis=1)
    W_ab = (W[:, rn] / scale).T.reshape(q, *shape)
    rmse_nmf = np.sqrt(np.mean((W_ab - truth.abundances[cn]) ** 2))
    sums = W_ab.sum(0)
    lines.append(
        f"NMF on the same data: spectral angle {ang_nmf.mean():.4f} rad, "
        f"abundance RMSE {rmse_nmf:.4f}, "
        f"loadings sum to {sums.min():.2f}-{sums.max():.2f}"
    )

    energy = truth.energy
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.6))
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
    fig.tight_layout()
    f1 = Path(out_dir) / "spectral_svd.png"
    fig.savefig(f1, dpi=90)
    plt.close(fig)

    fig, axs = plt.subplots(3, q + 1, figsize=(3.0 * (q + 1), 7.8))
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
    fig.tight_layout()
    f2 = Path(out_dir) / "spectral_nfindr_vs_nmf.png"
    fig.savefig(f2, dpi=80)
    plt.close(fig)

    fig = res.plot(static=True)
    f3 = Path(out_dir) / "spectral_nfindr_result.png"
    fig.savefig(f3, dpi=80)
    plt.close(fig)

    # 20x lower dose: raw pixels are as noisy as the noise floor, denoised are not.
    s_low, t_low = spectrum_image(shape, n_channels, q, dose=dose / 20, random_state=0)
    floor_low = np.mean(
        np.diag(_angles(s_low.data[tuple(t_low.pure_pixels.T)], t_low.endmembers))
    )
    low = nfindr_unmix(s_low, q, endmember_estimate="denoised")
    ang_low = _match(low.endmembers.data, t_low.endmembers)[2].mean()
    lines.append(
        f"at dose {dose / 20:g}: denoised endmembers {ang_low:.4f} rad vs noise "
        f"floor {floor_low:.4f} rad"
    )
    return lines, [f1.name, f2.name, f3.name]


def bfo(out_dir, n_endmembers=3):
    """Unmix the BiFeO3 conduction map; the most conductive endmember marks walls."""
    import hyperspy.api as hs
    import matplotlib.pyplot as plt

    from hyperspy_unmix import nfindr_unmix
    from hyperspy_unmix.data import bfo_conduction_map

    s = bfo_conduction_map()
    # A few curves hold exact zeros (log J = 0: failed measurements). N-FINDR
    # looks for extreme pixels, so such outliers would become endmembers:
    # leave them out with a navigation mask (a signal: unambiguous orientation).
    broken = (s.data == 0).any(axis=-1)
    res = nfindr_unmix(s, n_endmembers, navigation_mask=hs.signals.BaseSignal(broken).T)
    E = res.endmembers.data
    A = res.abundances.data
    x = s.axes_manager.signal_axes[0].axis
    conduction = E.mean(axis=1)
    order = np.argsort(conduction)  # least to most conductive
    dominant = np.where(broken, -1, np.argmax(np.nan_to_num(A, nan=-1), axis=0))
    area = np.array(
        [(dominant == k).sum() / (~broken).sum() for k in range(n_endmembers)]
    )
    names = {order[-1]: "most conductive (walls)", order[0]: "least conductive"}

    fig, axs = plt.subplots(
        1, n_endmembers + 1, figsize=(3.2 * (n_endmembers + 1), 3.3)
    )
    for k in order:
        axs[0].plot(x, E[k], label=f"{k}: {names.get(k, 'intermediate')}")
    axs[0].set_xlabel(res.endmembers.axes_manager.signal_axes[0].name)
    axs[0].set_ylabel("log J")
    axs[0].legend(fontsize=7)
    axs[0].set_title("BiFeO3 endmember curves")
    ext = [ax.axis for ax in res.abundances.axes_manager.signal_axes]
    extent = (ext[0][0], ext[0][-1], ext[1][-1], ext[1][0])
    for i, k in enumerate(order):
        im = axs[i + 1].imshow(A[k], vmin=0, vmax=1, extent=extent)
        iy, ix = res.indices[k]
        axs[i + 1].plot(ext[0][ix], ext[1][iy], "o", mfc="none", mec="r")
        axs[i + 1].set_title(
            f"abundance {k}: {names.get(k, 'intermediate')}", fontsize=9
        )
        axs[i + 1].set_xlabel("x (nm)")
    fig.colorbar(im, ax=axs[-1])
    axs[0].set_title("BiFeO3 endmember curves")
    fig.tight_layout()
    f = Path(out_dir) / "spectral_bfo.png"
    fig.savefig(f, dpi=90)
    plt.close(fig)
    k_wall = order[-1]
    lines = [
        f"BiFeO3 map 50x50x{E.shape[1]}: {n_endmembers} endmembers; the most "
        f"conductive one (mean log J {conduction[k_wall]:.2f} vs "
        f"{conduction[order[0]]:.2f}) dominates {100 * area[k_wall]:.0f}% of the "
        f"pixels, along the domain walls; the others "
        f"{', '.join(f'{100 * area[k]:.0f}%' for k in order[:-1])} "
        f"({int(broken.sum())} broken curves masked)",
    ]
    return lines, [f.name]


def run(out_dir):
    """Run the spectral-unmixing demo and write its figures to ``out_dir``.

    Returns
    -------
    list of str
        Summary lines (key numbers and figure names).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines, files = synthetic(out_dir)
    more, files2 = bfo(out_dir)
    return [*lines, *more, "figures: " + ", ".join(files + files2)]
