"""Loaders of the two real datasets shipped with the package.

Both come from the pycroscopy project's ``sample_data`` folder (MIT licence,
notice in ``files/LICENSE-pycroscopy-sample-data.txt`` beside them). They
have no ground truth: they show that the analyses behave sensibly on real
measurements.
"""

from importlib.resources import as_file, files

import numpy as np

from hyperspy_unmix._validation import check_choice

_LICENCE = (
    "pycroscopy sample data (https://github.com/pycroscopy/pycroscopy, "
    "sample_data/), MIT licence, Copyright (c) 2016 Suhas Somnath, Christopher "
    "R. Smith, Stephen Jesse and Nouamane Laanait; notice shipped in "
    "hyperspy_unmix/data/files/LICENSE-pycroscopy-sample-data.txt"
)
_BFO_GROUP = "Measurement_000/Channel_000/IV_BFO"


def _data_file(name):
    return files("hyperspy_unmix.data") / "files" / name


def _plain_attrs(attrs):
    """HDF5 attributes as plain strings and numbers (references dropped)."""
    out = {}
    for key, value in attrs.items():
        if key in ("DIMENSION_LIST", "REFERENCE_LIST"):
            continue  # HDF5 object references: meaningless outside the file
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, np.ndarray):
            value = [v.decode() if isinstance(v, bytes) else str(v) for v in value]
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def bfo_conduction_map(*, field_axis="sqrt_field"):
    """BiFeO3 conduction spectroscopy map: log J against sqrt(E) at 50 x 50 pixels.

    A current-voltage map of a BiFeO3 film measured at ORNL, stored as
    pyNSID HDF5 (dataset ``Measurement_000/Channel_000/IV_BFO/IV_BFO``): the
    logarithm of the current density J (A/m^2) against the square root of the
    electric field, the axes of a Poole-Frenkel / Schottky analysis. Domain
    walls conduct differently from the domains, so the map unmixes into a few
    conduction behaviours. No ground truth.

    The file labels its array dimensions ``(x, y, sqrt E)``; HyperSpy's x is
    the second array axis, so the array is transposed to ``(y, x, sqrt E)`` to
    keep the file's labels. The spatial calibration stored in the file (50
    points from 0 to 5 nm, 0.102 nm per pixel) is used as it is.

    Parameters
    ----------
    field_axis : {"sqrt_field", "field"}
        Signal axis. ``"sqrt_field"`` (default): the stored sqrt(E) values
        ((V/m)^0.5), a non-uniform axis (its steps shrink from 57 to 44).
        ``"field"``: the electric field E = (sqrt E)^2 in V/m, which was swept
        in equal steps (984 249 V/m; the stored values deviate from the
        uniform axis by at most 405 V/m, 0.04 % of a step), as a uniform axis,
        for methods that need uniform axes.

    Returns
    -------
    hyperspy_unmix.signals.SpectralMap
        float64 data of shape (50, 50, 53); navigation axes x, y in nm;
        ``metadata.Signal.quantity`` "log J"; the HDF5 attributes in
        ``original_metadata``.
    """
    import h5py

    from hyperspy_unmix.signals import SpectralMap

    check_choice(field_axis, "field_axis", ("sqrt_field", "field"))
    with as_file(_data_file("bfo_iv_final.hf5")) as path, h5py.File(path, "r") as f:
        group = f[_BFO_GROUP]
        dset = group["IV_BFO"]
        labels = [str(v) for v in dset.attrs["DIMENSION_LABELS"]]
        data = np.ascontiguousarray(np.transpose(dset[...], (1, 0, 2)))
        x, y = group["x"][...], group["y"][...]
        sqrt_e = group[labels[2]][...]
        original = {
            "dataset": _plain_attrs(dset.attrs),
            "group": _plain_attrs(group.attrs),
            "dimensions": {name: _plain_attrs(group[name].attrs) for name in labels},
        }
        x_units = group["x"].attrs["units"]
        y_units = group["y"].attrs["units"]
    if (labels[0], labels[1], x_units, y_units) != ("x", "y", "m", "m"):
        raise RuntimeError(f"unexpected layout of the BiFeO3 file: {labels}")

    def spatial(name, values):
        step = np.diff(values)
        if not np.allclose(step, step[0], rtol=1e-6):
            raise RuntimeError(f"axis {name} of the BiFeO3 file is not uniform")
        return {"name": name, "units": "nm", "scale": float(step[0] * 1e9),
                "offset": float(values[0] * 1e9), "size": len(values),
                "navigate": True}  # fmt: skip

    if field_axis == "sqrt_field":
        signal_axis = {"name": "sqrt(E)", "units": "(V/m)^0.5", "axis": sqrt_e,
                       "navigate": False}  # fmt: skip
    else:
        field = sqrt_e**2
        index = np.arange(len(field))
        scale, offset = np.polyfit(index, field, 1)
        signal_axis = {"name": "E", "units": "V/m", "scale": float(scale),
                       "offset": float(offset), "size": len(field),
                       "navigate": False}  # fmt: skip
    axes = [spatial("y", y), spatial("x", x), signal_axis]
    signal = SpectralMap(data, axes=axes)
    md = signal.metadata
    md.General.title = "BiFeO3 conduction map"
    md.General.original_filename = "bfo_iv_final.hf5"
    md.General.notes = (
        "log J (J: current density, A/m^2) against the square root of the "
        f"electric field, ORNL. Source: {_LICENCE}."
    )
    md.Signal.quantity = "log J"
    md.set_item("hyperspy_unmix.source", _LICENCE)
    signal.original_metadata.add_dictionary(original)
    return signal


def _invert_colormap(rgb, name):
    """Grey levels in [0, 1] of a false-colour image rendered with colormap ``name``.

    Every distinct colour is matched to the nearest of 4096 colours of the
    colormap; returns the grey image and the RMS colour distance (0-255
    units) of the match, which says whether the colormap is the right one.
    """
    import matplotlib
    from scipy.spatial import cKDTree

    shape = rgb.shape[:2]
    lut = matplotlib.colormaps[name](np.linspace(0.0, 1.0, 4096))[:, :3] * 255.0
    # one integer per colour: np.unique on 1-D ints is much faster than on rows
    rgb = rgb.reshape(-1, 3).astype(np.int64)
    codes, inverse = np.unique(
        (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2], return_inverse=True
    )
    colours = np.stack([codes >> 16, (codes >> 8) & 255, codes & 255], axis=1)
    dist, index = cKDTree(lut).query(colours.astype(float))
    grey = (index / (len(lut) - 1))[inverse.ravel()].reshape(shape)
    counts = np.bincount(inverse.ravel(), minlength=len(colours))
    rms = float(np.sqrt(np.sum(dist**2 * counts) / counts.sum()))
    return grey, rms


def mores2_image(*, grey="colormap"):
    """Atomic-resolution image of a Mo(1-x)Re(x)S2 monolayer (about 48 % Re).

    The alloy of the MoS2-ReS2 local-crystallography study: bright Re and
    Mo columns on a hexagonal lattice, 687 x 772 pixels. The file is an RGB
    false-colour rendering of the grey image with matplotlib's "hot" colormap
    (the colours match "hot" to an RMS of 3 levels out of 255; "afmhot",
    "gist_heat" and "inferno" miss by 26-92), so by default the colormap is
    inverted to recover the grey levels, which are linear in the rendered
    intensity. No pixel calibration is stored (and none is documented), so the
    axes are in pixels.

    Parameters
    ----------
    grey : {"colormap", "luma"}
        ``"colormap"`` (default): invert the "hot" colormap (grey in [0, 1]).
        ``"luma"``: ITU-R 601 luma ``0.299 R + 0.587 G + 0.114 B`` scaled to
        [0, 1], a monotonic but non-linear function of the intensity.

    Returns
    -------
    hyperspy_unmix.signals.AtomicResolutionImage
        float32 image of shape (687, 772), axes x, y in px (scale 1).
    """
    from PIL import Image

    from hyperspy_unmix.signals import AtomicResolutionImage

    check_choice(grey, "grey", ("colormap", "luma"))
    with as_file(_data_file("re48.tiff")) as path, Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    if grey == "colormap":
        image, rms = _invert_colormap(rgb, "hot")
        how = f"'hot' colormap inverted (RMS colour mismatch {rms:.1f}/255)"
    else:
        image = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114]) / 255.0
        how = "ITU-R 601 luma of the RGB rendering"
    ny, nx = image.shape
    axes = [
        {"name": "y", "units": "px", "scale": 1.0, "offset": 0.0, "size": ny,
         "navigate": False},
        {"name": "x", "units": "px", "scale": 1.0, "offset": 0.0, "size": nx,
         "navigate": False},
    ]  # fmt: skip
    signal = AtomicResolutionImage(image.astype(np.float32), axes=axes)
    md = signal.metadata
    md.General.title = "MoReS2 monolayer (48 % Re)"
    md.General.original_filename = "re48.tiff"
    md.General.notes = (
        "Atomic-resolution image of a Mo(1-x)Re(x)S2 monolayer, x about 0.48; "
        f"grey levels: {how}; no pixel calibration stored. Source: {_LICENCE}."
    )
    md.Signal.quantity = "Intensity (a.u.)"
    md.set_item("hyperspy_unmix.source", _LICENCE)
    md.set_item("hyperspy_unmix.grey_conversion", how)
    return signal
