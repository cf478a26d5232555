"""nfindr_unmix against the ground truth of hyperspy_unmix.data.spectrum_image."""

import hashlib

import hyperspy.api as hs
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from hyperspy_unmix.data import spectrum_image
from hyperspy_unmix.signals import SpectralMap
from hyperspy_unmix.unmixing import UnmixingResult, nfindr_unmix


def angles(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.arccos(np.clip(a @ b.T, -1.0, 1.0))


def match_arrays(found, true):
    """Optimal endmember matching (found row r[i] <-> true row c[i])."""
    ang = angles(found.reshape(found.shape[0], -1), true)
    r, c = linear_sum_assignment(ang)
    return r, c, ang[r, c]


def match(res, truth):
    return match_arrays(res.endmembers.data, truth.endmembers)


def snapshot(s):
    data = s.data.compute() if s._lazy else s.data
    lr = s.learning_results
    return (
        hashlib.sha1(np.ascontiguousarray(data).tobytes()).hexdigest(),
        data.dtype,
        [ax.get_axis_dictionary() for ax in s.axes_manager._axes],
        repr(s.metadata.as_dictionary()),
        None if lr.factors is None else np.asarray(lr.factors).copy(),
        lr.decomposition_algorithm,
    )


def assert_same(a, b):
    assert a[:4] == b[:4]
    if a[4] is None:
        assert b[4] is None
    else:
        np.testing.assert_array_equal(a[4], b[4])
    assert a[5] == b[5]


@pytest.fixture(scope="module")
def clean():
    # non-square map, noise-free, float64
    return spectrum_image((24, 32), 64, 3, dose=None, random_state=0, dtype="float64")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_noise_free_exact_pure_pixels_and_abundances(dtype):
    s, truth = spectrum_image((32, 40), 96, 4, dose=None, random_state=1, dtype=dtype)
    res = nfindr_unmix(s, 4)
    r, c, _ = match(res, truth)
    for i, k in zip(r, c):
        assert truth.pure_mask[k][tuple(res.indices[i])], "not a pure pixel"
    np.testing.assert_allclose(res.abundances.data[r], truth.abundances[c], atol=1e-6)
    np.testing.assert_allclose(
        res.endmembers.data[r], truth.endmembers[c], rtol=1e-6, atol=0
    )


@pytest.fixture(scope="module")
def noisy_high():
    return spectrum_image((128, 128), 512, 4, dose=2e5, random_state=0)


def noise_floor(s, truth):
    spectra = s.data[tuple(truth.pure_pixels.T)]
    return np.mean(np.diag(angles(spectra, truth.endmembers)))


def test_accuracy_at_high_dose(noisy_high):
    s, truth = noisy_high
    floor = noise_floor(s, truth)
    assert floor < 0.05
    res = nfindr_unmix(s, 4)
    r, c, ang = match(res, truth)
    assert ang.mean() <= 1.1 * floor
    A = res.abundances.data
    assert np.sqrt(np.mean((A[r] - truth.abundances[c]) ** 2)) <= 0.05
    assert A.min() >= 0
    assert np.abs(A.sum(0) - 1).max() <= 1e-6


def test_denoised_endmembers_beat_the_floor_at_low_dose():
    s, truth = spectrum_image((128, 128), 512, 4, dose=1e4, random_state=0)
    floor = noise_floor(s, truth)
    res = nfindr_unmix(s, 4, endmember_estimate="denoised")
    _, _, ang = match(res, truth)
    assert ang.mean() * 2 <= floor
    # Averaging over a neighbourhood helps further, raw pixels cannot.
    res_nb = nfindr_unmix(s, 4, endmember_estimate="denoised", neighborhood=1)
    assert match(res_nb, truth)[2].mean() < ang.mean()


def test_result_layout_and_metadata(clean):
    s, _ = clean
    s = s.deepcopy()
    s.metadata.General.title = "EELS map"
    res = s.nfindr_unmix(3)
    e, a, r = res.endmembers, res.abundances, res.residual
    assert isinstance(e, SpectralMap)
    assert e.metadata.Signal.signal_type == "spectral_map"
    assert e.data.shape == (3, 64)
    assert e.axes_manager.navigation_axes[0].name == "Endmember index"
    se, ss = e.axes_manager.signal_axes[0], s.axes_manager.signal_axes[0]
    assert (se.name, se.units, se.scale, se.offset) == (
        ss.name,
        ss.units,
        ss.scale,
        ss.offset,
    )
    assert isinstance(a, hs.signals.Signal2D)
    assert a.data.shape == (3, 24, 32)
    assert a.axes_manager.navigation_axes[0].name == "Endmember index"
    for ax_a, ax_s in zip(a.axes_manager.signal_axes, s.axes_manager.navigation_axes):
        assert (ax_a.name, ax_a.units, ax_a.scale, ax_a.offset, ax_a.size) == (
            ax_s.name,
            ax_s.units,
            ax_s.scale,
            ax_s.offset,
            ax_s.size,
        )
    assert r.data.shape == (24, 32) and isinstance(r, hs.signals.Signal2D)
    assert e.metadata.General.title == "Endmembers of EELS map"
    assert a.metadata.General.title == "Abundances of EELS map"
    for sig in (e, a, r):
        assert sig.metadata.hyperspy_unmix.method == "nfindr_unmix"
        assert sig.metadata.hyperspy_unmix.parameters.n_endmembers == 3
    assert res.indices.shape == (3, 2)
    assert res.volume > 0 and res.n_iter >= 1
    assert res.explained_variance.shape == (2,)
    # residual of noise-free data is at rounding level
    assert np.nanmax(r.data) < 1e-7 * np.abs(s.data).max()
    assert "3 endmembers" in repr(res)


@pytest.mark.parametrize("lazy", [False, True])
def test_input_unchanged(clean, lazy):
    s, _ = clean
    s = s.deepcopy()
    s.decomposition(output_dimension=2, print_info=False)  # user's own results
    s.metadata.set_item("hyperspy_unmix.method", "earlier")
    if lazy:
        s = s.as_lazy()
        s.decomposition(output_dimension=2, print_info=False)
    before = snapshot(s)
    mask = np.zeros(s.axes_manager.navigation_shape, bool)
    mask[:3, :2] = True
    nfindr_unmix(s, 3, navigation_mask=mask, endmember_estimate="denoised")
    assert_same(before, snapshot(s))
    with pytest.raises(ValueError):
        nfindr_unmix(s, 1)
    assert_same(before, snapshot(s))


@pytest.mark.parametrize("shape", [(20, 20), (18, 26)])
def test_navigation_masks_pick_the_right_pixels(shape):
    s, truth = spectrum_image(shape, 48, 3, dose=None, random_state=2, dtype="float64")
    res0 = nfindr_unmix(s, 3)
    r, c, _ = match(res0, truth)
    # Exclude the whole pure patch of endmember c[0] plus an asymmetric block.
    excl = truth.pure_mask[c[0]].copy()  # array order (ny, nx)
    excl[: shape[0] // 3, : shape[1] // 4] = True
    # numpy masks are in axes order (x first): the transpose, like decomposition
    res_np = nfindr_unmix(s, 3, navigation_mask=excl.T)
    mask_sig = hs.signals.BaseSignal(excl).T
    res_sig = nfindr_unmix(s, 3, navigation_mask=mask_sig)
    np.testing.assert_array_equal(res_np.indices, res_sig.indices)
    # an image mask (signal axes = the map's axes) is read the same way
    res_img = nfindr_unmix(s, 3, navigation_mask=hs.signals.Signal2D(excl))
    np.testing.assert_array_equal(res_img.indices, res_sig.indices)
    for idx in res_np.indices:
        assert not excl[tuple(idx)], "a masked pixel was chosen"
    A = res_np.abundances.data
    assert np.isnan(A[:, excl]).all() and not np.isnan(A[:, ~excl]).any()
    assert np.isnan(res_np.residual.data[excl]).all()
    # The other endmembers are still found exactly.
    r2, c2, ang = match(res_np, truth)
    for i, k in zip(r2, c2):
        if k != c[0]:
            assert truth.pure_mask[k][tuple(res_np.indices[i])]
    # NaN in the masked part is allowed.
    s_nan = s.deepcopy()
    s_nan.data[excl] = np.nan
    res_nan = nfindr_unmix(s_nan, 3, navigation_mask=mask_sig)
    np.testing.assert_array_equal(res_nan.indices, res_sig.indices)
    np.testing.assert_allclose(
        res_nan.abundances.data[:, ~excl], A[:, ~excl], atol=1e-9
    )


def test_signal_mask(clean):
    s, truth = clean
    keep = np.ones(64, bool)
    keep[10:30] = False
    s_bad = s.deepcopy()
    s_bad.data[..., ~keep] = np.inf  # excluded channels may hold anything
    res = nfindr_unmix(s_bad, 3, signal_mask=~keep)
    r, c, _ = match_arrays(res.endmembers.data[:, keep], truth.endmembers[:, keep])
    np.testing.assert_allclose(res.abundances.data[r], truth.abundances[c], atol=1e-6)
    assert res.endmembers.data.shape == (3, 64)  # all channels kept
    assert np.isfinite(res.residual.data).all()
    sm = hs.signals.Signal1D(~keep)
    res_sig = nfindr_unmix(s_bad, 3, signal_mask=sm)
    np.testing.assert_array_equal(res_sig.indices, res.indices)


@pytest.mark.parametrize("masked", [False, True])
def test_lazy_equals_in_memory(masked):
    # noisy: no exact ties between pixels, so the chosen pixels are unique
    s, _ = spectrum_image((24, 32), 64, 3, dose=1e4, random_state=0, dtype="float64")
    kw = {}
    if masked:
        m = np.zeros(s.axes_manager.navigation_shape, bool)
        m[5:9, 2:12] = True
        kw["navigation_mask"] = m
    eager = nfindr_unmix(s, 3, **kw)
    sl = s.as_lazy()
    sl.rechunk(nav_chunks=(8, 12))
    lazy = nfindr_unmix(sl, 3, **kw)
    assert lazy.abundances._lazy and lazy.residual._lazy
    assert not lazy.endmembers._lazy
    np.testing.assert_array_equal(lazy.indices, eager.indices)
    np.testing.assert_allclose(lazy.endmembers.data, eager.endmembers.data, rtol=1e-12)
    np.testing.assert_allclose(
        lazy.abundances.data.compute(), eager.abundances.data, atol=1e-9
    )
    np.testing.assert_allclose(
        lazy.residual.data.compute(), eager.residual.data, atol=1e-9
    )
    computed = nfindr_unmix(sl, 3, lazy_output=False, **kw)
    assert not computed.abundances._lazy
    np.testing.assert_allclose(
        computed.abundances.data, eager.abundances.data, atol=1e-9
    )
    made_lazy = nfindr_unmix(s, 3, lazy_output=True, **kw)
    assert made_lazy.abundances._lazy
    np.testing.assert_allclose(
        made_lazy.abundances.data.compute(), eager.abundances.data, atol=1e-12
    )


def test_seeded_random_init_repeats():
    s, _ = spectrum_image((24, 24), 64, 4, dose=5e3, random_state=3)
    a = nfindr_unmix(s, 4, init="random", n_init=3, random_state=7)
    b = nfindr_unmix(s, 4, init="random", n_init=3, random_state=7)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.abundances.data, b.abundances.data)
    assert a.volume == b.volume


def pattern_stack(nav=(9, 11), sig=(8, 10), q=3, seed=0):
    rng = np.random.default_rng(seed)
    P = rng.random((q, *sig))
    A = rng.dirichlet(np.ones(q), nav)
    pure = [(0, 0), (4, 5), (nav[0] - 1, nav[1] - 1)]
    for k, p in enumerate(pure):
        A[p] = np.eye(q)[k]
    data = np.einsum("yxk,kij->yxij", A, P)
    return data, P, A, pure


def test_two_dimensional_signal_sliding_fft_like():
    data, P, A, pure = pattern_stack()
    s = hs.signals.Signal2D(data)
    s.set_signal_type("sliding_fft")
    for ax, name in zip(s.axes_manager.signal_axes, ("kx", "ky")):
        ax.name, ax.units, ax.scale = name, "1 / nm", 0.05
    for ax, name in zip(s.axes_manager.navigation_axes, ("x", "y")):
        ax.name, ax.units, ax.scale, ax.offset = name, "nm", 4.0, 8.0
    s.metadata.set_item("hyperspy_unmix.method", "sliding_fft")
    s.metadata.set_item("hyperspy_unmix.parameters.window_size", 16)
    res = nfindr_unmix(s, 3)
    assert sorted(map(tuple, res.indices.tolist())) == sorted(pure)
    assert type(res.endmembers).__name__ == "SlidingFFT"
    assert res.endmembers.data.shape == (3, 8, 10)
    assert [ax.name for ax in res.endmembers.axes_manager.signal_axes] == ["kx", "ky"]
    order = [pure.index(tuple(i)) for i in res.indices]
    np.testing.assert_allclose(res.endmembers.data, P[order], atol=1e-12)
    np.testing.assert_allclose(
        res.abundances.data, np.moveaxis(A, -1, 0)[order], atol=1e-9
    )
    a_axes = res.abundances.axes_manager.signal_axes
    assert [(ax.name, ax.scale, ax.offset) for ax in a_axes] == [
        ("x", 4.0, 8.0),
        ("y", 4.0, 8.0),
    ]
    # The input's provenance stays reachable, this call's is on top.
    md = res.abundances.metadata.hyperspy_unmix
    assert md.method == "nfindr_unmix"
    assert md.input.method == "sliding_fft"
    assert md.input.parameters.window_size == 16


def test_one_dimensional_navigation_and_integer_data():
    rng = np.random.default_rng(4)
    E = rng.random((3, 30)) * 1000
    A = rng.dirichlet(np.ones(3), 50)
    A[[3, 20, 41]] = np.eye(3)
    X = np.round(A @ E).astype(np.uint16)
    s = hs.signals.Signal1D(X)
    res = nfindr_unmix(s, 3)
    assert sorted(res.indices[:, 0].tolist()) == [3, 20, 41]
    assert isinstance(res.abundances, hs.signals.Signal1D)
    ref = nfindr_unmix(hs.signals.Signal1D(X.astype(float)), 3)
    np.testing.assert_allclose(res.abundances.data, ref.abundances.data, atol=1e-12)


def test_non_uniform_signal_axis_carried_over(clean):
    s, _ = clean
    s = s.deepcopy()
    s.axes_manager.signal_axes[0].convert_to_non_uniform_axis()
    res = nfindr_unmix(s, 3)
    np.testing.assert_array_equal(
        res.endmembers.axes_manager.signal_axes[0].axis,
        s.axes_manager.signal_axes[0].axis,
    )


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda s: nfindr_unmix(s, 1), ValueError, "n_endmembers"),
        (lambda s: nfindr_unmix(s, 2.5), TypeError, "n_endmembers"),
        (lambda s: nfindr_unmix(s.inav[:1, :2], 3), ValueError, "n_endmembers"),
        (lambda s: nfindr_unmix(s, 3, abundances="lasso"), ValueError, "abundances"),
        (lambda s: nfindr_unmix(s, 3, endmember_estimate="x"), ValueError, "endmember"),
        (lambda s: nfindr_unmix(s, 3, init="kmeans"), ValueError, "init"),
        (lambda s: nfindr_unmix(s, 3, n_init=0), ValueError, "n_init"),
        (lambda s: nfindr_unmix(s, 3, max_iter=0), ValueError, "max_iter"),
        (lambda s: nfindr_unmix(s, 3, neighborhood=-1), ValueError, "neighborhood"),
        (lambda s: nfindr_unmix(s, 3, neighbourhood=-1), ValueError, "neighbourhood"),
        (lambda s: nfindr_unmix(s, 3, lazy_output="yes"), TypeError, "lazy_output"),
        (lambda s: nfindr_unmix(s, 3, random_state="x"), TypeError, "random_state"),
        (lambda s: nfindr_unmix(s.data, 3), TypeError, "signal"),
        (lambda s: nfindr_unmix(s.inav[0, 0], 3), ValueError, "navigation"),
        (
            lambda s: nfindr_unmix(hs.signals.BaseSignal(s.data[..., :4]).T, 2),
            ValueError,
            "signal dimension",
        ),
        (lambda s: nfindr_unmix(s * 1j, 3), TypeError, "complex"),
        (
            lambda s: nfindr_unmix(s, 3, navigation_mask=np.zeros((3, 3), bool)),
            ValueError,
            "navigation_mask",
        ),
        (
            lambda s: nfindr_unmix(s, 3, navigation_mask=np.zeros((32, 24), int)),
            TypeError,
            "navigation_mask",
        ),
        (
            lambda s: nfindr_unmix(s, 3, navigation_mask=np.ones((32, 24), bool)),
            ValueError,
            "navigation_mask",
        ),
        (
            lambda s: nfindr_unmix(s, 3, signal_mask=np.zeros(5, bool)),
            ValueError,
            "signal_mask",
        ),
        (
            lambda s: nfindr_unmix(s, 3, signal_mask=np.arange(64) > 0),
            ValueError,
            "signal_mask",
        ),
        (
            lambda s: nfindr_unmix(
                s, 3, navigation_mask=hs.signals.Signal1D(np.zeros(5))
            ),
            ValueError,
            "navigation_mask",
        ),
    ],
)
def test_bad_input(clean, call, err, match):
    s, _ = clean
    s = s.deepcopy()
    before = snapshot(s)
    with pytest.raises(err, match=match):
        call(s)
    assert_same(before, snapshot(s))


def test_non_finite_and_rank_errors(clean):
    s, _ = clean
    bad = s.deepcopy()
    bad.data[3, 4, 5] = np.nan
    before = snapshot(bad)
    with pytest.raises(ValueError, match="NaN"):
        nfindr_unmix(bad, 3)
    assert_same(before, snapshot(bad))
    lazy_bad = bad.as_lazy()
    with pytest.raises(ValueError, match="`signal` contains NaN"):
        nfindr_unmix(lazy_bad, 3)
    # a mask that does not cover the NaN: still refused, naming the part
    mask = np.zeros(bad.axes_manager.navigation_shape, bool)
    mask[0, 0] = True
    with pytest.raises(ValueError, match="unmasked part"):
        nfindr_unmix(bad, 3, navigation_mask=mask)
    with pytest.raises(ValueError, match="unmasked part"):
        nfindr_unmix(lazy_bad, 3, navigation_mask=mask)
    with pytest.raises(ValueError, match="unmasked part"):
        nfindr_unmix(bad, 3, signal_mask=np.arange(64) == 0)
    # 3 endmembers in the data: rank 2 after centring, so 5 cannot be found
    with pytest.raises(ValueError, match="rank 2"):
        nfindr_unmix(s, 5)
    s32 = s.deepcopy()
    s32.change_dtype("float32")
    with pytest.raises(ValueError, match="rank 2"):
        nfindr_unmix(s32, 4)
    flat = s.deepcopy()
    flat.data[:] = 1.0
    with pytest.raises(ValueError, match="rank 0"):
        nfindr_unmix(flat, 2)


@pytest.mark.parametrize("ext", [".hspy", ".zspy"])
@pytest.mark.parametrize("lazy", [False, True])
def test_save_load_round_trip(clean, tmp_path, ext, lazy):
    s, _ = clean
    res = nfindr_unmix(s.as_lazy() if lazy else s, 3)
    path = res.save(tmp_path / f"run{ext}")
    assert path.exists() and path.name == f"run{ext}"  # one file (0.2)
    back = UnmixingResult.load(tmp_path / f"run{ext}")
    np.testing.assert_array_equal(back.indices, res.indices)
    assert back.volume == res.volume and back.n_iter == res.n_iter
    np.testing.assert_array_equal(back.explained_variance, res.explained_variance)
    for part in ("endmembers", "abundances", "residual"):
        a, b = getattr(res, part), getattr(back, part)
        data = a.data.compute() if a._lazy else a.data
        np.testing.assert_array_equal(b.data, data)
        assert type(b).__name__ == type(a).__name__.replace("Lazy", "")
        assert b.metadata.General.title == a.metadata.General.title
        assert [ax.get_axis_dictionary() for ax in b.axes_manager._axes] == [
            ax.get_axis_dictionary() for ax in a.axes_manager._axes
        ]
    assert back.endmembers.metadata.hyperspy_unmix.parameters.n_endmembers == 3
    with pytest.raises(FileNotFoundError, match="missing"):
        UnmixingResult.load(tmp_path / "nothing.hspy")


def test_plot(clean):
    s, _ = clean
    fig = nfindr_unmix(s, 3).plot(static=True)
    assert len(fig.axes) >= 6
    data, *_ = pattern_stack()
    fig2 = nfindr_unmix(hs.signals.Signal2D(data), 3).plot(static=True)
    assert len(fig2.axes) >= 6


def test_lazy_two_dimensional_signal_with_masks():
    data, P, A, pure = pattern_stack(nav=(10, 12))
    s = hs.signals.Signal2D(data)
    nav = np.zeros((12, 10), bool)  # navigation_shape order (x, y)
    nav[6:, 2:4] = True
    sig = np.zeros((10, 8), bool)  # signal_shape order (kx, ky)
    sig[:2, :] = True
    eager = nfindr_unmix(s, 3, navigation_mask=nav, signal_mask=sig)
    sl = s.as_lazy()
    sl.rechunk(nav_chunks=(5, 6))
    lazy = nfindr_unmix(sl, 3, navigation_mask=nav, signal_mask=sig)
    np.testing.assert_array_equal(lazy.indices, eager.indices)
    np.testing.assert_allclose(
        lazy.abundances.data.compute(), eager.abundances.data, atol=1e-9, equal_nan=True
    )
    # signal mask (kx, ky) order: columns kx < 2 of every pattern are excluded
    excluded = np.zeros((8, 10), bool)
    excluded[:, :2] = True
    keep = ~nav.T
    X = data[keep].reshape(-1, 80)[:, ~excluded.ravel()]
    E = eager.endmembers.data.reshape(3, 80)[:, ~excluded.ravel()]
    fit = eager.abundances.data[:, keep].T @ E
    np.testing.assert_allclose(fit, X, atol=1e-9)


def test_scale_and_dtype_invariance():
    s, _ = spectrum_image((20, 24), 64, 3, dose=2e4, random_state=5, dtype="float64")
    ref = nfindr_unmix(s, 3)
    for factor, dtype in [(1e-6, "float64"), (1e6, "float64"), (1.0, "float32")]:
        other = s * factor
        other.change_dtype(dtype)
        res = nfindr_unmix(other, 3)
        np.testing.assert_array_equal(res.indices, ref.indices)
        np.testing.assert_allclose(res.abundances.data, ref.abundances.data, atol=1e-5)
        np.testing.assert_allclose(
            res.endmembers.data, ref.endmembers.data * factor, rtol=1e-6
        )


def test_convergence_warning_when_the_search_stops_at_max_iter():
    """A search cut short says so (scikit-learn's ConvergenceWarning), in the
    function and the estimator alike; a converged one stays quiet."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    import hyperspy_unmix as hu

    s, _ = hu.data.spectrum_image((32, 32), 64, 4, random_state=1)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        res = nfindr_unmix(s, 4, init="random", max_iter=1, random_state=0)
    assert res.n_iter == 1
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        hu.NFINDR(4, init="random", max_iter=1, random_state=0).fit(
            s.data.reshape(-1, 64)
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        nfindr_unmix(s, 4, init="random", random_state=0)


def test_neighbourhood_spelling_still_works_with_a_deprecation_warning():
    s, _ = spectrum_image((24, 24), 32, 3, random_state=0)
    new = nfindr_unmix(s, 3, neighborhood=1)
    with pytest.warns(DeprecationWarning, match="`neighbourhood` is deprecated"):
        old = nfindr_unmix(s, 3, neighbourhood=1)
    np.testing.assert_array_equal(old.endmembers.data, new.endmembers.data)
    with pytest.raises(TypeError, match="not both"):
        nfindr_unmix(s, 3, neighbourhood=1, neighborhood=2)
