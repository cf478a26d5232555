"""nfindr_unmix on lazy data: out of core, same numbers, silent by preference."""

import dask
import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest
from dask.callbacks import Callback

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


@pytest.fixture(scope="module")
def noisy():
    s, truth = spectrum_image((30, 44), 64, 3, dose=1e4, random_state=2)
    return s, truth


def lazy_copy(s, nav_chunks):
    sl = s.as_lazy()
    sl.rechunk(nav_chunks=nav_chunks)
    return sl


@pytest.mark.parametrize(
    "lazy_output, outliers",
    # the scores' pass keeps the projections persisted and in memory,
    # only in memory, only persisted
    [(None, "auto"), (False, "auto"), (None, None), (False, None)],
)
@pytest.mark.parametrize("masked", [False, True])
def test_lazy_denoised_equals_in_memory(noisy, masked, lazy_output, outliers):
    # the lazy "denoised" path takes the abundances from the score pass
    s, _ = noisy
    kw = {"endmember_estimate": "denoised", "outliers": outliers}
    if masked:
        nav = np.zeros(s.axes_manager.navigation_shape, bool)
        nav[3:9, 20:25] = True
        nav[40, 2] = True
        sig = np.zeros(64, bool)
        sig[:5] = True
        kw.update(navigation_mask=nav, signal_mask=sig)
    eager = hu.nfindr_unmix(s, 3, **kw)
    lazy = hu.nfindr_unmix(
        lazy_copy(s, (7, 13)), 3, lazy_output=lazy_output, **kw
    )  # uneven chunks
    assert lazy.abundances._lazy == lazy.residual._lazy == (lazy_output is None)
    as_np = (lambda a: a.compute()) if lazy_output is None else np.asarray
    np.testing.assert_array_equal(lazy.indices, eager.indices)
    np.testing.assert_allclose(lazy.endmembers.data, eager.endmembers.data, rtol=1e-6)
    np.testing.assert_allclose(
        as_np(lazy.abundances.data), eager.abundances.data, atol=1e-6, equal_nan=True
    )
    np.testing.assert_allclose(
        as_np(lazy.residual.data),
        eager.residual.data,
        rtol=1e-5,
        atol=1e-6,
        equal_nan=True,
    )
    if masked:
        assert np.isnan(as_np(lazy.abundances.data)[:, 2, 40]).all()


def test_lazy_denoised_two_dimensional_signal():
    rng = np.random.default_rng(3)
    P = rng.random((3, 6, 7))
    A = rng.dirichlet(np.ones(3) * 0.5, size=(11, 13))
    A[0, 0], A[5, 5], A[10, 12] = np.eye(3)
    data = np.einsum("yxk,kab->yxab", A, P) + rng.normal(0, 1e-3, (11, 13, 6, 7))
    s = hs.signals.Signal2D(data)
    eager = hu.nfindr_unmix(s, 3, endmember_estimate="denoised")
    lazy = hu.nfindr_unmix(
        lazy_copy(s, (4, 5)), 3, endmember_estimate="denoised", lazy_output=False
    )
    assert not lazy.abundances._lazy
    np.testing.assert_array_equal(lazy.indices, eager.indices)
    np.testing.assert_allclose(lazy.abundances.data, eager.abundances.data, atol=1e-6)
    # the planted pure pixels are found; abundances match the truth
    truth_of = [int(np.argmax(A[tuple(i)])) for i in lazy.indices]
    assert sorted(truth_of) == [0, 1, 2]
    true = np.moveaxis(A[..., truth_of], -1, 0)
    np.testing.assert_allclose(lazy.abundances.data, true, atol=0.02)


def _is_array(v):
    return isinstance(v, np.ndarray)


class HeldBytes(Callback):
    """Largest total size of the task results dask holds at once."""

    def __init__(self):
        super().__init__()
        self.peak = 0

    def _posttask(self, key, result, dsk, state, worker_id):
        # numpy results only (a zarr array object reports the file's size)
        held = sum(v.nbytes for v in state["cache"].values() if _is_array(v))
        self.peak = max(self.peak, held)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("estimate", ["pixel", "denoised"])
def test_never_holds_the_whole_cube(estimate, masked, tmp_path):
    s, _ = spectrum_image((128, 128), 64, 3, dose=1e3, random_state=5)
    cube = s.data.nbytes
    path = tmp_path / "cube.zspy"
    s.save(path, chunks=(8, 128, 64))  # 16 blocks of 1/16 of the cube
    sl = hs.load(path, lazy=True)
    kw = {"endmember_estimate": estimate}
    if masked:  # a mask is a second input to every block: order unchanged?
        mask = np.zeros((128, 128), bool)
        mask[10:40, 50:90] = True
        kw["navigation_mask"] = hs.signals.BaseSignal(mask).T
    meter = HeldBytes()
    # one worker thread: the held memory then depends on dask's task order only
    with meter, dask.config.set(scheduler="threads", num_workers=1):
        res = hu.nfindr_unmix(sl, 3, lazy_output=False, **kw)
    assert meter.peak > 0
    assert meter.peak < 0.3 * cube, (meter.peak, cube)
    eager = hu.nfindr_unmix(s, 3, **kw)
    np.testing.assert_array_equal(res.indices, eager.indices)
    # float32 data: the two paths agree to float32 rounding
    np.testing.assert_allclose(
        res.abundances.data, eager.abundances.data, atol=1e-5, equal_nan=True
    )


def test_zspy_file_chunked_over_navigation(noisy, tmp_path):
    s, truth = noisy
    path = tmp_path / "map.zspy"
    lazy_copy(s, (10, 11)).save(path, chunks=(10, 11, 64))
    loaded = hs.load(path, lazy=True)
    loaded.set_signal_type("spectral_map")
    res = loaded.nfindr_unmix(3, lazy_output=True)
    assert isinstance(res.abundances.data, da.Array)
    res.save(tmp_path / "out.zspy")  # written chunk by chunk
    back = hu.UnmixingResult.load(tmp_path / "out.zspy")
    eager = hu.nfindr_unmix(s, 3)
    np.testing.assert_array_equal(back.indices, eager.indices)
    np.testing.assert_allclose(back.abundances.data, eager.abundances.data, atol=1e-6)
    np.testing.assert_allclose(
        back.residual.data, eager.residual.data, rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("estimate", ["pixel", "denoised"])
def test_silent_when_the_preference_is_off(noisy, capfd, estimate):
    s, _ = noisy
    assert hs.preferences.General.show_progressbar is False  # conftest
    hu.nfindr_unmix(lazy_copy(s, (10, 11)), 3, endmember_estimate=estimate)
    out, err = capfd.readouterr()
    assert err == ""
    assert out == ""


def test_progressbar_on_request(noisy, capfd):
    s, _ = noisy
    hu.nfindr_unmix(lazy_copy(s, (10, 11)), 3, show_progressbar=True, lazy_output=False)
    out, err = capfd.readouterr()
    assert "Completed" in out + err  # dask's own progress bar
    with pytest.raises(TypeError, match="show_progressbar"):
        hu.nfindr_unmix(s, 3, show_progressbar="yes")


def test_save_computes_each_block_once(noisy, tmp_path, monkeypatch):
    from hyperspy_unmix._core import abundances

    s, _ = noisy
    # the "pixel" path reads the data for its abundances (3 x 4 blocks)
    res = hu.nfindr_unmix(lazy_copy(s, (10, 11)), 3, endmember_estimate="pixel")
    calls = []
    real = abundances.unmix

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(abundances, "unmix", counting)
    with dask.config.set(scheduler="threads"):
        res.save(tmp_path / "r.zspy")
    assert len(calls) == 12  # abundances and residual from one pass
    assert res.abundances._lazy and res.residual._lazy  # the result is untouched


_READS = []


def _count_read(block):
    _READS.append(block.shape)
    return block


@pytest.mark.parametrize("estimate, full_reads", [("denoised", 2), ("pixel", 3)])
def test_reads_of_the_data(noisy, estimate, full_reads):
    # Lazily the default pipeline (screening on) reads every block twice for
    # "denoised" (the moments, then the scores with each pixel's x . c,
    # x . 1 and x . x, from which the screening and the abundances follow)
    # and three times for "pixel" (its abundances need the data again);
    # beyond those, only the first block (the shift) and the endmember pixels.
    s, _ = noisy
    sl = lazy_copy(s, (10, 11))  # 3 x 4 navigation blocks
    n_blocks = 12
    sl.data = sl.data.map_blocks(_count_read, dtype=sl.data.dtype)
    _READS.clear()
    with dask.config.set(scheduler="threads"):
        res = hu.nfindr_unmix(sl, 3, endmember_estimate=estimate, lazy_output=False)
    whole = sum(1 for shape in _READS if shape[:2] != (0, 0))
    assert res.outliers is not None and not res.outliers.data.any()
    assert full_reads * n_blocks <= whole <= full_reads * n_blocks + 1 + 3
