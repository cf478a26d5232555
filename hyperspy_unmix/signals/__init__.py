"""HyperSpy signal classes registered by hyperspy_unmix (see the yaml)."""

from hyperspy_unmix.signals.atomic_resolution import (
    AtomicResolutionImage,
    LazyAtomicResolutionImage,
)
from hyperspy_unmix.signals.sliding_fft import LazySlidingFFT, SlidingFFT
from hyperspy_unmix.signals.spectral_map import LazySpectralMap, SpectralMap

__all__ = [
    "SpectralMap",
    "LazySpectralMap",
    "AtomicResolutionImage",
    "LazyAtomicResolutionImage",
    "SlidingFFT",
    "LazySlidingFFT",
]
