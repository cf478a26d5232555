"""sliding_fft: signals in, calibrated SlidingFFT out, lazy == eager, bad input."""

import dask.array as da
import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix import sliding_fft
from hyperspy_unmix.signals import (
    AtomicResolutionImage,
    LazySlidingFFT,
    SlidingFFT,
)


def make_image(shape=(60, 70), scale=0.02, offset=(0.3, -0.1), seed=0, lazy=False):
    rng = np.random.default_rng(seed)
    data = rng.random(shape).astype(np.float32)
    s = hs.signals.Signal2D(data)
    for ax, off in zip(s.axes_manager.signal_axes, offset[::-1]):
        ax.scale, ax.offset, ax.units = scale, off, "nm"
    s.axes_manager.signal_axes[0].name = "x"
    s.axes_manager.signal_axes[1].name = "y"
    s.metadata.General.title = "img"
    s.metadata.set_item("Signal.quantity", "Intensity (counts)")
    return s.as_lazy() if lazy else s


def brute_force(data, window, step):
    wy, wx = window
    taper = np.outer(np.hanning(wy), np.hanning(wx))
    ny, nx = data.shape
    return np.array(
        [
            [
                np.log1p(
                    np.abs(
                        np.fft.fftshift(
                            np.fft.fft2(
                                (
                                    data[y : y + wy, x : x + wx]
                                    - data[y : y + wy, x : x + wx].mean()
                                )
                                * taper
                            )
                        )
                    )
                )
                for x in range(0, nx - wx + 1, step[1])
            ]
            for y in range(0, ny - wy + 1, step[0])
        ]
    )


def test_stack_values_and_type():
    s = make_image()
    out = sliding_fft(s, window_size=(12, 9), step=(5, 7))
    assert isinstance(out, SlidingFFT) and not out._lazy
    assert out.data.dtype == np.float32
    want = brute_force(s.data.astype(np.float64), (12, 9), (5, 7))
    assert out.data.shape == want.shape
    np.testing.assert_allclose(out.data, want, rtol=2e-5, atol=2e-5 * want.max())


@pytest.mark.parametrize("window, step", [(16, 8), ((15, 10), (4, 6)), (9, 9)])
def test_navigation_axes_sit_at_window_centres(window, step):
    s = make_image(shape=(61, 50), scale=0.05, offset=(1.2, -0.7))
    out = sliding_fft(s, window_size=window, step=step)
    wy, wx = (window, window) if np.isscalar(window) else window
    sy, sx = (step, step) if np.isscalar(step) else step
    ax_x, ax_y = out.axes_manager.navigation_axes
    img_x, img_y = s.axes_manager.signal_axes
    for ax, img_ax, w, st in ((ax_x, img_x, wx, sx), (ax_y, img_y, wy, sy)):
        centres = np.arange(ax.size) * st + (w - 1) / 2  # in pixels
        want = img_ax.offset + centres * img_ax.scale
        np.testing.assert_allclose(ax.axis, want)
        assert ax.units == "nm"
        # the last window still fits inside the image
        assert (ax.size - 1) * st + w <= img_ax.size < ax.size * st + w


@pytest.mark.parametrize(
    "window, a, b", [(40, 0.25, 0.2), (45, 0.225, 0.375), ((40, 45), 0.225, 0.25)]
)
def test_bragg_peak_at_inverse_spacing(window, a, b):
    # cosine lattice: spacing a (nm) along x, b along y, pixel 0.025 nm; the
    # windows hold whole periods so that the peaks fall on pixels
    pixel = 0.025
    yy, xx = np.mgrid[0:180, 0:200] * pixel
    data = np.cos(2 * np.pi * xx / a) + 0.5 * np.cos(2 * np.pi * yy / b)
    s = hs.signals.Signal2D(data.astype(np.float32))
    for ax in s.axes_manager.signal_axes:
        ax.scale, ax.units = pixel, "nm"
    out = sliding_fft(s, window_size=window, step=20)
    wy, wx = (window, window) if np.isscalar(window) else window
    kx, ky = out.axes_manager.signal_axes
    assert kx.units == "1 / nm" and ky.units == "1 / nm"
    np.testing.assert_allclose(kx.scale, 1 / (wx * pixel))
    np.testing.assert_allclose(ky.scale, 1 / (wy * pixel))
    pattern = out.data.mean(axis=(0, 1))
    # zero frequency exactly at 0 on both axes
    assert kx.axis[wx // 2] == pytest.approx(0, abs=1e-12)
    assert ky.axis[wy // 2] == pytest.approx(0, abs=1e-12)
    row = pattern[wy // 2]  # ky = 0: the x lattice
    col = pattern[:, wx // 2]  # kx = 0: the y lattice
    peak_x = abs(kx.axis[np.argmax(row)])
    peak_y = abs(ky.axis[np.argmax(col)])
    assert peak_x == pytest.approx(1 / a, abs=1e-9)
    assert peak_y == pytest.approx(1 / b, abs=1e-9)


def test_metadata_and_provenance_input_untouched():
    s = make_image()
    data_before = s.data.copy()
    axes_before = s.axes_manager.as_dictionary()
    md_before = s.metadata.as_dictionary()
    out = sliding_fft(s, 16, 8, window="tukey", crop=9, remove_dc=1, normalize="l2")
    np.testing.assert_array_equal(s.data, data_before)
    assert s.axes_manager.as_dictionary() == axes_before
    assert s.metadata.as_dictionary() == md_before
    md = out.metadata
    assert md.General.title == "Sliding FFT of img"
    assert md.Signal.signal_type == "sliding_fft"
    assert md.Signal.FFT.shifted is True
    assert not md.has_item("Signal.quantity")
    p = md.hyperspy_unmix.parameters
    assert md.hyperspy_unmix.method == "sliding_fft"
    assert p.window_size == [16, 16] and p.step == [8, 8] and p.window == "tukey"
    assert p.crop == [9, 9] and p.remove_dc == 1 and p.normalize == "l2"
    assert p.log is True
    assert out.axes_manager.signal_shape == (9, 9)
    # the DC pixel and its neighbours within 1 pixel are zero, unit l2 norm
    assert np.all(out.data[..., 4, 4] == 0) and np.all(out.data[..., 3, 4] == 0)
    norms = np.sqrt((out.data.astype(np.float64) ** 2).sum(axis=(-2, -1)))
    np.testing.assert_allclose(norms, 1, rtol=1e-5)


def test_zoom_equals_crop():
    s = make_image()
    a = sliding_fft(s, 16, 8, zoom=2)
    b = sliding_fft(s, 16, 8, crop=8)
    np.testing.assert_array_equal(a.data, b.data)
    full = sliding_fft(s, 16, 8)
    np.testing.assert_array_equal(b.data, full.data[..., 4:12, 4:12])
    np.testing.assert_allclose(
        b.axes_manager.signal_axes[0].axis, full.axes_manager.signal_axes[0].axis[4:12]
    )


def test_stack_of_images_keeps_navigation_axes():
    rng = np.random.default_rng(1)
    s = hs.signals.Signal2D(rng.random((2, 3, 40, 36)).astype(np.float32))
    s.axes_manager.navigation_axes[0].name = "tilt"
    s.axes_manager.navigation_axes[0].scale = 2.5
    out = sliding_fft(s, 12, 6)
    assert out.data.shape == (2, 3, 5, 5, 12, 12)
    nav = out.axes_manager.navigation_axes
    assert [ax.size for ax in nav] == [5, 5, 3, 2]
    assert nav[2].name == "tilt" and nav[2].scale == 2.5
    for i in range(2):
        for j in range(3):
            want = brute_force(s.data[i, j].astype(np.float64), (12, 12), (6, 6))
            np.testing.assert_allclose(out.data[i, j], want, rtol=2e-5, atol=1e-4)


def test_method_on_atomic_resolution_image():
    s = make_image()
    s.set_signal_type("atomic_resolution")
    assert isinstance(s, AtomicResolutionImage)
    out = s.sliding_fft(window_size=16, step=8, window="hamming")
    ref = sliding_fft(s, 16, 8, window="hamming")
    np.testing.assert_array_equal(out.data, ref.data)


@pytest.mark.parametrize(
    "image_chunks, out_chunks",
    [((23, 31), None), ((37, 17), (3, 2)), ((60, 70), (1, 4)), ((11, 70), (5, 5))],
)
def test_lazy_equals_eager(image_chunks, out_chunks):
    s = make_image(shape=(83, 71))
    eager = sliding_fft(s, window_size=(14, 11), step=(5, 3), crop=(9, 8))
    lazy_image = s.as_lazy()
    lazy_image.data = lazy_image.data.rechunk(image_chunks)
    lazy = sliding_fft(lazy_image, (14, 11), (5, 3), crop=(9, 8), chunks=out_chunks)
    assert isinstance(lazy, LazySlidingFFT)
    assert isinstance(lazy.data, da.Array)
    assert lazy.data.shape == eager.data.shape
    assert lazy.axes_manager.as_dictionary() == eager.axes_manager.as_dictionary()
    np.testing.assert_allclose(lazy.data.compute(), eager.data, rtol=1e-6, atol=1e-6)
    # declared chunks are the real block shapes
    for block, shape in zip(
        lazy.data.to_delayed().ravel(), (c for c in np.ndindex(*lazy.data.numblocks))
    ):
        want = tuple(lazy.data.chunks[d][i] for d, i in enumerate(shape))
        assert block.compute().shape == want


def test_lazy_output_from_memory_and_eager_from_lazy():
    s = make_image()
    eager = sliding_fft(s, 12, 4)
    lazy = sliding_fft(s, 12, 4, lazy_output=True)
    assert isinstance(lazy, LazySlidingFFT)
    np.testing.assert_allclose(lazy.data.compute(), eager.data, rtol=1e-6, atol=1e-6)
    back = sliding_fft(s.as_lazy(), 12, 4, lazy_output=False)
    assert isinstance(back, SlidingFFT) and not back._lazy
    np.testing.assert_array_equal(back.data, eager.data)


def test_lazy_input_is_not_computed():
    calls = []

    def produce(block):
        if block.size:  # dask calls it on empty arrays to infer the meta
            calls.append(block.shape)
        return block

    s = make_image(shape=(64, 64), lazy=True)
    s.data = s.data.rechunk(32).map_blocks(produce, dtype=s.data.dtype)
    out = sliding_fft(s, 16, 8)
    assert isinstance(out, LazySlidingFFT)
    assert calls == []
    out.data[0, 0].compute()  # the counter does count real work
    assert calls


def test_lazy_stack_of_images():
    rng = np.random.default_rng(2)
    s = hs.signals.Signal2D(rng.random((3, 40, 44)).astype(np.float32)).as_lazy()
    s.data = s.data.rechunk((2, 17, 30))
    out = sliding_fft(s, 10, 5)
    eager = sliding_fft(s, 10, 5, lazy_output=False)
    np.testing.assert_allclose(out.data.compute(), eager.data, rtol=1e-6, atol=1e-6)


def test_save_and_load(tmp_path):
    out = sliding_fft(make_image(), 16, 8)
    path = tmp_path / "stack.hspy"
    out.save(path)
    back = hs.load(path)
    assert isinstance(back, SlidingFFT)
    np.testing.assert_array_equal(back.data, out.data)
    assert back.metadata.hyperspy_unmix.parameters.window == "hann"


# --------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(window_size=80), ValueError, "window_size"),
        (dict(window_size=(16, 71)), ValueError, "window_size"),
        (dict(window_size=3), ValueError, "window_size"),
        (dict(window_size=(8, 8, 8)), ValueError, "window_size"),
        (dict(window_size=8.0), TypeError, "window_size"),
        (dict(step=0), ValueError, "step"),
        (dict(step=-2), ValueError, "step"),
        (dict(step=(4, 20)), ValueError, "allow_gaps"),
        (dict(step=1.5), TypeError, "step"),
        (dict(window="gauss"), ValueError, "window"),
        (dict(crop=20), ValueError, "crop"),
        (dict(crop=0), ValueError, "crop"),
        (dict(crop=8, zoom=2), ValueError, "zoom"),
        (dict(zoom=0.5), ValueError, "zoom"),
        (dict(remove_dc=-1), ValueError, "remove_dc"),
        (dict(normalize="mean"), ValueError, "normalize"),
        (dict(log="yes"), TypeError, "log"),
        (dict(power=1), TypeError, "power"),
        (dict(tukey_alpha=2), ValueError, "tukey_alpha"),
        (dict(lazy_output="no"), TypeError, "lazy_output"),
        (dict(workers=0), ValueError, "workers"),
        (dict(chunks=0), ValueError, "chunks"),
        (dict(chunks=(2, 2, 2)), ValueError, "chunks"),
        (dict(tukey_alpha=True), TypeError, "tukey_alpha"),
        (dict(allow_gaps=1), TypeError, "allow_gaps"),
        (dict(memory_limit=1000), MemoryError, "lazy_output=True"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    s = make_image()
    before = s.data.copy()
    kwargs = {"window_size": 16, "step": 8, **kwargs}
    with pytest.raises(error, match=match):
        sliding_fft(s, **kwargs)
    np.testing.assert_array_equal(s.data, before)


def test_gaps_allowed_with_flag():
    s = make_image()
    out = sliding_fft(s, 8, (4, 20), allow_gaps=True)
    want = brute_force(s.data.astype(np.float64), (8, 8), (4, 20))
    np.testing.assert_allclose(out.data, want, rtol=2e-5, atol=1e-4)
    lazy = sliding_fft(s.as_lazy(), 8, (20, 12), allow_gaps=True)
    eager = sliding_fft(s, 8, (20, 12), allow_gaps=True)
    np.testing.assert_allclose(lazy.data.compute(), eager.data, rtol=1e-6, atol=1e-6)


def test_memory_error_says_how_big():
    s = make_image()
    with pytest.raises(MemoryError, match=r"0\.00 GiB.*memory_limit"):
        sliding_fft(s, 16, 8, memory_limit=10)
    # but a lazy output is fine
    assert sliding_fft(s, 16, 8, memory_limit=10, lazy_output=True)._lazy


def test_bad_signals():
    with pytest.raises(TypeError, match="image"):
        sliding_fft(np.zeros((32, 32)))
    with pytest.raises(ValueError, match="image.*signal dimension 2"):
        sliding_fft(hs.signals.Signal1D(np.zeros((32, 32))))
    with pytest.raises(TypeError, match="image.*complex"):
        sliding_fft(hs.signals.ComplexSignal2D(np.zeros((32, 32), complex)))
    for bad in (np.nan, np.inf):
        s = make_image()
        s.data[3, 4] = bad
        with pytest.raises(ValueError, match="image.*NaN"):
            sliding_fft(s, 16, 8)
        lazy = sliding_fft(s.as_lazy(), 16, 8)  # found block by block at compute
        with pytest.raises(ValueError, match="image.*NaN"):
            lazy.data.compute()
    s = make_image()
    s.axes_manager.signal_axes[0].convert_to_non_uniform_axis()
    with pytest.raises(NotImplementedError, match="image.*non-uniform"):
        sliding_fft(s, 16, 8)


# (found in review of 0.1)
def test_sliding_fft_axis_names_stay_unique_on_stacks():
    rng = np.random.default_rng(0)
    s = hs.signals.Signal2D(rng.random((3, 32, 32), dtype=np.float32))
    s.axes_manager[0].name = "x"  # the stack's navigation axis
    names = [a.name for a in hu.sliding_fft(s, 8, 4).axes_manager._axes]
    assert len(names) == len(set(names)), names
    assert names[0] == "x"
