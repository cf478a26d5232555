"""The reduction's routes (`svd_solver`) through the whole pipeline.

References: the ground truth of the generators, and the exact covariance
route of the same call (the randomised solver's own accuracy against brute
force is in tests/_core/test_randomized.py).
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


def used(res):
    return res.abundances.metadata.hyperspy_unmix.parameters.svd_solver_used


def accuracy(res, truth):
    """Mean spectral angle (rad) and abundance RMSE against the truth."""
    E = res.endmembers.data.reshape(len(res.endmembers.data), -1)
    T = truth.endmembers
    a = E / np.linalg.norm(E, axis=1, keepdims=True)
    b = T / np.linalg.norm(T, axis=1, keepdims=True)
    ang = np.arccos(np.clip(a @ b.T, -1, 1))
    r, c = linear_sum_assignment(ang)
    A = res.abundances.data.reshape(len(E), -1)[r]
    At = truth.abundances.reshape(len(T), -1)[c]
    return ang[r, c].mean(), np.sqrt(np.mean((A - At) ** 2))


@pytest.fixture(scope="module")
def wide_map():
    # 2048 channels: a map where the randomised route is worth it
    return spectrum_image((48, 48), 2048, 4, 2e4, random_state=3)


@pytest.mark.parametrize("solver", ["randomized", "gram"])
def test_routes_match_the_exact_covariance(wide_map, solver):
    s, truth = wide_map
    exact = hu.nfindr_unmix(s, 4, svd_solver="covariance", outliers=None)
    other = hu.nfindr_unmix(s, 4, svd_solver=solver, outliers=None)
    assert used(exact) == "covariance" and used(other) == solver
    # the same pixels, and the accuracy against the truth within 1 %
    np.testing.assert_array_equal(other.indices, exact.indices)
    ang0, rmse0 = accuracy(exact, truth)
    ang1, rmse1 = accuracy(other, truth)
    assert abs(ang1 - ang0) <= 0.01 * ang0
    assert abs(rmse1 - rmse0) <= 0.01 * rmse0
    A = other.abundances.data
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-9)


def test_auto_picks_randomized_for_many_channels_and_is_as_accurate():
    img, _ = hu.data.multiphase_lattice((512, 512), random_state=0)
    stack = hu.sliding_fft(img, 64, 16, show_progressbar=False)
    auto = hu.nfindr_unmix(stack, 2, outliers=None)
    exact = hu.nfindr_unmix(stack, 2, outliers=None, svd_solver="covariance")
    assert used(auto) == "randomized"
    np.testing.assert_array_equal(auto.indices, exact.indices)
    np.testing.assert_allclose(auto.abundances.data, exact.abundances.data, atol=1e-3)


def test_unseeded_randomized_runs_repeat(wide_map):
    s, _ = wide_map
    a = hu.nfindr_unmix(s, 4, svd_solver="randomized")
    b = hu.nfindr_unmix(s, 4, svd_solver="randomized")
    np.testing.assert_array_equal(a.abundances.data, b.abundances.data)


def test_lazy_randomized_equals_in_memory(wide_map):
    s, _ = wide_map
    eager = hu.nfindr_unmix(s, 4, svd_solver="randomized", random_state=1)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((16, 24, 2048))
    res = hu.nfindr_unmix(
        lazy, 4, svd_solver="randomized", random_state=1, lazy_output=False
    )
    assert used(res) == "randomized"
    np.testing.assert_array_equal(res.indices, eager.indices)
    np.testing.assert_allclose(res.abundances.data, eager.abundances.data, atol=1e-5)


def test_randomized_with_masks_and_poisson_weighting():
    s, truth = spectrum_image((48, 48), 1024, 3, 3e3, random_state=0)
    nav = np.zeros((48, 48), dtype=bool)
    nav[:4] = True
    sig = np.zeros(1024, dtype=bool)
    sig[:16] = True
    kw = dict(
        navigation_mask=nav,
        signal_mask=sig,
        normalize_poissonian_noise=True,
        outliers=None,
    )
    exact = hu.nfindr_unmix(s, 3, svd_solver="covariance", **kw)
    fast = hu.nfindr_unmix(s, 3, svd_solver="randomized", **kw)
    lazy = hu.nfindr_unmix(s.as_lazy(), 3, svd_solver="randomized", **kw)
    np.testing.assert_array_equal(fast.indices, exact.indices)
    np.testing.assert_array_equal(lazy.indices, exact.indices)
    np.testing.assert_allclose(fast.abundances.data, exact.abundances.data, atol=2e-3)
    # a numpy navigation mask is x first, as in HyperSpy: columns 0:4
    assert np.isnan(fast.abundances.data[:, :, :4]).all()


def test_randomized_is_scale_safe(wide_map):
    # float32 products of finite data near the float32 limit overflow on the
    # randomised route: the scale-safe covariance takes over (same pixels)
    s, _ = wide_map
    ref = hu.nfindr_unmix(s, 4, svd_solver="covariance", outliers=None)
    big = s.deepcopy()
    big.data = (big.data * np.float32(2.0**60)).astype(np.float32)
    res = hu.nfindr_unmix(big, 4, svd_solver="randomized", outliers=None)
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.abundances.data, ref.abundances.data, atol=1e-4)


@pytest.fixture(scope="module")
def count_map():
    """A 16 MiB uint8 map (larger than the passes' ~16 MiB blocks)."""
    import hyperspy.api as hs

    rng = np.random.default_rng(0)
    E = (rng.random((3, 1024)) * 10).astype(np.float32)
    A = rng.dirichlet(np.ones(3), 128 * 128).astype(np.float32)
    counts = np.minimum(rng.poisson(A @ E), 255).astype(np.uint8)
    return hs.signals.Signal1D(counts.reshape(128, 128, 1024))


@pytest.mark.parametrize("solver", ["covariance", "randomized"])
def test_integer_maps_are_not_copied_as_float(count_map, solver):
    s8 = count_map
    ref = hu.nfindr_unmix(
        s8._deepcopy_with_new_data(s8.data.astype(np.float32)),
        3,
        svd_solver=solver,
        outliers=None,
    )
    tracemalloc.start()
    try:
        res = hu.nfindr_unmix(s8, 3, svd_solver=solver, outliers=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # measured 1.3-2.1x (blocks of ~16 MiB, as large as this map); a float32
    # copy of the map alone would add 4x
    assert peak < 3 * s8.data.nbytes, (peak, s8.data.nbytes)
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(res.abundances.data, ref.abundances.data, atol=1e-5)


def test_estimator_svd_solver(wide_map):
    s, _ = wide_map
    X = s.data.reshape(-1, 2048)
    exact = hu.NFINDR(4, svd_solver="covariance").fit(X)
    fast = hu.NFINDR(4, svd_solver="randomized", random_state=0).fit(X)
    assert exact.svd_solver_ == "covariance" and fast.svd_solver_ == "randomized"
    np.testing.assert_array_equal(fast.indices_, exact.indices_)
    with pytest.raises(ValueError, match="`svd_solver`"):
        hu.NFINDR(4, svd_solver="arpack").fit(X)


def test_bad_svd_solver_values(wide_map):
    s, _ = wide_map
    with pytest.raises(ValueError, match="`svd_solver`"):
        hu.nfindr_unmix(s, 4, svd_solver="arpack")
    with pytest.raises(ValueError, match="`svd_solver`"):
        hu.nfindr_unmix(s, 4, svd_solver=3)
    with pytest.raises(ValueError, match='`svd_solver`="randomized" needs a given'):
        hu.nfindr_unmix(s, "auto", svd_solver="randomized")
    with pytest.raises(ValueError, match='`svd_solver`="gram" needs the data in'):
        hu.nfindr_unmix(s.as_lazy(), 4, svd_solver="gram")


def test_auto_count_takes_the_covariance(wide_map):
    s, _ = wide_map
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = hu.nfindr_unmix(s, "auto", outliers=None)
    assert used(res) in ("covariance", "gram")
    assert res.endmembers.data.shape[0] == 4
