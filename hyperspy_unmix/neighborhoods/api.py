"""Neighbourhood PCA of atomic environments: :func:`neighborhood_pca`.

Find every atom (Atomap, :mod:`hyperspy_unmix.neighborhoods.atoms`), describe
each atom's surroundings by the distances and bond angles to its J nearest
neighbours in a canonical order, decompose those descriptors with HyperSpy's
own ``decomposition`` (:mod:`hyperspy_unmix.neighborhoods._decompose`) and
map the per-atom scores back onto the image
(:class:`~hyperspy_unmix.NeighborhoodPCAResult`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

from hyperspy_unmix._core import descriptors as _desc
from hyperspy_unmix._core.atom_quality import (
    MIN_QUALITY,
    has_lattice,
    missed_sublattice,
)
from hyperspy_unmix._core.contrast import detect_contrast
from hyperspy_unmix._core.dtypes import as_working_float, remove_offset, working_dtype
from hyperspy_unmix._core.lattice import first_shell
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
CONTRASTS = ("auto", "bright", "dark")
#: Given positions closer than this (pixels) to another are duplicates.
DUPLICATE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class _Options:
    n_neighbors: int | str
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
    contrast: str
    min_quality: float | None

    @property
    def n_needed(self):
        # "auto" picks at most 8 neighbours (lattice.first_shell)
        j = 8 if self.n_neighbors == "auto" else self.n_neighbors
        return max(j + 1, self.n_components + 1)


def _check_n_features(n_components, metric, n_neighbors):
    if n_neighbors == "auto":  # checked again once the shell is known
        n_neighbors = 3
    n_features = 2 * n_neighbors if metric == "both" else n_neighbors
    if n_components > n_features:
        raise ValueError(
            f"`n_components` must be <= the number of descriptors "
            f"({n_features} for metric={metric!r}, n_neighbors={n_neighbors}), "
            f"got {n_components}"
        )


def _check_options(**kw) -> _Options:
    """Every option of :func:`neighborhood_pca`, checked with its name."""
    n_neighbors = kw["n_neighbors"]
    if isinstance(n_neighbors, str):
        if n_neighbors != "auto":
            raise ValueError(
                f"`n_neighbors` must be 'auto' or an int >= 2, got {n_neighbors!r}"
            )
    else:
        n_neighbors = check_int(n_neighbors, "n_neighbors", minimum=2)
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
    _check_n_features(n_components, metric, n_neighbors)
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
        num_workers = check_int(num_workers, kw["workers_name"], minimum=1)
    min_quality = kw["min_quality"]
    if min_quality is not None:
        min_quality = check_float(min_quality, "min_quality")
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
        contrast=check_choice(kw["contrast"], "contrast", CONTRASTS),
        min_quality=min_quality,
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
    working_dtype(image.data.dtype, "image")  # complex, object...: TypeError


def _check_positions(xy, shape, margin):
    if not np.all(np.isfinite(xy)):
        bad = int(np.count_nonzero(~np.isfinite(xy).all(axis=1)))
        raise ValueError(f"`positions` contains {bad} atom(s) with NaN or inf")
    ny, nx = shape
    outside = _outside(xy, shape, margin)
    if outside.any():
        raise ValueError(
            f"`positions` has {int(outside.sum())} atom(s) outside the image "
            f"by more than one lattice spacing ({margin:.3g} px: x must be in "
            f"[{-0.5 - margin:.4g}, {nx - 0.5 + margin:.4g}], y in "
            f"[{-0.5 - margin:.4g}, {ny - 0.5 + margin:.4g}] pixels; positions "
            "are in pixels, not calibrated units)"
        )
    if len(xy) > 1:
        pairs = cKDTree(xy).query_pairs(DUPLICATE_TOLERANCE, output_type="ndarray")
        if len(pairs):
            rows = np.unique(pairs)
            shown = ", ".join(str(int(r)) for r in rows[:20])
            more = "" if len(rows) <= 20 else f", ... ({len(rows)} rows)"
            raise ValueError(
                f"`positions` has duplicated atoms (closer than "
                f"{DUPLICATE_TOLERANCE:g} px) at rows {shown}{more}; remove the "
                "duplicates"
            )


def _outside(xy, shape, margin=0.0):
    """Atoms outside the image's pixel area grown by ``margin`` pixels."""
    ny, nx = shape
    lo = -0.5 - margin
    return (
        (xy[:, 0] < lo)
        | (xy[:, 0] > nx - 0.5 + margin)
        | (xy[:, 1] < lo)
        | (xy[:, 1] > ny - 0.5 + margin)
    )


def _image_data(image):
    """The image in its working float type (``_core.dtypes``: float16 and
    small integers as float32, 32/64-bit integers minus their minimum as
    float64): numpy, or dask
    for a lazy image (converted block by block, never computed here; the
    analysis reads it tile by tile)."""
    data = image.data
    if not is_lazy(data):
        data = np.asarray(data)
    dt = np.dtype(data.dtype)
    if dt.kind in "iu" and dt.itemsize >= 4:
        # 32/64-bit counts: subtract the minimum in integer arithmetic before
        # the cast (a 1e12 offset would eat float64's mantissa and the
        # refinement's precision); the peak threshold then is threshold_rel
        # times the range above the minimum
        low = data.min()
        low = low.compute() if is_lazy(low) else low
        return remove_offset(data, int(low), name="image")[0]
    return as_working_float(data, name="image")


def _central_crop(data, size):
    """The central ``size`` square as numpy (computes only it for dask)."""
    ny, nx = data.shape
    cy, cx = max(0, (ny - size) // 2), max(0, (nx - size) // 2)
    crop = data[cy : cy + size, cx : cx + size]
    return np.asarray(crop.compute() if is_lazy(crop) else crop)


def neighborhood_pca(
    image: BaseSignal,
    n_neighbors: int | str = "auto",
    *,
    positions=None,
    contrast: str = "auto",
    min_quality: float | None = MIN_QUALITY,
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
        A single 2-D image (navigation dimension 0) with uniform axes, of any
        real dtype (float16 and (u)int8/16 are computed in float32, 32/64-bit
        integers minus their minimum, subtracted exactly, in float64; a lazy
        image block by block; complex images are refused with a TypeError).
        Bright or dark atoms (``contrast``). Stacks are refused: analyse
        ``image.inav[i]``. A lazy image is
        never loaded whole: one streamed pass checks its values and takes
        its range, the spacing is estimated on its central 1024 x 1024 crop,
        and atoms are found and refined tile by tile (each tile's region
        computed on its own, in dask tasks, so a ``dask.distributed`` client
        runs them on its workers); only the atom table is gathered. Memory:
        a few tiles, not the image. Same numbers as the image in memory.
    n_neighbors : int or "auto"
        J >= 2. Choose a complete shell: 6 (or 12) on hexagonal lattices, 4
        or 8 on square ones; a J that cuts a shell of equidistant neighbours
        makes the neighbour set ambiguous (a warning says so). "auto" (the
        default; 0.1 used 6 everywhere): the complete first shell of the atoms
        (:func:`hyperspy_unmix._core.lattice.first_shell`: 4 on square and
        rectangular lattices, 6 on hexagonal ones); the choice is
        ``result.parameters["n_neighbors"]`` (and
        ``["n_neighbors_requested"]`` is "auto").
    positions : array-like of shape (N, 2), atomap Sublattice or Atom_Lattice, optional
        x, y atom positions in pixels. None: atoms are found with Atomap's
        ``get_atom_positions`` and refined with ``refine``. Given positions
        are used as they are (``refine`` is ignored). Duplicates (closer
        than 1e-6 px) are refused, naming their rows. Positions outside the
        image by at most one lattice spacing (estimated from the image) are
        accepted as neighbours of the atoms near the border: never refined,
        marked not included (``result.included`` False, counted in
        ``excluded_edge`` and in ``parameters["n_outside"]``); farther out
        they are refused.
    contrast : {"auto", "bright", "dark"}
        Atoms bright (HAADF) or dark (ABF, BF, some STM). "auto": decided
        by :func:`hyperspy_unmix._core.contrast.detect_contrast` on the
        central 512 x 512 crop (16 spacings if larger; skewness of the
        image band-passed at the atom scale: negative means dark atoms).
        Dark atoms are found and
        refined on ``max - image`` (lazily, block by block). The choice and
        its evidence are ``result.parameters["contrast"]`` and
        ``["contrast_evidence"]``. Ignored with ``positions``.
    min_quality : float or None
        Found atoms whose peak stands less than this many noise standard
        deviations above their local background
        (:func:`hyperspy_unmix._core.atom_quality.atom_quality`) are dropped
        before the analysis, with a warning giving their number
        (``parameters["n_low_quality"]``): maxima of noise and vacuum reach
        about 5, atoms 10 and more. None keeps every atom. The qualities of
        the atoms kept are ``result.atom_quality`` ((N,), NaN for given
        positions). An amorphous support's speckle passes it, so peaks off
        the lattice are dropped too when at least 10 % of the peaks have no
        neighbour at a lattice vector (the offsets most atoms share): then
        every peak with fewer than 3 such neighbours goes, with a warning
        (``parameters["n_off_lattice"]``; precision 0.99 against 0.46-0.58
        on generated lattices half on a support; the real MoReS2 lattice,
        1.8 % without, is left alone). None keeps every peak.
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
        image (complex: TypeError); non-uniform axes; NaN/inf in the image;
        every bad option, named (``n_neighbors`` < 2 or not "auto",
        ``n_components`` < 1, an unknown ``metric``, ``refine``,
        ``scaling``, ``contrast`` or ``algorithm``, ``tile_size`` < 64,
        ``threshold_rel`` outside [0, 1], a non-finite ``separation``, a
        non-bool ``normalize``...); positions that are NaN, duplicated, more
        than one spacing outside the image or too few. Without positions,
        an image with no lattice (noise only: "no lattice found", from
        :func:`hyperspy_unmix._core.atom_quality.has_lattice`). After atom
        finding: too few atoms (the error names the separation tried), or
        too few atoms with a complete neighbourhood (the error names
        ``edge_margin`` or ``n_neighbors``, whichever set the edge margin).

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
    workers_name = "n_jobs" if n_jobs is not None else "num_workers"
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
        workers_name=workers_name,
        random_state=random_state,
        contrast=contrast,
        min_quality=min_quality,
    )
    shape = image.axes_manager.signal_shape[::-1]  # (ny, nx)
    if opts.tile_size is None and is_lazy(image.data) and max(shape) > 2048:
        raise ValueError(
            "`tile_size` None would load the whole lazy image "
            f"({shape[0]} x {shape[1]}); use 'auto' or an int"
        )
    data = _image_data(image)
    given = None
    if positions is not None:
        given = _atoms.positions_from(positions)
        if len(given[0]) < opts.n_needed:
            raise ValueError(
                f"`positions` has {len(given[0])} atoms; "
                f"n_neighbors={opts.n_neighbors} and n_components="
                f"{opts.n_components} need at least {opts.n_needed}"
            )
        if not np.all(np.isfinite(given[0])):
            _check_positions(given[0], shape, 0.0)  # the NaN message
        _check_positions(given[0], shape, _given_margin(data, given[0]))
    value_range = _checked_range(data)

    # --- atoms -----------------------------------------------------------
    extra = {}
    quality = None
    if given is None:
        xy, separation, quality, extra = _find_and_refine(
            data, shape, opts, value_range, show_progressbar
        )
        sublattice = np.zeros(len(xy), dtype=int)
        refine = opts.refine
        outside = None
    else:
        (xy, sublattice), separation, refine = given, opts.separation, "given"
        # outside the image (at most one spacing): neighbours only
        outside = _outside(xy, shape)

    n_requested = opts.n_neighbors
    if opts.n_neighbors == "auto":
        ny, nx = shape
        j = first_shell(xy, bounds=(0.0, nx - 1.0, 0.0, ny - 1.0))
        _check_n_features(opts.n_components, opts.metric, j)
        opts = replace(opts, n_neighbors=j)

    # --- descriptors and decomposition -----------------------------------
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
        exclude=outside,
    )
    parameters = {
        "n_neighbors": opts.n_neighbors,
        "n_neighbors_requested": n_requested,
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
        "min_quality": opts.min_quality,
        "n_outside": 0 if outside is None else int(outside.sum()),
        **extra,
    }
    result = _build_result(image, xy, sublattice, stage, opts, parameters)
    # set here, not through the constructor (the result class is edited
    # elsewhere): the quality of every atom kept, NaN for given positions
    result.atom_quality = (
        np.full(len(xy), np.nan) if quality is None else np.asarray(quality, float)
    )
    return result


def _given_margin(data, xy):
    """How far given positions may lie outside the image: one spacing (from
    the image's autocorrelation; 0.5 px if it has no lattice peak)."""
    try:
        return float(_atoms.estimate_spacing(data))
    except ValueError:
        return 0.5


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
    """Atoms found (tiled), checked and refined.

    Returns positions, the separation, the atoms' quality and the
    parameters to record (contrast and its evidence, dropped atoms).
    """
    # the lattice spacing, on the central crop (a lazy image computes that)
    try:
        spacing = _atoms.estimate_spacing(data)
    except ValueError:
        spacing = None
    crop = _central_crop(data, 512)
    ok, evidence = has_lattice(crop)
    if not ok or spacing is None:
        tried = (
            ""
            if opts.separation is None
            else f" no atoms searched with separation={opts.separation:g} px:"
        )
        raise ValueError(
            f"`image`: no lattice found;{tried} (the strongest Fourier peak of its "
            f"central {crop.shape[0]} x {crop.shape[1]} pixels is "
            f"{evidence['peak_ratio']:.3g} times the median power, a lattice "
            f"gives >= {evidence['threshold']:g}); pass `positions` if the "
            "atoms are known"
        )
    separation = opts.separation
    if separation is None:
        separation = _atoms.separation_from_spacing(spacing)
    separation = int(separation)

    contrast, c_evidence = opts.contrast, {"rule": "given"}
    if contrast == "auto":
        # a 512 px crop (at least 16 spacings) holds hundreds of atoms: the
        # skewness is settled, at a quarter of the cost of 1024 px
        size = int(min(1024, max(512, 16 * spacing)))
        contrast, c_evidence = detect_contrast(_central_crop(data, size), spacing)
    if contrast == "dark":
        # dark atoms: find and refine on the inverted image (blockwise for
        # dask); the range follows without another pass
        dmin, dmax = value_range
        data = dmax - data
        value_range = (0.0, dmax - dmin)
    extra = {"contrast": contrast, "contrast_evidence": c_evidence}

    found = _atoms.find_atoms(
        data,
        separation,
        threshold_rel=opts.threshold_rel,
        tile_size=opts.tile_size,
        n_jobs=opts.num_workers,
        value_range=value_range,
    )
    core = _atoms.tile_core(shape, separation, opts.tile_size) or max(shape)
    quality = None
    n_low = 0
    if len(found):
        quality = _atoms.atom_quality_tiled(
            data, found, spacing, tile_size=core, noise_crop=_central_crop(data, 512)
        )
        if opts.min_quality is not None:
            keep = quality >= opts.min_quality
            n_low = int((~keep).sum())
            found, quality = found[keep], quality[keep]
            if n_low:
                warnings.warn(
                    f"dropped {n_low} of {n_low + len(found)} found atoms with a "
                    f"quality below min_quality={opts.min_quality:g} (peak above "
                    "the local background, in noise standard deviations: noise "
                    "or vacuum); pass min_quality=None to keep them",
                    UserWarning,
                    stacklevel=3,
                )
    extra["n_low_quality"] = n_low
    if len(found) < opts.n_needed:
        raise ValueError(
            f"found {len(found)} atoms with separation={separation} px, "
            f"threshold_rel={opts.threshold_rel} and min_quality="
            f"{opts.min_quality}; n_neighbors={opts.n_neighbors} "
            f"and n_components={opts.n_components} need at least "
            f"{opts.n_needed}. Try a smaller `separation`, or pass `positions`"
        )
    xy = _atoms.refine_positions(
        data,
        found,
        opts.refine,
        show_progressbar=show_progressbar,
        tile_size=core,
        value_range=value_range,
    )
    extra["n_off_lattice"] = 0
    if opts.min_quality is not None:
        xy, quality, extra["n_off_lattice"] = _drop_off_lattice(xy, quality, spacing)
        if len(xy) < opts.n_needed:
            raise ValueError(
                f"`image`: {len(xy)} atoms sit on a lattice (separation="
                f"{separation} px); n_neighbors={opts.n_neighbors} and "
                f"n_components={opts.n_components} need at least "
                f"{opts.n_needed}. Pass min_quality=None to keep every peak, "
                "or `positions`"
            )
    extra["missed_sublattice"] = _warn_missed_sublattice(data, xy, spacing, separation)
    return xy, separation, quality, extra


# Share of found atoms without any neighbour at a lattice vector above which
# the image is taken to hold a region without lattice (a support, vacuum
# speckle): measured 1.8 % on the real MoReS2 image (a distorted lattice),
# 0-1 % on generated lattices, 25-40 % with half of the image an amorphous
# support.
_OFF_LATTICE_SHARE = 0.10


def _drop_off_lattice(xy, quality, spacing):
    """Drop peaks off the lattice (fewer than 3 lattice-vector neighbours)
    when many peaks have none: an amorphous support or speckle."""
    from hyperspy_unmix._core.lattice import lattice_neighbour_counts

    if len(xy) == 0:
        return xy, quality, 0
    # the share without lattice neighbours on an even sample of the atoms;
    # every atom is counted only when the check is on
    sample = np.linspace(0, len(xy) - 1, min(len(xy), 4000)).astype(np.intp)
    share = np.mean(lattice_neighbour_counts(xy, spacing, rows=sample) == 0)
    if share < _OFF_LATTICE_SHARE:
        return xy, quality, 0
    counts = lattice_neighbour_counts(xy, spacing)
    keep = counts >= 3
    n_drop = int((~keep).sum())
    warnings.warn(
        f"dropped {n_drop} of {len(xy)} found atoms off the lattice (fewer than "
        "3 neighbours at a lattice vector): "
        f"{100 * share:.0f} % of the peaks have none, so part of "
        "`image` holds no lattice (an amorphous support, vacuum speckle); pass "
        "min_quality=None to keep every peak",
        UserWarning,
        stacklevel=4,
    )
    return xy[keep], None if quality is None else quality[keep], n_drop


def _warn_missed_sublattice(data, xy, spacing, separation):
    """Warn when the average cell of the found atoms shows a weaker set of
    atoms between them (on the central crop: a lazy image computes only it)."""
    size = int(min(1024, max(512, 16 * spacing)))
    ny, nx = data.shape
    cy, cx = max(0, (ny - size) // 2), max(0, (nx - size) // 2)
    crop = _central_crop(data, size)
    local = xy - [cx, cy]
    inside = (
        (local[:, 0] >= 0)
        & (local[:, 0] < crop.shape[1])
        & (local[:, 1] >= 0)
        & (local[:, 1] < crop.shape[0])
    )
    found = missed_sublattice(crop, local[inside], spacing)
    if found is None:
        return None
    warnings.warn(
        "`image` seems to hold a second, weaker set of atoms that the atom "
        f"finding (separation={separation} px) missed: the average cell of "
        f"the atoms found has a peak of {100 * found['height']:.0f} % of their "
        f"height {found['distance']:.1f} px from them ({found['snr']:.0f} times "
        "its noise, after the found lattice is subtracted). A smaller "
        f"separation (e.g. separation={found['separation']}) with "
        "min_quality=None may find both sets; atoms too weak to find one by one "
        "need their `positions` (e.g. from a model of the cell)",
        UserWarning,
        stacklevel=4,
    )
    return {k: found[k] for k in ("distance", "height", "snr", "separation")}


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
