"""Atomically resolved images (STEM, TEM, STM)."""

from hyperspy.signals import LazySignal2D, Signal2D

from hyperspy_unmix.signals import _docs


class AtomicResolutionImage(Signal2D):
    """An atomically resolved image (or a stack of them).

    Adds :meth:`sliding_fft` (local periodicity), :meth:`segment_phases`
    (sliding FFT + N-FINDR in one call), :meth:`neighborhood_pca`
    (local atomic environments) and :meth:`nfindr_unmix` (for image stacks,
    e.g. a series of diffraction patterns).
    """

    _signal_type = "atomic_resolution"
    _alias_signal_types = ["atomic_resolution_image"]

    def sliding_fft(self, window_size=64, step=16, **kwargs):
        from hyperspy_unmix.windowing import sliding_fft

        return sliding_fft(self, window_size=window_size, step=step, **kwargs)

    sliding_fft.__doc__ = _docs.SLIDING_FFT

    def segment_phases(self, n_phases, window_size=64, step=16, **kwargs):
        from hyperspy_unmix.windowing import segment_phases

        return segment_phases(self, n_phases, window_size, step, **kwargs)

    segment_phases.__doc__ = _docs.SEGMENT_PHASES

    def neighborhood_pca(self, n_neighbors=6, **kwargs):
        from hyperspy_unmix.neighborhoods import neighborhood_pca

        return neighborhood_pca(self, n_neighbors=n_neighbors, **kwargs)

    neighborhood_pca.__doc__ = _docs.NEIGHBORHOOD_PCA

    def nfindr_unmix(self, n_endmembers, **kwargs):
        from hyperspy_unmix.unmixing import nfindr_unmix

        return nfindr_unmix(self, n_endmembers, **kwargs)

    nfindr_unmix.__doc__ = _docs.NFINDR_UNMIX


class LazyAtomicResolutionImage(AtomicResolutionImage, LazySignal2D):
    """Lazy (dask-backed) :class:`AtomicResolutionImage`."""
