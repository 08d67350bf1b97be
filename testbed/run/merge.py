"""Merging the results of many jobs into one results set (``testbed merge``, multirun callback).

A sweep split over jobs (``-m shard.count=N shard.index=0,...``, a multirun over codecs or channels,
runs on a SLURM cluster or another machine) leaves one ``results.csv`` per job directory. Merging
keeps every row once: rows are identified by :func:`testbed.run.results.row_key`; a row found in two jobs
with the same values is kept once (a job rerun, an overlapping shard), with different values it is
an error naming both files (two settings under one name must never be averaged together). Saved
reconstructions and originals are copied beside the merged file, so plots, grids and the report read
it like any run directory. Job directories that hold a Hydra config but no results are listed:
a job that failed or never started is never silently lost.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from testbed.core.errors import ConfigError
from testbed.run.results import BASE_COLUMNS, RESULTS_FILE, _cell, original_image_path, read_results, read_skipped, row_key, run_file

log = logging.getLogger(__name__)
#: Columns that may differ between two copies of the same row (where the job kept its files).
_LOCATION_COLUMNS = {"recon_path"}
MERGED_DIR = "merged"


@dataclass
class MergeSummary:
    """What a merge found: sources read, rows kept, identical duplicates dropped, jobs with no rows."""

    path: Path
    sources: list[Path]
    rows: int
    duplicates: int
    missing_jobs: list[Path] = field(default_factory=list)

    def __str__(self) -> str:
        text = (f"{self.rows} rows from {len(self.sources)} results files into {self.path} "
                f"({self.duplicates} identical duplicates dropped)")
        if self.missing_jobs:
            text += "; jobs without results: " + ", ".join(str(p) for p in self.missing_jobs)
        return text


def find_results(paths: Sequence[str | Path], exclude: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Results files under ``paths`` (files, or directories searched recursively) and the job
    directories (a ``.hydra`` folder) that have none; ``exclude`` (the output) is skipped."""
    files, missing = [], []
    for p in map(Path, paths):
        if p.is_file():
            files.append(p)
            continue
        if not p.is_dir():
            raise ConfigError(f"testbed merge: {p} is neither a results file nor a directory")
        for hydra_dir in sorted(p.rglob(".hydra")):
            job = hydra_dir.parent
            if not (job / RESULTS_FILE).exists() and not _inside(job, exclude):
                missing.append(job)
        files += [f for f in sorted(p.rglob(RESULTS_FILE)) if not _inside(f, exclude)]
    return sorted(set(files)), missing


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and path.resolve().is_relative_to(folder.resolve())


def _same(a: dict, b: dict) -> bool:
    return all(a.get(k) == b.get(k) for k in set(a) | set(b) if k not in _LOCATION_COLUMNS)


def merge_results(paths: Sequence[str | Path], out_dir: str | Path) -> MergeSummary:
    """Merge every results file under ``paths`` into ``out_dir/results.csv`` (replaced atomically)."""
    out_dir = Path(out_dir)
    files, missing = find_results(paths, exclude=out_dir)
    if not files:
        raise ConfigError(f"testbed merge: no {RESULTS_FILE} under {', '.join(map(str, paths))}")
    merged: dict[tuple, tuple[dict, Path]] = {}
    metrics: list[str] = []
    duplicates = 0
    for path in files:
        for row in read_results(path):
            metrics += [c for c in row if c not in BASE_COLUMNS and c not in metrics]
            key = row_key(row)
            if key in merged:
                first = merged[key][0]
                if first.get("config_hash") != row.get("config_hash"):
                    raise ConfigError(
                        f"testbed merge: {merged[key][1]} and {path} hold row {key} made with different "
                        f"settings (config hash {first.get('config_hash')} vs {row.get('config_hash')}, e.g. "
                        "a multirun over seeds): they are not one results set; report them side by side "
                        "(testbed report DIR1 DIR2) instead"
                    )
                if not _same(first, row):
                    raise ConfigError(
                        f"testbed merge: {merged[key][1]} and {path} disagree on row {key}: results of "
                        "different settings under one name; merge them into separate sets"
                    )
                duplicates += 1
                continue
            merged[key] = (row, path)
    for row, path in merged.values():  # refuse a hostile path before anything is written
        for relative in filter(None, [row.get("recon_path")]):
            if run_file(path.parent, relative) is None or run_file(out_dir, relative) is None:
                _copy_images(row, path.parent, out_dir)  # raises with the file and row named
    out_dir.mkdir(parents=True, exist_ok=True)
    for row, path in merged.values():
        _copy_images(row, path.parent, out_dir)
    _write(out_dir / RESULTS_FILE, [r for r, _ in sorted(merged.values(), key=lambda rp: _order(rp[0]))],
           list(BASE_COLUMNS) + metrics)
    _merge_skipped(files, out_dir, {(r["codec"], r["channel"], float(r["cbr"]), float(r["snr_db"]))
                                    for r, _ in merged.values()})
    summary = MergeSummary(out_dir / RESULTS_FILE, files, len(merged), duplicates, missing)
    log.info("merged %s", summary)
    return summary


def _order(row: dict) -> tuple:
    return (row["codec"], row["channel"], float(row["cbr"]), float(row["snr_db"]), int(row["repetition"]),
            str(row["image_id"]), str(row["mcs"]))


def _copy_images(row: dict, job_dir: Path, out_dir: Path) -> None:
    """Copy the row's saved reconstruction (and its image's original) beside the merged file; a
    path that leaves either run folder is refused before anything is copied."""
    rel = row.get("recon_path")
    if not rel:
        return
    for relative in (Path(rel), original_image_path("", row["image_id"])):
        source, target = run_file(job_dir, relative), run_file(out_dir, relative)
        if source is None or target is None:
            raise ConfigError(
                f"testbed merge: {job_dir / RESULTS_FILE}: row {row['image_id']} names image {str(relative)!r}, "
                f"which is not inside its run folder's images/; refused (nothing was written). Remove or fix "
                "that row's recon_path")
        if source.is_file() and source != target and not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _write(path: Path, rows: list[dict], columns: list[str]) -> None:
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: _cell(row.get(c)) for c in columns})
        fh.flush()
        os.fsync(fh.fileno())
    temporary.replace(path)


def _merge_skipped(files: list[Path], out_dir: Path, served: set) -> None:
    """The union of the jobs' skipped points, less those another job did serve. ``served``: the
    (codec, channel, cbr, snr) of every merged row; a whole-point entry is dropped when any SNR of
    the point was served, a single-SNR entry only when that SNR was."""
    points = {key[:3] for key in served}
    entries = {}
    for path in files:
        skipped = path.parent / "skipped.json"
        if skipped.exists() and skipped.resolve() != (out_dir / "skipped.json").resolve():
            for e in read_skipped(skipped):
                point = (e["codec"], e["channel"], float(e["cbr"]))
                key = point + ((float(e["snr_db"]),) if "snr_db" in e else ())
                if key not in (served if len(key) > 3 else points):
                    entries[key] = e
    if entries:
        (out_dir / "skipped.json").write_text(json.dumps(list(entries.values()), indent=1) + "\n")
    elif (out_dir / "skipped.json").exists():  # a re-merge where every point is served now
        (out_dir / "skipped.json").unlink()


def _callback_base():
    from hydra.experimental.callback import Callback

    return Callback


class MergeOnMultirunEnd(_callback_base()):
    """Hydra callback (config.yaml): after a multirun, merge its jobs into ``<sweep dir>/merged``."""

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        if sweep_dir.is_dir():
            try:
                merge_results([sweep_dir], sweep_dir / MERGED_DIR)
            except ConfigError as err:  # e.g. jobs over seeds: separate sets, nothing to merge
                log.warning("jobs not merged: %s", err)
