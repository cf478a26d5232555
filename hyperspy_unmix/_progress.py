"""Progress bars that follow HyperSpy's ``show_progressbar`` convention.

``None`` follows ``hs.preferences.General.show_progressbar`` and stays quiet
on small inputs (where a bar would flash by), ``True`` always shows a bar,
``False`` never does. In-memory work uses tqdm (as HyperSpy does;
``tqdm.auto`` picks the notebook widget in Jupyter); lazy passes use dask's
own progress bar.
"""

import contextlib

#: With ``show_progressbar=None``, work on fewer values than this is quiet.
QUIET_BELOW = 1 << 24


def wanted(show_progressbar, size=None):
    """Whether to show a bar for work on ``size`` values."""
    if show_progressbar is not None:
        return bool(show_progressbar)
    import hyperspy.api as hs

    if not hs.preferences.General.show_progressbar:
        return False
    return size is None or size >= QUIET_BELOW


class _Silent:
    def update(self, n=1):
        pass

    def set_description(self, desc):
        pass

    def close(self):
        pass


def bar(show, total, desc, unit="it"):
    """A tqdm bar, or an object with the same methods that prints nothing."""
    if not show:
        return _Silent()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=True)


def dask_progress(show, source=None):
    """A context manager around lazy computations: dask's ProgressBar (if
    ``show``), and read errors of the file behind the data (``source``)
    re-raised as an ``OSError`` that names the file."""
    if source is None and not show:
        return contextlib.nullcontext()
    return _computing(show, source)


@contextlib.contextmanager
def _computing(show, source):
    bar_cm = contextlib.nullcontext()
    if show:
        from dask.diagnostics import ProgressBar

        bar_cm = ProgressBar()
    try:
        with bar_cm:
            yield
    except (OSError, RuntimeError) as err:
        # h5py raises OSError, numcodecs (zarr) RuntimeError on damaged
        # chunks: the user sees which file, and the original below
        if source is None:
            raise
        raise OSError(
            f"reading the lazy data of `signal` from {source} failed "
            f"({type(err).__name__}: {err}); the file may be truncated or "
            "damaged"
        ) from err


def source_file(signal):
    """The file a (lazy) signal was loaded from, or None."""
    import os

    tp = signal.tmp_parameters
    folder, name = tp.get_item("folder"), tp.get_item("filename")
    if not name:
        return None
    ext = str(tp.get_item("extension") or "").lstrip(".")
    base = f"{name}.{ext}" if ext else str(name)
    return os.path.join(folder, base) if folder else base
