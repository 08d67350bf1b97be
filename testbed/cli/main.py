"""The ``testbed`` command.

* ``testbed [overrides...]`` runs a sweep (a Hydra app: ``key=value`` overrides, ``-m`` multirun,
  ``experiment=<preset>``), then draws its plots and image grid into the run directory.
* ``testbed list [group]`` lists the codecs, channels, metrics, datasets and experiment presets.
* ``testbed plot RESULTS.csv|RUN_DIR ... [--out DIR]`` draws figures from any results files.
* ``testbed waterfall --k K --n N --modulation qpsk --ebno 0 1 2`` draws a BER/BLER waterfall.
* ``testbed weights [option...]`` lists the weights files metrics and codecs need, found or where to
  put them.
* ``testbed train-curve CHECKPOINT...`` draws validation PSNR against training time.
* ``testbed merge DIR... --out DIR`` merges the results of many jobs (multirun, shards) into one set.
* ``testbed report RUN_DIR... [--out DIR]`` writes a self-contained HTML report (figures, tables,
  gallery) of one run or a group of runs.
* ``testbed transforms --dataset kodak --metric psnr vitscore --transform hflip rotate5`` scores
  clean images under transformations that keep or change their meaning.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from testbed.core.errors import TestbedError

log = logging.getLogger("testbed")
#: Subcommands of the core; plugin packages add theirs through the ``testbed.commands`` entry point
#: (``name = "package.module:add_parser"``), e.g. ``waterfall`` (digital chain) and ``sess-calibrate``.
CORE_SUBCOMMANDS = ("list", "plot", "weights", "train-curve", "transforms", "merge", "report")
COMMANDS_ENTRY_POINT = "testbed.commands"


def plugin_subcommands() -> dict:
    """``{name: entry point}`` of the subcommands plugin packages declare."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMANDS_ENTRY_POINT) if ep.name not in CORE_SUBCOMMANDS}


def _hydra_app(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    from testbed.run.sweep import run_sweep

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    if cfg.get("transformations"):  # the transformations experiment: clean images, no channel
        from testbed.report.transforms import run_config

        try:
            from testbed.run.run_folder import record_config

            written = run_config(cfg, out_dir)
            record_config(cfg, out_dir)
        except TestbedError as err:
            print(f"testbed: error: {err}", file=sys.stderr)
            sys.exit(2)
        log.info("transformations: %s", ", ".join(str(p) for p in written))
        return
    try:
        results = run_sweep(cfg, out_dir)
    except TestbedError as err:  # a clear message, not a traceback (Hydra would print one)
        print(f"testbed: error: {err}", file=sys.stderr)
        sys.exit(2)
    drawn = None
    if cfg.get("plots", True):
        from testbed.report.plots import plot_results

        written = plot_results([results], out_dir / "plots", formats=("png",), scope="run")  # `testbed plot`: all
        log.info("results: %s; %d figure files in %s", results, len(written), out_dir / "plots")
        drawn = [p for p in written if p.suffix == ".png" and not p.stem.startswith("grid_")]
    if cfg.get("report", True):
        from testbed.report.page import build_report

        log.info("report: %s", build_report([out_dir], out_dir, figures=drawn))  # the figures just drawn


def check_group_choices(argv: list[str]) -> list[str]:
    """Answer a misspelt ``group=name`` with the closest options and turn a part chosen by its key
    (``codec.jpeg_ldpc.fec.decoder=sionna``) into Hydra's group override, before Hydra starts."""
    from testbed.config.overrides import translate

    return translate(argv)


def run_hydra(argv: list[str]) -> int:
    """Run the Hydra app with ``argv`` as its command line."""
    import hydra

    from testbed.config.catalogue import searchpath_override

    argv = check_group_choices(argv) + searchpath_override()  # out-of-tree plugin configs (testbed.configs entry point)
    app = hydra.main(version_base="1.3", config_path="pkg://testbed.experiments", config_name="config")(_hydra_app)
    saved = sys.argv
    sys.argv = [saved[0]] + argv
    try:
        app()
    finally:
        sys.argv = saved
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="testbed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    from testbed.cli import list_options, merge, plot, report, train_curve, transforms, weights

    for module in (list_options, plot, weights, train_curve, transforms, merge, report):
        module.add_parser(sub)
    for entry in plugin_subcommands().values():
        entry.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``testbed`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and (argv[0] in CORE_SUBCOMMANDS or argv[0] in plugin_subcommands()):
            args = _parser().parse_args(argv)
            if getattr(args, "format", None) is None and args.command == "plot":
                args.format = ["png", "pdf"]
            return args.func(args)
        if argv and argv[0] in ("-h", "--help") and len(argv) == 1:
            print(__doc__)
        return run_hydra(argv)
    except TestbedError as err:
        print(f"testbed: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
