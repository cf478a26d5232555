import numpy as np
import pytest

from hyperspy_unmix._core.lattice import auto_window, first_shell
from hyperspy_unmix.data import atomic_image


@pytest.mark.parametrize(
    "lattice, aspect",
    [("hexagonal", 1.4), ("square", 1.4)]
    + [("rectangular", r) for r in (1.1, 1.2, 1.3, 1.4, 1.5, 1.6)],
)
@pytest.mark.parametrize("distortion", [0.0, 0.06])
def test_first_shell(lattice, aspect, distortion):
    _, truth = atomic_image(
        (160, 160), 8, lattice, aspect=aspect, distortion=distortion, random_state=0
    )
    assert first_shell(truth.positions) == truth.first_shell


def test_first_shell_rotated_with_position_noise():
    rng = np.random.default_rng(0)
    _, truth = atomic_image((160, 160), 8, "rectangular", aspect=1.3, angle=33,
                            random_state=1)  # fmt: skip
    pos = truth.positions + rng.normal(0, 0.3, truth.positions.shape)
    assert first_shell(pos) == 4


def test_first_shell_bad_input():
    with pytest.raises(ValueError, match="positions"):
        first_shell(np.ones((5, 3)))
    with pytest.raises(ValueError, match="atoms"):
        first_shell(np.random.default_rng(0).random((5, 2)))


def test_auto_window_rule():
    assert auto_window(10) == {"window_size": 44, "step": 5, "zoom": 1.375}
    p = auto_window(29.5)
    assert p["window_size"] == 132 and p["step"] == 16
    assert p["window_size"] / p["zoom"] == pytest.approx(32)
    assert auto_window(6)["zoom"] == 1.0
    assert auto_window(10, largest_period=20)["window_size"] == 88
    assert auto_window(100, image_shape=(200, 300))["window_size"] == 200
    with pytest.raises(ValueError, match="spacing"):
        auto_window(0)
    with pytest.raises(ValueError, match="largest_period"):
        auto_window(5, largest_period=np.nan)


def _pure_window_accuracy(res, labels, window, step):
    from numpy.lib.stride_tricks import sliding_window_view

    pred = np.asarray(res.abundances.data).argmax(0)
    win = sliding_window_view(labels, (window, window))[::step, ::step]
    win = win[: pred.shape[0], : pred.shape[1]]
    lo, hi = win.min(axis=(-2, -1)), win.max(axis=(-2, -1))
    pure = lo == hi
    t, p = lo[pure], pred[pure]
    return max(np.mean(t == p), np.mean(t == 1 - p))


@pytest.mark.parametrize("spacing", [6, 16, 30])
def test_auto_window_segments_two_phases(spacing):
    import hyperspy_unmix as hu
    from hyperspy_unmix.data import multiphase_lattice
    from hyperspy_unmix.neighborhoods.atoms import estimate_spacing

    size = int(np.clip(6 * 4.5 * spacing, 256, 810))
    img, truth = multiphase_lattice((size, size), 2, spacing, 0.1, random_state=0)
    p = auto_window(estimate_spacing(img.data), image_shape=img.data.shape)
    p["step"] *= 2  # (fewer windows: a faster test, same windows' patterns)
    res = hu.segment_phases(img, 2, random_state=0, show_progressbar=False, **p)
    assert _pure_window_accuracy(res, truth.labels, p["window_size"], p["step"]) >= 0.98
