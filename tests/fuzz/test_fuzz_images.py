"""Generated inputs for the image analyses: ``sliding_fft``,
``segment_phases``, ``phase_maps`` and ``neighborhood_pca``.

Images are crops (any size down to 1 pixel) of the cached 96 x 96
synthetic lattices, in any dtype and scale, with NaN/inf pixels, as
stacks or lazily; options are valid values or wrong types / out-of-range
values, one at a time. The contract (``fuzz_helpers.call``) holds for
every case; results satisfy the documented shapes, calibration and
value ranges.
"""

import warnings

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
    lattice,
    representable,
    snapshot,
    two_phase,
)
from hypothesis import given, note, settings
from hypothesis import strategies as st

import hyperspy_unmix as hu

pytestmark = pytest.mark.fuzz


def _computed(data):
    return np.asarray(data.compute() if hasattr(data, "compute") else data)


@st.composite
def image_case(draw, min_size=1):
    small = st.integers(min_size, max(min_size, 12))
    ny = draw(st.one_of(small, st.integers(24, 96)))
    nx = draw(st.one_of(small, st.integers(24, 96)))
    # Hypothesis favours the ends of a list: common values there
    dtype = draw(st.sampled_from(["float32", "float64"] * 3 + DTYPES + ["float32"]))
    scale = 10.0 ** draw(st.integers(-30, 30))
    bad = draw(st.sampled_from(["none"] * 3 + ["nan", "inf"] + ["none"] * 3))
    stack = draw(st.sampled_from([0, 0, 2, 0]))
    lazy = draw(st.booleans())
    return dict(ny=ny, nx=nx, dtype=dtype, scale=scale, bad=bad, stack=stack, lazy=lazy)


def _image(case, source=lattice):
    img, _ = source()
    X = np.asarray(img.data[: case["ny"], : case["nx"]], dtype=np.float64)
    X = X - X.min() + 0.1  # positive, like counts
    if not representable(case["dtype"], case["scale"], float(X.max())):
        case["scale"] = 1.0
    X = cast(X, case["dtype"], case["scale"])
    if case["bad"] != "none" and X.dtype.kind in "fc":
        X[X.shape[0] // 2, X.shape[1] // 2] = np.nan if case["bad"] == "nan" else np.inf
    if case["stack"]:
        X = np.stack([X] * case["stack"])
    s = hs.signals.Signal2D(X)
    for ax, src in zip(s.axes_manager.signal_axes, img.axes_manager.signal_axes):
        ax.scale, ax.offset, ax.units = src.scale, 0.5, src.units
    if case["stack"]:
        s.axes_manager.navigation_axes[0].scale = 3.0
    return s.as_lazy() if case["lazy"] else s


# -- sliding_fft -----------------------------------------------------------------
FFT_VALID = {
    "window_size": [4, 8, 16, (8, 16)],
    "step": [1, 4, 8, (4, 8)],
    "window": ["hann", "hamming", "blackman", "tukey", None],
    "log": [True, False],
    "power": [False, True],
    "crop": [None, 4, (4, 6)],
    "zoom": [None, 1.0, 2.0],
    "remove_dc": [False, True, 1],
    "normalize": [None, "sum", "l2", "max"],
    "tukey_alpha": [0.0, 0.5, 1.0],
    "allow_gaps": [False, True],
    "lazy_output": [None, False, True],
    "chunks": [None, 1, (2, 3)],
    "num_workers": [None, 1, 2],
}
FFT_BAD = {
    "window_size": [0, 3, -8, 10**6, (8,), (8, 8, 8), (8, -1), 8.0],
    "step": [0, -1, (0, 4), 2.5, 10**6],
    "crop": [0, -2, 10**6, (4,)],
    "zoom": [0.5, -1.0, 0.0, float("nan")],
    "remove_dc": [-1],
    "tukey_alpha": [-0.1, 1.5, float("nan")],
    "chunks": [0, -1],
    "num_workers": [0, -1],
    "window": ["hanning", "gaussian"],
    "normalize": ["L2", "mean"],
}


def _valid_value(table, name, value):
    try:
        return any(type(v) is type(value) and v == value for v in table[name])
    except Exception:
        return False


@st.composite
def option(draw, valid, bad):
    name = draw(st.sampled_from(sorted(valid)))
    kind = draw(st.sampled_from(["valid", "valid", "wrong", "bad"]))
    if kind == "valid":
        value = draw(st.sampled_from(valid[name]))
    elif kind == "bad" and name in bad:
        value = draw(st.sampled_from(bad[name]))
    else:
        value = draw(WRONG_TYPE)
    return name, value


def _definitely_bad(table, bad, name, value):
    if _valid_value(table, name, value):
        return False
    if name in bad and any(
        type(v) is type(value) and (v == value or v != v) for v in bad[name]
    ):
        return True
    # lists may be valid pairs, floats valid numbers: only plainly wrong types
    return isinstance(value, (str, bytes, dict, complex)) or (
        type(value).__name__ == "_Weird"
    )


def check_sliding_fft(out, image, window_size, step, crop=None, zoom=None):
    """Shape, dtype, finiteness and calibration of a sliding-FFT stack."""
    wy, wx = (window_size, window_size) if np.isscalar(window_size) else window_size
    sy, sx = (step, step) if np.isscalar(step) else step
    am = image.axes_manager
    ny, nx = am.signal_shape[::-1]
    nav = tuple(am.navigation_shape[::-1])
    if crop is not None:
        oy, ox = (crop, crop) if np.isscalar(crop) else crop
    elif zoom is not None:
        oy, ox = round(wy / zoom), round(wx / zoom)
    else:
        oy, ox = wy, wx
    n_wy, n_wx = (ny - wy) // sy + 1, (nx - wx) // sx + 1
    data = _computed(out.data)
    assert data.shape == (*nav, n_wy, n_wx, oy, ox), data.shape
    assert data.dtype == np.float32
    assert np.isfinite(data).all()
    kx, ky = out.axes_manager.signal_axes
    px = am.signal_axes[0]
    np.testing.assert_allclose(kx.scale, 1.0 / (wx * px.scale), rtol=1e-6)
    assert kx.offset == pytest.approx(-(ox // 2) * kx.scale)
    win_x = out.axes_manager.navigation_axes[0]
    np.testing.assert_allclose(win_x.scale, sx * px.scale, rtol=1e-6)
    np.testing.assert_allclose(
        win_x.offset, px.offset + (wx - 1) / 2 * px.scale, rtol=1e-6, atol=1e-12
    )
    return data


@settings(max_examples=examples(2))
@given(image_case(), option(FFT_VALID, FFT_BAD))
def test_sliding_fft_generated(case, opt):
    name, value = opt
    s = _image(case)
    note(f"{s} {s.data.dtype} {name}={value!r}")
    defect = known_defect("sliding_fft", name=name, value=value)
    if defect:
        count("sliding_fft", f"known defect {defect[:2]}")
        return
    kwargs = {"window_size": 8, "step": 4, name: value}
    bad_opt = _definitely_bad(FFT_VALID, FFT_BAD, name, value)
    ny, nx = case["ny"], case["nx"]
    bad_image = (
        s.data.dtype.kind == "c"
        or case["bad"] != "none"
        and s.data.dtype.kind in "fc"
        or min(ny, nx) < 8
        and not (name == "window_size" and np.ndim(value) == 0 and value == 4)
    )
    if name == "window_size" and not bad_opt:
        bad_image = bad_image and not (np.isscalar(value) and value <= min(ny, nx))
    before = snapshot(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated `workers`
        out, err = call(
            hu.sliding_fft,
            s,
            names=("image", *kwargs),
            expect_error=name if bad_opt and not bad_image else None,
            must_raise=bad_image or bad_opt,
            **kwargs,
        )
    assert_unchanged(s, before)
    count("sliding_fft", "error" if err else "result")
    if err is not None:
        return
    if not _valid_value(FFT_VALID, name, value):
        count("sliding_fft", f"accepted {name}={value!r}")
    try:
        data = check_sliding_fft(
            out,
            s,
            kwargs["window_size"],
            kwargs["step"],
            crop=kwargs.get("crop"),
            zoom=kwargs.get("zoom") if kwargs.get("crop") is None else None,
        )
    except AssertionError as e:
        raise ContractError(f"sliding_fft result: {e}") from e
    if kwargs.get("log", True) and name != "normalize":
        assert data.min() >= 0  # log1p of a magnitude
    if name == "normalize" and value == "max":
        peak = data.reshape(*data.shape[:-2], -1).max(axis=-1)
        assert np.all((np.abs(peak - 1) < 1e-5) | (peak == 0))


# -- segment_phases and phase_maps -----------------------------------------------
@settings(max_examples=examples(1))
@given(
    image_case(min_size=16),
    st.sampled_from([2, 3, 1, 0, -1, 2.5, "two", None, 2]),
    st.sampled_from([16, 24, (16, 24), 3, 200, "auto", None, 16]),
    st.sampled_from([8, 16, 0, (8, 16), "x", 8]),
)
def test_segment_phases_and_maps_generated(case, n_phases, window_size, step):
    case["stack"] = 0
    case["ny"], case["nx"] = max(case["ny"], 48), max(case["nx"], 40)
    s = _image(case, two_phase)
    note(f"{s} {s.data.dtype} n_phases={n_phases} w={window_size} step={step}")
    before = snapshot(s)
    kwargs = {"window_size": window_size, "step": step}
    if window_size is None:
        del kwargs["window_size"]
    names = ("image", "n_phases", "window_size", "step")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res, err = call(
            hu.segment_phases,
            s,
            n_phases,
            names=names,
            random_state=0,
            must_raise=not isinstance(n_phases, int) or n_phases < 1,
            **kwargs,
        )
    assert_unchanged(s, before)
    count("segment_phases", "error" if err else "result")
    if err is not None:
        return
    q = res.n_endmembers
    A = _computed(res.abundances.data)
    assert A.shape[0] == q == n_phases
    assert np.isfinite(A).all() and A.min() >= -1e-9
    np.testing.assert_allclose(A.sum(axis=0), 1.0, atol=1e-6)
    maps, err = call(hu.phase_maps, res, s, names=("result", "image", "order"))
    assert_unchanged(s, before)
    count("phase_maps", "error" if err else "result")
    if err is None:
        M = _computed(maps.data)
        assert M.shape == (q, case["ny"], case["nx"])
        assert np.isfinite(M).all()
        assert M.min() >= -1e-6 and M.max() <= 1 + 1e-6
        np.testing.assert_allclose(M.sum(axis=0), 1.0, atol=1e-5)
    # a different image than the one the result came from: clear error
    other = hs.signals.Signal2D(np.ones((7, 5), np.float32))
    _, err = call(hu.phase_maps, res, other, names=("image", "result"), must_raise=True)
    bad_order = [-1, 6, 1.5, "linear", None]
    for order in bad_order[:2]:
        call(hu.phase_maps, res, s, order=order, names=("order",), must_raise=True)


# -- neighborhood_pca ------------------------------------------------------------
NPCA_VALID = {
    "n_neighbors": [4, 6],
    "separation": [None, 4, 5.0],
    "refine": ["com", None],
    "metric": ["both", "distance", "angle"],
    "n_components": [1, 2, 3],
    "normalize": [True, False],
    "scaling": ["displacement", "std"],
    "algorithm": ["PCA", "SVD", "sklearn_pca", "NMF"],
    "edge_margin": [None, 0.0, 10.0],
    "max_deviation": [0.6, 0.3, 2.0],
    "threshold_rel": [0.02, 0.1],
    "tile_size": ["auto", None, 64],
    "num_workers": [None, 1],
    "random_state": [None, 0],
}
NPCA_BAD = {
    "n_neighbors": [1, 0, -3, 10**6],
    "separation": [0, -1.0, float("nan"), 10**6],
    "n_components": [0, -1, 10**3],
    "edge_margin": [-1.0, float("nan"), 10**6],
    "max_deviation": [0.0, -0.5, float("nan")],
    "threshold_rel": [-0.1, 1.5, float("nan")],
    "tile_size": [0, -5, 2],
    "num_workers": [0, -2],
    "random_state": [-1],
    "metric": ["distances", "all"],
    "refine": ["gauss"],
    "scaling": ["none"],
    "algorithm": ["pca", "magic"],
}


@settings(max_examples=examples(1.5))
@given(
    st.sampled_from(["float32", "float64"] * 3 + DTYPES + ["float32"]),
    st.integers(-30, 30),
    st.sampled_from(["none"] * 3 + ["nan", "inf"] + ["none"] * 3),
    st.booleans(),
    option(NPCA_VALID, NPCA_BAD),
)
def test_neighborhood_pca_generated(dtype, exponent, bad, lazy, opt):
    name, value = opt
    case = dict(
        ny=96, nx=96, dtype=dtype, scale=10.0**exponent, bad=bad, stack=0, lazy=lazy
    )
    s = _image(case)
    note(f"{s} {s.data.dtype} scale={case['scale']} {name}={value!r}")
    defect = known_defect("neighborhood_pca", name=name, value=value)
    if defect:
        count("neighborhood_pca", f"known defect {defect[:2]}")
        return
    bad_image = s.data.dtype.kind == "c" or bad != "none" and s.data.dtype.kind in "fc"
    bad_opt = _definitely_bad(NPCA_VALID, NPCA_BAD, name, value)
    before = snapshot(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ambiguous shells etc.
        warnings.simplefilter("ignore", FutureWarning)
        res, err = call(
            hu.neighborhood_pca,
            s,
            names=("image", name),
            expect_error=name if bad_opt and not bad_image else None,
            must_raise=bad_image or bad_opt,
            **{name: value},
        )
    assert_unchanged(s, before)
    count("neighborhood_pca", "error" if err else "result")
    if err is not None:
        return
    check_neighborhood(res, value if name == "n_components" else 3)


def check_neighborhood(res, k):
    N = res.positions.shape[0]
    assert res.positions.shape == (N, 2) and np.isfinite(res.positions).all()
    inc = np.asarray(res.included)
    assert inc.shape == (N,) and inc.dtype == np.bool_ and inc.any()
    assert res.descriptors.shape[0] == N
    assert res.scores.shape == (N, k)
    assert np.isnan(res.scores[~inc]).all()
    assert np.isfinite(res.scores[inc]).all()
    assert np.isnan(res.descriptors[~inc]).all()
    assert np.isfinite(res.descriptors[inc]).all()
    evr = np.asarray(res.explained_variance_ratio)
    assert evr.shape == (k,)
    assert np.all(evr >= -1e-12) and evr.sum() <= 1 + 1e-9
