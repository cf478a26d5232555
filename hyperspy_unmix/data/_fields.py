"""Smooth random fields for the generators, cheap at any image size.

A field is a sum of random cosines (random Fourier features): with wave vectors
drawn from a normal distribution of width ``1 / length`` it is, for many modes,
a Gaussian random field of unit variance whose correlation falls off as
``exp(-r**2 / (2 * length**2))``. Unlike a filtered white-noise image it can be
evaluated exactly anywhere (pixel grid or atom positions) and differentiated
analytically, and on a grid it separates into one small matrix product
(``cos(a + b) = cos a cos b - sin a sin b``), so a 4096 x 4096 field costs
milliseconds.
"""

import numpy as np


class SmoothField:
    """A smooth, zero-mean, unit-variance random field on the plane.

    Parameters
    ----------
    rng : numpy.random.Generator
    length : float or (float, float)
        Correlation length in pixels; a pair ``(length_x, length_y)`` gives an
        anisotropic field.
    n_modes : int
        Number of cosines; 48 is enough for a natural-looking field.
    """

    def __init__(self, rng, length, n_modes=48):
        lx, ly = np.broadcast_to(np.asarray(length, dtype=float), (2,))
        self.kx = rng.normal(size=n_modes) / lx
        self.ky = rng.normal(size=n_modes) / ly
        self.phase = rng.uniform(0.0, 2.0 * np.pi, size=n_modes)
        self.amp = np.sqrt(2.0 / n_modes)

    def at(self, x, y):
        """Values at points ``x``, ``y`` (arrays of the same shape, pixels)."""
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        arg = x * self.kx + y * self.ky + self.phase
        return self.amp * np.cos(arg).sum(axis=-1)

    def gradient_at(self, x, y):
        """``(d/dx, d/dy)`` of the field at the points ``x``, ``y``."""
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        s = -self.amp * np.sin(x * self.kx + y * self.ky + self.phase)
        return (s * self.kx).sum(axis=-1), (s * self.ky).sum(axis=-1)

    def grid(self, ny, nx):
        """Values at every pixel centre, array of shape ``(ny, nx)`` (float64)."""
        x = np.arange(nx, dtype=float)[:, None]
        y = np.arange(ny, dtype=float)[:, None]
        ax = x * self.kx + self.phase  # (nx, M)
        ay = y * self.ky  # (ny, M)
        cos_part = np.cos(ay) @ np.cos(ax).T
        sin_part = np.sin(ay) @ np.sin(ax).T
        return self.amp * (cos_part - sin_part)
