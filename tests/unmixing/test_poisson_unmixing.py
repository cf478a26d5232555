"""Counting noise: normalize_poissonian_noise and non-negative endmembers."""

import hashlib

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


def _angle(E, T):
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    cost = np.arccos(np.clip(E @ T.T, -1, 1))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean())


@pytest.fixture(scope="module")
def low_count():
    # about 2 counts per channel on average, tens at the edges
    return [spectrum_image((64, 64), 512, 4, dose=2e3, random_state=s) for s in (0, 1)]


def test_weighted_reduction_gives_better_endmembers(low_count):
    ratios = []
    for s, truth in low_count:
        plain = hu.nfindr_unmix(s, 4)
        weighted = hu.nfindr_unmix(s, 4, normalize_poissonian_noise=True)
        ratios.append(
            _angle(weighted.endmembers.data, truth.endmembers)
            / _angle(plain.endmembers.data, truth.endmembers)
        )
        A = weighted.abundances.data
        assert A.min() >= 0
        np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-12)
        assert weighted.abundances.metadata.hyperspy_unmix.parameters[
            "normalize_poissonian_noise"
        ]
    assert np.mean(ratios) < 0.8, ratios


@pytest.mark.parametrize("svd_solver", ["covariance", "randomized"])
def test_weighted_lazy_equals_in_memory_with_masks(low_count, svd_solver):
    # the same route both ways ("auto" may choose differently: a lazy pass
    # costs a read)
    s, _ = low_count[0]
    digest = hashlib.sha1(s.data.tobytes()).hexdigest()
    nav = np.zeros((64, 64), dtype=bool)
    nav[5:9, 40:50] = True
    sig = np.zeros(512, dtype=bool)
    sig[-20:] = True
    kw = dict(
        normalize_poissonian_noise=True,
        navigation_mask=nav,
        signal_mask=sig,
        svd_solver=svd_solver,
    )
    eager = hu.nfindr_unmix(s, 4, **kw)
    lazy = s.as_lazy()
    lazy.data = lazy.data.rechunk((13, 20, 512))
    res = hu.nfindr_unmix(lazy, 4, lazy_output=False, **kw)
    np.testing.assert_array_equal(res.indices, eager.indices)
    np.testing.assert_allclose(
        res.abundances.data, eager.abundances.data, atol=1e-5, equal_nan=True
    )
    # a numpy navigation mask is x first, as in HyperSpy: rows 40:50 here
    assert np.isnan(eager.abundances.data[:, 40:50, 5:9]).all()
    assert hashlib.sha1(s.data.tobytes()).hexdigest() == digest


@pytest.mark.parametrize("method", ["clip", "subspace"])
def test_nonnegative_endmembers(method):
    s, truth = spectrum_image((48, 48), 512, 3, dose=300, random_state=0)
    plain = hu.nfindr_unmix(s, 3)
    assert plain.endmembers.data.min() < 0  # the ringing this option is for
    res = hu.nfindr_unmix(s, 3, nonnegative_endmembers=method)
    assert res.endmembers.data.min() >= 0
    A = res.abundances.data
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-12)
    # not farther from the truth than the ringing spectra
    assert _angle(res.endmembers.data, truth.endmembers) <= 1.01 * _angle(
        plain.endmembers.data, truth.endmembers
    )


def test_bad_input():
    s, _ = spectrum_image((16, 16), 32, 2, random_state=0)
    with pytest.raises(TypeError, match="`normalize_poissonian_noise`"):
        hu.nfindr_unmix(s, 2, normalize_poissonian_noise="yes")
    with pytest.raises(ValueError, match="`nonnegative_endmembers`"):
        hu.nfindr_unmix(s, 2, nonnegative_endmembers="abs")
    neg = s - float(s.data.mean()) * 2
    with pytest.raises(ValueError, match="`normalize_poissonian_noise`.*negative"):
        hu.nfindr_unmix(neg, 2, normalize_poissonian_noise=True)
