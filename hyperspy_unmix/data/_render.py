"""Lattices of atom positions and their rendering as Gaussian images."""

import numpy as np


def lattice_sites(shape, a1, a2, origin, margin=0.0):
    """Every site ``origin + i a1 + j a2`` of a 2-D lattice inside the image.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)``.
    a1, a2 : array-like of shape (2,)
        Lattice vectors ``(x, y)`` in pixels (not parallel).
    origin : (float, float)
        ``x, y`` of the site with indices (0, 0).
    margin : float
        Keep sites up to ``margin`` pixels outside the image too.

    Returns
    -------
    positions : ndarray of shape (n, 2)
        ``x, y`` of the sites with ``-margin <= x <= nx - 1 + margin`` (same
        for y).
    indices : ndarray of shape (n, 2), int
        Lattice indices ``(i, j)``.
    """
    ny, nx = shape
    a1 = np.asarray(a1, dtype=float)
    a2 = np.asarray(a2, dtype=float)
    basis = np.stack([a1, a2], axis=1)  # columns a1, a2
    lo, hi = -margin, np.array([nx - 1, ny - 1]) + margin
    corners = np.array([[lo, lo], [hi[0], lo], [lo, hi[1]], [hi[0], hi[1]]])
    ij = np.linalg.solve(basis, (corners - np.asarray(origin)).T)  # (2, 4)
    i = np.arange(np.floor(ij[0].min()) - 1, np.ceil(ij[0].max()) + 2)
    j = np.arange(np.floor(ij[1].min()) - 1, np.ceil(ij[1].max()) + 2)
    ii, jj = (g.ravel() for g in np.meshgrid(i, j, indexing="ij"))
    pos = np.asarray(origin) + ii[:, None] * a1 + jj[:, None] * a2
    inside = np.all((pos >= lo) & (pos <= hi), axis=1)
    return pos[inside], np.stack([ii[inside], jj[inside]], axis=1).astype(np.int64)


def hexagonal_lattice(shape, spacing, angle, origin, margin=0.0):
    """Every site of a hexagonal lattice that falls inside the image.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)``.
    spacing : float
        Nearest-neighbour distance, pixels.
    angle : float
        Direction of the first lattice vector, radians from +x.
    origin : (float, float)
        ``x, y`` of the site with indices (0, 0).
    margin : float
        Keep sites up to ``margin`` pixels outside the image too.

    Returns
    -------
    positions : ndarray of shape (n, 2)
        ``x, y`` of the sites with ``-margin <= x <= nx - 1 + margin`` (same
        for y).
    indices : ndarray of shape (n, 2), int
        Lattice indices ``(i, j)``: ``position = origin + i a1 + j a2``.
    """
    a1 = spacing * np.array([np.cos(angle), np.sin(angle)])
    a2 = spacing * np.array([np.cos(angle + np.pi / 3), np.sin(angle + np.pi / 3)])
    return lattice_sites(shape, a1, a2, origin, margin)


def render_gaussians(shape, positions, sigma, *, amplitude=1.0, chunk=16384):
    """Sum of round Gaussians of peak ``amplitude`` at ``positions``.

    Each atom is evaluated on a square stencil of half-width ``ceil(4 sigma)``
    as the outer product of two 1-D Gaussians and accumulated with
    ``np.add.at`` in chunks of atoms: vectorised over atoms, with memory
    bounded by the chunk size rather than the number of atoms.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` of the image.
    positions : ndarray of shape (n, 2)
        ``x, y`` in pixels (pixel centres at integers).
    sigma : float
        Standard deviation of the Gaussians, pixels.
    amplitude : float or ndarray of shape (n,)

    Returns
    -------
    ndarray of shape (ny, nx), float64
    """
    ny, nx = shape
    half = int(np.ceil(4.0 * sigma))
    offsets = np.arange(-half, half + 1)
    # pad so that stencils never need clipping; crop at the end
    width = nx + 2 * half
    canvas = np.zeros((ny + 2 * half) * width)
    amplitude = np.broadcast_to(np.asarray(amplitude, dtype=float), (len(positions),))
    for start in range(0, len(positions), chunk):  # chunks of atoms
        p = positions[start : start + chunk]
        cx = np.floor(p[:, 0]).astype(np.int64)
        cy = np.floor(p[:, 1]).astype(np.int64)
        px = cx[:, None] + offsets  # (m, s) pixel columns
        py = cy[:, None] + offsets
        gx = np.exp(-0.5 * ((px - p[:, :1]) / sigma) ** 2)
        gy = np.exp(-0.5 * ((py - p[:, 1:]) / sigma) ** 2)
        gy *= amplitude[start : start + chunk, None]
        flat = (py + half)[:, :, None] * width + (px + half)[:, None, :]
        np.add.at(canvas, flat.ravel(), (gy[:, :, None] * gx[:, None, :]).ravel())
    return canvas.reshape(ny + 2 * half, width)[half : half + ny, half : half + nx]
