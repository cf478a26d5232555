"""The main job: ``python -m hyperspy_unmix demo [--out DIR]``.

Runs every analysis on the package's own example data (synthetic data with
ground truth and the two shipped real datasets), writes PNG figures and prints
what it did. Each section is a module of this package with
``run(out_dir) -> list[str]`` (summary lines).
"""

import importlib
import time
import warnings
from pathlib import Path

# Order matters only for reading the summary.
SECTIONS = {
    "example_data": "The example data and their ground truth",
    "spectral": "N-FINDR unmixing of spectrum images",
    "phases": "Sliding-window FFT phase segmentation",
    "neighborhoods": "Neighbourhood PCA of atomic environments",
}


def run_demo(out_dir="hyperspy_unmix_demo", sections=None, echo=print):
    """Run the demo sections and write their figures to ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder for the PNG figures (created if needed).
    sections : list of str, optional
        Subset of ``SECTIONS`` to run; all by default.
    echo : callable
        Receives each summary line.

    Returns
    -------
    list of pathlib.Path
        The PNG figures in ``out_dir``.
    """
    import matplotlib

    matplotlib.use("Agg")  # headless: the demo only writes files
    import hyperspy.api as hs

    names = list(SECTIONS) if sections is None else list(sections)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(
            f"`sections` must be among {list(SECTIONS)}; unknown: {unknown}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old_progressbar = hs.preferences.General.show_progressbar
    hs.preferences.General.show_progressbar = False
    try:
        with warnings.catch_warnings():
            # Atomap imports HyperSpy's private modules; HyperSpy's warnings about
            # that are Atomap's to fix and only clutter the demo's summary.
            warnings.filterwarnings(
                "ignore", message=r"Importing `\w+` from `hyperspy\._signals"
            )
            for name in names:
                echo(f"== {SECTIONS[name]} ==")
                t0 = time.perf_counter()
                module = importlib.import_module(f"hyperspy_unmix.demo.{name}")
                for line in module.run(out):
                    echo(f"  {line}")
                echo(f"  ({time.perf_counter() - t0:.1f} s)")
    finally:
        hs.preferences.General.show_progressbar = old_progressbar
    figures = sorted(out.glob("*.png"))
    echo(f"{len(figures)} figures in {out.resolve()}")
    return figures
