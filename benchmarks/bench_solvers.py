"""The whole ``nfindr_unmix`` at the reduction's cost floor (issue "solvers").

Per data set, interleaved in one process (``_timing.compare``, medians):

1. the whole ``nfindr_unmix(s, q)`` (defaults: ``svd_solver="auto"``,
   outlier screening on) against HyperSpy's randomised SVD alone
   (``s.decomposition(svd_solver="randomized", output_dimension=q)``);
2. the same against the bare randomised range finder of
   ``bench_reduction.probe`` (k = q + 9, one power iteration: the floor of any
   method that reads the data a few times);
3. ``sliding_fft(64, 16)`` + ``nfindr_unmix(2)`` on a 1024 x 1024 two-phase
   lattice against the notebook recipe it replaces (a Python loop of
   ``fft2`` per window, scikit-learn's PCA, the per-pixel determinant N-FINDR and
   per-pixel ``nnls`` FCLS of ``_nfindr_reference``), with the share of
   windows given the right phase by each;
4. (full runs only) a 512 x 512 x 4096 uint8 count map: ``nfindr_unmix(s, 4)``
   against HyperSpy's randomised SVD of its float32 copy (one pair), and
   the peak RSS of ours above the loaded data.

Run: ``python benchmarks/run.py solvers`` (``--quick``: small sizes).
"""

import os
import sys
import threading
import time

import numpy as np
from _timing import compare

sys.path.insert(0, os.path.dirname(__file__))

from bench_reduction import probe, uint8_map  # noqa: E402

import hyperspy_unmix as hu  # noqa: E402


def _used(res):
    return res.abundances.metadata.hyperspy_unmix.parameters.svd_solver_used


def _hyperspy_svd(s, q):
    def run():
        s.decomposition(svd_solver="randomized", output_dimension=q, print_info=False)

    return run


def _spectral(shape, C, q):
    s, _ = hu.data.spectrum_image(shape, C, q, random_state=0, dtype="float32")
    return s, f"{shape[0]}x{shape[1]}x{C} f32, q={q}"


def _fft_stack(size):
    img, _ = hu.data.multiphase_lattice((size, size), random_state=0)
    st = hu.sliding_fft(img, 64, 16, show_progressbar=False)
    return st, f"sliding-FFT stack {st.data.shape} f32, q=2"


def _bars(s, label, q):
    box = {}
    X = s.data.reshape(
        -1, int(np.prod(s.data.shape[s.axes_manager.navigation_dimension :]))
    )

    def ours():
        box["res"] = hu.nfindr_unmix(s, q, show_progressbar=False)

    t = compare(ours, _hyperspy_svd(s, q), repeats=3)
    yield {
        "case": f"nfindr_unmix whole, {label}",
        "ours_s": t["ours_s"],
        "reference": "HyperSpy decomposition(randomized) alone",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"route {_used(box['res'])}; ours/ref = {1 / t['ratio']:.2f} "
        f"(bar <= 0.3, 0.5 for the FFT stack); medians of 3 pairs, minima "
        f"{t['ours_min_s']:.3f} / {t['reference_min_s']:.3f} s",
    }
    t = compare(ours, lambda: probe(X, q), repeats=3)
    yield {
        "case": f"nfindr_unmix whole vs probe, {label}",
        "ours_s": t["ours_s"],
        "reference": "bare range finder (k=q+9, 1 power it.)",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"ours/probe = {1 / t['ratio']:.2f} (bar <= 2); medians of 3 pairs",
    }


def _window_stack(image, window, step):
    """The notebook's per-window loop: mean removal, Hann taper, |fft2|."""
    taper = np.outer(np.hanning(window), np.hanning(window))
    ny = (image.shape[0] - window) // step + 1
    nx = (image.shape[1] - window) // step + 1
    out = np.empty((ny * nx, window * window))
    k = 0
    for i in range(ny):
        for j in range(nx):
            w = image[i * step : i * step + window, j * step : j * step + window]
            f = np.fft.fftshift(np.fft.fft2((w - w.mean()) * taper))
            out[k] = np.log1p(np.abs(f)).ravel()
            k += 1
    return out, (ny, nx)


def _notebook_recipe(image, q):
    from _nfindr_reference import classic_nfindr, nnls_fcls
    from sklearn.decomposition import PCA

    X, shape = _window_stack(image, 64, 16)
    # scikit-learn's PCA (its "auto" solver: randomised for this shape), as a
    # notebook would; a full SVD of the 3721 x 4096 stack alone takes ~10 s
    Y = PCA(q - 1, random_state=0).fit_transform(X)
    start = np.random.RandomState(0).choice(len(Y), q, replace=False)
    idx, _, _ = classic_nfindr(Y, start)
    A = nnls_fcls(X, X[idx])
    return A.T.reshape(q, *shape)


def _window_truth(labels, window, step, shape):
    """The phase at each window's centre."""
    c = window // 2
    ys = c + step * np.arange(shape[0])
    xs = c + step * np.arange(shape[1])
    return labels[np.ix_(ys, xs)]


def _agreement(A, truth_labels):
    """Share of windows whose argmax phase matches the truth (best matching)."""
    lab = np.argmax(A, axis=0)
    best = 0.0
    for perm in ([0, 1], [1, 0]):
        best = max(best, float(np.mean(np.take(perm, lab) == truth_labels)))
    return best


def _segmentation_case(size):
    img, truth = hu.data.multiphase_lattice((size, size), random_state=0)
    box = {}

    def ours():
        st = hu.sliding_fft(img, 64, 16, show_progressbar=False)
        box["res"] = hu.nfindr_unmix(st, 2, show_progressbar=False)

    def ref():
        box["ref"] = _notebook_recipe(np.asarray(img.data, dtype=np.float64), 2)

    t = compare(ours, ref, repeats=3)
    A = box["res"].abundances.data
    tl = _window_truth(np.asarray(truth.labels), 64, 16, A.shape[1:])
    yield {
        "case": f"sliding_fft(64, 16) + nfindr_unmix(2), {size}^2 image",
        "ours_s": t["ours_s"],
        "reference": "notebook loop: fft2/window, sklearn PCA, det. N-FINDR, nnls",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"ours/ref = {1 / t['ratio']:.2f} (bar <= 0.33); windows of the "
        f"right phase: ours {_agreement(A, tl):.3f}, recipe "
        f"{_agreement(box['ref'], tl):.3f}; route {_used(box['res'])}; "
        "medians of 3 pairs",
    }


class _RssPeak:
    """Peak RSS (bytes) of this process while the block runs, sampled."""

    def __enter__(self):
        import psutil

        self._p = psutil.Process()
        self.start = self._p.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._p.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def _uint8_case():
    import hyperspy.api as hs

    s = hs.signals.Signal1D(uint8_map().reshape(512, 512, 4096))
    box = {}

    def ours():
        with _RssPeak() as rss:
            box["res"] = hu.nfindr_unmix(s, 4, show_progressbar=False)
        box["rss"] = rss.peak - rss.start

    def ref():
        f = s._deepcopy_with_new_data(s.data.astype(np.float32))
        f.decomposition(svd_solver="randomized", output_dimension=4, print_info=False)

    t = compare(ours, ref, repeats=1, warmup=False)
    yield {
        "case": "nfindr_unmix(s, 4), 512x512x4096 uint8 (1.07 GB)",
        "ours_s": t["ours_s"],
        "reference": "HyperSpy randomized SVD of the float32 copy",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"ours/ref = {1 / t['ratio']:.2f} (bar <= 0.25); peak RSS of ours "
        f"above the loaded data {box['rss'] / 2**30:.2f} GiB (bar 1.5 GB); route "
        f"{_used(box['res'])}; one pair",
    }


def cases(quick=False):
    if quick:
        s, label = _spectral((64, 64), 512, 4)
        yield from _bars(s, label, 4)
        yield from _segmentation_case(256)
        return
    for shape, C, q in (((256, 256), 1024, 4), ((128, 128), 2048, 6)):
        s, label = _spectral(shape, C, q)
        yield from _bars(s, label, q)
        del s
    st, label = _fft_stack(1024)
    yield from _bars(st, label, 2)
    del st
    yield from _segmentation_case(1024)
    yield from _uint8_case()
