"""What makes a synthetic map realistically bad: limited purity and outliers.

Two independent pieces used by :func:`hyperspy_unmix.data.spectrum_image`:

- :func:`limit_purity` maps abundances so that no pixel holds more than
  ``max_purity`` of any endmember (maps coarser than their grains, thin
  films, small precipitates), keeping them non-negative and sum-to-one.
- :func:`plant_outliers` overwrites pixels that are not part of the mixture:
  hot pixels (a particle, a charging spot, an overflowed readout), dead pixels
  and dead scan rows (zero counts), and single-channel spikes (cosmic rays,
  detector glitches), and says where they are.
"""

import numpy as np

from hyperspy_unmix._validation import check_float, check_int

#: Keys accepted in ``spectrum_image(outliers=...)`` and their defaults.
OUTLIER_DEFAULTS = {
    "hot_pixels": 0,
    "hot_factor": 8.0,
    "hot_value": None,
    "dead_pixels": 0,
    "dead_rows": 0,
    "spikes": 0,
    "spike_height": None,
}


def limit_purity(abundances, soft, max_purity):
    """Abundances whose largest value per endmember is exactly ``max_purity``.

    A pixel whose largest abundance ``a_k`` exceeds ``m = max_purity`` is moved
    along the line from the vertex ``e_k`` through it until ``a_k = m``:
    ``a' = m e_k + (1 - m) d`` with ``d = (a - a_k e_k) / (1 - a_k)`` the
    pixel's mixture of the other endmembers (sum one). The other abundances
    only grow by ``(1 - m) / (1 - a_k)``, so zeros stay zero (pixels on a
    facet of the simplex stay there, which keeps the true simplex the
    minimum-volume one) and, for ``m >= 0.5``, no other abundance can exceed
    ``m``. Inside a planted pure patch ``d`` is undefined (``a = e_k``), so
    ``d`` is taken from the smooth field ``soft`` there; the patches are
    blended as ``(1 - w) soft + w e_k``, which has the same ``d`` as ``soft``,
    so the result is continuous.

    Parameters
    ----------
    abundances : ndarray of shape (r, ny, nx)
        Sum-to-one abundances (with planted one-hot patches).
    soft : ndarray of shape (r, ny, nx)
        The smooth sum-to-one field the patches were blended into, every value
        < 1.
    max_purity : float
        In [0.5, 1].

    Returns
    -------
    ndarray of shape (r, ny, nx), float64
        Non-negative, sum-to-one, ``max == max_purity`` for every endmember
        that reached it before (every endmember with a planted patch).
    """
    m = float(max_purity)
    r = abundances.shape[0]
    out = abundances.astype(np.float64, copy=True)
    if m >= 1.0 or r == 1:
        return out
    k = np.argmax(out, axis=0)  # (ny, nx)
    top = np.take_along_axis(out, k[None], axis=0)[0]
    moved = top > m
    if not np.any(moved):
        return out
    a = out[:, moved]  # (r, n_moved)
    kk = k[moved]
    cols = np.arange(kk.size)
    a_k = a[kk, cols]
    # the rest of the mixture: from the pixel itself where it is defined, from
    # the smooth field inside the patches (a_k == 1)
    s = soft[:, moved].astype(np.float64, copy=True)
    use_soft = a_k >= 1.0 - 1e-9
    src = np.where(use_soft[None], s, a)
    rest_k = src[kk, cols]
    d = src.copy()
    d[kk, cols] = 0.0
    denom = 1.0 - rest_k
    d /= np.where(denom > 0, denom, 1.0)[None]
    new = (1.0 - m) * d
    new[kk, cols] = m  # exactly m, not 1 - (1 - m) in floating point
    out[:, moved] = new
    return out


def check_outliers(outliers):
    """Validated ``outliers`` dict with every key present, or None."""
    if outliers is None:
        return None
    if not isinstance(outliers, dict):
        raise TypeError(
            f"`outliers` must be None or a dict with keys {sorted(OUTLIER_DEFAULTS)}"
            f", got {type(outliers).__name__}"
        )
    unknown = set(outliers) - set(OUTLIER_DEFAULTS)
    if unknown:
        raise ValueError(
            f"`outliers` has unknown key(s) {sorted(unknown)}; allowed: "
            f"{sorted(OUTLIER_DEFAULTS)}"
        )
    spec = {**OUTLIER_DEFAULTS, **outliers}
    for key in ("hot_pixels", "dead_pixels", "dead_rows", "spikes"):
        spec[key] = check_int(spec[key], f"outliers['{key}']", minimum=0)
    spec["hot_factor"] = check_float(
        spec["hot_factor"], "outliers['hot_factor']", minimum=0.0, strict_minimum=True
    )
    for key in ("hot_value", "spike_height"):
        if spec[key] is not None:
            spec[key] = check_float(
                spec[key], f"outliers['{key}']", minimum=0.0, strict_minimum=True
            )
    return spec


def plant_outliers(data, spec, protected, rng, *, spike_height):
    """Overwrite pixels of ``data`` in place; return where and what.

    Outliers go only where ``protected`` is False (the planted patches and
    their blends stay intact, so the pure-pixel truth still holds) and never
    share a pixel. Dead rows are whole rows that do not touch ``protected``.

    Parameters
    ----------
    data : ndarray of shape (ny, nx, n_channels)
        Modified in place.
    spec : dict
        From :func:`check_outliers`.
    protected : ndarray of shape (ny, nx), bool
    rng : numpy.random.Generator
    spike_height : float
        Spike amplitude used when ``spec["spike_height"]`` is None.

    Returns
    -------
    mask : ndarray of shape (ny, nx), bool
        Every pixel that was altered (spike pixels included).
    where : dict
        ``"hot"`` (m, 2), ``"dead"`` (m, 2) array-order (row, col);
        ``"dead_rows"`` (m,) row indices; ``"spikes"`` (m, 3) (row, col,
        channel), int arrays.
    description : str
    """
    ny, nx, n_channels = data.shape
    free_rows = np.flatnonzero(~protected.any(axis=1))
    n_rows = spec["dead_rows"]
    if n_rows > free_rows.size:
        raise ValueError(
            f"`outliers['dead_rows']` = {n_rows} but only {free_rows.size} rows "
            "avoid the planted patches; use fewer dead rows or a larger map"
        )
    dead_rows = np.sort(rng.choice(free_rows, size=n_rows, replace=False))
    allowed = ~protected
    allowed[dead_rows] = False
    n_hot, n_dead, n_spikes = spec["hot_pixels"], spec["dead_pixels"], spec["spikes"]
    n_pix = n_hot + n_dead + n_spikes
    candidates = np.flatnonzero(allowed.ravel())
    if n_pix > candidates.size:
        raise ValueError(
            f"`outliers` asks for {n_pix} outlier pixels but only "
            f"{candidates.size} pixels avoid the planted patches and dead rows"
        )
    chosen = rng.choice(candidates, size=n_pix, replace=False)
    hot, dead, spiky = np.split(chosen, [n_hot, n_hot + n_dead])
    channels = rng.integers(0, n_channels, size=n_spikes)

    flat = data.reshape(ny * nx, n_channels)
    if spec["hot_value"] is not None:
        flat[hot] = spec["hot_value"]
    else:
        flat[hot] *= spec["hot_factor"]
    flat[dead] = 0
    data[dead_rows] = 0
    height = spec["spike_height"] if spec["spike_height"] is not None else spike_height
    flat[spiky, channels] += height

    mask = np.zeros(ny * nx, dtype=bool)
    mask[chosen] = True
    mask = mask.reshape(ny, nx)
    mask[dead_rows] = True

    def rc(idx):
        return np.stack(np.divmod(idx, nx), axis=1).astype(int).reshape(-1, 2)

    where = {
        "hot": rc(hot),
        "dead": rc(dead),
        "dead_rows": dead_rows.astype(int),
        "spikes": np.column_stack([rc(spiky), channels]).astype(int).reshape(-1, 3),
    }
    hot_text = (
        f"every channel set to {spec['hot_value']:g}"
        if spec["hot_value"] is not None
        else f"counts x {spec['hot_factor']:g}"
    )
    description = (
        f"{n_hot} hot pixel(s) ({hot_text}), {n_dead} dead pixel(s) (zero), "
        f"{n_rows} dead row(s) (zero), {n_spikes} single-channel spike(s) "
        f"(+{height:g} in one channel); {int(mask.sum())} pixels in outlier_mask"
    )
    for value in where.values():
        value.flags.writeable = False
    return mask, where, description
