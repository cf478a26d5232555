"""Neighbourhood PCA of atomic environments: :func:`neighborhood_pca`.

Find every atom (Atomap, :mod:`hyperspy_unmix.neighborhoods.atoms`), describe
each atom's surroundings by the distances and bond angles to its J nearest
neighbours in a canonical order, decompose those descriptors with HyperSpy's
own ``decomposition`` (:mod:`hyperspy_unmix.neighborhoods._decompose`) and
map the per-atom scores back onto the image
(:class:`~hyperspy_unmix.NeighborhoodPCAResult`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._core import descriptors as _desc
from hyperspy_unmix._signal_io import add_provenance, is_lazy
from hyperspy_unmix._validation import (
    check_bool,
    check_choice,
    check_finite,
    check_float,
    check_int,
    check_random_state,
    check_signal,
    check_uniform_axes,
    deprecated_alias,
    storable_random_state,
)
from hyperspy_unmix.neighborhoods import atoms as _atoms
from hyperspy_unmix.neighborhoods._decompose import (
    ALGORITHMS,
    components_signal,
    descriptors_and_scores,
)
from hyperspy_unmix.neighborhoods.result import NeighborhoodPCAResult

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

__all__ = ["neighborhood_pca"]

METRICS = ("distance", "angle", "both")
REFINEMENTS = (None, "com", "gaussian")
SCALINGS = ("displacement", "std")


@dataclass(frozen=True)
class _Options:
    n_neighbors: int
    n_components: int
    metric: str
    scaling: str
    refine: str | None
    algorithm: object
    normalize: bool
    separation: float | None
    edge_margin: float | None
    max_deviation: float
    threshold_rel: float
    tile_size: int | str | None
    num_workers: int | None
    random_state: object

    @property
    def n_needed(self):
        return max(self.n_neighbors + 1, self.n_components + 1)


def _check_options(**kw) -> _Options:
    """Every option of :func:`neighborhood_pca`, checked with its name."""
    n_neighbors = check_int(kw["n_neighbors"], "n_neighbors", minimum=2)
    n_components = check_int(kw["n_components"], "n_components", minimum=1)
    metric = check_choice(kw["metric"], "metric", METRICS)
    check_choice(kw["scaling"], "scaling", SCALINGS)
    check_choice(kw["refine"], "refine", REFINEMENTS)  # also with positions
    algorithm = kw["algorithm"]
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
    separation = kw["separation"]
    if separation is not None:
        separation = check_float(separation, "separation", minimum=1)
    edge_margin = kw["edge_margin"]
    if edge_margin is not None:
        edge_margin = check_float(edge_margin, "edge_margin", minimum=0)
    tile_size = kw["tile_size"]
    if tile_size is not None and tile_size != "auto":
        if isinstance(tile_size, str):
            raise ValueError(
                f"`tile_size` must be 'auto', None or an int >= 64, got {tile_size!r}"
            )
        tile_size = check_int(tile_size, "tile_size", minimum=64)
    num_workers = kw["num_workers"]
    if num_workers is not None:
        num_workers = check_int(num_workers, "num_workers", minimum=1)
    return _Options(
        n_neighbors=n_neighbors,
        n_components=n_components,
        metric=metric,
        scaling=kw["scaling"],
        refine=kw["refine"],
        algorithm=algorithm,
        normalize=check_bool(kw["normalize"], "normalize"),
        separation=separation,
        edge_margin=edge_margin,
        max_deviation=check_float(
            kw["max_deviation"], "max_deviation", minimum=0, strict_minimum=True
        ),
        threshold_rel=check_float(
            kw["threshold_rel"], "threshold_rel", minimum=0, maximum=1
        ),
        tile_size=tile_size,
        num_workers=num_workers,
        random_state=check_random_state(kw["random_state"]),
    )


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
    if is_lazy(data):
        if not np.issubdtype(data.dtype, np.floating):
            data = data.astype(np.float32)
        return data
    data = np.asarray(data)
    if not np.issubdtype(data.dtype, np.floating):
        data = data.astype(np.float32)
    return data


def neighborhood_pca(
    image: BaseSignal,
    n_neighbors: int = 6,
    *,
    positions=None,
    separation: float | None = None,
    refine: str | None = "com",
    metric: str = "both",
    n_components: int = 3,
    normalize: bool = True,
    scaling: str = "displacement",
    algorithm="PCA",
    edge_margin: float | None = None,
    max_deviation: float = 0.6,
    threshold_rel: float = 0.02,
    tile_size: int | str | None = "auto",
    num_workers: int | None = None,
    random_state=None,
    show_progressbar: bool | None = None,
    n_jobs: int | None = None,
) -> NeighborhoodPCAResult:
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
        image's autocorrelation (the distance to its nearest strong peak).
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
        Tiled atom finding (overlapping tiles, each atom kept by the tile
        whose core holds it): "auto" tiles images more than about 1000
        pixels wide. A lazy image
        is also refined with these tiles; None is refused for a lazy image
        more than 2048 pixels wide (it would load it whole).
    num_workers : int, optional
        Threads for tiled atom finding of an in-memory image; None: the
        number of CPUs. (A lazy image's tiles run on dask's current
        scheduler: threads, or a ``dask.distributed`` client's workers.)
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Passed to randomised decomposition algorithms.
    show_progressbar : bool, optional
        For Atomap's Gaussian refinement. None: HyperSpy's preference.
    n_jobs : int, optional
        Deprecated name of ``num_workers`` (removed in 0.3).

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
    num_workers = deprecated_alias(n_jobs, "n_jobs", num_workers, "num_workers", None)
    opts = _check_options(
        n_neighbors=n_neighbors,
        n_components=n_components,
        metric=metric,
        scaling=scaling,
        refine=refine,
        algorithm=algorithm,
        normalize=normalize,
        separation=separation,
        edge_margin=edge_margin,
        max_deviation=max_deviation,
        threshold_rel=threshold_rel,
        tile_size=tile_size,
        num_workers=num_workers,
        random_state=random_state,
    )
    shape = image.axes_manager.signal_shape[::-1]  # (ny, nx)
    given = None
    if positions is not None:
        given = _atoms.positions_from(positions)
        _check_positions(given[0], shape)
        if len(given[0]) < opts.n_needed:
            raise ValueError(
                f"`positions` has {len(given[0])} atoms; "
                f"n_neighbors={opts.n_neighbors} and n_components="
                f"{opts.n_components} need at least {opts.n_needed}"
            )
    data = _image_data(image)
    value_range = _checked_range(data)

    # --- atoms -----------------------------------------------------------
    if given is None:
        xy, separation = _find_and_refine(
            data, shape, opts, value_range, show_progressbar
        )
        sublattice = np.zeros(len(xy), dtype=int)
        refine = opts.refine
    else:
        (xy, sublattice), separation, refine = given, opts.separation, "given"

    # --- descriptors and decomposition -----------------------------------
    ny, nx = shape
    stage = descriptors_and_scores(
        image,
        xy,
        opts.n_neighbors,
        metric=opts.metric,
        n_components=opts.n_components,
        normalize=opts.normalize,
        scaling=opts.scaling,
        algorithm=opts.algorithm,
        edge_margin=opts.edge_margin,
        max_deviation=opts.max_deviation,
        random_state=opts.random_state,
    )
    parameters = {
        "n_neighbors": opts.n_neighbors,
        "metric": opts.metric,
        "n_components": opts.n_components,
        "normalize": opts.normalize,
        "scaling": opts.scaling,
        "algorithm": (
            opts.algorithm if isinstance(opts.algorithm, str) else repr(opts.algorithm)
        ),
        "refine": refine,
        "separation": separation,
        "edge_margin": opts.edge_margin,
        "max_deviation": opts.max_deviation,
        "threshold_rel": opts.threshold_rel,
        "random_state": storable_random_state(opts.random_state),
    }
    return _build_result(image, xy, sublattice, stage, opts, parameters)


def _checked_range(data):
    """One pass (streamed for a lazy image): finite values and the range."""
    dmin, dmax, finite = _atoms.data_range(data)
    if not finite:
        if is_lazy(data):
            import dask.array as da

            n_bad = int((~da.isfinite(data)).sum().compute())
            raise ValueError(
                f"`image` contains {n_bad} NaN or infinite value(s); remove or "
                "mask them first"
            )
        check_finite(data, "image")
    return dmin, dmax


def _find_and_refine(data, shape, opts, value_range, show_progressbar):
    """Atoms found (tiled) and refined; returns positions and the separation."""
    separation = opts.separation
    if separation is None:
        # (the central 1024 x 1024 crop only: a lazy image computes that)
        spacing = _atoms.estimate_spacing(data)
        separation = _atoms.separation_from_spacing(spacing)
    separation = int(separation)
    found = _atoms.find_atoms(
        data,
        separation,
        threshold_rel=opts.threshold_rel,
        tile_size=opts.tile_size,
        n_jobs=opts.num_workers,
        value_range=value_range,
    )
    if len(found) < opts.n_needed:
        raise ValueError(
            f"found {len(found)} atoms with separation={separation} px and "
            f"threshold_rel={opts.threshold_rel}; n_neighbors={opts.n_neighbors} "
            f"and n_components={opts.n_components} need at least "
            f"{opts.n_needed}. Try a smaller `separation`, or pass `positions`"
        )
    core = _atoms.tile_core(shape, separation, opts.tile_size) or max(shape)
    xy = _atoms.refine_positions(
        data,
        found,
        opts.refine,
        show_progressbar=show_progressbar,
        tile_size=core,
        value_range=value_range,
    )
    return xy, separation


def _build_result(image, xy, sublattice, stage, opts, parameters):
    desc = stage.desc
    included = desc["included"]
    neighbor = np.stack(
        [
            desc["distances"] / (desc["nn_distance"] if opts.normalize else 1.0),
            desc["angle_deviations"],
        ],
        axis=-1,
    )
    neighbor[~included] = np.nan
    displacements = _desc.component_displacements(
        stage.factors.T,
        desc,
        opts.metric,
        stage.radial_scale,
        stage.tangential_scale,
    )
    reference = np.stack(
        [
            desc["ideal_distances"] * np.cos(desc["ideal_angles"]),
            desc["ideal_distances"] * np.sin(desc["ideal_angles"]),
        ],
        axis=-1,
    )
    components = components_signal(
        image, stage.factors.T, opts.metric, opts.n_neighbors
    )
    for sig in (stage.descriptor_signal, components):
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
        descriptors=stage.features,
        descriptor_signal=stage.descriptor_signal,
        scores=stage.scores,
        components=components,
        component_displacements=displacements,
        reference_neighborhood=reference,
        explained_variance_ratio=stage.explained_variance_ratio,
        nn_distance=desc["nn_distance"],
        parameters=parameters,
    )
