"""Figures from results files alone: metric vs SNR (per CBR) and metric vs CBR (per SNR).

One line per codec / channel (MCS-table codecs as their envelope), the mean over images with
error bars of one standard deviation; PNG and PDF. With two metrics or more, also the normalised
panel of all metrics side by side and their rank correlation (:mod:`testbed.report.comparison_plots`).
The image grid is drawn by :mod:`testbed.report.grid` from the reconstructions the rows point to.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Sequence

from testbed.report.aggregate import LOWER_IS_BETTER, curves
from testbed.run.results import metric_columns, read_results, safe_name

AXIS_LABELS = {"snr_db": "SNR (Es/N0, dB)", "cbr": "CBR (channel uses / (3HW))"}
METRIC_LABELS = {"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM"}


def _figure(rows, metric: str, x_key: str, fixed_key: str, fixed_value: float, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=120)
    for curve in curves(rows, metric, x_key, fixed_key, fixed_value):
        ax.errorbar(curve.x, curve.mean, yerr=curve.std, marker="o", markersize=4, capsize=3,
                    linewidth=1.5, label=curve.label)
    ax.set_xlabel(AXIS_LABELS[x_key])
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if x_key == "cbr":
        ax.set_xscale("log", base=2)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_results(paths: Sequence[str | Path], out_dir: str | Path, metrics: Sequence[str] | None = None,
                 formats: Sequence[str] = ("png", "pdf"), grid: bool = True, scope: str = "all") -> list[Path]:
    """Draw the figures of the results into ``out_dir`` (``scope``: see :func:`plot_rows`); returns
    the files written."""
    written = plot_rows([row for p in paths for row in read_results(p)], out_dir, metrics, formats, scope)
    if grid and written:
        from testbed.report.grid import draw_grids

        written += draw_grids(paths, out_dir, formats=formats)
    return written


def plot_rows(rows: list[dict], out_dir: str | Path, metrics: Sequence[str] | None = None,
              formats: Sequence[str] = ("png", "pdf"), scope: str = "all") -> list[Path]:
    """The figures of ``rows`` (results rows) into ``out_dir``.

    ``scope="all"`` (``testbed plot``): the summary per channel and CBR, the normalised panels and
    rank correlations, and one figure per metric against SNR (per CBR) and against CBR (per SNR).
    ``scope="run"`` (after a sweep): what the report needs, the summaries, panels and correlations,
    and the curves against CBR only when the run swept 3 CBRs or more.
    """
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not rows:
        return written
    snrs = sorted({float(r["snr_db"]) for r in rows})
    cbrs = sorted({float(r["cbr"]) for r in rows})
    metrics = list(metrics or metric_columns(rows))
    if scope not in ("all", "run"):
        raise ValueError(f"plot scope {scope!r}: use all or run")
    against = ("snr_db", "cbr") if scope == "all" or len(cbrs) >= 3 else ("snr_db",)
    figures = summary_figures(rows, metrics) + comparison_figures(rows, metrics, snrs, cbrs, against)
    if scope == "all":
        figures += curve_figures(rows, metrics, snrs, cbrs)
    elif len(cbrs) >= 3:
        figures += curve_figures(rows, metrics, snrs, cbrs, against=("cbr",))
    for stem, draw in figures:
        fig = draw()  # drawn, saved and closed one at a time: a large grid makes dozens of figures
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            fig.savefig(path)
            written.append(path)
        plt.close(fig)
    return written


def curve_figures(rows, metrics, snrs, cbrs, against=("snr_db", "cbr")) -> list[tuple[str, object]]:
    """(file stem, drawing function) of each metric against SNR per CBR and against CBR per SNR
    (``against``: which of the two)."""
    figures = []
    for metric in metrics:
        if len(snrs) > 1 and "snr_db" in against:
            figures += [(f"{metric}_vs_snr_cbr{cbr:.5g}",
                         partial(_figure, rows, metric, "snr_db", "cbr", cbr, f"{metric} vs SNR, CBR = {cbr:.4g}"))
                        for cbr in cbrs]
        if len(cbrs) > 1 and "cbr" in against:
            figures += [(f"{metric}_vs_cbr_snr{snr:g}dB",
                         partial(_figure, rows, metric, "cbr", "snr_db", snr, f"{metric} vs CBR, SNR = {snr:g} dB"))
                        for snr in snrs]
    return figures


def comparison_figures(rows, metrics, snrs, cbrs, against=("snr_db", "cbr")) -> list[tuple[str, object]]:
    """(file stem, drawing function) of the normalised panels and the rank-correlation matrix (>= 2 metrics)."""
    from testbed.report.comparison_plots import correlation_figure, panel_figure

    if len(metrics) < 2:
        return []
    figures = []
    if len(snrs) > 1:
        figures += [(f"panel_vs_snr_cbr{cbr:.5g}", partial(panel_figure, rows, metrics, "snr_db", "cbr", cbr,
                                                           f"All metrics vs SNR, CBR = {cbr:.4g}"))
                    for cbr in cbrs]
    if len(cbrs) > 1 and "cbr" in against:
        figures += [(f"panel_vs_cbr_snr{snr:g}dB", partial(panel_figure, rows, metrics, "cbr", "snr_db", snr,
                                                           f"All metrics vs CBR, SNR = {snr:g} dB"))
                    for snr in snrs]
    figures.append(("rank_correlation", partial(correlation_figure, rows, metrics)))
    return figures


def summary_figure(rows, channel: str, cbr: float, metrics: Sequence[str]):
    """Every metric against SNR for one channel and CBR, side by side in real units: mean over
    images with error bars of one standard deviation, one line per codec (tables: the envelope)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mine = [r for r in rows if r["channel"] == channel]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.3 * len(metrics) + 0.6, 3.6), dpi=110, squeeze=False)
    handles = {}
    for ax, metric in zip(axes[0], metrics):
        for curve in curves(mine, metric, "snr_db", "cbr", cbr):
            line = ax.errorbar(curve.x, curve.mean, yerr=curve.std, marker="o", markersize=3, capsize=2,
                               linewidth=1.3, label=curve.label.replace(f" / {channel}", ""))
            handles.setdefault(line.get_label(), line)
        ax.set_xlabel(AXIS_LABELS["snr_db"])
        ax.set_ylabel(METRIC_LABELS.get(metric, metric) + (" (lower is better)" if metric in LOWER_IS_BETTER else ""))
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"{channel}, CBR = {cbr:.4g}: every metric vs SNR (mean +- std over images)", fontsize=10)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(len(handles), 5), fontsize=8)
    fig.tight_layout(rect=(0, 0.06 + 0.05 * ((len(handles) - 1) // 5), 1, 0.95))
    return fig


def summary_figures(rows, metrics) -> list[tuple[str, object]]:
    """(file stem, drawing function) of the summary of each (channel, CBR) with 2 SNRs or more."""
    if len({float(r["snr_db"]) for r in rows}) < 2:
        return []
    points = sorted({(r["channel"], float(r["cbr"])) for r in rows})
    return [(f"summary_{safe_name(channel)}_cbr{cbr:.5g}", partial(summary_figure, rows, channel, cbr, list(metrics)))
            for channel, cbr in points]
