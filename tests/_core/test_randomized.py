"""Randomised and Gram solvers of the principal subspace against brute force.

The reference everywhere is the float64 eigen-decomposition of the centred
covariance computed here with numpy (never the code under test).
"""

import pickle
import tracemalloc

import dask.array as da
import numpy as np
import pytest
import scipy.linalg

from hyperspy_unmix._core.pca import NonFiniteDataError
from hyperspy_unmix._core.randomized import (
    MAX_POWER_ITER,
    SAMPLE_BYTES,
    TOL,
    block_pass,
    choose_solver,
    gram_subspace,
    lazy_randomized_subspace,
    randomized_subspace,
    sample_rows,
    solver_costs,
)
from hyperspy_unmix.data import spectrum_image


def exact_subspace(X, k, centre=None):
    """Brute force: float64 covariance, full eigh (directions, variances)."""
    Xd = np.asarray(X, dtype=np.float64)
    c = Xd.mean(axis=0) if centre is None else centre
    Xc = Xd - c
    w, v = np.linalg.eigh(Xc.T @ Xc / (len(X) - 1))
    return v[:, ::-1][:, :k], w[::-1][:k]


def max_angle(A, B):
    """Largest principal angle between the column spaces of A and B."""
    return float(scipy.linalg.subspace_angles(A, B).max())


def low_rank(n=3000, C=200, r=4, noise=0.01, seed=0, dtype=np.float32):
    """Data with ``r`` well-separated directions plus small white noise."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((C, r)))[0]
    scores = rng.standard_normal((n, r)) * np.geomspace(10, 2, r)
    X = 50 + scores @ basis.T + noise * rng.standard_normal((n, C))
    return X.astype(dtype)


@pytest.fixture(scope="module", params=[2e4, 2e5], ids=["dose2e4", "dose2e5"])
def noisy_map(request):
    s, truth = spectrum_image((64, 64), 1024, 4, request.param, random_state=0)
    X = s.data.reshape(-1, 1024)
    E = truth.endmembers.astype(np.float64)
    true_span = (E[1:] - E[0]).T  # the noise-free affine subspace
    V, lam = exact_subspace(X, 3)
    return X, V, lam, max_angle(V, true_span), true_span


def test_randomized_matches_exact_far_below_the_noise(noisy_map):
    X, V, lam, noise_angle, true_span = noisy_map
    # The adaptive stop aims at an error below TOL (0.03) times the noise's
    # own angle (exact vs noise-free). Independent errors add in quadrature
    # (+0.05 % on the distance to the truth) and aligned ones linearly
    # (+3 %), so the test checks the distance to the truth itself against
    # the 1 % of the package's accuracy bar. Measured at tol 0.1 (maps 0-1,
    # seeds 0-3, doses 2e4-2e5): error/noise 0.0001-0.020, distance to the
    # truth 0.998-1.002 times the exact subspace's, 2-3 passes.
    for seed in (0, 1):
        fit = randomized_subspace(X, 3, random_state=seed)
        angle = max_angle(fit.components.T, V)
        assert angle <= TOL * noise_angle, (angle, noise_angle)
        to_truth = max_angle(fit.components.T, true_span)
        assert abs(to_truth / noise_angle - 1) <= 0.01, (to_truth, noise_angle)
        assert 1 <= fit.n_passes <= MAX_POWER_ITER + 1
        # variances: within 1 % of the exact eigenvalues
        np.testing.assert_allclose(fit.variance, lam, rtol=1e-2)
        np.testing.assert_allclose(fit.centre, X.mean(axis=0, dtype=np.float64))
    # the sample's start block is worth passes: with one power iteration a
    # Gaussian start is at 1.0x (dose 2e4) / 0.06x (2e5) the noise's angle,
    # the sample's start at 0.12x / 0.001x
    g = randomized_subspace(X, 3, n_power_iter=1, random_state=0, start="gaussian")
    s = randomized_subspace(X, 3, n_power_iter=1, random_state=0)
    assert g.n_passes == s.n_passes == 2
    eg, es = (max_angle(f.components.T, V) for f in (g, s))
    assert es < eg / 5, (es, eg)


def test_conventions_on_well_separated_data():
    X = low_rank()
    V, lam = exact_subspace(X, 4)
    for method in ("krylov", "subspace"):
        fit = randomized_subspace(X, 4, method=method, random_state=1)
        assert fit.components.shape == (4, 200)
        assert fit.components.dtype == np.float64
        np.testing.assert_allclose(np.linalg.norm(fit.components, axis=1), 1, 1e-12)
        big = np.argmax(np.abs(fit.components), axis=1)
        assert np.all(fit.components[np.arange(4), big] > 0)
        # each direction equals the exact one up to sign
        cos = np.abs(np.sum(fit.components * V.T, axis=1))
        np.testing.assert_allclose(cos, 1, atol=1e-6)
        np.testing.assert_allclose(fit.variance, lam, rtol=1e-5)
        assert fit.n_samples == 3000


def test_fixed_power_iterations_count_passes():
    X = low_rank(n=500, C=64)
    for p in (0, 1, 3):
        for method in ("krylov", "subspace"):
            fit = randomized_subspace(X, 2, n_power_iter=p, method=method)
            assert fit.n_passes == p + 1


def test_rank_deficient_data_use_the_ritz_fallback():
    # noise-free rank-2 data: the sketch (width 12) is mostly null directions
    X = low_rank(n=400, C=80, r=2, noise=0.0, dtype=np.float64)
    V, lam = exact_subspace(X, 2)
    fit = randomized_subspace(X, 2, random_state=0)
    assert max_angle(fit.components.T, V) < 1e-8
    np.testing.assert_allclose(fit.variance, lam, rtol=1e-8)
    # more directions than the rank: still unit rows, zero variance beyond
    fit4 = randomized_subspace(X, 4, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(fit4.components, axis=1), 1, 1e-10)
    assert np.all(fit4.variance[2:] < 1e-10 * lam[0])


def test_rows_and_centre():
    X = low_rank(n=2000, C=100)
    rows = np.random.default_rng(2).choice(2000, 700, replace=False)
    sub = randomized_subspace(X, 3, rows=rows, random_state=4)
    ref = randomized_subspace(X[rows], 3, random_state=4)
    # same rows in the same order: the same arithmetic up to block bounds
    np.testing.assert_allclose(sub.components, ref.components, atol=1e-6)
    np.testing.assert_allclose(sub.centre, X[rows].mean(0, dtype=np.float64))
    V, _ = exact_subspace(X[rows], 3)
    assert max_angle(sub.components.T, V) < 1e-5
    c = X.mean(0, dtype=np.float64) + 0.5
    fit = randomized_subspace(X, 3, centre=c, random_state=0)
    Vc, lamc = exact_subspace(X, 3, centre=c)
    # float32 products of the uncentred rows after the first pass ("direct"
    # passes; the rows' spread is 1/5 of their mean here): 1.1e-5 measured
    assert max_angle(fit.components.T, Vc) < 3e-5
    np.testing.assert_allclose(fit.variance, lamc, rtol=1e-5)
    np.testing.assert_array_equal(fit.centre, c)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.float64])
def test_dtypes_match_the_float_data(dtype):
    rng = np.random.default_rng(5)
    # two directions above the noise: a direction inside it (a 4 % gap to the
    # next) is only fixed to the stop's tolerance, and float32 rounding moves
    # it by more than 1e-5 however the passes go
    lam_map = 3 + 2 * np.outer(rng.random(1500), np.hanning(60)) + rng.random(60)
    lam_map += np.outer(rng.random(1500), np.linspace(0, 2, 60))
    counts = rng.poisson(lam_map * 20).clip(0, 255)
    X = counts.astype(dtype)
    fit = randomized_subspace(X, 2, random_state=0)
    ref = randomized_subspace(counts.astype(np.float64), 2, random_state=0)
    tol = 1e-5 if np.dtype(dtype).itemsize <= 2 else 1e-10  # float32 GEMMs
    np.testing.assert_allclose(fit.components, ref.components, atol=tol)
    np.testing.assert_allclose(fit.centre, ref.centre, rtol=1e-12)


def test_uint8_makes_no_float_copy():
    rng = np.random.default_rng(0)
    X = rng.poisson(20 * rng.random((40000, 256)) + 5).clip(0, 255).astype(np.uint8)
    tracemalloc.start()
    try:
        randomized_subspace(X, 3, random_state=0)
        gram_subspace(X[:200], 3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a float32 copy would be 4x the data (41 MB); blocks are 16 MiB at most
    assert peak < 2 * X.nbytes, peak


def test_gram_is_exact():
    X = low_rank(n=60, C=500, noise=0.3, dtype=np.float64)
    V, lam = exact_subspace(X, 5)
    g = gram_subspace(X, 5)
    assert max_angle(g.components.T, V) < 1e-10
    np.testing.assert_allclose(g.variance, lam, rtol=1e-10)
    assert g.n_passes == 2
    big = np.argmax(np.abs(g.components), axis=1)
    assert np.all(g.components[np.arange(5), big] > 0)
    rows = np.arange(0, 60, 2)
    c = X[rows].mean(0) - 1.0
    gr = gram_subspace(X, 3, rows=rows, centre=c)
    Vr, lamr = exact_subspace(X[rows], 3, centre=c)
    assert max_angle(gr.components.T, Vr) < 1e-10
    np.testing.assert_allclose(gr.variance, lamr, rtol=1e-10)
    g32 = gram_subspace(X.astype(np.float32), 5)
    assert max_angle(g32.components.T, V) < 1e-4


@pytest.mark.parametrize("masked", [False, True])
def test_lazy_equals_in_memory_with_uneven_chunks(masked):
    s, _ = spectrum_image((30, 26), 128, 3, 5e4, random_state=1)
    D = s.data
    keep = np.random.default_rng(0).random(D.shape[:2]) < 0.6 if masked else None
    rows = None if keep is None else np.flatnonzero(keep.ravel())
    ref = randomized_subspace(D.reshape(-1, 128), 2, random_state=3, rows=rows)
    lazy = da.from_array(D, chunks=((7, 11, 12), (13, 9, 4), 128))
    fit = lazy_randomized_subspace(lazy, 2, keep=keep, random_state=3)
    assert fit.n_passes == ref.n_passes
    assert fit.n_samples == ref.n_samples
    # equal up to the order of float32 block sums
    np.testing.assert_allclose(fit.components, ref.components, atol=1e-6)
    np.testing.assert_allclose(fit.variance, ref.variance, rtol=1e-6)
    np.testing.assert_allclose(fit.centre, ref.centre, rtol=1e-9)
    # channels split over chunks are joined
    split = da.from_array(D, chunks=(10, 13, 50))
    fit2 = lazy_randomized_subspace(split, 2, keep=keep, random_state=3)
    np.testing.assert_allclose(fit2.components, ref.components, atol=1e-6)


def test_block_kernel_pickles_and_sums():
    assert pickle.loads(pickle.dumps(block_pass)) is block_pass
    rng = np.random.default_rng(0)
    x = rng.random((3, 4, 10))
    Q = rng.random((10, 2))
    shift = rng.random(10)
    keep = rng.random((3, 4)) < 0.5
    out = block_pass(x, keep, Q=Q, shift=shift, sumsq=True)[0, 0]
    xs = x.reshape(-1, 10)[keep.ravel()] - shift
    np.testing.assert_allclose(out[:10, :2], xs.T @ xs @ Q)
    np.testing.assert_allclose(out[:10, 2], xs.sum(0))
    assert out[10, 0] == keep.sum()
    np.testing.assert_allclose(out[10, 1], (xs**2).sum())


def test_non_finite_data():
    X = low_rank(n=300, C=40)
    X[5, 3] = np.nan
    with pytest.raises(NonFiniteDataError):
        randomized_subspace(X, 2)
    with pytest.raises(NonFiniteDataError):
        gram_subspace(X[:20], 2)


def test_bad_inputs():
    X = low_rank(n=100, C=30)
    with pytest.raises(TypeError, match="`k`"):
        randomized_subspace(X, True)
    with pytest.raises(ValueError, match="`k`"):
        randomized_subspace(X, 31)
    with pytest.raises(ValueError, match="`k`"):
        randomized_subspace(X, 0)
    with pytest.raises(ValueError, match="`n_oversamples`"):
        randomized_subspace(X, 2, n_oversamples=-1)
    with pytest.raises(TypeError, match="`n_power_iter`"):
        randomized_subspace(X, 2, n_power_iter=1.5)
    with pytest.raises(ValueError, match="`method`"):
        randomized_subspace(X, 2, method="lanczos")
    with pytest.raises(ValueError, match="`tol`"):
        randomized_subspace(X, 2, tol=0)
    with pytest.raises(ValueError, match="`start`"):
        randomized_subspace(X, 2, start="random")
    with pytest.raises(ValueError, match="`start`"):
        lazy_randomized_subspace(da.from_array(X), 2, start=None)
    with pytest.raises(ValueError, match="`rows`"):
        randomized_subspace(X, 2, rows=[0, 100])
    with pytest.raises(TypeError, match="`rows`"):
        randomized_subspace(X, 2, rows=[0.5, 1.0])
    with pytest.raises(ValueError, match="`centre`"):
        randomized_subspace(X, 2, centre=np.zeros(29))
    with pytest.raises(TypeError, match="`random_state`"):
        randomized_subspace(X, 2, random_state="seed")
    with pytest.raises(TypeError, match="`X`"):
        randomized_subspace(X.astype(np.complex64), 2)
    with pytest.raises(ValueError, match="`X`"):
        randomized_subspace(X[0], 2)
    with pytest.raises(ValueError, match="`k`"):
        gram_subspace(X[:5], 5)
    with pytest.raises(TypeError, match="`data`"):
        lazy_randomized_subspace(X, 2)
    with pytest.raises(ValueError, match="`keep`"):
        lazy_randomized_subspace(da.from_array(X), 2, keep=np.ones(99, bool))
    with pytest.raises(ValueError, match="`q`"):
        choose_solver(1000, 100, 1)
    with pytest.raises(TypeError, match="`dtype`"):
        choose_solver(1000, 100, 3, dtype=complex)
    with pytest.raises(ValueError, match="`read_rate`"):
        choose_solver(1000, 100, 3, lazy=True, read_rate=0)


def test_the_start_sample():
    # every 16th used row while the sample is small; sparser to stay within
    # SAMPLE_BYTES; none when it has fewer than 4 rows per sketch column
    idx = sample_rows(16384, 2048, 5, 10, np.float32)
    np.testing.assert_array_equal(idx, np.arange(0, 16384, 16))
    big = sample_rows(10**7, 1024, 3, 10, np.float32)
    assert big is not None
    assert 0.99 * SAMPLE_BYTES < len(big) * 1024 * 4 <= SAMPLE_BYTES
    assert np.all(np.diff(big) == big[1])
    assert len(sample_rows(16 * 60, 2048, 5, 10, np.float32)) == 4 * 15
    assert sample_rows(16 * 59, 2048, 5, 10, np.float32) is None
    # the sample's start is why one pass can be enough; a Gaussian start is
    # never accepted on its first pass (there is nothing to compare it with)
    sm, truth = spectrum_image((64, 64), 1024, 2, 2e5, random_state=0)
    X = sm.data.reshape(-1, 1024)
    E = truth.endmembers.astype(np.float64)
    V, _ = exact_subspace(X, 1)
    noise_angle = max_angle(V, (E[1:] - E[0]).T)
    s = randomized_subspace(X, 1, random_state=0)
    g = randomized_subspace(X, 1, random_state=0, start="gaussian")
    assert s.n_passes == 1 and g.n_passes >= 2
    for f in (s, g):
        assert max_angle(f.components.T, V) <= TOL * noise_angle


def test_cost_model_rules():
    # few channels: the covariance's n C^2 is the cheapest
    assert choose_solver(262144, 128, 4) == "covariance"
    # many channels: the randomised O(n C k) passes win
    assert choose_solver(16384, 2048, 6) == "randomized"
    # measured in memory at q = 4: covariance fit 0.57 s, randomised 0.28 s
    # (3 passes at dose 2e5; 6 at dose 2e4 still faster)
    assert choose_solver(65536, 1024, 4) == "randomized"
    assert choose_solver(262144, 4096, 4, dtype="uint8") == "randomized"
    # very few pixels: the sketch would span the problem, the Gram is exact
    assert choose_solver(40, 4096, 3) == "gram"
    # lazily every pass is read from disk: the single pass wins at C = 1024
    assert choose_solver(262144, 1024, 5, lazy=True) == "covariance"
    # a lazy count map of 4096 channels gets the fast path too (measured in
    # memory: 8 s whole randomised, ~20 s for the covariance alone)
    assert choose_solver(262144, 4096, 4, dtype="uint8", lazy=True) == "randomized"
    lazy = solver_costs(262144, 1024, 5, lazy=True)
    assert lazy["randomized"] > 2 * lazy["covariance"]
    # the Gram route only exists in memory and with fewer pixels than channels
    assert "gram" not in solver_costs(5000, 1024, 3)
    assert "gram" not in solver_costs(500, 1024, 3, lazy=True)
    # float64 work doubles the flop terms (not the fixed per-pass overhead)
    c32 = solver_costs(65536, 512, 4)
    c64 = solver_costs(65536, 512, 4, dtype="float64")
    assert 1.8 * c32["randomized"] < c64["randomized"] < 2 * c32["randomized"]


@pytest.mark.parametrize("offset", [0.0, 3.0])
def test_direct_pass_equals_the_shifted_copy(offset):
    # ``direct`` multiplies the data themselves and corrects for the shift;
    # with ``sumsq`` (a first pass) the sum of squares of ``x - shift`` too
    from hyperspy_unmix._core.randomized import pass_block

    rng = np.random.default_rng(1)
    x = (offset + rng.random((700, 90))).astype(np.float32)
    Q = rng.standard_normal((90, 7)).astype(np.float32)
    shift = x[:64].mean(axis=0).astype(np.float32)
    ref = pass_block(x, Q, shift, sumsq=True)
    got = pass_block(x, Q, shift, sumsq=True, direct=True)
    xs = x.astype(np.float64) - shift
    np.testing.assert_allclose(ref[90, 1], (xs**2).sum(), rtol=1e-6)
    np.testing.assert_allclose(got[90, 1], (xs**2).sum(), rtol=1e-4)
    np.testing.assert_allclose(
        got[:90], ref[:90], rtol=1e-3, atol=1e-3 * abs(ref).max()
    )
    assert got[90, 0] == ref[90, 0] == 700


@pytest.mark.parametrize("direct", [False, True])
def test_later_passes_leave_the_sums_out(direct):
    # once the centre is the rows' mean their sums are known: ``sums=False``
    # gives the same products with a GEMM column fewer and [:C, w] zero
    from hyperspy_unmix._core.randomized import pass_block

    rng = np.random.default_rng(2)
    x = (2.0 + rng.random((300, 40))).astype(np.float32)
    Q = rng.standard_normal((40, 8)).astype(np.float32)
    shift = x.mean(axis=0).astype(np.float32)
    ref = pass_block(x, Q, shift, direct=direct)
    got = pass_block(x, Q, shift, direct=direct, sums=False)
    np.testing.assert_array_equal(got[:40, :8], ref[:40, :8])
    assert not got[:40, 8].any() and ref[:40, 8].any()
    assert got[40, 0] == ref[40, 0] == 300


@pytest.mark.parametrize("q, dose, narrow", [(4, 2e5, True), (6, 3e3, False)])
def test_later_blocks_narrow_only_far_above_the_noise(q, dose, narrow, monkeypatch):
    # far above the noise (expected angles to the noise-free subspace all
    # below NARROW_MAX_NOISE) the blocks after the first apply M to the top
    # k + 3 directions only (8 columns, no sums); where a direction is near
    # the noise, the whole last block, as the full block Krylov does
    from hyperspy_unmix._core import randomized as R

    s, _ = spectrum_image((64, 64), 1024, q, dose=dose, random_state=0)
    X = s.data.reshape(-1, 1024).astype(np.float32)
    widths = []
    real = R.pass_block

    def spy(x, Q, *args, **kwargs):
        widths.append((Q.shape[1], kwargs.get("sums", True)))
        return real(x, Q, *args, **kwargs)

    monkeypatch.setattr(R, "pass_block", spy)
    # a Gaussian start: no passes over a sample among the recorded ones
    fit = randomized_subspace(X, q - 1, random_state=0, start="gaussian")
    monkeypatch.setattr(R, "pass_block", real)
    w = q - 1 + 10
    per_pass = list(dict.fromkeys(widths))  # blocks of one pass share a width
    assert fit.n_passes >= 2
    assert per_pass[0] == (w, True)
    assert all(not sums for _, sums in per_pass[1:])
    assert {v for v, _ in per_pass[1:]} == ({8} if narrow else {w})
    if narrow:  # and as close to the exact subspace as the stop asks
        V, _ = exact_subspace(X, q - 1)
        assert max_angle(fit.components.T, V) < R.ABS_ANGLE
