"""nfindr_unmix and sliding_fft on data 4x larger than a dask cluster's memory.

Not a ``bench_*`` case (the runner does not pick it up): run it by hand,

    python benchmarks/large_data.py [--quick] [--keep] [--part spectra|fft|both]
                                    [--repeat N]

It starts a ``LocalCluster`` of 2 worker processes (1 thread each, 1 GiB
memory limit each), then

1. writes a synthetic EELS-like spectrum image (2304 x 2048 pixels x 512
   channels float32, 9.0 GiB: 4.5x the cluster's 2 GiB) to a ``.zspy`` store
   under ``/tmp``, generated block by block on the workers (abundances x
   endmembers + Poisson noise; ``hyperspy_unmix.data``'s endmember spectra and
   abundance maps at 1/4 resolution, so the truth is known);
   loads it with ``hs.load(..., lazy=True)`` and times one plain out-of-core
   pass (a lazy sum over the signal axis) against
   ``nfindr_unmix(s, 4, lazy_output=True)`` + ``res.save(...zspy)`` (the
   abundances and residual computed and written chunk by chunk), with the
   default ``endmember_estimate="pixel"`` (three passes over the data) and
   ``"denoised"`` (two passes), with the covariance estimated from the
   default sample of a million pixels, and "denoised" once more from every
   pixel (``max_pca_pixels=None``);
2. writes a 16384 x 16384 float32 two-phase lattice image (1 GiB) rendered
   tile by tile on the workers, and times a plain pass over the lazy sliding
   FFT stack (window 64, step 8: 2041 x 2041 = 4 165 681 windows; with the
   segmentation settings ``zoom=2, remove_dc=2, normalize="sum"`` the
   patterns are cropped to 32 x 32, a 17.1 GB stack; uncropped it would be
   68 GB) against ``nfindr_unmix(stack, 2, endmember_estimate="denoised",
   lazy_output=True)`` + saving the result.

For every step it prints wall time, throughput, the peak resident memory of
each worker and of the client process during that step (Linux ``VmHWM``,
reset before the step through ``/proc/self/clear_refs``), and the accuracy
against the known truth. ``--quick`` runs small sizes (about a minute) to
check the machinery; its sizes do not exceed the cluster's memory.
"""

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import large_data_gen as gen  # noqa: E402

FULL = {
    "nav": (2304, 2048),
    "channels": 512,
    "rows": 8,  # navigation rows per block: 8 x 2048 x 512 float32 = 32 MiB
    "factor": 4,
    "dose": 1e5,
    "image": 16384,
    "tile": 2048,
    "label_factor": 16,
}
QUICK = {
    "nav": (256, 256),
    "channels": 256,
    "rows": 32,
    "factor": 4,
    "dose": 1e5,
    "image": 2048,
    "tile": 512,
    "label_factor": 8,
}
WINDOW, STEP = 64, 8
N_ENDMEMBERS = 4
SEED = 7


# -- memory of this process (client.run sends these to the workers) ----------


def reset_peak():
    """Reset this process's peak resident memory (Linux); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_gib():
    """Peak resident memory of this process since the last reset, GiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_seconds():
    """CPU time (user + system, all threads) of this process so far."""
    t = os.times()
    return t.user + t.system


class Meter:
    """Wall time and peak memory of the client and every worker for one step."""

    def __init__(self, client, rows, name, nbytes):
        self.client, self.rows, self.name, self.nbytes = client, rows, name, nbytes

    def __enter__(self):
        self.exact = all(self.client.run(reset_peak).values()) and reset_peak()
        self.cpu0 = self.client.run(cpu_seconds)
        self.client_cpu0 = cpu_seconds()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        seconds = time.perf_counter() - self.t0
        workers = self.client.run(peak_gib)
        cpu = self.client.run(cpu_seconds)
        # CPU seconds of the workers and the client: what the step costs,
        # nearly independent of what else runs on the machine
        cpu_s = sum(cpu[w] - self.cpu0.get(w, 0.0) for w in cpu)
        cpu_s += cpu_seconds() - self.client_cpu0
        self.row = {
            "cpu_s": cpu_s,
            "step": self.name,
            "seconds": seconds,
            "GB/s": self.nbytes / 1e9 / seconds,
            "workers_peak_GiB": [workers[w] for w in sorted(workers)],
            "client_peak_GiB": peak_gib(),
            "peak_is_per_step": self.exact,
        }
        self.rows.append(self.row)
        print(
            f"  {self.name}: {seconds:.1f} s ({cpu_s:.1f} CPU s), "
            f"workers {', '.join(f'{v:.2f}' for v in self.row['workers_peak_GiB'])}"
            f" GiB, client {self.row['client_peak_GiB']:.2f} GiB",
            flush=True,
        )
        return False


# -- the two experiments --------------------------------------------------------


def set_ratios(rows):
    """Ratio of each nfindr step to the plain passes just before and after it.

    The machine is shared, so each step is compared with its neighbours in
    time (the mean of the nearest plain pass on each side in its section).
    """
    section = []
    for row in rows + [{"step": "section"}]:
        if row["step"] != "section":
            section.append(row)
            continue
        for i, r in enumerate(section):
            if not r["step"].startswith("nfindr"):
                continue
            before = [p for p in section[:i] if p["step"].startswith("plain")]
            after = [p for p in section[i + 1 :] if p["step"].startswith("plain")]
            plain = before[-1:] + after[:1]
            if plain:
                r["ratio"] = np.mean([p["seconds"] for p in plain]) / r["seconds"]
                r["cpu_ratio"] = np.mean([p["cpu_s"] for p in plain]) / r["cpu_s"]
        section = []


def median_ratios(rows):
    """Median ratio (and range) of every nfindr step that ran more than once."""
    by_step = {}
    for row in rows:
        if "ratio" in row:
            by_step.setdefault(row["step"], []).append(row)
    for step, runs in by_step.items():
        if len(runs) < 2:
            continue
        r = [x["ratio"] for x in runs]
        c = [x["cpu_ratio"] for x in runs]
        print(
            f"{step}: median ratio {np.median(r):.2f} (range {min(r):.2f}-"
            f"{max(r):.2f}), median CPU ratio {np.median(c):.2f} over {len(r)} runs"
        )


def spectral_angles(found, true):
    from scipy.optimize import linear_sum_assignment

    f = found / np.linalg.norm(found, axis=1, keepdims=True)
    t = true / np.linalg.norm(true, axis=1, keepdims=True)
    ang = np.arccos(np.clip(f @ t.T, -1.0, 1.0))
    r, c = linear_sum_assignment(ang)
    return r, c, ang[r, c]


def run_spectra(client, cfg, workdir, rows, notes, repeat=1):
    import dask.array as da
    import hyperspy.api as hs

    import hyperspy_unmix as hu

    ny, nx = cfg["nav"]
    C, f = cfg["channels"], cfg["factor"]
    low, E = gen.spectrum_truth((ny, nx), C, N_ENDMEMBERS, cfg["dose"], f, SEED)
    cube = gen.lazy_spectrum_image(low, E, f, cfg["rows"], SEED)
    nbytes = cube.nbytes
    path = workdir / "spectrum_image.zspy"
    print(
        f"spectrum image {cube.shape} float32, {nbytes / 2**30:.2f} GiB, "
        f"blocks {cube.chunksize}",
        flush=True,
    )
    s = hs.signals.Signal1D(cube).as_lazy()
    s.axes_manager[-1].name = "Energy loss"
    s.axes_manager[-1].units = "eV"
    with Meter(client, rows, "write .zspy (generate on workers)", nbytes):
        s.save(path, chunks=cube.chunksize, overwrite=True, show_progressbar=False)
    disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    notes.append(f"spectrum image on disk: {disk / 2**30:.2f} GiB (zspy, Blosc)")

    s = hs.load(path, lazy=True)
    s.set_signal_type("spectral_map")
    with Meter(client, rows, "plain pass: lazy sum over energy", nbytes):
        s.data.sum(axis=-1).compute()

    truth = gen.lazy_abundance_truth(low, f, (cfg["rows"], nx))
    # the default covariance sample (max_pca_pixels=1e6 of the 4.7e6 pixels),
    # then every pixel, to show what the sample saves and what it costs
    runs = [("pixel", 1_000_000), ("denoised", 1_000_000), ("denoised", None)]
    for estimate, max_pca in runs * repeat:
        out = workdir / f"unmixed_{estimate}.zspy"
        pca = "all pixels" if max_pca is None else f"{max_pca:.0e}"
        with Meter(client, rows, f"nfindr_unmix 4 ({estimate}, {pca}) + save", nbytes):
            res = hu.nfindr_unmix(
                s,
                N_ENDMEMBERS,
                endmember_estimate=estimate,
                max_pca_pixels=max_pca,
                lazy_output=True,
            )
            res.save(out, overwrite=True, show_progressbar=False)
        r, c, ang = spectral_angles(np.asarray(res.endmembers.data), E)
        # one file: the abundances, carrying the endmembers and the residual
        ab = hs.load(out, lazy=True).data
        diff = ab[r] - truth[c].rechunk(ab[r].chunks)
        rmse = float(da.sqrt(da.nanmean(diff**2)).compute())
        A = ab  # sum-to-one check on the saved maps, block by block
        dev = float(da.nanmax(abs(A.sum(axis=0) - 1)).compute())
        neg = float(da.nanmin(A).compute())
        rows[-1]["accuracy"] = (
            f"angle mean {ang.mean():.4f} rad (max {ang.max():.4f}); "
            f"abundance RMSE {rmse:.4f}; min {neg:.1e}; |sum-1| max {dev:.1e}"
        )
        print("   ", rows[-1]["accuracy"], flush=True)
        # the plain pass again after each: the machine is shared
        with Meter(client, rows, "plain pass again", nbytes):
            s.data.sum(axis=-1).compute()
    # noise floor: angle between the true endmembers and noisy pure pixels
    noisy = gen._spectra_block(
        np.eye(N_ENDMEMBERS, dtype=np.float32)[:, :, None],
        np.array([10**9]),
        endmembers=E,
        factor=1,
        seed=SEED,
    ).reshape(N_ENDMEMBERS, C)
    floor = spectral_angles(noisy, E)[2].mean()
    notes.append(f"noise floor (true vs one noisy pure pixel): {floor:.4f} rad")


def run_fft(client, cfg, workdir, rows, notes):
    import hyperspy.api as hs
    from scipy.optimize import linear_sum_assignment

    import hyperspy_unmix as hu
    from hyperspy_unmix.phases import SEGMENTATION_DEFAULTS

    size, tile, lf = cfg["image"], cfg["tile"], cfg["label_factor"]
    labels = gen.lattice_truth(size, lf, SEED)
    img = gen.lazy_lattice_image(labels, lf, tile, SEED)
    path = workdir / "lattice.zspy"
    print(
        f"lattice image {img.shape} float32, {img.nbytes / 2**30:.2f} GiB", flush=True
    )
    s = hs.signals.Signal2D(img).as_lazy()
    for ax in s.axes_manager.signal_axes:
        ax.scale, ax.units = 0.025, "nm"
    with Meter(client, rows, "write .zspy (render on workers)", img.nbytes):
        s.save(path, chunks=(tile, tile), overwrite=True, show_progressbar=False)

    image = hs.load(path, lazy=True)
    stack = hu.sliding_fft(image, WINDOW, STEP, **SEGMENTATION_DEFAULTS)
    nbytes = stack.data.nbytes
    notes.append(
        f"sliding FFT stack {stack.data.shape} float32 ({nbytes / 1e9:.1f} GB, "
        f"{stack.data.numblocks[0] * stack.data.numblocks[1]} blocks) with "
        f"{SEGMENTATION_DEFAULTS}; uncropped it would be "
        f"{nbytes * 4 / 1e9:.0f} GB"
    )
    print(notes[-1], flush=True)
    with Meter(client, rows, "plain pass: lazy stack sum", nbytes):
        stack.data.sum().compute()
    out = workdir / "phases.zspy"
    with Meter(client, rows, "nfindr_unmix 2 (denoised) + save", nbytes):
        res = hu.nfindr_unmix(stack, 2, endmember_estimate="denoised", lazy_output=True)
        res.save(out, overwrite=True, show_progressbar=False)
    ab = np.asarray(hs.load(out).data)
    true = gen.pure_windows(labels, lf, WINDOW, STEP, ab.shape[1:])
    pred = ab.argmax(axis=0)
    keep = true >= 0
    counts = np.zeros((2, 2))
    np.add.at(counts, (pred[keep], true[keep]), 1)
    r, c = linear_sum_assignment(-counts)
    acc = counts[r, c].sum() / keep.sum()
    rows[-1]["accuracy"] = (
        f"windows labelled correctly: {acc:.4f} of {int(keep.sum())} "
        "windows inside one phase"
    )
    print("   ", rows[-1]["accuracy"], flush=True)
    with Meter(client, rows, "plain pass again", nbytes):
        stack.data.sum().compute()


def table(rows, notes, limit):
    print()
    print(f"LocalCluster: 2 workers x 1 thread, memory_limit {limit} each")
    head = (
        f"{'step':<46} {'seconds':>7} {'GB/s':>5} {'ratio':>5} {'CPU s':>6} "
        f"{'CPU ratio':>9} {'worker peaks GiB':>16} {'client GiB':>10}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        if row["step"] == "section":
            print(row["title"])
            continue
        ratio = f"{row['ratio']:.2f}" if "ratio" in row else ""
        cpu_ratio = f"{row['cpu_ratio']:.2f}" if "cpu_ratio" in row else ""
        peaks = "/".join(f"{v:.2f}" for v in row["workers_peak_GiB"])
        print(
            f"{row['step']:<46} {row['seconds']:7.1f} {row['GB/s']:5.2f} "
            f"{ratio:>5} {row['cpu_s']:6.1f} {cpu_ratio:>9} {peaks:>16} "
            f"{row['client_peak_GiB']:10.2f}"
        )
        if "accuracy" in row:
            print(f"{'':<4}{row['accuracy']}")
    if not all(r.get("peak_is_per_step", True) for r in rows):
        print("(peaks since process start: /proc/self/clear_refs refused)")
    for note in notes:
        print(f"- {note}")
    print(
        "ratio = wall time of the plain passes just before and after (mean) / wall "
        "time of the step; CPU ratio = the same with CPU seconds of workers + "
        "client (the machine is shared: wall times vary with other load, CPU "
        "times much less)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--keep", action="store_true", help="keep the data files")
    parser.add_argument("--part", choices=("spectra", "fft", "both"), default="both")
    parser.add_argument("--dir", default="/tmp", help="where the data go")
    parser.add_argument("--memory-limit", default="1GiB")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the spectrum-image steps N times"
    )
    args = parser.parse_args()
    cfg = QUICK if args.quick else FULL

    import hyperspy.api as hs
    from dask.distributed import Client, LocalCluster

    hs.preferences.General.show_progressbar = False
    # rsciio's own deprecation notice about zarr's NestedDirectoryStore
    warnings.filterwarnings("ignore", category=FutureWarning, module="rsciio")
    free = shutil.disk_usage(args.dir).free
    need = 14 * 2**30 if not args.quick else 2**30
    if free < need:
        sys.exit(f"{args.dir} has {free / 2**30:.1f} GiB free, need {need / 2**30}")
    workdir = Path(tempfile.mkdtemp(prefix="hu_large_", dir=args.dir))
    print(f"data in {workdir} ({free / 2**30:.0f} GiB free)", flush=True)
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit=args.memory_limit,
        dashboard_address=None,
        silence_logs=logging.CRITICAL,
    )
    rows, notes = [], []
    try:
        with Client(cluster) as client:
            if args.part in ("spectra", "both"):
                rows.append({"step": "section", "title": "== spectrum image =="})
                run_spectra(client, cfg, workdir, rows, notes, args.repeat)
            if args.part in ("fft", "both"):
                rows.append({"step": "section", "title": "== sliding FFT =="})
                run_fft(client, cfg, workdir, rows, notes)
    finally:
        cluster.close()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    kept = f"kept in {workdir}" if args.keep else "removed"
    notes.append(f"cpus {os.cpu_count()}; data {kept}")
    set_ratios(rows)
    table(rows, notes, args.memory_limit)
    median_ratios(rows)


if __name__ == "__main__":
    main()
