"""Weights resolution order, the missing-weights message, and the `testbed weights` listing."""

import pytest
import torch

from testbed.core.weights import MissingWeightsError, WeightsFile, candidates, package_file, resolve, sha256
from testbed.cli.weights import requirements

SPEC = WeightsFile("model-abc123.pth", "a test backbone", torch_hub=True, hf_repo="org/model",
                   url="https://example.invalid/model-abc123.pth")


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Empty project folder, torch hub and Hugging Face caches under tmp_path."""
    dirs = {k: tmp_path / k for k in ("project", "torch", "hf")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("TESTBED_WEIGHTS", str(dirs["project"]))
    monkeypatch.setenv("TORCH_HOME", str(dirs["torch"]))
    monkeypatch.setenv("HF_HUB_CACHE", str(dirs["hf"]))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    return dirs


def _put(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"weights")
    return path


def test_resolution_order_explicit_then_project_then_caches(places, tmp_path):
    hf = _put(places["hf"] / "models--org--model" / "snapshots" / "rev1" / SPEC.filename)
    assert resolve(SPEC) == hf
    hub = _put(places["torch"] / "hub" / "checkpoints" / SPEC.filename)
    assert resolve(SPEC) == hub
    project = _put(places["project"] / SPEC.filename)
    assert resolve(SPEC) == project
    explicit = _put(tmp_path / "mine.pth")
    assert resolve(SPEC, explicit=explicit) == explicit
    with pytest.raises(MissingWeightsError, match="configured path"):
        resolve(SPEC, explicit=tmp_path / "nope.pth")
    assert [p for p, _ in candidates(SPEC)][0] == "$TESTBED_WEIGHTS"


def test_missing_file_names_every_place_and_the_fix_without_downloading(places):
    with pytest.raises(MissingWeightsError) as err:
        resolve(SPEC)  # download not allowed: nothing is fetched
    text = str(err.value)
    assert "model-abc123.pth" in text and str(places["project"]) in text and "torch hub cache" in text
    assert "TESTBED_WEIGHTS" in text and "download=true" in text and "example.invalid" in text


def test_files_inside_wheels_are_found_without_importing_the_package():
    heads = WeightsFile("alex.pth", "LPIPS heads", package=("lpips", "weights/v0.1/alex.pth"))
    path = resolve(heads)
    assert path.name == "alex.pth" and len(sha256(path)) == 64
    assert package_file("lpips", "weights/none.pth") is None
    assert package_file("no_such_package_xyz", "a") is None


def test_listing_reports_found_and_missing_files(places, capsys):
    from testbed.cli import main

    rows = requirements(["deepjscc"])
    assert rows and all(r.path is not None and r.group == "codec" for r in rows)
    assert main(["weights", "deepjscc"]) == 0
    out = capsys.readouterr().out
    assert "deepjscc_awgn_cbr1-16_snr10.pt" in out and "found" in out
    assert main(["weights", "no_such_metric"]) == 2
