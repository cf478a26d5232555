"""hyperspy_unmix: N-FINDR unmixing, sliding-window FFT phase segmentation and
neighbourhood PCA of atomic environments, inside HyperSpy.

The public functions are imported on first use so that ``import hyperspy.api``
(which imports this package through the extension entry point) stays light.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hyperspy_unmix")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

# public name -> module that defines it
_PUBLIC = {
    "nfindr_unmix": "hyperspy_unmix.unmixing.api",
    "NFINDR": "hyperspy_unmix.unmixing.estimator",
    "UnmixingResult": "hyperspy_unmix.unmixing.result",
    "estimate_n_endmembers": "hyperspy_unmix.unmixing.count",
    "sliding_fft": "hyperspy_unmix.windowing.api",
    "segment_phases": "hyperspy_unmix.phases",
    "phase_maps": "hyperspy_unmix.phases",
    "phase_labels": "hyperspy_unmix.phases",
    "plot_phases": "hyperspy_unmix.phases",
    "neighborhood_pca": "hyperspy_unmix.neighborhoods.api",
    "NeighborhoodPCAResult": "hyperspy_unmix.neighborhoods.result",
    "Endmember": "hyperspy_unmix.components.endmember",
    "data": "hyperspy_unmix.data",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    try:
        module = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'hyperspy_unmix' has no attribute {name!r}")
    obj = import_module(module)
    return obj if name == "data" else getattr(obj, name)


def __dir__():
    return sorted(__all__)
