"""Which points a sweep runs: unsupported (codec, channel, CBR) points skipped or refused, shards."""

import json

import pytest

from testbed.core.errors import ConfigError
from testbed.run.results import read_results
from testbed.run.sweep import build, run_sweep
from testbed.run.sweep_points import sweep_points

from ..conftest import TINY

#: DeepJSCC restricted to its AWGN model: its Rayleigh points cannot be served.
MIXED = ("codec=[uncoded,deepjscc]", "channel=[awgn,rayleigh]", "snr_db=[4]", "cbr=[1/16]",
         "codec.deepjscc.checkpoints=[deepjscc_awgn_cbr1-16_snr10.pt]")


def test_unsupported_points_stop_the_run_by_default(make_cfg, tmp_path):
    with pytest.raises(ConfigError, match="deepjscc.*no checkpoint trained for channel"):
        run_sweep(make_cfg(*TINY, *MIXED), tmp_path)
    assert not (tmp_path / "results.csv").exists()  # refused before any work


@pytest.mark.parametrize("channel", [("channel=rayleigh_block",), ("channel=rayleigh", "channel.rayleigh.csi=none")])
def test_a_model_trained_on_fast_fading_with_csi_is_not_used_for_another_channel(channel, tmp_path):
    """The issue's acceptance commands: refused before any transmission, naming what exists."""
    from ..conftest import run_cli

    run = run_cli(*TINY, "codec=deepjscc", *channel, "cbr=[1/16]", "snr_db=[4]", f"hydra.run.dir={tmp_path}")
    assert run.returncode == 2 and "no checkpoint trained for channel" in run.stderr, run.stderr[-2000:]
    for shipped in ("deepjscc_awgn_cbr1-16_snr10.pt (AWGNChannel", "deepjscc_rayleigh_cbr1-16_snr10.pt "
                    "(RayleighChannel(coherence=1, csi=perfect); receiver mmse; CBR 1/16)"):
        assert shipped in run.stderr
    assert not (tmp_path / "results.csv").exists()


def test_unsupported_points_are_skipped_and_listed(make_cfg, tmp_path):
    rows = read_results(run_sweep(make_cfg(*TINY, *MIXED, "unsupported=skip"), tmp_path))
    pairs = {(r["codec"], r["channel"]) for r in rows}
    assert pairs == {("uncoded", "awgn"), ("uncoded", "rayleigh"), ("deepjscc", "awgn")}
    (entry,) = json.loads((tmp_path / "skipped.json").read_text())
    assert (entry["codec"], entry["channel"]) == ("deepjscc", "rayleigh") and "Available" in entry["reason"]


def test_shipped_deepjscc_serves_the_channels_and_cbrs_it_was_trained_for(make_cfg):
    setup = build(make_cfg(*TINY, "codec=[deepjscc]", "channel=[awgn,rayleigh]", "cbr=[1/32,1/16,1/8]",
                           "unsupported=skip"))
    # both channels have the paper CBRs 1/48, 1/24, 1/16, 1/12 and 1/8; nothing was trained for 1/32
    assert set(setup.skipped) == {("deepjscc", "awgn", 0.03125), ("deepjscc", "rayleigh", 0.03125)}
    assert all("cannot send CBR 0.03125" in why and "0.02083, 0.04167, 0.0625, 0.08333, 0.125" in why
               for why in setup.skipped.values())


def test_bad_policy_and_bad_shard_are_refused(make_cfg):
    with pytest.raises(ConfigError, match="unsupported='maybe'"):
        build(make_cfg(*TINY, "unsupported=maybe"))
    with pytest.raises(ConfigError, match="shard"):
        build(make_cfg(*TINY, "shard.count=2", "shard.index=2"))


def test_shards_split_the_points_without_overlap_or_loss(make_cfg):
    grid = ("codec=[uncoded,jpeg_ldpc]", "channel=[awgn,rayleigh]", "snr_db=[1,4,7]", "cbr=[0.25]")
    whole = sweep_points(build(make_cfg(*TINY, *grid)))
    shards = [sweep_points(build(make_cfg(*TINY, *grid, "shard.count=3", f"shard.index={i}"))) for i in range(3)]
    assert sorted(p for s in shards for p in s) == sorted(whole) and len(whole) == 12
    assert all(len(s) == 4 for s in shards)


def test_shards_by_images_split_the_images_and_keep_every_point(make_cfg):
    grid = ("codec=[uncoded]", "channel=[awgn]", "snr_db=[1,4]", "cbr=[0.25]")
    whole = build(make_cfg(*TINY, *grid))
    shards = [build(make_cfg(*TINY, *grid, "shard.count=2", f"shard.index={i}", "shard.by=images")) for i in range(2)]
    assert all(sweep_points(s) == sweep_points(whole) for s in shards)
    ids = [[r.image_id for r in s.job_records] for s in shards]
    assert sorted(ids[0] + ids[1]) == sorted(r.image_id for r in whole.records) and not set(ids[0]) & set(ids[1])
    with pytest.raises(ConfigError, match="shard.by='pixels'"):
        build(make_cfg(*TINY, *grid, "shard.by=pixels"))
