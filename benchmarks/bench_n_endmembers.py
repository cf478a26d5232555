"""Number of endmembers: our estimate vs HyperSpy's scree elbow, and its cost.

Prints one row per map (kind, dose, truth, every method of
``hyperspy_unmix._core.n_endmembers``, HyperSpy's
``s.decomposition(); s.learning_results.number_significant_components``),
then the cost of the estimate beside a plain ``hyperspy_unmix.nfindr_unmix(s,
4)`` on a 256 x 256 x 1024 float32 map, as ratios from one interleaved run.

Run: ``python benchmarks/bench_n_endmembers.py``
"""

import inspect
import time

import hyperspy.api as hs
import numpy as np

import hyperspy_unmix
from hyperspy_unmix._core.n_endmembers import (
    estimate_from_data,
    estimate_n_endmembers_from_moments,
    is_counts,
    moments,
)
from hyperspy_unmix.data import spectrum_image
from hyperspy_unmix.data._spectra import make_abundances

SHAPE = (96, 96)
N_CHANNELS = 1024
METHODS = ("auto", "poisson", "mp", "hysime", "nwhfc")
# (kind, dose, n_endmembers): two doses of each kind, 2-6 phases, 10 maps.
MAPS = [
    ("eds", "low", 2),
    ("eds", "low", 4),
    ("eds", "low", 6),
    ("eds", "high", 3),
    ("eds", "high", 5),
    ("raman", "low", 2),
    ("raman", "low", 4),
    ("raman", "low", 6),
    ("raman", "high", 3),
    ("raman", "high", 5),
]


def _local_map(kind, dose, q, seed):
    """EDS-like (Poisson counts, ~20 or ~200 counts per channel at the peaks)
    or Raman-like (continuous, shot + read noise) map; used only while the
    shared generators lack ``kind=``."""
    rng = np.random.default_rng(seed)
    C = N_CHANNELS
    if kind == "eds":
        e = np.linspace(0.2, 10.0, C)
        lines = np.array([0.52, 0.93, 1.04, 1.25, 1.49, 1.74, 2.01, 2.31, 2.62, 3.31,
                          3.69, 4.51, 5.41, 6.40, 7.48, 8.04])  # fmt: skip
        brems = (10.0 - e) / e * np.exp(-0.3 / e)
        E = np.empty((q, C))
        for k in range(q):
            s = 0.4 * brems / brems.sum() * rng.uniform(0.7, 1.3)
            for c in rng.choice(lines, size=3, replace=False):
                sig = 0.06 + 0.01 * c
                g = np.exp(-0.5 * ((e - c) / sig) ** 2)
                s = s + rng.uniform(0.3, 1.0) * g / g.sum()
            E[k] = s / s.sum()
    else:
        w = np.linspace(100, 3200, C)
        E = np.empty((q, C))
        for k in range(q):
            s = 0.3 * np.exp(-(((w - rng.uniform(800, 2500)) / 1500) ** 2))
            for _ in range(int(rng.integers(3, 7))):
                c, g = rng.uniform(200, 3100), rng.uniform(5, 20)
                s = s + rng.uniform(0.3, 1.0) * g**2 / ((w - c) ** 2 + g**2)
            E[k] = s / s.max()
    A, _, _ = make_abundances(SHAPE, q, rng)
    mu = A.reshape(q, -1).T @ E
    if kind == "eds":
        level = 20.0 if dose == "low" else 200.0
        X = rng.poisson(mu * (level / mu.mean(0).max()))
    else:
        level = 5.0 if dose == "low" else 50.0
        lam = mu * level
        X = lam + rng.normal(0, 1, lam.shape) * np.sqrt(1.0 + lam)
    data = X.astype(np.float32).reshape(*SHAPE, C)
    return hs.signals.Signal1D(data)


def _map(kind, dose, q, seed):
    params = inspect.signature(spectrum_image).parameters
    if "kind" in params:
        s, _ = spectrum_image(
            SHAPE, N_CHANNELS, q, kind=kind, dose=dose, random_state=seed
        )
        return s
    return _local_map(kind, dose, q, seed)


def accuracy_table():
    print(f"maps {SHAPE[0]}x{SHAPE[1]}x{N_CHANNELS}")
    head = ["map", "truth", *METHODS, "HyperSpy"]
    print(" | ".join(f"{h:>12s}" for h in head))
    hits = dict.fromkeys([*METHODS, "HyperSpy"], 0)
    for i, (kind, dose, q) in enumerate(MAPS):
        s = _map(kind, dose, q, seed=1000 + i)
        X = s.data.reshape(-1, N_CHANNELS)
        n, mean, cov = moments(X)
        counts = is_counts(X)
        ours = []
        for m in METHODS:
            try:
                r = estimate_n_endmembers_from_moments(
                    n, mean, cov, method=m, counts=counts
                )
                ours.append(r.n_endmembers)
            except ValueError:
                ours.append(-1)
        s.decomposition(print_info=False)
        hys = int(s.learning_results.number_significant_components)
        row = [f"{kind}-{dose}", q, *ours, hys]
        for m, v in zip([*METHODS, "HyperSpy"], row[2:]):
            hits[m] += v == q
        print(" | ".join(f"{v!s:>12s}" for v in row), flush=True)
    print(" | ".join(f"{v!s:>12s}" for v in ["exact /10", "", *hits.values()]))


def cost():
    s, _ = spectrum_image((256, 256), 1024, 4, random_state=0)
    X = s.data.reshape(-1, 1024)
    n, mean, cov = moments(X)
    hyperspy_unmix.nfindr_unmix(s, 4)  # warm-up
    estimate_from_data(X)
    rows = []
    for _ in range(3):  # interleaved: A B C A B C ...
        t0 = time.perf_counter()
        hyperspy_unmix.nfindr_unmix(s, 4)
        t1 = time.perf_counter()
        estimate_n_endmembers_from_moments(n, mean, cov, counts=True)
        t2 = time.perf_counter()
        estimate_from_data(X)
        t3 = time.perf_counter()
        rows.append((t1 - t0, t2 - t1, t3 - t2))
    rows = np.array(rows)
    print("256x256x1024 float32, 4 phases; seconds per run (3 interleaved runs)")
    print(f"  nfindr_unmix(s, 4):                 {rows[:, 0].round(3)}")
    print(
        f"  estimate from shared moments:       {rows[:, 1].round(3)}"
        f"  ratio per pair {(rows[:, 1] / rows[:, 0]).round(3)}"
    )
    print(
        f"  estimate_from_data (own moments):   {rows[:, 2].round(3)}"
        f"  ratio per pair {(rows[:, 2] / rows[:, 0]).round(3)}"
    )


if __name__ == "__main__":
    accuracy_table()
    cost()
