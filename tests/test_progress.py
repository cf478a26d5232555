"""Progress bars follow HyperSpy's ``show_progressbar`` convention."""

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu


@pytest.fixture(scope="module")
def small():
    s, _ = hu.data.spectrum_image((32, 32), 64, 3, random_state=0)
    img, _ = hu.data.multiphase_lattice((128, 128), random_state=0)
    return s, img


CALLS = [
    ("nfindr_unmix", lambda s, img, show: hu.nfindr_unmix(s, 3, show_progressbar=show)),
    (
        "sliding_fft",
        lambda s, img, show: hu.sliding_fft(img, 32, 16, show_progressbar=show),
    ),
    (
        "nfindr_unmix",
        lambda s, img, show: hu.segment_phases(
            img, 2, window_size=32, step=16, show_progressbar=show
        ),
    ),
]


@pytest.mark.parametrize("name, call", CALLS)
def test_bar_when_asked_and_only_then(small, capsys, name, call):
    s, img = small
    call(s, img, True)  # True: a bar whatever the size
    assert name in capsys.readouterr().err
    call(s, img, False)
    assert capsys.readouterr().err == ""
    # None: HyperSpy's preference (off in the test session), and quiet on
    # small inputs even when it is on
    call(s, img, None)
    assert capsys.readouterr().err == ""
    hs.preferences.General.show_progressbar = True
    try:
        call(s, img, None)
    finally:
        hs.preferences.General.show_progressbar = False
    assert capsys.readouterr().err == ""


def test_lazy_passes_use_dask_progress(small, capsys):
    s, _ = small
    hu.nfindr_unmix(s.as_lazy(), 3, show_progressbar=True)
    assert "Completed" in capsys.readouterr().out  # dask's ProgressBar prints


def test_bad_show_progressbar(small):
    s, img = small
    with pytest.raises(TypeError, match="`show_progressbar`"):
        hu.nfindr_unmix(s, 3, show_progressbar="yes")
    with pytest.raises(TypeError, match="`show_progressbar`"):
        hu.sliding_fft(img, 32, 16, show_progressbar=1)


def test_int64_with_a_large_offset_gives_the_float64_stack():
    """The mean is removed in float64 before float32 rounding."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 1000, size=(96, 96))
    as_int = hs.signals.Signal2D(base.astype(np.int64) + 10**9)
    as_float = hs.signals.Signal2D(base.astype(np.float64))
    a = hu.sliding_fft(as_int, 32, 16).data
    b = hu.sliding_fft(as_float, 32, 16).data
    np.testing.assert_allclose(a, b, rtol=0, atol=2e-5 * float(np.abs(b).max()))
