"""Concurrent calls from threads give the serial results (docs/thread_safety.rst).

Each public analysis is called from 4 threads at once, on different inputs
and on one shared input signal, in memory and lazily (dask's threaded
scheduler inside threads); every result must equal the one computed
serially, and the shared input must be unchanged. A barrier makes the
threads start together, and every wait has a timeout.
"""

import concurrent.futures
import threading
import warnings

import numpy as np
import pytest

import hyperspy_unmix as hu

N_THREADS = 4
TIMEOUT = 120


def _concurrently(fns):
    """Run the callables at the same moment, one thread each; their results."""
    barrier = threading.Barrier(len(fns), timeout=TIMEOUT)

    def start(fn):
        barrier.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn()

    with concurrent.futures.ThreadPoolExecutor(len(fns)) as pool:
        futures = [pool.submit(start, fn) for fn in fns]
        return [f.result(timeout=TIMEOUT) for f in futures]


def _serially(fns):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return [fn() for fn in fns]


def _unmixing_numbers(res):
    return (
        res.indices,
        np.asarray(res.endmembers.data),
        np.asarray(
            res.abundances.data.compute()
            if hasattr(res.abundances.data, "compute")
            else res.abundances.data
        ),
    )


def _assert_same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def maps():
    return [
        hu.data.spectrum_image(
            (24, 20), n_channels=48, n_endmembers=3, random_state=seed
        )[0]
        for seed in range(N_THREADS)
    ]


@pytest.mark.parametrize("lazy", [False, True])
def test_nfindr_unmix_in_threads_equals_serial(maps, lazy):
    inputs = [m.as_lazy() if lazy else m for m in maps]
    before = [np.asarray(m.data).copy() for m in maps]
    fns = [
        (lambda s=s: _unmixing_numbers(hu.nfindr_unmix(s, 3, random_state=0)))
        for s in inputs
    ]
    # one shared input too: several threads reading the same signal
    fns.append(
        lambda: _unmixing_numbers(
            hu.nfindr_unmix(inputs[0], 3, init="random", random_state=1)
        )
    )
    fns.append(
        lambda: _unmixing_numbers(
            hu.nfindr_unmix(inputs[0], 3, init="random", random_state=1)
        )
    )
    fns.append(lambda: (np.array(int(hu.estimate_n_endmembers(inputs[1]))),))
    serial = _serially(fns)
    for _ in range(2):
        for got, want in zip(_concurrently(fns), serial):
            _assert_same(got, want)
    for m, b in zip(maps, before):
        np.testing.assert_array_equal(m.data, b)


def test_nfindr_estimator_and_decomposition_in_threads(maps):
    X = [m.data.reshape(-1, m.data.shape[-1]) for m in maps]
    fns = [(lambda x=x: hu.NFINDR(3, random_state=0).fit_transform(x)) for x in X]

    def decompose(m=maps[1]):
        s = m.deepcopy()  # decomposition writes the signal's learning_results
        s.decomposition(algorithm=hu.NFINDR(3, random_state=0), print_info=False)
        return np.asarray(s.learning_results.loadings)

    fns.append(decompose)
    serial = _serially(fns)
    for got, want in zip(_concurrently(fns), serial):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.fixture(scope="module")
def images():
    img, _ = hu.data.multiphase_lattice((96, 96), random_state=0)
    lat, _ = hu.data.distorted_lattice((96, 96), random_state=1)
    return img, lat


def test_image_analyses_in_threads_equal_serial(images):
    img, lat = images
    before = img.data.copy(), lat.data.copy()

    def fft(s=img):
        return (np.asarray(hu.sliding_fft(s, 32, 16).data),)

    def segment(s=img):
        res = hu.segment_phases(s, 2, 32, 16, random_state=0)
        return _unmixing_numbers(res) + (np.asarray(hu.phase_maps(res, s).data),)

    def npca(s=lat):
        res = hu.neighborhood_pca(s, n_neighbors=6)
        return res.positions, res.included, res.scores

    # made here, not in a thread: HyperSpy's as_lazy() sets the source
    # signal's data to None while it copies (not thread-safe on a shared
    # signal; the package itself never calls it)
    lazy = lat.as_lazy()

    def npca_lazy(s=lazy):
        res = hu.neighborhood_pca(s, n_neighbors=6, tile_size=64)
        return res.positions, res.included, res.scores

    fns = [fft, segment, npca, npca_lazy, fft, npca]
    serial = _serially(fns)
    for got, want in zip(_concurrently(fns), serial):
        for x, y in zip(got, want):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(img.data, before[0])
    np.testing.assert_array_equal(lat.data, before[1])
