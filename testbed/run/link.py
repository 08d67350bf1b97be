"""The link: one sweep point, encode -> channel -> decode -> score, and the seeding rules.

Everything that sends data over a channel goes through here:

* the sweep: :func:`run_point` (a codec's images at one point, scored by every metric);
* ``testbed-train``: :func:`forward`, the differentiable path of a :class:`LearnedCodec`, for the
  training loss and the validation alike (the same encode_batch / decode_batch as the sweep);
* the link-level Monte Carlo (``testbed waterfall``): :func:`send` for batches of codewords.

Seeding (DESIGN.md §3): a sweep point draws each image's channel from a generator seeded by
(seed, image id, codec, channel, snr_db, cbr, repetition, *salt) -- :func:`point_generators` --
so results do not depend on order or workers; training draws by (seed, "train", step),
validation by (seed, "validation"), the Monte Carlo by (seed, "linklevel", k, n, modulation,
Eb/N0, draw).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from testbed.core.channel import Channel, ChannelOutput
from testbed.core.codec import Codec, GeneratorFactory, ImageRecord, Reception
from testbed.core.errors import TestbedError
from testbed.core.learned_codec import LearnedCodec
from testbed.core.seeding import make_generator


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep: codec and channel option names, CBR, SNR (dB, Es/N0), repetition."""

    codec: str
    channel: str
    cbr: float
    snr_db: float
    repetition: int = 0


def point_generators(seed: int, point: SweepPoint, device: str | torch.device = "cpu") -> GeneratorFactory:
    """The generator of each image (and salt) at ``point``."""

    def generator_for(record: ImageRecord, *salt) -> torch.Generator:
        return make_generator(seed, record.image_id, point.codec, point.channel, point.snr_db, point.cbr,
                              point.repetition, *salt, device=device)

    return generator_for


def training_generator(seed: int, step: int, device: str | torch.device = "cpu") -> torch.Generator:
    """Crops, SNRs, rate and channel of training step ``step``."""
    return make_generator(seed, "train", step, device=device)


def validation_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """The fixed channel draws of every validation."""
    return make_generator(seed, "validation", device=device)


def send(channel: Channel, symbols: torch.Tensor, snr_db: float | torch.Tensor,
         generator: torch.Generator | Sequence[torch.Generator]) -> ChannelOutput:
    """Symbols complex64 ``[..., K]`` through ``channel`` (one state per row)."""
    return channel(symbols, snr_db, generator)


def transmit(codec: Codec, images: Sequence[ImageRecord], channel: Channel, snr_db: float, cbr: float,
             generator_for: GeneratorFactory) -> list[list[Reception]]:
    """Encode -> channel -> decode: per image, one reception per variant of ``codec``."""
    sent = codec.encode(images, channel, snr_db, cbr)
    received: list[ChannelOutput | None] = [None] * len(sent)
    by_length: dict[tuple, list[int]] = {}
    for i, tx in enumerate(sent):
        if tx.symbols is not None:
            by_length.setdefault((tx.symbols.shape[-1], tx.symbols.device), []).append(i)
    for group in by_length.values():  # one batch per symbol count; each row drawn by its own generator
        for i in group:  # the CBR numerator: every use of the channel, its overhead included
            sent[i].channel_uses = channel.uses(sent[i].symbols.shape[-1])
        batch = torch.stack([sent[i].symbols for i in group])
        arrived = send(channel, batch, snr_db, [generator_for(images[sent[i].image], *sent[i].salt) for i in group])
        for row, i in enumerate(group):
            received[i] = arrived.row(row)
    receptions = codec.decode(images, sent, received)
    if len(receptions) != len(sent):
        raise TestbedError(f"codec {codec.name}: decode returned {len(receptions)} receptions for {len(sent)} "
                           "transmissions (one each)")
    per_image: list[list[Reception]] = [[] for _ in images]
    for tx, rec in zip(sent, receptions):
        per_image[tx.image].append(rec)
    return per_image


def forward(codec: LearnedCodec, channel: Channel, images: torch.Tensor, snr_db: torch.Tensor,
            generator: torch.Generator | Sequence[torch.Generator]) -> torch.Tensor:
    """The differentiable link of a learned codec: ``[N, 3, H, W]`` and SNRs ``[N]`` (dB) ->
    reconstructions ``[N, 3, H, W]`` (unclamped), one channel state per image."""
    symbols, context = codec.encode_batch(images, snr_db)
    return codec.decode_batch(send(channel, symbols, snr_db, generator), context, snr_db)


def score(metrics: dict, pairs: Sequence[tuple[ImageRecord, Reception]], memo: dict | None = None) -> list[dict]:
    """Every metric on every (original, reception) pair: ``[{metric: value}, ...]``.

    Each metric scores all pairs of the call at once (feature metrics batch their backbone).
    Scores are memoised per (reference, exact reconstruction) in ``memo``: a digital codec gives
    the same image at every SNR above its cliff (and the fallback below it), scored once.
    """
    memo = {} if memo is None else memo
    preds = [rec.image.detach().cpu().float().contiguous() for _, rec in pairs]
    keys = [(record.content_hash, hashlib.sha256(p.numpy().tobytes()).hexdigest())
            for (record, _), p in zip(pairs, preds)]
    values = [dict() for _ in pairs]
    for name, metric in metrics.items():
        known = memo.setdefault(name, {})
        todo = {k: i for i, k in enumerate(keys) if k not in known}  # one index per distinct pair
        if todo:
            index = list(todo.values())
            got = metric.score_many([preds[i] for i in index], [pairs[i][0].pixels for i in index],
                                    [pairs[i][0].content_hash for i in index])
            known.update(zip(todo, got.tolist()))
        for value, key in zip(values, keys):
            value[name] = float(known[key])
    return values


def run_point(codec: Codec, channel: Channel, metrics: dict, point: SweepPoint, images: Sequence[ImageRecord],
              seed: int, device: str | torch.device = "cpu", memo: dict | None = None,
              keep: Callable[[ImageRecord, Reception], bool] = lambda record, rec: True) -> list[tuple]:
    """One sweep point: ``[(record, reception, scores), ...]`` for the receptions ``keep`` accepts."""
    receptions = transmit(codec, images, channel, point.snr_db, point.cbr, point_generators(seed, point, device))
    pairs = [(record, rec) for record, variants in zip(images, receptions) for rec in variants if keep(record, rec)]
    return [(record, rec, values) for (record, rec), values in zip(pairs, score(metrics, pairs, memo))]
