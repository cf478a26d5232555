"""UnmixingResult.plot: HyperSpy navigation, the static figure, labels."""

import hyperspy.api as hs
import matplotlib.figure
import numpy as np
import pytest

import hyperspy_unmix as hu


@pytest.fixture(scope="module")
def data():
    s, truth = hu.data.spectrum_image((16, 18), 32, 3, random_state=0)
    return s, truth


def _fit(res):
    """A @ E by brute force: one pixel at a time."""
    A, E = res.abundances.data, res.endmembers.data
    out = np.empty(A.shape[1:] + E.shape[1:])
    for iy in range(A.shape[1]):
        for ix in range(A.shape[2]):
            out[iy, ix] = sum(A[k, iy, ix] * E[k] for k in range(len(E)))
    return out


def test_interactive_plot_shows_data_and_reconstruction(data):
    s, _ = data
    res = hu.nfindr_unmix(s, 3)
    res.endmember_names = ["a", "b", "c"]
    m = res.plot()  # the analysed signal is found without passing it
    np.testing.assert_array_equal(m.signal.data, s.data)
    assert [c.name for c in m] == ["a", "b", "c"]
    np.testing.assert_allclose(m.as_signal().data, _fit(res), rtol=1e-10, atol=1e-9)
    # the navigator: index of the largest abundance
    m2 = res.plot(signal=s, navigator=1, plot_components=False)
    assert m2.signal.axes_manager.navigation_shape == (18, 16)
    res.plot(signal=s, navigator="residual")
    with pytest.raises(ValueError, match="navigator"):
        res.plot(navigator=3)
    with pytest.raises(ValueError, match="navigator"):
        res.plot(navigator="sum")
    with pytest.raises(ValueError, match="signal"):
        res.plot(signal=s.inav[:5])
    with pytest.raises(TypeError, match="signal"):
        res.plot(signal=s.data)
    with pytest.raises(TypeError, match="static"):
        res.plot(static="yes")


def test_dominant_navigator(data):
    s, _ = data
    res = hu.nfindr_unmix(s, 3)
    nav = res._navigator("dominant")
    np.testing.assert_array_equal(nav.data, np.argmax(res.abundances.data, axis=0))
    assert nav.axes_manager.signal_shape == res.abundances.axes_manager.signal_shape


def test_loaded_result_plots_its_reconstruction(data, tmp_path):
    s, _ = data
    back = hu.UnmixingResult.load(hu.nfindr_unmix(s, 3).save(tmp_path / "r.hspy"))
    m = back.plot()  # no data known: the reconstruction is the signal shown
    np.testing.assert_allclose(m.signal.data, _fit(back), rtol=1e-10, atol=1e-9)
    m = back.plot(signal=s)
    np.testing.assert_array_equal(m.signal.data, s.data)


def test_two_dimensional_signals_plot_side_by_side():
    rng = np.random.default_rng(0)
    P = rng.random((3, 8, 10))
    A = rng.dirichlet(np.ones(3), size=(9, 7)).transpose(2, 0, 1)
    A[:, 0, :3] = np.eye(3)  # pure pixels
    s = hs.signals.Signal2D(np.tensordot(A, P, axes=(0, 0)))
    res = hu.nfindr_unmix(s, 3)
    shown = res.plot()
    assert len(shown) == 2
    np.testing.assert_array_equal(shown[0].data, s.data)
    fit = np.asarray(shown[1].data)
    np.testing.assert_allclose(
        fit, np.einsum("kyx,kab->yxab", res.abundances.data, res.endmembers.data)
    )
    np.testing.assert_allclose(fit, s.data, atol=1e-8)  # exact mixtures


def test_static_figure_labels(data):
    s, _ = data
    res = hu.nfindr_unmix(s, 3)
    res.endmember_names = ["iron", "nickel", "a very long endmember name indeed"]
    fig = res.plot(static=True)
    assert isinstance(fig, matplotlib.figure.Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert "iron" in titles and "Abundance of nickel" in titles
    assert all(len(t) <= 28 for t in titles)
    assert "Abundance" in [ax.get_ylabel() for ax in fig.axes]  # colour bars
    assert fig.axes[0].get_ylabel() == "Intensity (counts)"
    with pytest.raises(ValueError, match="max_columns"):
        res.plot(static=True, max_columns=0)


def test_plot_abundances_and_endmembers_use_names(data):
    s, _ = data
    res = hu.nfindr_unmix(s, 3)
    res.endmember_names = ["Fe", "Ni", "O"]
    axes = res.plot_abundances()
    assert [ax.get_title() for ax in axes] == ["Fe", "Ni", "O"]
    ax = res.plot_endmembers()
    # HyperSpy lists the last spectrum first
    assert [t.get_text() for t in ax.get_legend().get_texts()][::-1] == [
        "Fe",
        "Ni",
        "O",
    ]
