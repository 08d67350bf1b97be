"""``metric=sess``: scores on real photographs with the embedded backend, the reference-graph disk
cache (hits, invalidation, unreadable files), parameter files, and a tiny sweep."""

import numpy as np
import pytest
import torch
import yaml

from testbed.core.errors import ConfigError
from testbed.core.images import content_hash, tensor_to_rgb8
from testbed.metrics.sess import SeSSParams, sess_score
from testbed.metrics.sess.graph_cache import GraphCache, is_content_hash
from testbed.metrics.sess.metric import SeSS
from testbed.run.results import read_results
from testbed.run.sweep import run_sweep
from testbed.testing import photo
from testbed.run.transformations import noise as _noisy


def _photo(name: str, size=(128, 192)) -> torch.Tensor:
    return photo(name, size)


def _key(image: torch.Tensor) -> str:
    return content_hash(tensor_to_rgb8(image))


@pytest.fixture(scope="module")
def photos():
    return [_photo("coffee"), _photo("chelsea"), _photo("rocket")]


@pytest.fixture(scope="module")
def metric(tmp_path_factory):
    m = SeSS(cache_dir=str(tmp_path_factory.mktemp("sess-cache")))
    m.check()
    return m


def _counting(metric: SeSS) -> list[int]:
    """Count the images the metric's backend builds graphs for."""
    calls, build = [], metric.backend.graphs
    metric.backend.graphs = lambda images: calls.append(len(images)) or build(images)
    return calls


def test_scores_are_bounded_identity_is_one_and_content_matters(metric, photos):
    coffee, chelsea, rocket = photos
    targets = [coffee, coffee, coffee, coffee, chelsea, rocket]
    preds = [coffee, _noisy(coffee, 0.02), coffee.flip(-1), chelsea, chelsea, coffee]
    scores = metric.score_many(preds, targets, [_key(t) for t in targets])
    assert scores.dtype == torch.float64 and scores.shape == (6,)
    assert bool(((scores >= 0) & (scores <= 1)).all()), scores
    assert scores[0] >= 0.99 and scores[4] >= 0.99
    assert scores[3] < scores[1] and scores[5] < scores[1]  # another photo < a lightly noised copy
    assert scores[2] > scores[3]                             # its mirror image > another photo
    same = metric.score(torch.stack(photos), torch.stack(photos))
    assert torch.all(same >= 0.99)


def test_the_reference_is_the_target_graph(photos, tmp_path):
    metric = SeSS(params={"update": "released"}, cache_dir=str(tmp_path))
    pred, target = _noisy(photos[0], 0.1), photos[0]
    got = metric.score_many([pred], [target], [_key(target)])
    g_pred, g_target = metric.features(torch.stack([pred, target]))
    r = metric.backend.predicate_similarity()
    want = sess_score(g_target, g_pred, r, metric.params)
    assert got.item() == pytest.approx(want, abs=1e-12)
    assert metric.score(pred[None], target[None]).item() == pytest.approx(want, abs=1e-12)


def test_reference_graphs_come_from_disk_on_the_second_run(photos, tmp_path):
    preds = [_noisy(p, 0.05) for p in photos[:2]]
    targets, keys = photos[:2], [_key(p) for p in photos[:2]]
    first = SeSS(cache_dir=str(tmp_path))
    calls = _counting(first)
    a = first.score_many(preds, targets, keys)
    assert sum(calls) == 4 and first.graph_cache.misses == 2
    assert len(list(first.graph_cache.folder.glob("*.json"))) == 3  # two graphs + backend.json
    second = SeSS(cache_dir=str(tmp_path))
    calls = _counting(second)
    b = second.score_many(preds, targets, keys)
    assert sum(calls) == 2 and second.graph_cache.hits == 2  # one graph per received image
    assert torch.allclose(a, b, atol=1e-12, rtol=0)
    changed = SeSS(cache_dir=str(tmp_path), backend_options={"compactness": 2.0})
    calls = _counting(changed)
    changed.score_many(preds, targets, keys)
    assert sum(calls) == 4 and changed.graph_cache.folder != first.graph_cache.folder
    rebuilt_params = SeSS(cache_dir=str(tmp_path), params={"saliency_exponent": 2.0})
    assert rebuilt_params.graph_cache.folder != first.graph_cache.folder
    matching_only = SeSS(cache_dir=str(tmp_path), params={"location_weight": 0.5})
    assert matching_only.graph_cache.folder == first.graph_cache.folder  # matching knobs reuse graphs


def test_unreadable_cache_files_are_rebuilt_and_odd_keys_stay_in_memory(photos, tmp_path):
    metric = SeSS(cache_dir=str(tmp_path))
    key = _key(photos[0])
    metric.score_many([photos[0]], [photos[0]], [key])
    path = metric.graph_cache.path(key)
    path.with_suffix(".npz").write_bytes(b"truncated")
    fresh = SeSS(cache_dir=str(tmp_path))
    assert fresh.score_many([photos[0]], [photos[0]], [key]).item() >= 0.99
    assert fresh.graph_cache.misses == 1 and GraphCache(fresh.backend.describe(), tmp_path).get(key) is not None
    assert not is_content_hash("a") and is_content_hash(key)
    fresh.score_many([photos[1]], [photos[1]], ["a"])
    assert not any(p.name.startswith("a.") for p in fresh.graph_cache.folder.iterdir())
    assert not [p for p in fresh.graph_cache.folder.iterdir() if p.name.startswith(".tmp-")]


def test_params_file_is_loaded_and_overridden(tmp_path):
    path = tmp_path / "calibrated.yaml"
    path.write_text(yaml.safe_dump({"params": {"location_weight": 0.4, "iterations": 3}, "calibration": {}}))
    metric = SeSS(params_file=str(path), params={"iterations": 5}, cache_dir=str(tmp_path))
    assert metric.params == SeSSParams(location_weight=0.4, iterations=5)
    info = metric.describe()
    assert info["params_file"] == str(path) and len(info["params_file_sha256"]) == 64
    assert info["params"]["location_weight"] == 0.4 and info["update_order"] == "synchronous"
    assert info["backend"]["backend"] == "embedded"
    with pytest.raises(ConfigError):
        SeSS(params={"no_such_field": 1.0})
    with pytest.raises(ConfigError):
        SeSS(params_file=str(tmp_path / "missing.yaml"))


def test_sess_in_a_tiny_sweep(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))
    cfg = make_cfg("dataset.limit=1", "dataset.max_side=96", "plots=false", "codec=[jpeg_capacity]",
                   "channel=[awgn]", "snr_db=[5,20]", "cbr=[0.25]", "metric=[psnr,sess]")
    rows = read_results(run_sweep(cfg, tmp_path / "run"))
    low, high = sorted(rows, key=lambda r: r["snr_db"])
    assert 0 <= low["sess"] <= high["sess"] <= 1 and np.isfinite(low["sess"])
    assert "vit_s_focus.onnx" in high["provenance"] and "embedded" in high["provenance"]
    assert list((tmp_path / "cache" / "sess").glob("*/*.json"))  # the reference graph went to disk
