"""The covariance-eigh PCA used for the reduction, against numpy's SVD."""

import numpy as np
import pytest

from hyperspy_unmix._core.pca import CovariancePCA


def svd_reference(X, k):
    Xc = X - X.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    return vt[:k], s[:k] ** 2 / (X.shape[0] - 1)


def same_subspace(V, W):
    return np.allclose(np.abs(V @ W.T), np.eye(V.shape[0]), atol=1e-8)


@pytest.fixture
def data():
    # large offset, three strong directions, small isotropic noise
    rng = np.random.default_rng(0)
    low = rng.normal(size=(500, 3)) * [30.0, 20.0, 10.0] @ rng.normal(size=(3, 40))
    return 1e4 + low + rng.normal(size=(500, 40))


def test_fit_matches_svd_and_has_no_mean(data):
    est = CovariancePCA(3).fit(data)
    V, var = svd_reference(data, 3)
    assert same_subspace(est.components_, V)
    np.testing.assert_allclose(est.explained_variance_, var, rtol=1e-8)
    np.testing.assert_allclose(est.centre_, data.mean(0), rtol=1e-12)
    assert not hasattr(est, "mean_")
    scores = est.transform(data)
    np.testing.assert_allclose(
        scores, (data - data.mean(0)) @ est.components_.T, atol=1e-6
    )


def test_partial_fit_streams_to_the_same_result(data):
    full = CovariancePCA(3).fit(data)
    part = CovariancePCA(3)
    for chunk in np.array_split(data, 7):
        part.partial_fit(chunk)
    np.testing.assert_allclose(part.components_, full.components_, atol=1e-9)
    np.testing.assert_allclose(part.centre_, full.centre_, rtol=1e-12)


def test_wide_data_use_the_sample_gram(data):
    wide = data[:15]  # 15 samples, 40 features
    est = CovariancePCA(3).fit(wide)
    V, var = svd_reference(wide, 3)
    assert same_subspace(est.components_, V)
    np.testing.assert_allclose(est.variance, var, rtol=1e-8)


def test_float32_and_single_component(data):
    est = CovariancePCA(1).fit(data.astype(np.float32))
    V, _ = svd_reference(data.astype(np.float32).astype(float), 1)
    assert abs(abs(est.components_[0] @ V[0]) - 1) < 1e-5
    assert not hasattr(est, "explained_variance_")  # HyperSpy's elbow needs >= 2
    assert est.variance.shape == (1,)


def test_errors():
    with pytest.raises(ValueError, match="NaN"):
        CovariancePCA(2).fit(np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="components"):
        CovariancePCA(5).fit(np.ones((10, 4)))
    with pytest.raises(AttributeError, match="not fitted"):
        CovariancePCA(2).components_
