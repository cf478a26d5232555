"""Atomically resolved images (STEM, TEM, STM)."""

from hyperspy.signals import LazySignal2D, Signal2D


class AtomicResolutionImage(Signal2D):
    """An atomically resolved image (or a stack of them).

    Adds :meth:`sliding_fft` (local periodicity), :meth:`neighborhood_pca`
    (local atomic environments) and :meth:`nfindr_unmix` (for image stacks,
    e.g. a series of diffraction patterns).
    """

    _signal_type = "atomic_resolution"
    _alias_signal_types = ["atomic_resolution_image"]

    def sliding_fft(self, window_size=64, step=16, **kwargs):
        from hyperspy_unmix.windowing import sliding_fft

        return sliding_fft(self, window_size=window_size, step=step, **kwargs)

    def neighborhood_pca(self, n_neighbors=6, **kwargs):
        from hyperspy_unmix.neighborhoods import neighborhood_pca

        return neighborhood_pca(self, n_neighbors=n_neighbors, **kwargs)

    def nfindr_unmix(self, n_endmembers, **kwargs):
        from hyperspy_unmix.unmixing import nfindr_unmix

        return nfindr_unmix(self, n_endmembers, **kwargs)


class LazyAtomicResolutionImage(AtomicResolutionImage, LazySignal2D):
    """Lazy (dask-backed) :class:`AtomicResolutionImage`."""
