"""Command line: ``python -m hyperspy_unmix demo [--out DIR] [--only SECTION ...]``."""

import argparse
import sys
import traceback


def main(argv=None):
    from hyperspy_unmix.demo import SECTIONS, DemoError, _sections

    parser = argparse.ArgumentParser(
        prog="python -m hyperspy_unmix",
        description="hyperspy_unmix command line",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser(
        "demo",
        help="run the gallery's examples on the package's example data and "
        "write their figures",
        description="Run every gallery example shipped with the package "
        "(hyperspy_unmix/examples/<section>/plot_*.py, the scripts behind the "
        "documentation's gallery and figures), print what each one prints and "
        "save each figure as <section>_<script>_<NN>.png.",
    )
    demo.add_argument(
        "--out",
        default="hyperspy_unmix_demo",
        help="folder for the PNG figures (default: ./hyperspy_unmix_demo)",
    )
    demo.add_argument(
        "--only",
        nargs="+",
        metavar="SECTION",
        help=f"run only these gallery sections (of {', '.join(SECTIONS)})",
    )
    demo.add_argument(
        "--examples",
        metavar="DIR",
        help="run the plot_*.py scripts of the section folders in DIR instead "
        "of the shipped gallery (e.g. a gallery being written)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from hyperspy_unmix.demo import run_demo

        available = SECTIONS if args.examples is None else _sections(args.examples)
        if args.examples is not None and not available:
            demo.error(
                f"argument --examples: no section with plot_*.py in {args.examples}"
            )
        for name in args.only or ():
            if name not in available:
                demo.error(
                    f"argument --only: invalid choice: {name!r} "
                    f"(choose from {', '.join(map(repr, available))})"
                )
        try:
            run_demo(args.out, sections=args.only, examples_dir=args.examples)
        except DemoError as err:
            traceback.print_exception(err)  # the script's traceback, then this
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
