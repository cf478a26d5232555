"""``Endmember``: a fixed endmember spectrum times a non-negative abundance."""

import numpy as np
from hyperspy.component import Component
from hyperspy.docstrings.parameters import FUNCTION_ND_DOCSTRING


class Endmember(Component):
    r"""A fixed spectrum scaled by a non-negative abundance.

    .. math::

        f(x) = a \, s(x)

    where :math:`s` is the endmember spectrum (linearly interpolated at the
    model's axis values, so it is exact on the axis it was measured on) and
    :math:`a` the ``abundance``. Made by
    :meth:`hyperspy_unmix.UnmixingResult.as_components` so an unmixing result
    can seed a model and be refined together with a background or other
    components; ``abundance`` is linear, so ``m.fit(optimizer="lstsq")`` works,
    and its lower bound is 0 (honoured by ``m.fit(bounded=True)``).

    Parameters
    ----------
    signal1D : hyperspy.signals.Signal1D or array_like of shape (n_channels,)
        The endmember spectrum (no navigation axes). An array gets a plain
        index axis.
    abundance : float
        Initial abundance.

    Attributes
    ----------
    abundance : hyperspy.component.Parameter
    signal : hyperspy.signals.Signal1D
        The fixed spectrum (saved with the model, like
        :class:`hyperspy.api.model.components1D.ScalableFixedPattern`).
    """

    def __init__(self, signal1D, abundance=1.0):
        import hyperspy.api as hs

        if not hasattr(signal1D, "axes_manager"):
            data = np.asarray(signal1D, dtype=float)
            if data.ndim != 1:
                raise ValueError(
                    f"`signal1D` must be a 1-D spectrum, got shape {data.shape}"
                )
            signal1D = hs.signals.Signal1D(data)
        am = signal1D.axes_manager
        if am.signal_dimension != 1 or am.navigation_dimension != 0:
            raise ValueError(
                "`signal1D` must be a single spectrum (signal dimension 1, no "
                f"navigation axes), got {signal1D}"
            )
        Component.__init__(self, ["abundance"], ["abundance"])
        # Saved with the model and handed back to __init__ on m.restore().
        self._whitelist["signal1D"] = ("init,sig", signal1D)
        self.signal = signal1D
        self.abundance.value = float(abundance)
        self.abundance.bmin = 0.0
        self.abundance.free = True
        self.isbackground = False
        self.convolved = False
        axis = am.signal_axes[0]
        self._x = np.asarray(axis.axis, dtype=float)
        y = np.asarray(signal1D.data, dtype=float).ravel()
        # A binned spectrum holds counts per bin; the model multiplies binned
        # components by the bin width, so store the density (as
        # ScalableFixedPattern does).
        if axis.is_binned:
            y = y / (axis.scale if axis.is_uniform else np.gradient(self._x))
        if self._x.size > 1 and self._x[0] > self._x[-1]:
            self._x, y = self._x[::-1], y[::-1]
        self._y = y

    def _shape(self, x):
        return np.interp(x, self._x, self._y)

    def function(self, x):
        return self.abundance.value * self._shape(x)

    def function_nd(self, axis, parameters_values=None):
        """Calculate the component over given axes and with given parameter values.

        Parameters
        ----------
        axis : numpy.ndarray
            The axis onto which the component is calculated.
        %s

        Returns
        -------
        numpy.ndarray
            The component values.
        """
        if self._is_navigation_multidimensional:
            if parameters_values is None:
                parameters_values = [self.abundance.map["values"]]
            return parameters_values[0][..., np.newaxis] * self._shape(axis)
        return self.function(axis)

    function_nd.__doc__ %= FUNCTION_ND_DOCSTRING

    def grad_abundance(self, x):
        return self._shape(x)
