"""Outlier screening before N-FINDR, end to end against planted ground truth.

The pipeline is plain numpy written here: covariance PCA by ``eigh`` ->
per-pixel summaries -> screen -> refit the subspace without the outliers ->
screen again -> N-FINDR on the good pixels -> endmembers projected on the
refitted subspace -> FCLS abundances of every pixel.
"""

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix.data as hd
from hyperspy_unmix._core.abundances import unmix
from hyperspy_unmix._core.outliers import (
    OutlierScreen,
    downdate_moments,
    pixel_summaries,
    screen_outliers,
)
from hyperspy_unmix._core.simplex import nfindr


def pca(X, k, rows=None):
    Xs = X if rows is None else X[rows]
    c = Xs.mean(axis=0, dtype=np.float64)
    D = Xs.astype(np.float64) - c
    _, v = np.linalg.eigh(D.T @ D)
    return v[:, ::-1][:, :k].T, c


def pipeline(X, nav_shape, q, screen=True):
    V, c = pca(X, q - 1)
    good = np.ones(X.shape[0], dtype=bool)
    if screen:
        for _ in range(2):  # the second pass sees the clean subspace
            s, r2, t = pixel_summaries(X, V, c)
            good = ~screen_outliers(s, r2, t, nav_shape).mask
            V, c = pca(X, q - 1, rows=good)
    s, _, _ = pixel_summaries(X, V, c)
    rows = np.flatnonzero(good)
    idx = rows[nfindr(s[rows], q).indices]
    E = s[idx] @ V + c  # denoised endmembers
    A, _ = unmix(X, E, "fcls")
    return E, A, good, idx


def matched(E, T):
    """Spectral angles (rad) after the best assignment, and the permutation."""
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    Tn = T / np.linalg.norm(T, axis=1, keepdims=True)
    ang = np.arccos(np.clip(Tn @ En.T, -1, 1))
    r, c = linear_sum_assignment(ang)
    return ang[r, c], c


def scores_of(s, truth, screen=True):
    X = s.data.reshape(-1, s.data.shape[-1])
    q = truth.endmembers.shape[0]
    E, A, good, _ = pipeline(X, s.data.shape[:2], q, screen)
    ang, perm = matched(E, truth.endmembers)
    om = truth.outlier_mask.ravel()
    true_a = truth.abundances.reshape(q, -1).T
    rmse = np.sqrt(np.mean((A[~om][:, perm] - true_a[~om]) ** 2))
    return ang.mean(), rmse, ~good, om


@pytest.fixture(scope="module")
def clean_reference():
    s, t = hd.spectrum_image((128, 128), 512, 4, dose=2e4, kind="eds", random_state=0)
    return scores_of(s, t)[0]


@pytest.mark.parametrize(
    "outliers",
    [
        dict(hot_pixels=3, dead_rows=1, spikes=12),  # the map
        dict(hot_pixels=3, hot_value=1e6),
    ],
)
def test_end_to_end_with_outliers(clean_reference, outliers):
    s, t = hd.spectrum_image(
        (128, 128), 512, 4, dose=2e4, kind="eds", random_state=0, outliers=outliers
    )
    angle, rmse, flagged, om = scores_of(s, t)
    assert angle <= 1.2 * clean_reference
    assert rmse <= 0.02
    assert flagged[om].mean() >= 0.95
    assert flagged[~om].sum() == 0
    if "spikes" in outliers:
        # without the screening the outliers take over (the failure)
        bad_angle, bad_rmse, _, _ = scores_of(s, t, screen=False)
        assert bad_angle > 5 * clean_reference and bad_rmse > 0.05


@pytest.mark.parametrize(
    "kind, dose, max_purity",
    [("eds", 300, None), ("raman", 2e5, 0.8), ("eels", None, None), ("eds", 2e5, 0.8)],
)
def test_no_false_positives_on_clean_maps(kind, dose, max_purity):
    s, t = hd.spectrum_image(
        (96, 96),
        256,
        4,
        dose=dose,
        kind=kind,
        max_purity=max_purity,
        random_state=1,
    )
    X = s.data.reshape(-1, 256)
    V, c = pca(X, 3)
    res = screen_outliers(*pixel_summaries(X, V, c), (96, 96))
    assert res.n_outliers == 0
    # ...and the planted pure patches (real pure regions) are far from it
    z = np.fmax(np.abs(res.total_z), np.fmax(res.residual_z, res.isolation_z))
    assert np.nanmax(z) < 0.8 * res.threshold


def test_weak_outliers_at_low_dose_flagged():
    out = dict(hot_pixels=3, dead_pixels=3, dead_rows=1, spikes=12)
    s, t = hd.spectrum_image(
        (96, 96), 256, 4, dose=300, kind="raman", random_state=2, outliers=out
    )
    X = s.data.reshape(-1, 256)
    V, c = pca(X, 3)
    res = screen_outliers(*pixel_summaries(X, V, c), (96, 96))
    np.testing.assert_array_equal(res.mask, t.outlier_mask.ravel())
    assert set(res.reasons()) == {"total", "residual", "isolation"}


def test_bfo_broken_curves_flagged():
    s = hd.bfo_conduction_map()
    X = s.data.reshape(-1, s.data.shape[-1])
    broken = (X == 0).any(axis=1)  # curves with dropped-out (zero) points
    assert broken.sum() == 4
    _, _, _, idx0 = pipeline(X, (50, 50), 3, screen=False)
    assert broken[idx0].any()  # the failure the screening fixes
    E, A, good, idx = pipeline(X, (50, 50), 3)
    np.testing.assert_array_equal(~good, broken)
    assert not broken[idx].any()
    assert E.min() > 5.0  # log J of a working curve; broken ones reach 0 / < 0
    dominant = np.bincount(A[~broken].argmax(axis=1), minlength=3) / (~broken).sum()
    assert dominant.max() < 0.9


def test_pixel_summaries_brute_force():
    rng = np.random.default_rng(0)
    X = rng.random((300, 20)).astype(np.float32)
    V, c = pca(X, 3)
    s, r2, t = pixel_summaries(X, V, c, block_rows=64)
    D = X.astype(np.float64) - c
    np.testing.assert_allclose(s, D @ V.T, atol=1e-5)
    np.testing.assert_allclose(r2, np.sum((D - (D @ V.T) @ V) ** 2, axis=1), atol=1e-4)
    np.testing.assert_allclose(t, X.sum(axis=1, dtype=np.float64), rtol=1e-6)


def test_downdate_moments_equals_moments_without_rows():
    rng = np.random.default_rng(1)
    X = rng.random((200, 6)) * 10
    drop = np.zeros(200, dtype=bool)
    drop[[3, 50, 199]] = True
    shift = X[:10].mean(axis=0)

    def moments(Y):
        D = Y - shift
        return np.vstack([np.full((1, 6), len(Y)), D.sum(0)[None], D.T @ D])

    np.testing.assert_allclose(
        downdate_moments(moments(X), shift, X[drop]), moments(X[~drop]), atol=1e-9
    )
    with pytest.raises(ValueError, match="moments"):
        downdate_moments(np.zeros((3, 6)), shift, X[drop])


def test_keep_one_d_and_isolated_pixel():
    rng = np.random.default_rng(3)
    n = 400
    scores = rng.normal(size=(n, 2))
    scores[200] = 80.0  # an isolated extreme pixel of a line scan
    r2 = rng.chisquare(5, n)
    t = 1e4 + rng.normal(0, 100, n)
    res = screen_outliers(scores, r2, t, (n,))
    assert isinstance(res, OutlierScreen)
    assert np.flatnonzero(res.mask).tolist() == [200]
    keep = np.ones(n, dtype=bool)
    keep[200] = False  # masked by the user: ignored, never flagged
    res = screen_outliers(scores, r2, t, (n,), keep=keep)
    assert res.n_outliers == 0 and np.isnan(res.isolation_z[200])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"scores": np.zeros((5, 2))}, ValueError, "scores"),
        ({"sq_residual": np.zeros(5)}, ValueError, "sq_residual"),
        ({"totals": np.zeros(5)}, ValueError, "totals"),
        ({"threshold": 0}, ValueError, "threshold"),
        ({"threshold": "big"}, TypeError, "threshold"),
        ({"keep": np.ones(5, dtype=bool)}, ValueError, "keep"),
        ({"totals": np.full(100, np.nan)}, ValueError, "totals"),
    ],
)
def test_bad_input(kwargs, error, match):
    args = {
        "scores": np.zeros((100, 2)),
        "sq_residual": np.zeros(100),
        "totals": np.ones(100),
        "nav_shape": (10, 10),
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        screen_outliers(**args)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("band", [1 << 16, 7])
def test_neighbour_median_equals_numpy(band, dtype, monkeypatch):
    # the sorting network (in bands of rows on large maps) against
    # np.nanmedian of the stacked neighbours: missing neighbours (NaN, off
    # the map) ignored, NaN where a pixel has none; in the map's own dtype
    import warnings

    from hyperspy_unmix._core import outliers

    monkeypatch.setattr(outliers, "_BAND_BYTES", band * np.dtype(dtype).itemsize)
    rng = np.random.default_rng(0)
    for shape in [(1,), (2,), (50,), (1, 9), (6, 5), (40, 33), (3, 4, 5), (9, 2, 3)]:
        f = rng.standard_normal(shape).astype(dtype)
        f[rng.random(shape) < 0.3] = np.nan
        stack = np.stack(
            [outliers._shifted(f, o) for o in outliers._neighbour_offsets(f.ndim)]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            ref = np.nanmedian(stack, axis=0)
        got = outliers._neighbour_median(f)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, ref)


def _reference_z(scores, sq, totals, nav_shape, keep):
    """The z-scores of the module docstring, pixel by pixel in float64."""
    n = scores.shape[0]
    coords = np.array(np.unravel_index(np.arange(n), nav_shape)).T
    offsets = [o for o in np.ndindex(*(3,) * len(nav_shape)) if any(v != 1 for v in o)]
    t = np.where(keep, totals, np.nan)
    f = np.log(t + 1e-3 * np.nanmedian(t))
    r = np.where(keep, np.sqrt(np.maximum(sq, 0)), np.nan)
    S = np.where(keep[:, None], scores, np.nan)
    typical = np.nanmedian(np.sqrt((S**2).sum(1) + np.maximum(sq, 0)))
    c = np.full((3, n), np.nan)
    m = np.zeros(n)
    for p in range(n):
        nb = []
        for o in offsets:
            q = coords[p] + np.array(o) - 1
            if np.all(q >= 0) and np.all(q < nav_shape):
                i = np.ravel_multi_index(tuple(q), nav_shape)
                if keep[i]:
                    nb.append(i)
        m[p] = len(nb)
        if keep[p] and nb:
            c[0, p] = f[p] - np.median(f[nb])
            c[1, p] = r[p] - np.median(r[nb])
            c[2, p] = np.linalg.norm(S[p] - np.median(S[nb], axis=0))
    out = []
    for cc, floor in zip(c, (0.03, 0.03 * typical, 0.03 * typical)):
        med = np.nanmedian(cc)
        scale = max(1.4826 * np.nanmedian(np.abs(cc - med)), floor)
        out.append((cc - med) / scale * np.sqrt(np.maximum(m, 1) / len(offsets)))
    return out


@pytest.mark.parametrize("band_bytes", [1 << 19, 3 * 19 * 4, 4])
@pytest.mark.parametrize("nav_shape", [(23, 19), (41,), (6, 5, 4)])
def test_z_scores_against_a_per_pixel_reference(nav_shape, band_bytes, monkeypatch):
    # float32 neighbour medians in bands of rows (one map-wide band, bands of
    # three rows, bands of one row), boolean neighbour counts and the
    # threaded robust scales against float64 NumPy per pixel: z within 1e-4
    from hyperspy_unmix._core import outliers

    monkeypatch.setattr(outliers, "_BAND_BYTES", band_bytes)
    rng = np.random.default_rng(3)
    n = int(np.prod(nav_shape))
    scores = rng.normal(size=(n, 3)) * [5.0, 2.0, 1.0]
    scores[:, 0] += np.linspace(0, 30, n)  # a ramp, as thickness gives
    sq = rng.chisquare(200, n) * 1e-2
    totals = rng.normal(5e4, 300, n)
    keep = rng.random(n) > 0.1
    res = screen_outliers(scores, sq, totals, nav_shape, keep=keep)
    ref = _reference_z(scores, sq, totals, nav_shape, keep)
    assert not res.mask.any()
    for got, want in zip((res.total_z, res.residual_z, res.isolation_z), ref):
        np.testing.assert_allclose(got[keep], want[keep], rtol=0, atol=1e-4)
        assert np.isnan(got[~keep]).all()


@pytest.mark.parametrize("scale", [1e-30, 1e25])
def test_z_scores_do_not_depend_on_the_units(scale):
    # the screen works in float32 unless the values reach 1e18 (whose
    # squares float32 cannot hold): the same z-scores either way
    rng = np.random.default_rng(5)
    nav_shape = (30, 20)
    n = 600
    scores = rng.normal(size=(n, 2))
    scores[77] += 60.0
    sq = rng.chisquare(50, n)
    totals = rng.normal(1e4, 100, n)
    want = screen_outliers(scores, sq, totals, nav_shape)
    got = screen_outliers(scores * scale, sq * scale**2, totals * scale, nav_shape)
    assert got.total_z.dtype == (np.float64 if scale > 1 else np.float32)
    np.testing.assert_array_equal(got.mask, want.mask)
    assert np.flatnonzero(got.mask).tolist() == [77]
    for a, b in zip(
        (got.total_z, got.residual_z, got.isolation_z),
        (want.total_z, want.residual_z, want.isolation_z),
    ):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
