"""Sliding-window FFT of images and phase maps from its unmixing.

``sliding_fft`` turns an image into a stack of local FFT magnitudes
(navigation = window position, signal = reciprocal space); unmixing that
stack with :func:`hyperspy_unmix.nfindr_unmix` gives the phases' FFT patterns
(endmembers) and where each phase is (abundances on the window grid).
``phase_maps`` puts those abundances back on the image's pixel grid and
``plot_phases`` overlays them on the image.
"""

import functools
import math
import numbers
import os

import numpy as np

from hyperspy_unmix._core.tapers import TAPERS, taper_2d
from hyperspy_unmix._core.windowed_fft import (
    NORMALIZATIONS,
    output_shape,
    sliding_fft_array,
)
from hyperspy_unmix._metadata import add_provenance, axis_dict
from hyperspy_unmix._validation import (
    check_choice,
    check_finite,
    check_int,
    check_signal,
    check_uniform_axes,
)

__all__ = ["sliding_fft", "segment_phases", "phase_maps", "phase_labels", "plot_phases"]

# Lazy output: about this many bytes of output per dask chunk.
_LAZY_CHUNK_BYTES = 16 * 2**20


def sliding_fft(
    image,
    window_size=64,
    step=16,
    *,
    window="hann",
    log=True,
    power=False,
    crop=None,
    zoom=None,
    remove_dc=False,
    normalize=None,
    tukey_alpha=0.5,
    allow_gaps=False,
    lazy_output=None,
    chunks=None,
    memory_limit=None,
    workers=None,
):
    """Stack of local FFT magnitudes of an image, one per window position.

    Every window is processed as: subtract the window mean, multiply by the
    taper, 2-D FFT, shift the zero frequency to the centre, magnitude (or
    power), ``log1p``; then optionally crop the centre of reciprocal space,
    zero the DC pixel(s) and normalise each window's pattern.

    Parameters
    ----------
    image : hyperspy.signal.BaseSignal
        Any signal with two signal dimensions (``Signal2D``,
        ``AtomicResolutionImage``, a stack of images...). Its navigation
        axes are kept in front of the window grid. Real, finite values,
        uniform axes.
    window_size : int or (int, int)
        Window height and width in pixels (>= 4, at most the image size).
    step : int or (int, int)
        Distance between neighbouring windows in pixels, along y and x
        (>= 1; larger than the window only with ``allow_gaps=True``).
        Windows start at pixel 0 and must fit inside the image: the last
        ``(size - window) % step`` pixels may not be covered.
    window : {"hann", "hamming", "blackman", "tukey"} or None
        Taper (apodization window), names as in
        :meth:`hyperspy.signal.BaseSignal.apply_apodization`; None = flat.
    log : bool
        ``log1p`` of the magnitude, which compresses the strong low
        frequencies so that the Bragg peaks count in the unmixing.
    power : bool
        Squared magnitude instead of the magnitude.
    crop : int or (int, int), optional
        Keep only the central ``crop`` pixels of reciprocal space (where the
        first Bragg orders are); shrinks the output accordingly.
    zoom : float >= 1, optional
        Alternative to ``crop``: keep the central ``1 / zoom`` of reciprocal
        space (``crop = round(window_size / zoom)``).
    remove_dc : bool or int
        Zero the zero-frequency pixel (True) or every pixel within this many
        pixels of it (an int). After the mean removal the DC is small but not
        zero (the taper is not flat), and the few pixels around it mostly hold
        the slowly varying background, not the lattice.
    normalize : {"sum", "l2", "max"} or None
        Scale every window's pattern (after log, crop and DC removal) to unit
        sum, unit Euclidean norm or unit maximum, so that windows differing
        only in contrast (thickness, scan noise) look alike to the unmixing.
    tukey_alpha : float
        Shape of the ``"tukey"`` taper (fraction inside the cosine part).
    allow_gaps : bool
        Accept a step larger than the window (pixels between windows are
        then never looked at).
    lazy_output : bool or None
        Return a dask-backed :class:`~hyperspy_unmix.signals.LazySlidingFFT`;
        None = lazy if ``image`` is lazy.
    chunks : int or (int, int), optional
        Lazy output: windows per dask chunk along y and x (default: about
        64 MiB per chunk); raised where needed so that a chunk's image tile
        is at least ``window - step`` pixels long.
    memory_limit : int, optional
        Largest in-memory output allowed, in bytes (default: half of the
        available memory). A larger output raises ``MemoryError`` before any
        work is done; use ``lazy_output=True`` instead.
    workers : int, optional
        Threads for the in-memory computation (default: all cores).

    Returns
    -------
    SlidingFFT or LazySlidingFFT
        Data of shape ``(*image_navigation_shape, n_windows_y, n_windows_x,
        out_y, out_x)``, float32, where ``out`` is the window size or the
        crop. Navigation axes: the image's, then the window centres in the
        image's calibrated units (scale ``step * pixel``, offset ``origin +
        (window - 1) / 2 * pixel``). Signal axes ``ky``, ``kx`` in reciprocal
        units (scale ``1 / (window * pixel)``, zero frequency at index
        ``out // 2``). ``metadata.Signal.FFT.shifted`` is True and the
        parameters are recorded in ``metadata.hyperspy_unmix``.

    Notes
    -----
    The zero frequency sits exactly at 0 on the signal axes for even and odd
    sizes (``offset = -(out // 2) * scale``). ``BaseSignal.fft(shift=True)``
    uses ``-(size - 1) / 2 * scale``, which for even sizes puts it half a
    pixel off 0.

    Examples
    --------
    >>> import hyperspy_unmix as hu
    >>> img, truth = hu.data.multiphase_lattice()            # doctest: +SKIP
    >>> stack = img.sliding_fft(window_size=48, step=8)      # doctest: +SKIP
    >>> res = stack.nfindr_unmix(2)                          # doctest: +SKIP
    >>> maps = hu.windowing.phase_maps(res, img)             # doctest: +SKIP
    """
    check_signal(image, "image", signal_dimension=2)
    am = image.axes_manager
    check_uniform_axes((*am.navigation_axes, *am.signal_axes), "image")
    ny, nx = am.signal_shape[::-1]
    window_shape = _pair(window_size, "window_size", minimum=4)
    if window_shape[0] > ny or window_shape[1] > nx:
        raise ValueError(
            f"`window_size` {window_shape} is larger than the image "
            f"({ny}, {nx}) (height, width)"
        )
    steps = _pair(step, "step", minimum=1)
    if not isinstance(allow_gaps, bool):
        raise TypeError(f"`allow_gaps` must be a bool, got {allow_gaps!r}")
    if not allow_gaps and (steps[0] > window_shape[0] or steps[1] > window_shape[1]):
        raise ValueError(
            f"`step` {steps} is larger than `window_size` {window_shape}: pixels "
            "between windows would never be looked at; pass allow_gaps=True to "
            "accept that"
        )
    check_choice(window, "window", (*TAPERS, None))
    for name, value in (("log", log), ("power", power)):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be a bool, got {value!r}")
    crop_shape = _crop_shape(crop, zoom, window_shape)
    dc_radius = _dc_radius(remove_dc)
    if normalize is not None:
        check_choice(normalize, "normalize", NORMALIZATIONS)
    if (
        isinstance(tukey_alpha, bool)
        or not isinstance(tukey_alpha, numbers.Real)
        or not 0 <= tukey_alpha <= 1
    ):
        raise ValueError(
            f"`tukey_alpha` must be a number in [0, 1], got {tukey_alpha!r}"
        )
    if lazy_output is None:
        lazy_output = bool(image._lazy)
    elif not isinstance(lazy_output, bool):
        raise TypeError(
            f"`lazy_output` must be True, False or None, got {lazy_output!r}"
        )
    if workers is not None:
        workers = check_int(workers, "workers", minimum=1)
    if chunks is not None:
        chunks = _pair(chunks, "chunks", minimum=1)

    shape = output_shape(image.data.shape, window_shape, steps, crop_shape)
    kernel = functools.partial(
        sliding_fft_array,
        window_shape=window_shape,
        step=steps,
        taper=None if window is None else taper_2d(window, window_shape, tukey_alpha),
        log=log,
        power=power,
        crop_shape=crop_shape,
        dc_radius=dc_radius,
        normalize=normalize,
    )
    if lazy_output:
        data = _lazy_stack(image.data, kernel, window_shape, steps, crop_shape, chunks)
    else:
        _check_memory(shape, memory_limit)
        values = image.data.compute() if image._lazy else image.data
        check_finite(values, "image")
        data = kernel(values, workers=workers)

    parameters = {
        "window_size": window_shape,
        "step": steps,
        "window": window,
        "tukey_alpha": tukey_alpha,
        "log": log,
        "power": power,
        "crop": None if crop_shape == window_shape else crop_shape,
        "remove_dc": remove_dc,
        "normalize": normalize,
        "allow_gaps": allow_gaps,
    }
    return _build_signal(image, data, window_shape, steps, crop_shape, parameters)


# --------------------------------------------------------------------------
# validation helpers


def _pair(value, name, minimum):
    """An int or a pair of ints -> (y, x)."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or a pair (y, x), got {value!r}")
        return tuple(check_int(v, name, minimum=minimum) for v in value)
    v = check_int(value, name, minimum=minimum)
    return (v, v)


def _crop_shape(crop, zoom, window_shape):
    if crop is not None and zoom is not None:
        raise ValueError("give `crop` or `zoom`, not both")
    if zoom is not None:
        if isinstance(zoom, bool) or not isinstance(zoom, numbers.Real) or zoom < 1:
            raise ValueError(f"`zoom` must be a number >= 1, got {zoom!r}")
        return tuple(max(1, int(round(w / zoom))) for w in window_shape)
    if crop is None:
        return window_shape
    shape = _pair(crop, "crop", minimum=1)
    if shape[0] > window_shape[0] or shape[1] > window_shape[1]:
        raise ValueError(f"`crop` {shape} must not exceed `window_size` {window_shape}")
    return shape


def _dc_radius(remove_dc):
    if isinstance(remove_dc, bool):
        return 0 if remove_dc else None
    return check_int(remove_dc, "remove_dc", minimum=0)


def _available_memory():
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil is a test extra only
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _check_memory(shape, memory_limit):
    need = 4 * math.prod(shape)
    if memory_limit is None:
        limit = _available_memory() // 2
    else:
        limit = check_int(memory_limit, "memory_limit", minimum=0)
    if need > limit:
        raise MemoryError(
            f"the sliding FFT stack {shape} (float32) needs {need / 2**30:.2f} GiB, "
            f"more than `memory_limit` ({limit / 2**30:.2f} GiB); pass "
            "lazy_output=True to compute it lazily (dask), or use a larger `step`, "
            "a `crop` or `zoom`"
        )


# --------------------------------------------------------------------------
# lazy computation


def _lazy_stack(data, kernel, window_shape, step, crop_shape, chunks):
    """Dask array of the stack, computed block by block from image tiles.

    The image is rechunked into tiles holding the origins of a block of
    windows (a multiple of the step), each tile is extended by the
    ``window - step`` pixels that its last windows reach into the next tile
    (``dask.array.overlap`` with an asymmetric depth, no boundary padding),
    and every extended tile gives exactly its block of the output.
    """
    import dask.array as da

    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks="auto")
    k = data.ndim - 2
    grid = output_shape(data.shape, window_shape, step, crop_shape)[k : k + 2]
    per_chunk = _lazy_chunk(chunks, crop_shape)
    tiles, out_chunks = [], []
    for axis in range(2):
        # A tile must be at least as long as the overlap it lends to the
        # previous one (window - step); the last tile always holds a window.
        w, st, n = window_shape[axis], step[axis], grid[axis]
        per = min(max(per_chunk[axis], -(-max(w - st, 0) // st), 1), n)
        sizes = [per] * (n // per) + ([n % per] if n % per else [])
        out_chunks.append(tuple(sizes))
        rows = [s * step[axis] for s in sizes]
        rows[-1] = data.shape[k + axis] - sum(rows[:-1])  # trailing pixels too
        tiles.append(tuple(rows))
    data = data.rechunk(data.chunks[:k] + tuple(tiles))
    depth = {i: 0 for i in range(k)}
    depth[k] = (0, max(0, window_shape[0] - step[0]))
    depth[k + 1] = (0, max(0, window_shape[1] - step[1]))
    extended = da.overlap.overlap(data, depth=depth, boundary="none")
    return da.map_blocks(
        _lazy_block,
        extended,
        kernel=kernel,
        dtype=np.float32,
        chunks=data.chunks[:k]
        + tuple(out_chunks)
        + ((crop_shape[0],), (crop_shape[1],)),
        new_axis=[k + 2, k + 3],
        meta=np.empty((0,) * (k + 4), dtype=np.float32),
    )


def _lazy_block(tile, kernel):
    if not np.all(np.isfinite(tile)):
        raise ValueError("`image` contains NaN or infinite values")
    # dask already runs blocks in parallel: one thread per block.
    return kernel(tile, workers=1)


def _lazy_chunk(chunks, crop_shape):
    if chunks is not None:
        return _pair(chunks, "chunks", minimum=1)
    per = max(1, _LAZY_CHUNK_BYTES // (4 * crop_shape[0] * crop_shape[1]))
    side = max(1, int(math.sqrt(per)))
    return (side, side)


# --------------------------------------------------------------------------
# result signal


@functools.lru_cache(maxsize=1)
def _unit_registry():
    import pint

    return pint.UnitRegistry()


def _reciprocal_units(units):
    """``nm`` -> ``1 / nm`` as BaseSignal.fft does; unknown units are kept."""
    try:
        ureg = _unit_registry()
        return "{:~}".format((ureg.parse_expression(str(units)) ** -1).units)
    except Exception:  # undefined or unparsable units: as HyperSpy, keep them
        return units


def _build_signal(image, data, window_shape, step, crop_shape, parameters):
    from hyperspy_unmix.signals import LazySlidingFFT, SlidingFFT

    am = image.axes_manager
    nav = [axis_dict(ax) for ax in am.navigation_axes[::-1]]  # array order
    ay, ax_ = am.signal_axes[1], am.signal_axes[0]
    k = len(nav)
    grid = data.shape[k : k + 2]
    taken = {d["name"] for d in nav}
    window_axes, freq_axes = [], []
    for axis, w, s, n, o, default in zip(
        (ay, ax_), window_shape, step, grid, crop_shape, ("y", "x")
    ):
        name = (
            axis.name if isinstance(axis.name, str) and axis.name not in taken else None
        )
        if name is None or name == "<undefined>":
            name = default if default not in taken else f"window {default}"
        taken.add(name)
        window_axes.append(
            axis_dict(
                axis,
                name=name,
                scale=s * axis.scale,
                offset=axis.offset + (w - 1) / 2 * axis.scale,
                size=n,
                navigate=True,
            )
        )
        kscale = 1.0 / (w * axis.scale)
        freq_axes.append(
            {
                "name": f"k{name}",
                "units": _reciprocal_units(axis.units),
                "scale": kscale,
                "offset": -(o // 2) * kscale,
                "size": o,
                "navigate": False,
            }
        )
    metadata = image.metadata.deepcopy().as_dictionary()
    if "hyperspy_unmix" in metadata:
        # how the image itself was made: kept, apart from our own record
        metadata["hyperspy_unmix"] = {"input": metadata["hyperspy_unmix"]}
    cls = LazySlidingFFT if not isinstance(data, np.ndarray) else SlidingFFT
    out = cls(data, axes=nav + window_axes + freq_axes, metadata=metadata)
    title = image.metadata.get_item("General.title", "") or ""
    out.metadata.set_item("General.title", f"Sliding FFT of {title}".strip())
    out.metadata.set_item("Signal.signal_type", "sliding_fft")
    out.metadata.set_item("Signal.FFT.shifted", True)
    if out.metadata.has_item("Signal.quantity"):
        out.metadata.Signal.__delattr__("quantity")
    return add_provenance(out, "sliding_fft", parameters)


# --------------------------------------------------------------------------
# segmentation: phase maps on the image grid

# Preprocessing that makes N-FINDR separate lattice phases well (measured on
# hyperspy_unmix.data.multiphase_lattice, see docs/phase_segmentation.rst):
# keep the central half of reciprocal space (first Bragg orders), zero the
# background around the DC, unit-sum patterns, PCA-denoised endmembers.
SEGMENTATION_DEFAULTS = {"zoom": 2, "remove_dc": 2, "normalize": "sum"}


def segment_phases(
    image,
    n_phases,
    window_size=64,
    step=16,
    *,
    endmember_estimate="denoised",
    random_state=None,
    show_progressbar=None,
    lazy_output=None,
    **kwargs,
):
    """Sliding FFT + N-FINDR with preprocessing tuned for phase segmentation.

    Equivalent to::

        stack = sliding_fft(image, window_size, step, zoom=2, remove_dc=2,
                            normalize="sum", **kwargs)
        nfindr_unmix(stack, n_phases, endmember_estimate="denoised")

    Parameters
    ----------
    image : hyperspy.signal.BaseSignal
        Image (two signal dimensions), as for :func:`sliding_fft`.
    n_phases : int
        Number of phases (endmembers), >= 2.
    window_size, step : int or (int, int)
        As for :func:`sliding_fft`; the window should hold several lattice
        periods (64 pixels for spacings of 8-12 pixels).
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
        (periods of at least 4 pixels along each axis stay inside),
        ``remove_dc=2`` and ``normalize="sum"``.

    Returns
    -------
    hyperspy_unmix.UnmixingResult
        ``endmembers``: the phases' FFT patterns; ``abundances``: phase
        fractions at the window centres. :func:`phase_maps` puts them on the
        image's pixel grid, :func:`plot_phases` overlays them on the image.
    """
    from hyperspy_unmix.unmixing import nfindr_unmix

    check_int(n_phases, "n_phases", minimum=2)
    options = dict(SEGMENTATION_DEFAULTS)
    if "crop" in kwargs:
        options.pop("zoom")
    options.update(kwargs)
    stack = sliding_fft(image, window_size, step, lazy_output=lazy_output, **options)
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
    data = ab.data
    if not isinstance(data, np.ndarray):
        # (n_phases, windows) is small: what the phase maps are made from
        data = data.compute()
    return np.asarray(data, dtype=np.float64), coords


def phase_maps(result, image, *, order=1):
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

    from hyperspy_unmix._metadata import index_axis

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
    title = image.metadata.get_item("General.title", "") or ""
    out.metadata.set_item("General.title", f"Phase maps of {title}".strip())
    return add_provenance(out, "phase_maps", {"order": order})


def phase_labels(result, image, *, order=1):
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
    title = image.metadata.get_item("General.title", "") or ""
    out.metadata.set_item("General.title", f"Phase labels of {title}".strip())
    return add_provenance(out, "phase_labels", {"order": order})


def plot_phases(result, image, *, alpha=0.4, cmap="tab10", figsize=None):
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
    if not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"`alpha` must be a number in [0, 1], got {alpha!r}")
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
    values = image.data.compute() if image._lazy else image.data
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
    ax.set_xlabel(_axis_label(img_ax_x))
    ax.set_ylabel(_axis_label(img_ax_y))
    end = result.endmembers
    kx, ky = end.axes_manager.signal_axes
    k_extent = (
        kx.low_value - kx.scale / 2,
        kx.high_value + kx.scale / 2,
        ky.high_value + ky.scale / 2,
        ky.low_value - ky.scale / 2,
    )
    patterns = end.data.compute() if end._lazy else end.data
    for i in range(n):
        pax = fig.add_subplot(grid[i % nrows, 2 + i // nrows])
        pax.imshow(patterns[i], cmap="inferno", extent=k_extent)
        pax.set_title(f"phase {i}", color=colours[i], fontsize=9)
        pax.set_xticks([])
        pax.set_yticks([])
        for spine in pax.spines.values():
            spine.set_edgecolor(colours[i])
            spine.set_linewidth(3)
    return fig


def _axis_label(axis):
    units = "" if str(axis.units) in ("", "<undefined>") else f" ({axis.units})"
    return f"{axis.name}{units}"
