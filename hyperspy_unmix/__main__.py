"""Command line: ``python -m hyperspy_unmix demo [--out DIR] [--only NAME ...]``."""

import argparse
import sys


def main(argv=None):
    from hyperspy_unmix.demo import SECTIONS

    parser = argparse.ArgumentParser(
        prog="python -m hyperspy_unmix",
        description="hyperspy_unmix command line",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run every analysis on the package's example data and write figures",
    )
    demo.add_argument(
        "--out",
        default="hyperspy_unmix_demo",
        help="folder for the PNG figures (default: ./hyperspy_unmix_demo)",
    )
    demo.add_argument(
        "--only",
        nargs="+",
        choices=list(SECTIONS),
        help="run only these sections",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from hyperspy_unmix.demo import run_demo

        run_demo(args.out, sections=args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
