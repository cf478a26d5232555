"""N-FINDR volume search and ATGP against ground truth and a brute-force loop."""

from math import factorial

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from hyperspy_unmix._core.simplex import atgp, nfindr, simplex_volume


def classic_nfindr(Y, start, max_iter=100):
    """The classic loop: one determinant per pixel and vertex (pysptools style)."""
    q = Y.shape[1] + 1
    idx = list(start)
    T = np.ones((q, q))
    for k in range(q):
        T[1:, k] = Y[idx[k]]
    vol = abs(np.linalg.det(T))
    for _ in range(max_iter):
        changed = False
        for k in range(q):
            for p in range(Y.shape[0]):
                T[1:, k] = Y[p]
                v = abs(np.linalg.det(T))
                if v > vol * (1 + 1e-10):
                    vol, idx[k], changed = v, p, True
            T[1:, k] = Y[idx[k]]
        if not changed:
            break
    return np.array(idx)


def simplex_data(q, n, rng, spread=1.0):
    """Points inside a random simplex whose q vertices are among them."""
    V = rng.normal(size=(q, q - 1)) * spread
    A = rng.dirichlet(np.ones(q), n)
    Y = A @ V
    where = rng.choice(n, q, replace=False)
    Y[where] = V
    return Y, V, where


@pytest.mark.parametrize("q", [2, 3, 4, 6])
def test_finds_the_planted_vertices(q):
    rng = np.random.default_rng(q)
    Y, V, where = simplex_data(q, 400, rng)
    res = nfindr(Y, q)
    assert sorted(res.indices.tolist()) == sorted(where.tolist())
    assert res.converged
    assert res.volume == pytest.approx(
        abs(np.linalg.det(np.vstack([np.ones(q), V.T]))) / factorial(q - 1)
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("init", ["atgp", "random"])
def test_same_pixels_as_the_per_pixel_determinant_loop(seed, init):
    # Noisy cloud: the vertices are not obvious and several sweeps are needed.
    rng = np.random.default_rng(seed)
    Y = rng.normal(size=(300, 3)) * [1.0, 2.0, 0.5] + rng.standard_t(3, size=(300, 3))
    start = (
        atgp(Y, 4)
        if init == "atgp"
        else np.random.RandomState(seed).choice(300, 4, replace=False)
    )
    ours = nfindr(Y, 4, init=start)
    ref = classic_nfindr(Y, start)
    np.testing.assert_array_equal(ours.indices, ref)


def test_volume_matches_convex_hull_of_the_vertices():
    rng = np.random.default_rng(5)
    Y = rng.normal(size=(200, 3))
    res = nfindr(Y, 4)
    assert res.volume == pytest.approx(ConvexHull(Y[res.indices]).volume, rel=1e-10)
    assert res.volume == pytest.approx(simplex_volume(Y[res.indices]))


def test_local_optimum_no_single_swap_improves():
    rng = np.random.default_rng(6)
    Y = rng.normal(size=(150, 2))
    res = nfindr(Y, 3)
    best = simplex_volume(Y[res.indices])
    for k in range(3):
        for p in range(Y.shape[0]):  # brute force over every single swap
            idx = res.indices.copy()
            idx[k] = p
            assert simplex_volume(Y[idx]) <= best * (1 + 1e-9)


def test_affine_invariance():
    rng = np.random.default_rng(7)
    Y = rng.normal(size=(250, 3))
    M = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    a = nfindr(Y, 4).indices
    b = nfindr(1e6 * (Y @ M) + 42.0, 4).indices
    np.testing.assert_array_equal(a, b)


def test_atgp_first_target_is_farthest_and_targets_independent():
    rng = np.random.default_rng(8)
    Y = rng.normal(size=(100, 3))
    idx = atgp(Y, 4)
    Z = (Y - Y.mean(0)) / Y.std(0)
    assert idx[0] == np.argmax(np.linalg.norm(Z, axis=1))
    assert len(set(idx.tolist())) == 4
    assert simplex_volume(Y[idx]) > 0


def test_random_init_is_seeded_and_keeps_largest_volume():
    rng = np.random.default_rng(9)
    Y = rng.standard_t(2, size=(200, 2))
    a = nfindr(Y, 3, init="random", n_init=4, random_state=3)
    b = nfindr(Y, 3, init="random", n_init=4, random_state=3)
    np.testing.assert_array_equal(a.indices, b.indices)
    # The same four starts run one at a time: the kept volume is their largest.
    rs = np.random.RandomState(3)
    starts = [rs.choice(200, 3, replace=False) for _ in range(4)]
    vols = [nfindr(Y, 3, init=s).volume for s in starts]
    assert a.volume == pytest.approx(max(vols))


def test_max_iter_limits_sweeps():
    rng = np.random.default_rng(10)
    Y = rng.normal(size=(500, 3))
    res = nfindr(Y, 4, init="random", random_state=0, max_iter=1)
    assert res.n_iter == 1
    full = nfindr(Y, 4, init="random", random_state=0)
    assert full.volume >= res.volume


def test_rank_deficient_data_raise():
    rng = np.random.default_rng(11)
    t = rng.normal(size=(50, 1))
    Y = np.hstack([t, 2 * t])  # collinear: a 2-D simplex cannot be found
    with pytest.raises(ValueError, match="rank"):
        nfindr(Y, 3)
    with pytest.raises(ValueError, match="rank"):
        atgp(Y, 3)
    flat = np.hstack([t, np.ones_like(t)])
    with pytest.raises(ValueError, match="rank"):
        nfindr(flat, 3)


def test_degenerate_random_start_and_given_start():
    Y = np.zeros((40, 2))
    Y[:3] = [[0, 0], [1, 0], [0, 1]]  # 37 coincident points, 3 distinct
    # Random starts almost always draw coincident points.
    with pytest.raises(ValueError, match="degenerate"):
        nfindr(Y, 3, init="random", random_state=0)
    with pytest.raises(ValueError, match="degenerate"):
        nfindr(Y, 3, init=np.array([3, 4, 5]))
    assert sorted(nfindr(Y, 3).indices.tolist()) == [0, 1, 2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_endmembers": 1}, "n_endmembers"),
        ({"Y": np.zeros((10, 3)), "n_endmembers": 3}, "Y"),
        ({"Y": np.zeros((2, 2)), "n_endmembers": 3}, "pixels"),
        ({"init": "kmeans"}, "init"),
        ({"init": np.array([0, 0, 1])}, "init"),
        ({"init": np.array([0, 1, 500])}, "init"),
    ],
)
def test_bad_input(kwargs, match):
    rng = np.random.default_rng(12)
    args = {"Y": rng.normal(size=(30, 2)), "n_endmembers": 3}
    args.update(kwargs)
    Y = args.pop("Y")
    q = args.pop("n_endmembers")
    with pytest.raises(ValueError, match=match):
        nfindr(Y, q, **args)


def test_non_finite_raise():
    Y = np.random.default_rng(0).normal(size=(30, 2))
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        nfindr(Y, 3)
