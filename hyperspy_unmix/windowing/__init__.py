"""Sliding-window FFT of images: :func:`sliding_fft`.

(The package is not called ``sliding_fft``: a subpackage of that name would
shadow the public function ``hyperspy_unmix.sliding_fft`` once imported.)
"""

from hyperspy_unmix.windowing.api import sliding_fft

__all__ = ["sliding_fft"]

_MOVED = ("segment_phases", "phase_maps", "phase_labels", "plot_phases")


def __getattr__(name):
    # 0.1 exposed the phase functions here; they live in hyperspy_unmix.phases
    # (above both analyses). Kept for one release.
    if name in _MOVED or name == "SEGMENTATION_DEFAULTS":
        import warnings

        from hyperspy_unmix import phases

        warnings.warn(
            f"`hyperspy_unmix.windowing.{name}` moved to "
            f"`hyperspy_unmix.phases.{name}` (and `hyperspy_unmix.{name}`); "
            "the old path is removed in 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(phases, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
