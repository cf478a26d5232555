"""Defects found in review, each with the behaviour that is now expected."""

import logging

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu


def test_neighborhood_result_saves_without_writer_errors(tmp_path, caplog):
    img, _ = hu.data.distorted_lattice((128, 128), random_state=0)
    res = hu.neighborhood_pca(
        img, 6, n_components=2, random_state=np.random.RandomState(0)
    )
    path = tmp_path / "pca.hspy"
    with caplog.at_level(logging.ERROR):
        res.save(path)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    back = type(res).load(path)
    assert back.parameters["random_state"].startswith("RandomState")
    assert back.parameters["algorithm"] == res.parameters["algorithm"]
    np.testing.assert_array_equal(back.scores, res.scores)


def test_sliding_fft_axis_names_stay_unique_on_stacks():
    rng = np.random.default_rng(0)
    s = hs.signals.Signal2D(rng.random((3, 32, 32), dtype=np.float32))
    s.axes_manager[0].name = "x"  # the stack's navigation axis
    names = [a.name for a in hu.sliding_fft(s, 8, 4).axes_manager._axes]
    assert len(names) == len(set(names)), names
    assert names[0] == "x"


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
