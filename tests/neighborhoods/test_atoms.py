"""Atom finding (whole image and tiled), spacing estimate, refinement choices
and conversion of Atomap objects."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

import hyperspy_unmix as hu
from hyperspy_unmix.neighborhoods import atoms as A


@pytest.fixture(scope="module")
def lattice():
    return hu.data.distorted_lattice(shape=(256, 256), random_state=3)


def match(found, true):
    d, i = cKDTree(true).query(found)
    return d, i


@pytest.mark.parametrize("spacing", [9.0, 14.0])
def test_estimate_spacing(spacing):
    img, truth = hu.data.distorted_lattice(
        shape=(200, 220), spacing=spacing, amplitude=0.0, random_state=1
    )
    assert A.estimate_spacing(img.data) == pytest.approx(spacing, abs=1.0)
    # a rotated copy has the same spacing
    assert A.estimate_spacing(np.rot90(img.data)) == pytest.approx(spacing, abs=1.0)


def test_estimate_spacing_without_lattice():
    with pytest.raises(ValueError, match="separation"):
        A.estimate_spacing(np.ones((64, 64)))


def test_separation_keeps_diagonal_neighbours():
    # peak_local_max's Chebyshev distance of a 45-degree neighbour is a/sqrt(2)
    for a in (5.0, 8.0, 12.0, 30.0):
        sep = A.separation_from_spacing(a)
        assert 1 <= sep < a / np.sqrt(2)


def test_found_atoms_match_truth(lattice):
    img, truth = lattice
    sep = A.separation_from_spacing(A.estimate_spacing(img.data))
    found = A.find_atoms(img.data, sep)
    refined = A.refine_positions(img.data, found, "com")
    ny, nx = img.data.shape
    t = truth.positions
    # Atomap's peak finder cannot see a band of `separation` pixels at the border
    inner = (t[:, 0] >= sep) & (t[:, 0] <= nx - 1 - sep)
    inner &= (t[:, 1] >= sep) & (t[:, 1] <= ny - 1 - sep)
    d, i = match(refined, t)
    hit = np.zeros(len(t), bool)
    hit[i[d < 0.5]] = True
    assert hit[inner].mean() >= 0.99
    assert np.sqrt(np.mean(d**2)) < 0.5
    assert len(np.unique(i)) == len(i)  # no atom found twice


def _straddling_image():
    """A lattice image with one much brighter corner: a per-tile threshold
    would differ from the whole image's."""
    img, truth = hu.data.distorted_lattice(shape=(300, 330), random_state=5)
    data = np.array(img.data, dtype=np.float64)
    data[:90, :100] *= 4.0
    return data, truth


@pytest.mark.parametrize("tile", [64, 97, 128])
def test_tiled_equals_whole_image(tile):
    data, _ = _straddling_image()
    whole = A.find_atoms(data, 6, tile_size=None)
    tiled = A.find_atoms(data, 6, tile_size=tile, n_jobs=2)
    assert len(tiled) == len(whole)
    assert len(np.unique(tiled, axis=0)) == len(tiled)  # nothing doubled
    d, i = match(tiled, whole)
    assert np.all(d <= 0.1)
    assert len(np.unique(i)) == len(whole)  # nothing lost
    # the case is real: atoms sit on both sides of tile borders
    xs = np.mod(whole[:, 0], tile)
    assert np.sum((xs < 3) | (xs > tile - 4)) > 10


def test_tiled_serial_equals_threads():
    data, _ = _straddling_image()
    a = A.find_atoms(data, 6, tile_size=80, n_jobs=1)
    b = A.find_atoms(data, 6, tile_size=80, n_jobs=3)
    np.testing.assert_array_equal(a, b)


def test_refinement_choices(lattice):
    img, truth = lattice
    found = A.find_atoms(img.data, 6)
    d0, _ = match(found, truth.positions)
    com = A.refine_positions(img.data, found, "com")
    d1, _ = match(com, truth.positions)
    assert np.sqrt(np.mean(d1**2)) < 0.5 * np.sqrt(np.mean(d0**2))
    # Atomap's Gaussian fits (slow): a few central atoms only
    centre = np.hypot(*(found - 128).T) < 40
    gauss = A.refine_positions(
        img.data, found[centre], "gaussian", show_progressbar=False
    )
    d2, _ = match(gauss, truth.positions)
    assert np.sqrt(np.mean(d2**2)) < 0.2
    np.testing.assert_array_equal(A.refine_positions(img.data, found, None), found)


def test_positions_from_atomap_objects(lattice):
    import atomap.api as am

    img, truth = lattice
    xy = truth.positions[:50]
    sub = am.Sublattice(xy, image=img.data)
    got, labels = A.positions_from(sub)
    np.testing.assert_allclose(got, xy)
    assert (labels == 0).all()
    sub2 = am.Sublattice(truth.positions[50:80], image=img.data)
    atom_lattice = am.Atom_Lattice(image=img.data, sublattice_list=[sub, sub2])
    got, labels = A.positions_from(atom_lattice)
    np.testing.assert_allclose(got, truth.positions[:80])
    np.testing.assert_array_equal(labels, np.repeat([0, 1], [50, 30]))


def test_positions_from_bad_input():
    with pytest.raises(ValueError, match="positions"):
        A.positions_from(np.zeros((5, 3)))
    with pytest.raises(TypeError, match="positions"):
        A.positions_from({"x": 1})
