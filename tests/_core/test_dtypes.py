import dask.array as da
import numpy as np
import pytest

from hyperspy_unmix._core.dtypes import (
    as_working_float,
    remove_offset,
    working_dtype,
)
from hyperspy_unmix._core.tapers import taper_2d
from hyperspy_unmix._core.windowed_fft import sliding_fft_array


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.float16, np.float32),
        (np.float32, np.float32),
        (np.float64, np.float64),
        (np.bool_, np.float32),
        (np.uint8, np.float32),
        (np.int16, np.float32),
        (np.uint32, np.float64),
        (np.int64, np.float64),
    ],
)
def test_working_dtype(dtype, expected):
    assert working_dtype(dtype) == expected
    x = np.ones((4, 4), dtype=dtype)
    assert as_working_float(x).dtype == expected
    lazy = as_working_float(da.from_array(x, chunks=2))
    assert isinstance(lazy, da.Array) and lazy.dtype == expected


def test_complex_and_object_refused():
    with pytest.raises(TypeError, match="image.*complex"):
        as_working_float(np.ones((3, 3), complex), name="image")
    with pytest.raises(TypeError, match="real numbers"):
        as_working_float(np.array([["a"]]))


def test_float16_works_with_maximum_filter():
    from scipy import ndimage

    x = np.random.default_rng(0).random((16, 16)).astype(np.float16)
    y = ndimage.maximum_filter(as_working_float(x), size=3)
    assert np.array_equal(y, ndimage.maximum_filter(x.astype(np.float32), size=3))


@pytest.mark.parametrize(
    "dtype, offset",
    [
        (np.int64, 10**9),
        (np.int64, 10**15),
        (np.int64, 2**62),
        (np.uint64, 10**19),
        (np.uint32, 4 * 10**9),
        (np.int32, -(2 * 10**9)),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_offset_removal_gives_float64_sliding_fft(dtype, offset, lazy):
    rng = np.random.default_rng(0)
    counts = np.rint(rng.normal(0, 50, (80, 80))).astype(np.int64)
    data = counts.astype(dtype) + dtype(offset)
    taper = taper_2d("hann", (32, 32))
    reference = sliding_fft_array(
        counts.astype(np.float64), (32, 32), (16, 16), taper=taper
    )
    src = da.from_array(data, chunks=40) if lazy else data
    shifted, used = remove_offset(src)
    if lazy:
        assert isinstance(shifted, da.Array)
        shifted = shifted.compute()
    assert shifted.dtype == np.float64
    # exact integer differences
    assert np.array_equal(shifted, (counts - counts[0, 0]).astype(np.float64))
    got = sliding_fft_array(shifted, (32, 32), (16, 16), taper=taper)
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5)


def test_offset_validation():
    x = np.arange(16, dtype=np.int64).reshape(4, 4)
    with pytest.raises(TypeError, match="offset"):
        remove_offset(x, 1.5)
    with pytest.raises(ValueError, match="offset"):
        remove_offset(x.astype(np.uint32), -1)
    with pytest.raises(ValueError, match="offset"):
        remove_offset(x.astype(np.float32), 3)
    y, off = remove_offset(x.astype(np.uint8))
    assert off == 0 and y.dtype == np.float32
