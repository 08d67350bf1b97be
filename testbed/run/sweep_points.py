"""Which points a sweep runs: the grid less the points no codec setting serves, split among shards.

A point is ``(codec, channel, cbr, snr_db, repetition)``. Points a fixed-rate model cannot serve
(its CBRs, channel or SNR range) are refused before any work or, with ``unsupported=skip``, left
out with the reason (``skipped.json``). Shards split the rest by points or by images
(``shard.index`` / ``shard.count`` / ``shard.by``).
"""

from __future__ import annotations

from omegaconf import DictConfig

from testbed.core.codec import Codec
from testbed.core.errors import ConfigError
from testbed.core.numbers import is_whole


def unsupported_points(codecs: dict, channels: dict, cbrs, policy: str = "error", snrs=()) -> dict:
    """The (codec, channel, CBR) points no codec setting can serve, and the (codec, channel, CBR, SNR)
    points of served ones that a model cannot serve at that SNR, with the reason for each.

    ``policy = "error"`` raises on the first (the default: a typo in a preset should stop it);
    ``"skip"`` returns them all, so a grid that mixes fixed-rate models with any-rate codecs (the
    paper presets: DeepJSCC has one CBR and one channel; a released model one SNR range) runs what
    can run.
    """
    if policy not in ("error", "skip"):
        raise ConfigError(f"unsupported={policy!r}: use error (stop on a point no codec setting serves) or skip")
    skipped = {}
    for name, codec in codecs.items():
        for cbr in cbrs:
            for channel_name, channel in channels.items():
                try:
                    _check_cbr(name, codec, cbr)
                    codec.check_point(channel, cbr)
                except ConfigError as err:
                    if policy == "error":
                        raise
                    skipped[(name, channel_name, cbr)] = str(err)
                    continue
                for snr in snrs:
                    try:
                        codec.check_snr(channel, cbr, snr)
                    except ConfigError as err:
                        if policy == "error":
                            raise
                        skipped[(name, channel_name, cbr, snr)] = str(err)
    return skipped


#: How shards split a sweep: by its points (jobs on many machines share every image's work) or by its
#: images (jobs on one machine: each image's source encodings, reference features and repeated
#: reconstructions stay in one job, scored once).
SHARD_BY = ("points", "images")


def parse_shard(cfg: DictConfig) -> tuple[int, int, str]:
    """``shard.index`` / ``shard.count`` / ``shard.by`` (default 0 / 1 / points): this job's share."""
    node = cfg.get("shard") or {}
    index, count, by = node.get("index", 0), node.get("count", 1), node.get("by", "points")
    if not (is_whole(index) and is_whole(count)) or not 0 <= index < count:
        raise ConfigError(f"shard: index={index!r}, count={count!r}: need whole numbers with 0 <= index < count "
                          "(e.g. -m shard.count=2 shard.index=0,1)")
    if by not in SHARD_BY:
        raise ConfigError(f"shard.by={by!r}: use one of {SHARD_BY}")
    return index, count, by


def _check_cbr(name: str, codec: Codec, cbr: float) -> None:
    """A codec that sends fixed CBRs (a trained model) must support the CBR."""
    supported = codec.supported_cbrs()
    if supported is not None and not any(abs(cbr - s) <= 0.01 * s for s in supported):
        raise ConfigError(
            f"codec {name} cannot send CBR {cbr:.4g}: it supports "
            f"{', '.join(f'{s:.4g}' for s in supported)} (pick those CBRs or another checkpoint)"
        )


def sweep_points(setup) -> list[tuple]:
    """This job's (codec, channel, cbr, snr, repetition) points of a :class:`~testbed.run.sweep.SweepSetup`: the grid less skipped points,
    every ``count``-th from ``index`` when sharded by points (codec-major order, so shards share the work)."""
    points = [(c, h, cbr, snr, rep) for c in setup.codecs for h in setup.channels
              for cbr in setup.grid.cbr for snr in setup.grid.snr_db
              for rep in range(setup.grid.repetitions)
              if (c, h, cbr) not in setup.skipped and (c, h, cbr, snr) not in setup.skipped]
    index, count, by = setup.shard
    return points[index::count] if by == "points" else points
