"""Vectorised centre-of-mass refinement against known sub-pixel positions and a
per-atom brute-force reference."""

import math

import numpy as np
import pytest

from hyperspy_unmix._core.refinement import refine_center_of_mass


def blobs(shape, positions, sigma=1.8, background=0.3, noise=0.0, seed=0):
    """Gaussian atoms at exact sub-pixel positions (x, y) on a flat pedestal."""
    ny, nx = shape
    yy, xx = np.mgrid[:ny, :nx]
    img = np.full(shape, background)
    for x, y in positions:  # test-data generation, small images only
        img += np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    rng = np.random.default_rng(seed)
    return img + rng.normal(scale=noise, size=shape)


def grid_positions(spacing=12.0, n=8, jitter=1.0, seed=1, offset=10.0):
    rng = np.random.default_rng(seed)
    g = np.arange(n) * spacing + offset
    xy = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    return xy + rng.uniform(-jitter, jitter, size=xy.shape)


def reference_com(image, positions, radius, n_iter, subtract_background=True):
    """One atom at a time, one pixel at a time.

    Background: the lowest pixel within ``radius + sqrt(1/2)`` of the integer
    start pixel (a disc of ``radius`` around any point of that pixel fits in
    it); weights: pixels within ``radius`` of the current centre.
    """
    ny, nx = image.shape
    out = []
    r = int(math.ceil(radius)) + 1
    for x, y in positions:
        cx, cy = float(x), float(y)
        for _ in range(n_iter):
            bx, by = round(cx), round(cy)
            patch, disc = [], []
            for py in range(by - r, by + r + 1):
                for px in range(bx - r, bx + r + 1):
                    if not (0 <= px < nx and 0 <= py < ny):
                        continue
                    if math.hypot(px - bx, py - by) <= radius + math.sqrt(0.5) + 1e-9:
                        patch.append(float(image[py, px]))
                    if (px - cx) ** 2 + (py - cy) ** 2 <= radius**2:
                        disc.append((px, py, float(image[py, px])))
            low = min(patch) if (patch and subtract_background) else 0.0
            sw = sum(p[2] - low for p in disc)
            if sw > 0:
                cx = sum((p[2] - low) * p[0] for p in disc) / sw
                cy = sum((p[2] - low) * p[1] for p in disc) / sw
        out.append((cx, cy))
    return np.array(out)


@pytest.mark.parametrize("n_iter", [1, 3])
@pytest.mark.parametrize("subtract", [True, False])
def test_matches_per_atom_reference(n_iter, subtract):
    pos = grid_positions()
    img = blobs((100, 100), pos, noise=0.05)
    start = pos + np.random.default_rng(2).uniform(-1.2, 1.2, pos.shape)
    start = np.vstack([start, [[0.3, 50.0], [99.2, 98.9]]])  # discs cut by the edge
    ours = refine_center_of_mass(
        img, start, 4.5, n_iter=n_iter, subtract_background=subtract
    )
    ref = reference_com(img, start, 4.5, n_iter, subtract)
    # ours gathers pixels in float32 and sums with BLAS
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-4)


def test_recovers_subpixel_positions():
    pos = grid_positions(jitter=2.0)
    img = blobs((110, 110), pos, background=0.5)
    start = np.rint(pos)  # what a peak finder gives
    ours = refine_center_of_mass(img, start, 4.8, n_iter=4)
    err = np.hypot(*(ours - pos).T)
    assert np.sqrt(np.mean(err**2)) < 0.05
    # a single pass without background subtraction is biased toward the
    # integer start pixel (the disc's own centre of mass)
    naive = refine_center_of_mass(img, start, 4.8, n_iter=1, subtract_background=False)
    assert np.sqrt(np.mean(np.hypot(*(naive - pos).T) ** 2)) > 3 * np.sqrt(
        np.mean(err**2)
    )


def test_batches_give_the_same_result():
    pos = grid_positions()
    img = blobs((100, 100), pos, noise=0.02)
    a = refine_center_of_mass(img, pos + 0.4, 4.0)
    b = refine_center_of_mass(img, pos + 0.4, 4.0, batch_size=7)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)  # float32 BLAS sums


def test_flat_disc_keeps_position_and_input_untouched():
    img = np.ones((20, 20))
    start = np.array([[5.2, 6.7], [10.0, 10.0]])
    copy = start.copy()
    out = refine_center_of_mass(img, start, 3.0)
    np.testing.assert_array_equal(out, copy)
    np.testing.assert_array_equal(start, copy)
