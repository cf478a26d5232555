"""Outlier-robust endmembers: the default screening of nfindr_unmix."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


def _match(E, T):
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    cost = np.arccos(np.clip(E @ T.T, -1, 1))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean()), c


def _rmse(res, truth, order, where):
    A = res.abundances.data
    return float(np.sqrt(np.mean((A - truth.abundances[order])[:, where] ** 2)))


ISSUE_MAP = dict(hot_pixels=3, dead_rows=1, spikes=12)  # hot: 8x the counts


@pytest.fixture(scope="module")
def maps():
    kw = dict(kind="eds", random_state=0)
    clean = spectrum_image((128, 128), 512, 4, **kw)
    bad = spectrum_image((128, 128), 512, 4, outliers=ISSUE_MAP, **kw)
    hot = spectrum_image(
        (128, 128), 512, 4, outliers=dict(hot_pixels=3, hot_value=1e6), **kw
    )
    return clean, bad, hot


@pytest.mark.parametrize("which", ["bad", "hot"])
def test_outliers_do_not_capture_the_endmembers(maps, which):
    (clean, tc), (s, truth) = maps[0], maps[1 if which == "bad" else 2]
    with pytest.warns(UserWarning, match=r"set aside.*result\.outliers"):
        res = hu.nfindr_unmix(s, 4)
    angle, order = _match(res.endmembers.data, truth.endmembers)
    ref_angle, _ = _match(hu.nfindr_unmix(clean, 4).endmembers.data, tc.endmembers)
    assert angle <= 1.2 * ref_angle
    good = ~truth.outlier_mask
    assert _rmse(res, truth, order, good) <= 0.02
    flagged = res.outliers.data
    recall = (flagged & truth.outlier_mask).sum() / truth.outlier_mask.sum()
    assert recall >= 0.95
    assert (flagged & good).sum() <= 0.001 * good.sum()
    # every pixel still gets abundances, and the residual shows the outliers
    A = res.abundances.data
    assert np.isfinite(A).all() and A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-12)
    r = res.residual.data
    assert np.median(r[truth.outlier_mask]) > 10 * np.median(r[good])
    # without the screening the outliers are what N-FINDR picks; the
    # residual map shows that the good pixels are then badly explained
    classic = hu.nfindr_unmix(s, 4, outliers=None)
    assert np.median(classic.residual.data[good]) > 3 * np.median(r[good])
    assert classic.outliers is None
    picked = truth.outlier_mask[tuple(classic.indices.T)]
    assert picked.any()
    assert _match(classic.endmembers.data, truth.endmembers)[0] > 10 * angle


def test_lazy_equals_in_memory(maps):
    s, truth = maps[1]
    with pytest.warns(UserWarning, match="set aside"):
        eager = hu.nfindr_unmix(s, 4)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((40, 50, 512))
    with pytest.warns(UserWarning, match="set aside"):
        res = hu.nfindr_unmix(lazy, 4, lazy_output=False)
    np.testing.assert_array_equal(res.outliers.data, eager.outliers.data)
    np.testing.assert_array_equal(res.indices, eager.indices)
    np.testing.assert_allclose(res.abundances.data, eager.abundances.data, atol=1e-5)


def test_clean_maps_flag_nothing():
    for kind in ("eels", "eds", "raman"):
        s, _ = spectrum_image((64, 64), 256, 3, kind=kind, random_state=1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = hu.nfindr_unmix(s, 3)
        assert not res.outliers.data.any()
        assert res.outliers.axes_manager.signal_shape == (64, 64)


def test_masked_pixels_are_never_flagged(maps):
    s, truth = maps[1]
    mask = truth.outlier_mask.T.copy()  # x first, as HyperSpy reads it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to set aside
        res = hu.nfindr_unmix(s, 4, navigation_mask=mask)
    assert not res.outliers.data[truth.outlier_mask].any()
    assert np.isnan(res.abundances.data[:, truth.outlier_mask]).all()


def test_bfo_broken_curves_without_a_mask():
    """The real map's four broken curves (exact zeros) are found and none of
    them becomes an endmember."""
    s = hu.data.bfo_conduction_map()
    broken = (s.data == 0).any(axis=-1)
    with pytest.warns(UserWarning, match="4 pixel"):
        res = hu.nfindr_unmix(s, 3)
    np.testing.assert_array_equal(res.outliers.data, broken)
    assert not broken[tuple(res.indices.T)].any()
    assert (res.endmembers.data != 0).all()


def test_bfo_masked_by_hand_as_the_default_and_walls_a_minority():
    """Masking the four broken curves by hand (as 0.1 and its demo did) gives
    the default's endmember pixels and NaN abundances there; the most
    conductive endmember, the domain walls, dominates a minority of the
    pixels (19 %)."""
    import hyperspy.api as hs

    s = hu.data.bfo_conduction_map()
    broken = (s.data == 0).any(axis=-1)
    assert broken.sum() == 4
    masked = hu.nfindr_unmix(s, 3, navigation_mask=hs.signals.BaseSignal(broken).T)
    with pytest.warns(UserWarning, match="4 pixel"):
        default = hu.nfindr_unmix(s, 3)
    np.testing.assert_array_equal(masked.indices, default.indices)
    A = masked.abundances.data
    assert np.isnan(A[:, broken]).all()
    walls = np.argmax(masked.endmembers.data.mean(axis=1))
    dominant = np.argmax(np.nan_to_num(A, nan=-1), axis=0)[~broken]
    assert 0.1 < np.mean(dominant == walls) < 0.3


def test_bad_outliers_option(maps):
    s, _ = maps[0]
    with pytest.raises(ValueError, match="`outliers`"):
        hu.nfindr_unmix(s, 4, outliers="yes")


@pytest.mark.parametrize("kind, seed", [("eels", 4), ("eels", 6), ("eds", 0)])
def test_clean_maps_have_no_border_outliers(kind, seed):
    # these three clean maps had one border pixel flagged (isolation z
    # 25.8-27.3) before the neighbour-count scaling
    s, _ = spectrum_image((48, 48), 256, 3, kind=kind, random_state=seed)
    res = hu.nfindr_unmix(s, 3)
    assert not res.outliers.data.any()
