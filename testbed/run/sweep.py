"""The sweep runner: codecs x channels x CBR x SNR x repetitions over a dataset, scored and stored.

Everything that can be checked is checked before the first transmission: the config values, the
plugins (their ``check()``: executables, weights) and every image file. Rows are appended after
each sweep point; rerunning the same config in the same directory computes only what is missing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from omegaconf import DictConfig
from tqdm import tqdm

from testbed import __version__
from testbed.core.channel import Channel
from testbed.core.codec import Codec, ImageRecord, Reception
from testbed.core.dataset import Dataset
from testbed.core.metric import Metric
from testbed.core.device import resolve_device, use_device
from testbed.core.errors import ConfigError
from testbed.core.images import tensor_to_rgb8
from testbed.config.catalogue import instantiate
from testbed.config.groups import LIST_GROUPS
from testbed.run.provenance import code_version
from testbed.run.results import ResultsStore, original_image_path, row_key, safe_name, writable_run_path
from testbed.core.seeding import derive_seed
from testbed.run.link import SweepPoint, run_point
from testbed.run.run_folder import RunLock, record_config
from testbed.run.sweep_points import parse_shard, sweep_points, unsupported_points
from testbed.config.sweep_config import SweepGrid, config_fingerprint, parse_grid, plugin_nodes, whole_number

log = logging.getLogger(__name__)


@dataclass
class SweepSetup:
    """Everything a sweep needs, built and checked from the config."""

    grid: SweepGrid
    records: list[ImageRecord]
    dataset_info: dict
    codecs: dict
    channels: dict
    metrics: dict
    hashes: dict
    seed: int
    save_images: int
    device: torch.device
    score_memo: dict = field(default_factory=dict)  # metric -> {(reference, reconstruction): score}
    skipped: dict = field(default_factory=dict)  # (codec, channel, cbr[, snr]) -> why it cannot be served
    #: (index, count, by): this job runs every count-th point (by="points") or image (by="images") from index
    shard: tuple[int, int, str] = (0, 1, "points")

    @property
    def saved_ids(self) -> set[str]:
        """Images whose reconstructions are saved for the grid (the first ``save_images``)."""
        return {r.image_id for r in self.records[: self.save_images]}

    @property
    def job_records(self) -> list[ImageRecord]:
        """The images this job sends: all, or its share when the shards split the images."""
        index, count, by = self.shard
        return self.records[index::count] if by == "images" else self.records


def build(cfg: DictConfig) -> SweepSetup:
    """Validate the config and build every plugin; raises before any transmission."""
    grid = parse_grid(cfg)
    device = resolve_device(cfg.get("device", "auto"))
    use_device(device)
    nodes = {g: plugin_nodes(cfg, g) for g in LIST_GROUPS}
    codecs = {n: instantiate(c, base=Codec) for n, c in nodes["codec"].items()}
    channels = {n: instantiate(c, base=Channel) for n, c in nodes["channel"].items()}
    metrics = {n: instantiate(c, base=Metric) for n, c in nodes["metric"].items()}
    for group in (codecs, channels, metrics):
        for name, obj in group.items():
            obj.bind(name, device)
    for obj in (*codecs.values(), *channels.values()):
        obj.check()
    # points no codec setting can serve are known now: refuse them before the metrics load their weights
    skipped = unsupported_points(codecs, channels, grid.cbr, cfg.get("unsupported", "error"), grid.snr_db)
    for obj in metrics.values():
        obj.check()
    dataset = instantiate(cfg.dataset, base=Dataset)
    dataset.bind(dataset.name, device)  # a dataset is named by its own `name` (recorded in the rows)
    records = dataset.load()
    _check_sizes(records, metrics)
    seed = whole_number(cfg, "seed", 0)
    shared = config_fingerprint(cfg.dataset, *nodes["metric"].values(), seed)
    hashes = {(c, h): config_fingerprint(nodes["codec"][c], nodes["channel"][h], shared)
              for c in codecs for h in channels}
    return SweepSetup(grid, records, dataset.describe(), codecs, channels, metrics, hashes, seed,
                      whole_number(cfg, "save_images", 0, low=0, allow_null=True) or 0, device, skipped=skipped,
                      shard=parse_shard(cfg))


def _check_sizes(records: list[ImageRecord], metrics: dict) -> None:
    """Every image is big enough for every selected metric (``Metric.min_side``), before any work."""
    for name, metric in metrics.items():
        small = [f"{r.image_id} ({r.pixels.shape[-1]}x{r.pixels.shape[-2]})" for r in records
                 if min(r.pixels.shape[-2:]) < metric.min_side]
        if small:
            raise ConfigError(f"metric {name} needs images of at least {metric.min_side} px a side; too small: "
                              f"{', '.join(small[:10])}{' ...' if len(small) > 10 else ''}. Leave those images out, "
                              f"or drop {name} from the metric list")


def run_sweep(cfg: DictConfig, out_dir: str | Path) -> Path:
    """Run (or resume) the sweep of ``cfg`` into ``out_dir``; returns the results file."""
    # more threads than a few per core only slows torch down (and 100000 crashed it)
    threads = whole_number(cfg, "threads", None, low=1, allow_null=True, high=4 * (os.cpu_count() or 1))
    if threads:
        torch.set_num_threads(threads)
    setup = build(cfg)
    out_dir = Path(out_dir)
    with RunLock(out_dir):  # one sweep writes into a folder at a time
        store = ResultsStore(out_dir, list(setup.metrics))
        _check_settings(setup, store)  # before anything in the folder changes
        record_config(cfg, out_dir)
        return _sweep(setup, store, out_dir)


def _check_settings(setup: SweepSetup, store: ResultsStore) -> None:
    """Refuse a folder whose rows of this run's codec/channel pairs were made with other settings."""
    for row in store.rows():
        key = (row.get("codec"), row.get("channel"))
        if key in setup.hashes and row.get("config_hash") != setup.hashes[key]:
            raise ConfigError(
                f"{store.path} already holds {key[0]}/{key[1]} rows made with other settings "
                f"(config hash {row.get('config_hash')} vs {setup.hashes[key]}: seed, dataset, codec, channel "
                "or metric settings differ): use a new run directory (hydra.run.dir=...)"
            )


def _sweep(setup: SweepSetup, store: ResultsStore, out_dir: Path) -> Path:
    _save_originals(setup, out_dir)
    _record_skipped(setup, out_dir)
    points, records = sweep_points(setup), setup.job_records
    total = len(points) * len(records)
    bar = tqdm(total=total, unit="img", desc="sweep", dynamic_ncols=True, mininterval=1.0)
    started = time.perf_counter()
    for point in points:
        todo = [r for r in records if not _done(store, setup, r, point)]
        bar.update(len(records) - len(todo))
        if todo:
            bar.set_postfix_str(f"{point[0]}/{point[1]} cbr={point[2]:.4g} snr={point[3]:g}", refresh=False)
            store.append(_run_point(setup, point, todo, store, out_dir))
            bar.update(len(todo))
    bar.close()
    log.info("sweep finished: %d rows in %s (%.1f s)", len(store), store.path, time.perf_counter() - started)
    return store.path


def _record_skipped(setup: SweepSetup, out_dir: Path) -> None:
    """Log the points left out and list them in ``skipped.json`` (the report shows them)."""
    entries = [dict(codec=key[0], channel=key[1], cbr=key[2], **({"snr_db": key[3]} if len(key) > 3 else {}),
                    reason=why) for key, why in setup.skipped.items()]
    for entry in entries:
        at = f" and SNR {entry['snr_db']:g} dB" if "snr_db" in entry else ""
        log.warning("skipped %s/%s at CBR %.4g%s: %s", entry["codec"], entry["channel"], entry["cbr"], at,
                    entry["reason"])
    path = out_dir / "skipped.json"
    if entries:
        out_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(entries, indent=1) + "\n")
    elif path.exists():
        path.unlink()


def _done(store: ResultsStore, setup: SweepSetup, record: ImageRecord, point) -> bool:
    codec, channel, cbr, snr, rep = point
    for variant in setup.codecs[codec].variants():
        row = store.existing(row_key(dict(image_id=record.image_id, codec=codec, channel=channel,
                                          snr_db=snr, cbr=cbr, repetition=rep, mcs=variant)))
        if row is None:
            return False
        if row.get("config_hash") != setup.hashes[(codec, channel)]:
            raise ConfigError(
                f"{store.path} already holds {codec}/{channel} rows made with other settings "
                f"(config hash {row.get('config_hash')} vs {setup.hashes[(codec, channel)]}): "
                "use a new run directory (hydra.run.dir=...)"
            )
    return True


def _run_point(setup: SweepSetup, point, todo: list[ImageRecord], store, out_dir: Path) -> list[dict]:
    codec_name, channel_name, cbr, snr, rep = point
    codec: Codec = setup.codecs[codec_name]
    channel = setup.channels[channel_name]
    where = SweepPoint(codec_name, channel_name, cbr, snr, rep)

    def new(record: ImageRecord, rec: Reception) -> bool:  # a variant written before an interruption is kept
        return store.existing(row_key(_key(record, rec, where))) is None

    results = run_point(codec, channel, setup.metrics, where, todo, setup.seed, setup.device, setup.score_memo, new)
    provenance = {"codec": codec.describe(), "channel": channel.describe(), "dataset": setup.dataset_info,
                  "metrics": {n: m.describe() for n, m in setup.metrics.items()}}
    provenance_text = json.dumps(provenance, sort_keys=True, separators=(",", ":"))
    rows = []
    for record, rec, scores in results:
        key = _key(record, rec, where)
        row = _row(setup, record, rec, key, codec, provenance_text)
        row["recon_path"] = _save_recon(setup, record, rec, key, out_dir)
        row.update(scores)
        rows.append(row)
    return rows


def _key(record: ImageRecord, rec: Reception, point: SweepPoint) -> dict:
    return dict(image_id=record.image_id, codec=point.codec, channel=point.channel, snr_db=point.snr_db,
                cbr=point.cbr, repetition=point.repetition, mcs=rec.mcs)


def _row(setup, record: ImageRecord, rec: Reception, key: dict, codec: Codec, provenance: str) -> dict:
    row = dict(key)
    row.update(
        dataset=setup.dataset_info.get("dataset"), mcs_policy=codec.mcs_policy,
        cbr_actual=rec.channel_uses / record.num_values, channel_uses=rec.channel_uses,
        num_values=record.num_values, payload_bits=rec.payload_bits, source_quality=rec.source_quality,
        decode_failed=bool(rec.decode_failed),
        seed=derive_seed(setup.seed, record.image_id, key["codec"], key["channel"], key["snr_db"],
                         key["cbr"], key["repetition"]),
        config_hash=setup.hashes[(key["codec"], key["channel"])], code_version=code_version(),
        provenance=provenance, extra=rec.extra,
    )
    return row


def _save_originals(setup: SweepSetup, out_dir: Path) -> None:
    from PIL import Image

    mine = {r.image_id for r in setup.job_records}
    for record in setup.records[: setup.save_images]:
        if record.image_id not in mine:  # another shard's image: its job stores it
            continue
        path = writable_run_path(out_dir, original_image_path("", record.image_id))
        if not _intact(path, record):  # missing, cut or replaced: written again from the dataset
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.png")
            Image.fromarray(record.as_uint8()).save(tmp)
            tmp.replace(path)


def _intact(path: Path, record: ImageRecord) -> bool:
    """Whether ``path`` holds exactly the image's 8-bit pixels."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.array_equal(np.asarray(image.convert("RGB")), record.as_uint8())
    except Exception:  # missing or not a readable image
        return False


def _save_recon(setup: SweepSetup, record: ImageRecord, rec: Reception, key: dict, out_dir: Path) -> str:
    if record.image_id not in setup.saved_ids:
        return ""
    from PIL import Image

    name = (f"{key['codec']}_{key['channel']}_{safe_name(key['mcs'])}_cbr{key['cbr']:.5g}_snr{key['snr_db']:g}"
            f"_rep{key['repetition']}.png")
    rel = Path("images") / safe_name(record.image_id) / name
    path = writable_run_path(out_dir, rel)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(tensor_to_rgb8(rec.image)).save(path)
    return rel.as_posix()


__all__ = ["run_sweep", "build", "SweepSetup", "__version__"]
