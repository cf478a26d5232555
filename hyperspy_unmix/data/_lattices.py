"""Synthetic atomic-resolution images: phases with known boundaries, and a
lattice with a known strain field."""

import numpy as np
from scipy.spatial import cKDTree

from hyperspy_unmix._validation import check_int
from hyperspy_unmix.data._common import as_rng, check_float, check_shape
from hyperspy_unmix.data._fields import SmoothField
from hyperspy_unmix.data._render import (
    hexagonal_lattice,
    lattice_sites,
    render_gaussians,
)
from hyperspy_unmix.data._truth import AtomicImageTruth, DistortionTruth, LatticeTruth

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
    dtype="float32",
    offset=0.0,
    gain=None,
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
    dtype, offset, gain
        Storage of the image as ``gain * intensity + offset`` in ``dtype``,
        as for :func:`atomic_image` (float32, no offset by default).
    random_state : None, int or numpy.random.Generator
        Seed of the lattice origin, the regions and the noise.

    Returns
    -------
    image : hyperspy_unmix.signals.AtomicResolutionImage
        Image of shape ``(ny, nx)`` in ``dtype``, axes x, y in nm.
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
    _check_dtype(dtype)
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
    if np.dtype(dtype) != np.float32 or offset != 0 or gain is not None:
        image, gain, offset = _to_dtype(image, dtype, offset, gain)
    else:
        gain, offset = 1.0, 0.0
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
        dtype=np.dtype(dtype).name, offset=offset, gain=gain,
    )  # fmt: skip
    truth = LatticeTruth(
        labels=labels,
        phase_names=PHASE_NAMES[:n_phases],
        positions=positions,
        atom_phase=atom_phase,
        spacing=spacing,
        gain=gain,
        offset=offset,
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


# -- dtypes -------------------------------------------------------------------

#: dtypes the generators can store their images in
DTYPES = (
    "float16", "float32", "float64",
    "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
)  # fmt: skip


def _check_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"`dtype` must be one of {DTYPES}, got {dtype!r}") from None
    if dt.name not in DTYPES:
        raise ValueError(f"`dtype` must be one of {DTYPES}, got {dtype!r}")
    return dt


def _to_dtype(image, dtype, offset, gain):
    """``gain * image + offset`` stored as ``dtype`` (rounded for integers).

    The default gain maps the image maximum to 200 counts for 8-bit types (100
    for int8) and is 1000 counts per unit intensity for wider integers: the
    quantisation step is then far below the noise. Returns the data and the
    gain and offset actually used.
    """
    dt = _check_dtype(dtype)
    offset = check_float(offset, "offset")
    top = float(image.max()) if image.size else 1.0
    top = top if top > 0 else 1.0
    if gain is None:
        if dt.kind == "f":
            gain = 1.0
        elif dt.itemsize == 1:
            gain = (100.0 if dt.kind == "i" else 200.0) / top
        else:
            gain = 1000.0
    gain = check_float(gain, "gain", minimum=0.0, strict_minimum=True)
    if dt.kind == "f":
        return (image.astype(np.float64) * gain + offset).astype(dt), gain, offset
    info = np.iinfo(dt)
    if offset != np.rint(offset):
        raise ValueError(f"`offset` must be an integer for dtype {dt.name}")
    if offset < info.min or gain * top + offset > info.max:
        raise ValueError(
            f"`offset` {offset:g} with `gain` {gain:g} does not fit dtype "
            f"{dt.name} (range {info.min} to {info.max}; image maximum "
            f"{gain * top + offset:g})"
        )
    # round in float64, then add the offset in the integer type: exact even
    # for offsets beyond float64's 2**53
    counts = np.rint(image.astype(np.float64) * gain).astype(np.int64)
    if dt.kind == "u":
        data = counts.astype(np.uint64) + np.uint64(int(offset))
    else:
        data = counts + np.int64(int(offset))
    return data.astype(dt), gain, offset


# -- atomic_image -------------------------------------------------------------

LATTICES = ("hexagonal", "square", "rectangular")
VACUA = ("noise", "amorphous")
CONTRASTS = ("bright", "dark")


def _lattice_vectors(lattice, spacing, aspect, angle):
    c, s = np.cos(angle), np.sin(angle)
    a1 = spacing * np.array([c, s])
    if lattice == "hexagonal":
        a2 = spacing * np.array([np.cos(angle + np.pi / 3), np.sin(angle + np.pi / 3)])
    else:
        b = spacing * (aspect if lattice == "rectangular" else 1.0)
        a2 = b * np.array([-s, c])
    return a1, a2


def _vacuum_region(shape, fraction, rng):
    """Pixels beyond a wavy line at a random angle, ``fraction`` of the image."""
    ny, nx = shape
    if fraction <= 0:
        return np.zeros(shape, dtype=bool)
    phi = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    wavy = 0.03 * min(ny, nx) * SmoothField(rng, min(ny, nx) / 4.0).grid(ny, nx)
    p = x * np.cos(phi) + y * np.sin(phi) + wavy
    return p > np.quantile(p, 1.0 - fraction)


def atomic_image(
    shape=(256, 256),
    spacing=12.0,
    lattice="hexagonal",
    noise=0.05,
    *,
    aspect=1.4,
    angle=0.0,
    contrast="bright",
    sublattice_intensity=None,
    vacuum=None,
    vacuum_fraction=0.5,
    distortion=0.0,
    background=None,
    atom_sigma=None,
    dtype="float32",
    offset=0.0,
    gain=None,
    pixel_size=0.025,
    random_state=None,
):
    """An atomic-resolution image of one lattice, bright or dark atoms.

    Gaussian atoms (peak 1) on a hexagonal, square or rectangular lattice
    (first lattice vector at ``angle``, random origin), optionally with:

    - a second, weaker sublattice (peak ``sublattice_intensity``) at the
      centre of each cell (square, rectangular: ``(a1 + a2) / 2``, like the
      B site of a perovskite seen along [001]) or on one of the two hollow
      sites (hexagonal: ``(a1 + a2) / 3``, a honeycomb like MoS2);
    - random displacements of every atom (``distortion`` spacings rms per
      coordinate);
    - a region without lattice on one side of a wavy line at a random angle
      (``vacuum_fraction`` of the image): "noise" is vacuum (background and
      noise only), "amorphous" an amorphous support (a speckle of
      correlation length 0.3 spacing and standard deviation 0.1);
    - dark contrast (annular bright field, bright field): the image is
      ``1 + background - atoms``, so columns are dark on a bright background
      and the vacuum is bright.

    Additive Gaussian noise of standard deviation ``noise`` is added and the
    rare negative values are clipped at 0; the result is stored as
    ``gain * intensity + offset`` in ``dtype`` (rounded for integers).

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` in pixels, each 32 to 16384.
    spacing : float
        Nearest-neighbour distance of the main sublattice (the shorter
        lattice vector ``a`` for "rectangular"), 4 pixels or more, at most a
        quarter of the image.
    lattice : {"hexagonal", "square", "rectangular"}
    noise : float
        Standard deviation of the additive Gaussian noise (atoms have peak 1).
    aspect : float
        ``b / a`` of the rectangular lattice, 1.05 to 3 (ignored otherwise).
    angle : float
        Direction of the first lattice vector, degrees from +x.
    contrast : {"bright", "dark"}
    sublattice_intensity : float, optional
        Peak of the second sublattice's atoms, in (0, 1]; None: no second
        sublattice.
    vacuum : {None, "noise", "amorphous"}
    vacuum_fraction : float
        Fraction of the image without lattice when ``vacuum`` is given,
        0 to 0.9.
    distortion : float
        Standard deviation of the random displacement of each atom along x
        and along y, in spacings, 0 to 0.15.
    background : float, optional
        Constant added under the atoms, 4 ``noise`` by default.
    atom_sigma : float, optional
        Standard deviation of the Gaussian atoms in pixels; 0.2 spacing by
        default.
    dtype : str or numpy.dtype
        One of ``DTYPES`` (float16 to float64, (u)int8 to (u)int64).
    offset : float
        Added after ``gain`` (an integer for integer dtypes; checked against
        the dtype's range).
    gain : float, optional
        Counts per unit intensity: 1 for floats, 200 / image maximum for
        uint8 (100 for int8), 1000 for wider integers.
    pixel_size : float
        Calibration in nm per pixel.
    random_state : None, int or numpy.random.Generator
        Seed of the origin, displacements, vacuum region, speckle and noise.

    Returns
    -------
    image : hyperspy_unmix.signals.AtomicResolutionImage
        Image of shape ``(ny, nx)`` in ``dtype``, axes x, y in nm.
    truth : AtomicImageTruth
        Positions and sublattice of every atom, lattice vectors, first-shell
        size, contrast, vacuum mask, gain and offset.

    Examples
    --------
    >>> from hyperspy_unmix.data import atomic_image
    >>> img, truth = atomic_image((128, 128), 10, "square", contrast="dark",
    ...                           sublattice_intensity=0.1, random_state=0)
    >>> int(truth.sublattice.max()), truth.first_shell, truth.contrast
    (1, 4, 'dark')
    """
    ny, nx = check_shape(shape, minimum=32, maximum=16384)
    if not isinstance(lattice, str) or lattice not in LATTICES:
        raise ValueError(f"`lattice` must be one of {LATTICES}, got {lattice!r}")
    aspect = check_float(aspect, "aspect", minimum=1.05, maximum=3.0)
    spacing = check_float(spacing, "spacing", minimum=4.0, maximum=min(ny, nx) / 4)
    if lattice == "rectangular" and aspect * spacing > min(ny, nx) / 2:
        raise ValueError(
            f"`spacing` * `aspect` = {aspect * spacing:g} must be at most half "
            f"the image ({min(ny, nx) / 2:g} pixels)"
        )
    noise = check_float(noise, "noise", minimum=0.0)
    angle = check_float(angle, "angle")
    if not isinstance(contrast, str) or contrast not in CONTRASTS:
        raise ValueError(f"`contrast` must be one of {CONTRASTS}, got {contrast!r}")
    if sublattice_intensity is not None:
        sublattice_intensity = check_float(
            sublattice_intensity,
            "sublattice_intensity",
            minimum=0.0,
            maximum=1.0,
            strict_minimum=True,
        )
    if vacuum is not None and (not isinstance(vacuum, str) or vacuum not in VACUA):
        raise ValueError(f"`vacuum` must be None or one of {VACUA}, got {vacuum!r}")
    vacuum_fraction = check_float(
        vacuum_fraction, "vacuum_fraction", minimum=0.0, maximum=0.9
    )
    distortion = check_float(distortion, "distortion", minimum=0.0, maximum=0.15)
    if background is None:
        background = 4.0 * noise
    background = check_float(background, "background", minimum=0.0)
    if atom_sigma is None:
        atom_sigma = 0.2 * spacing
    atom_sigma = check_float(atom_sigma, "atom_sigma", minimum=0.5, maximum=spacing / 2)
    pixel_size = check_float(pixel_size, "pixel_size", minimum=0.0, strict_minimum=True)
    _check_dtype(dtype)
    rng = as_rng(random_state)

    a1, a2 = _lattice_vectors(lattice, spacing, aspect, np.deg2rad(angle))
    origin = rng.uniform(0.0, 1.0, size=2) @ np.stack([a1, a2])
    margin = 0.0  # every atom drawn is in the truth (and inside the image)
    parts, labels = [lattice_sites((ny, nx), a1, a2, origin, margin)[0]], [0]
    if sublattice_intensity is not None:
        shift = (a1 + a2) / (3.0 if lattice == "hexagonal" else 2.0)
        parts.append(lattice_sites((ny, nx), a1, a2, origin + shift, margin)[0])
        labels.append(1)
    positions = np.concatenate(parts)
    sublattice = np.concatenate(
        [np.full(len(p), k, dtype=np.int64) for p, k in zip(parts, labels)]
    )
    if distortion > 0:
        positions = positions + rng.normal(0.0, distortion * spacing, positions.shape)
    vacuum_mask = (
        _vacuum_region((ny, nx), vacuum_fraction, rng)
        if vacuum is not None
        else np.zeros((ny, nx), dtype=bool)
    )
    ix = np.clip(np.rint(positions[:, 0]).astype(np.int64), 0, nx - 1)
    iy = np.clip(np.rint(positions[:, 1]).astype(np.int64), 0, ny - 1)
    keep = ~vacuum_mask[iy, ix]
    positions, sublattice = positions[keep], sublattice[keep]
    intensity = np.where(
        sublattice == 1, sublattice_intensity if sublattice_intensity else 0.0, 1.0
    )

    # atoms up to `margin` outside: render on a padded canvas, then crop
    pad = int(np.ceil(margin)) + 1
    image = render_gaussians(
        (ny + 2 * pad, nx + 2 * pad), positions + pad, atom_sigma, amplitude=intensity
    )[pad : pad + ny, pad : pad + nx]
    if vacuum == "amorphous":
        speckle = SmoothField(rng, 0.3 * spacing, n_modes=256).grid(ny, nx)
        image += np.where(vacuum_mask, 0.1 * speckle + 0.15, 0.0)
    if contrast == "dark":
        image = 1.0 - image
    image += background
    if noise > 0:
        image += rng.normal(0.0, noise, size=image.shape)
    np.maximum(image, 0.0, out=image)
    data, gain, offset = _to_dtype(image, dtype, offset, gain)

    inside = np.all((positions >= 0) & (positions <= [nx - 1, ny - 1]), axis=1)
    signal = _image_signal(
        data, pixel_size, f"Synthetic {lattice} lattice ({contrast} atoms)"
    )
    _provenance(
        signal, "atomic_image", random_state, shape=(ny, nx), spacing=spacing,
        lattice=lattice, noise=noise, aspect=aspect, angle=angle,
        contrast=contrast, sublattice_intensity=sublattice_intensity,
        vacuum=vacuum, vacuum_fraction=vacuum_fraction, distortion=distortion,
        background=background, atom_sigma=atom_sigma, dtype=np.dtype(dtype).name,
        offset=offset, gain=gain, pixel_size=pixel_size,
    )  # fmt: skip
    truth = AtomicImageTruth(
        positions=positions[inside],
        sublattice=sublattice[inside],
        intensity=intensity[inside],
        lattice=lattice,
        lattice_vectors=np.stack([a1, a2]),
        spacing=spacing,
        first_shell=6 if lattice == "hexagonal" else 4,
        contrast=contrast,
        vacuum_mask=vacuum_mask,
        vacuum=vacuum,
        noise=noise,
        gain=gain,
        offset=offset,
    )
    return signal, truth
