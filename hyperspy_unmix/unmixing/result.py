"""``UnmixingResult``: endmembers, abundances and residual of an unmixing."""

from __future__ import annotations

import copy
import os
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._result_io import (
    atomic_save,
    check_overwrite,
    may_write,
    result_path,
)
from hyperspy_unmix._signal_io import (
    aligned_data,
    axis_label,
    computed,
    copy_axis,
    index_axis,
    is_lazy,
    make_signal,
    provenance,
    result_metadata,
    title_of,
    with_data,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hyperspy.signal import BaseSignal

INDEX_AXIS = "Endmember index"
ABUNDANCE_QUANTITY = "Abundance"

_PARTS = ("endmembers", "abundances", "residual")
_RESULT_NODE = "hyperspy_unmix.result"
# What the one-file layout (0.2) writes in the file signal's metadata.
_LAYOUT = "UnmixingResult"
_LAYOUT_VERSION = 2
# Optional signals set on a result after it is built (e.g. by nfindr_unmix),
# saved when present.
_OPTIONAL_SIGNALS = ("outliers",)


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
        a Signal2D for a 2-D map), ``metadata.Signal.quantity`` "Abundance".
        Lazy when computed lazily.
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
    endmember_names : list of str
        One name per endmember, "Endmember 0", ... by default; set it (e.g.
        ``res.endmember_names = ["Fe", "Ni", "oxide"]``) and plots, legends,
        model components and saved files use it.
    outliers : hyperspy.signal.BaseSignal or None
        Pixels set aside by the outlier screening, when it ran.
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
        *,
        endmember_names: Sequence[str] | None = None,
    ) -> None:
        self.endmembers = endmembers
        self.abundances = abundances
        self.residual = residual
        self.indices = np.asarray(indices, dtype=np.int64)
        self.volume = float(volume)
        self.n_iter = int(n_iter)
        self.explained_variance = np.asarray(explained_variance, dtype=np.float64)
        self.outliers = None
        self.n_endmembers_estimate = None
        # The analysed signal, if the caller still holds it: plot() shows its
        # pixels without this result keeping the data alive.
        self._source = None
        # Kept in metadata too, so a saved endmembers file says everything.
        md = endmembers.metadata
        md.set_item(f"{_RESULT_NODE}.indices", self.indices)
        md.set_item(f"{_RESULT_NODE}.volume", self.volume)
        md.set_item(f"{_RESULT_NODE}.n_iter", self.n_iter)
        md.set_item(f"{_RESULT_NODE}.explained_variance", self.explained_variance)
        if endmember_names is None:
            stored = md.get_item(f"{_RESULT_NODE}.endmember_names")
            if stored is not None and len(stored) == self.n_endmembers:
                endmember_names = [str(n) for n in stored]
            else:
                endmember_names = [f"Endmember {k}" for k in range(self.n_endmembers)]
        self.endmember_names = endmember_names

    @property
    def n_endmembers(self) -> int:
        return self.indices.shape[0]

    @property
    def endmember_names(self) -> list[str]:
        """Names of the endmembers, in order (a copy: assign a new list)."""
        return list(self._names)

    @endmember_names.setter
    def endmember_names(self, names: Sequence[str]) -> None:
        if isinstance(names, str) or not hasattr(names, "__len__"):
            raise TypeError(
                "`endmember_names` must be a list of str, one per endmember, got "
                f"{names!r}"
            )
        names = list(names)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"`endmember_names` must hold str only, got {names!r}")
        if len(names) != self.n_endmembers:
            raise ValueError(
                f"`endmember_names` needs {self.n_endmembers} names (one per "
                f"endmember), got {len(names)}"
            )
        self._names = names
        self.endmembers.metadata.set_item(f"{_RESULT_NODE}.endmember_names", names)

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
        """The three files of the 0.1 layout for ``path``."""
        path = Path(path)
        ext = path.suffix if path.suffix in (".hspy", ".zspy") else ".hspy"
        stem = path.with_suffix("") if path.suffix in (".hspy", ".zspy") else path
        return {part: stem.parent / f"{stem.name}_{part}{ext}" for part in _PARTS}

    def save(
        self, path: str | os.PathLike, overwrite: bool | None = None, **kwargs
    ) -> Path | None:
        """Save as one HyperSpy file (``.hspy``, the default, or ``.zspy``).

        The file's signal is the abundance stack, so ``hs.load`` without this
        package gives the maps (a Signal2D for a 2-D map); its
        ``metadata.hyperspy_unmix.result`` holds the endmembers and the
        residual (signals), ``endmember_names``, ``indices``, ``volume``,
        ``n_iter``, ``explained_variance`` and the outlier mask when there is
        one; provenance stays in ``metadata.hyperspy_unmix``. Read it back
        whole with :meth:`load`.

        The file is written under a temporary name in the same folder and
        renamed into place when complete, so an interrupted save leaves any
        previous file as it was and no partial one. Lazy abundances and
        residual are computed together in one pass (``dask.persist``:
        ``(q + 1)`` float64 numbers per pixel held by the scheduler, never
        the data) and the abundances written chunk by chunk; this result's
        own signals stay lazy.

        Parameters
        ----------
        path : str or os.PathLike
            No extension means ``.hspy``.
        overwrite : None or bool
            As :meth:`hyperspy.signal.BaseSignal.save`: if ``path`` exists,
            None asks (y/n) in an interactive session and raises
            :class:`FileExistsError` where nobody can answer (no terminal,
            CI, tests); False raises :class:`FileExistsError`; True replaces.
        **kwargs
            Passed to :meth:`hyperspy.signal.BaseSignal.save` (e.g.
            ``chunks``, ``compression``).

        Returns
        -------
        pathlib.Path or None
            The file written; None if the user answered "n".
        """
        p = result_path(path)
        check_overwrite(overwrite)
        # Decide before computing anything lazy.
        if not may_write(p, overwrite):
            return None
        return atomic_save(self._file_signal(), p, overwrite=True, **kwargs)

    def _file_signal(self) -> BaseSignal:
        """The abundance stack carrying every other part in its metadata."""
        data = {"abundances": self.abundances.data, "residual": self.residual.data}
        lazy = [part for part, d in data.items() if is_lazy(d)]
        if lazy:
            # Lazy abundances and residual come from the same pass over the
            # data: compute them together once ((q + 1) numbers per pixel,
            # kept where the scheduler keeps data), not once per part.
            import dask

            for part, d in zip(lazy, dask.persist(*(data[p] for p in lazy))):
                data[part] = d
        s = with_data(self.abundances, data["abundances"])
        node = _RESULT_NODE
        md = s.metadata
        md.set_item(f"{node}.layout", _LAYOUT)
        md.set_item(f"{node}.layout_version", _LAYOUT_VERSION)
        md.set_item(f"{node}.n_endmembers", self.n_endmembers)
        md.set_item(f"{node}.endmember_names", self.endmember_names)
        md.set_item(f"{node}.indices", self.indices)
        md.set_item(f"{node}.volume", self.volume)
        md.set_item(f"{node}.n_iter", self.n_iter)
        md.set_item(f"{node}.explained_variance", self.explained_variance)
        # Nested signals are written in memory (small: q spectra, one map).
        md.set_item(
            f"{node}.endmembers",
            with_data(self.endmembers, computed(self.endmembers.data)),
        )
        md.set_item(
            f"{node}.residual", with_data(self.residual, computed(data["residual"]))
        )
        for name in _OPTIONAL_SIGNALS:
            extra = getattr(self, name, None)
            if extra is not None:
                md.set_item(f"{node}.{name}", with_data(extra, computed(extra.data)))
        if self.n_endmembers_estimate is not None:
            md.set_item(
                f"{node}.n_endmembers_estimate", int(self.n_endmembers_estimate)
            )
        return s

    @classmethod
    def load(cls, path: str | os.PathLike, lazy: bool = False) -> UnmixingResult:
        """Read a result written by :meth:`save` (the same ``path``).

        Also reads the three files of version 0.1 (``<stem>_endmembers``,
        ``<stem>_abundances``, ``<stem>_residual``) when ``path`` itself does
        not exist.

        Parameters
        ----------
        path : str or os.PathLike
        lazy : bool
            Load the abundances lazily (the endmembers and the residual are
            small and always read into memory).

        Raises
        ------
        FileNotFoundError
            Neither the file nor a complete set of 0.1 files exists.
        ValueError
            The file holds no unmixing result, or its parts disagree (e.g. a
            number of endmembers that differs between them).
        """
        import hyperspy.api as hs

        p = result_path(path)
        if not p.exists():
            old = cls._paths(p)
            found = [q for q in old.values() if q.exists()]
            if found and len(found) < len(old):
                missing = [str(q) for q in old.values() if not q.exists()]
                raise FileNotFoundError(
                    f"missing result file(s) of a 0.1 result: {', '.join(missing)}"
                )
            if not found:
                raise FileNotFoundError(f"missing result file: {p}")
            return cls._load_v01(old, lazy)
        s = hs.load(p, lazy=lazy)
        node = s.metadata.get_item(_RESULT_NODE)
        if node is None or node.get_item("layout") != _LAYOUT:
            if node is not None and p.stem.endswith("_endmembers"):
                # one file of a 0.1 result, named directly
                stem = p.with_name(p.stem[: -len("_endmembers")] + p.suffix)
                return cls._load_v01(cls._paths(stem), lazy)
            raise ValueError(f"`path` {str(p)!r} holds no UnmixingResult")
        parts = {}
        for name in ("endmembers", "residual", *_OPTIONAL_SIGNALS):
            nested = node.get_item(name)
            if nested is not None:
                # HyperSpy restores nested signals as BaseSignal: give them
                # back their class from their signal type and dimension.
                nested.set_signal_type(
                    nested.metadata.get_item("Signal.signal_type", "")
                )
            parts[name] = nested
        if parts["endmembers"] is None or parts["residual"] is None:
            raise ValueError(
                f"`path` {str(p)!r} is an incomplete UnmixingResult: no "
                + ("endmembers" if parts["endmembers"] is None else "residual")
            )
        names = [str(n) for n in node.get_item("endmember_names", [])]
        indices = np.asarray(node.indices)
        _check_consistent(parts["endmembers"], s, parts["residual"], indices, names, p)
        estimate = node.get_item("n_endmembers_estimate")
        # The file signal becomes the abundances: drop what it carried.
        del s.metadata.hyperspy_unmix.result
        res = cls(
            parts["endmembers"],
            s,
            parts["residual"],
            indices=indices,
            volume=node.volume,
            n_iter=node.n_iter,
            explained_variance=node.explained_variance,
            endmember_names=names,
        )
        for name in _OPTIONAL_SIGNALS:
            setattr(res, name, parts[name])
        res.n_endmembers_estimate = None if estimate is None else int(estimate)
        return res

    @classmethod
    def _load_v01(cls, paths: dict, lazy: bool) -> UnmixingResult:
        """The three-file layout written by version 0.1."""
        import hyperspy.api as hs

        parts = {part: hs.load(p, lazy=lazy) for part, p in paths.items()}
        node = parts["endmembers"].metadata.get_item(_RESULT_NODE)
        if node is None:
            raise ValueError(f"{paths['endmembers']} holds no unmixing result")
        indices = np.asarray(node.indices)
        q = len(indices)
        names = node.get_item("endmember_names", [f"Endmember {k}" for k in range(q)])
        _check_consistent(
            parts["endmembers"],
            parts["abundances"],
            parts["residual"],
            indices,
            [str(n) for n in names],
            paths["endmembers"].with_name(
                paths["endmembers"].name.replace("_endmembers", "_*")
            ),
        )
        return cls(
            parts["endmembers"],
            parts["abundances"],
            parts["residual"],
            indices=indices,
            volume=node.volume,
            n_iter=node.n_iter,
            explained_variance=node.explained_variance,
            endmember_names=[str(n) for n in names],
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
            Named by :attr:`endmember_names` ("Endmember 0", ... unless
            renamed); initial abundance = the mean abundance.
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
            c.name = self._names[k]
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
    def plot(
        self,
        signal: BaseSignal | None = None,
        *,
        static: bool = False,
        navigator="dominant",
        plot_components: bool = True,
        max_columns: int = 4,
        **kwargs,
    ):
        """Explore the result in HyperSpy: a map to click, the pixel's fit.

        The navigator is a map (by default the dominant endmember at each
        pixel); the signal pane shows the pixel's data, its reconstruction
        ``A @ E`` and, for spectra, each endmember times its abundance
        (HyperSpy's model plot of :meth:`as_components`). 2-D signals (e.g.
        sliding-FFT patterns) show the data and the reconstruction side by
        side (:func:`hyperspy.api.plot.plot_signals`). The reconstruction is
        computed pixel by pixel as the cursor moves (dask), never whole.

        Parameters
        ----------
        signal : hyperspy.signal.BaseSignal, optional
            The analysed signal (same navigation and signal shapes). Default:
            the signal this result was computed from, while it still exists;
            else (e.g. a loaded result) the reconstruction alone is shown.
        static : bool
            Draw the matplotlib summary figure instead (endmembers above
            their abundance maps, chosen pixels marked) and return it.
        navigator : "dominant", int, "residual", signal or None
            "dominant": index of the largest abundance at each pixel; an int
            ``k``: the abundance map of endmember ``k``; "residual": the RMS
            residual map; a signal or None: passed to HyperSpy as is.
        plot_components : bool
            Spectra only: also draw each endmember scaled by its abundance.
        max_columns : int
            ``static`` only: endmembers per row.
        **kwargs
            Passed to HyperSpy's ``plot``.

        Returns
        -------
        matplotlib.figure.Figure
            With ``static=True``.
        hyperspy.models.model1d.Model1D
            For spectra: the model whose plot is shown (components named by
            :attr:`endmember_names`).
        list of hyperspy.signal.BaseSignal
            For 2-D signals: the signals shown (data if known, reconstruction).
        """
        import hyperspy.api as hs

        if not isinstance(static, bool):
            raise TypeError(f"`static` must be True or False, got {static!r}")
        if static:
            return self._static_figure(max_columns)
        data = self._data_signal(signal)
        nav = self._navigator(navigator)
        fit = self._reconstruction()
        if self.endmembers.axes_manager.signal_dimension == 1:
            m = (fit if data is None else data).create_model()
            self.as_components(m)
            m.plot(plot_components=plot_components, navigator=nav, **kwargs)
            return m
        shown = [fit] if data is None else [data, fit]
        hs.plot.plot_signals(shown, navigator=nav, **kwargs)
        return shown

    def _data_signal(self, signal):
        """A plain view of the analysed data, shaped like the result, or None."""
        from hyperspy.signal import BaseSignal

        if signal is None:
            signal = self._source() if self._source is not None else None
            if signal is None:
                return None
        if not isinstance(signal, BaseSignal):
            raise TypeError(
                f"`signal` must be a HyperSpy signal, got {type(signal).__name__}"
            )
        arr, nav_shape, sig_shape = aligned_data(signal)
        want_nav = tuple(self.abundances.axes_manager.signal_shape[::-1])
        want_sig = tuple(self.endmembers.axes_manager.signal_shape[::-1])
        if (nav_shape, sig_shape) != (want_nav, want_sig):
            raise ValueError(
                f"`signal` must have navigation shape {want_nav[::-1]} and signal "
                f"shape {want_sig[::-1]} (this result's), got "
                f"{nav_shape[::-1]} and {sig_shape[::-1]}"
            )
        am = signal.axes_manager
        axes = [copy_axis(ax, True) for ax in am.navigation_axes[::-1]] + [
            copy_axis(ax, False) for ax in am.signal_axes[::-1]
        ]
        # signal type "": a plain Signal1D, whose create_model adds nothing
        # of its own (an EELS model would add a background and edges).
        return make_signal(arr, axes, signal.metadata.deepcopy().as_dictionary(), "")

    def _reconstruction(self) -> BaseSignal:
        """``A @ E`` as a lazy signal (one small block per cursor move)."""
        import dask.array as da

        A = self.abundances.data
        if not is_lazy(A):
            chunks = (A.shape[0],) + tuple(min(n, 64) for n in A.shape[1:])
            A = da.from_array(np.asarray(A), chunks=chunks)
        E = computed(self.endmembers.data)
        fit = da.tensordot(A, E, axes=(0, 0))
        axes = [
            copy_axis(ax, True) for ax in self.abundances.axes_manager.signal_axes[::-1]
        ] + [
            copy_axis(ax, False)
            for ax in self.endmembers.axes_manager.signal_axes[::-1]
        ]
        md = self.endmembers.metadata.deepcopy()
        md.General.title = "Reconstruction " + _of(self.endmembers, "Endmembers of ")
        return make_signal(fit, axes, md.as_dictionary(), "")

    def _navigator(self, navigator):
        """The navigator signal for :meth:`plot`."""
        from hyperspy.signal import BaseSignal

        if navigator is None or isinstance(navigator, BaseSignal):
            return navigator
        axes = [copy_axis(ax, False) for ax in self.abundances.axes_manager.signal_axes]
        axes = axes[::-1]
        md = {"General": {}, "Signal": {}}
        if isinstance(navigator, str) and navigator == "dominant":
            A = computed(self.abundances.data)
            valid = ~np.all(np.isnan(A), axis=0)
            arg = np.argmax(np.where(np.isnan(A), -np.inf, A), axis=0)
            data = np.where(valid, arg, np.nan)
            md["General"]["title"] = "Dominant endmember"
            md["Signal"]["quantity"] = "Endmember index"
        elif isinstance(navigator, str) and navigator == "residual":
            return self.residual
        elif isinstance(navigator, (int, np.integer)) and not isinstance(
            navigator, bool
        ):
            if not 0 <= navigator < self.n_endmembers:
                raise ValueError(
                    f"`navigator` must be an endmember index in [0, "
                    f"{self.n_endmembers - 1}], got {navigator}"
                )
            data = computed(self.abundances.data[int(navigator)])
            md["General"]["title"] = f"Abundance of {self._names[int(navigator)]}"
            md["Signal"]["quantity"] = ABUNDANCE_QUANTITY
        else:
            raise ValueError(
                '`navigator` must be "dominant", "residual", an endmember index, '
                f"a signal or None, got {navigator!r}"
            )
        return make_signal(data, axes, md, "")

    def plot_abundances(self, **kwargs):
        """The abundance maps titled by :attr:`endmember_names`.

        :func:`hyperspy.api.plot.plot_images` (maps) or
        :func:`~hyperspy.api.plot.plot_spectra` (line scans) with short
        labels; ``kwargs`` are passed on (e.g. ``cmap``, ``per_row``).
        """
        import hyperspy.api as hs

        maps = self._split(self.abundances)
        if self.abundances.axes_manager.signal_dimension == 2:
            opts = {
                "label": self.endmember_names,
                "colorbar": "multi",
                "axes_decor": "off",
            }
            opts.update(kwargs)
            return hs.plot.plot_images(maps, **opts)
        return hs.plot.plot_spectra(maps, **{"legend": self.endmember_names, **kwargs})

    def plot_endmembers(self, **kwargs):
        """The endmembers with :attr:`endmember_names` as legend or labels.

        :func:`hyperspy.api.plot.plot_spectra` (spectra) or
        :func:`~hyperspy.api.plot.plot_images` (patterns); ``kwargs`` are
        passed on.
        """
        import hyperspy.api as hs

        parts = self._split(self.endmembers)
        if self.endmembers.axes_manager.signal_dimension == 1:
            return hs.plot.plot_spectra(
                parts, **{"legend": self.endmember_names, **kwargs}
            )
        return hs.plot.plot_images(parts, **{"label": self.endmember_names, **kwargs})

    def _split(self, stack):
        """One signal per endmember, titled by its name."""
        out = []
        for k, name in enumerate(self._names):
            s = stack.inav[k]
            s.metadata.General.title = name
            out.append(s)
        return out

    def _static_figure(self, max_columns: int = 4):
        """Endmembers above their abundance maps, chosen pixels marked."""
        import matplotlib.pyplot as plt

        from hyperspy_unmix._validation import check_int

        max_columns = check_int(max_columns, "max_columns", minimum=1)
        q = self.n_endmembers
        ncol = min(q, max_columns)
        nblocks = int(np.ceil(q / ncol))
        fig, axs = plt.subplots(
            2 * nblocks, ncol, figsize=(3.0 * ncol, 5.2 * nblocks), squeeze=False
        )
        A = computed(self.abundances.data)
        E = computed(self.endmembers.data)
        quantity = self.endmembers.metadata.get_item("Signal.quantity", "Intensity")
        for k in range(nblocks * ncol):
            ax_e = axs[2 * (k // ncol), k % ncol]
            ax_a = axs[2 * (k // ncol) + 1, k % ncol]
            if k >= q:
                ax_e.axis("off")
                ax_a.axis("off")
                continue
            im_e = _plot_array(ax_e, E[k], self.endmembers.axes_manager.signal_axes)
            if im_e is None and k % ncol == 0:
                ax_e.set_ylabel(quantity)
            ax_e.set_title(_short(self._names[k]))
            im = _plot_array(
                ax_a,
                A[k],
                self.abundances.axes_manager.signal_axes,
                vmin=0 if np.nanmin(A) >= 0 else None,
            )
            if im is not None:
                cbar = fig.colorbar(im, ax=ax_a, shrink=0.8)
                cbar.set_label(ABUNDANCE_QUANTITY)
            elif k % ncol == 0:
                ax_a.set_ylabel(ABUNDANCE_QUANTITY)
            self._mark(ax_a, k)
            ax_a.set_title(_short(f"Abundance of {self._names[k]}"))
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


def _short(text: str, width: int = 28) -> str:
    """``text`` cut to ``width`` characters (panel titles must not overflow)."""
    return text if len(text) <= width else text[: width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _of(signal, prefix: str) -> str:
    """``"of <input title>"`` from a result title such as "Endmembers of X"."""
    title = title_of(signal)
    return "of " + title[len(prefix) :] if title.startswith(prefix) else ""


def _check_consistent(endmembers, abundances, residual, indices, names, source):
    """Every part of a loaded result describes the same endmembers and pixels."""
    counts = {
        "endmember spectra": (
            endmembers.axes_manager.navigation_size
            if endmembers.axes_manager.navigation_dimension == 1
            else None
        ),
        "abundance maps": (
            abundances.axes_manager.navigation_size
            if abundances.axes_manager.navigation_dimension == 1
            else None
        ),
        "chosen pixels": len(indices),
        "endmember names": len(names),
    }
    if len(set(counts.values())) != 1:
        found = ", ".join(f"{v} {k}" for k, v in counts.items())
        raise ValueError(
            f"{source} is inconsistent: its parts disagree on the number of "
            f"endmembers ({found})"
        )
    a_shape = tuple(abundances.axes_manager.signal_shape)
    r_shape = tuple(residual.axes_manager.signal_shape)
    if a_shape != r_shape:
        raise ValueError(
            f"{source} is inconsistent: abundance maps of shape {a_shape} but a "
            f"residual map of shape {r_shape}"
        )


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


def _residual_quantity(signal) -> str:
    """ "RMS residual (counts)" from the input's "Intensity (counts)"."""
    quantity = signal.metadata.get_item("Signal.quantity", "")
    units = ""
    if isinstance(quantity, str) and quantity.endswith(")") and "(" in quantity:
        units = quantity[quantity.rindex("(") :]
    return f"RMS residual {units}".strip()


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

    # the input's metadata copied once, then as plain dictionaries, each with
    # the provenance merged in before the signal is made (HyperSpy's tree
    # operations are most of the cost of building a small result)
    base = result_metadata(signal, "")
    prov = provenance("nfindr_unmix", parameters)

    def metadata(what, quantity=None):
        d = result_metadata(signal, f"{what} of {title}", base)
        d.setdefault("hyperspy_unmix", {}).update(copy.deepcopy(prov))
        if quantity is not None:
            d.setdefault("Signal", {})["quantity"] = quantity
        return d

    e = make_signal(
        endmembers,
        [index_axis(q, INDEX_AXIS), *sig_axes],
        metadata("Endmembers"),
        signal_type,
    )
    # Fractions, not the input's "Intensity (counts)".
    a = make_signal(
        abundances,
        [index_axis(q, INDEX_AXIS), *nav_axes],
        metadata("Abundances", ABUNDANCE_QUANTITY),
        "",
    )
    r = make_signal(
        residual, nav_axes, metadata("Residual", _residual_quantity(signal)), ""
    )
    result = UnmixingResult(
        endmembers=e,
        abundances=a,
        residual=r,
        indices=indices,
        volume=volume,
        n_iter=n_iter,
        explained_variance=explained_variance,
    )
    result._source = weakref.ref(signal)
    return result
