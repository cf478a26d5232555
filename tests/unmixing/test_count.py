"""How many endmembers: estimate_n_endmembers and nfindr_unmix(s, "auto")."""

import hashlib

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


@pytest.mark.parametrize("q", [2, 3, 4, 6])
def test_exact_on_generated_maps(q):
    s, _ = spectrum_image((48, 48), 256, q, random_state=10 + q)
    est = hu.estimate_n_endmembers(s)
    assert int(est) == q and isinstance(est, int)
    assert est.method == "hysime"
    assert np.argmin(est.criterion) + 1 == q
    # scaled counts are no longer counts: the regression noise estimate
    scaled = s * 0.37
    est = hu.estimate_n_endmembers(scaled)
    assert int(est) == q and est.method == "hysime"


def test_lazy_equals_in_memory_and_masks_are_used():
    s, _ = spectrum_image((40, 44), 128, 3, random_state=3)
    a = hu.estimate_n_endmembers(s)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((7, 9, 128))
    b = hu.estimate_n_endmembers(lazy)
    assert int(a) == int(b) == 3
    # float32 Gram products summed over other blocks: float32 rounding apart
    np.testing.assert_allclose(a.criterion, b.criterion, rtol=1e-5)
    # a navigation mask that hides one phase's region: fewer endmembers is
    # allowed, never more; a signal mask leaves channels out
    mask = np.zeros((44, 40), dtype=bool)
    mask[:, :3] = True
    m = hu.estimate_n_endmembers(s, navigation_mask=mask)
    assert int(m) <= 3
    sig = np.zeros(128, dtype=bool)
    sig[:10] = True
    assert int(hu.estimate_n_endmembers(s, signal_mask=sig)) == 3


def test_auto_unmixing_records_the_choice_and_does_not_touch_the_input():
    s, truth = spectrum_image((48, 48), 128, 4, random_state=1)
    digest = hashlib.sha1(s.data.tobytes()).hexdigest()
    res = hu.nfindr_unmix(s, "auto")
    assert res.n_endmembers == 4 and int(res.n_endmembers_estimate) == 4
    p = res.abundances.metadata.hyperspy_unmix.parameters
    assert p.n_endmembers == 4 and p.n_endmembers_given == "auto"
    fixed = hu.nfindr_unmix(s, 4)
    np.testing.assert_array_equal(res.indices, fixed.indices)
    lazy = hu.nfindr_unmix(s.as_lazy(), "auto", lazy_output=False)
    np.testing.assert_array_equal(lazy.indices, fixed.indices)
    assert hashlib.sha1(s.data.tobytes()).hexdigest() == digest
    assert not s.learning_results.loadings


def test_single_phase():
    s, _ = spectrum_image((32, 32), 128, 1, random_state=0)
    assert int(hu.estimate_n_endmembers(s)) == 1
    with pytest.raises(ValueError, match="single phase.*nothing to unmix"):
        hu.nfindr_unmix(s, "auto")


def test_all_zero_map_is_one_phase():
    s = hs.signals.Signal1D(np.zeros((16, 16, 32), dtype=np.float32))
    assert int(hu.estimate_n_endmembers(s)) == 1


def test_plot_marks_the_estimate():
    s, _ = spectrum_image((32, 32), 128, 3, random_state=0)
    ax = hu.estimate_n_endmembers(s).plot()
    assert "estimate: 3" in [t.get_text() for t in ax.get_legend().get_texts()]
    # on the user's axes: their figure's layout is kept, without a warning
    import warnings

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, layout="constrained")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = hu.estimate_n_endmembers(s).plot(ax=axes[1])
    assert out is axes[1]
    assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
    plt.close("all")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(method="elbow"), ValueError, "`method`"),
        (dict(max_endmembers=0), ValueError, "`max_endmembers`"),
        (dict(max_endmembers=2.5), TypeError, "`max_endmembers`"),
        (dict(max_pca_pixels=10), ValueError, "`max_pca_pixels`"),
    ],
)
def test_bad_input(kwargs, error, match):
    s, _ = spectrum_image((16, 16), 32, 2, random_state=0)
    with pytest.raises(error, match=match):
        hu.estimate_n_endmembers(s, **kwargs)


def test_bad_signals_and_masks():
    s, _ = spectrum_image((16, 16), 32, 2, random_state=0)
    with pytest.raises(TypeError, match="`signal`"):
        hu.estimate_n_endmembers(s.data)
    mask = np.ones((16, 16), dtype=bool)
    mask[0, :2] = False
    with pytest.raises(ValueError, match="`navigation_mask` leaves"):
        hu.estimate_n_endmembers(s, navigation_mask=mask)
    bad = s.deepcopy()
    bad.data[3, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        hu.estimate_n_endmembers(bad)
    with pytest.raises(ValueError, match='"auto"'):
        hu.nfindr_unmix(s, "many")


def test_at_least_9_of_10_eds_and_raman_maps():
    """The issue's bar: 2-6 phases, EDS-like and Raman-like, two doses (the
    benchmark compares HyperSpy's elbow on the same maps)."""
    maps = [
        (kind, dose, q)
        for kind in ("eds", "raman")
        for dose, qs in ((300, (2, 4, 6)), (5e4, (3, 5)))
        for q in qs
    ]
    exact = 0
    for kind, dose, q in maps:
        s, _ = spectrum_image((64, 64), 512, q, dose=dose, kind=kind, random_state=q)
        exact += int(hu.estimate_n_endmembers(s)) == q
    assert exact >= 9, exact


def test_one_endmember_too_many_warns():
    s, _ = spectrum_image((48, 48), 128, 3, random_state=5)
    with pytest.warns(UserWarning, match="may be noisy pixels"):
        res = hu.nfindr_unmix(s, 4)
    assert int(res.n_endmembers_estimate) == 3
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hu.nfindr_unmix(s, 3)
