"""NeighborhoodPCAResult: one file (overwrite, atomicity, consistency), plots."""

import builtins
import importlib

import hyperspy.api as hs
import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix import NeighborhoodPCAResult


@pytest.fixture(scope="module")
def result():
    img, _ = hu.data.distorted_lattice((128, 128), random_state=0)
    for ax in img.axes_manager.signal_axes:
        ax.scale, ax.units = 0.02, "nm"
    return hu.neighborhood_pca(
        img, 6, n_components=3, random_state=np.random.RandomState(0)
    )


def _only(tmp_path, name):
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_overwrite_semantics(result, tmp_path, monkeypatch):
    path = tmp_path / "pca.hspy"
    assert result.save(path) == path.absolute()
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        result.save(path, overwrite=False)
    with pytest.raises(FileExistsError, match="cannot be asked"):
        result.save(path)  # not interactive (pytest's stdin)
    monkeypatch.setattr(builtins, "input", lambda msg: "n")
    assert result.save(path) is None
    assert path.read_bytes() == before
    monkeypatch.setattr(builtins, "input", lambda msg: "y")
    assert result.save(path) == path.absolute()
    monkeypatch.undo()
    assert result.save(path, overwrite=True) == path.absolute()
    with pytest.raises(TypeError, match="overwrite"):
        result.save(path, overwrite=1)
    with pytest.raises(ValueError, match="filename"):
        result.save(tmp_path / "pca.tif")
    _only(tmp_path, "pca.hspy")
    np.testing.assert_array_equal(
        NeighborhoodPCAResult.load(path).scores, result.scores
    )


@pytest.mark.parametrize("ext", ["hspy", "zspy"])
def test_interrupted_save_keeps_the_previous_file(result, tmp_path, monkeypatch, ext):
    path = tmp_path / f"pca.{ext}"
    result.save(path)
    writer = importlib.import_module(f"rsciio.{ext}")
    real = writer.file_writer

    def failing(filename, signal, **kwargs):
        real(filename, signal, **kwargs)
        raise KeyboardInterrupt("interrupted")

    monkeypatch.setattr(writer, "file_writer", failing)
    with pytest.raises(KeyboardInterrupt):
        result.save(path, overwrite=True)
    monkeypatch.undo()
    _only(tmp_path, f"pca.{ext}")
    back = NeighborhoodPCAResult.load(path)
    np.testing.assert_array_equal(back.scores, result.scores)


def test_inconsistent_file_is_refused(result, tmp_path):
    path = result.save(tmp_path / "pca.hspy")
    s = hs.load(path)
    node = s.metadata.hyperspy_unmix_neighborhood_pca
    node.scores = node.scores[:-1]  # one atom fewer than the other arrays
    s.save(path, overwrite=True)
    with pytest.raises(ValueError, match="inconsistent.*lengths"):
        NeighborhoodPCAResult.load(path)
    s = hs.load(result.save(tmp_path / "p2.hspy"))
    node = s.metadata.hyperspy_unmix_neighborhood_pca
    node.components = node.components.inav[:2]
    s.save(tmp_path / "p2.hspy", overwrite=True)
    with pytest.raises(ValueError, match="number of components"):
        NeighborhoodPCAResult.load(tmp_path / "p2.hspy")
    with pytest.raises(FileNotFoundError, match="missing"):
        NeighborhoodPCAResult.load(tmp_path / "none.hspy")


def test_descriptor_axes_are_named(result):
    for s in (result.descriptor_signal, result.components):
        ax = s.axes_manager.signal_axes[0]
        assert ax.name == "Descriptor (0-5: d0-d5, 6-11: theta0-theta5)"
        names = s.metadata.hyperspy_unmix.descriptor_names
        assert len(names) == ax.size


def test_score_map_is_masked_beyond_the_atoms_reach(result):
    m = result.score_map(0).data
    full = result.score_map(0, max_distance=None).data
    ny, nx = m.shape
    yy, xx = np.mgrid[:ny, :nx]
    xy = result.positions[result.included]
    # brute force: distance of every pixel to its nearest included atom
    d = np.full(m.shape, np.inf)
    for x, y in xy:
        d = np.minimum(d, np.hypot(xx - x, yy - y))
    far = d > 0.75 * result.nn_distance
    assert far.any() and (~far).any()
    assert np.isnan(m[far]).all()
    np.testing.assert_array_equal(m[~far], full[~far])
    with pytest.raises(ValueError, match="max_distance"):
        result.score_map(0, max_distance=0)
    with pytest.raises(TypeError, match="max_distance"):
        result.score_map(0, max_distance="far")


def test_plot_navigates_over_components(result):
    fig_img, fig_arrows = result.plot(0)
    assert len(fig_img.axes) == 2  # image + colour bar
    cbar_ax = fig_img.axes[1]
    assert cbar_ax.get_ylabel() == "score of component 0"
    view = result._navigation_view
    assert view.axes_manager.navigation_shape == (3,)
    view.axes_manager.indices = (2,)  # what a click on the navigator does
    assert cbar_ax.get_ylabel() == "score of component 2"
    assert fig_arrows.axes[0].get_title().startswith("component 2")
    lim = np.abs(result.scores[result.included, 2]).max()
    assert cbar_ax.get_ylim() == pytest.approx((-lim, lim))


def test_arrows_in_calibrated_units(result):
    fig = result.plot_component(1)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("dx (nm)", "dy (nm)")
    r = 1.4 * np.abs(result.reference_neighborhood).max() * 0.02
    assert ax.get_xlim() == pytest.approx((-r, r))
