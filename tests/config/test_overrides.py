"""Part choices by the key they fill (``codec.jpeg_ldpc.fec.decoder=sionna``) become Hydra group
overrides, are validated with "did you mean", and reach the built objects; shared parts compose."""

import pytest

from testbed.config.catalogue import available, instantiate, option_node
from testbed.config.groups import GROUPS, PART_GROUPS
from testbed.config.overrides import translate
from testbed.core.errors import ConfigError

from ..conftest import TINY


def test_part_choices_translate_to_group_overrides_and_other_arguments_stay():
    assert translate(["codec.jpeg_ldpc.fec.decoder=sionna", "metric.sess.backend=reference",
                      "metric.vitscore.backbone=vit_b_16", "codec.bpg_ldpc.source=jpeg"]) == [
        "ldpc_decoder@codec.jpeg_ldpc.fec.decoder=sionna", "sess_backend@metric.sess.backend=reference",
        "vit_backbone@metric.vitscore.backbone=vit_b_16", "source@codec.bpg_ldpc.source=jpeg"]
    kept = ["codec.jpeg_ldpc.fec.iterations=50", "metric.sess.backend.size=448", "snr_db=[1,4]", "seed=3"]
    assert translate(kept) == kept


def test_a_misspelt_part_or_plugin_is_answered_with_the_closest_options():
    with pytest.raises(ConfigError, match="unknown ldpc_decoder 'sionn': did you mean sionna"):
        translate(["codec.jpeg_ldpc.fec.decoder=sionn"])
    with pytest.raises(ConfigError, match="did you mean jpeg_ldpc"):
        translate(["codec=[jpeg_ldp]"])


def test_the_chosen_part_is_built_with_its_own_settings(make_cfg):
    cfg = make_cfg(*TINY, "codec=jpeg_ldpc", *translate(["codec.jpeg_ldpc.fec.decoder=sionna"]))
    codec = instantiate(cfg.codec.jpeg_ldpc)
    assert codec.fec.decoder == "sionna" and codec.fec.schedule == "flooding" and codec.fec.early_stop is False
    cfg = make_cfg(*TINY, "codec=jpeg_ldpc", "codec.jpeg_ldpc.fec.decoder.schedule=flooding")
    assert instantiate(cfg.codec.jpeg_ldpc).fec.schedule == "flooding"
    with pytest.raises(ConfigError, match="schedule"):  # a setting the sionna decoder lacks is refused
        instantiate(make_cfg(*TINY, "codec=jpeg_ldpc", *translate(["codec.jpeg_ldpc.fec.decoder=sionna"]),
                             "+codec.jpeg_ldpc.fec.decoder.schedule=layered").codec.jpeg_ldpc)


def test_shared_parts_are_composed_once_and_every_part_group_is_listed():
    table, fixed = option_node("codec", "bpg_ldpc_table"), option_node("codec", "bpg_ldpc")
    assert {k: v for k, v in table.items() if k != "mcs"} == {k: v for k, v in fixed.items() if k != "mcs"}
    assert (table.mcs, fixed.mcs) == ("nr-table1", "16qam-1/2")
    assert option_node("metric", "sess_448").backend.size == 448
    assert set(PART_GROUPS) <= set(GROUPS)
    for group in PART_GROUPS:
        assert available(group), group
    assert available("ldpc_decoder") == ["fast", "sionna"]
