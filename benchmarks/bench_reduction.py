"""The principal-subspace solvers against the exact covariance and a bare probe.

For each data set: the bare randomised range finder (the floor of any method
that reads the data a few times: ``k = q + 9``, one power iteration, plain
numpy, implicit centring), our randomised solver (adaptive defaults), the
Gram route where pixels are fewer than channels, and today's exact
``CovariancePCA`` fit; interleaved A/B pairs (``_timing.compare``), medians,
ratios per pair; the largest principal angle of each solver to the exact
subspace. The uint8 map (512x512x4096, 1.07 GB) also reports the peak memory
allocated during our reduction (tracemalloc: every numpy buffer) and the peak
RSS above the loaded data (psutil, sampled), to show that no float copy of the
map is made. Lazy rows run on dask arrays of the same data (chunks of 64x64
pixels, threads).

Run: ``python benchmarks/bench_reduction.py`` (a few minutes on 2 cores).
"""

import os
import sys
import threading
import time
import tracemalloc

import numpy as np
import scipy.linalg

sys.path.insert(0, os.path.dirname(__file__))

from _timing import compare  # noqa: E402

from hyperspy_unmix._core.pca import CovariancePCA  # noqa: E402
from hyperspy_unmix._core.randomized import (  # noqa: E402
    choose_solver,
    gram_subspace,
    lazy_randomized_subspace,
    randomized_subspace,
)


def probe(X, q, seed=0):
    """Bare range finder: k = q + 9, one power iteration, plain numpy."""
    rng = np.random.default_rng(seed)
    k = q + 9
    m = X.mean(axis=0, dtype=np.float64).astype(X.dtype)
    omega = rng.standard_normal((X.shape[1], k)).astype(X.dtype)
    Y = X @ omega - m @ omega
    Q, _ = np.linalg.qr(Y)
    Z = X.T @ Q - np.outer(m, Q.sum(axis=0))
    Y = X @ Z - m @ Z
    Q, _ = np.linalg.qr(Y)
    B = Q.T @ X - np.outer(Q.sum(axis=0), m)
    _, _, vt = np.linalg.svd(B, full_matrices=False)
    return vt[: q - 1]


def covariance(X, q):
    return CovariancePCA(q - 1).fit(X).components_


def angle(A, B):
    return float(scipy.linalg.subspace_angles(A.T, B.T).max())


def spectrum_map(shape, C, q, dose, seed=0):
    from hyperspy_unmix.data import spectrum_image

    s, _ = spectrum_image(shape, C, q, dose, random_state=seed)
    return s.data.reshape(-1, C)


def fft_stack():
    import hyperspy_unmix as hu

    img, _ = hu.data.multiphase_lattice((1024, 1024), random_state=0)
    st = hu.sliding_fft(img, 64, 16)
    return np.ascontiguousarray(st.data.reshape(-1, 64 * 64), dtype=np.float32)


def uint8_map(ny=512, nx=512, C=4096, q=4, dose=3000.0, seed=0):
    """Poisson counts of ``q`` smooth spectra mixed by smooth maps, as uint8.

    Built in blocks of rows (float32 expectations, then counts), so the only
    full-size array is the uint8 map itself.
    """
    rng = np.random.default_rng(seed)
    e = np.linspace(0, 1, C)
    E = np.stack(
        [
            np.exp(-((e - c) ** 2) / 0.002) + 0.3 * np.exp(-3 * e)
            for c in np.linspace(0.15, 0.85, q)
        ]
    )
    E = (E / E.sum(axis=1, keepdims=True) * dose).astype(np.float32)
    yy, xx = np.mgrid[0:ny, 0:nx] / max(ny, nx)
    fields = np.stack(
        [
            np.sin(2 * np.pi * (f * xx + g * yy) + p)
            for f, g, p in rng.random((q, 3)) * [3, 3, 6]
        ]
    )
    A = np.exp(3 * fields)
    A = (A / A.sum(axis=0)).reshape(q, -1).T.astype(np.float32)
    out = np.empty((ny * nx, C), dtype=np.uint8)
    for a in range(0, ny * nx, 8192):
        lam = A[a : a + 8192] @ E
        out[a : a + 8192] = np.minimum(rng.poisson(lam), 255)
    return out


class RssPeak:
    """Peak RSS (bytes) of this process while the block runs, sampled."""

    def __enter__(self):
        import psutil

        self._p = psutil.Process()
        self.start = self._p.memory_info().rss
        self.peak = self.start
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop:
            self.peak = max(self.peak, self._p.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()


def lazy(X, nav):
    import dask.array as da

    return da.from_array(X.reshape(*nav, -1), chunks=(64, 64, -1))


def row(name, res, extra=""):
    print(
        f"| {name} | {res['ours_s']:.3f} | {res['reference_s']:.3f} | "
        f"{res['ratio']:.2f} | {extra} |",
        flush=True,
    )


def case(label, X, q, nav, repeats=3, with_cov=True, cov_repeats=None):
    n, C = X.shape
    auto = choose_solver(n, C, q, dtype=X.dtype)
    print(f"\n### {label}: n={n}, C={C}, q={q}, {X.dtype}; choose_solver -> {auto}")
    print("| ours | ours s | reference s | ratio ref/ours | notes |")
    print("|---|---|---|---|---|")
    fit = randomized_subspace(X, q - 1, random_state=0)
    exact = None
    if with_cov:
        t0 = time.perf_counter()
        exact = covariance(X, q)
        t_cov = time.perf_counter() - t0
    note = f"passes {fit.n_passes}"
    if exact is not None:
        note += f", angle to exact {angle(fit.components, exact):.1e}"
    ours = lambda: randomized_subspace(X, q - 1, random_state=0)  # noqa: E731
    if X.dtype != np.uint8:
        p = probe(X, q)
        pn = "" if exact is None else f"; probe angle {angle(p, exact):.1e}"
        row(
            "randomized vs bare probe",
            compare(ours, lambda: probe(X, q), repeats),
            note + pn,
        )
    if with_cov:
        if cov_repeats is None:
            row(
                "randomized vs covariance",
                compare(ours, lambda: covariance(X, q), repeats),
                note,
            )
        else:  # too slow to repeat: one timed run above
            t = [time.perf_counter()]
            ours()
            t.append(time.perf_counter())
            print(
                f"| randomized vs covariance (1 run each) | {t[1] - t[0]:.3f} | "
                f"{t_cov:.3f} | {t_cov / (t[1] - t[0]):.2f} | {note} |"
            )
    if n < C:
        g = gram_subspace(X, q - 1)
        gn = "" if exact is None else f"angle to exact {angle(g.components, exact):.1e}"
        row(
            "gram vs covariance",
            compare(lambda: gram_subspace(X, q - 1), lambda: covariance(X, q), repeats),
            gn,
        )
    if nav is not None:
        L = lazy(X, nav)
        lf = lazy_randomized_subspace(L, q - 1, random_state=0)
        same = np.abs(lf.components - fit.components).max()
        res = compare(
            lambda: lazy_randomized_subspace(L, q - 1, random_state=0),
            ours,
            repeats=max(1, repeats - 1),
        )
        row(
            "lazy randomized vs in-memory randomized",
            res,
            f"passes {lf.n_passes}, max |diff| to in-memory {same:.1e}",
        )
    return fit


def main():
    print(
        f"# bench_reduction ({time.strftime('%Y-%m-%d %H:%M')}, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    X = spectrum_map((256, 256), 1024, 4, 2e5)
    case("256x256x1024 float32 (EELS-like, dose 2e5)", X, 4, (256, 256))
    del X
    X = spectrum_map((128, 128), 2048, 6, 2e5)
    case("128x128x2048 float32 (dose 2e5)", X, 6, (128, 128))
    del X
    X = fft_stack()
    case("sliding FFT 61x61 windows of 64x64 (multiphase_lattice 1024^2)", X, 2, None)
    del X
    t0 = time.perf_counter()
    U = uint8_map()
    print(
        f"\n(uint8 map generated in {time.perf_counter() - t0:.1f} s, "
        f"{U.nbytes / 2**30:.2f} GiB)"
    )
    case(
        "512x512x4096 uint8 counts (dose 3000)",
        U,
        4,
        (512, 512),
        repeats=2,
        cov_repeats=1,
    )
    L = lazy(U, (512, 512))
    for name, run in (
        ("in-memory", lambda: randomized_subspace(U, 3, random_state=0)),
        ("lazy (threads)", lambda: lazy_randomized_subspace(L, 3, random_state=0)),
    ):
        tracemalloc.start()
        with RssPeak() as rss:
            f = run()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"uint8 {name} reduction: peak numpy allocations during it "
            f"{peak / 2**20:.0f} MiB; RSS {rss.start / 2**20:.0f} MiB before, "
            f"peak {rss.peak / 2**20:.0f} MiB (data {U.nbytes / 2**20:.0f} MiB, "
            f"a float32 copy {4 * U.nbytes / 2**20:.0f} MiB); passes {f.n_passes}"
        )


if __name__ == "__main__":
    main()
