"""Sliding-window FFT of images: :func:`sliding_fft`.

``sliding_fft`` turns an image into a stack of local FFT magnitudes
(navigation = window position, signal = reciprocal space), a
:class:`~hyperspy_unmix.signals.SlidingFFT`; unmixing that stack with
:func:`hyperspy_unmix.nfindr_unmix` gives the phases' FFT patterns and where
each phase is (:mod:`hyperspy_unmix.phases` combines the two).
"""

from __future__ import annotations

import math
import os
from functools import partial
from typing import TYPE_CHECKING

from hyperspy_unmix._core.dtypes import remove_offset, working_dtype
from hyperspy_unmix._core.lattice import auto_window, estimate_spacing
from hyperspy_unmix._core.tapers import TAPERS, taper_2d
from hyperspy_unmix._core.windowed_fft import (
    NORMALIZATIONS,
    lazy_sliding_fft,
    output_shape,
    sliding_fft_array,
)
from hyperspy_unmix._progress import bar, wanted
from hyperspy_unmix._signal_io import (
    add_provenance,
    axis_dict,
    computed,
    is_lazy,
    make_signal,
    reciprocal_units,
    title_of,
)
from hyperspy_unmix._validation import (
    check_bool,
    check_choice,
    check_finite,
    check_float,
    check_int,
    check_pair,
    check_signal,
    check_uniform_axes,
    deprecated_alias,
)

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

__all__ = ["sliding_fft"]

# Lazy output: about this many bytes of output per dask chunk.
_LAZY_CHUNK_BYTES = 16 * 2**20


def sliding_fft(
    image: BaseSignal,
    window_size: int | tuple[int, int] | str = 64,
    step: int | tuple[int, int] | None = None,
    *,
    window: str | None = "hann",
    log: bool = True,
    power: bool = False,
    crop: int | tuple[int, int] | None = None,
    zoom: float | None = None,
    remove_dc: bool | int = False,
    normalize: str | None = None,
    tukey_alpha: float = 0.5,
    allow_gaps: bool = False,
    lazy_output: bool | None = None,
    chunks: int | tuple[int, int] | None = None,
    memory_limit: int | None = None,
    num_workers: int | None = None,
    show_progressbar: bool | None = None,
    workers: int | None = None,
) -> BaseSignal:
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
        axes are kept in front of the window grid. Real, finite values
        (any real dtype: float16, bool and integers are converted to
        float32/float64; the first value of a 32/64-bit integer image is
        subtracted in integer arithmetic first, so a large detector offset
        costs no precision, eagerly and lazily, block by block; each
        window's mean is removed anyway), uniform axes. Complex data are
        refused (TypeError).
    window_size : int, (int, int) or "auto"
        Window height and width in pixels (>= 4, at most the image size).
        "auto": from the lattice spacing estimated on the (central 512 x
        512 crop of the first) image's autocorrelation
        (:func:`hyperspy_unmix._core.lattice.auto_window`: 4.5 periods,
        a multiple of 4, capped at the image size); ``step`` (window / 8)
        and ``zoom`` (window / 32) follow unless given (``crop`` given: no
        zoom). The choice is recorded in ``metadata.hyperspy_unmix.parameters``
        (``window_size``, ``step``, ``crop``, ``zoom``, ``lattice_spacing``
        and ``window_size_requested="auto"``); nothing is printed.
    step : int, (int, int) or None
        Distance between neighbouring windows in pixels, along y and x
        (>= 1; larger than the window only with ``allow_gaps=True``).
        None: 16, or the automatic step with ``window_size="auto"``.
        Windows start at pixel 0 and must fit inside the image: the last
        ``(size - window) % step`` pixels may not be covered.
    window : {"hann", "hamming", "blackman", "tukey"} or None
        Taper (apodization window), names as in
        :meth:`hyperspy.api.signals.BaseSignal.apply_apodization`; None = flat.
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
    num_workers : int, optional
        Threads for the in-memory computation (default: all cores), as
        HyperSpy's ``map(num_workers=...)``.
    show_progressbar : None or bool
        A progress bar over the windows of an in-memory computation (a lazy
        stack computes nothing here). None follows
        ``hs.preferences.General.show_progressbar`` and is quiet on stacks of
        fewer than 2**24 values; True always shows it, False never.
    workers : int, optional
        Deprecated name of ``num_workers`` (removed in 0.3).

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
    >>> maps = hu.phase_maps(res, img)                       # doctest: +SKIP
    """
    check_signal(image, "image", signal_dimension=2)
    am = image.axes_manager
    check_uniform_axes((*am.navigation_axes, *am.signal_axes), "image")
    ny, nx = am.signal_shape[::-1]
    working_dtype(image.data.dtype, "image")  # complex...: TypeError
    auto = None
    if isinstance(window_size, str):
        if window_size != "auto":
            raise ValueError(
                f"`window_size` must be 'auto', an int or (int, int), got "
                f"{window_size!r}"
            )
        auto = _auto_window(image, (ny, nx))
        window_size = auto["window_size"]
        if step is None:
            step = auto["step"]
        if zoom is None and crop is None:
            zoom = auto["zoom"]
    if step is None:
        step = 16
    window_shape = check_pair(window_size, "window_size", minimum=4)
    if window_shape[0] > ny or window_shape[1] > nx:
        raise ValueError(
            f"`window_size` {window_shape} is larger than the image "
            f"({ny}, {nx}) (height, width)"
        )
    steps = check_pair(step, "step", minimum=1)
    allow_gaps = check_bool(allow_gaps, "allow_gaps")
    if not allow_gaps and (steps[0] > window_shape[0] or steps[1] > window_shape[1]):
        raise ValueError(
            f"`step` {steps} is larger than `window_size` {window_shape}: pixels "
            "between windows would never be looked at; pass allow_gaps=True to "
            "accept that"
        )
    check_choice(window, "window", (*TAPERS, None))
    log = check_bool(log, "log")
    power = check_bool(power, "power")
    crop_shape = _crop_shape(crop, zoom, window_shape)
    dc_radius = _dc_radius(remove_dc)
    if normalize is not None:
        check_choice(normalize, "normalize", NORMALIZATIONS)
    tukey_alpha = check_float(tukey_alpha, "tukey_alpha", minimum=0, maximum=1)
    lazy_output = check_bool(lazy_output, "lazy_output", allow_none=True)
    check_bool(show_progressbar, "show_progressbar", allow_none=True)
    if lazy_output is None:
        lazy_output = is_lazy(image)
    num_workers = deprecated_alias(workers, "workers", num_workers, "num_workers", None)
    if num_workers is not None:
        num_workers = check_int(num_workers, "num_workers", minimum=1)
    if chunks is not None:
        chunks = check_pair(chunks, "chunks", minimum=1)

    shape = output_shape(image.data.shape, window_shape, steps, crop_shape)
    kernel = partial(
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
        # the offset removed exactly, block by block (see _core.dtypes)
        data = lazy_sliding_fft(
            remove_offset(image.data, name="image")[0],
            kernel,
            window_shape,
            steps,
            crop_shape,
            _lazy_chunk(chunks, crop_shape),
        )
    else:
        _check_memory(shape, memory_limit)
        values, _ = remove_offset(computed(image.data), name="image")
        check_finite(values, "image")
        n_windows = math.prod(shape[:-2])
        ticker = bar(
            wanted(show_progressbar, math.prod(shape)),
            n_windows,
            "sliding_fft",
            unit="windows",
        )
        data = kernel(values, workers=num_workers, progress=ticker.update)
        ticker.close()

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
    if auto is not None:  # what "auto" chose, and from which spacing
        parameters["window_size_requested"] = "auto"
        parameters["lattice_spacing"] = auto["spacing"]
        parameters["zoom"] = zoom
    return _build_signal(image, data, window_shape, steps, crop_shape, parameters)


# --------------------------------------------------------------------------
# validation helpers


def _auto_window(image, shape):
    """``auto_window`` of the lattice spacing of the (first) image, with
    the spacing it came from."""
    data = image.data
    while data.ndim > 2:  # a stack: its first image
        data = data[0]
    try:
        spacing = estimate_spacing(data, max_size=512)
    except ValueError:
        raise ValueError(
            "`window_size`='auto': no lattice spacing found in the image's "
            "autocorrelation; give `window_size`"
        ) from None
    chosen = auto_window(spacing, image_shape=shape)
    return {"spacing": float(spacing), **chosen}


def _crop_shape(crop, zoom, window_shape):
    if crop is not None and zoom is not None:
        raise ValueError("give `crop` or `zoom`, not both")
    if zoom is not None:
        zoom = check_float(zoom, "zoom", minimum=1)
        return tuple(max(1, int(round(w / zoom))) for w in window_shape)
    if crop is None:
        return window_shape
    shape = check_pair(crop, "crop", minimum=1)
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
# result signal


def _lazy_chunk(chunks, crop_shape):
    """Windows per lazy output chunk along y and x (about 16 MiB by default)."""
    if chunks is not None:
        return chunks
    per = max(1, _LAZY_CHUNK_BYTES // (4 * crop_shape[0] * crop_shape[1]))
    side = max(1, int(math.sqrt(per)))
    return (side, side)


def _build_signal(image, data, window_shape, step, crop_shape, parameters):
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
                "units": reciprocal_units(axis.units),
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
    # the registered class (SlidingFFT or its Lazy twin) through HyperSpy's
    # own lookup: this api module does not import the signal classes
    out = make_signal(data, nav + window_axes + freq_axes, metadata, "sliding_fft")
    out.metadata.set_item("General.title", f"Sliding FFT of {title_of(image)}".strip())
    out.metadata.set_item("Signal.FFT.shifted", True)
    if out.metadata.has_item("Signal.quantity"):
        out.metadata.Signal.__delattr__("quantity")
    return add_provenance(out, "sliding_fft", parameters)
