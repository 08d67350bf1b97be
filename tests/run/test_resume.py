"""Resume: a sweep killed midway (a real separate process, SIGKILL) and rerun gives the same rows."""

import os
import signal
import subprocess
import sys
import time

from testbed.run.results import read_results, row_key

from ..conftest import TINY

ARGS = [*TINY, "codec=[jpeg_ldpc,bpg_capacity]", "channel=[awgn]", "snr_db=[1,4,7,10,13]", "cbr=[0.25]"]


def _start(out_dir):
    return subprocess.Popen([sys.executable, "-m", "testbed.cli", *ARGS, f"hydra.run.dir={out_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"))


def _rows_written(path):
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def test_killed_sweep_resumes_without_loss_or_duplicates(tmp_path):
    full_dir, cut_dir = tmp_path / "full", tmp_path / "cut"
    proc = _start(cut_dir)
    results = cut_dir / "results.csv"
    deadline = time.time() + 300
    while _rows_written(results) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written_before = _rows_written(results)
    total = 2 * 2 * 5
    assert 3 <= written_before < total, "the sweep must be cut midway for this test to mean anything"

    assert subprocess.run([sys.executable, "-m", "testbed.cli", *ARGS, f"hydra.run.dir={cut_dir}"],
                          capture_output=True, timeout=600).returncode == 0
    assert subprocess.run([sys.executable, "-m", "testbed.cli", *ARGS, f"hydra.run.dir={full_dir}"],
                          capture_output=True, timeout=600).returncode == 0
    resumed, full = read_results(results), read_results(full_dir / "results.csv")
    assert len(resumed) == len(full) == total
    assert len({row_key(r) for r in resumed}) == total

    def strip(r):
        return {k: v for k, v in r.items() if k != "recon_path"}

    assert sorted(map(strip, resumed), key=row_key) == sorted(map(strip, full), key=row_key)
