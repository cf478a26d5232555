"""Sphinx configuration for hyperspy_unmix."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import hyperspy_unmix  # noqa: E402

project = "hyperspy_unmix"
author = "hyperspy_unmix developers"
release = hyperspy_unmix.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]
# numpydoc lists class members itself only when asked; autosummary stubs for
# every attribute would need generated pages.
numpydoc_show_class_members = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
intersphinx_mapping = {}  # no network at build time
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
