"""neighborhood_pca on a lazy image much larger than one tile (not a bench_ case).

Writes a distorted hexagonal lattice of ``--size`` x ``--size`` float32 pixels
to a chunked ``.zspy`` under ``--dir`` (generated block by block in a separate
process, so its memory does not count), loads it lazily and runs
``neighborhood_pca`` on it: atoms found and refined tile by tile from the
file, descriptors and PCA on the atom table. Reports wall time, the peak
resident memory (``resource.getrusage``) of the image-reading stage alone and
of the whole call (each in a fresh process), the size of the per-atom result,
the atoms found against the lattice sites drawn, and the position error.

    python benchmarks/large_neighborhoods.py                 # 16384 x 16384
    python benchmarks/large_neighborhoods.py --size 8192

The image is about ``size**2 * 4`` bytes (1 GiB at 16384). The image-reading
stage holds a few chunks and tiles at a time; the atom table and the result
take a few hundred bytes per atom (at a 12-pixel spacing that is of the order
of the image itself: 2.1 million atoms).
"""

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SPACING = 12.0
SIGMA = 0.2 * SPACING
ORIGIN = (3.3, 5.1)
AMPLITUDE = 0.05  # strain in the band


def displacement(p, size):
    """A smooth known displacement field (pixels): a band of uniaxial
    stretch along x across the middle of the image, soft edges."""
    s = p[:, 0] / size
    band = 1.0 / (1.0 + np.exp(-(s - 0.3) / 0.03)) - 1.0 / (
        1.0 + np.exp(-(s - 0.7) / 0.03)
    )
    # integral of the strain: u_x = amplitude * size * cumulative band
    cum = 0.03 * (
        np.log1p(np.exp((s - 0.3) / 0.03)) - np.log1p(np.exp((s - 0.7) / 0.03))
    )
    u = np.zeros_like(p)
    u[:, 0] = AMPLITUDE * size * cum
    return u, AMPLITUDE * band


def _block(block_info=None, size=None):
    from hyperspy_unmix.data._render import hexagonal_lattice, render_gaussians

    (y0, y1), (x0, x1) = block_info[None]["array-location"]
    shape = (y1 - y0, x1 - x0)
    # sites whose displaced atom can reach the block: the displacement is a
    # shift of up to 0.02 * size, so look that much farther for ideal sites
    pad = int(np.ceil(5 * SIGMA)) + 1
    reach = pad + 0.02 * size + 2
    origin = (ORIGIN[0] - x0, ORIGIN[1] - y0)
    local, _ = hexagonal_lattice(shape, SPACING, 0.0, origin, margin=reach)
    u, _ = displacement(local + [x0, y0], size)
    pos = local + u
    keep = np.all((pos >= -pad + 1) & (pos <= np.array(shape[::-1]) + pad - 2), axis=1)
    canvas = render_gaussians(
        (shape[0] + 2 * pad, shape[1] + 2 * pad), pos[keep] + pad, SIGMA
    )
    img = canvas[pad:-pad, pad:-pad]
    rng = np.random.default_rng([7, y0, x0])  # reproducible per block
    img += 0.2 + rng.normal(scale=0.05, size=shape)
    return img.astype(np.float32)


def generate(path, size, chunks):
    import dask.array as da
    import hyperspy.api as hs

    from hyperspy_unmix.data._render import hexagonal_lattice

    arr = da.map_blocks(
        _block,
        size=size,
        chunks=((chunks,) * (size // chunks), (chunks,) * (size // chunks)),
        dtype=np.float32,
        meta=np.empty((0, 0), np.float32),
    )
    s = hs.signals.Signal2D(arr).as_lazy()
    s.metadata.General.title = f"distorted lattice {size}"
    s.save(path, overwrite=True)
    ideal, _ = hexagonal_lattice((size, size), SPACING, 0.0, ORIGIN)
    u, strain = displacement(ideal, size)
    true = ideal + u
    inside = np.all((true >= 0) & (true <= size - 1), axis=1)
    np.save(str(path) + ".truth.npy", true[inside])
    np.save(str(path) + ".strain.npy", strain[inside])


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_atoms_only(path):
    """The image-reading stage alone (range pass, spacing, tiled finding and
    refinement, as neighborhood_pca runs them): its own peak memory."""
    import atomap.api  # noqa: F401  (its imports are not the analysis' memory)
    import hyperspy.api as hs

    from hyperspy_unmix.neighborhoods import atoms as _atoms

    s = hs.load(path, lazy=True)
    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    data = s.data
    dmin, dmax, _ = _atoms.data_range(data)
    sep = _atoms.separation_from_spacing(_atoms.estimate_spacing(data))
    found = _atoms.find_atoms(data, sep, value_range=(dmin, dmax))
    core = _atoms.tile_core(data.shape, sep, "auto")
    xy = _atoms.refine_positions(data, found, "com", tile_size=core)
    wall = time.perf_counter() - t0
    print(
        f"[atoms only] found and refined {len(xy)} atoms from the file in "
        f"{wall:.1f} s; peak RSS {peak_rss_mb():.0f} MB (after imports, "
        f"Atomap's included: {rss0:.0f} MB)"
    )


def run_full(path, size):
    import atomap.api  # noqa: F401  (its imports are not the analysis' memory)
    import hyperspy.api as hs

    import hyperspy_unmix as hu

    s = hs.load(path, lazy=True)
    rss0 = peak_rss_mb()
    print(
        f"image: {s.data.shape} {s.data.dtype}, chunks {s.data.chunksize}, "
        f"{s.data.nbytes / 2**30:.2f} GiB on disk (lazy: {s._lazy})"
    )
    t0 = time.perf_counter()
    res = hu.neighborhood_pca(s, 6, n_components=3)
    wall = time.perf_counter() - t0
    rss_peak = peak_rss_mb()
    n_found = len(res.positions)
    result_mb = sum(getattr(res, k).nbytes for k in res._ARRAYS) / 2**20
    result_mb += res.descriptor_signal.data.nbytes / 2**20
    print(
        f"[neighborhood_pca] {wall:.1f} s wall, {n_found} atoms found, "
        f"{int(res.included.sum())} included; peak RSS {rss_peak:.0f} MB "
        f"(after imports: {rss0:.0f} MB); the result's per-atom arrays hold "
        f"{result_mb:.0f} MB ({result_mb * 2**20 / n_found:.0f} bytes per atom); "
        f"the image is {s.data.nbytes / 2**20:.0f} MB"
    )

    from scipy.spatial import cKDTree

    true = np.load(str(path) + ".truth.npy")
    strain = np.load(str(path) + ".strain.npy")
    d, i = cKDTree(true).query(res.positions)
    close = d < 0.5 * SPACING
    found_once = len(np.unique(i[close])) == np.count_nonzero(close)
    inner = np.all((true >= SPACING) & (true <= size - 1 - SPACING), axis=1)
    hit = np.zeros(len(true), bool)
    hit[i[d < 0.5]] = True
    print(
        f"true sites {len(true)}; inner sites found within 0.5 px: "
        f"{hit[inner].mean():.4f}; RMS error {np.sqrt(np.mean(d**2)):.3f} px; "
        f"no site found twice: {found_once}"
    )
    inc = res.included
    r = [abs(np.corrcoef(res.scores[inc, c], strain[i[inc]])[0, 1]) for c in range(2)]
    print(f"|Pearson r| of scores 0, 1 with the true strain: {r[0]:.3f}, {r[1]:.3f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16384)
    ap.add_argument("--chunks", type=int, default=2048)
    ap.add_argument("--dir", default="/tmp/hyperspy_unmix_large")
    ap.add_argument(
        "--mode", choices=("all", "generate", "atoms", "full"), default="all"
    )
    args = ap.parse_args()
    path = Path(args.dir) / f"lattice_{args.size}.zspy"
    if args.mode == "generate":
        generate(path, args.size, args.chunks)
        return
    if args.mode == "atoms":
        run_atoms_only(path)
        return
    if args.mode == "full":
        run_full(path, args.size)
        return
    common = ["--size", str(args.size), "--chunks", str(args.chunks), "--dir", args.dir]
    if not Path(str(path) + ".truth.npy").exists():
        os.makedirs(args.dir, exist_ok=True)
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--mode", "generate", *common]
        subprocess.run(cmd, check=True)
        print(f"generated {path} in {time.perf_counter() - t0:.1f} s")
    # each measurement in a fresh process: ru_maxrss is a lifetime peak
    for mode in ("atoms", "full"):
        subprocess.run([sys.executable, __file__, "--mode", mode, *common], check=True)


if __name__ == "__main__":
    main()
