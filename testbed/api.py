"""The Python API: run a sweep from a notebook and get its rows as a pandas DataFrame.

    import testbed.api as tb

    run = tb.run("codec=[jpeg_ldpc,adjscc]", "snr_db=[1,7,13]", "cbr=[1/16]", out="runs/first")
    run.results.groupby(["codec", "snr_db"]).psnr.mean()
    df = tb.load("runs/first", "outputs/2026-12-07/10-00-00")   # any run folders or results files
    figs = tb.figures(df, "psnr")                                # {name: matplotlib Figure}

Overrides are the command line's (``key=value``, ``experiment=paper_snr``, ``codec.X.fec.decoder=...``),
checked the same way (unknown options answered with the closest names). A run folder that already
holds rows is resumed, as on the command line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from omegaconf import DictConfig


@dataclass
class Run:
    """A finished sweep: its folder (``results.csv``, plots, ``report.html``) and its rows."""

    folder: Path
    results: "object"  # pandas.DataFrame

    def __repr__(self) -> str:
        return f"Run(folder={str(self.folder)!r}, rows={len(self.results)})"


def compose(*overrides: str) -> DictConfig:
    """The run config of ``overrides``, composed as the ``testbed`` command would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.core.global_hydra import GlobalHydra

    from testbed.config.catalogue import searchpath_override
    from testbed.config.overrides import translate

    argv = translate(list(overrides)) + searchpath_override()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        return hydra_compose(config_name="config", overrides=argv)


def run(*overrides: str, out: str | Path | None = None, plots: bool | None = None,
        report: bool | None = None) -> Run:
    """Run (or resume) the sweep of ``overrides`` into ``out`` (default:
    ``outputs/api/<date>/<time>``); draws the plots and the report unless told not to (or the
    config says so). Returns the :class:`Run` with every row of the folder."""
    from testbed.run.sweep import run_sweep

    cfg = compose(*overrides)
    folder = Path(out) if out is not None else Path("outputs") / "api" / time.strftime("%Y-%m-%d/%H-%M-%S")
    results = run_sweep(cfg, folder)
    drawn = None
    if cfg.get("plots", True) if plots is None else plots:
        from testbed.report.plots import plot_results

        written = plot_results([results], folder / "plots", formats=("png",), scope="run")
        drawn = [p for p in written if p.suffix == ".png" and not p.stem.startswith("grid_")]
    if cfg.get("report", True) if report is None else report:
        from testbed.report.page import build_report

        build_report([folder], folder, figures=drawn)
    return Run(folder, load(results))


def load(*sources: str | Path) -> "object":
    """Rows of run folders, multirun folders or results files as one DataFrame, typed (floats,
    ints, bools; ``provenance`` and ``extra`` as dicts), with a ``run`` column naming each source's
    folder. A row present in two sources with the same settings is kept once."""
    import json

    import pandas as pd

    from testbed.core.errors import ConfigError
    from testbed.report.page import load_rows, resolve_sources

    if not sources:
        raise ConfigError("testbed.api.load: give at least one run folder or results file")
    files = []  # a multirun folder without merged rows is merged into its own merged/ folder
    for source in map(Path, sources):
        files += resolve_sources([source], source if source.is_dir() else source.parent)
    rows, _ = load_rows(files)
    for row in rows:
        row["run"] = str(Path(row.pop("_run_dir")))
        row.pop("_set", None)
        for key in ("provenance", "extra"):
            if isinstance(row.get(key), str):
                try:
                    row[key] = json.loads(row[key]) if row[key] else {}
                except ValueError:
                    pass  # kept as text: a damaged cell is shown, not guessed at
    return pd.DataFrame(rows)


def figures(df, metric: str, x: str = "snr_db") -> dict:
    """The standard figures of ``metric`` from a DataFrame (:func:`load`'s or a filtered one):
    ``{name: Figure}``, one per CBR (``x="snr_db"``) or per SNR (``x="cbr"``), one line per codec
    and channel with the spread over images, MCS-table codecs as their envelope."""
    from testbed.core.errors import ConfigError
    from testbed.report.plots import _figure

    if x not in ("snr_db", "cbr"):
        raise ConfigError(f"figures: x={x!r}; use snr_db or cbr")
    if metric not in df.columns:
        raise ConfigError(f"figures: no column {metric!r}; metrics here: "
                          f"{', '.join(c for c in df.columns if c not in _BASE)}")
    rows = [{k: None if isinstance(v, float) and v != v else v for k, v in r.items()}  # NaN: no value
            for r in df.to_dict("records")]
    settings: dict = {}
    for r in rows:  # runs that hold a codec and channel with other settings: one line each, named
        settings.setdefault((r["codec"], r["channel"]), set()).add(r.get("config_hash"))
    for r in rows:
        if len(settings[(r["codec"], r["channel"])]) > 1:
            r["_set"] = Path(str(r.get("run"))).name
    fixed = "cbr" if x == "snr_db" else "snr_db"
    out = {}
    for value in sorted({float(r[fixed]) for r in rows}):
        label = f"CBR = {value:.4g}" if fixed == "cbr" else f"SNR = {value:g} dB"
        name = f"{metric}_vs_{'snr' if x == 'snr_db' else 'cbr'}_{fixed}{value:.5g}"
        out[name] = _figure(rows, metric, x, fixed, value, f"{metric} vs {'SNR' if x == 'snr_db' else 'CBR'}, {label}")
    return out


def _base_columns() -> Sequence[str]:
    from testbed.run.results import BASE_COLUMNS

    return (*BASE_COLUMNS, "run")


_BASE = _base_columns()
