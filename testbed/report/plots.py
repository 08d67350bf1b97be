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

from testbed.report.aggregate import curves
from testbed.run.results import metric_columns, read_results

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
                 formats: Sequence[str] = ("png", "pdf"), grid: bool = True) -> list[Path]:
    """Draw every figure the results allow into ``out_dir``; returns the files written."""
    written = plot_rows([row for p in paths for row in read_results(p)], out_dir, metrics, formats)
    if grid and written:
        from testbed.report.grid import draw_grids

        written += draw_grids(paths, out_dir, formats=formats)
    return written


def plot_rows(rows: list[dict], out_dir: str | Path, metrics: Sequence[str] | None = None,
              formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """The curve, panel and correlation figures of ``rows`` (results rows) into ``out_dir``."""
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if not rows:
        return written
    snrs = sorted({float(r["snr_db"]) for r in rows})
    cbrs = sorted({float(r["cbr"]) for r in rows})
    metrics = list(metrics or metric_columns(rows))
    for stem, draw in comparison_figures(rows, metrics, snrs, cbrs) + curve_figures(rows, metrics, snrs, cbrs):
        fig = draw()  # drawn, saved and closed one at a time: a large grid makes dozens of figures
        for fmt in formats:
            path = out_dir / f"{stem}.{fmt}"
            fig.savefig(path)
            written.append(path)
        plt.close(fig)
    return written


def curve_figures(rows, metrics, snrs, cbrs) -> list[tuple[str, object]]:
    """(file stem, drawing function) of each metric against SNR per CBR and against CBR per SNR."""
    figures = []
    for metric in metrics:
        if len(snrs) > 1:
            figures += [(f"{metric}_vs_snr_cbr{cbr:.5g}",
                         partial(_figure, rows, metric, "snr_db", "cbr", cbr, f"{metric} vs SNR, CBR = {cbr:.4g}"))
                        for cbr in cbrs]
        if len(cbrs) > 1:
            figures += [(f"{metric}_vs_cbr_snr{snr:g}dB",
                         partial(_figure, rows, metric, "cbr", "snr_db", snr, f"{metric} vs CBR, SNR = {snr:g} dB"))
                        for snr in snrs]
    return figures


def comparison_figures(rows, metrics, snrs, cbrs) -> list[tuple[str, object]]:
    """(file stem, drawing function) of the normalised panels and the rank-correlation matrix (>= 2 metrics)."""
    from testbed.report.comparison_plots import correlation_figure, panel_figure

    if len(metrics) < 2:
        return []
    figures = []
    if len(snrs) > 1:
        figures += [(f"panel_vs_snr_cbr{cbr:.5g}", partial(panel_figure, rows, metrics, "snr_db", "cbr", cbr,
                                                           f"All metrics vs SNR, CBR = {cbr:.4g}"))
                    for cbr in cbrs]
    if len(cbrs) > 1:
        figures += [(f"panel_vs_cbr_snr{snr:g}dB", partial(panel_figure, rows, metrics, "cbr", "snr_db", snr,
                                                           f"All metrics vs CBR, SNR = {snr:g} dB"))
                    for snr in snrs]
    figures.append(("rank_correlation", partial(correlation_figure, rows, metrics)))
    return figures
