"""Number of endmembers from channel moments: ground truth and brute force."""

import numpy as np
import pytest

from hyperspy_unmix._core import n_endmembers as ne
from hyperspy_unmix.data import spectrum_image
from hyperspy_unmix.data._spectra import make_abundances

SHAPE = (64, 64)
C = 512


def eds_raman_map(kind, dose, q, seed, shape=SHAPE, n_channels=C):
    """EDS-like Poisson counts (~20 / ~200 counts per channel at the peaks)
    or Raman-like continuous data (shot + read noise), with the truth."""
    rng = np.random.default_rng(seed)
    if kind == "eds":
        e = np.linspace(0.2, 10.0, n_channels)
        lines = np.array([0.52, 0.93, 1.04, 1.25, 1.49, 1.74, 2.01, 2.31, 2.62,
                          3.31, 3.69, 4.51, 5.41, 6.40, 7.48, 8.04])  # fmt: skip
        brems = (10.0 - e) / e * np.exp(-0.3 / e)
        E = np.empty((q, n_channels))
        for k in range(q):
            s = 0.4 * brems / brems.sum() * rng.uniform(0.7, 1.3)
            for c in rng.choice(lines, size=3, replace=False):
                g = np.exp(-0.5 * ((e - c) / (0.06 + 0.01 * c)) ** 2)
                s = s + rng.uniform(0.3, 1.0) * g / g.sum()
            E[k] = s / s.sum()
    else:
        w = np.linspace(100, 3200, n_channels)
        E = np.empty((q, n_channels))
        for k in range(q):
            s = 0.3 * np.exp(-(((w - rng.uniform(800, 2500)) / 1500) ** 2))
            for _ in range(int(rng.integers(3, 7))):
                c, g = rng.uniform(200, 3100), rng.uniform(5, 20)
                s = s + rng.uniform(0.3, 1.0) * g**2 / ((w - c) ** 2 + g**2)
            E[k] = s / s.max()
    if q == 1:
        A = np.ones((1, *shape))
    else:
        A, _, _ = make_abundances(shape, q, rng)
    mu = A.reshape(q, -1).T @ E
    if kind == "eds":
        scale = (20.0 if dose == "low" else 200.0) / mu.mean(0).max()
        X = rng.poisson(mu * scale)
    else:
        scale = 5.0 if dose == "low" else 50.0
        lam = mu * scale
        X = lam + rng.normal(0, 1, lam.shape) * np.sqrt(1.0 + lam)
    return X.astype(np.float32), E * scale, A


@pytest.mark.parametrize(
    "kind, dose, q",
    [("eds", "low", 3), ("eds", "high", 5), ("raman", "low", 4), ("raman", "high", 3)],
)
def test_exact_on_generated_maps(kind, dose, q):
    X, _, _ = eds_raman_map(kind, dose, q, seed=7 + q)
    est = ne.estimate_from_data(X)
    assert est.n_endmembers == q
    assert est.method == "hysime"
    assert int(np.argmin(est.criterion)) + 1 == q


@pytest.mark.parametrize("kind", ["eds", "raman"])
def test_single_phase_gives_one(kind):
    X, _, _ = eds_raman_map(kind, "high", 1, seed=3)
    for method in ("auto", "mp", "hysime", "nwhfc"):
        assert ne.estimate_from_data(X, method=method).n_endmembers == 1


def test_eels_generator_maps():
    for q in (2, 4):
        s, _ = spectrum_image((48, 48), 256, q, 5e3, random_state=q)
        assert ne.estimate_from_data(s.data.reshape(-1, 256)).n_endmembers == q


def test_scaled_counts_fall_back_to_regression():
    # counts times a gain: integer test fails or, forced counts=True, the
    # Poisson variance disagrees with the regression noise
    X, _, _ = eds_raman_map("eds", "high", 3, seed=11)
    est = ne.estimate_from_data(3.0 * X, counts=True)
    assert est.method == "hysime" and est.n_endmembers == 3
    forced = ne.estimate_from_data(3.0 * X, method="poisson", counts=True)
    assert forced.n_endmembers > 3  # what the check protects against
    assert ne.estimate_from_data(X * 0.37).n_endmembers == 3


def test_masked_channels_and_pixels():
    X, _, A = eds_raman_map("eds", "high", 4, seed=5)
    channels = np.arange(C) % 3 != 0
    pixels = np.arange(X.shape[0]) % 5 != 0
    est = ne.estimate_from_data(X[np.ix_(pixels, channels)])
    assert est.n_endmembers == 4


def test_moments_match_numpy_and_add_over_blocks():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(3000, 40)) + 1e3).astype(np.float64)
    n, m, cov = ne.moments(X, block_rows=700)
    assert n == 3000
    np.testing.assert_allclose(m, X.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov, np.cov(X, rowvar=False), rtol=1e-9, atol=1e-9)


def test_regression_noise_is_least_squares_residual():
    rng = np.random.default_rng(1)
    n, c = 400, 12
    X = rng.normal(size=(n, 3)) @ rng.normal(size=(3, c)) + rng.normal(
        size=(n, c)
    ) * np.linspace(0.5, 2, c)
    got = ne.regression_noise(np.cov(X, rowvar=False), n)
    for i in range(c):  # brute force: OLS of channel i on the others
        D = np.column_stack([np.ones(n), np.delete(X, i, axis=1)])
        res = X[:, i] - D @ np.linalg.lstsq(D, X[:, i], rcond=None)[0]
        assert got[i] == pytest.approx(res @ res / (n - c), rel=1e-9)


def test_noise_edge_bounds_white_noise():
    rng = np.random.default_rng(2)
    n, c = 2000, 300
    tops = []
    for _ in range(5):
        Z = rng.normal(size=(n, c))
        tops.append(np.linalg.eigvalsh(np.cov(Z, rowvar=False))[-1])
    edge = ne.noise_edge(n, c)
    mp = (1 + np.sqrt(c / (n - 1))) ** 2
    assert max(tops) < edge
    assert edge < 1.05 * mp  # a margin, not a blunt factor
    assert min(tops) > 0.97 * mp


def test_bad_inputs():
    m, cov = np.ones(5), np.eye(5)
    with pytest.raises(TypeError, match="`n`"):
        ne.estimate_n_endmembers_from_moments(10.0, m, cov)
    with pytest.raises(ValueError, match="`n`"):
        ne.estimate_n_endmembers_from_moments(2, m, cov)
    with pytest.raises(ValueError, match="`cov`"):
        ne.estimate_n_endmembers_from_moments(10, m, np.eye(4))
    with pytest.raises(ValueError, match="`mean`"):
        ne.estimate_n_endmembers_from_moments(10, np.ones((5, 1)), cov)
    with pytest.raises(ValueError, match="NaN"):
        ne.estimate_n_endmembers_from_moments(10, m * np.nan, cov)
    with pytest.raises(ValueError, match="`method`"):
        ne.estimate_n_endmembers_from_moments(10, m, cov, method="elbow")
    with pytest.raises(TypeError, match="`counts`"):
        ne.estimate_n_endmembers_from_moments(10, m, cov, counts="yes")
    with pytest.raises(ValueError, match="`max_endmembers`"):
        ne.estimate_n_endmembers_from_moments(10, m, cov, max_endmembers=0)
    with pytest.raises(ValueError, match="negative"):
        ne.estimate_n_endmembers_from_moments(10, -m, cov, method="poisson")
    with pytest.raises(ValueError, match="more pixels than channels"):
        ne.estimate_n_endmembers_from_moments(5, m, cov, method="mp")
    with pytest.raises(ValueError, match="`X`"):
        ne.estimate_from_data(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        ne.estimate_from_data(np.full((10, 3), np.nan))


def test_all_zero_map_gives_one():
    est = ne.estimate_from_data(np.zeros((100, 20)))
    assert est.n_endmembers == 1


def test_weak_endmembers_tiny_and_isolated():
    rng = np.random.default_rng(0)
    A = np.zeros((3, 32, 32))
    A[0, :, :16] = 1.0
    A[1, :, 16:] = 1.0
    A[2, 10, 10] = 0.9  # one isolated pixel
    A[0, 10, 10] = 0.1
    A[:2] += rng.uniform(0, 0.01, (2, 32, 32))
    A /= A.sum(0)
    assert ne.weak_endmembers(A).tolist() == [False, False, True]
    B = A.copy()
    B[2] = 0.001  # tiny everywhere
    B /= B.sum(0)
    assert ne.weak_endmembers(B).tolist() == [False, False, True]


def test_weak_endmembers_none_on_true_q():
    from hyperspy_unmix._core.abundances import unmix
    from hyperspy_unmix._core.simplex import nfindr

    s, truth = spectrum_image((48, 48), 256, 3, random_state=0)
    X = s.data.reshape(-1, 256)
    n, mean, cov = ne.moments(X)
    V = np.linalg.eigh(cov)[1][:, ::-1][:, :2].T
    S = (X - mean) @ V.T
    E = mean + S[nfindr(S, 3).indices] @ V
    A = unmix(X, E)[0].T.reshape(3, 48, 48)
    assert not ne.weak_endmembers(A).any()
    assert not ne.weak_endmembers(
        A, endmembers=E, noise_variance=mean, hull_factor=4.0
    ).any()
    with pytest.raises(ValueError, match="`abundances`"):
        ne.weak_endmembers(A[0])
    with pytest.raises(ValueError, match="`noise_variance`"):
        ne.weak_endmembers(A, endmembers=E, hull_factor=4.0)
