"""Saving results as one HyperSpy file: overwrite rules and atomic writes.

Shared by :class:`~hyperspy_unmix.UnmixingResult` and
:class:`~hyperspy_unmix.NeighborhoodPCAResult`. Each result is written as one
``.hspy`` (HDF5 file) or ``.zspy`` (zarr directory) whose signal a plain
HyperSpy install reads; the other parts are signals and arrays nested in its
metadata (HyperSpy writes a ``BaseSignal`` found in metadata as a group).
"""

from __future__ import annotations

import builtins
import os
import shutil
import uuid
from pathlib import Path

EXTENSIONS = (".hspy", ".zspy")


def result_path(path: str | os.PathLike, name: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` with a HyperSpy extension.

    No extension means ``.hspy`` (as :meth:`BaseSignal.save`); any other than
    ``.hspy`` / ``.zspy`` is refused: only these keep signals nested in
    metadata.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a str or a path, got {type(path).__name__}")
    p = Path(path)
    if p.suffix == "":
        return p.with_suffix(".hspy")
    if p.suffix not in EXTENSIONS:
        raise ValueError(
            f"`{name}` must end in .hspy or .zspy (the formats that keep the "
            f"result's nested signals), got {str(p)!r}"
        )
    return p


def check_overwrite(overwrite) -> None:
    """``overwrite`` is None, True or False (as in :meth:`BaseSignal.save`)."""
    if overwrite is not None and not isinstance(overwrite, bool):
        raise TypeError(f"`overwrite` must be None, True or False, got {overwrite!r}")


def may_write(path: Path, overwrite: bool | None) -> bool:
    """Whether to write ``path``, deciding as :meth:`BaseSignal.save` does.

    A missing file is always written; ``True`` replaces, ``False`` refuses
    (:class:`FileExistsError`); ``None`` asks HyperSpy's question
    ("Overwrite '...' (y/n)?") when the session can answer it. HyperSpy tells
    an interactive session by trying :func:`input`: where that raises (no
    terminal, pytest's captured stdin, a closed stdin in CI) HyperSpy logs a
    line and writes nothing, which is easy to miss; here it is a
    :class:`FileExistsError` saying to pass ``overwrite=True``.

    Returns
    -------
    bool
        False only when the user answered "n".
    """
    check_overwrite(overwrite)
    if not path.exists():
        return True
    if overwrite is True:
        return True
    if overwrite is False:
        raise FileExistsError(
            f"{str(path)!r} exists and `overwrite` is False; pass overwrite=True "
            "to replace it"
        )
    message = f"Overwrite '{path}' (y/n)?\n"
    try:
        answer = builtins.input(message).strip().lower()
        while answer not in ("y", "n"):
            print("Please answer y or n.")  # noqa: T201 (HyperSpy's prompt)
            answer = builtins.input(message).strip().lower()
    except Exception as exc:  # as HyperSpy: no usable stdin = not interactive
        raise FileExistsError(
            f"{str(path)!r} exists and this session cannot be asked whether to "
            "replace it (no interactive input); pass overwrite=True to replace "
            "it or overwrite=False to keep it"
        ) from exc
    return answer == "y"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _sibling(path: Path, tag: str) -> Path:
    # Same folder (so the final rename never crosses a file system), hidden,
    # unique, and with the extension HyperSpy picks the writer from.
    return path.with_name(f".{path.stem}.{tag}-{uuid.uuid4().hex[:12]}{path.suffix}")


def atomic_save(
    signal, path: Path, overwrite: bool | None = None, **kwargs
) -> Path | None:
    """Write ``signal`` to ``path`` so that no partial result is ever left.

    The signal is saved under a temporary name in the same folder and moved
    into place once complete. An ``.hspy`` file is replaced with
    :func:`os.replace` (atomic). A ``.zspy`` store is a directory, which no
    rename can replace atomically: the old one is moved aside, the new one
    moved in, the old one deleted (and moved back if the move fails). If
    writing fails or is interrupted (any exception, ``KeyboardInterrupt``
    included), the temporary copy is removed and ``path`` is untouched.

    Parameters
    ----------
    signal : hyperspy.signal.BaseSignal
        Saved as it is (callers pass a throw-away copy: HyperSpy records the
        temporary file name in its ``tmp_parameters``).
    path : pathlib.Path
        From :func:`result_path`.
    overwrite : None or bool
        See :func:`may_write`.
    **kwargs
        Passed to :meth:`hyperspy.signal.BaseSignal.save` (e.g. ``chunks``).

    Returns
    -------
    pathlib.Path or None
        The absolute path written; None when the user declined.
    """
    if not may_write(path, overwrite):
        return None
    path = path.absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(path, "partial")
    try:
        signal.save(tmp, overwrite=True, **kwargs)
    except BaseException:
        _remove(tmp)
        raise
    if not (path.is_dir() or tmp.is_dir()):
        os.replace(tmp, path)
        return path
    old = None
    try:
        if path.exists():
            old = _sibling(path, "old")
            os.replace(path, old)
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.replace(old, path)
        _remove(tmp)
        raise
    if old is not None:
        _remove(old)
    return path


def load_file(path: str | os.PathLike, lazy: bool = False, name: str = "path"):
    """``hs.load`` of one result file, refusing a missing one clearly."""
    import hyperspy.api as hs

    p = result_path(path, name)
    if not p.exists():
        raise FileNotFoundError(f"missing result file: {p}")
    return hs.load(p, lazy=lazy)
