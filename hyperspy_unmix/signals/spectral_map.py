"""Spectrum images: one spectrum per pixel (EELS, EDS, CL, Raman, STS grids)."""

from hyperspy.signals import LazySignal1D, Signal1D

from hyperspy_unmix.signals import _docs


class SpectralMap(Signal1D):
    """A map of spectra that can be unmixed into endmembers and abundances.

    Set it with ``s.set_signal_type("spectral_map")`` on any
    :class:`hyperspy.signals.Signal1D`.
    """

    _signal_type = "spectral_map"
    _alias_signal_types = ["spectrum_image"]

    def nfindr_unmix(self, n_endmembers, **kwargs):
        from hyperspy_unmix.unmixing import nfindr_unmix

        return nfindr_unmix(self, n_endmembers, **kwargs)

    nfindr_unmix.__doc__ = _docs.NFINDR_UNMIX


class LazySpectralMap(SpectralMap, LazySignal1D):
    """Lazy (dask-backed) :class:`SpectralMap`."""
