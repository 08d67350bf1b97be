"""Tidy results rows, appended as they are computed, so an interrupted sweep resumes cleanly.

One CSV row per (image, codec, channel, snr_db, cbr, repetition, mcs). Rows are flushed and
synced to disk after every sweep point; a row cut in half by a kill is dropped on reload (it is
recomputed bit-identically). Plotting reads these files only, never a live run.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from testbed.core.errors import ConfigError
from testbed.core.numbers import parse_number

log = logging.getLogger(__name__)

#: Columns every results file has, in this order; metric columns follow.
BASE_COLUMNS = (
    "image_id", "dataset", "codec", "channel", "snr_db", "cbr", "repetition", "mcs",
    "mcs_policy", "cbr_actual", "channel_uses", "num_values", "payload_bits", "source_quality",
    "decode_failed", "seed", "config_hash", "code_version", "provenance", "extra", "recon_path",
)
#: The fields that identify a row.
KEY_COLUMNS = ("image_id", "codec", "channel", "snr_db", "cbr", "repetition", "mcs")
RESULTS_FILE = "results.csv"
#: Lines of a results file that were not valid rows, set aside (with their line numbers) by a rerun.
DAMAGED_FILE = "results.damaged.csv"

_NUMERIC = {"snr_db", "cbr", "cbr_actual", "source_quality"}
_INTEGER = {"repetition", "channel_uses", "num_values", "payload_bits", "seed"}


def row_key(row: dict) -> tuple:
    """The identity of a row: (image_id, codec, channel, snr_db, cbr, repetition, mcs)."""
    return (
        str(row["image_id"]), str(row["codec"]), str(row["channel"]), round(float(row["snr_db"]), 9),
        round(float(row["cbr"]), 12), int(row["repetition"]), str(row["mcs"]),
    )


def _parse(row: dict, metric_columns: Iterable[str]) -> dict:
    """Typed cells of one stored row; a cell that does not hold its type raises ``ValueError``
    naming the column (the caller names the file and line)."""
    out = dict(row)
    for col in _NUMERIC | set(metric_columns):
        if col in out:
            out[col] = _typed(col, out[col], float)
    for col in _INTEGER:
        if col in out and out[col] not in ("", None):
            out[col] = _typed(col, out[col], int)
    if "decode_failed" in out:
        if out["decode_failed"] not in ("True", "False"):
            raise ValueError(f"decode_failed is {out['decode_failed']!r}, not True or False")
        out["decode_failed"] = out["decode_failed"] == "True"
    for col in KEY_COLUMNS:
        if out.get(col) in ("", None):
            raise ValueError(f"{col} is empty")
    if not math.isfinite(out["snr_db"]):  # a NaN key would also escape de-duplication
        raise ValueError(f"snr_db is {out['snr_db']!r}, not a finite number")
    if not (math.isfinite(out["cbr"]) and out["cbr"] > 0):
        raise ValueError(f"cbr is {out['cbr']!r}, not a positive number")
    if out["repetition"] < 0:
        raise ValueError(f"repetition is {out['repetition']}, not >= 0")
    return out


def _typed(column: str, value, kind):
    if value in ("", None):
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{column} is {value!r}, not {'a number' if kind is float else 'a whole number'}") from None


@dataclass(frozen=True)
class DamagedLine:
    """A stored line that is not a valid row: its 1-based line number, text and what is wrong."""

    line: int
    text: str
    reason: str


def parse_results(path: str | Path, columns: Sequence[str] | None = None) -> tuple[list[str], list[dict], list[DamagedLine]]:
    """``(header, valid rows, damaged lines)`` of a results CSV.

    The writer puts every row on one physical line (its JSON cells hold no newline), so each line
    is parsed on its own: a line cut inside a quoted cell, with a wrong number of cells or with a
    cell that does not hold its type is damaged and never swallows the next one. A last line
    without its newline (a kill mid-write) counts as damaged too. With ``columns``, a first line
    that is not a header of testbed's base columns is damaged as well and the rows are read with
    ``columns`` (the header the file should have).
    """
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    try:
        header = next(csv.reader([lines[0]], strict=True), []) if lines and lines[0] else []
    except csv.Error:
        header = []
    start = 1
    if columns is not None and tuple(header[: len(BASE_COLUMNS)]) != BASE_COLUMNS:
        header, start = list(columns), 0  # the header itself is damaged: read its line as a row
    metrics = [c for c in header if c not in BASE_COLUMNS]
    rows, damaged = [], []
    last = len(lines) - 1
    for number, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        if number - 1 == last:  # text after the final newline: cut by a kill
            damaged.append(DamagedLine(number, line, "cut: the line has no end"))
            continue
        try:
            cells = next(csv.reader([line], strict=True))
            if len(cells) != len(header):
                raise ValueError(f"{len(cells)} cells, the header has {len(header)}")
            rows.append(_parse(dict(zip(header, cells)), metrics))
        except (csv.Error, ValueError) as err:
            damaged.append(DamagedLine(number, line, str(err)))
    return header, rows, damaged


def read_results(path: str | Path) -> list[dict]:
    """The valid rows of one results CSV (typed: floats, ints, bools); damaged lines are skipped
    with a warning naming the file and line (a sweep's rerun sets them aside and recomputes them)."""
    _, rows, damaged = parse_results(path)
    for bad in damaged:
        log.warning("%s line %d is not a valid row (%s): skipped", path, bad.line, bad.reason)
    return rows


def safe_name(text: str) -> str:
    """``text`` with every character but letters, digits and ``-_.`` replaced by ``_`` (file names)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def original_image_path(run_dir: str | Path, image_id: str) -> Path:
    """Where a run keeps the original of ``image_id`` (next to its saved reconstructions)."""
    return Path(run_dir) / "images" / "original" / f"{safe_name(image_id)}.png"


def _first_link(run_dir: str | Path, relative: str | Path) -> Path | None:
    """The first part of ``run_dir/relative`` below the run folder that is a symbolic link, or ``None``."""
    path = Path(run_dir)
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink():
            return path
    return None


def run_file(run_dir: str | Path, relative: str | Path) -> Path | None:
    """``run_dir/relative`` when that names a file inside the run folder's ``images/``; ``None`` for
    anything a results file or a planted link could use to reach outside it: an absolute path, a
    ``..`` part, or a symbolic link anywhere from ``images`` down (links are never followed)."""
    parts = Path(relative).parts if relative else ()
    if not parts or Path(relative).is_absolute() or ".." in parts or parts[0] != "images" or len(parts) < 2:
        return None
    return None if _first_link(run_dir, relative) else Path(run_dir, *parts)


def writable_run_path(run_dir: str | Path, relative: str | Path) -> Path:
    """``run_dir/relative`` for writing (a saved image, the results file), after making sure no part
    of it below the run folder is a symbolic link (a planted link would make the write land
    outside the folder); raises :class:`ConfigError` naming the link and the fix."""
    link = _first_link(run_dir, relative)
    if link is not None:
        raise ConfigError(f"{link} is a symbolic link (to {os.readlink(link)}); testbed writes only real files "
                          "and folders inside a run folder: remove the link or use a new run directory")
    return Path(run_dir) / relative


SKIPPED_FILE = "skipped.json"


def read_skipped(path: str | Path) -> list[dict]:
    """The valid entries of a ``skipped.json`` ({codec, channel, cbr, reason}, and ``snr_db`` where
    only one SNR of the point was left out); a file that is not such a list, and entries that are
    not, are skipped with a warning naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError) as err:
        log.warning("%s is not a readable list of skipped points (%s): ignored", path, err)
        return []
    entries = []
    for i, e in enumerate(data if isinstance(data, list) else []):
        try:
            entry = {"codec": str(e["codec"]), "channel": str(e["channel"]), "cbr": parse_number(e["cbr"]),
                     "reason": str(e.get("reason", ""))}
            if e.get("snr_db") is not None:
                entry["snr_db"] = parse_number(e["snr_db"])
            entries.append(entry)
        except (TypeError, KeyError, ValueError, AttributeError):
            log.warning("%s entry %d is not {codec, channel, cbr, reason}: ignored", path, i)
    if not isinstance(data, list):
        log.warning("%s is not a list of skipped points: ignored", path)
    return entries


def metric_columns(rows: Sequence[dict]) -> list[str]:
    """Metric column names present in ``rows``."""
    return [c for c in (rows[0].keys() if rows else []) if c not in BASE_COLUMNS]


class ResultsStore:
    """Append-only results CSV of one run directory."""

    def __init__(self, directory: str | Path, metrics: Sequence[str]) -> None:
        self.path = writable_run_path(directory, RESULTS_FILE)  # a planted link would send rows elsewhere
        self.columns = list(BASE_COLUMNS) + list(metrics)
        self._rows: dict[tuple, dict] = {}
        if self.path.exists() and self.path.stat().st_size > 0:
            self._load_existing()
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("w", newline="", encoding="utf-8") as fh:
                    csv.writer(fh).writerow(self.columns)
            except OSError as err:
                raise ConfigError(f"cannot write {self.path} ({err.strerror}): use a run directory you can "
                                  "write to (hydra.run.dir=...)") from None

    def _load_existing(self) -> None:
        header, rows, damaged = parse_results(self.path, self.columns)
        if header != self.columns:
            raise ConfigError(
                f"{self.path} holds results with columns {header[len(BASE_COLUMNS):]} but this run "
                f"scores {self.columns[len(BASE_COLUMNS):]}: use a new run directory "
                "(hydra.run.dir=...) or the same metric list"
            )
        if not os.access(self.path, os.W_OK):
            raise ConfigError(f"{self.path} is not writable: make it writable or use a new run directory "
                              "(hydra.run.dir=...)")
        seen = {}
        for row in rows:
            seen.setdefault(row_key(row), row)  # a duplicated row counts once
        if damaged or len(seen) != len(rows):
            self._set_aside(damaged, list(seen.values()))
        self._rows = {row_key(r): r for r in seen.values()}

    def _set_aside(self, damaged: list, rows: list[dict]) -> None:
        """Keep the damaged lines in :data:`DAMAGED_FILE` (line number, reason, text) and rewrite the
        results file with the valid rows only (atomically); those rows are then recomputed."""
        side = self.path.with_name(DAMAGED_FILE)
        new_side = not side.exists()
        with side.open("a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new_side:
                writer.writerow(["line", "reason", "text"])
            for bad in damaged:
                writer.writerow([bad.line, bad.reason, bad.text])
        for bad in damaged:
            log.warning("%s line %d is not a valid row (%s): set aside in %s and recomputed",
                        self.path, bad.line, bad.reason, side.name)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="raise")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: _cell(row.get(c)) for c in self.columns})
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    def existing(self, key: tuple) -> dict | None:
        """The stored row with this key, or None."""
        return self._rows.get(key)

    def rows(self) -> list[dict]:
        """Every stored row."""
        return list(self._rows.values())

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
