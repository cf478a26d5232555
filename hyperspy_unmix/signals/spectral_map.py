"""Spectrum images: one spectrum per pixel (EELS, EDS, CL, Raman, STS grids)."""

from hyperspy.signals import LazySignal1D, Signal1D

from hyperspy_unmix.signals._methods import UnmixMixin


class SpectralMap(UnmixMixin, Signal1D):
    """A map of spectra that can be unmixed into endmembers and abundances.

    Set it with ``s.set_signal_type("spectral_map")`` on any
    :class:`hyperspy.api.signals.Signal1D`.
    """

    _signal_type = "spectral_map"
    _alias_signal_types = ["spectrum_image"]


class LazySpectralMap(SpectralMap, LazySignal1D):
    """Lazy (dask-backed) :class:`SpectralMap`."""
