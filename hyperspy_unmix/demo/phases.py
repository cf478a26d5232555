"""Demo: sliding-window FFT phase segmentation.

On the package's synthetic multi-phase lattices (ground truth known) the
segmentation is scored window by window and pixel by pixel; on the real
MoReS2 image it separates the stripe-ordered domains from the plain
hexagonal ones.
"""

import time

import numpy as np


def _matched(pred, true, n):
    """Accuracy after the best one-to-one matching, and the matched labels."""
    from scipy.optimize import linear_sum_assignment

    keep = true >= 0
    counts = np.zeros((n, n))
    np.add.at(counts, (pred[keep], true[keep]), 1)
    rows, cols = linear_sum_assignment(-counts)
    mapping = np.empty(n, dtype=int)
    mapping[rows] = cols
    return counts[rows, cols].sum() / keep.sum(), mapping[pred]


def _pure_windows(labels, window, step):
    """Phase of each window lying entirely in one phase, -1 elsewhere."""
    from numpy.lib.stride_tricks import sliding_window_view

    v = sliding_window_view(labels, (window, window))[::step, ::step]
    lo, hi = v.min(axis=(-2, -1)), v.max(axis=(-2, -1))
    return np.where(lo == hi, lo, -1)


def _synthetic(out_dir, n_phases, window, step, noise, seed):
    import matplotlib.pyplot as plt

    import hyperspy_unmix as hu
    from hyperspy_unmix.phases import phase_labels, plot_phases, segment_phases

    image, truth = hu.data.multiphase_lattice(
        (512, 512), n_phases=n_phases, noise=noise, random_state=seed
    )
    t0 = time.perf_counter()
    res = segment_phases(image, n_phases, window, step)
    labels = phase_labels(res, image).data
    elapsed = time.perf_counter() - t0

    pred_w = np.argmax(res.abundances.data, axis=0)
    true_w = _pure_windows(truth.labels, window, step)
    acc_w, _ = _matched(pred_w, true_w, n_phases)
    acc_px, matched = _matched(labels, truth.labels, n_phases)

    name = {2: "two", 3: "three"}[n_phases]
    lines = []
    if n_phases == 2:
        lines.append(_stack_figure(out_dir, image, true_w, window, step))
    fig = plot_phases(res, image)
    fig.savefig(out_dir / f"phases_{name}.png", dpi=80)
    plt.close(fig)

    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.8), layout="constrained")
    cmap = plt.get_cmap("tab10", 10)
    axes[0].imshow(truth.labels, cmap=cmap, vmin=-0.5, vmax=9.5)
    axes[0].set_title("truth")
    axes[1].imshow(matched, cmap=cmap, vmin=-0.5, vmax=9.5)
    axes[1].set_title(f"segmentation ({100 * acc_px:.1f} % of pixels)")
    axes[2].imshow(matched != truth.labels, cmap="gray_r")
    axes[2].set_title("disagreement (black)")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.savefig(out_dir / f"phases_{name}_truth.png", dpi=80)
    plt.close(fig)
    n_pure = int((true_w >= 0).sum())
    return lines + [
        f"{n_phases}-phase lattice 512x512 (noise {noise}), window {window}, "
        f"step {step}: {pred_w.size} windows, {elapsed:.1f} s",
        f"  windows inside one phase labelled correctly: {100 * acc_w:.1f} % "
        f"of {n_pure}; pixels: {100 * acc_px:.1f} %",
        f"  figures: phases_{name}.png, phases_{name}_truth.png",
    ]


def _stack_figure(out_dir, image, true_w, window, step):
    """Two windows (one per phase) on the image and their local FFTs."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from hyperspy_unmix import sliding_fft

    stack = sliding_fft(image, window, step)  # the plain stack, full window
    picks = [
        np.argwhere(true_w == k)[len(np.argwhere(true_w == k)) // 2] for k in (0, 1)
    ]
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.6), layout="constrained")
    axes[0].imshow(image.data, cmap="gray")
    kx, ky = stack.axes_manager.signal_axes
    extent = (kx.low_value, kx.high_value, ky.high_value, ky.low_value)
    for k, (i, j) in enumerate(picks):
        colour = f"C{k}"
        axes[0].add_patch(
            Rectangle((j * step, i * step), window, window, fill=False, ec=colour, lw=2)
        )
        axes[k + 1].imshow(stack.data[i, j], cmap="inferno", extent=extent)
        axes[k + 1].set_title(f"local FFT, window ({i}, {j})", color=colour)
        axes[k + 1].set_xlabel(f"kx ({kx.units})")
    axes[0].set_title(f"image, {window} px windows every {step} px")
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    fig.savefig(out_dir / "phases_stack.png", dpi=80)
    plt.close(fig)
    shape = stack.data.shape
    return (
        f"sliding_fft stack {shape[:2]} windows of {shape[2:]} (log magnitude, "
        "Hann taper): phases_stack.png"
    )


def _mores2(out_dir):
    import matplotlib.pyplot as plt

    import hyperspy_unmix as hu
    from hyperspy_unmix.phases import phase_maps, plot_phases, segment_phases

    image = hu.data.mores2_image()
    # Atom columns ~22 px apart: a 128 px window holds ~6 periods, and the
    # central quarter of reciprocal space (zoom=4) keeps the first orders and
    # the superlattice streaks of the stripe ordering.
    t0 = time.perf_counter()
    res = segment_phases(image, 2, window_size=128, step=8, zoom=4)
    maps = phase_maps(res, image)
    elapsed = time.perf_counter() - t0
    fractions = maps.data.mean(axis=(1, 2))
    fig = plot_phases(res, image)
    fig.savefig(out_dir / "phases_mores2.png", dpi=80)
    plt.close(fig)
    n_windows = int(np.prod(res.abundances.data.shape[1:]))
    return [
        f"MoReS2 image {image.data.shape[1]}x{image.data.shape[0]}, window 128, "
        f"step 8, zoom 4: {n_windows} windows, {elapsed:.1f} s",
        "  area fractions of the two phases: "
        + ", ".join(f"{100 * f:.0f} %" for f in fractions),
        "  figure: phases_mores2.png",
    ]


def run(out_dir):
    """Segment the synthetic lattices (scored against truth) and MoReS2.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder for the figures ``phases_*.png``.

    Returns
    -------
    list of str
        Summary lines.
    """
    lines = _synthetic(out_dir, 2, 64, 8, noise=0.3, seed=0)
    lines += _synthetic(out_dir, 3, 64, 8, noise=0.3, seed=1)
    lines += _mores2(out_dir)
    return lines
