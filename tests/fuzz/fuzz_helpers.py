"""Shared pieces of the property-based suite: data, strategies, properties.

Every fuzz test calls the public API through :func:`call`, which enforces
the contract for *any* input:

- the call returns (and the caller then checks the method's invariants), or
- it raises ``ValueError`` / ``TypeError`` (or a documented
  ``NotImplementedError`` / ``MemoryError``) whose message names, in
  backticks, a parameter the user passed;
- it never raises an internal error type (``IndexError``, ``KeyError``,
  ``ZeroDivisionError``, ``LinAlgError``, ``OverflowError``, ...), a numpy
  broadcasting error, or a ``RuntimeWarning`` (turned into an error here);
- the input signal's data (hash), axes, metadata and learning_results are
  the same afterwards (:func:`snapshot`, :func:`assert_unchanged`).
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import warnings
from functools import lru_cache

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st

ALLOWED = (ValueError, TypeError, NotImplementedError, MemoryError)
INTERNAL = (
    IndexError,
    KeyError,
    ZeroDivisionError,
    np.linalg.LinAlgError,  # a ValueError subclass: checked first
    OverflowError,
    FloatingPointError,
    AttributeError,
    AssertionError,
    UnboundLocalError,
    RuntimeWarning,
)
_SKLEARN = re.compile(
    r"Input X contains|Found array with|Complex data not supported|"
    r"X has \d+ features?, but"
)
_BROADCAST = re.compile(r"broadcast|could not be broadcast|shapes .* not aligned")

# cases per test and outcome, printed at the end of the run (conftest.py)
COUNTS: collections.Counter = collections.Counter()
# FUZZ_EXPLORE=1: record contract breaks (one example per kind) instead of
# failing, to survey many cases in one run; printed at the end
EXPLORE = bool(os.environ.get("FUZZ_EXPLORE"))
BREAKS: dict = {}


def examples(weight: float = 1.0) -> int:
    """``max_examples`` for a test: ``weight`` times the profile's."""
    return max(1, int(round(settings.default.max_examples * weight)))


def count(test: str, outcome: str) -> None:
    COUNTS[(test, outcome)] += 1


# -- the contract ---------------------------------------------------------
class ContractError(AssertionError):
    """The public API broke the contract for a generated case."""


def call(
    fn, *args, names, expect_error=None, must_raise=False, sklearn=False, **kwargs
):
    """Call ``fn`` under the contract; return ``(result, error)``.

    Parameters
    ----------
    names : iterable of str
        Parameters whose (backticked) names an error message may name.
    expect_error : None or str
        A parameter that is definitely invalid in this case: the call must
        raise, and the message must name this one (not merely any of
        ``names``).
    must_raise : bool
        The call must raise (naming any of ``names``): the case has several
        problems, any of which may be reported first.
    sklearn : bool
        Also accept scikit-learn's own input-validation messages (an
        estimator's ``fit(X)`` follows scikit-learn's contract, whose
        ``check_array`` messages say "X" / "array" without backticks).
    """
    try:
        return _call(fn, args, kwargs, names, expect_error, must_raise, sklearn)
    except ContractError as e:
        name = getattr(fn, "__name__", "")
        for defect, where, pattern in KNOWN_MESSAGES:
            if where in (None, name) and re.search(pattern, str(e)):
                count(getattr(fn, "__name__", "call"), f"known defect {defect}")
                return None, e
        if not EXPLORE:
            raise
        key = re.sub(r"\d[\d.e+-]*", "#", str(e))[:160]
        BREAKS.setdefault(
            key, (getattr(fn, "__qualname__", fn), _describe(args), kwargs)
        )
        return None, e


def _force(out):
    """Compute every lazy array of a result (signal or result object)."""
    parts = [out] + [
        getattr(out, n, None) for n in ("endmembers", "abundances", "residual")
    ]
    for p in parts:
        data = getattr(p, "data", None)
        if hasattr(data, "compute"):
            data.compute()


def _describe(args):
    out = []
    for a in args:
        data = getattr(a, "data", None)
        if data is None:
            out.append(a)
            continue
        arr = np.asarray(data.compute() if hasattr(data, "compute") else data)
        with np.errstate(all="ignore"):
            fin = np.abs(arr[np.isfinite(arr)]) if arr.dtype.kind in "fc" else arr
            top = float(np.max(fin)) if fin.size else None
        nonfinite = (
            int(arr.size - np.isfinite(arr).sum()) if arr.dtype.kind in "fc" else 0
        )
        out.append(f"{a} {arr.dtype} max|x|={top} non-finite={nonfinite}")
    return tuple(out)


def _call(fn, args, kwargs, names, expect_error, must_raise, sklearn):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            out = fn(*args, **kwargs)
            _force(out)  # a lazy result's errors surface when computed
        except INTERNAL as e:
            raise ContractError(f"internal error {type(e).__name__}: {e}") from e
        except ALLOWED as e:
            msg = str(e)
            if _BROADCAST.search(msg):
                raise ContractError(f"broadcasting error leaked: {msg}") from e
            if os.environ.get("FUZZ_MESSAGES"):
                count(
                    getattr(fn, "__name__", "?"), re.sub(r"\d[\d.e+-]*", "#", msg)[:60]
                )
            wanted = [expect_error] if expect_error else list(names)
            if sklearn and _SKLEARN.search(msg):
                return None, e
            if not any(f"`{n}`" in msg for n in wanted):
                raise ContractError(
                    f"{type(e).__name__} does not name {wanted}: {msg!r}"
                ) from e
            return None, e
    if expect_error or must_raise:
        what = f"`{expect_error}`" if expect_error else "the input"
        raise ContractError(f"{what} is invalid here but nothing raised")
    return out, None


def _data_hash(data) -> str:
    arr = np.asarray(data.compute() if hasattr(data, "compute") else data)
    return hashlib.sha1(np.ascontiguousarray(arr).view(np.uint8)).hexdigest()


def snapshot(signal) -> dict:
    """What must not change: data hash, dtype, axes, metadata, learning results."""
    lr = signal.learning_results
    return {
        "hash": _data_hash(signal.data),
        "dtype": signal.data.dtype,
        "type": type(signal),
        "axes": [ax.get_axis_dictionary() for ax in signal.axes_manager._axes],
        "metadata": repr(signal.metadata.as_dictionary()),
        "learning": repr({k: v for k, v in vars(lr).items() if not k.startswith("_")}),
    }


def assert_unchanged(signal, before: dict) -> None:
    after = snapshot(signal)
    for key in before:
        if key == "axes":
            for a, b in zip(before[key], after[key]):
                for k in a:
                    same = (
                        np.array_equal(a[k], b[k])
                        if isinstance(a[k], np.ndarray)
                        else a[k] == b[k]
                    )
                    if not same:
                        raise ContractError(f"input axis changed: {k} {a[k]} -> {b[k]}")
        elif before[key] != after[key]:
            raise ContractError(f"input {key} changed")


# contract breaks recognised by their message: (defect id, regex)
KNOWN_MESSAGES: list = []  # D1-D8 are fixed; add new ones here while open


# -- defects found and not fixed yet (see test_regressions_found.py) -----------
def known_defect(test: str, **case) -> str | None:
    """The id of a known, not yet fixed defect this case runs into (or None).

    The fuzz tests skip such cases (and count them), so the suite stays green
    while ``test_regressions_found.py`` holds each defect as a strict xfail.
    """
    return None


# -- data -----------------------------------------------------------------
def mixture(seed: int, nav_shape: tuple, n_channels: int, q: int, noise=0.0):
    """A linear mixture with its pure pixels: ``(X, E, A, pure_flat_indices)``.

    ``X`` (*nav_shape, C) float64 = ``A E`` (+ noise), abundances Dirichlet,
    the first ``q`` positions of a random permutation pure.
    """
    rng = np.random.default_rng(seed)
    n = int(np.prod(nav_shape))
    E = rng.uniform(0.2, 1.0, (q, n_channels))
    A = rng.dirichlet(np.full(q, 0.7), n)
    pure = rng.permutation(n)[:q] if n >= q else np.arange(n)
    # keep mixtures strictly inside: no other pixel rivals a vertex
    A = 0.1 / q + 0.9 * A
    A[pure] = np.eye(q)[: len(pure)]
    X = A @ E
    if noise:
        X = X + rng.normal(0, noise, X.shape)
    return X.reshape(*nav_shape, n_channels), E, A, pure


def cast(X: np.ndarray, dtype: str, scale: float) -> np.ndarray:
    """``X * scale`` in ``dtype`` (ints: counts of ``X`` scaled to the type)."""
    dt = np.dtype(dtype)
    if dt == np.bool_:
        return X > np.median(X)
    if dt.kind in "iu":
        top = 100 if dt.itemsize == 1 else 10_000
        return np.round(X / X.max() * top).astype(dt)
    if dt.kind == "c":
        return (X * scale).astype(dt) + 1j * dt.type(scale)
    with np.errstate(over="ignore"):
        return (X * scale).astype(dt)


DTYPES = [
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "uint16",
    "uint8",
    "int8",
    "bool",
    "complex64",
    "complex128",
]


def representable(dtype: str, scale: float, top: float = 1.0) -> bool:
    """Do ``top * scale`` and ``0.2 * scale`` stay normal numbers of ``dtype``?"""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        return True
    fi = np.finfo(dt)
    return top * scale < float(fi.max) / 4 and 0.2 * scale > float(fi.tiny) * 2**24


@lru_cache(maxsize=1)
def lattice():
    """The 96 x 96 distorted lattice (image, truth): generated once."""
    import hyperspy_unmix as hu

    img, truth = hu.data.distorted_lattice((96, 96), random_state=0)
    return img, truth


@lru_cache(maxsize=1)
def two_phase():
    """A small two-phase image (image, truth)."""
    import hyperspy_unmix as hu

    return hu.data.multiphase_lattice((96, 96), random_state=0)


# -- option values ----------------------------------------------------------
class _Weird:
    def __repr__(self):
        return "<object>"


# values of a wrong type for almost any option
WRONG_TYPE = st.sampled_from(
    [
        "nonsense",
        "",
        1.5,
        -3,
        [1, 2],
        (1,),
        {"a": 1},
        _Weird(),
        np.array([1, 2]),
        np.float64("nan"),
        float("inf"),
        True,
        None,
        b"fcls",
        1j,
    ]
)


def chunks_for(shape, draw_ints):
    """Dask chunks for an array shape (the channel axis whole)."""
    return tuple(draw_ints(n) for n in shape[:-1]) + (-1,)
