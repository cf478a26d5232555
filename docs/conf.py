"""Sphinx configuration for hyperspy_unmix.

Offline by design: the build machine may have no network, so

- intersphinx reads small inventories written below from ``_INVENTORIES``
  (the objects these docs link to, at the URLs the projects publish them);
  set ``HU_DOCS_ONLINE_INVENTORIES=1`` to fetch the projects' full
  ``objects.inv`` instead;
- MathJax 3 is served from ``_static/mathjax`` (no CDN);
- the gallery runs at build time on the package's own data; its scripts are
  ``hyperspy_unmix/examples/<section>/plot_*.py``, shipped inside the package
  because ``python -m hyperspy_unmix demo`` runs the same files.
"""

import os
import tempfile
import time
import zlib
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

import hyperspy_unmix  # noqa: E402
from hyperspy_unmix.demo import SECTIONS  # noqa: E402

project = "hyperspy_unmix"
author = "hyperspy_unmix developers"
_year = time.strftime("%Y")
copyright = f"{'2026' if _year == '2026' else '2026-' + _year}, {author}"
release = hyperspy_unmix.__version__
version = release
# Placeholder: the repository's public address once it has one.
REPO_URL = "https://github.com/hyperspy-unmix/hyperspy_unmix"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
# numpydoc lists class members itself only when asked; autosummary stubs for
# every attribute would need generated pages.
numpydoc_show_class_members = False
# Link parameter types, but only the names listed here (an unknown word such
# as "optional" or "shape" must stay plain text).
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
numpydoc_xref_aliases = {
    "ndarray": "numpy.ndarray",
    "numpy.ndarray": "numpy.ndarray",
    "numpy.random.Generator": "numpy.random.Generator",
    "dask.array.Array": "dask.array.Array",
    "BaseSignal": "hyperspy.api.signals.BaseSignal",
    "hyperspy.signal.BaseSignal": "hyperspy.api.signals.BaseSignal",
    "hyperspy.api.signals.BaseSignal": "hyperspy.api.signals.BaseSignal",
    "Signal1D": "hyperspy.api.signals.Signal1D",
    "hyperspy.signals.Signal1D": "hyperspy.api.signals.Signal1D",
    "hyperspy.api.signals.Signal1D": "hyperspy.api.signals.Signal1D",
    "Signal2D": "hyperspy.api.signals.Signal2D",
    "hyperspy.signals.Signal2D": "hyperspy.api.signals.Signal2D",
    "hyperspy.api.signals.Signal2D": "hyperspy.api.signals.Signal2D",
    "UnmixingResult": "hyperspy_unmix.UnmixingResult",
    "hyperspy_unmix.UnmixingResult": "hyperspy_unmix.UnmixingResult",
    "NeighborhoodPCAResult": "hyperspy_unmix.NeighborhoodPCAResult",
    "hyperspy_unmix.NeighborhoodPCAResult": "hyperspy_unmix.NeighborhoodPCAResult",
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
exclude_patterns = ["_build"]
templates_path = []

# -- intersphinx, offline ----------------------------------------------------
# name -> (base URL, project title, {object: (domain:role, path relative to
# the base URL with "$" for the object's name[, link text])}). Only objects
# these pages and the gallery refer to; the paths follow each project's
# published layout (HyperSpy 2 documents its classes under hyperspy.api.*).
_GEN = "reference/generated/$.html#$"  # NumPy and SciPy
_ATOMAP = "api_documentation.html#$"  # Atomap
_INVENTORIES = {
    "python": (
        "https://docs.python.org/3/",
        "Python",
        {
            # numpydoc links the type words bool, None, int, ... here
            "bltin-boolean-values": (
                "std:label",
                "library/stdtypes.html#$",
                "Boolean Type - bool",
            ),
            "None": ("py:data", "library/constants.html#$"),
            "True": ("py:data", "library/constants.html#$"),
            "False": ("py:data", "library/constants.html#$"),
            "int": ("py:class", "library/functions.html#$"),
            "float": ("py:class", "library/functions.html#$"),
            "str": ("py:class", "library/stdtypes.html#$"),
            "list": ("py:class", "library/stdtypes.html#$"),
            "tuple": ("py:class", "library/stdtypes.html#$"),
            "dict": ("py:class", "library/stdtypes.html#$"),
            "callable": ("py:function", "library/functions.html#$"),
            "iterable": ("std:term", "glossary.html#term-$", "iterable"),
            "sequence": ("std:term", "glossary.html#term-$", "sequence"),
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        "NumPy",
        {
            "array_like": ("std:term", "glossary.html#term-array-like", "array_like"),
            "numpy.ndarray": ("py:class", _GEN),
            "numpy.random.RandomState": (
                "py:class",
                "reference/random/legacy.html#$",
            ),
            "numpy.hanning": ("py:function", _GEN),
            "numpy.hamming": ("py:function", _GEN),
            "numpy.blackman": ("py:function", _GEN),
            "numpy.fft.fftshift": ("py:function", _GEN),
            "numpy.random.Generator": ("py:class", "reference/random/generator.html#$"),
        },
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy/",
        "SciPy",
        {
            "scipy.signal.windows.tukey": ("py:function", _GEN),
            "scipy.interpolate.griddata": ("py:function", _GEN),
            "scipy.fft.rfft2": ("py:function", _GEN),
            "scipy.optimize.linear_sum_assignment": (
                "py:function",
                _GEN,
            ),
            "scipy.spatial.cKDTree": ("py:class", _GEN),
        },
    ),
    "sklearn": (
        "https://scikit-learn.org/stable/",
        "scikit-learn",
        {
            "sklearn.decomposition.PCA": ("py:class", "modules/generated/$.html#$"),
            "sklearn.decomposition.NMF": ("py:class", "modules/generated/$.html#$"),
        },
    ),
    "dask": (
        "https://docs.dask.org/en/stable/",
        "Dask",
        {
            "dask.array.Array": ("py:class", "generated/$.html#$"),
            "dask.array.map_blocks": ("py:function", "generated/$.html#$"),
        },
    ),
    "hyperspy": (
        "https://hyperspy.org/hyperspy-doc/current/",
        "HyperSpy",
        {
            "hyperspy.api.load": ("py:function", "reference/api.html#$"),
            "hyperspy.api.signals.BaseSignal": (
                "py:class",
                "reference/api.signals/BaseSignal.html#$",
            ),
            "hyperspy.api.signals.BaseSignal.save": (
                "py:method",
                "reference/api.signals/BaseSignal.html#$",
            ),
            "hyperspy.api.signals.BaseSignal.decomposition": (
                "py:method",
                "reference/api.signals/BaseSignal.html#$",
            ),
            "hyperspy.api.signals.BaseSignal.apply_apodization": (
                "py:method",
                "reference/api.signals/BaseSignal.html#$",
            ),
            "hyperspy.api.signals.Signal1D": (
                "py:class",
                "reference/api.signals/Signal1D.html#$",
            ),
            "hyperspy.api.signals.Signal2D": (
                "py:class",
                "reference/api.signals/Signal2D.html#$",
            ),
            "hyperspy.api.model.components1D.ScalableFixedPattern": (
                "py:class",
                "reference/api.model/components1D.html#$",
            ),
        },
    ),
    "atomap": (
        "https://atomap.org/",
        "Atomap",
        {
            "atomap.atom_finding_refining.get_atom_positions": (
                "py:function",
                _ATOMAP,
            ),
            "atomap.sublattice.Sublattice": ("py:class", _ATOMAP),
            "atomap.atom_lattice.Atom_Lattice": ("py:class", _ATOMAP),
        },
    ),
}


def _write_inventory(path, title, objects):
    """Write a Sphinx v2 ``objects.inv`` (header, then zlib-compressed lines)."""
    # Sphinx itself expands only a trailing "$"; expand every one here.
    lines = "".join(
        f"{name} {entry[0]} 1 {entry[1].replace('$', name)} "
        f"{entry[2] if len(entry) > 2 else '-'}\n"
        for name, entry in sorted(objects.items())
    )
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {title}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    Path(path).write_bytes(header.encode() + zlib.compress(lines.encode()))


if os.environ.get("HU_DOCS_ONLINE_INVENTORIES"):
    intersphinx_mapping = {
        name: (url, None) for name, (url, _, _) in _INVENTORIES.items()
    }
else:
    _inv_dir = Path(tempfile.mkdtemp(prefix="hu_intersphinx_"))
    intersphinx_mapping = {}
    for _name, (_url, _title, _objects) in _INVENTORIES.items():
        _write_inventory(_inv_dir / f"{_name}.inv", _title, _objects)
        intersphinx_mapping[_name] = (_url, str(_inv_dir / f"{_name}.inv"))

# -- MathJax, served locally ---------------------------------------------------
# MathJax 3.2.2 (Apache-2.0, _static/mathjax/LICENSE): tex-chtml.js and the
# CHTML woff-v2 fonts it loads, from `npm pack mathjax@3`.
mathjax_path = "mathjax/tex-chtml.js"

# -- gallery ---------------------------------------------------------------------
sphinx_gallery_conf = {
    # inside the package: the demo runs the same scripts (one source of truth)
    "examples_dirs": "../hyperspy_unmix/examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # run every example
    "ignore_pattern": r"__init__\.py",
    # sections in the order of the user guide (the demo's order); examples by
    # their number
    "subsection_order": [f"../hyperspy_unmix/examples/{name}" for name in SECTIONS],
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "reference_url": {"hyperspy_unmix": None},
    "doc_module": ("hyperspy_unmix",),
    "backreferences_dir": None,
    "show_memory": False,
    # The per-example times are printed at the end of the gallery step (and
    # on each example's page); the summary page would load jQuery/DataTables
    # from a CDN.
    "write_computation_times": False,
    "min_reported_time": 0,
    "download_all_examples": True,
    "first_notebook_cell": "%matplotlib inline",
    # examples print what they show; a trailing expression is not echoed
    "capture_repr": (),
}

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"hyperspy_unmix {release}"
html_short_title = "hyperspy_unmix"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "logo": {"text": "hyperspy_unmix"},
    "navbar_align": "left",
    "header_links_before_dropdown": 4,
    "navbar_persistent": ["search-button"],
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "icon_links": [
        {"name": "Source", "url": REPO_URL, "icon": "fa-brands fa-github"},
    ],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
# Pages without sub-pages get no (empty) left sidebar; the gallery keeps its
# navigation between sections and examples.
html_sidebars = {page.stem: [] for page in Path(__file__).parent.glob("*.rst")}
