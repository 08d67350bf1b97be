"""From results rows to curves: mean and spread over images, and the MCS-table envelope.

A codec whose rows are marked ``mcs_policy = table`` becomes one curve, the envelope: at each
(snr_db, cbr) the MCS with the best mean of the plotted metric. Fixed-MCS codecs keep their
single MCS in the label, so the two are never confused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

#: Metrics where lower is better (everything else is higher-is-better).
LOWER_IS_BETTER = {"lpips", "st_lpips", "mse"}


@dataclass
class Curve:
    """One line of a figure: x values with the mean and standard deviation over images."""

    label: str
    x: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    count: np.ndarray
    chosen: list  # MCS label chosen per point (envelope) or the fixed one


def curve_label(row: dict) -> str:
    base = f"{row['codec']} / {row['channel']}" + (f" [{row['_set']}]" if row.get("_set") else "")
    if row.get("mcs_policy") == "table":
        return base + " (MCS envelope)"
    if row.get("mcs_policy") == "fixed":
        return base + f" ({row['mcs']})"
    return base


def curves(rows: list[dict], metric: str, x_key: str, fixed_key: str, fixed_value: float) -> list[Curve]:
    """Curves of ``metric`` against ``x_key`` (``snr_db`` or ``cbr``) at ``fixed_key = fixed_value``."""
    groups: dict[str, dict[float, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in rows:
        if row.get(metric) is None or not np.isclose(float(row[fixed_key]), fixed_value):
            continue
        groups[curve_label(row)][float(row[x_key])][row["mcs"]].append(float(row[metric]))
    better = np.nanargmin if metric in LOWER_IS_BETTER else np.nanargmax
    out = []
    for label in sorted(groups):
        xs = sorted(groups[label])
        means, stds, counts, chosen = [], [], [], []
        for x in xs:
            per_mcs = groups[label][x]
            names = sorted(per_mcs)
            best = names[int(better([np.mean(per_mcs[n]) for n in names]))]
            values = np.asarray(per_mcs[best])
            means.append(values.mean())
            stds.append(values.std(ddof=0))
            counts.append(values.size)
            chosen.append(best)
        out.append(Curve(label, np.asarray(xs), np.asarray(means), np.asarray(stds), np.asarray(counts), chosen))
    return out


def format_value(key: str, value: float) -> str:
    """An axis value for a table: SNRs as given, CBRs as 1/k where k is a whole number."""
    if key == "cbr" and value > 0 and abs(1 / value - round(1 / value)) < 1e-6 * (1 / value):
        return f"1/{round(1 / value)}"
    return f"{value:g}"


def mean_table(rows: list[dict], metric: str, fixed_key: str, fixed_value: float, x_key: str) -> str:
    """A Markdown table of mean ``metric`` per curve (rows) and ``x_key`` value (columns)."""
    cs = curves(rows, metric, x_key, fixed_key, fixed_value)
    xs = sorted({float(x) for c in cs for x in c.x})
    lines = [f"| {metric} ({fixed_key}={format_value(fixed_key, fixed_value)}) | "
             + " | ".join(format_value(x_key, x) for x in xs) + " |",
             "|---|" + "---|" * len(xs)]
    for c in cs:
        cells = {float(x): m for x, m in zip(c.x, c.mean)}
        digits = 2 if metric == "psnr" else 3
        lines.append(f"| {c.label} | " + " | ".join(f"{cells[x]:.{digits}f}" if x in cells else "" for x in xs) + " |")
    return "\n".join(lines)
