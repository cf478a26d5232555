"""Example data with ground truth, and two real datasets.

Synthetic generators (deterministic given ``random_state``) return
``(signal, truth)``:

- :func:`spectrum_image`: EELS-like spectrum image, linear mixing of known
  endmembers with smooth sum-to-one abundances, planted pure pixels, Poisson
  noise (truth: :class:`SpectrumImageTruth`); ``kind="eds"`` / ``"raman"``
  spectra, ``max_purity`` (no pure pixels) and planted ``outliers`` (hot,
  dead, dead rows, spikes) for realistically bad maps.
- :func:`multiphase_lattice`: atomic-resolution image whose lattice changes
  (plain, dimerised, rotated) across irregular region boundaries (truth:
  :class:`LatticeTruth`, a per-pixel phase label).
- :func:`distorted_lattice`: atomic-resolution image with a smooth, known
  uniaxial strain field (truth: :class:`DistortionTruth`, true positions and
  per-atom strain).
- :func:`atomic_image`: one hexagonal, square or rectangular lattice with
  bright or dark atoms, an optional weak second sublattice, vacuum or an
  amorphous support, in any real dtype (truth: :class:`AtomicImageTruth`).

Loaders of the shipped real data (pycroscopy sample data, MIT licence):

- :func:`bfo_conduction_map`: BiFeO3 conduction spectroscopy map.
- :func:`mores2_image`: Mo(1-x)Re(x)S2 atomic-resolution image.
"""

from hyperspy_unmix.data._lattices import (
    atomic_image,
    distorted_lattice,
    multiphase_lattice,
)
from hyperspy_unmix.data._real import bfo_conduction_map, mores2_image
from hyperspy_unmix.data._spectra import spectrum_image
from hyperspy_unmix.data._truth import (
    AtomicImageTruth,
    DistortionTruth,
    LatticeTruth,
    SpectrumImageTruth,
)

__all__ = [
    "spectrum_image",
    "multiphase_lattice",
    "distorted_lattice",
    "atomic_image",
    "bfo_conduction_map",
    "mores2_image",
    "SpectrumImageTruth",
    "LatticeTruth",
    "DistortionTruth",
    "AtomicImageTruth",
]
