"""Sliding-window FFT kernel: a stack of local FFT magnitudes of an image.

Recipe per window (the one pycroscopy's ``ImageWindowing`` gets wrong, see
CONVENTIONS.md): subtract the window mean, multiply by the taper, FFT, shift
the origin to the centre, magnitude (or power), ``log1p``.

How it is made fast, without a Python loop over windows:

* windows are a strided view of the image (no copy of the overlapping stack);
* blocks of a few hundred windows are gathered into a reused, cache-sized
  float32 buffer, mean-removed and tapered there, and transformed with one
  batched ``scipy.fft.rfft2`` call;
* only the half spectrum is computed (``rfft2``): the other half of the
  centred magnitude follows from Hermitian symmetry ``|F(-k)| = |F(k)|`` of a
  real input, so it is copied with reversed slices, not computed;
* ``fftshift`` and the crop are folded into those copies (a precomputed plan
  of slice-to-slice block copies), so every output value is written once,
  straight into a preallocated float32 output;
* blocks are spread over threads (numpy ufuncs and scipy.fft release the
  GIL), each thread reusing its own buffers: freshly allocated memory is
  slow to touch the first time on these machines.

No HyperSpy import here: arrays in, arrays out.
"""

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

NORMALIZATIONS = ("sum", "l2", "max")

# Bytes of window data gathered per block: a few MiB keeps the gather buffer,
# the half spectrum and the magnitude of one block inside L2/L3.
_BLOCK_BYTES = 4 * 2**20


def window_grid_shape(image_shape, window_shape, step):
    """Number of windows along y and x.

    Windows start at 0, step, 2 step, ... and must lie entirely inside the
    image, so the last ``(size - window) % step`` pixels may be left out.

    Parameters
    ----------
    image_shape : tuple of int
        (..., height, width); only the last two are used.
    window_shape, step : tuple of int
        (y, x) each.

    Returns
    -------
    tuple of int
        (n_windows_y, n_windows_x)
    """
    ny, nx = image_shape[-2:]
    return (
        (ny - window_shape[0]) // step[0] + 1,
        (nx - window_shape[1]) // step[1] + 1,
    )


def output_shape(image_shape, window_shape, step, crop_shape=None):
    """Shape of the stack: (..., n_windows_y, n_windows_x, out_y, out_x)."""
    crop_shape = tuple(window_shape) if crop_shape is None else tuple(crop_shape)
    return (
        *image_shape[:-2],
        *window_grid_shape(image_shape, window_shape, step),
        *crop_shape,
    )


def _runs(dst, src):
    """Split a 1-D index map ``dst -> src`` into runs copyable as slices.

    Returns a list of ``(dst_slice, src_slice)`` where along each run ``src``
    changes by +1 or -1 per output index (what fftshift and the Hermitian
    mirror produce).
    """
    out = []
    start = 0
    n = len(dst)
    while start < n:
        stop = start + 1
        step = int(src[stop] - src[start]) if stop < n else 1
        if step not in (1, -1):
            step = 1
        while (
            stop < n
            and src[stop] - src[stop - 1] == step
            and dst[stop] - dst[stop - 1] == 1
        ):
            stop += 1
        a, b = int(src[start]), int(src[stop - 1])
        src_slice = (
            slice(a, b + 1) if step == 1 else slice(a, b - 1 if b > 0 else None, -1)
        )
        out.append((slice(int(dst[start]), int(dst[stop - 1]) + 1), src_slice))
        start = stop
    return out


def copy_plan(window_shape, crop_shape, modulated=(False, False)):
    """How to build the centred, cropped magnitude from an rfft2 half spectrum.

    Output pixel (i, j) is frequency ``(i - crop_y // 2, j - crop_x // 2)``
    (the origin is at ``size // 2`` as after ``numpy.fft.fftshift``). Where
    the needed x frequency is not in the ``rfft2`` half spectrum it is read
    from the mirrored frequency, since the magnitude of the FFT of a real
    window is symmetric, ``|G(-k)| = |G(k)|``.

    Parameters
    ----------
    window_shape, crop_shape : tuple of int
        (y, x); ``crop_shape <= window_shape``.
    modulated : tuple of bool
        Whether the window was multiplied by ``(-1)**n`` along y / x (only
        for even sizes). That moves frequency ``k`` to ``k + size / 2``, i.e.
        it does the ``fftshift`` for free inside the taper and turns the copy
        into a few large slice copies.

    Returns
    -------
    col_lo, col_hi : int
        Half-spectrum columns ``[col_lo, col_hi)`` that are needed.
    blocks : list of tuple of slice
        ``(dst_rows, dst_cols, src_rows, src_cols)``; source columns are
        relative to ``col_lo``.
    """
    wy, wx = window_shape
    oy, ox = crop_shape
    shift_y = wy // 2 if modulated[0] else 0
    shift_x = wx // 2 if modulated[1] else 0
    gy = (np.arange(oy) - oy // 2 + shift_y) % wy  # row of the full spectrum
    gx = (np.arange(ox) - ox // 2 + shift_x) % wx
    direct = gx <= wx // 2  # present in the rfft2 half spectrum
    src_cols = np.where(direct, gx, (-gx) % wx)
    col_lo, col_hi = int(src_cols.min()), int(src_cols.max()) + 1
    dst_rows = np.arange(oy)
    blocks = []
    for sel, rows in ((direct, gy), (~direct, (-gy) % wy)):
        cols_dst = np.flatnonzero(sel)
        if cols_dst.size == 0:
            continue
        for dr, sr in _runs(dst_rows, rows):
            for dc, sc in _runs(cols_dst, src_cols[cols_dst] - col_lo):
                blocks.append((dr, dc, sr, sc))
    return col_lo, col_hi, blocks


def modulation(window_shape):
    """Which axes get the ``(-1)**n`` shift, and the sign pattern to apply.

    Returns
    -------
    modulated : tuple of bool
        Even-sized axes only (an odd size cannot be shifted by half).
    signs : ndarray of shape (win_y, win_x), float32, or None
    """
    modulated = tuple(w % 2 == 0 for w in window_shape)
    if not any(modulated):
        return modulated, None
    sy = (
        (-1.0) ** np.arange(window_shape[0])
        if modulated[0]
        else np.ones(window_shape[0])
    )
    sx = (
        (-1.0) ** np.arange(window_shape[1])
        if modulated[1]
        else np.ones(window_shape[1])
    )
    return modulated, np.outer(sy, sx).astype(np.float32)


def _dc_box(crop_shape, radius):
    """Box around the centre and the mask of pixels within ``radius`` of it."""
    oy, ox = crop_shape
    cy, cx = oy // 2, ox // 2
    r = int(radius)
    y0, y1 = max(cy - r, 0), min(cy + r + 1, oy)
    x0, x1 = max(cx - r, 0), min(cx + r + 1, ox)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    keep = ((yy - cy) ** 2 + (xx - cx) ** 2 > r * r).astype(np.float32)
    return (slice(y0, y1), slice(x0, x1)), keep


def _block_tasks(lead_shape, grid, window_shape):
    """Blocks of whole rows of windows (or pieces of a row for wide grids)."""
    nwy, nwx = grid
    per_block = max(1, _BLOCK_BYTES // (4 * window_shape[0] * window_shape[1]))
    if nwx >= per_block:
        rows, cols = 1, per_block
    else:
        rows, cols = max(1, per_block // nwx), nwx
    tasks = []
    for lead in np.ndindex(*lead_shape):
        for r0 in range(0, nwy, rows):
            for c0 in range(0, nwx, cols):
                tasks.append((lead, r0, min(r0 + rows, nwy), c0, min(c0 + cols, nwx)))
    return tasks, rows * cols


def sliding_fft_array(
    image,
    window_shape,
    step,
    *,
    taper=None,
    log=True,
    power=False,
    crop_shape=None,
    dc_radius=None,
    normalize=None,
    out=None,
    workers=None,
    progress=None,
):
    """Stack of centred local FFT magnitudes of an image (or image stack).

    Parameters
    ----------
    image : ndarray of shape (..., height, width)
        Real numbers (any real dtype; computed in float32 after the mean,
        which is taken in float64, is removed).
    window_shape : tuple of int
        (win_y, win_x), each >= 1 and <= the image size.
    step : tuple of int
        (step_y, step_x) >= 1 between window origins.
    taper : ndarray of shape (win_y, win_x) or None
        Apodization window multiplied after the mean removal; None = flat.
    log : bool
        ``log1p`` of the magnitude (or power).
    power : bool
        Squared magnitude instead of the magnitude.
    crop_shape : tuple of int or None
        (out_y, out_x): keep only this central part of reciprocal space.
    dc_radius : int or None
        Set pixels within this distance (in output pixels) of the origin to
        zero; 0 = only the origin, None = keep everything.
    normalize : {"sum", "l2", "max"} or None
        Scale every window's pattern (after log, crop and DC removal) to unit
        sum, unit Euclidean norm or unit maximum; all-zero patterns stay zero.
    out : ndarray, optional
        Float32, of the output shape (..., n_windows_y, n_windows_x, out_y, out_x).
        Preallocated output (written once, block by block).
    workers : int or None
        Threads; None = ``os.cpu_count()``.
    progress : callable, optional
        Called with the number of windows of each finished block (from the
        worker threads), e.g. a progress bar's ``update``.

    Returns
    -------
    ndarray of shape (..., n_windows_y, n_windows_x, out_y, out_x), float32
        Element ``[..., i, j, :, :]`` is the pattern of the window whose
        top-left pixel is ``(i * step_y, j * step_x)``; the zero frequency is
        at ``(out_y // 2, out_x // 2)``.
    """
    image = np.asarray(image)
    window_shape = tuple(int(w) for w in window_shape)
    step = tuple(int(s) for s in step)
    crop_shape = (
        window_shape if crop_shape is None else tuple(int(c) for c in crop_shape)
    )
    shape = output_shape(image.shape, window_shape, step, crop_shape)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32:
        raise ValueError(f"`out` must be float32 of shape {shape}")
    modulated, signs = modulation(window_shape)
    if taper is not None:
        taper = np.asarray(taper, dtype=np.float32)
        taper = taper if signs is None else taper * signs
    else:
        taper = signs
    wy, wx = window_shape
    grid = shape[-4:-2]
    lead_shape = image.shape[:-2]
    if 0 in out.shape:
        return out

    col_lo, col_hi, plan = copy_plan(window_shape, crop_shape, modulated)
    # Post-processing works on one assembled block before its single copy out.
    stage_needed = dc_radius is not None or normalize is not None
    dc = _dc_box(crop_shape, dc_radius) if dc_radius is not None else None
    tasks, block_size = _block_tasks(lead_shape, grid, window_shape)
    n_threads = max(1, min(int(workers or os.cpu_count() or 1), len(tasks)))
    # Strided views (no copy) of every image's windows.
    views = {
        lead: sliding_window_view(image[lead], window_shape)[:: step[0], :: step[1]]
        for lead in np.ndindex(*lead_shape)
    }

    # Input that float32 does not hold exactly (float64, 32- and 64-bit
    # integers): remove the mean in float64 before rounding to float32, so
    # that a large offset does not eat the precision of the variations.
    exact_mean = image.dtype.itemsize >= 4 and image.dtype != np.float32

    def run(my_tasks):
        buf = np.empty((block_size, wy, wx), dtype=np.float32)
        mag = np.empty((block_size, wy, col_hi - col_lo), dtype=np.float32)
        stage = (
            np.empty((block_size, *crop_shape), np.float32) if stage_needed else None
        )
        for lead, r0, r1, c0, c1 in my_tasks:
            nr, nc = r1 - r0, c1 - c0
            b = nr * nc
            win = views[lead][r0:r1, c0:c1]
            bb = buf[:b].reshape(nr, nc, wy, wx)
            if exact_mean:
                means = win.mean(axis=(-2, -1), dtype=np.float64)
                np.subtract(win, means[..., None, None], out=bb, casting="unsafe")
            else:
                # Gather once, then a pairwise float32 mean of the contiguous
                # copy (accurate to float32 rounding, and cache-resident).
                np.copyto(bb, win, casting="unsafe")
                bb -= bb.mean(axis=(-2, -1), keepdims=True)
            if taper is not None:
                np.multiply(bb, taper, out=bb)
            spec = scipy.fft.rfft2(buf[:b], workers=1, overwrite_x=True)
            m = mag[:b]
            np.abs(spec[..., col_lo:col_hi], out=m)
            if power:
                _square(m, log)
            elif log:
                np.log1p(m, out=m)
            m = m.reshape(nr, nc, *m.shape[1:])
            target = out[lead][r0:r1, c0:c1]
            dest = stage[:b].reshape(nr, nc, *crop_shape) if stage_needed else target
            for dr, dc_, sr, sc in plan:
                dest[..., dr, dc_] = m[..., sr, sc]
            if stage_needed:
                _post_process(stage[:b], dc, normalize)
                target[...] = dest
            if progress is not None:
                progress(b)

    if n_threads == 1:
        run(tasks)
    else:
        # Interleaved so that threads share the work evenly.
        list(_pool(n_threads).map(run, [tasks[i::n_threads] for i in range(n_threads)]))
    return out


@functools.lru_cache(maxsize=4)
def _pool(n_threads):
    """A kept thread pool: starting threads costs milliseconds on these VMs."""
    return ThreadPoolExecutor(n_threads, thread_name_prefix="hyperspy_unmix-fft")


def _post_process(patterns, dc, normalize):
    """DC removal and per-window normalisation of (b, out_y, out_x) in place."""
    if dc is not None:
        box, keep = dc
        sub = patterns[(slice(None), *box)]
        np.multiply(sub, keep, out=sub)
    if normalize is not None:
        flat = patterns.reshape(len(patterns), -1)
        if normalize == "sum":
            norm = flat.sum(axis=1, dtype=np.float64)
        elif normalize == "l2":
            norm = np.sqrt(np.einsum("ij,ij->i", flat, flat, dtype=np.float64))
        elif normalize == "max":
            norm = np.abs(flat).max(axis=1).astype(np.float64)
        else:
            raise ValueError(f"`normalize` must be one of {NORMALIZATIONS} or None")
        scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm != 0)
        flat *= scale[:, None].astype(np.float32)


# -- lazily, on dask arrays ---------------------------------------------------


def lazy_sliding_fft(data, kernel, window_shape, step, crop_shape, per_chunk):
    """Dask array of the stack, computed block by block from image tiles.

    The image is rechunked into tiles holding the origins of a block of
    windows (a multiple of the step), each tile is extended by the
    ``window - step`` pixels that its last windows reach into the next tile
    (``dask.array.overlap`` with an asymmetric depth, no boundary padding),
    and every extended tile gives exactly its block of the output.

    Parameters
    ----------
    data : dask.array.Array of shape (*lead, ny, nx)
    kernel : callable
        :func:`sliding_fft_array` with its options bound; called with
        ``workers=1`` per block (dask runs blocks in parallel).
    window_shape, step, crop_shape : (int, int)
    per_chunk : (int, int)
        Windows per output chunk along y and x.
    """
    import dask.array as da

    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks="auto")
    k = data.ndim - 2
    grid = output_shape(data.shape, window_shape, step, crop_shape)[k : k + 2]
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


# float32 squares overflow above sqrt(3.4e38) ~ 1.8e19
_SQUARE_SAFE = np.float32(1e18)


def _square(m, log):
    """``m**2`` in place (then ``log1p`` with ``log``), float32-safe.

    With ``log``, magnitudes whose squares would overflow float32 get
    ``log1p(m**2) = 2 log(m)`` (exact to rounding there); without it, an
    overflow is refused: the power spectrum cannot be held in float32.
    """
    big = m > _SQUARE_SAFE
    hot = m[big] if big.any() else None
    with np.errstate(over="ignore"):
        np.square(m, out=m)
    if log:
        np.log1p(m, out=m)
        if hot is not None:
            m[big] = 2 * np.log(hot)
    elif hot is not None:
        raise ValueError(
            "`power`=True: the squared FFT magnitudes of `image` overflow "
            f"float32 (magnitudes up to {float(hot.max()):.3g}); keep log=True "
            "or scale the image down"
        )
