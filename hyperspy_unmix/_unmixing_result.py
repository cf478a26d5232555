"""``UnmixingResult``: endmembers, abundances and residual of an unmixing."""

from pathlib import Path

import numpy as np

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
        endmembers,
        abundances,
        residual,
        indices,
        volume,
        n_iter,
        explained_variance,
    ):
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
    def n_endmembers(self):
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

    def save(self, path, overwrite=None, **kwargs):
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
            Passed to :meth:`hyperspy.signal.BaseSignal.save`.

        Returns
        -------
        dict
            Part name -> written path.
        """
        paths = self._paths(path)
        parts = {part: getattr(self, part) for part in _PARTS}
        lazy = [part for part, s in parts.items() if s._lazy]
        if len(lazy) > 1:
            # Lazy abundances and residual come from the same pass over the
            # data: compute them together once ((q + 1) numbers per pixel,
            # kept where the scheduler keeps data), not once per file.
            import dask

            arrays = dask.persist(*(parts[part].data for part in lazy))
            for part, data in zip(lazy, arrays):
                parts[part] = parts[part]._deepcopy_with_new_data(data)
        for part, p in paths.items():
            parts[part].save(p, overwrite=overwrite, **kwargs)
        return paths

    @classmethod
    def load(cls, path, lazy=False):
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
        A = self.abundances.data
        if hasattr(A, "compute"):
            A = A.compute()
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

    # -- sliding-FFT stacks: phases on the image ------------------------------
    def abundances_on_image(self, image, *, order=1):
        """Abundance maps interpolated from window centres onto image pixels.

        For the unmixing of a :func:`hyperspy_unmix.sliding_fft` stack (the
        abundances' signal axes are the window centres); delegates to
        :func:`hyperspy_unmix.windowing.phase_maps`.

        Parameters
        ----------
        image : hyperspy.signal.BaseSignal
            The image (or image stack) the stack was made from; only its axes
            are used.
        order : {0, 1, 3}
            Interpolation order (nearest, bilinear, cubic); bilinear keeps
            fully constrained abundances non-negative and summing to one.

        Returns
        -------
        hyperspy.signals.Signal2D
            Data shape ``(n_endmembers, *image_navigation_shape, height,
            width)``, the image's signal axes.
        """
        from hyperspy_unmix.windowing import phase_maps

        return phase_maps(self, image, order=order)

    def plot_phases(self, image, **kwargs):
        """The image with its phases overlaid, beside the phases' FFT patterns.

        For the unmixing of a :func:`hyperspy_unmix.sliding_fft` stack;
        delegates to :func:`hyperspy_unmix.windowing.plot_phases`.

        Parameters
        ----------
        image : hyperspy.signal.BaseSignal
            The single image the stack was made from.
        **kwargs
            ``alpha``, ``cmap``, ``figsize``: see
            :func:`hyperspy_unmix.windowing.plot_phases`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from hyperspy_unmix.windowing import plot_phases

        return plot_phases(self, image, **kwargs)

    # -- plotting -------------------------------------------------------------
    def plot(self, max_columns=4):
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
        A = self.abundances.data
        if hasattr(A, "compute"):
            A = A.compute()
        E = self.endmembers.data
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


def _label(axis):
    units = axis.units if isinstance(axis.units, str) else ""
    name = axis.name if isinstance(axis.name, str) else ""
    return f"{name} ({units})" if units else name


def _plot_array(ax, data, axes, vmin=None):
    """A line (1-D) or an image (2-D) on calibrated axes; None for a line."""
    if data.ndim == 1:
        ax.plot(axes[0].axis, data)
        ax.set_xlabel(_label(axes[0]))
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
        ax.set_xlabel(_label(axes[0]))
        ax.set_ylabel(_label(axes[1]))
        return im
    ax.text(0.5, 0.5, f"{data.ndim}-D", ha="center", transform=ax.transAxes)
    return None
