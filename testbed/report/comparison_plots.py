"""Figures that compare metrics with each other: the normalised panel and the rank correlations.

* **Panel**: one subplot per metric (PSNR, MS-SSIM, (ST-)LPIPS, ViTScore, SeSS, ...) side by side,
  each curve per codec / channel, every metric mapped to [0, 1] over the figure's curve means
  (0 = the worst mean in the figure, 1 = the best; lower-is-better metrics are turned round), so a
  reader sees at a glance where a pixel metric and a semantic metric rank the systems differently.
* **Rank correlation**: Spearman's rho between every two metrics over all rows (one row = one image
  received once), lower-is-better metrics negated first, so +1 always means "agree on the order".
"""

from __future__ import annotations

import numpy as np

from testbed.report.aggregate import LOWER_IS_BETTER, curves
from testbed.report.plots import AXIS_LABELS

#: The panel's preferred order: pixel metrics first, then perceptual, then semantic.
PANEL_ORDER = ("psnr", "ms_ssim", "lpips", "st_lpips", "vitscore", "vitscore_vitb16", "sess", "sess_reference")


def panel_metrics(metrics) -> list[str]:
    """``metrics`` in panel order (known names first, the rest as given)."""
    known = [m for m in PANEL_ORDER if m in metrics]
    return known + [m for m in metrics if m not in known]


def normalise(values: np.ndarray, metric: str, low: float, high: float) -> np.ndarray:
    """Map ``values`` to [0, 1] between the figure's worst and best means (1 = best)."""
    span = high - low
    scaled = (values - low) / span if span > 0 else np.ones_like(values)
    return 1.0 - scaled if metric in LOWER_IS_BETTER else scaled


def panel_figure(rows: list[dict], metrics, x_key: str, fixed_key: str, fixed_value: float, title: str):
    """Side-by-side normalised curves of each metric against ``x_key`` at ``fixed_key = fixed_value``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = panel_metrics(metrics)
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(3.0 * len(metrics), 8.0), 3.6), dpi=110, sharey=True,
                             squeeze=False)
    handles = {}
    for ax, metric in zip(axes[0], metrics):
        cs = curves(rows, metric, x_key, fixed_key, fixed_value)
        means = np.concatenate([c.mean for c in cs]) if cs else np.zeros(0)
        low, high = (float(np.nanmin(means)), float(np.nanmax(means))) if means.size else (0.0, 1.0)
        for c in cs:
            (line,) = ax.plot(c.x, normalise(c.mean, metric, low, high), marker="o", markersize=3, linewidth=1.3)
            handles.setdefault(c.label, line)
            line.set_color(handles[c.label].get_color())
        direction = "lower is better" if metric in LOWER_IS_BETTER else "higher is better"
        ax.set_title(f"{metric}\n[{low:.3g}, {high:.3g}], {direction}", fontsize=8)
        ax.set_xlabel(AXIS_LABELS[x_key], fontsize=8)
        ax.grid(True, alpha=0.3)
        if x_key == "cbr":
            ax.set_xscale("log", base=2)
    axes[0][0].set_ylabel("normalised (1 = best in figure)")
    axes[0][0].set_ylim(-0.05, 1.05)
    columns = 3 if len(metrics) < 4 else 4
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(columns, len(handles)), fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07 + 0.045 * ((len(handles) - 1) // columns), 1, 1))
    return fig


def rank_correlation(rows: list[dict], metrics) -> tuple[list[str], np.ndarray, int]:
    """Spearman's rho between metrics over the rows that have all of them: (names, ``[M, M]``, n)."""
    from scipy.stats import rankdata

    metrics = panel_metrics(metrics)
    table = np.array([[float(r[m]) for m in metrics] for r in rows
                      if all(r.get(m) is not None and np.isfinite(float(r[m])) for m in metrics)])
    if len(table) < 3:
        return metrics, np.full((len(metrics), len(metrics)), np.nan), len(table)
    signs = np.array([-1.0 if m in LOWER_IS_BETTER else 1.0 for m in metrics])
    ranks = rankdata(table * signs, axis=0)  # ties share their mean rank
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant metric has no correlation (nan)
        rho = np.corrcoef(ranks.T)  # Pearson of ranks = Spearman's rho
    names = [f"-{m}" if m in LOWER_IS_BETTER else m for m in metrics]
    return names, np.asarray(rho, dtype=float), len(table)


def correlation_figure(rows: list[dict], metrics, title: str = "Spearman rank correlation over all rows"):
    """Heat map of :func:`rank_correlation` with the values written in."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names, rho, n = rank_correlation(rows, metrics)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 + 0.9 * len(names)), max(4.0, 0.8 + 0.8 * len(names))), dpi=110)
    image = ax.imshow(rho, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if np.isfinite(rho[i, j]):
                ax.text(j, i, f"{rho[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(rho[i, j]) > 0.6 else "black")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(f"{title} (n = {n})", fontsize=9)
    fig.tight_layout()
    return fig
