"""An honest atom list: per-atom quality, lattice presence, missed sublattices.

- :func:`noise_level`: robust standard deviation of the pixel noise;
- :func:`atom_quality`: each atom's peak height above its local background,
  in units of the noise (a signal-to-noise ratio);
- :func:`has_lattice`: whether an image holds a lattice at all;
- :func:`missed_sublattice`: a second, weaker set of peaks between the found
  atoms, and the peak-finder separation that would find it.

All on bright-atom images (invert dark-atom images first, see
:mod:`hyperspy_unmix._core.contrast`). Vectorised over atoms: the pixels
around every atom are gathered with one fancy index of offsets.
"""

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from hyperspy_unmix._core.dtypes import as_working_float

#: Default ``min_quality``: atoms whose peak stands less than this many
#: noise standard deviations (of the smoothed image) above their local
#: background are noise. Measured (report of issue 12): maxima of pure
#: Gaussian noise reach at most about 5, atoms of the generated lattices at
#: noise 0.3 of the peak 10 and more.
MIN_QUALITY = 7.0

#: :func:`has_lattice`: the strongest Fourier peak must be this many times
#: the median power (pure noise: 15-25 on 256-512 px images).
MIN_PEAK_RATIO = 100.0

# Immerkaer's noise operator: the product of the second differences along
# x and y; it cancels any image content that is locally a polynomial of
# degree < 2 in x or in y, and has unit gain on white noise after /6.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=float) / 6.0


def _image(image):
    image = np.asarray(image)
    if image.ndim != 2:
        raise ValueError(f"`image` must be 2-D, got shape {image.shape}")
    return as_working_float(image, name="image")


def _spacing(spacing):
    spacing = float(spacing)
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"`spacing` must be a positive number, got {spacing!r}")
    return spacing


def noise_level(image: np.ndarray) -> float:
    """Robust standard deviation of white pixel noise.

    The median absolute deviation (times 1.4826) of the image filtered with
    Immerkaer's operator: smooth structure (atoms several pixels wide)
    contributes little to it and the median ignores the pixels where it
    does.

    Parameters
    ----------
    image : ndarray of shape (ny, nx)

    Returns
    -------
    float
    """
    data = _image(image).astype(np.float64, copy=False)
    h = ndimage.convolve(data, _NOISE_KERNEL, mode="reflect")[1:-1, 1:-1]
    return float(1.4826 * np.median(np.abs(h - np.median(h))))


def _smoothing(spacing):
    return max(0.5, 0.15 * spacing)


def _smoothed_noise_gain(sigma):
    """Standard deviation of white unit noise after ``gaussian_filter``."""
    r = int(np.ceil(4 * sigma)) + 1
    delta = np.zeros((2 * r + 1, 2 * r + 1))
    delta[r, r] = 1.0
    g = ndimage.gaussian_filter(delta, sigma, mode="constant")
    return float(np.sqrt(np.sum(g * g)))


def _ring_offsets(inner, outer):
    r = int(np.ceil(outer))
    oy, ox = np.mgrid[-r : r + 1, -r : r + 1]
    d = np.hypot(ox, oy)
    keep = (d >= inner) & (d <= outer)
    if not keep.any():  # tiny spacing: at least the 8 neighbours
        keep = (d > 0) & (d <= 1.5)
    return ox[keep], oy[keep]


def _quality(smooth, xy, noise_s, inner, outer, percentile):
    ny, nx = smooth.shape
    ix = np.clip(np.rint(xy[:, 0]).astype(np.intp), 0, nx - 1)
    iy = np.clip(np.rint(xy[:, 1]).astype(np.intp), 0, ny - 1)
    ox, oy = _ring_offsets(inner, outer)
    # edge atoms: clipped indices repeat the border pixels (their ring is
    # partly outside the image; the background is then a little less sure)
    px = np.clip(ix[:, None] + ox, 0, nx - 1)
    py = np.clip(iy[:, None] + oy, 0, ny - 1)
    ring = smooth[py, px]  # (n, P)
    background = np.percentile(ring, percentile, axis=1)
    return (smooth[iy, ix] - background) / noise_s


def atom_quality(
    image: np.ndarray,
    positions: np.ndarray,
    spacing: float,
    *,
    inner: float = 0.5,
    outer: float = 0.7,
    percentile: float = 10.0,
    noise: float | None = None,
) -> np.ndarray:
    """Peak height of each atom above its local background, in noise units.

    The image is smoothed with a Gaussian of 0.15 spacing (at least 0.5 px; a
    matched filter that averages the noise, not the atoms); an atom's
    quality is the smoothed value at its rounded position minus the
    ``percentile``-th percentile of the smoothed values on a ring of radii
    ``inner`` to ``outer`` spacings around it (the background between the
    atoms), divided by the noise standard deviation of the smoothed image
    (``noise`` times the filter's noise gain).

    Parameters
    ----------
    image : ndarray of shape (ny, nx)
        Bright atoms; any real dtype.
    positions : ndarray of shape (n_atoms, 2)
        x, y in pixels.
    spacing : float
        Nearest-neighbour distance, pixels.
    inner, outer : float
        Radii of the background ring, in spacings.
    percentile : float
        Of the ring's values (low: the background, not a neighbour's tail).
    noise : float, optional
        Pixel noise standard deviation; default :func:`noise_level`.

    Returns
    -------
    ndarray of shape (n_atoms,), float64
        Pure noise gives values up to about 5; see :data:`MIN_QUALITY`.
    """
    data = _image(image)
    spacing = _spacing(spacing)
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    if not 0 <= inner < outer:
        raise ValueError(f"need 0 <= `inner` < `outer`, got {inner!r}, {outer!r}")
    if noise is None:
        noise = noise_level(data)
    s = _smoothing(spacing)
    smooth = ndimage.gaussian_filter(data.astype(np.float64, copy=False), s)
    noise_s = max(float(noise) * _smoothed_noise_gain(s), np.finfo(float).tiny)
    return _quality(
        smooth, positions, noise_s, inner * spacing, outer * spacing, percentile
    )


def has_lattice(image: np.ndarray, *, max_size: int = 512) -> tuple[bool, dict]:
    """Whether an image holds a periodic lattice.

    A lattice concentrates its power on Bragg peaks; noise and amorphous
    structure spread it. The central ``max_size`` square (Hann-tapered,
    mean removed) is Fourier transformed, frequencies below 3 cycles per
    image (slow background) are ignored, and the ratio of the strongest
    power to the median power must reach :data:`MIN_PEAK_RATIO`.

    Parameters
    ----------
    image : ndarray of shape (ny, nx)
    max_size : int
        Side of the central crop examined.

    Returns
    -------
    bool
    evidence : dict
        ``peak_ratio`` (float) and ``threshold``.
    """
    data = _image(image)
    ny, nx = data.shape
    cy, cx = max(0, (ny - max_size) // 2), max(0, (nx - max_size) // 2)
    crop = np.asarray(data[cy : cy + max_size, cx : cx + max_size], dtype=np.float64)
    crop = crop - crop.mean()
    h, w = crop.shape
    crop *= np.outer(np.hanning(h), np.hanning(w))
    p = np.abs(np.fft.rfft2(crop)) ** 2
    fy = np.fft.fftfreq(h) * h
    fx = np.fft.rfftfreq(w) * w
    far = np.hypot(fy[:, None], fx[None, :]) >= 3
    vals = p[far]
    med = float(np.median(vals)) if vals.size else 0.0
    ratio = float(vals.max() / med) if med > 0 else 0.0
    return ratio >= MIN_PEAK_RATIO, {"peak_ratio": ratio, "threshold": MIN_PEAK_RATIO}


def missed_sublattice(
    image: np.ndarray,
    positions: np.ndarray,
    spacing: float,
    *,
    noise: float | None = None,
    min_snr: float = 8.0,
    min_height: float = 0.02,
    max_atoms: int = 2000,
) -> dict | None:
    """A weaker set of atoms between the found ones, seen in the average cell.

    The patches around the found atoms (up to ``max_atoms``, away from the
    border) are averaged: the noise drops by ``sqrt(n)``, so a sublattice
    too weak to find atom by atom shows as a peak of the average. Pixels
    within 0.3 spacing of the centre or of the found neighbours' mean
    offsets are left out; what remains of a single lattice holds no local
    maximum (between two atoms lies a saddle). A local maximum there that
    rises ``min_snr`` times the average's noise above its surroundings
    (ring of 0.15-0.3 spacing) and at least ``min_height`` of the atoms' own
    height is a missed sublattice.

    Parameters
    ----------
    image : ndarray of shape (ny, nx)
        Bright atoms (invert dark-atom images first).
    positions : ndarray of shape (n_atoms, 2)
        The atoms found, x, y pixels.
    spacing : float
        Their nearest-neighbour distance, pixels.
    noise : float, optional
        Pixel noise; default :func:`noise_level`.
    min_snr, min_height : float
        Thresholds of the peak (see above).
    max_atoms : int
        Patches averaged at most (evenly chosen).

    Returns
    -------
    None or dict
        None if nothing is missed; otherwise ``distance`` (px, from the
        nearest found atom), ``height`` (fraction of the atoms' height),
        ``snr``, ``offset`` (x, y px from the atom) and ``separation`` (a
        minimum peak distance that keeps both sets: 0.4 of ``distance``).
    """
    data = _image(image).astype(np.float64, copy=False)
    spacing = _spacing(spacing)
    xy = np.asarray(positions, dtype=float).reshape(-1, 2)
    if noise is None:
        noise = noise_level(data)
    ny, nx = data.shape
    R = max(3, int(np.ceil(0.8 * spacing)))
    xi, yi = np.rint(xy[:, 0]).astype(np.intp), np.rint(xy[:, 1]).astype(np.intp)
    inner = (xi >= R) & (xi < nx - R) & (yi >= R) & (yi < ny - R)
    idx = np.flatnonzero(inner)
    if len(idx) < 16:
        return None
    idx = idx[np.linspace(0, len(idx) - 1, min(len(idx), max_atoms)).astype(np.intp)]
    o = np.arange(-R, R + 1)
    patches = data[yi[idx, None, None] + o[None, :, None], xi[idx, None, None] + o]
    avg = ndimage.gaussian_filter(patches.mean(axis=0), 0.5)
    sigma = max(float(noise), np.finfo(float).tiny) / np.sqrt(len(idx))
    # the found neighbours' offsets (sub-pixel, from the refined positions),
    # kept where at least 5 % of the atoms have one: lattice sites, not defects
    tree = cKDTree(xy)
    pairs = tree.query_ball_point(xy[idx], r=np.sqrt(2) * R + 1)
    off = np.concatenate([xy[j] - xy[i] for i, j in zip(idx, pairs) if len(j)], axis=0)
    grid = np.zeros(avg.shape)
    oy_, ox_ = np.rint(off[:, 1]).astype(int) + R, np.rint(off[:, 0]).astype(int) + R
    ok = (ox_ >= 0) & (ox_ <= 2 * R) & (oy_ >= 0) & (oy_ <= 2 * R)
    np.add.at(grid, (oy_[ok], ox_[ok]), 1.0 / len(idx))
    grid = ndimage.uniform_filter(grid, 3) * 9  # a site's offsets spread a pixel
    yy, xx = np.mgrid[-R : R + 1, -R : R + 1]
    r_mask = 0.3 * spacing
    site_map = grid >= 0.05
    site_map[R, R] = True  # the atom itself
    sites = np.argwhere(site_map) - R  # (y, x)
    masked = ndimage.distance_transform_edt(~site_map) < r_mask
    masked[[0, -1], :] = masked[:, [0, -1]] = True
    peaks = (avg == ndimage.maximum_filter(avg, size=3)) & ~masked
    if not peaks.any():
        return None
    main = float(avg[R, R] - avg.min())
    if main <= 0:
        return None
    best = None
    for py, px in np.argwhere(peaks):
        d = np.hypot(xx - (px - R), yy - (py - R))
        ring = (d >= 0.15 * spacing) & (d <= 0.3 * spacing)
        if not ring.any():
            continue
        rise = float(avg[py, px] - avg[ring].min())
        snr, height = rise / sigma, rise / main
        if snr >= min_snr and height >= min_height and (best is None or rise > best[0]):
            best = (rise, snr, height, px - R, py - R)
    if best is None:
        return None
    _, snr, height, ox, oy = best
    to_sites = np.hypot(sites[:, 1] - ox, sites[:, 0] - oy) if len(sites) else []
    distance = float(min([np.hypot(ox, oy), *to_sites]))
    return {
        "distance": distance,
        "height": float(height),
        "snr": float(snr),
        "offset": (float(ox), float(oy)),
        "separation": max(1, int(0.4 * distance)),
    }
