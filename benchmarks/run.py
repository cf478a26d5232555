"""Run the benchmarks and print one table row per case.

    python benchmarks/run.py            # all cases at full size
    python benchmarks/run.py --quick    # small sizes, to check that they run
    python benchmarks/run.py unmixing   # only benchmarks/bench_unmixing.py

Each ``benchmarks/bench_*.py`` defines ``cases(quick=False)``, a generator of
dicts with keys ``case``, ``ours_s``, ``reference``, ``reference_s``,
``ratio`` (reference time / our time, from interleaved runs in this process,
so > 1 means we are faster) and optionally ``note``. Speed is never asserted in
the tests; it is measured here.
"""

import argparse
import importlib.util
import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="benchmark names (bench_<name>.py)")
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    import hyperspy.api as hs

    # the table is the output: no progress bars between its rows
    hs.preferences.General.show_progressbar = False
    # Atomap imports HyperSpy's private modules; the warnings are Atomap's.
    warnings.filterwarnings(
        "ignore", message=r"Importing `\w+` from `hyperspy\._signals"
    )
    sys.path.insert(0, str(HERE))

    files = sorted(HERE.glob("bench_*.py"))
    if args.only:
        files = [f for f in files if f.stem.removeprefix("bench_") in args.only]
    header = (
        f"{'case':<58} {'ours (s)':>10} {'reference':<34} {'ref (s)':>10} {'ratio':>8}"
    )
    print(header)
    print("-" * len(header))
    for f in files:
        module = _load(f)
        if not hasattr(module, "cases"):  # a script with its own __main__
            continue
        for row in module.cases(quick=args.quick):
            print(
                f"{row['case']:<58} {row['ours_s']:>10.4f} {row['reference']:<34} "
                f"{row['reference_s']:>10.4f} {row['ratio']:>7.1f}x",
                flush=True,
            )
            if row.get("note"):
                print(f"    {row['note']}", flush=True)


if __name__ == "__main__":
    main()
