"""Atom positions for :func:`hyperspy_unmix.neighborhood_pca`.

- :func:`estimate_spacing`: the nearest-neighbour distance from the image's
  autocorrelation, and the peak-finder separation derived from it;
- :func:`find_atoms`: Atomap's ``get_atom_positions``, on the whole image or on
  overlapping tiles run in parallel (Atomap's cost grows much faster than
  linearly with the number of atoms, so many small tiles are far cheaper than
  one big image);
- :func:`refine_positions`: vectorised centre of mass, Atomap's 2-D Gaussians,
  or nothing;
- :func:`positions_from`: (N, 2) arrays, Atomap ``Sublattice`` and
  ``Atom_Lattice`` objects.

Atomap is imported inside the functions that need it (about 1.8 s).
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.spatial import cKDTree

from hyperspy_unmix._core.atom_quality import atom_quality, noise_level
from hyperspy_unmix._core.lattice import estimate_spacing  # noqa: F401 (api)
from hyperspy_unmix._core.refinement import refine_center_of_mass
from hyperspy_unmix._signal_io import is_lazy

#: Peak-finder separation as a fraction of the nearest-neighbour distance.
#: ``peak_local_max`` keeps peaks more than ``separation`` apart in the
#: Chebyshev (max-|d|) metric, and a neighbour at 45 degrees is only
#: ``d / sqrt(2)`` away in that metric. 0.4 keeps every neighbour down to
#: ``d = 0.57 a`` whatever the orientation, which real, distorted lattices
#: need (the MoReS2 alloy's metal atoms cluster to ``0.8 a`` and closer: 0.6
#: lost a quarter of them), while on the synthetic lattices it found no noise
#: maxima at noise levels up to 15 % of the atom peak.
SEPARATION_FRACTION = 0.4


def separation_from_spacing(spacing):
    """Atomap's ``separation`` (int, >= 1) for a nearest-neighbour distance."""
    return max(1, int(SEPARATION_FRACTION * spacing))


def _atomap_find(data, separation, threshold_rel):
    import hyperspy.api as hs
    from atomap.atom_finding_refining import get_atom_positions

    found = get_atom_positions(
        hs.signals.Signal2D(data), separation=separation, threshold_rel=threshold_rel
    )
    return np.asarray(found, dtype=float).reshape(-1, 2)


def _tile_starts(size, core):
    return list(range(0, size, core))


def tile_core(shape, separation, tile_size="auto"):
    """Core size of the tiles :func:`find_atoms` uses, or None (no tiling).

    "auto": ``40 * separation / 0.4`` pixels (about 1600 atoms per tile)
    clipped to [256, 1024], and no tiling for images less than two tiles
    wide. None: no tiling. An int: that core size.
    """
    ny, nx = shape
    if tile_size == "auto":
        core = int(np.clip(40 * separation / SEPARATION_FRACTION, 256, 1024))
        if max(ny, nx) < 2 * core:
            core = None
    else:
        core = None if tile_size is None else int(tile_size)
    if core is not None and ny <= core and nx <= core:
        core = None
    return core


def data_range(data):
    """``(min, max, all finite)`` of an image; one streaming pass for dask."""
    if is_lazy(data):
        import dask
        import dask.array as da

        dmin, dmax, finite = dask.compute(
            data.min(), data.max(), da.isfinite(data).all()
        )
    else:
        dmin, dmax, finite = data.min(), data.max(), np.isfinite(data).all()
    return float(dmin), float(dmax), bool(finite)


def _find_tile(region, origin, core_box, separation, threshold):
    """Atoms of one tile whose peak pixel lies in the tile's core.

    Module level (and only plain arguments) so that dask can ship it to
    distributed workers.

    Parameters
    ----------
    region : ndarray of shape (h, w)
        The tile's core plus overlap, cut from the image.
    origin : (int, int)
        y, x of ``region[0, 0]`` in the image.
    core_box : (int, int, int, int)
        y0, y1, x0, x1 of the core in the image (half-open).
    separation : int
    threshold : float
        The whole image's peak threshold.

    Returns
    -------
    ndarray of shape (n, 3)
        x, y (image pixels) and the pixel value of each atom.
    """
    region = np.asarray(region)
    sub = np.asarray(region, dtype=np.float64) - threshold
    if sub.size == 0 or sub.max() <= 0:
        return np.empty((0, 3))
    local = _atomap_find(sub, separation, 0.0)
    y0, x0 = origin
    cy0, cy1, cx0, cx1 = core_box
    x, y = local[:, 0] + x0, local[:, 1] + y0
    own = (x >= cx0) & (x < cx1) & (y >= cy0) & (y < cy1)
    local = local[own]
    values = region[local[:, 1].astype(int), local[:, 0].astype(int)]
    return np.column_stack([x[own], y[own], values.astype(np.float64)])


def find_atoms(
    data,
    separation,
    *,
    threshold_rel=0.02,
    tile_size="auto",
    overlap=None,
    n_jobs=None,
    value_range=None,
):
    """Find atoms with Atomap's ``get_atom_positions``, tiled for big images.

    Parameters
    ----------
    data : ndarray or dask.array.Array of shape (ny, nx)
        A dask array is read tile by tile: each tile's region (core plus
        overlap) is computed on its own, in dask tasks (so a
        ``dask.distributed`` client runs them on its workers), and only the
        atom table is gathered; the image is never loaded whole (except a
        lazy image less than two tiles wide, which is loaded: at most about
        2048 x 2048 pixels).
    separation : int
        Minimum distance between atoms in pixels (Atomap's ``separation``).
    threshold_rel : float
        Peaks below ``threshold_rel * data.max()`` (or below the image
        minimum) are ignored, as in Atomap. With tiles the threshold is the
        one of the whole image, not of each tile.
    tile_size : int, "auto" or None
        Core size of the square tiles (see :func:`tile_core`). None: one call
        on the whole image (refused for a dask array larger than one tile).
    overlap : int, optional
        Margin added around each tile core, pixels. Default ``4 * separation
        + 4``: the peak finder ignores a band of ``separation`` pixels at a
        tile border and its spacing rule reaches a few separations.
    n_jobs : int, optional
        Threads running tiles of an in-memory image. Default: the number of
        CPUs. (Dask arrays use dask's current scheduler.)
    value_range : (float, float), optional
        ``(min, max)`` of the image if already known (saves a pass over a
        dask array).

    Returns
    -------
    ndarray of shape (n_atoms, 2)
        x, y in pixels (integer-valued, peak pixels), brightest first.

    Notes
    -----
    Each atom is kept by exactly one tile: the one whose core (a half-open
    pixel range, the cores partition the image) contains its peak pixel. The
    overlap makes every tile see the full surroundings of its core atoms, so
    the tiled result equals the whole-image call; a dask array gives the
    same atoms as the same image in memory.
    """
    lazy = is_lazy(data)
    if not lazy:
        data = np.asarray(data)
    ny, nx = data.shape
    core = tile_core((ny, nx), separation, tile_size)
    if core is None:
        if lazy:
            if tile_size is None and max(ny, nx) > 2048:
                raise ValueError(
                    "`tile_size` None would load the whole lazy image "
                    f"({ny} x {nx}); use 'auto' or an int"
                )
            data = np.asarray(data.compute())
        return _atomap_find(data, separation, threshold_rel)

    overlap = 4 * int(separation) + 4 if overlap is None else int(overlap)
    # The whole image's threshold, as Atomap (skimage) computes it; each tile
    # is shifted so that this threshold is 0 and searched with
    # threshold_rel=0, i.e. threshold max(tile min, 0).
    if value_range is None:
        value_range = data_range(data)[:2]
    dmin, dmax = value_range
    threshold = max(dmin, threshold_rel * dmax)
    jobs = []
    for y in _tile_starts(ny, core):
        for x in _tile_starts(nx, core):
            y0, x0 = max(0, y - overlap), max(0, x - overlap)
            y1, x1 = min(ny, y + core + overlap), min(nx, x + core + overlap)
            box = (y, min(ny, y + core), x, min(nx, x + core))
            jobs.append(((y0, y1, x0, x1), box))

    if lazy:
        import dask

        tasks = [
            dask.delayed(_find_tile, pure=True)(
                data[y0:y1, x0:x1], (y0, x0), box, separation, threshold
            )
            for (y0, y1, x0, x1), box in jobs
        ]
        parts = list(dask.compute(*tasks))
    else:

        def run(job):
            (y0, y1, x0, x1), box = job
            return _find_tile(data[y0:y1, x0:x1], (y0, x0), box, separation, threshold)

        n_jobs = (os.cpu_count() or 1) if n_jobs is None else int(n_jobs)
        if n_jobs > 1:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                parts = list(pool.map(run, jobs))
        else:
            parts = [run(job) for job in jobs]
    found = np.concatenate(parts, axis=0) if parts else np.empty((0, 3))
    # brightest first, like Atomap (ties: by row, then column)
    order = np.lexsort((found[:, 0], found[:, 1], -found[:, 2]))
    return found[order, :2]


def nearest_neighbor_distance(positions):
    """Median distance from an atom to its nearest other atom.

    Over an evenly spaced sample of at most 4096 atoms (a median needs no
    more; querying every atom of a large image costs more than refining it).
    """
    positions = np.asarray(positions, dtype=float)
    sample = positions[:: max(1, len(positions) // 4096)]
    d, _ = cKDTree(positions).query(sample, k=2)
    return float(np.median(d[:, 1]))


def _refine_com_tile(region, positions, radius, origin, n_iter):
    """Centre-of-mass refinement of one tile's atoms (module level: picklable
    for distributed workers). ``origin`` is x, y of ``region[0, 0]``."""
    return refine_center_of_mass(
        np.asarray(region), positions, radius, n_iter=n_iter, origin=origin
    )


def _refine_gaussian_tile(region, positions, n_core, origin, radius_fraction, shift):
    """Atomap's 2-D Gaussian refinement of the first ``n_core`` atoms of one
    tile; the others (a halo of neighbours around the core) only complete
    the neighbour lists Atomap sizes each fit with."""
    from atomap.api import Sublattice  # atomap.sublattice alone: circular import

    image = np.asarray(region, dtype=float) - shift
    local = positions - np.asarray(origin, dtype=float)
    sub = Sublattice(local, image=image)
    sub.find_nearest_neighbors()
    sub.atom_list = sub.atom_list[:n_core]
    sub.refine_atom_positions_using_2d_gaussian(
        percent_to_nn=radius_fraction, show_progressbar=False
    )
    xy = np.stack([sub.x_position, sub.y_position], axis=1).astype(float)
    return xy + np.asarray(origin, dtype=float)


def _tile_groups(positions, shape, core):
    """Atoms grouped by the square tile (core size ``core``) holding their
    rounded position: (tile row, tile column, atom indices) per tile."""
    ny, nx = shape
    ix = np.clip(np.rint(positions[:, 0]).astype(np.intp), 0, nx - 1) // core
    iy = np.clip(np.rint(positions[:, 1]).astype(np.intp), 0, ny - 1) // core
    n_tx = (nx + core - 1) // core
    key = iy * n_tx + ix
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    return [
        (int(key[g[0]] // n_tx), int(key[g[0]] % n_tx), g)
        for g in np.split(order, bounds)
        if g.size
    ]


def refine_positions(
    data,
    positions,
    method="com",
    *,
    radius_fraction=0.4,
    n_iter=3,
    show_progressbar=None,
    tile_size=1024,
    value_range=None,
):
    """Refine atom positions to sub-pixel precision.

    Parameters
    ----------
    data : ndarray or dask.array.Array of shape (ny, nx)
        A dask array is refined tile by tile: the atoms are grouped by tile,
        each tile's region (plus the margin its discs or fits can reach) is
        computed on its own in a dask task, and only positions come back.
    positions : ndarray of shape (n_atoms, 2)
        x, y starting positions in pixels.
    method : {"com", "gaussian", None}
        "com": vectorised, background-subtracted, re-centred centre of mass
        (:func:`hyperspy_unmix._core.refinement.refine_center_of_mass`);
        "gaussian": Atomap's ``refine_atom_positions_using_2d_gaussian``
        (one least-squares 2-D Gaussian fit per atom, about a thousand times
        slower); None: unchanged.
    radius_fraction : float
        Radius of the disc used around each atom, as a fraction of the
        median nearest-neighbour distance (Atomap's ``percent_to_nn``).
    n_iter : int
        Passes of the centre of mass.
    show_progressbar : bool, optional
        For Atomap's Gaussian fitting. None: HyperSpy's preference.
    tile_size : int
        Core size of the tiles for a dask array.
    value_range : (float, float), optional
        ``(min, max)`` of a dask image if known ("gaussian" needs the
        minimum: Atomap shifts negative images to >= 0).

    Returns
    -------
    ndarray of shape (n_atoms, 2)
        For "com" a dask array gives exactly the in-memory numbers (every
        disc lies inside its tile's region); for "gaussian" the fits agree to
        Atomap's fitting precision (Atomap refines atoms one after the other
        and sizes each fit with the current neighbour positions, so the order
        of the atoms matters a little).
    """
    positions = np.asarray(positions, dtype=float)
    if method is None or len(positions) < 2:
        return positions.copy()
    nn = nearest_neighbor_distance(positions)
    if is_lazy(data):
        return _refine_lazy(
            data,
            positions,
            method,
            nn,
            radius_fraction=radius_fraction,
            n_iter=n_iter,
            core=int(tile_size),
            value_range=value_range,
        )
    if method == "com":
        return refine_center_of_mass(
            data, positions, radius_fraction * nn, n_iter=n_iter
        )
    import hyperspy.api as hs
    from atomap.api import Sublattice  # atomap.sublattice alone: circular import

    if show_progressbar is None:
        show_progressbar = hs.preferences.General.show_progressbar
    # fix_negative_values: shift noisy backgrounds to >= 0 as Atomap asks
    sub = Sublattice(
        positions, image=np.asarray(data, dtype=float), fix_negative_values=True
    )
    sub.find_nearest_neighbors()
    sub.refine_atom_positions_using_2d_gaussian(
        percent_to_nn=radius_fraction, show_progressbar=show_progressbar
    )
    return np.stack([sub.x_position, sub.y_position], axis=1).astype(float)


def _refine_lazy(
    data, positions, method, nn, *, radius_fraction, n_iter, core, value_range
):
    import dask

    ny, nx = data.shape
    radius = radius_fraction * nn
    if method == "com":
        # how far a disc can reach from the atom's starting pixel: each pass
        # moves the centre by at most radius + 1/sqrt(2), and the last disc
        # is gathered from a square of half-width ceil(radius) + 1
        margin = int(np.ceil(n_iter * (radius + 1.0) + radius + 3.0))
        shift = 0.0
    else:
        halo = 2.5 * nn  # Atomap's 9 nearest neighbours lie within 2 nn
        margin = int(np.ceil(halo + 3.0 * nn + 4.0))
        if value_range is None:
            value_range = data_range(data)[:2]
        shift = min(float(value_range[0]), 0.0)  # Atomap's fix_negative_values
    tasks, groups = [], []
    for ty, tx, idx in _tile_groups(positions, (ny, nx), core):
        y0, x0 = max(0, ty * core - margin), max(0, tx * core - margin)
        y1 = min(ny, (ty + 1) * core + margin)
        x1 = min(nx, (tx + 1) * core + margin)
        region = data[y0:y1, x0:x1]
        if method == "com":
            task = dask.delayed(_refine_com_tile, pure=True)(
                region, positions[idx], radius, (x0, y0), n_iter
            )
        else:
            p = positions
            near = (
                (p[:, 0] >= tx * core - halo)
                & (p[:, 0] < (tx + 1) * core + halo)
                & (p[:, 1] >= ty * core - halo)
                & (p[:, 1] < (ty + 1) * core + halo)
            )
            near[idx] = False
            pts = np.concatenate([positions[idx], positions[near]], axis=0)
            task = dask.delayed(_refine_gaussian_tile, pure=True)(
                region, pts, len(idx), (x0, y0), radius_fraction, shift
            )
        tasks.append(task)
        groups.append(idx)
    out = positions.copy()
    for idx, xy in zip(groups, dask.compute(*tasks)):
        out[idx] = xy
    return out


def _quality_tile(region, positions, spacing, origin, noise):
    """:func:`~hyperspy_unmix._core.atom_quality.atom_quality` of one tile's
    atoms (module level: picklable for distributed workers)."""
    local = np.asarray(positions, float) - np.asarray(origin, float)
    return atom_quality(np.asarray(region), local, spacing, noise=noise)


def atom_quality_tiled(data, positions, spacing, *, tile_size=1024, noise_crop=None):
    """Quality of each atom (peak above its local background, in noise units).

    Parameters
    ----------
    data : ndarray or dask.array.Array of shape (ny, nx)
        Bright atoms. A dask array is read tile by tile (each tile's region
        plus the margin the smoothing and the background ring reach, in dask
        tasks); the numbers equal the in-memory ones away from the image
        border.
    positions : ndarray of shape (n_atoms, 2)
        x, y in pixels.
    spacing : float
        Nearest-neighbour distance, pixels.
    tile_size : int
        Core size of the tiles for a dask array.
    noise_crop : ndarray, optional
        Part of the image the pixel noise is measured on (default: all of an
        in-memory image; required for a dask array).

    Returns
    -------
    ndarray of shape (n_atoms,)
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    if noise_crop is None:
        noise_crop = data
    noise = noise_level(np.asarray(noise_crop))
    if not is_lazy(data):
        return atom_quality(data, positions, spacing, noise=noise)
    import dask

    ny, nx = data.shape
    core = int(tile_size)
    # ring to 0.7 spacing, Gaussian of 0.15 spacing truncated at 4 sigma
    margin = int(np.ceil(0.7 * spacing + 0.6 * spacing + 4))
    tasks, groups = [], []
    for ty, tx, idx in _tile_groups(positions, (ny, nx), core):
        y0, x0 = max(0, ty * core - margin), max(0, tx * core - margin)
        y1 = min(ny, (ty + 1) * core + margin)
        x1 = min(nx, (tx + 1) * core + margin)
        tasks.append(
            dask.delayed(_quality_tile, pure=True)(
                data[y0:y1, x0:x1], positions[idx], spacing, (x0, y0), noise
            )
        )
        groups.append(idx)
    out = np.empty(len(positions))
    for idx, q in zip(groups, dask.compute(*tasks)):
        out[idx] = q
    return out


def positions_from(obj):
    """x, y positions (pixels) from an array, a Sublattice or an Atom_Lattice.

    Parameters
    ----------
    obj : array-like of shape (n_atoms, 2), atomap Sublattice or Atom_Lattice
        For an Atom_Lattice the atoms of all its sublattices are used, in the
        order of ``sublattice_list``.

    Returns
    -------
    positions : ndarray of shape (n_atoms, 2), float
    sublattice : ndarray of shape (n_atoms,), int
        Index of the sublattice each atom came from (0 for arrays).
    """
    if hasattr(obj, "sublattice_list"):  # Atom_Lattice (duck-typed: no import)
        parts = [positions_from(s)[0] for s in obj.sublattice_list]
        if not parts:
            return np.empty((0, 2)), np.empty(0, dtype=int)
        labels = np.concatenate([np.full(len(p), i) for i, p in enumerate(parts)])
        return np.concatenate(parts, axis=0), labels
    if hasattr(obj, "atom_list") and hasattr(obj, "x_position"):  # Sublattice
        xy = np.stack(
            [np.asarray(obj.x_position, float), np.asarray(obj.y_position, float)],
            axis=1,
        ).reshape(-1, 2)
        return xy, np.zeros(len(xy), dtype=int)
    try:
        arr = np.asarray(obj, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(
            "`positions` must be an (N, 2) array of x, y pixel positions, an "
            f"atomap Sublattice or an Atom_Lattice, got {type(obj).__name__}"
        ) from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            f"`positions` must have shape (N, 2) (x, y in pixels), got {arr.shape}"
        )
    return arr.copy(), np.zeros(len(arr), dtype=int)
