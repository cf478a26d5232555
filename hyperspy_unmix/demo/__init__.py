"""The main job: ``python -m hyperspy_unmix demo [--out DIR] [--only SECTION ...]``.

The demo is the documentation's gallery: it runs every example script
shipped in ``hyperspy_unmix/examples/<section>/plot_*.py`` (the same files
that sphinx-gallery runs to build the gallery and the figures of the user
guide), prints what each one prints and saves every figure it draws as
``<section>_<script>_<NN>.png``, numbered as the gallery numbers them
(``sphx_glr_<script>_<NNN>.png``).

Each script runs by path (:func:`runpy.run_path`, fresh globals,
``__name__ == "__main__"``) in a temporary working directory, with
matplotlib's Agg backend and HyperSpy's progress bars off; nothing here
imports the analyses, the scripts do.
"""

import ast
import contextlib
import io
import os
import runpy
import sys
import tempfile
import time
import warnings
from pathlib import Path

#: The shipped gallery scripts, one sub-folder per section.
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"

# The order of the user guide (also the gallery's ``subsection_order``).
_ORDER = ("example_data", "spectral_unmixing", "phase_segmentation", "neighborhood_pca")


class DemoError(RuntimeError):
    """A gallery script failed; the message names it, the cause is its error."""


def _header_title(section_dir):
    """The title of a gallery section: the first line of its GALLERY_HEADER."""
    header = Path(section_dir) / "GALLERY_HEADER.rst"
    if header.is_file():
        for line in header.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith(".."):
                return line
    return Path(section_dir).name


def _sections(examples_dir):
    """Section folder name -> title, the known sections in the guide's order."""
    if not Path(examples_dir).is_dir():
        return {}
    found = {
        d.name: d
        for d in Path(examples_dir).iterdir()
        if d.is_dir() and any(d.glob("plot_*.py"))
    }
    names = [n for n in _ORDER if n in found]
    names += sorted(n for n in found if n not in _ORDER)
    return {name: _header_title(found[name]) for name in names}


#: Section (folder of ``hyperspy_unmix/examples``) -> title, in the order run.
SECTIONS = _sections(EXAMPLES_DIR)


def script_title(path):
    """The example's title: the first line of the script's docstring."""
    doc = ast.get_docstring(ast.parse(Path(path).read_text(encoding="utf-8")))
    for line in (doc or "").splitlines():
        if line.strip():
            return line.strip()
    return Path(path).stem


class _EchoLines(io.TextIOBase):
    """A stdout that hands every complete line, indented, to ``echo``."""

    def __init__(self, echo, indent, real_stdout):
        self._echo, self._indent, self._real = echo, indent, real_stdout
        self._partial = ""

    def writable(self):
        return True

    def write(self, text):
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._emit(line)
        return len(text)

    def close_line(self):
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def _emit(self, line):
        # echo may print: let it reach the real stdout, not this one
        with contextlib.redirect_stdout(self._real):
            self._echo(f"{self._indent}{line}".rstrip())


def _run_script(script, out, prefix, echo, indent="    "):
    """Run one gallery script; save and close the figures it opened."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    stdout = _EchoLines(echo, indent, real_stdout=sys.stdout)
    cwd = os.getcwd()
    written = []
    try:
        with contextlib.ExitStack() as stack:
            tmp = stack.enter_context(
                tempfile.TemporaryDirectory(prefix="hyperspy_unmix_demo_")
            )
            stack.enter_context(plt.rc_context())
            stack.enter_context(contextlib.redirect_stdout(stdout))
            os.chdir(tmp)  # whatever a script writes goes to a temporary folder
            try:
                runpy.run_path(str(script), run_name="__main__")
            except Exception as exc:
                raise DemoError(
                    f"{script.parent.name}/{script.name} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            finally:
                os.chdir(cwd)
                stdout.close_line()
            # figure-number order, as sphinx-gallery numbers the images
            new = [n for n in plt.get_fignums() if n not in before]
            for k, num in enumerate(new, 1):
                path = out / f"{prefix}_{k:02d}.png"
                plt.figure(num).savefig(path)
                written.append(path)
    finally:
        for num in plt.get_fignums():
            if num not in before:
                plt.close(num)
    return written


def run_demo(
    out_dir="hyperspy_unmix_demo", sections=None, echo=print, examples_dir=None
):
    """Run the gallery scripts and write their figures to ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        Folder for the PNG figures (created if needed), named
        ``<section>_<script>_<NN>.png``.
    sections : list of str, optional
        Subset of ``SECTIONS`` (the gallery's section folders) to run; all by
        default, in the order of ``SECTIONS``.
    echo : callable
        Receives each line of the report: section and script titles, the
        scripts' printed output (indented), the figures and timings.
    examples_dir : str or pathlib.Path, optional
        A folder of gallery sections (sub-folders holding ``plot_*.py``)
        to run instead of the shipped one, ``EXAMPLES_DIR``.

    Returns
    -------
    list of pathlib.Path
        The PNG figures written, in the order written.

    Raises
    ------
    ValueError
        If a name in ``sections`` is not a section (before any work).
    DemoError
        If a script fails; the message names it and the script's own
        exception is the cause (``__cause__``). Figures written before the
        failure are kept.
    """
    root = EXAMPLES_DIR if examples_dir is None else Path(examples_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"no gallery examples at {root}")
    available = SECTIONS if examples_dir is None else _sections(root)
    names = list(available) if sections is None else list(sections)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(
            f"`sections` must be among {list(available)}; unknown: {unknown}"
        )

    import matplotlib

    matplotlib.use("Agg")  # headless: the demo only writes files
    import hyperspy.api as hs

    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    start = time.perf_counter()
    old_progressbar = hs.preferences.General.show_progressbar
    hs.preferences.General.show_progressbar = False
    try:
        with warnings.catch_warnings():
            # Atomap imports HyperSpy's private modules and SciPy's deprecated
            # ones; those warnings are Atomap's to fix and only clutter the
            # output.
            warnings.filterwarnings(
                "ignore", message=r"Importing `\w+` from `hyperspy\._signals"
            )
            warnings.filterwarnings(
                "ignore", category=DeprecationWarning, module=r"atomap\."
            )
            for name in names:
                echo(f"== {available[name]} ({name}) ==")
                for script in sorted((root / name).glob("plot_*.py")):
                    echo(f"  {script_title(script)} ({script.name})")
                    t0 = time.perf_counter()
                    written = _run_script(
                        script, out, f"{name}_{script.stem}", echo=echo
                    )
                    figures += written
                    echo(
                        f"    -> {len(written)} figure{'s' * (len(written) != 1)}"
                        f" ({time.perf_counter() - t0:.1f} s)"
                    )
    finally:
        hs.preferences.General.show_progressbar = old_progressbar
    echo(
        f"{len(figures)} figures in {out} ({time.perf_counter() - start:.1f} s "
        "in total)"
    )
    return figures
