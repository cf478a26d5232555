"""What the automatic choices of the image analyses cost (issue "real images").

Each case times the analysis with every choice given (the reference) against
the defaults that make the choices themselves, interleaved in one process
(``_timing.compare``, medians of 3); the ratio printed is reference / defaults,
so the cost of the choices is ``1 / ratio - 1`` (bar: at most 0.2).

1. ``neighborhood_pca``: ``contrast="bright"``, ``n_neighbors=6``,
   ``min_quality=None`` against the defaults ``contrast="auto"`` (skewness
   rule), ``n_neighbors="auto"`` (first shell), ``min_quality=7`` (every
   atom's quality) and the missed-sublattice check (average cell);
2. ``segment_phases(img, 2)`` with the window the rule picks given
   explicitly, against ``window_size="auto"`` (the lattice spacing from the
   image's power spectrum).
"""

import numpy as np
from _timing import compare

import hyperspy_unmix as hu


def cases(quick=False):
    size = 512 if quick else 2048
    img, _ = hu.data.atomic_image((size, size), spacing=12, random_state=0)
    box = {}

    def given():
        box["given"] = hu.neighborhood_pca(
            img, 6, contrast="bright", min_quality=None, show_progressbar=False
        )

    def defaults():
        box["auto"] = hu.neighborhood_pca(img, "auto", show_progressbar=False)

    t = compare(defaults, given, repeats=3)
    yield {
        "case": f"neighborhood_pca defaults, {size}^2 hexagonal (12 px)",
        "ours_s": t["ours_s"],
        "reference": "contrast, n_neighbors, min_quality given",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"cost of the choices {1 / t['ratio'] - 1:+.2f} (bar <= 0.2); "
        f"{len(box['auto'].positions)} / {len(box['given'].positions)} atoms; "
        "medians of 3 pairs",
    }

    two, _ = hu.data.multiphase_lattice((size, size), random_state=0)
    auto = hu.segment_phases(two, 2, random_state=0)
    # the sliding FFT's choices, recorded as the input's provenance
    chosen = auto.abundances.metadata.hyperspy_unmix.input.parameters
    w = int(np.atleast_1d(chosen.window_size)[0])
    step = int(np.atleast_1d(chosen.step)[0])
    zoom = float(chosen.zoom)

    def seg_auto():
        hu.segment_phases(two, 2, random_state=0)

    def seg_given():
        hu.segment_phases(two, 2, w, step, zoom=zoom, random_state=0)

    t = compare(seg_auto, seg_given, repeats=3)
    yield {
        "case": f"segment_phases window='auto', {size}^2 two phases",
        "ours_s": t["ours_s"],
        "reference": f"window_size={w}, step={step}, zoom={zoom:g} given",
        "reference_s": t["reference_s"],
        "ratio": t["ratio"],
        "note": f"cost of the choice {1 / t['ratio'] - 1:+.2f} (bar <= 0.2); "
        "medians of 3 pairs",
    }
