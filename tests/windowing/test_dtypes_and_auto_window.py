"""sliding_fft on any real dtype, and its lattice-aware window (issue 12)."""

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix._core.lattice import auto_window
from hyperspy_unmix.data import atomic_image
from hyperspy_unmix.windowing import sliding_fft


@pytest.fixture(scope="module")
def counts():
    rng = np.random.default_rng(0)
    img, _ = atomic_image((96, 96), 8, noise=0.1, random_state=1)
    return np.rint(1000 * img.data).astype(np.int64) + rng.integers(0, 3, (96, 96))


def reference(values):
    return sliding_fft(hs.signals.Signal2D(values.astype(np.float64)), 32, 8).data


@pytest.mark.parametrize(
    "dtype, offset",
    [
        (np.int64, 2**62),
        (np.int64, -(2**62)),
        (np.uint64, 2**63 + 12345),
        (np.uint32, 2**31 + 7),
        (np.int32, -(2**30)),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_large_offsets_give_the_float64_result(counts, dtype, offset, lazy):
    ref = reference(counts)
    data = (
        counts.astype(dtype) + dtype(offset)
        if offset > 0
        else (counts.astype(dtype) - dtype(-offset))
    )
    # the offset is really there (and would ruin a float cast)
    assert abs(float(data[0, 0]) - float(counts[0, 0])) >= 2**30
    s = hs.signals.Signal2D(data)
    if lazy:
        s = s.as_lazy()
    out = sliding_fft(s, 32, 8).data
    out = np.asarray(out.compute() if hasattr(out, "compute") else out)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref, rtol=2e-6, atol=2e-5 * np.abs(ref).max())


@pytest.mark.parametrize("dtype", [np.float16, np.uint8, np.int16, bool])
def test_small_dtypes_equal_their_float64_values(counts, dtype):
    values = (counts > counts.mean()) if dtype is bool else counts % 200
    data = values.astype(dtype)
    out = sliding_fft(hs.signals.Signal2D(data), 32, 8).data
    ref = reference(data.astype(np.float64))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_complex_is_refused():
    with pytest.raises(TypeError, match="image"):
        sliding_fft(hs.signals.Signal2D(np.ones((64, 64), complex)), 32, 8)


@pytest.mark.parametrize("spacing", [6, 12, 20])
def test_auto_window_follows_the_spacing(spacing, capsys):
    img, truth = atomic_image((160, 160), spacing, random_state=2)
    stack = sliding_fft(img, "auto")
    assert capsys.readouterr().out == ""  # prints nothing
    p = stack.metadata.hyperspy_unmix.parameters
    assert p.window_size_requested == "auto"
    assert abs(p.lattice_spacing - spacing) <= 1.0  # to the autocorrelation pixel
    chosen = auto_window(p.lattice_spacing, image_shape=(160, 160))
    assert tuple(p.window_size) == (chosen["window_size"],) * 2
    assert tuple(p.step) == (chosen["step"],) * 2
    assert p.zoom == chosen["zoom"]
    # several periods per window
    assert 4 * spacing <= p.window_size[0] <= 5 * spacing + 4
    # the same stack as asking for these values
    same = sliding_fft(img, chosen["window_size"], chosen["step"], zoom=chosen["zoom"])
    np.testing.assert_array_equal(stack.data, same.data)


def test_auto_window_given_step_and_crop_are_kept():
    img, _ = atomic_image((160, 160), 10, random_state=2)
    stack = sliding_fft(img, "auto", 5, crop=12)
    p = stack.metadata.hyperspy_unmix.parameters
    assert tuple(p.step) == (5, 5) and tuple(p.crop) == (12, 12)
    assert stack.axes_manager.signal_shape == (12, 12)


def test_auto_window_on_a_stack_and_lazily():
    img, _ = atomic_image((128, 128), 10, random_state=2)
    eager = sliding_fft(img, "auto")
    lazy = sliding_fft(img.as_lazy(), "auto")
    np.testing.assert_allclose(lazy.data.compute(), eager.data, atol=1e-6)
    stack = sliding_fft(hs.stack([img, img]), "auto")
    np.testing.assert_allclose(stack.data[1], eager.data, atol=1e-6)


def test_bad_auto_inputs():
    img, _ = atomic_image((128, 128), 10, random_state=2)
    with pytest.raises(ValueError, match="window_size"):
        sliding_fft(img, "big")
    flat = hs.signals.Signal2D(np.zeros((64, 64)))
    with pytest.raises(ValueError, match="window_size"):
        sliding_fft(flat, "auto")
    assert hu.sliding_fft is sliding_fft
