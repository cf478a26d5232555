"""Lattice-aware defaults: the complete first shell, and the sliding-FFT window.

- :func:`first_shell`: how many nearest neighbours make the complete first
  shell of a lattice (``n_neighbors="auto"``);
- :func:`auto_window`: sliding-FFT window, step and zoom from the lattice
  spacing (``window_size="auto"``).

Pure numpy / scipy, arrays in, numbers out.
"""

import numpy as np
from scipy.spatial import cKDTree

#: Smallest relative jump ``d[k] / d[k - 1]`` between consecutive sorted
#: neighbour distances that ends a shell. Lattices met in practice have
#: jumps of 1.18 (rectangular b/a = 1.6: from b to sqrt(a^2 + b^2)), 1.41
#: (square) and 1.73 (hexagonal); random displacements of 5 % of the spacing
#: blur the median distance profile by a few percent only.
MIN_SHELL_GAP = 1.1

#: A neighbour set "surrounds" an atom when its largest angular gap is below
#: this (radians): two opposite neighbours (a chain) leave a gap of pi.
MAX_ANGULAR_GAP = 0.8 * np.pi


def first_shell(
    positions: np.ndarray,
    *,
    max_neighbors: int = 8,
    sample_size: int = 2048,
    bounds: tuple[float, float, float, float] | None = None,
) -> int:
    """Size of the complete first shell of neighbours of a lattice.

    The rule: the smallest ``k`` (3 to ``max_neighbors``) such that the
    ``k`` nearest neighbours of a typical atom surround it (largest angular
    gap below ``MAX_ANGULAR_GAP``, for most atoms) and the next neighbour is
    clearly farther (``d[k + 1] / d[k] >= MIN_SHELL_GAP`` on the median
    distance profile). This gives 6 on hexagonal lattices, 4 on square
    ones and 4 on rectangular ones whatever ``b / a``: the 2 nearest
    neighbours (at ``a``) are a chain, not a shell, and the first closed
    shell is the rectangle ``a, a, b, b``. If no ``k`` qualifies, the
    surrounding ``k`` with the largest relative jump.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 2)
        x, y positions, n_atoms > ``max_neighbors + 1``.
    max_neighbors : int
        Largest shell considered (8: a square lattice's first two shells).
    sample_size : int
        Atoms examined (an evenly spaced sample; medians need no more).
    bounds : (x_min, x_max, y_min, y_max), optional
        Region where atoms could be found: atoms within 2 median
        ``max_neighbors``-th neighbour distances of its border are left out
        of the sample (their neighbourhood is cut). None: the bounding box
        of ``positions``.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        If ``positions`` is not (n, 2) or has too few atoms.
    """
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise ValueError(f"`positions` must have shape (n, 2), got {positions.shape}")
    max_neighbors = int(max_neighbors)
    if max_neighbors < 3:
        raise ValueError(f"`max_neighbors` must be >= 3, got {max_neighbors}")
    n = len(positions)
    if n < max_neighbors + 2:
        raise ValueError(
            f"need more than {max_neighbors + 1} atoms to find the first shell, got {n}"
        )
    tree = cKDTree(positions)
    k = max_neighbors + 1
    sample = positions[:: max(1, n // int(sample_size))]
    d, i = tree.query(sample, k=k + 1)
    if bounds is None:
        x_min, x_max = positions[:, 0].min(), positions[:, 0].max()
        y_min, y_max = positions[:, 1].min(), positions[:, 1].max()
    else:
        x_min, x_max, y_min, y_max = (float(b) for b in bounds)
    margin = 2.0 * float(np.median(d[:, -1]))
    x, y = sample[:, 0], sample[:, 1]
    interior = (
        (x - x_min >= margin)
        & (x_max - x >= margin)
        & (y - y_min >= margin)
        & (y_max - y >= margin)
    )
    if interior.sum() >= 16:
        sample, d, i = sample[interior], d[interior], i[interior]
    d, i = d[:, 1:], i[:, 1:]  # drop self
    good = d[:, 0] > 0
    if good.any():  # duplicated positions say nothing about the lattice
        sample, d, i = sample[good], d[good], i[good]
    profile = np.median(d, axis=0)  # (k,) typical sorted distances
    jumps = profile[1:] / np.maximum(profile[:-1], 1e-12)  # jumps[m]: d[m+1]/d[m]
    vec = positions[i] - sample[:, None, :]
    ang = np.arctan2(vec[..., 1], vec[..., 0])  # (s, k)
    candidates = []
    for m in range(3, max_neighbors + 1):  # at most 6 small reductions
        a = np.sort(ang[:, :m], axis=1)
        gaps = np.diff(np.concatenate([a, a[:, :1] + 2 * np.pi], axis=1), axis=1)
        surrounds = np.mean(gaps.max(axis=1) < MAX_ANGULAR_GAP) >= 0.5
        if surrounds:
            candidates.append(m)
            if jumps[m - 1] >= MIN_SHELL_GAP:
                return m
    if not candidates:
        return max_neighbors
    return max(candidates, key=lambda m: jumps[m - 1])


#: Lattice periods per sliding-FFT window (see :func:`auto_window`).
PERIODS_PER_WINDOW = 4.5
#: Side of the kept central part of reciprocal space, in FFT pixels.
AUTO_CROP = 32


def auto_window(
    spacing: float,
    *,
    largest_period: float | None = None,
    periods: float = PERIODS_PER_WINDOW,
    crop: int = AUTO_CROP,
    image_shape: tuple[int, int] | None = None,
) -> dict:
    """Sliding-FFT window, step and zoom that follow the lattice.

    Rule (measured on two-phase generated lattices of spacing 6 to 30 px and
    on the MoReS2 image, see the tests and the report of issue 12):

    - ``window_size`` = ``periods`` (4.5) times the lattice period, rounded to
      a multiple of 4, at least 16;
    - ``step`` = ``window_size // 8``;
    - ``zoom`` = ``window_size / crop`` (at least 1): the kept central part
      of reciprocal space is ``crop`` = 32 FFT pixels wide, i.e. about 7
      cycles per window each side, which holds the first and second Bragg
      orders (about 4.5 / 0.87 = 5.2 cycles for a hexagonal lattice) and
      half-order superlattice spots, and drops the noise at higher
      frequencies.

    Parameters
    ----------
    spacing : float
        Nearest-neighbour distance in pixels (e.g. from the autocorrelation).
    largest_period : float, optional
        The longest lattice period when it is known and longer than
        ``spacing`` (the b axis of a rectangular cell, a superlattice); the
        window follows it.
    periods : float
        Periods per window.
    crop : int
        Width of the kept reciprocal-space region in FFT pixels.
    image_shape : (int, int), optional
        ``(ny, nx)``: the window is capped at the image's smaller side
        (rounded down to a multiple of 4).

    Returns
    -------
    dict
        ``window_size`` (int), ``step`` (int), ``zoom`` (float).
    """
    spacing = float(spacing)
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"`spacing` must be a positive number, got {spacing!r}")
    period = spacing
    if largest_period is not None:
        largest_period = float(largest_period)
        if not np.isfinite(largest_period) or largest_period <= 0:
            raise ValueError(
                f"`largest_period` must be a positive number, got {largest_period!r}"
            )
        period = max(period, largest_period)
    window = max(16, 4 * int(round(periods * period / 4.0)))
    if image_shape is not None:
        cap = 4 * (min(int(s) for s in image_shape) // 4)
        window = max(4, min(window, cap))
    step = max(1, window // 8)
    zoom = max(1.0, window / float(crop))
    return {"window_size": int(window), "step": int(step), "zoom": float(zoom)}


def estimate_spacing(data, max_size=1024):
    """Nearest-neighbour distance of a lattice image, from its autocorrelation.

    The autocorrelation of a periodic image has a peak at every lattice
    vector; the shortest strong one (at least half as high as the highest
    peak off the origin) is the nearest-neighbour distance. It is computed
    with zero-padded FFTs (a linear, not circular, autocorrelation) of the
    central ``max_size`` square of the image, after subtracting the mean.

    Parameters
    ----------
    data : ndarray of shape (ny, nx)
    max_size : int
        Larger images are cropped to their central ``max_size`` square.

    Returns
    -------
    float
        Distance in pixels (to the nearest pixel of the autocorrelation).

    Raises
    ------
    ValueError
        If the autocorrelation has no peak off the origin (no lattice).
    """
    from scipy import ndimage

    ny, nx = data.shape
    cy, cx = max(0, (ny - max_size) // 2), max(0, (nx - max_size) // 2)
    crop = data[cy : cy + max_size, cx : cx + max_size]
    if hasattr(crop, "compute"):  # a dask array: only the crop is computed
        crop = crop.compute()
    # float64 whatever the dtype (float16 included): the FFTs need it
    crop = np.asarray(crop, dtype=float)
    crop = crop - crop.mean()
    h, w = crop.shape
    f = np.fft.rfft2(crop, s=(2 * h, 2 * w))
    power = f.real**2
    power += f.imag**2
    del f  # (memory: these arrays are 4 times the crop)
    ac = np.fft.irfft2(power, s=(2 * h, 2 * w))
    del power
    # lattice vectors up to a quarter of the crop (enough overlap to be
    # reliable): lags -r..r, read around lag 0 with wrap-around (what
    # fftshift and a slice give, without a shifted copy)
    ry, rx = max(2, h // 4), max(2, w // 4)
    ac = ac[np.ix_(np.arange(-ry, ry + 1) % (2 * h), np.arange(-rx, rx + 1) % (2 * w))]
    yy, xx = np.mgrid[-ry : ry + 1, -rx : rx + 1]
    r = np.hypot(yy, xx)
    peaks = (ac == ndimage.maximum_filter(ac, size=3)) & (r >= 1.5) & (ac > 0)
    # the border of the search box is not a peak, only the end of the search
    peaks[[0, -1], :] = False
    peaks[:, [0, -1]] = False
    if not peaks.any():
        raise ValueError(
            "could not estimate the atom spacing from the image's "
            "autocorrelation (no lattice peak); pass `separation`"
        )
    height = ac[peaks]
    dist = r[peaks]
    strong = height >= 0.5 * height.max()
    return float(dist[strong].min())


def lattice_neighbour_counts(
    positions: np.ndarray,
    spacing: float,
    *,
    rows: np.ndarray | None = None,
    reach: float = 1.5,
    tol: float = 0.15,
    min_share: float = 0.2,
) -> np.ndarray:
    """How many neighbours of each atom sit at one of the lattice vectors.

    The lattice vectors are the offsets to neighbouring atoms (up to
    ``reach`` spacings) that at least ``min_share`` of the atoms have: peaks
    of the 2-D histogram of all such offsets (bins of ``tol / 2`` spacing).
    Atoms of the lattice have most of their neighbours there; peaks found in
    an amorphous support or in noise have their neighbours at random
    offsets, which match a lattice vector within ``tol`` spacing rarely.

    Parameters
    ----------
    positions : ndarray of shape (n, 2)
    spacing : float
        Nearest-neighbour distance.
    rows : None or ndarray of int
        The atoms to count for (all when None); the lattice vectors are
        estimated from their offsets (a sample is enough for them).
    reach, tol, min_share : float

    Returns
    -------
    ndarray of int of shape (len(rows),) or (n,)
        Lattice-vector neighbours of each atom asked (all zero if no lattice
        vector stands out).
    """
    xy = np.asarray(positions, dtype=float).reshape(-1, 2)
    rows = np.arange(len(xy)) if rows is None else np.asarray(rows, dtype=np.intp)
    n = len(rows)
    if n < 8 or not spacing > 0:
        return np.zeros(n, dtype=np.intp)
    owner, other = neighbour_pairs(xy, rows, reach * spacing)
    off = (xy[other] - xy[rows[owner]]) / spacing
    if len(off) == 0:
        return np.zeros(n, dtype=np.intp)
    b = tol / 2
    nb = int(np.ceil(reach / b))
    edges = np.linspace(-nb * b, nb * b, 2 * nb + 1)
    hist, _, _ = np.histogram2d(off[:, 0], off[:, 1], bins=(edges, edges))
    from scipy import ndimage

    # an offset spreads over neighbouring bins (position noise): 3 x 3 sums
    summed = ndimage.uniform_filter(hist, 3, mode="constant") * 9
    peaks = (summed == ndimage.maximum_filter(summed, 3)) & (summed >= min_share * n)
    if not peaks.any():
        return np.zeros(n, dtype=np.intp)
    centres = (np.argwhere(peaks) + 0.5) * b - nb * b  # (m, 2): x, y bins
    # each lattice vector as the mean of the offsets near its peak
    d, k = cKDTree(centres).query(off, distance_upper_bound=1.5 * b)
    near = np.isfinite(d)
    sums = np.zeros((len(centres), 2))
    np.add.at(sums, k[near], off[near])
    hits = np.bincount(k[near], minlength=len(centres))
    vecs = sums[hits > 0] / hits[hits > 0, None]
    if len(vecs) == 0:
        return np.zeros(n, dtype=np.intp)
    d2, _ = cKDTree(vecs).query(off, distance_upper_bound=tol)
    return np.bincount(owner[np.isfinite(d2)], minlength=n)


def neighbour_pairs(xy: np.ndarray, rows: np.ndarray, radius: float):
    """Every pair (row k of ``rows``, atom j) closer than ``radius``, j not
    the atom itself, as two index arrays (one sparse-distance query: no
    Python loop over the atoms' neighbour lists)."""
    pairs = cKDTree(xy[rows]).sparse_distance_matrix(
        cKDTree(xy), radius, output_type="ndarray"
    )
    owner, other = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    keep = other != rows[owner]
    return owner[keep], other[keep]
