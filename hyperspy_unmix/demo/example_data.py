"""Demo section: the example data and their ground truth.

Draws each synthetic dataset beside its truth (endmembers and abundance maps
with the planted pure pixels; phase labels and local FFTs of each phase;
atoms coloured by their true strain) and the two shipped real datasets.
"""

import numpy as np


def _angles(x, e):
    cos = x @ e / (np.linalg.norm(x, axis=-1) * np.linalg.norm(e))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def _spectrum_figure(out_dir):
    import matplotlib.pyplot as plt

    from hyperspy_unmix.data import spectrum_image

    s, truth = spectrum_image((128, 128), 512, 4, random_state=0)
    energy = truth.energy
    r = len(truth.names)
    fig = plt.figure(figsize=(12, 6.2), layout="constrained")
    grid = fig.add_gridspec(2, r)
    ax = fig.add_subplot(grid[0, : r // 2])
    for k, name in enumerate(truth.names):
        ax.plot(energy, truth.endmembers[k], lw=1.2, label=name)
    ax.set_yscale("log")
    ax.set(xlabel="Energy loss (eV)", ylabel="Expected counts", title="Endmembers")
    ax.legend(fontsize=8)
    ax = fig.add_subplot(grid[0, r // 2 :])
    for k in range(r):
        row, col = truth.pure_pixels[k]
        ax.plot(energy, s.data[row, col], lw=0.6, color=f"C{k}", alpha=0.8)
        ax.plot(energy, truth.endmembers[k], lw=1.0, color="k")
    ax.set_yscale("log")
    ax.set(
        xlabel="Energy loss (eV)",
        ylabel="Counts",
        title=f"Noisy pure pixels (dose {truth.dose:g}) and truth (black)",
    )
    for k in range(r):
        ax = fig.add_subplot(grid[1, k])
        im = ax.imshow(truth.abundances[k], vmin=0, vmax=1, cmap="viridis")
        ax.contour(truth.pure_mask[k], levels=[0.5], colors="r", linewidths=1)
        ax.set_title(f"{truth.names[k]} abundance", fontsize=9)
        ax.set_axis_off()
    fig.colorbar(im, ax=ax, shrink=0.8)
    name = "example_data_spectrum_image.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    floor = np.mean(
        np.concatenate(
            [
                _angles(s.data[truth.pure_mask[k]].astype(float), e)
                for k, e in enumerate(truth.endmembers)
            ]
        )
    )
    return [
        f"spectrum_image: {s.data.shape} {s.data.dtype}, endmembers "
        f"{', '.join(truth.names)}; {int(truth.pure_mask.sum())} pure pixels; "
        f"noise floor {floor:.3f} rad at dose {truth.dose:g} -> {name}"
    ]


def _local_fft(window):
    window = window - window.mean()
    taper = np.outer(np.hanning(window.shape[0]), np.hanning(window.shape[1]))
    return np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(window * taper))))


def _lattice_figure(out_dir):
    import matplotlib.pyplot as plt
    from numpy.lib.stride_tricks import sliding_window_view

    from hyperspy_unmix.data import multiphase_lattice

    img, truth = multiphase_lattice((512, 512), n_phases=3, random_state=0)
    n = len(truth.phase_names)
    fig, axes = plt.subplots(2, 1 + n, figsize=(12, 6.2), layout="constrained")
    axes[0, 0].imshow(img.data, cmap="gray")
    axes[0, 0].set_title("Image (512 x 512 px)", fontsize=9)
    axes[1, 0].imshow(truth.labels, cmap="tab10", vmin=0, vmax=9)
    axes[1, 0].set_title("Truth: phase labels", fontsize=9)
    windows = sliding_window_view(truth.labels, (64, 64))[::16, ::16]
    counts = []
    for k, name in enumerate(truth.phase_names):
        inside = np.argwhere(np.all(windows == k, axis=(-1, -2)))
        counts.append(len(inside))
        wy, wx = inside[len(inside) // 2] * 16
        win = img.data[wy : wy + 64, wx : wx + 64]
        axes[0, k + 1].imshow(win, cmap="gray")
        axes[0, k + 1].set_title(f"{name}", fontsize=9)
        axes[1, k + 1].imshow(_local_fft(win), cmap="magma")
        axes[1, k + 1].set_title("its 64 px local FFT (log)", fontsize=9)
        axes[1, 0].add_patch(
            plt.Rectangle((wx, wy), 64, 64, fill=False, ec="w", lw=1.5)
        )
    for ax in axes.ravel():
        ax.set_axis_off()
    name = "example_data_multiphase_lattice.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    per_phase = ", ".join(
        f"{p}: {int(np.sum(truth.atom_phase == k))} atoms, {c} windows"
        for k, (p, c) in enumerate(zip(truth.phase_names, counts))
    )
    return [
        f"multiphase_lattice: {len(truth.positions)} atoms, spacing "
        f"{truth.spacing:g} px; 64 px windows (step 16) inside each phase: "
        f"{per_phase} -> {name}"
    ]


def _distortion_figure(out_dir):
    import matplotlib.pyplot as plt

    from hyperspy_unmix.data import distorted_lattice

    img, truth = distorted_lattice((512, 512), random_state=0)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3), layout="constrained")
    axes[0].imshow(img.data, cmap="gray")
    axes[0].set_title("Image (512 x 512 px)", fontsize=9)
    sc = axes[1].scatter(
        *truth.positions.T, c=truth.distortion, s=6, cmap="coolwarm", vmin=0
    )
    axes[1].set(xlim=(0, 511), ylim=(511, 0), aspect="equal")
    axes[1].set_title("Truth: local uniaxial strain per atom", fontsize=9)
    fig.colorbar(sc, ax=axes[1], shrink=0.8)
    # displacement along the strain direction against the position along it:
    # a ramp through the band (slope = strain), flat outside
    d = truth.strain_direction
    along = (truth.ideal_positions - truth.ideal_positions.mean(axis=0)) @ d
    shift = (truth.positions - truth.ideal_positions) @ d
    axes[2].scatter(along, shift, c=truth.distortion, s=3, cmap="coolwarm", vmin=0)
    axes[2].set(xlabel="position along the strain direction (px)")
    axes[2].set(ylabel="displacement along it (px)")
    axes[2].set_title("Displacement: a ramp through the strained band", fontsize=9)
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    name = "example_data_distorted_lattice.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    strain = truth.distortion
    return [
        f"distorted_lattice: {len(strain)} atoms, strain {strain.min():.3f}.."
        f"{strain.max():.3f} "
        f"along {np.round(truth.strain_direction, 3).tolist()} -> {name}"
    ]


def _real_figure(out_dir):
    import matplotlib.pyplot as plt

    from hyperspy_unmix.data import bfo_conduction_map, mores2_image

    bfo = bfo_conduction_map()
    img = mores2_image()
    x_axis = bfo.axes_manager["x"]
    field = bfo.axes_manager.signal_axes[0].axis
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
    extent = [x_axis.axis[0], x_axis.axis[-1], x_axis.axis[-1], x_axis.axis[0]]
    im = axes[0].imshow(bfo.data[..., -1], extent=extent, cmap="viridis")
    axes[0].set(xlabel="x (nm)", ylabel="y (nm)")
    axes[0].set_title(f"BiFeO3: log J at sqrt(E) = {field[-1]:.0f}", fontsize=9)
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    flat = bfo.data.reshape(-1, bfo.data.shape[-1])
    order = np.argsort(flat[:, -1])
    for q in (0.05, 0.5, 0.95):
        axes[1].plot(field, flat[order[int(q * (len(order) - 1))]], label=f"{q:.0%}")
    axes[1].set(xlabel="sqrt(E) ((V/m)^0.5)", ylabel="log J")
    axes[1].set_title("Pixels at 5/50/95 % of final log J", fontsize=9)
    axes[1].legend(fontsize=8)
    axes[2].imshow(img.data, cmap="gray")
    axes[2].set_title("MoReS2 (grey levels, px)", fontsize=9)
    axes[2].set_axis_off()
    name = "example_data_real.png"
    fig.savefig(out_dir / name, dpi=80)
    plt.close(fig)
    return [
        f"bfo_conduction_map: {bfo.data.shape}, log J {bfo.data.min():.2f}.."
        f"{bfo.data.max():.2f}; mores2_image: {img.data.shape} -> {name}"
    ]


def run(out_dir):
    """Draw the example data and their truth; return summary lines.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder for the PNG files ``example_data_*.png``.

    Returns
    -------
    list of str
    """
    from pathlib import Path

    out_dir = Path(out_dir)
    lines = []
    lines += _spectrum_figure(out_dir)
    lines += _lattice_figure(out_dir)
    lines += _distortion_figure(out_dir)
    lines += _real_figure(out_dir)
    return lines
