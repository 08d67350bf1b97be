"""The image grid: the original and its reconstructions across SNRs, one row per codec/channel."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Sequence

from testbed.run.results import original_image_path, read_results, run_file, safe_name


def draw_grids(paths: Sequence[str | Path], out_dir: str | Path, formats: Sequence[str] = ("png",),
               metric: str = "psnr") -> list[Path]:
    """One grid per (image, CBR) whose reconstructions were saved; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    entries = defaultdict(dict)  # (image, cbr) -> {(label, snr): (file, row)}
    for p in paths:
        run_dir = Path(p).parent
        for row in read_results(p):
            file = run_file(run_dir, row.get("recon_path") or "")
            if file is not None and file.is_file():  # missing or outside the run folder: not drawn
                label = f"{row['codec']} / {row['channel']}" + (f" / {row['mcs']}" if row["mcs_policy"] == "table" else "")
                entries[(row["image_id"], float(row["cbr"]))][(label, float(row["snr_db"]))] = (file, row, run_dir)
    written = []
    for (image_id, cbr), cells in sorted(entries.items()):
        labels = sorted({lab for lab, _ in cells})
        snrs = sorted({snr for _, snr in cells})
        fig, axes = plt.subplots(len(labels), len(snrs) + 1, squeeze=False,
                                 figsize=(2.2 * (len(snrs) + 1), 2.0 * len(labels) + 0.4), dpi=110)
        original = _original(cells)
        for i, label in enumerate(labels):
            ax = axes[i][0]
            if original is not None and _readable(original) is not None:
                ax.imshow(_readable(original))
            ax.set_title("original" if i == 0 else "", fontsize=8)
            ax.set_ylabel(label, fontsize=7)
            for j, snr in enumerate(snrs):
                ax = axes[i][j + 1]
                if (label, snr) in cells:
                    file, row, _ = cells[(label, snr)]
                    picture = _readable(file)
                    if picture is not None:
                        ax.imshow(picture)
                    value = row.get(metric)
                    fail = " FAIL" if row["decode_failed"] else ""
                    ax.set_title(f"{snr:g} dB" + (f", {value:.1f}" if value is not None else "") + fail, fontsize=7)
        for ax in axes.flat:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{image_id}, CBR = {cbr:.4g} (title: SNR, {metric})", fontsize=9)
        fig.tight_layout()
        stem = f"grid_{safe_name(image_id)}_cbr{cbr:.5g}"
        for fmt in formats:
            path = Path(out_dir) / f"{stem}.{fmt}"
            fig.savefig(path)
            written.append(path)
        plt.close(fig)
    return written


def _readable(path: Path):
    """The image at ``path`` as an RGB array, or ``None`` when it is not a readable image."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except Exception:  # a cut or foreign file: the cell stays empty
        return None


def _original(cells) -> Path | None:
    for file, row, run_dir in cells.values():
        candidate = run_file(run_dir, original_image_path("", row["image_id"]))  # None: a planted link
        if candidate is not None and candidate.is_file():
            return candidate
    return None
