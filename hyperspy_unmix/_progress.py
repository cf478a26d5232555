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


def dask_progress(show):
    """A context manager: dask's ProgressBar around lazy computations."""
    if not show:
        return contextlib.nullcontext()
    from dask.diagnostics import ProgressBar

    return ProgressBar()
