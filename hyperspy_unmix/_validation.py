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
    try:
        known = any(
            value is c or (type(value) is type(c) and value == c) for c in choices
        )
    except (TypeError, ValueError):  # e.g. an array: its == gives an array
        known = False
    if not known:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}; got {value!r}")
    return value


def check_float(value, name, *, minimum=None, maximum=None, strict_minimum=False):
    """A finite real number within bounds (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"`{name}` must be finite, got {value!r}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise ValueError(f"`{name}` must be > {minimum}, got {value!r}")
        if not strict_minimum and value < minimum:
            raise ValueError(f"`{name}` must be >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be <= {maximum}, got {value!r}")
    return value


def check_bool(value, name, *, allow_none=False):
    """True or False (numpy bools too); None only with ``allow_none``."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (bool, np.bool_)):
        want = "None, True or False" if allow_none else "True or False"
        raise TypeError(f"`{name}` must be {want}, got {value!r}")
    return bool(value)


def check_random_state(value, name="random_state"):
    """The package's one ``random_state`` convention, checked in one place.

    None, a non-negative int, a :class:`numpy.random.Generator` or a
    :class:`numpy.random.RandomState`; returned unchanged.
    """
    if value is None or isinstance(value, (np.random.Generator, np.random.RandomState)):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be None, an int, a numpy.random.Generator or a "
            f"numpy.random.RandomState, got {value!r}"
        )
    if not 0 <= int(value) < 2**32:
        raise ValueError(f"`{name}` must be an int in [0, 2**32), got {value!r}")
    return value


def storable_random_state(value):
    """``random_state`` as a value metadata can hold (an int or None as is)."""
    if value is None or isinstance(value, numbers.Integral):
        return value if value is None else int(value)
    return repr(value)


def check_pair(value, name, *, minimum):
    """An int or a pair of ints -> (y, x)."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"`{name}` must be an int or a pair (y, x), got {value!r}")
        return tuple(check_int(v, name, minimum=minimum) for v in value)
    v = check_int(value, name, minimum=minimum)
    return (v, v)


def deprecated_alias(old_value, old_name, new_value, new_name, default):
    """The value of a renamed keyword; the old name warns for one release."""
    if old_value is None:
        return new_value
    import warnings

    if new_value is not default and new_value != default:
        raise TypeError(f"give `{new_name}` or its old name `{old_name}`, not both")
    warnings.warn(
        f"`{old_name}` is deprecated and will be removed in 0.3; use `{new_name}`",
        DeprecationWarning,
        stacklevel=3,
    )
    return old_value
