"""Apodization windows (tapers) for local FFTs, named as in HyperSpy.

The names and 1-D shapes follow ``BaseSignal.apply_apodization``: ``"hann"``
is :func:`numpy.hanning`, ``"hamming"`` :func:`numpy.hamming`, ``"tukey"``
:func:`scipy.signal.windows.tukey`; ``"blackman"`` (:func:`numpy.blackman`)
is added because it suppresses the leakage of strong Bragg peaks further.
The 2-D taper is the outer product of the 1-D tapers, as in HyperSpy.
"""

import numpy as np

TAPERS = ("hann", "hamming", "blackman", "tukey")


def taper_1d(name, size, tukey_alpha=0.5):
    """One 1-D apodization window.

    Parameters
    ----------
    name : {"hann", "hamming", "blackman", "tukey"} or None
        None gives a flat (rectangular) window.
    size : int
    tukey_alpha : float
        Fraction of the Tukey window inside the cosine taper.

    Returns
    -------
    ndarray of shape (size,), float64
    """
    if name is None:
        return np.ones(size)
    if name == "hann":
        return np.hanning(size)
    if name == "hamming":
        return np.hamming(size)
    if name == "blackman":
        return np.blackman(size)
    if name == "tukey":
        from scipy.signal.windows import tukey

        return tukey(size, tukey_alpha)
    raise ValueError(f"`window` must be one of {TAPERS} or None; got {name!r}")


def taper_2d(name, shape, tukey_alpha=0.5):
    """Separable 2-D apodization window of ``shape`` = (height, width).

    Returns
    -------
    ndarray of shape (height, width), float64
    """
    return np.outer(
        taper_1d(name, shape[0], tukey_alpha), taper_1d(name, shape[1], tukey_alpha)
    )
