"""Generated inputs for ``nfindr_unmix`` and the ``NFINDR`` estimator.

Data: navigation shapes of 0-2 dimensions (down to a single pixel), 1 to 20
channels, every dtype (float16-64, ints, bool, complex), scales 1e-30 to
1e30, NaN/inf at random places (masked or not), navigation and signal
masks, lazy chunkings. Options: each one in turn set to a valid value or to
a wrong type / out-of-range value. The contract (``fuzz_helpers.call``)
holds for every case; results also satisfy the method's invariants, and on
clean float data with pure pixels the pure pixels are the ones found.
"""

import warnings
from functools import lru_cache

import hyperspy.api as hs
import numpy as np
import pytest
from fuzz_helpers import (
    DTYPES,
    WRONG_TYPE,
    ContractError,
    assert_unchanged,
    call,
    cast,
    count,
    examples,
    known_defect,
    mixture,
    representable,
    snapshot,
)
from hypothesis import given, note, settings
from hypothesis import strategies as st

import hyperspy_unmix as hu

pytestmark = pytest.mark.fuzz

SIGNAL_NAMES = ("signal", "n_endmembers", "navigation_mask", "signal_mask")


def _computed(data):
    return np.asarray(data.compute() if hasattr(data, "compute") else data)


def check_unmixing(res, signal, q, nav_keep, method="fcls", sig_keep=None):
    """The documented shapes and invariants of an :class:`UnmixingResult`."""
    am = signal.axes_manager
    nav = tuple(am.navigation_shape[::-1])
    sig = tuple(am.signal_shape[::-1])
    E = _computed(res.endmembers.data)
    A = _computed(res.abundances.data)
    assert E.shape == (q, *sig), (E.shape, q, sig)
    assert A.shape == (q, *nav), (A.shape, q, nav)
    assert res.indices.shape == (q, len(nav))
    sk = np.ones(E.shape[1:], bool) if sig_keep is None else sig_keep.reshape(sig)
    assert np.isfinite(E[:, sk]).all(), "non-finite endmembers at unmasked channels"
    flat_idx = np.ravel_multi_index(tuple(res.indices.T), nav)
    A = A.reshape(q, -1)
    keep = np.ones(A.shape[1], bool) if nav_keep is None else nav_keep
    if nav_keep is not None:
        assert keep[flat_idx].all(), "a masked pixel was chosen as an endmember"
    Au = A[:, keep]
    assert np.isfinite(Au).all(), "non-finite abundances at unmasked pixels"
    if method in ("fcls", "nnls"):
        assert Au.min() >= -1e-9, Au.min()
    if method in ("fcls", "scls"):
        np.testing.assert_allclose(Au.sum(axis=0), 1.0, atol=1e-6)
    # the abundances' signal axes are the input's navigation axes, calibrated
    for a, b in zip(res.abundances.axes_manager.signal_axes, am.navigation_axes):
        assert a.size == b.size and np.isclose(a.scale, b.scale)
        assert np.isclose(a.offset, b.offset) and a.units == b.units
    for a, b in zip(res.endmembers.axes_manager.signal_axes, am.signal_axes):
        assert a.size == b.size and np.isclose(a.scale, b.scale)
    return flat_idx


def _signal(X, signal_dim=1, lazy=False, chunks=None):
    s = (hs.signals.Signal1D if signal_dim == 1 else hs.signals.Signal2D)(X)
    for i, ax in enumerate(s.axes_manager._axes):
        ax.scale, ax.offset, ax.units = 0.5 + i, -1.0 * i, f"u{i}"
    if lazy:
        s = s.as_lazy()
        if chunks is not None:
            s.data = s.data.rechunk(chunks)
    return s


@st.composite
def unmixing_case(draw):
    # Hypothesis favours the ends of a list: common values there
    nav_dim = draw(st.sampled_from([2, 1, 2, 0, 2, 1, 2]))
    size = st.one_of(st.integers(1, 4), st.integers(5, 9), st.integers(5, 9))
    if nav_dim == 0:
        nav = ()
    elif nav_dim == 1:
        nav = (draw(st.one_of(st.integers(1, 4), st.integers(8, 40))),)
    else:
        nav = (draw(size), draw(size))
    C = draw(st.sampled_from([1, 2, 3] + list(range(4, 21)) * 2))
    q = draw(st.integers(2, 4))
    n_req = draw(st.sampled_from([q] * 3 + [1, 5, "auto"] + [q] * 3))
    dtype = draw(st.sampled_from(["float32", "float64"] * 4 + DTYPES + ["float32"]))
    scale = 10.0 ** draw(st.integers(-30, 30))
    bad = draw(st.sampled_from(["none"] * 4 + ["nan", "inf", "-inf"] + ["none"] * 4))
    where = draw(st.sampled_from(["pixel", "channel", "unmasked"]))
    mask = draw(st.sampled_from(["none", "nav", "sig", "nav_signal", "none"]))
    lazy = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return dict(
        nav=nav,
        C=C,
        q=q,
        n_req=n_req,
        dtype=dtype,
        scale=scale,
        bad=bad,
        where=where,
        mask=mask,
        lazy=lazy,
        seed=seed,
        chunk=draw(st.integers(1, 5)),
    )


def _build(case):
    nav, C, q = case["nav"], case["C"], case["q"]
    X, _, _, pure = mixture(case["seed"], nav or (1,), C, q)
    X = X.reshape(*nav, C)
    dtype = case["dtype"]
    if not representable(dtype, case["scale"]):
        case["scale"] = 1.0
    X = cast(X, dtype, case["scale"])
    n = int(np.prod(nav)) if nav else 1
    rng = np.random.default_rng(case["seed"])
    nav_keep = None
    sig_keep = None
    bad_pix = bad_ch = None
    if case["bad"] != "none" and X.dtype.kind in "fc":
        value = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf}[case["bad"]]
        flatX = X.reshape(n, C)
        bad_pix = int(rng.integers(n))
        bad_ch = int(rng.integers(C))
        flatX[bad_pix, bad_ch] = value
    if case["mask"] in ("nav", "nav_signal") and nav:
        nav_keep = rng.random(n) > 0.3
        if bad_pix is not None and case["where"] == "pixel":
            nav_keep[bad_pix] = False
    if case["mask"] == "sig":
        sig_keep = rng.random(C) > 0.3
        if bad_ch is not None and case["where"] == "channel":
            sig_keep[bad_ch] = False
    s = _signal(X, lazy=case["lazy"], chunks=(case["chunk"],) * len(nav) + (-1,))
    kwargs = {}
    if nav_keep is not None:
        m = ~nav_keep.reshape(nav)
        if case["mask"] == "nav_signal":
            ms = hs.signals.BaseSignal(m).T  # navigation-shaped signal
            kwargs["navigation_mask"] = ms
        else:
            kwargs["navigation_mask"] = m.T  # HyperSpy's array form: x first
    if sig_keep is not None:
        kwargs["signal_mask"] = ~sig_keep
    masked_bad = bad_pix is not None and (
        (nav_keep is not None and not nav_keep[bad_pix])
        or (sig_keep is not None and not sig_keep[bad_ch])
    )
    return s, kwargs, nav_keep, sig_keep, pure, bad_pix is not None, masked_bad


@settings(max_examples=examples(3))
@given(unmixing_case())
def test_nfindr_unmix_generated_data(case):
    s, kwargs, nav_keep, sig_keep, pure, has_bad, masked_bad = _build(case)
    note(f"signal {s} dtype {s.data.dtype} kwargs {list(kwargs)}")
    before = snapshot(s)
    must = s.data.dtype.kind == "c" or not case["nav"] or (has_bad and not masked_bad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # outliers, convergence
        res, err = call(
            hu.nfindr_unmix,
            s,
            case["n_req"],
            names=SIGNAL_NAMES,
            must_raise=must,
            random_state=0,
            **kwargs,
        )
    assert_unchanged(s, before)
    count("nfindr_unmix data", "error" if err else "result")
    if err is not None:
        note(f"error: {err}")
        return
    q = res.n_endmembers
    idx = check_unmixing(res, s, q, nav_keep, sig_keep=sig_keep)
    clean = (
        s.data.dtype.kind == "f"
        and s.data.dtype.itemsize >= 4
        and not has_bad
        and nav_keep is None
        and sig_keep is None
        and case["n_req"] == case["q"]
        and case["C"] >= case["q"]
        and int(np.prod(case["nav"])) >= 2 * case["q"] + 2
    )
    if clean:
        # noise-free mixture with pure pixels: they are the vertices found
        assert sorted(idx.tolist()) == sorted(pure.tolist())
        count("nfindr_unmix data", "ground truth checked")


# -- one option at a time ------------------------------------------------------
VALID = {
    "abundances": ["fcls", "nnls", "scls", "ucls"],
    "endmember_estimate": ["pixel", "denoised"],
    "neighborhood": [0, 1, 2],
    "init": ["atgp", "random"],
    "n_init": [1, 2],
    "max_iter": [1, 5, 100],
    "random_state": [None, 0, 7, np.random.default_rng(1)],
    "max_pca_pixels": [None, 100, 10**6],
    "normalize_poissonian_noise": [False, True],
    "nonnegative_endmembers": [None, "clip", "subspace"],
    "outliers": [None, "auto"],
    "refine": [None, "minvol"],
    "show_progressbar": [None, False],
    "lazy_output": [None, False, True],
}
# values a wrong type / out of range for each option, beyond WRONG_TYPE
OUT_OF_RANGE = {
    "neighborhood": [-1, 10**6],
    "n_init": [0, -2],
    "max_iter": [0, -1],
    "random_state": [-1, 2**40],
    "max_pca_pixels": [0, 99, -5],
}


def _is_valid(name, value):
    ok = VALID[name]
    if isinstance(value, (np.ndarray, np.random.Generator)):
        return any(v is value for v in ok)
    try:
        hit = any(
            type(v) is type(value) and v == value
            for v in ok
            if not isinstance(v, np.random.Generator)
        )
    except Exception:
        return False
    return bool(hit)


@st.composite
def option_case(draw):
    name = draw(st.sampled_from(sorted(VALID)))
    kind = draw(st.sampled_from(["valid", "wrong", "wrong", "range"]))
    if kind == "valid":
        value = draw(st.sampled_from(VALID[name]))
    elif kind == "range" and name in OUT_OF_RANGE:
        value = draw(st.sampled_from(OUT_OF_RANGE[name]))
    else:
        value = draw(WRONG_TYPE)
    return name, value, draw(st.booleans())


@lru_cache(maxsize=1)
def small_map():
    X, _, _, pure = mixture(3, (7, 8), 12, 3, noise=1e-3)
    return np.abs(X).astype(np.float32) * 100, pure


@settings(max_examples=examples(3))
@given(option_case())
def test_nfindr_unmix_generated_options(case):
    name, value, lazy = case
    X, _ = small_map()
    s = _signal(X.copy(), lazy=lazy)
    before = snapshot(s)
    valid = _is_valid(name, value)
    # wrong types are definitely invalid, except where the value happens to
    # be a valid one (None for optional options, ints for ints)
    definitely_bad = not valid and (
        isinstance(value, (str, bytes, list, tuple, dict, complex, np.ndarray))
        or type(value).__name__ == "_Weird"
        or (name in OUT_OF_RANGE and value in OUT_OF_RANGE[name])
    )
    note(f"{name}={value!r} valid={valid} lazy={lazy}")
    defect = known_defect("nfindr_unmix options", name=name, value=value)
    if defect:
        count("nfindr_unmix options", f"known defect {defect[:2]}")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        res, err = call(
            hu.nfindr_unmix,
            s,
            3,
            names=(name,),
            expect_error=name if definitely_bad else None,
            **{name: value},
        )
    assert_unchanged(s, before)
    count("nfindr_unmix options", "error" if err else "result")
    if valid and err is not None:
        raise ContractError(f"valid {name}={value!r} refused: {err}")
    if res is not None:
        method = value if name == "abundances" else "fcls"
        check_unmixing(res, s, 3, None, method)


# -- the estimator ---------------------------------------------------------------
@st.composite
def estimator_case(draw):
    n = draw(st.integers(1, 60))
    C = draw(st.integers(1, 16))
    q = draw(st.integers(1, 5))
    dtype = draw(st.sampled_from(DTYPES))
    scale = 10.0 ** draw(st.integers(-30, 30))
    bad = draw(st.sampled_from(["none", "none", "nan", "inf"]))
    other_C = draw(st.sampled_from([0, 0, 0, 1, -1]))
    return n, C, q, dtype, scale, bad, other_C, draw(st.integers(0, 999))


@settings(max_examples=examples(2))
@given(estimator_case())
def test_nfindr_estimator_generated(case):
    n, C, q, dtype, scale, bad, other_C, seed = case
    X, _, _, _ = mixture(seed, (n,), C, 3)
    if not representable(dtype, scale):
        scale = 1.0
    X = cast(X, dtype, scale)
    if bad != "none" and X.dtype.kind in "fc":
        X[seed % n, seed % C] = np.nan if bad == "nan" else np.inf
    X0 = X.copy()
    est = hu.NFINDR(q, random_state=0)
    must = X.dtype.kind == "c" or (bad != "none" and X.dtype.kind == "f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted, err = call(
            est.fit, X, names=("X", "n_endmembers"), must_raise=must, sklearn=True
        )
    assert np.array_equal(X, X0, equal_nan=X.dtype.kind in "fc")
    count("NFINDR.fit", "error" if err else "result")
    if err is not None:
        return
    assert fitted is est
    assert est.components_.shape == (q, C)
    assert np.isfinite(est.components_).all()
    Y = X if other_C == 0 else np.ones((4, max(C + other_C, 0)), dtype=X.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        A, err = call(
            est.transform,
            Y,
            names=("X",),
            must_raise=other_C != 0,
            sklearn=True,
        )
    count("NFINDR.transform", "error" if err else "result")
    if err is None:
        assert A.shape == (Y.shape[0], q)
        assert np.isfinite(A).all()
        assert A.min() >= -1e-9
        np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-6)
