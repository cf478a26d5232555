"""Neighbourhood PCA of atomic environments: :func:`neighborhood_pca`,
:class:`NeighborhoodPCAResult`.

``api`` validates and orchestrates, ``atoms`` finds and refines atoms
(Atomap, tiled), ``_decompose`` turns positions into descriptors and runs
HyperSpy's decomposition, ``result`` holds and plots what was found.
"""

from hyperspy_unmix.neighborhoods.api import neighborhood_pca
from hyperspy_unmix.neighborhoods.result import NeighborhoodPCAResult

__all__ = ["neighborhood_pca", "NeighborhoodPCAResult"]
