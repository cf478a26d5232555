"""Synthetic atomic-resolution images: phases with known boundaries, and a
lattice with a known strain field."""

import numpy as np
from scipy.spatial import cKDTree

from hyperspy_unmix._validation import check_int
from hyperspy_unmix.data._common import as_rng, check_float, check_shape
from hyperspy_unmix.data._fields import SmoothField
from hyperspy_unmix.data._render import hexagonal_lattice, render_gaussians
from hyperspy_unmix.data._truth import DistortionTruth, LatticeTruth

PHASE_NAMES = ("hexagonal", "dimerised hexagonal", "hexagonal rotated 30 deg")


def _image_signal(image, pixel_size, title):
    from hyperspy_unmix.signals import AtomicResolutionImage

    ny, nx = image.shape
    axes = [
        {"name": "y", "units": "nm", "scale": pixel_size, "offset": 0.0,
         "size": ny, "navigate": False},
        {"name": "x", "units": "nm", "scale": pixel_size, "offset": 0.0,
         "size": nx, "navigate": False},
    ]  # fmt: skip
    signal = AtomicResolutionImage(image, axes=axes)
    signal.metadata.General.title = title
    signal.metadata.Signal.quantity = "Intensity (a.u.)"
    return signal


def _provenance(signal, method, random_state, **parameters):
    from hyperspy_unmix._metadata import add_provenance

    if isinstance(random_state, np.random.Generator):
        random_state = "Generator"
    add_provenance(
        signal,
        f"hyperspy_unmix.data.{method}",
        {**parameters, "random_state": random_state},
    )


def _finish_image(image, noise, background, rng):
    """Add the background and the noise in place, clip at 0, return float32.

    A detector gives no negative intensities, and Atomap refuses them; the
    default background (4 noise standard deviations) makes clipping rare.
    """
    image += background
    if noise > 0:
        image += rng.normal(0.0, noise, size=image.shape)
    np.maximum(image, 0.0, out=image)
    return image.astype(np.float32)


def _check_common(
    shape, spacing, noise, background, atom_sigma, pixel_size, *, min_spacing
):
    ny, nx = check_shape(shape, minimum=32, maximum=16384)
    spacing = check_float(
        spacing, "spacing", minimum=min_spacing, maximum=min(ny, nx) / 4
    )
    noise = check_float(noise, "noise", minimum=0.0)
    if background is None:
        background = 4.0 * noise
    background = check_float(background, "background", minimum=0.0)
    if atom_sigma is None:
        atom_sigma = 0.2 * spacing
    atom_sigma = check_float(atom_sigma, "atom_sigma", minimum=0.5, maximum=spacing / 2)
    pixel_size = check_float(pixel_size, "pixel_size", minimum=0.0, strict_minimum=True)
    return (ny, nx), spacing, noise, background, atom_sigma, pixel_size


def _phase_regions(shape, n_phases, rng):
    """Per-pixel phase labels: a Voronoi partition warped by smooth fields.

    The seeds sit on an ellipse around the centre, so each region reaches the
    middle of the image and is about ``1 / n_phases`` of it; the smooth
    random distance offsets (correlation length a fifth of the image, about
    6 % of its size in amplitude) make the boundaries wavy instead of straight.
    Returns the labels and a function giving the label at any points.
    """
    ny, nx = shape
    size = min(ny, nx)
    centre = np.array([(nx - 1) / 2, (ny - 1) / 2])
    phi = rng.uniform(0, 2 * np.pi)
    angles = phi + 2 * np.pi * np.arange(n_phases) / n_phases
    # an ellipse scaled with the image, so elongated images share out evenly
    seeds = centre + 0.3 * np.stack([nx * np.cos(angles), ny * np.sin(angles)], axis=1)
    warps = [SmoothField(rng, size / 5.0) for _ in range(n_phases)]
    amp = 0.06 * size

    if n_phases == 1:
        return np.zeros(shape, dtype=np.int64)
    x = np.arange(nx, dtype=float)[None, :]
    y = np.arange(ny, dtype=float)[:, None]
    best = np.full(shape, np.inf)
    labels = np.zeros(shape, dtype=np.int64)
    for k in range(n_phases):  # loop over phases (at most 3)
        d = np.hypot(x - seeds[k, 0], y - seeds[k, 1]) + amp * warps[k].grid(ny, nx)
        closer = d < best
        labels[closer] = k
        best = np.where(closer, d, best)
    return labels


def multiphase_lattice(
    shape=(512, 512),
    n_phases=2,
    spacing=10.0,
    noise=0.1,
    *,
    dimerization=0.1,
    background=None,
    atom_sigma=None,
    pixel_size=0.025,
    random_state=None,
):
    """An atomic-resolution image with lattice phases in irregular regions.

    Gaussian atoms (peak 1) on a hexagonal lattice whose structure changes
    from region to region:

    - phase 0, "hexagonal": the plain lattice, first lattice vector along x;
    - phase 1, "dimerised hexagonal": the same lattice with every other
      column of atoms (along the first lattice vector) shifted by
      ``dimerization * spacing`` toward its neighbour, so atoms pair up and the
      period along x doubles (half-order superlattice spots in the FFT);
    - phase 2, "hexagonal rotated 30 deg": the plain lattice rotated by 30
      degrees.

    The regions are a Voronoi partition around seeds on an ellipse, warped by
    smooth random fields, so their boundaries are wavy and each region is
    large (on a 512 x 512 image with two phases, each holds hundreds of
    64 x 64 windows). Each atom is kept only where the label at its rounded
    position is its own phase, and atoms that would come closer than
    0.6 spacing to an atom of a lower-numbered phase across a boundary are
    left out. A constant background and additive Gaussian noise of standard
    deviation ``noise`` are added, and the rare negative values clipped at 0.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` in pixels, each 32 to 16384.
    n_phases : int
        1, 2 or 3 (the first ``n_phases`` phases above).
    spacing : float
        Nearest-neighbour distance in pixels, 4 or more (8-12 suits a
        64-pixel sliding-FFT window).
    noise : float
        Standard deviation of the additive Gaussian noise (atoms have peak 1).
    dimerization : float
        Shift of each atom of the dimerised phase toward its partner, as a
        fraction of ``spacing``, between 0.02 and 0.25 (the pairs are then
        ``1 - 2 dimerization`` spacings apart).
    background : float, optional
        Constant added under the atoms, 4 ``noise`` by default (so that
        clipping at 0 touches almost no pixel).
    atom_sigma : float, optional
        Standard deviation of the Gaussian atoms in pixels; 0.2 spacing by
        default.
    pixel_size : float
        Calibration in nm per pixel (0.025 nm by default: a 10 px spacing is
        0.25 nm, the scale of graphene or MoS2 lattices).
    random_state : None, int or numpy.random.Generator
        Seed of the lattice origin, the regions and the noise.

    Returns
    -------
    image : hyperspy_unmix.signals.AtomicResolutionImage
        float32 image of shape ``(ny, nx)``, axes x, y in nm.
    truth : LatticeTruth
        Per-pixel phase labels, phase names, atom positions (x, y pixels) and
        each atom's phase.

    Examples
    --------
    >>> from hyperspy_unmix.data import multiphase_lattice
    >>> img, truth = multiphase_lattice((256, 256), n_phases=3, random_state=0)
    >>> img.data.shape, truth.labels.shape, truth.phase_names[2]
    ((256, 256), (256, 256), 'hexagonal rotated 30 deg')
    """
    (ny, nx), spacing, noise, background, atom_sigma, pixel_size = _check_common(
        shape, spacing, noise, background, atom_sigma, pixel_size, min_spacing=4.0
    )
    n_phases = check_int(n_phases, "n_phases", minimum=1, maximum=len(PHASE_NAMES))
    dimerization = check_float(dimerization, "dimerization", minimum=0.02, maximum=0.25)
    rng = as_rng(random_state)

    origin = rng.uniform(0.0, spacing, size=2)
    labels = _phase_regions((ny, nx), n_phases, rng)

    kept, kept_phase = [], []
    for k in range(n_phases):  # loop over phases (at most 3)
        angle = np.pi / 6 if k == 2 else 0.0
        pos, ij = hexagonal_lattice((ny, nx), spacing, angle, origin)
        if k == 1:
            # even columns move +shift, odd columns -shift, along a1 (x):
            # atoms 2m and 2m+1 pair up
            shift = dimerization * spacing * np.where(ij[:, 0] % 2 == 0, 1.0, -1.0)
            pos = pos + shift[:, None] * np.array([1.0, 0.0])
        ix = np.rint(pos[:, 0]).astype(np.int64)
        iy = np.rint(pos[:, 1]).astype(np.int64)
        inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
        pos, ix, iy = pos[inside], ix[inside], iy[inside]
        pos = pos[labels[iy, ix] == k]
        if kept:
            dist, _ = cKDTree(np.concatenate(kept)).query(pos, k=1)
            pos = pos[dist >= 0.6 * spacing]
        kept.append(pos)
        kept_phase.append(np.full(len(pos), k, dtype=np.int64))
    positions = np.concatenate(kept)
    atom_phase = np.concatenate(kept_phase)

    image = render_gaussians((ny, nx), positions, atom_sigma)
    image = _finish_image(image, noise, background, rng)
    signal = _image_signal(
        image,
        pixel_size,
        f"Synthetic lattice with {n_phases} phase{'s' * (n_phases > 1)}",
    )
    _provenance(
        signal, "multiphase_lattice", random_state, shape=(ny, nx),
        n_phases=n_phases, spacing=spacing, noise=noise, background=background,
        dimerization=dimerization,
        atom_sigma=atom_sigma, pixel_size=pixel_size,
    )  # fmt: skip
    truth = LatticeTruth(
        labels=labels,
        phase_names=PHASE_NAMES[:n_phases],
        positions=positions,
        atom_phase=atom_phase,
        spacing=spacing,
    )
    return signal, truth


def _softplus(z):
    return np.logaddexp(0.0, z)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def distorted_lattice(
    shape=(256, 256),
    spacing=12.0,
    amplitude=0.06,
    noise=0.05,
    *,
    strain_angle=0.0,
    background=None,
    atom_sigma=None,
    pixel_size=0.025,
    random_state=None,
):
    """An atomic-resolution image with a known, smooth strain field.

    Gaussian atoms (peak 1) on a hexagonal lattice (first lattice vector along
    x, random origin) displaced by ``u(p) = psi(p) d``: a uniaxial strain
    along the direction ``d`` (``strain_angle``) in a band across the image,
    perpendicular to ``d``, whose two soft boundaries follow the same wavy
    curve. With ``s = d . p`` and ``sigma(z)`` the logistic function,
    ``d psi / d s = amplitude * m`` with
    ``m = sigma((s - w(t) + W/2) / b) - sigma((s - w(t) - W/2) / b)``, where
    ``t`` is the coordinate across ``d``, ``w(t)`` a random wavy curve (three
    harmonics, about 3 % of the image in amplitude), ``W`` = 50 % of the
    image and ``b`` the boundary softness (the larger of 0.75 spacing and
    image size / 30). So the atoms inside the band are stretched by
    ``amplitude`` along ``d`` (neighbour distances and angles change), the
    atoms outside keep the ideal lattice, and the boundaries are soft.
    Because the boundaries are parallel, the displacement outside the band is
    a rigid shift, and the only other deformation is a small shear (``m w'/2``,
    at most a fifth of the strain) where the boundary tilts: the distortion is
    essentially one mode of varying amplitude, so the first principal
    component of the neighbour distances and angles follows it.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` in pixels, each 32 to 16384 (4096 x 4096 with spacing 12
        has about 134 000 atoms and takes a few seconds).
    spacing : float
        Nearest-neighbour distance of the ideal lattice, pixels (6 or more).
    amplitude : float
        Uniaxial strain inside the band (0.06 = 6 % stretch), between -0.3
        and 0.3.
    noise : float
        Standard deviation of the additive Gaussian noise (atoms have peak 1).
    strain_angle : float
        Direction of the strain, degrees from +x.
    background : float, optional
        Constant added under the atoms, 4 ``noise`` by default (so that
        clipping at 0 touches almost no pixel).
    atom_sigma : float, optional
        Standard deviation of the Gaussian atoms in pixels; 0.2 spacing by
        default.
    pixel_size : float
        Calibration in nm per pixel (0.025 nm: a 12 px spacing is 0.3 nm).
    random_state : None, int or numpy.random.Generator
        Seed of the lattice origin, the boundary shape and the noise.

    Returns
    -------
    image : hyperspy_unmix.signals.AtomicResolutionImage
        float32 image of shape ``(ny, nx)``, axes x, y in nm.
    truth : DistortionTruth
        True and ideal positions (x, y pixels) of every atom drawn, and each
        atom's strain ``amplitude * m`` (the ``d d`` component of the
        displacement gradient at the atom).

    Examples
    --------
    >>> from hyperspy_unmix.data import distorted_lattice
    >>> img, truth = distorted_lattice((128, 128), random_state=0)
    >>> truth.positions.shape == truth.ideal_positions.shape
    True
    """
    (ny, nx), spacing, noise, background, atom_sigma, pixel_size = _check_common(
        shape, spacing, noise, background, atom_sigma, pixel_size, min_spacing=6.0
    )
    amplitude = check_float(amplitude, "amplitude", minimum=-0.3, maximum=0.3)
    strain_angle = check_float(strain_angle, "strain_angle")
    rng = as_rng(random_state)

    alpha = np.deg2rad(strain_angle)
    d = np.array([np.cos(alpha), np.sin(alpha)])
    t_dir = np.array([-np.sin(alpha), np.cos(alpha)])
    centre = np.array([(nx - 1) / 2, (ny - 1) / 2])
    corners = np.array([[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1]]) - centre
    extent_s = np.ptp(corners @ d)
    extent_t = np.ptp(corners @ t_dir)
    band = 0.5 * extent_s
    soft = max(0.75 * spacing, min(ny, nx) / 30.0)
    harmonics = np.arange(1, 4)
    weights = rng.normal(size=3) / harmonics
    weights *= 0.03 * extent_t / np.sqrt(np.sum(weights**2))
    phases = rng.uniform(0, 2 * np.pi, size=3)
    wavenumbers = 2 * np.pi * harmonics / extent_t

    def wavy(t):
        return np.sin(np.multiply.outer(t, wavenumbers) + phases) @ weights

    # the drawn lattice must cover the image after the displacement, so sites
    # are generated with a margin and kept if they land inside
    origin = rng.uniform(0.0, spacing, size=2)
    max_shift = abs(amplitude) * (band + 4 * soft) + spacing
    ideal, _ = hexagonal_lattice((ny, nx), spacing, 0.0, origin, margin=max_shift)
    rel = ideal - centre
    s = rel @ d
    sigma1 = (s - wavy(rel @ t_dir) + band / 2) / soft
    sigma2 = (s - wavy(rel @ t_dir) - band / 2) / soft
    psi = amplitude * soft * (_softplus(sigma1) - _softplus(sigma2))
    # psi is only defined up to a constant: centre the band's rigid shift
    psi -= amplitude * band / 2
    positions = ideal + psi[:, None] * d
    inside = np.all((positions >= 0) & (positions <= [nx - 1, ny - 1]), axis=1)
    positions, ideal = positions[inside], ideal[inside]
    strain = amplitude * (_sigmoid(sigma1) - _sigmoid(sigma2))[inside]

    image = render_gaussians((ny, nx), positions, atom_sigma)
    image = _finish_image(image, noise, background, rng)
    signal = _image_signal(image, pixel_size, "Synthetic strained lattice")
    _provenance(
        signal, "distorted_lattice", random_state, shape=(ny, nx), spacing=spacing,
        amplitude=amplitude, noise=noise, background=background,
        strain_angle=strain_angle,
        atom_sigma=atom_sigma, pixel_size=pixel_size,
    )  # fmt: skip
    truth = DistortionTruth(
        positions=positions,
        ideal_positions=ideal,
        distortion=strain,
        description=(
            "local uniaxial strain along strain_direction at each atom: the "
            "d.d component of the displacement gradient, d(u.d)/ds (0 = ideal "
            f"lattice, {amplitude:g} = fully strained band)"
        ),
        strain_direction=d,
        spacing=spacing,
    )
    return signal, truth
