"""Signals in, arrays out and back: data alignment, masks, result signals."""

import numpy as np

from hyperspy_unmix._metadata import add_provenance, axis_dict, index_axis

INDEX_AXIS = "Endmember index"


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
        if hasattr(arr, "compute"):
            arr = arr.compute()
        arr = np.asarray(arr)
    else:
        if hasattr(mask, "compute"):
            mask = mask.compute()
        arr = np.asarray(mask)
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


def mask_signals(signal, nav_keep, sig_keep):
    """Exclusion masks as signals: the unambiguous form for ``decomposition``."""
    import hyperspy.api as hs

    am = signal.axes_manager
    nav = sig = None
    if nav_keep is not None:
        nav = hs.signals.BaseSignal(~nav_keep.reshape(am.navigation_shape[::-1])).T
    if sig_keep is not None:
        sig = hs.signals.BaseSignal(~sig_keep.reshape(am.signal_shape[::-1]))
    return nav, sig


def copy_axis(axis, navigate):
    """An axis dict with the calibration of ``axis`` (uniform or not)."""
    if axis.is_uniform:
        return axis_dict(axis, navigate=navigate)
    d = axis.get_axis_dictionary()
    d["navigate"] = navigate
    return d


def result_metadata(signal, title):
    """Deep copy of the input's metadata, new title, input provenance kept.

    The input's own ``metadata.hyperspy_unmix`` record (e.g. the window
    geometry of a sliding-FFT stack) moves to ``hyperspy_unmix.input`` so this
    call's provenance does not mix with it.
    """
    md = signal.metadata.deepcopy()
    md.General.title = title
    if md.has_item("hyperspy_unmix"):
        prior = md.hyperspy_unmix.as_dictionary()
        del md.hyperspy_unmix
        md.set_item("hyperspy_unmix.input", prior)
    return md.as_dictionary()


def make_signal(data, axes, metadata, signal_type):
    """A signal of the class HyperSpy registers for ``signal_type`` and the axes."""
    import hyperspy.api as hs

    cls = hs.signals.LazySignal if hasattr(data, "compute") else hs.signals.BaseSignal
    s = cls(data, axes=axes, metadata=metadata)
    s.set_signal_type(signal_type)
    return s


def build_result(
    signal,
    endmembers,
    abundances,
    residual,
    *,
    indices,
    volume,
    n_iter,
    explained_variance,
    parameters,
):
    """The :class:`UnmixingResult` with calibrated, titled, documented signals."""
    from hyperspy_unmix._unmixing_result import UnmixingResult

    am = signal.axes_manager
    q = endmembers.shape[0]
    title = signal.metadata.General.title
    signal_type = signal.metadata.get_item("Signal.signal_type", "")
    sig_axes = [copy_axis(ax, False) for ax in am.signal_axes[::-1]]
    nav_axes = [copy_axis(ax, False) for ax in am.navigation_axes[::-1]]

    e = make_signal(
        endmembers,
        [index_axis(q, INDEX_AXIS), *sig_axes],
        result_metadata(signal, f"Endmembers of {title}"),
        signal_type,
    )
    a = make_signal(
        abundances,
        [index_axis(q, INDEX_AXIS), *nav_axes],
        result_metadata(signal, f"Abundances of {title}"),
        "",
    )
    r = make_signal(
        residual, nav_axes, result_metadata(signal, f"Residual of {title}"), ""
    )
    for s in (e, a, r):
        add_provenance(s, "nfindr_unmix", parameters)
    return UnmixingResult(
        endmembers=e,
        abundances=a,
        residual=r,
        indices=indices,
        volume=volume,
        n_iter=n_iter,
        explained_variance=explained_variance,
    )
