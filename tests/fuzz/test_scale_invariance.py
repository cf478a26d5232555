"""The unmixing result does not depend on the overall scale of the data.

float32 maps times 1e-30 ... 1e30 (wherever float32 holds every value as a
normal number) give the same chosen pixels and abundances as the map
itself, in memory and lazily; times a power of two the moments are exactly
scaled. Only data whose squares overflow even float64 get an error, and it
says so (not "NaN or infinite").
"""

from functools import lru_cache

import hyperspy.api as hs
import numpy as np
import pytest
from fuzz_helpers import examples, mixture
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperspy_unmix as hu
from hyperspy_unmix._core import blockwise
from hyperspy_unmix._core.pca import CovariancePCA

pytestmark = pytest.mark.fuzz

KW = {"outliers": None, "random_state": 0}


@lru_cache(maxsize=1)
def _reference():
    """A noisy 3-phase float32 map with pure pixels, and its unmixing."""
    X, _, _, pure = mixture(11, (12, 10), 24, 3, noise=2e-3)
    s = hs.signals.Signal1D((X * 1000).astype(np.float32))
    return s, pure, hu.nfindr_unmix(s, 3, **KW)


def _scaled(s, factor):
    return s._deepcopy_with_new_data((s.data * factor).astype(np.float32))


def _assert_same(res, ref, s):
    np.testing.assert_array_equal(res.indices, ref.indices)
    np.testing.assert_allclose(
        np.asarray(res.abundances.data), ref.abundances.data, atol=2e-5
    )


@pytest.mark.parametrize("lazy", [False, True])
@pytest.mark.parametrize("exponent", range(-30, 31, 5))
def test_float32_unmixing_is_scale_invariant(exponent, lazy):
    s, pure, ref = _reference()
    # the map's values are ~200-1000: 1e30 keeps them below float32's max
    t = _scaled(s, np.float32(10.0**exponent))
    assert np.isfinite(t.data).all() and t.data.min() > np.finfo(np.float32).tiny
    res = hu.nfindr_unmix(t.as_lazy() if lazy else t, 3, **KW)
    _assert_same(res, ref, s)
    assert sorted(np.ravel_multi_index(tuple(res.indices.T), (12, 10))) == sorted(pure)
    # endmembers scale with the data
    np.testing.assert_allclose(
        np.asarray(res.endmembers.data),
        ref.endmembers.data * 10.0**exponent,
        rtol=1e-4,
    )


@settings(max_examples=examples(0.5))
@given(
    st.floats(-99.0, 98.0),
    st.booleans(),
    st.sampled_from(["fcls", "nnls", "scls"]),
    st.sampled_from(["pixel", "denoised"]),
)
def test_float32_scale_invariance_generated(log2_scale, lazy, method, estimate):
    # any factor 2**-99 ... 2**98 (about 1.6e-30 ... 3.2e29), not only decades
    s, _, _ = _reference()
    kw = dict(KW, abundances=method, endmember_estimate=estimate)
    ref = hu.nfindr_unmix(s, 3, **kw)
    t = _scaled(s, np.float32(2.0**log2_scale))
    res = hu.nfindr_unmix(t.as_lazy() if lazy else t, 3, **kw)
    _assert_same(res, ref, s)


@pytest.mark.parametrize("lazy", [False, True])
def test_power_of_two_scale_is_exact_in_memory_and_lazily(lazy):
    # a power of two scales every float exactly: so do the moments, also where
    # they had to be rescaled (2**110: float32 squares overflow)
    s, _, _ = _reference()
    X = s.data.reshape(-1, s.data.shape[-1])
    shift = X[:50].mean(axis=0, dtype=np.float64)
    m0 = _moments(X, shift, lazy)
    for k in (-100, 0, 60, 110):
        m = _moments(np.ldexp(X, k), np.ldexp(shift, k), lazy)
        np.testing.assert_array_equal(m[0], m0[0])  # count
        np.testing.assert_array_equal(m[1], np.ldexp(m0[1], k))  # sums
        np.testing.assert_array_equal(m[2:], np.ldexp(m0[2:], 2 * k))  # Gram
        # LAPACK's eigh scales internally: equal to rounding, not bit for bit
        ref = CovariancePCA.from_moments(2, shift, m0)
        got = CovariancePCA.from_moments(2, np.ldexp(shift, k), m)
        np.testing.assert_allclose(got.components_, ref.components_, atol=1e-12)


def _moments(X, shift, lazy):
    if not lazy:
        out = blockwise.block_moments(X, shift=shift)
        return out.reshape(out.shape[-2:])
    import dask.array as da

    chunked = da.from_array(X, chunks=(37, -1))
    return blockwise.lazy_moments(chunked, shift=shift).compute()


def test_in_memory_and_lazy_moments_identical_at_extreme_scale():
    # the same scale handling in both paths: one block each, identical numbers
    s, _, _ = _reference()
    X = s.data.reshape(-1, s.data.shape[-1]) * np.float32(1e30)
    shift = X[:40].mean(axis=0, dtype=np.float64)
    import dask.array as da

    eager = blockwise.block_moments(X, shift=shift)
    lazy = blockwise.lazy_moments(da.from_array(X, chunks=(-1, -1)), shift=shift)
    np.testing.assert_array_equal(lazy.compute(), eager.reshape(lazy.shape))
    assert np.isfinite(eager).all()


@pytest.mark.parametrize("lazy", [False, True])
def test_values_whose_squares_overflow_float64_get_a_clear_error(lazy):
    s, _, _ = _reference()
    t = s._deepcopy_with_new_data(s.data.astype(np.float64) * 1e160)
    with pytest.raises(ValueError, match="too large.*overflow float64"):
        hu.nfindr_unmix(t.as_lazy() if lazy else t, 3, **KW)
