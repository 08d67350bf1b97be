"""Every option of every config group composes, instantiates and keeps the plugin contract."""

import numpy as np
import pytest
from PIL import Image

from testbed.channels.awgn import AWGNChannel
from testbed.config.catalogue import available, instantiate
from testbed import testing
from testbed.testing import check_channel, check_codec, check_metric
from testbed.core.weights import WEIGHTS_ENV, MissingWeightsError, resolve

from .conftest import TINY


def _node(make_cfg, group, name):
    cfg = make_cfg(*TINY, f"{group}={name}")
    return cfg[group][name] if group in ("codec", "channel", "metric") else cfg[group]


@pytest.mark.parametrize("name", available("codec"))
def test_codec_contract(make_cfg, name):
    codec = instantiate(_node(make_cfg, "codec", name))
    codec.bind(name)
    missing = [f.filename for f in codec.required_files() if f.path is None]
    if missing:  # released weights no package ships (SwinJSCC, WITT): refused, naming the file
        with pytest.raises(MissingWeightsError) as err:
            check_codec(codec, AWGNChannel())
        assert any(f in str(err.value) for f in missing) and WEIGHTS_ENV in str(err.value)
        return
    check_codec(codec, AWGNChannel())


@pytest.mark.parametrize("name", available("channel"))
def test_channel_contract(make_cfg, name):
    channel = instantiate(_node(make_cfg, "channel", name))
    channel.bind(name)
    check_channel(channel)


@pytest.fixture
def stand_in_weights(tmp_path, monkeypatch):
    """Seeded random stand-ins for the torchvision checkpoints a metric needs and this offline
    machine lacks (testbed.testing.stand_in_weights), in a temporary $TESTBED_WEIGHTS."""

    def provide(metric) -> list[str]:
        missing = testing.stand_in_weights(metric, tmp_path / "weights")
        if missing:
            monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / "weights"))
        return missing

    return provide


@pytest.mark.parametrize("name", available("metric"))
def test_metric_contract(make_cfg, name, stand_in_weights):
    metric = instantiate(_node(make_cfg, "metric", name))
    stand_in_weights(metric)
    missing = [spec.filename for spec, explicit in metric.required_weights() if _missing(spec, explicit)] \
        if hasattr(metric, "required_weights") else []
    if missing:  # weights no package ships and none can stand in for (SAM, RAM, OpenCLIP ViT-H)
        with pytest.raises(MissingWeightsError) as err:
            metric.check()  # the contract then: refused before any work, naming every file
        assert all(f in str(err.value) for f in missing) and WEIGHTS_ENV in str(err.value)
        return
    check_metric(metric)


def _missing(spec, explicit) -> bool:
    try:
        resolve(spec, explicit)
    except MissingWeightsError:
        return True
    return False


@pytest.mark.parametrize("name", available("dataset"))
def test_dataset_contract(make_cfg, name, tmp_path):
    node = _node(make_cfg, "dataset", name)
    if "path" in node:  # folder datasets: point them at a folder made here
        Image.fromarray(np.full((20, 30, 3), 7, np.uint8)).save(tmp_path / "one.png")
        node.path = str(tmp_path)
    records = instantiate(node).load()
    assert records and all(r.pixels.dim() == 3 and r.pixels.shape[0] == 3 for r in records)


@pytest.mark.parametrize("name", available("experiment"))
def test_experiment_presets_compose(make_cfg, name):
    cfg = make_cfg(f"experiment={name}")
    assert cfg.name == name and cfg.codec and cfg.channel and cfg.metric
