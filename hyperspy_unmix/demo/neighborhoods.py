"""Demo: neighbourhood PCA on the distorted lattice (ground truth) and on the
real MoReS2 image."""

import time

import numpy as np


def _scatter(ax, image, positions, values, title, cmap="coolwarm", lim=None):
    ax.imshow(image, cmap="gray")
    lim = float(np.nanmax(np.abs(values))) if lim is None else lim
    sc = ax.scatter(
        positions[:, 0],
        positions[:, 1],
        c=values,
        cmap=cmap,
        vmin=-lim,
        vmax=lim,
        s=9,
        linewidths=0,
    )
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    return sc


def _distorted(out_dir):
    import matplotlib.pyplot as plt
    from scipy.spatial import cKDTree

    import hyperspy_unmix as hu

    img, truth = hu.data.distorted_lattice(shape=(512, 512), random_state=0)
    t0 = time.perf_counter()
    res = hu.neighborhood_pca(img, n_neighbors=6, n_components=3)
    dt = time.perf_counter() - t0
    d, i = cKDTree(truth.positions).query(res.positions)
    inc = res.included
    dist = truth.distortion[i]
    r = [np.corrcoef(res.scores[inc, k], dist[inc])[0, 1] for k in range(3)]
    best = int(np.argmax(np.abs(r[:2])))
    sign = np.sign(r[best])

    fig, axes = plt.subplots(1, 3, figsize=(12, 4.2))
    sc = _scatter(
        axes[0],
        img.data,
        res.positions[inc],
        sign * res.scores[inc, best],
        f"score of component {best} (r = {abs(r[best]):.3f})",
    )
    fig.colorbar(sc, ax=axes[0], fraction=0.046)
    sc = _scatter(
        axes[1],
        img.data,
        truth.positions,
        truth.distortion - truth.distortion.mean(),
        "true distortion (strain, centred)",
    )
    fig.colorbar(sc, ax=axes[1], fraction=0.046)
    res.plot_component(best, ax=axes[2])
    fig.tight_layout()
    f1 = out_dir / "neighborhoods_distorted.png"
    fig.savefig(f1, dpi=90)
    plt.close(fig)

    fig_img, fig_arrows = res.plot(best)
    f2 = out_dir / "neighborhoods_distorted_markers.png"
    fig_img.savefig(f2, dpi=80)
    plt.close(fig_img)
    plt.close(fig_arrows)
    ax = res.plot_scree()
    f3 = out_dir / "neighborhoods_scree.png"
    ax.figure.tight_layout()
    ax.figure.savefig(f3, dpi=90)
    plt.close(ax.figure)
    rms = float(np.sqrt(np.mean(d**2)))
    return [
        f"distorted lattice 512x512: {len(res.positions)} atoms found in {dt:.2f} s "
        f"(Atomap + vectorised centre of mass), RMS {rms:.3f} px from the true "
        f"positions, {100 * np.mean(d < 0.5):.1f} % within 0.5 px",
        f"{int(inc.sum())} atoms analysed, {int(res.excluded_edge.sum())} excluded at "
        f"the edge, {int((res.excluded_incomplete & ~res.excluded_edge).sum())} "
        "with an incomplete neighbourhood",
        "Pearson r of scores with the true distortion: "
        + ", ".join(f"component {k}: {v:+.3f}" for k, v in enumerate(r))
        + f"; explained variance {np.round(res.explained_variance_ratio, 3).tolist()}",
    ], [f1, f2, f3]


def _mores2(out_dir):
    import matplotlib.pyplot as plt

    import hyperspy_unmix as hu

    img = hu.data.mores2_image()
    t0 = time.perf_counter()
    res = hu.neighborhood_pca(img, n_neighbors=6, n_components=3)
    dt = time.perf_counter() - t0
    inc = res.included
    fig, axes = plt.subplots(2, 2, figsize=(9, 8.2))
    for k in range(2):
        sc = _scatter(
            axes[0, k],
            img.data,
            res.positions[inc],
            res.scores[inc, k],
            f"MoReS2: score of component {k}",
        )
        fig.colorbar(sc, ax=axes[0, k], fraction=0.046)
        res.plot_component(k, ax=axes[1, k])
    fig.tight_layout()
    f1 = out_dir / "neighborhoods_mores2.png"
    fig.savefig(f1, dpi=80)
    plt.close(fig)
    smap = res.score_map(0)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    lim = float(np.nanmax(np.abs(smap.data)))
    im = ax.imshow(smap.data, cmap="coolwarm", vmin=-lim, vmax=lim)
    ax.set_title("MoReS2: score map of component 0", fontsize=9)
    ax.set_axis_off()
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    f2 = out_dir / "neighborhoods_mores2_score_map.png"
    fig.savefig(f2, dpi=80)
    plt.close(fig)
    return [
        f"MoReS2 {img.data.shape[1]}x{img.data.shape[0]}: separation "
        f"{res.parameters['separation']} px estimated from the autocorrelation, "
        f"{len(res.positions)} atoms in {dt:.2f} s, {int(inc.sum())} with a complete "
        f"neighbourhood; explained variance "
        f"{np.round(res.explained_variance_ratio, 3).tolist()}",
    ], [f1, f2]


def _refinement_costs():
    import atomap.api  # noqa: F401  (import once, outside the timings)
    from scipy.spatial import cKDTree

    import hyperspy_unmix as hu
    from hyperspy_unmix.neighborhoods import atoms as _atoms

    img, truth = hu.data.distorted_lattice(shape=(256, 256), random_state=1)
    found = _atoms.find_atoms(img.data, 4)
    lines = []
    few = found[np.argsort(np.hypot(*(found - 128).T))[:40]]
    for method, pos in (("com", found), ("gaussian", few), (None, found)):
        t0 = time.perf_counter()
        xy = _atoms.refine_positions(img.data, pos, method, show_progressbar=False)
        dt = time.perf_counter() - t0
        d, _ = cKDTree(truth.positions).query(xy)
        lines.append(
            f"refine={method!r}: {1000 * dt / len(pos):.3f} s per 1000 atoms, "
            f"RMS {np.sqrt(np.mean(d**2)):.3f} px ({len(pos)} atoms)"
        )
    return lines


def run(out_dir):
    """Write the neighbourhood-PCA figures to ``out_dir``; return summary lines."""
    lines, files = _distorted(out_dir)
    more, files2 = _mores2(out_dir)
    lines += more + _refinement_costs()
    lines.append("figures: " + ", ".join(f.name for f in files + files2))
    return lines
