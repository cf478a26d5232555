"""The analyses as signal methods, shared through small mixins.

Each method is the api function with the signal bound to its first
parameter: :func:`delegate` copies the function's signature (minus that
parameter) and its docstring onto the method, so ``inspect.signature``,
Shift-Tab in Jupyter and ``help`` show every keyword, and nothing is written
twice. Importing this module imports the api modules (not Atomap or
scikit-learn, which load on first use).
"""

import functools
import inspect

from hyperspy_unmix.neighborhoods.api import neighborhood_pca
from hyperspy_unmix.phases import segment_phases
from hyperspy_unmix.unmixing.api import nfindr_unmix
from hyperspy_unmix.windowing.api import sliding_fft


def delegate(func):
    """A method ``self.name(...)`` that calls ``func(self, ...)``."""
    sig = inspect.signature(func)
    first, *rest = sig.parameters.values()
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)

    @functools.wraps(func)
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)

    # functools.wraps sets __wrapped__, which inspect would follow back to
    # the function's own signature (with its first parameter)
    del method.__wrapped__
    method.__signature__ = sig.replace(parameters=[self_param, *rest])
    method.__doc__ = (
        f"{func.__name__} of this signal: :func:`hyperspy_unmix.{func.__name__}` "
        f"with the signal as ``{first.name}``.\n\n" + inspect.getdoc(func)
    )
    return method


class UnmixMixin:
    """``nfindr_unmix`` (spectrum images, image stacks, sliding-FFT stacks)."""

    nfindr_unmix = delegate(nfindr_unmix)

    def blind_source_separation(self, *args, **kwargs):
        algorithm = self.learning_results.decomposition_algorithm
        if type(algorithm).__name__ == "NFINDR" and type(
            algorithm
        ).__module__.startswith("hyperspy_unmix"):
            import warnings

            warnings.warn(
                "the decomposition was N-FINDR: its factors are endmembers "
                "(sources) already, so blind source separation of them is "
                "meaningless; run it after an SVD/PCA decomposition instead",
                UserWarning,
                stacklevel=2,
            )
        return super().blind_source_separation(*args, **kwargs)

    blind_source_separation.__doc__ = None  # set below from HyperSpy's own


class ImageAnalysisMixin:
    """The atomic-resolution image analyses."""

    sliding_fft = delegate(sliding_fft)
    segment_phases = delegate(segment_phases)
    neighborhood_pca = delegate(neighborhood_pca)


def _bss_doc():
    from hyperspy.signal import BaseSignal

    return BaseSignal.blind_source_separation.__doc__


UnmixMixin.blind_source_separation.__doc__ = _bss_doc()
