import numpy as np
import pytest
from scipy.spatial import cKDTree

from hyperspy_unmix._core.atom_quality import (
    MIN_QUALITY,
    atom_quality,
    has_lattice,
    noise_level,
)
from hyperspy_unmix.data import atomic_image


@pytest.mark.parametrize("spacing", [6, 24])
@pytest.mark.parametrize("noise", [0.05, 0.2])
def test_noise_level(spacing, noise):
    img, _ = atomic_image((128, 128), spacing, noise=noise, random_state=0)
    assert noise_level(img.data) == pytest.approx(noise, rel=0.1)


def test_quality_of_pure_noise_maxima_is_below_the_threshold():
    from scipy import ndimage

    z = np.random.default_rng(0).normal(1.0, 0.1, (192, 192))
    peaks = z == ndimage.maximum_filter(z, size=5)
    y, x = np.nonzero(peaks)
    q = atom_quality(z, np.column_stack([x, y]), 10.0)
    assert q.max() < MIN_QUALITY


@pytest.mark.parametrize("lattice", ["hexagonal", "square", "rectangular"])
@pytest.mark.parametrize("spacing", [8, 20])
def test_half_vacuum_precision(lattice, spacing):
    from hyperspy_unmix.neighborhoods.atoms import find_atoms, separation_from_spacing

    img, truth = atomic_image(
        (160, 160), spacing, lattice, noise=0.1, vacuum="noise", random_state=2
    )
    found = find_atoms(img.data, separation_from_spacing(spacing))
    q = atom_quality(img.data, found, spacing)
    kept = found[q >= MIN_QUALITY]
    tol = max(1.5, 0.25 * spacing)
    d, _ = cKDTree(truth.positions).query(kept)
    assert np.mean(d <= tol) >= 0.98  # precision
    d, _ = cKDTree(found).query(truth.positions)
    found_true = d <= tol
    d, _ = cKDTree(kept).query(truth.positions)
    assert np.mean(d <= tol) >= 0.98 * np.mean(found_true)  # recall kept


def test_has_lattice():
    rng = np.random.default_rng(0)
    assert not has_lattice(rng.normal(1.0, 0.1, (256, 256)))[0]
    img, _ = atomic_image((128, 128), 12, noise=0.3, random_state=0)
    assert has_lattice(img.data)[0]
    img, _ = atomic_image((128, 128), 6, noise=0.3, vacuum="noise", random_state=0)
    assert has_lattice(img.data)[0]


def test_bad_input():
    with pytest.raises(ValueError, match="image"):
        atom_quality(np.ones(4), np.zeros((1, 2)), 3)
    with pytest.raises(ValueError, match="spacing"):
        atom_quality(np.ones((8, 8)), np.zeros((1, 2)), 0)
    with pytest.raises(TypeError, match="complex"):
        has_lattice(np.ones((8, 8), complex))
