"""Screening of pixels that are not part of the mixture, before N-FINDR.

N-FINDR picks the pixels spanning the largest simplex, so any pixel far from
the data cloud becomes a vertex: a hot pixel (a particle, a charging spot, an
overflowed readout), a dead pixel or scan row (all zeros), a pixel with a
cosmic-ray spike. The screening flags them from per-pixel summaries that one
projection pass over the data gives (principal scores, squared distance to
the principal subspace, total counts), so it costs O(n_pixels * k) after that
pass.

The idea: *a pixel is an outlier when it differs from its own spatial
neighbourhood far more than neighbourhoods differ anywhere on the map.* Real
maps vary a lot globally (thickness changes the totals several-fold, phases
sit at the far corners of the simplex), but they vary smoothly or in regions:
a genuine pure region has neighbours like itself, a genuine thickness ramp has
neighbours of similar totals. Three local contrasts, each turned into a
robust z-score (median and MAD over the map, Hampel's outlier rule; Rousseeuw
& Croux, JASA 88 (1993) 1273 for the MAD's 1.4826 consistency factor):

- ``total_z``: log total counts minus the median over the 8 neighbours (dead
  pixels and rows: very negative; hot pixels: very positive). A dead row is
  caught because 6 of its pixels' 8 neighbours lie in the rows around it.
- ``residual_z``: square root of the out-of-subspace residual minus its
  neighbours' median (spikes and odd spectra leave the subspace; the median
  follows a spatially varying noise level, e.g. Poisson noise growing with
  thickness).
- ``isolation_z``: the distance in score space to the component-wise median
  of the 8 neighbours' scores (a local form of the RX / Mahalanobis anomaly
  detector, Reed & Yu, IEEE TASSP 38 (1990) 1760, with the neighbourhood as
  background). Inside a region, on a ramp or at a straight boundary the
  median stays on the pixel's side, so this is the pixel's own noise; an
  isolated extreme pixel is far from it. (The distance to the *nearest*
  neighbour was tried: its tail on clean maps is heavier, because a pixel's
  own noise moves all 8 distances together.) Genuine one-pixel features (a
  one-pixel-wide wall) look like outliers to it.

Every contrast is in units of ``max(1.4826 MAD, 3 % of the map's typical
distance to the centre)``; flagged pixels are then re-evaluated against their
unflagged neighbours only (an outlier spoils its neighbours' medians).

Outliers also pull the principal subspace (a 1e6-count pixel *is* the first
principal component). The recipe (tested end to end in
``tests/_core/test_outliers.py``): fit the subspace on every pixel (or
sample), project once (:func:`pixel_summaries`), screen, then refit without
the outliers, either by another covariance pass with ``rows=`` the good
pixels or, cheaper, by removing the outliers' rows from the summed moments
(:func:`downdate_moments`, then ``CovariancePCA.from_moments``), project
again and screen once more (a pixel hidden by the first, contaminated
subspace shows up in the clean one), then search the vertices among the good
pixels only.
"""

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from hyperspy_unmix._core.linalg import row_dots
from hyperspy_unmix._core.parallel import map_ranges, row_ranges, single_blas_thread

_MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution -> its sigma
# A contrast is measured in units of max(noise spread, 3 % of the map's own
# scale): noise-free or high-dose maps have a tiny MAD, and their genuine
# sharp structure (patch rims, boundaries) would otherwise score z ~ 100.
# Chosen by measurement on 48 clean synthetic maps (EDS/Raman/EELS, doses
# None to 2e5, purity 1 and 0.8, 3 and 6 endmembers): largest clean z 16.1,
# smallest planted-outlier z 98.
_REL_FLOOR = 0.03


@dataclass(frozen=True, eq=False)
class OutlierScreen:
    """Result of :func:`screen_outliers`.

    Attributes
    ----------
    mask : ndarray of shape (n,), bool
        True for pixels that are not part of the mixture (never True where
        ``keep`` was False).
    total_z, residual_z, isolation_z : ndarray of shape (n,), float32
        The robust z-score of each criterion (NaN where ``keep`` was False);
        float64 for maps whose scores or totals reach 1e18 (float32 could not
        square them).
    threshold : float
        A pixel is an outlier when ``|total_z|``, ``residual_z`` or
        ``isolation_z`` exceeds it.
    """

    mask: np.ndarray
    total_z: np.ndarray
    residual_z: np.ndarray
    isolation_z: np.ndarray
    threshold: float

    @property
    def n_outliers(self) -> int:
        return int(np.count_nonzero(self.mask))

    def reasons(self) -> dict:
        """Number of flagged pixels per criterion (a pixel can have several)."""
        t = self.threshold
        with np.errstate(invalid="ignore"):
            return {
                "total": int(np.count_nonzero(np.abs(self.total_z) > t)),
                "residual": int(np.count_nonzero(self.residual_z > t)),
                "isolation": int(np.count_nonzero(self.isolation_z > t)),
            }


def _neighbour_offsets(ndim):
    grids = np.stack(np.meshgrid(*[[-1, 0, 1]] * ndim, indexing="ij"), -1)
    offsets = grids.reshape(-1, ndim)
    return offsets[np.any(offsets != 0, axis=1)]


def _shifted(a, offset):
    """``a`` moved by ``offset`` along its first axes, NaN where it falls off.

    ``out[p] = a[p + offset]`` (first ``len(offset)`` axes).
    """
    out = np.full(a.shape, np.nan, dtype=np.result_type(a.dtype, np.float32))
    dst, src = _shift_slices(offset, a.shape)
    out[dst] = a[src]
    return out


def _shift_slices(offset, shape):
    """``(dst, src)`` index tuples with ``out[dst] = a[src]`` moving ``a`` by
    ``offset`` (``out[p] = a[p + offset]``), the parts that fall off dropped."""
    src, dst = [], []
    for o, n in zip(offset, shape):
        if o >= 0:
            src.append(slice(o, n))
            dst.append(slice(0, n - o))
        else:
            src.append(slice(0, n + o))
            dst.append(slice(-o, n))
    return tuple(dst), tuple(src)


# Bytes per map of a band of rows in _neighbour_median (64 Ki float64 pixels).
_BAND_BYTES = 1 << 19


@functools.lru_cache(maxsize=None)
def _sorting_network(n):
    """Comparators ``(i, j)`` of Batcher's odd-even merge sort of ``n = 2**p``."""

    def merge(lo, hi, r):
        step = r * 2
        if step < hi - lo:
            yield from merge(lo, hi, step)
            yield from merge(lo + r, hi, step)
            yield from ((i, i + r) for i in range(lo + r, hi - r, step))
        else:
            yield (lo, lo + r)

    def sort(lo, hi):
        if hi - lo >= 1:
            mid = lo + (hi - lo) // 2
            yield from sort(lo, mid)
            yield from sort(mid + 1, hi)
            yield from merge(lo, hi, 1)

    return tuple(sort(0, n - 1))


def _neighbour_median(f, halo=(0, 0)):
    """Median of each pixel's neighbours (NaN neighbours ignored), shape of f.

    The ``3**d - 1`` shifted maps are sorted element-wise by a sorting
    network of ``np.minimum`` / ``np.maximum`` on whole maps (missing
    neighbours as +inf, so they sort last): contiguous, vectorised work,
    ~3x faster than ``np.sort`` along a short strided axis, and the same
    numbers as ``np.nanmedian``, in ``f``'s float dtype (float32 maps: half
    the memory traffic). ``halo``: rows at the top and bottom whose
    medians the caller discards (not worth the exact fix-up below).
    """
    f = np.asarray(f, dtype=np.result_type(f.dtype, np.float32))
    band_pixels = _BAND_BYTES // f.dtype.itemsize
    band = max(1, band_pixels // max(int(np.prod(f.shape[1:])), 1))
    if f.ndim >= 2 and f.shape[0] > band + 2:
        # bands of rows (with a row of halo) small enough for the caches:
        # the network reads every map ~40 times
        out = np.empty(f.shape, f.dtype)
        for a in range(0, f.shape[0], band):
            lo, hi = max(a - 1, 0), min(a + band + 1, f.shape[0])
            part = _neighbour_median(f[lo:hi], halo=(a - lo, hi - min(a + band, hi)))
            out[a : a + band] = part[a - lo : a - lo + min(band, f.shape[0] - a)]
        return out
    offsets = _neighbour_offsets(f.ndim)
    L = len(offsets)
    vals = [_shifted(f, o) for o in offsets]
    m = np.zeros(f.shape, dtype=np.intp)  # valid neighbours per pixel
    for v in vals:
        missing = np.isnan(v)
        m += ~missing
        v[missing] = np.inf
    P = 1 << max(L - 1, 0).bit_length()
    vals += [np.full(f.shape, np.inf, f.dtype) for _ in range(P - L)]
    tmp = np.empty(f.shape, f.dtype)
    for i, j in _sorting_network(P):
        a, b = vals[i], vals[j]
        np.minimum(a, b, out=tmp)
        np.maximum(a, b, out=b)
        vals[i], tmp = tmp, a
    out = 0.5 * (vals[(L - 1) // 2] + vals[L // 2])
    m[: halo[0]] = L
    m[m.shape[0] - halo[1] :] = L
    few = np.flatnonzero(m.ravel() < L)  # borders, next to unusable pixels
    if few.size:
        mm = m.ravel()[few]
        srt = np.stack([v.ravel()[few] for v in vals[:L]])
        lo = np.take_along_axis(srt, np.maximum((mm - 1) // 2, 0)[None], 0)[0]
        hi = np.take_along_axis(srt, np.minimum(mm // 2, L - 1)[None], 0)[0]
        med = 0.5 * (lo + hi)
        med[mm == 0] = np.nan
        out.ravel()[few] = med
    return out


class _Local:
    """The per-pixel values the three contrasts compare, made on demand.

    ``f`` (log or plain totals), ``r`` (root residual) and ``S`` (scores) of
    any pixels, in float64 and NaN where unusable: the screen forms them for
    a band of rows or a few pixels at a time, never as whole-map copies (on
    a 4.7 M pixel map each whole float64 temporary is 38 MB of fresh memory,
    and touching fresh memory dominated the screen's time).
    """

    def __init__(self, scores, sq_residual, totals, keep, t_floor):
        self.scores, self.sq, self.totals, self.keep = scores, sq_residual, totals, keep
        self.t_floor = t_floor  # None: plain totals
        # log totals relative to the median total (1000 floors): the
        # contrasts do not change, and float32 rounds small logs finely
        # whatever the units (log(1e-26) = -60 would round 6x coarser)
        self.log_ref = None if t_floor is None else np.log(1e3 * t_floor)

    def __call__(self, idx):
        blank = np.where(self.keep[idx], 0.0, np.nan)  # adding it blanks them
        t = self.totals[idx] + blank
        if self.t_floor is not None:
            t = np.log(t + self.t_floor) - self.log_ref
        sq = np.maximum(self.sq[idx], 0.0)
        S = self.scores[idx] + blank[..., None]
        return t, np.sqrt(sq) + blank, S, sq


def _local_contrasts(local, nav_shape, k, dtype):
    """Each pixel's three contrasts to its neighbours' medians (3, n) and its
    distance to the centre, ``sqrt(|s|^2 + sq)`` (n,), in ``dtype``.

    In bands of rows (one row of halo each side) small enough for the
    caches, the bands in threads: the sorting network is whole-array
    ``np.minimum`` / ``np.maximum`` work that releases the GIL (the workers
    are idle meanwhile, lazily as well). The medians are of float32 maps
    (1.5-2x faster): their rounding, 6e-8 of a value, is < 1e-5 of each
    criterion's floor (3 % of the map's typical magnitude of what is
    rounded), so no z-score moves by more than 1e-5; the contrasts are
    stored in float32 too, which rounds each by 6e-8 of itself. (``dtype``
    is float64 for maps whose values float32 cannot square.)
    """
    rows = nav_shape[0]
    inner = int(np.prod(nav_shape[1:]))
    n = rows * inner
    band = max(1, (_BAND_BYTES // np.dtype(dtype).itemsize) // max(inner, 1))
    starts = list(range(0, rows, band))
    out = np.empty((3, n), dtype)
    mag = np.empty(n, dtype)

    def bands(i0, i1):
        for a in starts[i0:i1]:
            b = min(a + band, rows)
            lo, hi = max(a - 1, 0), min(b + 1, rows)
            shape = (hi - lo, *nav_shape[1:])
            own = slice((a - lo) * inner, (b - lo) * inner)
            f, r, S, sq = local(slice(lo * inner, hi * inner))

            def med(v):
                v = v.astype(dtype).reshape(shape)
                return _neighbour_median(v, halo=(a - lo, hi - b)).reshape(-1)[own]

            dst = slice(a * inner, b * inner)
            out[0, dst] = f[own] - med(f)
            out[1, dst] = r[own] - med(r)
            S_med = np.stack([med(S[:, j]) for j in range(k)], axis=-1)
            out[2, dst] = _norm(S[own] - S_med)
            mag[dst] = np.sqrt(row_dots(S[own]) + sq[own])

    with single_blas_thread() as workers:
        map_ranges(bands, row_ranges(len(starts), 1, workers))
    return out, mag


def _in_threads(func, items):
    """``[func(item) for item in items]``, the items split over the threads."""
    out = [None] * len(items)

    def part(lo, hi):
        for i in range(lo, hi):
            out[i] = func(items[i])

    with single_blas_thread() as workers:
        map_ranges(part, row_ranges(len(items), 1, workers))
    return out


def _norm(D):
    # row norms of a thin (n, k) array: ~4x faster than sum(D**2, axis=-1)
    return np.sqrt(row_dots(D))


def _flag(total_z, residual_z, isolation_z, threshold):
    with np.errstate(invalid="ignore"):
        return (
            (np.abs(total_z) > threshold)
            | (residual_z > threshold)
            | (isolation_z > threshold)
        )


def _neighbours_of(idx, valid, nav_shape):
    """Flat indices (p, 3**d - 1) of the neighbours of the flat pixels ``idx``
    (0 where off the map) and whether each is ``valid`` and on the map."""
    coords = np.stack(np.unravel_index(idx, nav_shape), axis=1)  # (p, d)
    offsets = _neighbour_offsets(len(nav_shape))  # (8, d) in 2-D
    nb = coords[:, None, :] + offsets[None]  # (p, 8, d)
    inside = np.all((nb >= 0) & (nb < np.array(nav_shape)), axis=-1)
    flat = np.ravel_multi_index(
        tuple(np.where(inside[..., None], nb, 0).T), nav_shape
    ).T
    return flat, inside & valid[flat]


def _nanmedian_rows(gathered, ok):
    """Median over axis 1 of ``gathered`` (p, m) or (p, m, k) where ``ok``."""
    if gathered.ndim == 3:
        ok = ok[..., None]
    gathered = np.where(ok, gathered, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(gathered, axis=1)


def _usable_neighbours(keep, nav_shape):
    """Usable neighbours of each pixel (flat), counted on booleans."""
    usable = keep.reshape(nav_shape)
    m = np.zeros(nav_shape, dtype=np.int16)
    for offset in _neighbour_offsets(len(nav_shape)):
        dst, src = _shift_slices(offset, nav_shape)
        m[dst] += usable[src]
    return m.reshape(-1)


def _within(limit, keep, *arrays):
    """Whether every usable value of ``arrays`` lies within ``+-limit``."""
    for v in arrays:
        where = keep if v.ndim == 1 else keep[:, None]
        lo = np.min(v, where=where, initial=0.0)
        hi = np.max(v, where=where, initial=0.0)
        if not (-limit < lo and hi < limit):
            return False
    return True


def _median_in_place(v):
    """Median of a 1-D array, reordering it (no copy of a whole map)."""
    n = v.size
    kth = sorted({(n - 1) // 2, n // 2})
    v.partition(kth)
    return 0.5 * (float(v[(n - 1) // 2]) + float(v[n // 2]))


def _centre_spread(v):
    """Median and 1.4826 MAD of the finite values of ``v`` (NaN if none).

    The medians are ``np.partition`` calls over the whole map (they release
    the GIL: the caller runs several in threads), on one copy of the finite
    values, reordered in place.
    """
    vals = v[np.isfinite(v)]
    if not vals.size:
        return np.nan, np.nan
    med = _median_in_place(vals)
    np.abs(np.subtract(vals, med, out=vals), out=vals)
    return med, _MAD_TO_SIGMA * _median_in_place(vals)


def _kept_median(v, keep, dtype, block=1 << 20):
    """Median of ``v[keep]`` (a ``dtype`` copy, made in blocks)."""
    n_keep = int(np.count_nonzero(keep))
    if not n_keep:
        return np.nan
    vals = np.empty(n_keep, dtype)
    at = 0
    for a in range(0, v.shape[0], block):  # blocks of pixels, not pixels
        part = v[a : a + block][keep[a : a + block]]
        vals[at : at + part.size] = part
        at += part.size
    return _median_in_place(vals)


def screen_outliers(
    scores: np.ndarray,
    sq_residual: np.ndarray,
    totals: np.ndarray,
    nav_shape: tuple,
    *,
    threshold: float = 25.0,
    keep: np.ndarray | None = None,
) -> OutlierScreen:
    """Flag pixels that are not part of the mixture.

    Parameters
    ----------
    scores : ndarray of shape (n, k)
        Centred principal-component scores of every pixel (``k >= 1``, e.g.
        ``q - 1`` for ``q`` endmembers), ``n = prod(nav_shape)`` in array
        (C) order.
    sq_residual : ndarray of shape (n,)
        Squared distance of each pixel to the principal affine subspace,
        ``||x - c||^2 - ||scores||^2`` (small negative rounding is clipped).
    totals : ndarray of shape (n,)
        Sum of each pixel's spectrum (``x . 1``). Non-negative totals (counts)
        are compared on a log scale (a ratio to the neighbours); with any
        negative total, on a linear scale.
    nav_shape : tuple of int
        Navigation shape in array order (1-D line scans, 2-D maps, or more:
        the neighbours are the ``3**d - 1`` adjacent pixels).
    threshold : float
        Robust z above which a criterion flags a pixel. With the default 25
        the largest z of any clean pixel of 48 synthetic EDS/Raman/EELS maps
        was 16.1 and the smallest of any planted outlier 98. Lower values
        catch weaker outliers and start to flag genuine sharp structure.
    keep : None or ndarray of shape (n,), bool
        Usable pixels (e.g. not masked by the user); the others are ignored as
        neighbours and never flagged, and their values may be anything
        (NaN included).

    Returns
    -------
    OutlierScreen

    Raises
    ------
    ValueError
        On inconsistent shapes, a non-positive threshold or non-finite values
        in usable pixels.
    """

    def as_float(v):
        v = np.asarray(v)
        return v if v.dtype in (np.float32, np.float64) else v.astype(np.float64)

    scores = as_float(scores)
    nav_shape = tuple(int(v) for v in np.atleast_1d(nav_shape))
    n = int(np.prod(nav_shape)) if nav_shape else 0
    if scores.ndim != 2 or scores.shape[0] != n or scores.shape[1] < 1:
        raise ValueError(
            f"`scores` must have shape (prod(nav_shape), k) = ({n}, k >= 1), got "
            f"{scores.shape}"
        )
    sq_residual = as_float(sq_residual).reshape(-1)
    totals = as_float(totals).reshape(-1)
    if sq_residual.shape != (n,):
        raise ValueError(
            f"`sq_residual` must have shape ({n},), got {sq_residual.shape}"
        )
    if totals.shape != (n,):
        raise ValueError(f"`totals` must have shape ({n},), got {totals.shape}")
    if isinstance(threshold, (bool, str)) or not np.isscalar(threshold):
        raise TypeError(f"`threshold` must be a number, got {threshold!r}")
    threshold = float(threshold)
    if not threshold > 0:
        raise ValueError(f"`threshold` must be > 0, got {threshold!r}")
    if keep is None:
        keep = np.ones(n, dtype=bool)
    else:
        keep = np.asarray(keep)
        if keep.dtype != bool or keep.shape != (n,):
            raise ValueError(f"`keep` must be a bool array of shape ({n},)")
    for name, v in (
        ("scores", scores),
        ("sq_residual", sq_residual),
        ("totals", totals),
    ):
        finite = np.isfinite(v)
        if v.ndim > 1:
            finite = finite.all(axis=1)
        if not np.all(finite | ~keep):
            raise ValueError(f"`{name}` has NaN or infinite values at usable pixels")

    # float32 work (half the memory traffic) unless its squares overflow
    small = _within(1e18, keep, scores, totals) and _within(1e36, keep, sq_residual)
    wd = np.float32 if small else np.float64
    # totals: log ratio to the neighbours for counts, else a plain difference
    counts = keep.any() and np.min(totals, where=keep, initial=np.inf) >= 0
    if counts:
        t_floor = max(1e-3 * _kept_median(totals, keep, wd), np.finfo(float).tiny)
        total_floor = _REL_FLOOR
    else:
        t_floor = None
        total_floor = _REL_FLOOR * (_kept_median(np.abs(totals), keep, wd) or 1.0)
    local = _Local(scores, sq_residual, totals, keep, t_floor)
    contrasts, mag = _local_contrasts(local, nav_shape, scores.shape[1], wd)
    # the three robust scales and the map's typical distance to the centre
    # (for the floors): four whole-map medians, in threads
    *spreads, typical = _in_threads(
        lambda i: (
            _centre_spread(contrasts[i]) if i < 3 else _kept_median(mag, keep, wd)
        ),
        range(4),
    )
    spread_floor = _REL_FLOOR * max(typical, 1e-300)
    stats = [
        (centre, 1.0 if np.isnan(centre) else max(spread, floor, np.finfo(float).tiny))
        for (centre, spread), floor in zip(
            spreads, (total_floor, spread_floor, spread_floor)
        )
    ]
    # A pixel with fewer usable neighbours (map borders, next to masked
    # pixels) is compared with a noisier, one-sided median (which also keeps
    # the local gradient of the maps): its z is scaled by sqrt(m / full).
    # Measured on 24 clean 48x48 EELS/EDS/Raman maps: 3 border pixels reached
    # z 25.8-27.3 unscaled (interior pixels at most 16.1); planted outliers
    # have z >= 98, so they stay far above the threshold even at a corner.
    m = _usable_neighbours(keep, nav_shape)
    full = len(_neighbour_offsets(len(nav_shape)))
    weight = np.maximum(m, 1).astype(wd)
    weight /= full
    np.sqrt(weight, out=weight)

    def z_in_place(i):  # the contrasts become the z-scores: no new maps
        centre, scale = stats[i]
        c = contrasts[i]
        c -= centre
        c *= weight
        c /= scale

    _in_threads(z_in_place, range(3))
    z = list(contrasts)
    mask = _flag(*z, threshold) & keep

    # An outlier spoils its neighbours' medians (with few neighbours, e.g. a
    # line scan, enough to flag them): re-evaluate every flagged pixel
    # against its unflagged neighbours, with the same centre and scale.
    cand = np.flatnonzero(mask)
    if cand.size:
        nb, ok = _neighbours_of(cand, keep & ~mask, nav_shape)
        own, around = local(cand)[:3], local(nb)[:3]
        meds = [_nanmedian_rows(v, ok) for v in around]
        sub = (own[0] - meds[0], own[1] - meds[1], _norm(own[2] - meds[2]))
        w_c = weight[cand]
        for i, (c, (centre, scale)) in enumerate(zip(sub, stats)):
            # no unflagged neighbour at all: the first verdict stands
            z[i][cand] = np.where(np.isnan(c), z[i][cand], w_c * (c - centre) / scale)
        mask[cand] = _flag(*(zz[cand] for zz in z), threshold)
    total_z, residual_z, isolation_z = z
    return OutlierScreen(
        mask=mask,
        total_z=total_z,
        residual_z=residual_z,
        isolation_z=isolation_z,
        threshold=threshold,
    )


def pixel_summaries(
    X: np.ndarray,
    components: np.ndarray,
    centre: np.ndarray,
    *,
    block_rows: int = 8192,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scores, squared residual and totals of every pixel in one pass.

    One GEMM per block against ``[V^T | 1]`` (float32 data stay float32) plus
    the row norms, so the totals come for free with the scores.

    Parameters
    ----------
    X : ndarray of shape (n, C)
    components : ndarray of shape (k, C)
        Orthonormal principal directions.
    centre : ndarray of shape (C,)

    Returns
    -------
    scores : ndarray of shape (n, k), float64
        ``(x - centre) V^T``.
    sq_residual : ndarray of shape (n,), float64
        ``||x - centre||^2 - ||scores||^2``, clipped at 0.
    totals : ndarray of shape (n,), float64
    """
    X = np.asarray(X)
    V = np.asarray(components, dtype=np.float64)
    c = np.asarray(centre, dtype=np.float64)
    if (
        X.ndim != 2
        or V.ndim != 2
        or V.shape[1] != X.shape[1]
        or c.shape != (X.shape[1],)
    ):
        raise ValueError(
            f"`X` (n, C), `components` (k, C), `centre` (C,) disagree: {X.shape}, "
            f"{V.shape}, {c.shape}"
        )
    wd = np.float32 if X.dtype == np.float32 else np.float64
    W = np.concatenate([V.T, np.ones((X.shape[1], 1))], axis=1).astype(wd)
    n, k = X.shape[0], V.shape[0]
    scores = np.empty((n, k))
    sq = np.empty(n)
    totals = np.empty(n)
    cV = c @ V.T
    cc = c @ c
    for start in range(0, n, block_rows):  # blocks of rows, not pixels
        xb = X[start : start + block_rows]
        p = np.asarray(xb @ W, dtype=np.float64)
        xx = np.einsum("ij,ij->i", xb, xb, dtype=np.float64)
        xc = np.asarray(xb @ c.astype(wd), dtype=np.float64)
        s = p[:, :k] - cV
        scores[start : start + len(xb)] = s
        totals[start : start + len(xb)] = p[:, k]
        sq[start : start + len(xb)] = xx - 2 * xc + cc - np.sum(s**2, axis=1)
    np.maximum(sq, 0.0, out=sq)
    return scores, sq, totals


def downdate_moments(
    moments: np.ndarray, shift: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Summed moments with some pixels' contributions removed.

    For ``CovariancePCA.from_moments``: refitting the subspace without the
    outliers costs ``O(m C^2)`` for ``m`` removed spectra instead of another
    pass over the data. Exact in float64; when the moments were accumulated
    in float32 blocks, the removed pixels' rounding error stays (about
    ``1e-7`` of their squared size per block): for extreme values (1e6-count
    pixels) refit from the data with ``rows=`` instead.

    Parameters
    ----------
    moments : ndarray of shape (C + 2, C)
        Count (row 0), column sums of ``x - shift`` (row 1), Gram matrix of
        ``x - shift`` (rows 2:), as from
        :func:`hyperspy_unmix._core.blockwise.lazy_moments`.
    shift : ndarray of shape (C,)
    rows : ndarray of shape (m, C)
        The spectra to remove (they must have been part of the sums).

    Returns
    -------
    ndarray of shape (C + 2, C), float64
    """
    moments = np.array(moments, dtype=np.float64)
    C = moments.shape[1]
    if moments.shape != (C + 2, C):
        raise ValueError(f"`moments` must have shape (C + 2, C), got {moments.shape}")
    shift = np.asarray(shift, dtype=np.float64)
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, C)
    if shift.shape != (C,):
        raise ValueError(f"`shift` must have shape ({C},), got {shift.shape}")
    if rows.shape[0] > moments[0, 0]:
        raise ValueError("`rows` has more spectra than the moments hold")
    d = rows - shift
    moments[0] -= rows.shape[0]
    moments[1] -= d.sum(axis=0)
    moments[2:] -= d.T @ d
    return moments
