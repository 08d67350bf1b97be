"""Training: seeded (same seed -> identical weights after 200 steps), resumable, checkpoint contents."""

import pytest
import torch
from hydra import compose, initialize_config_module
from PIL import Image

from testbed.datasets.embedded import EmbeddedImages
from testbed.core import errors
from testbed.config.catalogue import instantiate
from testbed.train.trainer import _initial_weights, export, learning_rate, train


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    for r in EmbeddedImages(max_side=96).load():
        Image.fromarray(r.as_uint8()).save(folder / f"{r.image_id.split(':')[1]}.png")
    return folder


def _cfg(photo_dir, steps):
    with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
        return compose(config_name="train", overrides=[
            f"train.data.path={photo_dir}", "train.data.crop=32", "train.data.holdout=1", "train.data.val_crops=2",
            "train.model.width=8", "train.batch_size=2", f"train.steps={steps}", "train.val_every=100",
            "train.snr_db.min=0", "train.snr_db.max=15"])


def _weights(path):
    return torch.load(path, weights_only=False)["model"]


def test_same_seed_same_weights_and_resume_is_seamless(photo_dir, tmp_path):
    a = train(_cfg(photo_dir, 200), tmp_path / "a")
    b = train(_cfg(photo_dir, 200), tmp_path / "b")
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    train(_cfg(photo_dir, 100), tmp_path / "c")          # stopped at step 100 ...
    c = train(_cfg(photo_dir, 200), tmp_path / "c")      # ... and resumed to 200
    wc = _weights(c)
    assert all(torch.allclose(wa[k], wc[k], atol=1e-6) for k in wa)
    saved = torch.load(a, weights_only=False)
    assert saved["step"] == 200 and saved["wall_time_s"] > 0
    assert [s for s, _, _ in saved["val_psnr"]] == [100, 200] and saved["val_psnr"][-1][2] > 0
    assert saved["config"]["model"]["latent_channels"] == 6 and saved["data"]["holdout_images"] == 1
    slim = export(a, tmp_path / "slim.pt")
    assert "optimizer" not in torch.load(slim, weights_only=False)


def test_training_improves_on_the_initial_weights(photo_dir, tmp_path):
    saved = torch.load(train(_cfg(photo_dir, 300), tmp_path), weights_only=False)
    (_, p_first, _), (last, p_last, _) = saved["val_psnr"][0], saved["val_psnr"][-1]
    assert last == 300 and p_last > p_first


def test_learning_rate_schedule_warms_up_then_decays_by_cosine():
    assert learning_rate(0, 1000, 1e-3, 1e-5, warmup=100) == pytest.approx(1e-5)
    assert learning_rate(99, 1000, 1e-3, 1e-5, warmup=100) == pytest.approx(1e-3)
    assert learning_rate(100, 1000, 1e-3, 1e-5, warmup=100) == pytest.approx(1e-3)
    assert learning_rate(550, 1000, 1e-3, 1e-5, warmup=100) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(1000, 1000, 1e-3, 1e-5, warmup=100) == pytest.approx(1e-5)
    assert learning_rate(500, 1000, 3e-4, None) == 3e-4


def test_warm_start_loads_weights_and_records_where_from(photo_dir, tmp_path):
    base = train(_cfg(photo_dir, 100), tmp_path / "base")
    cfg = _cfg(photo_dir, 100)
    cfg.train.init_from = str(base)
    saved = torch.load(train(cfg, tmp_path / "warm"), weights_only=False)
    assert saved["init_from"]["step"] == 100 and saved["init_from"]["path"] == str(base)
    assert saved["val_psnr"][0][1] > torch.load(base, weights_only=False)["val_psnr"][0][1] - 1.0
    model = instantiate(cfg.train.model)
    assert _initial_weights(model, str(base))["step"] == 100
    assert all(torch.equal(v, _weights(base)[k]) for k, v in model.state_dict().items())
    with pytest.raises(errors.TestbedError, match="init_from"):
        _initial_weights(model, str(tmp_path / "missing.pt"))


def test_a_chain_of_warm_starts_counts_the_time_of_every_run_before(photo_dir, tmp_path):
    """base -> warm -> warmer: the last run starts its curve where base and warm together ended."""
    from testbed.report.train_curve import history

    runs = [train(_cfg(photo_dir, 100), tmp_path / "base")]
    for name in ("warm", "warmer"):
        cfg = _cfg(photo_dir, 100)
        cfg.train.init_from = str(runs[-1])
        runs.append(train(cfg, tmp_path / name))
    base, warm, warmer = (torch.load(p, weights_only=False) for p in runs)
    spent = base["wall_time_s"] + warm["wall_time_s"]
    assert warmer["init_from"]["lineage_wall_time_s"] == pytest.approx(spent)
    assert warmer["init_from"]["wall_time_s"] == pytest.approx(warm["wall_time_s"])  # the parent's own run
    start_hours = history(runs[-1])[1][0][2] - warmer["val_psnr"][0][2] / 3600
    assert start_hours == pytest.approx(spent / 3600)
    del warmer["init_from"]["lineage_wall_time_s"]  # a checkpoint written before the field: the parent's run only
    torch.save(warmer, tmp_path / "old.pt")
    assert history(tmp_path / "old.pt")[1][0][2] == pytest.approx((warm["wall_time_s"] + warmer["val_psnr"][0][2]) / 3600)


def test_ms_ssim_loss_trains_and_a_bad_loss_name_is_refused(photo_dir, tmp_path):
    cfg = _cfg(photo_dir, 20)
    cfg.train.loss = "ms_ssim"
    saved = torch.load(train(cfg, tmp_path / "m"), weights_only=False)
    assert all(torch.isfinite(v).all() for v in saved["model"].values())
    cfg.train.loss = "l1"
    with pytest.raises(errors.TestbedError, match="train.loss"):
        train(cfg, tmp_path / "bad")


def test_training_curve_is_drawn_from_checkpoints(photo_dir, tmp_path):
    from testbed.report.train_curve import history, plot_curves

    path = train(_cfg(photo_dir, 200), tmp_path / "t")
    name, points = history(path)
    assert name == "deepjscc_awgn_cbr1-16_snr10" and [p[0] for p in points] == [100, 200]
    assert 0 < points[0][2] < points[1][2]
    written = plot_curves([path], tmp_path / "curve")
    assert all(p.stat().st_size > 0 for p in written)
    assert (tmp_path / "curve" / "train_curve.csv").read_text().count("\n") == 3


def test_the_training_forward_is_the_codecs_transmit_with_receiver_and_tile(photo_dir, tmp_path):
    """Two training steps over Rayleigh with raw receiver input and 16 px tiles; the trained weights
    then give, through the trainer's forward, exactly what the sweep's transmit gives on one seed."""
    from testbed.codecs.learned_jscc import LearnedJSCC
    from testbed.core.seeding import make_generator
    from testbed.run.link import forward
    from testbed.testing import tiny_image
    from testbed.train.trainer import build_codec

    cfg = _cfg(photo_dir, 2)
    cfg.train.channel = {"_target_": "testbed.channels.rayleigh.RayleighChannel", "coherence": 1, "csi": "perfect"}
    cfg.train.codec.receiver, cfg.train.codec.tile = "raw", 16
    path = train(cfg, tmp_path / "two")
    record, channel = tiny_image(32), instantiate(cfg.train.channel)
    swept = LearnedJSCC(checkpoints=[str(path)], receiver="raw", tile=16)
    swept.check()
    (rec,) = swept.transmit([record], channel, 7.0, 1 / 16, lambda r, *salt: make_generator("same", r.image_id))[0]
    assert rec.extra["tiles"] == 4
    trainer = build_codec(cfg.train)
    trainer.network.load_state_dict(_weights(path))
    trainer.network.eval()
    snr = torch.full((1,), 7.0)
    with torch.no_grad():
        out = forward(trainer, channel, record.pixels[None], snr, make_generator("same", record.image_id))
    assert torch.equal(out[0].clamp(0, 1), rec.image)
    # the options matter (so the equality above can fail): another receiver or no tiling differ
    for receiver, tile in (("mmse", 16), ("raw", None)):
        other = LearnedJSCC(model=trainer.network, receiver=receiver, tile=tile)
        with torch.no_grad():
            changed = forward(other, channel, record.pixels[None], snr, make_generator("same", record.image_id))
        assert not torch.allclose(changed, out, atol=1e-4)
    with pytest.raises(errors.ConfigError, match="receiver raw"):  # and the checkpoint records its receiver
        LearnedJSCC(checkpoints=[str(path)]).check_point(channel, 1 / 16)


def test_a_warm_start_to_another_cbr_keeps_every_weight_whose_shape_matches(photo_dir, tmp_path):
    base = train(_cfg(photo_dir, 20), tmp_path / "c6")
    cfg = _cfg(photo_dir, 20)
    cfg.train.model.latent_channels = 12  # CBR 1/8: the latent layers are wider
    model = instantiate(cfg.train.model)
    record = _initial_weights(model, str(base))
    stored = _weights(base)
    kept = [k for k, v in model.state_dict().items() if k in stored and stored[k].shape == v.shape]
    assert kept and all(torch.equal(model.state_dict()[k], stored[k]) for k in kept)
    assert record["initialised"] and all(k not in kept for k in record["initialised"])
    with pytest.raises(errors.TestbedError, match="shares no weights"):
        _initial_weights(torch.nn.Linear(3, 3), str(base))
