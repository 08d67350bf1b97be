"""Tidy results rows, appended as they are computed, so an interrupted sweep resumes cleanly.

One CSV row per (image, codec, channel, snr_db, cbr, repetition, mcs). Rows are flushed and
synced to disk after every sweep point; a row cut in half by a kill is dropped on reload (it is
recomputed bit-identically). Plotting reads these files only, never a live run.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Iterable, Sequence

from testbed.core.errors import ConfigError

#: Columns every results file has, in this order; metric columns follow.
BASE_COLUMNS = (
    "image_id", "dataset", "codec", "channel", "snr_db", "cbr", "repetition", "mcs",
    "mcs_policy", "cbr_actual", "channel_uses", "num_values", "payload_bits", "source_quality",
    "decode_failed", "seed", "config_hash", "code_version", "provenance", "extra", "recon_path",
)
#: The fields that identify a row.
KEY_COLUMNS = ("image_id", "codec", "channel", "snr_db", "cbr", "repetition", "mcs")
RESULTS_FILE = "results.csv"

_NUMERIC = {"snr_db", "cbr", "cbr_actual", "source_quality"}
_INTEGER = {"repetition", "channel_uses", "num_values", "payload_bits", "seed"}


def row_key(row: dict) -> tuple:
    """The identity of a row: (image_id, codec, channel, snr_db, cbr, repetition, mcs)."""
    return (
        str(row["image_id"]), str(row["codec"]), str(row["channel"]), round(float(row["snr_db"]), 9),
        round(float(row["cbr"]), 12), int(row["repetition"]), str(row["mcs"]),
    )


def _parse(row: dict, metric_columns: Iterable[str]) -> dict:
    out = dict(row)
    for col in _NUMERIC | set(metric_columns):
        if col in out:
            out[col] = float(out[col]) if out[col] not in ("", None) else None
    for col in _INTEGER:
        if col in out and out[col] not in ("", None):
            out[col] = int(out[col])
    if "decode_failed" in out:
        out["decode_failed"] = str(out["decode_failed"]) == "True"
    return out


def read_results(path: str | Path) -> list[dict]:
    """Rows of one results CSV (typed: floats, ints, bools); a truncated last line is ignored."""
    text = Path(path).read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text))
    metric_columns = [c for c in (reader.fieldnames or []) if c not in BASE_COLUMNS]
    rows = [r for r in reader if None not in r and None not in r.values()]
    return [_parse(r, metric_columns) for r in rows]


def safe_name(text: str) -> str:
    """``text`` with every character but letters, digits and ``-_.`` replaced by ``_`` (file names)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def original_image_path(run_dir: str | Path, image_id: str) -> Path:
    """Where a run keeps the original of ``image_id`` (next to its saved reconstructions)."""
    return Path(run_dir) / "images" / "original" / f"{safe_name(image_id)}.png"


def metric_columns(rows: Sequence[dict]) -> list[str]:
    """Metric column names present in ``rows``."""
    return [c for c in (rows[0].keys() if rows else []) if c not in BASE_COLUMNS]


class ResultsStore:
    """Append-only results CSV of one run directory."""

    def __init__(self, directory: str | Path, metrics: Sequence[str]) -> None:
        self.path = Path(directory) / RESULTS_FILE
        self.columns = list(BASE_COLUMNS) + list(metrics)
        self._rows: dict[tuple, dict] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            self._load_existing()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerow(self.columns)

    def _load_existing(self) -> None:
        with self.path.open(encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
        if header != self.columns:
            raise ConfigError(
                f"{self.path} holds results with columns {header[len(BASE_COLUMNS):]} but this run "
                f"scores {self.columns[len(BASE_COLUMNS):]}: use a new run directory "
                "(hydra.run.dir=...) or the same metric list"
            )
        raw = self.path.read_bytes()
        if raw and not raw.endswith(b"\n"):  # a row cut by a kill: drop it
            with self.path.open("r+b") as fh:
                fh.truncate(raw.rfind(b"\n") + 1)
        for row in read_results(self.path):
            self._rows[row_key(row)] = row

    def existing(self, key: tuple) -> dict | None:
        """The stored row with this key, or None."""
        return self._rows.get(key)

    def __len__(self) -> int:
        return len(self._rows)

    def append(self, rows: Sequence[dict]) -> None:
        """Write rows and sync them to disk before returning."""
        if not rows:
            return
        with self.path.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="raise")
            for row in rows:
                writer.writerow({c: _cell(row.get(c)) for c in self.columns})
            fh.flush()
            os.fsync(fh.fileno())
        for row in rows:
            self._rows[row_key(row)] = row


def _cell(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value
