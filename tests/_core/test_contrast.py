import numpy as np
import pytest
from scipy.spatial import cKDTree

from hyperspy_unmix._core.contrast import detect_contrast
from hyperspy_unmix._core.refinement import refine_center_of_mass
from hyperspy_unmix.data import atomic_image


@pytest.mark.parametrize("lattice", ["hexagonal", "square", "rectangular"])
@pytest.mark.parametrize("spacing", [6, 24])
@pytest.mark.parametrize("extra", [{}, {"vacuum": "noise"}, {"noise": 0.3}])
def test_generated_contrast(lattice, spacing, extra):
    for contrast in ("bright", "dark"):
        img, truth = atomic_image(
            (128, 128), spacing, lattice, contrast=contrast, random_state=1, **extra
        )
        got, evidence = detect_contrast(img.data, spacing)
        assert got == truth.contrast
        assert abs(evidence["skewness"]) > 0.3


def test_real_image_and_its_inverse():
    from hyperspy_unmix.data import mores2_image

    data = mores2_image().data[:256, :256]
    assert detect_contrast(data, 29.5)[0] == "bright"
    assert detect_contrast(data.max() - data, 29.5)[0] == "dark"


def _match(a, b, tol=1.0):
    d, _ = cKDTree(b).query(a)
    return float(np.mean(d <= tol))


@pytest.mark.parametrize("lattice", ["hexagonal", "square"])
def test_inverted_dark_image_finds_the_bright_atoms(lattice):
    from hyperspy_unmix.neighborhoods.atoms import (
        estimate_spacing,
        find_atoms,
        separation_from_spacing,
    )

    kw = dict(shape=(160, 160), spacing=12, lattice=lattice, noise=0.05)
    bright, _ = atomic_image(contrast="bright", random_state=3, **kw)
    dark, truth = atomic_image(contrast="dark", random_state=3, **kw)
    spacing = estimate_spacing(dark.data)
    contrast, _ = detect_contrast(dark.data, spacing)
    assert contrast == "dark"
    data = dark.data.max() - dark.data
    sep = separation_from_spacing(spacing)
    # peak pixels jitter with the noise (here mirrored: bright = A + n, the
    # inverted dark image = A - n): compare centre-of-mass positions
    found_dark = refine_center_of_mass(data, find_atoms(data, sep), 0.4 * spacing)
    found_bright = refine_center_of_mass(
        bright.data, find_atoms(bright.data, sep), 0.4 * spacing
    )
    # recall and precision against the bright version, within 1 px
    assert _match(found_bright, found_dark) >= 0.98
    assert _match(found_dark, found_bright) >= 0.98
    # and against the truth (interior atoms)
    inner = np.all((truth.positions > 3) & (truth.positions < 156), axis=1)
    assert _match(truth.positions[inner], found_dark) >= 0.98


def test_bad_input():
    with pytest.raises(ValueError, match="image"):
        detect_contrast(np.ones(5), 3)
    with pytest.raises(ValueError, match="spacing"):
        detect_contrast(np.ones((8, 8)), -1)
    with pytest.raises(TypeError, match="complex"):
        detect_contrast(np.ones((8, 8), complex), 3)
