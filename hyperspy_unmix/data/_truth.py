"""Ground-truth records returned beside each synthetic signal.

They are frozen dataclasses whose arrays are made read-only, so a test cannot
change the truth it is compared against by accident.
"""

from dataclasses import dataclass, field, fields

import numpy as np


def _freeze(obj):
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        elif isinstance(value, dict):
            for item in value.values():
                if isinstance(item, np.ndarray):
                    item.flags.writeable = False


@dataclass(frozen=True, eq=False)
class SpectrumImageTruth:
    """Ground truth of :func:`hyperspy_unmix.data.spectrum_image`.

    Attributes
    ----------
    endmembers : ndarray of shape (n_endmembers, n_channels), float64
        Noise-free endmember spectra in the units of the data (expected counts
        at ``dose``; each spectrum sums to ``dose``, or to 1 when ``dose`` is
        None).
    abundances : ndarray of shape (n_endmembers, ny, nx), float64
        Abundance maps in array order; non-negative, sum to one over axis 0.
    pure_pixels : ndarray of shape (n_endmembers, 2), int
        Array-order ``(row, col)`` of the centre of the planted pure patch of
        each endmember (abundance exactly 1 there, all others exactly 0; with
        ``max_purity`` the abundance is exactly ``max_purity`` there).
    pure_mask : ndarray of shape (n_endmembers, ny, nx), bool
        Every pixel where that endmember's abundance is exactly 1 (the planted
        patches; all False with ``max_purity`` < 1).
    names : tuple of str
        Names of the endmembers (the material each spectrum imitates).
    energy : ndarray of shape (n_channels,), float64
        Channel centres on the signal axis: eV ("eels"), keV ("eds") or
        cm^-1 ("raman").
    dose : float or None
        Mean total counts per spectrum, None for the noise-free unit-dose data.
    kind : str
        "eels", "eds" or "raman".
    max_purity : float or None
        The largest abundance any pixel holds of any endmember (None: pure
        patches, i.e. 1).
    outlier_mask : ndarray of shape (ny, nx), bool, or None
        Pixels that are not part of the mixture (hot, dead, dead rows, spike
        pixels); ``abundances`` there is the mixture that was overwritten.
        All False when no outliers were planted.
    outliers : dict or None
        Where they are: ``"hot"``, ``"dead"`` (m, 2) ``(row, col)``;
        ``"dead_rows"`` (m,) rows; ``"spikes"`` (m, 3) ``(row, col,
        channel)``. None when no outliers were asked for.
    outlier_description : str
        What was planted, in words ("" without outliers).
    """

    endmembers: np.ndarray
    abundances: np.ndarray
    pure_pixels: np.ndarray
    pure_mask: np.ndarray
    names: tuple
    energy: np.ndarray
    dose: float | None
    kind: str = "eels"
    max_purity: float | None = None
    outlier_mask: np.ndarray | None = None
    outliers: dict | None = field(default=None)
    outlier_description: str = ""

    def __post_init__(self):
        _freeze(self)

    def expected(self):
        """Noise-free mixture ``A . E`` (no outliers), shape (ny, nx, n_channels)."""
        r, ny, nx = self.abundances.shape
        return (self.abundances.reshape(r, -1).T @ self.endmembers).reshape(ny, nx, -1)


@dataclass(frozen=True, eq=False)
class LatticeTruth:
    """Ground truth of :func:`hyperspy_unmix.data.multiphase_lattice`.

    Attributes
    ----------
    labels : ndarray of shape (ny, nx), int
        Phase of each pixel (index into ``phase_names``).
    phase_names : tuple of str
    positions : ndarray of shape (n_atoms, 2), float64
        ``x, y`` in pixels of every atom drawn.
    atom_phase : ndarray of shape (n_atoms,), int
        Phase of each atom; equals ``labels`` at the atom's rounded position.
    spacing : float
        Nearest-neighbour distance of the undistorted lattice, pixels.
    gain, offset : float
        The stored data are ``gain * intensity + offset`` (rounded for
        integer dtypes).
    """

    labels: np.ndarray
    phase_names: tuple
    positions: np.ndarray
    atom_phase: np.ndarray
    spacing: float
    gain: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        _freeze(self)


@dataclass(frozen=True, eq=False)
class DistortionTruth:
    """Ground truth of :func:`hyperspy_unmix.data.distorted_lattice`.

    Attributes
    ----------
    positions : ndarray of shape (n_atoms, 2), float64
        ``x, y`` in pixels of every atom drawn.
    ideal_positions : ndarray of shape (n_atoms, 2), float64
        The same atoms on the undistorted lattice.
    distortion : ndarray of shape (n_atoms,), float64
        Per-atom distortion value (see ``description``).
    description : str
        What ``distortion`` is.
    strain_direction : ndarray of shape (2,), float64
        Unit vector ``(x, y)`` of the uniaxial strain.
    spacing : float
        Nearest-neighbour distance of the undistorted lattice, pixels.
    """

    positions: np.ndarray
    ideal_positions: np.ndarray
    distortion: np.ndarray
    description: str
    strain_direction: np.ndarray
    spacing: float

    def __post_init__(self):
        _freeze(self)


@dataclass(frozen=True, eq=False)
class AtomicImageTruth:
    """Ground truth of :func:`hyperspy_unmix.data.atomic_image`.

    Attributes
    ----------
    positions : ndarray of shape (n_atoms, 2), float64
        ``x, y`` in pixels of every atom drawn (both sublattices).
    sublattice : ndarray of shape (n_atoms,), int
        0 for the main (heavy) sublattice, 1 for the second (light) one.
    intensity : ndarray of shape (n_atoms,), float64
        Peak height of each atom before the contrast is applied (1 for the
        main sublattice, ``sublattice_intensity`` for the second one).
    lattice : str
        "hexagonal", "square" or "rectangular".
    lattice_vectors : ndarray of shape (2, 2), float64
        Rows ``a1``, ``a2`` (x, y in pixels) of the main sublattice.
    spacing : float
        Nearest-neighbour distance of the main sublattice, pixels.
    first_shell : int
        Number of neighbours in the complete first shell of the main
        sublattice (6 hexagonal, 4 square and rectangular).
    contrast : str
        "bright" (atoms brighter than the background) or "dark".
    vacuum_mask : ndarray of shape (ny, nx), bool
        Pixels of the region without lattice atoms (all False without
        vacuum).
    vacuum : str or None
        None, "noise" (background and noise only) or "amorphous" (a
        low-contrast speckle of an amorphous support).
    noise : float
        Standard deviation of the additive Gaussian noise (in units of the
        atom peak, before ``gain``).
    gain, offset : float
        The stored data are ``gain * intensity + offset`` (rounded for
        integer dtypes): ``(data - offset) / gain`` is the intensity.
    """

    positions: np.ndarray
    sublattice: np.ndarray
    intensity: np.ndarray
    lattice: str
    lattice_vectors: np.ndarray
    spacing: float
    first_shell: int
    contrast: str
    vacuum_mask: np.ndarray
    vacuum: str | None
    noise: float
    gain: float = 1.0
    offset: float = 0.0

    def __post_init__(self):
        _freeze(self)
