"""The randomised route's accuracy against the exact covariance, map by map.

Not a ``bench_*`` case (nothing is timed): run it by hand,

    python benchmarks/accuracy_solvers.py [--quick]

For 36 generated spectrum images (48x48 and 64x64 pixels, 1024 and 2048
channels, 3-6 endmembers, doses 3e3 / 2e4 / 2e5, EELS-like and EDS-like),
``nfindr_unmix(s, q, svd_solver=...)`` with ``"randomized"`` and with
``"covariance"``; per map the relative change of the mean spectral angle to
the true endmembers and of the abundance RMSE to the true abundances
(randomised / exact - 1), whether the same pixels were picked, and the
passes the solver made. The issue's bar: every change within 1 %.
"""

import argparse
import itertools
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment

sys.path.insert(0, os.path.dirname(__file__))

import hyperspy_unmix as hu  # noqa: E402
from hyperspy_unmix._core.pca import CovariancePCA  # noqa: E402


def accuracy(res, truth):
    """Mean spectral angle (rad) and abundance RMSE against the truth."""
    E = res.endmembers.data.reshape(len(res.endmembers.data), -1)
    T = truth.endmembers
    a = E / np.linalg.norm(E, axis=1, keepdims=True)
    b = T / np.linalg.norm(T, axis=1, keepdims=True)
    ang = np.arccos(np.clip(a @ b.T, -1, 1))
    r, c = linear_sum_assignment(ang)
    A = res.abundances.data.reshape(len(E), -1)[r]
    At = truth.abundances.reshape(len(T), -1)[c]
    return ang[r, c].mean(), np.sqrt(np.mean((A - At) ** 2))


def maps(quick=False):
    shapes = [(48, 48), (64, 64)]
    channels = [1024, 2048]
    qs = [3, 4, 6] if not quick else [4]
    doses = [3e3, 2e4, 2e5]
    kinds = ["eels"] if quick else ["eels", "eds"]
    grid = itertools.product(shapes, channels, qs, doses, kinds)
    for shape, C, q, dose, kind in grid:
        if quick and (shape, C) != ((48, 48), 1024):
            continue
        if kind == "eds" and (shape, C) != ((64, 64), 2048):
            continue  # EDS-like on the widest maps only
        seed = len(shape) + C + q + int(dose) % 97
        yield (
            f"{shape[0]}x{shape[1]}x{C} q={q} dose={dose:g} {kind}",
            (
                hu.data.spectrum_image(shape, C, q, dose, random_state=seed, kind=kind),
                q,
            ),
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="", help="maps whose label holds this")
    p.add_argument("--tol", type=float, help="the solver's tol (default: its own)")
    p.add_argument("--oversamples", type=int, help="its n_oversamples (default: own)")
    args = p.parse_args(argv)
    from hyperspy_unmix._core import randomized

    for name, value in (("tol", args.tol), ("n_oversamples", args.oversamples)):
        if value is not None:
            randomized.randomized_subspace.__kwdefaults__[name] = value
    worst = [0.0, 0.0]
    same = total = 0
    for label, ((s, truth), q) in maps(args.quick):
        if args.only not in label:
            continue
        exact = hu.nfindr_unmix(s, q, svd_solver="covariance", show_progressbar=False)
        rand = hu.nfindr_unmix(s, q, svd_solver="randomized", show_progressbar=False)
        X = s.data.reshape(-1, s.data.shape[-1])
        passes = CovariancePCA(q - 1, svd_solver="randomized").fit(X).n_passes_
        a0, r0 = accuracy(exact, truth)
        a1, r1 = accuracy(rand, truth)
        da, dr = a1 / a0 - 1, r1 / r0 - 1
        worst = [max(worst[0], abs(da)), max(worst[1], abs(dr))]
        ok = bool(np.array_equal(exact.indices, rand.indices))
        same += ok
        total += 1
        print(
            f"{label:38s} angle {100 * da:+.3f} %  RMSE {100 * dr:+.3f} %  "
            f"same pixels {ok}  passes {passes}",
            flush=True,
        )
    print(
        f"{total} maps: largest |change| angle {100 * worst[0]:.3f} %, RMSE "
        f"{100 * worst[1]:.3f} %; same pixels on {same}/{total}"
    )


if __name__ == "__main__":
    main()
