"""The plugin contract: checks every codec, channel, metric and dataset must pass.

Out-of-tree plugins call these from their own tests (``from testbed.testing import check_codec``);
the project's suite runs every option of every config group through them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from testbed.core.channel import Channel
from testbed.core.codec import Codec, ImageRecord, Reception, SourceCodec
from testbed.config.catalogue import instantiate, option_node
from testbed.core.images import rgb8_to_tensor
from testbed.core.metric import Metric
from testbed.core.seeding import make_generator

#: SNR used as a practically noiseless channel (dB).
NOISELESS_SNR_DB = 60.0


def tiny_image(max_side: int = 64, name: str = "astronaut") -> ImageRecord:
    """A small real photograph (one of scikit-image's, resized) for round trips."""
    node = option_node("dataset", "embedded")
    node.names, node.limit, node.max_side = [name], None, max_side
    return instantiate(node).load()[0]


def psnr(preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) ``[N]`` by the catalogue's ``psnr`` metric (the contract kit's quality check)."""
    return instantiate(option_node("metric", "psnr")).score(preds, target)


def photo(name: str, size: tuple[int, int], max_side: int | None = None) -> torch.Tensor:
    """A real photograph resized (bilinear, antialiased) to ``size`` = (H, W): ``[3, H, W]`` in [0, 1].

    It is first loaded with its long side at ``max_side`` (default: twice the longer of H, W)."""
    pixels = tiny_image(max_side=max_side or 2 * max(size), name=name).pixels[None]
    return torch.nn.functional.interpolate(pixels, size=size, mode="bilinear", antialias=True,
                                           align_corners=False)[0].clamp(0, 1)


def _generators(codec: Codec, channel: Channel, snr: float, cbr: float):
    return lambda record, *salt: make_generator(0, record.image_id, codec.name, channel.name, snr, cbr, *salt)


def _check_reception(rec: Reception, record: ImageRecord, cbr: float) -> None:
    assert isinstance(rec, Reception), f"transmit must return Reception objects, got {type(rec)}"
    assert rec.image.shape == record.pixels.shape, "reconstruction must have the input's shape [3, H, W]"
    assert rec.image.dtype == torch.float32
    assert float(rec.image.min()) >= 0.0 and float(rec.image.max()) <= 1.0, "images live in [0, 1]"
    assert 0 <= rec.channel_uses <= math.floor(cbr * record.num_values), "channel uses exceed the CBR budget"


def check_codec(codec: Codec, channel: Channel, cbr: float = 1.0, min_psnr_db: float = 20.0) -> list[Reception]:
    """Round trip on a tiny image over a noiseless channel (high PSNR, budget kept, one reception per
    variant), then the failure path at a hopeless SNR (fallback image, ``decode_failed``, no raise)."""
    codec.check()
    fixed = codec.supported_cbrs()  # trained models send fixed CBRs: round trip at the largest
    cbr = max(fixed) if fixed else cbr
    record = tiny_image(96, "rocket")
    out = codec.transmit([record], channel, NOISELESS_SNR_DB, cbr, _generators(codec, channel, NOISELESS_SNR_DB, cbr))
    assert len(out) == 1 and [r.mcs for r in out[0]] == codec.variants(), "one reception per variant"
    for rec in out[0]:
        _check_reception(rec, record, cbr)
        assert not rec.decode_failed, f"{codec.name}: noiseless transmission failed ({rec.extra})"
        value = psnr(rec.image[None], record.pixels[None]).item()
        assert value >= min_psnr_db, f"{codec.name}: noiseless PSNR {value:.1f} dB < {min_psnr_db} dB"
    tiny_cbr = min(fixed) if fixed else 1e-4
    hopeless = codec.transmit([record], channel, -30.0, tiny_cbr, _generators(codec, channel, -30.0, tiny_cbr))
    for rec in hopeless[0]:
        _check_reception(rec, record, tiny_cbr)
    return out[0]


def check_source_codec(source: SourceCodec, image: np.ndarray, qualities: Sequence[float]) -> list[float]:
    """Round trips at increasing ``qualities``: right shape and dtype, files and PSNR (dB) that grow.

    Returns the PSNR of each quality. ``image`` is ``uint8 [H, W, 3]``.
    """
    h, w, _ = image.shape
    sizes, scores = [], []
    for quality in qualities:
        blob = source.encode(image, quality)
        out = source.decode(blob, h, w)
        assert out.shape == (h, w, 3) and out.dtype == np.uint8, f"{source.name}: decode gave {out.shape} {out.dtype}"
        sizes.append(len(blob))
        scores.append(psnr(rgb8_to_tensor(out)[None], rgb8_to_tensor(image)[None]).item())
    assert sizes == sorted(sizes), f"{source.name}: file sizes {sizes} do not grow with quality"
    assert scores == sorted(scores), f"{source.name}: PSNR {scores} does not grow with quality"
    return scores


def check_corrupt_streams(source: SourceCodec, image: np.ndarray, qualities: Sequence[float], trials: int = 60,
                          protect_bytes: int = 0, seed: int = 2024) -> tuple[int, int]:
    """Bit flips (and truncation every 4th trial) in real files: decoding must return the right
    shape or raise ``ValueError``, never anything else, never hang. Odd trials leave the first
    ``protect_bytes`` intact (a header). Returns (decoded, refused) counts."""
    h, w, _ = image.shape
    rng = np.random.default_rng(seed)
    decoded = refused = 0
    for quality in qualities:
        clean = np.unpackbits(np.frombuffer(source.encode(image, quality), dtype=np.uint8))
        for trial in range(trials):
            bits = clean.copy()
            lowest = 8 * protect_bytes if trial % 2 else 0
            bits[rng.integers(lowest, bits.size, rng.integers(1, 40))] ^= 1
            corrupt = np.packbits(bits).tobytes()
            if trial % 4 == 0:
                corrupt = corrupt[: rng.integers(0, len(corrupt))]
            try:
                out = source.decode(corrupt, h, w)
            except ValueError:
                refused += 1
                continue
            assert out.shape == (h, w, 3) and out.dtype == np.uint8
            decoded += 1
    return decoded, refused


def check_channel(channel: Channel, num_symbols: int = 4096) -> None:
    """Unit-energy symbols through at a very high SNR come back (after CSI) unchanged; seeded draws."""
    g = torch.Generator().manual_seed(0)
    x = torch.polar(torch.ones(num_symbols), 2 * math.pi * torch.rand(num_symbols, generator=g)).to(torch.complex64)
    a = channel(x, NOISELESS_SNR_DB, make_generator("contract"))
    b = channel(x, NOISELESS_SNR_DB, make_generator("contract"))
    assert a.y.shape == x.shape and a.y.dtype == torch.complex64
    assert torch.equal(a.y, b.y), "the same generator seed must give the same output"
    if a.h is not None:  # the receiver knows h: y must be h * x
        assert torch.allclose(a.y, a.h * x, atol=1e-2), "noiseless channel must give y = h x"
    elif a.equalized:  # an unbiased estimate of x, its error within its stated noise (5 sigma)
        assert isinstance(a.no, torch.Tensor) and a.no.shape == x.shape and bool((a.no >= 0).all())
        assert bool(((a.y - x).abs().square() <= 25 * a.no + 1e-4).all()), "equalised y strays beyond its noise"
    elif getattr(channel, "csi", None) is None:  # no fading: y must be x
        assert torch.allclose(a.y, x, atol=1e-2), "noiseless channel must return the input"
    if not a.equalized:
        assert a.no == 10 ** (-NOISELESS_SNR_DB / 10)
    assert channel.uses(num_symbols) >= num_symbols and channel.symbols_within(channel.uses(num_symbols)) >= num_symbols
    assert channel.capacity_per_use(10.0) > 0
    # batches [N, K]: rows with their own generators (and SNRs) draw exactly as when sent alone
    rows = torch.stack([x, x.roll(1)])
    batch = channel(rows, torch.tensor([NOISELESS_SNR_DB, 5.0]), [make_generator("r0"), make_generator("r1")])
    alone = [channel(rows[0], NOISELESS_SNR_DB, make_generator("r0")), channel(rows[1], 5.0, make_generator("r1"))]
    assert all(torch.equal(batch.y[i], alone[i].y) for i in range(2)), "a row of a batch must draw as if alone"
    per_row = tuple(rows.shape) if batch.equalized else (2, 1)
    assert isinstance(batch.no, torch.Tensor) and tuple(batch.no.shape) == per_row, "per-row N0 is [N, 1]"
    shared = channel(rows, 5.0, make_generator("batch"))  # one generator for the whole batch
    assert shared.y.shape == rows.shape and not torch.equal(shared.y[0], shared.y[1])
    assert set(channel.spec()) >= {"channel"}, "spec() names the channel class (checkpoints match on it)"


def check_metric(metric: Metric) -> None:
    """Per-image scores ``[N]``; identical images score at least as well as a noisy copy."""
    metric.check()
    record = tiny_image(max_side=192)
    target = torch.stack([record.pixels, record.pixels.flip(-1)])
    noisy = (target + 0.1 * torch.randn(target.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    same, worse = metric.score(target, target), metric.score(noisy, target)
    assert same.shape == (2,) and worse.shape == (2,)
    better = same >= worse if metric.higher_is_better else same <= worse
    assert bool(better.all()), f"{metric.name}: identical images must score at least as well as noisy ones"
    preds, targets = [noisy[0], noisy[1], target[0]], [target[0], target[1], target[0]]
    for keys in (None, ["a", "b", "a"]):  # batched scoring, with and without reference caching
        many = metric.score_many(preds, targets, keys)
        assert many.shape == (3,), f"{metric.name}: score_many must give one score per pair"
        assert torch.allclose(many, torch.cat([worse, same[:1]]).double(), atol=1e-5), \
            f"{metric.name}: score_many must equal score pair by pair"
    assert isinstance(metric.describe(), dict)


#: Where torchvision publishes its checkpoints: files from there can be stood in for by random ones.
TORCHVISION_URL = "https://download.pytorch.org/models/"


def stand_in_torchvision_checkpoint(path: str | Path, seed: int = 0) -> Path:
    """Write seeded random weights in torchvision's layout for the architecture the file name starts
    with (``alexnet-owt-7be5be79.pth`` -> ``alexnet``): for tests and benchmarks on machines without
    the real checkpoint, never for reported numbers.

    Architectures with a ``features.*`` trunk (AlexNet, VGG: the LPIPS backbones) get He-normal
    convolutions and small random biases, and a broadcast-zero classifier that feature metrics never
    run (``torch.save`` keeps its one-element storage: AlexNet 10 MB, VGG-16 59 MB). Others (ViT)
    get the architecture's own seeded initialisation, since all of their weights are used.
    """
    import torchvision

    path = Path(path)
    arch = path.name.split("-")[0]
    with torch.device("meta"):
        shapes = torchvision.models.get_model(arch, weights=None).state_dict()
    if not any(key.startswith("features.") for key in shapes):
        torch.manual_seed(seed)
        torch.save(torchvision.models.get_model(arch, weights=None).state_dict(), path)
        return path
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, p in shapes.items():
        if not key.startswith("features."):
            state[key] = torch.zeros(()).expand(p.shape)
        elif p.dim() > 1:
            state[key] = torch.randn(p.shape, generator=g) * (2.0 / p[0].numel()) ** 0.5
        else:
            state[key] = 0.01 * torch.randn(p.shape, generator=g)
    torch.save(state, path)
    return path


def stand_in_weights(metric, folder: str | Path) -> list[str]:
    """Seeded random stand-ins, in ``folder``, for the torchvision checkpoints ``metric`` needs and
    this machine lacks (offline machines have none); returns their file names.

    For checking a metric's mechanics (shapes, batching, caching, provenance), not its numbers: the
    caller points ``$TESTBED_WEIGHTS`` at ``folder`` (:func:`stand_in_weights` links the files of the
    folder set before into it). Other missing files are left missing, so the metric's own message
    shows; real files, where present, are used as they are.
    """
    from testbed.core.weights import WEIGHTS_ENV, MissingWeightsError, resolve

    missing = []
    for spec, explicit in getattr(metric, "required_weights", lambda: [])():
        try:
            resolve(spec, explicit)
        except MissingWeightsError:
            if not explicit and (spec.url or "").startswith(TORCHVISION_URL):
                missing.append(spec.filename)
    if missing:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        previous = os.environ.get(WEIGHTS_ENV)
        if previous and Path(previous).is_dir():
            for item in Path(previous).iterdir():
                if not (folder / item.name).exists():
                    (folder / item.name).symlink_to(item.resolve())
        for seed, filename in enumerate(missing):
            stand_in_torchvision_checkpoint(folder / filename, seed=seed)
    return missing
