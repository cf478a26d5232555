"""Batched abundances against exact per-pixel references."""

from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import nnls

from hyperspy_unmix._core.abundances import projections, solve, unmix


def fcls_reference(x, E):
    """Per-pixel FCLS, exact: augmented-nnls support, then the KKT solve on it.

    ``nnls`` on ``[delta 1^T; E^T] a = [delta; x]`` only approximates the
    sum-to-one constraint (error ~ 1/delta^2), so its support is used and the
    equality-constrained least squares on that support is solved exactly; the
    KKT conditions are then checked, and if they fail every support is tried.
    """
    q = E.shape[0]
    delta = 1e3 * np.sqrt(np.mean(E**2)) * np.sqrt(E.shape[1])
    M = np.vstack([delta * np.ones(q), E.T])
    a0 = nnls(M, np.r_[delta, x])[0]
    supports = [tuple(np.flatnonzero(a0 > 1e-12))] + [
        S for m in range(q, 0, -1) for S in combinations(range(q), m)
    ]
    G, c = E @ E.T, E @ x
    for S in supports:
        S = list(S)
        K = np.zeros((len(S) + 1, len(S) + 1))
        K[:-1, :-1] = G[np.ix_(S, S)]
        K[:-1, -1] = K[-1, :-1] = 1
        sol = np.linalg.solve(K, np.r_[c[S], 1.0])
        a = np.zeros(q)
        a[S] = sol[:-1]
        mu = G @ a - c + sol[-1]
        scale = np.abs(G).max()
        if a.min() >= -1e-12 and np.delete(mu, S).min(initial=0) >= -1e-10 * scale:
            return a
    raise AssertionError("no KKT point found")


@pytest.fixture
def mixed():
    rng = np.random.default_rng(0)
    q, C, n = 4, 60, 400
    E = rng.random((q, C)) * 50 + np.linspace(0, 20, C)
    A = rng.dirichlet(np.ones(q) * 0.7, n)
    X = A @ E + rng.normal(0, 4.0, (n, C))  # noise pushes many pixels outside
    return X, E, A


def test_fcls_matches_exact_per_pixel_reference(mixed):
    X, E, _ = mixed
    A, _ = unmix(X, E, "fcls")
    ref = np.array([fcls_reference(x, E) for x in X])
    np.testing.assert_allclose(A, ref, atol=1e-9)
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(1), 1, atol=1e-12)
    assert (A == 0).any()  # the constraints are active somewhere


def test_fcls_is_optimal_against_random_feasible_points(mixed):
    X, E, _ = mixed
    A, _ = unmix(X[:50], E, "fcls")
    rng = np.random.default_rng(1)
    trial = rng.dirichlet(np.ones(4) * 0.3, 2000)
    for x, a in zip(X[:50], A):
        best = np.sum((x - a @ E) ** 2)
        assert best <= np.min(np.sum((x - trial @ E) ** 2, axis=1)) + 1e-9


def test_nnls_matches_scipy(mixed):
    X, E, _ = mixed
    A, _ = unmix(X, E, "nnls")
    ref = np.array([nnls(E.T, x)[0] for x in X])
    np.testing.assert_allclose(A, ref, atol=1e-9)


def test_nnls_all_zero_solution():
    E = np.array([[1.0, 0.0], [0.0, 1.0]])
    X = np.array([[-1.0, -2.0], [1.0, -1.0]])
    A, _ = unmix(X, E, "nnls")
    np.testing.assert_allclose(A, [[0, 0], [1, 0]], atol=1e-12)


def test_ucls_and_scls_match_lstsq(mixed):
    X, E, _ = mixed
    A, _ = unmix(X, E, "ucls")
    np.testing.assert_allclose(A, np.linalg.lstsq(E.T, X.T, rcond=None)[0].T, atol=1e-9)
    A, _ = unmix(X, E, "scls")
    # Sum-to-one by elimination: a = a0 + N t with N spanning sum(t) = 0.
    q = E.shape[0]
    N = np.vstack([np.eye(q - 1), -np.ones(q - 1)])
    a0 = np.eye(q)[-1]
    t = np.linalg.lstsq(E.T @ N, (X - a0 @ E).T, rcond=None)[0]
    np.testing.assert_allclose(A, (a0[:, None] + N @ t).T, atol=1e-9)


@pytest.mark.parametrize("method", ["fcls", "nnls", "scls", "ucls"])
def test_noise_free_recovery(method, mixed):
    _, E, A_true = mixed
    A, res = unmix(A_true @ E, E, method)
    np.testing.assert_allclose(A, A_true, atol=1e-10)
    assert res.max() < 1e-6 * np.abs(E).max()


@pytest.mark.parametrize("method", ["fcls", "nnls", "scls", "ucls"])
def test_scale_and_dtype_insensitive(method, mixed):
    X, E, _ = mixed
    A, _ = unmix(X, E, method)
    A_big, _ = unmix(X * 1e7, E * 1e7, method)
    A_small, _ = unmix(X * 1e-7, E * 1e-7, method)
    np.testing.assert_allclose(A_big, A, atol=1e-9)
    np.testing.assert_allclose(A_small, A, atol=1e-9)
    X32 = X.astype(np.float32)
    A32, _ = unmix(X32, E, method)
    A64, _ = unmix(X32.astype(np.float64), E, method)
    np.testing.assert_array_equal(A32, A64)  # float32 blocks are converted exactly


def test_integer_data_no_overflow():
    rng = np.random.default_rng(3)
    E = rng.random((3, 500)) * 60000
    A_true = rng.dirichlet(np.ones(3), 200)
    X = np.round(A_true @ E).astype(np.uint16)
    A, _ = unmix(X, E, "fcls")
    ref, _ = unmix(X.astype(np.float64), E, "fcls")
    np.testing.assert_allclose(A, ref, atol=1e-12)


def test_residual_is_rms_error(mixed):
    X, E, _ = mixed
    A, res = unmix(X, E, "fcls")
    direct = np.sqrt(np.mean((X - A @ E) ** 2, axis=1))
    np.testing.assert_allclose(res, direct, rtol=1e-7)


def test_columns_and_blocks(mixed):
    X, E, _ = mixed
    cols = np.arange(10, 50)
    A, res = unmix(X, E[:, cols], "fcls", columns=cols, block_rows=37)
    A2, res2 = unmix(X[:, cols], E[:, cols], "fcls")
    np.testing.assert_allclose(A, A2, atol=1e-12)
    np.testing.assert_allclose(res, res2, rtol=1e-10)
    c, xx = projections(X, E, block_rows=7)
    np.testing.assert_allclose(c, X @ E.T, rtol=1e-12)
    np.testing.assert_allclose(xx, np.sum(X**2, 1), rtol=1e-12)


def test_dependent_endmembers_raise():
    E = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    X = np.ones((4, 3))
    with pytest.raises(ValueError, match="linearly dependent"):
        unmix(X, E, "nnls")
    # Affinely independent (distinct points): sum-to-one abundances are unique.
    A, _ = unmix(X * [1, 2, 3] * 1.5, E, "fcls")
    np.testing.assert_allclose(A, [[0.5, 0.5]] * 4, atol=1e-12)
    with pytest.raises(ValueError, match="affinely dependent"):
        unmix(X, np.vstack([E[0], E[0]]), "fcls")


def test_bad_input():
    E = np.eye(3)
    with pytest.raises(ValueError, match="method"):
        solve(E, np.ones((2, 3)), "lasso")
    with pytest.raises(ValueError, match="share C"):
        unmix(np.ones((2, 4)), E, "fcls")
    with pytest.raises(ValueError, match="all zero"):
        unmix(np.ones((2, 3)), np.zeros((2, 3)), "fcls")


def test_many_endmembers_match_reference():
    rng = np.random.default_rng(5)
    q, C, n = 10, 40, 150
    E = rng.random((q, C)) * 10
    A = rng.dirichlet(np.ones(q) * 0.3, n)
    X = A @ E + rng.normal(0, 0.5, (n, C))
    got, _ = unmix(X, E, "fcls")
    ref = np.array([fcls_reference(x, E) for x in X])
    np.testing.assert_allclose(got, ref, atol=1e-8)
    got_nn, _ = unmix(X, E, "nnls")
    np.testing.assert_allclose(got_nn, [nnls(E.T, x)[0] for x in X], atol=1e-8)


@pytest.mark.parametrize("sum_to_one", [True, False])
def test_active_set_and_enumeration_agree(mixed, sum_to_one):
    from hyperspy_unmix._core import abundances as ab

    X, E, _ = mixed
    G, c = E @ E.T, X @ E.T
    s = np.trace(G) / G.shape[0]
    G, c = G / s, c / s
    n, q = c.shape
    out1, best1 = np.zeros((n, q)), np.full(n, np.inf)
    left = ab._active_set(G, c, sum_to_one, out1, best1)
    assert left.size == 0  # converged for every pixel
    out2, best2 = np.zeros((n, q)), np.full(n, np.inf)
    ab._enumerate(G, c, sum_to_one, out2, best2, np.arange(n))
    np.testing.assert_allclose(out1, out2, atol=1e-10)
    assert best1.max() <= 1e-9 and best2.max() <= 1e-9


def test_row_selection_without_copy(mixed):
    X, E, _ = mixed
    keep = np.random.default_rng(2).random(X.shape[0]) > 0.4
    X_nan = X.copy()
    X_nan[~keep] = np.nan  # left-out rows may hold anything
    A, res = unmix(X_nan, E, "fcls", rows=keep, block_rows=33)
    A2, res2 = unmix(X[keep], E, "fcls")
    np.testing.assert_allclose(A, A2, atol=1e-12)
    np.testing.assert_allclose(res, res2, rtol=1e-10)


# -- the reduction's projections ----------------------------------------------
def _brute_projections(X, V, centre):
    """``[x V^T, x . c, x . 1, x . x]`` in float64, and the squared distance
    of each row to the affine subspace (what residuals are made of)."""
    X = X.astype(np.float64)
    P = np.column_stack([X @ V.T, X @ centre, X.sum(1), (X**2).sum(1)])
    Xc = X - centre
    return P, (Xc**2).sum(1) - ((Xc @ V.T) ** 2).sum(1)


def _subspace_distance(P, V, centre):
    k = V.shape[0]
    s = P[:, :k] - centre @ V.T
    return P[:, k + 2] - 2 * P[:, k] + centre @ centre - (s**2).sum(1)


def _principal(X, k):
    X = X.astype(np.float64)
    centre = X.mean(0)
    return np.linalg.svd(X - centre, full_matrices=False)[2][:k], centre


@pytest.fixture(scope="module")
def noisy_counts():
    """A noisy EELS-like map on a large background (float32 counts)."""
    import hyperspy_unmix as hu

    s, _ = hu.data.spectrum_image(
        (40, 40), 1024, 4, dose=3e3, random_state=5, dtype="float32"
    )
    # plus a flat background of 500 counts per channel
    return s.data.reshape(-1, 1024) + np.float32(500)


def test_reduction_projections_float64_data_are_exact(noisy_counts):
    from hyperspy_unmix._core.abundances import reduction_projections

    X = noisy_counts.astype(np.float64)
    V, c = _principal(X, 3)
    P = reduction_projections(X, V, c)
    ref, dist = _brute_projections(X, V, c)
    np.testing.assert_allclose(P, ref, rtol=1e-12)
    np.testing.assert_allclose(_subspace_distance(P, V, c), dist, rtol=1e-9)


def test_reduction_projections_float32_keep_the_residual(noisy_counts):
    # the background puts |x|^2 ~100x above |x - c|^2: uncentred float32
    # products would err by ~1e-5 |x|^2, far more than the residual's 2e-5
    from hyperspy_unmix._core import abundances as ab

    X = noisy_counts
    V, c = _principal(X, 3)
    P = ab.reduction_projections(X, V, c)
    ref, dist = _brute_projections(X, V, c)
    Xc = X.astype(np.float64) - c
    norm = np.sqrt((Xc**2).sum(1))
    assert np.median((X.astype(np.float64) ** 2).sum(1) / norm**2) > 50
    # rows kept in float32 here (noise dominates the centred spectra)
    assert np.mean(norm**2 / dist <= ab._F32_MAX_RATIO) > 0.9
    np.testing.assert_allclose(_subspace_distance(P, V, c), dist, rtol=2e-5)
    # scores to float32 rounding of the centred spectra; totals relative
    assert np.max(np.abs(P[:, :3] - ref[:, :3]) / norm[:, None]) < 2e-6
    np.testing.assert_allclose(P[:, 4], ref[:, 4], rtol=1e-6)


@pytest.mark.parametrize("probe", [True, False])
def test_reduction_projections_exact_where_float32_is_not_enough(probe, monkeypatch):
    # noiseless mixtures: the residual is rounding, far below float32's
    # error on |x - c|^2. The probe of every 128th row sends the whole call
    # to the float64 products (the same numbers as ``projections``); made to
    # take the float32 sweep anyway, every such row is redone in float64
    from hyperspy_unmix._core import abundances as ab
    from hyperspy_unmix._core.abundances import projections, reduction_projections

    if not probe:
        monkeypatch.setattr(ab, "_F32_MIN_KEPT", 0.0)
    rng = np.random.default_rng(3)
    E = rng.random((3, 200)) * 1e3 + 500
    X = (rng.dirichlet(np.ones(3), 300) @ E).astype(np.float32)
    X[7] += 40 * rng.standard_normal(200).astype(np.float32)  # one noisy row
    V, c = _principal(X, 2)
    P = reduction_projections(X, V, c)
    ref, dist = _brute_projections(X, V, c)
    got = _subspace_distance(P, V, c)
    xx = ref[:, -1]
    np.testing.assert_allclose(got, dist, rtol=2e-5, atol=1e-13 * xx.max())
    W = np.vstack([V, c, np.ones_like(c)])
    exact = np.column_stack(projections(X, W, norms=True))
    same = np.all(P == exact, axis=1)
    assert same[np.arange(len(X)) != 7].all()  # probed or redone: float64
    assert same[7] or not probe


@pytest.mark.parametrize("scale", [1e30, 1e-30, 1e-20])
def test_reduction_projections_at_the_ends_of_float32(noisy_counts, scale):
    # squares overflow float32 past ~1e19 and lose digits below ~1e-19:
    # those rows in float64, quietly
    import warnings

    from hyperspy_unmix._core.abundances import reduction_projections

    X = (noisy_counts[:200] * np.float32(scale)).astype(np.float32)
    V, c = _principal(X, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = reduction_projections(X, V, c)
    ref, dist = _brute_projections(X, V, c)
    np.testing.assert_allclose(_subspace_distance(P, V, c), dist, rtol=2e-5)
    np.testing.assert_allclose(P[:, 3:], ref[:, 3:], rtol=1e-6)


def test_reduction_projections_rows_columns_and_integers(noisy_counts):
    from hyperspy_unmix._core.abundances import reduction_projections

    X = np.clip(np.round(noisy_counts[:500] / 40), 0, 255).astype(np.uint8)
    cols = np.arange(3, 1000, 2)
    rows = np.zeros(len(X), bool)
    rows[::3] = True
    V, c = _principal(X[:, cols], 3)
    whole = reduction_projections(X[:, cols].astype(np.float32), V, c)
    # integers convert exactly: the same numbers as float32 data
    np.testing.assert_array_equal(
        reduction_projections(X, V, c, columns=cols, rows=rows, block_rows=17),
        whole[rows],
    )
    bad = noisy_counts[:50].copy()
    bad[4, 9] = np.nan
    Vb, cb = _principal(noisy_counts[:50], 3)
    P = reduction_projections(bad, Vb, cb)
    assert np.isnan(P[4]).any() and np.isfinite(np.delete(P, 4, axis=0)).all()


def test_float32_probe_spreads_over_the_rows():
    # one image column (every 128th row of a 128-pixel-wide map) needs the
    # float64 products, the rest do not: a strided probe would see only that
    # column and send the whole map to float64
    from hyperspy_unmix._core import abundances as ab

    rng = np.random.default_rng(4)
    E = rng.random((3, 300)) * 100 + 50
    X = rng.dirichlet(np.ones(3), 128 * 64) @ E
    noisy = np.arange(len(X)) % 128 != 0
    X[noisy] += 20 * rng.standard_normal((noisy.sum(), 300))
    X = X.astype(np.float32)
    V, c = _principal(X, 2)
    assert ab._float32_pays(X, V, c, None, None)
    assert not ab._float32_pays(X[~noisy], V, c, None, None)
    # and among the used rows of a mask
    assert not ab._float32_pays(X, V, c, None, ~noisy)
