"""Sliding-window FFT: ours end to end against what notebooks do and the ceiling.

Image 2048 x 2048 float32, window 64, step 16 (15 625 windows) and step 8
(62 001 windows). Two references:

1. a plain loop over windows with ``numpy.fft.fft2`` (mean removal, taper,
   fft2, fftshift, abs, log1p; written into a preallocated output, which is
   kinder to it than the usual list + stack);
2. the ceiling of the machine: one batched ``scipy.fft.rfft2`` (workers =
   cores) over an already gathered, contiguous, tapered float32 stack of the
   same windows. Its ratio is our throughput as a fraction of that ceiling.

Ours is the public ``hyperspy_unmix.sliding_fft`` on a ``Signal2D``: validation,
finite check, gathering, mean removal, taper, FFT, shift, magnitude, log,
output written, calibrated signal built.
"""

import functools
import os

import hyperspy.api as hs
import numpy as np
import scipy.fft
from _timing import compare
from numpy.lib.stride_tricks import sliding_window_view

from hyperspy_unmix import sliding_fft


def _loop(image, window, step, out):
    taper = np.outer(np.hanning(window), np.hanning(window)).astype(np.float32)
    ny, nx = image.shape
    for i, y in enumerate(range(0, ny - window + 1, step)):
        for j, x in enumerate(range(0, nx - window + 1, step)):
            w = image[y : y + window, x : x + window]
            f = np.fft.fftshift(np.fft.fft2((w - w.mean()) * taper))
            out[i, j] = np.log1p(np.abs(f))
    return out


def cases(quick=False):
    size = 512 if quick else 2048
    window = 64
    rng = np.random.default_rng(0)
    data = rng.random((size, size), dtype=np.float32)
    image = hs.signals.Signal2D(data)
    taper = np.outer(np.hanning(window), np.hanning(window)).astype(np.float32)
    cores = os.cpu_count() or 1
    for step in (16, 8):
        views = sliding_window_view(data, (window, window))[::step, ::step]
        n = views.shape[0] * views.shape[1]

        def ours():
            return sliding_fft(image, window, step)

        # sanity: the same numbers as the loop
        loop_out = np.empty((*views.shape[:2], window, window), dtype=np.float32)
        _loop(data, window, step, loop_out)
        np.testing.assert_allclose(ours().data, loop_out, rtol=1e-4, atol=1e-4)

        t = compare(ours, lambda: _loop(data, window, step, loop_out), repeats=3)
        yield {
            "case": f"sliding_fft {size}^2 win {window} step {step} ({n} windows)",
            "ours_s": t["ours_s"],
            "reference": "per-window numpy.fft.fft2 loop",
            "reference_s": t["reference_s"],
            "ratio": t["ratio"],
            "note": (
                f"ours {n / t['ours_s']:.0f} windows/s "
                f"(best {n / t['ours_min_s']:.0f}), "
                f"loop {n / t['reference_s']:.0f} windows/s"
            ),
        }

        stack = np.ascontiguousarray(views).reshape(n, window, window) * taper
        ceiling = functools.partial(scipy.fft.rfft2, stack, workers=cores)
        t = compare(ours, ceiling, repeats=3)
        del ceiling, stack
        yield {
            "case": f"sliding_fft {size}^2 win {window} step {step} vs ceiling",
            "ours_s": t["ours_s"],
            "reference": f"batched rfft2 only (workers={cores})",
            "reference_s": t["reference_s"],
            "ratio": t["ratio"],
            "note": (
                f"ours {n / t['ours_s']:.0f} windows/s, ceiling "
                f"{n / t['reference_s']:.0f} windows/s (best "
                f"{n / t['reference_min_s']:.0f}); ratio = fraction of the "
                "ceiling's throughput reached end to end"
            ),
        }
