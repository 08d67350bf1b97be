"""Shared fixtures: composing the project's Hydra config in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module

#: The tiniest real sweep: two embedded photos at 64 px, fast to run anywhere.
#: Small runs for the plumbing tests: two 64 px images, the pixel metrics only (the default
#: experiment's backbone metrics are run by test_default_metrics_run_in_a_sweep and the contract kit).
TINY = ["dataset.limit=2", "dataset.max_side=64", "save_images=1", "plots=false", "report=false",
        "metric=[psnr,ms_ssim]"]


@pytest.fixture
def make_cfg():
    """Compose the run config with overrides, as the CLI would."""

    def _make(*overrides: str):
        with initialize_config_module(version_base="1.3", config_module="testbed.experiments"):
            return compose(config_name="config", overrides=list(overrides))

    return _make


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the ``testbed`` command in a fresh interpreter."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "testbed.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


@pytest.fixture(autouse=True, scope="session")
def _cpu_only():
    """The suite runs on the CPU even where a GPU is visible (Sionna would default to it)."""
    from sionna.phy import config

    config.device = "cpu"
