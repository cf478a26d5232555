"""Synthetic EELS-like spectrum image with known endmembers and abundances."""

import numpy as np

from hyperspy_unmix._validation import check_int
from hyperspy_unmix.data._common import as_rng, check_float, check_shape
from hyperspy_unmix.data._fields import SmoothField
from hyperspy_unmix.data._truth import SpectrumImageTruth

E_MIN, E_MAX = 200.0, 1000.0  # eV, the energy range of every spectrum
DEFAULT_DOSE = 2.0e5  # counts per spectrum; see spectrum_image's docstring

# Core-loss spectra of eight materials, in the order they are used. Each has a
# power-law background exponent, ionisation edges (onset eV, jump relative to
# the background at the onset, rise length eV of the delayed maximum) and
# peaks (white lines, pi* peaks: centre eV, height relative to the background
# at the centre, FWHM eV). Energies follow the tabulated edges; shapes are
# schematic but have the features that make real spectra hard to unmix:
# shared edges (O K in five of them), a dominant common background.
_MATERIALS = (
    ("carbon", 2.6, [(284.0, 1.5, 8.0)], [(285.5, 1.2, 2.5)]),
    (
        "iron oxide",
        2.2,
        [(532.0, 1.0, 10.0), (708.0, 0.6, 3.0)],
        [(709.5, 2.5, 3.0), (722.5, 1.2, 3.5)],
    ),
    (
        "titanium oxide",
        2.8,
        [(456.0, 0.8, 3.0), (532.0, 0.9, 10.0)],
        [(458.0, 1.5, 2.0), (463.5, 1.2, 2.5), (531.0, 0.5, 2.0)],
    ),
    ("boron nitride", 2.4, [(188.0, 2.0, 5.0), (401.0, 1.2, 6.0)], [(401.5, 1.5, 2.0)]),
    (
        "nickel oxide",
        2.3,
        [(532.0, 0.8, 10.0), (855.0, 0.5, 3.0)],
        [(853.0, 2.5, 3.0), (870.5, 1.0, 3.5)],
    ),
    (
        "calcium carbonate",
        2.7,
        [(290.0, 0.6, 8.0), (346.0, 0.5, 2.0), (532.0, 1.2, 12.0)],
        [(290.0, 1.0, 2.0), (347.5, 2.0, 1.8), (351.0, 1.6, 1.8), (534.0, 0.8, 3.0)],
    ),
    (
        "manganese oxide",
        2.5,
        [(532.0, 0.9, 10.0), (640.0, 0.6, 3.0)],
        [(641.0, 2.2, 3.0), (652.0, 1.0, 3.5)],
    ),
    ("copper", 2.0, [(931.0, 1.0, 15.0)], []),
)
MAX_ENDMEMBERS = len(_MATERIALS)


def energy_axis(n_channels):
    """Channel energies (eV) of ``n_channels`` channels covering 200-1000 eV."""
    scale = (E_MAX - E_MIN) / n_channels
    return E_MIN + scale * np.arange(n_channels), scale


def _spectrum(energy, background_exponent, edges, peaks):
    """One material's spectrum (arbitrary units) at the energies given."""

    def background(e):
        return (e / E_MIN) ** (-background_exponent)

    s = background(energy)
    for onset, jump, rise in edges:
        # smooth max(E - onset, 0) (about 1 eV wide), then a delayed maximum
        # and the usual power-law decay after the edge
        t = np.logaddexp(0.0, energy - onset)
        s = s + jump * background(onset) * (1.0 - np.exp(-t / rise)) * (
            np.maximum(energy, onset) / onset
        ) ** (-background_exponent)
    for centre, height, fwhm in peaks:
        # a Gaussian peak integrated over the channel width would need erf; the
        # spectra are oversampled below, so point values are enough here
        sigma = fwhm / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        s = s + height * background(centre) * np.exp(
            -0.5 * ((energy - centre) / sigma) ** 2
        )
    return s


def endmember_spectra(n_channels, n_endmembers):
    """Endmember spectra, each summing to 1, shape (n_endmembers, n_channels).

    Each channel holds the mean of the spectrum over the channel's width
    (8 or more samples per channel, at least 4 per eV), so narrow white lines
    keep their area on coarse energy axes.
    """
    energy, scale = energy_axis(n_channels)
    n_sub = max(8, int(np.ceil(scale * 4.0)))
    offsets = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    fine = (energy[:, None] + scale * offsets).ravel()
    spectra = np.empty((n_endmembers, n_channels))
    for k, (_, exponent, edges, peaks) in enumerate(_MATERIALS[:n_endmembers]):
        spectra[k] = (
            _spectrum(fine, exponent, edges, peaks)
            .reshape(n_channels, n_sub)
            .mean(axis=1)
        )
    spectra /= spectra.sum(axis=1, keepdims=True)
    return spectra


def _place_pure_patches(soft, radius, taper):
    """Centres (row, col) of one pure patch per endmember, or None if no room.

    Greedy: each endmember's patch goes where its own smooth abundance is
    highest (so the patch blends into a region where it already dominates),
    away from the edges and from the patches already placed.
    """
    r, ny, nx = soft.shape
    outer = radius + taper
    rows = np.arange(ny)[:, None]
    cols = np.arange(nx)[None, :]
    allowed = (
        (rows >= outer) & (rows < ny - outer) & (cols >= outer) & (cols < nx - outer)
    )
    centres = []
    for k in range(r):  # loop over endmembers (at most 8), not pixels
        candidates = np.where(allowed, soft[k], -np.inf)
        flat = int(np.argmax(candidates))
        if not np.isfinite(candidates.flat[flat]):
            return None
        cy, cx = divmod(flat, nx)
        centres.append((cy, cx))
        allowed &= (rows - cy) ** 2 + (cols - cx) ** 2 > (2 * outer + 1) ** 2
    return np.array(centres, dtype=int)


def make_abundances(shape, n_endmembers, rng, *, sharpness=2.0):
    """Smooth sum-to-one abundance maps with one planted pure patch each.

    Returns
    -------
    abundances : ndarray of shape (n_endmembers, ny, nx), float64
    centres : ndarray of shape (n_endmembers, 2), int
    pure_mask : ndarray of shape (n_endmembers, ny, nx), bool
    """
    ny, nx = shape
    length = min(ny, nx) / 8.0
    logits = np.stack(
        [sharpness * SmoothField(rng, length).grid(ny, nx) for _ in range(n_endmembers)]
    )
    logits -= logits.max(axis=0)
    soft = np.exp(logits)
    soft /= soft.sum(axis=0)

    radius = max(1, round(min(ny, nx) / 64))
    taper = 2 * radius + 2
    centres = _place_pure_patches(soft, radius, taper)
    while centres is None and taper > 1:  # small maps: narrower blends
        taper = max(1, taper // 2)
        centres = _place_pure_patches(soft, radius, taper)
    if centres is None:
        raise ValueError(
            f"`shape` {shape} is too small to plant a pure patch for each of "
            f"{n_endmembers} endmembers; use a larger map or fewer endmembers"
        )

    # Blend weight: exactly 1 inside each patch, a cosine ramp to 0 over
    # `taper` pixels, 0 elsewhere. Patches are separated, so the weights never
    # overlap and a = (1 - w) * soft + w * onehot stays non-negative and sums
    # to one, with exact 1 / 0 inside the patches.
    rows = np.arange(ny)[:, None]
    cols = np.arange(nx)[None, :]
    abundances = soft.copy()
    pure_mask = np.zeros((n_endmembers, ny, nx), dtype=bool)
    for k, (cy, cx) in enumerate(centres):  # one loop step per endmember
        d = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2)
        w = np.clip((radius + taper - d) / taper, 0.0, 1.0)
        w = np.sin(0.5 * np.pi * w) ** 2
        w[d <= radius] = 1.0
        touched = w > 0
        abundances[:, touched] *= 1.0 - w[touched]
        abundances[k, touched] += w[touched]
        pure_mask[k] = d <= radius
    # the inside of a patch is exactly one-hot (1 * 1 + 0, 0 * soft)
    return abundances, centres, pure_mask


def spectrum_image(
    shape=(64, 64),
    n_channels=512,
    n_endmembers=4,
    dose=DEFAULT_DOSE,
    *,
    poisson=True,
    random_state=None,
    dtype="float32",
):
    """A synthetic EELS spectrum image with known endmembers and abundances.

    Linear mixing model ``X = A . E`` plus Poisson noise: each pixel's
    expected spectrum is ``sum_k a_k(p) E_k``. The endmembers imitate
    core-loss EELS spectra of simple materials (carbon, iron oxide, titanium
    oxide, boron nitride, nickel oxide, calcium carbonate, manganese oxide,
    copper, used in this order): ionisation edges with delayed maxima and
    white lines on a power-law background, 200-1000 eV. Several share the
    O K edge, and the background dominates all of them, as in real data.
    The abundance maps are smooth (a softmax of smooth random fields), so most
    pixels are mixtures; each endmember has one planted pure patch (a disc of
    ``max(1, round(min(shape) / 64))`` pixels radius) where its abundance is
    exactly 1 and all others exactly 0, blended into its surroundings.

    Parameters
    ----------
    shape : (int, int)
        ``(ny, nx)`` navigation shape, each between 16 and 4096.
    n_channels : int
        Number of energy channels, 16 to 16384.
    n_endmembers : int
        Number of endmembers, 1 to 8.
    dose : float or None
        Mean total counts per spectrum (every endmember spectrum sums to
        ``dose``, so every pixel's expectation does too). None gives the
        noise-free expectation at unit dose (each spectrum sums to 1).
        The noise floor, mean spectral angle between the true endmember and
        the noisy spectrum at the planted pure pixels, scales as
        ``sqrt(n_channels / dose)``; for ``shape=(128, 128)``,
        ``n_channels=512``, ``n_endmembers=4`` it is 0.035 rad at the default
        dose of 2e5, 0.051 rad at 1e5, 0.072 rad at 5e4 and 0.47 rad at 1e3
        (measured over all planted pure pixels, seeds 0 and 1).
    poisson : bool
        Draw Poisson counts (default); False gives the expectation at
        ``dose``.
    random_state : None, int or numpy.random.Generator
        Seed of the abundance maps and the noise (the endmembers do not
        depend on it).
    dtype : str or numpy.dtype
        Floating-point type of the data, float32 by default (a 512 x 512 x
        2048 map is then 2 GiB; it is built in blocks of rows, without
        full-size float64 temporaries).

    Returns
    -------
    signal : hyperspy_unmix.signals.SpectralMap
        Data of shape ``(ny, nx, n_channels)``; navigation axes x, y in nm
        (1 nm pixels), signal axis "Energy loss" in eV.
    truth : SpectrumImageTruth
        Endmembers (n_endmembers, n_channels) in the data's units, abundances
        (n_endmembers, ny, nx), pure pixels and mask, names, energies, dose.

    Examples
    --------
    >>> from hyperspy_unmix.data import spectrum_image
    >>> s, truth = spectrum_image((64, 64), 512, 3, random_state=0)
    >>> s.data.shape, truth.endmembers.shape, truth.abundances.shape
    ((64, 64, 512), (3, 512), (3, 64, 64))
    """
    ny, nx = check_shape(shape, minimum=16, maximum=4096)
    n_channels = check_int(n_channels, "n_channels", minimum=16, maximum=16384)
    n_endmembers = check_int(
        n_endmembers, "n_endmembers", minimum=1, maximum=MAX_ENDMEMBERS
    )
    if dose is not None:
        dose = check_float(dose, "dose", minimum=0.0, strict_minimum=True)
    if not isinstance(poisson, (bool, np.bool_)):
        raise TypeError(f"`poisson` must be True or False, got {poisson!r}")
    try:
        dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(
            f"`dtype` must be a floating-point dtype, got {dtype!r}"
        ) from err
    if dtype.kind != "f":
        raise ValueError(f"`dtype` must be a floating-point dtype, got {dtype}")
    rng = as_rng(random_state)

    endmembers = endmember_spectra(n_channels, n_endmembers)
    if dose is not None:
        endmembers *= dose
    abundances, centres, pure_mask = make_abundances((ny, nx), n_endmembers, rng)

    data = np.empty((ny, nx, n_channels), dtype=dtype)
    flat = data.reshape(ny * nx, n_channels)
    a_flat = abundances.reshape(n_endmembers, ny * nx)
    # blocks of about 4 M values (32 MB of float64 expectation at a time)
    block = max(1, (1 << 22) // n_channels)
    noisy = poisson and dose is not None
    for start in range(0, ny * nx, block):  # loop over row blocks
        stop = min(start + block, ny * nx)
        expected = a_flat[:, start:stop].T @ endmembers
        flat[start:stop] = rng.poisson(expected) if noisy else expected

    truth = SpectrumImageTruth(
        endmembers=endmembers,
        abundances=abundances,
        pure_pixels=centres,
        pure_mask=pure_mask,
        names=tuple(m[0] for m in _MATERIALS[:n_endmembers]),
        energy=energy_axis(n_channels)[0],
        dose=dose,
    )
    signal = _as_signal(data, n_channels, dose, noisy)
    from hyperspy_unmix._metadata import add_provenance

    add_provenance(
        signal,
        "hyperspy_unmix.data.spectrum_image",
        {
            "shape": (ny, nx),
            "n_channels": n_channels,
            "n_endmembers": n_endmembers,
            "dose": dose,
            "poisson": noisy,
            "random_state": random_state
            if not isinstance(random_state, np.random.Generator)
            else "Generator",
        },
    )
    return signal, truth


def _as_signal(data, n_channels, dose, noisy):
    from hyperspy_unmix.signals import SpectralMap

    ny, nx = data.shape[:2]
    energy0, scale = energy_axis(n_channels)
    axes = [
        {
            "name": "y",
            "units": "nm",
            "scale": 1.0,
            "offset": 0.0,
            "size": ny,
            "navigate": True,
        },
        {
            "name": "x",
            "units": "nm",
            "scale": 1.0,
            "offset": 0.0,
            "size": nx,
            "navigate": True,
        },
        {
            "name": "Energy loss",
            "units": "eV",
            "scale": scale,
            "offset": float(energy0[0]),
            "size": n_channels,
            "navigate": False,
        },
    ]
    signal = SpectralMap(data, axes=axes)
    kind = f"Poisson noise, dose {dose:g} counts/spectrum" if noisy else "noise-free"
    signal.metadata.General.title = f"Synthetic EELS spectrum image ({kind})"
    signal.metadata.Signal.quantity = (
        "Intensity (counts)" if dose is not None else "Intensity (per unit dose)"
    )
    return signal
