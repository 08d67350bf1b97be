"""``testbed sess-calibrate`` end to end on a tiny synthetic set: "human" scores are SeSS under known
non-default parameters, so fitting those parameters must recover the ranking."""

import csv

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from testbed.cli import main
from testbed.core.images import read_image, rgb8_to_tensor, tensor_to_rgb8
from testbed.metrics.sess import load_params
from testbed.metrics.sess.metric import SeSS
from testbed.testing import tiny_image

BACKEND = {"size": 112, "superpixels": 8}  # small graphs: a fast fit
HIDDEN = {"location_weight": 0.9, "global_weight": 0.6}


def _photo(name: str) -> torch.Tensor:
    pixels = tiny_image(max_side=240, name=name).pixels[None]
    return F.interpolate(pixels, size=(80, 120), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


def _variants(image: torch.Tensor, other: torch.Tensor) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(image.shape, generator=g)
    return {"noise05": (image + 0.05 * noise).clamp(0, 1), "noise25": (image + 0.25 * noise).clamp(0, 1),
            "flip": image.flip(-1), "shift": torch.roll(image, 30, dims=-1), "other": other}


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """A folder with images, pairs.csv (human = SeSS under HIDDEN params) and a graph cache."""
    root = tmp_path_factory.mktemp("calibration")
    names = ["coffee", "chelsea", "rocket"]
    photos = {n: _photo(n) for n in names}
    rows = []
    for i, name in enumerate(names):
        Image.fromarray(tensor_to_rgb8(photos[name])).save(root / f"{name}.png")
        for label, image in _variants(photos[name], photos[names[(i + 1) % 3]]).items():
            Image.fromarray(tensor_to_rgb8(image)).save(root / f"{name}_{label}.png")
            rows.append((f"{name}.png", f"{name}_{label}.png"))
    judge = SeSS(backend_options=BACKEND, params=HIDDEN, cache_dir=str(root / "cache"))
    load = lambda path: rgb8_to_tensor(read_image(root / path))  # noqa: E731
    human = judge.score_many([load(b) for _, b in rows], [load(a) for a, _ in rows]).tolist()
    with open(root / "pairs.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image_a", "image_b", "human_score", "note"])
        writer.writerows([(a, b, h, "synthetic") for (a, b), h in zip(rows, human)])
    return root


def test_calibration_recovers_the_hidden_parameters_ranking(annotated, capsys):
    out = annotated / "fitted.yaml"
    code = main(["sess-calibrate", str(annotated / "pairs.csv"), "--fit", "location_weight", "global_weight",
                 "--folds", "3", "--out", str(out), "--seed", "0", "--maxiter", "4", "--popsize", "5",
                 "--cache-dir", str(annotated / "cache"),
                 *[arg for k, v in BACKEND.items() for arg in ("--backend-option", f"{k}={v}")]])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "15 pairs" in text and "mean held-out Spearman" in text and text.count("\n") >= 6
    import yaml

    report = yaml.safe_load(out.read_text())["calibration"]
    assert report["spearman_fitted_all_pairs"] >= 0.95
    assert report["spearman_fitted_all_pairs"] >= report["spearman_default_all_pairs"]
    assert report["mean_heldout_spearman"] >= report["mean_heldout_default_spearman"] - 1e-9
    assert len(report["folds"]) == report["fold_count"] == 3 and report["backend"] == "embedded"
    params = load_params(out)
    assert params.location_weight > 0.4 and params.iterations == 7  # moved towards the hidden 0.9
    metric = SeSS(backend_options=BACKEND, params_file=str(out), cache_dir=str(annotated / "cache"))
    assert metric.params == params and metric.describe()["params_file_sha256"]


def test_the_graphs_come_from_the_disk_cache(annotated, capsys):
    main(["sess-calibrate", str(annotated / "pairs.csv"), "--fit", "global_weight", "--folds", "2",
          "--out", str(annotated / "again.yaml"), "--maxiter", "1", "--popsize", "2",
          "--cache-dir", str(annotated / "cache"),
          *[arg for k, v in BACKEND.items() for arg in ("--backend-option", f"{k}={v}")]])
    assert "15 from the cache, 0 built" in capsys.readouterr().out  # 18 files, 15 distinct images


def test_bad_annotation_files_are_reported(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("image_a,score\nx.png,1\n")
    assert main(["sess-calibrate", str(tmp_path / "bad.csv"), "--fit", "global_weight"]) == 2
    assert "human_score" in capsys.readouterr().err
    (tmp_path / "gone.csv").write_text("image_a,image_b,human_score\nx.png,y.png,1\n")
    assert main(["sess-calibrate", str(tmp_path / "gone.csv"), "--fit", "global_weight",
                 "--cache-dir", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_annotation_paths_outside_the_csv_folder_and_non_images_are_refused(tmp_path):
    from testbed.core.errors import ConfigError
    from testbed.metrics.sess.calibrate import read_annotation_csv

    (tmp_path / "pairs.csv").write_text("image_a,image_b,human_score\n../../etc/passwd,b.png,3\n")
    with pytest.raises(ConfigError, match="line 2: image_a '../../etc/passwd' is not a path inside"):
        read_annotation_csv(tmp_path / "pairs.csv")
    (tmp_path / "pairs.csv").write_text("image_a,image_b,human_score\n/etc/hostname,b.png,3\n")
    with pytest.raises(ConfigError, match="is not a path inside"):
        read_annotation_csv(tmp_path / "pairs.csv")
