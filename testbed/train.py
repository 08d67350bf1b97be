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

from testbed.codecs.learned_jscc import equalize, power_normalize, symbols_to_latent
from testbed.crops import CropSampler
from testbed.device import resolve_device, use_device
from testbed.errors import TestbedError
from testbed.metrics.ms_ssim import ms_ssim
from testbed.metrics.psnr import psnr
from testbed.plugins import instantiate
from testbed.seeding import make_generator

log = logging.getLogger("testbed.train")


def forward(model, channel, images: torch.Tensor, snr_db: torch.Tensor, generator, receiver="mmse"):
    """Encoder -> per-image power norm -> channel (per-image SNR) -> decoder: ``[N, 3, H, W]``."""
    latent = model.encode(images, snr_db)
    symbols = power_normalize(latent)
    received = []
    for i in range(symbols.shape[0]):
        out = channel(symbols[i], float(snr_db[i]), generator)
        received.append(equalize(out.y, out.h, out.no, receiver))
    return model.decode(symbols_to_latent(torch.stack(received), latent.shape), snr_db)


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
    """``mse`` (PSNR-oriented) or ``ms_ssim`` (1 - MS-SSIM, unquantised) of ``[N, 3, H, W]`` batches."""
    if kind == "mse":
        return F.mse_loss(output, images)
    if kind == "ms_ssim":
        return 1.0 - ms_ssim(output, images, differentiable=True).mean().float()
    raise TestbedError(f"train.loss must be one of {LOSSES}, got {kind!r}")


def _initial_weights(model, path: str | None) -> dict | None:
    """Load the weights of another checkpoint (a warm start, e.g. Rayleigh from AWGN)."""
    if not path:
        return None
    if not Path(path).is_file():
        raise TestbedError(f"train.init_from: no checkpoint at {path}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(saved["model"])
    return {"path": str(path), "step": saved.get("step"), "wall_time_s": saved.get("wall_time_s"),
            "config_name": (saved.get("config") or {}).get("name")}


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
    model = instantiate(tc.model)
    channel = instantiate(tc.channel)
    sampler = CropSampler(tc.data.path, crop=int(tc.data.crop), holdout=int(tc.data.holdout))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(tc.lr))
    path = out_dir / "checkpoint.pt"
    state = {"step": 0, "wall_time_s": 0.0, "val_psnr": [], "init_from": None}
    if not path.is_file():
        state["init_from"] = _initial_weights(model, tc.get("init_from"))
    else:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = {k: saved.get(k, state[k]) for k in state}
        log.info("resuming %s at step %d", path, state["step"])
    model.to(device)
    _optimizer_to(optimizer, device)
    val_images = sampler.validation(int(tc.data.val_crops)).to(device)
    started, step0 = time.perf_counter(), state["step"]
    bar = tqdm(total=int(tc.steps), initial=step0, unit="step", desc="train", mininterval=2.0)
    while state["step"] < int(tc.steps):
        step = state["step"]
        gen = make_generator(tc.seed, "train", step)  # crops, SNRs, rate (CPU)
        noise = gen if device.type == "cpu" else make_generator(tc.seed, "train", step, device=device)
        images = sampler.batch(int(tc.batch_size), gen).to(device)
        snr = torch.empty(images.shape[0]).uniform_(float(tc.snr_db.min), float(tc.snr_db.max), generator=gen)
        if tc.get("rates"):  # rate-adaptive: a latent prefix length drawn per batch
            model.use_rate(int(tc.rates[int(torch.randint(0, len(tc.rates), (1,), generator=gen))]))
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, int(tc.steps), float(tc.lr), tc.get("lr_final"), int(tc.get("warmup", 0)))
        model.train()
        loss = training_loss(forward(model, channel, images, snr, noise), images, tc.get("loss", "mse"))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        state["step"] += 1
        bar.update(1)
        bar.set_postfix_str(f"{tc.get('loss', 'mse')}={loss.item():.5f}", refresh=False)
        last = state["step"] == int(tc.steps)
        if state["step"] % int(tc.val_every) == 0 or last:
            value = validate(model, channel, val_images, float(tc.snr_db.val), tc.seed, tc.get("val_rate"))
            state["wall_time_s"] += time.perf_counter() - started
            started = time.perf_counter()
            state["val_psnr"].append((state["step"], value, state["wall_time_s"]))  # step, dB, s
            log.info("step %d: validation PSNR %.2f dB at %g dB", state["step"], value, tc.snr_db.val)
            _save(path, model, optimizer, state, cfg, sampler)
    bar.close()
    return path


@torch.no_grad()
def validate(model, channel, images: torch.Tensor, snr_db: float, seed, val_rate: int | None = None) -> float:
    """Mean PSNR (dB) of the held-out crops at ``snr_db`` (fixed noise)."""
    model.eval()
    if hasattr(model, "use_rate") and val_rate:
        model.use_rate(int(val_rate))
    snr = torch.full((images.shape[0],), snr_db)
    out = forward(model, channel, images, snr, make_generator(seed, "validation", device=images.device))
    return float(psnr(out.clamp(0, 1), images).mean())


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
    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    slim = {k: v for k, v in saved.items() if k != "optimizer"}
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    torch.save(slim, destination)
    return destination
