"""Synthetic data larger than a cluster's memory, generated chunk by chunk.

Helpers of ``benchmarks/large_data.py``. Every block function is a
module-level function (picklable for dask.distributed workers); the full
arrays only ever exist on disk. Ground truth is kept at low resolution in the
client: per-pixel values are ``factor x factor`` repeats of it.
"""

import numpy as np

# -- spectrum image -----------------------------------------------------------


def spectrum_truth(nav_shape, n_channels, n_endmembers, dose, factor, seed):
    """Low-resolution abundances and the endmember spectra of the big map.

    Returns
    -------
    low : ndarray of shape (n_endmembers, ny // factor, nx // factor), float32
        Sum-to-one abundances with one planted pure patch per endmember
        (``hyperspy_unmix.data``'s generator), each low-resolution pixel a
        ``factor x factor`` square of identical full-resolution pixels.
    endmembers : ndarray of shape (n_endmembers, n_channels), float64
        Expected counts of a pure pixel (each spectrum sums to ``dose``).
    """
    from hyperspy_unmix.data._spectra import endmember_spectra, make_abundances

    ny, nx = nav_shape
    rng = np.random.default_rng(seed)
    low, _, _ = make_abundances((ny // factor, nx // factor), n_endmembers, rng)
    return low.astype(np.float32), endmember_spectra(n_channels, n_endmembers) * dose


def _spectra_block(low, ids, *, endmembers, factor, seed):
    """Poisson counts of one navigation block, (rows, cols, n_channels) float32."""
    a = np.repeat(np.repeat(low, factor, axis=1), factor, axis=2)  # (q, y, x)
    q, ny, nx = a.shape
    flat = a.reshape(q, -1).T.astype(np.float64)
    rng = np.random.default_rng([seed, int(ids.flat[0])])  # same block, same noise
    out = np.empty((ny * nx, endmembers.shape[1]), dtype=np.float32)
    step = 4096  # rows per draw: bounded float64 / int64 temporaries
    for start in range(0, ny * nx, step):
        expected = flat[start : start + step] @ endmembers
        out[start : start + step] = rng.poisson(expected)
    return out.reshape(ny, nx, -1)


def lazy_spectrum_image(low, endmembers, factor, rows, seed):
    """Dask array (ny, nx, n_channels) float32, one block per ``rows`` rows."""
    import dask.array as da

    q, ly, lx = low.shape
    lrows = rows // factor
    low_d = da.from_array(low, chunks=(q, lrows, lx))
    ids = da.arange(ly * lx, chunks=-1).reshape(ly, lx).rechunk((lrows, lx))
    return da.blockwise(
        _spectra_block,
        "yxc",
        low_d,
        "kyx",
        ids,
        "yx",
        new_axes={"c": endmembers.shape[1]},
        adjust_chunks={"y": lambda n: n * factor, "x": lambda n: n * factor},
        concatenate=True,
        dtype=np.float32,
        meta=np.empty((0, 0, 0), dtype=np.float32),
        endmembers=endmembers,
        factor=factor,
        seed=seed,
    )


def lazy_abundance_truth(low, factor, chunks):
    """Full-resolution true abundances (q, ny, nx), lazily repeated from ``low``."""
    import dask.array as da

    low_d = da.from_array(low, chunks=(low.shape[0], *(c // factor for c in chunks)))
    return da.map_blocks(
        _repeat2,
        low_d,
        factor=factor,
        chunks=(
            low.shape[0],
            *(tuple(n * factor for n in c) for c in low_d.chunks[1:]),
        ),
        dtype=low.dtype,
    )


def _repeat2(block, factor):
    return np.repeat(np.repeat(block, factor, axis=-2), factor, axis=-1)


# -- two-phase lattice image --------------------------------------------------


def lattice_truth(size, factor, seed):
    """Low-resolution phase labels (size // factor)^2 int8 of a 2-phase image."""
    from hyperspy_unmix.data._lattices import _phase_regions

    rng = np.random.default_rng(seed)
    return _phase_regions((size // factor, size // factor), 2, rng).astype(np.int8)


def _lattice_tile(ids, labels, *, factor, spacing, dimerization, noise, seed, tile):
    """Render one tile of the global two-phase lattice, (tile, tile) float32.

    The same recipe as ``hyperspy_unmix.data.multiphase_lattice`` (phase 1 is
    the dimerised lattice; its atoms closer than 0.6 spacing to a phase-0 atom
    are left out), evaluated on the atoms of a margin around the tile so
    that tiles join seamlessly.
    """
    from scipy.spatial import cKDTree

    from hyperspy_unmix.data._render import hexagonal_lattice, render_gaussians

    n_tiles_x = labels.shape[1] * factor // tile
    ty, tx = divmod(int(ids.flat[0]), n_tiles_x)
    y0, x0 = ty * tile, tx * tile
    sigma = 0.2 * spacing
    margin = int(np.ceil(4 * sigma)) + 2 * spacing
    origin = np.array([0.37, 0.61]) * spacing  # global lattice origin (x, y)
    size = labels.shape[0] * factor
    kept = []
    for k in range(2):
        pos, ij = hexagonal_lattice(
            (tile, tile), spacing, 0.0, origin - (x0, y0), margin=margin
        )
        if k == 1:
            shift = dimerization * spacing * np.where(ij[:, 0] % 2 == 0, 1.0, -1.0)
            pos = pos + shift[:, None] * np.array([1.0, 0.0])
        gx = np.clip(np.rint(pos[:, 0] + x0).astype(np.int64), 0, size - 1)
        gy = np.clip(np.rint(pos[:, 1] + y0).astype(np.int64), 0, size - 1)
        pos = pos[labels[gy // factor, gx // factor] == k]
        if k == 1 and len(kept[0]):
            dist, _ = cKDTree(kept[0]).query(pos, k=1)
            pos = pos[dist >= 0.6 * spacing]
        kept.append(pos)
    # render on the tile plus the reach of an atom, then crop: atoms just
    # outside the tile still light its edge pixels
    pos = np.concatenate(kept)
    reach = int(np.ceil(4 * sigma)) + 1
    near = np.all((pos > -reach + 0.5) & (pos < tile - 1 + reach - 0.5), axis=1)
    big = render_gaussians((tile + 2 * reach,) * 2, pos[near] + reach, sigma)
    image = big[reach : reach + tile, reach : reach + tile].copy()
    rng = np.random.default_rng([seed, ty, tx])
    image += 4 * noise + rng.normal(0.0, noise, size=image.shape)
    np.maximum(image, 0.0, out=image)
    return image.astype(np.float32)


def lazy_lattice_image(labels, factor, tile, seed, *, spacing=10, noise=0.3):
    """Dask array (size, size) float32 of the lattice, one block per tile."""
    import dask.array as da

    size = labels.shape[0] * factor
    n = size // tile
    ids = da.arange(n * n, chunks=1).reshape(n, n)
    lab = da.from_array(labels, chunks=-1)
    return da.blockwise(
        _lattice_tile,
        "yx",
        ids,
        "yx",
        lab,
        "ab",  # the whole (small) label map to every tile
        adjust_chunks={"y": tile, "x": tile},
        concatenate=True,
        dtype=np.float32,
        meta=np.empty((0, 0), dtype=np.float32),
        factor=factor,
        spacing=spacing,
        dimerization=0.1,
        noise=noise,
        seed=seed,
        tile=tile,
    )


def pure_windows(labels, factor, window, step, grid):
    """Phase of each window lying entirely in one phase, else -1, (ny, nx) int.

    From the low-resolution labels with 2-D prefix sums (no full-size map).
    """
    ones = (labels == 1).astype(np.int64)
    csum = np.zeros((ones.shape[0] + 1, ones.shape[1] + 1), dtype=np.int64)
    csum[1:, 1:] = ones.cumsum(0).cumsum(1)
    lo = [np.arange(n) * step // factor for n in grid]
    hi = [(np.arange(n) * step + window - 1) // factor + 1 for n in grid]
    y0, x0 = np.meshgrid(lo[0], lo[1], indexing="ij")
    y1, x1 = np.meshgrid(hi[0], hi[1], indexing="ij")
    count = csum[y1, x1] - csum[y0, x1] - csum[y1, x0] + csum[y0, x0]
    area = (y1 - y0) * (x1 - x0)
    return np.where(count == 0, 0, np.where(count == area, 1, -1))
