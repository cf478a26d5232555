"""Peaks off the lattice (an amorphous support) dropped, against truth."""

import warnings

import numpy as np
import pytest
from scipy.spatial import cKDTree

import hyperspy_unmix as hu
from hyperspy_unmix._core.lattice import lattice_neighbour_counts


def test_lattice_neighbour_counts_on_a_lattice_and_on_random_points():
    g = np.stack(np.meshgrid(np.arange(20), np.arange(20)), -1).reshape(-1, 2) * 10.0
    counts = lattice_neighbour_counts(g + 0.3, 10.0)
    interior = np.all((g > 0) & (g < 190), axis=1)
    # square lattice, reach 1.5 spacings: 4 edge + 4 diagonal neighbours
    assert np.all(counts[interior] == 8)
    rng = np.random.default_rng(0)
    random = rng.uniform(0, 200, (400, 2))
    assert np.mean(lattice_neighbour_counts(random, 10.0) >= 3) < 0.05


@pytest.mark.parametrize("lattice", ["hexagonal", "square", "rectangular"])
@pytest.mark.parametrize("seed", [0, 1])
def test_atoms_on_an_amorphous_support_are_dropped(lattice, seed):
    img, t = hu.data.atomic_image(
        (512, 512), lattice=lattice, vacuum="amorphous", random_state=seed
    )
    with pytest.warns(UserWarning, match="off the lattice"):
        res = hu.neighborhood_pca(img)
    xy = np.asarray(res.positions)
    d, _ = cKDTree(t.positions).query(xy)
    assert np.mean(d < 1.5) >= 0.98  # precision (0.46-0.58 without the check)
    d2, _ = cKDTree(xy).query(t.positions)
    assert np.mean(d2 < 1.5) >= 0.95  # recall
    assert res.parameters["n_off_lattice"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        every = hu.neighborhood_pca(img, min_quality=None)
    assert len(every.positions) > len(xy)


@pytest.mark.parametrize("vacuum", [None, "noise"])
def test_lattices_and_vacuum_lose_no_atom(vacuum):
    img, _ = hu.data.atomic_image((512, 512), vacuum=vacuum, random_state=0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        res = hu.neighborhood_pca(img)  # (vacuum peaks: dropped by quality)
    assert not [w for w in seen if "off the lattice" in str(w.message)]
    assert res.parameters["n_off_lattice"] == 0


def test_the_real_mores2_lattice_loses_no_atom():
    # a distorted lattice (clustered metal atoms): 1.8 % of its peaks have no
    # lattice-vector neighbour, below the 10 % that triggers the check
    res = hu.neighborhood_pca(hu.data.mores2_image())
    assert res.parameters["n_off_lattice"] == 0
