"""``testbed transforms``: every metric on clean images under transformations; CSV, table, figure.

    testbed transforms --dataset kodak --metric psnr ms_ssim st_lpips vitscore \
                       --transform hflip rotate5 crop10 brightness20 --out outputs/transforms

Writes ``transforms.csv`` (one row per image and transformation, one column per metric),
``transforms_table.md`` (mean per transformation) and ``transforms.png`` (mean +- std per metric).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from testbed.run.transformations import TRANSFORMS, apply

COLOURS = {"kept": "tab:green", "degraded": "tab:orange", "changed": "tab:red"}


def evaluate(records, metrics: dict, transforms: list[str]) -> list[dict]:
    """Rows ``{image_id, transform, category, <metric>: score}`` for every image x transform."""
    rows = []
    for name in transforms:
        preds = [apply(name, r.pixels) for r in records]
        row_block = [{"image_id": r.image_id, "transform": name, "category": TRANSFORMS[name][1]}
                     for r in records]
        for metric_name, metric in metrics.items():
            values = metric.score_many(preds, [r.pixels for r in records], [r.content_hash for r in records])
            for row, value in zip(row_block, values.tolist()):
                row[metric_name] = float(value)
        rows += row_block
    return rows


def summary(rows: list[dict], metric_names: list[str]) -> list[dict]:
    """Mean and std per transformation, in the order first seen."""
    import numpy as np

    out = []
    for name in dict.fromkeys(r["transform"] for r in rows):
        block = [r for r in rows if r["transform"] == name]
        entry = {"transform": name, "category": block[0]["category"], "images": len(block)}
        for m in metric_names:
            values = np.array([r[m] for r in block], dtype=float)
            entry[m], entry[m + "_std"] = float(values.mean()), float(values.std())
        out.append(entry)
    return out


def write(rows: list[dict], metrics: dict, out: Path, provenance: dict) -> list[Path]:
    """The CSV, the Markdown table and the figure; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    names = list(metrics)
    csv_path = out / "transforms.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image_id", "transform", "category", *names])
        writer.writeheader()
        writer.writerows(rows)
    table = summary(rows, names)
    lines = ["| transformation | meaning | " + " | ".join(names) + " |",
             "|---|---|" + "---|" * len(names)]
    lines += [f"| {t['transform']} | {t['category']} | "
              + " | ".join(f"{t[m]:.4g}" for m in names) + " |" for t in table]
    md_path = out / "transforms_table.md"
    md_path.write_text("\n".join(lines) + "\n")
    (out / "provenance.json").write_text(json.dumps(provenance, indent=1, sort_keys=True))
    return [csv_path, md_path, _figure(table, metrics, out / "transforms.png")]


def _figure(table: list[dict], metrics: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6), squeeze=False)
    labels = [t["transform"] for t in table]
    colours = [COLOURS[t["category"]] for t in table]
    for ax, (name, metric) in zip(axes[0], metrics.items()):
        ax.barh(labels, [t[name] for t in table], xerr=[t[name + "_std"] for t in table], color=colours)
        ax.invert_yaxis()
        ax.set_title(f"{name} ({'higher' if metric.higher_is_better else 'lower'} is better)", fontsize=9)
        ax.tick_params(labelsize=8)
    fig.suptitle("green: meaning kept, orange: degraded, red: meaning changed", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path


def run_experiment(dataset_node, metric_nodes: dict, transforms: list[str], out: Path,
                   device: str | None = "auto") -> list[Path]:
    """Check everything, score every image under every transformation on ``device``, write the files."""
    from testbed.config.catalogue import instantiate
    from testbed.core.dataset import Dataset
    from testbed.core.device import resolve_device, use_device
    from testbed.core.metric import Metric

    for name in transforms:
        if name not in TRANSFORMS:
            apply(name, None)  # raises the error listing the transformations
    where = resolve_device(device)
    use_device(where)
    dataset = instantiate(dataset_node, base=Dataset)
    metrics = {}
    for name, node in metric_nodes.items():
        metrics[name] = instantiate(node, base=Metric)
        metrics[name].bind(name, where)
        metrics[name].check()  # missing weights stop here, before any work
    records = dataset.load()
    rows = evaluate(records, metrics, list(transforms))
    provenance = {"dataset": dataset.describe(), "metrics": {n: m.describe() for n, m in metrics.items()}}
    return write(rows, metrics, Path(out), provenance)


def run_config(cfg, out_dir: Path) -> list[Path]:
    """The ``transformations`` preset (a Hydra run whose config lists ``transformations``)."""
    from testbed.config.sweep_config import plugin_nodes

    return run_experiment(cfg.dataset, plugin_nodes(cfg, "metric"), list(cfg.transformations), out_dir,
                          cfg.get("device", "auto"))
