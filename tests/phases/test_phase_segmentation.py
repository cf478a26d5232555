"""Phase segmentation: sliding FFT + N-FINDR against the lattice ground truth."""

from types import SimpleNamespace

import hyperspy.api as hs
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu
from hyperspy_unmix.phases import (
    phase_labels,
    phase_maps,
    plot_phases,
    segment_phases,
)
from hyperspy_unmix.windowing import sliding_fft


def window_truth(labels, window, step):
    """Phase of every window lying entirely inside one phase, else -1."""
    v = sliding_window_view(labels, (window, window))[::step, ::step]
    lo, hi = v.min(axis=(-2, -1)), v.max(axis=(-2, -1))
    return np.where(lo == hi, lo, -1)


def matched_accuracy(pred, true, n):
    """Fraction correct after the best one-to-one matching of labels."""
    keep = true >= 0
    counts = np.zeros((n, n))
    np.add.at(counts, (pred[keep], true[keep]), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / keep.sum()


def window_accuracy(result, truth, window, step, n):
    pred = np.argmax(np.asarray(result.abundances.data), axis=0)
    true = window_truth(truth.labels, window, step)
    assert pred.shape == true.shape
    assert (true >= 0).sum() > 100  # enough windows inside one phase to judge
    return matched_accuracy(pred, true, n)


@pytest.fixture(scope="module")
def two_phase():
    return hu.data.multiphase_lattice(n_phases=2, random_state=3)


@pytest.mark.parametrize("seed, noise", [(0, 0.1), (1, 0.1), (2, 0.4)])
def test_two_phase_windows_correct(seed, noise):
    image, truth = hu.data.multiphase_lattice(
        n_phases=2, noise=noise, random_state=seed
    )
    res = segment_phases(image, 2, window_size=64, step=16)
    assert window_accuracy(res, truth, 64, 16, 2) >= 0.95


@pytest.mark.parametrize("seed, noise", [(0, 0.1), (1, 0.3)])
def test_three_phase_windows_correct(seed, noise):
    image, truth = hu.data.multiphase_lattice(
        n_phases=3, noise=noise, random_state=seed
    )
    res = segment_phases(image, 3, window_size=64, step=16)
    assert window_accuracy(res, truth, 64, 16, 3) >= 0.90


def test_signal_methods_chain_gives_the_same(two_phase):
    image, truth = two_phase
    stack = image.sliding_fft(64, 16, zoom=2, remove_dc=2, normalize="sum")
    res = stack.nfindr_unmix(2, endmember_estimate="denoised")
    ref = segment_phases(image, 2, 64, 16)
    np.testing.assert_allclose(res.abundances.data, ref.abundances.data, atol=1e-6)
    # endmembers are FFT patterns on the stack's reciprocal axes
    assert res.endmembers.axes_manager.signal_shape == (32, 32)
    assert res.endmembers.axes_manager.signal_axes[0].units == "1 / nm"
    # abundances live on the window centres, in nm
    ab_x = res.abundances.axes_manager.signal_axes[0]
    assert ab_x.units == "nm"
    px = image.axes_manager.signal_axes[0]
    assert ab_x.offset == pytest.approx(px.offset + 31.5 * px.scale)
    assert ab_x.scale == pytest.approx(16 * px.scale)


def test_input_image_untouched(two_phase):
    image, _ = two_phase
    data = image.data.copy()
    axes = image.axes_manager.as_dictionary()
    md = image.metadata.as_dictionary()
    res = segment_phases(image, 2, 64, 32)
    phase_maps(res, image)
    plot_phases(res, image)
    np.testing.assert_array_equal(image.data, data)
    assert image.axes_manager.as_dictionary() == axes
    assert image.metadata.as_dictionary() == md


def test_lazy_pipeline_equals_eager(two_phase):
    image, truth = two_phase
    lazy = image.as_lazy()
    lazy.data = lazy.data.rechunk((150, 211))  # uneven tiles
    res_lazy = segment_phases(lazy, 2, 64, 16, chunks=(7, 5))
    assert res_lazy.abundances._lazy
    res = segment_phases(image, 2, 64, 16)
    np.testing.assert_allclose(
        res_lazy.abundances.data.compute(), res.abundances.data, atol=1e-4
    )
    maps_lazy = phase_maps(res_lazy, lazy)
    np.testing.assert_allclose(maps_lazy.data, phase_maps(res, image).data, atol=1e-4)


def test_phase_maps_on_the_image_grid(two_phase):
    image, truth = two_phase
    res = segment_phases(image, 2, 64, 16)
    maps = phase_maps(res, image)
    ny, nx = image.data.shape
    assert maps.data.shape == (2, ny, nx)
    assert maps.axes_manager.navigation_axes[0].name == "Phase index"
    for a, b in zip(maps.axes_manager.signal_axes, image.axes_manager.signal_axes):
        assert (a.scale, a.offset, a.units, a.size) == (
            b.scale,
            b.offset,
            b.units,
            b.size,
        )
    # bilinear interpolation of sum-to-one, non-negative abundances
    assert maps.data.min() >= -1e-6
    np.testing.assert_allclose(maps.data.sum(axis=0), 1, atol=1e-5)
    # pixels at least half a window from any boundary get the right phase
    labels = phase_labels(res, image).data
    assert labels.shape == (ny, nx) and labels.dtype == np.int32
    v = sliding_window_view(np.pad(truth.labels, 32, mode="edge"), (65, 65))
    deep = v.min(axis=(-2, -1)) == v.max(axis=(-2, -1))
    assert deep.sum() > 0.3 * deep.size
    truth_deep = np.where(deep, truth.labels, -1)
    assert matched_accuracy(labels, truth_deep, 2) >= 0.99


def test_phase_maps_interpolate_exactly():
    # abundances on a grid of window centres, image pixels in between
    rng = np.random.default_rng(0)
    grid = rng.random((2, 5, 7))
    ab = hs.signals.Signal2D(grid)
    ab.axes_manager.navigation_axes[0].name = "Endmember index"
    ax_x, ax_y = ab.axes_manager.signal_axes
    ax_x.offset, ax_x.scale, ax_x.units = 0.35, 0.4, "nm"
    ax_y.offset, ax_y.scale, ax_y.units = 0.15, 0.3, "nm"
    image = hs.signals.Signal2D(np.zeros((20, 33)))
    im_x, im_y = image.axes_manager.signal_axes
    im_x.offset, im_x.scale, im_x.units = 0.0, 0.1, "nm"
    im_y.offset, im_y.scale, im_y.units = 0.05, 0.1, "nm"
    patterns = hs.signals.Signal2D(grid)
    patterns.metadata.set_item("hyperspy_unmix.input.method", "sliding_fft")
    fake = SimpleNamespace(abundances=ab, endmembers=patterns)
    maps = phase_maps(fake, image)
    # brute force: bilinear interpolation by hand, clamped at the grid edges
    for k in range(2):
        for i in range(20):
            for j in range(33):
                fy = np.clip((im_y.axis[i] - ax_y.offset) / ax_y.scale, 0, 4)
                fx = np.clip((im_x.axis[j] - ax_x.offset) / ax_x.scale, 0, 6)
                y0, x0 = min(int(fy), 3), min(int(fx), 5)
                ty, tx = fy - y0, fx - x0
                want = (
                    grid[k, y0, x0] * (1 - ty) * (1 - tx)
                    + grid[k, y0 + 1, x0] * ty * (1 - tx)
                    + grid[k, y0, x0 + 1] * (1 - ty) * tx
                    + grid[k, y0 + 1, x0 + 1] * ty * tx
                )
                assert maps.data[k, i, j] == pytest.approx(want, abs=1e-6)
    nearest = phase_maps(fake, image, order=0)
    assert set(np.unique(nearest.data[0])) <= set(np.float32(grid[0]).ravel())


def test_phase_maps_of_an_image_stack():
    image, _ = hu.data.multiphase_lattice((160, 200), n_phases=2, random_state=1)
    stack_img = hs.stack([image, image])
    stack_img.axes_manager.signal_axes[0].scale = image.axes_manager[0].scale
    res = segment_phases(stack_img, 2, 32, 16)
    maps = phase_maps(res, stack_img)
    assert maps.data.shape == (2, 2, 160, 200)
    # both images are the same, so are their maps
    np.testing.assert_allclose(maps.data[:, 0], maps.data[:, 1], atol=1e-5)
    assert phase_labels(res, stack_img).data.shape == (2, 160, 200)
    with pytest.raises(ValueError, match="image.*single image"):
        plot_phases(res, stack_img)


def test_plot_phases(two_phase):
    image, _ = two_phase
    res = segment_phases(image, 2, 64, 32)
    fig = plot_phases(res, image, alpha=0.3)
    assert len(fig.axes) == 3  # the image and two patterns
    titles = [ax.get_title() for ax in fig.axes]
    assert "phase 0" in titles and "phase 1" in titles
    with pytest.raises(ValueError, match="alpha"):
        plot_phases(res, image, alpha=2)


def test_bad_input(two_phase):
    image, _ = two_phase
    res = segment_phases(image, 2, 64, 32)
    with pytest.raises(TypeError, match="result"):
        phase_maps(object(), image)
    with pytest.raises(TypeError, match="image"):
        phase_maps(res, image.data)
    with pytest.raises(ValueError, match="order"):
        phase_maps(res, image, order=2)
    other = image.deepcopy()
    for ax in other.axes_manager.signal_axes:
        ax.units = "px"
    with pytest.raises(ValueError, match="units"):
        phase_maps(res, other)
    with pytest.raises(ValueError, match="result"):
        phase_maps(res, hs.stack([image, image]))
    with pytest.raises(ValueError, match="n_phases"):
        segment_phases(image, 1)
    with pytest.raises(ValueError, match="window_size"):
        segment_phases(image, 2, window_size=1024)


def test_segment_phases_options_override_defaults(two_phase):
    image, _ = two_phase
    res = segment_phases(image, 2, 64, 32, crop=20, normalize=None)
    assert res.endmembers.axes_manager.signal_shape == (20, 20)
    stack = sliding_fft(image, 64, 32, crop=20, remove_dc=2)
    # the image's own record (how it was generated) is kept apart from ours
    md = stack.metadata.hyperspy_unmix
    assert md.method == "sliding_fft" and md.parameters.crop == [20, 20]
    assert not md.parameters.has_item("spacing")
    assert (
        md.input.parameters.spacing == image.metadata.hyperspy_unmix.parameters.spacing
    )
    direct = hu.nfindr_unmix(stack, 2, endmember_estimate="denoised")
    np.testing.assert_allclose(res.abundances.data, direct.abundances.data, atol=1e-6)


@pytest.mark.parametrize("n_phases, seed", [(2, 0), (3, 1)])
def test_windows_correct_at_step_8(n_phases, seed):
    # the 0.1 demo's cases (512 x 512, noise 0.3, window 64 every 8 px): 100 %
    # of the windows inside one phase, 98 % of the pixels
    image, truth = hu.data.multiphase_lattice(
        (512, 512), n_phases=n_phases, noise=0.3, random_state=seed
    )
    res = segment_phases(image, n_phases, window_size=64, step=8)
    assert window_accuracy(res, truth, 64, 8, n_phases) >= 0.98
    labels = np.asarray(phase_labels(res, image).data)
    assert matched_accuracy(labels, truth.labels, n_phases) >= 0.97


# (found in review of 0.1)
def test_phase_maps_refuse_results_that_are_not_from_a_sliding_fft():
    rng = np.random.default_rng(1)
    spectra = hs.signals.Signal1D(rng.random((5, 5, 10)))
    res = hu.nfindr_unmix(spectra, 3)
    image = hs.signals.Signal2D(rng.random((32, 32)))
    with pytest.raises(ValueError, match="`result` must be the unmixing of a sliding"):
        hu.phase_maps(res, image)
    with pytest.raises(ValueError, match="sliding FFT"):
        with pytest.warns(DeprecationWarning, match="phase_maps"):
            res.abundances_on_image(image)


# (found in review of 0.1)
def test_segment_phases_checks_n_phases_first(monkeypatch):
    import hyperspy_unmix.phases as phases

    def no_fft(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("sliding_fft ran before n_phases was checked")

    monkeypatch.setattr(phases, "sliding_fft", no_fft)
    image = hs.signals.Signal2D(np.zeros((64, 64), dtype=np.float32))
    with pytest.raises(ValueError, match="`n_phases` must be >= 2"):
        phases.segment_phases(image, 1, window_size=32, step=16)
    with pytest.raises(TypeError, match="`n_phases` must be an integer"):
        phases.segment_phases(image, 2.5, window_size=32, step=16)


# ------------------------------------------- lattice-aware defaults (issue 12)
@pytest.mark.parametrize("spacing, size", [(6, 256), (12, 384), (24, 512)])
def test_default_window_follows_the_spacing(spacing, size):
    image, truth = hu.data.multiphase_lattice(
        (size, size), spacing=spacing, random_state=0
    )
    res = segment_phases(image, 2)
    p = res.endmembers.metadata.hyperspy_unmix.input.parameters
    assert p.window_size_requested == "auto"
    window, step = p.window_size[0], p.step[0]
    assert 4 * spacing <= window <= 5 * spacing + 4
    assert window_accuracy(res, truth, window, step, 2) >= 0.98


def agreement(a, b):
    """Two-label agreement up to swapping the labels."""
    same = float(np.mean(a == b))
    return max(same, 1.0 - same)


def test_mores2_default_gives_the_hand_tuned_domains():
    image = hu.data.mores2_image()
    default = segment_phases(image, 2, random_state=0)
    tuned = segment_phases(image, 2, window_size=128, step=8, zoom=4, random_state=0)
    a = phase_labels(default, image).data
    b = phase_labels(tuned, image).data
    assert agreement(a, b) >= 0.9
    # the old fixed default (64 px) does not see the two domains as well
    old = segment_phases(image, 2, window_size=64, step=16, random_state=0)
    assert agreement(phase_labels(old, image).data, b) < agreement(a, b)


def test_too_many_phases_name_n_phases_and_windows():
    image, _ = hu.data.multiphase_lattice((128, 128), random_state=0)
    with pytest.raises(ValueError, match=r"`n_phases`=30.*windows") as info:
        segment_phases(image, 30, window_size=64, step=16)  # 25 windows
    assert "n_endmembers" not in str(info.value)
    assert "pixels" not in str(info.value)


def test_plot_phases_scales_patterns_by_percentiles(two_phase):
    from hyperspy_unmix.phases import pattern_limits

    image, _ = two_phase
    res = segment_phases(image, 2, 64, 32)
    fig = plot_phases(res, image)
    patterns = np.asarray(res.endmembers.data)
    kx, ky = res.endmembers.axes_manager.signal_axes
    panels = [ax for ax in fig.axes if ax.get_title().startswith("phase")]
    assert len(panels) == 2
    for i, pax in enumerate(panels):
        im = pax.get_images()[0]
        vmin, vmax = im.get_clim()
        values = patterns[i][patterns[i] != 0]
        np.testing.assert_allclose(
            (vmin, vmax), np.percentile(values, [1, 99.5]), rtol=1e-6
        )
        assert (vmin, vmax) == pattern_limits(patterns[i])
        # the zeroed centre is below the scale, not its minimum
        assert vmin > 0 == patterns[i].min()
        assert str(kx.units) in pax.get_xlabel() and str(ky.units) in pax.get_ylabel()
        assert len(pax.child_axes) == 1  # the colour bar
    assert pattern_limits(np.zeros((4, 4))) == (0.0, 1.0)
