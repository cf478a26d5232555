"""neighborhood_pca: ground truth, invariances, PCA reference, result object,
bad input."""

import logging
import math

import hyperspy.api as hs
import numpy as np
import pytest
from scipy.spatial import cKDTree

import hyperspy_unmix as hu
from hyperspy_unmix.neighborhoods import NeighborhoodPCAResult, neighborhood_pca


@pytest.fixture(scope="module")
def lattice():
    return hu.data.distorted_lattice(shape=(256, 256), random_state=0)


@pytest.fixture(scope="module")
def result(lattice):
    img, _ = lattice
    return neighborhood_pca(img, 6)


def _snapshot(s):
    return (
        s.data.copy(),
        [(a.name, a.scale, a.offset, a.units, a.size) for a in s.axes_manager._axes],
        s.metadata.as_dictionary(),
    )


# ----------------------------------------------------------- ground truth
def test_atoms_and_distortion_against_truth(lattice, result):
    img, truth = lattice
    d, i = cKDTree(truth.positions).query(result.positions)
    assert len(np.unique(i)) == len(i)
    sep = result.parameters["separation"]
    ny, nx = img.data.shape
    t = truth.positions
    inner = (t[:, 0] >= sep) & (t[:, 0] <= nx - 1 - sep)
    inner &= (t[:, 1] >= sep) & (t[:, 1] <= ny - 1 - sep)
    hit = np.zeros(len(t), bool)
    hit[i[d < 0.5]] = True
    assert hit[inner].mean() >= 0.99
    assert np.sqrt(np.mean(d**2)) < 0.5
    inc = result.included
    dist = truth.distortion[i][inc]
    r = [abs(np.corrcoef(result.scores[inc, k], dist)[0, 1]) for k in range(2)]
    assert max(r) >= 0.9
    assert result.n_excluded == (~inc).sum() > 0
    assert result.excluded_edge.sum() > 0


@pytest.mark.parametrize("algorithm", ["PCA", "SVD"])
def test_pca_matches_numpy_reference(lattice, result, algorithm):
    """HyperSpy's decomposition = PCA of the descriptor table (numpy SVD)."""
    if algorithm != "PCA":
        result = neighborhood_pca(lattice[0], 6, algorithm=algorithm)
    X0 = result.descriptor_signal.data.copy()
    X = result.descriptors[result.included]
    Xc = X - X.mean(axis=0)
    u, s, vt = np.linalg.svd(Xc, full_matrices=False)
    ref_scores = u * s
    k = result.n_components
    for c in range(k):
        a, b = result.scores[result.included, c], ref_scores[:, c]
        sign = np.sign(a @ b)
        np.testing.assert_allclose(a, sign * b, atol=1e-8)
        np.testing.assert_allclose(result.components.data[c], sign * vt[c], atol=1e-8)
    np.testing.assert_allclose(
        result.explained_variance_ratio, (s**2 / np.sum(s**2))[:k], rtol=1e-8
    )
    assert np.isnan(result.scores[~result.included]).all()
    # the descriptor signal keeps the exact descriptors (HyperSpy decomposed a copy)
    np.testing.assert_array_equal(result.descriptor_signal.data, X0)
    np.testing.assert_array_equal(result.descriptor_signal.data, X)
    ev = result.descriptor_signal.learning_results.explained_variance
    assert len(ev) == X.shape[1]
    assert np.isnan(result.descriptors[~result.included]).all()
    assert np.isnan(result.neighbor_descriptors[~result.included]).all()


# ------------------------------------------------------------ invariances
def _positions_result(xy, shape, **kw):
    blank = hs.signals.Signal2D(np.zeros(shape, dtype=np.float32))
    return neighborhood_pca(blank, 6, positions=xy, edge_margin=0.0, **kw)


@pytest.mark.parametrize("angle", [0.7, 2.0, -2.9, math.pi])
def test_scores_invariant_to_rotation_and_translation(lattice, angle):
    _, truth = lattice
    xy = truth.positions
    c0 = xy.mean(axis=0)
    xy = xy[np.hypot(*(xy - c0).T) < 110]
    base = _positions_result(xy - c0 + 150, (300, 300))
    c, s = math.cos(angle), math.sin(angle)
    moved = (xy - c0) @ np.array([[c, -s], [s, c]]).T + [160.25, 141.5]
    rot = _positions_result(moved, (300, 300))
    np.testing.assert_array_equal(base.included, rot.included)
    inc = base.included
    for k in range(2):
        a, b = base.scores[inc, k], rot.scores[inc, k]
        np.testing.assert_allclose(a, np.sign(a @ b) * b, atol=1e-9)
    np.testing.assert_allclose(
        base.explained_variance_ratio, rot.explained_variance_ratio, rtol=1e-9
    )


def test_rotated_image_copy_gives_the_same_scores(lattice, result):
    """Whole pipeline (Atomap finding + refinement) on a 90-degree rotated copy."""
    img, _ = lattice
    rot = hs.signals.Signal2D(np.rot90(img.data).copy())
    res = neighborhood_pca(rot, 6)
    nx = img.data.shape[1]
    # np.rot90: rotated pixel (x', y') shows original pixel (nx - 1 - y', x')
    back = np.stack([nx - 1 - res.positions[:, 1], res.positions[:, 0]], axis=1)
    d, i = cKDTree(back).query(result.positions)
    assert np.all(d < 1e-6)
    both = result.included & res.included[i]
    assert both.sum() > 0.9 * result.included.sum()
    a, b = result.scores[both, 0], res.scores[i[both], 0]
    assert abs(np.corrcoef(a, b)[0, 1]) > 0.999


# ------------------------------------------------------------- the result
def test_input_untouched_and_method_delegates(lattice):
    img, _ = lattice
    before = _snapshot(img)
    res = img.neighborhood_pca(6, n_components=2)
    after = _snapshot(img)
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]
    assert img.learning_results.loadings is None
    ref = neighborhood_pca(img, 6, n_components=2)
    np.testing.assert_array_equal(res.scores, ref.scores)


def test_lazy_equals_eager(lattice, result):
    img, _ = lattice
    res = neighborhood_pca(img.as_lazy(), 6)
    np.testing.assert_array_equal(res.positions, result.positions)
    np.testing.assert_allclose(res.scores, result.scores, equal_nan=True)


@pytest.mark.parametrize("metric, width", [("distance", 6), ("angle", 6), ("both", 12)])
def test_metrics_and_shapes(lattice, metric, width):
    img, _ = lattice
    res = neighborhood_pca(img, 6, metric=metric, n_components=2)
    n = len(res.positions)
    assert res.descriptors.shape == (n, width)
    assert res.neighbor_descriptors.shape == (n, 6, 2)
    assert res.scores.shape == (n, 2)
    assert res.components.data.shape == (2, width)
    assert res.component_displacements.shape == (2, 6, 2)
    assert res.descriptor_signal.data.shape == (res.included.sum(), width)
    assert 0 < res.explained_variance_ratio.sum() <= 1 + 1e-12


def test_displacement_arrows_reconstruct_descriptors(result):
    """component_displacements turn a score into neighbour displacements (px)."""
    c = result.component_displacements  # (k, J, 2)
    ref = result.reference_neighborhood
    theta = np.arctan2(ref[:, 1], ref[:, 0])
    e_r = np.stack([np.cos(theta), np.sin(theta)], -1)
    radial = (c * e_r).sum(-1)  # (k, J) px per unit score
    j = ref.shape[0]
    np.testing.assert_allclose(
        radial, result.components.data[:, :j] * result.nn_distance, atol=1e-12
    )


# scikit-learn's NMF stops at its default 200 iterations on these
# descriptors; what is tested is that the scores still follow the distortion
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("algorithm", ["NMF", "RPCA", "sklearn_pca"])
def test_other_algorithms(lattice, algorithm):
    img, truth = lattice
    res = neighborhood_pca(img, 6, algorithm=algorithm, random_state=0)
    inc = res.included
    assert np.isfinite(res.scores[inc]).all()
    assert (res.explained_variance_ratio > 0).all()
    d, i = cKDTree(truth.positions).query(res.positions)
    r = [
        abs(np.corrcoef(res.scores[inc, k], truth.distortion[i][inc])[0, 1])
        for k in range(2)
    ]
    assert max(r) > 0.8


def test_atom_lattice_input(lattice):
    import atomap.api as am

    img, truth = lattice
    xy = truth.positions
    ny, nx = img.data.shape
    xy = xy[(xy[:, 0] > 0) & (xy[:, 0] < nx - 1) & (xy[:, 1] > 0) & (xy[:, 1] < ny - 1)]
    half = len(xy) // 2
    subs = [
        am.Sublattice(xy[:half], image=img.data),
        am.Sublattice(xy[half:], image=img.data),
    ]
    res = neighborhood_pca(
        img, 6, positions=am.Atom_Lattice(img.data, sublattice_list=subs)
    )
    np.testing.assert_allclose(res.positions, xy)
    assert res.sublattice.tolist() == [0] * half + [1] * (len(xy) - half)
    assert res.parameters["refine"] == "given"


def test_score_map_and_plots(result):
    m = result.score_map(1)
    img = result.image
    assert m.data.shape == img.data.shape
    for a, b in zip(m.axes_manager.signal_axes, img.axes_manager.signal_axes):
        assert (a.name, a.scale, a.offset, a.units) == (
            b.name,
            b.scale,
            b.offset,
            b.units,
        )
    fig_img, fig_arrows = result.plot(1)
    assert len(fig_img.axes) == 2  # image + colour bar
    assert fig_arrows is not None
    assert result.plot_scree().get_ylabel() == "explained variance ratio"
    assert "included" in repr(result)


def test_score_map_hits_scores_at_atoms():
    """With atoms on pixel centres, the interpolated map equals the scores there."""
    img, truth = hu.data.distorted_lattice(shape=(128, 128), random_state=2)
    xy = np.rint(truth.positions)
    xy = xy[(xy >= 0).all(1) & (xy[:, 0] <= 127) & (xy[:, 1] <= 127)]
    res = neighborhood_pca(img, 6, positions=xy, n_components=2)
    m = res.score_map(0).data
    inc = res.included
    got = m[xy[inc, 1].astype(int), xy[inc, 0].astype(int)]
    np.testing.assert_allclose(got, res.scores[inc, 0], atol=1e-9)


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_save_load_round_trip(result, tmp_path, ext):
    f = tmp_path / f"res.{ext}"
    result.save(f)
    back = NeighborhoodPCAResult.load(f)
    for name in NeighborhoodPCAResult._ARRAYS:
        np.testing.assert_array_equal(getattr(back, name), getattr(result, name))
    np.testing.assert_array_equal(back.image.data, result.image.data)
    np.testing.assert_array_equal(back.components.data, result.components.data)
    np.testing.assert_array_equal(
        back.descriptor_signal.data, result.descriptor_signal.data
    )
    assert back.nn_distance == result.nn_distance
    assert back.parameters == result.parameters
    np.testing.assert_array_equal(back.score_map(0).data, result.score_map(0).data)
    np.testing.assert_allclose(
        back.descriptor_signal.learning_results.factors,
        result.descriptor_signal.learning_results.factors,
    )
    assert repr(back) == repr(result)


def test_load_refuses_other_files(tmp_path):
    f = tmp_path / "plain.hspy"
    hs.signals.Signal1D(np.arange(5.0)).save(f)
    with pytest.raises(ValueError, match="filename"):
        NeighborhoodPCAResult.load(f)


def test_warns_when_j_cuts_a_shell(lattice):
    img, _ = lattice
    with pytest.warns(UserWarning, match="n_neighbors"):
        neighborhood_pca(img, 5, n_components=2)


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, exc, word",
    [
        ({"n_neighbors": 1}, ValueError, "n_neighbors"),
        ({"n_neighbors": 2.5}, TypeError, "n_neighbors"),
        ({"n_components": 0}, ValueError, "n_components"),
        ({"n_components": 13}, ValueError, "n_components"),
        ({"metric": "euclid"}, ValueError, "metric"),
        ({"refine": "fit"}, ValueError, "refine"),
        ({"refine": "fit", "positions": np.zeros((10, 2))}, ValueError, "refine"),
        ({"scaling": "minmax"}, ValueError, "scaling"),
        ({"algorithm": "sparse_pca"}, ValueError, "algorithm"),
        ({"algorithm": object()}, TypeError, "algorithm"),
        ({"separation": 0}, ValueError, "separation"),
        ({"separation": True}, TypeError, "separation"),
        ({"edge_margin": -1}, ValueError, "edge_margin"),
        ({"max_deviation": 0}, ValueError, "max_deviation"),
        ({"positions": np.zeros((10, 3))}, ValueError, "positions"),
        ({"positions": np.full((10, 2), np.nan)}, ValueError, "positions"),
        (
            {"positions": np.array([[10.0, 10.0]] * 9 + [[400.0, 3.0]])},
            ValueError,
            "outside",
        ),
        (
            {"positions": np.array([[10.0, 10.0], [20.0, 20.0]])},
            ValueError,
            "positions",
        ),
    ],
)
def test_bad_parameters(lattice, kwargs, exc, word):
    img, _ = lattice
    before = _snapshot(img)
    with pytest.raises(exc, match=word):
        neighborhood_pca(img, **{"n_neighbors": 6, **kwargs})
    after = _snapshot(img)
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1:] == after[1:]


def test_bad_signals():
    with pytest.raises(TypeError, match="image"):
        neighborhood_pca(np.zeros((32, 32)))
    with pytest.raises(ValueError, match="image"):
        neighborhood_pca(hs.signals.Signal1D(np.zeros((4, 32))))
    with pytest.raises(ValueError, match="stack"):
        neighborhood_pca(hs.signals.Signal2D(np.zeros((2, 32, 32))))
    with pytest.raises(TypeError, match="image"):
        neighborhood_pca(hs.signals.Signal2D(np.zeros((32, 32), dtype=complex)))
    nan = np.zeros((32, 32))
    nan[3, 4] = np.nan
    with pytest.raises(ValueError, match="image"):
        neighborhood_pca(hs.signals.Signal2D(nan))


def test_no_atoms_names_the_separation():
    flat = hs.signals.Signal2D(np.zeros((64, 64)))
    with pytest.raises(ValueError, match="separation=5"):
        neighborhood_pca(flat, 6, separation=5)


def test_too_few_complete_neighbourhoods(lattice):
    img, truth = lattice
    xy = truth.positions
    xy = xy[np.hypot(*(xy - 128).T) < 20]  # a small cluster: all on its rim
    with pytest.raises(ValueError, match="complete neighbourhood"):
        neighborhood_pca(img, 6, positions=xy)


def test_bad_component_and_method(result):
    with pytest.raises(ValueError, match="component"):
        result.score_map(3)
    with pytest.raises(ValueError, match="method"):
        result.score_map(0, method="spline")
    with pytest.raises(ValueError, match="component"):
        result.plot(-1)


def test_covariance_pca_estimator_in_blocks_matches_svd(monkeypatch):
    """The default PCA estimator (row blocks, covariance eigenvectors) gives
    the centred SVD's scores, components and variances."""
    import hyperspy_unmix._core.pca as pca

    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 8)) @ rng.normal(size=(8, 8)) + 5.0
    monkeypatch.setattr(pca, "_BLOCK_ROWS", 97)  # 11 uneven blocks
    est = pca.CovariancePCA(3, all_variances=True, blas_threads=1)
    scores = est.fit_transform(X)
    Xc = X - X.mean(axis=0)
    u, s, vt = np.linalg.svd(Xc, full_matrices=False)
    for c in range(3):
        sign = np.sign(vt[c] @ est.components_[c])
        np.testing.assert_allclose(scores[:, c], sign * u[:, c] * s[c], atol=1e-9)
        np.testing.assert_allclose(est.components_[c], sign * vt[c], atol=1e-12)
    np.testing.assert_allclose(est.explained_variance_, s**2 / 999, rtol=1e-10)
    np.testing.assert_allclose(est.transform(X), scores, atol=1e-9)
    assert not hasattr(est, "mean_")  # HyperSpy would add it back into the data


# (found in review of 0.1)
def test_neighborhood_result_saves_without_writer_errors(tmp_path, caplog):
    img, _ = hu.data.distorted_lattice((128, 128), random_state=0)
    res = hu.neighborhood_pca(
        img, 6, n_components=2, random_state=np.random.RandomState(0)
    )
    path = tmp_path / "pca.hspy"
    with caplog.at_level(logging.ERROR):
        res.save(path)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    back = type(res).load(path)
    assert back.parameters["random_state"].startswith("RandomState")
    assert back.parameters["algorithm"] == res.parameters["algorithm"]
    np.testing.assert_array_equal(back.scores, res.scores)
