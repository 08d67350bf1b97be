"""``testbed report``: one self-contained HTML page for a run or a group of runs.

Sections: what was run (sources, row counts, wall time where logged, skipped points, each run's
Hydra config), provenance (code versions and the codec / channel / metric / dataset descriptions the
rows carry), the figures (normalised metric panel, rank correlations, per-metric curves with their
spread over images), sortable tables of mean +- std per curve and point, and a gallery: each saved
original beside its reconstructions at the chosen SNRs and CBRs, captioned with their metric values.
Figures and thumbnails are embedded; each thumbnail links to the full PNG of the run. The mean
tables are also written as Markdown (``report_tables.md``).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from testbed.report import html as H
from testbed.report.aggregate import curves, format_value
from testbed.core.errors import ConfigError
from testbed.run.results import RESULTS_FILE, metric_columns, original_image_path, read_results, read_skipped, row_key, run_file

REPORT_FILE = "report.html"
TABLES_FILE = "report_tables.md"  # the mean tables in Markdown, for a paper or a README


def resolve_sources(paths: Sequence[str | Path], out_dir: Path) -> list[Path]:
    """Results files for ``paths``: a run directory, a results file, or a multirun directory (its
    jobs are merged first, into ``<out>/merged``)."""
    from testbed.run.merge import MERGED_DIR, merge_results

    files = []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
        elif (p / RESULTS_FILE).is_file():
            files.append(p / RESULTS_FILE)
        elif (p / MERGED_DIR / RESULTS_FILE).is_file():
            files.append(p / MERGED_DIR / RESULTS_FILE)
        elif p.is_dir() and any(p.rglob(RESULTS_FILE)):
            files.append(merge_results([p], out_dir / MERGED_DIR / p.name).path)
        else:
            raise ConfigError(f"testbed report: no {RESULTS_FILE} in {p} (give a run directory or a results file)")
    return files


def load_rows(files: list[Path]) -> tuple[list[dict], int]:
    """All rows, each (row key, settings) once: a row present in two sources with the same settings
    counts once (e.g. paper_snr and paper_cbr share points). Runs that hold the same codec and
    channel with other settings (another seed, say) are kept apart: their rows carry the run
    folder's name, which their curves show."""
    rows, seen, repeated = [], set(), 0
    for path in files:
        for row in read_results(path):
            key = (row_key(row), row.get("config_hash"))
            if key in seen:
                repeated += 1
                continue
            seen.add(key)
            row["_run_dir"] = path.parent
            rows.append(row)
    settings = defaultdict(set)
    for row in rows:
        settings[(row["codec"], row["channel"])].add(row.get("config_hash"))
    for row in rows:
        if len(settings[(row["codec"], row["channel"])]) > 1:
            row["_set"] = Path(row["_run_dir"]).name
    return rows, repeated


def _pick(values: list[float], chosen: Sequence[float] | None, at_most: int = 3) -> list[float]:
    """The ``chosen`` values present, else up to ``at_most`` spread out (1: the middle one)."""
    if chosen:
        return [v for v in values if any(np.isclose(v, c) for c in chosen)]
    if len(values) <= at_most:
        return values
    if at_most == 1:
        return [values[len(values) // 2]]
    return [values[0], values[len(values) // 2], values[-1]]


def _fmt(value, metric: str) -> str:
    return "" if value is None else (f"{value:.2f}" if metric == "psnr" else f"{value:.4f}")


def sweep_seconds(run_dir: Path) -> float | None:
    """Total sweep time of a run directory from its log (every resumed sitting), or None."""
    log = run_dir / "testbed.log"
    if not log.exists():
        return None
    found = re.findall(r"sweep finished: .* \(([0-9.]+) s\)", log.read_text(errors="replace"))
    return sum(float(x) for x in found) if found else None


def runs_section(files: list[Path], rows: list[dict], repeated: int) -> str:
    times = [sweep_seconds(f.parent) for f in files]
    body = [H.table(["results file", "rows", "codecs", "channels", "images", "sweep time (s, logged sittings)"],
                    [[str(f), sum(r["_run_dir"] == f.parent for r in rows),
                      ", ".join(sorted({r["codec"] for r in rows if r["_run_dir"] == f.parent})),
                      ", ".join(sorted({r["channel"] for r in rows if r["_run_dir"] == f.parent})),
                      len({r["image_id"] for r in rows if r["_run_dir"] == f.parent}),
                      ("" if t is None else f"{t:.0f}", -1 if t is None else t)] for f, t in zip(files, times)],
                    table_id="runs")]
    if repeated:
        body.append(f'<p class="note">{repeated} rows present in more than one source were counted once.</p>')
    for f in files:
        skipped = f.parent / "skipped.json"
        if skipped.exists():
            entries = read_skipped(skipped)
            body.append(H.table(["codec", "channel", "CBR", "SNR (dB)", "skipped because"],
                                [[e["codec"], e["channel"], (f"{e['cbr']:.4g}", e["cbr"]),
                                  (f"{e['snr_db']:g}", e["snr_db"]) if "snr_db" in e else ("all", -1e9), e["reason"]]
                                 for e in entries], caption=f"points not run ({f.parent.name})"))
        config = f.parent / ".hydra" / "config.yaml"
        if config.exists():
            body.append(H.details(f"configuration of {f.parent.name}", config.read_text()))
        overrides = f.parent / ".hydra" / "overrides.yaml"
        if overrides.exists():
            body.append(H.details(f"command-line overrides of {f.parent.name}", overrides.read_text()))
    return H.section("Runs", "\n".join(body), "runs")


def findings_section(rows: list[dict], metrics: list[str], figures: Sequence[Path]) -> str:
    """What the run found: every metric against SNR per channel and CBR (real units, spread over
    images), then the findings table computed from the rows (:mod:`testbed.report.findings`)."""
    from testbed.report.findings import findings

    summaries = sorted(p for p in figures if p.stem.startswith("summary_"))
    body = ['<div class="figures">' + "\n".join(H.figure(p, p.stem.replace("_", " "), wide=True)
                                                 for p in summaries) + "</div>"]
    found = findings([{k: v for k, v in r.items()} for r in rows], metrics)
    if found:
        body.append(H.table(["channel", "CBR", "finding", "about", "metric", "what the rows show"],
                            [[f.channel, (f"{f.cbr:.4g}", f.cbr), f.kind, f.subject, f.metric, f.text] for f in found],
                            caption="Findings: cliffs of the digital codecs (at least half the images decode from "
                                    "that SNR up); SNRs where each analog codec beats each digital one, per "
                                    "metric; points where a semantic metric orders codecs unlike PSNR",
                            table_id="findings-table"))
    else:
        body.append('<p class="note">No findings: the run has no digital codec, or a single SNR.</p>')
    return H.section("Findings", "\n".join(body), "findings")


def provenance_section(rows: list[dict]) -> str:
    versions = Counter(r.get("code_version") for r in rows)
    described = {}
    for r in rows:
        key = (r["codec"], r["channel"])
        if key not in described and r.get("provenance"):
            described[key] = _provenance(r["provenance"])
    body = [H.table(["code version", "rows"], [[v, n] for v, n in versions.items()], table_id="code-versions")]
    for (codec, channel), prov in sorted(described.items()):
        body.append(H.details(f"{codec} / {channel}: codec, channel, dataset and metric descriptions",
                              json.dumps(prov, indent=1, sort_keys=True)))
    return H.section("Provenance", "\n".join(body), "provenance")


def _provenance(cell) -> dict:
    """A row's provenance cell as a mapping (a cell that is not JSON is shown as text)."""
    if not isinstance(cell, str):
        return cell if isinstance(cell, dict) else {"provenance": str(cell)}
    try:
        value = json.loads(cell)
    except ValueError:
        return {"unreadable provenance": cell[:500]}
    return value if isinstance(value, dict) else {"provenance": value}


def tables_section(rows: list[dict], metrics: list[str]) -> str:
    snrs = sorted({float(r["snr_db"]) for r in rows})
    cbrs = sorted({float(r["cbr"]) for r in rows})
    x_key, fixed_key, fixed_values = ("snr_db", "cbr", cbrs) if len(snrs) >= len(cbrs) else ("cbr", "snr_db", snrs)
    body = []
    for metric in metrics:
        for fixed in fixed_values:
            table_rows = []
            for c in curves(rows, metric, x_key, fixed_key, fixed):
                for x, mean, std, n, mcs in zip(c.x, c.mean, c.std, c.count, c.chosen):
                    table_rows.append([c.label, (f"{x:.4g}", x), (_fmt(mean, metric), mean),
                                       (_fmt(std, metric), std), int(n), mcs])
            if table_rows:
                body.append(H.table(["codec / channel", x_key, f"mean {metric}", "std over images", "images",
                                     "MCS"], table_rows, caption=f"{metric} at {fixed_key} = {fixed:.4g}",
                                    table_id=f"table-{metric}-{fixed:.4g}"))
    return H.section("Tables (click a column to sort)", "\n".join(body), "tables")


def figures_section(rows: list[dict], out_dir: Path, metrics: list[str], drawn: Sequence[Path] | None = None) -> str:
    """The figures of ``rows``: ``drawn`` (PNGs already drawn from exactly these rows, e.g. by the
    sweep's plot step) or drawn here into ``<out>/figures``."""
    from testbed.report.plots import plot_rows

    written = list(drawn) if drawn is not None else plot_rows(rows, out_dir / "figures", metrics=metrics,
                                                                formats=("png",), scope="run")
    ordered = sorted((p for p in written if not p.stem.startswith("summary_")),
                     key=lambda p: (not p.stem.startswith(("panel", "rank")), p.stem))
    return H.section("Figures", '<div class="figures">' + "\n".join(
        H.figure(p, p.stem.replace("_", " "), wide=p.stem.startswith("panel")) for p in ordered) + "</div>", "figures")


def gallery_section(rows: list[dict], metrics: list[str], out_dir: Path, snrs=None, cbrs=None) -> str:
    saved = [r for r in rows if r.get("recon_path")]
    if not saved:
        return H.section("Gallery", '<p class="note">No reconstructions were saved (save_images=0).</p>', "gallery")
    chosen_snrs = _pick(sorted({float(r["snr_db"]) for r in saved}), snrs)
    chosen_cbrs = _pick(sorted({float(r["cbr"]) for r in saved}), cbrs, at_most=1)
    body = []
    for image_id in sorted({r["image_id"] for r in saved}):
        cards = []
        mine = [r for r in saved if r["image_id"] == image_id]
        original = run_file(mine[0]["_run_dir"], original_image_path("", image_id))  # None: a planted link
        if original is not None and original.is_file():
            cards.append(H.gallery_card(original, os.path.relpath(original, out_dir), "original", [image_id],
                                        {"codec": "original"}))
        for r in sorted(mine, key=lambda r: (r["codec"], r["channel"], r["cbr"], r["snr_db"], r["mcs"])):
            if not (any(np.isclose(r["snr_db"], s) for s in chosen_snrs)
                    and any(np.isclose(r["cbr"], c) for c in chosen_cbrs)):
                continue
            path = run_file(r["_run_dir"], r["recon_path"])
            lines = [f"SNR {r['snr_db']:g} dB, CBR {format_value('cbr', r['cbr'])}, {r['mcs']}"
                     + (" (decoding failed)" if r.get("decode_failed") else "")]
            lines += [f"{m} = {_fmt(r.get(m), m)}" for m in metrics]
            if path is None or not path.is_file():
                why = "missing" if path is not None else "outside its run folder, not shown"
                cards.append(H.missing_card(f"{r['codec']} / {r['channel']}", lines + [f"image {why}: {r['recon_path']}"]))
                continue
            cards.append(H.gallery_card(path, os.path.relpath(path, out_dir), f"{r['codec']} / {r['channel']}",
                                        lines, {"codec": r["codec"], "channel": r["channel"],
                                                "snr": f"{r['snr_db']:g}", "cbr": f"{r['cbr']:.4g}"}))
        body.append(f"<h3>{H.esc(image_id)}</h3><div class=\"gallery\">" + "\n".join(cards) + "</div>")
    note = (f'<p class="note">SNRs {", ".join(f"{s:g}" for s in chosen_snrs)} dB, CBR '
            f'{", ".join(format_value("cbr", c) for c in chosen_cbrs)}; thumbnails link to the full images.</p>')
    return H.section("Gallery", note + "\n".join(body), "gallery")


def build_report(paths: Sequence[str | Path], out_dir: str | Path | None = None, title: str | None = None,
                 gallery_snr: Sequence[float] | None = None, gallery_cbr: Sequence[float] | None = None,
                 figures: Sequence[Path] | None = None) -> Path:
    """Write ``<out_dir>/report.html`` (default: the first source's folder) and return its path;
    ``figures``: PNGs already drawn from exactly these results (else they are drawn here)."""
    out_dir = Path(out_dir) if out_dir else (Path(paths[0]) if Path(paths[0]).is_dir() else Path(paths[0]).parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = resolve_sources(paths, out_dir)
    rows, repeated = load_rows(files)
    if not rows:
        raise ConfigError(f"testbed report: {', '.join(map(str, files))} hold no rows yet")
    metrics = metric_columns([{k: v for k, v in rows[0].items() if not k.startswith("_")}])
    title = title or "testbed report: " + ", ".join(f.parent.name for f in files)
    if figures is None:
        from testbed.report.plots import plot_rows

        figures = plot_rows(rows, out_dir / "figures", metrics=metrics, formats=("png",), scope="run")
    sections = [findings_section(rows, metrics, figures), figures_section(rows, out_dir, metrics, figures),
                tables_section(rows, metrics), gallery_section(rows, metrics, out_dir, gallery_snr, gallery_cbr),
                runs_section(files, rows, repeated), provenance_section(rows)]
    path = out_dir / REPORT_FILE
    path.write_text(H.page(title, sections), encoding="utf-8")
    (out_dir / TABLES_FILE).write_text(markdown_tables(rows, metrics), encoding="utf-8")
    return path


def markdown_tables(rows: list[dict], metrics: list[str]) -> str:
    """Mean of every metric per curve, against SNR (per CBR) and against CBR (per SNR), in Markdown."""
    from testbed.report.aggregate import mean_table

    snrs = sorted({float(r["snr_db"]) for r in rows})
    cbrs = sorted({float(r["cbr"]) for r in rows})
    blocks = []
    for metric in metrics:
        if len(snrs) > 1:
            blocks += [mean_table(rows, metric, "cbr", cbr, "snr_db") for cbr in cbrs]
        if len(cbrs) > 1:
            blocks += [mean_table(rows, metric, "snr_db", snr, "cbr") for snr in snrs]
    return "\n\n".join(blocks) + "\n"
