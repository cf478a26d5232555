"""N-FINDR spectral unmixing: :func:`nfindr_unmix`, :class:`NFINDR`,
:class:`UnmixingResult`.

``api`` validates and builds signals, ``_pipeline`` is the one reduce ->
search -> estimate pipeline the function and the estimator share,
``_reduce`` / ``_abundances`` run its steps in memory and lazily,
``estimator`` is the scikit-learn estimator for HyperSpy's
``decomposition``, ``result`` the result class.
"""

from hyperspy_unmix.unmixing.api import nfindr_unmix
from hyperspy_unmix.unmixing.count import estimate_n_endmembers
from hyperspy_unmix.unmixing.result import UnmixingResult

__all__ = ["nfindr_unmix", "estimate_n_endmembers", "NFINDR", "UnmixingResult"]


def __getattr__(name):
    # scikit-learn (about a second to import) only when the estimator is used
    if name == "NFINDR":
        from hyperspy_unmix.unmixing.estimator import NFINDR

        return NFINDR
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
