"""``NeighborhoodPCAResult``: per-atom descriptors, scores and components."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._result_io import (
    atomic_save,
    check_overwrite,
    load_file,
    may_write,
    result_path,
)
from hyperspy_unmix._signal_io import add_provenance, axis_dict, title_of
from hyperspy_unmix._validation import check_choice, check_int

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

_STORE = "hyperspy_unmix_neighborhood_pca"
_DESCRIPTOR_AXIS = "Descriptor index"


class NeighborhoodPCAResult:
    """Result of :func:`neighborhood_pca`.

    Per-atom arrays have one row per atom found or given, in that order;
    rows of excluded atoms (``included`` False) are NaN.

    Attributes
    ----------
    image : hyperspy.api.signals.Signal2D
        The analysed image (not modified).
    positions : ndarray of shape (N, 2)
        x, y in pixels.
    included : ndarray of shape (N,), bool
        Atoms with a complete neighbourhood, used in the decomposition.
    excluded_edge, excluded_incomplete : ndarray of shape (N,), bool
        Why atoms were left out (an atom can be both): too close to the
        image border; vacancy-like (J-th neighbour too far), not surrounded,
        or irregular neighbourhood.
    sublattice : ndarray of shape (N,), int
        Sublattice index of each atom (for Atom_Lattice input; else 0).
    neighbor_indices : ndarray of shape (N, J), int
        Row indices of each atom's neighbours, in canonical order.
    neighbor_descriptors : ndarray of shape (N, J, 2)
        ``[..., 0]`` distance to each neighbour (in nearest-neighbour
        distances when ``normalize``, else pixels), ``[..., 1]`` bond-angle
        deviation from the column's mean direction (radians).
    descriptors : ndarray of shape (N, D)
        The features that were decomposed (D = J or 2J).
    descriptor_signal : hyperspy.api.signals.Signal1D
        The features of the included atoms (navigation: atoms, signal:
        descriptors), holding HyperSpy's ``learning_results``.
    scores : ndarray of shape (N, n_components)
    components : hyperspy.api.signals.Signal1D
        Shape ``(n_components | D)``: the decomposition factors.
    component_displacements : ndarray of shape (n_components, J, 2)
        Each component as dx, dy (pixels) of every neighbour per unit score.
    reference_neighborhood : ndarray of shape (J, 2)
        Mean neighbour vectors (dx, dy pixels) in canonical order.
    explained_variance_ratio : ndarray of shape (n_components,)
        Share of the total descriptor variance.
    nn_distance : float
        Median nearest-neighbour distance, pixels.
    parameters : dict
    """

    _ARRAYS = (
        "positions",
        "included",
        "excluded_edge",
        "excluded_incomplete",
        "sublattice",
        "neighbor_indices",
        "neighbor_descriptors",
        "descriptors",
        "scores",
        "component_displacements",
        "reference_neighborhood",
        "explained_variance_ratio",
    )

    def __init__(
        self,
        *,
        image,
        positions,
        included,
        excluded_edge,
        excluded_incomplete,
        sublattice,
        neighbor_indices,
        neighbor_descriptors,
        descriptors,
        descriptor_signal,
        scores,
        components,
        component_displacements,
        reference_neighborhood,
        explained_variance_ratio,
        nn_distance,
        parameters,
    ):
        self.image = image
        self.positions = np.asarray(positions, dtype=float)
        self.included = np.asarray(included, dtype=bool)
        self.excluded_edge = np.asarray(excluded_edge, dtype=bool)
        self.excluded_incomplete = np.asarray(excluded_incomplete, dtype=bool)
        self.sublattice = np.asarray(sublattice, dtype=int)
        self.neighbor_indices = np.asarray(neighbor_indices, dtype=int)
        self.neighbor_descriptors = np.asarray(neighbor_descriptors, dtype=float)
        self.descriptors = np.asarray(descriptors, dtype=float)
        self.descriptor_signal = descriptor_signal
        self.scores = np.asarray(scores, dtype=float)
        self.components = components
        self.component_displacements = np.asarray(component_displacements, float)
        self.reference_neighborhood = np.asarray(reference_neighborhood, float)
        self.explained_variance_ratio = np.asarray(explained_variance_ratio, float)
        self.nn_distance = float(nn_distance)
        self.parameters = dict(parameters)
        for sig in (descriptor_signal, components):
            _label_descriptor_axis(sig)

    # ----------------------------------------------------------------- info
    @property
    def n_components(self) -> int:
        """Number of components kept."""
        return self.scores.shape[1]

    @property
    def n_excluded(self) -> int:
        """Number of atoms left out of the decomposition."""
        return int((~self.included).sum())

    @property
    def positions_calibrated(self) -> np.ndarray:
        """x, y of every atom in the image's axis units, shape (N, 2)."""
        ax_x, ax_y = self.image.axes_manager.signal_axes
        return np.stack(
            [
                ax_x.offset + ax_x.scale * self.positions[:, 0],
                ax_y.offset + ax_y.scale * self.positions[:, 1],
            ],
            axis=1,
        )

    def __repr__(self):
        return (
            f"<NeighborhoodPCAResult: {len(self.positions)} atoms, "
            f"{int(self.included.sum())} included ({int(self.excluded_edge.sum())} "
            "excluded at the edge, "
            f"{int((self.excluded_incomplete & ~self.excluded_edge).sum())} "
            f"more with an incomplete neighbourhood), "
            f"J={self.neighbor_indices.shape[1]}, "
            f"metric={self.parameters['metric']!r}, "
            f"{self.n_components} components>"
        )

    def _check_component(self, component):
        return check_int(
            component, "component", minimum=0, maximum=self.n_components - 1
        )

    # ------------------------------------------------------------------ maps
    def score_map(
        self,
        component: int = 0,
        method: str = "linear",
        max_distance: float | None = 0.75,
    ) -> BaseSignal:
        """Scores of one component interpolated on the image grid.

        Parameters
        ----------
        component : int
        method : {"linear", "nearest", "cubic"}
            :func:`scipy.interpolate.griddata` method over the included
            atoms; pixels outside their convex hull are NaN (except
            "nearest").
        max_distance : float or None
            Pixels farther than this many nearest-neighbour distances from
            every included atom are NaN, so regions without analysed atoms
            (excluded or missing ones, the edge) show as gaps rather than as
            stripes interpolated across them. None keeps every value.

        Returns
        -------
        hyperspy.api.signals.Signal2D
            Same shape and axes as the image.
        """
        import hyperspy.api as hs
        from scipy.interpolate import griddata
        from scipy.spatial import cKDTree

        component = self._check_component(component)
        check_choice(method, "method", ("linear", "nearest", "cubic"))
        if max_distance is not None:
            if isinstance(max_distance, bool) or not isinstance(
                max_distance, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"`max_distance` must be a number or None, got {max_distance!r}"
                )
            if not np.isfinite(max_distance) or max_distance <= 0:
                raise ValueError(
                    f"`max_distance` must be > 0 (nearest-neighbour distances), "
                    f"got {max_distance}"
                )
        ny, nx = self.image.axes_manager.signal_shape[::-1]
        yy, xx = np.mgrid[:ny, :nx]
        inc = self.included
        values = griddata(
            self.positions[inc],
            self.scores[inc, component],
            (xx, yy),
            method=method,
        )
        if max_distance is not None:
            reach = float(max_distance) * self.nn_distance
            grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
            dist, _ = cKDTree(self.positions[inc]).query(
                grid, distance_upper_bound=reach
            )
            values[~np.isfinite(dist).reshape(ny, nx)] = np.nan
        axes = [axis_dict(ax) for ax in self.image.axes_manager.signal_axes[::-1]]
        s = hs.signals.Signal2D(values, axes=axes)
        s.metadata.General.title = (
            f"Neighbourhood PCA score {component} of {title_of(self.image)}"
        )
        add_provenance(
            s,
            "NeighborhoodPCAResult.score_map",
            {
                "component": component,
                "method": method,
                "max_distance": max_distance,
                **self.parameters,
            },
        )
        s.metadata.set_item("Signal.quantity", f"Score of component {component}")
        return s

    # -------------------------------------------------------------- plotting
    def plot(
        self,
        component: int = 0,
        *,
        cmap: str = "coolwarm",
        marker_size: float = 0.5,
        arrows: bool = True,
    ):
        """Image with the atoms coloured by score; navigate over components.

        HyperSpy's image plot of the image with a ``Points`` marker at every
        included atom coloured by its score, and a navigator over the
        components (the scree: explained-variance ratio against component
        index; click or use the arrow keys to change component). The colours,
        the colour bar and the arrows figure follow the component shown.

        Parameters
        ----------
        component : int
            Component shown first.
        cmap : str
            Matplotlib colour map (diverging: scores are centred on 0).
        marker_size : float
            Marker size as a fraction of the nearest-neighbour distance.
        arrows : bool
            Also draw the component as displacement arrows on the reference
            neighbourhood (second figure), redrawn when the component changes.

        Returns
        -------
        image_figure : matplotlib.figure.Figure
            HyperSpy's image plot with a ``Points`` marker coloured by score
            and a colour bar.
        arrows_figure : matplotlib.figure.Figure or None
        """
        import hyperspy.api as hs
        from matplotlib.colors import Normalize

        component = self._check_component(component)
        inc = self.included
        n = self.n_components
        # The image repeated over a "Component index" axis without a copy
        # (a read-only broadcast view): HyperSpy then gives the navigation.
        img = np.asarray(self.image.data)
        axes = [
            {
                "name": "Component index",
                "units": "",
                "scale": 1.0,
                "offset": 0.0,
                "size": n,
                "navigate": True,
            },
            *[
                axis_dict(ax, navigate=False)
                for ax in self.image.axes_manager.signal_axes[::-1]
            ],
        ]
        view = hs.signals.Signal2D(np.broadcast_to(img, (n, *img.shape)), axes=axes)
        view.metadata.General.title = f"Neighbourhood PCA of {title_of(self.image)}"
        nav = hs.signals.Signal1D(
            self.explained_variance_ratio,
            axes=[axes[0] | {"navigate": False}],
        )
        nav.metadata.General.title = "Explained variance ratio"
        nav.metadata.set_item("Signal.quantity", "Explained variance ratio")
        view.axes_manager.indices = (component,)

        def limit(k):
            values = self.scores[inc, k]
            lim = float(np.nanmax(np.abs(values))) if values.size else 1.0
            return lim if lim > 0 else 1.0

        view.plot(colorbar=False, navigator=nav)
        scale_x = self.image.axes_manager.signal_axes[0].scale
        lim = limit(component)
        marker = hs.plot.markers.Points(
            offsets=self.positions_calibrated[inc],
            sizes=marker_size * self.nn_distance * abs(scale_x),
            units="x",
            ScalarMappable_array=self.scores[inc, component],
            cmap=cmap,
            norm=Normalize(-lim, lim),
        )
        view.add_marker(marker)
        cbar = marker.plot_colorbar()
        cbar.set_label(f"score of component {component}")
        image_figure = cbar.ax.figure
        arrows_figure = self.plot_component(component) if arrows else None

        def follow():
            k = int(view.axes_manager.indices[0])
            marker.set_ScalarMappable_array(self.scores[inc, k])
            lim = limit(k)
            cbar.mappable.set_clim(-lim, lim)
            cbar.set_label(f"score of component {k}")
            if arrows_figure is not None:
                ax = arrows_figure.axes[0]
                ax.clear()
                self.plot_component(k, ax=ax)
                arrows_figure.canvas.draw_idle()
            image_figure.canvas.draw_idle()

        view.axes_manager.events.indices_changed.connect(follow, [])
        # kept so the plot (and its event connection) lives as long as needed
        self._navigation_view = view
        return image_figure, arrows_figure

    def plot_component(self, component=0, ax=None):
        """One component as displacement arrows on the reference neighbourhood.

        Arrows show how each neighbour moves for a score of +2 standard
        deviations of that component's scores (scaled up when tiny), in the
        image's calibrated units (pixels when it has none).

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib.pyplot as plt

        component = self._check_component(component)
        if ax is None:
            fig, ax = plt.subplots(figsize=(4, 4))
        else:
            fig = ax.figure
        ax_x, ax_y = self.image.axes_manager.signal_axes
        units = ax_x.units if isinstance(ax_x.units, str) else ""
        calibrated = units not in ("", "<undefined>", "px", "pixel", "pixels")
        # pixels -> calibrated lengths (same factor for positions and arrows)
        sx, sy = (ax_x.scale, ax_y.scale) if calibrated else (1.0, 1.0)
        units = units if calibrated else "px"
        ref = self.reference_neighborhood * (sx, sy)
        disp = (
            self.component_displacements[component]
            * 2
            * np.nanstd(self.scores[self.included, component])
        ) * (sx, sy)
        nn = self.nn_distance * abs(sx)
        longest = float(np.abs(disp).max()) if disp.size else 0.0
        gain = 1.0
        if 0 < longest < 0.15 * nn:
            gain = 0.15 * nn / longest
        ax.scatter([0], [0], s=120, c="k")
        ax.scatter(ref[:, 0], ref[:, 1], s=80, c="0.5")
        for k, (x, y) in enumerate(ref):
            ax.annotate(str(k), (x, y), textcoords="offset points", xytext=(6, 6))
        ax.quiver(
            ref[:, 0],
            ref[:, 1],
            gain * disp[:, 0],
            gain * disp[:, 1],
            angles="xy",
            scale_units="xy",
            scale=1,
            color="C3",
            width=0.012,
        )
        r = 1.4 * float(np.abs(ref).max())
        ax.set_xlim(-r, r)
        ax.set_ylim(r, -r)  # image convention: y down
        ax.set_aspect("equal")
        ev = self.explained_variance_ratio[component]
        ax.set_title(
            f"component {component} ({100 * ev:.1f} % var.)"
            + (f", arrows x{gain:.0f}" if gain > 1 else "")
        )
        ax.set_xlabel(f"dx ({units})")
        ax.set_ylabel(f"dy ({units})")
        fig.tight_layout()
        return fig

    def plot_scree(self, n=None):
        """Explained-variance ratio of every component (scree plot).

        Parameters
        ----------
        n : int, optional
            Number of components shown; default all the decomposition has.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        X = self.descriptor_signal.data
        total = float(np.sum((X - X.mean(axis=0)) ** 2))
        lr = self.descriptor_signal.learning_results
        ev = lr.explained_variance
        if ev is not None and len(ev) == X.shape[1]:  # all components known
            ratio = np.asarray(ev) / np.sum(ev)
        else:
            ratio = self.explained_variance_ratio
        ratio = ratio if n is None else ratio[:n]
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.plot(np.arange(len(ratio)), ratio, "o-")
        ax.set_yscale("log")
        ax.set_xlabel("component")
        ax.set_ylabel("explained variance ratio")
        ax.set_title("Neighbourhood PCA scree plot" + ("" if total > 0 else " (flat)"))
        return ax

    # ------------------------------------------------------------ save/load
    def save(self, filename, overwrite: bool | None = None, **kwargs) -> Path | None:
        """Save to one HyperSpy file (``.hspy``, the default, or ``.zspy``).

        The descriptor signal (with its decomposition) is the file's signal;
        the image, the components and every per-atom array are stored in its
        metadata (``metadata.hyperspy_unmix_neighborhood_pca``), so a plain
        HyperSpy install reads it too. Reload with :meth:`load`. Written
        under a temporary name and renamed into place, so an interrupted save
        leaves a previous file intact and no partial one.

        Parameters
        ----------
        filename : str or os.PathLike
        overwrite : None or bool
            As :meth:`hyperspy.signal.BaseSignal.save`: if the file exists,
            None asks (y/n) in an interactive session and raises
            :class:`FileExistsError` where nobody can answer; False raises
            :class:`FileExistsError`; True replaces.
        **kwargs
            Passed to :meth:`hyperspy.signal.BaseSignal.save`.

        Returns
        -------
        pathlib.Path or None
            The file written; None if the user answered "n".
        """
        p = result_path(filename, "filename")
        check_overwrite(overwrite)
        if not may_write(p, overwrite):
            return None
        s = self.descriptor_signal.deepcopy()
        # The estimator object HyperSpy keeps cannot be written to a file;
        # its name (as given by the user) can.
        s.learning_results.decomposition_algorithm = self.parameters["algorithm"]
        node = f"{_STORE}"
        for name in self._ARRAYS:
            s.metadata.set_item(f"{node}.{name}", getattr(self, name))
        s.metadata.set_item(f"{node}.nn_distance", self.nn_distance)
        s.metadata.set_item(f"{node}.image", self.image.deepcopy())
        s.metadata.set_item(f"{node}.components", self.components.deepcopy())
        for key, value in self.parameters.items():
            s.metadata.set_item(
                f"{node}.parameters.{key}", "None" if value is None else value
            )
        return atomic_save(s, p, overwrite=True, **kwargs)

    @classmethod
    def load(cls, filename) -> NeighborhoodPCAResult:
        """Load a result written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
        ValueError
            The file holds no neighbourhood PCA result, or its parts disagree
            (numbers of atoms, components or descriptors).
        """
        s = load_file(filename, name="filename")
        if not s.metadata.has_item(_STORE):
            raise ValueError(
                f"`filename` {str(filename)!r} does not hold a NeighborhoodPCAResult"
            )
        node = s.metadata.get_item(_STORE)
        missing = [
            name
            for name in (*cls._ARRAYS, "image", "components", "nn_distance")
            if not node.has_item(name)
        ]
        if missing:
            raise ValueError(
                f"`filename` {str(filename)!r} is an incomplete "
                f"NeighborhoodPCAResult: no {', '.join(missing)}"
            )
        arrays = {name: np.asarray(node.get_item(name)) for name in cls._ARRAYS}
        params = node.parameters.as_dictionary() if node.has_item("parameters") else {}
        params = {k: (None if v == "None" else v) for k, v in params.items()}
        image = node.image
        image.set_signal_type(image.metadata.get_item("Signal.signal_type", ""))
        components = node.components
        components.set_signal_type("")
        nn = float(node.nn_distance)
        delattr(s.metadata, _STORE)
        _check_consistent(arrays, s, components, image, filename)
        return cls(
            image=image,
            descriptor_signal=s,
            components=components,
            nn_distance=nn,
            parameters=params,
            **arrays,
        )


def _check_consistent(arrays, descriptor_signal, components, image, source):
    """Every part of a loaded result describes the same atoms and components."""
    n_atoms = {name: len(arrays[name]) for name in _PER_ATOM}
    if len(set(n_atoms.values())) != 1:
        found = ", ".join(f"{k}: {v}" for k, v in n_atoms.items())
        raise ValueError(
            f"{str(source)!r} is inconsistent: per-atom arrays of different "
            f"lengths ({found})"
        )
    n_inc = int(np.count_nonzero(arrays["included"]))
    n_desc = descriptor_signal.axes_manager.navigation_size
    if n_desc != n_inc:
        raise ValueError(
            f"{str(source)!r} is inconsistent: {n_inc} included atoms but "
            f"{n_desc} rows in the descriptor signal"
        )
    n_comp = {
        "score columns": arrays["scores"].shape[1]
        if arrays["scores"].ndim == 2
        else -1,
        "component signals": components.axes_manager.navigation_size,
        "explained variance ratios": len(arrays["explained_variance_ratio"]),
        "component displacements": len(arrays["component_displacements"]),
    }
    if len(set(n_comp.values())) != 1:
        found = ", ".join(f"{v} {k}" for k, v in n_comp.items())
        raise ValueError(
            f"{str(source)!r} is inconsistent: its parts disagree on the number "
            f"of components ({found})"
        )
    n_feat = {
        "descriptor columns": arrays["descriptors"].shape[1],
        "descriptor signal channels": descriptor_signal.axes_manager.signal_size,
        "component channels": components.axes_manager.signal_size,
    }
    if len(set(n_feat.values())) != 1:
        found = ", ".join(f"{v} {k}" for k, v in n_feat.items())
        raise ValueError(
            f"{str(source)!r} is inconsistent: its parts disagree on the number "
            f"of descriptors ({found})"
        )
    if image.axes_manager.signal_dimension != 2:
        raise ValueError(f"{str(source)!r} is inconsistent: its image is not 2-D")


# Arrays with one row per atom (the others are per component or per neighbour).
_PER_ATOM = (
    "positions",
    "included",
    "excluded_edge",
    "excluded_incomplete",
    "sublattice",
    "neighbor_indices",
    "neighbor_descriptors",
    "descriptors",
    "scores",
)


def _label_descriptor_axis(signal) -> None:
    """Name the descriptor axis after the descriptors it holds.

    HyperSpy axes hold numbers, not strings: the names stay in
    ``metadata.hyperspy_unmix.descriptor_names`` and the axis name says
    which index is which, e.g. "Descriptor (0-5: d0-d5, 6-11: theta0-theta5)".
    """
    if signal is None or not hasattr(signal, "axes_manager"):
        return
    names = signal.metadata.get_item("hyperspy_unmix.descriptor_names")
    axes = signal.axes_manager.signal_axes
    if names is None or len(axes) != 1 or axes[0].name != _DESCRIPTOR_AXIS:
        return
    names = [str(n) for n in names]
    if len(names) != axes[0].size:
        return
    groups = []  # runs of one kind: (first index, last index)
    start = 0
    for k in range(1, len(names) + 1):
        kind = names[start].rstrip("0123456789")
        if k == len(names) or names[k].rstrip("0123456789") != kind:
            groups.append((start, k - 1))
            start = k
    text = ", ".join(
        f"{a}: {names[a]}" if a == b else f"{a}-{b}: {names[a]}-{names[b]}"
        for a, b in groups
    )
    axes[0].name = f"Descriptor ({text})"
