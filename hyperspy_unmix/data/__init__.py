"""Example data with ground truth, and two real datasets.

Synthetic generators (deterministic given ``random_state``) return
``(signal, truth)``:

- :func:`spectrum_image`: EELS-like spectrum image, linear mixing of known
  endmembers with smooth sum-to-one abundances, planted pure pixels, Poisson
  noise (truth: :class:`SpectrumImageTruth`).
- :func:`multiphase_lattice`: atomic-resolution image whose lattice changes
  (plain, dimerised, rotated) across irregular region boundaries (truth:
  :class:`LatticeTruth`, a per-pixel phase label).
- :func:`distorted_lattice`: atomic-resolution image with a smooth, known
  uniaxial strain field (truth: :class:`DistortionTruth`, true positions and
  per-atom strain).

Loaders of the shipped real data (pycroscopy sample data, MIT licence):

- :func:`bfo_conduction_map`: BiFeO3 conduction spectroscopy map.
- :func:`mores2_image`: Mo(1-x)Re(x)S2 atomic-resolution image.
"""

from hyperspy_unmix.data._lattices import distorted_lattice, multiphase_lattice
from hyperspy_unmix.data._real import bfo_conduction_map, mores2_image
from hyperspy_unmix.data._spectra import spectrum_image
from hyperspy_unmix.data._truth import (
    DistortionTruth,
    LatticeTruth,
    SpectrumImageTruth,
)

__all__ = [
    "spectrum_image",
    "multiphase_lattice",
    "distorted_lattice",
    "bfo_conduction_map",
    "mores2_image",
    "SpectrumImageTruth",
    "LatticeTruth",
    "DistortionTruth",
]
