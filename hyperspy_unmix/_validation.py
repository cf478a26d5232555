"""Input checks shared by the api functions.

Each check raises a ``TypeError`` / ``ValueError`` that names the parameter and
what was expected, before any heavy work is done.
"""

import numbers

import numpy as np


def check_signal(
    signal, name="signal", *, signal_dimension=None, need_navigation=False
):
    """Check that ``signal`` is a real HyperSpy signal of the wanted dimensions."""
    from hyperspy.signal import BaseSignal  # public class, re-exported in hs.signals

    if not isinstance(signal, BaseSignal):
        raise TypeError(
            f"`{name}` must be a HyperSpy signal, got {type(signal).__name__}"
        )
    if np.issubdtype(signal.data.dtype, np.complexfloating):
        raise TypeError(
            f"`{name}` holds complex data ({signal.data.dtype}); take the "
            "modulus, phase or real part first (e.g. `s.amplitude`)"
        )
    if not (
        np.issubdtype(signal.data.dtype, np.number)
        or np.issubdtype(signal.data.dtype, np.bool_)
    ):
        raise TypeError(f"`{name}` must hold numbers, got dtype {signal.data.dtype}")
    am = signal.axes_manager
    if signal_dimension is not None:
        dims = (
            (signal_dimension,) if np.isscalar(signal_dimension) else signal_dimension
        )
        if am.signal_dimension not in dims:
            want = " or ".join(str(d) for d in dims)
            raise ValueError(
                f"`{name}` must have signal dimension {want}, got "
                f"{am.signal_dimension} (signal shape {am.signal_shape})"
            )
    if need_navigation and am.navigation_dimension == 0:
        raise ValueError(
            f"`{name}` has no navigation axes: it holds a single "
            f"{'spectrum' if am.signal_dimension == 1 else 'pattern'}, "
            "so there is nothing to unmix"
        )
    return signal


def check_uniform_axes(axes, name="signal"):
    """Refuse non-uniform axes (their calibration cannot be carried over)."""
    for ax in axes:
        if not ax.is_uniform:
            raise NotImplementedError(
                f"`{name}` has a non-uniform axis {ax.name!r}; only uniform "
                "axes are supported here (convert it with "
                "`axis.convert_to_uniform_axis()`)"
            )


def check_finite(data, name="signal"):
    """Refuse NaN / inf in an in-memory array (lazy arrays: see callers)."""
    if not np.all(np.isfinite(data)):
        n_bad = int(np.size(data) - np.count_nonzero(np.isfinite(data)))
        raise ValueError(
            f"`{name}` contains {n_bad} NaN or infinite value(s); remove or mask "
            "them first"
        )


def check_int(value, name, *, minimum=None, maximum=None):
    """An integer parameter within bounds (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {value}")
    return value


def check_choice(value, name, choices):
    """One of a fixed set of strings."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}; got {value!r}")
    return value
