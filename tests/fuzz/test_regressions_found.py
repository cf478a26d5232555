"""Examples the property-based suite found, as plain regression tests.

Each test is the smallest input found for one defect. Defects fixed in this
change pass; the others (in modules owned elsewhere) are strict xfails with
the reason, so the suite stays green until the fix lands and then asks for
the marker to be removed. ``fuzz_helpers.known_defect`` / ``KNOWN_MESSAGES``
let the generated tests skip those cases meanwhile (ids D1-D8).
"""

import warnings

import dask
import hyperspy.api as hs
import numpy as np
import pytest
from fuzz_helpers import lattice, mixture, two_phase

import hyperspy_unmix as hu

pytestmark = pytest.mark.fuzz


def _map(nav=(7, 8), C=12, q=3, seed=3, dtype=np.float32, scale=100.0):
    X, _, _, pure = mixture(seed, nav, C, q, noise=1e-3)
    return hs.signals.Signal1D((np.abs(X) * scale).astype(dtype)), pure


# -- fixed here (_core/pca.py, _core/blockwise.py) ---------------------------------
@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("scale", [1e15, 1e20, 1e-30])
def test_float32_at_extreme_scale_same_pixels(lazy, scale):
    # was: "contains NaN or infinite values" at 1e15 (a float32 Gram sum
    # overflowed), another pixel chosen at 1e-30 (the squares underflowed)
    s, pure = _map(nav=(9, 8), C=16)
    ref = hu.nfindr_unmix(s, 3, outliers=None, endmember_estimate="pixel")
    t = s._deepcopy_with_new_data((s.data * np.float32(scale)).astype(np.float32))
    res = hu.nfindr_unmix(
        t.as_lazy() if lazy else t, 3, outliers=None, endmember_estimate="pixel"
    )
    np.testing.assert_array_equal(res.indices, ref.indices)
    assert sorted(np.ravel_multi_index(tuple(res.indices.T), (9, 8))) == sorted(pure)
    np.testing.assert_allclose(
        np.asarray(res.abundances.data), ref.abundances.data, atol=1e-5
    )


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_non_finite_lazy_data_no_runtime_warning(value):
    # was: "invalid value encountered in reduce/subtract" (inf - inf in the
    # shifted blocks and in dask's tree sum of the moments) before the error
    X, _, _, _ = mixture(0, (7, 3), 4, 2)
    X = X * 1e22
    X[6, 2, 3] = value
    s = hs.signals.Signal1D(X).as_lazy()
    s.data = s.data.rechunk((1, 1, -1))
    with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="`signal` contains NaN or infinite"):
            hu.nfindr_unmix(s, 2, random_state=0)


def test_nan_in_first_block_outside_the_sample_is_reported_as_nan():
    # an intermediate version of the scale fix took max(|x|, nan) for a finite
    # scale and reported such data as "too large"
    s, _ = _map(nav=(40, 30), C=8)
    s.data[0, 0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        hu.nfindr_unmix(s.as_lazy(), 3, max_pca_pixels=300)


# -- not fixed (modules owned elsewhere): strict xfails ------------------------------
# D1 (fixed): an array for a choice option is refused by name
@pytest.mark.parametrize(
    "call",
    [
        lambda: hu.nfindr_unmix(_map()[0], 3, abundances=np.array([1, 2])),
        lambda: hu.neighborhood_pca(lattice()[0], metric=np.array(["both", "x"])),
    ],
    ids=["nfindr_unmix-abundances", "neighborhood_pca-metric"],
)
def test_array_for_a_choice_option_names_it(call):
    with pytest.raises(ValueError, match=r"`(abundances|metric)`"):
        call()


# D2 (fixed): a window covering the map is refused by name; kept as a
# regression test
def test_neighborhood_covering_the_map_names_neighborhood_in_memory():
    with pytest.raises(ValueError, match="`neighborhood`"):
        hu.nfindr_unmix(_map()[0], 3, neighborhood=10)


# D2 (fixed), lazily: refused before any pass
def test_neighborhood_covering_the_map_lazily_is_not_silent():
    with pytest.raises(ValueError, match="`neighborhood`"):
        res = hu.nfindr_unmix(_map()[0].as_lazy(), 3, neighborhood=10)
        E = np.asarray(res.endmembers.data)
        assert not np.allclose(E[0], E[1])  # (what happens today: equal)


# D3 (fixed): the count's errors name `n_endmembers`="auto"; kept as a
# regression test
@pytest.mark.parametrize("nav, C", [((2,), 4), ((10,), 12), ((3, 7), 16)])
def test_auto_count_on_tiny_maps_names_the_parameter(nav, C):
    X, _, _, _ = mixture(0, nav, C, 3)
    s = hs.signals.Signal1D(X.astype(np.float32))
    with pytest.raises(ValueError, match=r"`(n_endmembers|signal)`"):
        hu.nfindr_unmix(s, "auto")


# D4 (fixed): the in-memory screening sums centred blocks (float64 when
# float32 squares overflow); kept as a regression test
def test_outlier_screening_in_memory_at_large_scale_is_quiet():
    s, _ = _map(nav=(12, 10), C=16, scale=1e20)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        hu.nfindr_unmix(s, 3)


# D5 (fixed): kept as a regression test
def test_neighborhood_pca_without_complete_neighbourhoods_names_a_parameter():
    img = lattice()[0]
    binary = hs.signals.Signal2D(img.data > np.median(img.data))
    with pytest.raises(ValueError, match=r"`(image|n_neighbors|separation)`"):
        hu.neighborhood_pca(binary)


# D6 (fixed): kept as a regression test
def test_segment_phases_too_few_windows_names_its_own_parameters():
    img = two_phase()[0].isig[:40, :40]
    with pytest.raises(ValueError, match=r"`(n_phases|window_size|step)`"):
        hu.segment_phases(img, 2, window_size=32, step=16)


# D7 (fixed): kept as a regression test
def test_segment_phases_window_size_auto():
    res = hu.segment_phases(two_phase()[0], 2, window_size="auto", random_state=0)
    assert res.n_endmembers == 2


# D8 (fixed): log1p of float32-overflowing powers as 2 log|F|, plain powers
# that overflow refused; kept as a regression test
def test_sliding_fft_power_at_large_scale_is_finite_or_refused():
    img = lattice()[0]
    big = hs.signals.Signal2D(img.data.astype(np.float64) * 1e29)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            out = hu.sliding_fft(big, 8, 4, power=True)
        except ValueError as e:
            assert "`image`" in str(e)
            return
    assert np.isfinite(np.asarray(out.data)).all()
    with pytest.raises(ValueError, match="`power`"):
        hu.sliding_fft(big, 8, 4, power=True, log=False)
