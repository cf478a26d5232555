"""Example data: the generators' ground truth and the real-data loaders.

The truth is checked against independent computations written here (brute
force Gaussian rendering, k-d tree neighbour geometry, local affine strain
fits, point-wise Fourier sums, Poisson statistics), not against numbers
copied from the generators.
"""

import dataclasses

import h5py
import hyperspy.api as hs
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from scipy.spatial import cKDTree

import hyperspy_unmix.data as hd
from hyperspy_unmix.signals import AtomicResolutionImage, SpectralMap


def spectral_angles(x, e):
    """Angle (rad) between each row of ``x`` and the spectrum ``e``."""
    cos = x @ e / (np.linalg.norm(x, axis=-1) * np.linalg.norm(e))
    return np.arccos(np.clip(cos, -1.0, 1.0))


def test_public_names():
    assert sorted(hd.__all__) == sorted(
        [
            "spectrum_image",
            "multiphase_lattice",
            "distorted_lattice",
            "bfo_conduction_map",
            "mores2_image",
            "SpectrumImageTruth",
            "LatticeTruth",
            "DistortionTruth",
            "atomic_image",
            "AtomicImageTruth",
        ]
    )
    for name in hd.__all__:
        assert getattr(hd, name) is not None


# --------------------------------------------------------------------------
# spectrum_image


@pytest.fixture(scope="module")
def noisy_si():
    return hd.spectrum_image((48, 40), 256, 4, dose=2e4, random_state=3)


@pytest.fixture(scope="module")
def clean_si():
    return hd.spectrum_image(
        (48, 40), 256, 4, dose=None, random_state=3, dtype="float64"
    )


def test_spectrum_image_signal_and_axes(noisy_si):
    s, truth = noisy_si
    assert isinstance(s, SpectralMap)
    assert s.data.shape == (48, 40, 256)
    assert s.data.dtype == np.float32
    am = s.axes_manager
    assert [a.name for a in am.navigation_axes] == ["x", "y"]
    assert [a.units for a in am.navigation_axes] == ["nm", "nm"]
    assert am.navigation_shape == (40, 48)
    energy = am.signal_axes[0]
    assert energy.units == "eV"
    assert energy.offset == pytest.approx(200.0)
    assert energy.offset + energy.scale * energy.size == pytest.approx(1000.0)
    np.testing.assert_allclose(energy.axis, truth.energy)
    assert s.metadata.General.title
    assert s.metadata.Signal.signal_type == "spectral_map"
    assert s.metadata.hyperspy_unmix.method.endswith("spectrum_image")


def test_spectrum_image_truth_shapes(noisy_si):
    _, truth = noisy_si
    assert truth.endmembers.shape == (4, 256)
    assert truth.abundances.shape == (4, 48, 40)
    assert truth.pure_pixels.shape == (4, 2)
    assert truth.pure_mask.shape == (4, 48, 40)
    assert len(truth.names) == 4 and len(set(truth.names)) == 4
    assert truth.dose == 2e4


def test_abundances_simplex_and_smooth(noisy_si):
    a = noisy_si[1].abundances
    assert a.min() >= 0.0
    np.testing.assert_allclose(a.sum(axis=0), 1.0, atol=1e-12)
    # smooth: neighbouring pixels differ far less than shuffled pixels would
    step = np.abs(np.diff(a, axis=1)).mean() + np.abs(np.diff(a, axis=2)).mean()
    shuffled = np.random.default_rng(0).permuted(a.reshape(4, -1), axis=1)
    assert step < 0.25 * 2 * np.abs(np.diff(shuffled, axis=1)).mean()
    # mostly mixtures: the planted patches are not the whole map
    assert np.mean(a.max(axis=0) < 0.9) > 0.5


def test_pure_pixels_are_pure(noisy_si, clean_si):
    _, truth = noisy_si
    a = truth.abundances
    for k, (r, c) in enumerate(truth.pure_pixels):
        assert truth.pure_mask[k, r, c]
        assert a[k, r, c] == 1.0
        assert np.all(np.delete(a[:, r, c], k) == 0.0)
        assert np.all(a[k][truth.pure_mask[k]] == 1.0)
        assert truth.pure_mask[k].sum() >= 5  # a patch, not a single pixel
    # the mask holds exactly the pixels with abundance 1
    np.testing.assert_array_equal(truth.pure_mask, a == 1.0)
    # noise-free spectrum at a pure pixel is the endmember itself
    s0, t0 = clean_si
    for k, (r, c) in enumerate(t0.pure_pixels):
        np.testing.assert_allclose(s0.data[r, c], t0.endmembers[k], rtol=1e-12)


def test_endmembers_realistic_and_distinct(noisy_si):
    e = noisy_si[1].endmembers
    assert np.all(e > 0)
    np.testing.assert_allclose(e.sum(axis=1), 2e4)  # counts at this dose
    # decaying background: more counts at the low-energy end
    assert np.all(e[:, :10].mean(axis=1) > 3 * e[:, -10:].mean(axis=1))
    for i in range(4):
        for j in range(i + 1, 4):
            assert spectral_angles(e[i][None], e[j])[0] > 0.1


def test_noise_free_is_linear_mixture(clean_si):
    s, truth = clean_si
    expected = np.einsum("kyx,kc->yxc", truth.abundances, truth.endmembers)
    np.testing.assert_allclose(s.data, expected, rtol=1e-12, atol=0)
    np.testing.assert_allclose(truth.endmembers.sum(axis=1), 1.0)
    np.testing.assert_allclose(truth.expected(), expected, rtol=1e-12)
    assert truth.dose is None


def test_poisson_false_gives_expectation_at_dose():
    s, truth = hd.spectrum_image(
        (32, 32), 64, 2, dose=500.0, poisson=False, random_state=1, dtype="float64"
    )
    expected = np.einsum("kyx,kc->yxc", truth.abundances, truth.endmembers)
    np.testing.assert_allclose(s.data, expected, rtol=1e-12)
    np.testing.assert_allclose(s.data.sum(axis=-1), 500.0)


def test_data_follow_poisson_model(noisy_si):
    s, truth = noisy_si
    x = s.data.astype(np.float64)
    lam = np.einsum("kyx,kc->yxc", truth.abundances, truth.endmembers)
    assert np.all(x == np.round(x))  # counts
    z = (x - lam) / np.sqrt(lam)
    n = z.size
    assert abs(z.mean()) < 5 / np.sqrt(n)
    assert abs(z.var() - 1.0) < 0.02
    # mean total counts per spectrum is the dose
    assert x.sum(axis=-1).mean() == pytest.approx(2e4, rel=0.01)
    # summed over a pure patch the counts approach n_pixels * endmember
    for k in range(4):
        mask = truth.pure_mask[k]
        total = x[mask].sum(axis=0)
        expected = mask.sum() * truth.endmembers[k]
        zk = (total - expected) / np.sqrt(expected)
        assert abs(zk.mean()) < 0.5 and 0.7 < zk.std() < 1.3


def test_noise_floor_at_default_dose():
    # the documented regime: below 0.05 rad at the default dose
    s, truth = hd.spectrum_image((64, 64), 512, 4, random_state=0)
    angles = np.concatenate(
        [
            spectral_angles(s.data[truth.pure_mask[k]].astype(float), e)
            for k, e in enumerate(truth.endmembers)
        ]
    )
    assert angles.mean() < 0.05
    # and noise really is there
    assert angles.min() > 0.0


@pytest.mark.parametrize(
    "shape, n_channels, n_endmembers",
    [((32, 32), 64, 8), ((16, 24), 2048, 3), ((33, 17), 100, 1)],
)
def test_spectrum_image_sizes(shape, n_channels, n_endmembers):
    s, truth = hd.spectrum_image(shape, n_channels, n_endmembers, random_state=0)
    assert s.data.shape == (*shape, n_channels)
    np.testing.assert_allclose(truth.abundances.sum(axis=0), 1.0, atol=1e-12)
    rows, cols = truth.pure_pixels.T
    assert np.all(truth.abundances[np.arange(n_endmembers), rows, cols] == 1)


def test_spectrum_image_determinism():
    a, ta = hd.spectrum_image((32, 32), 64, 3, random_state=7)
    b, tb = hd.spectrum_image((32, 32), 64, 3, random_state=7)
    c, tc = hd.spectrum_image((32, 32), 64, 3, random_state=8)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(ta.abundances, tb.abundances)
    assert not np.array_equal(a.data, c.data)
    assert not np.array_equal(ta.abundances, tc.abundances)
    g1 = hd.spectrum_image((32, 32), 64, 3, random_state=np.random.default_rng(7))
    g2 = hd.spectrum_image((32, 32), 64, 3, random_state=np.random.default_rng(7))
    np.testing.assert_array_equal(g1[0].data, g2[0].data)


def test_truth_is_read_only(noisy_si):
    truth = noisy_si[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        truth.dose = 1.0
    with pytest.raises(ValueError, match="read-only"):
        truth.abundances[0, 0, 0] = 0.5


def test_generated_signal_round_trip(tmp_path):
    s, _ = hd.spectrum_image((16, 16), 32, 2, random_state=0)
    s.save(tmp_path / "si.hspy")
    r = hs.load(tmp_path / "si.hspy")
    assert isinstance(r, SpectralMap)
    np.testing.assert_array_equal(r.data, s.data)
    assert (
        r.metadata.hyperspy_unmix.parameters.dose
        == s.metadata.hyperspy_unmix.parameters.dose
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (64,)}, ValueError, "shape"),
        ({"shape": 64}, TypeError, "shape"),
        ({"shape": (8, 64)}, ValueError, "shape"),
        ({"shape": (32.5, 32)}, TypeError, "shape"),
        ({"n_channels": 8}, ValueError, "n_channels"),
        ({"n_channels": 64.0}, TypeError, "n_channels"),
        ({"n_endmembers": 0}, ValueError, "n_endmembers"),
        ({"n_endmembers": 9}, ValueError, "n_endmembers"),
        ({"dose": 0.0}, ValueError, "dose"),
        ({"dose": -5.0}, ValueError, "dose"),
        ({"dose": float("nan")}, ValueError, "dose"),
        ({"dose": "high"}, TypeError, "dose"),
        ({"dtype": "int16"}, ValueError, "dtype"),
        ({"dtype": "nonsense"}, TypeError, "dtype"),
        ({"poisson": "yes"}, TypeError, "poisson"),
        ({"random_state": 1.5}, TypeError, "random_state"),
        ({"random_state": -1}, ValueError, "random_state"),
        ({"shape": (16, 16), "n_endmembers": 8}, ValueError, "shape"),
    ],
)
def test_spectrum_image_bad_parameters(kwargs, error, match):
    params = {"shape": (32, 32), "n_channels": 64, "n_endmembers": 3}
    params.update(kwargs)
    with pytest.raises(error, match=match):
        hd.spectrum_image(**params)


# --------------------------------------------------------------------------
# multiphase_lattice


def brute_force_render(shape, positions, sigma):
    y, x = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape)
    for px, py in positions:  # reference: one full-image Gaussian per atom
        out += np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * sigma**2))
    return out


def neighbour_vectors(positions, k=6):
    dist, idx = cKDTree(positions).query(positions, k=k + 1)
    return dist[:, 1:], positions[idx[:, 1:]] - positions[:, None, :]


def interior_atoms(truth, phase, radius):
    """Atoms of ``phase`` whose surroundings (disc of ``radius``) are all that phase."""
    labels = truth.labels
    ny, nx = labels.shape
    pos = truth.positions
    r = int(np.ceil(radius))
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    disc = yy**2 + xx**2 <= radius**2
    ix = np.rint(pos[:, 0]).astype(int)
    iy = np.rint(pos[:, 1]).astype(int)
    ok = (
        (ix >= r)
        & (ix < nx - r)
        & (iy >= r)
        & (iy < ny - r)
        & (truth.atom_phase == phase)
    )
    for dy, dx in zip(yy[disc], xx[disc]):  # loop over the disc's offsets
        inside = ok.copy()
        inside[ok] = labels[iy[ok] + dy, ix[ok] + dx] == phase
        ok = inside
    return ok


@pytest.fixture(scope="module")
def three_phases():
    return hd.multiphase_lattice((256, 256), n_phases=3, spacing=10.0, random_state=4)


def test_multiphase_signal(three_phases):
    img, truth = three_phases
    assert isinstance(img, AtomicResolutionImage)
    assert img.data.shape == (256, 256) and img.data.dtype == np.float32
    for ax in img.axes_manager.signal_axes:
        assert ax.units == "nm" and ax.scale == pytest.approx(0.025)
    assert [a.name for a in img.axes_manager.signal_axes] == ["x", "y"]
    assert img.metadata.Signal.signal_type == "atomic_resolution"
    assert truth.phase_names == (
        "hexagonal",
        "dimerised hexagonal",
        "hexagonal rotated 30 deg",
    )
    assert truth.labels.shape == (256, 256)
    assert set(np.unique(truth.labels)) == {0, 1, 2}


def test_atoms_carry_the_label_at_their_position(three_phases):
    _, truth = three_phases
    pos = truth.positions
    assert np.all((pos >= 0) & (pos <= 255))
    ix = np.rint(pos[:, 0]).astype(int)
    iy = np.rint(pos[:, 1]).astype(int)
    np.testing.assert_array_equal(truth.atom_phase, truth.labels[iy, ix])
    assert set(np.unique(truth.atom_phase)) == {0, 1, 2}
    # no two atoms overlap, even across a boundary
    dist, _ = neighbour_vectors(pos, k=1)
    assert dist.min() > 0.55 * truth.spacing


def test_each_phase_follows_its_lattice(three_phases):
    _, truth = three_phases
    a = truth.spacing
    dist, vec = neighbour_vectors(truth.positions)
    angle = np.degrees(np.arctan2(vec[..., 1], vec[..., 0]))
    # plain: six neighbours at the spacing, bonds at multiples of 60 degrees
    ok = interior_atoms(truth, 0, 2 * a)
    assert ok.sum() > 50
    np.testing.assert_allclose(dist[ok], a, rtol=1e-9)
    np.testing.assert_allclose(np.cos(np.radians(6 * angle[ok])), 1.0, atol=1e-9)
    # rotated: same distances, bonds at 30 degrees + multiples of 60
    ok = interior_atoms(truth, 2, 2 * a)
    assert ok.sum() > 50
    np.testing.assert_allclose(dist[ok], a, rtol=1e-9)
    np.testing.assert_allclose(np.cos(np.radians(6 * angle[ok])), -1.0, atol=1e-9)
    # dimerised: each atom has a partner at (1 - 2 delta) a along x, and the
    # next atom along x at (1 + 2 delta) a
    ok = interior_atoms(truth, 1, 2 * a)
    assert ok.sum() > 50
    delta = 0.1
    np.testing.assert_allclose(dist[ok, 0], (1 - 2 * delta) * a, rtol=1e-9)
    np.testing.assert_allclose(np.abs(vec[ok, 0, 1]), 0.0, atol=1e-9)
    along_x = np.abs(vec[ok, :, 1]) < 1e-9
    np.testing.assert_allclose(
        np.sort(np.abs(vec[ok, :, 0])[along_x].reshape(-1, 2), axis=1),
        np.tile([(1 - 2 * delta) * a, (1 + 2 * delta) * a], (ok.sum(), 1)),
        rtol=1e-9,
    )


def _dft_at(window, k):
    """|sum_p w(p) (I(p) - mean) exp(-2 pi i k.p)| at one wave vector ``k`` (x, y)."""
    n = window.shape[0]
    taper = np.outer(np.hanning(n), np.hanning(n))
    y, x = np.mgrid[:n, :n]
    f = (window - window.mean()) * taper
    return abs(np.sum(f * np.exp(-2j * np.pi * (k[0] * x + k[1] * y))))


def test_dimerised_phase_has_superlattice_peak():
    img, truth = hd.multiphase_lattice(
        (256, 256), n_phases=2, spacing=10.0, noise=0.1, random_state=2
    )
    a = truth.spacing
    b1 = np.array([1.0, -1.0 / np.sqrt(3.0)]) / a  # reciprocal vector of a1
    windows = sliding_window_view(truth.labels, (64, 64))[::8, ::8]
    ratios = {}
    for phase in (0, 1):
        wy, wx = np.argwhere(np.all(windows == phase, axis=(-1, -2)))[0]
        win = img.data[8 * wy : 8 * wy + 64, 8 * wx : 8 * wx + 64].astype(float)
        ratios[phase] = _dft_at(win, b1 / 2) / _dft_at(win, b1)
    assert ratios[1] > 0.4  # half-order spot of the doubled period
    assert ratios[0] < 0.15


def test_regions_are_large():
    _, truth = hd.multiphase_lattice((512, 512), n_phases=2, random_state=0)
    windows = sliding_window_view(truth.labels, (64, 64))[::16, ::16]
    lo, hi = windows.min(axis=(-1, -2)), windows.max(axis=(-1, -2))
    for phase in (0, 1):
        assert np.sum((lo == phase) & (hi == phase)) >= 100
    # the boundary is not a straight line: the boundary pixels do not lie on
    # one line (residual of a straight-line fit well above a pixel)
    edge = np.argwhere(np.diff(truth.labels, axis=1) != 0)
    fit = np.polyfit(edge[:, 0], edge[:, 1], 1)
    assert np.std(edge[:, 1] - np.polyval(fit, edge[:, 0])) > 3


def test_multiphase_image_is_the_atoms_plus_noise():
    shape = (72, 80)
    img, truth = hd.multiphase_lattice(
        shape, n_phases=2, spacing=8.0, noise=0.0, background=1.0, random_state=5
    )
    ref = brute_force_render(shape, truth.positions, 0.2 * 8.0) + 1.0
    np.testing.assert_allclose(img.data, ref, atol=2e-3)
    noisy, truth2 = hd.multiphase_lattice(
        shape, n_phases=2, spacing=8.0, noise=0.2, background=1.0, random_state=5
    )
    np.testing.assert_array_equal(truth2.positions, truth.positions)
    residual = noisy.data - img.data
    assert np.std(residual) == pytest.approx(0.2, rel=0.05)
    assert abs(np.mean(residual)) < 0.02
    # default background: 4 noise standard deviations, nothing negative
    default, _ = hd.multiphase_lattice(shape, noise=0.2, random_state=5)
    assert default.data.min() >= 0.0
    assert np.median(default.data) > 0.5 * 4 * 0.2


def test_single_phase():
    img, truth = hd.multiphase_lattice((64, 64), n_phases=1, random_state=0)
    assert np.all(truth.labels == 0) and np.all(truth.atom_phase == 0)
    assert truth.phase_names == ("hexagonal",)


def test_multiphase_determinism():
    a, ta = hd.multiphase_lattice((96, 96), random_state=1)
    b, tb = hd.multiphase_lattice((96, 96), random_state=1)
    c, tc = hd.multiphase_lattice((96, 96), random_state=2)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(ta.labels, tb.labels)
    assert not np.array_equal(a.data, c.data)
    assert not np.array_equal(ta.labels, tc.labels)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (16, 64)}, ValueError, "shape"),
        ({"n_phases": 0}, ValueError, "n_phases"),
        ({"n_phases": 4}, ValueError, "n_phases"),
        ({"spacing": 2.0}, ValueError, "spacing"),
        ({"spacing": 40.0}, ValueError, "spacing"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"background": -0.1}, ValueError, "background"),
        ({"dimerization": 0.4}, ValueError, "dimerization"),
        ({"atom_sigma": 0.1}, ValueError, "atom_sigma"),
        ({"pixel_size": 0.0}, ValueError, "pixel_size"),
        ({"random_state": "x"}, TypeError, "random_state"),
    ],
)
def test_multiphase_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        hd.multiphase_lattice(**{"shape": (64, 64), **kwargs})


# --------------------------------------------------------------------------
# distorted_lattice


@pytest.fixture(scope="module")
def strained():
    return hd.distorted_lattice(
        (256, 256), spacing=12.0, amplitude=0.06, random_state=0
    )


def test_distorted_signal(strained):
    img, truth = strained
    assert isinstance(img, AtomicResolutionImage)
    assert img.data.shape == (256, 256) and img.data.dtype == np.float32
    for ax in img.axes_manager.signal_axes:
        assert ax.units == "nm" and ax.scale == pytest.approx(0.025)
    n = len(truth.positions)
    assert truth.ideal_positions.shape == (n, 2) and truth.distortion.shape == (n,)
    assert "strain" in truth.description
    assert np.linalg.norm(truth.strain_direction) == pytest.approx(1.0)
    assert np.all((truth.positions >= 0) & (truth.positions <= 255))


def test_ideal_lattice_and_displacement_direction(strained):
    _, truth = strained
    dist, _ = neighbour_vectors(truth.ideal_positions)
    full = np.all(dist < 1.01 * truth.spacing, axis=1)
    np.testing.assert_allclose(dist[full], truth.spacing, rtol=1e-9)
    shift = truth.positions - truth.ideal_positions
    d = truth.strain_direction
    np.testing.assert_allclose(shift[:, 0] * d[1] - shift[:, 1] * d[0], 0, atol=1e-9)


def local_strain(truth):
    """d.(F - 1).d from a least-squares affine fit to the six neighbours."""
    ideal, pos = truth.ideal_positions, truth.positions
    dist, idx = cKDTree(ideal).query(ideal, k=7)
    full = np.all(dist[:, 1:] < 1.01 * truth.spacing, axis=1)
    p0 = ideal[idx[:, 1:]] - ideal[:, None]
    p1 = pos[idx[:, 1:]] - pos[:, None]
    ft = np.linalg.solve(
        np.einsum("nji,njk->nik", p0, p0), np.einsum("nji,njk->nik", p0, p1)
    )
    d = truth.strain_direction
    return np.einsum("i,nji,j->n", d, ft, d) - 1.0, full


@pytest.mark.parametrize("angle", [0.0, 35.0])
def test_distortion_matches_drawn_positions(angle):
    amplitude = 0.06
    _, truth = hd.distorted_lattice(
        (192, 192), amplitude=amplitude, strain_angle=angle, random_state=1
    )
    strain, full = local_strain(truth)
    assert full.sum() > 100
    np.testing.assert_allclose(
        strain[full], truth.distortion[full], atol=0.05 * amplitude
    )
    # a strained band and an unstrained surrounding, both well populated
    assert np.mean(truth.distortion > 0.9 * amplitude) > 0.08
    assert np.mean(truth.distortion < 0.1 * amplitude) > 0.08
    assert truth.distortion.min() >= 0 and truth.distortion.max() <= amplitude


def test_distortion_is_first_neighbourhood_component(strained):
    _, truth = strained
    pos, a = truth.positions, truth.spacing
    dist, vec = neighbour_vectors(pos)
    # canonical order: bond angle from the lattice direction (x), in [-30, 330)
    angle = np.mod(np.arctan2(vec[..., 1], vec[..., 0]) + np.pi / 6, 2 * np.pi)
    order = np.argsort(angle, axis=1)
    dist = np.take_along_axis(dist, order, axis=1)
    angle = np.take_along_axis(angle, order, axis=1)
    ok = np.all((pos > 2 * a) & (pos < 255 - 2 * a), axis=1)
    d = dist[ok] - dist[ok].mean(axis=0)
    t = angle[ok] - angle[ok].mean(axis=0)
    x = np.hstack([d / d.std(), t / t.std()])
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    r = np.corrcoef(u[:, 0], truth.distortion[ok])[0, 1]
    assert abs(r) >= 0.9


def test_distorted_image_is_the_atoms_plus_noise():
    shape = (64, 72)
    img, truth = hd.distorted_lattice(
        shape, spacing=10.0, noise=0.0, background=0.5, random_state=3
    )
    ref = brute_force_render(shape, truth.positions, 2.0) + 0.5
    np.testing.assert_allclose(img.data, ref, atol=2e-3)
    noisy, _ = hd.distorted_lattice(
        shape, spacing=10.0, noise=0.1, background=0.5, random_state=3
    )
    assert np.std(noisy.data - img.data) == pytest.approx(0.1, rel=0.05)
    # clipped at zero: no negative intensities even without a background
    bare, _ = hd.distorted_lattice(shape, noise=0.1, background=0.0, random_state=3)
    assert bare.data.min() == 0.0


def test_distorted_determinism():
    a, ta = hd.distorted_lattice((96, 96), random_state=1)
    b, tb = hd.distorted_lattice((96, 96), random_state=1)
    c, tc = hd.distorted_lattice((96, 96), random_state=2)
    np.testing.assert_array_equal(a.data, b.data)
    np.testing.assert_array_equal(ta.positions, tb.positions)
    assert not np.array_equal(ta.positions, tc.positions)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": (64, 64, 3)}, ValueError, "shape"),
        ({"spacing": 4.0}, ValueError, "spacing"),
        ({"amplitude": 0.5}, ValueError, "amplitude"),
        ({"amplitude": None}, TypeError, "amplitude"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"background": "dark"}, TypeError, "background"),
        ({"strain_angle": float("inf")}, ValueError, "strain_angle"),
        ({"atom_sigma": 10.0}, ValueError, "atom_sigma"),
        ({"pixel_size": -1.0}, ValueError, "pixel_size"),
    ],
)
def test_distorted_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        hd.distorted_lattice(**{"shape": (64, 64), **kwargs})


# --------------------------------------------------------------------------
# real data


def test_bfo_conduction_map():
    s = hd.bfo_conduction_map()
    assert isinstance(s, SpectralMap)
    assert s.data.shape == (50, 50, 53)
    assert np.all(np.isfinite(s.data))
    nav = s.axes_manager.navigation_axes
    assert [a.name for a in nav] == ["x", "y"]
    assert [a.units for a in nav] == ["nm", "nm"]
    assert nav[0].scale == pytest.approx(5.0 / 49)
    sig = s.axes_manager.signal_axes[0]
    assert sig.name == "sqrt(E)" and not sig.is_uniform
    assert s.metadata.Signal.quantity == "log J"
    assert "BiFeO3" in s.metadata.General.title
    assert "MIT" in s.metadata.hyperspy_unmix.source
    # the values are the file's, with the file's x as HyperSpy's x
    from importlib.resources import files

    path = files("hyperspy_unmix.data") / "files" / "bfo_iv_final.hf5"
    with h5py.File(path, "r") as f:
        group = f["Measurement_000/Channel_000/IV_BFO"]
        raw = group["IV_BFO"][...]
        sqrt_e = group["$\\sqrt E$"][...]
    np.testing.assert_array_equal(sig.axis, sqrt_e)
    # HyperSpy's (x=i, y=j) pixel is the file's [x=i, y=j] spectrum
    np.testing.assert_array_equal(s.inav[7, 3].data, raw[7, 3])

    u = hd.bfo_conduction_map(field_axis="field")
    e = u.axes_manager.signal_axes[0]
    assert e.is_uniform and e.units == "V/m"
    assert np.max(np.abs(e.axis - sqrt_e**2)) < 0.01 * e.scale
    np.testing.assert_array_equal(u.data, s.data)


def test_mores2_image():
    s = hd.mores2_image()
    assert isinstance(s, AtomicResolutionImage)
    assert s.data.shape == (687, 772) and s.data.dtype == np.float32
    assert np.all(np.isfinite(s.data))
    assert 0.0 <= s.data.min() and s.data.max() <= 1.0
    axes = s.axes_manager.signal_axes
    assert [a.name for a in axes] == ["x", "y"]
    assert [a.units for a in axes] == ["px", "px"]
    assert all(a.scale == 1.0 for a in axes)
    assert "MIT" in s.metadata.hyperspy_unmix.source
    assert s.metadata.General.title
    # re-rendering the grey levels with the 'hot' colormap gives the file back
    from importlib.resources import files

    import matplotlib
    from PIL import Image

    with Image.open(files("hyperspy_unmix.data") / "files" / "re48.tiff") as im:
        rgb = np.asarray(im.convert("RGB")).astype(float)
    rendered = matplotlib.colormaps["hot"](s.data.astype(float))[..., :3] * 255
    assert np.sqrt(np.mean((rendered - rgb) ** 2)) < 5.0
    luma = hd.mores2_image(grey="luma")
    np.testing.assert_allclose(
        luma.data, rgb @ np.array([0.299, 0.587, 0.114]) / 255, atol=1e-6
    )
    # both are monotonic in the intensity: strongly correlated
    assert np.corrcoef(luma.data.ravel(), s.data.ravel())[0, 1] > 0.95


def test_loaders_bad_parameters():
    with pytest.raises(ValueError, match="field_axis"):
        hd.bfo_conduction_map(field_axis="log")
    with pytest.raises(ValueError, match="grey"):
        hd.mores2_image(grey="red")
