"""Neighbourhood descriptors of atoms: J nearest neighbours in a canonical order.

Pure numpy / scipy, vectorised over atoms (a k-d tree query for all atoms at
once, then array operations); no HyperSpy import.

Canonical order
---------------
Sorting each atom's neighbours by their bond angle in ``(-pi, pi]`` makes a
neighbour that sits near 180 degrees jump between the first and the last
column from one atom to the next. Here the angles are measured from a *cut
direction* chosen once for the whole lattice, in the middle of the emptiest
direction of the bond-angle distribution (the largest gap between the
lattice's neighbour directions). A neighbour then only changes column if it
moves by about half the angle between two neighbour directions, whatever the
lattice orientation. For lattices with symmetric gaps (hexagonal with J = 6,
square with J = 4 or 8) several gaps are equally empty: the chosen one decides
which physical neighbour is column 0, i.e. the columns are cyclically
permuted, which changes nothing in a PCA (a permutation of the features) and
nothing in the neighbour-displacement patterns.
"""

import numpy as np
from scipy.spatial import cKDTree

TWO_PI = 2.0 * np.pi


def wrap_angle(angle):
    """Wrap angles (radians) into ``[-pi, pi)``."""
    return (np.asarray(angle) + np.pi) % TWO_PI - np.pi


def nearest_neighbors(positions, n_neighbors, *, return_tree=False):
    """The ``n_neighbors`` nearest other atoms of every atom, by distance.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 2)
        x, y positions.
    n_neighbors : int
        Number of neighbours J (the atom itself is never its own neighbour,
        even when another atom sits on the same spot).

    return_tree : bool
        Also return the k-d tree (built on the positions in spatial order, so
        its indices are not the rows of ``positions``; use it for distances).

    Returns
    -------
    indices : ndarray of shape (n_atoms, n_neighbors), int
    distances : ndarray of shape (n_atoms, n_neighbors)
        Increasing along each row.
    tree : scipy.spatial.cKDTree
        Only with ``return_tree``.
    """
    positions = np.asarray(positions, dtype=float)
    n = positions.shape[0]
    k = min(n_neighbors + 1, n)
    # Query in spatial order (rows of blocks): atoms from a peak finder come
    # brightest first, i.e. scattered over the image, and the tree walks are
    # two to three times faster when consecutive queries are neighbours.
    span = np.ptp(positions, axis=0) if n else np.zeros(2)
    block = max(float(np.sqrt(span[0] * span[1] / max(n, 1))) * 4.0, 1e-12)
    order = np.lexsort((positions[:, 0], np.floor(positions[:, 1] / block)))
    tree = cKDTree(positions[order], balanced_tree=False, compact_nodes=False)
    d_sorted, i_sorted = tree.query(positions[order], k=k, workers=-1)
    distances = np.empty((n, k))
    indices = np.empty((n, k), dtype=np.intp)
    distances[order] = d_sorted.reshape(n, k)
    indices[order] = order[i_sorted.reshape(n, k)]
    # Self is normally column 0, but with duplicated positions the tree may
    # list a twin first: drop self wherever it is and keep the rest in order.
    if np.array_equal(indices[:, 0], np.arange(n)):  # the usual case
        indices = indices[:, 1 : n_neighbors + 1]
        distances = distances[:, 1 : n_neighbors + 1]
    else:
        is_self = indices == np.arange(n)[:, None]
        keep = np.argsort(is_self, axis=1, kind="stable")[:, : k - 1]
        indices = np.take_along_axis(indices, keep, axis=1)[:, :n_neighbors]
        distances = np.take_along_axis(distances, keep, axis=1)[:, :n_neighbors]
    return (indices, distances, tree) if return_tree else (indices, distances)


def angular_density(angles, n_bins=720, width=None):
    """Smoothed density of bond angles on the circle.

    Parameters
    ----------
    angles : ndarray
        Bond angles in radians (any shape, flattened).
    n_bins : int
        Number of bins over the full circle.
    width : float
        Standard deviation (radians) of the periodic Gaussian smoothing.

    Returns
    -------
    centres : ndarray of shape (n_bins,)
        Bin centres in ``[0, 2 pi)``.
    density : ndarray of shape (n_bins,)
    """
    angles = np.mod(np.ravel(angles), TWO_PI)
    counts = np.bincount(
        np.minimum((angles / TWO_PI * n_bins).astype(int), n_bins - 1),
        minlength=n_bins,
    ).astype(float)
    # Periodic Gaussian smoothing in Fourier space: exact on the circle, and
    # strictly positive, so empty gaps get a smooth minimum in their middle
    # instead of a flat run of zeros.
    freq = np.fft.rfftfreq(n_bins, d=1.0 / n_bins)  # integer harmonics
    kernel = np.exp(-0.5 * (width * freq) ** 2)
    density = np.fft.irfft(np.fft.rfft(counts) * kernel, n=n_bins)
    centres = (np.arange(n_bins) + 0.5) * TWO_PI / n_bins
    return centres, density


def estimate_cut(angles, n_neighbors, n_bins=720):
    """The cut direction: the emptiest direction of the bond-angle density.

    Parameters
    ----------
    angles : ndarray
        Bond angles (radians) of the atoms used to learn the lattice.
    n_neighbors : int
        J; the smoothing width is an eighth of the mean angle between
        neighbour directions, ``2 pi / J / 8``.

    Returns
    -------
    float
        Angle in ``[0, 2 pi)``.
    """
    centres, density = angular_density(
        angles, n_bins=n_bins, width=TWO_PI / n_neighbors / 8.0
    )
    return float(centres[np.argmin(density)])


def canonical_order(angles, cut):
    """Column order of each atom's neighbours, counter-clockwise from ``cut``.

    Parameters
    ----------
    angles : ndarray of shape (n_atoms, J)
        Bond angles in radians.
    cut : float
        Direction from which the angles are counted (radians).

    Returns
    -------
    ndarray of shape (n_atoms, J), int
        ``np.take_along_axis(x, order, 1)`` puts any per-neighbour array in
        canonical order.
    """
    relative = np.mod(angles - cut, TWO_PI)
    return np.argsort(relative, axis=1, kind="stable")


def largest_angular_gap(angles):
    """Largest angle between consecutive neighbours around each atom.

    Parameters
    ----------
    angles : ndarray of shape (n_atoms, J)

    Returns
    -------
    ndarray of shape (n_atoms,)
        In radians; ``> pi`` means all neighbours lie in one half-plane, i.e.
        the atom is not surrounded (edge of the image, of a hole or a flake).
    """
    a = np.sort(np.mod(angles, TWO_PI), axis=1)
    gaps = np.diff(a, axis=1, append=a[:, :1] + TWO_PI)
    return gaps.max(axis=1)


def circular_mean(angles, axis=0):
    """Circular mean of angles (radians) along ``axis``, in ``[-pi, pi)``."""
    z = np.exp(1j * np.asarray(angles)).mean(axis=axis)
    return wrap_angle(np.angle(z))


def neighborhood_descriptors(
    positions,
    n_neighbors,
    *,
    bounds=None,
    edge_margin=None,
    max_distance_ratio=1.3,
    max_deviation=0.6,
    cut=None,
):
    """Distances and bond angles to the J nearest neighbours, canonical order.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 2)
        x, y positions in pixels.
    n_neighbors : int
        J >= 2.
    bounds : tuple of 4 floats, optional
        ``(x_min, x_max, y_min, y_max)`` of the region where atoms could be
        found (the image). Atoms closer than ``edge_margin`` to these bounds
        are excluded. None: no edge exclusion.
    edge_margin : float, optional
        In pixels. None: 1.5 times the median distance to the J-th neighbour
        (the J-th neighbour itself plus the border band in which a peak
        finder cannot find atoms).
    max_distance_ratio : float
        Atoms whose J-th neighbour is farther than this times the median J-th
        neighbour distance are excluded (a vacancy or an isolated atom). 1.3
        catches a missing nearest neighbour on square (next shell at 1.41)
        and hexagonal (1.73) lattices and tolerates 10-15 % strain.
    max_deviation : float
        Atoms with a neighbour farther than this times the nearest-neighbour
        distance from the median position of its column's neighbour are
        excluded (irregular neighbourhood: rim of a hole, grain boundary,
        neighbour set changed by noise). A neighbour swapped for a next-shell
        atom is about one nearest-neighbour distance off (hexagonal and
        square lattices), while strongly distorted real lattices (MoReS2)
        have genuine deviations up to about half of it: hence 0.6.
    cut : float, optional
        Direction (radians) from which neighbours are ordered. None: estimated
        with :func:`estimate_cut` from the included atoms.

    Returns
    -------
    dict
        ``indices`` (n_atoms, J) int, canonical order; ``vectors``
        (n_atoms, J, 2) dx, dy; ``distances`` (n_atoms, J); ``angles``
        (n_atoms, J) absolute bond angles in ``[-pi, pi)``;
        ``angle_deviations`` (n_atoms, J) angle minus the column's ideal
        angle, in ``[-pi, pi)``; ``ideal_angles`` (J,) circular mean per
        column over included atoms; ``ideal_distances`` (J,) mean per
        column over included atoms; ``included`` (n_atoms,) bool;
        ``excluded_edge`` / ``excluded_incomplete`` (n_atoms,) bool (an atom
        can be both); ``nn_distance`` median nearest-neighbour distance;
        ``cut``; ``shell_ratio`` median ratio of the (J+1)-th to the J-th
        neighbour distance over an evenly spaced sample of at most 4096
        atoms (close to 1: J cuts a shell of equidistant neighbours, so the
        neighbour set is ambiguous), NaN when undefined.
    """
    positions = np.asarray(positions, dtype=float)
    n = positions.shape[0]
    j = int(n_neighbors)
    if n < j + 1:
        raise ValueError(
            f"need at least n_neighbors + 1 = {j + 1} atoms, got {n} positions"
        )
    indices, distances, tree = nearest_neighbors(positions, j, return_tree=True)
    # Whether J cuts a shell of equidistant neighbours: one more neighbour for
    # an evenly spaced sample of at most 4096 atoms (a median needs no more,
    # and the full query with J + 1 neighbours costs 15 % more).
    if n - 1 > j:
        sample = positions[:: max(1, n // 4096)]
        d_extra, _ = tree.query(sample, k=j + 2)
        shell_ratio = float(np.median(d_extra[:, j + 1] / d_extra[:, j]))
    else:
        shell_ratio = float("nan")
    vectors = positions[indices] - positions[:, None, :]
    angles = np.arctan2(vectors[..., 1], vectors[..., 0])

    d_j = distances[:, -1]
    median_dj = float(np.median(d_j))
    excluded_edge = np.zeros(n, dtype=bool)
    if bounds is not None:
        margin = 1.5 * median_dj if edge_margin is None else float(edge_margin)
        x, y = positions[:, 0], positions[:, 1]
        x_min, x_max, y_min, y_max = bounds
        to_edge = np.minimum.reduce([x - x_min, x_max - x, y - y_min, y_max - y])
        excluded_edge = to_edge < margin
    excluded_incomplete = d_j > max_distance_ratio * median_dj
    d_1 = distances[:, 0]  # rows are sorted by distance here

    if cut is None:
        learn = np.flatnonzero(~(excluded_edge | excluded_incomplete))
        learn = learn if learn.size else np.arange(n)
        # the density of 50 000 atoms' bond angles is as good as all of them
        cut = estimate_cut(angles[learn[:: max(1, learn.size // 50000)]], j)
    cut = float(cut) % TWO_PI
    # angles - cut lies in (-3 pi, pi]: two conditional turns map it to
    # [0, 2 pi) (cheaper than np.mod)
    relative = angles - cut
    relative += TWO_PI * (relative < 0)
    relative += TWO_PI * (relative < 0)
    order = np.argsort(relative, axis=1, kind="stable")  # = canonical_order
    # reorder through one flat index instead of five take_along_axis calls
    flat = (order + np.arange(n)[:, None] * j).ravel()
    indices = indices.ravel()[flat].reshape(n, j)
    distances = distances.ravel()[flat].reshape(n, j)
    angles = angles.ravel()[flat].reshape(n, j)
    vectors = vectors.reshape(n * j, 2)[flat].reshape(n, j, 2)
    if j >= 3:  # with J = 2 a half-plane gap of pi is normal
        # gaps between consecutive neighbours, from the sorted relative angles
        rel = relative.ravel()[flat].reshape(n, j)
        gap = np.maximum(
            np.diff(rel, axis=1).max(axis=1), rel[:, 0] + TWO_PI - rel[:, -1]
        )
        excluded_incomplete |= gap > np.pi
    included = ~(excluded_edge | excluded_incomplete)

    # A neighbour far from where its column's neighbour usually sits means a
    # wrong neighbour set (an atom at the rim of a hole or of the point cloud,
    # or a neighbour swapped for a next-shell atom by strong noise): exclude.
    ref = included if included.any() else np.ones(n, dtype=bool)
    # median over atoms (an evenly spaced sample of at most 20 000), on a
    # (2J, atoms) copy: contiguous rows are faster
    sample = vectors[ref][:: max(1, int(ref.sum()) // 20000)]
    typical = np.median(
        np.ascontiguousarray(sample.reshape(-1, 2 * j).T), axis=1
    ).reshape(j, 2)
    nn = float(np.median(d_1[ref]))
    dv = vectors - typical
    off2 = (dv[..., 0] ** 2 + dv[..., 1] ** 2).max(axis=1)
    excluded_irregular = off2 > (max_deviation * nn) ** 2
    excluded_incomplete |= excluded_irregular
    included &= ~excluded_irregular
    ref = included if included.any() else np.ones(n, dtype=bool)
    # circular mean of each column's angle = direction of its mean unit vector
    unit = vectors[ref] / distances[ref][..., None]
    mean_unit = unit.mean(axis=0)
    ideal_angles = np.arctan2(mean_unit[:, 1], mean_unit[:, 0])
    ideal_distances = distances[ref].mean(axis=0)
    return {
        "indices": indices,
        "vectors": vectors,
        "distances": distances,
        "angles": wrap_angle(angles),
        "angle_deviations": wrap_angle(angles - ideal_angles),
        "ideal_angles": ideal_angles,
        "ideal_distances": ideal_distances,
        "included": included,
        "excluded_edge": excluded_edge,
        "excluded_incomplete": excluded_incomplete,
        "nn_distance": float(np.median(d_1[ref])),
        "cut": float(cut),
        "shell_ratio": shell_ratio,
    }


def descriptor_matrix(desc, metric="both", *, normalize=True, scaling="displacement"):
    """The feature matrix handed to PCA, one row per included atom.

    Parameters
    ----------
    desc : dict
        Output of :func:`neighborhood_descriptors`.
    metric : {"distance", "angle", "both"}
    normalize : bool
        Divide distances by the typical nearest-neighbour distance, so the
        features are dimensionless (relative strain) and comparable between
        images of different magnification.
    scaling : {"displacement", "std"}
        How the two kinds are put on one scale for ``metric="both"`` (and
        how angles are expressed on their own):

        - ``"displacement"``: an angle deviation is turned into the
          tangential displacement of the neighbour, ``ideal_distance *
          deviation``, in the same unit as the distances (radial
          displacement). Both columns then measure how far a neighbour moved,
          so neither dominates by its unit, and a component is a pattern of
          neighbour displacements.
        - ``"std"``: each kind is divided by its own standard deviation over
          the included atoms (equal total weight for distances and angles).

    Returns
    -------
    features : ndarray of shape (n_atoms, D)
        D = J or 2J; all atoms (excluded ones included, they are removed by
        the caller).
    radial_scale, tangential_scale : ndarray of shape (J,)
        Multiply a feature column by its scale to get the neighbour's radial
        / tangential displacement in pixels (NaN for kinds not in
        ``metric``); used to draw components as displacement arrows.
    """
    dist = desc["distances"]
    dev = desc["angle_deviations"]
    inc = desc["included"]
    ideal_d = desc["ideal_distances"]
    unit = desc["nn_distance"] if normalize else 1.0
    d_feat = dist / unit
    d_scale = np.full(dist.shape[1], unit)
    if scaling == "displacement":
        a_feat = dev * ideal_d / unit
        a_scale = np.full(dist.shape[1], unit)
    else:  # "std"
        d_std = np.std(d_feat[inc]) if inc.any() else 1.0
        a_std = np.std(dev[inc]) if inc.any() else 1.0
        d_std = d_std if d_std > 0 else 1.0
        a_std = a_std if a_std > 0 else 1.0
        d_feat = d_feat / d_std
        d_scale = d_scale * d_std
        a_feat = dev / a_std
        a_scale = ideal_d * a_std  # feature * a_std = radians; * r = pixels
    nan = np.full(dist.shape[1], np.nan)
    if metric == "distance":
        return d_feat, d_scale, nan
    if metric == "angle":
        return a_feat, nan, a_scale
    return np.concatenate([d_feat, a_feat], axis=1), d_scale, a_scale


def component_displacements(components, desc, metric, radial_scale, tangential_scale):
    """Turn PCA components into neighbour displacement vectors.

    Parameters
    ----------
    components : ndarray of shape (n_components, D)
    desc : dict
        Output of :func:`neighborhood_descriptors`.
    metric : {"distance", "angle", "both"}
    radial_scale, tangential_scale : ndarray of shape (J,)
        From :func:`descriptor_matrix`.

    Returns
    -------
    ndarray of shape (n_components, J, 2)
        dx, dy in pixels of each neighbour for a unit score.
    """
    components = np.atleast_2d(components)
    j = desc["ideal_angles"].shape[0]
    radial = np.zeros((components.shape[0], j))
    tangential = np.zeros_like(radial)
    if metric in ("distance", "both"):
        radial = components[:, :j] * radial_scale
    if metric == "angle":
        tangential = components[:, :j] * tangential_scale
    elif metric == "both":
        tangential = components[:, j:] * tangential_scale
    theta = desc["ideal_angles"]
    e_r = np.stack([np.cos(theta), np.sin(theta)], axis=-1)  # (J, 2)
    e_t = np.stack([-np.sin(theta), np.cos(theta)], axis=-1)  # towards +angle
    return radial[..., None] * e_r + tangential[..., None] * e_t
