"""Phase segmentation by local periodicity: sliding FFT + N-FINDR.

:func:`segment_phases` runs :func:`hyperspy_unmix.sliding_fft` and
:func:`hyperspy_unmix.nfindr_unmix` with preprocessing tuned for lattices;
:func:`phase_maps`, :func:`phase_labels` and :func:`plot_phases` put the
abundances of such an unmixing back on the image. This module sits above the
two analyses it combines (neither imports it).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._signal_io import (
    add_provenance,
    axis_dict,
    axis_label,
    computed,
    index_axis,
    title_of,
)
from hyperspy_unmix._validation import (
    check_float,
    check_int,
    check_signal,
    check_uniform_axes,
)
from hyperspy_unmix.unmixing import UnmixingResult, nfindr_unmix
from hyperspy_unmix.windowing import sliding_fft

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

__all__ = ["segment_phases", "phase_maps", "phase_labels", "plot_phases"]

# Preprocessing that makes N-FINDR separate lattice phases well (measured on
# hyperspy_unmix.data.multiphase_lattice, see docs/phase_segmentation.rst):
# keep the central half of reciprocal space (first Bragg orders), zero the
# background around the DC, unit-sum patterns, PCA-denoised endmembers.
SEGMENTATION_DEFAULTS = {"zoom": 2, "remove_dc": 2, "normalize": "sum"}


def segment_phases(
    image: BaseSignal,
    n_phases: int,
    window_size: int | tuple[int, int] | str = "auto",
    step: int | tuple[int, int] | None = None,
    *,
    endmember_estimate: str = "denoised",
    random_state=None,
    show_progressbar: bool | None = None,
    lazy_output: bool | None = None,
    **kwargs,
) -> UnmixingResult:
    """Sliding FFT + N-FINDR with preprocessing tuned for phase segmentation.

    Equivalent to::

        stack = sliding_fft(image, window_size, step, zoom=2, remove_dc=2,
                            normalize="sum", **kwargs)
        nfindr_unmix(stack, n_phases, endmember_estimate="denoised")

    with ``zoom`` (and ``step`` when not given) chosen from the lattice
    spacing for the default ``window_size="auto"``.

    The automatic window (:func:`hyperspy_unmix._core.lattice.auto_window`,
    4.5 lattice periods) follows the spacing estimated from the image's
    autocorrelation; on the MoReS2 image (``hyperspy_unmix.data.mores2_image``,
    spacing 29.5 px) it gives ``window_size=132, step=16, zoom=4.125`` and
    the two domains of the hand-tuned ``segment_phases(img, 2,
    window_size=128, step=8, zoom=4)`` (pixel label agreement 0.96; the
    former fixed default, 64 px windows, agreed 0.63). The stack's
    ``metadata.hyperspy_unmix`` records
    what was chosen (``parameters.window_size``, ``step``, ``zoom``,
    ``lattice_spacing``).

    Parameters
    ----------
    image : hyperspy.signal.BaseSignal
        Image (two signal dimensions), as for :func:`sliding_fft`.
    n_phases : int
        Number of phases (endmembers), >= 2.
    window_size : "auto", int or (int, int)
        As for :func:`sliding_fft`; the window should hold several lattice
        periods. "auto" (default): from the lattice spacing, with ``step``
        and ``zoom`` (unless given) following it.
    step : int, (int, int) or None
        As for :func:`sliding_fft`; None: the automatic step with
        ``window_size="auto"``, else 16.
    endmember_estimate : {"denoised", "pixel"}
        Passed to :func:`hyperspy_unmix.nfindr_unmix`. N-FINDR picks the most
        extreme windows, which are also the noisiest: their patterns
        projected on the principal subspace ("denoised") make far better
        phase patterns on noisy images.
    random_state, show_progressbar, lazy_output
        As for :func:`hyperspy_unmix.nfindr_unmix` (``lazy_output`` also
        makes the stack lazy).
    **kwargs
        Passed to :func:`sliding_fft`; override the defaults ``zoom=2``
        (for a given window: periods of at least 4 pixels along each axis
        stay inside; the automatic window brings its own zoom),
        ``remove_dc=2`` and ``normalize="sum"``.

    Raises
    ------
    ValueError
        ``n_phases`` < 2 or more than the number of windows of the stack
        (the message names both), and every bad option of
        :func:`sliding_fft` and :func:`hyperspy_unmix.nfindr_unmix`.

    Returns
    -------
    hyperspy_unmix.UnmixingResult
        ``endmembers``: the phases' FFT patterns; ``abundances``: phase
        fractions at the window centres. :func:`phase_maps` puts them on the
        image's pixel grid, :func:`plot_phases` overlays them on the image.
    """
    check_int(n_phases, "n_phases", minimum=2)
    options = dict(SEGMENTATION_DEFAULTS)
    if "crop" in kwargs or (isinstance(window_size, str) and window_size == "auto"):
        options.pop("zoom")  # sliding_fft's automatic zoom, or the crop
    options.update(kwargs)
    stack = sliding_fft(
        image,
        window_size,
        step,
        lazy_output=lazy_output,
        show_progressbar=show_progressbar,
        **options,
    )
    n_windows = stack.axes_manager.navigation_size
    if n_phases > n_windows:
        made = stack.metadata.get_item("hyperspy_unmix.parameters")
        raise ValueError(
            f"`n_phases`={n_phases} exceeds the number of windows "
            f"({n_windows}) of the sliding FFT (window_size="
            f"{tuple(made.window_size)}, step={tuple(made.step)}); use fewer "
            "phases, a smaller `window_size` or `step`, or a larger image"
        )
    return nfindr_unmix(
        stack,
        n_phases,
        endmember_estimate=endmember_estimate,
        random_state=random_state,
        show_progressbar=show_progressbar,
        lazy_output=lazy_output,
    )


def _check_result(result):
    for name in ("abundances", "endmembers"):
        if not hasattr(result, name):
            raise TypeError(
                "`result` must be an UnmixingResult of a sliding FFT stack "
                f"(with .abundances and .endmembers), got {type(result).__name__}"
            )
    # nfindr_unmix keeps the input's provenance under hyperspy_unmix.input
    made_by = result.endmembers.metadata.get_item("hyperspy_unmix.input.method")
    if made_by != "sliding_fft":
        raise ValueError(
            "`result` must be the unmixing of a sliding FFT stack (made by "
            "`sliding_fft` or `segment_phases`); its input was made by "
            f"{made_by!r}"
        )


def _abundance_grid(result, image):
    """Abundances as an array and the image-pixel coordinates of its grid."""
    check_signal(image, "image", signal_dimension=2)
    am = image.axes_manager
    check_uniform_axes((*am.navigation_axes, *am.signal_axes), "image")
    ab = result.abundances
    k = am.navigation_dimension
    if ab.axes_manager.signal_dimension != k + 2:
        raise ValueError(
            "`result` does not match `image`: its abundances have "
            f"{ab.axes_manager.signal_dimension} signal axes, expected {k + 2} "
            f"(the image's {k} navigation axes and the window grid)"
        )
    grid_axes = ab.axes_manager.signal_axes[:2]  # x, y of the window centres
    check_uniform_axes(grid_axes, "result.abundances")
    coords = []
    for g, img_ax in zip(grid_axes[::-1], am.signal_axes[::-1]):  # y, then x
        if str(g.units) != str(img_ax.units):
            raise ValueError(
                f"`result` and `image` have different units ({g.units!r} and "
                f"{img_ax.units!r}) along {img_ax.name!r}"
            )
        # fractional window-grid index of every image pixel centre
        coords.append((img_ax.axis - g.offset) / g.scale)
    # (n_phases, windows) is small: what the phase maps are made from
    return computed(ab.data).astype(np.float64), coords


def phase_maps(
    result: UnmixingResult, image: BaseSignal, *, order: int = 1
) -> BaseSignal:
    """Phase abundances interpolated from window centres onto image pixels.

    Parameters
    ----------
    result : hyperspy_unmix.UnmixingResult
        Unmixing of ``sliding_fft(image, ...)`` (its abundances' signal axes
        are the window centres, in the image's calibrated units).
    image : hyperspy.signal.BaseSignal
        The image (or image stack) the stack was made from; only its axes
        are used.
    order : {0, 1, 3}
        Interpolation order (nearest, bilinear, cubic spline). Pixels
        outside the grid of window centres (the image border, up to half a
        window wide) take the nearest window's values. Bilinear keeps the
        FCLS abundances non-negative and summing to one.

    Returns
    -------
    hyperspy.signals.Signal2D
        Data shape ``(n_phases, *image_navigation_shape, height, width)``:
        navigation axis "Phase index" (and the image's navigation axes),
        signal axes = the image's.
    """
    import hyperspy.api as hs
    from scipy.ndimage import map_coordinates

    _check_result(result)
    if order not in (0, 1, 3):
        raise ValueError(f"`order` must be 0, 1 or 3, got {order!r}")
    data, (cy, cx) = _abundance_grid(result, image)
    yy, xx = np.meshgrid(cy, cx, indexing="ij")
    coords = np.stack([yy, xx])
    lead = data.shape[:-2]
    maps = np.empty((*lead, len(cy), len(cx)), dtype=np.float32)
    for idx in np.ndindex(*lead):  # one map per phase (and image of a stack)
        maps[idx] = map_coordinates(data[idx], coords, order=order, mode="nearest")
    am = image.axes_manager
    axes = [index_axis(lead[0], "Phase index")]
    axes += [axis_dict(ax) for ax in am.navigation_axes[::-1]]
    axes += [axis_dict(ax) for ax in am.signal_axes[::-1]]
    out = hs.signals.Signal2D(maps, axes=axes)
    out.metadata.set_item("General.title", f"Phase maps of {title_of(image)}".strip())
    return add_provenance(out, "phase_maps", {"order": order})


def phase_labels(
    result: UnmixingResult, image: BaseSignal, *, order: int = 1
) -> BaseSignal:
    """Most abundant phase at every image pixel.

    Parameters
    ----------
    result, image, order
        As for :func:`phase_maps`.

    Returns
    -------
    hyperspy.signals.Signal2D
        Integer labels ``0 .. n_phases - 1``, data shape
        ``(*image_navigation_shape, height, width)``, the image's axes.
    """
    import hyperspy.api as hs

    maps = phase_maps(result, image, order=order)
    labels = np.argmax(maps.data, axis=0).astype(np.int32)
    am = image.axes_manager
    axes = [axis_dict(ax) for ax in am.navigation_axes[::-1]]
    axes += [axis_dict(ax) for ax in am.signal_axes[::-1]]
    out = hs.signals.Signal2D(labels, axes=axes)
    out.metadata.set_item("General.title", f"Phase labels of {title_of(image)}".strip())
    return add_provenance(out, "phase_labels", {"order": order})


def plot_phases(
    result: UnmixingResult,
    image: BaseSignal,
    *,
    alpha: float = 0.4,
    cmap: str = "tab10",
    figsize: tuple[float, float] | None = None,
):
    """The image with its phases overlaid, beside the phases' FFT patterns.

    Parameters
    ----------
    result : hyperspy_unmix.UnmixingResult
        Unmixing of ``sliding_fft(image, ...)``.
    image : hyperspy.signal.BaseSignal
        A single image (no navigation axes; plot a stack with
        ``image.inav[i]`` and the matching result).
    alpha : float
        Opacity of the phase colours over the image (0 to 1).
    cmap : str
        Matplotlib qualitative colormap for the phases.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Left: the image with the phase label map (most abundant phase at each
        pixel) in transparent colours; right: one panel per phase with its
        FFT pattern (endmember), framed in the phase's colour.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    _check_result(result)
    alpha = check_float(alpha, "alpha", minimum=0, maximum=1)
    check_signal(image, "image", signal_dimension=2)
    if image.axes_manager.navigation_dimension:
        raise ValueError(
            "`image` must be a single image (no navigation axes); for a stack, "
            "plot one image at a time"
        )
    labels = phase_labels(result, image).data
    n = result.abundances.data.shape[0]
    colours = plt.get_cmap(cmap)(np.arange(n) % plt.get_cmap(cmap).N)
    img_ax_x, img_ax_y = image.axes_manager.signal_axes
    extent = (
        img_ax_x.low_value - img_ax_x.scale / 2,
        img_ax_x.high_value + img_ax_x.scale / 2,
        img_ax_y.high_value + img_ax_y.scale / 2,
        img_ax_y.low_value - img_ax_y.scale / 2,
    )
    ncols = int(math.ceil(n / 2)) if n > 3 else 1
    nrows = min(n, 3) if n <= 3 else 2
    fig = plt.figure(figsize=figsize or (4.5 + 2.2 * ncols, 4.5), layout="constrained")
    grid = fig.add_gridspec(nrows, 2 + ncols, width_ratios=[1, 1] + [1] * ncols)
    ax = fig.add_subplot(grid[:, :2])
    values = computed(image.data)
    ax.imshow(values, cmap="gray", extent=extent, interpolation="nearest")
    ax.imshow(
        labels,
        cmap=ListedColormap(colours),
        vmin=-0.5,
        vmax=n - 0.5,
        alpha=alpha,
        extent=extent,
        interpolation="nearest",
    )
    ax.set_title(image.metadata.get_item("General.title", "") or "phases")
    ax.set_xlabel(axis_label(img_ax_x))
    ax.set_ylabel(axis_label(img_ax_y))
    end = result.endmembers
    kx, ky = end.axes_manager.signal_axes
    k_extent = (
        kx.low_value - kx.scale / 2,
        kx.high_value + kx.scale / 2,
        ky.high_value + ky.scale / 2,
        ky.low_value - ky.scale / 2,
    )
    patterns = computed(end.data)
    for i in range(n):
        pax = fig.add_subplot(grid[i % nrows, 2 + i // nrows])
        vmin, vmax = pattern_limits(patterns[i])
        im = pax.imshow(
            patterns[i], cmap="inferno", extent=k_extent, vmin=vmin, vmax=vmax
        )
        pax.set_title(f"phase {i}", color=colours[i], fontsize=9)
        pax.set_xlabel(axis_label(kx), fontsize=8)
        pax.set_ylabel(axis_label(ky), fontsize=8)
        pax.tick_params(labelsize=7)
        # an inset colour bar: a child of the panel, not another figure axes
        cax = pax.inset_axes([1.04, 0.0, 0.06, 1.0])
        fig.colorbar(im, cax=cax)
        cax.tick_params(labelsize=6)
        for spine in pax.spines.values():
            spine.set_edgecolor(colours[i])
            spine.set_linewidth(3)
    return fig


#: Percentiles of a pattern's values that span its colour scale.
PATTERN_PERCENTILES = (1.0, 99.5)


def pattern_limits(pattern: np.ndarray) -> tuple[float, float]:
    """Colour limits of an FFT pattern: its 1 and 99.5 percentiles.

    The zeroed centre (``remove_dc``) and other exact zeros are left out, so
    that the scale spans the pattern's background and its spots; autoscaling
    takes the zeroed centre as the minimum and washes the spots out.

    Parameters
    ----------
    pattern : ndarray of shape (ky, kx)

    Returns
    -------
    (float, float)
        ``vmin < vmax`` (equal values are widened by one unit).
    """
    values = np.asarray(pattern, dtype=np.float64).ravel()
    values = values[np.isfinite(values) & (values != 0)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(values, PATTERN_PERCENTILES)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    return float(lo), float(hi)
