"""spectrum_image's realistic bad maps: EDS/Raman spectra, limited purity, outliers.

Every check compares the generator with its own truth or with the same map
generated without the option (same seed), not with stored numbers.
"""

import numpy as np
import pytest

import hyperspy_unmix.data as hd

SHAPE, C, Q = (48, 40), 256, 4


def test_eels_default_unchanged_by_new_keywords():
    a, ta = hd.spectrum_image(SHAPE, C, Q, dose=2e4, random_state=3)
    b, tb = hd.spectrum_image(
        SHAPE,
        C,
        Q,
        dose=2e4,
        random_state=3,
        kind="eels",
        max_purity=None,
        outliers=None,
    )
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(ta.abundances, tb.abundances)
    assert ta.kind == "eels" and ta.max_purity is None and ta.outliers is None
    assert not ta.outlier_mask.any() and ta.outlier_mask.shape == SHAPE


@pytest.mark.parametrize(
    "kind, name, units, lo, hi",
    [
        ("eds", "Energy", "keV", 0.0, 10.0),
        ("raman", "Raman shift", "cm$^{-1}$", 100.0, 3200.0),
    ],
)
def test_kind_axes_and_endmembers(kind, name, units, lo, hi):
    s, t = hd.spectrum_image(SHAPE, C, Q, dose=1e4, kind=kind, random_state=0)
    ax = s.axes_manager.signal_axes[0]
    assert (ax.name, ax.units) == (name, units)
    assert ax.offset == pytest.approx(lo)
    assert ax.offset + ax.scale * ax.size == pytest.approx(hi)
    np.testing.assert_allclose(ax.axis, t.energy)
    assert t.kind == kind and len(set(t.names)) == Q
    assert np.all(t.endmembers >= 0)
    np.testing.assert_allclose(t.endmembers.sum(axis=1), 1e4)
    e = t.endmembers / np.linalg.norm(t.endmembers, axis=1, keepdims=True)
    angles = np.degrees(np.arccos(np.clip(e @ e.T, -1, 1)))
    assert angles[np.triu_indices(Q, 1)].min() > 10  # distinct phases
    assert kind.upper() in s.metadata.General.title.upper()


def test_eds_lines_and_detector_resolution():
    # fine axis: 2.4 eV channels resolve the line shapes
    _, t = hd.spectrum_image((16, 16), 4096, 4, dose=None, kind="eds", random_state=0)
    e, E = t.energy, t.endmembers
    cu = E[t.names.index("copper")]
    window = (e > 7.7) & (e < 8.4)  # Cu K-alpha, tabulated 8.048 keV
    peak = np.argmax(np.where(window, cu, 0))
    assert e[peak] == pytest.approx(8.048, abs=0.005)
    # FWHM from the half-maximum crossings above the local background; a
    # 130 eV (Mn K-alpha) Fano-limited detector gives ~147 eV at 8 keV
    bg = np.median(cu[(e > 7.3) & (e < 7.6)])
    half = bg + 0.5 * (cu[peak] - bg)
    above = np.flatnonzero(window & (cu > half))
    fwhm = e[above[-1]] - e[above[0]]
    assert 0.135 < fwhm < 0.160
    # shared lines: O K-alpha (0.525 keV) in olivine, alumina, ilmenite
    o = np.argmin(np.abs(e - 0.525))
    assert all(E[k, o] > 3 * E[k, o + 60] for k in range(3))
    # bremsstrahlung: copper's spectrum is positive between its lines
    assert np.all(cu[(e > 2) & (e < 7.5)] > 0)


def test_raman_bands():
    _, t = hd.spectrum_image((16, 16), 3100, 4, dose=None, kind="raman", random_state=0)
    expected = {"silicon": 520.7, "anatase": 144.0, "calcite": 1086.0}
    for name, shift in expected.items():
        k = t.names.index(name)
        assert t.energy[np.argmax(t.endmembers[k])] == pytest.approx(shift, abs=2.0)


def test_low_dose_eds_peaks_about_20_counts():
    _, t = hd.spectrum_image((16, 16), 512, 4, dose=300, kind="eds", random_state=0)
    tops = t.endmembers.max(axis=1)
    assert 15 < tops.mean() < 25 and tops.min() > 8


@pytest.mark.parametrize("m", [0.5, 0.8, 0.95])
def test_max_purity_exact(m):
    _, plain = hd.spectrum_image(SHAPE, C, Q, dose=None, random_state=2)
    s, t = hd.spectrum_image(SHAPE, C, Q, dose=None, random_state=2, max_purity=m)
    a = t.abundances
    assert a.min() >= 0
    np.testing.assert_allclose(a.sum(axis=0), 1.0, atol=1e-12)
    assert np.all(a.reshape(Q, -1).max(axis=1) == m)  # exactly, every endmember
    for k, (r, c) in enumerate(t.pure_pixels):
        assert a[k, r, c] == m
    assert not t.pure_mask.any() and t.max_purity == m
    # pixels that were already below the cap are untouched
    below = plain.abundances.max(axis=0) <= m
    np.testing.assert_array_equal(a[:, below], plain.abundances[:, below])
    # moved pixels keep their mixture of the others (zeros stay zeros)
    moved = ~below & ~plain.pure_mask.any(axis=0)
    k = plain.abundances.argmax(axis=0)[moved]
    pa, na = plain.abundances[:, moved].T, a[:, moved].T  # (n_moved, Q)
    others = np.ones_like(pa, dtype=bool)
    others[np.arange(k.size), k] = False
    ratio = na[others].reshape(-1, Q - 1) / pa[others].reshape(-1, Q - 1)
    np.testing.assert_allclose(ratio, ratio[:, :1].repeat(Q - 1, axis=1), rtol=1e-9)
    np.testing.assert_array_equal(na[~others], m)
    # the data are the mixture of the capped abundances
    np.testing.assert_allclose(s.data, t.expected(), rtol=1e-5)


def test_max_purity_one_is_plain():
    a, _ = hd.spectrum_image(SHAPE, C, Q, random_state=2)
    b, tb = hd.spectrum_image(SHAPE, C, Q, random_state=2, max_purity=1.0)
    np.testing.assert_array_equal(a.data, b.data)
    assert tb.pure_mask.any()


OUT = dict(hot_pixels=3, dead_pixels=2, dead_rows=1, spikes=12)


@pytest.mark.parametrize("kind", ["eds", "eels"])
def test_outliers_match_truth(kind):
    clean, tc = hd.spectrum_image(SHAPE, C, Q, dose=2e4, kind=kind, random_state=4)
    s, t = hd.spectrum_image(
        SHAPE, C, Q, dose=2e4, kind=kind, random_state=4, outliers=OUT
    )
    altered = np.any(s.data != clean.data, axis=-1)
    np.testing.assert_array_equal(altered, t.outlier_mask)  # nothing else changed
    np.testing.assert_array_equal(t.abundances, tc.abundances)
    w = t.outliers
    assert w["hot"].shape == (3, 2) and w["dead"].shape == (2, 2)
    assert w["dead_rows"].shape == (1,) and w["spikes"].shape == (12, 3)
    for r, c in w["hot"]:
        np.testing.assert_array_equal(s.data[r, c], 8 * clean.data[r, c])
    for r, c in w["dead"]:
        assert not s.data[r, c].any()
    assert not s.data[w["dead_rows"]].any()
    height = 50 * (tc.abundances.reshape(Q, -1).mean(axis=1) @ tc.endmembers).max()
    for r, c, ch in w["spikes"]:
        diff = s.data[r, c] - clean.data[r, c]
        assert np.count_nonzero(diff) == 1
        assert diff[ch] == pytest.approx(height, rel=1e-6)
    n = 3 + 2 + 12 + SHAPE[1]
    assert t.outlier_mask.sum() == n and str(n) in t.outlier_description
    # patches untouched, so the pure-pixel truth still holds
    assert not (t.outlier_mask & t.pure_mask.any(axis=0)).any()
    with pytest.raises(ValueError):
        t.outliers["hot"][0, 0] = 1


def test_hot_value_and_determinism():
    kw = dict(dose=2e4, kind="raman", outliers=dict(hot_pixels=3, hot_value=1e6))
    a, ta = hd.spectrum_image(SHAPE, C, Q, random_state=9, **kw)
    b, tb = hd.spectrum_image(SHAPE, C, Q, random_state=9, **kw)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(ta.outlier_mask, tb.outlier_mask)
    for r, c in ta.outliers["hot"]:
        assert np.all(a.data[r, c] == 1e6)
    c2, tc = hd.spectrum_image(SHAPE, C, Q, random_state=10, **kw)
    assert not np.array_equal(ta.outlier_mask, tc.outlier_mask)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"kind": "xps"}, ValueError, "kind"),
        ({"max_purity": 0.3}, ValueError, "max_purity"),
        ({"max_purity": 1.5}, ValueError, "max_purity"),
        ({"max_purity": "0.8"}, TypeError, "max_purity"),
        ({"outliers": [1]}, TypeError, "outliers"),
        ({"outliers": {"hot": 3}}, ValueError, "unknown"),
        ({"outliers": {"hot_pixels": -1}}, ValueError, "hot_pixels"),
        ({"outliers": {"hot_factor": 0}}, ValueError, "hot_factor"),
        ({"outliers": {"spikes": 1.5}}, TypeError, "spikes"),
        ({"outliers": {"dead_rows": 1000}}, ValueError, "dead_rows"),
        ({"outliers": {"hot_pixels": 10**6}}, ValueError, "outliers"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        hd.spectrum_image((32, 32), 64, 3, random_state=0, **kwargs)
