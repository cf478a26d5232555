"""The sliding-window FFT kernel against a brute-force per-window reference."""

import numpy as np
import pytest
import scipy.signal

from hyperspy_unmix._core.tapers import taper_1d, taper_2d
from hyperspy_unmix._core.windowed_fft import (
    copy_plan,
    sliding_fft_array,
    window_grid_shape,
)


def reference(
    image,
    window,
    step,
    taper=None,
    *,
    log=True,
    power=False,
    crop=None,
    dc_radius=None,
    normalize=None,
):
    """What notebooks do: one numpy.fft.fft2 per window, in float64."""
    wy, wx = window
    ny, nx = image.shape
    rows = []
    for y in range(0, ny - wy + 1, step[0]):
        row = []
        for x in range(0, nx - wx + 1, step[1]):
            win = image[y : y + wy, x : x + wx].astype(np.float64)
            win = win - win.mean()
            if taper is not None:
                win = win * taper
            f = np.abs(np.fft.fftshift(np.fft.fft2(win)))
            if power:
                f = f**2
            if log:
                f = np.log1p(f)
            if crop is not None:
                y0, x0 = wy // 2 - crop[0] // 2, wx // 2 - crop[1] // 2
                f = f[y0 : y0 + crop[0], x0 : x0 + crop[1]]
            if dc_radius is not None:
                cy, cx = f.shape[0] // 2, f.shape[1] // 2
                for i in range(f.shape[0]):
                    for j in range(f.shape[1]):
                        if (i - cy) ** 2 + (j - cx) ** 2 <= dc_radius**2:
                            f[i, j] = 0
            if normalize == "sum":
                f = f / f.sum()
            elif normalize == "l2":
                f = f / np.sqrt((f**2).sum())
            elif normalize == "max":
                f = f / np.abs(f).max()
            row.append(f)
        rows.append(row)
    return np.array(rows)


def assert_float32_close(actual, expected):
    assert actual.dtype == np.float32
    assert actual.shape == expected.shape
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=2e-5 * scale)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize(
    "shape, window, step",
    [
        ((48, 48), (8, 8), (4, 4)),  # even, tiles exactly
        ((50, 61), (8, 8), (3, 5)),  # steps that do not tile the image
        ((50, 61), (7, 9), (4, 2)),  # odd and rectangular windows
        ((37, 29), (9, 6), (5, 7)),  # odd/even mix, rectangular image
        ((30, 64), (12, 30), (6, 11)),
        ((21, 21), (21, 21), (1, 1)),  # one window, the whole image
        ((33, 40), (5, 5), (1, 1)),  # step 1: every position
    ],
)
@pytest.mark.parametrize("taper", ["hann", None])
def test_matches_per_window_fft2(rng, shape, window, step, taper):
    image = rng.random(shape).astype(np.float32)
    t = None if taper is None else taper_2d(taper, window)
    got = sliding_fft_array(image, window, step, taper=t)
    assert_float32_close(got, reference(image, window, step, t))


@pytest.mark.parametrize("crop", [(5, 5), (4, 6), (7, 3), (1, 1), (8, 9)])
@pytest.mark.parametrize("window", [(8, 9), (9, 8), (10, 10), (11, 11)])
def test_crop_is_the_centre_of_the_shifted_spectrum(rng, window, crop):
    image = rng.random((40, 35)).astype(np.float32)
    crop = (min(crop[0], window[0]), min(crop[1], window[1]))
    t = taper_2d("hamming", window)
    got = sliding_fft_array(image, window, (5, 6), taper=t, crop_shape=crop)
    assert_float32_close(got, reference(image, window, (5, 6), t, crop=crop))


@pytest.mark.parametrize("log", [True, False])
@pytest.mark.parametrize("power", [True, False])
def test_log_and_power(rng, log, power):
    image = rng.random((40, 40)).astype(np.float32)
    t = taper_2d("blackman", (10, 12))
    got = sliding_fft_array(image, (10, 12), (6, 4), taper=t, log=log, power=power)
    want = reference(image, (10, 12), (6, 4), t, log=log, power=power)
    assert_float32_close(got, want)


@pytest.mark.parametrize("normalize", ["sum", "l2", "max"])
@pytest.mark.parametrize("dc_radius", [None, 0, 2])
def test_dc_removal_and_normalisation(rng, normalize, dc_radius):
    image = rng.random((45, 38)).astype(np.float32)
    t = taper_2d("tukey", (12, 11), 0.3)
    kw = dict(crop_shape=(9, 8), dc_radius=dc_radius, normalize=normalize)
    got = sliding_fft_array(image, (12, 11), (5, 4), taper=t, **kw)
    want = reference(
        image,
        (12, 11),
        (5, 4),
        t,
        crop=(9, 8),
        dc_radius=dc_radius,
        normalize=normalize,
    )
    assert_float32_close(got, want)


def test_flat_windows_stay_zero_when_normalised():
    # a constant image: every window is all zeros after mean removal
    image = np.full((20, 20), 3.0, dtype=np.float32)
    got = sliding_fft_array(image, (8, 8), (4, 4), normalize="sum")
    assert np.all(got == 0)


def test_float64_input_with_large_offset_keeps_precision(rng):
    image = 1e6 + rng.random((40, 40))  # float64
    t = taper_2d("hann", (16, 16))
    got = sliding_fft_array(image, (16, 16), (8, 8), taper=t)
    assert_float32_close(got, reference(image, (16, 16), (8, 8), t))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, bool])
def test_integer_input(rng, dtype):
    image = (rng.random((30, 33)) * 200).astype(dtype)
    t = taper_2d("hann", (8, 8))
    got = sliding_fft_array(image, (8, 8), (3, 3), taper=t)
    assert_float32_close(got, reference(image, (8, 8), (3, 3), t))


def test_stack_of_images_keeps_leading_axes(rng):
    images = rng.random((2, 3, 30, 26)).astype(np.float32)
    t = taper_2d("hann", (8, 6))
    got = sliding_fft_array(images, (8, 6), (4, 5), taper=t)
    assert got.shape[:2] == (2, 3)
    for i in range(2):
        for j in range(3):
            assert_float32_close(got[i, j], reference(images[i, j], (8, 6), (4, 5), t))


def test_blocks_and_threads_do_not_change_the_result(rng, monkeypatch):
    import hyperspy_unmix._core.windowed_fft as wf

    image = rng.random((70, 90)).astype(np.float32)
    t = taper_2d("hann", (16, 16))
    one = sliding_fft_array(image, (16, 16), (3, 3), taper=t, workers=1)
    # tiny blocks: one window row split into several blocks, many tasks
    monkeypatch.setattr(wf, "_BLOCK_BYTES", 4 * 16 * 16 * 5)
    many = sliding_fft_array(image, (16, 16), (3, 3), taper=t, workers=3)
    np.testing.assert_array_equal(one, many)
    assert_float32_close(one, reference(image, (16, 16), (3, 3), t))


def test_writes_into_given_output(rng):
    image = rng.random((32, 32)).astype(np.float32)
    out = np.full((5, 5, 8, 8), np.nan, dtype=np.float32)
    got = sliding_fft_array(image, (8, 8), (6, 6), out=out)
    assert got is out
    assert np.isfinite(out).all()
    with pytest.raises(ValueError, match="out"):
        sliding_fft_array(image, (8, 8), (6, 6), out=np.empty((5, 5, 8, 7), np.float32))
    with pytest.raises(ValueError, match="out"):
        sliding_fft_array(image, (8, 8), (6, 6), out=np.empty((5, 5, 8, 8)))


def test_input_is_not_modified(rng):
    image = rng.random((30, 30)).astype(np.float32)
    before = image.copy()
    sliding_fft_array(image, (8, 8), (2, 2), taper=taper_2d("hann", (8, 8)))
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize(
    "image, window, step, want",
    [((100, 90), (16, 16), (8, 8), (11, 10)), ((20, 21), (20, 4), (1, 17), (1, 2))],
)
def test_window_grid_shape(image, window, step, want):
    assert window_grid_shape(image, window, step) == want
    # every window fits, one more step would not
    for n, s, w, size in zip(want, step, window, image):
        assert (n - 1) * s + w <= size < n * s + w


@pytest.mark.parametrize("window", [(4, 4), (5, 7), (8, 6), (9, 9)])
@pytest.mark.parametrize("crop", [None, (3, 3), (4, 2)])
@pytest.mark.parametrize("modulated", [(False, False), (True, True)])
def test_copy_plan_writes_every_output_pixel_once(window, crop, modulated):
    crop = window if crop is None else crop
    modulated = tuple(m and w % 2 == 0 for m, w in zip(modulated, window))
    col_lo, col_hi, blocks = copy_plan(window, crop, modulated)
    hits = np.zeros(crop, dtype=int)
    for dr, dc, sr, sc in blocks:
        hits[dr, dc] += 1
        src = np.zeros((window[0], col_hi - col_lo))[sr, sc]
        assert src.shape == hits[dr, dc].shape
    assert np.all(hits == 1)


def test_tapers_match_numpy_and_scipy():
    np.testing.assert_array_equal(taper_1d("hann", 11), np.hanning(11))
    np.testing.assert_array_equal(taper_1d("hamming", 10), np.hamming(10))
    np.testing.assert_array_equal(taper_1d("blackman", 9), np.blackman(9))
    np.testing.assert_allclose(
        taper_1d("tukey", 12, 0.25), scipy.signal.windows.tukey(12, 0.25)
    )
    np.testing.assert_array_equal(taper_1d(None, 5), np.ones(5))
    np.testing.assert_allclose(
        taper_2d("hann", (4, 6)), np.outer(np.hanning(4), np.hanning(6))
    )
    with pytest.raises(ValueError, match="window"):
        taper_1d("gauss", 8)
