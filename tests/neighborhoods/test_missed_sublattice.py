"""The missed-sublattice warning, against generated truth.

Truth: ``hyperspy_unmix.data.atomic_image`` knows every atom and its
sublattice. The core check is given the true positions of the heavy
sublattice (what a finder that missed the light one returns) or of every
atom of a single lattice (nothing missed).
"""

import warnings

import numpy as np
import pytest

import hyperspy_unmix as hu
from hyperspy_unmix._core.atom_quality import missed_sublattice


@pytest.mark.parametrize("lattice", ["hexagonal", "square", "rectangular"])
@pytest.mark.parametrize("spacing", [8, 16, 24])
@pytest.mark.parametrize("noise", [0.05, 0.15])
def test_no_sublattice_is_reported_on_single_lattices(lattice, spacing, noise):
    img, t = hu.data.atomic_image(
        spacing=spacing, lattice=lattice, noise=noise, random_state=3
    )
    assert missed_sublattice(np.asarray(img.data, float), t.positions, spacing) is None


@pytest.mark.parametrize("lattice", ["hexagonal", "square"])
@pytest.mark.parametrize("spacing", [12, 16, 24])
def test_a_light_sublattice_left_out_is_reported(lattice, spacing):
    img, t = hu.data.atomic_image(
        spacing=spacing, lattice=lattice, sublattice_intensity=0.3, random_state=0
    )
    light = t.positions[t.sublattice == 1]
    heavy = t.positions[t.sublattice == 0]
    found = missed_sublattice(np.asarray(img.data, float), heavy, spacing)
    assert found is not None
    # the reported offset points at a light atom: true light-heavy distance
    d = np.min(np.hypot(*(light[:, None] - heavy[None]).transpose(2, 0, 1)), 1)
    ox, oy = found["offset"]
    assert abs(np.hypot(ox, oy) - np.median(d)) < 1.5
    assert 0.15 <= found["height"] <= 0.45
    assert found["separation"] >= 1


def test_neighborhood_pca_warns_and_the_suggestion_finds_more_atoms():
    img, t = hu.data.atomic_image(
        lattice="square", sublattice_intensity=0.5, random_state=0
    )
    with pytest.warns(UserWarning, match="second, weaker set of atoms") as rec:
        res = hu.neighborhood_pca(img, n_neighbors="auto")
    msg = next(str(w.message) for w in rec if "weaker" in str(w.message))
    sep = int(msg.split("(e.g. separation=")[1].split(")")[0])
    assert res.parameters["missed_sublattice"]["separation"] == sep
    n_light = int((t.sublattice == 1).sum())
    assert len(res.positions) < 0.6 * len(t.positions)  # the light ones missed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        both = hu.neighborhood_pca(
            img, n_neighbors="auto", separation=sep, min_quality=None
        )
    # measured: 97 % of all atoms within 1 px (light ones included)
    d = np.min(
        np.hypot(*(t.positions[:, None] - both.positions[None]).transpose(2, 0, 1)),
        1,
    )
    assert np.mean(d < 1.0) >= 0.9
    assert len(both.positions) > len(res.positions) + 0.8 * n_light


def test_no_warning_on_a_single_lattice():
    img, _ = hu.data.atomic_image(lattice="hexagonal", random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        res = hu.neighborhood_pca(img, n_neighbors="auto")
    assert res.parameters["missed_sublattice"] is None


@pytest.mark.parametrize("lattice", ["hexagonal", "square", "rectangular"])
@pytest.mark.parametrize("spacing", [8, 16, 24])
def test_a_sublattice_at_a_tenth_of_the_intensity_is_reported(lattice, spacing):
    # the case: light atoms at 0.1 of the heavy ones (noise 0.05):
    # no local maximum of the average cell itself, a peak of its residual
    img, t = hu.data.atomic_image(
        spacing=spacing, lattice=lattice, sublattice_intensity=0.1, random_state=2
    )
    heavy = t.positions[t.sublattice == 0]
    found = missed_sublattice(np.asarray(img.data, float), heavy, spacing)
    assert found is not None
    assert 0.03 <= found["height"] <= 0.2
