"""Training: seeded (same seed -> identical weights after 200 steps), resumable, checkpoint contents."""

import pytest
import torch
from hydra import compose, initialize_config_module
from PIL import Image

from testbed.datasets import EmbeddedImages
from testbed.train import export, train


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
    assert [s for s, _ in saved["val_psnr"]] == [100, 200]
    assert saved["config"]["model"]["latent_channels"] == 6 and saved["data"]["holdout_images"] == 1
    slim = export(a, tmp_path / "slim.pt")
    assert "optimizer" not in torch.load(slim, weights_only=False)


def test_training_improves_on_the_initial_weights(photo_dir, tmp_path):
    saved = torch.load(train(_cfg(photo_dir, 300), tmp_path), weights_only=False)
    (first, p_first), (last, p_last) = saved["val_psnr"][0], saved["val_psnr"][-1]
    assert last == 300 and p_last > p_first
