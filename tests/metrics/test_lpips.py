"""LPIPS against the ``lpips`` package on identical weights (tolerance 1e-5).

The real torchvision checkpoints are not on test machines: both sides get the same seeded random
backbone (written under torchvision's file name into a temporary ``$TESTBED_WEIGHTS`` for ours,
loaded into the package's backbone slices for theirs) and the published v0.1 heads.
"""

import warnings

import pytest
import torch

from testbed.metrics.lpips import BACKBONES, LPIPS, load_state
from testbed.testing import stand_in_torchvision_checkpoint
from testbed.core.weights import WEIGHTS_ENV, MissingWeightsError

TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    """A folder with seeded random AlexNet and VGG-16 checkpoints under torchvision's names."""
    folder = tmp_path_factory.mktemp("weights")
    for seed, (_, filename, _, _) in enumerate(BACKBONES.values()):
        stand_in_torchvision_checkpoint(folder / filename, seed=seed)
    return folder


@pytest.fixture
def weights_env(weights_dir, monkeypatch):
    monkeypatch.setenv(WEIGHTS_ENV, str(weights_dir))
    return weights_dir


def _reference(net, weights_dir):
    """The package's LPIPS (random trunk, shipped v0.1 heads, nothing downloaded) with our backbone."""
    import lpips

    with warnings.catch_warnings():  # its torchvision call uses the deprecated `pretrained` flag
        warnings.simplefilter("ignore")
        ref = lpips.LPIPS(net=net, pretrained=True, pnet_rand=True, verbose=False)
    state = load_state(weights_dir / BACKBONES[net][1])
    # package layout: slice{k}.{i}.weight holds torchvision's features.{i}.weight
    ref.net.load_state_dict({key: state["features." + key.split(".", 1)[1]] for key in ref.net.state_dict()})
    return ref.eval()


def _pairs(seed, shape):
    """Image-like targets and noisy predictions, both on the 8-bit grid (quantisation is exact)."""
    g = torch.Generator().manual_seed(seed)
    target = torch.nn.functional.avg_pool2d(torch.rand(shape, generator=g), 5, stride=1, padding=2)
    preds = (target + 0.05 * torch.randn(shape, generator=g)).clamp(0, 1)
    return preds.mul(255).round().div(255), target.mul(255).round().div(255)


@pytest.mark.parametrize("net, shape", [("alex", (2, 3, 64, 96)), ("alex", (1, 3, 61, 77)),
                                        ("alex", (2, 3, 128, 128)), ("vgg", (2, 3, 32, 48)),
                                        ("vgg", (1, 3, 29, 35))])
def test_matches_the_lpips_package(weights_env, net, shape):
    metric, ref = LPIPS(net=net), _reference(net, weights_env)
    preds, target = _pairs(sum(shape), shape)
    ours = metric.score(preds, target)
    with torch.no_grad():
        theirs = ref(preds, target, normalize=True).flatten().double()
    assert ours.dtype == torch.float64 and ours.shape == (shape[0],)
    assert torch.all(theirs > 0)
    assert torch.allclose(ours, theirs, rtol=0, atol=TOLERANCE), (ours, theirs)


def test_missing_backbone_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    (tmp_path / "weights").mkdir()
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    metric = LPIPS()  # the constructor needs no files
    with pytest.raises(MissingWeightsError) as err:
        metric.check()
    assert "alexnet-owt-7be5be79.pth" in str(err.value) and WEIGHTS_ENV in str(err.value)
    with pytest.raises(MissingWeightsError):
        metric.score(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))


def test_identical_is_zero_batching_and_provenance(weights_env):
    metric = LPIPS()
    preds, target = _pairs(5, (3, 3, 64, 80))
    assert torch.all(metric.score(target, target) == 0)
    single = metric.score(preds, target)
    small_p, small_t = _pairs(6, (1, 3, 48, 48))
    many = metric.score_many([preds[0], small_p[0], preds[1], preds[2]], [target[0], small_t[0], target[1], target[2]],
                             ["a", "s", "b", "c"])
    assert torch.allclose(many[[0, 2, 3]], single, atol=1e-6)
    assert torch.allclose(many[1:2], metric.score(small_p, small_t), atol=1e-6)
    info = metric.describe()
    assert info["net"] == "alex" and info["backbone_weights"].startswith(str(weights_env))
    assert info["head_weights"].endswith("alex.pth") and len(info["backbone_sha256"]) == 64
    assert not metric.higher_is_better
    specs = [spec.filename for spec, _ in metric.required_weights()]
    assert specs == ["alexnet-owt-7be5be79.pth", "lpips_v0.1_alex.pth"]
