"""Interleaved timing: the machines here are shared and noisy.

Two-thread BLAS sometimes slows tenfold for tens of seconds, so the two sides
of a comparison run alternately (A B A B ...) in one process and the ratio is
taken per pair; medians and minima are reported, never a single run.
"""

import gc
import statistics
import time


def _once(fn):
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compare(ours, reference, repeats=3, warmup=True):
    """Time ``ours()`` against ``reference()`` alternately.

    Returns
    -------
    dict
        ``ours_s`` / ``reference_s`` (medians), ``ours_min_s`` /
        ``reference_min_s``, and ``ratio`` = median over pairs of
        reference / ours (> 1 means ours is faster).
    """
    if warmup:
        ours()
        reference()
    a, b = [], []
    for _ in range(repeats):
        a.append(_once(ours))
        b.append(_once(reference))
    return {
        "ours_s": statistics.median(a),
        "reference_s": statistics.median(b),
        "ours_min_s": min(a),
        "reference_min_s": min(b),
        "ratio": statistics.median(r / o for o, r in zip(a, b)),
    }
