"""Merging the results of many jobs: a joblib multirun equals the sequential run; duplicates, conflicts."""

import csv
import shutil

import pytest

from testbed.core.errors import ConfigError
from testbed.run.merge import merge_results
from testbed.run.results import read_results, row_key
from testbed.run.sweep import run_sweep

from ..conftest import TINY, run_cli

QUICK = ["experiment=quick", "metric=[psnr,ms_ssim]", "threads=1", "plots=false", "report=false"]


def _by_key(path):
    return {row_key(r): r for r in read_results(path)}


def test_joblib_multirun_with_two_workers_gives_the_sequential_rows(tmp_path):
    sequential = run_cli(*QUICK, f"paths.output_dir={tmp_path}")
    assert sequential.returncode == 0, sequential.stderr[-2000:]
    parallel = run_cli("-m", *QUICK, f"paths.output_dir={tmp_path}", "hydra/launcher=local_parallel",
                       "shard.count=2", "shard.index=0,1")
    assert parallel.returncode == 0, parallel.stderr[-2000:]
    jobs = [p for p in (tmp_path / "quick-multirun").iterdir() if "shard.index=" in p.name]
    assert len(jobs) == 2 and all(len(read_results(j / "results.csv")) == 6 for j in jobs)  # split in two
    a, b = _by_key(tmp_path / "quick" / "results.csv"), _by_key(tmp_path / "quick-multirun" / "merged" / "results.csv")
    assert a.keys() == b.keys() and len(a) == 12
    assert all(a[k] == b[k] for k in a)  # every value, provenance and saved-image path included
    assert all((tmp_path / "quick-multirun" / "merged" / r["recon_path"]).is_file() for r in b.values()
               if r["recon_path"])


def test_shards_by_images_merge_to_the_sequential_rows(tmp_path):
    """Each job sends its share of the images through every point: merged, the sequential rows."""
    sequential = run_cli(*QUICK, f"paths.output_dir={tmp_path}")
    assert sequential.returncode == 0, sequential.stderr[-2000:]
    parallel = run_cli("-m", *QUICK, f"paths.output_dir={tmp_path}", "shard.count=2", "shard.index=0,1",
                       "shard.by=images")
    assert parallel.returncode == 0, parallel.stderr[-2000:]
    a, b = _by_key(tmp_path / "quick" / "results.csv"), _by_key(tmp_path / "quick-multirun" / "merged" / "results.csv")
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a)
    assert all((tmp_path / "quick-multirun" / "merged" / r["recon_path"]).is_file() for r in b.values()
               if r["recon_path"])


def test_identical_duplicates_are_kept_once_and_conflicts_refused(make_cfg, tmp_path):
    run = tmp_path / "a"
    run_sweep(make_cfg(*TINY, "codec=[uncoded]", "channel=[awgn]", "snr_db=[3,9]", "cbr=[0.25]"), run)
    shutil.copytree(run, tmp_path / "b")  # the same job run twice
    summary = merge_results([run, tmp_path / "b"], tmp_path / "merged")
    assert summary.rows == 4 and summary.duplicates == 4
    assert _by_key(summary.path) == _by_key(run / "results.csv")
    rows = list(csv.DictReader((tmp_path / "b" / "results.csv").open()))
    rows[0]["psnr"] = str(float(rows[0]["psnr"]) + 1.0)  # other settings under the same name
    with (tmp_path / "b" / "results.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ConfigError, match="disagree"):
        merge_results([run, tmp_path / "b"], tmp_path / "merged2")


def test_a_job_without_results_is_named(make_cfg, tmp_path):
    run_sweep(make_cfg(*TINY, "codec=[uncoded]", "channel=[awgn]", "snr_db=[3]", "cbr=[0.25]"), tmp_path / "0")
    (tmp_path / "1" / ".hydra").mkdir(parents=True)  # a job that died before its first row
    summary = merge_results([tmp_path], tmp_path / "merged")
    assert summary.missing_jobs == [tmp_path / "1"] and "jobs without results" in str(summary)
    with pytest.raises(ConfigError, match="no results.csv"):
        merge_results([tmp_path / "1"], tmp_path / "m2")


def test_runs_with_other_settings_are_not_merged(make_cfg, tmp_path):
    grid = ("codec=[uncoded]", "channel=[awgn]", "snr_db=[3]", "cbr=[0.25]")
    run_sweep(make_cfg(*TINY, *grid, "seed=0"), tmp_path / "seed0")
    run_sweep(make_cfg(*TINY, *grid, "seed=1"), tmp_path / "seed1")
    with pytest.raises(ConfigError, match="different settings.*side by side"):
        merge_results([tmp_path], tmp_path / "merged")
