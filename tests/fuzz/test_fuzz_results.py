"""Result classes: save -> load round trips and plot, on generated results (light).

Their save/plot code is being changed elsewhere: these properties only ask
that what is saved loads back with the same numbers, and that ``plot()``
runs, for results of generated maps (masks, lazy or not, 2-4 endmembers)
and of the cached lattice.
"""

import tempfile
import warnings
from pathlib import Path

import hyperspy.api as hs
import matplotlib.pyplot as plt
import numpy as np
import pytest
from fuzz_helpers import count, examples, lattice, mixture
from hypothesis import given, settings
from hypothesis import strategies as st

import hyperspy_unmix as hu

pytestmark = pytest.mark.fuzz


def _np(data):
    return np.asarray(data.compute() if hasattr(data, "compute") else data)


@settings(max_examples=examples(0.4))
@given(
    st.integers(2, 4),
    st.tuples(st.integers(4, 9), st.integers(4, 9)),
    st.booleans(),
    st.booleans(),
    st.sampled_from([".hspy", ".zspy", ""]),
)
def test_unmixing_result_round_trip_and_plot(q, nav, lazy, masked, ext):
    X, _, _, _ = mixture(q, nav, 10, q, noise=1e-3)
    s = hs.signals.Signal1D(X.astype(np.float32))
    kw = {}
    if masked:
        m = np.zeros(nav, bool)
        m[0, :2] = True
        kw["navigation_mask"] = hs.signals.BaseSignal(m).T
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = hu.nfindr_unmix(s.as_lazy() if lazy else s, q, random_state=0, **kw)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"run{ext}"
        res.save(path)
        back = hu.UnmixingResult.load(path)
    np.testing.assert_array_equal(back.indices, res.indices)
    for part in ("endmembers", "abundances", "residual"):
        np.testing.assert_allclose(
            _np(getattr(back, part).data),
            _np(getattr(res, part).data),
            rtol=1e-6,
            equal_nan=True,
        )
    res.plot()
    plt.close("all")
    count("UnmixingResult save/load/plot", "round trip")


@settings(max_examples=examples(0.2))
@given(
    st.sampled_from(["both", "distance", "angle"]),
    st.integers(1, 3),
    st.sampled_from([".hspy", ".zspy"]),
)
def test_neighborhood_result_round_trip_and_plot(metric, k, ext):
    img, _ = lattice()
    res = hu.neighborhood_pca(img, metric=metric, n_components=k)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"npca{ext}"
        res.save(path)
        back = hu.NeighborhoodPCAResult.load(path)
    for name in ("positions", "included", "descriptors", "scores"):
        np.testing.assert_allclose(
            np.asarray(getattr(back, name), dtype=float),
            np.asarray(getattr(res, name), dtype=float),
            equal_nan=True,
        )
    res.plot(component=k - 1)
    plt.close("all")
    count("NeighborhoodPCAResult save/load/plot", "round trip")
