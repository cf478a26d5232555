"""UnmixingResult.abundances_on_image / plot_phases on a sliding-FFT unmixing."""

import matplotlib.figure
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

import hyperspy_unmix as hu
from hyperspy_unmix.phases import phase_maps

WINDOW, STEP = 32, 8


@pytest.fixture(scope="module")
def unmixed():
    image, truth = hu.data.multiphase_lattice(
        (192, 224), n_phases=2, noise=0.05, random_state=4
    )
    stack = hu.sliding_fft(image, WINDOW, STEP, zoom=2, remove_dc=2, normalize="sum")
    return image, truth, hu.nfindr_unmix(stack, 2, endmember_estimate="denoised")


# These methods are deprecated (they forward to hyperspy_unmix.phases); the
# tests keep their behaviour until they are removed in 0.3.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`UnmixingResult.*is deprecated:DeprecationWarning"
)


def test_abundances_on_image_is_phase_maps(unmixed):
    image, truth, res = unmixed
    maps = res.abundances_on_image(image)
    ref = phase_maps(res, image)
    np.testing.assert_array_equal(maps.data, ref.data)
    assert maps.data.shape == (2, *image.data.shape)
    # the image's own calibration
    for a, b in zip(maps.axes_manager.signal_axes, image.axes_manager.signal_axes):
        assert (a.scale, a.offset, a.units) == (b.scale, b.offset, b.units)
    nearest = res.abundances_on_image(image, order=0)
    np.testing.assert_array_equal(nearest.data, phase_maps(res, image, order=0).data)
    # bilinear FCLS maps: fractions, summing to one at every pixel
    assert maps.data.min() >= -1e-6
    np.testing.assert_allclose(maps.data.sum(axis=0), 1.0, atol=1e-5)


def test_abundances_on_image_segments_like_the_truth(unmixed):
    image, truth, res = unmixed
    labels = np.argmax(res.abundances_on_image(image).data, axis=0)
    # pixels at least half a window away from any boundary (or the border)
    v = sliding_window_view(truth.labels, (WINDOW + 1, WINDOW + 1))
    pure = v.min(axis=(-2, -1)) == v.max(axis=(-2, -1))
    h = WINDOW // 2
    inner = np.zeros(truth.labels.shape, bool)
    inner[h : h + pure.shape[0], h : h + pure.shape[1]] = pure
    inner[:WINDOW, :] = inner[-WINDOW:, :] = False
    inner[:, :WINDOW] = inner[:, -WINDOW:] = False
    assert inner.sum() > 1000
    agree = (labels[inner] == truth.labels[inner]).mean()
    assert max(agree, 1 - agree) > 0.97  # phase numbering is arbitrary


def test_plot_phases_delegates(unmixed):
    image, _, res = unmixed
    fig = res.plot_phases(image, alpha=0.3, cmap="Set1")
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 3  # image + one pattern per phase
    with pytest.raises(ValueError, match="alpha"):
        res.plot_phases(image, alpha=2.0)
    with pytest.raises(TypeError, match="figsize_typo"):
        res.plot_phases(image, figsize_typo=(3, 3))


def test_bad_order(unmixed):
    image, _, res = unmixed
    with pytest.raises(ValueError, match="order"):
        res.abundances_on_image(image, order=2)
