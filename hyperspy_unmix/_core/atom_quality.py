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
    min_height: float = 0.03,
    max_atoms: int = 2000,
) -> dict | None:
    """A weaker set of atoms between the found ones, seen in the average cell.

    The patches around the found atoms (up to ``max_atoms``, sampled at their
    sub-pixel positions, away from the border) are averaged: the noise drops
    by ``sqrt(n)``. The found lattice is then subtracted: a Gaussian (width
    and height fitted to the central atom within 0.35 spacing, plus a
    constant) at the centre and at every neighbour offset that at least 5 %
    of the atoms share. What is left of a single lattice is noise; a weak
    atom sitting on the strong atoms' tails (no local maximum of the average
    itself at 0.1 of their height) is a peak of the residual. The strongest
    local maximum at least 0.4 spacing from every site is a missed sublattice
    when it rises ``min_snr`` times the average's noise and ``min_height``
    of the atoms' fitted height.

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
        Thresholds of the residual peak (see above).
    max_atoms : int
        Patches averaged at most (evenly chosen).

    Returns
    -------
    None or dict
        None if nothing is missed; otherwise ``distance`` (px, from the
        nearest site of the found lattice), ``height`` (fraction of the
        atoms' height), ``snr``, ``offset`` (x, y px from the atom) and
        ``separation`` (a minimum peak distance to try: 0.3 of ``distance``,
        at least 2; measured on 12 px square lattices, 2 px found 79 % of
        the light atoms at 0.3 intensity where 3 px found 25 %).
    """
    data = _image(image).astype(np.float64, copy=False)
    spacing = _spacing(spacing)
    xy = np.asarray(positions, dtype=float).reshape(-1, 2)
    if noise is None:
        noise = noise_level(data)
    ny, nx = data.shape
    R = max(3, int(np.ceil(0.8 * spacing)))
    xi, yi = np.rint(xy[:, 0]).astype(np.intp), np.rint(xy[:, 1]).astype(np.intp)
    inner = (xi >= R + 1) & (xi < nx - R - 1) & (yi >= R + 1) & (yi < ny - R - 1)
    idx = np.flatnonzero(inner)
    if len(idx) < 16:
        return None
    idx = idx[np.linspace(0, len(idx) - 1, min(len(idx), max_atoms)).astype(np.intp)]
    yy, xx = np.mgrid[-R : R + 1, -R : R + 1].astype(float)
    # bilinear samples at the refined positions: the average stays sharp
    coords = np.stack(
        [
            (xy[idx, 1][:, None, None] + yy).ravel(),
            (xy[idx, 0][:, None, None] + xx).ravel(),
        ]
    )
    avg = (
        ndimage.map_coordinates(data, coords, order=1)
        .reshape(len(idx), *yy.shape)
        .mean(axis=0)
    )
    sigma = max(float(noise), np.finfo(float).tiny) / np.sqrt(len(idx))
    sites = _shared_offsets(xy, idx, np.sqrt(2) * R + spacing, len(idx))
    # the atom: A exp(-r^2 / 2 s^2) + bg on the central 0.35 spacing
    r2 = xx**2 + yy**2
    core = r2 <= (0.35 * spacing) ** 2
    best = None
    for s in np.linspace(0.04, 0.3, 27) * spacing:  # widths, not atoms
        M = np.column_stack([np.exp(-r2[core] / (2 * s * s)), np.ones(core.sum())])
        coef, *_ = np.linalg.lstsq(M, avg[core], rcond=None)
        err = float(np.sum((M @ coef - avg[core]) ** 2))
        if best is None or err < best[0]:
            best = (err, s, coef)
    _, s, (height0, bg) = best
    if not height0 > 0:
        return None
    allsites = np.vstack([[0.0, 0.0], sites])
    model = bg + height0 * sum(
        np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * s * s)) for sx, sy in allsites
    )
    resid = ndimage.gaussian_filter(avg - model, 0.5)
    dmin = np.min(
        np.hypot(xx[..., None] - allsites[:, 0], yy[..., None] - allsites[:, 1]), -1
    )
    ok = dmin >= 0.4 * spacing
    ok[[0, -1], :] = ok[:, [0, -1]] = False
    peaks = (resid == ndimage.maximum_filter(resid, size=3)) & ok
    if not peaks.any():
        return None
    py, px = np.unravel_index(np.argmax(np.where(peaks, resid, -np.inf)), resid.shape)
    rise = float(resid[py, px])
    snr, height = rise / sigma, rise / float(height0)
    if snr < min_snr or height < min_height:
        return None
    distance = float(dmin[py, px])
    return {
        "distance": distance,
        "height": height,
        "snr": snr,
        "offset": (float(xx[py, px]), float(yy[py, px])),
        "separation": max(2, int(0.3 * distance)),
    }


def _shared_offsets(xy, idx, reach, n_atoms, share=0.05, radius=1.5):
    """Neighbour offsets that at least ``share`` of the atoms ``idx`` have
    (mean of the offsets within ``radius`` px of each 1-px histogram peak)."""
    from hyperspy_unmix._core.lattice import neighbour_pairs

    owner, other = neighbour_pairs(xy, idx, reach)
    off = xy[other] - xy[idx[owner]]
    if len(off) == 0:
        return np.zeros((0, 2))
    lim = int(np.ceil(reach)) + 1
    edges = np.arange(-lim, lim + 1) - 0.5
    hist, _, _ = np.histogram2d(off[:, 0], off[:, 1], bins=(edges, edges))
    summed = ndimage.uniform_filter(hist, 3, mode="constant") * 9
    peaks = (summed == ndimage.maximum_filter(summed, 3)) & (summed >= share * n_atoms)
    if not peaks.any():
        return np.zeros((0, 2))
    centres = np.argwhere(peaks) - lim  # x, y of the bins
    d, k = cKDTree(centres).query(off, distance_upper_bound=radius)
    near = np.isfinite(d)
    sums = np.zeros((len(centres), 2))
    np.add.at(sums, k[near], off[near])
    hits = np.bincount(k[near], minlength=len(centres))
    return sums[hits > 0] / hits[hits > 0, None]
