"""``UnmixingResult``: endmembers, abundances and residual of an unmixing."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._signal_io import (
    add_provenance,
    axis_label,
    computed,
    copy_axis,
    index_axis,
    is_lazy,
    make_signal,
    result_metadata,
    with_data,
)

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

INDEX_AXIS = "Endmember index"

_PARTS = ("endmembers", "abundances", "residual")
_RESULT_NODE = "hyperspy_unmix.result"


class UnmixingResult:
    """What :func:`hyperspy_unmix.nfindr_unmix` found.

    Attributes
    ----------
    endmembers : hyperspy.signal.BaseSignal
        Data shape ``(q, *signal_shape)``: navigation axis "Endmember index",
        the input's signal axes and class (HyperSpy's factors layout).
    abundances : hyperspy.signal.BaseSignal
        Data shape ``(q, *navigation_shape)``: navigation axis "Endmember
        index", signal axes = the input's navigation axes (loadings layout;
        a Signal2D for a 2-D map). Lazy when computed lazily.
    residual : hyperspy.signal.BaseSignal
        Data shape ``navigation_shape``: root-mean-square reconstruction error
        per channel at every pixel (NaN at masked pixels).
    indices : ndarray of int of shape (q, navigation_dimension)
        Array-order navigation indices of the chosen pixels.
    volume : float
        Volume of the simplex in the principal-component space.
    n_iter : int
        Sweeps of the volume search.
    explained_variance : ndarray of shape (q - 1,)
        Variance of the principal components the search ran on.
    """

    def __init__(
        self,
        endmembers: BaseSignal,
        abundances: BaseSignal,
        residual: BaseSignal,
        indices: np.ndarray,
        volume: float,
        n_iter: int,
        explained_variance: np.ndarray,
    ) -> None:
        self.endmembers = endmembers
        self.abundances = abundances
        self.residual = residual
        self.indices = np.asarray(indices, dtype=np.int64)
        self.volume = float(volume)
        self.n_iter = int(n_iter)
        self.explained_variance = np.asarray(explained_variance, dtype=np.float64)
        # Kept in metadata too, so a saved endmembers file says everything.
        md = endmembers.metadata
        md.set_item(f"{_RESULT_NODE}.indices", self.indices)
        md.set_item(f"{_RESULT_NODE}.volume", self.volume)
        md.set_item(f"{_RESULT_NODE}.n_iter", self.n_iter)
        md.set_item(f"{_RESULT_NODE}.explained_variance", self.explained_variance)

    @property
    def n_endmembers(self) -> int:
        return self.indices.shape[0]

    def __repr__(self):
        return (
            f"<UnmixingResult: {self.n_endmembers} endmembers, "
            f"signal shape {self.endmembers.axes_manager.signal_shape}, "
            f"navigation shape {self.abundances.axes_manager.signal_shape}, "
            f"volume={self.volume:.4g}, n_iter={self.n_iter}>"
        )

    # -- persistence ---------------------------------------------------------
    @staticmethod
    def _paths(path):
        path = Path(path)
        ext = path.suffix if path.suffix in (".hspy", ".zspy") else ".hspy"
        stem = path.with_suffix("") if path.suffix in (".hspy", ".zspy") else path
        return {part: stem.parent / f"{stem.name}_{part}{ext}" for part in _PARTS}

    def save(self, path: str | Path, overwrite: bool | None = None, **kwargs) -> dict:
        """Save as three HyperSpy files next to each other.

        ``res.save("run1.hspy")`` writes ``run1_endmembers.hspy``,
        ``run1_abundances.hspy`` and ``run1_residual.hspy`` (``.zspy`` works the
        same); the indices, volume and iteration count travel in the
        endmembers' metadata. Lazy abundances and residual are computed
        together in one pass (``dask.persist``: ``(q + 1)`` float64 numbers
        per pixel held by the scheduler, never the data) and written chunk
        by chunk; this result's own signals stay lazy.

        Parameters
        ----------
        path : str or pathlib.Path
        overwrite, **kwargs
            Passed to :meth:`hyperspy.api.signals.BaseSignal.save`.

        Returns
        -------
        dict
            Part name -> written path.
        """
        paths = self._paths(path)
        parts = {part: getattr(self, part) for part in _PARTS}
        lazy = [part for part, s in parts.items() if is_lazy(s)]
        if len(lazy) > 1:
            # Lazy abundances and residual come from the same pass over the
            # data: compute them together once ((q + 1) numbers per pixel,
            # kept where the scheduler keeps data), not once per file.
            import dask

            arrays = dask.persist(*(parts[part].data for part in lazy))
            for part, data in zip(lazy, arrays):
                parts[part] = with_data(parts[part], data)
        for part, p in paths.items():
            parts[part].save(p, overwrite=overwrite, **kwargs)
        return paths

    @classmethod
    def load(cls, path: str | Path, lazy: bool = False) -> UnmixingResult:
        """Read a result written by :meth:`save` (same ``path``)."""
        import hyperspy.api as hs

        paths = cls._paths(path)
        missing = [str(p) for p in paths.values() if not p.exists()]
        if missing:
            raise FileNotFoundError(f"missing result file(s): {', '.join(missing)}")
        parts = {part: hs.load(p, lazy=lazy) for part, p in paths.items()}
        node = parts["endmembers"].metadata.get_item(_RESULT_NODE)
        if node is None:
            raise ValueError(f"{paths['endmembers']} holds no unmixing result")
        return cls(
            parts["endmembers"],
            parts["abundances"],
            parts["residual"],
            indices=node.indices,
            volume=node.volume,
            n_iter=node.n_iter,
            explained_variance=node.explained_variance,
        )

    # -- models ---------------------------------------------------------------
    def as_components(self, model=None):
        """One :class:`~hyperspy_unmix.Endmember` component per endmember.

        Parameters
        ----------
        model : None or hyperspy.models.model1d.Model1D
            If given, the components are added to it and their ``abundance``
            maps are set from :attr:`abundances` (the model's navigation shape
            must be the map's).

        Returns
        -------
        list of Endmember
            Named "Endmember 0", "Endmember 1", ...; initial abundance = the
            mean abundance.
        """
        from hyperspy_unmix.components.endmember import Endmember

        if self.endmembers.axes_manager.signal_dimension != 1:
            raise ValueError(
                "`as_components` needs 1-D endmember spectra; these have signal "
                f"shape {self.endmembers.axes_manager.signal_shape}"
            )
        A = computed(self.abundances.data)
        comps = []
        for k in range(self.n_endmembers):
            c = Endmember(self.endmembers.inav[k], abundance=float(np.nanmean(A[k])))
            c.name = f"Endmember {k}"
            comps.append(c)
        if model is not None:
            nav = tuple(model.axes_manager.navigation_shape[::-1])
            if nav != A.shape[1:]:
                raise ValueError(
                    f"`model` navigation shape {nav} (array order) differs from "
                    f"the abundance maps' {A.shape[1:]}"
                )
            model.extend(comps)
            for k, c in enumerate(comps):
                c.abundance.map["values"][:] = np.nan_to_num(A[k])
                c.abundance.map["is_set"][:] = True
        return comps

    # -- sliding-FFT stacks: kept for one release ------------------------------
    def abundances_on_image(self, image, *, order=1):
        """Deprecated: use :func:`hyperspy_unmix.phase_maps` (removed in 0.3)."""
        return self._phases("phase_maps")(self, image, order=order)

    def plot_phases(self, image, **kwargs):
        """Deprecated: use :func:`hyperspy_unmix.plot_phases` (removed in 0.3)."""
        return self._phases("plot_phases")(self, image, **kwargs)

    @staticmethod
    def _phases(name):
        # The one import that runs upwards (result -> phases), kept only for
        # these two deprecated methods; the import-graph test lists it.
        from hyperspy_unmix import phases

        method = "abundances_on_image" if name == "phase_maps" else name
        warnings.warn(
            f"`UnmixingResult.{method}` is deprecated and will be removed in "
            f"0.3; use `hyperspy_unmix.{name}(result, image)`",
            DeprecationWarning,
            stacklevel=3,
        )
        return getattr(phases, name)

    # -- plotting -------------------------------------------------------------
    def plot(self, max_columns: int = 4):
        """Endmembers above their abundance maps, chosen pixels marked.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        q = self.n_endmembers
        ncol = min(q, max_columns)
        nblocks = int(np.ceil(q / ncol))
        fig, axs = plt.subplots(
            2 * nblocks, ncol, figsize=(3.0 * ncol, 5.2 * nblocks), squeeze=False
        )
        A = computed(self.abundances.data)
        E = computed(self.endmembers.data)
        for k in range(nblocks * ncol):
            ax_e = axs[2 * (k // ncol), k % ncol]
            ax_a = axs[2 * (k // ncol) + 1, k % ncol]
            if k >= q:
                ax_e.axis("off")
                ax_a.axis("off")
                continue
            _plot_array(ax_e, E[k], self.endmembers.axes_manager.signal_axes)
            ax_e.set_title(f"Endmember {k}")
            im = _plot_array(
                ax_a,
                A[k],
                self.abundances.axes_manager.signal_axes,
                vmin=0 if np.nanmin(A) >= 0 else None,
            )
            if im is not None:
                fig.colorbar(im, ax=ax_a, shrink=0.8)
            self._mark(ax_a, k)
            ax_a.set_title(f"Abundance {k}")
        fig.tight_layout()
        return fig

    def _mark(self, ax, k):
        axes = self.abundances.axes_manager.signal_axes  # x first
        idx = self.indices[k][::-1]  # array order -> x first
        if len(axes) == 2:
            x = axes[0].axis[idx[0]]
            y = axes[1].axis[idx[1]]
            ax.plot(x, y, "o", mfc="none", mec="r", ms=9, mew=1.5)
        elif len(axes) == 1:
            ax.axvline(axes[0].axis[idx[0]], color="r", lw=1)


def _plot_array(ax, data, axes, vmin=None):
    """A line (1-D) or an image (2-D) on calibrated axes; None for a line."""
    if data.ndim == 1:
        ax.plot(axes[0].axis, data)
        ax.set_xlabel(axis_label(axes[0]))
        return None
    if data.ndim == 2:
        x, y = axes[0].axis, axes[1].axis
        dx = (x[1] - x[0]) / 2 if x.size > 1 else 0.5
        dy = (y[1] - y[0]) / 2 if y.size > 1 else 0.5
        im = ax.imshow(
            data,
            extent=(x[0] - dx, x[-1] + dx, y[-1] + dy, y[0] - dy),
            vmin=vmin,
            interpolation="nearest",
        )
        ax.set_xlabel(axis_label(axes[0]))
        ax.set_ylabel(axis_label(axes[1]))
        return im
    ax.text(0.5, 0.5, f"{data.ndim}-D", ha="center", transform=ax.transAxes)
    return None


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
