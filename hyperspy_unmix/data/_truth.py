"""Ground-truth records returned beside each synthetic signal.

They are frozen dataclasses whose arrays are made read-only, so a test cannot
change the truth it is compared against by accident.
"""

from dataclasses import dataclass, fields

import numpy as np


def _freeze(obj):
    for f in fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False


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
        each endmember (abundance exactly 1 there, all others exactly 0).
    pure_mask : ndarray of shape (n_endmembers, ny, nx), bool
        Every pixel where that endmember's abundance is exactly 1 (the planted
        patches).
    names : tuple of str
        Names of the endmembers (the material each spectrum imitates).
    energy : ndarray of shape (n_channels,), float64
        Channel centres in eV (the signal axis).
    dose : float or None
        Mean total counts per spectrum, None for the noise-free unit-dose data.
    """

    endmembers: np.ndarray
    abundances: np.ndarray
    pure_pixels: np.ndarray
    pure_mask: np.ndarray
    names: tuple
    energy: np.ndarray
    dose: float | None

    def __post_init__(self):
        _freeze(self)

    def expected(self):
        """Noise-free data ``A . E``, array of shape (ny, nx, n_channels)."""
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
    """

    labels: np.ndarray
    phase_names: tuple
    positions: np.ndarray
    atom_phase: np.ndarray
    spacing: float

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
