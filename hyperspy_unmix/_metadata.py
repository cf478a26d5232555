"""Axes and provenance helpers for building result signals."""

import datetime

import numpy as np


def axis_dict(axis, **changes):
    """A uniform HyperSpy axis as a dict (for ``BaseSignal(data, axes=[...])``).

    ``changes`` override keys, e.g. ``size`` or ``offset``.
    """
    d = {
        "name": axis.name,
        "units": axis.units,
        "scale": axis.scale,
        "offset": axis.offset,
        "size": axis.size,
        "navigate": axis.navigate,
    }
    d.update(changes)
    return d


def index_axis(size, name, navigate=True):
    """A plain integer index axis (e.g. "Endmember index")."""
    return {
        "name": name,
        "units": "",
        "scale": 1.0,
        "offset": 0.0,
        "size": int(size),
        "navigate": navigate,
    }


def _plain(value):
    """Make a parameter value storable in HyperSpy metadata (hspy/zspy)."""
    if value is None:
        return "None"
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        try:
            return np.asarray(value).tolist()
        except Exception:  # ragged
            return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 64 else f"array{value.shape}"
    return repr(value)


def add_provenance(signal, method, parameters):
    """Record how ``signal`` was made in ``metadata.hyperspy_unmix``.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
    method : str
        Public name of the function that made the signal.
    parameters : dict
        Its parameters; values are turned into storable plain types.
    """
    from hyperspy_unmix import __version__

    signal.metadata.set_item("hyperspy_unmix.method", method)
    signal.metadata.set_item("hyperspy_unmix.version", __version__)
    signal.metadata.set_item(
        "hyperspy_unmix.date",
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    )
    for key, value in parameters.items():
        signal.metadata.set_item(f"hyperspy_unmix.parameters.{key}", _plain(value))
    return signal
