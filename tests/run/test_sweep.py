"""The sweep runner end to end on tiny images: rows, determinism, CBR accounting, resume in-process."""

from testbed.run.results import read_results, row_key
from testbed.run.sweep import run_sweep

from ..conftest import TINY


def _cfg(make_cfg, *extra):
    return make_cfg(*TINY, "codec=[jpeg_ldpc,bpg_capacity]", "channel=[awgn]", "snr_db=[2,12]",
                    "cbr=[0.25]", *extra)


def test_rows_are_complete_and_within_budget(make_cfg, tmp_path):
    path = run_sweep(_cfg(make_cfg), tmp_path)
    rows = read_results(path)
    assert len(rows) == 2 * 2 * 2  # images x codecs x snrs
    assert len({row_key(r) for r in rows}) == len(rows)
    for r in rows:
        assert r["cbr_actual"] <= r["cbr"] + 1e-12
        assert r["channel_uses"] == round(r["cbr_actual"] * r["num_values"])
        assert 0 <= r["ms_ssim"] <= 1 and r["psnr"] > 5
        assert r["code_version"].startswith("testbed ")
        assert "codec_backend" in r["provenance"]
    ok = [r for r in rows if r["codec"] == "jpeg_ldpc" and r["snr_db"] == 12]
    assert ok and not any(r["decode_failed"] for r in ok)
    saved = [r for r in rows if r["recon_path"]]
    assert saved and all((tmp_path / r["recon_path"]).is_file() for r in saved)


def test_same_config_same_rows_and_nothing_recomputed(make_cfg, tmp_path):
    a = read_results(run_sweep(_cfg(make_cfg), tmp_path / "a"))
    b = read_results(run_sweep(_cfg(make_cfg), tmp_path / "b"))
    drop = ("recon_path",)
    assert [{k: v for k, v in r.items() if k not in drop} for r in a] == \
           [{k: v for k, v in r.items() if k not in drop} for r in b]
    again = read_results(run_sweep(_cfg(make_cfg), tmp_path / "a"))
    assert again == a  # a rerun of a finished sweep adds no row


def test_extending_the_grid_reuses_finished_points(make_cfg, tmp_path):
    first = read_results(run_sweep(_cfg(make_cfg), tmp_path))
    more = read_results(run_sweep(_cfg(make_cfg, "snr_db=[2,7,12]"), tmp_path))
    assert more[: len(first)] == first and len(more) == len(first) * 3 // 2


def test_repeated_reconstructions_are_scored_once(make_cfg, tmp_path, monkeypatch):
    from testbed.metrics.psnr import PSNR

    scored = []
    original = PSNR.score_many

    def counting(self, preds, targets, keys=None):
        scored.append(len(preds))
        return original(self, preds, targets, keys)

    monkeypatch.setattr(PSNR, "score_many", counting)
    cfg = make_cfg(*TINY, "codec=[jpeg_ldpc]", "channel=[awgn]", "snr_db=[10,12,14]", "cbr=[0.25]",
                   "metric=[psnr]")
    rows = read_results(run_sweep(cfg, tmp_path))
    assert not any(r["decode_failed"] for r in rows)  # one JPEG file per image at every SNR
    assert sum(scored) == 2  # the two images, scored at 10 dB only
    for image in {r["image_id"] for r in rows}:
        assert len({r["psnr"] for r in rows if r["image_id"] == image}) == 1


def test_default_metrics_run_in_a_sweep(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("TESTBED_CACHE", str(tmp_path / "cache"))  # SeSS's reference graphs
    cfg = make_cfg("dataset.limit=1", "dataset.max_side=96", "plots=false", "codec=[jpeg_capacity]",
                   "channel=[awgn]", "snr_db=[5,20]", "cbr=[0.25]")
    assert list(cfg.metric) == ["psnr", "ms_ssim", "st_lpips", "vitscore", "sess"]
    rows = read_results(run_sweep(cfg, tmp_path))
    low, high = sorted(rows, key=lambda r: r["snr_db"])
    assert high["psnr"] > low["psnr"] and high["st_lpips"] < low["st_lpips"]
    assert 0 < low["vitscore"] <= high["vitscore"] <= 1
    assert 0 < low["sess"] <= high["sess"] <= 1
    assert "vit_s_focus.onnx" in high["provenance"] and "alex_shift_tolerant.pth" in high["provenance"]
