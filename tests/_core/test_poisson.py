"""Keenan-Kotula weighting: exactness against brute force, and its benefit."""

import numpy as np
import pytest
import scipy.linalg as sl
from scipy.optimize import linear_sum_assignment
from test_n_endmembers import eds_raman_map

from hyperspy_unmix._core import poisson as P
from hyperspy_unmix._core.abundances import unmix
from hyperspy_unmix._core.n_endmembers import moments
from hyperspy_unmix._core.simplex import nfindr


def _counts(seed=0, n=500, c=30):
    rng = np.random.default_rng(seed)
    return rng.poisson(rng.uniform(0.5, 20, (n, 1)) * rng.uniform(0.1, 3, c)).astype(
        np.float64
    )


def test_weighted_moments_exact_over_blocks():
    X = _counts()
    t = X.sum(1)
    Y = X / np.sqrt(t / t.mean())[:, None] / np.sqrt(X.mean(0))  # brute force
    shift = (X[:100] / np.sqrt(t[:100, None])).mean(0)
    m = P.add_moments(
        P.block_weighted_moments(X[:200], shift=shift),
        P.block_weighted_moments(X[200:], shift=shift),
    )
    mean_w, cov_w, mean, mt = P.weighted_covariance(m)
    np.testing.assert_allclose(mean_w, Y.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov_w, np.cov(Y, rowvar=False), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mean, X.mean(0), rtol=1e-12)
    # noise of the weighted data is close to white with unit variance
    assert mt == pytest.approx(t.mean())


def test_channel_weighting_and_scores_exact():
    X = _counts(1)
    mean = X.mean(0)
    Yc = X / np.sqrt(mean)
    np.testing.assert_allclose(
        P.weight_covariance(np.cov(X, rowvar=False), mean),
        np.cov(Yc, rowvar=False),
        rtol=1e-10,
    )
    V = np.linalg.qr(np.random.default_rng(0).normal(size=(30, 3)))[0].T
    got = P.weighted_scores(X, V, Yc.mean(0), mean, None)
    np.testing.assert_allclose(got, (Yc - Yc.mean(0)) @ V.T, rtol=1e-10, atol=1e-10)
    t = X.sum(1)
    Y = Yc / np.sqrt(t / t.mean())[:, None]
    got = P.weighted_scores(X.astype(np.float32), V, Y.mean(0), mean, t.mean())
    np.testing.assert_allclose(got, (Y - Y.mean(0)) @ V.T, rtol=1e-5, atol=1e-5)
    # back to counts: the weighted pixel maps back to the pixel itself
    back = P.unweight_endmembers(Y[:4], mean, t[:4], t.mean())
    np.testing.assert_allclose(back, X[:4], rtol=1e-12)


def _sad(E, T):
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    Tn = T / np.linalg.norm(T, axis=1, keepdims=True)
    ang = np.degrees(np.arccos(np.clip(En @ Tn.T, -1, 1)))
    r, c = linear_sum_assignment(ang)
    return ang[r, c].mean(), c


def _pipeline(X, q, weighted):
    k = q - 1
    C = X.shape[1]
    if weighted:
        mean_w, cov, mean, mt = P.weighted_covariance(P.block_weighted_moments(X))
    else:
        n, mean, cov = moments(X)
    V = sl.eigh(cov, subset_by_index=[C - k, C - 1])[1][:, ::-1].T
    if weighted:
        S = P.weighted_scores(X, V, mean_w, mean, mt)
        idx = nfindr(S, q).indices
        E = P.unweight_endmembers(mean_w + S[idx] @ V, mean, X[idx].sum(1), mt)
        basis = np.vstack([mean_w, V]) * np.sqrt(mean)
    else:
        S = (X - mean) @ V.T
        E = mean + S[nfindr(S, q).indices] @ V
        basis = np.vstack([mean, V])
    return E, basis


def test_weighting_improves_low_count_endmembers():
    # EDS-like, about 20 counts per channel at the peaks
    ratios = []
    for seed in (100, 101):
        X, E_true, A_true = eds_raman_map(
            "eds", "low", 3, seed, shape=(64, 64), n_channels=512
        )
        X = X.astype(np.float64)
        E0, _ = _pipeline(X, 3, False)
        E1, basis = _pipeline(X, 3, True)
        ratios.append(_sad(E1, E_true)[0] / _sad(E0, E_true)[0])
        # abundances in counts, with the back-mapped endmembers: exact
        A, _ = unmix(X, E1)
        assert A.min() >= 0
        np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-12)
        # the weighted subspace (in counts) holds the true endmembers
        ang = np.degrees(sl.subspace_angles(basis.T, E_true.T))
        assert ang.max() < 2.0
    assert np.mean(ratios) < 0.85, ratios


def test_nonnegative_endmembers():
    X, E_true, _ = eds_raman_map("eds", "low", 3, 100, shape=(64, 64), n_channels=512)
    X = X.astype(np.float64)
    n, mean, cov = moments(X)
    V = np.linalg.eigh(cov)[1][:, ::-1][:, :2].T
    S = (X - mean) @ V.T
    E = mean + S[nfindr(S, 3).indices] @ V
    assert E.min() < 0  # denoising rings below zero at low counts
    clip = P.nonnegative_endmembers(E)
    sub = P.nonnegative_endmembers(E, V, mean, method="subspace")
    assert clip.min() >= 0 and sub.min() >= 0
    # the subspace version stays (nearly) in span{mean, V}
    B = np.vstack([mean, V])
    coef = np.linalg.lstsq(B.T, sub.T, rcond=None)[0]
    assert np.abs(B.T @ coef - sub.T).max() < 1e-3 * sub.max()
    assert _sad(sub, E_true)[0] <= _sad(E, E_true)[0]
    A, _ = unmix(X, sub)
    assert A.min() >= 0 and np.allclose(A.sum(1), 1.0, atol=1e-12)


def test_bad_inputs():
    with pytest.raises(ValueError, match="negative"):
        P.channel_weights(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="no counts"):
        P.channel_weights(np.zeros(3))
    with pytest.raises(ValueError, match="`totals`"):
        P.pixel_weights(np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match="`mean_total`"):
        P.pixel_weights(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="`x`"):
        P.block_weighted_moments(np.ones(3))
    with pytest.raises(ValueError, match="`method`"):
        P.nonnegative_endmembers(np.ones((2, 3)), method="nnls")
    with pytest.raises(ValueError, match="`basis`"):
        P.nonnegative_endmembers(np.ones((2, 3)), method="subspace")
    with pytest.raises(ValueError, match="`mean_total`"):
        P.unweight_endmembers(np.ones((1, 3)), np.ones(3), np.ones(1))
