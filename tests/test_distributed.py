"""The three analyses under a dask.distributed cluster give the eager numbers.

Workers are separate processes with a memory limit, so everything the lazy
paths send to them must pickle (no closures over local state) and must run
chunk by chunk.
"""

import logging

import dask.array as da
import numpy as np
import pytest

import hyperspy_unmix as hu

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="1GiB",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _rechunk(signal, chunks):
    lazy = signal.as_lazy()
    lazy.data = lazy.data.rechunk(chunks)
    return lazy


def test_nfindr_unmix_on_cluster_equals_eager(client):
    s, truth = hu.data.spectrum_image(
        (40, 36), n_channels=96, n_endmembers=3, random_state=1
    )
    eager = hu.nfindr_unmix(s, 3, endmember_estimate="pixel")
    # uneven navigation chunks (13 + 13 + 13 + 1 rows, 20 + 16 columns)
    lazy = _rechunk(s, (13, 20, -1))
    res = hu.nfindr_unmix(lazy, 3, endmember_estimate="pixel")
    assert isinstance(res.abundances.data, da.Array)
    np.testing.assert_array_equal(res.indices, eager.indices)
    ab = res.abundances.data.compute()
    np.testing.assert_allclose(ab, eager.abundances.data, atol=1e-5)
    np.testing.assert_allclose(
        res.residual.data.compute(), eager.residual.data, rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(res.endmembers.data), eager.endmembers.data, rtol=1e-6
    )
    assert np.all(ab >= 0)
    np.testing.assert_allclose(ab.sum(axis=0), 1.0, atol=1e-6)


@pytest.mark.parametrize("estimate", ["pixel", "denoised"])
def test_sampled_covariance_on_cluster_equals_eager(client, estimate):
    # max_pca_pixels below the map size: the workers pick the sample of each
    # block from its position (block_info), as the in-memory path does
    s, _ = hu.data.spectrum_image(
        (40, 36), n_channels=96, n_endmembers=3, random_state=5
    )
    kw = {"max_pca_pixels": 300, "endmember_estimate": estimate}
    eager = hu.nfindr_unmix(s, 3, **kw)
    res = hu.nfindr_unmix(_rechunk(s, (13, 20, -1)), 3, **kw)
    np.testing.assert_array_equal(res.indices, eager.indices)
    np.testing.assert_allclose(
        np.asarray(res.endmembers.data), eager.endmembers.data, rtol=1e-6
    )
    np.testing.assert_allclose(
        res.abundances.data.compute(), eager.abundances.data, atol=1e-5
    )


def test_sliding_fft_on_cluster_equals_eager(client):
    img, _ = hu.data.multiphase_lattice((200, 230), n_phases=2, random_state=2)
    eager = hu.sliding_fft(img, window_size=32, step=12)
    lazy_img = _rechunk(img, (70, 90))  # windows straddle uneven chunk borders
    lazy = hu.sliding_fft(lazy_img, window_size=32, step=12)
    assert isinstance(lazy.data, da.Array)
    assert type(lazy).__name__ == "LazySlidingFFT"
    np.testing.assert_allclose(lazy.data.compute(), eager.data, rtol=1e-5, atol=1e-5)


def test_phase_segmentation_on_cluster_equals_eager(client):
    img, _ = hu.data.multiphase_lattice((256, 256), n_phases=2, random_state=3)
    eager = hu.sliding_fft(img, window_size=32, step=16).nfindr_unmix(2)
    lazy_img = _rechunk(img, (100, 128))
    stack = hu.sliding_fft(lazy_img, window_size=32, step=16)
    res = stack.nfindr_unmix(2)
    np.testing.assert_array_equal(res.indices, eager.indices)
    np.testing.assert_allclose(
        res.abundances.data.compute(), eager.abundances.data, atol=1e-4
    )


def test_neighborhood_pca_on_cluster_equals_eager(client):
    img, truth = hu.data.distorted_lattice((192, 192), random_state=4)
    eager = hu.neighborhood_pca(img, n_neighbors=6, n_components=2)
    lazy = hu.neighborhood_pca(_rechunk(img, (64, 100)), n_neighbors=6, n_components=2)
    np.testing.assert_allclose(lazy.positions, eager.positions)
    np.testing.assert_array_equal(lazy.included, eager.included)
    np.testing.assert_allclose(lazy.scores, eager.scores, atol=1e-8, equal_nan=True)
