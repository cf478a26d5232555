"""The NFINDR estimator: scikit-learn contract and HyperSpy's decomposition."""

import hashlib

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from hyperspy_unmix import NFINDR
from hyperspy_unmix.data import spectrum_image


@parametrize_with_checks(
    [
        NFINDR(),
        NFINDR(
            2,
            abundances="nnls",
            init="random",
            random_state=0,
            # denoised endmembers of sklearn's check data may be collinear
            # with the origin (non-unique NNLS): the contract is the subject
            endmember_estimate="pixel",
        ),
    ]
)
@pytest.mark.filterwarnings("ignore:.*lie outside the simplex:UserWarning")
def test_sklearn_contract(estimator, check):
    check(estimator)


def planted(q=3, C=25, n=300, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.random((q, C)) * 10
    A = rng.dirichlet(np.ones(q), n)
    rows = rng.choice(n, q, replace=False)
    A[rows] = np.eye(q)
    return A @ E, E, A, rows


def test_fit_finds_planted_endmembers_and_abundances():
    X, E, A, rows = planted()
    est = NFINDR(3).fit(X)
    order = [list(rows).index(i) for i in est.indices_]
    np.testing.assert_allclose(est.components_, E[order], atol=1e-12)
    np.testing.assert_allclose(est.transform(X), A[:, order], atol=1e-9)
    np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X, atol=1e-9)
    assert est.volume_ > 0 and est.n_iter_ >= 1
    assert not hasattr(est, "mean_")
    assert not hasattr(est, "explained_variance_")
    np.testing.assert_array_equal(
        est.get_feature_names_out(), ["nfindr0", "nfindr1", "nfindr2"]
    )


def test_denoised_components_lie_in_the_principal_subspace():
    X, E, A, rows = planted(seed=1)
    rng = np.random.default_rng(0)
    Xn = X + rng.normal(0, 0.05, X.shape)
    est = NFINDR(3, endmember_estimate="denoised").fit(Xn)
    raw = NFINDR(3, endmember_estimate="pixel").fit(Xn)
    np.testing.assert_array_equal(est.indices_, raw.indices_)
    centred = est.components_ - Xn.mean(0)
    # rank 2 after centring: the third singular value vanishes
    assert np.linalg.svd(centred, compute_uv=False)[-1] < 1e-9


@pytest.mark.parametrize(
    "params, err, match",
    [
        ({"n_endmembers": 1}, ValueError, "n_endmembers"),
        ({"n_endmembers": 2.0}, TypeError, "n_endmembers"),
        ({"abundances": "x"}, ValueError, "abundances"),
        ({"endmember_estimate": "x"}, ValueError, "endmember_estimate"),
        ({"init": "x"}, ValueError, "init"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"max_pca_pixels": 99}, ValueError, "max_pca_pixels"),
        ({"max_pca_pixels": 1.5}, TypeError, "max_pca_pixels"),
    ],
)
def test_bad_parameters(params, err, match):
    X, *_ = planted()
    with pytest.raises(err, match=match):
        NFINDR(**params).fit(X)


def test_inverse_transform_shape_error():
    X, *_ = planted()
    est = NFINDR(3).fit(X)
    with pytest.raises(ValueError, match="n_samples, 3"):
        est.inverse_transform(np.ones((2, 4)))


def test_hyperspy_decomposition_with_nfindr():
    s, truth = spectrum_image((20, 24), 48, 3, dose=None, random_state=0)
    digest = hashlib.sha1(s.data.tobytes()).hexdigest()
    s.decomposition(algorithm=NFINDR(3), print_info=False)
    assert hashlib.sha1(s.data.tobytes()).hexdigest() == digest
    lr = s.learning_results
    assert lr.factors.shape == (48, 3) and lr.loadings.shape == (480, 3)
    np.testing.assert_allclose(lr.loadings.sum(1), 1, atol=1e-9)
    assert lr.mean is None
    model = s.get_decomposition_model()
    np.testing.assert_allclose(model.data, s.data, rtol=1e-5, atol=1e-7 * s.data.max())
    s.plot_decomposition_results()
    factors = s.get_decomposition_factors()
    assert factors.data.shape == (3, 48)
    # the factors are the truth's endmembers (in some order)
    for f in factors.data:
        err = np.abs(truth.endmembers - f).max(axis=1).min()
        assert err < 1e-6 * truth.endmembers.max()


def test_sampled_pca_matches_nfindr_unmix():
    # the same fixed sample as nfindr_unmix: the same pixels of a 1 200-pixel
    # map, the same denoised endmembers; and the sample is really used
    from hyperspy_unmix import nfindr_unmix

    s, _ = spectrum_image((30, 40), 48, 3, dose=1e4, random_state=3)
    X = s.data.reshape(-1, 48)
    kw = {"endmember_estimate": "denoised", "max_pca_pixels": 300}
    est = NFINDR(3, **kw).fit(X)
    res = nfindr_unmix(s, 3, **kw)
    flat = np.ravel_multi_index(res.indices.T, (30, 40))
    np.testing.assert_array_equal(est.indices_, flat)
    np.testing.assert_allclose(est.components_, res.endmembers.data, rtol=1e-6)
    full = NFINDR(3, endmember_estimate="denoised", max_pca_pixels=None).fit(X)
    assert not np.allclose(full.components_, est.components_, rtol=1e-9)


def test_hyperspy_interplay_save_scree_and_bss(tmp_path, caplog):
    """After decomposition(algorithm=NFINDR): the file saves without writer
    errors, the scree plot works, and BSS on N-FINDR factors warns."""
    import logging

    import hyperspy.api as hs

    s, _ = spectrum_image((24, 24), 48, 3, random_state=0)
    s.decomposition(algorithm=NFINDR(3), print_info=False)
    lr = s.learning_results
    A = lr.loadings
    E = lr.factors.T
    expected = A.var(axis=0, ddof=1) * (E**2).sum(axis=1)
    np.testing.assert_allclose(lr.explained_variance, expected, rtol=1e-10)
    with caplog.at_level(logging.ERROR):
        s.save(tmp_path / "nfindr.hspy")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    back = hs.load(tmp_path / "nfindr.hspy")
    assert "NFINDR" in str(back.learning_results.decomposition_algorithm)
    s.plot_scree_plot()
    with pytest.warns(UserWarning, match="meaningless"):
        s.blind_source_separation(3, print_info=False)
