"""Vectorised sub-pixel refinement of atom positions (centre of mass).

Atomap refines one ``Atom_Position`` object at a time in Python (crop, mask,
centre of mass), about 30 microseconds per atom plus object overhead. Here
all atoms of a batch are refined together: the pixels of every atom's disc are
gathered into an (n_atoms, n_pixels) array and reduced along the pixel axis.

Two accuracy choices differ from Atomap's single pass:

- the local background (the lowest pixel in the disc) is subtracted, so the
  flat pedestal under an atom does not pull the centre of mass towards the
  middle of the disc (the disc's own centre of mass);
- the disc is re-centred on the new estimate and the centre of mass taken
  again (``n_iter`` times), so the result does not depend on the integer
  pixel the search started from.
"""

import numpy as np


def _disc_offsets(radius):
    """Integer offsets that can fall in a disc of ``radius`` around any point
    within half a pixel of the integer centre (``radius + sqrt(2) / 2``).

    Returns ox, oy (P,), the half-width r of the enclosing square and the
    indices of the offsets in that square's row-major order.
    """
    r = int(np.ceil(radius)) + 1
    oy, ox = np.mgrid[-r : r + 1, -r : r + 1]
    keep = np.hypot(ox, oy) <= radius + np.sqrt(0.5) + 1e-9
    return (
        ox[keep].astype(np.float64),
        oy[keep].astype(np.float64),
        r,
        np.flatnonzero(keep.ravel()),
    )


def _gather(image, windows, base, offsets):
    """Pixel values (float32) at ``base + offsets``, shape (n, P), and a mask of
    those inside the image (None when all are)."""
    ox, oy, r, in_square = offsets
    ny, nx = image.shape
    bx, by = base[:, 0], base[:, 1]
    safe = (bx >= r) & (bx < nx - r) & (by >= r) & (by < ny - r)
    # Atoms away from the border: copy each (2r+1)^2 square from a strided
    # window view (row-wise copies, several times faster than a per-pixel
    # gather), then keep the disc's pixels.
    n_side = 2 * r + 1
    if safe.all():
        sq = windows[by - r, bx - r].reshape(len(base), n_side * n_side)
        # np.take keeps C order (sq[:, idx] would be Fortran-ordered, which
        # makes every later element-wise operation with C-ordered masks slow)
        return np.take(sq, in_square, axis=1).astype(np.float32, copy=False), None
    vals = np.empty((len(base), len(ox)), dtype=np.float32)
    inside = np.ones(vals.shape, dtype=bool)
    if safe.any():
        sq = windows[by[safe] - r, bx[safe] - r].reshape(-1, n_side * n_side)
        vals[safe] = np.take(sq, in_square, axis=1)
    edge = ~safe
    px = bx[edge, None] + ox.astype(np.intp)
    py = by[edge, None] + oy.astype(np.intp)
    inside[edge] = (px >= 0) & (px < nx) & (py >= 0) & (py < ny)
    vals[edge] = image[np.clip(py, 0, ny - 1), np.clip(px, 0, nx - 1)]
    return vals, inside


def _com_once(image, windows, centres, radius, offsets, subtract_background, origin):
    ox, oy = offsets[:2]
    base = np.rint(centres).astype(np.intp)
    frac = (centres - base).astype(np.float32)  # in [-0.5, 0.5]
    vals, inside = _gather(image, windows, base - origin, offsets)
    # |offset - frac|^2 <= radius^2  <=>  ox fx + oy fy >= (|o|^2 + |f|^2 - r^2) / 2
    o2 = (ox * ox + oy * oy).astype(np.float32)
    proj = frac[:, 0:1] * ox.astype(np.float32) + frac[:, 1:2] * oy.astype(np.float32)
    use = 2 * proj >= o2 - radius * radius + (frac * frac).sum(axis=1, keepdims=True)
    if inside is not None:
        use &= inside
    if subtract_background:
        # the lowest pixel of the gathered patch (the disc plus a rim of
        # about half a pixel): the local background under the atom
        if inside is None:
            low = vals.min(axis=1, keepdims=True)
        else:
            low = np.where(inside, vals, np.inf).min(axis=1, keepdims=True)
            low = np.where(np.isfinite(low), low, 0.0)
        vals -= low
    vals *= use
    # total, sum w*ox, sum w*oy: einsum's own loops, not a BLAS product
    # (two-thread BLAS on a shared machine sometimes stalls tenfold on these
    # thin products)
    total = vals.sum(axis=1, dtype=np.float64)
    sums_x = np.einsum("ij,j->i", vals, ox.astype(np.float32))
    sums_y = np.einsum("ij,j->i", vals, oy.astype(np.float32))
    ok = total > 0
    safe = np.where(ok, total, 1.0)
    new = base + np.stack([sums_x / safe, sums_y / safe], axis=1)
    # A disc with no positive weight (flat or outside) keeps its position.
    return np.where(ok[:, None], new, centres)


def refine_center_of_mass(
    image,
    positions,
    radius,
    *,
    n_iter=3,
    subtract_background=True,
    batch_size=8192,
    origin=(0, 0),
):
    """Centre of mass of the intensity in a disc around every atom.

    Parameters
    ----------
    image : ndarray of shape (ny, nx)
        Real image (bright atoms).
    positions : ndarray of shape (n_atoms, 2)
        Starting x, y positions in pixels.
    radius : float
        Disc radius in pixels (typically 0.3-0.45 of the nearest-neighbour
        distance: large enough to hold the atom, small enough to leave the
        neighbours out).
    n_iter : int
        Number of re-centred passes.
    subtract_background : bool
        Subtract each disc's lowest pixel before weighting.
    batch_size : int
        Atoms per vectorised batch (bounds memory to about
        ``batch_size * (2 ceil(radius) + 3)**2`` floats).
    origin : (int, int)
        x, y of ``image[0, 0]`` in the coordinates of ``positions``: ``image``
        is then a region of a larger image (a tile), positions stay in the
        large image's coordinates and the arithmetic is the same as on the
        large image, so the result is identical as long as each disc lies in
        the region (pixels outside it count as outside the image).

    Returns
    -------
    ndarray of shape (n_atoms, 2)
        Refined x, y positions. Pixels outside the image are ignored.
    """
    image = np.asarray(image)
    from numpy.lib.stride_tricks import sliding_window_view

    image = np.ascontiguousarray(image)
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    origin = np.asarray(origin, dtype=np.intp).reshape(2)
    offsets = _disc_offsets(radius)
    n_side = 2 * offsets[2] + 1
    if image.shape[0] >= n_side and image.shape[1] >= n_side:
        windows = sliding_window_view(image, (n_side, n_side))  # a view, no copy
    else:  # image smaller than one disc: every atom takes the border path
        windows = None
    # Visit atoms row band by row band: peak finders list them brightest
    # first, scattered over the image, and gathering their discs in spatial
    # order keeps the image rows in cache (about twice as fast).
    band = np.floor(positions[:, 1] / (2 * offsets[2] + 1)) if len(positions) else []
    order = np.lexsort((positions[:, 0], band))
    out = positions[order]
    for start in range(0, len(out), batch_size):  # batches bound memory
        c = out[start : start + batch_size]
        for _ in range(n_iter):
            c = _com_once(
                image, windows, c, radius, offsets, subtract_background, origin
            )
        out[start : start + batch_size] = c
    result = np.empty_like(out)
    result[order] = out
    return result
