"""Neighbourhood PCA of atomic environments: :func:`neighborhood_pca`.

Find every atom (Atomap), describe each atom's surroundings by the distances
and bond angles to its J nearest neighbours in a canonical order, decompose
those descriptors with HyperSpy's own ``decomposition`` (PCA by default) and
map the per-atom scores back onto the image.
"""

import numbers

import numpy as np

from hyperspy_unmix import _atoms
from hyperspy_unmix._core import descriptors as _desc
from hyperspy_unmix._metadata import add_provenance, axis_dict, index_axis
from hyperspy_unmix._validation import (
    check_choice,
    check_finite,
    check_int,
    check_signal,
    check_uniform_axes,
)

METRICS = ("distance", "angle", "both")
REFINEMENTS = (None, "com", "gaussian")
SCALINGS = ("displacement", "std")
# HyperSpy decomposition algorithms that make sense on a descriptor table:
# the PCA family works on centred descriptors; NMF needs non-negative input
# (see `_prepare_for_algorithm`). MLPCA needs a noise variance we do not have.
# (sparse_pca needs an ``alpha`` tuned to the data's scale and the online
# ORPCA / ORNMF collapsed to one component on our tests: users who want them
# can pass a configured estimator object.)
CENTRED_ALGORITHMS = ("PCA", "SVD", "sklearn_pca")
ROBUST_ALGORITHMS = ("RPCA",)
NONNEGATIVE_ALGORITHMS = ("NMF",)
ALGORITHMS = CENTRED_ALGORITHMS + ROBUST_ALGORITHMS + NONNEGATIVE_ALGORITHMS
_STORE = "hyperspy_unmix_neighborhood_pca"


def _check_image(image):
    check_signal(image, "image", signal_dimension=2)
    am = image.axes_manager
    if am.navigation_dimension != 0:
        raise ValueError(
            "`image` must be a single 2-D image, got a stack with navigation "
            f"shape {am.navigation_shape}; analyse one image at a time, e.g. "
            "`neighborhood_pca(image.inav[0], ...)`"
        )
    check_uniform_axes(am.signal_axes, "image")


def _check_positions(xy, shape):
    if not np.all(np.isfinite(xy)):
        bad = int(np.count_nonzero(~np.isfinite(xy).all(axis=1)))
        raise ValueError(f"`positions` contains {bad} atom(s) with NaN or inf")
    ny, nx = shape
    outside = (
        (xy[:, 0] < -0.5)
        | (xy[:, 0] > nx - 0.5)
        | (xy[:, 1] < -0.5)
        | (xy[:, 1] > ny - 0.5)
    )
    if outside.any():
        raise ValueError(
            f"`positions` has {int(outside.sum())} atom(s) outside the image "
            f"(x must be in [-0.5, {nx - 0.5}], y in [-0.5, {ny - 0.5}] pixels; "
            "positions are in pixels, not calibrated units)"
        )


def _image_data(image):
    """The image as a float array: numpy, or dask for a lazy image (never
    computed here; the analysis reads it tile by tile)."""
    data = image.data
    if _atoms.is_lazy(data):
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float32)
        return data
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float32)
    return data


def neighborhood_pca(
    image,
    n_neighbors=6,
    *,
    positions=None,
    separation=None,
    refine="com",
    metric="both",
    n_components=3,
    normalize=True,
    scaling="displacement",
    algorithm="PCA",
    edge_margin=None,
    max_deviation=0.6,
    threshold_rel=0.02,
    tile_size="auto",
    n_jobs=None,
    random_state=None,
    show_progressbar=None,
):
    """PCA of the atomic environments of an atomic-resolution image.

    Each atom is described by the distances and bond angles to its
    ``n_neighbors`` nearest neighbours, in a canonical order (column j is the
    same neighbour direction for every atom); the descriptors of all atoms are
    decomposed with HyperSpy's ``decomposition`` and each atom gets a score
    per component, to be mapped back onto the image.

    Parameters
    ----------
    image : hyperspy.api.signals.Signal2D
        A single 2-D image (navigation dimension 0) with uniform axes, atoms
        bright. Stacks are refused: analyse ``image.inav[i]``. A lazy image is
        never loaded whole: one streamed pass checks its values and takes
        its range, the spacing is estimated on its central 1024 x 1024 crop,
        and atoms are found and refined tile by tile (each tile's region
        computed on its own, in dask tasks, so a ``dask.distributed`` client
        runs them on its workers); only the atom table is gathered. Memory:
        a few tiles, not the image. Same numbers as the image in memory.
    n_neighbors : int
        J >= 2. Choose a complete shell: 6 (or 12) on hexagonal lattices, 4
        or 8 on square ones; a J that cuts a shell of equidistant neighbours
        makes the neighbour set ambiguous (a warning says so).
    positions : array-like of shape (N, 2), atomap Sublattice or Atom_Lattice, optional
        x, y atom positions in pixels. None: atoms are found with Atomap's
        ``get_atom_positions`` and refined with ``refine``. Given positions
        are used as they are (``refine`` is ignored).
    separation : int, optional
        Minimum distance between atoms, pixels (Atomap's ``separation``).
        None: ``0.4 *`` the nearest-neighbour distance estimated from the
        image's autocorrelation (the distance to its nearest strong peak; see
        :func:`hyperspy_unmix._atoms.estimate_spacing`).
    refine : {"com", "gaussian", None}
        Sub-pixel refinement of found atoms: "com" vectorised centre of mass
        in a disc of 0.4 nearest-neighbour distances (background subtracted,
        re-centred 3 times; milliseconds per 10 000 atoms); "gaussian"
        Atomap's 2-D Gaussian fits (about 10 s per 1000 atoms); None: the
        peak pixels.
    metric : {"both", "distance", "angle"}
        Which descriptors enter the decomposition.
    n_components : int
        Number of components kept (>= 1).
    normalize : bool
        Divide distances by the median nearest-neighbour distance (strain
        rather than pixels).
    scaling : {"displacement", "std"}
        How angles are put on the distances' scale. "displacement": an angle
        deviation ``dtheta`` of a neighbour at ideal distance ``r`` becomes
        its tangential displacement ``r * dtheta``, so both kinds are
        neighbour displacements in one unit and components are displacement
        patterns. "std": each kind divided by its own standard deviation.
    algorithm : str or object
        Decomposition through HyperSpy's ``decomposition``: "PCA" (default:
        an estimator object that diagonalises the D x D covariance of the
        centred descriptors, fast for many atoms and few descriptors; the
        descriptor signal's ``learning_results`` hold the centred model),
        "SVD" (HyperSpy's SVD, centred),
        "sklearn_pca" or "RPCA" (robust PCA) on centred descriptors; "NMF" on
        descriptors shifted to be non-negative (each column minus its
        minimum); or a scikit-learn-style estimator object (given centred
        descriptors).
    edge_margin : float, optional
        Atoms closer than this (pixels) to the image border are excluded.
        None: 1.5 times the median distance to the J-th neighbour.
    max_deviation : float
        Atoms with a neighbour more than this many nearest-neighbour
        distances away from where that neighbour usually sits are excluded
        (wrong neighbour set: rim of a hole, grain boundary). A swapped
        neighbour is about 1 away; strongly distorted lattices need 0.5.
    threshold_rel : float
        Atomap's ``threshold_rel`` for atom finding.
    tile_size : int, "auto" or None
        Tiled atom finding (see :func:`hyperspy_unmix._atoms.find_atoms`):
        "auto" tiles images more than about 1000 pixels wide. A lazy image
        is also refined with these tiles; None is refused for a lazy image
        more than 2048 pixels wide (it would load it whole).
    n_jobs : int, optional
        Threads for tiled atom finding of an in-memory image; None: the
        number of CPUs. (A lazy image's tiles run on dask's current
        scheduler: threads, or a ``dask.distributed`` client's workers.)
    random_state : None, int or numpy.random.Generator
        Passed to randomised decomposition algorithms.
    show_progressbar : bool, optional
        For Atomap's Gaussian refinement. None: HyperSpy's preference.

    Returns
    -------
    NeighborhoodPCAResult

    Raises
    ------
    TypeError, ValueError, NotImplementedError
        Before any heavy work, for: a signal that is not a single 2-D real
        image; non-uniform axes; NaN/inf in the image; ``n_neighbors`` < 2;
        ``n_components`` < 1; an unknown ``metric``, ``refine``, ``scaling``
        or ``algorithm``; positions that are NaN, outside the image or too
        few. After atom finding: no atoms (the error names the separation
        tried), or too few atoms with a complete neighbourhood.

    Examples
    --------
    >>> import hyperspy_unmix as hu
    >>> img, truth = hu.data.distorted_lattice(random_state=0)
    >>> res = hu.neighborhood_pca(img, n_neighbors=6, n_components=3)
    >>> res.scores.shape[1]
    3
    """
    # --- validation, all before heavy work -------------------------------
    _check_image(image)
    n_neighbors = check_int(n_neighbors, "n_neighbors", minimum=2)
    n_components = check_int(n_components, "n_components", minimum=1)
    check_choice(metric, "metric", METRICS)
    check_choice(scaling, "scaling", SCALINGS)
    check_choice(refine, "refine", REFINEMENTS)  # also when positions are given
    if isinstance(algorithm, str):
        check_choice(algorithm, "algorithm", ALGORITHMS)
    elif not (hasattr(algorithm, "fit") or hasattr(algorithm, "fit_transform")):
        raise TypeError(
            "`algorithm` must be a HyperSpy algorithm name or an estimator "
            f"with fit/fit_transform, got {type(algorithm).__name__}"
        )
    n_features = 2 * n_neighbors if metric == "both" else n_neighbors
    if n_components > n_features:
        raise ValueError(
            f"`n_components` must be <= the number of descriptors "
            f"({n_features} for metric={metric!r}, n_neighbors={n_neighbors}), "
            f"got {n_components}"
        )
    if separation is not None:
        if (
            isinstance(separation, bool)
            or not isinstance(separation, numbers.Real)
            or not separation >= 1
        ):
            raise ValueError(
                f"`separation` must be a number >= 1 (pixels), got {separation!r}"
            )
    if isinstance(max_deviation, bool) or not (
        isinstance(max_deviation, numbers.Real) and max_deviation > 0
    ):
        raise ValueError(f"`max_deviation` must be > 0, got {max_deviation!r}")
    if edge_margin is not None and not (
        isinstance(edge_margin, numbers.Real) and edge_margin >= 0
    ):
        raise ValueError(f"`edge_margin` must be >= 0 pixels, got {edge_margin!r}")
    shape = image.axes_manager.signal_shape[::-1]  # (ny, nx)
    n_needed = max(n_neighbors + 1, n_components + 1)
    sublattice = None
    if positions is not None:
        xy, sublattice = _atoms.positions_from(positions)
        _check_positions(xy, shape)
        if len(xy) < n_needed:
            raise ValueError(
                f"`positions` has {len(xy)} atoms; n_neighbors={n_neighbors} and "
                f"n_components={n_components} need at least {n_needed}"
            )
    data = _image_data(image)
    # one pass (streamed chunk by chunk for a lazy image): finite values and
    # the intensity range the tiled peak finder's threshold needs
    dmin, dmax, finite = _atoms.data_range(data)
    if not finite:
        if _atoms.is_lazy(data):
            import dask.array as da

            n_bad = int((~da.isfinite(data)).sum().compute())
            raise ValueError(
                f"`image` contains {n_bad} NaN or infinite value(s); remove or "
                "mask them first"
            )
        check_finite(data, "image")

    # --- atoms -----------------------------------------------------------
    if positions is None:
        if separation is None:
            # (the central 1024 x 1024 crop only: a lazy image computes that)
            spacing = _atoms.estimate_spacing(data)
            separation = _atoms.separation_from_spacing(spacing)
        separation = int(separation)
        found = _atoms.find_atoms(
            data,
            separation,
            threshold_rel=threshold_rel,
            tile_size=tile_size,
            n_jobs=n_jobs,
            value_range=(dmin, dmax),
        )
        if len(found) < n_needed:
            raise ValueError(
                f"found {len(found)} atoms with separation={separation} px and "
                f"threshold_rel={threshold_rel}; n_neighbors={n_neighbors} and "
                f"n_components={n_components} need at least {n_needed}. Try a "
                "smaller `separation`, or pass `positions`"
            )
        core = _atoms.tile_core(shape, separation, tile_size) or max(shape)
        xy = _atoms.refine_positions(
            data,
            found,
            refine,
            show_progressbar=show_progressbar,
            tile_size=core,
            value_range=(dmin, dmax),
        )
        sublattice = np.zeros(len(xy), dtype=int)
    else:
        refine = "given"

    # --- descriptors and decomposition -----------------------------------
    desc, features, r_scale, t_scale, descriptor_signal, scores, factors, evr = (
        _descriptors_and_scores(
            image,
            xy,
            n_neighbors,
            metric=metric,
            n_components=n_components,
            normalize=normalize,
            scaling=scaling,
            algorithm=algorithm,
            edge_margin=edge_margin,
            max_deviation=max_deviation,
            random_state=random_state,
        )
    )
    included = desc["included"]
    table = features  # NaN rows for excluded atoms already
    neighbor = np.stack(
        [
            desc["distances"] / (desc["nn_distance"] if normalize else 1.0),
            desc["angle_deviations"],
        ],
        axis=-1,
    )
    neighbor[~included] = np.nan
    displacements = _desc.component_displacements(
        factors.T, desc, metric, r_scale, t_scale
    )
    reference = np.stack(
        [
            desc["ideal_distances"] * np.cos(desc["ideal_angles"]),
            desc["ideal_distances"] * np.sin(desc["ideal_angles"]),
        ],
        axis=-1,
    )
    parameters = {
        "n_neighbors": n_neighbors,
        "metric": metric,
        "n_components": n_components,
        "normalize": normalize,
        "scaling": scaling,
        "algorithm": algorithm if isinstance(algorithm, str) else repr(algorithm),
        "refine": refine,
        "separation": separation,
        "edge_margin": edge_margin,
        "max_deviation": max_deviation,
        "threshold_rel": threshold_rel,
        # an int or None is storable as is; a RandomState / Generator is not
        "random_state": (
            random_state
            if random_state is None or isinstance(random_state, (int, np.integer))
            else repr(random_state)
        ),
    }
    components = _components_signal(image, factors.T, metric, n_neighbors)
    for sig in (descriptor_signal, components):
        add_provenance(sig, "neighborhood_pca", parameters)
    return NeighborhoodPCAResult(
        image=image,
        positions=xy,
        included=included,
        excluded_edge=desc["excluded_edge"],
        excluded_incomplete=desc["excluded_incomplete"],
        sublattice=sublattice,
        neighbor_indices=desc["indices"],
        neighbor_descriptors=neighbor,
        descriptors=table,
        descriptor_signal=descriptor_signal,
        scores=scores,
        components=components,
        component_displacements=displacements,
        reference_neighborhood=reference,
        explained_variance_ratio=evr,
        nn_distance=desc["nn_distance"],
        parameters=parameters,
    )


def _descriptors_and_scores(
    image,
    xy,
    n_neighbors,
    *,
    metric,
    n_components,
    normalize,
    scaling,
    algorithm,
    edge_margin,
    max_deviation,
    random_state,
):
    """Positions in, descriptors and decomposition scores out.

    The whole per-atom stage of :func:`neighborhood_pca` once the positions
    are known (the benchmark times exactly this).

    Returns
    -------
    desc : dict
        From :func:`hyperspy_unmix._core.descriptors.neighborhood_descriptors`.
    features : ndarray of shape (N, D)
        NaN rows for excluded atoms.
    radial_scale, tangential_scale : ndarray of shape (J,)
    descriptor_signal : hyperspy.api.signals.Signal1D
        Features of the included atoms, with HyperSpy's learning results.
    scores : ndarray of shape (N, n_components)
        NaN rows for excluded atoms.
    factors : ndarray of shape (D, n_components)
    explained_variance_ratio : ndarray of shape (n_components,)
    """
    ny, nx = image.axes_manager.signal_shape[::-1]
    desc = _desc.neighborhood_descriptors(
        xy,
        n_neighbors,
        bounds=(0.0, nx - 1.0, 0.0, ny - 1.0),
        edge_margin=edge_margin,
        max_deviation=max_deviation,
    )
    included = desc["included"]
    n_inc = int(included.sum())
    if n_inc < n_components + 1:
        raise ValueError(
            f"only {n_inc} of {len(xy)} atoms have a complete neighbourhood "
            f"({int(desc['excluded_edge'].sum())} too close to the image edge, "
            f"{int((desc['excluded_incomplete'] & ~desc['excluded_edge']).sum())} "
            "more with an incomplete or irregular neighbourhood); "
            f"n_components={n_components} needs at "
            f"least {n_components + 1}"
        )
    if np.isfinite(desc["shell_ratio"]) and desc["shell_ratio"] < 1.05:
        import warnings

        warnings.warn(
            f"n_neighbors={n_neighbors} cuts a shell of equidistant neighbours "
            f"(the next neighbour is typically only {desc['shell_ratio']:.3f} "
            "times farther): which atoms count as neighbours is decided by "
            "noise. Use a complete shell (e.g. 4 or 8 on a square lattice, 6 "
            "on a hexagonal one)",
            UserWarning,
            stacklevel=3,
        )
    # not needed from here on (memory: hundreds of bytes per atom)
    desc.pop("vectors")
    desc.pop("angles")
    features, r_scale, t_scale = _desc.descriptor_matrix(
        desc, metric, normalize=normalize, scaling=scaling
    )
    descriptor_signal = _descriptor_signal(image, features[included], metric, desc)
    features[~included] = np.nan
    scores_inc, factors, evr = _decompose(
        descriptor_signal, algorithm, n_components, random_state
    )
    scores = np.full((len(xy), n_components), np.nan)
    scores[included] = scores_inc
    return desc, features, r_scale, t_scale, descriptor_signal, scores, factors, evr


def _feature_names(metric, j):
    d = [f"d{k}" for k in range(j)]
    a = [f"theta{k}" for k in range(j)]
    return {"distance": d, "angle": a, "both": d + a}[metric]


def _table_signal(table, row_name, title, names):
    """A (rows | descriptors) Signal1D with index axes and descriptor names."""
    import hyperspy.api as hs

    s = hs.signals.Signal1D(
        np.ascontiguousarray(table),
        axes=[
            index_axis(table.shape[0], row_name, navigate=True),
            index_axis(table.shape[1], "Descriptor index", navigate=False),
        ],
    )
    s.metadata.General.title = title
    s.metadata.set_item("hyperspy_unmix.descriptor_names", names)
    return s


def _descriptor_signal(image, table, metric, desc):
    return _table_signal(
        table,
        "Atom index",
        f"Neighbourhood descriptors of {image.metadata.General.title}",
        _feature_names(metric, desc["ideal_angles"].size),
    )


class _CovariancePCA:
    """PCA of a tall table from the eigenvectors of its covariance matrix.

    The estimator HyperSpy's ``decomposition`` runs for ``algorithm="PCA"``:
    for many atoms and few descriptors (N x 2J) the D x D covariance is one
    pass over the table and its eigen-decomposition is instantaneous, while
    an SVD of the table (HyperSpy's "SVD") or scikit-learn's PCA (input
    validation, copies, a second centring) cost several passes.

    It centres internally and has no ``mean_`` attribute on purpose: HyperSpy
    adds an estimator's ``mean_`` back into the data it decomposed, i.e. into
    the descriptor signal, which is never modified here.

    Parameters
    ----------
    n_components : int

    Attributes
    ----------
    components_ : ndarray of shape (n_components, D)
        Unit eigenvectors, largest variance first; the sign makes the entry
        of largest magnitude positive (scikit-learn's convention).
    explained_variance_ : ndarray of shape (D,)
        Variance along every eigenvector (all D, for the scree plot).
    centre_ : ndarray of shape (D,)
        Column means subtracted before projecting.
    """

    _BLOCK = 1 << 18  # rows per block (25 MB of centred descriptors at D = 12)

    def __init__(self, n_components):
        self.n_components = n_components

    def fit_transform(self, X):
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency

        X = np.asarray(X, dtype=np.float64)
        # One BLAS thread: a second one gains nothing on these thin products
        # (D ~ 12), and idle BLAS threads spinning after a call slow down the
        # next multi-threaded step (the k-d tree) on a busy machine.
        n = X.shape[0]
        # row blocks: the centred copy never exceeds one block (millions of
        # atoms make the table as large as the image)
        blocks = [slice(a, a + self._BLOCK) for a in range(0, n, self._BLOCK)]
        with threadpool_limits(limits=1, user_api="blas"):
            # column means as a product (numpy's axis-0 mean of a tall, thin
            # table is several times slower)
            self.centre_ = (np.ones(n) @ X) / n
            cov = np.zeros((X.shape[1], X.shape[1]))
            for b in blocks:
                Xc = X[b] - self.centre_
                cov += Xc.T @ Xc
            cov /= max(n - 1, 1)
            ev, vec = np.linalg.eigh(cov)
            ev, vec = ev[::-1], vec[:, ::-1]
            big = np.argmax(np.abs(vec), axis=0)
            vec = vec * np.sign(vec[big, np.arange(vec.shape[1])])
            self.explained_variance_ = np.maximum(ev, 0.0)
            self.components_ = np.ascontiguousarray(vec[:, : self.n_components].T)
            scores = np.empty((n, self.n_components))
            for b in blocks:
                scores[b] = (X[b] - self.centre_) @ self.components_.T
        return scores

    def fit(self, X):
        self.fit_transform(X)
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=np.float64) - self.centre_) @ self.components_.T


def _decompose(s, algorithm, n_components, random_state):
    """Decompose the descriptor signal; scores, factors and variance ratios.

    ``s.decomposition`` is HyperSpy's own. The default "PCA" runs
    :class:`_CovariancePCA` on ``s`` itself (it centres internally and never
    writes into its input). The other algorithms decompose a prepared copy
    whose ``learning_results`` are then attached to ``s``: HyperSpy adds an
    estimator's ``mean_`` back into the data it was given and un-centres SVD
    data in place, so ``s`` itself is never handed over and keeps the exact
    descriptor values.

    Returns
    -------
    scores : ndarray of shape (n_atoms, n_components)
    factors : ndarray of shape (D, n_components)
    explained_variance_ratio : ndarray of shape (n_components,)
        Each component's share of the total variance of the prepared
        descriptors (all components, not only the kept ones).
    """
    X = s.data
    name = algorithm if isinstance(algorithm, str) else None
    if name == "PCA":
        s.decomposition(
            algorithm=_CovariancePCA(n_components),
            output_dimension=n_components,
            print_info=False,
        )
        lr = s.learning_results
        ev = np.asarray(lr.explained_variance)
        total = ev.sum()
        evr = ev[:n_components] / (total if total > 0 else 1.0)
        return np.asarray(lr.loadings), np.asarray(lr.factors), evr
    if name in NONNEGATIVE_ALGORITHMS:
        prepared = X - X.min(axis=0)  # NMF needs non-negative data
    else:
        prepared = X - X.mean(axis=0)  # PCA-like: centred descriptors
    work = s._deepcopy_with_new_data(prepared.copy())
    if name == "SVD":
        # HyperSpy's own SVD, centred over the atoms; auto_transpose=False
        # because transposing the tall table slows the SVD down.
        kwargs = {
            "algorithm": "SVD",
            "centre": "navigation",
            "output_dimension": None,
            "auto_transpose": False,
        }
    else:
        kwargs = {"algorithm": algorithm, "output_dimension": n_components}
        if name in ("sklearn_pca", "NMF"):
            kwargs["random_state"] = random_state
    work.decomposition(print_info=False, **kwargs)
    s.learning_results = work.learning_results
    lr = work.learning_results
    loadings = np.asarray(lr.loadings)[:, :n_components]
    factors = np.asarray(lr.factors)[:, :n_components]
    total = float(np.sum(prepared**2))
    ev = lr.explained_variance
    if name == "SVD" and ev is not None and len(ev) == X.shape[1]:
        ev = np.asarray(ev)
        evr = ev[:n_components] / ev.sum()
    else:
        # ||l_k f_k^T||_F^2 = ||l_k||^2 ||f_k||^2: the energy of each
        # component's rank-one part, over the energy of the prepared data.
        evr = (np.sum(loadings**2, axis=0) * np.sum(factors**2, axis=0)) / (
            total if total > 0 else 1.0
        )
    return loadings, factors, evr


def _components_signal(image, factors, metric, j):
    return _table_signal(
        factors,
        "Component index",
        f"Neighbourhood PCA components of {image.metadata.General.title}",
        _feature_names(metric, j),
    )


class NeighborhoodPCAResult:
    """Result of :func:`neighborhood_pca`.

    Per-atom arrays have one row per atom found or given, in that order;
    rows of excluded atoms (``included`` False) are NaN.

    Attributes
    ----------
    image : hyperspy.api.signals.Signal2D
        The analysed image (not modified).
    positions : ndarray of shape (N, 2)
        x, y in pixels.
    included : ndarray of shape (N,), bool
        Atoms with a complete neighbourhood, used in the decomposition.
    excluded_edge, excluded_incomplete : ndarray of shape (N,), bool
        Why atoms were left out (an atom can be both): too close to the
        image border; vacancy-like (J-th neighbour too far), not surrounded,
        or irregular neighbourhood.
    sublattice : ndarray of shape (N,), int
        Sublattice index of each atom (for Atom_Lattice input; else 0).
    neighbor_indices : ndarray of shape (N, J), int
        Row indices of each atom's neighbours, in canonical order.
    neighbor_descriptors : ndarray of shape (N, J, 2)
        ``[..., 0]`` distance to each neighbour (in nearest-neighbour
        distances when ``normalize``, else pixels), ``[..., 1]`` bond-angle
        deviation from the column's mean direction (radians).
    descriptors : ndarray of shape (N, D)
        The features that were decomposed (D = J or 2J).
    descriptor_signal : hyperspy.api.signals.Signal1D
        The features of the included atoms (navigation: atoms, signal:
        descriptors), holding HyperSpy's ``learning_results``.
    scores : ndarray of shape (N, n_components)
    components : hyperspy.api.signals.Signal1D
        Shape ``(n_components | D)``: the decomposition factors.
    component_displacements : ndarray of shape (n_components, J, 2)
        Each component as dx, dy (pixels) of every neighbour per unit score.
    reference_neighborhood : ndarray of shape (J, 2)
        Mean neighbour vectors (dx, dy pixels) in canonical order.
    explained_variance_ratio : ndarray of shape (n_components,)
        Share of the total descriptor variance.
    nn_distance : float
        Median nearest-neighbour distance, pixels.
    parameters : dict
    """

    _ARRAYS = (
        "positions",
        "included",
        "excluded_edge",
        "excluded_incomplete",
        "sublattice",
        "neighbor_indices",
        "neighbor_descriptors",
        "descriptors",
        "scores",
        "component_displacements",
        "reference_neighborhood",
        "explained_variance_ratio",
    )

    def __init__(
        self,
        *,
        image,
        positions,
        included,
        excluded_edge,
        excluded_incomplete,
        sublattice,
        neighbor_indices,
        neighbor_descriptors,
        descriptors,
        descriptor_signal,
        scores,
        components,
        component_displacements,
        reference_neighborhood,
        explained_variance_ratio,
        nn_distance,
        parameters,
    ):
        self.image = image
        self.positions = np.asarray(positions, dtype=float)
        self.included = np.asarray(included, dtype=bool)
        self.excluded_edge = np.asarray(excluded_edge, dtype=bool)
        self.excluded_incomplete = np.asarray(excluded_incomplete, dtype=bool)
        self.sublattice = np.asarray(sublattice, dtype=int)
        self.neighbor_indices = np.asarray(neighbor_indices, dtype=int)
        self.neighbor_descriptors = np.asarray(neighbor_descriptors, dtype=float)
        self.descriptors = np.asarray(descriptors, dtype=float)
        self.descriptor_signal = descriptor_signal
        self.scores = np.asarray(scores, dtype=float)
        self.components = components
        self.component_displacements = np.asarray(component_displacements, float)
        self.reference_neighborhood = np.asarray(reference_neighborhood, float)
        self.explained_variance_ratio = np.asarray(explained_variance_ratio, float)
        self.nn_distance = float(nn_distance)
        self.parameters = dict(parameters)

    # ----------------------------------------------------------------- info
    @property
    def n_components(self):
        """Number of components kept."""
        return self.scores.shape[1]

    @property
    def n_excluded(self):
        """Number of atoms left out of the decomposition."""
        return int((~self.included).sum())

    @property
    def positions_calibrated(self):
        """x, y of every atom in the image's axis units, shape (N, 2)."""
        ax_x, ax_y = self.image.axes_manager.signal_axes
        return np.stack(
            [
                ax_x.offset + ax_x.scale * self.positions[:, 0],
                ax_y.offset + ax_y.scale * self.positions[:, 1],
            ],
            axis=1,
        )

    def __repr__(self):
        return (
            f"<NeighborhoodPCAResult: {len(self.positions)} atoms, "
            f"{int(self.included.sum())} included ({int(self.excluded_edge.sum())} "
            "excluded at the edge, "
            f"{int((self.excluded_incomplete & ~self.excluded_edge).sum())} "
            f"more with an incomplete neighbourhood), "
            f"J={self.neighbor_indices.shape[1]}, "
            f"metric={self.parameters['metric']!r}, "
            f"{self.n_components} components>"
        )

    def _check_component(self, component):
        return check_int(
            component, "component", minimum=0, maximum=self.n_components - 1
        )

    # ------------------------------------------------------------------ maps
    def score_map(self, component=0, method="linear"):
        """Scores of one component interpolated on the image grid.

        Parameters
        ----------
        component : int
        method : {"linear", "nearest", "cubic"}
            :func:`scipy.interpolate.griddata` method over the included
            atoms; pixels outside their convex hull are NaN (except
            "nearest").

        Returns
        -------
        hyperspy.api.signals.Signal2D
            Same shape and axes as the image.
        """
        import hyperspy.api as hs
        from scipy.interpolate import griddata

        component = self._check_component(component)
        check_choice(method, "method", ("linear", "nearest", "cubic"))
        ny, nx = self.image.axes_manager.signal_shape[::-1]
        yy, xx = np.mgrid[:ny, :nx]
        inc = self.included
        values = griddata(
            self.positions[inc],
            self.scores[inc, component],
            (xx, yy),
            method=method,
        )
        axes = [axis_dict(ax) for ax in self.image.axes_manager.signal_axes[::-1]]
        s = hs.signals.Signal2D(values, axes=axes)
        s.metadata.General.title = (
            f"Neighbourhood PCA score {component} of "
            f"{self.image.metadata.General.title}"
        )
        add_provenance(
            s,
            "NeighborhoodPCAResult.score_map",
            {"component": component, "method": method, **self.parameters},
        )
        return s

    # -------------------------------------------------------------- plotting
    def plot(self, component=0, *, cmap="coolwarm", marker_size=0.5, arrows=True):
        """Image with the atoms coloured by score, and the component as arrows.

        Parameters
        ----------
        component : int
        cmap : str
            Matplotlib colour map (diverging: scores are centred on 0).
        marker_size : float
            Marker size as a fraction of the nearest-neighbour distance.
        arrows : bool
            Also draw the component as displacement arrows on the reference
            neighbourhood (second figure).

        Returns
        -------
        image_figure : matplotlib.figure.Figure
            HyperSpy's image plot with a ``Points`` marker coloured by score
            and a colour bar.
        arrows_figure : matplotlib.figure.Figure or None
        """
        import hyperspy.api as hs
        from matplotlib.colors import Normalize

        component = self._check_component(component)
        inc = self.included
        values = self.scores[inc, component]
        lim = float(np.nanmax(np.abs(values))) if values.size else 1.0
        lim = lim if lim > 0 else 1.0
        # plot a lightweight view so no plot or marker is attached to the
        # user's signal
        view = self.image._deepcopy_with_new_data(self.image.data)
        view.plot(colorbar=False)
        scale_x = self.image.axes_manager.signal_axes[0].scale
        marker = hs.plot.markers.Points(
            offsets=self.positions_calibrated[inc],
            sizes=marker_size * self.nn_distance * abs(scale_x),
            units="x",
            ScalarMappable_array=values,
            cmap=cmap,
            norm=Normalize(-lim, lim),
        )
        view.add_marker(marker)
        cbar = marker.plot_colorbar()
        cbar.set_label(f"score of component {component}")
        image_figure = view._plot.signal_plot.figure
        arrows_figure = self.plot_component(component) if arrows else None
        return image_figure, arrows_figure

    def plot_component(self, component=0, ax=None):
        """One component as displacement arrows on the reference neighbourhood.

        Arrows show how each neighbour moves for a score of +2 standard
        deviations of that component's scores (scaled up when tiny).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        component = self._check_component(component)
        if ax is None:
            fig, ax = plt.subplots(figsize=(4, 4))
        else:
            fig = ax.figure
        ref = self.reference_neighborhood
        disp = (
            self.component_displacements[component]
            * 2
            * np.nanstd(self.scores[self.included, component])
        )
        longest = float(np.abs(disp).max()) if disp.size else 0.0
        gain = 1.0
        if 0 < longest < 0.15 * self.nn_distance:
            gain = 0.15 * self.nn_distance / longest
        ax.scatter([0], [0], s=120, c="k")
        ax.scatter(ref[:, 0], ref[:, 1], s=80, c="0.5")
        for k, (x, y) in enumerate(ref):
            ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(6, 6))
        ax.quiver(
            ref[:, 0],
            ref[:, 1],
            gain * disp[:, 0],
            gain * disp[:, 1],
            angles="xy",
            scale_units="xy",
            scale=1,
            color="C3",
            width=0.012,
        )
        r = 1.4 * float(np.abs(ref).max())
        ax.set_xlim(-r, r)
        ax.set_ylim(r, -r)  # image convention: y down
        ax.set_aspect("equal")
        ev = self.explained_variance_ratio[component]
        ax.set_title(
            f"component {component} ({100 * ev:.1f} % var.)"
            + (f", arrows x{gain:.0f}" if gain > 1 else "")
        )
        ax.set_xlabel("dx (px)")
        ax.set_ylabel("dy (px)")
        fig.tight_layout()
        return fig

    def plot_scree(self, n=None):
        """Explained-variance ratio of every component (scree plot).

        Parameters
        ----------
        n : int, optional
            Number of components shown; default all the decomposition has.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        X = self.descriptor_signal.data
        total = float(np.sum((X - X.mean(axis=0)) ** 2))
        lr = self.descriptor_signal.learning_results
        ev = lr.explained_variance
        if ev is not None and len(ev) == X.shape[1]:  # all components known
            ratio = np.asarray(ev) / np.sum(ev)
        else:
            ratio = self.explained_variance_ratio
        ratio = ratio if n is None else ratio[:n]
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot(np.arange(len(ratio)), ratio, "o-")
        ax.set_yscale("log")
        ax.set_xlabel("component")
        ax.set_ylabel("explained variance ratio")
        ax.set_title("Neighbourhood PCA scree plot" + ("" if total > 0 else " (flat)"))
        return ax

    # ------------------------------------------------------------ save/load
    def save(self, filename, overwrite=None):
        """Save to one HyperSpy file (``.hspy`` or ``.zspy``).

        The descriptor signal (with its decomposition) is the file's signal;
        the image, the components and every per-atom array are stored in its
        metadata. Reload with :meth:`load`.
        """
        s = self.descriptor_signal.deepcopy()
        # The estimator object HyperSpy keeps cannot be written to a file;
        # its name (as given by the user) can.
        s.learning_results.decomposition_algorithm = self.parameters["algorithm"]
        node = f"{_STORE}"
        for name in self._ARRAYS:
            s.metadata.set_item(f"{node}.{name}", getattr(self, name))
        s.metadata.set_item(f"{node}.nn_distance", self.nn_distance)
        s.metadata.set_item(f"{node}.image", self.image.deepcopy())
        s.metadata.set_item(f"{node}.components", self.components.deepcopy())
        for key, value in self.parameters.items():
            s.metadata.set_item(
                f"{node}.parameters.{key}", "None" if value is None else value
            )
        s.save(filename, overwrite=overwrite)

    @classmethod
    def load(cls, filename):
        """Load a result written by :meth:`save`."""
        import hyperspy.api as hs

        s = hs.load(filename)
        if not s.metadata.has_item(_STORE):
            raise ValueError(
                f"`filename` {filename!r} does not hold a NeighborhoodPCAResult"
            )
        node = s.metadata.get_item(_STORE)
        arrays = {name: np.asarray(node.get_item(name)) for name in cls._ARRAYS}
        params = node.parameters.as_dictionary()
        params = {k: (None if v == "None" else v) for k, v in params.items()}
        image = node.image
        components = node.components
        nn = float(node.nn_distance)
        delattr(s.metadata, _STORE)
        return cls(
            image=image,
            descriptor_signal=s,
            components=components,
            nn_distance=nn,
            parameters=params,
            **arrays,
        )
