"""``testbed-train``: train a deep-JSCC model on random crops of an image folder (Hydra app).

Seeded (every batch, SNR draw and noise comes from generators seeded by (seed, step)),
resumable (the checkpoint holds model, optimiser, step and wall time; rerunning the same command
continues, so CPU hours accumulate across runs) and validated on fixed crops of held-out images.
The checkpoint carries the full config, the data description, steps, wall time and the
validation PSNR history.

    testbed-train train.steps=2000 train.data.path=../shared/data/photos
"""

from __future__ import annotations

import logging
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from testbed.config.catalogue import instantiate, option_node
from testbed.core.device import resolve_device, use_device
from testbed.core.weights import load_training_checkpoint
from testbed.core.errors import TestbedError
from testbed.core.channel import Channel
from testbed.core.learned_codec import LearnedCodec
from testbed.core.metric import Metric
from testbed.run.link import forward, training_generator, validation_generator
from testbed.train.crops import CropSampler

log = logging.getLogger("testbed.train.trainer")


def learning_rate(step: int, steps: int, lr: float, lr_final: float | None, warmup: int = 0) -> float:
    """Linear warm-up over ``warmup`` steps, then cosine decay from ``lr`` to ``lr_final`` at ``steps``.

    ``lr_final=None`` keeps ``lr`` constant after the warm-up. A pure function of the step, so a
    resumed run continues on the same curve (raising ``steps`` on resume stretches the rest of it).
    """
    if warmup and step < warmup:
        return lr * (step + 1) / warmup
    if lr_final is None:
        return lr
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return lr_final + 0.5 * (lr - lr_final) * (1.0 + math.cos(math.pi * progress))


LOSSES = ("mse", "ms_ssim")


def training_loss(output: torch.Tensor, images: torch.Tensor, kind: str) -> torch.Tensor:
    """``mse`` (PSNR-oriented) or a metric's differentiable loss (``ms_ssim``: 1 - MS-SSIM,
    unquantised) of ``[N, 3, H, W]`` batches; the metric comes from the catalogue."""
    if kind == "mse":
        return F.mse_loss(output, images)
    if kind in LOSSES:
        return _metric(kind).loss(output, images)
    raise TestbedError(f"train.loss must be one of {LOSSES}, got {kind!r}")


def _metric(name: str):
    """A metric plugin by option name (built once)."""
    if name not in _METRICS:
        _METRICS[name] = instantiate(option_node("metric", name), base=Metric)
    return _METRICS[name]


_METRICS: dict = {}


def build_codec(tc: DictConfig) -> LearnedCodec:
    """The learned codec of ``train.codec`` around a fresh ``train.model`` (receiver and tiling
    as the codec's config says, so training runs the path the sweep evaluates)."""
    model = instantiate(tc.model, base=torch.nn.Module)
    if not tc.get("codec"):
        raise TestbedError("train.codec is missing: the learned codec the model trains inside "
                           "(e.g. _target_: testbed.codecs.learned_jscc.LearnedJSCC, receiver: mmse)")
    return instantiate(tc.codec, base=LearnedCodec, model=model, rates=list(tc.rates) if tc.get("rates") else None)


def _initial_weights(model, path: str | None) -> dict | None:
    """Load the weights of another checkpoint (a warm start, e.g. Rayleigh from AWGN, or another CBR).

    Tensors whose name and shape match are loaded; the others (a latent layer of another width,
    when the CBR differs) keep their initial values and are listed in the returned record and the
    log. A checkpoint that shares no tensor with the model is refused.
    """
    if not path:
        return None
    if not Path(path).is_file():
        raise TestbedError(f"train.init_from: no checkpoint at {path}")
    saved = load_training_checkpoint(path)
    own = model.state_dict()
    loadable = {k: v for k, v in saved["model"].items() if k in own and own[k].shape == v.shape}
    if not loadable:
        raise TestbedError(f"train.init_from: {path} shares no weights with {type(model).__name__} "
                           "(another architecture?)")
    fresh = sorted(set(own) - set(loadable))
    model.load_state_dict(loadable, strict=False)
    if fresh:
        log.info("warm start from %s: %d tensors kept their initial values (shapes differ): %s",
                 path, len(fresh), ", ".join(fresh))
    return {"path": str(path), "step": saved.get("step"), "wall_time_s": saved.get("wall_time_s"),
            "lineage_wall_time_s": float(saved.get("wall_time_s") or 0.0) + time_before(saved),
            "config_name": (saved.get("config") or {}).get("name"), "initialised": fresh}


def time_before(saved: dict) -> float:
    """Training seconds spent on a checkpoint's weights before its own run: the whole chain of warm
    starts it descends from (``init_from.lineage_wall_time_s``). Checkpoints written before that
    field record only their parent's own run (``init_from.wall_time_s``), which is then the answer."""
    parent = saved.get("init_from") or {}
    return float(parent.get("lineage_wall_time_s", parent.get("wall_time_s")) or 0.0)


def train(cfg: DictConfig, out_dir: Path) -> Path:
    """Run (or resume) the training of ``cfg.train``; returns the checkpoint path."""
    tc = cfg.train
    if tc.get("loss", "mse") not in LOSSES:
        raise TestbedError(f"train.loss must be one of {LOSSES}, got {tc.loss!r}")
    if tc.get("threads"):
        torch.set_num_threads(int(tc.threads))
    device = resolve_device(tc.get("device", "cpu"))
    use_device(device)
    torch.manual_seed(int(tc.seed))
    codec = build_codec(tc).bind("train", "cpu")
    model = codec.network
    channel = instantiate(tc.channel, base=Channel).bind("train", device)
    sampler = CropSampler(tc.data.path, crop=int(tc.data.crop), holdout=int(tc.data.holdout))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(tc.lr))
    path = out_dir / "checkpoint.pt"
    state = {"step": 0, "wall_time_s": 0.0, "val_psnr": [], "init_from": None}
    if not path.is_file():
        state["init_from"] = _initial_weights(model, tc.get("init_from"))
    else:
        saved = load_training_checkpoint(path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = {k: saved.get(k, state[k]) for k in state}
        log.info("resuming %s at step %d", path, state["step"])
    codec.to(device)
    _optimizer_to(optimizer, device)
    val_images = sampler.validation(int(tc.data.val_crops)).to(device)
    started, step0 = time.perf_counter(), state["step"]
    bar = tqdm(total=int(tc.steps), initial=step0, unit="step", desc="train", mininterval=2.0)
    while state["step"] < int(tc.steps):
        step = state["step"]
        gen = training_generator(tc.seed, step)  # crops, SNRs, rate (CPU)
        noise = gen if device.type == "cpu" else training_generator(tc.seed, step, device=device)
        images = sampler.batch(int(tc.batch_size), gen).to(device)
        snr = torch.empty(images.shape[0]).uniform_(float(tc.snr_db.min), float(tc.snr_db.max), generator=gen)
        if tc.get("rates"):  # rate-adaptive: a latent prefix length drawn per batch
            codec.use_rate(int(tc.rates[int(torch.randint(0, len(tc.rates), (1,), generator=gen))]))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, int(tc.steps), float(tc.lr), tc.get("lr_final"), int(tc.get("warmup", 0)))
        model.train()
        loss = training_loss(forward(codec, channel, images, snr.to(device), noise), images, tc.get("loss", "mse"))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state["step"] += 1
        bar.update(1)
        bar.set_postfix_str(f"{tc.get('loss', 'mse')}={loss.item():.5f}", refresh=False)
        last = state["step"] == int(tc.steps)
        if state["step"] % int(tc.val_every) == 0 or last:
            value = validate(codec, channel, val_images, float(tc.snr_db.val), tc.seed, tc.get("val_rate"))
            state["wall_time_s"] += time.perf_counter() - started
            started = time.perf_counter()
            state["val_psnr"].append((state["step"], value, state["wall_time_s"]))  # step, dB, s
            log.info("step %d: validation PSNR %.2f dB at %g dB", state["step"], value, tc.snr_db.val)
            _save(path, model, optimizer, state, cfg, sampler)
    bar.close()
    return path


@torch.no_grad()
def validate(codec: LearnedCodec, channel, images: torch.Tensor, snr_db: float, seed, val_rate: int | None = None) -> float:
    """Mean PSNR (dB) of the held-out crops at ``snr_db`` (fixed noise), through the link."""
    codec.network.eval()
    if val_rate:
        codec.use_rate(int(val_rate))
    snr = torch.full((images.shape[0],), snr_db, device=images.device)
    out = forward(codec, channel, images, snr, validation_generator(seed, device=images.device))
    return float(_metric("psnr").score(out.clamp(0, 1), images).mean())


def _optimizer_to(optimizer, device: torch.device) -> None:
    """Move a (resumed) optimiser's state tensors to ``device``."""
    for state in optimizer.state.values():
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and key != "step":
                state[key] = value.to(device)


def _save(path: Path, model, optimizer, state: dict, cfg: DictConfig, sampler: CropSampler) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), **state,
                "config": OmegaConf.to_container(cfg.train, resolve=True), "data": sampler.describe()}, tmp)
    tmp.replace(path)  # atomic: a kill never leaves a half-written checkpoint


def _app(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    try:
        path = train(cfg, Path(HydraConfig.get().runtime.output_dir))
    except TestbedError as err:
        print(f"testbed-train: error: {err}", file=sys.stderr)
        sys.exit(2)
    log.info("checkpoint: %s", path)


def main() -> None:
    """Entry point of the ``testbed-train`` console script."""
    import hydra

    hydra.main(version_base="1.3", config_path="pkg://testbed.experiments", config_name="train")(_app)()


if __name__ == "__main__":
    main()


def export(checkpoint: str | Path, destination: str | Path) -> Path:
    """Write the shippable part of a training checkpoint: weights and metadata, no optimiser."""
    saved = load_training_checkpoint(checkpoint)
    slim = {k: v for k, v in saved.items() if k != "optimizer"}
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.save(slim, destination)
    return destination
