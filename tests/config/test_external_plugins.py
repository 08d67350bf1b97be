"""An out-of-tree plugin package declares its config folder through the `testbed.configs` entry point."""

import os
import subprocess
import sys

from ..conftest import TINY


def _fake_distribution(tmp_path):
    """A minimal installed distribution (dist-info on PYTHONPATH) with a config folder."""
    configs = tmp_path / "my_configs"
    (configs / "codec").mkdir(parents=True)
    (configs / "codec" / "my_codec.yaml").write_text(
        "my_codec:\n  _target_: testbed.codecs.uncoded.UncodedAnalog\n")
    site = tmp_path / "site"
    dist = site / "my_plugins-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[testbed.configs]\nmine = file://{configs}\n")
    return dict(os.environ, PYTHONPATH=str(site), PYTHONWARNINGS="ignore")


def test_external_config_folder_is_listed_and_runs(tmp_path):
    env = _fake_distribution(tmp_path)
    listed = subprocess.run([sys.executable, "-m", "testbed.cli", "list", "codec"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert "my_codec" in listed.stdout and "jpeg_ldpc" in listed.stdout
    run = subprocess.run([sys.executable, "-m", "testbed.cli", *TINY, "codec=my_codec", "channel=[awgn]",
                          "snr_db=[10]", "cbr=[0.0625]", f"hydra.run.dir={tmp_path / 'run'}"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "my_codec" in (tmp_path / "run" / "results.csv").read_text()
