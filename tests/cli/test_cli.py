"""The command line: listing, plotting from files, and bad input stopped before any transmission."""

import numpy as np
from PIL import Image

from ..conftest import TINY, run_cli


def test_list_shows_every_group():
    out = run_cli("list").stdout
    for name in ("jpeg_ldpc", "bpg_ldpc", "bpg_capacity", "awgn", "rayleigh", "psnr", "ms_ssim", "kodak", "quick"):
        assert name in out


def _no_rows(run_dir):
    return not (run_dir / "results.csv").exists()


def test_unreadable_image_is_named_before_work(tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "imgs" / "ok.png")
    (tmp_path / "imgs" / "broken.png").write_bytes(b"not an image at all")
    res = run_cli("dataset=folder", f"dataset.path={tmp_path / 'imgs'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert res.returncode != 0 and "broken.png" in res.stderr and "cannot be read" in res.stderr
    assert _no_rows(tmp_path / "run")


def test_unknown_codec_is_named_with_the_options(tmp_path):
    res = run_cli("codec=jpeg_ldcp", f"hydra.run.dir={tmp_path}")
    assert res.returncode != 0 and "jpeg_ldcp" in res.stderr and "jpeg_ldpc" in res.stderr


def test_negative_cbr_and_non_numeric_snr(tmp_path):
    res = run_cli(*TINY, "cbr=[-0.1]", f"hydra.run.dir={tmp_path}")
    assert res.returncode == 2 and "cbr" in res.stderr and "outside (0, 1]" in res.stderr
    res = run_cli(*TINY, "snr_db=[1,high]", f"hydra.run.dir={tmp_path}")
    assert res.returncode == 2 and "snr_db" in res.stderr and "'high' is not a number" in res.stderr
    assert _no_rows(tmp_path)


def test_missing_bpgenc_path(tmp_path):
    res = run_cli(*TINY, "codec=bpg_ldpc", f"codec.bpg_ldpc.source.bpgenc={tmp_path / 'nope' / 'bpgenc'}",
                  f"codec.bpg_ldpc.source.bpgdec={tmp_path / 'nope' / 'bpgdec'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert res.returncode == 2 and "bpgenc" in res.stderr and "codec.bpg_ldpc.source.bpgenc=null" in res.stderr
    assert _no_rows(tmp_path / "run")


def test_plot_command_draws_from_results_files(tmp_path):
    run = tmp_path / "run"
    res = run_cli(*TINY, "codec=bpg_capacity", "channel=[awgn]", "snr_db=[1,10]", "cbr=[0.125,0.25]",
                  f"hydra.run.dir={run}")
    assert res.returncode == 0, res.stderr
    res = run_cli("plot", str(run), "--out", str(tmp_path / "figs"))
    assert res.returncode == 0, res.stderr
    names = {p.name for p in (tmp_path / "figs").iterdir()}
    assert {"psnr_vs_snr_cbr0.125.png", "psnr_vs_cbr_snr10dB.pdf", "ms_ssim_vs_snr_cbr0.25.png"} <= names
    assert any(n.startswith("grid_") for n in names)


def test_multirun_gives_one_run_per_job(tmp_path):
    res = run_cli("-m", *TINY, "codec=bpg_capacity", "channel=[awgn]", "snr_db=[5]", "cbr=[0.25]", "seed=0,1",
                  f"hydra.sweep.dir={tmp_path}")
    assert res.returncode == 0, res.stderr
    runs = sorted(p.parent.name for p in tmp_path.glob("*/results.csv"))
    assert len(runs) == 2 and all("seed=" in r for r in runs)
