"""Peak memory of a lazy sliding FFT + unmixing of a 4096 x 4096 image, step 8.

Not a ``bench_*`` case (the runner does not pick it up): run it by hand,

    python benchmarks/lazy_sliding_fft_memory.py [--full]

It writes a two-phase 4096 x 4096 lattice (``hyperspy_unmix.data``) to a
temporary ``.hspy`` file in one process, then in a fresh process loads it
lazily, builds the lazy stack (505 x 505 windows of 64 x 64; with the
segmentation defaults the stack is cropped to 32 x 32: 1.04 GB, with
``--full`` 64 x 64: 4.2 GB), streams it once through a reduction (the
sliding FFT alone), unmixes it with N-FINDR and computes the abundances, and
reports the process's peak resident memory (``ru_maxrss``) after each step
against the size the whole stack would have.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE, WINDOW, STEP = 4096, 64, 8


def _rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


def make(path):
    import numpy as np

    import hyperspy_unmix as hu

    image, truth = hu.data.multiphase_lattice(
        shape=(SIZE, SIZE), n_phases=2, noise=0.3, random_state=0
    )
    image.save(path, overwrite=True, chunks=(1024, 1024))
    np.save(path.with_suffix(".labels.npy"), truth.labels)


def run(path, full):
    import hyperspy.api as hs
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.optimize import linear_sum_assignment

    import hyperspy_unmix as hu
    from hyperspy_unmix.phases import SEGMENTATION_DEFAULTS

    baseline = _rss_gib()
    t0 = time.perf_counter()
    image = hs.load(path, lazy=True)
    options = dict(SEGMENTATION_DEFAULTS)
    if full:
        options.pop("zoom")
    stack = hu.sliding_fft(image, WINDOW, STEP, **options)
    stack_gib = stack.data.nbytes / 2**30
    # our part alone: stream the whole stack through a reduction
    t1 = time.perf_counter()
    stack.data.mean(axis=(0, 1)).compute()
    stream_s = time.perf_counter() - t1
    stream_peak = _rss_gib()
    res = hu.nfindr_unmix(stack, 2, endmember_estimate="denoised")
    abundances = np.asarray(res.abundances.data.compute())
    elapsed = time.perf_counter() - t0

    labels = np.load(path.with_suffix(".labels.npy"))
    v = sliding_window_view(labels, (WINDOW, WINDOW))[::STEP, ::STEP]
    lo, hi = v.min(axis=(-2, -1)), v.max(axis=(-2, -1))
    pure = lo == hi
    pred = abundances.argmax(axis=0)
    counts = np.zeros((2, 2))
    np.add.at(counts, (pred[pure], lo[pure]), 1)
    r, c = linear_sum_assignment(-counts)
    return {
        "stack_shape": list(stack.data.shape),
        "stack_lazy": bool(stack._lazy),
        "stack_gib": round(stack_gib, 3),
        "stream_stack_seconds": round(stream_s, 1),
        "peak_rss_streaming_stack_gib": round(stream_peak, 3),
        "peak_rss_gib": round(_rss_gib(), 3),
        "rss_after_imports_gib": round(baseline, 3),
        "seconds": round(elapsed, 1),
        "window_accuracy": round(float(counts[r, c].sum() / pure.sum()), 4),
        "pure_windows": int(pure.sum()),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="64 x 64 patterns")
    parser.add_argument("--make", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make(Path(args.make))
        return
    if args.child:
        print(json.dumps(run(Path(args.child), args.full)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lattice4096.hspy"
        # separate processes: generating the image has its own memory peak
        subprocess.run([sys.executable, __file__, "--make", str(path)], check=True)
        cmd = [sys.executable, __file__, "--child", str(path)]
        if args.full:
            cmd.append("--full")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    for key, value in result.items():
        print(f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
