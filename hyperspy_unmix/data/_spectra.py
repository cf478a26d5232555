"""Synthetic EELS-like spectrum image with known endmembers and abundances."""

import numpy as np

from hyperspy_unmix._validation import check_int
from hyperspy_unmix.data._common import as_rng, check_float, check_shape
from hyperspy_unmix.data._defects import check_outliers, limit_purity, plant_outliers
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


# --------------------------------------------------------------------------
# EDS: X-ray lines (keV; tabulated K and L line energies, relative weights
# within an element's family: K-beta about 0.13 of K-alpha from Ca on, L-alpha
# of the transition metals about 0.12-0.15 of their K-alpha) on a
# bremsstrahlung background.
_XRAY_LINES = {
    "C": [(0.277, 1.0)],
    "O": [(0.525, 1.0)],
    "Mg": [(1.254, 1.0)],
    "Al": [(1.487, 1.0)],
    "Si": [(1.740, 1.0), (1.836, 0.02)],
    "Ca": [(3.692, 1.0), (4.013, 0.13)],
    "Ti": [(0.452, 0.15), (4.511, 1.0), (4.932, 0.13)],
    "Cr": [(0.573, 0.12), (5.415, 1.0), (5.947, 0.13)],
    "Fe": [(0.705, 0.12), (6.404, 1.0), (7.058, 0.13)],
    "Ni": [(0.851, 0.12), (7.478, 1.0), (8.265, 0.13)],
    "Cu": [(0.930, 0.15), (8.048, 1.0), (8.905, 0.13)],
}
# phases: name, line intensity per element (schematic k-ratios), mean atomic
# number (scales the bremsstrahlung, Kramers' law). O, Si and Fe are shared.
_EDS_PHASES = (
    ("olivine", {"O": 0.9, "Mg": 1.0, "Si": 0.8, "Fe": 0.35}, 12.0),
    ("alumina", {"O": 1.0, "Al": 1.6}, 10.0),
    ("ilmenite", {"O": 0.7, "Ti": 1.0, "Fe": 1.0}, 18.0),
    ("copper", {"Cu": 1.0}, 29.0),
    ("nickel oxide", {"O": 0.5, "Ni": 1.0}, 23.0),
    ("quartz", {"O": 1.0, "Si": 1.5}, 10.0),
    ("calcite", {"C": 0.3, "O": 1.0, "Ca": 1.2}, 12.0),
    ("chromite", {"O": 0.6, "Cr": 1.0, "Fe": 0.5}, 19.0),
)
EDS_RANGE = (0.0, 10.0)  # keV
EDS_BEAM_ENERGY = 15.0  # keV, above the axis so the background never ends
# silicon drift detector: Fano-limited FWHM with electronic noise, 130 eV at
# Mn K-alpha; FWHM**2 = noise**2 + 2.355**2 * F * eps * E
_FANO, _EPS_SI = 0.114, 3.85e-3  # Fano factor, keV per electron-hole pair
_NOISE2 = 0.130**2 - 2.355**2 * _FANO * _EPS_SI * 5.899


def eds_fwhm(energy):
    """Detector FWHM (keV) at ``energy`` (keV): 130 eV at 5.9 keV, ~57 eV at C K."""
    return np.sqrt(_NOISE2 + 2.355**2 * _FANO * _EPS_SI * np.asarray(energy))


def _eds_efficiency(energy):
    # soft X-rays are absorbed by the detector window and dead layer
    e = np.maximum(energy, 1e-6)
    return np.where(energy > 0, np.exp(-((0.35 / e) ** 3)), 0.0)


def _eds_spectrum(energy, lines, mean_z):
    e = np.maximum(energy, 1e-6)
    background = np.where(
        energy > 0, mean_z * (EDS_BEAM_ENERGY - e) / e, 0.0
    ) * _eds_efficiency(energy)
    # Kramers' law normalised to unit area over the axis, then 0.06 Z of the
    # line total: ~20 % background for oxides, ~60 % for copper
    grid = np.linspace(*EDS_RANGE, 4001)[1:]
    area = np.trapezoid((EDS_BEAM_ENERGY - grid) / grid * _eds_efficiency(grid), grid)
    s = 0.06 * background / area
    for element, weight in lines.items():
        for centre, rel in _XRAY_LINES[element]:
            sigma = eds_fwhm(centre) / (2.0 * np.sqrt(2.0 * np.log(2.0)))
            amp = weight * rel * _eds_efficiency(centre) / (sigma * np.sqrt(2 * np.pi))
            s = s + amp * np.exp(-0.5 * ((energy - centre) / sigma) ** 2)
    return s


# --------------------------------------------------------------------------
# Raman: Lorentzian bands (centre cm^-1, height relative to the strongest,
# FWHM cm^-1; tabulated band positions) on a broad fluorescence background
# (height relative to the strongest band, centre, width in cm^-1).
_RAMAN_PHASES = (
    (
        "silicon",
        [(520.7, 1.0, 4.0), (302.0, 0.05, 20.0), (960.0, 0.08, 60.0)],
        (0.02, 2500.0, 1500.0),
    ),
    (
        "anatase",
        [
            (144.0, 1.0, 9.0),
            (197.0, 0.1, 8.0),
            (399.0, 0.25, 20.0),
            (513.0, 0.2, 18.0),
            (639.0, 0.3, 22.0),
        ],
        (0.05, 2000.0, 1800.0),
    ),
    (
        "calcite",
        [
            (1086.0, 1.0, 4.0),
            (712.0, 0.12, 5.0),
            (282.0, 0.25, 10.0),
            (156.0, 0.2, 9.0),
            (1436.0, 0.05, 15.0),
        ],
        (0.15, 1800.0, 1200.0),
    ),
    (
        "disordered carbon",
        [
            (1350.0, 0.6, 50.0),
            (1582.0, 1.0, 25.0),
            (2700.0, 0.5, 70.0),
            (2950.0, 0.1, 80.0),
        ],
        (0.3, 2200.0, 2000.0),
    ),
    (
        "quartz",
        [
            (464.0, 1.0, 8.0),
            (128.0, 0.4, 7.0),
            (206.0, 0.3, 20.0),
            (355.0, 0.1, 10.0),
            (1083.0, 0.05, 15.0),
        ],
        (0.05, 1500.0, 1500.0),
    ),
    (
        "rutile",
        [(447.0, 1.0, 33.0), (612.0, 0.9, 40.0), (143.0, 0.2, 8.0), (240.0, 0.4, 60.0)],
        (0.05, 2500.0, 1700.0),
    ),
    (
        "polystyrene",
        [
            (1001.0, 1.0, 5.0),
            (1031.0, 0.3, 6.0),
            (1602.0, 0.35, 8.0),
            (1583.0, 0.1, 8.0),
            (3054.0, 0.6, 20.0),
            (2904.0, 0.3, 30.0),
            (620.0, 0.1, 6.0),
        ],
        (0.4, 2400.0, 1400.0),
    ),
    (
        "gypsum",
        [
            (1008.0, 1.0, 8.0),
            (415.0, 0.2, 12.0),
            (494.0, 0.15, 12.0),
            (1136.0, 0.1, 10.0),
            (618.0, 0.08, 10.0),
        ],
        (0.1, 1700.0, 1600.0),
    ),
)
RAMAN_RANGE = (100.0, 3200.0)  # cm^-1


def _raman_spectrum(shift, bands, fluorescence):
    amp, centre, width = fluorescence
    s = amp * np.exp(-0.5 * ((shift - centre) / width) ** 2)
    for c, h, fwhm in bands:
        s = s + h / (1.0 + ((shift - c) / (0.5 * fwhm)) ** 2)
    return s


KINDS = ("eels", "eds", "raman")


def signal_axis(kind, n_channels):
    """``(centres, scale, name, units)`` of the signal axis of ``kind``."""
    if kind == "eels":
        centres, scale = energy_axis(n_channels)
        return centres, scale, "Energy loss", "eV"
    lo, hi = EDS_RANGE if kind == "eds" else RAMAN_RANGE
    scale = (hi - lo) / n_channels
    centres = lo + scale * np.arange(n_channels)
    if kind == "eds":
        return centres, scale, "Energy", "keV"
    return centres, scale, "Raman shift", "cm$^{-1}$"  # lumispy's units string


def kind_spectra(kind, n_channels, n_endmembers):
    """Endmember spectra of ``kind`` summing to 1, and their names.

    Every channel holds the mean over its width (sampled finer than a tenth
    of the narrowest feature), as for the EELS spectra.
    """
    if kind == "eels":
        names = tuple(m[0] for m in _MATERIALS[:n_endmembers])
        return endmember_spectra(n_channels, n_endmembers), names
    centres, scale, _, _ = signal_axis(kind, n_channels)
    step = 0.005 if kind == "eds" else 0.4  # keV, cm^-1
    n_sub = max(8, int(np.ceil(scale / step)))
    offsets = (np.arange(n_sub) + 0.5) / n_sub - 0.5
    fine = (centres[:, None] + scale * offsets).ravel()
    table = _EDS_PHASES if kind == "eds" else _RAMAN_PHASES
    spectra = np.empty((n_endmembers, n_channels))
    for k, (_, a, b) in enumerate(table[:n_endmembers]):  # at most 8
        f = _eds_spectrum(fine, a, b) if kind == "eds" else _raman_spectrum(fine, a, b)
        spectra[k] = f.reshape(n_channels, n_sub).mean(axis=1)
    spectra /= spectra.sum(axis=1, keepdims=True)
    return spectra, tuple(m[0] for m in table[:n_endmembers])


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


def make_abundances(shape, n_endmembers, rng, *, sharpness=2.0, max_purity=None):
    """Smooth sum-to-one abundance maps with one planted pure patch each.

    With ``max_purity`` (in [0.5, 1]) the patches hold exactly ``max_purity``
    of their endmember instead of 1 and no pixel holds more of any endmember
    (see :func:`hyperspy_unmix.data._defects.limit_purity`); ``pure_mask`` is
    then all False. The random draws do not depend on ``max_purity``.

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
    if max_purity is not None and max_purity < 1.0:
        abundances = limit_purity(abundances, soft, max_purity)
        pure_mask = abundances == 1.0
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
    kind="eels",
    max_purity=None,
    outliers=None,
):
    """A synthetic EELS, EDS or Raman spectrum image with known truth.

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

    ``kind="eds"`` gives X-ray spectra instead (0-10 keV): K and L lines of
    O, Mg, Al, Si, Ti, Fe, Cu, Ni, Ca, Cr, C as Gaussians whose FWHM follows a
    silicon drift detector (130 eV at 5.9 keV, ``sqrt(noise**2 + c E)``,
    57 eV at C K) on a Kramers bremsstrahlung background absorbed at low
    energy; the phases are olivine, alumina, ilmenite, copper, nickel oxide,
    quartz, calcite, chromite (O, Si, Fe shared). ``kind="raman"``:
    Lorentzian bands at tabulated shifts (silicon, anatase, calcite,
    disordered carbon, quartz, rutile, polystyrene, gypsum) on broad
    fluorescence backgrounds, 100-3200 cm^-1.

    Real maps are worse than mixtures with pure pixels; two options make
    them so, each recorded in the truth:

    - ``max_purity``: no pixel holds more than this fraction of any endmember
      (the planted patches hold exactly ``max_purity``), so there is no pure
      pixel. A pixel above it is moved along the line from the endmember's
      vertex through it, which keeps zeros (pixels on facets of the simplex)
      and sum-to-one.
    - ``outliers``: pixels that are not part of the mixture, written over the
      (noisy) data, away from the planted patches; ``truth.outlier_mask``
      marks them and ``truth.abundances`` still holds the mixture that was
      there before.

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
        Low-count maps: the expected counts at the top of an endmember's
        strongest peak are ``truth.endmembers.max(axis=1)``; for
        ``kind="eds"`` with 512 channels and 4 endmembers, ``dose=300`` puts
        20, 38, 12 and 12 counts there (mean 20).
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
    kind : {"eels", "eds", "raman"}
        Which spectra (see above). "eels" is the historical default and gives
        the same numbers as before for the same seed.
    max_purity : None or float
        None (default) plants pure pixels. A float in [0.5, 1] caps every
        abundance at this value (1 is the same as None); below 0.5 two
        endmembers could both exceed the cap, which this construction does
        not handle.
    outliers : None or dict
        Pixels to overwrite after the noise is drawn; keys (all optional):
        ``"hot_pixels"`` (int, 0): pixels whose counts are multiplied by
        ``"hot_factor"`` (float, 8), or whose every channel is set to
        ``"hot_value"`` (float, None; e.g. 1e6 for an overflowed readout);
        ``"dead_pixels"`` (int, 0): all-zero spectra; ``"dead_rows"``
        (int, 0): whole scan rows of zeros; ``"spikes"`` (int, 0): pixels
        with ``"spike_height"`` (float, default 50 x the highest channel of
        the map's mean spectrum) added to one random channel. Every altered
        pixel is distinct. The outliers use random draws after the noise, so
        the rest of the map is the same as without them.

    Returns
    -------
    signal : hyperspy_unmix.signals.SpectralMap
        Data of shape ``(ny, nx, n_channels)``; navigation axes x, y in nm
        (1 nm pixels), signal axis "Energy loss" in eV ("eels"), "Energy" in
        keV from 0 ("eds") or "Raman shift" in cm^-1 from 100 ("raman").
    truth : SpectrumImageTruth
        Endmembers (n_endmembers, n_channels) in the data's units, abundances
        (n_endmembers, ny, nx), pure pixels and mask, names, signal axis
        values, dose, kind, max purity, outlier mask and locations.

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
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {KINDS}, got {kind!r}")
    if max_purity is not None:
        max_purity = check_float(max_purity, "max_purity", minimum=0.5, maximum=1.0)
    spec = check_outliers(outliers)
    rng = as_rng(random_state)

    endmembers, names = kind_spectra(kind, n_channels, n_endmembers)
    if dose is not None:
        endmembers *= dose
    abundances, centres, pure_mask = make_abundances(
        (ny, nx), n_endmembers, rng, max_purity=max_purity
    )

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

    outlier_mask = np.zeros((ny, nx), dtype=bool)
    where, description = None, ""
    if spec is not None:
        # keep the patches and their blends intact (radius + default taper)
        radius = max(1, round(min(ny, nx) / 64))
        rows = np.arange(ny)[:, None]
        cols = np.arange(nx)[None, :]
        protected = np.zeros((ny, nx), dtype=bool)
        for cy, cx in centres:  # one step per endmember
            protected |= (rows - cy) ** 2 + (cols - cx) ** 2 <= (3 * radius + 2) ** 2
        mean_spectrum = abundances.reshape(n_endmembers, -1).mean(axis=1) @ endmembers
        outlier_mask, where, description = plant_outliers(
            data, spec, protected, rng, spike_height=50.0 * float(mean_spectrum.max())
        )

    truth = SpectrumImageTruth(
        endmembers=endmembers,
        abundances=abundances,
        pure_pixels=centres,
        pure_mask=pure_mask,
        names=names,
        energy=signal_axis(kind, n_channels)[0],
        dose=dose,
        kind=kind,
        max_purity=max_purity,
        outlier_mask=outlier_mask,
        outliers=where,
        outlier_description=description,
    )
    signal = _as_signal(data, n_channels, dose, noisy, kind)
    from hyperspy_unmix._signal_io import add_provenance

    add_provenance(
        signal,
        "hyperspy_unmix.data.spectrum_image",
        {
            "shape": (ny, nx),
            "n_channels": n_channels,
            "n_endmembers": n_endmembers,
            "dose": dose,
            "poisson": noisy,
            "kind": kind,
            "max_purity": max_purity,
            "outliers": None if spec is None else spec,
            "random_state": random_state
            if not isinstance(random_state, np.random.Generator)
            else "Generator",
        },
    )
    return signal, truth


def _as_signal(data, n_channels, dose, noisy, kind="eels"):
    from hyperspy_unmix.signals import SpectralMap

    ny, nx = data.shape[:2]
    energy0, scale, axis_name, axis_units = signal_axis(kind, n_channels)
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
            "name": axis_name,
            "units": axis_units,
            "scale": scale,
            "offset": float(energy0[0]),
            "size": n_channels,
            "navigate": False,
        },
    ]
    signal = SpectralMap(data, axes=axes)
    noise = f"Poisson noise, dose {dose:g} counts/spectrum" if noisy else "noise-free"
    signal.metadata.General.title = (
        f"Synthetic {kind.upper() if kind != 'raman' else 'Raman'} spectrum image "
        f"({noise})"
    )
    signal.metadata.Signal.quantity = (
        "Intensity (counts)" if dose is not None else "Intensity (per unit dose)"
    )
    return signal
