"""Atomically resolved images (STEM, TEM, STM)."""

from hyperspy.signals import LazySignal2D, Signal2D

from hyperspy_unmix.signals._methods import ImageAnalysisMixin, UnmixMixin


class AtomicResolutionImage(ImageAnalysisMixin, UnmixMixin, Signal2D):
    """An atomically resolved image (or a stack of them).

    Adds :meth:`sliding_fft` (local periodicity), :meth:`segment_phases`
    (sliding FFT + N-FINDR in one call), :meth:`neighborhood_pca`
    (local atomic environments) and :meth:`nfindr_unmix` (for image stacks,
    e.g. a series of diffraction patterns).
    """

    _signal_type = "atomic_resolution"
    _alias_signal_types = ["atomic_resolution_image"]


class LazyAtomicResolutionImage(AtomicResolutionImage, LazySignal2D):
    """Lazy (dask-backed) :class:`AtomicResolutionImage`."""
