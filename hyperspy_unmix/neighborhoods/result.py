"""``NeighborhoodPCAResult``: per-atom descriptors, scores and components."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hyperspy_unmix._signal_io import add_provenance, axis_dict, title_of, with_data
from hyperspy_unmix._validation import check_choice, check_int

if TYPE_CHECKING:
    from hyperspy.signal import BaseSignal

_STORE = "hyperspy_unmix_neighborhood_pca"


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
    def score_map(self, component: int = 0, method: str = "linear") -> BaseSignal:
        """Scores of one component interpolated on the image grid.

        Parameters
        ----------
        component : int
        method : {"linear", "nearest", "cubic"}
            :func:`scipy.interpolate.griddata` method over the included
            atoms; pixels outside their convex hull are NaN (except
            "nearest").

        Returns
        -------
        hyperspy.api.signals.Signal2D
            Same shape and axes as the image.
        """
        import hyperspy.api as hs
        from scipy.interpolate import griddata

        component = self._check_component(component)
        check_choice(method, "method", ("linear", "nearest", "cubic"))
        ny, nx = self.image.axes_manager.signal_shape[::-1]
        yy, xx = np.mgrid[:ny, :nx]
        inc = self.included
        values = griddata(
            self.positions[inc],
            self.scores[inc, component],
            (xx, yy),
            method=method,
        )
        axes = [axis_dict(ax) for ax in self.image.axes_manager.signal_axes[::-1]]
        s = hs.signals.Signal2D(values, axes=axes)
        s.metadata.General.title = (
            f"Neighbourhood PCA score {component} of {title_of(self.image)}"
        )
        add_provenance(
            s,
            "NeighborhoodPCAResult.score_map",
            {"component": component, "method": method, **self.parameters},
        )
        return s

    # -------------------------------------------------------------- plotting
    def plot(self, component=0, *, cmap="coolwarm", marker_size=0.5, arrows=True):
        """Image with the atoms coloured by score, and the component as arrows.

        Parameters
        ----------
        component : int
        cmap : str
            Matplotlib colour map (diverging: scores are centred on 0).
        marker_size : float
            Marker size as a fraction of the nearest-neighbour distance.
        arrows : bool
            Also draw the component as displacement arrows on the reference
            neighbourhood (second figure).

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
        values = self.scores[inc, component]
        lim = float(np.nanmax(np.abs(values))) if values.size else 1.0
        lim = lim if lim > 0 else 1.0
        # plot a lightweight view so no plot or marker is attached to the
        # user's signal
        view = with_data(self.image, self.image.data)
        view.plot(colorbar=False)
        scale_x = self.image.axes_manager.signal_axes[0].scale
        marker = hs.plot.markers.Points(
            offsets=self.positions_calibrated[inc],
            sizes=marker_size * self.nn_distance * abs(scale_x),
            units="x",
            ScalarMappable_array=values,
            cmap=cmap,
            norm=Normalize(-lim, lim),
        )
        view.add_marker(marker)
        cbar = marker.plot_colorbar()
        cbar.set_label(f"score of component {component}")
        image_figure = cbar.ax.figure
        arrows_figure = self.plot_component(component) if arrows else None
        return image_figure, arrows_figure

    def plot_component(self, component=0, ax=None):
        """One component as displacement arrows on the reference neighbourhood.

        Arrows show how each neighbour moves for a score of +2 standard
        deviations of that component's scores (scaled up when tiny).

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
        ref = self.reference_neighborhood
        disp = (
            self.component_displacements[component]
            * 2
            * np.nanstd(self.scores[self.included, component])
        )
        longest = float(np.abs(disp).max()) if disp.size else 0.0
        gain = 1.0
        if 0 < longest < 0.15 * self.nn_distance:
            gain = 0.15 * self.nn_distance / longest
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
        ax.set_xlabel("dx (px)")
        ax.set_ylabel("dy (px)")
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
    def save(self, filename, overwrite: bool | None = None) -> None:
        """Save to one HyperSpy file (``.hspy`` or ``.zspy``).

        The descriptor signal (with its decomposition) is the file's signal;
        the image, the components and every per-atom array are stored in its
        metadata. Reload with :meth:`load`.
        """
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
        s.save(filename, overwrite=overwrite)

    @classmethod
    def load(cls, filename) -> NeighborhoodPCAResult:
        """Load a result written by :meth:`save`."""
        import hyperspy.api as hs

        s = hs.load(filename)
        if not s.metadata.has_item(_STORE):
            raise ValueError(
                f"`filename` {filename!r} does not hold a NeighborhoodPCAResult"
            )
        node = s.metadata.get_item(_STORE)
        arrays = {name: np.asarray(node.get_item(name)) for name in cls._ARRAYS}
        params = node.parameters.as_dictionary()
        params = {k: (None if v == "None" else v) for k, v in params.items()}
        image = node.image
        components = node.components
        nn = float(node.nn_distance)
        delattr(s.metadata, _STORE)
        return cls(
            image=image,
            descriptor_signal=s,
            components=components,
            nn_distance=nn,
            parameters=params,
            **arrays,
        )
