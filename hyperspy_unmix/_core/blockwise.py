"""Dask block kernels: whole navigation blocks in, small per-pixel tables out.

Every lazy pass of the package is a graph of these module-level functions
(picklable, so a dask.distributed cluster runs them on its workers), one
task per navigation block: the channel moments summed in a tree
(:func:`lazy_moments`), the projections of every pixel on a few directions
(:func:`project`), and the abundances per block (:func:`unmix`,
:func:`unmix_projected`). Only ``(C + 2) x C`` sums and ``q + 1`` numbers per
pixel travel; the data stay where dask reads them.
"""

import numpy as np

from hyperspy_unmix._core import abundances as _ab
from hyperspy_unmix._core.pca import _accumulate, pca_sample


def as_flat(data, nav_shape, n_ch):
    """Dask array ``(*nav_shape, n_ch)``: whole spectra (patterns) per block."""
    import dask.array as da

    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks="auto")
    nd = len(nav_shape)
    data = data.rechunk({i: -1 for i in range(nd, data.ndim)})
    return data.reshape(*nav_shape, n_ch)


def keep_blocks(nav_keep, nav_shape, flat):
    """The keep mask as a dask array chunked like the navigation (or None).

    Only with a mask: an extra input to every block changes dask's task
    order (all data blocks may be computed before any is consumed).
    """
    if nav_keep is None:
        return None
    import dask.array as da

    nd = len(nav_shape)
    return da.from_array(nav_keep.reshape(nav_shape), chunks=flat.chunks[:nd])


def nav_blockwise(func, flat, keep, width, **kwargs):
    """``func(block, keep_block)`` per navigation block -> (*nav, width) float64."""
    import dask.array as da

    nd = flat.ndim - 1
    nav = tuple(range(nd))
    args = [flat, (*nav, nd)]
    if keep is not None:
        args += [keep, nav]
    return da.blockwise(
        func,
        (*nav, nd + 1),
        *args,
        new_axes={nd + 1: width},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0,) * (nd + 1)),
        **kwargs,
    )


def first_block_mean(flat, nav_keep, nav_shape, cols):
    """Mean of the used pixels of the first block holding one (the Gram shift)."""
    first = 0 if nav_keep is None else int(np.argmax(nav_keep))
    sl = []
    for i, chunks in zip(np.unravel_index(first, nav_shape), flat.chunks):
        bounds = np.cumsum((0, *chunks))
        b = int(np.searchsorted(bounds, i, side="right")) - 1
        sl.append(slice(int(bounds[b]), int(bounds[b + 1])))
    sl = tuple(sl)
    rows = np.asarray(flat[sl].compute()).reshape(-1, flat.shape[-1])
    if nav_keep is not None:
        rows = rows[nav_keep.reshape(nav_shape)[sl].ravel()]
    if cols is not None:
        rows = rows[:, cols]
    with np.errstate(over="ignore", invalid="ignore"):  # NaN/inf: checked later
        return rows.mean(axis=0, dtype=np.float64)


def block_project(x, keep=None, *, W, columns, norms):
    """Per pixel ``x . W^T`` (and ``x . x``) in float64; NaN rows where masked."""
    shape = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    m = None if keep is None else keep.ravel()
    out = np.full((flat.shape[0], W.shape[0] + norms), np.nan)
    if m is None or m.any():
        c, xx = _ab.projections(flat, W, columns=columns, norms=norms, rows=m)
        rows = slice(None) if m is None else m
        out[rows, : W.shape[0]] = c
        if norms:
            out[rows, -1] = xx
    return out.reshape(*shape, -1)


def block_reduction_projections(x, keep=None, *, V, centre, columns):
    """``[x V^T, x . centre, x . 1, x . x]`` per pixel; NaN rows where masked."""
    shape = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    m = None if keep is None else keep.ravel()
    out = np.full((flat.shape[0], V.shape[0] + 3), np.nan)
    if m is None or m.any():
        rows = slice(None) if m is None else m
        out[rows] = _ab.reduction_projections(flat, V, centre, columns=columns, rows=m)
    return out.reshape(*shape, -1)


def gather(arr):
    """A small dask array as numpy, each block sent straight to this process.

    ``arr.compute()`` on a dask.distributed cluster first concatenates every
    block on one worker (moving half of them between workers) and then sends
    the whole; fetching the blocks and joining them here moves each once.
    The result is a new array (``np.block`` copies, even a single block).
    """
    import dask

    blocks = arr.to_delayed()
    parts = np.empty(blocks.shape, dtype=object)
    for i, part in zip(np.ndindex(blocks.shape), dask.compute(*blocks.ravel())):
        parts[i] = part
    return np.block(parts.tolist())


def block_unmix(x, keep=None, *, E, method, columns):
    """Abundances and residual of one navigation block, (*block_nav, q + 1)."""
    q = E.shape[0]
    shape = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    m = None if keep is None else keep.ravel()
    out = np.full((flat.shape[0], q + 1), np.nan)
    if m is None or m.any():
        a, rr = _ab.unmix(flat, E, method, columns=columns, rows=m)
        rows = slice(None) if m is None else m
        out[rows, :q] = a
        out[rows, q] = rr
    return out.reshape(*shape, q + 1)


def merge_rows(proj, pixels=1 << 18):
    """Projections in blocks of about ``pixels`` pixels (whole blocks merged).

    They are ``q + 1`` numbers per pixel, so blocks of data-sized chunks are
    small: merging them along the first navigation axis makes fewer solver
    calls and tasks (per-call and per-task overheads dominate at that size).
    """
    nd = proj.ndim - 1
    rows_max = max(
        proj.chunksize[0], pixels // max(int(np.prod(proj.chunksize[1:nd])), 1)
    )
    merged, count = [], 0
    for c in proj.chunks[0]:
        if merged and count + c <= rows_max:
            merged[-1] += c
            count += c
        else:
            merged.append(c)
            count = c
    return proj.rechunk({0: tuple(merged)})


def block_unmix_projected(p, *, S, G, method, n_used):
    """Abundances and residual from ``[x V^T, x . centre, x . x]`` rows."""
    q = S.shape[0]
    shape = p.shape[:-1]
    flat = p.reshape(-1, p.shape[-1])
    ok = np.isfinite(flat[:, -1])
    if ok.all():  # no masked pixel: no copies in and out
        c = flat[:, -2:-1] + flat[:, :-2] @ S.T
        a, rr = _ab.from_projections(G, c, flat[:, -1], method, n_used)
        return np.column_stack([a, rr]).reshape(*shape, q + 1)
    out = np.full((flat.shape[0], q + 1), np.nan)
    if ok.any():
        rows = flat[ok]
        c = rows[:, -2:-1] + rows[:, :-2] @ S.T
        a, rr = _ab.from_projections(G, c, rows[:, -1], method, n_used)
        out[ok, :q] = a
        out[ok, q] = rr
    return out.reshape(*shape, q + 1)


def block_moments(
    x, keep=None, *, shift, columns=None, fraction=1.0, nav_shape=None, block_info=None
):
    """Count, column sums and Gram matrix of one navigation block.

    Parameters
    ----------
    x : ndarray of shape (*block_navigation_shape, n_channels)
    keep : None or ndarray of bool of shape block_navigation_shape
        Pixels used (all when None).
    shift : ndarray of shape (n_used,)
    columns : None or ndarray of int of shape (n_used,)
    fraction : float
        Below 1, only the block's pixels in :func:`pca_sample` are used
        (their flat index in ``nav_shape`` is found from ``block_info``).
    nav_shape : None or tuple of int
    block_info : None or dict
        Given by :func:`dask.array.map_blocks`.

    Returns
    -------
    ndarray of shape (1, ..., 1, n_used + 2, n_used), float64
        Row 0 holds the pixel count (first entry), row 1 the column sums of
        ``x - shift``, rows 2: its Gram matrix: sums that add up over blocks.
    """
    nd = x.ndim - 1
    flat = x.reshape(-1, x.shape[-1])
    sel = None if keep is None else keep.ravel()
    if fraction < 1:
        loc = block_info[0]["array-location"][:nd]
        grid = np.meshgrid(*(np.arange(a, b) for a, b in loc), indexing="ij")
        picked = pca_sample(np.ravel_multi_index(grid, nav_shape).ravel(), fraction)
        sel = picked if sel is None else sel & picked
    rows = None if sel is None else np.flatnonzero(sel)
    if columns is not None:
        # one gather of the used rows and columns
        flat = flat[:, columns] if rows is None else flat[np.ix_(rows, columns)]
        rows = None
    c = flat.shape[1]
    n = flat.shape[0] if rows is None else len(rows)
    out = np.zeros((c + 2, c))
    out[0, 0] = n
    if n:
        _accumulate(flat, shift, out[1], out[2:], rows)
    return out.reshape((1,) * nd + out.shape)


def lazy_moments(data, keep=None, columns=None, shift=None, fraction=1.0):
    """Summed :func:`block_moments` of a dask array, still lazy.

    Parameters
    ----------
    data : dask.array.Array of shape (*navigation_shape, n_channels)
        The channel axis in one chunk.
    keep : None or dask.array.Array of bool of shape navigation_shape
        Chunked like ``data``'s navigation axes.
    columns : None or ndarray of int
    shift : ndarray of shape (n_used,)
        Subtracted before the sums (a typical spectrum, e.g. the mean of one
        block), so the covariance loses no digits to a large mean.
    fraction : float
        Below 1, only the pixels in :func:`pca_sample` (and ``keep``) are
        used; with ``keep`` given, fold the sample into it instead.

    Returns
    -------
    dask.array.Array of shape (n_used + 2, n_used)
        One task per navigation block, then a tree sum: the blocks are read
        once, where the scheduler runs them (threads, processes or a
        dask.distributed cluster), and only ``(C + 2) x C`` numbers per block
        travel.
    """
    import dask.array as da

    nd = data.ndim - 1
    n_used = data.shape[-1] if columns is None else len(columns)
    nav = tuple(range(nd))
    kwargs = {"shift": np.asarray(shift, dtype=np.float64), "columns": columns}
    if keep is None:
        # map_blocks: the block's position (block_info) picks its sample
        chunks = tuple((1,) * len(c) for c in data.chunks[:nd])
        parts = data.map_blocks(
            block_moments,
            new_axis=nd + 1,
            chunks=(*chunks, (n_used + 2,), (n_used,)),
            dtype=np.float64,
            meta=np.empty((0,) * (nd + 2)),
            fraction=fraction,
            nav_shape=tuple(data.shape[:nd]),
            **kwargs,
        )
    else:
        if fraction < 1:
            raise ValueError("with `keep`, fold the sample into it")
        parts = da.blockwise(
            block_moments,
            (*nav, nd + 1, nd + 2),
            data,
            (*nav, nd),
            keep,
            nav,
            new_axes={nd + 1: n_used + 2, nd + 2: n_used},
            adjust_chunks={i: 1 for i in nav},
            concatenate=True,
            dtype=np.float64,
            meta=np.empty((0,) * (nd + 2)),
            **kwargs,
        )
    return parts.sum(axis=nav, split_every=_fan_in(data.numblocks[:nd], n_used))


def _fan_in(numblocks, n_used):
    """Per-axis ``split_every`` of the moments' tree sum.

    About 8 block sums per task (fewer when one is over 32 MiB, so that a
    task holds at most ~256 MiB), counted over the navigation axes that have
    several blocks. (An int ``split_every`` is shared between the axes: 8
    gave a nearly binary tree, one task per block; and dask needs >= 2 on
    every axis.)
    """
    size = (n_used + 2) * n_used * 8
    total = int(np.clip((1 << 28) // size, 2, 8))
    factors = dict.fromkeys(range(len(numblocks)), 2)
    several = [i for i, n in enumerate(numblocks) if n > 1]
    if several:
        longest = max(several, key=lambda i: numblocks[i])
        factors[longest] = max(2, total // 2 ** (len(several) - 1))
    return factors


def da_blockwise_sum(func, args, nd, width, **kwargs):
    """``func`` per navigation block (returning ``(1, ..., 1, width)``), summed.

    ``args`` are ``blockwise`` pairs (array, index) of arrays chunked along
    the ``nd`` navigation axes; the result is a lazy ``(width,)`` array.
    """
    import dask.array as da

    nav = tuple(range(nd))
    parts = da.blockwise(
        func,
        (*nav, nd + 1),
        *args,
        new_axes={nd + 1: width},
        adjust_chunks={i: 1 for i in nav},
        concatenate=True,
        dtype=np.float64,
        meta=np.empty((0,) * (nd + 1)),
        **kwargs,
    )
    return parts.sum(axis=nav)
