"""Stacks of local FFTs: navigation = window position, signal = reciprocal space."""

from hyperspy.signals import LazySignal2D, Signal2D

from hyperspy_unmix.signals._methods import UnmixMixin


class SlidingFFT(UnmixMixin, Signal2D):
    """A stack of local FFT magnitudes made by :func:`hyperspy_unmix.sliding_fft`.

    Unmixing it with :meth:`nfindr_unmix` gives the phases' FFT patterns
    (endmembers) and where each phase is (abundance maps).
    """

    _signal_type = "sliding_fft"


class LazySlidingFFT(SlidingFFT, LazySignal2D):
    """Lazy (dask-backed) :class:`SlidingFFT`."""
