"""The covariance estimated from a fixed pseudo-random subset of the pixels."""

import dask.array as da
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix._core.blockwise import lazy_moments
from hyperspy_unmix._core.pca import CovariancePCA, pca_sample, sample_fraction
from hyperspy_unmix.data import spectrum_image


@pytest.fixture(scope="module")
def noisy():
    s, truth = spectrum_image((40, 52), 64, 3, dose=1e4, random_state=4)
    return s, truth


def test_sample_is_a_fixed_uniform_subset():
    idx = np.arange(200_000)
    picked = pca_sample(idx, 0.1)
    # the size of a Bernoulli(0.1) sample: within 5 standard deviations
    assert abs(picked.sum() - 20_000) < 5 * np.sqrt(200_000 * 0.1 * 0.9)
    # depends on the index alone: any subset of indices agrees
    np.testing.assert_array_equal(
        pca_sample(idx[12345:23456], 0.1), picked[12345:23456]
    )
    # no stride: every residue of a small period is sampled alike (a lattice
    # period of the map cannot alias with the sample)
    for period in (2, 3, 4, 7, 8, 64):
        per_phase = np.bincount(idx[picked] % period, minlength=period) / (
            200_000 / period
        )
        sigma = np.sqrt(0.1 * 0.9 / (200_000 / period))
        np.testing.assert_allclose(per_phase, 0.1, atol=5 * sigma)
    assert pca_sample(idx, 1.0).all()
    assert not pca_sample(idx, 0.0).any()


def test_sample_fraction():
    assert sample_fraction(10, None) == 1.0
    assert sample_fraction(10, 10) == 1.0
    assert sample_fraction(40, 10) == 0.25


def test_estimator_rows_equal_fit_on_those_rows():
    rng = np.random.default_rng(0)
    X = 50 + rng.normal(size=(3000, 20)) @ rng.normal(size=(20, 20))
    rows = np.flatnonzero(pca_sample(np.arange(3000), 0.3))
    sub = CovariancePCA(4, rows=rows).fit(X)
    ref = CovariancePCA(4).fit(X[rows])
    np.testing.assert_allclose(sub.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(sub.centre_, ref.centre_, rtol=1e-12)
    np.testing.assert_allclose(sub.variance, ref.variance, rtol=1e-10)
    # every row is still projected
    assert sub.transform(X).shape == (3000, 4)


@pytest.mark.parametrize("chunks", [(4, 52), (7, 13)])
def test_lazy_moments_use_the_same_pixels(noisy, chunks):
    s, _ = noisy
    data = s.data.astype(np.float64)
    n = 40 * 52
    f = 0.2
    rows = np.flatnonzero(pca_sample(np.arange(n), f))
    flat = data.reshape(n, 64)
    shift = flat[:10].mean(0)
    m = lazy_moments(
        da.from_array(data, chunks=(*chunks, 64)), shift=shift, fraction=f
    ).compute()
    used = flat[rows] - shift
    assert m[0, 0] == len(rows)
    np.testing.assert_allclose(m[1], used.sum(0), rtol=1e-10)
    np.testing.assert_allclose(m[2:], used.T @ used, rtol=1e-10)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("estimate", ["pixel", "denoised"])
def test_lazy_equals_in_memory_with_a_sample(noisy, masked, estimate):
    s, _ = noisy
    kw = {"endmember_estimate": estimate, "max_pca_pixels": 400}
    if masked:
        nav = np.zeros(s.axes_manager.navigation_shape, bool)
        nav[3:9, 20:25] = True
        nav[50, 2] = True
        kw["navigation_mask"] = nav
    eager = hu.nfindr_unmix(s, 3, **kw)
    sl = s.as_lazy()
    sl.rechunk(nav_chunks=(9, 13))  # uneven over both navigation axes
    lazy = hu.nfindr_unmix(sl, 3, **kw)
    np.testing.assert_array_equal(lazy.indices, eager.indices)
    np.testing.assert_allclose(lazy.endmembers.data, eager.endmembers.data, rtol=1e-6)
    np.testing.assert_allclose(
        lazy.abundances.data.compute(), eager.abundances.data, atol=1e-6, equal_nan=True
    )
    # a sample really was used: the subspace differs from the all-pixel one
    full = hu.nfindr_unmix(s, 3, endmember_estimate="denoised", max_pca_pixels=None)
    sampled = hu.nfindr_unmix(s, 3, endmember_estimate="denoised", max_pca_pixels=400)
    assert not np.allclose(full.endmembers.data, sampled.endmembers.data, rtol=1e-9)


def test_sampled_endmembers_as_accurate_as_all_pixels():
    # 96 x 96 = 9216 pixels, a 10 % sample: the denoised endmembers stay
    # within 10 % of the spectral angle reached with every pixel
    s, truth = spectrum_image((96, 96), 128, 4, dose=2e4, random_state=5)
    E = truth.endmembers

    def angle(res):
        from scipy.optimize import linear_sum_assignment

        f = res.endmembers.data / np.linalg.norm(res.endmembers.data, axis=1)[:, None]
        t = E / np.linalg.norm(E, axis=1)[:, None]
        ang = np.arccos(np.clip(f @ t.T, -1, 1))
        r, c = linear_sum_assignment(ang)
        return ang[r, c].mean()

    full = angle(hu.nfindr_unmix(s, 4, endmember_estimate="denoised"))
    sampled = angle(
        hu.nfindr_unmix(s, 4, endmember_estimate="denoised", max_pca_pixels=1000)
    )
    assert sampled < 1.1 * full


def test_nan_outside_the_sample_is_still_refused(noisy):
    s, _ = noisy
    bad = s.deepcopy()
    n = 40 * 52
    outside = np.flatnonzero(~pca_sample(np.arange(n), 400 / n))[7]
    bad.data.reshape(n, -1)[outside, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        hu.nfindr_unmix(bad.as_lazy(), 3, max_pca_pixels=400)
    with pytest.raises(ValueError, match="NaN"):
        hu.nfindr_unmix(bad, 3, max_pca_pixels=400)


@pytest.mark.parametrize("bad", [0, 99, 2.5, "all"])
def test_bad_max_pca_pixels(noisy, bad):
    s, _ = noisy
    with pytest.raises((TypeError, ValueError), match="max_pca_pixels"):
        hu.nfindr_unmix(s, 3, max_pca_pixels=bad)


def test_recorded_in_the_parameters(noisy):
    s, _ = noisy
    res = hu.nfindr_unmix(s, 3, max_pca_pixels=500)
    node = res.endmembers.metadata.hyperspy_unmix
    assert "500" in str(node)


@pytest.mark.parametrize(
    "numblocks, channels",
    [((288, 1), 512), ((32, 32), 1024), ((32, 32), 4096), ((5,), 64), ((4, 4, 4), 8)],
)
def test_moment_tree_fan_in_is_bounded(numblocks, channels):
    # an int split_every of 8 per axis made 8 x 8 = 64 sums of (C+2) x C
    # float64 in one task on 2-D block grids (538 MB at C = 1024): workers died
    from hyperspy_unmix._core.blockwise import _fan_in

    factors = _fan_in(numblocks, channels)
    assert set(factors) == set(range(len(numblocks)))
    assert all(f >= 2 for f in factors.values())
    several = [i for i, n in enumerate(numblocks) if n > 1]
    fan = int(np.prod([factors[i] for i in several]))
    block = (channels + 2) * channels * 8
    assert fan <= max(8, 2 ** len(several))
    assert fan * block <= max(1 << 28, 2 ** len(several) * block)


def test_lazy_moments_on_a_two_dimensional_block_grid():
    rng = np.random.default_rng(1)
    data = rng.random((64, 48, 6))
    flat = data.reshape(-1, 6)
    shift = flat[:5].mean(0)
    m = lazy_moments(da.from_array(data, chunks=(4, 3, 6)), shift=shift).compute()
    used = flat - shift
    assert m[0, 0] == 64 * 48
    np.testing.assert_allclose(m[2:], used.T @ used, rtol=1e-10)
