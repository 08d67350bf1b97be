"""Every plugin honours the device it is bound to: networks, Sionna blocks and checkpoints move there.

The check binds each plugin (every option of every config group) to PyTorch's ``meta`` device,
which any module can move to, runs its ``check()`` (which loads weights, onto that device), and
walks the plugin's attributes: every parameter and buffer of every ``nn.Module`` found must be on
``meta`` and every Sionna block must have been built for ``meta`` (Sionna's device list is
widened to accept it here), except the parts the plugin's ``devices()`` declares to run on the CPU
(onnxruntime graphs). A plugin that ignores its device keeps CPU tensors and fails this test.
On a machine with a GPU, `testbed device=cuda` runs the same plugins for real.
"""

import pytest
import torch
from torch import nn

from testbed.config.catalogue import available, instantiate
from testbed.core.plugin import Plugin
from testbed.core.weights import WEIGHTS_ENV, MissingWeightsError
from testbed import testing

from ..conftest import TINY

META = torch.device("meta")


@pytest.fixture
def sionna_meta(monkeypatch):
    """Let Sionna blocks be built for the meta device (its device list names the real ones only)."""
    from sionna.phy import config

    real = type(config).available_devices.fget
    monkeypatch.setattr(type(config), "available_devices", property(lambda self: [*real(self), "meta"]))


def misplaced(obj, depth: int = 6, seen: set | None = None, path: str = "") -> list[str]:
    """Attribute paths of tensors, modules and Sionna blocks of ``obj`` that are not on meta."""
    from sionna.phy.object import Object as SionnaObject

    seen = set() if seen is None else seen
    if id(obj) in seen or depth < 0:
        return []
    seen.add(id(obj))
    found = []
    if isinstance(obj, SionnaObject) and getattr(obj, "_device_str", "meta") != "meta":
        found.append(f"{path} (Sionna block on {obj._device_str})")
    if isinstance(obj, nn.Module):
        found += [f"{path}.{n} on {t.device}" for n, t in [*obj.named_parameters(), *obj.named_buffers()]
                  if t.device != META]
        return found
    if isinstance(obj, torch.Tensor):
        return [f"{path} on {obj.device}"] if obj.device != META and obj.numel() > 1 else []
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif isinstance(obj, Plugin) or (hasattr(obj, "__dict__") and type(obj).__module__.startswith("testbed")):
        items = vars(obj).items()
    else:
        return found
    for key, value in items:
        found += misplaced(value, depth - 1, seen, f"{path}.{key}")
    return found


def _bound(make_cfg, group, name, tmp_path, monkeypatch):
    extra = [f"dataset.path={tmp_path}"] if group == "dataset" and name != "embedded" else []
    cfg = make_cfg(*TINY, f"{group}={name}", *extra)
    node = cfg[group][name] if group in ("codec", "channel", "metric") else cfg[group]
    plugin = instantiate(node)
    if testing.stand_in_weights(plugin, tmp_path / "weights"):
        monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "weights"))
    if group == "codec" and type(plugin).__name__ == "SwinJSCC":
        _stand_in_released_file(plugin, tmp_path / "released", monkeypatch)
    plugin.bind(name, META)
    try:
        plugin.check()
    except MissingWeightsError:
        pass  # weights no package ships (SAM, RAM, OpenCLIP ViT-H): nothing is loaded, nothing to move
    return plugin


def _stand_in_released_file(codec, folder, monkeypatch) -> None:
    """A seeded random network saved under the name of the codec's smallest released file (none
    is reachable offline), so its check() loads a real network that must follow the device."""
    order = ("cifar", "small", "base", "large")
    model = min(codec.models, key=lambda m: order.index(m.size))
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(codec._build(model).state_dict(), folder / model.name)
    monkeypatch.setenv(WEIGHTS_ENV, str(folder))


#: Sionna's ResourceGrid reads its sizes with ``.item()``, which meta tensors cannot answer, and its
#: blocks must share its device: the OFDM channel is checked on a real GPU (``device=cuda``) only.
_NOT_ON_META = {("channel", "ofdm")}


@pytest.mark.parametrize("group,name", [
    pytest.param(g, n, marks=pytest.mark.skip(reason="Sionna's ResourceGrid cannot be built on meta")
                 if (g, n) in _NOT_ON_META else ()) for g in ("codec", "channel", "metric", "dataset")
    for n in available(g)])
def test_every_plugin_places_its_parts_on_the_device_it_is_bound_to(make_cfg, group, name, tmp_path,
                                                                     monkeypatch, sionna_meta):
    plugin = _bound(make_cfg, group, name, tmp_path, monkeypatch)
    assert plugin.device == META and plugin.name == name
    if type(plugin).__name__ == "SwinJSCC":  # the stand-in file was loaded, so there is a network to check
        assert any(m.net is not None for m in plugin.models)
    cpu_parts = {k for k, where in plugin.devices().items() if where.startswith("cpu")}
    wrong = [p for p in misplaced(plugin) if not any(part in p for part in cpu_parts)]
    assert not wrong, f"{group} {name} left parts off its device: {wrong[:5]}"


def test_the_check_fails_for_a_plugin_that_ignores_its_device(sionna_meta):
    """The walk sees a module left on the CPU (so the test above can fail)."""
    from testbed.channels.awgn import AWGNChannel

    class Careless(AWGNChannel):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(2, 2)

    careless = Careless().bind("careless", META)
    assert any("net.weight on cpu" in p for p in misplaced(careless))


def test_the_sess_reference_backend_moves_its_three_networks(sionna_meta):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "metrics" / "sess"))
    from reference_models import TINY_SAM_SETTINGS, tiny_models

    from testbed.metrics.sess.metric import SeSS

    metric = SeSS(backend="reference", backend_options={"models": tiny_models(0), "sam_settings": TINY_SAM_SETTINGS})
    metric.bind("sess_reference", META)
    metric.backend.load()  # builds and places the networks (metric.check() would also run CLIP's text tower)
    assert metric.backend.device == META
    parts = misplaced(metric)
    assert not parts, parts[:5]
    assert all(p.device == META for key in ("sam", "ram") for p in getattr(metric.backend, key).parameters())
