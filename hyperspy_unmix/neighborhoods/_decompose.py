"""The per-atom stage of neighbourhood PCA: positions in, descriptors and
decomposition scores out (what the benchmark times), through HyperSpy's
``decomposition`` on a descriptor signal.
"""

import warnings
from dataclasses import dataclass

import numpy as np

from hyperspy_unmix._core import descriptors as _desc
from hyperspy_unmix._core.pca import CovariancePCA
from hyperspy_unmix._signal_io import index_axis, title_of, with_data

# HyperSpy decomposition algorithms that make sense on a descriptor table:
# the PCA family works on centred descriptors; NMF needs non-negative input.
# MLPCA needs a noise variance we do not have. (sparse_pca needs an ``alpha``
# tuned to the data's scale and the online ORPCA / ORNMF collapsed to one
# component on our tests: users who want them can pass a configured
# estimator object.)
CENTRED_ALGORITHMS = ("PCA", "SVD", "sklearn_pca")
ROBUST_ALGORITHMS = ("RPCA",)
NONNEGATIVE_ALGORITHMS = ("NMF",)
ALGORITHMS = CENTRED_ALGORITHMS + ROBUST_ALGORITHMS + NONNEGATIVE_ALGORITHMS


@dataclass
class DescriptorStage:
    """What :func:`descriptors_and_scores` returns.

    Attributes
    ----------
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

    desc: dict
    features: np.ndarray
    radial_scale: np.ndarray
    tangential_scale: np.ndarray
    descriptor_signal: object
    scores: np.ndarray
    factors: np.ndarray
    explained_variance_ratio: np.ndarray


def descriptors_and_scores(
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
    exclude=None,
):
    """Positions in, descriptors and decomposition scores out.

    The whole per-atom stage of :func:`hyperspy_unmix.neighborhood_pca` once
    the positions are known (the benchmark times exactly this).

    ``exclude`` (bool (N,), optional): atoms that are neighbours only
    (given positions outside the image), marked not included and counted
    with the edge exclusions.

    Returns
    -------
    DescriptorStage
    """
    ny, nx = image.axes_manager.signal_shape[::-1]
    desc = _desc.neighborhood_descriptors(
        xy,
        n_neighbors,
        bounds=(0.0, nx - 1.0, 0.0, ny - 1.0),
        edge_margin=edge_margin,
        max_deviation=max_deviation,
    )
    if exclude is not None and exclude.any():
        desc["included"] = desc["included"] & ~exclude
        desc["excluded_edge"] = desc["excluded_edge"] | exclude
    included = desc["included"]
    n_inc = int(included.sum())
    if n_inc < n_components + 1:
        n_edge = int(desc["excluded_edge"].sum())
        n_irregular = int((desc["excluded_incomplete"] & ~desc["excluded_edge"]).sum())
        if n_edge >= n_irregular:
            # the edge margin is the user's `edge_margin`, or follows the
            # distance to the J-th neighbour: blame the parameter behind it
            blame = (
                f"`edge_margin`={edge_margin:g} px leaves too few atoms away "
                "from the image edge; use a smaller `edge_margin`"
                if edge_margin is not None
                else f"`n_neighbors`={n_neighbors} sets the edge margin (1.5 "
                "times the distance to the J-th neighbour) and leaves too few "
                "atoms away from the image edge; use a smaller `n_neighbors`"
            )
        else:
            blame = (
                f"`n_neighbors`={n_neighbors} or `max_deviation`={max_deviation}"
                " leave too few atoms with a regular neighbourhood"
            )
        # `image` first: the user may not have passed the parameter behind
        # the margin (n_neighbors="auto" chose it)
        raise ValueError(
            f"`image`: only {n_inc} of {len(xy)} atoms have a complete "
            f"neighbourhood ({n_edge} too close to the image edge, "
            f"{n_irregular} more with an incomplete or irregular "
            f"neighbourhood), and n_components={n_components} needs at "
            f"least {n_components + 1}: {blame}"
        )
    if np.isfinite(desc["shell_ratio"]) and desc["shell_ratio"] < 1.05:
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
    scores_inc, factors, evr = decompose(
        descriptor_signal, algorithm, n_components, random_state
    )
    scores = np.full((len(xy), n_components), np.nan)
    scores[included] = scores_inc
    return DescriptorStage(
        desc, features, r_scale, t_scale, descriptor_signal, scores, factors, evr
    )


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
        f"Neighbourhood descriptors of {title_of(image)}",
        _feature_names(metric, desc["ideal_angles"].size),
    )


def decompose(s, algorithm, n_components, random_state):
    """Decompose the descriptor signal; scores, factors and variance ratios.

    ``s.decomposition`` is HyperSpy's own. The default "PCA" runs
    the package's covariance estimator on ``s`` itself (it centres
    internally and never writes into its input). The other algorithms
    decompose a prepared copy
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
            # every eigenvalue kept (scree plot); one BLAS thread on this
            # thin table
            algorithm=CovariancePCA(n_components, all_variances=True, blas_threads=1),
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
    work = with_data(s, prepared.copy())
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


def components_signal(image, factors, metric, j):
    return _table_signal(
        factors,
        "Component index",
        f"Neighbourhood PCA components of {title_of(image)}",
        _feature_names(metric, j),
    )
