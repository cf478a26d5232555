"""Number of endmembers: our estimate vs HyperSpy's scree elbow, and its cost.

``python benchmarks/run.py n_endmembers`` prints the cost rows: the whole
``nfindr_unmix(s, "auto")`` and ``estimate_n_endmembers(s)`` beside a plain
``nfindr_unmix(s, 4)`` on 256 x 256 x 1024 (ratio = reference / ours, so the
marginal cost of "auto" is ``1 / ratio - 1``).

``python benchmarks/bench_n_endmembers.py`` also prints the accuracy table:
ten EDS-like and Raman-like maps of ``hyperspy_unmix.data.spectrum_image``
(2-6 phases, two doses), every criterion, and HyperSpy's
``s.decomposition(); s.learning_results.number_significant_components``.
"""

import hyperspy.api as hs
from _timing import compare

import hyperspy_unmix as hu
from hyperspy_unmix.data import spectrum_image

SHAPE = (96, 96)
N_CHANNELS = 1024
METHODS = ("auto", "poisson", "mp", "hysime", "nwhfc")
DOSES = {"low": 300.0, "high": 5e4}
MAPS = [
    (kind, dose, q)
    for kind in ("eds", "raman")
    for dose, qs in (("low", (2, 4, 6)), ("high", (3, 5)))
    for q in qs
]


def accuracy_table():
    print(f"maps {SHAPE[0]}x{SHAPE[1]}x{N_CHANNELS}")
    head = ["map", "truth", *METHODS, "HyperSpy"]
    print(" | ".join(f"{h:>11s}" for h in head))
    hits = dict.fromkeys([*METHODS, "HyperSpy"], 0)
    for i, (kind, dose, q) in enumerate(MAPS):
        s, _ = spectrum_image(
            SHAPE, N_CHANNELS, q, dose=DOSES[dose], kind=kind, random_state=1000 + i
        )
        ours = []
        for m in METHODS:
            try:
                ours.append(int(hu.estimate_n_endmembers(s, method=m)))
            except ValueError:
                ours.append(-1)
        s.decomposition(print_info=False)
        hys = int(s.learning_results.number_significant_components)
        row = [f"{kind}-{dose}", q, *ours, hys]
        for m, v in zip([*METHODS, "HyperSpy"], row[2:]):
            hits[m] += v == q
        print(" | ".join(f"{v!s:>11s}" for v in row), flush=True)
    print(" | ".join(f"{v!s:>11s}" for v in ["exact /10", "", *hits.values()]))


def cases(quick=False):
    shape, channels = ((64, 64), 256) if quick else ((256, 256), 1024)
    s, _ = spectrum_image(shape, channels, 4, random_state=0)
    label = f"{shape[0]}x{shape[1]}x{channels} f32, 4 phases"

    def plain():
        return hu.nfindr_unmix(s, 4)

    def auto():
        res = hu.nfindr_unmix(s, "auto")
        assert res.n_endmembers == 4
        return res

    def estimate():
        assert int(hu.estimate_n_endmembers(s)) == 4

    def bare():
        return hu.nfindr_unmix(s, 4, outliers=None)

    # the count and the outlier screening together against neither
    # (issue bar: at most +0.3)
    for name, ours, ref, ref_name in (
        ('nfindr_unmix(s, "auto")', auto, plain, "nfindr_unmix(s, 4)"),
        ("estimate_n_endmembers(s) alone", estimate, plain, "nfindr_unmix(s, 4)"),
        ('nfindr_unmix(s, "auto")', auto, bare, "nfindr_unmix(s, 4, outliers=None)"),
        ("nfindr_unmix(s, 4)", plain, bare, "nfindr_unmix(s, 4, outliers=None)"),
    ):
        r = compare(ours, ref, repeats=3)
        yield {
            "case": f"{name} {label}",
            "ours_s": r["ours_s"],
            "reference": ref_name,
            "reference_s": r["reference_s"],
            "ratio": r["ratio"],
            "note": f"extra cost {1 / r['ratio'] - 1:+.2f}; medians of 3 "
            "interleaved pairs; minima ours "
            f"{r['ours_min_s']:.3f} s, reference {r['reference_min_s']:.3f} s",
        }


if __name__ == "__main__":
    hs.preferences.General.show_progressbar = False
    accuracy_table()
    for row in cases():
        print(row)
