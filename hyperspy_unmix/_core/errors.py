"""Errors the numerical kernels raise (re-exported by :mod:`._core.pca`)."""


class NonFiniteDataError(ValueError):
    """The data (or their moments) hold NaN or infinite values."""


class DataRangeError(ValueError):
    """Finite data whose squares overflow even float64 (beyond ~1e154)."""
