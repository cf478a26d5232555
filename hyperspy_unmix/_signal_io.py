"""Signals in, arrays out and back, in one place.

Data alignment (array order), masks as HyperSpy reads them, laziness, axis
dicts copied from a calibration, titles, provenance metadata and the
construction of result signals. Every api package uses these; none of them
imports an api package.
"""

import copy
import datetime
import functools

import numpy as np


def array_order_axes(signal):
    """Navigation then signal axes, each in the data's array order."""
    am = signal.axes_manager
    return list(am.navigation_axes[::-1]) + list(am.signal_axes[::-1])


def aligned_data(signal):
    """The data as ``(*navigation_shape, *signal_shape)`` in array order.

    A view (numpy) or a lazy transpose (dask) when HyperSpy keeps the axes in
    another order; never a copy.

    Returns
    -------
    data : ndarray or dask.array.Array
    nav_shape, sig_shape : tuple of int
        Array order (the reverse of ``axes_manager.navigation_shape``).
    """
    am = signal.axes_manager
    order = [ax.index_in_array for ax in array_order_axes(signal)]
    data = signal.data
    if order != list(range(data.ndim)):
        data = data.transpose(order)
    nav_shape = tuple(am.navigation_shape[::-1])
    sig_shape = tuple(am.signal_shape[::-1])
    return data, nav_shape, sig_shape


def _mask_array(mask, name, space, want_axes_shape, signal):
    """A flat boolean *exclusion* mask in array order, checked like HyperSpy."""
    from hyperspy.signal import BaseSignal

    if isinstance(mask, BaseSignal):
        am = mask.axes_manager
        # HyperSpy's form: the mask's dimension of the other kind is 0.
        if space == "navigation":
            ok = am.signal_dimension == 0 and am.navigation_shape == want_axes_shape
            ok_t = am.navigation_dimension == 0 and am.signal_shape == want_axes_shape
        else:
            ok = am.navigation_dimension == 0 and am.signal_shape == want_axes_shape
            ok_t = False
        if not (ok or ok_t):
            raise ValueError(
                f"`{name}` must be a signal with {space} shape {want_axes_shape} "
                f"(the signal's {space}_shape), got {mask}"
            )
        arr, _, _ = aligned_data(mask)
        arr = computed(arr)
    else:
        arr = computed(mask)
        if arr.shape != tuple(want_axes_shape):
            raise ValueError(
                f"`{name}` must have shape {tuple(want_axes_shape)} (the signal's "
                f"axes_manager.{space}_shape, x first), got {arr.shape}"
            )
        # HyperSpy reads array masks in axes order (x first): the transpose of
        # the data's array order.
        arr = arr.T
    if arr.dtype != np.bool_:
        raise TypeError(
            f"`{name}` must hold booleans (True = excluded), got {arr.dtype}"
        )
    return arr.ravel()


def flat_masks(signal, navigation_mask, signal_mask):
    """Flat *keep* masks (True = used), array order, or None when not given."""
    am = signal.axes_manager
    nav_keep = sig_keep = None
    if navigation_mask is not None:
        nav_keep = ~_mask_array(
            navigation_mask,
            "navigation_mask",
            "navigation",
            tuple(am.navigation_shape),
            signal,
        )
    if signal_mask is not None:
        sig_keep = ~_mask_array(
            signal_mask, "signal_mask", "signal", tuple(am.signal_shape), signal
        )
    return nav_keep, sig_keep


def copy_axis(axis, navigate):
    """An axis dict with the calibration of ``axis`` (uniform or not)."""
    if axis.is_uniform:
        return axis_dict(axis, navigate=navigate)
    d = axis.get_axis_dictionary()
    d["navigate"] = navigate
    return d


def result_metadata(signal, title, base=None):
    """Deep copy of the input's metadata, new title, input provenance kept.

    The input's own ``metadata.hyperspy_unmix`` record (e.g. the window
    geometry of a sliding-FFT stack) moves to ``hyperspy_unmix.input`` so this
    call's provenance does not mix with it. ``base``: the dictionary of an
    earlier call for the same signal, copied as a plain dictionary (HyperSpy's
    tree copy and conversion cost ~1-2 ms a signal).
    """
    if base is None:
        md = signal.metadata.deepcopy()
        if md.has_item("hyperspy_unmix"):
            prior = md.hyperspy_unmix.as_dictionary()
            del md.hyperspy_unmix
            md.set_item("hyperspy_unmix.input", prior)
        d = md.as_dictionary()
    else:
        d = copy.deepcopy(base)
    d.setdefault("General", {})["title"] = title
    return d


def make_signal(data, axes, metadata, signal_type):
    """A signal of the class HyperSpy registers for ``signal_type`` and the axes."""
    import hyperspy.api as hs

    cls = hs.signals.LazySignal if is_lazy(data) else hs.signals.BaseSignal
    s = cls(data, axes=axes, metadata=metadata)
    s.set_signal_type(signal_type)
    return s


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


def provenance(method, parameters):
    """The ``metadata.hyperspy_unmix`` record of a result (a plain dict)."""
    from hyperspy_unmix import __version__

    now = datetime.datetime.now(datetime.timezone.utc)
    return {
        "method": method,
        "version": __version__,
        "date": now.isoformat(timespec="seconds"),
        "parameters": {k: _plain(v) for k, v in parameters.items()},
    }


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
    # one merge (an existing node, e.g. ``hyperspy_unmix.input``, is kept):
    # a set_item per parameter costs ~0.1 ms each in HyperSpy's tree
    signal.metadata.add_dictionary({"hyperspy_unmix": provenance(method, parameters)})
    return signal


def is_lazy(obj):
    """Whether a signal or an array is dask-backed (no dask import for numpy).

    The one test of laziness in the package: it looks at the data, not at
    HyperSpy's private ``_lazy`` flag.
    """
    data = obj if _is_array(obj) else getattr(obj, "data", obj)
    return type(data).__module__.split(".")[0] == "dask"


def _is_array(obj):
    return isinstance(obj, np.ndarray) or hasattr(obj, "chunks")


def computed(data):
    """``data`` as numpy: a dask array is computed (callers pass small ones)."""
    if is_lazy(data):
        data = data.compute()
    return np.asarray(data)


def title_of(signal):
    """The signal's title ("" when it has none)."""
    title = signal.metadata.get_item("General.title", "")
    return title if isinstance(title, str) else ""


def axis_label(axis):
    """``"name (units)"`` of a HyperSpy axis, without undefined parts."""
    units = axis.units if isinstance(axis.units, str) else ""
    name = axis.name if isinstance(axis.name, str) else ""
    if units in ("", "<undefined>"):
        return name
    return f"{name} ({units})"


@functools.lru_cache(maxsize=1)
def _unit_registry():
    import pint

    return pint.UnitRegistry()


def reciprocal_units(units):
    """``nm`` -> ``1 / nm`` as ``BaseSignal.fft`` does; unknown units are kept."""
    try:
        ureg = _unit_registry()
        return "{:~}".format((ureg.parse_expression(str(units)) ** -1).units)
    except Exception:  # undefined or unparsable units: as HyperSpy, keep them
        return units


def signal_axes_dicts(signal, navigate=False):
    """Dicts of the signal axes of ``signal``, array order."""
    return [
        axis_dict(ax, navigate=navigate) for ax in signal.axes_manager.signal_axes[::-1]
    ]


def with_data(signal, data):
    """A new signal like ``signal`` (class, axes, metadata) holding ``data``.

    The public replacement of HyperSpy's private ``_deepcopy_with_new_data``
    for data of the same shape: axes and metadata are deep copies.
    """
    axes = [copy_axis(ax, ax.navigate) for ax in array_order_axes(signal)]
    return make_signal(
        data,
        axes,
        signal.metadata.deepcopy().as_dictionary(),
        signal.metadata.get_item("Signal.signal_type", ""),
    )
