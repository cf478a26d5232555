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


def _tree(positions):
    """k-d tree for neighbour queries (sliding-midpoint splits: built several
    times faster than a median-balanced tree, and as fast to query)."""
    return cKDTree(positions, balanced_tree=False, compact_nodes=False)


def nearest_neighbors(
    positions, n_neighbors, *, return_tree=False, tree=None, bound=None
):
    """The ``n_neighbors`` nearest other atoms of every atom, by distance.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 2)
        x, y positions.
    n_neighbors : int
        Number of neighbours J (the atom itself is never its own neighbour,
        even when another atom sits on the same spot).
    return_tree : bool
        Also return the k-d tree (built on ``positions`` as given).
    tree : scipy.spatial.cKDTree, optional
        A tree already built on ``positions``.
    bound : float, optional
        A distance within which most atoms have all their neighbours: the
        tree search prunes everything farther (about a third faster), and
        the few atoms without J neighbours inside it are searched again
        without bound, so the result is exact whatever ``bound`` is.

    Returns
    -------
    indices : ndarray of shape (n_atoms, n_neighbors), int
    distances : ndarray of shape (n_atoms, n_neighbors)
        Increasing along each row.
    tree : scipy.spatial.cKDTree
        Only with ``return_tree``.
    """
    positions = np.asarray(positions, dtype=float)
    tree = _tree(positions) if tree is None else tree
    i, d, off = _query(positions, n_neighbors, tree, bound)
    indices, distances = i[:, off:], d[:, off:]
    return (indices, distances, tree) if return_tree else (indices, distances)


def _query(positions, n_neighbors, tree, bound):
    """k-d tree search; (indices, distances, offset) with the neighbours in
    columns ``offset:`` of C-contiguous arrays (offset 1: self in column 0,
    offset 0: self already removed)."""
    n = positions.shape[0]
    k = min(n_neighbors + 1, n)
    # (Querying in the tree's leaf order instead is no faster once the
    # search is bounded: what locality gains, the reordering costs.)
    if bound is not None and np.isfinite(bound) and bound > 0:
        d, i = tree.query(positions, k=k, workers=-1, distance_upper_bound=bound)
        d, i = d.reshape(n, k), i.reshape(n, k)
        miss = np.flatnonzero(~np.isfinite(d[:, -1]))
        if miss.size:  # fewer than k atoms within the bound: exact search
            d2, i2 = tree.query(positions[miss], k=k, workers=-1)
            d[miss], i[miss] = d2.reshape(-1, k), i2.reshape(-1, k)
    else:
        d, i = tree.query(positions, k=k, workers=-1)
        d, i = d.reshape(n, k), i.reshape(n, k)
    # Self is normally column 0, but with duplicated positions the tree may
    # list a twin first: drop self wherever it is and keep the rest in order.
    if np.array_equal(i[:, 0], np.arange(n)):  # the usual case
        return i, d, 1
    is_self = i == np.arange(n)[:, None]
    keep = np.argsort(is_self, axis=1, kind="stable")[:, : k - 1]
    return np.take_along_axis(i, keep, axis=1), np.take_along_axis(d, keep, axis=1), 0


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
    tree = _tree(positions)
    # One more neighbour for an evenly spaced sample of at most 2048 atoms:
    # whether J cuts a shell of equidistant neighbours (a median needs no
    # more atoms), and the typical J-th neighbour distance that bounds the
    # full search.
    sample = positions[:: max(1, n // 2048)]
    d_extra, _ = tree.query(sample, k=min(j + 2, n))
    d_extra = d_extra.reshape(len(sample), -1)
    if n - 1 > j:
        shell_ratio = float(np.median(d_extra[:, j + 1] / d_extra[:, j]))
    else:
        shell_ratio = float("nan")
    bound = 1.5 * float(np.median(d_extra[:, j]))
    i_all, d_all, off = _query(positions, j, tree, bound)
    del tree  # (memory: large images have millions of atoms)
    stride = i_all.shape[1]
    indices, distances = i_all[:, off:], d_all[:, off:]
    # Neighbour vectors as complex numbers dx + i dy: one gather of 16-byte
    # items instead of a gather of (x, y) rows; the float view below is the
    # (n, J, 2) array of dx, dy with the same bits.
    pc = positions[:, 0] + 1j * positions[:, 1]
    z = pc[indices] - pc[:, None]
    angles = np.arctan2(z.imag, z.real)

    d_j = distances[:, -1].copy()
    d_1 = distances[:, 0].copy()  # rows are sorted by distance here
    median_dj = float(np.median(d_j))
    excluded_edge = np.zeros(n, dtype=bool)
    if bounds is not None:
        margin = 1.5 * median_dj if edge_margin is None else float(edge_margin)
        x, y = positions[:, 0], positions[:, 1]
        x_min, x_max, y_min, y_max = bounds
        to_edge = np.minimum.reduce([x - x_min, x_max - x, y - y_min, y_max - y])
        excluded_edge = to_edge < margin
    excluded_incomplete = d_j > max_distance_ratio * median_dj

    if cut is None:
        learn = np.flatnonzero(~(excluded_edge | excluded_incomplete))
        learn = learn if learn.size else np.arange(n)
        # the density of the bond angles of 10 000 atoms (60 000 angles for
        # J = 6 in 720 bins) is as good as all of them
        cut = estimate_cut(angles[learn[:: max(1, learn.size // 10000)]], j)
    cut = float(cut) % TWO_PI
    # with the cut taken in (-pi, pi], angles - cut lies in [-2 pi, 2 pi):
    # one conditional turn maps it to [0, 2 pi) (cheaper than np.mod)
    relative = angles - (cut - TWO_PI if cut > np.pi else cut)
    np.add(relative, TWO_PI, out=relative, where=relative < 0)
    order = np.argsort(relative, axis=1, kind="stable")
    # reorder through one flat index instead of take_along_axis calls
    # (the neighbour table keeps the tree's self column: index it in place
    # rather than copying the neighbour columns first)
    flat_all = (order + np.arange(off, n * stride + off, stride)[:, None]).ravel()
    indices = i_all.ravel()[flat_all].reshape(n, j)
    del i_all
    distances = d_all.ravel()[flat_all].reshape(n, j)
    del d_all, flat_all
    order += np.arange(0, n * j, j)[:, None]
    flat = order.ravel()
    angles = angles.ravel()[flat].reshape(n, j)
    z = z.ravel()[flat].reshape(n, j)
    if j >= 3:  # with J = 2 a half-plane gap of pi is normal
        # gaps between consecutive neighbours, from the sorted relative angles
        rel = relative.ravel()[flat].reshape(n, j)
        gap = rel[:, 0] + TWO_PI - rel[:, -1]
        # row reductions over J columns as J column operations: several
        # times faster than reducing along a short axis
        for c in range(1, j):
            np.maximum(gap, rel[:, c] - rel[:, c - 1], out=gap)
        excluded_incomplete |= gap > np.pi
        del rel
    del relative, order, flat
    included = ~(excluded_edge | excluded_incomplete)

    # A neighbour far from where its column's neighbour usually sits means a
    # wrong neighbour set (an atom at the rim of a hole or of the point cloud,
    # or a neighbour swapped for a next-shell atom by strong noise): exclude.
    ref = included if included.any() else np.ones(n, dtype=bool)
    vectors = z.view(np.float64).reshape(n, j, 2)
    irregular, nn = _irregular(vectors, ref, d_1, max_deviation)
    if irregular.any():
        excluded_incomplete |= irregular
        included &= ~irregular
        ref = included if included.any() else np.ones(n, dtype=bool)
        nn = float(np.median(d_1[ref]))
    # circular mean of each column's angle = direction of its mean unit
    # vector; column means as a product with the 0/1 weights of the
    # reference atoms (one pass, no copy of the selected rows)
    # (einsum's own loops rather than BLAS: multi-threaded BLAS gains
    # nothing on these thin products and its spinning threads slow down the
    # k-d tree's worker threads on a busy machine)
    w = ref.astype(np.float64)
    count = float(w.sum())
    unit = (z / distances).view(np.float64).reshape(n, 2 * j)
    mean_unit = np.einsum("i,ij->j", w, unit).reshape(j, 2) / count
    del unit
    ideal_angles = np.arctan2(mean_unit[:, 1], mean_unit[:, 0])
    ideal_distances = np.einsum("i,ij->j", w, distances) / count
    # arctan2 gives [-pi, pi]; the outputs are in [-pi, pi)
    np.subtract(angles, TWO_PI, out=angles, where=angles >= np.pi)
    deviations = angles - ideal_angles  # in (-2 pi, 2 pi)
    np.subtract(deviations, TWO_PI, out=deviations, where=deviations >= np.pi)
    np.add(deviations, TWO_PI, out=deviations, where=deviations < -np.pi)
    return {
        "indices": indices,
        "vectors": vectors,
        "distances": distances,
        "angles": angles,
        "angle_deviations": deviations,
        "ideal_angles": ideal_angles,
        "ideal_distances": ideal_distances,
        "included": included,
        "excluded_edge": excluded_edge,
        "excluded_incomplete": excluded_incomplete,
        "nn_distance": nn,
        "cut": float(cut),
        "shell_ratio": shell_ratio,
    }


def _irregular(vectors, ref, d_1, max_deviation):
    """Atoms with a neighbour far from its column's typical vector, and the
    median nearest-neighbour distance of the reference atoms ``ref``."""
    n, j, _ = vectors.shape
    # median over atoms (an evenly spaced sample of at most 8192: the
    # typical vector only sets a tolerance of about half a bond length), on
    # a (2J, atoms) copy: contiguous rows are faster
    ref_rows = np.flatnonzero(ref)
    sample = vectors[ref_rows[:: max(1, ref_rows.size // 8192)]]
    typical = np.median(
        np.ascontiguousarray(sample.reshape(-1, 2 * j).T), axis=1
    ).reshape(j, 2)
    nn = float(np.median(d_1[ref_rows]))
    # squared distance of every neighbour from its column's typical vector,
    # maximum over the columns, one column at a time
    off2 = np.zeros(n)
    for c in range(j):
        dx = vectors[:, c, 0] - typical[c, 0]
        dy = vectors[:, c, 1] - typical[c, 1]
        dx *= dx
        dy *= dy
        dx += dy
        np.maximum(off2, dx, out=off2)
    return off2 > (max_deviation * nn) ** 2, nn


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
    n, j = dist.shape
    unit = desc["nn_distance"] if normalize else 1.0
    # both kinds written straight into one (n, 2J) table (no concatenation)
    table = np.empty((n, 2 * j if metric == "both" else j))
    d_feat = table[:, :j] if metric != "angle" else np.empty((n, j))
    a_feat = table[:, -j:] if metric != "distance" else None
    np.divide(dist, unit, out=d_feat)
    d_scale = np.full(j, unit)
    if scaling == "displacement":
        if a_feat is not None:
            np.multiply(dev, ideal_d / unit, out=a_feat)
        a_scale = np.full(j, unit)
    else:  # "std"
        d_std = np.std(d_feat[inc]) if inc.any() else 1.0
        a_std = np.std(dev[inc]) if inc.any() else 1.0
        d_std = d_std if d_std > 0 else 1.0
        a_std = a_std if a_std > 0 else 1.0
        d_feat /= d_std
        d_scale = d_scale * d_std
        if a_feat is not None:
            np.divide(dev, a_std, out=a_feat)
        a_scale = ideal_d * a_std  # feature * a_std = radians; * r = pixels
    nan = np.full(j, np.nan)
    if metric == "distance":
        return table, d_scale, nan
    if metric == "angle":
        return table, nan, a_scale
    return table, d_scale, a_scale


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
