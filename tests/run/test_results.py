"""Results store: typed round trip, a row cut by a kill, metric-list mismatch, the envelope."""

import pytest

from testbed.report.aggregate import curves
from testbed.core.errors import ConfigError
from testbed.run.results import ResultsStore, read_results, row_key


def _row(image="a", snr=1.0, mcs="qpsk-1/2", psnr=20.0, policy="table"):
    return dict(image_id=image, dataset="d", codec="c", channel="awgn", snr_db=snr, cbr=0.0625, repetition=0,
                mcs=mcs, mcs_policy=policy, cbr_actual=0.06, channel_uses=10, num_values=160, payload_bits=80,
                source_quality=5.0, decode_failed=False, seed=1, config_hash="h", code_version="v",
                provenance={"codec": {}}, extra={}, recon_path="", psnr=psnr)


def test_round_trip_types(tmp_path):
    store = ResultsStore(tmp_path, ["psnr"])
    store.append([_row()])
    (row,) = read_results(store.path)
    assert row["snr_db"] == 1.0 and row["channel_uses"] == 10 and row["decode_failed"] is False
    assert row["psnr"] == 20.0 and row["provenance"] == '{"codec":{}}'


def test_a_row_cut_by_a_kill_is_dropped_on_reopen(tmp_path):
    store = ResultsStore(tmp_path, ["psnr"])
    store.append([_row("a"), _row("b")])
    text = store.path.read_text()
    store.path.write_text(text[:-25])  # the last row loses its end
    reopened = ResultsStore(tmp_path, ["psnr"])
    assert len(reopened) == 1 and reopened.existing(row_key(_row("a"))) is not None
    reopened.append([_row("b")])
    assert [r["image_id"] for r in read_results(reopened.path)] == ["a", "b"]


def test_other_metric_list_is_refused(tmp_path):
    ResultsStore(tmp_path, ["psnr"]).append([_row()])
    with pytest.raises(ConfigError, match="new run directory"):
        ResultsStore(tmp_path, ["psnr", "ms_ssim"])


def test_envelope_takes_the_best_mcs_mean_per_point():
    rows = [_row("a", 1.0, "qpsk-1/2", 20), _row("b", 1.0, "qpsk-1/2", 22),
            _row("a", 1.0, "16qam-1/2", 10), _row("b", 1.0, "16qam-1/2", 12),
            _row("a", 9.0, "qpsk-1/2", 24), _row("b", 9.0, "qpsk-1/2", 24),
            _row("a", 9.0, "16qam-1/2", 30), _row("b", 9.0, "16qam-1/2", 28)]
    (curve,) = curves(rows, "psnr", "snr_db", "cbr", 0.0625)
    assert curve.label.endswith("(MCS envelope)")
    assert list(curve.mean) == [21.0, 29.0] and curve.chosen == ["qpsk-1/2", "16qam-1/2"]
