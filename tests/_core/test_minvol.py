"""Minimum-volume simplex refinement against ground truth generated here."""

import numpy as np
import pytest
from scipy.optimize import approx_fprime, linear_sum_assignment

from hyperspy_unmix._core.minvol import (
    _objective,
    minimum_volume_simplex,
    purity_diagnostic,
    simplex_volume,
)
from hyperspy_unmix._core.simplex import nfindr
from hyperspy_unmix.data import spectrum_image

N_CHANNELS = 128


def true_endmembers(q):
    """The package's EELS-like endmember spectra (unit dose), (q, channels)."""
    _, truth = spectrum_image((16, 16), N_CHANNELS, q, dose=None, random_state=0)
    return np.array(truth.endmembers)


def abundances(n, q, rng, max_purity):
    """Uniform Dirichlet mixtures; ``max_purity < 1`` rejects the purer ones,
    so the data fill the faces but not the corners. With ``max_purity == 1``
    the first ``q`` pixels are pure."""
    keep = np.empty((0, q))
    while keep.shape[0] < n:
        a = rng.dirichlet(np.ones(q), 2 * n)
        keep = np.vstack([keep, a[a.max(axis=1) <= max_purity]])
    a = keep[:n]
    if max_purity >= 1:
        a[:q] = np.eye(q)
    return a


def pca(X, q):
    """Centred scores (n, q - 1), centre (C,), loadings (q - 1, C)."""
    centre = X.mean(axis=0)
    Xc = X - centre
    _, vecs = np.linalg.eigh(Xc.T @ Xc)
    V = vecs[:, ::-1][:, : q - 1].T
    return Xc @ V.T, centre, V


def mean_angle(estimate, truth):
    """Mean spectral angle (degrees) after the optimal matching."""
    a = estimate / np.linalg.norm(estimate, axis=1, keepdims=True)
    b = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    angles = np.degrees(np.arccos(np.clip(a @ b.T, -1.0, 1.0)))
    rows, cols = linear_sum_assignment(angles)
    return angles[rows, cols].mean()


def mixed_map(q, n, max_purity, dose, seed):
    rng = np.random.default_rng(seed)
    E = true_endmembers(q)
    if dose is not None:
        E = E * dose
    A = abundances(n, q, rng, max_purity)
    X = A @ E
    if dose is not None:
        X = rng.poisson(X).astype(float)
    return X, E, A


def nfindr_vs_minvol(X, E, q, **kwargs):
    Y, centre, V = pca(X, q)
    start = Y[nfindr(Y, q).indices]
    res = minimum_volume_simplex(Y, start, random_state=0, **kwargs)
    return (
        mean_angle(centre + start @ V, E),
        mean_angle(centre + res.vertices @ V, E),
        res,
    )


# dose 1e5 counts per spectrum over 128 channels: about 800 counts per channel
@pytest.mark.parametrize("q", [3, 4])
def test_no_pure_pixels_at_least_twice_closer_than_nfindr(q):
    X, E, _ = mixed_map(q, 8000, 0.8, 1e5, seed=q)
    angle_nf, angle_mv, res = nfindr_vs_minvol(X, E, q)
    assert angle_mv * 2 <= angle_nf, (angle_nf, angle_mv)
    assert res.converged
    assert not res.purity.pure_pixels
    # the purest pixels hold 80 % of one endmember: that is what it sees
    np.testing.assert_allclose(res.purity.purity, 0.8, atol=0.06)
    assert res.volume_ratio > 1.3


@pytest.mark.parametrize("q", [3, 4])
def test_pure_pixels_not_worse_than_nfindr(q):
    # uniform mixtures plus one pure pixel per endmember
    X, E, _ = mixed_map(q, 8000, 1.0, 1e5, seed=10 + q)
    angle_nf, angle_mv, res = nfindr_vs_minvol(X, E, q)
    assert angle_mv <= 1.05 * angle_nf, (angle_nf, angle_mv)
    # a single noisy pure pixel per endmember: the corners are (nearly) reached
    assert res.purity.purity.min() > 0.85


@pytest.mark.parametrize("q", [3, 4])
def test_package_map_with_pure_patches_not_worse(q):
    s, truth = spectrum_image((48, 48), N_CHANNELS, q, random_state=q)
    X = s.data.reshape(-1, N_CHANNELS).astype(float)
    angle_nf, angle_mv, res = nfindr_vs_minvol(X, np.array(truth.endmembers), q)
    assert angle_mv <= 1.05 * angle_nf, (angle_nf, angle_mv)
    assert res.purity.pure_pixels


@pytest.mark.parametrize("q", [3, 4])
def test_noise_free_recovers_the_true_simplex(q):
    X, E, A = mixed_map(q, 4000, 0.7, None, seed=20 + q)
    Y, centre, V = pca(X, q)
    start = Y[nfindr(Y, q).indices]
    res = minimum_volume_simplex(Y, start, random_state=0)
    true_vertices = (E - centre) @ V.T
    # match the vertices to the true ones, then compare them in the scores
    cost = np.linalg.norm(res.vertices[:, None] - true_vertices[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    size = np.linalg.norm(true_vertices - true_vertices.mean(0), axis=1).max()
    assert cost[rows, cols].max() < 0.02 * size
    assert mean_angle(centre + res.vertices @ V, E) < 0.1
    assert mean_angle(centre + start @ V, E) > 1.0  # N-FINDR is far off here
    # the volume is the true one; and the purest pixels are 70 % pure
    assert res.volume == pytest.approx(simplex_volume(true_vertices), rel=0.03)
    np.testing.assert_allclose(
        np.sort(res.purity.purity), np.sort(A.max(axis=0)), atol=0.04
    )


def test_two_endmembers_segment():
    # q = 2 (d = 1): the simplex is a segment; with pure ends it is the data range
    X, E, _ = mixed_map(2, 2000, 1.0, 1e5, seed=30)
    angle_nf, angle_mv, res = nfindr_vs_minvol(X, E, 2)
    assert res.vertices.shape == (2, 1) and np.all(np.isfinite(res.vertices))
    assert angle_mv <= 1.05 * angle_nf
    Y, _, _ = pca(X, 2)
    span = np.ptp(Y)
    assert abs(res.volume - span) < 0.05 * span


def test_purity_diagnostic_is_the_largest_abundance_under_the_true_simplex():
    q = 4
    rng = np.random.default_rng(3)
    V = rng.normal(size=(q, q - 1))
    A = abundances(3000, q, rng, 0.75)
    A[0] = [0.1, 0.1, 0.1, 0.7]  # vertex 3 stays below the others
    A[A[:, 3] > 0.7] = 0.25
    diag = purity_diagnostic(A @ V, V)
    np.testing.assert_allclose(diag.purity, A.max(axis=0), atol=1e-12)
    np.testing.assert_allclose(diag.face_fraction, np.mean(A < 0.02, axis=0))
    assert not diag.pure_pixels
    B = abundances(3000, q, rng, 1.0)
    assert purity_diagnostic(B @ V, V).pure_pixels
    # the blur correction lowers the estimate by two standard deviations
    blurred = purity_diagnostic(B @ V, V, blur=np.full(q, 0.01))
    np.testing.assert_allclose(blurred.purity, 0.98, atol=1e-12)


def test_affine_invariance():
    q = 3
    X, E, _ = mixed_map(q, 3000, 0.8, 1e5, seed=5)
    Y, _, _ = pca(X, q)
    start = Y[nfindr(Y, q).indices]
    M = np.array([[2.0, 0.5], [-0.3, 0.7]])
    shift = np.array([10.0, -4.0])
    res = minimum_volume_simplex(Y, start, random_state=1)
    moved = minimum_volume_simplex(Y @ M + shift, start @ M + shift, random_state=1)
    size = np.ptp(res.vertices @ M)
    # equal up to the optimiser's tolerance and the histogram of the edge fit
    np.testing.assert_allclose(
        moved.vertices, res.vertices @ M + shift, atol=3e-3 * size
    )


def test_deterministic_and_subsample_matches_full_data():
    q = 3
    X, E, _ = mixed_map(q, 6000, 0.8, 1e5, seed=6)
    Y, centre, V = pca(X, q)
    start = Y[nfindr(Y, q).indices]
    a = minimum_volume_simplex(Y, start, max_points=1500, random_state=7)
    b = minimum_volume_simplex(Y, start, max_points=1500, random_state=7)
    np.testing.assert_array_equal(a.vertices, b.vertices)
    full = minimum_volume_simplex(Y, start, random_state=7)
    assert (
        mean_angle(centre + a.vertices @ V, E)
        < 2 * mean_angle(centre + full.vertices @ V, E) + 0.05
    )


def test_hinge_stage_encloses_the_data():
    # without the edge fit, the hinge optimum leaves about d / tau outside
    q = 4
    X, _, _ = mixed_map(q, 5000, 0.8, 1e5, seed=8)
    Y, _, _ = pca(X, q)
    start = Y[nfindr(Y, q).indices]
    res = minimum_volume_simplex(
        Y, start, tau=1000.0, edge_fit=False, keep_pure=False, random_state=0
    )
    Aug = np.vstack([np.ones(q), res.vertices.T])
    B = np.linalg.solve(Aug, np.vstack([np.ones(len(Y)), Y.T])).T
    assert np.mean(B.min(axis=1) < -1e-3) < 0.02
    assert res.start_volume < res.volume


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(9)
    q, d = 4, 3
    Z = np.hstack([np.ones((500, 1)), rng.normal(size=(500, d))])
    x = (rng.normal(size=(q, d)) * 1.2).ravel()
    f, g = _objective(x, Z, 50.0 / 500, q, d)
    num = approx_fprime(x, lambda v: _objective(v, Z, 50.0 / 500, q, d)[0], 1e-7)
    np.testing.assert_allclose(g, num, rtol=1e-4, atol=1e-4)


def test_bad_inputs_name_the_parameter():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(200, 2))
    V = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="`vertices`"):
        minimum_volume_simplex(Y, V[:, :1])
    with pytest.raises(ValueError, match="`vertices`"):
        minimum_volume_simplex(Y, np.vstack([V, V[:1]]))
    with pytest.raises(ValueError, match="`Y`"):
        minimum_volume_simplex(Y[:, 0], V)
    Ynan = Y.copy()
    Ynan[3, 1] = np.nan
    with pytest.raises(ValueError, match="`Y`.*NaN"):
        minimum_volume_simplex(Ynan, V)
    with pytest.raises(ValueError, match="`vertices`.*NaN"):
        minimum_volume_simplex(Y, np.where(V == 1.0, np.inf, V))
    with pytest.raises(ValueError, match="`vertices`.*degenerate"):
        minimum_volume_simplex(Y, np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match="`Y`.*spread"):
        minimum_volume_simplex(np.outer(Y[:, 0], [1.0, 2.0]), V)
    with pytest.raises(ValueError, match="`Y`.*points"):
        minimum_volume_simplex(Y[:3], V)
    with pytest.raises(TypeError, match="`Y`"):
        minimum_volume_simplex(Y.astype(complex), V)
    with pytest.raises(ValueError, match="`tau`"):
        minimum_volume_simplex(Y, V, tau=0.0)
    with pytest.raises(TypeError, match="`max_iter`"):
        minimum_volume_simplex(Y, V, max_iter=2.5)
    with pytest.raises(ValueError, match="`tol`"):
        minimum_volume_simplex(Y, V, tol=-1.0)
    with pytest.raises(TypeError, match="`random_state`"):
        minimum_volume_simplex(Y, V, random_state="seed")
    with pytest.raises(TypeError, match="`edge_fit`"):
        minimum_volume_simplex(Y, V, edge_fit="yes")
    with pytest.raises(ValueError, match="`blur`"):
        purity_diagnostic(Y, V, blur=[0.1])
    with pytest.raises(ValueError, match="`vertices`.*degenerate"):
        purity_diagnostic(Y, np.zeros((3, 2)))
