"""Maps without pure pixels: refine="minvol" and the warning that suggests it."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image


def _angle(E, T):
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    cost = np.arccos(np.clip(E @ T.T, -1, 1))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean())


# (at 40 counts per channel and below the gain falls under 2x: see the docs)
@pytest.mark.parametrize("kind, dose", [("eds", 2e4), ("eels", 2e5)])
def test_minvol_at_least_twice_closer_without_pure_pixels(kind, dose):
    s, truth = spectrum_image(
        (96, 96), 256, 4, dose=dose, kind=kind, max_purity=0.8, random_state=2
    )
    with pytest.warns(UserWarning, match="no pure pixels.*minvol"):
        plain = hu.nfindr_unmix(s, 4)
    res = hu.nfindr_unmix(s, 4, refine="minvol")
    assert 2 * _angle(res.endmembers.data, truth.endmembers) <= _angle(
        plain.endmembers.data, truth.endmembers
    )
    A = res.abundances.data
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=0), 1, atol=1e-12)
    assert res.abundances.metadata.hyperspy_unmix.parameters.refine == "minvol"


def test_minvol_not_worse_with_pure_pixels_and_lazy_equal():
    s, truth = spectrum_image((96, 96), 256, 4, dose=2e5, kind="eds", random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pure pixels: no warning
        plain = hu.nfindr_unmix(s, 4)
    res = hu.nfindr_unmix(s, 4, refine="minvol")
    assert _angle(res.endmembers.data, truth.endmembers) <= 1.05 * _angle(
        plain.endmembers.data, truth.endmembers
    )
    lazy = hu.nfindr_unmix(s.as_lazy(), 4, refine="minvol", lazy_output=False)
    np.testing.assert_allclose(
        lazy.endmembers.data,
        res.endmembers.data,
        rtol=0,
        atol=1e-4 * res.endmembers.data.max(),
    )


def test_bad_refine():
    s, _ = spectrum_image((16, 16), 32, 2, random_state=0)
    with pytest.raises(ValueError, match="`refine`"):
        hu.nfindr_unmix(s, 2, refine="sisal")
