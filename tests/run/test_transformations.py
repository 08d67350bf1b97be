"""Transformations of clean images: sizes, determinism, what each does; the `testbed transforms` command."""

import csv

import pytest
import torch

from testbed.core.errors import ConfigError
from testbed.metrics.psnr import psnr
from testbed.testing import tiny_image
from testbed.run.transformations import TRANSFORMS, apply


@pytest.fixture(scope="module")
def image():
    return tiny_image(96, "astronaut").pixels


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transformation_keeps_size_range_and_is_deterministic(image, name):
    out = apply(name, image)
    assert out.shape == image.shape and out.dtype == torch.float32
    assert 0 <= float(out.min()) and float(out.max()) <= 1
    assert torch.equal(out, apply(name, image))


def test_transformations_do_what_they_say(image):
    assert torch.equal(apply("identity", image), image)
    assert torch.equal(apply("hflip", image).flip(-1), image)
    assert torch.allclose(apply("brightness20", image), (image * 1.2).clamp(0, 1))
    occluded = apply("occlude25", image)
    changed = (occluded != image).any(dim=0).float().mean()
    assert 0.15 < float(changed) <= 0.26 and bool((occluded == 0.5).all(dim=0).any())
    shuffled = apply("shuffle4", image)
    assert sorted(shuffled.flatten().tolist()) == sorted(image.flatten().tolist())  # a permutation
    flat = torch.full((3, 60, 90), 0.7)
    assert float(apply("rotate5", flat).min()) > 0.69  # no black wedges at the corners
    for name in ("hflip", "rotate5", "crop10", "occlude25", "shuffle4", "noise0.1"):
        assert psnr(apply(name, image)[None], image[None]).item() < 40
    with pytest.raises(ConfigError, match="unknown transformation 'mirror'.*hflip"):
        apply("mirror", image)


def test_command_writes_rows_table_and_figure(tmp_path):
    from testbed.cli import main

    out = tmp_path / "t"
    assert main(["transforms", "--limit", "2", "--max-side", "64", "--metric", "psnr", "ms_ssim",
                 "--transform", "identity", "hflip", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "transforms.csv")))
    assert len(rows) == 4 and {r["transform"] for r in rows} == {"identity", "hflip"}
    assert all(float(r["psnr"]) == 100.0 for r in rows if r["transform"] == "identity")
    assert "| hflip | kept |" in (out / "transforms_table.md").read_text()
    assert (out / "transforms.png").stat().st_size > 0 and (out / "provenance.json").is_file()
    assert main(["transforms", "--metric", "no_such", "--out", str(out)]) == 2


def test_transformations_preset_runs_as_a_hydra_experiment(tmp_path):
    from ..conftest import run_cli

    done = run_cli("experiment=transformations", "dataset=embedded", "dataset.limit=2", "dataset.max_side=64",
                   "metric=[psnr,ms_ssim]", "transformations=[identity,hflip,occlude25]",
                   f"paths.output_dir={tmp_path}")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(open(tmp_path / "transformations" / "transforms.csv")))
    assert [r["transform"] for r in rows].count("occlude25") == 2 and (tmp_path / "transformations" / "transforms.png").is_file()
    bad = run_cli("experiment=transformations", "dataset=embedded", "transformations=[mirror]",
                  f"paths.output_dir={tmp_path}")
    assert bad.returncode == 2 and "unknown transformation 'mirror'" in bad.stderr


def test_command_binds_every_metric_to_the_device_it_is_given(tmp_path, monkeypatch):
    """`--device` reaches each metric through `Plugin.bind` (named after its option), and a device
    that is not there is refused before any work."""
    from testbed.cli import main
    from testbed.core.plugin import Plugin

    bound = []
    real = Plugin.bind
    monkeypatch.setattr(Plugin, "bind", lambda self, name, device="cpu": bound.append((name, str(device)))
                        or real(self, name, device))
    assert main(["transforms", "--limit", "1", "--max-side", "64", "--metric", "psnr", "st_lpips",
                 "--transform", "hflip", "--device", "cpu", "--out", str(tmp_path / "t")]) == 0
    assert bound == [("psnr", "cpu"), ("st_lpips", "cpu")]
    if not torch.cuda.is_available():
        assert main(["transforms", "--metric", "psnr", "--device", "cuda", "--out", str(tmp_path / "u")]) == 2
        assert not (tmp_path / "u" / "transforms.csv").exists()
